//! The Windows listener: a pool of overlapped byte-mode pipe instances, as Qt keeps
//! (`listenBacklogSize` of them, 50 by default), each waiting for a client with an overlapped
//! `ConnectNamedPipe`, all registered under the server's one token. A burst of connects finds
//! an instance waiting instead of `ERROR_PIPE_BUSY`; every instance taken is replaced at once.
//!
//! Differences from Qt on Windows (README): a second server on a live name fails with
//! `AddressInUse` (the first instance is created with `FILE_FLAG_FIRST_PIPE_INSTANCE`; Qt lets
//! both listen and clients reach either); remote clients are rejected
//! (`PIPE_REJECT_REMOTE_CLIENTS`; this is a local socket).

use super::{Server, ServerOptions};
use crate::core::error::{Error, Result, Side};
use crate::core::event_loop::{EventLoop, Handler};
use crate::core::name::Address;
use crate::core::sys;
use mio::{Interest, Token};
use std::io;
use std::rc::{Rc, Weak};

struct Instance {
    stream: sys::Stream,
    /// A client is connected (the overlapped connect completed, or had at once).
    connected: bool,
}

pub(super) struct Listener {
    addr: Address,
    token: Token,
    instances: Vec<Instance>,
    security: Option<sys::Security>,
}

/// Qt's `ConnectNamedPipe` errors while listening are `UnknownSocketError`s; a name held by
/// another server is `AddressInUse` here (see the module text).
fn listen_error(e: &io::Error) -> Error {
    if sys::is_name_taken(e) {
        Error::AddressInUse
    } else {
        Error::from_io(e, Side::Server)
    }
}

impl Listener {
    pub(super) fn open(
        lp: &Rc<EventLoop>,
        addr: &Address,
        backlog: i32,
        options: ServerOptions,
        handler: Weak<dyn Handler>,
    ) -> Result<Listener> {
        if options.current_user_only {
            return Err(Error::Unsupported(
                "current-user-only needs peer credentials, which named pipes lack here",
            ));
        }
        let security = if options.any_access() {
            Some(
                sys::Security::for_access(
                    options.user_access,
                    options.group_access,
                    options.other_access,
                )
                .map_err(|e| Error::from_io(&e, Side::Server))?,
            )
        } else {
            None
        };
        let mut first =
            sys::create_pipe(addr, true, security.as_ref()).map_err(|e| listen_error(&e))?;
        let token = lp.register(&mut first, handler, Interest::READABLE | Interest::WRITABLE)?;
        let mut l = Listener {
            addr: addr.clone(),
            token,
            instances: Vec::new(),
            security,
        };
        if let Err(e) = l.start(lp, first) {
            l.close(lp);
            return Err(e);
        }
        for _ in 1..backlog.max(1) {
            if let Err(e) = l.add_instance(lp) {
                l.close(lp);
                return Err(e);
            }
        }
        Ok(l)
    }

    /// Registers a new instance under the server's token and starts waiting for a client.
    fn add_instance(&mut self, lp: &Rc<EventLoop>) -> Result<()> {
        let mut s = sys::create_pipe(&self.addr, false, self.security.as_ref())
            .map_err(|e| listen_error(&e))?;
        lp.add_source(&mut s, self.token, Interest::READABLE | Interest::WRITABLE)?;
        self.start(lp, s)
    }

    fn start(&mut self, lp: &Rc<EventLoop>, stream: sys::Stream) -> Result<()> {
        match sys::start_accept(&stream) {
            Ok(connected) => {
                self.instances.push(Instance { stream, connected });
                Ok(())
            }
            Err(e) => {
                sys::abandon(&stream);
                lp.retire(stream);
                Err(Error::from_io(&e, Side::Server))
            }
        }
    }

    /// A connected instance (still registered under the server's token: the socket moves it
    /// to its own when it is handed out), replaced by a new waiting one; or `WouldBlock`.
    /// O(instances) per call: the completion port says only that some instance of this
    /// server completed.
    pub(super) fn accept(&mut self, lp: &Rc<EventLoop>) -> io::Result<sys::Stream> {
        let mut i = 0;
        while i < self.instances.len() {
            let inst = &mut self.instances[i];
            if !inst.connected {
                match sys::start_accept(&inst.stream) {
                    Ok(c) => inst.connected = c,
                    Err(_) => {
                        // This instance failed (a client came and went in an odd way):
                        // replace it and look on.
                        let gone = self.instances.swap_remove(i);
                        sys::abandon(&gone.stream);
                        lp.retire(gone.stream);
                        let _ = self.add_instance(lp);
                        continue;
                    }
                }
            }
            if self.instances[i].connected {
                let inst = self.instances.swap_remove(i);
                if let Err(e) = self.add_instance(lp) {
                    // Fewer instances wait now; clients may meet ERROR_PIPE_BUSY until one is
                    // taken. The connection itself is good.
                    let _ = e;
                }
                return Ok(inst.stream);
            }
            i += 1;
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Accepting resumes: clients that connected meanwhile brought their event already, so
    /// the server looks on its next turn (true).
    pub(super) fn rearm(&mut self, _lp: &Rc<EventLoop>) -> bool {
        true
    }

    pub(super) fn wait_key(&self) -> sys::WaitKey {
        self.token
    }

    pub(super) fn descriptor(&self) -> isize {
        self.instances.first().map_or(-1, |i| sys::raw(&i.stream))
    }

    /// Stops listening: every waiting instance closes (clients still connecting get
    /// `ERROR_PIPE_NOT_CONNECTED`/not found; one that connected before the loop heard of it
    /// sees the end of the pipe). Their connects are cancelled, and the loop keeps each
    /// instance until its handle has closed, as for a closed socket's pipe
    /// (`retire_windows.rs`). There is no file to remove.
    pub(super) fn close(mut self, lp: &Rc<EventLoop>) {
        lp.release_token(self.token);
        lp.retire_all(self.instances.drain(..).map(|inst| {
            sys::abandon(&inst.stream);
            inst.stream
        }));
    }
}

impl Server {
    /// Qt's `listen(qintptr)` is unsupported on Windows (QTBUG-24230): `Unsupported`.
    pub fn listen_descriptor(&self, _fd: sys::RawDescriptor) -> Result<()> {
        Err(Error::Unsupported(
            "listening on a descriptor is not supported on Windows (as in Qt)",
        ))
    }

    /// Qt's static `removeServer` on Windows: nothing to remove (a pipe lives as long as its
    /// handles), `Ok` always; the name is still checked.
    pub fn remove_server(name: &[u8]) -> Result<()> {
        Address::resolve(name, false).map(drop)
    }
}

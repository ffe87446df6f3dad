//! The byte path: the write queue (send at once what the system takes, queue the rest, flush
//! on writability) and the read buffer (read on readiness up to the bound; a bounded buffer
//! resumes reading only once drained, as Qt). Bytes-written and ready-read are entries of the
//! socket's queue; the end of the peer's stream is an entry after its last bytes.

use super::events::{Entry, Seen};
use super::{Cold, Io, Socket, SocketEvent};
use crate::core::buffer::Buffer;
use crate::core::error::{Error, Result, Side, SocketState};
use crate::core::sys;
use mio::Interest;
use std::io;

/// Queues what is left of `parts` once `sent` bytes went out (`rest` bytes), or nothing when
/// memory cannot be had.
fn queue_rest(
    wbuf: &mut Buffer,
    parts: &[&[u8]],
    mut sent: usize,
    rest: usize,
) -> std::result::Result<(), std::collections::TryReserveError> {
    wbuf.tail().try_reserve(rest)?;
    for p in parts {
        let skip = sent.min(p.len());
        sent -= skip;
        wbuf.try_extend(&p[skip..])?;
    }
    Ok(())
}

impl Socket {
    /// Queues all of `data` (sending at once what the socket takes), or fails without change.
    /// `PeerClosed` (or the send error) once sending failed: those bytes can never arrive.
    pub fn write(&self, data: &[u8]) -> Result<()> {
        self.write_parts(&[data], Vec::new())
    }

    /// Not Qt's: `write` of `data` with duplicates of `fds` attached to its first byte
    /// (SCM_RIGHTS); the caller keeps its own descriptors. All of it is queued, or nothing.
    pub fn write_with_descriptors(&self, data: &[u8], fds: &[sys::RawDescriptor]) -> Result<()> {
        if sys::MAX_PASSED_FDS == 0 {
            return Err(Error::Unsupported(
                "descriptor passing (a pipe has no SCM_RIGHTS)",
            ));
        }
        if data.is_empty() {
            return Err(Error::InvalidArgument(
                "descriptors travel with at least one byte",
            ));
        }
        if fds.is_empty() || fds.len() > sys::MAX_PASSED_FDS {
            return Err(Error::InvalidArgument(
                "a write carries 1 to QLOCAL_MAX_DESCRIPTORS_PER_WRITE descriptors",
            ));
        }
        self.writable()?;
        let mut dups = Vec::with_capacity(fds.len());
        for &f in fds {
            dups.push(sys::dup_for_passing(f).map_err(|e| {
                if e.raw_os_error() == Some(sys::EBADF) {
                    Error::InvalidArgument("not an open descriptor")
                } else {
                    Error::from_io(&e, Side::Client)
                }
            })?);
        }
        self.write_parts(&[data], dups)
    }

    /// Why nothing can be written now, if so.
    fn writable(&self) -> Result<()> {
        let io = self.io.borrow();
        if io.now.state != SocketState::Connected {
            return Err(Error::WrongState("the socket is not connected"));
        }
        if !io.mode.write {
            return Err(Error::WrongState("the socket is open for reading only"));
        }
        match &io.cold().write_error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// `write` of the slices one after the other, as one piece: all of them are queued, or
    /// none (with one system call when the queue is empty). `fds` (none, or with a single
    /// slice) go with its first byte.
    pub(super) fn write_parts(&self, parts: &[&[u8]], fds: Vec<sys::PassedFd>) -> Result<()> {
        self.touch();
        self.writable()?;
        let mut io = self.io.borrow_mut();
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total == 0 {
            return Ok(());
        }
        if io.cold().high_water > 0
            && !io.wbuf.is_empty()
            && io.wbuf.len() + total > io.cold().high_water
        {
            // Backpressure: refused whole; a write-drained callback follows once the queue is
            // down to the low-water mark.
            io.cold_mut().drain_wanted = true;
            return Err(Error::QueueFull);
        }
        let mut sent = 0;
        if io.wbuf.is_empty() {
            let fd = io.fd.as_ref().expect("connected sockets have an fd");
            let r = match parts {
                [one] if !fds.is_empty() => sys::send_with_fds(fd, one, &fds),
                [one] => sys::send(fd, one),
                _ => sys::send_vectored(fd, parts),
            };
            match r {
                Ok(n) => sent = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    drop(io);
                    let e = Error::from_io(&e, Side::Client);
                    self.write_failed(e.clone());
                    return Err(e);
                }
            }
        }
        io.count_sent(sent);
        if sent < total {
            // Sent with their first byte, or queued at it.
            let at = io.cold().sent + io.wbuf.len() as u64;
            if queue_rest(&mut io.wbuf, parts, sent, total - sent).is_err() {
                drop(io);
                let e = Error::ResourceExhausted(sys::ENOMEM);
                if sent > 0 {
                    // Part went out already; the stream cannot be kept whole.
                    self.push_written(sent);
                    self.write_failed(e.clone());
                }
                return Err(e);
            }
            if sent == 0 && !fds.is_empty() {
                io.cold_mut().out_fds.push_back((at, fds));
            }
            if !io.want_write {
                self.update_interest(&mut io, true)?;
            }
        }
        drop(io);
        if sent > 0 {
            self.push_written(sent);
        }
        Ok(())
    }

    pub(super) fn update_interest(&self, io: &mut Io, want_write: bool) -> Result<()> {
        if let (Some(fd), Some(t)) = (io.fd.as_mut(), io.token.get()) {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            self.lp.reregister(fd, t, interest)?;
        }
        io.want_write = want_write;
        Ok(())
    }

    /// Sends queued bytes until the socket would block. Returns how many went out.
    pub(super) fn flush_queue(&self) -> usize {
        let mut failed = None;
        let total = {
            let mut io = self.io.borrow_mut();
            let io = &mut *io;
            let mut total = 0;
            while !io.wbuf.is_empty() {
                let Some(fd) = &io.fd else { break };
                let queued = io.wbuf.as_slice();
                // Descriptors go with the first byte of their write, so a send ends before
                // the next batch's byte and one with a batch starts at it.
                let Cold { out_fds, sent, .. } = io.cold();
                let (r, with_fds) = match out_fds.front() {
                    None => (sys::send(fd, queued), false),
                    Some((at, _)) if at > sent => {
                        (sys::send(fd, &queued[..(at - sent) as usize]), false)
                    }
                    Some((_, fds)) => {
                        let end = out_fds
                            .get(1)
                            .map_or(queued.len(), |(next, _)| (next - sent) as usize);
                        (sys::send_with_fds(fd, &queued[..end], fds), true)
                    }
                };
                match r {
                    Ok(n) => {
                        if with_fds && n > 0 {
                            io.cold_mut().out_fds.pop_front();
                        }
                        total += n;
                        io.count_sent(n);
                        io.wbuf.consume(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        failed = Some(Error::from_io(&e, Side::Client));
                        break;
                    }
                }
            }
            if io.wbuf.is_empty() && io.want_write {
                let _ = self.update_interest(io, false);
            }
            total
        };
        if total > 0 && !self.destroyed.get() {
            self.push_written(total);
            self.check_drained();
        }
        if let Some(e) = failed {
            self.write_failed(e);
        }
        total
    }

    /// After bytes left the queue: the write-drained entry, once a refused write's queue is down
    /// to the low-water mark (after the bytes-written it follows).
    fn check_drained(&self) {
        let drained = {
            let mut io = self.io.borrow_mut();
            let due = io.cold().drain_wanted && io.wbuf.len() <= io.cold().low_water;
            if due {
                io.cold_mut().drain_wanted = false;
            }
            due
        };
        if drained {
            self.push_fact(Entry::Notify(SocketEvent::WriteDrained, Seen::Now));
        }
    }

    /// Not Qt's: a write that would take the queue (`bytes_to_write`) above `high` bytes is
    /// refused (`QueueFull`) unless the queue is empty; after such a refusal a WriteDrained
    /// event follows once the queue is down to `low`. `high` 0: no limit (Qt's behaviour).
    pub fn set_write_buffer_limits(&self, high: usize, low: usize) -> Result<()> {
        if high > 0 && low > high {
            return Err(Error::InvalidArgument(
                "the low-water mark is above the high-water mark",
            ));
        }
        let mut io = self.io.borrow_mut();
        io.cold_mut().high_water = high;
        io.cold_mut().low_water = low;
        if high == 0 {
            io.cold_mut().drain_wanted = false;
        }
        Ok(())
    }

    pub fn write_buffer_limits(&self) -> (usize, usize) {
        let io = self.io.borrow();
        (io.cold().high_water, io.cold().low_water)
    }

    /// Qt's `flush()`: sends what it can without blocking; true when anything was sent.
    pub fn flush(&self) -> bool {
        self.touch();
        self.flush_queue() > 0
    }

    /// Reads what the socket has into the buffer (up to the read-buffer bound unless
    /// `unbounded`). Queues ReadyRead for new bytes, then the end of the stream on EOF or a
    /// read error.
    ///
    /// A short read ends the pass (the socket is drained: with edge-triggered readiness, more
    /// data brings a new event), except when the peer's close was reported with the data
    /// (`until_eof`): then it reads on to the end of the stream.
    ///
    /// `lazy`: a read that fills `sys::EAGER_READ` bytes stops there, and what the kernel
    /// still holds is announced as `unread`, for `read` to take without a second copy.
    /// Returns the bytes announced by this pass (buffered or unread, not announced before).
    pub(super) fn read_pass(&self, unbounded: bool, until_eof: bool, lazy: bool) -> usize {
        let (new, ended) = self.read_into_buffer(unbounded, until_eof, lazy);
        if new > 0 {
            self.push_fact(Entry::Notify(SocketEvent::ReadyRead, Seen::Now));
        }
        if let Some(e) = ended {
            self.push_fact(Entry::ReadEnded(e));
        }
        new
    }

    /// Takes what was announced but left in the kernel into the buffer, for the reads that
    /// look at the buffer itself (peek, lines, transactions, messages).
    /// Exactly those bytes: nothing that arrived after them, which gets its own ReadyRead.
    pub(super) fn fill(&self) {
        let ended = {
            let mut io = self.io.borrow_mut();
            let io = &mut *io;
            take_unread(&io.fd, &mut io.unread, &mut io.read_eof, |fd, most| {
                Some(sys::read_into(fd, io.rbuf.tail(), most).map(|(n, _)| n))
            })
        };
        if let Some(e) = ended {
            self.push_fact(Entry::ReadEnded(e));
        }
    }

    /// The last read of a close: keeps what the kernel holds readable, with no callback.
    pub(super) fn read_buffered_quietly(&self) {
        let _ = self.read_into_buffer(false, true, false);
    }

    fn read_into_buffer(
        &self,
        unbounded: bool,
        until_eof: bool,
        lazy: bool,
    ) -> (usize, Option<Error>) {
        let mut io = self.io.borrow_mut();
        let io = &mut *io;
        let Some(fd) = &io.fd else { return (0, None) };
        if io.read_eof || io.now.state == SocketState::Connecting {
            return (0, None);
        }
        // What this pass announces is what it buffers and leaves unread beyond this.
        let announced = std::mem::take(&mut io.unread);
        let bound = io.cold().read_buffer_size;
        let lazy = lazy && sys::LAZY_READ && !until_eof && bound == 0 && io.cold().max_fds == 0;
        if !io.mode.read {
            // Write-only: what arrives is dropped (as Qt), but the end of the stream still counts.
            if sys::discard(fd) {
                io.read_eof = true;
                return (0, Some(Error::PeerClosed));
            }
            return (0, None);
        }
        if lazy && io.large_arrivals {
            // A stream of large messages: one system call to announce the next, none to copy
            // part of it into the buffer (`read` takes all of it from the kernel).
            match sys::pending(fd) {
                Ok(n) if n > sys::EAGER_READ => {
                    io.unread = n;
                    return (n.saturating_sub(announced), None);
                }
                // Small, nothing (the end of the stream, or an error) or no answer: read.
                _ => io.large_arrivals = false,
            }
        }
        let mut got = 0;
        let mut ended = None;
        loop {
            let limit = if bound == 0 || unbounded {
                usize::MAX
            } else {
                bound.saturating_sub(io.rbuf.len())
            };
            if limit == 0 {
                io.read_paused = true;
                break;
            }
            let limit = if lazy {
                limit.min(sys::EAGER_READ)
            } else {
                limit
            };
            // Descriptors are received only where the application asked for them (a cold part).
            let r = match io.cold.as_deref_mut().filter(|c| c.max_fds > 0) {
                None => sys::read_into(fd, io.rbuf.tail(), limit),
                Some(c) => match sys::read_into_with_fds(
                    fd,
                    io.rbuf.tail(),
                    limit,
                    c.max_fds,
                    &mut c.in_fds,
                ) {
                    Ok((n, _, true)) => {
                        // Descriptors were lost: what the peer meant cannot be kept whole.
                        got += n;
                        ended = Some(Error::DescriptorsLost { max: c.max_fds });
                        break;
                    }
                    Ok((n, drained, false)) => Ok((n, drained)),
                    Err(e) => Err(e),
                },
            };
            match r {
                Ok((0, _)) => {
                    ended = Some(Error::PeerClosed);
                    break;
                }
                Ok((n, drained)) => {
                    got += n;
                    if drained && !until_eof {
                        break;
                    }
                    if lazy {
                        // The rest waits in the kernel for `read` (none: the socket is
                        // drained; an end of stream after it comes as a new event).
                        io.unread = sys::pending(fd).unwrap_or(0);
                        io.large_arrivals = io.unread > 0;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    ended = Some(Error::from_io(&e, Side::Client));
                    break;
                }
            }
        }
        if ended.is_some() {
            io.read_eof = true;
            io.unread = 0;
        }
        ((got + io.unread).saturating_sub(announced), ended)
    }

    /// Resumes reading once a bounded buffer is fully drained (Qt's rule).
    pub(super) fn after_consume(&self) {
        let mut io = self.io.borrow_mut();
        if io.read_paused && (io.rbuf.is_empty() || io.cold().read_buffer_size == 0) {
            io.read_paused = false;
            let want_write = io.want_write;
            // Re-arms the edge-triggered registration; the loop sees pending data again.
            let _ = self.update_interest(&mut io, want_write);
        }
    }

    pub fn read(&self, out: &mut [u8]) -> usize {
        self.touch();
        if self.io.borrow().rbuf.in_transaction() {
            // What is read in a transaction is kept for a rollback: through the buffer.
            self.fill();
        }
        let (n, ended) = {
            let mut io = self.io.borrow_mut();
            let io = &mut *io;
            let mut n = io.rbuf.read(out);
            // The buffer is empty: what was announced and is still in the kernel goes straight
            // into `out` (never more than was announced: later bytes get their own ReadyRead).
            let ended = take_unread(&io.fd, &mut io.unread, &mut io.read_eof, |fd, most| {
                let want = (out.len() - n).min(most);
                if want == 0 {
                    return None;
                }
                let r = sys::recv(fd, &mut out[n..n + want]);
                if let Ok(k) = r {
                    n += k;
                }
                Some(r)
            });
            (n, ended)
        };
        if let Some(e) = ended {
            self.push_fact(Entry::ReadEnded(e));
        }
        self.after_consume();
        n
    }

    pub fn peek(&self, out: &mut [u8]) -> usize {
        self.fill();
        self.io.borrow().rbuf.peek(out)
    }

    pub fn skip(&self, n: usize) -> usize {
        self.touch();
        self.fill();
        let n = {
            let mut io = self.io.borrow_mut();
            let n = n.min(io.rbuf.len());
            io.rbuf.consume(n);
            n
        };
        self.after_consume();
        n
    }

    /// Qt's `readLine(char*, maxSize)`: up to `out.len() - 1` bytes, through the first `\n`,
    /// NUL-terminated. Returns the bytes stored, without the NUL.
    pub fn read_line(&self, out: &mut [u8]) -> Result<usize> {
        if out.len() < 2 {
            return Err(Error::InvalidArgument(
                "a line buffer needs room for a byte and a NUL",
            ));
        }
        self.touch();
        self.fill();
        let n = {
            let mut io = self.io.borrow_mut();
            let avail = io.rbuf.as_slice();
            let max = (out.len() - 1).min(avail.len());
            let n = avail[..max]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(max, |i| i + 1);
            out[..n].copy_from_slice(&avail[..n]);
            out[n] = 0;
            io.rbuf.consume(n);
            n
        };
        self.after_consume();
        Ok(n)
    }

    /// Qt's `getChar`: the next buffered byte, consumed; `None` when nothing is buffered.
    pub fn get_char(&self) -> Option<u8> {
        let mut c = [0u8; 1];
        (self.read(&mut c) == 1).then_some(c[0])
    }

    /// Qt's `ungetChar`: puts `byte` back in front of the read buffer.
    pub fn unget_char(&self, byte: u8) {
        self.io.borrow_mut().rbuf.unget(byte);
    }

    /// Qt's `readAll` into `out`: everything buffered, or nothing (`InvalidArgument`) when
    /// `out` is shorter than `bytes_available`.
    pub fn read_all(&self, out: &mut [u8]) -> Result<usize> {
        if out.len() < self.bytes_available() {
            return Err(Error::InvalidArgument(
                "the buffer is smaller than bytes_available",
            ));
        }
        Ok(self.read(out))
    }

    /// Nothing is buffered and nothing more can come (the peer's stream ended, or the socket
    /// is unconnected). Qt's `atEnd` on a socket is true whenever nothing is buffered; qlocal
    /// keeps it for the end of the stream.
    pub fn at_end(&self) -> bool {
        let io = self.io.borrow();
        io.rbuf.is_empty() && io.unread == 0 && (io.read_eof || io.fd.is_none())
    }

    /// Qt's `startTransaction`: what is read from now on can be read again (`rollback`).
    pub fn start_transaction(&self) {
        self.io.borrow_mut().rbuf.start_transaction();
    }

    /// Qt's `commitTransaction`.
    pub fn commit_transaction(&self) {
        self.io.borrow_mut().rbuf.commit();
    }

    /// Qt's `rollbackTransaction`: every byte read since the start is readable again (and
    /// counted by `bytes_available`).
    pub fn rollback_transaction(&self) {
        self.io.borrow_mut().rbuf.rollback();
    }

    pub fn is_transaction_started(&self) -> bool {
        self.io.borrow().rbuf.in_transaction()
    }

    pub fn can_read_line(&self) -> bool {
        self.fill();
        self.io.borrow().rbuf.as_slice().contains(&b'\n')
    }

    /// Bytes buffered for reading: always the buffer as it is (what a read returns), with
    /// what was announced and is still in the kernel.
    pub fn bytes_available(&self) -> usize {
        let io = self.io.borrow();
        io.rbuf.len() + io.unread
    }

    /// Bytes queued and not yet sent (inside a callback of an API call: as at that call).
    pub fn bytes_to_write(&self) -> usize {
        self.seen_to_write()
    }

    /// Not Qt's: receive up to `n` descriptors with each of the peer's writes (0, the default:
    /// none; the system closes any that arrive). More in one write, or a process out of
    /// descriptors, ends the connection with `DescriptorsLost` after the bytes before them.
    pub fn set_max_descriptors(&self, n: usize) -> Result<()> {
        if n > 0 && sys::MAX_PASSED_FDS == 0 {
            return Err(Error::Unsupported(
                "descriptor passing (a pipe has no SCM_RIGHTS)",
            ));
        }
        if n > sys::MAX_PASSED_FDS {
            return Err(Error::InvalidArgument(
                "at most QLOCAL_MAX_DESCRIPTORS_PER_WRITE descriptors per write",
            ));
        }
        self.io.borrow_mut().cold_mut().max_fds = n;
        Ok(())
    }

    pub fn max_descriptors(&self) -> usize {
        self.io.borrow().cold().max_fds
    }

    /// Descriptors received and not yet taken.
    pub fn descriptors_available(&self) -> usize {
        self.io.borrow().cold().in_fds.len()
    }

    /// The next received descriptor, in the order the peer sent them; the caller owns it.
    /// It is available no later than the bytes it was written with are readable.
    pub fn take_descriptor(&self) -> Option<sys::PassedFd> {
        self.io.borrow_mut().cold.as_mut()?.in_fds.pop_front()
    }

    pub fn set_read_buffer_size(&self, n: usize) {
        if n > 0 {
            // The bound applies to what arrives from now on: what was announced is buffered.
            self.fill();
        }
        let mut io = self.io.borrow_mut();
        if n != io.cold().read_buffer_size {
            io.cold_mut().read_buffer_size = n;
        }
        drop(io);
        self.after_consume();
    }

    pub fn read_buffer_size(&self) -> usize {
        self.io.borrow().cold().read_buffer_size
    }
}

/// Takes announced bytes (`unread`) from the kernel, in order: `recv` receives at most the
/// count it is given and says how many it stored (`None`: it has no room left). The end of the
/// stream or a read error ends reading (`read_eof`) and is returned; `WouldBlock` means the
/// kernel holds no more.
fn take_unread(
    fd: &Option<sys::Stream>,
    unread: &mut usize,
    read_eof: &mut bool,
    mut recv: impl FnMut(&sys::Stream, usize) -> Option<io::Result<usize>>,
) -> Option<Error> {
    let fd = fd.as_ref()?;
    while *unread > 0 {
        let ended = match recv(fd, *unread)? {
            Ok(0) => Some(Error::PeerClosed),
            Ok(n) => {
                *unread -= n.min(*unread);
                None
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                *unread = 0;
                None
            }
            Err(e) => Some(Error::from_io(&e, Side::Client)),
        };
        if ended.is_some() {
            *unread = 0;
            *read_eof = true;
            return ended;
        }
    }
    None
}

#[cfg(test)]
mod lazy_read {
    use super::*;
    use crate::core::EventLoop;
    use crate::core::socket::{SocketObserver, connected_pair};
    use std::any::Any;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    /// Reads in ReadyRead (when `read_in_callback`) and records what each callback saw.
    #[derive(Default)]
    struct Reader {
        read_in_callback: bool,
        got: RefCell<Vec<u8>>,
        /// (bytes_available, of which still in the kernel) at each ReadyRead.
        seen: RefCell<Vec<(usize, usize)>>,
    }

    impl SocketObserver for Reader {
        fn notify(&self, s: &Rc<Socket>, ev: SocketEvent) {
            if ev != SocketEvent::ReadyRead {
                return;
            }
            let avail = s.bytes_available();
            self.seen.borrow_mut().push((avail, s.io.borrow().unread));
            if self.read_in_callback {
                let mut buf = vec![0u8; avail];
                assert_eq!(s.read(&mut buf), avail, "read takes everything announced");
                self.got.borrow_mut().extend_from_slice(&buf);
                assert_eq!(s.bytes_available(), 0);
            }
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn run_until(lp: &EventLoop, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "no progress within 20 s");
            lp.run(crate::core::RunMode::Once, Some(Duration::from_millis(10)))
                .unwrap();
        }
    }

    /// Makes `peer` read everything inside ReadyRead, recording what it got.
    #[cfg(unix)]
    fn read_in_callback(peer: &Socket) -> Rc<Reader> {
        let reader = Rc::new(Reader {
            read_in_callback: true,
            ..Reader::default()
        });
        peer.set_observer(Some(reader.clone()));
        reader
    }

    /// A large arrival read inside ReadyRead comes straight from the kernel: every byte, in
    /// order, and the callback's bytes_available is what it can read. (Windows reads through
    /// mio's buffer: `sys::LAZY_READ` is false there.)
    #[cfg(unix)]
    #[test]
    fn a_large_arrival_is_read_once_from_the_kernel() {
        let (lp, _server, client, peer) = connected_pair("lazy-direct");
        let reader = read_in_callback(&peer);
        let data = pattern(8 << 20);
        client.write(&data).unwrap();
        run_until(&lp, || reader.got.borrow().len() == data.len());
        assert!(
            *reader.got.borrow() == data,
            "bytes out of order or changed"
        );
        assert!(
            reader.seen.borrow().iter().any(|&(_, unread)| unread > 0),
            "no ReadyRead left bytes in the kernel: the direct path was not taken"
        );
        peer.set_observer(None);
    }

    /// A callback that reads nothing leaves nothing in the kernel: everything that arrives is
    /// buffered (Qt's unbounded read buffer), so the peer's 8 MiB all go out.
    #[test]
    fn what_a_callback_leaves_is_buffered() {
        let (lp, _server, client, peer) = connected_pair("lazy-buffered");
        let reader = Rc::new(Reader::default());
        peer.set_observer(Some(reader.clone()));
        let data = pattern(8 << 20);
        client.write(&data).unwrap();
        run_until(&lp, || peer.bytes_available() == data.len());
        assert_eq!(client.bytes_to_write(), 0);
        assert_eq!(peer.io.borrow().unread, 0);
        // Each ReadyRead announced more than the one before (new bytes only).
        {
            let seen = reader.seen.borrow();
            assert!(seen.windows(2).all(|w| w[1].0 > w[0].0), "{seen:?}");
        }
        let mut out = vec![0u8; data.len()];
        assert_eq!(peer.read(&mut out), data.len());
        assert!(out == data);
        // peek and skip see the same bytes as read.
        client.write(&data[..100_000]).unwrap();
        run_until(&lp, || peer.bytes_available() == 100_000);
        let mut head = [0u8; 10];
        assert_eq!(peer.peek(&mut head), 10);
        assert_eq!(head, data[..10]);
        assert_eq!(peer.skip(10), 10);
        let mut rest = vec![0u8; 99_990];
        assert_eq!(peer.read(&mut rest), 99_990);
        assert!(rest[..] == data[10..100_000]);
        peer.set_observer(None);
    }

    /// Large and small messages in turn, one at a time as a request-reply flow sends them: a
    /// large one after a large one is announced from the kernel without a read, a small one
    /// after it is read as usual, and the peer's close after a large one still ends the
    /// stream. Every byte arrives, in order.
    #[cfg(unix)]
    #[test]
    fn large_and_small_messages_in_turn_keep_every_byte() {
        let (lp, _server, client, peer) = connected_pair("lazy-turns");
        let reader = read_in_callback(&peer);
        let sizes = [
            100_000, 100_000, 10, 100_000, 1, 100_000, 100_000, 17_000, 5,
        ];
        let data = pattern(sizes.iter().sum());
        let mut at = 0;
        let mut announced_large = 0;
        for n in sizes {
            client.write(&data[at..at + n]).unwrap();
            at += n;
            let seen_before = reader.seen.borrow().len();
            run_until(&lp, || reader.got.borrow().len() == at);
            let seen = reader.seen.borrow();
            // A large message announced whole, from the kernel, in one ReadyRead.
            if n > sys::EAGER_READ && seen.len() == seen_before + 1 && seen[seen_before].1 == n {
                announced_large += 1;
            }
        }
        assert!(
            *reader.got.borrow() == data,
            "bytes out of order or changed"
        );
        assert!(
            announced_large >= 1,
            "no large message was announced without a read: {:?}",
            reader.seen.borrow()
        );
        // The end of the stream right after a large message.
        client.write(&data[..100_000]).unwrap();
        client.disconnect_from_server();
        run_until(&lp, || peer.state() == SocketState::Unconnected);
        assert_eq!(reader.got.borrow().len(), data.len() + 100_000);
        assert!(reader.got.borrow()[data.len()..] == data[..100_000]);
        peer.set_observer(None);
    }
}

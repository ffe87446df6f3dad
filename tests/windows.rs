//! The Windows backend under test (run under Wine by `scripts/test-windows.sh`): the original
//! flow's pingPong and dataExchange (small rows) through qlocal with every byte checked, an
//! echo between qlocal and the raw Win32 pipe API in both directions, and the error cases.
//! Every wait has a deadline.
#![cfg(windows)]

use qlocal::core::{Error, EventLoop, RunMode, Server, Socket, SocketError, SocketState};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{CloseHandle, GENERIC_READ, GENERIC_WRITE, HANDLE};
use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_PIPE_CONNECTED, GetLastError, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, OPEN_EXISTING, PIPE_ACCESS_DUPLEX, ReadFile, WriteFile,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_TYPE_BYTE, PIPE_WAIT,
    PeekNamedPipe,
};

const T: Option<Duration> = Some(Duration::from_secs(20));

fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "qlocal-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).wrapping_add(seed) as u8 ^ (i >> 8) as u8)
        .collect()
}

/// Connects a qlocal client and takes the server's end.
fn pair(lp: &Rc<EventLoop>, name: &str) -> (Rc<Server>, Rc<Socket>, Rc<Socket>) {
    let server = Server::new(lp);
    server.listen(name.as_bytes()).expect("listen");
    let client = Socket::new(lp);
    client.connect_to_server(Some(name.as_bytes())).unwrap();
    client.wait_for_connected(T).expect("connected");
    server.wait_for_new_connection(T).expect("a connection");
    let peer = server.next_pending_connection().expect("pending");
    (server, client, peer)
}

/// Reads exactly `n` bytes, waiting with a deadline.
fn read_exact(s: &Socket, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::with_capacity(n);
    let mut buf = vec![0u8; 64 * 1024];
    while out.len() < n {
        let want = (n - out.len()).min(buf.len());
        let got = s.read(&mut buf[..want]);
        out.extend_from_slice(&buf[..got]);
        if out.len() == n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "read_exact: {} of {n}",
            out.len()
        );
        s.wait_for_ready_read(Some(Duration::from_secs(20)))
            .unwrap_or_else(|e| panic!("wait_for_ready_read after {} of {n}: {e}", out.len()));
    }
    out
}

fn write_all(s: &Socket, data: &[u8]) {
    s.write(data).expect("write");
    while s.bytes_to_write() > 0 {
        s.wait_for_bytes_written(T).expect("bytes written");
    }
}

#[test]
fn names_follow_qt_on_windows() {
    let lp = EventLoop::new().unwrap();
    let name = unique("names");
    let (server, client, peer) = pair(&lp, &name);
    let full = format!(r"\\.\pipe\{name}");
    assert_eq!(server.full_server_name(), full.as_bytes());
    assert_eq!(server.server_name(), name.as_bytes());
    assert_eq!(client.full_server_name(), full.as_bytes());
    assert_eq!(peer.state(), SocketState::Connected);
    // A full pipe path is kept as given.
    let other = Server::new(&lp);
    let path = format!(r"\\.\pipe\{}", unique("full"));
    other.listen(path.as_bytes()).unwrap();
    assert_eq!(other.full_server_name(), path.as_bytes());
    // removeServer is a no-op that succeeds, as Qt's on Windows.
    assert_eq!(Server::remove_server(name.as_bytes()), Ok(()));
    assert!(server.descriptor() != -1);
}

/// The original flow's pingPong, small rows: a message goes back and forth `rounds` times.
#[test]
fn ping_pong_small_rows_every_byte_checked() {
    let lp = EventLoop::new().unwrap();
    let (_server, client, peer) = pair(&lp, &unique("pingpong"));
    for (size, rounds) in [
        (1usize, 200u32),
        (20, 200),
        (200, 100),
        (2000, 50),
        (20000, 10),
    ] {
        for r in 0..rounds {
            let ping = pattern(r, size);
            client.write(&ping).unwrap();
            let got = read_exact(&peer, size);
            assert_eq!(got, ping, "ping size {size} round {r}");
            let pong = pattern(r + 7, size);
            peer.write(&pong).unwrap();
            let back = read_exact(&client, size);
            assert_eq!(back, pong, "pong size {size} round {r}");
        }
    }
}

/// Runs `client` on a thread of its own with its own loop (as the original flow's two
/// processes): on Windows a write waits in the socket's queue until its loop (or a wait on
/// that socket) runs, so one thread cannot drive both ends of a large exchange.
fn with_client_thread<F>(
    name: &str,
    client: F,
) -> (
    Rc<EventLoop>,
    Rc<Server>,
    Rc<Socket>,
    std::thread::JoinHandle<()>,
)
where
    F: FnOnce(Rc<Socket>) + Send + 'static,
{
    let lp = EventLoop::new().unwrap();
    let server = Server::new(&lp);
    server.listen(name.as_bytes()).expect("listen");
    let n = name.to_owned();
    let t = std::thread::spawn(move || {
        let lp = EventLoop::new().unwrap();
        let c = Socket::new(&lp);
        c.connect_to_server(Some(n.as_bytes())).unwrap();
        c.wait_for_connected(T).expect("connected");
        client(c);
    });
    server.wait_for_new_connection(T).expect("a connection");
    let peer = server.next_pending_connection().expect("pending");
    (lp, server, peer, t)
}

const ROWS: [(usize, usize); 4] = [(1, 100), (100, 100), (4096, 64), (65536, 8)];

fn row_data(chunk: usize, count: usize) -> Vec<u8> {
    (0..count).flat_map(|i| pattern(i as u32, chunk)).collect()
}

/// The original flow's dataExchange, small rows: one side streams, the other checks, then
/// the other way.
#[test]
fn data_exchange_small_rows_every_byte_checked() {
    let (_lp, _server, peer, t) = with_client_thread(&unique("exchange"), |client| {
        for (chunk, count) in ROWS {
            let data = row_data(chunk, count);
            for c in data.chunks(chunk) {
                client.write(c).unwrap();
            }
            while client.bytes_to_write() > 0 {
                client.wait_for_bytes_written(T).expect("bytes written");
            }
            let back = read_exact(&client, data.len());
            assert!(back == data, "dataExchange back chunk {chunk}x{count}");
        }
    });
    for (chunk, count) in ROWS {
        let data = row_data(chunk, count);
        let got = read_exact(&peer, data.len());
        assert!(got == data, "dataExchange chunk {chunk}x{count}");
        for c in data.chunks(chunk) {
            peer.write(c).unwrap();
        }
        while peer.bytes_to_write() > 0 {
            peer.wait_for_bytes_written(T).expect("bytes written");
        }
    }
    t.join().unwrap();
}

/// A graceful disconnect delivers what was queued before the peer sees the end, in order:
/// the bytes, then UNCONNECTED.
#[test]
fn peer_close_comes_after_the_data() {
    let data = pattern(3, 300_000);
    let expect = data.clone();
    let (lp, _server, peer, t) = with_client_thread(&unique("close"), move |client| {
        let got = read_exact(&client, expect.len());
        assert!(got == expect);
        if client.state() != SocketState::Unconnected {
            client.wait_for_disconnected(T).expect("disconnected");
        }
        assert_eq!(client.state(), SocketState::Unconnected);
        assert_eq!(client.error(), SocketError::PeerClosed);
    });
    peer.write(&data).unwrap();
    peer.disconnect_from_server();
    if peer.state() != SocketState::Unconnected {
        peer.wait_for_disconnected(T).expect("our close finishes");
    }
    // Windows: the last write of a closed pipe finishes, and its handle closes, through this
    // loop's port, so the loop runs until the reader saw the end (README, Windows).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !t.is_finished() && Instant::now() < deadline {
        lp.run(RunMode::Once, Some(Duration::from_millis(50)))
            .unwrap();
    }
    t.join().unwrap();
}

/// A blocking (non-overlapped) raw Win32 client of the pipe `name`.
fn raw_client(name: &str) -> HANDLE {
    raw_open(&wide(&format!(r"\\.\pipe\{name}")), 0)
}

/// `CreateFileW` on the pipe path `full` (NUL-terminated), read and write, with `flags`.
fn raw_open(full: &[u16], flags: u32) -> HANDLE {
    // SAFETY: a NUL-terminated name; no security attributes, no template.
    let h = unsafe {
        CreateFileW(
            full.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            0,
            std::ptr::null(),
            OPEN_EXISTING,
            flags,
            std::ptr::null_mut(),
        )
    };
    assert!(h != INVALID_HANDLE_VALUE, "CreateFileW: {}", unsafe {
        GetLastError()
    });
    h
}

fn raw_write(h: HANDLE, data: &[u8]) {
    let mut done = 0;
    while done < data.len() {
        let mut n = 0u32;
        // SAFETY: a valid handle and buffer; synchronous write.
        let ok = unsafe {
            WriteFile(
                h,
                data[done..].as_ptr(),
                (data.len() - done) as u32,
                &mut n,
                std::ptr::null_mut(),
            )
        };
        assert!(ok != 0, "WriteFile: {}", unsafe { GetLastError() });
        done += n as usize;
    }
}

fn raw_read(h: HANDLE, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut done = 0;
    while done < n {
        let mut got = 0u32;
        // SAFETY: a valid handle and buffer; synchronous read.
        let ok = unsafe {
            ReadFile(
                h,
                out[done..].as_mut_ptr(),
                (n - done) as u32,
                &mut got,
                std::ptr::null_mut(),
            )
        };
        assert!(ok != 0 && got > 0, "ReadFile: {}", unsafe {
            GetLastError()
        });
        done += got as usize;
    }
    out
}

/// A destroy during a graceful disconnect whose queue already went out (the socket is CLOSING
/// only until its bytes-written report) keeps the last write, still in flight to a reader
/// whose pipe is full: the reader gets every byte, then the end. The destroy cancelled that
/// write before (Qt 6's abort), and the reader lost its last 16 KiB; a Unix socket's close
/// keeps what the kernel holds.
#[test]
fn a_destroy_after_a_flushed_disconnect_delivers_the_write_in_flight() {
    let name = unique("flushed");
    let first = pattern(5, 64 * 1024);
    let last = pattern(6, 16 * 1024);
    let expect: Vec<u8> = first.iter().chain(last.iter()).copied().collect();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (lp, _server, s, reader) = with_client_thread(&name, move |c| {
        c.set_read_buffer_size(1); // 1 byte, then nothing: the pipe fills
        go_rx.recv().expect("the writer was destroyed");
        c.set_read_buffer_size(0);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let k = c.read(&mut buf);
            got.extend_from_slice(&buf[..k]);
            if k > 0 {
                continue;
            }
            if c.state() == SocketState::Unconnected {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {} bytes, then nothing",
                got.len(),
                expect.len()
            );
            let _ = c.wait_for_ready_read(Some(Duration::from_millis(500)));
        }
        assert_eq!(got.len(), expect.len(), "every byte, then the end");
        assert!(got == expect, "in order");
        assert_eq!(c.error(), SocketError::PeerClosed);
    });
    // The pipe's buffer fills with the first write (its report comes back) ...
    s.write(&first).unwrap();
    s.wait_for_bytes_written(T)
        .expect("the first write went out");
    // (its completion comes back through the port: then mio takes the next write)
    lp.run(RunMode::Once, Some(Duration::from_millis(100)))
        .unwrap();
    // ... so the last one stays in flight, and nothing is left queued: the socket is CLOSING
    // only until the report of that write.
    s.write(&last).unwrap();
    s.disconnect_from_server();
    assert_eq!(
        s.state(),
        SocketState::Closing,
        "waiting for its bytes-written report"
    );
    s.destroy();
    drop(s);
    go_tx.send(()).unwrap();
    // The closed pipe's last write finishes through this loop's port.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() && Instant::now() < deadline {
        lp.run(RunMode::Once, Some(Duration::from_millis(50)))
            .unwrap();
    }
    reader.join().expect("the reader got every byte");
}

/// A qlocal server echoes for a client written against the raw Win32 pipe API.
#[test]
fn echo_qlocal_server_raw_win32_client() {
    let lp = EventLoop::new().unwrap();
    let name = unique("echo-srv");
    let server = Server::new(&lp);
    server.listen(name.as_bytes()).unwrap();
    let n2 = name.clone();
    let client = std::thread::spawn(move || {
        let h = raw_client(&n2);
        let mut all = Vec::new();
        for i in 0..20u32 {
            let msg = pattern(i, 1 + i as usize * 997);
            raw_write(h, &msg);
            let back = raw_read(h, msg.len());
            assert_eq!(back, msg, "echo {i}");
            all.extend(back);
        }
        // SAFETY: the handle opened above.
        unsafe { CloseHandle(h) };
        all.len()
    });
    server
        .wait_for_new_connection(T)
        .expect("raw client connects");
    let s = server.next_pending_connection().unwrap();
    let mut echoed = 0;
    loop {
        match s.wait_for_ready_read(T) {
            Ok(()) => {}
            Err(Error::PeerClosed) => break,
            Err(e) => panic!("echo server: {e}"),
        }
        let mut buf = vec![0u8; s.bytes_available()];
        let n = s.read(&mut buf);
        echoed += n;
        write_all(&s, &buf[..n]);
    }
    assert_eq!(client.join().unwrap(), echoed);
}

/// A qlocal client talks to an echo server written against the raw Win32 pipe API.
#[test]
fn echo_raw_win32_server_qlocal_client() {
    let name = unique("echo-cli");
    let full = wide(&format!(r"\\.\pipe\{name}"));
    // SAFETY: a NUL-terminated name; a blocking server instance.
    let h = unsafe {
        CreateNamedPipeW(
            full.as_ptr(),
            PIPE_ACCESS_DUPLEX,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
            1,
            65536,
            65536,
            0,
            std::ptr::null(),
        )
    };
    assert!(h != INVALID_HANDLE_VALUE);
    let hv = h as usize;
    let server = std::thread::spawn(move || {
        let h = hv as HANDLE;
        // SAFETY: the instance created above; a blocking connect.
        let ok = unsafe { ConnectNamedPipe(h, std::ptr::null_mut()) };
        assert!(ok != 0 || unsafe { GetLastError() } == ERROR_PIPE_CONNECTED);
        let mut total = 0usize;
        let mut buf = vec![0u8; 65536];
        loop {
            let mut got = 0u32;
            // SAFETY: valid handle and buffer.
            let ok = unsafe {
                ReadFile(
                    h,
                    buf.as_mut_ptr(),
                    buf.len() as u32,
                    &mut got,
                    std::ptr::null_mut(),
                )
            };
            if ok == 0 || got == 0 {
                break;
            }
            raw_write(h, &buf[..got as usize]);
            total += got as usize;
        }
        // SAFETY: valid handle.
        unsafe { CloseHandle(h) };
        total
    });
    let lp = EventLoop::new().unwrap();
    let c = Socket::new(&lp);
    c.connect_to_server(Some(name.as_bytes())).unwrap();
    c.wait_for_connected(T).expect("connects to the raw server");
    let mut sent = 0;
    for i in 0..20u32 {
        let msg = pattern(i, 1 + i as usize * 1499);
        c.write(&msg).unwrap();
        let back = read_exact(&c, msg.len());
        assert_eq!(back, msg, "echo {i}");
        sent += msg.len();
    }
    c.disconnect_from_server();
    if c.state() != SocketState::Unconnected {
        c.wait_for_disconnected(T).expect("disconnected");
    }
    assert_eq!(server.join().unwrap(), sent);
}

#[test]
fn an_absent_name_is_server_not_found() {
    let lp = EventLoop::new().unwrap();
    let c = Socket::new(&lp);
    let name = unique("absent");
    c.connect_to_server(Some(name.as_bytes())).unwrap();
    assert_eq!(c.wait_for_connected(T), Err(Error::ServerNotFound));
    assert_eq!(c.error(), SocketError::ServerNotFound);
    assert_eq!(c.state(), SocketState::Unconnected);
}

/// Every instance busy: the connect retries until its deadline, then times out (no hang).
#[test]
fn a_busy_pipe_times_out_at_the_connect_deadline() {
    let lp = EventLoop::new().unwrap();
    let name = unique("busy");
    let server = Server::new(&lp);
    server.set_listen_backlog_size(1);
    server.listen(name.as_bytes()).unwrap();
    let first = Socket::new(&lp);
    first.connect_to_server(Some(name.as_bytes())).unwrap();
    first.wait_for_connected(T).unwrap();
    // Do not accept: the one instance is taken and the next is made only when accepted...
    // the server replaces an instance when it takes it, so take none.
    let c = Socket::new(&lp);
    c.set_connect_timeout(Duration::from_millis(500));
    let start = Instant::now();
    c.connect_to_server(Some(name.as_bytes())).unwrap();
    let r = c.wait_for_connected(Some(Duration::from_secs(10)));
    let took = start.elapsed();
    assert_eq!(r, Err(Error::Timeout), "after {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(c.error(), SocketError::SocketTimeout);
}

#[test]
fn a_second_server_on_a_live_name_is_address_in_use() {
    let lp = EventLoop::new().unwrap();
    let name = unique("twice");
    let a = Server::new(&lp);
    a.listen(name.as_bytes()).unwrap();
    let b = Server::new(&lp);
    assert_eq!(b.listen(name.as_bytes()), Err(Error::AddressInUse));
    assert_eq!(b.error(), SocketError::AddressInUse);
    a.close();
    b.listen(name.as_bytes()).expect("free again after close");
    assert!(b.is_listening());
}

#[test]
fn access_options_build_a_security_descriptor() {
    let lp = EventLoop::new().unwrap();
    let name = unique("access");
    let s = Server::new(&lp);
    s.set_options(qlocal::core::ServerOptions {
        user_access: true,
        group_access: false,
        other_access: false,
        abstract_namespace: false,
        ..Default::default()
    });
    s.listen(name.as_bytes()).expect("listen with user access");
    let c = Socket::new(&lp);
    c.connect_to_server(Some(name.as_bytes())).unwrap();
    c.wait_for_connected(T).expect("the same user may connect");
}

// ---- embedding: the loop's waitable handle (qlocal_loop_fd), through the C ABI ------------

mod embed {
    use super::{pattern, raw_client, raw_read, raw_write, unique};
    use qlocal::ffi::event_loop::*;
    use qlocal::ffi::result::qlocal_result;
    use qlocal::ffi::server::*;
    use qlocal::ffi::socket::*;
    use qlocal::ffi::{qlocal_loop, qlocal_server, qlocal_socket};
    use std::cell::{Cell, RefCell};
    use std::ffi::c_void;
    use std::ptr::{NonNull, null_mut};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_OBJECT_0, WAIT_TIMEOUT};
    use windows_sys::Win32::System::Threading::WaitForSingleObject;

    const ONCE: i32 = 1;
    const NO_WAIT: i32 = 2;

    fn ok(r: qlocal_result) {
        assert_eq!(r, qlocal_result::Ok);
    }

    fn nn<T>(p: *mut T) -> Option<NonNull<T>> {
        NonNull::new(p)
    }

    fn wait(h: HANDLE, ms: u32) -> u32 {
        // SAFETY: h is the loop's event handle, valid until the loop is destroyed.
        unsafe { WaitForSingleObject(h, ms) }
    }

    /// A loop on this thread and its waitable handle.
    struct Embedded {
        lp: *mut qlocal_loop,
        handle: HANDLE,
    }

    impl Embedded {
        fn new() -> Embedded {
            let mut lp = null_mut();
            ok(qlocal_loop_new(Some(&mut lp)));
            let mut fd = -1;
            ok(qlocal_loop_fd(nn(lp), Some(&mut fd)));
            assert!(fd != -1 && fd != 0, "a handle: {fd}");
            let mut again = -1;
            ok(qlocal_loop_fd(nn(lp), Some(&mut again)));
            assert_eq!(again, fd, "the same handle every time");
            Embedded {
                lp,
                handle: fd as HANDLE,
            }
        }

        fn timeout_ms(&self) -> i32 {
            let mut ms = -2;
            ok(qlocal_loop_timeout(nn(self.lp), Some(&mut ms)));
            ms
        }

        /// One turn of include/qlocal_qt.hpp's driver on Windows: wait on the handle (its
        /// QWinEventNotifier) at most until the loop's timeout (its QTimer) or `deadline`,
        /// then run what is ready without waiting. True when the handle was signalled.
        fn turn(&self, deadline: Instant) -> bool {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as u32;
            let ms = match self.timeout_ms() {
                -1 => left,
                t => (t as u32).min(left),
            };
            let signalled = match wait(self.handle, ms) {
                WAIT_OBJECT_0 => true,
                WAIT_TIMEOUT => false,
                other => panic!("WaitForSingleObject: {other}"),
            };
            ok(qlocal_loop_run(nn(self.lp), NO_WAIT, 0));
            signalled
        }

        /// Turns until `done`, within 30 s; returns how many turns the handle woke.
        fn pump_until(&self, what: &str, done: impl Fn() -> bool) -> u32 {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut woke = 0;
            while !done() {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                woke += u32::from(self.turn(deadline));
            }
            woke
        }

        /// Within a few runs (a close's last steps: queued work, the cancelled reads'
        /// completions) the loop goes quiet: no timeout, the handle unsignalled for 100 ms.
        fn assert_idle(&self) {
            for _ in 0..10 {
                ok(qlocal_loop_run(nn(self.lp), NO_WAIT, 0));
                if self.timeout_ms() == -1 && wait(self.handle, 100) == WAIT_TIMEOUT {
                    return;
                }
            }
            panic!(
                "not idle: timeout {} ms, handle signalled: {}",
                self.timeout_ms(),
                wait(self.handle, 0) == WAIT_OBJECT_0
            );
        }

        fn destroy(self) -> Duration {
            let start = Instant::now();
            ok(qlocal_loop_destroy(nn(self.lp)));
            start.elapsed()
        }
    }

    /// What the callbacks saw; the server's and the socket's userdata.
    #[derive(Default)]
    struct Seen {
        server: Cell<*mut qlocal_server>,
        peer: Cell<*mut qlocal_socket>,
        connections: Cell<u32>,
        ready_reads: Cell<u32>,
        got: RefCell<Vec<u8>>,
        disconnected: Cell<bool>,
    }

    fn seen<'a>(ud: *mut c_void) -> &'a Seen {
        // SAFETY: every callback here gets a `Seen` that outlives the loop's run.
        unsafe { &*(ud as *const Seen) }
    }

    unsafe extern "C" fn on_new_connection(ud: *mut c_void, server: *mut qlocal_server) {
        let s = seen(ud);
        let mut peer = null_mut();
        ok(qlocal_server_next_pending_connection(
            nn(server),
            Some(&mut peer),
        ));
        assert!(!peer.is_null());
        s.connections.set(s.connections.get() + 1);
        s.peer.set(peer);
        ok(qlocal_socket_set_userdata(nn(peer), ud, None));
        ok(qlocal_socket_set_ready_read_callback(
            nn(peer),
            Some(on_ready_read),
        ));
        ok(qlocal_socket_set_disconnected_callback(
            nn(peer),
            Some(on_disconnected),
        ));
    }

    /// Reads all there is and echoes it.
    unsafe extern "C" fn on_ready_read(ud: *mut c_void, socket: *mut qlocal_socket) {
        let s = seen(ud);
        s.ready_reads.set(s.ready_reads.get() + 1);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let mut n = 0;
            ok(qlocal_socket_read(
                nn(socket),
                buf.as_mut_ptr(),
                buf.len(),
                Some(&mut n),
            ));
            if n == 0 {
                break;
            }
            s.got.borrow_mut().extend_from_slice(&buf[..n]);
            ok(qlocal_socket_write(nn(socket), buf.as_ptr(), n));
        }
    }

    unsafe extern "C" fn on_disconnected(ud: *mut c_void, _socket: *mut qlocal_socket) {
        seen(ud).disconnected.set(true);
    }

    fn listen(e: &Embedded, name: &str, s: &Seen) {
        let mut server = null_mut();
        ok(qlocal_server_new(nn(e.lp), Some(&mut server)));
        s.server.set(server);
        ok(qlocal_server_set_userdata(
            nn(server),
            s as *const Seen as *mut c_void,
            None,
        ));
        ok(qlocal_server_set_new_connection_callback(
            nn(server),
            Some(on_new_connection),
        ));
        let cname = std::ffi::CString::new(name).unwrap();
        // SAFETY: a NUL-terminated name, alive for the call.
        ok(qlocal_server_listen(nn(server), unsafe {
            cname.as_ptr().as_ref()
        }));
    }

    /// A server on an embedded loop, driven only by waiting on its handle (and its timeout),
    /// echoes 1 MiB for a raw Win32 client on another thread: new connection, every byte read
    /// and echoed, then the client's close seen as disconnected; idle afterwards.
    #[test]
    fn the_handle_drives_accept_read_echo_and_disconnect() {
        let e = Embedded::new();
        e.assert_idle();
        let name = unique("embed-echo");
        let s = Seen::default();
        listen(&e, &name, &s);
        const LEN: usize = 1 << 20;
        let n2 = name.clone();
        let client = std::thread::spawn(move || {
            let h = raw_client(&n2);
            let data = pattern(11, LEN);
            raw_write(h, &data);
            let back = raw_read(h, LEN);
            // SAFETY: h is the handle opened above.
            unsafe { CloseHandle(h) };
            back == data
        });
        let mut woke = e.pump_until("the connection", || s.connections.get() == 1);
        woke += e.pump_until("every byte", || s.got.borrow().len() >= LEN);
        woke += e.pump_until("the disconnect", || s.disconnected.get());
        assert!(client.join().unwrap(), "the client got its bytes back");
        assert_eq!(s.connections.get(), 1);
        assert!(*s.got.borrow() == pattern(11, LEN), "every byte, in order");
        assert!(s.ready_reads.get() >= 1);
        assert!(woke >= 3, "the handle woke the driver ({woke} times)");
        ok(qlocal_socket_destroy(nn(s.peer.get())));
        ok(qlocal_server_destroy(nn(s.server.get())));
        e.assert_idle();
        assert!(e.destroy() < Duration::from_secs(2));
    }

    static POSTED: AtomicBool = AtomicBool::new(false);

    unsafe extern "C" fn on_posted(_ud: *mut c_void) {
        POSTED.store(true, Ordering::SeqCst);
    }

    unsafe extern "C" fn on_wakeup(ud: *mut c_void, _lp: *mut qlocal_loop) {
        // SAFETY: the test's Cell<u32>, alive while the loop runs.
        let n = unsafe { &*(ud as *const Cell<u32>) };
        n.set(n.get() + 1);
    }

    /// A post and a wake-up from another thread signal the handle (waited on with no
    /// fallback timer), the run takes them and resets it.
    #[test]
    fn posts_and_wakeups_from_other_threads_signal_the_handle() {
        let e = Embedded::new();
        e.assert_idle();
        let lp = e.lp as usize;
        std::thread::spawn(move || {
            let lp = lp as *mut qlocal_loop;
            ok(qlocal_loop_post(nn(lp), Some(on_posted), null_mut(), None));
        })
        .join()
        .unwrap();
        assert_eq!(wait(e.handle, 10_000), WAIT_OBJECT_0, "the post signalled");
        ok(qlocal_loop_run(nn(e.lp), NO_WAIT, 0));
        assert!(POSTED.load(Ordering::SeqCst), "the post ran");
        e.assert_idle();

        let wakeups = Cell::new(0u32);
        ok(qlocal_loop_set_userdata(
            nn(e.lp),
            &wakeups as *const Cell<u32> as *mut c_void,
            None,
        ));
        ok(qlocal_loop_set_wakeup_callback(nn(e.lp), Some(on_wakeup)));
        std::thread::spawn(move || ok(qlocal_loop_wakeup(nn(lp as *mut qlocal_loop))))
            .join()
            .unwrap();
        assert_eq!(
            wait(e.handle, 10_000),
            WAIT_OBJECT_0,
            "the wake-up signalled"
        );
        ok(qlocal_loop_run(nn(e.lp), NO_WAIT, 0));
        assert_eq!(wakeups.get(), 1);
        e.assert_idle();
        assert!(e.destroy() < Duration::from_secs(2));
    }

    /// With the watcher running, the loop's own waits still work: a timed run waits for the
    /// watcher's batch (and times out without one), and the blocking waits of a server and a
    /// socket take their events from it; what they keep for the next run leaves the handle
    /// signalled until that run.
    #[test]
    fn timed_runs_and_blocking_waits_work_while_watched() {
        let e = Embedded::new();
        let start = Instant::now();
        assert_eq!(qlocal_loop_run(nn(e.lp), ONCE, 50), qlocal_result::Timeout);
        assert!(start.elapsed() >= Duration::from_millis(50));
        let lp = e.lp as usize;
        let poster = std::thread::spawn(move || {
            let lp = lp as *mut qlocal_loop;
            ok(qlocal_loop_post(
                nn(lp),
                Some(on_posted_2),
                null_mut(),
                None,
            ));
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while !POSTED_2.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the post never ran");
            ok(qlocal_loop_run(nn(e.lp), ONCE, 10_000));
        }
        poster.join().unwrap();

        let name = unique("embed-waits");
        let mut server = null_mut();
        ok(qlocal_server_new(nn(e.lp), Some(&mut server)));
        let cname = std::ffi::CString::new(name.clone()).unwrap();
        // SAFETY: a NUL-terminated name, alive for the call.
        ok(qlocal_server_listen(nn(server), unsafe {
            cname.as_ptr().as_ref()
        }));
        let client = std::thread::spawn(move || {
            let h = raw_client(&name);
            raw_write(h, b"hello");
            let back = raw_read(h, 3);
            // SAFETY: the handle opened above.
            unsafe { CloseHandle(h) };
            back
        });
        ok(qlocal_server_wait_for_new_connection(nn(server), 10_000));
        let mut peer = null_mut();
        ok(qlocal_server_next_pending_connection(
            nn(server),
            Some(&mut peer),
        ));
        assert!(!peer.is_null());
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < 5 {
            assert!(Instant::now() < deadline, "read {} of 5", got.len());
            let mut buf = [0u8; 16];
            let mut n = 0;
            ok(qlocal_socket_read(
                nn(peer),
                buf.as_mut_ptr(),
                buf.len(),
                Some(&mut n),
            ));
            got.extend_from_slice(&buf[..n]);
            if n == 0 {
                ok(qlocal_socket_wait_for_ready_read(nn(peer), 10_000));
            }
        }
        assert_eq!(got, b"hello");
        ok(qlocal_socket_write(nn(peer), b"bye".as_ptr(), 3));
        ok(qlocal_socket_wait_for_bytes_written(nn(peer), 10_000));
        assert_eq!(client.join().unwrap(), b"bye");
        ok(qlocal_socket_destroy(nn(peer)));
        ok(qlocal_server_destroy(nn(server)));
        e.assert_idle();
        assert!(e.destroy() < Duration::from_secs(2));
    }

    static POSTED_2: AtomicBool = AtomicBool::new(false);

    unsafe extern "C" fn on_posted_2(_ud: *mut c_void) {
        POSTED_2.store(true, Ordering::SeqCst);
    }

    /// A server destroyed just after a raw client connected, before its embedded loop heard
    /// of the client (the cancelled connect comes back with no event, and it is the last hold
    /// on that instance's handle). Driven only as qlocal_qt.hpp drives a loop (its handle and
    /// its timeout), the loop closes the instance within moments, and the client sees the end
    /// of the pipe with nothing else waking the loop.
    #[test]
    fn a_server_closed_under_a_new_client_ends_it_without_another_wakeup() {
        let e = Embedded::new();
        e.assert_idle();
        let name = unique("embed-unheard");
        let s = Seen::default();
        listen(&e, &name, &s);
        let client = raw_client(&name);
        ok(qlocal_server_destroy(nn(s.server.get())));
        let deadline = Instant::now() + Duration::from_secs(3);
        while !super::raw_sees_the_end(client) {
            assert!(
                Instant::now() < deadline,
                "the client did not see the end of the pipe within 3 s"
            );
            e.turn(deadline);
        }
        // SAFETY: the client's handle, closed once.
        unsafe { CloseHandle(client) };
        e.assert_idle();
        assert!(e.destroy() < Duration::from_secs(2));
    }

    /// Destroying the loop stops its watcher at once, whether it is blocked in its poll (idle)
    /// or holding a batch the loop never took (a client connected, nobody ran the loop); a
    /// server that outlives the loop's handle still accepts through its wait call.
    #[test]
    fn destroy_with_the_watcher_running_does_not_hang() {
        let idle = Embedded::new();
        assert!(idle.destroy() < Duration::from_secs(2));

        let e = Embedded::new();
        let name = unique("embed-destroy");
        let s = Seen::default();
        listen(&e, &name, &s);
        let n2 = name.clone();
        let first = std::thread::spawn(move || {
            // SAFETY: the handle just opened.
            unsafe { CloseHandle(raw_client(&n2)) };
        });
        first.join().unwrap();
        assert_eq!(
            wait(e.handle, 10_000),
            WAIT_OBJECT_0,
            "the connect signalled"
        );
        assert!(
            e.destroy() < Duration::from_secs(2),
            "destroy did not wait out a deadline"
        );

        // The server outlives the loop's handle: its wait polls the port on this thread now.
        let server = s.server.get();
        ok(qlocal_server_set_new_connection_callback(nn(server), None));
        let second = std::thread::spawn(move || {
            // SAFETY: the handle just opened.
            unsafe { CloseHandle(raw_client(&name)) };
        });
        let mut taken = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while taken < 2 {
            assert!(Instant::now() < deadline, "{taken} of 2 connections");
            let mut peer = null_mut();
            ok(qlocal_server_next_pending_connection(
                nn(server),
                Some(&mut peer),
            ));
            if peer.is_null() {
                ok(qlocal_server_wait_for_new_connection(nn(server), 10_000));
            } else {
                taken += 1;
                ok(qlocal_socket_destroy(nn(peer)));
            }
        }
        second.join().unwrap();
        ok(qlocal_server_destroy(nn(server)));
    }
}

// ---- adoption: set_socket_descriptor with a raw Win32 pipe handle ------------------------

mod adopt {
    use super::{T, pattern, raw_open, read_exact, unique, wide};
    use qlocal::core::{Error, EventLoop, Socket, SocketState};
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_PIPE_CONNECTED, GetLastError, HANDLE, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::Storage::FileSystem::{FILE_FLAG_OVERLAPPED, PIPE_ACCESS_DUPLEX};
    use windows_sys::Win32::System::IO::OVERLAPPED;
    use windows_sys::Win32::System::Pipes::{
        ConnectNamedPipe, CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_TYPE_BYTE, PIPE_WAIT,
    };

    /// An overlapped server instance of a new pipe, not connected.
    fn raw_server_end(full: &[u16]) -> HANDLE {
        // SAFETY: a NUL-terminated name.
        let h = unsafe {
            CreateNamedPipeW(
                full.as_ptr(),
                PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                1,
                65536,
                65536,
                0,
                std::ptr::null(),
            )
        };
        assert!(h != INVALID_HANDLE_VALUE, "CreateNamedPipeW");
        h
    }

    /// A client end of `full`, overlapped or not, then the server end's connect.
    fn raw_pair(overlapped: bool) -> (HANDLE, HANDLE) {
        let full = wide(&format!(r"\\.\pipe\{}", unique("adopt")));
        let server = raw_server_end(&full);
        let client = raw_open(&full, if overlapped { FILE_FLAG_OVERLAPPED } else { 0 });
        // SAFETY: an all-zero OVERLAPPED is valid; the client is connected already, so the
        // call completes at once (ERROR_PIPE_CONNECTED) and keeps no reference to it.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        // SAFETY: the server end created above.
        let ok = unsafe { ConnectNamedPipe(server, &mut ov) };
        assert!(ok != 0 || unsafe { GetLastError() } == ERROR_PIPE_CONNECTED);
        (server, client)
    }

    fn exchange(a: &Socket, b: &Socket) {
        for (i, size) in [1usize, 100, 4096, 16384, 60000].into_iter().enumerate() {
            let ping = pattern(i as u32, size);
            a.write(&ping).unwrap();
            assert_eq!(read_exact(b, size), ping, "a -> b, {size} bytes");
            let pong = pattern(i as u32 + 50, size);
            b.write(&pong).unwrap();
            assert_eq!(read_exact(a, size), pong, "b -> a, {size} bytes");
        }
    }

    fn invalid(r: Result<(), Error>, says: &str) {
        match r {
            Err(Error::InvalidArgument(t)) => assert!(t.contains(says), "{t:?} lacks {says:?}"),
            other => panic!("expected InvalidArgument({says:?}), got {other:?}"),
        }
    }

    /// Both ends of a raw overlapped pipe pair (server end from CreateNamedPipeW, client end
    /// from CreateFileW) become connected sockets; bytes go both ways, every one checked; one
    /// end's disconnect reaches the other.
    #[test]
    fn both_ends_of_a_raw_overlapped_pipe_pair_are_adopted() {
        let lp = EventLoop::new().unwrap();
        let (server, client) = raw_pair(true);
        let a = Socket::new(&lp);
        let b = Socket::new(&lp);
        a.set_socket_descriptor(server as isize)
            .expect("adopt the server end");
        b.set_socket_descriptor(client as isize)
            .expect("adopt the client end");
        assert_eq!(a.state(), SocketState::Connected);
        assert_eq!(b.state(), SocketState::Connected);
        assert_eq!(a.descriptor(), server as isize);
        exchange(&a, &b);
        a.disconnect_from_server();
        if b.state() == SocketState::Connected {
            b.wait_for_disconnected(T).expect("the peer's end");
        }
        assert_eq!(b.state(), SocketState::Unconnected);
    }

    /// Bad handles are refused with InvalidArgument and stay the caller's: not a handle, a
    /// file, a synchronous pipe end, an unconnected server instance, a handle another loop
    /// already drives; a connected socket refuses with WrongState.
    #[test]
    fn bad_handles_are_refused_and_stay_the_callers() {
        let lp = EventLoop::new().unwrap();
        let s = Socket::new(&lp);
        invalid(s.set_socket_descriptor(-1), "not a handle");
        invalid(s.set_socket_descriptor(0), "not a handle");

        let path = std::env::temp_dir().join(unique("adopt-file"));
        let mut file = std::fs::File::create(&path).unwrap();
        invalid(
            s.set_socket_descriptor(file.as_raw_handle() as isize),
            "not a pipe",
        );
        std::io::Write::write_all(&mut file, b"still mine").expect("the file is still open");
        drop(file);
        let _ = std::fs::remove_file(&path);

        let (server, sync_client) = raw_pair(false);
        invalid(s.set_socket_descriptor(sync_client as isize), "overlapped");
        // SAFETY: both handles are still ours.
        unsafe {
            CloseHandle(sync_client);
            CloseHandle(server);
        }

        let full = wide(&format!(r"\\.\pipe\{}", unique("adopt-listening")));
        let listening = raw_server_end(&full);
        invalid(s.set_socket_descriptor(listening as isize), "not connected");
        // SAFETY: still ours.
        unsafe { CloseHandle(listening) };
        assert_eq!(s.state(), SocketState::Unconnected);

        // A handle bound to one loop's port cannot join another's.
        let (server, client) = raw_pair(true);
        let a = Socket::new(&lp);
        let b = Socket::new(&lp);
        a.set_socket_descriptor(server as isize).unwrap();
        b.set_socket_descriptor(client as isize).unwrap();
        let other = EventLoop::new().unwrap();
        let thief = Socket::new(&other);
        invalid(
            thief.set_socket_descriptor(server as isize),
            "completion port",
        );
        assert_eq!(thief.state(), SocketState::Unconnected);
        // The owner still drives it; and a connected socket adopts nothing.
        exchange(&a, &b);
        assert_eq!(
            a.set_socket_descriptor(client as isize),
            Err(Error::WrongState("the socket is not unconnected"))
        );
    }
}

#[link(name = "ntdll")]
unsafe extern "system" {
    fn NtQuerySystemInformation(class: u32, info: *mut u8, len: u32, needed: *mut u32) -> i32;
}

/// The handles the system lists for this process (`SystemExtendedHandleInformation`: Wine 8
/// answers `GetProcessHandleCount` with 0), as `cpp_tests/harness.cpp` counts them.
fn process_handles() -> usize {
    // SYSTEM_HANDLE_TABLE_ENTRY_INFO_EX: object, process id, handle, access, two u16, two u32.
    const ENTRY: usize = 40;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let mut needed = 0u32;
        // SAFETY: buf is writable for its length; class 64 fills a count, a reserved word and
        // the entries.
        let st = unsafe {
            NtQuerySystemInformation(64, buf.as_mut_ptr(), buf.len() as u32, &mut needed)
        };
        if st == 0xC000_0004_u32 as i32 {
            // STATUS_INFO_LENGTH_MISMATCH
            let grown = (buf.len() * 2).max(needed as usize + 65536);
            buf.resize(grown, 0);
            continue;
        }
        assert_eq!(st, 0, "NtQuerySystemInformation");
        break;
    }
    let word = |at: usize| usize::from_ne_bytes(buf[at..at + 8].try_into().unwrap());
    let me = std::process::id() as usize;
    (0..word(0))
        .filter(|i| word(16 + i * ENTRY + 8) == me)
        .count()
}

/// One round of the case below: a socket with a write in flight to a peer (another loop, in
/// another thread) that does not read is destroyed, and its loop at once. The peer must see
/// the end of the stream within the deadline.
fn destroyed_with_a_write_pending_round() {
    let name = unique("retire");
    let lp = EventLoop::new().unwrap();
    let server = Server::new(&lp);
    server.listen(name.as_bytes()).expect("listen");
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let n = name.clone();
    let peer = std::thread::spawn(move || {
        let plp = EventLoop::new().unwrap();
        let c = Socket::new(&plp);
        c.set_read_buffer_size(1); // reads 1 byte, then nothing: the pipe fills
        c.connect_to_server(Some(n.as_bytes())).unwrap();
        c.wait_for_connected(T).expect("connected");
        go_rx.recv().expect("the writer's side was destroyed");
        // Now read on to the end of the stream, within the deadline.
        c.set_read_buffer_size(0);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; 64 * 1024];
        while c.state() != SocketState::Unconnected {
            assert!(Instant::now() < deadline, "the peer never saw the end");
            while c.read(&mut buf) > 0 {}
            let _ = c.wait_for_ready_read(Some(Duration::from_millis(500)));
        }
        assert_eq!(c.error(), SocketError::PeerClosed);
        c.destroy();
        drop(c);
        plp.close();
    });
    server.wait_for_new_connection(T).expect("a connection");
    let s = server.next_pending_connection().expect("pending");
    server.close();
    drop(server);
    s.write(&vec![7u8; 1 << 20]).unwrap();
    // Writes go out until the peer's pipe is full: then one stays in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while s
        .wait_for_bytes_written(Some(Duration::from_millis(300)))
        .is_ok()
    {
        assert!(Instant::now() < deadline, "the peer's pipe never filled");
    }
    assert!(s.bytes_to_write() > 0, "a write is still queued");
    s.destroy();
    drop(s);
    lp.close();
    drop(lp);
    go_tx.send(()).unwrap();
    peer.join().expect("the peer saw the end of the stream");
}

/// Run in a process of its own by the case below (handles are counted process-wide).
#[test]
#[ignore = "run by a_destroyed_socket_and_its_loop_close_the_pipe_at_once, in its own process"]
fn destroyed_with_a_write_pending_child() {
    handles_come_back(destroyed_with_a_write_pending_round);
}

/// Runs the ignored test `child` in a process of its own (handles are counted process-wide)
/// and checks that it ran and passed.
fn run_child(child: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            child,
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .output()
        .expect("the child process runs");
    assert!(
        out.status.success(),
        "child: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The child ran the case (a filter that matches nothing passes too).
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

/// Runs `round` twice (the first lets the system and the runtime make what they make once)
/// and checks that the second leaves the process's handle count where it found it.
fn handles_come_back(round: fn()) {
    round();
    let baseline = process_handles();
    round();
    assert_eq!(
        process_handles(),
        baseline,
        "every handle of the round closed"
    );
}

/// A socket destroyed with a write in flight, then its loop destroyed at once (before the
/// loop's port was polled again): the peer sees the end of the stream, and the process's
/// handle count is back where it was (the pipe's handle leaked, and the peer waited for ever,
/// before).
#[test]
fn a_destroyed_socket_and_its_loop_close_the_pipe_at_once() {
    run_child("destroyed_with_a_write_pending_child");
}

/// True when the raw client `h` sees the end of its pipe (the server's end closed).
fn raw_sees_the_end(h: HANDLE) -> bool {
    let mut avail = 0u32;
    // SAFETY: a valid pipe handle; no buffer (size 0), one local output.
    let ok = unsafe {
        PeekNamedPipe(
            h,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            &mut avail,
            std::ptr::null_mut(),
        )
    };
    ok == 0 && unsafe { GetLastError() } == ERROR_BROKEN_PIPE
}

/// A server listening (its waiting instances) destroyed, and its loop at once.
fn listening_server_destroyed_round() {
    let lp = EventLoop::new().unwrap();
    let server = Server::new(&lp);
    server
        .listen(unique("instances").as_bytes())
        .expect("listen");
    server.destroy();
    drop(server);
    lp.close();
    drop(lp);
}

#[test]
#[ignore = "run by a_destroyed_server_and_its_loop_close_every_instance, in its own process"]
fn listening_server_destroyed_child() {
    handles_come_back(listening_server_destroyed_round);
}

/// A raw client connects; the server is destroyed before its loop heard of the client
/// (`seen`: or after it accepted it, the connection left pending), and the loop at once,
/// while the client lives on. The client must see the end of the pipe then.
fn server_destroyed_with_a_client_round(seen: bool) {
    let name = unique("unseen");
    let lp = EventLoop::new().unwrap();
    let server = Server::new(&lp);
    server.listen(name.as_bytes()).expect("listen");
    let client = raw_client(&name);
    if seen {
        server.wait_for_new_connection(T).expect("a connection");
        assert!(server.has_pending_connections());
    }
    server.destroy();
    drop(server);
    lp.close();
    drop(lp);
    assert!(
        raw_sees_the_end(client),
        "the client saw the end of the pipe"
    );
    // SAFETY: the client's handle, closed once.
    unsafe { CloseHandle(client) };
}

#[test]
#[ignore = "run by a_destroyed_server_and_its_loop_close_every_instance, in its own process"]
fn server_destroyed_with_an_unseen_client_child() {
    handles_come_back(|| server_destroyed_with_a_client_round(false));
}

#[test]
#[ignore = "run by a_destroyed_server_and_its_loop_close_every_instance, in its own process"]
fn server_destroyed_with_a_pending_connection_child() {
    handles_come_back(|| server_destroyed_with_a_client_round(true));
}

/// A server destroyed, and its loop at once, closes every pipe instance: the waiting ones,
/// one a client connected to before the loop heard of it, and a connection accepted but never
/// taken; their clients see the end, and the process's handle count is back where it was.
#[test]
fn a_destroyed_server_and_its_loop_close_every_instance() {
    run_child("listening_server_destroyed_child");
    run_child("server_destroyed_with_an_unseen_client_child");
    run_child("server_destroyed_with_a_pending_connection_child");
}

/// A wait that times out at the moment a write completes must not eat the completion: on
/// Windows the wait takes the event from the loop's port and mio reports a completed write
/// once. A write is left in flight (the client reads nothing); the client then reads what
/// frees it, and the server's socket makes only zero-timeout waits, one of which meets the
/// completion at its deadline: it must send on (before, the queue stayed put for good: the
/// socket waited for a writable event that had come and gone, and a socket destroyed like
/// that lingered until its linger deadline, its peer gone).
#[test]
fn a_write_completion_met_at_a_wait_deadline_is_not_lost() {
    let name = unique("deadline");
    let lp = EventLoop::new().unwrap();
    let server = Server::new(&lp);
    server.listen(name.as_bytes()).expect("listen");
    let client = raw_client(&name) as usize;
    server.wait_for_new_connection(T).expect("a connection");
    let s = server.next_pending_connection().expect("pending");
    let data = pattern(11, 1 << 20);
    s.write(&data).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s
        .wait_for_bytes_written(Some(Duration::from_millis(300)))
        .is_ok()
    {
        assert!(Instant::now() < deadline, "the client's pipe never filled");
    }
    let queued = s.bytes_to_write();
    assert!(queued > 0, "a write is in flight and more is queued");
    let (freed_tx, freed_rx) = std::sync::mpsc::channel::<()>();
    let total = data.len();
    let reader = std::thread::spawn(move || {
        let h = client as HANDLE;
        // Everything sent so far (the pipe's buffer and the write in flight): the write
        // completes.
        let mut got = raw_read(h, total - queued);
        freed_tx.send(()).unwrap();
        got.extend(raw_read(h, queued));
        // SAFETY: the client's handle, closed once.
        unsafe { CloseHandle(h) };
        got
    });
    freed_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the client read");
    // Only zero-timeout waits now: the one that meets the write's completion (at its
    // deadline) must send the next part of the queue.
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.bytes_to_write() == queued {
        assert!(
            Instant::now() < deadline,
            "a wait met the completion and dropped it: the queue never moved"
        );
        // The client writes nothing.
        assert_eq!(
            s.wait_for_ready_read(Some(Duration::ZERO)),
            Err(Error::Timeout)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the rest of the queue never went out ({} bytes left)",
            s.bytes_to_write()
        );
        lp.run(RunMode::Once, Some(Duration::from_millis(20)))
            .unwrap();
    }
    assert!(reader.join().unwrap() == data, "every byte, in order");
    s.destroy();
    server.destroy();
    lp.close();
}

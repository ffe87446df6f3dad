//! qlocal against the `interprocess` crate's local sockets (a widely used Rust IPC library, and
//! an independent implementation of the same AF_UNIX conventions): an interprocess client
//! against a qlocal server and a qlocal client against an interprocess listener, with a path
//! name and (Linux) an abstract name, bytes checked both ways. The interprocess side runs on a
//! thread with its blocking API; qlocal runs its loop through its own blocking waits, each with
//! a deadline.
#![cfg(unix)]

use interprocess::local_socket::traits::{ListenerExt, Stream as _};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, Stream, ToFsName};
use qlocal::core::{EventLoop, Server, ServerOptions, Socket, SocketState};
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(10);

/// `n` bytes of a seeded pattern with every byte value.
fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect()
}

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("qlocal-ip-{}-{n}-{tag}", std::process::id())
}

/// Reads exactly `n` bytes from a qlocal socket, waiting (within the deadline) for more.
fn qlocal_read_exactly(s: &Socket, n: usize) -> Vec<u8> {
    let end = Instant::now() + DEADLINE;
    let mut got = Vec::with_capacity(n);
    let mut buf = vec![0u8; 64 * 1024];
    while got.len() < n {
        if s.bytes_available() == 0 {
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "deadline passed after {} of {n} bytes",
                got.len()
            );
            s.wait_for_ready_read(Some(left)).expect("bytes arrive");
        }
        let want = (n - got.len()).min(buf.len());
        let k = s.read(&mut buf[..want]);
        got.extend_from_slice(&buf[..k]);
    }
    got
}

fn qlocal_write_all(s: &Socket, data: &[u8]) {
    s.write(data).expect("write");
    let end = Instant::now() + DEADLINE;
    while s.bytes_to_write() > 0 {
        let left = end.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "deadline passed with {} bytes queued",
            s.bytes_to_write()
        );
        s.wait_for_bytes_written(Some(left)).expect("bytes go out");
    }
}

/// An interprocess client connects to a qlocal server, sends `request`, reads the echo.
fn interprocess_client_against_qlocal_server(name: &str, abstract_ns: bool, full: String) {
    let lp = EventLoop::new().unwrap();
    let server = Server::new(&lp);
    server.set_options(ServerOptions {
        abstract_namespace: abstract_ns,
        ..ServerOptions::default()
    });
    server.listen(name.as_bytes()).expect("listen");
    let request = pattern(300_000, 1);
    let expect = request.clone();
    let client = std::thread::spawn(move || {
        let n = if abstract_ns {
            use interprocess::local_socket::{GenericNamespaced, ToNsName};
            full.to_ns_name::<GenericNamespaced>().unwrap()
        } else {
            full.to_fs_name::<GenericFilePath>().unwrap()
        };
        let mut c = Stream::connect(n).expect("interprocess connects to qlocal");
        c.write_all(&request).unwrap();
        let mut back = vec![0u8; request.len()];
        c.read_exact(&mut back).unwrap();
        back
    });
    server
        .wait_for_new_connection(Some(DEADLINE))
        .expect("a connection");
    let accepted: Rc<Socket> = server.next_pending_connection().expect("pending");
    let got = qlocal_read_exactly(&accepted, expect.len());
    assert!(got == expect, "qlocal server got other bytes");
    qlocal_write_all(&accepted, &got);
    let back = client.join().expect("client thread");
    assert!(back == expect, "interprocess client got other bytes back");
    accepted.destroy();
    server.destroy();
}

/// A qlocal client connects to an interprocess listener, sends, reads the echo.
fn qlocal_client_against_interprocess_listener(name: &str, abstract_ns: bool, full: String) {
    let listener_name = if abstract_ns {
        use interprocess::local_socket::{GenericNamespaced, ToNsName};
        full.clone().to_ns_name::<GenericNamespaced>().unwrap()
    } else {
        full.clone().to_fs_name::<GenericFilePath>().unwrap()
    };
    let listener = ListenerOptions::new()
        .name(listener_name)
        .create_sync()
        .expect("interprocess listens");
    let echo = std::thread::spawn(move || {
        let mut conn = listener.incoming().next().unwrap().expect("accept");
        let mut data = vec![0u8; 200_000];
        conn.read_exact(&mut data).unwrap();
        conn.write_all(&data).unwrap();
        data
    });
    let lp = EventLoop::new().unwrap();
    let s = Socket::new(&lp);
    s.set_abstract_namespace(abstract_ns).unwrap();
    s.connect_to_server(Some(name.as_bytes())).expect("connect");
    s.wait_for_connected(Some(DEADLINE))
        .expect("qlocal connects to interprocess");
    assert_eq!(s.state(), SocketState::Connected);
    assert_eq!(s.full_server_name(), full.as_bytes());
    let request = pattern(200_000, 2);
    qlocal_write_all(&s, &request);
    let back = qlocal_read_exactly(&s, request.len());
    assert!(back == request, "qlocal client got other bytes back");
    assert!(
        echo.join().unwrap() == request,
        "interprocess listener got other bytes"
    );
    s.destroy();
    if !abstract_ns {
        let _ = std::fs::remove_file(&full);
    }
}

fn temp_full_name(name: &str) -> String {
    let dir = std::env::var("TMPDIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/tmp".into());
    let dir = std::fs::canonicalize(dir).unwrap();
    format!("{}/{name}", dir.display())
}

#[test]
fn interprocess_client_reaches_a_qlocal_server_by_path() {
    let name = unique("srv");
    let full = temp_full_name(&name);
    interprocess_client_against_qlocal_server(&name, false, full);
}

#[test]
fn qlocal_client_reaches_an_interprocess_listener_by_path() {
    let name = unique("cli");
    let full = temp_full_name(&name);
    qlocal_client_against_interprocess_listener(&full, false, full.clone());
}

#[cfg(target_os = "linux")]
#[test]
fn interprocess_client_reaches_a_qlocal_server_by_abstract_name() {
    let name = unique("asrv");
    interprocess_client_against_qlocal_server(&name, true, name.clone());
}

#[cfg(target_os = "linux")]
#[test]
fn qlocal_client_reaches_an_interprocess_listener_by_abstract_name() {
    let name = unique("acli");
    qlocal_client_against_interprocess_listener(&name, true, name.clone());
}

//! The Unix side of the platform layer: the few `AF_UNIX` system calls the core needs, as
//! safe functions over `OwnedFd`. Every `unsafe` block of the Unix socket layer lives here.

use super::PeerCredentials;
use crate::core::name::Address;
use mio::{Interest, Registry, Token};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// A connected stream: the socket itself.
pub type Stream = OwnedFd;
/// A descriptor as the system names it.
pub type RawDescriptor = RawFd;
/// What a blocking wait on one stream polls: its descriptor.
pub type WaitKey = RawFd;
/// Out of memory, as an OS error code.
pub(crate) const ENOMEM: i32 = libc::ENOMEM;
/// Not an open descriptor, as an OS error code.
pub(crate) const EBADF: i32 = libc::EBADF;

/// The descriptor as C sees it.
pub fn raw(s: &Stream) -> isize {
    s.as_raw_fd() as isize
}

pub fn wait_key(s: &Stream, _token: Token) -> WaitKey {
    s.as_raw_fd()
}

pub fn register(r: &Registry, s: &mut Stream, token: Token, interest: Interest) -> io::Result<()> {
    r.register(&mut mio::unix::SourceFd(&s.as_raw_fd()), token, interest)
}

/// Changes the interest; also re-arms edge-triggered readiness (EPOLL_CTL_MOD reports the
/// current state again).
pub fn reregister(
    r: &Registry,
    s: &mut Stream,
    token: Token,
    interest: Interest,
) -> io::Result<()> {
    r.reregister(&mut mio::unix::SourceFd(&s.as_raw_fd()), token, interest)
}

pub fn deregister(r: &Registry, s: &mut Stream) {
    let _ = r.deregister(&mut mio::unix::SourceFd(&s.as_raw_fd()));
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// A new non-blocking, close-on-exec stream socket.
#[cfg(not(target_vendor = "apple"))]
pub fn stream_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; on success the fd is new and owned by nobody else.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: fd was just returned by socket() and is owned here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A new non-blocking, close-on-exec stream socket (macOS has no SOCK_NONBLOCK/SOCK_CLOEXEC:
/// the flags are set right after; a fork in between could inherit it).
#[cfg(target_vendor = "apple")]
pub fn stream_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; on success the fd is new and owned by nobody else.
    let fd = cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) })?;
    // SAFETY: fd was just returned by socket() and is owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    make_nonblocking_cloexec(fd.as_raw_fd())?;
    Ok(fd)
}

pub fn bind(fd: &OwnedFd, addr: &Address) -> io::Result<()> {
    // SAFETY: addr points to a valid sockaddr_un of addr.addr_len() bytes.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr(), addr.addr_len()) }).map(drop)
}

pub fn listen(fd: &OwnedFd, backlog: i32) -> io::Result<()> {
    // SAFETY: plain syscall on a valid fd.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) }).map(drop)
}

/// The stream a connect uses: on Unix the socket exists before it connects.
pub fn connect_stream() -> io::Result<Option<Stream>> {
    stream_socket().map(Some)
}

/// One connect attempt of the socket in `slot` (made by `connect_stream`). `WouldBlock` when
/// the server's listen backlog is full.
pub fn connect_to(slot: &mut Option<Stream>, addr: &Address) -> io::Result<()> {
    match slot {
        Some(fd) => connect(fd, addr),
        None => Err(io::Error::from_raw_os_error(libc::EBADF)),
    }
}

pub fn connect(fd: &OwnedFd, addr: &Address) -> io::Result<()> {
    loop {
        // SAFETY: addr points to a valid sockaddr_un of addr.addr_len() bytes.
        match cvt(unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.addr_len()) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(drop),
        }
    }
}

/// Accepts one connection as a non-blocking, close-on-exec socket (macOS has no accept4).
#[cfg(target_vendor = "apple")]
pub fn accept(fd: &OwnedFd) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: NULL address pointers are allowed by accept.
        let r = unsafe { libc::accept(fd.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut()) };
        match cvt(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(r) => {
                // SAFETY: r is a new fd owned by nobody else.
                let new = unsafe { OwnedFd::from_raw_fd(r) };
                make_nonblocking_cloexec(new.as_raw_fd())?;
                return Ok(new);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Accepts one connection as a non-blocking, close-on-exec socket.
#[cfg(not(target_vendor = "apple"))]
pub fn accept(fd: &OwnedFd) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: NULL address pointers are allowed by accept4.
        let r = unsafe {
            libc::accept4(
                fd.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        match cvt(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // SAFETY: r is a new fd owned by nobody else.
            Ok(r) => return Ok(unsafe { OwnedFd::from_raw_fd(r) }),
            Err(e) => return Err(e),
        }
    }
}

/// Before closing a stream whose queued bytes are given up: nothing to do here (closing the
/// descriptor ends everything; Windows cancels its overlapped I/O).
pub fn abandon(_fd: &OwnedFd) {}

/// Reads and drops what the socket holds, until it would block or the stream ends. Returns
/// true at the end of the stream (or on an error: nothing more will be read either way).
pub fn discard(fd: &OwnedFd) -> bool {
    let mut scratch = [MaybeUninit::<u8>::uninit(); 64 * 1024];
    loop {
        // SAFETY: scratch is writable memory of the given length.
        let r = unsafe { libc::read(fd.as_raw_fd(), scratch.as_mut_ptr().cast(), scratch.len()) };
        match cvt_size(r) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Sends without blocking and without SIGPIPE.
pub fn send(fd: &OwnedFd, data: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: data is a valid readable slice.
        let r = unsafe {
            libc::send(
                fd.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        match cvt_size(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Sends the slices in order with one system call (`sendmsg`), without blocking and without
/// SIGPIPE. Returns how many bytes went out, counted across the slices.
pub fn send_vectored(fd: &OwnedFd, parts: &[&[u8]]) -> io::Result<usize> {
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; 4];
    assert!(parts.len() <= iov.len(), "at most four slices");
    for (v, p) in iov.iter_mut().zip(parts) {
        v.iov_base = p.as_ptr().cast_mut().cast();
        v.iov_len = p.len();
    }
    // SAFETY: msghdr is plain data; all-zero is an empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = parts.len() as _;
    sendmsg(fd, &msg)
}

/// `sendmsg` without blocking and without SIGPIPE, retried on EINTR.
fn sendmsg(fd: &OwnedFd, msg: &libc::msghdr) -> io::Result<usize> {
    loop {
        // SAFETY: the caller's msg describes readable slices (and a valid control message).
        let r =
            unsafe { libc::sendmsg(fd.as_raw_fd(), msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        match cvt_size(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Reads into the spare capacity of `buf`, at most `limit` bytes, with one system call: a
/// second iovec on the stack takes what does not fit, so buffers grow only as data arrives.
/// Returns the bytes read and whether the read asked for more than the socket had (for an
/// edge-triggered stream socket that means it is drained).
///
/// A read also ends short where the peer's write carried descriptors (the kernel never joins
/// bytes across them). This socket does not take them: the kernel closes them and says so
/// with MSG_CTRUNC, and the read does not count as draining the socket.
pub fn read_into(fd: &OwnedFd, buf: &mut Vec<u8>, limit: usize) -> io::Result<(usize, bool)> {
    let mut stopped_at_fds = false;
    let (n, drained) = read_iov(buf, limit, |iov| {
        // SAFETY: msghdr is plain data; all-zero is an empty header (no control buffer).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = 2;
        // SAFETY: msg describes two writable iovecs.
        let n = cvt_size(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) })?;
        stopped_at_fds = msg.msg_flags & libc::MSG_CTRUNC != 0;
        Ok(n)
    })?;
    Ok((n, drained && !stopped_at_fds))
}

/// The socket reads a large arrival lazily: it takes the first `EAGER_READ` bytes into its
/// buffer, asks the kernel how many more it holds (`pending`), and the application's `read`
/// takes those straight from the kernel into the caller's memory (`recv`), one copy instead of
/// two. Small arrivals (most messages) are read at once, with one system call as before.
pub(crate) const LAZY_READ: bool = true;
pub(crate) const EAGER_READ: usize = 16 * 1024;

/// How many bytes the kernel holds for reading (FIONREAD).
pub fn pending(fd: &OwnedFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD stores an int through the pointer, which is valid for that.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD as _, &mut n) })?;
    Ok(n.max(0) as usize)
}

/// Reads into `out` without blocking (retried on EINTR); 0 is the end of the stream.
pub fn recv(fd: &OwnedFd, out: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: out is writable for its length.
        let r = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                out.as_mut_ptr().cast(),
                out.len(),
                libc::MSG_DONTWAIT,
            )
        };
        match cvt_size(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// The two-iovec read of `read_into`, with the system call given: `call` reads into the
/// iovecs and returns how many bytes it stored (retried on EINTR).
fn read_iov(
    buf: &mut Vec<u8>,
    limit: usize,
    mut call: impl FnMut(&mut [libc::iovec; 2]) -> io::Result<usize>,
) -> io::Result<(usize, bool)> {
    const EXTRA: usize = 64 * 1024;
    let mut extra = [MaybeUninit::<u8>::uninit(); EXTRA];
    let spare = (buf.capacity() - buf.len()).min(limit);
    let extra_len = EXTRA.min(limit - spare);
    let mut iov = [
        libc::iovec {
            // SAFETY: the pointer is one past the initialised part, within capacity.
            iov_base: unsafe { buf.as_mut_ptr().add(buf.len()) }.cast(),
            iov_len: spare,
        },
        libc::iovec {
            iov_base: extra.as_mut_ptr().cast(),
            iov_len: extra_len,
        },
    ];
    let n = loop {
        match call(&mut iov) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => break r?,
        }
    };
    let in_spare = n.min(spare);
    // SAFETY: the call initialised the first in_spare bytes after len.
    unsafe { buf.set_len(buf.len() + in_spare) };
    if n > spare {
        // SAFETY: the call initialised the first n - spare bytes of extra.
        let tail = unsafe { std::slice::from_raw_parts(extra.as_ptr().cast::<u8>(), n - spare) };
        buf.extend_from_slice(tail);
    }
    Ok((n, n < spare + extra_len))
}

/// The most descriptors one write may carry (Linux's SCM_MAX_FD).
pub(crate) const MAX_PASSED_FDS: usize = 253;

/// A descriptor on its way through a socket (a duplicate the socket owns).
pub type PassedFd = OwnedFd;

/// Gives a received descriptor to the caller (`qlocal_descriptor`).
pub fn into_raw_passed(f: PassedFd) -> isize {
    std::os::fd::IntoRawFd::into_raw_fd(f) as isize
}

/// Room for the control message of `MAX_PASSED_FDS` descriptors, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuf([u8; 1088]);

fn control_space(n: usize) -> usize {
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    unsafe { libc::CMSG_SPACE((n * std::mem::size_of::<RawFd>()) as u32) as usize }
}

/// A duplicate of the caller's descriptor, close-on-exec, for sending later: the caller keeps
/// (and may close) its own. `EBADF` for a descriptor that is not open.
pub fn dup_for_passing(fd: RawDescriptor) -> io::Result<PassedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on any value is safe: EBADF when it is not an open descriptor.
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: new is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// `send` of `data` with `fds` attached (SCM_RIGHTS) to its first byte. On success (at least
/// one byte sent) the peer's kernel holds its own references: the caller may close `fds`.
pub fn send_with_fds(fd: &OwnedFd, data: &[u8], fds: &[PassedFd]) -> io::Result<usize> {
    debug_assert!(!data.is_empty() && !fds.is_empty() && fds.len() <= MAX_PASSED_FDS);
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let mut control = ControlBuf([0; 1088]);
    let space = control_space(fds.len());
    // SAFETY: msghdr is plain data; all-zero is an empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg_control holds `space` bytes, room for one cmsghdr with fds.len() ints.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN((fds.len() * std::mem::size_of::<RawFd>()) as u32) as _;
        let p = libc::CMSG_DATA(cmsg).cast::<RawFd>();
        for (i, f) in fds.iter().enumerate() {
            p.add(i).write_unaligned(f.as_raw_fd());
        }
    }
    sendmsg(fd, &msg)
}

#[cfg(not(target_vendor = "apple"))]
const RECV_FLAGS: libc::c_int = libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT;
#[cfg(target_vendor = "apple")]
const RECV_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

/// `read_into` with `recvmsg`, taking the descriptors that came with the bytes (at most
/// `max_fds`, close-on-exec) into `fds`, in the order they were sent. The third value is true
/// when descriptors were lost: more came than `max_fds`, or the process had no descriptor
/// free (MSG_CTRUNC). The kernel closes the ones that did not fit, and this closes the ones
/// of that write that did: a partial set is never handed on.
pub fn read_into_with_fds(
    fd: &OwnedFd,
    buf: &mut Vec<u8>,
    limit: usize,
    max_fds: usize,
    fds: &mut std::collections::VecDeque<PassedFd>,
) -> io::Result<(usize, bool, bool)> {
    let max_fds = max_fds.min(MAX_PASSED_FDS);
    let mut control = ControlBuf([0; 1088]);
    let mut truncated = false;
    let mut got: Vec<OwnedFd> = Vec::new();
    let (n, drained) = read_iov(buf, limit, |iov| {
        // SAFETY: msghdr is plain data; all-zero is an empty header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = 2;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control_space(max_fds) as _;
        // SAFETY: msg describes two writable iovecs and a writable control buffer.
        let n = cvt_size(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, RECV_FLAGS) })?;
        truncated = msg.msg_flags & libc::MSG_CTRUNC != 0;
        // SAFETY: the kernel wrote msg_controllen bytes of well-formed cmsghdrs.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(cmsg);
                    let len = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                    let p = data.cast::<RawFd>();
                    for i in 0..len / std::mem::size_of::<RawFd>() {
                        // Each one is a new descriptor of this process, owned by nobody else.
                        got.push(OwnedFd::from_raw_fd(p.add(i).read_unaligned()));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        Ok(n)
    })?;
    if truncated {
        // Dropping them closes them.
        return Ok((n, drained, true));
    }
    // A read that brought descriptors ended at them, not because the socket was drained.
    let drained = drained && got.is_empty();
    for f in got {
        #[cfg(target_vendor = "apple")]
        set_cloexec(f.as_raw_fd())?;
        fds.push_back(f);
    }
    Ok((n, drained, false))
}

/// Close-on-exec for a received descriptor (macOS has no MSG_CMSG_CLOEXEC: a fork in another
/// thread between the receive and this call could inherit it).
#[cfg(target_vendor = "apple")]
fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe {
        let fdfl = cvt(libc::fcntl(fd, libc::F_GETFD))?;
        cvt(libc::fcntl(fd, libc::F_SETFD, fdfl | libc::FD_CLOEXEC))?;
    }
    Ok(())
}

/// Waits until `fd` is readable (`read`) and/or writable (`write`) or `deadline` passes.
/// Returns the `revents` (0 on timeout). `None` waits without a deadline.
pub fn poll_one(fd: RawFd, read: bool, write: bool, deadline: Option<Instant>) -> io::Result<i16> {
    let mut events = 0;
    if read {
        events |= libc::POLLIN;
    }
    if write {
        events |= libc::POLLOUT;
    }
    loop {
        let timeout = match deadline {
            None => -1,
            Some(d) => ms_until(d),
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout) };
        match cvt(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(0) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    continue;
                }
                return Ok(0);
            }
            Ok(_) => return Ok(pfd.revents),
        }
    }
}

/// Sleeps until `deadline` or for `d`, whichever is sooner (used only to pace connect retries
/// while a server's listen backlog is full: Linux offers no readiness event for that).
pub fn pause(d: Duration, deadline: Option<Instant>) {
    let until = Instant::now() + d;
    let until = deadline.map_or(until, |dl| dl.min(until));
    let _ = poll_one(-1, false, false, Some(until));
}

/// Milliseconds until `deadline`, rounded up, for poll(2).
pub fn ms_until(deadline: Instant) -> i32 {
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = left.as_nanos().div_ceil(1_000_000);
    ms.min(i32::MAX as u128) as i32
}

/// `(st_dev, st_ino)` of a path, without following a final symlink.
pub fn file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// What `getsockname`/`getpeername` say about an `AF_UNIX` socket: its name bytes (a path, or
/// an abstract name without its leading NUL; empty when unnamed) and whether it is abstract.
pub struct UnixName {
    pub bytes: Vec<u8>,
    pub abstract_ns: bool,
}

fn unix_name(fd: RawFd, peer: bool) -> io::Result<UnixName> {
    // SAFETY: sockaddr_un is plain old data; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let p = (&mut addr as *mut libc::sockaddr_un).cast::<libc::sockaddr>();
    // SAFETY: addr/len describe a writable sockaddr_un buffer.
    cvt(unsafe {
        if peer {
            libc::getpeername(fd, p, &mut len)
        } else {
            libc::getsockname(fd, p, &mut len)
        }
    })?;
    if addr.sun_family != libc::AF_UNIX as libc::sa_family_t {
        return Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT));
    }
    let offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
    let n = (len as usize)
        .saturating_sub(offset)
        .min(addr.sun_path.len());
    let raw: Vec<u8> = addr.sun_path[..n].iter().map(|&c| c as u8).collect();
    Ok(match raw.first() {
        None => UnixName {
            bytes: Vec::new(),
            abstract_ns: false,
        },
        Some(0) => UnixName {
            bytes: raw[1..].to_vec(),
            abstract_ns: true,
        },
        Some(_) => {
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            UnixName {
                bytes: raw[..end].to_vec(),
                abstract_ns: false,
            }
        }
    })
}

pub fn local_name(fd: RawFd) -> io::Result<UnixName> {
    unix_name(fd, false)
}

pub fn peer_name(fd: RawFd) -> io::Result<UnixName> {
    unix_name(fd, true)
}

fn sockopt_int(fd: RawFd, opt: libc::c_int) -> io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v/len describe a writable int.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}

/// True for a stream socket that is listening.
pub fn is_listening_stream(fd: RawFd) -> io::Result<bool> {
    Ok(sockopt_int(fd, libc::SO_TYPE)? == libc::SOCK_STREAM
        && sockopt_int(fd, libc::SO_ACCEPTCONN)? != 0)
}

/// True for a stream socket (listening or not).
pub fn is_stream(fd: RawFd) -> io::Result<bool> {
    Ok(sockopt_int(fd, libc::SO_TYPE)? == libc::SOCK_STREAM)
}

/// Makes an adopted descriptor non-blocking and close-on-exec.
pub fn make_nonblocking_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a caller-provided descriptor with valid commands.
    unsafe {
        let fl = cvt(libc::fcntl(fd, libc::F_GETFL))?;
        cvt(libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK))?;
        let fdfl = cvt(libc::fcntl(fd, libc::F_GETFD))?;
        cvt(libc::fcntl(fd, libc::F_SETFD, fdfl | libc::FD_CLOEXEC))?;
    }
    Ok(())
}

/// Takes ownership of a descriptor the caller handed over.
///
/// # Safety
/// `fd` must be an open descriptor that nothing else will close.
pub unsafe fn adopt(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller promises exclusive ownership of an open fd.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// SO_PEERCRED (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_credentials_of(fd: RawFd) -> io::Result<PeerCredentials> {
    // SAFETY: ucred is plain data; all-zero is a valid value.
    let mut c: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: c/len describe a writable ucred.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut c as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok(PeerCredentials {
        pid: Some(c.pid),
        uid: c.uid,
        gid: c.gid,
    })
}

/// getpeereid (the BSDs, macOS), and on macOS LOCAL_PEERPID for the process id.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn peer_credentials_of(fd: RawFd) -> io::Result<PeerCredentials> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: uid/gid are writable.
    cvt(unsafe { libc::getpeereid(fd, &mut uid, &mut gid) })?;
    #[cfg(target_vendor = "apple")]
    let pid = {
        let mut pid: libc::pid_t = 0;
        let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
        // SAFETY: pid/len describe a writable pid_t; SOL_LOCAL is 0 on macOS.
        let r = unsafe {
            libc::getsockopt(
                fd,
                0,
                libc::LOCAL_PEERPID,
                (&mut pid as *mut libc::pid_t).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(pid)
    };
    #[cfg(not(target_vendor = "apple"))]
    let pid = None;
    Ok(PeerCredentials { pid, uid, gid })
}

/// The peer of a connected stream (`Unsupported` never on Unix).
pub fn peer_credentials(s: &Stream) -> crate::core::error::Result<PeerCredentials> {
    peer_credentials_of(s.as_raw_fd())
        .map_err(|e| crate::core::error::Error::from_io(&e, crate::core::error::Side::Client))
}

/// Whether the peer of an accepted stream runs as this process's effective user.
pub fn same_user(s: &Stream) -> bool {
    peer_credentials_of(s.as_raw_fd()).is_ok_and(|c| c.uid == effective_uid())
}

/// This process's effective user id.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// An exclusive `flock` on a directory, released on drop: serialises the processes that
/// reclaim stale socket files in that directory (it creates no file).
pub struct DirLock(OwnedFd);

impl DirLock {
    /// Waits for the lock until `deadline` (`Timeout` then: a holder that stopped cannot block
    /// the caller forever). The lock is held only around a check, an unlink and a bind.
    pub fn acquire(dir: &std::path::Path, deadline: Instant) -> io::Result<DirLock> {
        let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(dir.as_os_str()))
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: c is a NUL-terminated path.
        let fd = cvt(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: fd was just opened and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut backoff = Duration::from_micros(100);
        loop {
            // SAFETY: flock on an open descriptor.
            match cvt(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
                Ok(_) => return Ok(DirLock(fd)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
                    }
                    std::thread::sleep(backoff.min(deadline - now));
                    backoff = (backoff * 2).min(Duration::from_millis(10));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // SAFETY: unlock an open descriptor (closing it would too).
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// What a connect to a socket file says about its server.
#[derive(Debug, PartialEq, Eq)]
pub enum Probe {
    /// Something accepts (or its backlog is full): a live server.
    Live,
    /// Nobody accepts: the server that made the file is gone.
    Refused,
    /// No file any more.
    Gone,
}

/// A non-blocking connect to `addr` (AF_UNIX connects complete or fail at once).
pub fn probe(addr: &Address) -> io::Result<Probe> {
    let fd = stream_socket()?;
    match connect(&fd, addr) {
        Ok(()) => Ok(Probe::Live),
        Err(e) => match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINPROGRESS) => Ok(Probe::Live),
            Some(libc::ECONNREFUSED) => Ok(Probe::Refused),
            Some(libc::ENOENT) => Ok(Probe::Gone),
            _ => Err(e),
        },
    }
}

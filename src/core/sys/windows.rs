//! The Windows side of the platform layer: named pipes. Every `unsafe` block of the Windows
//! pipe layer lives here.
//!
//! A `Stream` is an overlapped byte-mode pipe handle inside mio's `NamedPipe`, which does the
//! overlapped reads and writes through the loop's completion port and buffers them: reads
//! copy out of a buffer mio filled (4 KiB per completed read), a write is copied in and sent
//! in the background, one at a time; both are `WouldBlock` while mio waits for the system,
//! and readiness follows when an operation completes. The end of the peer's stream
//! (`ERROR_BROKEN_PIPE`) reads as 0 bytes, as EOF does on Unix.

use crate::core::name::Address;
use mio::windows::NamedPipe;
use mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};
use std::os::windows::io::{AsRawHandle, FromRawHandle};
use std::time::{Duration, Instant};
use windows_sys::Wdk::Foundation::{NtQueryObject, ObjectBasicInformation};
use windows_sys::Wdk::Storage::FileSystem::{
    FILE_MODE_INFORMATION, FILE_SYNCHRONOUS_IO_ALERT, FILE_SYNCHRONOUS_IO_NONALERT,
    FileModeInformation, NtQueryInformationFile,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, DUPLICATE_SAME_ACCESS, DuplicateHandle, ERROR_ACCESS_DENIED, ERROR_BROKEN_PIPE,
    ERROR_FILE_NOT_FOUND, ERROR_NOT_ENOUGH_MEMORY, ERROR_PIPE_BUSY, GENERIC_READ, GENERIC_WRITE,
    HANDLE, INVALID_HANDLE_VALUE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_PRIMARY_GROUP,
    TOKEN_QUERY, TOKEN_USER, TokenPrimaryGroup, TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, FILE_TYPE_PIPE, GetFileType,
    OPEN_EXISTING, PIPE_ACCESS_DUPLEX,
};
use windows_sys::Win32::System::IO::{CancelIoEx, IO_STATUS_BLOCK};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, GetNamedPipeInfo, PIPE_READMODE_BYTE, PIPE_REJECT_REMOTE_CLIENTS,
    PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, PIPE_WAIT, PeekNamedPipe, WaitNamedPipeW,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, GetCurrentProcess, OpenProcessToken, ResetEvent, SetEvent,
};
use windows_sys::Win32::System::WindowsProgramming::PUBLIC_OBJECT_BASIC_INFORMATION;

/// A connected (or, for a server's waiting instance, connecting) pipe end.
pub struct Stream {
    pipe: NamedPipe,
    /// mio refuses a second `register`: a server's instance, registered under the server's
    /// token, is moved to its socket's token with `reregister`.
    registered: bool,
    /// `abandon` cancelled its I/O: what was in flight is given up.
    abandoned: std::cell::Cell<bool>,
}

/// A descriptor as C sees it: the HANDLE's value.
pub type RawDescriptor = isize;
/// What a blocking wait waits on: the stream's token (its events come through the loop's port).
pub type WaitKey = Token;
/// Out of memory, as an OS error code (`ERROR_NOT_ENOUGH_MEMORY`).
pub(crate) const ENOMEM: i32 = ERROR_NOT_ENOUGH_MEMORY as i32;
/// Not an open handle, as an OS error code (ERROR_INVALID_HANDLE).
pub(crate) const EBADF: i32 = 6;

/// The pipes' buffer sizes: small writes complete at once, as a socket's do.
const PIPE_BUFFER: u32 = 64 * 1024;
/// `nDefaultTimeOut` of `CreateNamedPipeW` (Qt's value; only `WaitNamedPipe` with the default
/// timeout reads it).
const DEFAULT_TIMEOUT_MS: u32 = 3000;
/// The most one overlapped write takes (`send`): the pipe's buffer size.
const MAX_IN_FLIGHT: usize = PIPE_BUFFER as usize;

pub fn raw(s: &Stream) -> isize {
    s.pipe.as_raw_handle() as isize
}

pub fn wait_key(_s: &Stream, token: Token) -> WaitKey {
    token
}

pub fn register(r: &Registry, s: &mut Stream, token: Token, interest: Interest) -> io::Result<()> {
    if s.registered {
        return r.reregister(&mut s.pipe, token, interest);
    }
    r.register(&mut s.pipe, token, interest)?;
    s.registered = true;
    Ok(())
}

pub fn reregister(
    r: &Registry,
    s: &mut Stream,
    token: Token,
    interest: Interest,
) -> io::Result<()> {
    r.reregister(&mut s.pipe, token, interest)
}

pub fn deregister(r: &Registry, s: &mut Stream) {
    if std::mem::take(&mut s.registered) {
        let _ = r.deregister(&mut s.pipe);
    }
}

/// The stream a connect uses: on Windows the handle comes from the connect itself.
pub fn connect_stream() -> io::Result<Option<Stream>> {
    Ok(None)
}

/// One connect attempt (`CreateFileW`, overlapped, read and write): on success the stream is
/// put in `slot`. `WouldBlock` while every instance of the pipe is busy (`ERROR_PIPE_BUSY`):
/// the caller retries within its deadline. Not found and access denied come back as the
/// system's errors.
pub fn connect_to(slot: &mut Option<Stream>, addr: &Address) -> io::Result<()> {
    // SAFETY: the name is NUL-terminated UTF-16; no security attributes, no template.
    let h = unsafe {
        CreateFileW(
            addr.wide(),
            GENERIC_READ | GENERIC_WRITE,
            0,
            std::ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        return Err(e);
    }
    // SAFETY: h is a new overlapped pipe handle owned by nobody else.
    *slot = Some(unsafe { adopt_handle(h) });
    Ok(())
}

/// Whether `h`, handed over by a caller (`set_socket_descriptor`), can become a stream: a named
/// pipe end (client or server), opened for overlapped I/O (a synchronous handle would block
/// the loop in every read), connected, or connected once and ended since (it reads as the
/// end). `Err` says what is wrong, in the caller's words. Whether it is already bound to
/// another completion port only the registration can tell.
pub fn check_adoptable(h: RawDescriptor) -> Result<(), &'static str> {
    let h = h as HANDLE;
    if h.is_null() || h == INVALID_HANDLE_VALUE {
        return Err("the descriptor is not a handle");
    }
    // SAFETY: GetFileType only reads the handle's type; an invalid value fails cleanly.
    if unsafe { GetFileType(h) } != FILE_TYPE_PIPE {
        return Err("the handle is not a pipe");
    }
    let mut flags = 0u32;
    // SAFETY: a pipe handle; the one output is a local u32, the others are not asked for.
    let named = unsafe {
        GetNamedPipeInfo(
            h,
            &mut flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if named == 0 {
        return Err("the handle is not a named pipe");
    }
    let mut status = IO_STATUS_BLOCK::default();
    let mut mode = FILE_MODE_INFORMATION { Mode: 0 };
    // SAFETY: a pipe handle; `mode` and `status` are locals of the sizes given.
    let st = unsafe {
        NtQueryInformationFile(
            h,
            &mut status,
            (&mut mode as *mut FILE_MODE_INFORMATION).cast(),
            std::mem::size_of::<FILE_MODE_INFORMATION>() as u32,
            FileModeInformation,
        )
    };
    if st < 0 {
        return Err("the handle's I/O mode cannot be read");
    }
    if mode.Mode & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT) != 0 {
        return Err("the pipe handle is not opened for overlapped I/O (FILE_FLAG_OVERLAPPED)");
    }
    let mut available = 0u32;
    // SAFETY: a pipe handle; no buffer (size 0), one local output.
    let peeked = unsafe {
        PeekNamedPipe(
            h,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            &mut available,
            std::ptr::null_mut(),
        )
    };
    if peeked == 0 && io::Error::last_os_error().raw_os_error() != Some(ERROR_BROKEN_PIPE as i32) {
        return Err("the pipe is not connected");
    }
    Ok(())
}

/// Takes ownership of a handle `check_adoptable` accepted.
///
/// # Safety
/// `h` must be an open overlapped pipe handle that nothing else will close.
pub unsafe fn adopt(h: RawDescriptor) -> Stream {
    // SAFETY: the caller hands over an owned overlapped pipe handle.
    unsafe { adopt_handle(h as HANDLE) }
}

/// # Safety
/// `h` must be an open overlapped pipe handle that nothing else will close.
unsafe fn adopt_handle(h: HANDLE) -> Stream {
    Stream {
        // SAFETY: the caller hands over an owned overlapped pipe handle.
        pipe: unsafe { NamedPipe::from_raw_handle(h as _) },
        registered: false,
        abandoned: std::cell::Cell::new(false),
    }
}

/// A new server instance of the pipe `addr`: overlapped, byte mode, local clients only.
/// `first`: `FILE_FLAG_FIRST_PIPE_INSTANCE`, so a name another server (or an earlier instance)
/// holds fails with `ERROR_ACCESS_DENIED`.
pub fn create_pipe(addr: &Address, first: bool, security: Option<&Security>) -> io::Result<Stream> {
    let mut open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
    if first {
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
        // Wine ignores the first-instance flag: ask whether any instance of the name exists
        // (waits at most 1 ms, when every instance is busy). The flag still closes the race
        // on Windows.
        // SAFETY: the name is NUL-terminated UTF-16.
        let exists = unsafe { WaitNamedPipeW(addr.wide(), 1) } != 0
            || io::Error::last_os_error().raw_os_error() != Some(ERROR_FILE_NOT_FOUND as i32);
        if exists {
            return Err(io::Error::from_raw_os_error(ERROR_ACCESS_DENIED as i32));
        }
    }
    let sa = security.map(|s| SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: s.descriptor,
        bInheritHandle: 0,
    });
    let sa_ptr = sa.as_ref().map_or(std::ptr::null(), |s| s as *const _);
    // SAFETY: the name is NUL-terminated UTF-16; sa_ptr is null or points to attributes whose
    // descriptor lives in `security` for the duration of the call.
    let h = unsafe {
        CreateNamedPipeW(
            addr.wide(),
            open_mode,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            PIPE_UNLIMITED_INSTANCES,
            PIPE_BUFFER,
            PIPE_BUFFER,
            DEFAULT_TIMEOUT_MS,
            sa_ptr,
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: h is a new overlapped pipe handle owned by nobody else.
    Ok(unsafe { adopt_handle(h) })
}

/// True when the error is the one a first instance gets on a name already held.
pub fn is_name_taken(e: &io::Error) -> bool {
    e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32)
}

/// Waits (overlapped) for a client on a registered server instance: `Ok(true)` when one is
/// connected (also one that came and went: it reads as EOF), `Ok(false)` while waiting (the
/// instance's token gets an event when a client arrives).
pub fn start_accept(s: &Stream) -> io::Result<bool> {
    match s.pipe.connect() {
        Ok(()) => match s.pipe.take_error()? {
            None => Ok(true),
            Some(e) => Err(e),
        },
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e),
    }
}

/// Hands at most `MAX_IN_FLIGHT` bytes to mio, which copies them into a buffer of its own for
/// the overlapped write (one write in flight per pipe) and keeps that buffer, at its capacity,
/// in a pool for the pipe's next writes. Unbounded, one 64 MiB write (or a 64 MiB queue
/// flushed at once) kept 64 MiB alive for the life of the connection after the queue had
/// drained; bounded, the in-flight buffer plays the part of a Unix socket's send buffer, and
/// the rest of a large write stays in the socket's queue (`bytes_to_write`).
pub fn send(s: &Stream, data: &[u8]) -> io::Result<usize> {
    (&s.pipe).write(&data[..data.len().min(MAX_IN_FLIGHT)])
}

/// mio takes one buffer per write: the first non-empty slice goes (the caller queues the rest).
pub fn send_vectored(s: &Stream, parts: &[&[u8]]) -> io::Result<usize> {
    match parts.iter().find(|p| !p.is_empty()) {
        Some(p) => send(s, p),
        None => Ok(0),
    }
}

/// Reads what mio holds, at most `limit` bytes, into `buf`. Never reports "drained": only
/// `WouldBlock` tells that mio has started the next overlapped read, so the caller reads on
/// until then.
pub fn read_into(s: &Stream, buf: &mut Vec<u8>, limit: usize) -> io::Result<(usize, bool)> {
    let mut chunk = [0u8; 16 * 1024];
    let n = chunk.len().min(limit);
    let got = (&s.pipe).read(&mut chunk[..n])?;
    buf.extend_from_slice(&chunk[..got]);
    Ok((got, false))
}

/// mio's `NamedPipe` reads into a buffer of its own, so a lazy read would save no copy: the
/// socket always reads what arrives at once (`pending`/`recv` are never called).
pub(crate) const LAZY_READ: bool = false;
pub(crate) const EAGER_READ: usize = 16 * 1024;

pub fn pending(_s: &Stream) -> io::Result<usize> {
    Ok(0)
}

pub fn recv(s: &Stream, out: &mut [u8]) -> io::Result<usize> {
    (&s.pipe).read(out)
}

/// Descriptor passing has no pipe equivalent here (a HANDLE would need DuplicateHandle into
/// the peer's process, which needs its process handle and rights the peer may not grant): the
/// socket refuses it with `Unsupported` before any of these is reached.
pub(crate) const MAX_PASSED_FDS: usize = 0;

/// A descriptor on its way through a socket (never made on Windows).
pub type PassedFd = std::os::windows::io::OwnedHandle;

pub fn into_raw_passed(f: PassedFd) -> isize {
    std::os::windows::io::IntoRawHandle::into_raw_handle(f) as isize
}

fn no_passing() -> io::Error {
    io::Error::from(io::ErrorKind::Unsupported)
}

pub fn dup_for_passing(_fd: RawDescriptor) -> io::Result<PassedFd> {
    Err(no_passing())
}

pub fn send_with_fds(_s: &Stream, _data: &[u8], _fds: &[PassedFd]) -> io::Result<usize> {
    Err(no_passing())
}

pub fn read_into_with_fds(
    _s: &Stream,
    _buf: &mut Vec<u8>,
    _limit: usize,
    _max_fds: usize,
    _fds: &mut std::collections::VecDeque<PassedFd>,
) -> io::Result<(usize, bool, bool)> {
    Err(no_passing())
}

/// Before closing a stream whose queued bytes are given up (abort, a linger deadline): cancels
/// its overlapped I/O, and marks it so that the loop does not wait for its write when it
/// closes it (`EventLoop::retire`). mio's `NamedPipe` keeps a pending write alive past the drop
/// (so that a graceful close still delivers it), and with it the handle: without the cancel, a
/// write that the peer never reads kept the handle open for ever.
pub fn abandon(s: &Stream) {
    s.abandoned.set(true);
    cancel_io(s);
}

/// True once `abandon` ran on the stream.
pub fn is_abandoned(s: &Stream) -> bool {
    s.abandoned.get()
}

/// Cancels every overlapped operation under way on the stream's handle (its read, its write, a
/// server instance's connect). Each ends through the port as for any other result.
pub fn cancel_io(s: &Stream) {
    // SAFETY: the handle is the pipe's and open; CancelIoEx only requests cancellation, whose
    // completion mio receives through the port as for any other result.
    unsafe { CancelIoEx(s.pipe.as_raw_handle() as HANDLE, std::ptr::null()) };
}

/// Tells when the handle of a dropped stream has closed. mio closes a pipe's handle only when
/// the last of its overlapped operations has come back through the port, which no call of
/// mio reports; the system counts the handles of the pipe end, though. A duplicate taken
/// before the drop keeps that count readable (and the handle value from being reused) until
/// the count falls below what it was with mio's handle; dropping the watch closes the
/// duplicate, and the pipe end with it (the peer sees the end of the stream then).
pub struct CloseWatch {
    dup: HANDLE,
    /// The handles of the pipe end with mio's and the duplicate.
    with_mio: u32,
}

/// A watch on `s`, taken before it is dropped; `None` if the system refuses the duplicate or
/// the count (then nobody can tell when mio closes it, and the caller does not wait).
pub fn close_watch(s: &Stream) -> Option<CloseWatch> {
    let mut dup: HANDLE = std::ptr::null_mut();
    // SAFETY: both process handles are this process's pseudo handle; the source is the pipe's
    // open handle; `dup` receives a new handle with the same access, owned by the watch.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            s.pipe.as_raw_handle() as HANDLE,
            GetCurrentProcess(),
            &mut dup,
            0,
            0,
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return None;
    }
    let mut watch = CloseWatch { dup, with_mio: 0 };
    watch.with_mio = handle_count(dup)?;
    Some(watch)
}

impl CloseWatch {
    /// True once mio's handle (or any other but the duplicate) is closed.
    pub fn closed(&self) -> bool {
        handle_count(self.dup).is_none_or(|n| n < self.with_mio)
    }

    /// Cancels what mio started on the pipe after it was dropped: a server instance's connect
    /// that completed (a client came just before the cancel) makes mio start a read, which
    /// else holds the handle until the client writes or closes. The duplicate names the same
    /// file object, whose I/O `CancelIoEx` cancels whichever handle started it.
    pub fn cancel_late_io(&self) {
        // SAFETY: dup is the watch's open handle; CancelIoEx only requests cancellation.
        unsafe { CancelIoEx(self.dup, std::ptr::null()) };
    }
}

impl Drop for CloseWatch {
    fn drop(&mut self) {
        // SAFETY: dup is the handle DuplicateHandle made for this watch, closed once.
        unsafe { CloseHandle(self.dup) };
    }
}

/// How many handles refer to the object `h` refers to (`PUBLIC_OBJECT_BASIC_INFORMATION`).
fn handle_count(h: HANDLE) -> Option<u32> {
    let mut info = PUBLIC_OBJECT_BASIC_INFORMATION::default();
    // SAFETY: h is an open handle; `info` is a local of the size given; no return length.
    let st = unsafe {
        NtQueryObject(
            h,
            ObjectBasicInformation,
            (&mut info as *mut PUBLIC_OBJECT_BASIC_INFORMATION).cast(),
            std::mem::size_of::<PUBLIC_OBJECT_BASIC_INFORMATION>() as u32,
            std::ptr::null_mut(),
        )
    };
    (st >= 0).then_some(info.HandleCount)
}

/// Reads and drops what the pipe holds, until it would block or the stream ends. True at the
/// end of the stream (or on an error).
pub fn discard(s: &Stream) -> bool {
    let mut scratch = [0u8; 16 * 1024];
    loop {
        match (&s.pipe).read(&mut scratch) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Sleeps until `deadline` or for `d`, whichever is sooner (only to pace connect retries while
/// every pipe instance is busy: the system's only notice, `WaitNamedPipeW`, blocks the thread
/// just the same and cannot be woken).
pub fn pause(d: Duration, deadline: Option<Instant>) {
    let until = Instant::now() + d;
    let until = deadline.map_or(until, |dl| dl.min(until));
    std::thread::sleep(until.saturating_duration_since(Instant::now()));
}

/// The security descriptor Qt builds for the access options: a DACL granting
/// `FILE_ALL_ACCESS` to the process token's user (`user`), its primary group (`group`) and
/// Everyone (`other`), with the token's user and primary group as owner and group.
pub struct Security {
    descriptor: PSECURITY_DESCRIPTOR,
}

impl Drop for Security {
    fn drop(&mut self) {
        // SAFETY: the descriptor was allocated by the SDDL conversion with LocalAlloc.
        unsafe { LocalFree(self.descriptor) };
    }
}

impl Security {
    pub fn for_access(user: bool, group: bool, other: bool) -> io::Result<Security> {
        let (user_sid, group_sid) = token_sids()?;
        let mut sddl = format!("O:{user_sid}G:{group_sid}D:");
        if user {
            sddl += &format!("(A;;FA;;;{user_sid})");
        }
        if group {
            sddl += &format!("(A;;FA;;;{group_sid})");
        }
        if other {
            sddl += "(A;;FA;;;WD)";
        }
        let wide: Vec<u16> = sddl.encode_utf16().chain(Some(0)).collect();
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: wide is NUL-terminated; descriptor receives a LocalAlloc'd descriptor.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Security { descriptor })
    }
}

/// The string SIDs of the process token's user and primary group.
fn token_sids() -> io::Result<(String, String)> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo handle of this process; token receives a new handle.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let result = (|| {
        let user = token_info(token, TokenUser)?;
        let group = token_info(token, TokenPrimaryGroup)?;
        // SAFETY: GetTokenInformation filled the buffers with a TOKEN_USER and a
        // TOKEN_PRIMARY_GROUP (u64-aligned storage).
        let (user_sid, group_sid) = unsafe {
            (
                (*user.as_ptr().cast::<TOKEN_USER>()).User.Sid,
                (*group.as_ptr().cast::<TOKEN_PRIMARY_GROUP>()).PrimaryGroup,
            )
        };
        Ok((sid_string(user_sid)?, sid_string(group_sid)?))
    })();
    // SAFETY: token is the handle opened above.
    unsafe { CloseHandle(token) };
    result
}

fn token_info(
    token: HANDLE,
    class: windows_sys::Win32::Security::TOKEN_INFORMATION_CLASS,
) -> io::Result<Vec<u64>> {
    let mut len = 0u32;
    // SAFETY: a size query (null buffer, length 0).
    unsafe { GetTokenInformation(token, class, std::ptr::null_mut(), 0, &mut len) };
    let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
    // SAFETY: buf holds at least len writable bytes.
    let ok = unsafe { GetTokenInformation(token, class, buf.as_mut_ptr().cast(), len, &mut len) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(buf)
}

fn sid_string(sid: windows_sys::Win32::Security::PSID) -> io::Result<String> {
    let mut out: windows_sys::core::PWSTR = std::ptr::null_mut();
    // SAFETY: sid points into a token information buffer that is alive; out receives a
    // LocalAlloc'd NUL-terminated string.
    if unsafe { ConvertSidToStringSidW(sid, &mut out) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: out is NUL-terminated UTF-16 from the call above.
    let s = unsafe {
        let len = (0..).take_while(|&i| *out.add(i) != 0).count();
        String::from_utf16_lossy(std::slice::from_raw_parts(out, len))
    };
    // SAFETY: allocated by ConvertSidToStringSidW.
    unsafe { LocalFree(out.cast()) };
    Ok(s)
}

/// A manual-reset event object: the loop's waitable handle for embedding (signalled while the
/// loop's watcher thread holds events the loop's thread has not taken).
pub struct Event(HANDLE);

// SAFETY: an event object is a kernel object; setting, resetting and waiting on it are
// thread-safe system calls, and the handle is closed only in `Drop`.
unsafe impl Send for Event {}
// SAFETY: as above; `&Event` only sets, resets or reads the handle's value.
unsafe impl Sync for Event {}

impl Event {
    /// A new manual-reset event, not signalled.
    pub fn new() -> io::Result<Event> {
        // SAFETY: no security attributes, no name; manual reset, initially not signalled.
        let h = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Event(h))
    }

    pub fn set(&self) {
        // SAFETY: self.0 is an open event handle owned by self.
        unsafe { SetEvent(self.0) };
    }

    pub fn reset(&self) {
        // SAFETY: self.0 is an open event handle owned by self.
        unsafe { ResetEvent(self.0) };
    }

    pub fn raw(&self) -> RawDescriptor {
        self.0 as RawDescriptor
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: self.0 is an open event handle owned by self, closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Peer credentials are a Unix notion (uid/gid): `Unsupported` here.
pub fn peer_credentials(_s: &Stream) -> crate::core::error::Result<super::PeerCredentials> {
    Err(crate::core::error::Error::Unsupported(
        "peer credentials (uid/gid) are not available for named pipes",
    ))
}

/// `current_user_only` is refused at listen on Windows; never reached.
pub fn same_user(_s: &Stream) -> bool {
    false
}

// SPDX-License-Identifier: GPL-2.0

//! Kernel TCP sockets for target drivers (iSCSI).
//!
//! A [`Socket`] owns a `struct socket` created with `sock_create_kern()` in
//! the initial network namespace and releases it on drop. Listening sockets
//! accept connections, connected sockets send and receive bytes. Every call
//! may sleep.
//!
//! Blocking calls honour a receive time-out ([`Socket::set_rcv_timeout`]) so
//! that the owning thread can look at its stop condition regularly, and
//! [`Socket::shutdown`] (callable from any thread) wakes a thread blocked in
//! [`Socket::recv`] or [`Socket::accept`] for good.
//!
//! C header: [`include/linux/net.h`](srctree/include/linux/net.h)

use crate::bindings;
use core::{fmt, mem::size_of, ptr::NonNull};
use kernel::{ffi::c_int, prelude::*};

/// An IPv4 or IPv6 address with a TCP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockAddr {
    /// IPv4 address and port.
    V4([u8; 4], u16),
    /// IPv6 address, port and scope (interface) id.
    V6([u8; 16], u16, u32),
}

impl SockAddr {
    /// The TCP port.
    pub fn port(&self) -> u16 {
        match self {
            Self::V4(_, p) | Self::V6(_, p, _) => *p,
        }
    }

    fn family(&self) -> u32 {
        match self {
            Self::V4(..) => bindings::AF_INET,
            Self::V6(..) => bindings::AF_INET6,
        }
    }

    /// Fills `st` with the C socket address; returns its length.
    fn to_raw(self, st: &mut bindings::__kernel_sockaddr_storage) -> c_int {
        // Both C layouts fit in `sockaddr_storage` and are plain old data, so
        // they are built as values and copied in as bytes.
        let bytes: &mut [u8] = st.as_bytes_mut();
        match self {
            Self::V4(ip, port) => {
                let sin = bindings::sockaddr_in {
                    sin_family: bindings::AF_INET as u16,
                    sin_port: port.to_be(),
                    sin_addr: bindings::in_addr {
                        s_addr: u32::from_ne_bytes(ip),
                    },
                    __pad: [0; 8],
                };
                bytes[..size_of::<bindings::sockaddr_in>()].copy_from_slice(sin.as_bytes());
                size_of::<bindings::sockaddr_in>() as c_int
            }
            Self::V6(ip, port, scope) => {
                let sin6 = bindings::sockaddr_in6 {
                    sin6_family: bindings::AF_INET6 as u16,
                    sin6_port: port.to_be(),
                    sin6_flowinfo: 0,
                    sin6_addr: bindings::in6_addr {
                        in6_u: bindings::in6_addr__bindgen_ty_1 { u6_addr8: ip },
                    },
                    sin6_scope_id: scope,
                };
                bytes[..size_of::<bindings::sockaddr_in6>()].copy_from_slice(sin6.as_bytes());
                size_of::<bindings::sockaddr_in6>() as c_int
            }
        }
    }

    /// Reads a C socket address of family `AF_INET` or `AF_INET6`.
    fn from_raw(st: &bindings::__kernel_sockaddr_storage) -> Result<Self> {
        let bytes = st.as_bytes();
        let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
        let port = u16::from_be_bytes([bytes[2], bytes[3]]);
        if u32::from(family) == bindings::AF_INET {
            let mut ip = [0u8; 4];
            ip.copy_from_slice(&bytes[4..8]);
            Ok(Self::V4(ip, port))
        } else if u32::from(family) == bindings::AF_INET6 {
            // sockaddr_in6: family, port, flowinfo (4), addr (16), scope (4).
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&bytes[8..24]);
            let scope = u32::from_ne_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
            Ok(Self::V6(ip, port, scope))
        } else {
            Err(EAFNOSUPPORT)
        }
    }
}

impl kernel::fmt::Display for SockAddr {
    /// `a.b.c.d:port` or `[v6]:port`, the form iSCSI's TargetAddress uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(ip, port) => write!(f, "{}.{}.{}.{}:{}", ip[0], ip[1], ip[2], ip[3], port),
            Self::V6(ip, port, _) => {
                f.write_str("[")?;
                for i in 0..8 {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{:x}", u16::from_be_bytes([ip[2 * i], ip[2 * i + 1]]))?;
                }
                write!(f, "]:{}", port)
            }
        }
    }
}

/// Byte views of plain C structures (no padding bytes are read uninitialised:
/// the storage is always zero-initialised first).
trait AsBytes: Sized {
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: Implemented only for `repr(C)` plain-old-data structures
        // whose every byte is initialised (built from zeroed values), so
        // viewing them as `size_of::<Self>()` bytes is valid.
        unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(self).cast::<u8>(), size_of::<Self>())
        }
    }
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: As above, and any byte pattern is a valid value of these
        // structures (integers and byte arrays only).
        unsafe {
            core::slice::from_raw_parts_mut(
                core::ptr::from_mut(self).cast::<u8>(),
                size_of::<Self>(),
            )
        }
    }
}
impl AsBytes for bindings::__kernel_sockaddr_storage {}
impl AsBytes for bindings::sockaddr_in {}
impl AsBytes for bindings::sockaddr_in6 {}

/// A kernel TCP socket.
///
/// # Invariants
///
/// `sock` is a socket created by `sock_create_kern()` (or returned by
/// `kernel_accept()`) that this object owns and releases exactly once.
pub struct Socket {
    sock: NonNull<bindings::socket>,
}

// SAFETY: The socket layer serialises calls on one socket with its own locks,
// and `struct socket` is not tied to the creating thread.
unsafe impl Send for Socket {}
// SAFETY: As above: every method is safe to call concurrently (the kernel
// locks the socket); callers serialise what must not interleave (PDUs).
unsafe impl Sync for Socket {}

fn errno(ret: c_int) -> Result<usize> {
    if ret < 0 {
        Err(Error::from_errno(ret))
    } else {
        Ok(ret as usize)
    }
}

impl Socket {
    /// Creates a TCP socket listening on `addr` with room for `backlog`
    /// pending connections. The address is reusable at once after a close
    /// (`SO_REUSEADDR`), so a target can be restarted.
    pub fn listen(addr: SockAddr, backlog: u32) -> Result<Self> {
        let mut raw: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: `init_net` is the initial network namespace, which lives
        // forever; `raw` is a valid out pointer.
        let ret = unsafe {
            bindings::sock_create_kern(
                &raw mut bindings::init_net,
                addr.family() as c_int,
                bindings::sock_type_SOCK_STREAM as c_int,
                bindings::IPPROTO_TCP as c_int,
                &mut raw,
            )
        };
        errno(ret)?;
        let sock = NonNull::new(raw).ok_or(ENOMEM)?;
        // INVARIANT: `sock_create_kern()` succeeded; we own the socket.
        let this = Self { sock };
        // SAFETY: `sk` of a created socket is valid while the socket lives.
        unsafe { bindings::sock_set_reuseaddr((*sock.as_ptr()).sk) };
        let mut st = bindings::__kernel_sockaddr_storage::default();
        let len = addr.to_raw(&mut st);
        // SAFETY: `st` holds a valid socket address of `len` bytes.
        errno(unsafe {
            bindings::kernel_bind(
                this.sock.as_ptr(),
                (&raw mut st).cast::<bindings::sockaddr_unsized>(),
                len,
            )
        })?;
        let backlog = c_int::try_from(backlog).unwrap_or(c_int::MAX);
        // SAFETY: The socket is valid and bound.
        errno(unsafe { bindings::kernel_listen(this.sock.as_ptr(), backlog) })?;
        Ok(this)
    }

    /// Waits for a connection on a listening socket. Returns `EAGAIN` when
    /// the receive time-out passes without one.
    pub fn accept(&self) -> Result<Socket> {
        let mut raw: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: The socket is valid; `raw` is a valid out pointer.
        errno(unsafe { bindings::kernel_accept(self.sock.as_ptr(), &mut raw, 0) })?;
        let sock = NonNull::new(raw).ok_or(ENOMEM)?;
        // INVARIANT: `kernel_accept()` succeeded and gave us the new socket.
        Ok(Socket { sock })
    }

    /// Sets how long [`Socket::recv`] and [`Socket::accept`] wait before
    /// returning `EAGAIN` (`None`: forever), and disables Nagle's algorithm
    /// on connected sockets (iSCSI sends whole PDUs).
    pub fn set_rcv_timeout(&self, ms: Option<u32>) {
        let jiffies = match ms {
            Some(ms) => kernel::time::msecs_to_jiffies(ms) as i64,
            None => i64::MAX,
        };
        // SAFETY: The socket and its `sk` are valid while `self` lives.
        unsafe { bindings::scst_helper_sock_set_rcvtimeo(self.sock.as_ptr(), jiffies as isize) };
    }

    /// Sets how long [`Socket::send`] may block on a full send buffer
    /// before it fails (whole seconds, at least 1), so a peer that stops
    /// reading cannot hold the sending thread forever.
    pub fn set_snd_timeout(&self, secs: u32) {
        // SAFETY: The socket and its `sk` are valid while `self` lives.
        unsafe { bindings::sock_set_sndtimeo((*self.sock.as_ptr()).sk, secs.max(1).into()) };
    }

    /// Disables Nagle's algorithm (`TCP_NODELAY`).
    pub fn set_nodelay(&self) {
        // SAFETY: The socket is a valid TCP socket with a valid `sk`.
        unsafe { bindings::tcp_sock_set_nodelay((*self.sock.as_ptr()).sk) };
    }

    /// Receives up to `buf.len()` bytes, waiting for all of them unless the
    /// time-out passes or the peer closes. `Ok(0)` means the peer closed
    /// (or [`Socket::shutdown`] was called); `EAGAIN` that the time-out
    /// passed with nothing received.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        let mut iov = bindings::kvec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg = bindings::msghdr::default();
        // SAFETY: `iov` describes `buf`, which is valid for writes of its
        // length for the duration of the call; `msg` is a valid header.
        errno(unsafe {
            bindings::kernel_recvmsg(
                self.sock.as_ptr(),
                &mut msg,
                &mut iov,
                1,
                buf.len(),
                bindings::MSG_WAITALL as c_int,
            )
        })
    }

    /// Sends all of `bufs` in order (gathered), as one message. Returns an
    /// error if the connection fails before everything is sent.
    pub fn send(&self, bufs: &[&[u8]]) -> Result {
        const MAX_IOV: usize = 4;
        let mut iov = [const {
            bindings::kvec {
                iov_base: core::ptr::null_mut(),
                iov_len: 0,
            }
        }; MAX_IOV];
        let mut n = 0;
        let mut total = 0usize;
        for b in bufs.iter().filter(|b| !b.is_empty()) {
            let slot = iov.get_mut(n).ok_or(EINVAL)?;
            // The kernel only reads through `iov_base` for a send.
            slot.iov_base = b.as_ptr().cast_mut().cast();
            slot.iov_len = b.len();
            n += 1;
            total = total.checked_add(b.len()).ok_or(EINVAL)?;
        }
        let mut start = 0usize;
        while start < n {
            let mut msg = bindings::msghdr {
                msg_flags: bindings::MSG_NOSIGNAL,
                ..Default::default()
            };
            // SAFETY: `iov[start..n]` describe live slices of `bufs`, which
            // the kernel only reads; `msg` is a valid header.
            let sent = errno(unsafe {
                bindings::kernel_sendmsg(
                    self.sock.as_ptr(),
                    &mut msg,
                    iov.as_mut_ptr().add(start),
                    n - start,
                    total,
                )
            })?;
            if sent == 0 {
                return Err(EPIPE);
            }
            // A short send: skip what went out and send the rest.
            total -= sent.min(total);
            let mut left = sent;
            while start < n && left >= iov[start].iov_len {
                left -= iov[start].iov_len;
                start += 1;
            }
            if start < n && left > 0 {
                // SAFETY: `left < iov_len`, so the new base stays inside the
                // same slice.
                iov[start].iov_base = unsafe { iov[start].iov_base.cast::<u8>().add(left) }.cast();
                iov[start].iov_len -= left;
            }
        }
        Ok(())
    }

    /// The peer's address of a connected socket.
    pub fn peer(&self) -> Result<SockAddr> {
        let mut st = bindings::__kernel_sockaddr_storage::default();
        // SAFETY: `st` is large enough for any address the socket returns.
        errno(unsafe { bindings::kernel_getpeername(self.sock.as_ptr(), (&raw mut st).cast()) })?;
        SockAddr::from_raw(&st)
    }

    /// The local address of a bound or connected socket.
    pub fn local(&self) -> Result<SockAddr> {
        let mut st = bindings::__kernel_sockaddr_storage::default();
        // SAFETY: `st` is large enough for any address the socket returns.
        errno(unsafe { bindings::kernel_getsockname(self.sock.as_ptr(), (&raw mut st).cast()) })?;
        SockAddr::from_raw(&st)
    }

    /// Shuts the connection down in both directions. Threads blocked in
    /// [`Socket::recv`] or [`Socket::accept`] return; later sends fail.
    pub fn shutdown(&self) {
        // SAFETY: The socket is valid; shutting down twice is harmless.
        unsafe {
            bindings::kernel_sock_shutdown(
                self.sock.as_ptr(),
                bindings::sock_shutdown_cmd_SHUT_RDWR,
            )
        };
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own the socket; this is the only
        // release.
        unsafe { bindings::sock_release(self.sock.as_ptr()) };
    }
}

/// Fills `buf` with random bytes from the kernel's CSPRNG (CHAP challenges,
/// target transfer tags).
pub fn random_bytes(buf: &mut [u8]) {
    // SAFETY: `buf` is valid for writes of its length.
    unsafe { bindings::get_random_bytes(buf.as_mut_ptr().cast(), buf.len()) };
}

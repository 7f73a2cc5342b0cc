//! The unsafe corner: TUN devices, socket options, batched UDP I/O, readiness
//! waits and network-namespace entry.
//!
//! Every `unsafe` block in yadokari lives in this crate, each with a
//! `// SAFETY:` comment; only safe wrappers are exported.
//!
//! - [`tun`]: a TUN queue (tun-rs underneath) with the virtio-net header
//!   (`IFF_VNET_HDR`), so the kernel hands us TSO/USO super-packets that are
//!   split on read, and GRO-coalesced batches are written back in one call.
//! - [`udp`]: a UDP socket for UDP-encapsulated ESP (RFC 3948) with
//!   `recvmmsg` + UDP_GRO on receive and UDP_SEGMENT (GSO) on send (quinn-udp
//!   underneath), forced socket buffers and the kernel's drop counter.
//! - [`raw`]: a raw IP socket for ESP as IP protocol 50 (RFC 4303), used
//!   when no NAT is in the way.
//! - [`poll`]: `poll(2)` over a few descriptors plus an eventfd [`poll::Waker`]
//!   so blocked worker threads can be woken for control messages.
//! - [`netns`]: run a closure on a thread inside a named network namespace
//!   (used by tests and by tools that set up two peers in one process).
//! - [`netcfg`]: link/address/route set-up by running `ip` (control path
//!   only, never per packet).
//! - [`privs`]: no core dumps, no new privileges, capabilities reduced to
//!   what the running daemon needs, RLIMIT_NOFILE raised.
//! - [`secmem`]: pages for long-lived secrets, excluded from core dumps and
//!   wiped on drop.
//! - [`files`]: opening configured files without blocking on a FIFO or
//!   following a symbolic link where that would be unsafe.
//! - [`alloc_count`]: a counting global allocator for tests that prove a
//!   path allocates nothing.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod alloc_count;
pub mod files;
pub mod netcfg;
pub mod netns;
pub mod poll;
pub mod privs;
pub mod raw;
pub mod secmem;
pub mod tun;
pub mod udp;

use std::io;

/// Sets an `int` socket option; shared by [`udp`] for options socket2 lacks.
pub(crate) fn setsockopt_int(
    fd: std::os::fd::BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `fd` is a live descriptor for the duration of the borrow; the
    // option value points to a properly sized and aligned c_int on our stack,
    // and its length is passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

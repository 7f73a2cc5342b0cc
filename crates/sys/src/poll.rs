//! Readiness waits for the data-plane threads: `poll(2)` over a handful of
//! descriptors and an eventfd-based [`Waker`].
//!
//! Worker threads block in [`wait_readable`] on their data descriptor (TUN
//! queue or UDP socket) and their own [`Waker`]; the control side wakes them
//! after queueing an SA update, so updates apply within one wake-up instead of
//! one poll timeout.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// An eventfd that another thread writes to wake a thread blocked in
/// [`wait_readable`].
#[derive(Debug)]
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    /// Creates a non-blocking, close-on-exec eventfd.
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; we check the result before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd, is valid and owned by no
        // one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Makes the eventfd readable. Never blocks; a saturated counter (which
    /// would need 2^64-2 wakes without a drain) is ignored because the fd is
    /// readable then anyway.
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: we pass a pointer to an 8-byte value and its length, as
        // eventfd requires; the fd is owned by `self`.
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }

    /// Resets the counter so the fd is no longer readable.
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: we pass a pointer to an 8-byte buffer we own and its length;
        // the fd is non-blocking so this returns at once.
        let _ = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut v as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Bit `i` is set when `fds[i]` is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(pub u64);

impl Ready {
    /// Whether descriptor `i` of the waited set is ready.
    #[must_use]
    pub fn is_ready(self, i: usize) -> bool {
        i < 64 && self.0 & (1 << i) != 0
    }
    /// Whether nothing was ready (timeout).
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

const MAX_FDS: usize = 8;

fn wait(
    fds: &[BorrowedFd<'_>],
    events: libc::c_short,
    timeout: Option<Duration>,
) -> io::Result<Ready> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "too many descriptors",
        ));
    }
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; MAX_FDS];
    for (p, fd) in pfds.iter_mut().zip(fds) {
        p.fd = fd.as_raw_fd();
        p.events = events;
    }
    let ms: libc::c_int = match timeout {
        None => -1,
        Some(d) => d.as_millis().min(i32::MAX as u128) as libc::c_int,
    };
    loop {
        // SAFETY: `pfds` is a valid array of at least `fds.len()` pollfd
        // structs that outlives the call; every fd in it is borrowed (live).
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut ready = 0u64;
        for (i, p) in pfds.iter().take(fds.len()).enumerate() {
            // Errors and hang-ups count as ready so the caller's read reports them.
            if p.revents & (events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                ready |= 1 << i;
            }
        }
        return Ok(Ready(ready));
    }
}

/// Blocks until one of `fds` (at most 8) is readable or `timeout` passes.
pub fn wait_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Ready> {
    wait(fds, libc::POLLIN, timeout)
}

/// Blocks until one of `fds` (at most 8) is writable or `timeout` passes.
pub fn wait_writable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Ready> {
    wait(fds, libc::POLLOUT, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waker_wakes_and_drains() {
        let w = Waker::new().expect("eventfd");
        let r = wait_readable(&[w.as_fd()], Some(Duration::ZERO)).expect("poll");
        assert!(r.is_empty());
        w.wake();
        w.wake();
        let r = wait_readable(&[w.as_fd()], Some(Duration::ZERO)).expect("poll");
        assert!(r.is_ready(0));
        w.drain();
        let r = wait_readable(&[w.as_fd()], Some(Duration::ZERO)).expect("poll");
        assert!(r.is_empty());
    }

    #[test]
    fn too_many_fds_is_an_error() {
        let w = Waker::new().expect("eventfd");
        let fds: Vec<_> = (0..9).map(|_| w.as_fd()).collect();
        assert!(wait_readable(&fds, Some(Duration::ZERO)).is_err());
    }
}

//! Network namespaces by name (the `/var/run/netns/NAME` files `ip netns`
//! creates): run a closure on a fresh thread that has entered one.
//!
//! Descriptors created inside (TUN devices, sockets) stay bound to that
//! namespace after the thread ends, so one process can host two data planes
//! in two namespaces — what the integration tests and the benchmark example do.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Moves the calling thread into the network namespace `name`.
///
/// Only this thread changes namespace (setns with CLONE_NEWNET affects the
/// calling thread). Prefer [`run_in`], which uses a throw-away thread.
pub fn enter(name: &str) -> io::Result<()> {
    if name.is_empty() || name.contains('/') || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad namespace name",
        ));
    }
    let f = File::open(Path::new("/var/run/netns").join(name))?;
    // SAFETY: setns takes an fd we hold open for the duration of the call and
    // a namespace type constant; no memory is passed.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Runs `f` on a new thread that first enters namespace `name`, and returns
/// its result. A panic in `f` is reported as an error.
pub fn run_in<T, F>(name: &str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let name = name.to_owned();
    std::thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || {
            enter(&name)?;
            f()
        })?
        .join()
        .map_err(|_| io::Error::other("thread in namespace panicked"))?
}

/// Throw-away namespaces for this crate's unit tests (traffic stays
/// inside them), deleted on drop even when the test panics.
#[cfg(test)]
pub(crate) mod scratch {
    use std::process::Command;
    use std::sync::atomic::{AtomicU32, Ordering};

    pub(crate) struct Ns(pub String);

    impl Ns {
        /// `None` (the test skips) when we cannot make one, unless
        /// `YK_TESTBED_REQUIRED=1` says it must run.
        pub(crate) fn new(prefix: &str) -> Option<Self> {
            static N: AtomicU32 = AtomicU32::new(0);
            let name = format!(
                "{prefix}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let ok = Command::new("ip")
                .args(["netns", "add", &name])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                assert!(
                    std::env::var("YK_TESTBED_REQUIRED").map_or(true, |v| v != "1"),
                    "cannot create a network namespace"
                );
                eprintln!("skipped: cannot create a network namespace (needs root and ip)");
                return None;
            }
            let ns = Ns(name);
            let up = Command::new("ip")
                .args(["-n", &ns.0, "link", "set", "lo", "up"])
                .status();
            assert!(up.is_ok_and(|s| s.success()), "lo up");
            Some(ns)
        }
    }

    impl Drop for Ns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
}

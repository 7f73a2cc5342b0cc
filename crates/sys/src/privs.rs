//! Process hardening: no core dumps, no new privileges, only the
//! capabilities the running daemon needs, and enough file descriptors.
//!
//! Linux keeps capabilities and the no-new-privileges flag per thread
//! (capabilities(7), prctl(2)); a thread started later inherits its
//! creator's. So the daemon calls [`limit_capabilities`] on its main thread
//! and [`clear_thread_capabilities`] at the start of every helper thread,
//! which needs none. Dumpability is per process.

use std::io;

/// One Linux capability (the numbers of `linux/capability.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap(u32);

impl Cap {
    pub const CHOWN: Cap = Cap(0);
    pub const SETPCAP: Cap = Cap(8);
    pub const NET_BIND_SERVICE: Cap = Cap(10);
    pub const NET_ADMIN: Cap = Cap(12);
    pub const NET_RAW: Cap = Cap(13);

    /// The capability's bit in a 64-bit mask (as `/proc/PID/status` shows).
    #[must_use]
    pub const fn bit(self) -> u64 {
        1 << self.0
    }
}

/// Turns core dumps (and ptrace by non-CAP_SYS_PTRACE processes of the same
/// user) off or on for the whole process (PR_SET_DUMPABLE).
pub fn set_dumpable(on: bool) -> io::Result<()> {
    prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0).map(|_| ())
}

/// Whether the process may dump core.
pub fn is_dumpable() -> io::Result<bool> {
    prctl(libc::PR_GET_DUMPABLE, 0, 0).map(|r| r != 0)
}

/// Sets PR_SET_NO_NEW_PRIVS on the calling thread (inherited by threads and
/// children it starts afterwards): no execve can gain privileges again
/// (setuid bits, file capabilities, root's full set are all capped at what
/// the caller holds).
pub fn set_no_new_privs() -> io::Result<()> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).map(|_| ())
}

/// The calling thread's no-new-privileges flag.
pub fn no_new_privs() -> io::Result<bool> {
    prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0).map(|r| r != 0)
}

/// Reduces the calling thread to `keep`: effective = permitted = `keep`
/// (intersected with what it holds), inheritable and ambient empty, and
/// every other capability removed from the bounding set when the thread
/// may do that (CAP_SETPCAP; without it the bounding set stays, which is
/// harmless under no-new-privileges). Children the thread runs as root get
/// at most `keep`.
pub fn limit_capabilities(keep: &[Cap]) -> io::Result<()> {
    let mask: u64 = keep.iter().fold(0, |m, c| m | c.bit());
    let (eff, perm, _) = get_caps()?;
    // Ambient capabilities would survive execve; none are wanted.
    let _ = prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as _, 0);
    if eff & Cap::SETPCAP.bit() != 0 {
        for cap in 0..=last_cap() {
            if mask & (1 << cap) != 0 {
                continue;
            }
            if prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0)? == 1 {
                prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0)?;
            }
        }
    }
    let keep = mask & perm;
    set_caps(keep, keep, 0)
}

/// Drops every capability of the calling thread (effective, permitted,
/// inheritable). Always allowed: a thread may give up what it holds.
pub fn clear_thread_capabilities() -> io::Result<()> {
    let _ = prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as _, 0);
    set_caps(0, 0, 0)
}

/// The calling thread's (effective, permitted, inheritable) masks.
pub fn capabilities() -> io::Result<(u64, u64, u64)> {
    get_caps()
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (no privilege needed)
/// and returns the new (soft, hard) pair.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if r.rlim_cur < r.rlim_max {
        let want = libc::rlimit {
            rlim_cur: r.rlim_max,
            rlim_max: r.rlim_max,
        };
        // SAFETY: `want` is a valid rlimit read by the kernel only.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != 0 {
            return Err(io::Error::last_os_error());
        }
        r = want;
    }
    Ok((r.rlim_cur, r.rlim_max))
}

/// Sets the calling thread's nice value (setpriority on its thread ID:
/// Linux schedules threads, not processes). Raising it needs no privilege;
/// lowering it again would.
pub fn set_thread_nice(nice: i32) -> io::Result<()> {
    // SAFETY: gettid and setpriority take and return plain integers.
    let r = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The highest capability number this kernel knows.
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
        .min(63)
}

fn prctl(option: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: every option used here takes integer arguments only (no
    // pointers), so the kernel reads nothing from our memory.
    let r = unsafe { libc::prctl(option, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`; version 3 takes two (64 bits).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// _LINUX_CAPABILITY_VERSION_3.
const CAP_V3: u32 = 0x2008_0522;

fn get_caps() -> io::Result<(u64, u64, u64)> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array of the layout version 3
    // expects, both live and writable for the call; pid 0 is this thread.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    Ok((
        join(|d| d.effective),
        join(|d| d.permitted),
        join(|d| d.inheritable),
    ))
}

fn set_caps(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let split = |m: u64| [m as u32, (m >> 32) as u32];
    let (e, p, i) = (split(effective), split(permitted), split(inheritable));
    let data = [0, 1].map(|k| CapData {
        effective: e[k],
        permitted: p[k],
        inheritable: i[k],
    });
    // SAFETY: as in `get_caps`; the kernel only reads `data` here.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_thread_can_drop_everything() {
        // On a thread of its own, so the test process keeps its privileges.
        std::thread::spawn(|| {
            clear_thread_capabilities().unwrap();
            let (e, p, i) = capabilities().unwrap();
            assert_eq!((e, p, i), (0, 0, 0));
            set_no_new_privs().unwrap();
            assert!(no_new_privs().unwrap());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn limit_keeps_only_what_was_asked_and_held() {
        std::thread::spawn(|| {
            let (_, before, _) = capabilities().unwrap();
            limit_capabilities(&[Cap::NET_ADMIN, Cap::NET_RAW]).unwrap();
            let (e, p, i) = capabilities().unwrap();
            let want = before & (Cap::NET_ADMIN.bit() | Cap::NET_RAW.bit());
            assert_eq!((e, p, i), (want, want, 0));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn thread_nice_is_per_thread() {
        let own = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        std::thread::spawn(|| {
            set_thread_nice(7).unwrap();
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
            // Field 19 (after the parenthesised name) is the nice value.
            let after = stat.rsplit_once(')').unwrap().1;
            assert_eq!(after.split_whitespace().nth(16), Some("7"));
        })
        .join()
        .unwrap();
        let after = own.rsplit_once(')').unwrap().1;
        assert_ne!(after.split_whitespace().nth(16), Some("7"));
    }

    #[test]
    fn nofile_soft_limit_reaches_hard() {
        let (soft, hard) = raise_nofile_limit().unwrap();
        assert_eq!(soft, hard);
    }
}

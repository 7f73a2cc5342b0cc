//! Memory for long-lived secrets (pre-shared keys): whole pages of their
//! own, mapped privately, excluded from core dumps (MADV_DONTDUMP), not
//! inherited by a forked child (MADV_WIPEONFORK), kept out of swap where the
//! memlock limit allows (mlock), and wiped before they are unmapped.
//!
//! A page per secret is wasteful for many small keys, so this is for the
//! few secrets that live as long as the configuration, not per-SA keys.

use std::ptr::NonNull;

/// Zero-initialised secret bytes on pages of their own.
pub struct SecretBox {
    ptr: NonNull<u8>,
    len: usize,
    /// Bytes mapped (whole pages, at least one).
    mapped: usize,
}

// SAFETY: the box owns its mapping exclusively; `&SecretBox` gives only
// shared reads and `&mut` is needed to write, as for `Box<[u8]>`.
unsafe impl Send for SecretBox {}
// SAFETY: see above.
unsafe impl Sync for SecretBox {}

impl SecretBox {
    /// `len` zero bytes. Aborts like the global allocator if no memory can
    /// be mapped.
    #[must_use]
    pub fn zeroed(len: usize) -> SecretBox {
        let page = page_size();
        let mapped = len.max(1).div_ceil(page) * page;
        // SAFETY: an anonymous private mapping with no address hint; the
        // kernel chooses where and returns MAP_FAILED or a fresh region.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        let Some(ptr) = (p != libc::MAP_FAILED)
            .then(|| NonNull::new(p.cast::<u8>()))
            .flatten()
        else {
            std::alloc::handle_alloc_error(
                std::alloc::Layout::from_size_align(mapped, page)
                    .unwrap_or(std::alloc::Layout::new::<u8>()),
            );
        };
        // SAFETY: advice and locking on the region we just mapped. All
        // three are best effort: DONTDUMP on a kernel that lacks it or a
        // memlock limit that is too low leave ordinary, still-wiped memory.
        unsafe {
            libc::madvise(p, mapped, libc::MADV_DONTDUMP);
            libc::madvise(p, mapped, libc::MADV_WIPEONFORK);
            libc::mlock(p, mapped);
        }
        SecretBox { ptr, len, mapped }
    }

    /// A copy of `bytes`.
    #[must_use]
    pub fn copy_of(bytes: &[u8]) -> SecretBox {
        let mut b = SecretBox::zeroed(bytes.len());
        b.as_mut_slice().copy_from_slice(bytes);
        b
    }

    /// The first `len` bytes only (the rest is wiped). `len` larger than the
    /// box is clamped.
    pub fn truncate(&mut self, len: usize) {
        let len = len.min(self.len);
        self.as_mut_slice()[len..].fill(0);
        self.len = len;
    }

    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` points to `mapped >= len` initialised (zero-filled
        // by the kernel, then written by us) bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the kernel marked the pages "do not dump" (the `dd` flag of
    /// /proc/self/smaps), for tests.
    #[must_use]
    pub fn excluded_from_dumps(&self) -> bool {
        let start = self.ptr.as_ptr() as usize;
        let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
            return false;
        };
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = a <= start && start < b;
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return flags.split_whitespace().any(|f| f == "dd");
                }
            }
        }
        false
    }
}

impl AsRef<[u8]> for SecretBox {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for SecretBox {
    fn drop(&mut self) {
        let p = self.ptr.as_ptr();
        for i in 0..self.mapped {
            // SAFETY: `i < mapped`, inside our writable mapping. Volatile so
            // the wipe of memory about to be unmapped is not optimised out.
            unsafe { std::ptr::write_volatile(p.add(i), 0) };
        }
        // SAFETY: unmapping exactly the region `zeroed` mapped; nothing
        // borrows it any more (we are in `drop`).
        unsafe {
            libc::munlock(p.cast(), self.mapped);
            libc::munmap(p.cast(), self.mapped);
        }
    }
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox({} bytes, redacted)", self.len)
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|p| *p > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_bytes_and_is_excluded_from_dumps() {
        let mut b = SecretBox::copy_of(b"a secret of some length");
        assert_eq!(b.as_slice(), b"a secret of some length");
        assert!(b.excluded_from_dumps());
        b.truncate(8);
        assert_eq!(b.as_slice(), b"a secret");
        assert_eq!(format!("{b:?}"), "SecretBox(8 bytes, redacted)");
        let empty = SecretBox::zeroed(0);
        assert!(empty.is_empty());
    }
}

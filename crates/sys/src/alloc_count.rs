//! A global allocator that counts allocations per thread, for tests that
//! prove a code path allocates nothing (the data plane's drop paths). Not
//! used by any binary: a test crate opts in with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static UNTRACKED: Cell<u32> = const { Cell::new(0) };
}

/// The system allocator, counting each allocation and reallocation made by
/// the current thread outside an [`Untracked`] section.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

fn note() {
    let _ = UNTRACKED.try_with(|u| {
        if u.get() == 0 {
            let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged. The
// bookkeeping touches only const-initialised thread-local `Cell`s without
// destructors (`try_with` never registers one and never allocates), so it
// cannot re-enter the allocator or fail during thread teardown.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which
        // we pass on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with
        // `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as for `dealloc`, and `new_size` is valid per the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations the current thread has made so far (0 unless
/// [`CountingAlloc`] is the global allocator).
#[must_use]
pub fn allocations() -> u64 {
    ALLOCS.with(Cell::get)
}

/// While alive, the current thread's allocations are not counted (a test
/// double's own bookkeeping, say).
#[derive(Debug)]
pub struct Untracked(());

impl Untracked {
    /// Starts an uncounted section (they nest).
    #[must_use]
    pub fn enter() -> Self {
        UNTRACKED.with(|u| u.set(u.get() + 1));
        Untracked(())
    }
}

impl Drop for Untracked {
    fn drop(&mut self) {
        UNTRACKED.with(|u| u.set(u.get().saturating_sub(1)));
    }
}

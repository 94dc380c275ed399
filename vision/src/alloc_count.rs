//! A counting global allocator for the property tests of parsers of untrusted bytes (camera
//! streams here, uploads and camera files in `api`): a test binary installs [`Counting`] as
//! its `#[global_allocator]` and wraps a parser's run in [`measure`], which reports the
//! largest single allocation and the peak of live bytes made on that thread meanwhile, to
//! be checked against the parser's caps. Only with the `alloc-count` feature (tests).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

/// Counts allocations made on threads that asked for it ([`measure`]).
pub struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            LARGEST.with(|l| l.set(l.get().max(size)));
            LIVE.with(|live| {
                live.set(live.get() + size as isize);
                PEAK.with(|p| p.set(p.get().max(live.get())));
            });
        }
    });
}

fn on_dealloc(size: usize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            LIVE.with(|live| live.set(live.get() - size as isize));
        }
    });
}

// SAFETY: every call is forwarded to `System` as it is; the bookkeeping only touches
// const-initialised thread-locals (no allocation, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as it is.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            on_alloc(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as it is.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            on_alloc(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        // SAFETY: forwarded as it is.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as it is.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            on_dealloc(layout.size());
            on_alloc(new_size);
        }
        moved
    }
}

/// What a run allocated: the largest single allocation, and the peak of live bytes above
/// where it started.
#[derive(Debug)]
pub struct Allocated {
    pub largest: usize,
    pub peak: usize,
}

/// Runs `f`, counting what it allocates on this thread.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Allocated) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let allocated = Allocated {
        largest: LARGEST.with(Cell::get),
        peak: PEAK.with(Cell::get).max(0) as usize,
    };
    (out, allocated)
}

//! Handing freed memory back to the system after a burst of work.
//!
//! glibc's allocator keeps the heap pages a scheduled run or a report freed, so a bot that
//! built one report over months of data would hold that peak for good. After such work vibe
//! asks the allocator to return what is free (`malloc_trim`); elsewhere this does nothing.

/// Returns the allocator's free pages to the system (glibc only).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heap under its locks; it takes no pointers
    // from us and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

//! How much memory the process keeps: glibc malloc's arenas and the free
//! pages it holds on to (no-ops elsewhere than Linux with glibc).
//!
//! glibc gives a multi-threaded process up to eight malloc arenas per core,
//! one per thread that meets contention, and each keeps the memory freed
//! in it for its own next allocations. feedwatch's threads (tokio's workers,
//! the parse pool, one per SQLite connection) each filled an arena of their
//! own: measured by `cargo bench --bench cycle` at N = 500, peak RSS 48–49 MB
//! with the default, 43 MB with two arenas and no slower (see README,
//! Performance).

/// Arenas at most (two cores' worth of allocation without lock contention).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Caps glibc's malloc arenas at two. Call once at process start, before
/// the runtime's threads exist. `MALLOC_ARENA_MAX` in the environment, when
/// set, wins (glibc reads it itself), so an operator can still choose.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a malloc parameter; M_ARENA_MAX takes
        // any positive count and is safe to set while other threads run.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}

/// Gives the heap's free pages back to the system (glibc's `malloc_trim`).
/// For after a large, short-lived structure is dropped: the jieba built for
/// the profile's Chinese text (about 30 MB) otherwise stays as free memory
/// inside the process.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; it takes
    // the arenas' locks itself.
    unsafe {
        libc::malloc_trim(0);
    }
}

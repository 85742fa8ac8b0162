//! How much memory the process keeps: glibc malloc's arenas and the free
//! pages it holds on to (no-ops elsewhere than Linux with glibc).
//!
//! glibc gives a multi-threaded process up to eight malloc arenas per core,
//! one per thread that meets contention, and each keeps the memory freed
//! in it for its own next allocations. feedwatch's threads (tokio's workers,
//! the parse pool, one per SQLite connection) each filled an arena of their
//! own: measured by `cargo bench --bench cycle` at N = 500, peak RSS 48–49 MB
//! with the default, 43 MB with two arenas and no slower. One arena took
//! about 1 MB more off a cycle's peak, but made the cycles at N = 2,000
//! 5–30% slower (contention on its lock; README, Performance).

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
/// For after a large, short-lived structure is dropped (the jieba built for
/// the profile's Chinese text, about 30 MB) or a burst of allocations ends
/// (an ingest cycle): glibc otherwise keeps the freed memory in the process.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; it takes
    // the arenas' locks itself.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Asks the kernel to reclaim the pages of `data`, data embedded in the
/// binary and read once in a while (jieba's compressed dictionary, read
/// when a jieba is built). Read-only data mapped from the binary stays in
/// the process's resident set once touched, 1.6 MB of it for that
/// dictionary; reclaimed, it is read back from the file if touched again.
/// `MADV_PAGEOUT` (Linux 5.4+) never changes what the pages hold, whatever
/// backs them, unlike `MADV_DONTNEED`; it skips pages another process
/// maps too. Elsewhere, or on an older kernel, nothing happens.
pub fn reclaim_read_once(data: &'static [u8]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf only reads a system value.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p > 0 => p as usize,
            _ => return,
        };
        // Only the pages that hold nothing but `data`.
        let start = (data.as_ptr() as usize).div_ceil(page) * page;
        let end = (data.as_ptr() as usize + data.len()) / page * page;
        if end > start {
            // SAFETY: the range lies inside `data`, a 'static mapping that
            // stays valid; MADV_PAGEOUT is a hint that keeps the contents.
            // An error (EINVAL before Linux 5.4) changes nothing.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT);
            }
        }
    }
}

/// Asks the kernel to reclaim the pages of the executable's read-only
/// mappings (its code and constant data) that only start-up touched: the
/// configuration and migration code, and the tables the topic's compile
/// reads, such as the word-break dictionaries for Thai, Khmer, Burmese and
/// Japanese alias terms (about 3 MB, which an English feed never touches
/// again). Touched pages stay in the resident set until memory runs short;
/// reclaimed, those a cycle needs are read back from the file, once. Pages
/// another process maps too are skipped (see [`reclaim_read_once`]). Call
/// when start-up is done; elsewhere than Linux 5.4+, nothing happens.
pub fn reclaim_start_up_pages() {
    #[cfg(target_os = "linux")]
    {
        let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
            return;
        };
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
            return;
        };
        for (start, end) in read_only_mappings_of(&maps, &exe.to_string_lossy()) {
            // SAFETY: the range is one of this process's own read-only file
            // mappings, as the kernel listed it; MADV_PAGEOUT is a hint
            // that keeps the contents, and an error changes nothing.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT);
            }
        }
    }
}

/// The address ranges of `path`'s mappings that are not writable, from the
/// text of `/proc/self/maps` (`start-end perms offset dev inode   path`).
#[cfg(target_os = "linux")]
fn read_only_mappings_of(maps: &str, path: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(6, ' ').collect();
            let [range, perms, _, _, _, mapped] = fields.as_slice() else {
                return None;
            };
            if mapped.trim_start() != path || perms.contains('w') {
                return None;
            }
            let (lo, hi) = range.split_once('-')?;
            Some((
                usize::from_str_radix(lo, 16).ok()?,
                usize::from_str_radix(hi, 16).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// Spans several pages wherever the linker puts it.
    static EMBEDDED: [u8; 64 * 1024] = {
        let mut a = [0u8; 64 * 1024];
        let mut i = 0;
        while i < a.len() {
            a[i] = (i % 251) as u8;
            i += 1;
        }
        a
    };

    #[test]
    fn reclaimed_embedded_data_reads_back_unchanged() {
        let data: &'static [u8] = &EMBEDDED;
        let before: u64 = data.iter().map(|&b| u64::from(b)).sum();
        super::reclaim_read_once(data);
        assert!(data.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        assert_eq!(data.iter().map(|&b| u64::from(b)).sum::<u64>(), before);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_the_executables_read_only_mappings_are_reclaimed() {
        let maps = "\
55d0c0a00000-55d0c0b00000 r--p 00000000 fd:01 42                         /opt/feed watch/bin
55d0c0b00000-55d0c0c00000 r-xp 00100000 fd:01 42                         /opt/feed watch/bin
55d0c0c00000-55d0c0c10000 rw-p 00200000 fd:01 42                         /opt/feed watch/bin
7f0000000000-7f0000100000 r-xp 00000000 fd:01 7                          /usr/lib/libc.so.6
7f0000200000-7f0000300000 rw-p 00000000 00:00 0 
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
";
        assert_eq!(
            super::read_only_mappings_of(maps, "/opt/feed watch/bin"),
            vec![
                (0x55d0_c0a0_0000, 0x55d0_c0b0_0000),
                (0x55d0_c0b0_0000, 0x55d0_c0c0_0000)
            ]
        );
        // And on this process's own maps, the call changes nothing it runs.
        super::reclaim_start_up_pages();
        let data: &'static [u8] = &EMBEDDED;
        assert!(data.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    }
}

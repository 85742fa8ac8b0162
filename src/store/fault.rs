//! Fault points for crash tests, in debug builds only (release builds
//! compile [`point`] to nothing).
//!
//! `Store::commit_poll` and `Store::release_story` call [`point`] between
//! their statements. With `FEEDWATCH_FAULT_POINT=N` in the environment, the
//! N-th point reached in the process prints `fault point N: <name>` to
//! stderr and stops there (the thread sleeps) until the test SIGKILLs the
//! process, so the kill lands inside an open transaction.
//! `FEEDWATCH_FAULT_POINT=trace` prints every point reached instead, so a
//! test can pick its kill points from a real cycle.

/// A statement boundary named `name` (see the module docs).
#[cfg(debug_assertions)]
pub(crate) fn point(name: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    enum Mode {
        Off,
        Trace,
        StopAt(u64),
    }
    static MODE: OnceLock<Mode> = OnceLock::new();
    static REACHED: AtomicU64 = AtomicU64::new(0);
    let mode = MODE.get_or_init(|| match std::env::var("FEEDWATCH_FAULT_POINT") {
        Ok(v) if v == "trace" => Mode::Trace,
        Ok(v) => v.parse().map_or(Mode::Off, Mode::StopAt),
        Err(_) => Mode::Off,
    });
    if matches!(mode, Mode::Off) {
        return;
    }
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    match mode {
        Mode::Trace => eprintln!("fault point {n}: {name}"),
        Mode::StopAt(at) if *at == n => {
            eprintln!("fault point {n}: {name}; stopped here until killed");
            // Bounded: a test that forgot to kill does not leave this forever.
            std::thread::sleep(std::time::Duration::from_secs(120));
            std::process::abort();
        }
        _ => {}
    }
}

/// Release builds have no fault points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn point(_name: &str) {}

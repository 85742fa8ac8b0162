//! The process's plumbing, used by every stage and depending on none: health
//! of the store, the one-daemon lock, logging, malloc's memory, metrics and
//! the network guard, and how many cores the process may use.

pub mod health;
pub mod lock;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod netguard;

/// The cores this process may use (two when the system cannot tell): the
/// parse pool's threads and the store's reading connections follow it.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

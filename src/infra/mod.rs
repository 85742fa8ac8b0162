//! The process's plumbing, used by every stage and depending on none: health
//! of the store, the one-daemon lock, logging, malloc's memory, metrics and
//! the network guard.

pub mod health;
pub mod lock;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod netguard;

//! The ingest stages, in the order a poll runs them: `schedule` picks the due
//! feeds and drives each poll through `fetch` → `parse` → `item` (normalize)
//! → matching → `dedupe` → the store's commit.

pub mod dedupe;
pub mod fetch;
pub mod item;
pub mod parse;
pub mod schedule;

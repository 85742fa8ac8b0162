//! The ingest stages, in the order a poll runs them: `schedule` picks the due
//! feeds and drives each poll through `fetch` → `parse` → `item` (normalize)
//! → matching → `dedupe` → the store's commit. `release` publishes the
//! waiting stories under the posting cap; `operator` carries out the
//! operator's Publish and Retract. Both call the pure `publish` functions
//! and write through the store.

pub mod dedupe;
pub mod fetch;
pub mod item;
pub mod operator;
pub mod parse;
pub mod parse_pool;
pub mod release;
pub mod schedule;

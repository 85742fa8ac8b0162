//! The dedupe stage: which items are new or edited, and which story each
//! published item belongs to.
//!
//! When several outlets carry the same story, the first published item
//! starts a story and later ones join it ("also reported by"), so followers
//! see one post per story. Matching is done on story fingerprints
//! ([`crate::matching::cluster`]) against stories created within a window,
//! and against the items earlier in the same batch.

use std::collections::HashMap;

pub mod index;

use crate::item::Item;
use crate::matching::{Decision, SAME_STORY_THRESHOLD, StoryFingerprint, story_similarity};
use crate::store::{Existing, ItemRecord, StoryAssignment, Verdict};

/// How far back a new item looks for a story to join.
pub const STORY_WINDOW_HOURS: i64 = 72;

/// A story an item could join.
#[derive(Debug, Clone)]
pub struct RecentStory {
    pub id: String,
    pub fingerprint: StoryFingerprint,
}

/// Builds the records to commit. Unchanged items carry no verdict (nothing
/// to write); new and edited items carry their decision, and published ones
/// a story assignment. Items join the `recent` stories or the ones started
/// earlier in this batch; the stories the batch starts are returned with
/// the records.
pub fn assign<'a>(
    evaluated: Vec<(Item, Decision)>,
    existing: &HashMap<String, Existing>,
    recent: impl Iterator<Item = &'a RecentStory> + Clone,
) -> (Vec<ItemRecord>, Vec<RecentStory>) {
    let mut started: Vec<RecentStory> = Vec::new();
    let records = evaluated
        .into_iter()
        .map(|(item, decision)| {
            let stored = existing.get(&item.id);
            if stored.is_some_and(|e| e.content_hash == item.content_hash) {
                return ItemRecord {
                    item,
                    verdict: None,
                };
            }
            let (fingerprint, story) = if decision.publish {
                let fp = StoryFingerprint::new(&item.title, &item.summary, &item.lang);
                let story = match stored.and_then(|e| e.story_id.clone()) {
                    Some(id) => StoryAssignment::Join(id),
                    None => match best_of(
                        best_scored(&fp, recent.clone()),
                        best_scored(&fp, started.iter()),
                    ) {
                        Some(id) => StoryAssignment::Join(id),
                        None => {
                            started.push(RecentStory {
                                id: item.id.clone(),
                                fingerprint: fp.clone(),
                            });
                            StoryAssignment::New
                        }
                    },
                };
                (serde_json::to_string(&fp).ok(), story)
            } else {
                (None, StoryAssignment::None)
            };
            let verdict = Verdict {
                publish: decision.publish,
                score: decision.score,
                // Off-topic items keep the compact decision (score and the
                // one-line reasons); `score` and the dashboard's playground
                // rebuild the full explanation from the rules on demand.
                explanation: if decision.publish {
                    serde_json::to_string(&decision.explanation).unwrap_or_default()
                } else {
                    String::new()
                },
                reasons: decision.explanation.reasons(),
                fingerprint,
                story,
            };
            ItemRecord {
                item,
                verdict: Some(verdict),
            }
        })
        .collect();
    (records, started)
}

/// The recent story `fp` belongs to, if any.
pub fn best_story<'a>(
    fp: &StoryFingerprint,
    recent: impl Iterator<Item = &'a RecentStory>,
) -> Option<String> {
    best_scored(fp, recent).map(|(_, id)| id)
}

/// The most similar story at or above the threshold, with its similarity.
fn best_scored<'a>(
    fp: &StoryFingerprint,
    recent: impl Iterator<Item = &'a RecentStory>,
) -> Option<(f64, String)> {
    recent
        .map(|s| (story_similarity(fp, &s.fingerprint), s))
        .filter(|(sim, _)| *sim >= SAME_STORY_THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(sim, s)| (sim, s.id.clone()))
}

/// The better of two candidates (the first on a tie).
fn best_of(a: Option<(f64, String)>, b: Option<(f64, String)>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) if b.0 > a.0 => Some(b.1),
        (Some(a), _) => Some(a.1),
        (None, b) => b.map(|b| b.1),
    }
}

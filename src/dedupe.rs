//! The dedupe stage: which items are new or edited, and which story each
//! published item belongs to.
//!
//! When several outlets carry the same story, the first published item
//! starts a story and later ones join it ("also reported by"), so followers
//! see one post per story. Matching is done on story fingerprints
//! ([`crate::matching::cluster`]) against stories created within a window,
//! and against the items earlier in the same batch.

use std::collections::HashMap;

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
/// a story assignment. `recent` grows with the stories this batch starts.
pub fn assign(
    evaluated: Vec<(Item, Decision)>,
    existing: &HashMap<String, Existing>,
    recent: &mut Vec<RecentStory>,
) -> Vec<ItemRecord> {
    evaluated
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
                    None => match best_story(&fp, recent) {
                        Some(id) => StoryAssignment::Join(id),
                        None => {
                            recent.push(RecentStory {
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
                explanation: serde_json::to_string(&decision.explanation).unwrap_or_default(),
                reasons: decision.explanation.reasons(),
                fingerprint,
                story,
                held: None,
            };
            ItemRecord {
                item,
                verdict: Some(verdict),
            }
        })
        .collect()
}

/// The recent story `fp` belongs to, if any.
pub fn best_story(fp: &StoryFingerprint, recent: &[RecentStory]) -> Option<String> {
    recent
        .iter()
        .map(|s| (story_similarity(fp, &s.fingerprint), s))
        .filter(|(sim, _)| *sim >= SAME_STORY_THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s.id.clone())
}

/// Parses stored fingerprints, skipping any that no longer parse.
pub fn recent_stories(rows: Vec<(String, String)>) -> Vec<RecentStory> {
    rows.into_iter()
        .filter_map(|(id, json)| {
            serde_json::from_str(&json)
                .ok()
                .map(|fingerprint| RecentStory { id, fingerprint })
        })
        .collect()
}

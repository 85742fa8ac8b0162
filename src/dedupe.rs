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
use crate::matching::{Decision, StoryFingerprint, StoryIndex, StoryMatch};
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
/// a story assignment (with the matcher's reasons when joining). `recent`
/// grows with the stories this batch starts.
pub fn assign(
    evaluated: Vec<(Item, Decision)>,
    existing: &HashMap<String, Existing>,
    recent: &mut StoryIndex,
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
            let mut story_reasons = None;
            let (fingerprint, story) = if decision.publish {
                let fp = fingerprint_of(&item);
                let story = match stored.and_then(|e| e.story_id.clone()) {
                    Some(id) => StoryAssignment::Join(id),
                    None => match recent.best(&fp) {
                        Some((id, m)) => {
                            story_reasons = Some(m.reasons());
                            StoryAssignment::Join(id)
                        }
                        None => {
                            recent.insert(item.id.clone(), fp.clone());
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
                story_reasons,
            };
            ItemRecord {
                item,
                verdict: Some(verdict),
            }
        })
        .collect()
}

/// An item's story fingerprint: title, lead, language and its own date.
pub fn fingerprint_of(item: &Item) -> StoryFingerprint {
    StoryFingerprint::dated(&item.title, &item.summary, &item.lang, item.published)
}

/// The recent story `fp` belongs to, if any, with the matcher's verdict.
pub fn best_story(fp: &StoryFingerprint, recent: &StoryIndex) -> Option<(String, StoryMatch)> {
    recent.best(fp)
}

/// An index of recent stories (see [`recent_stories`]).
pub fn story_index(recent: Vec<RecentStory>) -> StoryIndex {
    StoryIndex::from_stories(recent.into_iter().map(|s| (s.id, s.fingerprint)))
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

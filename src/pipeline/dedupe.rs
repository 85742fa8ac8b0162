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

use crate::matching::{Decision, StoryFingerprint, StoryIndex, StoryMatch};
use crate::model::Item;
use crate::model::{Existing, ItemRecord, StoryAssignment, Verdict};

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
/// a story assignment (with the matcher's reasons when joining). Items join
/// the `recent` stories or the ones started earlier in this batch; the
/// stories the batch starts are returned with the records, so the caller
/// adds them to its index only once they are committed.
pub fn assign(
    evaluated: Vec<(Item, Decision)>,
    existing: &HashMap<String, Existing>,
    recent: &StoryIndex,
) -> (Vec<ItemRecord>, Vec<RecentStory>) {
    let mut started = StoryIndex::new();
    let mut started_list: Vec<RecentStory> = Vec::new();
    let records = evaluated
        .into_iter()
        .map(|(item, decision)| {
            let stored = existing.get(&item.id);
            if stored.is_some_and(|e| e.unchanged(&item.content_hash)) {
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
                    None => match best_of(recent.best(&fp), started.best(&fp)) {
                        Some((id, m)) => {
                            story_reasons = Some(m.reasons());
                            StoryAssignment::Join(id)
                        }
                        None => {
                            started.insert(item.id.clone(), fp.clone());
                            started_list.push(RecentStory {
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
                story_reasons,
                held: None,
            };
            ItemRecord {
                item,
                verdict: Some(verdict),
            }
        })
        .collect();
    (records, started_list)
}

/// The candidate with more evidence (the first on a tie).
fn best_of(
    a: Option<(String, StoryMatch)>,
    b: Option<(String, StoryMatch)>,
) -> Option<(String, StoryMatch)> {
    match (a, b) {
        (Some(a), Some(b)) if b.1.evidence > a.1.evidence => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// An item's story fingerprint: title, lead, language and its own date.
pub fn fingerprint_of(item: &Item) -> StoryFingerprint {
    StoryFingerprint::dated(&item.title, &item.summary, &item.lang, item.published)
}

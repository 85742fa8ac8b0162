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
    evaluated: Vec<(Item, Scored)>,
    existing: &HashMap<String, Existing>,
    recent: &StoryIndex,
) -> (Vec<ItemRecord>, Vec<RecentStory>) {
    let mut started = StoryIndex::new();
    let mut started_list: Vec<RecentStory> = Vec::new();
    let records = evaluated
        .into_iter()
        .map(|(item, scored)| {
            let stored = existing.get(&item.id);
            if stored.is_some_and(|e| e.unchanged(&item.content_hash)) {
                return ItemRecord {
                    item,
                    verdict: None,
                };
            }
            let mut story_reasons = None;
            let (fingerprint, story) = if let Scored::Publish {
                fingerprint: fp, ..
            } = &scored
            {
                let fp: &StoryFingerprint = fp;
                let story = match stored.and_then(|e| e.story_id.clone()) {
                    Some(id) => StoryAssignment::Join(id),
                    None => match best_of(recent.best(fp), started.best(fp)) {
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
                (serde_json::to_string(fp).ok(), story)
            } else {
                (None, StoryAssignment::None)
            };
            let (publish, score, explanation, reasons) = match scored {
                Scored::Publish { decision, .. } => (
                    true,
                    decision.score,
                    serde_json::to_string(&decision.explanation).unwrap_or_default(),
                    decision.explanation.reasons(),
                ),
                Scored::Skip { score, reasons } => (false, score, String::new(), reasons),
            };
            let verdict = Verdict {
                publish,
                score,
                explanation,
                reasons,
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

/// The topic's decision on an item, as far as its commit needs it.
///
/// An item the topic does not publish keeps only its score and one-line
/// reasons, as it is stored (the compact decision: `score` and the
/// dashboard's playground rebuild the full explanation from the rules on
/// demand). Scoring makes this form at once, so the polls waiting for the
/// writer do not each hold every off-topic item's explanation: its rule
/// hits and top terms cost a few hundred bytes an item (README,
/// Performance).
#[derive(Debug, Clone)]
pub enum Scored {
    /// To publish: the full explanation is stored with the item, and its
    /// story fingerprint is made with the decision, on the CPU stage's
    /// threads, rather than by the writer under the commit lock.
    Publish {
        decision: Box<Decision>,
        fingerprint: Box<StoryFingerprint>,
    },
    /// Not to publish (off topic, or held by the age gate).
    Skip { score: f64, reasons: String },
}

impl Scored {
    /// `item`'s decision as its commit needs it.
    pub fn of(decision: Decision, item: &Item) -> Scored {
        if decision.publish {
            Scored::Publish {
                decision: Box::new(decision),
                fingerprint: Box::new(fingerprint_of(item)),
            }
        } else {
            Scored::skip(&decision)
        }
    }

    pub fn publish(&self) -> bool {
        matches!(self, Scored::Publish { .. })
    }

    /// The story fingerprint of an item to publish.
    pub fn fingerprint(&self) -> Option<&StoryFingerprint> {
        match self {
            Scored::Publish { fingerprint, .. } => Some(fingerprint),
            Scored::Skip { .. } => None,
        }
    }

    /// Not to be published after all (the age gate holds it): kept as the
    /// compact decision, with the reasons the topic gave.
    pub fn hold(&mut self) {
        if let Scored::Publish { decision, .. } = self {
            *self = Scored::skip(decision);
        }
    }

    /// The compact form of `decision`, whatever it decided.
    fn skip(decision: &Decision) -> Scored {
        Scored::Skip {
            score: decision.score,
            reasons: decision.explanation.reasons(),
        }
    }
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

#[cfg(test)]
mod scored_tests {
    use super::Scored;
    use crate::matching::{Candidate, RuleConfig, Topic, TopicConfig};

    fn topic() -> Topic {
        let cfg = TopicConfig {
            name: "t".into(),
            rule: vec![RuleConfig {
                name: "core".into(),
                query: "taiwan interpol".into(),
                weight: 0.6,
                admit: true,
            }],
            ..TopicConfig::default()
        };
        Topic::compile(&cfg, &["Taiwan is kept out of INTERPOL.".into()])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn decide(t: &Topic, title: &str) -> crate::matching::Decision {
        t.evaluate(&Candidate {
            title,
            ..Candidate::default()
        })
    }

    /// What the commit stores comes out of a scored item as it came out of
    /// the full decision: the full explanation only for an item to publish,
    /// and the score and one-line reasons for every item, held ones too.
    #[test]
    fn scored_items_keep_what_their_commit_stores() {
        let t = topic();
        let on = decide(&t, "Taiwan and INTERPOL");
        let off = decide(&t, "Weather in Lisbon");
        assert!(on.publish && !off.publish);
        let (on_reasons, off_reasons) = (on.explanation.reasons(), off.explanation.reasons());
        let item: crate::model::Item = serde_json::from_value(serde_json::json!({
            "id": "a", "feed_url": "https://f.example/rss", "source": "F",
            "guid": "a", "link": "https://f.example/a", "title": "Taiwan and INTERPOL",
            "summary": "", "content": "", "lang": "en",
            "published": "2026-11-01T00:00:00Z", "updated": "2026-11-01T00:00:00Z",
            "content_hash": "h", "categories": [], "author": "",
        }))
        .unwrap_or_else(|e| panic!("{e}"));

        let mut held = Scored::of(on.clone(), &item);
        match Scored::of(on.clone(), &item) {
            Scored::Publish {
                decision,
                fingerprint,
            } => {
                assert_eq!(decision.explanation, on.explanation);
                // The fingerprint the writer would have made.
                assert_eq!(*fingerprint, super::fingerprint_of(&item));
            }
            other => panic!("{other:?}"),
        }
        match Scored::of(off.clone(), &item) {
            Scored::Skip { score, reasons } => {
                assert_eq!((score, reasons.as_str()), (off.score, off_reasons.as_str()));
            }
            other => panic!("{other:?}"),
        }
        assert!(held.publish());
        held.hold();
        assert!(!held.publish());
        match held {
            Scored::Skip { score, reasons } => {
                assert_eq!((score, reasons.as_str()), (on.score, on_reasons.as_str()));
            }
            other => panic!("{other:?}"),
        }
        // Holding what is not published changes nothing.
        let mut skipped = Scored::of(off, &item);
        skipped.hold();
        assert!(matches!(skipped, Scored::Skip { ref reasons, .. } if *reasons == off_reasons));
    }
}

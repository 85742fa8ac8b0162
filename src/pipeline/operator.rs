//! The operator's decisions from the dashboard's Review list (issue 11 §6):
//! Publish an item the filter or the age gate kept back, and Retract a
//! published story (the same function `feedwatch remove` uses).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::fediverse::Composer;
use crate::matching::Decision;
use crate::model::{Publication, StoredItem, StoryAssignment};
use crate::pipeline::schedule::{Ingest, Live};
use crate::store::{Store, StoreError};

/// What an operator's Publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewPublish {
    /// A new story led by the item was published (entry, Note, deliveries).
    Published {
        story_id: String,
    },
    /// The item reports a story already stored, which it joined (its Note
    /// names the new outlet when that story is published).
    Joined {
        story_id: String,
    },
    /// The item is already in a story: nothing was written again.
    AlreadyPublished,
    NoSuchItem,
    /// No post can be composed from the item (e.g. no link); nothing written.
    NotComposable,
}

impl Ingest {
    /// Publishes the stored item `item_id` because the operator (`by`)
    /// decided so, through the path an automatic decision takes: story
    /// assignment against the recent stories, then the story's entry, its
    /// `Create` and the deliveries to followers (or a joined story's
    /// outlets `Update`) with the item's verdict and its label 2, in one
    /// transaction, under the commit lock like a poll.
    ///
    /// The posting cap and the age gate do not apply: both exist to keep
    /// the AUTOMATIC output at a pace and freshness followers accept, and
    /// here a person looked at this one item and chose to send it now, so
    /// it goes out at once instead of waiting in the queue (where the age
    /// gate would drop it as stale). It still counts towards the cap for
    /// the automatic stories of the hour (`stories.posted_at`).
    pub async fn publish_reviewed(
        &self,
        item_id: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ReviewPublish, StoreError> {
        let live = self.live();
        // Scoring and composing (summary, post, Note) are the slow part and
        // need only the item: done before the commit lock, so polls are not
        // kept waiting behind them. Under the lock the item is read again;
        // an edit that landed in between is composed again there (a rare
        // race), so what is published is always the stored text.
        let Some(read) = self.store.stored_item(item_id).await? else {
            return Ok(ReviewPublish::NoSuchItem);
        };
        if self.already_in_story(item_id).await? {
            return Ok(ReviewPublish::AlreadyPublished);
        }
        let mut composed = self.compose_reviewed(&live, &read, now).await?;
        let _serialized = self.commit_lock.lock().await;
        let Some(stored) = self.store.stored_item(item_id).await? else {
            return Ok(ReviewPublish::NoSuchItem);
        };
        if self.already_in_story(item_id).await? {
            return Ok(ReviewPublish::AlreadyPublished);
        }
        if stored != read {
            composed = self.compose_reviewed(&live, &stored, now).await?;
        }
        let (decision, new_story) = composed;
        // As a new item (no `existing`), so assignment gives a verdict.
        let (mut records, started) = self
            .stories
            .assign(
                &self.store,
                vec![(
                    stored.item.clone(),
                    super::dedupe::Scored::of(decision, &stored.item),
                )],
                &HashMap::new(),
                now,
            )
            .await?;
        let Some(verdict) = records.pop().and_then(|r| r.verdict) else {
            return Ok(ReviewPublish::NotComposable);
        };
        let publication: Option<Publication> = match &verdict.story {
            StoryAssignment::New => {
                let Some(p) = new_story else {
                    return Ok(ReviewPublish::NotComposable);
                };
                Some(p)
            }
            StoryAssignment::Join(story) => {
                match self.store.story_for_outlets(story).await? {
                    Some((entry, mut outlets, categories)) => {
                        let name = &stored.item.outlet;
                        if outlets.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                            None
                        } else {
                            outlets.push(name.clone());
                            live.publisher
                                .outlets_update(&entry, &categories, &outlets, now)
                        }
                    }
                    None => None, // that story is not published: nothing to update
                }
            }
            StoryAssignment::None => return Ok(ReviewPublish::NotComposable),
        };
        if !self
            .store
            .publish_reviewed(item_id, &verdict, publication.as_ref(), by, now)
            .await?
        {
            return Ok(ReviewPublish::AlreadyPublished);
        }
        self.stories.committed(started, now);
        let outcome = match verdict.story {
            StoryAssignment::Join(story_id) => ReviewPublish::Joined { story_id },
            _ => {
                self.metrics.items_published.inc();
                ReviewPublish::Published {
                    story_id: item_id.to_string(),
                }
            }
        };
        if publication.is_some() {
            if let Some(f) = self.settings.fediverse() {
                f.wake_worker();
            }
        }
        self.published.notify_waiters();
        Ok(outcome)
    }

    /// Whether the item is already in a story (published, or joined one).
    async fn already_in_story(&self, item_id: &str) -> Result<bool, StoreError> {
        let existing = self.store.existing(&[item_id]).await?;
        Ok(existing.get(item_id).is_some_and(|e| e.story_id.is_some()))
    }

    /// The operator's decision on `stored` (the score overridden) and, were
    /// it to start a story, that story composed: everything of a reviewed
    /// Publish that needs no lock. `None`: no post can be composed.
    async fn compose_reviewed(
        &self,
        live: &Live,
        stored: &StoredItem,
        now: DateTime<Utc>,
    ) -> Result<(Decision, Option<Publication>), StoreError> {
        let mut decision = crate::pipeline::schedule::decide(&live.topic, &stored.item);
        // The operator's decision overrides the score (and the age gate).
        decision.publish = true;
        let article = match (&stored.item.link, live.fetch_articles) {
            (Some(link), true) => self.store.article_page(link).await?.flatten(),
            _ => None,
        };
        // The lead item's own date, never later than now, as a release.
        let date = crate::model::own_date(&stored.item, now).min(now);
        let outlets = vec![stored.item.outlet.clone()];
        let story = live
            .publisher
            .new_story(&stored.item, &outlets, article.as_deref(), date);
        Ok((decision, story))
    }
}

/// What a retraction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retraction {
    /// Its entry is gone, its page answers 410, followers are sent a Delete.
    Removed,
    /// It was removed before: nothing was sent again.
    AlreadyRemoved,
    /// No published story has that id.
    NotPublished,
}

/// Retracts the published story `story_id` everywhere it was published:
/// its feed entry goes, the story is marked removed (410) and, when
/// federating, its `Delete` is queued for every follower, in one
/// transaction. Used by `feedwatch remove` and the dashboard's Retract;
/// the caller then rewrites the feed files and has the Delete delivered.
/// `composer` (when federating) composes the `Delete` as data; nothing
/// here sends.
pub async fn retract_story(
    store: &Store,
    composer: Option<&Composer>,
    story_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Retraction> {
    use anyhow::Context;
    if store.story_removed(story_id).await? {
        return Ok(Retraction::AlreadyRemoved);
    }
    let delete = match composer {
        Some(f) => Some(
            f.prepare_delete(story_id, now)
                .context("preparing the Delete")?,
        ),
        None => None,
    };
    Ok(
        if store.remove_story(story_id, delete.as_ref(), now).await? {
            Retraction::Removed
        } else {
            Retraction::NotPublished
        },
    )
}

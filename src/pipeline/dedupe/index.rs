//! The story fingerprints of the last [`STORY_WINDOW_HOURS`], kept in memory.
//!
//! Loaded from the store once (on first use, so also after a restart),
//! appended when a commit starts stories, and expired as the window moves on.
//! A poll therefore never re-reads or re-decodes the fingerprints: its dedupe
//! cost depends on its own items, not on how many stories exist.
//!
//! Writers hold the ingest commit lock (assignment and commit are serialised
//! for polls that have new or edited items to publish); readers that only
//! look (the article prefetch) take the read side of an `RwLock` that is
//! never held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use super::{RecentStory, STORY_WINDOW_HOURS, assign};
use crate::matching::{StoryFingerprint, StoryMatch};
use crate::model::Item;
use crate::model::{Existing, ItemRecord};
use crate::store::{Store, StoreError};

/// The in-memory index of recent stories; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct StoryIndex {
    inner: Arc<OnceCell<RwLock<Window>>>,
}

/// The matcher's inverted index over the window's stories (entities, names,
/// numbers, title features), filed oldest first, and each one's creation
/// time in the same order. The index holds the only copy of each
/// fingerprint.
#[derive(Default)]
struct Window {
    created: VecDeque<DateTime<Utc>>,
    index: crate::matching::StoryIndex,
}

impl Window {
    fn new(stories: Vec<(DateTime<Utc>, RecentStory)>) -> Window {
        let (created, stories): (VecDeque<_>, Vec<_>) = stories
            .into_iter()
            .map(|(at, s)| (at, (s.id, s.fingerprint)))
            .unzip();
        Window {
            created,
            index: crate::matching::StoryIndex::from_stories(stories),
        }
    }

    /// Drops the stories that left the window. The inverted index has no
    /// removal, so it is rebuilt, only when something expired: once per
    /// expiry, not once per poll.
    fn expire(&mut self, now: DateTime<Utc>) {
        let cutoff = cutoff(now);
        let mut expired = 0;
        while self.created.front().is_some_and(|at| *at < cutoff) {
            self.created.pop_front();
            expired += 1;
        }
        if expired > 0 {
            self.index = std::mem::take(&mut self.index).without_first(expired);
        }
    }
}

fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::hours(STORY_WINDOW_HOURS)
}

impl StoryIndex {
    pub fn new() -> StoryIndex {
        StoryIndex::default()
    }

    /// Loads the window from the store the first time; later calls return at once.
    async fn window(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<&RwLock<Window>, StoreError> {
        self.inner
            .get_or_try_init(|| async {
                let rows = store.recent_story_fingerprints_at(cutoff(now)).await?;
                let mut stories = Vec::with_capacity(rows.len());
                // The store answers newest first; the window keeps oldest first.
                for (id, json, at) in rows.into_iter().rev() {
                    match serde_json::from_str::<StoryFingerprint>(&json) {
                        Ok(fingerprint) => stories.push((at, RecentStory { id, fingerprint })),
                        Err(e) => tracing::warn!(story.id = %id, error = %e, "stored story fingerprint does not parse; the story cannot be joined"),
                    }
                }
                tracing::debug!(stories = stories.len(), "story index loaded");
                Ok::<_, StoreError>(RwLock::new(Window::new(stories)))
            })
            .await
    }

    /// The recent story an item with this fingerprint would join.
    pub async fn best_story(
        &self,
        store: &Store,
        fp: &StoryFingerprint,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, StoryMatch)>, StoreError> {
        let window = self.window(store, now).await?;
        let mut w = window
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.expire(now);
        Ok(w.index.best(fp))
    }

    /// [`assign`] against the window. Call with the commit lock held, and
    /// [`StoryIndex::committed`] with the returned stories once the poll
    /// is committed.
    pub async fn assign(
        &self,
        store: &Store,
        evaluated: Vec<(Item, super::Scored)>,
        existing: &HashMap<String, Existing>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<ItemRecord>, Vec<RecentStory>), StoreError> {
        let window = self.window(store, now).await?;
        let mut w = window
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.expire(now);
        Ok(assign(evaluated, existing, &w.index))
    }

    /// Adds the stories a committed poll started (created at `at`), and
    /// drops the ones that left the window.
    pub fn committed(&self, started: Vec<RecentStory>, at: DateTime<Utc>) {
        let Some(window) = self.inner.get() else {
            return; // not loaded yet: the first load reads them from the store
        };
        let mut w = window
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for s in started {
            w.index.insert(s.id, s.fingerprint);
            w.created.push_back(at);
        }
        w.expire(at);
    }

    /// Number of stories held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.inner.get().map_or(0, |w| {
            w.read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .created
                .len()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCAM: &str = "Taiwan brings back 55 nationals from Myanmar scam compounds";
    const SPAIN: &str = "Spain extradites 94 Taiwanese to China";

    fn story(id: &str, title: &str) -> RecentStory {
        RecentStory {
            id: id.into(),
            fingerprint: StoryFingerprint::new(title, "", "en"),
        }
    }

    fn joins(w: &Window, title: &str) -> Option<String> {
        w.index
            .best(&StoryFingerprint::new(title, "", "en"))
            .map(|(id, _)| id)
    }

    #[test]
    fn stories_leave_the_window_oldest_first_and_are_not_joined_after() {
        let now = Utc::now();
        let old = now - chrono::Duration::hours(STORY_WINDOW_HOURS + 1);
        let recent = now - chrono::Duration::hours(1);
        let mut w = Window::new(vec![(old, story("a", SCAM)), (recent, story("b", SPAIN))]);
        assert_eq!(joins(&w, SCAM).as_deref(), Some("a"));
        w.expire(recent);
        assert_eq!(w.created.len(), 2, "nothing left the window yet");
        w.expire(now);
        assert_eq!(w.created.len(), 1);
        assert_eq!(w.index.len(), 1);
        assert_eq!(joins(&w, SCAM), None);
        assert_eq!(joins(&w, SPAIN).as_deref(), Some("b"));
    }
}

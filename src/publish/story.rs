//! The summarize stage: from a story's lead item to its feed entry and its
//! Fediverse post, ready to be committed with the story (transactional
//! outbox). Pure apart from the clock the caller passes in.

use chrono::{DateTime, Utc};
use url::Url;

use crate::fediverse::Composer;
use crate::model::Item;
use crate::model::{FeedEntryRow, Publication, StoryPost};
use crate::publish::post::{PostInput, PostOptions, compose_post};
use crate::summary::{SummaryInput, SummaryOptions, summarize};

/// What publishing needs to know, built once from the config.
#[derive(Clone)]
pub struct Publisher {
    pub base_url: Url,
    pub summary: SummaryOptions,
    pub content_warning: Option<String>,
    /// Configured for the topic; every post carries them first.
    pub hashtags: Vec<String>,
    /// The topic profile's top terms, which rank summary sentences.
    pub topic_terms: Vec<String>,
    /// Composes the Fediverse activities as data (no network handle; the
    /// store writes them, the delivery worker sends them). `None` when
    /// federation is off: entries are still published to the feed.
    pub composer: Option<Composer>,
    /// `[publish] update_on_new_outlet`.
    pub update_on_new_outlet: bool,
}

impl Publisher {
    /// The story's own page; the Note's `url` and the feed entry's id.
    pub fn story_url(&self, story_id: &str) -> Url {
        let mut u = self.base_url.clone();
        let path = format!("{}/stories/{story_id}", u.path().trim_end_matches('/'));
        u.set_path(&path);
        u
    }

    /// `outlets`: every outlet of the story (the lead's is put first in any
    /// case; empty: the lead's only).
    fn draft(
        &self,
        item: &Item,
        outlets: &[String],
        article_text: Option<&str>,
        published: DateTime<Utc>,
        updated: DateTime<Utc>,
    ) -> Result<(FeedEntryRow, StoryPost), String> {
        let summary = summarize(
            &SummaryInput {
                title: &item.title,
                description: Some(item.summary.as_str()).filter(|s| !s.is_empty()),
                content: Some(item.content.as_str()).filter(|s| !s.is_empty()),
                article_text,
                language: &item.lang,
            },
            &self.topic_terms,
            &self.summary,
        );
        let story_url = self.story_url(&item.id);
        let link = item.link.clone().unwrap_or_else(|| story_url.to_string());
        let tag_base = {
            let mut u = self.base_url.clone();
            let path = format!("{}/tags/", u.path().trim_end_matches('/'));
            u.set_path(&path);
            u.to_string()
        };
        // The lead's outlet first, even when its item has no link (the
        // store lists only linked items); compose_post drops repeats.
        let mut sources = vec![item.outlet.clone()];
        sources.extend(outlets.iter().cloned());
        let post = compose_post(
            &PostInput {
                title: &item.title,
                summary: &summary.text,
                sources: &sources,
                link: &link,
                language: &item.lang,
                topic_hashtags: &self.hashtags,
                item_hashtags: &item.categories,
                spoiler_text: self.content_warning.as_deref(),
            },
            &PostOptions::new(tag_base),
        )
        .map_err(|e| e.to_string())?;
        let entry = FeedEntryRow {
            story_id: item.id.clone(),
            title: item.title.clone(),
            summary: summary.text,
            link,
            lang: post.language.clone(),
            hashtags: post.hashtags.clone(),
            post_html: post.html.clone(),
            post_text: post.text.clone(),
            spoiler_text: post.spoiler_text.clone(),
            published_at: published,
            updated_at: updated,
            revision: 1,
        };
        let story = StoryPost {
            story_id: item.id.clone(),
            page_url: story_url,
            html: post.html,
            text: post.text,
            language: post.language,
            hashtags: post.hashtags,
            sensitive_cw: post.spoiler_text,
            published,
            updated: (updated > published).then_some(updated),
        };
        Ok((entry, story))
    }

    /// A new story led by `item`, published at `now`; its post names every
    /// outlet in `outlets` (the lead's first: those that joined the story
    /// while it waited are listed from the start).
    pub fn new_story(
        &self,
        item: &Item,
        outlets: &[String],
        article_text: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<Publication> {
        match self.draft(item, outlets, article_text, now, now) {
            Ok((entry, story)) => {
                let activity = self.composer.as_ref().and_then(|f| {
                    f.prepare_create(&story)
                        .map_err(|e| tracing::error!(item.id = %item.id, error = %e, "cannot prepare the Create"))
                        .ok()
                });
                Some(Publication::New { entry, activity })
            }
            Err(e) => {
                tracing::warn!(item.id = %item.id, error = %e, "story not published: cannot compose its post");
                None
            }
        }
    }

    /// Other outlets joined a published story: its entry and Note re-composed
    /// with every outlet (`outlets`, the lead's first), as an `Update`.
    /// `None` when `[publish] update_on_new_outlet` is off.
    pub fn outlets_update(
        &self,
        entry: &FeedEntryRow,
        categories: &[String],
        outlets: &[String],
        now: DateTime<Utc>,
    ) -> Option<Publication> {
        if !self.update_on_new_outlet {
            return None;
        }
        let tag_base = {
            let mut u = self.base_url.clone();
            let path = format!("{}/tags/", u.path().trim_end_matches('/'));
            u.set_path(&path);
            u.to_string()
        };
        let post = match compose_post(
            &PostInput {
                title: &entry.title,
                summary: &entry.summary,
                sources: outlets,
                link: &entry.link,
                language: &entry.lang,
                topic_hashtags: &self.hashtags,
                item_hashtags: categories,
                spoiler_text: self.content_warning.as_deref(),
            },
            &PostOptions::new(tag_base),
        ) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(story.id = %entry.story_id, error = %e, "outlets not added: cannot compose the post");
                return None;
            }
        };
        let new_entry = FeedEntryRow {
            post_html: post.html.clone(),
            post_text: post.text.clone(),
            updated_at: now,
            ..entry.clone()
        };
        let story = StoryPost {
            story_id: entry.story_id.clone(),
            page_url: self.story_url(&entry.story_id),
            html: post.html,
            text: post.text,
            language: post.language,
            hashtags: post.hashtags,
            sensitive_cw: post.spoiler_text,
            published: entry.published_at,
            updated: Some(now),
        };
        let activity = self.composer.as_ref().and_then(|f| {
            f.prepare_update(&story)
                .map_err(|e| tracing::error!(story.id = %entry.story_id, error = %e, "cannot prepare the Update"))
                .ok()
        });
        Some(Publication::Outlets {
            entry: new_entry,
            activity,
            not_since: now - chrono::Duration::hours(1),
        })
    }

    /// The lead item of a published story changed: its replacement entry,
    /// still naming every outlet in `outlets`.
    pub fn edited_story(
        &self,
        item: &Item,
        outlets: &[String],
        published: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Publication> {
        match self.draft(item, outlets, None, published, now) {
            Ok((entry, story)) => {
                let activity = self.composer.as_ref().and_then(|f| {
                    f.prepare_update(&story)
                        .map_err(|e| tracing::error!(item.id = %item.id, error = %e, "cannot prepare the Update"))
                        .ok()
                });
                Some(Publication::Edit { entry, activity })
            }
            Err(e) => {
                tracing::warn!(item.id = %item.id, error = %e, "edit not published: cannot compose its post");
                None
            }
        }
    }
}

//! The published feed in its three formats, rendered from stored entries;
//! served over HTTP by `web` and optionally written to a folder for static
//! hosting.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::model::{FeedEntry, PublishedEntry, SourceRef};
use crate::publish::feed::{
    CONTENT_TYPE_ATOM, CONTENT_TYPE_JSON, CONTENT_TYPE_RSS, FeedMeta, etag_for, render_atom,
    render_json, render_rss,
};

/// The three formats of the published feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Rss,
    Atom,
    Json,
}

impl FeedFormat {
    pub const ALL: [FeedFormat; 3] = [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json];

    pub fn file_name(self) -> &'static str {
        match self {
            FeedFormat::Rss => "feed.xml",
            FeedFormat::Atom => "feed.atom",
            FeedFormat::Json => "feed.json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FeedFormat::Rss => CONTENT_TYPE_RSS,
            FeedFormat::Atom => CONTENT_TYPE_ATOM,
            FeedFormat::Json => CONTENT_TYPE_JSON,
        }
    }
}

/// Who the feed is from.
#[derive(Debug, Clone)]
pub struct FeedIdentity {
    pub title: String,
    pub description: String,
    pub base_url: url::Url,
}

/// One rendered feed document with its validators.
#[derive(Debug, Clone)]
pub struct RenderedFeed {
    pub body: String,
    pub content_type: &'static str,
    pub etag: String,
    pub last_modified: DateTime<Utc>,
}

/// Renders `entries` (newest first) in `format`.
pub fn render(
    identity: &FeedIdentity,
    entries: &[PublishedEntry],
    format: FeedFormat,
    story_url: impl Fn(&str) -> String,
) -> RenderedFeed {
    // The newest change, not "now": the same entries must give the same bytes,
    // or ETags would change on every request.
    let updated = entries
        .iter()
        .map(|e| e.entry.updated_at)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let meta = FeedMeta {
        title: identity.title.clone(),
        description: identity.description.clone(),
        home_url: identity.base_url.to_string(),
        feed_base_url: identity.base_url.as_str().trim_end_matches('/').to_string(),
        language: dominant_language(entries),
        updated,
        author: identity.title.clone(),
    };
    let items: Vec<FeedEntry> = entries
        .iter()
        .map(|p| FeedEntry {
            id: story_url(&p.entry.story_id),
            title: p.entry.title.clone(),
            summary: p.entry.summary.clone(),
            link: p.entry.link.clone(),
            sources: p
                .sources
                .iter()
                .map(|(name, url)| SourceRef {
                    name: name.clone(),
                    url: url.clone(),
                })
                .collect(),
            hashtags: p.entry.hashtags.clone(),
            language: p.entry.lang.clone(),
            published: p.entry.published_at,
            updated: p.entry.updated_at,
        })
        .collect();
    let body = match format {
        FeedFormat::Rss => render_rss(&meta, &items),
        FeedFormat::Atom => render_atom(&meta, &items),
        FeedFormat::Json => render_json(&meta, &items),
    };
    RenderedFeed {
        etag: etag_for(body.as_bytes()),
        content_type: format.content_type(),
        last_modified: updated,
        body,
    }
}

/// The most common entry language (the feed carries English and Chinese).
fn dominant_language(entries: &[PublishedEntry]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for e in entries {
        match counts.iter_mut().find(|(l, _)| *l == e.entry.lang) {
            Some((_, n)) => *n += 1,
            None => counts.push((&e.entry.lang, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or_else(|| "en".to_string(), |(l, _)| l.to_string())
}

/// Writes the three feeds into `dir`, each through a temporary file and a
/// rename, so a static web server never serves half a file.
pub fn write_files(dir: &Path, feeds: &[(FeedFormat, RenderedFeed)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (format, feed) in feeds {
        let target = dir.join(format.file_name());
        let tmp = dir.join(format!(".{}.tmp", format.file_name()));
        std::fs::write(&tmp, &feed.body)?;
        std::fs::rename(&tmp, &target)?;
    }
    // The RSS and Atom files point at the stylesheet next to them.
    let xsl = dir.join(crate::publish::feed::STYLESHEET_FILE);
    if std::fs::read(&xsl).ok().as_deref() != Some(crate::publish::feed::STYLESHEET.as_bytes()) {
        let tmp = dir.join(format!(".{}.tmp", crate::publish::feed::STYLESHEET_FILE));
        std::fs::write(&tmp, crate::publish::feed::STYLESHEET)?;
        std::fs::rename(&tmp, &xsl)?;
    }
    Ok(())
}

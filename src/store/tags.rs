//! Published stories by hashtag, for `/tags/<tag>` and its feed.
//!
//! Hashtags are stored per entry as a JSON array (see `feed_entries`), so the
//! match is done here rather than in SQL: SQLite's `lower()` and `LIKE` fold
//! ASCII only, and a tag may be `台灣` or `Ümit`. The first query reads just
//! the ids and tags of every entry (small rows, newest first); the second
//! reads the full rows of the page asked for.

use super::{FEED_ENTRY_SELECT, PublishedEntry, Store, StoreError, feed_entry_from_row};
use sqlx::Row;

/// The form two hashtags are compared in: without `#`, trimmed, and
/// lower-cased by Unicode rules (`Taiwan`, `#taiwan` and `TAIWAN` are one
/// tag; CJK tags have no case and compare as they are).
pub fn fold_hashtag(tag: &str) -> String {
    tag.trim().trim_start_matches('#').trim().to_lowercase()
}

/// One page of the stories carrying a hashtag.
#[derive(Debug)]
pub struct TaggedPage {
    /// How many published stories carry the tag (all pages).
    pub total: u64,
    /// The tag as the newest such story spells it (for headings), if any.
    pub display: Option<String>,
    /// This page's entries, newest first.
    pub entries: Vec<PublishedEntry>,
}

impl Store {
    /// The published stories carrying `tag` (compared by [`fold_hashtag`]),
    /// newest first: `limit` of them after skipping `offset`.
    pub async fn published_entries_tagged(
        &self,
        tag: &str,
        limit: u32,
        offset: u64,
    ) -> Result<TaggedPage, StoreError> {
        let wanted = fold_hashtag(tag);
        let mut page = TaggedPage {
            total: 0,
            display: None,
            entries: Vec::new(),
        };
        if wanted.is_empty() {
            return Ok(page);
        }
        let rows = sqlx::query(
            "SELECT story_id, hashtags FROM feed_entries ORDER BY published_at DESC, story_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut ids: Vec<String> = Vec::new();
        for r in &rows {
            let raw: String = r.try_get("hashtags")?;
            let tags: Vec<String> = serde_json::from_str(&raw).unwrap_or_default();
            if let Some(t) = tags.iter().find(|t| fold_hashtag(t) == wanted) {
                if page.display.is_none() {
                    page.display = Some(t.trim().trim_start_matches('#').to_string());
                }
                ids.push(r.try_get("story_id")?);
            }
        }
        page.total = u64::try_from(ids.len()).unwrap_or(u64::MAX);
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(ids.len());
        let end = start
            .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
            .min(ids.len());
        for id in &ids[start..end] {
            let row = sqlx::query(&format!("{FEED_ENTRY_SELECT} WHERE story_id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            // A story removed between the two queries is just left out.
            if let Some(row) = row {
                page.entries
                    .push(self.with_sources(feed_entry_from_row(&row)?).await?);
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::fold_hashtag;

    #[test]
    fn folding_is_unicode_aware() {
        assert_eq!(fold_hashtag("#Taiwan"), "taiwan");
        assert_eq!(fold_hashtag("TAIWAN"), "taiwan");
        assert_eq!(fold_hashtag("ÜMIT"), "ümit");
        assert_eq!(fold_hashtag("台灣"), "台灣");
        assert_eq!(fold_hashtag(" # "), "");
    }
}

//! The operator's labels of stored items (issue 11): 2 relevant (core),
//! 1 related, 0 not relevant. Every labelling is kept with who and when;
//! the latest one per item counts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, StoredItem, stored_item_from_row};

/// The latest label of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLabel {
    pub label: u8,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The key `labels export` writes and `eval --labels` reads for an item:
/// its guid, else its link, else its id.
pub fn label_key(item: &crate::model::Item) -> String {
    item.guid
        .clone()
        .or_else(|| item.link.clone())
        .unwrap_or_else(|| item.id.clone())
}

impl Store {
    /// Records `label` (0, 1 or 2) for the stored item `item_id`. False when
    /// no such item is stored (nothing written).
    pub async fn set_label(
        &self,
        item_id: &str,
        label: u8,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let written = sqlx::query(
            "INSERT INTO item_labels (item_id, label, labelled_by, labelled_at)
             SELECT id, ?, ?, ? FROM items WHERE id = ?",
        )
        .bind(i64::from(label.min(2)))
        .bind(by)
        .bind(super::time::to_ms(at))
        .bind(item_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(written == 1)
    }

    /// The id of the stored item a label key names: its guid, its link (as
    /// given or canonical) or its id.
    pub async fn item_id_for_key(&self, key: &str) -> Result<Option<String>, StoreError> {
        let canonical = url::Url::parse(key)
            .map(|u| crate::text::link::canonical_url(&u))
            .unwrap_or_else(|_| key.to_string());
        Ok(sqlx::query_scalar(
            "SELECT id FROM items WHERE guid = ?1 OR link = ?1 OR link = ?2 OR id = ?1
             ORDER BY (guid = ?1) DESC, first_seen_at LIMIT 1",
        )
        .bind(key)
        .bind(canonical)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every stored item with a label, with its latest label, oldest first.
    pub async fn labelled_items(&self) -> Result<Vec<(StoredItem, ItemLabel)>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.id, i.feed_url, i.source, i.outlet, i.guid, i.link, i.title, i.summary, i.content,
                    i.lang, i.published_at, i.updated_at, i.first_seen_at, i.content_hash,
                    i.categories, i.revision, i.author,
                    l.label, l.labelled_by, l.labelled_at
             FROM items i
             JOIN item_labels l ON l.seq = (SELECT MAX(seq) FROM item_labels WHERE item_id = i.id)
             ORDER BY i.published_at, i.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    stored_item_from_row(r)?,
                    ItemLabel {
                        label: u8::try_from(r.try_get::<i64, _>("label")?).unwrap_or(0),
                        by: r.try_get("labelled_by")?,
                        at: super::time::from_ms(r.try_get("labelled_at")?)?,
                    },
                ))
            })
            .collect()
    }

    /// The latest labels of the given items (those that have one).
    pub async fn labels_of(&self, ids: &[&str]) -> Result<HashMap<String, ItemLabel>, StoreError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT l.item_id, l.label, l.labelled_by, l.labelled_at FROM item_labels l
                 WHERE l.item_id IN ({marks})
                   AND l.seq = (SELECT MAX(seq) FROM item_labels WHERE item_id = l.item_id)"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(
                    r.try_get("item_id")?,
                    ItemLabel {
                        label: u8::try_from(r.try_get::<i64, _>("label")?).unwrap_or(0),
                        by: r.try_get("labelled_by")?,
                        at: super::time::from_ms(r.try_get("labelled_at")?)?,
                    },
                );
            }
        }
        Ok(out)
    }
}

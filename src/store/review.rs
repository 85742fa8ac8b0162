//! The dashboard's Review list (issue 11 §6): items a person should look
//! at, namely those that scored just below the threshold and the relevant
//! ones the age gate held, and the operator's Publish of one of them.

use chrono::{DateTime, Utc};

use super::{Publication, Store, StoreError, StoryAssignment, Verdict, insert_new_entry_tx};

/// The Review list's held part: relevant items the age gate kept back,
/// not published, not pruned, not labelled. Reads `items_by_decision_score`
/// by its `decision` prefix (1030 dropped the older `items_by_decision`).
pub(crate) const REVIEW_HELD_SQL: &str =
    "SELECT i.id, i.title, COALESCE(i.outlet, i.source), i.link, i.lang,
        i.published_at, i.score, i.held
 FROM items i
 WHERE i.decision = 'held' AND i.story_id IS NULL AND i.pruned_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM item_labels l WHERE l.item_id = i.id)
 ORDER BY i.published_at DESC LIMIT ?";

/// The Review list's near-threshold part: skipped items with
/// `low <= score < threshold`. Reads `items_by_decision_score` (1010).
pub(crate) const REVIEW_NEAR_SQL: &str =
    "SELECT i.id, i.title, COALESCE(i.outlet, i.source), i.link, i.lang,
        i.published_at, i.score, i.held
 FROM items i
 WHERE i.decision = 'skip' AND i.score >= ? AND i.score < ?
   AND i.story_id IS NULL AND i.pruned_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM item_labels l WHERE l.item_id = i.id)
 ORDER BY i.published_at DESC LIMIT ?";

/// One item of the Review list.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    pub id: String,
    pub title: String,
    pub outlet: String,
    pub link: Option<String>,
    pub lang: String,
    pub published: DateTime<Utc>,
    pub score: f64,
    /// Why the age gate held it; `None`: it scored near the threshold.
    pub held: Option<String>,
}

type ReviewRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<f64>,
    Option<String>,
);

fn review_item(r: ReviewRow) -> Result<ReviewItem, sqlx::Error> {
    let (id, title, outlet, link, lang, published, score, held) = r;
    Ok(ReviewItem {
        id,
        title: title.unwrap_or_default(),
        outlet: outlet.unwrap_or_default(),
        link,
        lang: lang.unwrap_or_default(),
        published: super::time::from_ms(published)?,
        score: score.unwrap_or(0.0),
        held,
    })
}

impl Store {
    /// The Review list: items held by the age gate, and (when `margin` > 0)
    /// items that scored in `[threshold - margin, threshold)`, leaving out
    /// the published, the pruned and the labelled ones; newest first, at
    /// most `limit`.
    pub async fn review_items(
        &self,
        threshold: f64,
        margin: f64,
        limit: u32,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        let mut rows: Vec<ReviewRow> = sqlx::query_as(REVIEW_HELD_SQL)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        if margin > 0.0 {
            rows.extend(
                sqlx::query_as::<_, ReviewRow>(REVIEW_NEAR_SQL)
                    .bind(threshold - margin)
                    .bind(threshold)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        let mut items = rows
            .into_iter()
            .map(review_item)
            .collect::<Result<Vec<ReviewItem>, _>>()?;
        items.sort_by(|a, b| b.published.cmp(&a.published).then(a.id.cmp(&b.id)));
        items.truncate(limit as usize);
        Ok(items)
    }

    /// The operator's Publish of a stored, unpublished item, in ONE
    /// transaction: its verdict (as story assignment gave it: a new story,
    /// or joining one), the new story's row, the `publication` (a new
    /// story's feed entry, `Create` and deliveries through the same writer
    /// as [`Store::release_story`], or a joined story's outlets `Update`),
    /// and the label 2 with who and when. False, with nothing written, when
    /// the item is not stored or already in a story (a second Publish).
    pub async fn publish_reviewed(
        &self,
        item_id: &str,
        verdict: &Verdict,
        publication: Option<&Publication>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let story_id = match &verdict.story {
            StoryAssignment::New => item_id.to_string(),
            StoryAssignment::Join(s) => s.clone(),
            StoryAssignment::None => return Ok(false),
        };
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE items SET decision = 'publish', score = ?, explanation = ?, reasons = ?,
                              fingerprint = ?, story_id = ?,
                              story_reasons = COALESCE(?, story_reasons), held = NULL
             WHERE id = ? AND story_id IS NULL",
        )
        .bind(verdict.score)
        .bind(Some(verdict.explanation.as_str()).filter(|e| !e.is_empty()))
        .bind(&verdict.reasons)
        .bind(&verdict.fingerprint)
        .bind(&story_id)
        .bind(&verdict.story_reasons)
        .bind(item_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Ok(false); // rolled back on drop
        }
        if verdict.story == StoryAssignment::New {
            sqlx::query(
                "INSERT INTO stories (id, lead_item_id, created_at, fingerprint) VALUES (?, ?, ?, ?)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(item_id)
            .bind(item_id)
            .bind(super::time::to_ms(now))
            .bind(verdict.fingerprint.as_deref().unwrap_or("{}"))
            .execute(&mut *tx)
            .await?;
        }
        match publication {
            Some(Publication::New { entry, activity }) => {
                insert_new_entry_tx(&mut tx, entry, activity.as_ref(), now).await?;
            }
            Some(Publication::Outlets {
                entry,
                activity,
                not_since,
            }) => {
                super::queue::apply_outlets_tx(&mut tx, entry, activity.as_ref(), *not_since, now)
                    .await?;
            }
            Some(Publication::Edit { .. } | Publication::OutletsPending { .. }) | None => {}
        }
        sqlx::query(
            "INSERT INTO item_labels (item_id, label, labelled_by, labelled_at) VALUES (?, 2, ?, ?)",
        )
        .bind(item_id)
        .bind(by)
        .bind(super::time::to_ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.bump_generation();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both parts of the Review list read an index range (SEARCH), never
    /// the whole items table.
    #[tokio::test]
    async fn review_queries_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.sqlite")).await.unwrap();
        for (sql, index) in [
            (REVIEW_HELD_SQL, "items_by_decision_score"),
            (REVIEW_NEAR_SQL, "items_by_decision_score"),
        ] {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
            for _ in 0..sql.matches('?').count() {
                q = q.bind(0i64);
            }
            let plan = q
                .fetch_all(&store.pool)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.3)
                .collect::<Vec<_>>()
                .join(" | ");
            assert!(
                plan.contains(&format!("SEARCH i USING INDEX {index} ")),
                "{sql}\n=> {plan}"
            );
            assert!(
                !plan.split(" | ").any(|s| s.starts_with("SCAN ")),
                "{sql}\n=> {plan}"
            );
        }
    }
}

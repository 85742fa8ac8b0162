//! The item indexes after migration 1030 (issue 13, bytes per item): the
//! queries by story still search an index, the partial story index holds
//! only items with a story, and the two indexes no query read are gone.

use super::Store;

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).await.unwrap();
    (dir, store)
}

async fn plan(store: &Store, sql: &str) -> String {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
    for _ in 0..sql.matches('?').count() {
        q = q.bind("s1");
    }
    let rows = q.fetch_all(&store.pool).await.unwrap();
    rows.into_iter()
        .map(|r| r.3)
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn story_lookups_search_the_partial_story_index() {
    let (_d, store) = store().await;
    for sql in [
        "SELECT story_id, outlet, source, feed_url, link FROM items
         WHERE story_id IN (?, ?) AND link IS NOT NULL
         ORDER BY story_id, (id = story_id) DESC, first_seen_at, id",
        "UPDATE items SET held = NULL WHERE story_id = ?",
    ] {
        let p = plan(&store, sql).await;
        assert!(
            p.contains("SEARCH items USING INDEX items_by_story"),
            "{sql}\n=> {p}"
        );
    }
    // Newest first still reads its index, not the table sorted.
    let p = plan(
        &store,
        "SELECT id FROM items ORDER BY published_at DESC, id LIMIT ?",
    )
    .await;
    assert!(p.contains("items_by_published"), "=> {p}");
}

#[tokio::test]
async fn only_items_with_a_story_are_in_the_story_index() {
    let (_d, store) = store().await;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'
         AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&store.pool)
    .await
    .unwrap();
    let names: Vec<&str> = indexes.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.contains(&"items_by_feed"), "{names:?}");
    assert!(!names.contains(&"items_by_decision"), "{names:?}");
    let story = indexes
        .iter()
        .find(|(n, _)| n == "items_by_story")
        .map(|(_, s)| s.as_str())
        .unwrap_or_default();
    assert!(story.contains("WHERE story_id IS NOT NULL"), "{story}");
}

//! Unit tests written against the surviving mutants of `cargo mutants` on
//! the store (see README, Development): the publication queue
//! (`store::queue`), on a real SQLite file. The queue's promises: a story
//! waits until it is released, it is released (feed entry written, story
//! marked posted) once, a stale story stays held, and a published story's
//! outlets `Update` goes out at most once an hour, the rest remembered as
//! pending.

use std::collections::HashMap;

use super::queue::QueueState;
use super::*;
use crate::model::Item;

const FEED: &str = "https://q.example/rss";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
}

fn ok_poll(secs: i64) -> PollRecord {
    PollRecord {
        at: at(secs),
        outcome: PollOutcome::Ok,
        status: Some(200),
        error: None,
        etag: None,
        last_modified: None,
        error_count: 0,
        next_check_at: at(secs + 600),
        item_count: None,
    }
}

/// A published item dated `published` (seconds from the epoch of [`at`]),
/// from `outlet`, starting a story (`story: None`) or joining one.
fn published(id: &str, outlet: &str, published: i64, story: Option<&str>) -> ItemRecord {
    let item: Item = serde_json::from_value(serde_json::json!({
        "id": id,
        "feed_url": FEED,
        "source": "Q",
        "outlet": outlet,
        "guid": format!("guid-{id}"),
        "link": format!("https://q.example/{id}"),
        "title": format!("Title {id}"),
        "summary": "Summary",
        "content": "Content",
        "lang": "en",
        "published": at(published),
        "updated": at(published),
        "content_hash": format!("hash-{id}"),
    }))
    .expect("test item");
    ItemRecord {
        item,
        verdict: Some(Verdict {
            publish: true,
            score: 0.9,
            explanation: String::new(),
            reasons: "on topic".to_string(),
            fingerprint: Some("{}".to_string()),
            story: match story {
                None => StoryAssignment::New,
                Some(s) => StoryAssignment::Join(s.to_string()),
            },
            story_reasons: None,
            held: None,
        }),
    }
}

fn entry(story: &str, post_text: &str, secs: i64) -> FeedEntryRow {
    FeedEntryRow {
        story_id: story.to_string(),
        title: format!("Title {story}"),
        summary: "Summary".to_string(),
        link: format!("https://q.example/{story}"),
        lang: "en".to_string(),
        hashtags: Vec::new(),
        post_html: format!("<p>{post_text}</p>"),
        post_text: post_text.to_string(),
        spoiler_text: None,
        published_at: at(secs),
        updated_at: at(secs),
        revision: 1,
    }
}

fn new_story(story: &str, secs: i64) -> Publication {
    Publication::New {
        entry: entry(story, "first post", secs),
        activity: None,
    }
}

async fn commit(store: &Store, secs: i64, items: &[ItemRecord]) {
    store
        .commit_poll(FEED, &ok_poll(secs), items, &[])
        .await
        .expect("commit");
}

async fn feed_entry(store: &Store, story: &str) -> Option<(String, i64)> {
    sqlx::query_as("SELECT post_text, revision FROM feed_entries WHERE story_id = ?")
        .bind(story)
        .fetch_optional(&store.pool)
        .await
        .expect("read the feed entry")
}

fn ids(stories: &[queue::QueuedStory]) -> Vec<&str> {
    stories.iter().map(|q| q.story_id.as_str()).collect()
}

/// A new story is queued by its poll, listed with its lead item in release
/// order (oldest lead date first), released once (entry written, story
/// marked posted, counted by the posting cap), and a second release of the
/// same story writes nothing.
#[tokio::test]
async fn a_queued_story_is_listed_in_release_order_and_released_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("q.db")).await.expect("open");
    assert_eq!(store.queue_counts().await.expect("counts"), (0, 0));
    commit(
        &store,
        0,
        &[
            published("newer", "Newer Outlet", -600, None),
            published("older", "Older Outlet", -3600, None),
        ],
    )
    .await;
    assert_eq!(
        store.queue_counts().await.expect("counts"),
        (2, 0),
        "the poll queued both new stories"
    );
    let waiting = store.queued(QueueState::Waiting, 10).await.expect("queued");
    assert_eq!(ids(&waiting), ["older", "newer"], "oldest lead date first");
    let older = &waiting[0];
    assert_eq!(older.lead_date, at(-3600), "the lead item's own date");
    assert_eq!(older.queued_at, at(0));
    assert_eq!(older.stale_at, None);
    assert_eq!(older.title, "Title older");
    assert_eq!(older.source, "Older Outlet");
    assert_eq!(older.link.as_deref(), Some("https://q.example/older"));
    assert_eq!(
        ids(&store.queued(QueueState::Waiting, 1).await.expect("queued")),
        ["older"],
        "the limit"
    );
    assert!(
        store
            .queued(QueueState::Stale, 10)
            .await
            .expect("queued")
            .is_empty()
    );

    assert_eq!(store.stories_posted_since(at(-60)).await.expect("n"), 0);
    assert_eq!(store.story_posted_at("older").await.expect("read"), None);
    assert!(
        store
            .release_story("older", &new_story("older", 60), at(60))
            .await
            .expect("release"),
        "a waiting story is released"
    );
    assert_eq!(
        feed_entry(&store, "older").await,
        Some(("first post".to_string(), 1))
    );
    assert_eq!(
        store.story_posted_at("older").await.expect("read"),
        Some(at(60))
    );
    assert_eq!(store.queue_counts().await.expect("counts"), (1, 0));
    assert_eq!(store.stories_posted_since(at(0)).await.expect("n"), 1);
    assert_eq!(
        store.stories_posted_since(at(60)).await.expect("n"),
        0,
        "after the post"
    );

    assert!(
        !store
            .release_story("older", &new_story("older", 120), at(120))
            .await
            .expect("release"),
        "released twice: nothing written"
    );
    assert_eq!(
        store.story_posted_at("older").await.expect("read"),
        Some(at(60))
    );
    assert!(
        !store
            .release_story(
                "newer",
                &Publication::Edit {
                    entry: entry("newer", "edit", 120),
                    activity: None,
                },
                at(120),
            )
            .await
            .expect("release"),
        "only a new story's publication releases"
    );
    assert_eq!(feed_entry(&store, "newer").await, None);
    assert_eq!(store.queue_counts().await.expect("counts"), (1, 0));

    assert!(
        store
            .release_story("newer", &new_story("newer", 180), at(180))
            .await
            .expect("release")
    );
    assert_eq!(store.stories_posted_since(at(0)).await.expect("n"), 2);
}

/// Waiting stories whose lead item is older than the limit go stale (and are
/// counted once), are listed as stale, and stay held: they are never
/// released, and dropping waiting stories leaves them alone.
#[tokio::test]
async fn stale_stories_stay_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("q.db")).await.expect("open");
    commit(
        &store,
        0,
        &[
            published("old1", "A", -7200, None),
            published("old2", "B", -5400, None),
            published("fresh", "C", -60, None),
        ],
    )
    .await;
    assert_eq!(store.mark_stale(at(-3600), at(10)).await.expect("stale"), 2);
    assert_eq!(
        store.mark_stale(at(-3600), at(20)).await.expect("stale"),
        0,
        "already stale"
    );
    assert_eq!(store.queue_counts().await.expect("counts"), (1, 2));
    let stale = store.queued(QueueState::Stale, 10).await.expect("queued");
    assert_eq!(ids(&stale), ["old1", "old2"]);
    assert!(stale.iter().all(|q| q.stale_at == Some(at(10))));
    assert_eq!(
        ids(&store.queued(QueueState::Waiting, 10).await.expect("queued")),
        ["fresh"]
    );

    assert!(
        !store
            .release_story("old1", &new_story("old1", 30), at(30))
            .await
            .expect("release"),
        "a stale story is not released"
    );
    assert_eq!(feed_entry(&store, "old1").await, None);
    assert_eq!(store.story_posted_at("old1").await.expect("read"), None);

    store.drop_queued("old2").await.expect("drop");
    store.drop_queued("fresh").await.expect("drop");
    assert_eq!(
        store.queue_counts().await.expect("counts"),
        (0, 2),
        "dropping takes only waiting stories"
    );
    assert!(
        !store
            .release_story("fresh", &new_story("fresh", 40), at(40))
            .await
            .expect("release"),
        "a dropped story is not released"
    );
}

/// A story's outlets, the lead item's first, each name once (case aside);
/// and one stored item read back by id.
#[tokio::test]
async fn a_storys_outlets_are_listed_once_lead_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("q.db")).await.expect("open");
    commit(&store, 0, &[published("lead", "Lead News", -60, None)]).await;
    commit(
        &store,
        60,
        &[
            published("join1", "Other Wire", -30, Some("lead")),
            published("join2", "lead news", -20, Some("lead")),
        ],
    )
    .await;
    assert_eq!(
        store.story_outlets("lead").await.expect("outlets"),
        ["Lead News", "Other Wire"]
    );
    assert!(
        store
            .story_outlets("nothing")
            .await
            .expect("outlets")
            .is_empty()
    );

    let stored = store.stored_item("join1").await.expect("read");
    let stored = stored.expect("stored");
    assert_eq!(stored.item.title, "Title join1");
    assert_eq!(stored.item.outlet, "Other Wire");
    assert_eq!(stored.first_seen_at, at(60));
    assert_eq!(stored.revision, 1);
    assert_eq!(store.stored_item("nothing").await.expect("read"), None);
}

/// A published story's outlets `Update` is applied when the last one was
/// not after `not_since` (entry re-composed, revision + 1); within the hour
/// it is only remembered as pending, listed by `outlets_pending_due` once
/// the hour is over, until it is applied or cleared.
#[tokio::test]
async fn an_outlets_update_goes_out_at_most_hourly_and_the_rest_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("q.db")).await.expect("open");
    commit(&store, 0, &[published("s", "S", -60, None)]).await;
    assert!(
        store
            .release_story("s", &new_story("s", 0), at(0))
            .await
            .expect("release")
    );
    let outlets = |text: &str, not_since: i64| Publication::Outlets {
        entry: entry("s", text, 100),
        activity: None,
        not_since: at(not_since),
    };

    let g = store.generation();
    assert!(
        store
            .apply_outlets_update(&outlets("two outlets", -3600), at(100))
            .await
            .expect("apply"),
        "no Update yet: applied"
    );
    assert_eq!(
        feed_entry(&store, "s").await,
        Some(("two outlets".to_string(), 2))
    );
    assert_eq!(store.generation(), g + 1);
    assert!(
        store
            .outlets_pending_due(at(10_000), 10)
            .await
            .expect("due")
            .is_empty(),
        "nothing pending"
    );

    // A second one 10 minutes later: the last was after not_since.
    assert!(
        !store
            .apply_outlets_update(&outlets("three outlets", 700 - 3600), at(700))
            .await
            .expect("apply"),
        "within the hour: not applied"
    );
    assert_eq!(
        feed_entry(&store, "s").await,
        Some(("two outlets".to_string(), 2)),
        "the entry is unchanged"
    );
    assert!(
        store
            .outlets_pending_due(at(99), 10)
            .await
            .expect("due")
            .is_empty(),
        "pending, but its hour (from the Update at 100) is not over"
    );
    assert_eq!(
        store.outlets_pending_due(at(100), 10).await.expect("due"),
        ["s"]
    );
    assert_eq!(
        store
            .outlets_pending_of(&["s", "unpublished"])
            .await
            .expect("states"),
        HashMap::from([("s".to_string(), true)]),
        "published and pending; a story without an entry is absent"
    );
    assert!(
        !store
            .apply_outlets_update(
                &Publication::New {
                    entry: entry("s", "x", 0),
                    activity: None
                },
                at(800)
            )
            .await
            .expect("apply"),
        "only an outlets publication applies"
    );

    store.clear_outlets_pending("s").await.expect("clear");
    assert_eq!(
        store.outlets_pending_of(&["s"]).await.expect("states"),
        HashMap::from([("s".to_string(), false)]),
        "published, nothing pending"
    );
    assert!(
        store
            .outlets_pending_due(at(10_000), 10)
            .await
            .expect("due")
            .is_empty(),
        "cleared"
    );

    assert!(
        store
            .apply_outlets_update(&outlets("four outlets", 100), at(3800))
            .await
            .expect("apply"),
        "an hour on: applied"
    );
    assert_eq!(
        feed_entry(&store, "s").await,
        Some(("four outlets".to_string(), 3))
    );
}

/// A new item's categories and author are stored, and an edit replaces
/// them (the poll commit's `categories_json` and the author column of its
/// INSERT and UPDATE).
#[tokio::test]
async fn an_items_categories_and_author_are_stored_and_follow_an_edit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("q.db")).await.expect("open");
    let mut first = published("c", "C", -60, None);
    first.item.categories = vec!["Crime".to_string(), "Europe".to_string()];
    first.item.author = "A. Writer".to_string();
    commit(&store, 0, std::slice::from_ref(&first)).await;
    let stored = store.stored_item("c").await.expect("read").expect("stored");
    assert_eq!(stored.item.categories, ["Crime", "Europe"]);
    assert_eq!(stored.item.author, "A. Writer");

    let mut edited = first.clone();
    edited.item.content_hash = "hash-c-2".to_string();
    edited.item.categories = vec!["Police".to_string()];
    edited.item.author = "B. Editor, A. Writer".to_string();
    commit(&store, 60, &[edited]).await;
    let stored = store.stored_item("c").await.expect("read").expect("stored");
    assert_eq!(stored.revision, 2);
    assert_eq!(stored.item.categories, ["Police"]);
    assert_eq!(stored.item.author, "B. Editor, A. Writer");
}

/// A poll's publications are written in its commit: a new story's entry
/// (story marked posted), an edit (revision + 1), and an outlets `Update`
/// when its hour allows (the poll commit's `write_entries_and_edits` and
/// `apply_outlets_updates` steps).
#[tokio::test]
async fn a_polls_publications_are_written_in_its_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("q.db")).await.expect("open");
    let poll = |secs: i64, items: Vec<ItemRecord>, publications: Vec<Publication>| {
        let store = store.clone();
        async move {
            store
                .commit_poll(FEED, &ok_poll(secs), &items, &publications)
                .await
                .expect("commit");
        }
    };
    poll(
        0,
        vec![published("p", "P", -60, None)],
        vec![new_story("p", 0)],
    )
    .await;
    assert_eq!(
        feed_entry(&store, "p").await,
        Some(("first post".to_string(), 1))
    );
    assert_eq!(store.story_posted_at("p").await.expect("read"), Some(at(0)));

    let edit = Publication::Edit {
        entry: entry("p", "edited", 60),
        activity: None,
    };
    poll(60, Vec::new(), vec![edit]).await;
    assert_eq!(
        feed_entry(&store, "p").await,
        Some(("edited".to_string(), 2))
    );

    let outlets = Publication::Outlets {
        entry: entry("p", "two outlets", 120),
        activity: None,
        not_since: at(-3600),
    };
    poll(120, Vec::new(), vec![outlets]).await;
    assert_eq!(
        feed_entry(&store, "p").await,
        Some(("two outlets".to_string(), 3))
    );
}

/// One poll committed through the writer's batch path, its counts.
async fn batch_of_one(store: &Store, items: &[ItemRecord]) -> UpsertCounts {
    let record = ok_poll(0);
    let poll = PollCommit {
        feed_url: FEED,
        record: &record,
        items,
        publications: &[],
    };
    let mut out = store.commit_polls(&[poll]).await.expect("batch");
    out.remove(0).expect("poll")
}

/// The writer's batch (`Store::commit_polls`) moves the store's generation,
/// which the served feeds' and front page's cache is keyed on, when a poll
/// only edits an item (nothing inserted, nothing published), and leaves it
/// alone when a poll changes nothing.
#[tokio::test]
async fn a_batch_that_only_edits_an_item_moves_the_generation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("q.db")).await.expect("open");
    let first = published("g", "G", -60, None);
    let counts = batch_of_one(&store, std::slice::from_ref(&first)).await;
    assert_eq!((counts.inserted, counts.updated), (1, 0));
    let after_insert = store.generation();

    let counts = batch_of_one(&store, std::slice::from_ref(&first)).await;
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (0, 0, 1)
    );
    assert_eq!(store.generation(), after_insert, "nothing changed");

    let mut edited = first.clone();
    edited.item.content_hash = "hash-g-2".to_string();
    let counts = batch_of_one(&store, &[edited]).await;
    assert_eq!((counts.inserted, counts.updated), (0, 1));
    assert!(
        store.generation() > after_insert,
        "an edit changes what the feeds show"
    );
}

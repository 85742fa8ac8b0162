//! Unit tests of the poll's batched statements (store::poll_commit: one
//! lookup per poll, one INSERT per new item, one UPDATE per edit) on a real
//! SQLite file: an id met twice in one poll or in two polls of one batch, a
//! forgotten id, and the stored rows written out column by column as the
//! per-statement code (lookup, INSERT, UPDATE author, UPDATE verdict) wrote
//! them, with SQLite's `quote()` so types and NULLs count too.

use super::*;

const FEED: &str = "https://f.example/rss";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
}

/// `at(secs)` as stored (Unix ms).
fn ms(secs: i64) -> String {
    ((1_700_000_000 + secs) * 1000).to_string()
}

fn record(secs: i64) -> PollRecord {
    PollRecord {
        at: at(secs),
        outcome: PollOutcome::Ok,
        status: Some(200),
        error: None,
        etag: Some(format!("\"e{secs}\"")),
        last_modified: None,
        error_count: 0,
        next_check_at: at(secs + 600),
        item_count: None,
    }
}

fn item(id: &str, title: &str) -> ItemRecord {
    let item: Item = serde_json::from_value(serde_json::json!({
        "id": id,
        "feed_url": FEED,
        "source": "F",
        "guid": format!("guid-{id}"),
        "link": format!("https://f.example/{id}"),
        "title": title,
        "summary": "Summary",
        "content": "Content",
        "lang": "en",
        "published": at(0),
        "updated": at(0),
        "content_hash": format!("hash-{title}"),
        "categories": ["Space", "Mars"],
        "author": "Ann Lee",
    }))
    .expect("test item");
    ItemRecord {
        item,
        verdict: None,
    }
}

fn on_topic(mut r: ItemRecord, story: StoryAssignment) -> ItemRecord {
    r.verdict = Some(Verdict {
        publish: true,
        score: 0.75,
        explanation: r#"{"rules":["mars"]}"#.to_string(),
        reasons: "mars (0.75)".to_string(),
        fingerprint: Some(r#"{"terms":["mars"]}"#.to_string()),
        story_reasons: matches!(story, StoryAssignment::Join(_)).then(|| "same event".to_string()),
        story,
        held: None,
    });
    r
}

async fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("b.db")).await.expect("open")
}

fn counts(c: &UpsertCounts) -> (u32, u32, u32) {
    (c.inserted, c.updated, c.unchanged)
}

/// Every column of `table`'s row where `key_col = key`, in table order, as
/// `(name, quote(value))`; `None` when there is no such row.
async fn row(
    store: &Store,
    table: &str,
    key_col: &str,
    key: &str,
) -> Option<Vec<(String, String)>> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            .bind(table)
            .fetch_all(&store.pool)
            .await
            .expect("columns");
    let select = names
        .iter()
        .map(|n| format!("quote({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    let r = sqlx::query(&format!("SELECT {select} FROM {table} WHERE {key_col} = ?"))
        .bind(key)
        .fetch_optional(&store.pool)
        .await
        .expect("row")?;
    Some(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), r.get::<String, _>(i)))
            .collect(),
    )
}

fn expect(cols: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        cols.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    )
}

async fn item_count(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM items")
        .fetch_one(&store.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn two_polls_of_a_batch_carrying_one_id_see_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir).await;
    let (r1, r2) = (record(0), record(0));
    // Same text in both polls: the second finds the first's row.
    let a = [on_topic(item("shared", "A"), StoryAssignment::New)];
    let b = [
        item("other", "O"),
        on_topic(item("shared", "A"), StoryAssignment::New),
    ];
    let out = store
        .commit_polls(&[
            PollCommit {
                feed_url: FEED,
                record: &r1,
                items: &a,
                publications: &[],
            },
            PollCommit {
                feed_url: "https://g.example/rss",
                record: &r2,
                items: &b,
                publications: &[],
            },
        ])
        .await
        .expect("batch");
    let got: Vec<_> = out.iter().map(|r| r.as_ref().map(counts).ok()).collect();
    assert_eq!(got, [Some((1, 0, 0)), Some((1, 0, 1))]);
    assert_eq!(item_count(&store).await, 2);
    let stories: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stories")
        .fetch_one(&store.pool)
        .await
        .expect("stories");
    assert_eq!(stories, 1, "one story, not a second insert");

    // Different text in the later poll: an edit of the earlier poll's row.
    let c = [item("fresh", "F")];
    let d = [item("fresh", "F2")];
    let out = store
        .commit_polls(&[
            PollCommit {
                feed_url: FEED,
                record: &r1,
                items: &c,
                publications: &[],
            },
            PollCommit {
                feed_url: "https://g.example/rss",
                record: &r2,
                items: &d,
                publications: &[],
            },
        ])
        .await
        .expect("batch");
    let got: Vec<_> = out.iter().map(|r| r.as_ref().map(counts).ok()).collect();
    assert_eq!(got, [Some((1, 0, 0)), Some((0, 1, 0))]);
    let stored = store
        .stored_item("fresh")
        .await
        .expect("read")
        .expect("row");
    assert_eq!((stored.item.title.as_str(), stored.revision), ("F2", 2));
}

#[tokio::test]
async fn one_poll_carrying_an_id_twice_compares_the_second_with_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir).await;
    let same = store
        .commit_poll(
            FEED,
            &record(0),
            &[
                on_topic(item("twice", "T"), StoryAssignment::New),
                on_topic(item("twice", "T"), StoryAssignment::New),
            ],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!(counts(&same), (1, 0, 1));

    let differs = store
        .commit_poll(
            FEED,
            &record(60),
            &[
                item("dup", "D1"),
                on_topic(item("dup", "D2"), StoryAssignment::New),
            ],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!(counts(&differs), (1, 1, 0));
    let stored = store.stored_item("dup").await.expect("read").expect("row");
    assert_eq!((stored.item.title.as_str(), stored.revision), ("D2", 2));
    // The edit's verdict opened the story (the first had none).
    let story: Option<String> = sqlx::query_scalar("SELECT story_id FROM items WHERE id = 'dup'")
        .fetch_one(&store.pool)
        .await
        .expect("story");
    assert_eq!(story.as_deref(), Some("dup"));

    // A story given by the first occurrence is kept by the second's edit.
    let kept = store
        .commit_poll(
            FEED,
            &record(120),
            &[
                on_topic(item("lead", "L1"), StoryAssignment::New),
                on_topic(
                    item("lead", "L2"),
                    StoryAssignment::Join("elsewhere".to_string()),
                ),
            ],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!(counts(&kept), (1, 1, 0));
    let story: Option<String> = sqlx::query_scalar("SELECT story_id FROM items WHERE id = 'lead'")
        .fetch_one(&store.pool)
        .await
        .expect("story");
    assert_eq!(story.as_deref(), Some("lead"));
    assert_eq!(item_count(&store).await, 3);
}

#[tokio::test]
async fn a_forgotten_id_stays_unchanged_alone_twice_and_in_a_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir).await;
    sqlx::query("INSERT INTO seen_items (key_hash, first_seen) VALUES (?, ?)")
        .bind(retention::seen_key("gone"))
        .bind(super::time::to_ms(at(0)))
        .execute(&store.pool)
        .await
        .expect("seed the seen id");
    let r = record(60);
    let once = [item("gone", "G")];
    let twice = [item("gone", "G"), item("new", "N"), item("gone", "G2")];
    let out = store
        .commit_polls(&[
            PollCommit {
                feed_url: FEED,
                record: &r,
                items: &once,
                publications: &[],
            },
            PollCommit {
                feed_url: FEED,
                record: &r,
                items: &twice,
                publications: &[],
            },
        ])
        .await
        .expect("batch");
    let got: Vec<_> = out.iter().map(|r| r.as_ref().map(counts).ok()).collect();
    assert_eq!(got, [Some((0, 0, 1)), Some((1, 0, 2))]);
    assert_eq!(row(&store, "items", "id", "gone").await, None);
    assert_eq!(item_count(&store).await, 1);
}

/// The rows of a new on-topic item that opens a story, a new item joining
/// it, an off-topic compact one and one without a verdict, then an edit
/// with a verdict: every column as the per-statement code stored it.
#[tokio::test]
async fn stored_rows_are_the_same_as_before_column_by_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir).await;
    let mut off = item("off", "Off");
    off.item.outlet = "Wire".to_string();
    off.verdict = Some(Verdict {
        publish: false,
        score: 0.125,
        explanation: String::new(),
        reasons: "below 0.5".to_string(),
        fingerprint: None,
        story: StoryAssignment::None,
        story_reasons: None,
        held: None,
    });
    let mut held = on_topic(item("held", "Held"), StoryAssignment::None);
    if let Some(v) = held.verdict.as_mut() {
        v.held = Some("too old".to_string());
        v.fingerprint = None;
    }
    let c = store
        .commit_poll(
            FEED,
            &record(60),
            &[
                on_topic(item("lead", "Lead"), StoryAssignment::New),
                on_topic(
                    item("join", "Join"),
                    StoryAssignment::Join("lead".to_string()),
                ),
                off,
                held,
                item("plain", "Plain"),
            ],
            &[],
        )
        .await
        .expect("commit");
    assert_eq!(counts(&c), (5, 0, 0));

    let base = |id: &str, title: &str| -> Vec<(String, String)> {
        vec![
            ("id".into(), format!("'{id}'")),
            ("feed_url".into(), format!("'{FEED}'")),
            ("source".into(), "'F'".into()),
            ("guid".into(), format!("'guid-{id}'")),
            ("link".into(), format!("'https://f.example/{id}'")),
            ("title".into(), format!("'{title}'")),
            ("summary".into(), "'Summary'".into()),
            ("content".into(), "'Content'".into()),
            ("lang".into(), "'en'".into()),
            ("published_at".into(), ms(0)),
            ("updated_at".into(), ms(0)),
            ("first_seen_at".into(), ms(60)),
            ("content_hash".into(), format!("'hash-{title}'")),
            ("revision".into(), "1".into()),
        ]
    };
    let with = |mut cols: Vec<(String, String)>, rest: &[(&str, &str)]| {
        cols.extend(rest.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        Some(cols)
    };
    let categories = r#"'["Space","Mars"]'"#;
    let explanation = r#"'{"rules":["mars"]}'"#;
    let fingerprint = r#"'{"terms":["mars"]}'"#;
    assert_eq!(
        row(&store, "items", "id", "lead").await,
        with(
            base("lead", "Lead"),
            &[
                ("decision", "'publish'"),
                ("score", "0.75"),
                ("explanation", explanation),
                ("reasons", "'mars (0.75)'"),
                ("story_id", "'lead'"),
                ("fingerprint", fingerprint),
                ("categories", categories),
                ("held", "NULL"),
                ("story_reasons", "NULL"),
                ("outlet", "NULL"),
                ("pruned_at", "NULL"),
                ("author", "'Ann Lee'"),
            ]
        )
    );
    assert_eq!(
        row(&store, "items", "id", "join").await,
        with(
            base("join", "Join"),
            &[
                ("decision", "'publish'"),
                ("score", "0.75"),
                ("explanation", explanation),
                ("reasons", "'mars (0.75)'"),
                ("story_id", "'lead'"),
                ("fingerprint", fingerprint),
                ("categories", categories),
                ("held", "NULL"),
                ("story_reasons", "'same event'"),
                ("outlet", "NULL"),
                ("pruned_at", "NULL"),
                ("author", "'Ann Lee'"),
            ]
        )
    );
    assert_eq!(
        row(&store, "items", "id", "off").await,
        with(
            base("off", "Off"),
            &[
                ("decision", "'skip'"),
                ("score", "0.125"),
                ("explanation", "NULL"),
                ("reasons", "'below 0.5'"),
                ("story_id", "NULL"),
                ("fingerprint", "NULL"),
                ("categories", categories),
                ("held", "NULL"),
                ("story_reasons", "NULL"),
                ("outlet", "'Wire'"),
                ("pruned_at", "NULL"),
                ("author", "'Ann Lee'"),
            ]
        )
    );
    assert_eq!(
        row(&store, "items", "id", "held").await,
        with(
            base("held", "Held"),
            &[
                ("decision", "'held'"),
                ("score", "0.75"),
                ("explanation", explanation),
                ("reasons", "'mars (0.75)'"),
                ("story_id", "NULL"),
                ("fingerprint", "NULL"),
                ("categories", categories),
                ("held", "'too old'"),
                ("story_reasons", "NULL"),
                ("outlet", "NULL"),
                ("pruned_at", "NULL"),
                ("author", "'Ann Lee'"),
            ]
        )
    );
    assert_eq!(
        row(&store, "items", "id", "plain").await,
        with(
            base("plain", "Plain"),
            &[
                ("decision", "NULL"),
                ("score", "NULL"),
                ("explanation", "NULL"),
                ("reasons", "NULL"),
                ("story_id", "NULL"),
                ("fingerprint", "NULL"),
                ("categories", categories),
                ("held", "NULL"),
                ("story_reasons", "NULL"),
                ("outlet", "NULL"),
                ("pruned_at", "NULL"),
                ("author", "'Ann Lee'"),
            ]
        )
    );
    assert_eq!(
        row(&store, "stories", "id", "lead").await,
        expect(&[
            ("id", "'lead'"),
            ("lead_item_id", "'lead'"),
            ("created_at", &ms(60)),
            ("fingerprint", fingerprint),
            ("removed_at", "NULL"),
            ("posted_at", "NULL"),
        ])
    );
    assert_eq!(row(&store, "stories", "id", "join").await, None);
    assert_eq!(
        row(&store, "publish_queue", "story_id", "lead").await,
        expect(&[
            ("story_id", "'lead'"),
            ("lead_date", &ms(0)),
            ("queued_at", &ms(60)),
            ("state", "'waiting'"),
            ("stale_at", "NULL"),
        ])
    );
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM publish_queue")
        .fetch_one(&store.pool)
        .await
        .expect("queue");
    assert_eq!(queued, 1);

    // An edit of the joined item with a new verdict and no link: one
    // UPDATE keeps the link, the story and the story reasons when the new
    // verdict has none, bumps the revision and dates the edit.
    let mut edit = on_topic(item("join", "Join 2"), StoryAssignment::New);
    edit.item.link = None;
    edit.item.author = "Bo Chan".to_string();
    edit.item.categories = vec![];
    if let Some(v) = edit.verdict.as_mut() {
        v.score = 0.5;
        v.explanation = String::new();
    }
    let c = store
        .commit_poll(FEED, &record(120), &[edit], &[])
        .await
        .expect("commit");
    assert_eq!(counts(&c), (0, 1, 0));
    let mut cols = base("join", "Join 2");
    cols[10].1 = ms(120); // updated_at: the edit's time (later than the item's)
    cols[11].1 = ms(60); // first_seen_at stays
    cols[13].1 = "2".into(); // revision
    assert_eq!(
        row(&store, "items", "id", "join").await,
        with(
            cols,
            &[
                ("decision", "'publish'"),
                ("score", "0.5"),
                ("explanation", "NULL"),
                ("reasons", "'mars (0.75)'"),
                ("story_id", "'lead'"),
                ("fingerprint", fingerprint),
                ("categories", "'[]'"),
                ("held", "NULL"),
                ("story_reasons", "'same event'"),
                ("outlet", "NULL"),
                ("pruned_at", "NULL"),
                ("author", "'Bo Chan'"),
            ]
        )
    );
    assert_eq!(
        row(&store, "stories", "id", "join").await,
        None,
        "kept its story"
    );
}

/// A poll larger than one lookup statement (500 ids): stored, edited,
/// forgotten and new ids spread over both chunks of both lookups (items and
/// seen ids), the last chunk padded.
#[tokio::test]
async fn a_poll_of_more_ids_than_one_lookup_holds_is_counted_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir).await;
    let id = |i: usize| format!("n{i:04}");
    // Every third id stored: 334 of 0..1000.
    let old: Vec<ItemRecord> = (0..1000).step_by(3).map(|i| item(&id(i), "T")).collect();
    let c = store
        .commit_poll(FEED, &record(0), &old, &[])
        .await
        .expect("commit");
    assert_eq!(counts(&c), (334, 0, 0));
    // Forgotten: 5 is in the first chunk of the 666 unstored ids, 800 in
    // the second.
    for i in [5, 800] {
        sqlx::query("INSERT INTO seen_items (key_hash, first_seen) VALUES (?, ?)")
            .bind(retention::seen_key(&id(i)))
            .bind(super::time::to_ms(at(0)))
            .execute(&store.pool)
            .await
            .expect("seed the seen id");
    }
    let poll: Vec<ItemRecord> = (0..1000)
        .map(|i| item(&id(i), if i % 30 == 0 { "T2" } else { "T" }))
        .collect();
    let c = store
        .commit_poll(FEED, &record(60), &poll, &[])
        .await
        .expect("commit");
    // 664 new, 34 stored ones edited, 300 stored unchanged + 2 forgotten.
    assert_eq!(counts(&c), (664, 34, 302));
    assert_eq!(item_count(&store).await, 998);
}

/// A feed's state after a poll `at(secs)` with `outcome`; `etag` as sent.
fn state(secs: i64, outcome: PollOutcome, etag: Option<&str>, errors: u32) -> PollRecord {
    PollRecord {
        at: at(secs),
        outcome,
        status: match outcome {
            PollOutcome::Ok => Some(200),
            PollOutcome::NotModified => Some(304),
            PollOutcome::Error => None,
        },
        error: (outcome == PollOutcome::Error).then(|| "fetch: timed out".to_string()),
        etag: etag.map(str::to_string),
        last_modified: None,
        error_count: errors,
        next_check_at: at(secs + 600),
        item_count: (outcome == PollOutcome::Ok).then_some(3),
    }
}

/// The state columns that a poll writes, as `quote()`d text.
async fn state_row(store: &Store, url: &str) -> Vec<(String, String)> {
    row(store, "feeds", "url", url)
        .await
        .expect("a feed row")
        .into_iter()
        .filter(|(n, _)| n != "url")
        .collect()
}

#[tokio::test]
async fn states_written_together_are_the_states_polls_write_one_by_one() {
    let feeds = [
        "https://a.example/rss",
        "https://b.example/rss",
        "https://c.example/rss",
    ];
    // Two rounds of the three feeds: a new feed, a 304 keeping its ETag, a
    // failure keeping the last success and counting errors, a recovery.
    let rounds = [
        [
            state(0, PollOutcome::Ok, Some("\"a1\""), 0),
            state(0, PollOutcome::Error, None, 1),
            state(0, PollOutcome::Ok, Some("\"c1\""), 0),
        ],
        [
            state(60, PollOutcome::NotModified, None, 0),
            state(60, PollOutcome::Ok, Some("\"b2\""), 0),
            state(60, PollOutcome::Error, None, 1),
        ],
    ];
    let one_dir = tempfile::tempdir().expect("tempdir");
    let one_by_one = open(&one_dir).await;
    for round in &rounds {
        for (url, r) in feeds.iter().zip(round) {
            one_by_one
                .commit_poll(url, r, &[], &[])
                .await
                .expect("poll");
        }
    }
    let together_dir = tempfile::tempdir().expect("tempdir");
    let together = open(&together_dir).await;
    let new_item = [item("n1", "New")];
    for (n, round) in rounds.iter().enumerate() {
        let mut polls: Vec<PollCommit<'_>> = feeds
            .iter()
            .zip(round)
            .map(|(url, record)| PollCommit {
                feed_url: url,
                record,
                items: &[],
                publications: &[],
            })
            .collect();
        // The second round is a mixed batch: the states in one statement
        // inside the batch's transaction, beside a poll with an item.
        if n == 1 {
            polls.insert(
                1,
                PollCommit {
                    feed_url: FEED,
                    record: &rounds[0][0],
                    items: &new_item,
                    publications: &[],
                },
            );
        }
        let results = together.commit_polls(&polls).await.expect("batch");
        assert_eq!(results.len(), polls.len());
        for (p, r) in polls.iter().zip(&results) {
            let c = r.as_ref().expect("each poll committed");
            let inserted = u32::from(!p.items.is_empty());
            assert_eq!(counts(c), (inserted, 0, 0), "{}", p.feed_url);
        }
    }
    for url in feeds {
        assert_eq!(
            state_row(&together, url).await,
            state_row(&one_by_one, url).await,
            "{url}"
        );
    }
    // What the rows say, beyond agreeing: the 304 kept a's ETag and moved
    // its last success; c's failure kept its ETag and last success.
    let a = state_row(&together, feeds[0]).await;
    let get = |row: &[(String, String)], col: &str| {
        row.iter()
            .find(|(n, _)| n == col)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get(&a, "etag"), "'\"a1\"'");
    assert_eq!(get(&a, "last_success_at"), ms(60));
    assert_eq!(get(&a, "total_fetches"), "2");
    let c = state_row(&together, feeds[2]).await;
    assert_eq!(get(&c, "etag"), "'\"c1\"'");
    assert_eq!(get(&c, "last_success_at"), ms(0));
    assert_eq!(get(&c, "last_outcome"), "'error'");
    assert_eq!(
        (
            get(&c, "error_count").as_str(),
            get(&c, "total_errors").as_str()
        ),
        ("1", "1")
    );
    assert_eq!(get(&c, "last_item_count"), "3");
    assert_eq!(item_count(&together).await, 1);
}

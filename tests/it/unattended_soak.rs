//! Issue 9 §4 "Soak": 90 simulated days with an injected clock (no sleeping).
//!
//! In-process on purpose: the clock can only be injected through the library
//! calls the daemon's tick makes (`Ingest::poll_once(feed, now)`,
//! `Ingest::release(now)`, `app::maintain(store, now, retain)`, the same code
//! path). The farm is real: two feeds served over HTTP on 127.0.0.1 with new
//! items every day (a few on topic, most not), two of them failing on some
//! days, followers following and unfollowing, inbox activities arriving, and
//! a real SQLite file. Deliveries are settled through the store calls the
//! delivery worker makes (`claim_due`, `mark_delivered`, `mark_final`),
//! because the followers' inboxes are not real servers here.
//!
//! It asserts that the database file (its size once the WAL is checkpointed
//! into it) and the process's resident memory
//! level off: what days 60 to 90 add is at most 40 % of what the first
//! 30 days made, the file stays within an absolute bound, and it prints the
//! figures. Bounded: 90 days x 1 tick x 2 feeds (8 new items each a day),
//! and the whole run must finish within 180 s (about 35 s on an idle
//! machine in debug; most of it is the polls' matching).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use feedwatch::app::App;
use feedwatch::store::fed::Follower;

use crate::helpers::{TestEnv, feed, serve};

const DAYS: i64 = 90;
const TICKS_PER_DAY: i64 = 1;
const FEEDS: usize = 2;
/// Items a feed carries (its newest), and how many it adds a day.
const WINDOW: i64 = 16;
const PER_DAY: i64 = 8;

/// On-topic events, different enough not to be one story.
const EVENTS: [(&str, &str); 6] = [
    (
        "Taiwan police",
        "seek INTERPOL red notice for fugitive fraud boss hiding in Cambodia",
    ),
    (
        "Prosecutors in Kaohsiung",
        "say drug smugglers exploited Taiwan's exclusion from INTERPOL databases",
    ),
    (
        "Lawmakers in Washington",
        "urge INTERPOL to invite Taiwan to the General Assembly as observer",
    ),
    (
        "A stolen passport ring",
        "slipped through Taiwan airports because INTERPOL alerts never reached them",
    ),
    (
        "Taiwan's foreign ministry",
        "protests after INTERPOL again rejects its bid to attend the assembly in Lyon",
    ),
    (
        "Investigators tracking child abuse material",
        "say Taiwan lacks INTERPOL image database access",
    ),
];

/// One feed's document on `day`: its newest WINDOW items, PER_DAY a day; one
/// item in 24 (one every three days) is on topic, the rest off topic; every
/// item dated on its day.
fn feed_body(n: usize, day: i64, t0: DateTime<Utc>) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Farm {n}</title><link>https://farm{n}.example/</link><description>d</description>"#
    );
    let last = (day + 1) * PER_DAY;
    for k in (last - WINDOW).max(0)..last {
        let d = k / PER_DAY;
        let date = (t0 + TimeDelta::days(d) + TimeDelta::minutes(k % PER_DAY)).to_rfc2822();
        let (title, body) = if k % 24 == 0 {
            let (who, what) = EVENTS[((k / 24) as usize + n) % EVENTS.len()];
            (
                format!("{who} {what} (case {n}-{k})"),
                format!(
                    "Taiwan's Criminal Investigation Bureau said on day {d} that {who} {what}; INTERPOL has again kept Taiwan out of its I-24/7 network. Case {n}-{k}."
                ),
            )
        } else {
            (
                format!("Local council approves budget for park renovation number {n}-{k}"),
                format!(
                    "The council voted on day {d} to renovate park {n}-{k}, adding benches, lighting and a playground. {}",
                    "Residents had asked for more shade and safer paths for years. ".repeat(8)
                ),
            )
        };
        s.push_str(&format!(
            "<item><title>{title}</title><link>https://farm{n}.example/{k}</link><guid isPermaLink=\"false\">farm{n}-{k}</guid><pubDate>{date}</pubDate><description>{body}</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Set in the child process that runs the soak alone.
const ALONE: &str = "FEEDWATCH_SOAK_ALONE";

/// The soak runs in a child process of its own (this test binary, filtered
/// to this one test): the resident memory it measures is then its own, not
/// that of whatever other tests the harness runs at the same time in the
/// same process.
#[test]
fn ninety_simulated_days_level_off_in_size_and_memory() {
    if std::env::var_os(ALONE).is_some() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(soak());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "unattended_soak::ninety_simulated_days_level_off_in_size_and_memory",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ALONE, "1")
        .output()
        .expect("run the soak in a child process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "the soak failed in its process");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the soak: {stdout}"
    );
}

async fn soak() {
    let started = Instant::now();
    let t0 = Utc::now() - TimeDelta::days(DAYS + 1);
    let day = Arc::new(AtomicI64::new(0));
    let d = day.clone();
    let router = Router::new().route(
        "/f/{n}",
        get(move |Path(n): Path<usize>| {
            let today = d.load(Ordering::SeqCst);
            async move {
                // Feed 0 fails two days in nine (503), then recovers.
                if n == 0 && today % 9 < 2 {
                    return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                }
                (StatusCode::OK, feed_body(n, today, t0))
            }
        }),
    );
    let addr = serve(router).await;
    let feeds: Vec<_> = (0..FEEDS)
        .map(|n| {
            feed(
                format!("http://127.0.0.1:{}/f/{n}", addr.port()),
                &format!("Farm {n}"),
            )
        })
        .collect();
    let env = TestEnv::with_shipped_topic(&feeds);
    let text = std::fs::read_to_string(&env.config_path)
        .unwrap()
        .replace("max_age = \"off\"", "max_age = \"2d\"")
        .replace("max_per_hour = 0", "max_per_hour = 6");
    std::fs::write(&env.config_path, text).unwrap();
    let config = env.config();
    let retain = config.storage.retain;
    assert_eq!(
        retain,
        Duration::from_secs(30 * 86_400),
        "the default retain"
    );
    let app = App::build(config).await.unwrap();
    let sources = app.load_sources().unwrap();
    let fed = app.store.fed();

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.db_path.display()))
        .await
        .unwrap();
    // The file's size once the WAL is checkpointed into it and truncated:
    // without the checkpoint the main file lags the WAL by however much
    // SQLite's automatic checkpoint last left there, so the figure (and
    // the bounds below) depended on when that happened to run. Also the
    // bytes in use (pages not on the freelist), printed to compare.
    let db_size = || {
        let pool = pool.clone();
        let path = env.db_path.clone();
        async move {
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(busy, 0, "the checkpoint ran to the end");
            let main = std::fs::metadata(&path).map_or(0, |m| m.len());
            let used: i64 = sqlx::query_scalar(
                "SELECT (p.page_count - f.freelist_count) * s.page_size \
                 FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            (main, used as u64)
        }
    };
    // Bytes of item text kept (title, summary, content, explanation).
    let text_bytes = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT SUM(LENGTH(CAST(title || summary || content || IFNULL(explanation, '') AS BLOB))) FROM items",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
            .unwrap_or(0)
        }
    };
    let mut figures: Vec<(i64, u64, u64, u64, i64, i64)> = Vec::new();
    let mut failed_polls = 0;
    let mut last_maintenance: Option<DateTime<Utc>> = None;
    let mut last_full_vacuum = t0;
    // Time spent per phase: polls, release, deliveries, maintenance, churn.
    let mut spent = [Duration::ZERO; 5];
    for today in 0..DAYS {
        day.store(today, Ordering::SeqCst);
        for tick in 0..TICKS_PER_DAY {
            let now = t0 + TimeDelta::days(today) + TimeDelta::hours(1 + tick * 12);
            let t = Instant::now();
            for f in &sources {
                let r = app.ingest.poll_once(f, now).await.unwrap();
                if r.error.is_some() {
                    failed_polls += 1;
                }
            }
            spent[0] += t.elapsed();
            let t = Instant::now();
            app.ingest.release(now).await.unwrap();
            spent[1] += t.elapsed();
            let t = Instant::now();
            // The worker's store calls: most deliveries arrive, a few die.
            let due = fed
                .claim_due(now + TimeDelta::days(1), 10_000, Duration::from_secs(60))
                .await
                .unwrap();
            for (i, row) in due.iter().enumerate() {
                if i % 10 == 9 {
                    fed.mark_final(
                        row.id,
                        feedwatch::store::fed::FinalState::Dead,
                        Some(503),
                        "HTTP 503",
                    )
                    .await
                    .unwrap();
                } else {
                    fed.mark_delivered(row.id, 202, now).await.unwrap();
                }
            }
            spent[2] += t.elapsed();
            let t = Instant::now();
            // The daemon's maintenance: hourly from its tick, a full VACUUM weekly.
            if last_maintenance.is_none_or(|t| now - t >= feedwatch::app::MAINTENANCE_EVERY) {
                last_maintenance = Some(now);
                let full = now - last_full_vacuum >= feedwatch::app::FULL_VACUUM_EVERY;
                if full {
                    last_full_vacuum = now;
                }
                feedwatch::app::maintain(&app.store, now, retain, full).await;
            }
            spent[3] += t.elapsed();
        }
        let t = Instant::now();
        // Follower churn: three follow a day, two of the older ones leave;
        // every Follow and Undo is an inbox activity id remembered.
        let now = t0 + TimeDelta::days(today) + TimeDelta::hours(20);
        for k in 0..3 {
            let id = format!("https://peer{}.example/users/u{today}-{k}", k % 3);
            fed.upsert_follower(
                &Follower {
                    actor_id: id.clone(),
                    inbox: format!("{id}/inbox"),
                    shared_inbox: None,
                    follow_id: Some(format!("{id}/follow")),
                },
                now,
            )
            .await
            .unwrap();
            fed.claim_inbox_activity(&format!("{id}/follow"), "Follow", &id, now)
                .await
                .unwrap();
        }
        if today >= 2 {
            for k in 0..2 {
                let id = format!("https://peer{}.example/users/u{}-{k}", k % 3, today - 2);
                fed.remove_follower(&id).await.unwrap();
                fed.claim_inbox_activity(&format!("{id}/undo"), "Undo", &id, now)
                    .await
                    .unwrap();
            }
        }
        spent[4] += t.elapsed();
        if (today + 1) % 15 == 0 {
            let (main, used) = db_size().await;
            let stories = app.store.published_entry_count().await.unwrap() as i64;
            figures.push((
                today + 1,
                main,
                used,
                resident_kib(),
                stories,
                text_bytes().await,
            ));
            eprintln!(
                "soak: day {} after {:.1} s {spent:?}",
                today + 1,
                started.elapsed().as_secs_f64()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the soak is bounded to 180 s; at day {today}"
        );
    }
    println!(
        "soak: {DAYS} simulated days in {:.1} s, {failed_polls} failed polls",
        started.elapsed().as_secs_f64()
    );
    println!(
        "soak: seconds in polls {:.1}, release {:.1}, deliveries {:.1}, maintenance {:.1}, churn {:.1}",
        spent[0].as_secs_f64(),
        spent[1].as_secs_f64(),
        spent[2].as_secs_f64(),
        spent[3].as_secs_f64(),
        spent[4].as_secs_f64()
    );
    println!("soak: day  db_bytes  used_bytes  rss_kib  stories  item_text_bytes");
    for (d, main, used, rss, stories, text) in &figures {
        println!("soak: {d:>3}  {main:>9}  {used:>10}  {rss:>7}  {stories:>7}  {text:>15}");
    }
    for sql in [
        "SELECT COUNT(*) FROM items",
        "SELECT COUNT(*) FROM items WHERE pruned_at IS NOT NULL",
        "SELECT COUNT(*) FROM seen_items",
        "SELECT SUM(LENGTH(title)+LENGTH(summary)+LENGTH(content)+IFNULL(LENGTH(explanation),0)+IFNULL(LENGTH(reasons),0)+IFNULL(LENGTH(fingerprint),0)) FROM items",
        "SELECT SUM(LENGTH(explanation)) FROM items",
        "SELECT SUM(LENGTH(fingerprint)) FROM items",
        "SELECT SUM(LENGTH(fingerprint)) FROM stories",
        "SELECT COUNT(*) FROM stories",
        "SELECT COUNT(*) FROM fed_deliveries",
        "SELECT COUNT(*) FROM fed_activities",
        "SELECT SUM(LENGTH(json)) FROM fed_activities",
        "SELECT SUM(LENGTH(json)) FROM fed_notes",
        "SELECT COUNT(*) FROM fed_inbox_seen",
        "SELECT COUNT(*) FROM fed_followers",
        "SELECT COUNT(*) FROM publish_queue",
        "PRAGMA freelist_count",
        "PRAGMA page_count",
    ] {
        let v: Option<i64> = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        println!("soak: {sql} = {v:?}");
    }
    if let Ok(rows) = sqlx::query_as::<_, (String, i64)>(
        "SELECT name || ' payload ' || SUM(payload) || ' unused ' || SUM(unused) || ' cells ' || SUM(ncell), SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 16",
    )
    .fetch_all(&pool)
    .await
    {
        for (name, bytes) in rows {
            println!("soak: dbstat {name} {bytes}");
        }
    }
    let at = |d: i64| *figures.iter().find(|f| f.0 == d).unwrap();
    let (_, size30, _, _, _, _) = at(30);
    let (_, size60, _, rss60, stories60, text60) = at(60);
    let (_, size90, _, rss90, stories90, text90) = at(90);
    assert!(failed_polls > 0, "some feeds failed on some days");
    assert!(stories90 > stories60, "stories kept being published");
    // Retention holds the kept text level: 30 days' worth (and the published
    // stories'), the same at day 90 as at day 60, within 25 %.
    assert!(
        text90 <= text60 + text60 / 4,
        "item text keeps growing: {text60} B at day 60, {text90} B at day 90"
    );
    // The file levels off: what days 60 to 90 add is a fraction of what
    // the first 30 days made (one run: 1.26 MB at day 30, 1.65 MB at 60,
    // 2.02 MB at 90, so 29 %; before seen ids, 0.77 MB of 1.01 MB; sizes
    // after a checkpoint: 1.21 MB, 1.60 MB, 1.91 MB, so 26 %). Old
    // unpublished items leave `items` whole (their identity stays in
    // `seen_items`, about 30 B each); what keeps growing is what the bot
    // keeps by design, the published stories (entries, Notes, their items),
    // and here the deliveries to a follower list that grows by one a day.
    let first = size30 as i64;
    let last = size90 as i64 - size60 as i64;
    assert!(
        last * 10 <= first * 4,
        "the database does not level off: {size30} B at day 30, {size60} B at day 60, {size90} B at day 90"
    );
    // And in absolute terms: this farm (16 items a day from 2 feeds, a
    // story every day and a half) stays under 2.5 MiB after 90 days.
    assert!(
        size90 < 5 * 512 * 1024,
        "the database is {size90} B at day 90 (30: {size30} B, 60: {size60} B)"
    );
    // Memory: day 90 within 25 % (+16 MiB for allocator noise) of day 60.
    assert!(
        rss90 <= rss60 + rss60 / 4 + 16 * 1024,
        "resident memory keeps growing: {rss60} KiB at day 60, {rss90} KiB at day 90"
    );
}

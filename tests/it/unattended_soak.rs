//! Issue 9 §4 "Soak": 90 simulated days with an injected clock (no sleeping).
//!
//! In-process on purpose: the clock can only be injected through the library
//! calls the daemon's tick makes (`Ingest::poll_once(feed, now)`,
//! `Ingest::release(now)`, `app::maintain(store, now, retain)`, the same code
//! path). The farm is real: six feeds served over HTTP on 127.0.0.1 with new
//! items every day (a few on topic, most not), two of them failing on some
//! days, followers following and unfollowing, inbox activities arriving, and
//! a real SQLite file. Deliveries are settled through the store calls the
//! delivery worker makes (`claim_due`, `mark_delivered`, `mark_final`),
//! because the followers' inboxes are not real servers here.
//!
//! It asserts that the database file and the process's resident memory
//! level off: what day 90 adds over day 60 is bounded, and prints the
//! figures. Bounded: 90 days x 2 ticks x 6 feeds, and the whole run must
//! finish within 120 s.

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
const TICKS_PER_DAY: i64 = 2;
const FEEDS: usize = 6;
/// Items a feed carries (its newest), and how many it adds a day.
const WINDOW: i64 = 12;
const PER_DAY: i64 = 4;

/// One feed's document on `day`: its newest WINDOW items, PER_DAY a day, one
/// in four on topic (each on-topic item a different event, so each is a
/// story), the rest off topic; every item dated on its day.
fn feed_body(n: usize, day: i64, t0: DateTime<Utc>) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Farm {n}</title><link>https://farm{n}.example/</link><description>d</description>"#
    );
    let last = (day + 1) * PER_DAY;
    for k in (last - WINDOW).max(0)..last {
        let d = k / PER_DAY;
        let date = (t0 + TimeDelta::days(d) + TimeDelta::minutes(k % PER_DAY)).to_rfc2822();
        let (title, body) = if k % 4 == 0 {
            (
                format!("Taiwan asks INTERPOL for access to notice system in case {n}-{k}"),
                format!(
                    "Taiwan's Criminal Investigation Bureau said on day {d} that INTERPOL again refused it access to the I-24/7 network while investigating fraud ring {n}-{k} operating from Southeast Asia."
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ninety_simulated_days_level_off_in_size_and_memory() {
    let started = Instant::now();
    let t0 = Utc::now() - TimeDelta::days(DAYS + 1);
    let day = Arc::new(AtomicI64::new(0));
    let d = day.clone();
    let router = Router::new().route(
        "/f/{n}",
        get(move |Path(n): Path<usize>| {
            let today = d.load(Ordering::SeqCst);
            async move {
                // Feeds 0 and 1 fail on some days (503), then recover.
                if (n < 2) && (today + n as i64) % 9 < 2 {
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

    let db_size = || {
        let main = std::fs::metadata(&env.db_path).map_or(0, |m| m.len());
        let wal = std::fs::metadata(env.db_path.with_extension("db-wal")).map_or(0, |m| m.len());
        (main, wal)
    };
    let mut figures: Vec<(i64, u64, u64, u64, i64)> = Vec::new();
    let mut failed_polls = 0;
    let mut last_maintenance: Option<DateTime<Utc>> = None;
    for today in 0..DAYS {
        day.store(today, Ordering::SeqCst);
        for tick in 0..TICKS_PER_DAY {
            let now = t0 + TimeDelta::days(today) + TimeDelta::hours(1 + tick * 12);
            for f in &sources {
                let r = app.ingest.poll_once(f, now).await.unwrap();
                if r.error.is_some() {
                    failed_polls += 1;
                }
            }
            app.ingest.release(now).await.unwrap();
            // The worker's store calls: most deliveries arrive, a few die.
            let due = fed
                .claim_due(now + TimeDelta::days(1), 10_000, Duration::from_secs(60))
                .await
                .unwrap();
            for (i, row) in due.iter().enumerate() {
                if i % 10 == 9 {
                    fed.mark_final(row.id, "dead", Some(503), "HTTP 503")
                        .await
                        .unwrap();
                } else {
                    fed.mark_delivered(row.id, 202, now).await.unwrap();
                }
            }
            // The daemon's maintenance: hourly from its tick.
            if last_maintenance.is_none_or(|t| now - t >= feedwatch::app::MAINTENANCE_EVERY) {
                last_maintenance = Some(now);
                feedwatch::app::maintain(&app.store, now, retain).await;
            }
        }
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
        if (today + 1) % 15 == 0 {
            let (main, wal) = db_size();
            let stories = app.store.published_entry_count().await.unwrap() as i64;
            figures.push((today + 1, main, wal, resident_kib(), stories));
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the soak is bounded to 120 s; at day {today}"
        );
    }
    println!(
        "soak: {DAYS} simulated days in {:.1} s, {failed_polls} failed polls",
        started.elapsed().as_secs_f64()
    );
    println!("soak: day  db_bytes   wal_bytes  rss_kib  stories");
    for (d, main, wal, rss, stories) in &figures {
        println!("soak: {d:>3}  {main:>9}  {wal:>9}  {rss:>7}  {stories:>7}");
    }
    let at = |d: i64| *figures.iter().find(|f| f.0 == d).unwrap();
    let (_, size30, _, _, _) = at(30);
    let (_, size60, _, rss60, stories60) = at(60);
    let (_, size90, _, rss90, stories90) = at(90);
    assert!(failed_polls > 0, "some feeds failed on some days");
    assert!(stories90 > stories60, "stories kept being published");
    // Without retention every day adds the same text; with it, what the
    // last 30 days add is small next to the first 30 (the kept identity of
    // pruned items and the published stories only).
    let first = size30 as i64;
    let last = size90 as i64 - size60 as i64;
    assert!(
        last * 4 < first,
        "the database keeps growing: {size30} B at day 30, {size60} B at day 60, {size90} B at day 90"
    );
    // Memory: day 90 within 25 % (+16 MiB for allocator noise) of day 60.
    assert!(
        rss90 <= rss60 + rss60 / 4 + 16 * 1024,
        "resident memory keeps growing: {rss60} KiB at day 60, {rss90} KiB at day 90"
    );
}

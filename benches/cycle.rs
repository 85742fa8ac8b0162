//! Ingest cycles at scale, through the real path (fetch → parse → normalize →
//! match → dedupe → commit), against a loopback farm of N feeds, next to a
//! Python feedparser bot (`benches/peer/bot.py`) on the same farm.
//!
//! Run: `cargo bench --bench cycle`. Environment:
//! - `FEEDWATCH_BENCH_FEEDS` (default 100): N feeds, 40 items each, about 5%
//!   on topic, spread over 8 loopback addresses (127.0.0.1–127.0.0.8);
//! - `FEEDWATCH_BENCH_RUNS` (default 3): runs per phase;
//! - `FEEDWATCH_BENCH_PEER=0` skips the Python bot.
//!
//! Phases, each on a fresh database per run: **cold** (empty store, every
//! feed 200), **warm** (every feed 304), **bump** (10% of feeds gain 5 items),
//! all three in one `App`, as one daemon runs them (and one bot process).
//! Printed per phase: wall time, CPU time (user + system) and peak RSS of the
//! process (VmHWM, reset before each phase), min/median/max over the runs,
//! and the database size per stored item after the three phases. The farm runs
//! in a child process so its CPU is not counted, and each feedwatch run runs
//! in a fresh child process, as each of the bot's runs does. The two tools
//! alternate run by run so machine drift hits both alike.

// A bench is test code: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

const ADDRESSES: u8 = 8;
const ITEMS: usize = 40;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------- the farm

/// One feed's document: `ITEMS` items, the newest `extra` of them added by
/// bumps, all dated `date` (RFC 2822).
fn feed_doc(feed: usize, bump: u32, date: &str) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Outlet {feed}</title><link>https://outlet{feed}.example/</link><description>News</description>"
    );
    let total = ITEMS + 5 * bump as usize;
    for i in (0..total).rev().take(ITEMS + 5) {
        let (title, lead) = if (feed * 7 + i) % 20 == 0 {
            (
                format!("Taiwan seeks INTERPOL access after exclusion, report {feed}-{i}"),
                format!(
                    "Taiwan was again shut out of the INTERPOL General Assembly, leaving its police without the I-24/7 network; case {feed}-{i} involves a transnational scam ring."
                ),
            )
        } else {
            (
                format!("Council approves budget for park renovation {feed}-{i}"),
                format!(
                    "The city council approved a budget for renovating the riverside park, item {feed}-{i}; work starts in spring and includes new lighting and benches."
                ),
            )
        };
        s.push_str(&format!(
            "<item><title>{title}</title><link>https://outlet{feed}.example/a/{i}</link><guid>https://outlet{feed}.example/a/{i}</guid><description>{lead}</description><pubDate>{date}</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

#[derive(Clone)]
struct Farm {
    /// Bump generation per feed (the ETag is derived from it).
    bumps: Arc<Vec<AtomicU32>>,
    /// Every item's date: an hour before the farm started, so that the
    /// on-topic items pass the shipped age gate (`[publish] max_age`, two
    /// days) and take the whole path, stories and release included. A fixed
    /// date held them all once it was two days old, and the bench then
    /// measured a cycle with no stories.
    date: Arc<str>,
}

async fn serve_feed(
    State(farm): State<Farm>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Some(n) = name
        .strip_prefix('f')
        .and_then(|s| s.strip_suffix(".xml"))
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n < farm.bumps.len())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let bump = farm.bumps[n].load(Ordering::Relaxed);
    let etag = format!("\"{n}-{bump}\"");
    let last_modified = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + u64::from(bump) * 60),
    );
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            feed_doc(n, bump, &farm.date),
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag.parse().expect("etag header"));
    h.insert(
        header::LAST_MODIFIED,
        last_modified.parse().expect("date header"),
    );
    response
}

/// `POST /bump/{every}`: every `every`-th feed gains 5 items.
async fn bump(State(farm): State<Farm>, UrlPath(every): UrlPath<usize>) -> &'static str {
    for (i, b) in farm.bumps.iter().enumerate() {
        if i % every.max(1) == 0 {
            b.fetch_add(1, Ordering::Relaxed);
        }
    }
    "ok"
}

/// `POST /reset`: every feed back to its first version.
async fn reset(State(farm): State<Farm>) -> &'static str {
    for b in farm.bumps.iter() {
        b.store(0, Ordering::Relaxed);
    }
    "ok"
}

/// The child process: serves N feeds on 127.0.0.1–8 and prints their ports.
fn run_farm(n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("farm runtime");
    rt.block_on(async move {
        let farm = Farm {
            bumps: Arc::new((0..n).map(|_| AtomicU32::new(0)).collect()),
            date: (chrono::Utc::now() - chrono::Duration::hours(1))
                .to_rfc2822()
                .into(),
        };
        let router = Router::new()
            .route("/{name}", get(serve_feed))
            .route("/bump/{every}", post(bump))
            .route("/reset", post(reset))
            .with_state(farm);
        let mut ports = Vec::new();
        for a in 1..=ADDRESSES {
            let listener = tokio::net::TcpListener::bind(format!("127.0.0.{a}:0"))
                .await
                .expect("bind a loopback address");
            ports.push(listener.local_addr().expect("addr").port());
            let r = router.clone();
            tokio::spawn(async move {
                let _ = axum::serve(listener, r).await;
            });
        }
        println!(
            "{}",
            ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let _ = std::io::stdout().flush();
        // Until the bench closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await;
    });
}

struct FarmProcess {
    child: Child,
    urls: Vec<String>,
    control: String,
}

impl FarmProcess {
    fn start(n: usize) -> FarmProcess {
        let mut child = Command::new(std::env::current_exe().expect("bench binary"))
            .env("FEEDWATCH_BENCH_FARM", n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the farm");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("farm stdout"))
            .read_line(&mut line)
            .expect("farm ports");
        let ports: Vec<u16> = line
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        assert_eq!(ports.len(), usize::from(ADDRESSES), "farm ports: {line}");
        let urls = (0..n)
            .map(|i| {
                let a = i % ports.len();
                format!("http://127.0.0.{}:{}/f{i}.xml", a + 1, ports[a])
            })
            .collect();
        FarmProcess {
            child,
            urls,
            control: format!("http://127.0.0.1:{}", ports[0]),
        }
    }

    fn post(&self, path: &str) {
        farm_post(&self.control, path);
    }
}

/// A control request to the farm (`/reset`, `/bump/{every}`), sent by a
/// short-lived python3 so that no HTTP client's memory is in the process
/// being measured.
fn farm_post(control: &str, path: &str) {
    let status = Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request;urllib.request.urlopen(urllib.request.Request(sys.argv[1],method='POST'),timeout=10)",
            &format!("{control}{path}"),
        ])
        .status()
        .expect("python3");
    assert!(status.success(), "farm control {path}");
}

impl Drop for FarmProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // the farm exits on EOF
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------ measurements

/// User + system CPU of this process, from /proc (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, s)| s);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of stat; after the ')' they are the 12th and 13th.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Peak resident set size since the last reset, in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn reset_peak_rss() {
    // "5" resets VmHWM to the current RSS (Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rss: Vec<f64>,
}

fn spread(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return "-".into();
    }
    format!(
        "{:.2} / {:.2} / {:.2}",
        s[0],
        s[s.len() / 2],
        s[s.len() - 1]
    )
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

// ------------------------------------------------------------- feedwatch

fn write_deployment(dir: &Path, urls: &[String]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("config.toml")).expect("config.toml");
    let topic = &shipped[shipped.find("\n[topic]\n").expect("shipped [topic]")..];
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[bot]\nbase_url = \"http://localhost:8080\"\n\
         [storage]\nurl = \"sqlite://data/feedwatch.db\"\n[sources]\npath = \"sources.toml\"\n\
         [schedule]\njitter = \"0\"\n[fetch]\nconcurrency = 16\nper_host_concurrency = 4\n\
         [publish]\nfetch_article = false\n{topic}"
    );
    std::fs::write(dir.join("config.toml"), config).expect("write config");
    std::fs::create_dir_all(dir.join("feeds")).expect("feeds dir");
    std::fs::copy(
        root.join("feeds/topic-interpol-taiwan.md"),
        dir.join("feeds/topic-interpol-taiwan.md"),
    )
    .expect("copy profile");
    // The shipped [topic] names its alias table too.
    std::fs::copy(
        root.join("feeds/aliases.toml"),
        dir.join("feeds/aliases.toml"),
    )
    .expect("copy alias table");
    let mut sources = String::new();
    for (i, u) in urls.iter().enumerate() {
        sources.push_str(&format!(
            "[[feed]]\nurl = \"{u}\"\nname = \"Outlet {i}\"\n\n"
        ));
    }
    std::fs::write(dir.join("sources.toml"), sources).expect("write sources");
}

/// One cycle over every feed: (wall s, cpu s, peak RSS MB) and the report.
async fn measured_cycle(
    app: &feedwatch::app::App,
    feeds: &[feedwatch::sources::FeedSource],
) -> ((f64, f64, f64), feedwatch::pipeline::schedule::CycleReport) {
    reset_peak_rss();
    let (t0, c0) = (Instant::now(), cpu_time());
    let r = app
        .ingest
        .run_cycle(feeds.to_vec(), false, CancellationToken::new())
        .await
        .expect("cycle");
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_time() - c0).as_secs_f64();
    assert_eq!(r.failed, 0, "failed polls: {:?}", r.reports.first());
    ((wall, cpu, peak_rss_mb()), r)
}

/// One run of the three phases on a fresh database, in a child process of
/// its own, as the Python bot's runs are: (wall, cpu, rss) per phase and the
/// database bytes per item after the three phases. A fresh process per run
/// means no run's peak RSS carries an earlier run's heap.
fn feedwatch_run(farm: &FarmProcess, print_dbstat: bool) -> (Vec<(f64, f64, f64)>, f64) {
    farm.post("/reset");
    let dir = tempfile::tempdir().expect("temp dir");
    write_deployment(dir.path(), &farm.urls);
    let out = Command::new(std::env::current_exe().expect("bench binary"))
        .env("FEEDWATCH_BENCH_RUN", dir.path())
        .env("FEEDWATCH_BENCH_CONTROL", &farm.control)
        .env(
            "FEEDWATCH_BENCH_DBSTAT",
            if print_dbstat { "1" } else { "0" },
        )
        .stderr(Stdio::inherit())
        .output()
        .expect("start a feedwatch run");
    assert!(out.status.success(), "feedwatch run: {}", out.status);
    let mut phases = Vec::new();
    let mut per_item = f64::NAN;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if v.get("bytes_per_item").is_some() => {
                per_item = v["bytes_per_item"].as_f64().expect("bytes");
                if print_dbstat {
                    println!("stories started by the cold cycle: {}", v["stories"]);
                }
            }
            Ok(v) => phases.push((
                v["wall"].as_f64().expect("wall"),
                v["cpu"].as_f64().expect("cpu"),
                v["rss_mb"].as_f64().expect("rss"),
            )),
            // dbstat's table, printed as it comes.
            Err(_) => println!("{line}"),
        }
    }
    assert_eq!(phases.len(), 3, "feedwatch run: three phases");
    (phases, per_item)
}

/// The child's side of [`feedwatch_run`]: the three phases on the deployment
/// in `dir`, one JSON line per phase and one with the bytes per item.
fn feedwatch_child(dir: &Path, control: &str, print_dbstat: bool) {
    // As the daemon's main does first: at most two malloc arenas.
    feedwatch::infra::memory::limit_arenas();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let load = || {
        feedwatch::config::load_with_env(&dir.join("config.toml"), Vec::new())
            .expect("bench config")
    };
    let phase = |(wall, cpu, rss): (f64, f64, f64)| {
        println!(
            "{}",
            serde_json::json!({ "wall": wall, "cpu": cpu, "rss_mb": rss })
        );
    };
    rt.block_on(async {
        let app = feedwatch::app::App::build(load()).await.expect("app");
        let feeds = app.load_sources().expect("sources");
        let (cold, _) = measured_cycle(&app, &feeds).await;
        phase(cold);
        // The on-topic items took the whole path: they started stories.
        let stories = app
            .store
            .recent_story_fingerprints_at(chrono::Utc::now() - chrono::Duration::days(1))
            .await
            .expect("stories")
            .len();
        assert!(stories > 0, "the cold cycle started no story");
        // The same App goes on, as one daemon does (the bot's phases run in
        // one process too): pages and heap the cold cycle left count in the
        // next phases' peaks, as they would in a daemon's.
        let (warm, r) = measured_cycle(&app, &feeds).await;
        assert_eq!(r.not_modified, feeds.len(), "warm: all 304");
        phase(warm);
        farm_post(control, "/bump/10");
        let (bumped, r) = measured_cycle(&app, &feeds).await;
        assert_eq!(
            r.inserted as usize,
            5 * feeds.len().div_ceil(10),
            "bump: 5 new items per bumped feed"
        );
        phase(bumped);
        let items = app.store.item_count().await.expect("count");
        // Closing checkpoints the WAL into the file.
        app.store.close().await;
        let db = dir.join("data/feedwatch.db");
        let bytes = std::fs::metadata(&db).map_or(0, |m| m.len());
        if print_dbstat {
            dbstat(&db, items);
        }
        println!(
            "{}",
            serde_json::json!({
                "bytes_per_item": bytes as f64 / items.max(1) as f64,
                "stories": stories,
            })
        );
    });
}

// ------------------------------------------------------------- the peer

/// One run of the Python bot; it prints one JSON line per phase.
/// Bytes per stored item of each table and index (SQLite's `dbstat`, read
/// with the `sqlite3` shell; skipped, saying so, when it is absent).
fn dbstat(db: &Path, items: u64) {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 12")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            println!("dbstat after the three phases ({items} items), bytes per item:");
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                if let Some((name, bytes)) = line.split_once('|') {
                    let bytes: f64 = bytes.trim().parse().unwrap_or(0.0);
                    println!("  {name:<28} {:>8.1}", bytes / items.max(1) as f64);
                }
            }
        }
        _ => println!("dbstat skipped: no sqlite3 shell with dbstat"),
    }
}

fn peer_run(farm: &FarmProcess) -> Option<Vec<(f64, f64, f64)>> {
    farm.post("/reset");
    let dir = tempfile::tempdir().expect("temp dir");
    let list = dir.path().join("feeds.txt");
    std::fs::write(&list, farm.urls.join("\n")).expect("feed list");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/bot.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&list)
        .arg(dir.path().join("bot.db"))
        .arg(format!("{}/bump/10", farm.control))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("peer failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let mut phases = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        phases.push((
            v["wall"].as_f64()?,
            v["cpu"].as_f64()?,
            v["rss_mb"].as_f64()?,
        ));
    }
    (phases.len() == 3).then_some(phases)
}

fn main() {
    if let Ok(n) = std::env::var("FEEDWATCH_BENCH_FARM") {
        run_farm(n.parse().unwrap_or(100));
        return;
    }
    if let Some(dir) = std::env::var_os("FEEDWATCH_BENCH_RUN") {
        let control = std::env::var("FEEDWATCH_BENCH_CONTROL").expect("farm control URL");
        let dbstat = std::env::var("FEEDWATCH_BENCH_DBSTAT").is_ok_and(|v| v == "1");
        feedwatch_child(Path::new(&dir), &control, dbstat);
        return;
    }
    // `cargo bench` passes --bench; nothing else to parse.
    let n = env_usize("FEEDWATCH_BENCH_FEEDS", 100);
    let runs = env_usize("FEEDWATCH_BENCH_RUNS", 3).max(1);
    let with_peer = std::env::var("FEEDWATCH_BENCH_PEER").map_or(true, |v| v != "0");
    let farm = FarmProcess::start(n);
    let phases = ["cold", "warm (all 304)", "bump (10% +5 items)"];
    let mut ours: Vec<Samples> = (0..3).map(|_| Samples::default()).collect();
    let mut peer: Vec<Samples> = (0..3).map(|_| Samples::default()).collect();
    let mut bytes_per_item = Vec::new();
    for run in 0..runs {
        // Alternate which tool goes first.
        let order: &[bool] = if run % 2 == 0 {
            &[true, false]
        } else {
            &[false, true]
        };
        for &feedwatch_turn in order {
            if feedwatch_turn {
                let (p, per_item) = feedwatch_run(&farm, run == 0);
                bytes_per_item.push(per_item);
                for (s, (w, c, r)) in ours.iter_mut().zip(p) {
                    s.wall.push(w);
                    s.cpu.push(c);
                    s.rss.push(r);
                }
            } else if with_peer {
                match peer_run(&farm) {
                    Some(p) => {
                        for (s, (w, c, r)) in peer.iter_mut().zip(p) {
                            s.wall.push(w);
                            s.cpu.push(c);
                            s.rss.push(r);
                        }
                    }
                    None => eprintln!("the Python bot did not run (python3 + feedparser needed)"),
                }
            }
        }
    }
    println!(
        "cycle bench: N = {n} feeds x {ITEMS} items over {ADDRESSES} loopback addresses, {runs} runs; min / median / max"
    );
    for (i, phase) in phases.iter().enumerate() {
        println!("{phase}:");
        println!(
            "  feedwatch   wall s {}   cpu s {}   peak RSS MB {}",
            spread(&ours[i].wall),
            spread(&ours[i].cpu),
            spread(&ours[i].rss)
        );
        if !peer[i].wall.is_empty() {
            println!(
                "  python bot  wall s {}   cpu s {}   peak RSS MB {}",
                spread(&peer[i].wall),
                spread(&peer[i].cpu),
                spread(&peer[i].rss)
            );
            println!(
                "  ratio feedwatch / bot (medians): wall {:.2}, peak RSS {:.2}",
                median(&ours[i].wall) / median(&peer[i].wall),
                median(&ours[i].rss) / median(&peer[i].rss)
            );
        }
    }
    println!(
        "database after the three phases: {} bytes per stored item",
        spread(&bytes_per_item)
    );
}

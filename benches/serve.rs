//! Serving: the real HTTP server (`web::router` behind `web::serve`) next to
//! nginx serving the same `/feed.xml` bytes as a static file, at
//! concurrency 16 on loopback.
//!
//! Run: `cargo bench --bench serve`. Environment:
//! - `FEEDWATCH_BENCH_RUNS` (default 5): runs per request kind;
//! - `FEEDWATCH_BENCH_SECONDS` (default 3): length of one run.
//!
//! The store holds 50 published stories (the feed's default length), written
//! through `Store::commit_poll`. The load generator is `wrk` (one thread, 16
//! connections) when installed, else a small in-process client (16 tasks over
//! hyper, bounded in count and time; it shares the CPU with the server, so
//! its figures are lower). nginx is skipped with a message when absent.
//! Printed: requests per second, min / median / max over the runs, and the
//! load average at the start, since the machine may be shared.

// A bench is test code: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use feedwatch::model::{FeedEntryRow, PollOutcome, PollRecord, Publication};
use tokio_util::sync::CancellationToken;

const CONNECTIONS: usize = 16;
const ENTRIES: usize = 50;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn spread(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return "-".into();
    }
    format!(
        "{:.0} / {:.0} / {:.0}",
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

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The deployment: shipped topic, an empty source list, a store in `dir`.
fn write_deployment(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("config.toml")).expect("config.toml");
    let topic = &shipped[shipped.find("\n[topic]\n").expect("shipped [topic]")..];
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[bot]\nbase_url = \"http://localhost:8080\"\n\
         [storage]\nurl = \"sqlite://data/feedwatch.db\"\n[sources]\npath = \"sources.toml\"\n\
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
    std::fs::write(dir.join("sources.toml"), "").expect("write sources");
}

/// `ENTRIES` published stories of realistic size.
async fn publish_entries(app: &feedwatch::app::App) {
    let now = Utc::now();
    let publications: Vec<Publication> = (0..ENTRIES)
        .map(|i| {
            let at = now - chrono::Duration::minutes(i as i64);
            let summary = format!(
                "Taiwan was again shut out of the INTERPOL General Assembly, leaving its police without direct access to the I-24/7 network and the notices it carries. Case {i} involves a transnational scam ring whose members moved between jurisdictions faster than requests could follow them; officials said the gap costs weeks in every cross-border investigation."
            );
            let entry = FeedEntryRow {
                story_id: format!("{i:032x}"),
                title: format!("Taiwan seeks INTERPOL access after exclusion, report {i}"),
                summary: summary.clone(),
                link: format!("https://outlet{i}.example/a/{i}"),
                lang: "en".into(),
                hashtags: vec!["Taiwan".into(), "INTERPOL".into()],
                post_html: format!("<p>{summary}</p><p><a href=\"https://outlet{i}.example/a/{i}\">Outlet {i}</a></p>"),
                post_text: summary,
                spoiler_text: None,
                published_at: at,
                updated_at: at,
                revision: 1,
            };
            Publication::New {
                entry,
                activity: None,
            }
        })
        .collect();
    let record = PollRecord {
        at: now,
        outcome: PollOutcome::Ok,
        status: Some(200),
        error: None,
        etag: None,
        last_modified: None,
        error_count: 0,
        next_check_at: now,
        item_count: Some(0),
    };
    app.store
        .commit_poll(
            "https://bench.example/feed.xml",
            &record,
            &[],
            &publications,
        )
        .await
        .expect("publish the bench entries");
}

/// A static server for `dir` on a free loopback port: nginx, or None.
fn start_nginx(dir: &Path) -> Option<(Child, u16)> {
    if !has("nginx") {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let d = dir.display();
    let conf = format!(
        "worker_processes 2;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nuser root;\n\
         events {{ worker_connections 256; }}\n\
         http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};\n\
         uwsgi_temp_path {d}; scgi_temp_path {d};\n\
         types {{ application/rss+xml xml; }}\n\
         server {{ listen 127.0.0.1:{port}; root {d}; }} }}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).ok()?;
    // Its workers inherit the standard streams: with them on the bench's
    // stdout, a worker that outlived the bench kept a reader of that output
    // (a pipe, `tee`, `$(…)`) waiting.
    let child = Command::new("nginx")
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Until it answers (at most 5 s).
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop_nginx(child);
    None
}

/// Stops nginx and its workers. SIGKILL would stop the master alone and
/// leave its workers running; on SIGTERM the master stops them and exits.
fn stop_nginx(mut master: Child) {
    if let Ok(pid) = libc::pid_t::try_from(master.id()) {
        // SAFETY: kill(2) with a PID this process spawned and has not yet
        // reaped, so it cannot name another process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = master.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = master.kill();
    let _ = master.wait();
}

/// One run of `wrk`: requests per second.
fn wrk(url: &str, header: Option<&str>, seconds: usize) -> Option<f64> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t1",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "Non-2xx or 3xx responses" would mean the server refused: not a figure.
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        eprintln!("wrk {url}: {text}");
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// One run of the in-process client: requests per second (bounded: at most
/// `seconds` and 200,000 requests).
async fn client_run(url: &str, header: Option<(String, String)>, seconds: usize) -> Option<f64> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (client, url, header) = (client.clone(), url.to_string(), header.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline && n < 200_000 / CONNECTIONS as u64 {
                let mut req = client.get(&url);
                if let Some((k, v)) = &header {
                    req = req.header(k, v);
                }
                let Ok(r) = req.send().await else { break };
                if r.bytes().await.is_err() {
                    break;
                }
                n += 1;
            }
            n
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.unwrap_or(0);
    }
    Some(total as f64 / started.elapsed().as_secs_f64())
}

/// (label, URL, request header)
type Case = (String, String, Option<(&'static str, String)>);

fn main() {
    let runs = env_usize("FEEDWATCH_BENCH_RUNS", 5).max(1);
    let seconds = env_usize("FEEDWATCH_BENCH_SECONDS", 3).max(1);
    let load_at_start = loadavg();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    write_deployment(dir.path());
    let static_dir = tempfile::tempdir().expect("static dir");
    let token = CancellationToken::new();
    let (base, body, etag) = rt.block_on(async {
        let config = feedwatch::config::load_with_env(&dir.path().join("config.toml"), Vec::new())
            .expect("bench config");
        let app = feedwatch::app::App::build(config).await.expect("app");
        publish_entries(&app).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = feedwatch::web::router(app.web_state());
        tokio::spawn(feedwatch::web::serve::serve(
            listener,
            router,
            feedwatch::web::serve::Limits::default(),
            token.clone(),
        ));
        let base = format!("http://{addr}");
        let r = reqwest::get(format!("{base}/feed.xml"))
            .await
            .expect("GET /feed.xml");
        assert!(r.status().is_success(), "/feed.xml: {}", r.status());
        let etag = r
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .expect("/feed.xml has an ETag")
            .to_string();
        let body = r.bytes().await.expect("feed body");
        (base, body, etag)
    });
    std::fs::write(static_dir.path().join("feed.xml"), &body).expect("static copy");
    let nginx = start_nginx(static_dir.path());
    let use_wrk = has("wrk");
    let one = |url: &str, header: Option<(&str, &str)>| -> Option<f64> {
        if use_wrk {
            wrk(
                url,
                header.map(|(k, v)| format!("{k}: {v}")).as_deref(),
                seconds,
            )
        } else {
            rt.block_on(client_run(
                url,
                header.map(|(k, v)| (k.to_string(), v.to_string())),
                seconds,
            ))
        }
    };
    let nginx_etag = nginx.as_ref().and_then(|(_, port)| {
        rt.block_on(async {
            let r = reqwest::get(format!("http://127.0.0.1:{port}/feed.xml"))
                .await
                .ok()?;
            r.headers().get("etag")?.to_str().ok().map(str::to_string)
        })
    });
    let mut cases: Vec<Case> = vec![
        (
            format!(
                "feedwatch /feed.xml ({} KB, {ENTRIES} entries) 200",
                body.len() / 1024
            ),
            format!("{base}/feed.xml"),
            None,
        ),
        (
            "feedwatch /feed.xml If-None-Match 304".into(),
            format!("{base}/feed.xml"),
            Some(("If-None-Match", etag.clone())),
        ),
        ("feedwatch / (page 1)".into(), format!("{base}/"), None),
    ];
    if let Some((_, port)) = &nginx {
        cases.push((
            "nginx, the same /feed.xml bytes 200".into(),
            format!("http://127.0.0.1:{port}/feed.xml"),
            None,
        ));
        if let Some(e) = &nginx_etag {
            cases.push((
                "nginx /feed.xml If-None-Match 304".into(),
                format!("http://127.0.0.1:{port}/feed.xml"),
                Some(("If-None-Match", e.clone())),
            ));
        }
    }
    // Runs interleave the cases so machine drift hits them alike.
    let mut figures: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..runs {
        for (i, (_, url, header)) in cases.iter().enumerate() {
            if let Some(rps) = one(url, header.as_ref().map(|(k, v)| (*k, v.as_str()))) {
                figures[i].push(rps);
            }
        }
    }
    println!(
        "serve bench: concurrency {CONNECTIONS}, {runs} runs of {seconds} s each, load generator {}; load average at start {load_at_start}",
        if use_wrk {
            "wrk -t1"
        } else {
            "in-process (wrk not installed)"
        }
    );
    println!("req/s min / median / max:");
    for ((name, _, _), f) in cases.iter().zip(&figures) {
        println!("  {name:<48} {}", spread(f));
    }
    if nginx.is_some() {
        println!(
            "ratio feedwatch / nginx (medians): /feed.xml 200 {:.2}; feedwatch 304 / nginx 200 {:.2}",
            median(&figures[0]) / median(&figures[3]),
            median(&figures[1]) / median(&figures[3])
        );
    } else {
        println!("nginx not installed: no static-file baseline (apt-get install nginx)");
    }
    token.cancel();
    if let Some((child, _)) = nginx {
        stop_nginx(child);
    }
}

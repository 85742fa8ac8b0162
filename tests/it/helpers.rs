//! Shared test scaffolding: a temporary deployment (config + sources + SQLite
//! file) and feed servers bound to 127.0.0.1:0.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use feedwatch::config::{self, Config};
use tempfile::TempDir;

/// The CSRF value of the first form on an admin page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 32].to_string()
}

/// Signs in to the admin pages at `base` with `token` through the sign-in
/// form (which must answer 303) and returns the session cookie's
/// `name=value`, ready for a `Cookie` header.
pub async fn admin_sign_in(client: &reqwest::Client, base: &str, token: &str) -> String {
    let login = client
        .post(format!("{base}/admin/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = login.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// A throwaway deployment in a temp folder.
pub struct TestEnv {
    pub dir: TempDir,
    pub config_path: PathBuf,
    pub sources_path: PathBuf,
    pub db_path: PathBuf,
}

/// One `[[feed]]` entry.
pub struct FeedEntry {
    pub url: String,
    pub name: String,
    pub extra: String,
}

pub fn feed(url: impl Into<String>, name: &str) -> FeedEntry {
    FeedEntry {
        url: url.into(),
        name: name.to_string(),
        extra: String::new(),
    }
}

impl TestEnv {
    /// Short timeouts, a 1 MiB body cap and a one-minute backoff base, so the
    /// failure paths are quick and their numbers easy to check.
    pub fn new(feeds: &[FeedEntry]) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let sources_path = dir.path().join("sources.toml");
        let mut sources = String::new();
        for f in feeds {
            sources.push_str(&format!(
                "[[feed]]\nurl = \"{}\"\nname = \"{}\"\n{}\n\n",
                f.url, f.name, f.extra
            ));
        }
        std::fs::write(&sources_path, sources).expect("write sources");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, test_config_text()).expect("write config");
        let db_path = dir.path().join("data").join("feedwatch.db");
        TestEnv {
            dir,
            config_path,
            sources_path,
            db_path,
        }
    }

    /// The same deployment with the shipped `[topic]` section (and its
    /// profile file) appended to the config.
    pub fn with_shipped_topic(feeds: &[FeedEntry]) -> TestEnv {
        let env = TestEnv::new(feeds);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let shipped = std::fs::read_to_string(root.join("config.toml")).expect("config.toml");
        let topic = &shipped[shipped.find("\n[topic]\n").expect("shipped [topic]")..];
        let mut text = std::fs::read_to_string(&env.config_path).expect("read config");
        text.push('\n');
        text.push_str(topic);
        std::fs::write(&env.config_path, text).expect("write config");
        std::fs::create_dir_all(env.path().join("feeds")).expect("feeds dir");
        std::fs::copy(
            root.join("feeds/topic-interpol-taiwan.md"),
            env.path().join("feeds/topic-interpol-taiwan.md"),
        )
        .expect("copy profile");
        std::fs::copy(
            root.join("feeds/aliases.toml"),
            env.path().join("feeds/aliases.toml"),
        )
        .expect("copy alias table");
        env
    }

    pub fn config(&self) -> Config {
        config::load_with_env(&self.config_path, Vec::new()).expect("test config is valid")
    }

    /// A second connection to the deployment's database file (to hold
    /// its write lock, or inject faults with triggers), waiting up to 10 s
    /// for a lock as the store does.
    pub async fn side_connection(&self) -> sqlx::SqliteConnection {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&self.db_path)
            .busy_timeout(Duration::from_secs(10));
        sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("a second connection to the database")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub fn test_config_text() -> String {
    r#"
[server]
listen = "127.0.0.1:0"

[bot]
base_url = "http://localhost:8080"

[storage]
url = "sqlite://data/feedwatch.db"

[sources]
path = "sources.toml"

[schedule]
cron = "*/5 * * * *"
interval = "15m"
jitter = "0"
backoff_base = "1m"
backoff_max = "1h"
floor_max = "24h"

[fetch]
connect_timeout = "2s"
read_timeout = "1s"
timeout = "2s"
max_body = "1MiB"
max_redirects = 3
concurrency = 4
per_host_concurrency = 4

[publish]
# Article links in fixtures point at hosts that do not exist here.
fetch_article = false
# Fixtures are dated years ago and many tests publish dozens of stories in one
# poll: the age gate and the posting cap are off here and tested on their own
# (publish_gate.rs).
max_age = "off"
max_per_hour = 0
"#
    .to_string()
}

/// One cycle over `feeds` with the database write-locked by another
/// connection for its first `stall` (well inside the store's 10 s busy
/// timeout), so its polls queue up and reach the writer together.
pub async fn cycle_with_writer_stalled(
    env: &TestEnv,
    app: &feedwatch::app::App,
    feeds: Vec<feedwatch::sources::FeedSource>,
    stall: Duration,
) -> feedwatch::pipeline::schedule::CycleReport {
    let mut side = env.side_connection().await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut side)
        .await
        .expect("take the write lock");
    let ingest = app.ingest.clone();
    let cycle = tokio::spawn(async move {
        ingest
            .run_cycle(feeds, false, tokio_util::sync::CancellationToken::new())
            .await
    });
    tokio::time::sleep(stall).await;
    sqlx::query("COMMIT")
        .execute(&mut side)
        .await
        .expect("release the write lock");
    tokio::time::timeout(Duration::from_secs(60), cycle)
        .await
        .expect("the cycle finishes")
        .expect("the cycle's task")
        .expect("the cycle")
}

/// The value on the first line of a metrics text that starts with `prefix`.
pub fn metric(metrics: &str, prefix: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
}

/// Serves `router` on 127.0.0.1:0 until the test process ends.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// The fixtures folder of this crate.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// `../shared/data` beside the repository, when present. Under `CI=true`
/// its absence fails the calling test: CI must not go green on a test that
/// silently did not run.
pub fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        ran_with("../shared/data");
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "../shared/data is absent, and under CI=true a test that cannot run fails"
    );
    None
}

/// Records that the calling test ran against a real outside tool (feedparser,
/// xmllint, the Fedify peer, Chromium, the shared corpus). `.ci/run` prints
/// a one-line summary of these, so a CI log shows what was really checked.
pub fn ran_with(tool: &str) {
    use std::io::Write;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string();
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("outside-tools.log"))
    {
        let _ = writeln!(f, "{tool}\t{test}");
    }
}

/// `[[feed]]` entries for labelled fixture feeds (`mixed-01-rdf.xml` …),
/// as file:// URLs, named after their files.
pub fn fixture_feeds(files: &[&str]) -> Vec<FeedEntry> {
    files
        .iter()
        .map(|f| {
            let path = fixtures().join("relevance-dev/feeds").join(f);
            feed(format!("file://{}", path.display()), f)
        })
        .collect()
}

/// All four labelled fixture feeds.
pub const ALL_FIXTURE_FEEDS: [&str; 4] = [
    "mixed-01-rdf.xml",
    "mixed-02-rss2.xml",
    "mixed-03-atom.xml",
    "mixed-04-rdf.xml",
];

/// An RSS 2.0 document with the given (guid, title) items.
pub fn rss(items: &[(&str, &str)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test feed</title><link>https://news.example/</link><description>d</description>"#,
    );
    for (guid, title) in items {
        s.push_str(&format!(
            "<item><title>{title}</title><link>https://news.example/{guid}?utm_source=rss</link><guid isPermaLink=\"false\">{guid}</guid><description>About {title}.</description><pubDate>Fri, 27 Nov 2026 10:00:00 +0000</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// The real `feedwatch run` on a free port of 127.0.0.1, its stderr (JSON
/// lines) in a file of the deployment's folder; killed if a failed
/// assertion leaves it running.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
    pub port: u16,
}

impl Daemon {
    /// Starts the daemon on `env`'s config with extra environment `vars`.
    pub fn start(env: &TestEnv, vars: &[(&str, &str)]) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        // One log per daemon: a test may start several on one deployment.
        let log = env.path().join(format!(
            "daemon-{}.log",
            std::process::id() ^ u32::from(port)
        ));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedwatch"));
        cmd.args([
            "--config",
            env.config_path.to_str().expect("utf-8 path"),
            "--log-format",
            "json",
            "run",
        ])
        .env("FEEDWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).expect("log file")));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start feedwatch");
        Daemon { child, log, port }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGTERM (to this child's PID only), then its exit status within 20 s.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "no stop within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

//! The settings snapshot, through the real `feedwatch` binary: a reload
//! (SIGHUP or the dashboard) puts a new feed title in force on `/feed.xml`
//! and `/feed.json`, names the changed keys that need a restart, and the
//! config file's one owner serialises Applies, reloads and the source toggle.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};

use crate::helpers::{TestEnv, fixture_feeds};

const TOKEN: &str = "settings-admin-token-0123456789";

/// A deployment with an admin token and a feed title of its own.
fn env() -> TestEnv {
    let env = TestEnv::with_shipped_topic(&fixture_feeds(&["mixed-04-rdf.xml"]));
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let text = text.replace(
        "base_url = \"http://localhost:8080\"",
        "base_url = \"http://localhost:8080\"\ndisplay_name = \"Start-up Title\"\nsummary = \"Start-up description\"",
    );
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n\n{text}"),
    )
    .unwrap();
    env
}

/// The daemon on a free port, its log in `daemon.log`; killed when dropped.
struct Daemon {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(env: &TestEnv) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = env.path().join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .args([
                "--config",
                env.config_path.to_str().unwrap(),
                "--log-format",
                "json",
                "run",
            ])
            .env("FEEDWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let d = Daemon { child, port, log };
        d.wait_for("scheduler started", 1);
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (at most 60 s) until `needle` is in the log `times` times.
    fn wait_for(&self, needle: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.log().matches(needle).count() < times {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} ×{times} in:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, and the daemon stops cleanly.
    fn stop(mut self) {
        self.signal("-TERM");
        assert!(self.child.wait().unwrap().success(), "{}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only when a failed assertion left it running (stop waited for it).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn get_text(url: &str) -> String {
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    res.text().await.unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in the config");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// A signed-in admin: the session cookie and the CSRF value.
async fn sign_in(client: &reqwest::Client, d: &Daemon) -> (String, String) {
    let cookie = crate::helpers::admin_sign_in(client, &d.url(""), TOKEN).await;
    let page = client
        .get(d.url("/admin/playground"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::csrf_of(&page);
    (cookie, csrf)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// SIGHUP and the dashboard's Reload put a new title and description in
/// force on the served feeds; a changed restart-only key is named in the
/// log line and in the dashboard's answer, and is not put in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_puts_the_feed_title_in_force_and_names_restart_keys() {
    let env = env();
    let d = Daemon::start(&env);
    assert!(
        get_text(&d.url("/feed.xml"))
            .await
            .contains("<title>Start-up Title</title>")
    );

    // SIGHUP: the title and description reload; [fetch] needs a restart.
    edit(&env.config_path, "Start-up Title", "Reloaded Title");
    edit(
        &env.config_path,
        "Start-up description",
        "Reloaded description",
    );
    edit(&env.config_path, "\ntimeout = \"2s\"", "\ntimeout = \"3s\"");
    d.signal("-HUP");
    d.wait_for("configuration reloaded", 1);
    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains("configuration reloaded"))
        .unwrap();
    assert!(
        line.contains("not in force until a restart: ")
            && line.contains("[fetch] changed; it takes effect after a restart"),
        "{line}"
    );
    // The title is shown, never reloaded; the feed link is the start-up base URL.
    let rss = get_text(&d.url("/feed.xml")).await;
    assert!(rss.contains("<title>Reloaded Title</title>"), "{rss}");
    assert!(rss.contains("Reloaded description"), "{rss}");
    assert!(!rss.contains("Start-up"), "{rss}");
    let json: serde_json::Value =
        serde_json::from_str(&get_text(&d.url("/feed.json")).await).unwrap();
    assert_eq!(json["title"], "Reloaded Title");
    assert_eq!(json["description"], "Reloaded description");
    assert!(get_text(&d.url("/")).await.contains("Reloaded Title"));

    // The dashboard's Reload: a title change and a restart-only key
    // (`[storage] url`) that stays as it was: the daemon keeps its database.
    let client = client();
    let (cookie, csrf) = sign_in(&client, &d).await;
    edit(&env.config_path, "Reloaded Title", "Dashboard Title");
    edit(
        &env.config_path,
        "url = \"sqlite://data/feedwatch.db\"",
        "url = \"sqlite://data/elsewhere.db\"",
    );
    let res = client
        .post(d.url("/admin/reload"))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let answer = res.text().await.unwrap();
    assert!(
        answer.contains("storage.url changed; it takes effect after a restart"),
        "{answer}"
    );
    // Still named: the file's [fetch] is not what runs.
    assert!(
        answer.contains("[fetch] changed; it takes effect after a restart"),
        "{answer}"
    );
    let rss = get_text(&d.url("/feed.xml")).await;
    assert!(rss.contains("<title>Dashboard Title</title>"), "{rss}");
    assert!(
        !env.path().join("data/elsewhere.db").exists(),
        "the database path needs a restart"
    );
    d.stop();
}

/// Two concurrent Applies, a reload and a source toggle all land, one after
/// the other: the file ends as one Apply wrote it (valid, never a mix), the
/// toggle is kept, and a bad Apply leaves the file byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_owner_serialises_applies_reloads_and_the_toggle() {
    let env = env();
    let d = Daemon::start(&env);
    let client = client();
    let (cookie, csrf) = sign_in(&client, &d).await;
    let topic = feedwatch::config::topic_section_text(&env.config_path).unwrap();
    let apply = |threshold: &str, topic: String| {
        client
            .post(d.url("/admin/playground/apply"))
            .header(header::COOKIE, &cookie)
            .form(&[
                ("topic", topic),
                ("threshold", threshold.to_string()),
                ("n", "50".to_string()),
                ("csrf", csrf.clone()),
            ])
            .send()
    };
    let source = feedwatch::sources::load(&env.sources_path).unwrap()[0]
        .url
        .to_string();
    let key = feedwatch::web::pages::source_key(&source);
    let toggle = client
        .post(d.url("/admin/sources/enabled"))
        .header(header::COOKIE, &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("source", key.as_str()),
            ("enabled", "false"),
        ])
        .send();
    let reload = client
        .post(d.url("/admin/reload"))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send();
    let (a, b, t, r) = tokio::join!(
        apply("0.41", topic.clone()),
        apply("0.42", topic.clone()),
        toggle,
        reload
    );
    for res in [a, b, r] {
        let res = res.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.text().await.unwrap();
        assert!(!body.contains("playground-error"), "{body}");
    }
    assert_eq!(t.unwrap().status(), StatusCode::SEE_OTHER);
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let thresholds: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("threshold = "))
        .collect();
    assert!(
        thresholds == ["threshold = 0.41"] || thresholds == ["threshold = 0.42"],
        "{thresholds:?}"
    );
    assert!(feedwatch::config::load_with_env(&env.config_path, Vec::new()).is_ok());
    let sources = std::fs::read_to_string(&env.sources_path).unwrap();
    assert!(sources.contains("enabled = false"), "{sources}");

    // A topic that does not compile: refused, the file byte for byte as it was.
    let before = std::fs::read(&env.config_path).unwrap();
    let broken = topic.replacen("query = \"", "query = \"(", 1);
    let res = apply("0.5", broken).await.unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("data-testid=\"playground-error\"")
    );
    assert_eq!(std::fs::read(&env.config_path).unwrap(), before);
    assert!(!env.path().join("config.toml.tmp").exists());
    d.stop();
}

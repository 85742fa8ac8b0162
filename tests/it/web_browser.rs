//! The pages in a real browser: headless Chromium (Debian's) driven by
//! playwright-core through `tests/browser/check-pages.mjs`, against the real
//! daemon. Screenshots of each step (desktop and phone widths) are kept in
//! `target/browser-screenshots/` as test artefacts.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TestEnv, fixture_feeds};

const TOKEN: &str = "browser-admin-token-0123456789";
const INSTALL: &str =
    "bash scripts/install-test-tools.sh (installs chromium and tests/browser's npm modules)";

#[test]
fn pages_work_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Chromium is required for this test: {INSTALL}"
    );
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is required for this test: {INSTALL}"
    );

    let mut entries = fixture_feeds(&["mixed-02-rss2.xml", "mixed-04-rdf.xml"]);
    // One fresh item the shipped topic scores above 0 but below its
    // threshold: the newest row of the dashboard's Review list, which the
    // browser publishes and then retracts.
    let scratch = tempfile::tempdir().unwrap();
    let review_feed = scratch.path().join("review.xml");
    std::fs::write(&review_feed, review_feed_text(chrono::Utc::now())).unwrap();
    entries.push(crate::helpers::feed(
        format!("file://{}", review_feed.display()),
        "Review Desk",
    ));
    let env = TestEnv::with_shipped_topic(&entries);
    let score = near_threshold_score(&env, &review_feed);
    // The list reaches from 0.01 up to the threshold 0.35.
    assert!(
        (0.01..0.35).contains(&score),
        "the review item must score in [0.01, 0.35): {score}"
    );
    let text = std::fs::read_to_string(&env.config_path)
        .unwrap()
        .replace("review_margin = 0.1\n", "review_margin = 0.34\n");
    assert!(text.contains("review_margin = 0.34\n"));
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n\n{text}"),
    )
    .unwrap();
    // 25 stories besides the fixtures' (every third in zh-Hant), so `/`
    // has a second page and per-item language has Chinese to mark.
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::web_site::seed_stories(
            &env.config().storage.sqlite_path,
            25,
        ));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://localhost:{port}");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args(["--config", env.config_path.to_str().unwrap(), "run"])
        .env("FEEDWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("FEEDWATCH_BOT__BASE_URL", &base)
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(env.path().join("daemon.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(env.path().join("daemon.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log().contains("cycle done") {
        assert!(
            Instant::now() < deadline,
            "the daemon's first cycle did not finish:\n{}",
            log()
        );
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon exited:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let out_dir = root.join("target/browser-screenshots");
    let _ = std::fs::remove_dir_all(&out_dir);
    let run = Command::new("node")
        .arg(browser_dir.join("check-pages.mjs"))
        .arg(&base)
        .arg(TOKEN)
        .arg(&out_dir)
        .output();
    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    let _ = daemon.wait();
    let run = run.unwrap_or_else(|e| panic!("node is required for this test ({e}): {INSTALL}"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}\ndaemon log:\n{}",
        log()
    );
    let shots = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert!(
        shots >= 8,
        "expected screenshots of every step, found {shots} in {}",
        out_dir.display()
    );
    crate::helpers::ran_with("Chromium");
}

/// One item about Taiwan (weather, no crime) that no include rule of the
/// shipped topic admits (so it is not published), dated `now`.
fn review_feed_text(now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Review Desk</title><link>https://review.example/</link><description>d</description><item><title>Typhoon brings heavy rain to Taiwan's east coast</title><link>https://review.example/typhoon</link><guid>https://review.example/typhoon</guid><pubDate>{}</pubDate><description>Schools closed in Hualien as the storm approached; police closed mountain roads.</description></item></channel></rss>"#,
        now.to_rfc2822()
    )
}

/// The shipped topic's score of the review item, by `feedwatch score`;
/// asserts it is not published.
fn near_threshold_score(env: &TestEnv, feed: &Path) -> f64 {
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "score",
            "--json",
        ])
        .arg(feed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let row: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(row["matched"], false, "{row}");
    row["score"].as_f64().unwrap()
}

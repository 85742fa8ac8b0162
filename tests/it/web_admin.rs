//! The public page and the operator dashboard over real HTTP: access rules,
//! filters, the playground's preview and apply, and reloads that refuse a
//! broken config.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use feedwatch::app::App;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, csrf_of, feed, fixture_feeds, fixtures, serve};

const TOKEN: &str = "test-admin-token-0123456789";

fn env_with_token() -> TestEnv {
    let entries = fixture_feeds(&["mixed-02-rss2.xml", "mixed-04-rdf.xml"]);
    let env = TestEnv::with_shipped_topic(&entries);
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n\n{text}"),
    )
    .unwrap();
    env
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn public_page_lists_stories_and_admin_is_off_without_a_token() {
    let env = TestEnv::with_shipped_topic(&[feed(
        format!(
            "file://{}",
            fixtures()
                .join("relevance-dev/feeds/mixed-04-rdf.xml")
                .display()
        ),
        "fixture",
    )]);
    let app = App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let home = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("@interpolwatch@localhost:8080"),
        "how to follow"
    );
    assert!(
        html.contains("type=\"application/rss+xml\""),
        "feed autodiscovery"
    );
    let stories = html.matches("data-testid=\"story\"").count();
    assert_eq!(
        stories,
        app.store.published_entries(100).await.unwrap().len()
    );
    assert!(stories > 0);
    let admin = reqwest::get(format!("{base}/admin")).await.unwrap();
    assert_eq!(
        admin.status(),
        StatusCode::NOT_FOUND,
        "no token configured: admin is off"
    );
}

#[tokio::test]
async fn dashboard_access_filters_and_the_playground() {
    let env = env_with_token();
    let app = App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = no_redirects();

    // Refused without the token, and with a wrong one.
    assert_eq!(
        client
            .get(format!("{base}/admin"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = client
        .post(format!("{base}/admin/login"))
        .form(&[("token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let bearer_wrong = client
        .get(format!("{base}/admin"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer_wrong.status(), StatusCode::UNAUTHORIZED);

    // Signing in sets an HttpOnly, SameSite=Strict cookie.
    let login = client
        .post(format!("{base}/admin/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .header(header::COOKIE, &cookie)
            .send()
    };

    let dash = get("/admin").await.unwrap();
    assert_eq!(dash.status(), StatusCode::OK);
    let html = dash.text().await.unwrap();
    assert_eq!(html.matches("data-testid=\"feed-health\"").count(), 2);
    assert!(html.contains("data-decision=\"publish\"") && html.contains("data-decision=\"skip\""));
    let only_published = get("/admin?decision=publish")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(only_published.contains("data-decision=\"publish\""));
    assert!(!only_published.contains("data-decision=\"skip\""));
    let one_source = get("/admin?source=mixed-04-rdf.xml")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!one_source.contains("data-source=\"mixed-02-rss2.xml\" data-item-id"));

    // Playground: a stricter threshold drops published items in the preview.
    let page = get("/admin/playground")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let topic = feedwatch::config::topic_section_text(&env.config_path).unwrap();
    let post = |path: &str, form: Vec<(&str, String)>| {
        client
            .post(format!("{base}{path}"))
            .header(header::COOKIE, &cookie)
            .form(&form)
            .send()
    };
    let form = |threshold: &str, topic: &str, csrf: &str| {
        vec![
            ("topic", topic.to_string()),
            ("threshold", threshold.to_string()),
            ("n", "200".to_string()),
            ("csrf", csrf.to_string()),
        ]
    };
    let same = post("/admin/playground/preview", form("0.35", &topic, &csrf))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        same.matches("data-testid=\"preview-dropped\"").count(),
        0,
        "same rules, same decisions"
    );
    let strict = post("/admin/playground/preview", form("0.99", &topic, &csrf))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(strict.matches("data-testid=\"preview-dropped\"").count() > 0);
    let broken_topic = topic.replace("\"@taiwan @interpol\"", "\"@taiwan (@interpol\"");
    assert_ne!(
        broken_topic, topic,
        "the shipped rule this test breaks has moved"
    );
    let broken = post(
        "/admin/playground/preview",
        form("0.35", &broken_topic, &csrf),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        broken.contains("data-testid=\"playground-error\""),
        "a rule that does not compile is shown as an error"
    );
    let forged = post("/admin/playground/preview", form("0.99", &topic, "0000"))
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "missing or wrong CSRF value"
    );

    // Apply: persisted to the file and in force without a restart.
    let applied = post("/admin/playground/apply", form("0.5", &topic, &csrf))
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::OK);
    assert!((app.settings.load().topic.threshold() - 0.5).abs() < 1e-9);
    assert!((app.ingest.topic().threshold() - 0.5).abs() < 1e-9);
    let saved = std::fs::read_to_string(&env.config_path).unwrap();
    assert!(saved.contains("threshold = 0.5"), "persisted");
    assert!(
        saved.starts_with("[admin]\ntoken"),
        "the rest of the file is kept"
    );
    assert!(feedwatch::config::load_with_env(&env.config_path, Vec::new()).is_ok());

    // A broken file is refused on reload; the old config stays in force.
    std::fs::write(
        &env.config_path,
        saved.replace("threshold = 0.5", "threshold = \"high\""),
    )
    .unwrap();
    let reload = post("/admin/reload", vec![("csrf", csrf.clone())])
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reload.text().await.unwrap().contains("topic.threshold"));
    assert!((app.ingest.topic().threshold() - 0.5).abs() < 1e-9);
}

/// SIGHUP reloads the file; a broken file is refused and logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_or_refuses() {
    let env = env_with_token();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args([
            "--config",
            env.config_path.to_str().unwrap(),
            "--log-format",
            "json",
            "run",
        ])
        .env("FEEDWATCH_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(env.path().join("daemon.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(env.path().join("daemon.log")).unwrap_or_default();
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !log().contains(needle) {
            assert!(Instant::now() < deadline, "no {needle:?} in:\n{}", log());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("scheduler started");
    let original = std::fs::read_to_string(&env.config_path).unwrap();
    let hup = || {
        Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap();
    };
    std::fs::write(
        &env.config_path,
        original.replace("threshold = 0.35", "threshold = 0.6"),
    )
    .unwrap();
    hup();
    wait_for("configuration reloaded");
    std::fs::write(
        &env.config_path,
        original.replace("threshold = 0.35", "threshold = \"high\""),
    )
    .unwrap();
    hup();
    wait_for("configuration reload refused");
    // Still serving after both.
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

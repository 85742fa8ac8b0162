//! The dashboard acts, through the real HTTP server: Reload, "check now",
//! disable/enable (sources.toml keeps every other byte), the failing-sources
//! summary and items paging; Bearer works with the right token; every POST
//! needs the CSRF value; the source filter selects.

use axum::http::{StatusCode, header};
use feedwatch::app::App;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, admin_sign_in, csrf_of, feed, fixture_feeds, serve};

const TOKEN: &str = "test-admin-token-0123456789";

#[tokio::test]
async fn dashboard_reloads_checks_disables_and_pages() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut feeds = fixture_feeds(&["mixed-02-rss2.xml", "mixed-04-rdf.xml"]);
    feeds.push(feed(format!("http://127.0.0.1:{port}/gone.xml"), "gone"));
    let env = TestEnv::with_shipped_topic(&feeds);
    // A comment and odd spacing that must survive the edit.
    let sources = std::fs::read_to_string(&env.sources_path).unwrap();
    let sources = format!("# my sources  \n{sources}");
    std::fs::write(&env.sources_path, &sources).unwrap();
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n\n{text}"),
    )
    .unwrap();
    let app = App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Bearer with the right token opens the dashboard.
    let dash = client
        .get(format!("{base}/admin"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(dash.status(), StatusCode::OK);
    let html = dash.text().await.unwrap();
    let csrf = csrf_of(&html);
    assert!(html.contains("data-testid=\"reload\""), "a Reload button");
    let summary_at = html
        .find("data-testid=\"failing-summary\"")
        .expect("a failing summary");
    assert!(
        summary_at < html.find("id=\"sources\"").unwrap(),
        "at the top"
    );
    assert!(html[summary_at..].contains("1 of 3 sources failing"));
    assert_eq!(html.matches("data-testid=\"check-now\"").count(), 3);

    // The source filter selects that source's items, and only those.
    let one = client
        .get(format!("{base}/admin?source=mixed-04-rdf.xml"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows = one.matches("data-testid=\"item-row\"").count();
    assert!(rows > 0);
    assert_eq!(
        one.matches("data-source=\"mixed-04-rdf.xml\" data-item-id")
            .count(),
        rows
    );

    let post = |path: &str, form: Vec<(&str, String)>| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .form(&form)
            .send()
    };
    // Every POST refuses a missing or wrong CSRF value, and changes nothing.
    for path in [
        "/admin/reload",
        "/admin/logout",
        "/admin/playground/apply",
        "/admin/sources/check",
        "/admin/sources/enabled",
    ] {
        let r = post(
            path,
            vec![
                ("csrf", "0".repeat(32)),
                ("source", "0".repeat(24)),
                ("enabled", "false".to_string()),
                ("topic", "[topic]\n".to_string()),
                ("threshold", "0.9".to_string()),
                ("n", "10".to_string()),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(std::fs::read_to_string(&env.sources_path).unwrap(), sources);

    // Reload: a new threshold is in force.
    let cfg_text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        cfg_text.replace("threshold = 0.35", "threshold = 0.55"),
    )
    .unwrap();
    let r = post("/admin/reload", vec![("csrf", csrf.clone())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!((app.ingest.topic().threshold() - 0.55).abs() < 1e-9);

    // Check now: the failing source is polled again (its totals grow).
    let gone = format!("http://127.0.0.1:{port}/gone.xml");
    let before = app.store.feed_state(&gone).await.unwrap().unwrap();
    let gone_key = feedwatch::web::pages::source_key(&gone);
    assert!(html.contains(&gone_key), "the forms name sources by key");
    let r = post(
        "/admin/sources/check",
        vec![("csrf", csrf.clone()), ("source", gone_key.clone())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = app.store.feed_state(&gone).await.unwrap().unwrap();
    assert_eq!(after.total_errors, before.total_errors + 1);
    let r = post(
        "/admin/sources/check",
        vec![("csrf", csrf.clone()), ("source", "0".repeat(24))],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "only listed sources");

    // Disable writes `enabled = false` into that feed's table only.
    let r = post(
        "/admin/sources/enabled",
        vec![
            ("csrf", csrf.clone()),
            ("source", gone_key.clone()),
            ("enabled", "false".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let disabled = std::fs::read_to_string(&env.sources_path).unwrap();
    // toml_edit appends the key after the table's last line; compare the
    // files with that one line taken out.
    let without: String = disabled
        .lines()
        .filter(|l| *l != "enabled = false")
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without, sources);
    assert_eq!(disabled.matches("enabled = false").count(), 1);
    let listed = feedwatch::sources::load(&env.sources_path).unwrap();
    assert!(
        !listed
            .iter()
            .find(|f| f.url.as_str() == gone)
            .unwrap()
            .enabled
    );
    assert!(listed.iter().filter(|f| f.enabled).count() == 2);
    // And back on.
    let r = post(
        "/admin/sources/enabled",
        vec![
            ("csrf", csrf.clone()),
            ("source", gone_key.clone()),
            ("enabled", "true".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let listed = feedwatch::sources::load(&env.sources_path).unwrap();
    assert!(listed.iter().all(|f| f.enabled));

    // Paging: page 1 of a short list has no "older" link; a page past the
    // end says so instead of repeating page 1.
    let first = client
        .get(format!("{base}/admin"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("data-testid=\"items-page\">page 1<"));
    let total = app.store.items_with_decisions(100_000).await.unwrap().len();
    assert_eq!(
        first.contains("data-testid=\"items-older\""),
        total > 200,
        "{total} items"
    );
    let past = client
        .get(format!("{base}/admin?page=5"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(past.matches("data-testid=\"item-row\"").count(), 0);

    // Logout with the session's CSRF value clears the cookie.
    let session = admin_sign_in(&client, &base, TOKEN).await;
    let page = client
        .get(format!("{base}/admin"))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let session_csrf = csrf_of(&page);
    let r = client
        .post(format!("{base}/admin/logout"))
        .header(header::COOKIE, &session)
        .form(&[("csrf", session_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

//! The config file has one owner: the playground's Apply changes only the
//! `[topic]` lines the operator changed, and a reload puts every reloadable
//! key in force, checked through behaviour (decisions, the served feed).

use axum::http::{StatusCode, header};
use feedwatch::app::App;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestEnv, admin_sign_in, csrf_of, fixture_feeds, serve};

const TOKEN: &str = "test-admin-token-0123456789";

/// A deployment whose `[topic]` sits between `[admin]` and the other
/// sections, so a misplaced table would show.
fn env_topic_in_the_middle() -> TestEnv {
    let env = TestEnv::with_shipped_topic(&fixture_feeds(&["mixed-04-rdf.xml"]));
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let at = text.find("\n[topic]\n").unwrap();
    let (rest, topic) = text.split_at(at);
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n{topic}\n# after the topic\n{rest}"),
    )
    .unwrap();
    env
}

/// The lines of `a` and `b` that differ, position by position (same length).
fn changed_lines(a: &str, b: &str) -> Vec<(String, String)> {
    assert_eq!(a.lines().count(), b.lines().count(), "lines added or lost");
    a.lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect()
}

/// A 3-line rule change sent the way a browser sends a textarea (CRLF)
/// gives a 3-line diff of config.toml, and no carriage return.
#[tokio::test]
async fn apply_changes_only_the_lines_the_operator_changed() {
    let env = env_topic_in_the_middle();
    let before = std::fs::read_to_string(&env.config_path).unwrap();
    let app = App::build(env.config()).await.unwrap();
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = admin_sign_in(&client, &base, TOKEN).await;
    let page = client
        .get(format!("{base}/admin/playground"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let topic = feedwatch::config::topic_section_text(&env.config_path).unwrap();
    let edited = topic
        .replace(
            "query = \"@convention\"",
            "query = \"@convention @interpol\"",
        )
        .replace(
            "query = \"@taiwan @interpol\"\nweight = 0.6",
            "query = \"@taiwan @interpol\"\nweight = 0.65",
        )
        .replace('\n', "\r\n");
    assert_eq!(edited.matches("0.65").count(), 1, "the shipped rules moved");
    let apply = |topic: String, csrf: String| {
        client
            .post(format!("{base}/admin/playground/apply"))
            .header(header::COOKIE, &cookie)
            .form(&[
                ("topic", topic),
                ("threshold", "0.4".to_string()),
                ("n", "200".to_string()),
                ("csrf", csrf),
            ])
            .send()
    };
    // Without the CSRF value nothing is written.
    let forged = apply(edited.clone(), "0".repeat(32)).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(std::fs::read_to_string(&env.config_path).unwrap(), before);

    let res = apply(edited.clone(), csrf.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let after = std::fs::read_to_string(&env.config_path).unwrap();
    assert!(!after.contains('\r'), "no CRLF in an LF file");
    assert_eq!(
        changed_lines(&before, &after),
        vec![
            (
                "threshold = 0.35".to_string(),
                "threshold = 0.4".to_string()
            ),
            ("weight = 0.6".to_string(), "weight = 0.65".to_string()),
            (
                "query = \"@convention\"".to_string(),
                "query = \"@convention @interpol\"".to_string()
            ),
        ]
    );
    assert!((app.ingest.topic().threshold() - 0.4).abs() < 1e-9);

    // A topic that does not compile is refused and the file is untouched.
    let broken = edited.replace("@convention @interpol", "@convention (@interpol");
    let res = apply(broken, csrf.clone()).await.unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("data-testid=\"playground-error\"")
    );
    assert_eq!(std::fs::read_to_string(&env.config_path).unwrap(), after);

    // Concurrent Applies are serialised: the file ends as one of them wrote
    // it, never a mix, and never restored to something older.
    let (a, b) = tokio::join!(
        apply(edited.replace("0.65", "0.7"), csrf.clone()),
        apply(edited.replace("0.65", "0.75"), csrf.clone())
    );
    assert_eq!(a.unwrap().status(), StatusCode::OK);
    assert_eq!(b.unwrap().status(), StatusCode::OK);
    let last = std::fs::read_to_string(&env.config_path).unwrap();
    let diff = changed_lines(&after, &last);
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(diff[0].1 == "weight = 0.7" || diff[0].1 == "weight = 0.75");
}

/// A CRLF file keeps CRLF; an added rule lands after the last rule and
/// every other byte stays.
#[test]
fn edit_keeps_crlf_and_places_a_new_rule_after_the_last() {
    let env = env_topic_in_the_middle();
    let lf = std::fs::read_to_string(&env.config_path).unwrap();
    let topic = feedwatch::config::topic_section_text(&env.config_path).unwrap();
    let added = "\n[[topic.rule]]\nname = \"new-rule\"\nquery = \"@interpol\"\nweight = 0.2\n";
    let last_rule = "query = \"@convention\"\nweight = 0.3\n";
    let with_rule = topic.replace(last_rule, &format!("{last_rule}{added}"));
    assert_ne!(with_rule, topic, "the shipped rules moved");

    let out = feedwatch::config::edit_topic_section(&lf, &with_rule, 0.35).unwrap();
    assert_eq!(out, lf.replace(last_rule, &format!("{last_rule}{added}")));

    let crlf = lf.replace('\n', "\r\n");
    let out = feedwatch::config::edit_topic_section(&crlf, &with_rule.replace('\n', "\r\n"), 0.35)
        .unwrap();
    assert_eq!(
        out,
        crlf.replace(
            &last_rule.replace('\n', "\r\n"),
            &format!("{last_rule}{added}").replace('\n', "\r\n")
        )
    );
    // Nothing changed: the very same bytes.
    assert_eq!(
        feedwatch::config::edit_topic_section(&crlf, &topic, 0.35).unwrap(),
        crlf
    );
}

/// A reload puts a new threshold and a new feed title in force: the
/// decisions and the served feed show it.
#[tokio::test]
async fn reload_changes_decisions_and_the_feed_title() {
    let control = TestEnv::with_shipped_topic(&fixture_feeds(&["mixed-04-rdf.xml"]));
    let app = App::build(control.config()).await.unwrap();
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let published_before = app.store.published_entries(100).await.unwrap().len();
    assert!(published_before > 0);

    let env = TestEnv::with_shipped_topic(&fixture_feeds(&["mixed-04-rdf.xml"]));
    let app = App::build(env.config()).await.unwrap();
    let addr = serve(feedwatch::web::router(app.web_state())).await;
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let text = text.replace("threshold = 0.35", "threshold = 1.0").replace(
        "base_url = \"http://localhost:8080\"",
        "base_url = \"http://localhost:8080\"\ndisplay_name = \"Reloaded Title\"",
    );
    std::fs::write(&env.config_path, text).unwrap();
    let notes = app.settings.reload().await.unwrap();
    // Federation is on by default: followers see the new name after a restart.
    assert_eq!(
        notes,
        vec![
            "the Fediverse profile (bot.display_name, bot.summary; the feeds and pages use them now) changed; it takes effect after a restart"
                .to_string()
        ]
    );
    app.ingest
        .run_cycle(app.load_sources().unwrap(), false, CancellationToken::new())
        .await
        .unwrap();
    let published_after = app.store.published_entries(100).await.unwrap().len();
    assert!(
        published_after < published_before,
        "threshold 1.0 publishes less: {published_after} vs {published_before}"
    );
    let feed = reqwest::get(format!("http://127.0.0.1:{}/feed.xml", addr.port()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed.contains("<title>Reloaded Title</title>"), "{feed}");
    let home = reqwest::get(format!("http://127.0.0.1:{}/", addr.port()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Reloaded Title"));

    // A key that needs a restart is named in the answer.
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        text.replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\""),
    )
    .unwrap();
    let notes = app.settings.reload().await.unwrap();
    assert_eq!(
        notes,
        vec!["server.listen changed; it takes effect after a restart".to_string()]
    );
}

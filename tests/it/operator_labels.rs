//! The operator's tuning loop (issue 11): the `tags:` and `author:` query
//! fields, the playground's lower-case operator warning, and the labels
//! (`labels import` / `labels export`, `eval --stored`). Through the real
//! binary, the real HTTP server and a real SQLite file.

use std::process::Command;

use crate::helpers::TestEnv;

fn feedwatch(env: &TestEnv, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&env.config_path)
        .args(args)
        .output()
        .expect("run feedwatch")
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// RSS 2.0 with categories and authors in the three ways feeds give them:
/// `<category>`, `<author>` (address and name) and `dc:creator`.
const TAGGED_FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Tagged</title><link>https://news.example/</link><description>d</description>
<item><title>Police cooperation meeting</title><link>https://news.example/a</link><guid>https://news.example/a</guid>
  <description>Officers met.</description><category>INTERPOL</category><category>Asia</category>
  <dc:creator>Jane Doe</dc:creator><pubDate>Fri, 27 Nov 2026 10:00:00 +0000</pubDate></item>
<item><title>Police cooperation meeting again</title><link>https://news.example/b</link><guid>https://news.example/b</guid>
  <description>Officers met again, INTERPOL said.</description><category>Asia</category>
  <author>desk@news.example (Press Bot)</author><pubDate>Fri, 27 Nov 2026 11:00:00 +0000</pubDate></item>
<item><title>Weather</title><link>https://news.example/c</link><guid>https://news.example/c</guid>
  <description>Rain.</description><category>Taiwán</category>
  <dc:creator>John Roe</dc:creator><pubDate>Fri, 27 Nov 2026 12:00:00 +0000</pubDate></item>
</channel></rss>"#;

fn env_with_topic(topic: &str) -> TestEnv {
    let env = TestEnv::new(&[]);
    let mut text = std::fs::read_to_string(&env.config_path).unwrap();
    text.push_str(topic);
    std::fs::write(&env.config_path, text).unwrap();
    env
}

/// `tags:` looks only at the item's categories and `author:` only at its
/// author, folded like every field; unscoped terms see neither.
#[test]
fn tags_and_author_fields_through_score() {
    let env = env_with_topic(
        r#"
[topic]
threshold = 0.5
similarity_weight = 0.0

[[topic.rule]]
name = "tagged"
query = "tags:interpol -author:bot"
weight = 1.0

[[topic.rule]]
name = "by-roe"
query = "author:\"john roe\" tags:taiwan"
weight = 1.0
"#,
    );
    let feed = env.path().join("tagged.xml");
    std::fs::write(&feed, TAGGED_FEED).unwrap();
    let out = stdout(&feedwatch(
        &env,
        &["score", "--json", feed.to_str().unwrap()],
    ));
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let matched: Vec<(&str, bool)> = rows
        .iter()
        .map(|r| (r["link"].as_str().unwrap(), r["matched"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        matched,
        [
            // category INTERPOL, author Jane Doe
            ("https://news.example/a", true),
            // INTERPOL only in the text, author "Press Bot"
            ("https://news.example/b", false),
            // author John Roe, category Taiwán (accent folded)
            ("https://news.example/c", true),
        ],
        "{out}"
    );
    assert!(
        rows[0]["reasons"].as_str().unwrap().contains("tags:"),
        "the explanation names the field: {}",
        rows[0]["reasons"]
    );
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(stdout(out).trim()).unwrap()
}

/// Misses and false positives as sorted (id, label) sets: the two commands
/// list them in feed order and in stored order.
fn sorted_ids(v: &serde_json::Value, key: &str) -> Vec<(String, u64)> {
    let mut ids: Vec<(String, u64)> = v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["label"].as_u64().unwrap(),
            )
        })
        .collect();
    ids.sort();
    ids
}

/// The label round trip through the binary: `run --once` stores the labelled
/// development feeds; `labels import` (while another process holds the
/// daemon's lock) stores their labels and reports the unknown key; `labels
/// export` prints them back; `eval --stored --json` then says exactly what
/// `eval --labels <export> --json <feeds>` says about the same items.
#[test]
fn labels_import_export_and_eval_stored_agree_with_eval_labels() {
    let entries = crate::helpers::fixture_feeds(&crate::helpers::ALL_FIXTURE_FEEDS);
    let sources: Vec<String> = entries
        .iter()
        .map(|e| e.url.trim_start_matches("file://").to_string())
        .collect();
    let env = TestEnv::with_shipped_topic(&entries);
    let polled = feedwatch(&env, &["run", "--once"]);
    assert!(
        polled.status.success(),
        "{}",
        String::from_utf8_lossy(&polled.stderr)
    );

    // A file with the dev set's labels, one key no stored item has, and a
    // relabelling (the latest wins).
    let dev = std::fs::read_to_string(crate::helpers::fixtures().join("relevance-dev/labels.tsv"))
        .unwrap();
    let first = dev
        .lines()
        .nth(1)
        .and_then(|l| l.split_once('\t'))
        .map(|(k, _)| k.to_string())
        .unwrap();
    let file = env.path().join("mine.tsv");
    std::fs::write(
        &file,
        format!("{dev}\nhttps://nowhere.example/never-stored\t2\n{first}\t1\n{first}\t2\n"),
    )
    .unwrap();
    let dev_count = dev.lines().skip(1).filter(|l| l.contains('\t')).count();

    // Works while the daemon would run: the lock is held here meanwhile.
    let lock = feedwatch::infra::lock::acquire(&env.db_path).unwrap();
    let imported = stdout(&feedwatch(
        &env,
        &["labels", "import", file.to_str().unwrap()],
    ));
    drop(lock);
    assert!(
        imported.starts_with(&format!("{} label(s) stored, 1 unknown", dev_count + 2)),
        "{imported}"
    );
    assert!(
        imported.contains("unknown: https://nowhere.example/never-stored"),
        "{imported}"
    );

    let exported = stdout(&feedwatch(&env, &["labels", "export"]));
    assert_eq!(
        exported.lines().count(),
        dev_count,
        "one line per item: {exported}"
    );
    assert!(exported.lines().all(|l| {
        l.split_once('\t')
            .is_some_and(|(k, v)| !k.is_empty() && ["0", "1", "2"].contains(&v))
    }));
    assert!(
        exported.lines().any(|l| l == format!("{first}\t2")),
        "the latest label wins (the file labelled it 0, then 1, then 2): {exported}"
    );
    let export_file = env.path().join("exported.tsv");
    std::fs::write(&export_file, &exported).unwrap();

    let stored = json_of(&feedwatch(&env, &["eval", "--stored", "--json"]));
    let mut args = vec!["eval", "--json", "--labels", export_file.to_str().unwrap()];
    args.extend(sources.iter().map(String::as_str));
    let labelled = json_of(&feedwatch(&env, &args));
    for key in ["precision", "recall_core", "recall_related", "per_label"] {
        assert_eq!(
            stored[key], labelled[key],
            "{key}: {stored:#} vs {labelled:#}"
        );
    }
    assert_eq!(
        sorted_ids(&stored, "misses"),
        sorted_ids(&labelled, "misses")
    );
    assert_eq!(
        sorted_ids(&stored, "false_positives"),
        sorted_ids(&labelled, "false_positives")
    );
    let total: u64 = stored["per_label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["total"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, dev_count);
}

const TOKEN: &str = "test-admin-token-0123456789";

/// The dashboard's label buttons and the playground's warning over real
/// HTTP: a label POST needs the session and the CSRF value, is stored with
/// who, and shows pressed on the next dashboard; the playground's preview
/// warns about a lower-case `or` as `check` does.
#[tokio::test]
async fn dashboard_label_buttons_and_playground_warning() {
    use axum::http::{StatusCode, header};
    let entries = crate::helpers::fixture_feeds(&["mixed-02-rss2.xml"]);
    let env = TestEnv::with_shipped_topic(&entries);
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        format!("[admin]\ntoken = \"{TOKEN}\"\n\n{text}"),
    )
    .unwrap();
    let app = feedwatch::app::App::build(env.config()).await.unwrap();
    app.ingest
        .run_cycle(
            app.load_sources().unwrap(),
            false,
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    let addr = crate::helpers::serve(feedwatch::web::router(app.web_state())).await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = crate::helpers::admin_sign_in(&client, &base, TOKEN).await;
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .header(header::COOKIE, &cookie)
            .send()
    };
    let post = |path: &str, form: Vec<(&str, String)>, with_cookie: bool| {
        let mut r = client.post(format!("{base}{path}")).form(&form);
        if with_cookie {
            r = r.header(header::COOKIE, &cookie);
        }
        r.send()
    };
    let page = get("/admin".into()).await.unwrap().text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..at + 32].to_string();
    let rows = page.matches("data-testid=\"item-row\"").count();
    assert!(rows > 1);
    assert_eq!(page.matches("data-testid=\"label-form\"").count(), rows);
    let id_at = page.find("data-item-id=\"").unwrap() + "data-item-id=\"".len();
    let item = page[id_at..id_at + 32].to_string();

    let form = |label: &str, csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("item", item.clone()),
            ("label", label.to_string()),
        ]
    };
    // Refused without the CSRF value and without the session; nothing stored.
    let forged = post("/admin/items/label", form("2", "0000"), true)
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let anonymous = post("/admin/items/label", form("2", &csrf), false)
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(app.store.labelled_items().await.unwrap().is_empty());
    let bad = post("/admin/items/label", form("3", &csrf), true)
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    for label in ["1", "0"] {
        let ok = post("/admin/items/label", form(label, &csrf), true)
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    }
    let labelled = app.store.labelled_items().await.unwrap();
    assert_eq!(labelled.len(), 1);
    assert_eq!(labelled[0].0.item.id, item);
    assert_eq!(labelled[0].1.label, 0, "the latest wins");
    assert!(
        labelled[0].1.by.starts_with("admin (session)"),
        "{:?}",
        labelled[0].1
    );
    let page = get("/admin".into()).await.unwrap().text().await.unwrap();
    let row = &page[page.find(&format!("data-item-id=\"{item}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("aria-pressed=\"true\" data-testid=\"label-0\""),
        "{row}"
    );

    // The playground warns about `or` written in lower case, and not
    // about the shipped topic as it is.
    let topic = feedwatch::config::topic_section_text(&env.config_path).unwrap();
    let preview = |topic: String| {
        post(
            "/admin/playground/preview",
            vec![
                ("topic", topic),
                ("threshold", "0.35".to_string()),
                ("n", "50".to_string()),
                ("csrf", csrf.clone()),
            ],
            true,
        )
    };
    let clean = preview(topic.clone()).await.unwrap().text().await.unwrap();
    assert!(!clean.contains("data-testid=\"playground-warnings\""));
    // Beside the rows: the figures on the one labelled item, before and after.
    assert!(clean.contains("data-testid=\"labelled-figures\" data-labelled=\"1\""));
    assert!(clean.contains("data-testid=\"figure-precision\""));
    let misleading = topic.replace("\"@taiwan @interpol\"", "\"title:DEA or title:FBI\"");
    assert_ne!(
        misleading, topic,
        "the shipped rule this test edits has moved"
    );
    let warned = preview(misleading).await.unwrap().text().await.unwrap();
    assert!(warned.contains("data-testid=\"playground-warnings\""));
    assert!(
        warned.contains("column 11: `or` is matched as a word here; write OR"),
        "{warned}"
    );
}

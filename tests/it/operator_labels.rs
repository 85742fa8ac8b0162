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

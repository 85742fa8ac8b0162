//! The operator's command line through the real binary: `feeds` (aligned by
//! display width, summary, --json), `stories`, `remove` by URL, `score` with
//! a failing source, `replay --json`, `check` as the whole gate, and OPML
//! files as four real readers export them, round-tripped.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::{TestEnv, feed, fixture_feeds, fixtures};

fn feedwatch(env: &TestEnv, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&env.config_path)
        .args(args)
        .env_remove("FEEDWATCH_MASTODON_URL")
        .env_remove("FEEDWATCH_MASTODON_TOKEN")
        .env_remove("FEEDWATCH_ADMIN__TOKEN")
        .output()
        .expect("run feedwatch")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(o)
}

/// Display width as a terminal shows it, written here independently of the
/// table crate: East Asian wide and fullwidth characters count 2.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

#[test]
fn feeds_aligns_chinese_names_by_display_width_and_sums_up() {
    let long = "中央社 CNA 即時新聞 政治 一個超過二十八個字元的很長的來源名稱";
    let mut off = feed("https://example.org/off.xml", "停用的來源");
    off.extra = "enabled = false".to_string();
    let env = TestEnv::new(&[
        feed("https://news.ltn.com.tw/rss/politics.xml", "自由時報 政治"),
        feed("https://focustaiwan.tw/rss/politics.xml", "Focus Taiwan"),
        feed("https://www.cna.com.tw/rss/politics.xml", long),
        off,
    ]);
    let text = ok(&feedwatch(&env, &["feeds"]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{text}");
    assert!(text.contains(long), "whole names, never cut: {text}");
    // The ENABLED column starts at the same display column on every line.
    let starts: Vec<usize> = lines[..5]
        .iter()
        .map(|l| {
            let at = ["ENABLED", " yes ", " no "]
                .iter()
                .filter_map(|w| {
                    l.find(w)
                        .map(|i| if w.starts_with(' ') { i + 1 } else { i })
                })
                .min()
                .unwrap_or_else(|| panic!("no ENABLED cell in {l:?}"));
            width(&l[..at])
        })
        .collect();
    assert!(starts.iter().all(|s| *s == starts[0]), "{starts:?}\n{text}");
    assert!(starts[0] > width(long));
    // URLs line up too (the last column).
    let url_starts: Vec<usize> = lines[1..5]
        .iter()
        .map(|l| width(&l[..l.find("https://").unwrap()]))
        .collect();
    assert!(url_starts.iter().all(|s| *s == url_starts[0]), "{text}");
    assert_eq!(
        lines.last().unwrap(),
        &"4 source(s): 0 ok, 0 failing, 1 disabled, 3 not fetched yet"
    );

    let json: serde_json::Value =
        serde_json::from_str(&ok(&feedwatch(&env, &["feeds", "--json"]))).unwrap();
    assert_eq!(json["summary"]["disabled"], 1);
    assert_eq!(json["summary"]["not_fetched"], 3);
    assert_eq!(json["feeds"][2]["name"], long);
    assert_eq!(json["feeds"][3]["health"], "disabled");
}

#[test]
fn stories_remove_by_url_and_replay_json() {
    let env = TestEnv::with_shipped_topic(&fixture_feeds(&["mixed-04-rdf.xml"]));
    ok(&feedwatch(&env, &["run", "--once"]));
    let listed = ok(&feedwatch(&env, &["stories", "--json"]));
    let stories: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!stories.is_empty());
    for s in &stories {
        let id = s["id"].as_str().unwrap();
        assert_eq!(
            s["url"].as_str().unwrap(),
            format!("http://localhost:8080/stories/{id}")
        );
        assert!(!s["outlets"].as_array().unwrap().is_empty());
        assert!(!s["title"].as_str().unwrap().is_empty());
    }
    let table = ok(&feedwatch(&env, &["stories", "--limit", "1"]));
    assert!(
        table.contains(stories[0]["id"].as_str().unwrap()),
        "{table}"
    );
    assert!(table.ends_with("1 published story(ies)\n"), "{table}");

    // Same rules: replay changes nothing, and says so as JSON.
    let replay = ok(&feedwatch(&env, &["replay", "--json"]));
    let summary: serde_json::Value = serde_json::from_str(replay.lines().last().unwrap()).unwrap();
    assert_eq!(summary["added"], 0);
    assert_eq!(summary["dropped"], 0);
    assert!(summary["replayed"].as_u64().unwrap() > 0);
    // A threshold nothing reaches drops every published item.
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        text.replace("threshold = 0.35", "threshold = 1.0"),
    )
    .unwrap();
    let replay = ok(&feedwatch(&env, &["replay", "--json"]));
    let rows: Vec<serde_json::Value> = replay
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (changes, summary) = rows.split_at(rows.len() - 1);
    assert!(!changes.is_empty());
    assert_eq!(summary[0]["dropped"], changes.len());
    for c in changes {
        assert_eq!(c["after"], false);
        assert_eq!(c["threshold"], 1.0);
        assert!(c["score"].as_f64().unwrap() < 1.0);
    }
    std::fs::write(&env.config_path, text).unwrap();

    // Remove by the story URL; the second time says "already removed".
    let url = stories[0]["url"].as_str().unwrap();
    let id = stories[0]["id"].as_str().unwrap();
    let first = ok(&feedwatch(&env, &["remove", url]));
    assert!(first.contains(&format!("removed story {id}")), "{first}");
    let second = feedwatch(&env, &["remove", url]);
    assert_eq!(second.status.code(), Some(1), "nothing is sent twice");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already removed"), "{err}");
    let after = ok(&feedwatch(&env, &["stories", "--json"]));
    assert!(!after.contains(id));
    let unknown = feedwatch(&env, &["remove", "no-such-story"]);
    assert!(!unknown.status.success());
}

#[test]
fn score_prints_the_working_sources_and_fails_for_the_broken_one() {
    let env = TestEnv::with_shipped_topic(&[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let good = fixtures().join("relevance-dev/feeds/mixed-04-rdf.xml");
    let bad = format!("http://127.0.0.1:{port}/gone.xml");
    let out = feedwatch(&env, &["score", good.to_str().unwrap(), &bad]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let items = text
        .lines()
        .filter(|l| l.starts_with("PUBLISH") || l.starts_with("SKIP"))
        .count();
    assert!(items > 0, "the good source's items are printed: {text}");
    assert!(text.contains(&format!("{items} item(s)")), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("failed: {bad}")), "{err}");
    assert!(err.contains("1 of 2 source(s) failed"), "{err}");
}

#[test]
fn check_refuses_what_run_refuses_and_warns() {
    let mut english = feed("https://example.org/feed.xml", "English outlet");
    english.extra = "lang = \"english\"".to_string();
    let env = TestEnv::new(&[english]);
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        format!(
            "{text}\n[federation]\nenabled = true\n\n[admin]\ntoken = \"in-the-file-0123456789\"\n"
        ),
    )
    .unwrap();
    let out = feedwatch(&env, &["check"]);
    let text = ok(&out);
    for warning in [
        "warning: [bot] base_url http://localhost:8080/ is a local address",
        "is http with federation on",
        "[admin] token is set in the config file",
        "lang \"english\" is not a BCP 47 language tag",
    ] {
        assert!(text.contains(warning), "no {warning:?} in:\n{text}");
    }
    // A Mastodon URL that `run` would refuse is refused by `check` first.
    let bad = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&env.config_path)
        .arg("check")
        .env("FEEDWATCH_MASTODON_URL", "not a url")
        .env("FEEDWATCH_MASTODON_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let text = stdout(&bad);
    assert!(text.contains("FEEDWATCH_MASTODON_URL"), "{text}");
    let run = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&env.config_path)
        .args(["run", "--once"])
        .env("FEEDWATCH_MASTODON_URL", "not a url")
        .env("FEEDWATCH_MASTODON_TOKEN", "t")
        .output()
        .unwrap();
    assert!(!run.status.success(), "run refuses it too");
}

/// `check` tries what only a starting daemon would otherwise meet: the
/// listen address and the database's folder, each reported at its key.
#[test]
fn check_tries_the_port_and_the_data_folder() {
    let env = TestEnv::new(&[feed("https://example.org/feed.xml", "Outlet")]);
    let original = std::fs::read_to_string(&env.config_path).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listen_line = original
        .lines()
        .position(|l| l.starts_with("listen = "))
        .unwrap()
        + 1;
    std::fs::write(
        &env.config_path,
        original.replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        ),
    )
    .unwrap();
    let out = feedwatch(&env, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let expected = format!(
        "{}:{listen_line}:1: `server.listen`: cannot listen on 127.0.0.1:{port}: the address is already in use",
        env.config_path.display()
    );
    assert!(text.contains(&expected), "no {expected:?} in:\n{text}");
    // `run` meets the same port and refuses too.
    let run = feedwatch(&env, &["run", "--once"]);
    assert!(!run.status.success(), "run refuses the taken port");
    drop(taken);
    ok(&feedwatch(&env, &["check"]));
    // While a daemon holds the database, `check` still passes and says so.
    let lock = feedwatch::infra::lock::acquire(&env.db_path).unwrap();
    let text = ok(&feedwatch(&env, &["check"]));
    let note = format!(
        "note: a feedwatch daemon (PID {}) is running",
        std::process::id()
    );
    assert!(text.contains(&note), "no {note:?} in:\n{text}");
    drop(lock);

    // The database's folder sits under a plain file: it cannot be created.
    let blocker = env.dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    std::fs::write(
        &env.config_path,
        original.replace(
            "url = \"sqlite://data/feedwatch.db\"",
            "url = \"sqlite://not-a-folder/data/feedwatch.db\"",
        ),
    )
    .unwrap();
    let out = feedwatch(&env, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("`storage.url`: cannot create the database")
            && text.contains("not-a-folder is not a folder"),
        "{text}"
    );
    // A folder that does not exist yet but can be created passes, and
    // `check` leaves nothing behind.
    std::fs::write(
        &env.config_path,
        original.replace(
            "url = \"sqlite://data/feedwatch.db\"",
            "url = \"sqlite://fresh/data/feedwatch.db\"",
        ),
    )
    .unwrap();
    ok(&feedwatch(&env, &["check"]));
    assert!(
        !env.dir.path().join("fresh").exists(),
        "check creates nothing"
    );
}

/// (url, name, tags) of a source list, for comparisons.
fn listed(path: &Path) -> Vec<(String, String, Vec<String>)> {
    feedwatch::sources::load(path)
        .unwrap()
        .into_iter()
        .map(|f| (f.url.to_string(), f.name, f.tags))
        .collect()
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn opml_from_four_readers_imports_exports_and_round_trips() {
    type Expected = Vec<(String, String, Vec<String>)>;
    let cases: Vec<(&str, Expected, Vec<&str>)> = vec![
        (
            "feedly.opml",
            vec![
                (
                    s("https://focustaiwan.tw/rss/politics.xml"),
                    s("Focus Taiwan - Politics"),
                    vec![s("Taiwan")],
                ),
                (
                    s("https://www.taipeitimes.com/xml/index.rss"),
                    s("Taipei Times"),
                    vec![s("Taiwan")],
                ),
                (
                    s("https://www.interpol.int/en/rss/news"),
                    s("INTERPOL News"),
                    vec![s("Crime")],
                ),
            ],
            vec![],
        ),
        (
            "inoreader.opml",
            vec![
                (
                    s("https://news.ltn.com.tw/rss/politics.xml"),
                    s("自由時報 政治"),
                    vec![s("Taiwan")],
                ),
                (
                    s("https://focustaiwan.tw/rss/politics.xml"),
                    s("Focus Taiwan - Politics"),
                    vec![s("Taiwan"), s("Wire")],
                ),
            ],
            vec![
                "skipped \"INTERPOL newsroom\": type=\"link\": a web page (https://www.interpol.int/en/News-and-Events), not a feed",
            ],
        ),
        (
            "netnewswire.opml",
            vec![
                (
                    s("https://www.interpol.int/en/rss/news"),
                    s("INTERPOL News"),
                    vec![s("INTERPOL")],
                ),
                (
                    s("https://www.twreporter.org/a/rss2.xml"),
                    s("The Reporter"),
                    vec![],
                ),
            ],
            vec!["skipped \"Empty folder\": no xmlUrl: not a feed"],
        ),
        (
            "miniflux.opml",
            vec![
                (
                    s("https://www.taipeitimes.com/xml/index.rss"),
                    s("Taipei Times"),
                    vec![s("All")],
                ),
                (
                    s("https://feeds.feedburner.com/rsscna/politics"),
                    s("CNA 中央社"),
                    vec![s("Taiwan & Crime")],
                ),
            ],
            vec![],
        ),
    ];
    for (file, expected, skipped) in cases {
        let env = TestEnv::new(&[]);
        std::fs::write(&env.sources_path, "# mine\n").unwrap();
        let fixture = fixtures().join("opml").join(file);
        let fixture = fixture.to_str().unwrap();
        let out = ok(&feedwatch(&env, &["sources", "import", fixture]));
        assert!(
            out.contains(&format!("imported {} new feed(s)", expected.len())),
            "{file}: {out}"
        );
        for s in &skipped {
            assert!(out.contains(s), "{file}: no {s:?} in {out}");
        }
        assert!(
            out.contains(&format!("{} skipped", skipped.len())),
            "{file}: {out}"
        );
        assert_eq!(listed(&env.sources_path), expected, "{file}");

        // A second import names what is already listed.
        let again = ok(&feedwatch(&env, &["sources", "import", fixture]));
        assert!(
            again.contains(&format!(
                "  = {} (already listed as \"{}\")",
                expected[0].0, expected[0].1
            )),
            "{file}: {again}"
        );

        // Export: a declaration, one element per line, folders by first tag;
        // importing it into an empty list gives the same list back.
        let exported = ok(&feedwatch(&env, &["sources", "export"]));
        assert!(exported.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(exported.lines().count() >= 7 + expected.len(), "{exported}");
        for (_, _, tags) in &expected {
            if let Some(first) = tags.first() {
                let folder = format!("<outline text=\"{}\"", first.replace('&', "&amp;"));
                assert!(exported.contains(&folder), "{file}: {exported}");
            }
        }
        let back = env.path().join("exported.opml");
        std::fs::write(&back, &exported).unwrap();
        std::fs::write(&env.sources_path, "").unwrap();
        ok(&feedwatch(
            &env,
            &["sources", "import", back.to_str().unwrap()],
        ));
        let mut got = listed(&env.sources_path);
        let mut want = expected.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{file}: round trip");
    }
}

#[test]
fn category_paths_are_one_tag_each() {
    assert_eq!(
        feedwatch::sources::category_tags("/user/1005/label/Taiwan"),
        vec!["Taiwan"]
    );
    assert_eq!(
        feedwatch::sources::category_tags("news, /Boston/Weather ,wire"),
        vec!["news", "Weather", "wire"]
    );
    assert!(feedwatch::sources::category_tags(" , /").is_empty());
}

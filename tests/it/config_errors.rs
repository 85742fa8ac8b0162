//! One test per kind of configuration mistake: each names the line and the key.

use std::path::Path;
use std::process::Command;

use feedwatch::config::{self, Origin, Problems};
use feedwatch::sources;

use crate::helpers::test_config_text;

fn problems_for(edit: impl Fn(&str) -> String) -> Problems {
    let text = edit(&test_config_text());
    config::parse_with_env(Path::new("config.toml"), text, Vec::new())
        .expect_err("config must be rejected")
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

fn assert_one(problems: &Problems, key: &str, line: usize, fragment: &str) {
    let p = problems
        .0
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no problem for {key} in:\n{problems}"));
    assert!(
        matches!(p.origin, Origin::File { line: l, column } if l == line && column >= 1),
        "{p}"
    );
    let shown = p.to_string();
    assert!(
        shown.starts_with(&format!("config.toml:{line}:")),
        "{shown}"
    );
    assert!(shown.contains(&format!("`{key}`")), "{shown}");
    assert!(shown.contains(fragment), "{shown}");
    assert!(
        p.hint.is_some(),
        "every problem says what to write: {shown}"
    );
}

#[test]
fn unknown_key_is_named_with_a_suggestion() {
    let edit = |t: &str| t.replace("listen = ", "lissten = ");
    let p = problems_for(edit);
    assert_one(
        &p,
        "server.lissten",
        line_of(&edit(&test_config_text()), "lissten"),
        "did you mean `server.listen`",
    );
}

#[test]
fn unknown_section_is_named() {
    let edit = |t: &str| format!("{t}\n[fetchh]\ntimeout = \"1s\"\n");
    let p = problems_for(edit);
    assert_one(
        &p,
        "fetchh",
        line_of(&edit(&test_config_text()), "[fetchh]"),
        "did you mean `fetch`",
    );
}

#[test]
fn wrong_type_says_what_is_expected() {
    let edit = |t: &str| t.replace("max_redirects = 3", "max_redirects = \"three\"");
    let p = problems_for(edit);
    assert_one(
        &p,
        "fetch.max_redirects",
        line_of(&edit(&test_config_text()), "max_redirects"),
        "a whole number",
    );
}

#[test]
fn bad_cron_is_rejected_with_an_example() {
    let edit = |t: &str| t.replace("cron = \"*/5 * * * *\"", "cron = \"every 5 minutes\"");
    let p = problems_for(edit);
    assert_one(
        &p,
        "schedule.cron",
        line_of(&edit(&test_config_text()), "cron ="),
        "*/15 * * * *",
    );
}

#[test]
fn bad_duration_is_rejected() {
    let edit = |t: &str| t.replace("interval = \"15m\"", "interval = \"fifteen minutes\"");
    let p = problems_for(edit);
    assert_one(
        &p,
        "schedule.interval",
        line_of(&edit(&test_config_text()), "interval ="),
        "\"15m\"",
    );
}

#[test]
fn bad_url_is_rejected() {
    let edit = |t: &str| {
        t.replace(
            "base_url = \"http://localhost:8080\"",
            "base_url = \"localhost:8080\"",
        )
    };
    let p = problems_for(edit);
    assert_one(
        &p,
        "bot.base_url",
        line_of(&edit(&test_config_text()), "base_url"),
        "http(s) URL",
    );
}

#[test]
fn bad_listen_address_is_rejected() {
    let edit = |t: &str| t.replace("listen = \"127.0.0.1:0\"", "listen = \"localhost\"");
    let p = problems_for(edit);
    assert_one(
        &p,
        "server.listen",
        line_of(&edit(&test_config_text()), "listen ="),
        "127.0.0.1:8080",
    );
}

#[test]
fn syntax_error_points_at_the_line() {
    let edit = |t: &str| t.replace("[fetch]", "[fetch");
    let p = problems_for(edit);
    assert_eq!(p.0.len(), 1);
    let line = line_of(&edit(&test_config_text()), "[fetch");
    assert!(
        matches!(p.0[0].origin, Origin::File { line: l, .. } if l == line),
        "{p}"
    );
    assert!(p.to_string().contains("TOML syntax error"));
}

#[test]
fn every_problem_is_listed_at_once() {
    let p = problems_for(|t| {
        t.replace("listen = ", "lissten = ")
            .replace("max_redirects = 3", "max_redirects = \"three\"")
            .replace("timeout = \"2s\"", "timeout = \"soon\"")
            .replace("cron = \"*/5 * * * *\"", "cron = \"* *\"")
    });
    let keys: Vec<&str> = p.0.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "server.lissten",
        "fetch.max_redirects",
        "fetch.timeout",
        "schedule.cron",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
}

#[test]
fn environment_overrides_apply_and_are_blamed_by_name() {
    let ok = config::parse_with_env(
        Path::new("config.toml"),
        test_config_text(),
        vec![
            (
                "FEEDWATCH_SERVER__LISTEN".to_string(),
                "127.0.0.1:9999".to_string(),
            ),
            (
                "FEEDWATCH_ADMIN__TOKEN".to_string(),
                "0123456789012345678".to_string(),
            ),
            (
                "FEEDWATCH_FETCH__MAX_REDIRECTS".to_string(),
                "7".to_string(),
            ),
        ],
    )
    .unwrap();
    assert_eq!(ok.server.listen.port(), 9999);
    assert_eq!(ok.admin.token.as_deref(), Some("0123456789012345678"));
    assert_eq!(ok.fetch.max_redirects, 7);

    let err = config::parse_with_env(
        Path::new("config.toml"),
        test_config_text(),
        vec![
            (
                "FEEDWATCH_SCHEDULE__CRON".to_string(),
                "99 * * * *".to_string(),
            ),
            ("FEEDWATCH_SERVR__LISTEN".to_string(), "x".to_string()),
        ],
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("environment variable FEEDWATCH_SCHEDULE__CRON"),
        "{text}"
    );
    assert!(text.contains("FEEDWATCH_SERVR__LISTEN"), "{text}");
    assert!(
        text.contains("did you mean FEEDWATCH_SERVER__LISTEN"),
        "{text}"
    );
}

#[test]
fn source_list_mistakes_are_located() {
    let text = "[[feed]]\nurl = \"https://a.example/rss\"\n\n[[feed]]\nname = \"no url\"\n\n[[feed]]\nurl = \"https://a.example/rss\"\n\n[[feed]]\nurl = \"https://b.example/rss\"\nintervall = \"5m\"\n\n[[feed]]\nurl = \"ftp://c.example/rss\"\ninterval = \"soon\"\n";
    let p = sources::parse_toml(Path::new("sources.toml"), text.to_string()).unwrap_err();
    let shown = p.to_string();
    let find = |key: &str| {
        p.0.iter()
            .find(|p| p.key == key)
            .unwrap_or_else(|| panic!("{key} missing:\n{shown}"))
    };
    // Missing url: points at the table of the second entry.
    assert!(
        matches!(find("feed[1].url").origin, Origin::File { line: 4, .. }),
        "{shown}"
    );
    assert!(find("feed[1].url").message.contains("missing"));
    // Listed twice.
    assert!(
        matches!(find("feed[2].url").origin, Origin::File { line: 8, .. }),
        "{shown}"
    );
    // Typo in a key.
    assert!(
        matches!(
            find("feed[3].intervall").origin,
            Origin::File { line: 12, .. }
        ),
        "{shown}"
    );
    assert!(
        find("feed[3].intervall")
            .hint
            .as_deref()
            .unwrap()
            .contains("feed[3].interval")
    );
    // Bad scheme and bad interval on the last one.
    assert!(
        matches!(find("feed[4].url").origin, Origin::File { line: 15, .. }),
        "{shown}"
    );
    assert!(
        matches!(
            find("feed[4].interval").origin,
            Origin::File { line: 16, .. }
        ),
        "{shown}"
    );
}

#[test]
fn check_command_exits_1_and_lists_problems() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        test_config_text()
            .replace("listen = ", "lissten = ")
            .replace("jitter = \"0\"", "jitter = \"x\""),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sources.toml"),
        "[[feed]]\nurl = \"https://a.example/rss\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args(["--config", cfg.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("`server.lissten`: unknown key"), "{stdout}");
    assert!(stdout.contains("`schedule.jitter`"), "{stdout}");
    assert!(stdout.contains("2 problem(s) found"), "{stdout}");

    std::fs::write(&cfg, test_config_text()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .args(["--config", cfg.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn shipped_config_and_sources_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = config::load_with_env(&root.join("config.toml"), Vec::new()).unwrap();
    let feeds = sources::load(&cfg.sources.path).unwrap();
    assert!(feeds.len() >= 15);
    assert!(feeds.iter().any(|f| f.lang.as_deref() == Some("zh")));
    assert!(
        feeds
            .iter()
            .any(|f| f.url.host_str() == Some("www.interpol.int"))
    );
}

#[test]
fn broken_rule_query_names_the_rule_line_and_column() {
    let edit = |t: &str| {
        format!("{t}\n[topic]\n[[topic.rule]]\nname = \"core\"\nquery = \"taiwan AND (interpol\"\n")
    };
    let p = problems_for(edit);
    let line = line_of(
        &edit(&test_config_text()),
        "query = \"taiwan AND (interpol\"",
    );
    let found =
        p.0.iter()
            .find(|p| p.key == "topic.rule[0].query")
            .unwrap_or_else(|| panic!("{p}"));
    assert!(
        matches!(found.origin, Origin::File { line: l, .. } if l == line),
        "{found}"
    );
    let shown = found.to_string();
    assert!(
        shown.contains("rule `core`") && shown.contains("column") && shown.contains("expected ')'"),
        "{shown}"
    );
}

#[test]
fn blocked_domain_that_is_not_a_domain_is_located() {
    let edit = |t: &str| {
        format!(
            "{t}\n[federation]\nblocked_domains = [\"spam.example\", \"https://bad.example/\"]\n"
        )
    };
    let text = edit(&test_config_text());
    let p = problems_for(edit);
    assert_one(
        &p,
        "federation.blocked_domains",
        line_of(&text, "blocked_domains"),
        "https://bad.example/",
    );
    // Valid entries are accepted and normalised.
    let ok = format!(
        "{}\n[federation]\nblocked_domains = [\"Spam.Example.\", \"bad.example.net\"]\n",
        test_config_text()
    );
    let c = config::parse_with_env(Path::new("config.toml"), ok, Vec::new()).expect("valid");
    assert_eq!(
        c.federation.blocked_domains,
        ["spam.example", "bad.example.net"]
    );
}

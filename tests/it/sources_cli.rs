//! The source list on the command line: OPML round trip and `feeds` health.

use std::process::Command;

use crate::helpers::{TestEnv, feed};

fn feedwatch(env: &TestEnv, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&env.config_path)
        .args(args)
        .output()
        .expect("run feedwatch")
}

#[test]
fn opml_export_then_import_round_trips() {
    let mut a = feed("https://focustaiwan.tw/rss/politics.xml", "Focus Taiwan");
    a.extra = "lang = \"en\"\ntags = [\"taiwan\", \"wire\"]".to_string();
    let b = feed("https://news.ltn.com.tw/rss/politics.xml", "自由時報 政治");
    let env = TestEnv::new(&[a, b]);
    let out = feedwatch(&env, &["sources", "export"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opml = String::from_utf8(out.stdout).unwrap();
    assert!(opml.contains("version=\"2.0\""), "{opml}");
    let opml_path = env.path().join("export.opml");
    std::fs::write(&opml_path, &opml).unwrap();

    // Import into an empty list: both come back with names, language and tags.
    std::fs::write(&env.sources_path, "# my feeds\n").unwrap();
    let out = feedwatch(&env, &["sources", "import", opml_path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 new feed(s)"));
    let list = feedwatch::sources::load(&env.sources_path).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].name, "Focus Taiwan");
    assert_eq!(list[0].lang.as_deref(), Some("en"));
    assert_eq!(list[0].tags, vec!["taiwan", "wire"]);
    assert_eq!(list[1].name, "自由時報 政治");
    assert!(
        std::fs::read_to_string(&env.sources_path)
            .unwrap()
            .starts_with("# my feeds\n")
    );

    // Importing again adds nothing.
    let out = feedwatch(&env, &["sources", "import", opml_path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 0 new feed(s)"));
    assert_eq!(
        feedwatch::sources::load(&env.sources_path).unwrap().len(),
        2
    );
}

#[test]
fn feeds_command_shows_health_after_a_cycle() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fixture = crate::helpers::fixtures().join("relevance-dev/feeds/mixed-03-atom.xml");
    let env = TestEnv::new(&[
        feed(format!("file://{}", fixture.display()), "atom fixture"),
        feed(format!("http://127.0.0.1:{port}/gone.xml"), "unreachable"),
    ]);
    let before = feedwatch(&env, &["feeds"]);
    assert!(String::from_utf8_lossy(&before.stdout).contains("not fetched"));
    let run = feedwatch(&env, &["run", "--once"]);
    // One feed failed, the other was committed: exit status 3.
    assert_eq!(
        run.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = feedwatch(&env, &["feeds"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let atom = text
        .lines()
        .find(|l| l.starts_with("atom fixture"))
        .unwrap();
    assert!(atom.contains(" ok "), "{text}");
    let bad = text.lines().find(|l| l.starts_with("unreachable")).unwrap();
    assert!(bad.contains("error") && bad.contains("     1 "), "{text}");
    assert!(text.contains("last error: fetch: cannot connect"), "{text}");
}

//! The rendered feeds, read back by real tools: Python's feedparser (what
//! many feed readers are built on) and libxml2's xmllint. Neither is
//! optional: a missing tool fails the test with the command that installs
//! it, so CI cannot go green without having checked anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use feedwatch::model::{FeedEntry, SourceRef};
use feedwatch::publish::feed::{
    CONTENT_TYPE_ATOM, CONTENT_TYPE_JSON, CONTENT_TYPE_RSS, FeedMeta, entry_html, etag_for,
    render_atom, render_json, render_rss,
};
use feedwatch::text::safe_http_url;
use scraper::{Html, Selector};
use serde_json::Value;

const INSTALL_FEEDPARSER: &str = "pip install feedparser";
const INSTALL_XMLLINT: &str = "apt-get update && apt-get install -y libxml2-utils";

fn date(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid date")
}

fn meta() -> FeedMeta {
    FeedMeta {
        title: "INTERPOL & Taiwan watch".into(),
        description: "Summaries of news about Taiwan and INTERPOL".into(),
        home_url: "https://bot.example/".into(),
        feed_base_url: "https://bot.example/".into(),
        language: "en".into(),
        updated: date(2025, 11, 26, 9),
        author: "interpolwatch".into(),
    }
}

fn src(name: &str, url: &str) -> SourceRef {
    SourceRef {
        name: name.into(),
        url: url.into(),
    }
}

/// Realistic entries plus hostile ones, deliberately out of date order.
fn entries() -> Vec<FeedEntry> {
    vec![
        FeedEntry {
            id: "https://bot.example/stories/2025-11-24-taiwan-interpol-bid".into(),
            title: "Taiwan renews bid to join INTERPOL assembly".into(),
            summary: "Taiwan's Ministry of Foreign Affairs on Monday renewed its call for observer status at the INTERPOL General Assembly. Taiwan left INTERPOL in 1984.".into(),
            link: "https://focustaiwan.tw/politics/202511240012".into(),
            sources: vec![
                src("Focus Taiwan", "https://focustaiwan.tw/politics/202511240012"),
                src("Taipei Times", "https://www.taipeitimes.com/News/taiwan/archives/2025/11/25/2003848000"),
            ],
            hashtags: vec!["Interpol".into(), "Taiwan".into()],
            language: "en".into(),
            published: date(2025, 11, 24, 3),
            updated: date(2025, 11, 24, 5),
        },
        FeedEntry {
            id: "https://bot.example/stories/2025-11-25-zh".into(),
            title: "國際刑警大會登場 外交部籲支持台灣參與".into(),
            summary: "國際刑警組織第93屆大會24日起在摩洛哥馬拉喀什舉行，外交部今天再度呼籲各國支持台灣以觀察員身分參與。".into(),
            link: "https://www.cna.com.tw/news/aipl/202511240123.aspx".into(),
            sources: vec![src("中央社", "https://www.cna.com.tw/")],
            hashtags: vec!["國際刑警".into(), "台灣".into()],
            language: "zh-TW".into(),
            published: date(2025, 11, 25, 1),
            updated: date(2025, 11, 25, 1),
        },
        FeedEntry {
            id: "https://bot.example/stories/hostile?a=1&b=2".into(),
            title: "<script>alert('t')</script> Scam & fraud ]]> ring \u{1}busted\u{8} in <b>Taipei</b>".into(),
            summary: "Police said \"<img src=x onerror=alert(1)>\" & ]]> was found; </p><script>alert(2)</script> \u{b}\u{1f}end".into(),
            link: "https://news.example.com/a?b=1&c=<2>".into(),
            sources: vec![
                src("<i>Evil</i> & Co", "javascript:alert(3)"),
                src("Fine News", "https://fine.example/story?x=1&y=2"),
            ],
            hashtags: vec!["#Scam".into(), "]]>".into(), "a&b".into()],
            language: "en".into(),
            published: date(2025, 11, 26, 8),
            updated: date(2025, 11, 26, 8),
        },
        FeedEntry {
            id: "https://bot.example/stories/no-link".into(),
            title: "Item whose link is javascript:".into(),
            summary: "The link of this item is not http(s) and must be dropped.".into(),
            link: "javascript:alert(4)".into(),
            sources: vec![],
            hashtags: vec![],
            language: "en".into(),
            published: date(2025, 11, 20, 8),
            updated: date(2025, 11, 20, 8),
        },
    ]
}

fn clean(s: &str) -> String {
    feedwatch::summary::strip_control_chars(s)
        .trim()
        .to_string()
}

/// Entries as a reader must see them: newest first.
fn expected_order() -> Vec<FeedEntry> {
    let mut e = entries();
    e.sort_by_key(|x| std::cmp::Reverse(x.published));
    e
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("feedwatch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn write(&self, file: &str, body: &str) -> PathBuf {
        let path = self.0.join(file);
        std::fs::write(&path, body).expect("write feed");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs feedparser on the files; fails with install instructions when it
/// is missing.
pub(crate) fn feedparser(paths: &[&Path]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/feed_readers.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(paths)
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for this test ({e}); install python3, then: {INSTALL_FEEDPARSER}"));
    if out.status.code() == Some(3) {
        panic!(
            "Python's feedparser is required for this test; install it with: {INSTALL_FEEDPARSER}"
        );
    }
    assert!(
        out.status.success(),
        "feed_readers.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::helpers::ran_with("feedparser");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("feed_readers.py prints JSON"))
        .collect()
}

/// Runs `xmllint --noout`; fails with install instructions when it is
/// missing.
pub(crate) fn xmllint(path: &Path) {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint is required for this test ({e}); install it with: {INSTALL_XMLLINT}")
        });
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "xmllint rejects {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    crate::helpers::ran_with("xmllint");
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

#[test]
fn feed_readers_parse_our_feeds() {
    let dir = TempDir::new("feeds");
    let meta = meta();
    let entries = entries();
    let rss = dir.write("feed.xml", &render_rss(&meta, &entries));
    let atom = dir.write("feed.atom", &render_atom(&meta, &entries));
    let json = dir.write("feed.json", &render_json(&meta, &entries));

    xmllint(&rss);
    xmllint(&atom);

    let reports = feedparser(&[&rss, &atom, &json]);
    assert_eq!(reports.len(), 3);
    let expected = expected_order();
    for (report, kind) in reports.iter().zip(["rss", "atom", "json"]) {
        assert_eq!(
            report["bozo"], 0,
            "{kind}: feedparser reports a malformed feed: {}",
            report["bozo_exception"]
        );
        let version = str_of(report, "version").unwrap_or("");
        match kind {
            "rss" => assert_eq!(version, "rss20"),
            "atom" => assert_eq!(version, "atom10"),
            _ => assert_eq!(version, "json11"),
        }
        assert_eq!(
            str_of(report, "feed_title"),
            Some("INTERPOL & Taiwan watch")
        );
        let got = report["entries"].as_array().expect("entries");
        assert_eq!(got.len(), expected.len(), "{kind}: entry count");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(str_of(g, "id"), Some(e.id.as_str()), "{kind}: id");
            assert_eq!(
                str_of(g, "title"),
                Some(clean(&e.title).as_str()),
                "{kind}: title"
            );
            let link = match kind {
                // JSON Feed's `url` is our story page; `external_url` the article.
                "json" => safe_http_url(&e.id),
                // An unusable article link falls back to the story page.
                _ => safe_http_url(&e.link).or_else(|| safe_http_url(&e.id)),
            };
            assert_eq!(
                str_of(g, "link").map(str::to_string),
                link,
                "{kind}: link of {}",
                e.id
            );
        }
    }
}

#[test]
fn hostile_input_is_escaped_everywhere() {
    let meta = meta();
    let entries = entries();
    for (kind, body) in [
        ("rss", render_rss(&meta, &entries)),
        ("atom", render_atom(&meta, &entries)),
    ] {
        let lower = body.to_lowercase();
        assert!(!lower.contains("<script"), "{kind}: raw <script>");
        assert!(!lower.contains("<img"), "{kind}: raw <img>");
        assert!(
            !lower.contains("javascript:alert(3)"),
            "{kind}: javascript: link kept"
        );
        assert!(
            !lower.contains("href=\"javascript"),
            "{kind}: javascript: href"
        );
        assert!(
            !body
                .chars()
                .any(feedwatch::summary::text::is_forbidden_char),
            "{kind}: control character in XML"
        );
        assert!(
            body.starts_with("<?xml version=\"1.0\""),
            "{kind}: declaration"
        );
    }
    let json = render_json(&meta, &entries);
    assert!(
        !json.contains('<') && !json.contains('>'),
        "JSON escapes angle brackets"
    );
    let v: Value = serde_json::from_str(&json).expect("valid JSON");
    let hostile = v["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["id"] == "https://bot.example/stories/hostile?a=1&b=2")
        })
        .expect("hostile item");
    // Plain-text fields keep the text literally (escaping is the reader's job
    // for text), minus control characters.
    assert_eq!(
        hostile["title"],
        "<script>alert('t')</script> Scam & fraud ]]> ring busted in <b>Taipei</b>"
    );
    // Tags survive as terms, "#" removed.
    assert_eq!(hostile["tags"], serde_json::json!(["Scam", "]]>", "a&b"]));
}

/// Entry bodies are HTML with only p/a/br, http(s) links and our rel.
#[test]
fn entry_html_is_sanitized() {
    let any = Selector::parse("*").expect("selector");
    for e in entries() {
        let html = entry_html(&e);
        let doc = Html::parse_fragment(&html);
        for el in doc.select(&any) {
            let name = el.value().name();
            assert!(
                matches!(name, "html" | "p" | "a" | "br"),
                "element {name} in {html}"
            );
            for (attr, value) in el.value().attrs() {
                assert!(matches!(attr, "href" | "rel"), "attribute {attr} in {html}");
                if attr == "href" {
                    assert!(
                        value.starts_with("https://") || value.starts_with("http://"),
                        "{value}"
                    );
                }
                if attr == "rel" {
                    assert_eq!(value, "nofollow noopener noreferrer");
                }
            }
        }
        assert!(
            !html.contains("<img") && !html.contains("<script"),
            "{html}"
        );
    }
}

#[test]
fn json_feed_has_required_and_promised_fields() {
    let meta = meta();
    let v: Value = serde_json::from_str(&render_json(&meta, &entries())).expect("valid JSON");
    // Required by JSON Feed 1.1.
    assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(v["title"], "INTERPOL & Taiwan watch");
    let items = v["items"].as_array().expect("items is an array");
    assert_eq!(items.len(), 4);
    // Promised at the top level.
    assert_eq!(v["home_page_url"], "https://bot.example/");
    assert_eq!(v["feed_url"], "https://bot.example/feed.json");
    assert_eq!(v["language"], "en");
    assert!(v["description"].is_string());
    let expected = expected_order();
    for (item, e) in items.iter().zip(&expected) {
        assert_eq!(item["id"], e.id.as_str(), "id is a string, the story page");
        assert_eq!(
            item["url"].as_str().map(str::to_string),
            safe_http_url(&e.id)
        );
        assert_eq!(
            item["external_url"].as_str().map(str::to_string),
            safe_http_url(&e.link)
        );
        for key in [
            "title",
            "content_html",
            "content_text",
            "summary",
            "language",
        ] {
            assert!(item[key].is_string(), "{key} missing in {item}");
        }
        for key in ["date_published", "date_modified"] {
            let s = item[key].as_str().expect("date string");
            DateTime::parse_from_rfc3339(s).unwrap_or_else(|err| panic!("{key} {s}: {err}"));
        }
        assert!(item["tags"].is_array());
        let authors = item["authors"].as_array().expect("authors");
        assert_eq!(authors[0]["name"], "interpolwatch");
        assert_eq!(item["language"], e.language.as_str());
    }
    // Newest first.
    let dates: Vec<&str> = items
        .iter()
        .filter_map(|i| i["date_published"].as_str())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    // The javascript: link was dropped, not rendered.
    let no_link = items
        .iter()
        .find(|i| i["id"] == "https://bot.example/stories/no-link")
        .expect("item");
    assert!(no_link.get("external_url").is_none());
}

#[test]
fn rss_specifics() {
    let rss = render_rss(&meta(), &entries());
    assert!(rss.contains(r#"<atom:link href="https://bot.example/feed.xml" rel="self" type="application/rss+xml"/>"#), "{rss}");
    // isPermaLink="true" is RSS 2.0's default; the writer leaves it out.
    assert!(
        rss.contains(r#"<guid>https://bot.example/stories/2025-11-24-taiwan-interpol-bid</guid>"#)
    );
    assert!(!rss.contains(r#"isPermaLink="false""#));
    assert!(rss.contains("<pubDate>Mon, 24 Nov 2025 03:00:00 +0000</pubDate>"));
    assert!(rss.contains("<lastBuildDate>Wed, 26 Nov 2025 09:00:00 +0000</lastBuildDate>"));
    assert!(rss.contains("<dc:language>zh-TW</dc:language>"));
    // Only the item whose language differs from the channel's says so.
    assert_eq!(rss.matches("<dc:language>").count(), 1, "{rss}");
    assert!(rss.contains("<language>en</language>"));
    // Browsers get the stylesheet; the declaration stays first.
    assert!(rss.starts_with("<?xml"));
    assert_eq!(
        rss.lines().nth(1),
        Some(r#"<?xml-stylesheet type="text/xsl" href="feed.xsl"?>"#),
        "{rss}"
    );
    assert!(rss.contains("<category>Interpol</category>"));
    assert!(rss.contains("<content:encoded>"));
}

#[test]
fn atom_specifics() {
    let atom = render_atom(&meta(), &entries());
    assert!(
        atom.contains(
            r#"<link href="https://bot.example/feed.atom" rel="self" type="application/atom+xml"/>"#
        ),
        "{atom}"
    );
    assert!(atom.contains(r#"rel="alternate""#));
    assert!(atom.contains("<id>https://bot.example/feed.atom</id>"));
    assert!(atom.contains(r#"<content xml:lang="zh-TW" type="html">"#));
    // Each entry carries its own language.
    assert!(atom.contains(r#"<entry xml:lang="zh-TW">"#), "{atom}");
    assert!(atom.contains(r#"<entry xml:lang="en">"#), "{atom}");
    assert!(!atom.contains("<entry>"));
    assert!(atom.contains(r#"<?xml-stylesheet type="text/xsl" href="feed.xsl"?>"#));
    assert!(atom.contains(r#"<category term="Taiwan"/>"#));
    assert!(atom.contains("<author><name>interpolwatch</name>"));
}

#[test]
fn content_types_and_etags() {
    assert_eq!(CONTENT_TYPE_RSS, "application/rss+xml; charset=utf-8");
    assert_eq!(CONTENT_TYPE_ATOM, "application/atom+xml; charset=utf-8");
    assert_eq!(CONTENT_TYPE_JSON, "application/feed+json; charset=utf-8");
    let body = render_rss(&meta(), &entries());
    assert_eq!(
        etag_for(body.as_bytes()),
        etag_for(render_rss(&meta(), &entries()).as_bytes())
    );
    assert_ne!(
        etag_for(body.as_bytes()),
        etag_for(render_rss(&meta(), &entries()[1..]).as_bytes())
    );
}

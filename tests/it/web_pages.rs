//! Page-level tests: every page escapes hostile feed data, advertises the
//! feeds where it should, fits a phone and loads nothing from elsewhere;
//! the admin filters and the playground preview render what they are given.

use chrono::{TimeZone, Utc};
use feedwatch::web::pages::{
    AdminView, FeedHealthView, FollowerView, ItemView, PlaygroundView, PreviewRow, QueueView,
    SiteInfo, StoryView, admin_page, index_page, login_page, message_page, playground_page,
    story_page,
};

const XSS: &str = "<script>alert(1)</script>\"onmouseover=alert(2) x='";

fn when() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

fn site() -> SiteInfo {
    SiteInfo {
        title: format!("Watch {XSS}"),
        description: format!("INTERPOL and Taiwan {XSS}"),
        handle: format!("@interpolwatch@example.org{XSS}"),
        base_url: "https://example.org".into(),
        actor_url: "javascript:alert(3)".into(),
        hashtags: vec![format!("tag{XSS}")],
    }
}

fn hostile_story() -> StoryView {
    StoryView {
        id: format!("id{XSS}"),
        page_url: "javascript:alert(4)".into(),
        title: format!("Title {XSS}"),
        summary: format!("Summary {XSS}"),
        link: "javascript:alert(5)".into(),
        sources: vec![
            (format!("Evil {XSS}"), "javascript:alert(6)".into()),
            (
                "Data".into(),
                "data:text/html,<script>alert(7)</script>".into(),
            ),
            (
                "Good outlet".into(),
                "https://news.example.com/a?q=\"><script>".into(),
            ),
        ],
        hashtags: vec![format!("h{XSS}")],
        language: "en\" onload=\"alert(8)".into(),
        published: when(),
        posted: Some(when()),
    }
}

fn good_story() -> StoryView {
    StoryView {
        id: "s1".into(),
        page_url: "/stories/s1".into(),
        title: "刑事局：無法加入國際刑警組織".into(),
        summary: "台灣不是國際刑警組織會員。".into(),
        link: "https://zh.example.tw/news/1".into(),
        sources: vec![
            ("中央社".into(), "https://zh.example.tw/news/1".into()),
            ("自由時報".into(), "https://ltn.example.tw/2".into()),
        ],
        hashtags: vec!["台灣".into()],
        language: "zh-TW".into(),
        published: when(),
        posted: None,
    }
}

fn item(id: &str, source: &str, decision: Option<bool>) -> ItemView {
    ItemView {
        story: None,
        id: id.into(),
        title: format!("Item {id} {XSS}"),
        link: Some("javascript:alert(9)".into()),
        source: source.into(),
        published: when(),
        lang: "en".into(),
        decision,
        score: decision.map(|d| if d { 0.8 } else { 0.1 }),
        reasons: format!("rule {XSS}"),
    }
}

fn admin_view() -> AdminView {
    AdminView {
        feeds: vec![FeedHealthView {
            name: format!("Feed {XSS}"),
            url: "javascript:alert(10)".into(),
            enabled: true,
            status: format!("error {XSS}"),
            last_fetch: Some(when()),
            errors: 3,
            total_errors: 17,
            next_check: None,
            last_error: Some(format!("HTTP 503 {XSS}")),
        }],
        items: vec![
            item("a", "World Desk", Some(false)),
            item("b", "World Desk", Some(false)),
        ],
        decision_filter: Some(false),
        source_filter: Some("World Desk".into()),
        sources: vec![
            "Focus Taiwan".into(),
            "World Desk".into(),
            format!("S {XSS}"),
        ],
        followers: vec![FollowerView {
            actor: format!("https://m.example/u/{XSS}"),
            inbox: format!("https://m.example/inbox{XSS}"),
        }],
        queue: QueueView {
            pending: 4,
            delivered: 148,
            failed: 2,
            dead: 1,
        },
        publish_queue: Default::default(),
        csrf: "csrf\"><script>".into(),
        page: 0,
        more: false,
        fediverse: feedwatch::web::pages::FediverseActivityView {
            mentions: vec![feedwatch::web::pages::MentionView {
                actor: format!("https://m.example/u/{XSS}"),
                received: when(),
                url: Some("javascript:alert(12)".into()),
                content_html: format!("<p onclick=\"alert(13)\">hi {XSS}</p>"),
                story: Some((format!("s{XSS}"), format!("T {XSS}"))),
            }],
            stories: vec![feedwatch::web::pages::ReactedStoryView {
                id: format!("s{XSS}"),
                title: format!("T {XSS}"),
                likes: 2,
                announces: 1,
            }],
        },
        labels: [("a".to_string(), 2u8)].into_iter().collect(),
        review: feedwatch::web::pages::ReviewView {
            items: vec![feedwatch::web::pages::ReviewItemView {
                id: format!("r{XSS}"),
                title: format!("Review {XSS}"),
                outlet: format!("Outlet {XSS}"),
                link: Some("javascript:alert(14)".into()),
                lang: format!("en{XSS}"),
                published: when(),
                score: 0.3,
                held: Some(format!("older than max_age {XSS}")),
            }],
            threshold: 0.35,
            margin: 0.1,
        },
    }
}

fn playground_view() -> PlaygroundView {
    PlaygroundView {
        topic_toml: format!("\n[topic]\nquery = \"{XSS}\"\n</textarea><script>alert(11)</script>"),
        threshold: 0.99,
        last_n: 200,
        preview: Some(vec![
            PreviewRow {
                item: item("up", "Focus Taiwan", Some(false)),
                before: Some(false),
                after: true,
                after_score: 0.995,
                after_reasons: format!("now in {XSS}"),
            },
            PreviewRow {
                item: item("down1", "World Desk", Some(true)),
                before: Some(true),
                after: false,
                after_score: 0.8,
                after_reasons: "below threshold 0.99".into(),
            },
            PreviewRow {
                item: item("down2", "World Desk", Some(true)),
                before: Some(true),
                after: false,
                after_score: 0.7,
                after_reasons: "below threshold 0.99".into(),
            },
        ]),
        unchanged: 197,
        error: None,
        applied: false,
        csrf: "tok".into(),
        warnings: vec![format!(
            "rule `x`: column 3: `or` is matched as a word here; write OR {XSS}"
        )],
        labelled: Some((
            feedwatch::matching::evaluate_rows(&[feedwatch::matching::EvalRow {
                id: "a".into(),
                label: 2,
                published: false,
                reasons: String::new(),
            }]),
            feedwatch::matching::evaluate_rows(&[feedwatch::matching::EvalRow {
                id: "a".into(),
                label: 2,
                published: true,
                reasons: String::new(),
            }]),
        )),
    }
}

/// Every page we render, named, with hostile input wherever input goes.
fn all_pages() -> Vec<(&'static str, String)> {
    let site = site();
    let mut error_view = playground_view();
    error_view.error = Some(format!("line 2: bad {XSS}"));
    vec![
        ("index", index_page(&site, &[hostile_story(), good_story()])),
        ("index-empty", index_page(&site, &[])),
        ("story", story_page(&site, &hostile_story())),
        ("story-cjk", story_page(&site, &good_story())),
        ("admin", admin_page(&site, &admin_view())),
        ("login", login_page(&site, Some(XSS))),
        ("message", message_page(&site, 404, XSS, XSS)),
        ("playground", playground_page(&site, &playground_view())),
        ("playground-error", playground_page(&site, &error_view)),
    ]
}

/// Lower-cased, so the checks below cannot be dodged by `JavaScript:` or `<SCRIPT`.
fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

#[test]
fn hostile_input_is_escaped_everywhere() {
    for (name, html) in all_pages() {
        let l = lower(&html);
        assert!(!l.contains("<script"), "{name}: raw <script>");
        assert!(!l.contains("javascript:"), "{name}: javascript: URL");
        assert!(!l.contains("data:text"), "{name}: data: URL");
        assert!(!l.contains("\"onmouseover"), "{name}: attribute breakout");
        assert!(!l.contains("'onmouseover"), "{name}: attribute breakout");
        assert!(!l.contains(" onload="), "{name}: attribute breakout");
        assert!(!l.contains("</textarea><"), "{name}: textarea breakout");
        // Only the tags we write; any `<` from the data is `&lt;`.
        assert!(!l.contains("x='"), "{name}: unescaped quote");
    }
}

#[test]
fn every_page_is_a_complete_phone_friendly_document() {
    for (name, html) in all_pages() {
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}: doctype");
        // A Chinese story's page is in the story's language; all else is English.
        let page_lang = match name {
            "story-cjk" => "zh-TW",
            "story" => "und", // the hostile story's junk language
            _ => "en",
        };
        assert!(
            html.contains(&format!("<html lang=\"{page_lang}\">")),
            "{name}: lang"
        );
        assert!(
            html.contains("<a class=\"skip-link\" href=\"#main\""),
            "{name}: skip link"
        );
        assert!(html.contains("<main id=\"main\""), "{name}: skip target");
        assert!(html.contains(":focus-visible{"), "{name}: focus style");
        assert!(
            html.contains(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            ),
            "{name}: viewport"
        );
        assert!(html.contains("<meta charset=\"utf-8\">"), "{name}: charset");
        assert!(
            html.contains("prefers-color-scheme:dark"),
            "{name}: dark mode"
        );
        assert!(html.contains("\"Noto Sans CJK TC\""), "{name}: CJK fonts");
        assert!(html.contains("default-src 'none'"), "{name}: CSP");
        assert!(html.trim_end().ends_with("</html>"), "{name}: complete");
    }
}

/// The text of every `<tag ...>` opening tag named `tag`.
fn tags<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i..];
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        let t = &after[..end];
        // `<link` must not match `<linkfoo`; `<a` must not match `<abbr`.
        if t[open.len()..].starts_with([' ', '>']) {
            out.push(t);
        }
        rest = &after[end..];
    }
    out
}

#[test]
fn no_external_assets() {
    for (name, html) in all_pages() {
        let l = lower(&html);
        for tag in [
            "link", "script", "img", "iframe", "source", "video", "audio", "object", "embed",
        ] {
            for t in tags(&l, tag) {
                assert!(
                    !t.contains("http://") && !t.contains("https://") && !t.contains("=\"//"),
                    "{name}: external asset in {t}"
                );
            }
        }
        assert!(tags(&l, "script").is_empty(), "{name}: has a script");
        assert!(tags(&l, "img").is_empty(), "{name}: has an image");
        assert!(!l.contains("url("), "{name}: CSS url()");
        assert!(!l.contains("@import"), "{name}: CSS @import");
        assert!(!l.contains("@font-face"), "{name}: web font");
    }
}

#[test]
fn public_pages_advertise_the_feeds_and_admin_pages_do_not() {
    let feeds = [
        "<link rel=\"alternate\" type=\"application/rss+xml\"",
        "<link rel=\"alternate\" type=\"application/atom+xml\"",
        "<link rel=\"alternate\" type=\"application/feed+json\"",
    ];
    for (name, html) in all_pages() {
        let head = &html[..html.find("</head>").unwrap()];
        let public = name.starts_with("index") || name.starts_with("story");
        for f in feeds {
            assert_eq!(head.contains(f), public, "{name}: {f}");
        }
        for path in [
            "href=\"/feed.xml\"",
            "href=\"/feed.atom\"",
            "href=\"/feed.json\"",
        ] {
            assert_eq!(head.contains(path), public, "{name}: {path}");
        }
        assert_eq!(head.contains("noindex"), !public, "{name}: robots");
    }
}

#[test]
fn index_shows_description_follow_hint_and_stories() {
    let html = index_page(&site(), &[hostile_story(), good_story()]);
    assert!(html.contains("INTERPOL and Taiwan &lt;script&gt;"));
    assert!(
        html.contains("data-testid=\"follow-handle\">@interpolwatch@example.org&lt;script&gt;")
    );
    assert!(html.contains("paste it into your server's search"));
    assert_eq!(html.matches("data-testid=\"story\"").count(), 2);
    assert_eq!(html.matches("data-testid=\"story-link\"").count(), 2);
    // The hostile page_url falls back to a path built from the (encoded) id.
    assert!(html.contains("href=\"/stories/id%3Cscript%3E"));
    assert!(html.contains("<a href=\"/stories/s1\" data-testid=\"story-link\">刑事局"));
    assert!(html.contains("lang=\"zh-TW\""));
    assert!(html.contains("lang=\"und\""), "junk language becomes und");
    // Sources: hostile links are dropped, the outlet name stays as text.
    assert!(html.contains("Reported by <span data-testid=\"source-name\">Evil &lt;script&gt;"));
    assert!(html.contains(
        "href=\"https://news.example.com/a?q=%22%3E%3Cscript%3E\" rel=\"nofollow noopener noreferrer\" data-testid=\"source-link\">Good outlet</a>"
    ));
    assert!(html.contains("<a href=\"https://ltn.example.tw/2\""));
    // Hostile lead link and actor URL: no link at all.
    assert_eq!(html.matches("data-testid=\"lead-link\"").count(), 1);
    assert!(!html.contains("data-testid=\"actor-link\""));
}

#[test]
fn empty_index_says_so() {
    let html = index_page(&site(), &[]);
    assert!(html.contains("data-testid=\"no-stories\""));
    assert!(!html.contains("data-testid=\"story\""));
}

#[test]
fn story_page_lists_every_outlet_lead_first() {
    let html = story_page(&site(), &good_story());
    assert!(html.contains(
        "<h1 data-testid=\"story-title\" lang=\"zh-TW\">刑事局：無法加入國際刑警組織</h1>"
    ));
    let lead = html.find("中央社").unwrap();
    let second = html.find("自由時報").unwrap();
    assert!(lead < second);
    assert!(html.contains("(lead)"));
    assert!(html.contains("<time datetime=\"2026-11-28T12:00:00Z\">2026-11-28 12:00 UTC</time>"));
    assert!(html.contains("data-testid=\"follow-handle\""));
}

#[test]
fn admin_renders_health_filters_queue_and_followers() {
    let html = admin_page(&site(), &admin_view());
    assert_eq!(html.matches("data-testid=\"feed-health\"").count(), 1);
    assert!(html.contains("3 / 17"));
    assert!(html.contains("HTTP 503 &lt;script&gt;"));
    assert!(html.contains("class=\"st-bad\""));
    assert_eq!(
        html.matches("data-testid=\"item-row\" data-decision=\"skip\"")
            .count(),
        2
    );
    assert!(!html.contains("data-decision=\"publish\""));
    // The GET form keeps the active filters selected.
    assert!(html.contains("<form method=\"get\" action=\"/admin\""));
    assert!(html.contains("<option value=\"skip\" selected>"));
    assert!(html.contains("<option value=\"World Desk\" selected>World Desk</option>"));
    assert!(html.contains("<option value=\"\">Any</option><option value=\"publish\">"));
    assert!(html.contains("where decision = skip and source = World Desk"));
    for (k, v) in [
        ("pending", 4),
        ("failed", 2),
        ("dead", 1),
        ("delivered", 148),
    ] {
        assert!(
            html.contains(&format!("data-testid=\"queue-{k}\"><dt>")),
            "{k}"
        );
        assert!(html.contains(&format!("<dd>{v}</dd>")), "{k}");
    }
    assert!(html.contains("Followers (1)"));
    assert!(html.contains("href=\"/admin/playground\""));
    assert!(html.contains("name=\"csrf\" value=\"csrf&quot;&gt;&lt;script&gt;\""));
    // Every item has the three label buttons; item a's label (2) is pressed.
    assert_eq!(html.matches("action=\"/admin/items/label\"").count(), 2);
    assert!(html.contains("data-label=\"2\""));
    assert!(
        html.contains(
            "value=\"2\" aria-pressed=\"true\" data-testid=\"label-2\">relevant</button>"
        )
    );
    assert_eq!(html.matches("aria-pressed=\"true\"").count(), 1);
    assert_eq!(
        html.matches("data-testid=\"label-0\">not relevant</button>")
            .count(),
        2
    );
}

#[test]
fn admin_keeps_a_source_filter_missing_from_the_list() {
    let mut view = admin_view();
    view.source_filter = Some("Gone".into());
    view.decision_filter = None;
    let html = admin_page(&site(), &view);
    assert!(html.contains("<option value=\"Gone\" selected>Gone</option>"));
    assert!(html.contains("<option value=\"\" selected>Any</option><option value=\"publish\">"));
}

#[test]
fn playground_preview_shows_changes_and_apply() {
    let html = playground_page(&site(), &playground_view());
    assert_eq!(html.matches("data-testid=\"preview-added\"").count(), 1);
    assert_eq!(html.matches("data-testid=\"preview-dropped\"").count(), 2);
    // The change column has a header, and the change is said in text.
    assert!(html.contains("<th scope=\"col\">Change</th>"));
    assert!(!html.contains("<th></th>"));
    assert!(!html.contains("aria-label=\"added\""));
    assert_eq!(
        html.matches("<span class=\"vh\" data-testid=\"change-text\">dropped</span>")
            .count(),
        2
    );
    assert!(html.contains("data-added=\"1\" data-dropped=\"2\" data-unchanged=\"197\""));
    assert!(html.contains("197 unchanged"));
    assert!(html.contains("action=\"/admin/playground/preview\""));
    assert!(html.contains("action=\"/admin/playground/apply\""));
    assert!(html.contains("data-testid=\"discard-link\""));
    assert!(
        html.contains(
            "name=\"threshold\" min=\"0\" max=\"1\" step=\"any\" required value=\"0.99\""
        )
    );
    assert!(html.contains("name=\"n\" min=\"1\" step=\"1\" required value=\"200\""));
    assert_eq!(
        html.matches("name=\"csrf\" value=\"tok\"").count(),
        3,
        "preview, apply, sign-out"
    );
    // The text round-trips: the extra newline after <textarea> keeps the
    // operator's leading blank line.
    assert!(html.contains("data-testid=\"playground-topic\">\n\n[topic]"));
    assert!(html.contains("&lt;/textarea&gt;&lt;script&gt;"));
    assert!(!html.contains("data-testid=\"playground-error\""));
    // Precision and recall on the labelled items, before and after.
    assert!(html.contains("data-labelled=\"1\""));
    assert!(
        html.contains(
            "data-testid=\"figure-recall-core\" data-before=\"0.000\" data-after=\"1.000\""
        )
    );
    // The lower-case operator warning, as `check` words it, escaped.
    assert!(html.contains("data-testid=\"playground-warnings\""));
    assert!(html.contains("`or` is matched as a word here; write OR"));
    // Added rows come first.
    assert!(html.find("preview-added").unwrap() < html.find("preview-dropped").unwrap());
}

#[test]
fn playground_error_keeps_the_text_and_hides_apply() {
    let mut view = playground_view();
    view.error = Some("line 2: unbalanced parenthesis".into());
    let html = playground_page(&site(), &view);
    let err = html.find("data-testid=\"playground-error\"").unwrap();
    let form = html.find("data-testid=\"playground-form\"").unwrap();
    assert!(err < form, "the error is above the form");
    assert!(html.contains("line 2: unbalanced parenthesis"));
    assert!(html.contains("[topic]\nquery = &quot;"));
    assert!(!html.contains("data-testid=\"apply-button\""));
    assert!(!html.contains("data-testid=\"preview-summary\""));
}

#[test]
fn playground_without_preview_has_only_the_form() {
    let mut view = playground_view();
    view.preview = None;
    view.applied = true;
    let html = playground_page(&site(), &view);
    assert!(html.contains("data-testid=\"playground-applied\""));
    assert!(!html.contains("data-testid=\"apply-button\""));
    assert!(html.contains("data-testid=\"preview-button\""));
}

#[test]
fn login_and_message_pages() {
    let html = login_page(&site(), None);
    assert!(html.contains("<form method=\"post\" action=\"/admin/login\""));
    assert!(html.contains("type=\"password\" id=\"token\" name=\"token\""));
    assert!(!html.contains("login-error"));
    let html = login_page(&site(), Some("wrong token"));
    assert!(html.contains("data-testid=\"login-error\">wrong token</div>"));
    let html = message_page(&site(), 401, "Sign-in required", "Token needed.");
    assert!(html.contains("data-status=\"401\""));
    assert!(html.contains("href=\"/admin/login\""));
    let html = message_page(&site(), 404, "Not found", "Nothing here.");
    assert!(!html.contains("href=\"/admin/login\""));
}

/// The text of every element that carries `lang="…"` directly, as
/// `(tag, text up to the next '<')` pairs: enough to see what each
/// language marks without an HTML parser.
fn lang_marked(html: &str, lang: &str) -> Vec<String> {
    let needle = format!(" lang=\"{lang}\">");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest[..rest.find('<').unwrap_or(rest.len())].to_owned()
        })
        .filter(|t| !t.trim().is_empty())
        .collect()
}

#[test]
fn language_sits_on_the_element_holding_the_text() {
    let site = site();
    let mut zh = good_story();
    zh.language = "zh-Hant".into();
    let index = index_page(&site, &[zh.clone()]);
    // Title (inside the heading's link), summary and the hidden titles of
    // the two links carry the full tag, and nothing else does.
    assert!(index.contains("<h3 class=\"story-title\" lang=\"zh-Hant\"><a href=\"/stories/s1\""));
    let marked = lang_marked(&index, "zh-Hant");
    assert_eq!(
        marked.len(),
        3,
        "summary and two hidden link titles: {marked:?}"
    );
    assert!(marked.contains(&"台灣不是國際刑警組織會員。".to_owned()));
    assert!(
        !index
            .contains("<article class=\"story\" data-testid=\"story\" data-story-id=\"s1\" lang="),
        "the card (English labels) is not marked Chinese"
    );
    assert!(index.contains("<html lang=\"en\">"));

    let page = story_page(&site, &zh);
    assert!(page.contains("<html lang=\"zh-Hant\">"));
    assert_eq!(
        lang_marked(&page, "zh-Hant"),
        vec![
            "刑事局：無法加入國際刑警組織",
            "台灣不是國際刑警組織會員。",
            "刑事局：無法加入國際刑警組織"
        ]
    );
    // Interface text around the story is marked English.
    assert!(page.contains("<p class=\"meta\" lang=\"en\">Published <time"));
    assert!(
        page.contains(
            "<a class=\"skip-link\" href=\"#main\" data-testid=\"skip-link\" lang=\"en\">"
        )
    );
    assert!(page.contains("<footer class=\"site narrow\" lang=\"en\">"));
    assert!(page.contains("<header class=\"site narrow\" lang=\"en\">"));
    // An English story page has no redundant marks.
    let mut en = good_story();
    en.language = "en-GB".into();
    let en = story_page(&site, &en);
    assert!(en.contains("<html lang=\"en-GB\">"));
    assert!(!en.contains(" lang=\"en\""));

    // Dashboard and playground: the item title carries its language.
    let mut view = admin_view();
    view.items[0].lang = "zh-TW".into();
    view.items[0].title = "國際刑警".into();
    let admin = admin_page(&site, &view);
    assert_eq!(lang_marked(&admin, "zh-TW"), vec!["國際刑警"]);
}

#[test]
fn repeated_links_have_unique_names() {
    let mut a = good_story();
    a.title = "First story".into();
    a.language = "en".into();
    let mut b = a.clone();
    b.id = "s2".into();
    b.page_url = "/stories/s2".into();
    b.title = "Second story".into();
    let html = index_page(&site(), &[a, b]);
    for title in ["First story", "Second story"] {
        assert!(html.contains(&format!(
            "Read the lead article<span class=\"vh\">: <span lang=\"en\">{title}</span></span> <span aria-hidden=\"true\">↗</span></a>"
        )));
        assert!(html.contains(&format!(
            "Story page<span class=\"vh\">: <span lang=\"en\">{title}</span></span></a>"
        )));
    }
}

#[test]
fn the_site_name_appears_once() {
    let site = site();
    let visible = |html: &str| {
        let body = &html[html.find("<body>").unwrap()..];
        body.matches("Watch &lt;script&gt;").count()
    };
    let index = index_page(&site, &[good_story()]);
    assert_eq!(visible(&index), 1, "front page: the h1 only");
    let story = story_page(&site, &good_story());
    assert_eq!(visible(&story), 1, "story page: the header only");
}

#[test]
fn front_page_pages_with_plain_links() {
    use feedwatch::web::pages::{Paging, index_page_paged};
    let site = site();
    let stories = vec![good_story()];
    let first = index_page_paged(&site, &stories, &Paging { page: 1, pages: 3 });
    assert!(
        first.contains("<a class=\"button\" rel=\"next\" href=\"/?page=2\" data-testid=\"older\">")
    );
    assert!(!first.contains("data-testid=\"newer\""));
    let second = index_page_paged(&site, &stories, &Paging { page: 2, pages: 3 });
    assert!(second.contains("rel=\"prev\" href=\"/\" data-testid=\"newer\""));
    assert!(second.contains("rel=\"next\" href=\"/?page=3\""));
    assert!(second.contains(
        "<h1 id=\"latest\" data-testid=\"page-heading\">Older stories, page 2 of 3</h1>"
    ));
    let last = index_page_paged(&site, &stories, &Paging { page: 3, pages: 3 });
    assert!(last.contains("rel=\"prev\" href=\"/?page=2\""));
    assert!(!last.contains("data-testid=\"older\""));
    assert!(!index_page(&site, &stories).contains("data-testid=\"pager\""));
}

//! Fediverse post composition: Mastodon's 500-character limit as a
//! property over thousands of generated inputs (long titles, many
//! hashtags, long URLs, CJK, emoji, markup, content warnings), plus the
//! shape of the HTML and the order in which parts give way.

use feedwatch::publish::post::{
    ComposedPost, MASTODON_MAX_CHARS, PostInput, PostOptions, compose_post, mastodon_length,
};
use feedwatch::summary::split_sentences;
use scraper::{ElementRef, Html, Node};

/// SplitMix64: a tiny deterministic generator, so a failure is reproducible
/// from the printed seed without an extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const EN_WORDS: &[&str] = &[
    "Taiwan",
    "INTERPOL",
    "police",
    "U.S.",
    "Dr.",
    "assembly",
    "observer",
    "scam",
    "centres",
    "crime",
    "cross-border",
    "cooperation",
    "ministry",
    "said",
    "on",
    "Monday",
    "the",
    "of",
    "3.5",
    "million",
    "&",
    "<b>bold</b>",
    "<script>x</script>",
    "\"quoted\"",
    "don't",
    "Marrakech",
    "extradition",
    "cryptocurrency",
    "Director-General",
    "👮🏽‍♀️",
    "e\u{301}",
];
const ZH_WORDS: &[&str] = &[
    "台灣",
    "國際刑警組織",
    "外交部",
    "今天",
    "表示",
    "呼籲",
    "支持",
    "參與",
    "跨國",
    "詐騙",
    "洗錢",
    "案件",
    "警方",
    "破獲",
    "，",
    "、",
    "；",
    "「合作」",
    "美國",
    "歐洲議會",
];
const TLDS: &[&str] = &["com", "tw", "org", "com.tw", "gov.tw", "net"];

fn url(rng: &mut Rng, min_len: usize) -> String {
    let host = format!(
        "{}.{}",
        rng.pick(&["focustaiwan", "www.taipeitimes", "cna", "news.example-site"]),
        rng.pick(TLDS)
    );
    let mut path = String::new();
    let target = min_len + rng.below(400);
    while path.len() + host.len() + 9 < target {
        path.push('/');
        path.push_str(rng.pick(&[
            "politics",
            "2025",
            "11",
            "24",
            "a-b",
            "story_1",
            "index.html",
        ]));
    }
    let query = if rng.chance(50) {
        "?utm_source=rss&utm_medium=feed"
    } else {
        ""
    };
    format!("https://{host}{path}{query}")
}

fn words(rng: &mut Rng, zh: bool, count: usize) -> String {
    let mut s = String::new();
    for i in 0..count {
        if zh {
            s.push_str(rng.pick(ZH_WORDS));
        } else {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(rng.pick(EN_WORDS));
        }
    }
    s
}

struct Generated {
    title: String,
    summary: String,
    sources: Vec<String>,
    link: String,
    language: String,
    topic: Vec<String>,
    item: Vec<String>,
    spoiler: Option<String>,
    /// Title or summary carry URLs of their own.
    embedded_urls: bool,
}

fn generate(rng: &mut Rng) -> Generated {
    let zh = rng.chance(40);
    let language = if zh {
        rng.pick(&["zh-TW", "zh-CN", "zh_Hant"])
    } else {
        rng.pick(&["en", "en-GB", ""])
    };
    let title_len = match rng.below(4) {
        0 => 0,
        1 => 3 + rng.below(10),
        2 => 10 + rng.below(40),
        _ => 100 + rng.below(300),
    };
    let mut title = words(rng, zh, title_len);
    let mut summary = String::new();
    for _ in 0..rng.below(6) {
        let n = if rng.chance(10) {
            150 + rng.below(200)
        } else {
            4 + rng.below(30)
        };
        let mut sentence = words(rng, zh, n);
        sentence.push_str(if zh {
            rng.pick(&["。", "！", "？"])
        } else {
            rng.pick(&[".", "!", "?"])
        });
        if !summary.is_empty() && !zh {
            summary.push(' ');
        }
        summary.push_str(&sentence);
    }
    let mut embedded_urls = false;
    if rng.chance(15) {
        let u = url(rng, 10);
        title = format!("{title} {u}");
        embedded_urls = true;
    }
    if rng.chance(15) {
        let u = if rng.chance(50) {
            "http://a.co".to_string()
        } else {
            url(rng, 10)
        };
        summary = format!("See {u} for more. {summary}");
        embedded_urls = true;
    }
    let sources = (0..rng.below(9))
        .map(|_| {
            if rng.chance(20) {
                let n = 20 + rng.below(30);
                words(rng, zh, n)
            } else {
                rng.pick(&[
                    "Focus Taiwan",
                    "Taipei Times",
                    "中央社",
                    "Taiwan News",
                    "RTI",
                    "<i>Evil</i> & Co",
                ])
                .to_string()
            }
        })
        .collect();
    let tag = |rng: &mut Rng| -> String {
        match rng.below(6) {
            0 => "interpol".into(),
            1 => "INTERPOL".into(),
            2 => "台灣".into(),
            3 => {
                let n = 1 + rng.below(3);
                words(rng, false, n)
            }
            4 => {
                let n = 1 + rng.below(3);
                words(rng, true, n)
            }
            _ => "x".repeat(1 + rng.below(60)),
        }
    };
    let topic = (0..rng.below(4)).map(|_| tag(rng)).collect();
    let item = (0..rng.below(20)).map(|_| tag(rng)).collect();
    let spoiler = if rng.chance(30) {
        let n = 1 + rng.below(80);
        Some(words(rng, zh, n))
    } else {
        None
    };
    let link_len = 20 + rng.below(1500);
    Generated {
        title,
        summary,
        sources,
        link: url(rng, link_len),
        language: language.to_string(),
        topic,
        item,
        spoiler,
        embedded_urls,
    }
}

fn compose(g: &Generated) -> ComposedPost {
    let input = PostInput {
        title: &g.title,
        summary: &g.summary,
        sources: &g.sources,
        link: &g.link,
        language: &g.language,
        topic_hashtags: &g.topic,
        item_hashtags: &g.item,
        spoiler_text: g.spoiler.as_deref(),
    };
    compose_post(&input, &PostOptions::new("https://bot.example/tags/"))
        .unwrap_or_else(|e| panic!("compose failed: {e}"))
}

/// The HTML's visible text, with paragraphs as blank lines and `<br>` as a
/// newline: must equal the plain text.
fn html_text(html: &str) -> String {
    fn walk(el: ElementRef<'_>, out: &mut String) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => {
                    let Some(child_el) = ElementRef::wrap(child) else {
                        continue;
                    };
                    match e.name() {
                        "br" => out.push('\n'),
                        "p" => {
                            if !out.is_empty() {
                                out.push_str("\n\n");
                            }
                            walk(child_el, out);
                        }
                        _ => walk(child_el, out),
                    }
                }
                _ => {}
            }
        }
    }
    let doc = Html::parse_fragment(html);
    let mut out = String::new();
    walk(doc.root_element(), &mut out);
    out
}

fn check_html(post: &ComposedPost) {
    let doc = Html::parse_fragment(&post.html);
    // descendants() starts with the fragment's own <html> root
    for node in doc.root_element().descendants().skip(1) {
        let Some(el) = ElementRef::wrap(node) else {
            continue;
        };
        let name = el.value().name();
        assert!(
            matches!(name, "p" | "a" | "br"),
            "element {name} in {}",
            post.html
        );
        for (attr, value) in el.value().attrs() {
            match attr {
                "href" => assert!(value.starts_with("https://"), "{value}"),
                "rel" => assert!(
                    value == "tag" || value == "nofollow noopener noreferrer",
                    "{value}"
                ),
                "class" => assert_eq!(value, "hashtag"),
                other => panic!("attribute {other} in {}", post.html),
            }
        }
        if el.value().attr("class") == Some("hashtag") {
            assert_eq!(el.value().attr("rel"), Some("tag"));
            let href = el.value().attr("href").unwrap_or("");
            assert!(href.starts_with("https://bot.example/tags/"), "{href}");
        }
    }
    assert_eq!(html_text(&post.html), post.text, "HTML and text differ");
}

#[test]
fn no_post_exceeds_500_over_generated_inputs() {
    let seed = 0x5EED_F00D_u64;
    let mut rng = Rng(seed);
    let mut truncated_titles = 0;
    let mut with_spoiler = 0;
    for case in 0..2000 {
        let g = generate(&mut rng);
        let post = compose(&g);
        let spoiler_chars = post.spoiler_text.as_ref().map_or(0, |s| s.chars().count());
        let measured = mastodon_length(&post.text) + spoiler_chars;
        assert_eq!(post.mastodon_length, measured, "case {case}");
        assert!(
            measured <= MASTODON_MAX_CHARS,
            "case {case} (seed {seed:#x}): {measured} > 500\n{}",
            post.text
        );
        // Independent of our URL matcher: with only the (long) link as a URL,
        // Mastodon's count is at most the character count with the link
        // charged 23. Graphemes never outnumber chars.
        if !g.embedded_urls {
            let link_chars = post
                .text
                .lines()
                .find(|l| l.starts_with("https://"))
                .map_or(0, |l| l.chars().count());
            assert!(link_chars > 23, "case {case}: generated links are long");
            let oracle = post.text.chars().count() - link_chars + 23 + spoiler_chars;
            assert_eq!(oracle, measured, "case {case}: {}", post.text);
        }
        check_html(&post);
        // Hashtags: unique case-insensitively, alphanumeric, CamelCase.
        let mut seen = std::collections::HashSet::new();
        for t in &post.hashtags {
            assert!(seen.insert(t.to_lowercase()), "duplicate tag {t}");
            assert!(t.chars().all(char::is_alphanumeric), "{t}");
            let first = t.chars().next().unwrap_or('x');
            assert!(!first.is_lowercase(), "{t} is not CamelCase");
            assert!(post.text.contains(&format!("#{t}")));
        }
        // Language always set, BCP 47-shaped.
        assert!(!post.language.is_empty());
        // A non-empty title is cut only when the summary is gone.
        let title = feedwatch::summary::clean_line(&g.title);
        if !title.is_empty() && !post.text.starts_with(&title) {
            truncated_titles += 1;
            let first_block = post.text.split("\n\n").next().unwrap_or("");
            assert!(first_block.ends_with('…'), "case {case}: {first_block}");
            let head = first_block.trim_end_matches('…');
            assert!(
                title.starts_with(head),
                "case {case}: title cut is not a prefix"
            );
            assert_eq!(
                post.text.split("\n\n").count(),
                2,
                "case {case}: title cut while summary kept"
            );
        }
        if post.spoiler_text.is_some() {
            with_spoiler += 1;
        }
    }
    // The generator did exercise the hard paths.
    assert!(
        truncated_titles > 10,
        "only {truncated_titles} truncated titles"
    );
    assert!(with_spoiler > 100);
}

fn options() -> PostOptions {
    PostOptions::new("https://bot.example/tags/")
}

#[test]
fn composed_post_shape() {
    let sources = vec![
        "Focus Taiwan".to_string(),
        "Taipei Times".to_string(),
        "focus taiwan".to_string(),
    ];
    let topic = vec!["interpol".to_string(), "Taiwan".to_string()];
    let item = vec![
        "general assembly".to_string(),
        "TAIWAN".to_string(),
        "2025".to_string(),
    ];
    let input = PostInput {
        title: "Taiwan renews bid to join INTERPOL assembly",
        summary: "Taiwan's foreign ministry renewed its call for observer status at INTERPOL. Dr. Lin said the U.S. supports the bid.",
        sources: &sources,
        link: "https://focustaiwan.tw/politics/202511240012",
        language: "en",
        topic_hashtags: &topic,
        item_hashtags: &item,
        spoiler_text: None,
    };
    let post = compose_post(&input, &options()).expect("composes");
    assert_eq!(
        post.text,
        "Taiwan renews bid to join INTERPOL assembly\n\n\
         Taiwan's foreign ministry renewed its call for observer status at INTERPOL. Dr. Lin said the U.S. supports the bid.\n\n\
         via Focus Taiwan, Taipei Times\nhttps://focustaiwan.tw/politics/202511240012\n\n\
         #Interpol #Taiwan #GeneralAssembly"
    );
    assert_eq!(
        post.html,
        "<p>Taiwan renews bid to join INTERPOL assembly</p>\
         <p>Taiwan&#39;s foreign ministry renewed its call for observer status at INTERPOL. Dr. Lin said the U.S. supports the bid.</p>\
         <p>via Focus Taiwan, Taipei Times<br><a href=\"https://focustaiwan.tw/politics/202511240012\" rel=\"nofollow noopener noreferrer\">https://focustaiwan.tw/politics/202511240012</a></p>\
         <p><a href=\"https://bot.example/tags/Interpol\" class=\"hashtag\" rel=\"tag\">#Interpol</a> \
         <a href=\"https://bot.example/tags/Taiwan\" class=\"hashtag\" rel=\"tag\">#Taiwan</a> \
         <a href=\"https://bot.example/tags/GeneralAssembly\" class=\"hashtag\" rel=\"tag\">#GeneralAssembly</a></p>"
            .replace("&#39;", "'")
    );
    assert_eq!(post.hashtags, vec!["Interpol", "Taiwan", "GeneralAssembly"]);
    assert_eq!(post.language, "en");
    assert_eq!(post.spoiler_text, None);
    assert_eq!(post.mastodon_length, mastodon_length(&post.text));
}

#[test]
fn hostile_text_is_escaped_and_cjk_tags_are_encoded() {
    let sources = vec!["<b>中央社</b>".to_string()];
    let topic = vec!["台灣".to_string()];
    let input = PostInput {
        title: "<script>alert(1)</script> 外交部 & \"INTERPOL\"",
        summary: "<img src=x onerror=alert(1)>外交部今天表示。",
        sources: &sources,
        link: "https://www.cna.com.tw/news/aipl/202511240123.aspx?a=1&b=<2>",
        language: "zh_TW",
        topic_hashtags: &topic,
        item_hashtags: &[],
        spoiler_text: Some("政治\u{1}"),
    };
    let post = compose_post(&input, &options()).expect("composes");
    assert!(
        !post.html.contains("<script") && !post.html.contains("<img") && !post.html.contains("<b>")
    );
    assert!(
        post.html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; 外交部 &amp; \"INTERPOL\""),
        "{}",
        post.html
    );
    assert!(
        post.html
            .contains("https://bot.example/tags/%E5%8F%B0%E7%81%A3"),
        "{}",
        post.html
    );
    assert!(post.html.contains("a=1&amp;b=%3C2%3E"), "{}", post.html);
    assert!(post.text.contains("來源：<b>中央社</b>"));
    assert_eq!(post.language, "zh-TW");
    assert_eq!(post.spoiler_text.as_deref(), Some("政治"));
    check_html(&post);
}

#[test]
fn bad_links_are_refused() {
    for link in ["javascript:alert(1)", "/relative", "", "ftp://x.example/a"] {
        let input = PostInput {
            title: "t",
            link,
            ..Default::default()
        };
        assert!(compose_post(&input, &options()).is_err(), "{link}");
    }
    let input = PostInput {
        title: "t",
        link: "https://x.com/",
        ..Default::default()
    };
    assert!(compose_post(&input, &PostOptions::new("javascript:x")).is_err());
    let huge = format!("https://x.com/{}", "a".repeat(3000));
    let input = PostInput {
        title: "t",
        link: &huge,
        ..Default::default()
    };
    assert_eq!(
        compose_post(&input, &options()),
        Err(feedwatch::publish::post::PostError::LinkTooLong)
    );
}

#[test]
fn summary_gives_way_sentence_by_sentence_before_the_title() {
    let summary = [
        "Taiwan's foreign ministry on Monday renewed its call for observer status at the INTERPOL General Assembly in Marrakech, saying its exclusion leaves blind spots in the global fight against crime.",
        "Deputy Foreign Minister Dr. Lin said Taiwanese police had dismantled more than 3.5 million U.S. dollars' worth of fraud operations this year alone, yet still learned of INTERPOL notices second-hand.",
        "Taiwan left INTERPOL in 1984, after the People's Republic of China joined the organization, and has relied on bilateral channels with about 40 countries since then.",
    ]
    .join(" ");
    let title = "Taiwan renews its bid to join the INTERPOL General Assembly as an observer as the 93rd session opens in Marrakech, Morocco";
    let sources = vec!["Focus Taiwan".to_string()];
    let topic: Vec<String> = vec!["Interpol".into(), "Taiwan".into()];
    let input = PostInput {
        title,
        summary: &summary,
        sources: &sources,
        link: "https://focustaiwan.tw/politics/202511240012",
        language: "en",
        topic_hashtags: &topic,
        ..Default::default()
    };
    let post = compose_post(&input, &options()).expect("composes");
    assert!(post.mastodon_length <= 500);
    assert!(post.text.starts_with(title), "title kept whole");
    let kept: Vec<String> = split_sentences(post.text.split("\n\n").nth(1).unwrap_or(""));
    let original = split_sentences(&summary);
    assert!(!kept.is_empty() && kept.len() < original.len(), "{kept:?}");
    assert_eq!(
        kept[..],
        original[..kept.len()],
        "whole sentences, from the start"
    );

    // With a long content warning, more gives way, still at whole sentences.
    let cw = "Content warning: this post discusses child exploitation cases investigated by police";
    let post = compose_post(
        &PostInput {
            spoiler_text: Some(cw),
            ..input
        },
        &options(),
    )
    .expect("composes");
    assert!(post.mastodon_length <= 500);
    assert_eq!(
        post.mastodon_length,
        mastodon_length(&post.text) + cw.chars().count()
    );
}

#[test]
fn long_cjk_post_fits() {
    let title = "國際刑警組織大會登場".repeat(40);
    let summary = "外交部今天再度呼籲各國支持台灣以觀察員身分參與國際刑警組織大會。".repeat(20);
    let sources: Vec<String> = (0..10).map(|i| format!("媒體{i}")).collect();
    let tags: Vec<String> = (0..30).map(|i| format!("標籤{i}")).collect();
    let input = PostInput {
        title: &title,
        summary: &summary,
        sources: &sources,
        link: "https://www.cna.com.tw/news/aipl/202511240123.aspx",
        language: "zh-TW",
        topic_hashtags: &tags[..2],
        item_hashtags: &tags[2..],
        spoiler_text: None,
    };
    let post = compose_post(&input, &options()).expect("composes");
    assert!(post.mastodon_length <= 500, "{}", post.mastodon_length);
    check_html(&post);
}

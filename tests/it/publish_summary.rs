//! Summaries on realistic English and Chinese fixtures, and article
//! extraction on a realistic page.

use std::path::PathBuf;

use feedwatch::summary::{
    Summary, SummaryInput, SummaryOptions, article_main_text, split_sentences, summarize,
};

fn fixture(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn terms(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Phrases that must never reach a summary.
const LEAKS: &[&str] = &[
    "<",
    ">",
    "&amp;",
    "&#",
    "appeared first on",
    "Continue reading",
    "Read more",
    "[…]",
    "[...]",
    "cookie",
    "Cookie",
    "subscribe",
    "Photo:",
    "Enditem",
    "onerror",
    "script",
    "中央社記者",
    "編輯",
    "延伸閱讀",
    "閱讀更多",
    "圖／",
];

fn assert_clean(summary: &Summary) {
    for leak in LEAKS {
        assert!(
            !summary.text.contains(leak),
            "summary leaks {leak:?}: {}",
            summary.text
        );
    }
}

fn assert_limits(summary: &Summary, options: &SummaryOptions) {
    assert!(!summary.is_empty());
    assert!(
        summary.text.chars().count() <= options.max_chars,
        "{} chars > {}: {}",
        summary.text.chars().count(),
        options.max_chars,
        summary.text
    );
    assert!(summary.sentences.len() <= options.max_sentences.clamp(1, 3));
}

/// Every sentence of the summary must be a whole sentence of the source
/// (same boundaries the splitter found there), unless it was cut with "…".
fn assert_whole_sentences(summary: &Summary, source_text: &str) {
    let source_sentences = split_sentences(source_text);
    for s in &summary.sentences {
        if summary.truncated {
            assert!(s.ends_with('…'));
            continue;
        }
        assert!(
            source_sentences.iter().any(|src| src == s),
            "not a whole source sentence: {s:?}"
        );
        assert!(
            s.ends_with(['.', '!', '?', '。', '！', '？', '"', '”', '」']),
            "sentence without a real end: {s:?}"
        );
    }
}

fn en_assembly(options: &SummaryOptions) -> (Summary, String) {
    let description = fixture("summary/en_assembly.description.html");
    let content = fixture("summary/en_assembly.content.html");
    let input = SummaryInput {
        title: "Taiwan renews bid to join INTERPOL assembly",
        description: Some(&description),
        content: Some(&content),
        article_text: None,
        language: "en",
    };
    let s = summarize(&input, &terms(&["INTERPOL", "Taiwan"]), options);
    let all = format!(
        "{}\n{}",
        feedwatch::summary::plain_text(&description),
        feedwatch::summary::plain_text(&content)
    );
    (s, all)
}

#[test]
fn english_summary_is_clean_and_within_limits() {
    for max_chars in [120, 200, 300, 500, 1000] {
        for max_sentences in 1..=3 {
            let options = SummaryOptions {
                max_sentences,
                max_chars,
            };
            let (s, all) = en_assembly(&options);
            assert_limits(&s, &options);
            assert_clean(&s);
            assert_whole_sentences(&s, &all);
        }
    }
}

#[test]
fn english_summary_picks_topical_lede_and_keeps_abbreviations_whole() {
    let options = SummaryOptions {
        max_sentences: 3,
        max_chars: 600,
    };
    let (s, _) = en_assembly(&options);
    assert_eq!(s.sentences.len(), 3, "{s:#?}");
    assert!(s.text.contains("INTERPOL"));
    // The wire dateline is gone and the lede survives whole.
    assert!(
        s.text
            .starts_with("Taiwan's Ministry of Foreign Affairs on Monday renewed its call"),
        "{}",
        s.text
    );
    // The truncated description excerpt ("… criminal groups […]") is never used.
    assert!(!s.text.contains("criminal groups…"));
    // No sentence ends on an abbreviation: "Dr.", "U.S.", "Jan." stayed inside.
    for sentence in &s.sentences {
        for abbr in ["Dr.", "U.S.", "Jan.", "Mr.", "Nov."] {
            assert!(!sentence.ends_with(abbr), "split after {abbr}: {sentence}");
        }
    }
}

#[test]
fn abbreviations_never_split_in_fixture_sentences() {
    let content = feedwatch::summary::plain_text(&fixture("summary/en_assembly.content.html"));
    let sentences = split_sentences(&content);
    assert!(sentences.iter().any(
        |s| s.starts_with("Deputy Foreign Minister Dr. Lin Chia-lung")
            && s.contains("3.5 million U.S. dollars'")
            && s.ends_with("friendly countries.")
    ));
    assert!(
        sentences
            .iter()
            .any(|s| s.starts_with("Mr. Smith,") && s.contains("Jan. 1 data"))
    );
}

#[test]
fn english_scam_story_drops_byline_and_furniture() {
    let content = fixture("summary/en_scam.content.html");
    let input = SummaryInput {
        title: "Police arrest 12 in call-center scam",
        description: None,
        content: Some(&content),
        article_text: None,
        language: "en",
    };
    let options = SummaryOptions::default();
    let s = summarize(&input, &terms(&["INTERPOL", "Taiwan", "scam"]), &options);
    assert_limits(&s, &options);
    assert_clean(&s);
    assert!(!s.text.contains("Staff reporter"));
    assert!(!s.text.contains("Share this"));
    assert!(!s.text.contains("Related:"));
    assert!(!s.text.contains("rights reserved"));
    assert!(
        s.text
            .starts_with("Police in Taipei on Tuesday arrested 12 people"),
        "{}",
        s.text
    );
    let sentences = split_sentences(&feedwatch::summary::plain_text(&content));
    assert!(sentences.iter().any(
        |x| x.starts_with("CIB Director-General Gen. Chou Yu-wei said") && x.ends_with("by weeks.")
    ));
    assert!(
        sentences
            .iter()
            .any(|x| x.contains("the U.N. Office on Drugs and Crime and told"))
    );
    assert_whole_sentences(&s, &feedwatch::summary::plain_text(&content));
}

fn zh_assembly(options: &SummaryOptions) -> (Summary, String) {
    let description = fixture("summary/zh_assembly.description.html");
    let content = fixture("summary/zh_assembly.content.html");
    let input = SummaryInput {
        title: "國際刑警大會登場 外交部籲支持台灣參與",
        description: Some(&description),
        content: Some(&content),
        article_text: None,
        language: "zh-TW",
    };
    let s = summarize(&input, &terms(&["國際刑警", "台灣", "INTERPOL"]), options);
    let all = format!(
        "{}\n{}",
        feedwatch::summary::plain_text(&description),
        feedwatch::summary::plain_text(&content)
    );
    (s, all)
}

#[test]
fn chinese_summary_is_clean_whole_and_within_limits() {
    for max_chars in [40, 80, 120, 300] {
        for max_sentences in 1..=3 {
            let options = SummaryOptions {
                max_sentences,
                max_chars,
            };
            let (s, all) = zh_assembly(&options);
            assert_limits(&s, &options);
            assert_clean(&s);
            assert_whole_sentences(&s, &all);
            // Chinese sentences are joined without spaces.
            assert!(!s.text.contains("。 "), "{}", s.text);
        }
    }
}

#[test]
fn chinese_summary_content() {
    let options = SummaryOptions {
        max_sentences: 3,
        max_chars: 300,
    };
    let (s, _) = zh_assembly(&options);
    assert!(
        s.text.starts_with("國際刑警組織（INTERPOL）第93屆大會"),
        "{}",
        s.text
    );
    assert!(
        s.sentences
            .iter()
            .all(|x| x.ends_with(['。', '！', '？', '」']))
    );
    assert!(s.sentences.len() >= 2);
}

#[test]
fn too_long_first_sentence_is_cut_at_a_word() {
    let options = SummaryOptions {
        max_sentences: 3,
        max_chars: 50,
    };
    let text = "<p>The Ministry of Foreign Affairs said on Monday that Taiwan's continued exclusion from INTERPOL weakens global efforts against transnational crime.</p>";
    let input = SummaryInput {
        title: "t",
        content: Some(text),
        language: "en",
        ..Default::default()
    };
    let s = summarize(&input, &terms(&["INTERPOL"]), &options);
    assert!(s.truncated);
    assert!(s.text.ends_with('…'));
    assert!(s.text.chars().count() <= 50);
    let head = s.text.trim_end_matches('…');
    assert!(
        text.contains(&format!("{head} ")),
        "cut inside a word: {}",
        s.text
    );

    let zh = "<p>外交部今天表示台灣長期被排除在國際刑警組織之外無法即時取得全球犯罪資料庫的情資形成跨國打擊犯罪的破口。</p>";
    let input = SummaryInput {
        title: "t",
        content: Some(zh),
        language: "zh-TW",
        ..Default::default()
    };
    let options = SummaryOptions {
        max_sentences: 1,
        max_chars: 20,
    };
    let s = summarize(&input, &[], &options);
    assert!(s.truncated);
    assert_eq!(s.text.chars().count(), 20);
    assert_eq!(s.text, "外交部今天表示台灣長期被排除在國際刑警…");
}

#[test]
fn empty_input_gives_empty_summary() {
    let input = SummaryInput {
        title: "Only a title",
        description: Some("<p>Read more</p>"),
        language: "en",
        ..Default::default()
    };
    assert!(summarize(&input, &[], &SummaryOptions::default()).is_empty());
}

#[test]
fn article_extraction_drops_page_furniture() {
    let html = fixture("article/taipei_times_page.html");
    let text = article_main_text(
        &html,
        "https://www.example-times.tw/News/taiwan/archives/2025/11/25/2003848000",
    )
    .expect("an article is found");
    assert!(
        text.starts_with("Taiwan yesterday urged INTERPOL member states"),
        "{text}"
    );
    assert!(text.contains("homicide rate of about 2.3 per 100,000 people"));
    for furniture in [
        "cookies",
        "Cookie Policy",
        "Accept all",
        "Business",
        "Sport",
        "Share on",
        "Related stories",
        "Lawmakers urge WHO",
        "Click here to subscribe",
        "All rights reserved",
        "Privacy Policy",
        "Photo:",
        "dataLayer",
        "<",
    ] {
        assert!(
            !text.contains(furniture),
            "{furniture:?} leaked into: {text}"
        );
    }
    // The extracted text summarises like feed content does.
    let input = SummaryInput {
        title: "Taiwan urges INTERPOL access as assembly opens",
        article_text: Some(&text),
        language: "en",
        ..Default::default()
    };
    let options = SummaryOptions::default();
    let s = summarize(&input, &terms(&["INTERPOL", "Taiwan"]), &options);
    assert_limits(&s, &options);
    assert_clean(&s);
}

#[test]
fn article_extraction_gives_none_for_non_articles() {
    assert_eq!(
        article_main_text(
            "<html><body><nav>Home</nav></body></html>",
            "https://x.example/"
        ),
        None
    );
    assert_eq!(article_main_text("", "not a url"), None);
}

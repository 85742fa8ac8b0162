//! The shipped INTERPOL × Taiwan topic (`config.toml` + the profile in
//! `feeds/`) against the labelled tuning set in `tests/fixtures/relevance-dev`.
//!
//! Bars: the README's figures (13/13 core, 15/15 related, 0/29 unrelated
//! published) with at most one item of slack per label, none for core.

use crate::matching_common as common;

use common::{items, shipped_topic};
use feedwatch::matching::{Candidate, EvalRow, evaluate_rows};

#[test]
fn shipped_topic_meets_targets_on_relevance_dev() {
    let topic = shipped_topic();
    let items = items();
    assert_eq!(items.len(), 57);
    let rows: Vec<EvalRow> = items
        .iter()
        .map(|it| {
            let d = topic.evaluate(&Candidate {
                title: &it.title,
                summary: &it.summary,
                link: &it.url,
                source: &it.source,
                lang: &it.lang,
            });
            println!(
                "{} [{}] {} {:.2} {} :: {}",
                it.id,
                it.label,
                if d.publish { "PUB " } else { "skip" },
                d.score,
                it.title,
                d.explanation.reasons()
            );
            EvalRow {
                id: it.id.clone(),
                label: it.label,
                published: d.publish,
                reasons: d.explanation.reasons(),
            }
        })
        .collect();
    let report = evaluate_rows(&rows);
    println!("{report}");
    // The README's figures (13/13, 15/15, 0/29) with at most one item of
    // slack per label, except core: every label-2 item must be published.
    let [unrelated, related, core] = report.per_label;
    assert_eq!((core.total, related.total, unrelated.total), (13, 15, 29));
    assert_eq!(core.published, 13, "every label-2 item must be published");
    assert!(related.published >= 14, "{report}");
    assert!(unrelated.published <= 1, "{report}");
}

#[test]
fn shipped_topic_terms_and_explanations_are_usable() {
    let topic = shipped_topic();
    let terms = topic.topic_terms();
    assert!(terms.iter().any(|t| t == "interpol"), "{terms:?}");
    assert!(terms.iter().any(|t| t == "taiwan"), "{terms:?}");
    let d = topic.evaluate(&Candidate {
        title: "Taiwan again shut out of INTERPOL General Assembly",
        summary: "臺灣未獲邀請出席國際刑警組織大會。",
        ..Candidate::default()
    });
    assert!(d.publish, "{}", d.explanation.reasons());
    let json = serde_json::to_value(&d.explanation).unwrap_or_default();
    assert_eq!(json["rules"][0]["rule"], "taiwan-interpol");
    let reasons = d.explanation.reasons();
    assert!(
        reasons.contains("taiwan-interpol[title:taiwan"),
        "{reasons}"
    );
    assert!(reasons.contains("threshold 0.35"), "{reasons}");
}

/// Made-up items, written for this test (not from the tuning set), that
/// exercise each rule and exclusion the way unseen feed items would.
#[test]
fn shipped_topic_on_unseen_examples() {
    let topic = shipped_topic();
    let cases: &[(bool, &str, &str)] = &[
        (
            true,
            "台灣再度未獲邀出席國際刑警組織大會",
            "外交部對國際刑警組織未邀請台灣以觀察員身分出席大會表達遺憾。",
        ),
        (
            true,
            "European lawmakers urge INTERPOL to admit Taipei as observer",
            "A cross-party group of MEPs wrote to the organization's secretary general.",
        ),
        (
            true,
            "Kenya deports 45 Taiwanese fraud suspects to China",
            "Kenya deported 45 Taiwanese suspected of telecom fraud to China despite protests from Taipei.",
        ),
        (
            true,
            "Taiwanese nationals held in Cambodian fraud raid",
            "Police in Sihanoukville detained 60 people, including 12 from Taiwan, suspected of running investment fraud.",
        ),
        (
            true,
            "Interpol operation seizes $300 million in global crackdown on cyber-enabled financial crime",
            "The operation targeted online fraud, romance scams and money laundering in 40 countries.",
        ),
        (
            true,
            "Taiwan, Philippines sign police cooperation pact",
            "Taiwan's Criminal Investigation Bureau and the Philippine National Police agreed to share information on scam syndicates.",
        ),
        (
            true,
            "警方破獲跨境洗錢集團 涉柬埔寨詐騙園區",
            "刑事局與柬埔寨警方合作，破獲協助詐騙園區洗錢的集團，逮捕20人。",
        ),
        (
            true,
            "Interpol General Assembly elects new president",
            "Delegates at the INTERPOL General Assembly elected a new president and executive committee members.",
        ),
        (
            true,
            "Interpol rescues 2,500 victims of human trafficking in global operation",
            "Police in 60 countries inspected border points and scam compounds.",
        ),
        (
            false,
            "Taiwan prosecutors charge 10 in investment fraud case",
            "Prosecutors indicted ten people accused of defrauding investors of NT$300 million through a fake property scheme.",
        ),
        (
            false,
            "Interpol announces new album and world tour with Taipei date",
            "The New York band Interpol will play Taipei in March as part of a world tour for its new album.",
        ),
        (
            false,
            "Taiwan deports Chinese influencer over unification remarks",
            "Taiwan's immigration agency deported a Chinese national after she called for armed unification.",
        ),
        (
            false,
            "Interpol red notice issued for Brazilian businessman",
            "Interpol issued a red notice for a businessman wanted in Brazil on corruption charges.",
        ),
        (
            false,
            "TSMC engineers indicted for stealing trade secrets",
            "Taiwan prosecutors indicted former TSMC engineers for leaking 2-nanometre chip secrets.",
        ),
        (
            false,
            "台南男子詐領保險金遭起訴",
            "台南一名男子涉嫌詐領保險金，檢方依詐欺罪起訴。",
        ),
        (
            false,
            "Taiwan excluded from WHA for ninth year",
            "Taiwan was again not invited to the World Health Assembly as an observer.",
        ),
        (
            false,
            "Interpol operation seizes 50 tonnes of cocaine",
            "Police in 30 countries seized drugs and arrested 400 people in an INTERPOL-coordinated operation.",
        ),
        (
            false,
            "Typhoon Krathon lashes southern Taiwan",
            "Schools and offices were closed in Kaohsiung as the storm made landfall.",
        ),
    ];
    let mut wrong = Vec::new();
    for (want, title, summary) in cases {
        let d = topic.evaluate(&Candidate {
            title,
            summary,
            ..Candidate::default()
        });
        if d.publish != *want {
            wrong.push(format!("{title}: {}", d.explanation.reasons()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

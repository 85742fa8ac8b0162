//! The dashboard's Review list (issue 11 §6) and the Retract buttons of the
//! recent stories. Every button is a POST form carrying the CSRF value.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::html::{encode_component, lang_attr, time_tag};
use super::{AdminView, ReactedStoryView};
use crate::text::{escape_html, safe_http_url};

/// One item of the Review list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItemView {
    pub id: String,
    pub title: String,
    pub outlet: String,
    pub link: Option<String>,
    pub lang: String,
    pub published: DateTime<Utc>,
    pub score: f64,
    /// Why the age gate held it; `None`: near the threshold.
    pub held: Option<String>,
}

/// The Review list and what it is measured against.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewView {
    pub items: Vec<ReviewItemView>,
    pub threshold: f64,
    /// `[topic] review_margin` (0: near-threshold items are not listed).
    pub margin: f64,
}

fn button_form(
    action: &str,
    csrf: &str,
    field: &str,
    id: &str,
    label: &str,
    testid: &str,
) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"inline\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"{field}\" value=\"{}\">\
         <button type=\"submit\" data-testid=\"{testid}\">{label}</button></form>",
        escape_html(csrf),
        escape_html(id),
    )
}

/// The Review section: items for a person to Publish or Dismiss.
pub(crate) fn review_section(view: &AdminView) -> String {
    let r = &view.review;
    let mut s = format!(
        "<section aria-labelledby=\"review\"><h2 id=\"review\">Review ({})</h2>\n",
        r.items.len()
    );
    let near = if r.margin > 0.0 {
        format!(
            "scored from {:.2} up to the threshold {:.2}, and ",
            r.threshold - r.margin,
            r.threshold
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "<p class=\"muted\">Items that {near}relevant items the age gate held; newest first, unlabelled and unpublished only. \
         Publish sends one out now (no posting cap, no age gate) and labels it relevant; Dismiss labels it not relevant.</p>"
    );
    if r.items.is_empty() {
        s.push_str(
            "<p class=\"muted\" data-testid=\"review-empty\">Nothing to review.</p>\n</section>\n",
        );
        return s;
    }
    s.push_str(
        "<table class=\"stack\" data-testid=\"review\"><thead><tr><th>Item</th><th>Outlet</th><th>Dated</th>\
         <th>Score</th><th>Why</th><th>Decide</th></tr></thead><tbody>\n",
    );
    for i in &r.items {
        let title = match i.link.as_deref().and_then(safe_http_url) {
            Some(url) => format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\"{}>{}</a>",
                escape_html(&url),
                lang_attr(&i.lang),
                escape_html(&i.title)
            ),
            None => format!(
                "<span{}>{}</span>",
                lang_attr(&i.lang),
                escape_html(&i.title)
            ),
        };
        let why = match &i.held {
            Some(reason) => format!("held: {}", escape_html(reason)),
            None => "near threshold".to_string(),
        };
        let _ = writeln!(
            s,
            "<tr data-testid=\"review-item\" data-item-id=\"{id}\"><td data-label=\"Item\">{title}</td>\
             <td data-label=\"Outlet\">{outlet}</td><td data-label=\"Dated\">{dated}</td>\
             <td data-label=\"Score\" data-testid=\"review-score\">{score:.2}</td><td data-label=\"Why\" data-testid=\"review-why\">{why}</td>\
             <td data-label=\"Decide\">{publish} {dismiss}</td></tr>",
            id = escape_html(&i.id),
            outlet = escape_html(&i.outlet),
            dated = time_tag(&i.published),
            score = i.score,
            publish = button_form(
                "/admin/review/publish",
                &view.csrf,
                "item",
                &i.id,
                "Publish",
                "review-publish"
            ),
            dismiss = button_form(
                "/admin/review/dismiss",
                &view.csrf,
                "item",
                &i.id,
                "Dismiss",
                "review-dismiss"
            ),
        );
    }
    s.push_str("</tbody></table>\n</section>\n");
    s
}

/// The newest published stories with a Retract button each (what
/// `feedwatch remove` does).
pub(crate) fn stories_section(stories: &[ReactedStoryView], csrf: &str) -> String {
    let mut s = String::from(
        "<section aria-labelledby=\"recent-stories\"><h2 id=\"recent-stories\">Recent stories</h2>\n",
    );
    if stories.is_empty() {
        s.push_str("<p class=\"muted\">No published stories yet.</p>\n</section>\n");
        return s;
    }
    s.push_str(
        "<p class=\"muted\">Retract takes a story back: its page answers 410, it leaves the feeds and followers are sent a Delete.</p>\n\
         <table class=\"stack\" data-testid=\"recent-stories\"><thead><tr><th>Story</th><th>Retract</th></tr></thead><tbody>\n",
    );
    for st in stories {
        let _ = writeln!(
            s,
            "<tr data-testid=\"recent-story\" data-story-id=\"{id}\"><td data-label=\"Story\"><a href=\"/stories/{path}\">{title}</a></td>\
             <td data-label=\"Retract\">{retract}</td></tr>",
            id = escape_html(&st.id),
            path = encode_component(&st.id),
            title = escape_html(&st.title),
            retract = button_form(
                "/admin/stories/retract",
                csrf,
                "story",
                &st.id,
                "Retract",
                "story-retract"
            ),
        );
    }
    s.push_str("</tbody></table>\n</section>\n");
    s
}

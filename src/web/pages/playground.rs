//! `/admin/playground`: edit the `[topic]` section, preview which recent
//! items would flip, then apply or discard.
//!
//! The preview shows only the items whose decision changes: with hundreds
//! of items the operator needs the difference, not the list. Apply re-posts
//! exactly the previewed text and numbers (hidden fields), so what gets
//! applied is what was looked at, not whatever the textarea holds by then.

use std::fmt::Write as _;

use super::admin::{admin_nav, decision_cell, decision_word, item_title_cell, score_text};
use super::html::{Head, document, time_tag};
use super::{PlaygroundView, PreviewRow, SiteInfo};
use crate::matching::EvalReport;
use crate::text::escape_html;

/// Renders the playground: error (if any) above the form, the form with the
/// operator's text kept verbatim, then the preview and Apply/Discard.
pub fn playground_page(site: &SiteInfo, view: &PlaygroundView) -> String {
    let mut body = String::from("<h1>Filter playground</h1>\n");
    body.push_str(&admin_nav(&view.csrf));
    body.push_str(
        "<p class=\"muted\">Edit the <code>[topic]</code> section and the threshold, then preview which of the last N items would change decision. Nothing is saved until you press <strong>Apply</strong>.</p>\n",
    );
    if view.applied {
        body.push_str(
            "<div class=\"notice\" role=\"status\" data-testid=\"playground-applied\">Applied. New items are judged with this topic from now on.</div>\n",
        );
    }
    if let Some(err) = &view.error {
        let _ = writeln!(
            body,
            "<div class=\"error\" role=\"alert\" data-testid=\"playground-error\"><strong>The topic could not be used; nothing was changed.</strong><pre>{}</pre></div>",
            escape_html(err)
        );
    }
    if !view.warnings.is_empty() {
        body.push_str(
            "<div class=\"notice\" role=\"status\" data-testid=\"playground-warnings\"><strong>Check these queries:</strong><ul>\n",
        );
        for w in &view.warnings {
            let _ = writeln!(body, "<li>{}</li>", escape_html(w));
        }
        body.push_str("</ul></div>\n");
    }
    body.push_str(&edit_form(view));
    if view.error.is_none()
        && let Some(rows) = &view.preview
    {
        body.push_str(&preview_section(view, rows));
    }
    document(
        site,
        &Head {
            lang: "en",
            title: &format!("Filter playground – {}", site.title),
            public: false,
            wide: true,
        },
        &body,
    )
}

/// The numbers as the inputs show them; a NaN/inf threshold (never valid)
/// is shown empty so the browser's own validation asks for a number.
fn threshold_value(t: f64) -> String {
    if t.is_finite() {
        // Trim float noise such as 0.30000000000000004.
        let s = format!("{t:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() {
            "0".to_owned()
        } else {
            s.to_owned()
        }
    } else {
        String::new()
    }
}

fn edit_form(view: &PlaygroundView) -> String {
    // The newline after <textarea> matters: the HTML parser drops one
    // leading newline, so without ours a topic starting with a blank line
    // would lose it on every round trip.
    format!(
        "<form method=\"post\" action=\"/admin/playground/preview\" class=\"box\" data-testid=\"playground-form\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"topic\">[topic] section (TOML)</label>\n\
         <textarea id=\"topic\" name=\"topic\" rows=\"20\" spellcheck=\"false\" autocapitalize=\"off\" autocomplete=\"off\" data-testid=\"playground-topic\">\n{topic}</textarea>\n\
         <div class=\"fields\">\
         <div><label for=\"threshold\">Threshold (0–1)</label><input type=\"number\" id=\"threshold\" name=\"threshold\" min=\"0\" max=\"1\" step=\"any\" required value=\"{threshold}\" inputmode=\"decimal\" data-testid=\"playground-threshold\"></div>\
         <div><label for=\"n\">Last N items</label><input type=\"number\" id=\"n\" name=\"n\" min=\"1\" step=\"1\" required value=\"{n}\" inputmode=\"numeric\" data-testid=\"playground-n\"></div>\
         </div>\n\
         <button type=\"submit\" class=\"primary\" data-testid=\"preview-button\">Preview</button>\n\
         </form>\n",
        csrf = escape_html(&view.csrf),
        topic = escape_html(&view.topic_toml),
        threshold = threshold_value(view.threshold),
        n = view.last_n,
    )
}

/// A row is "added" when the edit makes it publish and "dropped" when it
/// stops publishing (including never-evaluated items now judged skip).
fn is_added(row: &PreviewRow) -> bool {
    row.after
}

fn preview_section(view: &PlaygroundView, rows: &[PreviewRow]) -> String {
    let added = rows.iter().filter(|r| is_added(r)).count();
    let dropped = rows.len() - added;
    let mut out = String::new();
    let _ = write!(
        out,
        "<section aria-labelledby=\"preview\"><h2 id=\"preview\">Preview</h2>\n\
         <p data-testid=\"preview-summary\" data-added=\"{added}\" data-dropped=\"{dropped}\" data-unchanged=\"{unchanged}\">\
         Of the last {n} items, <strong>{added} would be added</strong> (+), <strong>{dropped} would be dropped</strong> (−) and {unchanged} unchanged.</p>\n",
        n = view.last_n,
        unchanged = view.unchanged,
    );
    if let Some((before, after)) = &view.labelled {
        out.push_str(&labelled_figures(before, after));
    }
    if !rows.is_empty() {
        out.push_str(
            "<table class=\"stack\" data-testid=\"preview\"><thead><tr><th scope=\"col\">Change</th><th>Item</th><th>Before</th><th>After</th><th>Score</th><th>Reasons (after)</th></tr></thead><tbody>\n",
        );
        // Added first, then dropped: the operator reads the gains, then the
        // losses, without hunting through a mixed list.
        let ordered = rows
            .iter()
            .filter(|r| is_added(r))
            .chain(rows.iter().filter(|r| !is_added(r)));
        for row in ordered {
            let (kind, sign, label) = if is_added(row) {
                ("added", "+", "added")
            } else {
                ("dropped", "−", "dropped")
            };
            let _ = writeln!(
                out,
                "<tr class=\"{kind}\" data-testid=\"preview-{kind}\" data-item-id=\"{id}\" data-before=\"{before}\" data-after=\"{after}\">\
                 <td data-label=\"Change\"><span class=\"sign\" aria-hidden=\"true\">{sign}</span><span class=\"vh\" data-testid=\"change-text\">{label}</span></td>\
                 <td data-label=\"Item\">{title}<br><span class=\"muted\">{src} · {time}</span></td>\
                 <td data-label=\"Before\">{bc} <span class=\"muted\">{bs}</span></td>\
                 <td data-label=\"After\">{ac}</td>\
                 <td data-label=\"Score\" class=\"num\">{score}</td>\
                 <td data-label=\"Reasons\" class=\"reasons\">{reasons}</td></tr>",
                id = escape_html(&row.item.id),
                before = decision_word(row.before),
                after = decision_word(Some(row.after)),
                title = item_title_cell(&row.item),
                src = escape_html(&row.item.source),
                time = time_tag(&row.item.published),
                bc = decision_cell(row.before),
                bs = score_text(row.item.score),
                ac = decision_cell(Some(row.after)),
                score = score_text(Some(row.after_score)),
                reasons = escape_html(&row.after_reasons),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/admin/playground/apply\" class=\"actions\" data-testid=\"apply-form\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <input type=\"hidden\" name=\"topic\" value=\"{topic}\">\n\
         <input type=\"hidden\" name=\"threshold\" value=\"{threshold}\">\n\
         <input type=\"hidden\" name=\"n\" value=\"{n}\">\n\
         <button type=\"submit\" class=\"primary\" data-testid=\"apply-button\">Apply</button>\n\
         <a class=\"button\" href=\"/admin/playground\" data-testid=\"discard-link\">Discard</a>\n\
         </form>\n</section>\n",
        csrf = escape_html(&view.csrf),
        topic = escape_html(&view.topic_toml),
        threshold = threshold_value(view.threshold),
        n = view.last_n,
    );
    out
}

/// Precision and recall on the stored labelled items, before and after.
fn labelled_figures(before: &EvalReport, after: &EvalReport) -> String {
    let n: usize = after.per_label.iter().map(|c| c.total).sum();
    if n == 0 {
        return "<p class=\"muted\" data-testid=\"labelled-figures\" data-labelled=\"0\">No labelled items yet: label items on the dashboard or with <code>feedwatch labels import</code> to see precision and recall here.</p>\n".to_owned();
    }
    let mut out = format!(
        "<table data-testid=\"labelled-figures\" data-labelled=\"{n}\"><caption>On the {n} labelled item{s}</caption>\
         <thead><tr><th scope=\"col\">Figure</th><th scope=\"col\">Before</th><th scope=\"col\">After</th></tr></thead><tbody>\n",
        s = if n == 1 { "" } else { "s" },
    );
    for (name, key, b, a) in [
        ("Precision", "precision", before.precision, after.precision),
        (
            "Recall, relevant (2)",
            "recall-core",
            before.recall_core,
            after.recall_core,
        ),
        (
            "Recall, related (1)",
            "recall-related",
            before.recall_related,
            after.recall_related,
        ),
    ] {
        let _ = writeln!(
            out,
            "<tr data-testid=\"figure-{key}\" data-before=\"{b:.3}\" data-after=\"{a:.3}\"><th scope=\"row\">{name}</th><td class=\"num\">{b:.2}</td><td class=\"num\">{a:.2}</td></tr>"
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::threshold_value;

    #[test]
    fn thresholds_print_cleanly() {
        assert_eq!(threshold_value(0.1 + 0.2), "0.3");
        assert_eq!(threshold_value(0.99), "0.99");
        assert_eq!(threshold_value(0.0), "0");
        assert_eq!(threshold_value(1.0), "1");
        assert_eq!(threshold_value(f64::NAN), "");
    }
}

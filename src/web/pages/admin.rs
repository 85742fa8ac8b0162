//! The operator's pages: the dashboard (`/admin`), the login form and the
//! generic status page.
//!
//! No JavaScript: filtering is a GET form so a filtered view is a plain URL
//! that can be bookmarked or shared with a co-operator.

use std::fmt::Write as _;

use super::html::{Head, document, lang_attr, opt_time_tag, time_tag};
use super::{AdminView, FeedHealthView, ItemView, QueuedStoryView, SiteInfo};
use crate::text::{escape_html, safe_http_url};

/// `/admin`: source health, the delivery queue, followers and recent items
/// with their decisions, so the operator sees at a glance what the bot did
/// and why.
pub fn admin_page(site: &SiteInfo, view: &AdminView) -> String {
    let mut body = String::new();
    body.push_str("<h1>Admin</h1>\n");
    body.push_str(&admin_nav(&view.csrf));
    body.push_str(&actions_bar(view));
    body.push_str(&queue_section(view));
    body.push_str(&super::review::review_section(view));
    body.push_str(&super::review::stories_section(
        &view.fediverse.stories,
        &view.csrf,
    ));
    body.push_str(&publish_queue_section(view));
    body.push_str(&feeds_section(&view.feeds, &view.csrf));
    body.push_str(&items_section(view));
    body.push_str(&followers_section(view));
    body.push_str(&super::fedi_admin::fediverse_section(&view.fediverse));
    document(
        site,
        &Head {
            lang: "en",
            title: &format!("Admin – {}", site.title),
            public: false,
            wide: true,
        },
        &body,
    )
}

/// The links every admin page carries.
///
/// Signing out changes state, so it is a POST carrying the CSRF token, not
/// a link a third-party page could trigger.
pub(crate) fn admin_nav(csrf: &str) -> String {
    format!(
        "<nav class=\"admin\" aria-label=\"Admin\"><a href=\"/admin\" data-testid=\"admin-link\">Dashboard</a>\
         <a href=\"/admin/playground\" data-testid=\"playground-link\">Filter playground</a>\
         <a href=\"/admin#items\">Items</a><a href=\"/admin#sources\">Sources</a><a href=\"/\">Public site</a>\
         <form method=\"post\" action=\"/admin/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\" data-testid=\"logout\">Sign out</button></form></nav>\n",
        escape_html(csrf)
    )
}

/// `/admin/login`: a token form. The server sets the session cookie on
/// success and re-renders this with `error` on failure.
pub fn login_page(site: &SiteInfo, error: Option<&str>) -> String {
    let mut body = String::from("<h1>Admin sign-in</h1>\n");
    if let Some(e) = error {
        let _ = writeln!(
            body,
            "<div class=\"error\" role=\"alert\" data-testid=\"login-error\">{}</div>",
            escape_html(e)
        );
    }
    body.push_str(
        "<form method=\"post\" action=\"/admin/login\" class=\"box\" data-testid=\"login-form\">\n\
         <label for=\"token\">Admin token (<code>[admin] token</code> in the config)</label>\n\
         <p><input type=\"password\" id=\"token\" name=\"token\" required autocomplete=\"current-password\" autofocus size=\"40\" data-testid=\"login-token\"></p>\n\
         <p><button type=\"submit\" class=\"primary\" data-testid=\"login-submit\">Sign in</button></p>\n\
         </form>\n",
    );
    document(
        site,
        &Head {
            lang: "en",
            title: &format!("Sign in – {}", site.title),
            public: false,
            wide: false,
        },
        &body,
    )
}

/// A short page for 401/403/404/5xx, so errors look like the rest of the
/// site instead of a bare string. 401 offers the sign-in link.
pub fn message_page(site: &SiteInfo, status: u16, title: &str, text: &str) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1 data-testid=\"message-title\" data-status=\"{status}\"><span class=\"muted\">{status}</span> {title}</h1>\n\
         <p data-testid=\"message-text\">{text}</p>\n",
        title = escape_html(title),
        text = escape_html(text),
    );
    if status == 401 {
        body.push_str(
            "<p><a class=\"button primary\" href=\"/admin/login\" data-testid=\"login-link\">Sign in</a></p>\n",
        );
    }
    body.push_str("<p><a href=\"/\">← Home</a></p>\n");
    // Error pages are not content: keep them out of indexes and feeds.
    document(
        site,
        &Head {
            lang: "en",
            title: &format!("{status} {title} – {}", site.title),
            public: false,
            wide: false,
        },
        &body,
    )
}

fn queue_section(view: &AdminView) -> String {
    let q = &view.queue;
    let stat = |key: &str, label: &str, value: i64, alarm: bool| {
        format!(
            "<div class=\"{cls}\" data-testid=\"queue-{key}\"><dt>{label}</dt><dd>{value}</dd></div>",
            cls = if alarm && value > 0 { "bad" } else { "" }
        )
    };
    format!(
        "<section aria-labelledby=\"queue\"><h2 id=\"queue\">Delivery queue</h2>\n\
         <dl class=\"stats\" data-testid=\"queue\">{}{}{}{}<div data-testid=\"follower-count\"><dt>Followers</dt><dd>{}</dd></div></dl>\n</section>\n",
        stat("pending", "Pending", q.pending, false),
        stat("failed", "Failed (retrying)", q.failed, true),
        stat("dead", "Dead", q.dead, true),
        stat("delivered", "Delivered", q.delivered, false),
        view.followers.len()
    )
}

/// Stories waiting for the posting cap and stories dropped as stale.
fn publish_queue_section(view: &AdminView) -> String {
    let q = &view.publish_queue;
    let mut s = format!(
        "<section aria-labelledby=\"publish-queue\"><h2 id=\"publish-queue\">Waiting stories ({})</h2>\n",
        q.waiting_count
    );
    s.push_str(&queued_table(
        &q.waiting,
        "waiting",
        "Nothing waits: every new story went out.",
    ));
    let _ = writeln!(
        s,
        "<h2 id=\"stale-stories\">Stale stories ({})</h2>",
        q.stale_count
    );
    s.push_str(&queued_table(&q.stale, "stale", "No story went stale."));
    s.push_str("</section>\n");
    s
}

fn queued_table(rows: &[QueuedStoryView], testid: &str, empty: &str) -> String {
    if rows.is_empty() {
        return format!(
            "<p class=\"muted\" data-testid=\"{testid}\">{}</p>\n",
            escape_html(empty)
        );
    }
    let mut s = format!(
        "<table data-testid=\"{testid}\"><thead><tr><th>Story</th><th>Source</th><th>Dated</th><th>Queued</th><th>Stale since</th></tr></thead><tbody>\n"
    );
    for r in rows {
        let title = match r.link.as_deref().and_then(safe_http_url) {
            Some(url) => format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                escape_html(&url),
                escape_html(&r.title)
            ),
            None => escape_html(&r.title),
        };
        let _ = writeln!(
            s,
            "<tr><td>{title}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&r.source),
            time_tag(&r.lead_date),
            time_tag(&r.queued_at),
            opt_time_tag(r.stale_at.as_ref()),
        );
    }
    s.push_str("</tbody></table>\n");
    s
}

/// A status word rendered with a colour class; the class is chosen from a
/// fixed list, never from the text.
fn status_class(feed: &FeedHealthView) -> &'static str {
    if !feed.enabled {
        return "st-off";
    }
    let s = feed.status.to_ascii_lowercase();
    if feed.errors > 0 || s.contains("err") || s.contains("fail") || s.contains("back") {
        "st-bad"
    } else {
        "st-ok"
    }
}

/// A source's key in the dashboard's forms: a digest of its URL, so a
/// page never repeats a URL (a `javascript:` one included) outside links
/// that were checked.
pub fn source_key(url: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(url.as_bytes())[..12])
}

/// A POST form with the CSRF value and hidden fields, as one button.
fn post_button(
    action: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    label: &str,
    testid: &str,
) -> String {
    let mut hidden = String::new();
    for (k, v) in fields {
        let _ = write!(
            hidden,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape_html(k),
            escape_html(v)
        );
    }
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{hidden}\
         <button type=\"submit\" data-testid=\"{testid}\">{label}</button></form>",
        csrf = escape_html(csrf),
    )
}

/// The top of the dashboard: the Reload button and, when sources fail, how
/// many and which.
fn actions_bar(view: &AdminView) -> String {
    let mut out = format!(
        "<section class=\"actions\" aria-label=\"Actions\">{}</section>\n",
        post_button(
            "/admin/reload",
            &view.csrf,
            &[],
            "Reload configuration",
            "reload"
        )
    );
    let enabled = view.feeds.iter().filter(|f| f.enabled).count();
    let failing: Vec<&FeedHealthView> = view
        .feeds
        .iter()
        .filter(|f| f.enabled && f.errors > 0)
        .collect();
    if !failing.is_empty() {
        let _ = write!(
            out,
            "<div class=\"error\" role=\"status\" data-testid=\"failing-summary\"><strong>{} of {} sources failing:</strong> ",
            failing.len(),
            enabled
        );
        let names: Vec<String> = failing
            .iter()
            .map(|f| {
                format!(
                    "{} ({})",
                    escape_html(&f.name),
                    escape_html(f.last_error.as_deref().unwrap_or(&f.status))
                )
            })
            .collect();
        out.push_str(&names.join("; "));
        out.push_str(" <a href=\"/admin#sources\">Sources</a></div>\n");
    }
    out
}

fn feeds_section(feeds: &[FeedHealthView], csrf: &str) -> String {
    let mut out =
        String::from("<section aria-labelledby=\"sources\"><h2 id=\"sources\">Sources</h2>\n");
    if feeds.is_empty() {
        out.push_str("<p class=\"muted\">No sources configured.</p></section>\n");
        return out;
    }
    out.push_str(
        "<table class=\"stack\" data-testid=\"feeds\"><thead><tr><th>Source</th><th>Status</th><th>Last fetch</th><th>Errors (now / total)</th><th>Next check</th><th>Last error</th><th>Actions</th></tr></thead><tbody>\n",
    );
    for f in feeds {
        let key = source_key(&f.url);
        let actions = format!(
            "{}{}",
            post_button(
                "/admin/sources/check",
                csrf,
                &[("source", &key)],
                "Check now",
                "check-now"
            ),
            if f.enabled {
                post_button(
                    "/admin/sources/enabled",
                    csrf,
                    &[("source", &key), ("enabled", "false")],
                    "Disable",
                    "disable",
                )
            } else {
                post_button(
                    "/admin/sources/enabled",
                    csrf,
                    &[("source", &key), ("enabled", "true")],
                    "Enable",
                    "enable",
                )
            }
        );
        let name = match safe_http_url(&f.url) {
            Some(u) => format!(
                "<a href=\"{}\" rel=\"nofollow noopener noreferrer\">{}</a>",
                escape_html(&u),
                escape_html(&f.name)
            ),
            None => escape_html(&f.name),
        };
        let status = if f.enabled {
            escape_html(&f.status)
        } else {
            format!("disabled ({})", escape_html(&f.status))
        };
        let _ = writeln!(
            out,
            "<tr data-testid=\"feed-health\" data-source=\"{src}\" data-enabled=\"{en}\" data-errors=\"{err}\">\
             <td data-label=\"Source\">{name}</td>\
             <td data-label=\"Status\" class=\"{cls}\" data-testid=\"feed-status\">{status}</td>\
             <td data-label=\"Last fetch\">{last}</td>\
             <td data-label=\"Errors\" class=\"num\">{err} / {total}</td>\
             <td data-label=\"Next check\">{next}</td>\
             <td data-label=\"Last error\" class=\"reasons\" data-testid=\"feed-last-error\">{lerr}</td>\
             <td data-label=\"Actions\">{actions}</td></tr>",
            src = escape_html(&f.name),
            en = f.enabled,
            err = f.errors,
            total = f.total_errors,
            cls = status_class(f),
            last = opt_time_tag(f.last_fetch.as_ref()),
            next = opt_time_tag(f.next_check.as_ref()),
            lerr = f
                .last_error
                .as_deref()
                .map_or_else(|| "—".to_owned(), escape_html),
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
    out
}

/// `publish`/`skip`/`pending`: the query value and the `data-decision`.
pub(crate) fn decision_word(d: Option<bool>) -> &'static str {
    match d {
        Some(true) => "publish",
        Some(false) => "skip",
        None => "pending",
    }
}

/// The decision as the operator reads it, colour-coded.
pub(crate) fn decision_cell(d: Option<bool>) -> &'static str {
    match d {
        Some(true) => "<span class=\"pub\">✓ publish</span>",
        Some(false) => "<span class=\"skip\">✗ skip</span>",
        None => "<span class=\"muted\">not evaluated</span>",
    }
}

/// Title cell: the title, linked if the link is http(s), and the source.
/// The title carries the item's language; "(untitled)" is ours, English.
pub(crate) fn item_title_cell(item: &ItemView) -> String {
    let title = if item.title.trim().is_empty() {
        "(untitled)".to_owned()
    } else if item.lang.trim().is_empty() {
        escape_html(&item.title)
    } else {
        format!(
            "<span{}>{}</span>",
            lang_attr(&item.lang),
            escape_html(&item.title)
        )
    };
    match item.link.as_deref().and_then(safe_http_url) {
        Some(u) => format!(
            "<a href=\"{}\" rel=\"nofollow noopener noreferrer\">{title}</a>",
            escape_html(&u)
        ),
        None => title,
    }
}

pub(crate) fn score_text(score: Option<f64>) -> String {
    score.map_or_else(|| "—".to_owned(), |s| format!("{s:.2}"))
}

fn items_section(view: &AdminView) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"items\"><h2 id=\"items\">Recent items</h2>\n\
         <form method=\"get\" action=\"/admin\" class=\"filters\" data-testid=\"item-filters\">\n",
    );
    let sel = |on: bool| if on { " selected" } else { "" };
    let _ = write!(
        out,
        "<div><label for=\"decision\">Decision</label><select id=\"decision\" name=\"decision\" data-testid=\"filter-decision\">\
         <option value=\"\"{}>Any</option><option value=\"publish\"{}>Publish</option><option value=\"skip\"{}>Skip</option></select></div>",
        sel(view.decision_filter.is_none()),
        sel(view.decision_filter == Some(true)),
        sel(view.decision_filter == Some(false)),
    );
    let _ = write!(
        out,
        "\n<div><label for=\"source\">Source</label><select id=\"source\" name=\"source\" data-testid=\"filter-source\"><option value=\"\"{}>Any</option>",
        sel(view.source_filter.is_none())
    );
    let mut names: Vec<&str> = view.sources.iter().map(String::as_str).collect();
    // A filter on a source that has since left the list must stay visible,
    // or the form would silently drop it on the next submit.
    if let Some(f) = view.source_filter.as_deref()
        && !names.contains(&f)
    {
        names.push(f);
    }
    for name in names {
        let _ = write!(
            out,
            "<option value=\"{v}\"{s}>{v}</option>",
            v = escape_html(name),
            s = sel(view.source_filter.as_deref() == Some(name))
        );
    }
    out.push_str(
        "</select></div>\n<div><button type=\"submit\" data-testid=\"filter-submit\">Filter</button> <a href=\"/admin#items\" data-testid=\"filter-clear\">Clear</a></div>\n</form>\n",
    );
    let mut active = Vec::new();
    if let Some(d) = view.decision_filter {
        active.push(format!("decision = {}", decision_word(Some(d))));
    }
    if let Some(s) = &view.source_filter {
        active.push(format!("source = {}", escape_html(s)));
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\" data-testid=\"item-count\">{} item{}{}</p>",
        view.items.len(),
        if view.items.len() == 1 { "" } else { "s" },
        if active.is_empty() {
            String::new()
        } else {
            format!(" where {}", active.join(" and "))
        }
    );
    if view.items.is_empty() {
        out.push_str(
            "<p class=\"muted\" data-testid=\"no-items\">Nothing matches.</p></section>\n",
        );
        return out;
    }
    out.push_str(
        "<table class=\"stack\" data-testid=\"items\"><thead><tr><th>Published</th><th>Source</th><th>Title</th><th>Decision</th><th>Score</th><th>Reasons</th><th>Label</th></tr></thead><tbody>\n",
    );
    for item in &view.items {
        let _ = writeln!(
            out,
            "<tr data-testid=\"item-row\" data-decision=\"{d}\" data-source=\"{src}\" data-item-id=\"{id}\">\
             <td data-label=\"Published\">{time}</td><td data-label=\"Source\">{src}</td>\
             <td data-label=\"Title\">{title}</td><td data-label=\"Decision\">{dc}</td>\
             <td data-label=\"Score\" class=\"num\">{score}</td><td data-label=\"Reasons\" class=\"reasons\">{reasons}{story}</td>\
             <td data-label=\"Label\">{label}</td></tr>",
            d = decision_word(item.decision),
            src = escape_html(&item.source),
            id = escape_html(&item.id),
            time = time_tag(&item.published),
            title = item_title_cell(item),
            dc = decision_cell(item.decision),
            score = score_text(item.score),
            reasons = escape_html(&item.reasons),
            story = match &item.story {
                Some((id, why)) => format!(
                    "<div class=\"story-reasons\" data-testid=\"story-reasons\">Joined <a href=\"/stories/{id}\">story {short}</a>: {why}</div>",
                    id = escape_html(id),
                    short = escape_html(id.get(..8).unwrap_or(id)),
                    why = escape_html(why)
                ),
                None => String::new(),
            },
            label = label_form(view, &item.id),
        );
    }
    out.push_str("</tbody></table>\n");
    out.push_str(&items_pager(view));
    out.push_str("</section>\n");
    out
}

/// The words of the labels 0, 1 and 2.
pub const LABEL_WORDS: [&str; 3] = ["not relevant", "related", "relevant"];

/// The "relevant / related / not relevant" buttons of one item (a POST with
/// the CSRF value); the item's current label is pressed.
fn label_form(view: &AdminView, item_id: &str) -> String {
    let current = view.labels.get(item_id).copied();
    let mut out = format!(
        "<form method=\"post\" action=\"/admin/items/label\" class=\"labels\" data-testid=\"label-form\" data-label=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"item\" value=\"{}\">",
        current.map_or_else(String::new, |l| l.to_string()),
        escape_html(&view.csrf),
        escape_html(item_id),
    );
    for label in [2u8, 1, 0] {
        let _ = write!(
            out,
            "<button type=\"submit\" name=\"label\" value=\"{label}\" aria-pressed=\"{}\" data-testid=\"label-{label}\">{}</button>",
            current == Some(label),
            LABEL_WORDS[usize::from(label)],
        );
    }
    out.push_str("</form>");
    out
}

/// "Newer" and "older" links for the items, keeping the filters.
fn items_pager(view: &AdminView) -> String {
    let mut query = Vec::new();
    if let Some(d) = view.decision_filter {
        query.push(format!("decision={}", decision_word(Some(d))));
    }
    if let Some(s) = &view.source_filter {
        query.push(format!("source={}", super::html::encode_component(s)));
    }
    let link = |page: u32| {
        let mut q = query.clone();
        q.push(format!("page={page}"));
        format!("/admin?{}#items", q.join("&"))
    };
    let mut out = String::from("<nav class=\"pager\" aria-label=\"Item pages\">");
    if view.page > 0 {
        let _ = write!(
            out,
            "<a href=\"{}\" rel=\"prev\" data-testid=\"items-newer\">← Newer</a> ",
            escape_html(&link(view.page - 1))
        );
    }
    let _ = write!(
        out,
        "<span data-testid=\"items-page\">page {}</span>",
        view.page + 1
    );
    if view.more {
        let _ = write!(
            out,
            " <a href=\"{}\" rel=\"next\" data-testid=\"items-older\">Older →</a>",
            escape_html(&link(view.page + 1))
        );
    }
    out.push_str("</nav>\n");
    out
}

fn followers_section(view: &AdminView) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"followers\"><h2 id=\"followers\">Followers ({})</h2>\n",
        view.followers.len()
    );
    if view.followers.is_empty() {
        out.push_str("<p class=\"muted\">No followers yet.</p></section>\n");
        return out;
    }
    out.push_str("<table class=\"stack\" data-testid=\"followers\"><thead><tr><th>Actor</th><th>Inbox</th></tr></thead><tbody>\n");
    for f in &view.followers {
        let actor = match safe_http_url(&f.actor) {
            Some(u) => format!(
                "<a href=\"{}\" rel=\"nofollow noopener noreferrer\">{}</a>",
                escape_html(&u),
                escape_html(&f.actor)
            ),
            None => escape_html(&f.actor),
        };
        let _ = writeln!(
            out,
            "<tr data-testid=\"follower\"><td data-label=\"Actor\">{actor}</td><td data-label=\"Inbox\" class=\"mono\">{}</td></tr>",
            escape_html(&f.inbox)
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
    out
}

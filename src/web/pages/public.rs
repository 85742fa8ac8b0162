//! The public pages: the front page (`/`) and a story's own page
//! (`/stories/{id}`, the Fediverse Note's `url`).

use std::fmt::Write as _;

use super::html::{
    FEEDS, Head, document, encode_component, lang_attr, local_or_http_url, tag_path, time_tag,
};
use super::{SiteInfo, StoryView};
use crate::text::{escape_html, normalize_language_tag, safe_http_url};

/// The language of the site's own words (headings, hints). Stories carry
/// their own `lang` so CJK text gets the right font and line height.
const SITE_LANG: &str = "en";

/// Stories on one page of `/`: a screen or two on a phone, not 50 cards.
pub const STORIES_PER_PAGE: u32 = 20;

/// Where a front page sits among all of them (1 = newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    /// At least 1, even with no stories.
    pub pages: u64,
}

impl Paging {
    pub const SINGLE: Paging = Paging { page: 1, pages: 1 };
}

/// `/` with every given story on one page (no paging links).
pub fn index_page(site: &SiteInfo, stories: &[StoryView]) -> String {
    index_page_paged(site, stories, &Paging::SINGLE)
}

/// `/?page=N`: what the bot watches and why, how to follow it, and one page
/// of stories, so a visitor from a boosted post understands it in one
/// screen. "Newer" and "Older" are plain links (no scripts needed).
pub fn index_page_paged(site: &SiteInfo, stories: &[StoryView], paging: &Paging) -> String {
    let first = paging.page <= 1;
    let mut body = String::new();
    if first {
        let _ = write!(
            body,
            "<h1 data-testid=\"site-heading\">{}</h1>\n<p class=\"lede\" data-testid=\"site-description\">{}</p>\n",
            escape_html(&site.title),
            escape_html(&site.description)
        );
        body.push_str(&follow_box(site, true));
        body.push_str(
            "<section aria-labelledby=\"latest\"><h2 id=\"latest\">Latest stories</h2>\n",
        );
    } else {
        let _ = writeln!(
            body,
            "<section aria-labelledby=\"latest\"><h1 id=\"latest\" data-testid=\"page-heading\">Older stories, page {} of {}</h1>",
            paging.page, paging.pages
        );
    }
    if stories.is_empty() {
        body.push_str(
            "<p class=\"muted\" data-testid=\"no-stories\">No stories yet. New ones appear here, in the feeds and on the Fediverse account as they are published.</p>\n",
        );
    } else {
        body.push_str("<ol class=\"stories\">\n");
        for story in stories {
            body.push_str("<li>");
            body.push_str(&story_card(story, first));
            body.push_str("</li>\n");
        }
        body.push_str("</ol>\n");
    }
    body.push_str(&pager("/", paging));
    body.push_str("</section>\n");
    let title = if first {
        site.title.clone()
    } else {
        format!("Older stories, page {} – {}", paging.page, site.title)
    };
    document(
        site,
        &Head {
            lang: SITE_LANG,
            title: &title,
            public: true,
            wide: false,
        },
        &body,
    )
}

/// "← Newer" / "Older →" between the pages listed at `path` (the front
/// page, a tag's page); nothing when there is one.
pub(super) fn pager(path: &str, paging: &Paging) -> String {
    if paging.pages <= 1 {
        return String::new();
    }
    let path = escape_html(path);
    let mut out = String::from(
        "<nav class=\"pager\" aria-label=\"Older and newer stories\" data-testid=\"pager\">",
    );
    if paging.page > 1 {
        let href = if paging.page == 2 {
            path.clone()
        } else {
            format!("{path}?page={}", paging.page - 1)
        };
        let _ = write!(
            out,
            "<a class=\"button\" rel=\"prev\" href=\"{href}\" data-testid=\"newer\">← Newer stories</a>"
        );
    }
    let _ = write!(
        out,
        "<span class=\"muted\">Page {} of {}</span>",
        paging.page, paging.pages
    );
    if paging.page < paging.pages {
        let _ = write!(
            out,
            "<a class=\"button\" rel=\"next\" href=\"{path}?page={}\" data-testid=\"older\">Older stories →</a>",
            paging.page + 1
        );
    }
    out.push_str("</nav>\n");
    out
}

/// `/stories/{id}`: one story in full, with every outlet that reported it.
/// The page is about the story, so `<html lang>` is the story's language;
/// the site's own words around it are marked `en`.
pub fn story_page(site: &SiteInfo, story: &StoryView) -> String {
    let lang = normalize_language_tag(&story.language);
    let ui = if crate::text::primary_subtag(&lang) == "en" {
        ""
    } else {
        " lang=\"en\""
    };
    let mut body = String::new();
    let _ = write!(
        body,
        "<article class=\"story-page\" data-testid=\"story\" id=\"story\">\n\
         <h1 data-testid=\"story-title\"{la}>{title}</h1>\n\
         <p class=\"meta\"{ui}>Published {time}{posted}</p>\n\
         <p data-testid=\"story-summary\"{la}>{summary}</p>\n",
        la = lang_attr(&lang),
        title = escape_html(&story.title),
        time = time_tag(&story.published),
        posted = story.posted.as_ref().map_or_else(String::new, |p| format!(
            " · <span data-testid=\"story-posted\">posted by the bot {}</span>",
            time_tag(p)
        )),
        summary = escape_html(&story.summary),
    );
    let mut interface = sources_block(story, true);
    interface.push_str(&actions(story, false));
    interface.push_str(&tags(&story.hashtags));
    let _ = write!(body, "<div{ui}>{interface}</div>\n</article>\n");
    let _ = writeln!(
        body,
        "<div{ui}>{}<p><a href=\"/\" data-testid=\"back-home\">← All stories</a></p></div>",
        follow_box(site, false)
    );
    document(
        site,
        &Head {
            lang: &lang,
            title: &format!("{} – {}", story.title, site.title),
            public: true,
            wide: false,
        },
        &body,
    )
}

/// Where a story's own page is: the given URL if it is ours-looking and
/// safe, else one built from the id (so a bad `page_url` never yields a
/// broken or hostile link).
pub(crate) fn story_href(story: &StoryView) -> String {
    local_or_http_url(&story.page_url)
        .unwrap_or_else(|| format!("/stories/{}", encode_component(&story.id)))
}

/// One story in the front-page list. The card is interface text (English);
/// the title and summary carry the story's own language. `h3` under the
/// first page's "Latest stories" `h2`; `h2` under a later page's `h1`.
pub(crate) fn story_card(story: &StoryView, first_page: bool) -> String {
    let href = story_href(story);
    let h = if first_page { "h3" } else { "h2" };
    let mut out = String::new();
    let _ = write!(
        out,
        "<article class=\"story\" data-testid=\"story\" data-story-id=\"{id}\">\n\
         <{h} class=\"story-title\"{la}><a href=\"{href}\" data-testid=\"story-link\">{title}</a></{h}>\n\
         <p class=\"meta\">{time}</p>\n\
         <p data-testid=\"story-summary\"{la}>{summary}</p>\n",
        id = escape_html(&story.id),
        la = lang_attr(&story.language),
        href = escape_html(&href),
        title = escape_html(&story.title),
        time = time_tag(&story.published),
        summary = escape_html(&story.summary),
    );
    out.push_str(&sources_block(story, false));
    out.push_str(&actions(story, true));
    out.push_str(&tags(&story.hashtags));
    out.push_str("</article>");
    out
}

/// "Reported by …": outlets whose link is not http(s) are listed as plain
/// text (the outlet still reported it; we just won't link a hostile URL),
/// and outlets without a name are shown by host.
fn sources_block(story: &StoryView, full: bool) -> String {
    let entries: Vec<String> = story
        .sources
        .iter()
        .filter_map(|(name, url)| {
            let safe = safe_http_url(url);
            let label = if name.trim().is_empty() {
                safe.as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .and_then(|u| u.host_str().map(str::to_owned))?
            } else {
                name.trim().to_owned()
            };
            Some(match safe {
                Some(u) => format!(
                    "<a href=\"{}\" rel=\"nofollow noopener noreferrer\" data-testid=\"source-link\">{}</a>",
                    escape_html(&u),
                    escape_html(&label)
                ),
                None => format!("<span data-testid=\"source-name\">{}</span>", escape_html(&label)),
            })
        })
        .collect();
    if entries.is_empty() {
        return String::new();
    }
    if full {
        let items: String = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                if i == 0 {
                    format!("<li>{e} <span class=\"muted\">(lead)</span></li>")
                } else {
                    format!("<li>{e}</li>")
                }
            })
            .collect();
        format!(
            "<section class=\"sources\" data-testid=\"sources\"><h2>Reported by</h2><ul>{items}</ul></section>\n"
        )
    } else {
        format!(
            "<p class=\"sources\" data-testid=\"sources\">Reported by {}</p>\n",
            entries.join(", ")
        )
    }
}

/// Links under a story: the lead article (when its URL is safe) and, in the
/// list, the story's own page. Each link's name ends with the story's title
/// in visually hidden text, so a screen reader's list of links tells the
/// 20 "Read the lead article" links apart.
fn actions(story: &StoryView, with_permalink: bool) -> String {
    let hidden_title = format!(
        "<span class=\"vh\">: <span{}>{}</span></span>",
        lang_attr(&story.language),
        escape_html(&story.title)
    );
    let mut out = String::from("<p class=\"actions\">");
    if let Some(u) = safe_http_url(&story.link) {
        let _ = write!(
            out,
            "<a href=\"{}\" rel=\"nofollow noopener noreferrer\" data-testid=\"lead-link\">Read the lead article{hidden_title} <span aria-hidden=\"true\">↗</span></a>",
            escape_html(&u)
        );
    }
    if with_permalink {
        let _ = write!(
            out,
            "<a href=\"{}\" data-testid=\"permalink\">Story page{hidden_title}</a>",
            escape_html(&story_href(story))
        );
    }
    out.push_str("</p>\n");
    out
}

/// Hashtags, each a link to our own `/tags/<tag>` page (as in the Notes).
fn tags(hashtags: &[String]) -> String {
    let items: String = hashtags
        .iter()
        .map(|t| t.trim().trim_start_matches('#'))
        .filter(|t| !t.is_empty())
        .map(|t| {
            format!(
                "<li><a href=\"{}\" rel=\"tag\">#{}</a></li>",
                escape_html(&tag_path(t)),
                escape_html(t)
            )
        })
        .collect();
    if items.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"tags\" aria-label=\"Hashtags\">{items}</ul>\n")
    }
}

/// How to follow: the handle (select-all on click), the Mastodon hint, the
/// actor profile and the three feeds.
fn follow_box(site: &SiteInfo, full: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"box follow\" aria-labelledby=\"follow\" data-testid=\"follow\">\n\
         <h2 id=\"follow\">Follow</h2>\n\
         <p>On the Fediverse: <code class=\"handle\" data-testid=\"follow-handle\">{handle}</code></p>\n",
        handle = escape_html(&site.handle)
    );
    if full {
        out.push_str(
            "<p class=\"muted\" data-testid=\"follow-hint\">On Mastodon (or any Fediverse server): copy the handle, paste it into your server's search box, open the account and press <strong>Follow</strong>. Or subscribe to a feed in any feed reader:</p>\n",
        );
    }
    out.push_str("<ul class=\"feeds\" data-testid=\"feed-links\">");
    for (path, mime, label) in FEEDS {
        let _ = write!(
            out,
            "<li><a href=\"{path}\" type=\"{mime}\" data-testid=\"feed-link\">{label}</a></li>"
        );
    }
    if let Some(actor) = safe_http_url(&site.actor_url) {
        let _ = write!(
            out,
            "<li><a href=\"{}\" rel=\"me\" data-testid=\"actor-link\">Fediverse profile</a></li>",
            escape_html(&actor)
        );
    }
    out.push_str("</ul>\n");
    if full {
        let site_tags = tags(&site.hashtags);
        if !site_tags.is_empty() {
            out.push_str("<p class=\"muted\">Posts are tagged</p>");
            out.push_str(&site_tags);
        }
    }
    out.push_str("</section>\n");
    out
}

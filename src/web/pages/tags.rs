//! `/tags/<tag>`: the published stories carrying one hashtag, newest first,
//! paged like the front page, with the tag's own RSS feed. The hashtag
//! links in our Notes, feeds and pages all land here.

use std::fmt::Write as _;

use super::html::{Head, document, tag_path};
use super::public::{Paging, story_card};
use super::{SiteInfo, StoryView};
use crate::text::escape_html;

/// The page: heading `#tag`, the count, a link to the tag's feed, one page of stories.
pub fn tag_page(
    site: &SiteInfo,
    tag: &str,
    total: u64,
    stories: &[StoryView],
    paging: &Paging,
) -> String {
    let path = tag_path(tag);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<section aria-labelledby=\"tag-heading\"><h1 id=\"tag-heading\" data-testid=\"page-heading\">#{tag}</h1>\n\
         <p class=\"lede\">{total} {noun} with this hashtag{page}. \
         <a href=\"{path}/feed.xml\" type=\"application/rss+xml\" data-testid=\"tag-feed\">RSS feed of #{tag}</a></p>",
        tag = escape_html(tag),
        noun = if total == 1 { "story" } else { "stories" },
        page = if paging.pages > 1 {
            format!(", page {} of {}", paging.page, paging.pages)
        } else {
            String::new()
        },
        path = escape_html(&path),
    );
    body.push_str("<ol class=\"stories\">\n");
    for story in stories {
        body.push_str("<li>");
        body.push_str(&story_card(story, false));
        body.push_str("</li>\n");
    }
    body.push_str("</ol>\n");
    body.push_str(&super::public::pager(&path, paging));
    body.push_str("</section>\n");
    let title = format!("#{tag} – {}", site.title);
    document(
        site,
        &Head {
            lang: "en",
            title: &title,
            public: true,
            wide: false,
        },
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded() {
        assert_eq!(tag_path("#Taiwan"), "/tags/Taiwan");
        assert_eq!(tag_path("台灣"), "/tags/%E5%8F%B0%E7%81%A3");
        assert_eq!(tag_path("a/b"), "/tags/a%2Fb");
    }
}

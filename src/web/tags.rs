//! `/tags/<tag>` and `/tags/<tag>/feed.xml`: our published stories with a
//! hashtag (matched case-insensitively, see [`crate::store::tags`]).
//!
//! The page is paged like `/`; the feed is the `/feed.xml` renderer over the
//! tag's newest `[publish] feed_items` stories, titled "#tag – {bot}". Tag
//! feeds are not kept in the page cache (any string is a possible tag, so
//! the cache would grow without bound); they carry an ETag and
//! Last-Modified, and conditional requests get their 304.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};

use super::{
    CACHE_INDEX, FEED_CACHE_CONTROL, PageQuery, PublicError, WebState, cache, pages, story_view,
};
use crate::publish::outputs::{FeedFormat, FeedIdentity, render};
use crate::store::tags::fold_hashtag;

fn missing(state: &WebState) -> PublicError {
    PublicError::not_found(
        state,
        "No such hashtag",
        "None of our stories carries this hashtag. The stories are listed on the front page.",
    )
}

fn store_down(e: crate::store::StoreError) -> PublicError {
    PublicError::store("cannot read the stories of a hashtag", e)
}

/// Whether the tag is one of the topic's own hashtags (its page exists,
/// empty, before the first story).
fn is_topic_tag(state: &WebState, tag: &str) -> bool {
    let folded = fold_hashtag(tag);
    state
        .site()
        .hashtags
        .iter()
        .any(|t| fold_hashtag(t) == folded)
}

pub(super) async fn tag_page(
    State(state): State<WebState>,
    Path(tag): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PublicError> {
    let tag = tag.trim().trim_start_matches('#').to_string();
    if fold_hashtag(&tag).is_empty() {
        return Err(missing(&state));
    }
    let page = match q.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => match p.parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(missing(&state)),
        },
    };
    let per_page = pages::STORIES_PER_PAGE;
    let found = match state
        .store
        .published_entries_tagged(
            &tag,
            per_page,
            (page - 1).saturating_mul(u64::from(per_page)),
        )
        .await
    {
        Ok(f) => f,
        Err(e) => return Err(store_down(e)),
    };
    if found.total == 0 && !is_topic_tag(&state, &tag) {
        return Err(missing(&state));
    }
    let pages_total = found.total.div_ceil(u64::from(per_page)).max(1);
    if page > pages_total {
        return Err(missing(&state));
    }
    let stories: Vec<pages::StoryView> = found
        .entries
        .iter()
        .map(|p| story_view(&state, p))
        .collect();
    let html = pages::tag_page(
        &state.site(),
        &tag,
        found.total,
        &stories,
        &pages::Paging {
            page,
            pages: pages_total,
        },
    );
    Ok(([(header::CACHE_CONTROL, CACHE_INDEX)], Html(html)).into_response())
}

pub(super) async fn tag_feed(
    State(state): State<WebState>,
    Path(tag): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let tag = tag.trim().trim_start_matches('#').to_string();
    if fold_hashtag(&tag).is_empty() {
        return Err(missing(&state));
    }
    let rt = state.settings.load();
    let found = match state
        .store
        .published_entries_tagged(&tag, rt.config.publish.feed_items, 0)
        .await
    {
        Ok(f) => f,
        Err(e) => return Err(store_down(e)),
    };
    if found.total == 0 && !is_topic_tag(&state, &tag) {
        return Err(missing(&state));
    }
    let site = rt.identity.clone();
    // The feed's home and self links are the tag page and this feed; its
    // stylesheet reference (relative) resolves to `/tags/<tag>/feed.xsl`.
    let mut base = site.base_url.clone();
    let page_path = format!(
        "{}{}",
        base.path().trim_end_matches('/'),
        pages::html::tag_path(&tag)
    );
    base.set_path(&page_path);
    let identity = FeedIdentity {
        title: format!("#{tag} – {}", site.title),
        description: site.description,
        base_url: base,
    };
    let rendered = render(&identity, &found.entries, FeedFormat::Rss, |id| {
        rt.story_url(id)
    });
    let mut response = cache::Hit::uncached(cache::Rendered {
        body: rendered.body.into(),
        content_type: rendered.content_type,
        etag: rendered.etag,
        last_modified: Some(rendered.last_modified),
    })
    .respond(&headers, Some(FEED_CACHE_CONTROL));
    // As `/feed.xml`: a browser gets it as plain XML so the stylesheet runs.
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/xml; charset=utf-8"),
        );
    }
    response
        .headers_mut()
        .append(header::VARY, axum::http::HeaderValue::from_static("Accept"));
    Ok(response)
}

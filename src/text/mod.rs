//! The text toolkit: the one place that turns untrusted feed text into plain
//! text and plain text into safe output.
//!
//! A leaf module: no I/O and no imports from the rest of the crate, so every
//! stage (normalisation, matching, summaries, publishing, the Fediverse
//! account, the pages) can use it without an arrow running back up.
//!
//! | submodule | job |
//! | --- | --- |
//! | [`html`] | HTML fragment → plain text that keeps paragraphs ([`html_to_text`]); plain text → HTML ([`escape_html`]); mojibake repair; control characters |
//! | [`script`] | which characters belong to which script ([`is_cjk`], [`is_han`], [`is_kana`], [`is_hangul`]) |
//! | [`lang`] | the one BCP 47 language-tag normaliser ([`normalize_language_tag`]) |
//! | [`link`] | which links outputs may carry: absolute `http(s)` URLs, normalised ([`safe_http_url`]); an article link's canonical form ([`link::canonical_url`]); a host's site name ([`link::site_name`]) |
//! | [`truncate`] | cutting text to a size: bytes, characters, or words with "…" |

pub mod html;
pub mod lang;
pub mod link;
pub mod script;
pub mod truncate;

pub use html::{
    article_text, escape_html, html_to_line, html_to_text, is_forbidden_char, one_line,
    repair_mojibake, strip_control_chars,
};
pub use lang::{normalize_language_tag, primary_subtag};
pub use link::safe_http_url;
pub use script::{is_cjk, is_cjk_punctuation, is_han, is_hangul, is_kana};
pub use truncate::{truncate_at_word, truncate_bytes, truncate_chars};

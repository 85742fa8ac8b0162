//! Deciding which feed items belong to a topic, and saying why.
//!
//! The pipeline's `match` stage. A [`Topic`] is compiled once from a
//! [`TopicConfig`] (operator rules in a small query language, a threshold,
//! a profile text) and then evaluates [`Candidate`]s into [`Decision`]s:
//!
//! 1. **Rules** ([`query`]): include rules admit an item and add their weight
//!    to its score; exclude rules veto it. Terms are folded (case, width,
//!    accents, Traditional→Simplified), English words are stemmed, CJK terms
//!    match as substrings, and named `@groups` keep the vocabulary in one
//!    place.
//! 2. **Score**: rule weights plus a BM25-style similarity to the topic
//!    profile (English stems + jieba-segmented Chinese), clamped to [0, 1].
//!    An item is published when it is admitted and its score reaches the
//!    threshold.
//! 3. **Explanation** ([`Explanation`]): every rule and term that hit, in
//!    which field, each score part and the threshold; stored as JSON with the
//!    item and rendered as one line by [`Explanation::reasons`].
//!
//! Alongside: [`cluster`] fingerprints stories so that one story carried by
//! several outlets is posted once, and [`eval`] computes precision/recall
//! against labelled items.
//!
//! Nothing here does I/O: profile texts are read by the caller and passed
//! to [`Topic::compile`]. Compiling builds the Chinese segmenter (about
//! 100 ms); evaluation is allocation-light and takes tens of microseconds.

pub mod aliases;
pub mod cluster;
mod config;
pub mod entities;
pub mod eval;
mod explain;
pub mod query;
mod score;
pub mod story_index;
pub mod text;
mod topic;

pub use aliases::AliasTable;
pub use cluster::{
    SAME_STORY_THRESHOLD, StoryFingerprint, StoryMatch, same_story, story_match, story_similarity,
};
pub use config::{ExcludeConfig, RuleConfig, TopicConfig, TopicOverride};
pub use eval::{EvalReport, EvalRow, LabelCounts, evaluate_rows};
pub use explain::{Explanation, Overridden, RuleHit, TermHit, TermPart, score_and_threshold};
pub use query::ParseError;
pub use story_index::StoryIndex;
pub use topic::{Candidate, Decision, Topic, TopicError, config_errors, config_warnings};

/// Splits a Chinese text into the words the scorer uses (folded to
/// Simplified, topic words kept whole). Exposed for tools and tests; builds
/// a segmenter per call, so do not use it per item.
pub fn segment_chinese(text: &str) -> Vec<String> {
    score::Analyzer::new([]).zh_tokens(text)
}

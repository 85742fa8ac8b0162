//! An in-memory index of recent stories' fingerprints, so that matching a
//! new item costs time in the number of stories that share something with
//! it (an entity, a name, a number, a title feature), not in the number of
//! recent stories.

use std::collections::HashMap;

use super::cluster::{StoryFingerprint, StoryMatch, story_match};

/// Recent stories, filed under their fingerprints' keys.
#[derive(Debug, Default, Clone)]
pub struct StoryIndex {
    stories: Vec<(String, StoryFingerprint)>,
    postings: HashMap<String, Vec<usize>>,
}

impl StoryIndex {
    pub fn new() -> StoryIndex {
        StoryIndex::default()
    }

    /// An index of these stories (id, fingerprint).
    pub fn from_stories(stories: impl IntoIterator<Item = (String, StoryFingerprint)>) -> Self {
        let mut index = StoryIndex::new();
        for (id, fp) in stories {
            index.insert(id, fp);
        }
        index
    }

    /// Files a story.
    pub fn insert(&mut self, id: String, fp: StoryFingerprint) {
        let n = self.stories.len();
        for k in fp.index_keys() {
            let list = self.postings.entry(k).or_default();
            if list.last() != Some(&n) {
                list.push(n);
            }
        }
        self.stories.push((id, fp));
    }

    /// This index without its first `k` stories (the oldest, when they were
    /// filed in order). Rebuilt, as postings have no removal; the
    /// fingerprints are moved, not copied.
    pub fn without_first(self, k: usize) -> StoryIndex {
        if k == 0 {
            return self;
        }
        StoryIndex::from_stories(self.stories.into_iter().skip(k))
    }

    pub fn len(&self) -> usize {
        self.stories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stories.is_empty()
    }

    /// Stories sharing at least one key with `fp` (indexes, ascending).
    pub fn candidates(&self, fp: &StoryFingerprint) -> Vec<usize> {
        let mut out: Vec<usize> = fp
            .index_keys()
            .iter()
            .filter_map(|k| self.postings.get(k))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The story `fp` belongs to, with the matcher's verdict: the candidate
    /// with the most evidence among those that match.
    pub fn best(&self, fp: &StoryFingerprint) -> Option<(String, StoryMatch)> {
        self.candidates(fp)
            .into_iter()
            .map(|i| (i, story_match(fp, &self.stories[i].1)))
            .filter(|(_, m)| m.same)
            .max_by(|a, b| a.1.evidence.total_cmp(&b.1.evidence))
            .map(|(i, m)| (self.stories[i].0.clone(), m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_share_a_key_and_best_matches() {
        let mut idx = StoryIndex::new();
        idx.insert(
            "a".into(),
            StoryFingerprint::new(
                "Taiwan brings back 55 nationals from Myanmar scam compounds",
                "",
                "en",
            ),
        );
        idx.insert(
            "b".into(),
            StoryFingerprint::new("Spain extradites 94 Taiwanese to China", "", "en"),
        );
        let tl = StoryFingerprint::new(
            "Inuwi ng Taiwan ang 55 Mamamayan mula sa mga Fraud Rings sa Myanmar",
            "",
            "tl",
        );
        assert_eq!(idx.candidates(&tl), vec![0]);
        let (id, m) = idx.best(&tl).expect("joins");
        assert_eq!(id, "a");
        assert!(
            m.shared_numbers.contains(&"55".to_string()),
            "{}",
            m.reasons()
        );
        let other = StoryFingerprint::new("Interpol opens its General Assembly", "", "en");
        assert!(idx.best(&other).is_none());
        // Without the oldest story, the Tagalog wording has nothing to join,
        // and the postings point at the stories that are left.
        let idx = idx.without_first(1);
        assert_eq!(idx.len(), 1);
        assert!(idx.best(&tl).is_none());
        let spain = StoryFingerprint::new("Spain extradites 94 Taiwanese to China", "", "en");
        assert_eq!(idx.best(&spain).map(|(id, _)| id).as_deref(), Some("b"));
    }
}

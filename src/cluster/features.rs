//! Article features for clustering: stemmed content words, title bigrams and name-like tokens,
//! as a sparse term-frequency vector. Terms are identified by a 32-bit hash (the "hashing
//! trick"), so no vocabulary grows without bound on a long-running stream; a rare collision
//! only blurs two terms together.
//!
//! Title words count more than summary words (a headline names the event; a summary wanders),
//! capitalised words inside a headline without a summary and all-caps words (names, places,
//! organisations: "Snowden", "GM", "Gox") count more again, and adjacent title words form bigrams
//! ("criminal probe"), which separate two events that share single words.

use rustc_hash::FxHashMap as HashMap;

use rust_stemmers::{Algorithm, Stemmer};

use super::horizon::DayCounts;
use crate::text;

/// A summary of fewer words than this leaves an article a headline alone (names boosted).
const HEADLINE_ONLY_WORDS: usize = 10;

/// Interned term id.
pub(crate) type TermId = u32;

/// A sparse vector: (term, weight), sorted by term.
pub(crate) type Vector = Vec<(TermId, f32)>;

/// Weights of the feature kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureWeights {
    pub title_word: f32,
    pub summary_word: f32,
    pub name_boost: f32,
    pub bigram: f32,
    /// Summary words read, at most.
    pub summary_words: usize,
}

impl Default for FeatureWeights {
    fn default() -> Self {
        FeatureWeights {
            title_word: 2.0,
            summary_word: 1.0,
            name_boost: 1.5,
            bigram: 1.0,
            summary_words: 60,
        }
    }
}

/// Turns text into vectors, interning terms.
pub(crate) struct Featuriser {
    stemmer: Stemmer,
    weights: FeatureWeights,
    /// Per lower-case word: how often it was seen capitalised, and lower case, inside
    /// sentence-case headlines of the last days. Learns which words are names, for Title Case
    /// headlines (where every word is capitalised and capitals say nothing).
    capitalised: DayCounts<String>,
    lower_case: DayCounts<String>,
}

impl std::fmt::Debug for Featuriser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Featuriser")
            .field("weights", &self.weights)
            .finish()
    }
}

impl Featuriser {
    pub(crate) fn new(weights: FeatureWeights) -> Featuriser {
        Featuriser {
            stemmer: Stemmer::create(Algorithm::English),
            weights,
            capitalised: DayCounts::default(),
            lower_case: DayCounts::default(),
        }
    }

    /// The id of a term: a stable hash (FNV-1a folded to 32 bits).
    pub(crate) fn term_id(term: &str) -> TermId {
        let h = crate::fnv::hash(term.as_bytes());
        (h ^ (h >> 32)) as TermId
    }

    /// The stemmed content words of `s`, with whether each looks like a name (capitalised
    /// inside the text, or all capitals) and its lower-case form.
    fn tokens(&self, s: &str, names: bool) -> Vec<(String, bool, String)> {
        let mut out = Vec::new();
        for (i, raw) in s
            .split(|c: char| {
                !(c.is_alphanumeric() || c == '\'' || c == '’' || c == '.' || c == '$')
            })
            .filter(|w| !w.is_empty())
            .enumerate()
        {
            let raw = raw.trim_matches(|c: char| c == '\'' || c == '’' || c == '.');
            let raw = raw
                .strip_suffix("'s")
                .or_else(|| raw.strip_suffix("’s"))
                .unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            let lower = raw.to_lowercase().replace(['.', '\'', '’'], "");
            if lower.is_empty() || text::is_stop_word(&lower) {
                continue;
            }
            let is_number = lower.chars().any(|c| c.is_ascii_digit());
            if lower.chars().count() < 2 && !is_number {
                continue;
            }
            let letters: Vec<char> = raw.chars().filter(|c| c.is_alphabetic()).collect();
            let all_caps = letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase());
            let capitalised = raw.chars().next().is_some_and(char::is_uppercase);
            let name = names && (all_caps || (capitalised && i > 0));
            let stem = if is_number {
                lower.clone()
            } else {
                self.stemmer.stem(&lower).into_owned()
            };
            out.push((stem, name, lower));
        }
        out
    }

    /// Whether the stream has mostly seen this word capitalised inside sentence-case headlines.
    fn known_name(&self, lower: &str) -> bool {
        let (caps, low) = (self.capitalised.get(lower), self.lower_case.get(lower));
        caps >= 2 && caps > 2 * low
    }

    /// The term-frequency vector of an article (title and the start of its summary), and the
    /// terms of its title that are names; its title's capitals count as name evidence on its
    /// publication `day`.
    pub(crate) fn vectorise(
        &mut self,
        title: &str,
        summary: &str,
        day: i64,
    ) -> (Vector, Vec<TermId>) {
        let w = self.weights;
        let mut weights: HashMap<TermId, f32> = HashMap::default();
        // Headlines written in Title Case make every word look like a name: then no boost.
        let title_tokens = self.tokens(title, true);
        let names = title_tokens.iter().filter(|t| t.1).count();
        let title_case = title_tokens.len() >= 4 && names * 10 >= title_tokens.len() * 7;
        if !title_case {
            for (_, name, lower) in title_tokens.iter().skip(1) {
                let seen = if *name {
                    &mut self.capitalised
                } else {
                    &mut self.lower_case
                };
                seen.add(day, lower.clone());
            }
        }
        // A headline alone needs its names to tell events apart; with a summary, the summary
        // names the subjects again, and boosting the title's names as well would make a
        // topic's protagonist ("McConnell") outweigh what happened.
        let headline_only = summary
            .split_whitespace()
            .nth(HEADLINE_ONLY_WORDS)
            .is_none();
        let mut prev: Option<String> = None;
        let mut names = Vec::new();
        for (stem, name, lower) in &title_tokens {
            let is_name = if title_case {
                self.known_name(lower)
            } else {
                *name
            };
            let boost = if is_name && headline_only {
                w.name_boost
            } else {
                1.0
            };
            let id = Self::term_id(stem);
            if is_name {
                names.push(id);
            }
            *weights.entry(id).or_default() += w.title_word * boost;
            if let Some(p) = prev.take() {
                let id = Self::term_id(&format!("{p} {stem}"));
                *weights.entry(id).or_default() += w.bigram;
            }
            prev = Some(stem.clone());
        }
        if !summary.is_empty() {
            let head: String = summary
                .split_whitespace()
                .take(w.summary_words)
                .collect::<Vec<_>>()
                .join(" ");
            for (stem, _, _) in self.tokens(&head, false) {
                let id = Self::term_id(&stem);
                *weights.entry(id).or_default() += w.summary_word;
            }
        }
        let mut v: Vector = weights.into_iter().collect();
        v.sort_unstable_by_key(|(t, _)| *t);
        names.sort_unstable();
        names.dedup();
        (v, names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_give_stems_bigrams_and_boosted_names() {
        let mut f = Featuriser::new(FeatureWeights::default());
        let (a, names) = f.vectorise("Bitcoin exchange Mt. Gox files for bankruptcy", "", 0);
        assert!(
            names.contains(&Featuriser::term_id("gox"))
                && !names.contains(&Featuriser::term_id("bankruptci"))
        );
        let (b, _) = f.vectorise("Mt. Gox seeks bankruptcy protection", "", 0);
        let shared: Vec<_> = a
            .iter()
            .filter(|(t, _)| b.iter().any(|(u, _)| u == t))
            .collect();
        // "mt", "gox", "bankruptci" and the bigram "mt gox"
        assert_eq!(shared.len(), 4, "{a:?} {b:?}");
        let gox = Featuriser::term_id("gox");
        let weight = a.iter().find(|(t, _)| *t == gox).unwrap().1;
        assert!(weight > 2.0, "a name inside a title is boosted: {weight}");
        let (c, _) = f.vectorise("Files", "", 0);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, Featuriser::term_id("file"), "stemmed");
    }
}

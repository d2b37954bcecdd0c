//! A story's title and key points, extracted from its coverage.
//!
//! Candidates are the articles' headlines and the sentences of their summaries. Each is
//! scored by centrality: how much of its vocabulary the rest of the coverage shares (a
//! headline that many outlets echo is central; an outlet's aside is not). The title is the
//! most central headline, with any " - Outlet" suffix removed. Key points are chosen greedily
//! by maximal marginal relevance: central, not a near-repeat of a point already chosen, and
//! favouring outlets and sides not yet heard from. Each is a whole sentence of at most
//! [`MAX_POINT_CHARS`] characters; a story gets 3 to 5 of them when its coverage has that many.

// Deterministic hashing: sums over a candidate's terms, and so ties, come out the same on
// every run (the standard library's hasher is seeded at random).
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::model::{Article, Side};
use crate::outlets::OutletDirectory;
use crate::text;

pub(crate) const MAX_POINT_CHARS: usize = 200;
pub(crate) const MAX_POINTS: usize = 5;
pub(crate) const MIN_POINTS: usize = 3;
/// Longest title, in characters (Discord's embed title limit).
pub(crate) const MAX_TITLE_CHARS: usize = 256;

/// Title and key points of a story.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub title: String,
    pub key_points: Vec<String>,
}

/// Tuning of the summariser; the defaults are the shipped configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryParams {
    /// Words the key points aim at in all (besides the title): about an editor's summary.
    pub word_budget: usize,
    /// Sentences read per article (news puts the facts first).
    pub sentences_per_article: usize,
    /// Bonus of an article's opening sentences: `1 + lead_weight / (1 + position)`.
    pub lead_weight: f64,
    /// How much overlap with points already chosen counts against a candidate.
    pub redundancy_weight: f64,
}

impl Default for SummaryParams {
    fn default() -> Self {
        SummaryParams {
            word_budget: 50,
            sentences_per_article: 10,
            lead_weight: 0.3,
            redundancy_weight: 0.4,
        }
    }
}

struct Candidate {
    text: String,
    terms: HashSet<String>,
    words: usize,
    outlet: usize,
    side: Option<Side>,
    headline: bool,
    /// Sentence position in its article (0 for the headline).
    position: usize,
    centrality: f64,
}

/// Summarises a story's articles with the shipped tuning.
pub(crate) fn summarise(articles: &[Article], outlets: &OutletDirectory) -> Summary {
    summarise_with(articles, outlets, &SummaryParams::default())
}

/// Summarises a story's articles.
pub fn summarise_with(
    articles: &[Article],
    outlets: &OutletDirectory,
    params: &SummaryParams,
) -> Summary {
    let (mut candidates, article_df) = candidates(articles, outlets, params);
    if candidates.is_empty() {
        let title = articles
            .first()
            .map(|a| text::truncate_chars(&a.title, MAX_TITLE_CHARS))
            .unwrap_or_default();
        return Summary {
            title,
            key_points: Vec::new(),
        };
    }
    score_centrality(&mut candidates, &article_df, articles.len(), params);
    let title_index = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.headline)
        .max_by(|(ia, a), (ib, b)| a.centrality.total_cmp(&b.centrality).then(ib.cmp(ia)))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let title = text::truncate_chars(&candidates[title_index].text, MAX_TITLE_CHARS);
    let key_points = choose_points(&candidates, title_index, params)
        .into_iter()
        .map(|i| as_sentence(&candidates[i].text))
        .collect();
    Summary { title, key_points }
}

/// Every headline and leading summary sentence of the coverage, once each, with its stemmed
/// terms; and in how many articles each term appears.
fn candidates(
    articles: &[Article],
    outlets: &OutletDirectory,
    params: &SummaryParams,
) -> (Vec<Candidate>, HashMap<String, usize>) {
    let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
    // A story's articles repeat their words: stem each distinct word once.
    let mut stem_cache: HashMap<String, String> = HashMap::default();
    let mut stems = |s: &str| -> HashSet<String> {
        text::content_words(s)
            .map(|w| {
                stem_cache
                    .entry(w)
                    .or_insert_with_key(|w| stemmer.stem(w).into_owned())
                    .clone()
            })
            .collect()
    };
    let mut outlet_ids: HashMap<&str, usize> = HashMap::default();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut seen_texts: HashSet<String> = HashSet::default();
    // Which articles mention each term: facts several outlets report are central.
    let mut article_df: HashMap<String, usize> = HashMap::default();
    for a in articles {
        let next = outlet_ids.len();
        let outlet = *outlet_ids.entry(a.outlet.as_str()).or_insert(next);
        let side = outlets
            .rating(&a.outlet, &a.domain)
            .map(super::super::model::Bias::side);
        let headline = strip_outlet_suffix(&a.title, &a.outlet);
        let mut in_article: HashSet<String> = HashSet::default();
        let sentences = text::sentences(&a.summary);
        let texts = std::iter::once((headline, true)).chain(
            sentences
                .into_iter()
                .take(params.sentences_per_article)
                .map(|s| (s, false)),
        );
        for (position, (text, is_headline)) in texts.enumerate() {
            let terms = stems(&text);
            in_article.extend(terms.iter().cloned());
            if terms.is_empty() || !seen_texts.insert(text.to_lowercase()) {
                continue;
            }
            candidates.push(Candidate {
                words: text.split_whitespace().count(),
                text,
                terms,
                outlet,
                side,
                headline: is_headline,
                position,
                centrality: 0.0,
            });
        }
        for t in in_article {
            *article_df.entry(t).or_default() += 1;
        }
    }
    (candidates, article_df)
}

/// Centrality: the share of the other articles that mention each of a candidate's terms,
/// summed, damped by length; with a single article, how often the story repeats the term.
fn score_centrality(
    candidates: &mut [Candidate],
    article_df: &HashMap<String, usize>,
    n_articles: usize,
    params: &SummaryParams,
) {
    let mut candidate_df: HashMap<String, usize> = HashMap::default();
    for c in candidates.iter() {
        for t in &c.terms {
            *candidate_df.entry(t.clone()).or_default() += 1;
        }
    }
    let n_candidates = candidates.len() as f64;
    for c in candidates.iter_mut() {
        let shared: f64 = c
            .terms
            .iter()
            .map(|t| {
                if n_articles > 1 {
                    (article_df[t] as f64 - 1.0) / (n_articles as f64 - 1.0)
                } else {
                    (candidate_df[t] as f64 - 1.0) / n_candidates.max(2.0)
                }
            })
            .sum();
        let lead = 1.0 + params.lead_weight / (1.0 + c.position as f64);
        c.centrality = lead * shared / (c.terms.len() as f64 + 2.0).sqrt();
    }
}

/// Maximal marginal relevance over the candidates other than the title, within the word
/// budget: central, not a near-repeat, favouring outlets and sides not yet heard from.
fn choose_points(
    candidates: &[Candidate],
    title_index: usize,
    params: &SummaryParams,
) -> Vec<usize> {
    let max_c = candidates
        .iter()
        .map(|c| c.centrality)
        .fold(f64::MIN, f64::max)
        .max(1e-9);
    let mut chosen: Vec<usize> = Vec::new();
    let mut words = 0;
    let mut used_outlets: HashSet<usize> = HashSet::default();
    let mut used_sides: HashSet<Option<Side>> = HashSet::default();
    let eligible = |c: &Candidate| c.text.chars().count() <= MAX_POINT_CHARS && c.terms.len() >= 2;
    while chosen.len() < MAX_POINTS && (chosen.len() < MIN_POINTS || words < params.word_budget) {
        let best = candidates
            .iter()
            .enumerate()
            .filter(|(i, c)| !chosen.contains(i) && eligible(c))
            .map(|(i, c)| {
                let redundancy = chosen
                    .iter()
                    .chain(std::iter::once(&title_index))
                    .map(|&j| jaccard(&c.terms, &candidates[j].terms))
                    .fold(0.0, f64::max);
                let mut score = c.centrality / max_c - params.redundancy_weight * redundancy;
                if !used_outlets.contains(&c.outlet) {
                    score += 0.08;
                }
                if c.side.is_some() && !used_sides.contains(&c.side) {
                    score += 0.08;
                }
                (i, score, redundancy)
            })
            .filter(|&(_, _, redundancy)| redundancy < 0.6)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((i, _, _)) = best else { break };
        chosen.push(i);
        words += candidates[i].words;
        used_outlets.insert(candidates[i].outlet);
        used_sides.insert(candidates[i].side);
    }
    // Too few distinct points: the title sentence itself is a key point too.
    if chosen.len() < MIN_POINTS && eligible(&candidates[title_index]) {
        chosen.insert(0, title_index);
    }
    chosen
}

/// `"Talks resume - Reuters"` → `"Talks resume"`; also `|` and `:` separators.
pub(crate) fn strip_outlet_suffix(title: &str, outlet: &str) -> String {
    let key = crate::outlets::name_key(outlet);
    for sep in [" - ", " | ", " — ", " – ", ": "] {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let tail_key = crate::outlets::name_key(tail);
            if !head.trim().is_empty()
                && !tail_key.is_empty()
                && (tail_key == key || key.contains(&tail_key) || tail_key.contains(&key))
            {
                return head.trim().to_string();
            }
        }
    }
    title.trim().to_string()
}

/// Ends a headline-style point with a full stop so each point reads as a sentence.
fn as_sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with(['.', '!', '?', '"', '”', '…', '\'']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn article(outlet: &str, title: &str, summary: &str) -> Article {
        Article {
            url: format!("https://{outlet}.example/{}", title.len()),
            title: title.into(),
            summary: summary.into(),
            outlet: outlet.into(),
            domain: format!("{outlet}.example"),
            published: Utc::now(),
            fetched: Utc::now(),
        }
    }

    #[test]
    fn title_is_the_most_echoed_headline_without_outlet_suffix() {
        let dir = OutletDirectory::default();
        let arts = vec![
            article("a", "GM faces criminal probe over ignition recall - a", ""),
            article(
                "b",
                "Criminal probe opened into GM ignition switch recall",
                "",
            ),
            article("c", "GM recall: federal criminal probe launched", ""),
            article("d", "Five things to know about cars", ""),
        ];
        let s = summarise(&arts, &dir);
        assert!(
            s.title.contains("probe") && s.title.contains("GM"),
            "{}",
            s.title
        );
        assert!(!s.title.ends_with("- a"));
        assert!((1..=MAX_POINTS).contains(&s.key_points.len()));
        assert!(s
            .key_points
            .iter()
            .all(|p| p.chars().count() <= MAX_POINT_CHARS + 1));
        assert!(
            s.key_points.iter().all(|p| p.ends_with('.')),
            "{:?}",
            s.key_points
        );
    }

    #[test]
    fn summaries_give_three_to_five_distinct_points() {
        let dir = OutletDirectory::default();
        let arts = vec![
            article("a", "Senate passes budget deal", "The Senate passed the budget deal on Friday. The vote was 64 to 36. The bill now goes to the House."),
            article("b", "Budget deal clears the Senate", "Senators approved the budget deal after a long debate. House leaders expect a vote next week."),
            article("c", "Senate approves budget agreement", "The agreement funds the government through September. Critics say the deal adds to the deficit."),
        ];
        let s = summarise(&arts, &dir);
        assert!(
            (MIN_POINTS..=MAX_POINTS).contains(&s.key_points.len()),
            "{:?}",
            s.key_points
        );
        let unique: HashSet<_> = s.key_points.iter().collect();
        assert_eq!(unique.len(), s.key_points.len());
    }
}

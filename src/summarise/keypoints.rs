//! A story's title and key points, extracted from its coverage by cross-outlet agreement.
//!
//! - **Concepts**: the stemmed content words of the coverage and their adjacent pairs
//!   ("criminal probe"). A concept's weight is how many of the story's articles state it times
//!   its rarity in the news stream (inverse document frequency, from the clusterer): what
//!   several outlets report, and not every story says, is the news. A concept only one article
//!   has weighs nothing (one outlet's aside), unless the story has one article.
//! - **Title**: the cleaned headline (see [`super::headline`]) closest to the coverage as a
//!   whole and to the other headlines, slightly favouring short ones; a news headline before
//!   an opinion piece's.
//! - **Key points**: from the other headlines and the first sentences of each article, taken
//!   greedily by the weight of the concepts each adds that the title and the points before it
//!   do not cover, per word (damped), an article's first sentence (its lead) weighing more;
//!   never a near-repeat of a point taken (or a headline close to the title), nor the last
//!   piece of a text its feed cut off mid-sentence; until nothing new is left, five points,
//!   or the word budget (80 words with the title). So a story whose coverage states one fact
//!   gets few points, and each point adds something.
//!
//! Each point is a whole sentence of at most [`MAX_POINT_CHARS`] characters.

// Deterministic hashing: sums and ties come out the same on every run.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::headline;
use crate::model::Article;
use crate::text;

/// Longest key point, in characters.
pub(crate) const MAX_POINT_CHARS: usize = 300;
/// Most key points of a story.
pub(crate) const MAX_POINTS: usize = 5;
/// Longest title, in characters (Discord's embed title limit).
pub(crate) const MAX_TITLE_CHARS: usize = 256;

/// Title and key points of a story.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub title: String,
    pub key_points: Vec<String>,
}

/// Characters of an article's text (its page's, where it was read) that key points are
/// chosen from: news puts the facts first, and the lead keeps a big story's update cheap.
pub const ARTICLE_LEAD_CHARS: usize = 1_500;

/// Tuning of the summariser; the defaults are the shipped configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryParams {
    /// Words of the title and key points together, at most (an editor's summary is ~70).
    pub word_budget: usize,
    /// Sentences of each article that may become points (news puts the facts first).
    pub lead_sentences: usize,
    /// A candidate's gain is divided by its length in words to this power.
    pub length_exponent: f64,
    /// Cosine similarity above which a candidate repeats a point already taken.
    pub max_similarity: f64,
    /// Weight of a headline's agreement with the other headlines when choosing the title.
    pub echo_weight: f64,
    /// Penalty per word of a title candidate.
    pub title_word_penalty: f64,
    /// An article's first sentence (its lead, where news puts the facts) weighs this much
    /// more, over its gain.
    pub lead_bonus: f64,
}

impl Default for SummaryParams {
    fn default() -> Self {
        SummaryParams {
            word_budget: 80,
            lead_sentences: 3,
            length_exponent: 0.5,
            max_similarity: 0.5,
            echo_weight: 0.5,
            title_word_penalty: 0.02,
            lead_bonus: 2.0,
        }
    }
}

/// Interned stem index within one story.
type Stem = u32;
/// A concept: a stem, or an adjacent pair of stems (`NONE` as the second for a single stem).
type Concept = (Stem, Stem);
const NONE: Stem = Stem::MAX;
/// A sparse unit vector over stems, sorted by stem.
type Vector = Vec<(Stem, f64)>;

/// A headline or a sentence of the coverage.
struct Unit {
    text: String,
    stems: Vec<Stem>,
    words: usize,
    headline: bool,
    opinion: bool,
    /// Cut short by its feed: never a title or a point when a whole one exists.
    truncated: bool,
    /// The first sentence of its article.
    lead: bool,
}

impl Unit {
    fn concepts(&self) -> impl Iterator<Item = Concept> + '_ {
        let singles = self.stems.iter().map(|&s| (s, NONE));
        let pairs = self.stems.windows(2).map(|w| (w[0], w[1]));
        singles.chain(pairs)
    }
}

/// A story's coverage, read for summarising: its headlines, lead sentences and concepts.
/// Built without the stream's statistics ([`StoryText::read`]); give it the rarity of its
/// stems ([`StoryText::set_rarity`]), then [`StoryText::summarise`].
pub struct StoryText {
    /// Distinct stems, by interned index.
    stems: Vec<String>,
    /// Inverse document frequency per stem (1 until set).
    idf: Vec<f64>,
    /// One cleaned headline per article, in article order.
    headlines: Vec<Unit>,
    /// The lead sentences of every article.
    sentences: Vec<Unit>,
    /// Per article, its stems with counts (headline and every sentence).
    article_terms: Vec<HashMap<Stem, u32>>,
    /// In how many articles each concept appears.
    article_df: HashMap<Concept, u32>,
}

impl StoryText {
    /// Reads the articles of a story.
    pub fn read(articles: &[Article], params: &SummaryParams) -> StoryText {
        let mut reader = Reader::default();
        let mut story = StoryText {
            stems: Vec::new(),
            idf: Vec::new(),
            headlines: Vec::new(),
            sentences: Vec::new(),
            article_terms: Vec::new(),
            article_df: HashMap::default(),
        };
        for a in articles {
            let head = headline::clean(&a.title, &a.outlet, &a.url);
            let mut headline = reader.unit(head.text, true, head.opinion);
            headline.truncated = head.truncated;
            let mut terms: HashMap<Stem, u32> = HashMap::default();
            let mut concepts: HashSet<Concept> = headline.concepts().collect();
            for &s in &headline.stems {
                *terms.entry(s).or_default() += 1;
            }
            let sentences = text::sentences(&a.summary);
            let cut_short = !ends_whole(&a.summary);
            let last = sentences.len().saturating_sub(1);
            for (i, sentence) in sentences.into_iter().enumerate() {
                let mut unit = reader.unit(sentence, false, false);
                // A feed's description cut mid-sentence: its last piece is no point.
                unit.truncated = cut_short && i == last;
                unit.lead = i == 0;
                concepts.extend(unit.concepts());
                for &s in &unit.stems {
                    *terms.entry(s).or_default() += 1;
                }
                if i < params.lead_sentences {
                    story.sentences.push(unit);
                }
            }
            for c in concepts {
                *story.article_df.entry(c).or_default() += 1;
            }
            story.headlines.push(headline);
            story.article_terms.push(terms);
        }
        story.idf = vec![1.0; reader.stems.len()];
        story.stems = reader.stems;
        story
    }

    /// The distinct stems of the coverage.
    pub fn stems(&self) -> &[String] {
        &self.stems
    }

    /// Sets each stem's rarity in the stream (inverse document frequency, at least 0).
    pub fn set_rarity(&mut self, idf: impl Fn(&str) -> f64) {
        for (weight, stem) in self.idf.iter_mut().zip(&self.stems) {
            *weight = idf(stem).max(0.0);
        }
    }

    /// The title and key points.
    pub fn summarise(&self, params: &SummaryParams) -> Summary {
        let Some(title) = self.title(params) else {
            return Summary {
                title: String::new(),
                key_points: Vec::new(),
            };
        };
        let key_points = self
            .points(title, params)
            .into_iter()
            .map(|u| as_sentence(&u.text))
            .collect();
        Summary {
            title: text::truncate_chars(&self.headlines[title].text, MAX_TITLE_CHARS),
            key_points,
        }
    }

    /// The index of the headline that best represents the coverage.
    fn title(&self, params: &SummaryParams) -> Option<usize> {
        let vectors: Vec<Vector> = self.headlines.iter().map(|h| self.vector(h)).collect();
        let centroid = self.centroid();
        // Rank what may title a story: a whole news headline, then a cut one, then opinion.
        let rank = |h: &Unit| u8::from(h.opinion) * 2 + u8::from(h.truncated);
        let best_rank = self
            .headlines
            .iter()
            .filter(|h| !h.text.is_empty())
            .map(rank)
            .min()?;
        let score = |i: usize| {
            let echo: f64 = (0..vectors.len())
                .filter(|&j| j != i)
                .map(|j| dot(&vectors[i], &vectors[j]))
                .sum();
            dot(&vectors[i], &centroid) + params.echo_weight * echo
                - params.title_word_penalty * self.headlines[i].words as f64
        };
        (0..self.headlines.len())
            .filter(|&i| !self.headlines[i].text.is_empty())
            .filter(|&i| rank(&self.headlines[i]) == best_rank)
            .map(|i| (i, score(i)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i)
    }

    /// The key points, in the order they were chosen (most informative first).
    fn points(&self, title: usize, params: &SummaryParams) -> Vec<&Unit> {
        let title_unit = &self.headlines[title];
        let title_vector = self.vector(title_unit);
        let mut covered: HashSet<Concept> = title_unit.concepts().collect();
        let mut words_left = params.word_budget.saturating_sub(title_unit.words);
        let mut seen_texts: HashSet<String> = HashSet::default();
        seen_texts.insert(title_unit.text.to_lowercase());
        let candidates: Vec<(&Unit, Vector)> = self
            .headlines
            .iter()
            .chain(&self.sentences)
            .filter(|u| !u.opinion && !u.truncated && u.text.chars().count() <= MAX_POINT_CHARS)
            .filter(|u| seen_texts.insert(u.text.to_lowercase()))
            .map(|u| (u, self.vector(u)))
            .filter(|(u, v)| !(u.headline && dot(v, &title_vector) > params.max_similarity))
            .collect();
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < MAX_POINTS {
            let best = candidates
                .iter()
                .enumerate()
                .filter(|(i, (u, v))| {
                    !chosen.contains(i)
                        && u.words <= words_left
                        && chosen
                            .iter()
                            .all(|&j| dot(v, &candidates[j].1) <= params.max_similarity)
                })
                .map(|(i, (u, _))| {
                    let bonus = if u.lead { 1.0 + params.lead_bonus } else { 1.0 };
                    let gain = self.gain(u, &covered) * bonus;
                    (
                        i,
                        gain / (u.words.max(1) as f64).powf(params.length_exponent),
                    )
                })
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            let Some((i, score)) = best else { break };
            if score <= 0.0 {
                break;
            }
            let unit = candidates[i].0;
            covered.extend(unit.concepts());
            words_left -= unit.words;
            chosen.push(i);
        }
        if chosen.is_empty() {
            // Nothing several outlets agree on beyond the title: the story's most central
            // sentence (not a headline that rewords the title), if it has one.
            let centroid = self.centroid();
            return candidates
                .iter()
                .filter(|(u, _)| !u.headline && u.words <= words_left.max(40))
                .max_by(|a, b| dot(&a.1, &centroid).total_cmp(&dot(&b.1, &centroid)))
                .map(|(u, _)| vec![*u])
                .unwrap_or_default();
        }
        chosen.into_iter().map(|i| candidates[i].0).collect()
    }

    /// The weight of the concepts of `unit` not yet covered.
    fn gain(&self, unit: &Unit, covered: &HashSet<Concept>) -> f64 {
        let n = self.headlines.len() as u32;
        let mut seen: HashSet<Concept> = HashSet::default();
        unit.concepts()
            .filter(|c| !covered.contains(c) && seen.insert(*c))
            .map(|c| {
                let df = self.article_df.get(&c).copied().unwrap_or(0);
                if df < n.min(2) {
                    return 0.0;
                }
                let idf = if c.1 == NONE {
                    self.idf[c.0 as usize]
                } else {
                    (self.idf[c.0 as usize] + self.idf[c.1 as usize]) / 2.0
                };
                f64::from(df) * idf
            })
            .sum()
    }

    /// The unit TF-IDF vector of a headline or sentence.
    fn vector(&self, unit: &Unit) -> Vector {
        let mut counts: HashMap<Stem, u32> = HashMap::default();
        for &s in &unit.stems {
            *counts.entry(s).or_default() += 1;
        }
        self.weigh(&counts)
    }

    /// The mean of the articles' unit TF-IDF vectors.
    fn centroid(&self) -> Vector {
        let mut sum: HashMap<Stem, f64> = HashMap::default();
        for terms in &self.article_terms {
            for (s, w) in self.weigh(terms) {
                *sum.entry(s).or_default() += w;
            }
        }
        let n = self.article_terms.len().max(1) as f64;
        let mut v: Vector = sum.into_iter().map(|(s, w)| (s, w / n)).collect();
        v.sort_unstable_by_key(|(s, _)| *s);
        v
    }

    fn weigh(&self, counts: &HashMap<Stem, u32>) -> Vector {
        let mut v: Vector = counts
            .iter()
            .map(|(&s, &k)| (s, f64::from(k) * self.idf[s as usize]))
            .collect();
        v.sort_unstable_by_key(|(s, _)| *s);
        let norm = v.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (_, w) in &mut v {
                *w /= norm;
            }
        }
        v
    }
}

/// Stems words and interns the stems of one story.
struct Reader {
    stemmer: rust_stemmers::Stemmer,
    /// Word → interned stem (a story repeats its words: each is stemmed once).
    words: HashMap<String, Stem>,
    ids: HashMap<String, Stem>,
    stems: Vec<String>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            stemmer: rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English),
            words: HashMap::default(),
            ids: HashMap::default(),
            stems: Vec::new(),
        }
    }
}

impl Reader {
    fn unit(&mut self, text: String, headline: bool, opinion: bool) -> Unit {
        let stems = text::content_words(&text).map(|w| self.stem(w)).collect();
        Unit {
            words: text.split_whitespace().count(),
            text,
            stems,
            headline,
            opinion,
            truncated: false,
            lead: false,
        }
    }

    fn stem(&mut self, word: String) -> Stem {
        if let Some(&id) = self.words.get(&word) {
            return id;
        }
        let stem = self.stemmer.stem(&word).into_owned();
        let next = self.stems.len() as Stem;
        let id = *self.ids.entry(stem.clone()).or_insert(next);
        if id == next {
            self.stems.push(stem);
        }
        self.words.insert(word, id);
        id
    }
}

/// Whether a text ends where a sentence does (not cut off by its feed, nor with an ellipsis).
fn ends_whole(s: &str) -> bool {
    let s = s.trim_end();
    let s = s.trim_end_matches(['"', '”', '’', '\'', ')']).trim_end();
    s.ends_with(['.', '!', '?']) && !s.ends_with("...")
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

/// Dot product of two stem-sorted sparse vectors.
fn dot(a: &Vector, b: &Vector) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    /// Summarises with the shipped tuning and every word equally rare.
    fn summarise(articles: &[Article]) -> Summary {
        let params = SummaryParams::default();
        StoryText::read(articles, &params).summarise(&params)
    }

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
        let arts = vec![
            article("a", "GM faces criminal probe over ignition recall - a", ""),
            article(
                "b",
                "Criminal probe opened into GM ignition switch recall",
                "",
            ),
            article(
                "c",
                "UPDATE 2-GM recall: federal criminal probe launched",
                "",
            ),
            article("d", "Five things to know about cars", ""),
        ];
        let s = summarise(&arts);
        assert!(
            s.title.contains("probe") && s.title.contains("GM"),
            "{}",
            s.title
        );
        assert!(!s.title.ends_with("- a") && !s.title.starts_with("UPDATE"));
    }

    #[test]
    fn rewordings_of_one_fact_are_one_point() {
        let arts = vec![
            article("a", "Justice Department said to be probing GM recall", ""),
            article(
                "b",
                "Report: Feds open criminal probe of GM switch recall",
                "",
            ),
            article("c", "Prosecutors Probing GM Recall", ""),
            article("d", "GM recall criminal investigation", ""),
        ];
        let s = summarise(&arts);
        assert!(s.key_points.len() <= 1, "{:?}", s);
    }

    #[test]
    fn points_add_facts_in_sentences_within_limits() {
        let arts = vec![
            article("a", "Senate passes budget deal", "The Senate passed the budget deal on Friday by 64 votes to 36. The bill now goes to the House, where leaders expect a vote next week."),
            article("b", "Budget deal clears the Senate", "Senators approved the budget deal 64 to 36 after a long debate. House leaders expect a vote next week."),
            article("c", "Senate approves budget agreement", "The agreement funds the government through September. Critics say the deal adds to the deficit, and the House votes next week."),
        ];
        let s = summarise(&arts);
        assert!((1..=MAX_POINTS).contains(&s.key_points.len()), "{s:?}");
        assert!(s.key_points.iter().any(|p| p.contains("64")), "{s:?}");
        assert!(s.key_points.iter().any(|p| p.contains("House")), "{s:?}");
        let unique: HashSet<_> = s.key_points.iter().collect();
        assert_eq!(unique.len(), s.key_points.len());
        assert!(s
            .key_points
            .iter()
            .all(|p| p.ends_with('.') && p.chars().count() <= MAX_POINT_CHARS + 1));
    }

    #[test]
    fn a_news_headline_titles_the_story_before_an_opinion_piece() {
        let arts = vec![
            article(
                "a",
                "Opinion: The budget deal is a disgrace",
                "The budget deal passed.",
            ),
            article(
                "b",
                "Senate passes budget deal",
                "The budget deal passed the Senate.",
            ),
            article(
                "c",
                "The budget deal is a disgrace, say critics",
                "The budget deal passed.",
            ),
        ];
        let s = summarise(&arts);
        assert!(!s.title.contains("Opinion"), "{}", s.title);
        assert!(s.key_points.iter().all(|p| !p.contains("Opinion")), "{s:?}");
    }

    #[test]
    fn a_sentence_cut_off_by_its_feed_is_no_point_and_a_lead_comes_first() {
        let arts = vec![
            article(
                "a",
                "House votes to create Jan. 6 committee",
                "The House voted Wednesday to create a select committee to investigate the Jan. 6 attack on the Capitol. The panel will have 13 members and the power to subpoena witnesses, and",
            ),
            article(
                "b",
                "House approves select committee on Capitol riot",
                "House Democrats approved a select committee on the Jan. 6 Capitol attack, with 13 members named by the speaker. Republicans opposed the panel and the subpoena power it holds",
            ),
            article(
                "c",
                "Select committee on Jan. 6 attack wins House vote",
                "A select committee will investigate the Jan. 6 attack after a House vote on Wednesday.",
            ),
        ];
        let s = summarise(&arts);
        assert!(!s.key_points.is_empty(), "{s:?}");
        for p in &s.key_points {
            // Whole sentences only: no piece the feed cut off, none split after "Jan.".
            assert!(!p.ends_with("and.") && !p.contains("holds."), "{s:?}");
            assert!(!p.ends_with("Jan.") && !p.starts_with("6 "), "{s:?}");
        }
        // The first key point is an article's first sentence.
        let leads: Vec<String> = arts
            .iter()
            .map(|a| text::sentences(&a.summary)[0].clone())
            .collect();
        assert!(leads.contains(&s.key_points[0]), "{s:?}");
    }

    #[test]
    fn rarer_words_in_the_stream_weigh_more() {
        let arts = vec![
            article("a", "Mayor opens bridge", "The mayor opened the bridge on Monday. Traffic was heavy in the city. The toll is 5 dollars."),
            article("b", "City bridge opens", "The new bridge opened Monday. Traffic was heavy in the city. A toll of 5 dollars applies."),
        ];
        let params = SummaryParams::default();
        let mut story = StoryText::read(&arts, &params);
        story.set_rarity(|s| {
            if matches!(s, "traffic" | "heavi" | "citi") {
                0.1
            } else {
                1.0
            }
        });
        let s = story.summarise(&params);
        assert!(s.key_points[0].contains("toll"), "{s:?}");
    }
}

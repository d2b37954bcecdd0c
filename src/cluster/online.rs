//! Incremental story clustering: each article, in publication order, joins the most similar
//! active story or starts a new one; a merge step joins stories that turn out to be one event.
//!
//! - **Similarity**: cosine between the article's TF-IDF vector and the story's centroid (the
//!   mean of its articles' TF-IDF vectors, pruned to its heaviest terms). Document frequencies
//!   are counted online over the articles of the stream's last days ([`super::horizon`]), so
//!   rarity reflects the stream itself.
//! - **Candidates**: stories sharing one of the article's rarest terms, through an inverted
//!   index over active stories; nothing scans the whole store.
//! - **Window**: a story is active while its newest article is at most `window` older than the
//!   incoming article's *publication* time, so a backlog clusters like a live stream.
//! - **Adaptive threshold**: a short text (a headline alone) shares fewer words with anything
//!   than a headline with a summary, and a big story's centroid is broader than a small one's:
//!   the threshold falls with both (see [`Params::threshold`]). One setting serves both kinds.
//! - **Merge step**: a story that grew is compared with the other active stories; if their
//!   centroids are closer than `merge_threshold`, the smaller joins the larger (whose id stays).
//!
//! - **Events, not topics**: a story takes articles for at most `max_span` after its first
//!   one. An article that would have joined a story past its span starts the next story of
//!   that topic ([`Placement::Continue`]), so an ongoing topic becomes a sequence of events,
//!   each with its own key points, linked in order.
//!
//! The same input in the same order gives the same stories.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::{DateTime, Duration, Utc};

use super::features::{FeatureWeights, Featuriser, TermId, Vector};
use super::horizon::{day, DayCounts};
use crate::model::StoryKey;

/// Tuning of the clusterer; the defaults are the shipped configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Stories older than this (newest article vs. incoming article) are closed.
    pub window: Duration,
    /// A story takes no article published more than this after its first article: the
    /// topic continues in a new story.
    pub max_span: Duration,
    /// Threshold for a long text (a headline with a summary).
    pub threshold_long: f32,
    /// Threshold for a headline alone.
    pub threshold_short: f32,
    /// How much the threshold falls per doubling of a story's size.
    pub size_relief: f32,
    /// The threshold never falls below this.
    pub threshold_floor: f32,
    /// Centroid similarity at which two stories of long texts are merged...
    pub merge_threshold: f32,
    /// ... and two stories of headlines alone.
    pub merge_threshold_short: f32,
    /// ... less this much per doubling of the smaller story's size (a big story's centroid
    /// is a steadier estimate, so a lower similarity already says "same event").
    pub merge_relief: f32,
    /// Terms kept in a centroid.
    pub centroid_terms: usize,
    /// Rarest terms of an article used to find candidate stories.
    pub probe_terms: usize,
    pub features: FeatureWeights,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            window: Duration::hours(72),
            max_span: Duration::hours(24),
            threshold_long: 0.28,
            threshold_short: 0.22,
            size_relief: 0.02,
            threshold_floor: 0.14,
            merge_threshold: 0.55,
            merge_threshold_short: 0.25,
            merge_relief: 0.04,
            centroid_terms: 120,
            probe_terms: 8,
            features: FeatureWeights::default(),
        }
    }
}

impl Params {
    /// How far before a time a rebuild must replay the stream to hold what a clusterer that
    /// saw it go by holds then: every article of a story still open (its window after a span),
    /// and the days its word counts cover.
    pub(crate) fn history(&self) -> Duration {
        let counts = Duration::days(super::horizon::RARITY_DAYS + 1);
        (self.window + self.max_span).max(counts)
    }

    /// How much of a headline-only text this is: 1 for ≤ 10 distinct terms (a headline),
    /// 0 for ≥ 40 (a headline with a summary), linear in between.
    pub(crate) fn shortness(terms: f32) -> f32 {
        1.0 - ((terms - 10.0) / 30.0).clamp(0.0, 1.0)
    }

    /// The similarity an article with `terms` distinct terms needs to join a story of `size`.
    /// Short texts need less (they share fewer words with anything), and so does a big story
    /// of short texts (its centroid is broad); long texts get no size relief, as their
    /// centroids are well estimated and a broad one would swallow neighbouring events.
    pub(crate) fn threshold(&self, terms: usize, size: usize) -> f32 {
        let short = Self::shortness(terms as f32);
        let base = self.threshold_long + short * (self.threshold_short - self.threshold_long);
        let relief = short * self.size_relief * (size.max(1) as f32).log2();
        (base - relief).max(self.threshold_floor)
    }

    /// The centroid similarity at which two stories merge, given their members' mean number
    /// of terms and their sizes. A small fragment of headlines merges into a much bigger story
    /// more easily (its own centroid is a noisy estimate); two big stories need the full
    /// threshold, since two well-estimated centroids that differ are two events.
    pub(crate) fn merge_threshold(&self, mean_terms: f32, smaller: usize, larger: usize) -> f32 {
        let short = Self::shortness(mean_terms);
        let base =
            self.merge_threshold + short * (self.merge_threshold_short - self.merge_threshold);
        let ratio = larger.max(1) as f32 / smaller.max(1) as f32;
        let relief = short * self.merge_relief * ratio.log2();
        (base - relief).max(self.threshold_floor)
    }
}

#[derive(Debug, Clone)]
struct Cluster {
    key: StoryKey,
    size: usize,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    /// Sum of member term-frequency vectors (each normalised), in fixed point: whole numbers
    /// add up the same in any order, so a story holds the same sum however it was assembled
    /// (article by article, or by a merge).
    sum: HashMap<TermId, u64>,
    /// Pruned, normalised centroid, sorted by term.
    centroid: Vector,
    /// Total distinct terms over members (for the mean text length).
    terms: usize,
    /// How many members' titles name each name term.
    names: HashMap<TermId, u32>,
    alive: bool,
}

/// The online clusterer.
#[derive(Debug)]
pub struct Clusterer {
    params: Params,
    features: Featuriser,
    /// Document frequency per term, and documents seen, over the last days of the stream.
    df: DayCounts<TermId>,
    docs: DayCounts<()>,
    clusters: Vec<Cluster>,
    by_key: HashMap<StoryKey, usize>,
    /// term -> clusters whose centroid has it (may hold stale entries; checked on use).
    index: HashMap<TermId, Vec<usize>>,
    /// Clusters that grew since the last merge pass.
    touched: HashSet<usize>,
    newest: Option<DateTime<Utc>>,
}

/// Where the clusterer puts an article.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    Join(StoryKey),
    New,
    /// A new story that continues this one, which has reached its maximum span.
    Continue(StoryKey),
}

/// A prepared article: its vector, computed once.
#[derive(Debug, Clone)]
pub struct Prepared {
    vector: Vector,
    /// Name terms of the title.
    names: Vec<TermId>,
    published: DateTime<Utc>,
}

impl Clusterer {
    pub fn new(params: Params) -> Clusterer {
        Clusterer {
            features: Featuriser::new(params.features),
            params,
            df: DayCounts::default(),
            docs: DayCounts::default(),
            clusters: Vec::new(),
            by_key: HashMap::default(),
            index: HashMap::default(),
            touched: HashSet::default(),
            newest: None,
        }
    }

    /// The clusterer's tuning.
    pub fn params(&self) -> Params {
        self.params
    }

    /// The newest publication time placed or added so far.
    pub fn newest(&self) -> Option<DateTime<Utc>> {
        self.newest
    }

    /// Whether the merge step runs after the article with this URL: after one article in
    /// [`MERGE_EVERY`] on average, chosen by its URL, so that where the merges fall in the
    /// stream does not depend on how the stream was cut into batches.
    pub fn merge_due(url: &str) -> bool {
        crate::fnv::hash(url.as_bytes()).is_multiple_of(MERGE_EVERY)
    }

    /// Forgets which stories grew, without merging: after a replay of stored stories, whose
    /// merges the store holds already.
    pub(crate) fn settle(&mut self) {
        self.touched.clear();
    }

    /// Vectorises an article and counts its terms' document frequencies.
    pub fn prepare(&mut self, title: &str, summary: &str, published: DateTime<Utc>) -> Prepared {
        let day = day(published);
        let (vector, names) = self.features.vectorise(title, summary, day);
        self.count(&vector, day);
        Prepared {
            vector,
            names,
            published,
        }
    }

    /// Counts an article's terms in the document frequencies without placing it (an article
    /// that joins a story by its upstream key still tells how common its words are).
    pub fn observe(&mut self, title: &str, summary: &str, published: DateTime<Utc>) {
        let day = day(published);
        let (vector, _) = self.features.vectorise(title, summary, day);
        self.count(&vector, day);
    }

    fn count(&mut self, vector: &Vector, day: i64) {
        for &(t, _) in vector {
            self.df.add(day, t);
        }
        self.docs.add(day, ());
    }

    /// How rare a stemmed word is in the stream so far: its inverse document frequency
    /// (1 for a word in every article, more for rarer ones; the most for one never seen).
    pub fn rarity(&self, stem: &str) -> f64 {
        f64::from(self.idf(Featuriser::term_id(stem)))
    }

    fn idf(&self, t: TermId) -> f32 {
        let df = self.df.get(&t) as f32;
        ((1.0 + self.docs.get(&()) as f32) / (1.0 + df)).ln() + 1.0
    }

    /// The article's TF-IDF vector, normalised.
    fn tfidf(&self, v: &Vector) -> Vector {
        let mut out: Vector = v.iter().map(|&(t, w)| (t, w * self.idf(t))).collect();
        normalise(&mut out);
        out
    }

    /// The best active story for a prepared article, if it is similar enough; or the story
    /// past its span that the article would have joined.
    pub fn place(&mut self, a: &Prepared) -> Placement {
        self.newest = Some(self.newest.map_or(a.published, |n| n.max(a.published)));
        let v = self.tfidf(&a.vector);
        // (cluster, similarity) of the best open story, and of the best one past its span.
        let mut best: [Option<(usize, f32)>; 2] = [None, None];
        for i in self.candidates(&v, a.published) {
            let c = &self.clusters[i];
            let sim = dot(&v, &c.centroid);
            // The size relief only helps a title that shares a name with the story (or has
            // none): a big story about one company's bankruptcy must not take in another's.
            let names_ok = a.names.is_empty()
                || a.names
                    .iter()
                    .any(|n| c.centroid.binary_search_by_key(n, |(t, _)| *t).is_ok());
            let size = if names_ok { c.size } else { 1 };
            let needed = self.params.threshold(a.vector.len(), size);
            let slot = &mut best[usize::from(a.published - c.first > self.params.max_span)];
            if sim >= needed && slot.is_none_or(|(bi, bs)| sim > bs || (sim == bs && i < bi)) {
                *slot = Some((i, sim));
            }
        }
        match best {
            [Some((i, _)), _] => Placement::Join(self.clusters[i].key),
            [None, Some((i, _))] => Placement::Continue(self.clusters[i].key),
            [None, None] => Placement::New,
        }
    }

    /// Active clusters sharing one of the vector's rarest terms.
    fn candidates(&self, v: &Vector, at: DateTime<Utc>) -> Vec<usize> {
        let mut probe: Vec<(TermId, f32)> = v.clone();
        // Highest weight first: the rarest, most specific terms. A term with a small share of
        // the weight cannot make a story similar enough on its own; common words would pull in
        // half the stories as candidates.
        probe.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        probe.truncate(self.params.probe_terms);
        let strongest = probe.first().map_or(0.0, |p| p.1);
        probe.retain(|p| p.1 >= strongest / 4.0);
        let mut seen = HashSet::default();
        let mut out = Vec::new();
        for (t, _) in probe {
            if let Some(list) = self.index.get(&t) {
                for &i in list.iter().rev() {
                    let c = &self.clusters[i];
                    if c.alive && at - c.last <= self.params.window && seen.insert(i) {
                        out.push(i);
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Adds a prepared article to the story `key`, creating the story if it is new.
    pub fn add(&mut self, key: StoryKey, a: &Prepared) {
        self.newest = Some(self.newest.map_or(a.published, |n| n.max(a.published)));
        let mut tf = a.vector.clone();
        normalise(&mut tf);
        let i = match self.by_key.get(&key) {
            Some(&i) => i,
            None => {
                self.clusters.push(Cluster {
                    key,
                    size: 0,
                    first: a.published,
                    last: a.published,
                    sum: HashMap::default(),
                    centroid: Vec::new(),
                    terms: 0,
                    names: HashMap::default(),
                    alive: true,
                });
                let i = self.clusters.len() - 1;
                self.by_key.insert(key, i);
                i
            }
        };
        let c = &mut self.clusters[i];
        c.size += 1;
        c.terms += a.vector.len();
        for &n in &a.names {
            *c.names.entry(n).or_default() += 1;
        }
        c.first = c.first.min(a.published);
        c.last = c.last.max(a.published);
        for &(t, w) in &tf {
            *c.sum.entry(t).or_default() += fixed(w);
        }
        self.refresh(i);
        self.touched.insert(i);
    }

    /// Recomputes a cluster's centroid from its sum and indexes its terms.
    /// The centroid weighs the members' summed term frequencies by the *current* rarity of
    /// each term, so stories formed early in a stream (when rarity was poorly known) are
    /// re-weighted as the stream goes on.
    fn refresh(&mut self, i: usize) {
        let limit = self.params.centroid_terms;
        let mut terms: Vec<(TermId, f32)> = self.clusters[i]
            .sum
            .iter()
            .map(|(&t, &w)| (t, unfixed(w) * self.idf(t)))
            .collect();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let c = &mut self.clusters[i];
        if terms.len() > limit * 2 {
            // Keep the sum bounded too: drop the long tail.
            terms.truncate(limit * 2);
            let keep: HashSet<TermId> = terms.iter().map(|(t, _)| *t).collect();
            c.sum.retain(|t, _| keep.contains(t));
        }
        terms.truncate(limit);
        let old: HashSet<TermId> = c.centroid.iter().map(|(t, _)| *t).collect();
        terms.sort_unstable_by_key(|(t, _)| *t);
        normalise(&mut terms);
        c.centroid = terms;
        let new_terms: Vec<TermId> = c
            .centroid
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| !old.contains(t))
            .collect();
        for t in new_terms {
            self.index.entry(t).or_default().push(i);
        }
    }

    /// Merge step: each story that grew since the last pass is compared with the other active
    /// stories; close pairs are merged, the smaller into the larger (ties: the older story).
    /// Returns the merges as (absorbed, into), in the order they happened.
    pub fn merge_pass(&mut self) -> Vec<(StoryKey, StoryKey)> {
        let mut touched: Vec<usize> = self.touched.drain().collect();
        touched.sort_unstable();
        let mut merges = Vec::new();
        for i in touched {
            if !self.clusters[i].alive {
                continue;
            }
            let last = self.clusters[i].last;
            let centroid = self.clusters[i].centroid.clone();
            let mut best: Option<(usize, f32)> = None;
            let cands = self.candidates(&centroid, last);
            for j in cands {
                if j == i {
                    continue;
                }
                let (a, b) = (&self.clusters[i], &self.clusters[j]);
                // Two events of a topic, further apart than a story may span, stay apart.
                if a.last.max(b.last) - a.first.min(b.first) > self.params.max_span {
                    continue;
                }
                let sim = dot(&centroid, &b.centroid);
                let mean_terms = (a.terms + b.terms) as f32 / (a.size + b.size).max(1) as f32;
                let relieved =
                    self.params
                        .merge_threshold(mean_terms, a.size.min(b.size), a.size.max(b.size));
                if sim < relieved || best.is_some_and(|(_, s)| sim <= s) {
                    continue;
                }
                // Two stories with names of their own, none in common, get no size relief.
                if !shares_main_name(a, b) && sim < self.params.merge_threshold(mean_terms, 1, 1) {
                    continue;
                }
                {
                    best = Some((j, sim));
                }
            }
            if let Some((j, _)) = best {
                let (small, big) = {
                    let (a, b) = (&self.clusters[i], &self.clusters[j]);
                    if (a.size, std::cmp::Reverse(i)) > (b.size, std::cmp::Reverse(j)) {
                        (j, i)
                    } else {
                        (i, j)
                    }
                };
                merges.push((self.clusters[small].key, self.clusters[big].key));
                self.absorb(small, big);
            }
        }
        merges
    }

    fn absorb(&mut self, small: usize, big: usize) {
        let taken = std::mem::take(&mut self.clusters[small].sum);
        let (size, first, last, key) = {
            let s = &mut self.clusters[small];
            s.alive = false;
            (s.size, s.first, s.last, s.key)
        };
        let terms = self.clusters[small].terms;
        let names = std::mem::take(&mut self.clusters[small].names);
        let b = &mut self.clusters[big];
        b.size += size;
        b.terms += terms;
        for (n, k) in names {
            *b.names.entry(n).or_default() += k;
        }
        b.first = b.first.min(first);
        b.last = b.last.max(last);
        for (t, w) in taken {
            *b.sum.entry(t).or_default() += w;
        }
        self.by_key.insert(key, big);
        self.refresh(big);
        // The merged story is compared again at the next pass.
        self.touched.insert(big);
    }

    /// Folds story `from` into `into` as a merge step did before (when replaying the store,
    /// after [`Self::settle`] at the article the step ran after). When `into` is not held (all its articles are older than the replay), `from` takes its
    /// key.
    pub(crate) fn replay_merge(&mut self, from: StoryKey, into: StoryKey) {
        let Some(&small) = self.by_key.get(&from) else {
            return;
        };
        match self.by_key.get(&into) {
            Some(&big) if big != small && self.clusters[big].alive => self.absorb(small, big),
            Some(_) => {}
            None => {
                self.clusters[small].key = into;
                self.by_key.insert(into, small);
            }
        }
    }

    /// Records that story `key` began at `first` (when its early articles are not replayed).
    pub(crate) fn began(&mut self, key: StoryKey, first: DateTime<Utc>) {
        if let Some(&i) = self.by_key.get(&key) {
            let c = &mut self.clusters[i];
            c.first = c.first.min(first);
        }
    }

    /// The story an absorbed key now belongs to (itself when never merged).
    pub fn resolve(&self, key: StoryKey) -> Option<StoryKey> {
        self.by_key.get(&key).map(|&i| self.clusters[i].key)
    }

    /// Drops closed stories (and their index entries) from memory; call after each batch.
    pub(crate) fn compact(&mut self) {
        let Some(newest) = self.newest else { return };
        let window = self.params.window;
        // Keep the open stories, renumbered.
        let mut remap: Vec<Option<usize>> = Vec::with_capacity(self.clusters.len());
        let mut kept = Vec::with_capacity(self.clusters.len());
        for c in std::mem::take(&mut self.clusters) {
            if c.alive && newest - c.last <= window {
                remap.push(Some(kept.len()));
                kept.push(c);
            } else {
                remap.push(None);
            }
        }
        self.clusters = kept;
        self.by_key.retain(|_, i| match remap[*i] {
            Some(n) => {
                *i = n;
                true
            }
            None => false,
        });
        self.index.retain(|_, list| {
            list.retain_mut(|i| match remap[*i] {
                Some(n) => {
                    *i = n;
                    true
                }
                None => false,
            });
            !list.is_empty()
        });
        self.touched = self.touched.iter().filter_map(|&i| remap[i]).collect();
    }
}

/// The fixed-point scale of a story's summed term weights (each weight is at most 1).
const FIXED_ONE: f32 = (1u32 << 24) as f32;

fn fixed(w: f32) -> u64 {
    (w * FIXED_ONE).round() as u64
}

fn unfixed(w: u64) -> f32 {
    w as f32 / FIXED_ONE
}

/// The merge step runs after one article in this many (see [`Clusterer::merge_due`]).
const MERGE_EVERY: u64 = 50;

/// The names that at least a fifth of a story's titles carry.
fn main_names(c: &Cluster) -> impl Iterator<Item = TermId> + '_ {
    let min = (c.size as u32 / 5).max(1);
    c.names
        .iter()
        .filter(move |(_, &k)| k >= min)
        .map(|(&t, _)| t)
}

/// Whether two stories share a main name, or either has none (nothing to tell them apart).
fn shares_main_name(a: &Cluster, b: &Cluster) -> bool {
    let a_names: HashSet<TermId> = main_names(a).collect();
    let mut b_names = main_names(b).peekable();
    if a_names.is_empty() || b_names.peek().is_none() {
        return true;
    }
    b_names.any(|n| a_names.contains(&n))
}

fn normalise(v: &mut Vector) {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in v.iter_mut() {
            *w /= norm;
        }
    }
}

/// Dot product of two term-sorted sparse vectors.
fn dot(a: &Vector, b: &Vector) -> f32 {
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
    use chrono::TimeZone;

    fn run(titles: &[&str]) -> Vec<StoryKey> {
        let mut c = Clusterer::new(Params::default());
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let mut next = 0;
        titles
            .iter()
            .enumerate()
            .map(|(i, title)| {
                let p = c.prepare(title, "", t0 + Duration::minutes(i as i64));
                let key = match c.place(&p) {
                    Placement::Join(k) => k,
                    Placement::New | Placement::Continue(_) => {
                        next += 1;
                        StoryKey(next)
                    }
                };
                c.add(key, &p);
                key
            })
            .collect()
    }

    #[test]
    fn same_event_joins_and_different_events_split() {
        let keys = run(&[
            "Mt. Gox files for bankruptcy protection in Japan",
            "GM faces criminal probe over ignition switch recall",
            "Bitcoin exchange Mt. Gox seeks bankruptcy protection",
            "Justice Department opens criminal probe into GM recall",
            "Mt. Gox bankruptcy: what bitcoin owners need to know",
        ]);
        assert_eq!(keys[0], keys[2]);
        assert_eq!(keys[0], keys[4]);
        assert_eq!(keys[1], keys[3]);
        assert_ne!(keys[0], keys[1]);
    }

    #[test]
    fn the_window_follows_publication_time() {
        let mut c = Clusterer::new(Params::default());
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let a = c.prepare("Mt. Gox files for bankruptcy protection", "", t0);
        c.add(StoryKey(1), &a);
        let b = c.prepare(
            "Mt. Gox files for bankruptcy protection again",
            "",
            t0 + Duration::days(30),
        );
        assert_eq!(
            c.place(&b),
            Placement::New,
            "a month later is another story"
        );
        let b = c.prepare(
            "Mt. Gox files for bankruptcy protection again",
            "",
            t0 + Duration::hours(5),
        );
        assert_eq!(c.place(&b), Placement::Join(StoryKey(1)));
    }

    #[test]
    fn a_topic_past_the_maximum_span_continues_in_a_new_story() {
        let mut c = Clusterer::new(Params::default());
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        // Daily coverage keeps the story inside the window for a week...
        for day in 0..4 {
            let a = c.prepare(
                "Peace talks in Geneva enter new round",
                "",
                t0 + Duration::days(day),
            );
            c.add(StoryKey(1), &a);
        }
        let late = c.prepare(
            "Peace talks in Geneva enter new round",
            "",
            t0 + Duration::days(5),
        );
        // ... but past its span an article starts the next story of the topic.
        assert_eq!(c.place(&late), Placement::Continue(StoryKey(1)));
        c.add(StoryKey(2), &late);
        let later = c.prepare(
            "Peace talks in Geneva enter new round",
            "",
            t0 + Duration::days(6),
        );
        assert_eq!(c.place(&later), Placement::Join(StoryKey(2)));
        // And the merge step does not fold the two events back together.
        assert!(c.merge_pass().is_empty());
    }

    #[test]
    fn thresholds_fall_with_story_size_and_rise_with_text_length() {
        let p = Params::default();
        assert!(p.threshold(8, 1) < p.threshold(60, 1));
        assert!(p.threshold(8, 200) < p.threshold(8, 2));
        assert!(p.threshold(8, 1_000_000) >= p.threshold_floor);
    }
}

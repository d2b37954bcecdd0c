//! Key points quality on NeuS validation (307 stories, three articles each, from left, center
//! and right outlets) against the AllSides editors' reference (a neutral headline and a ~70
//! word summary): ROUGE-1, ROUGE-2 and ROUGE-L F1, with stemming.
//!
//! Scored text: the story title then its key points, joined (what a digest shows first), and
//! the key points alone. Beside it, two baselines at their own lengths:
//! - **centroid**: IDF from NeuS train; the story's centroid is the mean of its articles' unit
//!   TF-IDF vectors; the headline closest to it first, then body sentences by cosine to it,
//!   greedily, skipping one within 0.5 cosine of a sentence taken, while they fit in 75 words;
//!   the sentences in article and position order.
//! - **lead**: the first sentence of each article.
//!
//! Storybot's word rarity comes from its clusterer, as in production: here the clusterer has
//! seen the NeuS train and validation articles go by (the stream a running bot would see).
//! `cargo bench --bench keypoints_quality` (`-- --sweep` shows the neighbouring settings;
//! `-- --llm URL MODEL` scores a language model's checked key points the same way, with the
//! key, if the server needs one, in `STORYBOT_LLM_KEY`; a story whose answer fails keeps its
//! extractive points, and the count is printed).
//!
//! ROUGE here: lower-case, non-alphanumerics as spaces, Snowball English stemming (the Porter
//! family; the reference scores used the original Porter stemmer), F1 per story, averaged.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::Utc;
use rust_stemmers::{Algorithm, Stemmer};
use storybot::cluster::{Clusterer, Params};
use storybot::model::Article;
use storybot::summarise::keypoints::{StoryText, SummaryParams, ARTICLE_LEAD_CHARS};

fn tokens(stemmer: &Stemmer, s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stemmer.stem(w).into_owned())
        .collect()
}

fn ngrams(t: &[String], n: usize) -> HashMap<Vec<String>, usize> {
    let mut m = HashMap::new();
    if t.len() >= n {
        for w in t.windows(n) {
            *m.entry(w.to_vec()).or_insert(0) += 1;
        }
    }
    m
}

fn f1(overlap: f64, cand: f64, refr: f64) -> f64 {
    if overlap == 0.0 {
        return 0.0;
    }
    let p = overlap / cand;
    let r = overlap / refr;
    2.0 * p * r / (p + r)
}

fn rouge_n(c: &[String], r: &[String], n: usize) -> f64 {
    let (cn, rn) = (ngrams(c, n), ngrams(r, n));
    let overlap: usize = cn
        .iter()
        .map(|(g, k)| (*k).min(*rn.get(g).unwrap_or(&0)))
        .sum();
    f1(
        overlap as f64,
        cn.values().sum::<usize>() as f64,
        rn.values().sum::<usize>() as f64,
    )
}

fn rouge_l(c: &[String], r: &[String]) -> f64 {
    let mut dp = vec![vec![0u32; r.len() + 1]; c.len() + 1];
    for i in 1..=c.len() {
        for j in 1..=r.len() {
            dp[i][j] = if c[i - 1] == r[j - 1] {
                dp[i - 1][j - 1] + 1
            } else {
                dp[i - 1][j].max(dp[i][j - 1])
            };
        }
    }
    f1(
        f64::from(dp[c.len()][r.len()]),
        c.len() as f64,
        r.len() as f64,
    )
}

/// (title, article text) per source article of a NeuS line.
fn articles(line: &str) -> Vec<(String, String)> {
    line.split("[SEP]")
        .filter_map(|part| {
            let rest = part.trim().strip_prefix("TITLE=>")?;
            let (t, b) = rest.split_once("ARTICLE=>").unwrap_or((rest, ""));
            Some((t.trim().to_string(), b.trim().to_string()))
        })
        .collect()
}

fn reference(line: &str) -> String {
    line.replace("TITLE=>", "").replace("ARTICLE=>", " ")
}

#[derive(Default)]
struct Totals {
    r1: f64,
    r2: f64,
    rl: f64,
    words: f64,
}

impl Totals {
    fn add(&mut self, stemmer: &Stemmer, cand: &str, refr: &str) {
        let (c, r) = (tokens(stemmer, cand), tokens(stemmer, refr));
        self.r1 += rouge_n(&c, &r, 1);
        self.r2 += rouge_n(&c, &r, 2);
        self.rl += rouge_l(&c, &r);
        self.words += c.len() as f64;
    }
    fn print(&self, name: &str, n: f64) {
        println!(
            "{name:<34} R1 {:.1}  R2 {:.1}  RL {:.1}  ({:.0} words)",
            100.0 * self.r1 / n,
            100.0 * self.r2 / n,
            100.0 * self.rl / n,
            self.words / n
        );
    }
}

/// Term weights learnt from a set of documents: inverse document frequency.
struct Idf {
    docs: f64,
    df: HashMap<String, f64>,
}

impl Idf {
    fn learn<'a>(stemmer: &Stemmer, texts: impl Iterator<Item = &'a str>) -> Idf {
        let mut df: HashMap<String, f64> = HashMap::new();
        let mut docs = 0.0;
        for t in texts {
            let distinct: std::collections::HashSet<String> =
                common::content_stems(stemmer, t).into_iter().collect();
            for w in distinct {
                *df.entry(w).or_default() += 1.0;
            }
            docs += 1.0;
        }
        Idf { docs, df }
    }

    fn weight(&self, w: &str) -> f64 {
        ((1.0 + self.docs) / (1.0 + self.df.get(w).copied().unwrap_or(0.0))).ln() + 1.0
    }

    /// The unit TF-IDF vector of a text.
    fn vector(&self, stemmer: &Stemmer, s: &str) -> HashMap<String, f64> {
        let mut v: HashMap<String, f64> = HashMap::new();
        for w in common::content_stems(stemmer, s) {
            *v.entry(w).or_default() += 1.0;
        }
        for (w, x) in v.iter_mut() {
            *x *= self.weight(w);
        }
        let norm = v.values().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        v.values_mut().for_each(|x| *x /= norm);
        v
    }
}

fn cosine(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f64 {
    a.iter().map(|(w, x)| x * b.get(w).unwrap_or(&0.0)).sum()
}

/// A body sentence: (article, position, text, vector, cosine to the centroid).
type Scored = (usize, usize, String, HashMap<String, f64>, f64);

/// The centroid baseline (see the top of this file).
fn centroid_summary(stemmer: &Stemmer, idf: &Idf, arts: &[(String, String)]) -> String {
    let mut centroid: HashMap<String, f64> = HashMap::new();
    for (t, b) in arts {
        for (w, x) in idf.vector(stemmer, &format!("{t} {b}")) {
            *centroid.entry(w).or_default() += x / arts.len() as f64;
        }
    }
    let headline = arts
        .iter()
        .map(|(t, _)| (t, cosine(&idf.vector(stemmer, t), &centroid)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(t, _)| t.clone())
        .unwrap_or_default();
    let mut words = headline.split_whitespace().count();
    // (article, position, text, vector, score)
    let mut scored: Vec<Scored> = Vec::new();
    for (i, (_, body)) in arts.iter().enumerate() {
        for (j, s) in common::sentences(body).into_iter().enumerate() {
            let v = idf.vector(stemmer, &s);
            let score = cosine(&v, &centroid);
            scored.push((i, j, s, v, score));
        }
    }
    scored.sort_by(|a, b| b.4.total_cmp(&a.4));
    let mut taken: Vec<usize> = Vec::new();
    for k in 0..scored.len() {
        let n = scored[k].2.split_whitespace().count();
        let repeats = taken
            .iter()
            .any(|&t| cosine(&scored[k].3, &scored[t].3) > 0.5);
        if words + n <= 75 && !repeats {
            taken.push(k);
            words += n;
        }
    }
    taken.sort_by_key(|&k| (scored[k].0, scored[k].1));
    let mut out = headline;
    for k in taken {
        out.push(' ');
        out.push_str(&scored[k].2);
    }
    out
}

/// The lead baseline: the first sentence of each article.
fn lead_summary(arts: &[(String, String)]) -> String {
    arts.iter()
        .filter_map(|(_, b)| common::sentences(b).into_iter().next())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the benchmark reads: NeuS train (for IDF and the stream) and validation.
struct Data {
    train: String,
    val: String,
    targets: String,
}

/// A clusterer that has seen every NeuS article go by, for the words' rarity.
fn stream(data: &Data) -> Clusterer {
    let mut clusterer = Clusterer::new(Params::default());
    // One day: the stream's word counts hold all of it.
    let now = Utc::now();
    for line in data.train.lines().chain(data.val.lines()) {
        for (title, body) in articles(line) {
            clusterer.observe(&title, &body, now);
        }
    }
    clusterer
}

/// The articles of a NeuS line as storybot stores them (story `n`, one outlet per article),
/// each text cut to its first `cut` characters (at a sentence end where one is near).
fn story_articles(line: &str, n: f64, cut: usize) -> Vec<Article> {
    let now = Utc::now();
    cut_articles(articles(line), cut)
        .into_iter()
        .enumerate()
        .map(|(i, (title, body))| Article {
            url: format!("https://outlet{i}.example/{n}"),
            title,
            summary: body,
            outlet: format!("Outlet {i}"),
            domain: format!("outlet{i}.example"),
            published: now,
            fetched: now,
        })
        .collect()
}

/// Each article's text cut as a feed's description is (`usize::MAX`: whole).
fn cut_articles(arts: Vec<(String, String)>, cut: usize) -> Vec<(String, String)> {
    arts.into_iter()
        .map(|(t, b)| (t, storybot::text::lead(&b, cut).to_string()))
        .collect()
}

/// Ours with `params` on texts cut to `cut` characters: (title + key points, key points
/// alone).
fn ours(
    data: &Data,
    clusterer: &Clusterer,
    params: &SummaryParams,
    cut: usize,
) -> (Totals, Totals, f64) {
    let stemmer = Stemmer::create(Algorithm::English);
    let (mut full, mut points) = (Totals::default(), Totals::default());
    let mut n = 0.0;
    for (line, target) in data.val.lines().zip(data.targets.lines()) {
        let arts = story_articles(line, n, cut);
        let mut text = StoryText::read(&arts, params);
        text.set_rarity(|stem| clusterer.rarity(stem));
        let summary = text.summarise(params);
        let refr = reference(target);
        let joined = format!("{} {}", summary.title, summary.key_points.join(" "));
        full.add(&stemmer, &joined, &refr);
        points.add(&stemmer, &summary.key_points.join(" "), &refr);
        n += 1.0;
    }
    (full, points, n)
}

/// A language model's checked key points (extractive where its answer fails), scored.
fn written(data: &Data, clusterer: &Clusterer, url: &str, model: &str) -> anyhow::Result<()> {
    let settings = storybot::config::LlmSettings {
        base_url: url.trim_end_matches('/').to_string(),
        model: model.to_string(),
        api_key_env: std::env::var("STORYBOT_LLM_KEY")
            .is_ok()
            .then(|| "STORYBOT_LLM_KEY".to_string()),
        timeout: std::time::Duration::from_secs(120),
        max_concurrent: 1,
        max_requests_per_hour: 100_000,
        min_sources: 1,
        resummarise_growth_percent: 50,
    };
    let client = storybot::llm::Client::new(&settings)?;
    // The check's ordinary words, learnt from the stream as the running bot learns them.
    let grounding = storybot::summarise::grounding::Grounding::learn(data.train.lines());
    let outlets = storybot::outlets::OutletDirectory::load(&[])?;
    let runtime = tokio::runtime::Runtime::new()?;
    let stemmer = Stemmer::create(Algorithm::English);
    let params = SummaryParams::default();
    let (mut full, mut fallbacks, mut dropped, mut n) = (Totals::default(), 0, 0, 0.0);
    for (line, target) in data.val.lines().zip(data.targets.lines()) {
        let arts = story_articles(line, n, usize::MAX);
        let text =
            match runtime.block_on(storybot::llm::write(&client, &grounding, &arts, &outlets)) {
                Ok(w) => {
                    dropped += w.dropped.len();
                    let points: Vec<&str> = w.points.iter().map(|p| p.text.as_str()).collect();
                    format!("{} {}", w.title, points.join(" "))
                }
                Err(e) => {
                    fallbacks += 1;
                    eprintln!("story {n}: {e}");
                    let mut story = StoryText::read(&arts, &params);
                    story.set_rarity(|stem| clusterer.rarity(stem));
                    let s = story.summarise(&params);
                    format!("{} {}", s.title, s.key_points.join(" "))
                }
            };
        full.add(&stemmer, &text, &reference(target));
        n += 1.0;
    }
    full.print(&format!("{model}: title + checked points"), n);
    println!("{fallbacks} stories kept extractive points; {dropped} points dropped as ungrounded");
    Ok(())
}

/// The baselines on texts cut to `cut` characters: (centroid, lead, lead of 80 words, lead
/// of 80 words by storybot's splitter).
fn baselines(data: &Data, cut: usize) -> (Totals, Totals, Totals, Totals) {
    let stemmer = Stemmer::create(Algorithm::English);
    let idf = Idf::learn(
        &stemmer,
        data.train
            .lines()
            .flat_map(|l| l.split("[SEP]"))
            .map(str::trim),
    );
    let (mut centroid, mut lead, mut capped, mut whole): (Totals, Totals, Totals, Totals) =
        Default::default();
    for (line, target) in data.val.lines().zip(data.targets.lines()) {
        let arts = cut_articles(articles(line), cut);
        let refr = reference(target);
        centroid.add(&stemmer, &centroid_summary(&stemmer, &idf, &arts), &refr);
        lead.add(&stemmer, &lead_summary(&arts), &refr);
        capped.add(&stemmer, &capped_lead(&arts), &refr);
        whole.add(&stemmer, &capped_whole_lead(&arts), &refr);
    }
    (centroid, lead, capped, whole)
}

/// The lead baseline at the length storybot may write: its first 80 words.
fn capped_lead(arts: &[(String, String)]) -> String {
    let lead = lead_summary(arts);
    lead.split_whitespace()
        .take(80)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The same, each first sentence found by storybot's own splitter (which keeps "Gov. Greg
/// Abbott" and "the Jan. 6 attack" whole): a stronger lead.
fn capped_whole_lead(arts: &[(String, String)]) -> String {
    let lead: Vec<String> = arts
        .iter()
        .filter_map(|(_, b)| storybot::text::sentences(b).into_iter().next())
        .collect();
    lead.join(" ")
        .split_whitespace()
        .take(80)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/keypoints/neus");
    if !dir.is_dir() {
        println!("skipped: ../shared/data/keypoints/neus is absent");
        return Ok(());
    }
    let data = Data {
        train: std::fs::read_to_string(dir.join("train.source"))?,
        val: std::fs::read_to_string(dir.join("val.source"))?,
        targets: std::fs::read_to_string(dir.join("val.target"))?,
    };
    let clusterer = stream(&data);
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--llm") {
        let (Some(url), Some(model)) = (args.get(i + 1), args.get(i + 2)) else {
            anyhow::bail!("usage: cargo bench --bench keypoints_quality -- --llm URL MODEL");
        };
        return written(&data, &clusterer, url, model);
    }
    if args.iter().any(|a| a == "--sweep") {
        return sweep(&data, &clusterer);
    }
    for (name, cut) in [("in full", usize::MAX), ("cut to 300 characters", 300)] {
        let started = std::time::Instant::now();
        let (full, points, n) = ours(&data, &clusterer, &SummaryParams::default(), cut);
        println!(
            "\nNeuS val, articles {name}: {n} stories in {:.1?}",
            started.elapsed()
        );
        full.print("storybot: title + key points", n);
        points.print("storybot: key points alone", n);
        let (centroid, lead, capped, whole) = baselines(&data, cut);
        centroid.print("baseline: TF-IDF centroid", n);
        lead.print("baseline: first sentences", n);
        capped.print("baseline: first sentences, 80 words", n);
        whole.print("  storybot's sentence splitter", n);
    }
    roundups(&data, clusterer)
}

/// A news round-up's event: its articles' (title, first paragraphs) and the editors' summary.
struct Event {
    articles: Vec<(String, String)>,
    summary: String,
}

fn events(path: &std::path::Path) -> anyhow::Result<Vec<Event>> {
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path)?.lines() {
        let e: serde_json::Value = serde_json::from_str(line)?;
        let articles = ["left", "center", "right"]
            .iter()
            .filter_map(|side| e["news"].get(*side))
            .map(|a| {
                let body: Vec<&str> = a["newBody"]
                    .as_array()
                    .map(|p| p.iter().filter_map(|x| x.as_str()).collect())
                    .unwrap_or_default();
                (
                    a["newsTitle"].as_str().unwrap_or_default().to_string(),
                    body.join(" "),
                )
            })
            .collect();
        let summary = e["roundup"][0].as_str().unwrap_or_default().to_string();
        out.push(Event { articles, summary });
    }
    Ok(out)
}

/// Title + key points of a round-up's event with `params`, each article's text cut by `cut`.
fn roundup_summary(
    clusterer: &Clusterer,
    params: &SummaryParams,
    arts: &[(String, String)],
    cut: &dyn Fn(&str) -> String,
) -> String {
    let now = Utc::now();
    let stored: Vec<Article> = arts
        .iter()
        .enumerate()
        .map(|(i, (title, body))| Article {
            url: format!("https://outlet{i}.example/a"),
            title: title.clone(),
            summary: cut(body),
            outlet: format!("Outlet {i}"),
            domain: format!("outlet{i}.example"),
            published: now,
            fetched: now,
        })
        .collect();
    let mut text = StoryText::read(&stored, params);
    text.set_rarity(|stem| clusterer.rarity(stem));
    let s = text.summarise(params);
    format!("{} {}", s.title, s.key_points.join(" "))
}

/// The round-ups' events, and a clusterer that has also seen their articles go by.
fn roundup_events(clusterer: &mut Clusterer) -> anyhow::Result<Option<Vec<Event>>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/clustering/allsides_roundups_2021-04_to_2021-06.jsonl");
    if !path.is_file() {
        println!("round-ups skipped: {} is absent", path.display());
        return Ok(None);
    }
    let events = events(&path)?;
    for e in &events {
        for (t, b) in &e.articles {
            clusterer.observe(t, b, Utc::now());
        }
    }
    Ok(Some(events))
}

/// Development aid (`-- --sweep`): ROUGE-1 of title + key points on the three sets the
/// issue names (NeuS val in full, NeuS val cut to 300 characters, the round-ups' feed text)
/// around the shipped setting.
fn sweep(data: &Data, clusterer: &Clusterer) -> anyhow::Result<()> {
    let mut roundup_clusterer = stream(data);
    let events = roundup_events(&mut roundup_clusterer)?.unwrap_or_default();
    let stemmer = Stemmer::create(Algorithm::English);
    let feed = |b: &str| storybot::text::lead(b, 300).to_string();
    let page = |b: &str| storybot::text::lead(b, ARTICLE_LEAD_CHARS).to_string();
    let base = SummaryParams::default();
    for word_budget in [80usize, 86] {
        for lead_bonus in [0.0f64, 1.0, 2.0] {
            for length_exponent in [0.5f64, 0.6] {
                for max_similarity in [0.4f64, 0.5] {
                    let p = SummaryParams {
                        word_budget,
                        lead_bonus,
                        length_exponent,
                        max_similarity,
                        ..base
                    };
                    let (full, _, n) = ours(data, clusterer, &p, usize::MAX);
                    let (cut, _, _) = ours(data, clusterer, &p, 300);
                    let (mut round, mut read) = (Totals::default(), Totals::default());
                    for e in &events {
                        let text = roundup_summary(&roundup_clusterer, &p, &e.articles, &feed);
                        round.add(&stemmer, &text, &e.summary);
                        let text = roundup_summary(&roundup_clusterer, &p, &e.articles, &page);
                        read.add(&stemmer, &text, &e.summary);
                    }
                    let m = events.len().max(1) as f64;
                    println!(
                        "words {word_budget} lead {lead_bonus} exp {length_exponent} sim \
                         {max_similarity}: NeuS full R1 {:.2} ({:.0} w), cut {:.2} ({:.0} w); \
                         round-ups R1 {:.2} ({:.0} w), from the page {:.2} ({:.0} w)",
                        100.0 * full.r1 / n,
                        full.words / n,
                        100.0 * cut.r1 / n,
                        cut.words / n,
                        100.0 * round.r1 / m,
                        round.words / m,
                        100.0 * read.r1 / m,
                        read.words / m
                    );
                }
            }
        }
    }
    Ok(())
}

/// Title + key points against the editors' summary on the April-June 2021 round-ups, with
/// each article's text as a feed gives it (300 characters, cut at a sentence end) and as its
/// page gives it (the lead storybot summarises from), beside the two baselines.
fn roundups(data: &Data, mut clusterer: Clusterer) -> anyhow::Result<()> {
    let Some(events) = roundup_events(&mut clusterer)? else {
        return Ok(());
    };
    let stemmer = Stemmer::create(Algorithm::English);
    let idf = Idf::learn(
        &stemmer,
        data.train
            .lines()
            .flat_map(articles)
            .map(|(t, b)| format!("{t} {b}"))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    let params = SummaryParams::default();
    let summarise = |arts: &[(String, String)], cut: &dyn Fn(&str) -> String| {
        roundup_summary(&clusterer, &params, arts, cut)
    };
    let feed = |b: &str| storybot::text::lead(b, 300).to_string();
    let page = |b: &str| storybot::text::lead(b, ARTICLE_LEAD_CHARS).to_string();
    let mut totals: [Totals; 5] = Default::default();
    for e in &events {
        let short: Vec<(String, String)> = e
            .articles
            .iter()
            .map(|(t, b)| (t.clone(), feed(b)))
            .collect();
        totals[0].add(&stemmer, &summarise(&e.articles, &feed), &e.summary);
        totals[1].add(&stemmer, &summarise(&e.articles, &page), &e.summary);
        totals[2].add(&stemmer, &lead_summary(&e.articles), &e.summary);
        totals[3].add(
            &stemmer,
            &centroid_summary(&stemmer, &idf, &e.articles),
            &e.summary,
        );
        totals[4].add(
            &stemmer,
            &centroid_summary(&stemmer, &idf, &short),
            &e.summary,
        );
    }
    let n = events.len() as f64;
    println!("\nApril-June 2021 round-ups: {n} events, title + key points against roundup[0]");
    totals[0].print("storybot: feed text (300 chars)", n);
    totals[1].print("storybot: article text (page lead)", n);
    totals[2].print("baseline: first sentences", n);
    totals[3].print("baseline: centroid, article text", n);
    totals[4].print("baseline: centroid, 300 chars", n);
    // The lead at the length storybot may write (80 words), of the article and of the same
    // feed text storybot reads, split by the plain splitter and by storybot's own.
    let mut capped: [Totals; 3] = Default::default();
    for e in &events {
        let short: Vec<(String, String)> = e
            .articles
            .iter()
            .map(|(t, b)| (t.clone(), feed(b)))
            .collect();
        capped[0].add(&stemmer, &capped_lead(&e.articles), &e.summary);
        capped[1].add(&stemmer, &capped_lead(&short), &e.summary);
        capped[2].add(&stemmer, &capped_whole_lead(&short), &e.summary);
    }
    capped[0].print("baseline: first sentences, 80 words", n);
    capped[1].print("  of the feed text (300 chars)", n);
    capped[2].print("  storybot's sentence splitter", n);
    Ok(())
}

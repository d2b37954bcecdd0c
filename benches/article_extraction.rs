//! Main-text extraction on real article pages: `../shared/data/articles/` (131 pages of news
//! and blog sites, gzipped as fetched, with the text a person marked), scored with the
//! article-extraction benchmark's own metric (scrapinghub/article-extraction-benchmark,
//! `evaluate.py`): per page, 4-word shingles of `\w+` tokens, true/false positives and
//! negatives normalised by the page's total; precision and recall averaged over pages, F1 of
//! the two averages.
//!
//! `cargo bench --bench article_extraction` scores storybot's extractor (`storybot extract`)
//! beside a baseline (every visible word of the page); `--features extraction-candidates`
//! adds the other crates tried (rs-trafilatura, dom_smoothie), side by side. Published figures
//! on all 181 pages: trafilatura 0.958, go-trafilatura 0.960, a Rust port of trafilatura
//! 0.970, Readability.js 0.947, dom_smoothie 0.865.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One page's true positives, false positives and false negatives, normalised.
type Counts = (f64, f64, f64);

fn tokens(text: &str) -> Vec<&str> {
    // `\w+` as Python's `re` reads it: letters, digits and `_` of any script.
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .collect()
}

fn shingles(text: &str) -> HashMap<Vec<&str>, usize> {
    let t = tokens(text);
    let mut out = HashMap::new();
    let n = 4;
    let last = t.len().saturating_sub(n) + 1;
    for i in 0..last.max(1) {
        let s = t[i.min(t.len())..(i + n).min(t.len())].to_vec();
        if !s.is_empty() {
            *out.entry(s).or_insert(0) += 1;
        }
    }
    out
}

fn counts(truth: &str, predicted: &str) -> Counts {
    let (a, b) = (shingles(truth), shingles(predicted));
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        let t = *a.get(key).unwrap_or(&0) as f64;
        let p = *b.get(key).unwrap_or(&0) as f64;
        tp += t.min(p);
        fp += (p - t).max(0.0);
        fn_ += (t - p).max(0.0);
    }
    let sum = tp + fp + fn_;
    if sum > 0.0 {
        (tp / sum, fp / sum, fn_ / sum)
    } else {
        (0.0, 0.0, 0.0)
    }
}

/// Precision, recall and F1 as `evaluate.py` computes them.
fn score(pages: &[Counts]) -> (f64, f64, f64) {
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let precision = mean(
        pages
            .iter()
            .filter(|(tp, fp, _)| tp + fp > 0.0)
            .map(|&(tp, fp, fn_)| match () {
                _ if fp == 0.0 && fn_ == 0.0 => 1.0,
                _ if tp == 0.0 && fp == 0.0 => 0.0,
                _ => tp / (tp + fp),
            })
            .collect(),
    );
    let recall = mean(
        pages
            .iter()
            .filter(|(tp, _, fn_)| tp + fn_ > 0.0)
            .map(|&(tp, fp, fn_)| match () {
                _ if fp == 0.0 && fn_ == 0.0 => 1.0,
                _ if tp == 0.0 && fn_ == 0.0 => 0.0,
                _ => tp / (tp + fn_),
            })
            .collect(),
    );
    (
        precision,
        recall,
        2.0 * precision * recall / (precision + recall),
    )
}

/// An extractor: a page's HTML and address to its main text.
type Extractor = Box<dyn Fn(&str, &str) -> String>;

struct Candidate {
    name: &'static str,
    extract: Extractor,
    pages: Vec<Counts>,
    took: Duration,
}

fn candidates() -> Vec<Candidate> {
    #[cfg_attr(not(feature = "extraction-candidates"), allow(unused_mut))]
    let mut out: Vec<Candidate> = vec![
        candidate("storybot (trafilatura crate)", |html, url| {
            storybot::ingest::extract::extract(html, Some(url)).text
        }),
        candidate("baseline: all visible text", |html, _| {
            storybot::ingest::feeds::html_to_text(html)
        }),
    ];
    #[cfg(feature = "extraction-candidates")]
    {
        out.push(candidate("rs-trafilatura", |html, _| {
            rs_trafilatura::extract(html)
                .map(|r| r.content_text)
                .unwrap_or_default()
        }));
        out.push(candidate("dom_smoothie", |html, url| {
            dom_smoothie::Readability::new(html, Some(url), None)
                .ok()
                .and_then(|mut r| r.parse().ok())
                .map(|a| a.text_content.to_string())
                .unwrap_or_default()
        }));
    }
    out
}

fn candidate(name: &'static str, f: impl Fn(&str, &str) -> String + 'static) -> Candidate {
    Candidate {
        name,
        extract: Box::new(f),
        pages: Vec::new(),
        took: Duration::ZERO,
    }
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/articles");
    let Ok(truth) = std::fs::read_to_string(dir.join("ground-truth.json")) else {
        println!(
            "SKIPPED: no {} (the article pages live in ../shared)",
            dir.display()
        );
        return Ok(());
    };
    let truth: serde_json::Value = serde_json::from_str(&truth)?;
    let mut all = candidates();
    let mut pages = 0;
    for (key, page) in truth.as_object().into_iter().flatten() {
        let path = dir.join("html").join(format!("{key}.html.gz"));
        let mut html = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path)?).read_to_end(&mut html)?;
        let html = storybot::ingest::page::decode(&html, None);
        let body = page["articleBody"].as_str().unwrap_or("");
        let url = page["url"].as_str().unwrap_or("https://example.com/");
        for c in &mut all {
            let t = Instant::now();
            let text = (c.extract)(&html, url);
            c.took += t.elapsed();
            c.pages.push(counts(body, &text));
        }
        pages += 1;
    }
    println!("{pages} pages of {}", dir.display());
    for c in &all {
        let (p, r, f1) = score(&c.pages);
        println!(
            "{:<30} F1={f1:.3}  precision={p:.3}  recall={r:.3}  {:>6.1} ms/page",
            c.name,
            c.took.as_secs_f64() * 1e3 / pages.max(1) as f64
        );
    }
    Ok(())
}

//! Key points quality on NeuS validation (307 stories, three articles each, from left, center
//! and right outlets) against the AllSides editors' reference (a neutral headline and a ~70
//! word summary): ROUGE-1, ROUGE-2 and ROUGE-L F1, with stemming.
//!
//! Scored text: the story title then its key points, joined (what a digest shows first), and
//! the key points alone. Lead baseline: the first sentences of the first article, to the same
//! length. `cargo bench --bench keypoints_quality`.
//!
//! ROUGE here: lower-case, non-alphanumerics as spaces, Snowball English stemming (the Porter
//! family; the reference scores used the original Porter stemmer), F1 per story, averaged.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::Utc;
use rust_stemmers::{Algorithm, Stemmer};
use storybot::model::Article;
use storybot::outlets::OutletDirectory;
use storybot::summarise::keypoints::SummaryParams;

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

/// Summarises every story with `params`: (title + key points, key points alone, lead, count).
fn run(
    sources: &str,
    targets: &str,
    outlets: &OutletDirectory,
    params: &SummaryParams,
) -> (Totals, Totals, Totals, f64) {
    let stemmer = Stemmer::create(Algorithm::English);
    let zero = || Totals {
        r1: 0.0,
        r2: 0.0,
        rl: 0.0,
        words: 0.0,
    };
    let (mut full, mut points, mut lead) = (zero(), zero(), zero());
    let mut n = 0.0;
    for (line, target) in sources.lines().zip(targets.lines()) {
        let now = Utc::now();
        let arts: Vec<Article> = articles(line)
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
            .collect();
        let summary = storybot::summarise::keypoints::summarise_with(&arts, outlets, params);
        let refr = reference(target);
        let joined = format!("{} {}", summary.title, summary.key_points.join(" "));
        full.add(&stemmer, &joined, &refr);
        points.add(&stemmer, &summary.key_points.join(" "), &refr);
        // Lead baseline: the first article's title and opening, as many words as ours.
        let budget = joined.split_whitespace().count();
        let first = &arts[0];
        let opening = format!("{} {}", first.title, first.summary);
        let lead_text: Vec<&str> = opening.split_whitespace().take(budget).collect();
        lead.add(&stemmer, &lead_text.join(" "), &refr);
        n += 1.0;
    }
    (full, points, lead, n)
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/keypoints/neus");
    if !dir.is_dir() {
        println!("skipped: ../shared/data/keypoints/neus is absent");
        return Ok(());
    }
    let sources = std::fs::read_to_string(dir.join("val.source"))?;
    let targets = std::fs::read_to_string(dir.join("val.target"))?;
    let outlets = OutletDirectory::load(&[])?;
    if std::env::args().any(|a| a == "--sweep") {
        // Development aid: how the scores move around the shipped setting.
        let base = SummaryParams::default();
        for budget in [40usize, 50, 60, 75] {
            for sentences in [3usize, 5, 10] {
                for lead in [0.3f64, 1.0, 2.0] {
                    let p = SummaryParams {
                        word_budget: budget,
                        sentences_per_article: sentences,
                        lead_weight: lead,
                        ..base
                    };
                    let (full, _, _, n) = run(&sources, &targets, &outlets, &p);
                    full.print(
                        &format!("budget {budget} sentences {sentences} lead {lead}"),
                        n,
                    );
                }
            }
        }
        return Ok(());
    }
    let started = std::time::Instant::now();
    let (full, points, lead, n) = run(&sources, &targets, &outlets, &SummaryParams::default());
    println!("NeuS val: {n} stories in {:.1?}", started.elapsed());
    full.print("title + key points (digest)", n);
    points.print("key points alone", n);
    lead.print("lead baseline (same length)", n);
    Ok(())
}

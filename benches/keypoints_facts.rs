//! Does each key point add a fact? Measured on what users see: the export of a real
//! `storybot` binary (`stories --json`) after importing
//!
//! - **UCI**: the 6,366 headlines of the UCI News Aggregator development set
//!   (`../shared/data/clustering`), each with its gold story as the upstream key, so the 87
//!   stories are the editors' and only the key points are measured;
//! - **demo**: the bundled demo set, clustered by storybot itself.
//!
//! Per key point, its content words (stemmed, stop words out) are compared with the title's
//! and the earlier points': the **new share** is the part not said before; a **restatement**
//! is a point with less than a third new (a rewording of a fact already given). Stories of one
//! article are left out (nothing to agree on).
//!
//! `cargo bench --bench keypoints_facts` measures this build's binary;
//! `cargo bench --bench keypoints_facts -- --bin PATH` another one (an older build, say).

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use rust_stemmers::{Algorithm, Stemmer};
use serde_json::Value;

fn content(stemmer: &Stemmer, s: &str) -> HashSet<String> {
    common::content_stems(stemmer, s).into_iter().collect()
}

#[derive(Default)]
struct Facts {
    stories: usize,
    points: usize,
    new_share: f64,
    restatements: usize,
    words: usize,
}

impl Facts {
    fn add(&mut self, stemmer: &Stemmer, title: &str, points: &[String]) {
        self.stories += 1;
        let mut said = content(stemmer, title);
        self.words += title.split_whitespace().count();
        for p in points {
            self.words += p.split_whitespace().count();
            let words = content(stemmer, p);
            if words.is_empty() {
                continue;
            }
            let new = words.difference(&said).count() as f64 / words.len() as f64;
            self.points += 1;
            self.new_share += new;
            if new < 1.0 / 3.0 {
                self.restatements += 1;
            }
            said.extend(words);
        }
    }

    fn print(&self, name: &str) {
        let points = self.points.max(1) as f64;
        println!(
            "{name:<6} {} stories: {:.2} points per story, new share {:.0}%, restatements {:.1}% \
             of points, {:.0} words (title + points)",
            self.stories,
            self.points as f64 / self.stories.max(1) as f64,
            100.0 * self.new_share / points,
            100.0 * self.restatements as f64 / points,
            self.words as f64 / self.stories.max(1) as f64,
        );
    }
}

/// The UCI set as import lines, with the gold story as the upstream key.
fn uci_jsonl(csv_path: &Path) -> anyhow::Result<String> {
    let mut reader = csv::Reader::from_path(csv_path)?;
    let mut out = String::new();
    for r in reader.records() {
        let r = r?;
        let line = serde_json::json!({
            "title": r[1].replace('\\', ""),
            "url": r[2],
            "outlet": r[3],
            "story": r[5],
            "published": r[7].parse::<i64>()?,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    Ok(out)
}

/// Imports `jsonl` into a new store with `bin`, and returns its export.
fn export(bin: &Path, dir: &Path, name: &str, jsonl: &str) -> anyhow::Result<Vec<Value>> {
    let input = dir.join(format!("{name}.jsonl"));
    let db = dir.join(format!("{name}.db"));
    let config = dir.join("config.toml");
    std::fs::write(&input, jsonl)?;
    std::fs::write(&config, "")?;
    let run = |args: &[&str]| -> anyhow::Result<Vec<u8>> {
        let out = Command::new(bin)
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{bin:?} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out.stdout)
    };
    run(&["import", &input.to_string_lossy()])?;
    Ok(serde_json::from_slice(&run(&["stories", "--json"])?)?)
}

fn measure(stemmer: &Stemmer, stories: &[Value]) -> Facts {
    let mut facts = Facts::default();
    for s in stories {
        if s["article_count"].as_u64().unwrap_or(0) < 2 {
            continue;
        }
        let points: Vec<String> = s["key_points"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        facts.add(stemmer, s["title"].as_str().unwrap_or(""), &points);
    }
    facts
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let bin = args
        .iter()
        .position(|a| a == "--bin")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_storybot")),
            PathBuf::from,
        );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir()?;
    let stemmer = Stemmer::create(Algorithm::English);
    println!("binary: {}", bin.display());
    let csv_path = root.join("../shared/data/clustering/uci_news_aggregator_2014-03-10_to_12.csv");
    if csv_path.is_file() {
        let stories = export(&bin, dir.path(), "uci", &uci_jsonl(&csv_path)?)?;
        measure(&stemmer, &stories).print("UCI");
    } else {
        println!("UCI skipped: {} is absent", csv_path.display());
    }
    let demo = std::fs::read_to_string(root.join("data/demo.jsonl"))?;
    let stories = export(&bin, dir.path(), "demo", &demo)?;
    measure(&stemmer, &stories).print("demo");
    Ok(())
}

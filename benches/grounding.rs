//! The grounding check for written key points (`summarise::grounding`), measured with no model:
//! on NeuS validation, the editors' reference summaries, split into points (the headline and
//! each sentence) that cite all three articles, should pass: the share that fails is the
//! **false-rejection rate**. Then each passing point with one name or number swapped for one
//! from another story (one its own articles do not contain) should fail: the share that does is
//! the **catch rate**. `cargo bench --bench grounding`.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use storybot::summarise::grounding::{Grounding, Point, Source, Ungrounded};

struct Story {
    articles: Vec<(String, String)>,
    points: Vec<String>,
}

fn stories(source: &str, target: &str) -> Vec<Story> {
    source
        .lines()
        .zip(target.lines())
        .map(|(s, t)| {
            let articles = s
                .split("[SEP]")
                .filter_map(|part| {
                    let rest = part.trim().strip_prefix("TITLE=>")?;
                    let (title, body) = rest.split_once("ARTICLE=>").unwrap_or((rest, ""));
                    Some((title.trim().to_string(), body.trim().to_string()))
                })
                .collect();
            let t = t.trim().strip_prefix("TITLE=>").unwrap_or(t);
            let (title, summary) = t.split_once("ARTICLE=>").unwrap_or((t, ""));
            let mut points = vec![title.trim().to_string()];
            points.extend(common::sentences(summary.trim()));
            Story { articles, points }
        })
        .collect()
}

fn kind(e: &Ungrounded) -> &'static str {
    match e {
        Ungrounded::Name(_) => "name",
        Ungrounded::Number(_) => "number",
        Ungrounded::Quote(_) => "quotation",
        Ungrounded::NoCitation | Ungrounded::UnknownSource(_) => "citation",
    }
}

/// Common words: those the NeuS train articles write in lower case more often than capitalised
/// inside a sentence (a running bot learns the same from its stream).
fn common_words(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, (u32, u32)> = HashMap::new();
    for sentence in text.split(['.', '!', '?', '\n']) {
        for (k, w) in sentence.split_whitespace().enumerate() {
            let w = w.trim_matches(|c: char| !c.is_alphabetic());
            if w.is_empty() || k == 0 {
                continue;
            }
            let e = seen.entry(w.to_lowercase()).or_default();
            if w.chars().next().is_some_and(char::is_uppercase) {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
    }
    seen.into_iter()
        .filter(|(_, (lower, caps))| *lower >= 3 && lower > caps)
        .map(|(w, _)| w)
        .collect()
}

fn is_number(term: &str) -> bool {
    term.chars().any(|c| c.is_ascii_digit()) && !term.chars().any(char::is_alphabetic)
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/keypoints/neus");
    if !dir.is_dir() {
        println!("skipped: ../shared/data/keypoints/neus is absent");
        return Ok(());
    }
    let stories = stories(
        &std::fs::read_to_string(dir.join("val.source"))?,
        &std::fs::read_to_string(dir.join("val.target"))?,
    );
    let grounding = Grounding::new(common_words(&std::fs::read_to_string(
        dir.join("train.source"),
    )?));
    let check = |p: &Point, s: &[Source<'_>]| grounding.check(p, s);
    let checked_terms = |t: &str| grounding.checked_terms(t);
    // Replacement pools: the names and numbers of every story's reference.
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut numbers: Vec<(usize, String)> = Vec::new();
    for (i, s) in stories.iter().enumerate() {
        for p in &s.points {
            for t in checked_terms(p) {
                if is_number(&t) {
                    numbers.push((i, t));
                } else {
                    names.push((i, t));
                }
            }
        }
    }
    let (mut points, mut rejected, mut swapped, mut caught) = (0, 0, 0, 0);
    let mut reasons: HashMap<&str, usize> = HashMap::new();
    let mut examples: Vec<String> = Vec::new();
    for (i, s) in stories.iter().enumerate() {
        let sources: Vec<Source<'_>> = s
            .articles
            .iter()
            .map(|(title, text)| Source { title, text })
            .collect();
        let all: Vec<usize> = (1..=sources.len()).collect();
        let haystack = s
            .articles
            .iter()
            .map(|(t, b)| format!("{t} {b}"))
            .collect::<String>()
            .to_lowercase();
        for text in &s.points {
            points += 1;
            let point = Point {
                text: text.clone(),
                citations: all.clone(),
            };
            if let Err(e) = check(&point, &sources) {
                rejected += 1;
                *reasons.entry(kind(&e)).or_default() += 1;
                if examples.len() < 40 {
                    examples.push(format!("{e}: {text}"));
                }
                continue;
            }
            // Swap the first checked term for one of the same kind from another story that
            // this story's articles do not contain.
            let Some(term) = checked_terms(text).into_iter().next() else {
                continue;
            };
            let pool = if is_number(&term) { &numbers } else { &names };
            let start = (i * 7919 + points) % pool.len();
            let replacement = pool
                .iter()
                .cycle()
                .skip(start)
                .take(pool.len())
                .find(|(j, t)| *j != i && !haystack.contains(&t.to_lowercase()));
            let Some((_, replacement)) = replacement else {
                continue;
            };
            swapped += 1;
            let forged = Point {
                text: text.replacen(&term, replacement, 1),
                citations: all.clone(),
            };
            if check(&forged, &sources).is_err() {
                caught += 1;
            }
        }
    }
    println!(
        "NeuS val: {} stories, {points} reference points citing all their articles",
        stories.len()
    );
    println!(
        "false rejections: {rejected} of {points} ({:.1}%; target at most 10%) by kind: {reasons:?}",
        100.0 * rejected as f64 / points as f64
    );
    println!(
        "catch rate: {caught} of {swapped} points with one name or number swapped ({:.1}%; \
         target at least 95%)",
        100.0 * caught as f64 / swapped.max(1) as f64
    );
    for e in examples {
        println!("  rejected: {e}");
    }
    Ok(())
}

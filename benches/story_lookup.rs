//! Story lookup latency over a synthetic store of 100,000 stories and 1,000,000 articles.
//!
//! `cargo bench --bench story_lookup` (optionally `-- --stories N --queries N`). The store is
//! generated once, deterministically, into `target/bench/lookup-<stories>.db` and reused.
//! Each sample is one in-process `App::find_story` (id or full-text match, ranking, loading the
//! story's row and coverage); the digest (reading the headlines it shows, rendering the payload)
//! is timed separately. Prints p50 / p99 / max.

mod common;

use common::{arg, word, Rng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use storybot::app::{App, Lookup};
use storybot::config::Config;
use storybot::digest::embed as discord;
use storybot::model::{Article, StoryId};
use storybot::store::{NewArticle, NewStory, Store, StoryUpdate};

/// Writes the synthetic store through the store's own write path (`StoreTx`), so its tables
/// and search indexes are exactly what the application writes.
async fn build_store(path: &Path, stories: usize) -> anyhow::Result<()> {
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let vocab = 30_000;
    let outlets: Vec<(String, String)> = storybot::outlets::OutletDirectory::load(&[])?
        .iter()
        .take(400)
        .map(|o| (o.name.clone(), o.domains[0].clone()))
        .collect();
    let start = Instant::now();
    let mut tx = store.begin().await?;
    let mut article_seq = 0usize;
    for s in 0..stories {
        let topic: Vec<String> = (0..4).map(|_| word(rng.zipf(vocab), 3)).collect();
        let title = topic.join(" ");
        let n_articles = 2 + rng.below(17); // 2..=18, about 10 on average
        let t0 = Utc
            .timestamp_opt(1_700_000_000 + (s as i64) * 60, 0)
            .unwrap();
        let id = StoryId::derive(&format!("bench:{s}"), 8);
        let seq = tx
            .insert_story(NewStory {
                id: &id,
                upstream_key: None,
                title: &title,
                published: t0,
                now: t0,
            })
            .await?;
        let mut headlines = Vec::with_capacity(n_articles);
        let mut articles = Vec::with_capacity(n_articles);
        for a in 0..n_articles {
            let extra: Vec<String> = (0..3).map(|_| word(rng.zipf(vocab), 3)).collect();
            let headline = format!(
                "{} {} {} {} {}",
                topic[rng.below(4)],
                extra[0],
                topic[rng.below(4)],
                extra[1],
                extra[2]
            );
            let (outlet, domain) = &outlets[rng.below(outlets.len())];
            let published = t0 + chrono::Duration::minutes(a as i64);
            articles.push(NewArticle {
                story: seq,
                article: Article {
                    url: format!("https://{domain}/a/{article_seq}"),
                    title: headline.clone(),
                    summary: String::new(),
                    outlet: outlet.clone(),
                    domain: domain.clone(),
                    published,
                    fetched: published,
                },
            });
            headlines.push(headline);
            article_seq += 1;
        }
        tx.insert_articles(&std::mem::take(&mut articles)).await?;
        let refs: Vec<&str> = headlines.iter().map(String::as_str).collect();
        tx.update_story(
            seq,
            StoryUpdate {
                title: &title,
                key_points: &[
                    format!("{title} happened."),
                    format!("{} reacted.", topic[1]),
                ],
                headlines: &refs,
            },
        )
        .await?;
        if s % 10_000 == 9_999 {
            tx.commit().await?;
            tx = store.begin().await?;
            eprintln!(
                "  {} stories, {} articles ({:.0?})",
                s + 1,
                article_seq,
                start.elapsed()
            );
        }
    }
    tx.commit().await?;
    store.close().await;
    eprintln!(
        "built {stories} stories, {article_seq} articles in {:.1?}",
        start.elapsed()
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<28} n={:<6} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let stories = arg("--stories", 100_000);
    let queries = arg("--queries", 2_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("lookup-{stories}.db"));
    if !path.exists() {
        eprintln!("building the synthetic store at {} ...", path.display());
        let tmp = dir.join(format!("lookup-{stories}.db.partial"));
        let _ = std::fs::remove_file(&tmp);
        build_store(&tmp, stories).await?;
        std::fs::rename(&tmp, &path)?;
    }
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", path.display());
    let app = App::open(config).await?;
    println!(
        "store: {} stories, {} articles ({})",
        app.store.story_count().await?,
        app.store.article_count().await?,
        path.display()
    );

    // Queries: 2-3 words of a random story's title (hits), every tenth a made-up word (miss),
    // every tenth a story id.
    let mut rng = Rng(42);
    let mut qs: Vec<String> = Vec::with_capacity(queries);
    for i in 0..queries {
        let seq = 1 + rng.below(stories) as i64;
        let row = app
            .store
            .story_rows(&[storybot::model::StoryKey(seq)])
            .await?
            .remove(0);
        let q = match i % 10 {
            0 => format!("{} zzqx", row.title.split(' ').next().unwrap_or("")),
            1 => row.id.to_string(),
            _ => {
                let words: Vec<&str> = row.title.split(' ').collect();
                let n = 2 + rng.below(2);
                words[..n.min(words.len())].join(" ")
            }
        };
        qs.push(q);
    }
    // Warm-up.
    for q in qs.iter().take(200) {
        let _ = app.find_story(q).await?;
    }
    let mut by_kind: [Vec<Duration>; 3] = Default::default();
    let mut lookup = Vec::with_capacity(queries);
    let mut render = Vec::with_capacity(queries);
    let (mut found, mut missed) = (0, 0);
    for (i, q) in qs.iter().enumerate() {
        let t = Instant::now();
        let result = app.find_story(q).await?;
        lookup.push(t.elapsed());
        by_kind[(i % 10).min(2)].push(t.elapsed());
        match result {
            Lookup::Found(story) => {
                found += 1;
                let t = Instant::now();
                let digest = app.digest(&story).await?;
                let payload = serde_json::to_string(&discord::message(&digest))?;
                std::hint::black_box(payload);
                render.push(t.elapsed());
            }
            Lookup::NotFound { .. } | Lookup::EmptyStore => missed += 1,
        }
    }
    println!("{found} found, {missed} not found (with suggestions)");
    report("story QUERY (find + load)", lookup);
    let [miss, id, words] = by_kind;
    report("  words of a title", words);
    report("  story id", id);
    report("  miss (suggestions)", miss);
    report("digest (read + payload)", render);
    Ok(())
}

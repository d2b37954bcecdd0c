//! Story lookup latency over a synthetic store of 100,000 stories and 1,000,000 articles.
//!
//! `cargo bench --bench story_lookup` (optionally `-- --stories N --queries N`). The store is
//! generated once, deterministically, into `target/bench/lookup-<stories>.db` and reused.
//! Each sample is one in-process `App::find_story` (id or full-text match, ranking, loading the
//! story's row and coverage); the digest (reading the headlines it shows, rendering the payload)
//! is timed separately. Prints p50 / p99 / max.

mod common;

use common::{arg, report, Rng};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use storybot::app::{App, Lookup};
use storybot::config::Config;
use storybot::digest::embed as discord;

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
        common::stores::build_store(&tmp, stories).await?;
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

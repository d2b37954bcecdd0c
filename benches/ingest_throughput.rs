//! Ingest throughput: articles per second through parse (RSS), normalise, cluster and store
//! (SQLite file; each article's page queued to be read, as feed ingest does), with 50,000
//! articles already in the active clustering window; and peak
//! memory (VmHWM) once the store holds `--total` articles.
//!
//! `cargo bench --bench ingest_throughput` (50,000 preloaded, 20,000 measured; `-- --no-pages`
//! queues no article page), then a backfill of 2,000 articles 24 hours back (`--backfill N`,
//! `--backfill-hours H`);
//! `cargo bench --bench ingest_throughput -- --total 1000000` for the memory figure at 1M;
//! `-- --count-queries` counts the store's round trips (queries, and rows sent back) per 1,000
//! articles measured: a figure that does not move with the machine's load, as the rate does.
//! The synthetic stream: events of 2 to 40 articles, each a headline and a two-sentence
//! summary drawn from an event vocabulary plus common words, 100 items per feed document,
//! publication times advancing so that about 50,000 articles fall in the 72-hour window.

mod common;

use common::{arg, word, Rng};
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use storybot::app::App;
use storybot::config::Config;
use storybot::ingest::{feeds, normalise};

const COMMON: [&str; 24] = [
    "officials",
    "said",
    "on",
    "monday",
    "after",
    "the",
    "talks",
    "new",
    "plan",
    "vote",
    "report",
    "police",
    "government",
    "market",
    "deal",
    "court",
    "leaders",
    "warned",
    "over",
    "amid",
    "record",
    "crisis",
    "week",
    "city",
];

/// Generates `n` RSS items starting at article number `start`: (XML documents of 100 items).
fn documents(rng: &mut Rng, start: usize, n: usize, t0: i64, per_hour: f64) -> Vec<String> {
    let mut docs = Vec::new();
    let mut doc = String::new();
    let mut event = (0usize, 0usize); // (event id, articles left)
    for k in start..start + n {
        if event.1 == 0 {
            event = (k, 2 + rng.below(39));
        }
        event.1 -= 1;
        let e = event.0;
        let name = |rng: &mut Rng| word(e * 7 + rng.below(4), 4);
        let common = |rng: &mut Rng| COMMON[rng.below(COMMON.len())];
        let title = format!(
            "{} {} {} {} {} {}",
            name(rng).to_uppercase(),
            common(rng),
            name(rng),
            common(rng),
            word(rng.below(50_000), 4),
            name(rng)
        );
        let summary = format!(
            "{} {} {} {} {} {} {}. {} {} {} {} {}.",
            name(rng),
            common(rng),
            common(rng),
            name(rng),
            word(rng.below(50_000), 4),
            common(rng),
            name(rng),
            common(rng),
            name(rng),
            word(rng.below(50_000), 4),
            common(rng),
            name(rng)
        );
        let t = Utc
            .timestamp_opt(t0 + (k as f64 * 3600.0 / per_hour) as i64, 0)
            .unwrap();
        doc.push_str(&format!(
            "<item><title>{title}</title><link>https://outlet{}.example/a/{k}?utm_source=rss</link>\
             <description>{summary}</description><pubDate>{}</pubDate></item>",
            k % 50,
            t.to_rfc2822()
        ));
        if (k + 1 - start).is_multiple_of(100) || k + 1 == start + n {
            docs.push(format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Bench</title>{doc}</channel></rss>"));
            doc.clear();
        }
    }
    docs
}

/// Documents (of 100 items) per write batch: as `storybot import` batches (2,000 articles).
const BATCH_DOCS: usize = 20;

/// Parses, normalises and ingests documents, a batch at a time.
async fn ingest(
    app: &App,
    docs: &[String],
    parse_time: &mut std::time::Duration,
    store_time: &mut std::time::Duration,
) -> anyhow::Result<usize> {
    let mut stored = 0;
    for chunk in docs.chunks(BATCH_DOCS) {
        let t = Instant::now();
        let now = Utc::now() + Duration::days(3650);
        let mut batch = Vec::new();
        for d in chunk {
            for raw in feeds::parse(d.as_bytes(), "https://bench.example/feed.xml", None)? {
                batch.push(normalise(raw, &app.outlets, now)?);
            }
        }
        *parse_time += t.elapsed();
        let t = Instant::now();
        // As feed ingest stores them: each article's page queued too (its text is short),
        // unless `--no-pages`.
        stored += if std::env::args().any(|a| a == "--no-pages") {
            app.ingest(batch, now).await?.new_articles
        } else {
            app.ingest_from_feeds(batch, now).await?.new_articles
        };
        *store_time += t.elapsed();
    }
    Ok(stored)
}

/// Counts the statements sqlx runs and the rows they return, from its per-query events.
#[derive(Default, Clone)]
struct QueryCount {
    queries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    rows: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl QueryCount {
    fn read(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.queries.load(Relaxed), self.rows.load(Relaxed))
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for QueryCount {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Rows(u64);
        impl tracing::field::Visit for Rows {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "rows_returned" {
                    self.0 = value;
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut rows = Rows(0);
        event.record(&mut rows);
        use std::sync::atomic::Ordering::Relaxed;
        self.queries.fetch_add(1, Relaxed);
        self.rows.fetch_add(rows.0, Relaxed);
    }
}

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let counter = QueryCount::default();
    if std::env::args().any(|a| a == "--count-queries") {
        use tracing_subscriber::layer::SubscriberExt;
        let filter = tracing_subscriber::EnvFilter::new("sqlx::query=debug");
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry()
                .with(filter)
                .with(counter.clone()),
        )?;
    }
    let preload = arg("--preload", 50_000);
    let measured = arg("--measure", 20_000);
    let total = arg("--total", 0);
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("ingest.db").display());
    let app = App::open(config).await?;
    // 50,000 articles in 72 hours: about 700 an hour.
    let per_hour = preload as f64 / 72.0;
    let t0 = 1_700_000_000;
    let mut rng = Rng(7);

    let (mut parse_time, mut store_time) = Default::default();
    let docs = documents(&mut rng, 0, preload, t0, per_hour);
    let t = Instant::now();
    let n = ingest(&app, &docs, &mut parse_time, &mut store_time).await?;
    println!(
        "preloaded {n} articles in {:.1?} ({:.0}/s)",
        t.elapsed(),
        n as f64 / t.elapsed().as_secs_f64()
    );

    let (mut parse_time, mut store_time) = Default::default();
    let docs = documents(&mut rng, preload, measured, t0, per_hour);
    let before = counter.read();
    let t = Instant::now();
    let n = ingest(&app, &docs, &mut parse_time, &mut store_time).await?;
    let all = t.elapsed();
    let after = counter.read();
    println!(
        "measured {n} articles with {preload} in the window: {:.0} articles/s overall \
         (parse + normalise {:.0}/s, cluster + store {:.0}/s)",
        n as f64 / all.as_secs_f64(),
        n as f64 / parse_time.as_secs_f64(),
        n as f64 / store_time.as_secs_f64(),
    );
    if after.0 > before.0 {
        let per_1000 = |x: u64| x as f64 * 1000.0 / n.max(1) as f64;
        println!(
            "store round trips per 1,000 articles: {:.0} queries, {:.0} rows sent back",
            per_1000(after.0 - before.0),
            per_1000(after.1 - before.1)
        );
    }
    println!(
        "stories: {}, articles: {}",
        app.store.story_count().await?,
        app.store.article_count().await?
    );
    // A backfill: articles published `--backfill-hours` before the newest, as a second
    // archive of the same hours would bring; the stored articles since are placed again.
    let backfill = arg("--backfill", 2_000);
    let hours = arg("--backfill-hours", 24);
    if backfill > 0 {
        let shift = (hours * 3600) as i64;
        let docs = documents(&mut rng, preload + measured, backfill, t0 - shift, per_hour);
        let before = app.store.story_count().await?;
        let (mut parse_time, mut store_time) = Default::default();
        let t = Instant::now();
        let n = ingest(&app, &docs, &mut parse_time, &mut store_time).await?;
        println!(
            "a backfill of {n} articles reaching back {hours} h (about {:.0} stored articles \
             placed again): {:.1?}; stories {before} -> {}",
            hours as f64 * per_hour,
            t.elapsed(),
            app.store.story_count().await?
        );
    }
    if total > preload + measured {
        let mut done = preload + measured;
        let t = Instant::now();
        while done < total {
            let step = (total - done).min(100_000);
            let docs = documents(&mut rng, done, step, t0, per_hour);
            ingest(&app, &docs, &mut parse_time, &mut store_time).await?;
            done += step;
            eprintln!(
                "  {done} articles ({:.0?}), peak memory {:.0} MiB",
                t.elapsed(),
                peak_memory_mib().unwrap_or(0.0)
            );
        }
        println!("stored articles: {}", app.store.article_count().await?);
    }
    if let Some(mib) = peak_memory_mib() {
        println!("peak memory (VmHWM): {mib:.0} MiB");
    }
    Ok(())
}

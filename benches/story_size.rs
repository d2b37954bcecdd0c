//! `/story` cost against the size of the story: latency and memory of a lookup (find the
//! story by words of its title, build its digest, render the Discord payload) for stories of
//! 100 to 200,000 articles, on SQLite and, with STORYBOT_TEST_POSTGRES set, on Postgres.
//!
//! `cargo bench --bench story_size` (`-- --lookups N`, default 300 per size). Memory is the
//! bytes allocated per lookup (a counting allocator; every thread counted), so "flat" means a
//! big story costs what a small one does. The store is written through the store's own write
//! path: one upstream-keyed story per size, its articles from 400 rated outlets.

#![allow(unsafe_code)] // a counting allocator, below

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::arg;
use storybot::app::{App, Lookup};
use storybot::config::Config;

struct Counting;
static ALLOCATED: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; the counter is an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SIZES: [usize; 5] = [100, 1_000, 10_000, 100_000, 200_000];
const TITLES: [&str; 5] = [
    "Harbour bridge reopens after repairs",
    "Mountain railway tunnel completed",
    "Coastal storm floods the old town",
    "Parliament votes on the budget deal",
    "Comet lights up the northern sky",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(name: &str, app: &App, lookups: usize) {
    let outlets: Vec<(String, String)> = app
        .outlets
        .iter()
        .filter(|o| o.bias.is_some())
        .take(400)
        .map(|o| (o.name.clone(), o.domains[0].clone()))
        .collect();
    let start = Instant::now();
    for (size, title) in SIZES.iter().zip(TITLES) {
        common::stores::write_story(&app.store, &format!("size-{size}"), title, *size, &outlets)
            .await;
    }
    eprintln!(
        "{name}: wrote {} articles in {:.1?}",
        SIZES.iter().sum::<usize>(),
        start.elapsed()
    );
    println!("{name}:");
    for (size, title) in SIZES.iter().zip(TITLES) {
        let query: String = title.split(' ').take(3).collect::<Vec<_>>().join(" ");
        let mut times = Vec::with_capacity(lookups);
        let mut bytes = Vec::with_capacity(lookups);
        for i in 0..lookups + 20 {
            let before = ALLOCATED.load(Ordering::Relaxed);
            let t = Instant::now();
            let Lookup::Found(story) = app.find_story(&query).await.unwrap() else {
                panic!("{query} not found")
            };
            assert_eq!(story.article_count as usize, *size);
            let digest = app.digest(&story).await.unwrap();
            let payload = serde_json::to_string(&storybot::digest::embed::message(&digest));
            std::hint::black_box(payload.unwrap());
            if i >= 20 {
                times.push(t.elapsed());
                bytes.push(ALLOCATED.load(Ordering::Relaxed) - before);
            }
        }
        times.sort();
        bytes.sort();
        println!(
            "  story of {size:>7} articles: p50 {:>6.2} ms  p99 {:>6.2} ms  allocated per lookup {:>7.1} KiB (median)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            bytes[bytes.len() / 2] as f64 / 1024.0
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let lookups = arg("--lookups", 300);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("size.db").display());
    let app = App::open(config).await.unwrap();
    run("SQLite", &app, lookups).await;
    app.store.close().await;
    match std::env::var("STORYBOT_TEST_POSTGRES") {
        Ok(base) => {
            let schema = format!("bench_size_{}", std::process::id());
            common::pg_exec(&base, &format!("CREATE SCHEMA {schema}")).await;
            let sep = if base.contains('?') { '&' } else { '?' };
            let mut config = Config::default();
            config.store.url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            let app = App::open(config).await.unwrap();
            run("Postgres", &app, lookups).await;
            app.store.close().await;
            common::pg_exec(&base, &format!("DROP SCHEMA {schema} CASCADE")).await;
        }
        Err(_) => println!("Postgres: skipped (set STORYBOT_TEST_POSTGRES to a database URL)"),
    }
}

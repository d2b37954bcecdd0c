//! The article page queue keeps up with ingest: 1,000 new articles over 50 hosts served on
//! loopback (127.0.0.1 to 127.0.0.50, each answering 50 ms late), read with the shipped
//! politeness (one request at a time per host, `--interval-ms` between two, 1,000 by default)
//! and 50 hosts at once. Reports how long until every page is read against the bound the
//! interval sets (pages per host times the interval), and ingest throughput (the import
//! path, 20,000 articles onto the 1,000) with the queue idle and with it reading.
//!
//! `cargo bench --bench page_queue` (`-- --pages 1000 --hosts 50 --interval-ms 1000`).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::arg;
use storybot::app::App;
use storybot::config::Config;
use storybot::ingest::{feeds, normalise, IncomingArticle};
use storybot::page_queue::{PageQueue, RoundReport};
use storybot::workers::Stop;

/// How late each host answers.
const SLOW: Duration = Duration::from_millis(50);

fn page(path: &str) -> String {
    let p: String = (0..8)
        .map(|i| {
            format!(
                "<p>Paragraph {i} of {path}: the harbour commission voted to build the new \
                 breakwater before the winter storms, officials said on Monday.</p>"
            )
        })
        .collect();
    format!("<html><head><title>{path}</title></head><body><article><h1>{path}</h1>{p}</article></body></html>")
}

/// One slow host on `ip`.
async fn host(ip: std::net::Ipv4Addr) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        tokio::time::sleep(SLOW).await;
        if uri.path() == "/robots.txt" {
            return (
                axum::http::StatusCode::NOT_FOUND,
                axum::response::Html(String::new()),
            );
        }
        (
            axum::http::StatusCode::OK,
            axum::response::Html(page(uri.path())),
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// RSS items linking to `hosts` in turn, parsed and normalised as ingest does.
fn items(
    app: &App,
    hosts: &[SocketAddr],
    n: usize,
    tag: &str,
) -> anyhow::Result<Vec<IncomingArticle>> {
    let now = Utc::now();
    let mut doc = String::new();
    for k in 0..n {
        let h = hosts[k % hosts.len()];
        // Events of ten articles each.
        let e = k / 10;
        doc.push_str(&format!(
            "<item><title>Harbour {tag} vote {e} word{e}</title><link>http://{h}/{tag}/{k}</link>\
             <description>The commission met.</description><pubDate>{}</pubDate></item>",
            (now - chrono::Duration::seconds(k as i64)).to_rfc2822()
        ));
    }
    let doc = format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>b</title>{doc}</channel></rss>");
    feeds::parse(doc.as_bytes(), "https://bench.example/feed.xml", None)?
        .into_iter()
        .map(|raw| Ok(normalise(raw, &app.outlets, now)?))
        .collect()
}

/// Articles per second through the import path (no pages queued).
async fn ingest_rate(app: &App, hosts: &[SocketAddr], n: usize, tag: &str) -> anyhow::Result<f64> {
    let batch = items(app, hosts, n, tag)?;
    let t = Instant::now();
    let stored = app.ingest(batch, Utc::now()).await?.new_articles;
    Ok(stored as f64 / t.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let pages = arg("--pages", 1_000);
    let hosts_n = arg("--hosts", 50).clamp(1, 250);
    let interval_ms = arg("--interval-ms", 1_000) as u64;
    let measured = arg("--measure", 20_000);
    let mut hosts = Vec::new();
    for i in 1..=hosts_n {
        hosts.push(host(std::net::Ipv4Addr::new(127, 0, 0, i as u8)).await?);
    }
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("pages.db").display());
    config.articles.allow_private_networks = vec!["127.0.0.0/8".into()];
    config.articles.per_host_interval_ms = interval_ms;
    config.articles.concurrent_hosts = hosts_n as u64;
    let app = App::open(config).await?;

    let queued = app
        .ingest_from_feeds(items(&app, &hosts, pages, "q")?, Utc::now())
        .await?;
    println!(
        "{} articles stored from feeds, their pages queued",
        queued.new_articles
    );
    let idle = ingest_rate(&app, &hosts, measured, "idle").await?;

    let reader = {
        let app = app.clone();
        tokio::spawn(async move {
            let queue = PageQueue::new(&app)?;
            let t = Instant::now();
            let mut total = RoundReport::default();
            loop {
                let r = queue.round(&Stop::never()).await?;
                if r.pages() == 0 {
                    break;
                }
                total.read += r.read;
                total.walls += r.walls;
                for (reason, n) in r.failed {
                    *total.failed.entry(reason).or_default() += n;
                }
            }
            let read = t.elapsed();
            let t = Instant::now();
            let stories = queue.summarise().await?;
            anyhow::Ok((read, total, stories, t.elapsed()))
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let busy = ingest_rate(&app, &hosts, measured, "busy").await?;
    let (took, report, stories, summarising) = reader.await??;
    let per_host = pages.div_ceil(hosts_n);
    let bound = Duration::from_millis(interval_ms * per_host as u64);
    println!(
        "{} pages of {pages} read over {hosts_n} hosts ({} ms late each) in {:.1?}; \
         the interval's bound: {per_host} pages a host x {interval_ms} ms = {bound:.1?}; \
         {} walls, failed {:?}; then {stories} stories summarised again in {summarising:.1?}",
        report.read,
        SLOW.as_millis(),
        took,
        report.walls,
        report.failed,
    );
    println!(
        "ingest ({measured} articles onto the store): {idle:.0} articles/s with the queue idle, \
         {busy:.0} articles/s while it reads"
    );
    Ok(())
}

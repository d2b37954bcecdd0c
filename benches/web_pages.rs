//! Story page latency over real HTTP: `storybot`'s web server on loopback, a SQLite store of
//! 100,000 stories (the `story_lookup` store) plus stories of 1,000, 20,000 and 200,000
//! articles (the sizes of the hardening work), each page fetched whole by a reqwest client.
//!
//! `cargo bench --bench web_pages` (`-- --stories N --pages N`). The store is built once into
//! `target/bench/web-<stories>.db` and reused. Prints p50 / p99 / max for: story pages of
//! random stories; each big story's page (the first view and the views after it); a page
//! that the client already has (a 304); the trending list.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{arg, report, Rng};
use storybot::app::App;
use storybot::config::Config;
use storybot::model::StoryKey;

const BIG: [(usize, &str); 3] = [
    (1_000, "Harbour bridge reopens after repairs"),
    (20_000, "Parliament votes on the budget deal"),
    (200_000, "Comet lights up the northern sky"),
];

/// The 100,000-story store with the big stories added, built once.
async fn store(stories: usize) -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("web-{stories}.db"));
    if path.exists() {
        return Ok(path);
    }
    eprintln!("building the synthetic store at {} ...", path.display());
    let tmp = dir.join(format!("web-{stories}.db.partial"));
    let _ = std::fs::remove_file(&tmp);
    common::stores::build_store(&tmp, stories).await?;
    let store = storybot::store::Store::open(&format!("sqlite://{}", tmp.display())).await?;
    let outlets: Vec<(String, String)> = storybot::outlets::OutletDirectory::load(&[])?
        .iter()
        .filter(|o| o.bias.is_some())
        .take(400)
        .map(|o| (o.name.clone(), o.domains[0].clone()))
        .collect();
    for (size, title) in BIG {
        common::stores::write_story(&store, &format!("web-{size}"), title, size, &outlets).await;
    }
    store.close().await;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

async fn time(client: &reqwest::Client, url: &str, etag: Option<&str>) -> (Duration, u16, String) {
    let t = Instant::now();
    let mut req = client.get(url);
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let tag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.bytes().await.expect("body");
    std::hint::black_box(body);
    (t.elapsed(), status, tag)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let stories = arg("--stories", 100_000);
    let pages = arg("--pages", 2_000);
    let path = store(stories).await?;
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", path.display());
    config.web.admin_listen = String::new();
    let app = App::open(config).await?;
    println!(
        "store: {} stories, {} articles ({})",
        app.store.story_count().await?,
        app.store.article_count().await?,
        path.display()
    );
    let server = storybot::web::Server::bind(app.clone(), "127.0.0.1:0".parse()?).await?;
    let base = format!("http://{}", server.public_addr().expect("an address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let mut rng = Rng(7);
    let mut urls = Vec::with_capacity(pages);
    for _ in 0..pages {
        let key = StoryKey(1 + rng.below(stories) as i64);
        let row = app.store.story_rows(&[key]).await?.remove(0);
        urls.push(format!("{base}/story/{}", row.id));
    }
    for u in urls.iter().take(100) {
        time(&client, u, None).await;
    }
    let mut samples = Vec::with_capacity(pages);
    let mut last_tag = String::new();
    for u in &urls {
        let (d, status, tag) = time(&client, u, None).await;
        assert_eq!(status, 200, "{u}");
        samples.push(d);
        last_tag = tag;
    }
    report("story page, random stories", samples);
    let last = urls.last().expect("pages");
    let mut not_modified = Vec::new();
    for _ in 0..500 {
        let (d, status, _) = time(&client, last, Some(&last_tag)).await;
        assert_eq!(status, 304);
        not_modified.push(d);
    }
    report("  unchanged page (304)", not_modified);

    for (size, _) in BIG {
        let id = storybot::model::StoryId::derive(&format!("web-{size}"), 8);
        let url = format!("{base}/story/{id}");
        let (first, status, _) = time(&client, &url, None).await;
        assert_eq!(status, 200, "{url}");
        let mut views = Vec::new();
        for _ in 0..50 {
            views.push(time(&client, &url, None).await.0);
        }
        println!(
            "story of {size:>7} articles: first view {:.1} ms",
            first.as_secs_f64() * 1e3
        );
        report(&format!("  story of {size} articles"), views);
    }
    let mut trending = Vec::new();
    for _ in 0..50 {
        trending.push(time(&client, &format!("{base}/"), None).await.0);
    }
    report("trending list (/)", trending);
    let _ = stop.send(());
    serving.await??;
    Ok(())
}

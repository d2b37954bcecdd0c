//! The article pages beside ingest, through the `storybot` binary: a feed served on loopback
//! whose items link to pages on the same server. A short feed text has its page read and the
//! story summarised again from the page's words; a long one is not fetched; a wall keeps the
//! feed's text; robots.txt and a link to the metadata address are refused and counted; a
//! process killed in the middle of the queue loses nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_storybot")
}

/// A page whose every paragraph says `word`, the one word the feed never gives.
fn article_page(n: usize, word: &str) -> String {
    let p: String = (0..6)
        .map(|i| {
            format!(
                "<p>The harbour commission said the {word} would protect the old quay, \
                 paragraph {i} of report {n} explained, and the vote was seven to two in favour \
                 of building it before the winter storms.</p>"
            )
        })
        .collect();
    format!(
        "<html><head><title>Harbour commission votes {n}</title></head><body><nav>Home News \
         Sport</nav><article><h1>Harbour commission votes {n}</h1>{p}</article>\
         <footer>Copyright</footer></body></html>"
    )
}

fn item(title: &str, link: &str, description: &str, minutes_ago: i64) -> String {
    let date = (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago)).to_rfc2822();
    format!(
        "<item><title>{title}</title><link>{link}</link><description>{description}</description>\
         <pubDate>{date}</pubDate></item>"
    )
}

fn rss(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Harbour</title>{}</channel></rss>",
        items.concat()
    )
}

async fn serve(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

fn html(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8")
}

/// A config reading pages from loopback (the test server) quickly.
fn config(dir: &Path, store: Option<&str>, feed: &str, interval_ms: u64) -> PathBuf {
    let path = dir.join("config.toml");
    let sqlite = format!("sqlite://{}", dir.join("pages.db").display());
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"{}\"\n[ingest]\nmax_age_hours = 0\n\
             [articles]\nallow_private_networks = [\"127.0.0.0/8\"]\nper_host_interval_ms = {interval_ms}\n\
             contact = \"ops@news.example.org\"\ntimeout_seconds = 5\n\
             [[feeds]]\nurl = \"{feed}\"\n",
            store.unwrap_or(&sqlite)
        ),
    )
    .unwrap();
    path
}

fn storybot(config: &Path, args: &[&str]) -> String {
    let out = Command::new(exe())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "storybot {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn requests_to(server: &MockServer, prefix: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.url.path().to_string())
        .filter(|p| p.starts_with(prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_feed_items_are_read_from_their_pages_and_the_story_told_from_them() {
    pages_read_into(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_queue_works_the_same_on_postgres() {
    let Some(pg) = crate::common::PgSchema::create("page queue on Postgres").await else {
        return;
    };
    pages_read_into(Some(&pg.url)).await;
    pg.drop().await;
}

/// The feed of the harbour story read into `store` (a new SQLite file when `None`).
async fn pages_read_into(store: Option<&str>) {
    let server = MockServer::start().await;
    let base = server.uri();
    serve(
        &server,
        "/robots.txt",
        ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /private/\n"),
    )
    .await;
    for n in 1..=3 {
        // The first page names a lead image over https, the second over plain http.
        let image = match n {
            1 => "<meta property=\"og:image\" content=\"https://img.example/quay.jpg\">",
            2 => "<meta property=\"og:image\" content=\"http://img.example/plain.jpg\">",
            _ => "",
        };
        let page = article_page(n, "breakwater").replace("<head>", &format!("<head>{image}"));
        serve(&server, &format!("/news/{n}"), html(page)).await;
    }
    serve(
        &server,
        "/news/locked",
        html(
            "<html><body><article><p>The harbour commission met on Monday.</p>\
             <div class=\"paywall\"><p>Subscribe to continue reading.</p></div></article></body></html>"
                .into(),
        ),
    )
    .await;
    let long = "The harbour commission met again on Tuesday to hear from residents of the quay. "
        .repeat(10);
    let items = [
        item(
            "Harbour commission votes on quay plan",
            &format!("{base}/news/1"),
            "The commission met.",
            50,
        ),
        item(
            "Harbour commission votes on the quay plan",
            &format!("{base}/news/2"),
            "A vote was held.",
            40,
        ),
        item(
            "Harbour commission vote on quay plan passes",
            &format!("{base}/news/3"),
            "It passed.",
            30,
        ),
        item(
            "Harbour commission quay plan vote locked",
            &format!("{base}/news/locked"),
            "Members only.",
            25,
        ),
        item(
            "Harbour commission quay plan vote private",
            &format!("{base}/private/4"),
            "Hidden.",
            20,
        ),
        item(
            "Harbour commission quay plan vote cloud",
            "http://169.254.169.254/latest/meta-data/",
            "Metadata.",
            15,
        ),
        item(
            "Harbour commission quay plan hearing",
            &format!("{base}/news/long"),
            &long,
            10,
        ),
    ];
    serve(
        &server,
        "/feed.xml",
        ResponseTemplate::new(200).set_body_raw(rss(&items), "application/rss+xml"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), store, &format!("{base}/feed.xml"), 100);

    let out = storybot(&config, &["ingest", "--once"]);
    assert!(out.contains("7 new articles"), "{out}");
    assert!(
        out.contains("article pages: 3 read, 1 walls"),
        "the three pages read, the paywall recognised: {out}"
    );
    let story = storybot(&config, &["story", "harbour commission"]);
    assert!(
        story.to_lowercase().contains("breakwater"),
        "the key points come from the pages' text, which alone says breakwater:\n{story}"
    );
    assert!(
        !story.contains("Subscribe"),
        "never a wall's words:\n{story}"
    );
    let json: serde_json::Value = serde_json::from_str(&storybot(
        &config,
        &["story", "harbour commission", "--json"],
    ))
    .unwrap();
    let embed = &json["embeds"][0];
    assert_eq!(
        embed["thumbnail"]["url"], "https://img.example/quay.jpg",
        "the page's https lead image is the embed's thumbnail: {embed}"
    );
    assert!(
        !json.to_string().contains("plain.jpg"),
        "never an http image"
    );
    if let Some(mut schema) = crate::common::DiscordSchema::load("article_queue thumbnail") {
        schema.assert_valid("MessageCreateRequest", &json);
    }
    let footer = embed["footer"]["text"].as_str().unwrap();
    let id = footer.split_whitespace().nth(1).unwrap().to_string();

    let pages = requests_to(&server, "/news/").await;
    assert!(
        !pages.iter().any(|p| p == "/news/long"),
        "a long feed text needs no page: {pages:?}"
    );
    assert!(
        requests_to(&server, "/private/").await.is_empty(),
        "robots.txt obeyed"
    );
    let feeds = storybot(&config, &["feeds"]);
    assert!(
        feeds.contains("article pages: 3 read, 1 walls, 0 queued, 2 failed (refused 1, robots 1)"),
        "{feeds}"
    );
    assert!(feeds.contains("127.0.0.1"), "counted per host: {feeds}");
    operators_and_story_pages_show_the_pages(&config, &id).await;
    let agents: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/news/"))
        .filter_map(|r| {
            r.headers
                .get("user-agent")
                .map(|v| v.to_str().unwrap().to_string())
        })
        .collect();
    assert!(
        agents
            .iter()
            .all(|a| a.starts_with("storybot/") && a.contains("mailto:ops@news.example.org")),
        "{agents:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_in_the_middle_of_the_queue_loses_no_page() {
    let server = MockServer::start().await;
    let base = server.uri();
    serve(&server, "/robots.txt", ResponseTemplate::new(404)).await;
    let mut items = Vec::new();
    for n in 1..=6 {
        serve(
            &server,
            &format!("/news/{n}"),
            html(article_page(n, "breakwater")),
        )
        .await;
        items.push(item(
            &format!("Harbour commission votes on quay plan, report {n}"),
            &format!("{base}/news/{n}"),
            "The commission met.",
            60 - n as i64,
        ));
    }
    serve(
        &server,
        "/feed.xml",
        ResponseTemplate::new(200).set_body_raw(rss(&items), "application/rss+xml"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    // A page a second from the one host: the service is killed after the second.
    let config = config(dir.path(), None, &format!("{base}/feed.xml"), 1_000);
    let mut service = tokio::process::Command::new(exe())
        .arg("--config")
        .arg(&config)
        .arg("ingest")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while requests_to(&server, "/news/").await.len() < 2 {
        assert!(Instant::now() < deadline, "the service read no page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service.start_kill().unwrap();
    service.wait().await.unwrap();
    let before = requests_to(&server, "/news/").await.len();
    assert!(
        before < 6,
        "killed with pages left in the queue ({before} read)"
    );

    let out = storybot(&config, &["ingest", "--once"]);
    assert!(out.contains("article pages:"), "{out}");
    let feeds = storybot(&config, &["feeds"]);
    assert!(
        feeds.contains("article pages: 6 read, 0 walls, 0 queued, 0 failed"),
        "every page read once the queue resumed: {feeds}\n{out}"
    );
    let pages = requests_to(&server, "/news/").await;
    for n in 1..=6 {
        let asked = pages.iter().filter(|p| **p == format!("/news/{n}")).count();
        assert!(
            (1..=2).contains(&asked),
            "page {n} asked {asked} times: {pages:?}"
        );
    }
    let story = storybot(&config, &["story", "harbour commission"]);
    assert!(story.to_lowercase().contains("breakwater"), "{story}");
}

/// The operators' `/feeds` and `/metrics` count the pages per host; the story page shows the
/// lead image.
async fn operators_and_story_pages_show_the_pages(config: &Path, id: &str) {
    let mut c = storybot::config::Config::load(config).unwrap();
    c.web.admin_listen = "127.0.0.1:0".into();
    let app = storybot::app::App::open(c).await.unwrap();
    let server = storybot::web::Server::bind(app, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let public = format!("http://{}", server.public_addr().unwrap());
    let admin = format!("http://{}", server.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let get = |url: String| async move { reqwest::get(url).await.unwrap().text().await.unwrap() };
    let metrics = get(format!("{admin}/metrics")).await;
    for line in [
        "storybot_article_pages{host=\"127.0.0.1\",outcome=\"read\"} 3",
        "storybot_article_pages{host=\"127.0.0.1\",outcome=\"wall\"} 1",
        "storybot_article_pages{host=\"127.0.0.1\",outcome=\"failed_robots\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    let feeds = get(format!("{admin}/feeds")).await;
    assert!(
        feeds.contains("Article pages") && feeds.contains("127.0.0.1"),
        "{feeds}"
    );
    let page = get(format!("{public}/story/{id}")).await;
    assert!(
        page.contains("src=\"https://img.example/quay.jpg\""),
        "the lead image on the story page: {page}"
    );
    let _ = stop.send(());
}

//! The web pages over real HTTP on loopback: every page and status code, hostile text, the
//! security headers, ETags, the operators' pages and their token, the JSON API; and the story
//! page in a real headless Chromium (screenshots written to target/screenshots/).

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::header;
use reqwest::StatusCode;
use storybot::app::App;
use storybot::model::StoryKey;

use crate::common;

/// A web server on loopback for `app`, stopped when the guard drops.
pub(crate) struct Served {
    pub(crate) base: String,
    pub(crate) admin: Option<String>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub(crate) async fn serve(app: &App) -> Served {
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = storybot::web::Server::bind(app.clone(), listen)
        .await
        .expect("bind");
    let base = format!("http://{}", server.public_addr().unwrap());
    let admin = server.admin_addr().map(|a| format!("http://{a}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Served {
        base,
        admin,
        _stop: stop,
    }
}

/// A demo store whose operators' listener takes any free loopback port.
async fn demo_app(token_env: &str) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = storybot::config::Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("web.db").display());
    config.store.seed_demo = true;
    config.web.admin_listen = "127.0.0.1:0".into();
    config.web.admin_token_env = token_env.into();
    (App::open(config).await.unwrap(), dir)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub(crate) async fn get(url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = client().get(url).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// `&amp;` and friends back to text, for comparing hrefs with stored URLs.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every `href="..."` value in a page, unescaped.
pub(crate) fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(unescape)
        .collect()
}

/// The demo story with the most articles.
async fn biggest(app: &App) -> storybot::model::Story {
    let rows = app.store.stories_after(None, 1_000).await.unwrap();
    let row = rows.into_iter().max_by_key(|r| r.article_count).unwrap();
    app.store.with_coverage(row).await.unwrap()
}

#[tokio::test]
async fn every_page_answers_with_the_right_status_and_headers() {
    let (app, _dir) = demo_app("STORYBOT_TEST_TOKEN_UNSET_1").await;
    let web = serve(&app).await;
    let story = biggest(&app).await;
    for (path, want) in [
        ("/".to_string(), StatusCode::OK),
        ("/blindspot".into(), StatusCode::OK),
        ("/search?q=recall".into(), StatusCode::OK),
        ("/search".into(), StatusCode::OK),
        (format!("/story/{}", story.id), StatusCode::OK),
        (format!("/story/{}?side=right", story.id), StatusCode::OK),
        (
            format!("/story/{}?side=sideways", story.id),
            StatusCode::BAD_REQUEST,
        ),
        ("/story/zzzzzzzz".into(), StatusCode::NOT_FOUND),
        ("/story/not-an-id!".into(), StatusCode::NOT_FOUND),
        ("/outlet/Bloomberg".into(), StatusCode::OK),
        (
            "/outlet/No%20Such%20Outlet%20Anywhere".into(),
            StatusCode::NOT_FOUND,
        ),
        ("/no/such/page".into(), StatusCode::NOT_FOUND),
        ("/static/style.css".into(), StatusCode::OK),
        (format!("/api/story/{}", story.id), StatusCode::OK),
        ("/api/story/zzzzzzzz".into(), StatusCode::NOT_FOUND),
        ("/api/top?count=3".into(), StatusCode::OK),
        ("/api/top?count=0".into(), StatusCode::BAD_REQUEST),
        ("/api/stories?limit=5".into(), StatusCode::OK),
        ("/api/stories?after=zzzzzzzz".into(), StatusCode::NOT_FOUND),
        // The operators' pages are not on the public listener without a token.
        ("/metrics".into(), StatusCode::NOT_FOUND),
        ("/admin/metrics".into(), StatusCode::NOT_FOUND),
    ] {
        let (status, headers, body) = get(&format!("{}{path}", web.base)).await;
        assert_eq!(status, want, "{path}: {body:.300}");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        if headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
        {
            assert!(body.starts_with("<!DOCTYPE html>"), "{path}: a whole page");
            assert!(!body.contains("<script"), "{path}: no script at all");
            assert!(
                !body.contains(" style="),
                "{path}: no inline style (CSP forbids it)"
            );
        }
    }
    // Only GET and HEAD.
    let url = format!("{}/story/{}", web.base, story.id);
    let post = client().post(&url).body("x").send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let delete = client().delete(&url).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
    let head = client().head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");
}

#[tokio::test]
async fn the_story_page_lists_every_headline_and_matches_the_export() {
    let (app, _dir) = demo_app("STORYBOT_TEST_TOKEN_UNSET_2").await;
    let web = serve(&app).await;
    let story = biggest(&app).await;
    let (_, _, page) = get(&format!("{}/story/{}", web.base, story.id)).await;
    let export: serde_json::Value =
        serde_json::from_str(&get(&format!("{}/api/story/{}", web.base, story.id)).await.2)
            .unwrap();
    assert_eq!(export["id"], story.id.as_str());
    let counts = format!(
        "{} articles · {} sources",
        export["article_count"], export["source_count"]
    );
    assert!(page.contains(&counts), "{counts} on the page");
    for point in export["key_points"].as_array().unwrap() {
        let point = maud::html! { (point.as_str().unwrap()) }.into_string();
        assert!(page.contains(&point), "key point {point} on the page");
    }
    let bias = &export["bias"];
    for side in ["left", "center", "right"] {
        let shown = format!("data-side=\"{side}\" data-percent=\"{}\"", bias[side]);
        assert!(page.contains(&shown), "{shown}");
    }
    // Every headline, over each side's pages: the stored articles, each exactly once.
    let articles = common::articles(&app, story.key).await;
    assert_eq!(
        articles.len() as u64,
        export["article_count"].as_u64().unwrap()
    );
    assert_eq!(export["articles"].as_array().unwrap().len(), articles.len());
    let mut linked = Vec::new();
    for side in ["left", "center", "right", "unrated"] {
        for page_no in 1..=10 {
            let url = format!("{}/story/{}?side={side}&page={page_no}", web.base, story.id);
            let (status, _, html) = get(&url).await;
            assert_eq!(status, StatusCode::OK);
            let before = linked.len();
            linked.extend(hrefs(&html).into_iter().filter(|h| h.starts_with("http")));
            if !html.contains("rel=\"next\"") {
                assert!(linked.len() > before || !html.contains("ul class=\"headlines\"><li"));
                break;
            }
        }
    }
    let mut want: Vec<String> = articles.iter().map(|a| a.url.clone()).collect();
    want.sort();
    linked.sort();
    assert_eq!(linked, want, "every headline once, linked to its article");
    // A filter shows one side only; the story's page is cached by its ETag.
    let (_, headers, right) = get(&format!("{}/story/{}?side=right", web.base, story.id)).await;
    assert!(right.contains("id=\"right\"") && !right.contains("id=\"left\""));
    let etag = headers[header::ETAG].clone();
    let again = client()
        .get(format!("{}/story/{}?side=right", web.base, story.id))
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[header::ETAG], etag);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_merged_story_redirects_permanently_to_the_story_it_joined() {
    let (app, _dir) = demo_app("STORYBOT_TEST_TOKEN_UNSET_3").await;
    let web = serve(&app).await;
    let rows = app.store.stories_after(None, 2).await.unwrap();
    let (a, b) = (rows[0].clone(), rows[1].clone());
    let mut tx = app.store.begin().await.unwrap();
    tx.merge_story(b.key, a.key).await.unwrap();
    tx.commit().await.unwrap();
    for (path, to) in [
        (format!("/story/{}", b.id), format!("/story/{}", a.id)),
        (
            format!("/api/story/{}", b.id),
            format!("/api/story/{}", a.id),
        ),
    ] {
        let (status, headers, _) = get(&format!("{}{path}", web.base)).await;
        assert_eq!(status, StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(headers[header::LOCATION], to.as_str());
    }
    // Nothing else redirects: no address from a request ever becomes a Location.
    let (status, headers, _) = get(&format!("{}/story/%2F%2Fevil.example", web.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get(header::LOCATION).is_none());
}

#[tokio::test]
async fn hostile_titles_outlets_and_queries_are_text() {
    let (app, _dir) = common::temp_app(false).await;
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)> \"quoted' @everyone";
    let lines: String = (0..3)
        .map(|i| {
            serde_json::json!({
                "url": format!("https://evil{i}.example/a?x=1&y=\"2\""),
                "title": format!("{evil} peace talks {i}"),
                "summary": "<b>bold</b> & <i>more</i>",
                "outlet": format!("<b>Evil</b> Outlet {i}"),
                "story": "evil",
                "published": "2024-05-01T10:00:00Z",
            })
            .to_string()
                + "\n"
        })
        .collect();
    let report = app.import(std::io::Cursor::new(lines)).await.unwrap();
    assert_eq!(report.batch.new_articles, 3, "{report:?}");
    let web = serve(&app).await;
    let story = app.store.stories_after(None, 1).await.unwrap().remove(0);
    let query = url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>();
    for path in [
        format!("/story/{}", story.id),
        "/".into(),
        format!("/search?q={query}"),
        format!(
            "/outlet/{}",
            url::form_urlencoded::byte_serialize(b"<b>Evil</b> Outlet 1")
                .collect::<String>()
                .replace('+', "%20")
        ),
    ] {
        let (status, _, body) = get(&format!("{}{path}", web.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body:.300}");
        assert!(!body.contains("<script"), "{path}");
        assert!(!body.contains("<img"), "{path}");
        assert!(!body.contains("<b>"), "{path}");
        assert!(
            body.contains("&lt;script&gt;") || body.contains("&lt;b&gt;"),
            "{path}: shown as text"
        );
    }
    // A query is bounded as in the bot: 10,000 characters are refused with the reason.
    let long = "a".repeat(10_000);
    let (status, _, body) = get(&format!("{}/search?q={long}", web.base)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("too long"), "{body:.500}");
}

#[tokio::test]
async fn the_operators_pages_report_feeds_subscriptions_health_and_metrics() {
    let token_env = "STORYBOT_TEST_WEB_ADMIN_TOKEN";
    // SAFETY (edition 2021: safe): only this test reads this variable.
    std::env::set_var(token_env, "s3cret-admin-token");
    let (app, _dir) = demo_app(token_env).await;
    app.store
        .subscribe(
            &storybot::model::NewSubscription {
                guild_id: 42,
                channel_id: 4242,
                channel_kind: Default::default(),
                options: Default::default(),
                follow: storybot::model::Follow::Topic {
                    query: "<i>recall</i>".into(),
                },
                watermark: StoryKey(0),
                last_count: 0,
                last_sides: 0,
                created_by: 7,
            },
            25,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let web = serve(&app).await;
    let admin = web.admin.clone().expect("an operators' listener");
    let (status, headers, health) = get(&format!("{admin}/healthz")).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "ok");
    assert!(health["last_article_age_seconds"].is_u64());
    let (status, _, subs) = get(&format!("{admin}/subscriptions")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(subs.contains("Server 42") && subs.contains("4242") && subs.contains("active"));
    assert!(subs.contains("&lt;i&gt;recall"), "the query is text");
    let (status, _, feeds) = get(&format!("{admin}/feeds")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(feeds.contains("configured feeds"));
    let (status, headers, metrics) = get(&format!("{admin}/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let stories = app.store.story_count().await.unwrap();
    assert!(
        metrics.contains(&format!("\nstorybot_stories {stories}\n")),
        "{metrics}"
    );
    assert!(metrics.contains("\nstorybot_articles 817\n"));
    assert!(metrics.contains("# TYPE storybot_interaction_latency_seconds histogram"));
    assert!(metrics.contains("storybot_outbox_pending 0"));
    // Under /admin/ on the public listener: the token or nothing.
    for (auth, want) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("Bearer wrong"), StatusCode::UNAUTHORIZED),
        (Some("Bearer s3cret-admin-token"), StatusCode::OK),
    ] {
        let mut req = client().get(format!("{}/admin/metrics", web.base));
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), want, "{auth:?}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("s3cret"), "the token never shows");
    }
}

#[tokio::test]
async fn the_operators_pages_refuse_a_public_address_and_a_port_in_use_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = storybot::config::Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("w.db").display());
    config.web.admin_listen = "0.0.0.0:0".into();
    let app = App::open(config).await.unwrap();
    let err = storybot::web::Server::bind(app.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("not a loopback address"), "{err}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = storybot::config::Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("w.db").display());
    config.web.admin_listen = String::new();
    let app = App::open(config).await.unwrap();
    let err = storybot::web::Server::bind(app, taken.local_addr().unwrap())
        .await
        .err()
        .expect("port in use");
    assert!(err.to_string().contains("web.listen"), "{err}");
}

#[tokio::test]
async fn public_url_makes_digest_titles_link_to_the_story_page() {
    let mut config = storybot::config::Config::default();
    config.web.public_url = "https://news.example.org/".into();
    let settings = storybot::config::Settings::new(&config).unwrap();
    assert_eq!(
        settings.digest.story_url.as_deref(),
        Some("https://news.example.org/story/{id}")
    );
    let (app, _dir) = common::temp_app(true).await;
    let story = biggest(&app).await;
    let app = App::with_settings(settings_with_store(&app, &config))
        .await
        .unwrap();
    let digest = app.digest(&story).await.unwrap();
    assert_eq!(
        digest.link.as_deref(),
        Some(format!("https://news.example.org/story/{}", story.id).as_str())
    );
    config.web.public_url = "javascript:alert(1)".into();
    let err = storybot::config::Settings::new(&config).unwrap_err();
    assert!(err.to_string().contains("web.public_url"), "{err}");
}

fn settings_with_store(app: &App, config: &storybot::config::Config) -> storybot::config::Settings {
    let mut config = config.clone();
    config.store.url = app.settings.store.url.clone();
    storybot::config::Settings::new(&config).unwrap()
}

/// The headless browser, when installed (CI installs it; STORYBOT_REQUIRE_BROWSER=1 makes
/// its absence a failure).
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() && std::env::var("STORYBOT_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("no chromium to run the browser test (apt-get install chromium)");
    }
    found
}

async fn browser(bin: &str, args: &[String]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the browser finished")
        .expect("the browser ran")
}

#[tokio::test]
async fn a_real_browser_renders_the_story_page() {
    let Some(bin) = chromium() else {
        common::skip(
            "a_real_browser_renders_the_story_page",
            "no chromium installed",
        );
        return;
    };
    let (app, _dir) = demo_app("STORYBOT_TEST_TOKEN_UNSET_4").await;
    let web = serve(&app).await;
    // A demo story small enough that the page lists all its headlines at once.
    let rows = app.store.stories_after(None, 1_000).await.unwrap();
    let row = rows
        .into_iter()
        .filter(|r| r.article_count <= 50 && r.source_count >= 5)
        .max_by_key(|r| r.article_count)
        .unwrap();
    let story = app.store.with_coverage(row).await.unwrap();
    let url = format!("{}/story/{}", web.base, story.id);
    let out = browser(bin, &["--dump-dom".into(), url.clone()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    // What a reader sees, from the DOM the browser built.
    let digest = app.digest(&story).await.unwrap();
    let h1 = maud::html! { h1 { (digest.title) } }.into_string();
    assert!(dom.contains(&h1), "the title as the page's heading");
    assert!(dom.contains("<ul class=\"keypoints\">"));
    for p in &digest.key_points {
        assert!(
            dom.contains(&maud::html! { li { (p) } }.into_string()),
            "key point {p}"
        );
    }
    let percents: Vec<u32> = dom
        .split("data-percent=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(percents.len(), 3, "three shares shown");
    assert_eq!(percents.iter().sum::<u32>(), 100, "{percents:?}");
    let bars = dom.split("<rect ").count() - 1;
    let timeline = dom
        .split("id=\"timeline\"")
        .nth(1)
        .expect("the timeline is drawn");
    assert!(
        timeline.split("</svg>").next().unwrap().contains("<rect "),
        "bars drawn"
    );
    assert!(bars > 3);
    let links = hrefs(&dom);
    for a in common::articles(&app, story.key).await {
        assert!(
            links.contains(&a.url),
            "headline {} links to {}",
            a.title,
            a.url
        );
    }
    // Every link on the page that stays on the site works.
    for l in links.iter().filter(|l| l.starts_with('/')) {
        let (status, _, _) = get(&format!("{}{l}", web.base)).await;
        assert_eq!(status, StatusCode::OK, "{l}");
    }
    // Screenshots at phone and desktop widths, as artifacts.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, size) in [
        ("story-phone.png", "390,1800"),
        ("story-desktop.png", "1280,2000"),
    ] {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        let out = browser(
            bin,
            &[
                format!("--screenshot={}", path.display()),
                format!("--window-size={size}"),
                url.clone(),
            ],
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = std::fs::read(&path).expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}: {} bytes",
            png.len()
        );
        println!("screenshot: {}", path.display());
    }
}

/// A free loopback port (bound, then released for the process under test).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `url` until `done` holds for its body, or panics with the last body.
async fn wait_for_page(url: &str, what: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(r) = client().get(url).send().await {
            let status = r.status().as_u16();
            last = r.text().await.unwrap_or_default();
            if done(status, &last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not seen at {url}; last answer:\n{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storybot_run_serves_the_pages_and_reports_its_gateway_and_interactions() {
    use common::fake_discord::FakeDiscord;
    const TOKEN: &str = "fake-bot-token.for-the-web-tests.0123456789";
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"sqlite://{}\"\nseed_demo = true\n\
             [discord]\napi_base_url = \"{}\"\n\
             [web]\nlisten = \"127.0.0.1:{public}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
             public_url = \"https://news.example.org\"\n",
            dir.path().join("run.db").display(),
            fake.base_url
        ),
    )
    .unwrap();
    let log = dir.path().join("run.log");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_storybot"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("DISCORD_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    fake.wait_ready(1, Duration::from_secs(90)).await;
    let health = wait_for_page(
        &format!("http://127.0.0.1:{admin}/healthz"),
        "a connected gateway",
        |status, body| status == 200 && body.contains("\"connected\":1"),
    )
    .await;
    assert!(health.contains("\"shards\":1"), "{health}");
    let id = fake.command(
        "story",
        serde_json::json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
    );
    let metrics = wait_for_page(
        &format!("http://127.0.0.1:{admin}/metrics"),
        "the answered /story in the metrics",
        |_, body| body.contains("storybot_interactions_total{command=\"story\",outcome=\"ok\"} 1"),
    )
    .await;
    assert!(
        metrics.contains("storybot_gateway_shards_connected 1"),
        "{metrics}"
    );
    assert!(metrics.contains("storybot_interaction_latency_seconds_count 1"));
    let requests: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("storybot_discord_requests_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(requests >= 1, "the answer counted as a REST request");
    // The answer's title links to the story's page at the public address.
    let answer = fake
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with(&format!("/api/v10/interactions/{id}/")))
        .expect("an answer");
    let payload = answer.json.expect("a JSON answer");
    let url = payload["data"]["embeds"][0]["url"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(url.starts_with("https://news.example.org/story/"), "{url}");
    let path = url.trim_start_matches("https://news.example.org");
    let (status, _, page) = get(&format!("http://127.0.0.1:{public}{path}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<h1>"),
        "the story's page is served by the same process"
    );
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("exits")
        .unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{log}");
    assert!(!log.contains(TOKEN), "the token never reaches the log");
}

#[tokio::test]
async fn storybot_serve_prints_where_it_listens_and_stops_on_sigterm() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[store]\nurl = \"sqlite://serve.db\"\nseed_demo = true\n[web]\nadmin_listen = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_storybot"))
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut urls = Vec::new();
    while urls.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("serve prints its addresses")
            .unwrap()
            .expect("a line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap();
        urls.push(url.to_string());
    }
    let (status, _, page) = get(&urls[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Trending stories") && page.contains("/story/"));
    let (status, _, health) = get(&format!("{}healthz", urls[1])).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert!(health.contains("not running in this process"));
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_story_page_shows_an_article_as_soon_as_it_joins() {
    let (app, _dir) = common::temp_app(false).await;
    let line = |i: usize| {
        serde_json::json!({
            "url": format!("https://www.reuters.com/world/talks-{i}"),
            "title": format!("Peace talks resume in Geneva, day {i}"),
            "story": "geneva",
            "published": format!("2024-05-01T1{i}:00:00Z"),
        })
        .to_string()
            + "\n"
    };
    app.import(std::io::Cursor::new(line(1) + &line(2)))
        .await
        .unwrap();
    let web = serve(&app).await;
    let story = app.store.stories_after(None, 1).await.unwrap().remove(0);
    let url = format!("{}/story/{}", web.base, story.id);
    let (_, before, page) = get(&url).await;
    assert!(page.contains("talks-2") && !page.contains("talks-3"));
    let (_, again, _) = get(&url).await;
    assert_eq!(
        before[header::ETAG],
        again[header::ETAG],
        "unchanged: same page"
    );
    app.import(std::io::Cursor::new(line(3))).await.unwrap();
    let (_, after, page) = get(&url).await;
    assert!(page.contains("talks-3"), "the new article is on the page");
    assert!(page.contains("3 articles"));
    assert_ne!(before[header::ETAG], after[header::ETAG]);
}

#[tokio::test]
async fn the_pages_read_a_postgres_store_too() {
    let test = "the_pages_read_a_postgres_store_too";
    let Some(pg) = common::PgSchema::create(test).await else {
        return;
    };
    let mut config = storybot::config::Config::default();
    config.store.url = pg.url.clone();
    config.store.seed_demo = true;
    config.web.admin_listen = "127.0.0.1:0".into();
    let app = App::open(config).await.unwrap();
    let web = serve(&app).await;
    let admin = web.admin.clone().unwrap();
    let story = biggest(&app).await;
    let articles = common::articles(&app, story.key).await;
    let outlet = url::form_urlencoded::byte_serialize(articles[0].outlet.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    for url in [
        format!("{}/", web.base),
        format!("{}/search?q=recall", web.base),
        format!("{}/story/{}", web.base, story.id),
        format!("{}/story/{}?side=unrated&page=2", web.base, story.id),
        format!("{}/outlet/{outlet}", web.base),
        format!("{}/api/stories?limit=100", web.base),
        format!("{admin}/subscriptions"),
        format!("{admin}/metrics"),
        format!("{admin}/healthz"),
    ] {
        let (status, _, body) = get(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body:.300}");
    }
    let (_, _, page) = get(&format!("{}/story/{}", web.base, story.id)).await;
    assert!(page.contains("id=\"timeline\""), "the timeline on Postgres");
    let (_, _, outlet_page) = get(&format!("{}/outlet/{outlet}", web.base)).await;
    assert!(
        outlet_page.contains(&format!("/story/{}", story.id)),
        "its articles' stories"
    );
    drop(web);
    app.store.close().await;
    pg.drop().await;
}

//! Reading an article's page: real pages (from `../shared`) served on loopback and
//! extracted, robots.txt obeyed, one request at a time per host and spaced, a slow host, a
//! huge page, a non-HTML answer, a wall, and every way a link could reach a private address
//! refused (a literal, a name that resolves to loopback, a redirect, `file://`), before any
//! request is made where it can be.

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use storybot::ingest::address::{Policy, Refused};
use storybot::ingest::page::{Fetched, PageError, PageFetcher, PageSettings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn settings(policy: Policy) -> PageSettings {
    PageSettings {
        user_agent: "storybot/test (+https://bot.example/contact)".into(),
        timeout: Duration::from_secs(2),
        max_bytes: 5 * 1024 * 1024,
        per_host_interval: Duration::from_millis(300),
        host_failure_budget: 3,
        host_rest: Duration::from_secs(60),
        policy,
    }
}

/// A fetcher that may reach 127.0.0.1 (the test server) and nothing else private.
fn loopback_fetcher() -> PageFetcher {
    PageFetcher::new(settings(Policy::new(vec!["127.0.0.1/32".parse().unwrap()]))).unwrap()
}

fn html(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/html; charset=utf-8")
}

async fn server_with_robots(robots: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/robots.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string(robots))
        .mount(&server)
        .await;
    server
}

fn page_of(fetched: Fetched) -> storybot::ingest::page::Page {
    match fetched {
        Fetched::Page(p) => p,
        Fetched::NotModified => panic!("not modified"),
    }
}

#[tokio::test]
async fn real_article_pages_on_loopback_are_read_and_their_text_extracted() {
    let Some(shared) = crate::common::shared_dir() else {
        crate::common::skip("article pages", "no ../shared");
        return;
    };
    let dir = shared.join("data/articles");
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ground-truth.json")).unwrap())
            .unwrap();
    let server = server_with_robots("User-agent: *\nAllow: /\n").await;
    let fetcher = loopback_fetcher();
    let mut checked = 0;
    for (key, page) in truth.as_object().unwrap().iter().take(12) {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(dir.join("html").join(format!("{key}.html.gz"))).unwrap(),
        )
        .read_to_end(&mut bytes)
        .unwrap();
        Mock::given(method("GET"))
            .and(path(format!("/{key}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(bytes, "text/html"))
            .mount(&server)
            .await;
        let got = page_of(
            fetcher
                .fetch(&format!("{}/{key}", server.uri()), None, None)
                .await
                .unwrap(),
        );
        let e = storybot::ingest::extract::extract(&got.html, page["url"].as_str());
        let body = page["articleBody"].as_str().unwrap();
        // The marked text's words are found in what was extracted, most of them.
        let words: Vec<&str> = body.split_whitespace().take(200).collect();
        let found = words.iter().filter(|w| e.text.contains(*w)).count();
        assert!(
            found * 10 >= words.len() * 8,
            "{key}: {found} of {} words of the marked text in {:?}",
            words.len(),
            e.text.chars().take(200).collect::<String>()
        );
        checked += 1;
    }
    assert_eq!(checked, 12);
}

#[tokio::test]
async fn robots_txt_is_obeyed_and_a_disallowed_page_is_never_requested() {
    let server = server_with_robots("User-agent: *\nDisallow: /private/\n").await;
    Mock::given(method("GET"))
        .respond_with(html("<html><body><p>ok</p></body></html>"))
        .mount(&server)
        .await;
    let fetcher = loopback_fetcher();
    let err = fetcher
        .fetch(&format!("{}/private/story", server.uri()), None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, PageError::Robots(_)), "{err}");
    fetcher
        .fetch(&format!("{}/public/story", server.uri()), None, None)
        .await
        .unwrap();
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(
        paths,
        ["/robots.txt", "/public/story"],
        "robots.txt read once"
    );
    let ua = &server.received_requests().await.unwrap()[1].headers["user-agent"];
    assert!(ua
        .to_str()
        .unwrap()
        .contains("+https://bot.example/contact"));
}

/// Records when each request arrived.
struct Stamps(Arc<Mutex<Vec<Instant>>>);

impl Respond for Stamps {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(Instant::now());
        html("<html><body><p>page</p></body></html>")
    }
}

#[tokio::test]
async fn one_host_is_asked_one_page_at_a_time_and_with_the_interval_between() {
    let server = server_with_robots("User-agent: *\nAllow: /\n").await;
    let stamps = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/p"))
        .respond_with(Stamps(stamps.clone()))
        .mount(&server)
        .await;
    let fetcher = loopback_fetcher();
    let url = format!("{}/p", server.uri());
    let all = (0..4).map(|_| {
        let (f, u) = (fetcher.clone(), url.clone());
        tokio::spawn(async move { f.fetch(&u, None, None).await })
    });
    for t in all {
        t.await.unwrap().unwrap();
    }
    let stamps = stamps.lock().unwrap();
    assert_eq!(stamps.len(), 4);
    for pair in stamps.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(280), "requests {gap:?} apart");
    }
}

#[tokio::test]
async fn a_slow_host_a_huge_page_and_a_non_html_answer_are_refused_with_their_reason() {
    let server = server_with_robots("").await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(html("<p>late</p>").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/huge"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(vec![b'a'; 50 * 1024 * 1024], "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/paper.pdf"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(b"%PDF-1.7".to_vec(), "application/pdf"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/untyped"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\x89PNG\r\n".to_vec()))
        .mount(&server)
        .await;
    let fetcher = loopback_fetcher();
    let get = |p: &str| {
        let (f, u) = (fetcher.clone(), format!("{}{p}", server.uri()));
        async move { f.fetch(&u, None, None).await.unwrap_err() }
    };
    assert!(matches!(get("/slow").await, PageError::Timeout(_)));
    assert!(matches!(get("/huge").await, PageError::TooLarge(_)));
    assert!(matches!(get("/paper.pdf").await, PageError::NotHtml(_)));
    assert!(matches!(get("/untyped").await, PageError::NotHtml(_)));
}

#[tokio::test]
async fn an_unchanged_page_costs_a_304() {
    let server = server_with_robots("").await;
    Mock::given(method("GET"))
        .and(path("/a"))
        .and(wiremock::matchers::header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    let fetcher = loopback_fetcher();
    let got = fetcher
        .fetch(&format!("{}/a", server.uri()), Some("\"v1\""), None)
        .await
        .unwrap();
    assert_eq!(got, Fetched::NotModified);
}

#[tokio::test]
async fn links_and_redirects_to_private_addresses_or_files_are_refused() {
    let server = server_with_robots("").await;
    for (from, to) in [
        (
            "/to-metadata",
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ),
        (
            "/to-loopback",
            format!("http://127.0.0.2:{}/", server.address().port()),
        ),
        ("/to-file", "file:///etc/passwd".to_string()),
    ] {
        Mock::given(method("GET"))
            .and(path(from))
            .respond_with(ResponseTemplate::new(302).insert_header("location", to.as_str()))
            .mount(&server)
            .await;
    }
    let fetcher = loopback_fetcher();
    for from in ["/to-metadata", "/to-loopback", "/to-file"] {
        let err = fetcher
            .fetch(&format!("{}{from}", server.uri()), None, None)
            .await
            .unwrap_err();
        assert!(matches!(err, PageError::Refused(_)), "{from}: {err}");
    }

    // With no network allowed, a link to the test server is refused before any request: by
    // its address literal, and by a name that resolves only to loopback.
    let strict = PageFetcher::new(settings(Policy::default())).unwrap();
    let before = server.received_requests().await.unwrap().len();
    let port = server.address().port();
    for link in [
        format!("http://127.0.0.1:{port}/page"),
        format!("http://localhost:{port}/page"),
        format!("http://[::1]:{port}/page"),
        "file:///etc/passwd".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
    ] {
        let err = strict.fetch(&link, None, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                PageError::Refused(
                    Refused::NotPublic(_) | Refused::Scheme(_) | Refused::NoPublicAddress { .. }
                )
            ),
            "{link}: {err}"
        );
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        before,
        "no request reached the server"
    );
}

#[tokio::test]
async fn a_paywall_is_recognised_and_gives_no_text() {
    let server = server_with_robots("").await;
    Mock::given(method("GET"))
        .and(path("/locked"))
        .respond_with(html(
            "<html><head><title>Story</title></head><body><article><p>The council met on Monday.</p>\
             <div class=\"paywall\"><p>Subscribe to continue reading.</p></div></article></body></html>",
        ))
        .mount(&server)
        .await;
    let page = page_of(
        loopback_fetcher()
            .fetch(&format!("{}/locked", server.uri()), None, None)
            .await
            .unwrap(),
    );
    let e = storybot::ingest::extract::extract(&page.html, Some(&page.url));
    assert_eq!(e.wall, Some(storybot::ingest::extract::Wall::Paywall));
    assert!(e.text.is_empty());
}

#[test]
fn storybot_extract_prints_what_a_saved_page_gives() {
    let Some(shared) = crate::common::shared_dir() else {
        crate::common::skip("storybot extract", "no ../shared");
        return;
    };
    let dir = shared.join("data/articles");
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ground-truth.json")).unwrap())
            .unwrap();
    let (key, page) = truth.as_object().unwrap().iter().next().unwrap();
    let file = dir.join("html").join(format!("{key}.html.gz"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_storybot"))
        .args(["extract", file.to_str().unwrap(), "--json", "--url"])
        .arg(page["url"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "text",
        "title",
        "published",
        "canonical_url",
        "image",
        "wall",
    ] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }
    let first: String = page["articleBody"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        json["text"].as_str().unwrap().contains(&first),
        "{first:?} in {json}"
    );
}

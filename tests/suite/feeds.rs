//! Feeds through the real fetcher from a real HTTP server on 127.0.0.1: changing feeds, 304s,
//! a 500, a hang past the timeout, an oversized body, malformed XML, duplicates across feeds,
//! disabling after repeated failures; and the real feed files in `../shared`.

use crate::common;

use chrono::{Duration, Utc};
use storybot::app::App;
use storybot::config::{Config, FeedConfig};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn rss(items: &[(&str, &str, &str)]) -> String {
    let now = Utc::now();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Test Feed</title>");
    for (i, (title, link, summary)) in items.iter().enumerate() {
        let date = (now - Duration::minutes(10 * (items.len() - i) as i64)).to_rfc2822();
        s.push_str(&format!(
            "<item><title>{title}</title><link>{link}</link><description>{summary}</description><pubDate>{date}</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

async fn app_with(
    feeds: Vec<FeedConfig>,
    tweak: impl FnOnce(&mut Config),
) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("feeds.db").display());
    config.feeds = feeds;
    config.ingest.timeout_seconds = 2;
    config.ingest.connect_timeout_seconds = 1;
    tweak(&mut config);
    (App::open(config).await.unwrap(), dir)
}

fn feed(url: String, outlet: Option<&str>) -> FeedConfig {
    FeedConfig {
        url,
        outlet: outlet.map(str::to_string),
        refresh_minutes: None,
    }
}

const GENEVA_1: (&str, &str, &str) = (
    "Peace talks resume in Geneva as envoys meet",
    "https://www.reuters.com/world/geneva-talks",
    "Envoys from both sides met in Geneva on Monday to resume peace talks.",
);
const GENEVA_2: (&str, &str, &str) = (
    "Geneva peace talks resume after months of deadlock",
    "https://www.foxnews.com/world/geneva-peace-talks?utm_source=rss",
    "Peace talks resumed in Geneva after months of deadlock, envoys said.",
);
const COMET: (&str, &str, &str) = (
    "Comet visible to the naked eye this week",
    "https://www.bbc.co.uk/news/science-comet",
    "A bright comet will be visible without a telescope this week.",
);

#[tokio::test]
async fn one_bad_feed_never_stops_the_others() {
    let server = MockServer::start().await;
    let good = rss(&[GENEVA_1, COMET]);
    Mock::given(method("GET"))
        .and(path("/good.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(good)
                .insert_header("etag", "\"v1\""),
        )
        .mount(&server)
        .await;
    // The same Fox article as another feed's item, with tracking parameters: stored once.
    let dup = rss(&[
        GENEVA_2,
        (
            "Geneva peace talks resume after months of deadlock",
            "https://www.foxnews.com/world/geneva-peace-talks",
            "Same article.",
        ),
    ]);
    Mock::given(method("GET"))
        .and(path("/dup.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(dup))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/error.xml"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(rss(&[COMET]))
                .set_delay(std::time::Duration::from_secs(6)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/huge.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            "<rss><channel>{}</channel></rss>",
            "<item><title>x</title></item>".repeat(20_000)
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/broken.xml"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<rss><channel><item><title>unclosed"),
        )
        .mount(&server)
        .await;
    let names = ["good", "dup", "error", "slow", "huge", "broken"];
    let feeds = names
        .iter()
        .map(|n| feed(format!("{}/{n}.xml", server.uri()), None))
        .collect();
    let (app, _dir) = app_with(feeds, |c| c.ingest.max_body_bytes = 64 * 1024).await;
    let poller = common::poller(&app);

    let started = std::time::Instant::now();
    let r = poller.cycle(&app, Utc::now(), true).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "the slow feed was cut at the timeout"
    );
    assert_eq!(r.feeds_fetched, 2, "{r:?}");
    assert_eq!(r.failed, 4, "{r:?}");
    assert_eq!(
        r.written.new_articles, 3,
        "4 items, one a duplicate by canonical URL: {r:?}"
    );
    assert_eq!(
        app.store.story_count().await.unwrap(),
        2,
        "Geneva talks and the comet"
    );

    let state = |n: &str| {
        let url = format!("{}/{n}.xml", server.uri());
        let app = app.clone();
        async move { app.store.feed_state(&url).await.unwrap() }
    };
    assert_eq!(state("error").await.last_error.as_deref(), Some("HTTP 500"));
    assert!(state("slow")
        .await
        .last_error
        .unwrap()
        .contains("timed out"));
    assert!(state("huge")
        .await
        .last_error
        .unwrap()
        .contains("larger than 65536 bytes"));
    assert!(state("broken")
        .await
        .last_error
        .unwrap()
        .starts_with("not a feed"));
    let good = state("good").await;
    assert_eq!((good.failures, good.items), (0, 2));
    assert_eq!(good.etag.as_deref(), Some("\"v1\""));
    assert!(good.next_fetch.unwrap() > Utc::now());
    let error = state("error").await;
    assert_eq!(error.failures, 1);
    assert!(
        error.next_fetch.unwrap() > Utc::now() + Duration::minutes(20),
        "backed off past the interval"
    );
}

#[tokio::test]
async fn unchanged_feeds_cost_a_304_and_changed_feeds_grow_stories() {
    let server = MockServer::start().await;
    // With the validator from the first response, the server answers 304.
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(rss(&[GENEVA_1]))
                .insert_header("etag", "\"v1\""),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let (app, _dir) = app_with(
        vec![feed(format!("{}/feed.xml", server.uri()), None)],
        |_| {},
    )
    .await;
    let poller = common::poller(&app);
    let first = poller.cycle(&app, Utc::now(), true).await.unwrap();
    assert_eq!(
        (first.written.new_articles, first.written.new_stories),
        (1, 1)
    );
    let second = poller.cycle(&app, Utc::now(), true).await.unwrap();
    assert_eq!(second.not_modified, 1, "{second:?}");
    assert_eq!(second.written.new_articles, 0);

    // The feed changes: a second article on the same event joins the story.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(rss(&[GENEVA_1, GENEVA_2, COMET]))
                .insert_header("etag", "\"v2\""),
        )
        .mount(&server)
        .await;
    let third = poller.cycle(&app, Utc::now(), true).await.unwrap();
    assert_eq!(third.written.new_articles, 2, "{third:?}");
    assert_eq!(
        third.written.updated_stories, 1,
        "the Geneva story grew: {third:?}"
    );
    assert_eq!(
        third.written.new_stories, 1,
        "the comet is a story of its own: {third:?}"
    );
    let rows = app.store.stories_after(None, 10).await.unwrap();
    let mut counts: Vec<i64> = rows.iter().map(|r| r.article_count).collect();
    counts.sort();
    assert_eq!(counts, vec![1, 2]);
}

#[tokio::test]
async fn failing_feeds_are_disabled_with_the_reason_and_left_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/down.xml"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let url = format!("{}/down.xml", server.uri());
    let (app, _dir) = app_with(vec![feed(url.clone(), None)], |c| {
        c.ingest.disable_after_failures = 2;
    })
    .await;
    let poller = common::poller(&app);
    for _ in 0..3 {
        poller.cycle(&app, Utc::now(), true).await.unwrap();
    }
    let state = app.store.feed_state(&url).await.unwrap();
    assert_eq!(state.failures, 2);
    assert!(state.disabled_reason.unwrap().contains("HTTP 503"));
    // `expect(2)` is checked when the server drops: the third cycle did not request it.
}

#[tokio::test]
async fn old_items_are_skipped_and_counted_and_file_urls_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.xml");
    let old = Utc::now() - Duration::days(10);
    let xml = format!(
        "<rss version=\"2.0\"><channel><title>Local</title>\
         <item><title>Old news about a harbour</title><link>https://old.example/a</link><pubDate>{}</pubDate></item>\
         <item><title>Fresh news about a bridge</title><link>https://fresh.example/b</link><pubDate>{}</pubDate></item>\
         </channel></rss>",
        old.to_rfc2822(),
        Utc::now().to_rfc2822()
    );
    std::fs::write(&path, xml).unwrap();
    let url = url::Url::from_file_path(&path).unwrap().to_string();
    let (app, _db) = app_with(vec![feed(url, Some("Local Gazette"))], |c| {
        c.ingest.max_age_hours = 72;
    })
    .await;
    let poller = common::poller(&app);
    let r = poller.cycle(&app, Utc::now(), true).await.unwrap();
    assert_eq!(
        (r.items, r.too_old, r.written.new_articles),
        (2, 1, 1),
        "{r:?}"
    );
    let row = app.store.stories_after(None, 10).await.unwrap().remove(0);
    let articles = common::articles(&app, row.key).await;
    assert_eq!(
        articles[0].outlet, "Local Gazette",
        "the feed's outlet override applies"
    );
}

#[test]
fn the_shipped_feed_list_spans_the_bias_scale() {
    let config = Config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config.toml"
    )))
    .unwrap();
    let outlets = storybot::outlets::OutletDirectory::load(&[]).unwrap();
    assert!(config.feeds.len() >= 40, "{} feeds", config.feeds.len());
    let mut sides: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for f in &config.feeds {
        let outlet = match &f.outlet {
            Some(name) => outlets.by_name(name),
            None => outlets.by_host(url::Url::parse(&f.url).unwrap().host_str().unwrap()),
        };
        let outlet = outlet.unwrap_or_else(|| panic!("{} matches no outlet", f.url));
        let bias = outlet
            .bias
            .unwrap_or_else(|| panic!("{} ({}) is unrated", f.url, outlet.name));
        sides
            .entry(bias.side().to_string())
            .or_default()
            .insert(outlet.name.clone());
    }
    for side in ["Left", "Center", "Right"] {
        let n = sides.get(side).map_or(0, std::collections::BTreeSet::len);
        assert!(n >= 8, "only {n} {side} outlets: {sides:?}");
    }
    assert!(
        sides["Center"].contains("Reuters")
            && sides["Center"].contains("United Press International"),
        "wire services"
    );
}

#[test]
fn real_feed_files_parse_or_fail_clearly() {
    let Some(shared) = common::shared_dir() else {
        common::skip(
            "real_feed_files_parse_or_fail_clearly",
            "../shared is absent: no real feed files",
        );
        return;
    };
    let mut parsed = 0;
    for sub in ["data/feeds/rss-parser", "data/feeds/feed-rs"] {
        for entry in std::fs::read_dir(shared.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !(name.ends_with(".xml") || name.ends_with(".rss") || name.ends_with(".atom")) {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let items = storybot::ingest::feeds::parse(&bytes, "https://example.org/feed", None)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!items.is_empty(), "{name} has items");
            for it in &items {
                assert!(
                    !it.title.trim().is_empty() && it.url.starts_with("http"),
                    "{name}: {it:?}"
                );
                assert!(
                    !it.summary.contains("<p>") && !it.summary.contains("&amp;"),
                    "{name}: HTML left in {:?}",
                    it.summary
                );
            }
            parsed += 1;
        }
    }
    assert!(parsed >= 10, "parsed {parsed} files");
}

/// A fixture of `tests/fixtures/feeds/`.
fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/feeds")
        .join(name);
    std::fs::read(path).unwrap()
}

/// Every dialect README promises, from fixtures in the repository (no `../shared` needed):
/// titles and summaries as plain text, absolute links, dates in UTC, items without a title
/// skipped.
#[test]
fn every_claimed_dialect_parses() {
    use storybot::ingest::feeds::parse;
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&Utc)
    };
    // (file, feed URL, [(title, link, summary start, published)])
    type Expected = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    );
    let cases: [(&str, &str, Vec<Expected>); 6] = [
        (
            "rss091.xml",
            "https://gazette.example.org/rss",
            vec![
                ("Harbour bridge reopens after repairs", "https://gazette.example.org/2026/bridge-reopens", "The bridge reopened", None),
                ("Ferry timetable changes for winter", "https://gazette.example.org/2026/ferry-winter", "Fewer crossings", None),
            ],
        ),
        (
            "rss10.rdf",
            "https://wire.example.net/rss",
            vec![
                ("Parliament votes on the budget deal", "https://wire.example.net/a/1", "Lawmakers approved", Some("2026-11-27T09:30:00Z")),
                ("Central bank holds rates", "https://wire.example.net/a/2", "The bank kept", Some("2026-11-27T10:00:00Z")),
            ],
        ),
        (
            "rss20.xml",
            "https://ledger.example.com/world/rss",
            vec![
                ("Peace talks resume in Geneva & envoys meet", "https://ledger.example.com/world/2026/11/27/peace-talks?utm_source=rss&utm_medium=feed", "Envoys from both sides met in Geneva on Friday.", Some("2026-11-27T08:15:00Z")),
                ("Storm closes coastal roads", "https://ledger.example.com/world/2026/11/26/storm", "Heavy rain", Some("2026-11-26T22:40:00Z")),
            ],
        ),
        (
            "atom.xml",
            "https://observer.example.io/feed.atom",
            vec![
                ("Comet visible to the naked eye this week", "https://observer.example.io/science/comet-visible", "A bright comet will be visible", Some("2026-11-27T06:00:00Z")),
                ("Rail strike called off", "https://observer.example.io/business/rail-strike", "Unions and operators", Some("2026-11-26T18:00:00Z")),
            ],
        ),
        (
            "jsonfeed.json",
            "https://journal.example.com/feed.json",
            vec![
                ("Stocks slip as oil prices climb", "https://journal.example.com/2026/11/27/markets", "Shares fell", Some("2026-11-27T19:05:00Z")),
                ("City council approves new bike lanes", "https://journal.example.com/2026/11/27/vote", "The vote was 7 to 2.", Some("2026-11-27T16:00:00Z")),
            ],
        ),
        (
            "windows1252.xml",
            "https://tribune.example.fr/rss",
            vec![(
                "\u{201c}Café society\u{201d} returns to the old town",
                "https://tribune.example.fr/cafe",
                "Prices rose to 3€ a cup – still",
                Some("2026-11-27T09:00:00Z"),
            )],
        ),
    ];
    for (file, url, expected) in cases {
        let items = parse(&fixture(file), url, None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(items.len(), expected.len(), "{file}: {items:#?}");
        for (item, (title, link, summary, published)) in items.iter().zip(expected) {
            assert_eq!(item.title, title, "{file}");
            assert_eq!(item.url, link, "{file}");
            assert!(
                item.summary.starts_with(summary),
                "{file}: {:?}",
                item.summary
            );
            assert!(
                !item.summary.contains('<'),
                "{file}: markup left in {:?}",
                item.summary
            );
            assert_eq!(item.published, published.map(at), "{file}");
        }
    }
}

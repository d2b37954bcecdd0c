//! The queue beside ingest that has a language model write key points: against a fake
//! OpenAI-compatible server on loopback (wiremock) and a real store (a SQLite file, and
//! Postgres when STORYBOT_TEST_POSTGRES is set). Each story revision is asked for once, again
//! when it grows; a failed answer keeps the earlier points; the worker keeps to the hourly cap
//! and waits out a 429.

use crate::common;
use crate::llm::completion;

use std::time::Duration;

use serde_json::{json, Value};
use storybot::app::App;
use storybot::config::Config;
use storybot::llm_queue::{Queue, StoryOutcome};
use storybot::model::StoryId;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers with the first three headlines as points, each citing its article.
struct Headlines;

impl Respond for Headlines {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let titles = crate::llm::prompt_titles(request);
        let points = crate::llm::headline_points(&titles);
        let answer = json!({
            "title": format!("Council vote: {}", titles[0]),
            "key_points": points,
            "framing": {"left": "The left stresses the cost.", "center": null, "right": "The right stresses the delay."}
        });
        completion(&answer.to_string())
    }
}

/// Two stories of three outlets each (Left, Center, Right), keyed upstream, and one of one.
fn stories(prefix: &str, n: usize) -> String {
    let mut out = String::new();
    for (story, subject) in [("alpha", "bridge vote"), ("beta", "harbour strike")] {
        for (i, host) in [
            "www.theguardian.com",
            "www.reuters.com",
            "www.foxnews.com",
            "www.npr.org",
            "www.nypost.com",
        ]
        .iter()
        .enumerate()
        .take(n)
        {
            out.push_str(&format!(
                "{{\"url\":\"https://{host}/{prefix}{story}{i}\",\"title\":\"Council {subject} number {i} settles {story}\",\"summary\":\"The council {subject} settles {story}, officials said.\",\"published\":\"2026-11-20T1{i}:00:00Z\",\"story\":\"{story}\"}}\n"
            ));
        }
    }
    out.push_str(&format!("{{\"url\":\"https://www.bbc.com/{prefix}solo\",\"title\":\"A story only one outlet covers\",\"published\":\"2026-11-20T10:00:00Z\"}}\n"));
    out
}

async fn import(app: &App, jsonl: String) {
    let report = app
        .import(std::io::Cursor::new(jsonl.into_bytes()))
        .await
        .expect("import");
    assert_eq!(report.rejected_count, 0, "{:?}", report.rejected);
}

fn config(url: String, server: &MockServer) -> Config {
    let mut config = Config::default();
    config.store.url = url;
    config.store.seed_demo = false;
    config.llm.base_url = Some(format!("{}/v1", server.uri()));
    config.llm.model = "test-model".into();
    config.llm.min_sources = 3;
    config.llm.resummarise_growth_percent = 50;
    config
}

async fn mount(server: &MockServer, responder: impl Respond + 'static) {
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(responder)
        .mount(server)
        .await;
}

/// Rounds until nothing is due; the stories each round asked for.
async fn drain(queue: &mut Queue) -> Vec<(StoryId, StoryOutcome)> {
    let mut out = Vec::new();
    loop {
        let round = queue.round().await.expect("a round");
        if round.results.is_empty() {
            return out;
        }
        out.extend(round.results.into_iter().map(|r| (r.id, r.outcome)));
    }
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

async fn each_revision_once(url: String) {
    let server = MockServer::start().await;
    mount(&server, Headlines).await;
    let app = App::open(config(url, &server))
        .await
        .expect("open the store");
    import(&app, stories("a", 3)).await;
    let settings = app.settings.llm.clone().unwrap();
    let mut queue = Queue::new(app.clone(), settings.clone()).await.unwrap();

    // The two stories of three sources are written; the one-source story is not asked for.
    let asked = drain(&mut queue).await;
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked
        .iter()
        .all(|(_, o)| matches!(o, StoryOutcome::Written { kept: 3, .. })));
    assert_eq!(requests(&server).await, 2);
    let alpha = app.find_story("bridge vote").await.unwrap();
    let storybot::app::Lookup::Found(alpha) = alpha else {
        panic!("no alpha story")
    };
    let w = alpha.written.clone().expect("written points stored");
    assert_eq!((w.model.as_str(), w.prompt_version), ("test-model", 1));
    assert_eq!(w.article_count, 3);
    assert!(w.title.starts_with("Council vote: "), "{}", w.title);
    assert_eq!(w.points.len(), 3);
    assert!(w
        .points
        .iter()
        .all(|p| p.sources.len() == 1 && p.sources[0].starts_with("https://www.")));
    let digest = app.digest(&alpha).await.unwrap();
    assert_eq!(digest.key_points_by.as_deref(), Some("test-model"));
    assert_eq!(digest.title, w.title);
    assert_eq!(digest.framing.len(), 2, "left and right, not center");

    // Asked once: a new queue (a restart) finds nothing due.
    let mut queue = Queue::new(app.clone(), settings.clone()).await.unwrap();
    assert!(drain(&mut queue).await.is_empty());
    assert_eq!(requests(&server).await, 2);

    // Alpha grows by two thirds (3 -> 5 articles, past 50%): asked again, alone.
    import(
        &app,
        stories("b", 5)
            .lines()
            .filter(|l| l.contains("alpha3") || l.contains("alpha4"))
            .map(|l| format!("{l}\n"))
            .collect(),
    )
    .await;
    // This time the model answers nonsense: the earlier points stay, and it is not asked again.
    mount(&server, completion("{\"title\": \"x\"")).await;
    let asked = drain(&mut queue).await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].0, alpha.id);
    assert!(matches!(&asked[0].1, StoryOutcome::Rejected(why) if why.contains("not JSON")));
    let storybot::app::Lookup::Found(again) = app.find_story("bridge vote").await.unwrap() else {
        panic!("no alpha story")
    };
    assert_eq!(again.article_count, 5);
    assert_eq!(again.written, alpha.written, "the earlier points stay");
    assert!(drain(&mut queue).await.is_empty());
    assert_eq!(requests(&server).await, 1);

    // Another model: every story is due again.
    let mut other = settings.clone();
    other.model = "other-model".into();
    mount(&server, Headlines).await;
    let mut queue = Queue::new(app.clone(), other).await.unwrap();
    assert_eq!(drain(&mut queue).await.len(), 2);
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_story_revision_is_written_once_and_again_when_it_grows_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    each_revision_once(format!("sqlite://{}", dir.path().join("q.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_story_revision_is_written_once_and_again_when_it_grows_postgres() {
    let test = "each_story_revision_is_written_once_and_again_when_it_grows_postgres";
    let Some(pg) = common::PgSchema::create(test).await else {
        return;
    };
    each_revision_once(pg.url.clone()).await;
    pg.drop().await;
}

/// Starts the worker as `storybot run` does, on a store with two due stories.
async fn worker(
    server: &MockServer,
    tune: impl FnOnce(&mut Config),
) -> (App, storybot::workers::Workers, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(
        format!("sqlite://{}", dir.path().join("w.db").display()),
        server,
    );
    tune(&mut config);
    let app = App::open(config).await.expect("open the store");
    import(&app, stories("a", 3)).await;
    let mut workers = storybot::workers::Workers::new();
    storybot::llm_queue::spawn(&mut workers, &app).expect("the queue starts");
    (app, workers, dir)
}

async fn wait_for_requests(server: &MockServer, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while requests(server).await < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} requests",
            requests(server).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_keeps_to_the_hourly_cap() {
    let server = MockServer::start().await;
    mount(&server, Headlines).await;
    let (app, workers, _dir) = worker(&server, |c| {
        c.llm.max_requests_per_hour = 1;
        c.llm.max_concurrent = 1;
    })
    .await;
    wait_for_requests(&server, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(requests(&server).await, 1, "the cap is one an hour");
    let exported = app.trending(10).await.unwrap();
    let written = exported.iter().filter(|s| s.written.is_some()).count();
    assert_eq!(written, 1);
    workers.shutdown().await;

    // A restart within the hour does not reset the cap.
    let mut queue = Queue::new(app.clone(), app.settings.llm.clone().unwrap())
        .await
        .unwrap();
    let round = queue.round().await.unwrap();
    assert!(round.capped && round.results.is_empty(), "{round:?}");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_server_pauses_the_worker_for_its_retry_after() {
    let server = MockServer::start().await;
    mount(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
    )
    .await;
    let (app, workers, _dir) = worker(&server, |c| c.llm.max_concurrent = 1).await;
    wait_for_requests(&server, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(requests(&server).await, 1, "it waits out the Retry-After");
    // Nothing recorded against the story: it is still due, with its extractive points.
    let due = Queue::new(app.clone(), app.settings.llm.clone().unwrap())
        .await
        .unwrap()
        .due_now(10)
        .await
        .unwrap();
    assert_eq!(due.len(), 2);
    let stories = app.trending(10).await.unwrap();
    assert!(stories.iter().all(|s| s.written.is_none()));
    // Shutdown does not wait for the hour.
    tokio::time::timeout(Duration::from_secs(5), workers.shutdown())
        .await
        .expect("the worker stops at once");
}

/// Answers the bridge story with its first three headlines, each citing its article, and a
/// point naming a senator no article names; the harbour story with invented names only.
struct Checked;

impl Respond for Checked {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let titles = crate::llm::prompt_titles(request);
        let invented = |name: &str| json!({"text": format!("Senator {name} said the council had settled it."), "sources": [1]});
        let points: Vec<Value> = if titles[0].contains("bridge") {
            let mut points = crate::llm::headline_points(&titles);
            points.push(invented("Zorblax Quux"));
            points
        } else {
            ["Mirela Vantz", "Oskar Threnody", "Ilse Marwood"]
                .into_iter()
                .map(invented)
                .collect()
        };
        let answer = json!({
            "title": format!("Council vote: {}", titles[0]),
            "key_points": points,
            "framing": {
                "left": "Left outlets blame Governor Zorblax Quux.",
                "center": "The council settles it, officials said.",
                "right": null
            }
        });
        completion(&answer.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_page_links_what_each_point_cites_and_operators_see_what_was_dropped() {
    let server = MockServer::start().await;
    mount(&server, Checked).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(
        format!("sqlite://{}", dir.path().join("c.db").display()),
        &server,
    );
    config.web.admin_listen = "127.0.0.1:0".into();
    let app = App::open(config).await.expect("open the store");
    import(&app, stories("a", 3)).await;
    let mut queue = Queue::new(app.clone(), app.settings.llm.clone().unwrap())
        .await
        .unwrap();
    assert_eq!(drain(&mut queue).await.len(), 2);
    let storybot::app::Lookup::Found(alpha) = app.find_story("bridge vote").await.unwrap() else {
        panic!("no bridge story")
    };
    let written = alpha.written.clone().expect("written points stored");
    assert_eq!(written.points.len(), 3);
    // Framing is checked against its side's articles: the left's names nobody.
    let sides: Vec<_> = written.framing.iter().map(|f| f.side).collect();
    assert_eq!(
        sides,
        [storybot::model::Side::Center],
        "{:?}",
        written.framing
    );

    let web = crate::web::serve(&app).await;
    let (status, _, page) = crate::web::get(&format!("{}/story/{}", web.base, alpha.id)).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page:.500}");
    // Each written point, in its own item, links the article it cites and no other.
    for p in &written.points {
        let at = page
            .find(&p.text)
            .unwrap_or_else(|| panic!("{} on the page", p.text));
        let item = &page[at..at + page[at..].find("</li>").expect("the point's item ends")];
        assert_eq!(crate::web::hrefs(item), p.sources, "{item}");
    }
    assert!(!page.contains("Zorblax"), "a dropped point is never shown");

    // The operators' view: the points dropped from each story's latest attempt, and why.
    let admin = web.admin.clone().expect("an operators' listener");
    let (status, _, ops) = crate::web::get(&format!("{admin}/written")).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{ops:.500}");
    let dropped = |name: &str| {
        let at = ops
            .find(&format!("<li>Senator {name} said"))
            .unwrap_or_else(|| panic!("{name} dropped on the operators' page: {ops}"));
        let reason = &ops[at..at + ops[at..].find("</li>").unwrap()];
        // The point, then the reason naming the name.
        assert!(
            reason.contains("which no cited source has") && reason.matches(name).count() == 2,
            "{reason}"
        );
    };
    dropped("Zorblax Quux");
    assert!(
        ops.contains("<li>How the Left covers it: Left outlets blame Governor Zorblax Quux."),
        "{ops}"
    );
    for name in ["Mirela Vantz", "Oskar Threnody", "Ilse Marwood"] {
        dropped(name);
    }
    assert!(ops.contains("3 kept, 2 dropped"), "{ops}");
    assert!(
        ops.contains("only 0 of the model&#39;s points are grounded")
            || ops.contains("only 0 of the model's points are grounded"),
        "the failed attempt and why: {ops}"
    );
    assert!(ops.contains(alpha.id.as_str()), "the story's id: {ops}");
    app.store.close().await;
}

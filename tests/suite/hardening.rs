//! The faults an outside audit found, each kept as a test of its class: writers that wait for
//! each other and loops that never die, secrets out of every output, memory bounded by design,
//! lookups that never read a whole story, the edges of the command line, paused subscriptions
//! that are held. (Each of these failed before its fix.)

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::Utc;
use storybot::app::App;
use storybot::config::{Config, FeedConfig};
use storybot::store::{NewArticle, NewStory, Store, StoryUpdate};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_storybot")
}

fn storybot(dir: &Path, args: &[&str]) -> Output {
    Command::new(exe())
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .output()
        .expect("run storybot")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// JSONL lines of `n` articles in stories of ten (upstream keys, so no clustering cost).
fn jsonl(prefix: &str, n: usize) -> String {
    let t0 = Utc::now() - chrono::Duration::hours(2);
    (0..n)
        .map(|i| {
            format!(
                "{{\"url\":\"https://www.reuters.com/{prefix}/{i}\",\"title\":\"{prefix} event {} report {i}\",\
                 \"published\":\"{}\",\"story\":\"{prefix}-{}\"}}\n",
                i / 10,
                (t0 + chrono::Duration::seconds(i as i64)).to_rfc3339(),
                i / 10
            )
        })
        .collect()
}

/// Runs a command to its end, sampling its peak resident memory (VmHWM, KiB) meanwhile.
/// One malloc arena: what is measured is what the program holds, not what glibc's
/// per-thread arenas keep after it is freed.
fn run_measuring_peak(cmd: &mut Command) -> (std::process::ExitStatus, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let mut child = cmd
        .env("MALLOC_ARENA_MAX", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            for line in status.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    let kib: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak = peak.max(kib);
                }
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, std::fs::read_to_string(&err_path).unwrap(), peak);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes a story of `n` articles from `outlets` outlets straight through the store's write
/// path (an upstream-keyed story: no clustering), and returns its id.
async fn big_story(store: &Store, key: &str, title: &str, n: usize, outlets: usize) -> String {
    let dir = storybot::outlets::OutletDirectory::load(&[]).unwrap();
    let names: Vec<(String, String)> = dir
        .iter()
        .take(outlets)
        .map(|o| (o.name.clone(), o.domains[0].clone()))
        .collect();
    let t0 = Utc::now() - chrono::Duration::days(1);
    let id = storybot::model::StoryId::derive(key, 8);
    let mut tx = store.begin().await.unwrap();
    let seq = tx
        .insert_story(NewStory {
            id: &id,
            upstream_key: Some(key),
            seed_url: None,
            title,
            published: t0,
            now: t0,
        })
        .await
        .unwrap();
    let articles: Vec<NewArticle> = (0..n)
        .map(|i| {
            let (outlet, domain) = &names[i % names.len()];
            let t = t0 + chrono::Duration::seconds(i as i64);
            NewArticle {
                story: seq,
                article: storybot::model::Article {
                    url: format!("https://{domain}/{key}/{i}"),
                    title: format!("{title}: report number {i} with some more words in it"),
                    summary: "A summary of a few dozen words that every article carries, as \
                              feeds do, so an article weighs what a real one weighs in memory."
                        .repeat(3),
                    outlet: outlet.clone(),
                    domain: domain.clone(),
                    published: t,
                    fetched: t,
                },
            }
        })
        .collect();
    for chunk in articles.chunks(5_000) {
        tx.insert_articles(chunk).await.unwrap();
    }
    tx.update_story(
        seq,
        StoryUpdate {
            title,
            key_points: &["A key point.".to_string()],
            headlines: &[title],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id.to_string()
}

// --- 1. Writers wait for each other; no background task dies quietly ---------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_imports_into_one_sqlite_file_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.jsonl"), jsonl("alpha", 6_000)).unwrap();
    std::fs::write(dir.path().join("b.jsonl"), jsonl("beta", 6_000)).unwrap();
    let db = dir.path().join("shared.db");
    // Create the store first, so both imports open an existing file.
    let (app, _) = (App::open(db_config(&db)).await.unwrap(), ());
    app.store.close().await;
    let spawn = |file: &str| {
        tokio::process::Command::new(exe())
            .args(["--db", db.to_str().unwrap(), "import", file])
            .current_dir(dir.path())
            .output()
    };
    let (a, b) = tokio::join!(spawn("a.jsonl"), spawn("b.jsonl"));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.status.success(), "first import: {}", text(&a.stderr));
    assert!(b.status.success(), "second import: {}", text(&b.stderr));
    let app = App::open(db_config(&db)).await.unwrap();
    assert_eq!(app.store.article_count().await.unwrap(), 12_000);
    assert_eq!(app.store.story_count().await.unwrap(), 1_200);
}

fn db_config(db: &Path) -> Config {
    let mut c = Config::default();
    c.store.url = format!("sqlite://{}", db.display());
    c
}

/// An RSS document of `n` items about distinct events, published in the last hour.
fn rss(n: usize, topic: &str) -> String {
    let now = Utc::now();
    let mut s =
        String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>");
    for i in 0..n {
        let date = (now - chrono::Duration::seconds(3_000 - i as i64 % 3_000)).to_rfc2822();
        s.push_str(&format!(
            "<item><title>{topic} {i} {}</title><link>https://www.npr.org/{topic}/{i}</link>\
             <pubDate>{date}</pubDate></item>",
            common::words(i)
        ));
    }
    s.push_str("</channel></rss>");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_while_ingest_runs_leaves_ingest_running() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/wire.xml"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(rss(1_500, "wire"), "application/rss+xml"),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"sqlite://{}\"\n[articles]\nenabled = false\n[ingest]\nmax_age_hours = 0\n[[feeds]]\nurl = \"{}/wire.xml\"\n",
            db.display(),
            server.uri()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl("imported", 8_000)).unwrap();
    let mut ingest = tokio::process::Command::new(exe())
        .args(["--config", config.to_str().unwrap(), "ingest"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("ingest.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let import = tokio::process::Command::new(exe())
        .args(["--config", config.to_str().unwrap(), "import", "in.jsonl"])
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(import.status.success(), "import: {}", text(&import.stderr));
    // Ingest got its articles in too, and is still running.
    let app = App::open(db_config(&db)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app.store.article_count().await.unwrap() < 9_500 {
        let log = std::fs::read_to_string(dir.path().join("ingest.log")).unwrap();
        assert!(
            ingest.try_wait().unwrap().is_none(),
            "ingest exited:\n{log}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "ingest wrote nothing:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ingest.try_wait().unwrap().is_none(),
        "ingest is still running"
    );
    Command::new("kill")
        .args(["-TERM", &ingest.id().unwrap().to_string()])
        .status()
        .unwrap();
    let status = ingest.wait().await.unwrap();
    assert!(
        status.success(),
        "ingest stops cleanly on SIGTERM: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_loop_survives_a_broken_store_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("local.xml");
    std::fs::write(&feed, rss(3, "harbour")).unwrap();
    let db = dir.path().join("loop.db");
    let mut config = db_config(&db);
    config.feeds = vec![FeedConfig {
        url: url::Url::from_file_path(&feed).unwrap().to_string(),
        outlet: None,
        refresh_minutes: None,
    }];
    let app = App::open(config).await.unwrap();
    // Break the store under the loop: its first cycle fails.
    let raw = format!("sqlite://{}", db.display());
    exec(&raw, "ALTER TABLE feeds RENAME TO feeds_gone").await;
    let poller = common::poller(&app);
    let mut workers = storybot::workers::Workers::new();
    let (a, p) = (app.clone(), poller.clone());
    workers.spawn("feed ingest", move |stop| {
        let (a, p) = (a.clone(), p.clone());
        async move { storybot::ingest::poll::run(&p, &a, stop, |_| {}).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.store.article_count().await.unwrap(), 0);
    // Repaired: the loop, still alive, fetches on its next try.
    exec(&raw, "ALTER TABLE feeds_gone RENAME TO feeds").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.store.article_count().await.unwrap() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loop did not go on after the failure"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    workers.shutdown().await;
}

async fn exec(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn subscribe_at_once(app: &App) {
    use storybot::model::{Follow, NewSubscription};
    use storybot::store::subscriptions::SubscribeError;
    let attempts = (0..8).map(|i| {
        let store = app.store.clone();
        async move {
            let new = NewSubscription {
                guild_id: 77,
                channel_id: 1_000 + i,
                channel_kind: Default::default(),
                options: Default::default(),
                follow: Follow::Topic {
                    query: "peace talks".into(),
                },
                watermark: storybot::model::StoryKey(0),
                last_count: 0,
                last_sides: 0,
                created_by: 5,
            };
            store.subscribe(&new, 3, Utc::now()).await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let ok: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|s| s.number))
        .collect();
    assert_eq!(ok.len(), 3, "exactly the limit: {results:?}");
    let mut numbers = ok.clone();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, SubscribeError::Limit { limit: 3 })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_at_once_never_pass_the_limit_on_sqlite() {
    let (app, _dir) = common::temp_app(false).await;
    subscribe_at_once(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_at_once_never_pass_the_limit_on_postgres() {
    let Some(pg) =
        common::PgSchema::create("subscriptions_at_once_never_pass_the_limit_on_postgres").await
    else {
        return;
    };
    let mut config = Config::default();
    config.store.url = pg.url.clone();
    let app = App::open(config).await.unwrap();
    subscribe_at_once(&app).await;
    app.store.close().await;
    pg.drop().await;
}

// --- 2. No secret in any output ------------------------------------------------------------

#[test]
fn database_passwords_never_reach_an_error_message() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://me:hunter22secret@127.0.0.1:1/x",
        "postgres://me:hunter22secret@127.0.0.1:notaport/x",
        "postgres://me@127.0.0.1:1/x?password=hunter22secret",
        "mysql://me:hunter22secret@127.0.0.1/x",
    ] {
        let started = std::time::Instant::now();
        let out = storybot(dir.path(), &["--db", url, "top"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        assert!(!err.contains("hunter22secret"), "{url}: {err}");
        assert!(
            err.contains("***") || err.contains("unsupported"),
            "{url}: {err}"
        );
        if url.contains(":1/") {
            assert!(
                err.contains("refused"),
                "a refused connection says so: {err}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn feed_credentials_never_reach_a_log_or_a_listing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[store]\nurl = \"sqlite://feeds.db\"\n\
         [[feeds]]\nurl = \"http://reader:feedpass99secret@127.0.0.1:1/feed.xml?apikey=KEY123456789secret&page=1\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(exe())
            .args(["--config", config.to_str().unwrap()])
            .args(args)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    };
    for out in [run(&["ingest", "--once"]), run(&["feeds"])] {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("feedpass99secret"), "{all}");
        assert!(!all.contains("KEY123456789secret"), "{all}");
        assert!(
            all.contains("127.0.0.1:1/feed.xml"),
            "the feed is still named: {all}"
        );
    }
    // A config error that quotes the URL masks it too.
    std::fs::write(
        &config,
        "[[feeds]]\nurl = \"gopher://reader:feedpass99secret@h/f?token=KEY123456789secret\"\n",
    )
    .unwrap();
    let out = run(&["feeds"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("feeds[0].url"), "{err}");
    assert!(
        !err.contains("feedpass99secret") && !err.contains("KEY123456789secret"),
        "{err}"
    );
}

// --- 6. Memory bounded by design -----------------------------------------------------------

#[test]
fn import_memory_stays_bounded_whatever_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.jsonl");
    {
        use std::io::Write as _;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        // 40 MB of good lines, then one 64 MB line.
        let summary = "s".repeat(1_900);
        for i in 0..20_000 {
            writeln!(
                f,
                "{{\"url\":\"https://www.npr.org/m/{i}\",\"title\":\"Memory event {} report {i}\",\
                 \"summary\":\"{summary}\",\"story\":\"m{}\"}}",
                i / 20,
                i / 20
            )
            .unwrap();
        }
        writeln!(f, "{{\"title\":\"{}\"}}", "x".repeat(64 << 20)).unwrap();
    }
    let db = dir.path().join("m.db");
    let (status, err, peak_kib) = run_measuring_peak(
        Command::new(exe())
            .args(["--db", db.to_str().unwrap(), "import"])
            .arg(&input),
    );
    assert!(status.success(), "{err}");
    assert!(err.contains("line 20001: line is longer than"), "{err}");
    // The input is 104 MB; reading it whole took 3.4 times that.
    assert!(peak_kib < 120 * 1024, "peak {} MiB", peak_kib / 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_feeds_are_bounded_like_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("never.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut config = db_config(&dir.path().join("f.db"));
    config.ingest.timeout_seconds = 2;
    config.ingest.max_body_bytes = 1 << 20;
    config.feeds = [
        "file:///dev/zero".to_string(),
        url::Url::from_file_path(&fifo).unwrap().to_string(),
        url::Url::from_file_path(dir.path()).unwrap().to_string(),
    ]
    .into_iter()
    .map(|url| FeedConfig {
        url,
        outlet: None,
        refresh_minutes: None,
    })
    .collect();
    let app = App::open(config).await.unwrap();
    let r = common::poller(&app)
        .cycle(&app, Utc::now(), true)
        .await
        .unwrap();
    assert_eq!(r.failed, 3, "{r:?}");
    let state = |i: usize| {
        let url = app.settings.feeds[i].url.clone();
        let store = app.store.clone();
        async move { store.feed_state(&url).await.unwrap().last_error.unwrap() }
    };
    assert!(
        state(0).await.contains("not a regular file"),
        "{}",
        state(0).await
    );
    assert!(
        state(1).await.contains("not a regular file"),
        "{}",
        state(1).await
    );
    assert!(
        state(2).await.contains("is a directory"),
        "{}",
        state(2).await
    );
}

#[test]
fn a_poll_cycle_holds_few_feed_bodies_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut feeds = String::new();
    for n in 0..40 {
        // 3 MB feeds of few items each: what a cycle holds is mostly bodies.
        let mut doc =
            String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Big</title>");
        for i in 0..4 {
            doc.push_str(&format!(
                "<item><title>Feed {n} item {i} {}</title><link>https://www.npr.org/{n}/{i}</link>\
                 <description>{}</description></item>",
                common::words(n * 10 + i),
                "padding ".repeat(90_000)
            ));
        }
        doc.push_str("</channel></rss>");
        let path = dir.path().join(format!("feed{n}.xml"));
        std::fs::write(&path, doc).unwrap();
        feeds.push_str(&format!(
            "[[feeds]]\nurl = \"{}\"\n",
            url::Url::from_file_path(&path).unwrap()
        ));
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"sqlite://f.db\"\n[articles]\nenabled = false\n[ingest]\nconcurrency = 2\nmax_age_hours = 0\n\
             max_body_bytes = 8388608\n{feeds}"
        ),
    )
    .unwrap();
    let (status, err, peak_kib) = run_measuring_peak(Command::new(exe()).args([
        "--config",
        config.to_str().unwrap(),
        "ingest",
        "--once",
    ]));
    assert!(status.success(), "{err}");
    // The 40 bodies of 3 MB, held at once, took 120 MB alone.
    assert!(peak_kib < 90 * 1024, "peak {} MiB", peak_kib / 1024);
}

// --- 7. A lookup never reads a whole story -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_story_costs_a_lookup_what_a_small_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    let app = App::open(db_config(&db)).await.unwrap();
    big_story(&app.store, "small", "Quiet harbour reopens", 100, 40).await;
    big_story(&app.store, "huge", "Enormous flood story", 60_000, 400).await;
    // What a digest shows is right for the huge one: aggregates agree with the articles.
    let storybot::app::Lookup::Found(huge) = app.find_story("enormous flood").await.unwrap() else {
        panic!("no huge story")
    };
    assert_eq!(huge.article_count, 60_000);
    assert_eq!(huge.outlets.len(), 400);
    let d = app.digest(&huge).await.unwrap();
    assert_eq!(d.coverage.articles, 60_000);
    assert_eq!(d.headlines.len(), 5);
    app.store.close().await;

    let measure = |query: &str| {
        let (status, err, peak) = run_measuring_peak(Command::new(exe()).args([
            "--db",
            db.to_str().unwrap(),
            "story",
            "--json",
            query,
        ]));
        assert!(status.success(), "{err}");
        peak
    };
    let small = measure("quiet harbour");
    let large = measure("enormous flood");
    // Loading the huge story's articles took about 60 MB more.
    assert!(
        large < small + 10 * 1024,
        "small {} KiB, huge {} KiB",
        small,
        large
    );
}

// --- 8. The edges of the command line ------------------------------------------------------

#[test]
fn exit_status_tells_nothing_found_from_failure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let dbs = db.to_str().unwrap();
    // An empty store says so, and how to fill it.
    let out = storybot(dir.path(), &["--db", dbs, "story", "anything"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no stories yet"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("storybot import"),
        "{}",
        text(&out.stderr)
    );
    // A directory is an error; a file of bad lines imports nothing (1); a BOM is no bad line.
    let out = storybot(dir.path(), &["--db", dbs, "import", "."]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("directory"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(dir.path().join("bad.jsonl"), "not json\n{}\n").unwrap();
    let out = storybot(dir.path(), &["--db", dbs, "import", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("nothing imported"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        dir.path().join("bom.jsonl"),
        "\u{feff}{\"url\":\"https://www.npr.org/z\",\"title\":\"Zebra\u{200B} crossing reopens downtown\",\"story\":\"z\"}\n\
         {\"url\":\"https://www.npr.org/y\",\"title\":\"Year of the ox\",\"published\":-9223372036854775808}\n\
         {\"url\":\"https://www.npr.org/x\",\"title\":\"Extreme date\",\"published\":-1e300}\n",
    )
    .unwrap();
    let out = storybot(dir.path(), &["--db", dbs, "import", "bom.jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("imported 1 new articles"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("line 2: \"published\""),
        "{}",
        text(&out.stderr)
    );
    // A pasted title with invisible characters still finds its story; a miss is 1.
    let out = storybot(
        dir.path(),
        &["--db", dbs, "story", "zebra\u{200B}\u{202E} crossing"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = storybot(dir.path(), &["--db", dbs, "story", "volcano"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no story matches"));
    // A configuration error is 2.
    std::fs::write(dir.path().join("c.toml"), "[digest]\nheadlines = 99\n").unwrap();
    let out = storybot(dir.path(), &["--config", "c.toml", "top"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    std::fs::write(dir.path().join("in.jsonl"), jsonl("pipe", 3_000)).unwrap();
    assert!(storybot(
        dir.path(),
        &["--db", db.to_str().unwrap(), "import", "in.jsonl"]
    )
    .status
    .success());
    for args in [["stories", ""], ["stories", "--json"]] {
        let mut child = Command::new(exe())
            .args(["--db", db.to_str().unwrap()])
            .args(args.iter().filter(|a| !a.is_empty()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then hang up, as `head -1` does.
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 64];
        std::io::Read::read(&mut out, &mut first).unwrap();
        drop(out);
        let result = child.wait_with_output().unwrap();
        assert_eq!(result.status.code(), Some(0), "{}", text(&result.stderr));
        assert_eq!(
            text(&result.stderr),
            "",
            "nothing said about the closed pipe"
        );
    }
}

#[test]
fn errors_say_each_cause_once_and_logs_have_no_colour_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("garbage.db"),
        "this is not a database file at all, no",
    )
    .unwrap();
    let out = storybot(dir.path(), &["--db", "garbage.db", "top"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = err.lines().next().unwrap_or_default();
    let parts: Vec<&str> = line.split(": ").collect();
    let mut seen = std::collections::HashSet::new();
    assert!(
        parts.iter().all(|p| seen.insert(*p)),
        "a cause repeats: {line}"
    );
    // A warning logged to a file (not a terminal) carries no colour codes.
    std::fs::write(
        dir.path().join("config.toml"),
        "[store]\nurl = \"sqlite://f.db\"\n[[feeds]]\nurl = \"http://127.0.0.1:1/feed.xml\"\n",
    )
    .unwrap();
    let out = Command::new(exe())
        .args(["ingest", "--once"])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let log = text(&out.stderr);
    assert!(log.contains("feed failed"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file: {log:?}"
    );
}

// --- 2. (cont.) A whole bot session at the most verbose log level --------------------------

const TOKEN: &str = "MTE5.fake-bot-token-for-the-hardening-tests.0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_bot_session_at_trace_level_logs_no_secret() {
    use common::fake_discord::{self, FakeDiscord};
    use serde_json::json;
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = MockServer::start().await;
    // The feed answers late, so the subscription below exists before its stories do.
    let now = Utc::now();
    let items: String = [
        (
            "Zebra parade closes Main Street as city celebrates",
            "https://www.nytimes.com/z1",
        ),
        (
            "Zebra parade draws crowds to Main Street",
            "https://www.reuters.com/z2",
        ),
        (
            "City celebrates zebra parade on Main Street",
            "https://www.foxnews.com/z3",
        ),
    ]
    .iter()
    .map(|(t, l)| {
        format!(
            "<item><title>{t}</title><link>{l}</link><pubDate>{}</pubDate></item>",
            now.to_rfc2822()
        )
    })
    .collect();
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(
                    format!(
                        "<rss version=\"2.0\"><channel><title>W</title>{items}</channel></rss>"
                    ),
                    "application/rss+xml",
                )
                .set_delay(Duration::from_secs(6)),
        )
        .mount(&feeds)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"sqlite://{}\"\nseed_demo = true\n\
             [discord]\napi_base_url = \"{}\"\ndefer_after_ms = 0\n\
             [subscriptions]\nmatch_interval_seconds = 1\n[articles]\nenabled = false\n\
             [[feeds]]\nurl = \"{}/feed.xml\"\n\
             [[feeds]]\nurl = \"http://reader:feedpass99secret@127.0.0.1:1/f.xml?apikey=KEY123456789secret\"\n",
            dir.path().join("bot.db").display(),
            fake.base_url,
            feeds.uri()
        ),
    )
    .unwrap();
    let log_path = dir.path().join("bot.log");
    let mut child = tokio::process::Command::new(exe())
        .args(["--config", config.to_str().unwrap(), "run"])
        .env("DISCORD_TOKEN", TOKEN)
        .env("RUST_LOG", "trace")
        .stdout(std::fs::File::create(dir.path().join("bot.out")).unwrap())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let wait = Duration::from_secs(30);
    fake.wait_ready(1, wait).await;
    fake.wait_until("registration", wait, |r| {
        r.iter()
            .any(|r| r.method == "PUT" && r.status == 200)
            .then_some(())
    })
    .await;
    let mut ids = Vec::new();
    // A subscription (its confirmation and, once the feed answers, a post).
    const CAN_POST: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15);
    ids.push(fake.guild_command(
        "subscribe",
        json!([{ "name": "topic", "type": 1, "options": [
            { "name": "query", "type": 3, "value": "zebra parade" },
            { "name": "min_sources", "type": 4, "value": 3 }
        ]}]),
        1 << 4,
        CAN_POST,
    ));
    // Autocomplete (answered through serenity's own HTTP), a deferred /story, a button.
    ids.push(fake.autocomplete("story", "query", "GM"));
    let story = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
    );
    ids.push(story);
    let edited = fake
        .wait_until("the deferred reply", wait, |r| {
            r.iter()
                .find(|r| {
                    r.method == "PATCH" && r.path.contains(&fake_discord::interaction_token(story))
                })
                .cloned()
        })
        .await;
    let custom_id = edited.json.unwrap()["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    ids.push(fake.button(&custom_id));
    ids.push(fake.command("top", json!([])));
    // The subscription's post arrives once the feed has answered.
    fake.wait_until("the subscription post", wait, |r| {
        r.iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages") && r.status == 200)
            .nth(1)
            .map(|_| ())
    })
    .await;
    for id in &ids[1..] {
        fake.wait_until("every answer", wait, |r| {
            r.iter()
                .any(|r| r.path.contains(&fake_discord::interaction_token(*id)))
                .then_some(())
        })
        .await;
    }
    Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(wait, child.wait())
        .await
        .unwrap()
        .unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap()
        + &std::fs::read_to_string(dir.path().join("bot.out")).unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        log.len() > 10_000 && log.contains("DEBUG"),
        "a verbose log was written"
    );
    assert!(!log.contains(TOKEN), "the bot token is in the log");
    for id in ids {
        let token = fake_discord::interaction_token(id);
        assert!(
            !log.contains(&token),
            "interaction {id}'s token is in the log"
        );
    }
    assert!(!log.contains("feedpass99secret") && !log.contains("KEY123456789secret"));
    assert!(
        log.contains("feed failed"),
        "the failing feed is still reported"
    );
}

// --- 4. Every numeric setting has a range; what validation accepts never panics later ------

/// Every numeric key of `config.toml`, as `section.key`.
const NUMERIC_KEYS: [&str; 22] = [
    "digest.headlines",
    "digest.top_window_hours",
    "blindspot.min_rated_sources",
    "blindspot.max_share",
    "blindspot.min_opposite_share",
    "cluster.window_hours",
    "ingest.interval_minutes",
    "ingest.max_age_hours",
    "ingest.concurrency",
    "ingest.connect_timeout_seconds",
    "ingest.timeout_seconds",
    "ingest.max_body_bytes",
    "ingest.disable_after_failures",
    "discord.defer_after_ms",
    "discord.requests_per_second",
    "discord.summary_minutes",
    "subscriptions.max_per_guild",
    "subscriptions.min_sources",
    "subscriptions.growth_percent",
    "subscriptions.max_delivery_age_minutes",
    "subscriptions.briefing_grace_minutes",
    "subscriptions.match_interval_seconds",
];

/// TOML setting `values` (by key), plus a feed whose refresh is `refresh`.
fn toml_of(values: &[(usize, u64)], refresh: Option<u64>, feed: &str) -> String {
    let mut sections: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for &(k, v) in values {
        let (section, key) = NUMERIC_KEYS[k].split_once('.').unwrap();
        sections
            .entry(section)
            .or_default()
            .push(format!("{key} = {v}"));
    }
    let mut text = String::new();
    for (section, lines) in sections {
        text.push_str(&format!("[{section}]\n"));
        let mut seen = std::collections::HashSet::new();
        for l in lines {
            if seen.insert(l.split(" = ").next().unwrap().to_string()) {
                text.push_str(&l);
                text.push('\n');
            }
        }
    }
    text.push_str(&format!("[[feeds]]\nurl = \"{feed}\"\n"));
    if let Some(r) = refresh {
        text.push_str(&format!("refresh_minutes = {r}\n"));
    }
    text
}

/// Starts what runs without Discord on `config`: the store and its demo import, a feed cycle,
/// the feed backoff, top, subscription matching of every kind, the REST client's budget.
async fn start_subsystems(config: Config) {
    use storybot::model::{Follow, NewSubscription};
    let settings = storybot::config::Settings::new(&config).expect("accepted");
    let mut settings = settings;
    settings.store.url = "sqlite::memory:".into();
    let app = App::with_settings(settings).await.unwrap();
    let poller = common::poller(&app);
    let now = Utc::now();
    poller.cycle(&app, now, true).await.unwrap();
    poller.next_wake(now).await.unwrap();
    for f in &app.settings.feeds {
        for failures in [0, 1, app.settings.ingest.disable_after_failures, u32::MAX] {
            storybot::ingest::poll::backoff(f.refresh, failures, &f.url);
        }
    }
    app.trending(10).await.unwrap();
    app.blindspots(10).await.unwrap();
    let follows = [
        Follow::Topic {
            query: "gm recall".into(),
        },
        Follow::Story {
            story: storybot::model::StoryId::parse("abcdefgh").unwrap(),
        },
        Follow::Briefing {
            time: chrono::NaiveTime::MIN,
            zone: chrono_tz::Pacific::Kiritimati,
            count: 5,
        },
        Follow::Blindspot {
            side: Some(storybot::model::Side::Right),
        },
    ];
    for (i, follow) in follows.into_iter().enumerate() {
        let new = NewSubscription {
            guild_id: 1,
            channel_id: 10 + i as u64,
            channel_kind: Default::default(),
            options: Default::default(),
            follow,
            watermark: storybot::model::StoryKey(0),
            last_count: i64::MAX / 1_000,
            last_sides: 0,
            created_by: 1,
        };
        let _ = app
            .store
            .subscribe(
                &new,
                app.settings.subscriptions.max_per_guild,
                now - chrono::Duration::days(1),
            )
            .await;
    }
    storybot::subscriptions::matcher::run_once(&app, now)
        .await
        .unwrap();
    storybot::discord::rest::Rest::new(
        "http://127.0.0.1:9",
        storybot::discord::rest::Token::new(TOKEN),
        app.settings.discord.requests_per_second,
    )
    .unwrap();
    app.store.close().await;
}

fn small_feed() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.xml");
    std::fs::write(&path, rss(3, "ranges")).unwrap();
    let url = url::Url::from_file_path(&path).unwrap().to_string();
    (dir, url)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    #[test]
    fn whatever_validation_accepts_starts_without_a_panic(
        values in proptest::collection::vec(
            (0..NUMERIC_KEYS.len(), proptest::prop_oneof![
                proptest::prelude::any::<u64>(),
                0u64..=200,
                proptest::prelude::Just(u64::MAX),
                proptest::prelude::Just(i64::MAX as u64),
                proptest::prelude::Just(u32::MAX as u64 + 1),
            ]),
            0..6,
        ),
        refresh in proptest::option::of(proptest::prop_oneof![proptest::prelude::any::<u64>(), 0u64..=20_000]),
    ) {
        let (_dir, feed) = small_feed();
        let text = toml_of(&values, refresh, &feed);
        match Config::parse(&text, Path::new("c.toml")) {
            Err(e) => {
                let e = e.to_string();
                proptest::prop_assert!(e.contains("c.toml"), "{}", e);
                let key = |k: &str| e.contains(k) || e.contains(k.split_once('.').unwrap().1);
                let named = values.iter().any(|&(k, _)| key(NUMERIC_KEYS[k]))
                    || e.contains("refresh_minutes");
                proptest::prop_assert!(named, "the error names no key: {}", e);
            }
            Ok(config) => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(start_subsystems(config));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_starts_at_both_ends_of_every_range() {
    use common::fake_discord::FakeDiscord;
    use storybot::config::ranges::*;
    let ends = [
        ("digest.headlines", HEADLINES),
        ("digest.top_window_hours", TOP_WINDOW_HOURS),
        ("cluster.window_hours", CLUSTER_WINDOW_HOURS),
        ("ingest.interval_minutes", INTERVAL_MINUTES),
        ("ingest.max_age_hours", MAX_AGE_HOURS),
        ("ingest.concurrency", CONCURRENCY),
        ("ingest.connect_timeout_seconds", CONNECT_TIMEOUT_SECONDS),
        ("ingest.timeout_seconds", TIMEOUT_SECONDS),
        ("ingest.max_body_bytes", MAX_BODY_BYTES),
        ("ingest.disable_after_failures", DISABLE_AFTER_FAILURES),
        ("discord.defer_after_ms", DEFER_AFTER_MS),
        ("discord.requests_per_second", REQUESTS_PER_SECOND),
        ("discord.summary_minutes", SUMMARY_MINUTES),
        ("subscriptions.max_per_guild", MAX_PER_GUILD),
        ("subscriptions.min_sources", MIN_SOURCES),
        ("subscriptions.growth_percent", GROWTH_PERCENT),
        (
            "subscriptions.max_delivery_age_minutes",
            MAX_DELIVERY_AGE_MINUTES,
        ),
        (
            "subscriptions.briefing_grace_minutes",
            BRIEFING_GRACE_MINUTES,
        ),
        (
            "subscriptions.match_interval_seconds",
            MATCH_INTERVAL_SECONDS,
        ),
        ("subscriptions.pause_retry_minutes", PAUSE_RETRY_MINUTES),
    ];
    let (_feed_dir, feed) = small_feed();
    for pick in [0, 1] {
        let fake = FakeDiscord::start(TOKEN).await;
        let dir = tempfile::tempdir().unwrap();
        let mut sections: std::collections::BTreeMap<&str, String> = Default::default();
        for (key, range) in &ends {
            let (section, key) = key.split_once('.').unwrap();
            let v = if pick == 0 {
                *range.start()
            } else {
                *range.end()
            };
            sections
                .entry(section)
                .or_default()
                .push_str(&format!("{key} = {v}\n"));
        }
        sections.entry("store").or_default().push_str(&format!(
            "url = \"sqlite://{}\"\nseed_demo = true\n",
            dir.path().join("b.db").display()
        ));
        sections
            .entry("discord")
            .or_default()
            .push_str(&format!("api_base_url = \"{}\"\n", fake.base_url));
        let mut text: String = sections
            .iter()
            .map(|(s, body)| format!("[{s}]\n{body}"))
            .collect();
        text.push_str(&format!(
            "[[feeds]]\nurl = \"{feed}\"\nrefresh_minutes = {}\n",
            if pick == 0 { 1 } else { 10_080 }
        ));
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &text).unwrap();
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let app = App::open(config).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let bot = tokio::spawn(storybot::discord::run(
            app,
            storybot::discord::rest::Token::new(TOKEN),
            async {
                let _ = rx.await;
            },
        ));
        fake.wait_ready(1, Duration::from_secs(30)).await;
        let id = fake.command("top", serde_json::json!([]));
        fake.wait_until("an answer", Duration::from_secs(30), |r| {
            r.iter()
                .any(|r| r.path.contains(&format!("/interactions/{id}/")) && r.status == 204)
                .then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = tx.send(());
        bot.await.unwrap().unwrap();
    }
}

/// Several processes starting at once on one new SQLite file all open it: the migrations run
/// once, whoever wins the race (SQLite has no migration lock of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_opening_a_new_store_at_once_all_succeed() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("new.db").display());
        let opens = (0..6).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::open(&url).await.map(|s| s.backend()) })
        });
        for r in futures_util::future::join_all(opens).await {
            let r = r.unwrap();
            assert!(r.is_ok(), "{:?}", r.map_err(|e| storybot::error::chain(&e)));
        }
    }
}

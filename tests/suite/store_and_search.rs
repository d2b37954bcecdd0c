//! The store on a real SQLite file (and on Postgres when STORYBOT_TEST_POSTGRES is set):
//! import, idempotence, demo seeding, lookup and hostile queries.

use crate::common;

use storybot::app::{App, Lookup, LookupError};
use storybot::config::Config;
use storybot::digest::export::ExportStory;

const SAMPLE: &str = r#"{"url":"https://www.reuters.com/world/peace-talks-1?utm_source=rss","title":"Peace talks resume in Geneva as envoys meet - Reuters","outlet":"Reuters","published":"2024-05-01T10:00:00Z","story":"geneva"}
{"url":"https://www.foxnews.com/world/peace-talks","title":"Envoys meet in Geneva as peace talks resume","published":"2024-05-01T11:00:00Z","story":"geneva"}
this line is not json
{"url":"https://www.theguardian.com/world/geneva-talks","title":"Geneva peace talks resume after months of deadlock","published":1714561200,"story":"geneva"}
{"url":"https://www.reuters.com/world/peace-talks-1#comments","title":"Duplicate of the first, by canonical URL","story":"geneva"}
{"url":"ftp://example.com/x","title":"Not a web article"}
{"url":"https://www.bbc.co.uk/news/science-123","title":"Comet visible to the naked eye this week","published":"2024-05-02T08:00:00Z"}
{"url":"https://apnews.com/article/markets","title":"Stocks slip as oil prices climb","published":"2024-05-02T09:00:00Z","story":"markets"}
"#;

async fn export_all(app: &App) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for row in app.store.stories_after(None, 1000).await.unwrap() {
        let story = app.store.with_coverage(row).await.unwrap();
        let mut v = serde_json::to_value(ExportStory::new(&app.summary(&story))).unwrap();
        let urls: Vec<String> = common::articles(app, story.key)
            .await
            .into_iter()
            .map(|a| a.url)
            .collect();
        v["articles"] = serde_json::json!(urls);
        out.push(v);
    }
    out
}

async fn import_is_idempotent_and_reports_bad_lines(app: &App) {
    let report = app.import(SAMPLE.as_bytes()).await.unwrap();
    assert_eq!(report.batch.new_articles, 5, "{report:?}");
    assert_eq!(
        report.batch.duplicates, 1,
        "canonical URL duplicates are stored once"
    );
    assert_eq!(report.batch.new_stories, 3);
    let bad: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|e| (e.line, e.reason.as_str()))
        .collect();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert_eq!(bad[0].0, 3);
    assert!(bad[0].1.contains("not a valid article"), "{bad:?}");
    assert_eq!(bad[1].0, 6);
    assert!(bad[1].1.contains("http"), "{bad:?}");

    let before = export_all(app).await;
    let geneva = before
        .iter()
        .find(|s| s["article_count"] == 3)
        .expect("the Geneva story");
    assert_eq!(geneva["source_count"], 3);
    // Reuters (Center), Fox News (Right), The Guardian (Lean Left): a third each.
    assert_eq!(geneva["bias"]["left"], 34);
    assert_eq!(geneva["bias"]["center"], 33);
    assert_eq!(geneva["bias"]["right"], 33);
    assert!(
        !geneva["title"].as_str().unwrap().ends_with("Reuters"),
        "outlet suffix is not part of the story title: {}",
        geneva["title"]
    );

    let again = app.import(SAMPLE.as_bytes()).await.unwrap();
    assert_eq!(again.batch.new_articles, 0);
    assert_eq!(again.batch.new_stories + again.batch.updated_stories, 0);
    assert_eq!(
        export_all(app).await,
        before,
        "importing twice changes nothing"
    );
    assert_eq!(app.store.article_count().await.unwrap(), 5);
}

async fn lookup_finds_by_words_prefix_and_id(app: &App) {
    let Lookup::Found(story) = app.find_story("geneva peace").await.unwrap() else {
        panic!("no match for words of the headline")
    };
    assert_eq!(story.article_count, 3);
    let Lookup::Found(by_prefix) = app.find_story("Peace tal").await.unwrap() else {
        panic!("no match for a prefix of the last word")
    };
    assert_eq!(by_prefix.id, story.id);
    let Lookup::Found(by_id) = app.find_story(story.id.as_str()).await.unwrap() else {
        panic!("no match by id")
    };
    assert_eq!(by_id.id, story.id);
    let Lookup::Found(comet) = app.find_story("COMET naked-eye").await.unwrap() else {
        panic!("no match for the keyless article's story")
    };
    assert_eq!(
        comet.outlets[0].name, "BBC News",
        "bbc.co.uk resolves to the rated BBC"
    );
}

async fn hostile_queries_never_break_search(app: &App) {
    let long_words = "peace ".repeat(50);
    let hostile = [
        "\"peace",
        "peace\"\"\"",
        "NEAR(peace talks, 2)",
        "peace*",
        "-peace",
        "peace OR",
        "((((peace",
        "peace]]]])",
        "title:peace",
        "'; DROP TABLE stories; --",
        "🕊️ peace 🕊️",
        "🙂🙂🙂",
        "שלום peace عربى",
        "\u{202E}ecaep",
        "\0peace",
        "* * *",
        "AND",
        "^peace",
        long_words.trim(),
    ];
    for q in hostile {
        match app.find_story(q).await {
            Ok(Lookup::Found(_) | Lookup::NotFound { .. } | Lookup::EmptyStore) => {}
            Err(e) => panic!("query {q:?} failed: {e}"),
        }
    }
    // The injection attempt did nothing.
    assert_eq!(app.store.story_count().await.unwrap(), 3);
    let huge = "peace ".repeat(2000);
    match app.find_story(&huge).await {
        Err(LookupError::TooLong { len }) => assert_eq!(len, huge.trim().chars().count()),
        other => panic!("a 12,000-character query must be refused clearly, got {other:?}"),
    }
    assert!(matches!(
        app.find_story("   ").await,
        Err(LookupError::Empty)
    ));
    let Lookup::Found(s) = app
        .find_story("\"geneva\" AND (talks*) OR NOT")
        .await
        .unwrap()
    else {
        panic!("operator words are plain words")
    };
    assert_eq!(s.article_count, 3);
}

async fn misses_come_with_suggestions(app: &App) {
    let Lookup::NotFound { suggestions } = app.find_story("geneva volcano").await.unwrap() else {
        panic!("a word matching nothing must not match")
    };
    assert!(
        suggestions
            .iter()
            .any(|s| s.title.to_lowercase().contains("geneva")),
        "{suggestions:?}"
    );
    let Lookup::NotFound { suggestions } = app.find_story("zzyzx qqqq").await.unwrap() else {
        panic!("nonsense must not match")
    };
    assert!(suggestions.is_empty());
}

async fn run_suite(app: App) {
    import_is_idempotent_and_reports_bad_lines(&app).await;
    lookup_finds_by_words_prefix_and_id(&app).await;
    hostile_queries_never_break_search(&app).await;
    misses_come_with_suggestions(&app).await;
    app.store.close().await;
}

#[tokio::test]
async fn sqlite_store_end_to_end() {
    let (app, dir) = common::temp_app(false).await;
    let path = dir.path().join("test.db");
    run_suite(app).await;
    assert!(path.is_file(), "a real database file was written");
}

#[tokio::test]
async fn sqlite_typo_suggestions_use_trigrams() {
    let (app, _dir) = common::temp_app(false).await;
    app.import(SAMPLE.as_bytes()).await.unwrap();
    let Lookup::NotFound { suggestions } = app.find_story("genevva").await.unwrap() else {
        panic!("a misspelt word must not match")
    };
    assert!(
        suggestions
            .iter()
            .any(|s| s.title.to_lowercase().contains("geneva")),
        "typo gets the closest title: {suggestions:?}"
    );
}

#[tokio::test]
async fn postgres_store_end_to_end() {
    let Some(pg) = common::PgSchema::create("postgres_store_end_to_end").await else {
        return;
    };
    let mut config = Config::default();
    config.store.url = pg.url.clone();
    let app = App::open(config).await.expect("open the Postgres store");
    run_suite(app).await;
    pg.drop().await;
}

#[tokio::test]
async fn demo_data_seeds_an_empty_store_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("demo.db").display());
    config.store.seed_demo = true;
    let app = App::open(config.clone()).await.unwrap();
    let stories = app.store.story_count().await.unwrap();
    let articles = app.store.article_count().await.unwrap();
    let lines = storybot::ingest::demo::DEMO_JSONL.lines().count() as i64;
    assert!(stories >= 10, "demo has {stories} stories");
    assert_eq!(articles, lines, "every demo line is an article");
    app.store.close().await;
    let again = App::open(config).await.unwrap();
    assert_eq!(
        again.store.story_count().await.unwrap(),
        stories,
        "no second seeding"
    );
    assert_eq!(again.store.article_count().await.unwrap(), articles);
    let Lookup::Found(gm) = again.find_story("GM recall").await.unwrap() else {
        panic!("the README's demo query must find a story")
    };
    assert!(gm.title.contains("GM"), "{}", gm.title);
    assert!(
        (3..=5).contains(&gm.key_points.len()),
        "{:?}",
        gm.key_points
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_waits_for_another_writer_and_lands_whole() {
    let (app, dir) = common::temp_app(false).await;
    app.import(SAMPLE.as_bytes()).await.unwrap();
    let before = export_all(&app).await;
    // Another process holds the write lock.
    let path = dir.path().join("test.db");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        path.display()
    ))
    .await
    .unwrap();
    sqlx::Executor::execute(&mut conn, "PRAGMA busy_timeout = 0; BEGIN IMMEDIATE;")
        .await
        .unwrap();
    let more = r#"{"url":"https://example.com/new","title":"A new event entirely","story":"new"}"#;
    // An import given up while it waits leaves nothing half-written.
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        app.import(more.as_bytes()),
    )
    .await;
    assert!(cancelled.is_err(), "the import waited for the lock");
    assert_eq!(export_all(&app).await, before, "nothing half-written");
    // One that waits lands, whole, once the other writer is done.
    let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = released.clone();
    let holder = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        sqlx::Executor::execute(&mut conn, "ROLLBACK")
            .await
            .unwrap();
    });
    let ok = app.import(more.as_bytes()).await.unwrap();
    assert!(released.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        ok.batch.new_articles, 1,
        "the batch lands once the lock is free"
    );
    holder.await.unwrap();
}

#[tokio::test]
async fn keyless_articles_cluster_into_stories_with_stable_ids() {
    let (app, _dir) = common::temp_app(false).await;
    let first = r#"{"url":"https://www.reuters.com/a","title":"Mt. Gox files for bankruptcy protection in Tokyo","published":"2024-05-01T10:00:00Z"}
{"url":"https://www.bbc.co.uk/b","title":"Comet visible to the naked eye this week","published":"2024-05-01T10:05:00Z"}
"#;
    let r = app.import(first.as_bytes()).await.unwrap();
    assert_eq!((r.batch.new_articles, r.batch.new_stories), (2, 2));
    let Lookup::Found(gox) = app.find_story("gox bankruptcy").await.unwrap() else {
        panic!("no Gox story")
    };
    let more = r#"{"url":"https://www.foxnews.com/c","title":"Bitcoin exchange Mt. Gox seeks bankruptcy protection","published":"2024-05-01T11:00:00Z"}
{"url":"https://www.theguardian.com/d","title":"Mt. Gox bankruptcy: what bitcoin owners need to know","published":"2024-05-01T12:00:00Z"}
{"url":"https://www.npr.org/e","title":"Comet will be visible to the naked eye","published":"2024-05-01T12:30:00Z"}
"#;
    let r = app.import(more.as_bytes()).await.unwrap();
    assert_eq!(
        r.batch.new_stories, 0,
        "every new article joined its event: {r:?}"
    );
    assert_eq!(r.batch.updated_stories, 2, "{r:?}");
    let Lookup::Found(grown) = app.find_story(gox.id.as_str()).await.unwrap() else {
        panic!("id lost")
    };
    assert_eq!(
        grown.article_count, 3,
        "the story id stays as the story grows"
    );
    assert_eq!(app.store.story_count().await.unwrap(), 2);
    // A fresh process (a new clusterer restored from the store) clusters the same way.
    let again = App::with_settings((*app.settings).clone()).await.unwrap();
    let late = r#"{"url":"https://www.cnn.com/f","title":"Mt. Gox bankruptcy leaves bitcoin owners waiting","published":"2024-05-01T13:00:00Z"}"#;
    let r = again.import(late.as_bytes()).await.unwrap();
    assert_eq!(
        (r.batch.new_stories, r.batch.updated_stories),
        (0, 1),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_merged_story_id_still_finds_the_merged_story() {
    let (app, _dir) = common::temp_app(false).await;
    app.import(SAMPLE.as_bytes()).await.unwrap();
    let rows = app.store.stories_after(None, 10).await.unwrap();
    let (a, b) = (rows[0].clone(), rows[1].clone());
    let mut tx = app.store.begin().await.unwrap();
    tx.merge_story(b.key, a.key).await.unwrap();
    tx.commit().await.unwrap();
    let merged = app
        .store
        .story(&b.id)
        .await
        .unwrap()
        .expect("old id resolves");
    assert_eq!(merged.id, a.id);
    assert_eq!(
        app.store.story_count().await.unwrap(),
        2,
        "one story fewer in lists"
    );
    assert!(app
        .store
        .stories_after(None, 10)
        .await
        .unwrap()
        .iter()
        .all(|r| r.key != b.key));
}

/// README: "The same input gives the same stories" — ids, titles and key points alike (ties
/// between equally central headlines once fell to a randomly seeded hash set's order).
#[tokio::test]
async fn the_same_input_gives_the_same_stories() {
    let mut runs = Vec::new();
    for _ in 0..3 {
        let (app, _dir) = common::temp_app(true).await;
        let mut stories: Vec<(String, String, Vec<String>)> = Vec::new();
        for row in app.store.stories_after(None, 1000).await.unwrap() {
            stories.push((row.id.to_string(), row.title, row.key_points));
        }
        stories.sort();
        runs.push(stories);
    }
    assert!(runs[0].len() >= 10);
    for other in &runs[1..] {
        let differ: Vec<_> = runs[0].iter().zip(other).filter(|(a, b)| a != b).collect();
        assert!(differ.is_empty(), "{differ:#?}");
    }
}

/// A story's search entry follows its title: when more coverage changes the title, the typo
/// suggestions (titles only) offer the new title and no longer the old one, and the story is
/// listed once.
#[tokio::test]
async fn the_search_entry_follows_a_changed_title() {
    let (app, _dir) = common::temp_app(false).await;
    let first = r#"{"url":"https://www.reuters.com/world/bridge-1","title":"Harbour bridge opens to traffic","published":"2024-05-01T08:00:00Z","story":"bridge"}"#;
    app.import(first.as_bytes()).await.unwrap();
    let more = r#"{"url":"https://www.bbc.co.uk/news/bridge-2","title":"Cracks close the harbour bridge","published":"2024-05-01T10:00:00Z","story":"bridge"}
{"url":"https://apnews.com/article/bridge-3","title":"Harbour bridge closed by cracks","published":"2024-05-01T11:00:00Z","story":"bridge"}
{"url":"https://www.theguardian.com/world/bridge-4","title":"Engineers close harbour bridge over cracks","published":"2024-05-01T12:00:00Z","story":"bridge"}
"#;
    app.import(more.as_bytes()).await.unwrap();
    let Lookup::Found(story) = app.find_story("harbour bridge").await.unwrap() else {
        panic!("the story must be found by its words")
    };
    assert!(
        story.title.to_lowercase().contains("crack"),
        "the title follows the coverage: {}",
        story.title
    );
    let Lookup::NotFound { suggestions } = app.find_story("crakcs").await.unwrap() else {
        panic!("a misspelt word must not match")
    };
    assert_eq!(
        suggestions
            .iter()
            .filter(|s| s.title == story.title)
            .count(),
        1,
        "the new title is suggested, once: {suggestions:?}"
    );
    let Lookup::NotFound { suggestions } = app.find_story("traffik").await.unwrap() else {
        panic!("a misspelt word must not match")
    };
    assert!(
        suggestions.iter().all(|s| !s.title.contains("traffic")),
        "the old title is gone from the index: {suggestions:?}"
    );
}

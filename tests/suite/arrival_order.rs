//! Stories do not depend on how their articles arrived. The same articles imported as one
//! file, or dealt into several files imported one after another in any order, or all at once
//! by several processes, give the same stories: the same ids holding the same articles under
//! the same titles, on a SQLite file and on Postgres; on the bundled demo (36 hours) and on
//! the AllSides round-ups of April-June 2021 in `../shared` (three months, longer than the
//! clusterer's window and its word counts' days).

use std::collections::BTreeMap;

use crate::common;

use storybot::app::App;
use storybot::config::Config;

/// Each story by id: its title and its articles' URLs.
type Stories = BTreeMap<String, (String, Vec<String>)>;

async fn stories(app: &App) -> Stories {
    let mut out = Stories::new();
    let mut after = None;
    loop {
        let rows = app.store.stories_after(after, 500).await.unwrap();
        let Some(last) = rows.last() else {
            return out;
        };
        after = Some(last.key);
        for row in rows {
            let mut urls: Vec<String> = common::articles(app, row.key)
                .await
                .into_iter()
                .map(|a| a.url)
                .collect();
            urls.sort();
            assert!(
                !urls.is_empty(),
                "story {} is listed with no articles",
                row.id
            );
            out.insert(row.id.to_string(), (row.title, urls));
        }
    }
}

/// The lines shuffled (a fixed xorshift, so a failure can be replayed) and dealt into
/// `files` files.
fn deal(lines: &[&str], files: usize, seed: u64) -> Vec<String> {
    let mut order: Vec<&str> = lines.to_vec();
    let mut x = seed | 1;
    for i in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let mut out = vec![String::new(); files];
    for (i, line) in order.into_iter().enumerate() {
        out[i % files].push_str(line);
        out[i % files].push('\n');
    }
    out
}

/// The lines in publication order, cut into `files` spans of time, newest span first: a
/// backfill imported after the newer archive.
fn newest_first(lines: &[&str], files: usize) -> Vec<String> {
    let mut order: Vec<&str> = lines.to_vec();
    order.sort_by_key(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["published"].as_i64().unwrap()
    });
    let size = order.len().div_ceil(files);
    order
        .chunks(size)
        .rev()
        .map(|c| c.iter().map(|l| format!("{l}\n")).collect())
        .collect()
}

fn config(url: &str) -> Config {
    let mut config = Config::default();
    config.store.url = url.to_string();
    config.store.seed_demo = false;
    config
}

/// Imports the files one after another through one process.
async fn one_after_another(url: &str, files: &[String]) -> Stories {
    let app = App::open(config(url)).await.unwrap();
    for f in files {
        app.import(std::io::Cursor::new(f.clone())).await.unwrap();
    }
    stories(&app).await
}

/// Imports every file at once, each through a process of its own (an app on the same store).
async fn at_once(url: &str, files: &[String]) -> Stories {
    let mut apps = Vec::new();
    for _ in files {
        apps.push(App::open(config(url)).await.unwrap());
    }
    let imports: Vec<_> = apps
        .iter()
        .zip(files)
        .map(|(app, f)| {
            let (app, f) = (app.clone(), f.clone());
            tokio::spawn(async move { app.import(std::io::Cursor::new(f)).await.unwrap() })
        })
        .collect();
    for i in imports {
        i.await.unwrap();
    }
    stories(&apps[0]).await
}

fn assert_same(expected: &Stories, got: &Stories, how: &str) {
    let mut differ = Vec::new();
    for id in expected
        .keys()
        .chain(got.keys().filter(|id| !expected.contains_key(*id)))
    {
        let (a, b) = (expected.get(id), got.get(id));
        if a == b {
            continue;
        }
        let urls = |s: Option<&(String, Vec<String>)>| s.map(|s| s.1.clone()).unwrap_or_default();
        let (ua, ub) = (urls(a), urls(b));
        differ.push(format!(
            "{id}: title {:?} vs {:?}; only in one import: {:?}; only here: {:?}",
            a.map(|s| &s.0),
            b.map(|s| &s.0),
            ua.iter().filter(|u| !ub.contains(u)).collect::<Vec<_>>(),
            ub.iter().filter(|u| !ua.contains(u)).collect::<Vec<_>>(),
        ));
    }
    assert!(
        differ.is_empty(),
        "{how}: {} stories where one import gives {}; {} differ:\n{}",
        got.len(),
        expected.len(),
        differ.len(),
        differ.join("\n")
    );
}

fn demo_lines() -> Vec<&'static str> {
    storybot::ingest::demo::DEMO_JSONL
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

fn sqlite_url(dir: &tempfile::TempDir, name: &str) -> String {
    format!("sqlite://{}", dir.path().join(name).display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_articles_in_any_files_and_order_give_the_same_stories() {
    let lines = demo_lines();
    let dir = tempfile::tempdir().unwrap();
    let one = one_after_another(&sqlite_url(&dir, "one.db"), &deal(&lines, 1, 7)).await;
    assert!(one.len() >= 20, "the demo data makes many stories");
    assert!(
        one.values().any(|(_, urls)| urls.len() >= 10),
        "and some big ones"
    );
    for (files, seed) in [(2, 11), (5, 13)] {
        let dealt = deal(&lines, files, seed);
        let got = one_after_another(&sqlite_url(&dir, &format!("seq{files}.db")), &dealt).await;
        assert_same(
            &one,
            &got,
            &format!("{files} shuffled files, one after another"),
        );
        let got = at_once(&sqlite_url(&dir, &format!("once{files}.db")), &dealt).await;
        assert_same(&one, &got, &format!("{files} shuffled files, all at once"));
    }
    let backfill = newest_first(&lines, 3);
    let got = one_after_another(&sqlite_url(&dir, "backfill.db"), &backfill).await;
    assert_same(&one, &got, "3 spans of time, the newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_files_imported_at_once_give_the_stories_of_one_import() {
    let test = "on_postgres_files_imported_at_once_give_the_stories_of_one_import";
    let Some(one_pg) = common::PgSchema::create(test).await else {
        return;
    };
    let Some(many_pg) = common::PgSchema::create(test).await else {
        return;
    };
    let lines = demo_lines();
    let one = one_after_another(&one_pg.url, &deal(&lines, 1, 7)).await;
    let got = at_once(&many_pg.url, &deal(&lines, 5, 17)).await;
    assert_same(&one, &got, "5 shuffled files at once on Postgres");
    one_pg.drop().await;
    many_pg.drop().await;
}

/// The round-ups' articles as import lines: each outlet's article of an event published at
/// the event's time plus a fixed offset per outlet within the day, with 300 characters of
/// text, as the cluster benchmark feeds them.
fn roundup_lines(dir: &std::path::Path) -> Vec<String> {
    let path = dir.join("data/clustering/allsides_roundups_2021-04_to_2021-06.jsonl");
    let text = std::fs::read_to_string(path).expect("the round-ups");
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let date = chrono::DateTime::parse_from_rfc3339(event["date"].as_str().unwrap()).unwrap();
        for article in event["news"]
            .as_object()
            .into_iter()
            .flat_map(|n| n.values())
        {
            let (Some(outlet), Some(title), Some(url)) = (
                article["newsSource"].as_str(),
                article["newsTitle"].as_str(),
                article["newsLink"].as_str(),
            ) else {
                continue;
            };
            let offset = (storybot_fnv(outlet) % 86_400) as i64 - 43_200;
            let paragraphs: Vec<&str> = article["newBody"]
                .as_array()
                .map(|p| p.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            let body: String = paragraphs.join(" ").chars().take(300).collect();
            let line = serde_json::json!({
                "url": url, "title": title, "summary": body, "outlet": outlet,
                "published": date.timestamp() + offset,
            });
            lines.push(line.to_string());
        }
    }
    lines
}

/// A fixed hash of a name (FNV-1a, 32 bits), as the benchmark spreads outlets over a day.
fn storybot_fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_months_of_events_in_any_files_and_order_give_the_same_stories() {
    let test = "three_months_of_events_in_any_files_and_order_give_the_same_stories";
    let Some(shared) = common::shared_dir() else {
        common::skip(test, "../shared is absent: no round-ups to import");
        return;
    };
    let owned = roundup_lines(&shared);
    let lines: Vec<&str> = owned.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let one = one_after_another(&sqlite_url(&dir, "one.db"), &deal(&lines, 1, 3)).await;
    assert!(one.len() >= 150, "the round-ups make many stories");
    let dealt = deal(&lines, 2, 19);
    let got = one_after_another(&sqlite_url(&dir, "two.db"), &dealt).await;
    assert_same(
        &one,
        &got,
        "the round-ups in 2 shuffled files, one after another",
    );
    let dealt = deal(&lines, 5, 23);
    let got = at_once(&sqlite_url(&dir, "five.db"), &dealt).await;
    assert_same(&one, &got, "the round-ups in 5 shuffled files, all at once");
    let got = one_after_another(&sqlite_url(&dir, "back.db"), &newest_first(&lines, 4)).await;
    assert_same(
        &one,
        &got,
        "the round-ups in 4 spans of time, the newest first",
    );
}

/// README: "a story left empty points to where its articles went". A backfill imported after
/// the newer archive moves articles out of stories the first import made; every id a user was
/// shown keeps finding a story, one that holds at least one of the articles it last held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_stories_emptied_by_a_backfill_still_find_their_articles() {
    let lines = demo_lines();
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(&sqlite_url(&dir, "ids.db")))
        .await
        .unwrap();
    let mut shown: Stories = Stories::new();
    for f in deal(&lines, 4, 29) {
        app.import(std::io::Cursor::new(f)).await.unwrap();
        // Each id as it was last shown.
        shown.extend(stories(&app).await);
    }
    let last = stories(&app).await;
    let emptied: Vec<&String> = shown.keys().filter(|id| !last.contains_key(*id)).collect();
    assert!(
        !emptied.is_empty(),
        "the later files moved some stories' articles away"
    );
    for id in emptied {
        let parsed = storybot::model::StoryId::parse(id).unwrap();
        let found = app.store.story(&parsed).await.unwrap();
        let found = found.unwrap_or_else(|| panic!("story {id} no longer resolves"));
        let now = &last[&found.id.to_string()].1;
        assert!(
            shown[id].1.iter().any(|u| now.contains(u)),
            "story {id} resolves to {}, which holds none of its articles",
            found.id
        );
    }
}

//! Several storybot processes on one store: the real binary, several at once, on one Postgres
//! schema (and SQLite where it applies) against the fake Discord: shards split between
//! processes, one leader that a SIGKILL hands over, delivery shared without a duplicate or a
//! global 429, concurrent imports that cluster as one, and `storybot status`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::fake_discord::FakeDiscord;
use common::PgSchema;
use serde_json::{json, Value};
use storybot::app::App;
use storybot::config::Config;
use storybot::model::{Follow, NewSubscription, StoryKey};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "fake-bot-token.for-the-fleet-tests.0123456789";
const WAIT: Duration = Duration::from_secs(90);

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_storybot")
}

/// A storybot process with its log in a file; killed if the test ends first.
struct Proc {
    child: tokio::process::Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(dir: &Path, name: &str, config: &Path, args: &[&str]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let child = tokio::process::Command::new(exe())
            .arg("--config")
            .arg(config)
            .args(args)
            .env("DISCORD_TOKEN", TOKEN)
            .env("RUST_LOG", "storybot=info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Proc { child, log }
    }

    fn pid(&self) -> i64 {
        i64::from(self.child.id().expect("running"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let sent = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// SIGTERM, then the exit status (which must be success).
    async fn stop(mut self) {
        self.signal("-TERM");
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .unwrap();
        assert!(status.success(), "exit {status:?}:\n{}", self.log());
    }
}

/// Feed items here link to the internet: their pages are never read.
const NO_PAGES: &str = "[articles]\nenabled = false\n";

fn write_config(dir: &Path, store: &str, fake: Option<&FakeDiscord>, more: &str) -> PathBuf {
    let discord = fake.map_or(String::new(), |f| {
        format!(
            "[discord]\napi_base_url = \"{}\"\nsummary_minutes = 1\n",
            f.base_url
        )
    });
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!("[store]\nurl = \"{store}\"\nseed_demo = true\n{NO_PAGES}{discord}{more}"),
    )
    .unwrap();
    path
}

/// `storybot status --json` on `config`'s store.
fn status(config: &Path) -> Value {
    let out = std::process::Command::new(exe())
        .args(["--config", config.to_str().unwrap(), "status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until `storybot status` says `pred`, returning that status.
async fn status_until(config: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = status(config);
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The pid of the live leader, if one.
fn leader_pid(s: &Value) -> Option<i64> {
    let leaders: Vec<i64> = s["processes"]
        .as_array()?
        .iter()
        .filter(|p| p["leader"] == true && p["live"] == true)
        .filter_map(|p| p["pid"].as_i64())
        .collect();
    assert!(leaders.len() <= 1, "two leaders: {s:#}");
    leaders.first().copied()
}

fn callbacks_of(fake: &FakeDiscord, id: u64) -> usize {
    let prefix = format!("/api/v10/interactions/{id}/");
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(&prefix))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_split_four_shards_and_answer_each_interaction_once() {
    let test = "three_processes_split_four_shards_and_answer_each_interaction_once";
    let Some(pg) = PgSchema::create(test).await else {
        return;
    };
    let fake = FakeDiscord::start(TOKEN).await;
    fake.offer_shards(4, 2);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg.url, Some(&fake), "");
    let run = |name: &str, shards: &str| {
        Proc::spawn(
            dir.path(),
            name,
            &config,
            &["run", "--shards", shards, "--total-shards", "4"],
        )
    };
    let procs = [run("a", "0-1"), run("b", "2"), run("c", "3")];
    fake.wait_ready(4, WAIT).await;

    // Each shard identified once, by the process that holds it, never two in one bucket
    // (shard % 2) within Discord's 5 seconds, although all three started at once.
    let mut shards: Vec<u32> = fake.identified().iter().map(|(s, _)| *s).collect();
    shards.sort_unstable();
    assert_eq!(shards, vec![0, 1, 2, 3]);
    assert_eq!(fake.identify_violations(), vec![]);

    // A fourth process asking for shards another holds is refused by name.
    let clash = Proc::spawn(
        dir.path(),
        "d",
        &config,
        &["run", "--shards", "1-2", "--total-shards", "4"],
    );

    // A command in a server on each shard: answered once, by the process holding the shard.
    let mut ids = Vec::new();
    for shard in 0..4 {
        let guild = fake.guild_on_shard(shard);
        let id = fake.command_in(
            guild,
            "story",
            json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
        );
        assert_eq!(fake.shard_of(id), shard);
        ids.push(id);
    }
    fake.wait_until("an answer to each command", WAIT, |reqs| {
        ids.iter()
            .all(|id| {
                let prefix = format!("/api/v10/interactions/{id}/");
                reqs.iter().any(|r| r.path.starts_with(&prefix))
            })
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in &ids {
        assert_eq!(callbacks_of(&fake, *id), 1, "interaction {id}");
    }
    // The commands were registered once, by the process holding shard 0.
    let puts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/commands"))
        .count();
    assert_eq!(puts, 1);

    // `storybot status`: three live processes with their shards, exactly one leader.
    let s = status_until(&config, "three processes and a leader", |s| {
        s["processes"].as_array().map_or(0, Vec::len) == 3 && leader_pid(s).is_some()
    })
    .await;
    let mut held: Vec<&str> = s["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["shards"].as_str().unwrap())
        .collect();
    held.sort_unstable();
    assert_eq!(held, vec!["0-1 of 4", "2 of 4", "3 of 4"]);
    let leaders = s["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["leader"] == true)
        .count();
    assert_eq!(leaders, 1, "{s:#}");
    assert!(procs.iter().any(|p| Some(p.pid()) == leader_pid(&s)));
    assert_eq!(s["store"], "postgres");

    let out = tokio::time::timeout(WAIT, clash.child.wait_with_output())
        .await
        .expect("the clashing process gives up")
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = std::fs::read_to_string(dir.path().join("d.log")).unwrap();
    assert!(
        (err.contains("already holds gateway shards 0-1 of 4")
            || err.contains("already holds gateway shards 2 of 4"))
            && err.contains("--shards"),
        "{err}"
    );

    for p in procs {
        p.stop().await;
    }
    // A clean stop leaves the table empty.
    let s = status(&config);
    assert_eq!(s["processes"], json!([]), "{s:#}");
    pg.drop().await;
}

/// One event's headline as outlet `k` writes it: five of the event's six made-up words (no
/// two events share one), a different five for each outlet.
fn headline(event: usize, k: usize) -> String {
    let own = format!("{} {}", common::words(event), common::words(event + 60_000));
    let w: Vec<&str> = own.split(' ').collect();
    let skip = k % w.len();
    w.iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(_, w)| *w)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An RSS feed of `outlet`: `per_event` items for each of `events` events, each event's
/// articles in every feed, published in the last two hours.
fn feed(outlet: usize, events: usize, per_event: usize) -> String {
    let now = Utc::now();
    let mut s =
        String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>");
    for e in 0..events {
        for j in 0..per_event {
            let k = outlet * per_event + j;
            let date = (now - chrono::Duration::seconds(7_000 - (e * 13 + k) as i64)).to_rfc2822();
            s.push_str(&format!(
                "<item><title>{}</title><link>https://outlet{outlet}.example/e{e}/{j}</link>\
                 <pubDate>{date}</pubDate></item>",
                headline(e, k)
            ));
        }
    }
    s.push_str("</channel></rss>");
    s
}

/// Story of each stored article URL.
async fn partition(app: &App) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for story in app.store.stories_after(None, 100_000).await.unwrap() {
        for a in common::articles(app, story.key).await {
            out.insert(a.url.clone(), story.id.as_str().to_string());
        }
    }
    out
}

/// Events (by the URL's `e<N>`) each in exactly one story, and no story holding two events.
fn assert_one_story_per_event(stored: &HashMap<String, String>) {
    let mut stories_of_event: BTreeMap<String, HashSet<&str>> = BTreeMap::new();
    let mut events_of_story: HashMap<&str, HashSet<String>> = HashMap::new();
    for (url, story) in stored {
        let event = url.split('/').nth(3).unwrap().to_string();
        stories_of_event
            .entry(event.clone())
            .or_default()
            .insert(story);
        events_of_story.entry(story).or_default().insert(event);
    }
    let split: Vec<_> = stories_of_event
        .iter()
        .filter(|(_, s)| s.len() > 1)
        .collect();
    assert!(split.is_empty(), "events split over stories: {split:?}");
    let mixed = events_of_story.values().filter(|e| e.len() > 1).count();
    assert_eq!(mixed, 0, "stories mixing events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_during_ingest_hands_over_without_losing_or_splitting_a_story() {
    let test = "a_leader_killed_during_ingest_hands_over_without_losing_or_splitting_a_story";
    let Some(pg) = PgSchema::create(test).await else {
        return;
    };
    // 10 feeds of 1,000 items: 500 events of 20 articles, 2 in each feed. One cycle writes
    // 2,000 articles a transaction, so a kill after the first leaves every event half stored.
    let (outlets, events, per_event) = (10, 500, 2);
    let server = MockServer::start().await;
    let mut feeds = String::new();
    for o in 0..outlets {
        Mock::given(method("GET"))
            .and(path(format!("/feed{o}.xml")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(feed(o, events, per_event), "application/rss+xml"),
            )
            .mount(&server)
            .await;
        feeds.push_str(&format!(
            "[[feeds]]\nurl = \"{}/feed{o}.xml\"\n",
            server.uri()
        ));
    }
    let fake = FakeDiscord::start(TOKEN).await;
    fake.offer_shards(2, 1);
    let dir = tempfile::tempdir().unwrap();
    let more = format!("[ingest]\nmax_age_hours = 0\nconcurrency = 2\n{feeds}");
    let config = write_config(dir.path(), &pg.url, Some(&fake), &more);
    let run = |name: &str, shard: &str| {
        Proc::spawn(
            dir.path(),
            name,
            &config,
            &["run", "--shards", shard, "--total-shards", "2"],
        )
    };
    // The store seeded before the processes start, so what they add is the feeds' articles.
    let mut c = Config::default();
    c.store.url = pg.url.clone();
    c.store.seed_demo = true;
    let app = App::open(c).await.unwrap();
    let demo = app.store.article_count().await.unwrap();
    let mut procs = vec![run("a", "0"), run("b", "1")];
    let s = status_until(&config, "a leader", |s| leader_pid(s).is_some()).await;
    let leader = leader_pid(&s).unwrap();
    let deadline = Instant::now() + WAIT;
    while app.store.article_count().await.unwrap() < demo + 2_000 {
        assert!(Instant::now() < deadline, "the leader stored nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let i = procs.iter().position(|p| p.pid() == leader).unwrap();
    let killed = procs.remove(i);
    killed.signal("-KILL");
    let at = Instant::now();
    let stored_at_kill = app.store.article_count().await.unwrap() - demo;
    assert!(stored_at_kill < 10_000, "the kill came after ingest ended");

    let s = status_until(&config, "another leader", |s| {
        leader_pid(s).is_some_and(|p| p != leader)
    })
    .await;
    let took_over = at.elapsed();
    assert_eq!(leader_pid(&s), Some(procs[0].pid()));
    let deadline = Instant::now() + WAIT;
    while app.store.article_count().await.unwrap() < demo + 10_000 {
        assert!(
            Instant::now() < deadline,
            "the new leader did not finish ingest ({} articles, {demo} of the demo):\n{}",
            app.store.article_count().await.unwrap(),
            procs[0].log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "killed the leader with {stored_at_kill} articles stored; another led {:.1} s later",
        took_over.as_secs_f64()
    );
    // Every article once, every event one story across the handover.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.store.article_count().await.unwrap(), demo + 10_000);
    let stored: HashMap<String, String> = partition(&app)
        .await
        .into_iter()
        .filter(|(url, _)| url.contains(".example/"))
        .collect();
    assert_eq!(stored.len(), outlets * events * per_event);
    assert_one_story_per_event(&stored);
    let log = procs[0].log();
    assert!(log.contains("leading"), "{log}");
    // `storybot status` shows the killed process as gone once it is unseen long enough.
    status_until(&config, "the killed process shown as gone", |s| {
        s["processes"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["pid"].as_i64() == Some(leader) && p["live"] == false)
        })
    })
    .await;
    for p in procs {
        p.stop().await;
    }
    app.store.close().await;
    pg.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_channels_are_delivered_exactly_once_across_three_processes() {
    let test = "two_thousand_channels_are_delivered_exactly_once_across_three_processes";
    let Some(pg) = PgSchema::create(test).await else {
        return;
    };
    let channels = 2_000u64;
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    fake.offer_shards(3, 3);
    let dir = tempfile::tempdir().unwrap();
    let more = "[subscriptions]\nmax_delivery_age_minutes = 1440\nmatch_interval_seconds = 1\n";
    let config = write_config(dir.path(), &pg.url, Some(&fake), more);
    // 40 of Discord's 50 a second: room for the test machine's scheduling under a full test
    // run on two cores, where a starved process sends a few paced requests late and in a
    // bunch (the benchmark measures the shipped 48). Three processes without the shared
    // budget would still send up to 120 a second.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "summary_minutes = 1\n",
            "summary_minutes = 1\nrequests_per_second = 40\n",
        ),
    )
    .unwrap();
    let mut c = Config::default();
    c.store.url = pg.url.clone();
    c.store.seed_demo = true;
    let app = App::open(c).await.unwrap();
    // Every channel follows one demo story, last posted at zero articles: the leader's first
    // matching pass records one update for each.
    let story = app.trending(1).await.unwrap().remove(0);
    for i in 0..channels {
        let s = NewSubscription {
            guild_id: 1_000 + i,
            channel_id: 2_000_000 + i,
            channel_kind: Default::default(),
            options: Default::default(),
            follow: Follow::Story {
                story: story.id.clone(),
            },
            watermark: StoryKey(0),
            last_count: 0,
            last_sides: 0,
            created_by: 1,
        };
        app.store.subscribe(&s, 25, Utc::now()).await.unwrap();
    }
    let procs: Vec<Proc> = (0..3)
        .map(|i| {
            Proc::spawn(
                dir.path(),
                &format!("p{i}"),
                &config,
                &["run", "--shards", &i.to_string(), "--total-shards", "3"],
            )
        })
        .collect();
    let total = |fake: &FakeDiscord| -> usize { fake.all_messages().values().map(Vec::len).sum() };
    let deadline = Instant::now() + Duration::from_secs(300);
    while total(&fake) < channels as usize {
        assert!(
            Instant::now() < deadline,
            "only {} of {channels} delivered",
            total(&fake)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Exactly once: one message in each channel, no post repeated (not even one that
    // Discord's nonce check refused), and no global 429.
    let messages = fake.all_messages();
    for i in 0..channels {
        let n = messages.get(&(2_000_000 + i)).map_or(0, Vec::len);
        assert_eq!(n, 1, "channel {i}");
    }
    assert_eq!(fake.nonce_repeats(), 0, "posts repeated");
    let (global, _) = fake.rate_limited();
    assert_eq!(global, 0, "global 429s");
    let sent = app
        .store
        .delivery_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == storybot::model::DeliveryState::Sent)
        .map_or(0, |(_, n)| n);
    assert_eq!(sent, channels as i64);
    // Shared: more than one process delivered.
    let delivering = procs
        .iter()
        .filter(|p| p.log().contains("delivered"))
        .count();
    assert!(delivering >= 2, "only {delivering} process delivered");
    for p in procs {
        p.stop().await;
    }
    app.store.close().await;
    pg.drop().await;
}

/// JSONL of `events` events, six keyless articles each; `half` 0 or 1 takes every other
/// article, `None` all of them.
fn event_lines(events: usize, half: Option<usize>) -> String {
    let t0 = Utc::now() - chrono::Duration::hours(3);
    let mut out = String::new();
    for e in 0..events {
        for k in 0..6 {
            if half.is_some_and(|h| k % 2 != h) {
                continue;
            }
            let published = t0 + chrono::Duration::seconds((e * 7 + k) as i64);
            out.push_str(&format!(
                "{{\"url\":\"https://outlet{k}.example/e{e}/{k}\",\"title\":\"{}\",\"published\":\"{}\"}}\n",
                headline(e, k),
                published.to_rfc3339()
            ));
        }
    }
    out
}

/// Imports `files` at once into `store` (each its own process); all must succeed.
async fn import_at_once(dir: &Path, store: &str, files: &[&str]) {
    let config = dir.join("import.toml");
    std::fs::write(&config, "[store]\nseed_demo = false\n").unwrap();
    let runs = files.iter().map(|f| {
        tokio::process::Command::new(exe())
            .args(["--config", config.to_str().unwrap(), "--db", store])
            .args(["import", f])
            .current_dir(dir)
            .output()
    });
    for out in futures_util::future::join_all(runs).await {
        let out = out.unwrap();
        assert!(
            out.status.success(),
            "import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The stories of a store as groups of article URLs.
async fn groups(store: &str) -> BTreeSet<Vec<String>> {
    let mut c = Config::default();
    c.store.url = store.to_string();
    let app = App::open(c).await.unwrap();
    let mut by_story: HashMap<String, Vec<String>> = HashMap::new();
    for (url, story) in partition(&app).await {
        by_story.entry(story).or_default().push(url);
    }
    app.store.close().await;
    by_story
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect()
}

/// Two imports at once into `together`, of the two halves of every event, give the stories
/// one import of everything gives in `alone`.
async fn concurrent_imports_cluster_as_one(dir: &Path, together: &str, alone: &str) {
    let events = 300;
    std::fs::write(dir.join("a.jsonl"), event_lines(events, Some(0))).unwrap();
    std::fs::write(dir.join("b.jsonl"), event_lines(events, Some(1))).unwrap();
    std::fs::write(dir.join("all.jsonl"), event_lines(events, None)).unwrap();
    import_at_once(dir, together, &["a.jsonl", "b.jsonl"]).await;
    import_at_once(dir, alone, &["all.jsonl"]).await;
    let (together, alone) = (groups(together).await, groups(alone).await);
    assert_eq!(together.iter().map(Vec::len).sum::<usize>(), events * 6);
    assert_eq!(together.len(), events, "one story per event");
    assert_eq!(together, alone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_imports_into_sqlite_cluster_as_one_import() {
    let dir = tempfile::tempdir().unwrap();
    let together = format!("sqlite://{}", dir.path().join("together.db").display());
    let alone = format!("sqlite://{}", dir.path().join("alone.db").display());
    concurrent_imports_cluster_as_one(dir.path(), &together, &alone).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_imports_into_postgres_cluster_as_one_import() {
    let test = "concurrent_imports_into_postgres_cluster_as_one_import";
    let (Some(together), Some(alone)) =
        (PgSchema::create(test).await, PgSchema::create(test).await)
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    concurrent_imports_cluster_as_one(dir.path(), &together.url, &alone.url).await;
    together.drop().await;
    alone.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_service_process_on_one_sqlite_file_is_told_what_to_do() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let feed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds/rss20.xml");
    let more = format!("[[feeds]]\nurl = \"file://{}\"\n", feed.display());
    let config = write_config(dir.path(), &db, Some(&fake), &more);
    let first = Proc::spawn(dir.path(), "first", &config, &["run"]);
    fake.wait_ready(1, WAIT).await;
    for (name, args) in [("second", vec!["run"]), ("ingest", vec!["ingest"])] {
        let out = tokio::process::Command::new(exe())
            .args(["--config", config.to_str().unwrap()])
            .args(&args)
            .env("DISCORD_TOKEN", TOKEN)
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("already running on the SQLite store")
                && err.contains(&format!("process {}", first.pid()))
                && err.contains("postgres://"),
            "{name}: {err}"
        );
    }
    // Reads and imports still work beside it.
    let s = status(&config);
    assert_eq!(s["store"], "sqlite");
    assert_eq!(s["processes"].as_array().unwrap().len(), 1, "{s:#}");
    std::fs::write(dir.path().join("a.jsonl"), event_lines(3, None)).unwrap();
    let out = std::process::Command::new(exe())
        .args(["--config", config.to_str().unwrap(), "import", "a.jsonl"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    first.stop().await;
    // Once it stopped, the next one starts.
    let next = Proc::spawn(dir.path(), "next", &config, &["run"]);
    fake.wait_ready(2, WAIT).await;
    next.stop().await;
}

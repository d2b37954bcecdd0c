//! Several processes on one Postgres store, with the real binary against the fake Discord
//! (enforcing Discord's limits): one update to each of 2,000 subscribed channels delivered by
//! three `storybot run` processes (messages per second in all, duplicates, global 429s), and
//! the leader's failover time (SIGKILL of the leader until another leads), over several kills.
//! Needs STORYBOT_TEST_POSTGRES (a database this may fill with a schema of its own).
//!
//! `cargo bench --bench fleet [-- --channels 2000 --processes 3 --kills 5]`

mod common;
#[path = "../tests/common/fake_discord.rs"]
mod fake_discord;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use fake_discord::FakeDiscord;
use sqlx::Executor;
use storybot::app::App;
use storybot::config::Config;
use storybot::model::{Follow, NewSubscription, StoryKey};

const TOKEN: &str = "benchmark-bot-token.0123456789abcdef";

#[tokio::main]
async fn main() {
    let Ok(base) = std::env::var("STORYBOT_TEST_POSTGRES") else {
        println!("SKIPPED fleet: STORYBOT_TEST_POSTGRES is not set");
        return;
    };
    let channels = common::arg("--channels", 2000) as u64;
    let processes = common::arg("--processes", 3) as u32;
    let kills = common::arg("--kills", 5);
    delivery(&base, channels, processes).await;
    failover(&base, kills).await;
}

/// A fresh schema; its URL.
async fn schema(base: &str, name: &str) -> String {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(base)
        .await
        .unwrap();
    let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
    conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{name}")
}

fn config(dir: &Path, url: &str, fake: &FakeDiscord) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"{url}\"\nseed_demo = true\n[discord]\napi_base_url = \"{}\"\n\
             [subscriptions]\nmax_delivery_age_minutes = 1440\nmatch_interval_seconds = 1\n",
            fake.base_url
        ),
    )
    .unwrap();
    path
}

fn spawn(dir: &Path, config: &Path, shard: u32, total: u32) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_storybot"))
        .arg("--config")
        .arg(config)
        .args(["run", "--shards", &shard.to_string()])
        .args(["--total-shards", &total.to_string()])
        .env("DISCORD_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("p{shard}.log"))).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn open(url: &str) -> App {
    let mut c = Config::default();
    c.store.url = url.to_string();
    c.store.seed_demo = true;
    App::open(c).await.unwrap()
}

async fn delivery(base: &str, channels: u64, processes: u32) {
    let url = schema(base, "bench_fleet_delivery").await;
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    fake.offer_shards(processes, processes);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &url, &fake);
    let app = open(&url).await;
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
    let started = Instant::now();
    let mut children: Vec<_> = (0..processes)
        .map(|p| spawn(dir.path(), &config, p, processes))
        .collect();
    let total = |fake: &FakeDiscord| -> usize { fake.all_messages().values().map(Vec::len).sum() };
    let deadline = Instant::now() + Duration::from_secs(900);
    while total(&fake) < channels as usize {
        assert!(Instant::now() < deadline, "only {} delivered", total(&fake));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let posts: Vec<Instant> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages") && r.status == 200)
        .map(|r| r.at)
        .collect();
    let first = *posts.iter().min().unwrap();
    let last = *posts.iter().max().unwrap();
    let span = (last - first).as_secs_f64();
    let (global, channel) = fake.rate_limited();
    let extra = total(&fake) - channels as usize;
    println!(
        "delivery: {channels} channels by {processes} processes: {} posts in {span:.1} s = \
         {:.1} messages/s in all ({:.1} s from start-up); duplicates: {extra} posted, {} \
         refused by nonce; 429s: {global} global, {channel} per channel",
        posts.len(),
        (posts.len() - 1) as f64 / span,
        started.elapsed().as_secs_f64(),
        fake.nonce_repeats(),
    );
    for r in fake.requests().iter().filter(|r| r.status == 429) {
        println!(
            "  429 at {:+.3} s from the first post: {} {}",
            r.at.duration_since(first).as_secs_f64() - (first.duration_since(r.at)).as_secs_f64(),
            r.method,
            r.path
        );
    }
    for c in &mut children {
        let _ = c.start_kill();
    }
    app.store.close().await;
}

/// The pid of the live leader in the process table, if one.
async fn leader(app: &App) -> Option<i64> {
    let ps = app.store.processes().await.ok()?;
    let now = Utc::now().timestamp_millis();
    ps.into_iter()
        .find(|p| p.leader && now - p.seen_at_ms < 15_000)
        .map(|p| p.pid)
}

/// Whether every one of `pids` is in the process table.
async fn joined(app: &App, pids: &[i64]) -> bool {
    let ps = app.store.processes().await.unwrap_or_default();
    pids.iter().all(|pid| ps.iter().any(|p| p.pid == *pid))
}

async fn failover(base: &str, kills: usize) {
    let url = schema(base, "bench_fleet_failover").await;
    let fake = FakeDiscord::start(TOKEN).await;
    fake.offer_shards(2, 2);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &url, &fake);
    let app = open(&url).await;
    let mut children = vec![
        (0, spawn(dir.path(), &config, 0, 2)),
        (1, spawn(dir.path(), &config, 1, 2)),
    ];
    let mut times = Vec::new();
    for _ in 0..kills {
        let old = loop {
            if let Some(p) = leader(&app).await {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // Both processes in the table (the standby campaigning) before the kill.
        let pids: Vec<i64> = children
            .iter()
            .filter_map(|(_, c)| c.id().map(i64::from))
            .collect();
        while !joined(&app, &pids).await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let i = children
            .iter()
            .position(|(_, c)| c.id().map(i64::from) == Some(old))
            .unwrap();
        let (shard, mut child) = children.remove(i);
        child.start_kill().unwrap();
        let killed = Instant::now();
        let _ = child.wait().await;
        loop {
            if leader(&app).await.is_some_and(|p| p != old) {
                break;
            }
            assert!(killed.elapsed() < Duration::from_secs(60), "no takeover");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        times.push(killed.elapsed().as_secs_f64());
        // The killed one comes back (its shard's row goes stale first) as the new standby.
        children.push((shard, spawn(dir.path(), &config, shard, 2)));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "failover: {kills} SIGKILLs of the leader; another led after median {:.2} s, max {:.2} s \
         (standbys ask every second; the table shows the new leader at once)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    for (_, c) in &mut children {
        let _ = c.start_kill();
    }
    app.store.close().await;
}

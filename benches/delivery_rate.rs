//! Delivery rate: one update to each of 2,000 subscribed channels, through the real bot (the
//! same matcher and delivery worker `storybot run` uses) and the fake Discord enforcing
//! Discord's limits (429 beyond 50 requests/s globally or 5 messages per 5 s in a channel).
//! Channels are mixed: `--forum-percent` of them are forums (a post there is a new forum post,
//! which reads the forum's tags first: two requests). Reports the sustained rate as the fake
//! saw it and the 429s it answered.
//!
//! `cargo bench --bench delivery_rate [-- --channels 2000 --forum-percent 50]`

mod common;
#[path = "../tests/common/fake_discord.rs"]
mod fake_discord;

use std::time::{Duration, Instant};

use chrono::Utc;
use fake_discord::FakeDiscord;
use storybot::app::App;
use storybot::config::Config;
use storybot::discord::rest::Token;
use storybot::model::{ChannelKind, Follow, NewSubscription};

const TOKEN: &str = "benchmark-bot-token.0123456789abcdef";

#[tokio::main]
async fn main() {
    let channels = common::arg("--channels", 2000) as u64;
    let forum_percent = common::arg("--forum-percent", 50) as u64;
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.store.seed_demo = true;
    config.discord.api_base_url = fake.base_url.clone();
    config.subscriptions.max_delivery_age_minutes = 24 * 60;
    let app = App::open(config).await.unwrap();

    // Every channel follows the same demo story, last posted at zero articles: the first
    // matching pass records one update for each.
    let story = app.trending(1).await.unwrap().remove(0);
    for i in 0..channels {
        // Interleaved, so both kinds are in flight together.
        let forum = (i * forum_percent) % 100 < forum_percent;
        let channel_kind = if forum {
            fake.add_forum(2_000_000 + i, &["Left", "Center", "Right"], false);
            ChannelKind::Forum
        } else {
            ChannelKind::Text
        };
        let s = NewSubscription {
            guild_id: 1_000 + i,
            channel_id: 2_000_000 + i,
            channel_kind,
            options: Default::default(),
            follow: Follow::Story {
                story: story.id.clone(),
            },
            watermark: storybot::model::StoryKey(0),
            last_count: 0,
            last_sides: 0,
            created_by: 1,
        };
        app.store.subscribe(&s, 25, Utc::now()).await.unwrap();
    }

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let bot = tokio::spawn(storybot::discord::run(
        app.clone(),
        Token::new(TOKEN),
        async {
            let _ = stop_rx.await;
        },
    ));
    let deadline = Instant::now() + Duration::from_secs(600);
    let total = |fake: &FakeDiscord| -> usize { fake.all_messages().values().map(Vec::len).sum() };
    while total(&fake) < channels as usize {
        assert!(Instant::now() < deadline, "only {} delivered", total(&fake));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = fake.requests();
    let posts: Vec<Instant> = requests
        .iter()
        .filter(|r| {
            r.method == "POST"
                && (r.path.ends_with("/messages") || r.path.ends_with("/threads"))
                && (r.status == 200 || r.status == 201)
        })
        .map(|r| r.at)
        .collect();
    let forum_posts = requests
        .iter()
        .filter(|r| r.path.ends_with("/threads") && r.status == 201)
        .count();
    let first = *posts.iter().min().unwrap();
    let last = *posts.iter().max().unwrap();
    let span = (last - first).as_secs_f64();
    let (global, channel) = fake.rate_limited();
    let duplicates = total(&fake) - channels as usize;
    println!(
        "{} channels ({forum_posts} forum posts): {} posts in {span:.1} s after the first = \
         {:.1} posts/s sustained ({:.1} s from start-up; {} requests in all); 429s: {global} \
         global, {channel} per channel; duplicates: {duplicates}",
        channels,
        posts.len(),
        (posts.len() - 1) as f64 / span,
        started.elapsed().as_secs_f64(),
        requests.len(),
    );
    let counts = app.store.delivery_counts().await.unwrap();
    println!("outbox: {counts:?}");
    let _ = stop_tx.send(());
    let _ = bot.await;
}

//! Subscriptions end to end: the real bot against the fake Discord (enforcing Discord's rate
//! limits), news arriving from feeds on a local HTTP server, and the posts that result:
//! exactly the expected ones, once each, also across a SIGKILL and a daylight-saving change.

use crate::common;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::fake_discord::{self, FakeDiscord, Recorded, CHANNEL_ID};
use serde_json::{json, Value};
use storybot::app::App;
use storybot::config::{Config, FeedConfig};
use storybot::discord::rest::Token;
use storybot::discord::Clock;
use tokio::sync::oneshot;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const TOKEN: &str = "fake-bot-token.for-the-tests.0123456789";
pub(crate) const WAIT: Duration = Duration::from_secs(30);
/// Manage Channels.
pub(crate) const MANAGER: u64 = 1 << 4;
/// View Channel, Send Messages, Embed Links, Attach Files.
pub(crate) const CAN_POST: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15);
pub(crate) const OTHER: u64 = 900_000_000_000_000_100;

pub(crate) struct Bot {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), storybot::discord::RunError>>,
}

impl Bot {
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

pub(crate) fn config(fake: &FakeDiscord, db: &Path) -> Config {
    let mut c = Config::default();
    c.store.url = format!("sqlite://{}", db.display());
    c.store.seed_demo = true;
    c.discord.api_base_url = fake.base_url.clone();
    c.subscriptions.match_interval_seconds = 1;
    c
}

pub(crate) async fn start(fake: &FakeDiscord, config: Config, clock: Clock, session: u32) -> Bot {
    let app = App::open(config).await.unwrap();
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(storybot::discord::run_with_clock(
        app,
        Token::new(TOKEN),
        async {
            let _ = rx.await;
        },
        clock,
    ));
    fake.wait_ready(session, WAIT).await;
    fake.wait_until("registration", WAIT, |r| {
        (r.iter()
            .filter(|r| r.method == "PUT" && r.status == 200)
            .count()
            >= session as usize)
            .then_some(())
    })
    .await;
    Bot {
        stop: Some(tx),
        task,
    }
}

pub(crate) async fn callback(fake: &FakeDiscord, id: u64) -> Recorded {
    let p = format!(
        "/api/v10/interactions/{id}/{}/callback",
        fake_discord::interaction_token(id)
    );
    fake.wait_until("a callback", WAIT, |reqs| {
        reqs.iter()
            .find(|r| r.path == p && r.status == 204)
            .cloned()
    })
    .await
}

/// The first story `/subscribe story` autocompletes for `typed`: its value is the id.
pub(crate) async fn story_choice(fake: &FakeDiscord, typed: &str) -> String {
    let id = fake.guild_autocomplete(
        "subscribe",
        json!([{ "name": "story", "type": 1, "options": [
            { "name": "story", "type": 3, "value": typed, "focused": true }
        ]}]),
    );
    let choices = callback(fake, id).await.json.unwrap()["data"]["choices"].clone();
    choices[0]["value"].as_str().expect("a choice").to_string()
}

pub(crate) fn text(r: &Recorded) -> String {
    r.json.as_ref().unwrap()["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn sub(kind: &str, options: Value) -> Value {
    json!([{ "name": kind, "type": 1, "options": options }])
}

/// A feed server on loopback whose items can be replaced.
pub(crate) struct Feeds {
    server: MockServer,
}

impl Feeds {
    pub(crate) async fn start() -> Feeds {
        Feeds {
            server: MockServer::start().await,
        }
    }

    pub(crate) async fn serve(&self, items: &[(&str, &str)]) {
        self.server.reset().await;
        let now = Utc::now();
        let mut xml = String::from(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>",
        );
        for (i, (title, link)) in items.iter().enumerate() {
            let date = (now - chrono::Duration::minutes(30 - i as i64)).to_rfc2822();
            xml.push_str(&format!(
                "<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item>"
            ));
        }
        xml.push_str("</channel></rss>");
        Mock::given(method("GET"))
            .and(path("/feed.xml"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(xml, "application/rss+xml"))
            .mount(&self.server)
            .await;
    }

    pub(crate) fn url(&self) -> String {
        format!("{}/feed.xml", self.server.uri())
    }
}

/// Fetches the feed once into the store the bot uses, as `storybot ingest --once` does.
pub(crate) async fn ingest(db: &Path, feeds: &Feeds) {
    ingest_into(&format!("sqlite://{}", db.display()), feeds).await;
}

pub(crate) async fn ingest_into(store: &str, feeds: &Feeds) {
    let mut c = Config::default();
    c.store.url = store.to_string();
    c.feeds = vec![FeedConfig {
        url: feeds.url(),
        outlet: None,
        refresh_minutes: None,
    }];
    let app = App::open(c).await.unwrap();
    let r = common::poller(&app)
        .cycle(&app, Utc::now(), true)
        .await
        .unwrap();
    assert_eq!(r.failed, 0);
    app.store.close().await;
}

pub(crate) const ZEBRA: [(&str, &str); 3] = [
    (
        "Zebra parade closes Main Street as city celebrates",
        "https://www.nytimes.com/2026/zebra-parade.html",
    ),
    (
        "Zebra parade draws crowds to Main Street",
        "https://www.reuters.com/world/zebra-parade",
    ),
    (
        "City celebrates zebra parade on Main Street",
        "https://www.foxnews.com/us/zebra-parade",
    ),
];

/// Waits until `channel` has `n` messages, then checks it stays at `n` for a while.
pub(crate) async fn exactly(fake: &FakeDiscord, channel: u64, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while fake.channel_messages(channel).len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "channel {channel}: {} of {n} messages",
            fake.channel_messages(channel).len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let got = fake.channel_messages(channel);
    assert_eq!(got.len(), n, "channel {channel}: {got:#?}");
    got
}

pub(crate) fn validate(test: &str, fake: &FakeDiscord) {
    if let Some(mut schema) = common::DiscordSchema::load(test) {
        assert!(common::validate_recorded(&mut schema, &fake.requests()) > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_posts_each_new_story_once_and_never_backfills() {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;

    let opts = |q: &str| {
        sub(
            "topic",
            json!([
                { "name": "query", "type": 3, "value": q },
                { "name": "min_sources", "type": 4, "value": 3 }
            ]),
        )
    };
    let id = fake.guild_command("subscribe", opts("zebra parade"), MANAGER, CAN_POST);
    let r = callback(&fake, id).await;
    assert!(text(&r).starts_with("Subscribed"), "{}", text(&r));
    assert_eq!(r.json.as_ref().unwrap()["data"]["flags"], 64);
    // An existing story is not backfilled.
    let id = fake.guild_command("subscribe", opts("GM recall"), MANAGER, CAN_POST);
    assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    let confirmations = exactly(&fake, CHANNEL_ID, 2).await;
    assert!(confirmations[0].to_string().contains("zebra parade"));

    // Two outlets: below the minimum of three, nothing yet.
    feeds.serve(&ZEBRA[..2]).await;
    ingest(&db, &feeds).await;
    exactly(&fake, CHANNEL_ID, 2).await;
    // The third outlet: posted, once.
    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    let posts = exactly(&fake, CHANNEL_ID, 3).await;
    let post = &posts[2];
    assert!(
        post["content"]
            .as_str()
            .unwrap()
            .contains("New story for **zebra parade**"),
        "{post:#}"
    );
    assert!(post["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("zebra"));
    assert_eq!(post["allowed_mentions"], json!({ "parse": [] }));
    assert_eq!(post["enforce_nonce"], true);
    // Growing further does not post the same story again.
    feeds
        .serve(&[
            ZEBRA[0],
            ZEBRA[1],
            ZEBRA[2],
            (
                "Zebra parade on Main Street ends with fireworks",
                "https://www.washingtonpost.com/zebra-parade",
            ),
        ])
        .await;
    ingest(&db, &feeds).await;
    exactly(&fake, CHANNEL_ID, 3).await;

    validate(
        "a_topic_posts_each_new_story_once_and_never_backfills",
        &fake,
    );
    assert_eq!(fake.rate_limited().0, 0, "no global 429");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_story_posts_updates_as_replies_when_it_grows() {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    feeds.serve(&ZEBRA[..2]).await;
    ingest(&db, &feeds).await;

    let story_id = story_choice(&fake, "zebra").await;

    let id = fake.guild_command(
        "subscribe",
        sub(
            "story",
            json!([{ "name": "story", "type": 3, "value": story_id }]),
        ),
        MANAGER,
        CAN_POST,
    );
    assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    let confirmation = exactly(&fake, CHANNEL_ID, 1).await.remove(0);

    // 2 -> 3 articles (+50%) and the right's first outlet: an update, replying to the
    // confirmation.
    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    let update = &posts[1];
    assert!(
        update["content"]
            .as_str()
            .unwrap()
            .contains("grew: 3 articles"),
        "{update:#}"
    );
    assert_eq!(
        update["message_reference"]["message_id"],
        confirmation["id"]
    );
    // 3 -> 4 from a side already there: not marked growth, no post.
    feeds
        .serve(&[
            ZEBRA[0],
            ZEBRA[1],
            ZEBRA[2],
            (
                "Zebra parade on Main Street ends with fireworks",
                "https://www.washingtonpost.com/zebra-parade",
            ),
        ])
        .await;
    ingest(&db, &feeds).await;
    exactly(&fake, CHANNEL_ID, 2).await;
    validate(
        "a_followed_story_posts_updates_as_replies_when_it_grows",
        &fake,
    );
    bot.stop().await;
}

/// Imports articles (title, URL, publication time) into the store at `db`, as `storybot
/// import` does from another process.
async fn import(db: &Path, articles: &[(&str, &str, DateTime<Utc>)]) {
    let mut c = Config::default();
    c.store.url = format!("sqlite://{}", db.display());
    let app = App::open(c).await.unwrap();
    let lines: String = articles
        .iter()
        .map(|(title, url, t)| {
            let line = json!({ "title": title, "url": url, "published": t.timestamp_millis() });
            format!("{line}\n")
        })
        .collect();
    app.import(std::io::Cursor::new(lines.into_bytes()))
        .await
        .unwrap();
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_story_follows_its_topic_into_the_next_event() {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let day = chrono::Duration::days(1);
    let t0 = Utc::now() - day * 5;
    let parade = "Zebra parade closes Main Street as city celebrates";
    import(
        &db,
        &[
            (parade, "https://www.nytimes.com/zebra-1", t0),
            (parade, "https://www.reuters.com/zebra-1", t0 + day),
            (parade, "https://www.foxnews.com/zebra-1", t0 + day * 2),
        ],
    )
    .await;
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    let first_event = story_choice(&fake, "zebra").await;
    let id = fake.guild_command(
        "subscribe",
        sub(
            "story",
            json!([{ "name": "story", "type": 3, "value": first_event }]),
        ),
        MANAGER,
        CAN_POST,
    );
    assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    let confirmation = exactly(&fake, CHANNEL_ID, 1).await.remove(0);

    // Four and a half days after the story began, the topic goes on: a new event.
    let later = t0 + day * 4 + day / 2;
    import(
        &db,
        &[
            (parade, "https://www.nytimes.com/zebra-2", later),
            (parade, "https://www.reuters.com/zebra-2", later),
        ],
    )
    .await;
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    let next = &posts[1];
    assert!(
        next["content"]
            .as_str()
            .unwrap()
            .contains("continues in a new event"),
        "{next:#}"
    );
    assert_eq!(next["message_reference"]["message_id"], confirmation["id"]);
    let details = next["embeds"][0]["fields"].to_string();
    assert!(
        details.contains("Previous event") && details.contains(&first_event),
        "{details}"
    );

    // The subscription now follows the new event: its growth is posted, once.
    import(
        &db,
        &[
            (
                parade,
                "https://www.foxnews.com/zebra-2",
                later + chrono::Duration::hours(1),
            ),
            (
                parade,
                "https://www.wsj.com/zebra-2",
                later + chrono::Duration::hours(1),
            ),
        ],
    )
    .await;
    let posts = exactly(&fake, CHANNEL_ID, 3).await;
    assert!(
        posts[2]["content"]
            .as_str()
            .unwrap()
            .contains("grew: 4 articles"),
        "{:#}",
        posts[2]
    );
    validate(
        "a_followed_story_follows_its_topic_into_the_next_event",
        &fake,
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_posts_pause_the_subscription_until_the_channel_is_fixed() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let clock = Clock::default();
    let bot = start(&fake, config(&fake, &db), clock.clone(), 1).await;
    let topic = |channel: u64| {
        sub(
            "topic",
            json!([
                { "name": "query", "type": 3, "value": "zebra parade" },
                { "name": "channel", "type": 7, "value": channel.to_string() },
                { "name": "min_sources", "type": 4, "value": 3 }
            ]),
        )
    };

    // Who may subscribe, and where the bot can post, are checked before anything is stored.
    let id = fake.guild_command("subscribe", topic(CHANNEL_ID), 0, CAN_POST);
    assert!(text(&callback(&fake, id).await).contains("Manage Channels"));
    let id = fake.guild_command("subscribe", topic(CHANNEL_ID), MANAGER, 1 << 10);
    let t = text(&callback(&fake, id).await);
    assert!(
        t.contains("Send Messages") && t.contains("Embed Links"),
        "{t}"
    );
    fake.refuse(OTHER, 403);
    let id = fake.guild_command("subscribe", topic(OTHER), MANAGER, CAN_POST);
    let t = text(&callback(&fake, id).await);
    assert!(
        t.contains("missing permission") && t.contains("Nothing was subscribed"),
        "{t}"
    );
    let id = fake.guild_command("subscriptions", json!([]), MANAGER, CAN_POST);
    assert!(text(&callback(&fake, id).await).contains("No subscriptions"));

    // A channel the bot cannot see at all is named for what it is.
    fake.refuse_with(OTHER + 50, 403, 50001);
    let id = fake.guild_command("subscribe", topic(OTHER + 50), MANAGER, CAN_POST);
    let t = text(&callback(&fake, id).await);
    assert!(
        t.contains("Missing Access") && !t.contains("View Channel"),
        "{t}"
    );

    // Accepted once the bot can post (the refusals used up no number); then the permission
    // is lost again.
    fake.accept(OTHER);
    let id = fake.guild_command("subscribe", topic(OTHER), MANAGER, CAN_POST);
    let t = text(&callback(&fake, id).await);
    assert!(t.starts_with("Subscribed") && t.contains("(#1)"), "{t}");
    let gone = OTHER + 1;
    let id = fake.guild_command("subscribe", topic(gone), MANAGER, CAN_POST);
    assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    fake.refuse(OTHER, 403);
    fake.refuse(gone, 404);
    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    // (The first 403 there was the refused confirmation.)
    fake.wait_until("the refused delivery", WAIT, |r| {
        let refused = r
            .iter()
            .filter(|r| r.status == 403 && r.path.contains(&OTHER.to_string()));
        let missing = r
            .iter()
            .any(|r| r.status == 404 && r.path.contains(&gone.to_string()));
        (refused.count() >= 2 && missing).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = fake.guild_command("subscriptions", json!([]), MANAGER, CAN_POST);
    let t = text(&callback(&fake, id).await);
    assert!(t.contains("paused: missing permission to post"), "{t}");
    assert!(
        t.contains(&format!("paused: channel <#{gone}> no longer exists")),
        "{t}"
    );

    // Fixed: the retry after `pause_retry_minutes` delivers and resumes.
    fake.accept(OTHER);
    clock.set(Utc::now() + chrono::Duration::minutes(11));
    let posts = exactly(&fake, OTHER, 2).await;
    assert!(posts[1]["content"]
        .as_str()
        .unwrap()
        .contains("zebra parade"));
    let id = fake.guild_command("subscriptions", json!([]), MANAGER, CAN_POST);
    let t = text(&callback(&fake, id).await);
    assert!(t.contains("· active"), "{t}");
    assert!(
        t.contains("no longer exists"),
        "the deleted channel stays paused: {t}"
    );

    // Unsubscribe through its autocomplete.
    let id = fake.guild_autocomplete(
        "unsubscribe",
        json!([{ "name": "subscription", "type": 3, "value": "", "focused": true }]),
    );
    let choices = callback(&fake, id).await.json.unwrap()["data"]["choices"].clone();
    let value = choices[0]["value"].as_str().unwrap().to_string();
    let id = fake.guild_command(
        "unsubscribe",
        json!([{ "name": "subscription", "type": 3, "value": value }]),
        MANAGER,
        CAN_POST,
    );
    assert!(text(&callback(&fake, id).await).contains("removed"));
    validate(
        "refused_posts_pause_the_subscription_until_the_channel_is_fixed",
        &fake,
    );
    bot.stop().await;
}

/// Refused posts to `channel` so far.
fn refusals(fake: &FakeDiscord, channel: u64) -> usize {
    let path = format!("/api/v10/channels/{channel}/messages");
    fake.requests()
        .iter()
        .filter(|r| r.path == path && r.status == 403)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_channel_costs_one_probe_per_retry_period() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let clock = Clock::default();
    let bot = start(&fake, config(&fake, &db), clock.clone(), 1).await;
    let id = fake.guild_command(
        "subscribe",
        sub(
            "topic",
            json!([
                { "name": "query", "type": 3, "value": "zebra" },
                { "name": "channel", "type": 7, "value": OTHER.to_string() },
                { "name": "min_sources", "type": 4, "value": 3 }
            ]),
        ),
        MANAGER,
        CAN_POST,
    );
    assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    fake.refuse(OTHER, 403);
    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while refusals(&fake, OTHER) < 1 {
        assert!(tokio::time::Instant::now() < deadline, "no delivery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // More matching stories while the channel is paused: held, not sent one by one.
    feeds.serve(&ZEBRA_MORE).await;
    ingest(&db, &feeds).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(refusals(&fake, OTHER), 1, "a paused channel got more posts");
    // Each retry period: one probe, refused again.
    for period in 1..=2 {
        clock.set(Utc::now() + chrono::Duration::minutes(11 * period));
        let deadline = tokio::time::Instant::now() + WAIT;
        while refusals(&fake, OTHER) < 1 + period as usize {
            assert!(tokio::time::Instant::now() < deadline, "no probe");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            refusals(&fake, OTHER),
            1 + period as usize,
            "one probe per period"
        );
    }
    // Fixed: the next probe goes through, and the held stories follow, in order.
    fake.accept(OTHER);
    clock.set(Utc::now() + chrono::Duration::minutes(34));
    let posts = exactly(&fake, OTHER, 3).await;
    assert!(posts[1]["content"].as_str().unwrap().contains("zebra"));
    assert!(posts[2]["content"].as_str().unwrap().contains("zebra"));
    bot.stop().await;
}

const ZEBRA_MORE: [(&str, &str); 6] = [
    ZEBRA[0],
    ZEBRA[1],
    ZEBRA[2],
    (
        "Zoo welcomes a baby zebra born overnight in its savanna enclosure",
        "https://www.nytimes.com/2026/zoo-zebra-foal.html",
    ),
    (
        "Baby zebra born overnight at the city zoo savanna enclosure",
        "https://www.reuters.com/world/zoo-zebra-foal",
    ),
    (
        "City zoo shows off newborn baby zebra in savanna enclosure",
        "https://www.foxnews.com/us/zoo-zebra-foal",
    ),
];

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_briefing_fires_once_a_day_at_local_time_across_daylight_saving() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let clock = Clock::default();
    clock.set(at("2026-03-07T11:50:00Z")); // 06:50 EST
    let bot = start(&fake, config(&fake, &db), clock.clone(), 1).await;
    let id = fake.guild_command(
        "briefing",
        json!([
            { "name": "time", "type": 3, "value": "07:00" },
            { "name": "timezone", "type": 3, "value": "America/New_York" },
            { "name": "count", "type": 4, "value": 3 }
        ]),
        MANAGER,
        CAN_POST,
    );
    assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    exactly(&fake, CHANNEL_ID, 1).await;

    clock.set(at("2026-03-07T12:00:05Z")); // 07:00 EST
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    let list = posts[1]["embeds"][0]["description"].as_str().unwrap();
    assert_eq!(list.lines().count(), 3, "{list}");
    clock.set(at("2026-03-07T12:40:00Z"));
    exactly(&fake, CHANNEL_ID, 2).await;

    // Sunday 8 March: clocks spring forward; 07:00 EDT is 11:00 UTC.
    clock.set(at("2026-03-08T10:59:00Z"));
    exactly(&fake, CHANNEL_ID, 2).await;
    clock.set(at("2026-03-08T11:00:05Z"));
    exactly(&fake, CHANNEL_ID, 3).await;

    // A restart does not repeat it; a day missed while down posts late within the grace
    // period, once; beyond it, not at all.
    bot.stop().await;
    clock.set(at("2026-03-09T11:40:00Z"));
    let bot = start(&fake, config(&fake, &db), clock.clone(), 2).await;
    exactly(&fake, CHANNEL_ID, 4).await;
    clock.set(at("2026-03-10T12:30:00Z"));
    exactly(&fake, CHANNEL_ID, 4).await;
    validate(
        "a_briefing_fires_once_a_day_at_local_time_across_daylight_saving",
        &fake,
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_work_on_postgres() {
    let Some(pg) = common::PgSchema::create("subscriptions_work_on_postgres").await else {
        return;
    };
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&fake, &dir.path().join("unused.db"));
    cfg.store.url = pg.url.clone();
    let bot = start(&fake, cfg, Clock::default(), 1).await;
    let id = fake.guild_command(
        "subscribe",
        sub(
            "topic",
            json!([
                { "name": "query", "type": 3, "value": "zebra parade" },
                { "name": "min_sources", "type": 4, "value": 3 }
            ]),
        ),
        MANAGER,
        CAN_POST,
    );
    assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    feeds.serve(&ZEBRA).await;
    ingest_into(&pg.url, &feeds).await;
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    assert!(posts[1]["content"]
        .as_str()
        .unwrap()
        .contains("zebra parade"));
    bot.stop().await;
    pg.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_burst_loses_nothing_and_posts_nothing_twice() {
    const CHANNELS: u64 = 24;
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "[store]\nurl = \"sqlite://{}\"\nseed_demo = true\n\n[discord]\napi_base_url = \"{}\"\n\n\
             [subscriptions]\nmatch_interval_seconds = 1\n",
            db.display(),
            fake.base_url
        ),
    )
    .unwrap();
    let spawn = |session: u32| {
        let log = std::fs::File::create(dir.path().join(format!("bot{session}.log"))).unwrap();
        tokio::process::Command::new(env!("CARGO_BIN_EXE_storybot"))
            .args(["--config", config_path.to_str().unwrap(), "run"])
            .env("DISCORD_TOKEN", TOKEN)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let mut bot = spawn(1);
    fake.wait_ready(1, WAIT).await;
    fake.wait_until("registration", WAIT, |r| {
        r.iter().any(|r| r.method == "PUT").then_some(())
    })
    .await;
    // Every other channel is a forum: one post per story, made with no nonce.
    let channels: Vec<u64> = (1..=CHANNELS).map(|i| OTHER + i).collect();
    let forums: Vec<u64> = channels.iter().copied().filter(|c| c % 2 == 0).collect();
    for f in &forums {
        fake.add_forum(*f, &["Zebra parade"], false);
    }
    for c in &channels {
        let id = fake.guild_command(
            "subscribe",
            sub(
                "topic",
                json!([
                    { "name": "query", "type": 3, "value": "zebra parade" },
                    { "name": "channel", "type": 7, "value": c.to_string() },
                    { "name": "min_sources", "type": 4, "value": 3 }
                ]),
            ),
            MANAGER,
            CAN_POST,
        );
        assert!(text(&callback(&fake, id).await).starts_with("Subscribed"));
    }

    // A slow Discord, so the burst is still under way when the bot is killed.
    fake.delay_posts(Duration::from_millis(300));
    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    // Killed while posts (and forum posts) are made but their answers not yet back.
    while fake
        .all_messages()
        .values()
        .filter(|m| m.len() >= 2)
        .count()
        < 3
        || forums
            .iter()
            .filter(|f| !fake.threads(**f).is_empty())
            .count()
            < 2
    {
        assert!(tokio::time::Instant::now() < deadline, "no deliveries");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bot.start_kill().unwrap();
    bot.wait().await.unwrap();
    let delivered_before = fake
        .all_messages()
        .values()
        .filter(|m| m.len() >= 2)
        .count();
    assert!(
        delivered_before < CHANNELS as usize,
        "the kill came after the burst ({delivered_before} delivered)"
    );

    let mut bot = spawn(2);
    fake.wait_ready(2, WAIT).await;
    let texts: Vec<u64> = channels.iter().copied().filter(|c| c % 2 == 1).collect();
    for c in &texts {
        let posts = exactly_quietly(&fake, *c, 2).await;
        assert!(posts[1]["content"]
            .as_str()
            .unwrap()
            .contains("zebra parade"));
    }
    for f in &forums {
        let deadline = tokio::time::Instant::now() + WAIT;
        while fake.threads(*f).is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "forum {f}: no post");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for c in &texts {
        assert_eq!(
            fake.channel_messages(*c).len(),
            2,
            "channel {c} got a duplicate"
        );
    }
    for f in &forums {
        let posts = fake.threads(*f);
        assert_eq!(posts.len(), 1, "forum {f} got a duplicate post: {posts:#?}");
        let thread: u64 = posts[0]["id"].as_str().unwrap().parse().unwrap();
        let first = fake.channel_messages(thread);
        assert_eq!(first.len(), 1);
        assert!(first[0]["content"]
            .as_str()
            .unwrap()
            .contains("zebra parade"));
    }
    // Forum posts whose answer the killed bot never saw were looked for, and found, before
    // being made again.
    let lookups = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/threads/active"))
        .count();
    assert!(lookups > 0, "no forum post was in flight at the kill");
    // Posts Discord had created but the killed bot never recorded were sent again after the
    // restart, and refused as duplicates by their nonce: the case the nonce is for.
    let mut seen = std::collections::HashSet::new();
    let repeats = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.status == 200 && r.path.ends_with("/messages"))
        .filter_map(|r| r.json.as_ref()?["nonce"].as_str().map(str::to_string))
        .filter(|n| !seen.insert(n.clone()))
        .count();
    assert!(repeats > 0, "no delivery was in flight at the kill");
    bot.start_kill().unwrap();
    let _ = bot.wait().await;
}

/// Waits until `channel` has at least `n` messages.
pub(crate) async fn exactly_quietly(fake: &FakeDiscord, channel: u64, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = fake.channel_messages(channel);
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "channel {channel}: {} of {n}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

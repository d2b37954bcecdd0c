//! What subscribers ask for beyond a digest in a text channel, end to end against the fake
//! Discord: forum posts with tags and their updates inside, updates in a thread, role pings
//! that ping that role and nobody else, filters, blindspot alerts, a daily limit whose
//! overflow arrives as a short list, and `/subscription edit`.

use crate::common;
use crate::subscriptions::{
    callback, config, exactly, ingest, ingest_into, start, story_choice, sub, text, validate,
    Feeds, CAN_POST, MANAGER, OTHER, TOKEN, WAIT, ZEBRA,
};

use std::time::Duration;

use common::fake_discord::{FakeDiscord, CHANNEL_ID, GUILD_ID};
use serde_json::{json, Value};
use storybot::discord::Clock;
use storybot::model::DeliveryState;

/// Mention Everyone.
const MENTION_EVERYONE: u64 = 1 << 17;
/// Create Public Threads, Send Messages in Threads.
const THREADS: u64 = (1 << 35) | (1 << 38);

/// A story only left-leaning outlets cover: a blindspot of the right.
const HARBOR: [(&str, &str); 4] = [
    (
        "Harbor bridge toll doubles overnight for commuters",
        "https://www.nytimes.com/2026/harbor-bridge-toll.html",
    ),
    (
        "Commuters protest as harbor bridge toll doubles",
        "https://www.cnn.com/2026/harbor-bridge-toll",
    ),
    (
        "Harbor bridge toll doubling angers commuters",
        "https://www.msnbc.com/harbor-bridge-toll",
    ),
    (
        "Harbor bridge commuters face doubled toll",
        "https://www.huffpost.com/harbor-bridge-toll",
    ),
];

/// Waits until `pred` holds, polling.
async fn until<T>(what: &str, mut pred: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = pred() {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn id_of(v: &Value) -> u64 {
    v["id"].as_str().unwrap().parse().unwrap()
}

fn content(m: &Value) -> &str {
    m["content"].as_str().unwrap_or_default()
}

/// `/subscribe <kind>` with `options`, by a manager in the default channel; the answer.
async fn subscribe(fake: &FakeDiscord, kind: &str, options: Value, app_permissions: u64) -> String {
    let id = fake.guild_command("subscribe", sub(kind, options), MANAGER, app_permissions);
    text(&callback(fake, id).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_gets_one_post_per_story_with_its_tags_and_the_updates_inside() {
    forum_posts(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forum_posts_work_on_postgres() {
    let Some(pg) = common::PgSchema::create("forum_posts_work_on_postgres").await else {
        return;
    };
    forum_posts(Some(&pg.url)).await;
    pg.drop().await;
}

async fn forum_posts(postgres: Option<&str>) {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&fake, &dir.path().join("bot.db"));
    if let Some(url) = postgres {
        cfg.store.url = url.to_string();
    }
    let store = cfg.store.url.clone();
    let forum = OTHER + 50;
    let tags = fake.add_forum(forum, &["Left", "Center", "Right", "Zebra parade"], false);
    // A forum whose posts need a tag, none named like the story: its first tag.
    let strict = OTHER + 51;
    let strict_tags = fake.add_forum(strict, &["General", "Sports"], true);
    let bot = start(&fake, cfg, Clock::default(), 1).await;
    for f in [forum, strict] {
        let answer = subscribe(
            &fake,
            "topic",
            json!([
                { "name": "query", "type": 3, "value": "zebra parade" },
                { "name": "channel", "type": 7, "value": f.to_string() },
                { "name": "min_sources", "type": 4, "value": 2 }
            ]),
            CAN_POST,
        )
        .await;
        assert!(answer.starts_with("Subscribed"), "{answer}");
    }
    // A forum takes no confirmation message: the bot looked at it instead.
    assert!(fake.channel_messages(forum).is_empty());
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.path == format!("/api/v10/channels/{forum}")));

    feeds.serve(&ZEBRA[..2]).await;
    ingest_into(&store, &feeds).await;
    let post = until("a forum post", || fake.threads(forum).first().cloned()).await;
    assert!(
        post["name"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("zebra"),
        "{post:#}"
    );
    // New York Times (lean left) and Reuters (center): the center leads on ties.
    let applied: Vec<u64> = post["applied_tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(applied, [tags[1], tags[3]], "{post:#}");
    let thread = id_of(&post);
    let first = fake.channel_messages(thread);
    assert_eq!(first.len(), 1);
    assert!(content(&first[0]).contains("New story for **zebra parade**"));
    assert!(first[0]["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("zebra"));
    let strict_post = until("a post in the strict forum", || {
        fake.threads(strict).first().cloned()
    })
    .await;
    assert_eq!(
        strict_post["applied_tags"],
        json!([strict_tags[0].to_string()])
    );

    // Fox News adds the right: an update, inside the same post.
    feeds.serve(&ZEBRA).await;
    ingest_into(&store, &feeds).await;
    let inside = until("an update inside the post", || {
        let m = fake.channel_messages(thread);
        (m.len() >= 2).then_some(m)
    })
    .await;
    assert!(
        content(&inside[1]).contains("This story grew: 3 articles"),
        "{:#}",
        inside[1]
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.threads(forum).len(), 1, "one post per story");
    assert_eq!(fake.channel_messages(thread).len(), 2);
    assert!(
        fake.channel_messages(forum).is_empty(),
        "nothing outside posts"
    );
    validate("forum_posts", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_story_in_a_forum_is_posted_at_once_and_grows_inside_its_post() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let forum = OTHER + 60;
    fake.add_forum(forum, &["News"], false);
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    feeds.serve(&ZEBRA[..2]).await;
    ingest(&db, &feeds).await;
    let story = story_choice(&fake, "zebra").await;
    let answer = subscribe(
        &fake,
        "story",
        json!([
            { "name": "story", "type": 3, "value": story },
            { "name": "channel", "type": 7, "value": forum.to_string() }
        ]),
        CAN_POST,
    )
    .await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    let post = until("the story's post", || fake.threads(forum).first().cloned()).await;
    let thread = id_of(&post);
    let first = fake.channel_messages(thread);
    assert!(
        content(&first[0]).contains("Following this story"),
        "{first:#?}"
    );

    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    let inside = until("the update", || {
        let m = fake.channel_messages(thread);
        (m.len() >= 2).then_some(m)
    })
    .await;
    assert!(content(&inside[1]).contains("This story grew: 3 articles"));
    assert_eq!(fake.threads(forum).len(), 1);
    validate("a_followed_story_in_a_forum", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_can_go_into_a_thread_started_from_the_first_post() {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.enforce_rate_limits();
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    let options = json!([
        { "name": "query", "type": 3, "value": "zebra parade" },
        { "name": "min_sources", "type": 4, "value": 2 },
        { "name": "updates", "type": 4, "value": 1 }
    ]);
    // Threads need their own permissions, checked where Discord tells them.
    let answer = subscribe(&fake, "topic", options.clone(), CAN_POST).await;
    assert!(
        answer.contains("Create Public Threads, Send Messages in Threads"),
        "{answer}"
    );
    let answer = subscribe(&fake, "topic", options, CAN_POST | THREADS).await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    assert!(answer.contains("updates: thread"), "{answer}");

    feeds.serve(&ZEBRA[..2]).await;
    ingest(&db, &feeds).await;
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    let first = id_of(&posts[1]);
    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    let inside = until("an update in the thread", || {
        let m = fake.channel_messages(first);
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert!(content(&inside[0]).contains("This story grew: 3 articles"));
    let thread = &fake.threads(CHANNEL_ID)[0];
    assert_eq!(
        id_of(thread),
        first,
        "the thread is started from the story's post"
    );
    assert!(thread["name"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("zebra"));
    // The channel itself got nothing more.
    exactly(&fake, CHANNEL_ID, 2).await;
    validate("updates_can_go_into_a_thread", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_is_pinged_on_each_new_post_and_nothing_else_ever_is() {
    const ROLE: u64 = 900_000_000_000_000_700;
    const QUIET: u64 = 900_000_000_000_000_701;
    const OTHER_ROLE: u64 = 900_000_000_000_000_702;
    let fake = FakeDiscord::start(TOKEN).await;
    fake.add_role(ROLE, "news", true);
    fake.add_role(QUIET, "quiet", false);
    fake.add_role(OTHER_ROLE, "mods", true);
    fake.add_role(GUILD_ID, "@everyone", false);
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    let topic = |role: u64| {
        json!([
            { "name": "query", "type": 3, "value": "zebra parade" },
            { "name": "min_sources", "type": 4, "value": 3 },
            { "name": "role", "type": 8, "value": role.to_string() }
        ])
    };
    // Not mentionable, and the bot lacks Mention Everyone: said plainly, nothing stored.
    let answer = subscribe(&fake, "topic", topic(QUIET), CAN_POST).await;
    assert!(answer.contains("not mentionable"), "{answer}");
    assert!(answer.contains("Mention Everyone"), "{answer}");
    let answer = subscribe(&fake, "topic", topic(GUILD_ID), CAN_POST).await;
    assert!(answer.contains("@everyone"), "{answer}");
    assert!(
        fake.channel_messages(CHANNEL_ID).is_empty(),
        "nothing was confirmed"
    );
    // With Mention Everyone, a role that is not mentionable can be pinged.
    let options = json!([
        { "name": "query", "type": 3, "value": "harbor bridge" },
        { "name": "role", "type": 8, "value": QUIET.to_string() }
    ]);
    let answer = subscribe(&fake, "topic", options, CAN_POST | MENTION_EVERYONE).await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    let answer = subscribe(&fake, "topic", topic(ROLE), CAN_POST).await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    assert!(answer.contains(&format!("pings <@&{ROLE}>")), "{answer}");
    exactly(&fake, CHANNEL_ID, 2).await;

    // A hostile headline names another role and everyone.
    // (XML-escaped in the feed.)
    let hostile = format!("Zebra parade &lt;@&amp;{OTHER_ROLE}&gt; @everyone closes Main Street");
    feeds
        .serve(&[(hostile.as_str(), ZEBRA[0].1), ZEBRA[1], ZEBRA[2]])
        .await;
    ingest(&db, &feeds).await;
    let posts = exactly(&fake, CHANNEL_ID, 3).await;
    let post = &posts[2];
    assert!(
        content(post).starts_with(&format!("<@&{ROLE}> New story")),
        "{post:#}"
    );
    assert_eq!(post["mention_roles"], json!([ROLE.to_string()]), "{post:#}");
    assert_eq!(post["mention_everyone"], false);
    assert_eq!(
        post["allowed_mentions"],
        json!({ "parse": [], "roles": [ROLE.to_string()] })
    );
    // The confirmations pinged nobody.
    for m in &posts[..2] {
        assert_eq!(m["mention_roles"], json!([]));
    }
    validate("a_role_is_pinged_on_each_new_post", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_blindspot_alerts_post_only_the_stories_they_name() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    let excluding = OTHER + 1;
    let leaning = OTHER + 2;
    let blind = OTHER + 3;
    let balanced = OTHER + 4;
    let channel = |c: u64| json!({ "name": "channel", "type": 7, "value": c.to_string() });
    let topic = |q: &str, c: u64, extra: Value| {
        let mut o = vec![
            json!({ "name": "query", "type": 3, "value": q }),
            json!({ "name": "min_sources", "type": 4, "value": 3 }),
            channel(c),
        ];
        o.push(extra);
        Value::Array(o)
    };
    for (options, channel) in [
        (
            topic(
                "main street",
                excluding,
                json!({ "name": "exclude", "type": 3, "value": "fireworks, Parade" }),
            ),
            excluding,
        ),
        (
            topic(
                "harbor bridge",
                leaning,
                json!({ "name": "side", "type": 3, "value": "left 60%" }),
            ),
            leaning,
        ),
        (
            topic(
                "zebra parade",
                balanced,
                json!({ "name": "side", "type": 3, "value": "left 60%" }),
            ),
            balanced,
        ),
    ] {
        let answer = subscribe(&fake, "topic", options, CAN_POST).await;
        assert!(answer.starts_with("Subscribed"), "{answer}");
        exactly(&fake, channel, 1).await;
    }
    let answer = subscribe(
        &fake,
        "blindspot",
        json!([
            { "name": "side", "type": 4, "value": 1 },
            { "name": "min_sources", "type": 4, "value": 3 },
            channel(blind)
        ]),
        CAN_POST,
    )
    .await;
    assert!(answer.contains("the right barely covers"), "{answer}");
    // Bad values are refused, each with what is wrong.
    for (extra, says) in [
        (
            json!({ "name": "side", "type": 3, "value": "up 30" }),
            "is not a side filter",
        ),
        (
            json!({ "name": "side", "type": 3, "value": "right 0" }),
            "from 1 to 100",
        ),
        (
            json!({ "name": "exclude", "type": 3, "value": "<@&1>" }),
            "cannot be excluded",
        ),
    ] {
        let answer = subscribe(
            &fake,
            "topic",
            topic("anything", OTHER + 9, extra),
            CAN_POST,
        )
        .await;
        assert!(answer.contains(says), "{answer}");
    }

    let mut items: Vec<(&str, &str)> = ZEBRA.to_vec();
    items.extend(HARBOR);
    feeds.serve(&items).await;
    ingest(&db, &feeds).await;
    // The zebra story is balanced: only the blindspot alert and the left-leaning filter see
    // the harbor story; "Parade" keeps the zebra story out of the Main Street topic.
    let posts = exactly(&fake, blind, 2).await;
    assert!(
        content(&posts[1]).contains("New blindspot: few Right sources"),
        "{:#}",
        posts[1]
    );
    assert!(posts[1]["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .contains("arbor"));
    let posts = exactly(&fake, leaning, 2).await;
    assert!(posts[1]["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .contains("arbor"));
    exactly(&fake, balanced, 1).await;
    exactly(&fake, excluding, 1).await;
    validate("filters_and_blindspot_alerts", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_max_per_day_the_rest_arrive_the_next_day_as_a_short_list() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let clock = Clock::default();
    let bot = start(&fake, config(&fake, &db), clock.clone(), 1).await;
    let answer = subscribe(
        &fake,
        "topic",
        json!([
            { "name": "query", "type": 3, "value": "commuters" },
            { "name": "min_sources", "type": 4, "value": 2 },
            { "name": "max_per_day", "type": 4, "value": 1 }
        ]),
        CAN_POST,
    )
    .await;
    assert!(answer.contains("at most 1 a day"), "{answer}");
    let ferry = [
        (
            "Ferry strike strands commuters across the bay",
            "https://www.reuters.com/world/ferry-strike-commuters",
        ),
        (
            "Commuters stranded as ferry workers strike",
            "https://www.foxnews.com/us/ferry-strike-commuters",
        ),
    ];
    let mut items: Vec<(&str, &str)> = HARBOR.to_vec();
    items.extend(ferry);
    feeds.serve(&items).await;
    ingest(&db, &feeds).await;
    // One post today; the other story is held, not dropped.
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    let mut reader = storybot::config::Config::default();
    reader.store.url = format!("sqlite://{}", db.display());
    let app = storybot::app::App::open(reader).await.unwrap();
    let counts = app.store.delivery_counts().await.unwrap();
    assert!(counts.contains(&(DeliveryState::Held, 1)), "{counts:?}");
    // What `storybot status` and /metrics report.
    assert_eq!(app.store.outbox_summary().await.unwrap().held, 1);
    let posted = posts[1]["embeds"][0]["title"].as_str().unwrap().to_string();

    // The next day (UTC): the held story comes first thing, as a short list.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 5, 0)
        .unwrap()
        .and_utc();
    clock.set(tomorrow);
    let posts = exactly(&fake, CHANNEL_ID, 3).await;
    let list = &posts[2];
    assert!(
        content(list).contains("1 more story matched beyond this subscription's limit of 1 a day"),
        "{list:#}"
    );
    let listed = list["embeds"][0]["description"].as_str().unwrap();
    let held_title = if posted.contains("arbor") {
        "Ferry"
    } else {
        "arbor"
    };
    assert!(listed.contains(held_title), "{listed}");
    let counts = app.store.delivery_counts().await.unwrap();
    assert!(counts.contains(&(DeliveryState::Listed, 1)), "{counts:?}");
    assert!(
        !counts.iter().any(|(s, _)| *s == DeliveryState::Held),
        "{counts:?}"
    );
    assert_eq!(app.store.outbox_summary().await.unwrap().held, 0);
    validate("over_max_per_day", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_edit_changes_options_in_place_and_subscriptions_shows_them() {
    const ROLE: u64 = 900_000_000_000_000_710;
    let fake = FakeDiscord::start(TOKEN).await;
    fake.add_role(ROLE, "news", true);
    let dir = tempfile::tempdir().unwrap();
    let bot = start(
        &fake,
        config(&fake, &dir.path().join("bot.db")),
        Clock::default(),
        1,
    )
    .await;
    let answer = subscribe(
        &fake,
        "topic",
        json!([{ "name": "query", "type": 3, "value": "election" }]),
        CAN_POST,
    )
    .await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    let answer = subscribe(
        &fake,
        "story",
        json!([{ "name": "story", "type": 3, "value": "GM recall" }]),
        CAN_POST,
    )
    .await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    let edit = |options: Value| {
        let id = fake.guild_command(
            "subscription",
            json!([{ "name": "edit", "type": 1, "options": options }]),
            MANAGER,
            CAN_POST | THREADS,
        );
        let fake = fake.clone();
        async move { text(&callback(&fake, id).await) }
    };
    let answer = edit(json!([
        { "name": "subscription", "type": 3, "value": "#1" },
        { "name": "exclude", "type": 3, "value": "poll polls" },
        { "name": "side", "type": 3, "value": "right blindspot" },
        { "name": "max_per_day", "type": 4, "value": 5 },
        { "name": "updates", "type": 4, "value": 1 },
        { "name": "role", "type": 8, "value": ROLE.to_string() }
    ]))
    .await;
    assert!(answer.starts_with("Changed"), "{answer}");
    for part in [
        "side: right blindspot",
        "excluding poll, polls",
        "at most 5 a day",
        "updates: thread",
        &format!("pings <@&{ROLE}>"),
    ] {
        assert!(answer.contains(part), "{part} in {answer}");
    }
    // Clearing, and refusals that say what is wrong.
    let answer = edit(json!([
        { "name": "subscription", "type": 3, "value": "1" },
        { "name": "exclude", "type": 3, "value": "none" },
        { "name": "no_role", "type": 5, "value": true }
    ]))
    .await;
    assert!(
        !answer.contains("excluding") && !answer.contains("pings"),
        "{answer}"
    );
    assert!(answer.contains("side: right blindspot"), "{answer}");
    // `any` and 0 clear what they name.
    let cleared = edit(json!([
        { "name": "subscription", "type": 3, "value": "2" },
        { "name": "side", "type": 3, "value": "left 40%" },
        { "name": "max_per_day", "type": 4, "value": 3 }
    ]))
    .await;
    assert!(
        cleared.contains("side: left 40%") && cleared.contains("at most 3 a day"),
        "{cleared}"
    );
    let cleared = edit(json!([
        { "name": "subscription", "type": 3, "value": "2" },
        { "name": "side", "type": 3, "value": "any" },
        { "name": "max_per_day", "type": 4, "value": 0 }
    ]))
    .await;
    assert!(cleared.starts_with("Changed"), "{cleared}");
    assert!(
        !cleared.contains("side:") && !cleared.contains("a day"),
        "{cleared}"
    );
    for (options, says) in [
        (
            json!([{ "name": "subscription", "type": 3, "value": "1" }]),
            "Nothing to change",
        ),
        (
            json!([{ "name": "subscription", "type": 3, "value": "#9" },
                   { "name": "max_per_day", "type": 4, "value": 2 }]),
            "no subscription #9",
        ),
        (
            json!([{ "name": "subscription", "type": 3, "value": "2" },
                   { "name": "updates", "type": 4, "value": 2 }]),
            "use `reply` or `thread`",
        ),
        (
            json!([{ "name": "subscription", "type": 3, "value": "1" },
                   { "name": "side", "type": 3, "value": "center blindspot" }]),
            "The center has no blindspot",
        ),
    ] {
        let answer = edit(options).await;
        assert!(answer.contains(says), "{says} in {answer}");
    }
    let id = fake.guild_command("subscriptions", json!([]), MANAGER, CAN_POST);
    let list = text(&callback(&fake, id).await);
    let min = storybot::config::Config::default()
        .subscriptions
        .min_sources;
    let expected = format!(
        "`#1` topic **election** ({min}+ sources, side: right blindspot, at most 5 a day, \
         updates: thread)"
    );
    assert!(list.contains(&expected), "{list}");
    assert!(list.contains("`#2` story"), "{list}");
    validate("subscription_edit", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_story_post_neither_pauses_the_subscription_nor_loses_a_text_update() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let forum = OTHER + 70;
    fake.add_forum(forum, &[], false);
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    for (channel, updates) in [(forum, None), (CHANNEL_ID, Some(1))] {
        let mut options = vec![
            json!({ "name": "query", "type": 3, "value": "zebra parade" }),
            json!({ "name": "min_sources", "type": 4, "value": 2 }),
            json!({ "name": "channel", "type": 7, "value": channel.to_string() }),
        ];
        if let Some(u) = updates {
            options.push(json!({ "name": "updates", "type": 4, "value": u }));
        }
        let answer = subscribe(&fake, "topic", Value::Array(options), CAN_POST | THREADS).await;
        assert!(answer.starts_with("Subscribed"), "{answer}");
    }
    feeds.serve(&ZEBRA[..2]).await;
    ingest(&db, &feeds).await;
    let post = until("a forum post", || fake.threads(forum).first().cloned()).await;
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    // Moderators delete both posts of the story.
    fake.delete_thread(id_of(&post));
    fake.delete_message(CHANNEL_ID, id_of(&posts[1]));

    feeds.serve(&ZEBRA).await;
    ingest(&db, &feeds).await;
    // The text channel's update comes as a plain message, since its thread cannot start; the
    // forum's has nowhere to go and is dropped, with a reason, not retried for ever.
    let posts = exactly(&fake, CHANNEL_ID, 2).await;
    assert!(
        content(&posts[1]).contains("This story grew: 3 articles"),
        "{posts:#?}"
    );
    let mut reader = storybot::config::Config::default();
    reader.store.url = format!("sqlite://{}", db.display());
    let app = storybot::app::App::open(reader).await.unwrap();
    let counts = app.store.delivery_counts().await.unwrap();
    assert!(counts.contains(&(DeliveryState::Dropped, 1)), "{counts:?}");
    let id = fake.guild_command("subscriptions", json!([]), MANAGER, CAN_POST);
    let list = text(&callback(&fake, id).await);
    assert!(!list.contains("paused"), "{list}");
    validate("a_deleted_story_post", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_whose_tags_changed_still_gets_its_post_with_a_tag_that_exists() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let forum = OTHER + 80;
    fake.add_forum(forum, &["Old"], true);
    let bot = start(&fake, config(&fake, &db), Clock::default(), 1).await;
    let answer = subscribe(
        &fake,
        "topic",
        json!([
            { "name": "query", "type": 3, "value": "harbor bridge" },
            { "name": "min_sources", "type": 4, "value": 3 },
            { "name": "channel", "type": 7, "value": forum.to_string() }
        ]),
        CAN_POST,
    )
    .await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    // The bot read the forum's tags when it subscribed; a moderator replaces them.
    let new = fake.set_forum_tags(forum, &["New"]);
    feeds.serve(&HARBOR).await;
    ingest(&db, &feeds).await;
    let post = until("a forum post", || fake.threads(forum).first().cloned()).await;
    assert_eq!(post["applied_tags"], json!([new[0].to_string()]));
    let refused = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(&format!("/channels/{forum}/threads")) && r.status == 400)
        .count();
    assert_eq!(
        refused, 1,
        "the stale tag was refused once, then read again"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fake.threads(forum).len(), 1);
    validate("a_forum_whose_tags_changed", &fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_post_whose_answer_was_lost_is_found_not_posted_again() {
    let fake = FakeDiscord::start(TOKEN).await;
    let feeds = Feeds::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let forum = OTHER + 90;
    fake.add_forum(forum, &[], false);
    let clock = Clock::default();
    let bot = start(&fake, config(&fake, &db), clock.clone(), 1).await;
    let answer = subscribe(
        &fake,
        "topic",
        json!([
            { "name": "query", "type": 3, "value": "harbor bridge" },
            { "name": "min_sources", "type": 4, "value": 3 },
            { "name": "channel", "type": 7, "value": forum.to_string() }
        ]),
        CAN_POST,
    )
    .await;
    assert!(answer.starts_with("Subscribed"), "{answer}");
    // Discord makes the post but answers 500: the bot must not post blindly again.
    fake.lose_answers(&format!("/channels/{forum}/threads"), 1);
    feeds.serve(&HARBOR).await;
    ingest(&db, &feeds).await;
    let post = until("the post Discord made", || {
        fake.threads(forum).first().cloned()
    })
    .await;
    let thread = id_of(&post);
    // Meanwhile a member opens a thread with the very same title, listed first.
    let name = post["name"].as_str().unwrap().to_string();
    let decoy = fake.add_member_thread(forum, &name);
    // The retry comes later (30 s on): move the clock instead of waiting.
    clock.set(chrono::Utc::now() + chrono::Duration::seconds(90));
    until("the lookup of the lost post", || {
        fake.requests()
            .iter()
            .any(|r| r.path.ends_with("/threads/active"))
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let made = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(&format!("/channels/{forum}/threads")))
        .count();
    assert_eq!(made, 1, "posted again");
    assert_eq!(fake.threads(forum).len(), 2, "{:#?}", fake.threads(forum));

    // The bot took its own post, not the member's: the story's update goes there.
    let mut items: Vec<(&str, &str)> = HARBOR.to_vec();
    items.push((
        "Harbor bridge toll doubles, commuters fume",
        "https://www.foxnews.com/us/harbor-bridge-toll",
    ));
    feeds.serve(&items).await;
    ingest(&db, &feeds).await;
    let inside = until("the update in the bot's post", || {
        let m = fake.channel_messages(thread);
        (m.len() >= 2).then_some(m)
    })
    .await;
    assert!(
        content(&inside[1]).contains("This story grew"),
        "{:#}",
        inside[1]
    );
    assert!(fake.channel_messages(decoy).is_empty());
    validate("a_forum_post_whose_answer_was_lost", &fake);
    bot.stop().await;
}

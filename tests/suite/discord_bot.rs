//! The real bot (serenity + poise) against a fake Discord on loopback: slash commands,
//! autocomplete, buttons and menus (also after a restart), deferral of a slow lookup, 200
//! interactions at once, retries on 429 and 500, and every payload validated against
//! Discord's OpenAPI description.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::fake_discord::{self, FakeDiscord, Recorded};
use serde_json::{json, Value};
use storybot::app::App;
use storybot::config::Config;
use storybot::discord::rest::Token;
use tokio::sync::oneshot;

const TOKEN: &str = "fake-bot-token.for-the-tests.0123456789";
const WAIT: Duration = Duration::from_secs(20);

/// A running bot and the means to stop it.
struct Bot {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), storybot::discord::RunError>>,
}

impl Bot {
    async fn stop(mut self) -> Result<(), storybot::discord::RunError> {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.expect("bot task")
    }
}

fn config(fake: &FakeDiscord, db: &Path) -> Config {
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", db.display());
    config.store.seed_demo = true;
    config.discord.api_base_url = fake.base_url.clone();
    config
}

async fn start(config: Config) -> Bot {
    let app = App::open(config).await.expect("open the store");
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(storybot::discord::run(app, Token::new(TOKEN), async {
        let _ = rx.await;
    }));
    Bot {
        stop: Some(tx),
        task,
    }
}

/// Starts a bot on the demo data and waits until it has registered its commands.
async fn ready_bot(fake: &FakeDiscord, db: &Path, session: u32) -> Bot {
    let bot = start(config(fake, db)).await;
    fake.wait_ready(session, WAIT).await;
    let registrations = session as usize;
    fake.wait_until("command registration", WAIT, |reqs| {
        (reqs
            .iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with("/commands") && r.status == 200)
            .count()
            >= registrations)
            .then_some(())
    })
    .await;
    bot
}

/// The (first successful) callback of interaction `id`.
async fn callback(fake: &FakeDiscord, id: u64) -> Recorded {
    let path = format!(
        "/api/v10/interactions/{id}/{}/callback",
        fake_discord::interaction_token(id)
    );
    fake.wait_until(&format!("the callback of {id}"), WAIT, |reqs| {
        reqs.iter()
            .find(|r| r.path == path && r.status == 204)
            .cloned()
    })
    .await
}

fn embed(r: &Recorded) -> &Value {
    &r.json.as_ref().expect("JSON body")["data"]["embeds"][0]
}

fn components(r: &Recorded) -> Vec<Value> {
    r.json.as_ref().unwrap()["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn custom_id_labelled(r: &Recorded, prefix: &str) -> String {
    components(r)
        .iter()
        .find(|c| c["label"].as_str().is_some_and(|l| l.starts_with(prefix)))
        .and_then(|c| c["custom_id"].as_str())
        .unwrap_or_else(|| panic!("no button {prefix:?} in {:#}", r.json.as_ref().unwrap()))
        .to_string()
}

fn validate(test: &str, fake: &FakeDiscord) {
    if let Some(mut schema) = common::DiscordSchema::load(test) {
        let n = common::validate_recorded(&mut schema, &fake.requests());
        assert!(n > 0, "nothing was validated");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_hit_answers_with_the_digest_bias_bar_and_buttons() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let bot = ready_bot(&fake, &dir.path().join("bot.db"), 1).await;

    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
    );
    let r = callback(&fake, id).await;
    let body = r.json.as_ref().unwrap();
    assert_eq!(body["type"], 4, "answered at once: {body:#}");
    let e = embed(&r);
    let title = e["title"].as_str().unwrap().to_lowercase();
    assert!(title.contains("gm") || title.contains("recall"), "{title}");
    let text = e.to_string();
    assert!(text.contains("Bias distribution"), "{text}");
    assert!(text.contains("articles"), "{text}");
    assert_eq!(body["data"]["allowed_mentions"], json!({ "parse": [] }));
    assert_eq!(body["data"].get("flags"), None, "a hit is public");
    // The bias bar is attached as a real PNG.
    assert_eq!(r.files.len(), 1);
    assert_eq!(r.files[0].1, "bias.png");
    assert!(r.files[0].2.starts_with(b"\x89PNG"));
    // Buttons: more headlines, one per side, a link to the top article.
    let comps = components(&r);
    let labels: Vec<&str> = comps.iter().filter_map(|c| c["label"].as_str()).collect();
    assert!(labels[0].starts_with("More headlines"), "{labels:?}");
    for side in ["Left", "Center", "Right"] {
        assert!(labels.iter().any(|l| l.starts_with(side)), "{labels:?}");
    }
    let link = comps
        .iter()
        .find(|c| c["style"] == 5)
        .expect("a link button");
    assert!(link["url"].as_str().unwrap().starts_with("http"));

    // The commands were registered globally with the exact payload `commands --json` prints.
    let reg = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(
        reg.path,
        format!(
            "/api/v10/applications/{}/commands",
            common::fake_discord::APP_ID
        )
    );
    let names: Vec<&str> = reg
        .json
        .as_ref()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "story",
            "top",
            "blindspot",
            "about",
            "subscribe",
            "briefing",
            "subscriptions",
            "subscription",
            "unsubscribe"
        ]
    );
    assert!(reg.headers["authorization"] == format!("Bot {TOKEN}"));

    validate(
        "story_hit_answers_with_the_digest_bias_bar_and_buttons",
        &fake,
    );
    bot.stop().await.expect("clean shutdown");
}

fn ephemeral(r: &Recorded) -> bool {
    r.json.as_ref().unwrap()["data"]["flags"].as_u64() == Some(64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_is_answered_privately_with_the_closest_titles() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let bot = ready_bot(&fake, &dir.path().join("bot.db"), 1).await;

    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "recall xylophone" }]),
    );
    let r = callback(&fake, id).await;
    assert!(ephemeral(&r), "a miss is shown to its user only");
    let text = embed(&r)["description"].as_str().unwrap().to_string();
    assert!(text.contains("No story matches"), "{text}");
    assert!(
        text.to_lowercase().contains("recall"),
        "closest titles listed: {text}"
    );

    // A query far over the limit (Discord enforces 300; a forged one is refused here too).
    let long = "peace talks ".repeat(850);
    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": long }]),
    );
    let r = callback(&fake, id).await;
    assert!(ephemeral(&r));
    let text = embed(&r)["description"].as_str().unwrap();
    assert!(text.contains("too long"), "{text}");

    // Mentions in a query are escaped and never parsed.
    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "@everyone <@123> zzqx" }]),
    );
    let r = callback(&fake, id).await;
    assert_eq!(
        r.json.as_ref().unwrap()["data"]["allowed_mentions"],
        json!({ "parse": [] })
    );

    validate(
        "a_miss_is_answered_privately_with_the_closest_titles",
        &fake,
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_matching_titles_and_the_choice_finds_that_story() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let bot = ready_bot(&fake, &dir.path().join("bot.db"), 1).await;

    let id = fake.autocomplete("story", "query", "gm rec");
    let r = callback(&fake, id).await;
    let body = r.json.as_ref().unwrap();
    assert_eq!(body["type"], 8);
    let choices = body["data"]["choices"].as_array().unwrap();
    assert!(!choices.is_empty() && choices.len() <= 25, "{body:#}");
    for c in choices {
        let name = c["name"].as_str().unwrap();
        assert!((1..=100).contains(&name.chars().count()), "{name}");
    }
    let first = &choices[0];
    assert!(
        first["name"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("recall"),
        "{first}"
    );

    // Choosing it sends the story id, which finds exactly that story.
    let chosen = first["value"].as_str().unwrap();
    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": chosen }]),
    );
    let r = callback(&fake, id).await;
    let footer = embed(&r)["footer"]["text"].as_str().unwrap();
    assert!(footer.contains(chosen), "{footer} should name {chosen}");

    // Nothing typed yet: the trending stories, still at most 25.
    let id = fake.autocomplete("story", "query", "");
    let r = callback(&fake, id).await;
    let n = r.json.as_ref().unwrap()["data"]["choices"]
        .as_array()
        .unwrap()
        .len();
    assert!((1..=25).contains(&n), "{n} choices");

    validate(
        "autocomplete_offers_matching_titles_and_the_choice_finds_that_story",
        &fake,
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_and_the_menu_keep_working_after_a_restart() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = ready_bot(&fake, &db, 1).await;
    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
    );
    let digest = callback(&fake, id).await;
    let more = custom_id_labelled(&digest, "More headlines");
    let left = custom_id_labelled(&digest, "Left");
    let story_id = embed(&digest)["footer"]["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let id = fake.command("top", json!([{ "name": "count", "type": 4, "value": 3 }]));
    let top = callback(&fake, id).await;
    let menu = components(&top)
        .into_iter()
        .find(|c| c["type"] == 3)
        .expect("a select menu");
    assert_eq!(menu["options"].as_array().unwrap().len(), 3);
    let pick = menu["options"][1]["value"].as_str().unwrap().to_string();
    let menu_id = menu["custom_id"].as_str().unwrap().to_string();
    bot.stop().await.unwrap();

    // A new process: nothing of the old one's memory survives.
    let bot = ready_bot(&fake, &db, 2).await;

    let id = fake.button(&more);
    let page = callback(&fake, id).await;
    assert_eq!(page.json.as_ref().unwrap()["type"], 4);
    assert!(ephemeral(&page));
    let e = embed(&page);
    let lines = e["description"].as_str().unwrap().lines().count();
    assert!(lines > 0 && lines <= 8, "{e:#}");
    let footer = e["footer"]["text"].as_str().unwrap();
    assert!(footer.contains("All headlines · page 1 of"), "{footer}");
    assert!(footer.contains(&story_id), "{footer}");

    // Paging edits that same message.
    let next = custom_id_labelled(&page, "Next");
    let id = fake.button(&next);
    let page2 = callback(&fake, id).await;
    assert_eq!(page2.json.as_ref().unwrap()["type"], 7);
    let footer2 = embed(&page2)["footer"]["text"].as_str().unwrap();
    assert!(footer2.contains("page 2 of"), "{footer2}");
    assert_ne!(embed(&page2)["description"], e["description"]);

    // One side's headlines: every outlet listed is rated left or lean left.
    let id = fake.button(&left);
    let lefts = callback(&fake, id).await;
    let text = embed(&lefts)["description"].as_str().unwrap().to_string();
    assert!(embed(&lefts)["footer"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Left headlines"));
    for line in text.lines() {
        assert!(
            line.contains("· Left") || line.contains("· Lean Left"),
            "{line}"
        );
    }

    // The menu of /top opens the chosen story as a full digest.
    let id = fake.select(&menu_id, &pick);
    let opened = callback(&fake, id).await;
    assert!(embed(&opened)["footer"]["text"]
        .as_str()
        .unwrap()
        .contains(&pick));
    assert_eq!(opened.files.len(), 1, "with its bias bar");

    // A story that has gone, and a button of another version, get clear answers.
    let id = fake.button("sb1:hl:zzzzzzzz:a:0");
    let gone = callback(&fake, id).await;
    assert!(ephemeral(&gone));
    assert!(embed(&gone)["description"]
        .as_str()
        .unwrap()
        .contains("no longer available"));
    let id = fake.button("sb0:whatever");
    let old = callback(&fake, id).await;
    assert!(embed(&old)["description"]
        .as_str()
        .unwrap()
        .contains("older version"));

    validate("buttons_and_the_menu_keep_working_after_a_restart", &fake);
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_blindspot_and_about_registered_to_a_development_server() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&fake, &dir.path().join("bot.db"));
    cfg.discord.guild_ids = vec![common::fake_discord::GUILD_ID];
    let bot = start(cfg).await;
    fake.wait_ready(1, WAIT).await;
    let reg = fake
        .wait_until("registration", WAIT, |r| {
            r.iter().find(|r| r.method == "PUT").cloned()
        })
        .await;
    assert_eq!(
        reg.path,
        format!(
            "/api/v10/applications/{}/guilds/{}/commands",
            common::fake_discord::APP_ID,
            common::fake_discord::GUILD_ID
        )
    );

    let id = fake.command("top", json!([]));
    let top = callback(&fake, id).await;
    let text = embed(&top)["description"].as_str().unwrap().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "five by default, one line each: {text}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("**{}.**", i + 1)), "{line}");
        assert!(line.contains(" sources · "), "{line}");
    }

    let id = fake.command("blindspot", json!([]));
    let b = callback(&fake, id).await;
    let text = embed(&b)["description"].as_str().unwrap().to_string();
    assert!(
        text.contains("few") || text.contains("No blindspots"),
        "each entry names the side that barely covers it: {text}"
    );

    let id = fake.command("about", json!([]));
    let about = callback(&fake, id).await;
    let text = embed(&about).to_string();
    for needle in [
        "AllSides",
        "Ad Fontes",
        "Media Bias/Fact Check",
        "CC BY-NC",
        "storybot run",
        "Factuality",
        "not a check of the article",
    ] {
        assert!(text.contains(needle), "/about mentions {needle}");
    }
    validate(
        "top_blindspot_and_about_registered_to_a_development_server",
        &fake,
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_rest_calls_are_retried_and_registration_survives_a_429() {
    let fake = FakeDiscord::start(TOKEN).await;
    // Registration first meets a rate limit, then a server error.
    fake.fail("PUT", "/commands", 429, 1, 0.4);
    fake.fail("PUT", "/commands", 500, 1, 0.0);
    let dir = tempfile::tempdir().unwrap();
    let bot = ready_bot(&fake, &dir.path().join("bot.db"), 1).await;
    let puts: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [429, 500, 200]);

    // The bot is not deaf: a command still gets its answer, through a 500 and a 429.
    fake.fail("POST", "/callback", 500, 1, 0.0);
    fake.fail("POST", "/callback", 429, 1, 0.2);
    let id = fake.command("about", json!([]));
    callback(&fake, id).await;
    let attempts: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.path.contains(&format!("/interactions/{id}/")))
        .map(|r| r.status)
        .collect();
    assert_eq!(attempts, [500, 429, 204]);
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_stops_the_bot_with_a_clear_error() {
    let fake = FakeDiscord::start("another-token-entirely.0123456789").await;
    let dir = tempfile::tempdir().unwrap();
    let bot = start(config(&fake, &dir.path().join("bot.db"))).await;
    let result = tokio::time::timeout(WAIT, bot.task)
        .await
        .expect("stops by itself")
        .unwrap();
    let err = result.expect_err("the token was rejected");
    assert!(err.to_string().contains("rejected the token"), "{err}");
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_interactions_at_once_each_get_their_own_story() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = ready_bot(&fake, &db, 1).await;
    let app = App::open(config(&fake, &db)).await.unwrap();
    let ids: Vec<String> = app
        .store
        .stories_after(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    assert!(ids.len() >= 10);

    let sent: Vec<(u64, String)> = (0..200)
        .map(|i| {
            let story = ids[i % ids.len()].clone();
            let id = fake.command(
                "story",
                json!([{ "name": "query", "type": 3, "value": story }]),
            );
            (id, story)
        })
        .collect();
    for (id, story) in &sent {
        // Under load a reply may be deferred: then the edit carries it.
        let r = callback(&fake, *id).await;
        let e = if r.json.as_ref().unwrap()["type"] == 5 {
            deferred_reply(&fake, *id).await.json.unwrap()["embeds"][0].clone()
        } else {
            embed(&r).clone()
        };
        let footer = e["footer"]["text"].as_str().unwrap();
        assert!(
            footer.starts_with(&format!("Story {story} ")),
            "{footer} is not {story}"
        );
    }
    let callbacks = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/callback"))
        .count();
    assert_eq!(callbacks, 200, "each answered exactly once");
    bot.stop().await.unwrap();
}

/// The final reply of a deferred interaction: the edit of its original response, or (for a
/// private reply to a public deferral) its follow-up.
async fn deferred_reply(fake: &FakeDiscord, id: u64) -> Recorded {
    let token = fake_discord::interaction_token(id);
    fake.wait_until(&format!("the follow-up of {id}"), WAIT, |reqs| {
        reqs.iter()
            .find(|r| {
                r.path.contains(&token)
                    && r.status == 200
                    && (r.method == "PATCH" || r.method == "POST")
                    && r.path.starts_with("/api/v10/webhooks/")
            })
            .cloned()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_lookup_is_deferred_then_completed() {
    let Some(pg) = common::PgSchema::create("a_slow_lookup_is_deferred_then_completed").await
    else {
        return;
    };
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&fake, &dir.path().join("unused.db"));
    cfg.store.url = pg.url.clone();
    let bot = start(cfg).await;
    fake.wait_ready(1, WAIT).await;
    fake.wait_until("registration", WAIT, |r| {
        r.iter().any(|r| r.method == "PUT").then_some(())
    })
    .await;

    // Another session holds the story tables: the lookup waits for it, well past the
    // moment the bot must defer.
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut blocker = sqlx::AnyConnection::connect(&pg.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE stories, articles IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
    );
    let first = callback(&fake, id).await;
    assert_eq!(
        first.json.as_ref().unwrap()["type"],
        5,
        "deferred (thinking...)"
    );
    let waited = first.at - fake.dispatched_at(id);
    assert!(
        waited < Duration::from_millis(2_900),
        "deferral sent after {waited:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();

    let edit = deferred_reply(&fake, id).await;
    assert_eq!(edit.method, "PATCH");
    let e = &edit.json.as_ref().unwrap()["embeds"][0];
    assert!(
        e["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("recall"),
        "{e:#}"
    );
    assert_eq!(edit.files.len(), 1, "the bias bar comes with the edit");
    validate("a_slow_lookup_is_deferred_then_completed", &fake);
    bot.stop().await.unwrap();
    pg.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_miss_becomes_a_private_follow_up() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&fake, &dir.path().join("bot.db"));
    // Every reply is deferred.
    cfg.discord.defer_after_ms = 0;
    let bot = start(cfg).await;
    fake.wait_ready(1, WAIT).await;
    fake.wait_until("registration", WAIT, |r| {
        r.iter().any(|r| r.method == "PUT").then_some(())
    })
    .await;

    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "qqqzzz" }]),
    );
    assert_eq!(callback(&fake, id).await.json.as_ref().unwrap()["type"], 5);
    let follow = deferred_reply(&fake, id).await;
    assert_eq!(follow.method, "POST", "a private follow-up");
    assert_eq!(follow.json.as_ref().unwrap()["flags"], 64);
    let deleted = fake.requests().iter().any(|r| {
        r.method == "DELETE"
            && r.path.contains(&fake_discord::interaction_token(id))
            && r.status == 204
    });
    assert!(deleted, "the public 'thinking...' message is removed");
    validate("a_deferred_miss_becomes_a_private_follow_up", &fake);
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storybot_run_takes_the_token_from_the_environment_and_never_logs_it() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = \"sqlite://{}\"\nseed_demo = true\n\n[discord]\napi_base_url = \"{}\"\n",
            dir.path().join("bot.db").display(),
            fake.base_url
        ),
    )
    .unwrap();
    let exe = env!("CARGO_BIN_EXE_storybot");

    // Without a token: a clear error, before anything connects.
    let out = std::process::Command::new(exe)
        .args(["--config", config.to_str().unwrap(), "run"])
        .env_remove("DISCORD_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DISCORD_TOKEN is not set"), "{stderr}");
    assert!(fake.requests().is_empty());

    // `commands --json` prints what registration sends.
    let printed = std::process::Command::new(exe)
        .args(["--config", config.to_str().unwrap(), "commands", "--json"])
        .output()
        .unwrap();
    assert!(printed.status.success());
    let printed: Value = serde_json::from_slice(&printed.stdout).unwrap();

    // With the token, at the most verbose log level (into a file: a pipe would fill up).
    let log_path = dir.path().join("bot.log");
    let mut child = tokio::process::Command::new(exe)
        .args(["--config", config.to_str().unwrap(), "run"])
        .env("DISCORD_TOKEN", TOKEN)
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    fake.wait_ready(1, WAIT).await;
    let reg = fake
        .wait_until("registration", WAIT, |r| {
            r.iter()
                .find(|r| r.method == "PUT" && r.status == 200)
                .cloned()
        })
        .await;
    assert_eq!(reg.json.as_ref(), Some(&printed));
    let id = fake.command(
        "story",
        json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
    );
    callback(&fake, id).await;

    // An internal failure (the store broken underneath the bot): the user gets a short
    // private message with an error id, and the same id is in the log.
    {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}", dir.path().join("bot.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("ALTER TABLE stories RENAME TO stories_gone")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let id = fake.command("top", json!([]));
    let broken = callback(&fake, id).await;
    assert!(ephemeral(&broken));
    let text = embed(&broken)["description"].as_str().unwrap().to_string();
    let error_id = text
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no error id in {text}"))
        .to_string();
    assert_eq!(error_id.len(), 8, "{text}");

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "exit {status:?}:\n{log}");
    assert!(log.contains("interaction answered"), "{log}");
    assert!(log.contains("storybot summary"), "{log}");
    assert!(!log.contains(TOKEN), "the token appeared in the log");
    assert!(
        log.lines()
            .any(|l| l.contains(&error_id) && l.contains("interaction failed")),
        "error id {error_id} is not in the log"
    );
    assert!(
        !log.contains(&fake_discord::interaction_token(id)),
        "an interaction token appeared in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_are_ingested_inside_the_bot_process() {
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    let items: String = [
        (
            "https://www.nytimes.com/2026/zebra-parade.html",
            "Zebra parade closes Main Street as city celebrates",
        ),
        (
            "https://www.foxnews.com/us/zebra-parade",
            "City celebrates zebra parade on Main Street",
        ),
        (
            "https://www.reuters.com/world/zebra-parade",
            "Zebra parade draws crowds to Main Street",
        ),
    ]
    .iter()
    .enumerate()
    .map(|(i, (link, title))| {
        let date = (now - chrono::Duration::minutes(30 - i as i64)).to_rfc2822();
        format!("<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item>")
    })
    .collect();
    let feed = dir.path().join("feed.xml");
    std::fs::write(
        &feed,
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>"),
    )
    .unwrap();
    let mut cfg = config(&fake, &dir.path().join("bot.db"));
    // The items link to the internet: their pages are not read.
    cfg.articles.enabled = false;
    cfg.feeds = vec![storybot::config::FeedConfig {
        url: format!("file://{}", feed.display()),
        outlet: None,
        refresh_minutes: None,
    }];
    let bot = start(cfg).await;
    fake.wait_ready(1, WAIT).await;

    // The first ingest cycle runs at start-up; ask until the story is there.
    let mut found = None;
    for _ in 0..40 {
        let id = fake.command(
            "story",
            json!([{ "name": "query", "type": 3, "value": "zebra parade" }]),
        );
        let r = callback(&fake, id).await;
        if !ephemeral(&r) {
            found = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let r = found.expect("the feed's story became searchable");
    let text = embed(&r).to_string();
    assert!(text.contains("3 articles"), "{text}");
    assert!(text.contains("3 sources"), "{text}");
    bot.stop().await.unwrap();
}

/// Answers as [`crate::llm::Grounded`] does, after a pause.
struct SlowModel;

impl wiremock::Respond for SlowModel {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        wiremock::Respond::respond(&crate::llm::Grounded, request).set_delay(Duration::from_secs(2))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_model_never_delays_story_and_its_checked_points_arrive_labelled() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(SlowModel)
        .mount(&server)
        .await;
    let fake = FakeDiscord::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&fake, &dir.path().join("bot.db"));
    cfg.llm.base_url = Some(format!("{}/v1", server.uri()));
    cfg.llm.model = "test-model".into();
    cfg.llm.max_concurrent = 8;
    let bot = start(cfg).await;
    fake.wait_ready(1, WAIT).await;

    // At once, while the model is writing: the extractive points, within the deadline.
    let story = || {
        fake.command(
            "story",
            json!([{ "name": "query", "type": 3, "value": "GM recall" }]),
        )
    };
    let id = story();
    let first = callback(&fake, id).await;
    assert_eq!(first.json.as_ref().unwrap()["type"], 4, "answered at once");
    assert!(first.at - fake.dispatched_at(id) < Duration::from_millis(2_900));
    let description = embed(&first)["description"].as_str().unwrap().to_string();
    assert!(!description.contains("Written by"), "{description}");

    // Then the model's checked points, labelled, with how each side frames the story.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let written = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the written points never arrived"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = callback(&fake, story()).await;
        if embed(&r)["description"]
            .as_str()
            .unwrap()
            .contains("Written by test-model")
        {
            break r;
        }
    };
    let e = embed(&written);
    assert_eq!(
        e["title"],
        "GM faces investigations over its ignition recall"
    );
    let description = e["description"].as_str().unwrap();
    assert!(
        description.contains("-# Written by test-model, checked against the sources"),
        "{description}"
    );
    assert_eq!(description.matches("• ").count(), 3, "{description}");
    assert!(
        !description.contains("Zorblax"),
        "the invented point is dropped"
    );
    let framing = e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "How each side covers it")
        .expect("a framing field");
    assert_eq!(
        framing["value"],
        "**Left:** Left outlets stress the deaths."
    );
    validate(
        "a_slow_model_never_delays_story_and_its_checked_points_arrive_labelled",
        &fake,
    );
    bot.stop().await.unwrap();
}

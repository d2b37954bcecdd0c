//! The real bot (serenity + poise) against a fake Discord on loopback: slash commands,
//! autocomplete, buttons and menus (also after a restart), deferral of a slow lookup, 200
//! interactions at once, retries on 429 and 500, and every payload validated against
//! Discord's OpenAPI description.

mod common;

use std::path::Path;
use std::time::Duration;

use common::fake_discord::{FakeDiscord, Recorded};
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
    let path = format!("/api/v10/interactions/{id}/itoken-{id}/callback");
    fake.wait_until(&format!("the callback of {id}"), WAIT, |reqs| {
        reqs.iter().find(|r| r.path == path && r.status == 204).cloned()
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

    let id = fake.command("story", json!([{ "name": "query", "type": 3, "value": "GM recall" }]));
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
    let link = comps.iter().find(|c| c["style"] == 5).expect("a link button");
    assert!(link["url"].as_str().unwrap().starts_with("http"));

    // The commands were registered globally with the exact payload `commands --json` prints.
    let reg = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(
        reg.path,
        format!("/api/v10/applications/{}/commands", common::fake_discord::APP_ID)
    );
    let names: Vec<&str> = reg.json.as_ref().unwrap().as_array().unwrap().iter()
        .map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["story", "top", "blindspot", "about"]);
    assert!(reg.headers["authorization"] == format!("Bot {TOKEN}"));

    validate("story_hit_answers_with_the_digest_bias_bar_and_buttons", &fake);
    bot.stop().await.expect("clean shutdown");
}

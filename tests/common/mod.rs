//! Helpers shared by the integration tests: temporary stores, the `../shared` material and
//! validation against Discord's OpenAPI description.
#![allow(dead_code)]

pub mod fake_discord;

use std::io::Write as _;
use std::path::PathBuf;

use storybot::app::App;
use storybot::config::Config;

/// `../shared` beside the project, if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}

/// Prints a skip reason where `cargo test` shows it (outside the captured output).
pub fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// Three made-up words that differ with `i`, so generated headlines are distinct events.
pub fn words(i: usize) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ra", "to", "vu", "se", "da", "pi", "gor", "lan", "tes", "mar",
        "vin", "sol",
    ];
    (0..3)
        .map(|k| {
            let mut x = i * 7 + k * 1_000_003 + 17;
            let mut w = String::new();
            for _ in 0..4 {
                w.push_str(SYL[x % 16]);
                x /= 16;
            }
            w
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The feed poller of an app.
pub fn poller(app: &App) -> storybot::ingest::poll::Poller {
    storybot::ingest::poll::Poller::new(
        app.settings.clone(),
        app.outlets.clone(),
        app.store.clone(),
    )
    .expect("a poller")
}

/// Every article of a story, oldest first.
pub async fn articles(
    app: &App,
    story: storybot::model::StoryKey,
) -> Vec<storybot::model::Article> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = app
            .store
            .story_articles_after(story, after, 1_000)
            .await
            .unwrap();
        let Some((seq, last)) = page.last() else {
            return out;
        };
        after = Some((last.published, *seq));
        out.extend(page.into_iter().map(|(_, a)| a));
    }
}

/// A story built in memory from its articles (as the store would aggregate them), and its
/// digest with these settings.
pub fn digest_of(
    seed: &str,
    title: &str,
    key_points: Vec<String>,
    articles: &[storybot::model::Article],
    settings: &storybot::config::Settings,
) -> (storybot::model::Story, storybot::digest::Digest) {
    use storybot::model::OutletCoverage;
    let outlets = storybot::outlets::OutletDirectory::load(&settings.outlets).unwrap();
    let mut coverage: Vec<OutletCoverage> = Vec::new();
    for (seq, a) in articles.iter().enumerate() {
        match coverage.iter_mut().find(|o| o.name == a.outlet) {
            Some(o) => {
                o.articles += 1;
                o.last_published = o.last_published.max(a.published);
            }
            None => coverage.push(OutletCoverage {
                name: a.outlet.clone(),
                domain: a.domain.clone(),
                articles: 1,
                first_published: a.published,
                last_published: a.published,
                first_article: seq as i64,
            }),
        }
    }
    let story = storybot::model::Story {
        key: storybot::model::StoryKey(1),
        id: storybot::model::StoryId::derive(seed, 8),
        title: title.to_string(),
        key_points,
        article_count: articles.len() as i64,
        first_published: articles.iter().map(|a| a.published).min().unwrap(),
        last_updated: articles.iter().map(|a| a.published).max().unwrap(),
        revision: 1,
        outlets: coverage,
        sequence: Default::default(),
        written: None,
    };
    let leads: Vec<storybot::model::Article> =
        storybot::digest::lead_outlets(&story, &outlets, settings.digest.headlines)
            .iter()
            .map(|o| articles[o.first_article as usize].clone())
            .collect();
    let digest = storybot::digest::Digest::build(&story, &leads, &outlets, settings);
    (story, digest)
}

/// A fresh SQLite file store in a temporary folder (kept alive by the returned guard).
pub async fn temp_app(seed_demo: bool) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("test.db").display());
    config.store.seed_demo = seed_demo;
    let app = App::open(config).await.expect("open store");
    (app, dir)
}

/// A private Postgres schema for one test, from STORYBOT_TEST_POSTGRES
/// (e.g. postgres://postgres@127.0.0.1/test), so tests can run in parallel.
pub struct PgSchema {
    /// Connection URL whose search_path is the private schema.
    pub url: String,
    base: String,
    schema: String,
}

impl PgSchema {
    /// Creates the schema, or prints a skip and returns `None` without STORYBOT_TEST_POSTGRES.
    pub async fn create(test: &str) -> Option<PgSchema> {
        let Ok(base) = std::env::var("STORYBOT_TEST_POSTGRES") else {
            skip(
                test,
                "STORYBOT_TEST_POSTGRES is not set (the CI script sets it)",
            );
            return None;
        };
        let schema = format!(
            "t_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        Self::exec(&base, format!("CREATE SCHEMA {schema}")).await;
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(PgSchema {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            base,
            schema,
        })
    }

    /// Drops the schema and everything in it.
    pub async fn drop(self) {
        Self::exec(&self.base, format!("DROP SCHEMA {} CASCADE", self.schema)).await;
    }

    async fn exec(base: &str, sql: String) {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(base)
            .await
            .expect("connect to STORYBOT_TEST_POSTGRES");
        conn.execute(sqlx::AssertSqlSafe(sql))
            .await
            .expect("schema statement");
    }
}

/// Validates JSON against a schema of Discord's OpenAPI description.
pub struct DiscordSchema {
    validators: std::collections::HashMap<String, jsonschema::Validator>,
    doc: serde_json::Value,
}

impl DiscordSchema {
    /// Loads `../shared/discord/openapi.json`, or `None` (with a printed skip) without it.
    pub fn load(test: &str) -> Option<DiscordSchema> {
        let Some(dir) = shared_dir() else {
            skip(
                test,
                "../shared is absent: cannot validate against Discord's OpenAPI description",
            );
            return None;
        };
        let text = std::fs::read_to_string(dir.join("discord/openapi.json")).ok()?;
        Some(DiscordSchema {
            validators: Default::default(),
            doc: serde_json::from_str(&text).expect("openapi.json is JSON"),
        })
    }

    /// The validation errors of `value` against `components.schemas.<name>`.
    pub fn errors(&mut self, name: &str, value: &serde_json::Value) -> Vec<String> {
        if !self.validators.contains_key(name) {
            let schema = serde_json::json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$ref": format!("#/components/schemas/{name}"),
                "components": self.doc["components"].clone(),
            });
            let v = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .expect("schema compiles");
            self.validators.insert(name.to_string(), v);
        }
        self.validators[name]
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Panics with every error when `value` is not a valid `name`.
    pub fn assert_valid(&mut self, name: &str, value: &serde_json::Value) {
        let errors = self.errors(name, value);
        assert!(
            errors.is_empty(),
            "payload is not a valid {name}:\n{}\n{value:#}",
            errors.join("\n")
        );
    }
}

/// The schema a recorded bot request must satisfy, or `None` for bodiless calls.
pub fn schema_for(r: &fake_discord::Recorded) -> Option<&'static str> {
    let p = r.path.as_str();
    Some(match r.method.as_str() {
        "POST" if p.ends_with("/callback") => match r.json.as_ref()?["type"].as_u64()? {
            4 | 5 => "CreateMessageInteractionCallbackRequest",
            6 | 7 => "UpdateMessageInteractionCallbackRequest",
            8 => "ApplicationCommandAutocompleteCallbackRequest",
            _ => return None,
        },
        "PATCH" if p.ends_with("/messages/@original") => "IncomingWebhookUpdateRequestPartial",
        "POST" if p.starts_with("/api/v10/webhooks/") => "IncomingWebhookRequestPartial",
        "POST" if p.ends_with("/messages") => "MessageCreateRequest",
        "POST" if p.ends_with("/threads") && p.contains("/messages/") => {
            "CreateTextThreadWithMessageRequest"
        }
        "POST" if p.ends_with("/threads") => "CreateForumThreadRequest",
        "PUT" if p.ends_with("/commands") => "ApplicationCommandUpdateRequest",
        _ => return None,
    })
}

/// Validates every recorded request with a body against Discord's schemas, and the rules the
/// schemas leave out: 6,000 characters over a message's embeds, `allowed_mentions` that parse
/// nothing on every message (and allow at most the one role its content pings, a
/// subscription's). Returns how many payloads were checked.
pub fn validate_recorded(schema: &mut DiscordSchema, requests: &[fake_discord::Recorded]) -> usize {
    let mut checked = 0;
    for r in requests {
        let Some(name) = schema_for(r) else { continue };
        let body = r
            .json
            .as_ref()
            .unwrap_or_else(|| panic!("{} {} has no JSON", r.method, r.path));
        let items: Vec<&serde_json::Value> = if name == "ApplicationCommandUpdateRequest" {
            let list = body.as_array().expect("registration is an array");
            assert!(!list.is_empty(), "no commands registered");
            for c in list {
                schema.assert_valid("ApplicationCommandCreateRequest", c);
            }
            list.iter().collect()
        } else {
            vec![body]
        };
        for item in items {
            schema.assert_valid(name, item);
            checked += 1;
        }
        let message = if r.path.ends_with("/callback") {
            &body["data"]
        } else if name == "CreateForumThreadRequest" {
            &body["message"]
        } else {
            body
        };
        if let Some(embeds) = message["embeds"].as_array() {
            let total: usize = embeds.iter().map(embed_chars).sum();
            assert!(
                total <= 6000,
                "{} characters in one message's embeds",
                total
            );
            assert_pings_at_most_its_role(message);
        }
    }
    checked
}

/// A message's `allowed_mentions` parse nothing, and allow no role but one its content
/// names first (a subscription's role, pinged on purpose).
pub fn assert_pings_at_most_its_role(message: &serde_json::Value) {
    let allowed = &message["allowed_mentions"];
    assert_eq!(
        allowed["parse"],
        serde_json::json!([]),
        "a message that may ping: {message:#}"
    );
    assert!(
        allowed["users"].is_null(),
        "a message that may ping users: {message:#}"
    );
    let Some(roles) = allowed["roles"].as_array() else {
        return;
    };
    assert_eq!(
        roles.len(),
        1,
        "more than one role may be pinged: {message:#}"
    );
    let content = message["content"].as_str().unwrap_or_default();
    let role = roles[0].as_str().expect("a role id");
    assert!(
        content.starts_with(&format!("<@&{role}>")),
        "a role allowed that the message does not ping first: {message:#}"
    );
}

/// Characters Discord counts towards the 6,000 embed total.
pub fn embed_chars(e: &serde_json::Value) -> usize {
    let len = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
    len(&e["title"])
        + len(&e["description"])
        + len(&e["footer"]["text"])
        + len(&e["author"]["name"])
        + e["fields"].as_array().map_or(0, |fs| {
            fs.iter().map(|f| len(&f["name"]) + len(&f["value"])).sum()
        })
}

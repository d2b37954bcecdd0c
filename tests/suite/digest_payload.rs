//! Discord payloads: every digest validates against Discord's OpenAPI description, stays
//! within every limit however large the story, and cannot ping or break its layout.

use crate::common;

use chrono::{Duration, TimeZone, Utc};
use storybot::config::{Config, Settings};
use storybot::digest::embed as discord;
use storybot::digest::Digest;
use storybot::model::Article;
use storybot::payload::limits::EMBED_TOTAL_MAX;
use storybot::text::utf16_len;

fn check_limits(payload: &serde_json::Value) {
    let embed = &payload["embeds"][0];
    let len = |v: &serde_json::Value| v.as_str().map_or(0, utf16_len);
    assert!(
        len(&embed["title"]) <= 256,
        "title {}",
        len(&embed["title"])
    );
    assert!(len(&embed["description"]) <= 4096);
    assert!(len(&embed["footer"]["text"]) <= 2048);
    let fields = embed["fields"].as_array().unwrap();
    assert!(fields.len() <= 25);
    let mut total =
        len(&embed["title"]) + len(&embed["description"]) + len(&embed["footer"]["text"]);
    for f in fields {
        assert!(len(&f["name"]) <= 256);
        assert!(len(&f["value"]) <= 1024, "field value {}", len(&f["value"]));
        assert!(len(&f["value"]) > 0, "Discord rejects empty field values");
        total += len(&f["name"]) + len(&f["value"]);
    }
    assert!(total <= EMBED_TOTAL_MAX, "embed total {total}");
    assert_eq!(payload["allowed_mentions"]["parse"], serde_json::json!([]));
}

fn article(i: usize, outlet: &str, domain: &str, title: &str) -> Article {
    let t = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap() + Duration::minutes(i as i64);
    Article {
        url: format!("https://{domain}/story/{i}"),
        title: title.to_string(),
        summary: String::new(),
        outlet: outlet.to_string(),
        domain: domain.to_string(),
        published: t,
        fetched: t,
    }
}

/// A story built to overflow every limit: huge title and points, hundreds of outlets with
/// long names and headlines full of markdown and emoji.
fn overflowing_story(settings: &Settings) -> Digest {
    let hostile = "**bold** __u__ ~~s~~ `code` ||spoiler|| > quote [link](https://evil.example) @everyone <@&123> 👨‍👩‍👧";
    let articles: Vec<Article> = (0..600)
        .map(|i| {
            let outlet = format!("Outlet {i} {}", "N".repeat(300));
            let domain = match i % 4 {
                0 => "www.reuters.com".to_string(),
                1 => "www.foxnews.com".to_string(),
                2 => "www.theguardian.com".to_string(),
                _ => format!("site{i}.example"),
            };
            article(
                i,
                &outlet,
                &domain,
                &format!("{hostile} {}", "headline ".repeat(200)),
            )
        })
        .collect();
    let mut digest = common::digest_of(
        "overflow",
        &format!("{hostile} {}", "T".repeat(10_000)),
        (0..40)
            .map(|i| format!("Point {i}: {hostile} {}", "k".repeat(3000)))
            .collect(),
        &articles,
        settings,
    )
    .1;
    // Linked to a previous and a next event with hostile titles of their own.
    let link = |seed: &str| storybot::model::StoryLink {
        id: storybot::model::StoryId::derive(seed, 8),
        title: format!("{hostile} {}", "E".repeat(5000)),
    };
    digest.sequence = storybot::model::Sequence {
        previous: Some(link("previous")),
        next: Some(link("next")),
    };
    // Points written by a model with a hostile name, and hostile framing for every side.
    digest.key_points_by = Some(format!("{hostile} {}", "M".repeat(500)));
    use storybot::model::Side;
    digest.framing = [Side::Left, Side::Center, Side::Right]
        .into_iter()
        .map(|side| storybot::model::Framing {
            side,
            sentence: format!("{hostile} {}", "F".repeat(2000)),
        })
        .collect();
    digest
}

#[test]
fn overflowing_stories_fit_every_limit_and_validate() {
    let mut config = Config::default();
    config.digest.headlines = 10;
    let digest = overflowing_story(&Settings::new(&config).unwrap());
    let payload = serde_json::to_value(discord::message(&digest)).unwrap();
    check_limits(&payload);
    // The factuality line and the headlines' factuality survive the shortening.
    let fields = payload["embeds"][0]["fields"].to_string();
    assert!(fields.contains("Factuality: High"), "{fields}");
    assert!(fields.contains("High factuality"), "{fields}");
    assert!(fields.contains("How each side covers it"), "{fields}");
    let description = payload["embeds"][0]["description"].as_str().unwrap();
    assert!(
        description.contains("checked against the sources"),
        "{description}"
    );
    if let Some(mut schema) =
        common::DiscordSchema::load("overflowing_stories_fit_every_limit_and_validate")
    {
        schema.assert_valid("MessageCreateRequest", &payload);
        schema.assert_valid("RichEmbed", &payload["embeds"][0]);
    }
}

#[test]
fn headlines_cannot_ping_or_break_markdown() {
    let evil =
        "@everyone @here <@&123> <@456> ](http://evil.example) `x` **y** [z](http://evil.example)";
    let (_, digest) = common::digest_of(
        "evil",
        evil,
        vec![format!("{evil}.")],
        &[
            article(0, "Reuters", "reuters.com", evil),
            article(1, "Evil @everyone Outlet", "evil.example", evil),
        ],
        &Settings::defaults(),
    );
    let payload = discord::message(&digest);
    let json = serde_json::to_string(&payload).unwrap();
    assert!(
        !json.contains("@everyone"),
        "raw @everyone survived: {json}"
    );
    assert!(!json.contains("@here"));
    assert!(!json.contains("<@&123>") && !json.contains("<@456>"));
    let embed = &payload.embeds[0];
    for text in std::iter::once(&embed.title)
        .chain(std::iter::once(&embed.description))
        .chain(embed.fields.iter().map(|f| &f.value))
    {
        // The only masked links are the ones the renderer made: one per headline line.
        let links = text.matches("](http").count();
        let headline_lines = text.lines().filter(|l| l.starts_with('[')).count();
        assert_eq!(
            links, headline_lines,
            "an injected link survived in {text:?}"
        );
        assert!(!text.contains(" `x` "), "code span survived in {text:?}");
        assert!(!text.contains(" **y** "), "bold survived in {text:?}");
    }
    assert!(payload.allowed_mentions.parse.is_empty());
}

#[tokio::test]
async fn every_demo_story_payload_validates() {
    let Some(mut schema) = common::DiscordSchema::load("every_demo_story_payload_validates") else {
        return;
    };
    let (app, _dir) = common::temp_app(true).await;
    let rows = app.store.stories_after(None, 1000).await.unwrap();
    assert!(rows.len() >= 10);
    for row in rows {
        let story = app.store.with_coverage(row).await.unwrap();
        let digest = app.digest(&story).await.unwrap();
        let payload = serde_json::to_value(discord::message(&digest)).unwrap();
        check_limits(&payload);
        schema.assert_valid("MessageCreateRequest", &payload);
        let embed = &payload["embeds"][0];
        assert_eq!(embed["image"]["url"], "attachment://bias.png");
        assert_eq!(payload["attachments"][0]["filename"], "bias.png");
        let text = serde_json::to_string(embed).unwrap();
        assert!(
            text.contains("Bias distribution") && text.contains("Top headlines"),
            "{text}"
        );
    }
}

#[test]
fn stories_without_rated_outlets_say_so() {
    let (_, digest) = common::digest_of(
        "unrated",
        "Local fair opens",
        vec![],
        &[article(0, "Tiny Blog", "tiny.example", "Local fair opens")],
        &Settings::defaults(),
    );
    assert_eq!(digest.coverage.rated_sources, 0);
    assert_eq!(digest.coverage.unrated_sources, 1);
    let embed = discord::embed(&digest);
    let bias = &embed.fields[0].value;
    assert!(bias.contains("No rated sources yet"), "{bias}");
    let details = &embed.fields[1].value;
    assert!(details.contains("Unrated sources: 1"), "{details}");
}

#[test]
fn the_schema_check_rejects_what_discord_rejects() {
    let Some(mut schema) =
        common::DiscordSchema::load("the_schema_check_rejects_what_discord_rejects")
    else {
        return;
    };
    let too_long = serde_json::json!({"embeds": [{"title": "x".repeat(257)}]});
    assert!(!schema.errors("MessageCreateRequest", &too_long).is_empty());
    let bad_mentions = serde_json::json!({"allowed_mentions": {"parse": ["all"]}});
    assert!(!schema
        .errors("MessageCreateRequest", &bad_mentions)
        .is_empty());
    let bad_url = serde_json::json!({"url": "not a url"});
    assert!(!schema.errors("RichEmbed", &bad_url).is_empty());
}

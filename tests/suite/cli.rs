//! The `storybot` binary as a user runs it: a fresh folder, the shipped config, the demo data.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

fn storybot(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storybot"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("run storybot")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh folder holding a copy of the shipped config.toml.
fn fresh_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    std::fs::copy(shipped, dir.path().join("config.toml")).unwrap();
    dir
}

#[test]
fn readme_main_command_prints_a_digest_on_a_fresh_folder() {
    let dir = fresh_folder();
    let out = storybot(dir.path(), &["story", "GM", "recall"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for part in [
        "Key points",
        "Bias distribution",
        "Left ",
        "Center ",
        "Right ",
        "Coverage details",
        "Top headlines",
        "articles",
        "sources",
        "AllSides",
    ] {
        assert!(text.contains(part), "digest lacks {part:?}:\n{text}");
    }
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes when NO_COLOR is set"
    );
    assert!(
        dir.path().join("storybot.db").is_file(),
        "the store file is created beside the config"
    );
    // README shows this very output.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let shown = readme
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("README shows an example digest");
    assert_eq!(
        shown.trim_end(),
        text.trim_end(),
        "README's example is stale"
    );
}

#[test]
fn story_json_is_the_discord_payload_and_png_is_written() {
    let dir = fresh_folder();
    let out = storybot(
        dir.path(),
        &["story", "--json", "--png", "bar.png", "snowden"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let payload: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert!(payload["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("snowden"));
    if let Some(mut schema) =
        common::DiscordSchema::load("story_json_is_the_discord_payload_and_png_is_written")
    {
        schema.assert_valid("MessageCreateRequest", &payload);
    }
    let png = std::fs::read(dir.path().join("bar.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn a_miss_fails_with_closest_titles() {
    let dir = fresh_folder();
    let out = storybot(dir.path(), &["story", "bankrupcty", "gox"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no story matches"), "{err}");
    assert!(err.contains("Gox"), "closest titles listed: {err}");
    let out = storybot(dir.path(), &["story", &"x".repeat(10_000)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("too long"), "{}", stderr(&out));
}

#[test]
fn import_reports_bad_lines_and_export_lists_everything() {
    let dir = fresh_folder();
    let file = dir.path().join("in.jsonl");
    std::fs::write(
        &file,
        "{\"url\":\"https://www.npr.org/a\",\"title\":\"Storm hits the coast\",\"story\":\"storm\"}\n\
         {\"url\":\"https://www.foxnews.com/b\",\"title\":\"Coastal storm hits\",\"story\":\"storm\"}\n\
         {\"title\":\"no url\"}\n",
    )
    .unwrap();
    let out = storybot(dir.path(), &["--db", "mine.db", "import", "in.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 2 new articles (1 new stories"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("line 3: missing \"url\""),
        "{}",
        stderr(&out)
    );

    let out = storybot(dir.path(), &["--db", "mine.db", "stories", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("a JSON array");
    let all = all.as_array().unwrap();
    // The demo seed ran on the new store first, then the import added one story.
    let storm = all
        .iter()
        .find(|s| s["title"].as_str().unwrap().contains("torm"))
        .expect("the storm story");
    assert_eq!(storm["article_count"], 2);
    assert_eq!(storm["bias"]["left"], 50);
    assert_eq!(storm["bias"]["right"], 50);
    let urls: Vec<&str> = storm["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&"https://www.npr.org/a") && urls.contains(&"https://www.foxnews.com/b"),
        "{urls:?}"
    );
    for key in [
        "id",
        "title",
        "key_points",
        "source_count",
        "first_published",
        "last_updated",
    ] {
        assert!(storm.get(key).is_some(), "export lacks {key}");
    }
    assert!(all.len() > 10);
    assert!(dir.path().join("mine.db").is_file());

    // `top` ranks recent stories: the import is from today, the demo from 2014.
    let out = storybot(dir.path(), &["--db", "mine.db", "top", "3"]);
    assert!(out.status.success());
    let ranked: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with(' ') && l.contains(". "))
        .map(String::from)
        .collect();
    assert_eq!(ranked.len(), 1, "{ranked:?}");
    assert!(ranked[0].contains("torm"), "{ranked:?}");

    let demo_only = fresh_folder();
    let out = storybot(demo_only.path(), &["top", "3"]);
    assert!(out.status.success());
    let ranked = stdout(&out)
        .lines()
        .filter(|l| l.starts_with(' ') && l.contains(". "))
        .count();
    assert_eq!(ranked, 3, "{}", stdout(&out));
}

#[test]
fn config_errors_name_the_file_and_the_problem() {
    let dir = fresh_folder();
    let out = storybot(dir.path(), &["--config", "missing.toml", "top"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));

    std::fs::write(dir.path().join("bad.toml"), "[digest]\nheadlinez = 3\n").unwrap();
    let out = storybot(dir.path(), &["--config", "bad.toml", "top"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml") && err.contains("headlinez"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("bias.toml"),
        "[[outlets]]\nname = \"X\"\ndomains = [\"x.example\"]\nbias = \"far-out\"\n",
    )
    .unwrap();
    let out = storybot(dir.path(), &["--config", "bias.toml", "top"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("far-out"), "{}", stderr(&out));
}

#[test]
fn config_outlets_override_the_bundled_ratings() {
    let dir = fresh_folder();
    let mut config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    config.push_str(
        "\n[[outlets]]\nname = \"Reuters\"\ndomains = [\"reuters.com\"]\nbias = \"right\"\n",
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, "{\"url\":\"https://www.reuters.com/x\",\"title\":\"Quiet day on markets\",\"story\":\"q\"}\n").unwrap();
    assert!(storybot(dir.path(), &["import", "in.jsonl"])
        .status
        .success());
    let out = storybot(dir.path(), &["story", "--json", "quiet", "markets"]);
    let payload: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let text = payload.to_string();
    assert!(text.contains("Reuters · Right"), "{text}");
}

#[test]
fn an_ongoing_topic_becomes_a_sequence_of_linked_events() {
    let dir = fresh_folder();
    // A week of daily coverage of one topic, by three outlets a day.
    let day = 86_400_000i64;
    let t0 = 1_700_000_000_000i64;
    let mut lines = String::new();
    for d in 0..7 {
        for (k, outlet) in ["Reuters", "AP", "BBC"].iter().enumerate() {
            let line = serde_json::json!({
                "title": format!("Geneva peace talks between Armenia and Azerbaijan, day {}", d + 1),
                "url": format!("https://{k}.example/talks/{d}"),
                "outlet": outlet,
                "published": t0 + d * day + k as i64 * 60_000,
            });
            lines.push_str(&format!("{line}\n"));
        }
    }
    std::fs::write(dir.path().join("talks.jsonl"), lines).unwrap();
    let out = storybot(dir.path(), &["import", "talks.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = storybot(dir.path(), &["stories", "--json"]);
    let stories: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let talks: Vec<&serde_json::Value> = stories
        .iter()
        .filter(|s| s["title"].as_str().unwrap().contains("Geneva"))
        .collect();
    assert!(
        talks.len() >= 2,
        "a week of one topic is more than one story: {talks:#?}"
    );
    for s in &talks {
        let span = chrono::DateTime::parse_from_rfc3339(s["last_updated"].as_str().unwrap())
            .unwrap()
            - chrono::DateTime::parse_from_rfc3339(s["first_published"].as_str().unwrap()).unwrap();
        assert!(span <= chrono::Duration::hours(24), "{s:#}");
    }
    // Each event links the next, and the next links back.
    let first = talks
        .iter()
        .find(|s| s["previous_story"].is_null())
        .expect("the first event");
    let second_id = first["next_story"].as_str().expect("a next event");
    let second = talks.iter().find(|s| s["id"] == second_id).unwrap();
    assert_eq!(second["previous_story"], first["id"]);
    let out = storybot(dir.path(), &["story", second_id]);
    let text = stdout(&out);
    assert!(
        text.contains("Previous event: ") && text.contains(first["id"].as_str().unwrap()),
        "{text}"
    );
}

#[test]
fn a_story_takes_a_day_of_coverage_and_the_next_day_starts_the_next_event() {
    let dir = fresh_folder();
    // One event reported in the same words over two days, by a different outlet each time.
    let hour = 3_600_000i64;
    let t0 = 1_700_000_000_000i64;
    let mut lines = String::new();
    for (k, h) in [0i64, 4, 9, 15, 20, 30, 36, 44].iter().enumerate() {
        let line = serde_json::json!({
            "title": "Volcano erupts near Reykjavik, forcing evacuation of Grindavik",
            "url": format!("https://outlet{k}.example/volcano"),
            "outlet": format!("Outlet {k}"),
            "published": t0 + h * hour,
        });
        lines.push_str(&format!("{line}\n"));
    }
    std::fs::write(dir.path().join("volcano.jsonl"), lines).unwrap();
    let out = storybot(dir.path(), &["import", "volcano.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = storybot(dir.path(), &["stories", "--json"]);
    let stories: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let mut events: Vec<&serde_json::Value> = stories
        .iter()
        .filter(|s| s["title"].as_str().unwrap().contains("Volcano"))
        .collect();
    events.sort_by_key(|s| s["first_published"].as_str().unwrap().to_string());
    // The first day's five reports are one story; the next day's three are the next event.
    let counts: Vec<i64> = events
        .iter()
        .map(|s| s["article_count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![5, 3], "{events:#?}");
    assert_eq!(events[0]["next_story"], events[1]["id"], "{events:#?}");
}

/// One import line: a headline from an outlet's domain, minutes after 2024-01-01.
fn line(title: &str, domain: &str, minute: i64) -> String {
    let line = serde_json::json!({
        "title": title,
        "url": format!("https://{domain}/{}", title.len() + minute as usize),
        "published": 1_704_067_200_000i64 + minute * 60_000,
    });
    format!("{line}\n")
}

#[test]
fn factuality_is_in_every_digest_and_top_can_skip_low_factuality_stories() {
    let dir = fresh_folder();
    let mut jsonl = String::new();
    for (i, d) in ["100percentfedup.com", "10news.one", "70news.wordpress.com"]
        .iter()
        .enumerate()
    {
        jsonl.push_str(&line(
            "Lizard people seize the moon base, insiders claim",
            d,
            i as i64,
        ));
    }
    for (i, d) in ["680news.com", "9news.com.au", "news.abs-cbn.com"]
        .iter()
        .enumerate()
    {
        jsonl.push_str(&line(
            "Harbour bridge reopens after a year of repairs",
            d,
            10 + i as i64,
        ));
    }
    std::fs::write(dir.path().join("f.jsonl"), jsonl).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[store]\nseed_demo = false\n[factuality]\ntop_skips_low = true\n",
    )
    .unwrap();
    assert!(storybot(dir.path(), &["import", "f.jsonl"])
        .status
        .success());

    let out = storybot(dir.path(), &["story", "lizard", "moon"]);
    let text = stdout(&out);
    assert!(
        text.contains("Factuality: High 0% · Mixed 0% · Low 100%"),
        "{text}"
    );
    assert!(text.contains("Mostly low-factuality sources"), "{text}");
    assert!(
        text.contains("Low factuality"),
        "headlines carry it: {text}"
    );

    let out = storybot(dir.path(), &["stories", "--json"]);
    let stories: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let bridge = stories
        .iter()
        .find(|s| s["title"].as_str().unwrap().contains("bridge"))
        .unwrap();
    assert_eq!(
        bridge["factuality"],
        serde_json::json!({"high": 100, "mixed": 0, "low": 0, "rated_sources": 3,
                           "unrated_sources": 0, "mostly_low": false})
    );

    // `top` leaves the flagged story out when configured so, and lists it otherwise.
    let top = stdout(&storybot(dir.path(), &["top", "--json"]));
    assert!(top.contains("bridge") && !top.contains("Lizard"), "{top}");
    std::fs::write(
        dir.path().join("config.toml"),
        "[store]\nseed_demo = false\n",
    )
    .unwrap();
    let top = stdout(&storybot(dir.path(), &["top", "--json"]));
    assert!(top.contains("bridge") && top.contains("Lizard"), "{top}");
}

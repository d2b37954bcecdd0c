//! Key points written by a language model: `storybot summarise --dry-run` (the real binary, on
//! the demo data) against a fake OpenAI-compatible server on loopback (wiremock) that answers
//! grounded points, invented ones, broken JSON, JSON outside the schema, 429, 500, or nothing.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "sk-test-zqxvjw-never-logged";

/// A fresh folder with the shipped config, an `[llm]` section for `server`, and the demo store.
fn folder(server: &MockServer, timeout_seconds: u64) -> tempfile::TempDir {
    folder_with(server, &format!("timeout_seconds = {timeout_seconds}\n"))
}

/// [`folder`] with `more` keys in the `[llm]` section.
fn folder_with(server: &MockServer, more: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).unwrap();
    let llm = format!(
        "\n[llm]\nbase_url = \"{}/v1\"\nmodel = \"test-model\"\napi_key_env = \"STORYBOT_TEST_LLM_KEY\"\n{more}",
        server.uri()
    );
    std::fs::write(dir.path().join("config.toml"), shipped + &llm).unwrap();
    dir
}

/// Runs `storybot ARGS` in `dir` at trace level, with the API key in the environment or not.
async fn storybot(dir: &Path, args: &[&str], with_key: bool) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_storybot"));
        command
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "trace");
        if with_key {
            command.env("STORYBOT_TEST_LLM_KEY", KEY);
        } else {
            command.env_remove("STORYBOT_TEST_LLM_KEY");
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

async fn summarise(dir: &Path) -> Output {
    storybot(
        dir,
        &["summarise", "--story", "GM recall", "--dry-run"],
        true,
    )
    .await
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A chat completion whose message is `content`.
pub(crate) fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]
    }))
}

/// The headlines of the articles a request gives the model, in order.
pub(crate) fn prompt_titles(request: &Request) -> Vec<String> {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let user = body["messages"][1]["content"].as_str().unwrap();
    user.lines()
        .filter_map(|l| l.strip_prefix("Title: "))
        .map(str::to_string)
        .collect()
}

/// The first three headlines of a prompt as points, each citing its article.
pub(crate) fn headline_points(titles: &[String]) -> Vec<Value> {
    titles
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, t)| json!({"text": format!("{t}."), "sources": [i + 1]}))
        .collect()
}

/// A fake model server answering as [`Grounded`].
async fn grounded_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Grounded)
        .mount(&server)
        .await;
    server
}

/// Answers with each article's headline as a point citing it, and one invented point.
pub(crate) struct Grounded;

impl Respond for Grounded {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let titles = prompt_titles(request);
        let mut points = headline_points(&titles);
        points.push(json!({
            "text": "Senator Zorblax Quux said the recall cost 987 million dollars.",
            "sources": [1]
        }));
        // A title of its own for the GM story; another story's first headline for the rest.
        let title = if titles.iter().any(|t| t.contains("GM")) {
            "GM faces investigations over its ignition recall".to_string()
        } else {
            titles[0].clone()
        };
        let answer = json!({
            "title": title,
            "key_points": points,
            "framing": {"left": "Left outlets stress the deaths.", "center": null, "right": null}
        });
        completion(&answer.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grounded_points_are_kept_and_an_invented_one_is_dropped_with_the_reason() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Grounded)
        .mount(&server)
        .await;
    let dir = folder(&server, 30);
    let out = summarise(dir.path()).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("GM faces investigations over its ignition recall"),
        "{stdout}"
    );
    assert!(stdout.contains("written by test-model, checked against the sources"));
    assert_eq!(stdout.matches("  • ").count(), 3, "{stdout}");
    assert!(
        stdout.contains("Dropped: Senator Zorblax Quux") && stdout.contains("Zorblax"),
        "{stdout}"
    );
    // The request: the schema asked for, the key sent, and never logged at trace level.
    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["model"], "test-model");
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {KEY}")
    );
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "the key leaked"
    );
    assert!(!stderr.contains("zqxvjw"), "part of the key leaked");
}

/// Runs `summarise` against a server answering `response`; returns its stderr on failure.
async fn failure(response: ResponseTemplate, timeout_seconds: u64) -> (String, Duration) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    let dir = folder(&server, timeout_seconds);
    let started = Instant::now();
    let out = summarise(dir.path()).await;
    let elapsed = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        !stderr.contains(KEY) && !stdout.contains(KEY),
        "the key leaked"
    );
    (stderr, elapsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_answer_is_a_clear_error() {
    let (e, _) = failure(completion("{\"title\": \"GM\", \"key_points\": ["), 30).await;
    assert!(e.contains("not JSON"), "{e}");
    let two_points = json!({"title": "GM", "framing": null, "key_points": [
        {"text": "GM recall.", "sources": [1]}, {"text": "GM probe.", "sources": [1]}]});
    let (e, _) = failure(completion(&two_points.to_string()), 30).await;
    assert!(
        e.contains("breaks the schema") && e.contains("2 key points"),
        "{e}"
    );
    let (e, _) = failure(completion("{\"headline\": \"GM\"}"), 30).await;
    assert!(e.contains("breaks the schema"), "{e}");
    let invented = json!({"title": "GM", "framing": null, "key_points": [
        {"text": "Zorblax said so.", "sources": [1]},
        {"text": "It cost 987 dollars.", "sources": [1]},
        {"text": "The recall grew.", "sources": [99]}]});
    let (e, _) = failure(completion(&invented.to_string()), 30).await;
    assert!(
        e.contains("only 0 of the model's points are grounded"),
        "{e}"
    );
    assert!(
        e.contains("Zorblax") && e.contains("987") && e.contains("source 99"),
        "{e}"
    );
    let invented_title = json!({"title": "Zorblax Quux faces a GM probe", "framing": null, "key_points": [
        {"text": "GM recall.", "sources": [1]}, {"text": "GM probe.", "sources": [1]},
        {"text": "GM cars.", "sources": [1]}]});
    let (e, _) = failure(completion(&invented_title.to_string()), 30).await;
    assert!(
        e.contains(
            "the model's title \"Zorblax Quux faces a GM probe\" names \"Zorblax Quux\", which \
             no cited source has"
        ),
        "{e}"
    );
    let (e, _) = failure(
        ResponseTemplate::new(429).insert_header("Retry-After", "30"),
        30,
    )
    .await;
    assert!(e.contains("rate limiting (429); retry after 30 s"), "{e}");
    let (e, _) = failure(ResponseTemplate::new(500).set_body_string("boom"), 30).await;
    assert!(e.contains("answered 500: boom"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_times_out_at_the_configured_limit() {
    let (e, elapsed) = failure(completion("{}").set_delay(Duration::from_secs(20)), 1).await;
    assert!(e.contains("did not answer within 1s"), "{e}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_structured_output_gets_json_mode() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(
            json!({"response_format": {"type": "json_schema"}}),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_string("response_format unsupported"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(
            json!({"response_format": {"type": "json_object"}}),
        ))
        .respond_with(Grounded)
        .mount(&server)
        .await;
    let dir = folder(&server, 30);
    let out = summarise(dir.path()).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.matches("  • ").count(), 3, "{stdout}");
}

async fn llm_check(dir: &Path) -> Output {
    storybot(dir, &["llm", "check"], true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_check_reports_the_model_and_its_schema_support() {
    let server = grounded_server().await;
    let dir = folder(&server, 30);
    let out = llm_check(dir.path()).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("ok: test-model at http://127.0.0.1")
            && stdout.contains("structured output (JSON schema)")
            && stdout.contains("3 grounded key points"),
        "{stdout}"
    );

    // Without the key in the environment: a plain message naming the variable.
    let out = storybot(dir.path(), &["llm", "check"], false).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("STORYBOT_TEST_LLM_KEY") && stderr.contains("not set"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_points_show_in_the_digest_labelled_and_in_the_export() {
    let server = grounded_server().await;
    let dir = folder(&server, 30);
    let out = storybot(dir.path(), &["summarise", "--story", "GM recall"], true).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.trim_end().ends_with("stored"), "{stdout}");

    // No model is asked to show it: the stored points, labelled.
    let out = storybot(dir.path(), &["story", "GM recall"], false).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("GM faces investigations over its ignition recall"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Written by test-model, checked against the sources"),
        "{stdout}"
    );
    assert!(
        stdout.contains("How each side covers it\n  Left: Left outlets stress the deaths."),
        "{stdout}"
    );
    assert!(!stdout.contains("Zorblax"), "{stdout}");

    let out = storybot(dir.path(), &["stories", "--json"], false).await;
    let stories: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stories = stories.as_array().unwrap();
    let gm = stories
        .iter()
        .find(|s| s["title"] == "GM faces investigations over its ignition recall")
        .expect("the written story in the export");
    assert_eq!(gm["key_points_source"], "test-model");
    assert_eq!(gm["key_points"].as_array().unwrap().len(), 3);
    assert_eq!(
        gm["framing"],
        json!({"left": "Left outlets stress the deaths.", "center": null, "right": null})
    );
    let others: Vec<&Value> = stories.iter().filter(|s| s["id"] != gm["id"]).collect();
    assert!(!others.is_empty());
    for s in others {
        assert_eq!(s["key_points_source"], "extractive");
        assert_eq!(
            s["framing"],
            json!({"left": null, "center": null, "right": null})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summarise_fills_the_due_stories_within_the_hourly_cap() {
    let server = grounded_server().await;
    let dir = folder_with(&server, "max_requests_per_hour = 2\n");
    let out = storybot(dir.path(), &["summarise", "--dry-run"], true).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let due: usize = stdout
        .lines()
        .last()
        .and_then(|l| l.strip_suffix(" stories due"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(due > 2, "{stdout}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "a dry run asks nothing"
    );

    let out = storybot(dir.path(), &["summarise"], true).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.matches("\nwritten ").count() + usize::from(stdout.starts_with("written ")),
        2,
        "{stdout}"
    );
    assert!(
        stdout.contains("llm.max_requests_per_hour reached"),
        "{stdout}"
    );
    assert!(stdout.contains("dropped: Senator Zorblax Quux"), "{stdout}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    // The cap holds across processes: the store remembers the hour's attempts.
    let out = storybot(dir.path(), &["summarise"], true).await;
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("llm.max_requests_per_hour reached"),
        "{stdout}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let out = storybot(dir.path(), &["summarise", "--dry-run"], true).await;
    let (stdout, _) = text(&out);
    assert!(
        stdout.ends_with(&format!("{} stories due\n", due - 2)),
        "{stdout}"
    );
}

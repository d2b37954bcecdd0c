//! One view of a story on every surface: with a model's title and key points stored, the
//! Discord message, the terminal digest, the lists (`top`, `stories`), the web page and the
//! trending page, and the JSON export (command line and HTTP) all show the written ones.

use std::process::Command;

use storybot::app::App;
use storybot::model::{WrittenPoint, WrittenSummary};

const TITLE: &str = "Carmaker faces federal inquiry over ignition switches";
const POINT: &str = "Federal prosecutors opened an inquiry into the carmaker's delayed recall.";

fn storybot(db: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_storybot"))
        .args(["--db", db])
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_surface_shows_the_written_points_when_stored() {
    let (app, _dir) = crate::common::temp_app(true).await;
    let story = app.trending(1).await.unwrap().remove(0);
    let urls: Vec<String> = app
        .lead_articles(&story, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.url)
        .collect();
    let written = WrittenSummary {
        title: TITLE.into(),
        points: vec![WrittenPoint {
            text: POINT.into(),
            sources: urls,
        }],
        framing: Vec::new(),
        model: "test-model".into(),
        prompt_version: 1,
        written_at: chrono::Utc::now(),
        article_count: story.article_count,
    };
    app.store
        .save_written(story.key, &written, &[])
        .await
        .unwrap();
    let id = story.id.to_string();
    let db = app.settings.store.url.clone();

    let embed = storybot(&db, &["story", &id, "--json"]);
    assert!(
        embed.contains(TITLE) && embed.contains("prosecutors opened"),
        "embed: {embed}"
    );
    let terminal = storybot(&db, &["story", &id]);
    assert!(
        terminal.contains(TITLE) && terminal.contains(POINT),
        "terminal: {terminal}"
    );
    let top = storybot(&db, &["top", "3"]);
    assert!(top.contains(TITLE), "top: {top}");
    let stories = storybot(&db, &["stories"]);
    assert!(
        stories.contains(TITLE) && stories.contains(POINT),
        "stories"
    );
    assert!(
        !stories.contains(&format!("{}\n", story.title)),
        "no extractive title left"
    );
    let export = storybot(&db, &["stories", "--json"]);
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    let mine = export
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["title"], TITLE);
    assert_eq!(mine["key_points"][0], POINT);
    assert_eq!(mine["key_points_source"], "test-model");

    let (base, _stop) = serve(&app).await;
    let page = get(&format!("{base}/story/{id}")).await;
    assert!(
        page.contains(TITLE) && page.contains("prosecutors opened"),
        "page"
    );
    let trending = get(&format!("{base}/")).await;
    assert!(trending.contains(TITLE), "trending page");
    let api = get(&format!("{base}/api/story/{id}")).await;
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    assert_eq!(api["title"], TITLE);
    assert_eq!(api["key_points"][0], POINT);
}

async fn serve(app: &App) -> (String, tokio::sync::oneshot::Sender<()>) {
    let server = storybot::web::Server::bind(app.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", server.public_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn get(url: &str) -> String {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

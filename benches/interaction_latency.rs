//! Interaction latency: the real bot (serenity + poise, the same code `storybot run` runs)
//! against the fake Discord of the tests, on the bundled demo data. Measures, as the fake sees
//! it, the time from dispatching INTERACTION_CREATE on the gateway to receiving the callback
//! request, for `/story` queries made of the first words of each demo story's title.
//!
//! `cargo bench --bench interaction_latency [-- --queries 1000 --burst 200]`: sequential
//! queries one at a time, then a burst dispatched all at once.

mod common;
#[path = "../tests/common/fake_discord.rs"]
mod fake_discord;

use std::time::Duration;

use fake_discord::FakeDiscord;
use serde_json::json;
use storybot::app::App;
use storybot::config::Config;
use storybot::discord::rest::Token;

const TOKEN: &str = "benchmark-bot-token.0123456789abcdef";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut lat: Vec<Duration>) {
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} n={:<5} p50 {:>7.2} ms   p90 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        lat.len(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.9)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap())
    );
}

/// Waits for the callback of `id` and returns when the fake received it.
async fn callback_latency(fake: &FakeDiscord, id: u64) -> Duration {
    let path = format!(
        "/api/v10/interactions/{id}/{}/callback",
        fake_discord::interaction_token(id)
    );
    let at = fake
        .wait_until("callback", Duration::from_secs(30), |reqs| {
            reqs.iter().rev().find(|r| r.path == path).map(|r| r.at)
        })
        .await;
    at - fake.dispatched_at(id)
}

#[tokio::main]
async fn main() {
    let queries = common::arg("--queries", 1000);
    let burst = common::arg("--burst", 200);
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeDiscord::start(TOKEN).await;
    let mut config = Config::default();
    config.store.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.store.seed_demo = true;
    config.discord.api_base_url = fake.base_url.clone();
    let app = App::open(config).await.unwrap();
    let titles: Vec<String> = app
        .store
        .stories_after(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            r.title
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(storybot::discord::run(app, Token::new(TOKEN), async {
        let _ = stop_rx.await;
    }));
    fake.wait_ready(1, Duration::from_secs(30)).await;
    fake.wait_until("registration", Duration::from_secs(30), |r| {
        r.iter().any(|r| r.method == "PUT").then_some(())
    })
    .await;
    let command =
        |q: &str| fake.command("story", json!([{ "name": "query", "type": 3, "value": q }]));

    for q in titles.iter().take(20) {
        callback_latency(&fake, command(q)).await;
    }
    let mut sequential = Vec::with_capacity(queries);
    for i in 0..queries {
        let id = command(&titles[i % titles.len()]);
        sequential.push(callback_latency(&fake, id).await);
    }
    println!(
        "/story on the demo data ({} stories), INTERACTION_CREATE -> callback request:",
        titles.len()
    );
    report("one at a time", sequential);

    let ids: Vec<u64> = (0..burst)
        .map(|i| command(&titles[i % titles.len()]))
        .collect();
    let mut burst_lat = Vec::with_capacity(burst);
    for id in ids {
        burst_lat.push(callback_latency(&fake, id).await);
    }
    report(&format!("{burst} dispatched at once"), burst_lat);
    let deferred = fake
        .requests()
        .iter()
        .filter(|r| r.json.as_ref().is_some_and(|j| j["type"] == 5))
        .count();
    println!("deferred responses: {deferred}");
    let _ = stop_tx.send(());
    let _ = bot.await;
}

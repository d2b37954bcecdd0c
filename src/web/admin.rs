//! The operators' pages: `/feeds` (each feed's health, as `storybot feeds` prints it),
//! `/subscriptions` (per server: active or paused and why, last post, pending posts),
//! `/written` (the latest attempts at written key points: kept, failed and why, and each point
//! the grounding check dropped with its reason), `/healthz` (store reachable, gateway connected, last ingest) and `/metrics` (Prometheus
//! text). Served on their own loopback listener, or under `/admin/` behind the token.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::http::{self, Fail};
use super::{layout, Web};
use crate::metrics::{gauge, Gateway};
use crate::model::Follow;
use crate::secrets::redact_url;

/// Subscriptions listed at most.
const MAX_SUBSCRIPTIONS: i64 = 5_000;
/// Attempts at written key points listed at most.
const MAX_ATTEMPTS: i64 = 500;

pub(super) fn routes() -> Router<Web> {
    Router::new()
        .route("/feeds", get(feeds))
        .route("/subscriptions", get(subscriptions))
        .route("/written", get(written))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// Lets through requests that carry `Authorization: Bearer TOKEN`; the rest get a 401.
pub(super) async fn require_token(
    State(web): State<Web>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &web.admin_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the operators' pages need Authorization: Bearer TOKEN\n",
        )
            .into_response()
    }
}

/// Equal bytes, compared without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn when(t: Option<DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => layout::time(t),
        None => html! { "never" },
    }
}

async fn feeds(State(web): State<Web>, headers: HeaderMap) -> Result<Response, Fail> {
    let mut rows = Vec::new();
    for feed in &web.app.settings.feeds {
        rows.push((
            redact_url(&feed.url),
            web.app.store.feed_state(&feed.url).await?,
        ));
    }
    let pages = crate::fleet::status::Pages::of(web.app.store.page_counts(MAX_PAGE_HOSTS).await?);
    let body = layout::page(
        "Feeds",
        html! {
            h1 { "Feeds" }
            p.muted { (rows.len()) " configured feeds." }
            table {
                thead { tr { th { "Status" } th { "Feed" } th { "Last success" } th { "Items" } th { "Next fetch" } th { "Last error" } } }
                tbody {
                    @for (url, s) in &rows {
                        tr class=(s.status().to_ascii_lowercase()) {
                            td { (s.status()) }
                            td { (url) }
                            td { (when(s.last_success)) }
                            td { (s.items) }
                            td {
                                @if let Some(r) = &s.disabled_reason { "none (disabled: " (r) ")" }
                                @else if s.next_fetch.is_none() { "now" }
                                @else { (when(s.next_fetch)) }
                            }
                            td {
                                @if let Some(e) = &s.last_error {
                                    (e) " at " (when(s.last_error_at)) " (" (s.failures) " in a row)"
                                }
                            }
                        }
                    }
                }
            }
            (page_hosts(&pages))
        },
    );
    Ok(http::html(&headers, body.into_string()))
}

/// Hosts shown in the article pages' table, the busiest first.
const MAX_PAGE_HOSTS: usize = 200;

/// The article pages read, by host: read, walls, queued, and failures by reason.
fn page_hosts(pages: &crate::fleet::status::Pages) -> Markup {
    html! {
        h2 { "Article pages" }
        p.muted { (pages.line()) }
        table {
            thead { tr { th { "Host" } th { "Read" } th { "Walls" } th { "Queued" } th { "Robots" } th { "Failed" } } }
            tbody {
                @for h in &pages.hosts {
                    tr {
                        td { (h.host) }
                        td { (h.read) }
                        td { (h.walls) }
                        td { (h.queued) }
                        td { (h.failed.get("robots").copied().unwrap_or(0)) }
                        td {
                            @for (i, (reason, n)) in h.failed.iter().filter(|(r, _)| r.as_str() != "robots").enumerate() {
                                @if i > 0 { ", " }
                                (reason) " " (n)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The latest attempts at written key points, the newest first: what was kept, why an attempt
/// failed, and every point the grounding check dropped, with its reason.
async fn written(State(web): State<Web>, headers: HeaderMap) -> Result<Response, Fail> {
    let attempts = web.app.store.written_attempts(MAX_ATTEMPTS).await?;
    let dropped: usize = attempts.iter().map(|a| a.dropped.len()).sum();
    let body = layout::page(
        "Written key points",
        html! {
            h1 { "Written key points" }
            p.muted {
                (attempts.len()) " latest attempts, " (dropped)
                " points dropped by the grounding check."
            }
            table {
                thead { tr { th { "Story" } th { "Asked" } th { "Model" } th { "Outcome" } th { "Dropped points" } } }
                tbody {
                    @for a in &attempts {
                        tr class=(if a.error.is_some() { "failed" } else { "written" }) {
                            td { code { (a.story) } " " (a.title) }
                            td { (layout::time(a.at)) }
                            td { (a.model) }
                            td {
                                @match (&a.error, a.kept) {
                                    (Some(e), _) => { "failed: " (e) }
                                    (None, Some(k)) => { (k) " kept, " (a.dropped.len()) " dropped" }
                                    (None, None) => "written earlier",
                                }
                            }
                            td {
                                @if !a.dropped.is_empty() {
                                    ul.dropped {
                                        @for d in &a.dropped {
                                            li { (d.text) br; span.muted { "because it " (d.reason) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    Ok(http::html(&headers, body.into_string()))
}

fn follows(f: &Follow) -> String {
    match f {
        Follow::Topic { query } => {
            format!("topic \"{}\"", crate::text::truncate_chars(query, 100))
        }
        Follow::Story { story } => format!("story {story}"),
        Follow::Briefing { time, zone, count } => {
            format!("briefing of {count} at {} {zone}", time.format("%H:%M"))
        }
        Follow::Blindspot { side: Some(side) } => format!("{} blindspots", side.label()),
        Follow::Blindspot { side: None } => "blindspots".to_string(),
    }
}

async fn subscriptions(State(web): State<Web>, headers: HeaderMap) -> Result<Response, Fail> {
    let subs = web
        .app
        .store
        .subscriptions_overview(MAX_SUBSCRIPTIONS)
        .await?;
    let mut guilds: Vec<(u64, Vec<&crate::store::SubscriptionOverview>)> = Vec::new();
    for s in &subs {
        match guilds.last_mut() {
            Some((g, list)) if *g == s.subscription.guild_id => list.push(s),
            _ => guilds.push((s.subscription.guild_id, vec![s])),
        }
    }
    let paused = subs
        .iter()
        .filter(|s| s.subscription.paused_reason.is_some())
        .count();
    let body = layout::page(
        "Subscriptions",
        html! {
            h1 { "Subscriptions" }
            p.muted { (subs.len()) " subscriptions in " (guilds.len()) " servers, " (paused) " paused." }
            @for (guild, list) in &guilds {
                h2 { "Server " (guild) }
                table {
                    thead { tr { th { "#" } th { "Follows" } th { "Channel" } th { "State" } th { "Last post" } th { "Pending" } } }
                    tbody {
                        @for s in list {
                            @let sub = &s.subscription;
                            tr {
                                td { (sub.number) }
                                td {
                                    (follows(&sub.follow))
                                    @for o in sub.options.describe() { " · " (o) }
                                }
                                td { (sub.channel_id) }
                                td {
                                    @match &sub.paused_reason {
                                        Some(why) => { "paused: " (why) }
                                        None => "active",
                                    }
                                }
                                td { (when(s.last_post)) }
                                td { (s.pending) }
                            }
                        }
                    }
                }
            }
        },
    );
    Ok(http::html(&headers, body.into_string()))
}

/// 200 when the store answers and every shard this process runs is connected; 503 otherwise.
async fn healthz(State(web): State<Web>) -> Response {
    let store = web.app.store.ping().await;
    let gateway = web.app.metrics.gateway();
    let feeds = web.app.store.feed_summary().await.ok();
    let now = Utc::now().timestamp();
    let age = |t: Option<i64>| t.map(|t| (now - t).max(0));
    let gateway_ok = match gateway {
        Gateway::NotRunning => true,
        Gateway::Shards { connected, known } => known > 0 && connected == known,
    };
    let healthy = store.is_ok() && gateway_ok;
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "store": match &store {
            Ok(()) => "ok".to_string(),
            Err(e) => crate::error::chain(e),
        },
        "gateway": match gateway {
            Gateway::NotRunning => serde_json::json!("not running in this process"),
            Gateway::Shards { connected, known } => serde_json::json!({ "connected": connected, "shards": known }),
        },
        "last_article_age_seconds": feeds.and_then(|f| age(f.last_article)),
        "last_feed_success_age_seconds": feeds.and_then(|f| age(f.last_success)),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

async fn metrics(State(web): State<Web>) -> Result<Response, Fail> {
    let mut out = String::new();
    web.app.metrics.render(&mut out);
    let store = &web.app.store;
    let outbox = store.outbox_summary().await?;
    let feeds = store.feed_summary().await?;
    let now = Utc::now().timestamp();
    let oldest = outbox.oldest_pending.map_or(0, |t| (now - t).max(0));
    gauge(
        &mut out,
        "storybot_outbox_pending",
        "Posts waiting in the outbox.",
        outbox.pending as f64,
    );
    gauge(
        &mut out,
        "storybot_outbox_held",
        "Posts held over a subscription's max_per_day for the next day's short list.",
        outbox.held as f64,
    );
    gauge(
        &mut out,
        "storybot_outbox_oldest_age_seconds",
        "Age of the oldest waiting post (0 when none).",
        oldest as f64,
    );
    gauge(
        &mut out,
        "storybot_subscriptions_paused",
        "Subscriptions paused until a person fixes their channel.",
        outbox.paused_subscriptions as f64,
    );
    gauge(
        &mut out,
        "storybot_feeds_failing",
        "Feeds whose last fetches failed.",
        feeds.failing as f64,
    );
    gauge(
        &mut out,
        "storybot_feeds_disabled",
        "Feeds disabled after repeated failures.",
        feeds.disabled as f64,
    );
    gauge(
        &mut out,
        "storybot_stories",
        "Stories in the store.",
        store.story_count().await? as f64,
    );
    gauge(
        &mut out,
        "storybot_articles",
        "Articles in the store.",
        store.article_count().await? as f64,
    );
    page_metrics(&mut out, &store.page_counts(MAX_PAGE_HOSTS).await?);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response())
}

/// `storybot_article_pages{host, outcome}`: pages by host and outcome (`read`, `wall`,
/// `queued`, `failed_REASON`, `failed_robots` for robots.txt's refusals).
fn page_metrics(out: &mut String, hosts: &[crate::store::HostPages]) {
    use std::fmt::Write;
    crate::metrics::family(
        out,
        "storybot_article_pages",
        "gauge",
        "Article pages by host and outcome (the busiest hosts).",
    );
    for h in hosts {
        let host = h.host.replace(['\\', '"', '\n'], "_");
        let mut line = |outcome: &str, n: i64| {
            let _ = writeln!(
                out,
                "storybot_article_pages{{host=\"{host}\",outcome=\"{outcome}\"}} {n}"
            );
        };
        line("read", h.read);
        line("wall", h.walls);
        line("queued", h.queued);
        for (reason, n) in &h.failed {
            line(&format!("failed_{reason}"), *n);
        }
    }
}

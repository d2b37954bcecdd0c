//! The Discord REST client for every call storybot makes itself: interaction callbacks,
//! follow-ups and edits, command registration and channel messages. One client per token,
//! so everything shares one rate budget ([`super::ratelimit`]).
//!
//! Failures are handled as Discord documents: a 429 waits `retry_after` (from the body, else
//! the `Retry-After` header; global when `X-RateLimit-Global` says so) and tries again; a 5xx
//! or a dropped connection backs off exponentially and tries again; anything else is returned
//! as a [`RestError`] that names the route, never the token.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::time::Instant;

use super::ratelimit::{header_f64, secs, Limits};

/// Discord's public API.
pub(crate) const DISCORD_API: &str = "https://discord.com";
/// Attempts per request (the first try included) before giving up.
const MAX_ATTEMPTS: u32 = 6;
/// A `retry_after` longer than this is not waited for: the request fails instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/storybot/storybot, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

/// The bot token; never printed.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    pub fn new(token: &str) -> Token {
        Token(token.trim().into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A file sent with a message (multipart `files[n]`).
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What a request carries.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Empty,
    Json(serde_json::Value),
    /// `payload_json` plus files, as Discord takes attachments.
    Multipart {
        payload: serde_json::Value,
        files: Vec<File>,
    },
}

impl Body {
    /// A JSON payload, as multipart when it carries files.
    pub(crate) fn payload(payload: serde_json::Value, files: Vec<File>) -> Body {
        if files.is_empty() {
            Body::Json(payload)
        } else {
            Body::Multipart { payload, files }
        }
    }
}

/// One REST call.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// The path after `/api/v10`, e.g. `/channels/1/messages`.
    pub path: String,
    /// The route as logged and bucketed, with ids of the major parameter only and no tokens,
    /// e.g. `POST /channels/1/messages` or `POST /interactions/{id}/callback`.
    pub route: String,
    pub body: Body,
    /// Interaction and webhook routes take no bot token and are exempt from the global limit.
    pub interaction: bool,
    /// Whether a request whose connection broke after sending may be sent again. A refused
    /// connection is always retried; it never reached Discord.
    pub idempotent_retry: bool,
    /// A request that Discord may have acted on is never repeated, not even after a 5xx: the
    /// caller finds out what happened (a forum post, which takes no nonce).
    pub at_most_once: bool,
}

/// A REST call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("Discord answered {status} to {route}: {message}")]
    Status {
        status: u16,
        route: String,
        /// Discord's JSON error code, when it gave one (e.g. 50013 missing permissions).
        code: Option<i64>,
        message: String,
    },
    #[error("gave up on {route} after {attempts} attempts: {last}")]
    GaveUp {
        route: String,
        attempts: u32,
        last: String,
    },
    #[error("cannot build the request for {route}: {message}")]
    Build { route: String, message: String },
}

/// What one try of a request leads to.
enum Step {
    Done(Response),
    Retry { why: String, pause: Duration },
    GiveUp(String),
}

/// A successful response.
#[derive(Debug)]
pub(crate) struct Response {
    pub body: Vec<u8>,
}

pub use crate::metrics::RestStats;

#[derive(Debug)]
pub struct Rest {
    http: reqwest::Client,
    /// Scheme and host (and optional path prefix), no trailing slash; `/api/v10` is appended.
    base: String,
    token: Token,
    limits: Limits,
    pub stats: Arc<RestStats>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    global: Option<bool>,
}

impl Rest {
    /// A client for `base` (Discord itself, a REST proxy or a local fake) with a global budget
    /// of `per_second` requests.
    pub fn new(base: &str, token: Token, per_second: u32) -> Result<Rest, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Rest {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            limits: Limits::new(per_second),
            stats: Arc::default(),
        })
    }

    /// Counts into `stats` (the process's metrics) instead of counters of its own.
    pub(crate) fn with_stats(mut self, stats: Arc<RestStats>) -> Rest {
        self.stats = stats;
        self
    }

    /// Takes the global budget from `store`, shared by every process using it (Postgres).
    pub(crate) fn with_shared_budget(mut self, store: crate::store::Store) -> Rest {
        self.limits.share(store);
        self
    }

    /// Takes `n` global slots without sending anything: the budget of requests made outside
    /// this client (serenity's own at start-up: the gateway's URL and shard count).
    pub(crate) async fn reserve_global(&self, n: u32) {
        for _ in 0..n {
            self.limits.global_slot().await;
        }
    }

    /// Sends a request, waiting for its rate budget and retrying 429s and 5xx as described in
    /// the module documentation.
    pub(crate) async fn send(&self, req: Request) -> Result<Response, RestError> {
        let mut last = String::new();
        for attempt in 1..=MAX_ATTEMPTS {
            // The route's bucket first: a global slot is taken just before the request goes,
            // never spent waiting on a route.
            self.limits.route_slot(&req.route).await;
            if !req.interaction {
                self.limits.global_slot().await;
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            match self.attempt(&req, attempt).await? {
                Step::Done(response) => return Ok(response),
                Step::Retry { why, pause } => {
                    last = why;
                    tokio::time::sleep(pause).await;
                }
                Step::GiveUp(why) => {
                    last = why;
                    break;
                }
            }
        }
        Err(RestError::GaveUp {
            route: req.route.clone(),
            attempts: MAX_ATTEMPTS,
            last,
        })
    }

    /// One try of a request, and what to do next.
    async fn attempt(&self, req: &Request, attempt: u32) -> Result<Step, RestError> {
        let response = match self.build(req)?.send().await {
            Ok(r) => r,
            Err(e) => {
                // A request that may have reached Discord is only repeated when repeating it
                // is harmless (callbacks answer once; a second one is refused).
                let connect = e.is_connect();
                let why = format!("connection failed: {}", crate::error::http(e));
                return Ok(if req.idempotent_retry || connect {
                    Step::Retry {
                        why,
                        pause: backoff(attempt),
                    }
                } else {
                    Step::GiveUp(why)
                });
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        self.limits.observe(&req.route, &headers).await;
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        if status.is_success() {
            return Ok(Step::Done(Response { body }));
        }
        let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(self.rate_limited(req, &headers, parsed.as_ref()).await);
        }
        if status.is_server_error() && req.at_most_once {
            self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
            return Ok(Step::GiveUp(format!("{} from Discord", status.as_u16())));
        }
        if status.is_server_error() {
            self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(route = %req.route, status = status.as_u16(), attempt, "Discord server error; retrying");
            return Ok(Step::Retry {
                why: format!("{} from Discord", status.as_u16()),
                pause: backoff(attempt),
            });
        }
        Err(RestError::Status {
            status: status.as_u16(),
            route: req.route.clone(),
            code: parsed.as_ref().and_then(|b| b.code),
            message: parsed
                .map(|b| crate::text::truncate_chars(&b.message, 300))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string()),
        })
    }

    /// A 429: the wait Discord asks for, on the route or (flagged) every route, then again;
    /// a wait too long to be worth it gives up.
    async fn rate_limited(
        &self,
        req: &Request,
        headers: &reqwest::header::HeaderMap,
        parsed: Option<&ErrorBody>,
    ) -> Step {
        self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        let wait = parsed
            .and_then(|b| b.retry_after)
            .filter(|s| s.is_finite())
            .or_else(|| header_f64(headers, "retry-after"))
            .map_or(Duration::from_secs(1), secs);
        let global = headers.contains_key("x-ratelimit-global")
            || parsed.and_then(|b| b.global).unwrap_or(false);
        let why = format!("429 rate limited for {:.3}s", wait.as_secs_f64());
        if wait > MAX_RETRY_AFTER {
            return Step::GiveUp(why);
        }
        let until = Instant::now() + wait;
        if global {
            self.stats
                .global_rate_limited
                .fetch_add(1, Ordering::Relaxed);
            self.limits.block_global(until).await;
        } else {
            self.limits.block_route(&req.route, until).await;
        }
        tracing::warn!(route = %req.route, retry_after = wait.as_secs_f64(), global, "rate limited by Discord; retrying");
        // The limiter holds the next try back until then.
        Step::Retry {
            why,
            pause: Duration::ZERO,
        }
    }

    fn build(&self, req: &Request) -> Result<reqwest::RequestBuilder, RestError> {
        let url = format!("{}/api/v10{}", self.base, req.path);
        let mut b = self.http.request(req.method.clone(), url);
        if !req.interaction {
            b = b.header("Authorization", format!("Bot {}", self.token.expose()));
        }
        let build_error = |message: String| RestError::Build {
            route: req.route.clone(),
            message,
        };
        Ok(match &req.body {
            Body::Empty => b,
            Body::Json(v) => b
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(v).map_err(|e| build_error(e.to_string()))?),
            Body::Multipart { payload, files } => {
                let json =
                    serde_json::to_string(payload).map_err(|e| build_error(e.to_string()))?;
                let mut form = reqwest::multipart::Form::new().part(
                    "payload_json",
                    reqwest::multipart::Part::text(json)
                        .mime_str("application/json")
                        .map_err(|e| build_error(e.to_string()))?,
                );
                for (i, f) in files.iter().enumerate() {
                    let part = reqwest::multipart::Part::bytes(f.bytes.clone())
                        .file_name(f.name.clone())
                        .mime_str(mime_for(&f.name))
                        .map_err(|e| build_error(e.to_string()))?;
                    form = form.part(format!("files[{i}]"), part);
                }
                b.multipart(form)
            }
        })
    }
}

fn mime_for(name: &str) -> &'static str {
    if name.ends_with(".png") {
        "image/png"
    } else {
        "application/octet-stream"
    }
}

/// 0.5 s, 1 s, 2 s, ... capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    crate::workers::exponential(
        Duration::from_millis(500),
        attempt.saturating_sub(1),
        Duration::from_secs(8),
    )
}

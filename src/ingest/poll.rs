//! Polling: one ingest cycle fetches the due feeds concurrently, parses them, and hands every
//! new article to the write path; the loop repeats cycles on schedule until shutdown.
//!
//! Each feed has its own state in the store: validators for conditional GET, health, and the
//! time of its next fetch. A failure backs off exponentially (doubling the interval, up to a
//! day, with ±20 % jitter so failing feeds do not retry in step); after
//! `disable_after_failures` failures in a row the feed is disabled with its last error as the
//! reason, until `storybot feeds --enable URL`. One feed's failure never stops the others, and
//! a slow feed costs at most the request timeout.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use super::feeds::{self, FeedError, FeedSpec, FetchLimits, Fetched, Fetcher};
use super::normalise::normalise;
use crate::app::App;
use crate::pipeline::BatchReport;
use crate::store::{FeedState, StoreError};

/// What one cycle did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CycleReport {
    pub feeds_fetched: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub items: usize,
    /// Items older than `ingest.max_age_hours`.
    pub too_old: usize,
    /// Items that failed validation (no URL, bad URL, ...).
    pub invalid: usize,
    pub batch: BatchReport,
}

/// The fetcher configured from `[ingest]`.
pub fn fetcher(app: &App) -> Result<Fetcher, FeedError> {
    let i = &app.config.ingest;
    Fetcher::new(FetchLimits {
        connect_timeout: Duration::from_secs(i.connect_timeout_seconds),
        timeout: Duration::from_secs(i.timeout_seconds),
        max_body_bytes: i.max_body_bytes,
    })
}

/// Runs one cycle over the feeds that are due at `now` (all enabled feeds with `all`).
pub async fn cycle(
    app: &App,
    fetcher: &Fetcher,
    now: DateTime<Utc>,
    all: bool,
) -> Result<CycleReport, StoreError> {
    let mut report = CycleReport::default();
    let mut due = Vec::new();
    for spec in app.config.feed_specs() {
        let state = app.store.feed_state(&spec.url).await?;
        let is_due = state.next_fetch.is_none_or(|t| t <= now);
        if state.disabled_reason.is_none() && (all || is_due) {
            due.push((spec, state));
        }
    }
    // Fetch concurrently, at most `concurrency` at a time.
    let limit = app.config.ingest.concurrency.max(1);
    let mut pending = due.into_iter();
    let mut running: JoinSet<(FeedSpec, FeedState, Result<Fetched, FeedError>)> = JoinSet::new();
    let mut results = Vec::new();
    loop {
        while running.len() < limit {
            let Some((spec, state)) = pending.next() else {
                break;
            };
            let fetcher = fetcher.clone();
            running.spawn(async move {
                let r = fetcher
                    .fetch(
                        &spec.url,
                        state.etag.as_deref(),
                        state.last_modified.as_deref(),
                    )
                    .await;
                (spec, state, r)
            });
        }
        match running.join_next().await {
            Some(Ok(done)) => results.push(done),
            Some(Err(e)) => tracing::error!(error = %e, "a feed fetch task failed"),
            None => break,
        }
    }
    // Deterministic order, whatever finished first.
    results.sort_by(|a, b| a.0.url.cmp(&b.0.url));

    let max_age = app.config.ingest.max_age_hours;
    let mut batch = Vec::new();
    let mut states = Vec::new();
    for (spec, mut state, result) in results {
        let interval = spec
            .refresh
            .unwrap_or(Duration::from_secs(app.config.ingest.interval_minutes * 60));
        let parsed = result.and_then(|fetched| match fetched {
            Fetched::NotModified => Ok(None),
            Fetched::Body {
                bytes,
                etag,
                last_modified,
            } => feeds::parse(&bytes, &spec.url, spec.outlet.as_deref())
                .map(|items| Some((items, etag, last_modified))),
        });
        match parsed {
            Ok(None) => {
                report.feeds_fetched += 1;
                report.not_modified += 1;
                succeed(&mut state, now, interval);
            }
            Ok(Some((items, etag, last_modified))) => {
                report.feeds_fetched += 1;
                report.items += items.len();
                state.items = items.len() as i64;
                state.etag = etag;
                state.last_modified = last_modified;
                succeed(&mut state, now, interval);
                for raw in items {
                    if max_age > 0
                        && raw
                            .published
                            .is_some_and(|p| now - p > chrono::Duration::hours(max_age as i64))
                    {
                        report.too_old += 1;
                        continue;
                    }
                    match normalise(raw, &app.outlets, now) {
                        Ok(a) => batch.push(a),
                        Err(_) => report.invalid += 1,
                    }
                }
            }
            Err(e) => {
                report.failed += 1;
                fail(
                    &mut state,
                    &e,
                    now,
                    interval,
                    app.config.ingest.disable_after_failures,
                );
                tracing::warn!(feed = %spec.url, error = %e, failures = state.failures, "feed failed");
            }
        }
        states.push(state);
    }
    if !batch.is_empty() {
        report.batch = app.ingest(batch, now).await?;
    }
    // Feed state is saved after the articles are stored: a crash in between refetches them,
    // and the canonical URLs make that harmless.
    for state in &states {
        app.store.save_feed_state(state).await?;
    }
    Ok(report)
}

fn succeed(state: &mut FeedState, now: DateTime<Utc>, interval: Duration) {
    state.last_success = Some(now);
    state.failures = 0;
    state.next_fetch =
        Some(now + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::minutes(15)));
}

/// Records a failure: exponential backoff with jitter, and disabling after too many.
fn fail(
    state: &mut FeedState,
    e: &FeedError,
    now: DateTime<Utc>,
    interval: Duration,
    disable_after: u32,
) {
    state.failures += 1;
    state.last_error = Some(e.to_string());
    state.last_error_at = Some(now);
    let backoff = backoff(interval, state.failures as u32, &state.url);
    state.next_fetch =
        Some(now + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::days(1)));
    if state.failures >= i64::from(disable_after) {
        state.disabled_reason = Some(format!("{} failures in a row; last: {e}", state.failures));
    }
}

/// `interval × 2^failures`, at most a day, times a jitter in [0.8, 1.2] derived from the URL
/// and the failure count (stable, so tests and restarts agree).
pub fn backoff(interval: Duration, failures: u32, url: &str) -> Duration {
    let base = interval
        .saturating_mul(1u32 << failures.min(16))
        .min(Duration::from_secs(86_400));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in url.bytes().chain(failures.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let jitter = 0.8 + 0.4 * ((h % 10_000) as f64 / 10_000.0);
    base.mul_f64(jitter)
}

/// Runs cycles until `shutdown` resolves. A cycle under way finishes first (its fetches are
/// bounded by the request timeout; its writes are one transaction), so nothing is left
/// half-written; a kill mid-write rolls that transaction back. `after_cycle`, when given, is
/// notified after every cycle that stored new articles (subscription matching listens).
pub async fn run(
    app: &App,
    shutdown: impl std::future::Future<Output = ()>,
    after_cycle: Option<&tokio::sync::Notify>,
) -> anyhow::Result<()> {
    let fetcher = fetcher(app)?;
    tokio::pin!(shutdown);
    loop {
        let report = cycle(app, &fetcher, Utc::now(), false).await?;
        if report.feeds_fetched + report.failed > 0 {
            tracing::info!(
                fetched = report.feeds_fetched,
                not_modified = report.not_modified,
                failed = report.failed,
                new_articles = report.batch.new_articles,
                new_stories = report.batch.new_stories,
                "ingest cycle"
            );
        }
        if let Some(n) = after_cycle.filter(|_| report.batch.new_articles > 0) {
            n.notify_one();
        }
        let wait = next_wake(app, Utc::now()).await?;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => break,
        }
    }
    Ok(())
}

/// Time until the next feed is due (between 5 s and 5 min).
async fn next_wake(app: &App, now: DateTime<Utc>) -> Result<Duration, StoreError> {
    let mut soonest = Duration::from_secs(300);
    for spec in app.config.feed_specs() {
        let state = app.store.feed_state(&spec.url).await?;
        if state.disabled_reason.is_some() {
            continue;
        }
        let wait = state.next_fetch.map_or(Duration::ZERO, |t| {
            (t - now).to_std().unwrap_or(Duration::ZERO)
        });
        soonest = soonest.min(wait);
    }
    Ok(soonest.max(Duration::from_secs(5)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps_at_a_day() {
        let i = Duration::from_secs(600);
        let one = backoff(i, 1, "https://a.example/feed");
        assert!(
            one >= Duration::from_secs(960) && one <= Duration::from_secs(1440),
            "{one:?}"
        );
        let three = backoff(i, 3, "https://a.example/feed");
        assert!(
            three >= Duration::from_secs(3840) && three <= Duration::from_secs(5760),
            "{three:?}"
        );
        assert!(backoff(i, 30, "https://a.example/feed") <= Duration::from_secs(86_400 * 6 / 5));
        assert_ne!(
            backoff(i, 2, "https://a.example/feed"),
            backoff(i, 2, "https://b.example/feed")
        );
    }
}

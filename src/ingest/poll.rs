//! Polling: one ingest cycle fetches the due feeds concurrently, parses each as it arrives,
//! and hands the new articles to a [`Sink`] (the write path) in bounded batches; the loop
//! repeats cycles on schedule until shutdown.
//!
//! Each feed has its own state in the store: validators for conditional GET, health, and the
//! time of its next fetch. A failure backs off exponentially (doubling the interval, up to a
//! day, with ±20 % jitter so failing feeds do not retry in step); after
//! `disable_after_failures` failures in a row the feed is disabled with its last error as the
//! reason, until `storybot feeds --enable URL`. One feed's failure never stops the others, and
//! a slow feed costs at most the request timeout.
//!
//! Bounded by design: at most `concurrency` bodies are held at once, each dropped as soon as it
//! is parsed (on the blocking pool: parsing is CPU work, and the bot keeps answering meanwhile);
//! articles go to the sink [`WRITE_BATCH`] at a time. A store error ends the cycle, not the loop:
//! [`run`] logs it, backs off and tries again.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use super::feeds::{self, FeedError, FetchLimits, Fetched, Fetcher};
use super::normalise::{normalise, IncomingArticle};
use crate::config::{FeedSettings, Settings};
use crate::outlets::OutletDirectory;
use crate::secrets::redact_url;
use crate::store::{FeedState, Store, StoreError};
use crate::workers::{Backoff, Stop};

/// Articles handed to the sink at a time.
pub(crate) const WRITE_BATCH: usize = 2_000;

/// Where a cycle's articles go: the write path, as the caller defines it.
pub trait Sink: Sync {
    /// What a write reports, summed over a cycle.
    type Report: Default + std::ops::AddAssign + Send;

    fn write(
        &self,
        batch: Vec<IncomingArticle>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Self::Report, StoreError>> + Send;
}

/// What one cycle did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CycleReport<R> {
    pub feeds_fetched: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub items: usize,
    /// Items older than `ingest.max_age_hours`.
    pub too_old: usize,
    /// Items that failed validation (no URL, bad URL, ...).
    pub invalid: usize,
    /// What the sink reported.
    pub written: R,
    /// Whether any article was handed to the sink.
    pub wrote: bool,
}

/// Fetches and parses the configured feeds; cheap to clone.
#[derive(Debug, Clone)]
pub struct Poller {
    settings: Arc<Settings>,
    outlets: Arc<OutletDirectory>,
    store: Store,
    fetcher: Fetcher,
}

/// One feed's fetch, parsed and normalised.
struct Polled {
    feed: FeedSettings,
    state: FeedState,
    outcome: Result<Option<Parsed>, FeedError>,
}

struct Parsed {
    articles: Vec<IncomingArticle>,
    items: usize,
    too_old: usize,
    invalid: usize,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl Poller {
    /// A poller with the fetcher configured from `[ingest]`.
    pub fn new(
        settings: Arc<Settings>,
        outlets: Arc<OutletDirectory>,
        store: Store,
    ) -> Result<Poller, FeedError> {
        let i = &settings.ingest;
        let fetcher = Fetcher::new(FetchLimits {
            connect_timeout: i.connect_timeout,
            timeout: i.timeout,
            max_body_bytes: i.max_body_bytes,
        })?;
        for f in &settings.feeds {
            crate::secrets::register_url(&f.url);
        }
        Ok(Poller {
            settings,
            outlets,
            store,
            fetcher,
        })
    }

    /// Runs one cycle over the feeds that are due at `now` (all enabled feeds with `all`).
    pub async fn cycle<S: Sink>(
        &self,
        sink: &S,
        now: DateTime<Utc>,
        all: bool,
    ) -> Result<CycleReport<S::Report>, StoreError> {
        let mut report = CycleReport::default();
        let mut due = Vec::new();
        for feed in &self.settings.feeds {
            let state = self.store.feed_state(&feed.url).await?;
            let is_due = state.next_fetch.is_none_or(|t| t <= now);
            if state.disabled_reason.is_none() && (all || is_due) {
                due.push((feed.clone(), state));
            }
        }
        let mut pending = due.into_iter();
        let mut running: JoinSet<Polled> = JoinSet::new();
        let mut articles: Vec<IncomingArticle> = Vec::new();
        let mut states = Vec::new();
        loop {
            while running.len() < self.settings.ingest.concurrency {
                let Some((feed, state)) = pending.next() else {
                    break;
                };
                running.spawn(self.clone().poll_one(feed, state, now));
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let polled = crate::workers::joined(done);
            states.push(self.account(polled, now, &mut report, &mut articles));
            while articles.len() >= WRITE_BATCH {
                let rest = articles.split_off(WRITE_BATCH);
                let batch = std::mem::replace(&mut articles, rest);
                report.written += sink.write(batch, now).await?;
                report.wrote = true;
            }
        }
        if !articles.is_empty() {
            report.written += sink.write(articles, now).await?;
            report.wrote = true;
        }
        // Feed state is saved after the articles are stored: a crash in between refetches
        // them, and the canonical URLs make that harmless.
        for state in &states {
            self.store.save_feed_state(state).await?;
        }
        Ok(report)
    }

    /// Fetches, parses and normalises one feed; the body is dropped when this returns.
    async fn poll_one(self, feed: FeedSettings, state: FeedState, now: DateTime<Utc>) -> Polled {
        let fetched = self
            .fetcher
            .fetch(
                &feed.url,
                state.etag.as_deref(),
                state.last_modified.as_deref(),
            )
            .await;
        let outcome = match fetched {
            Err(e) => Err(e),
            Ok(Fetched::NotModified) => Ok(None),
            Ok(Fetched::Body {
                bytes,
                etag,
                last_modified,
            }) => {
                let (url, outlet) = (feed.url.clone(), feed.outlet.clone());
                let directory = self.outlets.clone();
                let max_age = self.settings.ingest.max_age;
                crate::workers::joined(
                    tokio::task::spawn_blocking(move || {
                        let items = feeds::parse(&bytes, &url, outlet.as_deref())?;
                        drop(bytes);
                        Ok(Some(prepare(
                            items,
                            &directory,
                            max_age,
                            now,
                            etag,
                            last_modified,
                        )))
                    })
                    .await,
                )
            }
        };
        Polled {
            feed,
            state,
            outcome,
        }
    }

    /// Counts a feed's outcome, updates its state, and takes its articles.
    fn account<R>(
        &self,
        polled: Polled,
        now: DateTime<Utc>,
        report: &mut CycleReport<R>,
        articles: &mut Vec<IncomingArticle>,
    ) -> FeedState {
        let Polled {
            feed,
            mut state,
            outcome,
        } = polled;
        match outcome {
            Ok(None) => {
                report.feeds_fetched += 1;
                report.not_modified += 1;
                succeed(&mut state, now, feed.refresh);
            }
            Ok(Some(parsed)) => {
                report.feeds_fetched += 1;
                report.items += parsed.items;
                report.too_old += parsed.too_old;
                report.invalid += parsed.invalid;
                state.items = parsed.items as i64;
                state.etag = parsed.etag;
                state.last_modified = parsed.last_modified;
                succeed(&mut state, now, feed.refresh);
                articles.extend(parsed.articles);
            }
            Err(e) => {
                report.failed += 1;
                let disable_after = self.settings.ingest.disable_after_failures;
                fail(&mut state, &e, now, feed.refresh, disable_after);
                tracing::warn!(
                    feed = %redact_url(&feed.url),
                    error = %e,
                    failures = state.failures,
                    "feed failed"
                );
            }
        }
        state
    }

    /// Time until the next feed is due (between 5 s and 5 min).
    pub async fn next_wake(&self, now: DateTime<Utc>) -> Result<Duration, StoreError> {
        let mut soonest = Duration::from_secs(300);
        for feed in &self.settings.feeds {
            let state = self.store.feed_state(&feed.url).await?;
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
}

/// Normalises a feed's items, skipping (and counting) old and invalid ones.
fn prepare(
    items: Vec<super::RawArticle>,
    outlets: &OutletDirectory,
    max_age: Option<chrono::Duration>,
    now: DateTime<Utc>,
    etag: Option<String>,
    last_modified: Option<String>,
) -> Parsed {
    let mut parsed = Parsed {
        articles: Vec::with_capacity(items.len()),
        items: items.len(),
        too_old: 0,
        invalid: 0,
        etag,
        last_modified,
    };
    for raw in items {
        let old = match (max_age, raw.published) {
            (Some(max), Some(p)) => now.signed_duration_since(p) > max,
            _ => false,
        };
        if old {
            parsed.too_old += 1;
            continue;
        }
        match normalise(raw, outlets, now) {
            Ok(a) => parsed.articles.push(a),
            Err(_) => parsed.invalid += 1,
        }
    }
    parsed
}

fn succeed(state: &mut FeedState, now: DateTime<Utc>, interval: Duration) {
    state.last_success = Some(now);
    state.failures = 0;
    state.next_fetch = Some(now + to_chrono(interval));
}

/// Records a failure: exponential backoff with jitter, and disabling after too many.
fn fail(
    state: &mut FeedState,
    e: &FeedError,
    now: DateTime<Utc>,
    interval: Duration,
    disable_after: u32,
) {
    state.failures = state.failures.saturating_add(1);
    state.last_error = Some(e.to_string());
    state.last_error_at = Some(now);
    let failures = u32::try_from(state.failures).unwrap_or(u32::MAX);
    state.next_fetch = Some(now + to_chrono(backoff(interval, failures, &state.url)));
    if state.failures >= i64::from(disable_after) {
        state.disabled_reason = Some(format!("{} failures in a row; last: {e}", state.failures));
    }
}

/// A std duration of at most a few days as a chrono one.
fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))
}

/// `interval × 2^failures`, at most a day, times a jitter in [0.8, 1.2] derived from the URL
/// and the failure count (stable, so tests and restarts agree).
pub fn backoff(interval: Duration, failures: u32, url: &str) -> Duration {
    let base = crate::workers::exponential(interval, failures, Duration::from_secs(86_400));
    let mut key = url.as_bytes().to_vec();
    key.extend_from_slice(&failures.to_le_bytes());
    let h = crate::fnv::hash(&key);
    let jitter = 0.8 + 0.4 * ((h % 10_000) as f64 / 10_000.0);
    base.mul_f64(jitter)
}

/// Runs cycles until `stop` fires. A cycle under way finishes first (its fetches are bounded
/// by the request timeout; its writes are transactions), so nothing is left half-written.
/// A failed cycle (a store error) is logged and retried after a backoff: the loop never ends
/// on its own. `after_cycle` hears of every cycle that wrote articles.
pub async fn run<S: Sink>(
    poller: &Poller,
    sink: &S,
    mut stop: Stop,
    after_cycle: impl Fn(&CycleReport<S::Report>),
) where
    S::Report: std::fmt::Debug,
{
    let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(300));
    loop {
        let wait = match poller.cycle(sink, Utc::now(), false).await {
            Ok(report) => {
                backoff.reset();
                if report.feeds_fetched + report.failed > 0 {
                    tracing::info!(
                        fetched = report.feeds_fetched,
                        not_modified = report.not_modified,
                        failed = report.failed,
                        written = ?report.written,
                        "ingest cycle"
                    );
                }
                if report.wrote {
                    after_cycle(&report);
                }
                match poller.next_wake(Utc::now()).await {
                    Ok(wait) => wait,
                    Err(e) => {
                        tracing::error!(error = %crate::error::Chain(&e), "cannot read the feed schedule; trying again soon");
                        backoff.fail()
                    }
                }
            }
            Err(e) => {
                let wait = backoff.fail();
                tracing::error!(
                    error = %crate::error::Chain(&e),
                    retry_in_s = wait.as_secs(),
                    "ingest cycle failed; feeds will be fetched again"
                );
                wait
            }
        };
        if stop.requested() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.wait() => return,
        }
    }
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
        assert!(
            backoff(Duration::from_secs(604_800), u32::MAX, "x")
                <= Duration::from_secs(86_400 * 6 / 5)
        );
        assert_ne!(
            backoff(i, 2, "https://a.example/feed"),
            backoff(i, 2, "https://b.example/feed")
        );
    }
}

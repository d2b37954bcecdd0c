//! The queue beside ingest that reads articles' own pages.
//!
//! Ingest never waits for it: a feed's article is stored and clustered at once with the
//! feed's text, and when that text is short (`[articles] min_feed_chars`) its page is queued
//! in the same transaction. This worker takes the due pages from the store, a few per host at
//! a time and `concurrent_hosts` hosts at once, has the [`PageFetcher`] read each (robots.txt,
//! one request at a time per host, public addresses only), extracts the main text, and stores
//! the outcome: the text, a wall (the feed text stays), or a failure, retried with a doubling
//! pause up to `max_attempts` when it may pass (a timeout, a 5xx), never when it will not (a
//! refusal, robots.txt, a 404). Beside the reading, every story that gained a text is
//! summarised again, every few seconds.
//!
//! Everything lives in the store, so a restart resumes the queue where it was: a page being
//! read when the process stopped is still queued, and a text stored but not yet summarised is
//! still marked as awaiting its story's summary.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::app::App;
use crate::config::ArticleSettings;
use crate::ingest::extract::{self, Extracted, Wall};
use crate::ingest::page::{Fetched, PageError, PageFetcher, PageSettings};
use crate::store::{DuePage, PageOutcome, PageText, StoreError};
use crate::workers::{Backoff, Stop, Workers};

/// Pause between looks at the store when nothing is due.
const IDLE: Duration = Duration::from_secs(5);
/// Pages of one host taken per round, so no host holds a round for long.
const PER_HOST: i64 = 10;
/// Pages taken per round in all.
const ROUND: i64 = 500;
/// How often the stories that gained a text are summarised again.
const SUMMARISE_EVERY: Duration = Duration::from_secs(2);
/// Stories summarised again per transaction.
const SUMMARISE_AT_ONCE: i64 = 200;
/// Main text shorter than this is not taken for the article (a page of links, a gallery).
const MIN_TEXT_CHARS: usize = 200;

/// Why the queue could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot set up the article page reader")]
    Setup(#[source] PageError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one round did, for the log and the benchmark.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoundReport {
    pub read: usize,
    pub walls: usize,
    pub unchanged: usize,
    /// Failed pages by reason (a page to be retried counts too).
    pub failed: BTreeMap<&'static str, usize>,
    pub stories_summarised: usize,
}

impl RoundReport {
    fn add(&mut self, outcome: &PageOutcome) {
        match outcome {
            PageOutcome::Read(_) => self.read += 1,
            PageOutcome::Wall(_) => self.walls += 1,
            PageOutcome::Unchanged => self.unchanged += 1,
            PageOutcome::Failed { reason, .. } => *self.failed.entry(reason).or_default() += 1,
        }
    }

    /// Pages attempted.
    pub fn pages(&self) -> usize {
        self.read + self.walls + self.unchanged + self.failed.values().sum::<usize>()
    }
}

/// The page reader: the fetcher and the rules of `[articles]`; cheap to clone.
#[derive(Clone)]
pub struct PageQueue {
    app: App,
    fetcher: PageFetcher,
    settings: Arc<ArticleSettings>,
}

impl PageQueue {
    pub fn new(app: &App) -> Result<PageQueue, QueueError> {
        let settings = app.settings.articles.clone();
        let fetcher = PageFetcher::new(PageSettings::of(&settings)).map_err(QueueError::Setup)?;
        Ok(PageQueue {
            app: app.clone(),
            fetcher,
            settings: Arc::new(settings),
        })
    }

    /// One round: the due pages read, host by host. Returns when the round is done, or at
    /// once when `stop` fires (what was not read stays queued).
    pub async fn round(&self, stop: &Stop) -> Result<RoundReport, StoreError> {
        let now = Utc::now();
        let due = self.app.store.due_pages(now, PER_HOST, ROUND).await?;
        let mut by_host: BTreeMap<String, Vec<DuePage>> = BTreeMap::new();
        for page in due {
            by_host.entry(page.host.clone()).or_default().push(page);
        }
        let mut report = RoundReport::default();
        let mut lanes = JoinSet::new();
        let mut hosts = by_host.into_values();
        loop {
            while lanes.len() < self.settings.concurrent_hosts {
                let Some(pages) = hosts.next() else { break };
                let (queue, stop) = (self.clone(), stop.clone());
                lanes.spawn(async move { queue.lane(pages, stop).await });
            }
            let Some(done) = lanes.join_next().await else {
                break;
            };
            match done {
                Ok(Ok(outcomes)) => outcomes.iter().for_each(|o| report.add(o)),
                Ok(Err(e)) => return Err(e),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {}
            }
        }
        Ok(report)
    }

    /// Reads one host's pages in order, storing each outcome as it comes.
    async fn lane(
        &self,
        pages: Vec<DuePage>,
        mut stop: Stop,
    ) -> Result<Vec<PageOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(pages.len());
        for page in pages {
            if stop.requested() {
                break;
            }
            let outcome = tokio::select! {
                o = self.read(&page) => o,
                () = stop.wait() => break,
            };
            tracing::debug!(url = %page.url, outcome = ?Brief(&outcome), "article page");
            self.app
                .store
                .record_page(page.article, &outcome, Utc::now())
                .await?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// One page's outcome.
    async fn read(&self, page: &DuePage) -> PageOutcome {
        if self.settings.excludes(&page.host) {
            return PageOutcome::Failed {
                reason: "excluded",
                retry_at: None,
            };
        }
        let fetched = self
            .fetcher
            .fetch(
                &page.url,
                page.etag.as_deref(),
                page.last_modified.as_deref(),
            )
            .await;
        let fetched = match fetched {
            Ok(Fetched::NotModified) => return PageOutcome::Unchanged,
            Ok(Fetched::Page(p)) => p,
            Err(e) => return self.failed(page, &e, Utc::now()),
        };
        let (url, etag, last_modified) = (fetched.url, fetched.etag, fetched.last_modified);
        let html = fetched.html;
        let base = url.clone();
        let extracted = crate::workers::joined(
            tokio::task::spawn_blocking(move || extract::extract(&html, Some(&base))).await,
        );
        outcome_of(extracted, etag, last_modified)
    }

    /// A failure: retried later when it may pass and attempts are left, else final.
    fn failed(&self, page: &DuePage, e: &PageError, now: DateTime<Utc>) -> PageOutcome {
        let attempts = u32::try_from(page.attempts)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let retry_at = (e.may_pass() && attempts < self.settings.max_attempts).then(|| {
            let pause = crate::workers::exponential(
                self.settings.retry_after,
                attempts - 1,
                Duration::from_secs(7 * 86_400),
            );
            now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::days(7))
        });
        PageOutcome::Failed {
            reason: e.reason(),
            retry_at,
        }
    }

    /// Summarises again the stories whose articles gained a text, and marks those texts as
    /// used; returns how many stories.
    pub async fn summarise(&self) -> Result<usize, StoreError> {
        let mut stories = 0;
        loop {
            let awaiting = self
                .app
                .store
                .texts_awaiting_summary(SUMMARISE_AT_ONCE)
                .await?;
            if awaiting.is_empty() {
                return Ok(stories);
            }
            let mut keys: Vec<_> = awaiting.iter().map(|&(_, s)| s).collect();
            keys.sort();
            keys.dedup();
            self.app.resummarise(&keys).await?;
            let articles: Vec<i64> = awaiting.iter().map(|&(a, _)| a).collect();
            self.app.store.texts_summarised(&articles).await?;
            stories += keys.len();
        }
    }
}

/// What an extracted page gives: its text, a wall, or nothing worth keeping.
fn outcome_of(e: Extracted, etag: Option<String>, last_modified: Option<String>) -> PageOutcome {
    if let Some(wall) = e.wall {
        return PageOutcome::Wall(match wall {
            Wall::Paywall => "paywall",
            Wall::Consent => "consent",
        });
    }
    if e.text.chars().count() < MIN_TEXT_CHARS {
        return PageOutcome::Failed {
            reason: "no_text",
            retry_at: None,
        };
    }
    PageOutcome::Read(PageText {
        text: e.text,
        canonical_url: e.canonical_url,
        image: e.image,
        author: e.author,
        language: e.language,
        published: e.published,
        etag,
        last_modified,
    })
}

/// An outcome as a log line shows it (never the text).
struct Brief<'a>(&'a PageOutcome);

impl std::fmt::Debug for Brief<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            PageOutcome::Read(p) => write!(f, "read {} chars", p.text.chars().count()),
            PageOutcome::Wall(kind) => write!(f, "{kind}"),
            PageOutcome::Unchanged => write!(f, "unchanged"),
            PageOutcome::Failed { reason, retry_at } => match retry_at {
                Some(t) => write!(f, "{reason}, retried at {t}"),
                None => write!(f, "{reason}"),
            },
        }
    }
}

/// Reads every page due now, round after round, until a round finds none, then summarises
/// the stories that gained a text (`storybot ingest --once`); what it did, in all.
pub async fn drain(app: &App) -> Result<RoundReport, QueueError> {
    let queue = PageQueue::new(app)?;
    let mut total = RoundReport::default();
    loop {
        let r = queue.round(&Stop::never()).await?;
        if r.pages() == 0 {
            total.stories_summarised = queue.summarise().await?;
            return Ok(total);
        }
        total.read += r.read;
        total.walls += r.walls;
        total.unchanged += r.unchanged;
        for (reason, n) in r.failed {
            *total.failed.entry(reason).or_default() += n;
        }
    }
}

/// Starts the reader under `workers` when `[articles]` is on.
pub fn spawn(workers: &mut Workers, app: &App) -> Result<(), QueueError> {
    if !app.settings.articles.enabled {
        tracing::info!("article pages are not read ([articles] enabled = false)");
        return Ok(());
    }
    let queue = PageQueue::new(app)?;
    let reader = queue.clone();
    workers.spawn("article pages", move |stop| read(reader.clone(), stop));
    workers.spawn("article summaries", move |stop| {
        summarise(queue.clone(), stop)
    });
    Ok(())
}

/// Summarises the stories that gained a text every [`SUMMARISE_EVERY`], beside the reading
/// (so no host waits for it), until `stop` fires.
async fn summarise(queue: PageQueue, mut stop: Stop) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    while !stop.requested() {
        let pause = match queue.summarise().await {
            Ok(n) => {
                backoff.reset();
                if n > 0 {
                    tracing::info!(stories = n, "stories summarised again from their pages");
                }
                SUMMARISE_EVERY
            }
            Err(e) => {
                let pause = backoff.fail();
                tracing::warn!(error = %crate::error::Chain(&e), retry_in = ?pause, "cannot summarise stories from their pages");
                pause
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.wait() => break,
        }
    }
}

/// Rounds until `stop` fires: at once while pages are due, else every few seconds.
async fn read(queue: PageQueue, mut stop: Stop) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    while !stop.requested() {
        let pause = match queue.round(&stop).await {
            Ok(r) => {
                backoff.reset();
                if r.pages() > 0 {
                    tracing::info!(
                        read = r.read,
                        walls = r.walls,
                        unchanged = r.unchanged,
                        failed = ?r.failed,
                        "article pages read"
                    );
                    Duration::ZERO
                } else {
                    IDLE
                }
            }
            Err(e) => {
                let pause = backoff.fail();
                tracing::warn!(error = %crate::error::Chain(&e), retry_in = ?pause, "article page queue failed");
                pause
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.wait() => break,
        }
    }
}

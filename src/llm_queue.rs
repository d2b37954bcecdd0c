//! The queue beside ingest that has the configured language model write stories' key points.
//!
//! Ingest never waits for it: ingest stores stories with their extractive points, and this
//! worker, on its own, asks the store which stories are due (enough sources; never asked, or
//! grown by `resummarise_growth_percent`, or asked with another model or prompt version),
//! asks the model for up to `max_concurrent` of them at a time within
//! `max_requests_per_hour`, and stores what passes the grounding check. Until then, and
//! whenever the model fails, digests show the extractive points.
//!
//! Failures are of two kinds. An answer that is not usable (not JSON, outside the schema,
//! fewer than three grounded points, a request the server rejects) is recorded against the
//! story, which is not asked for again until it grows. A server that is down, slow or
//! rate-limiting is nobody's story's fault: the queue backs off (as long as `Retry-After`
//! says, when it says) and tries again; a story that meets it [`MAX_TRANSIENT`] times in a
//! row is recorded as failed so it cannot hold the queue.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::app::App;
use crate::config::LlmSettings;
use crate::llm::{self, Client, LlmError, Written, WrittenError};
use crate::model::{Article, StoryId, StoryKey};
use crate::store::{Attempt, DroppedPoint, Due, StoreError, StoryRow};
use crate::summarise::grounding::Grounding;
use crate::workers::{Backoff, Stop, Workers};

/// Pause between looks at the store when nothing is due.
const IDLE: Duration = Duration::from_secs(10);
/// Times in a row a story may meet a server failure before it counts as the story's own.
const MAX_TRANSIENT: u32 = 3;
/// Longest pause a `Retry-After` may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Articles (one per outlet) given to the model.
const ARTICLES: usize = 20;

/// What happened to one story.
#[derive(Debug)]
pub enum StoryOutcome {
    /// Stored: the points kept, and the points dropped with why.
    Written {
        kept: usize,
        dropped: Vec<(String, String)>,
    },
    /// The answer was unusable; recorded, so the story waits until it grows.
    Rejected(String),
    /// The server failed; nothing recorded, the queue backs off.
    Unavailable(LlmError),
}

impl StoryOutcome {
    fn of(answer: &Result<Written, WrittenError>) -> StoryOutcome {
        match answer {
            Ok(w) => StoryOutcome::Written {
                kept: w.points.len(),
                dropped: w
                    .dropped
                    .iter()
                    .map(|(p, why)| (p.clone(), why.to_string()))
                    .collect(),
            },
            // A request the server refuses outright (other than for load) is this story's.
            Err(WrittenError::Call(e @ LlmError::Status { status, .. })) if *status < 500 => {
                StoryOutcome::Rejected(e.to_string())
            }
            Err(WrittenError::Call(e)) => StoryOutcome::Unavailable(e.clone()),
            Err(e) => StoryOutcome::Rejected(e.to_string()),
        }
    }
}

/// One story's result, for `storybot summarise` and the log.
#[derive(Debug)]
pub struct StoryResult {
    pub id: StoryId,
    pub title: String,
    pub outcome: StoryOutcome,
}

/// One story asked for: the articles given to the model and its checked answer.
pub struct Asked {
    pub articles: Vec<Article>,
    pub answer: Result<Written, WrittenError>,
}

/// The configured model and the grounding check its answers go through, with the words the
/// check knows learnt from the store's latest articles.
#[derive(Clone)]
pub struct Model {
    client: Client,
    grounding: Arc<Grounding>,
    learnt: Instant,
}

/// Articles the grounding check learns its words from, the latest first.
const LEARN_FROM: i64 = 10_000;
/// How often the grounding check learns its words again.
const RELEARN: Duration = Duration::from_secs(3600);

impl Model {
    /// The model of `settings`, its check learnt from `app`'s store.
    pub async fn new(app: &App, settings: &LlmSettings) -> Result<Model, QueueError> {
        let client = Client::new(settings)?;
        Ok(Model {
            client,
            grounding: Arc::new(learn(app).await?),
            learnt: Instant::now(),
        })
    }

    /// Learns the check's words again when they are older than [`RELEARN`].
    async fn refresh(&mut self, app: &App) -> Result<(), StoreError> {
        if self.learnt.elapsed() >= RELEARN {
            self.grounding = Arc::new(learn(app).await?);
            self.learnt = Instant::now();
        }
        Ok(())
    }
}

/// The grounding check with the words of the store's latest articles (off the async workers:
/// it reads a few megabytes of text).
async fn learn(app: &App) -> Result<Grounding, StoreError> {
    let texts = app.store.latest_texts(LEARN_FROM).await?;
    Ok(crate::workers::joined(
        tokio::task::spawn_blocking(move || Grounding::learn(texts.iter().map(String::as_str)))
            .await,
    ))
}

/// What makes a story due for `settings`' model, up to `limit` stories.
fn due_rule(settings: &LlmSettings, limit: i64) -> Due<'_> {
    Due {
        min_sources: settings.min_sources,
        growth_percent: settings.resummarise_growth_percent,
        model: &settings.model,
        prompt_version: i64::from(llm::prompt::PROMPT_VERSION),
        limit,
    }
}

/// Up to `limit` stories due now for `settings`' model, the newest first: what the queue
/// would ask for, without a client (no key needed) or a request.
pub async fn due_stories(
    app: &App,
    settings: &LlmSettings,
    limit: i64,
) -> Result<Vec<StoryRow>, StoreError> {
    app.store.due_for_writing(&due_rule(settings, limit)).await
}

/// Asks the model for one story; unless `dry_run`, stores what passes, or records an unusable
/// answer as a failed attempt. A server failure is recorded by nobody here.
pub async fn ask(
    app: &App,
    model: &Model,
    row: &StoryRow,
    dry_run: bool,
) -> Result<Asked, StoreError> {
    let story = app.store.with_coverage(row.clone()).await?;
    let articles = app.lead_articles(&story, ARTICLES).await?;
    let client = &model.client;
    let answer = llm::write(client, &model.grounding, &articles, &app.outlets).await;
    if !dry_run {
        match (&answer, StoryOutcome::of(&answer)) {
            (Ok(written), _) => {
                let summary =
                    written.summary(&articles, client.model(), row.article_count, Utc::now());
                app.store
                    .save_written(row.key, &summary, &dropped_points(&answer))
                    .await?;
            }
            (_, StoryOutcome::Rejected(why)) => {
                record_failure(app, client.model(), row, &why, &dropped_points(&answer)).await?;
            }
            _ => {}
        }
    }
    Ok(Asked { articles, answer })
}

/// The points an answer's check dropped, with why, as stored for operators.
fn dropped_points(answer: &Result<Written, WrittenError>) -> Vec<DroppedPoint> {
    let dropped = match answer {
        Ok(w) => &w.dropped,
        Err(WrittenError::TooFewGrounded { dropped, .. }) => dropped,
        Err(WrittenError::UngroundedTitle { title, why }) => {
            return vec![DroppedPoint {
                text: format!("Title: {title}"),
                reason: why.to_string(),
            }]
        }
        Err(_) => return Vec::new(),
    };
    dropped
        .iter()
        .map(|(text, why)| DroppedPoint {
            text: text.clone(),
            reason: why.to_string(),
        })
        .collect()
}

/// Records a failed attempt at `row` with `model` and today's prompt.
async fn record_failure(
    app: &App,
    model: &str,
    row: &StoryRow,
    error: &str,
    dropped: &[DroppedPoint],
) -> Result<(), StoreError> {
    app.store
        .record_failed_attempt(&Attempt {
            story: row.key,
            article_count: row.article_count,
            model,
            prompt_version: i64::from(llm::prompt::PROMPT_VERSION),
            at: Utc::now(),
            error,
            dropped,
        })
        .await
}

/// What a round did.
#[derive(Debug, Default)]
pub struct Round {
    pub results: Vec<StoryResult>,
    /// Due stories left waiting because the hourly cap was reached.
    pub capped: bool,
}

/// A story's task, finished: the story and what happened (or the store failed).
type Finished = (StoryRow, Result<StoryOutcome, StoreError>);

/// The queue: the client, the hourly cap and the stories that met server failures.
pub struct Queue {
    app: App,
    model: Model,
    settings: LlmSettings,
    cap: HourlyCap,
    transient: HashMap<StoryKey, u32>,
}

impl Queue {
    /// A queue on `app`'s store for the configured model. The hourly cap starts from the
    /// attempts the store recorded in the past hour, so a restart does not reset it.
    pub async fn new(app: App, settings: LlmSettings) -> Result<Queue, QueueError> {
        let model = Model::new(&app, &settings).await?;
        let since = Utc::now() - chrono::Duration::hours(1);
        let recent = app.store.attempts_since(since).await?;
        let mut cap = HourlyCap::new(settings.max_requests_per_hour);
        let now = Instant::now();
        for t in recent {
            let age = (Utc::now() - t).to_std().unwrap_or_default();
            cap.sent.push_back(now.checked_sub(age).unwrap_or(now));
        }
        Ok(Queue {
            app,
            model,
            settings,
            cap,
            transient: HashMap::new(),
        })
    }

    /// Asks for up to `max_concurrent` due stories at once, within the hourly cap.
    pub async fn round(&mut self) -> Result<Round, StoreError> {
        let due = self.app.store.due_for_writing(&self.due()).await?;
        if !due.is_empty() {
            self.model.refresh(&self.app).await?;
        }
        self.write(due).await
    }

    /// Up to `limit` stories due now, without asking for them.
    pub async fn due_now(&self, limit: i64) -> Result<Vec<StoryRow>, StoreError> {
        due_stories(&self.app, &self.settings, limit).await
    }

    /// Asks for `rows` (at most `max_concurrent` of them at once), within the hourly cap.
    pub async fn write(&mut self, rows: Vec<StoryRow>) -> Result<Round, StoreError> {
        let mut round = Round::default();
        let mut tasks = tokio::task::JoinSet::new();
        for row in rows {
            if !self.cap.take(Instant::now()) {
                round.capped = true;
                break;
            }
            let (app, model) = (self.app.clone(), self.model.clone());
            tasks.spawn(async move {
                let outcome = ask(&app, &model, &row, false)
                    .await
                    .map(|asked| StoryOutcome::of(&asked.answer));
                (row, outcome)
            });
            while tasks.len() >= self.settings.max_concurrent {
                self.finish(tasks.join_next().await, &mut round).await?;
            }
        }
        while !tasks.is_empty() {
            self.finish(tasks.join_next().await, &mut round).await?;
        }
        Ok(round)
    }

    /// When the cap lets the next request go.
    pub fn cap_frees_in(&mut self) -> Duration {
        self.cap.frees_in(Instant::now())
    }

    fn due(&self) -> Due<'_> {
        due_rule(&self.settings, self.settings.max_concurrent as i64)
    }

    /// Takes a finished story: a server failure met [`MAX_TRANSIENT`] times in a row is
    /// recorded against the story.
    async fn finish(
        &mut self,
        joined: Option<Result<Finished, tokio::task::JoinError>>,
        round: &mut Round,
    ) -> Result<(), StoreError> {
        let Some(joined) = joined else { return Ok(()) };
        let (row, outcome) = crate::workers::joined(joined);
        let outcome = outcome?;
        if let StoryOutcome::Unavailable(e) = &outcome {
            let n = self.transient.entry(row.key).or_default();
            *n += 1;
            if *n >= MAX_TRANSIENT {
                self.transient.remove(&row.key);
                let why = format!("{MAX_TRANSIENT} server failures in a row, the last: {e}");
                record_failure(&self.app, &self.settings.model, &row, &why, &[]).await?;
            }
        } else {
            self.transient.remove(&row.key);
        }
        log(&row, &outcome);
        round.results.push(StoryResult {
            id: row.id,
            title: row.title,
            outcome,
        });
        Ok(())
    }
}

fn log(row: &StoryRow, outcome: &StoryOutcome) {
    match outcome {
        StoryOutcome::Written { kept, dropped } => tracing::info!(
            story = %row.id,
            kept,
            dropped = dropped.len(),
            "written key points stored"
        ),
        StoryOutcome::Rejected(why) => tracing::warn!(
            story = %row.id,
            reason = %why,
            "the model's answer was not usable; the story keeps its extractive points until it grows"
        ),
        StoryOutcome::Unavailable(e) => tracing::warn!(
            story = %row.id,
            error = %e,
            "the model server failed; extractive points stay"
        ),
    }
}

/// Why the queue could not start.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks that the queue can start when `[llm]` is configured (a missing API key fails here).
pub fn check(app: &App) -> Result<(), LlmError> {
    match &app.settings.llm {
        Some(settings) => Client::new(settings).map(|_| ()),
        None => Ok(()),
    }
}

/// Starts the queue as a worker of `workers` when `[llm]` is configured. A missing API key
/// fails here, at start, not in the worker.
pub fn spawn(workers: &mut Workers, app: &App) -> Result<(), LlmError> {
    check(app)?;
    let Some(settings) = app.settings.llm.clone() else {
        return Ok(());
    };
    let app = app.clone();
    workers.spawn("written key points", move |stop| {
        let (app, settings) = (app.clone(), settings.clone());
        async move {
            let mut queue = loop {
                match Queue::new(app.clone(), settings.clone()).await {
                    Ok(queue) => break queue,
                    Err(e) => {
                        tracing::warn!(error = %crate::error::chain(&e), "cannot start the key-point queue; retrying in a minute");
                        let mut stop = stop.clone();
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(60)) => {}
                            () = stop.wait() => return,
                        }
                    }
                }
            };
            run(&mut queue, stop).await;
        }
    });
    Ok(())
}

/// The worker: rounds until stopped, pausing when nothing is due, when the cap is reached,
/// and after server failures.
pub async fn run(queue: &mut Queue, mut stop: Stop) {
    let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(600));
    let mut cap_logged = false;
    while !stop.requested() {
        let wait = match queue.round().await {
            Err(e) => {
                let wait = backoff.fail();
                tracing::warn!(error = %crate::error::chain(&e), retry_in_s = wait.as_secs(), "cannot read stories due for key points; retrying");
                wait
            }
            Ok(round) => pause_after(queue, &round, &mut backoff, &mut cap_logged),
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.wait() => return,
        }
    }
}

/// How long to wait after a round.
fn pause_after(
    queue: &mut Queue,
    round: &Round,
    backoff: &mut Backoff,
    cap_logged: &mut bool,
) -> Duration {
    let unavailable = round.results.iter().find_map(|r| match &r.outcome {
        StoryOutcome::Unavailable(e) => Some(e),
        _ => None,
    });
    if let Some(e) = unavailable {
        let wait = match e {
            LlmError::RateLimited {
                retry_after: Some(s),
            } => Duration::from_secs(*s).min(MAX_RETRY_AFTER),
            _ => backoff.fail(),
        };
        tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "the model server is unavailable; key points stay extractive meanwhile");
        return wait;
    }
    backoff.reset();
    if round.capped {
        let wait = queue.cap_frees_in();
        if !*cap_logged {
            tracing::warn!(
                max_requests_per_hour = queue.settings.max_requests_per_hour,
                resume_in_s = wait.as_secs(),
                "llm.max_requests_per_hour reached; written key points wait"
            );
            *cap_logged = true;
        }
        return wait;
    }
    *cap_logged = false;
    if round.results.is_empty() {
        IDLE
    } else {
        Duration::ZERO
    }
}

/// At most `max` requests in any hour.
#[derive(Debug)]
struct HourlyCap {
    max: u32,
    sent: VecDeque<Instant>,
}

const HOUR: Duration = Duration::from_secs(3600);

impl HourlyCap {
    fn new(max: u32) -> HourlyCap {
        HourlyCap {
            max,
            sent: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= HOUR)
        {
            self.sent.pop_front();
        }
    }

    /// Counts a request if the cap allows one now.
    fn take(&mut self, now: Instant) -> bool {
        self.expire(now);
        if self.sent.len() >= self.max as usize {
            return false;
        }
        self.sent.push_back(now);
        true
    }

    /// How long until a request is allowed.
    fn frees_in(&mut self, now: Instant) -> Duration {
        self.expire(now);
        if self.sent.len() < self.max as usize {
            return Duration::ZERO;
        }
        self.sent.front().map_or(Duration::ZERO, |&t| {
            HOUR.saturating_sub(now.duration_since(t))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_allows_max_per_rolling_hour() {
        let start = Instant::now();
        let mut cap = HourlyCap::new(2);
        assert!(cap.take(start));
        assert!(cap.take(start + Duration::from_secs(60)));
        assert!(!cap.take(start + Duration::from_secs(120)));
        assert_eq!(
            cap.frees_in(start + Duration::from_secs(120)),
            Duration::from_secs(3480)
        );
        // An hour after the first, one more.
        assert!(cap.take(start + HOUR));
        assert!(!cap.take(start + HOUR));
    }
}

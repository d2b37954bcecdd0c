//! The shared state every front end uses (the command line, the Discord bot, the web pages):
//! settings, outlet directory and store, plus the operations they share: importing JSONL,
//! seeding the demo data, writing batches through clustering, finding the story a user asks
//! for, and the one view of a story every surface shows ([`App::summary`], [`App::digest`]).

use std::io::BufRead;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::cluster::Clusterer;
use crate::config::{Config, ConfigError, Settings};
use crate::digest::export::{ExportArticle, ExportStory, ExportWriter};
use crate::digest::{lead_outlets, Digest};
use crate::ingest::import::{JsonlReader, LineError};
use crate::ingest::{normalise, IncomingArticle};
use crate::model::{Article, Story, StoryId};
use crate::outlets::{OutletDirectory, OutletTableError};
use crate::pipeline::{self, BatchReport};
use crate::store::{Mode, Scope, SearchTerms, Store, StoreError, StoryRow};
use crate::summarise::Coverage;

/// Longest query accepted, in characters.
pub(crate) const MAX_QUERY_CHARS: usize = 300;
/// Articles per write transaction: a writer holds the lock for a fraction of a second.
pub(crate) const WRITE_BATCH: usize = 2_000;
/// Rejected lines an import report keeps (the rest are counted).
const MAX_REJECTS_KEPT: usize = 100;

/// The application's shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    pub settings: Arc<Settings>,
    pub outlets: Arc<OutletDirectory>,
    pub store: Store,
    /// What this process counts for its operators (`/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The online clusterer, restored from the store when needed; one writer at a time.
    clusterer: Arc<Mutex<Option<Synced>>>,
}

/// A clusterer and the store's write generation it reflects.
#[derive(Debug)]
struct Synced {
    clusterer: Clusterer,
    generation: i64,
}

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Outlets(#[from] OutletTableError),
}

/// A query the lookup refuses, with the reason a user sees.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the query is empty: give a few words from the story's headline, or its id")]
    Empty,
    #[error("the query is too long ({len} characters; at most {MAX_QUERY_CHARS})")]
    TooLong { len: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer to a story query.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Box<Story>),
    /// Nothing matched every word; these titles come closest (possibly none).
    NotFound {
        suggestions: Vec<StoryRow>,
    },
    /// The store holds no story at all.
    EmptyStore,
}

/// A story could not be written into an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export")]
    Io(#[from] std::io::Error),
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub batch: BatchReport,
    /// Non-empty lines read.
    pub lines: usize,
    /// Lines that were not imported: the first [`MAX_REJECTS_KEPT`] with their reason.
    pub rejected: Vec<LineError>,
    /// All rejected lines, counted.
    pub rejected_count: usize,
    /// Why reading stopped early, if it did (the lines before it were imported).
    pub read_error: Option<String>,
}

impl ImportReport {
    fn reject(&mut self, e: LineError) {
        self.rejected_count += 1;
        if self.rejected.len() < MAX_REJECTS_KEPT {
            self.rejected.push(e);
        }
    }
}

impl App {
    /// Validates the configuration, opens the store and outlet directory, and seeds the demo
    /// data into an empty store when the configuration says so.
    pub async fn open(config: Config) -> Result<App, AppError> {
        let settings = Settings::new(&config)?;
        App::with_settings(settings).await
    }

    /// [`App::open`] for a command that only reads: a SQLite file this user cannot write is
    /// opened for reading ([`Store::open_for_reading`]).
    pub async fn open_for_reading(config: Config) -> Result<App, AppError> {
        let settings = Settings::new(&config)?;
        let store = Store::open_for_reading(&settings.store.url).await?;
        App::assemble(settings, store).await
    }

    /// [`App::open`] with settings validated already.
    pub async fn with_settings(settings: Settings) -> Result<App, AppError> {
        let store = Store::open(&settings.store.url).await?;
        App::assemble(settings, store).await
    }

    async fn assemble(settings: Settings, store: Store) -> Result<App, AppError> {
        let outlets = OutletDirectory::load(&settings.outlets)?;
        let app = App {
            settings: Arc::new(settings),
            outlets: Arc::new(outlets),
            store,
            metrics: Arc::default(),
            clusterer: Arc::new(Mutex::new(None)),
        };
        if app.settings.store.seed_demo
            && app.store.writable().is_ok()
            && app.store.story_count().await? == 0
        {
            let report = app
                .import(std::io::Cursor::new(crate::ingest::demo::DEMO_JSONL))
                .await?;
            tracing::info!(
                stories = report.batch.new_stories,
                articles = report.batch.new_articles,
                "seeded the empty store with the bundled demo data"
            );
        }
        Ok(app)
    }

    /// Imports JSONL as it is read: good lines are stored in batches (each one transaction),
    /// bad lines are reported with their line number and reason. Memory stays bounded
    /// whatever the input's size: lines are read on a blocking thread a batch ahead.
    pub async fn import<R>(&self, reader: R) -> Result<ImportReport, StoreError>
    where
        R: BufRead + Send + 'static,
    {
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let reading = tokio::task::spawn_blocking(move || {
            let mut lines = JsonlReader::new(reader);
            loop {
                let chunk = lines.next_chunk(WRITE_BATCH);
                let done = chunk.done;
                if tx.blocking_send(chunk).is_err() || done {
                    return;
                }
            }
        });
        let mut report = ImportReport::default();
        while let Some(chunk) = rx.recv().await {
            let now = Utc::now();
            report.lines += chunk.lines;
            for e in chunk.errors {
                report.reject(e);
            }
            if let Some(e) = chunk.read_error {
                report.read_error = Some(e);
            }
            let mut batch = Vec::with_capacity(chunk.articles.len());
            for (line, raw) in chunk.articles {
                match normalise(raw, &self.outlets, now) {
                    Ok(a) => batch.push(a),
                    Err(e) => report.reject(LineError {
                        line,
                        reason: e.to_string(),
                    }),
                }
            }
            if !batch.is_empty() {
                report.batch += self.ingest(batch, now).await?;
            }
        }
        let _ = reading.await;
        report.rejected.sort_by_key(|e| e.line);
        Ok(report)
    }

    /// Stores normalised articles (clustering the ones without a story key), in transactions
    /// of at most [`WRITE_BATCH`] articles.
    pub async fn ingest(
        &self,
        articles: Vec<IncomingArticle>,
        now: DateTime<Utc>,
    ) -> Result<BatchReport, StoreError> {
        self.ingest_with(articles, now, None).await
    }

    /// Stores what feeds delivered, as [`Self::ingest`] does, and queues the pages of the
    /// articles whose feed text is short to be read (when `[articles]` is on).
    pub async fn ingest_from_feeds(
        &self,
        articles: Vec<IncomingArticle>,
        now: DateTime<Utc>,
    ) -> Result<BatchReport, StoreError> {
        let a = &self.settings.articles;
        let pages = a.enabled.then_some(a.min_feed_chars);
        self.ingest_with(articles, now, pages).await
    }

    async fn ingest_with(
        &self,
        mut articles: Vec<IncomingArticle>,
        now: DateTime<Utc>,
        read_pages_under: Option<usize>,
    ) -> Result<BatchReport, StoreError> {
        let mut report = BatchReport::default();
        // Publication order across the batches, as one transaction would have it.
        articles.sort_by(|a, b| {
            (a.article.published, &a.article.url).cmp(&(b.article.published, &b.article.url))
        });
        let mut rest = articles.into_iter().peekable();
        while rest.peek().is_some() {
            let batch: Vec<IncomingArticle> = rest.by_ref().take(WRITE_BATCH).collect();
            report += self.write_batch(batch, now, read_pages_under).await?;
        }
        Ok(report)
    }

    /// One batch in one transaction, holding the write lock. The clusterer is rebuilt from
    /// the store first when another process (or a failed write) changed the store since it
    /// last wrote, so every writer clusters against the same stories.
    async fn write_batch(
        &self,
        batch: Vec<IncomingArticle>,
        now: DateTime<Utc>,
        read_pages_under: Option<usize>,
    ) -> Result<BatchReport, StoreError> {
        let mut guard = self.clusterer.lock().await;
        let mut tx = self.store.begin_clustering().await?;
        let synced = self.synced(&mut guard, &mut tx).await?;
        let result = async {
            let report =
                pipeline::apply(&mut tx, &mut synced.clusterer, batch, now, read_pages_under)
                    .await?;
            let generation = tx.bump_generation().await?;
            tx.commit().await?;
            Ok::<_, StoreError>((report, generation))
        }
        .await;
        match result {
            Ok((report, generation)) => {
                synced.generation = generation;
                Ok(report)
            }
            Err(e) => {
                // The clusterer ran ahead of a transaction that rolled back: rebuild it.
                *guard = None;
                Err(e)
            }
        }
    }

    /// The clusterer as the store is now: the one kept, or one rebuilt when another process
    /// (or a failed write) changed the store since it last wrote.
    async fn synced<'g>(
        &self,
        guard: &'g mut Option<Synced>,
        tx: &mut crate::store::StoreTx,
    ) -> Result<&'g mut Synced, StoreError> {
        let generation = tx.write_generation().await?;
        if guard.as_ref().is_none_or(|s| s.generation != generation) {
            let clusterer = pipeline::restore_clusterer(tx, self.cluster_params()).await?;
            *guard = Some(Synced {
                clusterer,
                generation,
            });
        }
        Ok(guard.as_mut().expect("restored above"))
    }

    /// Summarises these stories again from their articles (their pages' text where read),
    /// in one transaction under the write lock.
    pub async fn resummarise(&self, stories: &[crate::model::StoryKey]) -> Result<(), StoreError> {
        if stories.is_empty() {
            return Ok(());
        }
        let mut guard = self.clusterer.lock().await;
        let mut tx = self.store.begin_clustering().await?;
        let synced = self.synced(&mut guard, &mut tx).await?;
        for &story in stories {
            pipeline::refresh_story(&mut tx, &synced.clusterer, story).await?;
        }
        tx.commit().await
    }

    /// Counts an ingest cycle's new articles and failed feeds into the metrics.
    pub(crate) fn count_cycle(&self, r: &crate::ingest::poll::CycleReport<BatchReport>) {
        use std::sync::atomic::Ordering::Relaxed;
        let m = &self.metrics;
        m.articles_ingested
            .fetch_add(r.written.new_articles as u64, Relaxed);
        m.feed_failures.fetch_add(r.failed as u64, Relaxed);
    }

    /// The clusterer's parameters: the shipped tuning with the configured window and span.
    pub(crate) fn cluster_params(&self) -> crate::cluster::Params {
        crate::cluster::Params {
            window: self.settings.cluster_window,
            max_span: self.settings.cluster_max_span,
            ..Default::default()
        }
    }

    /// Finds the story a user means: an exact story id, else the best full-text match of all
    /// the query's words (whole words in titles first, then the last word as a prefix, then
    /// key points and headlines too), ranked by relevance and then coverage. Hostile input is
    /// harmless (see [`crate::store::search`]).
    pub async fn find_story(&self, query: &str) -> Result<Lookup, LookupError> {
        let query = clean_query(query)?;
        if let Some(id) = StoryId::parse(&query) {
            if let Some(story) = self.store.story(&id).await? {
                return Ok(Lookup::Found(Box::new(story)));
            }
        }
        let terms = SearchTerms::parse(&query);
        // Cheapest and most precise first: whole words in titles.
        let tiers = [
            (Scope::Titles, Mode::All),
            (Scope::Titles, Mode::AllPrefix),
            (Scope::Everything, Mode::AllPrefix),
        ];
        for (scope, mode) in tiers {
            let hits = self.store.search(&terms, scope, mode, 20).await?;
            if let Some(best) = best_hit(hits) {
                let story = self.store.with_coverage(best).await?;
                return Ok(Lookup::Found(Box::new(story)));
            }
        }
        if self.store.story_count().await? == 0 {
            return Ok(Lookup::EmptyStore);
        }
        Ok(Lookup::NotFound {
            suggestions: self.suggestions(&terms, 5).await?,
        })
    }

    /// Stories whose titles match what a user has typed so far, for autocomplete: every word,
    /// the last as a prefix; else any word; the trending stories when nothing is typed.
    pub(crate) async fn title_matches(
        &self,
        partial: &str,
        limit: usize,
    ) -> Result<Vec<StoryRow>, StoreError> {
        let partial = crate::text::clean(partial, MAX_QUERY_CHARS);
        if partial.is_empty() {
            return self.trending_rows(limit).await;
        }
        let terms = SearchTerms::parse(&partial);
        for mode in [Mode::AllPrefix, Mode::Any] {
            let hits = self
                .store
                .search(&terms, Scope::Titles, mode, limit as i64)
                .await?;
            if !hits.is_empty() {
                return Ok(hits.into_iter().map(|(r, _)| r).collect());
            }
        }
        Ok(Vec::new())
    }

    /// The trending stories (see [`crate::summarise::trending`]), without those covered mostly
    /// by low-factuality outlets when `factuality.top_skips_low` is set.
    pub async fn trending(&self, count: usize) -> Result<Vec<Story>, StoreError> {
        if !self.settings.factuality.top_skips_low {
            let rows = self.trending_rows(count).await?;
            return self.store.with_coverages(rows).await;
        }
        self.trending_where(count, |_, c| !c.factuality.mostly_low)
            .await
    }

    /// Up to `count` trending stories that pass `keep` (given the story and its coverage),
    /// most trending first.
    pub(crate) async fn trending_where(
        &self,
        count: usize,
        keep: impl Fn(&Story, &Coverage) -> bool,
    ) -> Result<Vec<Story>, StoreError> {
        let rows = self.trending_rows(500).await?;
        let mut found = Vec::new();
        for chunk in rows.chunks(50) {
            for story in self.store.with_coverages(chunk.to_vec()).await? {
                if keep(&story, &self.coverage(&story)) {
                    found.push(story);
                    if found.len() == count {
                        return Ok(found);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Stories ranked by trending score among the most covered ones updated within
    /// `digest.top_window_hours` of the newest story.
    async fn trending_rows(&self, limit: usize) -> Result<Vec<StoryRow>, StoreError> {
        use crate::summarise::trending;
        let candidates = self.store.top(500, self.settings.digest.top_window).await?;
        let Some(newest) = candidates.iter().map(|r| r.last_updated).max() else {
            return Ok(Vec::new());
        };
        let since = newest - chrono::Duration::hours(trending::GROWTH_HOURS);
        let recent = self.store.recent_articles(&candidates, since).await?;
        let mut scored: Vec<(f64, StoryRow)> = candidates
            .into_iter()
            .map(|row| {
                let hours = (newest - row.last_updated).num_seconds() as f64 / 3600.0;
                let recent = recent.get(&row.key).copied().unwrap_or(0);
                let score = trending::score(row.source_count, row.article_count, recent, hours);
                (score, row)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.key.cmp(&b.1.key)));
        Ok(scored.into_iter().take(limit).map(|(_, r)| r).collect())
    }

    /// Up to `count` current stories covered mostly by one side, most trending first.
    pub async fn blindspots(&self, count: usize) -> Result<Vec<Story>, StoreError> {
        self.trending_where(count, |_, c| c.blindspot.is_some())
            .await
    }

    /// A story's coverage under the configured blindspot and factuality rules.
    pub(crate) fn coverage(&self, story: &Story) -> Coverage {
        Coverage::compute(
            &story.outlets,
            &self.outlets,
            &self.settings.blindspot,
            &self.settings.factuality,
        )
    }

    /// The first article of up to `n` covering outlets, sides interleaved (what a digest
    /// shows, and what a model is given to summarise), each with its page's text in place of
    /// the feed's where the page was read.
    pub async fn lead_articles(&self, story: &Story, n: usize) -> Result<Vec<Article>, StoreError> {
        let leads: Vec<i64> = lead_outlets(story, &self.outlets, n)
            .iter()
            .map(|o| o.first_article)
            .collect();
        self.store.article_texts_by_seq(&leads).await
    }

    /// What every list shows of a story ([`Digest::summary`]); reads nothing.
    pub fn summary(&self, story: &Story) -> Digest {
        Digest::summary(story, &self.outlets, &self.settings)
    }

    /// A story's digest: reads the few articles it shows.
    pub async fn digest(&self, story: &Story) -> Result<Digest, StoreError> {
        let leads: Vec<i64> = lead_outlets(story, &self.outlets, self.settings.digest.headlines)
            .iter()
            .map(|o| o.first_article)
            .collect();
        let articles = self.store.articles_by_seq(&leads).await?;
        let mut digest = Digest::build(story, &articles, &self.outlets, &self.settings);
        digest.image = self.store.lead_image(&leads).await?;
        Ok(digest)
    }

    /// A story's lead image: the first of its lead articles' pages that gave one.
    pub async fn lead_image(&self, story: &Story) -> Result<Option<String>, StoreError> {
        let leads: Vec<i64> = lead_outlets(story, &self.outlets, self.settings.digest.headlines)
            .iter()
            .map(|o| o.first_article)
            .collect();
        self.store.lead_image(&leads).await
    }

    /// Calls `f` with every article of a story, oldest first, read a page at a time (a story
    /// of any size costs a page of memory).
    pub async fn each_article<E: From<StoreError>>(
        &self,
        story: &Story,
        mut f: impl FnMut(&Article) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut after = None;
        loop {
            let page = self
                .store
                .story_articles_after(story.key, after, 1_000)
                .await?;
            let Some((seq, last)) = page.last() else {
                return Ok(());
            };
            after = Some((last.published, *seq));
            for (_, a) in &page {
                f(a)?;
            }
        }
    }

    /// A story and its articles, read page by page, into an export.
    pub async fn export_story<W: std::io::Write>(
        &self,
        w: &mut ExportWriter<W>,
        story: &Story,
    ) -> Result<(), ExportError> {
        w.story(&ExportStory::new(&self.summary(story)))?;
        self.each_article(story, |a| -> Result<(), ExportError> {
            Ok(w.article(&ExportArticle::new(a, &self.outlets))?)
        })
        .await
    }

    /// Titles close to a query that matched nothing: stories sharing any word, else titles
    /// with similar spelling.
    pub(crate) async fn suggestions(
        &self,
        terms: &SearchTerms,
        limit: i64,
    ) -> Result<Vec<StoryRow>, StoreError> {
        let mut rows: Vec<StoryRow> = self
            .store
            .search(terms, Scope::Titles, Mode::Any, limit)
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        if rows.is_empty() {
            rows = self
                .store
                .fuzzy(terms, limit)
                .await?
                .into_iter()
                .map(|(r, _)| r)
                .collect();
        }
        Ok(rows)
    }
}

impl crate::ingest::poll::Sink for App {
    type Report = BatchReport;

    fn write(
        &self,
        batch: Vec<IncomingArticle>,
        now: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<BatchReport, StoreError>> + Send {
        self.ingest_from_feeds(batch, now)
    }
}

/// A query as a lookup uses it: invisible and control characters removed (as they are from
/// titles, so a pasted title still matches), whitespace collapsed, length checked.
fn clean_query(query: &str) -> Result<String, LookupError> {
    let len = query.trim().chars().count();
    if len > MAX_QUERY_CHARS {
        return Err(LookupError::TooLong { len });
    }
    let query = crate::text::clean(query, MAX_QUERY_CHARS);
    if query.is_empty() {
        return Err(LookupError::Empty);
    }
    Ok(query)
}

/// Relevance first; among near-equal matches, the better covered story wins.
fn best_hit(hits: Vec<(StoryRow, f64)>) -> Option<StoryRow> {
    hits.into_iter()
        .map(|(row, relevance)| {
            let score = relevance + 0.05 * (1.0 + row.source_count as f64).ln();
            (row, score)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.key.cmp(&a.0.key)))
        .map(|(row, _)| row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_lose_what_titles_lost() {
        assert_eq!(
            clean_query("peace\u{200B} talks\u{202E}").unwrap(),
            "peace talks"
        );
        assert!(matches!(clean_query(" \u{200B} "), Err(LookupError::Empty)));
        assert!(matches!(
            clean_query(&"x".repeat(301)),
            Err(LookupError::TooLong { len: 301 })
        ));
    }
}

//! The shared state every front end uses (CLI now, the Discord bot later): configuration,
//! outlet directory and store, plus the operations they share: importing JSONL, seeding the
//! demo data, and finding the story a user asks for.

use std::io::BufRead;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::cluster::Clusterer;
use crate::config::Config;
use crate::ingest::import::{read_jsonl, LineError};
use crate::ingest::outlets::OutletTableError;
use crate::ingest::{normalise, IncomingArticle, OutletDirectory};
use crate::model::{Story, StoryId};
use crate::pipeline::{self, BatchReport};
use crate::store::{Mode, Scope, SearchTerms, Store, StoreError, StoryRow};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 300;
/// Articles per write transaction during an import.
const IMPORT_BATCH: usize = 2_000;

/// The application's shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub outlets: OutletDirectory,
    pub store: Store,
    /// The online clusterer, restored from the store on first use; one writer at a time.
    clusterer: Arc<Mutex<Option<Clusterer>>>,
}

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Outlets(#[from] OutletTableError),
    #[error("config: {0}")]
    Config(String),
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
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub batch: BatchReport,
    /// Lines that were not imported, with their reason.
    pub rejected: Vec<LineError>,
}

impl App {
    /// Opens the store and outlet directory; seeds the demo data into an empty store when the
    /// configuration says so.
    pub async fn open(config: Config) -> Result<App, AppError> {
        let overrides = config.valid_outlets().map_err(AppError::Config)?;
        let outlets = OutletDirectory::load(&overrides)?;
        let store = Store::open(&config.store.url).await?;
        let app = App {
            config,
            outlets,
            store,
            clusterer: Arc::new(Mutex::new(None)),
        };
        if app.config.store.seed_demo && app.store.story_count().await? == 0 {
            let report = app
                .import(crate::ingest::demo::DEMO_JSONL.as_bytes())
                .await?;
            tracing::info!(
                stories = report.batch.new_stories,
                articles = report.batch.new_articles,
                "seeded the empty store with the bundled demo data"
            );
        }
        Ok(app)
    }

    /// Imports JSONL: good lines are stored (in batches, each in one transaction), bad lines
    /// are reported with their line number and reason.
    pub async fn import(&self, reader: impl BufRead) -> Result<ImportReport, StoreError> {
        let (raw, mut rejected) = read_jsonl(reader);
        let now = Utc::now();
        let mut report = ImportReport::default();
        let mut batch = Vec::with_capacity(IMPORT_BATCH.min(raw.len()));
        for (line, article) in raw {
            match normalise(article, &self.outlets, now) {
                Ok(a) => batch.push(a),
                Err(e) => rejected.push(LineError {
                    line,
                    reason: e.to_string(),
                }),
            }
            if batch.len() == IMPORT_BATCH {
                report.batch += self.ingest(std::mem::take(&mut batch), now).await?;
            }
        }
        if !batch.is_empty() {
            report.batch += self.ingest(batch, now).await?;
        }
        rejected.sort_by_key(|e| e.line);
        report.rejected = rejected;
        Ok(report)
    }

    /// Stores a batch of normalised articles (clustering the ones without a story key).
    pub async fn ingest(
        &self,
        batch: Vec<IncomingArticle>,
        now: DateTime<Utc>,
    ) -> Result<BatchReport, StoreError> {
        let mut guard = self.clusterer.lock().await;
        if guard.is_none() {
            let restored =
                pipeline::restore_clusterer(&self.store, self.config.cluster_params()).await?;
            *guard = Some(restored);
        }
        let clusterer = guard.as_mut().expect("restored above");
        let result = pipeline::apply(&self.store, &self.outlets, clusterer, batch, now).await;
        if result.is_err() {
            // The clusterer ran ahead of a transaction that rolled back: rebuild it next time.
            *guard = None;
        }
        result
    }

    /// Finds the story a user means: an exact story id, else the best full-text match of all
    /// the query's words (whole words in titles first, then the last word as a prefix, then
    /// key points and headlines too), ranked by relevance and then coverage. Hostile input is harmless
    /// (see [`crate::store::search`]).
    pub async fn find_story(&self, query: &str) -> Result<Lookup, LookupError> {
        let query = query.trim();
        let len = query.chars().count();
        if len > MAX_QUERY_CHARS {
            return Err(LookupError::TooLong { len });
        }
        if query.is_empty() {
            return Err(LookupError::Empty);
        }
        if let Some(id) = StoryId::parse(query) {
            if let Some(story) = self.store.story(&id).await? {
                return Ok(Lookup::Found(Box::new(story)));
            }
        }
        let terms = SearchTerms::parse(query);
        // Cheapest and most precise first: whole words in titles.
        let tiers = [
            (Scope::Titles, Mode::All),
            (Scope::Titles, Mode::AllPrefix),
            (Scope::Everything, Mode::AllPrefix),
        ];
        for (scope, mode) in tiers {
            let hits = self.store.search(&terms, scope, mode, 20).await?;
            if let Some(best) = best_hit(hits) {
                let story = self.store.with_articles(best).await?;
                return Ok(Lookup::Found(Box::new(story)));
            }
        }
        Ok(Lookup::NotFound {
            suggestions: self.suggestions(&terms, 5).await?,
        })
    }

    /// Stories whose titles match what a user has typed so far, for autocomplete: every word,
    /// the last as a prefix; else any word; the trending stories when nothing is typed.
    pub async fn title_matches(
        &self,
        partial: &str,
        limit: usize,
    ) -> Result<Vec<StoryRow>, StoreError> {
        let partial = crate::text::truncate_chars(partial.trim(), MAX_QUERY_CHARS);
        if partial.is_empty() {
            let window = chrono::Duration::hours(self.config.digest.top_window_hours);
            return self.store.trending(limit, window).await;
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

    /// The trending stories (see [`crate::summarise::trending`]), with their articles.
    pub async fn trending(&self, count: usize) -> Result<Vec<Story>, StoreError> {
        let window = chrono::Duration::hours(self.config.digest.top_window_hours);
        let mut out = Vec::new();
        for row in self.store.trending(count, window).await? {
            out.push(self.store.with_articles(row).await?);
        }
        Ok(out)
    }

    /// Up to `count` current stories covered mostly by one side, most trending first.
    pub async fn blindspots(&self, count: usize) -> Result<Vec<Story>, StoreError> {
        let window = chrono::Duration::hours(self.config.digest.top_window_hours);
        let mut found = Vec::new();
        for row in self.store.trending(500, window).await? {
            let story = self.store.with_articles(row).await?;
            if self.coverage(&story).blindspot.is_some() {
                found.push(story);
                if found.len() == count {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// A story's coverage under the configured blindspot rule.
    pub fn coverage(&self, story: &Story) -> crate::summarise::Coverage {
        crate::summarise::Coverage::compute(&story.articles, &self.outlets, &self.config.blindspot)
    }

    /// Titles close to a query that matched nothing: stories sharing any word, else titles
    /// with similar spelling.
    pub async fn suggestions(
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

/// Relevance first; among near-equal matches, the better covered story wins.
fn best_hit(hits: Vec<(StoryRow, f64)>) -> Option<StoryRow> {
    hits.into_iter()
        .map(|(row, relevance)| {
            let score = relevance + 0.05 * (1.0 + row.source_count as f64).ln();
            (row, score)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.seq.cmp(&a.0.seq)))
        .map(|(row, _)| row)
}

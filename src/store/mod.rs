//! Store: stories and articles in SQL, SQLite by default (one file), Postgres for several
//! processes.
//!
//! All SQL here is portable (`$n` parameters, BIGINT Unix times, `ON CONFLICT`, `RETURNING`)
//! and goes through sqlx's `Any` driver with runtime queries, so no database is needed to
//! build. The one backend-specific part, full-text search, lives behind [`search`].
//! Migrations are embedded in the binary and run on open. SQLite runs in WAL mode.
//! Writes happen in transactions ([`StoreTx`]): a batch lands whole or not at all.

pub mod feeds;
pub mod search;
pub mod subscriptions;

use std::path::Path;
use std::str::FromStr;
use std::sync::Once;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, Row, SqlSafeStr, Transaction};

use crate::model::{Article, Story, StoryId};

pub use feeds::FeedState;
pub use search::{Mode, Scope, SearchTerms};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store URL {0:?} (use sqlite://PATH, a file path, or postgres://...)")]
    UnsupportedUrl(String),
    #[error("cannot create the folder for the database {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the store at {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A story row without its articles.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryRow {
    pub seq: i64,
    pub id: StoryId,
    pub title: String,
    pub key_points: Vec<String>,
    pub article_count: i64,
    pub source_count: i64,
    pub first_published: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub revision: i64,
}

/// The database handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

const STORY_COLUMNS: &str = "seq, id, title, key_points, article_count, source_count, first_published, last_updated, revision";
const ARTICLE_COLUMNS: &str = "url, title, summary, outlet_name, domain, published, fetched";

static DRIVERS: Once = Once::new();

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    /// `url` is `sqlite://PATH`, `sqlite::memory:`, a bare file path, or `postgres://...`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (backend, connect_url) = if url.starts_with("postgres://")
            || url.starts_with("postgresql://")
        {
            (Backend::Postgres, url.to_string())
        } else if let Some(path) = crate::config::sqlite_path(url) {
            if path.is_empty() {
                return Err(StoreError::UnsupportedUrl(url.to_string()));
            }
            if path != ":memory:" {
                if let Some(parent) = Path::new(&path)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                        path: parent.display().to_string(),
                        source,
                    })?;
                }
            }
            (Backend::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let options = AnyPoolOptions::new();
        let options = match backend {
            Backend::Sqlite => options
                // In-memory SQLite is one database per connection: keep exactly one.
                .max_connections(if connect_url.contains(":memory:") {
                    1
                } else {
                    4
                })
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => options.max_connections(8),
        };
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Open {
                url: redact(url),
                source,
            })?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // Append new migrations; never edit one that has shipped.
        let steps: [(i64, &str, &'static str); 2] = match self.backend {
            Backend::Sqlite => [
                (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
                (
                    2,
                    "subscriptions",
                    include_str!("migrations/sqlite/0002_subscriptions.sql"),
                ),
            ],
            Backend::Postgres => [
                (1, "init", include_str!("migrations/postgres/0001_init.sql")),
                (
                    2,
                    "subscriptions",
                    include_str!("migrations/postgres/0002_subscriptions.sql"),
                ),
            ],
        };
        let migrator = Migrator::with_migrations(
            steps
                .into_iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        version,
                        name.into(),
                        MigrationType::Simple,
                        sql.into_sql_str(),
                        false,
                    )
                })
                .collect(),
        );
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        Ok(StoreTx {
            tx: self.pool.begin().await?,
            backend: self.backend,
        })
    }

    pub async fn story_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM stories WHERE merged_into IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn article_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM articles")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// A story row by id; the id of a story merged into another resolves to that one.
    pub async fn story_row(&self, id: &StoryId) -> Result<Option<StoryRow>, StoreError> {
        let sql = format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE seq = \
               (SELECT COALESCE(merged_into, seq) FROM stories WHERE id = $1)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| story_row(&r)).transpose()
    }

    /// Story rows by seq, in the order given (missing ones skipped).
    pub async fn story_rows(&self, seqs: &[i64]) -> Result<Vec<StoryRow>, StoreError> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        // Only numbered placeholders are generated here; the values are bound.
        let placeholders: Vec<String> = (1..=seqs.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE seq IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for &seq in seqs {
            query = query.bind(seq);
        }
        let mut rows: Vec<StoryRow> = query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(story_row)
            .collect::<Result<_, _>>()?;
        rows.sort_by_key(|r| seqs.iter().position(|&s| s == r.seq));
        Ok(rows)
    }

    /// A whole story (with its articles, oldest first) by id.
    pub async fn story(&self, id: &StoryId) -> Result<Option<Story>, StoreError> {
        match self.story_row(id).await? {
            Some(row) => Ok(Some(self.with_articles(row).await?)),
            None => Ok(None),
        }
    }

    /// Loads a row's articles.
    pub async fn with_articles(&self, row: StoryRow) -> Result<Story, StoreError> {
        let articles = fetch_articles(&self.pool, row.seq).await?;
        Ok(Story {
            id: row.id,
            title: row.title,
            key_points: row.key_points,
            articles,
            first_published: row.first_published,
            last_updated: row.last_updated,
        })
    }

    /// Full-text search: stories whose title, key points or headlines match, best first.
    pub async fn search(
        &self,
        terms: &SearchTerms,
        scope: Scope,
        mode: Mode,
        limit: i64,
    ) -> Result<Vec<(StoryRow, f64)>, StoreError> {
        let hits = search::search(&self.pool, self.backend, terms, scope, mode, limit).await?;
        self.hits_to_rows(hits).await
    }

    /// Typo-tolerant title matches (may be empty on backends without trigram search).
    pub async fn fuzzy(
        &self,
        terms: &SearchTerms,
        limit: i64,
    ) -> Result<Vec<(StoryRow, f64)>, StoreError> {
        let hits = search::fuzzy(&self.pool, self.backend, terms, limit).await?;
        self.hits_to_rows(hits).await
    }

    async fn hits_to_rows(
        &self,
        hits: Vec<search::Hit>,
    ) -> Result<Vec<(StoryRow, f64)>, StoreError> {
        let seqs: Vec<i64> = hits.iter().map(|h| h.seq).collect();
        let rows = self.story_rows(&seqs).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let hit = hits.iter().find(|h| h.seq == row.seq)?;
                Some((row, hit.relevance))
            })
            .collect())
    }

    /// Stories ranked by trending score ([`crate::summarise::trending`]) among the most
    /// covered ones updated within `window` of the newest story.
    pub async fn trending(
        &self,
        limit: usize,
        window: chrono::Duration,
    ) -> Result<Vec<StoryRow>, StoreError> {
        let candidates = self.top(500, window).await?;
        let Some(newest) = candidates.iter().map(|r| r.last_updated).max() else {
            return Ok(Vec::new());
        };
        let since = newest - chrono::Duration::hours(crate::summarise::trending::GROWTH_HOURS);
        let rows = sqlx::query(
            "SELECT story_seq, COUNT(*) AS n FROM articles WHERE published >= $1 GROUP BY story_seq",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        let mut recent = std::collections::HashMap::new();
        for r in rows {
            recent.insert(r.try_get::<i64, _>("story_seq")?, r.try_get::<i64, _>("n")?);
        }
        let mut scored: Vec<(f64, StoryRow)> = candidates
            .into_iter()
            .map(|row| {
                let hours = (newest - row.last_updated).num_seconds() as f64 / 3600.0;
                let score = crate::summarise::trending::score(
                    row.source_count,
                    row.article_count,
                    recent.get(&row.seq).copied().unwrap_or(0),
                    hours,
                );
                (score, row)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.seq.cmp(&b.1.seq)));
        Ok(scored.into_iter().take(limit).map(|(_, r)| r).collect())
    }

    /// The most covered stories updated within `window` of the newest story, most sources first.
    pub async fn top(
        &self,
        limit: i64,
        window: chrono::Duration,
    ) -> Result<Vec<StoryRow>, StoreError> {
        let newest =
            sqlx::query("SELECT MAX(last_updated) AS t FROM stories WHERE merged_into IS NULL")
                .fetch_one(&self.pool)
                .await?
                .try_get::<Option<i64>, _>("t")?;
        let Some(newest) = newest else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE last_updated >= $1 AND merged_into IS NULL \
             ORDER BY source_count DESC, article_count DESC, last_updated DESC, seq LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(newest - window.num_seconds())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(story_row).collect()
    }

    /// Articles of clustered stories (no upstream key) published at or after `since`, oldest
    /// first, with their story's seq: what the clusterer replays to rebuild its state.
    pub async fn clustered_articles_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, Article)>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.story_seq, a.url, a.title, a.summary, a.outlet_name, a.domain, a.published, a.fetched \
             FROM articles a JOIN stories s ON s.seq = a.story_seq \
             WHERE a.published >= $1 AND s.upstream_key IS NULL AND s.merged_into IS NULL \
             ORDER BY a.published, a.seq",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("story_seq")?, article(r)?)))
            .collect()
    }

    /// The newest publication time of any article.
    pub async fn newest_article(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<i64> = sqlx::query("SELECT MAX(published) AS t FROM articles")
            .fetch_one(&self.pool)
            .await?
            .try_get("t")?;
        t.map(time).transpose()
    }

    /// One page of all stories in storage order: those with `seq > after`, at most `limit`.
    pub async fn stories_after(&self, after: i64, limit: i64) -> Result<Vec<StoryRow>, StoreError> {
        let sql =
            format!("SELECT {STORY_COLUMNS} FROM stories WHERE seq > $1 AND merged_into IS NULL ORDER BY seq LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(story_row).collect()
    }
}

/// A write transaction; dropped without [`StoreTx::commit`], it rolls back.
pub struct StoreTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

/// A story to create.
#[derive(Debug, Clone)]
pub struct NewStory<'a> {
    pub id: &'a StoryId,
    pub upstream_key: Option<&'a str>,
    pub title: &'a str,
    pub published: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// What a story's row says after its articles changed.
#[derive(Debug, Clone)]
pub struct StoryUpdate<'a> {
    pub title: &'a str,
    pub key_points: &'a [String],
    /// Headlines to index for search.
    pub headlines: &'a [&'a str],
}

impl StoreTx {
    /// The seq and id of the story with this upstream key.
    pub async fn story_by_key(&mut self, key: &str) -> Result<Option<(i64, StoryId)>, StoreError> {
        let row = sqlx::query("SELECT seq, id FROM stories WHERE upstream_key = $1")
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| Ok((r.try_get("seq")?, StoryId::from_stored(r.try_get("id")?))))
            .transpose()
    }

    /// Whether a story id is taken.
    pub async fn id_taken(&mut self, id: &StoryId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM stories WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Creates an empty story and returns its seq.
    pub async fn insert_story(&mut self, s: NewStory<'_>) -> Result<i64, StoreError> {
        let t = s.published.timestamp();
        let row = sqlx::query(
            "INSERT INTO stories (id, upstream_key, title, key_points, first_published, last_updated, created) \
             VALUES ($1, $2, $3, '[]', $4, $5, $6) RETURNING seq",
        )
        .bind(s.id.as_str())
        .bind(s.upstream_key)
        .bind(s.title)
        .bind(t)
        .bind(t)
        .bind(s.now.timestamp())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.try_get("seq")?)
    }

    /// Which of these canonical URLs are stored already.
    pub async fn existing_urls(
        &mut self,
        urls: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in urls.chunks(500) {
            // Only numbered placeholders are generated; the URLs are bound.
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT url FROM articles WHERE url IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                found.insert(row.try_get::<String, _>("url")?);
            }
        }
        Ok(found)
    }

    /// Adds articles (story seq, article) a hundred rows per statement; returns how many were
    /// new (a URL already stored is skipped).
    pub async fn insert_articles(
        &mut self,
        articles: &[(i64, Article)],
    ) -> Result<usize, StoreError> {
        let mut inserted = 0;
        for chunk in articles.chunks(100) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let b = r * 8;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 8
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO articles (url, story_seq, title, summary, outlet_name, domain, published, fetched) \
                 VALUES {} ON CONFLICT (url) DO NOTHING",
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (seq, a) in chunk {
                q = q
                    .bind(&a.url)
                    .bind(*seq)
                    .bind(&a.title)
                    .bind(&a.summary)
                    .bind(&a.outlet)
                    .bind(&a.domain)
                    .bind(a.published.timestamp())
                    .bind(a.fetched.timestamp());
            }
            inserted += q.execute(&mut *self.tx).await?.rows_affected() as usize;
        }
        Ok(inserted)
    }

    /// A story's articles, oldest first.
    pub async fn articles(&mut self, story_seq: i64) -> Result<Vec<Article>, StoreError> {
        fetch_articles(&mut *self.tx, story_seq).await
    }

    /// A bounded sample of a story's articles for summarising: its first `first` and its
    /// latest `latest`, oldest first (a big story is not re-read whole on every update).
    pub async fn article_sample(
        &mut self,
        story_seq: i64,
        first: i64,
        latest: i64,
    ) -> Result<Vec<Article>, StoreError> {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE seq IN ( \
               SELECT seq FROM (SELECT seq FROM articles WHERE story_seq = $1 ORDER BY published, seq LIMIT $2) f \
               UNION \
               SELECT seq FROM (SELECT seq FROM articles WHERE story_seq = $1 ORDER BY published DESC, seq DESC LIMIT $3) l \
             ) ORDER BY published, seq"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(story_seq)
            .bind(first)
            .bind(latest)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(article).collect()
    }

    /// Rewrites a story's summary and counts from its articles, bumps its revision and
    /// re-indexes it for search.
    pub async fn update_story(&mut self, seq: i64, u: StoryUpdate<'_>) -> Result<(), StoreError> {
        let key_points = serde_json::to_string(u.key_points).expect("strings serialise");
        // Titles are re-indexed only when they change (or were never indexed: revision 0).
        let before = sqlx::query("SELECT title, revision FROM stories WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&mut *self.tx)
            .await?;
        let (old_title, indexed_before) = match before {
            Some(r) => (
                r.try_get::<String, _>("title")?,
                r.try_get::<i64, _>("revision")? > 0,
            ),
            None => (String::new(), false),
        };
        let title_changed = !indexed_before || old_title != u.title;
        sqlx::query(
            "UPDATE stories SET title = $1, key_points = $2, \
               source_count = (SELECT COUNT(DISTINCT outlet_name) FROM articles WHERE story_seq = $3), \
               article_count = (SELECT COUNT(*) FROM articles WHERE story_seq = $3), \
               first_published = (SELECT MIN(published) FROM articles WHERE story_seq = $3), \
               last_updated = (SELECT MAX(published) FROM articles WHERE story_seq = $3), \
               revision = revision + 1 \
             WHERE seq = $3",
        )
        .bind(u.title)
        .bind(&key_points)
        .bind(seq)
        .execute(&mut *self.tx)
        .await?;
        let headlines = u
            .headlines
            .iter()
            .take(search::MAX_INDEXED_HEADLINES)
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        search::index_story(
            &mut self.tx,
            self.backend,
            seq,
            u.title,
            &u.key_points.join("\n"),
            &headlines,
            title_changed,
        )
        .await
    }

    /// Moves every article of story `from` into story `into`; `from` is kept as a pointer, so
    /// its id still finds the merged story, and leaves the search index.
    pub async fn merge_story(&mut self, from: i64, into: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE articles SET story_seq = $1 WHERE story_seq = $2")
            .bind(into)
            .bind(from)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE stories SET merged_into = $1, article_count = 0 WHERE seq = $2 OR merged_into = $2")
            .bind(into)
            .bind(from)
            .execute(&mut *self.tx)
            .await?;
        search::unindex_story(&mut self.tx, self.backend, from).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

async fn fetch_articles<'e, E>(executor: E, story_seq: i64) -> Result<Vec<Article>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {ARTICLE_COLUMNS} FROM articles WHERE story_seq = $1 ORDER BY published, seq"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(story_seq)
        .fetch_all(executor)
        .await?;
    rows.iter().map(article).collect()
}

fn story_row(r: &AnyRow) -> Result<StoryRow, StoreError> {
    let key_points: String = r.try_get("key_points")?;
    let key_points = serde_json::from_str(&key_points)
        .map_err(|e| StoreError::Corrupt(format!("key points of a story: {e}")))?;
    Ok(StoryRow {
        seq: r.try_get("seq")?,
        id: StoryId::from_stored(r.try_get("id")?),
        title: r.try_get("title")?,
        key_points,
        article_count: r.try_get("article_count")?,
        source_count: r.try_get("source_count")?,
        first_published: time(r.try_get("first_published")?)?,
        last_updated: time(r.try_get("last_updated")?)?,
        revision: r.try_get("revision")?,
    })
}

fn article(r: &AnyRow) -> Result<Article, StoreError> {
    Ok(Article {
        url: r.try_get("url")?,
        title: r.try_get("title")?,
        summary: r.try_get("summary")?,
        outlet: r.try_get("outlet_name")?,
        domain: r.try_get("domain")?,
        published: time(r.try_get("published")?)?,
        fetched: time(r.try_get("fetched")?)?,
    })
}

fn time(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs} out of range")))
}

/// A store URL with any password hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::from_str(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

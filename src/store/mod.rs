//! Store: stories and articles in SQL, SQLite by default (one file), Postgres for several
//! processes.
//!
//! All SQL here is portable (`$n` parameters, BIGINT Unix times, `ON CONFLICT`, `RETURNING`)
//! and goes through sqlx's `Any` driver with runtime queries, so no database is needed to
//! build. The one backend-specific part, full-text search, lives behind [`search`].
//! Migrations are embedded in the binary and run on open. SQLite runs in WAL mode.
//!
//! **Writers wait for each other.** Writes happen in transactions ([`StoreTx`]) that take the
//! write lock first (`BEGIN IMMEDIATE` on SQLite), so a second writer waits for the first
//! (up to [`LOCK_WAIT`]) instead of failing half way with "database is locked"; a batch lands
//! whole or not at all.
//!
//! **Reads are bounded.** A story is read as its row plus one aggregate per covering outlet
//! (`story_outlets`, kept up to date by every write), never as all its articles: a digest,
//! `top`, `blindspot` and subscription matching cost the same for a story of ten articles and
//! one of two hundred thousand. Articles are read only as many as are shown.

mod article_pages;
mod articles;
pub(crate) mod feeds;
mod fleet;
mod locks;
mod pages;
mod replace;
pub(crate) mod search;
pub mod subscriptions;
mod written;

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, Migrator};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::model::{OutletCoverage, Sequence, Story, StoryId, StoryKey, StoryLink, WrittenSummary};

pub use article_pages::{DuePage, HostPages, PageOutcome, PageText};
pub(crate) use articles::ClusteredArticle;
pub use articles::{NewArticle, Order};
pub(crate) use feeds::FeedState;
pub use fleet::{FeedSummary, OutboxSummary, ProcessRow};
pub use locks::{LockRequest, SessionLock};
pub use pages::{OutletArticle, SubscriptionOverview, TimelineCell};
pub(crate) use replace::LoggedMerge;
pub(crate) use search::{Mode, Scope, SearchTerms};
pub use written::{Attempt, DroppedPoint, Due, WrittenAttempt};

/// How long a writer waits for another process's write to finish before giving up.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(120);
/// SQLite's own wait for a lock, per attempt (statements outside a transaction rely on it).
const BUSY_TIMEOUT_MS: u64 = 30_000;
/// The Postgres advisory lock key of the clustering writer ("storybot" in ASCII).
const CLUSTERING_LOCK: i64 = 0x73746f7279626f74;
/// How long opening a store may take to reach the database.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
    #[error("cannot create the folder for the database {path}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the store at {url}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot reach the store at {url}: no answer within {} s", CONNECT_TIMEOUT.as_secs())]
    OpenTimeout { url: String },
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database is locked by another writer (waited {} s); is another storybot \
         process importing or ingesting into the same SQLite file?",
        LOCK_WAIT.as_secs()
    )]
    Locked,
    #[error("database error")]
    Sql(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot use the lock file {file}")]
    LockFile {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the store {path} is read-only or not writable by this user ({reason}); \
         give this user write access to the file and its folder (SQLite writes a journal \
         beside it), or open a writable copy"
    )]
    ReadOnly { path: String, reason: String },
    #[error(
        "the store {path} needs its schema upgraded, which needs write access; run a \
         storybot command that writes (import, ingest) as a user who may write it"
    )]
    ReadOnlyNeedsUpgrade { path: String },
    #[error(
        "the store file {path} {what} while this process had it open: nothing more is \
         written to it, since nobody else would see it; restart the process to open the \
         file now at that path"
    )]
    FileGone { path: String, what: &'static str },
}

fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            // SQLITE_BUSY (5) and its extended codes; SQLITE_LOCKED (6).
            let code = d.code();
            let busy_code = code
                .as_deref()
                .and_then(|c| c.parse::<i64>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6));
            busy_code || d.message().contains("database is locked")
        }
        _ => false,
    }
}

/// A story row without its coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryRow {
    pub key: StoryKey,
    pub id: StoryId,
    pub title: String,
    pub key_points: Vec<String>,
    pub article_count: i64,
    pub source_count: i64,
    pub first_published: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub revision: i64,
    /// The previous and next events of the topic, when the story is part of a sequence.
    pub(crate) follows: Option<StoryKey>,
    pub(crate) next: Option<StoryKey>,
}

/// The database handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file, when the store is one.
    file: Option<std::path::PathBuf>,
    /// Postgres: the database and schema, so lock keys of two stores on one server differ.
    namespace: String,
    /// The SQLite file's identity when it was opened, to notice it deleted or replaced.
    identity: Option<FileIdentity>,
    /// Opened read-only (the file cannot be written): reads only.
    read_only: bool,
}

/// A file's device and inode: a file deleted, or replaced by another at the same path,
/// changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    #[cfg(unix)]
    fn of(path: &Path) -> std::io::Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(path)?;
        Ok(FileIdentity {
            device: m.dev(),
            inode: m.ino(),
        })
    }

    #[cfg(not(unix))]
    fn of(path: &Path) -> std::io::Result<FileIdentity> {
        std::fs::metadata(path).map(|_| FileIdentity {
            device: 0,
            inode: 0,
        })
    }
}

const STORY_COLUMNS: &str = "seq, id, title, key_points, article_count, source_count, first_published, last_updated, revision, follows, next_story";
const OUTLET_COLUMNS: &str =
    "story_seq, outlet_name, domain, articles, first_published, last_published, first_article";

static DRIVERS: Once = Once::new();

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    /// `url` is `sqlite://PATH`, `sqlite::memory:`, a bare file path, or `postgres://...`.
    /// A database that cannot be reached fails within seconds with the reason ("connection
    /// refused"), not after a pool's timeout; a SQLite file this user cannot write fails at
    /// once with [`StoreError::ReadOnly`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url, Access::ReadWrite).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// [`Store::open`], or, when the SQLite file cannot be written, the file opened for
    /// reading only (its schema must be current): for commands that only read.
    pub async fn open_for_reading(url: &str) -> Result<Store, StoreError> {
        match Store::open(url).await {
            Err(StoreError::ReadOnly { path, reason }) => {
                tracing::info!(%path, %reason, "the store is not writable: reading it only");
                let store = Store::connect(url, Access::ReadOnly).await?;
                store.check_schema_current().await?;
                Ok(store)
            }
            other => other,
        }
    }

    async fn connect(url: &str, access: Access) -> Result<Store, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let shown = crate::secrets::redact_url(url);
        let (backend, connect_url) = connect_url(url, access)?;
        crate::secrets::register_url(url);
        let file = crate::config::sqlite_path(url)
            .filter(|p| backend == Backend::Sqlite && p != ":memory:")
            .map(std::path::PathBuf::from);
        // One direct connection first: its error is the real reason, and it comes at once.
        let connect_url = probe(&connect_url, &shown, file.as_deref(), access).await?;
        // The probe created the file if it was missing; the pool's connections never do, so
        // a file deleted under this process is not silently made again, empty.
        let connect_url = connect_url.replace("?mode=rwc", "?mode=rw");
        let pool = pool_options(backend, &connect_url, access)
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Open {
                url: shown,
                source: scrub_sqlx(source),
            })?;
        let identity = file.as_deref().and_then(|f| FileIdentity::of(f).ok());
        let mut store = Store {
            pool,
            backend,
            file,
            namespace: String::new(),
            identity,
            read_only: access == Access::ReadOnly,
        };
        if backend == Backend::Postgres {
            let row = sqlx::query("SELECT current_database() || '.' || current_schema() AS ns")
                .fetch_one(&store.pool)
                .await?;
            store.namespace = row.try_get("ns")?;
        }
        Ok(store)
    }

    /// A read-only store must not need a migration it cannot run.
    async fn check_schema_current(&self) -> Result<(), StoreError> {
        let latest = migrator(self.backend).iter().map(|m| m.version).max();
        let applied: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
            .ok()
            .and_then(|r| r.try_get("v").ok());
        if applied < latest {
            return Err(StoreError::ReadOnlyNeedsUpgrade {
                path: self.file_shown(),
            });
        }
        Ok(())
    }

    fn file_shown(&self) -> String {
        self.file
            .as_deref()
            .map_or_else(String::new, |p| p.display().to_string())
    }

    /// Whether this process may write: not opened read-only, and the SQLite file it opened is
    /// still the one at its path (not deleted, not replaced).
    pub(crate) fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.file_shown(),
                reason: "opened for reading only".into(),
            });
        }
        self.same_file()
    }

    /// The SQLite file at the store's path is the one this process opened.
    fn same_file(&self) -> Result<(), StoreError> {
        let (Some(path), Some(opened)) = (&self.file, self.identity) else {
            return Ok(());
        };
        let what = match FileIdentity::of(path) {
            Ok(now) if now == opened => return Ok(()),
            Ok(_) => "was replaced by another file",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "was deleted",
            // Cannot tell (a folder made unreadable): let SQLite say what it finds.
            Err(_) => return Ok(()),
        };
        Err(StoreError::FileGone {
            path: path.display().to_string(),
            what,
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrator(self.backend);
        // Two processes opening one new store at once. On Postgres the migrator takes an
        // advisory lock. On SQLite it takes none: both may try a migration, and the one that
        // loses fails ("table ... already exists") after the other committed the migration and
        // its record, so running the migrator again finds it applied. A busy file is waited
        // for like any writer.
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        let mut failures = 0;
        loop {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(sqlx::migrate::MigrateError::Execute(e))
                    if is_busy(&e) && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(sqlx::migrate::MigrateError::ExecuteMigration(..))
                    if self.backend == Backend::Sqlite && failures < 3 =>
                {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(100 * failures)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file of the store, if it is one (not in memory, not Postgres).
    pub(crate) fn sqlite_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// A Postgres advisory lock key for `name`, private to this store's database and schema.
    fn lock_key(&self, name: &str) -> i64 {
        let basis = crate::fnv::hash(self.namespace.as_bytes());
        crate::fnv::hash_with(basis, name.as_bytes()) as i64
    }

    /// A connection of its own, outside the pool (a session lock lives as long as it does).
    async fn dedicated_connection(&self) -> Result<sqlx::AnyConnection, StoreError> {
        Ok(self.pool.acquire().await?.detach())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction holding the write lock, waiting (up to [`LOCK_WAIT`]) while
    /// another writer holds it.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        self.writable()?;
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(50);
        loop {
            let begun = match self.backend {
                Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
                Backend::Postgres => self.pool.begin().await,
            };
            match begun {
                Ok(tx) => {
                    return Ok(StoreTx {
                        tx,
                        backend: self.backend,
                    })
                }
                Err(e) if is_busy(&e) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(StoreError::Locked);
                    }
                    tracing::debug!("the store is locked by another writer; waiting");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A write transaction of the clustering path: on Postgres it also takes a transaction
    /// lock that every process's clustering writer takes, so they write one at a time (SQLite's
    /// write lock already does that).
    pub(crate) async fn begin_clustering(&self) -> Result<StoreTx, StoreError> {
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(CLUSTERING_LOCK)
                .execute(&mut *tx.tx)
                .await?;
        }
        Ok(tx)
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
    pub(crate) async fn story_row(&self, id: &StoryId) -> Result<Option<StoryRow>, StoreError> {
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

    /// The latest event of the topic that story `key` began or continues, when later events
    /// follow it (see [`crate::cluster`]): the end of its chain of continuations.
    pub(crate) async fn latest_event(
        &self,
        row: &StoryRow,
    ) -> Result<Option<StoryRow>, StoreError> {
        let mut latest: Option<StoryRow> = None;
        let mut next = row.next;
        // A chain is short (a topic of weeks is a few stories); the bound guards a damaged one.
        for _ in 0..64 {
            let Some(key) = next else { break };
            let Some(r) = self.story_rows(&[key]).await?.pop() else {
                break;
            };
            next = r.next;
            latest = Some(r);
        }
        Ok(latest)
    }

    /// Story rows by key, in the order given (missing ones skipped).
    pub async fn story_rows(&self, keys: &[StoryKey]) -> Result<Vec<StoryRow>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE seq IN ({})",
            placeholders(keys.len(), 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for key in keys {
            query = query.bind(key.0);
        }
        let mut rows: Vec<StoryRow> = query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(story_row)
            .collect::<Result<_, _>>()?;
        rows.sort_by_key(|r| keys.iter().position(|&k| k == r.key));
        Ok(rows)
    }

    /// A story (its row and who covers it) by id, or `None`.
    pub async fn story(&self, id: &StoryId) -> Result<Option<Story>, StoreError> {
        match self.story_row(id).await? {
            Some(row) => Ok(Some(self.with_coverage(row).await?)),
            None => Ok(None),
        }
    }

    /// Adds a row's coverage: one aggregate per outlet, however many articles it has.
    pub async fn with_coverage(&self, row: StoryRow) -> Result<Story, StoreError> {
        let mut stories = self.with_coverages(vec![row]).await?;
        Ok(stories.pop().expect("one row in, one story out"))
    }

    /// [`Self::with_coverage`] for several rows, in one query.
    pub(crate) async fn with_coverages(
        &self,
        rows: Vec<StoryRow>,
    ) -> Result<Vec<Story>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {OUTLET_COLUMNS} FROM story_outlets WHERE story_seq IN ({}) \
             ORDER BY first_published, outlet_name",
            placeholders(rows.len(), 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in &rows {
            q = q.bind(r.key.0);
        }
        let mut by_story: std::collections::HashMap<StoryKey, Vec<OutletCoverage>> =
            std::collections::HashMap::new();
        for r in q.fetch_all(&self.pool).await? {
            let key = StoryKey(r.try_get("story_seq")?);
            by_story.entry(key).or_default().push(outlet_coverage(&r)?);
        }
        let mut sequences = self.sequences(&rows).await?;
        let keys: Vec<StoryKey> = rows.iter().map(|r| r.key).collect();
        let mut written = self.written(&keys).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let outlets = by_story.remove(&row.key).unwrap_or_default();
                let sequence = sequences.remove(&row.key).unwrap_or_default();
                let written = written.remove(&row.key);
                story(row, outlets, sequence, written)
            })
            .collect())
    }

    /// The previous and next events of each story's topic, read only for the stories that
    /// have either (one query, none at all for stories outside a sequence).
    async fn sequences(
        &self,
        rows: &[StoryRow],
    ) -> Result<std::collections::HashMap<StoryKey, Sequence>, StoreError> {
        let linked: Vec<StoryKey> = rows
            .iter()
            .flat_map(|r| r.follows.into_iter().chain(r.next))
            .collect();
        let mut out: std::collections::HashMap<StoryKey, Sequence> = Default::default();
        if linked.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT seq, id, title FROM stories WHERE seq IN ({})",
            placeholders(linked.len(), 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in &linked {
            q = q.bind(k.0);
        }
        let mut links: std::collections::HashMap<StoryKey, StoryLink> = Default::default();
        for r in q.fetch_all(&self.pool).await? {
            let link = StoryLink {
                id: StoryId::from_stored(r.try_get("id")?),
                title: r.try_get("title")?,
            };
            links.insert(StoryKey(r.try_get("seq")?), link);
        }
        for row in rows {
            let sequence = Sequence {
                previous: row.follows.and_then(|k| links.get(&k).cloned()),
                next: row.next.and_then(|k| links.get(&k).cloned()),
            };
            out.insert(row.key, sequence);
        }
        Ok(out)
    }

    /// Full-text search: stories whose title, key points or headlines match, best first.
    pub(crate) async fn search(
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
    pub(crate) async fn fuzzy(
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
        let keys: Vec<StoryKey> = hits.iter().map(|h| h.key).collect();
        let rows = self.story_rows(&keys).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let hit = hits.iter().find(|h| h.key == row.key)?;
                Some((row, hit.relevance))
            })
            .collect())
    }

    /// Articles published since `since`, per story, for these stories only (an index range
    /// per story, so the cost follows the stories' recent coverage, not the whole store).
    pub(crate) async fn recent_articles(
        &self,
        rows: &[StoryRow],
        since: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<StoryKey, i64>, StoreError> {
        let mut recent = std::collections::HashMap::new();
        for chunk in rows.chunks(200) {
            let sql = format!(
                "SELECT story_seq, COUNT(*) AS n FROM articles WHERE story_seq IN ({}) \
                 AND published >= $1 GROUP BY story_seq",
                placeholders(chunk.len(), 2)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since.timestamp());
            for r in chunk {
                q = q.bind(r.key.0);
            }
            for r in q.fetch_all(&self.pool).await? {
                recent.insert(StoryKey(r.try_get("story_seq")?), r.try_get::<i64, _>("n")?);
            }
        }
        Ok(recent)
    }

    /// The most covered stories updated within `window` of the newest story, most sources first.
    pub(crate) async fn top(
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
            .bind(newest.saturating_sub(window.num_seconds()))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(story_row).collect()
    }

    /// One page of all stories in storage order: those after `after` (all with `None`), at
    /// most `limit`.
    pub async fn stories_after(
        &self,
        after: Option<StoryKey>,
        limit: i64,
    ) -> Result<Vec<StoryRow>, StoreError> {
        let sql = format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE seq > $1 AND merged_into IS NULL \
             ORDER BY seq LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.map_or(i64::MIN, |k| k.0))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(story_row).collect()
    }
}

/// `$first, $first+1, ...`: numbered placeholders only; the values are always bound.
fn placeholders(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same as [`placeholders`] for a statement whose every parameter is in this list (or
/// in lists of this kind, in order): on SQLite, anonymous `?`s, bound by position. SQLite
/// takes `$n` for a name, and looks each one up through every name before it, when it
/// prepares the statement and again when each value is bound: a hundred rows of nine values
/// cost quadratic time on every insert.
fn positional(backend: Backend, n: usize, first: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; n].join(", "),
        Backend::Postgres => placeholders(n, first),
    }
}

/// Whether a store is opened to write, or (its file not writable) to read only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
}

/// Migrations whose SQL both backends share, and each backend's own (its first schema);
/// read from their folders at build time, so a new file is a new migration. Append new
/// migrations; never edit one that has shipped.
static SHARED: Migrator = sqlx::migrate!("src/store/migrations/shared");
static SQLITE: Migrator = sqlx::migrate!("src/store/migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// The schema's migrations for `backend`, in version order: its own and the shared ones.
fn migrator(backend: Backend) -> Migrator {
    let own = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    let mut steps: Vec<Migration> = own.iter().chain(SHARED.iter()).cloned().collect();
    steps.sort_by_key(|m| m.version);
    Migrator::with_migrations(steps)
}

/// The backend and the URL sqlx connects to.
fn connect_url(url: &str, access: Access) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    let Some(path) = crate::config::sqlite_path(url) else {
        return Err(StoreError::UnsupportedUrl(crate::secrets::redact_url(url)));
    };
    if path.is_empty() {
        return Err(StoreError::UnsupportedUrl(crate::secrets::redact_url(url)));
    }
    if path == ":memory:" {
        return Ok((Backend::Sqlite, "sqlite::memory:".into()));
    }
    if access == Access::ReadOnly {
        return Ok((Backend::Sqlite, format!("sqlite://{path}?mode=ro")));
    }
    if let Some(parent) = Path::new(&path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok((Backend::Sqlite, format!("sqlite://{path}?mode=rwc")))
}

/// SQLite's settings on every connection of a store opened to write. Temporary storage in
/// memory: a statement that adds a hundred articles keeps a journal of the pages it changes
/// (to undo itself alone), which otherwise spills to a temporary file, a write per page.
fn sqlite_pragmas() -> String {
    format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
    )
}

/// SQLite's settings on a read-only connection: no journal change, no write.
fn sqlite_read_pragmas() -> String {
    format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA query_only = ON;")
}

/// Connects once, and on SQLite sets the connection up as the pool will, so the real reason
/// a store cannot be used comes at once. Returns the URL the pool should use (a read-only
/// WAL file in a folder this user cannot write is read as immutable).
async fn probe(
    connect_url: &str,
    shown: &str,
    file: Option<&Path>,
    access: Access,
) -> Result<String, StoreError> {
    let attempt = |url: String| async move {
        let mut conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            <sqlx::AnyConnection as sqlx::Connection>::connect(&url),
        )
        .await
        .map_err(|_| StoreError::OpenTimeout {
            url: shown.to_string(),
        })?
        .map_err(|source| open_error(shown, file, source))?;
        if file.is_some() {
            let setup = match access {
                Access::ReadWrite => sqlite_pragmas(),
                Access::ReadOnly => sqlite_read_pragmas() + " SELECT count(*) FROM sqlite_master;",
            };
            let done = conn.execute(sqlx::AssertSqlSafe(setup)).await;
            let _ = sqlx::Connection::close(conn).await;
            done.map_err(|source| open_error(shown, file, source))?;
        } else {
            let _ = sqlx::Connection::close(conn).await;
        }
        Ok::<_, StoreError>(url)
    };
    // Processes opening one new file at once contend for the switch to WAL: wait them out.
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        match attempt(connect_url.to_string()).await {
            Err(StoreError::Open {
                source: ref e @ sqlx::Error::Database(_),
                ..
            }) if is_busy(e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(StoreError::ReadOnly { .. } | StoreError::Open { .. })
                if access == Access::ReadOnly =>
            {
                return attempt(format!("{connect_url}&immutable=1")).await;
            }
            other => return other,
        }
    }
}

/// An error opening a store; on SQLite, one that says the file cannot be written is
/// [`StoreError::ReadOnly`].
fn open_error(shown: &str, file: Option<&Path>, source: sqlx::Error) -> StoreError {
    if let (Some(path), sqlx::Error::Database(d)) = (file, &source) {
        let code = d.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
        // SQLITE_READONLY (8) and its extended codes; SQLITE_CANTOPEN (14) on a file that
        // exists (its folder or journal cannot be written).
        if code & 0xff == 8 || (code & 0xff == 14 && path.exists()) {
            return StoreError::ReadOnly {
                path: path.display().to_string(),
                reason: d.message().to_string(),
            };
        }
    }
    StoreError::Open {
        url: shown.to_string(),
        source: scrub_sqlx(source),
    }
}

fn pool_options(backend: Backend, connect_url: &str, access: Access) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
    match backend {
        Backend::Sqlite => options
            // In-memory SQLite is one database per connection: keep exactly one.
            .max_connections(if connect_url.contains(":memory:") {
                1
            } else {
                4
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    let setup = match access {
                        Access::ReadWrite => sqlite_pragmas(),
                        Access::ReadOnly => sqlite_read_pragmas(),
                    };
                    conn.execute(sqlx::AssertSqlSafe(setup)).await?;
                    Ok(())
                })
            }),
        Backend::Postgres => options.max_connections(8),
    }
}

/// A connection error whose text may echo the URL it was given (with its password): the
/// configuration variant is replaced by a redacted message.
fn scrub_sqlx(e: sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::Configuration(inner) => sqlx::Error::Configuration(
            crate::secrets::scrub(&inner.to_string())
                .into_owned()
                .into(),
        ),
        other => other,
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
    /// The URL of the article that starts a clustered story (its id is derived from it).
    pub seed_url: Option<&'a str>,
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
    /// The story with this upstream key, if any.
    pub(crate) async fn story_by_upstream_key(
        &mut self,
        key: &str,
    ) -> Result<Option<(StoryKey, StoryId)>, StoreError> {
        let row = sqlx::query("SELECT seq, id FROM stories WHERE upstream_key = $1")
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| {
            Ok((
                StoryKey(r.try_get("seq")?),
                StoryId::from_stored(r.try_get("id")?),
            ))
        })
        .transpose()
    }

    /// Whether a story id is taken.
    pub(crate) async fn id_taken(&mut self, id: &StoryId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM stories WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    /// Creates an empty story and returns its key.
    pub async fn insert_story(&mut self, s: NewStory<'_>) -> Result<StoryKey, StoreError> {
        let t = s.published.timestamp();
        let row = sqlx::query(
            "INSERT INTO stories (id, upstream_key, seed_url, title, key_points, first_published, last_updated, created) \
             VALUES ($1, $2, $3, $4, '[]', $5, $6, $7) RETURNING seq",
        )
        .bind(s.id.as_str())
        .bind(s.upstream_key)
        .bind(s.seed_url)
        .bind(s.title)
        .bind(t)
        .bind(t)
        .bind(s.now.timestamp())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(StoryKey(row.try_get("seq")?))
    }

    /// Marks that the clustering path wrote, and returns the new write generation.
    pub(crate) async fn bump_generation(&mut self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "UPDATE store_meta SET value = value + 1 WHERE name = 'write_generation' RETURNING value",
        )
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.try_get("value")?)
    }

    /// The write generation as this transaction sees it.
    pub(crate) async fn write_generation(&mut self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT value FROM store_meta WHERE name = 'write_generation'")
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?.unwrap_or(0))
    }

    /// Rewrites a story's summary and counts (from its outlet aggregates), bumps its revision
    /// and re-indexes it for search.
    pub async fn update_story(
        &mut self,
        key: StoryKey,
        u: StoryUpdate<'_>,
    ) -> Result<(), StoreError> {
        let seq = key.0;
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
               source_count = (SELECT COUNT(*) FROM story_outlets WHERE story_seq = $3), \
               article_count = (SELECT CAST(COALESCE(SUM(articles), 0) AS BIGINT) \
                                FROM story_outlets WHERE story_seq = $3), \
               first_published = COALESCE((SELECT MIN(first_published) FROM story_outlets \
                                           WHERE story_seq = $3), first_published), \
               last_updated = COALESCE((SELECT MAX(last_published) FROM story_outlets \
                                        WHERE story_seq = $3), last_updated), \
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
            key,
            u.title,
            &u.key_points.join("\n"),
            &headlines,
            title_changed,
        )
        .await
    }

    /// Moves every article of story `from` into story `into`; `from` is kept as a pointer, so
    /// its id still finds the merged story, and leaves the search index.
    /// Records that `story` continues the topic of `previous` (which reached its span).
    pub(crate) async fn set_follows(
        &mut self,
        story: StoryKey,
        previous: StoryKey,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE stories SET follows = $1 WHERE seq = $2")
            .bind(previous.0)
            .bind(story.0)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE stories SET next_story = $1 WHERE seq = $2 AND next_story IS NULL")
            .bind(story.0)
            .bind(previous.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn merge_story(&mut self, from: StoryKey, into: StoryKey) -> Result<(), StoreError> {
        let (from, into) = (from.0, into.0);
        sqlx::query("UPDATE articles SET story_seq = $1 WHERE story_seq = $2")
            .bind(into)
            .bind(from)
            .execute(&mut *self.tx)
            .await?;
        let sql = format!(
            "INSERT INTO story_outlets ({OUTLET_COLUMNS}) \
             SELECT $1, outlet_name, domain, articles, first_published, last_published, first_article \
             FROM story_outlets WHERE story_seq = $2 {}",
            articles::MERGE_OUTLET
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(into)
            .bind(from)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM story_outlets WHERE story_seq = $1")
            .bind(from)
            .execute(&mut *self.tx)
            .await?;
        // The topic's sequence goes through the surviving story, both ways.
        for column in ["follows", "next_story"] {
            let carry = format!(
                "UPDATE stories SET {column} = COALESCE({column}, \
                   (SELECT {column} FROM stories WHERE seq = $2)) WHERE seq = $1"
            );
            let repoint = format!("UPDATE stories SET {column} = $1 WHERE {column} = $2");
            let unloop =
                format!("UPDATE stories SET {column} = NULL WHERE seq = $1 AND {column} = $1");
            for sql in [carry, repoint] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(into)
                    .bind(from)
                    .execute(&mut *self.tx)
                    .await?;
            }
            sqlx::query(sqlx::AssertSqlSafe(unloop))
                .bind(into)
                .execute(&mut *self.tx)
                .await?;
        }
        sqlx::query("UPDATE stories SET merged_into = $1, article_count = 0, source_count = 0 WHERE seq = $2 OR merged_into = $2")
            .bind(into)
            .bind(from)
            .execute(&mut *self.tx)
            .await?;
        search::unindex_story(&mut self.tx, self.backend, StoryKey(from)).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

fn story_row(r: &AnyRow) -> Result<StoryRow, StoreError> {
    let key_points: String = r.try_get("key_points")?;
    let key_points = serde_json::from_str(&key_points)
        .map_err(|e| StoreError::Corrupt(format!("key points of a story: {e}")))?;
    Ok(StoryRow {
        key: StoryKey(r.try_get("seq")?),
        id: StoryId::from_stored(r.try_get("id")?),
        title: r.try_get("title")?,
        key_points,
        article_count: r.try_get("article_count")?,
        source_count: r.try_get("source_count")?,
        first_published: time(r.try_get("first_published")?)?,
        last_updated: time(r.try_get("last_updated")?)?,
        revision: r.try_get("revision")?,
        follows: r.try_get::<Option<i64>, _>("follows")?.map(StoryKey),
        next: r.try_get::<Option<i64>, _>("next_story")?.map(StoryKey),
    })
}

fn outlet_coverage(r: &AnyRow) -> Result<OutletCoverage, StoreError> {
    Ok(OutletCoverage {
        name: r.try_get("outlet_name")?,
        domain: r.try_get("domain")?,
        articles: r.try_get("articles")?,
        first_published: time(r.try_get("first_published")?)?,
        last_published: time(r.try_get("last_published")?)?,
        first_article: r.try_get("first_article")?,
    })
}

fn story(
    row: StoryRow,
    outlets: Vec<OutletCoverage>,
    sequence: Sequence,
    written: Option<WrittenSummary>,
) -> Story {
    Story {
        key: row.key,
        id: row.id,
        title: row.title,
        key_points: row.key_points,
        article_count: row.article_count,
        first_published: row.first_published,
        last_updated: row.last_updated,
        revision: row.revision,
        outlets,
        sequence,
        written,
    }
}

/// A stored Unix time; a value out of chrono's range means the row is damaged.
pub(crate) fn time(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_has_every_migration_once_and_stores_keep_their_checksums() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let m = migrator(backend);
            let versions: Vec<i64> = m.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=versions.len() as i64).collect();
            assert_eq!(
                versions, expected,
                "{backend:?}: versions 1 to N, none twice"
            );
            // Stores migrated before the folders were read by `migrate!` recorded the
            // checksum of the same SQL.
            for step in m.iter() {
                let again = Migration::new(
                    step.version,
                    step.description.clone(),
                    step.migration_type,
                    step.sql.clone(),
                    step.no_tx,
                );
                assert_eq!(again.checksum, step.checksum, "{}", step.version);
                assert!(!step.no_tx);
            }
        }
        assert_eq!(
            migrator(Backend::Sqlite).iter().count(),
            migrator(Backend::Postgres).iter().count()
        );
    }

    async fn new_story(tx: &mut StoreTx, seed: &str, now: DateTime<Utc>) -> (StoryKey, StoryId) {
        let id = StoryId::derive(seed, 8);
        let key = tx
            .insert_story(NewStory {
                id: &id,
                upstream_key: None,
                seed_url: None,
                title: seed,
                published: now,
                now,
            })
            .await
            .unwrap();
        (key, id)
    }

    #[tokio::test]
    async fn a_merge_keeps_the_topic_sequence_through_the_surviving_story() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        let now = Utc::now();
        let mut tx = store.begin().await.unwrap();
        let (a, a_id) = new_story(&mut tx, "first event", now).await;
        let (b, _) = new_story(&mut tx, "second event", now).await;
        let (c, c_id) = new_story(&mut tx, "second event, elsewhere", now).await;
        tx.set_follows(b, a).await.unwrap();
        // The continuation is folded into another new story: the link moves with it.
        tx.merge_story(b, c).await.unwrap();
        tx.commit().await.unwrap();
        let first = store.story(&a_id).await.unwrap().unwrap();
        assert_eq!(first.sequence.next.as_ref().map(|l| &l.id), Some(&c_id));
        let second = store.story(&c_id).await.unwrap().unwrap();
        assert_eq!(
            second.sequence.previous.as_ref().map(|l| &l.id),
            Some(&a_id)
        );
        assert_eq!(second.sequence.next, None);
    }
}

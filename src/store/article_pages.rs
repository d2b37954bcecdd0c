//! Article pages: the queue of pages to read (one row per article, queued in the batch that
//! stored the article), what each attempt gave, and the counts per host that `storybot
//! feeds`, `status`, `/metrics` and the operators' page show. The table outlives restarts, so
//! a stopped process resumes the queue where it was.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{placeholders, positional, Store, StoreError, StoreTx};
use crate::model::StoryKey;

/// A page due to be read.
#[derive(Debug, Clone, PartialEq)]
pub struct DuePage {
    pub article: i64,
    pub url: String,
    pub host: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a page gave that the feed did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageText {
    pub text: String,
    pub canonical_url: Option<String>,
    pub image: Option<String>,
    pub author: Option<String>,
    pub language: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The outcome of one attempt, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum PageOutcome {
    /// The page's text, used from now on in place of the feed's.
    Read(PageText),
    /// A paywall or consent page (`reason` names which): the feed text stays.
    Wall(&'static str),
    /// A 304: what was read before stays.
    Unchanged,
    /// Failed for `reason`; tried again at `retry_at`, or never when it is `None`.
    Failed {
        reason: &'static str,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// One host's pages, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostPages {
    pub host: String,
    pub queued: i64,
    pub read: i64,
    pub walls: i64,
    /// Failed pages by reason (`robots` for the refusals of robots.txt).
    pub failed: BTreeMap<String, i64>,
}

impl HostPages {
    pub fn failed_total(&self) -> i64 {
        self.failed.values().sum()
    }
}

impl StoreTx {
    /// Queues the pages of these stored articles (row, host), due at `now`.
    pub(super) async fn queue_pages(
        &mut self,
        pages: &[(i64, &str)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for chunk in pages.chunks(200) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| format!("({}, 'queued')", positional(self.backend, 3, r * 3 + 1)))
                .collect();
            let sql = format!(
                "INSERT INTO article_pages (article_seq, host, next_attempt, state) VALUES {} \
                 ON CONFLICT (article_seq) DO NOTHING",
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (seq, host) in chunk {
                q = q.bind(*seq).bind(*host).bind(now.timestamp());
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

impl Store {
    /// Up to `limit` pages due at `now`, at most `per_host` of each host, the longest
    /// waiting first.
    pub async fn due_pages(
        &self,
        now: DateTime<Utc>,
        per_host: i64,
        limit: i64,
    ) -> Result<Vec<DuePage>, StoreError> {
        let rows = sqlx::query(
            "SELECT q.article_seq, a.url, q.host, q.attempts, q.etag, q.last_modified FROM ( \
               SELECT article_seq, host, attempts, etag, last_modified, next_attempt, \
                 ROW_NUMBER() OVER (PARTITION BY host ORDER BY next_attempt, article_seq) AS turn \
               FROM article_pages WHERE state = 'queued' AND next_attempt <= $1 \
             ) q JOIN articles a ON a.seq = q.article_seq \
             WHERE q.turn <= $2 ORDER BY q.next_attempt, q.article_seq LIMIT $3",
        )
        .bind(now.timestamp())
        .bind(per_host)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DuePage {
                    article: r.try_get("article_seq")?,
                    url: r.try_get("url")?,
                    host: r.try_get("host")?,
                    attempts: r.try_get("attempts")?,
                    etag: r.try_get("etag")?,
                    last_modified: r.try_get("last_modified")?,
                })
            })
            .collect()
    }

    /// Stores an attempt's outcome (a text read awaits its story's summary).
    pub async fn record_page(
        &self,
        article: i64,
        outcome: &PageOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let at = now.timestamp();
        let q = match outcome {
            PageOutcome::Read(p) => sqlx::query(
                "UPDATE article_pages SET state = 'read', reason = NULL, attempts = attempts + 1, \
                 text = $2, canonical_url = $3, image = $4, author = $5, language = $6, \
                 published = $7, etag = $8, last_modified = $9, read_at = $10, \
                 awaiting_summary = 1 WHERE article_seq = $1",
            )
            .bind(article)
            .bind(crate::text::truncate_chars(&p.text, MAX_TEXT_CHARS))
            .bind(p.canonical_url.as_deref())
            .bind(p.image.as_deref())
            .bind(p.author.as_deref())
            .bind(p.language.as_deref())
            .bind(p.published.map(|t| t.timestamp()))
            .bind(p.etag.as_deref())
            .bind(p.last_modified.as_deref())
            .bind(at),
            PageOutcome::Wall(kind) => sqlx::query(
                "UPDATE article_pages SET state = 'wall', reason = $2, attempts = attempts + 1, \
                 text = NULL, read_at = $3 WHERE article_seq = $1",
            )
            .bind(article)
            .bind(*kind)
            .bind(at),
            PageOutcome::Unchanged => sqlx::query(
                "UPDATE article_pages SET state = CASE WHEN text IS NULL THEN 'unchanged' \
                 ELSE 'read' END, attempts = attempts + 1, read_at = $2 WHERE article_seq = $1",
            )
            .bind(article)
            .bind(at),
            PageOutcome::Failed { reason, retry_at } => sqlx::query(
                "UPDATE article_pages SET state = $2, reason = $3, attempts = attempts + 1, \
                 next_attempt = $4 WHERE article_seq = $1",
            )
            .bind(article)
            .bind(if retry_at.is_some() {
                "queued"
            } else {
                "failed"
            })
            .bind(*reason)
            .bind(retry_at.map_or(at, |t| t.timestamp())),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Up to `limit` articles whose new text their story has not been summarised with yet,
    /// with their stories.
    pub async fn texts_awaiting_summary(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, StoryKey)>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.article_seq, a.story_seq FROM article_pages p \
             JOIN articles a ON a.seq = p.article_seq WHERE p.awaiting_summary = 1 LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("article_seq")?, StoryKey(r.try_get("story_seq")?))))
            .collect()
    }

    /// Records that these articles' stories were summarised with their texts.
    pub async fn texts_summarised(&self, articles: &[i64]) -> Result<(), StoreError> {
        self.writable()?;
        for chunk in articles.chunks(500) {
            let sql = format!(
                "UPDATE article_pages SET awaiting_summary = 0 WHERE article_seq IN ({})",
                placeholders(chunk.len(), 1)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for a in chunk {
                q = q.bind(*a);
            }
            q.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Pages by host and outcome, the busiest hosts first, at most `limit` hosts.
    pub async fn page_counts(&self, limit: usize) -> Result<Vec<HostPages>, StoreError> {
        let rows = sqlx::query(
            "SELECT host, state, reason, COUNT(*) AS n FROM article_pages \
             GROUP BY host, state, reason",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut hosts: BTreeMap<String, HostPages> = BTreeMap::new();
        for r in &rows {
            let host: String = r.try_get("host")?;
            let state: String = r.try_get("state")?;
            let reason: Option<String> = r.try_get("reason")?;
            let n: i64 = r.try_get("n")?;
            let h = hosts.entry(host.clone()).or_insert_with(|| HostPages {
                host,
                ..HostPages::default()
            });
            match state.as_str() {
                "queued" => h.queued += n,
                "read" | "unchanged" => h.read += n,
                "wall" => h.walls += n,
                _ => {
                    let reason = reason.unwrap_or_else(|| "unknown".into());
                    *h.failed.entry(reason).or_default() += n;
                }
            }
        }
        let mut all: Vec<HostPages> = hosts.into_values().collect();
        all.sort_by_key(|h| {
            let total = h.queued + h.read + h.walls + h.failed_total();
            (std::cmp::Reverse(total), h.host.clone())
        });
        all.truncate(limit);
        Ok(all)
    }

    /// The lead image of the first of these articles whose page gave one (https, at most
    /// [`MAX_IMAGE_URL`] characters).
    pub async fn lead_image(&self, articles: &[i64]) -> Result<Option<String>, StoreError> {
        let articles = &articles[..articles.len().min(100)];
        if articles.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT article_seq, image FROM article_pages WHERE article_seq IN ({}) \
             AND image IS NOT NULL",
            placeholders(articles.len(), 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in articles {
            q = q.bind(*a);
        }
        let mut found: Vec<(usize, String)> = Vec::new();
        for r in q.fetch_all(&self.pool).await? {
            let seq: i64 = r.try_get("article_seq")?;
            let image: String = r.try_get("image")?;
            if image.starts_with("https://") && image.len() <= MAX_IMAGE_URL {
                let at = articles
                    .iter()
                    .position(|&a| a == seq)
                    .unwrap_or(usize::MAX);
                found.push((at, image));
            }
        }
        Ok(found.into_iter().min().map(|(_, image)| image))
    }
}

/// Longest image URL shown.
pub const MAX_IMAGE_URL: usize = 2_000;

/// Characters of a page's text kept.
pub const MAX_TEXT_CHARS: usize = 20_000;

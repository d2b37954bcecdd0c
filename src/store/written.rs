//! Written key points in the store: what a language model wrote for a story (after the
//! grounding check) and the latest attempt, so the queue asks once per revision of a story.
//!
//! A story is due when it has at least `min_sources` outlets and was never attempted, or has
//! grown by `growth_percent` since its latest attempt, or was attempted with another model or
//! prompt version. A failed attempt is recorded too (the story is not asked for again until
//! it grows), and keeps the points an earlier attempt wrote. Each attempt keeps the points
//! the grounding check dropped, with why, for operators ([`Store::written_attempts`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, StoryRow, STORY_COLUMNS};
use crate::model::{Framing, StoryId, StoryKey, WrittenPoint, WrittenSummary};

/// What makes a story due for writing.
#[derive(Debug, Clone)]
pub struct Due<'a> {
    pub min_sources: i64,
    pub growth_percent: i64,
    pub model: &'a str,
    pub prompt_version: i64,
    pub limit: i64,
}

/// A failed attempt at a story.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub story: StoryKey,
    pub article_count: i64,
    pub model: &'a str,
    pub prompt_version: i64,
    pub at: DateTime<Utc>,
    /// Why it failed, for operators.
    pub error: &'a str,
    /// The points the grounding check dropped.
    pub dropped: &'a [DroppedPoint],
}

/// A point the grounding check dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DroppedPoint {
    pub text: String,
    pub reason: String,
}

/// A story's latest attempt at written points, for operators.
#[derive(Debug, Clone)]
pub struct WrittenAttempt {
    pub story: StoryId,
    /// The story's own title (not the written one).
    pub title: String,
    pub at: DateTime<Utc>,
    pub model: String,
    /// Points kept, when the attempt succeeded.
    pub kept: Option<usize>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub dropped: Vec<DroppedPoint>,
}

impl Store {
    /// The written summaries of these stories, where there are any.
    pub(crate) async fn written(
        &self,
        keys: &[StoryKey],
    ) -> Result<HashMap<StoryKey, WrittenSummary>, StoreError> {
        let mut out = HashMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT story_seq, title, points, framing, model, prompt_version, written_at, \
               written_articles FROM written_summaries \
             WHERE title IS NOT NULL AND story_seq IN ({})",
            super::placeholders(keys.len(), 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in keys {
            q = q.bind(k.0);
        }
        for r in q.fetch_all(&self.pool).await? {
            let key = StoryKey(r.try_get("story_seq")?);
            out.insert(key, summary(&r)?);
        }
        Ok(out)
    }

    /// When the recorded attempts of the past were made, from `since` on (one per story: a
    /// story asked twice counts once).
    pub(crate) async fn attempts_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        sqlx::query(
            "SELECT attempted_at FROM written_summaries WHERE attempted_at >= $1 \
             ORDER BY attempted_at",
        )
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| super::time(r.try_get("attempted_at")?))
        .collect()
    }

    /// Stories due for writing, the most recently updated first.
    pub async fn due_for_writing(&self, due: &Due<'_>) -> Result<Vec<StoryRow>, StoreError> {
        let columns = STORY_COLUMNS
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM stories s \
               LEFT JOIN written_summaries w ON w.story_seq = s.seq \
             WHERE s.merged_into IS NULL AND s.source_count >= $1 \
               AND (w.story_seq IS NULL OR w.attempted_model <> $2 OR w.attempted_prompt <> $3 \
                    OR s.article_count * 100 >= w.attempted_articles * (100 + $4)) \
             ORDER BY s.last_updated DESC, s.seq DESC LIMIT $5"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(due.min_sources)
            .bind(due.model)
            .bind(due.prompt_version)
            .bind(due.growth_percent)
            .bind(due.limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(super::story_row)
            .collect()
    }

    /// Stores what the model wrote for a story (replacing earlier points) as its latest
    /// attempt, with the points the check dropped.
    pub async fn save_written(
        &self,
        story: StoryKey,
        w: &WrittenSummary,
        dropped: &[DroppedPoint],
    ) -> Result<(), StoreError> {
        let points = serde_json::to_string(&w.points).expect("points serialise");
        let framing = serde_json::to_string(&w.framing).expect("framing serialises");
        sqlx::query(
            "INSERT INTO written_summaries (story_seq, title, points, framing, model, prompt_version, \
               written_at, written_articles, attempted_at, attempted_articles, attempted_model, \
               attempted_prompt, last_error, dropped) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $8, $5, $6, NULL, $9) \
             ON CONFLICT (story_seq) DO UPDATE SET title = EXCLUDED.title, points = EXCLUDED.points, \
               framing = EXCLUDED.framing, model = EXCLUDED.model, \
               prompt_version = EXCLUDED.prompt_version, written_at = EXCLUDED.written_at, \
               written_articles = EXCLUDED.written_articles, attempted_at = EXCLUDED.attempted_at, \
               attempted_articles = EXCLUDED.attempted_articles, \
               attempted_model = EXCLUDED.attempted_model, \
               attempted_prompt = EXCLUDED.attempted_prompt, last_error = NULL, \
               dropped = EXCLUDED.dropped",
        )
        .bind(story.0)
        .bind(&w.title)
        .bind(&points)
        .bind(&framing)
        .bind(&w.model)
        .bind(w.prompt_version)
        .bind(w.written_at.timestamp())
        .bind(w.article_count)
        .bind(dropped_json(dropped))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: the story is not asked for again until it grows (or the
    /// model or prompt changes); points written earlier stay.
    pub async fn record_failed_attempt(&self, a: &Attempt<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO written_summaries (story_seq, attempted_at, attempted_articles, \
               attempted_model, attempted_prompt, last_error, dropped) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (story_seq) DO UPDATE SET attempted_at = EXCLUDED.attempted_at, \
               attempted_articles = EXCLUDED.attempted_articles, \
               attempted_model = EXCLUDED.attempted_model, \
               attempted_prompt = EXCLUDED.attempted_prompt, last_error = EXCLUDED.last_error, \
               dropped = EXCLUDED.dropped",
        )
        .bind(a.story.0)
        .bind(a.at.timestamp())
        .bind(a.article_count)
        .bind(a.model)
        .bind(a.prompt_version)
        .bind(crate::text::truncate_chars(a.error, 1000))
        .bind(dropped_json(a.dropped))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest attempts at written points, the newest first, up to `limit`.
    pub async fn written_attempts(&self, limit: i64) -> Result<Vec<WrittenAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.title AS story_title, w.attempted_at, w.attempted_model, w.points, \
               w.written_at, w.last_error, w.dropped \
             FROM written_summaries w JOIN stories s ON s.seq = w.story_seq \
             ORDER BY w.attempted_at DESC, w.story_seq DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt).collect()
    }
}

/// The dropped points as stored: JSON, each point and reason bounded.
fn dropped_json(dropped: &[DroppedPoint]) -> String {
    let bounded: Vec<DroppedPoint> = dropped
        .iter()
        .take(MAX_DROPPED)
        .map(|d| DroppedPoint {
            text: crate::text::truncate_chars(&d.text, 600),
            reason: crate::text::truncate_chars(&d.reason, 600),
        })
        .collect();
    serde_json::to_string(&bounded).expect("dropped points serialise")
}

/// Dropped points kept per attempt (the schema allows five points).
const MAX_DROPPED: usize = 10;

fn attempt(r: &sqlx::any::AnyRow) -> Result<WrittenAttempt, StoreError> {
    let points: Option<String> = r.try_get("points")?;
    let written_at: Option<i64> = r.try_get("written_at")?;
    let at: i64 = r.try_get("attempted_at")?;
    let error: Option<String> = r.try_get("last_error")?;
    // The points shown are the latest success's: counted only when this attempt made them.
    let kept = match (&points, error.is_none() && written_at == Some(at)) {
        (Some(p), true) => Some(
            serde_json::from_str::<Vec<WrittenPoint>>(p)
                .map_err(|e| StoreError::Corrupt(format!("written key points of a story: {e}")))?
                .len(),
        ),
        _ => None,
    };
    let dropped: Option<String> = r.try_get("dropped")?;
    let dropped = match dropped {
        Some(d) => serde_json::from_str(&d)
            .map_err(|e| StoreError::Corrupt(format!("dropped points of a story: {e}")))?,
        None => Vec::new(),
    };
    Ok(WrittenAttempt {
        story: StoryId::from_stored(r.try_get("id")?),
        title: r.try_get("story_title")?,
        at: super::time(at)?,
        model: r.try_get("attempted_model")?,
        kept,
        error,
        dropped,
    })
}

fn summary(r: &sqlx::any::AnyRow) -> Result<WrittenSummary, StoreError> {
    let corrupt = |what: &str, e: serde_json::Error| {
        StoreError::Corrupt(format!("written {what} of a story: {e}"))
    };
    let points: String = r.try_get("points")?;
    let framing: String = r.try_get("framing")?;
    Ok(WrittenSummary {
        title: r.try_get("title")?,
        points: serde_json::from_str::<Vec<WrittenPoint>>(&points)
            .map_err(|e| corrupt("key points", e))?,
        framing: serde_json::from_str::<Vec<Framing>>(&framing)
            .map_err(|e| corrupt("framing", e))?,
        model: r.try_get("model")?,
        prompt_version: r.try_get("prompt_version")?,
        written_at: super::time(r.try_get("written_at")?)?,
        article_count: r.try_get("written_articles")?,
    })
}

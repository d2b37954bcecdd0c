//! Feed state in the store: conditional-GET validators, health and schedule per feed URL.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};

/// What the store remembers about a feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedState {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Consecutive failures.
    pub failures: i64,
    /// Items in the last successful fetch.
    pub items: i64,
    pub next_fetch: Option<DateTime<Utc>>,
    /// Set when the feed was disabled after repeated failures.
    pub disabled_reason: Option<String>,
}

impl FeedState {
    /// `ok`, `new` (never fetched), `failing` or `DISABLED`, as `storybot feeds` shows it.
    pub fn status(&self) -> &'static str {
        match (&self.disabled_reason, self.failures) {
            (Some(_), _) => "DISABLED",
            (None, 0) if self.last_success.is_some() => "ok",
            (None, 0) => "new",
            (None, _) => "failing",
        }
    }
}

/// An optional stored time, through the store's one conversion (a damaged value is an error).
fn time(t: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    t.map(super::time).transpose()
}

impl Store {
    /// The stored state of a feed (a fresh default when never fetched).
    pub async fn feed_state(&self, url: &str) -> Result<FeedState, StoreError> {
        let row = sqlx::query(
            "SELECT url, etag, last_modified, last_success, last_error, last_error_at, failures, items, \
               next_fetch, disabled_reason FROM feeds WHERE url = $1",
        )
        .bind(url)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(FeedState {
                url: url.to_string(),
                ..Default::default()
            });
        };
        Ok(FeedState {
            url: r.try_get("url")?,
            etag: r.try_get("etag")?,
            last_modified: r.try_get("last_modified")?,
            last_success: time(r.try_get("last_success")?)?,
            last_error: r.try_get("last_error")?,
            last_error_at: time(r.try_get("last_error_at")?)?,
            failures: r.try_get("failures")?,
            items: r.try_get("items")?,
            // 0 stands for "not scheduled": fetch now.
            next_fetch: time(Some(r.try_get("next_fetch")?))?.filter(|t| t.timestamp() > 0),
            disabled_reason: r.try_get("disabled_reason")?,
        })
    }

    /// Writes a feed's state.
    pub(crate) async fn save_feed_state(&self, s: &FeedState) -> Result<(), StoreError> {
        self.writable()?;
        sqlx::query(
            "INSERT INTO feeds (url, etag, last_modified, last_success, last_error, last_error_at, failures, \
               items, next_fetch, disabled_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (url) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, \
               last_success = EXCLUDED.last_success, last_error = EXCLUDED.last_error, \
               last_error_at = EXCLUDED.last_error_at, failures = EXCLUDED.failures, items = EXCLUDED.items, \
               next_fetch = EXCLUDED.next_fetch, disabled_reason = EXCLUDED.disabled_reason",
        )
        .bind(&s.url)
        .bind(s.etag.as_deref())
        .bind(s.last_modified.as_deref())
        .bind(s.last_success.map(|t| t.timestamp()))
        .bind(s.last_error.as_deref())
        .bind(s.last_error_at.map(|t| t.timestamp()))
        .bind(s.failures)
        .bind(s.items)
        .bind(s.next_fetch.map_or(0, |t| t.timestamp()))
        .bind(s.disabled_reason.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

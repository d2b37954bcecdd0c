//! Reads that only the web pages make: a story's coverage timeline, an outlet's latest
//! articles, every subscription with its last post, and a health probe. Each is one bounded
//! query on an index.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::articles::{article, ARTICLE_COLUMNS};
use super::subscriptions::{subscription, COLUMNS};
use super::{time, Store, StoreError};
use crate::model::{Article, StoryId, Subscription};

/// Articles of one outlet in one time bucket of a story.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineCell {
    /// The bucket's start, a multiple of the bucket's length in Unix seconds.
    pub start: DateTime<Utc>,
    pub outlet: String,
    pub articles: i64,
}

/// An article with the story it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct OutletArticle {
    pub article: Article,
    pub story: StoryId,
    pub story_title: String,
}

/// A subscription and when it last posted.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionOverview {
    pub subscription: Subscription,
    pub last_post: Option<DateTime<Utc>>,
    pub pending: i64,
}

impl Store {
    /// A story's articles counted per outlet and per `bucket_secs` of publication time (from
    /// the index alone; the cost still grows with the story's articles).
    pub async fn story_timeline(
        &self,
        story: crate::model::StoryKey,
        bucket_secs: i64,
    ) -> Result<Vec<TimelineCell>, StoreError> {
        let bucket = bucket_secs.max(60);
        let rows = sqlx::query(
            "SELECT (published / $2) AS b, outlet_name, COUNT(*) AS n FROM articles \
             WHERE story_seq = $1 GROUP BY b, outlet_name",
        )
        .bind(story.0)
        .bind(bucket)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TimelineCell {
                    start: time(r.try_get::<i64, _>("b")? * bucket)?,
                    outlet: r.try_get("outlet_name")?,
                    articles: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// The latest `limit` articles stored under an outlet's name, with their stories.
    pub async fn outlet_articles(
        &self,
        outlet: &str,
        limit: i64,
    ) -> Result<Vec<OutletArticle>, StoreError> {
        let columns: String = ARTICLE_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, s.id AS story_id, s.title AS story_title FROM articles a \
             JOIN stories s ON s.seq = a.story_seq \
             WHERE a.outlet_name = $1 ORDER BY a.published DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(outlet)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OutletArticle {
                    article: article(r)?,
                    story: StoryId::from_stored(r.try_get("story_id")?),
                    story_title: r.try_get("story_title")?,
                })
            })
            .collect()
    }

    /// Up to `limit` subscriptions, by server, with their last post and pending posts.
    pub async fn subscriptions_overview(
        &self,
        limit: i64,
    ) -> Result<Vec<SubscriptionOverview>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, \
               (SELECT MAX(sent_at) FROM deliveries d WHERE d.subscription_id = subscriptions.id \
                  AND d.state = 'sent') AS last_post, \
               (SELECT COUNT(*) FROM deliveries d WHERE d.subscription_id = subscriptions.id \
                  AND d.state = 'pending') AS pending \
             FROM subscriptions ORDER BY guild_id, number LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SubscriptionOverview {
                    subscription: subscription(r)?,
                    last_post: r
                        .try_get::<Option<i64>, _>("last_post")?
                        .map(time)
                        .transpose()?,
                    pending: r.try_get("pending")?,
                })
            })
            .collect()
    }

    /// One round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.same_file()?;
        sqlx::query("SELECT 1 AS one").fetch_one(&self.pool).await?;
        Ok(())
    }
}

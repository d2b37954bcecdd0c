//! Subscriptions of Discord channels and the outbox of their deliveries.
//!
//! A match becomes one `deliveries` row per subscription, subject (a story id, or `briefing`)
//! and revision, unique, so matching can run any number of times and a delivery is recorded
//! once. The delivery worker moves rows from `pending` to `sent` (or `dropped` when too old,
//! `failed` when Discord refuses the payload); each row has a fixed nonce that Discord uses to
//! refuse a duplicate when a send is repeated after a crash.
//!
//! A paused subscription (its channel refused a post) is held: its rows are not handed out,
//! except its oldest one once per retry period (`retry_at`), as a probe. Rows that wait past
//! their age limit are dropped in one sweep ([`Store::expire_deliveries`]).
//!
//! Subscriptions are numbered per server (#1, #2, ...); the limit and duplicate checks and the
//! number are decided under the write lock (SQLite) or a per-server transaction lock
//! (Postgres), so two `/subscribe` at once cannot both pass a check meant for one.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{time, Backend, Store, StoreError, StoreTx};
use crate::model::{
    Delivery, DeliveryState, Follow, FollowKind, NewSubscription, StoryId, StoryKey, Subscription,
};

/// Why a new subscription was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("this server already has {limit} subscriptions, the most allowed")]
    Limit { limit: i64 },
    #[error("this channel already has that subscription")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(super) const COLUMNS: &str =
    "id, number, guild_id, channel_id, kind, query, story_id, min_sources, \
     brief_time, timezone, brief_count, watermark, last_count, last_sides, anchor_message, \
     created_by, created_at, paused_reason, retry_at";

pub(super) fn subscription(r: &AnyRow) -> Result<Subscription, StoreError> {
    let kind: String = r.try_get("kind")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("subscription {what}"));
    let text = |column: &str| -> Result<String, StoreError> {
        Ok(r.try_get::<Option<String>, _>(column)?.unwrap_or_default())
    };
    let follow = match FollowKind::parse(&kind).ok_or_else(|| corrupt(&format!("kind {kind:?}")))? {
        FollowKind::Topic => Follow::Topic {
            query: r.try_get("query")?,
            min_sources: r.try_get("min_sources")?,
        },
        FollowKind::Story => Follow::Story {
            story: StoryId::parse(&text("story_id")?).ok_or_else(|| corrupt("story id"))?,
        },
        FollowKind::Briefing => Follow::Briefing {
            time: crate::model::parse_time(&text("brief_time")?)
                .ok_or_else(|| corrupt("briefing time"))?,
            zone: crate::model::parse_zone(&text("timezone")?)
                .ok_or_else(|| corrupt("time zone"))?,
            count: r.try_get("brief_count")?,
        },
    };
    Ok(Subscription {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        guild_id: r.try_get::<i64, _>("guild_id")? as u64,
        channel_id: r.try_get::<i64, _>("channel_id")? as u64,
        follow,
        watermark: StoryKey(r.try_get("watermark")?),
        last_count: r.try_get("last_count")?,
        last_sides: r.try_get("last_sides")?,
        anchor_message: r
            .try_get::<Option<i64>, _>("anchor_message")?
            .map(|m| m as u64),
        created_by: r.try_get::<i64, _>("created_by")? as u64,
        created_at: time(r.try_get("created_at")?)?,
        paused_reason: r.try_get("paused_reason")?,
        retry_at: r
            .try_get::<Option<i64>, _>("retry_at")?
            .map(time)
            .transpose()?,
    })
}

fn delivery(r: &AnyRow) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: r.try_get("id")?,
        subscription_id: r.try_get("subscription_id")?,
        subject: r.try_get("subject")?,
        revision: r.try_get("revision")?,
        channel_id: r.try_get::<i64, _>("channel_id")? as u64,
        nonce: r.try_get("nonce")?,
        attempts: r.try_get("attempts")?,
        created_at: time(r.try_get("created_at")?)?,
    })
}

/// The Postgres advisory lock class of per-server subscription changes ("subs").
const GUILD_LOCK: i32 = 0x7375_6273;

/// The limit and duplicate checks of a new subscription, on a connection or transaction.
async fn check_subscribe(
    conn: &mut sqlx::AnyConnection,
    s: &NewSubscription,
    limit: i64,
) -> Result<(), SubscribeError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM subscriptions WHERE guild_id = $1")
        .bind(s.guild_id as i64)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from)?
        .try_get("n")
        .map_err(StoreError::from)?;
    if n >= limit {
        return Err(SubscribeError::Limit { limit });
    }
    let (query, story_id, _, brief_time, timezone, _) = follow_columns(&s.follow);
    let dup = sqlx::query(
        "SELECT id FROM subscriptions WHERE channel_id = $1 AND kind = $2 AND query = $3 \
         AND COALESCE(story_id, '') = $4 AND COALESCE(brief_time, '') = $5 \
         AND COALESCE(timezone, '') = $6",
    )
    .bind(s.channel_id as i64)
    .bind(s.follow.kind().as_str())
    .bind(&query)
    .bind(story_id.as_deref().unwrap_or(""))
    .bind(brief_time.as_deref().unwrap_or(""))
    .bind(timezone.as_deref().unwrap_or(""))
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    if dup.is_some() {
        return Err(SubscribeError::Duplicate);
    }
    Ok(())
}

/// The nonce of a delivery: fixed by its unique key, at most 25 characters (Discord's limit).
/// Records one delivery in the outbox, once per subscription, subject and revision; whether
/// it was new.
async fn insert_delivery(
    tx: &mut StoreTx,
    sub: &Subscription,
    subject: &str,
    revision: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO deliveries (subscription_id, subject, revision, channel_id, nonce, \
           next_attempt, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (subscription_id, subject, revision) DO NOTHING",
    )
    .bind(sub.id)
    .bind(subject)
    .bind(revision)
    .bind(sub.channel_id as i64)
    .bind(nonce(sub.id, subject, revision))
    .bind(now.timestamp())
    .bind(now.timestamp())
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

pub(crate) fn nonce(subscription_id: i64, subject: &str, revision: i64) -> String {
    let h = crate::fnv::hash(format!("{subscription_id}:{subject}:{revision}").as_bytes());
    format!("sb{h:016x}")
}

/// The columns of a new subscription's follow: (query, story id, min sources, time, zone,
/// count).
type FollowColumns = (
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    i64,
);

fn follow_columns(follow: &Follow) -> FollowColumns {
    match follow {
        Follow::Topic { query, min_sources } => (query.clone(), None, *min_sources, None, None, 0),
        Follow::Story { story } => (String::new(), Some(story.to_string()), 0, None, None, 0),
        Follow::Briefing { time, zone, count } => (
            String::new(),
            None,
            0,
            Some(time.format("%H:%M").to_string()),
            Some(zone.name().to_string()),
            *count,
        ),
    }
}

impl Store {
    /// Whether a subscription could be stored now (the server is under `limit` and the
    /// channel lacks it): checked before its confirmation is posted, and again, under a lock,
    /// when it is stored.
    pub(crate) async fn check_subscribe(
        &self,
        s: &NewSubscription,
        limit: i64,
    ) -> Result<(), SubscribeError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        check_subscribe(&mut conn, s, limit).await
    }

    /// Stores a subscription unless the server is at `limit` or the channel already has it;
    /// it gets the server's next number.
    pub async fn subscribe(
        &self,
        s: &NewSubscription,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Subscription, SubscribeError> {
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(GUILD_LOCK)
                .bind((s.guild_id % (i32::MAX as u64)) as i32)
                .execute(&mut *tx.tx)
                .await
                .map_err(StoreError::from)?;
        }
        check_subscribe(&mut tx.tx, s, limit).await?;
        let number: i64 = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM subscriptions WHERE guild_id = $1",
        )
        .bind(s.guild_id as i64)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(StoreError::from)?
        .try_get("n")
        .map_err(StoreError::from)?;
        let (query, story_id, min_sources, brief_time, timezone, brief_count) =
            follow_columns(&s.follow);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO subscriptions (number, guild_id, channel_id, kind, query, story_id, \
               min_sources, brief_time, timezone, brief_count, watermark, last_count, last_sides, \
               created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             RETURNING {COLUMNS}"
        )))
        .bind(number)
        .bind(s.guild_id as i64)
        .bind(s.channel_id as i64)
        .bind(s.follow.kind().as_str())
        .bind(query)
        .bind(story_id)
        .bind(min_sources)
        .bind(brief_time)
        .bind(timezone)
        .bind(brief_count)
        .bind(s.watermark.0)
        .bind(s.last_count)
        .bind(s.last_sides)
        .bind(s.created_by as i64)
        .bind(now.timestamp())
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(StoreError::from)?;
        let sub = subscription(&row)?;
        tx.commit().await?;
        Ok(sub)
    }

    /// A server's subscriptions, oldest first.
    pub(crate) async fn guild_subscriptions(
        &self,
        guild_id: u64,
    ) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE guild_id = $1 ORDER BY id"
        )))
        .bind(guild_id as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription).collect()
    }

    /// Every subscription of one kind.
    pub(crate) async fn subscriptions_of_kind(
        &self,
        kind: FollowKind,
    ) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE kind = $1 ORDER BY id"
        )))
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription).collect()
    }

    pub(crate) async fn subscription(&self, id: i64) -> Result<Option<Subscription>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subscription).transpose()
    }

    /// Removes a server's subscription (by its number) and its undelivered posts; false when
    /// there is none.
    pub(crate) async fn unsubscribe(&self, guild_id: u64, number: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id: Option<i64> =
            sqlx::query("SELECT id FROM subscriptions WHERE number = $1 AND guild_id = $2")
                .bind(number)
                .bind(guild_id as i64)
                .fetch_optional(&mut *tx.tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
        if let Some(id) = id {
            sqlx::query("DELETE FROM deliveries WHERE subscription_id = $1")
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
            sqlx::query("DELETE FROM subscriptions WHERE id = $1")
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id.is_some())
    }

    /// Pauses a subscription with the reason people will see, to be probed again at
    /// `retry_at`; `None` resumes it.
    pub(crate) async fn set_paused(
        &self,
        id: i64,
        pause: Option<(&str, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE subscriptions SET paused_reason = $1, paused_at = $2, retry_at = $3 \
             WHERE id = $4",
        )
        .bind(pause.map(|(why, _)| why))
        .bind(pause.map(|_| now.timestamp()))
        .bind(pause.map(|(_, at)| at.timestamp()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The message later updates of a subscription reply to.
    pub(crate) async fn set_anchor(&self, id: i64, message_id: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE subscriptions SET anchor_message = $1 WHERE id = $2")
            .bind(message_id as i64)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a match in the outbox (once: a second call for the same subscription, subject
    /// and revision does nothing) and, for a followed story, the coverage it was posted at.
    /// Returns whether a new delivery was recorded.
    pub(crate) async fn enqueue(
        &self,
        sub: &Subscription,
        subject: &str,
        revision: i64,
        progress: Option<(i64, i64)>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let inserted = insert_delivery(&mut tx, sub, subject, revision, now).await?;
        if let Some((count, sides)) = progress {
            sqlx::query("UPDATE subscriptions SET last_count = $1, last_sides = $2 WHERE id = $3")
                .bind(count)
                .bind(sides)
                .bind(sub.id)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Moves a story subscription on to the next event of its topic and records the post that
    /// says so (revision 0: a continuation, not a growth update), in one transaction.
    pub(crate) async fn enqueue_continuation(
        &self,
        sub: &Subscription,
        next: &StoryId,
        (count, sides): (i64, i64),
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let inserted = insert_delivery(&mut tx, sub, next.as_str(), 0, now).await?;
        sqlx::query(
            "UPDATE subscriptions SET story_id = $1, last_count = $2, last_sides = $3 WHERE id = $4",
        )
        .bind(next.as_str())
        .bind(count)
        .bind(sides)
        .bind(sub.id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Pending deliveries due by `now`, oldest first, in channels no other live process (seen
    /// since `live_since_ms`) than `owner` holds a claim on at `now_ms`. A paused subscription's rows are held, but for its
    /// oldest one once its `retry_at` has come (the probe).
    pub(crate) async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        (now_ms, live_since_ms): (i64, i64),
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.subscription_id, d.subject, d.revision, d.channel_id, d.nonce, \
               d.attempts, d.created_at \
             FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id \
             WHERE d.state = $3 AND d.next_attempt <= $1 \
               AND (s.paused_reason IS NULL \
                    OR (COALESCE(s.retry_at, 0) <= $1 \
                        AND d.id = (SELECT MIN(p.id) FROM deliveries p \
                                    WHERE p.subscription_id = s.id AND p.state = $3))) \
               AND NOT EXISTS (SELECT 1 FROM channel_claims c \
                               JOIN processes p ON p.id = c.owner \
                               WHERE c.channel_id = d.channel_id AND c.until >= $5 \
                                 AND c.owner <> $4 AND p.seen_at >= $6) \
             ORDER BY d.id LIMIT $2",
        )
        .bind(now.timestamp())
        .bind(limit)
        .bind(DeliveryState::Pending.as_str())
        .bind(owner)
        .bind(now_ms)
        .bind(live_since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery).collect()
    }

    /// When the next pending delivery of an active subscription is due, if any.
    pub(crate) async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(d.next_attempt) AS t FROM deliveries d \
             JOIN subscriptions s ON s.id = d.subscription_id \
             WHERE d.state = $1 AND s.paused_reason IS NULL",
        )
        .bind(DeliveryState::Pending.as_str())
        .fetch_one(&self.pool)
        .await?;
        row.try_get::<Option<i64>, _>("t")?.map(time).transpose()
    }

    /// Drops every pending delivery created before `cutoff` (not sent in time: Discord down,
    /// or its subscription paused), with `reason`; returns how many.
    pub(crate) async fn expire_deliveries(
        &self,
        cutoff: DateTime<Utc>,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET state = $3, error = $1 WHERE state = $4 AND created_at < $2",
        )
        .bind(reason)
        .bind(cutoff.timestamp())
        .bind(DeliveryState::Dropped.as_str())
        .bind(DeliveryState::Pending.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// A delivery reached Discord as message `message_id`.
    pub(crate) async fn mark_sent(
        &self,
        id: i64,
        message_id: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deliveries SET state = $4, sent_at = $1, message_id = $2, \
               attempts = attempts + 1, error = NULL WHERE id = $3",
        )
        .bind(now.timestamp())
        .bind(message_id as i64)
        .bind(id)
        .bind(DeliveryState::Sent.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A delivery ends unsent: `dropped` (too old) or `failed` (refused), with the reason.
    pub(crate) async fn mark_unsent(
        &self,
        id: i64,
        state: DeliveryState,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE deliveries SET state = $1, error = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A delivery is tried again at `at`.
    pub(crate) async fn retry_delivery(
        &self,
        id: i64,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt = $1, error = $2 \
             WHERE id = $3",
        )
        .bind(at.timestamp())
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts of deliveries per state, for logs and tests.
    pub async fn delivery_counts(&self) -> Result<Vec<(DeliveryState, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                let state = DeliveryState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?;
                Ok((state, r.try_get("n")?))
            })
            .collect()
    }

    /// The newest story (the watermark of a new topic subscription: no backfill).
    pub(crate) async fn newest_story(&self) -> Result<StoryKey, StoreError> {
        let row = sqlx::query("SELECT MAX(seq) AS m FROM stories")
            .fetch_one(&self.pool)
            .await?;
        Ok(StoryKey(row.try_get::<Option<i64>, _>("m")?.unwrap_or(0)))
    }
}

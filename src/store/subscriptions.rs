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
    ChannelKind, Delivery, DeliveryState, Follow, FollowKind, NewSubscription, PostOptions, Side,
    SideFilter, StoryId, StoryKey, StoryPost, Subscription, Updates,
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
     created_by, created_at, paused_reason, retry_at, channel_kind, role_id, exclude_words, \
     side_filter, max_per_day, updates, thread_id, blindspot_side";

pub(super) fn subscription(r: &AnyRow) -> Result<Subscription, StoreError> {
    let kind: String = r.try_get("kind")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("subscription {what}"));
    let text = |column: &str| -> Result<String, StoreError> {
        Ok(r.try_get::<Option<String>, _>(column)?.unwrap_or_default())
    };
    let follow = match FollowKind::parse(&kind).ok_or_else(|| corrupt(&format!("kind {kind:?}")))? {
        FollowKind::Topic => Follow::Topic {
            query: r.try_get("query")?,
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
        FollowKind::Blindspot => Follow::Blindspot {
            side: side(&text("blindspot_side")?).map_err(|()| corrupt("blindspot side"))?,
        },
    };
    Ok(Subscription {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        guild_id: r.try_get::<i64, _>("guild_id")? as u64,
        channel_id: r.try_get::<i64, _>("channel_id")? as u64,
        channel_kind: ChannelKind::parse(&r.try_get::<String, _>("channel_kind")?)
            .ok_or_else(|| corrupt("channel kind"))?,
        follow,
        options: options(r)?,
        watermark: StoryKey(r.try_get("watermark")?),
        last_count: r.try_get("last_count")?,
        last_sides: r.try_get("last_sides")?,
        anchor_message: r
            .try_get::<Option<i64>, _>("anchor_message")?
            .map(|m| m as u64),
        thread_id: r.try_get::<Option<i64>, _>("thread_id")?.map(|m| m as u64),
        created_by: r.try_get::<i64, _>("created_by")? as u64,
        created_at: time(r.try_get("created_at")?)?,
        paused_reason: r.try_get("paused_reason")?,
        retry_at: r
            .try_get::<Option<i64>, _>("retry_at")?
            .map(time)
            .transpose()?,
    })
}

/// A stored side: `left`, `right`, `center`, or none (empty).
fn side(s: &str) -> Result<Option<Side>, ()> {
    Ok(Some(match s {
        "" => return Ok(None),
        "left" => Side::Left,
        "center" => Side::Center,
        "right" => Side::Right,
        _ => return Err(()),
    }))
}

fn side_text(side: Option<Side>) -> &'static str {
    match side {
        None => "",
        Some(Side::Left) => "left",
        Some(Side::Center) => "center",
        Some(Side::Right) => "right",
    }
}

fn options(r: &AnyRow) -> Result<PostOptions, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("subscription {what}"));
    let exclude: String = r.try_get("exclude_words")?;
    let side_filter: Option<String> = r.try_get("side_filter")?;
    Ok(PostOptions {
        role: r.try_get::<Option<i64>, _>("role_id")?.map(|m| m as u64),
        exclude: exclude.split_whitespace().map(str::to_string).collect(),
        side: side_filter
            .map(|f| SideFilter::parse(&f).map_err(|_| corrupt("side filter")))
            .transpose()?,
        min_sources: r.try_get("min_sources")?,
        max_per_day: r.try_get("max_per_day")?,
        updates: Updates::parse(&r.try_get::<String, _>("updates")?)
            .ok_or_else(|| corrupt("updates"))?,
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
        sending_at: r
            .try_get::<Option<i64>, _>("sending_at")?
            .map(time)
            .transpose()?,
    })
}

/// The columns [`delivery`] reads, of `deliveries d`.
const DELIVERY_COLUMNS: &str = "d.id, d.subscription_id, d.subject, d.revision, d.channel_id, \
     d.nonce, d.attempts, d.created_at, d.sending_at";

/// What a sent delivery did, recorded with it by [`Store::record_sent`].
#[derive(Debug, Default)]
pub(crate) struct Sent<'a> {
    pub delivery: i64,
    pub subscription: i64,
    pub message_id: u64,
    /// Where it was posted (a forum post's thread, a thread, or the channel).
    pub channel_id: u64,
    /// Held rows its short list carried.
    pub listed: &'a [i64],
    pub story_post: Option<StoryPost>,
    /// A followed story's updates go into this thread from now on.
    pub thread: Option<u64>,
}

fn story_post(r: &AnyRow) -> Result<StoryPost, StoreError> {
    let id: String = r.try_get("story_id")?;
    Ok(StoryPost {
        story: StoryId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("story post of {id:?}")))?,
        channel_id: r.try_get::<i64, _>("channel_id")? as u64,
        message_id: r.try_get::<i64, _>("message_id")? as u64,
        last_count: r.try_get("last_count")?,
        last_sides: r.try_get("last_sides")?,
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
    let f = follow_columns(&s.follow);
    let dup = sqlx::query(
        "SELECT id FROM subscriptions WHERE channel_id = $1 AND kind = $2 AND query = $3 \
         AND COALESCE(story_id, '') = $4 AND COALESCE(brief_time, '') = $5 \
         AND COALESCE(timezone, '') = $6 AND COALESCE(blindspot_side, '') = $7",
    )
    .bind(s.channel_id as i64)
    .bind(s.follow.kind().as_str())
    .bind(&f.query)
    .bind(f.story_id.as_deref().unwrap_or(""))
    .bind(f.brief_time.as_deref().unwrap_or(""))
    .bind(f.timezone.as_deref().unwrap_or(""))
    .bind(f.blindspot_side)
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
    let state = if over_daily_limit(tx, sub, subject, now).await? {
        DeliveryState::Held
    } else {
        DeliveryState::Pending
    };
    let inserted = sqlx::query(
        "INSERT INTO deliveries (subscription_id, subject, revision, channel_id, nonce, \
           next_attempt, created_at, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (subscription_id, subject, revision) DO NOTHING",
    )
    .bind(sub.id)
    .bind(subject)
    .bind(revision)
    .bind(sub.channel_id as i64)
    .bind(nonce(sub.id, subject, revision))
    .bind(now.timestamp())
    .bind(now.timestamp())
    .bind(state.as_str())
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// The subject of the short list of held posts.
pub(crate) const HELD_LIST: &str = "held";

/// The start (UTC midnight) of the day `now` is in: the day `max_per_day` counts.
pub(crate) fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Whether a new post of `sub` would go over its `max_per_day` (the short list and briefings
/// never count, nor do posts held already).
async fn over_daily_limit(
    tx: &mut StoreTx,
    sub: &Subscription,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let max = sub.options.max_per_day;
    if max <= 0 || subject == HELD_LIST || matches!(sub.follow, Follow::Briefing { .. }) {
        return Ok(false);
    }
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM deliveries WHERE subscription_id = $1 AND created_at >= $2 \
           AND subject <> $3 AND state NOT IN ($4, $5)",
    )
    .bind(sub.id)
    .bind(day_start(now).timestamp())
    .bind(HELD_LIST)
    .bind(DeliveryState::Held.as_str())
    .bind(DeliveryState::Listed.as_str())
    .fetch_one(&mut *tx.tx)
    .await?
    .try_get("n")?;
    Ok(n >= max)
}

pub(crate) fn nonce(subscription_id: i64, subject: &str, revision: i64) -> String {
    let h = crate::fnv::hash(format!("{subscription_id}:{subject}:{revision}").as_bytes());
    format!("sb{h:016x}")
}

/// The columns of a subscription's follow.
#[derive(Default)]
struct FollowColumns {
    query: String,
    story_id: Option<String>,
    brief_time: Option<String>,
    timezone: Option<String>,
    brief_count: i64,
    blindspot_side: &'static str,
}

fn follow_columns(follow: &Follow) -> FollowColumns {
    match follow {
        Follow::Topic { query } => FollowColumns {
            query: query.clone(),
            ..FollowColumns::default()
        },
        Follow::Story { story } => FollowColumns {
            story_id: Some(story.to_string()),
            ..FollowColumns::default()
        },
        Follow::Briefing { time, zone, count } => FollowColumns {
            brief_time: Some(time.format("%H:%M").to_string()),
            timezone: Some(zone.name().to_string()),
            brief_count: *count,
            ..FollowColumns::default()
        },
        Follow::Blindspot { side } => FollowColumns {
            blindspot_side: side_text(*side),
            ..FollowColumns::default()
        },
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
        let f = follow_columns(&s.follow);
        let o = &s.options;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO subscriptions (number, guild_id, channel_id, kind, query, story_id, \
               min_sources, brief_time, timezone, brief_count, watermark, last_count, last_sides, \
               created_by, created_at, channel_kind, blindspot_side, role_id, exclude_words, \
               side_filter, max_per_day, updates) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
               $18, $19, $20, $21, $22) \
             RETURNING {COLUMNS}"
        )))
        .bind(number)
        .bind(s.guild_id as i64)
        .bind(s.channel_id as i64)
        .bind(s.follow.kind().as_str())
        .bind(f.query)
        .bind(f.story_id)
        .bind(o.min_sources)
        .bind(f.brief_time)
        .bind(f.timezone)
        .bind(f.brief_count)
        .bind(s.watermark.0)
        .bind(s.last_count)
        .bind(s.last_sides)
        .bind(s.created_by as i64)
        .bind(now.timestamp())
        .bind(s.channel_kind.as_str())
        .bind(f.blindspot_side)
        .bind(o.role.map(|r| r as i64))
        .bind(o.exclude.join(" "))
        .bind(o.side.map(SideFilter::text))
        .bind(o.max_per_day)
        .bind(o.updates.as_str())
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(StoreError::from)?;
        let sub = subscription(&row)?;
        tx.commit().await?;
        Ok(sub)
    }

    /// Replaces the options of a server's subscription (by its number); `None` when there is
    /// no such subscription.
    pub(crate) async fn set_options(
        &self,
        guild_id: u64,
        number: i64,
        o: &PostOptions,
    ) -> Result<Option<Subscription>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE subscriptions SET role_id = $1, exclude_words = $2, side_filter = $3, \
               min_sources = $4, max_per_day = $5, updates = $6 \
             WHERE guild_id = $7 AND number = $8 RETURNING {COLUMNS}"
        )))
        .bind(o.role.map(|r| r as i64))
        .bind(o.exclude.join(" "))
        .bind(o.side.map(SideFilter::text))
        .bind(o.min_sources)
        .bind(o.max_per_day)
        .bind(o.updates.as_str())
        .bind(guild_id as i64)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subscription).transpose()
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} \
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
             ORDER BY d.id LIMIT $2"
        )))
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

    /// A forum post is about to be sent: if the outcome is lost, the next attempt looks for
    /// it first.
    pub(crate) async fn mark_sending(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE deliveries SET sending_at = $1 WHERE id = $2 AND sending_at IS NULL")
            .bind(now.timestamp())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether `channel` (a thread) is already recorded as the post of a delivery, a story
    /// post or a followed story: a forum post found after a lost answer must be none of them.
    pub(crate) async fn thread_known(&self, channel: u64) -> Result<bool, StoreError> {
        let c = channel as i64;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE posted_channel = $1) \
                  + (SELECT COUNT(*) FROM story_posts WHERE channel_id = $1) \
                  + (SELECT COUNT(*) FROM subscriptions WHERE thread_id = $1) AS n",
        )
        .bind(c)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Records a sent delivery with what it did besides: the thread it posted in, the story
    /// post it made (topic and blindspot), the held rows its short list carried, the thread
    /// a followed story's updates now go into. One transaction: all or nothing.
    pub(crate) async fn record_sent(
        &self,
        sent: &Sent<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE deliveries SET state = $4, sent_at = $1, message_id = $2, \
               attempts = attempts + 1, error = NULL, posted_channel = $5 WHERE id = $3",
        )
        .bind(now.timestamp())
        .bind(sent.message_id as i64)
        .bind(sent.delivery)
        .bind(DeliveryState::Sent.as_str())
        .bind(sent.channel_id as i64)
        .execute(&mut *tx.tx)
        .await?;
        for id in sent.listed {
            sqlx::query(
                "UPDATE deliveries SET state = $1, message_id = $2 WHERE id = $3 AND state = $4",
            )
            .bind(DeliveryState::Listed.as_str())
            .bind(sent.message_id as i64)
            .bind(*id)
            .bind(DeliveryState::Held.as_str())
            .execute(&mut *tx.tx)
            .await?;
        }
        if let Some(p) = &sent.story_post {
            sqlx::query(
                "INSERT INTO story_posts (subscription_id, story_id, channel_id, message_id, \
                   last_count, last_sides, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (subscription_id, story_id) DO UPDATE SET \
                   channel_id = excluded.channel_id, message_id = excluded.message_id, \
                   last_count = excluded.last_count, last_sides = excluded.last_sides",
            )
            .bind(sent.subscription)
            .bind(p.story.as_str())
            .bind(p.channel_id as i64)
            .bind(p.message_id as i64)
            .bind(p.last_count)
            .bind(p.last_sides)
            .bind(now.timestamp())
            .execute(&mut *tx.tx)
            .await?;
        }
        if let Some(thread) = sent.thread {
            sqlx::query("UPDATE subscriptions SET thread_id = $1 WHERE id = $2")
                .bind(thread as i64)
                .bind(sent.subscription)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await
    }

    /// A subscription's story posts made since `since`, newest first, at most `limit`.
    pub(crate) async fn story_posts(
        &self,
        subscription: i64,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<StoryPost>, StoreError> {
        let rows = sqlx::query(
            "SELECT story_id, channel_id, message_id, last_count, last_sides FROM story_posts \
             WHERE subscription_id = $1 AND posted_at >= $3 \
             ORDER BY posted_at DESC, story_id LIMIT $2",
        )
        .bind(subscription)
        .bind(limit)
        .bind(since.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(story_post).collect()
    }

    /// The post a subscription made of `story`, if any.
    pub(crate) async fn story_post(
        &self,
        subscription: i64,
        story: &str,
    ) -> Result<Option<StoryPost>, StoreError> {
        let row = sqlx::query(
            "SELECT story_id, channel_id, message_id, last_count, last_sides FROM story_posts \
             WHERE subscription_id = $1 AND story_id = $2",
        )
        .bind(subscription)
        .bind(story)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(story_post).transpose()
    }

    /// Records an update of a posted story in the outbox and the coverage it was matched at,
    /// in one transaction; whether a new delivery was recorded.
    pub(crate) async fn enqueue_update(
        &self,
        sub: &Subscription,
        story: &StoryId,
        (count, sides): (i64, i64),
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let inserted = insert_delivery(&mut tx, sub, story.as_str(), count, now).await?;
        sqlx::query(
            "UPDATE story_posts SET last_count = $1, last_sides = $2 \
             WHERE subscription_id = $3 AND story_id = $4",
        )
        .bind(count)
        .bind(sides)
        .bind(sub.id)
        .bind(story.as_str())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// A subscription's held posts created before `before`, oldest first, at most `limit`
    /// (what its short list carries).
    pub(crate) async fn held(
        &self,
        subscription: i64,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.subscription_id = $1 \
               AND d.state = $2 AND d.created_at < $3 ORDER BY d.id LIMIT $4"
        )))
        .bind(subscription)
        .bind(DeliveryState::Held.as_str())
        .bind(before.timestamp())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery).collect()
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

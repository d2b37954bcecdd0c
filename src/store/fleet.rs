//! The store's side of several processes sharing it: the process table, channel claims for
//! delivery, and the bot's one global REST budget (see `fleet/` for the logic).
//!
//! Times here are Unix milliseconds on the processes' clocks (kept in step by NTP; every
//! lease is far longer than any skew), except the REST budget, which runs on the database's
//! clock so that processes on several machines pace as one.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{placeholders, Backend, Store, StoreError};

/// A process as the process table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRow {
    pub id: String,
    pub host: String,
    pub pid: i64,
    /// `run` or `ingest`.
    pub command: String,
    pub version: String,
    /// The gateway shards it holds: `Some((first, last, total))`, `total` 0 for autosharded.
    pub shards: Option<(i64, i64, i64)>,
    pub leader: bool,
    pub started_at_ms: i64,
    pub seen_at_ms: i64,
}

/// The outbox at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    pub pending: i64,
    /// When the oldest pending row was recorded (Unix seconds).
    pub oldest_pending: Option<i64>,
    pub paused_subscriptions: i64,
    /// Posts held over a subscription's `max_per_day`, for the next day's short list.
    pub held: i64,
}

/// The feeds at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedSummary {
    pub feeds: i64,
    pub failing: i64,
    pub disabled: i64,
    /// The latest successful fetch of any feed (Unix seconds).
    pub last_success: Option<i64>,
    /// When the newest article was stored (Unix seconds).
    pub last_article: Option<i64>,
}

const PROCESS_COLUMNS: &str = "id, host, pid, command, version, shard_first, shard_last, \
     shard_total, leader, started_at, seen_at";

fn process(r: &AnyRow) -> Result<ProcessRow, StoreError> {
    let first: Option<i64> = r.try_get("shard_first")?;
    let last: Option<i64> = r.try_get("shard_last")?;
    let total: Option<i64> = r.try_get("shard_total")?;
    Ok(ProcessRow {
        id: r.try_get("id")?,
        host: r.try_get("host")?,
        pid: r.try_get("pid")?,
        command: r.try_get("command")?,
        version: r.try_get("version")?,
        shards: first.zip(last).zip(total).map(|((f, l), t)| (f, l, t)),
        leader: r.try_get::<i64, _>("leader")? != 0,
        started_at_ms: r.try_get("started_at")?,
        seen_at_ms: r.try_get("seen_at")?,
    })
}

impl Store {
    /// Records `p` in the process table, unless a process seen since `live_since_ms` holds a
    /// shard `p` would hold: then nothing is recorded and those processes are returned. Rows
    /// not seen since `forget_before_ms` are removed on the way. One registration at a time.
    pub(crate) async fn register_process(
        &self,
        p: &ProcessRow,
        live_since_ms: i64,
        forget_before_ms: i64,
    ) -> Result<Vec<ProcessRow>, StoreError> {
        self.writable()?;
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(self.lock_key("registry"))
                .execute(&mut *tx.tx)
                .await?;
        }
        sqlx::query("DELETE FROM processes WHERE seen_at < $1")
            .bind(forget_before_ms)
            .execute(&mut *tx.tx)
            .await?;
        let live = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROCESS_COLUMNS} FROM processes WHERE seen_at >= $1 ORDER BY started_at"
        )))
        .bind(live_since_ms)
        .fetch_all(&mut *tx.tx)
        .await?;
        let live = live.iter().map(process).collect::<Result<Vec<_>, _>>()?;
        let clashes: Vec<ProcessRow> = live
            .into_iter()
            .filter(|o| shards_overlap(o.shards, p.shards))
            .collect();
        if !clashes.is_empty() {
            return Ok(clashes);
        }
        let (first, last, total) = match p.shards {
            Some((f, l, t)) => (Some(f), Some(l), Some(t)),
            None => (None, None, None),
        };
        sqlx::query(
            "INSERT INTO processes (id, host, pid, command, version, shard_first, shard_last, \
               shard_total, leader, started_at, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.id)
        .bind(&p.host)
        .bind(p.pid)
        .bind(&p.command)
        .bind(&p.version)
        .bind(first)
        .bind(last)
        .bind(total)
        .bind(i64::from(p.leader))
        .bind(p.started_at_ms)
        .bind(p.seen_at_ms)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(Vec::new())
    }

    /// Refreshes a process's row; `false` when the row is gone (forgotten after a long stall).
    /// A leader's refresh also clears the flag of any other row (a leader that died keeps it).
    pub(crate) async fn heartbeat(
        &self,
        id: &str,
        now_ms: i64,
        leader: bool,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        if leader {
            sqlx::query("UPDATE processes SET leader = 0 WHERE leader = 1 AND id <> $1")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        let done = sqlx::query("UPDATE processes SET seen_at = $1, leader = $2 WHERE id = $3")
            .bind(now_ms)
            .bind(i64::from(leader))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a process's row (at a clean shutdown), and releases its channel claims.
    pub(crate) async fn remove_process(&self, id: &str) -> Result<(), StoreError> {
        self.writable()?;
        sqlx::query("DELETE FROM channel_claims WHERE owner = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM processes WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every process in the table, oldest first.
    pub async fn processes(&self) -> Result<Vec<ProcessRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROCESS_COLUMNS} FROM processes ORDER BY started_at, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(process).collect()
    }

    /// Forgets every process and claim (on SQLite, once this process holds the file's lock:
    /// no other service process can be alive).
    pub(crate) async fn forget_processes(&self) -> Result<(), StoreError> {
        self.writable()?;
        sqlx::query("DELETE FROM channel_claims")
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM processes")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims `channels` for `owner` until `until_ms`: those free, expired (before `now_ms`),
    /// held by a process not seen since `live_since_ms` (dead), or already `owner`'s.
    /// Returns the channels claimed.
    pub(crate) async fn claim_channels(
        &self,
        owner: &str,
        channels: &[u64],
        (now_ms, live_since_ms): (i64, i64),
        until_ms: i64,
    ) -> Result<Vec<u64>, StoreError> {
        self.writable()?;
        let mut claimed = Vec::with_capacity(channels.len());
        for chunk in channels.chunks(200) {
            let values = (0..chunk.len())
                .map(|i| format!("(${}, $1, $2)", i + 5))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO channel_claims (channel_id, owner, until) VALUES {values} \
                 ON CONFLICT (channel_id) DO UPDATE SET owner = EXCLUDED.owner, \
                   until = EXCLUDED.until \
                 WHERE channel_claims.until < $3 OR channel_claims.owner = EXCLUDED.owner \
                   OR NOT EXISTS (SELECT 1 FROM processes p \
                                  WHERE p.id = channel_claims.owner AND p.seen_at >= $4) \
                 RETURNING channel_id"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(until_ms)
                .bind(now_ms)
                .bind(live_since_ms);
            for c in chunk {
                q = q.bind(*c as i64);
            }
            for r in q.fetch_all(&self.pool).await? {
                claimed.push(r.try_get::<i64, _>("channel_id")? as u64);
            }
        }
        Ok(claimed)
    }

    /// Gives up `owner`'s claims on `channels`.
    pub(crate) async fn release_channels(
        &self,
        owner: &str,
        channels: &[u64],
    ) -> Result<(), StoreError> {
        self.writable()?;
        for chunk in channels.chunks(200) {
            let sql = format!(
                "DELETE FROM channel_claims WHERE owner = $1 AND channel_id IN ({})",
                placeholders(chunk.len(), 2)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner);
            for c in chunk {
                q = q.bind(*c as i64);
            }
            q.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Whether a delivery is still pending (another process may have sent it meanwhile).
    pub(crate) async fn delivery_pending(&self, id: i64) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT state FROM deliveries WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<String, _>("state")? == "pending",
            None => false,
        })
    }

    /// Takes the next slot of the shared REST budget, `interval_us` after the one before
    /// (Postgres only); returns how long after the database's "now" it is, in microseconds.
    pub(crate) async fn rest_slot(&self, interval_us: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "WITH now AS (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT AS us) \
             UPDATE rest_pace SET next_us = GREATEST(rest_pace.next_us, now.us) + $1 \
             FROM now WHERE rest_pace.id = 1 \
             RETURNING rest_pace.next_us - $1 - now.us AS wait_us",
        )
        .bind(interval_us)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("wait_us")?.max(0))
    }

    /// Holds every process's globally limited requests back for `wait_us` (after a global
    /// 429; Postgres only).
    pub(crate) async fn rest_block(&self, wait_us: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE rest_pace SET next_us = GREATEST(next_us, \
               (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT + $1) WHERE id = 1",
        )
        .bind(wait_us)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Pending deliveries, the oldest one's time, and paused subscriptions.
    pub async fn outbox_summary(&self) -> Result<OutboxSummary, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        let paused =
            sqlx::query("SELECT COUNT(*) AS n FROM subscriptions WHERE paused_reason IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        let held = sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE state = 'held'")
            .fetch_one(&self.pool)
            .await?;
        Ok(OutboxSummary {
            held: held.try_get("n")?,
            pending: r.try_get("n")?,
            oldest_pending: r.try_get("oldest")?,
            paused_subscriptions: paused.try_get("n")?,
        })
    }

    /// How many feeds the store knows, how many fail or are disabled, the latest success.
    pub async fn feed_summary(&self) -> Result<FeedSummary, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, \
               COALESCE(SUM(CASE WHEN failures > 0 AND disabled_reason IS NULL THEN 1 ELSE 0 END), 0) AS failing, \
               COALESCE(SUM(CASE WHEN disabled_reason IS NOT NULL THEN 1 ELSE 0 END), 0) AS disabled, \
               MAX(last_success) AS last FROM feeds",
        )
        .fetch_one(&self.pool)
        .await?;
        let newest = sqlx::query("SELECT fetched FROM articles ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(FeedSummary {
            feeds: r.try_get("n")?,
            failing: r.try_get("failing")?,
            disabled: r.try_get("disabled")?,
            last_success: r.try_get("last")?,
            last_article: newest.map(|r| r.try_get("fetched")).transpose()?,
        })
    }
}

/// Whether two processes' shard sets meet. Autosharded (total 0) holds every shard.
fn shards_overlap(a: Option<(i64, i64, i64)>, b: Option<(i64, i64, i64)>) -> bool {
    match (a, b) {
        (Some((_, _, 0)), Some(_)) | (Some(_), Some((_, _, 0))) => true,
        // Two shard counts for one bot: a mistake to refuse, whatever the ranges.
        (Some((_, _, t1)), Some((_, _, t2))) if t1 != t2 => true,
        (Some((f1, l1, _)), Some((f2, l2, _))) => f1 <= l2 && f2 <= l1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::shards_overlap;

    #[test]
    fn shard_ranges_overlap_only_when_they_share_a_shard() {
        assert!(!shards_overlap(Some((0, 1, 4)), Some((2, 2, 4))));
        assert!(shards_overlap(Some((0, 2, 4)), Some((2, 3, 4))));
        assert!(shards_overlap(Some((0, 0, 0)), Some((3, 3, 4))));
        assert!(!shards_overlap(None, Some((0, 0, 0))));
        assert!(shards_overlap(Some((0, 1, 4)), Some((4, 7, 8))));
    }
}

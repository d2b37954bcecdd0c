//! Several storybot processes on one store: each service process (`storybot run`, `storybot
//! ingest`) joins the process table with the gateway shards it holds and keeps its row fresh;
//! one of them leads ([`leader`]: fetching, clustering, summarising, matching) while the others
//! stand by; every process delivers, one channel at a time per process (the outbox's channel
//! claims); `storybot status` reads it all ([`status`]).
//!
//! On SQLite there is one service process per store file: a second one is refused with what to
//! do instead (imports and reads may still run beside it; they wait for the writer).

pub mod leader;
pub mod status;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Shards;
use crate::store::{ProcessRow, Store, StoreError};
use crate::workers::Stop;

/// How often a process refreshes its row.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(2);
/// A process not seen for this long is gone (killed, or cut off from the store).
pub(crate) const LIVE_WITHIN: Duration = Duration::from_secs(15);
/// Rows of processes gone this long are removed.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The table's columns for `shards`: (first, last, total), total 0 for autosharded.
fn shard_columns(shards: Shards) -> (i64, i64, i64) {
    match shards {
        Shards::Auto => (0, 0, 0),
        Shards::Range { first, last, total } => {
            (i64::from(first), i64::from(last), i64::from(total))
        }
    }
}

/// Joining the processes of a store failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{0}")]
    ShardsTaken(String),
    #[error(
        "another storybot process is already running on the SQLite store {file} ({holder}). \
         A SQLite store serves one `storybot run` or `storybot ingest` at a time (imports and \
         reads may run beside it). Stop that process first, or move the store to Postgres \
         ([store] url = \"postgres://...\") to run several processes on it"
    )]
    SqliteBusy { file: String, holder: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// This process as a member of its store's processes; cheap to share.
#[derive(Debug)]
pub struct Member {
    pub(crate) id: String,
    store: Store,
    leader: AtomicBool,
    row: ProcessRow,
}

impl Member {
    /// Joins the process table as `command` holding `shards` (`None`: no gateway). A process
    /// still live that holds one of those shards is waited for (it may be the previous run of
    /// this one, killed a moment ago) up to [`LIVE_WITHIN`], then refused by name.
    pub async fn join(
        store: &Store,
        command: &str,
        shards: Option<Shards>,
    ) -> Result<Arc<Member>, FleetError> {
        let now = now_ms();
        let row = ProcessRow {
            id: format!("{}:{}:{now}", host(), std::process::id()),
            host: host(),
            pid: i64::from(std::process::id()),
            command: command.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            shards: shards.map(shard_columns),
            leader: false,
            started_at_ms: now,
            seen_at_ms: now,
        };
        let deadline = tokio::time::Instant::now() + LIVE_WITHIN + HEARTBEAT;
        loop {
            let now = now_ms();
            let clashes = store
                .register_process(
                    &ProcessRow {
                        seen_at_ms: now,
                        ..row.clone()
                    },
                    now - millis(LIVE_WITHIN),
                    now - millis(FORGET_AFTER),
                )
                .await?;
            let Some(other) = clashes.first() else {
                break;
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(FleetError::ShardsTaken(format!(
                    "{} already holds gateway shards {}; give each process its own shards \
                     (`storybot run --shards 0-3 --total-shards 8`, and 4-7 for the next)",
                    describe(other, now),
                    shards_text(other.shards)
                )));
            }
            tracing::info!(other = %describe(other, now), "waiting for a process that holds the same shards to be gone");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok(Arc::new(Member {
            id: row.id.clone(),
            store: store.clone(),
            leader: AtomicBool::new(false),
            row,
        }))
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// Records whether this process leads; the process table follows at once.
    pub(crate) async fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
        if let Err(e) = self.store.heartbeat(&self.id, now_ms(), leader).await {
            tracing::warn!(error = %crate::error::Chain(&e), "cannot record the leadership in the process table");
        }
    }

    /// Refreshes this process's row every [`HEARTBEAT`] until `stop`, then removes it.
    pub async fn heartbeat(self: Arc<Self>, mut stop: Stop) {
        loop {
            let now = now_ms();
            match self.store.heartbeat(&self.id, now, self.is_leader()).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(
                        "this process's row was gone from the process table; recording it again"
                    );
                    let row = ProcessRow {
                        seen_at_ms: now,
                        leader: self.is_leader(),
                        ..self.row.clone()
                    };
                    if let Err(e) = self.store.register_process(&row, now, 0).await {
                        tracing::error!(error = %crate::error::Chain(&e), "cannot record this process");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %crate::error::Chain(&e), "cannot refresh this process's row");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(HEARTBEAT) => {}
                () = stop.wait() => break,
            }
        }
        if let Err(e) = self.store.remove_process(&self.id).await {
            tracing::warn!(error = %crate::error::Chain(&e), "cannot remove this process's row");
        }
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Now, and the time since which a process seen counts as live (Unix milliseconds): what a
/// claim check needs.
pub(crate) fn now_and_live_since() -> (i64, i64) {
    let now = now_ms();
    (now, now - millis(LIVE_WITHIN))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// This machine's name, for the process table.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// "process 1234 on host-a (`storybot run`, seen 3 s ago)".
pub(crate) fn describe(p: &ProcessRow, now_ms: i64) -> String {
    format!(
        "process {} on {} (`storybot {}`, seen {} s ago)",
        p.pid,
        p.host,
        p.command,
        (now_ms - p.seen_at_ms).max(0) / 1000
    )
}

/// "0-3 of 8", "all (autosharded)", or "none".
pub(crate) fn shards_text(s: Option<(i64, i64, i64)>) -> String {
    match s {
        None => "none".into(),
        Some((_, _, 0)) => "all (autosharded)".into(),
        Some((f, l, t)) if f == l => format!("{f} of {t}"),
        Some((f, l, t)) => format!("{f}-{l} of {t}"),
    }
}

//! Starting the gateway: all shards in this process (autosharded, the default), or a range of
//! them when several processes split the bot (`--shards 0-3 --total-shards 8`).
//!
//! Discord lets a bot identify one shard per 5 seconds in each of its `max_concurrency`
//! buckets (bucket = shard id % max_concurrency), counted across all its processes. serenity
//! spaces the shards of one process 5 seconds apart; across processes on Postgres, a process
//! holds an advisory lock per bucket of its shards while they identify (and 5 seconds after),
//! so two processes never identify in one bucket at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;

use crate::config::Shards;
use crate::store::{Backend, SessionLock, Store, StoreError};

/// Discord's wait between two identifies in one bucket.
const IDENTIFY_SPACING: Duration = Duration::from_secs(5);

/// Runs the gateway for `shards` until it stops. `ready` counts READY events of this
/// process's shards.
pub(super) async fn start(
    client: &mut serenity::Client,
    shards: Shards,
    store: &Store,
    ready: Arc<AtomicU64>,
) -> serenity::Result<()> {
    let Shards::Range { first, last, total } = shards else {
        return client.start_autosharded().await;
    };
    let gate = if store.backend() == Backend::Postgres {
        let gateway = client.http.get_bot_gateway().await?;
        let concurrency = gateway.session_start_limit.max_concurrency.max(1);
        let buckets = buckets(first, last, concurrency);
        match hold_buckets(store, &buckets).await {
            Ok(conn) => {
                let n = u64::from(last - first + 1);
                Some(tokio::spawn(release_when_ready(conn, ready, n)))
            }
            Err(e) => {
                tracing::warn!(error = %crate::error::Chain(&e), "cannot coordinate identifies with the other processes; starting anyway");
                None
            }
        }
    } else {
        None
    };
    tracing::info!(first, last, total, "starting gateway shards");
    // serenity's range end is inclusive.
    let result = client.start_shard_range(first..last, total).await;
    if let Some(gate) = gate {
        gate.abort();
    }
    result
}

/// The identify buckets of shards `first..=last`, ascending.
fn buckets(first: u32, last: u32, concurrency: u64) -> Vec<i64> {
    let mut b: Vec<i64> = (first..=last)
        .map(|s| (u64::from(s) % concurrency) as i64)
        .collect();
    b.sort_unstable();
    b.dedup();
    b
}

/// Takes the lock of every identify bucket (ascending, so two processes cannot deadlock),
/// waiting for processes that hold them.
async fn hold_buckets(store: &Store, buckets: &[i64]) -> Result<SessionLock, StoreError> {
    let names: Vec<String> = buckets.iter().map(|b| format!("identify:{b}")).collect();
    store.wait_for_locks(&names).await
}

/// Releases the bucket locks (closing their connection) once `n` shards are ready and
/// Discord's spacing has passed since, or after a generous time if they never get there.
async fn release_when_ready(lock: SessionLock, ready: Arc<AtomicU64>, n: u64) {
    let deadline =
        tokio::time::Instant::now() + IDENTIFY_SPACING * (n as u32 + 1) + Duration::from_secs(30);
    while ready.load(Ordering::Relaxed) < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(IDENTIFY_SPACING).await;
    lock.release().await;
}

#[cfg(test)]
mod tests {
    use super::buckets;

    #[test]
    fn shards_share_a_bucket_by_their_id_modulo_the_concurrency() {
        assert_eq!(buckets(0, 3, 2), vec![0, 1]);
        assert_eq!(buckets(2, 2, 2), vec![0]);
        assert_eq!(buckets(4, 7, 16), vec![4, 5, 6, 7]);
        assert_eq!(buckets(0, 3, 1), vec![0]);
    }
}

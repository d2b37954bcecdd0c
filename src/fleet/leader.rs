//! One leader per store: the process that fetches feeds, clusters, asks the model and matches
//! subscriptions. On Postgres, leading is holding a session advisory lock on a connection of
//! its own: when the leader dies, even by SIGKILL, its connection closes, Postgres releases the
//! lock, and a standby that asks every [`POLL`] takes over; its clusterer is rebuilt from the
//! store before its first write (the store's write generation tells it that another wrote).
//! On SQLite, leading is holding a lock on a file beside the database, and a second service
//! process is refused instead of standing by. The locks themselves are the store's
//! ([`crate::store::SessionLock`]).

use std::sync::Arc;
use std::time::Duration;

use super::{FleetError, Member};
use crate::store::{Backend, LockRequest, SessionLock, Store};
use crate::workers::{Backoff, Stop, Workers};

/// How often a standby asks for the lock, and the leader checks that it still holds it.
pub(crate) const POLL: Duration = Duration::from_secs(1);

/// The leader's lock, held while this value lives (a session lock of the store).
pub type Lock = SessionLock;

/// Asks for the leader's lock, keeping one connection for the asking.
#[derive(Debug)]
pub struct Campaign(LockRequest);

impl Campaign {
    pub fn new(store: &Store) -> Campaign {
        Campaign(store.lock_request("leader"))
    }

    /// The lock if it is free now, `None` if another process holds it.
    pub async fn try_take(&mut self) -> Result<Option<Lock>, FleetError> {
        Ok(self.0.try_take().await?)
    }
}

/// On SQLite, takes the lock now or says plainly who holds it; elsewhere `None` (the
/// process stands by until it leads).
pub async fn take_or_refuse(
    store: &Store,
    campaign: &mut Campaign,
) -> Result<Option<Lock>, FleetError> {
    if store.backend() == Backend::Postgres {
        return Ok(None);
    }
    if let Some(lock) = campaign.try_take().await? {
        // No other service process can be alive: what the table says of others is stale.
        store.forget_processes().await?;
        return Ok(Some(lock));
    }
    let now = super::now_ms();
    let holder = store
        .processes()
        .await
        .ok()
        .and_then(|ps| {
            let leader = ps.iter().find(|p| p.leader).cloned();
            leader.or_else(|| ps.into_iter().last())
        })
        .map_or_else(
            || "its process could not be identified".to_string(),
            |p| super::describe(&p, now),
        );
    Err(FleetError::SqliteBusy {
        file: store
            .sqlite_file()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        holder,
    })
}

/// Starts the worker "leadership" of `workers`: [`run`] with the lock taken at start-up, if
/// any. Restarted after a panic, it campaigns afresh (the lock went with the panicked loop).
pub fn spawn<F>(
    workers: &mut Workers,
    member: Arc<Member>,
    store: &Store,
    first: (Campaign, Option<Lock>),
    start: F,
) where
    F: Fn() -> Workers + Clone + Send + Sync + 'static,
{
    let (store, held) = (store.clone(), std::sync::Mutex::new(Some(first)));
    workers.spawn("leadership", move |stop| {
        let taken = held.lock().expect("leadership state").take();
        let (campaign, lock) = taken.unwrap_or_else(|| {
            tracing::warn!("the leadership loop restarted: asking for the leader's lock again");
            (Campaign::new(&store), None)
        });
        run(member.clone(), campaign, lock, start.clone(), stop)
    });
}

/// Runs the leader's work (`start` starts it) while this process leads, and stands by while
/// another does, until `stop`. `held` is a lock taken already (SQLite, at start-up).
pub async fn run<F>(
    member: Arc<Member>,
    mut campaign: Campaign,
    mut held: Option<Lock>,
    start: F,
    mut stop: Stop,
) where
    F: Fn() -> Workers,
{
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    let mut announced_standby = false;
    loop {
        let lock = match held.take() {
            Some(lock) => lock,
            None => match campaign.try_take().await {
                Ok(Some(lock)) => lock,
                Ok(None) => {
                    if !announced_standby {
                        tracing::info!("standing by: another process leads (fetching, clustering, summarising)");
                        announced_standby = true;
                    }
                    backoff.reset();
                    if wait(POLL, &mut stop).await {
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    let pause = backoff.fail();
                    tracing::error!(error = %crate::error::Chain(&e), retry_in_s = pause.as_secs(), "cannot ask for the leader's lock");
                    if wait(pause, &mut stop).await {
                        return;
                    }
                    continue;
                }
            },
        };
        announced_standby = false;
        member.set_leader(true).await;
        tracing::info!(
            "leading: this process fetches feeds, clusters, summarises and matches subscriptions"
        );
        let work = start();
        let stopped = hold(lock, &mut stop).await;
        work.shutdown().await;
        member.set_leader(false).await;
        match stopped {
            Some(lock) => {
                lock.release().await;
                return;
            }
            None => tracing::warn!(
                "lost the leader's lock (the store's connection failed); standing by"
            ),
        }
    }
}

/// Holds `lock` until `stop` (returns it, to release) or until it is lost (`None`).
async fn hold(mut lock: Lock, stop: &mut Stop) -> Option<Lock> {
    loop {
        if wait(POLL, stop).await {
            return Some(lock);
        }
        if !lock.still_held().await {
            return None;
        }
    }
}

/// Sleeps for `d`; `true` when `stop` came first.
async fn wait(d: Duration, stop: &mut Stop) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        () = stop.wait() => true,
    }
}

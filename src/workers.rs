//! Background workers that never die quietly, and stop in a known order.
//!
//! Every long-running loop of storybot (feed ingest, subscription matching, delivery, the
//! summary log line) runs under [`Workers`]: each is started by name, and a panic inside one
//! is caught, logged at error level with the worker's name, and the worker restarted after a
//! pause that doubles up to a minute, so a live process never carries a dead subsystem.
//! (Errors that are not panics are each loop's own business: they log, back off and go on.)
//! [`Workers::shutdown`] signals every worker to stop, then waits for them in the order they
//! were started, as mini-redis's shutdown does.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};

/// Pause before restarting a worker that panicked, doubling up to [`MAX_RESTART_PAUSE`].
const FIRST_RESTART_PAUSE: Duration = Duration::from_secs(1);
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(60);

/// A worker's view of the shutdown signal.
#[derive(Debug, Clone)]
pub struct Stop(Option<watch::Receiver<bool>>);

impl Stop {
    /// A signal that never fires, for work run to its end.
    pub fn never() -> Stop {
        Stop(None)
    }

    /// Whether shutdown has been asked for.
    pub(crate) fn requested(&self) -> bool {
        self.0.as_ref().is_some_and(|r| *r.borrow())
    }

    /// Resolves once shutdown is asked for (or its [`Workers`] are gone).
    pub(crate) async fn wait(&mut self) {
        match &mut self.0 {
            Some(r) => {
                let _ = r.wait_for(|s| *s).await;
            }
            None => std::future::pending().await,
        }
    }
}

/// The running workers of a process.
pub struct Workers {
    stop_tx: watch::Sender<bool>,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers::new()
    }
}

impl Workers {
    pub fn new() -> Workers {
        let (stop_tx, _) = watch::channel(false);
        Workers {
            stop_tx,
            running: Vec::new(),
        }
    }

    /// The shutdown signal, for work started outside [`Self::spawn`].
    pub(crate) fn stop_signal(&self) -> Stop {
        Stop(Some(self.stop_tx.subscribe()))
    }

    /// Starts a worker: `make` builds its loop, again after a panic. The loop should return
    /// when its [`Stop`] fires.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, make: F)
    where
        F: Fn(Stop) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop_signal();
        let handle = tokio::spawn(supervise(name, stop, make));
        self.running.push((name, handle));
    }

    /// Asks every worker to stop, then waits for each, in the order they were started.
    pub async fn shutdown(self) {
        let _ = self.stop_tx.send(true);
        for (name, handle) in self.running {
            if let Err(e) = handle.await {
                tracing::error!(worker = name, error = %e, "worker ended abnormally");
            }
        }
    }
}

/// Runs `make`'s loop until it returns, restarting it after each panic.
async fn supervise<F, Fut>(name: &'static str, mut stop: Stop, make: F)
where
    F: Fn(Stop) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut pause = FIRST_RESTART_PAUSE;
    loop {
        match tokio::spawn(make(stop.clone())).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                tracing::error!(
                    worker = name,
                    panic = %panic_message(e),
                    restart_in_s = pause.as_secs(),
                    "worker panicked; restarting it"
                );
            }
            Err(e) => {
                tracing::error!(worker = name, error = %e, "worker was cancelled");
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.wait() => return,
        }
        pause = (pause * 2).min(MAX_RESTART_PAUSE);
    }
}

fn panic_message(e: JoinError) -> String {
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(std::string::ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// The value of a finished blocking task; its panic goes on unwinding in the caller, where a
/// supervisor (or the test harness) sees it.
pub(crate) fn joined<T>(result: Result<T, JoinError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("a blocking task was cancelled: {e}"),
    }
}

/// `first` doubled `n` times, at most `max`: the one exponential backoff every retry uses.
pub(crate) fn exponential(first: Duration, n: u32, max: Duration) -> Duration {
    first.saturating_mul(1u32 << n.min(20)).min(max)
}

/// Exponential backoff for loops that retry after an error: `first`, doubling, at most `max`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    next: Duration,
    first: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            next: first,
            first,
            max,
        }
    }

    /// The pause after one more failure.
    pub(crate) fn fail(&mut self) -> Duration {
        let pause = self.next;
        self.next = exponential(self.next, 1, self.max);
        pause
    }

    /// Back to the first pause after a success.
    pub(crate) fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_worker_is_restarted_and_stops_on_shutdown() {
        let starts = Arc::new(AtomicU32::new(0));
        let mut workers = Workers::new();
        let counter = starts.clone();
        workers.spawn("flaky", move |mut stop| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("boom {n}");
                }
                stop.wait().await;
            }
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(
            starts.load(Ordering::SeqCst),
            3,
            "restarted after each panic"
        );
        workers.shutdown().await;
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let pauses: Vec<u64> = (0..5).map(|_| b.fail().as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 5, 5]);
        b.reset();
        assert_eq!(b.fail(), Duration::from_secs(1));
        let s = Duration::from_secs;
        assert_eq!(exponential(s(30), 3, s(1_000)), s(240));
        assert_eq!(exponential(s(30), u32::MAX, s(1_000)), s(1_000));
    }
}

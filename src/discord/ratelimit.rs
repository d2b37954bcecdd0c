//! Pacing for the Discord REST calls storybot makes: one global budget (Discord allows 50
//! requests per second per bot; we pace below it, evenly spaced, so bursts never trip it) and
//! per-route buckets learned from the `X-RateLimit-*` headers of each response.
//!
//! Interaction callbacks and webhook follow-ups are exempt from the global limit (Discord's
//! rules), so they only wait on their own route's bucket.
//!
//! Discord counts the global limit per bot, not per process: with several processes on one
//! Postgres store, the global slots come from the store (one row, on the database's clock),
//! so together they pace as one. A store that does not answer falls back to local pacing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Mutex;
use tokio::time::{sleep_until, Instant};

/// Routes remembered before idle ones are forgotten.
const MAX_ROUTES: usize = 4_096;
/// Slots taken for one request before it goes anyway (each missed slot is given up).
const MAX_SLOT_TRIES: u32 = 4;

/// The shared budget of one bot token.
#[derive(Debug)]
pub struct Limits {
    interval: Duration,
    /// The earliest moment the next globally limited request may start.
    next_global: Mutex<Instant>,
    /// The store every process takes its global slots from, when they share one.
    shared: Option<crate::store::Store>,
    routes: SyncMutex<HashMap<String, Arc<Mutex<Bucket>>>>,
}

/// What the last response said about a route's bucket.
#[derive(Debug, Default)]
struct Bucket {
    remaining: Option<u32>,
    reset_at: Option<Instant>,
}

impl Limits {
    /// A budget of `per_second` globally limited requests per second (at least 1).
    pub fn new(per_second: u32) -> Limits {
        Limits {
            interval: Duration::from_secs(1) / per_second.max(1),
            next_global: Mutex::new(Instant::now()),
            shared: None,
            routes: SyncMutex::new(HashMap::new()),
        }
    }

    /// Takes global slots from `store`, shared with every process using it (Postgres).
    pub(crate) fn share(&mut self, store: crate::store::Store) {
        self.shared = Some(store);
    }

    /// Waits for this request's global slot. A slot missed by more than half an interval
    /// (the process was descheduled, the store slow to answer) is given up for a later one,
    /// so a late request never lands on top of the next ones.
    pub(crate) async fn global_slot(&self) {
        for _ in 0..MAX_SLOT_TRIES {
            let slot = match &self.shared {
                Some(store) => self.shared_slot(store).await,
                None => None,
            };
            let slot = match slot {
                Some(slot) => slot,
                None => self.local_slot().await,
            };
            sleep_until(slot).await;
            if Instant::now() <= slot + self.interval / 2 {
                return;
            }
        }
    }

    /// The next slot of the budget shared through the store, as a local instant; `None` when
    /// the store does not answer (then the process paces locally).
    async fn shared_slot(&self, store: &crate::store::Store) -> Option<Instant> {
        let interval = i64::try_from(self.interval.as_micros()).unwrap_or(i64::MAX);
        let asked = Instant::now();
        match store.rest_slot(interval).await {
            Ok(wait) => {
                // The database's "now" was about half the round trip before the answer.
                let half_trip = asked.elapsed() / 2;
                let wait =
                    Duration::from_micros(wait.unsigned_abs()).min(Duration::from_secs(3_600));
                Some(Instant::now() + wait.saturating_sub(half_trip))
            }
            Err(e) => {
                tracing::warn!(error = %crate::error::Chain(&e), "cannot take a shared REST slot from the store; pacing locally");
                None
            }
        }
    }

    /// The next slot of this process's own budget.
    async fn local_slot(&self) -> Instant {
        let mut next = self.next_global.lock().await;
        let slot = (*next).max(Instant::now());
        *next = slot + self.interval;
        slot
    }

    /// Holds every globally limited request back until `until` (after a global 429), in
    /// every process when they share the budget.
    pub(crate) async fn block_global(&self, until: Instant) {
        if let Some(store) = &self.shared {
            let wait = until.saturating_duration_since(Instant::now());
            let wait = i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
            if let Err(e) = store.rest_block(wait).await {
                tracing::warn!(error = %crate::error::Chain(&e), "cannot hold the shared REST budget back");
            }
        }
        let mut next = self.next_global.lock().await;
        if *next < until {
            *next = until;
        }
    }

    fn bucket(&self, route: &str) -> Arc<Mutex<Bucket>> {
        let mut routes = self.routes.lock().expect("route map lock");
        if routes.len() >= MAX_ROUTES && !routes.contains_key(route) {
            // Interaction routes are one per interaction: forget the idle ones.
            let now = Instant::now();
            routes.retain(|_, b| {
                Arc::strong_count(b) > 1
                    || b.try_lock()
                        .map_or(true, |b| b.reset_at.is_some_and(|t| t > now))
            });
        }
        routes.entry(route.to_string()).or_default().clone()
    }

    /// Waits until the route's bucket has a request left, and takes it.
    pub async fn route_slot(&self, route: &str) {
        let bucket = self.bucket(route);
        let mut b = bucket.lock().await;
        if b.remaining == Some(0) {
            if let Some(reset) = b.reset_at {
                // Waiters queue on the lock, so they go one by one after the reset.
                sleep_until(reset).await;
            }
            b.remaining = None;
            b.reset_at = None;
        } else if let Some(r) = b.remaining.as_mut() {
            *r -= 1;
        }
    }

    /// Records what a response's headers say about its route's bucket.
    pub async fn observe(&self, route: &str, headers: &HeaderMap) {
        let remaining = header_f64(headers, "x-ratelimit-remaining");
        let reset_after = header_f64(headers, "x-ratelimit-reset-after");
        if remaining.is_none() && reset_after.is_none() {
            return;
        }
        let bucket = self.bucket(route);
        let mut b = bucket.lock().await;
        if let Some(r) = remaining {
            // A saturating cast: negative is 0, huge is u32::MAX.
            b.remaining = Some(r as u32);
        }
        if let Some(s) = reset_after {
            b.reset_at = Some(Instant::now() + secs(s));
        }
    }

    /// Empties a route's bucket until `until` (after a route 429).
    pub(crate) async fn block_route(&self, route: &str, until: Instant) {
        let bucket = self.bucket(route);
        let mut b = bucket.lock().await;
        b.remaining = Some(0);
        b.reset_at = Some(until);
    }
}

/// A numeric header's value; anything that is not a finite number (garbage, `NaN`, `inf`)
/// counts as absent.
pub(crate) fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// Longest wait a header can ask for.
const MAX_WAIT_SECS: f64 = 3_600.0;

/// Seconds (as Discord gives them, possibly fractional) as a bounded duration: negative is
/// zero, huge is an hour, and what is not a number at all is zero.
pub(crate) fn secs(s: f64) -> Duration {
    if s.is_nan() {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(s.clamp(0.0, MAX_WAIT_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a response's rate-limit headers say (garbage, NaN, inf, negative, huge),
        /// the next request waits a bounded time and nothing panics.
        #[test]
        fn any_header_value_gives_a_bounded_wait(
            remaining in prop_oneof![Just("NaN".to_string()), Just("-inf".to_string()), Just("1e400".to_string()), ".{0,12}", any::<f64>().prop_map(|f| f.to_string())],
            reset in prop_oneof![Just("NaN".to_string()), Just("inf".to_string()), Just("-1".to_string()), Just("1e308".to_string()), ".{0,12}", any::<f64>().prop_map(|f| f.to_string())],
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(async {
                let limits = Limits::new(50);
                let mut headers = HeaderMap::new();
                if let Ok(v) = remaining.parse() {
                    headers.insert("x-ratelimit-remaining", v);
                }
                if let Ok(v) = reset.parse() {
                    headers.insert("x-ratelimit-reset-after", v);
                }
                limits.observe("POST /channels/1/messages", &headers).await;
                let start = Instant::now();
                limits.route_slot("POST /channels/1/messages").await;
                limits.route_slot("POST /channels/1/messages").await;
                assert!(Instant::now() - start <= Duration::from_secs(3_600));
            });
        }

        #[test]
        fn any_number_of_seconds_is_a_duration(s in any::<f64>()) {
            assert!(secs(s) <= Duration::from_secs(3_600));
        }
    }

    #[test]
    fn a_nan_reset_is_no_reset() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset-after", "NaN".parse().unwrap());
        assert_eq!(header_f64(&headers, "x-ratelimit-reset-after"), None);
        assert_eq!(secs(f64::NAN), Duration::ZERO);
        assert_eq!(secs(-5.0), Duration::ZERO);
        assert_eq!(secs(f64::INFINITY), Duration::from_secs(3_600));
    }

    #[tokio::test(start_paused = true)]
    async fn global_slots_are_evenly_spaced() {
        let limits = Limits::new(50);
        let start = Instant::now();
        for _ in 0..100 {
            limits.global_slot().await;
        }
        // 100 requests at 50/s: the last starts 99 intervals after the first.
        assert_eq!(Instant::now() - start, Duration::from_millis(20) * 99);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_bucket_waits_for_its_reset() {
        let limits = Limits::new(50);
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset-after", "1.5".parse().unwrap());
        limits.observe("POST /channels/1/messages", &headers).await;
        let start = Instant::now();
        limits.route_slot("POST /channels/2/messages").await;
        assert_eq!(Instant::now(), start, "another channel is not held back");
        limits.route_slot("POST /channels/1/messages").await;
        assert_eq!(Instant::now() - start, Duration::from_millis(1500));
    }
}

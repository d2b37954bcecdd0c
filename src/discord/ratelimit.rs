//! Pacing for the Discord REST calls storybot makes: one global budget (Discord allows 50
//! requests per second per bot; we pace below it, evenly spaced, so bursts never trip it) and
//! per-route buckets learned from the `X-RateLimit-*` headers of each response.
//!
//! Interaction callbacks and webhook follow-ups are exempt from the global limit (Discord's
//! rules), so they only wait on their own route's bucket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Mutex;
use tokio::time::{sleep_until, Instant};

/// Routes remembered before idle ones are forgotten.
const MAX_ROUTES: usize = 4_096;

/// The shared budget of one bot token.
#[derive(Debug)]
pub struct Limits {
    interval: Duration,
    /// The earliest moment the next globally limited request may start.
    next_global: Mutex<Instant>,
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
            routes: SyncMutex::new(HashMap::new()),
        }
    }

    /// Waits for this request's global slot.
    pub async fn global_slot(&self) {
        let slot = {
            let mut next = self.next_global.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        sleep_until(slot).await;
    }

    /// Holds every globally limited request back until `until` (after a global 429).
    pub async fn block_global(&self, until: Instant) {
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
            b.remaining = Some(r.max(0.0) as u32);
        }
        if let Some(s) = reset_after {
            b.reset_at = Some(Instant::now() + secs(s));
        }
    }

    /// Empties a route's bucket until `until` (after a route 429).
    pub async fn block_route(&self, route: &str, until: Instant) {
        let bucket = self.bucket(route);
        let mut b = bucket.lock().await;
        b.remaining = Some(0);
        b.reset_at = Some(until);
    }
}

pub(crate) fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Seconds (as Discord gives them, possibly fractional) as a bounded duration.
pub(crate) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 3600.0))
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! What a running process counts for its operators: interactions by command and outcome with
//! their latency, REST requests and 429s, articles ingested, feed failures, and which gateway
//! shards are connected. Every front end records here; the operators' `/metrics` page
//! ([`crate::web`]) writes it out in Prometheus' text format, beside figures read from the
//! store at scrape time.
//!
//! The counters are plain atomics (the bot's REST client and summary line read the same ones),
//! so the exposition is written by hand: a handful of lines per family, in the format's
//! version 0.0.4.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The command names a label may carry; anything else counts as `other`, so a label set can
/// never grow without bound. (A test beside the commands checks that every registered
/// command is here.)
pub(crate) const COMMANDS: &[&str] = &[
    "story",
    "top",
    "blindspot",
    "subscribe",
    "briefing",
    "subscriptions",
    "subscription",
    "unsubscribe",
    "about",
    "component",
];

/// Upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0,
];

/// REST calls to Discord since start-up (the bot's one client counts them).
#[derive(Debug, Default)]
pub struct RestStats {
    pub requests: AtomicU64,
    pub rate_limited: AtomicU64,
    pub global_rate_limited: AtomicU64,
    pub server_errors: AtomicU64,
}

/// One web listener's connections since start-up (`public` or `admin`).
#[derive(Debug, Default)]
pub struct ListenerStats {
    pub accepted: AtomicU64,
    /// Open now.
    pub open: AtomicU64,
    /// Closed to make room for a new connection at a cap.
    pub evicted: AtomicU64,
    /// New connections answered 503 at a cap, every open one being busy.
    pub refused: AtomicU64,
    /// Closed for not sending a request's headers in time.
    pub header_timeouts: AtomicU64,
    /// Closed after passing the idle timeout with no traffic.
    pub idle_closed: AtomicU64,
    /// `accept` failures (out of file descriptors, most often).
    pub accept_errors: AtomicU64,
}

/// The web server's two listeners.
#[derive(Debug, Default)]
pub struct WebStats {
    pub public: ListenerStats,
    pub admin: ListenerStats,
}

/// A cumulative histogram of durations.
#[derive(Debug, Default)]
struct Histogram {
    /// One count per bucket of [`LATENCY_BUCKETS`] (not cumulative), then the overflow.
    counts: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: std::time::Duration) {
        let s = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The process's counters; shared through [`crate::app::App`].
#[derive(Debug, Default)]
pub struct Metrics {
    interactions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    latency: Histogram,
    pub rest: Arc<RestStats>,
    pub articles_ingested: AtomicU64,
    pub feed_failures: AtomicU64,
    /// Set while this process runs a gateway client.
    gateway_running: AtomicBool,
    /// Per shard: connected (READY and not since disconnected).
    shards: Mutex<BTreeMap<u32, bool>>,
    pub web: WebStats,
}

/// What the gateway looks like from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gateway {
    /// This process runs no bot (`storybot serve`).
    NotRunning,
    /// Shards connected out of those seen.
    Shards { connected: usize, known: usize },
}

impl Metrics {
    /// One answered (or failed) interaction.
    pub(crate) fn interaction(
        &self,
        command: &str,
        outcome: &'static str,
        took: std::time::Duration,
    ) {
        let command = COMMANDS
            .iter()
            .find(|c| **c == command)
            .copied()
            .unwrap_or("other");
        let mut map = self
            .interactions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry((command, outcome)).or_default() += 1;
        drop(map);
        self.latency.observe(took);
    }

    /// The bot's gateway client has started.
    pub(crate) fn gateway_started(&self) {
        self.gateway_running.store(true, Ordering::Relaxed);
    }

    /// A shard connected (`true`, on READY or RESUMED) or lost its connection (`false`).
    pub(crate) fn shard(&self, shard: u32, connected: bool) {
        let mut map = self
            .shards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(shard, connected);
    }

    pub fn gateway(&self) -> Gateway {
        if !self.gateway_running.load(Ordering::Relaxed) {
            return Gateway::NotRunning;
        }
        let map = self
            .shards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Gateway::Shards {
            connected: map.values().filter(|c| **c).count(),
            known: map.len(),
        }
    }

    /// The process's counters in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        family(
            out,
            "storybot_interactions_total",
            "counter",
            "Interactions answered, by command and outcome (ok, refused, error, failed).",
        );
        let map = self
            .interactions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((command, outcome), n) in map.iter() {
            let _ = writeln!(
                out,
                "storybot_interactions_total{{command=\"{command}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        drop(map);
        self.render_latency(out);
        let rest = &self.rest;
        counter(
            out,
            "storybot_discord_requests_total",
            "REST requests sent to Discord.",
            &rest.requests,
        );
        counter(
            out,
            "storybot_discord_rate_limited_total",
            "429 answers from Discord, any scope.",
            &rest.rate_limited,
        );
        counter(
            out,
            "storybot_discord_global_rate_limited_total",
            "429 answers from Discord on the global limit.",
            &rest.global_rate_limited,
        );
        counter(
            out,
            "storybot_discord_server_errors_total",
            "5xx answers from Discord.",
            &rest.server_errors,
        );
        counter(
            out,
            "storybot_articles_ingested_total",
            "New articles stored by this process's feed ingest.",
            &self.articles_ingested,
        );
        counter(
            out,
            "storybot_feed_failures_total",
            "Feed fetches that failed in this process.",
            &self.feed_failures,
        );
        self.render_web(out);
        if let Gateway::Shards { connected, .. } = self.gateway() {
            gauge(
                out,
                "storybot_gateway_shards_connected",
                "Gateway shards of this process that are connected.",
                connected as f64,
            );
        }
    }

    fn render_web(&self, out: &mut String) {
        let listeners = [("public", &self.web.public), ("admin", &self.web.admin)];
        let labelled = |out: &mut String,
                        name: &str,
                        kind: &str,
                        help: &str,
                        get: &dyn Fn(&ListenerStats) -> &AtomicU64| {
            family(out, name, kind, help);
            for (listener, stats) in listeners {
                let n = get(stats).load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{listener=\"{listener}\"}} {n}");
            }
        };
        labelled(
            out,
            "storybot_web_connections_open",
            "gauge",
            "Web connections open now.",
            &|s| &s.open,
        );
        labelled(
            out,
            "storybot_web_connections_total",
            "counter",
            "Web connections accepted.",
            &|s| &s.accepted,
        );
        labelled(
            out,
            "storybot_web_accept_errors_total",
            "counter",
            "Failed accepts (the process out of open files, most often).",
            &|s| &s.accept_errors,
        );
        let name = "storybot_web_connections_shed_total";
        family(
            out,
            name,
            "counter",
            "Web connections closed or refused by a bound: evicted (quiet the longest, at a cap), \
             refused (503 at a cap), header_timeout, idle.",
        );
        for (listener, s) in listeners {
            for (reason, n) in [
                ("evicted", &s.evicted),
                ("refused", &s.refused),
                ("header_timeout", &s.header_timeouts),
                ("idle", &s.idle_closed),
            ] {
                let n = n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "{name}{{listener=\"{listener}\",reason=\"{reason}\"}} {n}"
                );
            }
        }
    }

    fn render_latency(&self, out: &mut String) {
        let name = "storybot_interaction_latency_seconds";
        family(
            out,
            name,
            "histogram",
            "From an interaction's arrival to its answer.",
        );
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += self.latency.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.latency.counts[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.latency.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// A family's `# HELP` and `# TYPE` lines.
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    family(out, name, "counter", help);
    let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
}

/// A gauge with one value.
pub(crate) fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_histogram_is_cumulative_and_unknown_commands_are_other() {
        let m = Metrics::default();
        m.interaction("story", "ok", Duration::from_millis(3));
        m.interaction("story", "ok", Duration::from_millis(40));
        m.interaction("<script>", "error", Duration::from_secs(20));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("storybot_interactions_total{command=\"story\",outcome=\"ok\"} 2"));
        assert!(out.contains("storybot_interactions_total{command=\"other\",outcome=\"error\"} 1"));
        assert!(out.contains("storybot_interaction_latency_seconds_bucket{le=\"0.005\"} 1"));
        assert!(out.contains("storybot_interaction_latency_seconds_bucket{le=\"0.05\"} 2"));
        assert!(out.contains("storybot_interaction_latency_seconds_bucket{le=\"10\"} 2"));
        assert!(out.contains("storybot_interaction_latency_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(out.contains("storybot_interaction_latency_seconds_count 3"));
        assert!(!out.contains("script"));
    }

    #[test]
    fn the_gateway_counts_connected_shards_once_started() {
        let m = Metrics::default();
        assert_eq!(m.gateway(), Gateway::NotRunning);
        m.gateway_started();
        assert_eq!(
            m.gateway(),
            Gateway::Shards {
                connected: 0,
                known: 0
            }
        );
        m.shard(0, true);
        m.shard(1, true);
        m.shard(1, false);
        assert_eq!(
            m.gateway(),
            Gateway::Shards {
                connected: 1,
                known: 2
            }
        );
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("\nstorybot_gateway_shards_connected 1\n"),
            "{out}"
        );
    }
}

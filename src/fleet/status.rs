//! `storybot status`: the processes on the store (their shards, which one leads), the
//! outbox's depth and age, the last ingest and the failing feeds, as text or JSON.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{now_ms, shards_text, LIVE_WITHIN};
use crate::store::{Backend, HostPages, ProcessRow, Store, StoreError};

/// What `storybot status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    pub processes: Vec<Process>,
    /// The id of the live leader, if any.
    pub leader: Option<String>,
    pub outbox: Outbox,
    pub ingest: Ingest,
    pub pages: Pages,
}

/// Article pages read (`[articles]`): totals, and the busiest hosts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pages {
    pub queued: i64,
    pub read: i64,
    pub walls: i64,
    /// Failed pages by reason (`robots`: refused by robots.txt).
    pub failed: std::collections::BTreeMap<String, i64>,
    /// The busiest [`Self::HOSTS`] hosts.
    pub hosts: Vec<HostPages>,
}

impl Pages {
    pub const HOSTS: usize = 20;

    /// Totals over `hosts`, keeping the busiest [`Self::HOSTS`].
    pub fn of(mut hosts: Vec<HostPages>) -> Pages {
        let mut p = Pages::default();
        for h in &hosts {
            p.queued += h.queued;
            p.read += h.read;
            p.walls += h.walls;
            for (reason, n) in &h.failed {
                *p.failed.entry(reason.clone()).or_default() += n;
            }
        }
        hosts.truncate(Self::HOSTS);
        p.hosts = hosts;
        p
    }

    /// One line: `article pages: 12 read, 1 walls, 3 queued, 2 failed (robots 2)`.
    pub fn line(&self) -> String {
        let failed: i64 = self.failed.values().sum();
        let reasons: Vec<String> = self
            .failed
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        format!(
            "{} read, {} walls, {} queued, {failed} failed{}",
            self.read,
            self.walls,
            self.queued,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            }
        )
    }
}

/// One process of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub command: String,
    pub version: String,
    /// "0-3 of 8", "all (autosharded)", "none".
    pub shards: String,
    pub leader: bool,
    /// Seen within the last few seconds; `false` for a process that died without leaving.
    pub live: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub seen_seconds_ago: i64,
}

/// The outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Outbox {
    pub pending: i64,
    /// Age of the oldest pending post, in seconds.
    pub oldest_pending_seconds: Option<i64>,
    pub paused_subscriptions: i64,
    /// Posts held over `max_per_day`, for the next day's short list.
    pub held: i64,
}

/// Ingest.
#[derive(Debug, Clone, Serialize)]
pub struct Ingest {
    pub stories: i64,
    pub articles: i64,
    pub last_article_stored: Option<DateTime<Utc>>,
    pub last_feed_success: Option<DateTime<Utc>>,
    pub feeds_known: i64,
    pub feeds_failing: i64,
    pub feeds_disabled: i64,
}

/// Reads the status of `store`.
pub async fn read(store: &Store) -> Result<Status, StoreError> {
    let now = now_ms();
    let live_since = now - i64::try_from(LIVE_WITHIN.as_millis()).unwrap_or(i64::MAX);
    let processes: Vec<Process> = store
        .processes()
        .await?
        .into_iter()
        .map(|p| process(p, now, live_since))
        .collect();
    let leader = processes
        .iter()
        .find(|p| p.leader && p.live)
        .map(|p| p.id.clone());
    let outbox = store.outbox_summary().await?;
    let feeds = store.feed_summary().await?;
    let secs = |t: Option<i64>| t.and_then(|t| DateTime::from_timestamp(t, 0));
    Ok(Status {
        store: match store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        processes,
        leader,
        outbox: Outbox {
            pending: outbox.pending,
            oldest_pending_seconds: outbox.oldest_pending.map(|t| (now / 1000 - t).max(0)),
            paused_subscriptions: outbox.paused_subscriptions,
            held: outbox.held,
        },
        ingest: Ingest {
            stories: store.story_count().await?,
            articles: store.article_count().await?,
            last_article_stored: secs(feeds.last_article),
            last_feed_success: secs(feeds.last_success),
            feeds_known: feeds.feeds,
            feeds_failing: feeds.failing,
            feeds_disabled: feeds.disabled,
        },
        pages: Pages::of(store.page_counts(usize::MAX).await?),
    })
}

fn process(p: ProcessRow, now: i64, live_since: i64) -> Process {
    Process {
        shards: shards_text(p.shards),
        live: p.seen_at_ms >= live_since,
        started_at: DateTime::from_timestamp_millis(p.started_at_ms),
        seen_seconds_ago: (now - p.seen_at_ms).max(0) / 1000,
        leader: p.leader,
        id: p.id,
        host: p.host,
        pid: p.pid,
        command: p.command,
        version: p.version,
    }
}

/// The status as terminal text.
pub fn text(s: &Status) -> String {
    let mut out = format!("store: {}\n", s.store);
    if s.processes.is_empty() {
        out.push_str("processes: none running (no `storybot run` or `storybot ingest`)\n");
    } else {
        out.push_str("processes:\n");
    }
    for p in &s.processes {
        let role = match (p.live, p.leader) {
            (false, _) => "GONE (not seen)",
            (true, true) => "leader",
            (true, false) => "standby",
        };
        out.push_str(&format!(
            "  {} pid {} on {}: storybot {} {}, shards {}, {role}, seen {} s ago\n",
            p.id, p.pid, p.host, p.command, p.version, p.shards, p.seen_seconds_ago
        ));
    }
    if s.leader.is_none() && s.processes.iter().any(|p| p.live) {
        out.push_str("  no leader yet: one takes over within seconds\n");
    }
    let o = &s.outbox;
    out.push_str(&format!(
        "outbox: {} pending{}, {} held for tomorrow's short lists, {} paused subscriptions\n",
        o.pending,
        o.oldest_pending_seconds
            .map(|a| format!(" (oldest {a} s)"))
            .unwrap_or_default(),
        o.held,
        o.paused_subscriptions
    ));
    let i = &s.ingest;
    let when = |t: Option<DateTime<Utc>>| {
        t.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        })
    };
    out.push_str(&format!(
        "ingest: {} stories, {} articles; last article stored {}; last feed success {}\n",
        i.stories,
        i.articles,
        when(i.last_article_stored),
        when(i.last_feed_success)
    ));
    out.push_str(&format!(
        "feeds: {} known, {} failing, {} disabled{}\n",
        i.feeds_known,
        i.feeds_failing,
        i.feeds_disabled,
        if i.feeds_failing + i.feeds_disabled > 0 {
            " (see `storybot feeds`)"
        } else {
            ""
        }
    ));
    out.push_str(&format!("article pages: {}\n", s.pages.line()));
    out
}

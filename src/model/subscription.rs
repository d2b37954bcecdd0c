//! Subscriptions of Discord channels, as the rest of the program sees them: what one follows,
//! and the deliveries of its outbox. Plain data; the store keeps them
//! ([`crate::store::subscriptions`]), [`crate::subscriptions`] decides what they get.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{StoryId, StoryKey};

/// What a subscription follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// New stories matching `query` once they have `min_sources` outlets.
    Topic { query: String, min_sources: i64 },
    /// One story's growth.
    Story { story: StoryId },
    /// The top stories every day at a local time in a time zone.
    Briefing {
        time: NaiveTime,
        zone: Tz,
        count: i64,
    },
}

/// The kinds of [`Follow`], as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowKind {
    Topic,
    Story,
    Briefing,
}

impl FollowKind {
    pub(crate) const ALL: [FollowKind; 3] =
        [FollowKind::Topic, FollowKind::Story, FollowKind::Briefing];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FollowKind::Topic => "topic",
            FollowKind::Story => "story",
            FollowKind::Briefing => "briefing",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<FollowKind> {
        FollowKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl Follow {
    pub(crate) fn kind(&self) -> FollowKind {
        match self {
            Follow::Topic { .. } => FollowKind::Topic,
            Follow::Story { .. } => FollowKind::Story,
            Follow::Briefing { .. } => FollowKind::Briefing,
        }
    }
}

/// Where a delivery stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting to be sent (or sent again).
    Pending,
    Sent,
    /// Not sent in time; given up.
    Dropped,
    /// Refused by Discord for a reason that retrying cannot fix.
    Failed,
}

impl DeliveryState {
    pub(crate) const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Sent,
        DeliveryState::Dropped,
        DeliveryState::Failed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dropped => "dropped",
            DeliveryState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: i64,
    /// The number people see (`#3`), per server.
    pub number: i64,
    pub guild_id: u64,
    pub channel_id: u64,
    pub follow: Follow,
    /// Topic: stories up to this one existed before the subscription.
    pub watermark: StoryKey,
    /// Story: articles and sides (bits: 1 left, 2 center, 4 right) when last posted.
    pub last_count: i64,
    pub last_sides: i64,
    /// The message later updates reply to.
    pub anchor_message: Option<u64>,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    /// Set while deliveries fail for a reason only a person can fix (permissions, channel).
    pub paused_reason: Option<String>,
    /// While paused: when the next probe may go out.
    pub retry_at: Option<DateTime<Utc>>,
}

/// A subscription about to be stored.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub guild_id: u64,
    pub channel_id: u64,
    pub follow: Follow,
    pub watermark: StoryKey,
    pub last_count: i64,
    pub last_sides: i64,
    pub created_by: u64,
}

/// A delivery in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub subscription_id: i64,
    pub subject: String,
    pub revision: i64,
    pub channel_id: u64,
    pub nonce: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// `HH:MM` (24-hour) as a time of day.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// An IANA zone name (`Europe/Paris`), case-insensitive.
pub fn parse_zone(s: &str) -> Option<Tz> {
    let s = s.trim();
    s.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(s))
            .copied()
    })
}

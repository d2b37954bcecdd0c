//! Subscriptions of Discord channels, as the rest of the program sees them: what one follows,
//! and the deliveries of its outbox. Plain data; the store keeps them
//! ([`crate::store::subscriptions`]), [`crate::subscriptions`] decides what they get.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{ChannelKind, PostOptions, Side, StoryId, StoryKey};

/// What a subscription follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// New stories matching `query`.
    Topic { query: String },
    /// One story's growth.
    Story { story: StoryId },
    /// The top stories every day at a local time in a time zone.
    Briefing {
        time: NaiveTime,
        zone: Tz,
        count: i64,
    },
    /// New stories one side barely covers: that side's, or either partisan side's.
    Blindspot { side: Option<Side> },
}

/// The kinds of [`Follow`], as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowKind {
    Topic,
    Story,
    Briefing,
    Blindspot,
}

impl FollowKind {
    pub(crate) const ALL: [FollowKind; 4] = [
        FollowKind::Topic,
        FollowKind::Story,
        FollowKind::Briefing,
        FollowKind::Blindspot,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FollowKind::Topic => "topic",
            FollowKind::Story => "story",
            FollowKind::Briefing => "briefing",
            FollowKind::Blindspot => "blindspot",
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
            Follow::Blindspot { .. } => FollowKind::Blindspot,
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
    /// Over the subscription's `max_per_day`: waits for the next day's short list.
    Held,
    /// Held, then posted in a short list.
    Listed,
}

impl DeliveryState {
    pub(crate) const ALL: [DeliveryState; 6] = [
        DeliveryState::Pending,
        DeliveryState::Sent,
        DeliveryState::Dropped,
        DeliveryState::Failed,
        DeliveryState::Held,
        DeliveryState::Listed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dropped => "dropped",
            DeliveryState::Failed => "failed",
            DeliveryState::Held => "held",
            DeliveryState::Listed => "listed",
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
    pub channel_kind: ChannelKind,
    pub follow: Follow,
    pub options: PostOptions,
    /// Topic: stories up to this one existed before the subscription.
    pub watermark: StoryKey,
    /// Story: articles and sides (bits: 1 left, 2 center, 4 right) when last posted.
    pub last_count: i64,
    pub last_sides: i64,
    /// The message later updates reply to.
    pub anchor_message: Option<u64>,
    /// Story: the thread its updates go into (its forum post, or a thread started from the
    /// first post).
    pub thread_id: Option<u64>,
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
    pub channel_kind: ChannelKind,
    pub follow: Follow,
    pub options: PostOptions,
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
    /// When a send whose outcome is unknown began (a forum post, which has no nonce).
    pub sending_at: Option<DateTime<Utc>>,
}

/// A story a subscription posted, and where its updates go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryPost {
    pub story: StoryId,
    /// The forum post's thread, or the text channel.
    pub channel_id: u64,
    /// The post itself.
    pub message_id: u64,
    /// Articles and sides (bits) when last posted.
    pub last_count: i64,
    pub last_sides: i64,
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

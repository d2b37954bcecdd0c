//! The Discord bot: slash commands (poise on serenity) that answer with story digests.
//!
//! Layout, as in poise's examples: [`commands`] holds one file per command, [`components`]
//! answers buttons and menus, [`views`] builds every message, [`respond`] delivers replies
//! within Discord's deadline, [`register`] registers the commands, [`bot`] connects and runs
//! (on the start-up every service shares, [`crate::service`]), [`shards`] starts the gateway,
//! [`delivery`] is the outbox worker, [`posting`] where a post lands and [`messages`] the
//! channel message it is.
//! Every REST call storybot makes goes through one [`rest::Rest`] client with one rate budget
//! ([`ratelimit`]); serenity's own HTTP client is left the gateway handshake and autocomplete
//! answers.

pub(crate) mod bot;
pub(crate) mod commands;
pub(crate) mod components;
pub mod custom_id;
pub(crate) mod delivery;
pub(crate) mod messages;
pub(crate) mod posting;
pub mod ratelimit;
pub(crate) mod register;
pub(crate) mod respond;
pub mod rest;
mod shards;
pub(crate) mod views;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::app::{App, LookupError};
use crate::config::DiscordSettings;
use crate::store::StoreError;

pub use bot::{run, run_with_clock, RunError};

/// State every handler shares (poise's user data); cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    pub app: App,
    pub rest: Arc<rest::Rest>,
    pub config: DiscordSettings,
    pub stats: Arc<Stats>,
    pub clock: Clock,
    /// Wakes the delivery worker when the outbox has new rows.
    pub outbox: Arc<Notify>,
    /// This process among the store's processes (its id owns its delivery claims).
    pub member: Arc<crate::fleet::Member>,
    /// Forums' tags, as last read.
    pub forums: Arc<posting::ForumCache>,
}

/// The time subscriptions are scheduled by: the system clock, which tests can move (to cross
/// a daylight-saving change without waiting for one).
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.0.load(Ordering::Relaxed))
    }

    /// Makes `now()` read `t` from this moment on.
    pub fn set(&self, t: DateTime<Utc>) {
        let offset = (t - Utc::now()).num_milliseconds();
        self.0.store(offset, Ordering::Relaxed);
    }
}

/// Counters for the periodic summary line.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub served: AtomicU64,
    pub deferred: AtomicU64,
    pub errors: AtomicU64,
    pub autocompletes: AtomicU64,
    pub guilds: AtomicU64,
    /// Shards this process runs (from READY).
    pub shards: AtomicU64,
    /// READY events of this process's shards (reconnections count again).
    pub ready_shards: Arc<AtomicU64>,
    /// The bot's user id, from READY (0 before).
    pub bot_user: AtomicU64,
}

/// Why an interaction could not get the answer it asked for.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BotError {
    /// Shown to the user as it is: a refusal, not a fault.
    #[error("{0}")]
    User(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("Discord: {0}")]
    Rest(#[from] rest::RestError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<LookupError> for BotError {
    fn from(e: LookupError) -> BotError {
        match e {
            LookupError::Store(e) => BotError::Store(e),
            other => BotError::User(other.to_string()),
        }
    }
}

/// A story's full digest as a reply (reads the few articles it shows).
pub(crate) async fn digest_reply(
    app: &App,
    story: &crate::model::Story,
) -> Result<views::Reply, StoreError> {
    let d = app.digest(story).await?;
    Ok(views::digest(story, &d, &app.outlets))
}

/// A story list (`/top`, `/blindspot`, briefings) as a message.
pub(crate) async fn story_list(
    app: &App,
    title: &str,
    stories: &[crate::model::Story],
    empty: &str,
) -> Result<crate::payload::Message, StoreError> {
    let mut digests = Vec::with_capacity(stories.len());
    for s in stories {
        digests.push(app.digest(s).await?);
    }
    Ok(views::story_list(title, &digests, empty))
}

/// poise's context with our data and error types.
pub(crate) type Context<'a> = poise::Context<'a, Data, BotError>;

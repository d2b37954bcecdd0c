//! A new subscription: who may create one, whether the bot can post where it would post, the
//! confirmation that proves it can, the store's limit and duplicate checks, and undoing the
//! confirmation when the store refuses after all.
//!
//! The order matters: nothing is stored before the confirmation is posted (a channel that
//! refuses it gets nothing, and uses up no number), and a confirmation whose subscription
//! could not be stored (the limit reached by another `/subscribe` meanwhile) is deleted again.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::model::{NewSubscription, Subscription};
use crate::payload::permissions::{self, grants};
use crate::store::subscriptions::SubscribeError as StoreRefusal;
use crate::store::{Store, StoreError};

/// What the bot needs in a channel it posts in.
pub(crate) const POST_PERMISSIONS: [(u64, &str); 4] = [
    (permissions::VIEW_CHANNEL, "View Channel"),
    (permissions::SEND_MESSAGES, "Send Messages"),
    (permissions::EMBED_LINKS, "Embed Links"),
    (permissions::ATTACH_FILES, "Attach Files"),
];

/// A subscription someone asked for.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub new: NewSubscription,
    /// The member's permissions in the server (Discord's bits).
    pub member_permissions: u64,
    /// The bot's permissions in the channel, when Discord told them (it does for the channel
    /// the command was used in).
    pub bot_permissions_here: Option<u64>,
    /// What the channel will get, in words, for the confirmation.
    pub what: String,
    /// Makes a repeated confirmation a duplicate that Discord refuses.
    pub nonce: String,
}

/// Where confirmations are posted: Discord, through its adapter.
pub(crate) trait Poster {
    /// Posts `text` in `channel`, returning the message id (0 when unknown).
    fn confirm(
        &self,
        channel: u64,
        text: &str,
        nonce: &str,
    ) -> impl Future<Output = Result<u64, PostError>> + Send;

    /// Deletes a confirmation again; a failure is only logged.
    fn retract(&self, channel: u64, message: u64) -> impl Future<Output = ()> + Send;
}

/// A confirmation that did not go out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PostError {
    /// The channel refused it, for this reason (in words for people).
    #[error("{0}")]
    Refused(String),
    /// Something failed on the way.
    #[error("cannot post the confirmation")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why no subscription was made. Refusals are for the person who asked; faults are ours.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubscribeError {
    #[error("Subscriptions belong to servers: use this in one.")]
    NotInServer,
    #[error("You need the Manage Channels permission to manage subscriptions.")]
    NotAManager,
    #[error("I can't post in <#{channel}>: I am missing {}. Nothing was subscribed.", missing.join(", "))]
    CannotPost {
        channel: u64,
        missing: Vec<&'static str>,
    },
    #[error("I can't post there: {0}. Nothing was subscribed.")]
    ChannelRefused(String),
    #[error(
        "This server has reached its limit of {0} subscriptions. Remove one with \
         `/unsubscribe` first."
    )]
    Limit(i64),
    #[error("That channel already has this subscription (see `/subscriptions`).")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Post(PostError),
}

impl SubscribeError {
    /// A refusal to show as it is (not a fault).
    pub(crate) fn is_refusal(&self) -> bool {
        !matches!(self, SubscribeError::Store(_) | SubscribeError::Post(_))
    }
}

impl From<StoreRefusal> for SubscribeError {
    fn from(e: StoreRefusal) -> SubscribeError {
        match e {
            StoreRefusal::Limit { limit } => SubscribeError::Limit(limit),
            StoreRefusal::Duplicate => SubscribeError::Duplicate,
            StoreRefusal::Store(e) => SubscribeError::Store(e),
        }
    }
}

/// May this member manage subscriptions?
pub(crate) fn authorise(member_permissions: u64) -> Result<(), SubscribeError> {
    if grants(member_permissions, permissions::MANAGE_CHANNELS) {
        Ok(())
    } else {
        Err(SubscribeError::NotAManager)
    }
}

/// What the bot lacks of [`POST_PERMISSIONS`], by name.
pub(crate) fn missing_to_post(bot_permissions: u64) -> Vec<&'static str> {
    POST_PERMISSIONS
        .iter()
        .filter(|(bit, _)| !grants(bot_permissions, *bit))
        .map(|(_, name)| *name)
        .collect()
}

/// Makes the subscription `req` asks for, in the order the module documentation gives.
pub(crate) async fn subscribe(
    store: &Store,
    limit: i64,
    req: Request,
    poster: &impl Poster,
    now: DateTime<Utc>,
) -> Result<Subscription, SubscribeError> {
    authorise(req.member_permissions)?;
    let channel = req.new.channel_id;
    if let Some(perms) = req.bot_permissions_here {
        let missing = missing_to_post(perms);
        if !missing.is_empty() {
            return Err(SubscribeError::CannotPost { channel, missing });
        }
    }
    store.check_subscribe(&req.new, limit).await?;
    let text = format!("📰 This channel will get {}.", req.what);
    let message = match poster.confirm(channel, &text, &req.nonce).await {
        Ok(id) => id,
        Err(PostError::Refused(why)) => return Err(SubscribeError::ChannelRefused(why)),
        Err(e) => return Err(SubscribeError::Post(e)),
    };
    let sub = match store.subscribe(&req.new, limit, now).await {
        Ok(sub) => sub,
        Err(e) => {
            if message != 0 {
                poster.retract(channel, message).await;
            }
            return Err(e.into());
        }
    };
    if message != 0 {
        store.set_anchor(sub.id, message).await?;
    }
    Ok(sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::permissions::*;

    #[test]
    fn permission_arithmetic() {
        assert!(authorise(MANAGE_CHANNELS | VIEW_CHANNEL).is_ok());
        assert!(authorise(ADMINISTRATOR).is_ok());
        assert!(matches!(
            authorise(VIEW_CHANNEL),
            Err(SubscribeError::NotAManager)
        ));
        assert_eq!(
            missing_to_post(VIEW_CHANNEL),
            ["Send Messages", "Embed Links", "Attach Files"]
        );
        assert!(missing_to_post(ADMINISTRATOR).is_empty());
        assert!(
            missing_to_post(VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES).is_empty()
        );
    }
}

//! A new subscription: who may create one, whether the bot can post where it would post, the
//! confirmation that proves it can, the store's limit and duplicate checks, and undoing the
//! confirmation when the store refuses after all.
//!
//! The order matters: nothing is stored before the confirmation is posted (a channel that
//! refuses it gets nothing, and uses up no number), and a confirmation whose subscription
//! could not be stored (the limit reached by another `/subscribe` meanwhile) is deleted again.
//! A forum takes no plain message: the bot checks that it can see it instead, and a followed
//! story's post is made at once, by the outbox.
//!
//! A role to ping is checked too: Discord pings a role only when it is mentionable or the bot
//! may Mention Everyone, and it would say nothing when it does not.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::model::{ChannelKind, Follow, NewSubscription, Subscription, Updates};
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

/// Creating threads and posting in them, for `updates: thread`.
pub(crate) const THREAD_PERMISSIONS: [(u64, &str); 2] = [
    (permissions::CREATE_PUBLIC_THREADS, "Create Public Threads"),
    (
        permissions::SEND_MESSAGES_IN_THREADS,
        "Send Messages in Threads",
    ),
];

/// A role a subscription would ping, as Discord described it in the command.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoleInfo {
    pub id: u64,
    pub mentionable: bool,
    /// `@everyone` (its id is the server's).
    pub everyone: bool,
}

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
    /// The role to ping, when one was given.
    pub role: Option<RoleInfo>,
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

    /// Checks that the bot can see forum `channel` (a forum takes no confirmation message).
    fn check_forum(&self, channel: u64) -> impl Future<Output = Result<(), PostError>> + Send;

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
    #[error("{0} Nothing was subscribed.")]
    CannotPing(String),
    #[error("{0}")]
    BadOption(String),
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

/// Whether the bot may ping `role` in `channel` with these permissions there (when known).
pub(crate) fn check_role(
    role: RoleInfo,
    channel: u64,
    bot_permissions: Option<u64>,
) -> Result<(), SubscribeError> {
    if role.everyone {
        return Err(SubscribeError::CannotPing(
            "I don't ping @everyone: pick a role people can opt into.".into(),
        ));
    }
    if role.mentionable {
        return Ok(());
    }
    let may = bot_permissions.is_some_and(|p| grants(p, permissions::MENTION_EVERYONE));
    if may {
        return Ok(());
    }
    let what = match bot_permissions {
        Some(_) => format!("I lack the Mention Everyone permission in <#{channel}>"),
        None => format!("I can't tell whether I may Mention Everyone in <#{channel}> (run the command there to check)"),
    };
    Err(SubscribeError::CannotPing(format!(
        "I can't ping <@&{}>: the role is not mentionable and {what}. Make the role \
         mentionable (Server Settings → Roles), or give me Mention Everyone there.",
        role.id
    )))
}

/// Whether a subscription's `updates` suit what it follows and where it posts.
pub(crate) fn check_updates(
    follow: &Follow,
    kind: ChannelKind,
    updates: Updates,
) -> Result<(), SubscribeError> {
    let bad = |why: &str| Err(SubscribeError::BadOption(why.into()));
    match (follow, kind, updates) {
        (Follow::Briefing { .. }, _, Updates::Reply | Updates::Thread) => {
            bad("A briefing has no updates: leave `updates` out.")
        }
        (Follow::Story { .. }, _, Updates::Off) => {
            bad("Following a story means posting its updates: use `reply` or `thread`.")
        }
        (_, ChannelKind::Forum, Updates::Reply) => bad(
            "In a forum, a story's updates go into its post: use `thread`, or leave `updates` out.",
        ),
        _ => Ok(()),
    }
}

/// What the bot lacks to start threads and post in them, by name.
pub(crate) fn missing_for_threads(bot_permissions: u64) -> Vec<&'static str> {
    THREAD_PERMISSIONS
        .iter()
        .filter(|(bit, _)| !grants(bot_permissions, *bit))
        .map(|(_, name)| *name)
        .collect()
}

/// The checks that need no store: permissions known from Discord, the role, the updates.
fn check_request(req: &Request) -> Result<(), SubscribeError> {
    authorise(req.member_permissions)?;
    let new = &req.new;
    let channel = new.channel_id;
    check_updates(&new.follow, new.channel_kind, new.options.updates)?;
    if let Some(perms) = req.bot_permissions_here {
        let mut missing = missing_to_post(perms);
        if new.options.updates == Updates::Thread && new.channel_kind == ChannelKind::Text {
            missing.extend(missing_for_threads(perms));
        }
        if !missing.is_empty() {
            return Err(SubscribeError::CannotPost { channel, missing });
        }
    }
    if let Some(role) = req.role {
        check_role(role, channel, req.bot_permissions_here)?;
    }
    Ok(())
}

/// Makes the subscription `req` asks for, in the order the module documentation gives.
pub(crate) async fn subscribe(
    store: &Store,
    limit: i64,
    req: Request,
    poster: &impl Poster,
    now: DateTime<Utc>,
) -> Result<Subscription, SubscribeError> {
    check_request(&req)?;
    let channel = req.new.channel_id;
    store.check_subscribe(&req.new, limit).await?;
    let text = format!("📰 This channel will get {}.", req.what);
    let confirmed = match req.new.channel_kind {
        ChannelKind::Text => poster.confirm(channel, &text, &req.nonce).await,
        ChannelKind::Forum => poster.check_forum(channel).await.map(|()| 0),
    };
    let message = match confirmed {
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
    if let (ChannelKind::Forum, Follow::Story { story }) = (sub.channel_kind, &sub.follow) {
        // The story's post, at its coverage now.
        let progress = (sub.last_count, sub.last_sides);
        store
            .enqueue(&sub, story.as_str(), sub.last_count, Some(progress), now)
            .await?;
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
        assert_eq!(
            missing_for_threads(SEND_MESSAGES),
            ["Create Public Threads", "Send Messages in Threads"]
        );
        assert!(missing_for_threads(CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS).is_empty());
    }

    #[test]
    fn a_role_is_pinged_only_when_discord_would_ping_it() {
        let role = |mentionable, everyone| RoleInfo {
            id: 7,
            mentionable,
            everyone,
        };
        assert!(check_role(role(true, false), 1, None).is_ok());
        assert!(check_role(role(false, false), 1, Some(MENTION_EVERYONE)).is_ok());
        assert!(check_role(role(false, false), 1, Some(ADMINISTRATOR)).is_ok());
        let plain = |r| match r {
            Err(SubscribeError::CannotPing(why)) => why,
            other => panic!("{other:?}"),
        };
        let why = plain(check_role(role(false, false), 1, Some(SEND_MESSAGES)));
        assert!(
            why.contains("not mentionable") && why.contains("lack"),
            "{why}"
        );
        let why = plain(check_role(role(false, false), 1, None));
        assert!(why.contains("can't tell"), "{why}");
        // @everyone never, even with the permission.
        let why = plain(check_role(role(true, true), 1, Some(ADMINISTRATOR)));
        assert!(why.contains("@everyone"), "{why}");
    }

    #[test]
    fn updates_must_suit_the_subscription() {
        use crate::model::{ChannelKind::*, StoryId, Updates::*};
        let story = Follow::Story {
            story: StoryId::parse("abcdefgh").unwrap(),
        };
        let topic = Follow::Topic {
            query: "peace".into(),
        };
        let briefing = Follow::Briefing {
            time: chrono::NaiveTime::MIN,
            zone: chrono_tz::UTC,
            count: 5,
        };
        assert!(check_updates(&story, Text, Reply).is_ok());
        assert!(check_updates(&story, Forum, Thread).is_ok());
        assert!(check_updates(&story, Text, Off).is_err());
        assert!(check_updates(&topic, Text, Off).is_ok());
        assert!(check_updates(&topic, Forum, Reply).is_err());
        assert!(check_updates(&briefing, Text, Off).is_ok());
        assert!(check_updates(&briefing, Text, Thread).is_err());
    }
}

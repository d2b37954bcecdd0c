//! Subscriptions, the domain: channels that follow topics, stories and daily briefings.
//!
//! [`matcher`] turns new stories, grown stories and due briefings into outbox rows;
//! [`schedule`] says when a briefing is due (local times across daylight-saving changes);
//! [`subscribe`] is the workflow of a new subscription (who may, where the bot can post, the
//! confirmation, the store's checks, undoing the confirmation when the store refuses). None of
//! it knows Discord's API: [`crate::discord`] adapts it (commands, posts, the delivery worker).

pub mod matcher;
pub(crate) mod schedule;
pub(crate) mod subscribe;

//! Where a delivery lands, and the Discord calls that put it there: a message in a channel or
//! thread (with a nonce), a new forum post (`POST /channels/{forum}/threads`, with the forum's
//! matching tags), or a message in a thread started from an earlier post. A forum's tags are
//! read when it is subscribed and again at most every 15 minutes (and at once when Discord
//! refuses a tag that has since been deleted), so a forum post costs one request.
//!
//! A forum post takes no nonce, so it is made at most once per attempt and, when an attempt's
//! outcome was lost (a crash, a 5xx, a broken connection), the next attempt first looks for it
//! among the server's active threads: a thread the bot made in that forum with that name that
//! no delivery has recorded yet is taken as the post.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::messages::{self, ChannelPost};
use super::rest::{Body, File, Request, RestError};
use super::Data;
use crate::payload::limits::{CONTENT_MAX, THREAD_NAME_MAX};
use crate::payload::{AllowedMentions, Attachment, Embed};
use crate::text::truncate_chars;

/// Discord's error code for a second thread on one message.
const THREAD_EXISTS: i64 = 160_004;
/// A forum's flag: every post needs a tag.
const REQUIRE_TAG: u64 = 1 << 4;
/// Tags one post may carry.
const TAGS_MAX: usize = 5;

/// Where a delivery is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A message in a channel or thread, optionally replying to one of its messages.
    Message { channel: u64, reply_to: Option<u64> },
    /// A message in a story's forum post (a thread that may have been deleted).
    InThread { thread: u64 },
    /// A new forum post named `name`, with the forum's tags named like one of `tags`.
    ForumPost {
        forum: u64,
        name: String,
        tags: Vec<String>,
    },
    /// A message in the thread started from `message` of `channel` (started when needed).
    ThreadOn {
        channel: u64,
        message: u64,
        name: String,
    },
}

/// Where a post went: the message, and the channel or thread that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Posted {
    pub message: u64,
    pub channel: u64,
}

/// Posts `post` at `target`. `guild` and `unsure` (an earlier attempt's outcome was lost)
/// serve forum posts; `before_forum_post` runs just before a forum post is sent (it records
/// that the outcome may be lost).
pub(crate) async fn send(
    data: &Data,
    target: &Target,
    post: &ChannelPost,
    files: Vec<File>,
    guild: u64,
    unsure: bool,
    before_forum_post: impl std::future::Future<Output = Result<(), crate::store::StoreError>>,
) -> Result<Posted, SendError> {
    match target {
        Target::Message { channel, .. } => {
            let message = messages::post(data, *channel, post, files).await?;
            Ok(Posted {
                message,
                channel: *channel,
            })
        }
        Target::ThreadOn {
            channel,
            message,
            name,
        } => {
            // The story's post was deleted: the update goes in the channel instead.
            let thread = start_thread(data, *channel, *message, name)
                .await?
                .unwrap_or(*channel);
            let message = messages::post(data, thread, post, files).await?;
            Ok(Posted {
                message,
                channel: thread,
            })
        }
        Target::InThread { thread } => match messages::post(data, *thread, post, files).await {
            Ok(message) => Ok(Posted {
                message,
                channel: *thread,
            }),
            Err(RestError::Status { status: 404, .. }) => Err(SendError::Gone(format!(
                "the story's post (thread {thread}) was deleted"
            ))),
            Err(e) => Err(e.into()),
        },
        Target::ForumPost { forum, name, tags } => {
            if unsure {
                if let Some(thread) = find_post(data, guild, *forum, name).await? {
                    tracing::info!(
                        forum,
                        thread,
                        "found the forum post of an attempt whose answer was lost"
                    );
                    return Ok(Posted {
                        message: thread,
                        channel: thread,
                    });
                }
            }
            let (applied, cached) = forum_tags(data, *forum, tags, false).await?;
            before_forum_post.await.map_err(SendError::Store)?;
            let first = forum_post(data, *forum, name, &applied, post, files.clone()).await;
            let thread = match first {
                // A tag deleted since the tags were read: read them again, once.
                Err(RestError::Status { status: 400, .. }) if cached => {
                    data.forums.forget(*forum);
                    let (applied, _) = forum_tags(data, *forum, tags, true).await?;
                    forum_post(data, *forum, name, &applied, post, files).await?
                }
                other => other?,
            };
            Ok(Posted {
                message: thread,
                channel: thread,
            })
        }
    }
}

/// Why a post did not go out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error(transparent)]
    Store(crate::store::StoreError),
    /// Where it should go is gone (not the channel: a post someone deleted).
    #[error("{0}")]
    Gone(String),
}

/// Discord's error code for a message that does not exist (any more).
const UNKNOWN_MESSAGE: i64 = 10_008;

/// Starts (or finds) the thread on `message`; its id is the message's. `None` when the
/// message was deleted.
async fn start_thread(
    data: &Data,
    channel: u64,
    message: u64,
    name: &str,
) -> Result<Option<u64>, RestError> {
    let path = format!("/channels/{channel}/messages/{message}/threads");
    let body = serde_json::json!({
        "name": thread_name(name),
        "auto_archive_duration": 10080,
    });
    let sent = data
        .rest
        .send(Request {
            method: Method::POST,
            route: format!("POST /channels/{channel}/messages/threads"),
            path,
            body: Body::Json(body),
            interaction: false,
            // A second try finds the thread there (160004).
            idempotent_retry: true,
            at_most_once: false,
        })
        .await;
    match sent {
        Ok(_) => Ok(Some(message)),
        Err(RestError::Status {
            code: Some(THREAD_EXISTS),
            ..
        }) => Ok(Some(message)),
        Err(RestError::Status {
            code: Some(UNKNOWN_MESSAGE),
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A thread name: the story's title within Discord's 100 characters.
fn thread_name(name: &str) -> String {
    let name = truncate_chars(name.trim(), THREAD_NAME_MAX);
    if name.is_empty() {
        "Story".to_string()
    } else {
        name
    }
}

/// The forum post's message: what a channel message carries but its nonce and reply.
#[derive(Debug, Serialize)]
struct ForumMessage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    embeds: &'a [Embed],
    allowed_mentions: &'a AllowedMentions,
    #[serde(skip_serializing_if = "<[Attachment]>::is_empty")]
    attachments: &'a [Attachment],
}

/// Creates a forum post; returns its thread id (also its first message's).
async fn forum_post(
    data: &Data,
    forum: u64,
    name: &str,
    tags: &[String],
    post: &ChannelPost,
    files: Vec<File>,
) -> Result<u64, RestError> {
    let path = format!("/channels/{forum}/threads");
    let route = format!("POST {path}");
    let content = post
        .content
        .as_deref()
        .map(|c| crate::text::truncate_utf16(c, CONTENT_MAX));
    let message = ForumMessage {
        content: content.as_deref(),
        embeds: &post.message.embeds,
        allowed_mentions: &post.message.allowed_mentions,
        attachments: &post.message.attachments,
    };
    let mut payload = serde_json::json!({
        "name": thread_name(name),
        "auto_archive_duration": 10080,
        "message": message,
    });
    if !tags.is_empty() {
        payload["applied_tags"] = serde_json::json!(tags);
    }
    let body = Body::payload(payload, files);
    let response = data
        .rest
        .send(Request {
            method: Method::POST,
            route: route.clone(),
            path,
            body,
            interaction: false,
            idempotent_retry: false,
            at_most_once: true,
        })
        .await?;
    serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| snowflake(&v["id"]))
        .ok_or_else(|| RestError::Build {
            route,
            message: "Discord's answer has no thread id".into(),
        })
}

fn snowflake(v: &Value) -> Option<u64> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// How long a forum's tags are trusted without reading them again, and the most forums kept.
const FORUM_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
const FORUMS_KEPT: usize = 10_000;

/// Forums as last read (their tags and flags), so a post costs one request, not two.
#[derive(Debug, Default)]
pub(crate) struct ForumCache {
    entries: Mutex<HashMap<u64, (Instant, Arc<Value>)>>,
}

impl ForumCache {
    fn get(&self, forum: u64) -> Option<Arc<Value>> {
        let entries = self.entries.lock().expect("forum cache lock");
        entries
            .get(&forum)
            .filter(|(at, _)| at.elapsed() < FORUM_TTL)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, forum: u64, channel: Arc<Value>) {
        let mut entries = self.entries.lock().expect("forum cache lock");
        if entries.len() >= FORUMS_KEPT {
            entries.retain(|_, (at, _)| at.elapsed() < FORUM_TTL);
            if entries.len() >= FORUMS_KEPT {
                entries.clear();
            }
        }
        entries.insert(forum, (Instant::now(), channel));
    }

    fn forget(&self, forum: u64) {
        self.entries
            .lock()
            .expect("forum cache lock")
            .remove(&forum);
    }
}

/// The forum's channel object: from the cache unless `fresh`; whether it came from there.
async fn forum_channel(
    data: &Data,
    forum: u64,
    fresh: bool,
) -> Result<(Arc<Value>, bool), RestError> {
    if let Some(cached) = data.forums.get(forum).filter(|_| !fresh) {
        return Ok((cached, true));
    }
    let path = format!("/channels/{forum}");
    let channel = Arc::new(get(data, &path, &format!("GET {path}")).await?);
    data.forums.put(forum, channel.clone());
    Ok((channel, false))
}

/// The ids of the forum's tags named like one of `wanted` (case-insensitive), at most five;
/// when the forum requires a tag and none matches, its first tag. Also whether the forum
/// came from the cache.
async fn forum_tags(
    data: &Data,
    forum: u64,
    wanted: &[String],
    fresh: bool,
) -> Result<(Vec<String>, bool), RestError> {
    let (channel, cached) = forum_channel(data, forum, fresh).await?;
    let available = channel["available_tags"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut ids: Vec<String> = available
        .iter()
        .filter(|t| {
            let name = t["name"].as_str().unwrap_or_default().trim().to_lowercase();
            wanted.iter().any(|w| w.trim().to_lowercase() == name)
        })
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .take(TAGS_MAX)
        .collect();
    let required = channel["flags"].as_u64().unwrap_or(0) & REQUIRE_TAG != 0;
    if ids.is_empty() && required {
        if let Some(first) = available.first().and_then(|t| t["id"].as_str()) {
            tracing::info!(
                forum,
                "the forum requires a tag and none matches the story: using its first"
            );
            ids.push(first.to_string());
        }
    }
    Ok((ids, cached))
}

/// A forum post made by an attempt whose answer was lost: an active thread of `forum` named
/// `name` that no delivery has recorded.
async fn find_post(
    data: &Data,
    guild: u64,
    forum: u64,
    name: &str,
) -> Result<Option<u64>, SendError> {
    let path = format!("/guilds/{guild}/threads/active");
    let active = get(data, &path, &format!("GET {path}")).await?;
    let name = thread_name(name);
    // The bot's own threads, once READY said who the bot is.
    let bot = data
        .stats
        .bot_user
        .load(std::sync::atomic::Ordering::Relaxed);
    let candidates: Vec<u64> = active["threads"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| snowflake(&t["parent_id"]) == Some(forum) && t["name"] == name.as_str())
        .filter(|t| bot == 0 || snowflake(&t["owner_id"]) == Some(bot))
        .filter_map(|t| snowflake(&t["id"]))
        .collect();
    for thread in candidates {
        if !data
            .app
            .store
            .thread_known(thread)
            .await
            .map_err(SendError::Store)?
        {
            return Ok(Some(thread));
        }
    }
    Ok(None)
}

async fn get(data: &Data, path: &str, route: &str) -> Result<Value, RestError> {
    let response = data
        .rest
        .send(Request {
            method: Method::GET,
            route: route.to_string(),
            path: path.to_string(),
            body: Body::Empty,
            interaction: false,
            idempotent_retry: true,
            at_most_once: false,
        })
        .await?;
    serde_json::from_slice(&response.body).map_err(|e| RestError::Build {
        route: route.to_string(),
        message: format!("Discord's answer is not JSON: {e}"),
    })
}

/// Checks that `channel` is a forum the bot can see (instead of a confirmation post, which a
/// forum cannot take).
pub(crate) async fn check_forum(data: &Data, channel: u64) -> Result<(), RestError> {
    forum_channel(data, channel, true).await.map(|_| ())
}

//! A message the bot posts in a channel (a subscription's post, a confirmation): its payload
//! beside the rendered message (content, nonce, reply), and the calls that post and delete one.

use reqwest::Method;
use serde::Serialize;

use super::rest::{Body, File, Request, RestError};
use super::Data;
use crate::payload::Message;

/// A message posted in a channel: the rendered message plus what only channel posts carry.
#[derive(Debug, Serialize)]
pub(crate) struct ChannelPost {
    #[serde(flatten)]
    pub message: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enforce_nonce: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageReference {
    pub message_id: String,
    /// Post anyway when the earlier message was deleted.
    pub fail_if_not_exists: bool,
}

/// Posts `post` (with its files) in `channel_id`; returns the new message's id.
pub(crate) async fn post(
    data: &Data,
    channel_id: u64,
    post: &ChannelPost,
    files: Vec<File>,
) -> Result<u64, RestError> {
    let path = format!("/channels/{channel_id}/messages");
    let payload = serde_json::to_value(post).map_err(|e| RestError::Build {
        route: format!("POST {path}"),
        message: e.to_string(),
    })?;
    let body = Body::payload(payload, files);
    let response = data
        .rest
        .send(Request {
            method: Method::POST,
            route: format!("POST {path}"),
            path,
            body,
            interaction: false,
            // Safe to repeat: the nonce makes Discord refuse a duplicate.
            idempotent_retry: post.enforce_nonce,
            at_most_once: false,
        })
        .await?;
    let id = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v["id"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    Ok(id)
}

/// Deletes a message the bot posted (a confirmation whose subscription could not be stored).
pub(crate) async fn delete_post(
    data: &Data,
    channel_id: u64,
    message_id: u64,
) -> Result<(), RestError> {
    let path = format!("/channels/{channel_id}/messages/{message_id}");
    data.rest
        .send(Request {
            method: Method::DELETE,
            route: format!("DELETE /channels/{channel_id}/messages"),
            path,
            body: Body::Empty,
            interaction: false,
            idempotent_retry: true,
            at_most_once: false,
        })
        .await
        .map(|_| ())
}

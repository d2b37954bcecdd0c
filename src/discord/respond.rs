//! Answering an interaction within Discord's 3-second deadline, once.
//!
//! The reply is computed while a timer runs: ready within `defer_after_ms`, it goes out as the
//! first response; slower, the bot first sends a deferral ("thinking...") and then edits that
//! response with the reply. Failures become a short ephemeral message with an error id that
//! is also in the log line describing the failure. Every reply sets `allowed_mentions` to
//! parse nothing (see [`crate::payload::Message`]). One tracing span per interaction
//! records its kind, name, latency and outcome.

use std::future::Future;
use std::sync::atomic::Ordering;

use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;
use tracing::Instrument;

use super::rest::{Body, Request, RestError};
use super::views::{self, Reply};
use super::{BotError, Data};
use crate::payload::{Callback, EPHEMERAL};

/// What kind of first response a reply takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// A new message (command replies, buttons that open a list).
    NewMessage,
    /// Edits the message whose button was pressed (paging).
    UpdateMessage,
}

/// What kind of interaction is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InteractionKind {
    /// A slash command.
    Command,
    /// A button or a select menu.
    Component,
}

impl InteractionKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InteractionKind::Command => "command",
            InteractionKind::Component => "component",
        }
    }
}

/// The interaction being answered.
#[derive(Debug, Clone)]
pub(crate) struct InteractionRef<'a> {
    pub id: u64,
    pub token: &'a str,
    pub application_id: u64,
    /// What was used, for logs.
    pub kind: InteractionKind,
    /// The command name or the component action, for logs.
    pub name: &'a str,
}

impl<'a> InteractionRef<'a> {
    /// The command's name, or `component` for buttons and menus (the metrics' label).
    fn metric_name(&self) -> &str {
        match self.kind {
            InteractionKind::Command => self.name,
            InteractionKind::Component => "component",
        }
    }

    /// A slash command's interaction.
    pub(crate) fn command(
        i: &'a poise::serenity_prelude::CommandInteraction,
    ) -> InteractionRef<'a> {
        InteractionRef {
            id: i.id.get(),
            token: &i.token,
            application_id: i.application_id.get(),
            kind: InteractionKind::Command,
            name: &i.data.name,
        }
    }
}

/// What a user sees when something failed on our side; `id` is also in the log line.
pub(crate) fn internal_error_text(id: &str) -> String {
    format!(
        "Something went wrong on our side (error id `{id}`). It has been logged; please try \
         again in a moment."
    )
}

/// Computes a reply with `work` and delivers it as described in the module documentation.
pub(crate) async fn respond<F>(data: &Data, ix: InteractionRef<'_>, style: Style, work: F)
where
    F: Future<Output = Result<Reply, BotError>>,
{
    let span = tracing::info_span!(
        "interaction",
        kind = ix.kind.as_str(),
        name = ix.name,
        id = ix.id
    );
    deliver(data, ix, style, work).instrument(span).await;
}

async fn deliver<F>(data: &Data, ix: InteractionRef<'_>, style: Style, work: F)
where
    F: Future<Output = Result<Reply, BotError>>,
{
    let received = Instant::now();
    let deadline = received + data.config.defer_after;
    tokio::pin!(work);
    // 0 defers every reply (the work is not even started before the deferral).
    let early = if data.config.defer_after.is_zero() {
        None
    } else {
        tokio::time::timeout_at(deadline, &mut work).await.ok()
    };
    let deferred = early.is_none();
    let result = match early {
        Some(result) => result,
        None => {
            let kind = match style {
                Style::NewMessage => Callback::DeferredChannelMessage,
                Style::UpdateMessage => Callback::DeferredUpdateMessage,
            };
            if let Err(e) = callback(data, &ix, json!({ "type": kind }), Vec::new()).await {
                log_failed(data, &ix, received, &e);
                return;
            }
            work.await
        }
    };
    let (reply, outcome) = reply_of(data, result);
    let sent = if deferred {
        finish_deferred(data, &ix, style, reply).await
    } else {
        answer_at_once(data, &ix, style, reply).await
    };
    match sent {
        Ok(()) => {
            data.app
                .metrics
                .interaction(ix.metric_name(), outcome, received.elapsed());
            data.stats.served.fetch_add(1, Ordering::Relaxed);
            if deferred {
                data.stats.deferred.fetch_add(1, Ordering::Relaxed);
            }
            tracing::info!(
                latency_ms = received.elapsed().as_millis() as u64,
                deferred,
                outcome,
                "interaction answered"
            );
        }
        Err(e) => log_failed(data, &ix, received, &e),
    }
}

/// The reply to send for a result, and the outcome for the log: a refusal as a notice, a
/// fault as a notice with an error id that the error log line carries too.
fn reply_of(data: &Data, result: Result<Reply, BotError>) -> (Reply, &'static str) {
    match result {
        Ok(reply) => (reply, "ok"),
        Err(BotError::User(text)) => (views::notice(&text).into(), "refused"),
        Err(e) => {
            let id = error_id();
            tracing::error!(error_id = %id, error = %crate::error::Chain(&e), "interaction failed");
            data.stats.errors.fetch_add(1, Ordering::Relaxed);
            (views::notice(&internal_error_text(&id)).into(), "error")
        }
    }
}

/// The reply as the first response.
async fn answer_at_once(
    data: &Data,
    ix: &InteractionRef<'_>,
    style: Style,
    reply: Reply,
) -> Result<(), RestError> {
    let kind = match style {
        Style::NewMessage => Callback::ChannelMessage,
        Style::UpdateMessage => Callback::UpdateMessage,
    };
    let mut message = reply.message;
    if style == Style::UpdateMessage {
        // An update cannot change who sees the message.
        message.flags = None;
    }
    let payload = json!({ "type": kind, "data": message });
    callback(data, ix, payload, reply.files).await
}

fn log_failed(data: &Data, ix: &InteractionRef<'_>, received: Instant, e: &RestError) {
    data.app
        .metrics
        .interaction(ix.metric_name(), "failed", received.elapsed());
    data.stats.errors.fetch_add(1, Ordering::Relaxed);
    tracing::error!(
        error_id = %error_id(),
        latency_ms = received.elapsed().as_millis() as u64,
        error = %crate::error::Chain(e),
        name = ix.name,
        "could not answer the interaction"
    );
}

/// After a deferral: edits the "thinking..." response into the reply. An ephemeral reply to
/// a public deferral replaces it with an ephemeral follow-up instead.
async fn finish_deferred(
    data: &Data,
    ix: &InteractionRef<'_>,
    style: Style,
    reply: Reply,
) -> Result<(), RestError> {
    let original = format!(
        "/webhooks/{}/{}/messages/@original",
        ix.application_id, ix.token
    );
    let mut message = reply.message;
    let ephemeral = message.flags == Some(EPHEMERAL);
    message.flags = None;
    if style == Style::NewMessage && ephemeral {
        data.rest
            .send(webhook(ix, Method::DELETE, original, Body::Empty))
            .await?;
        message.flags = Some(EPHEMERAL);
        let path = format!("/webhooks/{}/{}", ix.application_id, ix.token);
        let body = Body::payload(
            serde_json::to_value(&message).unwrap_or_default(),
            reply.files,
        );
        data.rest
            .send(webhook(ix, Method::POST, path, body))
            .await?;
        return Ok(());
    }
    let body = Body::payload(
        serde_json::to_value(&message).unwrap_or_default(),
        reply.files,
    );
    data.rest
        .send(webhook(ix, Method::PATCH, original, body))
        .await?;
    Ok(())
}

async fn callback(
    data: &Data,
    ix: &InteractionRef<'_>,
    payload: serde_json::Value,
    files: Vec<super::rest::File>,
) -> Result<(), RestError> {
    let req = Request {
        method: Method::POST,
        path: format!("/interactions/{}/{}/callback", ix.id, ix.token),
        route: format!("POST /interactions/{}/callback", ix.id),
        body: Body::payload(payload, files),
        interaction: true,
        // A second callback for the same interaction is refused by Discord, never doubled.
        idempotent_retry: true,
        at_most_once: false,
    };
    data.rest.send(req).await.map(|_| ())
}

/// A call on the interaction's webhook; logged and bucketed by interaction id (the path holds
/// the interaction token, which stays out of logs).
fn webhook(ix: &InteractionRef<'_>, method: Method, path: String, body: Body) -> Request {
    let tail = if path.ends_with("@original") {
        "/messages/@original"
    } else {
        ""
    };
    Request {
        route: format!("{method} /webhooks/{{interaction {}}}{tail}", ix.id),
        method,
        path,
        body,
        interaction: true,
        idempotent_retry: false,
        at_most_once: false,
    }
}

pub(crate) use crate::error::error_id;

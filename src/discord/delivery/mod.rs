//! The delivery worker: the one path by which subscription posts reach Discord.
//!
//! It sends due outbox rows through the shared [`super::rest::Rest`] client (one rate budget:
//! paced under the global limit, per-channel buckets from Discord's headers, 429s waited out,
//! 5xx retried), several channels at once and each channel in order. Each post carries the
//! row's fixed `nonce` with `enforce_nonce`, so a send repeated after a crash (the row still
//! `pending`) is refused by Discord as a duplicate instead of posted twice. A 403 or 404 pauses
//! the subscription with the reason (shown by `/subscriptions`); while paused, its rows are held
//! and one probe goes out per `pause_retry_minutes` (refused requests count against the bot's
//! invalid-request limit, so a paused channel must not cost one per story); the first success
//! resumes it. Rows older than `max_delivery_age_minutes` are dropped with a log line.
//!
//! What a delivery says and where it lands is [`content`]'s; [`super::posting`] makes the
//! Discord calls, with the messages of [`super::messages`].
//!
//! Every process delivers: a process sends a channel's rows only while it holds the channel's
//! claim in the store (taken per round, renewed before each post, released after), so each
//! channel is served by one process at a time, in order, and each row is checked to be still
//! pending right before it is sent.

mod content;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{Notify, Semaphore};

use super::posting;
use super::rest::RestError;
use super::Data;
use crate::model::{Delivery, DeliveryState, StoryId, StoryPost, Subscription};
use crate::store::subscriptions::Sent;
use crate::store::StoreError;
use crate::workers::{Backoff, Stop};
use content::{render, After};

/// Channels posted to at once.
const PARALLEL_CHANNELS: usize = 16;
/// How long a channel's claim lasts without renewal; renewed before every post. A process
/// that dies mid-send leaves its channels to the others after this.
const CLAIM: std::time::Duration = std::time::Duration::from_secs(60);
/// Rows fetched per round.
const BATCH: i64 = 500;

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Sent,
    Dropped(String),
    Failed(String),
    Paused(String),
    Retry(String),
}

/// Why Discord refused a post, in words for `/subscriptions`.
pub(crate) fn refusal(e: &RestError, channel_id: u64) -> Option<String> {
    let RestError::Status { status, code, .. } = e else {
        return None;
    };
    Some(match (status, code) {
        (403, Some(50001)) => format!(
            "no access to <#{channel_id}> (Missing Access: the bot cannot see that channel, or \
             it is a thread or channel it was not added to)"
        ),
        (403, _) => format!(
            "missing permission to post in <#{channel_id}> (needs Send Messages, Embed Links \
             and Attach Files)"
        ),
        (404, _) => format!("channel <#{channel_id}> no longer exists"),
        _ => return None,
    })
}

/// Runs until `stop`: sends what is due, then sleeps until the next row is due or `wake`.
/// A failed round is logged and retried after a backoff.
pub(crate) async fn run(data: Arc<Data>, wake: Arc<Notify>, mut stop: Stop) {
    let mut backoff = Backoff::new(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(60),
    );
    loop {
        let now = data.clock.now();
        let handled = match sweep(&data, now).await {
            Ok(()) => round(&data, now, &stop).await,
            Err(e) => Err(e),
        };
        let sent = match handled {
            Ok(n) => {
                backoff.reset();
                n
            }
            Err(e) => {
                let wait = backoff.fail();
                tracing::error!(error = %crate::error::Chain(&e), retry_in_s = wait.as_secs(), "delivery round failed");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop.wait() => return,
                }
                continue;
            }
        };
        if stop.requested() {
            return;
        }
        if sent > 0 {
            continue;
        }
        let next = data.app.store.next_due().await.ok().flatten();
        let wait = next
            .map_or(std::time::Duration::from_secs(5), |t| {
                (t - data.clock.now())
                    .to_std()
                    .unwrap_or(std::time::Duration::ZERO)
            })
            .clamp(
                std::time::Duration::from_millis(200),
                std::time::Duration::from_secs(5),
            );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
            () = stop.wait() => return,
        }
    }
}

/// Drops the rows that waited too long (Discord down, or their subscription paused).
async fn sweep(data: &Data, now: DateTime<Utc>) -> Result<(), StoreError> {
    let max_age = data.app.settings.subscriptions.max_delivery_age;
    let reason = format!("not sent within {} minutes", max_age.num_minutes());
    let dropped = data
        .app
        .store
        .expire_deliveries(now - max_age, &reason)
        .await?;
    if dropped > 0 {
        tracing::warn!(dropped, reason = %reason, "deliveries dropped");
    }
    Ok(())
}

/// One round: every due row, channels in parallel, each channel in order. Returns how many
/// rows were handled. Once `stop` is set, posts under way finish and no new one starts (the
/// rest stay pending for the next start).
pub(crate) async fn round(
    data: &Arc<Data>,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<usize, StoreError> {
    let due = data
        .app
        .store
        .due_deliveries(
            now,
            &data.member.id,
            crate::fleet::now_and_live_since(),
            BATCH,
        )
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut by_channel: HashMap<u64, Vec<Delivery>> = HashMap::new();
    let mut order = Vec::new();
    for d in due {
        if !by_channel.contains_key(&d.channel_id) {
            order.push(d.channel_id);
        }
        by_channel.entry(d.channel_id).or_default().push(d);
    }
    let claimed = claim(data, &order).await?;
    order.retain(|c| claimed.contains(c));
    let n = order.iter().map(|c| by_channel[c].len()).sum();
    let permits = Arc::new(Semaphore::new(PARALLEL_CHANNELS));
    let mut tasks = tokio::task::JoinSet::new();
    for channel in order {
        let rows = by_channel.remove(&channel).unwrap_or_default();
        let data = data.clone();
        let permits = permits.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            if let Err(e) = channel_rows(&data, channel, rows, &stop).await {
                tracing::error!(error = %crate::error::Chain(&e), channel, "delivery to a channel stopped; its rows stay pending");
            }
            let owner = &data.member.id;
            if let Err(e) = data.app.store.release_channels(owner, &[channel]).await {
                tracing::warn!(error = %crate::error::Chain(&e), channel, "cannot release a channel's claim; it expires");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(n)
}

/// Claims `channels` for this process; returns those it now holds.
async fn claim(
    data: &Data,
    channels: &[u64],
) -> Result<std::collections::HashSet<u64>, StoreError> {
    let times = crate::fleet::now_and_live_since();
    let until = times.0 + CLAIM.as_millis() as i64;
    let claimed = data
        .app
        .store
        .claim_channels(&data.member.id, channels, times, until)
        .await?;
    Ok(claimed.into_iter().collect())
}

/// Sends one claimed channel's rows in order, renewing the claim before each; stops when the
/// claim is lost or `stop` is set (the rest stay pending).
async fn channel_rows(
    data: &Data,
    channel: u64,
    rows: Vec<Delivery>,
    stop: &Stop,
) -> Result<(), StoreError> {
    let mut paused = std::collections::HashSet::new();
    for d in rows {
        if stop.requested() {
            return Ok(());
        }
        // One refused post pauses its subscription: the rest wait for the retry.
        if paused.contains(&d.subscription_id) {
            continue;
        }
        if claim(data, &[channel]).await?.is_empty() {
            tracing::warn!(channel, "lost a channel's claim to another process");
            return Ok(());
        }
        if !data.app.store.delivery_pending(d.id).await? {
            continue;
        }
        let outcome = deliver(data, &d).await;
        if let Err(e) = record(data, &d, &outcome).await {
            tracing::error!(error = %crate::error::Chain(&e), delivery = d.id, "cannot record a delivery");
        }
        if matches!(outcome, Outcome::Paused(_)) {
            paused.insert(d.subscription_id);
        }
    }
    Ok(())
}

async fn record(data: &Data, d: &Delivery, outcome: &Outcome) -> Result<(), StoreError> {
    let store = &data.app.store;
    let now = data.clock.now();
    let cfg = &data.app.settings.subscriptions;
    match outcome {
        Outcome::Sent => {}
        Outcome::Dropped(why) => {
            tracing::warn!(delivery = d.id, subscription = d.subscription_id, reason = %why, "delivery dropped");
            store.mark_unsent(d.id, DeliveryState::Dropped, why).await?;
        }
        Outcome::Failed(why) => {
            tracing::error!(delivery = d.id, subscription = d.subscription_id, reason = %why, "delivery failed");
            store.mark_unsent(d.id, DeliveryState::Failed, why).await?;
        }
        Outcome::Paused(why) => {
            tracing::warn!(subscription = d.subscription_id, reason = %why, "subscription paused");
            let retry = now + cfg.pause_retry;
            store
                .set_paused(d.subscription_id, Some((why, retry)), now)
                .await?;
            store.retry_delivery(d.id, retry, why).await?;
        }
        Outcome::Retry(why) => {
            let wait = crate::workers::exponential(
                std::time::Duration::from_secs(30),
                u32::try_from(d.attempts).unwrap_or(0),
                std::time::Duration::from_secs(30 << 6),
            );
            let wait = Duration::from_std(wait).unwrap_or(Duration::minutes(32));
            tracing::warn!(delivery = d.id, reason = %why, retry_in_s = wait.num_seconds(), "delivery will be retried");
            store.retry_delivery(d.id, now + wait, why).await?;
        }
    }
    Ok(())
}

async fn deliver(data: &Data, d: &Delivery) -> Outcome {
    let now = data.clock.now();
    let max_age = data.app.settings.subscriptions.max_delivery_age;
    if now - d.created_at > max_age {
        return Outcome::Dropped(format!("not sent within {} minutes", max_age.num_minutes()));
    }
    let sub = match data.app.store.subscription(d.subscription_id).await {
        Ok(Some(sub)) => sub,
        Ok(None) => return Outcome::Dropped("the subscription was removed".into()),
        Err(e) => return Outcome::Retry(crate::error::chain(&e)),
    };
    let r = match render(data, &sub, d).await {
        Ok(Some(r)) => r,
        Ok(None) => return Outcome::Dropped("the story no longer exists".into()),
        Err(e) => return Outcome::Retry(crate::error::chain(&e)),
    };
    let store = &data.app.store;
    let sending = store.mark_sending(d.id, now);
    let unsure = d.sending_at.is_some();
    let sent = posting::send(
        data,
        &r.target,
        &r.post,
        r.files,
        sub.guild_id,
        unsure,
        sending,
    )
    .await;
    match sent {
        Ok(posted) => match saved(data, &sub, d, &r.after, posted).await {
            // Sent but not recorded: the retry repeats the nonce (or finds the forum post).
            Err(e) => Outcome::Retry(crate::error::chain(&e)),
            Ok(()) => {
                tracing::info!(
                    delivery = d.id,
                    subscription = sub.id,
                    channel = posted.channel,
                    "delivered"
                );
                Outcome::Sent
            }
        },
        Err(posting::SendError::Store(e)) => Outcome::Retry(crate::error::chain(&e)),
        Err(posting::SendError::Gone(why)) => Outcome::Dropped(why),
        Err(posting::SendError::Rest(e)) => match refusal(&e, d.channel_id) {
            Some(why) => Outcome::Paused(why),
            None if matches!(e, RestError::Status { .. }) => Outcome::Failed(e.to_string()),
            None => Outcome::Retry(crate::error::chain(&e)),
        },
    }
}

/// Records a sent delivery and what follows from it (see [`Store::record_sent`]).
///
/// [`Store::record_sent`]: crate::store::Store::record_sent
async fn saved(
    data: &Data,
    sub: &Subscription,
    d: &Delivery,
    after: &After,
    posted: posting::Posted,
) -> Result<(), StoreError> {
    let store = &data.app.store;
    let now = data.clock.now();
    let story_post = after.story_post.map(|(count, sides)| StoryPost {
        story: StoryId::parse(&d.subject).expect("a story post's subject is a story id"),
        channel_id: posted.channel,
        message_id: posted.message,
        last_count: count,
        last_sides: sides,
    });
    store
        .record_sent(
            &Sent {
                delivery: d.id,
                subscription: sub.id,
                message_id: posted.message,
                channel_id: posted.channel,
                listed: &after.listed,
                story_post,
                thread: after.thread.then_some(posted.channel),
            },
            now,
        )
        .await?;
    if after.anchor && posted.message != 0 {
        store.set_anchor(sub.id, posted.message).await?;
    }
    if sub.paused_reason.is_some() {
        store.set_paused(sub.id, None, now).await?;
        tracing::info!(subscription = sub.id, "subscription resumed");
    }
    Ok(())
}

//! A fake Discord for the bot's tests: REST on one loopback port and a websocket gateway on
//! another, speaking the real protocol to the real serenity/poise client. It records every
//! REST request (JSON bodies, and `payload_json` plus files of multipart ones), dispatches
//! interactions like Discord does, and fails chosen routes with 429 or 5xx on request.
//!
//! It models forum channels (posts made with `POST /channels/{id}/threads`, with their
//! available tags and the "a tag is required" flag), threads started from messages, the
//! server's active threads, and roles with Discord's mention rules: a message pings a role
//! only when its content names it, `allowed_mentions` allows it, and the role is mentionable
//! or the bot may Mention Everyone. Each created message records whom it pinged
//! (`mention_roles`, `mention_everyone`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const APP_ID: u64 = 900_000_000_000_000_001;
pub const GUILD_ID: u64 = 900_000_000_000_000_002;
pub const CHANNEL_ID: u64 = 900_000_000_000_000_003;
pub const USER_ID: u64 = 900_000_000_000_000_004;

/// The token Discord gives interaction `id`: long and opaque like a real one (a base64 text
/// of about 180 characters), so tests can look for it anywhere it must not be.
pub fn interaction_token(id: u64) -> String {
    let seed = format!("interaction:{id}:");
    let mut token = String::from("aW50ZXJhY3Rpb246");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    while token.len() < 180 {
        for b in seed.bytes().chain(token.len().to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        token.push_str(&format!("{h:016x}"));
    }
    token.push_str(&id.to_string());
    token
}

/// A multipart file: field name, file name, bytes.
pub type Part = (String, String, Vec<u8>);

/// One REST request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    /// The JSON body, or the `payload_json` part of a multipart body.
    pub json: Option<Value>,
    /// Multipart files: (field name, file name, bytes).
    pub files: Vec<Part>,
    pub at: Instant,
    /// The status the fake answered.
    pub status: u16,
}

/// A planned failure: the next `times` requests whose path contains `path` get `status`.
#[derive(Debug, Clone)]
struct Fault {
    method: String,
    path: String,
    status: u16,
    retry_after: f64,
    global: bool,
    times: u32,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    faults: Vec<Fault>,
    /// The open gateway sessions, by shard.
    gateways: HashMap<u32, mpsc::UnboundedSender<WsMessage>>,
    /// The shards offered (GET /gateway/bot) and Discord's identify concurrency.
    shards: u32,
    max_concurrency: u32,
    /// Every IDENTIFY: (shard, when).
    identified: Vec<(u32, Instant)>,
    /// Which shard each interaction was dispatched on.
    dispatched_shard: HashMap<u64, u32>,
    /// `enforce_nonce` posts answered with the message already created.
    nonce_repeats: u32,
    seq: u64,
    ready_sessions: u32,
    identifies: u32,
    next_id: u64,
    /// When each interaction was dispatched, by id.
    dispatched: HashMap<u64, Instant>,
    /// Messages created in each channel, in order.
    messages: HashMap<u64, Vec<Value>>,
    /// (channel, nonce) of created messages, for `enforce_nonce`.
    nonces: HashMap<(u64, String), Value>,
    /// Channels that answer 403 or 404 to posts, with Discord's error code.
    refused: HashMap<u64, (u16, u32)>,
    /// Enforce Discord's limits: 50 requests/s globally, 5 messages per 5 s per channel.
    enforce_limits: bool,
    global_window: std::collections::VecDeque<Instant>,
    channel_windows: HashMap<u64, std::collections::VecDeque<Instant>>,
    /// 429s answered: (global, per channel).
    rate_limited: (u32, u32),
    /// Delay before answering a channel post.
    post_delay: Duration,
    /// Channels with a kind other than a plain text channel (forums), by id.
    channels: HashMap<u64, Value>,
    /// Every thread created (forum posts and threads on messages), in order.
    threads: Vec<Value>,
    /// The server's roles, by id.
    roles: HashMap<u64, Value>,
    /// Whether the bot holds Mention Everyone.
    bot_mention_everyone: bool,
    /// Requests (POST, path containing) that are carried out but answered 500, and how many.
    lost: Vec<(String, u32)>,
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Notify,
    token: String,
    ws_url: String,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeDiscord {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeDiscord {
    /// Starts REST and gateway listeners on loopback; `token` is the only one accepted.
    pub async fn start(token: &str) -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.expect("bind REST");
        let ws = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                next_id: 1_000_000_000_000_000_000,
                shards: 1,
                max_concurrency: 1,
                ..Inner::default()
            }),
            changed: Notify::new(),
            token: token.to_string(),
            ws_url: format!("ws://{}", ws.local_addr().unwrap()),
        });
        let base_url = format!("http://{}", rest.local_addr().unwrap());
        tokio::spawn(serve_rest(rest, shared.clone()));
        tokio::spawn(serve_gateway(ws, shared.clone()));
        FakeDiscord { base_url, shared }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.inner.lock().unwrap().requests.clone()
    }

    /// Waits until `pred` holds for the recorded requests, returning its value. `pred` runs
    /// under the fake's lock: it must not call the fake.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&[Recorded]) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(v) = pred(&self.shared.inner.lock().unwrap().requests) {
                return v;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let reqs = self.requests();
                let summary: Vec<String> = reqs
                    .iter()
                    .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
                    .collect();
                panic!(
                    "timed out waiting for {what}; requests so far:\n{}",
                    summary.join("\n")
                );
            }
        }
    }

    /// Waits for the `n`th READY (sessions counted from the start of the fake).
    pub async fn wait_ready(&self, n: u32, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if self.shared.inner.lock().unwrap().ready_sessions >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("the bot did not complete gateway session {n}");
            }
        }
    }

    /// Messages the bot created in `channel`, in order.
    pub fn channel_messages(&self, channel: u64) -> Vec<Value> {
        self.shared
            .inner
            .lock()
            .unwrap()
            .messages
            .get(&channel)
            .cloned()
            .unwrap_or_default()
    }

    /// Every created message, by channel.
    pub fn all_messages(&self) -> HashMap<u64, Vec<Value>> {
        self.shared.inner.lock().unwrap().messages.clone()
    }

    /// Posts in `channel` are answered with `status` (403 or 404) until [`Self::accept`]: a
    /// 403 says Missing Permissions (50013), a 404 Unknown Channel (10003).
    pub fn refuse(&self, channel: u64, status: u16) {
        let code = if status == 403 { 50013 } else { 10003 };
        self.refuse_with(channel, status, code);
    }

    /// Posts in `channel` are answered with `status` and Discord's error `code`.
    pub fn refuse_with(&self, channel: u64, status: u16, code: u32) {
        self.shared
            .inner
            .lock()
            .unwrap()
            .refused
            .insert(channel, (status, code));
    }

    pub fn accept(&self, channel: u64) {
        self.shared.inner.lock().unwrap().refused.remove(&channel);
    }

    /// Makes `id` a forum channel with these tags (their ids are returned, in order); with
    /// `require_tag`, a post without a tag is refused as Discord refuses it.
    pub fn add_forum(&self, id: u64, tags: &[&str], require_tag: bool) -> Vec<u64> {
        let mut inner = self.shared.inner.lock().unwrap();
        let mut ids = Vec::new();
        let mut available = Vec::new();
        for t in tags {
            inner.next_id += 1;
            ids.push(inner.next_id);
            available.push(json!({ "id": inner.next_id.to_string(), "name": t,
                                   "moderated": false, "emoji_id": null, "emoji_name": null }));
        }
        let channel = json!({
            "id": id.to_string(), "type": 15, "guild_id": GUILD_ID.to_string(), "name": "news-forum",
            "position": 1, "permission_overwrites": [], "nsfw": false, "parent_id": null,
            "flags": if require_tag { 16 } else { 0 }, "available_tags": available,
            "default_reaction_emoji": null, "default_sort_order": null, "default_forum_layout": 0,
            "topic": null, "rate_limit_per_user": 0, "last_message_id": null
        });
        inner.channels.insert(id, channel);
        ids
    }

    /// Replaces a forum's tags (a moderator's edit: the old ones no longer exist); returns
    /// the new tags' ids.
    pub fn set_forum_tags(&self, id: u64, tags: &[&str]) -> Vec<u64> {
        let require = self.shared.inner.lock().unwrap().channels[&id]["flags"] == 16;
        self.add_forum(id, tags, require)
    }

    /// Adds a role to the server; Discord pings it only when `mentionable`, or when the bot
    /// may Mention Everyone.
    pub fn add_role(&self, id: u64, name: &str, mentionable: bool) {
        let role = json!({
            "id": id.to_string(), "name": name, "color": 0, "colors": { "primary_color": 0,
            "secondary_color": null, "tertiary_color": null }, "hoist": false, "icon": null,
            "unicode_emoji": null, "position": 1, "permissions": "0", "managed": false,
            "mentionable": mentionable, "flags": 0
        });
        self.shared.inner.lock().unwrap().roles.insert(id, role);
    }

    /// Whether the bot holds Mention Everyone (pings roles that are not mentionable).
    pub fn set_bot_mention_everyone(&self, may: bool) {
        self.shared.inner.lock().unwrap().bot_mention_everyone = may;
    }

    /// The threads created in `parent` (forum posts, or threads on its messages), in order.
    pub fn threads(&self, parent: u64) -> Vec<Value> {
        self.shared
            .inner
            .lock()
            .unwrap()
            .threads
            .iter()
            .filter(|t| t["parent_id"] == parent.to_string().as_str())
            .cloned()
            .collect()
    }

    /// The next `times` POSTs whose path contains `path` are carried out, but answered 500:
    /// Discord acted, the bot cannot know it.
    pub fn lose_answers(&self, path: &str, times: u32) {
        self.shared
            .inner
            .lock()
            .unwrap()
            .lost
            .push((path.to_string(), times));
    }

    /// A thread someone else (a member) made in `parent`, listed first among the active ones.
    pub fn add_member_thread(&self, parent: u64, name: &str) -> u64 {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.next_id += 1;
        let thread = json!({
            "id": inner.next_id.to_string(), "type": 11, "guild_id": GUILD_ID.to_string(),
            "parent_id": parent.to_string(), "owner_id": USER_ID.to_string(), "name": name,
            "applied_tags": [], "message_count": 0, "member_count": 1, "flags": 0,
            "thread_metadata": { "archived": false, "auto_archive_duration": 10080,
                                 "archive_timestamp": "2026-11-27T08:00:00.000000+00:00", "locked": false }
        });
        inner.threads.insert(0, thread);
        inner.next_id
    }

    /// Deletes message `id` of `channel`, as a moderator would.
    pub fn delete_message(&self, channel: u64, id: u64) {
        let mut inner = self.shared.inner.lock().unwrap();
        if let Some(list) = inner.messages.get_mut(&channel) {
            list.retain(|m| m["id"] != id.to_string().as_str());
        }
    }

    /// Deletes thread `id` (a forum post), as a moderator would: posts to it get 404.
    pub fn delete_thread(&self, id: u64) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.threads.retain(|t| t["id"] != id.to_string().as_str());
        inner.refused.insert(id, (404, 10003));
    }

    /// Answers 429 beyond 50 requests/s globally or 5 messages per 5 s in a channel.
    pub fn enforce_rate_limits(&self) {
        self.shared.inner.lock().unwrap().enforce_limits = true;
    }

    /// 429s answered so far: (global, per channel).
    pub fn rate_limited(&self) -> (u32, u32) {
        self.shared.inner.lock().unwrap().rate_limited
    }

    /// Channel posts are answered `delay` after the message is created (a slow Discord).
    pub fn delay_posts(&self, delay: Duration) {
        self.shared.inner.lock().unwrap().post_delay = delay;
    }

    /// Dispatches a slash command in a server channel, from a member with `permissions`
    /// (bits); the bot's own permissions there are `app_permissions`.
    pub fn guild_command(
        &self,
        name: &str,
        options: Value,
        permissions: u64,
        app_permissions: u64,
    ) -> u64 {
        let mut channels = serde_json::Map::new();
        let mut roles = serde_json::Map::new();
        {
            let inner = self.shared.inner.lock().unwrap();
            collect_resolved(&options, &inner, &mut channels, &mut roles);
        }
        let data = json!({ "id": "1100", "name": name, "type": 1, "options": options,
                           "resolved": { "channels": channels, "roles": roles } });
        self.guild_interaction(2, data, permissions, app_permissions)
    }

    /// Autocomplete inside a server (for subscription commands).
    pub fn guild_autocomplete(&self, name: &str, options: Value) -> u64 {
        let data = json!({ "id": "1100", "name": name, "type": 1, "options": options });
        self.guild_interaction(4, data, 1 << 4, 0)
    }

    fn guild_interaction(&self, kind: u8, data: Value, permissions: u64, app: u64) -> u64 {
        self.guild_interaction_in(GUILD_ID, kind, data, permissions, app)
    }

    /// A slash command from a member of server `guild` (no options needing channels).
    pub fn command_in(&self, guild: u64, name: &str, options: Value) -> u64 {
        let data = json!({ "id": "1100", "name": name, "type": 1, "options": options });
        self.guild_interaction_in(guild, 2, data, 0, 0)
    }

    fn guild_interaction_in(
        &self,
        guild: u64,
        kind: u8,
        data: Value,
        permissions: u64,
        app: u64,
    ) -> u64 {
        let guild = guild.to_string();
        let id = self.next_id();
        let member_user = user(USER_ID, "moderator", false);
        let d = json!({
            "id": id.to_string(), "application_id": APP_ID.to_string(), "type": kind,
            "data": data, "guild_id": guild, "channel_id": CHANNEL_ID.to_string(),
            "channel": { "id": CHANNEL_ID.to_string(), "type": 0, "name": "news",
                         "guild_id": guild },
            "member": { "user": member_user, "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
                        "deaf": false, "mute": false, "flags": 0, "permissions": permissions.to_string() },
            "token": interaction_token(id), "version": 1,
            "app_permissions": app.to_string(), "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": { "0": guild },
            "context": 0, "attachment_size_limit": 10_485_760
        });
        self.shared
            .inner
            .lock()
            .unwrap()
            .dispatched
            .insert(id, Instant::now());
        let shard = self.dispatch("INTERACTION_CREATE", d);
        self.shared
            .inner
            .lock()
            .unwrap()
            .dispatched_shard
            .insert(id, shard);
        id
    }

    /// How many IDENTIFYs the gateway has seen.
    pub fn identifies(&self) -> u32 {
        self.shared.inner.lock().unwrap().identifies
    }

    /// The next `times` requests `method` whose path contains `path` get `status` (429s say
    /// `retry_after` seconds).
    pub fn fail(&self, method: &str, path: &str, status: u16, times: u32, retry_after: f64) {
        self.shared.inner.lock().unwrap().faults.push(Fault {
            method: method.into(),
            path: path.into(),
            status,
            retry_after,
            global: false,
            times,
        });
    }

    fn next_id(&self) -> u64 {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.next_id += 1;
        inner.next_id
    }

    /// Sends a gateway dispatch (op 0) to the connected bot: on the shard of its server, as
    /// Discord does (`(guild_id >> 22) % shards`), or shard 0 without one. Returns the shard.
    pub fn dispatch(&self, event: &str, d: Value) -> u32 {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.seq += 1;
        let shard = d["guild_id"]
            .as_str()
            .and_then(|g| g.parse::<u64>().ok())
            .map_or(0, |g| ((g >> 22) % u64::from(inner.shards)) as u32);
        let frame = json!({ "op": 0, "t": event, "s": inner.seq, "d": d });
        let tx = inner.gateways.get(&shard).expect("the bot holds the shard");
        tx.send(WsMessage::Text(frame.to_string()))
            .expect("gateway open");
        shard
    }

    /// Offers `shards` shards (GET /gateway/bot) with identify concurrency `max_concurrency`.
    pub fn offer_shards(&self, shards: u32, max_concurrency: u32) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.shards = shards;
        inner.max_concurrency = max_concurrency;
    }

    /// Every IDENTIFY so far: (shard, when).
    pub fn identified(&self) -> Vec<(u32, Instant)> {
        self.shared.inner.lock().unwrap().identified.clone()
    }

    /// Pairs of IDENTIFYs in one concurrency bucket (`shard % max_concurrency`) less than
    /// 5 seconds apart: Discord invalidates such sessions.
    pub fn identify_violations(&self) -> Vec<(u32, u32)> {
        let inner = self.shared.inner.lock().unwrap();
        let mc = inner.max_concurrency.max(1);
        let mut out = Vec::new();
        for (i, (a, ta)) in inner.identified.iter().enumerate() {
            for (b, tb) in &inner.identified[i + 1..] {
                let apart = if tb > ta { *tb - *ta } else { *ta - *tb };
                if a % mc == b % mc && apart < Duration::from_secs(5) {
                    out.push((*a, *b));
                }
            }
        }
        out
    }

    /// A server id that Discord would place on `shard` (of the shards offered).
    pub fn guild_on_shard(&self, shard: u32) -> u64 {
        let total = u64::from(self.shared.inner.lock().unwrap().shards);
        let base = 900_000_000_000u64 / total * total;
        ((base + u64::from(shard)) << 22) | 7
    }

    /// The shard interaction `id` was dispatched on.
    pub fn shard_of(&self, id: u64) -> u32 {
        self.shared.inner.lock().unwrap().dispatched_shard[&id]
    }

    /// `enforce_nonce` posts answered with the message already created (repeats refused).
    pub fn nonce_repeats(&self) -> u32 {
        self.shared.inner.lock().unwrap().nonce_repeats
    }

    /// Dispatches a slash command from a user in a DM; returns the interaction id.
    pub fn command(&self, name: &str, options: Value) -> u64 {
        self.interaction(
            2,
            json!({ "id": "1100", "name": name, "type": 1, "options": options }),
            None,
        )
    }

    /// Dispatches an autocomplete request for `option` of `name`, with `partial` typed so far.
    pub fn autocomplete(&self, name: &str, option: &str, partial: &str) -> u64 {
        self.interaction(
            4,
            json!({ "id": "1100", "name": name, "type": 1, "options": [
                { "name": option, "type": 3, "value": partial, "focused": true }
            ]}),
            None,
        )
    }

    /// Dispatches a button press (`custom_id`) on a message of the bot.
    pub fn button(&self, custom_id: &str) -> u64 {
        self.interaction(
            3,
            json!({ "custom_id": custom_id, "component_type": 2 }),
            Some(self.bot_message()),
        )
    }

    /// Dispatches a select-menu choice.
    pub fn select(&self, custom_id: &str, value: &str) -> u64 {
        self.interaction(
            3,
            json!({ "custom_id": custom_id, "component_type": 3, "values": [value] }),
            Some(self.bot_message()),
        )
    }

    fn bot_message(&self) -> Value {
        json!({
            "id": self.next_id().to_string(), "channel_id": CHANNEL_ID.to_string(),
            "author": user(APP_ID, "storybot", true), "content": "",
            "timestamp": "2026-11-27T08:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0, "flags": 0,
            "components": []
        })
    }

    fn interaction(&self, kind: u8, data: Value, message: Option<Value>) -> u64 {
        let id = self.next_id();
        let mut d = json!({
            "id": id.to_string(), "application_id": APP_ID.to_string(), "type": kind,
            "data": data, "channel_id": CHANNEL_ID.to_string(),
            "channel": { "id": CHANNEL_ID.to_string(), "type": 1 },
            "user": user(USER_ID, "reader", false), "token": interaction_token(id),
            "version": 1, "app_permissions": "0", "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": { "0": GUILD_ID.to_string() },
            "context": 1, "attachment_size_limit": 10_485_760
        });
        if let Some(m) = message {
            d["message"] = m;
        }
        self.shared
            .inner
            .lock()
            .unwrap()
            .dispatched
            .insert(id, Instant::now());
        self.dispatch("INTERACTION_CREATE", d);
        id
    }

    /// When interaction `id` was dispatched.
    pub fn dispatched_at(&self, id: u64) -> Instant {
        self.shared.inner.lock().unwrap().dispatched[&id]
    }

    /// Closes the gateway connection, as Discord does when it drops a session.
    pub fn drop_gateway(&self) {
        for (_, tx) in self.shared.inner.lock().unwrap().gateways.drain() {
            let _ = tx.send(WsMessage::Close(None));
        }
    }
}

/// Resolved objects for every channel (type 7) and role (type 8) option in `options`, nested
/// included: a registered forum as a forum, any other channel as a text channel.
fn collect_resolved(
    options: &Value,
    inner: &Inner,
    channels: &mut serde_json::Map<String, Value>,
    roles: &mut serde_json::Map<String, Value>,
) {
    for o in options.as_array().into_iter().flatten() {
        let id = o["value"].as_str().unwrap_or_default().to_string();
        if o["type"] == 7 {
            let kind = id
                .parse::<u64>()
                .ok()
                .and_then(|c| inner.channels.get(&c))
                .map_or(json!(0), |c| c["type"].clone());
            channels.insert(
                id.clone(),
                json!({ "id": id, "name": "channel", "type": kind, "permissions": "0" }),
            );
        }
        if o["type"] == 8 {
            let role = id
                .parse::<u64>()
                .ok()
                .and_then(|r| inner.roles.get(&r).cloned())
                .expect("a role option names a role added with add_role");
            roles.insert(id.clone(), role);
        }
        collect_resolved(&o["options"], inner, channels, roles);
    }
}

/// Whom a message pings under Discord's rules (see the module documentation): the roles, and
/// whether everyone.
fn mentions(inner: &Inner, message: &Value) -> (Vec<String>, bool) {
    let content = message["content"].as_str().unwrap_or_default();
    let allowed = &message["allowed_mentions"];
    let parses = |kind: &str| {
        allowed.is_null()
            || allowed["parse"]
                .as_array()
                .is_some_and(|p| p.iter().any(|k| k == kind))
    };
    let mut roles = Vec::new();
    for part in content.split("<@&").skip(1) {
        let Some((id, _)) = part.split_once('>') else {
            continue;
        };
        let listed = allowed["roles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r == id));
        let role = id.parse::<u64>().ok().and_then(|r| inner.roles.get(&r));
        let may = role.is_some_and(|r| r["mentionable"] == true) || inner.bot_mention_everyone;
        if (parses("roles") || listed) && may && !roles.contains(&id.to_string()) {
            roles.push(id.to_string());
        }
    }
    let everyone = (content.contains("@everyone") || content.contains("@here"))
        && parses("everyone")
        && inner.bot_mention_everyone;
    (roles, everyone)
}

fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({ "id": id.to_string(), "username": name, "discriminator": "0",
            "global_name": null, "avatar": null, "bot": bot })
}

async fn serve_rest(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        // As a real server would: no Nagle delay on small writes.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if status == 204 {
        return r.body(Full::new(Bytes::new())).unwrap();
    }
    r = r.header("x-ratelimit-limit", "5");
    r.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// Discord's limits, when enforced: a 429 for a request over 50 in the last second, or a
/// channel post over 5 in that channel's last 5 seconds. Counts the requests it lets through.
fn rate_limit(
    inner: &mut Inner,
    method: &str,
    path: &str,
    interaction_route: bool,
) -> Option<(u16, Response<Full<Bytes>>)> {
    if !inner.enforce_limits || interaction_route {
        return None;
    }
    let now = Instant::now();
    while inner
        .global_window
        .front()
        .is_some_and(|t| now - *t >= Duration::from_secs(1))
    {
        inner.global_window.pop_front();
    }
    let limited = |global: bool, retry: Duration| {
        let secs = retry.as_secs_f64().max(0.001);
        let mut r = reply(
            429,
            json!({ "message": "You are being rate limited.", "retry_after": secs, "global": global }),
        );
        let h = r.headers_mut();
        h.insert("retry-after", secs.ceil().to_string().parse().unwrap());
        h.insert(
            "x-ratelimit-scope",
            (if global { "global" } else { "user" }).parse().unwrap(),
        );
        if global {
            h.insert("x-ratelimit-global", "true".parse().unwrap());
        }
        (429, r)
    };
    if inner.global_window.len() >= 50 {
        inner.rate_limited.0 += 1;
        let retry = Duration::from_secs(1) - (now - inner.global_window[0]);
        return Some(limited(true, retry));
    }
    let channel = channel_of(method, path);
    if let Some(c) = channel {
        let w = inner.channel_windows.entry(c).or_default();
        while w
            .front()
            .is_some_and(|t| now - *t >= Duration::from_secs(5))
        {
            w.pop_front();
        }
        if w.len() >= 5 {
            let retry = Duration::from_secs(5) - (now - w[0]);
            inner.rate_limited.1 += 1;
            return Some(limited(false, retry));
        }
        w.push_back(now);
    }
    inner.global_window.push_back(now);
    None
}

/// The channel of a message post (`POST /api/v10/channels/{id}/messages`).
fn channel_of(method: &str, path: &str) -> Option<u64> {
    let rest = path.strip_prefix("/api/v10/channels/")?;
    let (id, tail) = rest.split_once('/')?;
    (method == "POST" && tail == "messages")
        .then(|| id.parse().ok())
        .flatten()
}

/// The forum of a forum post (`POST /api/v10/channels/{id}/threads`).
fn forum_of(method: &str, path: &str) -> Option<u64> {
    let rest = path.strip_prefix("/api/v10/channels/")?;
    let (id, tail) = rest.split_once('/')?;
    (method == "POST" && tail == "threads")
        .then(|| id.parse().ok())
        .flatten()
}

/// A refusal of a request about `channel` (refused with [`FakeDiscord::refuse`]).
fn refused(inner: &Inner, channel: &str) -> Option<(u16, Response<Full<Bytes>>)> {
    let (status, code) = inner.refused.get(&channel.parse().ok()?).copied()?;
    let message = match code {
        50001 => "Missing Access",
        50013 => "Missing Permissions",
        _ => "Unknown Channel",
    };
    Some((
        status,
        reply(status, json!({ "message": message, "code": code })),
    ))
}

/// `POST /channels/{forum}/threads`: a forum post, with its first message, as Discord
/// checks it (a message, known tags, a tag when the forum requires one).
fn forum_post(
    inner: &mut Inner,
    forum: &str,
    body: Option<&Value>,
) -> (u16, Response<Full<Bytes>>) {
    let bad =
        |message: &str, code: u32| (400, reply(400, json!({ "message": message, "code": code })));
    let Some(channel) = forum
        .parse::<u64>()
        .ok()
        .and_then(|f| inner.channels.get(&f))
        .cloned()
    else {
        return bad("Cannot execute action on this channel type", 50024);
    };
    let body = body.cloned().unwrap_or(json!({}));
    if body["message"].is_null() || body["name"].as_str().is_none_or(str::is_empty) {
        return bad("Invalid Form Body", 50035);
    }
    let known: Vec<Value> = channel["available_tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["id"].clone())
        .collect();
    let applied = body["applied_tags"].as_array().cloned().unwrap_or_default();
    if applied.iter().any(|t| !known.contains(t)) {
        return bad("Invalid Form Body (unknown tag)", 50035);
    }
    if applied.is_empty() && channel["flags"].as_u64().unwrap_or(0) & 16 != 0 {
        return bad(
            "A tag is required to create a forum post in this channel",
            40067,
        );
    }
    inner.next_id += 1;
    let id = inner.next_id.to_string();
    let mut message = body["message"].clone();
    message["id"] = json!(id);
    message["channel_id"] = json!(id);
    let (roles, everyone) = mentions(inner, &message);
    message["mention_roles"] = json!(roles);
    message["mention_everyone"] = json!(everyone);
    let thread = json!({
        "id": id, "type": 11, "guild_id": GUILD_ID.to_string(), "parent_id": forum,
        "owner_id": APP_ID.to_string(), "name": body["name"], "applied_tags": applied,
        "message_count": 0, "member_count": 1, "flags": 0,
        "thread_metadata": { "archived": false, "auto_archive_duration": 10080,
                             "archive_timestamp": "2026-11-27T08:00:00.000000+00:00", "locked": false }
    });
    inner.threads.push(thread.clone());
    inner
        .messages
        .entry(inner.next_id)
        .or_default()
        .push(message.clone());
    let mut answer = thread;
    answer["message"] = message;
    (201, reply(201, answer))
}

/// `POST /channels/{channel}/messages/{message}/threads`: a thread on a message, whose id is
/// the message's; a second one is refused (160004).
fn thread_on(
    inner: &mut Inner,
    channel: &str,
    message: &str,
    body: Option<&Value>,
) -> (u16, Response<Full<Bytes>>) {
    let c: u64 = channel.parse().unwrap_or(0);
    let exists = inner
        .messages
        .get(&c)
        .is_some_and(|ms| ms.iter().any(|m| m["id"] == message));
    if !exists {
        return (
            404,
            reply(404, json!({ "message": "Unknown Message", "code": 10008 })),
        );
    }
    if inner.threads.iter().any(|t| t["id"] == message) {
        return (
            400,
            reply(
                400,
                json!({ "message": "A thread has already been created for this message", "code": 160004 }),
            ),
        );
    }
    let thread = json!({
        "id": message, "type": 11, "guild_id": GUILD_ID.to_string(), "parent_id": channel,
        "owner_id": APP_ID.to_string(), "name": body.map_or(json!("thread"), |b| b["name"].clone()),
        "message_count": 0, "member_count": 1, "flags": 0,
        "thread_metadata": { "archived": false, "auto_archive_duration": 10080,
                             "archive_timestamp": "2026-11-27T08:00:00.000000+00:00", "locked": false }
    });
    inner.threads.push(thread.clone());
    (201, reply(201, thread))
}

/// A message post: refused channels answer 403 or 404; `enforce_nonce` returns the message
/// already created with that nonce instead of a second one.
fn channel_post(
    inner: &mut Inner,
    method: &str,
    path: &str,
    json: Option<&Value>,
) -> Option<(u16, Response<Full<Bytes>>)> {
    let channel = channel_of(method, path)?;
    if let Some((status, code)) = inner.refused.get(&channel).copied() {
        let message = match code {
            50001 => "Missing Access",
            50013 => "Missing Permissions",
            _ => "Unknown Channel",
        };
        return Some((
            status,
            reply(status, json!({ "message": message, "code": code })),
        ));
    }
    let body = json.cloned().unwrap_or(json!({}));
    let nonce = body["nonce"].as_str().map(str::to_string);
    if body["enforce_nonce"] == true {
        if let Some(existing) = nonce
            .as_ref()
            .and_then(|n| inner.nonces.get(&(channel, n.clone())))
        {
            let existing = existing.clone();
            inner.nonce_repeats += 1;
            return Some((200, with_bucket(inner, channel, reply(200, existing))));
        }
    }
    inner.next_id += 1;
    let mut m = body;
    m["id"] = json!(inner.next_id.to_string());
    m["channel_id"] = json!(channel.to_string());
    let (roles, everyone) = mentions(inner, &m);
    m["mention_roles"] = json!(roles);
    m["mention_everyone"] = json!(everyone);
    if let Some(n) = nonce {
        inner.nonces.insert((channel, n), m.clone());
    }
    inner.messages.entry(channel).or_default().push(m.clone());
    Some((200, with_bucket(inner, channel, reply(200, m))))
}

/// Adds the per-channel bucket headers Discord sends with a message post.
fn with_bucket(inner: &Inner, channel: u64, mut r: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    if !inner.enforce_limits {
        return r;
    }
    let now = Instant::now();
    let w = inner.channel_windows.get(&channel);
    let used = w.map_or(0, std::collections::VecDeque::len);
    let reset = w
        .and_then(|w| w.front())
        .map_or(0.0, |t| 5.0 - (now - *t).as_secs_f64());
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", "5".parse().unwrap());
    h.insert(
        "x-ratelimit-remaining",
        (5 - used.min(5)).to_string().parse().unwrap(),
    );
    h.insert(
        "x-ratelimit-reset-after",
        format!("{:.3}", reset.max(0.0)).parse().unwrap(),
    );
    h.insert(
        "x-ratelimit-bucket",
        format!("channel-{channel}").parse().unwrap(),
    );
    r
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let (json, files) = if let Some(boundary) = content_type.split("boundary=").nth(1) {
        parse_multipart(&body, boundary.trim_matches('"'))
    } else {
        (serde_json::from_slice(&body).ok(), Vec::new())
    };
    let interaction_route =
        path.starts_with("/api/v10/interactions/") || path.starts_with("/api/v10/webhooks/");
    let delay = shared.inner.lock().unwrap().post_delay;
    let is_post = channel_of(&method, &path).is_some() || forum_of(&method, &path).is_some();
    let authorised = interaction_route
        || headers.get("authorization").map(String::as_str)
            == Some(&format!("Bot {}", shared.token));
    let (status, response) = {
        let mut inner = shared.inner.lock().unwrap();
        let fault = inner
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.contains(&f.path));
        let (status, response) = if !authorised {
            (
                401,
                reply(401, json!({ "message": "401: Unauthorized", "code": 0 })),
            )
        } else if let Some(f) = fault {
            f.times -= 1;
            let mut r = reply(
                f.status,
                if f.status == 429 {
                    json!({ "message": "You are being rate limited.",
                            "retry_after": f.retry_after, "global": f.global })
                } else {
                    json!({ "message": "Internal Server Error", "code": 0 })
                },
            );
            if f.status == 429 {
                r.headers_mut().insert(
                    "retry-after",
                    f.retry_after.ceil().to_string().parse().unwrap(),
                );
            }
            (f.status, r)
        } else if let Some(limited) = rate_limit(&mut inner, &method, &path, interaction_route) {
            limited
        } else if let Some(r) = channel_post(&mut inner, &method, &path, json.as_ref()) {
            r
        } else {
            route(&shared, &mut inner, &method, &path, json.as_ref())
        };
        let lose = inner
            .lost
            .iter_mut()
            .find(|(p, times)| *times > 0 && method == "POST" && path.contains(p.as_str()));
        let (status, response) = match lose {
            Some((_, times)) if status < 300 => {
                *times -= 1;
                (
                    500,
                    reply(
                        500,
                        json!({ "message": "Internal Server Error", "code": 0 }),
                    ),
                )
            }
            _ => (status, response),
        };
        inner.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            headers,
            json,
            files,
            at: Instant::now(),
            status,
        });
        (status, response)
    };
    let _ = status;
    shared.changed.notify_waiters();
    if is_post && !delay.is_zero() {
        // The message exists; only the answer is slow (a response the client may never see).
        tokio::time::sleep(delay).await;
    }
    response
}

fn route(
    shared: &Shared,
    inner: &mut Inner,
    method: &str,
    path: &str,
    json: Option<&Value>,
) -> (u16, Response<Full<Bytes>>) {
    let parts: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let ok = |status: u16, body: Value| (status, reply(status, body));
    match (method, parts.as_slice()) {
        ("GET", ["gateway"]) => ok(200, json!({ "url": shared.ws_url })),
        ("GET", ["gateway", "bot"]) => ok(
            200,
            json!({ "url": shared.ws_url, "shards": inner.shards, "session_start_limit":
                { "total": 1000, "remaining": 999, "reset_after": 0,
                  "max_concurrency": inner.max_concurrency } }),
        ),
        ("GET", ["users", "@me"]) => ok(200, user(APP_ID, "storybot", true)),
        ("PUT", ["applications", _, "commands"])
        | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let mut cmds = json.cloned().unwrap_or(json!([]));
            if let Some(list) = cmds.as_array_mut() {
                for (i, c) in list.iter_mut().enumerate() {
                    c["id"] = json!((1100 + i).to_string());
                    c["application_id"] = json!(APP_ID.to_string());
                    c["version"] = json!("1");
                }
            }
            ok(200, cmds)
        }
        ("POST", ["interactions", _, _, "callback"]) => ok(204, Value::Null),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) | ("POST", ["webhooks", _, _]) => {
            let mut m = json.cloned().unwrap_or(json!({}));
            m["id"] = json!("1200");
            m["channel_id"] = json!(CHANNEL_ID.to_string());
            ok(200, m)
        }
        ("DELETE", ["webhooks", _, _, "messages", "@original"]) => ok(204, Value::Null),
        ("GET", ["channels", channel]) => {
            if let Some(r) = refused(inner, channel) {
                return r;
            }
            let known = channel
                .parse::<u64>()
                .ok()
                .and_then(|c| inner.channels.get(&c));
            ok(
                200,
                known.cloned().unwrap_or_else(|| {
                    json!({ "id": channel, "type": 0, "guild_id": GUILD_ID.to_string(),
                            "name": "news", "position": 0, "permission_overwrites": [],
                            "nsfw": false, "parent_id": null, "flags": 0, "topic": null,
                            "rate_limit_per_user": 0, "last_message_id": null })
                }),
            )
        }
        ("POST", ["channels", forum, "threads"]) => match refused(inner, forum) {
            Some(r) => r,
            None => forum_post(inner, forum, json),
        },
        ("POST", ["channels", channel, "messages", message, "threads"]) => {
            match refused(inner, channel) {
                Some(r) => r,
                None => thread_on(inner, channel, message, json),
            }
        }
        ("GET", ["guilds", _, "threads", "active"]) => {
            ok(200, json!({ "threads": inner.threads, "members": [] }))
        }
        ("DELETE", ["channels", channel, "messages", message]) => {
            let channel: u64 = channel.parse().unwrap_or(0);
            let list = inner.messages.entry(channel).or_default();
            let before = list.len();
            list.retain(|m| m["id"].as_str() != Some(message));
            if list.len() < before {
                ok(204, Value::Null)
            } else {
                ok(404, json!({ "message": "Unknown Message", "code": 10008 }))
            }
        }
        _ => ok(404, json!({ "message": "404: Not Found", "code": 0 })),
    }
}

/// Splits a multipart/form-data body into its `payload_json` and its files.
fn parse_multipart(body: &[u8], boundary: &str) -> (Option<Value>, Vec<Part>) {
    let delimiter = format!("--{boundary}");
    let mut json = None;
    let mut files = Vec::new();
    let text = body;
    let mut starts = Vec::new();
    let d = delimiter.as_bytes();
    let mut i = 0;
    while i + d.len() <= text.len() {
        if &text[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        let part = &text[w[0] + d.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        let field = |key: &str| {
            head.split(&format!("{key}=\""))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_string)
        };
        let name = field(" name").or_else(|| field("name")).unwrap_or_default();
        if name == "payload_json" {
            json = serde_json::from_slice(content).ok();
        } else {
            files.push((
                name,
                field("filename").unwrap_or_default(),
                content.to_vec(),
            ));
        }
    }
    (json, files)
}

async fn serve_gateway(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (mut sink, mut stream) = ws.split();
            let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
            tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    let close = matches!(m, WsMessage::Close(_));
                    if sink.send(m).await.is_err() || close {
                        break;
                    }
                }
            });
            let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41250 } });
            let _ = tx.send(WsMessage::Text(hello.to_string()));
            while let Some(Ok(msg)) = stream.next().await {
                let WsMessage::Text(text) = msg else {
                    if let WsMessage::Close(_) = msg {
                        // Complete the closing handshake, as Discord does.
                        let _ = tx.send(WsMessage::Close(None));
                        break;
                    }
                    continue;
                };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                match frame["op"].as_u64() {
                    Some(1) => {
                        let _ = tx.send(WsMessage::Text(json!({ "op": 11 }).to_string()));
                    }
                    Some(2) => {
                        let token = frame["d"]["token"].as_str().unwrap_or("");
                        let token = token.strip_prefix("Bot ").unwrap_or(token);
                        let shard = frame["d"]["shard"][0].as_u64().unwrap_or(0) as u32;
                        {
                            let mut inner = shared.inner.lock().unwrap();
                            inner.identifies += 1;
                            inner.identified.push((shard, Instant::now()));
                        }
                        if token != shared.token {
                            let _ = tx.send(WsMessage::Close(Some(CloseFrame {
                                code: CloseCode::from(4004),
                                reason: "Authentication failed.".into(),
                            })));
                            break;
                        }
                        let ready = {
                            let mut inner = shared.inner.lock().unwrap();
                            inner.seq += 1;
                            let total = inner.shards;
                            let guilds: Vec<Value> = [GUILD_ID]
                                .iter()
                                .filter(|g| ((*g >> 22) % u64::from(total)) as u32 == shard)
                                .map(|g| json!({ "id": g.to_string(), "unavailable": true }))
                                .collect();
                            json!({ "op": 0, "t": "READY", "s": inner.seq, "d": {
                                "v": 10,
                                "user": user(APP_ID, "storybot", true),
                                "guilds": guilds,
                                "session_id": format!("session-{}", inner.identifies),
                                "resume_gateway_url": shared.ws_url,
                                "shard": [shard, total],
                                "application": { "id": APP_ID.to_string(), "flags": 0 }
                            }})
                        };
                        let _ = tx.send(WsMessage::Text(ready.to_string()));
                        {
                            let mut inner = shared.inner.lock().unwrap();
                            inner.gateways.insert(shard, tx.clone());
                            inner.ready_sessions += 1;
                        }
                        shared.changed.notify_waiters();
                    }
                    _ => {}
                }
            }
        });
    }
}

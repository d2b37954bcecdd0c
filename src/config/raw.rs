//! The configuration file as written: `config.toml`, read with serde and nothing more.
//!
//! Every section and key has a default, so an empty file (or none) is a working
//! configuration; unknown keys are errors, so a typo never falls back to a default silently.
//! Numbers are read as `u64` whatever they mean: [`super::Settings`] checks each against its
//! documented range and turns it into the type its users need. Nothing here is trusted yet.

use std::path::PathBuf;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub store: StoreConfig,
    pub digest: DigestConfig,
    pub blindspot: BlindspotConfig,
    pub factuality: FactualityConfig,
    pub cluster: ClusterConfig,
    pub ingest: IngestConfig,
    pub discord: DiscordConfig,
    pub subscriptions: SubscriptionsConfig,
    pub llm: LlmConfig,
    pub web: WebConfig,
    pub articles: super::ArticlesConfig,
    /// The feeds to poll.
    pub feeds: Vec<FeedConfig>,
    /// Outlets added to, or overriding, the bundled ratings table.
    pub outlets: Vec<OutletOverride>,
    /// The file this was read from, for messages (`None`: built in or built by code).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://PATH` (or a bare file path) or `postgres://...`. A relative SQLite path is
    /// resolved against the config file's folder.
    pub url: String,
    /// Seed an empty store with the bundled demo stories on first use.
    pub seed_demo: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "sqlite://storybot.db".into(),
            seed_demo: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    /// How many top headlines a digest shows.
    pub headlines: u64,
    /// Link for a story's title, `{id}` replaced by the story id. Empty: the title links to
    /// the story's most representative article.
    pub story_url: String,
    /// How recent a story must be (hours before the newest story) to count for `top`.
    pub top_window_hours: u64,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            headlines: 5,
            story_url: String::new(),
            top_window_hours: 48,
        }
    }
}

/// The Discord bot (`storybot run`). The token is never here: it comes from DISCORD_TOKEN.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Where REST calls go: empty for Discord itself, else a REST proxy or a local fake.
    pub api_base_url: String,
    /// Register the commands to these servers instead of globally.
    pub guild_ids: Vec<u64>,
    /// A reply ready within this many milliseconds is sent at once; 0 defers every reply.
    pub defer_after_ms: u64,
    /// Requests per second under Discord's global limit of 50.
    pub requests_per_second: u64,
    /// Minutes between the info-level summary lines.
    pub summary_minutes: u64,
    /// The gateway shards this process holds: "" for all (autosharded), "0-3" or "4".
    pub shards: String,
    /// The bot's shard count when `shards` is set.
    pub total_shards: u64,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            api_base_url: String::new(),
            guild_ids: Vec::new(),
            defer_after_ms: 1_500,
            requests_per_second: 48,
            summary_minutes: 30,
            shards: String::new(),
            total_shards: 0,
        }
    }
}

/// `[web]`: story pages and the operators' view (`storybot serve`, or inside `run`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Where the public pages listen (`127.0.0.1:8080`, `0.0.0.0:80`). Empty: `storybot run`
    /// serves no pages, `storybot serve` listens on 127.0.0.1:8080.
    pub listen: String,
    /// Where the operators' pages (`/feeds`, `/subscriptions`, `/healthz`, `/metrics`) listen.
    /// Empty: no separate listener.
    pub admin_listen: String,
    /// The pages' public address (`https://news.example.org`): digest titles link to
    /// `{public_url}/story/{id}` unless `digest.story_url` says otherwise.
    pub public_url: String,
    /// The environment variable holding the operators' token. When it is set, the operators'
    /// pages are also served on the public listener under `/admin/`, to requests that send
    /// `Authorization: Bearer TOKEN`.
    pub admin_token_env: String,
    /// Seconds a client has to send a request's headers, counted from when the connection
    /// is ready for the next request (so it bounds an idle keep-alive connection too).
    pub header_timeout_seconds: u64,
    /// Seconds a connection may pass with no byte read or written outside a page being made.
    pub idle_timeout_seconds: u64,
    /// Connections the public listener holds at once.
    pub max_connections: u64,
    /// Connections one client address holds at once on the public listener; 0: no such cap
    /// (behind a reverse proxy every client has the proxy's address).
    pub max_connections_per_address: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: String::new(),
            admin_listen: "127.0.0.1:8081".into(),
            public_url: String::new(),
            admin_token_env: "STORYBOT_ADMIN_TOKEN".into(),
            header_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            max_connections: 1_024,
            max_connections_per_address: 64,
        }
    }
}

/// `[llm]`: key points written by a language model the operator runs (off without `base_url`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// A server speaking OpenAI's chat-completions API (`https://host/v1`).
    pub base_url: Option<String>,
    pub model: String,
    /// The name of the environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    pub timeout_seconds: u64,
    pub max_concurrent: u64,
    pub max_requests_per_hour: u64,
    pub min_sources: u64,
    pub resummarise_growth_percent: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: None,
            model: String::new(),
            api_key_env: None,
            timeout_seconds: 60,
            max_concurrent: 2,
            max_requests_per_hour: 120,
            min_sources: 3,
            resummarise_growth_percent: 50,
        }
    }
}

/// Channel subscriptions and their delivery.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SubscriptionsConfig {
    pub max_per_guild: u64,
    pub min_sources: u64,
    pub growth_percent: u64,
    pub max_delivery_age_minutes: u64,
    pub briefing_grace_minutes: u64,
    pub match_interval_seconds: u64,
    pub pause_retry_minutes: u64,
}

impl Default for SubscriptionsConfig {
    fn default() -> Self {
        SubscriptionsConfig {
            max_per_guild: 25,
            min_sources: 5,
            growth_percent: 50,
            max_delivery_age_minutes: 60,
            briefing_grace_minutes: 60,
            match_interval_seconds: 60,
            pause_retry_minutes: 10,
        }
    }
}

/// Feed polling.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub interval_minutes: u64,
    /// 0 switches the limit off.
    pub max_age_hours: u64,
    pub concurrency: u64,
    pub connect_timeout_seconds: u64,
    pub timeout_seconds: u64,
    pub max_body_bytes: u64,
    pub disable_after_failures: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            interval_minutes: 15,
            max_age_hours: 72,
            concurrency: 8,
            connect_timeout_seconds: 5,
            timeout_seconds: 20,
            max_body_bytes: 5 * 1024 * 1024,
            disable_after_failures: 8,
        }
    }
}

/// One `[[feeds]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// `https://...`, `http://...` or `file:///...`.
    pub url: String,
    /// Outlet name for every article of this feed (else matched by each article's host).
    pub outlet: Option<String>,
    /// Refresh interval, instead of `ingest.interval_minutes`.
    pub refresh_minutes: Option<u64>,
}

/// Story clustering.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub window_hours: u64,
    pub max_span_hours: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            window_hours: 72,
            max_span_hours: 24,
        }
    }
}

/// When a story counts as a blindspot.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BlindspotConfig {
    pub min_rated_sources: u64,
    pub max_share: u64,
    pub min_opposite_share: u64,
}

impl Default for BlindspotConfig {
    fn default() -> Self {
        BlindspotConfig {
            min_rated_sources: 3,
            max_share: 10,
            min_opposite_share: 30,
        }
    }
}

/// `[factuality]`: when a story's coverage is flagged as mostly from low-factuality outlets.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FactualityConfig {
    pub min_rated_sources: u64,
    pub low_share: u64,
    pub top_skips_low: bool,
}

impl Default for FactualityConfig {
    fn default() -> Self {
        FactualityConfig {
            min_rated_sources: 3,
            low_share: 50,
            top_skips_low: false,
        }
    }
}

/// One `[[outlets]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutletOverride {
    pub name: String,
    pub domains: Vec<String>,
    /// `left`, `lean-left`, `center`, `lean-right`, `right`, or absent for unrated.
    pub bias: Option<String>,
    pub factuality: Option<String>,
}

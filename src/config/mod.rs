//! Configuration: the file as written ([`raw`]) and the settings the program runs on
//! ([`Settings`]), validated once at start-up.
//!
//! As ripgrep turns low-level arguments into high-level ones, [`Settings::new`] checks every
//! key of a [`Config`] against its documented range (see `config.toml`) and turns numbers into
//! the types their users need: durations, counts, a blindspot rule. A value out of range is an
//! error naming the file, the key and the range. The rest of the program reads [`Settings`]
//! only, so no arithmetic on a raw setting happens anywhere else, and nothing that validation
//! accepts can overflow later (a property test holds every subsystem to that).
//!
//! Secrets (the Discord token) are never read from here: they come from the environment.

mod articles;
pub(crate) mod raw;

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use raw::{
    BlindspotConfig, ClusterConfig, Config, DigestConfig, DiscordConfig, FactualityConfig,
    FeedConfig, IngestConfig, LlmConfig, OutletOverride, StoreConfig, SubscriptionsConfig,
    WebConfig,
};

pub use articles::{ArticleSettings, ArticlesConfig};

use crate::model::{Bias, Factuality, Outlet};

/// A configuration that could not be read or does not make sense.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {} is not valid: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("config file {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// Where the settings came from, for messages.
fn origin(source: Option<&Path>) -> PathBuf {
    source.map_or_else(|| PathBuf::from("(built-in defaults)"), Path::to_path_buf)
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text, path)?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Parses and validates config text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        // A byte-order mark (some editors write one) is not part of the TOML.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: parse_message(text, &e),
        })?;
        config.source = Some(path.to_path_buf());
        Settings::new(&config)?;
        Ok(config)
    }

    /// Makes a relative SQLite path relative to the config file's folder.
    fn resolve_paths(&mut self, base: &Path) {
        if let Some(path) = sqlite_path(&self.store.url) {
            let p = Path::new(&path);
            if p.is_relative() && path != ":memory:" {
                self.store.url = format!("sqlite://{}", base.join(p).display());
            }
        }
    }
}

/// A TOML error as a message that quotes no value: a value may be a secret pasted under a
/// wrong key (`api_key = "sk-..."`), so the line is shown with its value masked, and the
/// value is masked in the parser's own words too ("invalid type: string ...").
fn parse_message(text: &str, e: &toml::de::Error) -> String {
    let mut message = e.message().trim_end().to_string();
    let Some(span) = e.span() else {
        return crate::secrets::scrub(&message).into_owned();
    };
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or_default();
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text
        .get(line_start..start)
        .map_or(1, |s| s.chars().count() + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    let (shown, value) = match line.split_once('=') {
        Some((key, value)) => (format!("{}= ***", key), value.trim()),
        None if line.trim_start().starts_with('[') => (line.to_string(), ""),
        None => ("***".to_string(), line.trim()),
    };
    for v in [value, value.trim_matches(|c| c == '"' || c == '\'')] {
        if v.chars().count() >= 3 {
            message = message.replace(v, "***");
        }
    }
    let shown = crate::text::truncate_chars(&shown, 120);
    crate::secrets::scrub(&format!(
        "at line {line_no}, column {column}: {message}\n  {line_no} | {shown}"
    ))
    .into_owned()
}

/// The file path inside a SQLite store URL (or a bare path), if it is one.
pub(crate) fn sqlite_path(url: &str) -> Option<String> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        Some(rest.split('?').next().unwrap_or(rest).to_string())
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        Some(rest.split('?').next().unwrap_or(rest).to_string())
    } else if url.contains("://") {
        None
    } else {
        Some(url.to_string())
    }
}

/// Everything the program runs on, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file the settings came from, if any.
    pub source: Option<PathBuf>,
    pub store: StoreSettings,
    pub digest: DigestSettings,
    pub blindspot: BlindspotRule,
    pub factuality: FactualityRule,
    /// How long a story stays open after its latest article (publication times).
    pub cluster_window: chrono::Duration,
    /// A story takes no article published this long after its first: the topic continues in
    /// a new, linked story.
    pub cluster_max_span: chrono::Duration,
    pub ingest: IngestSettings,
    pub feeds: Vec<FeedSettings>,
    /// `[[outlets]]`: added to, or overriding, the bundled ratings.
    pub outlets: Vec<Outlet>,
    pub discord: DiscordSettings,
    pub subscriptions: SubscriptionSettings,
    /// Key points written by a language model, when `[llm] base_url` is set.
    pub llm: Option<LlmSettings>,
    pub web: WebSettings,
    /// `[articles]`: reading articles' own pages.
    pub articles: ArticleSettings,
}

/// A validated `[web]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSettings {
    /// The public pages' address; `None`: `run` serves none, `serve` uses [`Self::DEFAULT_LISTEN`].
    pub listen: Option<std::net::SocketAddr>,
    /// The operators' listener, if any.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// The pages' public address, without a trailing slash.
    pub public_url: Option<String>,
    /// The environment variable that holds the operators' token.
    pub admin_token_env: String,
    /// What a client connection may hold on the public listener.
    pub connections: ConnectionLimits,
}

/// What one client may hold of a listener: time to send a request, time to stay silent,
/// and connections open at once (in all, and per address; `None`: no per-address cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_per_address: Option<usize>,
}

impl WebSettings {
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:8080";
}

/// A validated `[llm]` section.
#[derive(Clone, PartialEq)]
pub struct LlmSettings {
    /// The chat-completions base URL, without a trailing slash.
    pub base_url: String,
    pub model: String,
    /// The environment variable that holds the API key, if the server needs one.
    pub api_key_env: Option<String>,
    pub timeout: Duration,
    pub max_concurrent: usize,
    pub max_requests_per_hour: u32,
    pub min_sources: i64,
    pub resummarise_growth_percent: i64,
}

impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &crate::secrets::redact_url(&self.base_url))
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreSettings {
    /// A SQLite path or URL, or `postgres://...` (may carry a password: never print it as is).
    pub url: String,
    pub seed_demo: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DigestSettings {
    pub headlines: usize,
    /// The story page template (`{id}` replaced), when set.
    pub story_url: Option<String>,
    /// Stories updated within this span of the newest one count for `top`.
    pub top_window: chrono::Duration,
}

/// When a story's coverage counts as mostly low-factuality: see
/// [`crate::summarise::factuality`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FactualityRule {
    /// Fewer outlets rated for factuality than this never raise the flag.
    pub min_rated_sources: usize,
    /// The flag is raised when at least this share (percent) of them are rated Low.
    pub low_share: u8,
    /// `top` and briefings leave flagged stories out.
    pub top_skips_low: bool,
}

impl Default for FactualityRule {
    fn default() -> Self {
        FactualityRule {
            min_rated_sources: 3,
            low_share: 50,
            top_skips_low: false,
        }
    }
}

/// When a story counts as a blindspot: see [`crate::summarise::bias`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlindspotRule {
    /// Fewer rated sources than this never make a blindspot.
    pub min_rated_sources: usize,
    /// A side at or below this share (percent) is "barely covering"...
    pub max_share: u8,
    /// ... provided the other side covers it at least this much (percent).
    pub min_opposite_share: u8,
}

impl Default for BlindspotRule {
    fn default() -> Self {
        let raw = BlindspotConfig::default();
        BlindspotRule {
            min_rated_sources: raw.min_rated_sources as usize,
            max_share: raw.max_share as u8,
            min_opposite_share: raw.min_opposite_share as u8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IngestSettings {
    /// How often a feed is fetched unless its entry says otherwise.
    pub interval: Duration,
    /// Older items are skipped; `None`: no limit.
    pub max_age: Option<chrono::Duration>,
    pub concurrency: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub disable_after_failures: u32,
}

/// One feed to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSettings {
    /// As configured (may carry credentials: print [`crate::secrets::redact_url`] of it).
    pub url: String,
    /// Outlet name that overrides matching by the articles' hosts.
    pub outlet: Option<String>,
    pub refresh: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiscordSettings {
    /// REST base (no trailing slash), when not Discord itself.
    pub api_base_url: Option<String>,
    pub guild_ids: Vec<u64>,
    /// Replies ready within this are sent at once; zero defers every reply.
    pub defer_after: Duration,
    pub requests_per_second: u32,
    pub summary_every: Duration,
    pub shards: Shards,
}

/// The gateway shards a process holds: all of them (autosharded), or a range of a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shards {
    /// As many shards as Discord recommends, all in this process.
    Auto,
    /// Shards `first..=last` of `total`.
    Range { first: u32, last: u32, total: u32 },
}

impl Shards {
    /// Reads `text` ("" for all, "4", "0-3") of `total` shards (0 when `text` is empty).
    pub fn parse(text: &str, total: u64) -> Result<Shards, String> {
        let text = text.trim();
        if text.is_empty() {
            if total != 0 {
                return Err(format!(
                    "total_shards is {total} but shards is not set: give this process's                      range too (shards = \"0-{}\")",
                    total.saturating_sub(1)
                ));
            }
            return Ok(Shards::Auto);
        }
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("shards {text:?} is not a shard or a range such as \"0-3\""))
        };
        let (first, last) = match text.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(text)?, number(text)?),
        };
        if !ranges::TOTAL_SHARDS.contains(&total) {
            return Err(format!(
                "shards {text:?} needs total_shards, the bot's shard count ({} to {})",
                ranges::TOTAL_SHARDS.start(),
                ranges::TOTAL_SHARDS.end()
            ));
        }
        if first > last || u64::from(last) >= total {
            return Err(format!(
                "shards {text:?} is not a range of shards 0 to {} (total_shards = {total})",
                total - 1
            ));
        }
        Ok(Shards::Range {
            first,
            last,
            total: total as u32,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubscriptionSettings {
    pub max_per_guild: i64,
    pub min_sources: i64,
    pub growth_percent: i64,
    pub max_delivery_age: chrono::Duration,
    pub briefing_grace: chrono::Duration,
    pub match_every: Duration,
    pub pause_retry: chrono::Duration,
}

/// The documented range of every numeric key (also in `config.toml` and README).
pub mod ranges {
    use std::ops::RangeInclusive;

    pub const HEADLINES: RangeInclusive<u64> = 1..=10;
    pub const TOP_WINDOW_HOURS: RangeInclusive<u64> = 1..=8_760;
    pub const MIN_RATED_SOURCES: RangeInclusive<u64> = 1..=1_000;
    pub const SHARE_PERCENT: RangeInclusive<u64> = 0..=100;
    pub const LOW_SHARE: RangeInclusive<u64> = 1..=100;
    pub const LLM_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=600;
    pub const LLM_CONCURRENT: RangeInclusive<u64> = 1..=64;
    pub const LLM_PER_HOUR: RangeInclusive<u64> = 1..=100_000;
    pub const CLUSTER_WINDOW_HOURS: RangeInclusive<u64> = 1..=720;
    pub const CLUSTER_MAX_SPAN_HOURS: RangeInclusive<u64> = 1..=8_760;
    pub const INTERVAL_MINUTES: RangeInclusive<u64> = 1..=10_080;
    pub const MAX_AGE_HOURS: RangeInclusive<u64> = 0..=87_600;
    pub const CONCURRENCY: RangeInclusive<u64> = 1..=64;
    pub const CONNECT_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=300;
    pub const TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=3_600;
    pub const MAX_BODY_BYTES: RangeInclusive<u64> = 1_024..=104_857_600;
    pub const HEADER_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=300;
    pub const IDLE_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=3_600;
    pub const MAX_CONNECTIONS: RangeInclusive<u64> = 8..=1_000_000;
    pub const MAX_CONNECTIONS_PER_ADDRESS: RangeInclusive<u64> = 0..=1_000_000;
    pub const DISABLE_AFTER_FAILURES: RangeInclusive<u64> = 1..=1_000;
    pub const DEFER_AFTER_MS: RangeInclusive<u64> = 0..=2_500;
    pub const REQUESTS_PER_SECOND: RangeInclusive<u64> = 1..=50;
    pub const TOTAL_SHARDS: RangeInclusive<u64> = 1..=100_000;
    pub const SUMMARY_MINUTES: RangeInclusive<u64> = 1..=10_080;
    pub const MAX_PER_GUILD: RangeInclusive<u64> = 1..=1_000;
    pub const MIN_SOURCES: RangeInclusive<u64> = 1..=1_000;
    pub const GROWTH_PERCENT: RangeInclusive<u64> = 1..=10_000;
    pub const MAX_DELIVERY_AGE_MINUTES: RangeInclusive<u64> = 1..=10_080;
    pub const BRIEFING_GRACE_MINUTES: RangeInclusive<u64> = 0..=1_440;
    pub const MATCH_INTERVAL_SECONDS: RangeInclusive<u64> = 1..=86_400;
    pub const PAUSE_RETRY_MINUTES: RangeInclusive<u64> = 1..=10_080;
    /// Discord snowflakes fit in 63 bits.
    pub const SNOWFLAKE: RangeInclusive<u64> = 1..=(i64::MAX as u64);
}

/// Checks values against ranges, naming the file and key in errors.
struct Check<'a> {
    path: &'a Path,
}

impl Check<'_> {
    fn invalid(&self, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            message,
        }
    }

    fn range<T>(
        &self,
        key: &str,
        value: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: PartialOrd + Display + Copy,
    {
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(self.invalid(format!(
                "{key} = {value} is out of range: it must be between {} and {}",
                range.start(),
                range.end()
            )))
        }
    }

    /// An `http(s)` URL (a template's `{id}` filled in), or an error naming the key.
    fn http_url(&self, key: &str, value: &str, what: &str) -> Result<url::Url, ConfigError> {
        let probe = value.replace("{id}", "abcdefgh");
        match url::Url::parse(&probe) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
            _ => Err(self.invalid(format!(
                "{key} {:?} is not {what}",
                crate::secrets::redact_url(value)
            ))),
        }
    }
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// A chrono span of `n` units of `unit` seconds; callers pass values already in range, so
/// the product fits comfortably.
fn span(n: u64, unit: i64) -> chrono::Duration {
    chrono::Duration::seconds(n as i64 * unit)
}

impl Settings {
    /// Validates a configuration: every key in its range, every URL and outlet well formed.
    pub fn new(c: &Config) -> Result<Settings, ConfigError> {
        let path = origin(c.source.as_deref());
        let check = Check { path: &path };
        use ranges::*;

        let web = web_settings(&check, &c.web)?;
        let mut digest = digest_settings(&check, &c.digest)?;
        if digest.story_url.is_none() {
            digest.story_url = web.public_url.as_ref().map(|u| format!("{u}/story/{{id}}"));
        }
        let blindspot = blindspot_rule(&check, &c.blindspot)?;
        let factuality = FactualityRule {
            min_rated_sources: check.range(
                "factuality.min_rated_sources",
                c.factuality.min_rated_sources,
                MIN_RATED_SOURCES,
            )? as usize,
            low_share: check.range("factuality.low_share", c.factuality.low_share, LOW_SHARE)?
                as u8,
            top_skips_low: c.factuality.top_skips_low,
        };
        let window = check.range(
            "cluster.window_hours",
            c.cluster.window_hours,
            CLUSTER_WINDOW_HOURS,
        )?;
        let max_span = check.range(
            "cluster.max_span_hours",
            c.cluster.max_span_hours,
            CLUSTER_MAX_SPAN_HOURS,
        )?;
        let ingest = ingest_settings(&check, &c.ingest)?;
        let feeds = feed_settings(&check, &c.feeds, ingest.interval)?;
        let outlets = outlet_overrides(&check, &c.outlets)?;
        let discord = discord_settings(&check, &c.discord)?;
        let subscriptions = subscription_settings(&check, &c.subscriptions)?;
        let llm = llm_settings(&check, &c.llm)?;
        let articles = articles::article_settings(&check, &c.articles)?;
        if c.store.url.trim().is_empty() {
            return Err(check.invalid("store.url is empty".into()));
        }
        Ok(Settings {
            source: c.source.clone(),
            store: StoreSettings {
                url: c.store.url.trim().to_string(),
                seed_demo: c.store.seed_demo,
            },
            digest,
            blindspot,
            factuality,
            cluster_window: span(window, 3_600),
            cluster_max_span: span(max_span, 3_600),
            ingest,
            feeds,
            outlets,
            discord,
            subscriptions,
            llm,
            web,
            articles,
        })
    }

    /// The settings of the built-in defaults (always valid).
    pub fn defaults() -> Settings {
        Settings::new(&Config::default()).expect("the defaults are valid")
    }
}

fn digest_settings(check: &Check<'_>, d: &DigestConfig) -> Result<DigestSettings, ConfigError> {
    use ranges::*;
    let headlines = check.range("digest.headlines", d.headlines, HEADLINES)?;
    let top_window = check.range(
        "digest.top_window_hours",
        d.top_window_hours,
        TOP_WINDOW_HOURS,
    )?;
    let story_url = if d.story_url.is_empty() {
        None
    } else {
        check.http_url(
            "digest.story_url",
            &d.story_url,
            "an http(s) URL template such as https://example.org/story/{id}",
        )?;
        Some(d.story_url.clone())
    };
    Ok(DigestSettings {
        headlines: headlines as usize,
        story_url,
        top_window: span(top_window, 3_600),
    })
}

fn web_settings(check: &Check<'_>, w: &WebConfig) -> Result<WebSettings, ConfigError> {
    let address = |key: &str, value: &str| -> Result<Option<std::net::SocketAddr>, ConfigError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        value.parse().map(Some).map_err(|_| {
            check.invalid(format!(
                "{key} {value:?} is not an address and port such as 127.0.0.1:8080 or [::]:80"
            ))
        })
    };
    let listen = address("web.listen", &w.listen)?;
    let admin_listen = address("web.admin_listen", &w.admin_listen)?;
    if let (Some(a), Some(b)) = (listen, admin_listen) {
        if a == b {
            return Err(check.invalid(format!(
                "web.listen and web.admin_listen are both {a}: the operators' pages need their own port"
            )));
        }
    }
    let public_url = match w.public_url.trim() {
        "" => None,
        u => {
            let url = check.http_url(
                "web.public_url",
                u,
                "an http(s) URL such as https://news.example.org",
            )?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(check.invalid(format!(
                    "web.public_url {:?} has a query or fragment: give the pages' base address only",
                    crate::secrets::redact_url(u)
                )));
            }
            Some(u.trim_end_matches('/').to_string())
        }
    };
    let env = w.admin_token_env.trim();
    if env.is_empty() || !env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(check.invalid(format!(
            "web.admin_token_env {:?} is not an environment variable name (letters, digits, _)",
            crate::text::truncate_chars(env, 80)
        )));
    }
    Ok(WebSettings {
        listen,
        admin_listen,
        public_url,
        admin_token_env: env.to_string(),
        connections: connection_limits(check, w)?,
    })
}

fn connection_limits(check: &Check<'_>, w: &WebConfig) -> Result<ConnectionLimits, ConfigError> {
    use ranges::*;
    let seconds = |key: &str, value: u64, range| -> Result<Duration, ConfigError> {
        check.range(key, value, range).map(Duration::from_secs)
    };
    let per_address = check.range(
        "web.max_connections_per_address",
        w.max_connections_per_address,
        MAX_CONNECTIONS_PER_ADDRESS,
    )? as usize;
    Ok(ConnectionLimits {
        header_timeout: seconds(
            "web.header_timeout_seconds",
            w.header_timeout_seconds,
            HEADER_TIMEOUT_SECONDS,
        )?,
        idle_timeout: seconds(
            "web.idle_timeout_seconds",
            w.idle_timeout_seconds,
            IDLE_TIMEOUT_SECONDS,
        )?,
        max_connections: check.range("web.max_connections", w.max_connections, MAX_CONNECTIONS)?
            as usize,
        max_per_address: (per_address > 0).then_some(per_address),
    })
}

fn blindspot_rule(check: &Check<'_>, b: &BlindspotConfig) -> Result<BlindspotRule, ConfigError> {
    use ranges::*;
    let rule = BlindspotRule {
        min_rated_sources: check.range(
            "blindspot.min_rated_sources",
            b.min_rated_sources,
            MIN_RATED_SOURCES,
        )? as usize,
        max_share: check.range("blindspot.max_share", b.max_share, SHARE_PERCENT)? as u8,
        min_opposite_share: check.range(
            "blindspot.min_opposite_share",
            b.min_opposite_share,
            SHARE_PERCENT,
        )? as u8,
    };
    if rule.max_share >= rule.min_opposite_share {
        return Err(check.invalid(format!(
            "blindspot.max_share ({}) must be below blindspot.min_opposite_share ({})",
            rule.max_share, rule.min_opposite_share
        )));
    }
    Ok(rule)
}

fn ingest_settings(check: &Check<'_>, i: &IngestConfig) -> Result<IngestSettings, ConfigError> {
    use ranges::*;
    let max_age = check.range("ingest.max_age_hours", i.max_age_hours, MAX_AGE_HOURS)?;
    Ok(IngestSettings {
        interval: minutes(check.range(
            "ingest.interval_minutes",
            i.interval_minutes,
            INTERVAL_MINUTES,
        )?),
        max_age: (max_age > 0).then(|| span(max_age, 3_600)),
        concurrency: check.range("ingest.concurrency", i.concurrency, CONCURRENCY)? as usize,
        connect_timeout: Duration::from_secs(check.range(
            "ingest.connect_timeout_seconds",
            i.connect_timeout_seconds,
            CONNECT_TIMEOUT_SECONDS,
        )?),
        timeout: Duration::from_secs(check.range(
            "ingest.timeout_seconds",
            i.timeout_seconds,
            TIMEOUT_SECONDS,
        )?),
        max_body_bytes: check.range("ingest.max_body_bytes", i.max_body_bytes, MAX_BODY_BYTES)?,
        disable_after_failures: check.range(
            "ingest.disable_after_failures",
            i.disable_after_failures,
            DISABLE_AFTER_FAILURES,
        )? as u32,
    })
}

fn feed_settings(
    check: &Check<'_>,
    feeds: &[FeedConfig],
    default_interval: Duration,
) -> Result<Vec<FeedSettings>, ConfigError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(feeds.len());
    for (n, f) in feeds.iter().enumerate() {
        let shown = crate::secrets::redact_url(&f.url);
        match url::Url::parse(&f.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "file") => {}
            _ => {
                return Err(check.invalid(format!(
                    "feeds[{n}].url {shown:?} is not an http(s) or file URL"
                )))
            }
        }
        if !seen.insert(f.url.as_str()) {
            return Err(check.invalid(format!("feeds[{n}]: {shown:?} is listed twice")));
        }
        let refresh = match f.refresh_minutes {
            Some(m) => minutes(check.range(
                &format!("feeds[{n}].refresh_minutes"),
                m,
                ranges::INTERVAL_MINUTES,
            )?),
            None => default_interval,
        };
        let outlet = f.outlet.as_deref().map(str::trim).filter(|o| !o.is_empty());
        out.push(FeedSettings {
            url: f.url.clone(),
            outlet: outlet.map(str::to_string),
            refresh,
        });
    }
    Ok(out)
}

fn discord_settings(check: &Check<'_>, d: &DiscordConfig) -> Result<DiscordSettings, ConfigError> {
    use ranges::*;
    let api_base_url = if d.api_base_url.is_empty() {
        None
    } else {
        let shown = crate::secrets::redact_url(&d.api_base_url);
        match url::Url::parse(&d.api_base_url) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.query().is_none()
                    && u.host_str().is_some() => {}
            _ => {
                return Err(check.invalid(format!(
                    "discord.api_base_url {shown:?} is not an http(s) base URL such as \
                     http://127.0.0.1:8080"
                )))
            }
        }
        Some(d.api_base_url.trim_end_matches('/').to_string())
    };
    for (n, g) in d.guild_ids.iter().enumerate() {
        check.range(&format!("discord.guild_ids[{n}]"), *g, SNOWFLAKE)?;
    }
    Ok(DiscordSettings {
        api_base_url,
        guild_ids: d.guild_ids.clone(),
        defer_after: Duration::from_millis(check.range(
            "discord.defer_after_ms",
            d.defer_after_ms,
            DEFER_AFTER_MS,
        )?),
        requests_per_second: check.range(
            "discord.requests_per_second",
            d.requests_per_second,
            REQUESTS_PER_SECOND,
        )? as u32,
        summary_every: minutes(check.range(
            "discord.summary_minutes",
            d.summary_minutes,
            SUMMARY_MINUTES,
        )?),
        shards: Shards::parse(&d.shards, d.total_shards)
            .map_err(|e| check.invalid(format!("discord.{e}")))?,
    })
}

fn llm_settings(check: &Check<'_>, l: &LlmConfig) -> Result<Option<LlmSettings>, ConfigError> {
    use ranges::*;
    let Some(base_url) = &l.base_url else {
        return Ok(None);
    };
    let parsed = url::Url::parse(base_url).map_err(|e| {
        check.invalid(format!(
            "llm.base_url {:?} is not a URL: {e}",
            crate::secrets::redact_url(base_url)
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(check.invalid(format!(
            "llm.base_url {:?} must be an http:// or https:// URL",
            crate::secrets::redact_url(base_url)
        )));
    }
    if l.model.trim().is_empty() {
        return Err(check.invalid("llm.model must name the model to call".into()));
    }
    if let Some(var) = &l.api_key_env {
        let valid = !var.is_empty()
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !var.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(check.invalid(format!(
                "llm.api_key_env must be the name of an environment variable (A-Z, 0-9, _), \
                 not the key itself ({} characters given)",
                var.chars().count()
            )));
        }
    }
    let key = |k: &str| format!("llm.{k}");
    Ok(Some(LlmSettings {
        base_url: base_url.trim_end_matches('/').to_string(),
        model: l.model.trim().to_string(),
        api_key_env: l.api_key_env.clone(),
        timeout: Duration::from_secs(check.range(
            &key("timeout_seconds"),
            l.timeout_seconds,
            LLM_TIMEOUT_SECONDS,
        )?),
        max_concurrent: check.range(&key("max_concurrent"), l.max_concurrent, LLM_CONCURRENT)?
            as usize,
        max_requests_per_hour: check.range(
            &key("max_requests_per_hour"),
            l.max_requests_per_hour,
            LLM_PER_HOUR,
        )? as u32,
        min_sources: check.range(&key("min_sources"), l.min_sources, MIN_SOURCES)? as i64,
        resummarise_growth_percent: check.range(
            &key("resummarise_growth_percent"),
            l.resummarise_growth_percent,
            GROWTH_PERCENT,
        )? as i64,
    }))
}

fn subscription_settings(
    check: &Check<'_>,
    s: &SubscriptionsConfig,
) -> Result<SubscriptionSettings, ConfigError> {
    use ranges::*;
    let key = |k: &str| format!("subscriptions.{k}");
    Ok(SubscriptionSettings {
        max_per_guild: check.range(&key("max_per_guild"), s.max_per_guild, MAX_PER_GUILD)? as i64,
        min_sources: check.range(&key("min_sources"), s.min_sources, MIN_SOURCES)? as i64,
        growth_percent: check.range(&key("growth_percent"), s.growth_percent, GROWTH_PERCENT)?
            as i64,
        max_delivery_age: span(
            check.range(
                &key("max_delivery_age_minutes"),
                s.max_delivery_age_minutes,
                MAX_DELIVERY_AGE_MINUTES,
            )?,
            60,
        ),
        briefing_grace: span(
            check.range(
                &key("briefing_grace_minutes"),
                s.briefing_grace_minutes,
                BRIEFING_GRACE_MINUTES,
            )?,
            60,
        ),
        match_every: Duration::from_secs(check.range(
            &key("match_interval_seconds"),
            s.match_interval_seconds,
            MATCH_INTERVAL_SECONDS,
        )?),
        pause_retry: span(
            check.range(
                &key("pause_retry_minutes"),
                s.pause_retry_minutes,
                PAUSE_RETRY_MINUTES,
            )?,
            60,
        ),
    })
}

/// The `[[outlets]]` entries, checked and normalised.
fn outlet_overrides(
    check: &Check<'_>,
    outlets: &[OutletOverride],
) -> Result<Vec<Outlet>, ConfigError> {
    outlets
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let which = format!("outlets[{i}] ({:?})", o.name);
            if o.name.trim().is_empty() {
                return Err(check.invalid(format!("outlets[{i}] has an empty name")));
            }
            if o.domains.is_empty() {
                return Err(check.invalid(format!("{which} lists no domains")));
            }
            let domains = o
                .domains
                .iter()
                .map(|d| {
                    crate::outlets::normalise_domain(d)
                        .ok_or_else(|| check.invalid(format!("{which}: {d:?} is not a domain")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let bias = o
                .bias
                .as_deref()
                .map(str::parse::<Bias>)
                .transpose()
                .map_err(|e| check.invalid(format!("{which}: {e}")))?;
            let factuality = o
                .factuality
                .as_deref()
                .map(str::parse::<Factuality>)
                .transpose()
                .map_err(|e| check.invalid(format!("{which}: {e}")))?;
            Ok(Outlet {
                name: o.name.trim().to_string(),
                domains,
                bias,
                factuality,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("c.toml"))
    }

    #[test]
    fn empty_config_is_valid_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.digest.headlines, 5);
        assert!(!c.store.seed_demo);
        let s = Settings::new(&c).unwrap();
        assert_eq!(s.ingest.max_age, Some(chrono::Duration::hours(72)));
        assert_eq!(s.digest.story_url, None);
    }

    #[test]
    fn shard_ranges_are_checked_against_the_total() {
        let settings = |text: &str| parse(text).and_then(|c| Settings::new(&c));
        let ok = settings("[discord]\nshards = \"2-3\"\ntotal_shards = 4\n").unwrap();
        assert_eq!(
            ok.discord.shards,
            Shards::Range {
                first: 2,
                last: 3,
                total: 4
            }
        );
        assert_eq!(settings("").unwrap().discord.shards, Shards::Auto);
        for (text, says) in [
            (
                "shards = \"4\"\ntotal_shards = 4",
                "not a range of shards 0 to 3",
            ),
            (
                "shards = \"3-1\"\ntotal_shards = 4",
                "not a range of shards 0 to 3",
            ),
            ("shards = \"0-1\"", "needs total_shards"),
            ("total_shards = 8", "shards is not set"),
            (
                "shards = \"one\"\ntotal_shards = 2",
                "not a shard or a range",
            ),
            (
                "shards = \"0\"\ntotal_shards = 100001",
                "needs total_shards",
            ),
        ] {
            let e = settings(&format!("[discord]\n{text}\n")).unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
            assert!(e.to_string().contains("discord."), "{text}: {e}");
        }
    }

    #[test]
    fn web_addresses_and_the_public_url_are_checked() {
        let settings = |text: &str| parse(text).and_then(|c| Settings::new(&c));
        let ok = settings("[web]\nlisten = \"0.0.0.0:80\"\npublic_url = \"https://n.example/\"\n")
            .unwrap();
        assert_eq!(ok.web.listen, Some("0.0.0.0:80".parse().unwrap()));
        assert_eq!(ok.web.admin_listen, Some("127.0.0.1:8081".parse().unwrap()));
        assert_eq!(ok.web.public_url.as_deref(), Some("https://n.example"));
        assert_eq!(
            ok.digest.story_url.as_deref(),
            Some("https://n.example/story/{id}")
        );
        let explicit = settings(
            "[web]\npublic_url = \"https://n.example\"\n[digest]\nstory_url = \"https://o.example/{id}\"\n",
        )
        .unwrap();
        assert_eq!(
            explicit.digest.story_url.as_deref(),
            Some("https://o.example/{id}")
        );
        for (text, says) in [
            (
                "listen = \"localhost\"",
                "web.listen \"localhost\" is not an address",
            ),
            ("admin_listen = \"8081\"", "web.admin_listen"),
            (
                "listen = \"127.0.0.1:9000\"\nadmin_listen = \"127.0.0.1:9000\"",
                "need their own port",
            ),
            ("public_url = \"ftp://x.example\"", "web.public_url"),
            (
                "public_url = \"https://x.example/?a=1\"",
                "query or fragment",
            ),
            (
                "admin_token_env = \"MY TOKEN\"",
                "not an environment variable name",
            ),
        ] {
            let e = settings(&format!("[web]\n{text}\n")).unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn typos_and_bad_values_are_specific_errors() {
        let e = parse("[digest]\nheadline = 3\n").unwrap_err();
        assert!(e.to_string().contains("headline"), "{e}");
        let e = parse("[digest]\nheadlines = 30\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config file c.toml: digest.headlines = 30 is out of range: it must be between 1 and 10"
        );
        let e = parse("[[outlets]]\nname = \"X\"\ndomains = [\"x.com\"]\nbias = \"far-left\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("far-left"), "{e}");
        let e = parse("[store\nurl=1").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
    }

    #[test]
    fn values_that_used_to_crash_later_are_refused_with_their_range() {
        for (text, key) in [
            (
                "[digest]\ntop_window_hours = 9223372036854775807\n",
                "digest.top_window_hours",
            ),
            (
                "[ingest]\nmax_age_hours = 18446744073709551615\n",
                "ingest.max_age_hours",
            ),
            (
                "[ingest]\ninterval_minutes = 9223372036854775807\n",
                "ingest.interval_minutes",
            ),
            (
                "[[feeds]]\nurl = \"https://a.example/\"\nrefresh_minutes = 400000000000000000\n",
                "feeds[0].refresh_minutes",
            ),
            (
                "[subscriptions]\nbriefing_grace_minutes = 9223372036854775807\n",
                "subscriptions.briefing_grace_minutes",
            ),
            (
                "[subscriptions]\npause_retry_minutes = 9223372036854775807\n",
                "subscriptions.pause_retry_minutes",
            ),
            (
                "[subscriptions]\nmax_delivery_age_minutes = 9223372036854775807\n",
                "subscriptions.max_delivery_age_minutes",
            ),
            (
                "[subscriptions]\ngrowth_percent = 9223372036854775807\n",
                "subscriptions.growth_percent",
            ),
            (
                "[discord]\nrequests_per_second = 4294967297\n",
                "discord.requests_per_second",
            ),
            ("[blindspot]\nmax_share = 356\n", "blindspot.max_share"),
            ("[factuality]\nlow_share = 0\n", "factuality.low_share"),
            (
                "[llm]\nbase_url = \"http://localhost:11434/v1\"\nmodel = \"m\"\ntimeout_seconds = 0\n",
                "llm.timeout_seconds",
            ),
        ] {
            let e = parse(text).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains("out of range"), "{text}: {e}");
        }
    }

    #[test]
    fn an_llm_section_is_checked_and_never_echoes_a_key() {
        let e = |text: &str| parse(text).map(|_| ()).unwrap_err().to_string();
        let bad_url = e("[llm]\nbase_url = \"ftp://host/v1\"\nmodel = \"m\"\n");
        assert!(
            bad_url.contains("llm.base_url") && bad_url.contains("http"),
            "{bad_url}"
        );
        let no_model = e("[llm]\nbase_url = \"http://localhost/v1\"\n");
        assert!(no_model.contains("llm.model"), "{no_model}");
        // A key pasted where the variable's name belongs is refused without being repeated.
        let pasted = e(
            "[llm]\nbase_url = \"http://h/v1\"\nmodel = \"m\"\napi_key_env = \"sk-live-abc123\"\n",
        );
        assert!(pasted.contains("llm.api_key_env"), "{pasted}");
        assert!(!pasted.contains("abc123"), "{pasted}");
        let secret_url = e("[llm]\nbase_url = \"ftp://user:hunter2@h/v1\"\nmodel = \"m\"\n");
        assert!(!secret_url.contains("hunter2"), "{secret_url}");
        let ok = parse("[llm]\nbase_url = \"http://localhost:11434/v1/\"\nmodel = \"llama3\"\n")
            .unwrap();
        let llm = Settings::new(&ok).unwrap().llm.unwrap();
        assert_eq!(llm.base_url, "http://localhost:11434/v1");
        assert!(Settings::new(&Config::default()).unwrap().llm.is_none());
    }

    #[test]
    fn relative_sqlite_paths_follow_the_config_file() {
        let mut c = Config::default();
        c.store.url = "sqlite://data/x.db".into();
        c.resolve_paths(Path::new("/etc/storybot"));
        assert_eq!(c.store.url, "sqlite:///etc/storybot/data/x.db");
        c.store.url = "postgres://localhost/test".into();
        c.resolve_paths(Path::new("/etc/storybot"));
        assert_eq!(c.store.url, "postgres://localhost/test");
    }
}

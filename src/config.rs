//! Configuration: `config.toml`, validated once at start-up.
//!
//! Every section has defaults, so an empty file (or none) is a working configuration.
//! Unknown keys are errors, so a typo never silently falls back to a default.
//! Secrets (the Discord token) are never read from here: they come from the environment.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{Bias, Factuality};

/// A configuration that could not be read or does not make sense.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub store: StoreConfig,
    pub digest: DigestConfig,
    pub blindspot: BlindspotConfig,
    pub cluster: ClusterConfig,
    pub ingest: IngestConfig,
    pub discord: DiscordConfig,
    pub subscriptions: SubscriptionsConfig,
    /// The feeds to poll.
    pub feeds: Vec<FeedConfig>,
    /// Outlets added to, or overriding, the bundled ratings table.
    pub outlets: Vec<OutletOverride>,
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
    /// How many top headlines a digest shows (1 to 10).
    pub headlines: usize,
    /// Link for a story's title, `{id}` replaced by the story id. Empty: the title links to
    /// the story's most representative article.
    pub story_url: String,
    /// How recent a story must be (hours before the newest story) to count for `top`.
    pub top_window_hours: i64,
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
    /// Where REST calls go: empty for Discord itself, else a REST proxy (nirn-proxy,
    /// twilight-http-proxy) or a local fake, as `http(s)://host[:port]`. Setting it turns
    /// serenity's own rate limiter off (it ignores proxies); storybot's pacing still applies.
    pub api_base_url: String,
    /// Register the commands to these servers (updates are instant; for development) instead
    /// of globally.
    pub guild_ids: Vec<u64>,
    /// A reply ready within this many milliseconds is sent at once; a slower one is deferred
    /// ("thinking...") and followed up; 0 defers every reply. Discord's deadline for the first
    /// response is 3 s.
    pub defer_after_ms: u64,
    /// Requests per second under Discord's global limit of 50 (interaction replies exempt).
    pub requests_per_second: u32,
    /// Minutes between the info-level summary lines (guilds, interactions served).
    pub summary_minutes: u64,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            api_base_url: String::new(),
            guild_ids: Vec::new(),
            defer_after_ms: 1_500,
            requests_per_second: 48,
            summary_minutes: 30,
        }
    }
}

/// Channel subscriptions (`/subscribe`, `/briefing`) and their delivery.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SubscriptionsConfig {
    /// Subscriptions one server may have.
    pub max_per_guild: i64,
    /// Outlets a new story needs before a topic subscription posts it.
    pub min_sources: i64,
    /// A followed story is posted again when its articles grew by this many percent (or a
    /// side that had no coverage now has some).
    pub growth_percent: i64,
    /// Deliveries not sent within this many minutes are dropped (and logged), not posted late.
    pub max_delivery_age_minutes: i64,
    /// A briefing missed while the bot was down is still posted this late, once.
    pub briefing_grace_minutes: i64,
    /// How often matching runs besides after each ingest cycle.
    pub match_interval_seconds: u64,
    /// How often a paused subscription is tried again (permissions may have been fixed).
    pub pause_retry_minutes: i64,
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
    /// Default refresh interval of a feed.
    pub interval_minutes: u64,
    /// Items older than this are skipped (and counted); 0 switches the limit off.
    pub max_age_hours: u64,
    /// Feeds fetched at once.
    pub concurrency: usize,
    pub connect_timeout_seconds: u64,
    /// Whole request, body included.
    pub timeout_seconds: u64,
    pub max_body_bytes: u64,
    /// Consecutive failures after which a feed is disabled (its reason shown by `feeds`).
    pub disable_after_failures: u32,
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
    /// A story stays open for new articles this long after its latest article (publication
    /// times, not fetch times).
    pub window_hours: i64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig { window_hours: 72 }
    }
}

/// When a story counts as a blindspot: see [`crate::summarise::bias`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BlindspotConfig {
    /// Fewer rated sources than this never make a blindspot.
    pub min_rated_sources: usize,
    /// A side at or below this share (percent) is "barely covering".
    pub max_share: u8,
    /// ... provided the other side covers it at least this much (percent).
    pub min_opposite_share: u8,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutletOverride {
    pub name: String,
    pub domains: Vec<String>,
    /// `left`, `lean-left`, `center`, `lean-right`, `right`, or absent for unrated.
    pub bias: Option<String>,
    pub factuality: Option<String>,
}

/// An outlet override after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidOutlet {
    pub name: String,
    pub domains: Vec<String>,
    pub bias: Option<Bias>,
    pub factuality: Option<Factuality>,
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

    /// Parses and validates config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if !(1..=10).contains(&self.digest.headlines) {
            return Err(invalid(format!(
                "digest.headlines must be between 1 and 10, not {}",
                self.digest.headlines
            )));
        }
        if self.digest.top_window_hours <= 0 {
            return Err(invalid("digest.top_window_hours must be positive".into()));
        }
        if !self.digest.story_url.is_empty() {
            let probe = self.digest.story_url.replace("{id}", "abcdefgh");
            match url::Url::parse(&probe) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => {
                    return Err(invalid(format!(
                        "digest.story_url {:?} is not an http(s) URL template",
                        self.digest.story_url
                    )))
                }
            }
        }
        let i = &self.ingest;
        if i.interval_minutes == 0
            || i.concurrency == 0
            || i.timeout_seconds == 0
            || i.connect_timeout_seconds == 0
        {
            return Err(invalid(
                "ingest.interval_minutes, concurrency and the timeouts must be positive".into(),
            ));
        }
        if i.max_body_bytes < 1024 || i.disable_after_failures == 0 {
            return Err(invalid(
                "ingest.max_body_bytes must be at least 1024 and disable_after_failures positive"
                    .into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (n, f) in self.feeds.iter().enumerate() {
            match url::Url::parse(&f.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https" | "file") => {}
                _ => {
                    return Err(invalid(format!(
                        "feeds[{n}].url {:?} is not an http(s) or file URL",
                        f.url
                    )))
                }
            }
            if !seen.insert(f.url.as_str()) {
                return Err(invalid(format!("feeds[{n}]: {:?} is listed twice", f.url)));
            }
            if f.refresh_minutes == Some(0) {
                return Err(invalid(format!(
                    "feeds[{n}].refresh_minutes must be positive"
                )));
            }
        }
        if !(1..=24 * 30).contains(&self.cluster.window_hours) {
            return Err(invalid(
                "cluster.window_hours must be between 1 and 720".into(),
            ));
        }
        let b = &self.blindspot;
        if b.max_share > 100 || b.min_opposite_share > 100 {
            return Err(invalid(
                "blindspot shares are percentages (0 to 100)".into(),
            ));
        }
        if b.max_share >= b.min_opposite_share {
            return Err(invalid(
                "blindspot.max_share must be below blindspot.min_opposite_share".into(),
            ));
        }
        let d = &self.discord;
        if !d.api_base_url.is_empty() {
            match url::Url::parse(&d.api_base_url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => {}
                _ => {
                    return Err(invalid(format!(
                        "discord.api_base_url {:?} is not an http(s) base URL such as \
                         http://127.0.0.1:8080",
                        d.api_base_url
                    )))
                }
            }
        }
        if d.defer_after_ms > 2_500 {
            return Err(invalid(
                "discord.defer_after_ms must be at most 2500 (Discord's deadline is 3 s)".into(),
            ));
        }
        if !(1..=50).contains(&d.requests_per_second) {
            return Err(invalid(
                "discord.requests_per_second must be between 1 and 50 (Discord's global limit)"
                    .into(),
            ));
        }
        let sub = &self.subscriptions;
        if sub.max_per_guild < 1
            || sub.min_sources < 1
            || sub.growth_percent < 1
            || sub.max_delivery_age_minutes < 1
            || sub.briefing_grace_minutes < 0
            || sub.match_interval_seconds == 0
            || sub.pause_retry_minutes < 1
        {
            return Err(invalid(
                "subscriptions: limits, intervals and ages must be positive".into(),
            ));
        }
        if d.summary_minutes == 0 {
            return Err(invalid("discord.summary_minutes must be positive".into()));
        }
        self.valid_outlets().map_err(invalid)?;
        if self.store.url.trim().is_empty() {
            return Err(invalid("store.url is empty".into()));
        }
        Ok(())
    }

    /// The clusterer's parameters: the shipped tuning with the configured window.
    pub fn cluster_params(&self) -> crate::cluster::Params {
        crate::cluster::Params {
            window: chrono::Duration::hours(self.cluster.window_hours),
            ..Default::default()
        }
    }

    /// The configured feeds.
    pub fn feed_specs(&self) -> Vec<crate::ingest::feeds::FeedSpec> {
        self.feeds
            .iter()
            .map(|f| crate::ingest::feeds::FeedSpec {
                url: f.url.clone(),
                outlet: f.outlet.clone(),
                refresh: f
                    .refresh_minutes
                    .map(|m| std::time::Duration::from_secs(m * 60)),
            })
            .collect()
    }

    /// The `[[outlets]]` entries, checked and normalised.
    pub fn valid_outlets(&self) -> Result<Vec<ValidOutlet>, String> {
        self.outlets
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let which = format!("outlets[{i}] ({:?})", o.name);
                if o.name.trim().is_empty() {
                    return Err(format!("outlets[{i}] has an empty name"));
                }
                if o.domains.is_empty() {
                    return Err(format!("{which} lists no domains"));
                }
                let domains = o
                    .domains
                    .iter()
                    .map(|d| {
                        crate::ingest::outlets::normalise_domain(d)
                            .ok_or_else(|| format!("{which}: {d:?} is not a domain"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let bias = o
                    .bias
                    .as_deref()
                    .map(str::parse::<Bias>)
                    .transpose()
                    .map_err(|e| format!("{which}: {e}"))?;
                let factuality = o
                    .factuality
                    .as_deref()
                    .map(str::parse::<Factuality>)
                    .transpose()
                    .map_err(|e| format!("{which}: {e}"))?;
                Ok(ValidOutlet {
                    name: o.name.trim().to_string(),
                    domains,
                    bias,
                    factuality,
                })
            })
            .collect()
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

/// The file path inside a SQLite store URL (or a bare path), if it is one.
pub fn sqlite_path(url: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_valid_defaults() {
        let c = Config::parse("", Path::new("x.toml")).unwrap();
        assert_eq!(c.digest.headlines, 5);
        assert!(!c.store.seed_demo);
    }

    #[test]
    fn typos_and_bad_values_are_specific_errors() {
        let e = Config::parse("[digest]\nheadline = 3\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("headline"), "{e}");
        let e = Config::parse("[digest]\nheadlines = 30\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("between 1 and 10"), "{e}");
        let e = Config::parse(
            "[[outlets]]\nname = \"X\"\ndomains = [\"x.com\"]\nbias = \"far-left\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("far-left"), "{e}");
        let e = Config::parse("[store\nurl=1", Path::new("c.toml")).unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
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

//! `[articles]`: reading each new article's own page when the feed gives little text, as
//! written ([`ArticlesConfig`]) and validated ([`ArticleSettings`]).

use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::{Check, ConfigError};

/// `[articles]` as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ArticlesConfig {
    /// Read article pages at all.
    pub enabled: bool,
    /// A page is read when the feed's text of the article is shorter than this.
    pub min_feed_chars: u64,
    /// Where site owners can reach the operator (a URL or an e-mail address), sent in the
    /// `User-Agent`. Empty: the project's address.
    pub contact: String,
    /// Milliseconds between two requests to one host.
    pub per_host_interval_ms: u64,
    /// Hosts read at once.
    pub concurrent_hosts: u64,
    pub timeout_seconds: u64,
    pub max_page_bytes: u64,
    /// Attempts at a page before it counts as failed.
    pub max_attempts: u64,
    /// Minutes before the second attempt; each later one waits twice as long.
    pub retry_minutes: u64,
    /// Failures in a row after which a host is left alone for `host_rest_minutes`.
    pub host_failure_budget: u64,
    pub host_rest_minutes: u64,
    /// Hosts never read (a host also excludes its subdomains).
    pub exclude: Vec<String>,
    /// Private networks pages may be read from (CIDR, `10.0.0.0/8`); none by default, for
    /// tests and intranets only.
    pub allow_private_networks: Vec<String>,
}

impl Default for ArticlesConfig {
    fn default() -> Self {
        ArticlesConfig {
            enabled: true,
            min_feed_chars: 600,
            contact: String::new(),
            per_host_interval_ms: 5_000,
            concurrent_hosts: 16,
            timeout_seconds: 20,
            max_page_bytes: 5 * 1024 * 1024,
            max_attempts: 3,
            retry_minutes: 30,
            host_failure_budget: 5,
            host_rest_minutes: 60,
            exclude: Vec::new(),
            allow_private_networks: Vec::new(),
        }
    }
}

/// `[articles]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleSettings {
    pub enabled: bool,
    pub min_feed_chars: usize,
    /// The `User-Agent` sent with every page request.
    pub user_agent: String,
    pub per_host_interval: Duration,
    pub concurrent_hosts: usize,
    pub timeout: Duration,
    pub max_page_bytes: u64,
    pub max_attempts: u32,
    pub retry_after: Duration,
    pub host_failure_budget: u32,
    pub host_rest: Duration,
    /// Lower-case host names.
    pub exclude: Vec<String>,
    pub allow_private_networks: Vec<IpNet>,
}

impl ArticleSettings {
    /// Whether `host` (lower case) is excluded, itself or as a subdomain of an excluded host.
    pub fn excludes(&self, host: &str) -> bool {
        self.exclude.iter().any(|e| {
            host == e
                || host
                    .strip_suffix(e.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

/// The project's address, the contact when none is configured.
const PROJECT: &str = "https://github.com/storybot/storybot";

mod ranges {
    use std::ops::RangeInclusive;
    pub const MIN_FEED_CHARS: RangeInclusive<u64> = 0..=100_000;
    pub const INTERVAL_MS: RangeInclusive<u64> = 100..=3_600_000;
    pub const CONCURRENT_HOSTS: RangeInclusive<u64> = 1..=256;
    pub const TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=300;
    pub const MAX_PAGE_BYTES: RangeInclusive<u64> = 16_384..=50 * 1024 * 1024;
    pub const MAX_ATTEMPTS: RangeInclusive<u64> = 1..=20;
    pub const RETRY_MINUTES: RangeInclusive<u64> = 1..=10_080;
    pub const FAILURE_BUDGET: RangeInclusive<u64> = 1..=1_000;
    pub const REST_MINUTES: RangeInclusive<u64> = 1..=10_080;
    pub const EXCLUDE: usize = 10_000;
}

pub(super) fn article_settings(
    check: &Check<'_>,
    a: &ArticlesConfig,
) -> Result<ArticleSettings, ConfigError> {
    use ranges::*;
    let r = |key: &str, v, range| check.range(&format!("articles.{key}"), v, range);
    Ok(ArticleSettings {
        enabled: a.enabled,
        min_feed_chars: r("min_feed_chars", a.min_feed_chars, MIN_FEED_CHARS)? as usize,
        user_agent: user_agent(check, &a.contact)?,
        per_host_interval: Duration::from_millis(r(
            "per_host_interval_ms",
            a.per_host_interval_ms,
            INTERVAL_MS,
        )?),
        concurrent_hosts: r("concurrent_hosts", a.concurrent_hosts, CONCURRENT_HOSTS)? as usize,
        timeout: Duration::from_secs(r("timeout_seconds", a.timeout_seconds, TIMEOUT_SECONDS)?),
        max_page_bytes: r("max_page_bytes", a.max_page_bytes, MAX_PAGE_BYTES)?,
        max_attempts: r("max_attempts", a.max_attempts, MAX_ATTEMPTS)? as u32,
        retry_after: super::minutes(r("retry_minutes", a.retry_minutes, RETRY_MINUTES)?),
        host_failure_budget: r("host_failure_budget", a.host_failure_budget, FAILURE_BUDGET)?
            as u32,
        host_rest: super::minutes(r("host_rest_minutes", a.host_rest_minutes, REST_MINUTES)?),
        exclude: hosts(check, &a.exclude)?,
        allow_private_networks: networks(check, &a.allow_private_networks)?,
    })
}

/// `storybot/VERSION (news digest bot; +CONTACT)`, the contact a URL or an e-mail address.
fn user_agent(check: &Check<'_>, contact: &str) -> Result<String, ConfigError> {
    let contact = contact.trim();
    let contact = if contact.is_empty() {
        PROJECT.to_string()
    } else if contact.contains('@') && !contact.contains("://") {
        let ok = contact.len() <= 254
            && contact
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '(' | ')' | '<' | '>' | '"'));
        if !ok {
            return Err(check.invalid(format!(
                "articles.contact {contact:?} is not an e-mail address or an http(s) URL"
            )));
        }
        format!("mailto:{contact}")
    } else {
        let url = check.http_url(
            "articles.contact",
            contact,
            "an e-mail address or an http(s) URL",
        )?;
        if url.password().is_some() || !url.username().is_empty() {
            return Err(
                check.invalid("articles.contact must not hold a user name or password".into())
            );
        }
        url.to_string()
    };
    Ok(format!(
        "storybot/{} (news digest bot; +{contact})",
        env!("CARGO_PKG_VERSION")
    ))
}

fn hosts(check: &Check<'_>, list: &[String]) -> Result<Vec<String>, ConfigError> {
    if list.len() > ranges::EXCLUDE {
        return Err(check.invalid(format!(
            "articles.exclude lists {} hosts: at most {}",
            list.len(),
            ranges::EXCLUDE
        )));
    }
    list.iter()
        .map(|h| {
            let host = h.trim().trim_start_matches("www.").to_ascii_lowercase();
            let ok = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if ok {
                Ok(host)
            } else {
                Err(check.invalid(format!(
                    "articles.exclude: {h:?} is not a host name (like example.com)"
                )))
            }
        })
        .collect()
}

fn networks(check: &Check<'_>, list: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    list.iter()
        .map(|n| {
            let n = n.trim();
            n.parse::<IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    check.invalid(format!(
                        "articles.allow_private_networks: {n:?} is not a network (like 10.0.0.0/8)"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError, Settings};

    fn settings(toml: &str) -> Result<Settings, ConfigError> {
        let c = Config::parse(toml, std::path::Path::new("config.toml"))?;
        Settings::new(&c)
    }

    #[test]
    fn the_defaults_read_politely_and_only_public_addresses() {
        let a = settings("").unwrap().articles;
        assert!(a.enabled);
        assert!(a.allow_private_networks.is_empty());
        assert_eq!(a.per_host_interval.as_millis(), 5_000);
        assert!(a.user_agent.starts_with("storybot/"));
        assert!(a
            .user_agent
            .contains("+https://github.com/storybot/storybot"));
    }

    #[test]
    fn contact_exclusions_and_networks_are_checked() {
        let a = settings(
            "[articles]\ncontact = \"ops@news.example.org\"\nexclude = [\"www.Example.com\"]\n\
             allow_private_networks = [\"10.0.0.0/8\", \"127.0.0.1\"]\n",
        )
        .unwrap()
        .articles;
        assert!(a.user_agent.contains("+mailto:ops@news.example.org"));
        assert!(a.excludes("example.com") && a.excludes("news.example.com"));
        assert!(!a.excludes("notexample.com"));
        assert_eq!(a.allow_private_networks.len(), 2);
        for (toml, says) in [
            (
                "[articles]\nper_host_interval_ms = 5",
                "articles.per_host_interval_ms = 5 is out of range",
            ),
            (
                "[articles]\nmax_page_bytes = 99999999999",
                "articles.max_page_bytes",
            ),
            ("[articles]\ncontact = \"ftp://x\"", "articles.contact"),
            (
                "[articles]\ncontact = \"https://u:secretpw@x.org\"",
                "must not hold",
            ),
            ("[articles]\nexclude = [\"a b\"]", "is not a host name"),
            (
                "[articles]\nallow_private_networks = [\"lan\"]",
                "is not a network",
            ),
        ] {
            let e = settings(toml).unwrap_err().to_string();
            assert!(e.contains(says), "{toml}: {e}");
            assert!(!e.contains("secretpw"), "{e}");
        }
    }
}

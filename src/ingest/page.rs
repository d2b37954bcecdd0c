//! An article's page, fetched politely and safely.
//!
//! **Safely**: only http(s) links to addresses the [`address`](super::address) policy permits,
//! checked at connect time by the client's resolver and on every redirect (at most
//! [`MAX_REDIRECTS`]); no proxy from the environment; a total timeout; the body read chunk by
//! chunk up to a size limit; HTML only (by `Content-Type`, or by sniffing when it has none);
//! the charset from the header, else from `<meta>`, else UTF-8.
//!
//! **Politely**, as a well-known crawler is: robots.txt read once per host per day and obeyed
//! (its `Crawl-delay` too), one request at a time per host with a minimum interval between
//! them, a `User-Agent` naming storybot and the operator's contact address, conditional
//! requests (`If-None-Match`, `If-Modified-Since`), and a failure budget: a host that keeps
//! failing is left alone for a while.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::address::{Policy, PublicOnly, Refused};

/// Redirects followed at most, each one checked like the first link.
pub const MAX_REDIRECTS: usize = 5;
/// How long a host's robots.txt is kept.
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3_600);
/// robots.txt bytes read at most (Google reads 500 KiB).
const ROBOTS_MAX_BYTES: u64 = 512 * 1024;
/// Bytes of a page searched for a `<meta charset>`.
const CHARSET_SNIFF_BYTES: usize = 4_096;

/// Why a page was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("refused: {0}")]
    Refused(#[from] Refused),
    #[error("robots.txt of {0} disallows it")]
    Robots(String),
    #[error("{host} failed {failures} times in a row; left alone until later")]
    HostResting { host: String, failures: u32 },
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("timed out after {0} s")]
    Timeout(u64),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    #[error("not HTML ({0})")]
    NotHtml(String),
    #[error("cannot read: {0}")]
    Read(String),
}

impl PageError {
    /// A short name for counting outcomes (`storybot feeds`, `/metrics`).
    pub fn reason(&self) -> &'static str {
        match self {
            PageError::Refused(_) => "refused",
            PageError::Robots(_) => "robots",
            PageError::HostResting { .. } => "host_resting",
            PageError::Connect(_) => "connect",
            PageError::Timeout(_) => "timeout",
            PageError::Status(_) => "status",
            PageError::TooLarge(_) => "too_large",
            PageError::NotHtml(_) => "not_html",
            PageError::Read(_) => "read",
        }
    }

    /// Whether asking again later may succeed (a timeout, a server error, a resting host);
    /// a refusal, robots.txt or a 404 will give the same answer.
    pub fn may_pass(&self) -> bool {
        matches!(
            self,
            PageError::HostResting { .. }
                | PageError::Connect(_)
                | PageError::Timeout(_)
                | PageError::Read(_)
                | PageError::Status(408 | 429 | 500..=599)
        )
    }

    /// Whether the host, not the page, failed (counted against the host's budget).
    fn is_host_failure(&self) -> bool {
        matches!(
            self,
            PageError::Connect(_) | PageError::Timeout(_) | PageError::Status(500..=599)
        )
    }
}

/// How pages are fetched.
#[derive(Debug, Clone)]
pub struct PageSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_bytes: u64,
    /// Between two requests to one host.
    pub per_host_interval: Duration,
    /// Failures in a row after which a host rests, and for how long.
    pub host_failure_budget: u32,
    pub host_rest: Duration,
    pub policy: Policy,
}

impl PageSettings {
    /// The settings `[articles]` gives.
    pub fn of(a: &crate::config::ArticleSettings) -> PageSettings {
        PageSettings {
            user_agent: a.user_agent.clone(),
            timeout: a.timeout,
            max_bytes: a.max_page_bytes,
            per_host_interval: a.per_host_interval,
            host_failure_budget: a.host_failure_budget,
            host_rest: a.host_rest,
            policy: Policy::new(a.allow_private_networks.clone()),
        }
    }
}

/// A page as fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// 304: unchanged since the validators sent.
    NotModified,
    Page(Page),
}

/// An HTML page, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Where it was read from, after redirects.
    pub url: String,
    pub html: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a host's robots.txt says, as kept.
enum Robots {
    AllowAll,
    DisallowAll,
    Rules(Box<texting_robots::Robot>),
}

/// What is known of one host.
struct Host {
    robots: Option<(Instant, Arc<Robots>)>,
    /// The earliest time of the next request.
    next: Instant,
    failures: u32,
    resting_until: Option<Instant>,
}

/// Fetches article pages; cheap to clone.
#[derive(Clone)]
pub struct PageFetcher {
    client: reqwest::Client,
    settings: Arc<PageSettings>,
    hosts: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<Host>>>>>,
}

impl std::fmt::Debug for PageFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageFetcher").finish_non_exhaustive()
    }
}

impl PageFetcher {
    pub fn new(settings: PageSettings) -> Result<PageFetcher, PageError> {
        let policy = settings.policy.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(PageError::Read("too many redirects".into()));
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .gzip(true)
            .no_proxy()
            .redirect(redirects)
            .dns_resolver(Arc::new(PublicOnly(settings.policy.clone())))
            .build()
            .map_err(|e| PageError::Connect(e.to_string()))?;
        Ok(PageFetcher {
            client,
            settings: Arc::new(settings),
            hosts: Arc::default(),
        })
    }

    /// Fetches `url` when its host's robots.txt allows it, in the host's turn, with the
    /// validators of an earlier fetch.
    pub async fn fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, PageError> {
        let parsed = url::Url::parse(url).map_err(|_| Refused::NoHost)?;
        self.settings.policy.check_url(&parsed)?;
        let host_name = parsed
            .host_str()
            .ok_or(Refused::NoHost)?
            .to_ascii_lowercase();
        let host = self.host(&host_name);
        // One request at a time per host: its lock is held across the request.
        let mut state = host.lock().await;
        if let Some(until) = state.resting_until {
            if Instant::now() < until {
                return Err(PageError::HostResting {
                    host: host_name,
                    failures: state.failures,
                });
            }
            state.resting_until = None;
        }
        let robots = self.robots(&parsed, &mut state).await?;
        let allowed = match &*robots {
            Robots::AllowAll => true,
            Robots::DisallowAll => false,
            Robots::Rules(r) => r.allowed(parsed.as_str()),
        };
        if !allowed {
            return Err(PageError::Robots(host_name));
        }
        self.turn(&mut state).await;
        let result = self.get(&parsed, etag, last_modified).await;
        self.after_request(&mut state, &robots);
        match &result {
            Err(e) if e.is_host_failure() => {
                state.failures += 1;
                if state.failures >= self.settings.host_failure_budget {
                    state.resting_until = Some(Instant::now() + self.settings.host_rest);
                    tracing::info!(host = %host_name, failures = state.failures, "article host failing: resting it");
                }
            }
            _ => state.failures = 0,
        }
        result
    }

    fn host(&self, name: &str) -> Arc<tokio::sync::Mutex<Host>> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        hosts
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Host {
                    robots: None,
                    next: Instant::now(),
                    failures: 0,
                    resting_until: None,
                }))
            })
            .clone()
    }

    /// Waits for the host's turn, then notes when the next one is.
    async fn turn(&self, state: &mut Host) {
        tokio::time::sleep_until(state.next.into()).await;
        state.next = Instant::now() + self.settings.per_host_interval;
    }

    fn after_request(&self, state: &mut Host, robots: &Robots) {
        let delay = match robots {
            Robots::Rules(r) => r
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(60.0))),
            _ => None,
        };
        let interval = delay
            .unwrap_or_default()
            .max(self.settings.per_host_interval);
        state.next = Instant::now() + interval;
    }

    /// The host's robots.txt, read when missing or older than a day (RFC 9309: a 4xx
    /// allows all, a 5xx or no answer disallows all until it can be read).
    async fn robots(&self, url: &url::Url, state: &mut Host) -> Result<Arc<Robots>, PageError> {
        if let Some((at, r)) = &state.robots {
            if at.elapsed() < ROBOTS_TTL {
                return Ok(r.clone());
            }
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        self.turn(state).await;
        let robots = match self.client.get(robots_url).send().await {
            Ok(r) if r.status().is_success() => {
                match read_limited(r, ROBOTS_MAX_BYTES, self.settings.timeout).await {
                    Ok(body) => match texting_robots::Robot::new(&self.agent_token(), &body) {
                        Ok(robot) => Robots::Rules(Box::new(robot)),
                        Err(_) => Robots::AllowAll,
                    },
                    Err(_) => Robots::DisallowAll,
                }
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => Robots::AllowAll,
            Ok(_) => Robots::DisallowAll,
            // A host the policy refuses is refused, whatever its robots.txt would say.
            Err(e) => match self.failure(e) {
                refused @ PageError::Refused(_) => return Err(refused),
                _ => Robots::DisallowAll,
            },
        };
        let robots = Arc::new(robots);
        state.robots = Some((Instant::now(), robots.clone()));
        Ok(robots)
    }

    /// The product token robots.txt groups are matched against.
    fn agent_token(&self) -> String {
        self.settings
            .user_agent
            .split('/')
            .next()
            .unwrap_or("storybot")
            .to_string()
    }

    async fn get(
        &self,
        url: &url::Url,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, PageError> {
        let request = self.client.get(url.clone()).header(
            reqwest::header::ACCEPT,
            "text/html,application/xhtml+xml;q=0.9",
        );
        let request = super::feeds::conditional(request, etag, last_modified);
        let response = request.send().await.map_err(|e| self.failure(e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            // A redirect the client would not follow (to another scheme, say): said as what
            // it is when the policy refuses where it points.
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| response.url().join(l).ok());
            if let Some(target) = location {
                self.settings.policy.check_url(&target)?;
            }
        }
        if !status.is_success() {
            return Err(PageError::Status(status.as_u16()));
        }
        let header = |name| super::feeds::header(&response, name);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let final_url = response.url().to_string();
        if let Some(t) = &content_type {
            if !is_html_type(t) {
                return Err(PageError::NotHtml(crate::text::truncate_chars(t, 80)));
            }
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.settings.max_bytes)
        {
            return Err(PageError::TooLarge(self.settings.max_bytes));
        }
        let bytes = read_limited(response, self.settings.max_bytes, self.settings.timeout).await?;
        if content_type.is_none() && !looks_like_html(&bytes) {
            return Err(PageError::NotHtml("no content type, and not HTML".into()));
        }
        Ok(Fetched::Page(Page {
            url: final_url,
            html: decode(&bytes, content_type.as_deref()),
            etag,
            last_modified,
        }))
    }

    fn failure(&self, e: reqwest::Error) -> PageError {
        // A refusal by the redirect policy or the resolver is the refusal, in its words.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if let Some(r) = s.downcast_ref::<Refused>() {
                return PageError::Refused(r.clone());
            }
            if let Some(p) = s.downcast_ref::<PageError>() {
                return p.clone();
            }
            source = s.source();
        }
        if e.is_timeout() {
            PageError::Timeout(self.settings.timeout.as_secs())
        } else if e.is_connect() {
            PageError::Connect(crate::error::http(e))
        } else {
            PageError::Read(crate::error::http(e))
        }
    }
}

/// A body read chunk by chunk, refused as soon as it passes `max` bytes.
async fn read_limited(
    mut response: reqwest::Response,
    max: u64,
    timeout: Duration,
) -> Result<Vec<u8>, PageError> {
    let read = async {
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| PageError::Read(crate::error::http(e)))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > max {
                return Err(PageError::TooLarge(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| PageError::Timeout(timeout.as_secs()))?
}

fn is_html_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(essence.as_str(), "text/html" | "application/xhtml+xml")
}

/// Whether bytes start like an HTML document (after whitespace and a byte-order mark).
pub(crate) fn looks_like_html(bytes: &[u8]) -> bool {
    let head: Vec<u8> = bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || matches!(b, 0xef | 0xbb | 0xbf))
        .take(64)
        .map(u8::to_ascii_lowercase)
        .collect();
    [
        &b"<!doctype html"[..],
        b"<html",
        b"<head",
        b"<!--",
        b"<body",
        b"<meta",
    ]
    .iter()
    .any(|p| head.starts_with(p))
}

/// The page as text: the charset of the `Content-Type` header, else of a `<meta>` near the
/// top, else UTF-8 (invalid bytes replaced).
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let from_header = content_type.and_then(charset_param);
    let label =
        from_header.or_else(|| meta_charset(&bytes[..bytes.len().min(CHARSET_SNIFF_BYTES)]));
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("charset"))
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

/// `<meta charset="x">` or `<meta http-equiv="Content-Type" content="...; charset=x">`.
fn meta_charset(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = text.find("charset=")?;
    let rest = &text[at + "charset=".len()..];
    let value: String = rest
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_charset_comes_from_the_header_then_the_meta_then_utf8() {
        let latin1 = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xe9</body></html>";
        assert!(decode(latin1, None).contains("café"));
        assert!(decode(latin1, Some("text/html; charset=windows-1252")).contains("café"));
        let utf8 = "<html><body>café</body></html>".as_bytes();
        assert!(decode(utf8, Some("text/html")).contains("café"));
        let http_equiv =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">\x93q\x94";
        assert!(decode(http_equiv, None).contains('\u{201c}'));
    }

    #[test]
    fn html_is_known_by_its_type_or_its_first_bytes() {
        assert!(is_html_type("text/html; charset=utf-8"));
        assert!(is_html_type("application/xhtml+xml"));
        assert!(!is_html_type("application/pdf"));
        assert!(!is_html_type("image/png"));
        assert!(looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>"));
        assert!(!looks_like_html(b"%PDF-1.7"));
    }
}

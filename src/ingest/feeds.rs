//! Feeds: fetching RSS/Atom/JSON Feed documents over HTTP (or `file://`) and parsing them into
//! raw articles.
//!
//! Fetching is bounded in every direction: connect and total timeouts, a maximum body size
//! read chunk by chunk (an endless or 2 GB response costs at most that much memory), gzip,
//! a clear User-Agent, and conditional GET (ETag / Last-Modified) so an unchanged feed costs a
//! 304. Parsing uses feed-rs on the raw bytes (so the XML prolog's encoding applies); HTML in
//! summaries becomes plain text; relative links resolve against the feed's URL. Every failure
//! is a [`FeedError`] for that feed alone.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::normalise::RawArticle;
use crate::text;

/// The User-Agent of every request.
pub(crate) const USER_AGENT: &str = concat!(
    "storybot/",
    env!("CARGO_PKG_VERSION"),
    " (news digest bot; +https://github.com/storybot/storybot)"
);

/// What went wrong with one feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("invalid feed URL: {0}")]
    BadUrl(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("timed out after {0} s")]
    Timeout(u64),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    #[error("cannot read: {0}")]
    Read(String),
    #[error("not a feed: {0}")]
    Parse(String),
}

/// The result of a fetch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fetched {
    /// 304: nothing changed since the validators we sent.
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// Limits and timeouts of the fetcher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FetchLimits {
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: u64,
}

/// An HTTP client for feeds; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
}

impl Fetcher {
    pub(crate) fn new(limits: FetchLimits) -> Result<Fetcher, FeedError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .gzip(true)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| FeedError::Connect(e.to_string()))?;
        Ok(Fetcher { client, limits })
    }

    /// Fetches a feed, sending the validators of the last successful fetch.
    pub(crate) async fn fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FeedError> {
        let bad_url = || FeedError::BadUrl(crate::secrets::redact_url(url));
        let parsed = url::Url::parse(url).map_err(|_| bad_url())?;
        match parsed.scheme() {
            "file" => return self.read_file(&parsed).await,
            "http" | "https" => {}
            _ => return Err(bad_url()),
        }
        let request = conditional(self.client.get(parsed), etag, last_modified);
        let response = request.send().await.map_err(|e| self.failure(e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FeedError::Status(status.as_u16()));
        }
        let max = self.limits.max_body_bytes;
        if response.content_length().is_some_and(|n| n > max) {
            return Err(FeedError::TooLarge(max));
        }
        let etag = header(&response, reqwest::header::ETAG);
        let last_modified = header(&response, reqwest::header::LAST_MODIFIED);
        Ok(Fetched::Body {
            bytes: self.read_body(response).await?,
            etag,
            last_modified,
        })
    }

    /// A response body read chunk by chunk, refused as soon as it passes the size limit.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FeedError> {
        let max = self.limits.max_body_bytes;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failure(e))? {
            if bytes.len() as u64 + chunk.len() as u64 > max {
                return Err(FeedError::TooLarge(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// A transport error as the feed's failure.
    fn failure(&self, e: reqwest::Error) -> FeedError {
        if e.is_timeout() {
            FeedError::Timeout(self.limits.timeout.as_secs())
        } else if e.is_connect() {
            FeedError::Connect(crate::error::http(e))
        } else {
            FeedError::Read(crate::error::http(e))
        }
    }

    /// Reads a local feed with the same limits as a download: a regular file only (a device
    /// or a FIFO could be endless, or block forever), at most `max_body_bytes` of it (read
    /// with a limit, in case it grows), within the timeout.
    async fn read_file(&self, url: &url::Url) -> Result<Fetched, FeedError> {
        use tokio::io::AsyncReadExt;
        let path = url
            .to_file_path()
            .map_err(|_| FeedError::BadUrl(crate::secrets::redact_url(url.as_str())))?;
        let shown = path.display().to_string();
        let max = self.limits.max_body_bytes;
        let read = async {
            // `stat` first: opening a FIFO would wait for a writer.
            let meta = tokio::fs::metadata(&path)
                .await
                .map_err(|e| FeedError::Read(format!("{shown}: {e}")))?;
            if meta.is_dir() {
                return Err(FeedError::Read(format!("{shown} is a directory")));
            }
            if !meta.is_file() {
                return Err(FeedError::Read(format!(
                    "{shown} is not a regular file (a device, FIFO or socket)"
                )));
            }
            if meta.len() > max {
                return Err(FeedError::TooLarge(max));
            }
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| FeedError::Read(format!("{shown}: {e}")))?;
            let mut bytes = Vec::new();
            file.take(max + 1)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| FeedError::Read(format!("{shown}: {e}")))?;
            if bytes.len() as u64 > max {
                return Err(FeedError::TooLarge(max));
            }
            Ok(bytes)
        };
        let bytes = tokio::time::timeout(self.limits.timeout, read)
            .await
            .map_err(|_| FeedError::Timeout(self.limits.timeout.as_secs()))??;
        Ok(Fetched::Body {
            bytes,
            etag: None,
            last_modified: None,
        })
    }
}

/// A request with the validators of an earlier fetch, so an unchanged document costs a 304
/// (feeds and article pages alike).
pub(crate) fn conditional(
    mut request: reqwest::RequestBuilder,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> reqwest::RequestBuilder {
    if let Some(e) = etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, e);
    }
    if let Some(m) = last_modified {
        request = request.header(reqwest::header::IF_MODIFIED_SINCE, m);
    }
    request
}

/// A response header as text, when it is one.
pub(crate) fn header(
    response: &reqwest::Response,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Markup of an entry's summary looked at, at most: far more than the text kept
/// ([`super::normalise::MAX_SUMMARY_CHARS`]), so the rest of a huge one costs nothing.
const MAX_SUMMARY_HTML: usize = 64 * 1024;
/// Markup of an entry's title looked at, at most.
const MAX_TITLE_HTML: usize = 16 * 1024;

/// The first `max` bytes of `html` (on a character boundary), without a tag cut in half.
fn bounded_html(html: &str, max: usize) -> &str {
    if html.len() <= max {
        return html;
    }
    let mut end = max;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let head = &html[..end];
    match head.rfind('<') {
        Some(lt) if !head[lt..].contains('>') => &head[..lt],
        _ => head,
    }
}

/// Parses a feed document into raw articles. Entries without a title or a link are skipped.
pub fn parse(
    bytes: &[u8],
    feed_url: &str,
    outlet: Option<&str>,
) -> Result<Vec<RawArticle>, FeedError> {
    let feed = parse_document(bytes, feed_url)?;
    let base = url::Url::parse(feed_url).ok();
    let feed_title = feed.title.as_ref().map(|t| html_to_text(&t.content));
    let publisher = outlet.map(str::to_string).or(feed_title);
    Ok(feed
        .entries
        .into_iter()
        .filter_map(|entry| {
            let (url, title, summary, published) = entry_parts(entry, base.as_ref())?;
            Some(RawArticle {
                url,
                title,
                summary,
                published,
                publisher: publisher.clone(),
                outlet_override: outlet.is_some(),
                story_key: None,
            })
        })
        .collect())
}

/// The document through feed-rs, from its raw bytes (so the XML prolog's encoding applies).
fn parse_document(bytes: &[u8], feed_url: &str) -> Result<feed_rs::model::Feed, FeedError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FeedError::Parse("the document is empty".into()));
    }
    // Not UTF-8 and no XML encoding declaration: such feeds are Latin-1 / Windows-1252 in
    // practice (the web's default), so decode them as that rather than fail.
    let transcoded;
    let bytes = if std::str::from_utf8(bytes).is_err() && !declares_encoding(bytes) {
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
        transcoded = text.into_owned().into_bytes();
        &transcoded[..]
    } else {
        bytes
    };
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url))
        .build();
    let unreadable = |e: feed_rs::parser::ParseFeedError| {
        FeedError::Parse(text::truncate_chars(&e.to_string(), 200))
    };
    match parser.parse(bytes) {
        Ok(feed) => Ok(feed),
        // `<rss>` without a version attribute is common in the wild; feed-rs wants one.
        Err(feed_rs::parser::ParseFeedError::ParseError(
            feed_rs::parser::ParseErrorKind::NoFeedRoot,
        )) if contains(bytes, b"<rss>") => {
            let fixed = replace_first(bytes, b"<rss>", b"<rss version=\"2.0\">");
            parser.parse(&fixed[..]).map_err(unreadable)
        }
        Err(e) => Err(unreadable(e)),
    }
}

/// An entry's absolute link, title and summary as text, and date; `None` without a title or
/// a link.
fn entry_parts(
    entry: feed_rs::model::Entry,
    base: Option<&url::Url>,
) -> Option<(String, String, String, Option<DateTime<Utc>>)> {
    let title = entry
        .title
        .as_ref()
        .map(|t| html_to_text(bounded_html(&t.content, MAX_TITLE_HTML)))?;
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first())
        .map(|l| l.href.clone())
        .or_else(|| entry.id.starts_with("http").then(|| entry.id.clone()))?;
    let link = match base {
        Some(b) => b.join(link.trim()).map(|u| u.to_string()).unwrap_or(link),
        None => link,
    };
    let summary = entry
        .summary
        .as_ref()
        .map(|s| s.content.as_str())
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()))
        .map(|s| html_to_text(bounded_html(s, MAX_SUMMARY_HTML)))
        .unwrap_or_default();
    Some((link, title, summary, entry.published.or(entry.updated)))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn replace_first(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    match haystack.windows(needle.len()).position(|w| w == needle) {
        Some(i) => [&haystack[..i], with, &haystack[i + needle.len()..]].concat(),
        None => haystack.to_vec(),
    }
}

/// Whether the document starts with an XML declaration naming its encoding.
fn declares_encoding(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<?xml") && head[..head.find("?>").unwrap_or(head.len())].contains("encoding")
}

/// Plain text of an HTML fragment: tags dropped (with `script` and `style` contents), block
/// ends as spaces, entities decoded, whitespace collapsed. Linear in the input, whatever it
/// holds: each byte is looked at a bounded number of times.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        let starts_tag = after[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        if !starts_tag {
            out.push('<');
            rest = &after[1..];
            continue;
        }
        let Some(gt) = after.find('>') else {
            // A lone '<' is text.
            out.push_str(after);
            rest = "";
            break;
        };
        let closing = after[1..].starts_with('/');
        let name = tag_name(&after[1..gt]);
        rest = &after[gt + 1..];
        if !closing && (name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style")) {
            let close = if name.eq_ignore_ascii_case("script") {
                "</script"
            } else {
                "</style"
            };
            rest = match find_ascii_ci(rest, close) {
                Some(i) => {
                    let skip = &rest[i..];
                    skip.find('>').map_or("", |j| &skip[j + 1..])
                }
                None => "",
            };
            out.push(' ');
            continue;
        }
        if !name.is_empty() {
            out.push(' ');
        }
    }
    out.push_str(rest);
    let decoded = html_escape::decode_html_entities(&out);
    text::clean(&decoded, usize::MAX / 8)
}

/// The element name at the start of a tag's inside (`/p class=x` → `p`).
fn tag_name(inside: &str) -> &str {
    let inside = inside.trim_start_matches('/');
    let end = inside
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(inside.len());
    &inside[..end]
}

/// The first position of `needle` (ASCII, lower case) in `haystack`, ignoring ASCII case,
/// without copying the haystack: a scan from each `<`, so linear for these short needles.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    let mut from = 0;
    while let Some(i) = haystack[from..].find(n[0] as char) {
        let at = from + i;
        if h.len() - at >= n.len() && h[at..at + n.len()].eq_ignore_ascii_case(n) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text() {
        assert_eq!(
            html_to_text("<p>Talks <b>resume</b>&nbsp;in Gen&egrave;ve &amp; Rome.</p><script>alert(1)</script><p>Next</p>"),
            "Talks resume in Genève & Rome. Next"
        );
        assert_eq!(html_to_text("1 < 2 and 3 > 2"), "1 < 2 and 3 > 2");
        assert_eq!(html_to_text("a<br/>b"), "a b");
        assert_eq!(
            html_to_text("x<SCRIPT>a</ScRiPt >y<style>b</STYLE>z"),
            "x y z"
        );
        assert_eq!(html_to_text("x<script>never closed"), "x");
        assert_eq!(bounded_html("ab<p class=x>cd", 8), "ab");
        assert_eq!(bounded_html("ab<p>cdé", 8), "ab<p>cd");
        assert_eq!(bounded_html("short", 8), "short");
    }

    /// Work that grew with the square of the input (the rest of the text lower-cased again
    /// for every `<script>`) shows as allocations: these stay within a few times the input.
    #[test]
    fn hostile_markup_costs_work_linear_in_its_size() {
        for hostile in [
            "<script></script>".repeat(10_000),
            "<SCRIPT>x</script ".repeat(10_000),
            "<style>".repeat(10_000),
            "<a<b<c<d".repeat(20_000),
            "&amp;&lt;&#x41;".repeat(10_000),
            format!("<p{}>", " a=b".repeat(40_000)),
        ] {
            let before = crate::alloc_count::allocated();
            let text = html_to_text(&hostile);
            let used = crate::alloc_count::allocated() - before;
            assert!(
                used < 8 * hostile.len() as u64 + 4096,
                "{} bytes allocated for {} bytes of {:?}...",
                used,
                hostile.len(),
                &hostile[..16]
            );
            drop(text);
        }
    }

    #[test]
    fn rss_items_become_articles_with_absolute_links() {
        let xml = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Example News</title>
            <item><title>Talks resume</title><link>/world/talks</link>
              <description>&lt;p&gt;Envoys met.&lt;/p&gt;</description>
              <pubDate>Mon, 10 Mar 2014 17:32:50 +0000</pubDate></item>
            <item><title>No link here</title></item>
            <item><link>https://example.com/no-title</link></item>
          </channel></rss>"#;
        let items = parse(xml.as_bytes(), "https://example.com/feed.xml", None).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].url, "https://example.com/world/talks");
        assert_eq!(items[0].summary, "Envoys met.");
        assert_eq!(items[0].publisher.as_deref(), Some("Example News"));
        assert!(!items[0].outlet_override);
        assert_eq!(items[0].published.unwrap().timestamp(), 1_394_472_770);
        assert!(matches!(
            parse(b"<rss><channel>", "https://x.example/", None),
            Err(FeedError::Parse(_))
        ));
        assert!(matches!(
            parse(b"   ", "https://x.example/", None),
            Err(FeedError::Parse(_))
        ));
    }
}

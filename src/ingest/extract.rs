//! An article page's main text and what the page knows better than its feed: the canonical
//! URL, the published time, the author, the language and the lead image. Extraction is the
//! `trafilatura` crate's (a port of trafilatura, chosen by measurement against rs-trafilatura
//! and dom_smoothie: `cargo bench --bench article_extraction`), in process; the page's own
//! `<link rel=canonical>` and `article:published_time` are read as well.
//!
//! **Walls**: a paywall, cookie wall or consent page gives words that are not the article.
//! A page is taken for one when its main text is short and the page carries a wall's markup
//! or words ([`Wall`]); its text is then never used (the feed's text is kept instead).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Characters of main text kept at most.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// HTML looked at, at most (a larger page is cut at this many bytes first).
pub const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;
/// Main text shorter than this, on a page with a wall's markers, is a wall's text.
const WALL_TEXT_CHARS: usize = 1_500;

/// What kind of wall stood in front of the article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wall {
    Paywall,
    Consent,
}

/// What extraction gives for a page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Extracted {
    /// The main text (empty behind a wall), at most [`MAX_TEXT_CHARS`].
    pub text: String,
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub canonical_url: Option<String>,
    pub author: Option<String>,
    pub language: Option<String>,
    /// The lead image, only when it is an https URL.
    pub image: Option<String>,
    pub wall: Option<Wall>,
}

/// Extracts a page's main text and metadata. Never fails: a page with nothing to take gives
/// an empty text.
pub fn extract(html: &str, url: Option<&str>) -> Extracted {
    let html = bounded(html);
    let base = url.and_then(|u| url::Url::parse(u).ok());
    let mut options = trafilatura::Options::default();
    options.original_url = base.clone();
    let (text, meta) = match trafilatura::extract(html, &options) {
        Ok(r) => (r.content_text, Some(r.metadata)),
        Err(_) => (String::new(), None),
    };
    let text = crate::text::clean(&text, MAX_TEXT_CHARS * 4);
    let text = crate::text::truncate_chars(&text, MAX_TEXT_CHARS);
    let wall = wall(html, &text);
    let absolute = |u: &str| -> Option<String> {
        let joined = match &base {
            Some(b) => b.join(u).ok()?,
            None => url::Url::parse(u).ok()?,
        };
        matches!(joined.scheme(), "http" | "https").then(|| joined.to_string())
    };
    let field = |get: fn(&trafilatura::Metadata) -> &String| {
        meta.as_ref()
            .map(|m| get(m).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let canonical = link_canonical(html)
        .or_else(|| field(|m| &m.url))
        .and_then(|u| absolute(&u));
    let image = field(|m| &m.image)
        .and_then(|u| absolute(&u))
        .filter(|u| u.starts_with("https://"));
    let published = meta_published(html).or_else(|| {
        let date = meta.as_ref()?.date?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc())
    });
    let short = |s: Option<String>, n: usize| {
        s.map(|s| crate::text::clean(&s, n * 4))
            .map(|s| crate::text::truncate_chars(&s, n))
            .filter(|s| !s.is_empty())
    };
    Extracted {
        text: if wall.is_some() { String::new() } else { text },
        title: short(field(|m| &m.title), 300),
        published,
        canonical_url: canonical,
        author: short(field(|m| &m.author), 200),
        language: short(field(|m| &m.language), 16),
        image,
        wall,
    }
}

/// `<meta property="article:published_time" content="...">` (RFC 3339), the page's own
/// word for when it was published, to the second.
fn meta_published(html: &str) -> Option<DateTime<Utc>> {
    let head = &html[..floor(html, 256 * 1024)];
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<meta") {
        let start = from + i;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        if lower[start..end].contains("article:published_time") {
            let value = attribute(&head[start..end], "content")?;
            return DateTime::parse_from_rfc3339(&value)
                .ok()
                .map(|t| t.with_timezone(&Utc));
        }
        from = end;
    }
    None
}

/// The largest character boundary at most `max`.
fn floor(s: &str, max: usize) -> usize {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// The first [`MAX_HTML_BYTES`] of a page, on a character boundary.
fn bounded(html: &str) -> &str {
    &html[..floor(html, MAX_HTML_BYTES)]
}

/// Markup of consent managers and paywalls (ids and classes), and their words.
const CONSENT_MARKERS: &[&str] = &[
    "onetrust",
    "cookie-consent",
    "cookieconsent",
    "cookie-banner",
    "consent-banner",
    "qc-cmp2",
    "sp_message_container",
    "didomi",
    "fc-consent-root",
    "truste_",
    "gdpr-consent",
    "we value your privacy",
    "accept all cookies",
    "before you continue to",
];
const PAYWALL_MARKERS: &[&str] = &[
    "paywall",
    "tp-modal",
    "piano-offer",
    "subscriber-only",
    "subscribe to continue",
    "subscribe to read",
    "to continue reading",
    "already a subscriber",
    "you have reached your",
    "this article is for subscribers",
    "isaccessibleforfree\":\"false",
    "isaccessibleforfree\": \"false",
    "isaccessibleforfree\":false",
];

/// A wall, when the main text is short and the page has a wall's markers (a long text with
/// a cookie banner beside it is an article).
fn wall(html: &str, text: &str) -> Option<Wall> {
    if text.chars().count() >= WALL_TEXT_CHARS {
        return None;
    }
    let lower = html.to_ascii_lowercase();
    if PAYWALL_MARKERS.iter().any(|m| lower.contains(m)) {
        Some(Wall::Paywall)
    } else if CONSENT_MARKERS.iter().any(|m| lower.contains(m)) {
        Some(Wall::Consent)
    } else {
        None
    }
}

/// `<link rel="canonical" href="...">`, read from the page's head.
fn link_canonical(html: &str) -> Option<String> {
    let head = &html[..floor(html, 256 * 1024)];
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<link") {
        let start = from + i;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if tag.contains("rel=\"canonical\"")
            || tag.contains("rel='canonical'")
            || tag.contains("rel=canonical")
        {
            return attribute(&head[start..end], "href");
        }
        from = end;
    }
    None
}

/// An attribute's value in a tag's text (case-insensitive name; quoted or bare value).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let rest = &tag[at..];
    let value = match rest.chars().next()? {
        q @ ('"' | '\'') => rest[1..].split(q).next()?,
        _ => rest.split(|c: char| c.is_whitespace() || c == '>').next()?,
    };
    let value = html_escape::decode_html_entities(value).trim().to_string();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str, head: &str) -> String {
        format!(
            "<!doctype html><html><head><title>T</title>{head}</head><body>{body}</body></html>"
        )
    }

    #[test]
    fn the_article_text_is_taken_and_the_page_chrome_left() {
        let para = "The city council voted on Tuesday to extend the tram line to the harbour, a project that has been debated for a decade. ";
        let html = page(
            &format!("<nav>Home News Sport Weather</nav><article><h1>Tram line</h1><p>{}</p><p>{}</p></article><footer>Copyright</footer>", para.repeat(4), para.repeat(3)),
            "<link rel=\"canonical\" href=\"/news/tram?ref=x\"><meta property=\"og:image\" content=\"https://img.example/t.jpg\">",
        );
        let e = extract(&html, Some("https://news.example/a/b"));
        assert!(e.text.contains("extend the tram line"), "{e:?}");
        assert!(!e.text.contains("Weather"), "{}", e.text);
        assert_eq!(
            e.canonical_url.as_deref(),
            Some("https://news.example/news/tram?ref=x")
        );
        assert_eq!(e.wall, None);
    }

    #[test]
    fn a_short_text_behind_wall_markup_is_a_wall_and_gives_no_text() {
        let html = page(
            "<div class=\"paywall\"><p>Subscribe to continue reading this story.</p></div>",
            "",
        );
        let e = extract(&html, None);
        assert_eq!(e.wall, Some(Wall::Paywall));
        assert!(e.text.is_empty());
        let html = page(
            "<div id=\"onetrust-banner-sdk\"><p>We value your privacy. Accept all cookies?</p></div>",
            "",
        );
        assert_eq!(extract(&html, None).wall, Some(Wall::Consent));
    }

    #[test]
    fn the_image_must_be_https_and_the_canonical_http() {
        let html = page(
            "<p>x</p>",
            "<link rel=canonical href=\"javascript:alert(1)\">",
        );
        let e = extract(&html, Some("https://news.example/"));
        assert_eq!(e.canonical_url, None);
        assert!(e.image.is_none());
    }
}

//! Normalisation of incoming articles: canonical URLs, bounded clean text, outlet matching.
//!
//! Whatever the source (JSONL import, feeds), an article passes through [`normalise`] before
//! it reaches clustering, so the rest of the pipeline sees the same shape everywhere.

use chrono::SubsecRound;
use chrono::{DateTime, Utc};

use crate::model::Article;
use crate::outlets::{normalise_domain, Match, OutletDirectory};
use crate::text;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 400;
/// Longest summary kept, in characters.
pub const MAX_SUMMARY_CHARS: usize = 4_000;
/// Longest URL accepted.
pub(crate) const MAX_URL_LEN: usize = 2_048;
/// Longest publisher name kept.
pub(crate) const MAX_OUTLET_CHARS: usize = 120;
/// Longest upstream story key accepted.
pub(crate) const MAX_STORY_KEY_LEN: usize = 200;

/// Query parameters that only track the reader, never select the article.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "_hsenc",
    "_hsmi",
    "ref_src",
    "ref_url",
    "cmpid",
    "ocid",
    "smid",
    "track",
    "feedtype",
    "feedname",
    "rss",
    "src",
    "cmp",
    "mkt_tok",
    "__twitter_impression",
    "ito",
];
const TRACKING_PREFIXES: &[&str] = &["utm_", "ns_", "at_", "pk_", "mtm_", "ga_"];

/// An article as a source delivers it, before normalisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawArticle {
    pub url: String,
    pub title: String,
    pub summary: String,
    pub published: Option<DateTime<Utc>>,
    /// The publisher name the source gives, if any.
    pub publisher: Option<String>,
    /// The publisher name was configured for the source: it decides the outlet, whatever the
    /// article's host.
    pub outlet_override: bool,
    /// An upstream story id, for sources that are already clustered.
    pub story_key: Option<String>,
}

/// A normalised article, ready for clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingArticle {
    pub article: Article,
    pub story_key: Option<String>,
}

/// Why an article was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    #[error("url is missing")]
    MissingUrl,
    #[error("url is longer than {MAX_URL_LEN} characters")]
    UrlTooLong,
    #[error("url {0:?} is not an absolute http(s) URL")]
    BadUrl(String),
    #[error("title is missing or empty")]
    MissingTitle,
    #[error("story key is longer than {MAX_STORY_KEY_LEN} characters")]
    StoryKeyTooLong,
}

/// Canonical form of an article URL: http(s) only, lower-case host, no fragment, no tracking
/// parameters, no default port, no empty query.
///
/// ```
/// use storybot::ingest::normalise::canonical_url;
/// let url = canonical_url("https://News.Example.com:443/a?utm_source=rss&id=7#top").unwrap();
/// assert_eq!(url.as_str(), "https://news.example.com/a?id=7");
/// ```
pub fn canonical_url(input: &str) -> Result<url::Url, NormaliseError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(NormaliseError::MissingUrl);
    }
    if input.len() > MAX_URL_LEN {
        return Err(NormaliseError::UrlTooLong);
    }
    let bad = || NormaliseError::BadUrl(text::truncate_chars(input, 80));
    let mut url = url::Url::parse(input).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !TRACKING_PARAMS.contains(&k.as_str())
                && !TRACKING_PREFIXES.iter().any(|p| k.starts_with(p))
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(url)
}

/// Validates and normalises one raw article, matching its outlet.
pub fn normalise(
    raw: RawArticle,
    outlets: &OutletDirectory,
    now: DateTime<Utc>,
) -> Result<IncomingArticle, NormaliseError> {
    let url = canonical_url(&raw.url)?;
    let title = text::clean(&raw.title, MAX_TITLE_CHARS);
    if title.is_empty() {
        return Err(NormaliseError::MissingTitle);
    }
    let story_key = match raw.story_key.map(|k| k.trim().to_string()) {
        Some(k) if k.len() > MAX_STORY_KEY_LEN => return Err(NormaliseError::StoryKeyTooLong),
        Some(k) if !k.is_empty() => Some(k),
        _ => None,
    };
    let host = url.host_str().unwrap_or_default();
    let domain = normalise_domain(host).unwrap_or_else(|| host.to_ascii_lowercase());
    let publisher = raw
        .publisher
        .as_deref()
        .map(|p| text::clean(p, MAX_OUTLET_CHARS))
        .filter(|p| !p.is_empty());
    let configured = raw
        .outlet_override
        .then(|| publisher.as_deref().and_then(|p| outlets.by_name(p)))
        .flatten();
    let outlet = match configured {
        Some(o) => o.name.clone(),
        None if raw.outlet_override && publisher.is_some() => publisher.clone().unwrap_or_default(),
        None => match outlets.resolve(&domain, publisher.as_deref()) {
            Match::Known(o) => o.name.clone(),
            Match::Unknown => publisher.unwrap_or_else(|| domain.clone()),
        },
    };
    // A date in the future is a feed's clock error: it counts as now. Whole seconds, as the
    // store keeps it: an article placed again from the store sorts where it first did.
    let published = raw.published.map_or(now, |p| p.min(now)).trunc_subsecs(0);
    Ok(IncomingArticle {
        article: crate::model::Article {
            url: url.to_string(),
            title,
            summary: text::clean(&raw.summary, MAX_SUMMARY_CHARS),
            outlet,
            domain,
            published,
            fetched: now,
        },
        story_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls_drop_tracking_and_fragments() {
        let u = canonical_url("https://WWW.Example.com:443/a/b?utm_source=x&id=7&fbclid=y#top")
            .unwrap();
        assert_eq!(u.as_str(), "https://www.example.com/a/b?id=7");
        let u = canonical_url("http://example.com/story?track=rss").unwrap();
        assert_eq!(u.as_str(), "http://example.com/story");
        assert!(matches!(
            canonical_url("javascript:alert(1)"),
            Err(NormaliseError::BadUrl(_))
        ));
        assert!(matches!(
            canonical_url("/relative"),
            Err(NormaliseError::BadUrl(_))
        ));
        assert_eq!(canonical_url("  "), Err(NormaliseError::MissingUrl));
    }

    #[test]
    fn normalise_matches_outlets_and_bounds_text() {
        let dir = OutletDirectory::from_csv(
            "name,domain,bias,factuality\nReuters,reuters.com,center,high\n",
        )
        .unwrap();
        let now = Utc::now();
        let raw = RawArticle {
            url: "https://www.reuters.com/world/x".into(),
            title: format!("  Talks\tresume {}", "y".repeat(1000)),
            publisher: Some("Reuters UK".into()),
            published: Some(now + chrono::Duration::days(3)),
            ..Default::default()
        };
        let a = normalise(raw, &dir, now).unwrap();
        assert_eq!(a.article.outlet, "Reuters");
        assert_eq!(a.article.domain, "reuters.com");
        assert_eq!(a.article.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(
            a.article.published,
            now.trunc_subsecs(0),
            "the future is now, in whole seconds"
        );
        let unknown = RawArticle {
            url: "https://blog.unknown-site.example/x".into(),
            title: "Hello there".into(),
            publisher: Some("Unknown Blog".into()),
            ..Default::default()
        };
        assert_eq!(
            normalise(unknown, &dir, now).unwrap().article.outlet,
            "Unknown Blog"
        );
    }
}

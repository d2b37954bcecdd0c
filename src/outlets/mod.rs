//! The outlet directory: which outlet published an article, and how that outlet is rated.
//!
//! The bundled table `data/outlets.csv` (derived from AllSides, MBFC and Ad Fontes; see
//! [`ratings`]) is compiled into the binary; `[[outlets]]` entries in config.toml add
//! outlets or override bundled ones. An article is matched by its host: the full host first
//! (`latino.foxnews.com`), then each parent up to the registrable domain found with the
//! public-suffix list, so `www.bbc.co.uk` and `bbc.co.uk/news` are one outlet and `co.uk` never is.
//! When no domain matches, the publisher name given by the source is tried.

pub mod ratings;

use std::collections::HashMap;

use crate::model::{Bias, Factuality, Outlet};

/// The bundled ratings table.
pub const BUNDLED_OUTLETS_CSV: &str = include_str!("../../data/outlets.csv");

/// A row of `data/outlets.csv` that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("outlets table, line {line}: {reason}")]
pub struct OutletTableError {
    pub line: u64,
    pub reason: String,
}

/// All known outlets, indexed by domain and by name.
#[derive(Debug, Clone, Default)]
pub struct OutletDirectory {
    outlets: Vec<Outlet>,
    by_domain: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    /// Per outlet (same index): which source decided its bias and its factuality
    /// (`allsides`, `adfontes`, `mbfc`, `config`; empty when unrated).
    raters: Vec<(String, String)>,
}

/// How an article's publisher was resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Match<'a> {
    /// A known outlet (rated or not).
    Known(&'a Outlet),
    /// Nothing known: the article keeps the publisher name it came with, unrated.
    Unknown,
}

impl OutletDirectory {
    /// The bundled table with config overrides applied.
    pub fn load(overrides: &[Outlet]) -> Result<OutletDirectory, OutletTableError> {
        let mut dir = OutletDirectory::from_csv(BUNDLED_OUTLETS_CSV)?;
        for o in overrides {
            dir.upsert(o.clone());
        }
        Ok(dir)
    }

    /// Parses a table with the columns `name,domain,bias,factuality,...`; rows that share a
    /// name are one outlet with several domains.
    pub(crate) fn from_csv(text: &str) -> Result<OutletDirectory, OutletTableError> {
        let mut dir = OutletDirectory::default();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for record in reader.records() {
            let record = record.map_err(|e| OutletTableError {
                line: e.position().map_or(0, csv::Position::line),
                reason: e.to_string(),
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            let field = |i: usize| record.get(i).unwrap_or("").trim();
            let err = |reason: String| OutletTableError { line, reason };
            let domain = normalise_domain(field(1))
                .ok_or_else(|| err(format!("{:?} is not a domain", field(1))))?;
            let bias = match field(2) {
                "" => None,
                b => Some(b.parse::<Bias>().map_err(|e| err(e.to_string()))?),
            };
            let factuality = match field(3) {
                "" => None,
                f => Some(f.parse::<Factuality>().map_err(|e| err(e.to_string()))?),
            };
            let name = field(0).to_string();
            match dir.outlets.iter().position(|o| o.name == name) {
                Some(i) => {
                    dir.outlets[i].domains.push(domain.clone());
                    dir.by_domain.insert(domain, i);
                }
                None => {
                    dir.upsert(Outlet {
                        name,
                        domains: vec![domain],
                        bias,
                        factuality,
                    });
                    let raters = (field(4).to_string(), field(5).to_string());
                    *dir.raters.last_mut().expect("upsert adds a row") = raters;
                }
            }
        }
        Ok(dir)
    }

    /// Adds an outlet; its domains and name now resolve to it, replacing earlier entries.
    pub(crate) fn upsert(&mut self, outlet: Outlet) {
        let index = match self.by_name.get(&name_key(&outlet.name)) {
            Some(&i) if self.outlets[i].name == outlet.name => {
                self.outlets[i] = outlet;
                i
            }
            _ => {
                self.outlets.push(outlet);
                self.raters.push(Default::default());
                self.outlets.len() - 1
            }
        };
        // Rows from the bundled table set their raters after this; anything else is config.
        self.raters[index] = ("config".into(), "config".into());
        let outlet = &self.outlets[index];
        for d in &outlet.domains {
            self.by_domain.insert(d.clone(), index);
        }
        self.by_name.insert(name_key(&outlet.name), index);
    }

    pub(crate) fn len(&self) -> usize {
        self.outlets.len()
    }

    /// Resolves a host (or URL's host) to an outlet.
    pub fn by_host(&self, host: &str) -> Option<&Outlet> {
        let host = normalise_domain(host)?;
        let registrable = psl::domain_str(&host).unwrap_or(&host);
        let mut candidate: &str = &host;
        loop {
            if let Some(&i) = self.by_domain.get(candidate) {
                return Some(&self.outlets[i]);
            }
            if candidate.len() <= registrable.len() {
                return None;
            }
            match candidate.split_once('.') {
                Some((_, parent)) => candidate = parent,
                None => return None,
            }
        }
    }

    /// Resolves a publisher name (`The Guardian`, `guardian`) to an outlet.
    pub fn by_name(&self, name: &str) -> Option<&Outlet> {
        self.by_name.get(&name_key(name)).map(|&i| &self.outlets[i])
    }

    /// Host first, then publisher name.
    pub(crate) fn resolve(&self, host: &str, publisher: Option<&str>) -> Match<'_> {
        self.by_host(host)
            .or_else(|| publisher.and_then(|p| self.by_name(p)))
            .map_or(Match::Unknown, Match::Known)
    }

    /// The rating of an article already stored with this outlet name and domain.
    pub(crate) fn rating(&self, outlet_name: &str, domain: &str) -> Option<Bias> {
        self.by_host(domain)
            .or_else(|| self.by_name(outlet_name))
            .and_then(|o| o.bias)
    }

    /// The factuality rating of an article already stored with this outlet name and domain.
    pub(crate) fn factuality(&self, outlet_name: &str, domain: &str) -> Option<Factuality> {
        self.by_host(domain)
            .or_else(|| self.by_name(outlet_name))
            .and_then(|o| o.factuality)
    }

    /// Which sources decided an outlet's bias and factuality (see [`OutletDirectory`]).
    pub fn raters(&self, name: &str) -> Option<(&str, &str)> {
        let &i = self.by_name.get(&name_key(name))?;
        let (bias, factuality) = &self.raters[i];
        Some((bias, factuality))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Outlet> {
        self.outlets.iter()
    }
}

/// `https://WWW.BBC.co.uk/news` → `bbc.co.uk`; `None` for text that is not a dotted host.
pub(crate) fn normalise_domain(input: &str) -> Option<String> {
    let mut s = input.trim().to_ascii_lowercase();
    if let Some((_, rest)) = s.split_once("://") {
        s = rest.to_string();
    }
    let end = s.find(['/', '?', '#']).unwrap_or(s.len());
    s.truncate(end);
    if let Some((_, host)) = s.rsplit_once('@') {
        s = host.to_string();
    }
    if let Some(i) = s.rfind(':') {
        if s[i + 1..].bytes().all(|b| b.is_ascii_digit()) {
            s.truncate(i);
        }
    }
    let s = s.trim_end_matches('.');
    let s = s.strip_prefix("www.").unwrap_or(s);
    let valid = s.contains('.')
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then(|| s.to_string())
}

/// The key names are matched on: letters and digits only, lower case, without a leading "the".
pub(crate) fn name_key(name: &str) -> String {
    let key: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match key.strip_prefix("the") {
        Some(rest) if rest.len() >= 3 => rest.to_string(),
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> OutletDirectory {
        OutletDirectory::from_csv(
            "name,domain,bias,factuality\n\
             BBC News,bbc.co.uk,center,high\n\
             BBC News,bbc.com,center,high\n\
             Fox News,foxnews.com,right,mixed\n\
             Fox News Latino,latino.foxnews.com,right,\n\
             Unrated Daily,unrated.example,,\n",
        )
        .unwrap()
    }

    #[test]
    fn hosts_match_up_to_the_registrable_domain() {
        let t = table();
        assert_eq!(t.by_host("www.bbc.co.uk").unwrap().name, "BBC News");
        assert_eq!(
            t.by_host("https://bbc.co.uk/news/x").unwrap().name,
            "BBC News"
        );
        assert_eq!(t.by_host("feeds.bbc.com").unwrap().name, "BBC News");
        assert_eq!(
            t.by_host("latino.foxnews.com").unwrap().name,
            "Fox News Latino"
        );
        assert_eq!(t.by_host("video.foxnews.com").unwrap().name, "Fox News");
        assert!(t.by_host("co.uk").is_none());
        assert!(t.by_host("other.co.uk").is_none());
        assert_eq!(t.by_host("unrated.example").unwrap().bias, None);
    }

    #[test]
    fn names_match_loosely_and_overrides_win() {
        let mut t = table();
        assert_eq!(t.by_name("the fox news").unwrap().name, "Fox News");
        t.upsert(Outlet {
            name: "Fox News".into(),
            domains: vec!["foxnews.com".into()],
            bias: Some(Bias::LeanRight),
            factuality: None,
        });
        assert_eq!(
            t.by_host("foxnews.com").unwrap().bias,
            Some(Bias::LeanRight)
        );
        assert_eq!(
            t.rating("whatever", "www.foxnews.com"),
            Some(Bias::LeanRight)
        );
    }

    #[test]
    fn domains_normalise() {
        assert_eq!(
            normalise_domain("HTTPS://WWW.Example.COM:443/a?b").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            normalise_domain("example.com.").as_deref(),
            Some("example.com")
        );
        assert_eq!(normalise_domain("localhost"), None);
        assert_eq!(normalise_domain("bad host.com"), None);
    }

    #[test]
    fn bundled_table_loads_and_rates_major_outlets() {
        let t = OutletDirectory::load(&[]).unwrap();
        assert!(t.len() > 1000, "only {} outlets", t.len());
        assert_eq!(
            t.by_host("www.reuters.com").unwrap().bias,
            Some(Bias::Center)
        );
        assert_eq!(
            t.by_host("www.foxnews.com").unwrap().bias,
            Some(Bias::Right)
        );
        assert!(t.by_host("www.bbc.co.uk").is_some());
    }
}

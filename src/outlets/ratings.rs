//! Derives the bundled outlet table (`data/outlets.csv`) from the three published rating sets.
//!
//! Merge rule, applied in this order:
//! 1. **AllSides** decides bias. Only outlet rows count: a row whose link is a social or
//!    publishing platform (Twitter, Facebook, YouTube, Substack, ...) or a path deeper than one
//!    segment (`/author/...`, `/column/...`, a person's page) is an individual, not an outlet.
//!    Per registrable domain the row with the shallowest link wins (root over section, news over
//!    opinion); other rows with their own subdomain (`latino.foxnews.com`) stay separate outlets.
//!    AllSides' "Mixed" leaves the outlet unrated for now.
//! 2. **MBFC** (Baly et al. 2018) gives factuality to every outlet on its domain, bias to the
//!    outlets AllSides leaves unrated, and adds the domains AllSides lacks. Its seven points fold
//!    onto five: extreme-left and left → Left, left-center → Lean Left, center → Center,
//!    right-center → Lean Right, right and extreme-right → Right.
//! 3. **Ad Fontes** rows carry no domain, so they are matched by name to the outlets above and
//!    only fill gaps: bias where there is none (score ≤ -18 Left, < -6 Lean Left, ≤ 6 Center,
//!    < 18 Lean Right, else Right: its "hyper-partisan" and "skews" bands) and factuality where
//!    MBFC gave none (reliability ≥ 40 high, ≥ 24 mixed, else low).
//!
//! 4. A few well-known second domains of the same outlet (`bbc.co.uk` for `bbc.com`) are
//!    added as aliases ([`DOMAIN_ALIASES`]).
//!
//! `cargo run --example derive_outlets -- ../shared/data/ratings > data/outlets.csv` rebuilds
//! the table; a test checks that the shipped file equals what this code derives.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::{name_key, normalise_domain};
use crate::model::{Bias, Factuality};

/// Hosts whose pages are people or channels, never one outlet.
const PLATFORMS: &[&str] = &[
    "twitter.com",
    "x.com",
    "facebook.com",
    "instagram.com",
    "linkedin.com",
    "youtube.com",
    "youtu.be",
    "tiktok.com",
    "medium.com",
    "substack.com",
    "wordpress.com",
    "blogspot.com",
    "wikipedia.org",
    "google.com",
    "apple.com",
    "patreon.com",
    "rumble.com",
    "podbean.com",
    "soundcloud.com",
    "spotify.com",
];

/// Other domains of the same outlet, which no rating set lists: (alias, rated domain).
const DOMAIN_ALIASES: &[(&str, &str)] = &[
    ("bbc.co.uk", "bbc.com"),
    ("guardian.co.uk", "theguardian.com"),
    ("ap.org", "apnews.com"),
    ("nyti.ms", "nytimes.com"),
    ("wapo.st", "washingtonpost.com"),
];

/// Ad Fontes names that differ from the others' beyond a " News" suffix.
const NAME_ALIASES: &[(&str, &str)] = &[("AP", "Associated Press")];

/// A source file that cannot be read as the rating set it should be.
#[derive(Debug, thiserror::Error)]
pub enum RatingsError {
    #[error("{file}: {source}")]
    Csv {
        file: &'static str,
        source: csv::Error,
    },
    #[error("{file}: missing column {column:?}")]
    MissingColumn {
        file: &'static str,
        column: &'static str,
    },
}

/// One row of the derived table.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedOutlet {
    pub name: String,
    pub domain: String,
    pub bias: Option<Bias>,
    pub factuality: Option<Factuality>,
    pub bias_source: &'static str,
    pub factuality_source: &'static str,
}

/// What the merge did, for README and the derivation log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DeriveStats {
    pub allsides_rows: usize,
    pub allsides_outlets: usize,
    pub allsides_skipped_individuals: usize,
    pub mbfc_rows: usize,
    pub mbfc_added: usize,
    pub mbfc_filled_bias: usize,
    pub mbfc_factuality: usize,
    pub adfontes_rows: usize,
    pub adfontes_matched: usize,
    pub adfontes_filled_bias: usize,
    pub adfontes_filled_factuality: usize,
    pub rated: usize,
    pub total: usize,
}

/// Runs the merge over the three files' contents.
pub fn derive(
    allsides_csv: &str,
    mbfc_tsv: &str,
    adfontes_csv: &str,
) -> Result<(Vec<DerivedOutlet>, DeriveStats), RatingsError> {
    let mut merge = Merge::default();
    merge.allsides(allsides_csv)?;
    merge.mbfc(mbfc_tsv)?;
    merge.adfontes(adfontes_csv)?;
    merge.aliases();
    Ok(merge.finish())
}

/// The table being merged (domain -> outlet) and what the merge did so far.
#[derive(Default)]
struct Merge {
    table: BTreeMap<String, DerivedOutlet>,
    stats: DeriveStats,
}

/// An AllSides row that names an outlet (not an individual).
struct Candidate {
    name: String,
    host: String,
    registrable: String,
    depth: usize,
    opinion: bool,
    order: usize,
    bias: Option<Bias>,
}

impl Candidate {
    /// Which row of a registrable domain wins: the shallowest link, its own domain before a
    /// subdomain, news before opinion, then the file's order.
    fn rank(&self) -> (&str, usize, bool, bool, usize) {
        (
            &self.registrable,
            self.depth,
            self.host != self.registrable,
            self.opinion,
            self.order,
        )
    }
}

impl Merge {
    /// 1. AllSides decides bias, for outlet rows only.
    fn allsides(&mut self, csv: &str) -> Result<(), RatingsError> {
        let (mut reader, [c_name, c_link, c_bias]) = open_table(
            csv,
            "allsides",
            b',',
            ["news_source", "news_link", "bias_rating"],
        )?;
        let mut candidates = Vec::new();
        for (order, record) in reader.records().enumerate() {
            let record = record.map_err(|source| RatingsError::Csv {
                file: "allsides",
                source,
            })?;
            self.stats.allsides_rows += 1;
            let link = record.get(c_link).unwrap_or("").trim();
            match allsides_outlet(link) {
                Some((host, registrable, depth)) => {
                    let raw_name = record.get(c_name).unwrap_or("").trim();
                    let lower = raw_name.to_ascii_lowercase();
                    candidates.push(Candidate {
                        name: display_name(raw_name),
                        host,
                        registrable,
                        depth,
                        opinion: lower.contains("opinion") || lower.contains("editorial"),
                        order,
                        bias: record.get(c_bias).and_then(|b| b.parse().ok()),
                    });
                }
                None => self.stats.allsides_skipped_individuals += 1,
            }
        }
        candidates.sort_by(|a, b| a.rank().cmp(&b.rank()));
        for c in candidates {
            self.place(c);
        }
        self.stats.allsides_outlets = self.table.len();
        Ok(())
    }

    /// The best row of a registrable domain takes the domain; a later row keeps its own
    /// subdomain if it has one, else it is a duplicate (a section of the same outlet).
    fn place(&mut self, c: Candidate) {
        let key = if !self.table.contains_key(&c.registrable) {
            c.registrable.clone()
        } else if c.host != c.registrable && c.depth == 0 && !self.table.contains_key(&c.host) {
            c.host.clone()
        } else {
            return;
        };
        self.table.insert(
            key.clone(),
            DerivedOutlet {
                name: c.name,
                domain: key,
                bias: c.bias,
                factuality: None,
                bias_source: if c.bias.is_some() { "allsides" } else { "" },
                factuality_source: "",
            },
        );
    }

    /// 2. MBFC gives factuality, fills missing bias, and adds the domains AllSides lacks.
    fn mbfc(&mut self, tsv: &str) -> Result<(), RatingsError> {
        let (mut reader, [c_domain, c_ref, c_fact, c_bias]) = open_table(
            tsv,
            "mbfc",
            b'\t',
            ["source_url_normalized", "ref", "fact", "bias"],
        )?;
        for record in reader.records() {
            let record = record.map_err(|source| RatingsError::Csv {
                file: "mbfc",
                source,
            })?;
            self.stats.mbfc_rows += 1;
            // Some entries carry a path folded into the "domain" (`npr.org-sections-news`).
            let Some(domain) = record
                .get(c_domain)
                .and_then(normalise_domain)
                .filter(|d| psl::suffix(d.as_bytes()).is_some_and(|s| s.is_known()))
            else {
                continue;
            };
            let bias = mbfc_bias(record.get(c_bias).unwrap_or(""));
            let factuality = record.get(c_fact).and_then(|f| f.parse().ok());
            let name = || mbfc_name(record.get(c_ref).unwrap_or(""), &domain);
            self.merge_mbfc(&domain, bias, factuality, name);
        }
        self.stats.mbfc_factuality = self
            .table
            .values()
            .filter(|o| o.factuality_source == "mbfc")
            .count();
        Ok(())
    }

    fn merge_mbfc(
        &mut self,
        domain: &str,
        bias: Option<Bias>,
        factuality: Option<Factuality>,
        name: impl FnOnce() -> String,
    ) {
        let registrable = psl::domain_str(domain).unwrap_or(domain);
        let key = [domain, registrable]
            .into_iter()
            .find(|k| self.table.contains_key(*k))
            .map(str::to_string);
        let Some(key) = key else {
            self.stats.mbfc_added += 1;
            self.table.insert(
                domain.to_string(),
                DerivedOutlet {
                    name: name(),
                    domain: domain.to_string(),
                    bias,
                    factuality,
                    bias_source: if bias.is_some() { "mbfc" } else { "" },
                    factuality_source: if factuality.is_some() { "mbfc" } else { "" },
                },
            );
            return;
        };
        let o = self.table.get_mut(&key).expect("key just found");
        if o.bias.is_none() && bias.is_some() {
            o.bias = bias;
            o.bias_source = "mbfc";
            self.stats.mbfc_filled_bias += 1;
        }
        if o.factuality.is_none() && factuality.is_some() {
            o.factuality = factuality;
            o.factuality_source = "mbfc";
        }
    }

    /// 3. Ad Fontes, matched by name, only fills gaps.
    fn adfontes(&mut self, csv: &str) -> Result<(), RatingsError> {
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for (domain, o) in &self.table {
            by_name
                .entry(name_key(&o.name))
                .or_default()
                .push(domain.clone());
        }
        let (mut reader, [c_source, c_rel, c_bias]) =
            open_table(csv, "adfontes", b',', ["source", "reliability", "bias"])?;
        for record in reader.records() {
            let record = record.map_err(|source| RatingsError::Csv {
                file: "adfontes",
                source,
            })?;
            self.stats.adfontes_rows += 1;
            let name = record.get(c_source).unwrap_or("");
            let name = NAME_ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .map_or(name, |(_, full)| *full);
            let key = name_key(name);
            let Some(domains) = by_name
                .get(&key)
                .or_else(|| by_name.get(&format!("{key}news")))
            else {
                continue;
            };
            self.stats.adfontes_matched += 1;
            let score: Option<f64> = record.get(c_bias).and_then(|b| b.trim().parse().ok());
            let reliability: Option<f64> = record.get(c_rel).and_then(|r| r.trim().parse().ok());
            for domain in domains {
                self.fill_adfontes(domain, score, reliability);
            }
        }
        Ok(())
    }

    fn fill_adfontes(&mut self, domain: &str, score: Option<f64>, reliability: Option<f64>) {
        let o = self.table.get_mut(domain).expect("indexed domain");
        if let (None, Some(score)) = (o.bias, score) {
            o.bias = Some(adfontes_bias(score));
            o.bias_source = "adfontes";
            self.stats.adfontes_filled_bias += 1;
        }
        if let (None, Some(rel)) = (o.factuality, reliability) {
            o.factuality = Some(adfontes_factuality(rel));
            o.factuality_source = "adfontes";
            self.stats.adfontes_filled_factuality += 1;
        }
    }

    /// 4. Second domains of the same outlet.
    fn aliases(&mut self) {
        for (alias, target) in DOMAIN_ALIASES {
            if let (false, Some(o)) = (
                self.table.contains_key(*alias),
                self.table.get(*target).cloned(),
            ) {
                self.table.insert(
                    alias.to_string(),
                    DerivedOutlet {
                        domain: alias.to_string(),
                        ..o
                    },
                );
            }
        }
    }

    fn finish(self) -> (Vec<DerivedOutlet>, DeriveStats) {
        let mut stats = self.stats;
        let mut rows: Vec<DerivedOutlet> = self.table.into_values().collect();
        rows.sort_by(|a, b| (name_key(&a.name), &a.domain).cmp(&(name_key(&b.name), &b.domain)));
        stats.total = rows.len();
        stats.rated = rows.iter().filter(|r| r.bias.is_some()).count();
        (rows, stats)
    }
}

/// An AllSides link's outlet: (host, registrable domain, path depth), or `None` for a row
/// that names an individual (a platform link, or a page deeper than one path segment).
fn allsides_outlet(link: &str) -> Option<(String, String, usize)> {
    let url = url::Url::parse(link).ok()?;
    let host = url.host_str().and_then(normalise_domain)?;
    let registrable = psl::domain_str(&host).unwrap_or(&host).to_string();
    let depth = url
        .path()
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with("index.") && *s != "home")
        .count();
    if PLATFORMS.contains(&registrable.as_str()) || depth > 1 {
        return None;
    }
    Some((host, registrable, depth))
}

/// MBFC's seven points folded onto five.
fn mbfc_bias(label: &str) -> Option<Bias> {
    match label {
        "extreme-left" | "left" => Some(Bias::Left),
        "left-center" => Some(Bias::LeanLeft),
        "center" => Some(Bias::Center),
        "right-center" => Some(Bias::LeanRight),
        "right" | "extreme-right" => Some(Bias::Right),
        _ => None,
    }
}

/// An outlet MBFC adds: named from its MBFC page's slug, else its domain.
fn mbfc_name(reference: &str, domain: &str) -> String {
    let slug = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if slug.is_empty() {
        domain.to_string()
    } else {
        title_case_slug(slug)
    }
}

/// A CSV reader over `text` and the positions of the named columns.
fn open_table<'a, const N: usize>(
    text: &'a str,
    file: &'static str,
    delimiter: u8,
    names: [&'static str; N],
) -> Result<(csv::Reader<&'a [u8]>, [usize; N]), RatingsError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|source| RatingsError::Csv { file, source })?
        .clone();
    let mut cols = [0; N];
    for (slot, name) in cols.iter_mut().zip(names) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or(RatingsError::MissingColumn { file, column: name })?;
    }
    Ok((reader, cols))
}

/// Ad Fontes bias score (-42 left .. +42 right) on the five-point scale.
pub(crate) fn adfontes_bias(score: f64) -> Bias {
    if score <= -18.0 {
        Bias::Left
    } else if score < -6.0 {
        Bias::LeanLeft
    } else if score <= 6.0 {
        Bias::Center
    } else if score < 18.0 {
        Bias::LeanRight
    } else {
        Bias::Right
    }
}

/// Ad Fontes reliability (0 .. 64) as factuality.
pub(crate) fn adfontes_factuality(reliability: f64) -> Factuality {
    if reliability >= 40.0 {
        Factuality::High
    } else if reliability >= 24.0 {
        Factuality::Mixed
    } else {
        Factuality::Low
    }
}

/// Writes the table as `data/outlets.csv`.
pub fn to_csv(rows: &[DerivedOutlet]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "name",
        "domain",
        "bias",
        "factuality",
        "bias_source",
        "factuality_source",
    ])
    .expect("writing to memory");
    for r in rows {
        w.write_record([
            r.name.as_str(),
            r.domain.as_str(),
            r.bias.map_or("", Bias::as_str),
            r.factuality.map_or("", Factuality::as_str),
            r.bias_source,
            r.factuality_source,
        ])
        .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("flush to memory")).expect("CSV of UTF-8 fields")
}

/// A one-paragraph account of the merge.
pub fn describe(stats: &DeriveStats) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "{} outlets ({} rated). AllSides: {} rows, {} outlets kept, {} individuals/platform rows skipped. \
         MBFC: {} rows, {} outlets added, bias filled for {}, factuality for {}. \
         Ad Fontes: {} rows, {} matched by name, bias filled for {}, factuality for {}.",
        stats.total,
        stats.rated,
        stats.allsides_rows,
        stats.allsides_outlets,
        stats.allsides_skipped_individuals,
        stats.mbfc_rows,
        stats.mbfc_added,
        stats.mbfc_filled_bias,
        stats.mbfc_factuality,
        stats.adfontes_rows,
        stats.adfontes_matched,
        stats.adfontes_filled_bias,
        stats.adfontes_filled_factuality,
    );
    s
}

/// `New York Times (News)` → `New York Times`; `"The Fulcrum"` → `The Fulcrum`.
fn display_name(raw: &str) -> String {
    let mut name = raw.replace('"', "");
    if let Some(i) = name.rfind(" (") {
        if name.ends_with(')') && i > 0 {
            name.truncate(i);
        }
    }
    name.trim().to_string()
}

/// `the-village-voice` → `The Village Voice`.
fn title_case_slug(slug: &str) -> String {
    slug.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLSIDES: &str = "news_source,news_link,bias_rating,community_feedback\n\
        Jane Doe,https://www.example-news.com/author/jane-doe,Left,1/1\n\
        Example News (Online News),https://www.example-news.com/,Lean Right,1/1\n\
        Example News (Opinion),https://www.example-news.com/opinion,Right,1/1\n\
        Example Latino,https://latino.example-news.com/,Center,1/1\n\
        Someone,https://twitter.com/someone,Left,1/1\n\
        Muddled Times,https://muddled.example.org/,Mixed,1/1\n";
    const MBFC: &str = "source_url\tsource_url_normalized\tref\tfact\tbias\n\
        https://example-news.com/\texample-news.com\thttps://mediabiasfactcheck.com/example-news/\thigh\tright\n\
        https://muddled.example.org/\tmuddled.example.org\thttps://mediabiasfactcheck.com/muddled/\tmixed\tleft-center\n\
        https://only-mbfc.net/\tonly-mbfc.net\thttps://mediabiasfactcheck.com/only-mbfc-daily/\tlow\textreme-right\n";
    const ADFONTES: &str = "source,reliability,bias\nExample Latino,45.0,-20.0\nNowhere,10,30\n";

    #[test]
    fn merge_follows_the_documented_rule() {
        let (rows, stats) = derive(ALLSIDES, MBFC, ADFONTES).unwrap();
        let get = |d: &str| rows.iter().find(|r| r.domain == d).unwrap();
        let main = get("example-news.com");
        assert_eq!(main.name, "Example News");
        assert_eq!(main.bias, Some(Bias::LeanRight), "AllSides beats MBFC");
        assert_eq!(
            main.factuality,
            Some(Factuality::High),
            "MBFC gives factuality"
        );
        let latino = get("latino.example-news.com");
        assert_eq!(latino.bias, Some(Bias::Center));
        assert_eq!(
            latino.factuality,
            Some(Factuality::High),
            "Ad Fontes fills factuality"
        );
        assert_eq!(
            get("example.org").bias,
            Some(Bias::LeanLeft),
            "MBFC fills Mixed"
        );
        let added = get("only-mbfc.net");
        assert_eq!(
            (added.name.as_str(), added.bias),
            ("Only Mbfc Daily", Some(Bias::Right))
        );
        assert!(rows.iter().all(|r| r.domain != "twitter.com"));
        assert_eq!(stats.allsides_skipped_individuals, 2);
        assert_eq!(stats.total, 4);
    }

    #[test]
    fn adfontes_bands() {
        assert_eq!(adfontes_bias(-27.0), Bias::Left);
        assert_eq!(adfontes_bias(-9.9), Bias::LeanLeft);
        assert_eq!(adfontes_bias(-2.4), Bias::Center);
        assert_eq!(adfontes_bias(14.6), Bias::LeanRight);
        assert_eq!(adfontes_bias(21.0), Bias::Right);
    }
}

//! `/outlet/{name}`: an outlet's ratings, which source gave each and on what terms, and its
//! latest articles with the stories they belong to.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use super::super::http::{self, Fail};
use super::super::{layout, Web};

/// Articles listed.
const LATEST: i64 = 30;
/// Longest outlet name looked up, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A rating source as the page credits it: its name, its terms, where to read them.
struct Rater {
    name: &'static str,
    terms: &'static str,
    url: Option<&'static str>,
}

fn rater(code: &str) -> Option<Rater> {
    let r = match code {
        "allsides" => Rater {
            name: "AllSides",
            terms: "AllSides Media Bias Ratings, licensed CC BY-NC 4.0: shown with attribution, \
                    for non-commercial use",
            url: Some("https://www.allsides.com/media-bias/ratings"),
        },
        "adfontes" => Rater {
            name: "Ad Fontes Media",
            terms: "Ad Fontes Media's ratings of bias and reliability, shown with attribution",
            url: Some("https://adfontesmedia.com/"),
        },
        "mbfc" => Rater {
            name: "Media Bias/Fact Check",
            terms: "Media Bias/Fact Check's ratings (the EMNLP 2018 collection by Baly et al.), \
                    shown with attribution",
            url: Some("https://mediabiasfactcheck.com/"),
        },
        "config" => Rater {
            name: "this site's operator",
            terms: "set in this deployment's configuration ([[outlets]])",
            url: None,
        },
        _ => return None,
    };
    Some(r)
}

pub(super) async fn page(
    State(web): State<Web>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Fail> {
    let unknown = || Fail::NotFound("storybot knows no outlet by this name.".into());
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(unknown());
    }
    let known = web.app.outlets.by_name(&name).cloned();
    let stored_name = known.as_ref().map_or(name.as_str(), |o| o.name.as_str());
    let articles = web.app.store.outlet_articles(stored_name, LATEST).await?;
    if known.is_none() && articles.is_empty() {
        return Err(unknown());
    }
    let raters = web.app.outlets.raters(stored_name);
    let body = layout::page(
        stored_name,
        html! {
            h1 { (stored_name) }
            @match &known {
                Some(o) => {
                    p.muted { "Domains: " (o.domains.join(", ")) }
                    dl.coverage {
                        dt { "Bias" }
                        dd { (o.bias.map_or("Unrated", |b| b.label())) (credit(o.bias.is_some(), raters.map(|r| r.0))) }
                        dt { "Factuality" }
                        dd {
                            (o.factuality.map_or("Unrated".to_string(), |f| crate::summarise::factuality::label(f).to_string()))
                            (credit(o.factuality.is_some(), raters.map(|r| r.1)))
                        }
                    }
                }
                None => p { "No rating source rates this outlet: its articles count as unrated." }
            }
            h2 { "Latest articles" }
            @if articles.is_empty() { p.muted { "None stored yet." } }
            ul.headlines {
                @for a in &articles {
                    li {
                        (layout::time(a.article.published)) " · "
                        a href={ "/story/" (a.story) } { (a.story_title) }
                        br;
                        span.headline { (crate::summarise::headline_for_display(&a.article.title, &a.article.outlet)) }
                    }
                }
            }
        },
    );
    Ok(http::html(&headers, body.into_string()))
}

/// " (by AllSides: terms)" for a rating that has a known source.
fn credit(rated: bool, code: Option<&str>) -> Markup {
    let Some(r) = code.filter(|_| rated).and_then(rater) else {
        return html! {};
    };
    html! {
        span.muted {
            " · rated by "
            @if let Some(url) = r.url { a href=(url) rel="noopener" { (r.name) } } @else { (r.name) }
            ". " (r.terms) "."
        }
    }
}

//! `/story/{id}`: a story's page. Title, key points (written ones with a link to each article
//! they cite), "N articles · M sources", the bias bar
//! with its text, coverage details, the blindspot badge, the coverage timeline, and every
//! headline grouped by side (a page of each; `?side=left&page=2` walks one side). A merged
//! story's old id redirects (301) to the story it joined.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use super::super::http::{self, segment, Asked, Fail, Params};
use super::super::{cache, layout, Web};
use super::group::Group;
use crate::digest::{Digest, Headline};
use crate::model::{Article, Bias, Story, StoryId};
use crate::store::Order;
use crate::summarise::Coverage;

/// Headlines per side on one page.
const PER_PAGE: usize = 50;
/// Characters of an article's summary shown under its headline.
const SNIPPET_CHARS: usize = 280;

/// A group's outlets (by name) and how many articles they have in the story.
struct Members {
    group: Group,
    outlets: Vec<String>,
    articles: usize,
}

fn members(web: &Web, story: &Story) -> Vec<Members> {
    let mut out: Vec<Members> = Group::ALL
        .into_iter()
        .map(|group| Members {
            group,
            outlets: Vec::new(),
            articles: 0,
        })
        .collect();
    for o in &story.outlets {
        let group = Group::of(web.app.outlets.rating(&o.name, &o.domain));
        let m = out
            .iter_mut()
            .find(|m| m.group == group)
            .expect("every group is listed");
        m.outlets.push(o.name.clone());
        m.articles += usize::try_from(o.articles).unwrap_or(0);
    }
    out
}

pub(super) async fn page(
    State(web): State<Web>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Fail> {
    let story = match http::asked_story(&web, &id, "/story").await? {
        Asked::Story(story) => story,
        Asked::Moved(response) => return Ok(response),
    };
    let query = raw.as_deref().unwrap_or("");
    let fingerprint = cache::fingerprint(&story, query);
    let etag = format!("\"{fingerprint:016x}\"");
    let html = "text/html; charset=utf-8";
    if http::has(&headers, &etag) {
        return Ok(http::tagged(&headers, html, &etag, Vec::new(), "no-cache"));
    }
    if let Some(body) = web.pages.get(story.key, query, fingerprint) {
        return Ok(http::tagged(
            &headers,
            html,
            &etag,
            body.as_bytes().to_vec(),
            "no-cache",
        ));
    }
    let params = Params::parse(raw.as_deref());
    let filter = match params.get("side") {
        None | Some("") | Some("all") => None,
        Some(s) => Some(Group::parse(s).ok_or_else(|| {
            Fail::BadRequest("side is one of left, center, right, unrated or all.".into())
        })?),
    };
    // The page lists its own headlines: the digest's lead articles are not read.
    let mut digest = Digest::build(&story, &[], &web.app.outlets, &web.app.settings);
    digest.image = web.app.lead_image(&story).await?;
    let groups = members(&web, &story);
    let mut sections = Vec::new();
    for m in groups
        .iter()
        .filter(|m| filter.is_none_or(|f| f == m.group))
    {
        let pages = m.articles.div_ceil(PER_PAGE).max(1);
        let page = if filter.is_some() {
            params.page(pages)
        } else {
            1
        };
        let articles = web
            .app
            .store
            .story_articles(
                story.key,
                Some(&m.outlets),
                Order::NewestFirst,
                ((page - 1) * PER_PAGE) as i64,
                PER_PAGE as i64,
            )
            .await?;
        sections.push(section(
            &web,
            &story.id,
            m,
            &articles,
            page,
            pages,
            filter.is_some(),
        ));
    }
    let timeline = super::timeline::render(&web, &story).await?;
    let body: std::sync::Arc<str> = render(&digest, &story, &groups, filter, &timeline, &sections)
        .into_string()
        .into();
    web.pages.put(story.key, query, fingerprint, body.clone());
    Ok(http::tagged(
        &headers,
        html,
        &etag,
        body.as_bytes().to_vec(),
        "no-cache",
    ))
}

fn render(
    d: &Digest,
    story: &Story,
    groups: &[Members],
    filter: Option<Group>,
    timeline: &Markup,
    sections: &[Markup],
) -> Markup {
    let c = &d.coverage;
    layout::page(
        &d.title,
        html! {
            article.story {
                h1 { (d.title) }
                @if let Some(image) = &d.image {
                    img.lead src=(image) alt="" loading="lazy" referrerpolicy="no-referrer";
                }
                p.meta {
                    span.counts { (c.articles) " articles · " (c.sources) " sources" }
                    @if let Some(t) = c.last_updated { " · updated " (layout::time(t)) }
                    " " (layout::blindspot_badge(c))
                }
                h2 { "Key points" }
                @if d.key_points.is_empty() {
                    p.muted { "No key points yet." }
                } @else {
                    @match &story.written {
                        Some(w) => ul.keypoints {
                            @for p in &w.points { li { (p.text) (cites(story, &p.sources)) } }
                        },
                        None => ul.keypoints { @for p in &d.key_points { li { (p) } } },
                    }
                    @if let Some(model) = &d.key_points_by {
                        p.muted { "Written by " (model) ", checked against the sources." }
                    }
                }
                h2 { "Bias distribution" }
                (layout::bias(c))
                (coverage_details(c))
                h2 { "Coverage over time" }
                (timeline)
                (sequence(d))
                h2 { "Headlines" }
                (filters(&story.id, groups, filter))
                @for s in sections { (s) }
                p.muted {
                    a href={ "/api/story/" (story.id) } { "This story as JSON" }
                    " · story " (story.id)
                }
            }
        },
    )
}

/// The articles a written point cites, each linked by its outlet's name (or its domain).
fn cites(story: &Story, urls: &[String]) -> Markup {
    let name = |url: &str| {
        let domain = crate::outlets::normalise_domain(url).unwrap_or_default();
        story
            .outlets
            .iter()
            .find(|o| o.domain == domain)
            .map_or(domain, |o| o.name.clone())
    };
    html! {
        @if !urls.is_empty() {
            br;
            span.cites.muted {
                "Cites "
                @for (i, url) in urls.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href=(url) rel="noopener nofollow" { (name(url)) }
                }
            }
        }
    }
}

fn coverage_details(c: &Coverage) -> Markup {
    html! {
        h2 { "Coverage details" }
        dl.coverage {
            dt { "Total sources" } dd { (c.sources) }
            @for (i, b) in Bias::ALL.into_iter().enumerate() {
                dt { (b.label()) } dd { (c.by_bias[i]) }
            }
            dt { "Unrated" } dd { (c.unrated_sources) }
            @if let Some(t) = c.first_published { dt { "First published" } dd { (layout::time(t)) } }
            @if let Some(t) = c.last_updated { dt { "Last updated" } dd { (layout::time(t)) } }
        }
    }
}

fn sequence(d: &Digest) -> Markup {
    let s = &d.sequence;
    html! {
        @if s.previous.is_some() || s.next.is_some() {
            h2 { "The same topic" }
            ul {
                @if let Some(p) = &s.previous { li { "Previous event: " a href={ "/story/" (p.id) } { (p.title) } } }
                @if let Some(n) = &s.next { li { "Next event: " a href={ "/story/" (n.id) } { (n.title) } } }
            }
        }
    }
}

/// "All · Left (12) · Center (30) · ...": links that show one side's headlines.
fn filters(id: &StoryId, groups: &[Members], filter: Option<Group>) -> Markup {
    let total: usize = groups.iter().map(|m| m.articles).sum();
    html! {
        nav.filters aria-label="Filter headlines by side" {
            a href={ "/story/" (id) } aria-current=[filter.is_none().then_some("page")] { "All (" (total) ")" }
            @for m in groups {
                a href={ "/story/" (id) "?side=" (m.group.key()) }
                    aria-current=[(filter == Some(m.group)).then_some("page")] {
                    (m.group.label()) " (" (m.articles) ")"
                }
            }
        }
    }
}

fn section(
    web: &Web,
    id: &StoryId,
    m: &Members,
    articles: &[Article],
    page: usize,
    pages: usize,
    filtered: bool,
) -> Markup {
    let link = |p: usize| format!("/story/{id}?side={}&page={p}", m.group.key());
    html! {
        section.headlines id=(m.group.key()) {
            h3 { (m.group.label()) " · " (m.articles) " articles from " (m.outlets.len()) " outlets" }
            @if articles.is_empty() { p.muted { "None." } }
            ul.headlines {
                @for a in articles { (headline(web, a)) }
            }
            @if filtered && pages > 1 {
                p.pages {
                    @if page > 1 { a rel="prev" href=(link(page - 1)) { "← Newer" } " " }
                    "Page " (page) " of " (pages)
                    @if page < pages { " " a rel="next" href=(link(page + 1)) { "Older →" } }
                }
            } @else if !filtered && pages > 1 {
                p { a href=(link(1)) { "All " (m.articles) " " (m.group.label()) " articles →" } }
            }
        }
    }
}

fn headline(web: &Web, a: &Article) -> Markup {
    let h = Headline::of(a, &web.app.outlets);
    let safe = url::Url::parse(&a.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    let snippet = crate::text::truncate_chars(&a.summary, SNIPPET_CHARS);
    html! {
        li {
            a.outlet href={ "/outlet/" (segment(&h.outlet)) } { (h.outlet) }
            " · " span.rating { (h.tag()) } " · " (layout::time(h.published))
            br;
            @if safe {
                a.headline href=(a.url) rel="nofollow noopener noreferrer" { (h.title) }
            } @else {
                span.headline { (h.title) }
            }
            @if !snippet.is_empty() { p { (snippet) } }
        }
    }
}

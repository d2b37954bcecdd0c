//! The public pages: the story lists (`/`, `/blindspot`, `/search`), a story's page
//! ([`story`], with its [`timeline`]), an outlet's page ([`outlet`]), and the stylesheet.

mod group;
mod outlet;
mod story;
mod timeline;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::http::{self, Fail, Params};
use super::{layout, Web};
use crate::app::{Lookup, LookupError};
use crate::model::Story;

/// Stories a list page shows.
const LIST_LENGTH: usize = 20;

pub(super) fn routes() -> Router<Web> {
    Router::new()
        .route("/", get(trending))
        .route("/blindspot", get(blindspot))
        .route("/search", get(search))
        .route("/story/{id}", get(story::page))
        .route("/outlet/{name}", get(outlet::page))
        .route("/static/style.css", get(stylesheet))
}

async fn stylesheet(headers: HeaderMap) -> Response {
    http::cached(
        &headers,
        "text/css; charset=utf-8",
        layout::STYLESHEET.as_bytes().to_vec(),
        "public, max-age=3600",
    )
}

async fn trending(State(web): State<Web>, headers: HeaderMap) -> Result<Response, Fail> {
    let stories = web.app.trending(LIST_LENGTH).await?;
    let body = list_page(
        &web,
        "Trending stories",
        "The stories most outlets are covering now, and growing.",
        &stories,
        "No stories yet: the bot has not ingested any articles.",
    );
    Ok(http::html(&headers, body.into_string()))
}

async fn blindspot(State(web): State<Web>, headers: HeaderMap) -> Result<Response, Fail> {
    let stories = web.app.blindspots(LIST_LENGTH).await?;
    let body = list_page(
        &web,
        "Blindspot",
        "Current stories that one side of the spectrum barely covers.",
        &stories,
        "No current story is a blindspot.",
    );
    Ok(http::html(&headers, body.into_string()))
}

/// `/search?q=`: the story `/story` would answer, then other titles that match.
async fn search(
    State(web): State<Web>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Fail> {
    let params = Params::parse(raw.as_deref());
    let query = params.get("q").unwrap_or("").to_string();
    if query.trim().is_empty() {
        let body = layout::message_page(
            "Search",
            "Type a few words from a story's headline, or its id, in the search box above.",
        );
        return Ok(http::html(&headers, body.into_string()));
    }
    let shown = crate::text::truncate_chars(&query, 80);
    let title = format!("Search: {shown}");
    let (stories, heading) = match web.app.find_story(&query).await {
        Err(LookupError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(Fail::BadRequest(format!("{e}."))),
        Ok(Lookup::EmptyStore) => (Vec::new(), "The store has no stories yet."),
        Ok(Lookup::Found(best)) => {
            let mut stories = vec![*best];
            let rows = web.app.title_matches(&query, 10).await?;
            let rows = rows
                .into_iter()
                .filter(|r| r.key != stories[0].key)
                .collect();
            stories.extend(web.app.store.with_coverages(rows).await?);
            (stories, "")
        }
        Ok(Lookup::NotFound { suggestions }) => (
            web.app.store.with_coverages(suggestions).await?,
            "No story matches every word. The closest titles:",
        ),
    };
    let body = layout::page(
        &title,
        html! {
            h1 { "Search: " (shown) }
            @if !heading.is_empty() { p.muted { (heading) } }
            (cards(&web, &stories))
        },
    );
    Ok(http::html(&headers, body.into_string()))
}

fn list_page(web: &Web, title: &str, about: &str, stories: &[Story], empty: &str) -> Markup {
    layout::page(
        title,
        html! {
            h1 { (title) }
            p.muted { (about) }
            @if stories.is_empty() { p { (empty) } }
            (cards(web, stories))
        },
    )
}

fn cards(web: &Web, stories: &[Story]) -> Markup {
    html! {
        @if !stories.is_empty() {
            ol.stories {
                @for s in stories { (layout::story_card(&web.app.summary(s))) }
            }
        }
    }
}

//! JSON: the export format README documents (`storybot stories --json`), over HTTP.
//!
//! - `/api/story/{id}`: one story object with its articles (a merged id redirects);
//! - `/api/top?count=N`: the trending stories, as `storybot top N --json`;
//! - `/api/stories?after=ID&limit=N`: every story in storage order, a page at a time; the
//!   `Link: <...>; rel="next"` header gives the next page.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::http::{self, Asked, Fail, Params};
use super::Web;
use crate::digest::export::ExportWriter;
use crate::model::{Story, StoryId};

const JSON: &str = "application/json";
/// Stories per page of `/api/stories` at most (and by default).
const MAX_PAGE: i64 = 100;
const DEFAULT_PAGE: i64 = 20;

pub(super) fn routes() -> Router<Web> {
    Router::new()
        .route("/api/story/{id}", get(story))
        .route("/api/top", get(top))
        .route("/api/stories", get(stories))
}

/// Stories and their articles as the export's JSON array.
async fn export(web: &Web, stories: &[Story]) -> Result<Vec<u8>, Fail> {
    let mut w = ExportWriter::new(Vec::new()).map_err(crate::app::ExportError::from)?;
    for s in stories {
        web.app.export_story(&mut w, s).await?;
    }
    Ok(w.finish().map_err(crate::app::ExportError::from)?)
}

/// A failure of the API, answered as JSON (`{"error": "..."}`) with the page's status.
struct ApiFail(Fail);

impl<E: Into<Fail>> From<E> for ApiFail {
    fn from(e: E) -> ApiFail {
        ApiFail(e.into())
    }
}

impl IntoResponse for ApiFail {
    fn into_response(self) -> Response {
        self.0.json()
    }
}

fn json(headers: &HeaderMap, body: Vec<u8>) -> Response {
    http::cached(headers, JSON, body, "no-cache")
}

async fn story(
    State(web): State<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFail> {
    let story = match http::asked_story(&web, &id, "/api/story").await? {
        Asked::Story(story) => story,
        Asked::Moved(response) => return Ok(response),
    };
    let array = export(&web, std::slice::from_ref(&*story)).await?;
    // The array of one, `[\n{...}\n]\n`: its object alone, fields in the export's order.
    let body = array
        .strip_prefix(b"[\n")
        .and_then(|b| b.strip_suffix(b"]\n"))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Fail::Internal("the export's array has an unexpected shape".into()))?;
    Ok(json(&headers, body))
}

async fn top(
    State(web): State<Web>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiFail> {
    let params = Params::parse(raw.as_deref());
    let count = number(&params, "count", 10, 1, 100)?;
    let stories = web.app.trending(count as usize).await?;
    Ok(json(&headers, export(&web, &stories).await?))
}

async fn stories(
    State(web): State<Web>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiFail> {
    let params = Params::parse(raw.as_deref());
    let limit = number(&params, "limit", DEFAULT_PAGE, 1, MAX_PAGE)?;
    let after = match params.get("after") {
        None | Some("") => None,
        Some(a) => {
            let id =
                StoryId::parse(a).ok_or_else(|| Fail::BadRequest("after is a story id.".into()))?;
            let row = web.app.store.story_row(&id).await?;
            Some(
                row.ok_or_else(|| Fail::NotFound("after names no story.".into()))?
                    .key,
            )
        }
    };
    let rows = web.app.store.stories_after(after, limit).await?;
    let next = (rows.len() as i64 == limit)
        .then(|| {
            rows.last()
                .map(|r| format!("</api/stories?after={}&limit={limit}>; rel=\"next\"", r.id))
        })
        .flatten();
    let stories = web.app.store.with_coverages(rows).await?;
    let mut response = json(&headers, export(&web, &stories).await?);
    if let Some(link) = next.and_then(|l| l.parse().ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// A whole-number parameter in `min..=max`, `default` when absent.
fn number(params: &Params, name: &str, default: i64, min: i64, max: i64) -> Result<i64, Fail> {
    match params.get(name) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                Fail::BadRequest(format!("{name} is a whole number from {min} to {max}."))
            }),
    }
}

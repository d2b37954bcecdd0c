//! What every response shares: security headers, ETags and 304s, the 404 and error pages,
//! and query strings read without ever rejecting a request for its shape.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::{layout, Web};
use crate::store::StoreError;

/// No script of any kind, styles from this origin only, images from this origin (the bias
/// bar) and over https (a story's lead image, sent no referrer), no framing, forms to this
/// origin only.
const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";
/// Query parameters read at most (the rest are ignored).
const MAX_PARAMS: usize = 16;

/// Finishes a router: the shared state, the 404 page for unknown paths, the headers.
pub(super) fn finish(router: Router<Web>, web: Web) -> Router {
    router
        .fallback(|| async { Fail::NotFound("There is no page at this address.".into()) })
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(web)
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}

/// A request the pages refuse or could not answer, as the page a reader sees.
#[derive(Debug)]
pub(super) enum Fail {
    NotFound(String),
    BadRequest(String),
    Internal(String),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail::Internal(crate::error::chain(&e))
    }
}

impl From<crate::app::ExportError> for Fail {
    fn from(e: crate::app::ExportError) -> Fail {
        Fail::Internal(crate::error::chain(&e))
    }
}

impl Fail {
    /// The status, a title and the message a reader sees (a fault is logged here, with the
    /// id the message gives).
    fn parts(self) -> (StatusCode, &'static str, String) {
        match self {
            Fail::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            Fail::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
            Fail::Internal(e) => {
                let id = crate::error::error_id();
                tracing::error!(error_id = %id, error = %e, "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    format!(
                        "Something went wrong on our side (error id {id}). It has been logged."
                    ),
                )
            }
        }
    }

    /// The failure as JSON, `{"error": "..."}`, for the API.
    pub(super) fn json(self) -> Response {
        let (status, _, message) = self.parts();
        let body = axum::Json(serde_json::json!({ "error": message }));
        (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (status, title, message) = self.parts();
        let body = layout::message_page(title, &message).into_string();
        let mut response = (status, html_type(), body).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

fn html_type() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    )]
}

/// An HTML page, or a 304 when the client already has it.
pub(super) fn html(request: &HeaderMap, body: String) -> Response {
    cached(
        request,
        "text/html; charset=utf-8",
        body.into_bytes(),
        "no-cache",
    )
}

/// A body with a strong ETag (a hash of the body), or a 304 when `If-None-Match` names it.
pub(super) fn cached(
    request: &HeaderMap,
    content_type: &'static str,
    body: Vec<u8>,
    cache_control: &'static str,
) -> Response {
    let etag = format!("\"{:016x}\"", crate::fnv::hash(&body));
    tagged(request, content_type, &etag, body, cache_control)
}

/// Whether the client's `If-None-Match` names `etag`.
pub(super) fn has(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// A body under a given ETag, or a 304 when the client has it.
pub(super) fn tagged(
    request: &HeaderMap,
    content_type: &'static str,
    etag: &str,
    body: Vec<u8>,
    cache_control: &'static str,
) -> Response {
    let headers = [
        (header::ETAG, etag.to_string()),
        (header::CACHE_CONTROL, cache_control.to_string()),
    ];
    if has(request, etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (
        headers,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// A query string's parameters, first value of each name, decoded; never a rejection.
#[derive(Debug, Default)]
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(raw: Option<&str>) -> Params {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .take(MAX_PARAMS)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params(pairs)
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A positive page number (1 when absent or not a number), at most `max`.
    pub(super) fn page(&self, max: usize) -> usize {
        self.get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, max.max(1))
    }
}

/// A story asked for by id: found, or merged into another (a 301 to `{route}/{its id}`).
pub(super) enum Asked {
    Story(Box<crate::model::Story>),
    Moved(Response),
}

/// The story with id `id` for a page under `route` (`/story`, `/api/story`); an id of the
/// wrong shape or of no story is a 404.
pub(super) async fn asked_story(web: &Web, id: &str, route: &str) -> Result<Asked, Fail> {
    let unknown = || Fail::NotFound("No story has this id. It may be mistyped.".into());
    let id = crate::model::StoryId::parse(id).ok_or_else(unknown)?;
    let row = web.app.store.story_row(&id).await?.ok_or_else(unknown)?;
    if row.id != id {
        // Merged into another story. The target is a stored id: never an outside address.
        let to = format!("{route}/{}", row.id);
        return Ok(Asked::Moved(
            (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response(),
        ));
    }
    Ok(Asked::Story(Box::new(
        web.app.store.with_coverage(row).await?,
    )))
}

/// A path segment, percent-encoded (everything but unreserved characters).
pub(super) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

//! The pages' shell (header, search box, footer), the stylesheet, and the fragments several
//! pages show: a story's card, the bias bar with its text, a time. Markup is maud: every
//! string spliced in is escaped, so a hostile title or outlet name is text, never markup.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use crate::digest::Digest;
use crate::model::Side;
use crate::summarise::Coverage;

/// The stylesheet (`/static/style.css`): light and dark from the reader's setting, one
/// column on a phone.
pub(super) const STYLESHEET: &str = r#":root{--bg:#fff;--fg:#1b1d21;--muted:#5d6470;--line:#dde1e6;--card:#f6f7f9;--link:#0b57d0;--left:#2a6fdb;--center:#8a8f98;--right:#d6453d;--unrated:#c9ccd1;--warn:#a15c00}
@media (prefers-color-scheme:dark){:root{--bg:#14161a;--fg:#e8eaed;--muted:#a3a9b3;--line:#2e3238;--card:#1c1f24;--link:#8ab4f8;--left:#5b8ff0;--center:#9aa0a6;--right:#f07167;--unrated:#4a4e55;--warn:#f2b35b}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--link)}header.site,main,footer.site{max-width:60rem;margin:0 auto;padding:0 1rem}
header.site{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding-top:.75rem;padding-bottom:.75rem;border-bottom:1px solid var(--line)}
header.site .brand{font-weight:700;text-decoration:none;color:var(--fg)}header.site nav a{margin-right:1rem}
form.search{display:flex;gap:.25rem;flex:1 1 14rem}form.search input{flex:1;min-width:0;padding:.35rem .5rem;border:1px solid var(--line);border-radius:4px;background:var(--card);color:var(--fg)}
form.search button{padding:.35rem .75rem;border:1px solid var(--line);border-radius:4px;background:var(--card);color:var(--fg)}
h1{font-size:1.6rem;line-height:1.25;margin:1.25rem 0 .5rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.meta,.muted{color:var(--muted);font-size:.9rem}.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.8rem;font-weight:600;border:1px solid var(--warn);color:var(--warn)}
svg.bias{display:block;width:100%;height:.9rem;border-radius:3px;overflow:hidden}svg.bias .left,svg.timeline .left{fill:var(--left)}svg.bias .center,svg.timeline .center{fill:var(--center)}svg.bias .right,svg.timeline .right{fill:var(--right)}svg.bias .none,svg.timeline .unrated{fill:var(--unrated)}
.bias-text{margin:.35rem 0 0;font-size:.95rem}.pct.left{color:var(--left)}.pct.right{color:var(--right)}
ul.keypoints li{margin:.3rem 0}img.lead{display:block;max-width:100%;max-height:20rem;height:auto;border-radius:6px}ol.stories{list-style:none;padding:0}ol.stories li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem;margin:.75rem 0}
ol.stories h2{margin:0 0 .25rem;font-size:1.1rem}dl.coverage{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}dl.coverage dt{color:var(--muted)}dl.coverage dd{margin:0}
nav.filters a{display:inline-block;margin:.2rem .6rem .2rem 0}nav.filters a[aria-current]{font-weight:700;color:var(--fg);text-decoration:none}
ul.headlines{list-style:none;padding:0}ul.headlines li{border-top:1px solid var(--line);padding:.6rem 0}ul.headlines .outlet{font-weight:600}ul.headlines p{margin:.2rem 0 0;color:var(--muted);font-size:.92rem}
svg.timeline{width:100%;height:auto;max-height:12rem;background:var(--card);border-radius:4px}svg.timeline text{fill:var(--muted);font-size:9px}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:0 2rem}@media (max-width:40rem){.cols{grid-template-columns:1fr}h1{font-size:1.35rem}}
footer.site{margin-top:2rem;padding-top:1rem;padding-bottom:2rem;border-top:1px solid var(--line);color:var(--muted);font-size:.85rem}
"#;

/// A whole page: `title` in the tab, `body` in the main column.
pub(super) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · storybot" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header.site {
                    a.brand href="/" { "storybot" }
                    nav {
                        a href="/" { "Trending" }
                        a href="/blindspot" { "Blindspot" }
                    }
                    form.search action="/search" method="get" role="search" {
                        input type="search" name="q" aria-label="Search stories"
                            placeholder="Search stories" maxlength="300";
                        button type="submit" { "Search" }
                    }
                }
                main { (body) }
                footer.site {
                    p { (crate::digest::RATINGS_ATTRIBUTION) "." }
                }
            }
        }
    }
}

/// A page that only says something (404, a refused query).
pub(super) fn message_page(title: &str, message: &str) -> Markup {
    page(
        title,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "The trending stories" } }
        },
    )
}

/// `2026-03-11 14:05 UTC`, in a `<time>` element.
pub(super) fn time(t: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (t.format("%Y-%m-%d %H:%M UTC").to_string())
        }
    }
}

/// The bias bar (an SVG of the three shares) and its text equivalent.
pub(super) fn bias(c: &Coverage) -> Markup {
    let label = c.summary_line();
    let mut x = 0u32;
    let rects: Vec<(Side, u32, u32)> = Side::ALL
        .into_iter()
        .map(|side| {
            let w = u32::from(c.share(side));
            x += w;
            (side, x - w, w)
        })
        .filter(|r| r.2 > 0)
        .collect();
    html! {
        div.bias-block {
            svg.bias viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label=(label) {
                @if c.rated_sources == 0 {
                    rect.none x="0" y="0" width="100" height="8" {}
                }
                @for (side, x, w) in &rects {
                    rect class=(side_class(*side)) x=(x) y="0" width=(w) height="8" {}
                }
            }
            p.bias-text {
                @if c.rated_sources == 0 {
                    "No covering outlet is rated yet."
                } @else {
                    @for (i, side) in Side::ALL.into_iter().enumerate() {
                        @if i > 0 { " · " }
                        span class={ "pct " (side_class(side)) } data-side=(side_class(side)) data-percent=(c.share(side)) {
                            (side.label()) " " (c.share(side)) "%"
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn side_class(side: Side) -> &'static str {
    match side {
        Side::Left => "left",
        Side::Center => "center",
        Side::Right => "right",
    }
}

/// "Blindspot: barely covered by the Right", when it is one.
pub(super) fn blindspot_badge(c: &Coverage) -> Markup {
    html! {
        @if let Some(side) = c.blindspot {
            span.badge.blindspot { "Blindspot: barely covered by the " (side.label()) }
        }
    }
}

/// A story in a list: title, counts, bias bar, blindspot.
pub(super) fn story_card(d: &Digest) -> Markup {
    let c = &d.coverage;
    html! {
        li {
            h2 { a href={ "/story/" (d.id) } { (d.title) } }
            p.meta {
                (c.articles) " articles · " (c.sources) " sources"
                @if let Some(t) = c.last_updated { " · updated " (time(t)) }
                " " (blindspot_badge(c))
            }
            (bias(c))
        }
    }
}

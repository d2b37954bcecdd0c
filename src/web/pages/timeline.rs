//! A story's coverage timeline: articles per hour (or per longer bucket for a long story, at
//! most [`MAX_BARS`] bars) stacked by side, as an inline SVG with a text summary.

use maud::{html, Markup};

use super::super::http::Fail;
use super::super::{layout, Web};
use super::group::Group;
use crate::model::Story;

/// Bars at most: a story of weeks is drawn in buckets of several hours.
const MAX_BARS: i64 = 72;
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;
/// Room under the bars for the first and last times.
const AXIS: f64 = 14.0;

/// The length of a bucket, in seconds: an hour, or whole hours so that the story fits.
fn bucket_secs(story: &Story) -> i64 {
    let span = (story.last_updated - story.first_published)
        .num_seconds()
        .max(0);
    // Buckets start at multiples of their length, so the span may touch two more than it
    // covers: at most MAX_BARS - 2 whole buckets.
    let whole = MAX_BARS - 2;
    3600 * ((span / 3600 + 1 + whole - 1) / whole).max(1)
}

pub(super) async fn render(web: &Web, story: &Story) -> Result<Markup, Fail> {
    let bucket = bucket_secs(story);
    let cells = web.app.store.story_timeline(story.key, bucket).await?;
    let Some(first) = cells.iter().map(|c| c.start).min() else {
        return Ok(html! { p.muted { "No articles yet." } });
    };
    let last = cells.iter().map(|c| c.start).max().unwrap_or(first);
    let bars = ((last - first).num_seconds() / bucket + 1) as usize;
    // An outlet counts on the side its coverage of the story counts on (its name and the
    // domain of its first article decide its rating).
    let slots: std::collections::HashMap<&str, usize> = story
        .outlets
        .iter()
        .map(|o| {
            let g = Group::of(web.app.outlets.rating(&o.name, &o.domain));
            (
                o.name.as_str(),
                Group::ALL.iter().position(|x| *x == g).unwrap_or(3),
            )
        })
        .collect();
    let mut counts = vec![[0i64; 4]; bars];
    for c in &cells {
        let i = ((c.start - first).num_seconds() / bucket) as usize;
        let slot = slots.get(c.outlet.as_str()).copied().unwrap_or(3);
        counts[i.min(bars - 1)][slot] += c.articles;
    }
    let peak = counts
        .iter()
        .map(|c| c.iter().sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let per = if bucket == 3600 {
        "hour".to_string()
    } else {
        format!("{} hours", bucket / 3600)
    };
    let label = format!("Articles per {per} by side, {bars} bars, at most {peak} in one {per}");
    let bar_w = WIDTH / bars as f64;
    let scale = (HEIGHT - AXIS - 4.0) / peak as f64;
    let end = last + chrono::Duration::seconds(bucket);
    let rects = stack(&counts, bar_w, scale);
    Ok(html! {
        svg.timeline id="timeline" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
            aria-label=(label) data-bars=(bars) data-bucket-seconds=(bucket) {
            title { (label) }
            @for r in &rects {
                rect class=(Group::ALL[r.slot].key()) x=(fmt(r.x + 0.5)) y=(fmt(r.top))
                    width=(fmt((bar_w - 1.0).max(0.5))) height=(fmt(r.height)) data-count=(r.count) {}
            }
            text x="2" y=(HEIGHT - 2.0) { (first.format("%b %d %H:%M").to_string()) }
            text x=(WIDTH - 2.0) y=(HEIGHT - 2.0) text-anchor="end" { (end.format("%b %d %H:%M UTC").to_string()) }
            text x="2" y="10" { (peak) " per " (per) }
        }
        p.muted { "From " (layout::time(first)) " to " (layout::time(end)) ", one bar per " (per) "." }
    })
}

/// One stacked piece of a bar.
struct Piece {
    slot: usize,
    x: f64,
    top: f64,
    height: f64,
    count: i64,
}

/// Each bar's groups stacked from the axis up, Left at the bottom.
fn stack(counts: &[[i64; 4]], bar_w: f64, scale: f64) -> Vec<Piece> {
    let mut out = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        let mut y = HEIGHT - AXIS;
        for (slot, &count) in c.iter().enumerate().filter(|(_, n)| **n > 0) {
            let height = count as f64 * scale;
            y -= height;
            out.push(Piece {
                slot,
                x: i as f64 * bar_w,
                top: y,
                height,
                count,
            });
        }
    }
    out
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StoryId, StoryKey};

    fn spanning(hours: i64) -> Story {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Story {
            key: StoryKey(1),
            id: StoryId::derive("t", 8),
            title: String::new(),
            key_points: Vec::new(),
            article_count: 0,
            first_published: t,
            last_updated: t + chrono::Duration::hours(hours),
            revision: 0,
            outlets: Vec::new(),
            sequence: Default::default(),
            written: None,
        }
    }

    #[test]
    fn a_long_story_is_drawn_in_longer_buckets_never_over_72_bars() {
        assert_eq!(bucket_secs(&spanning(0)), 3600);
        assert_eq!(bucket_secs(&spanning(69)), 3600);
        assert_eq!(bucket_secs(&spanning(70)), 7200);
        for hours in [0, 5, 69, 70, 71, 72, 100, 139, 140, 500, 24 * 60, 24 * 365] {
            let bucket = bucket_secs(&spanning(hours));
            // The first bucket may start before the first article: one bar more at most.
            let bars = hours * 3600 / bucket + 2;
            assert!(bars <= MAX_BARS, "{hours} h in {bars} bars");
            assert_eq!(bucket % 3600, 0, "whole hours");
        }
    }
}

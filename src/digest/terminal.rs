//! A digest as terminal text, with a coloured bias bar.
//!
//! Colour is written as ANSI styles; callers print through `anstream`, which drops them when
//! the output is not a terminal or `NO_COLOR` is set. Control characters in stored text were
//! removed on ingest, so nothing from a feed can move the cursor or change the terminal.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Color, Style};

use super::embed::scale_to;
use super::{Digest, RATINGS_ATTRIBUTION};
use crate::summarise::Coverage;

/// Width of the bias bar in cells.
pub(crate) const BAR_WIDTH: usize = 40;

const LEFT: Style = Style::new()
    .bg_color(Some(Color::Ansi(AnsiColor::Blue)))
    .fg_color(Some(Color::Ansi(AnsiColor::BrightWhite)));
const CENTER: Style = Style::new()
    .bg_color(Some(Color::Ansi(AnsiColor::White)))
    .fg_color(Some(Color::Ansi(AnsiColor::Black)));
const RIGHT: Style = Style::new()
    .bg_color(Some(Color::Ansi(AnsiColor::Red)))
    .fg_color(Some(Color::Ansi(AnsiColor::BrightWhite)));
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const WARN: Style = Style::new()
    .fg_color(Some(Color::Ansi(AnsiColor::Yellow)))
    .bold();

/// The full terminal digest.
pub(crate) fn render(d: &Digest) -> String {
    let c = &d.coverage;
    let mut out = String::new();
    let _ = writeln!(out, "{BOLD}{}{BOLD:#}", d.title);
    let _ = writeln!(
        out,
        "{DIM}story {} · {} {} · {} {}{DIM:#}",
        d.id,
        c.articles,
        if c.articles == 1 {
            "article"
        } else {
            "articles"
        },
        c.sources,
        if c.sources == 1 { "source" } else { "sources" },
    );
    if !d.key_points.is_empty() {
        let _ = writeln!(out, "\n{BOLD}Key points{BOLD:#}");
        for p in &d.key_points {
            let _ = writeln!(out, "  • {p}");
        }
        if let Some(model) = &d.key_points_by {
            let _ = writeln!(
                out,
                "  {DIM}Written by {model}, checked against the sources{DIM:#}"
            );
        }
    }
    if !d.framing.is_empty() {
        let _ = writeln!(out, "\n{BOLD}How each side covers it{BOLD:#}");
        for f in &d.framing {
            let _ = writeln!(out, "  {}: {}", f.side.label(), f.sentence);
        }
    }
    let _ = writeln!(out, "\n{BOLD}Bias distribution{BOLD:#}");
    let _ = writeln!(out, "  {}", bar(c));
    let _ = writeln!(out, "  {}", c.summary_line());
    if let Some(side) = c.blindspot {
        let _ = writeln!(
            out,
            "  {WARN}Blindspot:{WARN:#} few sources on the {} cover this story",
            side.label()
        );
    }
    if let Some(line) = c.factuality.summary_line() {
        let _ = writeln!(out, "  {line}");
    }
    if c.factuality.mostly_low {
        let _ = writeln!(
            out,
            "  {WARN}Mostly low-factuality sources{WARN:#} cover this story"
        );
    }
    let _ = writeln!(out, "\n{BOLD}Coverage details{BOLD:#}");
    let _ = writeln!(
        out,
        "  Sources leaning left: {} · center: {} · right: {} · unrated: {}",
        c.by_side[0], c.by_side[1], c.by_side[2], c.unrated_sources
    );
    if let Some(t) = c.first_published {
        let _ = writeln!(out, "  First published: {}", t.format("%Y-%m-%d %H:%M UTC"));
    }
    if let Some(t) = c.last_updated {
        let _ = writeln!(out, "  Last updated:    {}", t.format("%Y-%m-%d %H:%M UTC"));
    }
    for line in d
        .sequence
        .lines(|label, l| format!("  {label}: {} (story {})", l.title, l.id))
    {
        let _ = writeln!(out, "{line}");
    }
    if !d.headlines.is_empty() {
        let _ = writeln!(out, "\n{BOLD}Top headlines{BOLD:#}");
        for h in &d.headlines {
            let tag = h.tag();
            let _ = writeln!(out, "  • {}", h.title);
            let _ = writeln!(out, "    {DIM}{} · {tag} · {}{DIM:#}", h.outlet, h.url);
        }
    }
    let _ = writeln!(out, "\n{DIM}{RATINGS_ATTRIBUTION}{DIM:#}");
    out
}

/// A bar of [`BAR_WIDTH`] cells: blue left, white center, red right, labelled where it fits.
pub(crate) fn bar(c: &Coverage) -> String {
    if c.rated_sources == 0 {
        return format!("{DIM}{}{DIM:#}", "░".repeat(BAR_WIDTH));
    }
    let cells = scale_to(&c.percent, BAR_WIDTH);
    let mut out = String::new();
    for (i, style) in [LEFT, CENTER, RIGHT].iter().enumerate() {
        let n = cells[i];
        if n == 0 {
            continue;
        }
        let label = format!("{}%", c.percent[i]);
        let body = if label.len() + 2 <= n {
            let pad = n - label.len();
            format!(
                "{}{label}{}",
                " ".repeat(pad / 2),
                " ".repeat(pad - pad / 2)
            )
        } else {
            " ".repeat(n)
        };
        let _ = write!(out, "{style}{body}{style:#}");
    }
    out
}

/// One line per story for lists: id, counts, distribution, title.
pub(crate) fn list_line(d: &Digest) -> String {
    let (id, title, c) = (d.id.as_str(), &d.title, &d.coverage);
    let blind = match c.blindspot {
        Some(side) => format!(" {WARN}[blindspot: {}]{WARN:#}", side.label()),
        None => String::new(),
    };
    format!(
        "{BOLD}{id}{BOLD:#}  {title}\n          {DIM}{} articles · {} sources · {}{DIM:#}{blind}",
        c.articles,
        c.sources,
        c.summary_line()
    )
}

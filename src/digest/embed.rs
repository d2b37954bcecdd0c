//! A digest as a Discord message: one embed, the bias bar PNG attached as
//! `attachment://bias.png`, and `allowed_mentions` that parse nothing.
//!
//! Every Discord limit is respected by shortening on grapheme boundaries with an ellipsis,
//! never by failing: title 256, description 4096, 25 fields, field name 256 and value 1024,
//! footer 2048, and 6,000 characters over the whole embed. Lengths are counted in UTF-16 code
//! units, which is never less than the character count Discord checks. Untrusted text is
//! escaped ([`super::markdown`]); headlines become whole `[title](url)` lines, never cut inside.

use super::markdown::{escape_within, link_url};
use super::{Digest, Headline, RATINGS_ATTRIBUTION};
use crate::model::{Sequence, Side};
use crate::payload::limits::*;
use crate::payload::{AllowedMentions, Attachment, Embed, Field, Footer, Image, Message};
use crate::summarise::Coverage;
use crate::text::{truncate_utf16, utf16_len};

/// The file name of the attached bias bar.
pub(crate) const BIAS_PNG: &str = "bias.png";

/// Colours per dominant side (Discord embed colour bar).
pub(crate) fn colour(side: Option<Side>) -> u32 {
    match side {
        Some(Side::Left) => 0x2F6FD6,
        Some(Side::Right) => 0xD14B3B,
        Some(Side::Center) => 0x9A9A9A,
        None => 0x5865F2,
    }
}

/// The full message for a digest, with the bias bar attached.
pub fn message(d: &Digest) -> Message {
    Message {
        embeds: vec![embed(d)],
        allowed_mentions: AllowedMentions::default(),
        attachments: vec![Attachment {
            id: "0".into(),
            filename: BIAS_PNG.into(),
            description: format!("Bias distribution: {}", d.coverage.summary_line()),
        }],
        components: Vec::new(),
        flags: None,
    }
}

/// The digest's embed, within every limit.
pub fn embed(d: &Digest) -> Embed {
    let c = &d.coverage;
    let mut fields = vec![
        field("Bias distribution", &bias_field(c)),
        field("Coverage details", &details_field(c, &d.sequence)),
    ];
    if !d.framing.is_empty() {
        fields.insert(1, field("How each side covers it", &framing_field(d)));
    }
    let headlines = headlines_field(&d.headlines);
    if !headlines.is_empty() {
        fields.push(field("Top headlines", &headlines));
    }
    let footer = Footer {
        text: truncate_utf16(
            &format!("Story {} · {}", d.id, RATINGS_ATTRIBUTION),
            FOOTER_MAX,
        ),
    };
    let mut embed = Embed {
        title: escape_within(&d.title, TITLE_MAX),
        url: d.link.as_deref().and_then(link_url),
        description: description(d, DESCRIPTION_MAX),
        color: colour(c.dominant()),
        fields,
        image: Some(Image {
            url: format!("attachment://{BIAS_PNG}"),
        }),
        thumbnail: d.image.as_ref().map(|url| Image { url: url.clone() }),
        footer,
        timestamp: c
            .last_updated
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    };
    fit_total(&mut embed, d);
    embed
}

/// The key points as bullets, then the counts.
fn description(d: &Digest, max: usize) -> String {
    let c = &d.coverage;
    // Under the points: who wrote them (Discord's subtext, a small grey line), the counts.
    let mut tail = String::new();
    if let Some(model) = &d.key_points_by {
        tail.push_str(&format!(
            "-# Written by {}, checked against the sources\n",
            escape_within(model, 80)
        ));
    }
    tail.push_str(&format!(
        "\n**{} {} · {} {}**",
        c.articles,
        plural(c.articles, "article", "articles"),
        c.sources,
        plural(c.sources, "source", "sources")
    ));
    let mut description = String::new();
    for point in &d.key_points {
        let line = format!("• {}\n", escape_within(point, 400));
        if utf16_len(&description) + utf16_len(&line) + utf16_len(&tail) > max {
            break;
        }
        description.push_str(&line);
    }
    description.push_str(if description.is_empty() {
        tail.trim_start()
    } else {
        &tail
    });
    truncate_utf16(&description, max)
}

/// One line per covering side: how its outlets frame the story.
fn framing_field(d: &Digest) -> String {
    d.framing
        .iter()
        .map(|f| {
            format!(
                "**{}:** {}",
                f.side.label(),
                escape_within(&f.sentence, 300)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The emoji bar, the percentages and the blindspot flag.
fn bias_field(c: &Coverage) -> String {
    let mut bias = format!("{}\n{}", emoji_bar(c), c.summary_line());
    if let Some(side) = c.blindspot {
        bias.push_str(&format!(
            "\n⚠️ **Blindspot:** few sources on the {} cover this story",
            side.label()
        ));
    }
    if let Some(line) = c.factuality.summary_line() {
        bias.push('\n');
        bias.push_str(&line);
    }
    if c.factuality.mostly_low {
        bias.push_str("\n⚠️ **Mostly low-factuality sources** cover this story");
    }
    bias
}

/// Sources by rating, unrated sources, first published, last updated.
fn details_field(c: &Coverage, sequence: &Sequence) -> String {
    let mut details = if c.rated_sources == 0 {
        String::new()
    } else {
        let labels = ["Left", "Lean Left", "Center", "Lean Right", "Right"];
        let parts: Vec<String> = labels
            .iter()
            .zip(c.by_bias)
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        format!("Sources by rating: {}\n", parts.join(" · "))
    };
    if c.unrated_sources > 0 {
        details.push_str(&format!("Unrated sources: {}\n", c.unrated_sources));
    }
    if let Some(t) = c.first_published {
        details.push_str(&format!("First published: <t:{}:f>\n", t.timestamp()));
    }
    if let Some(t) = c.last_updated {
        details.push_str(&format!("Last updated: <t:{}:R>\n", t.timestamp()));
    }
    for line in sequence
        .lines(|label, l| format!("{label}: {} (`{}`)\n", escape_within(&l.title, 120), l.id))
    {
        details.push_str(&line);
    }
    details.trim_end().to_string()
}

/// Whole headline lines, as many as fit one field.
fn headlines_field(headlines: &[Headline]) -> String {
    let mut value = String::new();
    for line in headlines.iter().filter_map(headline_line) {
        let extra = usize::from(!value.is_empty());
        if utf16_len(&value) + extra + utf16_len(&line) > FIELD_VALUE_MAX {
            break;
        }
        if extra == 1 {
            value.push('\n');
        }
        value.push_str(&line);
    }
    value
}

/// One headline as a markdown line: `[title](url) — Outlet · Lean Left · High factuality`.
pub(crate) fn headline_line(h: &Headline) -> Option<String> {
    let url = link_url(&h.url)?;
    let tag = h.tag();
    let title = escape_within(&h.title, 300);
    let outlet = escape_within(&h.outlet, 80);
    let line = format!("[{title}]({url}) — {outlet} · {tag}");
    (utf16_len(&line) <= FIELD_VALUE_MAX).then_some(line)
}

pub(crate) fn field(name: &str, value: &str) -> Field {
    Field {
        name: truncate_utf16(name, FIELD_NAME_MAX),
        value: truncate_utf16(if value.is_empty() { "—" } else { value }, FIELD_VALUE_MAX),
        inline: false,
    }
}

/// Shrinks an embed to the 6,000 total: headlines first (whole lines) down to
/// [`KEPT_HEADLINES`], then the description down to [`KEPT_DESCRIPTION`], then the rest.
fn fit_total(embed: &mut Embed, d: &Digest) {
    embed.fields.truncate(FIELDS_MAX);
    while embed.total_len() > EMBED_TOTAL_MAX {
        let over = embed.total_len() - EMBED_TOTAL_MAX;
        let lines = headline_lines(embed);
        if lines > KEPT_HEADLINES {
            drop_last_headline(embed);
            continue;
        }
        let description = utf16_len(&embed.description);
        if description > KEPT_DESCRIPTION {
            let keep = description.saturating_sub(over).max(KEPT_DESCRIPTION);
            embed.description = self::description(d, keep);
            continue;
        }
        if lines > 0 {
            drop_last_headline(embed);
            continue;
        }
        let keep = description.saturating_sub(over);
        embed.description = truncate_utf16(&embed.description, keep);
        if embed.total_len() > EMBED_TOTAL_MAX {
            embed.title = truncate_utf16(&embed.title, 64);
            embed.footer.text = truncate_utf16(&embed.footer.text, 64);
        }
        if embed.total_len() > EMBED_TOTAL_MAX {
            embed.fields.clear();
        }
    }
}

/// Headlines kept before the description is shortened.
const KEPT_HEADLINES: usize = 3;
/// Characters (UTF-16) of description kept before the last headlines go.
const KEPT_DESCRIPTION: usize = 1000;

fn headline_lines(embed: &Embed) -> usize {
    embed
        .fields
        .iter()
        .find(|f| f.name == "Top headlines")
        .map_or(0, |f| f.value.lines().count())
}

/// Removes the last headline line, and the field with its last line.
fn drop_last_headline(embed: &mut Embed) {
    let Some(f) = embed.fields.iter_mut().find(|f| f.name == "Top headlines") else {
        return;
    };
    match f.value.rfind('\n') {
        Some(i) => f.value.truncate(i),
        None => embed.fields.retain(|f| f.name != "Top headlines"),
    }
}

/// Ten squares: 🟦 left, ⬜ center, 🟥 right, in proportion (largest remainder).
pub(crate) fn emoji_bar(c: &Coverage) -> String {
    if c.rated_sources == 0 {
        return "▫️".repeat(10);
    }
    let ten = scale_to(&c.percent, 10);
    let mut s = String::new();
    s.push_str(&"🟦".repeat(ten[0]));
    s.push_str(&"⬜".repeat(ten[1]));
    s.push_str(&"🟥".repeat(ten[2]));
    s
}

/// Scales percentages (sum 100) to `n` whole cells with the largest remainder method.
pub(crate) fn scale_to(percent: &[u8; 3], n: usize) -> [usize; 3] {
    let mut out = [0usize; 3];
    let mut rem: Vec<(usize, usize)> = Vec::new();
    let mut used = 0;
    for (i, &p) in percent.iter().enumerate() {
        let scaled = usize::from(p) * n;
        out[i] = scaled / 100;
        used += out[i];
        rem.push((scaled % 100, i));
    }
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rem.iter().take(n.saturating_sub(used)) {
        out[i] += 1;
    }
    out
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

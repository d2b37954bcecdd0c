//! A digest as a Discord message: one embed, the bias bar PNG attached as
//! `attachment://bias.png`, and `allowed_mentions` that parse nothing.
//!
//! Every Discord limit is respected by shortening on grapheme boundaries with an ellipsis,
//! never by failing: title 256, description 4096, 25 fields, field name 256 and value 1024,
//! footer 2048, and 6,000 characters over the whole embed. Lengths are counted in UTF-16 code
//! units, which is never less than the character count Discord checks. Untrusted text is
//! escaped ([`super::markdown`]); headlines become whole `[title](url)` lines, never cut inside.

use serde::Serialize;

use super::markdown::{escape_within, link_url};
use super::{Digest, Headline, RATINGS_ATTRIBUTION};
use crate::model::Side;
use crate::text::{truncate_utf16, utf16_len};

pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELDS_MAX: usize = 25;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FOOTER_MAX: usize = 2048;
pub const EMBED_TOTAL_MAX: usize = 6000;
/// The file name of the attached bias bar.
pub const BIAS_PNG: &str = "bias.png";

/// A message payload (`MessageCreateRequest` / interaction callback `data`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub embeds: Vec<Embed>,
    pub allowed_mentions: AllowedMentions,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Buttons and menus, in action rows (at most 5 rows).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ActionRow>,
    /// Message flags; [`EPHEMERAL`] shows a reply to its user only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
}

/// The flag of a reply only its user sees.
pub const EPHEMERAL: u64 = 1 << 6;
pub const BUTTON_LABEL_MAX: usize = 80;
pub const CUSTOM_ID_MAX: usize = 100;
pub const SELECT_OPTIONS_MAX: usize = 25;
pub const SELECT_TEXT_MAX: usize = 100;

impl Message {
    /// A message with just these embeds.
    pub fn embeds(embeds: Vec<Embed>) -> Message {
        Message {
            embeds,
            allowed_mentions: AllowedMentions::default(),
            attachments: Vec::new(),
            components: Vec::new(),
            flags: None,
        }
    }

    /// Shown only to the user who asked.
    pub fn ephemeral(mut self) -> Message {
        self.flags = Some(EPHEMERAL);
        self
    }
}

/// A row of up to 5 buttons, or one select menu.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRow {
    #[serde(rename = "type")]
    pub kind: u8,
    pub components: Vec<Component>,
}

impl ActionRow {
    pub fn new(components: Vec<Component>) -> ActionRow {
        ActionRow {
            kind: 1,
            components,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Component {
    Button(Button),
    Select(StringSelect),
}

/// Button styles Discord defines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ButtonStyle {
    Primary = 1,
    Secondary = 2,
    Link = 5,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    #[serde(rename = "type")]
    pub kind: u8,
    pub style: u8,
    pub label: String,
    /// Set on every button but links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    /// Set on link buttons only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub disabled: bool,
}

impl Button {
    /// A button that sends `custom_id` back when pressed.
    pub fn action(style: ButtonStyle, label: &str, custom_id: String, disabled: bool) -> Component {
        Component::Button(Button {
            kind: 2,
            style: style as u8,
            label: truncate_utf16(label, BUTTON_LABEL_MAX),
            custom_id: Some(custom_id),
            url: None,
            disabled,
        })
    }

    /// A button that opens `url`.
    pub fn link(label: &str, url: String) -> Component {
        Component::Button(Button {
            kind: 2,
            style: ButtonStyle::Link as u8,
            label: truncate_utf16(label, BUTTON_LABEL_MAX),
            custom_id: None,
            url: Some(url),
            disabled: false,
        })
    }
}

/// A menu of text choices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StringSelect {
    #[serde(rename = "type")]
    pub kind: u8,
    pub custom_id: String,
    pub placeholder: String,
    pub options: Vec<SelectOption>,
    pub min_values: u8,
    pub max_values: u8,
}

impl StringSelect {
    /// A single-choice menu (at most 25 options, texts cut to Discord's 100).
    pub fn single(custom_id: String, placeholder: &str, options: Vec<SelectOption>) -> Component {
        Component::Select(StringSelect {
            kind: 3,
            custom_id,
            placeholder: truncate_utf16(placeholder, SELECT_TEXT_MAX),
            options: options.into_iter().take(SELECT_OPTIONS_MAX).collect(),
            min_values: 1,
            max_values: 1,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectOption {
    pub label: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SelectOption {
    pub fn new(label: &str, value: &str, description: Option<&str>) -> SelectOption {
        SelectOption {
            label: truncate_utf16(label, SELECT_TEXT_MAX),
            value: truncate_utf16(value, SELECT_TEXT_MAX),
            description: description.map(|d| truncate_utf16(d, SELECT_TEXT_MAX)),
        }
    }
}

/// `{"parse": []}`: nobody is pinged, whatever the text says.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct AllowedMentions {
    pub parse: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    pub id: String,
    pub filename: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Embed {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub description: String,
    pub color: u32,
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    pub footer: Footer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Image {
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Footer {
    pub text: String,
}

impl Embed {
    /// The characters Discord counts towards the 6,000 total.
    pub fn total_len(&self) -> usize {
        utf16_len(&self.title)
            + utf16_len(&self.description)
            + utf16_len(&self.footer.text)
            + self
                .fields
                .iter()
                .map(|f| utf16_len(&f.name) + utf16_len(&f.value))
                .sum::<usize>()
    }
}

/// Colours per dominant side (Discord embed colour bar).
pub fn colour(side: Option<Side>) -> u32 {
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
    let title = escape_within(&d.title, TITLE_MAX);
    let mut description = String::new();
    for point in &d.key_points {
        let line = format!("• {}\n", escape_within(point, 400));
        if utf16_len(&description) + utf16_len(&line) > DESCRIPTION_MAX - 200 {
            break;
        }
        description.push_str(&line);
    }
    if !description.is_empty() {
        description.push('\n');
    }
    description.push_str(&format!(
        "**{} {} · {} {}**",
        c.articles,
        plural(c.articles, "article", "articles"),
        c.sources,
        plural(c.sources, "source", "sources")
    ));

    let mut fields = Vec::new();
    let mut bias = format!("{}\n{}", emoji_bar(c), c.summary_line());
    if let Some(side) = c.blindspot {
        bias.push_str(&format!(
            "\n⚠️ **Blindspot:** few sources on the {} cover this story",
            side.label()
        ));
    }
    fields.push(field("Bias distribution", &bias));

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
        details.push_str(&format!("Last updated: <t:{}:R>", t.timestamp()));
    }
    fields.push(field("Coverage details", details.trim_end()));

    let lines: Vec<String> = d.headlines.iter().filter_map(headline_line).collect();
    let mut value = String::new();
    for line in &lines {
        let extra = usize::from(!value.is_empty());
        if utf16_len(&value) + extra + utf16_len(line) > FIELD_VALUE_MAX {
            break;
        }
        if extra == 1 {
            value.push('\n');
        }
        value.push_str(line);
    }
    if !value.is_empty() {
        fields.push(field("Top headlines", &value));
    }

    let footer = Footer {
        text: truncate_utf16(
            &format!("Story {} · {}", d.id, RATINGS_ATTRIBUTION),
            FOOTER_MAX,
        ),
    };
    let mut embed = Embed {
        title,
        url: d.link.as_deref().and_then(link_url),
        description: truncate_utf16(&description, DESCRIPTION_MAX),
        color: colour(c.dominant()),
        fields,
        image: Some(Image {
            url: format!("attachment://{BIAS_PNG}"),
        }),
        footer,
        timestamp: c
            .last_updated
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    };
    fit_total(&mut embed);
    embed
}

/// One headline as a markdown line: `[title](url) — Outlet · Lean Left`.
pub fn headline_line(h: &Headline) -> Option<String> {
    let url = link_url(&h.url)?;
    let tag = h.bias.map_or("Unrated", |b| b.label());
    let title = escape_within(&h.title, 300);
    let outlet = escape_within(&h.outlet, 80);
    let line = format!("[{title}]({url}) — {outlet} · {tag}");
    (utf16_len(&line) <= FIELD_VALUE_MAX).then_some(line)
}

pub fn field(name: &str, value: &str) -> Field {
    Field {
        name: truncate_utf16(name, FIELD_NAME_MAX),
        value: truncate_utf16(if value.is_empty() { "—" } else { value }, FIELD_VALUE_MAX),
        inline: false,
    }
}

/// Shrinks an embed to the 6,000 total: headlines first (whole lines), then the description.
fn fit_total(embed: &mut Embed) {
    embed.fields.truncate(FIELDS_MAX);
    while embed.total_len() > EMBED_TOTAL_MAX {
        let over = embed.total_len() - EMBED_TOTAL_MAX;
        if let Some(f) = embed
            .fields
            .iter_mut()
            .rev()
            .find(|f| f.name == "Top headlines")
        {
            match f.value.rfind('\n') {
                Some(i) => {
                    f.value.truncate(i);
                    continue;
                }
                None => {
                    embed.fields.retain(|f| f.name != "Top headlines");
                    continue;
                }
            }
        }
        let keep = utf16_len(&embed.description).saturating_sub(over);
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

/// Ten squares: 🟦 left, ⬜ center, 🟥 right, in proportion (largest remainder).
pub fn emoji_bar(c: &crate::summarise::Coverage) -> String {
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
pub fn scale_to(percent: &[u8; 3], n: usize) -> [usize; 3] {
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

//! Discord's message payloads as types (as twilight-model has them), their kinds as enums,
//! and every Discord limit as a named constant in [`limits`] (as twilight-validate has them).
//! Builders cut text to the limits on grapheme boundaries; they never fail.
//!
//! Nothing here knows about stories: [`crate::digest::embed`] builds a story's message from
//! these, and [`crate::discord`] sends them.

pub mod limits;
pub(crate) mod permissions;

use serde::Serialize;

use crate::text::{truncate_utf16, utf16_len};
use limits::*;

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

impl Message {
    /// A message with just these embeds.
    pub(crate) fn embeds(embeds: Vec<Embed>) -> Message {
        Message {
            embeds,
            allowed_mentions: AllowedMentions::default(),
            attachments: Vec::new(),
            components: Vec::new(),
            flags: None,
        }
    }

    /// Sets the message's component rows, at most [`ACTION_ROWS_MAX`] (the rest are left out).
    pub fn set_components(&mut self, mut rows: Vec<ActionRow>) {
        rows.truncate(ACTION_ROWS_MAX);
        self.components = rows;
    }

    /// Shown only to the user who asked.
    pub(crate) fn ephemeral(mut self) -> Message {
        self.flags = Some(EPHEMERAL);
        self
    }
}

/// A row of up to 5 buttons, or one select menu.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRow {
    #[serde(rename = "type")]
    pub kind: ComponentKind,
    pub components: Vec<Component>,
}

impl ActionRow {
    /// A row of at most [`BUTTONS_PER_ROW_MAX`] components (the rest are left out).
    pub(crate) fn new(mut components: Vec<Component>) -> ActionRow {
        components.truncate(BUTTONS_PER_ROW_MAX);
        ActionRow {
            kind: ComponentKind::ActionRow,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u8")]
pub enum ButtonStyle {
    Primary = 1,
    Secondary = 2,
    Link = 5,
}

impl From<ButtonStyle> for u8 {
    fn from(s: ButtonStyle) -> u8 {
        s as u8
    }
}

/// Component types Discord defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u8")]
pub enum ComponentKind {
    ActionRow = 1,
    Button = 2,
    StringSelect = 3,
}

impl From<ComponentKind> for u8 {
    fn from(k: ComponentKind) -> u8 {
        k as u8
    }
}

/// The interaction responses storybot sends (Discord's callback types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u8")]
pub enum Callback {
    /// A new message as the answer.
    ChannelMessage = 4,
    /// "Thinking...", a new message follows.
    DeferredChannelMessage = 5,
    /// The message whose component was used will be edited.
    DeferredUpdateMessage = 6,
    /// Edits the message whose component was used.
    UpdateMessage = 7,
}

impl From<Callback> for u8 {
    fn from(c: Callback) -> u8 {
        c as u8
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    #[serde(rename = "type")]
    pub kind: ComponentKind,
    pub style: ButtonStyle,
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
    pub(crate) fn action(
        style: ButtonStyle,
        label: &str,
        custom_id: String,
        disabled: bool,
    ) -> Component {
        assert!(
            custom_id.len() <= CUSTOM_ID_MAX,
            "custom_id {custom_id:?} is too long"
        );
        Component::Button(Button {
            kind: ComponentKind::Button,
            style,
            label: truncate_utf16(label, BUTTON_LABEL_MAX),
            custom_id: Some(custom_id),
            url: None,
            disabled,
        })
    }

    /// A button that opens `url`.
    pub(crate) fn link(label: &str, url: String) -> Component {
        Component::Button(Button {
            kind: ComponentKind::Button,
            style: ButtonStyle::Link,
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
    pub kind: ComponentKind,
    pub custom_id: String,
    pub placeholder: String,
    pub options: Vec<SelectOption>,
    pub min_values: u8,
    pub max_values: u8,
}

impl StringSelect {
    /// A single-choice menu (at most 25 options, texts cut to Discord's 100).
    pub(crate) fn single(
        custom_id: String,
        placeholder: &str,
        options: Vec<SelectOption>,
    ) -> Component {
        Component::Select(StringSelect {
            kind: ComponentKind::StringSelect,
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
    pub(crate) fn new(label: &str, value: &str, description: Option<&str>) -> SelectOption {
        SelectOption {
            label: truncate_utf16(label, SELECT_TEXT_MAX),
            value: truncate_utf16(value, SELECT_TEXT_MAX),
            description: description.map(|d| truncate_utf16(d, SELECT_TEXT_MAX)),
        }
    }
}

/// `{"parse": []}`: nobody is pinged, whatever the text says; with `roles`, those roles
/// only (a subscription's role).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct AllowedMentions {
    pub parse: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl AllowedMentions {
    /// Pings `role` and nothing else.
    pub(crate) fn role(role: u64) -> AllowedMentions {
        AllowedMentions {
            parse: Vec::new(),
            roles: vec![role.to_string()],
        }
    }
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
    /// The small image at the top right (a story's lead image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<Image>,
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

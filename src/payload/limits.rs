//! Discord's limits, each a named constant (lengths in UTF-16 code units, which is never less
//! than the character count Discord checks). The OpenAPI description encodes most of them; the
//! 6,000-character total per message it does not.

/// An embed's title.
pub(crate) const TITLE_MAX: usize = 256;
/// An embed's description.
pub(crate) const DESCRIPTION_MAX: usize = 4096;
/// Fields per embed.
pub(crate) const FIELDS_MAX: usize = 25;
pub(crate) const FIELD_NAME_MAX: usize = 256;
pub(crate) const FIELD_VALUE_MAX: usize = 1024;
pub(crate) const FOOTER_MAX: usize = 2048;
/// Every embed of a message together: title, description, field names and values, footer,
/// author name.
pub const EMBED_TOTAL_MAX: usize = 6000;
/// A button's label.
pub(crate) const BUTTON_LABEL_MAX: usize = 80;
/// A component's `custom_id`.
pub(crate) const CUSTOM_ID_MAX: usize = 100;
/// Options of a select menu.
pub(crate) const SELECT_OPTIONS_MAX: usize = 25;
/// A select option's label, value or description, and a menu's placeholder.
pub(crate) const SELECT_TEXT_MAX: usize = 100;
/// Action rows per message, and buttons per row.
pub(crate) const ACTION_ROWS_MAX: usize = 5;
pub(crate) const BUTTONS_PER_ROW_MAX: usize = 5;
/// Autocomplete choices per answer.
pub(crate) const AUTOCOMPLETE_CHOICES_MAX: usize = 25;
/// An autocomplete choice's name (and a string choice's value).
pub(crate) const CHOICE_NAME_MAX: usize = 100;
/// A message's `nonce`.
pub(crate) const NONCE_MAX: usize = 25;
/// A message's `content`.
pub(crate) const CONTENT_MAX: usize = 2000;
/// A thread's (and a forum post's) name, in characters.
pub(crate) const THREAD_NAME_MAX: usize = 100;

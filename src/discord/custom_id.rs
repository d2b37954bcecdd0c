//! Button and menu state, carried in each component's `custom_id` (at most 100 characters)
//! rather than in memory, so a digest posted last week still works after a restart.
//!
//! Format: `sb1:<action>:...`; the version prefix lets a later release change the format and
//! still recognise (and politely refuse) old ids.

use crate::model::{Side, StoryId};

const PREFIX: &str = "sb1";

/// Which headlines a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Side(Side),
}

impl Filter {
    fn code(self) -> &'static str {
        match self {
            Filter::All => "a",
            Filter::Side(Side::Left) => "l",
            Filter::Side(Side::Center) => "c",
            Filter::Side(Side::Right) => "r",
        }
    }

    fn parse(code: &str) -> Option<Filter> {
        Some(match code {
            "a" => Filter::All,
            "l" => Filter::Side(Side::Left),
            "c" => Filter::Side(Side::Center),
            "r" => Filter::Side(Side::Right),
            _ => return None,
        })
    }
}

/// What a pressed button or a chosen menu entry asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A page of a story's headlines. `update` edits the message the button is on (paging
    /// inside the headline list); otherwise a new reply shows the list (from a digest).
    Headlines {
        story: StoryId,
        filter: Filter,
        page: u32,
        update: bool,
    },
    /// The select menu of a story list: the chosen value is a story id.
    OpenStory,
}

impl Action {
    pub fn encode(&self) -> String {
        match self {
            Action::Headlines {
                story,
                filter,
                page,
                update,
            } => format!(
                "{PREFIX}:{}:{}:{}:{page}",
                if *update { "pg" } else { "hl" },
                story.as_str(),
                filter.code()
            ),
            Action::OpenStory => format!("{PREFIX}:open"),
        }
    }

    /// The action of a custom id, or `None` for one this version does not know.
    pub fn parse(id: &str) -> Option<Action> {
        let mut parts = id.split(':');
        if parts.next()? != PREFIX {
            return None;
        }
        let action = match parts.next()? {
            kind @ ("hl" | "pg") => Action::Headlines {
                story: exact_story_id(parts.next()?)?,
                filter: Filter::parse(parts.next()?)?,
                page: page_number(parts.next()?)?,
                update: kind == "pg",
            },
            "open" => Action::OpenStory,
            _ => return None,
        };
        parts.next().is_none().then_some(action)
    }
}

/// A story id exactly as encoded (user input may be trimmed; an id in a `custom_id` is not).
fn exact_story_id(s: &str) -> Option<StoryId> {
    StoryId::parse(s).filter(|id| id.as_str() == s)
}

/// A page number as [`Action::encode`] writes it: digits, no sign, no leading zero, under
/// 10,000. Anything else is not an id this version made.
fn page_number(s: &str) -> Option<u32> {
    let canonical = !s.is_empty()
        && s.len() <= 4
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_fit_discords_limit() {
        let story = StoryId::parse("abcdefghjkmn").expect("a valid id");
        for filter in [
            Filter::All,
            Filter::Side(Side::Left),
            Filter::Side(Side::Center),
            Filter::Side(Side::Right),
        ] {
            for update in [false, true] {
                let a = Action::Headlines {
                    story: story.clone(),
                    filter,
                    page: 9_999,
                    update,
                };
                let id = a.encode();
                assert!(id.len() <= crate::payload::limits::CUSTOM_ID_MAX);
                assert_eq!(Action::parse(&id), Some(a));
            }
        }
        assert_eq!(Action::parse("sb1:open"), Some(Action::OpenStory));
    }

    #[test]
    fn foreign_or_damaged_ids_are_refused() {
        for id in [
            "",
            "sb1",
            "sb0:open",
            "sb1:open:extra",
            "sb1:hl:abcdefgh:x:0",
            "sb1:hl:abcdefgh:a:-1",
            "sb1:hl:abcdefgh:a:99999999999",
            // Found by fuzzing: a page number not as encoded (it parsed, as another id).
            "sb1:hl:n2222222:l:022",
            "sb1:hl:abcdefgh:a:+1",
            "sb1:hl:\rn2222222:l:2222",
            "sb1:hl:no spaces!:a:0",
            "sb1:zz",
        ] {
            assert_eq!(Action::parse(id), None, "{id:?}");
        }
    }
}

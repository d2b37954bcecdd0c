//! A subscription's options: how it posts (channel kind, updates, a role to ping), which
//! stories it lets through (excluded words, a side filter, a minimum of outlets) and how many
//! per day. Parsing checks every value and says, in words for people, what is wrong.

use super::Side;

/// The kind of channel a subscription posts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelKind {
    /// A text or announcement channel (or a thread): messages.
    #[default]
    Text,
    /// A forum: one post (a thread) per story.
    Forum,
}

impl ChannelKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Text => "text",
            ChannelKind::Forum => "forum",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<ChannelKind> {
        [ChannelKind::Text, ChannelKind::Forum]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a story's later updates go in a text channel (in a forum they go into its post).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Updates {
    /// No updates (topics and blindspot alerts post each story once).
    #[default]
    Off,
    /// Replies to the story's post.
    Reply,
    /// In a thread started from the story's post.
    Thread,
}

impl Updates {
    pub(crate) const ALL: [Updates; 3] = [Updates::Off, Updates::Reply, Updates::Thread];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Updates::Off => "off",
            Updates::Reply => "reply",
            Updates::Thread => "thread",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Updates> {
        Updates::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

/// Which stories pass, by the sides covering them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideFilter {
    /// Stories this side barely covers (a blindspot of that side).
    Blindspot(Side),
    /// Stories whose rated outlets are at least this percentage from one side.
    AtLeast(Side, u8),
}

impl SideFilter {
    /// `left blindspot`, `right-blindspot`, `right 40`, `center:30%`, `left >= 25%`
    /// (case-insensitive).
    pub fn parse(s: &str) -> Result<SideFilter, String> {
        let bad = || {
            format!(
                "`{}` is not a side filter: use `left blindspot` or `right blindspot` (stories \
                 that side barely covers), or a side and a share, e.g. `right 40%`.",
                crate::text::truncate_chars(s.trim(), 40)
            )
        };
        let lower = s.trim().to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| c.is_whitespace() || matches!(c, ':' | '-' | '>' | '='))
            .filter(|w| !w.is_empty())
            .collect();
        let [side, rest] = words.as_slice() else {
            return Err(bad());
        };
        let side = match *side {
            "left" => Side::Left,
            "center" | "centre" => Side::Center,
            "right" => Side::Right,
            _ => return Err(bad()),
        };
        if *rest == "blindspot" {
            if side == Side::Center {
                return Err(
                    "The center has no blindspot: use `left blindspot` or `right \
                            blindspot`."
                        .into(),
                );
            }
            return Ok(SideFilter::Blindspot(side));
        }
        let share: u8 = rest.trim_end_matches('%').parse().map_err(|_| bad())?;
        if !(1..=100).contains(&share) {
            return Err(format!(
                "A side's share is a percentage from 1 to 100, not {share}."
            ));
        }
        Ok(SideFilter::AtLeast(side, share))
    }

    /// Whether a story with these per-side percentages (summing to 100, or all zero when no
    /// outlet is rated) and this blindspot passes.
    pub(crate) fn passes(self, percent: &[u8; 3], blindspot: Option<Side>) -> bool {
        match self {
            SideFilter::Blindspot(side) => blindspot == Some(side),
            SideFilter::AtLeast(side, share) => percent[side as usize] >= share,
        }
    }

    /// As people write it (and as it is stored): `right blindspot`, `left 40%`.
    pub fn text(self) -> String {
        match self {
            SideFilter::Blindspot(side) => format!("{} blindspot", side.label().to_lowercase()),
            SideFilter::AtLeast(side, share) => {
                format!("{} {share}%", side.label().to_lowercase())
            }
        }
    }
}

/// The most words `exclude` may list, and their longest.
pub const EXCLUDE_WORDS_MAX: usize = 10;
const EXCLUDE_WORD_CHARS: usize = 40;
/// The highest `max_per_day`.
pub const MAX_PER_DAY_MAX: i64 = 100;

/// Words that keep a story out when its title or key points contain one (whole words,
/// case-insensitive): `poll, polls` or `poll polls`.
pub fn parse_exclude(s: &str) -> Result<Vec<String>, String> {
    let mut words: Vec<String> = Vec::new();
    for w in s.split(|c: char| c == ',' || c.is_whitespace()) {
        let w = w.trim().to_lowercase();
        if w.is_empty() {
            continue;
        }
        if w.chars().count() > EXCLUDE_WORD_CHARS || !w.chars().all(char::is_alphanumeric) {
            return Err(format!(
                "`{}` cannot be excluded: give whole words of letters and digits, up to {} \
                 characters each, separated by commas or spaces.",
                crate::text::truncate_chars(&w, EXCLUDE_WORD_CHARS),
                EXCLUDE_WORD_CHARS
            ));
        }
        if !words.contains(&w) {
            words.push(w);
        }
    }
    if words.len() > EXCLUDE_WORDS_MAX {
        return Err(format!(
            "Exclude at most {EXCLUDE_WORDS_MAX} words ({} given).",
            words.len()
        ));
    }
    Ok(words)
}

/// A subscription's options. The default posts every match, pings nobody, and posts no
/// updates of a topic's stories.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostOptions {
    /// The role pinged on each post.
    pub role: Option<u64>,
    /// Stories whose title or key points contain one of these words are left out.
    pub exclude: Vec<String>,
    pub side: Option<SideFilter>,
    /// Outlets a story needs first (0: any).
    pub min_sources: i64,
    /// Posts per day (UTC) before the rest wait for the next day's short list (0: no limit).
    pub max_per_day: i64,
    pub updates: Updates,
}

impl PostOptions {
    /// Whether a story with this text (title and key points), outlet count, per-side
    /// percentages and blindspot passes the filters.
    pub(crate) fn passes(
        &self,
        text: &str,
        sources: i64,
        percent: &[u8; 3],
        blindspot: Option<Side>,
    ) -> bool {
        sources >= self.min_sources
            && self.side.is_none_or(|f| f.passes(percent, blindspot))
            && !contains_any_word(text, &self.exclude)
    }

    /// The options in words, for `/subscriptions` (empty when all are defaults).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.min_sources > 0 {
            out.push(format!("{}+ sources", self.min_sources));
        }
        if let Some(side) = self.side {
            out.push(format!("side: {}", side.text()));
        }
        if !self.exclude.is_empty() {
            out.push(format!("excluding {}", self.exclude.join(", ")));
        }
        if self.max_per_day > 0 {
            out.push(format!("at most {} a day", self.max_per_day));
        }
        if self.updates != Updates::Off {
            out.push(format!("updates: {}", self.updates.as_str()));
        }
        if let Some(role) = self.role {
            out.push(format!("pings <@&{role}>"));
        }
        out
    }
}

/// Whether `text` has one of `words` (lowercase) as a whole word, case-insensitively.
fn contains_any_word(text: &str, words: &[String]) -> bool {
    if words.is_empty() {
        return false;
    }
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| {
            let w = w.to_lowercase();
            words.contains(&w)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_filters_parse_in_the_ways_people_write_them() {
        assert_eq!(
            SideFilter::parse("Left blindspot"),
            Ok(SideFilter::Blindspot(Side::Left))
        );
        assert_eq!(
            SideFilter::parse("right-blindspot"),
            Ok(SideFilter::Blindspot(Side::Right))
        );
        assert_eq!(
            SideFilter::parse("right 40%"),
            Ok(SideFilter::AtLeast(Side::Right, 40))
        );
        assert_eq!(
            SideFilter::parse("center>=30"),
            Ok(SideFilter::AtLeast(Side::Center, 30))
        );
        for bad in [
            "",
            "left",
            "up 30",
            "right 0",
            "right 101",
            "center blindspot",
            "l 3 4",
        ] {
            assert!(SideFilter::parse(bad).is_err(), "{bad}");
        }
        for f in [
            SideFilter::Blindspot(Side::Right),
            SideFilter::AtLeast(Side::Left, 25),
        ] {
            assert_eq!(SideFilter::parse(&f.text()), Ok(f));
        }
    }

    #[test]
    fn filters_keep_out_what_they_name() {
        let o = PostOptions {
            exclude: parse_exclude("poll, Polls").unwrap(),
            side: Some(SideFilter::AtLeast(Side::Right, 40)),
            min_sources: 3,
            ..PostOptions::default()
        };
        assert!(o.passes("Election day: turnout high", 3, &[20, 30, 50], None));
        assert!(!o.passes("Election POLL shows a tie", 3, &[20, 30, 50], None));
        // Whole words only: "pollen" is not "poll".
        assert!(o.passes("Election pollen count", 3, &[20, 30, 50], None));
        assert!(!o.passes("Election day", 2, &[20, 30, 50], None));
        assert!(!o.passes("Election day", 3, &[50, 30, 20], None));
        let b = SideFilter::Blindspot(Side::Right);
        assert!(b.passes(&[80, 20, 0], Some(Side::Right)));
        assert!(!b.passes(&[80, 20, 0], None));
    }

    #[test]
    fn exclude_words_are_bounded() {
        assert_eq!(
            parse_exclude(" poll  polls,poll ").unwrap(),
            ["poll", "polls"]
        );
        assert!(parse_exclude("<@&1>").is_err());
        assert!(parse_exclude(&"a ".repeat(11).replace("a a", "a b")).is_ok());
        let eleven: Vec<String> = (0..11).map(|i| format!("w{i}")).collect();
        assert!(parse_exclude(&eleven.join(" ")).is_err());
        assert!(parse_exclude(&"x".repeat(41)).is_err());
    }
}

//! Text helpers shared by the stages: bounded clean-up of untrusted text, truncation on
//! grapheme boundaries, tokenising for matching and search, sentence splitting.

use unicode_segmentation::UnicodeSegmentation;

/// The ellipsis appended to shortened text.
pub(crate) const ELLIPSIS: char = '…';

/// Collapses whitespace, removes control and invisible formatting characters, trims, and
/// bounds the result to `max_chars` characters (shortened with an ellipsis).
pub(crate) fn clean(input: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_chars * 4));
    let mut pending_space = false;
    for c in input.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        // Stop early on huge input; the final truncation adds the ellipsis.
        if out.len() > max_chars * 4 + 8 {
            break;
        }
    }
    truncate_chars(&out, max_chars)
}

/// Zero-width and bidirectional controls that have no business in a headline.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Shortens `s` to at most `max` characters (Unicode scalar values), cutting on a grapheme
/// boundary and ending with an ellipsis when anything was cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    truncate_by(s, max, |g| g.chars().count())
}

/// Shortens `s` to at most `max` UTF-16 code units, as Discord counts, on a grapheme boundary.
pub(crate) fn truncate_utf16(s: &str, max: usize) -> String {
    truncate_by(s, max, |g| g.encode_utf16().count())
}

/// Length in UTF-16 code units (what Discord's limits count).
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn truncate_by(s: &str, max: usize, len: impl Fn(&str) -> usize) -> String {
    if len(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - 1; // room for the ellipsis
    let mut used = 0;
    let mut out = String::new();
    for g in s.graphemes(true) {
        let l = len(g);
        if used + l > budget {
            break;
        }
        used += l;
        out.push_str(g);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push(ELLIPSIS);
    out
}

/// Words of `s` for matching: lower case, letters and digits only, split on anything else.
pub(crate) fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Content words: [`words`] without stop words and one-letter words.
pub(crate) fn content_words(s: &str) -> impl Iterator<Item = String> + '_ {
    words(s).filter(|w| w.chars().count() > 1 && !is_stop_word(w))
}

/// A short English stop-word list (function words that say nothing about the event).
pub(crate) fn is_stop_word(w: &str) -> bool {
    // Sorted: looked up by binary search.
    const STOP: &[&str] = &[
        "a", "about", "after", "again", "against", "all", "also", "am", "amp", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "between", "both", "but",
        "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
        "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
        "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "latest", "live", "me",
        "more", "most", "my", "new", "news", "no", "nor", "not", "now", "of", "off", "on", "once",
        "only", "or", "other", "our", "out", "over", "own", "photos", "report", "s", "said",
        "same", "says", "she", "should", "so", "some", "such", "t", "than", "that", "the", "their",
        "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
        "until", "up", "update", "us", "very", "video", "was", "watch", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
        "your",
    ];
    STOP.binary_search(&w).is_ok()
}

/// The lead of a text: all of it when it has at most `max_chars` characters, else its
/// sentences that fit in `max_chars` (at least the first `max_chars` characters' worth when
/// no sentence ends in the second half).
pub fn lead(s: &str, max_chars: usize) -> &str {
    let Some((cut, _)) = s.char_indices().nth(max_chars) else {
        return s;
    };
    let head = &s[..cut];
    let end = head
        .rmatch_indices(['.', '!', '?'])
        .map(|(i, _)| i + 1)
        .find(|&i| s[i..].starts_with(char::is_whitespace))
        .filter(|&i| i >= cut / 2);
    &s[..end.unwrap_or(cut)]
}

/// Splits prose into sentences (on `.`, `!`, `?` followed by a space and an upper-case
/// letter, digit or quote), trimmed, dropping fragments of fewer than three words.
pub fn sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut start = 0;
    for i in 0..chars.len() {
        let (pos, c) = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let after = chars.get(i + 2).map(|&(_, c)| c);
        let boundary = next.is_some_and(char::is_whitespace)
            && after.is_some_and(|a| {
                a.is_uppercase() || a.is_numeric() || matches!(a, '"' | '“' | '\'')
            });
        // "U.S. officials" and "Mr. Smith": a one-letter or title word before the dot.
        let prev_word: String = s[start..pos]
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_string();
        let abbreviation = prev_word.chars().filter(|c| c.is_alphabetic()).count() <= 1
            || is_title_abbreviation(&prev_word)
            || (is_month_abbreviation(&prev_word) && after.is_some_and(|a| a.is_ascii_digit()));
        if boundary && !abbreviation {
            push_sentence(&mut out, &s[start..=pos]);
            start = pos + c.len_utf8();
        }
    }
    push_sentence(&mut out, &s[start..]);
    out
}

/// A title written short before a name ("Gov. Greg Abbott"): never a sentence's end.
fn is_title_abbreviation(word: &str) -> bool {
    matches!(
        word.trim_start_matches(['(', '"', '“', '\'']),
        "Mr" | "Mrs"
            | "Ms"
            | "Dr"
            | "St"
            | "Jr"
            | "Sr"
            | "Gov"
            | "Sen"
            | "Sens"
            | "Rep"
            | "Reps"
            | "Gen"
            | "Lt"
            | "Col"
            | "Maj"
            | "Capt"
            | "Sgt"
            | "Cpl"
            | "Adm"
            | "Cmdr"
            | "Det"
            | "Insp"
            | "Supt"
            | "Prof"
            | "Rev"
            | "Hon"
            | "Atty"
            | "Mt"
            | "Ft"
    )
}

/// A month written short, which ends no sentence before a day ("the Jan. 6 attack").
fn is_month_abbreviation(word: &str) -> bool {
    let word = word.trim_start_matches(['(', '"', '“', '\'']);
    month_stem(&word.to_ascii_lowercase()).is_some()
}

/// The stem of the month an abbreviation names ("sept" → "septemb"), when it names one.
pub(crate) fn month_stem(abbreviation: &str) -> Option<&'static str> {
    Some(match abbreviation {
        "jan" => "januari",
        "feb" => "februari",
        "mar" => "march",
        "apr" => "april",
        "jun" => "june",
        "jul" => "juli",
        "aug" => "august",
        "sep" | "sept" => "septemb",
        "oct" => "octob",
        "nov" => "novemb",
        "dec" => "decemb",
        _ => return None,
    })
}

fn push_sentence(out: &mut Vec<String>, s: &str) {
    let s = s.trim();
    if s.split_whitespace().count() >= 3 {
        out.push(s.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lead_ends_at_a_sentence_that_fits() {
        let t = "One two three. Four five six. Seven eight nine.";
        assert_eq!(lead(t, 100), t);
        assert_eq!(lead(t, 32), "One two three. Four five six.");
        // No sentence end in the second half: the characters that fit.
        assert_eq!(lead("Ééééééééééé, é.", 5), "Ééééé");
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(is_stop_word("the") && is_stop_word("with") && !is_stop_word("senate"));
    }

    #[test]
    fn clean_strips_controls_and_bounds_length() {
        assert_eq!(clean("  a\u{0}b\n\t c\u{202E}d  ", 100), "ab cd");
        let long = "x".repeat(10_000);
        let c = clean(&long, 50);
        assert_eq!(c.chars().count(), 50);
        assert!(c.ends_with(ELLIPSIS));
    }

    #[test]
    fn truncation_respects_graphemes_and_utf16() {
        let family = "👨‍👩‍👧"; // one grapheme, 8 UTF-16 units
        let s = format!("ab{family}{family}");
        let t = truncate_utf16(&s, 12);
        assert!(utf16_len(&t) <= 12, "{t}");
        assert_eq!(t, format!("ab{family}…"));
        assert_eq!(truncate_chars("héllo wörld", 6), "héllo…");
        assert_eq!(truncate_chars("short", 6), "short");
    }

    #[test]
    fn sentences_split_on_real_boundaries_only() {
        let s = sentences("U.S. officials met on Monday. Talks resumed in Geneva! Why now? Because of Mr. Smith and others.");
        assert_eq!(
            s,
            vec![
                "U.S. officials met on Monday.",
                "Talks resumed in Geneva!",
                "Because of Mr. Smith and others."
            ]
        );
        // A month before its day, and a title before a name, end nothing; a month at a
        // sentence's end does.
        let s = sentences(
            "A committee will investigate the Jan. 6 attack, Sgt. Ruiz said. It first meets in Oct. The vote is Tuesday.",
        );
        assert_eq!(
            s,
            vec![
                "A committee will investigate the Jan. 6 attack, Sgt. Ruiz said.",
                "It first meets in Oct.",
                "The vote is Tuesday."
            ]
        );
    }
}

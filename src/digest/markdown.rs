//! Discord markdown safety for untrusted text (headlines, outlet names, key points).
//!
//! [`escape`] makes text render literally: markdown characters are backslash-escaped, so a
//! headline cannot open bold, a code block or a masked link, and `@everyone`, `@here` and
//! `<@&id>` lose their meaning (a zero-width space after `@`; `<` escaped). Messages also set
//! `allowed_mentions` to parse nothing, so even a missed case cannot ping. [`link_url`] makes
//! a URL safe inside `[text](url)`.

use crate::text;

/// Characters that Discord markdown gives meaning to.
const SPECIAL: &[char] = &[
    '\\', '*', '_', '~', '`', '|', '[', ']', '(', ')', '<', '>', '#', ':',
];

/// Escapes `s` so that Discord shows it literally and it mentions no one.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut at_line_start = true;
    for c in s.chars() {
        match c {
            '\n' | '\r' => {
                out.push(' ');
                at_line_start = false;
                continue;
            }
            '@' => {
                out.push('@');
                out.push('\u{200B}');
            }
            '-' | '+' if at_line_start => {
                out.push('\\');
                out.push(c);
            }
            c if SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        at_line_start = false;
    }
    out
}

/// Escapes and shortens to at most `max` UTF-16 units, never leaving a dangling backslash.
pub(crate) fn escape_within(s: &str, max: usize) -> String {
    let escaped = escape(s);
    if text::utf16_len(&escaped) <= max {
        return escaped;
    }
    // The longest raw prefix whose escaped form fits (escaping at most doubles the length).
    let (mut lo, mut hi) = (0usize, max);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if text::utf16_len(&escape(&text::truncate_utf16(s, mid))) <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    escape(&text::truncate_utf16(s, lo))
}

/// The URL as it may stand in a markdown link target, or `None` when it is not http(s).
/// Characters that would end or break the link are percent-encoded.
pub(crate) fn link_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for c in parsed.as_str().chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '[' => out.push_str("%5B"),
            ']' => out.push_str("%5D"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '`' => out.push_str("%60"),
            '*' => out.push_str("%2A"),
            '_' => out.push('_'),
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
    (out.len() <= 2048).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injection_is_neutralised() {
        assert_eq!(escape("@everyone look"), "@\u{200B}everyone look");
        assert_eq!(escape("<@&123>"), "\\<@\u{200B}&123\\>");
        assert_eq!(
            escape("a](http://evil) `x` **b**"),
            "a\\]\\(http\\://evil\\) \\`x\\` \\*\\*b\\*\\*"
        );
        assert_eq!(escape("- item"), "\\- item");
        assert_eq!(escape("line\nbreak"), "line break");
    }

    #[test]
    fn escape_within_never_exceeds_or_dangles() {
        let s = "*".repeat(100);
        let e = escape_within(&s, 51);
        assert!(text::utf16_len(&e) <= 51, "{}", e.len());
        // Whole escapes only: every star keeps its backslash, then the ellipsis.
        assert!(e.ends_with("\\*…"), "{e}");
        assert_eq!(e.matches('\\').count(), e.matches('*').count());
    }

    #[test]
    fn link_urls_cannot_break_out() {
        assert_eq!(
            link_url("https://a.example/x_(y)").as_deref(),
            Some("https://a.example/x_%28y%29")
        );
        assert_eq!(link_url("javascript:alert(1)"), None);
    }
}

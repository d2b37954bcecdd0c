//! Headlines as a story title: without the wire service's prefixes ("UPDATE 3-",
//! "EXCLUSIVE:"), section labels ("WATCH:", "Opinion |") or the outlet's own name at the end
//! ("... - Reuters"), and recognised as opinion when the label or the article's address says
//! so, so that a news headline is preferred as a story's title.

/// Labels that open a headline and are not part of it, upper-cased, in the forms wires and
/// sites write them: followed by `-`, `:`, `|` or a dash.
const LABELS: &[&str] = &[
    "ANALYSIS",
    "BREAKING",
    "BREAKING NEWS",
    "CORRECTED",
    "DEVELOPING",
    "EXCLUSIVE",
    "FACTBOX",
    "INSIGHT",
    "JUST IN",
    "LIVE",
    "LIVE UPDATES",
    "PHOTOS",
    "REFILE",
    "UPDATE",
    "UPDATED",
    "VIDEO",
    "WATCH",
];

/// Labels that mark an opinion piece.
const OPINION_LABELS: &[&str] = &[
    "COLUMN",
    "COMMENTARY",
    "EDITORIAL",
    "OP-ED",
    "OPINION",
    "OUR VIEW",
    "PERSPECTIVE",
    "VIEWPOINT",
];

/// Path segments of opinion sections.
const OPINION_SECTIONS: &[&str] = &[
    "column",
    "columnists",
    "columns",
    "commentary",
    "editorial",
    "editorials",
    "op-ed",
    "oped",
    "opinion",
    "opinions",
    "perspectives",
];

/// A headline made ready to title a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Headline {
    pub(crate) text: String,
    /// An opinion piece, by its label or its address.
    pub(crate) opinion: bool,
    /// Cut short by the feed ("... deadly ignition ..."): not a whole sentence.
    pub(crate) truncated: bool,
}

/// Cleans an article's headline: outlet suffix, then leading labels (several may stack:
/// "UPDATE 2-EXCLUSIVE-..."), and notes whether it is opinion.
pub(crate) fn clean(title: &str, outlet: &str, url: &str) -> Headline {
    let mut text = strip_outlet_suffix(title, outlet);
    let mut opinion = is_opinion_url(url);
    for _ in 0..3 {
        match strip_label(&text) {
            Some((rest, is_opinion)) => {
                opinion |= is_opinion;
                text = rest.to_string();
            }
            None => break,
        }
    }
    let truncated = text.ends_with("...") || text.ends_with('…');
    Headline {
        text,
        opinion,
        truncated,
    }
}

/// A headline as a digest lists it: without the outlet's name or a wire's labels, but with an
/// opinion label, which tells the reader what the piece is.
pub(crate) fn for_display(title: &str, outlet: &str) -> String {
    let mut text = strip_outlet_suffix(title, outlet);
    for _ in 0..3 {
        match strip_label(&text) {
            Some((rest, false)) => text = rest.to_string(),
            _ => break,
        }
    }
    text
}

/// `"UPDATE 3-Talks resume"` → `("Talks resume", false)`; `"Opinion: Why..."` → opinion.
/// None when the headline opens with no known label (or the label is all there is).
fn strip_label(s: &str) -> Option<(&str, bool)> {
    // The label is what comes before the first colon, bar or dash ("Op-Ed: ..."), or else
    // before the first hyphen in the wire style ("UPDATE 1-...", the label in capitals).
    [s.find([':', '|', '–', '—']), s.find('-')]
        .into_iter()
        .flatten()
        .find_map(|cut| label_at(s, cut))
}

/// The rest of `s` and whether it is opinion, if `s[..cut]` is a label.
fn label_at(s: &str, cut: usize) -> Option<(&str, bool)> {
    let (label, rest) = (s[..cut].trim(), &s[cut..]);
    if label.is_empty() || label.split_whitespace().count() > 4 {
        return None;
    }
    let upper = label.to_uppercase();
    // "UPDATE 3": a wire's revision number after the label.
    let base = upper.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ');
    let opinion = OPINION_LABELS.contains(&base);
    if !opinion && !LABELS.contains(&base) {
        return None;
    }
    // "Live-streamed ...": a hyphenated word, not a label.
    if rest.starts_with('-') && label != upper {
        return None;
    }
    let rest = rest
        .trim_start_matches([':', '|', '-', '–', '—'])
        .trim_start();
    (!rest.is_empty()).then_some((rest, opinion))
}

fn is_opinion_url(url: &str) -> bool {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.split('/')
        .any(|segment| OPINION_SECTIONS.contains(&segment.to_ascii_lowercase().as_str()))
}

/// `"Talks resume - Reuters"` → `"Talks resume"`; also `|` and `:` separators.
pub(crate) fn strip_outlet_suffix(title: &str, outlet: &str) -> String {
    let key = crate::outlets::name_key(outlet);
    for sep in [" - ", " | ", " — ", " – ", ": "] {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let tail_key = crate::outlets::name_key(tail);
            if !head.trim().is_empty()
                && !tail_key.is_empty()
                && (tail_key == key || key.contains(&tail_key) || tail_key.contains(&key))
            {
                return head.trim().to_string();
            }
        }
    }
    title.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(title: &str) -> String {
        clean(title, "Reuters", "https://reuters.example/world/x").text
    }

    #[test]
    fn wire_prefixes_and_labels_go() {
        assert_eq!(
            text("UPDATE 3-Talks resume in Geneva"),
            "Talks resume in Geneva"
        );
        assert_eq!(
            text("UPDATE 2-EXCLUSIVE-Talks resume in Geneva"),
            "Talks resume in Geneva"
        );
        assert_eq!(text("EXCLUSIVE: Talks resume"), "Talks resume");
        assert_eq!(text("WATCH: Talks resume"), "Talks resume");
        assert_eq!(text("Breaking News | Talks resume"), "Talks resume");
        assert_eq!(
            text("Talks resume in Geneva - Reuters"),
            "Talks resume in Geneva"
        );
    }

    #[test]
    fn listed_headlines_keep_their_opinion_label() {
        assert_eq!(
            for_display("UPDATE 1-Talks resume - Reuters", "Reuters"),
            "Talks resume"
        );
        assert_eq!(
            for_display("Opinion: Talks will fail", "Post"),
            "Opinion: Talks will fail"
        );
    }

    #[test]
    fn words_that_look_like_labels_stay() {
        assert_eq!(
            text("Live-streamed talks draw millions"),
            "Live-streamed talks draw millions"
        );
        assert_eq!(text("Update: "), "Update:");
        assert_eq!(text("Biden: talks will resume"), "Biden: talks will resume");
        assert_eq!(
            text("Watch dogs - the new craze sweeping cities"),
            "Watch dogs - the new craze sweeping cities"
        );
    }

    #[test]
    fn opinion_is_known_by_label_or_address() {
        let h = clean(
            "Opinion: Why the talks will fail",
            "Post",
            "https://p.example/news/1",
        );
        assert_eq!(h.text, "Why the talks will fail");
        assert!(h.opinion);
        assert!(clean("Op-Ed: The talks", "Post", "https://p.example/1").opinion);
        assert!(
            clean(
                "Why the talks will fail",
                "Post",
                "https://p.example/opinion/2024/1"
            )
            .opinion
        );
        assert!(
            !clean(
                "Talks fail",
                "Post",
                "https://p.example/world/opinion-poll-1"
            )
            .opinion
        );
        assert!(!clean("Talks fail", "Post", "https://opinion.example/world/1").opinion);
    }
}

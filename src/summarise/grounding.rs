//! The grounding check for written key points: a point may only state names, numbers and
//! quotations that the articles it cites contain. Checked in code, never trusted to the writer
//! (a language model, see issue 12): a point that fails is dropped, with the reason.
//!
//! - **Citations**: at least one, each the number of a source (1-based).
//! - **Names**: capitalised words inside a sentence and words in capitals ("NATO", "McConnell",
//!   "Kyiv") must appear in a cited source, compared stemmed and case-blind ("Democrats" is
//!   supported by "Democratic"). A sentence's first word is a name only in capitals, as any
//!   sentence starts with a capital.
//! - **Numbers**: every number ("1,400", "$1.9", "15,000", "2021", "3.5%") must appear in a cited
//!   source as the same value ("1400" and "1,400" are one number; "1.90" is "1.9").
//! - **Quotations**: text between quotation marks must appear verbatim in a cited source,
//!   compared case-blind with punctuation and spacing normalised.
//!
//! The check is linear in the text of the point and its sources.

use rustc_hash::FxHashSet as HashSet;

/// A source a point may cite: an article's headline and the text the writer was given.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

/// A written key point and the sources it cites (1-based, as numbered for the writer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub text: String,
    pub citations: Vec<usize>,
}

/// Why a point is not grounded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ungrounded {
    #[error("cites no source")]
    NoCitation,
    #[error("cites source {0}, which does not exist")]
    UnknownSource(usize),
    #[error("names {0:?}, which no cited source has")]
    Name(String),
    #[error("states the number {0}, which no cited source has")]
    Number(String),
    #[error("quotes {0:?}, which no cited source says")]
    Quote(String),
}

/// The check, with what it knows of English: which words are common words (seen mostly in
/// lower case in the news), so that a headline in Title Case is read right ("Voice" in
/// "Moderate Democrats Voice Concern" is no name).
#[derive(Debug, Default, Clone)]
pub struct Grounding {
    common: HashSet<String>,
}

impl Grounding {
    /// A check that knows these lower-case words as common words.
    pub fn new(common: impl IntoIterator<Item = String>) -> Grounding {
        Grounding {
            common: common.into_iter().collect(),
        }
    }

    /// Checks one point against the sources it cites.
    pub fn check(&self, point: &Point, sources: &[Source<'_>]) -> Result<(), Ungrounded> {
        check(point, sources, &self.common)
    }

    /// The names and numbers of `text` that a source must support, as written: what the check
    /// looks at (for measuring it).
    pub fn checked_terms(&self, text: &str) -> Vec<String> {
        Token::scan(text, &self.common)
            .into_iter()
            .filter_map(|t| match t {
                Token::Name(raw, _) | Token::Number(raw, _) => Some(raw),
                // A sentence's first word is a name only by the sources' evidence.
                Token::Initial(..) => None,
            })
            .collect()
    }
}

fn check(
    point: &Point,
    sources: &[Source<'_>],
    common: &HashSet<String>,
) -> Result<(), Ungrounded> {
    if point.citations.is_empty() {
        return Err(Ungrounded::NoCitation);
    }
    if let Some(&bad) = point
        .citations
        .iter()
        .find(|&&n| n == 0 || n > sources.len())
    {
        return Err(Ungrounded::UnknownSource(bad));
    }
    let cited: Vec<&Source<'_>> = point.citations.iter().map(|&n| &sources[n - 1]).collect();
    let evidence = Evidence::of(&cited);
    for quote in quotations(&point.text) {
        if !evidence.text.contains(&normalise(&quote)) {
            return Err(Ungrounded::Quote(quote));
        }
    }
    for token in Token::scan(&point.text, common) {
        match token {
            Token::Number(raw, value) if !evidence.numbers.contains(&value) => {
                return Err(Ungrounded::Number(raw));
            }
            Token::Name(raw, stem) if !evidence.supports(&raw, &stem) => {
                return Err(Ungrounded::Name(raw));
            }
            Token::Initial(raw, stem, lower)
                if !evidence.lower.contains(&lower)
                    && !common.contains(&lower)
                    && !evidence.supports_name(&stem) =>
            {
                return Err(Ungrounded::Name(raw));
            }
            _ => {}
        }
    }
    Ok(())
}

/// What the cited sources say: their words (stemmed, lower case), numbers, and normalised text.
struct Evidence {
    words: HashSet<String>,
    /// Words the sources write in lower case.
    lower: HashSet<String>,
    /// The initials of the sources' multi-word names ("aca" for "Affordable Care Act").
    initialisms: HashSet<String>,
    numbers: HashSet<String>,
    text: String,
}

impl Evidence {
    /// A name as written and stemmed: its stem, a shorter form of it, or (in capitals) the
    /// initials of a name in the sources.
    fn supports(&self, raw: &str, stem: &str) -> bool {
        self.supports_name(stem) || (is_all_caps(raw) && self.initialisms.contains(stem))
    }

    /// A name's stem, or a shorter form of it ("asian" by "asia", "iranians" by "iran").
    fn supports_name(&self, stem: &str) -> bool {
        let chars: Vec<(usize, char)> = stem.char_indices().collect();
        let shortest = chars.len().saturating_sub(3).max(4);
        self.words.contains(stem)
            || (shortest..chars.len()).any(|k| self.words.contains(&stem[..chars[k].0]))
    }

    fn of(sources: &[&Source<'_>]) -> Evidence {
        let stemmer = stemmer();
        let mut words = HashSet::default();
        let mut lower = HashSet::default();
        let mut numbers = HashSet::default();
        let mut initialisms = HashSet::default();
        let mut text = String::new();
        for s in sources {
            for part in [s.title, s.text] {
                let part_words: Vec<&str> = split_words(part).collect();
                initialisms.extend(initials_of_runs(&part_words));
                for (i, &w) in part_words.iter().enumerate() {
                    match number_value(w) {
                        Some(v) => {
                            if let Some(scaled) = scaled(&v, part_words.get(i + 1).copied()) {
                                numbers.insert(scaled);
                            }
                            numbers.insert(v);
                        }
                        None => {
                            words.insert(stem(&stemmer, w));
                            if w.chars().next().is_some_and(char::is_lowercase) {
                                lower.insert(w.to_string());
                            }
                        }
                    }
                }
                text.push_str(&normalise(part));
                text.push_str(" | ");
            }
        }
        Evidence {
            words,
            lower,
            initialisms,
            numbers,
            text,
        }
    }
}

/// A word of a point that must be supported.
enum Token {
    /// (as written, stemmed lower case)
    Name(String, String),
    /// A capitalised word opening a sentence: a name unless the sources write it in lower case
    /// ("The", "Prosecutors"). (as written, stemmed lower case, lower case)
    Initial(String, String, String),
    /// (as written, normalised value)
    Number(String, String),
}

impl Token {
    /// The names and numbers of a point, in order. Of a run of capitalised words ("President
    /// Donald Trump") only the last is checked: first names and titles before a supported
    /// surname are fine. In a headline written in Title Case, where capitals say little, a
    /// capitalised common word is no name.
    fn scan(text: &str, common: &HashSet<String>) -> Vec<Token> {
        let stemmer = stemmer();
        let words: Vec<(&str, bool)> = words_with_ends(text).collect();
        let title_case = is_title_case(&words);
        let mut out = Vec::new();
        let mut sentence_start = true;
        for (i, &(w, ends_sentence)) in words.iter().enumerate() {
            let name = |w: &str, start: bool| {
                if title_case {
                    is_all_caps(w)
                        || (w.chars().next().is_some_and(char::is_uppercase)
                            && !common.contains(&w.to_lowercase())
                            && !crate::text::is_stop_word(&w.to_lowercase()))
                } else {
                    is_name(w, start)
                }
            };
            if let Some(v) = number_value(w) {
                // "3.3 million" is 3300000, as "3,300,000" would be.
                let next = words.get(i + 1).map(|(n, _)| *n);
                let value = scaled(&v, next).unwrap_or(v);
                out.push(Token::Number(w.to_string(), value));
            } else if sentence_start
                && !title_case
                && w.chars().next().is_some_and(char::is_uppercase)
                && !is_all_caps(w)
                && !crate::text::is_stop_word(&w.to_lowercase())
            {
                out.push(Token::Initial(
                    w.to_string(),
                    stem(&stemmer, w),
                    w.to_lowercase(),
                ));
            } else if name(w, sentence_start) {
                let run_goes_on = !title_case
                    && !ends_sentence
                    && words.get(i + 1).is_some_and(|&(next, _)| {
                        number_value(next).is_none() && name(next, false)
                    });
                if !run_goes_on || is_all_caps(w) {
                    out.push(Token::Name(w.to_string(), stem(&stemmer, w)));
                }
            }
            sentence_start = ends_sentence;
        }
        out
    }
}

/// Most words capitalised, as headlines in Title Case are.
fn is_title_case(words: &[(&str, bool)]) -> bool {
    let alphabetic: Vec<&str> = words
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
        .collect();
    let capitalised = alphabetic
        .iter()
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .count();
    alphabetic.len() >= 4 && capitalised * 10 >= alphabetic.len() * 7
}

fn is_all_caps(w: &str) -> bool {
    let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
}

fn stemmer() -> rust_stemmers::Stemmer {
    rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)
}

fn stem(stemmer: &rust_stemmers::Stemmer, w: &str) -> String {
    // "U.S." and "US" are one name.
    let lower = w.to_lowercase().replace('.', "");
    let lower = lower
        .strip_suffix("'s")
        .or_else(|| lower.strip_suffix("’s"))
        .unwrap_or(&lower);
    stemmer.stem(lower).into_owned()
}

/// A capitalised word inside a sentence, or a word in capitals anywhere.
fn is_name(w: &str, sentence_start: bool) -> bool {
    let capitalised = w.chars().next().is_some_and(char::is_uppercase);
    is_all_caps(w)
        || (capitalised && !sentence_start && !crate::text::is_stop_word(&w.to_lowercase()))
}

/// Words: letters, digits and the marks inside them (`1,400`, `3.5`, `O'Brien`, `U.S.`).
fn split_words(s: &str) -> impl Iterator<Item = &str> {
    words_with_ends(s).map(|(w, _)| w)
}

/// Words, each with whether a sentence ends after it.
fn words_with_ends(s: &str) -> impl Iterator<Item = (&str, bool)> {
    s.split_whitespace().filter_map(|raw| {
        let ends = raw
            .trim_end_matches(['"', '”', '’', '\'', ')'])
            .ends_with(['.', '!', '?', ':']);
        let w = raw.trim_matches(|c: char| !c.is_alphanumeric());
        (!w.is_empty()).then_some((w, ends))
    })
}

/// The value of a number word (`"1,400"` → `"1400"`, `"1.90"` → `"1.9"`, `"3.5%"` → `"3.5"`),
/// or `None` when the word is not a number (`"COVID-19"` is a name, `"2nd"` an ordinal).
fn number_value(w: &str) -> Option<String> {
    let digits = w.trim_start_matches('$').trim_end_matches('%');
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    {
        return None;
    }
    let plain: String = digits.chars().filter(|&c| c != ',').collect();
    let value = match plain.split_once('.') {
        Some((int, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                int.to_string()
            } else {
                format!("{int}.{frac}")
            }
        }
        None => plain,
    };
    let value = value.trim_start_matches('0');
    Some(if value.is_empty() || value.starts_with('.') {
        format!("0{value}")
    } else {
        value.to_string()
    })
}

/// The value of `value` followed by a scale word ("million"), if it is.
fn scaled(value: &str, next: Option<&str>) -> Option<String> {
    let factor = match next?.to_ascii_lowercase().as_str() {
        "thousand" => 1e3,
        "million" => 1e6,
        "billion" => 1e9,
        "trillion" => 1e12,
        _ => return None,
    };
    let v: f64 = value.parse().ok()?;
    let product = (v * factor).round();
    (product.is_finite() && product < 1e18).then(|| format!("{}", product as u64))
}

/// The initials of each run of two or more capitalised words (lower-case function words such as
/// "of" and "and" may join a run): "Customs and Border Protection" gives "cbp".
fn initials_of_runs(words: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    let mut flush = |run: &mut String| {
        if run.chars().count() >= 2 {
            out.push(std::mem::take(run));
        }
        run.clear();
    };
    for w in words {
        let first = w.chars().next();
        if first.is_some_and(char::is_uppercase) {
            run.extend(first.map(|c| c.to_ascii_lowercase()));
        } else if run.is_empty() || !crate::text::is_stop_word(w) {
            flush(&mut run);
        }
    }
    flush(&mut run);
    out
}

/// Text between quotation marks (straight or curly), of at least two words.
fn quotations(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    for (i, c) in s.char_indices() {
        match (c, open) {
            ('“', _) => open = Some(i + c.len_utf8()),
            ('"', None) => open = Some(i + 1),
            ('”' | '"', Some(start)) => {
                let q = s[start..i].trim();
                if q.split_whitespace().count() >= 2 {
                    out.push(q.to_string());
                }
                open = None;
            }
            _ => {}
        }
    }
    out
}

/// Lower case, letters and digits, single spaces: what "verbatim" compares.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: [Source<'static>; 2] = [
        Source {
            title: "House passes Biden COVID-19 bill with $1,400 checks",
            text: "The House passed the $1.9 trillion bill on Wednesday. Speaker Nancy Pelosi \
                   called it \"a historic step for working families\".",
        },
        Source {
            title: "Democrats celebrate relief package",
            text: "Democratic leaders said 85% of households would get checks.",
        },
    ];

    fn check(point: &Point, sources: &[Source<'_>]) -> Result<(), Ungrounded> {
        Grounding::new(["voice".to_string(), "concern".to_string()]).check(point, sources)
    }

    fn point(text: &str, citations: &[usize]) -> Point {
        Point {
            text: text.to_string(),
            citations: citations.to_vec(),
        }
    }

    #[test]
    fn a_point_stating_what_its_sources_say_passes() {
        let p = point(
            "The House passed Biden's $1.90 trillion COVID-19 bill, with checks of 1400 dollars.",
            &[1],
        );
        assert_eq!(check(&p, &SOURCES), Ok(()));
        let p = point("Democrats say 85% of households get checks.", &[2]);
        assert_eq!(check(&p, &SOURCES), Ok(()));
        let p = point(
            "Pelosi called it “A historic step for working families.”",
            &[1, 2],
        );
        assert_eq!(check(&p, &SOURCES), Ok(()));
    }

    #[test]
    fn invented_names_numbers_and_quotes_fail() {
        let p = point("The House passed the bill, Speaker McCarthy said.", &[1]);
        assert_eq!(
            check(&p, &SOURCES),
            Err(Ungrounded::Name("McCarthy".into()))
        );
        let p = point("The House passed a $2.1 trillion bill.", &[1]);
        assert_eq!(check(&p, &SOURCES), Err(Ungrounded::Number("2.1".into())));
        let p = point("Pelosi called it \"a step for families\".", &[1]);
        assert!(matches!(check(&p, &SOURCES), Err(Ungrounded::Quote(_))));
        // Supported, but only by a source the point does not cite.
        let p = point("The bill gives 85% of households checks.", &[1]);
        assert_eq!(check(&p, &SOURCES), Err(Ungrounded::Number("85".into())));
        let p = point("Democrats say households get checks.", &[1]);
        assert_eq!(
            check(&p, &SOURCES),
            Err(Ungrounded::Name("Democrats".into()))
        );
    }

    #[test]
    fn title_case_headlines_check_names_not_common_words() {
        let p = point("Democrats Voice Concern Over $1,400 Checks", &[1, 2]);
        assert_eq!(check(&p, &SOURCES), Ok(()));
        let p = point("Democrats Voice Concern Over McCarthy Checks", &[1, 2]);
        assert_eq!(
            check(&p, &SOURCES),
            Err(Ungrounded::Name("McCarthy".into()))
        );
    }

    #[test]
    fn an_invented_name_opening_a_sentence_fails_but_ordinary_words_do_not() {
        let p = point("Zorblax passed the bill.", &[1]);
        assert_eq!(check(&p, &SOURCES), Err(Ungrounded::Name("Zorblax".into())));
        let p = point("Checks of $1,400 were passed by the House.", &[1]);
        assert_eq!(check(&p, &SOURCES), Ok(()));
    }

    #[test]
    fn acronyms_and_scale_words_are_understood() {
        let sources = [Source {
            title: "Court hears Affordable Care Act case",
            text: "Customs and Border Protection counted 3,300,000 crossings.",
        }];
        let p = point("The ACA is before the court.", &[1]);
        assert_eq!(check(&p, &sources), Ok(()));
        let p = point("CBP counted 3.3 million crossings.", &[1]);
        assert_eq!(check(&p, &sources), Ok(()));
        let p = point("The FBI counted 3.4 million crossings.", &[1]);
        assert_eq!(check(&p, &sources), Err(Ungrounded::Name("FBI".into())));
    }

    #[test]
    fn citations_must_exist() {
        assert_eq!(
            check(&point("The House passed it.", &[]), &SOURCES),
            Err(Ungrounded::NoCitation)
        );
        assert_eq!(
            check(&point("The House passed it.", &[3]), &SOURCES),
            Err(Ungrounded::UnknownSource(3))
        );
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(number_value("1,400").as_deref(), Some("1400"));
        assert_eq!(number_value("$1.90").as_deref(), Some("1.9"));
        assert_eq!(number_value("3.0%").as_deref(), Some("3"));
        assert_eq!(number_value("COVID-19"), None);
        assert_eq!(number_value("2nd"), None);
    }
}

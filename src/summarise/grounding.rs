//! The grounding check for written key points: a point may only state names, numbers and
//! quotations that the articles it cites contain. Checked in code, never trusted to the writer
//! (a language model, see [`crate::llm`]): a point that fails is dropped, with the reason.
//!
//! - **Citations**: at least one, each the number of a source (1-based).
//! - **Names**: capitalised words inside a sentence and words in capitals ("NATO", "McConnell",
//!   "Kyiv") must appear in a cited source, compared stemmed and case-blind ("Democrats" is
//!   supported by "Democratic"). A run of capitalised words is checked whole: its last word
//!   that is not an ordinary word must be a name of the sources ("Trump" of "President Donald
//!   Trump", "Iraq" of "Iraq War"), and every other word of the run must stand with it in the
//!   sources' runs of capitalised words that hold it, so a shortening of a name the sources
//!   give passes ("Secretary Mnuchin", "Steven Mnuchin" by "Treasury Secretary Steven
//!   Mnuchin") and a different first name, title or department does not ("Treasury Monty
//!   Mnuchin", "the Wall Department").
//!   Ordinary words are learnt from the news ([`Grounding::learn`]: written in lower case at
//!   least as often as capitalised), so a sentence's first word, a lone capitalised ordinary
//!   word ("the Right") and the words of a Title Case headline are names only when the stream
//!   says so. Titles ("Sen.") and initials ("L.", "(D)") state nothing; capitals may be the
//!   initials of a name in the sources ("CBP"), a US postal code of a state in them ("IL"), or
//!   a common alias ("GOP" for Republicans); "Sept." is September.
//! - **Numbers**: every number ("1,400", "$1.9", "15,000", "2021", "3.5%") must appear in a cited
//!   source as the same value ("1400" and "1,400" are one number; "1.90" is "1.9"; "3.3
//!   million" is 3300000).
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
    #[error("holds {0}, which a key point never carries")]
    Markup(&'static str),
}

/// What a written sentence must not carry, whatever its sources say: a link, a mention or
/// markup that a reader could take for the digest's own (`None`: plain text).
pub fn markup(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    let www = lower.split_whitespace().any(|w| {
        w.trim_start_matches(|c: char| !c.is_alphanumeric())
            .starts_with("www.")
    });
    if lower.contains("://") || www {
        return Some("a URL");
    }
    if text.contains("](") {
        return Some("a markdown link");
    }
    // Discord's mentions and tags: <@id>, <@&role>, <#channel>, </command:id>, <:emoji:id>,
    // <t:time>; @everyone, @here and any @handle.
    let tag = ["<@", "<#", "</", "<:", "<a:", "<t:"]
        .iter()
        .any(|t| text.contains(t));
    let bytes = text.as_bytes();
    let at = bytes
        .windows(2)
        .any(|w| w[0] == b'@' && (w[1].is_ascii_alphanumeric() || w[1] == b'&' || w[1] == b'!'));
    if tag || at {
        return Some("a mention");
    }
    None
}

/// The check, with what it knows of English from the news it has read: which words are
/// ordinary words, written in lower case at least as often as capitalised inside a sentence
/// (compared by stem: "Backfires" by "backfired"), so that a headline in Title Case is read
/// right ("Voice" in "Moderate Democrats Voice Concern" is no name) and an ordinary word
/// opening a sentence ("Detractors said") is no name, while a name the sources lack
/// ("Zorblax said") still is.
#[derive(Debug, Default, Clone)]
pub struct Grounding {
    vocabulary: Vocabulary,
}

#[derive(Debug, Default, Clone)]
struct Vocabulary {
    /// Stems of ordinary words.
    ordinary: HashSet<String>,
}

impl Grounding {
    /// A check that knows these lower-case words as ordinary words.
    pub fn new(ordinary: impl IntoIterator<Item = String>) -> Grounding {
        let stemmer = stemmer();
        let ordinary = ordinary.into_iter().map(|w| stem(&stemmer, &w)).collect();
        Grounding {
            vocabulary: Vocabulary { ordinary },
        }
    }

    /// A check that learns its words from `texts` (articles' titles and text): how often each
    /// word's stem is written in lower case and capitalised inside a sentence. Linear in the
    /// text.
    pub fn learn<'a>(texts: impl IntoIterator<Item = &'a str>) -> Grounding {
        let stemmer = stemmer();
        let mut seen: rustc_hash::FxHashMap<String, (u32, u32)> = Default::default();
        for text in texts {
            for sentence in text.split(['.', '!', '?', '\n']) {
                for w in sentence.split_whitespace().skip(1) {
                    let w = w.trim_matches(|c: char| !c.is_alphabetic());
                    let Some(first) = w.chars().next() else {
                        continue;
                    };
                    let e = seen.entry(stem(&stemmer, w)).or_default();
                    if first.is_uppercase() {
                        e.1 += 1;
                    } else {
                        e.0 += 1;
                    }
                }
            }
        }
        let ordinary = seen
            .into_iter()
            .filter(|(_, (lower, caps))| *lower >= 1 && lower >= caps)
            .map(|(w, _)| w)
            .collect();
        Grounding {
            vocabulary: Vocabulary { ordinary },
        }
    }

    /// Checks one point against the sources it cites.
    pub fn check(&self, point: &Point, sources: &[Source<'_>]) -> Result<(), Ungrounded> {
        check(point, sources, &self.vocabulary)
    }

    /// Whether the check reads `word` as an ordinary word, not a name, when it opens a
    /// sentence (for measuring it: a name swapped in must be a name).
    pub fn is_ordinary_word(&self, word: &str) -> bool {
        self.vocabulary.ordinary.contains(&stem(&stemmer(), word))
    }

    /// The names and numbers of `text` that a source must support, as written: what the check
    /// looks at (for measuring it).
    pub fn checked_terms(&self, text: &str) -> Vec<String> {
        Token::scan(text, &self.vocabulary.ordinary)
            .into_iter()
            .filter_map(|t| match t {
                Token::Name(raw, _) | Token::Number(raw, _) => Some(raw),
                // Its last name, and the rest with it.
                Token::Run {
                    anchor: (raw, _), ..
                } => Some(raw),
                // A sentence's first word is a name only by the sources' evidence.
                Token::Initial(..) => None,
            })
            .collect()
    }
}

fn check(point: &Point, sources: &[Source<'_>], words: &Vocabulary) -> Result<(), Ungrounded> {
    if let Some(what) = markup(&point.text) {
        return Err(Ungrounded::Markup(what));
    }
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
    for token in Token::scan(&point.text, &words.ordinary) {
        match token {
            Token::Number(raw, value) if !evidence.numbers.contains(&value) => {
                return Err(Ungrounded::Number(raw));
            }
            Token::Name(raw, stem) if !evidence.supports(&raw, &stem) => {
                return Err(Ungrounded::Name(raw));
            }
            Token::Run {
                anchor: (raw, stem),
                words,
            } if !evidence.supports(&raw, &stem) || !evidence.supports_run(&stem, &words) => {
                let whole: Vec<&str> = words.iter().map(|(raw, _, _)| raw.as_str()).collect();
                return Err(Ungrounded::Name(whole.join(" ")));
            }
            Token::Initial(raw, stem, lower)
                if !evidence.lower.contains(&lower)
                    && !words.ordinary.contains(&stem)
                    && !is_adverb(&lower)
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
    /// The sources' words in order, stemmed, each with the number of its clause (a sentence,
    /// or its part between commas, brackets or dashes); titles and initials left out.
    stream: Vec<(String, u32)>,
    /// Where each stem stands in `stream`.
    at: rustc_hash::FxHashMap<String, Vec<u32>>,
}

/// Words either side of a name that may stand in a point's run with it ("Treasury Secretary
/// Steven" before "Mnuchin"; "administration" after "Biden").
const BEFORE: usize = 6;
const AFTER: usize = 3;
/// Words (stemmed) that end what may stand with a name: "Trump said the department" is no
/// name, nor "Joe Trump" of "Joe Biden and President Trump".
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "had", "has", "in", "is", "of", "on", "or",
    "said", "say", "that", "the", "to", "was", "who", "with",
];

impl Evidence {
    /// A run of capitalised words, whole: every word of it stands beside its name (`anchor`,
    /// its last word that is not an ordinary word) in a clause of the sources, in any case
    /// ("Secretary Mnuchin" and "Steven Mnuchin" by "Treasury Secretary Steven Mnuchin" or by
    /// "Treasury secretary Steven Mnuchin"; not "Treasury Monty Mnuchin", nor "Barack
    /// Mnuchin" when Barack is another name of the sources). A run of ordinary words ("White
    /// House") stands in the sources as it is. A name the sources do not write as a word (an
    /// alias, initials) leaves the run to the word checks.
    fn supports_run(&self, anchor: &str, words: &[(String, String, bool)]) -> bool {
        let Some(k) = words.iter().rposition(|(_, _, ordinary)| !ordinary) else {
            return self.has_sequence(words);
        };
        let places = self.places(anchor);
        if places.is_empty() {
            return true;
        }
        // The words before the name stand before it in the sources, the words after it after
        // it ("Amy Supreme Barrett" is no name of "Amy Coney Barrett to the Supreme Court").
        let (before, after) = (&words[..k], &words[k + 1..]);
        let stands = |words: &[(String, String, bool)], side: fn(&Evidence, usize) -> Vec<&str>| {
            words.iter().all(|(_, stem, _)| {
                places
                    .iter()
                    .any(|&i| side(self, i).into_iter().any(|w| same_name(w, stem)))
            })
        };
        stands(before, Evidence::before) && stands(after, Evidence::after)
    }

    /// Where a stem, or a shorter form of it, stands in the sources.
    fn places(&self, stem: &str) -> Vec<usize> {
        let chars: Vec<(usize, char)> = stem.char_indices().collect();
        let shortest = chars.len().saturating_sub(3).max(4).min(chars.len());
        let forms =
            std::iter::once(stem).chain((shortest..chars.len()).map(|k| &stem[..chars[k].0]));
        forms
            .filter_map(|f| self.at.get(f))
            .flatten()
            .map(|&i| i as usize)
            .filter(|&i| i < self.stream.len())
            .collect()
    }

    /// The words of the clause before position `i`, at most [`BEFORE`], back to a function
    /// word ("President Trump" of "Joe Biden and President Trump"; not "Joe Trump").
    fn before(&self, i: usize) -> Vec<&str> {
        let clause = self.stream[i].1;
        self.stream[i.saturating_sub(BEFORE)..i]
            .iter()
            .rev()
            .take_while(|(w, c)| *c == clause && !FUNCTION_WORDS.contains(&w.as_str()))
            .map(|(w, _)| w.as_str())
            .collect()
    }

    /// The words of the clause after position `i`, at most [`AFTER`], up to a function word
    /// ("Biden administration officials"; not "Trump said the department").
    fn after(&self, i: usize) -> Vec<&str> {
        let clause = self.stream[i].1;
        self.stream[i + 1..(i + 1 + AFTER).min(self.stream.len())]
            .iter()
            .take_while(|(w, c)| *c == clause && !FUNCTION_WORDS.contains(&w.as_str()))
            .map(|(w, _)| w.as_str())
            .collect()
    }

    /// Whether the words stand in this order, one after another, in a clause of the sources.
    fn has_sequence(&self, words: &[(String, String, bool)]) -> bool {
        let Some((_, first, _)) = words.first() else {
            return true;
        };
        self.places(first).into_iter().any(|i| {
            let clause = self.stream[i].1;
            words.iter().enumerate().all(|(k, (_, stem, _))| {
                self.stream
                    .get(i + k)
                    .is_some_and(|(w, c)| *c == clause && same_name(w, stem))
            })
        })
    }

    /// A name as written and stemmed: its stem, a shorter form of it, or (in capitals) the
    /// initials of a name in the sources.
    fn supports(&self, raw: &str, stem: &str) -> bool {
        self.supports_name(stem)
            || (is_all_caps(raw) && self.initialisms.contains(stem))
            || crate::text::month_stem(stem).is_some_and(|m| self.words.contains(m))
            || alias(stem).is_some_and(|a| self.words.contains(a))
            || (is_all_caps(raw) && state(stem).is_some_and(|s| self.words.contains(s)))
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
        let mut stream: Vec<(String, u32)> = Vec::new();
        let mut clause = 0u32;
        for s in sources {
            for part in [s.title, s.text] {
                for w in words_with_ends(part) {
                    // A title's or an initial's full stop ends no sentence.
                    let abbreviation =
                        is_title_or_initial(w.text) && number_value(w.text).is_none();
                    if let Some(full) = title_word(w.text) {
                        stream.push((stem(&stemmer, full), clause));
                    } else if !abbreviation {
                        stream.push((stem(&stemmer, w.text), clause));
                    }
                    if (w.ends_sentence && !abbreviation) || w.apart {
                        clause += 1;
                    }
                }
                clause += 1;
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
            at: positions(&stream),
            stream,
        }
    }
}

/// Where each stem stands in a stream of stems.
fn positions(stream: &[(String, u32)]) -> rustc_hash::FxHashMap<String, Vec<u32>> {
    let mut at: rustc_hash::FxHashMap<String, Vec<u32>> = Default::default();
    for (i, (w, _)) in stream.iter().enumerate() {
        at.entry(w.clone())
            .or_default()
            .push(u32::try_from(i).unwrap_or(u32::MAX));
    }
    at
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
    /// A run of two or more capitalised words ("Treasury Secretary Steven Mnuchin"), checked
    /// whole: its last uncommon word (as written, stemmed: "Mnuchin") must be supported as a
    /// name is, and its words (as written, stemmed, whether an ordinary word) must stand
    /// together in the sources.
    Run {
        anchor: (String, String),
        words: Vec<(String, String, bool)>,
    },
}

impl Token {
    /// The names and numbers of a point, in order. Of a run of capitalised words ("President
    /// Donald Trump") only the last is checked: first names and titles before a supported
    /// surname are fine. In a headline written in Title Case, where capitals say little, a
    /// capitalised common word is no name.
    fn scan(text: &str, ordinary: &HashSet<String>) -> Vec<Token> {
        let stemmer = stemmer();
        let tokens = words_with_ends(text);
        let words: Vec<(&str, bool)> = tokens.iter().map(|w| (w.text, w.ends_sentence)).collect();
        let title_case = is_title_case(&words);
        let name = |w: &str, start: bool| {
            if title_case {
                is_all_caps(w)
                    || (w.chars().next().is_some_and(char::is_uppercase)
                        && !ordinary.contains(&stem(&stemmer, w))
                        && !crate::text::is_stop_word(&w.to_lowercase()))
            } else {
                is_name(w, start)
            }
        };
        let mut out = Vec::new();
        let mut sentence_start = true;
        // The word of the current run of capitalised words to check: its last uncommon word
        // ("Iraq" of "Iraq War"; "Trump" of "President Donald Trump").
        // A run of one ordinary word ("the Right", "The Truth about") is no name.
        let mut run: Option<&str> = None;
        let mut run_words: Vec<&str> = Vec::new();
        let flush = |run: &mut Option<&str>, run_words: &mut Vec<&str>, out: &mut Vec<Token>| {
            if let Some(w) = run.take() {
                let stemmed = stem(&stemmer, w);
                if run_words.len() > 1 {
                    let words = run_words
                        .iter()
                        .map(|w| {
                            let s = stem(&stemmer, title_word(w).unwrap_or(w));
                            let common = ordinary.contains(&s);
                            (w.to_string(), s, common)
                        })
                        .collect();
                    out.push(Token::Run {
                        anchor: (w.to_string(), stemmed),
                        words,
                    });
                } else if !ordinary.contains(&stemmed) {
                    out.push(Token::Name(w.to_string(), stemmed));
                }
            }
            run_words.clear();
        };
        for (i, &(w, ends_sentence)) in words.iter().enumerate() {
            if is_title_or_initial(w) && number_value(w).is_none() {
                // "Sharon L.", "(D)", "Mr.": no fact of their own; "Gov.", "Sen.", "Dr.": the
                // title of the name that follows. Their full stop ends no sentence.
                let before_name = words.get(i + 1).is_some_and(|&(next, _)| {
                    !is_all_caps(next) && !is_title_or_initial(next) && name(next, false)
                });
                if title_word(w).is_some() && before_name && !title_case {
                    run_words.push(w);
                    sentence_start = false;
                }
                // "World War I, World War II" are two names.
                if tokens[i].apart {
                    flush(&mut run, &mut run_words, &mut out);
                }
                continue;
            }
            let capitalised = w.chars().next().is_some_and(char::is_uppercase);
            // A weekday or a month is a name of its own ("Tuesday morning").
            let alone = is_date_word(w);
            let apart = tokens[i].apart || alone;
            let next_is_name = !ends_sentence
                && !apart
                && words.get(i + 1).is_some_and(|&(next, _)| {
                    number_value(next).is_none()
                        && !is_all_caps(next)
                        && !is_date_word(next)
                        && name(next, false)
                });
            // A sentence opening with a run of names ("Anthony Fauci said") checks the run.
            let opens_run = sentence_start
                && !title_case
                && capitalised
                && next_is_name
                && !crate::text::is_stop_word(&w.to_lowercase())
                && !ordinary.contains(&stem(&stemmer, w));
            let in_run = number_value(w).is_none()
                && !is_all_caps(w)
                && (opens_run || ((title_case || !sentence_start) && name(w, sentence_start)));
            // In a Title Case headline a run ends at an ordinary word ("Biden Meets Putin").
            if !in_run || alone {
                flush(&mut run, &mut run_words, &mut out);
            }
            if let Some(v) = number_value(w) {
                // "3.3 million" is 3300000, as "3,300,000" would be.
                let next = words.get(i + 1).map(|(n, _)| *n);
                let value = scaled(&v, next).unwrap_or(v);
                out.push(Token::Number(w.to_string(), value));
            } else if is_all_caps(w) {
                out.push(Token::Name(w.to_string(), stem(&stemmer, w)));
            } else if sentence_start
                && !title_case
                && !opens_run
                && capitalised
                && !crate::text::is_stop_word(&w.to_lowercase())
            {
                out.push(Token::Initial(
                    w.to_string(),
                    stem(&stemmer, w),
                    w.to_lowercase(),
                ));
            } else if in_run {
                run_words.push(w);
                if run.is_none() || !ordinary.contains(&stem(&stemmer, w)) {
                    run = Some(w);
                }
            }
            if ends_sentence || apart {
                flush(&mut run, &mut run_words, &mut out);
            }
            sentence_start = ends_sentence;
        }
        flush(&mut run, &mut run_words, &mut out);
        out
    }
}

/// Whether two stems are one name, or one a shorter form of the other of at least four
/// letters ("iran" and "iranian").
fn same_name(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    a == b || (short.len() >= 4 && long.len() <= short.len() + 3 && long.starts_with(short))
}

/// Whether a word names a weekday or a month.
fn is_date_word(w: &str) -> bool {
    const DAYS: &[&str] = &[
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    const MONTHS: &[&str] = &[
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = w.to_lowercase();
    w.chars().next().is_some_and(char::is_uppercase)
        && (DAYS.contains(&lower.as_str()) || MONTHS.contains(&lower.as_str()))
}

/// A sentence adverb ("Conversely,", "Additionally,"): no name, whatever the stream says.
fn is_adverb(lower: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "ally", "ately", "edly", "ersely", "ingly", "ively", "ntly", "ously", "arly",
    ];
    SUFFIXES
        .iter()
        .any(|s| lower.len() > s.len() + 2 && lower.ends_with(s))
}

/// Another name for the same thing, by stem: "GOP" is the Republican party.
fn alias(stem: &str) -> Option<&'static str> {
    Some(match stem {
        "gop" => "republican",
        "covid-19" | "covid19" | "covid" => "coronavirus",
        "scotus" => "suprem",
        "potus" => "presid",
        "doj" => "justic",
        _ => return None,
    })
}

fn is_prefix(part: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "anti", "co", "ex", "mid", "multi", "non", "post", "pre", "pro", "re", "self", "un",
    ];
    PREFIXES.contains(&part.to_ascii_lowercase().as_str())
}

/// The stem of the state a US postal code names ("IL" → "illinoi"), as in "(D-IL)".
fn state(code: &str) -> Option<&'static str> {
    const STATES: &[(&str, &str)] = &[
        ("al", "alabama"),
        ("ak", "alaska"),
        ("az", "arizona"),
        ("ar", "arkansa"),
        ("ca", "california"),
        ("co", "colorado"),
        ("ct", "connecticut"),
        ("de", "delawar"),
        ("fl", "florida"),
        ("ga", "georgia"),
        ("hi", "hawaii"),
        ("id", "idaho"),
        ("il", "illinoi"),
        ("in", "indiana"),
        ("ia", "iowa"),
        ("ks", "kansa"),
        ("ky", "kentucki"),
        ("la", "louisiana"),
        ("me", "main"),
        ("md", "maryland"),
        ("ma", "massachusett"),
        ("mi", "michigan"),
        ("mn", "minnesota"),
        ("ms", "mississippi"),
        ("mo", "missouri"),
        ("mt", "montana"),
        ("ne", "nebraska"),
        ("nv", "nevada"),
        ("nh", "hampshir"),
        ("nj", "jersey"),
        ("nm", "mexico"),
        ("ny", "york"),
        ("nc", "carolina"),
        ("nd", "dakota"),
        ("oh", "ohio"),
        ("ok", "oklahoma"),
        ("or", "oregon"),
        ("pa", "pennsylvania"),
        ("ri", "rhode"),
        ("sc", "carolina"),
        ("sd", "dakota"),
        ("tn", "tennesse"),
        ("tx", "texa"),
        ("ut", "utah"),
        ("vt", "vermont"),
        ("va", "virginia"),
        ("wa", "washington"),
        ("wv", "virginia"),
        ("wi", "wisconsin"),
        ("wy", "wyom"),
    ];
    STATES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

/// The word an abbreviated title before a name stands for ("Sen." is a senator), checked
/// with the name it comes with; `None` for the rest ("Mr.", "Jr.", an initial).
fn title_word(w: &str) -> Option<&'static str> {
    Some(match w.to_ascii_lowercase().as_str() {
        "col" => "colonel",
        "dr" => "doctor",
        "gen" => "general",
        "gov" => "governor",
        "lt" => "lieutenant",
        "prof" => "professor",
        "rep" | "reps" => "representative",
        "rev" => "reverend",
        "sen" | "sens" => "senator",
        "sgt" => "sergeant",
        _ => return None,
    })
}

/// A title before a name ("Gov", "Sen", "Dr") or a single letter (a middle initial, a party
/// in brackets): no word of a name (a title's word is checked with it, see [`title_word`]).
fn is_title_or_initial(w: &str) -> bool {
    const TITLES: &[&str] = &[
        "col", "dr", "gen", "gov", "jr", "lt", "mr", "mrs", "ms", "prof", "rep", "reps", "rev",
        "sen", "sens", "sgt", "sr", "st",
    ];
    w.chars().count() == 1 || TITLES.contains(&w.to_ascii_lowercase().as_str())
}

/// Most words capitalised, as headlines in Title Case are.
fn is_title_case(words: &[(&str, bool)]) -> bool {
    // Title Case leaves short function words ("to", "of", "from") in lower case.
    let alphabetic: Vec<&str> = words
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
        .filter(|w| !crate::text::is_stop_word(&w.to_lowercase()) && !is_title_or_initial(w))
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
    words_with_ends(s).into_iter().map(|w| w.text)
}

/// A word of a text and what follows it.
#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    /// A sentence ends after it.
    ends_sentence: bool,
    /// A name cannot go on past it: punctuation after it (a comma, a semicolon, a bracket, a
    /// dash), a possessive ("Barrett's Supreme Court"), or a hyphen or slash joining it to the
    /// next ("China-Hong Kong").
    apart: bool,
}

/// The words of a text, in order.
fn words_with_ends(s: &str) -> Vec<Word<'_>> {
    let mut out: Vec<Word<'_>> = Vec::new();
    for raw in s.split_whitespace() {
        let closed = raw.trim_end_matches(['"', '”', '’', '\'', ')', ']']);
        let ends = closed.ends_with(['.', '!', '?', ':']);
        let punctuated = raw.ends_with([',', ';', ':', ')', ']', '—', '–'])
            || closed.ends_with([',', ';', ':'])
            || closed.len() < raw.len();
        // A bracket or a dash before this word ends the name before it.
        if raw.starts_with(['(', '[', '—', '–']) || raw == "-" {
            if let Some(last) = out.last_mut() {
                last.apart = true;
            }
        }
        let w = raw.trim_matches(|c: char| !c.is_alphanumeric());
        // "Oxford/AstraZeneca" and "Virus-Fueled" are two words each; "COVID-19" and "4-3"
        // stay one.
        let split: &[char] = if w.contains(|c: char| c.is_ascii_digit()) {
            &['/']
        } else {
            &['/', '-', '–']
        };
        let parts: Vec<&str> = w
            .split(split)
            .map(|p| p.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|p| !p.is_empty())
            .collect();
        // A prefix ("Re-open", "Co-founder") is no word of its own.
        let parts: Vec<&str> = if parts.len() > 1 {
            parts.into_iter().filter(|p| !is_prefix(p)).collect()
        } else {
            parts
        };
        let last = parts.len().saturating_sub(1);
        for (i, p) in parts.into_iter().enumerate() {
            let possessive = p.ends_with("'s") || p.ends_with("’s");
            out.push(Word {
                text: p,
                ends_sentence: ends && i == last,
                apart: i < last || (i == last && punctuated) || possessive,
            });
        }
    }
    out
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
    fn links_mentions_and_markdown_are_refused_whatever_the_sources_say() {
        for (text, what) in [
            (
                "The House passed the bill, see https://evil.example/x.",
                "a URL",
            ),
            ("The House passed the bill (www.evil.example).", "a URL"),
            (
                "The House passed [the bill](https://evil.example).",
                "a URL",
            ),
            ("The House passed [the bill](evil).", "a markdown link"),
            ("The House passed the bill, @everyone.", "a mention"),
            (
                "The House passed the bill, <@123456789012345678> said.",
                "a mention",
            ),
            ("The House passed the bill <#123> <@&456>.", "a mention"),
        ] {
            assert_eq!(
                check(&point(text, &[1]), &SOURCES),
                Err(Ungrounded::Markup(what)),
                "{text}"
            );
        }
        assert_eq!(
            markup("The House passed the $1.9 trillion bill on Wednesday."),
            None
        );
        assert_eq!(markup("Prices rose 3% <5% expected>."), None);
    }

    #[test]
    fn invented_names_numbers_and_quotes_fail() {
        let p = point("The House passed the bill, Speaker McCarthy said.", &[1]);
        assert_eq!(
            check(&p, &SOURCES),
            Err(Ungrounded::Name("Speaker McCarthy".into()))
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
            Err(Ungrounded::Name("McCarthy Checks".into()))
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
    fn learnt_words_tell_ordinary_sentence_openers_from_names() {
        let stream = "The senators saw detractors. Many detractors spoke. The Congress met. \
                      The Congress voted. A congress of doctors met. Then Congress left.";
        let grounding = Grounding::learn([stream]);
        let p = point("Detractors said the bill passed.", &[1]);
        assert_eq!(grounding.check(&p, &SOURCES), Ok(()));
        // Mostly capitalised in the stream: a name, which the sources lack.
        let p = point("Congress passed the bill.", &[1]);
        assert_eq!(
            grounding.check(&p, &SOURCES),
            Err(Ungrounded::Name("Congress".into()))
        );
    }

    #[test]
    fn titles_initials_months_and_runs_are_read_as_news_writes_them() {
        let sources = [Source {
            title: "Iraq veteran honoured",
            text: "Nancy Pelosi spoke on September 3 about the Iraq war.",
        }];
        // An initial and a party state nothing; "Sept." is September; of "Iraq War" the
        // uncommon word is checked.
        let p = point(
            "On Sept. 3, Nancy L. Pelosi (D) spoke about the veterans of the war.",
            &[1],
        );
        assert_eq!(check(&p, &sources), Ok(()));
        let p = point("Pelosi remembered the Iraq War.", &[1]);
        assert_eq!(check(&p, &sources), Ok(()));
        // A title is a fact: "Sen." is a senator, which these sources never call her.
        let p = point("Sen. Pelosi remembered the war.", &[1]);
        assert_eq!(
            check(&p, &sources),
            Err(Ungrounded::Name("Sen Pelosi".into()))
        );
        let senator = [Source {
            title: "Senator Nancy Pelosi spoke",
            text: "",
        }];
        assert_eq!(check(&p, &senator), Ok(()));
        let p = point("Speaker Nancy Pelosi spoke about the war.", &[1]);
        assert_eq!(
            check(&p, &sources),
            Err(Ungrounded::Name("Speaker Nancy Pelosi".into()))
        );
        // A sentence opening with a full name checks the surname.
        let p = point("Nancy D. Pelosi spoke about the war.", &[1]);
        assert_eq!(check(&p, &sources), Ok(()));
        let p = point("Nancy Zorblax spoke about the war.", &[1]);
        assert_eq!(
            check(&p, &sources),
            Err(Ungrounded::Name("Nancy Zorblax".into()))
        );
        let p = point("On Oct. 3, Pelosi spoke.", &[1]);
        assert_eq!(check(&p, &sources), Err(Ungrounded::Name("Oct".into())));
        let p = point("Pelosi remembered the Korean War.", &[1]);
        assert_eq!(
            check(&p, &sources),
            Err(Ungrounded::Name("Korean War".into()))
        );
        // Title Case with its function words in lower case is still Title Case.
        let p = point("Pelosi Preparing to Pull Back from Iraq", &[1]);
        assert_eq!(
            Grounding::new([
                "back".to_string(),
                "pull".to_string(),
                "preparing".to_string()
            ])
            .check(&p, &sources),
            Ok(())
        );
    }

    #[test]
    fn names_are_checked_whole_a_shortening_passes_and_a_changed_part_does_not() {
        let sources = [Source {
            title: "Mnuchin and McConnell meet on relief",
            text: "Treasury Secretary Steven Mnuchin met Senate Minority Leader Mitch McConnell \
                   on Monday. Former President Barack Obama praised Justice Sandra Day O'Connor. \
                   The Justice Department said a wall of the building fell. Barack Obama and \
                   Mnuchin spoke.",
        }];
        let grounding = Grounding::new(
            [
                "former",
                "president",
                "justice",
                "department",
                "wall",
                "leader",
                "secretary",
                "meets",
            ]
            .map(String::from),
        );
        for fine in [
            "Mnuchin met McConnell on Monday.",
            "Steven Mnuchin met Mitch McConnell on Monday.",
            "Secretary Mnuchin met Senate Leader McConnell on Monday.",
            "Treasury Secretary Mnuchin met Senate Minority Leader McConnell.",
            "Former President Barack Obama praised Justice O'Connor.",
            "Obama praised Sandra Day O'Connor.",
            "The Justice Department said a wall fell.",
        ] {
            assert_eq!(
                grounding.check(&point(fine, &[1]), &sources),
                Ok(()),
                "{fine}"
            );
        }
        for (forged, name) in [
            (
                "Treasury Monty Mnuchin said the relief would pass.",
                "Treasury Monty Mnuchin",
            ),
            ("Former Lloyd Obama's attorneys met.", "Lloyd Obama's"),
            ("Former president Reddit Obama praised her.", "Reddit Obama"),
            (
                "Justice Barr Day O'Connor was praised by the former president.",
                "Barr Day O'Connor",
            ),
            (
                "Senate Larry Leader Mitch McConnell said the relief bill would pass this spring.",
                "Senate Larry Leader Mitch McConnell",
            ),
            (
                "Mnuchin said the Wall Department had delivered the money to the states.",
                "Wall Department",
            ),
            // Across "and": another person's first name.
            (
                "Barack Mnuchin and Mitch McConnell met on relief this spring.",
                "Barack Mnuchin",
            ),
            // In a headline too.
            ("Barack Mnuchin Meets Mitch McConnell", "Barack Mnuchin"),
            // Every part is in the sources, but not in this name.
            (
                "Barack Mnuchin said the relief would pass.",
                "Barack Mnuchin",
            ),
        ] {
            assert_eq!(
                grounding.check(&point(forged, &[1]), &sources),
                Err(Ungrounded::Name(name.into())),
                "{forged}"
            );
        }
    }

    #[test]
    fn postal_codes_and_month_abbreviations_name_their_stems() {
        let stemmer = stemmer();
        let states = "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware \
            Florida Georgia Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine \
            Maryland Massachusetts Michigan Minnesota Mississippi Missouri Montana Nebraska \
            Nevada Hampshire Jersey Mexico York Carolina Dakota Ohio Oklahoma Oregon \
            Pennsylvania Rhode Carolina Dakota Tennessee Texas Utah Vermont Virginia Washington \
            Virginia Wisconsin Wyoming";
        let codes = "al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo \
            mt ne nv nh nj nm ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy";
        for (code, name) in codes.split_whitespace().zip(states.split_whitespace()) {
            assert_eq!(state(code), Some(stem(&stemmer, name).as_str()), "{code}");
        }
        let months = "January February March April June July August September September \
            October November December";
        let abbreviations = "jan feb mar apr jun jul aug sep sept oct nov dec";
        for (a, m) in abbreviations
            .split_whitespace()
            .zip(months.split_whitespace())
        {
            assert_eq!(
                crate::text::month_stem(a),
                Some(stem(&stemmer, m).as_str()),
                "{a}"
            );
        }
        for (a, w) in [
            ("GOP", "Republicans"),
            ("COVID-19", "coronavirus"),
            ("SCOTUS", "Supreme"),
            ("POTUS", "President"),
            ("DOJ", "Justice"),
        ] {
            assert_eq!(
                alias(&stem(&stemmer, a)),
                Some(stem(&stemmer, w).as_str()),
                "{a}"
            );
        }
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

//! The grounding check for written key points (`summarise::grounding`), measured with no model:
//! on NeuS validation, the editors' reference summaries, split into points (the headline and
//! each sentence) that cite all three articles, should pass: the share that fails is the
//! **false-rejection rate**. Then each passing point with one name or number swapped for one
//! from another story (one its own articles do not contain) should fail: the share that does is
//! the **catch rate**. The rejections are split into those whose flagged term appears nowhere
//! in the story's articles (the reference says more than its articles: the check is right to
//! refuse) and the rest, and a fixed sample of each is printed for reading by hand.
//!
//! **Faithful and swapped points**, as a model writes them: the first sentences of each
//! article, lightly edited, citing their article, should pass (at most 5% dropped); each
//! forged one way a summariser errs (another first name, a name in the middle, a title or
//! department word, another person's first name from the same article, a number, a weekday)
//! should fail (at least 95% caught).
//! `cargo bench --bench grounding`.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use storybot::summarise::grounding::{Grounding, Point, Source, Ungrounded};

struct Story {
    articles: Vec<(String, String)>,
    points: Vec<String>,
}

fn stories(source: &str, target: &str) -> Vec<Story> {
    source
        .lines()
        .zip(target.lines())
        .map(|(s, t)| {
            let articles = s
                .split("[SEP]")
                .filter_map(|part| {
                    let rest = part.trim().strip_prefix("TITLE=>")?;
                    let (title, body) = rest.split_once("ARTICLE=>").unwrap_or((rest, ""));
                    Some((title.trim().to_string(), body.trim().to_string()))
                })
                .collect();
            let t = t.trim().strip_prefix("TITLE=>").unwrap_or(t);
            let (title, summary) = t.split_once("ARTICLE=>").unwrap_or((t, ""));
            let mut points = vec![title.trim().to_string()];
            points.extend(points_of(summary.trim()));
            Story { articles, points }
        })
        .collect()
}

fn kind(e: &Ungrounded) -> &'static str {
    match e {
        Ungrounded::Name(_) => "name",
        Ungrounded::Number(_) => "number",
        Ungrounded::Quote(_) => "quotation",
        Ungrounded::NoCitation | Ungrounded::UnknownSource(_) => "citation",
        Ungrounded::Markup(_) => "markup",
    }
}

/// Sentences, as `common::sentences` splits them, but never after an abbreviation ("Jan.",
/// "Dr.", "U.S."), which editors' summaries use often.
fn points_of(summary: &str) -> Vec<String> {
    const ABBREVIATIONS: &[&str] = &[
        "jan", "feb", "mar", "apr", "aug", "sept", "sep", "oct", "nov", "dec", "dr", "mr", "mrs",
        "ms", "st", "sen", "rep", "gov", "gen", "lt", "col", "sgt", "jr", "sr", "no", "vs", "u.s",
        "u.k", "u.n", "d.c", "inc", "corp", "co", "ft", "mt",
    ];
    let mut out: Vec<String> = Vec::new();
    let mut carry = String::new();
    for sentence in common::sentences(summary) {
        let joined = if carry.is_empty() {
            sentence
        } else {
            format!("{carry} {sentence}")
        };
        let last = joined
            .split_whitespace()
            .last()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_lowercase();
        if ABBREVIATIONS.contains(&last.as_str()) {
            carry = joined;
        } else {
            carry.clear();
            out.push(joined);
        }
    }
    if !carry.is_empty() {
        out.push(carry);
    }
    out
}

/// Whether the term a rejection flags appears anywhere in `haystack` (lower case), even inside
/// a word or in another spelling of a number ("1,400" as "1400").
fn appears_somewhere(e: &Ungrounded, haystack: &str) -> bool {
    match e {
        Ungrounded::Name(t) => haystack.contains(&t.to_lowercase()),
        Ungrounded::Number(t) => {
            let digits: String = t.chars().filter(char::is_ascii_digit).collect();
            let plain: String = haystack.chars().filter(|&c| c != ',').collect();
            plain.contains(&digits)
        }
        // A quotation must be verbatim: the check compares exactly what this would.
        Ungrounded::Quote(_)
        | Ungrounded::NoCitation
        | Ungrounded::UnknownSource(_)
        | Ungrounded::Markup(_) => false,
    }
}

fn is_number(term: &str) -> bool {
    term.chars().any(|c| c.is_ascii_digit()) && !term.chars().any(char::is_alphabetic)
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/keypoints/neus");
    if !dir.is_dir() {
        println!("skipped: ../shared/data/keypoints/neus is absent");
        return Ok(());
    }
    let stories = stories(
        &std::fs::read_to_string(dir.join("val.source"))?,
        &std::fs::read_to_string(dir.join("val.target"))?,
    );
    // The words the check knows, learnt as a running bot learns them from its stream.
    let train = std::fs::read_to_string(dir.join("train.source"))?;
    let grounding = Grounding::learn(train.lines());
    let check = |p: &Point, s: &[Source<'_>]| grounding.check(p, s);
    let checked_terms = |t: &str| grounding.checked_terms(t);
    // Replacement pools: the names and numbers of every story's reference.
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut numbers: Vec<(usize, String)> = Vec::new();
    for (i, s) in stories.iter().enumerate() {
        for p in &s.points {
            for t in checked_terms(p) {
                if is_number(&t) {
                    numbers.push((i, t));
                } else if !grounding.is_ordinary_word(&t) {
                    // A capitalised word of a Title Case headline that the stream writes in
                    // lower case ("Silence", "Heads") is no name to swap in.
                    names.push((i, t));
                }
            }
        }
    }
    let (mut points, mut rejected, mut swapped, mut caught) = (0, 0, 0, 0);
    let mut reasons: HashMap<&str, usize> = HashMap::new();
    let mut examples: Vec<String> = Vec::new();
    let (mut present, mut absent_examples, mut missed) = (0, Vec::new(), Vec::new());
    for (i, s) in stories.iter().enumerate() {
        let sources: Vec<Source<'_>> = s
            .articles
            .iter()
            .map(|(title, text)| Source { title, text })
            .collect();
        let all: Vec<usize> = (1..=sources.len()).collect();
        let haystack = s
            .articles
            .iter()
            .map(|(t, b)| format!("{t} {b}"))
            .collect::<String>()
            .to_lowercase();
        for text in &s.points {
            points += 1;
            let point = Point {
                text: text.clone(),
                citations: all.clone(),
            };
            if let Err(e) = check(&point, &sources) {
                rejected += 1;
                *reasons.entry(kind(&e)).or_default() += 1;
                if appears_somewhere(&e, &haystack) {
                    present += 1;
                    if examples.len() < 60 {
                        examples.push(format!("{e}: {text}"));
                    }
                } else {
                    absent_examples.push(format!("{e}: {text}"));
                }
                continue;
            }
            // Swap the first checked term for one of the same kind from another story that
            // this story's articles do not contain.
            let Some(term) = checked_terms(text).into_iter().next() else {
                continue;
            };
            let pool = if is_number(&term) { &numbers } else { &names };
            let start = (i * 7919 + points) % pool.len();
            let replacement = pool
                .iter()
                .cycle()
                .skip(start)
                .take(pool.len())
                .find(|(j, t)| {
                    // Another story's, absent from this one, and not the same name in another
                    // form ("Trump's" for "Trump").
                    let (t, term) = (t.to_lowercase(), term.to_lowercase());
                    *j != i
                        && !haystack.contains(&t)
                        && !t.starts_with(&term)
                        && !term.starts_with(&t)
                });
            let Some((_, replacement)) = replacement else {
                continue;
            };
            swapped += 1;
            let forged = Point {
                text: text.replacen(&term, replacement, 1),
                citations: all.clone(),
            };
            if check(&forged, &sources).is_err() {
                caught += 1;
            } else if missed.len() < 20 {
                missed.push(format!("{term} -> {replacement}: {}", forged.text));
            }
        }
    }
    println!(
        "NeuS val: {} stories, {points} reference points citing all their articles",
        stories.len()
    );
    println!(
        "false rejections: {rejected} of {points} ({:.1}%; target at most 10%) by kind: {reasons:?}",
        100.0 * rejected as f64 / points as f64
    );
    println!(
        "catch rate: {caught} of {swapped} points with one name or number swapped ({:.1}%; \
         target at least 95%)",
        100.0 * caught as f64 / swapped.max(1) as f64
    );
    let absent = rejected - present;
    println!(
        "of the rejected, {absent} flag a name, number or quotation that appears nowhere in the \
         story's articles, in any case, not even inside a word: the reference states more than \
         its articles. The rest, {present} ({:.1}% of points), flag a term the articles have in \
         some form: the false rejections' upper bound",
        100.0 * present as f64 / points as f64
    );
    for e in examples {
        println!("  rejected, present in some form: {e}");
    }
    // A fixed sample of the rest, to be read by hand (every 7th).
    for e in absent_examples.iter().step_by(7) {
        println!("  rejected, absent: {e}");
    }
    for m in missed {
        println!("  missed: {m}");
    }
    faithful_and_swapped(&stories, &grounding);
    Ok(())
}

/// Sentences of the articles themselves, lightly edited as a model would (a leading "On
/// Monday," or a trailing attribution dropped), each citing its article: the share dropped
/// should be at most 5%. Then each one that passes, forged the ways a summariser errs: a
/// first name, a title or department word, a name inserted in the middle, a number, a
/// weekday: the share caught, per form, should be at least 95%.
fn faithful_and_swapped(stories: &[Story], grounding: &Grounding) {
    const TITLES: &[&str] = &[
        "Treasury",
        "Defense",
        "Senate",
        "House",
        "Justice",
        "Commerce",
        "Energy",
        "Former",
        "Secretary",
        "Senator",
        "Governor",
        "Attorney",
        "Labor",
        "Homeland",
        "Interior",
    ];
    const FIRST: &[&str] = &[
        "Monty", "Lloyd", "Reddit", "Larry", "Gerald", "Wendy", "Otis", "Priya", "Dmitri",
        "Harriet", "Barr", "Colin", "Marisol",
    ];
    const DAYS: &[&str] = &[
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let (mut faithful, mut dropped) = (0, 0);
    let mut forms: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut dropped_examples = Vec::new();
    let mut missed = Vec::new();
    for s in stories {
        let sources: Vec<Source<'_>> = s
            .articles
            .iter()
            .map(|(title, text)| Source { title, text })
            .collect();
        let story_text = s
            .articles
            .iter()
            .map(|(t, b)| format!("{t} {b}"))
            .collect::<String>();
        let absent = |w: &str| !story_text.contains(w);
        for (k, (_, body)) in s.articles.iter().enumerate() {
            for sentence in common::sentences(body).into_iter().take(3) {
                let text = lightly_edited(&sentence);
                if text.split_whitespace().count() < 6 {
                    continue;
                }
                let point = Point {
                    text: text.clone(),
                    citations: vec![k + 1],
                };
                faithful += 1;
                if let Err(e) = grounding.check(&point, &sources) {
                    dropped += 1;
                    if dropped_examples.len() < 12 {
                        dropped_examples.push(format!("{e}: {text}"));
                    }
                    continue;
                }
                let mut forged_points = forgeries(&text, TITLES, FIRST, DAYS, &absent);
                forged_points.extend(borrowed_first_name(&text, body, &story_text));
                for (form, forged) in forged_points {
                    let e = forms.entry(form).or_default();
                    e.0 += 1;
                    let forged_point = Point {
                        text: forged.clone(),
                        citations: vec![k + 1],
                    };
                    if grounding.check(&forged_point, &sources).is_err() {
                        e.1 += 1;
                    } else if missed.len() < 25 {
                        missed.push(format!("{form}: {forged}"));
                    }
                }
            }
        }
    }
    println!(
        "\nfaithful points (the articles' own sentences, lightly edited): {dropped} of \
         {faithful} dropped ({:.1}%; target at most 5%)",
        100.0 * dropped as f64 / faithful.max(1) as f64
    );
    let (all, caught) = forms.values().fold((0, 0), |(a, c), (n, k)| (a + n, c + k));
    println!(
        "swapped points: {caught} of {all} dropped ({:.1}%; target at least 95%)",
        100.0 * caught as f64 / all.max(1) as f64
    );
    for (form, (n, k)) in &forms {
        println!(
            "  {form:<22} {k} of {n} ({:.1}%)",
            100.0 * *k as f64 / (*n).max(1) as f64
        );
    }
    for e in dropped_examples {
        println!("  faithful but dropped: {e}");
    }
    for m in missed {
        println!("  swapped but shown: {m}");
    }
}

/// A sentence as a model might restate it: without a leading "On Monday," and without a
/// trailing ", officials said".
fn lightly_edited(sentence: &str) -> String {
    let mut s = sentence.trim().to_string();
    if let Some(rest) = s.strip_prefix("On ") {
        if let Some((day, rest)) = rest.split_once(", ") {
            if day.split_whitespace().count() <= 2 {
                let mut c = rest.chars();
                if let Some(first) = c.next() {
                    s = first.to_uppercase().collect::<String>() + c.as_str();
                }
            }
        }
    }
    if let Some(i) = s.rfind(", ") {
        let tail = &s[i + 2..];
        let words = tail.split_whitespace().count();
        if (2..=5).contains(&words) && (tail.ends_with(" said.") || tail.ends_with(" says.")) {
            s = format!("{}.", &s[..i]);
        }
    }
    s
}

/// Runs of capitalised words inside a sentence (not its first word): (first index, length).
fn runs_of(words: &[&str]) -> Vec<(usize, usize)> {
    let name = |w: &str| {
        w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().all(|c| c.is_alphabetic() || c == '\'')
            && w.chars().count() > 1
    };
    let mut out = Vec::new();
    let mut i = 1;
    while i < words.len() {
        if name(words[i]) {
            let start = i;
            while i < words.len() && name(words[i]) {
                i += 1;
            }
            out.push((start, i - start));
        } else {
            i += 1;
        }
    }
    out
}

/// The point with the first name of its first multi-word name replaced by the first name of
/// another person its article names ("Barack Mnuchin" where the article has Barack Obama and
/// Steven Mnuchin), when the result is no name of the story.
fn borrowed_first_name(
    text: &str,
    article: &str,
    story_text: &str,
) -> Option<(&'static str, String)> {
    let words: Vec<&str> = text.split(' ').collect();
    let &(start, len) = runs_of(&words).iter().find(|(_, len)| *len >= 2)?;
    let last = start + len - 1;
    let ours = &words[start..=last];
    let article_words: Vec<&str> = article.split(' ').collect();
    let other = runs_of(&article_words)
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(i, n)| (article_words[i + n - 2], article_words[i + n - 1]))
        // A first name: not "The" of "The Associated Press", nor "Mr" of "Mr Trump".
        .filter(|(first, _)| !["The", "A", "An", "Mr", "Mrs", "Ms"].contains(first))
        .find(|(first, surname)| !ours.contains(first) && !ours.contains(surname))?
        .0;
    let forged_name = format!("{other} {}", words[last]);
    if story_text.contains(&forged_name) {
        return None;
    }
    let mut v: Vec<String> = words.iter().map(ToString::to_string).collect();
    v[last - 1] = other.to_string();
    Some(("another's first name", v.join(" ")))
}

/// The forged versions of a point, one per form that applies.
fn forgeries<'a>(
    text: &str,
    titles: &[&'a str],
    first: &[&'a str],
    days: &[&'a str],
    absent: &dyn Fn(&str) -> bool,
) -> Vec<(&'static str, String)> {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = Vec::new();
    let pick = |pool: &[&'a str]| pool.iter().copied().find(|w| absent(w));
    let with = |i: usize, w: &str| {
        let mut v: Vec<String> = words.iter().map(ToString::to_string).collect();
        v[i] = w.to_string();
        v.join(" ")
    };
    if let Some(&(start, len)) = runs_of(&words).iter().find(|(_, len)| *len >= 2) {
        let last = start + len - 1;
        if let Some(f) = pick(first) {
            out.push(("first name", with(last - 1, f)));
            let mut v: Vec<String> = words.iter().map(ToString::to_string).collect();
            v.insert(last, f.to_string());
            out.push(("name in the middle", v.join(" ")));
        }
        if let Some(t) = pick(titles) {
            out.push(("title or department", with(start, t)));
        }
    }
    if let Some(i) = words.iter().position(|w| {
        w.trim_end_matches([',', '.'])
            .parse::<u32>()
            .is_ok_and(|n| n > 1)
    }) {
        let w = words[i];
        let n: u32 = w.trim_end_matches([',', '.']).parse().unwrap();
        let other = (n + 7).to_string();
        if absent(&other) {
            out.push(("number", with(i, &w.replacen(&n.to_string(), &other, 1))));
        }
    }
    if let Some(i) = words
        .iter()
        .position(|w| days.contains(&w.trim_end_matches([',', '.'])))
    {
        if let Some(d) = pick(days) {
            let w = words[i];
            let day = w.trim_end_matches([',', '.']);
            out.push(("weekday", with(i, &w.replacen(day, d, 1))));
        }
    }
    out
}

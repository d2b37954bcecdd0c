//! The model's answer: parsed, validated against the schema's rules, and grounded: the title
//! against every article (a title that fails refuses the answer), each point against the
//! articles it cites and each side's framing against that side's articles (what fails is
//! dropped and kept with the reason).

use serde::Deserialize;

use super::client::LlmError;
use super::prompt::Prompt;
use crate::model::Framing;
use crate::summarise::grounding::{Grounding, Point, Source, Ungrounded};

/// Longest title, in characters.
const MAX_TITLE_CHARS: usize = 100;
/// Fewest grounded points that replace the extractive ones.
pub const MIN_POINTS: usize = 3;
const MAX_POINTS: usize = 5;
/// Longest key point or framing sentence kept, in characters.
const MAX_POINT_CHARS: usize = 500;

/// What the model wrote, as checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub title: String,
    /// The grounded points, each with the articles it cites.
    pub points: Vec<Point>,
    /// The points that failed the check, with why.
    pub dropped: Vec<(String, Ungrounded)>,
    /// One sentence per covering side on how it frames the story.
    pub framing: Vec<Framing>,
}

/// Why a story keeps its extractive points.
#[derive(Debug, thiserror::Error)]
pub enum WrittenError {
    #[error(transparent)]
    Call(#[from] LlmError),
    #[error("the model's answer is not JSON: {0}")]
    NotJson(String),
    #[error("the model's answer breaks the schema: {0}")]
    Schema(String),
    #[error("the model's title {title:?} {why}")]
    UngroundedTitle { title: String, why: Ungrounded },
    #[error("only {kept} of the model's points are grounded in the articles (at least {MIN_POINTS} needed); dropped: {}", dropped.iter().map(|(p, why)| format!("{p:?} ({why})")).collect::<Vec<_>>().join("; "))]
    TooFewGrounded {
        kept: usize,
        dropped: Vec<(String, Ungrounded)>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: String,
    key_points: Vec<RawPoint>,
    #[serde(default)]
    framing: Option<RawFraming>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    text: String,
    sources: Vec<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFraming {
    left: Option<String>,
    center: Option<String>,
    right: Option<String>,
}

/// The JSON schema the model is asked to answer in.
pub fn schema() -> serde_json::Value {
    let side = serde_json::json!({"type": ["string", "null"]});
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "key_points", "framing"],
        "properties": {
            "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
            "key_points": {
                "type": "array", "minItems": MIN_POINTS, "maxItems": MAX_POINTS,
                "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["text", "sources"],
                    "properties": {
                        "text": {"type": "string"},
                        "sources": {"type": "array", "minItems": 1, "items": {"type": "integer"}}
                    }
                }
            },
            "framing": {
                "type": "object", "additionalProperties": false,
                "required": ["left", "center", "right"],
                "properties": {"left": side, "center": side, "right": side}
            }
        }
    })
}

/// Parses and checks the model's answer to `prompt`.
pub fn check(raw: &str, prompt: &Prompt, grounding: &Grounding) -> Result<Written, WrittenError> {
    // Some servers wrap JSON in a code fence even in JSON mode.
    let body = raw
        .trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let parsed: Raw = serde_json::from_str(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => WrittenError::Schema(e.to_string()),
        _ => WrittenError::NotJson(e.to_string()),
    })?;
    // The model's text is untrusted like a feed's: no control characters, bounded.
    let title = crate::text::clean(&parsed.title, 4 * MAX_TITLE_CHARS);
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(WrittenError::Schema(format!(
            "the title must have 1 to {MAX_TITLE_CHARS} characters, not {}",
            title.chars().count()
        )));
    }
    if let Some(what) = crate::summarise::grounding::markup(&title) {
        return Err(WrittenError::Schema(format!("the title holds {what}")));
    }
    if !(MIN_POINTS..=MAX_POINTS).contains(&parsed.key_points.len()) {
        return Err(WrittenError::Schema(format!(
            "{} key points instead of {MIN_POINTS} to {MAX_POINTS}",
            parsed.key_points.len()
        )));
    }
    let sources = prompt.sources();
    // The title is checked against every article, as a point citing them all.
    let every = Point {
        text: title.clone(),
        citations: (1..=sources.len()).collect(),
    };
    if let Err(why) = grounding.check(&every, &sources) {
        return Err(WrittenError::UngroundedTitle { title, why });
    }
    let (mut points, mut dropped) = (Vec::new(), Vec::new());
    for p in parsed.key_points {
        let point = Point {
            text: crate::text::clean(&p.text, MAX_POINT_CHARS),
            citations: p.sources,
        };
        match grounding.check(&point, &sources) {
            Ok(()) => points.push(point),
            Err(why) => {
                tracing::info!(point = %point.text, reason = %why, "written key point dropped");
                dropped.push((point.text, why));
            }
        }
    }
    if points.len() < MIN_POINTS {
        return Err(WrittenError::TooFewGrounded {
            kept: points.len(),
            dropped,
        });
    }
    let framing = framing(
        parsed.framing.unwrap_or_default(),
        prompt,
        grounding,
        &mut dropped,
    );
    Ok(Written {
        title,
        points,
        dropped,
        framing,
    })
}

/// What a framing sentence may call the sides, whatever the articles say.
const SIDE_NAMES: Source<'static> = Source {
    title: "Left Center Centre Right Left-leaning Right-leaning",
    text: "left center centre right liberal conservative progressive outlets",
};

/// The framing sentences of the sides that cover the story, each checked against that side's
/// articles as a point citing them; one that fails is dropped (into `dropped`, with why).
fn framing(
    f: RawFraming,
    prompt: &Prompt,
    grounding: &Grounding,
    dropped: &mut Vec<(String, Ungrounded)>,
) -> Vec<Framing> {
    use crate::model::Side;
    // The sides' own names are no claim about the story ("Left outlets stress ...").
    let mut sources = prompt.sources();
    sources.push(SIDE_NAMES);
    let mut out = Vec::new();
    for (side, s) in [
        (Side::Left, f.left),
        (Side::Center, f.center),
        (Side::Right, f.right),
    ] {
        let mut citations: Vec<usize> = (1..=prompt.articles.len())
            .filter(|&n| prompt.articles[n - 1].side == Some(side))
            .collect();
        let Some(sentence) = s.map(|s| crate::text::clean(&s, MAX_POINT_CHARS)) else {
            continue;
        };
        if citations.is_empty() || sentence.is_empty() {
            continue;
        }
        citations.push(sources.len());
        let point = Point {
            text: sentence,
            citations,
        };
        match grounding.check(&point, &sources) {
            Ok(()) => out.push(Framing {
                side,
                sentence: point.text,
            }),
            Err(why) => {
                let text = format!("How the {} covers it: {}", side.label(), point.text);
                tracing::info!(point = %text, reason = %why, "written framing dropped");
                dropped.push((text, why));
            }
        }
    }
    out
}

//! The machine-readable story export (`storybot stories --json`, `top --json`). Its shape is
//! documented in README.md and stable: fields may be added, never renamed or removed.
//!
//! A story's articles are written as they are read, page by page ([`ExportWriter`]), so a
//! story of any size is exported in bounded memory.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Digest;
use crate::model::{Article, Bias, Framing, Side};
use crate::outlets::OutletDirectory;

/// One story in the export, without its articles (they follow, streamed).
#[derive(Debug, Clone, Serialize)]
pub struct ExportStory {
    pub id: String,
    pub title: String,
    pub key_points: Vec<String>,
    /// `"extractive"`, or the name of the model that wrote the title and key points (checked
    /// against the sources).
    pub key_points_source: String,
    /// How each side's outlets frame the story, as the model put it (`null` per side without
    /// a sentence, all `null` for extractive points).
    pub framing: ExportFraming,
    pub article_count: usize,
    pub source_count: usize,
    pub first_published: Option<DateTime<Utc>>,
    pub last_updated: Option<DateTime<Utc>>,
    pub bias: ExportBias,
    /// The covering outlets by factuality.
    pub factuality: ExportFactuality,
    /// The previous event of the same topic (a story this one continues), if any.
    pub previous_story: Option<String>,
    /// The next event of the same topic, if any.
    pub next_story: Option<String>,
}

/// One sentence per side, where a model wrote one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportFraming {
    pub left: Option<String>,
    pub center: Option<String>,
    pub right: Option<String>,
}

impl ExportFraming {
    fn of(framing: &[Framing]) -> ExportFraming {
        let mut out = ExportFraming::default();
        for f in framing {
            let slot = match f.side {
                Side::Left => &mut out.left,
                Side::Center => &mut out.center,
                Side::Right => &mut out.right,
            };
            *slot = Some(f.sentence.clone());
        }
        out
    }
}

/// The factuality mix over distinct outlets (see [`crate::summarise::factuality`]).
#[derive(Debug, Clone, Serialize)]
pub struct ExportFactuality {
    /// Whole percentages of the outlets rated for factuality, summing to 100 (all 0 when none
    /// is rated).
    pub high: u8,
    pub mixed: u8,
    pub low: u8,
    pub rated_sources: usize,
    pub unrated_sources: usize,
    /// Covered mostly by low-factuality outlets (config `[factuality]`).
    pub mostly_low: bool,
}

/// The bias distribution over distinct outlets.
#[derive(Debug, Clone, Serialize)]
pub struct ExportBias {
    /// Whole percentages of rated outlets, summing to 100 (all 0 when none is rated).
    pub left: u8,
    pub center: u8,
    pub right: u8,
    pub rated_sources: usize,
    pub unrated_sources: usize,
    /// Rated outlets per rating: left, lean-left, center, lean-right, right.
    pub detail: Detail,
    /// `"left"` or `"right"`: the side that barely covers the story; `null` otherwise.
    pub blindspot: Option<Side>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub left: usize,
    #[serde(rename = "lean-left")]
    pub lean_left: usize,
    pub center: usize,
    #[serde(rename = "lean-right")]
    pub lean_right: usize,
    pub right: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportArticle {
    pub url: String,
    pub title: String,
    pub outlet: String,
    pub bias: Option<Bias>,
    pub published: DateTime<Utc>,
}

impl ExportStory {
    /// A story's export: what its digest shows ([`Digest`]), as stable JSON.
    pub fn new(d: &Digest) -> ExportStory {
        let c = &d.coverage;
        ExportStory {
            id: d.id.to_string(),
            title: d.title.clone(),
            key_points: d.key_points.clone(),
            key_points_source: d
                .key_points_by
                .as_deref()
                .unwrap_or("extractive")
                .to_string(),
            framing: ExportFraming::of(&d.framing),
            article_count: c.articles,
            source_count: c.sources,
            first_published: c.first_published,
            last_updated: c.last_updated,
            factuality: ExportFactuality {
                high: c.factuality.percent[0],
                mixed: c.factuality.percent[1],
                low: c.factuality.percent[2],
                rated_sources: c.factuality.rated(),
                unrated_sources: c.factuality.unrated,
                mostly_low: c.factuality.mostly_low,
            },
            previous_story: d.sequence.previous.as_ref().map(|l| l.id.to_string()),
            next_story: d.sequence.next.as_ref().map(|l| l.id.to_string()),
            bias: ExportBias {
                left: c.percent[0],
                center: c.percent[1],
                right: c.percent[2],
                rated_sources: c.rated_sources,
                unrated_sources: c.unrated_sources,
                detail: Detail {
                    left: c.by_bias[0],
                    lean_left: c.by_bias[1],
                    center: c.by_bias[2],
                    lean_right: c.by_bias[3],
                    right: c.by_bias[4],
                },
                blindspot: c.blindspot,
            },
        }
    }
}

impl ExportArticle {
    pub(crate) fn new(a: &Article, outlets: &OutletDirectory) -> ExportArticle {
        ExportArticle {
            url: a.url.clone(),
            title: a.title.clone(),
            outlet: a.outlet.clone(),
            bias: outlets.rating(&a.outlet, &a.domain),
            published: a.published,
        }
    }
}

/// Writes a JSON array of stories, each followed by its articles as they come.
pub struct ExportWriter<W: Write> {
    out: W,
    stories: usize,
    articles_in_story: usize,
}

impl<W: Write> ExportWriter<W> {
    /// Opens the array.
    pub(crate) fn new(mut out: W) -> std::io::Result<ExportWriter<W>> {
        out.write_all(b"[")?;
        Ok(ExportWriter {
            out,
            stories: 0,
            articles_in_story: 0,
        })
    }

    /// Starts a story object; its articles follow with [`Self::article`].
    pub(crate) fn story(&mut self, story: &ExportStory) -> std::io::Result<()> {
        let json = serde_json::to_string(story)?;
        let open = json.strip_suffix('}').unwrap_or(&json);
        let sep = if self.stories == 0 { "\n" } else { "]},\n" };
        write!(self.out, "{sep}{open},\"articles\":[")?;
        self.stories += 1;
        self.articles_in_story = 0;
        Ok(())
    }

    pub(crate) fn article(&mut self, article: &ExportArticle) -> std::io::Result<()> {
        if self.articles_in_story > 0 {
            self.out.write_all(b",")?;
        }
        serde_json::to_writer(&mut self.out, article)?;
        self.articles_in_story += 1;
        Ok(())
    }

    /// Closes the last story and the array.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        if self.stories > 0 {
            self.out.write_all(b"]}\n")?;
        }
        self.out.write_all(b"]\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_array_is_json() {
        let story = ExportStory {
            id: "abcdefgh".into(),
            title: "T".into(),
            key_points: vec![],
            key_points_source: "extractive".into(),
            framing: ExportFraming::default(),
            article_count: 1,
            source_count: 1,
            first_published: None,
            last_updated: None,
            bias: ExportBias {
                left: 0,
                center: 0,
                right: 0,
                rated_sources: 0,
                unrated_sources: 1,
                detail: Detail {
                    left: 0,
                    lean_left: 0,
                    center: 0,
                    lean_right: 0,
                    right: 0,
                },
                blindspot: None,
            },
            factuality: ExportFactuality {
                high: 0,
                mixed: 0,
                low: 0,
                rated_sources: 0,
                unrated_sources: 1,
                mostly_low: false,
            },
            previous_story: None,
            next_story: None,
        };
        let article = ExportArticle {
            url: "https://a.example/1".into(),
            title: "T".into(),
            outlet: "A".into(),
            bias: None,
            published: Utc::now(),
        };
        for stories in 0..3 {
            let mut w = ExportWriter::new(Vec::new()).unwrap();
            for _ in 0..stories {
                w.story(&story).unwrap();
                w.article(&article).unwrap();
                w.article(&article).unwrap();
            }
            let bytes = w.finish().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v.as_array().unwrap().len(), stories);
            if stories > 0 {
                assert_eq!(v[0]["articles"].as_array().unwrap().len(), 2);
            }
        }
    }
}

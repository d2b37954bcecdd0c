//! The prompt: the story's articles, numbered, each with its outlet, side, headline and lead,
//! within a size budget, and the instructions.

use crate::model::{Article, Side};
use crate::outlets::OutletDirectory;
use crate::summarise::grounding::Source;
use crate::text;

/// Characters of article text given to the model in all (about 4,000 tokens).
const BUDGET_CHARS: usize = 16_000;
/// Articles given to the model, at most.
const MAX_ARTICLES: usize = 20;
/// The version of the instructions, stored with what they produced.
pub const PROMPT_VERSION: u32 = 1;

const INSTRUCTIONS: &str = "You summarise one news story from the numbered articles below. \
Answer with JSON only, in the given schema: a neutral title of at most 100 characters; 3 to 5 \
key points, each one sentence stating one fact and the numbers of the articles that support \
it; and, only for sides whose outlets cover the story, one sentence on how that side frames \
it. Use only what the cited articles say: every name, number and date must appear in them. \
Put quotation marks only around words quoted verbatim from an article.";

/// One article as the model sees it.
#[derive(Debug, Clone)]
pub struct Numbered {
    pub outlet: String,
    pub side: Option<Side>,
    pub title: String,
    pub text: String,
}

/// The articles given to the model, numbered from 1.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub articles: Vec<Numbered>,
}

impl Prompt {
    /// Takes the articles in order, each with as much of its lead as the budget allows.
    pub fn new(articles: &[Article], outlets: &OutletDirectory) -> Prompt {
        let n = articles.len().clamp(1, MAX_ARTICLES);
        let per_article = BUDGET_CHARS / n;
        let numbered = articles
            .iter()
            .take(MAX_ARTICLES)
            .map(|a| Numbered {
                outlet: a.outlet.clone(),
                side: outlets
                    .rating(&a.outlet, &a.domain)
                    .map(crate::model::Bias::side),
                title: text::truncate_chars(&a.title, 300),
                text: text::truncate_chars(&a.summary, per_article),
            })
            .collect();
        Prompt { articles: numbered }
    }

    /// The articles as grounding sources, in prompt order.
    pub fn sources(&self) -> Vec<Source<'_>> {
        self.articles
            .iter()
            .map(|a| Source {
                title: &a.title,
                text: &a.text,
            })
            .collect()
    }

    /// The chat messages: the instructions, then the numbered articles.
    pub fn messages(&self) -> Vec<(&'static str, String)> {
        let mut user = String::new();
        for (i, a) in self.articles.iter().enumerate() {
            let side = a.side.map_or("unrated", |s| s.label());
            user.push_str(&format!(
                "[{}] {} ({side})\nTitle: {}\n{}\n\n",
                i + 1,
                a.outlet,
                a.title,
                a.text
            ));
        }
        vec![("system", INSTRUCTIONS.to_string()), ("user", user)]
    }
}

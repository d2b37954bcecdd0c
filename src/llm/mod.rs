//! Key points written by a language model the operator runs, checked against the sources.
//!
//! Off unless `[llm] base_url` is set; storybot never ships or downloads a model. [`client`]
//! calls any server speaking OpenAI's chat-completions API (Ollama, llama.cpp's server, vLLM,
//! LM Studio, hosted APIs) with a JSON schema for the answer; [`prompt`] gives the model the
//! story's articles, numbered, within a size budget; [`answer`] validates what comes back and
//! keeps only the points that pass the grounding check ([`crate::summarise::grounding`]):
//! every point cites articles, and its names, numbers and quotations are in them. Fewer than
//! three grounded points and the story keeps its extractive points.
//!
//! What passes is stored with the model's name, the prompt version and the time
//! ([`crate::store`]'s `written_summaries`), and the digest shows it, labelled, instead of the
//! extractive points. The queue that asks for it runs beside ingest ([`crate::llm_queue`]);
//! `storybot summarise` asks on demand.

pub mod answer;
pub mod client;
pub mod prompt;

use chrono::{DateTime, Utc};

use crate::model::{Article, WrittenPoint, WrittenSummary};
use crate::outlets::OutletDirectory;
use crate::summarise::grounding::Grounding;

pub use answer::{Written, WrittenError};
pub use client::{Client, LlmError};

/// Asks the model for a story's title and key points and checks them.
pub async fn write(
    client: &Client,
    grounding: &Grounding,
    articles: &[Article],
    outlets: &OutletDirectory,
) -> Result<Written, WrittenError> {
    let prompt = prompt::Prompt::new(articles, outlets);
    let (raw, _) = client
        .complete(&prompt.messages(), &answer::schema())
        .await?;
    answer::check(&raw, &prompt, grounding)
}

impl Written {
    /// What is stored and shown: the points with the URLs of the articles they cite (given
    /// to the model in `articles`' order).
    pub fn summary(
        &self,
        articles: &[Article],
        model: &str,
        article_count: i64,
        now: DateTime<Utc>,
    ) -> WrittenSummary {
        let points = self
            .points
            .iter()
            .map(|p| WrittenPoint {
                text: p.text.clone(),
                sources: p
                    .citations
                    .iter()
                    .filter_map(|&n| articles.get(n.checked_sub(1)?))
                    .map(|a| a.url.clone())
                    .collect(),
            })
            .collect();
        WrittenSummary {
            title: self.title.clone(),
            points,
            framing: self.framing.clone(),
            model: model.to_string(),
            prompt_version: i64::from(prompt::PROMPT_VERSION),
            written_at: now,
            article_count,
        }
    }
}

/// What `storybot llm check` found.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointCheck {
    /// The server honoured the JSON schema (else JSON mode was used).
    pub structured: bool,
    pub elapsed: std::time::Duration,
    /// Grounded points of the sample story.
    pub points: usize,
}

/// Summarises a small built-in story: checks the server, the model, the schema support and
/// that the answer passes validation and grounding.
pub async fn check_endpoint(client: &Client) -> Result<EndpointCheck, WrittenError> {
    let now = chrono::Utc::now();
    let article = |outlet: &str, title: &str, summary: &str| Article {
        url: format!("https://{outlet}.example/bridge"),
        title: title.into(),
        summary: summary.into(),
        outlet: outlet.into(),
        domain: format!("{outlet}.example"),
        published: now,
        fetched: now,
    };
    let articles = [
        article(
            "a",
            "Council approves Elm River bridge",
            "The city council voted 7 to 2 on Monday to build a new bridge over the Elm River. \
             Construction starts in May.",
        ),
        article(
            "b",
            "Elm River bridge wins council vote",
            "The bridge will cost $40 million, Mayor Ana Ruiz said. Work begins in May and \
             ends in 2027.",
        ),
        article(
            "c",
            "New bridge approved despite objections",
            "Two council members voted against the bridge, citing its $40 million cost. The \
             mayor said tolls are not planned.",
        ),
    ];
    let prompt = prompt::Prompt::new(&articles, &OutletDirectory::default());
    let started = std::time::Instant::now();
    let (raw, structured) = client
        .complete(&prompt.messages(), &answer::schema())
        .await?;
    let elapsed = started.elapsed();
    let written = answer::check(&raw, &prompt, &Grounding::default())?;
    Ok(EndpointCheck {
        structured,
        elapsed,
        points: written.points.len(),
    })
}

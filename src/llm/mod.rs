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
//! Today this runs on demand (`storybot summarise --story ID --dry-run`) so an operator can try
//! a model on real stories; storing written points and the queue beside ingest come next.

pub mod answer;
pub mod client;
pub mod prompt;

use crate::model::Article;
use crate::outlets::OutletDirectory;

pub use answer::{Written, WrittenError};
pub use client::{Client, LlmError};

/// Asks the model for a story's title and key points and checks them.
pub async fn write(
    client: &Client,
    articles: &[Article],
    outlets: &OutletDirectory,
) -> Result<Written, WrittenError> {
    let prompt = prompt::Prompt::new(articles, outlets);
    let (raw, _) = client
        .complete(&prompt.messages(), &answer::schema())
        .await?;
    answer::check(&raw, &prompt)
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
    let written = answer::check(&raw, &prompt)?;
    Ok(EndpointCheck {
        structured,
        elapsed,
        points: written.points.len(),
    })
}

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
    let raw = client
        .complete(&prompt.messages(), &answer::schema())
        .await?;
    answer::check(&raw, &prompt)
}

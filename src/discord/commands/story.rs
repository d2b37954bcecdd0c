//! `/story query:` — the digest of the story that best matches, with autocomplete of titles.

use std::sync::atomic::Ordering;

use poise::serenity_prelude::{AutocompleteChoice, CreateAutocompleteResponse};

use super::answer;
use crate::app::{Lookup, MAX_QUERY_CHARS};
use crate::discord::views;
use crate::discord::{BotError, Context};
use crate::payload::limits::{AUTOCOMPLETE_CHOICES_MAX, CHOICE_NAME_MAX};
use crate::text::truncate_chars;

/// Find a story: key points, coverage, bias distribution and headlines
#[poise::command(
    slash_command,
    install_context = "Guild",
    interaction_context = "Guild|BotDm"
)]
pub(crate) async fn story(
    ctx: Context<'_>,
    #[description = "Words from the story's headline, or its id"]
    #[min_length = 1]
    #[max_length = 300]
    #[autocomplete = "autocomplete"]
    query: String,
) -> Result<(), BotError> {
    let app = &ctx.data().app;
    answer(ctx, async {
        Ok(match app.find_story(&query).await? {
            Lookup::Found(story) => crate::discord::digest_reply(app, &story).await?,
            Lookup::NotFound { suggestions } => views::not_found(&query, &suggestions).into(),
            Lookup::EmptyStore => views::notice(views::NO_STORIES_YET).into(),
        })
    })
    .await
}

/// Titles of stories matching what has been typed so far (the trending ones when nothing
/// has); the chosen value is the story id, so the command finds exactly that story.
pub(crate) async fn autocomplete(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let data = ctx.data();
    data.stats.autocompletes.fetch_add(1, Ordering::Relaxed);
    let partial = truncate_chars(partial.trim(), MAX_QUERY_CHARS);
    let rows = match data
        .app
        .title_matches(&partial, AUTOCOMPLETE_CHOICES_MAX)
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "autocomplete lookup failed");
            Vec::new()
        }
    };
    let choices = rows
        .into_iter()
        .filter(|r| !r.title.trim().is_empty())
        .take(AUTOCOMPLETE_CHOICES_MAX)
        .map(|r| AutocompleteChoice::new(truncate_chars(&r.title, CHOICE_NAME_MAX), r.id.as_str()))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

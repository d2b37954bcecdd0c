//! `/about` — what the bot is, where its ratings come from, how to run your own.

use super::answer;
use crate::discord::views;
use crate::discord::{BotError, Context};

/// What storybot is, where its bias ratings come from, and how to run your own
#[poise::command(
    slash_command,
    install_context = "Guild",
    interaction_context = "Guild|BotDm"
)]
pub(crate) async fn about(ctx: Context<'_>) -> Result<(), BotError> {
    let app = &ctx.data().app;
    let (feeds, outlets) = (app.settings.feeds.len(), app.outlets.len());
    answer(ctx, async move { Ok(views::about(feeds, outlets).into()) }).await
}

//! `/top [count]` — the most covered stories now, with a menu to open one.

use super::answer;
use crate::discord::views::LIST_MAX;
use crate::discord::{BotError, Context};

/// The most covered stories now
#[poise::command(
    slash_command,
    install_context = "Guild",
    interaction_context = "Guild|BotDm"
)]
pub async fn top(
    ctx: Context<'_>,
    #[description = "How many stories (1 to 10, default 5)"]
    #[min = 1]
    #[max = 10]
    count: Option<u8>,
) -> Result<(), BotError> {
    let app = &ctx.data().app;
    let count = usize::from(count.unwrap_or(5)).clamp(1, LIST_MAX);
    answer(ctx, async {
        let stories = app.trending(count).await?;
        Ok(crate::discord::story_list(
            app,
            "Top stories",
            &stories,
            "No stories yet: the bot is still collecting the news.",
        )
        .await?
        .into())
    })
    .await
}

//! `/blindspot [count]` — current stories covered mostly by one side.

use super::answer;
use crate::discord::views::LIST_MAX;
use crate::discord::{BotError, Context};

/// Stories covered mostly by one side of the bias scale
#[poise::command(
    slash_command,
    install_context = "Guild",
    interaction_context = "Guild|BotDm"
)]
pub async fn blindspot(
    ctx: Context<'_>,
    #[description = "How many stories (1 to 10, default 5)"]
    #[min = 1]
    #[max = 10]
    count: Option<u8>,
) -> Result<(), BotError> {
    let app = &ctx.data().app;
    let count = usize::from(count.unwrap_or(5)).clamp(1, LIST_MAX);
    answer(ctx, async {
        let stories = app.blindspots(count).await?;
        Ok(crate::discord::story_list(
            app,
            "Blindspots: stories one side barely covers",
            &stories,
            "No blindspots among the current stories.",
        )
        .await?
        .into())
    })
    .await
}

//! `/blindspot [count]` — current stories covered mostly by one side.

use crate::discord::{BotError, Context};

/// Stories covered mostly by one side of the bias scale
#[poise::command(
    slash_command,
    install_context = "Guild",
    interaction_context = "Guild|BotDm"
)]
pub(crate) async fn blindspot(
    ctx: Context<'_>,
    #[description = "How many stories (1 to 10, default 5)"]
    #[min = 1]
    #[max = 10]
    count: Option<u8>,
) -> Result<(), BotError> {
    super::list(ctx, super::List::Blindspot, count).await
}

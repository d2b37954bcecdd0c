//! `/top [count]` — the most covered stories now, with a menu to open one.

use crate::discord::{BotError, Context};

/// The most covered stories now
#[poise::command(
    slash_command,
    install_context = "Guild",
    interaction_context = "Guild|BotDm"
)]
pub(crate) async fn top(
    ctx: Context<'_>,
    #[description = "How many stories (1 to 10, default 5)"]
    #[min = 1]
    #[max = 10]
    count: Option<u8>,
) -> Result<(), BotError> {
    super::list(ctx, super::List::Top, count).await
}

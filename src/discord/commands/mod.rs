//! The slash commands, one file per command group. [`all`] is the list that is registered and dispatched.

pub mod about;
pub mod blindspot;
pub mod story;
pub mod subscribe;
pub mod top;

use super::respond::{respond, InteractionRef, Style};
use super::views::Reply;
use super::{BotError, Context, Data};

/// Every command the bot registers.
pub fn all() -> Vec<poise::Command<Data, BotError>> {
    vec![
        story::story(),
        top::top(),
        blindspot::blindspot(),
        about::about(),
        subscribe::subscribe(),
        subscribe::briefing(),
        subscribe::subscriptions(),
        subscribe::unsubscribe(),
    ]
}

/// Runs a command's `work` and answers its interaction with the result.
async fn answer<F>(ctx: Context<'_>, work: F) -> Result<(), BotError>
where
    F: std::future::Future<Output = Result<Reply, BotError>>,
{
    let poise::Context::Application(actx) = ctx else {
        return Ok(());
    };
    respond(
        ctx.data(),
        InteractionRef::command(actx.interaction),
        Style::NewMessage,
        work,
    )
    .await;
    Ok(())
}

//! The slash commands, one file per command group. [`all`] is the list that is registered and dispatched.

pub(crate) mod about;
pub(crate) mod blindspot;
pub(crate) mod story;
pub(crate) mod subscribe;
pub(crate) mod subscription;
pub(crate) mod top;

use super::respond::{respond, InteractionRef, Style};
use super::views::Reply;
use super::{BotError, Context, Data};

/// Every command the bot registers.
pub(crate) fn all() -> Vec<poise::Command<Data, BotError>> {
    vec![
        story::story(),
        top::top(),
        blindspot::blindspot(),
        about::about(),
        subscribe::subscribe(),
        subscribe::briefing(),
        subscription::subscriptions(),
        subscription::subscription_group(),
        subscription::unsubscribe(),
    ]
}

/// The story lists: `/top` and `/blindspot`.
#[derive(Debug, Clone, Copy)]
enum List {
    Top,
    Blindspot,
}

/// Answers a story-list command with `count` stories (default 5).
async fn list(ctx: Context<'_>, which: List, count: Option<u8>) -> Result<(), BotError> {
    let app = &ctx.data().app;
    let count = usize::from(count.unwrap_or(5)).clamp(1, super::views::LIST_MAX);
    let (title, empty) = match which {
        List::Top => (
            "Top stories",
            "No stories yet: the bot is still collecting the news.",
        ),
        List::Blindspot => (
            "Blindspots: stories one side barely covers",
            "No blindspots among the current stories.",
        ),
    };
    answer(ctx, async {
        let stories = match which {
            List::Top => app.trending(count).await?,
            List::Blindspot => app.blindspots(count).await?,
        };
        Ok(super::story_list(app, title, &stories, empty).await?.into())
    })
    .await
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_is_counted_under_its_own_name_in_the_metrics() {
        for command in super::all() {
            assert!(
                crate::metrics::COMMANDS.contains(&command.name.as_ref()),
                "/{} would be counted as `other` in /metrics",
                command.name
            );
        }
    }
}

//! A server's subscriptions: `/subscriptions` lists them with their options and state,
//! `/subscription edit` changes a subscription's options in place, `/unsubscribe` removes
//! one. Server only, for members with Manage Channels, like [`super::subscribe`].

use poise::serenity_prelude::{AutocompleteChoice, CreateAutocompleteResponse, Role};

use super::answer;
use super::subscribe::{authorise, interaction, refusal, Extras, UpdatesChoice};
use crate::digest::markdown::escape_within;
use crate::discord::views;
use crate::discord::{BotError, Context};
use crate::model::{ChannelKind, Follow, PostOptions, Subscription, Updates};
use crate::payload::limits::{AUTOCOMPLETE_CHOICES_MAX, CHOICE_NAME_MAX, DESCRIPTION_MAX};
use crate::payload::{Embed, Message};
use crate::subscriptions::subscribe::{self as workflow, RoleInfo};

/// This server's subscriptions and their state
#[poise::command(
    slash_command,
    default_member_permissions = "MANAGE_CHANNELS",
    install_context = "Guild",
    interaction_context = "Guild"
)]
pub(crate) async fn subscriptions(ctx: Context<'_>) -> Result<(), BotError> {
    answer(ctx, async {
        let (guild, _) = authorise(ctx)?;
        let subs = ctx.data().app.store.guild_subscriptions(guild).await?;
        let mut text = String::new();
        for s in &subs {
            text.push_str(&format!("{}\n", describe(s)));
        }
        if subs.is_empty() {
            text = "No subscriptions yet: `/subscribe topic`, `/subscribe story`, \
                    `/subscribe blindspot` or `/briefing`."
                .into();
        }
        let limit = ctx.data().app.settings.subscriptions.max_per_guild;
        let m = Message::embeds(vec![Embed {
            thumbnail: None,
            title: format!("Subscriptions ({} of {limit})", subs.len()),
            description: crate::text::truncate_utf16(&text, DESCRIPTION_MAX),
            ..Embed::default()
        }]);
        Ok(m.ephemeral().into())
    })
    .await
}

/// Change a subscription
#[poise::command(
    slash_command,
    rename = "subscription",
    subcommands("edit"),
    subcommand_required,
    default_member_permissions = "MANAGE_CHANNELS",
    install_context = "Guild",
    interaction_context = "Guild"
)]
pub(crate) async fn subscription_group(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Change a subscription's options in place
#[poise::command(slash_command, default_member_permissions = "MANAGE_CHANNELS")]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn edit(
    ctx: Context<'_>,
    #[description = "The subscription (see /subscriptions)"]
    #[max_length = 20]
    #[autocomplete = "autocomplete_subscription"]
    subscription: String,
    #[description = "A role to ping on each new post"] role: Option<Role>,
    #[description = "Stop pinging a role"] no_role: Option<bool>,
    #[description = "Leave out stories with any of these words (none: exclude nothing)"]
    #[max_length = 200]
    exclude: Option<String>,
    #[description = "e.g. right blindspot, left 40% (any: every story)"]
    #[max_length = 40]
    #[autocomplete = "super::subscribe::autocomplete_side"]
    side: Option<String>,
    #[description = "Outlets a story needs first (0: any)"]
    #[min = 0]
    #[max = 50]
    min_sources: Option<u8>,
    #[description = "At most this many posts a day (0: no limit)"]
    #[min = 0]
    #[max = 100]
    max_per_day: Option<u8>,
    #[description = "How a story's updates are posted"] updates: Option<UpdatesChoice>,
) -> Result<(), BotError> {
    let extras = Extras {
        role,
        exclude,
        side,
        min_sources,
        max_per_day,
        updates,
    };
    answer(ctx, async {
        let (guild, _) = authorise(ctx)?;
        let number = number(&subscription)?;
        let store = &ctx.data().app.store;
        let nothing = extras.role.is_none()
            && no_role.is_none()
            && extras.exclude.is_none()
            && extras.side.is_none()
            && extras.min_sources.is_none()
            && extras.max_per_day.is_none()
            && extras.updates.is_none();
        if nothing {
            return Err(BotError::User(
                "Nothing to change: give at least one option.".into(),
            ));
        }
        let Some(sub) = store
            .guild_subscriptions(guild)
            .await?
            .into_iter()
            .find(|s| s.number == number)
        else {
            return Err(BotError::User(format!(
                "This server has no subscription #{number}."
            )));
        };
        let mut options = sub.options.clone();
        extras.apply(&mut options)?;
        if no_role == Some(true) {
            options.role = None;
        }
        workflow::check_updates(&sub.follow, sub.channel_kind, options.updates).map_err(refusal)?;
        check_here(ctx, &sub, &options, extras.role_info(guild))?;
        let Some(sub) = store.set_options(guild, number, &options).await? else {
            return Err(BotError::User(format!(
                "This server has no subscription #{number}."
            )));
        };
        Ok(views::notice(&format!("Changed: {}", describe(&sub))).into())
    })
    .await
}

/// Checks a new role to ping, and threads for `updates: thread`, with the bot's permissions
/// when Discord told them (for the channel the command came from).
fn check_here(
    ctx: Context<'_>,
    sub: &Subscription,
    options: &PostOptions,
    role: Option<RoleInfo>,
) -> Result<(), BotError> {
    let i = interaction(ctx)?;
    let channel = sub.channel_id;
    let perms = (channel == i.channel_id.get())
        .then(|| i.app_permissions.map(|p| p.bits()))
        .flatten();
    if let (Some(p), Updates::Thread, ChannelKind::Text) =
        (perms, options.updates, sub.channel_kind)
    {
        let missing = workflow::missing_for_threads(p);
        if !missing.is_empty() {
            return Err(BotError::User(format!(
                "I can't start threads in <#{channel}>: I am missing {}. Nothing was changed.",
                missing.join(", ")
            )));
        }
    }
    match role {
        Some(role) => workflow::check_role(role, channel, perms).map_err(refusal),
        None => Ok(()),
    }
}

/// Stop a subscription
#[poise::command(
    slash_command,
    default_member_permissions = "MANAGE_CHANNELS",
    install_context = "Guild",
    interaction_context = "Guild"
)]
pub(crate) async fn unsubscribe(
    ctx: Context<'_>,
    #[description = "The subscription (see /subscriptions)"]
    #[max_length = 20]
    #[autocomplete = "autocomplete_subscription"]
    subscription: String,
) -> Result<(), BotError> {
    answer(ctx, async {
        let (guild, _) = authorise(ctx)?;
        let number = number(&subscription)?;
        if ctx.data().app.store.unsubscribe(guild, number).await? {
            Ok(views::notice(&format!("Subscription #{number} removed.")).into())
        } else {
            Err(BotError::User(format!(
                "This server has no subscription #{number}."
            )))
        }
    })
    .await
}

/// A subscription's number as typed (`3` or `#3`).
fn number(s: &str) -> Result<i64, BotError> {
    s.trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| BotError::User("Pick a subscription from the list.".into()))
}

/// What a subscription follows, in a few words.
fn follows(s: &Subscription) -> String {
    match &s.follow {
        Follow::Topic { query } => format!("topic **{}**", escape_within(query, 100)),
        Follow::Story { story } => format!("story `{story}`"),
        Follow::Briefing { time, zone, count } => {
            format!("briefing of {count} at {} {zone}", time.format("%H:%M"))
        }
        Follow::Blindspot { side: Some(side) } => format!("{} blindspots", side.label()),
        Follow::Blindspot { side: None } => "blindspots".to_string(),
    }
}

/// One line per subscription: what, where, its options, and whether it is active.
fn describe(s: &Subscription) -> String {
    let mut what = follows(s);
    let options = s.options.describe();
    if !options.is_empty() {
        what.push_str(&format!(" ({})", options.join(", ")));
    }
    let place = match s.channel_kind {
        crate::model::ChannelKind::Forum => format!("forum <#{}>", s.channel_id),
        crate::model::ChannelKind::Text => format!("<#{}>", s.channel_id),
    };
    let state = match &s.paused_reason {
        None => "active".to_string(),
        Some(why) => format!("⏸️ paused: {why}"),
    };
    format!("`#{}` {what} in {place} · {state}", s.number)
}

async fn autocomplete_subscription(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let guild = interaction(ctx).ok().and_then(|i| i.guild_id);
    let subs = match guild {
        Some(g) => ctx
            .data()
            .app
            .store
            .guild_subscriptions(g.get())
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let p = partial.trim().to_lowercase();
    let choices = subs
        .iter()
        .map(|s| {
            let name = format!(
                "#{} {}",
                s.number,
                follows(s).replace("**", "").replace('`', "")
            );
            (
                crate::text::truncate_chars(&name, CHOICE_NAME_MAX),
                s.number.to_string(),
            )
        })
        .filter(|(name, _)| p.is_empty() || name.to_lowercase().contains(&p))
        .take(AUTOCOMPLETE_CHOICES_MAX)
        .map(|(name, id)| AutocompleteChoice::new(name, id))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

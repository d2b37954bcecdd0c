//! Subscriptions: `/subscribe topic`, `/subscribe story`, `/briefing`, `/subscriptions` and
//! `/unsubscribe`, the Discord side of [`crate::subscriptions`]. Server only; by default only
//! members with Manage Channels see them (`default_member_permissions`), and the permission is
//! checked again when a command runs. A subscription is accepted only once its confirmation is
//! posted in the channel, which proves the bot can post there; it never backfills.

use poise::serenity_prelude::{
    AutocompleteChoice, CommandInteraction, CreateAutocompleteResponse, PartialChannel,
};

use super::answer;
use crate::app::Lookup;
use crate::digest::markdown::escape_within;
use crate::discord::delivery::{self, ChannelPost};
use crate::discord::views::{self, Reply};
use crate::discord::{BotError, Context, Data};
use crate::model::{Follow, NewSubscription, StoryKey, Subscription};
use crate::payload::limits::{AUTOCOMPLETE_CHOICES_MAX, CHOICE_NAME_MAX, DESCRIPTION_MAX};
use crate::payload::{Embed, Message};
use crate::subscriptions::matcher::side_bits;
use crate::subscriptions::schedule;
use crate::subscriptions::subscribe::{
    self as workflow, PostError, Poster, Request, SubscribeError,
};

/// Follow a topic or a story in a channel
#[poise::command(
    slash_command,
    subcommands("topic", "follow_story"),
    subcommand_required,
    default_member_permissions = "MANAGE_CHANNELS",
    install_context = "Guild",
    interaction_context = "Guild"
)]
pub(crate) async fn subscribe(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Post new stories about a topic once enough outlets cover them
#[poise::command(slash_command, default_member_permissions = "MANAGE_CHANNELS")]
pub(crate) async fn topic(
    ctx: Context<'_>,
    #[description = "Words every story must contain, e.g. peace talks"]
    #[min_length = 2]
    #[max_length = 100]
    query: String,
    #[description = "Where to post (default: this channel)"]
    #[channel_types("Text", "News")]
    channel: Option<PartialChannel>,
    #[description = "Outlets a story needs first (default from the server's config)"]
    #[min = 1]
    #[max = 50]
    min_sources: Option<u8>,
) -> Result<(), BotError> {
    let data = ctx.data();
    let app = &data.app;
    let min = min_sources.map_or(app.settings.subscriptions.min_sources, i64::from);
    answer(ctx, async {
        let query = query.trim().to_string();
        if crate::store::SearchTerms::parse(&query).is_empty() {
            return Err(BotError::User("Give a few words to look for.".into()));
        }
        let watermark = app.store.newest_story().await?;
        let follow = Follow::Topic {
            query: query.clone(),
            min_sources: min,
        };
        let what = format!(
            "new stories about **{}** once {min} outlets cover them",
            escape_within(&query, 100)
        );
        create(ctx, follow, channel, watermark, (0, 0), &what).await
    })
    .await
}

/// Post an update when a story grows markedly
#[poise::command(
    slash_command,
    rename = "story",
    default_member_permissions = "MANAGE_CHANNELS"
)]
pub(crate) async fn follow_story(
    ctx: Context<'_>,
    #[description = "The story: words from its headline, or its id"]
    #[min_length = 1]
    #[max_length = 300]
    #[autocomplete = "super::story::autocomplete"]
    story: String,
    #[description = "Where to post (default: this channel)"]
    #[channel_types("Text", "News")]
    channel: Option<PartialChannel>,
) -> Result<(), BotError> {
    let app = &ctx.data().app;
    answer(ctx, async {
        let story = match app.find_story(&story).await? {
            Lookup::Found(s) => s,
            Lookup::NotFound { .. } | Lookup::EmptyStore => {
                return Err(BotError::User(format!(
                    "No story matches **{}**. Pick one from the suggestions.",
                    escape_within(&story, 100)
                )))
            }
        };
        let sides = side_bits(&app.coverage(&story).by_side);
        let growth = app.settings.subscriptions.growth_percent;
        let what = format!(
            "updates on **{}** when its coverage grows by {growth}% or reaches a new side",
            escape_within(&story.title, 200)
        );
        let follow = Follow::Story {
            story: story.id.clone(),
        };
        let progress = (story.article_count, sides);
        create(ctx, follow, channel, StoryKey(0), progress, &what).await
    })
    .await
}

/// A daily digest of the top stories at a local time
#[poise::command(
    slash_command,
    default_member_permissions = "MANAGE_CHANNELS",
    install_context = "Guild",
    interaction_context = "Guild"
)]
pub(crate) async fn briefing(
    ctx: Context<'_>,
    #[description = "Local time, 24-hour HH:MM, e.g. 07:30"]
    #[min_length = 3]
    #[max_length = 5]
    time: String,
    #[description = "Time zone, e.g. Europe/Paris or America/New_York"]
    #[max_length = 64]
    #[autocomplete = "autocomplete_zone"]
    timezone: String,
    #[description = "How many stories (1 to 10, default 5)"]
    #[min = 1]
    #[max = 10]
    count: Option<u8>,
    #[description = "Where to post (default: this channel)"]
    #[channel_types("Text", "News")]
    channel: Option<PartialChannel>,
) -> Result<(), BotError> {
    answer(ctx, async {
        let at = schedule::parse_time(&time).ok_or_else(|| {
            BotError::User(format!(
                "`{}` is not a time: use 24-hour HH:MM, e.g. 07:30.",
                escape_within(&time, 10)
            ))
        })?;
        let tz = schedule::parse_zone(&timezone).ok_or_else(|| {
            BotError::User(format!(
                "`{}` is not a time zone: use a name such as Europe/Paris (pick one from the \
                 suggestions).",
                escape_within(&timezone, 64)
            ))
        })?;
        let count = i64::from(count.unwrap_or(5).clamp(1, 10));
        let what = format!(
            "a briefing of the top {count} stories every day at {} ({tz})",
            at.format("%H:%M")
        );
        let follow = Follow::Briefing {
            time: at,
            zone: tz,
            count,
        };
        create(ctx, follow, channel, StoryKey(0), (0, 0), &what).await
    })
    .await
}

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
            text = "No subscriptions yet: `/subscribe topic`, `/subscribe story` or `/briefing`."
                .into();
        }
        let limit = ctx.data().app.settings.subscriptions.max_per_guild;
        let mut m = Message::embeds(vec![Embed {
            title: format!("Subscriptions ({} of {limit})", subs.len()),
            description: crate::text::truncate_utf16(&text, DESCRIPTION_MAX),
            ..Embed::default()
        }]);
        m = m.ephemeral();
        Ok(m.into())
    })
    .await
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
        let number: i64 = subscription
            .trim()
            .trim_start_matches('#')
            .parse()
            .map_err(|_| BotError::User("Pick a subscription from the list.".into()))?;
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

/// One line per subscription: what, where, and whether it is active.
fn describe(s: &Subscription) -> String {
    let what = match &s.follow {
        Follow::Topic { query, min_sources } => format!(
            "topic **{}** ({min_sources}+ sources)",
            escape_within(query, 100)
        ),
        Follow::Story { story } => format!("story `{story}`"),
        Follow::Briefing { time, zone, count } => {
            format!("briefing of {count} at {} {zone}", time.format("%H:%M"))
        }
    };
    let state = match &s.paused_reason {
        None => "active".to_string(),
        Some(why) => format!("⏸️ paused: {why}"),
    };
    format!("`#{}` {what} in <#{}> · {state}", s.number, s.channel_id)
}

fn interaction<'a>(ctx: Context<'a>) -> Result<&'a CommandInteraction, BotError> {
    match ctx {
        poise::Context::Application(a) => Ok(a.interaction),
        poise::Context::Prefix(_) => Err(BotError::Internal("not a slash command".into())),
    }
}

/// The server, and the member who asked, if they may manage subscriptions.
fn authorise(ctx: Context<'_>) -> Result<(u64, u64), BotError> {
    let i = interaction(ctx)?;
    let guild = i
        .guild_id
        .ok_or_else(|| refusal(SubscribeError::NotInServer))?;
    workflow::authorise(member_permissions(i)).map_err(refusal)?;
    Ok((guild.get(), i.user.id.get()))
}

fn member_permissions(i: &CommandInteraction) -> u64 {
    i.member
        .as_ref()
        .and_then(|m| m.permissions)
        .map_or(0, |p| p.bits())
}

/// Runs the subscribe workflow ([`crate::subscriptions::subscribe`]) for this command.
async fn create(
    ctx: Context<'_>,
    follow: Follow,
    channel: Option<PartialChannel>,
    watermark: StoryKey,
    (last_count, last_sides): (i64, i64),
    what: &str,
) -> Result<Reply, BotError> {
    let (guild, user) = authorise(ctx)?;
    let i = interaction(ctx)?;
    let data: &Data = ctx.data();
    let channel_id = channel.map_or(i.channel_id.get(), |c| c.id.get());
    let request = Request {
        new: NewSubscription {
            guild_id: guild,
            channel_id,
            follow,
            watermark,
            last_count,
            last_sides,
            created_by: user,
        },
        member_permissions: member_permissions(i),
        // Discord tells the bot's permissions for the channel the command came from only.
        bot_permissions_here: (channel_id == i.channel_id.get())
            .then(|| i.app_permissions.map(|p| p.bits()))
            .flatten(),
        what: what.to_string(),
        // One confirmation per command, however often the post is retried.
        nonce: format!("sbc{}", i.id.get()),
    };
    let limit = data.app.settings.subscriptions.max_per_guild;
    let poster = ChannelPoster { data };
    let now = data.clock.now();
    match workflow::subscribe(&data.app.store, limit, request, &poster, now).await {
        Ok(sub) => Ok(views::notice(&format!(
            "Subscribed <#{channel_id}> to {what} (#{n}). Remove it with `/unsubscribe` #{n}.",
            n = sub.number
        ))
        .into()),
        Err(e) => Err(refusal(e)),
    }
}

/// A workflow error as the user's answer: refusals as they are, faults as internal errors.
fn refusal(e: SubscribeError) -> BotError {
    match e {
        SubscribeError::Store(e) => e.into(),
        e if e.is_refusal() => BotError::User(e.to_string()),
        e => BotError::Internal(crate::error::chain(&e)),
    }
}

/// Posts confirmations in Discord channels.
struct ChannelPoster<'a> {
    data: &'a Data,
}

impl Poster for ChannelPoster<'_> {
    async fn confirm(&self, channel: u64, text: &str, nonce: &str) -> Result<u64, PostError> {
        let post = ChannelPost {
            message: Message::embeds(vec![Embed {
                description: text.to_string(),
                color: crate::digest::embed::colour(None),
                ..Embed::default()
            }]),
            content: None,
            nonce: Some(nonce.to_string()),
            enforce_nonce: true,
            message_reference: None,
        };
        delivery::post(self.data, channel, &post, Vec::new())
            .await
            .map_err(|e| match delivery::refusal(&e, channel) {
                Some(why) => PostError::Refused(why),
                None => PostError::Failed(Box::new(e)),
            })
    }

    async fn retract(&self, channel: u64, message: u64) {
        if let Err(e) = delivery::delete_post(self.data, channel, message).await {
            tracing::warn!(error = %crate::error::Chain(&e), "cannot delete the confirmation of a refused subscription");
        }
    }
}

async fn autocomplete_zone(_ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let p = partial.trim().to_lowercase();
    let choices = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|n| p.is_empty() || n.to_lowercase().contains(&p))
        .take(AUTOCOMPLETE_CHOICES_MAX)
        .map(|n| AutocompleteChoice::new(n, n))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
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
            let name = match &s.follow {
                Follow::Topic { query, .. } => format!("#{} topic: {query}", s.number),
                Follow::Story { story } => format!("#{} story {story}", s.number),
                Follow::Briefing { time, zone, .. } => {
                    format!("#{} briefing {} {zone}", s.number, time.format("%H:%M"))
                }
            };
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

//! New subscriptions: `/subscribe topic`, `/subscribe story`, `/subscribe blindspot` and
//! `/briefing`, the Discord side of [`crate::subscriptions`], with the options every kind
//! shares ([`Extras`]). Server only; by default only members with Manage Channels see them
//! (`default_member_permissions`), and the permission is checked again when a command runs. A
//! subscription is accepted only once its confirmation is posted in the channel (or, for a
//! forum, the bot sees it), which proves the bot can post there; it never backfills.
//! [`super::subscription`] lists, edits and removes them.

use poise::serenity_prelude::{
    AutocompleteChoice, ChannelType, CommandInteraction, CreateAutocompleteResponse,
    PartialChannel, Role,
};

use super::answer;
use crate::app::Lookup;
use crate::digest::markdown::escape_within;
use crate::discord::delivery;
use crate::discord::messages::{self, ChannelPost};
use crate::discord::views::{self, Reply};
use crate::discord::{BotError, Context, Data};
use crate::model::{
    ChannelKind, Follow, NewSubscription, PostOptions, Side, SideFilter, StoryKey, Updates,
};
use crate::payload::limits::AUTOCOMPLETE_CHOICES_MAX;
use crate::payload::{Embed, Message};
use crate::subscriptions::matcher::side_bits;
use crate::subscriptions::schedule;
use crate::subscriptions::subscribe::{
    self as workflow, PostError, Poster, Request, RoleInfo, SubscribeError,
};

/// Follow a topic or a story in a channel
#[poise::command(
    slash_command,
    subcommands("topic", "follow_story", "follow_blindspot"),
    subcommand_required,
    default_member_permissions = "MANAGE_CHANNELS",
    install_context = "Guild",
    interaction_context = "Guild"
)]
pub(crate) async fn subscribe(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// How a story's later updates are posted.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub(crate) enum UpdatesChoice {
    #[name = "reply: as replies to the story's post"]
    Reply,
    #[name = "thread: in a thread started from the story's post"]
    Thread,
    #[name = "off: post each story once"]
    Off,
}

impl From<UpdatesChoice> for Updates {
    fn from(c: UpdatesChoice) -> Updates {
        match c {
            UpdatesChoice::Reply => Updates::Reply,
            UpdatesChoice::Thread => Updates::Thread,
            UpdatesChoice::Off => Updates::Off,
        }
    }
}

/// A partisan side, for blindspot alerts.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub(crate) enum PartisanSide {
    #[name = "left: stories the left barely covers"]
    Left,
    #[name = "right: stories the right barely covers"]
    Right,
}

/// The options every kind of subscription takes, as given (all optional).
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub role: Option<Role>,
    pub exclude: Option<String>,
    pub side: Option<String>,
    pub min_sources: Option<u8>,
    pub max_per_day: Option<u8>,
    pub updates: Option<UpdatesChoice>,
}

impl Extras {
    /// Applies the options given onto `o`, checking each. `none` clears `exclude`, `any`
    /// clears `side`, 0 clears `min_sources` and `max_per_day`.
    pub(crate) fn apply(&self, o: &mut PostOptions) -> Result<(), BotError> {
        if let Some(role) = &self.role {
            o.role = Some(role.id.get());
        }
        if let Some(words) = &self.exclude {
            o.exclude = if words.trim().eq_ignore_ascii_case("none") {
                Vec::new()
            } else {
                crate::model::parse_exclude(words).map_err(BotError::User)?
            };
        }
        if let Some(side) = &self.side {
            o.side = if side.trim().eq_ignore_ascii_case("any") {
                None
            } else {
                Some(SideFilter::parse(side).map_err(BotError::User)?)
            };
        }
        if let Some(n) = self.min_sources {
            o.min_sources = i64::from(n);
        }
        if let Some(n) = self.max_per_day {
            o.max_per_day = i64::from(n).min(crate::model::MAX_PER_DAY_MAX);
        }
        if let Some(u) = self.updates {
            o.updates = u.into();
        }
        Ok(())
    }

    /// The role as the workflow checks it (`@everyone`'s id is the server's).
    pub(crate) fn role_info(&self, guild: u64) -> Option<RoleInfo> {
        self.role.as_ref().map(|r| RoleInfo {
            id: r.id.get(),
            mentionable: r.mentionable,
            everyone: r.id.get() == guild,
        })
    }
}

/// Post new stories about a topic once enough outlets cover them
#[poise::command(slash_command, default_member_permissions = "MANAGE_CHANNELS")]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn topic(
    ctx: Context<'_>,
    #[description = "Words every story must contain, e.g. peace talks"]
    #[min_length = 2]
    #[max_length = 100]
    query: String,
    #[description = "Where to post: a text channel or a forum (default: this channel)"]
    #[channel_types("Text", "News", "Forum")]
    channel: Option<PartialChannel>,
    #[description = "Outlets a story needs first (default from the server's config)"]
    #[min = 1]
    #[max = 50]
    min_sources: Option<u8>,
    #[description = "A role to ping on each new story"] role: Option<Role>,
    #[description = "Leave out stories with any of these words, e.g. poll, polls"]
    #[max_length = 200]
    exclude: Option<String>,
    #[description = "Only stories a side barely covers or mostly covers, e.g. right blindspot, left 40%"]
    #[max_length = 40]
    #[autocomplete = "autocomplete_side"]
    side: Option<String>,
    #[description = "At most this many posts a day; the rest come as a short list the next day"]
    #[min = 1]
    #[max = 100]
    max_per_day: Option<u8>,
    #[description = "Post a story's updates as it grows (in a forum: into its post)"]
    updates: Option<UpdatesChoice>,
) -> Result<(), BotError> {
    let app = &ctx.data().app;
    let extras = Extras {
        role,
        exclude,
        side,
        min_sources: Some(min_sources.unwrap_or(app.settings.subscriptions.min_sources as u8)),
        max_per_day,
        updates,
    };
    answer(ctx, async {
        let query = query.trim().to_string();
        if crate::store::SearchTerms::parse(&query).is_empty() {
            return Err(BotError::User("Give a few words to look for.".into()));
        }
        let watermark = app.store.newest_story().await?;
        let what = format!("new stories about **{}**", escape_within(&query, 100));
        let follow = Follow::Topic { query };
        Box::pin(create(
            ctx,
            follow,
            channel,
            watermark,
            (0, 0),
            &what,
            extras,
        ))
        .await
    })
    .await
}

/// Post each new story that one side barely covers
#[poise::command(
    slash_command,
    rename = "blindspot",
    default_member_permissions = "MANAGE_CHANNELS"
)]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn follow_blindspot(
    ctx: Context<'_>,
    #[description = "Which side's blindspots (default: both)"] side: Option<PartisanSide>,
    #[description = "Where to post: a text channel or a forum (default: this channel)"]
    #[channel_types("Text", "News", "Forum")]
    channel: Option<PartialChannel>,
    #[description = "Outlets a story needs first (default from the server's config)"]
    #[min = 1]
    #[max = 50]
    min_sources: Option<u8>,
    #[description = "A role to ping on each new story"] role: Option<Role>,
    #[description = "Leave out stories with any of these words, e.g. poll, polls"]
    #[max_length = 200]
    exclude: Option<String>,
    #[description = "At most this many posts a day; the rest come as a short list the next day"]
    #[min = 1]
    #[max = 100]
    max_per_day: Option<u8>,
    #[description = "Post a story's updates as it grows (in a forum: into its post)"]
    updates: Option<UpdatesChoice>,
) -> Result<(), BotError> {
    let app = &ctx.data().app;
    let extras = Extras {
        role,
        exclude,
        side: None,
        min_sources: Some(min_sources.unwrap_or(app.settings.subscriptions.min_sources as u8)),
        max_per_day,
        updates,
    };
    answer(ctx, async {
        let side = side.map(|s| match s {
            PartisanSide::Left => Side::Left,
            PartisanSide::Right => Side::Right,
        });
        let what = match side {
            Some(s) => format!(
                "new stories that the {} barely covers",
                s.label().to_lowercase()
            ),
            None => "new stories that one side barely covers".to_string(),
        };
        let watermark = app.store.newest_story().await?;
        let follow = Follow::Blindspot { side };
        Box::pin(create(
            ctx,
            follow,
            channel,
            watermark,
            (0, 0),
            &what,
            extras,
        ))
        .await
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
    #[description = "Where to post: a text channel or a forum (default: this channel)"]
    #[channel_types("Text", "News", "Forum")]
    channel: Option<PartialChannel>,
    #[description = "A role to ping on each update"] role: Option<Role>,
    #[description = "Updates as replies (default) or in a thread; in a forum, into its post"]
    updates: Option<UpdatesChoice>,
) -> Result<(), BotError> {
    let app = &ctx.data().app;
    let extras = Extras {
        role,
        updates,
        ..Extras::default()
    };
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
        let view = app.summary(&story);
        let sides = side_bits(&view.coverage.by_side);
        let growth = app.settings.subscriptions.growth_percent;
        let what = format!(
            "updates on **{}** when its coverage grows by {growth}% or reaches a new side",
            escape_within(&view.title, 200)
        );
        let follow = Follow::Story {
            story: story.id.clone(),
        };
        let progress = (story.article_count, sides);
        Box::pin(create(
            ctx,
            follow,
            channel,
            StoryKey(0),
            progress,
            &what,
            extras,
        ))
        .await
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
#[allow(clippy::too_many_arguments)]
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
    #[description = "Where to post: a text channel or a forum (default: this channel)"]
    #[channel_types("Text", "News", "Forum")]
    channel: Option<PartialChannel>,
    #[description = "A role to ping on each briefing"] role: Option<Role>,
    #[description = "Leave out stories with any of these words, e.g. poll, polls"]
    #[max_length = 200]
    exclude: Option<String>,
    #[description = "Only stories a side barely covers or mostly covers, e.g. right blindspot, left 40%"]
    #[max_length = 40]
    #[autocomplete = "autocomplete_side"]
    side: Option<String>,
    #[description = "Outlets a story needs (default: any)"]
    #[min = 1]
    #[max = 50]
    min_sources: Option<u8>,
) -> Result<(), BotError> {
    let extras = Extras {
        role,
        exclude,
        side,
        min_sources,
        ..Extras::default()
    };
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
        Box::pin(create(
            ctx,
            follow,
            channel,
            StoryKey(0),
            (0, 0),
            &what,
            extras,
        ))
        .await
    })
    .await
}

pub(super) fn interaction<'a>(ctx: Context<'a>) -> Result<&'a CommandInteraction, BotError> {
    match ctx {
        poise::Context::Application(a) => Ok(a.interaction),
        poise::Context::Prefix(_) => Err(BotError::Internal("not a slash command".into())),
    }
}

/// The server, and the member who asked, if they may manage subscriptions.
pub(super) fn authorise(ctx: Context<'_>) -> Result<(u64, u64), BotError> {
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

/// The channel a subscription posts in (the option, else the command's channel) and its kind.
fn target_channel(i: &CommandInteraction, channel: Option<PartialChannel>) -> (u64, ChannelKind) {
    let kind = |k: ChannelType| match k {
        ChannelType::Forum => ChannelKind::Forum,
        _ => ChannelKind::Text,
    };
    match channel {
        Some(c) => (c.id.get(), kind(c.kind)),
        None => (
            i.channel_id.get(),
            i.channel
                .as_ref()
                .map_or(ChannelKind::Text, |c| kind(c.kind)),
        ),
    }
}

/// Runs the subscribe workflow ([`crate::subscriptions::subscribe`]) for this command.
async fn create(
    ctx: Context<'_>,
    follow: Follow,
    channel: Option<PartialChannel>,
    watermark: StoryKey,
    (last_count, last_sides): (i64, i64),
    what: &str,
    extras: Extras,
) -> Result<Reply, BotError> {
    let (guild, user) = authorise(ctx)?;
    let i = interaction(ctx)?;
    let data: &Data = ctx.data();
    let (channel_id, channel_kind) = target_channel(i, channel);
    let mut options = PostOptions::default();
    extras.apply(&mut options)?;
    if let (Follow::Story { .. }, None) = (&follow, extras.updates) {
        // A followed story's updates: replies, or inside its forum post.
        options.updates = match channel_kind {
            ChannelKind::Text => Updates::Reply,
            ChannelKind::Forum => Updates::Thread,
        };
    }
    let details = options.describe();
    let what = if details.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({})", details.join(", "))
    };
    let request = Request {
        new: NewSubscription {
            guild_id: guild,
            channel_id,
            channel_kind,
            follow,
            options,
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
        what: what.clone(),
        // One confirmation per command, however often the post is retried.
        nonce: format!("sbc{}", i.id.get()),
        role: extras.role_info(guild),
    };
    let limit = data.app.settings.subscriptions.max_per_guild;
    let poster = ChannelPoster { data };
    let now = data.clock.now();
    match workflow::subscribe(&data.app.store, limit, request, &poster, now).await {
        Ok(sub) => {
            data.outbox.notify_one();
            Ok(views::notice(&format!(
                "Subscribed <#{channel_id}> to {what} (#{n}). Change it with `/subscription edit`, \
                 remove it with `/unsubscribe` #{n}.",
                n = sub.number
            ))
            .into())
        }
        Err(e) => Err(refusal(e)),
    }
}

/// A workflow error as the user's answer: refusals as they are, faults as internal errors.
pub(super) fn refusal(e: SubscribeError) -> BotError {
    match e {
        SubscribeError::Store(e) => e.into(),
        e if e.is_refusal() => BotError::User(e.to_string()),
        e => BotError::Internal(Box::new(e)),
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
                thumbnail: None,
                description: text.to_string(),
                color: crate::digest::embed::colour(None),
                ..Embed::default()
            }]),
            content: None,
            nonce: Some(nonce.to_string()),
            enforce_nonce: true,
            message_reference: None,
        };
        messages::post(self.data, channel, &post, Vec::new())
            .await
            .map_err(|e| post_error(e, channel))
    }

    async fn check_forum(&self, channel: u64) -> Result<(), PostError> {
        crate::discord::posting::check_forum(self.data, channel)
            .await
            .map_err(|e| post_error(e, channel))
    }

    async fn retract(&self, channel: u64, message: u64) {
        if let Err(e) = messages::delete_post(self.data, channel, message).await {
            tracing::warn!(error = %crate::error::Chain(&e), "cannot delete the confirmation of a refused subscription");
        }
    }
}

fn post_error(e: crate::discord::rest::RestError, channel: u64) -> PostError {
    match delivery::refusal(&e, channel) {
        Some(why) => PostError::Refused(why),
        None => PostError::Failed(Box::new(e)),
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

/// Side filters people can pick, and what they typed when it reads as one.
pub(super) async fn autocomplete_side(
    _ctx: Context<'_>,
    partial: &str,
) -> CreateAutocompleteResponse {
    let mut values: Vec<String> = vec![
        "any".into(),
        "left blindspot".into(),
        "right blindspot".into(),
    ];
    for side in ["left", "center", "right"] {
        for share in [30, 40, 50] {
            values.push(format!("{side} {share}%"));
        }
    }
    let p = partial.trim().to_lowercase();
    if let Ok(f) = SideFilter::parse(&p) {
        values.retain(|v| *v != f.text());
        values.insert(0, f.text());
    }
    let choices = values
        .into_iter()
        .filter(|v| {
            p.is_empty() || v.contains(&p) || SideFilter::parse(&p).is_ok_and(|f| *v == f.text())
        })
        .take(AUTOCOMPLETE_CHOICES_MAX)
        .map(|v| AutocompleteChoice::new(v.clone(), v))
        .collect();
    CreateAutocompleteResponse::new().set_choices(choices)
}

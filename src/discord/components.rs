//! Buttons and menus: the headline pages of a digest and the story menu of `/top` and
//! `/blindspot`. All state comes from the component's `custom_id` ([`super::custom_id`]) and
//! the store, so they keep working after a restart; a story that has gone gets a clear answer.

use poise::serenity_prelude::{ComponentInteraction, ComponentInteractionDataKind};

use super::custom_id::{Action, Filter};
use super::respond::{respond, InteractionKind, InteractionRef, Style};
use super::views::{self, Reply};
use super::{BotError, Data};
use crate::digest::{articles_per_side, outlets_on_side};
use crate::model::{Story, StoryId};
use crate::store::{Order, StoreError};

const GONE: &str = "That story is no longer available: it may have expired or been removed. \
                    Use `/top` for the current stories.";
const UNKNOWN: &str = "This button belongs to an older version of storybot and no longer \
                       works. Run the command again for a fresh one.";

/// Answers a button press or menu choice.
pub(crate) async fn handle(data: &Data, interaction: &ComponentInteraction) {
    let custom_id = interaction.data.custom_id.as_str();
    let action = Action::parse(custom_id);
    let (name, style) = match &action {
        Some(Action::Headlines { update: true, .. }) => ("headlines page", Style::UpdateMessage),
        Some(Action::Headlines { .. }) => ("headlines", Style::NewMessage),
        Some(Action::OpenStory) => ("open story", Style::NewMessage),
        None => ("unknown component", Style::NewMessage),
    };
    let ix = InteractionRef {
        id: interaction.id.get(),
        token: &interaction.token,
        application_id: interaction.application_id.get(),
        kind: InteractionKind::Component,
        name,
    };
    let chosen = match &interaction.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => values.first().cloned(),
        _ => None,
    };
    respond(data, ix, style, work(data, action, chosen)).await;
}

async fn work(
    data: &Data,
    action: Option<Action>,
    chosen: Option<String>,
) -> Result<Reply, BotError> {
    let app = &data.app;
    match action {
        None => Err(BotError::User(UNKNOWN.into())),
        Some(Action::Headlines {
            story,
            filter,
            page,
            update: _,
        }) => match app.store.story(&story).await? {
            Some(story) => Ok(headline_page(app, &story, filter, page).await?.into()),
            None => Err(BotError::User(GONE.into())),
        },
        Some(Action::OpenStory) => {
            let id = chosen
                .as_deref()
                .and_then(StoryId::parse)
                .ok_or_else(|| BotError::User("Choose a story from the menu.".into()))?;
            match app.store.story(&id).await? {
                Some(story) => {
                    let mut reply = super::digest_reply(app, &story).await?;
                    reply.message = reply.message.ephemeral();
                    Ok(reply)
                }
                None => Err(BotError::User(GONE.into())),
            }
        }
    }
}

/// A page of a story's headlines: only that page's articles are read.
async fn headline_page(
    app: &crate::app::App,
    story: &Story,
    filter: Filter,
    page: u32,
) -> Result<crate::payload::Message, StoreError> {
    let (names, total) = match filter {
        Filter::All => (None, story.article_count),
        Filter::Side(side) => (
            Some(outlets_on_side(story, &app.outlets, side)),
            articles_per_side(story, &app.outlets)[side as usize],
        ),
    };
    let pages = (total.max(0) as usize).div_ceil(views::PAGE_SIZE).max(1);
    let page = page.min(pages as u32 - 1);
    let size = views::PAGE_SIZE as i64;
    let articles = app
        .store
        .story_articles(
            story.key,
            names.as_deref(),
            Order::NewestFirst,
            i64::from(page) * size,
            size,
        )
        .await?;
    Ok(views::headlines(
        &app.summary(story),
        &articles,
        &app.outlets,
        filter,
        page,
        total,
    ))
}

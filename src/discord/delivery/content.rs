//! What a delivery posts, and where: a story's digest with a line saying why (a new story, a
//! story that grew, the next event of its topic), a briefing, or the short list of posts held
//! over `max_per_day`; in the channel, as a reply, in a thread, or as a forum post. Also what
//! the sent delivery records besides itself (a story post, listed rows, a thread).

use crate::discord::messages::{ChannelPost, MessageReference};
use crate::discord::posting::Target;
use crate::discord::Data;
use crate::model::{ChannelKind, Delivery, Follow, StoryId, Subscription, Updates};
use crate::payload::limits::{CONTENT_MAX, NONCE_MAX};
use crate::payload::{AllowedMentions, Message};
use crate::store::subscriptions::HELD_LIST;
use crate::store::StoreError;
use crate::text::truncate_utf16;

/// A delivery ready to send: where, what, and what to record once sent.
pub(super) struct Ready {
    pub(super) target: Target,
    pub(super) post: ChannelPost,
    pub(super) files: Vec<crate::discord::rest::File>,
    pub(super) after: After,
}

/// What a sent delivery records besides itself.
#[derive(Debug, Default)]
pub(super) struct After {
    /// A topic's or blindspot alert's new story post, at (articles, sides).
    pub(super) story_post: Option<(i64, i64)>,
    /// Held rows its short list carries.
    pub(super) listed: Vec<i64>,
    /// The post becomes the message a followed story's updates reply to.
    pub(super) anchor: bool,
    /// The post's thread takes a followed story's updates from now on.
    pub(super) thread: bool,
}

/// The post for a delivery, or `None` when its story has gone.
pub(super) async fn render(
    data: &Data,
    sub: &Subscription,
    d: &Delivery,
) -> Result<Option<Ready>, StoreError> {
    let rendered = if d.subject == HELD_LIST {
        short_list(data, sub, d).await?
    } else if let Follow::Briefing { count, .. } = &sub.follow {
        briefing(data, sub, *count).await?
    } else {
        match story_post(data, sub, d).await? {
            Some(r) => r,
            None => return Ok(None),
        }
    };
    assert!(
        d.nonce.len() <= NONCE_MAX,
        "nonce {:?} is too long",
        d.nonce
    );
    let mut message = rendered.message;
    let mut content = rendered.content;
    if let Some(role) = sub.options.role.filter(|_| rendered.pings) {
        message.allowed_mentions = AllowedMentions::role(role);
        content = Some(match content {
            Some(c) => format!("<@&{role}> {c}"),
            None => format!("<@&{role}>"),
        });
    }
    let reply_to = match &rendered.target {
        Target::Message { reply_to, .. } => *reply_to,
        _ => None,
    };
    Ok(Some(Ready {
        post: ChannelPost {
            message,
            content: content.map(|c| truncate_utf16(&c, CONTENT_MAX)),
            nonce: Some(d.nonce.clone()),
            enforce_nonce: true,
            message_reference: reply_to.map(|m| MessageReference {
                message_id: m.to_string(),
                fail_if_not_exists: false,
            }),
        },
        target: rendered.target,
        files: rendered.files,
        after: rendered.after,
    }))
}

/// What a delivery posts.
struct Rendered {
    content: Option<String>,
    target: Target,
    message: Message,
    files: Vec<crate::discord::rest::File>,
    /// Whether the subscription's role is pinged (new posts; not a story's updates).
    pings: bool,
    after: After,
}

/// Where a new post of `sub` goes: the channel, or a new post in its forum.
fn new_post(sub: &Subscription, name: &str, tags: Vec<String>) -> Target {
    match sub.channel_kind {
        ChannelKind::Text => Target::Message {
            channel: sub.channel_id,
            reply_to: None,
        },
        ChannelKind::Forum => Target::ForumPost {
            forum: sub.channel_id,
            name: name.to_string(),
            tags,
        },
    }
}

/// Where an update of a posted story goes: into its forum post, into a thread started from
/// its post, or as a reply to its post.
fn update(sub: &Subscription, channel: u64, message: u64, name: &str) -> Target {
    match (sub.channel_kind, sub.options.updates) {
        (ChannelKind::Forum, _) => Target::InThread { thread: channel },
        (ChannelKind::Text, Updates::Thread) => Target::ThreadOn {
            channel,
            message,
            name: name.to_string(),
        },
        (ChannelKind::Text, _) => Target::Message {
            channel,
            reply_to: Some(message),
        },
    }
}

async fn briefing(data: &Data, sub: &Subscription, count: i64) -> Result<Rendered, StoreError> {
    let app = &data.app;
    let stories = app
        .trending_where(count as usize, |s, c| {
            (!app.settings.factuality.top_skips_low || !c.factuality.mostly_low)
                && crate::subscriptions::matcher::passes(app, sub, s)
        })
        .await?;
    let title = "Your daily briefing: the top stories";
    let message = crate::discord::story_list(app, title, &stories, "No stories right now.").await?;
    let name = format!("Daily briefing, {}", data.clock.now().format("%Y-%m-%d"));
    Ok(Rendered {
        content: None,
        target: new_post(sub, &name, vec!["briefing".into()]),
        message,
        files: Vec::new(),
        pings: true,
        after: After::default(),
    })
}

/// The stories held over `max_per_day` before the delivery's day, most covered first.
async fn short_list(data: &Data, sub: &Subscription, d: &Delivery) -> Result<Rendered, StoreError> {
    let app = &data.app;
    let held = app
        .store
        .held(
            sub.id,
            crate::store::subscriptions::day_start(d.created_at),
            500,
        )
        .await?;
    let mut stories = Vec::new();
    for h in &held {
        if let Some(story) = StoryId::parse(&h.subject) {
            if let Some(s) = app.store.story(&story).await? {
                if !stories.iter().any(|x: &crate::model::Story| x.id == s.id) {
                    stories.push(s);
                }
            }
        }
    }
    stories.sort_by_key(|s| std::cmp::Reverse(s.outlets.len()));
    let shown = stories.len().min(crate::discord::views::LIST_MAX);
    let mut content = format!(
        "{} more {} matched beyond this subscription's limit of {} a day",
        stories.len(),
        if stories.len() == 1 {
            "story"
        } else {
            "stories"
        },
        sub.options.max_per_day
    );
    if stories.len() > shown {
        content.push_str(&format!(
            "; the {shown} most covered are below, and {} more are in `/top` and `/story`",
            stories.len() - shown
        ));
    }
    content.push('.');
    let title = "Held over from earlier: the stories over the daily limit";
    let message =
        crate::discord::story_list(app, title, &stories, "Those stories no longer exist.").await?;
    let name = format!("More stories, {}", d.created_at.format("%Y-%m-%d"));
    Ok(Rendered {
        content: Some(content),
        target: new_post(sub, &name, Vec::new()),
        message,
        files: Vec::new(),
        pings: false,
        after: After {
            listed: held.iter().map(|h| h.id).collect(),
            ..After::default()
        },
    })
}

/// A story's digest with a line saying why it is posted (a new story for a topic or a
/// blindspot alert; a story that grew, or the next event of its topic, as an update of its
/// earlier post); `None` when the story is gone.
async fn story_post(
    data: &Data,
    sub: &Subscription,
    d: &Delivery,
) -> Result<Option<Rendered>, StoreError> {
    let app = &data.app;
    let Some(id) = StoryId::parse(&d.subject) else {
        return Ok(None);
    };
    let Some(story) = app.store.story(&id).await? else {
        return Ok(None);
    };
    let reply = crate::discord::digest_reply(app, &story).await?;
    // The title a post carries is the digest's (the model's when it wrote one).
    let view = app.summary(&story);
    let c = &view.coverage;
    let sides = crate::subscriptions::matcher::side_bits(&c.by_side);
    let mut tags = vec![c.dominant().map_or("", |s| s.label()).to_string()];
    if let Some(side) = c.blindspot {
        tags.push("blindspot".into());
        tags.push(format!("{} blindspot", side.label()));
    }
    let grew = format!(
        "This story grew: {} articles from {} sources",
        story.article_count, c.sources
    );
    let (content, target, pings, after) = match &sub.follow {
        Follow::Topic { .. } | Follow::Blindspot { .. } if d.revision > 0 => {
            let Some(post) = app.store.story_post(sub.id, id.as_str()).await? else {
                return Ok(None);
            };
            let target = update(sub, post.channel_id, post.message_id, &view.title);
            (grew, target, false, After::default())
        }
        Follow::Topic { query } => {
            tags.push(query.clone());
            let line = format!(
                "New story for **{}**: {} sources",
                crate::digest::markdown::escape_within(query, 100),
                c.sources
            );
            let after = After {
                story_post: Some((story.article_count, sides)),
                ..After::default()
            };
            (line, new_post(sub, &view.title, tags), true, after)
        }
        Follow::Blindspot { .. } => {
            let who = c.blindspot.map_or("one side", |s| s.label());
            let line = format!(
                "New blindspot: few {who} sources cover this story ({} sources)",
                c.sources
            );
            let after = After {
                story_post: Some((story.article_count, sides)),
                ..After::default()
            };
            (line, new_post(sub, &view.title, tags), true, after)
        }
        _ => followed(sub, d, &story, &view.title, c.sources, tags),
    };
    Ok(Some(Rendered {
        content: Some(content),
        target,
        message: reply.message,
        files: reply.files,
        pings,
        after,
    }))
}

/// A followed story's post: its first forum post, the next event of its topic (revision 0),
/// or an update.
fn followed(
    sub: &Subscription,
    d: &Delivery,
    story: &crate::model::Story,
    title: &str,
    sources: usize,
    tags: Vec<String>,
) -> (String, Target, bool, After) {
    let counts = format!("{} articles from {sources} sources", story.article_count);
    let line = if d.revision == 0 {
        format!("The story continues in a new event: {counts}")
    } else {
        format!("This story grew: {counts}")
    };
    match (sub.channel_kind, sub.thread_id, sub.anchor_message) {
        // A forum: the story's post, made first (or anew for the next event).
        (ChannelKind::Forum, thread, _) if thread.is_none() || d.revision == 0 => {
            let line = if thread.is_none() {
                format!("Following this story: {counts}")
            } else {
                line
            };
            let after = After {
                thread: true,
                ..After::default()
            };
            (line, new_post(sub, title, tags), true, after)
        }
        (ChannelKind::Forum, Some(thread), _) => {
            (line, Target::InThread { thread }, true, After::default())
        }
        (_, _, Some(anchor)) if sub.options.updates == Updates::Thread => (
            line,
            update(sub, sub.channel_id, anchor, title),
            true,
            After::default(),
        ),
        (_, _, anchor) => (
            line,
            Target::Message {
                channel: sub.channel_id,
                reply_to: anchor,
            },
            true,
            After {
                anchor: true,
                ..After::default()
            },
        ),
    }
}

//! Every message the bot sends, built from stories: the digest with its buttons, pages of
//! headlines (all, or one side), story lists with a menu, "not found" with the closest
//! titles, `/about`, and short notices. Pure functions of their inputs, so tests can
//! validate each against Discord's schema without a connection.

use crate::digest::embed::{self as payload, field, headline_line};
use crate::digest::markdown::{escape_within, link_url};
use crate::digest::{articles_per_side, png, Digest, Headline, RATINGS_ATTRIBUTION};
use crate::model::{Article, Side, Story, StoryId};
use crate::outlets::OutletDirectory;
use crate::payload::limits::{DESCRIPTION_MAX, TITLE_MAX};
use crate::payload::{
    ActionRow, Button, ButtonStyle, Embed, Footer, Message, SelectOption, StringSelect,
};
use crate::store::StoryRow;
use crate::text::{truncate_utf16, utf16_len};

use super::custom_id::{Action, Filter};
use super::rest::File;

/// Headlines per page of the headline list.
pub(crate) const PAGE_SIZE: usize = 8;
/// Stories per list (`/top`, `/blindspot`): ten lines fit one embed description.
pub(crate) const LIST_MAX: usize = 10;
/// The answer to a lookup while the store holds no story.
pub(crate) const NO_STORIES_YET: &str =
    "No stories yet: the bot is still collecting the news. Try again in a few minutes.";

/// A message and the files it attaches.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub message: Message,
    pub files: Vec<File>,
}

impl From<Message> for Reply {
    fn from(message: Message) -> Reply {
        Reply {
            message,
            files: Vec::new(),
        }
    }
}

/// The full digest: embed, bias bar PNG, and buttons for more headlines, each side's
/// headlines and the top article.
pub(crate) fn digest(story: &Story, d: &Digest, outlets: &OutletDirectory) -> Reply {
    let mut message = payload::message(d);
    let mut files = Vec::new();
    match png::bias_bar(&d.coverage) {
        Ok(bytes) => files.push(File {
            name: payload::BIAS_PNG.into(),
            bytes,
        }),
        Err(e) => {
            // The digest still goes out, with the emoji bar it always has.
            tracing::warn!(error = %e, story = %story.id, "bias bar image failed");
            message.attachments.clear();
            for embed in &mut message.embeds {
                embed.image = None;
            }
        }
    }
    let counts = articles_per_side(story, outlets);
    let mut row = vec![Button::action(
        ButtonStyle::Primary,
        &format!("More headlines · {}", story.article_count),
        Action::Headlines {
            story: story.id.clone(),
            filter: Filter::All,
            page: 0,
            update: false,
        }
        .encode(),
        story.article_count == 0,
    )];
    for side in Side::ALL {
        let n = counts[side as usize];
        row.push(Button::action(
            ButtonStyle::Secondary,
            &format!("{} · {n}", side.label()),
            Action::Headlines {
                story: story.id.clone(),
                filter: Filter::Side(side),
                page: 0,
                update: false,
            }
            .encode(),
            n == 0,
        ));
    }
    if let Some(url) = d.headlines.first().and_then(|h| link_url(&h.url)) {
        row.push(Button::link("Top article", url));
    }
    message.set_components(vec![ActionRow::new(row)]);
    Reply { message, files }
}

/// One page of a story's headlines (`articles`, newest first, of `total` in the list) under
/// the title its digest shows, with
/// paging and side buttons that edit this same (ephemeral) message.
pub(crate) fn headlines(
    story: &Digest,
    articles: &[Article],
    outlets: &OutletDirectory,
    filter: Filter,
    page: u32,
    total: i64,
) -> Message {
    let pages = (total.max(0) as usize).div_ceil(PAGE_SIZE).max(1);
    let mut description = String::new();
    for h in articles.iter().map(|a| Headline::of(a, outlets)) {
        if let Some(line) = headline_line(&h) {
            let line = format!("{line} · <t:{}:R>\n", h.published.timestamp());
            if utf16_len(&description) + utf16_len(&line) > DESCRIPTION_MAX {
                break;
            }
            description.push_str(&line);
        }
    }
    let which = match filter {
        Filter::All => "All headlines".to_string(),
        Filter::Side(side) => format!("{} headlines", side.label()),
    };
    if total == 0 {
        description = match filter {
            Filter::All => "No headlines.".into(),
            Filter::Side(side) => format!(
                "No outlet rated {} covers this story yet.",
                side.label().to_lowercase()
            ),
        };
    }
    let embed = Embed {
        thumbnail: None,
        title: escape_within(&story.title, TITLE_MAX),
        description,
        color: payload::colour(match filter {
            Filter::All => None,
            Filter::Side(s) => Some(s),
        }),
        footer: Footer {
            text: format!(
                "{which} · page {} of {pages} · {total} articles · story {}",
                page + 1,
                story.id
            ),
        },
        ..Embed::default()
    };
    let mut m = Message::embeds(vec![embed]).ephemeral();
    m.set_components(headline_buttons(&story.id, filter, page, pages));
    m
}

/// Previous / Next, and one button per side, for a page of headlines.
fn headline_buttons(story: &StoryId, filter: Filter, page: u32, pages: usize) -> Vec<ActionRow> {
    let action = |filter: Filter, page: u32| {
        Action::Headlines {
            story: story.clone(),
            filter,
            page,
            update: true,
        }
        .encode()
    };
    let paging = ActionRow::new(vec![
        Button::action(
            ButtonStyle::Secondary,
            "◀ Previous",
            action(filter, page.saturating_sub(1)),
            page == 0,
        ),
        Button::action(
            ButtonStyle::Secondary,
            "Next ▶",
            action(filter, page + 1),
            page as usize + 1 >= pages,
        ),
    ]);
    let filters = ActionRow::new(
        [
            Filter::All,
            Filter::Side(Side::Left),
            Filter::Side(Side::Center),
            Filter::Side(Side::Right),
        ]
        .into_iter()
        .map(|f| {
            let label = match f {
                Filter::All => "All",
                Filter::Side(s) => s.label(),
            };
            Button::action(ButtonStyle::Primary, label, action(f, 0), f == filter)
        })
        .collect(),
    );
    vec![paging, filters]
}

/// A ranked list of stories, one compact entry each, and a menu to open one as a digest.
pub(crate) fn story_list(title: &str, digests: &[Digest], empty: &str) -> Message {
    let mut description = String::new();
    let mut options = Vec::new();
    for (rank, d) in digests.iter().take(LIST_MAX).enumerate() {
        let c = &d.coverage;
        let name = escape_within(&d.title, 200);
        let name = match d.link.as_deref().and_then(link_url) {
            Some(url) => format!("[{name}]({url})"),
            None => format!("**{name}**"),
        };
        let mut entry = format!(
            "**{}.** {name} · {} sources · {}",
            rank + 1,
            c.sources,
            c.summary_line()
        );
        if let Some(side) = c.blindspot {
            entry.push_str(&format!(" · ⚠️ few {} sources", side.label()));
        }
        entry.push('\n');
        if utf16_len(&description) + utf16_len(&entry) > DESCRIPTION_MAX {
            break;
        }
        description.push_str(&entry);
        options.push(SelectOption::new(
            &format!("{}. {}", rank + 1, d.title),
            d.id.as_str(),
            Some(&format!("{} articles · {}", c.articles, c.summary_line())),
        ));
    }
    if description.is_empty() {
        description = empty.to_string();
    }
    let embed = Embed {
        thumbnail: None,
        title: truncate_utf16(title, TITLE_MAX),
        description,
        color: payload::colour(None),
        footer: Footer {
            text: RATINGS_ATTRIBUTION.to_string(),
        },
        ..Embed::default()
    };
    let mut m = Message::embeds(vec![embed]);
    if !options.is_empty() {
        m.set_components(vec![ActionRow::new(vec![StringSelect::single(
            Action::OpenStory.encode(),
            "Open a story as a full digest",
            options,
        )])]);
    }
    m
}

/// The answer to a query that matched nothing: the closest titles, for the asker only.
pub(crate) fn not_found(query: &str, suggestions: &[StoryRow]) -> Message {
    let mut description = format!("No story matches **{}**.", escape_within(query.trim(), 100));
    if suggestions.is_empty() {
        description.push_str("\nTry other words, or `/top` for the current stories.");
    } else {
        description.push_str("\nClosest titles:");
        for s in suggestions {
            description.push_str(&format!(
                "\n• {} (`{}`)",
                escape_within(&s.title, 200),
                s.id
            ));
        }
    }
    Message::embeds(vec![Embed {
        thumbnail: None,
        title: "No matching story".into(),
        description,
        color: payload::colour(None),
        ..Embed::default()
    }])
    .ephemeral()
}

/// A short message for the asker only (refusals, expired stories, errors).
pub(crate) fn notice(text: &str) -> Message {
    let mut m = Message::embeds(Vec::new()).ephemeral();
    m.embeds.push(Embed {
        thumbnail: None,
        description: truncate_utf16(text, DESCRIPTION_MAX),
        color: payload::colour(None),
        ..Embed::default()
    });
    m
}

/// `/about`: what the bot is, where its ratings come from, how to run your own; `feeds` and
/// `outlets` are how many this bot reads and knows.
pub(crate) fn about(feeds: usize, outlets: usize) -> Message {
    let description = "storybot groups the news into **stories**: one event, covered by many \
        outlets. For each story it shows the key points, how many articles and outlets cover \
        it, the top headlines with each outlet's bias rating, and the bias distribution of the \
        covering outlets, flagging a **blindspot** when one side barely covers it.\n\n\
        `/story` finds a story · `/top` lists the most covered stories now · `/blindspot` lists \
        stories covered mostly by one side.";
    let ratings = "Ratings are per outlet, not per article, and come from three public sources, \
        merged by a documented rule (AllSides first, then MBFC, then Ad Fontes Media):\n\
        • **AllSides** media bias ratings, CC BY-NC 4.0 (non-commercial use, with attribution)\n\
        • **Ad Fontes Media** Media Bias Chart, under its terms for non-commercial use\n\
        • **Media Bias/Fact Check** (MBFC), bias and factuality ratings\n\
        Headlines link to the outlets themselves; storybot stores titles, summaries and links only.";
    let factuality = "Each digest also shows how much of a story's coverage comes from outlets \
        rated **High**, **Mixed** or **Low** for factual reporting, and flags a story covered \
        mostly by low-factuality outlets. Factuality is a rating of the *outlet's* record \
        (failed fact checks, sourcing, corrections), not a check of the article: from \
        **Media Bias/Fact Check**'s factual-reporting ratings (as published by Baly et al., \
        2018), and **Ad Fontes Media**'s reliability scores where MBFC has none.";
    let host = "storybot is open source (MIT or Apache-2.0) and runs anywhere Rust does: one \
        binary, an SQLite file by default (Postgres for several processes). Build it with \
        `cargo build --release`, set `DISCORD_TOKEN`, list your feeds in `config.toml`, and run \
        `storybot run`. See the README for the details.";
    let stories = format!(
        "Stories are built from {feeds} configured feeds; digests cite {outlets} rated outlets."
    );
    Message::embeds(vec![Embed {
        thumbnail: None,
        title: "About storybot".into(),
        description: description.into(),
        color: payload::colour(None),
        fields: vec![
            field("Bias ratings", ratings),
            field("Factuality", factuality),
            field("Run your own", host),
            field("This bot", &stories),
        ],
        footer: Footer {
            text: format!("storybot {}", env!("CARGO_PKG_VERSION")),
        },
        ..Embed::default()
    }])
}

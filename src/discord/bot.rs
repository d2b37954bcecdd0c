//! `storybot run`: connects to Discord with the token from DISCORD_TOKEN, registers the
//! commands, answers interactions, runs feed ingest in the same process when feeds are
//! configured, and shuts down cleanly on SIGINT/SIGTERM.
//!
//! Gateway intents are minimal: `GUILDS` only (to keep the server count), nothing privileged.
//! With `discord.api_base_url` set, serenity's HTTP goes to that base with its own rate limiter
//! off (serenity ignores a proxy while its limiter is on); storybot's REST client paces and
//! retries its own calls either way.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::sync::{mpsc, watch};

use super::register;
use super::rest::{Rest, Token, DISCORD_API};
use super::{commands, components, Data, Stats};
use crate::app::App;

/// Why the bot stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications \
         and export its token in the DISCORD_TOKEN environment variable"
    )]
    MissingToken,
    #[error("DISCORD_TOKEN does not look like a bot token ({0})")]
    MalformedToken(&'static str),
    #[error("Discord rejected the token (check DISCORD_TOKEN; it may have been reset)")]
    TokenRejected,
    #[error("cannot register the slash commands: {0}")]
    Register(super::rest::RestError),
    #[error("cannot connect to Discord: {0}")]
    Connect(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Checks the token's shape without revealing it.
pub fn token_from_env(value: Option<String>) -> Result<Token, RunError> {
    let value = value.unwrap_or_default();
    let t = value.trim();
    if t.is_empty() {
        return Err(RunError::MissingToken);
    }
    if t.chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return Err(RunError::MalformedToken(
            "it contains spaces or non-ASCII characters",
        ));
    }
    if t.len() < 20 {
        return Err(RunError::MalformedToken("it is too short"));
    }
    Ok(Token::new(t))
}

/// Runs the bot until `shutdown` resolves (or a fatal error).
pub async fn run(
    app: App,
    token: Token,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunError> {
    run_with_clock(app, token, shutdown, super::Clock::default()).await
}

/// [`run`] with the clock subscriptions are scheduled by.
pub async fn run_with_clock(
    app: App,
    token: Token,
    shutdown: impl Future<Output = ()> + Send,
    clock: super::Clock,
) -> Result<(), RunError> {
    let config = app.config.discord.clone();
    let base = if config.api_base_url.is_empty() {
        DISCORD_API.to_string()
    } else {
        config.api_base_url.trim_end_matches('/').to_string()
    };
    let rest = Arc::new(
        Rest::new(&base, token.clone(), config.requests_per_second)
            .map_err(|e| RunError::Http(e.to_string()))?,
    );
    let mut http = serenity::HttpBuilder::new(token.expose());
    if !config.api_base_url.is_empty() {
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let http = http.build();

    let stats = Arc::new(Stats::default());
    let rest_for_summary = rest.clone();
    let rest_at_end = rest.clone();
    let data = Data {
        app: app.clone(),
        rest: rest.clone(),
        config: config.clone(),
        stats: stats.clone(),
        clock,
        outbox: Arc::new(tokio::sync::Notify::new()),
    };
    let shared = Arc::new(data.clone());
    let ingested = Arc::new(tokio::sync::Notify::new());
    let (fatal_tx, mut fatal_rx) = mpsc::unbounded_channel::<RunError>();
    let guilds: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let scopes = register::scopes(&config.guild_ids);
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |error| Box::pin(on_error(error)),
            event_handler: |framework, event| Box::pin(on_event(framework, event)),
            initialize_owners: false,
            ..Default::default()
        })
        .initialize_owners(false)
        .setup(move |_ctx, ready, framework| {
            Box::pin(async move {
                let payload = register::payload(&framework.options().commands);
                let application_id = ready.application.id.get();
                if let Err(e) = register::register(&rest, application_id, &scopes, &payload).await {
                    let message = e.to_string();
                    let _ = fatal_tx.send(RunError::Register(e));
                    return Err(super::BotError::Internal(message));
                }
                Ok(data)
            })
        })
        .build();

    let intents = serenity::GatewayIntents::GUILDS;
    let mut client = serenity::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .event_handler(GuildCounter {
            guilds: guilds.clone(),
            stats: stats.clone(),
        })
        .await
        .map_err(|e| connect_error(&e))?;
    let shards = client.shard_manager.clone();

    let (stop_tx, stop_rx) = watch::channel(false);
    let ingest = (!app.config.feeds.is_empty()).then(|| {
        let app = app.clone();
        let mut stop = stop_rx.clone();
        let ingested = ingested.clone();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::ingest::poll::run(&app, stopped, Some(&ingested)).await {
                tracing::error!(error = %format!("{e:#}"), "feed ingest stopped");
            }
        })
    });
    let matching = tokio::spawn(match_loop(shared.clone(), ingested, stop_rx.clone()));
    let delivery = tokio::spawn(super::delivery::run(
        shared.clone(),
        shared.outbox.clone(),
        stop_rx.clone(),
    ));
    let summary = tokio::spawn(summarise(
        stats.clone(),
        rest_for_summary,
        Duration::from_secs(config.summary_minutes * 60),
        stop_rx.clone(),
    ));

    tokio::pin!(shutdown);
    let result = tokio::select! {
        r = client.start_autosharded() => r.map_err(|e| connect_error(&e)),
        Some(e) = fatal_rx.recv() => Err(e),
        () = &mut shutdown => {
            tracing::info!("shutting down: closing the gateway connection");
            Ok(())
        }
    };
    shards.shutdown_all().await;
    let _ = stop_tx.send(true);
    if let Some(task) = ingest {
        let _ = task.await;
    }
    let _ = matching.await;
    let _ = delivery.await;
    summary.abort();
    log_summary(&stats, &rest_at_end);
    result
}

/// Matches subscriptions after every ingest cycle and every `match_interval_seconds`.
async fn match_loop(
    data: Arc<Data>,
    ingested: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(data.app.config.subscriptions.match_interval_seconds);
    loop {
        match super::matcher::run_once(&data.app, data.clock.now()).await {
            Ok(r) if r.total() > 0 => data.outbox.notify_one(),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "subscription matching failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = ingested.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Logs the summary line every `every` until stopped.
async fn summarise(
    stats: Arc<Stats>,
    rest: Arc<Rest>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => log_summary(&stats, &rest),
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

fn log_summary(stats: &Stats, rest: &Rest) {
    tracing::info!(
        shards = stats.shards.load(Ordering::Relaxed),
        rest_requests = rest.stats.requests.load(Ordering::Relaxed),
        rate_limited = rest.stats.rate_limited.load(Ordering::Relaxed),
        guilds = stats.guilds.load(Ordering::Relaxed),
        interactions = stats.served.load(Ordering::Relaxed),
        deferred = stats.deferred.load(Ordering::Relaxed),
        autocompletes = stats.autocompletes.load(Ordering::Relaxed),
        errors = stats.errors.load(Ordering::Relaxed),
        "storybot summary"
    );
}

fn connect_error(e: &serenity::Error) -> RunError {
    use serenity::{Error, GatewayError, HttpError};
    match e {
        Error::Gateway(GatewayError::InvalidAuthentication) => RunError::TokenRejected,
        Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 401 => {
            RunError::TokenRejected
        }
        other => RunError::Connect(other.to_string()),
    }
}

/// Keeps the count of servers the bot is in, for the summary line.
struct GuildCounter {
    guilds: Arc<Mutex<HashSet<u64>>>,
    stats: Arc<Stats>,
}

impl GuildCounter {
    fn update(&self, f: impl FnOnce(&mut HashSet<u64>)) {
        let mut g = self.guilds.lock().expect("guild set lock");
        f(&mut g);
        self.stats.guilds.store(g.len() as u64, Ordering::Relaxed);
    }
}

#[serenity::async_trait]
impl serenity::EventHandler for GuildCounter {
    async fn ready(&self, _ctx: serenity::Context, ready: serenity::Ready) {
        self.update(|g| g.extend(ready.guilds.iter().map(|u| u.id.get())));
        let shards = ready.shard.map_or(1, |s| u64::from(s.total));
        self.stats.shards.store(shards, Ordering::Relaxed);
        tracing::info!(
            user = %ready.user.name,
            shard = ?ready.shard.map(|s| s.id.0),
            guilds = ready.guilds.len(),
            "connected to Discord"
        );
    }

    async fn guild_create(
        &self,
        _ctx: serenity::Context,
        guild: serenity::Guild,
        _is_new: Option<bool>,
    ) {
        self.update(|g| {
            g.insert(guild.id.get());
        });
    }

    async fn guild_delete(
        &self,
        _ctx: serenity::Context,
        incomplete: serenity::UnavailableGuild,
        _full: Option<serenity::Guild>,
    ) {
        if !incomplete.unavailable {
            self.update(|g| {
                g.remove(&incomplete.id.get());
            });
        }
    }
}

/// Buttons and menus (poise dispatches commands and autocomplete itself).
async fn on_event(
    framework: poise::FrameworkContext<'_, Data, super::BotError>,
    event: &serenity::FullEvent,
) -> Result<(), super::BotError> {
    if let serenity::FullEvent::InteractionCreate {
        interaction: serenity::Interaction::Component(component),
    } = event
    {
        components::handle(framework.user_data, component).await;
    }
    Ok(())
}

/// Errors poise catches before or around a command (argument parsing and the like): the user
/// gets a short ephemeral message with an error id, the log the details. A command this
/// version does not know (a stale registration) gets a plain answer instead.
async fn on_error(error: poise::FrameworkError<'_, Data, super::BotError>) {
    use super::respond::{error_id, internal_error_text, respond, Ix, Style};
    let id = error_id();
    let (data, interaction, text) = match &error {
        poise::FrameworkError::Setup { error, .. } => {
            tracing::error!(error_id = %id, %error, "setup failed");
            return;
        }
        poise::FrameworkError::EventHandler { error, .. } => {
            tracing::error!(error_id = %id, %error, "event handler failed");
            return;
        }
        poise::FrameworkError::UnknownInteraction {
            framework,
            interaction,
            ..
        } => {
            tracing::warn!(command = %interaction.data.name, "unknown command (stale registration?)");
            let text = "This command is not available any more. Discord may take a moment to \
                        show the current commands.";
            (framework.user_data, *interaction, text.to_string())
        }
        other => {
            tracing::error!(error_id = %id, error = %other, "interaction failed");
            let Some(poise::Context::Application(actx)) = other.ctx() else {
                return;
            };
            (actx.data(), actx.interaction, internal_error_text(&id))
        }
    };
    respond(
        data,
        Ix::command(interaction),
        Style::NewMessage,
        async move { Ok(super::views::notice(&text).into()) },
    )
    .await;
}

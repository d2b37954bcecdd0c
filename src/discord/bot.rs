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
use tokio::sync::mpsc;

use super::register;
use super::rest::{Rest, Token, DISCORD_API};
use super::{commands, components, Data, Stats};
use crate::app::App;
use crate::config::Shards;
use crate::service::{LeaderWork, Plan, Service};
use crate::store::Backend;
use crate::workers::{Backoff, Stop, Workers};

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
    #[error("cannot register the slash commands")]
    Register(#[source] super::rest::RestError),
    #[error("cannot connect to Discord")]
    Connect(#[source] Box<serenity::Error>),
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
    #[error("cannot use the language model ([llm]): {0}")]
    Llm(#[from] crate::llm::LlmError),
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
}

/// Checks the token's shape without revealing it.
pub(crate) fn token_from_env(value: Option<String>) -> Result<Token, RunError> {
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
    crate::secrets::register(token.expose());
    let config = app.settings.discord.clone();
    let base = config
        .api_base_url
        .clone()
        .unwrap_or_else(|| DISCORD_API.to_string());
    let outbox = Arc::new(tokio::sync::Notify::new());
    let clock_for_matching = clock.clone();
    // On SQLite a second service process is refused here, before it connects.
    let mut service = Service::start(
        &app,
        Plan {
            role: "run",
            shards: Some(config.shards),
            lead: Some(matching(app.clone(), clock_for_matching, outbox.clone())),
        },
    )
    .await?;
    let member = service.member.clone();
    let mut rest = Rest::new(&base, token.clone(), config.requests_per_second)
        .map_err(RunError::Http)?
        .with_stats(app.metrics.rest.clone());
    if app.store.backend() == Backend::Postgres {
        // Discord counts the bot, not the process: every process paces through the store.
        rest = rest.with_shared_budget(app.store.clone());
    }
    let rest = Arc::new(rest);
    let data = Data {
        app: app.clone(),
        rest: rest.clone(),
        config: config.clone(),
        stats: Arc::new(Stats::default()),
        clock,
        outbox,
        forums: Arc::default(),
        member: member.clone(),
    };
    let (fatal_tx, mut fatal_rx) = mpsc::unbounded_channel::<RunError>();
    // serenity asks for the gateway's URL (and, sharded, its shard count) outside our client.
    rest.reserve_global(2).await;
    let mut client = client(&data, &token, fatal_tx).await?;
    app.metrics.gateway_started();
    let shards = client.shard_manager.clone();
    start_workers(service.workers(), Arc::new(data.clone()));

    tokio::pin!(shutdown);
    let ready = data.stats.ready_shards.clone();
    let result = tokio::select! {
        r = super::shards::start(&mut client, config.shards, &app.store, ready) => r.map_err(connect_error),
        Some(e) = fatal_rx.recv() => Err(e),
        () = &mut shutdown => {
            tracing::info!("shutting down: closing the gateway connection");
            Ok(())
        }
    };
    // In order: no new interactions, then the workers (a cycle or post under way finishes).
    shards.shutdown_all().await;
    service.shutdown().await;
    log_summary(&data.stats, &rest);
    result
}

/// The serenity client with the poise framework: commands registered on READY (a failed
/// registration is fatal, reported on `fatal`), buttons and menus, the server count.
async fn client(
    data: &Data,
    token: &Token,
    fatal: mpsc::UnboundedSender<RunError>,
) -> Result<serenity::Client, RunError> {
    let config = &data.config;
    let mut http = serenity::HttpBuilder::new(token.expose());
    if let Some(base) = &config.api_base_url {
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let scopes = register::scopes(&config.guild_ids);
    // With the shards split over processes, the one holding shard 0 registers the commands.
    let registers = match config.shards {
        Shards::Auto => true,
        Shards::Range { first, .. } => first == 0,
    };
    let setup_data = data.clone();
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
                if !registers {
                    return Ok(setup_data);
                }
                let payload = register::payload(&framework.options().commands);
                let application_id = ready.application.id.get();
                let rest = &setup_data.rest;
                if let Err(e) = register::register(rest, application_id, &scopes, &payload).await {
                    let message = crate::error::chain(&e);
                    let _ = fatal.send(RunError::Register(e));
                    return Err(super::BotError::Internal(message.into()));
                }
                Ok(setup_data)
            })
        })
        .build();
    serenity::ClientBuilder::new_with_http(http.build(), serenity::GatewayIntents::GUILDS)
        .framework(framework)
        .event_handler(GuildCounter {
            guilds: Arc::default(),
            stats: data.stats.clone(),
            metrics: data.app.metrics.clone(),
        })
        .await
        .map_err(connect_error)
}

/// Starts the bot's own workers beside the service's: delivery and the summary line.
fn start_workers(workers: &mut Workers, data: Arc<Data>) {
    let d = data.clone();
    workers.spawn("delivery", move |stop| {
        super::delivery::run(d.clone(), d.outbox.clone(), stop)
    });
    let d = data;
    workers.spawn("summary", move |stop| {
        summary_loop(
            d.stats.clone(),
            d.rest.clone(),
            d.config.summary_every,
            stop,
        )
    });
}

/// The bot's part of the leader's work: subscription matching, after every ingest cycle and
/// every `match_interval_seconds`, waking delivery when it found something.
fn matching(app: App, clock: super::Clock, outbox: Arc<tokio::sync::Notify>) -> LeaderWork {
    Arc::new(move |workers: &mut Workers, ingested| {
        let (app, clock, outbox) = (app.clone(), clock.clone(), outbox.clone());
        workers.spawn("subscription matching", move |stop| {
            match_loop(
                app.clone(),
                clock.clone(),
                outbox.clone(),
                ingested.clone(),
                stop,
            )
        });
    })
}

/// Matches subscriptions after every ingest cycle and every `match_interval_seconds`; a
/// failed pass is logged and retried after a backoff.
async fn match_loop(
    app: App,
    clock: super::Clock,
    outbox: Arc<tokio::sync::Notify>,
    ingested: Arc<tokio::sync::Notify>,
    mut stop: Stop,
) {
    let every = app.settings.subscriptions.match_every;
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        let wait = match crate::subscriptions::matcher::run_once(&app, clock.now()).await {
            Ok(r) => {
                backoff.reset();
                if r.total() > 0 {
                    outbox.notify_one();
                }
                every
            }
            Err(e) => {
                let wait = backoff.fail().min(every);
                tracing::error!(error = %crate::error::Chain(&e), retry_in_s = wait.as_secs(), "subscription matching failed");
                wait
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = ingested.notified() => {}
            () = stop.wait() => return,
        }
    }
}

/// Logs the summary line every `every` until stopped.
async fn summary_loop(stats: Arc<Stats>, rest: Arc<Rest>, every: Duration, mut stop: Stop) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => log_summary(&stats, &rest),
            () = stop.wait() => return,
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

fn connect_error(e: serenity::Error) -> RunError {
    use serenity::{Error, GatewayError, HttpError};
    match e {
        Error::Gateway(GatewayError::InvalidAuthentication) => RunError::TokenRejected,
        Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 401 => {
            RunError::TokenRejected
        }
        // Its words pass the scrubber wherever they are shown (log lines, the exit message).
        other => RunError::Connect(Box::new(other)),
    }
}

/// Keeps the count of servers the bot is in, for the summary line.
struct GuildCounter {
    guilds: Arc<Mutex<HashSet<u64>>>,
    stats: Arc<Stats>,
    metrics: Arc<crate::metrics::Metrics>,
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
        self.stats.ready_shards.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bot_user
            .store(ready.user.id.get(), Ordering::Relaxed);
        self.metrics.shard(ready.shard.map_or(0, |s| s.id.0), true);
        let shards = ready.shard.map_or(1, |s| u64::from(s.total));
        self.stats.shards.store(shards, Ordering::Relaxed);
        tracing::info!(
            user = %ready.user.name,
            shard = ?ready.shard.map(|s| s.id.0),
            guilds = ready.guilds.len(),
            "connected to Discord"
        );
    }

    async fn shard_stage_update(
        &self,
        _ctx: serenity::Context,
        event: serenity::ShardStageUpdateEvent,
    ) {
        let connected = matches!(event.new, serenity::ConnectionStage::Connected);
        self.metrics.shard(event.shard_id.0, connected);
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
    use super::respond::{error_id, internal_error_text, respond, InteractionRef, Style};
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
        InteractionRef::command(interaction),
        Style::NewMessage,
        async move { Ok(super::views::notice(&text).into()) },
    )
    .await;
}

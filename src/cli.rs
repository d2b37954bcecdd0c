//! The command line: `storybot story|stories|top|blindspot|import|ingest|feeds|summarise|llm|
//! status|serve|run|commands`, with `--config` and `--db` on all. Commands that only read open
//! a read-only store where one cannot be written; services start through [`crate::service`]. One function per command, as ripgrep's main has one
//! per mode. This is an edge of the program: errors here are `anyhow`, with context.
//!
//! Exit status, as ripgrep's: **0** done; **1** nothing found (no story matches the query, the
//! store has no story yet, an import with no valid line); **2** an error (bad configuration,
//! unreachable store, unreadable file). A closed output pipe (`storybot stories | head`) ends
//! the program quietly with 0.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::app::{App, Lookup};
use crate::config::Config;
use crate::digest::export::ExportWriter;
use crate::model::Story;
use crate::secrets::redact_url;

#[derive(Debug, Parser)]
#[command(
    name = "storybot",
    version,
    about = "News stories as digests: key points, coverage and bias distribution",
    after_help = "Exit status: 0 done, 1 nothing found, 2 error."
)]
pub struct Cli {
    /// Configuration file [default: ./config.toml when present, else built-in defaults]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Store to use instead of the configured one: a SQLite file path or a postgres:// URL
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the digest of the story that best matches QUERY (words of its headline, or its id)
    Story {
        /// Words to search for, or a story id
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Print the Discord message payload (JSON) instead of text
        #[arg(long)]
        json: bool,
        /// Also write the bias bar image to this PNG file
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// List every story with its key points, counts, bias distribution and article URLs
    Stories {
        /// Print the machine-readable export (a JSON array; see README)
        #[arg(long)]
        json: bool,
    },
    /// The trending stories: coverage, its growth and recency
    Top {
        /// How many (1 to 100)
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
        count: u16,
        /// Print the export JSON of those stories
        #[arg(long)]
        json: bool,
    },
    /// Stories covered mostly by one side (see the blindspot rule in README)
    Blindspot {
        /// How many (1 to 100)
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
        count: u16,
        /// Print the export JSON of those stories
        #[arg(long)]
        json: bool,
    },
    /// Fetch the configured feeds and update stories: once, or on schedule until Ctrl-C / SIGTERM
    Ingest {
        /// Fetch every enabled feed once, then exit
        #[arg(long)]
        once: bool,
    },
    /// Each configured feed's health: last success, last error, items, next fetch
    Feeds {
        /// Re-enable a feed that was disabled after repeated failures
        #[arg(long, value_name = "URL")]
        enable: Option<String>,
    },
    /// Run the Discord bot (token from DISCORD_TOKEN), with feed ingest in the same process
    /// when feeds are configured, until Ctrl-C / SIGTERM. Several processes on one Postgres
    /// store split the gateway shards (--shards); one of them leads ingest
    Run {
        /// The gateway shards this process holds, "0-3" or "4" [default: all, autosharded;
        /// config: discord.shards]
        #[arg(long, value_name = "RANGE", requires = "total_shards")]
        shards: Option<String>,
        /// The bot's shard count across all its processes [config: discord.total_shards]
        #[arg(long, value_name = "N", requires = "shards")]
        total_shards: Option<u64>,
    },
    /// Serve the story pages, the JSON API and the operators' pages until Ctrl-C / SIGTERM
    /// (no Discord token needed; `[web]` in the config)
    Serve {
        /// Where the public pages listen [default: web.listen, else 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
    },
    /// The processes running on the store (their shards, the leader), the outbox, the last
    /// ingest and failing feeds
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print what article extraction gives for a saved page: its main text, title, published
    /// time, canonical URL, lead image, and whether a paywall or consent page stood in front
    Extract {
        /// The page's HTML (gzip when the name ends in .gz)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The page's address, to resolve relative links
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the slash commands' registration payload (JSON) without connecting
    Commands {
        /// Print the payload as JSON (the only format)
        #[arg(long)]
        json: bool,
    },
    /// Import articles from a JSONL file (one article per line; `-` reads standard input)
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// The language model (`[llm]`): `storybot llm check` verifies the server, the model and
    /// its support for the answer's JSON schema
    Llm {
        #[command(subcommand)]
        action: LlmAction,
    },
    /// Ask the configured language model (`[llm]`) for key points now, checked against the
    /// sources, and store them: every story due (as the queue beside ingest would), or one
    /// story; prints what was written, what was dropped and why
    Summarise {
        /// One story (its id, or words of its headline), asked for whether due or not
        #[arg(long, value_name = "ID")]
        story: Option<String>,
        /// Store nothing: with --story, print what the model writes; without, list the stories
        /// that are due, asking the model nothing
        #[arg(long)]
        dry_run: bool,
    },
}

/// What to do with the language model.
#[derive(Debug, Subcommand)]
pub enum LlmAction {
    /// Summarise a small built-in story: the server answers, the model exists, the schema is
    /// honoured (or JSON mode is used) and the answer passes the grounding check
    Check,
}

impl Command {
    /// Whether the command runs until stopped (its log defaults to info level).
    /// Commands that write nothing to the store, and so can read a read-only one.
    fn reads_only(&self) -> bool {
        matches!(
            self,
            Command::Story { .. }
                | Command::Stories { .. }
                | Command::Top { .. }
                | Command::Blindspot { .. }
                | Command::Status { .. }
                | Command::Feeds { enable: None }
        )
    }

    pub fn is_service(&self) -> bool {
        matches!(
            self,
            Command::Run { .. } | Command::Ingest { once: false } | Command::Serve { .. }
        )
    }
}

/// How a command ended, as an exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (0).
    Done,
    /// Nothing found (1): no story matches, the store is empty, nothing importable.
    NothingFound,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::NothingFound => 1,
        }
    }
}

/// The exit status of an error (2), or 0 for a closed output pipe.
pub fn error_code(e: &anyhow::Error) -> u8 {
    if is_broken_pipe(e) {
        0
    } else {
        2
    }
}

/// Whether the error is writing to a closed pipe (the reader went away: not a failure).
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Loads the configuration the flags point at.
pub(crate) fn load_config(cli: &Cli) -> Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => {
            let default = PathBuf::from("config.toml");
            if default.exists() {
                Config::load(&default)?
            } else {
                Config::default()
            }
        }
    };
    if let Some(db) = &cli.db {
        config.store.url = db.clone();
    }
    Ok(config)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let config = load_config(&cli)?;
    match cli.command {
        // No store, no network: the payload depends on the code alone.
        Command::Commands { .. } => commands_payload(),
        Command::Extract { file, url, json } => extract(&file, url.as_deref(), json),
        Command::Run {
            shards,
            total_shards,
        } => {
            let mut config = config;
            if let (Some(shards), Some(total)) = (shards, total_shards) {
                config.discord.shards = shards;
                config.discord.total_shards = total;
            }
            run_bot(config).await
        }
        command => {
            let app = if command.reads_only() {
                App::open_for_reading(config).await?
            } else {
                App::open(config).await?
            };
            let result = dispatch(&app, command).await;
            app.store.close().await;
            result
        }
    }
}

async fn dispatch(app: &App, command: Command) -> Result<Outcome> {
    match command {
        Command::Story { query, json, png } => story(app, &query.join(" "), json, png).await,
        Command::Stories { json } => stories(app, json).await,
        Command::Top { count, json } => list(app, false, usize::from(count), json).await,
        Command::Blindspot { count, json } => list(app, true, usize::from(count), json).await,
        Command::Ingest { once: true } => ingest_once(app).await,
        Command::Ingest { once: false } => ingest_until_stopped(app).await,
        Command::Feeds { enable } => feeds(app, enable).await,
        Command::Import { file } => import(app, file).await,
        Command::Summarise {
            story: Some(story),
            dry_run,
        } => summarise_story(app, &story, dry_run).await,
        Command::Summarise {
            story: None,
            dry_run,
        } => summarise_due(app, dry_run).await,
        Command::Llm {
            action: LlmAction::Check,
        } => llm_check(app).await,
        Command::Status { json } => status(app, json).await,
        Command::Serve { listen } => serve(app, listen).await,
        Command::Run { .. } | Command::Commands { .. } | Command::Extract { .. } => {
            unreachable!("handled before the store is opened")
        }
    }
}

/// The configured `[llm]` settings, or an error saying how to configure them.
fn llm_settings(app: &App) -> Result<&crate::config::LlmSettings> {
    app.settings.llm.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "no language model is configured: set [llm] base_url and model in the configuration \
             (see README, \"Key points written by a model\")"
        )
    })
}

/// `storybot llm check`: the server, the model and its schema support, on a built-in story.
async fn llm_check(app: &App) -> Result<Outcome> {
    let client = crate::llm::Client::new(llm_settings(app)?)?;
    let report = crate::llm::check_endpoint(&client).await?;
    let mode = if report.structured {
        "structured output (JSON schema)"
    } else {
        "JSON mode (the server refused a JSON schema; answers are validated here)"
    };
    say_out(format_args!(
        "ok: {} answered in {} ms with {mode}; {} grounded key points on the sample story",
        client.describe(),
        report.elapsed.as_millis(),
        report.points
    ));
    Ok(Outcome::Done)
}

/// `storybot summarise --story ID [--dry-run]`: the model's key points for a story, checked,
/// and stored unless it is a dry run.
async fn summarise_story(app: &App, query: &str, dry_run: bool) -> Result<Outcome> {
    let settings = llm_settings(app)?;
    let Lookup::Found(story) = app.find_story(query).await? else {
        say(format_args!(
            "no story matches {:?}",
            crate::text::truncate_chars(query, 80)
        ));
        return Ok(Outcome::NothingFound);
    };
    let model = crate::llm_queue::Model::new(app, settings).await?;
    let row = app
        .store
        .story_rows(&[story.key])
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("story {} vanished while being read", story.id))?;
    let asked = crate::llm_queue::ask(app, &model, &row, dry_run).await?;
    let written = asked.answer?;
    let mut out = anstream::stdout().lock();
    writeln!(out, "{}\nstory {}\n", written.title, story.id)?;
    writeln!(
        out,
        "Key points (written by {}, checked against the sources)",
        settings.model
    )?;
    for p in &written.points {
        let cited: Vec<String> = p.citations.iter().map(|n| format!("[{n}]")).collect();
        writeln!(out, "  • {} {}", p.text, cited.join(""))?;
    }
    if !written.framing.is_empty() {
        writeln!(out, "\nHow each side covers it")?;
        for f in &written.framing {
            writeln!(out, "  {}: {}", f.side.label(), f.sentence)?;
        }
    }
    for (point, why) in &written.dropped {
        writeln!(out, "\nDropped: {point}\n  because it {why}")?;
    }
    writeln!(out, "\nSources")?;
    for (i, a) in asked.articles.iter().enumerate() {
        writeln!(out, "  [{}] {} · {}", i + 1, a.outlet, a.url)?;
    }
    let stored = if dry_run {
        "not stored (dry run)"
    } else {
        "stored"
    };
    writeln!(out, "\n{stored}")?;
    Ok(Outcome::Done)
}

/// `storybot summarise [--dry-run]`: every due story now, within the hourly cap; a dry run
/// lists them.
async fn summarise_due(app: &App, dry_run: bool) -> Result<Outcome> {
    let settings = llm_settings(app)?.clone();
    let mut out = anstream::stdout().lock();
    if dry_run {
        // Asks nothing: no client, so no key is needed to see what is due.
        let due = crate::llm_queue::due_stories(app, &settings, 1000).await?;
        for row in &due {
            writeln!(
                out,
                "due  {}  {} ({} articles)",
                row.id, row.title, row.article_count
            )?;
        }
        writeln!(out, "{} stories due", due.len())?;
        return Ok(Outcome::Done);
    }
    let mut queue = crate::llm_queue::Queue::new(app.clone(), settings).await?;
    let (mut written, mut rejected) = (0, 0);
    loop {
        let round = queue.round().await?;
        for r in &round.results {
            use crate::llm_queue::StoryOutcome::*;
            match &r.outcome {
                Written { kept, dropped } => {
                    written += 1;
                    writeln!(
                        out,
                        "written   {}  {} ({kept} points kept, {} dropped)",
                        r.id,
                        r.title,
                        dropped.len()
                    )?;
                    for (point, why) in dropped {
                        writeln!(out, "  dropped: {point}\n    because it {why}")?;
                    }
                }
                Rejected(why) => {
                    rejected += 1;
                    writeln!(out, "kept extractive  {}  {}: {why}", r.id, r.title)?;
                }
                Unavailable(e) => anyhow::bail!(
                    "the model server failed ({e}); {written} stories written before that"
                ),
            }
        }
        if round.capped {
            writeln!(out, "llm.max_requests_per_hour reached; the rest wait")?;
            break;
        }
        if round.results.is_empty() {
            break;
        }
    }
    writeln!(
        out,
        "{written} stories written, {rejected} kept their extractive points"
    )?;
    Ok(Outcome::Done)
}

/// Bytes of a saved page read at most (after gunzip).
const MAX_PAGE_FILE: u64 = 16 * 1024 * 1024;

/// `storybot extract FILE [--url URL] [--json]`.
fn extract(file: &std::path::Path, url: Option<&str>, json: bool) -> Result<Outcome> {
    use std::io::Read as _;
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut bytes = Vec::new();
    let gz = file.extension().is_some_and(|e| e == "gz");
    let read = if gz {
        flate2::read::GzDecoder::new(f)
            .take(MAX_PAGE_FILE)
            .read_to_end(&mut bytes)
    } else {
        f.take(MAX_PAGE_FILE).read_to_end(&mut bytes)
    };
    read.with_context(|| format!("cannot read {}", file.display()))?;
    let html = crate::ingest::page::decode(&bytes, None);
    let e = crate::ingest::extract::extract(&html, url);
    let mut out = anstream::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?;
    } else {
        if let Some(t) = &e.title {
            writeln!(out, "{t}\n")?;
        }
        match e.wall {
            Some(w) => writeln!(out, "(behind a {w:?} wall: no article text)")?,
            None => writeln!(out, "{}", e.text)?,
        }
    }
    Ok(if e.text.is_empty() {
        Outcome::NothingFound
    } else {
        Outcome::Done
    })
}

fn commands_payload() -> Result<Outcome> {
    let payload = crate::discord::register::payload(&crate::discord::commands::all());
    let mut out = anstream::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&payload)?)?;
    Ok(Outcome::Done)
}

async fn run_bot(config: Config) -> Result<Outcome> {
    // Checked before opening anything, so a missing token fails fast and clearly.
    let token = crate::discord::bot::token_from_env(std::env::var("DISCORD_TOKEN").ok())?;
    let app = App::open(config).await?;
    // The pages start first: a port in use fails the start, not later.
    let web = match app.settings.web.listen {
        Some(listen) => Some(crate::web::Server::bind(app.clone(), listen).await?),
        None => None,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let web = web.map(|server| {
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let served = server
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
            // Said when it happens, not at shutdown: the bot goes on without its pages.
            if let Err(e) = &served {
                tracing::error!(error = %crate::error::Chain(e), "the web server stopped; the bot runs on without its pages");
            }
            served
        })
    });
    let result = crate::discord::run(app.clone(), token, shutdown_signal()).await;
    let _ = stop.send(true);
    if let Some(web) = web {
        if let Err(e) = web.await {
            tracing::error!(error = %e, "the web server panicked");
        }
    }
    app.store.close().await;
    result?;
    Ok(Outcome::Done)
}

/// `storybot serve`: the pages until stopped. Prints where they listen.
async fn serve(app: &App, listen: Option<std::net::SocketAddr>) -> Result<Outcome> {
    let listen = match listen.or(app.settings.web.listen) {
        Some(l) => l,
        None => crate::config::WebSettings::DEFAULT_LISTEN.parse()?,
    };
    let server = crate::web::Server::bind(app.clone(), listen).await?;
    let mut out = anstream::stdout().lock();
    if let Some(a) = server.public_addr() {
        writeln!(out, "story pages on http://{a}/")?;
    }
    if let Some(a) = server.admin_addr() {
        writeln!(
            out,
            "operators' pages on http://{a}/ (feeds, subscriptions, healthz, metrics)"
        )?;
    }
    out.flush()?;
    drop(out);
    server.run(shutdown_signal()).await?;
    Ok(Outcome::Done)
}

const EMPTY_STORE: &str = "the store has no stories yet: import articles with `storybot import \
     FILE.jsonl`, fetch the configured feeds with `storybot ingest --once`, or set \
     `seed_demo = true` under [store] in the config for the bundled demo stories";

async fn story(app: &App, query: &str, json: bool, png: Option<PathBuf>) -> Result<Outcome> {
    let story = match app.find_story(query).await? {
        Lookup::Found(story) => story,
        Lookup::EmptyStore => {
            say(EMPTY_STORE);
            return Ok(Outcome::NothingFound);
        }
        Lookup::NotFound { suggestions } => {
            let mut msg = format!(
                "no story matches {:?}",
                crate::text::truncate_chars(query, 80)
            );
            if suggestions.is_empty() {
                msg.push_str("; try `storybot top` to see the current stories");
            } else {
                msg.push_str(". Closest titles:");
                for s in &suggestions {
                    msg.push_str(&format!("\n  {}  {}", s.id, s.title));
                }
            }
            say(msg);
            return Ok(Outcome::NothingFound);
        }
    };
    let digest = app.digest(&story).await?;
    let mut out = anstream::stdout().lock();
    if json {
        let payload = crate::digest::embed::message(&digest);
        writeln!(out, "{}", serde_json::to_string_pretty(&payload)?)?;
    } else {
        write!(out, "{}", crate::digest::terminal::render(&digest))?;
    }
    out.flush()?;
    if let Some(path) = png {
        let bytes = crate::digest::png::bias_bar(&digest.coverage)?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Outcome::Done)
}

async fn stories(app: &App, json: bool) -> Result<Outcome> {
    let mut after = None;
    let mut export = if json {
        Some(ExportWriter::new(anstream::stdout().lock())?)
    } else {
        None
    };
    loop {
        let rows = app.store.stories_after(after, 200).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.key);
        for story in app.store.with_coverages(rows).await? {
            match export.as_mut() {
                Some(w) => app.export_story(w, &story).await?,
                None => print_story(app, &story).await?,
            }
        }
    }
    if let Some(w) = export {
        w.finish()?;
    }
    Ok(Outcome::Done)
}

async fn print_story(app: &App, story: &Story) -> Result<()> {
    let mut out = anstream::stdout().lock();
    let view = app.summary(story);
    writeln!(out, "{}", crate::digest::terminal::list_line(&view))?;
    for p in &view.key_points {
        writeln!(out, "          • {p}")?;
    }
    app.each_article(story, |a| -> Result<()> {
        Ok(writeln!(out, "          {}", a.url)?)
    })
    .await?;
    writeln!(out)?;
    Ok(())
}

/// `top` or `blindspot`: ranked stories, or nothing found.
async fn list(app: &App, blindspots: bool, count: usize, json: bool) -> Result<Outcome> {
    let (stories, empty) = if blindspots {
        let none = "No blindspots among the current stories.";
        (app.blindspots(count).await?, none)
    } else {
        (app.trending(count).await?, EMPTY_STORE)
    };
    if stories.is_empty() && !json {
        say(empty);
        return Ok(Outcome::NothingFound);
    }
    print_list(app, &stories, json).await?;
    Ok(Outcome::Done)
}

/// Ranked one-line entries, or their export JSON.
async fn print_list(app: &App, stories: &[Story], json: bool) -> Result<()> {
    if json {
        let mut w = ExportWriter::new(anstream::stdout().lock())?;
        for story in stories {
            app.export_story(&mut w, story).await?;
        }
        w.finish()?;
    } else {
        let mut out = anstream::stdout().lock();
        for (rank, story) in stories.iter().enumerate() {
            let line = crate::digest::terminal::list_line(&app.summary(story));
            writeln!(out, "{:>2}. {line}", rank + 1)?;
        }
        out.flush()?;
    }
    Ok(())
}

fn poller(app: &App) -> Result<crate::ingest::poll::Poller> {
    if app.settings.feeds.is_empty() {
        anyhow::bail!("no feeds configured: add [[feeds]] entries to the config file");
    }
    Ok(crate::ingest::poll::Poller::new(
        app.settings.clone(),
        app.outlets.clone(),
        app.store.clone(),
    )?)
}

async fn ingest_once(app: &App) -> Result<Outcome> {
    let r = poller(app)?.cycle(app, chrono::Utc::now(), true).await?;
    let b = &r.written;
    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "{} feeds fetched ({} unchanged), {} failed; {} items, {} too old, {} invalid; \
         {} new articles, {} new stories, {} stories grew, {} merged",
        r.feeds_fetched,
        r.not_modified,
        r.failed,
        r.items,
        r.too_old,
        r.invalid,
        b.new_articles,
        b.new_stories,
        b.updated_stories,
        b.merged_stories
    )?;
    if r.failed > 0 {
        writeln!(out, "see `storybot feeds` for the failing feeds")?;
    }
    if app.settings.articles.enabled {
        let p = crate::page_queue::drain(app).await?;
        let failed: usize = p.failed.values().sum();
        writeln!(
            out,
            "article pages: {} read, {} walls, {} unchanged, {failed} failed; {} stories summarised again",
            p.read, p.walls, p.unchanged, p.stories_summarised
        )?;
    }
    Ok(Outcome::Done)
}

/// Ingest as a service: on Postgres it leads or stands by beside the other processes (see
/// `fleet`); on SQLite it is refused while another service process runs on the file.
async fn ingest_until_stopped(app: &App) -> Result<Outcome> {
    poller(app)?;
    let service = crate::service::Service::start(
        app,
        crate::service::Plan {
            role: "ingest",
            shards: None,
            lead: None,
        },
    )
    .await?;
    shutdown_signal().await;
    service.shutdown().await;
    Ok(Outcome::Done)
}

async fn status(app: &App, json: bool) -> Result<Outcome> {
    let status = crate::fleet::status::read(&app.store).await?;
    let mut out = anstream::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?;
    } else {
        write!(out, "{}", crate::fleet::status::text(&status))?;
    }
    Ok(Outcome::Done)
}

async fn feeds(app: &App, enable: Option<String>) -> Result<Outcome> {
    let mut out = anstream::stdout().lock();
    if let Some(url) = enable {
        if !app.settings.feeds.iter().any(|f| f.url == url) {
            anyhow::bail!("{} is not a configured feed", redact_url(&url));
        }
        let mut state = app.store.feed_state(&url).await?;
        state.disabled_reason = None;
        state.failures = 0;
        state.next_fetch = None;
        app.store.save_feed_state(&state).await?;
        writeln!(out, "enabled {}", redact_url(&url))?;
    }
    for feed in &app.settings.feeds {
        let s = app.store.feed_state(&feed.url).await?;
        write!(out, "{}", feed_health(&redact_url(&feed.url), &s))?;
    }
    write!(out, "{}", page_health(app).await?)?;
    Ok(Outcome::Done)
}

/// The article pages read, in all and by host, as `storybot feeds` prints them.
async fn page_health(app: &App) -> Result<String> {
    use crate::fleet::status::Pages;
    let pages = Pages::of(app.store.page_counts(usize::MAX).await?);
    let mut text = if app.settings.articles.enabled {
        format!("article pages: {}\n", pages.line())
    } else {
        format!(
            "article pages: not read ([articles] enabled = false); {}\n",
            pages.line()
        )
    };
    for h in &pages.hosts {
        let single = Pages::of(vec![h.clone()]);
        text.push_str(&format!("  {:<32} {}\n", h.host, single.line()));
    }
    Ok(text)
}

/// A feed's health as `storybot feeds` prints it.
fn feed_health(url: &str, s: &crate::store::FeedState) -> String {
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M UTC").to_string()
        })
    };
    let status = s.status();
    let next = match (&s.disabled_reason, s.next_fetch) {
        (Some(_), _) => "none (disabled)".to_string(),
        (None, None) => "now".to_string(),
        (None, t) => fmt(t),
    };
    let mut text = format!(
        "{status:<8} {url}\n         last success {} · {} items · next fetch {next}\n",
        fmt(s.last_success),
        s.items
    );
    if let Some(e) = &s.last_error {
        text.push_str(&format!(
            "         last error {e} at {} ({} in a row)\n",
            fmt(s.last_error_at),
            s.failures
        ));
    }
    if let Some(r) = &s.disabled_reason {
        text.push_str(&format!(
            "         disabled: {r}; `storybot feeds --enable URL` to retry\n"
        ));
    }
    text
}

async fn import(app: &App, file: PathBuf) -> Result<Outcome> {
    let report = if file.as_os_str() == "-" {
        app.import(std::io::BufReader::new(std::io::stdin()))
            .await?
    } else {
        let f = std::fs::File::open(&file)
            .with_context(|| format!("cannot open {}", file.display()))?;
        if f.metadata().is_ok_and(|m| m.is_dir()) {
            anyhow::bail!("cannot import {}: it is a directory", file.display());
        }
        app.import(std::io::BufReader::new(f)).await?
    };
    let b = &report.batch;
    let mut err = anstream::stderr().lock();
    for e in &report.rejected {
        writeln!(err, "  {e}")?;
    }
    if report.rejected_count > report.rejected.len() {
        writeln!(
            err,
            "  ... and {} more",
            report.rejected_count - report.rejected.len()
        )?;
    }
    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "imported {} new articles ({} new stories, {} stories grew); {} already stored; {} lines rejected",
        b.new_articles,
        b.new_stories,
        b.updated_stories,
        b.duplicates,
        report.rejected_count
    )?;
    if let Some(e) = report.read_error {
        anyhow::bail!("cannot read all of {}: {e}", file.display());
    }
    let valid = report.lines.saturating_sub(report.rejected_count);
    if valid == 0 {
        writeln!(
            err,
            "nothing imported: {} holds no valid article line",
            file.display()
        )?;
        return Ok(Outcome::NothingFound);
    }
    Ok(Outcome::Done)
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested: finishing the work in progress");
}

/// A line for the user on stderr. A closed stream is not an error worth a panic: the
/// reader has gone, and the exit status still tells.
pub fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A line of output on stdout, quietly dropped when the reader has gone.
fn say_out(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

//! The command line: `storybot story|stories|top|import`, with `--config` and `--db` on all.
//! This is an edge of the program: errors here are `anyhow`, with context for the user.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use crate::app::{App, Lookup};
use crate::config::Config;
use crate::digest::{self, export::ExportStory, Digest};

#[derive(Debug, Parser)]
#[command(
    name = "storybot",
    version,
    about = "News stories as digests: key points, coverage and bias distribution"
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
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=100))]
        count: i64,
        /// Print the export JSON of those stories
        #[arg(long)]
        json: bool,
    },
    /// Stories covered mostly by one side (see the blindspot rule in README)
    Blindspot {
        /// How many (1 to 100)
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=100))]
        count: i64,
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
    /// when feeds are configured, until Ctrl-C / SIGTERM
    Run,
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
}

/// Loads the configuration the flags point at.
pub fn load_config(cli: &Cli) -> Result<Config> {
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
pub async fn run(cli: Cli) -> Result<()> {
    let config = load_config(&cli)?;
    if let Command::Commands { .. } = cli.command {
        // No store, no network: the payload depends on the code alone.
        let payload = crate::discord::register::payload(&crate::discord::commands::all());
        println!("{}", serde_json::to_string_pretty(&payload)?);
        return Ok(());
    }
    if let Command::Run = cli.command {
        // Checked before opening anything, so a missing token fails fast and clearly.
        let token = crate::discord::bot::token_from_env(std::env::var("DISCORD_TOKEN").ok())?;
        let app = App::open(config).await?;
        let result = crate::discord::run(app.clone(), token, shutdown_signal()).await;
        app.store.close().await;
        return Ok(result?);
    }
    let app = App::open(config).await?;
    let result = dispatch(&app, cli.command).await;
    app.store.close().await;
    result
}

async fn dispatch(app: &App, command: Command) -> Result<()> {
    let mut out = anstream::stdout().lock();
    match command {
        Command::Story { query, json, png } => {
            let query = query.join(" ");
            match app.find_story(&query).await? {
                Lookup::Found(story) => {
                    let digest = Digest::build(&story, &app.outlets, &app.config);
                    if json {
                        let payload = digest::discord::message(&digest);
                        writeln!(out, "{}", serde_json::to_string_pretty(&payload)?)?;
                    } else {
                        write!(out, "{}", digest::text::render(&digest))?;
                    }
                    if let Some(path) = png {
                        let bytes = digest::png::bias_bar(&digest.coverage)?;
                        std::fs::write(&path, bytes)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                }
                Lookup::NotFound { suggestions } => {
                    let mut msg = format!(
                        "no story matches {:?}",
                        crate::text::truncate_chars(&query, 80)
                    );
                    if suggestions.is_empty() {
                        msg.push_str("; try `storybot top` to see the current stories");
                    } else {
                        msg.push_str(". Closest titles:");
                        for s in &suggestions {
                            msg.push_str(&format!("\n  {}  {}", s.id, s.title));
                        }
                    }
                    bail!(msg);
                }
            }
        }
        Command::Stories { json } => {
            if json {
                write!(out, "[")?;
            }
            let mut after = 0;
            let mut first = true;
            loop {
                let rows = app.store.stories_after(after, 200).await?;
                let Some(last) = rows.last() else { break };
                after = last.seq;
                for row in rows {
                    let story = app.store.with_articles(row).await?;
                    if json {
                        let e = ExportStory::new(&story, &app.outlets, &app.config);
                        write!(
                            out,
                            "{}\n{}",
                            if first { "" } else { "," },
                            serde_json::to_string(&e)?
                        )?;
                    } else {
                        writeln!(out, "{}", list_line(app, &story))?;
                        for p in &story.key_points {
                            writeln!(out, "          • {p}")?;
                        }
                        for a in &story.articles {
                            writeln!(out, "          {}", a.url)?;
                        }
                        writeln!(out)?;
                    }
                    first = false;
                }
            }
            if json {
                writeln!(out, "{}]", if first { "" } else { "\n" })?;
            }
        }
        Command::Top { count, json } => {
            let stories = app.trending(count as usize).await?;
            if stories.is_empty() && !json {
                writeln!(
                    out,
                    "No stories yet: import some with `storybot import FILE.jsonl`."
                )?;
            }
            print_list(&mut out, app, &stories, json)?;
        }
        Command::Blindspot { count, json } => {
            let stories = app.blindspots(count as usize).await?;
            if stories.is_empty() && !json {
                writeln!(out, "No blindspots among the current stories.")?;
            }
            print_list(&mut out, app, &stories, json)?;
        }
        Command::Ingest { once } => {
            if app.config.feeds.is_empty() {
                bail!("no feeds configured: add [[feeds]] entries to the config file");
            }
            if once {
                let fetcher = crate::ingest::poll::fetcher(app)?;
                let r = crate::ingest::poll::cycle(app, &fetcher, chrono::Utc::now(), true).await?;
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
                    r.batch.new_articles,
                    r.batch.new_stories,
                    r.batch.updated_stories,
                    r.batch.merged_stories
                )?;
                if r.failed > 0 {
                    writeln!(out, "see `storybot feeds` for the failing feeds")?;
                }
            } else {
                crate::ingest::poll::run(app, shutdown_signal(), None).await?;
            }
        }
        Command::Feeds { enable } => {
            if let Some(url) = enable {
                if !app.config.feeds.iter().any(|f| f.url == url) {
                    bail!("{url} is not a configured feed");
                }
                let mut state = app.store.feed_state(&url).await?;
                state.disabled_reason = None;
                state.failures = 0;
                state.next_fetch = None;
                app.store.save_feed_state(&state).await?;
                writeln!(out, "enabled {url}")?;
            }
            let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("never".to_string(), |t| {
                    t.format("%Y-%m-%d %H:%M UTC").to_string()
                })
            };
            for spec in app.config.feed_specs() {
                let s = app.store.feed_state(&spec.url).await?;
                let status = match (&s.disabled_reason, s.failures) {
                    (Some(_), _) => "DISABLED",
                    (None, 0) if s.last_success.is_some() => "ok",
                    (None, 0) => "new",
                    (None, _) => "failing",
                };
                writeln!(out, "{status:<8} {}", spec.url)?;
                writeln!(
                    out,
                    "         last success {} · {} items · next fetch {}",
                    fmt(s.last_success),
                    s.items,
                    match (&s.disabled_reason, s.next_fetch) {
                        (Some(_), _) => "none (disabled)".to_string(),
                        (None, None) => "now".to_string(),
                        (None, t) => fmt(t),
                    }
                )?;
                if let Some(e) = &s.last_error {
                    writeln!(
                        out,
                        "         last error {} at {} ({} in a row)",
                        e,
                        fmt(s.last_error_at),
                        s.failures
                    )?;
                }
                if let Some(r) = &s.disabled_reason {
                    writeln!(
                        out,
                        "         disabled: {r}; `storybot feeds --enable URL` to retry"
                    )?;
                }
            }
        }
        Command::Run | Command::Commands { .. } => unreachable!("handled before the store opens"),
        Command::Import { file } => {
            let report = if file.as_os_str() == "-" {
                app.import(std::io::stdin().lock()).await?
            } else {
                let f = std::fs::File::open(&file)
                    .with_context(|| format!("cannot open {}", file.display()))?;
                app.import(std::io::BufReader::new(f)).await?
            };
            let b = &report.batch;
            writeln!(
                out,
                "imported {} new articles ({} new stories, {} stories grew); {} already stored; {} lines rejected",
                b.new_articles,
                b.new_stories,
                b.updated_stories,
                b.duplicates,
                report.rejected.len()
            )?;
            let mut err = anstream::stderr().lock();
            for e in report.rejected.iter().take(50) {
                writeln!(err, "  {e}")?;
            }
            if report.rejected.len() > 50 {
                writeln!(err, "  ... and {} more", report.rejected.len() - 50)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A story's one-line summary for lists.
fn list_line(app: &App, story: &crate::model::Story) -> String {
    digest::text::list_line(story.id.as_str(), &story.title, &app.coverage(story))
}

/// Ranked one-line entries, or their export JSON.
fn print_list(
    out: &mut impl std::io::Write,
    app: &App,
    stories: &[crate::model::Story],
    json: bool,
) -> Result<()> {
    if json {
        let exports: Vec<ExportStory> = stories
            .iter()
            .map(|s| ExportStory::new(s, &app.outlets, &app.config))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&exports)?)?;
    } else {
        for (rank, story) in stories.iter().enumerate() {
            writeln!(out, "{:>2}. {}", rank + 1, list_line(app, story))?;
        }
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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

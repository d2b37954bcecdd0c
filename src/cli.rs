//! The command line: `storybot story|stories|top|import`, with `--config` and `--db` on all.
//! This is an edge of the program: errors here are `anyhow`, with context for the user.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use crate::app::{App, Lookup};
use crate::config::Config;
use crate::digest::{self, export::ExportStory, Digest};
use crate::summarise::Coverage;

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
    /// The most covered recent stories
    Top {
        /// How many (1 to 100)
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=100))]
        count: i64,
        /// Print the export JSON of those stories
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
            let window = chrono::Duration::hours(app.config.digest.top_window_hours);
            let rows = app.store.top(count, window).await?;
            if rows.is_empty() && !json {
                writeln!(
                    out,
                    "No stories yet: import some with `storybot import FILE.jsonl`."
                )?;
            }
            let mut exports = Vec::new();
            for (rank, row) in rows.into_iter().enumerate() {
                let story = app.store.with_articles(row).await?;
                if json {
                    exports.push(ExportStory::new(&story, &app.outlets, &app.config));
                } else {
                    writeln!(out, "{:>2}. {}", rank + 1, list_line(app, &story))?;
                }
            }
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&exports)?)?;
            }
        }
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
    let c = Coverage::compute(&story.articles, &app.outlets, &app.config.blindspot);
    digest::text::list_line(story.id.as_str(), &story.title, &c)
}

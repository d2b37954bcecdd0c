//! The `storybot` binary: parses the command line and hands over to [`storybot::cli`].

use clap::Parser;

/// Targets capped at info level because their verbose output contains secrets.
const NEVER_VERBOSE: [&str; 3] = [
    "tungstenite=info",
    "tokio_tungstenite=info",
    "serenity::gateway::ws=info",
];

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = storybot::cli::Cli::parse();
    // Long-running services report at info level by default; one-shot commands stay quiet.
    let default = match cli.command {
        storybot::cli::Command::Run | storybot::cli::Command::Ingest { once: false } => {
            "warn,storybot=info"
        }
        _ => "warn",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Whatever RUST_LOG asks for, raw gateway frames stay out of the log: they carry
    // interaction tokens (and the IDENTIFY frame, the bot token).
    for cap in NEVER_VERBOSE {
        filter = filter.add_directive(cap.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    match storybot::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

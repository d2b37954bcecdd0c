//! The `storybot` binary: parses the command line, sets up the log, and hands over to
//! [`storybot::cli`]. Exit status: 0 done, 1 nothing found, 2 error (see `cli`).

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal as _;

use clap::Parser;

/// Dependencies whose verbose output carries secrets (gateway frames and HTTP routes hold
/// interaction tokens; the IDENTIFY frame and request headers, the bot token): capped at info
/// whatever RUST_LOG asks for. The log writer scrubs secrets as well (`storybot::secrets`).
const NEVER_VERBOSE: [&str; 9] = [
    "serenity=info",
    "poise=info",
    "tungstenite=info",
    "tokio_tungstenite=info",
    "reqwest=info",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
    "rustls=info",
];

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = storybot::cli::Cli::parse();
    init_log(cli.command.is_service());
    let code = match storybot::cli::run(cli).await {
        Ok(outcome) => outcome.code(),
        Err(e) => {
            let code = storybot::cli::error_code(&e);
            if code != 0 {
                let message = storybot::error::chain(e.as_ref());
                storybot::cli::say(format_args!(
                    "error: {}",
                    storybot::secrets::scrub(&message)
                ));
            }
            code
        }
    };
    std::process::ExitCode::from(code)
}

/// Long-running services report at info level by default; one-shot commands stay quiet.
/// Colour only on a terminal (and never with NO_COLOR set).
fn init_log(service: bool) {
    let default = if service {
        "warn,storybot=info"
    } else {
        "warn"
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    for cap in NEVER_VERBOSE {
        filter = filter.add_directive(cap.parse().expect("a valid directive"));
    }
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(|| storybot::secrets::RedactingWriter(std::io::stderr()))
        .with_ansi(colour)
        // A log line that cannot be written is dropped: never reported on stderr with a
        // printing macro, which would panic on a closed stream.
        .log_internal_errors(false)
        .with_env_filter(filter)
        .init();
}

//! Command registration: the exact payload (`storybot commands --json` prints it) and the
//! bulk overwrite that installs it, globally or in the configured servers.
//!
//! Registration goes through [`super::rest::Rest`], so a 429 or a 5xx is waited out and
//! retried; if it still fails, the bot stops with the error rather than staying connected
//! but deaf to every command (what poise's default setup does after a 429).

use reqwest::Method;
use serde_json::Value;

use super::rest::{Body, Request, Rest, RestError};
use super::{BotError, Data};

/// The registration payload of these commands: a JSON array of application commands.
pub(crate) fn payload(commands: &[poise::Command<Data, BotError>]) -> Value {
    let builders = poise::builtins::create_application_commands(commands);
    let mut payload = serde_json::to_value(builders).expect("command builders serialise");
    // serenity writes the permission bit set as a string; Discord's OpenAPI description types
    // it as an integer, which Discord accepts as well.
    for command in payload.as_array_mut().into_iter().flatten() {
        let bits = command["default_member_permissions"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(bits) = bits {
            command["default_member_permissions"] = Value::from(bits);
        }
    }
    payload
}

/// Where the commands go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    Global,
    Guild(u64),
}

/// Installs `payload` (replacing whatever was registered before) in each scope.
pub(crate) async fn register(
    rest: &Rest,
    application_id: u64,
    scopes: &[Scope],
    payload: &Value,
) -> Result<(), RestError> {
    for scope in scopes {
        let path = match scope {
            Scope::Global => format!("/applications/{application_id}/commands"),
            Scope::Guild(g) => format!("/applications/{application_id}/guilds/{g}/commands"),
        };
        rest.send(Request {
            method: Method::PUT,
            route: format!("PUT {path}"),
            path,
            body: Body::Json(payload.clone()),
            interaction: false,
            idempotent_retry: true,
            at_most_once: false,
        })
        .await?;
        tracing::info!(?scope, "registered the slash commands");
    }
    Ok(())
}

/// The configured scopes: the listed servers, else global.
pub(crate) fn scopes(guild_ids: &[u64]) -> Vec<Scope> {
    if guild_ids.is_empty() {
        vec![Scope::Global]
    } else {
        guild_ids.iter().map(|g| Scope::Guild(*g)).collect()
    }
}

//! A small typed client for OpenAI's chat-completions API (what Ollama, llama.cpp's server,
//! vLLM, LM Studio and hosted APIs speak), on the reqwest the bot already has: no second HTTP
//! or TLS stack. It asks for the answer in a JSON schema (`response_format: json_schema`) and
//! falls back to JSON mode once when a server refuses that. The API key comes from the
//! environment variable `[llm] api_key_env` names, and no error or log line carries it.

use std::time::Duration;

use serde::Deserialize;

use crate::config::LlmSettings;

/// Most bytes of an answer read.
const MAX_BODY: usize = 1 << 20;

/// A failed call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("the environment variable {0} (llm.api_key_env) is not set")]
    MissingKey(String),
    #[error("cannot reach the model server {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the model server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the model server is rate limiting (429){}", retry_after.map(|s| format!("; retry after {s} s")).unwrap_or_default())]
    RateLimited { retry_after: Option<u64> },
    #[error("the model server answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the model server's answer is not a chat completion: {0}")]
    Malformed(String),
}

/// The client for one configured server and model.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    settings: LlmSettings,
    key: Option<String>,
    /// Set once the server refused a JSON schema: later calls go straight to JSON mode, so a
    /// story costs one request.
    json_mode_only: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

impl Client {
    /// A client for `settings`, with the key read from its environment variable.
    pub fn new(settings: &LlmSettings) -> Result<Client, LlmError> {
        let key = match &settings.api_key_env {
            Some(var) => Some(
                std::env::var(var)
                    .ok()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| LlmError::MissingKey(var.clone()))?,
            ),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| LlmError::Unreachable {
                url: crate::secrets::redact_url(&settings.base_url),
                reason: e.to_string(),
            })?;
        Ok(Client {
            http,
            settings: settings.clone(),
            key,
            json_mode_only: Default::default(),
        })
    }

    /// The model's answer (the message content) to `messages`, in `schema`, and whether the
    /// server honoured the schema (`false`: it only offered JSON mode).
    pub async fn complete(
        &self,
        messages: &[(&str, String)],
        schema: &serde_json::Value,
    ) -> Result<(String, bool), LlmError> {
        use std::sync::atomic::Ordering::Relaxed;
        let json_mode = || serde_json::json!({"type": "json_object"});
        if self.json_mode_only.load(Relaxed) {
            return self.call(messages, json_mode()).await.map(|c| (c, false));
        }
        let format = serde_json::json!({
            "type": "json_schema",
            "json_schema": {"name": "story_summary", "strict": true, "schema": schema}
        });
        match self.call(messages, format).await {
            // A server without structured output: JSON mode, validated by us all the same.
            Err(LlmError::Status { status: 400, .. }) => {
                let answer = self.call(messages, json_mode()).await?;
                self.json_mode_only.store(true, Relaxed);
                Ok((answer, false))
            }
            other => other.map(|content| (content, true)),
        }
    }

    /// The configured model's name.
    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// The model's name and the server, for messages (credentials masked).
    pub fn describe(&self) -> String {
        format!(
            "{} at {}",
            self.settings.model,
            crate::secrets::redact_url(&self.settings.base_url)
        )
    }

    async fn call(
        &self,
        messages: &[(&str, String)],
        format: serde_json::Value,
    ) -> Result<String, LlmError> {
        let body = serde_json::json!({
            "model": self.settings.model,
            "temperature": 0,
            "messages": messages.iter().map(|(role, content)| {
                serde_json::json!({"role": role, "content": content})
            }).collect::<Vec<_>>(),
            "response_format": format,
        });
        let url = format!("{}/chat/completions", self.settings.base_url);
        let mut request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = read_bounded(response)
            .await
            .map_err(|e| self.transport(&e))?;
        let text = String::from_utf8_lossy(&bytes);
        match status {
            200 => {}
            429 => return Err(LlmError::RateLimited { retry_after }),
            _ => {
                return Err(LlmError::Status {
                    status,
                    body: crate::text::clean(&text, 300),
                })
            }
        }
        let completion: Completion =
            serde_json::from_str(&text).map_err(|e| LlmError::Malformed(e.to_string()))?;
        completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| LlmError::Malformed("no message in the answer".into()))
    }

    fn transport(&self, e: &reqwest::Error) -> LlmError {
        if e.is_timeout() {
            return LlmError::Timeout(self.settings.timeout);
        }
        LlmError::Unreachable {
            url: crate::secrets::redact_url(&self.settings.base_url),
            reason: crate::error::chain(e),
        }
    }
}

/// The body, up to [`MAX_BODY`] bytes.
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(out)
}

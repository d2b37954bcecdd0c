//! Secrets stay out of every output: logs at any level, error messages, printed URLs.
//!
//! Two layers. First, what storybot prints itself never holds a secret: URLs go through
//! [`redact_url`] (credentials and key-like query parameters masked, also when the URL does not
//! parse), the bot token is a type that never prints, and interaction tokens are cut from
//! routes before they are logged. Second, the log writer ([`RedactingWriter`]) scrubs every
//! line once more: secrets registered at start-up ([`register`]: the bot token, a database
//! password, feed credentials) and anything shaped like a Discord interaction or webhook
//! token, in case a dependency's log line carries one. Dependencies whose verbose output
//! carries secrets are also capped at `info` whatever `RUST_LOG` says (see `main.rs`).

use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;

/// What replaces a secret.
pub(crate) const MASK: &str = "***";

/// Query parameters whose values are credentials (matched case-insensitively, as substrings
/// of the parameter name).
const SECRET_PARAMS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "signature",
    "sig",
    "credential",
    "session",
];

/// Secrets registered at start-up, scrubbed from every log line.
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Shorter strings are not registered: scrubbing them would mangle ordinary words (the
/// patterns and URL redaction still cover them where they appear in URLs).
const MIN_SECRET_LEN: usize = 6;

/// Registers a secret to scrub from every log line from now on.
pub(crate) fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut known = KNOWN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !known.iter().any(|k| k == secret) {
        known.push(secret.to_string());
        // Longest first, so a secret containing another is masked whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// Registers the credentials a URL carries (its password, user name and key-like parameters).
pub(crate) fn register_url(url: &str) {
    if let Ok(u) = url::Url::parse(url) {
        if let Some(p) = u.password() {
            register(p);
            register(&percent_decode(p));
        }
        if !u.username().is_empty() && u.password().is_some() {
            register(u.username());
        }
        for (k, v) in u.query_pairs() {
            if is_secret_param(&k) {
                register(&v);
            }
        }
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|p| name.contains(p))
}

/// A URL safe to print: user information replaced by [`MASK`], key-like query parameters'
/// values masked. Text that does not parse as a URL is masked the same way by a plain scan.
///
/// ```
/// use storybot::secrets::redact_url;
/// assert_eq!(redact_url("https://u:pw@a.example/f?apikey=1&x=2"), "https://***@a.example/f?apikey=***&x=2");
/// assert_eq!(redact_url("postgres://me:s3cret@db:bad-port/x"), "postgres://***@db:bad-port/x");
/// ```
pub fn redact_url(url: &str) -> String {
    // A plain scan rather than a parse and re-serialisation: it works on URLs that do not
    // parse, and changes nothing else.
    let (scheme_end, rest) = match url.find("://") {
        Some(i) => (i + 3, &url[i + 3..]),
        None => (0, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..scheme_end]);
    match authority.rfind('@') {
        Some(at) if scheme_end > 0 => {
            out.push_str(MASK);
            out.push_str(&authority[at..]);
        }
        _ => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    let (path, query_and_fragment) = match tail.find('?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };
    out.push_str(path);
    if let Some(qf) = query_and_fragment {
        let (query, fragment) = match qf.find('#') {
            Some(h) => (&qf[..h], Some(&qf[h..])),
            None => (qf, None),
        };
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((k, _)) if is_secret_param(k) => {
                    out.push_str(k);
                    out.push('=');
                    out.push_str(MASK);
                }
                _ => out.push_str(pair),
            }
        }
        if let Some(f) = fragment {
            out.push_str(f);
        }
    }
    out
}

/// Scrubs a log line: registered secrets, Discord interaction and webhook tokens in paths,
/// `token` values in debug output and JSON, and credentials in URLs.
pub fn scrub(line: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(line);
    {
        let known = KNOWN
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in known.iter() {
            if out.contains(k.as_str()) {
                out = Cow::Owned(out.replace(k.as_str(), MASK));
            }
        }
    }
    for marker in ["/interactions/", "/webhooks/"] {
        if out.contains(marker) {
            out = Cow::Owned(mask_after_id(&out, marker));
        }
    }
    if out.to_ascii_lowercase().contains("token") {
        out = Cow::Owned(mask_token_values(&out));
    }
    if out.contains("://") && out.contains('@') {
        out = Cow::Owned(mask_url_userinfo(&out));
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// `<marker><digits>/<token>` → `<marker><digits>/***`.
fn mask_after_id(s: &str, marker: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let after_id = &tail[digits..];
        if digits > 0 && after_id.starts_with('/') {
            let token_len = after_id[1..]
                .find(|c: char| !is_token_char(c))
                .unwrap_or(after_id.len() - 1);
            // Long enough to be a token, and not a route word such as `callback`.
            if token_len >= 20 {
                out.push_str(&tail[..digits + 1]);
                out.push_str(MASK);
                rest = &after_id[1 + token_len..];
                continue;
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// `token: "abc"`, `"token":"abc"`, `token=abc` (any case) → the value masked.
fn mask_token_values(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("token") {
        let key_end = search + found + "token".len();
        search = key_end;
        let bytes = s.as_bytes();
        let mut j = key_end;
        // Optional closing quote of a JSON key, then `:` or `=`, spaces, an opening quote.
        if j < bytes.len() && bytes[j] == b'"' {
            j += 1;
        }
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j >= bytes.len() || !matches!(bytes[j], b':' | b'=') {
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'"' {
            j += 1;
        }
        let value_len = s[j..]
            .find(|c: char| !is_token_char(c))
            .unwrap_or(s.len() - j);
        if value_len == 0 || s[j..j + value_len] == *MASK {
            continue;
        }
        out.push_str(&s[copied..j]);
        out.push_str(MASK);
        copied = j + value_len;
        search = copied;
    }
    out.push_str(&s[copied..]);
    out
}

/// Every `scheme://user:pass@` in free text → `scheme://***@`.
fn mask_url_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str(MASK);
                out.push_str(&tail[at..authority_end]);
            }
            None => out.push_str(&tail[..authority_end]),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// A writer for the log that scrubs each write with [`scrub`]. The `fmt` layer writes each
/// event with one call, so a secret is never split across two writes.
pub struct RedactingWriter<W: Write>(pub W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_in_every_shape() {
        for (input, expected) in [
            ("https://u:pw@a.example/f", "https://***@a.example/f"),
            ("https://token123@a.example/f", "https://***@a.example/f"),
            (
                "https://a.example/f?apikey=XYZ",
                "https://a.example/f?apikey=***",
            ),
            (
                "https://a.example/f?api_key=XYZ&page=2",
                "https://a.example/f?api_key=***&page=2",
            ),
            (
                "postgres://me:pw@db/x?password=pw2",
                "postgres://***@db/x?password=***",
            ),
            (
                "postgres://me:pw@db:notaport/x",
                "postgres://***@db:notaport/x",
            ),
            ("postgres://me:p@ss@db/x", "postgres://***@db/x"),
            (
                "https://a.example/f?x=1#frag",
                "https://a.example/f?x=1#frag",
            ),
            ("not a url at all", "not a url at all"),
            ("sqlite://data/x.db", "sqlite://data/x.db"),
        ] {
            assert_eq!(redact_url(input), expected, "{input}");
        }
    }

    #[test]
    fn log_lines_lose_tokens_of_every_shape() {
        register("registered-secret-value");
        let itoken = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OmFiY2RlZg";
        for line in [
            format!("route: InteractionResponse {{ interaction_id: 12, token: \"{itoken}\" }}"),
            format!("POST https://discord.com/api/v10/interactions/123/{itoken}/callback"),
            format!("PATCH /api/v10/webhooks/456/{itoken}/messages/@original"),
            format!("{{\"token\":\"{itoken}\",\"id\":\"1\"}}"),
            "Authorization: Bot registered-secret-value".to_string(),
            "connecting to postgres://me:hunter2@db/x".to_string(),
        ] {
            let s = scrub(&line);
            assert!(!s.contains(itoken), "{s}");
            assert!(!s.contains("registered-secret-value"), "{s}");
            assert!(!s.contains("hunter2"), "{s}");
        }
        // Ordinary text passes untouched.
        let plain = "POST /interactions/123/callback ok; tokens: 3";
        assert_eq!(scrub(plain), plain);
    }
}

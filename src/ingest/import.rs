//! JSONL import: one article per line.
//!
//! ```json
//! {"url": "https://...", "title": "...", "summary": "...", "published": "2014-03-10T17:32:50Z",
//!  "outlet": "Los Angeles Times", "story": "upstream-story-id"}
//! ```
//! `url` and `title` are required. `published` takes RFC 3339, RFC 2822 or a Unix time in
//! seconds or milliseconds; without it the import time is used. `outlet` helps match a
//! publisher whose domain is not in the ratings table. `story` assigns the article to an
//! upstream story, for sources that are already clustered. A bad line is reported with its
//! number and reason; the good lines are imported.

use std::io::{BufRead, Read};

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use super::normalise::RawArticle;

/// Longest line accepted (bytes).
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    url: Option<String>,
    title: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    published: Option<serde_json::Value>,
    #[serde(default)]
    outlet: Option<String>,
    #[serde(default)]
    story: Option<serde_json::Value>,
}

/// Reads JSONL from `reader`: the parsed articles with their line numbers, and the errors.
/// An I/O error stops the read and is returned as the last error.
pub fn read_jsonl(reader: impl BufRead) -> (Vec<(usize, RawArticle)>, Vec<LineError>) {
    let mut articles = Vec::new();
    let mut errors = Vec::new();
    let mut reader = reader;
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        line_no += 1;
        // Read at most MAX_LINE_BYTES + 1 of a line, then skip the rest of an oversized one.
        let read = Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf);
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                errors.push(LineError {
                    line: line_no,
                    reason: format!("read error: {e}"),
                });
                break;
            }
        }
        if buf.len() > MAX_LINE_BYTES && !buf.ends_with(b"\n") {
            let mut sink = Vec::new();
            let _ = reader.read_until(b'\n', &mut sink);
            errors.push(LineError {
                line: line_no,
                reason: format!("line is longer than {MAX_LINE_BYTES} bytes"),
            });
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim(),
            Err(_) => {
                errors.push(LineError {
                    line: line_no,
                    reason: "line is not valid UTF-8".into(),
                });
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(a) => articles.push((line_no, a)),
            Err(reason) => errors.push(LineError {
                line: line_no,
                reason,
            }),
        }
    }
    (articles, errors)
}

/// Parses one JSON line into a raw article, or says why not.
pub fn parse_line(text: &str) -> Result<RawArticle, String> {
    let line: Line =
        serde_json::from_str(text).map_err(|e| format!("not a valid article object: {e}"))?;
    let url = line
        .url
        .filter(|u| !u.trim().is_empty())
        .ok_or("missing \"url\"")?;
    let title = line
        .title
        .filter(|t| !t.trim().is_empty())
        .ok_or("missing \"title\"")?;
    let published = match line.published {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(parse_time(&v)?),
    };
    let story_key = match line.story {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err("\"story\" must be a string or a number".into()),
    };
    Ok(RawArticle {
        url,
        title,
        summary: line.summary.unwrap_or_default(),
        published,
        publisher: line.outlet,
        outlet_override: false,
        story_key,
    })
}

/// RFC 3339, RFC 2822, or Unix seconds / milliseconds (as a number or a string of digits).
pub fn parse_time(v: &serde_json::Value) -> Result<DateTime<Utc>, String> {
    let bad = || format!("\"published\" {v} is not a date (use RFC 3339, RFC 2822 or Unix time)");
    let from_number = |n: i64| {
        // Milliseconds from 1973 on; seconds otherwise.
        let (secs, millis) = if n.abs() >= 100_000_000_000 {
            (n.div_euclid(1000), n.rem_euclid(1000))
        } else {
            (n, 0)
        };
        Utc.timestamp_opt(secs, (millis * 1_000_000) as u32)
            .single()
            .ok_or_else(bad)
    };
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .ok_or_else(bad)
            .and_then(from_number),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                return from_number(n);
            }
            DateTime::parse_from_rfc3339(s)
                .or_else(|_| DateTime::parse_from_rfc2822(s))
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_lines_are_separated_with_line_numbers() {
        let input = concat!(
            "{\"url\":\"https://a.example/1\",\"title\":\"One\",\"published\":1394470370698,\"story\":\"s1\"}\n",
            "not json\n",
            "\n",
            "{\"url\":\"https://a.example/2\"}\n",
            "{\"url\":\"https://a.example/3\",\"title\":\"Three\",\"published\":\"yesterday\"}\n",
            "{\"url\":\"https://a.example/4\",\"title\":\"Four\",\"published\":\"Mon, 10 Mar 2014 17:32:50 +0000\",\"story\":42}\n",
            "{\"url\":\"https://a.example/5\",\"title\":\"Five\",\"colour\":\"red\"}\n",
        );
        let (ok, errors) = read_jsonl(input.as_bytes());
        assert_eq!(ok.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![1, 6]);
        assert_eq!(ok[0].1.story_key.as_deref(), Some("s1"));
        assert_eq!(ok[0].1.published.unwrap().timestamp(), 1_394_470_370);
        assert_eq!(ok[1].1.story_key.as_deref(), Some("42"));
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4, 5, 7]);
        assert!(errors[1].reason.contains("title"), "{}", errors[1]);
        assert!(errors[2].reason.contains("yesterday"), "{}", errors[2]);
        assert!(errors[3].reason.contains("colour"), "{}", errors[3]);
    }

    #[test]
    fn oversized_lines_are_rejected_and_the_next_line_still_reads() {
        let huge = format!(
            "{{\"url\":\"https://a.example/x\",\"title\":\"{}\"}}\n",
            "x".repeat(MAX_LINE_BYTES)
        );
        let input = format!("{huge}{{\"url\":\"https://a.example/y\",\"title\":\"Y\"}}\n");
        let (ok, errors) = read_jsonl(input.as_bytes());
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].0, 2);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].reason.contains("longer than"));
    }
}

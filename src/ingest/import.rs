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
pub(crate) const MAX_LINE_BYTES: usize = 256 * 1024;

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
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

/// What [`JsonlReader::next_chunk`] read.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Parsed articles with their line numbers.
    pub articles: Vec<(usize, RawArticle)>,
    /// Lines rejected, with their reason.
    pub errors: Vec<LineError>,
    /// Non-empty lines read.
    pub lines: usize,
    /// An I/O error that ended the input, if any.
    pub read_error: Option<String>,
    /// The input is exhausted (or unreadable): no chunk follows.
    pub done: bool,
}

/// Reads JSONL a chunk of lines at a time, in bounded memory: a line longer than
/// [`MAX_LINE_BYTES`] is skipped as it is read, never held whole.
pub struct JsonlReader<R> {
    reader: R,
    line_no: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(reader: R) -> JsonlReader<R> {
        JsonlReader {
            reader,
            line_no: 0,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Reads until `max` articles are parsed or the input ends.
    pub fn next_chunk(&mut self, max: usize) -> Chunk {
        let mut chunk = Chunk::default();
        while !self.done && chunk.articles.len() < max {
            match self.read_line() {
                Ok(Line::End) => self.done = true,
                Ok(Line::Empty) => {}
                Ok(Line::TooLong) => {
                    chunk.lines += 1;
                    chunk.errors.push(LineError {
                        line: self.line_no,
                        reason: format!("line is longer than {MAX_LINE_BYTES} bytes"),
                    });
                }
                Ok(Line::Text) => {
                    chunk.lines += 1;
                    match std::str::from_utf8(&self.buf) {
                        Err(_) => chunk.errors.push(LineError {
                            line: self.line_no,
                            reason: "line is not valid UTF-8".into(),
                        }),
                        Ok(text) => match parse_line(text.trim()) {
                            Ok(a) => chunk.articles.push((self.line_no, a)),
                            Err(reason) => chunk.errors.push(LineError {
                                line: self.line_no,
                                reason,
                            }),
                        },
                    }
                }
                Err(e) => {
                    chunk.read_error = Some(format!("read error at line {}: {e}", self.line_no));
                    self.done = true;
                }
            }
        }
        chunk.done = self.done;
        chunk
    }

    /// Reads the next line into `buf`, or skips it when it is too long.
    fn read_line(&mut self) -> std::io::Result<Line> {
        self.buf.clear();
        let read = Read::take(&mut self.reader, MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(Line::End);
        }
        self.line_no += 1;
        if self.line_no == 1 && self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        if self.buf.len() > MAX_LINE_BYTES && !self.buf.ends_with(b"\n") {
            self.buf.clear();
            skip_line(&mut self.reader)?;
            return Ok(Line::TooLong);
        }
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            return Ok(Line::Empty);
        }
        Ok(Line::Text)
    }
}

/// The UTF-8 byte-order mark some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

enum Line {
    Text,
    Empty,
    TooLong,
    End,
}

/// Consumes input up to and including the next newline without keeping it.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

/// Reads all of `reader`: the parsed articles with their line numbers, and the errors (an
/// I/O error last).
#[cfg(test)]
fn read_jsonl(reader: impl BufRead) -> (Vec<(usize, RawArticle)>, Vec<LineError>) {
    let mut r = JsonlReader::new(reader);
    let (mut articles, mut errors) = (Vec::new(), Vec::new());
    loop {
        let chunk = r.next_chunk(usize::MAX);
        articles.extend(chunk.articles);
        errors.extend(chunk.errors);
        if let Some(e) = chunk.read_error {
            errors.push(LineError {
                line: r.line_no + 1,
                reason: e,
            });
        }
        if chunk.done {
            return (articles, errors);
        }
    }
}

/// Parses one JSON line into a raw article, or says why not.
pub(crate) fn parse_line(text: &str) -> Result<RawArticle, String> {
    let line: JsonLine =
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
pub(crate) fn parse_time(v: &serde_json::Value) -> Result<DateTime<Utc>, String> {
    let bad = || {
        format!(
            "\"published\" {} is not a date (use RFC 3339, RFC 2822 or Unix time)",
            crate::text::truncate_chars(&v.to_string(), 60)
        )
    };
    let from_number = |n: i64| {
        // Milliseconds from 1973 on; seconds otherwise.
        let (secs, millis) = if n.unsigned_abs() >= 100_000_000_000 {
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
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e15)
                    .map(|f| f as i64)
            })
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

    /// A reader that counts the bytes it hands out, to show what was held.
    #[test]
    fn an_oversized_line_is_skipped_without_being_held() {
        let huge = format!("{{\"title\":\"{}\"}}\n", "x".repeat(20 * MAX_LINE_BYTES));
        let input = format!("{huge}{{\"url\":\"https://a.example/y\",\"title\":\"Y\"}}\n");
        let mut r = JsonlReader::new(std::io::BufReader::with_capacity(8192, input.as_bytes()));
        let chunk = r.next_chunk(10);
        assert_eq!(chunk.articles.len(), 1);
        assert_eq!(chunk.errors.len(), 1);
        assert!(
            r.buf.capacity() <= 2 * MAX_LINE_BYTES,
            "{}",
            r.buf.capacity()
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_line_one() {
        let input = "\u{feff}{\"url\":\"https://a.example/1\",\"title\":\"One\"}\n";
        let (ok, errors) = read_jsonl(input.as_bytes());
        assert_eq!((ok.len(), errors.len()), (1, 0), "{errors:?}");
    }

    #[test]
    fn extreme_dates_are_rejected_not_panicked_on() {
        for v in [
            serde_json::json!(i64::MIN),
            serde_json::json!(i64::MAX),
            serde_json::json!(-1e300),
            serde_json::json!(1e300),
            serde_json::json!(u64::MAX),
            serde_json::json!("-9223372036854775808"),
        ] {
            assert!(parse_time(&v).is_err(), "{v}");
        }
        let long = serde_json::json!("y".repeat(100_000));
        assert!(parse_time(&long).unwrap_err().len() < 200);
    }
}

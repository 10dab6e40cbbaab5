//! Generic imports for data Hearth has no format for: JSON Lines (`jsonl`) and CSV (`csv`),
//! written by hand or by a small script.
//!
//! Each JSON line is an object, and each CSV row (after a header row) a record. Fields are named
//! as follows (names are matched without regard to case and surrounding spaces):
//!
//! | field | meaning |
//! |---|---|
//! | `text` | the record's text (**required**; a row without it, or with only spaces, is skipped) |
//! | `timestamp` | when (**required** in every row): RFC 3339 with an offset (`2025-03-23T11:27:41+00:00`, kept as written); a date and time without an offset (`2025-03-23 11:27:41` or with `T`, read in `--tz` and marked assumed); a date (`2025-03-23`, midnight in `--tz`, assumed); or a Unix epoch in seconds (a JSON number or a string of digits, optionally with a fraction; values above 10^11 are taken as milliseconds), stored as that instant in the `--tz` offset, marked assumed |
//! | `author` | who wrote it (a name; `--me` marks the owner) |
//! | `source` | where it came from (`sms`, `voice-memo`, ...); defaults to `jsonl` or `csv` |
//! | `conversation` | the conversation or channel it belongs to (used as its id and name) |
//! | `kind` | `message`, `post`, `comment`, `email`, `note` or `journal`; defaults to `message` when there is a `conversation`, else `note` |
//! | `id` | the source's own id; re-imports of a record with the same `source`, `conversation` and `id` add nothing. Without one, a record is the same when its source, kind, time, author, conversation and text are |
//!
//! Every other field goes to the record's metadata under its own name (JSON strings as they
//! are, other JSON values as JSON text; empty CSV cells and JSON `null`s are left out).
//!
//! A row without text, with a missing or unreadable timestamp or an unknown kind, a JSON line
//! that is not an object, or a CSV row the reader cannot split, is skipped and reported with its
//! line number; the rest of the file goes on. Blank lines are ignored. A file that does not have
//! the shape at all (no JSON object with a `text` field on its first line; no CSV header naming
//! `text` and `timestamp`) is not this format.
//!
//! Detection is deliberately weak (score 30), so that any specific format that recognises an
//! export wins over these.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use serde_json::Value;

use crate::input::{Entry, Input};
use crate::time::{from_epoch_millis, from_epoch_seconds, localize};
use crate::{ConnectorError, Context, Format, Parsed, Sink, text};

/// Score for a file of the generic shape: low, so that specific formats win.
const SCORE: u8 = 30;
/// Longest JSON line read (longer ones are skipped and reported).
const MAX_LINE: u64 = 16 << 20;

/// One field's value as the file gave it.
enum Field {
    Text(String),
    Number(serde_json::Number),
    Json(String),
}

impl Field {
    fn as_text(&self) -> String {
        match self {
            Field::Text(s) | Field::Json(s) => s.clone(),
            Field::Number(n) => n.to_string(),
        }
    }
}

/// The record's time, and whether its offset was assumed.
fn parse_timestamp(field: &Field, tz: chrono_tz::Tz) -> Option<(DateTime<FixedOffset>, bool)> {
    let epoch = |value: f64| {
        if !value.is_finite() {
            return None;
        }
        if value.abs() >= 1e11 {
            from_epoch_millis(value as i64, tz)
        } else {
            let secs = value.floor();
            let ms = ((value - secs) * 1000.0).round() as i64;
            from_epoch_millis((secs as i64).checked_mul(1000)?.checked_add(ms)?, tz)
                .or_else(|| from_epoch_seconds(secs as i64, tz))
        }
    };
    let raw = match field {
        // An epoch is an exact instant, shown in --tz: the offset is not the file's.
        Field::Number(n) => return n.as_f64().and_then(epoch).map(|t| (t, true)),
        Field::Text(s) => s.trim(),
        Field::Json(_) => return None,
    };
    if raw.is_empty() {
        return None;
    }
    let numeric = raw.strip_prefix('-').unwrap_or(raw);
    if numeric.chars().all(|c| c.is_ascii_digit() || c == '.')
        && numeric.chars().filter(|c| *c == '.').count() <= 1
        && numeric.chars().any(|c| c.is_ascii_digit())
    {
        return raw.parse::<f64>().ok().and_then(epoch).map(|t| (t, true));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some((t, false));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some((t, false));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(raw, format) {
            return Some((localize(naive, tz), true));
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|naive| (localize(naive, tz), true))
}

/// One row or object as a record, or why it cannot be one.
fn build(
    fields: Vec<(String, Field)>,
    default_source: &str,
    ctx: &Context,
) -> Result<Parsed, String> {
    let mut text = None;
    let mut timestamp = None;
    let mut author = None;
    let mut source = None;
    let mut conversation = None;
    let mut kind = None;
    let mut id = None;
    let mut metadata = BTreeMap::new();
    for (name, value) in fields {
        match name.trim().to_ascii_lowercase().as_str() {
            "text" => text = Some(value),
            "timestamp" => timestamp = Some(value),
            "author" => author = Some(value.as_text()),
            "source" => source = Some(value.as_text()),
            "conversation" => conversation = Some(value.as_text()),
            "kind" => kind = Some(value.as_text()),
            "id" => id = Some(value.as_text()),
            _ => {
                metadata.insert(name, value.as_text());
            }
        }
    }
    let text = match text {
        Some(Field::Text(t)) if !t.trim().is_empty() => t,
        Some(Field::Text(_)) | None => return Err("no text".into()),
        Some(_) => return Err("text is not a string".into()),
    };
    let (occurred_at, offset_assumed) = match &timestamp {
        None => return Err("no timestamp".into()),
        Some(t) => parse_timestamp(t, ctx.tz)
            .ok_or_else(|| format!("unreadable timestamp {:?}", t.as_text()))?,
    };
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let conversation = nonempty(conversation).map(|c| Conversation {
        id: c.clone(),
        name: Some(c),
    });
    let kind = match nonempty(kind) {
        Some(k) => Kind::from_str(&k.to_ascii_lowercase())?,
        None if conversation.is_some() => Kind::Message,
        None => Kind::Note,
    };
    let record = RecordData {
        source: nonempty(source).unwrap_or_else(|| default_source.to_owned()),
        kind,
        occurred_at,
        offset_assumed,
        external_id: nonempty(id),
        author: nonempty(author).map(Person::named),
        participants: Vec::new(),
        conversation,
        text,
        reply_to: None,
        attachments: Vec::new(),
        metadata,
    };
    Ok(Parsed::new(record))
}

/// One of the two generic formats ([`JSONL`], [`CSV`]): they differ only in which files are
/// theirs and how a file splits into rows; each row becomes a record through the same
/// [`row_to_sink`].
pub struct Generic {
    /// The format's name, also the default `source`.
    name: &'static str,
    /// One line for `--list-formats`.
    description: &'static str,
    /// Whether an entry is a file of this format.
    is_entry: fn(&Input, &Entry) -> bool,
    /// Reads one file, row by row, into the sink (each row through [`row_to_sink`]).
    parse_file: fn(&Input, &str, &Context, &mut dyn Sink) -> Result<(), ConnectorError>,
    /// Why an input without any such file is not this format.
    missing: &'static str,
}

/// Generic JSON Lines.
pub static JSONL: Generic = Generic {
    name: "jsonl",
    description: "Generic JSON Lines: one object per line with text, timestamp, author, source, conversation, kind, id",
    is_entry: is_jsonl_entry,
    parse_file: parse_jsonl,
    missing: "no file whose first line is a JSON object with a \"text\" field",
};

/// Generic CSV with a header row.
pub static CSV: Generic = Generic {
    name: "csv",
    description: "Generic CSV with a header row naming text and timestamp (and author, source, conversation, kind, id)",
    is_entry: is_csv_entry,
    parse_file: parse_csv,
    missing: "no CSV file whose header row names both `text` and `timestamp`",
};

impl Format for Generic {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn detect(&self, input: &Input) -> u8 {
        let found = input
            .entries()
            .iter()
            .take(1000)
            .any(|e| (self.is_entry)(input, e));
        if found { SCORE } else { 0 }
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let files: Vec<String> = input
            .entries()
            .iter()
            .filter(|e| (self.is_entry)(input, e))
            .map(|e| e.path.clone())
            .collect();
        if files.is_empty() {
            return Err(not_this(self.name, input, self.missing));
        }
        for file in files {
            (self.parse_file)(input, &file, ctx, sink)?;
        }
        Ok(())
    }
}

/// The one mapping from a row's named fields (a JSON line's or a CSV row's) to the sink: a
/// record, or the row reported at `here` with the reason it is not one.
fn row_to_sink(
    fields: Vec<(String, Field)>,
    format: &'static str,
    ctx: &Context,
    here: String,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    match build(fields, format, ctx) {
        Ok(parsed) => sink.record(parsed),
        Err(reason) => {
            sink.skip(here, reason);
            Ok(())
        }
    }
}

fn not_this(format: &'static str, input: &Input, reason: &str) -> ConnectorError {
    ConnectorError::NotThisFormat {
        format,
        location: input.origin().display().to_string(),
        reason: reason.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

fn object_fields(object: serde_json::Map<String, Value>) -> Vec<(String, Field)> {
    object
        .into_iter()
        .filter_map(|(k, v)| {
            let field = match v {
                Value::Null => return None,
                Value::String(s) => Field::Text(s),
                Value::Number(n) => Field::Number(n),
                other => Field::Json(other.to_string()),
            };
            Some((k, field))
        })
        .collect()
}

fn is_jsonl_entry(input: &Input, entry: &Entry) -> bool {
    let name = entry.path.to_ascii_lowercase();
    if !(name.ends_with(".jsonl") || name.ends_with(".ndjson") || input.is_single_file()) {
        return false;
    }
    let head = text::decode_utf8(&input.sniff(&entry.path, 64 << 10));
    let Some(first) = head.lines().find(|l| !l.trim().is_empty()) else {
        return false;
    };
    match serde_json::from_str::<Value>(first) {
        Ok(Value::Object(o)) => o.keys().any(|k| k.trim().eq_ignore_ascii_case("text")),
        _ => false,
    }
}

fn parse_jsonl(
    input: &Input,
    entry: &str,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(entry);
    input.with_reader(entry, |reader| {
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let n = Read::take(&mut reader, MAX_LINE)
                .read_until(b'\n', &mut line)
                .map_err(|source| ConnectorError::Io {
                    path: location.clone(),
                    source,
                })?;
            if n == 0 {
                return Ok(());
            }
            number += 1;
            let here = format!("{location}:{number}");
            if line.last() != Some(&b'\n') && n as u64 == MAX_LINE {
                // Too long: drop the rest of the line.
                loop {
                    line.clear();
                    let m = Read::take(&mut reader, MAX_LINE)
                        .read_until(b'\n', &mut line)
                        .map_err(|source| ConnectorError::Io {
                            path: location.clone(),
                            source,
                        })?;
                    if m == 0 || line.last() == Some(&b'\n') {
                        break;
                    }
                }
                sink.skip(here, format!("line longer than {MAX_LINE} bytes"));
                continue;
            }
            let text = if number == 1 {
                text::decode_utf8(&line)
            } else {
                String::from_utf8_lossy(&line).into_owned()
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let object = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(o)) => o,
                Ok(_) => {
                    sink.skip(here, "not a JSON object".into());
                    continue;
                }
                Err(e) => {
                    sink.skip(here, format!("not JSON: {e}"));
                    continue;
                }
            };
            row_to_sink(object_fields(object), JSONL.name, ctx, here, sink)?;
        }
    })
}

// ---------------------------------------------------------------------------------------------
// CSV

fn csv_header(bytes: &[u8]) -> Vec<String> {
    let text = text::decode_utf8(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        _ => Vec::new(),
    }
}

fn is_csv_entry(input: &Input, entry: &Entry) -> bool {
    let name = entry.path.to_ascii_lowercase();
    if !(name.ends_with(".csv") || input.is_single_file()) {
        return false;
    }
    let header = csv_header(&input.sniff(&entry.path, 8192));
    header.iter().any(|h| h == "text") && header.iter().any(|h| h == "timestamp")
}

fn parse_csv(
    input: &Input,
    entry: &str,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(entry);
    input.with_reader(entry, |reader| {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(reader);
        let mut header: Option<Vec<String>> = None;
        let mut record = csv::ByteRecord::new();
        loop {
            let before = csv.position().byte();
            match csv.read_byte_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let cells: Vec<String> = record
                        .iter()
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    let Some(names) = &header else {
                        let mut names = cells;
                        if let Some(first) = names.first_mut()
                            && let Some(rest) = first.strip_prefix('\u{FEFF}')
                        {
                            *first = rest.to_owned();
                        }
                        header = Some(names.iter().map(|n| n.trim().to_owned()).collect());
                        continue;
                    };
                    if cells.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    let here = format!("{location}:{line}");
                    if cells.len() > names.len() {
                        sink.skip(
                            here,
                            format!(
                                "{} cells where the header names {}",
                                cells.len(),
                                names.len()
                            ),
                        );
                        continue;
                    }
                    let fields: Vec<(String, Field)> = names
                        .iter()
                        .zip(cells)
                        .filter(|(_, c)| !c.is_empty())
                        .map(|(n, c)| (n.clone(), Field::Text(c)))
                        .collect();
                    row_to_sink(fields, CSV.name, ctx, here, sink)?;
                }
                Err(e) => {
                    if let csv::ErrorKind::Io(_) = e.kind() {
                        return Err(ConnectorError::Io {
                            path: location.clone(),
                            source: std::io::Error::other(e.to_string()),
                        });
                    }
                    let line = e.position().map_or(0, |p| p.line());
                    sink.skip(format!("{location}:{line}"), format!("bad CSV row: {e}"));
                    if csv.position().byte() == before {
                        return Ok(());
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_every_accepted_shape() {
        let lisbon: chrono_tz::Tz = "Europe/Lisbon".parse().unwrap();
        let text = |s: &str| Field::Text(s.to_owned());
        let show = |f: Field| parse_timestamp(&f, lisbon).map(|(t, a)| (t.to_rfc3339(), a));
        assert_eq!(
            show(text("2025-08-16T23:50:12+02:00")),
            Some(("2025-08-16T23:50:12+02:00".into(), false))
        );
        assert_eq!(
            show(text("2025-07-01 09:00")),
            Some(("2025-07-01T09:00:00+01:00".into(), true))
        );
        assert_eq!(
            show(text("2025-01-02")),
            Some(("2025-01-02T00:00:00+00:00".into(), true))
        );
        // Epochs are exact instants; the offset shown is --tz's, so it is marked assumed.
        assert_eq!(
            show(text("1750000000")),
            Some(("2025-06-15T16:06:40+01:00".into(), true))
        );
        assert_eq!(
            show(Field::Number(1_750_000_000_500u64.into())),
            Some(("2025-06-15T16:06:40.500+01:00".into(), true))
        );
        assert_eq!(show(text("yesterday")), None);
        assert_eq!(show(text("1e400")), None);
        assert_eq!(show(text("99999999999999999999999")), None);
    }
}

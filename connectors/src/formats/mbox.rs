//! mbox mailboxes: Gmail's Google Takeout export (`Mail/All mail Including Spam and
//! Trash.mbox`), Thunderbird folders, `mutt` and `mail` spools.
//!
//! An mbox is messages one after another, each starting with a separator line
//! `From <sender> <date>` (Gmail: `From 1700001742378561001@xxx Wed Mar 19 10:02:41 +0000 2025`).
//! Each message is decoded as in [`mail`](super::mail) (RFC 2047 headers, MIME, charsets,
//! attachments, Gmail's `X-GM-THRID` threads and `X-Gmail-Labels`).
//!
//! Traps:
//!
//! - **Splitting.** A separator is a `From ` line that follows a blank line (or starts the file)
//!   and looks like one (after the sender, a month name and day, a time and a four-digit year,
//!   as `asctime` writes them). A `From ` line elsewhere is body text. `Content-Length` (mboxcl)
//!   is not trusted.
//! - **Escaping.** Writers escape body lines starting with `From ` as `>From ` (mboxo), and
//!   mboxrd escapes `>From ` as `>>From `. One `>` is removed from every line matching
//!   `^>+From `, which is exact for mboxrd and for mboxo only misreads body lines that were
//!   literally `>From ` (mboxo cannot tell those apart).
//! - **Encoding.** The file as a whole is not text in any one encoding (8-bit ISO-8859-1 bodies
//!   sit next to UTF-8 ones): it is split as bytes and each part decoded in its own charset.
//! - **Size.** Takeout mboxes are many gigabytes. The file is streamed line by line and one
//!   message is held at a time; a message over [`MAX_MESSAGE`] bytes is skipped and reported
//!   without being held. Memory stays constant whatever the file's size.
//! - **Dates.** `Date:` headers keep their own offset. A message without a readable `Date:`
//!   takes the separator line's time (UTC in Gmail's export; a separator without a zone is read
//!   as UTC and marked assumed).
//!
//! A message that cannot be imported is reported at the line of its separator, and the rest of
//! the mailbox goes on.

use std::io::{BufRead, BufReader, Read};
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use regex::Regex;

use super::mail::{MAX_MESSAGE, Origin, looks_like_message, message_record};
use crate::input::{Entry, Input};
use crate::{ConnectorError, Context, Format, Sink};

/// mbox mailboxes (Gmail Takeout and others).
pub struct Mbox;

/// Bytes read at once when looking for the end of a line (longer lines are read in pieces).
const MAX_LINE: u64 = 1 << 20;
/// A held message buffer bigger than this is released after use rather than reused.
const KEEP_BUFFER: usize = 8 << 20;

static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^From \S+\s+.*\b(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
        r".*\b\d{1,2}:\d{2}\b.*\b\d{4}\b"
    ))
        .unwrap_or_else(|e| panic!("invalid mbox separator pattern: {e}"))
});

fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ")
        && line.len() < 1000
        && SEPARATOR.is_match(String::from_utf8_lossy(line).trim_end())
}

/// The time on a separator line: `Wed Mar 19 10:02:41 +0000 2025` or `Wed Mar 19 10:02:41 2025`
/// (read as UTC, with the offset marked assumed).
fn envelope_date(line: &str) -> Option<(DateTime<FixedOffset>, bool)> {
    let tokens: Vec<&str> = line.split_whitespace().skip(2).collect();
    let find = |pred: &dyn Fn(&str) -> bool| tokens.iter().copied().find(|t| pred(t));
    let month = find(&|t| {
        t.len() == 3 && t.chars().all(|c| c.is_ascii_alphabetic()) && {
            let l = t.to_ascii_lowercase();
            [
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ]
            .contains(&l.as_str())
        }
    })?;
    let month_index = tokens.iter().position(|t| *t == month)?;
    let day = tokens.get(month_index + 1)?;
    let time = find(&|t| t.contains(':'))?;
    let year = find(&|t| t.len() == 4 && t.chars().all(|c| c.is_ascii_digit()))?;
    let zone = find(&|t| {
        (t.starts_with('+') || t.starts_with('-'))
            && t.len() == 5
            && t[1..].chars().all(|c| c.is_ascii_digit())
    });
    let time = if time.len() <= 5 {
        format!("{time}:00")
    } else {
        time.to_owned()
    };
    let naive =
        NaiveDateTime::parse_from_str(&format!("{year} {month} {day} {time}"), "%Y %b %d %H:%M:%S")
            .ok()?;
    match zone {
        Some(z) => {
            let t = DateTime::parse_from_str(
                &format!("{} {z}", naive.format("%Y-%m-%d %H:%M:%S")),
                "%Y-%m-%d %H:%M:%S %z",
            )
            .ok()?;
            Some((t, false))
        }
        None => Some((naive.and_utc().fixed_offset(), true)),
    }
}

/// Whether an entry starts like an mbox: within its first 8 KiB, a separator line (at the start
/// or after a blank line) followed by mail headers.
fn is_mbox_entry(input: &Input, entry: &Entry) -> bool {
    let head = input.sniff(&entry.path, 8192);
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let mut previous_blank = true;
    let mut pos = 0;
    while let Some(len) = head[pos..].iter().position(|b| *b == b'\n') {
        let line = &head[pos..pos + len];
        if previous_blank && is_separator(line) {
            return looks_like_message(&head[pos + len + 1..]);
        }
        previous_blank = matches!(line, b"" | b"\r");
        pos += len + 1;
    }
    false
}

/// Entries worth sniffing: `.mbox`/`.mbx` files and files without an extension (Thunderbird).
fn candidate(entry: &Entry) -> bool {
    let name = entry.file_name().to_ascii_lowercase();
    name.ends_with(".mbox") || name.ends_with(".mbx") || !name.contains('.')
}

struct Message {
    start_line: u64,
    envelope: String,
    size: u64,
    too_big: bool,
}

impl Format for Mbox {
    fn name(&self) -> &'static str {
        "mbox"
    }

    fn description(&self) -> &'static str {
        "mbox mailboxes: Gmail's Google Takeout (All mail Including Spam and Trash.mbox), Thunderbird, mboxo/mboxrd"
    }

    fn detect(&self, input: &Input) -> u8 {
        let found = input
            .entries()
            .iter()
            .filter(|e| input.is_single_file() || candidate(e))
            .take(200)
            .any(|e| is_mbox_entry(input, e));
        if found { 90 } else { 0 }
    }

    fn parse(
        &self,
        input: &Input,
        _ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let boxes: Vec<String> = input
            .entries()
            .iter()
            .filter(|e| (input.is_single_file() || candidate(e)) && is_mbox_entry(input, e))
            .map(|e| e.path.clone())
            .collect();
        if boxes.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: "mbox",
                location: input.origin().display().to_string(),
                reason: "no file starts with an mbox `From <sender> <date>` line followed by mail headers".into(),
            });
        }
        for entry in boxes {
            parse_mailbox(input, &entry, sink)?;
        }
        Ok(())
    }
}

fn parse_mailbox(input: &Input, entry: &str, sink: &mut dyn Sink) -> Result<(), ConnectorError> {
    let location = input.location(entry);
    let io = |source| ConnectorError::Io {
        path: location.clone(),
        source,
    };
    input.with_reader(entry, |reader| {
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut line = Vec::with_capacity(1024);
        let mut buf: Vec<u8> = Vec::new();
        let mut current: Option<Message> = None;
        let mut line_number: u64 = 0;
        let mut at_line_start = true;
        let mut previous_blank = true;
        let mut stray: Option<u64> = None;
        let mut messages = 0u64;
        loop {
            line.clear();
            let n = Read::take(&mut reader, MAX_LINE)
                .read_until(b'\n', &mut line)
                .map_err(io)?;
            if n == 0 {
                break;
            }
            let starts_line = at_line_start;
            at_line_start = line.last() == Some(&b'\n');
            if starts_line {
                line_number += 1;
                if line_number == 1 && line.starts_with(b"\xEF\xBB\xBF") {
                    line.drain(..3);
                }
            }
            let blank = starts_line && matches!(line.as_slice(), b"\n" | b"\r\n");
            if starts_line && previous_blank && is_separator(&line) {
                if let Some(done) = current.take() {
                    finish(done, &mut buf, &location, sink)?;
                }
                messages += 1;
                current = Some(Message {
                    start_line: line_number,
                    envelope: String::from_utf8_lossy(&line).trim_end().to_owned(),
                    size: 0,
                    too_big: false,
                });
                previous_blank = false;
                continue;
            }
            previous_blank = blank;
            match current.as_mut() {
                Some(message) => {
                    let content: &[u8] = if starts_line && is_escaped_from(&line) {
                        &line[1..]
                    } else {
                        &line
                    };
                    message.size += content.len() as u64;
                    if message.too_big {
                        continue;
                    }
                    if message.size > MAX_MESSAGE {
                        message.too_big = true;
                        buf = Vec::new();
                    } else {
                        buf.extend_from_slice(content);
                    }
                }
                None => {
                    if stray.is_none() && !line.iter().all(u8::is_ascii_whitespace) {
                        stray = Some(line_number);
                    }
                }
            }
        }
        if let Some(done) = current.take() {
            finish(done, &mut buf, &location, sink)?;
        }
        if messages == 0 {
            return Err(ConnectorError::NotThisFormat {
                format: "mbox",
                location: location.clone(),
                reason: "no `From <sender> <date>` separator line".into(),
            });
        }
        if let Some(line) = stray {
            sink.skip(
                format!("{location}:{line}"),
                "text before the first `From ` separator line".into(),
            );
        }
        Ok(())
    })
}

/// `>From `, `>>From `...: a body line that the writer escaped.
fn is_escaped_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|b| **b == b'>').count();
    quotes > 0 && line[quotes..].starts_with(b"From ")
}

fn finish(
    message: Message,
    buf: &mut Vec<u8>,
    location: &str,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let here = format!("{location}:{}", message.start_line);
    if message.too_big {
        sink.skip(
            here,
            format!(
                "message of {} bytes is over the {MAX_MESSAGE}-byte limit; skipped",
                message.size
            ),
        );
    } else {
        // The blank line before the next separator belongs to the separator.
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let origin = Origin {
            format: "mbox",
            envelope_date: envelope_date(&message.envelope),
        };
        match message_record(buf, &origin) {
            Ok(parsed) => sink.record(parsed)?,
            Err(reason) => sink.skip(here, reason),
        }
    }
    buf.clear();
    if buf.capacity() > KEEP_BUFFER {
        *buf = Vec::new();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_their_dates() {
        let gmail = "From 1700001742378561001@xxx Wed Mar 19 10:02:41 +0000 2025";
        assert!(is_separator(gmail.as_bytes()));
        assert_eq!(
            envelope_date(gmail).map(|(t, a)| (t.to_rfc3339(), a)),
            Some(("2025-03-19T10:02:41+00:00".to_owned(), false))
        );
        let classic = "From MAILER-DAEMON Fri Jul  8 12:08:34 2011";
        assert!(is_separator(classic.as_bytes()));
        assert_eq!(
            envelope_date(classic).map(|(t, a)| (t.to_rfc3339(), a)),
            Some(("2011-07-08T12:08:34+00:00".to_owned(), true))
        );
        assert!(!is_separator(
            b"From Monday 7 July I'll be at Verdelha Health."
        ));
        assert!(!is_separator(b"From: someone"));
        assert!(!is_separator(b"From 12:30 to 14:00 on the 3rd, 2024"));
        assert!(is_separator(b"From - Thu Jan 01 00:00:00 2024"));
        assert!(is_escaped_from(b">From here"));
        assert!(is_escaped_from(b">>From here"));
        assert!(!is_escaped_from(b"> From here"));
    }
}

//! WhatsApp chat exports ("Export chat"): `WhatsApp Chat with X.txt` or `_chat.txt`, alone, in a
//! folder, or in the `.zip` with media.
//!
//! Lines start with the phone's locale date and time, then the author:
//!
//! ```text
//! 14/03/2025, 21:07 - Inês: text                  (Android, 24 h)
//! 3/14/25, 9:07 PM - Inês: text                   (Android, 12 h; U+202F before PM)
//! [14.03.25, 21:07:13] Inês: text                 (iOS; U+200E before system lines)
//! [2025-03-14, 21:07:13] Inês: text               (ISO-style locales)
//! ```
//!
//! A line without that prefix continues the previous message. Lines without an author, and iOS
//! lines whose body starts with U+200E (other than attachments), are system notices and are not
//! imported. Day and month order is settled by the whole file: any first field over 12 means
//! day-first, any second field over 12 means month-first; if nothing settles it, the import asks
//! for `--date-order`. Times carry no zone: they are read in `--tz` and marked assumed.
//!
//! Exports have no message ids, so a message's source id is built from its time, author, text
//! and its occurrence number among identical messages in the same minute: re-importing the same
//! or an overlapping export adds nothing twice.

use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use regex::Regex;

use super::short_hash;
use crate::input::{Entry, Input};
use crate::time::{DateOrder, localize};
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// The WhatsApp format.
pub struct WhatsApp;

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^\[?(\d{1,4})[./-](\d{1,2})[./-](\d{1,4}),?\s+(?:à\s+|um\s+|a las\s+)?",
        r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?",
        r"(?:\s*([aApP])\.?\s?[mM]\.?)?",
        r"(?:\]\s?|\s+-\s+)(.*)$"
    ))
    .unwrap_or_else(|e| panic!("invalid WhatsApp header pattern: {e}"))
});

const E2E_NOTICE: &str = "end-to-end encrypted";
const MAX_LINE_BYTES: usize = 1 << 20;

struct Header<'a> {
    fields: [&'a str; 3],
    hour: u32,
    minute: u32,
    second: u32,
    pm: Option<bool>,
    rest: &'a str,
}

/// Reads a message header: a hand-written reader for the common case (ASCII digits), else the
/// [`HEADER`] pattern, which defines what a header is. Whenever the fast reader returns a header
/// it is the one the pattern gives (a property test checks this), so the pattern is only run for
/// lines the fast reader cannot settle (continuation lines, Unicode digits), where it mostly
/// fails on the first characters. The pattern's capturing search cost more than storing the
/// message did.
fn parse_header(line: &str) -> Option<Header<'_>> {
    parse_header_fast(line).or_else(|| parse_header_pattern(line))
}

/// The ASCII digits at the start of `s`, if there are `min..=max` of them (and no more).
fn digits(s: &str, min: usize, max: usize) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (min..=max).contains(&n).then(|| s.split_at(n))
}

/// `s` without its leading whitespace (`\s*`), and whether there was any.
fn skip_space(s: &str) -> (&str, bool) {
    let rest = s.trim_start_matches(char::is_whitespace);
    (rest, rest.len() < s.len())
}

/// `s` without one leading character from `set`.
fn one_of<'a>(s: &'a str, set: &[u8]) -> Option<&'a str> {
    s.as_bytes()
        .first()
        .filter(|b| set.contains(b))
        .map(|_| &s[1..])
}

/// The [`HEADER`] pattern, step by step; `None` when the line is not a header or when it is
/// unsure (then the pattern decides).
fn parse_header_fast(line: &str) -> Option<Header<'_>> {
    let s = line.strip_prefix('[').unwrap_or(line);
    let (f1, s) = digits(s, 1, 4)?;
    let s = one_of(s, b"./-")?;
    let (f2, s) = digits(s, 1, 2)?;
    let s = one_of(s, b"./-")?;
    let (f3, s) = digits(s, 1, 4)?;
    let s = s.strip_prefix(',').unwrap_or(s);
    let (s, spaced) = skip_space(s);
    if !spaced {
        return None;
    }
    let s = ["à", "um", "a las"]
        .iter()
        .find_map(|word| {
            let (after, spaced) = skip_space(s.strip_prefix(word)?);
            spaced.then_some(after)
        })
        .unwrap_or(s);
    let (hour, s) = digits(s, 1, 2)?;
    let s = one_of(s, b":.")?;
    let (minute, s) = digits(s, 2, 2)?;
    let (second, s) = match one_of(s, b":.").and_then(|r| digits(r, 2, 2)) {
        Some((second, rest)) => (second, rest),
        None => ("", s),
    };
    let (pm, s) = match meridiem(s) {
        Some((pm, rest)) => (Some(pm), rest),
        None => (None, s),
    };
    // `(?:\]\s?|\s+-\s+)(.*)$`
    let rest = if let Some(r) = s.strip_prefix(']') {
        match r.chars().next() {
            Some(c) if c.is_whitespace() => &r[c.len_utf8()..],
            _ => r,
        }
    } else {
        let (r, spaced) = skip_space(s);
        let (r, after) = skip_space(r.strip_prefix('-')?);
        if !spaced || !after {
            return None;
        }
        r
    };
    if rest.contains('\n') {
        return None;
    }
    Some(Header {
        fields: [f1, f2, f3],
        hour: hour.parse().ok()?,
        minute: minute.parse().ok()?,
        second: second.parse().unwrap_or(0),
        pm,
        rest,
    })
}

/// `(?:\s*([aApP])\.?\s?[mM]\.?)?`, all or nothing: whether it says PM, and what follows.
fn meridiem(s: &str) -> Option<(bool, &str)> {
    let (s, _) = skip_space(s);
    let pm = match s.as_bytes().first()? {
        b'a' | b'A' => false,
        b'p' | b'P' => true,
        _ => return None,
    };
    let s = &s[1..];
    let s = s.strip_prefix('.').unwrap_or(s);
    let s = match s.chars().next() {
        Some(c) if c.is_whitespace() => &s[c.len_utf8()..],
        _ => s,
    };
    let s = one_of(s, b"mM")?;
    Some((pm, s.strip_prefix('.').unwrap_or(s)))
}

fn parse_header_pattern(line: &str) -> Option<Header<'_>> {
    let caps = HEADER.captures(line)?;
    let get = |i: usize| caps.get(i).map(|m| m.as_str()).unwrap_or("");
    Some(Header {
        fields: [get(1), get(2), get(3)],
        hour: get(4).parse().ok()?,
        minute: get(5).parse().ok()?,
        second: get(6).parse().unwrap_or(0),
        pm: caps.get(7).map(|m| m.as_str().eq_ignore_ascii_case("p")),
        rest: caps.get(8).map(|m| m.as_str()).unwrap_or(""),
    })
}

/// Splits `Name: body`; `None` for system lines (no author).
fn split_author(rest: &str) -> Option<(&str, &str)> {
    let (name, body) = rest
        .split_once(": ")
        .or_else(|| rest.strip_suffix(':').map(|n| (n, "")))?;
    let plausible = !name.is_empty()
        && name.chars().count() <= 80
        && !name.contains('"')
        && !name.contains('“');
    plausible.then_some((name.trim(), body))
}

fn is_chat_entry(input: &Input, entry: &Entry) -> bool {
    if !entry.path.to_ascii_lowercase().ends_with(".txt") {
        return false;
    }
    let head = text::clean_marks(&text::decode_utf8(&input.sniff(&entry.path, 4096)));
    head.lines()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .any(|l| parse_header(l).is_some())
}

/// How the date fields are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Ymd,
    Dmy,
    Mdy,
}

fn to_date(fields: [&str; 3], order: Order) -> Option<NaiveDate> {
    let n = |s: &str| s.parse::<i32>().ok();
    let (y, m, d) = match order {
        Order::Ymd => (n(fields[0])?, n(fields[1])?, n(fields[2])?),
        Order::Dmy => (n(fields[2])?, n(fields[1])?, n(fields[0])?),
        Order::Mdy => (n(fields[2])?, n(fields[0])?, n(fields[1])?),
    };
    let y = if y < 100 { 2000 + y } else { y };
    NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

fn to_time(h: &Header<'_>) -> Option<NaiveTime> {
    let hour = match h.pm {
        None => h.hour,
        Some(_) if h.hour == 0 || h.hour > 12 => return None,
        Some(false) => h.hour % 12,
        Some(true) => h.hour % 12 + 12,
    };
    NaiveTime::from_hms_opt(hour, h.minute, h.second)
}

/// What pass one learns from a whole file.
struct Survey {
    messages: usize,
    /// Lines whose first field is over 12 (so day-first), and whose second is (month-first).
    day_first_evidence: usize,
    month_first_evidence: usize,
    year_first: bool,
    example: Option<String>,
    authors: BTreeSet<String>,
    notice_author: Option<String>,
}

/// Calls `each` with every line of `entry` (numbered from 1, end of line removed, invalid UTF-8
/// replaced, a leading byte-order mark dropped), reusing one buffer.
fn read_lines(
    input: &Input,
    entry: &str,
    mut each: impl FnMut(usize, &str) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    input.with_reader(entry, |reader| {
        let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
        let mut buf = Vec::new();
        let mut number = 0;
        loop {
            buf.clear();
            let n = std::io::Read::take(&mut reader, MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut buf)
                .map_err(|source| ConnectorError::Io {
                    path: input.location(entry),
                    source,
                })?;
            if n == 0 {
                return Ok(());
            }
            number += 1;
            while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                buf.pop();
            }
            let bytes = if number == 1 {
                buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf)
            } else {
                &buf[..]
            };
            each(number, &String::from_utf8_lossy(bytes))?;
        }
    })
}

fn survey(input: &Input, entry: &str) -> Result<Survey, ConnectorError> {
    let mut s = Survey {
        messages: 0,
        day_first_evidence: 0,
        month_first_evidence: 0,
        year_first: false,
        example: None,
        authors: BTreeSet::new(),
        notice_author: None,
    };
    read_lines(input, entry, |_, raw| {
        let line = text::clean_marks_borrowed(raw);
        let Some(h) = parse_header(&line) else {
            return Ok(());
        };
        s.messages += 1;
        let first: u32 = h.fields[0].parse().unwrap_or(0);
        let second: u32 = h.fields[1].parse().unwrap_or(0);
        if h.fields[0].len() == 4 {
            s.year_first = true;
        } else if first > 12 && second > 12 {
            // Impossible either way: the line is reported when parsed, and proves nothing.
        } else if first > 12 {
            s.day_first_evidence += 1;
        } else if second > 12 {
            s.month_first_evidence += 1;
        } else if s.example.is_none() {
            s.example = Some(format!("{}/{}/{}", h.fields[0], h.fields[1], h.fields[2]));
        }
        if let Some((author, body)) = split_author(h.rest) {
            if is_system_body(raw_body(raw), body) {
                if s.notice_author.is_none() && body.contains(E2E_NOTICE) {
                    s.notice_author = Some(author.to_owned());
                }
            } else {
                s.authors.insert(author.to_owned());
            }
        }
        Ok(())
    })?;
    Ok(s)
}

/// The body of a raw line as written (before marks were removed), to see iOS's leading U+200E.
fn raw_body(raw: &str) -> &str {
    let start = raw.find("] ").map(|i| i + 2).unwrap_or(0);
    raw[start..].split_once(": ").map(|(_, b)| b).unwrap_or("")
}

fn is_system_body(raw_body: &str, body: &str) -> bool {
    let marked = raw_body.starts_with('\u{200E}') && !is_marked_message(body);
    marked || body.contains(E2E_NOTICE) && body.contains("WhatsApp")
}

/// Bodies that iOS marks with U+200E but that are messages: attachments, omitted media and
/// deleted messages.
fn is_marked_message(body: &str) -> bool {
    let lower = body.trim().trim_end_matches('.').to_lowercase();
    lower.starts_with("<attached:") || is_deleted(&lower) || is_omitted(&lower)
}

fn is_deleted(lower: &str) -> bool {
    matches!(
        lower,
        "this message was deleted" | "you deleted this message"
    )
}

fn is_omitted(lower: &str) -> bool {
    lower == "<media omitted>"
        || lower.ends_with(" omitted") && lower.split_whitespace().count() <= 2
}

fn conversation_name(input: &Input, entry: &str, notice_author: Option<&str>) -> String {
    let file = entry.rsplit('/').next().unwrap_or(entry);
    let stem = file.strip_suffix(".txt").unwrap_or(file);
    for prefix in [
        "WhatsApp Chat with ",
        "WhatsApp Chat - ",
        "WhatsApp-Chat mit ",
        "Chat de WhatsApp con ",
    ] {
        if let Some(name) = stem.strip_prefix(prefix) {
            return name.trim().to_owned();
        }
    }
    if let Some(author) = notice_author {
        return author.to_owned();
    }
    let parent = entry
        .rsplit_once('/')
        .map(|(dir, _)| dir.rsplit('/').next().unwrap_or(dir).to_owned());
    let origin = input
        .origin()
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let name = parent.or(origin).unwrap_or_else(|| stem.to_owned());
    for prefix in ["WhatsApp Chat with ", "WhatsApp Chat - "] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
    name
}

/// The source id of a message: its time, author, occurrence number and a hash of its text
/// (`2025-03-14T21:07:00|Inês|1|9f0c...`). Written by hand rather than with `format!` and
/// chrono's formatter, which showed in profiles; the text is the same.
fn source_id(when: NaiveDateTime, author: &str, occurrence: u32, body: &str) -> String {
    use std::fmt::Write;
    let mut id = String::with_capacity(author.len() + 48);
    let (date, time) = (when.date(), when.time());
    // Years are 0..=9999 here (at most four digits are read), as `%Y` writes them.
    let _ = write!(
        id,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}|{author}|{occurrence}|{}",
        date.year(),
        date.month(),
        date.day(),
        time.hour(),
        time.minute(),
        time.second(),
        short_hash(body)
    );
    id
}

/// How long after a minute its occurrence counters are kept: longer than the hour that repeats
/// when clocks go back, so identical messages in a repeated minute still get distinct numbers.
const OCCURRENCE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(3);
/// Most counters kept at once (memory stays bounded whatever the file).
const MAX_OCCURRENCES: usize = 1 << 16;

/// Occurrence numbers of identical messages (same time, author and text): the first is 1, the
/// next identical one 2, and so on, so identical messages in the same minute stay distinct and a
/// re-import numbers them the same way.
///
/// Messages come in file order, which is time order, so only recent times need counters: a time
/// is forgotten once the file has moved [`OCCURRENCE_WINDOW`] past it (and the oldest are
/// forgotten first past [`MAX_OCCURRENCES`]). This numbers messages exactly as counting over the
/// whole file would, unless an export jumps back in time by more than the window to repeat a
/// message word for word, and it keeps memory flat however long the chat is. Keys are a
/// fixed 64-bit hash of author and text, so re-imports see the same numbers.
#[derive(Default)]
struct Occurrences {
    counts: std::collections::BTreeMap<NaiveDateTime, HashMap<u64, u32>>,
    len: usize,
    latest: Option<NaiveDateTime>,
}

impl Occurrences {
    fn next(&mut self, when: NaiveDateTime, author: &str, body: &str) -> u32 {
        let latest = *self
            .latest
            .insert(self.latest.map_or(when, |l| l.max(when)));
        while let Some(entry) = self.counts.first_entry() {
            let stale = *entry.key() + OCCURRENCE_WINDOW < latest;
            if !stale && self.len < MAX_OCCURRENCES {
                break;
            }
            self.len -= entry.remove().len();
        }
        let key = fnv1a(&[author.as_bytes(), b"\0", body.as_bytes()]);
        let count = self
            .counts
            .entry(when)
            .or_default()
            .entry(key)
            .or_insert_with(|| {
                self.len += 1;
                0
            });
        *count += 1;
        *count
    }
}

/// FNV-1a over the concatenation of `parts`.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

struct Pending {
    when: NaiveDateTime,
    author: String,
    body: String,
}

impl Format for WhatsApp {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    fn description(&self) -> &'static str {
        "WhatsApp \"Export chat\": _chat.txt / WhatsApp Chat with X.txt, or its .zip with media (Android and iOS)"
    }

    fn detect(&self, input: &Input) -> u8 {
        let mut best = 0;
        for entry in input
            .entries()
            .iter()
            .filter(|e| e.path.to_ascii_lowercase().ends_with(".txt"))
            .take(50)
        {
            if is_chat_entry(input, entry) {
                let name = entry.file_name();
                best = best.max(if name == "_chat.txt" || name.starts_with("WhatsApp") {
                    95
                } else {
                    80
                });
            }
        }
        best
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let chats: Vec<String> = input
            .entries()
            .iter()
            .filter(|e| is_chat_entry(input, e))
            .map(|e| e.path.clone())
            .collect();
        if chats.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: "whatsapp",
                location: input.origin().display().to_string(),
                reason: "no chat file whose lines start with a date and time".into(),
            });
        }
        for chat in chats {
            parse_chat(input, &chat, ctx, sink)?;
        }
        Ok(())
    }
}

fn parse_chat(
    input: &Input,
    entry: &str,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(entry);
    let survey = survey(input, entry)?;
    let order = if survey.year_first {
        Order::Ymd
    } else {
        // Lines that settle the order vote; a file with votes both ways (some lines are
        // damaged) goes with the clear majority, and the minority lines are reported as invalid.
        let (dmy, mdy) = (survey.day_first_evidence, survey.month_first_evidence);
        if dmy > mdy * 4 {
            Order::Dmy
        } else if mdy > dmy * 4 {
            Order::Mdy
        } else {
            match ctx.date_order {
                Some(DateOrder::Dmy) => Order::Dmy,
                Some(DateOrder::Mdy) => Order::Mdy,
                None => {
                    let example = if dmy + mdy > 0 {
                        format!("{dmy} lines read day-first and {mdy} month-first")
                    } else {
                        survey.example.unwrap_or_default()
                    };
                    return Err(ConnectorError::AmbiguousDateOrder { location, example });
                }
            }
        }
    };
    let conversation_name = conversation_name(input, entry, survey.notice_author.as_deref());
    let conversation = Conversation {
        id: conversation_name.clone(),
        name: Some(conversation_name),
    };
    let participants: Vec<Person> = survey.authors.iter().map(Person::named).collect();
    let dir = entry
        .rsplit_once('/')
        .map(|(d, _)| format!("{d}/"))
        .unwrap_or_default();
    let mut occurrences = Occurrences::default();
    let mut current: Option<Pending> = None;

    let mut emit = |p: Pending, sink: &mut dyn Sink| -> Result<(), ConnectorError> {
        let mut metadata = std::collections::BTreeMap::new();
        let mut pending = Vec::new();
        let mut body = p.body;
        if let Some(stripped) = body.strip_suffix("<This message was edited>") {
            body = stripped.trim_end().to_owned();
            metadata.insert("edited".to_owned(), "true".to_owned());
        }
        let first_line = body.lines().next().unwrap_or("").trim().to_owned();
        let lower = first_line.trim_end_matches('.').to_lowercase();
        if is_omitted(&lower) {
            metadata.insert("media".to_owned(), "omitted".to_owned());
            body = body.lines().skip(1).collect::<Vec<_>>().join("\n");
        } else if let Some(name) = first_line
            .strip_prefix("<attached: ")
            .and_then(|r| r.strip_suffix('>'))
        {
            pending.push(PendingAttachment {
                name: name.to_owned(),
                mime: None,
                entry: Some(format!("{dir}{name}")),
                data: None,
            });
            body = body.lines().skip(1).collect::<Vec<_>>().join("\n");
        } else if let Some(name) = [
            "(file attached)",
            "(archivo adjunto)",
            "(Datei angehängt)",
            "(fichier joint)",
            "(arquivo anexado)",
        ]
        .iter()
        .find_map(|suffix| first_line.strip_suffix(suffix))
        {
            let name = name.trim().to_owned();
            pending.push(PendingAttachment {
                name: name.clone(),
                mime: None,
                entry: Some(format!("{dir}{name}")),
                data: None,
            });
            body = body.lines().skip(1).collect::<Vec<_>>().join("\n");
        } else if is_deleted(&lower) {
            metadata.insert("deleted".to_owned(), "true".to_owned());
            body.clear();
        }
        let body = match body.trim() {
            trimmed if trimmed.len() == body.len() => body,
            trimmed => trimmed.to_owned(),
        };
        let occurrence = occurrences.next(p.when, &p.author, &body);
        let external_id = source_id(p.when, &p.author, occurrence, &body);
        let record = RecordData {
            source: "whatsapp".into(),
            kind: Kind::Message,
            occurred_at: localize(p.when, ctx.tz),
            offset_assumed: true,
            external_id: Some(external_id),
            author: Some(Person::named(p.author)),
            participants: participants.clone(),
            conversation: Some(conversation.clone()),
            text: body,
            reply_to: None,
            attachments: Vec::new(),
            metadata,
        };
        sink.record(Parsed { record, pending })
    };

    read_lines(input, entry, |number, raw| {
        let line = text::clean_marks_borrowed(raw);
        match parse_header(&line) {
            Some(h) => {
                if let Some(previous) = current.take() {
                    emit(previous, sink)?;
                }
                let when = to_date(h.fields, order)
                    .zip(to_time(&h))
                    .map(|(d, t)| d.and_time(t));
                let Some(when) = when else {
                    sink.skip(
                        format!("{location}:{number}"),
                        format!("invalid date or time in {line:?}"),
                    );
                    return Ok(());
                };
                match split_author(h.rest) {
                    Some((author, body)) if !is_system_body(raw_body(raw), body) => {
                        current = Some(Pending {
                            when,
                            author: author.to_owned(),
                            body: body.to_owned(),
                        });
                    }
                    _ => sink.ignore(),
                }
            }
            None => match current.as_mut() {
                Some(p) => {
                    p.body.push('\n');
                    p.body.push_str(&line);
                }
                None if line.trim().is_empty() => {}
                None => {
                    sink.skip(
                        format!("{location}:{number}"),
                        "text before the first message".into(),
                    );
                }
            },
        }
        Ok(())
    })?;
    if let Some(last) = current.take() {
        emit(last, sink)?;
    }
    if survey.messages == 0 {
        return Err(ConnectorError::NotThisFormat {
            format: "whatsapp",
            location,
            reason: "no line starts with a date and time".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(h: &Header<'_>) -> ([String; 3], u32, u32, u32, Option<bool>, String) {
        (
            h.fields.map(str::to_owned),
            h.hour,
            h.minute,
            h.second,
            h.pm,
            h.rest.to_owned(),
        )
    }

    /// The fast reader gives exactly what the pattern gives, or leaves the line to it.
    fn agrees(line: &str) -> Result<(), TestCaseError> {
        let pattern = parse_header_pattern(line).map(|h| fields(&h));
        if let Some(fast) = parse_header_fast(line) {
            prop_assert_eq!(Some(fields(&fast)), pattern, "line {:?}", line);
        }
        prop_assert_eq!(
            parse_header(line).map(|h| fields(&h)),
            parse_header_pattern(line).map(|h| fields(&h))
        );
        Ok(())
    }

    proptest! {
        // Lines built from the pieces headers are made of, in any order and number, so that
        // near misses (a third digit, a missing space, "a.m" without m) come up often.
        #[test]
        fn fast_header_reader_agrees_with_the_pattern(pieces in proptest::collection::vec(prop_oneof![
            Just("["), Just("]"), Just("] "), Just("14"), Just("3"), Just("2025"), Just("25"),
            Just("123"), Just("12345"), Just("/"), Just("."), Just("-"), Just(","), Just(":"),
            Just(" "), Just("\u{202F}"), Just("\u{00A0}"), Just("\t"), Just(" - "), Just("à "),
            Just("um "), Just("a las "), Just("PM"), Just("a"), Just("p."), Just(" m."),
            Just("M"), Just("Inês: hi"), Just("١٤"), Just("\n"), Just("x"), Just("21:07"),
            Just("14/03/2025, "), Just("[14.03.25, "), Just("9:07:13"),
        ], 0..14)) {
            agrees(&pieces.concat())?;
        }

        #[test]
        fn fast_header_reader_agrees_on_any_text(line in "\\PC{0,40}") {
            agrees(&line)?;
        }
    }

    #[test]
    fn fast_reader_takes_the_usual_headers() {
        for line in [
            "14/03/2025, 21:07 - Inês: hi",
            "3/14/25, 9:07 PM - Ana: hi",
            "[14.03.25, 21:07:13] Jakob: yo",
            "14/3/25, 9:07 p. m. - B: c",
            "12/03/2025 à 18:00 - C: d",
        ] {
            let fast = parse_header_fast(line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(
                Some(fields(&fast)),
                parse_header_pattern(line).map(|h| fields(&h))
            );
        }
        // Arabic-Indic digits match the pattern's `\d`; the fast reader leaves them to it,
        // and the pattern's reader then refuses them (their hour is not a number to `parse`).
        let arabic = "١٤/٠٣/٢٠٢٥, ٢١:٠٧ - A: b";
        assert!(HEADER.is_match(arabic));
        assert!(parse_header_fast(arabic).is_none());
        assert!(parse_header(arabic).is_none());
    }

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 10, 26)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .unwrap_or_default()
    }

    #[test]
    fn occurrences_count_identical_messages_and_forget_old_minutes() {
        let mut o = Occurrences::default();
        assert_eq!(o.next(at(1, 30), "A", "ok"), 1);
        assert_eq!(o.next(at(1, 30), "A", "ok"), 2);
        assert_eq!(o.next(at(1, 30), "B", "ok"), 1);
        assert_eq!(o.next(at(1, 30), "A", "ok!"), 1);
        // The hour repeated when clocks go back: 01:30 comes again after 01:59.
        assert_eq!(o.next(at(1, 59), "A", "ok"), 1);
        assert_eq!(o.next(at(1, 30), "A", "ok"), 3);
        assert_eq!(o.counts.len(), 2);
        // Hours later the old minutes are forgotten, so memory stays flat.
        assert_eq!(o.next(at(5, 0), "A", "ok"), 1);
        assert_eq!(o.counts.len(), 1);
        assert_eq!(o.len, 1);
    }

    #[test]
    fn source_ids_are_written_as_before() {
        let when = NaiveDate::from_ymd_opt(987, 3, 4)
            .and_then(|d| d.and_hms_opt(5, 6, 7))
            .unwrap_or_default();
        assert_eq!(
            source_id(when, "Inês", 2, "hi"),
            format!(
                "{}|Inês|2|{}",
                when.format("%Y-%m-%dT%H:%M:%S"),
                short_hash("hi")
            )
        );
        assert!(source_id(when, "Inês", 2, "hi").starts_with("0987-03-04T05:06:07|"));
    }

    #[test]
    fn headers_of_many_locales_parse() {
        let cases = [
            (
                "14/03/2025, 21:07 - Inês: hi",
                ["14", "03", "2025"],
                (21, 7, 0),
                None,
                "Inês: hi",
            ),
            (
                "3/14/25, 9:07 PM - Ana: hi",
                ["3", "14", "25"],
                (9, 7, 0),
                Some(true),
                "Ana: hi",
            ),
            (
                "[14.03.25, 21:07:13] Jakob 🧗: yo",
                ["14", "03", "25"],
                (21, 7, 13),
                None,
                "Jakob 🧗: yo",
            ),
            (
                "[2025-03-14, 09:07:13] A: b",
                ["2025", "03", "14"],
                (9, 7, 13),
                None,
                "A: b",
            ),
            (
                "14/3/25, 9:07 p. m. - B: c",
                ["14", "3", "25"],
                (9, 7, 0),
                Some(true),
                "B: c",
            ),
            (
                "12/03/2025 à 18:00 - C: d",
                ["12", "03", "2025"],
                (18, 0, 0),
                None,
                "C: d",
            ),
            (
                "2023/12/20, 08:15 - D: e",
                ["2023", "12", "20"],
                (8, 15, 0),
                None,
                "D: e",
            ),
            (
                "03.08.21, 12:30 - E: f",
                ["03", "08", "21"],
                (12, 30, 0),
                None,
                "E: f",
            ),
        ];
        for (line, fields, (h, m, s), pm, rest) in cases {
            let line = text::clean_marks(line);
            let header = parse_header(&line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(header.fields, fields, "{line}");
            assert_eq!(
                (header.hour, header.minute, header.second),
                (h, m, s),
                "{line}"
            );
            assert_eq!(header.pm, pm, "{line}");
            assert_eq!(header.rest, rest, "{line}");
        }
        assert!(parse_header("Also they gave us a banana").is_none());
        assert!(parse_header("1:54:08 😭 SUB 1:55").is_none());
    }

    #[test]
    fn twelve_hour_clock() {
        let h = |hour, pm| Header {
            fields: ["1", "1", "25"],
            hour,
            minute: 5,
            second: 0,
            pm: Some(pm),
            rest: "",
        };
        assert_eq!(to_time(&h(12, false)), NaiveTime::from_hms_opt(0, 5, 0));
        assert_eq!(to_time(&h(12, true)), NaiveTime::from_hms_opt(12, 5, 0));
        assert_eq!(to_time(&h(9, true)), NaiveTime::from_hms_opt(21, 5, 0));
        assert_eq!(to_time(&h(13, true)), None);
    }

    #[test]
    fn authors_and_system_lines() {
        assert_eq!(split_author("Inês: Ok so"), Some(("Inês", "Ok so")));
        assert_eq!(split_author("Duarte Sousa added Leonor Vaz"), None);
        assert_eq!(
            split_author("You changed the subject to \"Trip: Porto\""),
            None
        );
        assert!(is_system_body(
            "\u{200E}Duarte Sousa added you",
            "Duarte Sousa added you"
        ));
        assert!(!is_system_body(
            "\u{200E}<attached: 1.jpg>",
            "<attached: 1.jpg>"
        ));
        assert!(!is_system_body(
            "\u{200E}This message was deleted.",
            "This message was deleted."
        ));
        assert!(!is_system_body("\u{200E}image omitted", "image omitted"));
    }
}

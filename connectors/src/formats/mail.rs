//! Email: single RFC 5322 messages (`.eml`, alone, in a folder or in a `.zip`), and the MIME
//! decoding that the [`mbox`](super::mbox) format shares.
//!
//! A message is a block of headers, a blank line and a body. What Hearth reads from it:
//!
//! - **Headers** may be folded over several lines (a line starting with a space or tab continues
//!   the previous one). Non-ASCII text in them is written as RFC 2047 encoded words,
//!   `=?UTF-8?Q?Ol=C3=A1?=` or `=?ISO-8859-1?B?...?=`; adjacent encoded words are joined without
//!   the whitespace between them, and their bytes are joined *before* decoding, because senders
//!   split multi-byte characters across words. Raw 8-bit header bytes are read as UTF-8 when
//!   they are valid UTF-8, else as windows-1252.
//! - **Bodies** are MIME trees. `multipart/alternative` prefers its `text/plain` branch; a message
//!   with only HTML is turned into text ([`html_to_text`](crate::text::html_to_text)). Transfer
//!   encodings are quoted-printable, base64 (both decoded leniently) and 7bit/8bit/binary. Each
//!   part is decoded in its own `charset` (any WHATWG label, via `encoding_rs`; ISO-8859-1 is
//!   read as its superset windows-1252). Unlabelled parts, and parts labelled UTF-8 or US-ASCII
//!   that are not valid UTF-8 (8-bit bodies are common), fall back to windows-1252.
//! - **Attachments** are every leaf part that is not body text (`Content-Disposition:
//!   attachment`, or any non-text type, `text/calendar` invitations included). Their bytes travel
//!   with the record ([`PendingAttachment::data`]) and are stored as sealed blobs. Attachments in
//!   every branch of an alternative are kept, so nothing is lost.
//!
//! Records are [`Kind::Email`] from source `mail`, the same for `.eml` and mbox. A message's
//! identity is its `external_id` alone (the vault leaves an email's thread out of its
//! deduplication key), so the same message imported from a `.eml` file and from a Gmail mbox,
//! where Gmail's thread id files it in another conversation, is stored once:
//!
//! | field | from |
//! |---|---|
//! | `occurred_at` | `Date:` with its own offset (`offset_assumed` false); an mbox falls back to its `From ` line |
//! | `external_id` | the normalised `Message-ID` (no `<>` or folding spaces, domain in lower case); without one, `hash:` and a hash of date, `From` address, subject and text |
//! | `author` | the first `From` address (name, and the address as handle) |
//! | `participants` | `From`, `To` and `Cc`, once each |
//! | `conversation` | the thread: Gmail's `X-GM-THRID`, else the root of `References`, else `In-Reply-To`, else the message's own id; named by the subject without `Re:`/`Fwd:` |
//! | `reply_to` | the first id in `In-Reply-To` |
//! | `text` | `Subject`, a blank line, then the body (just the body when there is no subject) |
//! | `metadata` | `subject`, `labels` (`X-Gmail-Labels`), `message_id`, `body` = `html` when the text came from HTML, `date` = `mbox separator` when the `Date:` header was unusable |
//!
//! A message without any usable date, or without any mail header at all, is skipped and
//! reported; messages over [`MAX_MESSAGE`] bytes are skipped too.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use hearth_vault::{Conversation, Kind, Person, RecordData};

use super::short_hash;
use crate::input::{Entry, Input};
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// Single email messages (`.eml`).
pub struct Eml;

/// Largest message read (bigger ones are skipped and reported).
pub const MAX_MESSAGE: u64 = 64 << 20;
/// Deepest MIME nesting followed.
const MAX_DEPTH: usize = 16;
/// Most MIME parts read from one message.
const MAX_PARTS: usize = 1000;
/// Headers that make a block of `Name: value` lines look like a mail message.
const MAIL_HEADERS: &[&str] = &[
    "from",
    "to",
    "date",
    "subject",
    "message-id",
    "received",
    "return-path",
    "delivered-to",
    "mime-version",
    "content-type",
    "x-gm-thrid",
    "x-gmail-labels",
    "in-reply-to",
    "references",
    "cc",
    "sender",
    "reply-to",
];

// ---------------------------------------------------------------------------------------------
// Headers

/// The header fields of a message or MIME part: lowercased names and raw (still folded) values.
#[derive(Debug, Default)]
pub(crate) struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn valid_field_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= 100 && name.iter().all(|b| (33..=126).contains(b))
}

/// Splits a message or part into its header block and its body.
pub(crate) fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(raw.len(), |i| pos + i);
        if strip_cr(&raw[pos..end]).is_empty() {
            let body_start = (end + 1).min(raw.len());
            return (&raw[..pos], &raw[body_start..]);
        }
        pos = end + 1;
    }
    (raw, &[])
}

impl Headers {
    /// Parses a header block; lines that are not `Name: value` or continuations are ignored.
    pub(crate) fn parse(head: &[u8]) -> Headers {
        let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
        for line in head.split(|b| *b == b'\n') {
            let line = strip_cr(line);
            match line.first() {
                None => continue,
                Some(b' ' | b'\t') => {
                    if let Some(last) = fields.last_mut() {
                        last.1.push(b'\n');
                        last.1.extend_from_slice(line);
                    }
                }
                Some(_) => {
                    let Some(colon) = line.iter().position(|b| *b == b':') else {
                        continue;
                    };
                    let name = line[..colon].trim_ascii_end();
                    if !valid_field_name(name) {
                        continue;
                    }
                    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                    fields.push((name, line[colon + 1..].trim_ascii_start().to_vec()));
                }
            }
        }
        Headers { fields }
    }

    fn raw(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, unfolded, with raw 8-bit bytes decoded (no RFC 2047).
    fn unfolded(&self, name: &str) -> Option<String> {
        self.raw(name).map(unfold)
    }

    /// The first value of `name` as text: unfolded, RFC 2047 decoded and trimmed.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|raw| decode_words(&unfold(raw)).trim().to_owned())
    }

    /// Every value of `name`, unfolded.
    fn all_unfolded<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| unfold(v))
    }

    fn count_mail_headers(&self) -> usize {
        self.fields
            .iter()
            .filter(|(n, _)| MAIL_HEADERS.contains(&n.as_str()))
            .count()
    }
}

fn unfold(raw: &[u8]) -> String {
    let text = bytes_to_text(raw);
    text.replace(['\n', '\r'], "")
}

/// Bytes as UTF-8 when they are valid UTF-8, else as windows-1252.
fn bytes_to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Decodes `bytes` in `charset`; see the module documentation for the fallbacks.
pub(crate) fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    let label = charset
        .map(|c| c.trim().trim_matches('"'))
        .filter(|c| !c.is_empty());
    let encoding = label.and_then(|l| Encoding::for_label(l.as_bytes()));
    let decoded = match encoding {
        Some(enc) if enc != UTF_8 => {
            let ascii_label = label.is_some_and(|l| {
                matches!(
                    l.to_ascii_lowercase().as_str(),
                    "us-ascii" | "ascii" | "us_ascii" | "ansi_x3.4-1968" | "iso646-us"
                )
            });
            match std::str::from_utf8(bytes) {
                // A part labelled US-ASCII that holds UTF-8 is read as the UTF-8 it is.
                Ok(s) if ascii_label => s.to_owned(),
                _ => enc.decode_without_bom_handling(bytes).0.into_owned(),
            }
        }
        _ => bytes_to_text(bytes),
    };
    match decoded.strip_prefix('\u{FEFF}') {
        Some(rest) => rest.to_owned(),
        None => decoded,
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 2047 encoded words

/// One encoded word at the start of `s` (which starts with `=?`): its charset, decoded bytes,
/// and length.
fn encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = s.get(2..)?;
    let q1 = inner.find('?')?;
    let charset = &inner[..q1];
    if charset.is_empty() || charset.len() > 64 || charset.contains(char::is_whitespace) {
        return None;
    }
    let after = inner.get(q1 + 1..)?;
    let mut chars = after.chars();
    let encoding = chars.next()?.to_ascii_lowercase();
    if chars.next()? != '?' || !matches!(encoding, 'q' | 'b') {
        return None;
    }
    let payload_all = after.get(2..)?;
    let end = payload_all.find("?=")?;
    let payload = &payload_all[..end];
    if payload.len() > 4096 {
        return None;
    }
    let bytes = if encoding == 'b' {
        base64_decode(payload.as_bytes())
    } else {
        let mut out = Vec::with_capacity(payload.len());
        let raw = payload.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'_' => out.push(b' '),
                b'=' => match (hex(raw.get(i + 1)), hex(raw.get(i + 2))) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'='),
                },
                b => out.push(b),
            }
            i += 1;
        }
        out
    };
    // RFC 2231 allows a language after the charset: `UTF-8*pt`.
    let charset = charset.split('*').next().unwrap_or(charset).to_owned();
    Some((charset, bytes, 2 + q1 + 1 + 2 + end + 2))
}

/// Decodes the RFC 2047 encoded words in an (unfolded) header value.
pub(crate) fn decode_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut pending: Option<(String, Vec<u8>)> = None;
    let flush = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((charset, bytes)) = pending.take() {
            out.push_str(&decode_charset(&bytes, Some(&charset)));
        }
    };
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        match encoded_word(&rest[start..]) {
            Some((charset, bytes, len)) => {
                let adjacent = pending.is_some() && before.chars().all(char::is_whitespace);
                match pending.as_mut() {
                    Some((cs, buf)) if adjacent && cs.eq_ignore_ascii_case(&charset) => {
                        buf.extend_from_slice(&bytes);
                    }
                    _ => {
                        flush(&mut pending, &mut out);
                        if !adjacent {
                            out.push_str(before);
                        }
                        pending = Some((charset, bytes));
                    }
                }
                rest = rest.get(start + len..).unwrap_or("");
            }
            None => {
                flush(&mut pending, &mut out);
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    flush(&mut pending, &mut out);
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Transfer encodings

fn hex(b: Option<&u8>) -> Option<u8> {
    let b = *b?;
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lenient base64: characters outside the alphabet are skipped; `=` ends a group, so
/// concatenated padded blocks decode too.
pub(crate) fn base64_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    let flush = |acc: u32, n: usize, out: &mut Vec<u8>| match n {
        2 => out.push((acc >> 4) as u8),
        3 => {
            out.push((acc >> 10) as u8);
            out.push((acc >> 2) as u8);
        }
        _ => {}
    };
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                flush(acc, n, &mut out);
                acc = 0;
                n = 0;
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.push((acc >> 16) as u8);
            out.push((acc >> 8) as u8);
            out.push(acc as u8);
            acc = 0;
            n = 0;
        }
    }
    flush(acc, n, &mut out);
    out
}

/// Lenient quoted-printable: soft line breaks (`=` at a line end) are removed, `=XX` becomes
/// its byte, and any other `=` is kept as it is.
pub(crate) fn qp_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < input.len() && matches!(input[j], b' ' | b'\t') {
            j += 1;
        }
        match input.get(j) {
            None => {
                i = j;
                continue;
            }
            Some(b'\n') => {
                i = j + 1;
                continue;
            }
            Some(b'\r') if input.get(j + 1) == Some(&b'\n') => {
                i = j + 2;
                continue;
            }
            _ => {}
        }
        match (hex(input.get(i + 1)), hex(input.get(i + 2))) {
            (Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Structured header values

/// A `type/subtype; key=value; ...` value (Content-Type, Content-Disposition): the lowercased
/// first item and the parameters (lowercased keys, unquoted values).
fn parse_params(value: &str) -> (String, Vec<(String, String)>) {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == ';' && !quoted {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    let mut items = items.into_iter();
    let main = items.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = items
        .filter_map(|item| {
            let (k, v) = item.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    (main, params)
}

fn percent_decode(s: &str) -> Vec<u8> {
    let raw = s.as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let (Some(h), Some(l)) = (hex(raw.get(i + 1)), hex(raw.get(i + 2)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// A parameter, with RFC 2231 extended (`name*=UTF-8''...`) and continued (`name*0`, `name*1*`)
/// forms, and RFC 2047 words in plain values as some mailers write them.
fn param(params: &[(String, String)], name: &str) -> Option<String> {
    let mut pieces: Vec<(u32, bool, &str)> = Vec::new();
    for (key, value) in params {
        let Some(rest) = key.strip_prefix(name).and_then(|r| r.strip_prefix('*')) else {
            continue;
        };
        if rest.is_empty() {
            pieces.push((0, true, value));
        } else {
            let (number, extended) = match rest.strip_suffix('*') {
                Some(n) => (n, true),
                None => (rest, false),
            };
            if let Ok(index) = number.parse::<u32>() {
                pieces.push((index, extended, value));
            }
        }
    }
    if !pieces.is_empty() {
        pieces.sort_by_key(|p| p.0);
        let mut charset = None;
        let mut bytes = Vec::new();
        for (i, (_, extended, value)) in pieces.iter().enumerate() {
            if *extended {
                let mut value = *value;
                if i == 0 {
                    let mut parts = value.splitn(3, '\'');
                    if let (Some(cs), Some(_lang), Some(rest)) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        charset = Some(cs.to_owned());
                        value = rest;
                    }
                }
                bytes.extend(percent_decode(value));
            } else {
                bytes.extend_from_slice(value.as_bytes());
            }
        }
        return Some(decode_charset(&bytes, charset.as_deref()));
    }
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| decode_words(v))
}

/// A message id as Hearth keeps it: without its angle brackets, without the spaces a folded
/// header leaves inside it, and with its domain (after the last `@`, case-insensitive in mail)
/// in lower case; the local part keeps its case, which RFC 5322 leaves to the sender.
fn normalize_message_id(id: &str) -> String {
    let id: String = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match id.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => id,
    }
}

/// The message ids (`<...>`) in a header value, normalised ([`normalize_message_id`]); a value
/// without any brackets counts as one bare id.
fn message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            break;
        };
        let id = normalize_message_id(&after[..close]);
        if !id.is_empty() {
            ids.push(id);
        }
        rest = &after[close + 1..];
    }
    if ids.is_empty() {
        let bare = value.trim();
        if !bare.is_empty() && !bare.contains(char::is_whitespace) {
            ids.push(normalize_message_id(bare));
        }
    }
    ids
}

/// The mailboxes in an address-list header: `"Name" <a@b>, c@d (Name), group: e@f;`.
fn addresses(value: &str) -> Vec<Person> {
    // Split on commas, colons and semicolons outside quotes, angle brackets and comments.
    let mut items: Vec<String> = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped, mut angle, mut comment) = (false, false, false, 0u32);
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || comment > 0 => escaped = true,
            '"' if comment == 0 => {
                quoted = !quoted;
                current.push(c);
            }
            '(' if !quoted => {
                comment += 1;
                current.push(c);
            }
            ')' if !quoted && comment > 0 => {
                comment -= 1;
                current.push(c);
            }
            '<' if !quoted && comment == 0 => {
                angle = true;
                current.push(c);
            }
            '>' if !quoted && comment == 0 => {
                angle = false;
                current.push(c);
            }
            ',' | ';' if !quoted && !angle && comment == 0 => {
                items.push(std::mem::take(&mut current));
            }
            // A group's name ends at its colon (`team: a@b, c@d;`).
            ':' if !quoted && !angle && comment == 0 => current.clear(),
            _ => current.push(c),
        }
    }
    items.push(current);
    items.iter().filter_map(|item| mailbox(item)).collect()
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s);
    s.trim().to_owned()
}

fn mailbox(item: &str) -> Option<Person> {
    let item = item.trim();
    if item.is_empty() {
        return None;
    }
    let (name, address) = match (item.rfind('<'), item.rfind('>')) {
        (Some(open), Some(close)) if open < close => (
            unquote(&item[..open]),
            item[open + 1..close].trim().to_owned(),
        ),
        _ => {
            // `addr (Name)` or a bare address.
            match (item.find('('), item.rfind(')')) {
                (Some(open), Some(close)) if open < close => (
                    unquote(&item[open + 1..close]),
                    item[..open].trim().to_owned(),
                ),
                _ => (String::new(), item.to_owned()),
            }
        }
    };
    let name = decode_words(&name).trim().to_owned();
    let address = address.trim_matches(|c: char| c == '"' || c.is_whitespace());
    let handle = (!address.is_empty()).then(|| address.to_lowercase());
    let name = if name.is_empty() {
        handle.clone()?
    } else {
        name
    };
    Some(Person {
        name,
        handle,
        is_owner: false,
    })
}

/// A `Date:` header (RFC 5322, comments and obsolete forms allowed).
fn parse_date(value: &str) -> Option<DateTime<FixedOffset>> {
    // Drop comments such as `(PDT)` or `(UTC)`.
    let mut cleaned = String::with_capacity(value.len());
    let mut depth = 0u32;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => cleaned.push(c),
            _ => {}
        }
    }
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Ok(t) = DateTime::parse_from_rfc2822(&cleaned) {
        return Some(t);
    }
    // Some mailers add a dot after the day name, omit seconds or the comma, or write `UTC`.
    let without_day = cleaned
        .split_once(',')
        .map(|(_, rest)| rest.trim())
        .unwrap_or(&cleaned);
    let numeric = without_day
        .replace(" UTC", " +0000")
        .replace(" GMT", " +0000");
    [
        "%d %b %Y %H:%M:%S %z",
        "%d %b %Y %H:%M %z",
        "%a %d %b %Y %H:%M:%S %z",
    ]
    .iter()
    .find_map(|f| DateTime::parse_from_str(&numeric, f).ok())
}

fn strip_reply_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let Some(prefix) = [
            "re:", "fwd:", "fw:", "aw:", "sv:", "vs:", "tr:", "wg:", "rv:",
        ]
        .iter()
        .find(|p| lower.starts_with(*p)) else {
            return s;
        };
        s = s[prefix.len()..].trim_start();
    }
}

// ---------------------------------------------------------------------------------------------
// MIME tree

#[derive(Default)]
struct Collected {
    plain: Vec<String>,
    html: Vec<String>,
    attachments: Vec<PendingAttachment>,
}

/// The parts of a multipart body, between its `--boundary` lines.
fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let end = body[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(body.len(), |i| pos + i);
        let line = strip_cr(&body[pos..end]);
        if let Some(rest) = line.strip_prefix(delimiter) {
            let (close, tail) = match rest.strip_prefix(b"--") {
                Some(tail) => (true, tail),
                None => (false, rest),
            };
            if tail.iter().all(u8::is_ascii_whitespace) {
                if let Some(s) = start {
                    // The line break before a delimiter belongs to the delimiter.
                    let mut e = pos;
                    if e > s && body[e - 1] == b'\n' {
                        e -= 1;
                        if e > s && body[e - 1] == b'\r' {
                            e -= 1;
                        }
                    }
                    parts.push(&body[s..e]);
                }
                if close {
                    return parts;
                }
                start = Some((end + 1).min(body.len()));
            }
        }
        pos = end + 1;
    }
    if let Some(s) = start
        && s < body.len()
    {
        parts.push(&body[s..]);
    }
    parts
}

fn extension_for(mime: &str) -> &'static str {
    match mime {
        "text/calendar" => "ics",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "message/rfc822" => "eml",
        "application/zip" => "zip",
        _ => "bin",
    }
}

fn walk(raw: &[u8], depth: usize, default_type: &str, budget: &mut usize, out: &mut Collected) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let (head, body) = split_head(raw);
    let headers = Headers::parse(head);
    walk_part(&headers, body, depth, default_type, budget, out);
}

fn walk_part(
    headers: &Headers,
    body: &[u8],
    depth: usize,
    default_type: &str,
    budget: &mut usize,
    out: &mut Collected,
) {
    let (mime, params) = headers
        .unfolded("content-type")
        .map(|v| parse_params(&v))
        .filter(|(m, _)| m.contains('/'))
        .unwrap_or_else(|| (default_type.to_owned(), Vec::new()));
    let (disposition, disposition_params) = headers
        .unfolded("content-disposition")
        .map(|v| parse_params(&v))
        .unwrap_or_default();
    let as_attachment = disposition == "attachment";
    if mime.starts_with("multipart/") {
        let boundary = param(&params, "boundary").filter(|b| !b.is_empty());
        if let Some(boundary) = boundary
            && depth < MAX_DEPTH
        {
            let children = split_multipart(body, &boundary);
            let child_default = if mime == "multipart/digest" {
                "message/rfc822"
            } else {
                "text/plain"
            };
            if mime == "multipart/alternative" {
                let branches: Vec<Collected> = children
                    .iter()
                    .map(|child| {
                        let mut branch = Collected::default();
                        walk(child, depth + 1, child_default, budget, &mut branch);
                        branch
                    })
                    .collect();
                // Prefer the first branch with plain text, else the first with HTML; keep
                // every branch's attachments.
                let chosen = branches
                    .iter()
                    .position(|b| !b.plain.is_empty())
                    .or_else(|| branches.iter().position(|b| !b.html.is_empty()));
                for (i, branch) in branches.into_iter().enumerate() {
                    if Some(i) == chosen {
                        out.plain.extend(branch.plain);
                        out.html.extend(branch.html);
                    }
                    out.attachments.extend(branch.attachments);
                }
            } else {
                for child in children {
                    walk(child, depth + 1, child_default, budget, out);
                }
            }
            return;
        }
    }
    let encoding = headers
        .unfolded("content-transfer-encoding")
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let data = match encoding.as_str() {
        "base64" => base64_decode(body),
        "quoted-printable" => qp_decode(body),
        _ => body.to_vec(),
    };
    let is_body_text = matches!(mime.as_str(), "text/plain" | "text/html") && !as_attachment;
    if is_body_text {
        let text = decode_charset(&data, param(&params, "charset").as_deref());
        if mime == "text/html" {
            out.html.push(text);
        } else {
            out.plain.push(text);
        }
        return;
    }
    if mime.starts_with("multipart/") {
        // Nested too deep, or without a boundary: nothing readable.
        return;
    }
    let name = param(&disposition_params, "filename")
        .or_else(|| param(&params, "name"))
        .map(|n| n.replace(['/', '\\'], "_").trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            format!(
                "attachment-{}.{}",
                out.attachments.len() + 1,
                extension_for(&mime)
            )
        });
    out.attachments.push(PendingAttachment {
        name,
        mime: Some(mime),
        entry: None,
        data: Some(data),
    });
}

fn normalise_body(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.trim_start_matches('\n').trim_end().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Message → record

/// Where a message came from, for its record.
pub(crate) struct Origin {
    /// `mbox` or `eml`.
    pub(crate) format: &'static str,
    /// The mbox `From ` line's time, used when `Date:` is missing or unreadable, and whether its
    /// offset was assumed.
    pub(crate) envelope_date: Option<(DateTime<FixedOffset>, bool)>,
}

/// Turns one raw message into a record, or says why it cannot be imported.
pub(crate) fn message_record(raw: &[u8], origin: &Origin) -> Result<Parsed, String> {
    let (head, body) = split_head(raw);
    let headers = Headers::parse(head);
    if headers.count_mail_headers() == 0 {
        return Err("no mail headers (From, Date, Subject, Message-ID...) in this message".into());
    }
    let mut metadata = BTreeMap::new();
    let (occurred_at, offset_assumed) = match headers.text("date").as_deref().and_then(parse_date) {
        Some(t) => (t, false),
        None => match origin.envelope_date {
            Some((t, assumed)) => {
                metadata.insert("date".to_owned(), "mbox separator".to_owned());
                (t, assumed)
            }
            None => {
                return Err(match headers.text("date") {
                    Some(d) => format!("unreadable Date header {d:?}"),
                    None => "no Date header".into(),
                });
            }
        },
    };
    let subject = headers.text("subject").unwrap_or_default();
    let from = headers
        .unfolded("from")
        .map(|v| addresses(&v))
        .unwrap_or_default();
    let author = from.first().cloned().or_else(|| {
        headers
            .unfolded("sender")
            .and_then(|v| addresses(&v).into_iter().next())
    });
    let mut participants: Vec<Person> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for name in ["from", "to", "cc"] {
        for value in headers.all_unfolded(name) {
            for person in addresses(&value) {
                let key = person.handle.clone().unwrap_or_else(|| person.name.clone());
                if seen.insert(key) {
                    participants.push(person);
                }
            }
        }
    }
    let message_id = headers
        .unfolded("message-id")
        .and_then(|v| message_ids(&v).into_iter().next());
    let in_reply_to = headers
        .unfolded("in-reply-to")
        .and_then(|v| message_ids(&v).into_iter().next());
    let references: Vec<String> = headers
        .unfolded("references")
        .map(|v| message_ids(&v))
        .unwrap_or_default();
    let mut collected = Collected::default();
    let mut budget = MAX_PARTS;
    walk_part(&headers, body, 0, "text/plain", &mut budget, &mut collected);
    let body_text = if !collected.plain.is_empty() {
        collected
            .plain
            .iter()
            .map(|t| normalise_body(t))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    } else if !collected.html.is_empty() {
        metadata.insert("body".to_owned(), "html".to_owned());
        collected
            .html
            .iter()
            .map(|h| normalise_body(&text::html_to_text(h)))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    } else {
        String::new()
    };
    let text = match (subject.is_empty(), body_text.is_empty()) {
        (true, _) => body_text,
        (false, true) => subject.clone(),
        (false, false) => format!("{subject}\n\n{body_text}"),
    };
    // The message's identity: its Message-ID, else a hash of what any copy of it has (date,
    // sender, subject and text), never where the copy was filed.
    let external_id = message_id.clone().unwrap_or_else(|| {
        let from = author
            .as_ref()
            .map(|a| a.handle.as_ref().unwrap_or(&a.name));
        format!(
            "hash:{}",
            short_hash(&format!(
                "{}|{}|{text}",
                occurred_at.to_rfc3339(),
                from.map(String::as_str).unwrap_or("")
            ))
        )
    });
    let thread = headers
        .text("x-gm-thrid")
        .filter(|t| !t.is_empty())
        .or_else(|| references.first().cloned())
        .or_else(|| in_reply_to.clone())
        .unwrap_or_else(|| external_id.clone());
    let thread_name = strip_reply_prefixes(&subject);
    let conversation = Conversation {
        id: thread,
        name: (!thread_name.is_empty()).then(|| thread_name.to_owned()),
    };

    if !subject.is_empty() {
        metadata.insert("subject".to_owned(), subject);
    }
    if let Some(labels) = headers.text("x-gmail-labels").filter(|l| !l.is_empty()) {
        metadata.insert("labels".to_owned(), labels);
    }
    if let Some(id) = &message_id {
        metadata.insert("message_id".to_owned(), id.clone());
    }
    metadata.insert("format".to_owned(), origin.format.to_owned());

    let record = RecordData {
        source: "mail".into(),
        kind: Kind::Email,
        occurred_at,
        offset_assumed,
        external_id: Some(external_id),
        author,
        participants,
        conversation: Some(conversation),
        text,
        reply_to: in_reply_to,
        attachments: Vec::new(),
        metadata,
    };
    Ok(Parsed {
        record,
        pending: collected.attachments,
    })
}

/// Whether the start of a file looks like a mail message's headers: its first line is a header
/// and at least two of the first lines are headers mail has.
pub(crate) fn looks_like_message(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let is_header = |line: &[u8]| {
        line.iter()
            .position(|b| *b == b':')
            .is_some_and(|c| valid_field_name(&line[..c]))
    };
    if !is_header(strip_cr(first)) {
        return false;
    }
    let (block, _) = split_head(head);
    Headers::parse(block).count_mail_headers() >= 2
}

/// Drops an mbox-style `From ` line at the start of a saved message.
fn strip_envelope(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    if raw.starts_with(b"From ") {
        let end = raw
            .iter()
            .position(|b| *b == b'\n')
            .map_or(raw.len(), |i| i + 1);
        &raw[end..]
    } else {
        raw
    }
}

fn is_eml_entry(input: &Input, entry: &Entry) -> bool {
    let name = entry.path.to_ascii_lowercase();
    let named = name.ends_with(".eml");
    if !named && !input.is_single_file() {
        return false;
    }
    let head = input.sniff(&entry.path, 8192);
    let head = if named {
        strip_envelope(&head)
    } else {
        &head[..]
    };
    looks_like_message(head)
}

impl Format for Eml {
    fn name(&self) -> &'static str {
        "eml"
    }

    fn description(&self) -> &'static str {
        "Single email messages: .eml files (RFC 5322/MIME), alone, in a folder or a .zip"
    }

    fn detect(&self, input: &Input) -> u8 {
        let mut best = 0;
        for entry in input.entries().iter().take(5000) {
            let named = entry.path.to_ascii_lowercase().ends_with(".eml");
            if (named || input.is_single_file()) && is_eml_entry(input, entry) {
                best = best.max(if named { 85 } else { 50 });
                if named {
                    break;
                }
            }
        }
        best
    }

    fn parse(
        &self,
        input: &Input,
        _ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let messages: Vec<Entry> = input
            .entries()
            .iter()
            .filter(|e| is_eml_entry(input, e))
            .cloned()
            .collect();
        if messages.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: "eml",
                location: input.origin().display().to_string(),
                reason: "no file starts with mail headers (From:, Date:, Subject:...)".into(),
            });
        }
        let origin = Origin {
            format: "eml",
            envelope_date: None,
        };
        for entry in messages {
            let location = format!("{}:1", input.location(&entry.path));
            if entry.size > MAX_MESSAGE {
                sink.skip(
                    location,
                    format!(
                        "message of {} bytes is over the {MAX_MESSAGE}-byte limit",
                        entry.size
                    ),
                );
                continue;
            }
            let raw = input.read(&entry.path, MAX_MESSAGE)?;
            match message_record(strip_envelope(&raw), &origin) {
                Ok(parsed) => sink.record(parsed)?,
                Err(reason) => sink.skip(location, reason),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_join_and_decode() {
        assert_eq!(
            decode_words("=?UTF-8?Q?Obrigada_=26_goodbye_=F0=9F=91=8B?="),
            "Obrigada & goodbye 👋"
        );
        // A character split across two words, folded.
        assert_eq!(
            decode_words("=?UTF-8?Q?S=C3?= =?UTF-8?Q?=A3o?= Bento"),
            "São Bento"
        );
        assert_eq!(
            decode_words("=?ISO-8859-1?B?SnVsZW4gLSBu5HIgbGFuZGFyIG5pPw==?="),
            "Julen - när landar ni?"
        );
        assert_eq!(decode_words("Re: =?utf-8?q?a?= b"), "Re: a b");
        assert_eq!(decode_words("broken =?x?q"), "broken =?x?q");
        assert_eq!(decode_words("=?=?"), "=?=?");
    }

    #[test]
    fn transfer_encodings() {
        assert_eq!(
            qp_decode(b"Ol=C3=A1 a=\r\n b=\nc =3D d=zz"),
            "Olá a bc = d=zz".as_bytes()
        );
        assert_eq!(base64_decode(b"SGVs\nbG8="), b"Hello");
        assert_eq!(base64_decode(b"QQ==QQ=="), b"AA");
    }

    #[test]
    fn addresses_and_ids() {
        let people = addresses(
            "\"Lindqvist, Maya\" <Maya@Example.com>, bo@x.org (Bo), team: c@d.e, <f@g.h>;",
        );
        let names: Vec<_> = people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Lindqvist, Maya", "Bo", "c@d.e", "f@g.h"]);
        assert_eq!(people[0].handle.as_deref(), Some("maya@example.com"));
        assert_eq!(message_ids(" <a@b>\n <c@d>"), ["a@b", "c@d"]);
        assert_eq!(
            message_ids("<CAN x@Mail.Gmail.COM> <\n AbC@d.e >"),
            ["CANx@mail.gmail.com", "AbC@d.e"]
        );
        assert_eq!(message_ids("Bare@Host.Org"), ["Bare@host.org"]);
        assert_eq!(
            parse_date("Wed, 19 Mar 2025 03:02:41 -0700 (PDT)").map(|d| d.to_rfc3339()),
            Some("2025-03-19T03:02:41-07:00".to_owned())
        );
        assert_eq!(strip_reply_prefixes("Re: Fwd: RE: hi"), "hi");
    }

    #[test]
    fn charsets_fall_back_to_windows_1252() {
        assert_eq!(decode_charset(b"S\xe3o", Some("utf-8")), "São");
        assert_eq!(decode_charset(b"S\xe3o", None), "São");
        assert_eq!(
            decode_charset(b"\x93q\x94", Some("iso-8859-1")),
            "\u{201c}q\u{201d}"
        );
        assert_eq!(decode_charset("São".as_bytes(), Some("us-ascii")), "São");
        assert_eq!(decode_charset(b"x", Some("no-such-charset")), "x");
    }

    #[test]
    fn rfc2231_parameters() {
        let (_, params) =
            parse_params("attachment; filename*0*=UTF-8''caf%C3%A9; filename*1=\".ics\"");
        assert_eq!(param(&params, "filename").as_deref(), Some("café.ics"));
        let (mime, params) = parse_params("Text/Plain; charset=\"ISO-8859-1\"");
        assert_eq!(mime, "text/plain");
        assert_eq!(param(&params, "charset").as_deref(), Some("ISO-8859-1"));
    }
}

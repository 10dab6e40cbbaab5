//! iMessage / SMS history from macOS's `chat.db` (`~/Library/Messages/chat.db`, readable with
//! Full Disk Access), imported from the database file itself or from a copy of the
//! `Messages` folder (which also holds `Attachments/`).
//!
//! Tables read: `message`, `handle`, `chat`, `chat_message_join`, `chat_handle_join`,
//! `attachment`, `message_attachment_join`. The database is opened with
//! `SQLITE_OPEN_READ_ONLY`; nothing is written to it. Columns that older macOS versions lack
//! (`attributedBody`, `thread_originator_guid`, `date_edited`, ...) are read as NULL.
//!
//! Traps, and what this parser does about them:
//!
//! - **`date` is nanoseconds since 2001-01-01 UTC** on macOS 10.13 and later, **seconds** before:
//!   told apart by magnitude (anything above 10^11 is nanoseconds; 10^11 seconds would be the
//!   year 5170). The instant is exact and shown in the `--tz` zone's offset (`offset_assumed`).
//! - **`text` is often NULL** on recent macOS: the body is then in `attributedBody`, an
//!   `NSAttributedString` written by `NSArchiver` as a *typedstream* (header `\x04\x0bstreamtyped`).
//!   The text is the `NSString` object's contents: after the class name `NSString` come its
//!   class version and superclass reference, then the type encoding `+` (a byte string, written
//!   `0x84 0x01 '+'`), then the byte length as a typedstream integer (one byte below `0x80`, or
//!   `0x81` + 2 bytes little-endian, or `0x82` + 4 bytes), then the UTF-8 bytes. (This is the
//!   layout ReagentX/imessage-exporter and the common Python readers rely on.) Object replacement
//!   characters (U+FFFC), which mark where attachments sat in the text, are removed.
//! - **Tapbacks are rows of their own** (`associated_message_type` 2000–2007 to add a reaction,
//!   3000–3007 to remove it, `associated_message_guid` = `p:<part>/<target guid>` or
//!   `bp:<guid>`). They are not imported as records: the reactions still in force are written to
//!   the target message's `tapbacks` metadata (`Loved by +351…; Liked by me`), and each tapback
//!   row is counted as not imported. A tapback whose target is not in the database is dropped.
//! - Group events (`item_type` ≠ 0: renames, members joining or leaving) are not messages and
//!   are counted as not imported; so are rows with neither text nor attachments (unsent
//!   messages, typing-indicator leftovers).
//! - `is_from_me` makes the owner the author (named from `--me`, else `me`); otherwise the
//!   author is the `handle.id` (a phone number or e-mail address) as both name and handle.
//!   The conversation is the chat (`chat.guid`), named by `display_name` or else
//!   `chat_identifier`. Inline replies (`thread_originator_guid`) give `reply_to`.
//! - Edits (`date_edited`) are flagged in metadata; the edit history itself (a binary plist in
//!   `message_summary_info`) is not read.
//! - Attachments are named by `transfer_name` and stored when the input is the `Messages`
//!   folder and the file is inside it (`~/Library/Messages/Attachments/…` is mapped to
//!   `Attachments/…` beside `chat.db`).
//! - **A `chat.db` inside a `.zip` cannot be opened in place** (SQLite needs a real file, and
//!   archives are never extracted to disk): the import is refused, asking for the file itself.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::input::Input;
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink};

/// The iMessage `chat.db` format.
pub struct IMessage;

const NAME: &str = "imessage";
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// Seconds from the Unix epoch to Apple's (2001-01-01T00:00:00Z).
const APPLE_EPOCH: i64 = 978_307_200;
/// Dates above this are nanoseconds.
const NANOS_THRESHOLD: i64 = 100_000_000_000;

/// Reads a typedstream integer at `*at`, advancing past it.
fn typed_int(blob: &[u8], at: &mut usize) -> Option<usize> {
    let tag = *blob.get(*at)?;
    *at += 1;
    match tag {
        0x81 => {
            let bytes = blob.get(*at..*at + 2)?;
            *at += 2;
            Some(usize::from(u16::from_le_bytes([bytes[0], bytes[1]])))
        }
        0x82 => {
            let bytes = blob.get(*at..*at + 4)?;
            *at += 4;
            let n = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            usize::try_from(n).ok()
        }
        0x80..=0xFF => None,
        n => Some(usize::from(n)),
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The text of an `attributedBody` typedstream: the first `NSString`'s bytes.
pub(crate) fn typedstream_text(blob: &[u8]) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = find(blob, b"NSString", from) {
        let after = pos + b"NSString".len();
        from = after;
        // Class version, superclass reference, then the `+` type (new: 0x84 0x01 '+').
        let window = blob.get(after..blob.len().min(after + 16))?;
        let Some(plus) = window.iter().position(|&b| b == b'+') else {
            continue;
        };
        let mut at = after + plus + 1;
        let Some(len) = typed_int(blob, &mut at) else {
            continue;
        };
        let end = at.checked_add(len)?;
        let bytes = blob.get(at..end)?;
        return Some(String::from_utf8_lossy(bytes).into_owned());
    }
    None
}

/// A chat.db `date` as an instant.
fn apple_date(raw: i64) -> Option<DateTime<Utc>> {
    if raw == 0 {
        return None;
    }
    let (secs, nanos) = if raw.unsigned_abs() > NANOS_THRESHOLD.unsigned_abs() {
        (raw.div_euclid(1_000_000_000), raw.rem_euclid(1_000_000_000))
    } else {
        (raw, 0)
    };
    DateTime::from_timestamp(secs.checked_add(APPLE_EPOCH)?, u32::try_from(nanos).ok()?)
}

fn open(path: &std::path::Path) -> Result<Connection, rusqlite::Error> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

fn tables(conn: &Connection) -> Result<HashSet<String>, rusqlite::Error> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .filter_map(Result::ok)
        .collect();
    Ok(names)
}

fn columns(conn: &Connection, table: &str) -> HashSet<String> {
    let Ok(mut stmt) = conn.prepare(&format!("PRAGMA table_info(\"{table}\")")) else {
        return HashSet::new();
    };
    stmt.query_map([], |row| row.get::<_, String>(1))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// Whether an open database has the iMessage tables.
fn is_chat_db(conn: &Connection) -> bool {
    let Ok(tables) = tables(conn) else {
        return false;
    };
    ["message", "handle", "chat", "chat_message_join"]
        .iter()
        .all(|t| tables.contains(*t))
        && columns(conn, "message").contains("is_from_me")
}

/// The database entry and its path on disk (`None` inside a zip).
fn candidates(input: &Input) -> Vec<(String, Option<PathBuf>)> {
    let on_disk = |entry: &str| {
        if input.is_single_file() {
            Some(input.origin().to_path_buf())
        } else if input.origin().is_dir() {
            Some(input.origin().join(entry))
        } else {
            None
        }
    };
    let mut out: Vec<(String, Option<PathBuf>)> = input
        .entries()
        .iter()
        .filter(|e| {
            let lower = e.file_name().to_ascii_lowercase();
            input.is_single_file() || lower == "chat.db" || lower.ends_with(".db")
        })
        .filter(|e| input.sniff(&e.path, 16) == SQLITE_MAGIC)
        .take(20)
        .map(|e| (e.path.clone(), on_disk(&e.path)))
        .collect();
    // chat.db first.
    out.sort_by_key(|(p, _)| !p.to_ascii_lowercase().ends_with("chat.db"));
    out
}

fn not_this(input: &Input, reason: String) -> ConnectorError {
    ConnectorError::NotThisFormat {
        format: NAME,
        location: input.origin().display().to_string(),
        reason,
    }
}

/// Reaction names by `associated_message_type` (add = 2000 + n, remove = 3000 + n).
fn tapback_name(kind: i64) -> &'static str {
    match kind % 1000 {
        0 => "Loved",
        1 => "Liked",
        2 => "Disliked",
        3 => "Laughed at",
        4 => "Emphasized",
        5 => "Questioned",
        6 => "Reacted to",
        7 => "Stickered",
        _ => "Reacted to",
    }
}

/// The target guid of a tapback (`p:0/GUID`, `bp:GUID`).
fn tapback_target(raw: &str) -> &str {
    match raw.split_once('/') {
        Some((_, guid)) => guid,
        None => raw.strip_prefix("bp:").unwrap_or(raw),
    }
}

fn text_of(value: &Sql) -> Option<String> {
    match value {
        Sql::Text(s) => Some(s.clone()),
        Sql::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Sql::Integer(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int_of(value: &Sql) -> Option<i64> {
    match value {
        Sql::Integer(n) => Some(*n),
        Sql::Real(f) => Some(*f as i64),
        Sql::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A SELECT list of `wanted` columns of `table`, with NULL for the missing ones.
fn select_list(present: &HashSet<String>, alias: &str, wanted: &[&str]) -> String {
    wanted
        .iter()
        .map(|c| {
            if present.contains(*c) {
                format!("{alias}.\"{c}\"")
            } else {
                "NULL".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column value, with text that is not UTF-8 repaired (damaged databases have such text).
fn owned(value: ValueRef<'_>) -> Sql {
    match value {
        ValueRef::Null => Sql::Null,
        ValueRef::Integer(n) => Sql::Integer(n),
        ValueRef::Real(f) => Sql::Real(f),
        ValueRef::Text(t) => Sql::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Sql::Blob(b.to_vec()),
    }
}

/// Runs `sql` and collects each row as values; a row that fails is reported once and ends it.
fn rows(
    conn: &Connection,
    sql: &str,
    width: usize,
) -> Result<Vec<Result<Vec<Sql>, String>>, rusqlite::Error> {
    let mut stmt = conn.prepare(sql)?;
    let mut out = Vec::new();
    let mut rows = stmt.query([])?;
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let mut values = Vec::with_capacity(width);
                for i in 0..width {
                    // Not `get::<Value>`: rusqlite panics on text that is not UTF-8.
                    values.push(row.get_ref(i).map(owned).unwrap_or(Sql::Null));
                }
                out.push(Ok(values));
            }
            Ok(None) => break,
            Err(e) => {
                out.push(Err(e.to_string()));
                break;
            }
        }
    }
    Ok(out)
}

/// Reads `sql` as a two-column map; errors give an empty map (the tables are optional).
fn pairs(conn: &Connection, sql: &str) -> Vec<(i64, i64)> {
    rows(conn, sql, 2)
        .map(|rows| {
            rows.into_iter()
                .filter_map(Result::ok)
                .filter_map(|r| Some((int_of(&r[0])?, int_of(&r[1])?)))
                .collect()
        })
        .unwrap_or_default()
}

struct Chat {
    guid: String,
    name: String,
    style: Option<i64>,
    service: Option<String>,
}

struct Attachment {
    name: String,
    mime: Option<String>,
    filename: Option<String>,
}

const MESSAGE_COLUMNS: &[&str] = &[
    "ROWID",
    "guid",
    "text",
    "attributedBody",
    "handle_id",
    "date",
    "is_from_me",
    "service",
    "associated_message_type",
    "associated_message_guid",
    "thread_originator_guid",
    "item_type",
    "date_edited",
    "date_retracted",
    "is_audio_message",
    "subject",
];

#[derive(Default)]
struct Tapbacks {
    /// Target guid → (who, reaction) in force, in order.
    by_target: HashMap<String, Vec<(String, &'static str)>>,
}

fn parse_db(
    input: &Input,
    entry: &str,
    conn: &Connection,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(entry);
    let present = columns(conn, "message");
    let owner = Person {
        name: ctx.me.first().cloned().unwrap_or_else(|| "me".to_owned()),
        handle: None,
        is_owner: true,
    };
    let handles: HashMap<i64, String> = rows(conn, "SELECT ROWID, id FROM handle", 2)
        .map(|rows| {
            rows.into_iter()
                .filter_map(Result::ok)
                .filter_map(|r| Some((int_of(&r[0])?, text_of(&r[1])?)))
                .collect()
        })
        .unwrap_or_default();
    let chat_cols = columns(conn, "chat");
    let chats: HashMap<i64, Chat> = rows(
        conn,
        &format!(
            "SELECT c.ROWID, {} FROM chat c",
            select_list(
                &chat_cols,
                "c",
                &[
                    "guid",
                    "chat_identifier",
                    "display_name",
                    "style",
                    "service_name"
                ]
            )
        ),
        6,
    )
    .map(|rows| {
        rows.into_iter()
            .filter_map(Result::ok)
            .filter_map(|r| {
                let id = int_of(&r[0])?;
                let identifier = text_of(&r[2]).filter(|s| !s.is_empty());
                let display = text_of(&r[3]).filter(|s| !s.is_empty());
                let guid = text_of(&r[1])
                    .filter(|s| !s.is_empty())
                    .or_else(|| identifier.clone())
                    .unwrap_or_else(|| format!("chat{id}"));
                let name = display.or(identifier).unwrap_or_else(|| guid.clone());
                Some((
                    id,
                    Chat {
                        guid,
                        name,
                        style: int_of(&r[4]),
                        service: text_of(&r[5]),
                    },
                ))
            })
            .collect()
    })
    .unwrap_or_default();
    let mut chat_of: HashMap<i64, i64> = HashMap::new();
    for (chat, message) in pairs(conn, "SELECT chat_id, message_id FROM chat_message_join") {
        chat_of.entry(message).or_insert(chat);
    }
    let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
    for (chat, handle) in pairs(conn, "SELECT chat_id, handle_id FROM chat_handle_join") {
        members.entry(chat).or_default().push(handle);
    }
    let mut attachments: HashMap<i64, Vec<Attachment>> = HashMap::new();
    let att_cols = columns(conn, "attachment");
    if let Ok(rows) = rows(
        conn,
        &format!(
            "SELECT j.message_id, {} FROM message_attachment_join j JOIN attachment a ON a.ROWID = j.attachment_id ORDER BY j.message_id, a.ROWID",
            select_list(&att_cols, "a", &["filename", "mime_type", "transfer_name"])
        ),
        4,
    ) {
        for row in rows.into_iter().filter_map(Result::ok) {
            let Some(message) = int_of(&row[0]) else {
                continue;
            };
            let filename = text_of(&row[1]).filter(|s| !s.is_empty());
            let name = text_of(&row[3])
                .filter(|s| !s.is_empty())
                .or_else(|| {
                    filename
                        .as_deref()
                        .map(|f| f.rsplit('/').next().unwrap_or(f).to_owned())
                })
                .unwrap_or_else(|| "attachment".to_owned());
            attachments.entry(message).or_default().push(Attachment {
                name,
                mime: text_of(&row[2]).filter(|s| !s.is_empty()),
                filename,
            });
        }
    }

    let sql = format!(
        "SELECT {} FROM message m ORDER BY m.date, m.ROWID",
        select_list(&present, "m", MESSAGE_COLUMNS)
    );
    let all = rows(conn, &sql, MESSAGE_COLUMNS.len())
        .map_err(|e| not_this(input, format!("cannot read the message table: {e}")))?;

    // Pass one: tapbacks in force, by target.
    let mut tapbacks = Tapbacks::default();
    for row in all.iter().filter_map(|r| r.as_ref().ok()) {
        let kind = int_of(&row[8]).unwrap_or(0);
        if !(2000..4000).contains(&kind) {
            continue;
        }
        let Some(target) = text_of(&row[9]) else {
            continue;
        };
        let who = if int_of(&row[6]) == Some(1) {
            owner.name.clone()
        } else {
            int_of(&row[4])
                .and_then(|h| handles.get(&h).cloned())
                .unwrap_or_else(|| "someone".to_owned())
        };
        let reaction = tapback_name(kind);
        let list = tapbacks
            .by_target
            .entry(tapback_target(&target).to_owned())
            .or_default();
        if kind < 3000 {
            // A new tapback replaces the person's earlier one.
            list.retain(|(w, _)| w != &who);
            list.push((who, reaction));
        } else {
            list.retain(|(w, r)| !(w == &who && *r == reaction));
        }
    }

    let dir = entry.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    for row in all {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                sink.skip(
                    format!("{location}:message"),
                    format!("the database could not be read past here: {e}"),
                );
                break;
            }
        };
        let rowid = int_of(&row[0]).unwrap_or(-1);
        let here = format!("{location}:message[ROWID={rowid}]");
        let kind = int_of(&row[8]).unwrap_or(0);
        if (2000..4000).contains(&kind) {
            sink.ignore();
            continue;
        }
        if int_of(&row[11]).unwrap_or(0) != 0 {
            sink.ignore();
            continue;
        }
        let Some(instant) = int_of(&row[5]).and_then(apple_date) else {
            sink.skip(here, "message has no readable date".into());
            continue;
        };
        let mut metadata = BTreeMap::new();
        let plain = text_of(&row[2]).filter(|t| !t.trim_matches('\u{FFFC}').trim().is_empty());
        let body = match plain {
            Some(t) => t,
            None => match &row[3] {
                Sql::Blob(blob) => match typedstream_text(blob) {
                    Some(t) => {
                        metadata.insert("text_from".to_owned(), "attributedBody".to_owned());
                        t
                    }
                    None => {
                        sink.skip(
                            here,
                            "attributedBody is not a typedstream with an NSString".into(),
                        );
                        continue;
                    }
                },
                _ => String::new(),
            },
        };
        let body = body.replace('\u{FFFC}', "").trim().to_owned();
        let files = attachments.remove(&rowid).unwrap_or_default();
        if body.is_empty() && files.is_empty() {
            sink.ignore();
            continue;
        }
        let from_me = int_of(&row[6]) == Some(1);
        let handle = int_of(&row[4]).and_then(|h| handles.get(&h).cloned());
        let author = if from_me {
            owner.clone()
        } else {
            let id = handle.clone().unwrap_or_else(|| "unknown".to_owned());
            Person {
                name: id.clone(),
                handle: Some(id),
                is_owner: false,
            }
        };
        let chat_id = chat_of.get(&rowid).copied();
        let chat = chat_id.and_then(|c| chats.get(&c));
        let conversation = match chat {
            Some(c) => Conversation {
                id: c.guid.clone(),
                name: Some(c.name.clone()),
            },
            None => {
                let id = handle.clone().unwrap_or_else(|| "unknown".to_owned());
                Conversation {
                    id: id.clone(),
                    name: Some(id),
                }
            }
        };
        let mut participants = vec![owner.clone()];
        for h in chat_id.and_then(|c| members.get(&c)).into_iter().flatten() {
            if let Some(id) = handles.get(h) {
                participants.push(Person {
                    name: id.clone(),
                    handle: Some(id.clone()),
                    is_owner: false,
                });
            }
        }
        let guid = text_of(&row[1]).filter(|g| !g.is_empty());
        if let Some(list) = guid.as_ref().and_then(|g| tapbacks.by_target.get(g))
            && !list.is_empty()
        {
            let text: Vec<String> = list.iter().map(|(w, r)| format!("{r} by {w}")).collect();
            metadata.insert("tapbacks".to_owned(), text.join("; "));
        }
        if let Some(service) = text_of(&row[7]).or_else(|| chat.and_then(|c| c.service.clone())) {
            metadata.insert("service".to_owned(), service);
        }
        if let Some(style) = chat.and_then(|c| c.style) {
            metadata.insert(
                "chat".to_owned(),
                if style == 43 { "group" } else { "direct" }.to_owned(),
            );
        }
        if let Some(edited) = int_of(&row[12]).and_then(apple_date) {
            metadata.insert(
                "edited".to_owned(),
                edited.with_timezone(&ctx.tz).to_rfc3339(),
            );
        }
        if int_of(&row[14]) == Some(1) {
            metadata.insert("audio_message".to_owned(), "true".to_owned());
        }
        if let Some(subject) = text_of(&row[15]).filter(|s| !s.is_empty()) {
            metadata.insert("subject".to_owned(), subject);
        }
        let pending = files
            .into_iter()
            .map(|a| {
                let entry = a.filename.as_deref().and_then(|f| {
                    let rel = f
                        .split_once("/Messages/")
                        .map(|(_, r)| r)
                        .unwrap_or_else(|| f.trim_start_matches("~/"));
                    let path = if dir.is_empty() {
                        rel.to_owned()
                    } else {
                        format!("{dir}/{rel}")
                    };
                    input.entry(&path).map(|e| e.path.clone())
                });
                PendingAttachment {
                    name: a.name,
                    mime: a.mime,
                    entry,
                    data: None,
                }
            })
            .collect();
        let record = RecordData {
            source: NAME.into(),
            kind: Kind::Message,
            occurred_at: instant.with_timezone(&ctx.tz).fixed_offset(),
            offset_assumed: true,
            external_id: Some(guid.unwrap_or_else(|| format!("rowid:{rowid}"))),
            author: Some(author),
            participants,
            conversation: Some(conversation),
            text: body,
            reply_to: text_of(&row[10]).filter(|g| !g.is_empty()),
            attachments: Vec::new(),
            metadata,
        };
        sink.record(Parsed { record, pending })?;
    }
    Ok(())
}

impl Format for IMessage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "iMessage/SMS history: macOS chat.db (the file, or a copy of ~/Library/Messages with Attachments/)"
    }

    fn detect(&self, input: &Input) -> u8 {
        let mut best = 0;
        for (entry, path) in candidates(input) {
            let named = entry.to_ascii_lowercase().ends_with("chat.db");
            let score = match path {
                Some(path) => match open(&path) {
                    Ok(conn) if is_chat_db(&conn) => 95,
                    Ok(_) => 0,
                    // Unopenable (locked, WAL without its files): parse explains.
                    Err(_) if named => 60,
                    Err(_) => 0,
                },
                // Inside a zip: claim it so that the import can explain what to do.
                None if named => 60,
                None => 0,
            };
            best = best.max(score);
        }
        best
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let candidates = candidates(input);
        if candidates.is_empty() {
            return Err(not_this(
                input,
                "no SQLite database (chat.db from ~/Library/Messages)".into(),
            ));
        }
        let mut reasons = Vec::new();
        for (entry, path) in candidates {
            let Some(path) = path else {
                return Err(not_this(
                    input,
                    format!(
                        "{entry} is a SQLite database inside an archive, which cannot be opened in place; extract it and import the chat.db file itself (or the Messages folder)"
                    ),
                ));
            };
            let conn = match open(&path) {
                Ok(conn) => conn,
                Err(e) => {
                    reasons.push(format!("{entry}: cannot open read-only: {e}"));
                    continue;
                }
            };
            if !is_chat_db(&conn) {
                reasons.push(format!(
                    "{entry}: no message, handle, chat and chat_message_join tables"
                ));
                continue;
            }
            return parse_db(input, &entry, &conn, ctx, sink);
        }
        Err(not_this(input, reasons.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `attributedBody` as macOS writes it for `text` (abridged after the string).
    fn blob(text: &str) -> Vec<u8> {
        let mut b = b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+".to_vec();
        let len = text.len();
        if len < 0x80 {
            b.push(len as u8);
        } else {
            b.push(0x81);
            b.extend((len as u16).to_le_bytes());
        }
        b.extend(text.as_bytes());
        b.extend(
            b"\x86\x84\x02iI\x01\x0a\x92\x84\x84\x84\x0cNSDictionary\x00\x94\x84\x01i\x01\x86\x86",
        );
        b
    }

    #[test]
    fn typedstream_strings_short_and_long() {
        assert_eq!(
            typedstream_text(&blob("Noter test")).as_deref(),
            Some("Noter test")
        );
        let long = "é".repeat(200);
        assert_eq!(
            typedstream_text(&blob(&long)).as_deref(),
            Some(long.as_str())
        );
        assert_eq!(typedstream_text(b"bplist00"), None);
        let mut cut = blob("cut short");
        cut.truncate(cut.len() - 40);
        assert_eq!(typedstream_text(&cut), None);
    }

    #[test]
    fn dates_in_seconds_and_nanoseconds() {
        let ns = apple_date(764_000_000_000_000_000).map(|t| t.to_rfc3339());
        let s = apple_date(764_000_000).map(|t| t.to_rfc3339());
        assert_eq!(ns, s);
        assert_eq!(s.as_deref(), Some("2025-03-18T14:13:20+00:00"));
        assert_eq!(apple_date(0), None);
        let _ = apple_date(i64::MIN);
    }

    #[test]
    fn tapback_targets() {
        assert_eq!(tapback_target("p:0/ABC-1"), "ABC-1");
        assert_eq!(tapback_target("bp:ABC-2"), "ABC-2");
        assert_eq!(tapback_name(2001), "Liked");
        assert_eq!(tapback_name(3000), "Loved");
    }
}

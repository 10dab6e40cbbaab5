//! Discord data packages ("Request all of my data"), as the downloaded `.zip` or its folder.
//!
//! ```text
//! messages/index.json                     {"<channel id>": "route-setting in Bloco Alcântara", ...}
//! messages/c<channel id>/channel.json     {"id", "type", "name", "guild": {"id", "name"}, "recipients"}
//! messages/c<channel id>/messages.json    [{"ID": 1378810973380411432, "Timestamp", "Contents", "Attachments"}]
//! messages/c<channel id>/messages.csv     ID,Timestamp,Contents,Attachments   (older packages)
//! account/user.json                       {"id", "username", "global_name", ...}
//! ```
//!
//! Traps, and what this parser does about them:
//!
//! - **Folder names are translated and capitalised** in packages from 2025 on (`Messages/`,
//!   `Nachrichten/`...), so channels are found by content: any folder holding a `channel.json`
//!   beside a `messages.json` or `messages.csv`. `index.json` (channel names) is looked up in
//!   the folder above, whatever it is called.
//! - **`ID` is a JSON number above 2^53.** It is read as a `u64` (serde_json keeps integers that
//!   fit exactly), never through `f64`. A package whose CSV went through a spreadsheet has ids
//!   like `7.73264E+18`; such a message is still imported, keyed by a hash of its time and text,
//!   and marked `id_lost`.
//! - **`Timestamp` is UTC** (`2025-06-01 19:02:33.123000+00:00`; older packages without the
//!   offset or fraction). The instant is exact; it is shown in the `--tz` zone's offset at that
//!   instant, and `offset_assumed` says the offset was not in the export.
//! - **Only the owner's own messages are in the package**, so every message's author is the owner
//!   (`is_owner`), named from `account/user.json` when present, else from `--me`, else `me`.
//! - **`Attachments` are space-separated CDN URLs that expire** and cannot be downloaded: each is
//!   kept as an attachment name (no bytes) and the URLs in the `attachment_urls` metadata.
//! - Channel `type` is a string (`DM`, `GROUP_DM`, `GUILD_TEXT`, `PUBLIC_THREAD`...) or, in older
//!   packages, Discord's integer (`0`, `1`...), normalised to the string.
//! - `account/user.json` can exceed 100 MB: it is streamed and only the names are kept.
//! - DiscordChatExporter's JSON (a third-party format with `messages[].author`) is not this
//!   format and is not claimed.

use std::collections::{BTreeMap, HashMap};
use std::io::BufReader;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use serde::Deserialize;
use serde_json::Value;

use super::short_hash;
use crate::input::Input;
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// The Discord data package format.
pub struct Discord;

const NAME: &str = "discord";
/// Largest `messages.json` / `messages.csv` read.
const MAX_MESSAGES_FILE: u64 = 1 << 30;
/// Largest `channel.json` / `index.json` read.
const MAX_SMALL_FILE: u64 = 64 << 20;

/// One channel folder: `…/c<id>/` with its files.
#[derive(Debug)]
struct ChannelDir {
    /// The folder's path inside the input (`messages/c123`), empty at the root.
    dir: String,
    /// `channel.json`.
    channel_json: String,
    /// `messages.json` or `messages.csv`.
    messages: String,
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn split_dir(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Channel folders, found by their files rather than by the (translated) folder names.
fn channel_dirs(input: &Input) -> Vec<ChannelDir> {
    let mut out = Vec::new();
    for entry in input.entries() {
        let (dir, name) = split_dir(&entry.path);
        if !name.eq_ignore_ascii_case("channel.json") {
            continue;
        }
        let messages = ["messages.json", "messages.csv"]
            .iter()
            .map(|m| join(dir, m))
            .find(|m| input.entry(m).is_some())
            .or_else(|| {
                // Case variants (`Messages.json`) in hand-made archives.
                input
                    .entries()
                    .iter()
                    .find(|e| {
                        let (d, n) = split_dir(&e.path);
                        d == dir
                            && (n.eq_ignore_ascii_case("messages.json")
                                || n.eq_ignore_ascii_case("messages.csv"))
                    })
                    .map(|e| e.path.clone())
            });
        if let Some(messages) = messages {
            out.push(ChannelDir {
                dir: dir.to_owned(),
                channel_json: entry.path.clone(),
                messages,
            });
        }
    }
    out
}

/// Whether a `channel.json`'s head looks like Discord's: an object with an `id` and a `type`.
fn looks_like_channel(input: &Input, path: &str) -> bool {
    let head = text::decode_utf8(&input.sniff(path, 4096));
    let head = head.trim_start();
    head.starts_with('{') && head.contains("\"id\"") && head.contains("\"type\"")
}

/// Whether a messages file's head looks like a Discord package's.
fn looks_like_messages(input: &Input, path: &str) -> bool {
    let head = text::decode_utf8(&input.sniff(path, 4096));
    let head = head.trim_start();
    if path.to_ascii_lowercase().ends_with(".csv") {
        head.starts_with("ID,Timestamp,Contents")
    } else {
        head.starts_with('[')
            && (head.contains("\"Timestamp\"") || head[1..].trim().starts_with(']'))
    }
}

/// Channel type names by Discord's integer.
fn channel_type(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(
            match n.as_u64()? {
                0 => "GUILD_TEXT",
                1 => "DM",
                2 => "GUILD_VOICE",
                3 => "GROUP_DM",
                4 => "GUILD_CATEGORY",
                5 => "GUILD_ANNOUNCEMENT",
                10 => "ANNOUNCEMENT_THREAD",
                11 => "PUBLIC_THREAD",
                12 => "PRIVATE_THREAD",
                13 => "GUILD_STAGE_VOICE",
                14 => "GUILD_DIRECTORY",
                15 => "GUILD_FORUM",
                16 => "GUILD_MEDIA",
                other => return Some(other.to_string()),
            }
            .to_owned(),
        ),
        _ => None,
    }
}

/// An id that may be a JSON number (exact as u64) or a string.
fn id_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// What a channel folder tells about its channel.
struct ChannelInfo {
    id: String,
    name: String,
    kind: Option<String>,
    guild: Option<String>,
    recipients: Vec<String>,
}

fn read_json(input: &Input, path: &str, max: u64) -> Result<Value, String> {
    let bytes = input.read(path, max).map_err(|e| e.to_string())?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))
}

/// `index.json` beside the channel folders: channel id → display name.
fn read_index(input: &Input, parent: &str) -> HashMap<String, String> {
    let path = join(parent, "index.json");
    let path = if input.entry(&path).is_some() {
        path
    } else {
        match input.entries().iter().find(|e| {
            let (d, n) = split_dir(&e.path);
            d == parent && n.eq_ignore_ascii_case("index.json")
        }) {
            Some(e) => e.path.clone(),
            None => return HashMap::new(),
        }
    };
    match read_json(input, &path, MAX_SMALL_FILE) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => HashMap::new(),
    }
}

fn channel_info(
    input: &Input,
    channel: &ChannelDir,
    index: &HashMap<String, String>,
) -> Result<ChannelInfo, String> {
    let value = read_json(input, &channel.channel_json, MAX_SMALL_FILE)?;
    let Value::Object(obj) = value else {
        return Err("channel.json is not a JSON object".into());
    };
    let folder = channel.dir.rsplit('/').next().unwrap_or(&channel.dir);
    let from_folder = folder
        .strip_prefix('c')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned);
    let id = id_string(obj.get("id"))
        .or(from_folder)
        .ok_or("channel.json has no id")?;
    let guild = obj
        .get("guild")
        .and_then(|g| g.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let own_name = obj.get("name").and_then(Value::as_str).map(str::to_owned);
    let kind = channel_type(obj.get("type"));
    let recipients: Vec<String> = obj
        .get("recipients")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(|v| id_string(Some(v))).collect())
        .unwrap_or_default();
    let name = index
        .get(&id)
        .cloned()
        .unwrap_or_else(|| match (&own_name, &guild) {
            (Some(n), Some(g)) => format!("{n} in {g}"),
            (Some(n), None) => n.clone(),
            (None, _) => format!("Direct Message {id}"),
        });
    Ok(ChannelInfo {
        id,
        name,
        kind,
        guild,
        recipients,
    })
}

/// The owner as the package names them.
#[derive(Deserialize)]
struct User {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    global_name: Option<String>,
}

fn owner(input: &Input, ctx: &Context) -> Person {
    let user_json = input
        .entries()
        .iter()
        .find(|e| {
            let lower = e.path.to_ascii_lowercase();
            lower == "account/user.json" || lower.ends_with("/account/user.json")
        })
        .map(|e| e.path.clone());
    // Streamed: the file can be very large, and only two fields are wanted.
    let user: Option<User> = user_json.and_then(|path| {
        input
            .with_reader(&path, |r| {
                Ok(serde_json::from_reader::<_, User>(BufReader::new(r)).ok())
            })
            .ok()
            .flatten()
    });
    let username = user
        .as_ref()
        .and_then(|u| u.username.clone())
        .filter(|s| !s.is_empty());
    let display = user
        .as_ref()
        .and_then(|u| u.global_name.clone())
        .filter(|s| !s.is_empty());
    let name = display
        .or_else(|| username.clone())
        .or_else(|| ctx.me.first().cloned())
        .unwrap_or_else(|| "me".to_owned());
    Person {
        name,
        handle: username,
        is_owner: true,
    }
}

/// Parses Discord's `Timestamp` (UTC).
fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f%:z")
        .or_else(|_| DateTime::parse_from_rfc3339(raw))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f"))
                .ok()
                .map(|n| n.and_utc())
        })
}

fn attachment(name: String, mime: Option<String>) -> PendingAttachment {
    PendingAttachment {
        name,
        mime,
        entry: None,
        data: None,
    }
}

fn mime_for(name: &str) -> Option<String> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(
        match ext.as_str() {
            "jpg" | "jpeg" => "image/jpeg",
            "png" => "image/png",
            "gif" => "image/gif",
            "webp" => "image/webp",
            "mp4" => "video/mp4",
            "mov" => "video/quicktime",
            "webm" => "video/webm",
            "mp3" => "audio/mpeg",
            "ogg" => "audio/ogg",
            "pdf" => "application/pdf",
            "txt" => "text/plain",
            _ => return None,
        }
        .to_owned(),
    )
}

/// A file name for a CDN URL: its last path segment, without the query.
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(path)
        .to_owned()
}

/// One message as read from JSON or CSV, before it becomes a record.
struct Raw {
    id: Option<String>,
    raw_id: String,
    timestamp: String,
    contents: String,
    attachments: String,
}

struct Channel<'a> {
    info: &'a ChannelInfo,
    owner: &'a Person,
    tz: chrono_tz::Tz,
}

fn emit(
    channel: &Channel<'_>,
    raw: Raw,
    location: String,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let Some(instant) = parse_timestamp(&raw.timestamp) else {
        sink.skip(
            location,
            format!("unreadable Timestamp {:?}", raw.timestamp),
        );
        return Ok(());
    };
    let occurred_at: DateTime<FixedOffset> = instant.with_timezone(&channel.tz).fixed_offset();
    let urls: Vec<&str> = raw.attachments.split_whitespace().collect();
    let contents = raw.contents.replace("\r\n", "\n");
    if contents.trim().is_empty() && urls.is_empty() {
        // Stickers, embeds and calls leave nothing in the package.
        sink.ignore();
        return Ok(());
    }
    let mut metadata = BTreeMap::new();
    let external_id = match raw.id {
        Some(id) => id,
        None => {
            metadata.insert("id_lost".to_owned(), raw.raw_id.clone());
            format!(
                "h:{}",
                short_hash(&format!("{}|{}", instant.to_rfc3339(), contents))
            )
        }
    };
    if let Some(kind) = &channel.info.kind {
        metadata.insert("channel_type".to_owned(), kind.clone());
    }
    if let Some(guild) = &channel.info.guild {
        metadata.insert("guild".to_owned(), guild.clone());
    }
    if !channel.info.recipients.is_empty() {
        metadata.insert("recipients".to_owned(), channel.info.recipients.join(", "));
    }
    if !urls.is_empty() {
        metadata.insert("attachment_urls".to_owned(), urls.join("\n"));
    }
    let pending = urls
        .iter()
        .map(|u| {
            let name = url_file_name(u);
            let mime = mime_for(&name);
            attachment(name, mime)
        })
        .collect();
    let record = RecordData {
        source: NAME.into(),
        kind: Kind::Message,
        occurred_at,
        offset_assumed: true,
        external_id: Some(external_id),
        author: Some(channel.owner.clone()),
        participants: vec![channel.owner.clone()],
        conversation: Some(Conversation {
            id: channel.info.id.clone(),
            name: Some(channel.info.name.clone()),
        }),
        text: contents,
        reply_to: None,
        attachments: Vec::new(),
        metadata,
    };
    sink.record(Parsed { record, pending })
}

fn field_string(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some(String::new()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_json_messages(
    input: &Input,
    path: &str,
    channel: &Channel<'_>,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(path);
    let value = match read_json(input, path, MAX_MESSAGES_FILE) {
        Ok(v) => v,
        Err(reason) => {
            sink.skip(location, reason);
            return Ok(());
        }
    };
    let Value::Array(items) = value else {
        sink.skip(location, "messages.json is not a JSON array".into());
        return Ok(());
    };
    for (i, item) in items.into_iter().enumerate() {
        let here = format!("{location}:[{i}]");
        let Value::Object(obj) = item else {
            sink.skip(here, "message is not a JSON object".into());
            continue;
        };
        let raw_id = match obj.get("ID") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let id = id_string(obj.get("ID")).filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
        let Some(timestamp) = field_string(&obj, "Timestamp") else {
            sink.skip(here, "message has no Timestamp".into());
            continue;
        };
        let raw = Raw {
            id,
            raw_id,
            timestamp,
            contents: field_string(&obj, "Contents").unwrap_or_default(),
            attachments: field_string(&obj, "Attachments").unwrap_or_default(),
        };
        emit(channel, raw, here, sink)?;
    }
    Ok(())
}

fn parse_csv_messages(
    input: &Input,
    path: &str,
    channel: &Channel<'_>,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(path);
    let bytes = match input.read(path, MAX_MESSAGES_FILE) {
        Ok(b) => b,
        Err(e) => {
            sink.skip(location, e.to_string());
            return Ok(());
        }
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            sink.skip(location, format!("unreadable CSV header: {e}"));
            return Ok(());
        }
    };
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| String::from_utf8_lossy(h).trim().eq_ignore_ascii_case(name))
    };
    let (Some(id_col), Some(ts_col)) = (column("ID"), column("Timestamp")) else {
        sink.skip(location, "CSV has no ID and Timestamp columns".into());
        return Ok(());
    };
    let contents_col = column("Contents");
    let attachments_col = column("Attachments");
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                sink.skip(
                    format!("{location}:{line}"),
                    format!("unreadable CSV row: {e}"),
                );
                // A broken row may leave the reader stuck; stop reading this file.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(line);
        let get = |col: Option<usize>| {
            col.and_then(|c| record.get(c))
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let raw_id = get(Some(id_col)).trim().to_owned();
        let id = (!raw_id.is_empty() && raw_id.bytes().all(|b| b.is_ascii_digit()))
            .then(|| raw_id.clone());
        let raw = Raw {
            id,
            raw_id,
            timestamp: get(Some(ts_col)),
            contents: get(contents_col),
            attachments: get(attachments_col),
        };
        emit(channel, raw, format!("{location}:{line}"), sink)?;
    }
    Ok(())
}

impl Format for Discord {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Discord data package: messages/c<id>/channel.json + messages.json or messages.csv (any folder language), zip or folder"
    }

    fn detect(&self, input: &Input) -> u8 {
        let channels = channel_dirs(input);
        let mut best = 0;
        for channel in channels.iter().take(20) {
            if !looks_like_channel(input, &channel.channel_json) {
                continue;
            }
            if !looks_like_messages(input, &channel.messages) {
                best = best.max(40);
                continue;
            }
            let folder = channel.dir.rsplit('/').next().unwrap_or(&channel.dir);
            let numbered = folder
                .strip_prefix('c')
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            best = best.max(if numbered { 95 } else { 85 });
        }
        best
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let channels = channel_dirs(input);
        if channels.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: NAME,
                location: input.origin().display().to_string(),
                reason: "no channel folder with channel.json and messages.json or messages.csv"
                    .into(),
            });
        }
        let owner = owner(input, ctx);
        let mut indexes: HashMap<String, HashMap<String, String>> = HashMap::new();
        for channel in &channels {
            let parent = split_dir(&channel.dir).0.to_owned();
            let index = indexes
                .entry(parent.clone())
                .or_insert_with(|| read_index(input, &parent));
            let info = match channel_info(input, channel, index) {
                Ok(info) => info,
                Err(reason) => {
                    sink.skip(input.location(&channel.channel_json), reason);
                    continue;
                }
            };
            let ch = Channel {
                info: &info,
                owner: &owner,
                tz: ctx.tz,
            };
            if channel.messages.to_ascii_lowercase().ends_with(".csv") {
                parse_csv_messages(input, &channel.messages, &ch, sink)?;
            } else {
                parse_json_messages(input, &channel.messages, &ch, sink)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_old_and_new_packages() {
        let t = parse_timestamp("2025-06-01 19:02:33.123000+00:00").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2025-06-01T19:02:33.123+00:00"));
        let t = parse_timestamp("2020-01-01 12:00:00").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2020-01-01T12:00:00+00:00"));
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn big_ids_stay_exact() {
        let v: Value = serde_json::from_str(r#"{"ID": 1503844502392012846}"#).unwrap_or_default();
        assert_eq!(
            id_string(v.get("ID")).as_deref(),
            Some("1503844502392012846")
        );
        let v: Value = serde_json::from_str(r#"{"ID": 7.73264E+18}"#).unwrap_or_default();
        assert_eq!(id_string(v.get("ID")), None);
    }

    #[test]
    fn cdn_urls_become_file_names() {
        assert_eq!(
            url_file_name(
                "https://cdn.discordapp.com/attachments/1/2/IMG_3310.jpg?ex=68d9&is=1&hm=2&"
            ),
            "IMG_3310.jpg"
        );
        assert_eq!(
            channel_type(Some(&Value::from(0))).as_deref(),
            Some("GUILD_TEXT")
        );
    }
}

//! Telegram Desktop's JSON export ("Export chat history" or "Export Telegram data", machine
//! readable JSON): a `result.json`, alone, in its folder with `photos/`, `files/`, ..., or in a
//! `.zip` of that folder.
//!
//! Two shapes:
//!
//! ```text
//! {"name": "Noor", "type": "personal_chat", "id": 4829301755, "messages": [ ... ]}
//! {"about": "...", "personal_information": {"user_id": 5120938847, ...},
//!  "chats": {"about": "...", "list": [ {"name": ..., "id": ..., "messages": [ ... ]}, ... ]},
//!  "left_chats": {"list": [ ... ]}}
//! ```
//!
//! Each message has an `id` (unique within its chat, growing with gaps), a `type` (`message`,
//! or `service` for calls, pins, joins: those are counted and not imported), `from`/`from_id`
//! (`user123`, `channel456`; `from` is `null` for deleted accounts), `date` (the exporting
//! computer's wall clock, no zone) and, since 2022, `date_unixtime` (a UTC epoch as a string).
//!
//! Traps handled here:
//!
//! - **`text` is a string or a mixed array** of strings and `{type, text}` entities; newer exports
//!   also carry `text_entities` (always an array), which is preferred. Some recent exports put
//!   the body in `rich_message` instead; its strings are collected as a last resort.
//! - **Time:** `date_unixtime` is the truth (an exact instant, shown in the `--tz` offset);
//!   without it `date` is read as wall-clock time in `--tz`. Either way the offset is not the
//!   export's, so it is marked assumed (see [`time`](crate::time) for the rule).
//! - **Media:** `photo` and `file` are paths relative to `result.json`'s folder, or the literal
//!   `(File not included. Change data exporting settings to download.)` (or `(File exceeds
//!   maximum size. ...)`); either way the record
//!   keeps the attachment's name, and the file is stored when the export has it.
//! - **Replies** (`reply_to_message_id`) point into the same chat: the source id of every message
//!   is `<chat id>:<message id>`, and `reply_to` uses the same form.
//! - Edits (`edited_unixtime`), forwards (`forwarded_from`), reactions, stickers, locations and
//!   polls go into metadata.
//! - **The owner** is the `personal_information.user_id` of a full export (looked up first, so
//!   its place in the file does not matter); single-chat exports do not say who exported them,
//!   so `--me` marks the owner.
//!
//! Files can be hundreds of megabytes: the file is read as a stream and each message is
//! deserialized on its own, so memory holds one message at a time. A message that cannot be read
//! is reported with its JSON path (`$.chats.list[3].messages[12]`); a syntax error stops the
//! file there, keeping what was read before it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufReader;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::meta::{attachment, mime_from_name};
use crate::input::Input;
use crate::time::{from_epoch_seconds, localize};
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// The Telegram Desktop JSON format.
pub struct Telegram;

const NAME: &str = "telegram";
const SNIFF: usize = 16 * 1024;

impl Format for Telegram {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Telegram Desktop export (machine-readable JSON): result.json of one chat or of all data, alone, in its folder or zipped"
    }

    fn detect(&self, input: &Input) -> u8 {
        candidates(input)
            .iter()
            .map(|(path, score)| {
                let name_bonus = if path.rsplit('/').next() == Some("result.json") {
                    5
                } else {
                    0
                };
                score + name_bonus
            })
            .max()
            .unwrap_or(0)
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let files = candidates(input);
        if files.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: NAME,
                location: input.origin().display().to_string(),
                reason: "no JSON file with Telegram's chat fields (messages with text_entities, date_unixtime or from_id)".into(),
            });
        }
        let many = files.len() > 1;
        let mut read_any = false;
        let mut first_refusal = None;
        for (path, _) in files {
            match parse_file(input, &path, ctx, sink) {
                Ok(()) => read_any = true,
                Err(err @ ConnectorError::NotThisFormat { .. }) if many => {
                    sink.skip(input.location(&path), err.to_string());
                    first_refusal.get_or_insert(err);
                }
                Err(err) => return Err(err),
            }
        }
        match (read_any, first_refusal) {
            (false, Some(err)) => Err(err),
            _ => Ok(()),
        }
    }
}

/// JSON entries that look like Telegram exports, with a detection score.
fn candidates(input: &Input) -> Vec<(String, u8)> {
    let mut json: Vec<&crate::input::Entry> = input
        .entries()
        .iter()
        .filter(|e| e.path.to_ascii_lowercase().ends_with(".json"))
        .collect();
    // Look at files named result.json first; a folder of unrelated JSON is not searched
    // without end.
    json.sort_by_key(|e| e.file_name() != "result.json");
    json.into_iter()
        .take(200)
        .filter_map(|e| {
            let score = sniff_score(&text::decode_utf8(&input.sniff(&e.path, SNIFF)));
            (score > 0).then(|| (e.path.clone(), score))
        })
        .collect()
}

/// How much the start of a file looks like a Telegram export.
fn sniff_score(head: &str) -> u8 {
    let head = head.trim_start();
    if !head.starts_with('{') {
        return 0;
    }
    let has = |s: &str| head.contains(s);
    let chat_type = [
        "\"personal_chat\"",
        "\"private_group\"",
        "\"private_supergroup\"",
        "\"public_supergroup\"",
        "\"private_channel\"",
        "\"public_channel\"",
        "\"bot_chat\"",
        "\"saved_messages\"",
    ]
    .iter()
    .any(|t| has(t));
    let messages = has("\"messages\"");
    if messages && (has("\"text_entities\"") || has("\"date_unixtime\"")) {
        90
    } else if has("\"personal_information\"")
        && has("\"user_id\"")
        && (has("\"chats\"") || has("\"contacts\"") || has("\"frequent_contacts\""))
    {
        85
    } else if messages && chat_type && has("\"from_id\"") {
        75
    } else {
        0
    }
}

/// State of one file's parse, shared by the streaming visitors.
struct Run<'a> {
    input: &'a Input,
    ctx: &'a Context,
    sink: &'a mut dyn Sink,
    location: String,
    /// `result.json`'s folder, with a trailing `/` (or empty).
    dir: String,
    /// `from_id` of the owner (`user<personal_information.user_id>`).
    owner: Option<String>,
    /// What stopped the import (the vault failed).
    fatal: Option<ConnectorError>,
    /// A `messages` array or chat list was found.
    found: bool,
    /// JSON path of the element being read, for reports.
    path: String,
}

#[derive(Default)]
struct Chat {
    id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    /// The `name` and `type` keys were read (Telegram writes them, and `id`, before `messages`).
    header_read: (bool, bool),
}

impl Chat {
    fn ready(&self) -> bool {
        self.id.is_some() && self.header_read == (true, true)
    }
}

fn parse_file(
    input: &Input,
    entry: &str,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(entry);
    let dir = entry
        .rsplit_once('/')
        .map(|(d, _)| format!("{d}/"))
        .unwrap_or_default();
    let head = text::decode_utf8(&input.sniff(entry, SNIFF));
    let owner = if head.contains("\"personal_information\"") || head.contains("\"chats\"") {
        find_owner(input, entry)
    } else {
        None
    };
    let mut run = Run {
        input,
        ctx,
        sink,
        location: location.clone(),
        dir,
        owner,
        fatal: None,
        found: false,
        path: "$".into(),
    };
    let result = input.with_reader(entry, |reader| {
        let reader = text::skip_bom(reader).map_err(|source| ConnectorError::Io {
            path: location.clone(),
            source,
        })?;
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, reader));
        Ok(ObjectSeed {
            run: &mut run,
            prefix: "$".into(),
            top: true,
        }
        .deserialize(&mut de))
    })?;
    if let Some(fatal) = run.fatal.take() {
        return Err(fatal);
    }
    match result {
        Ok(()) if run.found => Ok(()),
        Ok(()) => Err(ConnectorError::NotThisFormat {
            format: NAME,
            location,
            reason: "a JSON object without `messages` or `chats`".into(),
        }),
        Err(e) if !run.found => Err(ConnectorError::NotThisFormat {
            format: NAME,
            location,
            reason: format!("not a Telegram export object: {e}"),
        }),
        Err(e) => {
            run.sink.skip(
                format!("{location}:{}", run.path),
                format!("unreadable JSON ({e}); the rest of the file was not imported"),
            );
            Ok(())
        }
    }
}

/// The owner's `from_id` from a full export's `personal_information`, which Telegram writes
/// before `chats` (so this stops almost at once), but which is looked for in the whole file.
fn find_owner(input: &Input, entry: &str) -> Option<String> {
    struct OwnerSeed<'o>(&'o mut Option<String>);

    impl<'de> Visitor<'de> for OwnerSeed<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Telegram export object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "personal_information" {
                    let info = map.next_value::<Value>()?;
                    *self.0 = info
                        .get("user_id")
                        .and_then(id_string)
                        .map(|id| format!("user{id}"));
                    // Found: the rest of the file need not be read.
                    return Err(A::Error::custom("found"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    let mut owner = None;
    let _ = input.with_reader(entry, |reader| {
        let reader = text::skip_bom(reader).map_err(|source| ConnectorError::Io {
            path: input.location(entry),
            source,
        })?;
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, reader));
        let _ = serde::Deserializer::deserialize_map(&mut de, OwnerSeed(&mut owner));
        Ok(())
    });
    owner
}

/// A chat object, or the top-level object (a single chat, or a full export).
struct ObjectSeed<'r, 'a> {
    run: &'r mut Run<'a>,
    prefix: String,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Telegram chat object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let run = self.run;
        let mut chat = Chat::default();
        // Messages seen before the chat's id, name and type (not the order Telegram writes them
        // in) wait for the end of the chat.
        let mut waiting: Vec<(String, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => chat.id = id_string(&map.next_value::<Value>()?),
                "name" => {
                    chat.name = map.next_value::<Value>()?.as_str().map(str::to_owned);
                    chat.header_read.0 = true;
                }
                "type" => {
                    chat.kind = map.next_value::<Value>()?.as_str().map(str::to_owned);
                    chat.header_read.1 = true;
                }
                "messages" => {
                    map.next_value_seed(MessagesSeed {
                        run: &mut *run,
                        chat: &chat,
                        prefix: format!("{}.messages", self.prefix),
                        waiting: &mut waiting,
                    })?;
                }
                "chats" | "left_chats" if self.top => {
                    map.next_value_seed(ChatListSeed {
                        run: &mut *run,
                        prefix: format!("$.{key}"),
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (path, message) in waiting {
            run.message(&chat, &path, message)
                .map_err(|()| A::Error::custom("import stopped"))?;
        }
        Ok(())
    }
}

/// `{"about": ..., "list": [chat, ...]}`.
struct ChatListSeed<'r, 'a> {
    run: &'r mut Run<'a>,
    prefix: String,
}

impl<'de> DeserializeSeed<'de> for ChatListSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChatListSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Telegram's list of chats")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "list" {
                map.next_value_seed(ChatsSeed {
                    run: &mut *self.run,
                    prefix: format!("{}.list", self.prefix),
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ChatsSeed<'r, 'a> {
    run: &'r mut Run<'a>,
    prefix: String,
}

impl<'de> DeserializeSeed<'de> for ChatsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChatsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of Telegram chats")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.run.found = true;
        let mut index = 0usize;
        loop {
            let prefix = format!("{}[{index}]", self.prefix);
            self.run.path.clone_from(&prefix);
            let seed = ObjectSeed {
                run: &mut *self.run,
                prefix,
                top: false,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }
}

struct MessagesSeed<'r, 'a, 'c> {
    run: &'r mut Run<'a>,
    chat: &'c Chat,
    prefix: String,
    waiting: &'c mut Vec<(String, Value)>,
}

impl<'de> DeserializeSeed<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of Telegram messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.run.found = true;
        let mut index = 0usize;
        loop {
            let path = format!("{}[{index}]", self.prefix);
            self.run.path.clone_from(&path);
            let Some(message) = seq.next_element::<Value>()? else {
                return Ok(());
            };
            index += 1;
            if !self.chat.ready() {
                self.waiting.push((path, message));
                continue;
            }
            self.run
                .message(self.chat, &path, message)
                .map_err(|()| A::Error::custom("import stopped"))?;
        }
    }
}

/// What one message element turned into.
enum Outcome {
    Record(Box<Parsed>),
    Ignored,
}

impl Run<'_> {
    /// Sends one message to the sink; `Err` only when the sink failed (kept in `fatal`).
    fn message(&mut self, chat: &Chat, path: &str, message: Value) -> Result<(), ()> {
        match self.convert(chat, &message) {
            Ok(Outcome::Record(parsed)) => {
                if let Err(e) = self.sink.record(*parsed) {
                    self.fatal = Some(e);
                    return Err(());
                }
            }
            Ok(Outcome::Ignored) => self.sink.ignore(),
            Err(reason) => self.sink.skip(format!("{}:{path}", self.location), reason),
        }
        Ok(())
    }

    fn convert(&self, chat: &Chat, message: &Value) -> Result<Outcome, String> {
        let obj = message
            .as_object()
            .ok_or_else(|| "a message that is not a JSON object".to_owned())?;
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("message");
        if kind != "message" {
            // Service messages (calls, pins, joins, title changes) are not messages anyone wrote.
            return Ok(Outcome::Ignored);
        }
        let chat_id = chat
            .id
            .clone()
            .ok_or_else(|| "a message in a chat without an id".to_owned())?;
        let id = obj
            .get("id")
            .and_then(id_string)
            .ok_or_else(|| "a message without an id".to_owned())?;
        let (occurred_at, offset_assumed) = message_time(obj, self.ctx)?;
        let mut metadata = BTreeMap::new();
        if offset_assumed {
            if let Some(raw) = obj.get("date").and_then(Value::as_str) {
                metadata.insert("time_raw".to_owned(), raw.to_owned());
            }
            metadata.insert(
                "time_zone_assumed".to_owned(),
                self.ctx.tz.name().to_owned(),
            );
        }

        let from_id = obj.get("from_id").and_then(id_string);
        let name = obj
            .get("from")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| from_id.clone())
            .or_else(|| obj.get("author").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| chat.name.clone())
            .unwrap_or_else(|| "Deleted Account".to_owned());
        let author = Person {
            name,
            is_owner: from_id.is_some() && from_id == self.owner,
            handle: from_id,
        };

        let (body, links) = message_text(obj);
        if !links.is_empty() {
            metadata.insert("links".to_owned(), links.join("\n"));
        }
        let reply_to = obj
            .get("reply_to_message_id")
            .and_then(id_string)
            .map(|target| format!("{chat_id}:{target}"));
        if let Some(peer) = obj.get("reply_to_peer_id").and_then(id_string) {
            metadata.insert("reply_to_peer".to_owned(), peer);
        }
        if let Some(edited) = edited_time(obj, self.ctx) {
            metadata.insert("edited".to_owned(), edited);
        }
        for key in ["forwarded_from", "saved_from", "via_bot", "author"] {
            match obj.get(key) {
                Some(Value::String(s)) => {
                    metadata.insert(key.to_owned(), s.clone());
                }
                // A forward from a hidden account is written as null.
                Some(Value::Null) if key == "forwarded_from" => {
                    metadata.insert(key.to_owned(), "(hidden)".to_owned());
                }
                _ => {}
            }
        }
        if let Some(reactions) = obj.get("reactions").and_then(reactions) {
            metadata.insert("reactions".to_owned(), reactions);
        }
        for key in ["sticker_emoji", "media_type", "mime_type"] {
            if let Some(v) = obj.get(key).and_then(Value::as_str) {
                metadata.insert(key.to_owned(), v.to_owned());
            }
        }
        if let Some(d) = obj.get("duration_seconds").and_then(Value::as_u64) {
            metadata.insert("duration_seconds".to_owned(), d.to_string());
        }
        let location = obj.get("location_information");
        let coordinate = |key: &str| location.and_then(|l| l.get(key)).and_then(Value::as_f64);
        if let (Some(lat), Some(lon)) = (coordinate("latitude"), coordinate("longitude")) {
            metadata.insert("location".to_owned(), format!("{lat},{lon}"));
        }
        if let Some(question) = obj
            .get("poll")
            .and_then(|p| p.get("question"))
            .and_then(Value::as_str)
        {
            metadata.insert("poll".to_owned(), question.to_owned());
        }
        let pending = self.media(obj, &mut metadata);

        let conversation_kind = chat.kind.as_deref().unwrap_or("");
        let record = RecordData {
            source: NAME.into(),
            kind: if conversation_kind.ends_with("_channel") {
                Kind::Post
            } else {
                Kind::Message
            },
            occurred_at,
            offset_assumed,
            external_id: Some(format!("{chat_id}:{id}")),
            author: Some(author),
            participants: Vec::new(),
            conversation: Some(Conversation {
                id: chat_id,
                name: chat.name.clone().or_else(|| {
                    (conversation_kind == "saved_messages").then(|| "Saved Messages".to_owned())
                }),
            }),
            text: body,
            reply_to,
            attachments: Vec::new(),
            metadata,
        };
        Ok(Outcome::Record(Box::new(Parsed { record, pending })))
    }

    /// `photo` and `file`: paths relative to `result.json`, or the "not included" placeholder.
    fn media(
        &self,
        obj: &serde_json::Map<String, Value>,
        metadata: &mut BTreeMap<String, String>,
    ) -> Vec<PendingAttachment> {
        let mut pending = Vec::new();
        for key in ["photo", "file"] {
            let Some(path) = obj.get(key).and_then(Value::as_str) else {
                continue;
            };
            let declared_name = obj.get("file_name").and_then(Value::as_str);
            let mime = obj
                .get("mime_type")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| mime_from_name(declared_name.unwrap_or(path)).map(str::to_owned));
            // "(File not included. Change data exporting settings to download.)", "(File
            // exceeds maximum size. ...)": the export has no file, only its name.
            let placeholder = path.starts_with("(File ") && path.ends_with(')');
            if placeholder || path.is_empty() {
                metadata.insert("media_not_included".to_owned(), "true".to_owned());
                let name = match (key, declared_name) {
                    (_, Some(name)) => name.to_owned(),
                    ("photo", None) => "photo.jpg".to_owned(),
                    _ => "file".to_owned(),
                };
                pending.push(attachment(name, mime, None));
            } else {
                let name = declared_name
                    .filter(|_| key == "file")
                    .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path))
                    .to_owned();
                let clean = path.trim_start_matches("./");
                let entry = if self.input.is_single_file() {
                    None
                } else {
                    Some(format!("{}{clean}", self.dir))
                };
                pending.push(attachment(name, mime, entry));
            }
            if key == "photo" {
                metadata
                    .entry("media_type".to_owned())
                    .or_insert_with(|| "photo".to_owned());
            }
        }
        pending
    }
}

/// Ids are numbers in the export, but strings are accepted too.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn epoch(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()
}

/// `date_unixtime` (UTC) when present, else `date` read in `--tz` (assumed).
fn message_time(
    obj: &serde_json::Map<String, Value>,
    ctx: &Context,
) -> Result<(DateTime<FixedOffset>, bool), String> {
    if let Some(secs) = obj.get("date_unixtime").and_then(epoch) {
        // An exact instant; its offset is --tz's, not the export's.
        return from_epoch_seconds(secs, ctx.tz)
            .map(|t| (t, true))
            .ok_or_else(|| format!("date_unixtime {secs} is out of range"));
    }
    match obj.get("date") {
        Some(Value::String(s)) => naive(s)
            .map(|n| (localize(n, ctx.tz), true))
            .ok_or_else(|| format!("unreadable date {s:?}")),
        _ => Err("a message without date or date_unixtime".into()),
    }
}

fn edited_time(obj: &serde_json::Map<String, Value>, ctx: &Context) -> Option<String> {
    if let Some(t) = obj
        .get("edited_unixtime")
        .and_then(epoch)
        .and_then(|secs| from_epoch_seconds(secs, ctx.tz))
    {
        return Some(t.to_rfc3339());
    }
    let raw = obj.get("edited").and_then(Value::as_str)?;
    Some(
        naive(raw)
            .map(|n| localize(n, ctx.tz).to_rfc3339())
            .unwrap_or_else(|| raw.to_owned()),
    )
}

/// The message's text and the links in it: `text_entities` first, then `text` (a string or a
/// mixed array), then the strings of `rich_message`.
fn message_text(obj: &serde_json::Map<String, Value>) -> (String, Vec<String>) {
    let mut body = String::new();
    let mut links = Vec::new();
    let mut entity = |e: &Value, body: &mut String| match e {
        Value::String(s) => body.push_str(s),
        Value::Object(o) => {
            let t = o.get("text").and_then(Value::as_str).unwrap_or("");
            body.push_str(t);
            match o.get("type").and_then(Value::as_str) {
                Some("text_link") => {
                    if let Some(href) = o.get("href").and_then(Value::as_str) {
                        links.push(href.to_owned());
                    }
                }
                Some("link") if !t.is_empty() => links.push(t.to_owned()),
                _ => {}
            }
        }
        _ => {}
    };
    match (obj.get("text_entities"), obj.get("text")) {
        (Some(Value::Array(entities)), text) if !entities.is_empty() || text_is_empty(text) => {
            for e in entities {
                entity(e, &mut body);
            }
        }
        (_, Some(Value::String(s))) => body.push_str(s),
        (_, Some(Value::Array(parts))) => {
            for e in parts {
                entity(e, &mut body);
            }
        }
        _ => {
            if let Some(rich) = obj.get("rich_message") {
                collect_strings(rich, &mut body, 0);
            }
        }
    }
    (body, links)
}

fn text_is_empty(text: Option<&Value>) -> bool {
    match text {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// The `text` strings of an unknown structure, in order.
fn collect_strings(v: &Value, out: &mut String, depth: usize) {
    if depth > 32 {
        return;
    }
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            for item in items {
                collect_strings(item, out, depth + 1);
            }
        }
        Value::Object(o) => {
            if let Some(Value::String(s)) = o.get("text") {
                out.push_str(s);
            } else {
                for item in o.values() {
                    collect_strings(item, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// `[{type, count, emoji, recent: [{from}]}]` as `❤ Noor Haddad; 👍 ×3`.
fn reactions(v: &Value) -> Option<String> {
    let items = v.as_array()?;
    let mut out = Vec::new();
    for r in items {
        let emoji = r
            .get("emoji")
            .and_then(Value::as_str)
            .or_else(|| r.get("document_id").and_then(Value::as_str))
            .or_else(|| r.get("type").and_then(Value::as_str))
            .unwrap_or("?");
        let names: Vec<&str> = r
            .get("recent")
            .and_then(Value::as_array)
            .map(|recent| {
                recent
                    .iter()
                    .filter_map(|p| p.get("from").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let count = r.get("count").and_then(Value::as_u64).unwrap_or(0);
        if names.is_empty() || count > names.len() as u64 {
            let mut entry = format!("{emoji} ×{}", count.max(names.len() as u64));
            if !names.is_empty() {
                entry.push_str(&format!(" ({})", names.join(", ")));
            }
            out.push(entry);
        } else {
            out.extend(names.iter().map(|n| format!("{emoji} {n}")));
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shapes() {
        let v: Value = serde_json::json!({
            "text": ["a ", {"type": "bold", "text": "b"}, " c"],
        });
        let obj = v.as_object().cloned().unwrap_or_default();
        assert_eq!(message_text(&obj).0, "a b c");
        let v: Value = serde_json::json!({
            "text": "x",
            "text_entities": [{"type": "text_link", "text": "here", "href": "https://e.x"}],
        });
        let obj = v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            message_text(&obj),
            ("here".into(), vec!["https://e.x".into()])
        );
        let v: Value = serde_json::json!({"rich_message": {"blocks": [{"text": "rich"}]}});
        let obj = v.as_object().cloned().unwrap_or_default();
        assert_eq!(message_text(&obj).0, "rich");
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_score("[{\"ID\": 1}]"), 0);
        assert_eq!(
            sniff_score("{\"guild\": {}, \"channel\": {}, \"messages\": [{\"author\": {}}]}"),
            0
        );
        assert!(sniff_score("{\"name\": \"A\", \"messages\": [{\"date_unixtime\": \"1\"}]}") > 0);
    }

    #[test]
    fn reaction_summary() {
        let v = serde_json::json!([
            {"type": "emoji", "count": 1, "emoji": "❤", "recent": [{"from": "Noor"}]},
            {"type": "emoji", "count": 3, "emoji": "👍"}
        ]);
        assert_eq!(reactions(&v).as_deref(), Some("❤ Noor; 👍 ×3"));
    }
}

//! X (Twitter) archives ("Download an archive of your data"): the `.zip`, or its folder.
//!
//! Every data file is JavaScript that assigns one JSON array:
//!
//! ```text
//! data/tweets.js                 window.YTD.tweets.part0 = [ {"tweet": {...}}, ... ]
//! data/tweets-part1.js           window.YTD.tweets.part1 = [ ... ]          (large archives)
//! data/direct-messages.js        window.YTD.direct_messages.part0 = [ {"dmConversation": ...} ]
//! data/direct-messages-group.js  window.YTD.direct_messages_group.part0 = [ ... ]
//! data/account.js                window.YTD.account.part0 = [ {"account": {...}} ]
//! data/tweets_media/<tweet id>-<name>, data/direct_messages_media/<message id>-<name>
//! ```
//!
//! Files are recognised by that `window.YTD.<name>` prefix, not by their names (which changed:
//! `tweet.js` became `tweets.js`). Everything up to the first `=` is skipped and the rest is
//! read as a stream, one array element at a time, so a multi-hundred-megabyte `tweets.js` is
//! read once and never held whole (a DM conversation is held one at a time).
//!
//! Traps handled here:
//!
//! - **Old and new shapes:** archives from about 2019 have bare tweet objects; newer ones wrap
//!   each in `{"tweet": {...}}`. Pre-2018 "Grailbird" files (`Grailbird.data.tweets_2014_01 =`)
//!   are read the same way.
//! - **Numbers are strings** (`"id_str"`, `"favorite_count"`); both forms are accepted.
//! - **Times:** tweets' `created_at` is `Sat Sep 10 01:52:13 +0000 2022`, DMs' `createdAt` is
//!   ISO 8601 with `Z`; both are UTC: exact instants, shown in the `--tz` offset and marked
//!   `offset_assumed` (the offset is not the export's).
//! - **`full_text` is HTML-escaped** (`&amp;`, `&lt;3`) and is unescaped here; so is DM text.
//! - Retweets are the owner's tweets whose text is a truncated `RT @handle: ...`; they are kept
//!   and marked `retweet` in metadata. Replies carry `reply_to` = the replied tweet's id.
//! - `t.co` links stay in the text as written; their expansions go into `links` metadata
//!   (some lack `expanded_url`).
//! - **Names:** DMs only give account ids. `account.js` names the owner (whose tweets and
//!   messages are marked `is_owner`); other ids are named from the tweets' mentions and reply
//!   targets where possible, else shown as the id.
//! - DM events that are not messages (joins, leaves, renames) are counted and not imported; the
//!   latest rename names a group conversation.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, FixedOffset};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde_json::Value;

use super::meta::{attachment, mime_from_name};
use crate::input::Input;
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// The X (Twitter) archive format.
pub struct Twitter;

const NAME: &str = "twitter";
/// Most bytes before the `=` of `window.YTD.x.part0 =`.
const MAX_PREFIX: u64 = 4096;
/// Largest `account.js` read whole.
const MAX_ACCOUNT: u64 = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FileKind {
    Account,
    Tweets,
    DirectMessages,
    GroupMessages,
}

/// What a data file holds, from its first bytes.
fn classify(head: &[u8]) -> Option<FileKind> {
    let head = text::decode_utf8(head);
    let head = head.trim_start();
    if head.starts_with("Grailbird.data.tweets_") {
        return Some(FileKind::Tweets);
    }
    let rest = head.strip_prefix("window.YTD.")?;
    let name = rest.split(['.', ' ', '=']).next().unwrap_or("");
    match name {
        "tweets" | "tweet" => Some(FileKind::Tweets),
        "direct_messages" | "direct_message" => Some(FileKind::DirectMessages),
        "direct_messages_group" | "direct_message_group" => Some(FileKind::GroupMessages),
        "account" => Some(FileKind::Account),
        _ => None,
    }
}

fn data_files(input: &Input) -> Vec<(String, FileKind)> {
    let mut files: Vec<(String, FileKind)> = input
        .entries()
        .iter()
        .filter(|e| e.path.to_ascii_lowercase().ends_with(".js"))
        .filter_map(|e| classify(&input.sniff(&e.path, 256)).map(|k| (e.path.clone(), k)))
        .collect();
    files.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    files
}

impl Format for Twitter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "X (Twitter) archive: data/tweets.js, direct-messages.js, direct-messages-group.js (window.YTD...), the .zip or its folder"
    }

    fn detect(&self, input: &Input) -> u8 {
        data_files(input)
            .iter()
            .map(|(_, kind)| match kind {
                FileKind::Account => 50,
                _ => 95,
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
        let files = data_files(input);
        if !files.iter().any(|(_, k)| *k != FileKind::Account) {
            return Err(ConnectorError::NotThisFormat {
                format: NAME,
                location: input.origin().display().to_string(),
                reason: "no tweets or direct messages file (window.YTD.tweets / direct_messages)"
                    .into(),
            });
        }
        let mut run = Run {
            input,
            ctx,
            owner: Account::default(),
            names: HashMap::new(),
            media: media_index(input),
            fatal: None,
        };
        for (path, kind) in &files {
            if *kind == FileKind::Account && run.owner.id.is_none() {
                match read_account(input, path) {
                    Ok(account) => run.owner = account,
                    Err(reason) => sink.skip(input.location(path), reason),
                }
            }
        }
        if let Some(id) = run.owner.id.clone() {
            run.names.insert(
                id,
                (run.owner.display_name.clone(), run.owner.username.clone()),
            );
        }
        let mut read_any = false;
        let mut first_refusal = None;
        for (path, kind) in files {
            if kind == FileKind::Account {
                continue;
            }
            match run.file(&path, kind, sink) {
                Ok(()) => read_any = true,
                Err(err @ ConnectorError::NotThisFormat { .. }) => {
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

#[derive(Default)]
struct Account {
    id: Option<String>,
    username: Option<String>,
    display_name: Option<String>,
}

/// Bytes after the first `=` of a data file.
fn after_prefix(bytes: &[u8]) -> Option<&[u8]> {
    let limit = bytes.len().min(MAX_PREFIX as usize);
    let eq = bytes[..limit].iter().position(|b| *b == b'=')?;
    Some(&bytes[eq + 1..])
}

fn read_account(input: &Input, path: &str) -> Result<Account, String> {
    let bytes = input
        .read(path, MAX_ACCOUNT)
        .map_err(|e| format!("could not read the account file: {e}"))?;
    let json = after_prefix(&bytes).ok_or("no `=` after window.YTD.account")?;
    let value: Value =
        serde_json::from_slice(json).map_err(|e| format!("unreadable account file: {e}"))?;
    let account = value
        .get(0)
        .map(|a| a.get("account").unwrap_or(a))
        .ok_or("an empty account file")?;
    Ok(Account {
        id: account.get("accountId").and_then(id_string),
        username: account
            .get("username")
            .and_then(Value::as_str)
            .map(str::to_owned),
        display_name: account
            .get("accountDisplayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Media files by the id they start with (`<tweet or message id>-<name>`), from every folder
/// named `*_media` (`tweets_media`, `tweet_media`, `direct_messages_media`, ...).
fn media_index(input: &Input) -> HashMap<String, Vec<String>> {
    let mut index: HashMap<String, Vec<String>> = HashMap::new();
    for entry in input.entries() {
        let mut parts = entry.path.rsplit('/');
        let (Some(file), Some(folder)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !folder.to_ascii_lowercase().ends_with("_media") {
            continue;
        }
        if let Some((id, _)) = file.split_once('-')
            && !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
        {
            index
                .entry(id.to_owned())
                .or_default()
                .push(entry.path.clone());
        }
    }
    index
}

struct Run<'a> {
    input: &'a Input,
    ctx: &'a Context,
    owner: Account,
    /// Account id → (display name, handle), from account.js and the tweets' mentions.
    names: HashMap<String, (Option<String>, Option<String>)>,
    media: HashMap<String, Vec<String>>,
    fatal: Option<ConnectorError>,
}

impl Run<'_> {
    fn file(
        &mut self,
        path: &str,
        kind: FileKind,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let location = self.input.location(path);
        let input = self.input;
        let mut seen = 0usize;
        let mut each = |index: usize, value: Value| -> bool {
            seen += 1;
            match kind {
                FileKind::Tweets => match self.tweet(&value) {
                    Ok(parsed) => {
                        if let Err(e) = sink.record(parsed) {
                            self.fatal = Some(e);
                            return false;
                        }
                    }
                    Err(reason) => sink.skip(format!("{location}:$[{index}]"), reason),
                },
                _ => {
                    if let Err(e) = self.conversation(&location, index, &value, sink) {
                        self.fatal = Some(e);
                        return false;
                    }
                }
            }
            true
        };
        let mut index = 0usize;
        let result = input.with_reader(path, |reader| {
            let mut reader = BufReader::with_capacity(1 << 16, reader);
            let mut prefix = Vec::new();
            (&mut reader)
                .take(MAX_PREFIX)
                .read_until(b'=', &mut prefix)
                .map_err(|source| ConnectorError::Io {
                    path: location.clone(),
                    source,
                })?;
            if prefix.last() != Some(&b'=') {
                return Ok(None);
            }
            let mut de = serde_json::Deserializer::from_reader(reader);
            Ok(Some(
                ArraySeed {
                    each: &mut each,
                    index: &mut index,
                }
                .deserialize(&mut de),
            ))
        })?;
        if let Some(fatal) = self.fatal.take() {
            return Err(fatal);
        }
        match result {
            None => Err(ConnectorError::NotThisFormat {
                format: NAME,
                location,
                reason: "no `=` after the window.YTD name".into(),
            }),
            Some(Ok(())) => Ok(()),
            Some(Err(e)) if seen == 0 => Err(ConnectorError::NotThisFormat {
                format: NAME,
                location,
                reason: format!("not a JSON array after the window.YTD name: {e}"),
            }),
            Some(Err(e)) => {
                sink.skip(
                    format!("{location}:$[{index}]"),
                    format!("unreadable JSON ({e}); the rest of the file was not imported"),
                );
                Ok(())
            }
        }
    }

    fn owner_person(&self) -> Person {
        Person {
            name: self
                .owner
                .display_name
                .clone()
                .or_else(|| self.owner.username.clone())
                .or_else(|| self.ctx.me.first().cloned())
                .unwrap_or_else(|| "me".to_owned()),
            handle: self.owner.username.clone(),
            is_owner: true,
        }
    }

    fn person(&self, id: &str) -> Person {
        let (name, handle) = self.names.get(id).cloned().unwrap_or((None, None));
        Person {
            name: name
                .or_else(|| handle.clone())
                .unwrap_or_else(|| id.to_owned()),
            handle,
            is_owner: self.owner.id.as_deref() == Some(id),
        }
    }

    fn learn_name(&mut self, id: Option<String>, name: Option<&str>, handle: Option<&str>) {
        let Some(id) = id else { return };
        let entry = self.names.entry(id).or_insert((None, None));
        if entry.0.is_none() {
            entry.0 = name.filter(|n| !n.is_empty()).map(str::to_owned);
        }
        if entry.1.is_none() {
            entry.1 = handle.filter(|h| !h.is_empty()).map(str::to_owned);
        }
    }

    /// The files of one media item: the expected `<id>-<name>`, else nothing (name only).
    fn media_file(&self, id: &str, name: &str) -> Option<String> {
        let expected = format!("{id}-{name}");
        self.media
            .get(id)?
            .iter()
            .find(|p| p.rsplit('/').next() == Some(expected.as_str()))
            .cloned()
    }

    fn tweet(&mut self, value: &Value) -> Result<Parsed, String> {
        let t = value
            .get("tweet")
            .filter(|t| t.is_object())
            .unwrap_or(value);
        let obj = t.as_object().ok_or("a tweet that is not a JSON object")?;
        let id = obj
            .get("id_str")
            .and_then(id_string)
            .or_else(|| obj.get("id").and_then(id_string))
            .ok_or("a tweet without an id")?;
        let created = obj
            .get("created_at")
            .and_then(Value::as_str)
            .ok_or("a tweet without created_at")?;
        let occurred_at = parse_time(created, self.ctx)
            .ok_or_else(|| format!("unreadable created_at {created:?}"))?;
        let raw = obj
            .get("full_text")
            .or_else(|| obj.get("text"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let body = text::decode_entities(raw);
        let mut metadata = BTreeMap::new();

        let entities = obj.get("entities");
        let mentions = entities
            .and_then(|e| e.get("user_mentions"))
            .and_then(Value::as_array);
        for m in mentions.into_iter().flatten() {
            self.learn_name(
                m.get("id_str").or_else(|| m.get("id")).and_then(id_string),
                m.get("name").and_then(Value::as_str),
                m.get("screen_name").and_then(Value::as_str),
            );
        }
        let reply_screen_name = obj.get("in_reply_to_screen_name").and_then(Value::as_str);
        self.learn_name(
            obj.get("in_reply_to_user_id_str")
                .or_else(|| obj.get("in_reply_to_user_id"))
                .and_then(id_string),
            None,
            reply_screen_name,
        );
        let reply_to = obj
            .get("in_reply_to_status_id_str")
            .and_then(id_string)
            .or_else(|| obj.get("in_reply_to_status_id").and_then(id_string));
        if reply_to.is_some()
            && let Some(name) = reply_screen_name
        {
            metadata.insert("in_reply_to".to_owned(), name.to_owned());
        }
        let retweeted_status = obj.get("retweeted_status").filter(|v| v.is_object());
        if let Some(handle) = body.strip_prefix("RT @") {
            metadata.insert("retweet".to_owned(), "true".to_owned());
            let handle = handle.split(':').next().unwrap_or("").trim();
            if !handle.is_empty() {
                metadata.insert("retweet_of".to_owned(), handle.to_owned());
            }
        } else if retweeted_status.is_some() {
            metadata.insert("retweet".to_owned(), "true".to_owned());
        }
        if let Some(quoted) = obj.get("quoted_status_id_str").and_then(id_string) {
            metadata.insert("quote_of".to_owned(), quoted);
        }
        for (key, name) in [
            ("lang", "lang"),
            ("favorite_count", "likes"),
            ("retweet_count", "retweets"),
        ] {
            if let Some(v) = obj.get(key).and_then(id_string) {
                metadata.insert(name.to_owned(), v);
            }
        }
        let links: Vec<String> = entities
            .and_then(|e| e.get("urls"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|u| {
                let short = u.get("url").and_then(Value::as_str);
                let long = u.get("expanded_url").and_then(Value::as_str);
                match (short, long) {
                    (Some(s), Some(l)) if !l.is_empty() => Some(format!("{s} {l}")),
                    (Some(s), _) => Some(s.to_owned()),
                    (None, Some(l)) => Some(l.to_owned()),
                    (None, None) => None,
                }
            })
            .collect();
        if !links.is_empty() {
            metadata.insert("links".to_owned(), links.join("\n"));
        }

        let media = obj
            .get("extended_entities")
            .and_then(|e| e.get("media"))
            .or_else(|| entities.and_then(|e| e.get("media")))
            .and_then(Value::as_array);
        let mut pending = Vec::new();
        let mut used = BTreeSet::new();
        for m in media.into_iter().flatten() {
            let Some(name) = media_name(m) else { continue };
            let entry = self.media_file(&id, &name);
            if let Some(e) = &entry {
                used.insert(e.clone());
            }
            let mime = mime_from_name(&name).map(str::to_owned);
            pending.push(attachment(name, mime, entry));
        }
        // Files of this tweet that no media entity names (a video's other variants).
        for path in self.media.get(&id).into_iter().flatten() {
            if !used.contains(path) {
                pending.push(file_attachment(path));
            }
        }
        if !pending.is_empty() {
            metadata.insert("media".to_owned(), pending.len().to_string());
        }

        let record = RecordData {
            source: NAME.into(),
            kind: Kind::Post,
            occurred_at,
            // UTC instants shown in --tz: the offset is not the export's.
            offset_assumed: true,
            external_id: Some(id),
            author: Some(self.owner_person()),
            participants: Vec::new(),
            conversation: None,
            text: body,
            reply_to,
            attachments: Vec::new(),
            metadata,
        };
        Ok(Parsed { record, pending })
    }

    /// One `dmConversation`: its messages become records, its events are counted.
    fn conversation(
        &mut self,
        location: &str,
        index: usize,
        value: &Value,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let at = format!("{location}:$[{index}]");
        let Some(conv) = value.get("dmConversation") else {
            sink.skip(at, "not a dmConversation".into());
            return Ok(());
        };
        let Some(conversation_id) = conv.get("conversationId").and_then(id_string) else {
            sink.skip(at, "a conversation without conversationId".into());
            return Ok(());
        };
        let messages: &[Value] = conv
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);

        // Everyone in it, and its latest name.
        let mut ids = BTreeSet::new();
        let pair: Vec<&str> = conversation_id.split('-').collect();
        if pair.len() == 2
            && pair
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            ids.extend(pair.iter().map(|p| (*p).to_owned()));
        }
        let mut latest_name: Option<(String, String)> = None;
        for m in messages {
            let Some((event, body)) = m.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            for key in ["senderId", "recipientId", "initiatingUserId"] {
                if let Some(id) = body.get(key).and_then(id_string) {
                    ids.insert(id);
                }
            }
            for key in ["participantsSnapshot", "userIds"] {
                for id in body
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(id_string)
                {
                    ids.insert(id);
                }
            }
            if event == "conversationNameUpdate"
                && let Some(name) = body.get("name").and_then(Value::as_str)
            {
                let when = body
                    .get("createdAt")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if latest_name.as_ref().is_none_or(|(w, _)| when > *w) {
                    latest_name = Some((when, name.to_owned()));
                }
            }
        }
        let participants: Vec<Person> = ids.iter().map(|id| self.person(id)).collect();
        let name = latest_name.map(|(_, n)| n).or_else(|| {
            let others: Vec<&str> = participants
                .iter()
                .filter(|p| !p.is_owner)
                .map(|p| p.name.as_str())
                .collect();
            (!others.is_empty()).then(|| others.join(", "))
        });
        let conversation = Conversation {
            id: conversation_id,
            name,
        };

        for (j, m) in messages.iter().enumerate() {
            match m.get("messageCreate") {
                Some(message) => match self.direct_message(message, &participants, &conversation) {
                    Ok(parsed) => sink.record(parsed)?,
                    Err(reason) => {
                        sink.skip(format!("{at}.dmConversation.messages[{j}]"), reason);
                    }
                },
                None => sink.ignore(),
            }
        }
        Ok(())
    }

    fn direct_message(
        &self,
        message: &Value,
        participants: &[Person],
        conversation: &Conversation,
    ) -> Result<Parsed, String> {
        let id = message
            .get("id")
            .and_then(id_string)
            .ok_or("a message without an id")?;
        let created = message
            .get("createdAt")
            .and_then(Value::as_str)
            .ok_or("a message without createdAt")?;
        let occurred_at = parse_time(created, self.ctx)
            .ok_or_else(|| format!("unreadable createdAt {created:?}"))?;
        let sender = message
            .get("senderId")
            .and_then(id_string)
            .ok_or("a message without senderId")?;
        let body = text::decode_entities(message.get("text").and_then(Value::as_str).unwrap_or(""));
        let mut metadata = BTreeMap::new();
        let reactions: Vec<String> = message
            .get("reactions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let key = r
                    .get("emoji")
                    .or_else(|| r.get("reactionKey"))
                    .and_then(Value::as_str)?;
                Some(match r.get("senderId").and_then(id_string) {
                    Some(who) => format!("{key} {}", self.person(&who).name),
                    None => key.to_owned(),
                })
            })
            .collect();
        if !reactions.is_empty() {
            metadata.insert("reactions".to_owned(), reactions.join("; "));
        }
        let links: Vec<String> = message
            .get("urls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|u| {
                let short = u.get("url").and_then(Value::as_str)?;
                Some(match u.get("expanded").and_then(Value::as_str) {
                    Some(long) if !long.is_empty() => format!("{short} {long}"),
                    _ => short.to_owned(),
                })
            })
            .collect();
        if !links.is_empty() {
            metadata.insert("links".to_owned(), links.join("\n"));
        }
        let mut pending: Vec<PendingAttachment> = Vec::new();
        let mut used = BTreeSet::new();
        for url in message
            .get("mediaUrls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let name = url_file_name(url);
            if name.is_empty() {
                continue;
            }
            let entry = self.media_file(&id, &name);
            if let Some(e) = &entry {
                used.insert(e.clone());
            }
            let mime = mime_from_name(&name).map(str::to_owned);
            pending.push(attachment(name, mime, entry));
        }
        for path in self.media.get(&id).into_iter().flatten() {
            if !used.contains(path) {
                pending.push(file_attachment(path));
            }
        }
        let record = RecordData {
            source: NAME.into(),
            kind: Kind::Message,
            occurred_at,
            // UTC instants shown in --tz: the offset is not the export's.
            offset_assumed: true,
            external_id: Some(id),
            author: Some(self.person(&sender)),
            participants: participants.to_vec(),
            conversation: Some(conversation.clone()),
            text: body,
            reply_to: message.get("replyToMessageId").and_then(id_string),
            attachments: Vec::new(),
            metadata,
        };
        Ok(Parsed { record, pending })
    }
}

fn file_attachment(path: &str) -> PendingAttachment {
    let file = path.rsplit('/').next().unwrap_or(path);
    let name = file
        .split_once('-')
        .map(|(_, n)| n)
        .unwrap_or(file)
        .to_owned();
    let mime = mime_from_name(&name).map(str::to_owned);
    attachment(name, mime, Some(path.to_owned()))
}

/// The last path segment of a URL, without query.
fn url_file_name(url: &str) -> String {
    let clean = url.split(['?', '#']).next().unwrap_or(url);
    clean.rsplit('/').next().unwrap_or("").to_owned()
}

/// The archive's file name of a media entity: the photo's name, or a video's best variant.
fn media_name(m: &Value) -> Option<String> {
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("photo");
    if kind != "photo" {
        let best = m
            .get("video_info")
            .and_then(|v| v.get("variants"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| {
                v.get("content_type").and_then(Value::as_str) != Some("application/x-mpegURL")
            })
            .max_by_key(|v| {
                v.get("bitrate")
                    .and_then(id_string)
                    .and_then(|b| b.parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .and_then(|v| v.get("url"))
            .and_then(Value::as_str);
        if let Some(url) = best {
            return Some(url_file_name(url)).filter(|n| !n.is_empty());
        }
    }
    m.get("media_url_https")
        .or_else(|| m.get("media_url"))
        .and_then(Value::as_str)
        .map(url_file_name)
        .filter(|n| !n.is_empty())
}

/// Ids and counts are strings in current archives and numbers in old ones.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `Sat Sep 10 01:52:13 +0000 2022` (tweets), ISO 8601 (DMs), or `2014-01-01 12:00:00 +0000`
/// (Grailbird), shown in the `--tz` offset.
fn parse_time(s: &str, ctx: &Context) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    DateTime::parse_from_str(s, "%a %b %d %H:%M:%S %z %Y")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S %z"))
        .ok()
        .map(|t| t.with_timezone(&ctx.tz).fixed_offset())
}

/// A JSON array read one element at a time; `each` returns false to stop (the import failed).
struct ArraySeed<'f> {
    each: &'f mut dyn FnMut(usize, Value) -> bool,
    index: &'f mut usize,
}

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let Some(value) = seq.next_element::<Value>()? else {
                return Ok(());
            };
            if !(self.each)(*self.index, value) {
                return Err(A::Error::custom("import stopped"));
            }
            *self.index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_kinds_from_content() {
        assert_eq!(
            classify(b"window.YTD.tweets.part0 = ["),
            Some(FileKind::Tweets)
        );
        assert_eq!(
            classify(b"window.YTD.direct_messages_group.part0 = ["),
            Some(FileKind::GroupMessages)
        );
        assert_eq!(classify(b"window.YTD.like.part0 = ["), None);
        assert_eq!(classify(b"[{\"ID\": 1}]"), None);
    }

    #[test]
    fn times() {
        let ctx = Context::new(chrono_tz::Europe::Lisbon);
        assert_eq!(
            parse_time("Sun Mar 23 13:30:48 +0000 2025", &ctx).map(|t| t.to_rfc3339()),
            Some("2025-03-23T13:30:48+00:00".into())
        );
        assert_eq!(
            parse_time("2025-08-16T22:59:10.925Z", &ctx).map(|t| t.to_rfc3339()),
            Some("2025-08-16T23:59:10.925+01:00".into())
        );
    }
}

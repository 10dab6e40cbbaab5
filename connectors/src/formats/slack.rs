//! Slack workspace exports (the admin's "Export data"), as the downloaded `.zip` or its folder.
//!
//! ```text
//! users.json                  [{"id": "U03M7LQ2V8K", "name": "maya", "real_name", "profile": {...}}]
//! channels.json               [{"id": "C01GNRL4ZQX", "name": "general", "members": [...]}]
//! groups.json, mpims.json     private channels and group DMs (paid plans), folders by name
//! dms.json                    direct messages, folders by id
//! <channel>/<YYYY-MM-DD>.json [{"type": "message", "user", "text", "ts", "thread_ts", ...}]
//! ```
//!
//! Traps, and what this parser does about them:
//!
//! - **`ts` is both the time and the id**: an epoch string with microseconds
//!   (`"1746175632.000300"`), UTC. The record's source id is `<channel id>:<ts>`; a reply's
//!   `thread_ts` gives `reply_to` (`<channel id>:<thread_ts>`). The instant is exact and shown in
//!   the `--tz` zone's offset, marked `offset_assumed` (Slack stores no author offset).
//! - **Not every item is a message**: `channel_join`, `channel_leave`, topic and purpose changes,
//!   pins, bot additions and other system subtypes are counted as not imported
//!   ([`Sink::ignore`]). Normal messages, `thread_broadcast`, `bot_message`, `me_message` and
//!   `file_share` are imported.
//! - **Text is Slack mrkdwn**: `<@U…>` becomes `@Display Name` (the name Slack shows: the
//!   profile's display name, else the real name, else the user name), `<#C…|general>` becomes
//!   `#general`, `<!here>` becomes `@here`, `<url|label>` becomes `label (url)` and a bare `<url>`
//!   the URL (also when the label only repeats it); `&amp;`, `&lt;`, `&gt;` are decoded after
//!   that, since they stand for literal text.
//!   `:emoji:` shortcodes stay as they are.
//! - `users.json` has an `is_owner` field meaning *workspace* owner; it says nothing about the
//!   vault's owner, who is found from `--me` (a name, user name or user id).
//! - `edited`, `reactions` (with who reacted), thread info and link unfurls go to metadata;
//!   `files` become attachments by name only, since `url_private` needs a token and cannot be
//!   downloaded from an export.
//! - Free plans export only public channels; day files of a folder no `*.json` list names are
//!   still imported, under the folder's name.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::DateTime;
use hearth_vault::{Conversation, Kind, Person, RecordData};
use regex::Regex;
use serde_json::{Map, Value};

use crate::input::Input;
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// The Slack export format.
pub struct Slack;

const NAME: &str = "slack";
const MAX_FILE: u64 = 1 << 30;
/// Channels with more members than this get no participant list (it would be the company).
const MAX_PARTICIPANTS: usize = 50;

static DAY_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}\.json$")
        .unwrap_or_else(|e| panic!("invalid Slack day-file pattern: {e}"))
});

/// Subtypes that are messages people wrote (or bots posted).
const IMPORTED_SUBTYPES: &[&str] = &[
    "thread_broadcast",
    "bot_message",
    "me_message",
    "file_share",
    "reply_broadcast",
];

#[derive(Clone, Debug)]
struct User {
    /// What Slack shows: display name, else real name, else user name.
    shown: String,
    /// The full name for records: real name, else display name, else user name.
    full: String,
    /// The user name (`maya`).
    username: Option<String>,
}

#[derive(Clone, Debug)]
struct ChannelMeta {
    id: String,
    name: String,
    kind: &'static str,
    members: Vec<String>,
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

/// Folders holding a `users.json` (the export's root), deepest last.
fn roots(input: &Input) -> Vec<String> {
    input
        .entries()
        .iter()
        .filter(|e| e.file_name() == "users.json")
        .map(|e| split_dir(&e.path).0.to_owned())
        .collect()
}

/// Day files (`<root>/<channel>/<YYYY-MM-DD>.json`) under `root`.
fn day_files<'a>(input: &'a Input, root: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    input.entries().iter().filter_map(move |e| {
        let rel = if root.is_empty() {
            e.path.as_str()
        } else {
            e.path.strip_prefix(root)?.strip_prefix('/')?
        };
        let (dir, name) = rel.split_once('/')?;
        (!dir.is_empty() && !name.contains('/') && DAY_FILE.is_match(name))
            .then_some(e.path.as_str())
    })
}

fn read_json(input: &Input, path: &str) -> Result<Value, String> {
    let bytes = input.read(path, MAX_FILE).map_err(|e| e.to_string())?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))
}

fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn user_from(obj: &Map<String, Value>) -> User {
    let profile = obj.get("profile").and_then(Value::as_object);
    let from_profile = |key: &str| profile.and_then(|p| str_of(p, key));
    let username = str_of(obj, "name").map(str::to_owned);
    let real = str_of(obj, "real_name").or_else(|| from_profile("real_name"));
    let display = from_profile("display_name").or_else(|| str_of(obj, "display_name"));
    let id = str_of(obj, "id").unwrap_or("unknown");
    let fallback = username.clone().unwrap_or_else(|| id.to_owned());
    User {
        shown: display
            .or(real)
            .map(str::to_owned)
            .unwrap_or_else(|| fallback.clone()),
        full: real.or(display).map(str::to_owned).unwrap_or(fallback),
        username,
    }
}

fn read_users(input: &Input, root: &str, sink: &mut dyn Sink) -> HashMap<String, User> {
    let path = join(root, "users.json");
    let mut users = HashMap::new();
    match read_json(input, &path) {
        Ok(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item.as_object() {
                    Some(obj) if str_of(obj, "id").is_some() => {
                        let id = str_of(obj, "id").unwrap_or_default().to_owned();
                        users.insert(id, user_from(obj));
                    }
                    _ => sink.skip(
                        format!("{}:[{i}]", input.location(&path)),
                        "user without an id".into(),
                    ),
                }
            }
        }
        Ok(_) => sink.skip(
            input.location(&path),
            "users.json is not a JSON array".into(),
        ),
        Err(reason) => sink.skip(input.location(&path), reason),
    }
    users
}

/// Channel lists: folder name → channel.
fn read_channels(input: &Input, root: &str, sink: &mut dyn Sink) -> HashMap<String, ChannelMeta> {
    let mut channels = HashMap::new();
    for (file, kind) in [
        ("channels.json", "channel"),
        ("groups.json", "private_channel"),
        ("mpims.json", "group_dm"),
        ("dms.json", "dm"),
    ] {
        let path = join(root, file);
        if input.entry(&path).is_none() {
            continue;
        }
        let items = match read_json(input, &path) {
            Ok(Value::Array(items)) => items,
            Ok(_) => {
                sink.skip(input.location(&path), format!("{file} is not a JSON array"));
                continue;
            }
            Err(reason) => {
                sink.skip(input.location(&path), reason);
                continue;
            }
        };
        for item in items {
            let Some(obj) = item.as_object() else {
                continue;
            };
            let Some(id) = str_of(obj, "id") else {
                continue;
            };
            let name = str_of(obj, "name").unwrap_or(id).to_owned();
            let members: Vec<String> = obj
                .get("members")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            // DM folders are named by id; the others by name.
            let folder = if kind == "dm" {
                id.to_owned()
            } else {
                name.clone()
            };
            channels.insert(
                folder,
                ChannelMeta {
                    id: id.to_owned(),
                    name,
                    kind,
                    members,
                },
            );
        }
    }
    channels
}

/// Turns Slack mrkdwn into plain text: mentions, channel links, special mentions and links.
fn resolve_mrkdwn(
    raw: &str,
    users: &HashMap<String, User>,
    channels_by_id: &HashMap<String, String>,
) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(lt) = rest.find('<') {
        out.push_str(&text::decode_entities(&rest[..lt]));
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>').filter(|&g| !after[..g].contains('\n')) else {
            out.push('<');
            rest = after;
            continue;
        };
        let inner = &after[..gt];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        let label = label.map(text::decode_entities);
        let target_text = text::decode_entities(target);
        if let Some(id) = target.strip_prefix('@') {
            let name = users
                .get(id)
                .map(|u| u.shown.clone())
                .or_else(|| label.clone().map(|l| l.trim_start_matches('@').to_owned()))
                .unwrap_or_else(|| id.to_owned());
            out.push('@');
            out.push_str(&name);
        } else if let Some(id) = target.strip_prefix('#') {
            let name = label
                .clone()
                .or_else(|| channels_by_id.get(id).cloned())
                .unwrap_or_else(|| id.to_owned());
            out.push('#');
            out.push_str(&name);
        } else if let Some(special) = target.strip_prefix('!') {
            match label {
                Some(l) => out.push_str(&l),
                None => {
                    let word = special.split('^').next().unwrap_or(special);
                    out.push('@');
                    out.push_str(word);
                }
            }
        } else {
            match label {
                Some(l) if !l.is_empty() && !same_link(&l, &target_text) => {
                    out.push_str(&l);
                    out.push_str(" (");
                    out.push_str(&target_text);
                    out.push(')');
                }
                _ => out.push_str(target_text.strip_prefix("mailto:").unwrap_or(&target_text)),
            }
        }
        rest = &after[gt + 1..];
    }
    out.push_str(&text::decode_entities(rest));
    out
}

/// Whether a link's label only repeats its URL (Slack writes `<http://x.com|x.com>`).
fn same_link(label: &str, url: &str) -> bool {
    let bare = url
        .strip_prefix("mailto:")
        .or_else(|| url.strip_prefix("https://"))
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    label == url || label == bare || label.trim_end_matches('/') == bare.trim_end_matches('/')
}

/// `"1746175632.000300"` as an instant.
fn parse_ts(ts: &str) -> Option<DateTime<chrono::Utc>> {
    let (secs, frac) = ts.trim().split_once('.').unwrap_or((ts.trim(), ""));
    let secs: i64 = secs.parse().ok()?;
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    DateTime::from_timestamp(secs, nanos)
}

fn ts_of(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn attachment(name: String, mime: Option<String>) -> PendingAttachment {
    PendingAttachment {
        name,
        mime,
        entry: None,
        data: None,
    }
}

struct Workspace<'a> {
    users: &'a HashMap<String, User>,
    channels_by_id: &'a HashMap<String, String>,
    me: Vec<String>,
    tz: chrono_tz::Tz,
}

impl Workspace<'_> {
    fn person(&self, id: &str, message: Option<&Map<String, Value>>) -> Person {
        let user = self.users.get(id).cloned().or_else(|| {
            // Users that left (or external ones) may be missing from users.json; messages carry
            // a `user_profile` copy.
            message
                .and_then(|m| m.get("user_profile"))
                .and_then(Value::as_object)
                .map(|p| {
                    let mut p = p.clone();
                    p.entry("id").or_insert_with(|| Value::from(id));
                    user_from(&p)
                })
        });
        let user = user.unwrap_or_else(|| User {
            shown: id.to_owned(),
            full: id.to_owned(),
            username: None,
        });
        let is_owner = self.me.iter().any(|m| m.eq_ignore_ascii_case(id));
        Person {
            name: user.full,
            handle: user.username,
            is_owner,
        }
    }

    fn full_name(&self, id: &str) -> String {
        self.users
            .get(id)
            .map(|u| u.full.clone())
            .unwrap_or_else(|| id.to_owned())
    }
}

fn parse_day_file(
    input: &Input,
    path: &str,
    channel: &ChannelMeta,
    participants: &[Person],
    ws: &Workspace<'_>,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(path);
    let items = match read_json(input, path) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            sink.skip(location, "day file is not a JSON array".into());
            return Ok(());
        }
        Err(reason) => {
            sink.skip(location, reason);
            return Ok(());
        }
    };
    for (i, item) in items.iter().enumerate() {
        let here = format!("{location}:[{i}]");
        let Some(obj) = item.as_object() else {
            sink.skip(here, "message is not a JSON object".into());
            continue;
        };
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("message");
        let subtype = obj.get("subtype").and_then(Value::as_str);
        if kind != "message" || subtype.is_some_and(|s| !IMPORTED_SUBTYPES.contains(&s)) {
            sink.ignore();
            continue;
        }
        let Some(ts) = ts_of(obj, "ts") else {
            sink.skip(here, "message has no ts".into());
            continue;
        };
        let Some(instant) = parse_ts(&ts) else {
            sink.skip(here, format!("unreadable ts {ts:?}"));
            continue;
        };
        let author = match str_of(obj, "user") {
            Some(id) => ws.person(id, Some(obj)),
            None => match str_of(obj, "username").or_else(|| str_of(obj, "bot_id")) {
                Some(bot) => Person {
                    name: bot.to_owned(),
                    handle: str_of(obj, "bot_id").map(str::to_owned),
                    is_owner: false,
                },
                None => {
                    sink.skip(here, "message has no user".into());
                    continue;
                }
            },
        };
        let raw_text = obj.get("text").and_then(Value::as_str).unwrap_or("");
        let body = resolve_mrkdwn(raw_text, ws.users, ws.channels_by_id);
        let mut metadata = BTreeMap::new();
        let mut pending = Vec::new();
        let mut file_urls = Vec::new();
        if let Some(files) = obj.get("files").and_then(Value::as_array) {
            for file in files.iter().filter_map(Value::as_object) {
                let name = str_of(file, "name")
                    .or_else(|| str_of(file, "title"))
                    .or_else(|| str_of(file, "id"))
                    .unwrap_or("file");
                pending.push(attachment(
                    name.to_owned(),
                    str_of(file, "mimetype").map(str::to_owned),
                ));
                if let Some(url) = str_of(file, "url_private") {
                    file_urls.push(url.to_owned());
                }
            }
        }
        if body.trim().is_empty() && pending.is_empty() {
            // Deleted-message tombstones and empty bot posts hold nothing to keep.
            sink.ignore();
            continue;
        }
        if !file_urls.is_empty() {
            metadata.insert("file_urls".to_owned(), file_urls.join("\n"));
        }
        if let Some(subtype) = subtype {
            metadata.insert("subtype".to_owned(), subtype.to_owned());
        }
        if let Some(edited) = obj.get("edited").and_then(Value::as_object) {
            let when = ts_of(edited, "ts")
                .and_then(|t| parse_ts(&t))
                .map(|t| t.with_timezone(&ws.tz).to_rfc3339())
                .unwrap_or_else(|| "true".to_owned());
            metadata.insert("edited".to_owned(), when);
            if let Some(by) = str_of(edited, "user") {
                metadata.insert("edited_by".to_owned(), ws.full_name(by));
            }
        }
        if let Some(reactions) = obj.get("reactions").and_then(Value::as_array) {
            let list: Vec<String> = reactions
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|r| {
                    let name = str_of(r, "name")?;
                    let who: Vec<String> = r
                        .get("users")
                        .and_then(Value::as_array)
                        .map(|u| {
                            u.iter()
                                .filter_map(Value::as_str)
                                .map(|u| ws.full_name(u))
                                .collect()
                        })
                        .unwrap_or_default();
                    let count = r
                        .get("count")
                        .and_then(Value::as_u64)
                        .unwrap_or(who.len() as u64);
                    Some(format!(":{name}: {count} ({})", who.join(", ")))
                })
                .collect();
            if !list.is_empty() {
                metadata.insert("reactions".to_owned(), list.join("; "));
            }
        }
        let thread_ts = ts_of(obj, "thread_ts");
        let reply_to = thread_ts
            .as_ref()
            .filter(|t| **t != ts)
            .map(|t| format!("{}:{t}", channel.id));
        if let Some(thread) = &thread_ts {
            metadata.insert("thread_ts".to_owned(), thread.clone());
        }
        if let Some(count) = obj.get("reply_count").and_then(Value::as_u64) {
            metadata.insert("reply_count".to_owned(), count.to_string());
        }
        if let Some(unfurls) = obj.get("attachments").and_then(Value::as_array) {
            let links: Vec<&str> = unfurls
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|a| str_of(a, "from_url").or_else(|| str_of(a, "title_link")))
                .collect();
            if !links.is_empty() {
                metadata.insert("links".to_owned(), links.join("\n"));
            }
        }
        metadata.insert("channel_type".to_owned(), channel.kind.to_owned());
        let record = RecordData {
            source: NAME.into(),
            kind: Kind::Message,
            occurred_at: instant.with_timezone(&ws.tz).fixed_offset(),
            offset_assumed: true,
            external_id: Some(format!("{}:{ts}", channel.id)),
            author: Some(author),
            participants: participants.to_vec(),
            conversation: Some(Conversation {
                id: channel.id.clone(),
                name: Some(channel.name.clone()),
            }),
            text: body,
            reply_to,
            attachments: Vec::new(),
            metadata,
        };
        sink.record(Parsed { record, pending })?;
    }
    Ok(())
}

/// Whether the head of a JSON file is an array of objects with an `"id"`.
fn looks_like_list(input: &Input, path: &str) -> bool {
    let head = text::decode_utf8(&input.sniff(path, 4096));
    let head = head.trim_start();
    head.starts_with('[') && (head.contains("\"id\"") || head[1..].trim_start().starts_with(']'))
}

fn looks_like_day_file(input: &Input, path: &str) -> bool {
    let head = text::decode_utf8(&input.sniff(path, 4096));
    let head = head.trim_start();
    head.starts_with('[') && (head.contains("\"ts\"") || head[1..].trim_start().starts_with(']'))
}

impl Format for Slack {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Slack workspace export: users.json, channels.json and <channel>/<YYYY-MM-DD>.json, zip or folder"
    }

    fn detect(&self, input: &Input) -> u8 {
        let mut best = 0;
        for root in roots(input).iter().take(10) {
            if !looks_like_list(input, &join(root, "users.json")) {
                continue;
            }
            let lists = ["channels.json", "groups.json", "mpims.json", "dms.json"]
                .iter()
                .any(|f| {
                    let p = join(root, f);
                    input.entry(&p).is_some() && looks_like_list(input, &p)
                });
            let days: Vec<&str> = day_files(input, root).take(3).collect();
            let day_ok = !days.is_empty() && days.iter().all(|d| looks_like_day_file(input, d));
            best = best.max(match (lists, day_ok) {
                (true, true) => 95,
                (false, true) => 75,
                (true, false) => 60,
                (false, false) => 0,
            });
        }
        best
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let roots = roots(input);
        if roots.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: NAME,
                location: input.origin().display().to_string(),
                reason: "no users.json (a Slack export has users.json, channels.json and a folder per channel)".into(),
            });
        }
        for root in &roots {
            let users = read_users(input, root, sink);
            let channels = read_channels(input, root, sink);
            let channels_by_id: HashMap<String, String> = channels
                .values()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect();
            let ws = Workspace {
                users: &users,
                channels_by_id: &channels_by_id,
                me: ctx.me.clone(),
                tz: ctx.tz,
            };
            let mut participants_of: HashMap<String, Vec<Person>> = HashMap::new();
            let days: Vec<String> = day_files(input, root).map(str::to_owned).collect();
            for day in days {
                let rel = if root.is_empty() {
                    day.as_str()
                } else {
                    day.get(root.len() + 1..).unwrap_or(&day)
                };
                let folder = rel.split('/').next().unwrap_or(rel).to_owned();
                let channel = channels
                    .get(&folder)
                    .cloned()
                    .unwrap_or_else(|| ChannelMeta {
                        id: folder.clone(),
                        name: folder.clone(),
                        kind: "channel",
                        members: Vec::new(),
                    });
                let participants = participants_of
                    .entry(folder.clone())
                    .or_insert_with(|| {
                        if channel.members.len() > MAX_PARTICIPANTS {
                            Vec::new()
                        } else {
                            channel.members.iter().map(|m| ws.person(m, None)).collect()
                        }
                    })
                    .clone();
                parse_day_file(input, &day, &channel, &participants, &ws, sink)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_is_resolved() {
        let mut users = HashMap::new();
        users.insert(
            "U1".to_owned(),
            User {
                shown: "Maya".into(),
                full: "Maya Lindqvist".into(),
                username: Some("maya".into()),
            },
        );
        let mut channels = HashMap::new();
        channels.insert("C1".to_owned(), "general".to_owned());
        let t = |s: &str| resolve_mrkdwn(s, &users, &channels);
        assert_eq!(t("hi <@U1>!"), "hi @Maya!");
        assert_eq!(t("<@U9|bob> and <@U8>"), "@bob and @U8");
        assert_eq!(t("see <#C1> <#C2|random>"), "see #general #random");
        assert_eq!(t("<!here> <!channel>"), "@here @channel");
        assert_eq!(
            t("<https://x.com/a?b=1&amp;c=2|the link>"),
            "the link (https://x.com/a?b=1&c=2)"
        );
        assert_eq!(t("<https://x.com>"), "https://x.com");
        assert_eq!(t("<http://x.com|x.com>"), "http://x.com");
        assert_eq!(t("<mailto:a@b.c|a@b.c>"), "a@b.c");
        assert_eq!(t("a &lt;3 b &amp; c"), "a <3 b & c");
        assert_eq!(t("unclosed < bracket"), "unclosed < bracket");
        assert_eq!(t("<!date^1392734382^{date}|Feb 18, 2014>"), "Feb 18, 2014");
    }

    #[test]
    fn ts_keeps_microseconds() {
        let t = parse_ts("1746175632.000300").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2025-05-02T08:47:12.000300+00:00"));
        assert!(parse_ts("abc").is_none());
        assert!(parse_ts("1.2.3").is_none());
    }
}

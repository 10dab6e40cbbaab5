//! Facebook (Messenger and posts) and Instagram "Download Your Information" exports in JSON:
//! the downloaded `.zip`, or its folder.
//!
//! Layout (it moves between export versions, so files are recognised by their content):
//!
//! ```text
//! your_facebook_activity/messages/inbox/<name>_<id>/message_1.json   (also archived_threads,
//! your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json   filtered_threads,
//! personal_information/profile_information/profile_information.json              message_requests)
//! your_instagram_activity/messages/inbox/<name>_<id>/message_1.json
//! your_instagram_activity/media/posts_1.json
//! personal_information/personal_information/personal_information.json
//! ```
//!
//! Exports before 2024 have no `your_*_activity/` prefix (`messages/inbox/...`). A thread file is
//! `{participants: [{name}], messages: [...], title, thread_path, ...}` with `messages`
//! **newest first**; large threads are split into `message_1.json .. message_N.json`.
//!
//! Traps handled here:
//!
//! - **Mojibake:** Meta writes each UTF-8 byte of non-ASCII text as its own `\u00XX` escape
//!   (`å` is `\u00c3\u00a5`, `❤` is `\u00e2\u009d\u00a4`), so every string (names, content,
//!   reactions, titles, places) goes through [`text::fix_meta_mojibake`].
//! - A **BOM** may start the file.
//! - `timestamp_ms` (messages) and `timestamp` (posts, seconds) are UTC: exact instants, shown
//!   in the `--tz` offset and marked `offset_assumed` (the offset is not the export's).
//! - Media (`photos`, `videos`, `audio_files`, `files`, `gifs`, `sticker`) are `uri`s relative to
//!   the export's root; they become attachments, stored when the export includes them.
//! - Reactions, shared links, call durations and unsent markers go into metadata.
//! - **No stable ids:** a message's source id is built from its thread's folder name (stable when
//!   a thread moves from `inbox` to `archived_threads`), its `timestamp_ms`, its sender, a hash of
//!   its content and its occurrence among identical messages, so re-importing adds nothing twice.
//! - **Facebook or Instagram:** the same JSON shapes; the export's folders, its profile file, and
//!   markers in the content (media `uri`s, Instagram's `original_content_owner`, Messenger's
//!   `joinable_mode`) decide which, and the format that loses scores 0.
//! - **The owner** comes from the profile file when the export has it; otherwise, in Facebook,
//!   the participant whose name starts the posts' titles ("Maya Lindqvist updated her status."),
//!   or the one person in every thread; otherwise `--me`.
//!
//! A thread file is read twice as a stream (first its header, which Meta writes after the
//! messages, then the messages one at a time), so memory never holds a whole thread.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::BufReader;

use hearth_vault::{Conversation, Kind, Person, RecordData};
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::short_hash;
use crate::input::Input;
use crate::time::{from_epoch_millis, from_epoch_seconds};
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// Facebook's "Download Your Information" (Messenger threads and posts).
pub struct Facebook;

/// Instagram's "Download Your Information" (direct messages and posts).
pub struct Instagram;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Facebook,
    Instagram,
}

impl Platform {
    fn name(self) -> &'static str {
        match self {
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
        }
    }
}

impl Format for Facebook {
    fn name(&self) -> &'static str {
        "facebook"
    }

    fn description(&self) -> &'static str {
        "Facebook \"Download Your Information\" in JSON: Messenger threads (message_N.json) and your posts; the .zip or its folder"
    }

    fn detect(&self, input: &Input) -> u8 {
        survey(input, true).score(Platform::Facebook)
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        parse(Platform::Facebook, input, ctx, sink)
    }
}

impl Format for Instagram {
    fn name(&self) -> &'static str {
        "instagram"
    }

    fn description(&self) -> &'static str {
        "Instagram \"Download Your Information\" in JSON: direct messages (message_N.json) and posts; the .zip or its folder"
    }

    fn detect(&self, input: &Input) -> u8 {
        survey(input, true).score(Platform::Instagram)
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        parse(Platform::Instagram, input, ctx, sink)
    }
}

/// A pending attachment read from an entry of the input (or kept by name only).
pub(crate) fn attachment(
    name: String,
    mime: Option<String>,
    entry: Option<String>,
) -> PendingAttachment {
    PendingAttachment {
        name,
        mime,
        entry,
        data: None,
    }
}

/// A MIME type guessed from a file name's extension.
pub(crate) fn mime_from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" | "aac" => "audio/mp4",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => return None,
    })
}

const SNIFF: usize = 16 * 1024;
/// Most files sniffed to find threads whose file name is not `message_N.json`.
const MAX_OTHER_SNIFFS: usize = 300;
/// Thread files detection opens.
const QUICK_THREADS: usize = 20;
/// Largest posts or profile file read whole.
const MAX_WHOLE_FILE: u64 = 256 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PostsShape {
    /// `[{timestamp, data: [{post}], attachments, tags, title}]`
    Facebook,
    /// `[{media: [{uri, creation_timestamp, title}], title, creation_timestamp}]`
    Instagram,
}

#[derive(Default)]
struct Survey {
    threads: Vec<String>,
    posts: Vec<(String, PostsShape)>,
    profiles: Vec<(String, Platform)>,
    facebook: BTreeSet<&'static str>,
    instagram: BTreeSet<&'static str>,
}

impl Survey {
    fn score(&self, platform: Platform) -> u8 {
        let found = self.threads.len()
            + self
                .posts
                .iter()
                .filter(|(_, shape)| match platform {
                    Platform::Facebook => *shape == PostsShape::Facebook,
                    Platform::Instagram => true,
                })
                .count();
        if found == 0 {
            return 0;
        }
        let (mine, theirs) = match platform {
            Platform::Facebook => (self.facebook.len(), self.instagram.len()),
            Platform::Instagram => (self.instagram.len(), self.facebook.len()),
        };
        match mine.cmp(&theirs) {
            std::cmp::Ordering::Greater => 92,
            std::cmp::Ordering::Less => 0,
            // Nothing tells them apart (a lone thread file): Messenger is the likelier.
            std::cmp::Ordering::Equal => match platform {
                Platform::Facebook => 60,
                Platform::Instagram => 55,
            },
        }
    }

    fn evidence(&mut self, head: &str) {
        for marker in [
            "your_instagram_activity",
            "instagram.com",
            "\"original_content_owner\"",
            "\"profile_user\"",
        ] {
            if head.contains(marker) {
                self.instagram.insert(marker);
            }
        }
        for marker in [
            "your_facebook_activity",
            "facebook.com",
            "\"is_unsent_image_by_messenger_kid_parent\"",
            "\"joinable_mode\"",
            "\"profile_v2\"",
        ] {
            if head.contains(marker) {
                self.facebook.insert(marker);
            }
        }
    }
}

fn is_message_file(name: &str) -> bool {
    name.strip_prefix("message_")
        .and_then(|rest| rest.strip_suffix(".json"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn looks_like_thread(head: &str) -> bool {
    let head = head.trim_start();
    head.starts_with('{')
        && head.contains("\"participants\"")
        && (head.contains("\"sender_name\"")
            || head.contains("\"thread_path\"")
            || head.contains("\"timestamp_ms\""))
}

/// What the input holds. For detection (`quick`), a few thread files are enough evidence and
/// the rest of a large export's threads are not opened.
fn survey(input: &Input, quick: bool) -> Survey {
    let mut s = Survey::default();
    let mut other_sniffs = 0;
    for entry in input.entries() {
        let lower = entry.path.to_ascii_lowercase();
        if lower.contains("your_instagram_activity/") {
            s.instagram.insert("folder your_instagram_activity");
        }
        if lower.contains("your_facebook_activity/") {
            s.facebook.insert("folder your_facebook_activity");
        }
        if !lower.ends_with(".json") {
            continue;
        }
        let name = entry.file_name().to_ascii_lowercase();
        if is_message_file(&name) {
            if quick && s.threads.len() >= QUICK_THREADS {
                continue;
            }
            let head = text::decode_utf8(&input.sniff(&entry.path, SNIFF));
            let head = head.trim_start();
            if head.starts_with('{')
                && (head.contains("\"participants\"") || head.contains("\"messages\""))
            {
                s.evidence(head);
                s.threads.push(entry.path.clone());
            }
            continue;
        }
        let posts_name = name.contains("post");
        let profile_name = name.contains("profile") || name.contains("personal_information");
        if !posts_name && !profile_name && other_sniffs >= MAX_OTHER_SNIFFS {
            continue;
        }
        if !posts_name && !profile_name {
            other_sniffs += 1;
        }
        let head = text::decode_utf8(&input.sniff(&entry.path, SNIFF));
        let trimmed = head.trim_start();
        if looks_like_thread(trimmed) {
            s.evidence(trimmed);
            s.threads.push(entry.path.clone());
        } else if posts_name && trimmed.starts_with('[') {
            if trimmed.contains("\"timestamp\"")
                && (trimmed.contains("\"data\"") || trimmed.contains("\"attachments\""))
            {
                s.evidence(trimmed);
                s.posts.push((entry.path.clone(), PostsShape::Facebook));
            } else if trimmed.contains("\"media\"")
                && trimmed.contains("\"creation_timestamp\"")
                && trimmed.contains("\"uri\"")
            {
                s.evidence(trimmed);
                s.instagram.insert("instagram posts");
                s.posts.push((entry.path.clone(), PostsShape::Instagram));
            }
        } else if trimmed.starts_with('{') && trimmed.contains("\"profile_v2\"") {
            s.evidence(trimmed);
            s.profiles.push((entry.path.clone(), Platform::Facebook));
        } else if trimmed.starts_with('{')
            && trimmed.contains("\"profile_user\"")
            && trimmed.contains("\"string_map_data\"")
        {
            s.evidence(trimmed);
            s.profiles.push((entry.path.clone(), Platform::Instagram));
        }
    }
    s
}

/// Who exported the data, as far as the export tells.
#[derive(Default)]
struct Owner {
    name: Option<String>,
    handle: Option<String>,
}

struct Run<'a> {
    platform: Platform,
    input: &'a Input,
    ctx: &'a Context,
    owner: Owner,
    fatal: Option<ConnectorError>,
}

fn parse(
    platform: Platform,
    input: &Input,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let survey = survey(input, false);
    let posts: Vec<(String, PostsShape)> = survey
        .posts
        .iter()
        .filter(|(_, shape)| platform == Platform::Instagram || *shape == PostsShape::Facebook)
        .cloned()
        .collect();
    if survey.threads.is_empty() && posts.is_empty() {
        return Err(ConnectorError::NotThisFormat {
            format: platform.name(),
            location: input.origin().display().to_string(),
            reason: "no message thread (message_N.json with participants and messages) and no posts file".into(),
        });
    }
    let mut run = Run {
        platform,
        input,
        ctx,
        owner: Owner::default(),
        fatal: None,
    };
    for (path, kind) in &survey.profiles {
        if *kind == platform && run.owner.name.is_none() {
            run.owner = read_profile(input, path, platform);
        }
    }

    // Thread headers first: Meta writes `title` and `thread_path` after the messages.
    let headers: Vec<(String, Header)> = survey
        .threads
        .iter()
        .map(|path| (path.clone(), read_header(input, path)))
        .collect();
    let mut post_files = Vec::new();
    for (path, shape) in posts {
        match read_whole(input, &path) {
            Ok(items) => post_files.push((path, shape, items)),
            Err(reason) => sink.skip(input.location(&path), reason),
        }
    }
    if run.owner.name.is_none() {
        run.owner.name = infer_owner(&headers, &post_files);
    }

    let mut read_any = false;
    for (path, shape, items) in post_files {
        read_any = true;
        run.posts(&path, shape, &items, sink)?;
    }
    let mut first_refusal = None;
    for (path, header) in headers {
        match run.thread(&path, &header, sink) {
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

fn fixed_str(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(text::fix_meta_mojibake)
}

fn read_profile(input: &Input, path: &str, platform: Platform) -> Owner {
    let Ok(items) = read_whole(input, path) else {
        return Owner::default();
    };
    match platform {
        Platform::Facebook => {
            let profile = items.get("profile_v2").or_else(|| items.get("profile"));
            Owner {
                name: fixed_str(
                    profile
                        .and_then(|p| p.get("name"))
                        .and_then(|n| n.get("full_name")),
                ),
                handle: fixed_str(profile.and_then(|p| p.get("username"))),
            }
        }
        Platform::Instagram => {
            let map = items
                .get("profile_user")
                .and_then(|p| p.get(0))
                .and_then(|u| u.get("string_map_data"));
            let field =
                |key: &str| fixed_str(map.and_then(|m| m.get(key)).and_then(|f| f.get("value")));
            Owner {
                name: field("Name"),
                handle: field("Username"),
            }
        }
    }
}

fn read_whole(input: &Input, path: &str) -> Result<Value, String> {
    let bytes = input
        .read(path, MAX_WHOLE_FILE)
        .map_err(|e| format!("could not read the file: {e}"))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).map_err(|e| format!("unreadable JSON: {e}"))
}

/// A thread's fields other than its messages.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Header {
    participants: Value,
    title: Value,
    thread_path: Value,
}

impl Header {
    fn participant_names(&self) -> Vec<String> {
        self.participants
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|p| fixed_str(p.get("name")).or_else(|| fixed_str(Some(p))))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn read_header(input: &Input, path: &str) -> Header {
    input
        .with_reader(path, |reader| {
            let reader = text::skip_bom(reader).map_err(|source| ConnectorError::Io {
                path: input.location(path),
                source,
            })?;
            Ok(
                serde_json::from_reader(BufReader::with_capacity(1 << 16, reader))
                    .unwrap_or_default(),
            )
        })
        .unwrap_or_default()
}

/// The owner's name when the export does not say: the participant whose name starts most
/// posts' titles, else the one person in every thread (when there are several).
fn infer_owner(
    headers: &[(String, Header)],
    posts: &[(String, PostsShape, Value)],
) -> Option<String> {
    let names: Vec<Vec<String>> = headers.iter().map(|(_, h)| h.participant_names()).collect();
    let titles: Vec<String> = posts
        .iter()
        .filter(|(_, shape, _)| *shape == PostsShape::Facebook)
        .filter_map(|(_, _, items)| items.as_array())
        .flatten()
        .filter_map(|p| fixed_str(p.get("title")))
        .collect();
    let mut best: Option<(usize, &String)> = None;
    for name in names.iter().flatten() {
        let prefix = format!("{name} ");
        let hits = titles.iter().filter(|t| t.starts_with(&prefix)).count();
        if hits > 0 && best.is_none_or(|(n, b)| hits > n || (hits == n && name.len() > b.len())) {
            best = Some((hits, name));
        }
    }
    if let Some((_, name)) = best {
        return Some(name.clone());
    }
    if names.len() < 2 {
        return None;
    }
    let mut common: BTreeSet<&String> = names[0].iter().collect();
    for list in &names[1..] {
        let set: BTreeSet<&String> = list.iter().collect();
        common = common.intersection(&set).copied().collect();
    }
    (common.len() == 1)
        .then(|| common.into_iter().next().cloned())
        .flatten()
}

/// The folder of a file's path (`a/b/c.json` → `a/b`), or `""`.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// The entry a media `uri` (relative to the export's root) names, looked for under every
/// folder above the JSON file; `None` when the export does not include it.
fn resolve_uri(input: &Input, json_path: &str, uri: &str) -> Option<String> {
    let uri = uri.trim_start_matches("./").trim_start_matches('/');
    if uri.is_empty() || uri.contains("://") {
        return None;
    }
    if input.is_single_file() {
        return None;
    }
    let mut dir = parent(json_path);
    loop {
        let candidate = if dir.is_empty() {
            uri.to_owned()
        } else {
            format!("{dir}/{uri}")
        };
        if input.entry(&candidate).is_some() {
            return Some(candidate);
        }
        if dir.is_empty() {
            return None;
        }
        dir = parent(dir);
    }
}

fn file_name(uri: &str) -> String {
    let clean = uri.split(['?', '#']).next().unwrap_or(uri);
    clean.rsplit('/').next().unwrap_or(clean).to_owned()
}

impl Run<'_> {
    fn source(&self) -> &'static str {
        self.platform.name()
    }

    fn owner_person(&self) -> Person {
        Person {
            name: self
                .owner
                .name
                .clone()
                .or_else(|| self.ctx.me.first().cloned())
                .unwrap_or_else(|| "me".to_owned()),
            handle: self.owner.handle.clone(),
            is_owner: true,
        }
    }

    fn person(&self, name: String) -> Person {
        let is_owner = self.owner.name.as_deref() == Some(name.as_str());
        Person {
            handle: if is_owner {
                self.owner.handle.clone()
            } else {
                None
            },
            name,
            is_owner,
        }
    }

    fn media(&self, json_path: &str, uri: &str) -> PendingAttachment {
        let name = file_name(uri);
        let mime = mime_from_name(&name).map(str::to_owned);
        attachment(name, mime, resolve_uri(self.input, json_path, uri))
    }

    fn posts(
        &mut self,
        path: &str,
        shape: PostsShape,
        items: &Value,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let location = self.input.location(path);
        // Older exports wrap the list: `{"status_updates_v2": [...]}`.
        let list = match items {
            Value::Array(list) => Some(list),
            Value::Object(map) => map.values().find_map(Value::as_array),
            _ => None,
        };
        let Some(list) = list else {
            sink.skip(location, "a posts file that is not a list of posts".into());
            return Ok(());
        };
        let mut occurrences: HashMap<String, u32> = HashMap::new();
        for (i, item) in list.iter().enumerate() {
            let converted = match shape {
                PostsShape::Facebook => self.facebook_post(path, item),
                PostsShape::Instagram => self.instagram_post(path, item),
            };
            match converted {
                Ok(mut parsed) => {
                    let base = parsed.record.external_id.take().unwrap_or_default();
                    let n = occurrences.entry(base.clone()).or_insert(0);
                    *n += 1;
                    parsed.record.external_id = Some(format!("{base}|{n}"));
                    sink.record(parsed)?;
                }
                Err(reason) => sink.skip(format!("{location}:$[{i}]"), reason),
            }
        }
        Ok(())
    }

    fn post_record(
        &self,
        at: i64,
        body: String,
        metadata: BTreeMap<String, String>,
    ) -> Result<RecordData, String> {
        let occurred_at = from_epoch_seconds(at, self.ctx.tz)
            .ok_or_else(|| format!("timestamp {at} is out of range"))?;
        Ok(RecordData {
            source: self.source().into(),
            kind: Kind::Post,
            occurred_at,
            // UTC instants shown in --tz: the offset is not the export's.
            offset_assumed: true,
            external_id: Some(format!("post|{at}|{}", short_hash(&body))),
            author: Some(self.owner_person()),
            participants: Vec::new(),
            conversation: None,
            text: body,
            reply_to: None,
            attachments: Vec::new(),
            metadata,
        })
    }

    fn facebook_post(&self, path: &str, item: &Value) -> Result<Parsed, String> {
        let at = item
            .get("timestamp")
            .and_then(as_i64)
            .ok_or("a post without a timestamp")?;
        let mut metadata = BTreeMap::new();
        let mut body = String::new();
        for data in item
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(post) = fixed_str(data.get("post")) {
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(&post);
            }
        }
        if let Some(title) = fixed_str(item.get("title")) {
            metadata.insert("title".to_owned(), title);
        }
        let tags: Vec<String> = item
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| fixed_str(t.get("name")).or_else(|| fixed_str(Some(t))))
            .collect();
        if !tags.is_empty() {
            metadata.insert("tags".to_owned(), tags.join(", "));
        }
        let mut pending = Vec::new();
        let mut descriptions = Vec::new();
        let mut links = Vec::new();
        let attachment_data = item
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("data").and_then(Value::as_array))
            .flatten();
        for data in attachment_data {
            if let Some(media) = data.get("media") {
                if let Some(uri) = media.get("uri").and_then(Value::as_str) {
                    pending.push(self.media(path, uri));
                }
                if let Some(d) = fixed_str(media.get("description")).filter(|d| !d.is_empty()) {
                    descriptions.push(d);
                }
            }
            if let Some(place) = data.get("place") {
                if let Some(name) = fixed_str(place.get("name")) {
                    metadata.insert("place".to_owned(), name);
                }
                let coordinate = place.get("coordinate");
                let lat = coordinate
                    .and_then(|c| c.get("latitude"))
                    .and_then(Value::as_f64);
                let lon = coordinate
                    .and_then(|c| c.get("longitude"))
                    .and_then(Value::as_f64);
                if let (Some(lat), Some(lon)) = (lat, lon) {
                    metadata.insert("location".to_owned(), format!("{lat},{lon}"));
                }
            }
            if let Some(url) = data
                .get("external_context")
                .and_then(|c| fixed_str(c.get("url")))
            {
                links.push(url);
            }
        }
        if !descriptions.is_empty() {
            metadata.insert("media_descriptions".to_owned(), descriptions.join("\n"));
        }
        if !links.is_empty() {
            metadata.insert("links".to_owned(), links.join("\n"));
        }
        let record = self.post_record(at, body, metadata)?;
        Ok(Parsed { record, pending })
    }

    fn instagram_post(&self, path: &str, item: &Value) -> Result<Parsed, String> {
        let media: Vec<&Value> = item
            .get("media")
            .and_then(Value::as_array)
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        let at = item
            .get("creation_timestamp")
            .and_then(as_i64)
            .or_else(|| {
                media
                    .first()
                    .and_then(|m| m.get("creation_timestamp"))
                    .and_then(as_i64)
            })
            .ok_or("a post without a creation_timestamp")?;
        let body = fixed_str(item.get("title"))
            .filter(|t| !t.is_empty())
            .or_else(|| media.first().and_then(|m| fixed_str(m.get("title"))))
            .unwrap_or_default();
        let pending = media
            .iter()
            .filter_map(|m| m.get("uri").and_then(Value::as_str))
            .map(|uri| self.media(path, uri))
            .collect();
        let record = self.post_record(at, body, BTreeMap::new())?;
        Ok(Parsed { record, pending })
    }

    fn thread(
        &mut self,
        path: &str,
        header: &Header,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let location = self.input.location(path);
        // The thread's folder (`elinlindqvist_10158234567891234`) stays the same when the thread
        // moves between inbox, archived_threads and filtered_threads.
        let folder = parent(path).rsplit('/').next().unwrap_or("").to_owned();
        let thread_id = if folder.is_empty() {
            header
                .thread_path
                .as_str()
                .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned())
                .unwrap_or_else(|| path.to_owned())
        } else {
            folder
        };
        let names = header.participant_names();
        let title = fixed_str(Some(&header.title)).filter(|t| !t.is_empty());
        let conversation = Conversation {
            id: thread_id.clone(),
            name: title.or_else(|| {
                let others: Vec<&str> = names
                    .iter()
                    .filter(|n| self.owner.name.as_deref() != Some(n.as_str()))
                    .map(String::as_str)
                    .collect();
                (!others.is_empty()).then(|| others.join(", "))
            }),
        };
        let participants: Vec<Person> = names.iter().map(|n| self.person(n.clone())).collect();
        let input = self.input;
        let mut state = Thread {
            run: self,
            sink: &mut *sink,
            json_path: path,
            location: location.clone(),
            thread_id,
            conversation,
            participants,
            occurrences: HashMap::new(),
            found: false,
            path: "$".into(),
        };
        let result = input.with_reader(path, |reader| {
            let reader = text::skip_bom(reader).map_err(|source| ConnectorError::Io {
                path: location.clone(),
                source,
            })?;
            let mut de =
                serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, reader));
            Ok(ThreadSeed(&mut state).deserialize(&mut de))
        })?;
        let (found, at) = (state.found, state.path.clone());
        if let Some(fatal) = self.fatal.take() {
            return Err(fatal);
        }
        match result {
            Ok(()) if found => Ok(()),
            Ok(()) => Err(ConnectorError::NotThisFormat {
                format: self.source(),
                location,
                reason: "a JSON object without `messages`".into(),
            }),
            Err(e) if !found => Err(ConnectorError::NotThisFormat {
                format: self.source(),
                location,
                reason: format!("not a message thread: {e}"),
            }),
            Err(e) => {
                sink.skip(
                    format!("{location}:{at}"),
                    format!("unreadable JSON ({e}); the rest of the file was not imported"),
                );
                Ok(())
            }
        }
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

struct Thread<'t, 'a> {
    run: &'t mut Run<'a>,
    sink: &'t mut dyn Sink,
    json_path: &'t str,
    location: String,
    thread_id: String,
    conversation: Conversation,
    participants: Vec<Person>,
    occurrences: HashMap<(i64, String, String), u32>,
    found: bool,
    path: String,
}

struct ThreadSeed<'s, 't, 'a>(&'s mut Thread<'t, 'a>);

impl<'de> DeserializeSeed<'de> for ThreadSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ThreadSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Meta message thread object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "messages" {
                map.next_value_seed(MessagesSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct MessagesSeed<'s, 't, 'a>(&'s mut Thread<'t, 'a>);

impl<'de> DeserializeSeed<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let thread = self.0;
        thread.found = true;
        let mut index = 0usize;
        loop {
            thread.path = format!("$.messages[{index}]");
            let Some(message) = seq.next_element::<Value>()? else {
                return Ok(());
            };
            index += 1;
            match thread.convert(&message) {
                Ok(parsed) => {
                    if let Err(e) = thread.sink.record(parsed) {
                        thread.run.fatal = Some(e);
                        return Err(A::Error::custom("import stopped"));
                    }
                }
                Err(reason) => thread
                    .sink
                    .skip(format!("{}:{}", thread.location, thread.path), reason),
            }
        }
    }
}

const MEDIA_KEYS: [&str; 5] = ["photos", "videos", "audio_files", "files", "gifs"];

impl Thread<'_, '_> {
    fn convert(&mut self, message: &Value) -> Result<Parsed, String> {
        let obj = message
            .as_object()
            .ok_or("a message that is not a JSON object")?;
        let sender = fixed_str(obj.get("sender_name")).ok_or("a message without sender_name")?;
        let ms = obj
            .get("timestamp_ms")
            .and_then(as_i64)
            .ok_or("a message without timestamp_ms")?;
        let occurred_at = from_epoch_millis(ms, self.run.ctx.tz)
            .ok_or_else(|| format!("timestamp_ms {ms} is out of range"))?;
        let body = fixed_str(obj.get("content")).unwrap_or_default();
        let mut metadata = BTreeMap::new();

        let reactions: Vec<String> = obj
            .get("reactions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let emoji = fixed_str(r.get("reaction"))?;
                Some(match fixed_str(r.get("actor")) {
                    Some(actor) => format!("{emoji} {actor}"),
                    None => emoji,
                })
            })
            .collect();
        if !reactions.is_empty() {
            metadata.insert("reactions".to_owned(), reactions.join("; "));
        }
        if let Some(share) = obj.get("share") {
            for (key, name) in [
                ("link", "share_link"),
                ("share_text", "share_text"),
                ("original_content_owner", "share_owner"),
            ] {
                if let Some(v) = fixed_str(share.get(key)).filter(|v| !v.is_empty()) {
                    metadata.insert(name.to_owned(), v);
                }
            }
        }
        if let Some(d) = obj.get("call_duration").and_then(as_i64) {
            metadata.insert("call_duration".to_owned(), d.to_string());
        }
        if obj.get("missed").and_then(Value::as_bool) == Some(true) {
            metadata.insert("call_missed".to_owned(), "true".to_owned());
        }
        if obj.get("is_unsent").and_then(Value::as_bool) == Some(true) {
            metadata.insert("unsent".to_owned(), "true".to_owned());
        }
        if let Some(kind) = fixed_str(obj.get("type")).filter(|t| t != "Generic") {
            metadata.insert("type".to_owned(), kind);
        }
        let mut pending = Vec::new();
        for key in MEDIA_KEYS {
            for item in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(uri) = item.get("uri").and_then(Value::as_str) {
                    pending.push(self.run.media(self.json_path, uri));
                }
            }
        }
        if let Some(uri) = obj
            .get("sticker")
            .and_then(|s| s.get("uri"))
            .and_then(Value::as_str)
        {
            metadata.insert("sticker".to_owned(), "true".to_owned());
            pending.push(self.run.media(self.json_path, uri));
        }

        let hash = short_hash(&body);
        let n = self
            .occurrences
            .entry((ms, sender.clone(), hash.clone()))
            .or_insert(0);
        *n += 1;
        let external_id = format!("{}|{ms}|{sender}|{hash}|{n}", self.thread_id);
        let record = RecordData {
            source: self.run.source().into(),
            kind: Kind::Message,
            occurred_at,
            // UTC instants shown in --tz: the offset is not the export's.
            offset_assumed: true,
            external_id: Some(external_id),
            author: Some(self.run.person(sender)),
            participants: self.participants.clone(),
            conversation: Some(self.conversation.clone()),
            text: body,
            reply_to: None,
            attachments: Vec::new(),
            metadata,
        };
        Ok(Parsed { record, pending })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_file_names() {
        assert!(is_message_file("message_1.json"));
        assert!(is_message_file("message_12.json"));
        assert!(!is_message_file("message_.json"));
        assert!(!is_message_file("messages.json"));
    }

    #[test]
    fn file_names_and_mime() {
        assert_eq!(file_name("a/b/c.jpg?x=1"), "c.jpg");
        assert_eq!(mime_from_name("C.JPG"), Some("image/jpeg"));
        assert_eq!(mime_from_name("noext"), None);
    }
}

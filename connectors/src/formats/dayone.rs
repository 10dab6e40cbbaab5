//! Day One JSON exports ("Export → JSON"): `Journal.json` (one file per journal, named after
//! it) with `photos/`, `videos/`, `audios/` and `pdfs/` folders, as the `.zip` or its folder.
//!
//! ```text
//! {"metadata": {"version": "1.0"},
//!  "entries": [{"uuid", "creationDate": "2025-03-23T21:07:00Z", "timeZone": "Europe/Lisbon",
//!               "text": "# 1:54:08\n\nSub 1:55\\! ...\n\n![](dayone-moment://7545B74A...)",
//!               "photos": [{"identifier": "7545B74A...", "md5": "e8c4...", "type": "jpeg"}],
//!               "tags", "starred", "location": {"placeName", "localityName", "country",
//!               "timeZoneName"}, "weather": {"conditionsDescription", "temperatureCelsius"}}]}
//! ```
//!
//! Each entry is one [`Kind::Journal`] record written by the owner, keyed by its `uuid`; the
//! conversation is the journal (the JSON file's name).
//!
//! Traps, and what this parser does about them:
//!
//! - **`creationDate` is UTC and exact; `timeZone` only says how to show it.** With a valid
//!   `timeZone` the record carries that zone's offset at the instant. Old entries lack
//!   `timeZone`: the instant stays exact and only the displayed offset is inferred, from
//!   `location.timeZoneName` when the entry has one, else from `--tz`; such records are marked
//!   `offset_assumed` and say where the zone came from in `zone_source`.
//! - **Day One escapes Markdown punctuation** it did not write as markup: `\-`, `\!`, `\.`,
//!   `\(`... These backslashes are removed (a backslash before any ASCII punctuation).
//! - **Media are referenced as `![](dayone-moment://<identifier>)`** (and
//!   `dayone-moment:/video/<id>`, `/audio/`, `/pdfAttachment/`). The reference is removed from
//!   the text and the file, `photos/<md5>.<type>` beside the JSON, becomes an attachment (stored
//!   when the export includes it; `jpeg` files are also looked for as `.jpg`). Media listed on an
//!   entry but not referenced in its text are attached too.
//! - `tags`, `starred`, `isPinned`, location names, weather, the device and `modifiedDate` go
//!   to metadata.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, Utc};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use regex::Regex;
use serde_json::{Map, Value};

use crate::input::Input;
use crate::time::parse_zone;
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// The Day One JSON export format.
pub struct DayOne;

const NAME: &str = "dayone";
const MAX_JOURNAL: u64 = 2 << 30;

static MOMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"!?\[[^\]\n]*\]\(dayone-moment:/{1,2}([^)\s]*)\)\n?")
        .unwrap_or_else(|e| panic!("invalid Day One moment pattern: {e}"))
});

/// Media arrays of an entry, with the folder their files are exported to.
const MEDIA: &[(&str, &str)] = &[
    ("photos", "photos"),
    ("videos", "videos"),
    ("audios", "audios"),
    ("pdfAttachments", "pdfs"),
];

fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Removes Day One's backslash escapes before ASCII punctuation.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && next.is_ascii_punctuation()
        {
            out.push(next);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// Whether a JSON file's head looks like a Day One export.
fn looks_like_journal(input: &Input, path: &str) -> bool {
    let head = text::decode_utf8(&input.sniff(path, 8192));
    let head = head.trim_start();
    head.starts_with('{')
        && head.contains("\"entries\"")
        && (head.contains("\"creationDate\"") || head.contains("\"uuid\""))
}

fn journals(input: &Input) -> Vec<String> {
    input
        .entries()
        .iter()
        .filter(|e| e.path.to_ascii_lowercase().ends_with(".json"))
        .filter(|e| {
            !e.path
                .split('/')
                .any(|c| c.starts_with('.') || c == "__MACOSX")
        })
        .filter(|e| looks_like_journal(input, &e.path))
        .map(|e| e.path.clone())
        .collect()
}

fn owner(ctx: &Context) -> Person {
    Person {
        name: ctx.me.first().cloned().unwrap_or_else(|| "me".to_owned()),
        handle: None,
        is_owner: true,
    }
}

/// A media file of an entry, found in the export (case-insensitively; `.jpeg` also as `.jpg`).
fn media_entry(input: &Input, dir: &str, folder: &str, md5: &str, ext: &str) -> Option<String> {
    let mut exts = vec![ext.to_ascii_lowercase()];
    if exts[0] == "jpeg" {
        exts.push("jpg".into());
    }
    let prefix = if dir.is_empty() {
        format!("{folder}/")
    } else {
        format!("{dir}/{folder}/")
    };
    let prefix = prefix.to_ascii_lowercase();
    let md5 = md5.to_ascii_lowercase();
    input
        .entries()
        .iter()
        .find(|e| {
            let lower = e.path.to_ascii_lowercase();
            lower
                .strip_prefix(&prefix)
                .and_then(|name| name.strip_prefix(&md5))
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|found| exts.iter().any(|x| x == found))
        })
        .map(|e| e.path.clone())
}

fn mime_for(folder: &str, ext: &str) -> Option<String> {
    let ext = ext.to_ascii_lowercase();
    Some(match (folder, ext.as_str()) {
        (_, "jpeg" | "jpg") => "image/jpeg".to_owned(),
        (_, "png") => "image/png".to_owned(),
        (_, "heic") => "image/heic".to_owned(),
        (_, "gif") => "image/gif".to_owned(),
        (_, "mov") => "video/quicktime".to_owned(),
        (_, "mp4") => "video/mp4".to_owned(),
        (_, "m4a") => "audio/mp4".to_owned(),
        (_, "pdf") => "application/pdf".to_owned(),
        ("photos", e) => format!("image/{e}"),
        ("videos", e) => format!("video/{e}"),
        ("audios", e) => format!("audio/{e}"),
        _ => return None,
    })
}

/// Media of an entry: identifier → (folder, md5, type).
fn entry_media(obj: &Map<String, Value>) -> Vec<(String, &'static str, String, String)> {
    let mut out = Vec::new();
    for (key, folder) in MEDIA {
        let Some(items) = obj.get(*key).and_then(Value::as_array) else {
            continue;
        };
        for item in items.iter().filter_map(Value::as_object) {
            let Some(md5) = str_of(item, "md5") else {
                continue;
            };
            let id = str_of(item, "identifier").unwrap_or(md5).to_owned();
            let ext = str_of(item, "type")
                .or_else(|| str_of(item, "format"))
                .unwrap_or(match *folder {
                    "photos" => "jpeg",
                    "videos" => "mov",
                    "audios" => "m4a",
                    _ => "pdf",
                })
                .to_owned();
            out.push((id, *folder, md5.to_owned(), ext));
        }
    }
    out
}

fn number(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

struct Journal<'a> {
    input: &'a Input,
    dir: &'a str,
    name: &'a str,
    ctx: &'a Context,
    owner: &'a Person,
}

fn parse_entry(
    j: &Journal<'_>,
    obj: &Map<String, Value>,
    here: String,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let Some(uuid) = str_of(obj, "uuid") else {
        sink.skip(here, "entry has no uuid".into());
        return Ok(());
    };
    let Some(created) = str_of(obj, "creationDate") else {
        sink.skip(here, "entry has no creationDate".into());
        return Ok(());
    };
    let Ok(instant) = DateTime::parse_from_rfc3339(created).map(|t| t.with_timezone(&Utc)) else {
        sink.skip(here, format!("unreadable creationDate {created:?}"));
        return Ok(());
    };
    let mut metadata = BTreeMap::new();
    let location = obj.get("location").and_then(Value::as_object);
    let own_zone = str_of(obj, "timeZone").and_then(|z| parse_zone(z).ok());
    let place_zone = location
        .and_then(|l| str_of(l, "timeZoneName"))
        .and_then(|z| parse_zone(z).ok());
    let (zone, offset_assumed) = match (own_zone, place_zone) {
        (Some(z), _) => (z, false),
        (None, Some(z)) => {
            metadata.insert("zone_source".to_owned(), "location".to_owned());
            (z, true)
        }
        (None, None) => {
            metadata.insert("zone_source".to_owned(), "tz".to_owned());
            (j.ctx.tz, true)
        }
    };
    if let Some(raw) = str_of(obj, "timeZone")
        && own_zone.is_none()
    {
        metadata.insert("timezone_unknown".to_owned(), raw.to_owned());
    }
    let occurred_at: DateTime<FixedOffset> = instant.with_timezone(&zone).fixed_offset();
    metadata.insert("timezone".to_owned(), zone.name().to_owned());

    let media = entry_media(obj);
    let mut pending: Vec<PendingAttachment> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    let mut add = |id: &str, pending: &mut Vec<PendingAttachment>| {
        if used.iter().any(|u| u == id) {
            return;
        }
        used.push(id.to_owned());
        let found = media.iter().find(|(mid, _, md5, _)| mid == id || md5 == id);
        match found {
            Some((_, folder, md5, ext)) => pending.push(PendingAttachment {
                name: format!("{md5}.{ext}"),
                mime: mime_for(folder, ext),
                entry: media_entry(j.input, j.dir, folder, md5, ext),
                data: None,
            }),
            None => pending.push(PendingAttachment {
                name: id.to_owned(),
                mime: None,
                entry: None,
                data: None,
            }),
        }
    };
    let raw_text = obj.get("text").and_then(Value::as_str).unwrap_or("");
    for caps in MOMENT.captures_iter(raw_text) {
        let reference = caps.get(1).map(|m| m.as_str()).unwrap_or("");
        let id = reference.rsplit('/').next().unwrap_or(reference);
        if !id.is_empty() {
            add(id, &mut pending);
        }
    }
    for (id, ..) in &media {
        add(id, &mut pending);
    }
    let without_moments = MOMENT.replace_all(raw_text, "");
    let body = unescape(&without_moments).trim().to_owned();
    if body.is_empty() && pending.is_empty() {
        // An entry started and left empty holds nothing to keep.
        sink.ignore();
        return Ok(());
    }

    if let Some(tags) = obj.get("tags").and_then(Value::as_array) {
        let tags: Vec<&str> = tags.iter().filter_map(Value::as_str).collect();
        if !tags.is_empty() {
            metadata.insert("tags".to_owned(), tags.join(", "));
        }
    }
    for (key, name) in [("starred", "starred"), ("isPinned", "pinned")] {
        if obj.get(key).and_then(Value::as_bool) == Some(true) {
            metadata.insert(name.to_owned(), "true".to_owned());
        }
    }
    if let Some(loc) = location {
        for (key, name) in [
            ("placeName", "place"),
            ("localityName", "locality"),
            ("administrativeArea", "area"),
            ("country", "country"),
        ] {
            if let Some(v) = str_of(loc, key) {
                metadata.insert(name.to_owned(), v.to_owned());
            }
        }
        if let (Some(lat), Some(lon)) = (number(loc.get("latitude")), number(loc.get("longitude")))
        {
            metadata.insert("coordinates".to_owned(), format!("{lat},{lon}"));
        }
    }
    if let Some(weather) = obj.get("weather").and_then(Value::as_object) {
        if let Some(c) = str_of(weather, "conditionsDescription") {
            metadata.insert("weather".to_owned(), c.to_owned());
        }
        if let Some(t) = number(weather.get("temperatureCelsius")) {
            metadata.insert("temperature_c".to_owned(), t);
        }
    }
    for (key, name) in [("modifiedDate", "modified"), ("creationDevice", "device")] {
        if let Some(v) = str_of(obj, key) {
            metadata.insert(name.to_owned(), v.to_owned());
        }
    }
    let record = RecordData {
        source: NAME.into(),
        kind: Kind::Journal,
        occurred_at,
        offset_assumed,
        external_id: Some(uuid.to_owned()),
        author: Some(j.owner.clone()),
        participants: vec![j.owner.clone()],
        conversation: Some(Conversation {
            id: j.name.to_owned(),
            name: Some(j.name.to_owned()),
        }),
        text: body,
        reply_to: None,
        attachments: Vec::new(),
        metadata,
    };
    sink.record(Parsed { record, pending })
}

impl Format for DayOne {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Day One JSON export: Journal.json (+ photos/), zip or folder"
    }

    fn detect(&self, input: &Input) -> u8 {
        if journals(input).is_empty() { 0 } else { 95 }
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let files = journals(input);
        if files.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: NAME,
                location: input.origin().display().to_string(),
                reason: "no JSON file with Day One \"entries\" (Journal.json)".into(),
            });
        }
        let owner = owner(ctx);
        for path in files {
            let location = input.location(&path);
            let bytes = match input.read(&path, MAX_JOURNAL) {
                Ok(b) => b,
                Err(e) => {
                    sink.skip(location, e.to_string());
                    continue;
                }
            };
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let value: Value = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                Err(e) => {
                    sink.skip(location, format!("not valid JSON: {e}"));
                    continue;
                }
            };
            let Some(entries) = value.get("entries").and_then(Value::as_array) else {
                sink.skip(location, "no \"entries\" array".into());
                continue;
            };
            let (dir, file) = path.rsplit_once('/').unwrap_or(("", &path));
            let name = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
            let journal = Journal {
                input,
                dir,
                name,
                ctx,
                owner: &owner,
            };
            for (i, entry) in entries.iter().enumerate() {
                let here = format!("{location}:entries[{i}]");
                match entry.as_object() {
                    Some(obj) => parse_entry(&journal, obj, here, sink)?,
                    None => sink.skip(here, "entry is not a JSON object".into()),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_removed() {
        assert_eq!(unescape("\\- a\\! b \\\\ c \\d"), "- a! b \\ c \\d");
        assert_eq!(unescape("trailing \\"), "trailing \\");
    }

    #[test]
    fn moment_links_are_found() {
        let text = "a\n\n![](dayone-moment://ABC)\nb ![x](dayone-moment:/video/DEF)";
        let ids: Vec<_> = MOMENT
            .captures_iter(text)
            .filter_map(|c| c.get(1).map(|m| m.as_str().to_owned()))
            .collect();
        assert_eq!(ids, ["ABC", "video/DEF"]);
        assert_eq!(MOMENT.replace_all(text, ""), "a\n\nb ");
    }
}

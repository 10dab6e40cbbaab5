//! Folders of Markdown notes (an Obsidian vault, or any folder of `.md` files), as a folder, a
//! `.zip` of it, or a single note.
//!
//! Each `.md` file is one [`Kind::Journal`] record: its text is the body without the YAML front
//! matter, its conversation is the note's folder (`/` for the vault's top level), and its source
//! id is its path inside the vault, so re-importing a vault adds only new notes.
//!
//! Traps, and what this parser does about them:
//!
//! - **Front matter is YAML**, but only a small subset is used in practice: `key: value`, quoted
//!   values, inline lists `[a, b]` and block lists (`- a` lines). That subset is parsed here
//!   (no YAML dependency); nested maps and anything else are ignored, and a front matter that
//!   never closes is treated as part of the body.
//! - **Where the date comes from**, first match wins:
//!   1. front matter `date:` (or `created:`): with an offset it is exact
//!      (`2025-08-17T09:40:00+02:00`); without one, or a bare date, it is wall-clock time in
//!      `--tz` and marked `offset_assumed`;
//!   2. a file name that starts with `YYYY-MM-DD` (daily notes): midnight in `--tz`, assumed;
//!   3. the file's modification time, **only when the input is a folder or a single file**:
//!      an exact instant shown in `--tz` (`offset_assumed`), with `date_source: mtime`;
//!   4. otherwise (a note with no date inside a `.zip`, whose entry times this reader does not
//!      trust) the note is **skipped and reported** with the reason, rather than given a
//!      made-up date.
//!
//!   The metadata `date_source` says which one was used.
//! - **Tags** come from front matter `tags:` (list or comma/space-separated string) and inline
//!   `#tags` in the body, except inside code (fenced or inline), in URLs (`/#anchor`), in
//!   headings (`# Title`), and purely numeric ones (`#1`), as Obsidian does.
//! - **`[[wikilinks]]`** (`[[Note]]`, `[[Note|alias]]`, `[[Note#Heading]]`) are listed in the
//!   `wikilinks` metadata whether or not the note exists; the text keeps them as written.
//! - The `title` metadata is the front matter's `title:`, else the first `# Heading`, else the
//!   file name; other front-matter keys become `front.<key>` metadata.
//! - Dataview fields (`key:: value` lines) become `field.<key>` metadata.
//! - Embedded files (`![[photo.jpg]]`, `![alt](img/photo.png)`) become attachments, stored when
//!   the file is in the input (Obsidian resolves a bare name anywhere in the vault).
//! - `.obsidian/`, `.trash/` and other hidden folders are not notes.
//! - A `.zip` whose files all sit in one top folder (the vault zipped as a folder) has that
//!   folder stripped from source ids, so the zip and the folder give the same ids.
//! - Detection is deliberately modest (30–50): many exports contain a stray `README.md`, so a
//!   folder is only claimed when Markdown files are most of its documents, and never when it
//!   holds another export's marker files (Slack's `users.json`, X's `data/tweets.js`...).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use hearth_vault::{Conversation, Kind, Person, RecordData};
use regex::Regex;

use crate::input::Input;
use crate::time::localize;
use crate::{ConnectorError, Context, Format, Parsed, PendingAttachment, Sink, text};

/// The Markdown notes format.
pub struct Markdown;

const NAME: &str = "markdown";
/// Largest note read.
const MAX_NOTE: u64 = 64 << 20;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid markdown pattern {pattern:?}: {e}"))
}

static INLINE_TAG: LazyLock<Regex> = LazyLock::new(|| regex(r"(?:^|[\s(,;])#([\p{L}\p{N}_/\-]+)"));
static WIKILINK: LazyLock<Regex> = LazyLock::new(|| regex(r"(!?)\[\[([^\[\]\n]+?)\]\]"));
static MD_IMAGE: LazyLock<Regex> = LazyLock::new(|| regex(r"!\[[^\]\n]*\]\(([^)\s]+)[^)]*\)"));
static DATAVIEW: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*([\p{L}][\p{L}\p{N}_ \-]{0,40}?)::\s*(.*?)\s*$"));
static DATE_PREFIX: LazyLock<Regex> = LazyLock::new(|| regex(r"^(\d{4})-(\d{2})-(\d{2})"));
static INLINE_CODE: LazyLock<Regex> = LazyLock::new(|| regex(r"`[^`\n]*`"));

/// Files that mark another kind of export: a folder holding one is not a notes folder.
const OTHER_EXPORT_MARKERS: &[&str] = &[
    "users.json",
    "channels.json",
    "data/tweets.js",
    "data/tweet.js",
    "data/account.js",
    "messages/index.json",
    "result.json",
    "journal.json",
    "_chat.txt",
    "channel.json",
];

/// A parsed front-matter value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Yaml {
    Scalar(String),
    List(Vec<String>),
}

impl Yaml {
    fn items(&self) -> Vec<String> {
        match self {
            Yaml::Scalar(s) => s
                .split([',', ' '])
                .map(|t| t.trim().trim_start_matches('#').to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            Yaml::List(items) => items.clone(),
        }
    }

    fn scalar(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if quoted {
        v[1..v.len() - 1].to_owned()
    } else {
        // An unquoted value ends at a comment.
        v.split(" #").next().unwrap_or(v).trim().to_owned()
    }
}

/// Splits `---\nfront matter\n---\nbody`; `None` when there is no (closed) front matter.
fn split_front_matter(note: &str) -> Option<(&str, &str)> {
    let rest = note
        .strip_prefix("---\n")
        .or_else(|| note.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// The YAML subset front matter uses: top-level `key: value`, inline and block lists.
fn parse_front_matter(yaml: &str) -> BTreeMap<String, Yaml> {
    let mut out = BTreeMap::new();
    let mut list_key: Option<String> = None;
    for line in yaml.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let trimmed = line.trim();
        if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| (trimmed == "-").then_some(""))
        {
            if let Some(key) = &list_key
                && let Some(Yaml::List(items)) = out.get_mut(key)
            {
                let item = unquote(item);
                if !item.is_empty() {
                    items.push(item);
                }
            }
            continue;
        }
        if indented {
            // Nested maps are not used by notes; their lines are ignored.
            continue;
        }
        list_key = None;
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        if value.is_empty() {
            out.insert(key.clone(), Yaml::List(Vec::new()));
            list_key = Some(key);
        } else if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            let items = inner
                .split(',')
                .map(unquote)
                .filter(|s| !s.is_empty())
                .collect();
            out.insert(key, Yaml::List(items));
        } else {
            out.insert(key, Yaml::Scalar(unquote(value)));
        }
    }
    out
}

/// A front-matter date: exact with an offset, else wall-clock time (assumed).
fn parse_date(raw: &str, tz: chrono_tz::Tz) -> Option<(DateTime<FixedOffset>, bool)> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some((t, false));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some((t, false));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(raw, format) {
            return Some((localize(n, tz), true));
        }
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some((localize(date.and_hms_opt(0, 0, 0)?, tz), true))
}

fn date_from_name(stem: &str, tz: chrono_tz::Tz) -> Option<DateTime<FixedOffset>> {
    let caps = DATE_PREFIX.captures(stem)?;
    let n = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let year = i32::try_from(n(1)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, n(2)?, n(3)?)?;
    Some(localize(date.and_hms_opt(0, 0, 0)?, tz))
}

/// The body with code blocks and inline code blanked out, for finding tags and links.
fn without_code(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut fenced = false;
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if !fenced {
            out.push_str(&INLINE_CODE.replace_all(line, " "));
        }
        out.push('\n');
    }
    out
}

fn inline_tags(plain: &str) -> Vec<String> {
    let mut tags = Vec::new();
    for line in plain.lines() {
        // `# Heading` is not a tag; `#tag` at the start of a line is.
        for caps in INLINE_TAG.captures_iter(line) {
            if let Some(m) = caps.get(1) {
                let tag = m.as_str().trim_end_matches(['/', '-']);
                if !tag.is_empty() && !tag.chars().all(|c| c.is_ascii_digit()) {
                    tags.push(tag.to_owned());
                }
            }
        }
    }
    tags
}

/// Whether a note's folder structure has one top folder to strip (a zipped vault folder).
fn common_root(input: &Input, notes: &[String]) -> Option<String> {
    if input.origin().is_dir() || input.is_single_file() {
        return None;
    }
    let first = notes.first()?.split_once('/')?.0.to_owned();
    input
        .entries()
        .iter()
        .all(|e| e.path.starts_with(&format!("{first}/")))
        .then_some(first)
}

fn is_hidden(path: &str) -> bool {
    path.split('/')
        .any(|c| c.starts_with('.') || c == "__MACOSX")
}

fn note_entries(input: &Input) -> Vec<String> {
    input
        .entries()
        .iter()
        .filter(|e| {
            let lower = e.path.to_ascii_lowercase();
            (lower.ends_with(".md") || lower.ends_with(".markdown")) && !is_hidden(&e.path)
        })
        .map(|e| e.path.clone())
        .collect()
}

fn mime_for(name: &str) -> Option<String> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(
        match ext.as_str() {
            "jpg" | "jpeg" => "image/jpeg",
            "png" => "image/png",
            "gif" => "image/gif",
            "webp" => "image/webp",
            "svg" => "image/svg+xml",
            "heic" => "image/heic",
            "pdf" => "application/pdf",
            "mp3" => "audio/mpeg",
            "m4a" => "audio/mp4",
            "mp4" => "video/mp4",
            "mov" => "video/quicktime",
            _ => return None,
        }
        .to_owned(),
    )
}

/// Resolves an embed: relative to the note's folder, else by file name anywhere (Obsidian).
fn resolve_embed(input: &Input, note_dir: &str, target: &str) -> Option<String> {
    let target = target.trim().trim_start_matches("./");
    let decoded = target.replace("%20", " ");
    for candidate in [&decoded, target] {
        let relative = if note_dir.is_empty() {
            candidate.to_owned()
        } else {
            format!("{note_dir}/{candidate}")
        };
        if input.entry(&relative).is_some() {
            return Some(relative);
        }
        if input.entry(candidate).is_some() {
            return Some(candidate.to_owned());
        }
    }
    let name = decoded.rsplit('/').next().unwrap_or(&decoded);
    input
        .entries()
        .iter()
        .find(|e| e.file_name() == name)
        .map(|e| e.path.clone())
}

fn owner(ctx: &Context) -> Person {
    Person {
        name: ctx.me.first().cloned().unwrap_or_else(|| "me".to_owned()),
        handle: None,
        is_owner: true,
    }
}

/// The note's modification time, where the input is on disk (a folder or the file itself).
fn mtime(input: &Input, path: &str) -> Option<DateTime<chrono::Utc>> {
    let full = if input.is_single_file() {
        input.origin().to_path_buf()
    } else if input.origin().is_dir() {
        input.origin().join(path)
    } else {
        return None;
    };
    let modified = std::fs::metadata(full).ok()?.modified().ok()?;
    Some(DateTime::<chrono::Utc>::from(modified))
}

fn parse_note(
    input: &Input,
    path: &str,
    root: Option<&str>,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> Result<(), ConnectorError> {
    let location = input.location(path);
    let bytes = match input.read(path, MAX_NOTE) {
        Ok(b) => b,
        Err(e) => {
            sink.skip(location, e.to_string());
            return Ok(());
        }
    };
    let note = text::decode_utf8(&bytes).replace("\r\n", "\n");
    let (front, body) = match split_front_matter(&note) {
        Some((yaml, body)) => (parse_front_matter(yaml), body),
        None => (BTreeMap::new(), note.as_str()),
    };
    let rel = root
        .and_then(|r| path.strip_prefix(r))
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or(path);
    let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
    let stem = file
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(file)
        .to_owned();
    let mut metadata = BTreeMap::new();

    let front_date = ["date", "created", "date created"]
        .iter()
        .find_map(|k| front.get(*k).and_then(Yaml::scalar));
    let dated = match front_date.and_then(|d| parse_date(d, ctx.tz)) {
        Some((t, assumed)) => Some((t, assumed, "front_matter")),
        None => date_from_name(&stem, ctx.tz)
            .map(|t| (t, true, "file_name"))
            .or_else(|| {
                mtime(input, path).map(|t| (t.with_timezone(&ctx.tz).fixed_offset(), true, "mtime"))
            }),
    };
    let Some((occurred_at, offset_assumed, date_source)) = dated else {
        let why = match front_date {
            Some(d) => format!("front matter date {d:?} is not a date, and "),
            None => String::new(),
        };
        sink.skip(
            location,
            format!(
                "{why}the note has no date (no front matter date:, no YYYY-MM-DD file name, and file times are not read from archives); import the folder itself or add a date: line"
            ),
        );
        return Ok(());
    };
    metadata.insert("date_source".to_owned(), date_source.to_owned());
    if let Some(d) = front_date {
        metadata.insert("date_raw".to_owned(), d.to_owned());
    }

    let title = front
        .get("title")
        .and_then(Yaml::scalar)
        .map(str::to_owned)
        .or_else(|| {
            // Else the note's first `# Heading`, else its file name.
            body.lines()
                .find_map(|l| l.strip_prefix("# "))
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| stem.clone());
    metadata.insert("title".to_owned(), title);

    let plain = without_code(body);
    let mut tags: Vec<String> = Vec::new();
    for key in ["tags", "tag"] {
        if let Some(v) = front.get(key) {
            tags.extend(v.items());
        }
    }
    tags.extend(inline_tags(&plain));
    let mut seen = BTreeSet::new();
    tags.retain(|t| seen.insert(t.clone()));
    if !tags.is_empty() {
        metadata.insert("tags".to_owned(), tags.join(", "));
    }
    if let Some(aliases) = front.get("aliases") {
        let aliases = aliases.items();
        if !aliases.is_empty() {
            metadata.insert("aliases".to_owned(), aliases.join(", "));
        }
    }

    let note_dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut links = Vec::new();
    let mut pending = Vec::new();
    for caps in WIKILINK.captures_iter(&plain) {
        let embed = caps.get(1).is_some_and(|m| !m.as_str().is_empty());
        let inner = caps.get(2).map(|m| m.as_str()).unwrap_or("");
        let target = inner.split('|').next().unwrap_or(inner);
        let target = target.split('#').next().unwrap_or(target).trim();
        if target.is_empty() {
            continue;
        }
        let is_note = !target.contains('.') || target.to_ascii_lowercase().ends_with(".md");
        if embed && !is_note {
            let name = target.rsplit('/').next().unwrap_or(target).to_owned();
            pending.push(PendingAttachment {
                mime: mime_for(&name),
                entry: resolve_embed(input, note_dir, target),
                name,
                data: None,
            });
        } else if !links.iter().any(|l| l == target) {
            links.push(target.to_owned());
        }
    }
    for caps in MD_IMAGE.captures_iter(&plain) {
        let target = caps.get(1).map(|m| m.as_str()).unwrap_or("");
        if target.contains("://") || target.starts_with("data:") {
            continue;
        }
        let decoded = target.replace("%20", " ");
        let name = decoded.rsplit('/').next().unwrap_or(&decoded).to_owned();
        pending.push(PendingAttachment {
            mime: mime_for(&name),
            entry: resolve_embed(input, note_dir, target),
            name,
            data: None,
        });
    }
    if !links.is_empty() {
        metadata.insert("wikilinks".to_owned(), links.join(", "));
    }
    for line in plain.lines() {
        if let Some(caps) = DATAVIEW.captures(line) {
            let key = caps.get(1).map(|m| m.as_str().trim()).unwrap_or("");
            let value = caps.get(2).map(|m| m.as_str()).unwrap_or("");
            if !key.is_empty() {
                metadata.insert(format!("field.{key}"), value.to_owned());
            }
        }
    }
    for (key, value) in &front {
        if matches!(
            key.as_str(),
            "date" | "created" | "date created" | "title" | "tags" | "tag" | "aliases"
        ) {
            continue;
        }
        let value = match value {
            Yaml::Scalar(s) => s.clone(),
            Yaml::List(items) => items.join(", "),
        };
        if !value.is_empty() {
            metadata.insert(format!("front.{key}"), value);
        }
    }

    let (conversation_id, conversation_name) = if dir.is_empty() {
        let vault_name = root
            .map(str::to_owned)
            .or_else(|| {
                input
                    .origin()
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "notes".to_owned());
        ("/".to_owned(), vault_name)
    } else {
        (dir.to_owned(), dir.to_owned())
    };
    let author = owner(ctx);
    let record = RecordData {
        source: NAME.into(),
        kind: Kind::Journal,
        occurred_at,
        offset_assumed,
        external_id: Some(rel.to_owned()),
        author: Some(author.clone()),
        participants: vec![author],
        conversation: Some(Conversation {
            id: conversation_id,
            name: Some(conversation_name),
        }),
        text: body.trim().to_owned(),
        reply_to: None,
        attachments: Vec::new(),
        metadata,
    };
    sink.record(Parsed { record, pending })
}

fn is_document(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [
        ".md",
        ".markdown",
        ".json",
        ".js",
        ".csv",
        ".txt",
        ".html",
        ".htm",
        ".xml",
        ".mbox",
        ".eml",
        ".db",
        ".sqlite",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

fn has_other_export_marker(input: &Input) -> bool {
    input.entries().iter().any(|e| {
        let lower = e.path.to_ascii_lowercase();
        OTHER_EXPORT_MARKERS
            .iter()
            .any(|m| lower == *m || lower.ends_with(&format!("/{m}")))
    })
}

impl Format for Markdown {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Markdown notes (Obsidian vault or any folder of .md files with optional YAML front matter), folder, zip or one file"
    }

    fn detect(&self, input: &Input) -> u8 {
        let notes = note_entries(input);
        if notes.is_empty() || has_other_export_marker(input) {
            return 0;
        }
        let documents = input
            .entries()
            .iter()
            .filter(|e| !is_hidden(&e.path) && is_document(&e.path))
            .count();
        if notes.len() * 2 < documents {
            return 0;
        }
        let obsidian = input
            .entries()
            .iter()
            .any(|e| e.path.starts_with(".obsidian/") || e.path.contains("/.obsidian/"));
        let markdownish = notes.iter().take(10).any(|n| {
            let head = text::decode_utf8(&input.sniff(n, 2048));
            head.starts_with("---\n") || head.contains("[[") || head.contains("\n#")
        });
        match (obsidian, markdownish, notes.len()) {
            (true, _, _) => 50,
            (false, true, n) if n > 1 => 45,
            (false, true, _) => 40,
            (false, false, _) => 30,
        }
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let notes = note_entries(input);
        if notes.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: NAME,
                location: input.origin().display().to_string(),
                reason: "no .md files".into(),
            });
        }
        let root = common_root(input, &notes);
        for note in &notes {
            parse_note(input, note, root.as_deref(), ctx, sink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_subset() {
        let note = "---\ntitle: \"Elin's wedding\"\ndate: 2025-08-17T09:40:00+02:00\ntags:\n  - family\n  - 'wedding'\naliases: [A, \"B C\"]\nnested:\n  key: v\nmood: good # comment\n---\nbody\n";
        let (yaml, body) = split_front_matter(note).unwrap_or(("", ""));
        assert_eq!(body, "body\n");
        let fm = parse_front_matter(yaml);
        assert_eq!(fm["title"], Yaml::Scalar("Elin's wedding".into()));
        assert_eq!(
            fm["tags"],
            Yaml::List(vec!["family".into(), "wedding".into()])
        );
        assert_eq!(fm["aliases"], Yaml::List(vec!["A".into(), "B C".into()]));
        assert_eq!(fm["mood"], Yaml::Scalar("good".into()));
        assert_eq!(fm["nested"], Yaml::List(vec![]));
        assert!(split_front_matter("---\nunclosed: yes\nbody").is_none());
        assert_eq!(
            Yaml::Scalar("#a, b c".into()).items(),
            vec!["a".to_owned(), "b".into(), "c".into()]
        );
    }

    #[test]
    fn tags_skip_code_urls_headings_and_numbers() {
        let body = "# Heading\n#running and #milestone/2025\n`#notcode` https://x.com/#anchor\n```\n#fenced\n```\nfrancesinha #1 (#paren)";
        assert_eq!(
            inline_tags(&without_code(body)),
            vec!["running", "milestone/2025", "paren"]
        );
    }

    #[test]
    fn dates() {
        let tz: chrono_tz::Tz = "Europe/Lisbon".parse().unwrap_or(chrono_tz::UTC);
        let d = |s| parse_date(s, tz).map(|(t, a)| (t.to_rfc3339(), a));
        assert_eq!(
            d("2025-08-17T09:40:00+02:00"),
            Some(("2025-08-17T09:40:00+02:00".into(), false))
        );
        assert_eq!(
            d("2025-04-26"),
            Some(("2025-04-26T00:00:00+01:00".into(), true))
        );
        assert_eq!(
            d("2025-01-02 10:30"),
            Some(("2025-01-02T10:30:00+00:00".into(), true))
        );
        assert_eq!(d("someday"), None);
        assert_eq!(
            date_from_name("2025-03-23 race", tz).map(|t| t.to_rfc3339()),
            Some("2025-03-23T00:00:00+00:00".into())
        );
        assert_eq!(date_from_name("2025-13-40", tz), None);
    }
}

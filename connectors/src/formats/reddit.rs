//! Reddit's GDPR data export ("Request your data"): a folder (or `.zip`) of CSV files, of which
//! three hold what the account wrote:
//!
//! ```text
//! posts.csv     id,permalink,date,ip,subreddit,gildings,title,url,body
//! comments.csv  id,permalink,date,ip,subreddit,gildings,link,parent,body,media
//! messages.csv  id,permalink,thread_id,date,ip,from,to,subject,body
//! ```
//!
//! Files are recognised by their header row, not their name (`messages_archive.csv` has the
//! same header as `messages.csv`; some versions add columns such as `gildings_silver`). Every
//! other CSV in the export (votes, subscriptions, IP logs...) is left alone. Google Takeout's
//! YouTube `comments.csv` has other columns and is not claimed.
//!
//! Traps:
//!
//! - **Quoting:** bodies are RFC 4180 quoted, span lines and double their quotes (`""`).
//! - **Dates:** `2023-01-15 12:34:56 UTC`; stored as that instant, shown in the `--tz` offset
//!   and marked `offset_assumed` (the offset is not the export's).
//! - **Removed content:** a body of `[deleted]` or `[removed]` is not text the owner can get
//!   back. The item is still imported (its time, subreddit and thread are real) with an empty
//!   body and metadata `removed` = `deleted` or `removed`; a post keeps its title.
//! - **The owner's name** is not in posts or comments. It is taken from `statistics.csv`
//!   (`account name`), else from the name that is in every message's `from` or `to`, else the
//!   first `--me`; posts and comments are marked as the owner's in any case.
//!
//! Records use Reddit's own "fullname" ids as `external_id`, so a later import from the API
//! matches: `t3_` + id for posts ([`Kind::Post`]), `t1_` + id for comments ([`Kind::Comment`];
//! `reply_to` is the parent comment `t1_...`, or the post `t3_...` taken from `link` for
//! top-level comments), `t4_` + id for messages ([`Kind::Message`]; `reply_to` is the thread's
//! first message). The conversation is the subreddit (`r/name`) for posts and comments and the
//! message thread (`t4_` + `thread_id`, named by its subject) for messages. The post text is
//! `title`, a blank line and the body (or the link, for link posts); a comment's and a message's
//! is its body, with the message subject in metadata.
//!
//! A row with an unreadable date or without an id is skipped and reported with its line.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use hearth_vault::{Conversation, Kind, Person, RecordData};

use crate::input::{Entry, Input};
use crate::{ConnectorError, Context, Format, Parsed, Sink, text};

/// Reddit's GDPR export.
pub struct Reddit;

/// Largest CSV file read.
const MAX_CSV: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    Posts,
    Comments,
    Messages,
}

/// Which table a header row is, if any.
fn table(header: &[String]) -> Option<Table> {
    let has = |name: &str| header.iter().any(|h| h == name);
    let common = has("id") && has("permalink") && has("date") && has("body");
    if !common {
        return None;
    }
    if has("subreddit") && has("title") && has("url") {
        Some(Table::Posts)
    } else if has("subreddit") && has("link") && has("parent") {
        Some(Table::Comments)
    } else if has("from") && has("to") && has("subject") {
        Some(Table::Messages)
    } else {
        None
    }
}

fn header_of(bytes: &[u8]) -> Vec<String> {
    let text = text::decode_utf8(bytes);
    let first = text.lines().next().unwrap_or("");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(first.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        _ => Vec::new(),
    }
}

fn entry_table(input: &Input, entry: &Entry) -> Option<Table> {
    if !entry.path.to_ascii_lowercase().ends_with(".csv") {
        return None;
    }
    table(&header_of(&input.sniff(&entry.path, 2048)))
}

fn parse_date(raw: &str, tz: chrono_tz::Tz) -> Option<DateTime<FixedOffset>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&tz).fixed_offset());
    }
    // `2023-01-15 12:34:56 UTC`; without the `UTC` the export still means UTC.
    let naive = raw.strip_suffix("UTC").unwrap_or(raw).trim();
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| n.and_utc().with_timezone(&tz).fixed_offset())
}

/// The post id in a comment's `link` (`https://www.reddit.com/r/x/comments/<id>/...`).
fn post_id(link: &str) -> Option<&str> {
    let rest = link.split("/comments/").nth(1)?;
    let id = rest.split('/').next()?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())).then_some(id)
}

fn fullname(prefix: &str, id: &str) -> String {
    if id.starts_with("t1_") || id.starts_with("t3_") || id.starts_with("t4_") {
        id.to_owned()
    } else {
        format!("{prefix}{id}")
    }
}

fn removed_marker(body: &str) -> Option<&'static str> {
    match body.trim() {
        "[deleted]" => Some("deleted"),
        "[removed]" => Some("removed"),
        _ => None,
    }
}

/// A CSV table read row by row: the header's column indexes and each row's fields.
struct Rows<'a> {
    columns: BTreeMap<String, usize>,
    location: &'a str,
}

impl Rows<'_> {
    fn get<'r>(&self, row: &'r csv::StringRecord, name: &str) -> &'r str {
        self.columns
            .get(name)
            .and_then(|&i| row.get(i))
            .unwrap_or("")
    }
}

/// Reads `entry` as CSV, calling `each` with the table and every row and its line number.
fn read_csv(
    input: &Input,
    entry: &str,
    sink: &mut dyn Sink,
    mut each: impl FnMut(
        &Rows<'_>,
        &csv::StringRecord,
        u64,
        &mut dyn Sink,
    ) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    let location = input.location(entry);
    let size = input.entry(entry).map_or(0, |e| e.size);
    if size > MAX_CSV {
        sink.skip(
            location,
            format!("{size} bytes is more than a Reddit export file has; skipped"),
        );
        return Ok(());
    }
    input.with_reader(entry, |reader| {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(reader);
        let mut record = csv::ByteRecord::new();
        let mut rows: Option<Rows<'_>> = None;
        loop {
            let before = csv.position().byte();
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let fields: csv::StringRecord = record
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            let f = if i == 0 && line == 1 {
                                f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
                            } else {
                                f
                            };
                            String::from_utf8_lossy(f).into_owned()
                        })
                        .collect();
                    match &rows {
                        None => {
                            rows = Some(Rows {
                                columns: fields
                                    .iter()
                                    .enumerate()
                                    .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
                                    .collect(),
                                location: &location,
                            });
                        }
                        Some(table) => each(table, &fields, line, sink)?,
                    }
                }
                Err(e) => {
                    if let csv::ErrorKind::Io(_) = e.kind() {
                        return Err(ConnectorError::Io {
                            path: location.clone(),
                            source: std::io::Error::other(e.to_string()),
                        });
                    }
                    let line = e.position().map_or(0, |p| p.line());
                    sink.skip(format!("{location}:{line}"), format!("bad CSV row: {e}"));
                    if csv.position().byte() == before {
                        break;
                    }
                }
            }
        }
        Ok(())
    })
}

/// The account's name from `statistics.csv` (`statistic,value` rows), if the export has it.
fn account_from_statistics(input: &Input) -> Option<String> {
    let entry = input
        .entries()
        .iter()
        .find(|e| e.file_name().eq_ignore_ascii_case("statistics.csv"))?;
    let bytes = input.read(&entry.path, 1 << 20).ok()?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(&bytes[..]);
    for row in reader.records().flatten() {
        let key = row.get(0).unwrap_or("").trim().to_ascii_lowercase();
        if key == "account name" || key == "account_name" || key == "username" {
            let name = row.get(1).unwrap_or("").trim();
            if !name.is_empty() {
                return Some(name.trim_start_matches("u/").to_owned());
            }
        }
    }
    None
}

/// The name in every message's `from` or `to`, when exactly one is.
fn account_from_messages(input: &Input, entries: &[(String, Table)]) -> Option<String> {
    let mut common: Option<BTreeSet<String>> = None;
    for (entry, t) in entries {
        if *t != Table::Messages {
            continue;
        }
        let found = input.with_reader(entry, |reader| {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
            let Ok(header) = reader.headers() else {
                return Ok(());
            };
            let position = |name: &str| {
                header.iter().position(|h| {
                    h.trim()
                        .trim_start_matches('\u{FEFF}')
                        .eq_ignore_ascii_case(name)
                })
            };
            let (Some(from), Some(to)) = (position("from"), position("to")) else {
                return Ok(());
            };
            for row in reader.records().map_while(Result::ok) {
                let names: BTreeSet<String> = [row.get(from), row.get(to)]
                    .into_iter()
                    .flatten()
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect();
                common = Some(match common.take() {
                    None => names,
                    Some(c) => c.intersection(&names).cloned().collect(),
                });
            }
            Ok(())
        });
        if found.is_err() {
            return None;
        }
    }
    let common = common?;
    (common.len() == 1)
        .then(|| common.into_iter().next())
        .flatten()
}

impl Format for Reddit {
    fn name(&self) -> &'static str {
        "reddit"
    }

    fn description(&self) -> &'static str {
        "Reddit GDPR data export: posts.csv, comments.csv, messages.csv (folder or .zip)"
    }

    fn detect(&self, input: &Input) -> u8 {
        let tables: BTreeSet<_> = input
            .entries()
            .iter()
            .filter(|e| e.path.to_ascii_lowercase().ends_with(".csv"))
            .take(100)
            .filter_map(|e| entry_table(input, e))
            .collect();
        match tables.len() {
            0 => 0,
            1 => 85,
            _ => 95,
        }
    }

    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError> {
        let mut entries: Vec<(String, Table)> = input
            .entries()
            .iter()
            .filter_map(|e| entry_table(input, e).map(|t| (e.path.clone(), t)))
            .collect();
        if entries.is_empty() {
            return Err(ConnectorError::NotThisFormat {
                format: "reddit",
                location: input.origin().display().to_string(),
                reason: "no CSV file with the columns of posts.csv (id,permalink,date,subreddit,title,url,body), comments.csv (id,permalink,date,subreddit,link,parent,body) or messages.csv (id,permalink,date,from,to,subject,body)".into(),
            });
        }
        entries.sort_by_key(|(path, t)| (*t as u8, path.clone()));
        let account = account_from_statistics(input)
            .or_else(|| account_from_messages(input, &entries))
            .or_else(|| ctx.me.first().cloned());
        let owner = Person {
            name: account.clone().unwrap_or_else(|| "me".to_owned()),
            handle: account.clone(),
            is_owner: true,
        };
        for (entry, t) in &entries {
            read_csv(input, entry, sink, |rows, row, line, sink| {
                match build(*t, rows, row, ctx, &owner, account.as_deref()) {
                    Ok(parsed) => sink.record(parsed),
                    Err(reason) => {
                        sink.skip(format!("{}:{line}", rows.location), reason);
                        Ok(())
                    }
                }
            })?;
        }
        Ok(())
    }
}

fn person(name: &str, account: Option<&str>) -> Person {
    Person {
        name: name.to_owned(),
        handle: Some(name.to_owned()),
        is_owner: account.is_some_and(|a| a.eq_ignore_ascii_case(name)),
    }
}

/// One row as a record, or why it cannot be one.
fn build(
    table: Table,
    rows: &Rows<'_>,
    row: &csv::StringRecord,
    ctx: &Context,
    owner: &Person,
    account: Option<&str>,
) -> Result<Parsed, String> {
    let field = |name: &str| rows.get(row, name).trim();
    let id = field("id");
    if id.is_empty() {
        return Err("row without an id".into());
    }
    let raw_date = field("date");
    let occurred_at =
        parse_date(raw_date, ctx.tz).ok_or_else(|| format!("unreadable date {raw_date:?}"))?;
    let mut metadata = BTreeMap::new();
    let mut keep = |key: &str, value: &str| {
        let value = value.trim();
        if !value.is_empty() {
            metadata.insert(key.to_owned(), value.to_owned());
        }
    };
    keep("permalink", field("permalink"));
    keep("ip", field("ip"));
    let gildings = field("gildings");
    if gildings != "0" {
        keep("gildings", gildings);
    }
    let raw_body = rows.get(row, "body");
    let removed = removed_marker(raw_body);
    let body = if removed.is_some() {
        ""
    } else {
        raw_body.trim_end()
    };
    if let Some(marker) = removed {
        keep("removed", marker);
    }
    let subreddit = || {
        let name = field("subreddit").trim_start_matches("r/");
        (!name.is_empty()).then(|| Conversation {
            id: format!("r/{name}"),
            name: Some(format!("r/{name}")),
        })
    };
    let (kind, external_id, author, participants, conversation, text, reply_to) = match table {
        Table::Posts => {
            let title = field("title");
            let url = field("url");
            keep("title", title);
            keep("url", url);
            let mut text = title.to_owned();
            let extra = if !body.is_empty() {
                body
            } else if !url.is_empty() && url != field("permalink") {
                url
            } else {
                ""
            };
            if !extra.is_empty() {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(extra);
            }
            (
                Kind::Post,
                fullname("t3_", id),
                Some(owner.clone()),
                vec![owner.clone()],
                subreddit(),
                text,
                None,
            )
        }
        Table::Comments => {
            let link = field("link");
            keep("link", link);
            keep("media", field("media"));
            let parent = field("parent");
            let reply_to = if !parent.is_empty() {
                Some(fullname("t1_", parent))
            } else {
                post_id(link).map(|p| format!("t3_{p}"))
            };
            (
                Kind::Comment,
                fullname("t1_", id),
                Some(owner.clone()),
                vec![owner.clone()],
                subreddit(),
                body.to_owned(),
                reply_to,
            )
        }
        Table::Messages => {
            let from = field("from");
            let to = field("to");
            let subject = field("subject");
            keep("subject", subject);
            let thread = field("thread_id");
            let root = if thread.is_empty() { id } else { thread };
            let name = subject
                .strip_prefix("re: ")
                .or_else(|| subject.strip_prefix("Re: "))
                .unwrap_or(subject);
            let participants: Vec<Person> = [from, to]
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| person(n, account))
                .collect();
            (
                Kind::Message,
                fullname("t4_", id),
                (!from.is_empty()).then(|| person(from, account)),
                participants,
                Some(Conversation {
                    id: fullname("t4_", root),
                    name: (!name.is_empty()).then(|| name.to_owned()),
                }),
                body.to_owned(),
                (!thread.is_empty()).then(|| fullname("t4_", thread)),
            )
        }
    };
    let record = RecordData {
        source: "reddit".into(),
        kind,
        occurred_at,
        // UTC instants shown in --tz: the offset is not the export's.
        offset_assumed: true,
        external_id: Some(external_id),
        author,
        participants,
        conversation,
        text,
        reply_to,
        attachments: Vec::new(),
        metadata,
    };
    Ok(Parsed::new(record))
}

//! `hearth add` and `hearth records ...`.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context;
use chrono::{DateTime, FixedOffset, Local, SubsecRound};
use clap::{Args, Subcommand};
use hearth_vault::{Id, Kind, Record, RecordData, RecordFilter, Vault};
use hearth_web::node::control::{self, ControlRequest, ControlResponse, NoteIn};
use hearth_web::node::owner_note;
use serde::Serialize;

use super::output::{RecordJson, print_json, record_line};
use super::{Global, UsageError, args, secret};

/// Most lines committed in one transaction by `add --stdin`.
const STDIN_BATCH: usize = 2048;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["text", "stdin"]))]
pub(crate) struct AddArgs {
    /// The record's text
    #[arg(long)]
    text: Option<String>,
    /// Read one record per line from standard input (empty lines are skipped)
    #[arg(long)]
    stdin: bool,
    /// Source name
    #[arg(long, default_value = "note")]
    source: String,
    /// Record kind (message, post, comment, email, note, journal)
    #[arg(long, default_value = "note", value_parser = |s: &str| s.parse::<Kind>())]
    kind: Kind,
    /// When it happened (RFC 3339 or YYYY-MM-DD) [default: now]
    #[arg(long, value_parser = args::parse_time)]
    at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Only this source (repeatable)
    #[arg(long = "source", value_name = "SOURCE")]
    sources: Vec<String>,
    /// Only records at or after this time
    #[arg(long, value_parser = args::parse_instant)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only records before this time
    #[arg(long, value_parser = args::parse_instant)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many records
    #[arg(long)]
    limit: Option<usize>,
    /// Skip this many records first
    #[arg(long, default_value_t = 0)]
    offset: usize,
}

impl FilterArgs {
    fn to_filter(&self) -> RecordFilter {
        RecordFilter {
            sources: self.sources.clone(),
            since: self.since,
            until: self.until,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum RecordsCommand {
    /// List records in time order
    List(FilterArgs),
    /// Show one record in full
    Show {
        /// The record's id
        id: Id,
    },
    /// Find records whose text, author or conversation contains QUERY (case-insensitive scan)
    Search {
        /// Text to look for
        query: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Delete records for good: by id, or every record of a source
    #[command(group = clap::ArgGroup::new("what").required(true).args(["ids", "source"]))]
    Delete {
        /// Ids of the records to delete
        ids: Vec<Id>,
        /// Delete every record of this source
        #[arg(long)]
        source: Option<String>,
    },
}

fn open(global: &Global, write: bool) -> anyhow::Result<Vault> {
    let dir = global.vault_dir()?;
    let unlock = secret::unlock(global)?;
    Ok(Vault::open(&dir, &unlock, write)?)
}

#[derive(Serialize)]
struct AddedJson {
    id: String,
    occurred_at: String,
    /// 1-based line number of standard input, for `--stdin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
}

pub(crate) fn add(global: &Global, args: AddArgs) -> anyhow::Result<ExitCode> {
    let record = |text: String| {
        // The vault keeps milliseconds; so does what we print back.
        let at = args
            .at
            .unwrap_or_else(|| Local::now().fixed_offset())
            .trunc_subsecs(3);
        owner_note(&args.source, args.kind, text, at)
    };
    if let Some(text) = &args.text {
        if text.trim().is_empty() {
            return Err(UsageError("--text is empty".into()).into());
        }
        let data = record(text.clone());
        // A node running on the vault holds its writer lock: it stores the record.
        let request = add_request(&args, std::slice::from_ref(&data));
        let id = match super::through_node(global, &request, &mut |_| {})? {
            Some(answer) => {
                note_of_node(&answer);
                answer
                    .ids
                    .first()
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("the running node stored nothing"))?
            }
            None => open(global, true)?.insert(&data, "cli")?.id().to_string(),
        };
        if global.json {
            print_json(&AddedJson {
                id,
                occurred_at: data.occurred_at.to_rfc3339(),
                line: None,
            })?;
        } else {
            println!("{id}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // --stdin: through the node when one runs (asked before any input is read), else into the
    // vault; a reader thread feeds lines; each batch is committed, then acknowledged.
    let dir = global.vault_dir()?;
    let mut vault = match control::send(&dir, &ControlRequest::Ping)? {
        Some(_) => None,
        None => Some(open(global, true)?),
    };
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<(u64, String)>>(STDIN_BATCH * 2);
    std::thread::spawn(move || {
        let stdin = std::io::stdin().lock();
        for (i, line) in stdin.lines().enumerate() {
            let stop = line.is_err();
            if tx.send(line.map(|l| (i as u64 + 1, l))).is_err() || stop {
                break;
            }
        }
    });
    let mut stdout = std::io::stdout().lock();
    let mut total = 0u64;
    let mut noted = false;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < STDIN_BATCH {
            match rx.try_recv() {
                Ok(line) => batch.push(line),
                Err(_) => break,
            }
        }
        let mut lines = Vec::with_capacity(batch.len());
        for item in batch {
            let (number, text) = item.context("reading standard input")?;
            if !text.trim().is_empty() {
                lines.push((number, record(text)));
            }
        }
        if lines.is_empty() {
            continue;
        }
        let data: Vec<RecordData> = lines.iter().map(|(_, d)| d.clone()).collect();
        let ids: Vec<String> = match vault.as_mut() {
            Some(vault) => vault
                .insert_batch(&data, "cli")?
                .iter()
                .map(|o| o.id().to_string())
                .collect(),
            None => {
                let mut ids = Vec::with_capacity(data.len());
                for part in node_batches(&lines)? {
                    let request = add_request(&args, &data[part]);
                    let answer =
                        super::through_node(global, &request, &mut |_| {})?.ok_or_else(|| {
                            anyhow::anyhow!("the node stopped while adding: the rest was not added")
                        })?;
                    if !noted {
                        noted = note_of_node(&answer);
                    }
                    ids.extend(answer.ids);
                }
                ids
            }
        };
        anyhow::ensure!(
            ids.len() == lines.len(),
            "stored {} of {} records",
            ids.len(),
            lines.len()
        );
        total += ids.len() as u64;
        if global.json {
            for ((number, data), id) in lines.iter().zip(ids) {
                let ack = AddedJson {
                    id,
                    occurred_at: data.occurred_at.to_rfc3339(),
                    line: Some(*number),
                };
                serde_json::to_writer(&mut stdout, &ack)?;
                stdout.write_all(b"\n")?;
            }
            stdout.flush()?;
        }
    }
    if !global.json {
        println!("added {total} records");
    }
    Ok(ExitCode::SUCCESS)
}

/// The node's `add` request for these records.
fn add_request(args: &AddArgs, data: &[RecordData]) -> ControlRequest {
    ControlRequest::Add {
        source: args.source.clone(),
        kind: args.kind.to_string(),
        notes: data
            .iter()
            .map(|d| NoteIn {
                text: d.text.clone(),
                at: d.occurred_at.to_rfc3339(),
            })
            .collect(),
    }
}

/// Prints the node's note (its memory build failed; the records are stored); whether there
/// was one.
fn note_of_node(answer: &ControlResponse) -> bool {
    if let Some(note) = &answer.note {
        eprintln!("note: {note}");
    }
    answer.note.is_some()
}

/// Splits numbered lines into requests the node's socket takes: at most
/// [`control::MAX_ADD_BATCH`] lines and [`control::MAX_ADD_BYTES`] of escaped text each; a
/// line alone may be larger, up to the request limit.
fn node_batches(lines: &[(u64, RecordData)]) -> anyhow::Result<Vec<std::ops::Range<usize>>> {
    let single_max = control::MAX_REQUEST as usize - 4096;
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (number, data)) in lines.iter().enumerate() {
        let size = serde_json::to_string(&data.text)?.len() + 64;
        if size > single_max {
            return Err(UsageError(format!(
                "line {number} is too long to add through the running node (at most {} MiB \
                 as JSON); stop the node to add it",
                single_max >> 20
            ))
            .into());
        }
        if i > start
            && (i - start >= control::MAX_ADD_BATCH || bytes + size > control::MAX_ADD_BYTES)
        {
            parts.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < lines.len() {
        parts.push(start..lines.len());
    }
    Ok(parts)
}

pub(crate) fn run(global: &Global, command: RecordsCommand) -> anyhow::Result<ExitCode> {
    match command {
        RecordsCommand::List(filter) => {
            let vault = open(global, false)?;
            let records = vault.list(&filter.to_filter())?;
            print_records(global, &records)
        }
        RecordsCommand::Show { id } => {
            let vault = open(global, false)?;
            let record = vault.get(&id)?;
            if global.json {
                print_json(&RecordJson::from(&record))?;
            } else {
                print_full(&record);
            }
            Ok(ExitCode::SUCCESS)
        }
        RecordsCommand::Search { query, filter } => {
            let vault = open(global, false)?;
            let records = search(&vault, &query, &filter)?;
            print_records(global, &records)
        }
        RecordsCommand::Delete { ids, source } => {
            let mut vault = open(global, true)?;
            let deleted = match source {
                Some(source) => vault.delete_source(&source, "cli")?,
                None => vault.delete(&ids, "cli")?,
            };
            // Their memories are forgotten at once, not at the next build.
            let forgotten = if deleted > 0 {
                super::memories::forget_deleted(&mut vault)?
            } else {
                0
            };
            if global.json {
                print_json(
                    &serde_json::json!({ "deleted": deleted, "memories_forgotten": forgotten }),
                )?;
            } else {
                println!("deleted {deleted} records");
                if forgotten > 0 {
                    println!("forgot {forgotten} memories made from them");
                }
            }
            if deleted == 0 && !ids.is_empty() {
                return Err(anyhow::anyhow!("no record with those ids"));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A plain scan: opens every record the filter selects and keeps those that match.
fn search(vault: &Vault, query: &str, filter: &FilterArgs) -> anyhow::Result<Vec<Record>> {
    let needle = query.to_lowercase();
    let mut scan = filter.to_filter();
    let (limit, offset) = (scan.limit.take(), std::mem::take(&mut scan.offset));
    let mut found = Vec::new();
    let mut skipped = 0;
    let mut failure = None;
    vault.visit(&scan, |r| {
        let record = match r {
            Ok(record) => record,
            Err(e) => {
                failure = Some(e);
                return false;
            }
        };
        let d = &record.data;
        let hit = d.text.to_lowercase().contains(&needle)
            || d.author
                .as_ref()
                .is_some_and(|a| a.name.to_lowercase().contains(&needle))
            || d.conversation
                .as_ref()
                .and_then(|c| c.name.as_ref())
                .is_some_and(|n| n.to_lowercase().contains(&needle));
        if hit {
            if skipped < offset {
                skipped += 1;
            } else {
                found.push(record);
            }
        }
        limit.is_none_or(|l| found.len() < l)
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok(found)
}

fn print_records(global: &Global, records: &[Record]) -> anyhow::Result<ExitCode> {
    if global.json {
        let list: Vec<RecordJson> = records.iter().map(RecordJson::from).collect();
        print_json(&list)?;
    } else {
        let mut out = std::io::stdout().lock();
        for record in records {
            writeln!(out, "{}", record_line(record))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_full(r: &Record) {
    let d = &r.data;
    println!("id:           {}", r.id);
    println!("source:       {} ({})", d.source, d.kind);
    let assumed = if d.offset_assumed {
        " (offset assumed)"
    } else {
        ""
    };
    println!("occurred at:  {}{assumed}", d.occurred_at.to_rfc3339());
    println!("imported at:  {}", r.imported_at.to_rfc3339());
    if let Some(author) = &d.author {
        let owner = if author.is_owner { " (you)" } else { "" };
        println!("author:       {}{owner}", author.name);
    }
    if !d.participants.is_empty() {
        let names: Vec<&str> = d.participants.iter().map(|p| p.name.as_str()).collect();
        println!("participants: {}", names.join(", "));
    }
    if let Some(c) = &d.conversation {
        println!("conversation: {}", c.name.as_deref().unwrap_or(&c.id));
    }
    if let Some(reply) = &d.reply_to {
        println!("reply to:     {reply}");
    }
    for a in &d.attachments {
        println!("attachment:   {} ({} bytes)", a.name, a.size);
    }
    for (k, v) in &d.metadata {
        println!("{:<13} {v}", format!("{k}:"));
    }
    println!();
    println!("{}", d.text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[String]) -> Vec<(u64, RecordData)> {
        let at = Local::now().fixed_offset();
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as u64 + 1, owner_note("note", Kind::Note, t.clone(), at)))
            .collect()
    }

    #[test]
    fn stdin_batches_fit_the_nodes_socket() {
        // By count.
        let many = lines(&vec!["x".to_owned(); control::MAX_ADD_BATCH + 1]);
        let parts = node_batches(&many).unwrap();
        assert_eq!(
            parts,
            vec![
                0..control::MAX_ADD_BATCH,
                control::MAX_ADD_BATCH..many.len()
            ]
        );
        // By escaped bytes: control characters take six bytes each in JSON.
        let third = "\u{1}".repeat(control::MAX_ADD_BYTES / 6 / 3 + 1);
        let big = lines(&vec![third; 3]);
        let parts = node_batches(&big).unwrap();
        assert_eq!(parts, vec![0..2, 2..3]);
        // A line alone past the request limit is refused, naming it.
        let huge = lines(&["ok".to_owned(), "y".repeat(control::MAX_REQUEST as usize)]);
        let e = node_batches(&huge).unwrap_err().to_string();
        assert!(e.starts_with("line 2 is too long"), "{e}");
        assert!(node_batches(&[]).unwrap().is_empty());
    }
}

//! The import pipeline: pick the format, parse, store attachments, insert records in batches.
//!
//! Idempotent and resumable: every record's identity is the vault's keyed content hash, so
//! importing the same export twice, an overlapping later export, or the rest of an import that
//! was killed half-way adds only what is missing. Each batch is committed (and audited) as one
//! transaction, so a crash loses at most the batch in flight, which the next run adds.

use std::path::Path;

use hearth_vault::{Attachment, AuditEvent, InsertOutcome, Person, Vault};

use crate::input::Input;
use crate::{ConnectorError, Context, Format, Parsed, Sink, formats};

/// Records per transaction. Each commit is a durable write (an fsync) and rewrites the index
/// pages its records touched, so larger batches import much faster: 10 000 records are a few
/// megabytes held at once, and a crash loses only the batch in flight (the next run adds it).
const BATCH: usize = 10_000;
/// Issues kept in the summary (all are counted).
const MAX_ISSUES: usize = 1000;
/// Largest attachment stored (bigger ones are recorded by name only, and reported).
const MAX_ATTACHMENT: u64 = 4 << 30;
/// Attachment bytes carried in a batch (`PendingAttachment::data`) before it is flushed early,
/// so that memory stays bounded however large the input is.
const MAX_BATCH_DATA: usize = 8 << 20;
/// Text bytes carried in a batch before it is flushed early (long emails), for the same reason.
const MAX_BATCH_TEXT: usize = 4 << 20;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Force a format by name instead of detecting it.
    pub format: Option<String>,
    /// Zone, date order and owner.
    pub context: Context,
    /// Who is importing, for the audit log.
    pub actor: String,
}

/// One item that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// File and line, or file and JSON path.
    pub location: String,
    /// What was wrong.
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// The format's name.
    pub format: &'static str,
    /// Records stored.
    pub imported: u64,
    /// Records already in the vault.
    pub duplicates: u64,
    /// Items not imported: bad input (listed in `errors`) and notices that are not messages.
    pub skipped: u64,
    /// Attachments stored as sealed blobs.
    pub attachments: u64,
    /// Bad items (at most the first 1000; `skipped` counts them all).
    pub errors: Vec<Issue>,
}

/// The format that fits `input` best, if any.
pub fn detect(input: &Input) -> Option<&'static dyn Format> {
    formats::all()
        .iter()
        .map(|f| (f.detect(input), *f))
        .filter(|(score, _)| *score > 0)
        .max_by_key(|(score, _)| *score)
        .map(|(_, f)| f)
}

/// Imports `path` into the vault; `progress` is called after each batch.
pub fn import(
    vault: &mut Vault,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(&ImportSummary),
) -> Result<ImportSummary, ConnectorError> {
    let input = Input::open(path)?;
    let format = match &options.format {
        Some(name) => {
            formats::by_name(name).ok_or_else(|| ConnectorError::UnknownFormat(name.clone()))?
        }
        None => detect(&input)
            .ok_or_else(|| ConnectorError::Unrecognised(path.display().to_string()))?,
    };
    let me: Vec<String> = options
        .context
        .me
        .iter()
        .map(|m| m.to_lowercase())
        .collect();
    let mut sink = VaultSink {
        vault,
        input: &input,
        me,
        actor: &options.actor,
        batch: Vec::with_capacity(BATCH),
        batch_data: 0,
        batch_text: 0,
        summary: ImportSummary {
            format: format.name(),
            ..ImportSummary::default()
        },
        progress,
    };
    let parsed = format.parse(&input, &options.context, &mut sink);
    // Whatever was parsed before a failure is still stored.
    let flushed = sink.flush();
    parsed?;
    flushed?;
    let summary = sink.summary;
    let event = AuditEvent::new("import", options.actor.clone())
        .detail("format", summary.format)
        .detail("imported", summary.imported)
        .detail("duplicates", summary.duplicates)
        .detail("skipped", summary.skipped);
    vault.audit(&event)?;
    Ok(summary)
}

struct VaultSink<'a> {
    vault: &'a mut Vault,
    input: &'a Input,
    me: Vec<String>,
    actor: &'a str,
    batch: Vec<Parsed>,
    batch_data: usize,
    batch_text: usize,
    summary: ImportSummary,
    progress: &'a mut dyn FnMut(&ImportSummary),
}

impl VaultSink<'_> {
    fn is_me(&self, person: &Person) -> bool {
        !self.me.is_empty()
            && (self.me.contains(&person.name.to_lowercase())
                || person
                    .handle
                    .as_ref()
                    .is_some_and(|h| self.me.contains(&h.to_lowercase())))
    }

    fn issue(&mut self, location: String, reason: String) {
        self.summary.skipped += 1;
        if self.summary.errors.len() < MAX_ISSUES {
            self.summary.errors.push(super::Issue { location, reason });
        }
    }

    fn flush(&mut self) -> Result<(), ConnectorError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_data = 0;
        self.batch_text = 0;
        let mut records = Vec::with_capacity(batch.len());
        let mut stored_blobs = Vec::with_capacity(batch.len());
        for parsed in batch {
            let mut record = parsed.record;
            let mut blobs = Vec::new();
            if !parsed.pending.is_empty() && self.vault.contains(&record)?.is_none() {
                for pending in parsed.pending {
                    let from_entry = pending.entry.as_deref().and_then(|e| self.input.entry(e));
                    let stored = match (&pending.data, from_entry) {
                        // Bytes carried inside the parsed item (a mail attachment).
                        (Some(data), _) => Some(self.vault.put_blob(&mut &data[..])?),
                        (None, Some(entry)) if entry.size <= MAX_ATTACHMENT => {
                            let path = entry.path.clone();
                            let vault = &mut *self.vault;
                            Some(
                                self.input
                                    .with_reader(&path, |mut r| Ok(vault.put_blob(&mut r)?))?,
                            )
                        }
                        (None, Some(entry)) => {
                            let location = self.input.location(&entry.path);
                            self.issue(location, "attachment too large; kept its name only".into());
                            None
                        }
                        (None, None) => None,
                    };
                    if let Some(blob) = &stored {
                        blobs.push(blob.id.clone());
                        self.summary.attachments += 1;
                    }
                    record.attachments.push(Attachment {
                        name: pending.name,
                        mime: pending.mime,
                        size: stored.as_ref().map(|b| b.size).unwrap_or(0),
                        blob: stored.map(|b| b.id),
                    });
                }
            }
            records.push(record);
            stored_blobs.push(blobs);
        }
        let outcomes = self.vault.insert_batch(&records, self.actor)?;
        for (outcome, blobs) in outcomes.iter().zip(stored_blobs) {
            match outcome {
                InsertOutcome::Inserted(_) => self.summary.imported += 1,
                InsertOutcome::Duplicate(_) => {
                    self.summary.duplicates += 1;
                    // A duplicate within the same batch had its files stored for nothing.
                    for blob in blobs {
                        self.vault.discard_blob(&blob)?;
                        self.summary.attachments -= 1;
                    }
                }
            }
        }
        (self.progress)(&self.summary);
        Ok(())
    }
}

impl Sink for VaultSink<'_> {
    fn record(&mut self, mut parsed: Parsed) -> Result<(), ConnectorError> {
        if let Some(author) = parsed.record.author.as_mut()
            && self.is_me(author)
        {
            author.is_owner = true;
        }
        let owners: Vec<bool> = parsed
            .record
            .participants
            .iter()
            .map(|p| self.is_me(p))
            .collect();
        for (person, owner) in parsed.record.participants.iter_mut().zip(owners) {
            person.is_owner |= owner;
        }
        self.batch_data += parsed
            .pending
            .iter()
            .filter_map(|p| p.data.as_ref().map(Vec::len))
            .sum::<usize>();
        self.batch_text += parsed.record.text.len();
        self.batch.push(parsed);
        if self.batch.len() >= BATCH
            || self.batch_data >= MAX_BATCH_DATA
            || self.batch_text >= MAX_BATCH_TEXT
        {
            self.flush()?;
        }
        Ok(())
    }

    fn skip(&mut self, location: String, reason: String) {
        self.issue(location, reason);
    }

    fn ignore(&mut self) {
        self.summary.skipped += 1;
    }
}

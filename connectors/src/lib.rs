//! Importers that turn the data exports people download into vault records.
//!
//! Each export format is a [`Format`]: it says how sure it is that an [`Input`] (a file, a
//! folder, or the export's `.zip` as downloaded) is its kind of export, and parses it into
//! [`Parsed`] items handed to a [`Sink`]. The [`import`] pipeline picks the format, applies the
//! owner's identity (`--me`), stores attachments as sealed blobs, inserts records in batches
//! (idempotently: the vault's keyed content hash rejects what is already stored), and returns a
//! [`ImportSummary`](import::ImportSummary).
//!
//! # Invariants
//!
//! - A bad message never aborts an import: the format reports it to the sink with its location
//!   (file and line, or JSON path) and goes on. Only an input that is not the format at all, or a
//!   failing vault, stops an import, and what was stored before stays stored.
//! - Parsers never panic on any input (each has a property test feeding it arbitrary bytes).
//! - Archives are read in place, never extracted to disk; entries that escape the archive's
//!   root, absurd sizes and compression ratios (zip bombs) are refused.
//! - `offset_assumed` means one thing in every format: the record's UTC offset did not come from
//!   the source (the instant may still be exact). Times given without a zone are read in `--tz`;
//!   UTC instants are shown in `--tz`'s offset; both are marked. Only an offset the export wrote
//!   down is unmarked (the table is in [`time`]). Ambiguous day/month order stops the import
//!   with a question.

pub mod formats;
pub mod import;
pub mod input;
pub mod live;
pub mod text;
pub mod time;

use hearth_vault::{RecordData, VaultError};

pub use import::{ImportOptions, ImportSummary, Issue, import};
pub use input::Input;
pub use time::DateOrder;

/// Everything that can stop an import.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The input is not the export the format expects.
    #[error("{location}: not a {format} export: {reason}")]
    NotThisFormat {
        /// The format's name.
        format: &'static str,
        /// Where it was noticed.
        location: String,
        /// Why.
        reason: String,
    },
    /// No known format recognised the input.
    #[error(
        "{0}: not an export Hearth knows (see `hearth import --list-formats`, or pass --format)"
    )]
    Unrecognised(String),
    /// `--format` named no known format.
    #[error("unknown format {0:?} (see `hearth import --list-formats`)")]
    UnknownFormat(String),
    /// Day and month order cannot be told from the file.
    #[error(
        "{location}: dates such as {example:?} could be day-first or month-first, and nothing in the file settles it; rerun with --date-order dmy or --date-order mdy"
    )]
    AmbiguousDateOrder {
        /// The file.
        location: String,
        /// A date from it.
        example: String,
    },
    /// The archive is unsafe or damaged.
    #[error("{path}: {reason}")]
    Archive {
        /// The archive (and entry).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `--tz` named no known zone.
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Lisbon)")]
    UnknownZone(String),
    /// The vault failed; what was stored before stays stored.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// What formats are told about the import.
#[derive(Clone, Debug)]
pub struct Context {
    /// Zone for times the export gives without one.
    pub tz: chrono_tz::Tz,
    /// Day/month order when the export cannot settle it.
    pub date_order: Option<DateOrder>,
    /// Names or handles of the vault's owner in this export.
    pub me: Vec<String>,
}

impl Context {
    /// A context in `tz` with nothing else set.
    pub fn new(tz: chrono_tz::Tz) -> Self {
        Self {
            tz,
            date_order: None,
            me: Vec::new(),
        }
    }
}

/// A file that belongs to a parsed record, still inside the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAttachment {
    /// File name as the export gives it.
    pub name: String,
    /// MIME type, where known.
    pub mime: Option<String>,
    /// Path of the file inside the input, when the export includes it.
    pub entry: Option<String>,
    /// The file's bytes, when they are inside the parsed item rather than a separate entry
    /// (a mail attachment); stored in preference to `entry`.
    pub data: Option<Vec<u8>>,
}

/// One record as a format produced it, with attachments not yet stored.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The record (its `attachments` are filled by the pipeline from `pending`).
    pub record: RecordData,
    /// Files to store with it.
    pub pending: Vec<PendingAttachment>,
}

impl Parsed {
    /// A record without attachments.
    pub fn new(record: RecordData) -> Self {
        Self {
            record,
            pending: Vec::new(),
        }
    }
}

/// Where a format sends what it parsed.
pub trait Sink {
    /// Takes one record. An error here (the vault failed) stops the import.
    fn record(&mut self, parsed: Parsed) -> Result<(), ConnectorError>;
    /// Notes an item that was skipped, with where it is and why.
    fn skip(&mut self, location: String, reason: String);
    /// Counts an item that is deliberately not imported (a system notice, not a message).
    fn ignore(&mut self);
}

/// One export format.
pub trait Format: Sync {
    /// The name used by `--format` (`whatsapp`, `telegram`, ...).
    fn name(&self) -> &'static str;
    /// One line for `--list-formats`.
    fn description(&self) -> &'static str;
    /// How sure this format is that `input` is its export: 0 (not at all) to 100.
    fn detect(&self, input: &Input) -> u8;
    /// Parses the whole input into `sink`.
    fn parse(
        &self,
        input: &Input,
        ctx: &Context,
        sink: &mut dyn Sink,
    ) -> Result<(), ConnectorError>;
}

//! The record model that connectors fill: one message, post, email, note or journal entry.
//!
//! [`RecordData`] is plaintext and never reaches storage as it is: the vault splits it into the
//! few clear columns that ordering and idempotence need (source, kind, time, keyed content hash,
//! size) and a sealed body holding everything else.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::id::Id;

/// Identifier of a record (a ULID: time-ordered, 26 characters of Crockford base32).
pub type RecordId = Id;
/// Identifier of a blob.
pub type BlobId = Id;

/// What sort of thing a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A chat or direct message.
    Message,
    /// A public post (tweet, status, wall post).
    Post,
    /// A comment on a post.
    Comment,
    /// An email.
    Email,
    /// A note the owner wrote down.
    Note,
    /// A journal entry.
    Journal,
}

impl Kind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [Kind; 6] = [
        Kind::Message,
        Kind::Post,
        Kind::Comment,
        Kind::Email,
        Kind::Note,
        Kind::Journal,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Post => "post",
            Kind::Comment => "comment",
            Kind::Email => "email",
            Kind::Note => "note",
            Kind::Journal => "journal",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown record kind {s:?} (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// A person as an export names them.
///
/// The serde derives define the sealed body format only; HTTP and CLI output use their own types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Platform handle or address, where the export has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Whether this person is the vault's owner (training learns from the owner's messages).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_owner: bool,
}

impl Person {
    /// A person known by name only.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            handle: None,
            is_owner: false,
        }
    }
}

/// A conversation, channel or thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Stable id within the source (chat id, channel id, thread root).
    pub id: String,
    /// Human-readable name, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A file attached to a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as the export gives it.
    pub name: String,
    /// MIME type, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// The sealed blob holding the bytes; `None` when the export omitted the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<BlobId>,
    /// Size in bytes (0 when unknown).
    #[serde(default)]
    pub size: u64,
}

/// A record's content as connectors produce it. Plaintext: the vault seals it before storage.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordData {
    /// Where it came from (`whatsapp`, `telegram`, `note`, ...).
    pub source: String,
    /// What it is.
    pub kind: Kind,
    /// When it happened, with the UTC offset it was written in.
    pub occurred_at: DateTime<FixedOffset>,
    /// True when the export carried no zone and the offset was assumed (`--tz`).
    pub offset_assumed: bool,
    /// The source's own id for this item, if it has one; used for deduplication.
    pub external_id: Option<String>,
    /// Who wrote it.
    pub author: Option<Person>,
    /// Everyone in the conversation (author included), where known.
    pub participants: Vec<Person>,
    /// The conversation, channel or thread.
    pub conversation: Option<Conversation>,
    /// The text.
    pub text: String,
    /// The source id of the item this one replies to.
    pub reply_to: Option<String>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// Source-specific fields (edited, reactions, forwarded from, labels...).
    pub metadata: BTreeMap<String, String>,
}

impl RecordData {
    /// A note written by the owner now-ish: the minimal record.
    pub fn note(
        source: impl Into<String>,
        text: impl Into<String>,
        at: DateTime<FixedOffset>,
    ) -> Self {
        Self {
            source: source.into(),
            kind: Kind::Note,
            occurred_at: at,
            offset_assumed: false,
            external_id: None,
            author: None,
            participants: Vec::new(),
            conversation: None,
            text: text.into(),
            reply_to: None,
            attachments: Vec::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// Calls `hash` with the parts of the keyed content hash that decides whether two records
    /// are the same item (borrowed, so an insert copies nothing to compute it).
    ///
    /// - An email with a source id: the source and that id (its normalised `Message-ID`, which
    ///   names the message worldwide), whatever thread the copy was filed in, so the same
    ///   message imported from a `.eml` file and from a Gmail mbox is one record.
    /// - Any other record with a source id: the source, the conversation and that id (many
    ///   platforms number items per chat).
    /// - Without one: the source, kind, time, author, conversation and text.
    pub(crate) fn with_identity_parts<T>(&self, hash: impl FnOnce(&[&[u8]]) -> T) -> T {
        let conversation = self
            .conversation
            .as_ref()
            .map(|c| c.id.as_bytes())
            .unwrap_or(b"");
        match &self.external_id {
            Some(external) if self.kind == Kind::Email => hash(&[
                self.source.as_bytes(),
                b"external message",
                external.as_bytes(),
            ]),
            Some(external) => hash(&[
                self.source.as_bytes(),
                b"external",
                conversation,
                external.as_bytes(),
            ]),
            None => hash(&[
                self.source.as_bytes(),
                self.kind.as_str().as_bytes(),
                &self.occurred_at.timestamp_millis().to_be_bytes(),
                self.author
                    .as_ref()
                    .map(|a| a.name.as_bytes())
                    .unwrap_or(b""),
                conversation,
                self.text.as_bytes(),
            ]),
        }
    }
}

/// A stored record, opened.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The vault's id for it.
    pub id: RecordId,
    /// When the vault stored it.
    pub imported_at: DateTime<Utc>,
    /// Its content.
    pub data: RecordData,
}

/// The sealed part of a record: everything but the clear columns.
#[derive(Serialize, Deserialize)]
pub(crate) struct Body {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) external_id: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) offset_assumed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) author: Option<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) participants: Vec<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) conversation: Option<Conversation>,
    pub(crate) text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metadata: BTreeMap<String, String>,
}

impl Body {
    pub(crate) fn from_data(data: &RecordData) -> Self {
        Self {
            external_id: data.external_id.clone(),
            offset_assumed: data.offset_assumed,
            author: data.author.clone(),
            participants: data.participants.clone(),
            conversation: data.conversation.clone(),
            text: data.text.clone(),
            reply_to: data.reply_to.clone(),
            attachments: data.attachments.clone(),
            metadata: data.metadata.clone(),
        }
    }

    pub(crate) fn into_data(
        self,
        source: String,
        kind: Kind,
        occurred_at: DateTime<FixedOffset>,
    ) -> RecordData {
        RecordData {
            source,
            kind,
            occurred_at,
            offset_assumed: self.offset_assumed,
            external_id: self.external_id,
            author: self.author,
            participants: self.participants,
            conversation: self.conversation,
            text: self.text,
            reply_to: self.reply_to,
            attachments: self.attachments,
            metadata: self.metadata,
        }
    }
}

/// Which records a listing covers. `since` is inclusive, `until` exclusive.
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    /// Only these sources (all when empty).
    pub sources: Vec<String>,
    /// Only records that occurred at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only records that occurred before this instant.
    pub until: Option<DateTime<Utc>>,
    /// At most this many records.
    pub limit: Option<usize>,
    /// Skip this many records first (paging).
    pub offset: usize,
}

/// What happened to one record handed to an insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored under this new id.
    Inserted(RecordId),
    /// Already in the vault under this id; nothing was written.
    Duplicate(RecordId),
}

impl InsertOutcome {
    /// The record's id, new or existing.
    pub fn id(&self) -> &RecordId {
        match self {
            InsertOutcome::Inserted(id) | InsertOutcome::Duplicate(id) => id,
        }
    }
}

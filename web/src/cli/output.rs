//! Output types: JSON for `--json`, and the plain-text lines for people.
//!
//! JSON times are RFC 3339 with the offset the record was stored with.

use std::collections::BTreeMap;
use std::io::Write;

use hearth_vault::{AuditEntry, Person, Record};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct PersonJson {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    handle: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_owner: bool,
}

impl From<&Person> for PersonJson {
    fn from(p: &Person) -> Self {
        Self {
            name: p.name.clone(),
            handle: p.handle.clone(),
            is_owner: p.is_owner,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct AttachmentJson {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blob: Option<String>,
    size: u64,
}

#[derive(Serialize)]
pub(crate) struct RecordJson {
    id: String,
    source: String,
    kind: &'static str,
    occurred_at: String,
    offset_assumed: bool,
    imported_at: String,
    author: Option<PersonJson>,
    participants: Vec<PersonJson>,
    conversation: Option<String>,
    conversation_name: Option<String>,
    text: String,
    reply_to: Option<String>,
    attachments: Vec<AttachmentJson>,
    metadata: BTreeMap<String, String>,
}

impl From<&Record> for RecordJson {
    fn from(r: &Record) -> Self {
        let d = &r.data;
        Self {
            id: r.id.to_string(),
            source: d.source.clone(),
            kind: d.kind.as_str(),
            occurred_at: d.occurred_at.to_rfc3339(),
            offset_assumed: d.offset_assumed,
            imported_at: r.imported_at.to_rfc3339(),
            author: d.author.as_ref().map(PersonJson::from),
            participants: d.participants.iter().map(PersonJson::from).collect(),
            conversation: d.conversation.as_ref().map(|c| c.id.clone()),
            conversation_name: d.conversation.as_ref().and_then(|c| c.name.clone()),
            text: d.text.clone(),
            reply_to: d.reply_to.clone(),
            attachments: d
                .attachments
                .iter()
                .map(|a| AttachmentJson {
                    name: a.name.clone(),
                    mime: a.mime.clone(),
                    blob: a.blob.as_ref().map(|b| b.to_string()),
                    size: a.size,
                })
                .collect(),
            metadata: d.metadata.clone(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct AuditJson {
    seq: i64,
    at: String,
    action: String,
    actor: String,
    subjects: Vec<String>,
    details: BTreeMap<String, String>,
}

impl From<&AuditEntry> for AuditJson {
    fn from(e: &AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at.to_rfc3339(),
            action: e.event.action.clone(),
            actor: e.event.actor.clone(),
            subjects: e.event.subjects.clone(),
            details: e.event.details.clone(),
        }
    }
}

/// Writes one JSON value and a newline to stdout.
pub(crate) fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// One line describing a record, for people.
pub(crate) fn record_line(r: &Record) -> String {
    let d = &r.data;
    let who = d.author.as_ref().map(|a| a.name.as_str()).unwrap_or("-");
    let mut text: String = d
        .text
        .chars()
        .take(80)
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    if d.text.chars().count() > 80 {
        text.push('…');
    }
    format!(
        "{}  {}  {:<9} {:<8} {:<16} {}",
        r.id,
        d.occurred_at.format("%Y-%m-%d %H:%M %:z"),
        d.source,
        d.kind.as_str(),
        who,
        text
    )
}

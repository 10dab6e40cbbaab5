//! The append-only audit log: sealed entries in a hash chain.
//!
//! # Invariants
//!
//! - Entry `n` (numbered from 1 without gaps) stores `mac_n = HMAC(audit key, mac_{n-1} || n ||
//!   time || sealed entry)`, with `mac_0` all zeros. Editing an entry's bytes or time, removing an
//!   entry, or reordering entries breaks the chain at that point, and [`verify`] names it.
//! - The chain's head (last number and MAC) is kept in the meta table under a MAC of its own, so
//!   cutting entries off the end is detected too. Only a rollback of the whole vault to an older
//!   copy escapes this; `audit verify` prints the head so an owner can anchor it elsewhere.
//! - Entries are written in the same transaction as the change they describe.
//! - Entries hold ids, counts and names of actions, never content.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::VaultError;
use crate::crypto::{Keys, Purpose, Sealed};
use crate::store;

const HEAD_KEY: &str = "audit_head";

/// One thing that happened to the vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What happened, as `area.verb` (`records.add`, `records.delete`, `vault.passwd`, ...).
    pub action: String,
    /// Who did it (`cli`, `node`, an app id).
    pub actor: String,
    /// Ids of the objects concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// Further facts: counts, filters, outcome. Never content.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

impl AuditEvent {
    /// An event with no subjects or details yet.
    pub fn new(action: impl Into<String>, actor: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            actor: actor.into(),
            subjects: Vec::new(),
            details: BTreeMap::new(),
        }
    }

    /// Adds a detail.
    pub fn detail(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.details.insert(key.into(), value.to_string());
        self
    }

    /// Sets the subjects.
    pub fn subjects<I: IntoIterator<Item = S>, S: ToString>(mut self, ids: I) -> Self {
        self.subjects = ids.into_iter().map(|s| s.to_string()).collect();
        self
    }
}

/// An entry of the log, opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was appended.
    pub at: DateTime<Utc>,
    /// What happened.
    pub event: AuditEvent,
}

/// The outcome of verifying the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: i64,
    /// The chain's head MAC, hex (to anchor outside the vault).
    pub head: String,
    /// The first problem found, if any.
    pub problem: Option<String>,
}

impl AuditReport {
    /// Whether the chain verified.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

fn link_parts<'a>(
    prev: &'a [u8],
    seq: &'a [u8; 8],
    at: &'a [u8; 8],
    entry: &'a [u8],
) -> [&'a [u8]; 4] {
    [prev, seq, at, entry]
}

/// Appends an event inside `tx`.
pub(crate) fn append(
    tx: &Transaction<'_>,
    keys: &Keys,
    event: &AuditEvent,
) -> Result<i64, VaultError> {
    let (last_seq, prev_mac) = head(tx, keys)?;
    let seq = last_seq + 1;
    let at = Utc::now().timestamp_millis();
    let json = serde_json::to_vec(event).map_err(|e| VaultError::Corrupt(e.to_string()))?;
    let sealed = keys.seal(Purpose::Audit, &seq.to_be_bytes(), &json)?;
    let mac = keys.audit_mac(&link_parts(
        &prev_mac,
        &seq.to_be_bytes(),
        &at.to_be_bytes(),
        sealed.as_bytes(),
    ));
    tx.execute(
        "INSERT INTO audit (seq, at, entry, mac) VALUES (?1, ?2, ?3, ?4)",
        params![seq, at, sealed.as_bytes(), &mac[..]],
    )?;
    let mut head_value = Vec::with_capacity(8 + 32 + 32);
    head_value.extend_from_slice(&seq.to_be_bytes());
    head_value.extend_from_slice(&mac);
    let head_mac = keys.audit_mac(&[b"head", &head_value]);
    head_value.extend_from_slice(&head_mac);
    store::meta_set(tx, HEAD_KEY, &head_value)?;
    Ok(seq)
}

/// The head recorded in the meta table, checked: `(last seq, last mac)`.
fn head(conn: &Connection, keys: &Keys) -> Result<(i64, [u8; 32]), VaultError> {
    let Some(value) = store::meta_get(conn, HEAD_KEY)? else {
        return Ok((0, [0u8; 32]));
    };
    if value.len() != 72 || !keys.audit_mac_matches(&[b"head", &value[..40]], &value[40..]) {
        return Err(VaultError::AuditBroken(
            "the audit head record was altered".into(),
        ));
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&value[..8]);
    let mut mac = [0u8; 32];
    mac.copy_from_slice(&value[8..40]);
    Ok((i64::from_be_bytes(seq), mac))
}

/// Lists entries, newest last; `limit` keeps the newest ones.
pub(crate) fn list(
    conn: &Connection,
    keys: &Keys,
    limit: Option<usize>,
) -> Result<Vec<AuditEntry>, VaultError> {
    let limit = limit.map(|l| l as i64).unwrap_or(-1);
    let mut stmt = conn.prepare(
        "SELECT seq, at, entry FROM (SELECT seq, at, entry FROM audit ORDER BY seq DESC LIMIT ?1)
         ORDER BY seq",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, entry) = row?;
        out.push(open_entry(keys, seq, at, entry)?);
    }
    Ok(out)
}

fn open_entry(keys: &Keys, seq: i64, at: i64, entry: Vec<u8>) -> Result<AuditEntry, VaultError> {
    let tampered = || VaultError::AuditBroken(format!("audit entry {seq} failed authentication"));
    let json = keys
        .open(
            Purpose::Audit,
            &seq.to_be_bytes(),
            &Sealed::from_stored(entry),
        )
        .map_err(|_| tampered())?;
    let event = serde_json::from_slice(&json).map_err(|_| tampered())?;
    let at = DateTime::from_timestamp_millis(at).ok_or_else(tampered)?;
    Ok(AuditEntry { seq, at, event })
}

/// Walks the whole chain.
pub(crate) fn verify(conn: &Connection, keys: &Keys) -> Result<AuditReport, VaultError> {
    let mut stmt = conn.prepare("SELECT seq, at, entry, mac FROM audit ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut prev = [0u8; 32];
    let mut expected_seq = 1i64;
    let mut problem = None;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let at: i64 = row.get(1)?;
        let entry: Vec<u8> = row.get(2)?;
        let mac: Vec<u8> = row.get(3)?;
        if seq != expected_seq {
            problem = Some(format!(
                "audit entry {expected_seq} is missing (next is {seq})"
            ));
            break;
        }
        let (seq_bytes, at_bytes) = (seq.to_be_bytes(), at.to_be_bytes());
        let parts = link_parts(&prev, &seq_bytes, &at_bytes, &entry);
        if !keys.audit_mac_matches(&parts, &mac) {
            problem = Some(format!(
                "audit entry {seq} was altered or moved (chain broken)"
            ));
            break;
        }
        if let Err(e) = open_entry(keys, seq, at, entry) {
            problem = Some(e.to_string());
            break;
        }
        prev.copy_from_slice(&mac);
        expected_seq += 1;
    }
    let entries = expected_seq - 1;
    if problem.is_none() {
        match head(conn, keys) {
            Ok((head_seq, head_mac)) if head_seq == entries && head_mac == prev => {}
            Ok((head_seq, _)) if head_seq != entries => {
                problem = Some(format!(
                    "the log ends at entry {entries} but its head says {head_seq}: entries were cut off"
                ));
            }
            Ok(_) => problem = Some("the log's last entry does not match its head".into()),
            Err(e) => problem = Some(e.to_string()),
        }
    }
    Ok(AuditReport {
        entries,
        head: hex(&prev),
        problem,
    })
}

/// Number of entries.
pub(crate) fn count(conn: &Connection) -> Result<i64, VaultError> {
    Ok(conn
        .query_row("SELECT max(seq) FROM audit", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

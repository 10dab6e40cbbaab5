//! The [`Vault`] handle: unlocking, records, blobs, audit, deletion, status and checks.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::VaultError;
use crate::audit::{self, AuditEntry, AuditEvent, AuditReport};
use crate::blob::{self, BlobRef};
use crate::crypto::{Keys, MasterKey, Purpose, Sealed};
use crate::id::Id;
use crate::keyfile;
use crate::record::{Body, InsertOutcome, Kind, Record, RecordData, RecordFilter, RecordId};
use crate::store::{self, RECORD_COLUMNS, RecordRow};

pub(crate) const HEADER_FILE: &str = "hearth-vault.json";
pub(crate) const PASSPHRASE_KEY_FILE: &str = "key.passphrase.age";
pub(crate) const IDENTITY_KEY_FILE: &str = "key.identity.age";
pub(crate) const DB_FILE: &str = "vault.db";
const LOCK_FILE: &str = "vault.lock";
const KEY_CHECK: &str = "key_check";
const FORMAT: &str = "hearth-vault";
const FORMAT_VERSION: u32 = 1;
/// Audit entries list subjects one by one up to this many; past it, a count and the range.
const AUDIT_SUBJECTS_MAX: usize = 64;

/// The clear header of a vault directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) format: String,
    pub(crate) version: u32,
    pub(crate) vault_id: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) scrypt_log_n: u8,
}

/// How to unlock a vault.
pub enum Unlock {
    /// With the passphrase.
    Passphrase(SecretString),
    /// With the text of an age X25519 identity file (`AGE-SECRET-KEY-1...`).
    Identity(SecretString),
}

/// Options for [`Vault::init`].
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// scrypt work factor (log2 of N), fixed for the vault's life.
    pub scrypt_log_n: u8,
    /// An age X25519 recipient (`age1...`) to wrap a second copy of the key to.
    pub identity_recipient: Option<String>,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            scrypt_log_n: keyfile::DEFAULT_LOG_N,
            identity_recipient: None,
        }
    }
}

/// An unlocked vault.
pub struct Vault {
    dir: PathBuf,
    header: Header,
    keys: Keys,
    conn: Connection,
    /// Held while open for writing; the OS releases it when the process ends.
    lock: Option<File>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("writable", &self.lock.is_some())
            .finish_non_exhaustive()
    }
}

/// The times of the earliest and the latest record.
pub type Span = (DateTime<FixedOffset>, DateTime<FixedOffset>);

/// A summary of a vault's contents (counts and sizes only).
#[derive(Clone, Debug)]
pub struct Status {
    /// The vault's directory.
    pub dir: PathBuf,
    /// Its random id.
    pub vault_id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The scrypt work factor of its passphrase key file.
    pub scrypt_log_n: u8,
    /// Whether an identity key file exists for unattended unlock.
    pub has_identity: bool,
    /// Number of records.
    pub records: u64,
    /// Records per source, sorted by source name.
    pub by_source: Vec<(String, u64)>,
    /// Time of the earliest and latest record.
    pub span: Option<Span>,
    /// Number of blobs and their plaintext bytes.
    pub blobs: (u64, u64),
    /// Number of audit entries.
    pub audit_entries: i64,
    /// Bytes of the vault's files on disk.
    pub disk_bytes: u64,
    /// Whether another process holds the write lock.
    pub write_locked_elsewhere: bool,
}

/// The outcome of [`Vault::check`].
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// Records whose sealed body was opened.
    pub records_checked: u64,
    /// Blobs whose chunks were all opened.
    pub blobs_checked: u64,
    /// The audit chain's verification.
    pub audit: AuditReport,
    /// Every problem found, each naming its object.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether the vault is consistent.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A deleted record, as the deletion feed reports it to later layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    /// Position in the feed.
    pub seq: i64,
    /// The record that was deleted.
    pub record_id: RecordId,
    /// Its source.
    pub source: String,
    /// When.
    pub deleted_at: DateTime<Utc>,
}

impl Vault {
    /// Creates a new vault in `dir` (missing or empty) and opens it for writing.
    pub fn init(
        dir: &Path,
        passphrase: &SecretString,
        options: &InitOptions,
    ) -> Result<Vault, VaultError> {
        if !(keyfile::MIN_LOG_N..=keyfile::MAX_LOG_N).contains(&options.scrypt_log_n) {
            return Err(VaultError::InvalidInput(format!(
                "scrypt work factor must be between {} and {}",
                keyfile::MIN_LOG_N,
                keyfile::MAX_LOG_N
            )));
        }
        if dir.exists() {
            let mut entries =
                fs::read_dir(dir).map_err(VaultError::io(dir.display().to_string()))?;
            if entries.next().is_some() {
                return Err(VaultError::AlreadyExists(dir.to_path_buf()));
            }
        }
        create_private_dir(dir)?;
        let master = MasterKey::generate()?;
        let keys = Keys::derive(&master);
        let mut id_bytes = [0u8; 16];
        keys.random(&mut id_bytes)?;
        let header = Header {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            vault_id: audit::hex(&id_bytes),
            created_at: Utc::now(),
            scrypt_log_n: options.scrypt_log_n,
        };
        let wrapped = keyfile::wrap_with_passphrase(&master, passphrase, options.scrypt_log_n)?;
        write_atomic(&dir.join(PASSPHRASE_KEY_FILE), &wrapped)?;
        if let Some(recipient) = &options.identity_recipient {
            let wrapped = keyfile::wrap_with_recipient(&master, recipient)?;
            write_atomic(&dir.join(IDENTITY_KEY_FILE), &wrapped)?;
        }
        let lock = acquire_lock(dir)?;
        let mut conn = store::open(&dir.join(DB_FILE), false)?;
        store::migrate(&mut conn)?;
        let tx = conn.transaction()?;
        let check = keys.seal(
            Purpose::Secrets,
            header.vault_id.as_bytes(),
            KEY_CHECK.as_bytes(),
        )?;
        store::meta_set(&tx, KEY_CHECK, check.as_bytes())?;
        audit::append(
            &tx,
            &keys,
            &AuditEvent::new("vault.init", "cli")
                .detail("identity", options.identity_recipient.is_some()),
        )?;
        tx.commit()?;
        // The header is written last: a directory without it is not a vault yet, so a crash
        // during init leaves nothing that looks usable.
        let header_json =
            serde_json::to_vec_pretty(&header).map_err(|e| VaultError::Corrupt(e.to_string()))?;
        write_atomic(&dir.join(HEADER_FILE), &header_json)?;
        Ok(Vault {
            dir: dir.to_path_buf(),
            header,
            keys,
            conn,
            lock: Some(lock),
        })
    }

    /// Opens an existing vault. With `write`, takes the writer lock (and applies migrations).
    pub fn open(dir: &Path, unlock: &Unlock, write: bool) -> Result<Vault, VaultError> {
        let header = read_header(dir)?;
        let lock = if write {
            Some(acquire_lock(dir)?)
        } else {
            None
        };
        let master = unlock_master(dir, &header, unlock)?;
        let keys = Keys::derive(&master);
        drop(master);
        let db_path = dir.join(DB_FILE);
        if !db_path.exists() {
            return Err(VaultError::Corrupt(format!(
                "{} is missing",
                db_path.display()
            )));
        }
        let mut conn = store::open(&db_path, false)?;
        if write {
            store::migrate(&mut conn)?;
        } else {
            let version = store::schema_version(&conn)?;
            if version > store::SCHEMA_VERSION {
                return Err(VaultError::TooNew {
                    found: version,
                    supported: store::SCHEMA_VERSION,
                });
            }
            if version < store::SCHEMA_VERSION {
                return Err(VaultError::Corrupt(format!(
                    "schema version {version} needs an upgrade: open the vault for writing once"
                )));
            }
        }
        let vault = Vault {
            dir: dir.to_path_buf(),
            header,
            keys,
            conn,
            lock,
        };
        vault.verify_key()?;
        Ok(vault)
    }

    fn verify_key(&self) -> Result<(), VaultError> {
        let stored = store::meta_get(&self.conn, KEY_CHECK)?
            .ok_or_else(|| VaultError::Corrupt("the key check value is missing".into()))?;
        match self.keys.open(
            Purpose::Secrets,
            self.header.vault_id.as_bytes(),
            &Sealed::from_stored(stored),
        ) {
            Ok(plain) if plain == KEY_CHECK.as_bytes() => Ok(()),
            _ => Err(VaultError::Corrupt(
                "the key files do not belong to this database (or it was altered)".into(),
            )),
        }
    }

    fn require_write(&self) -> Result<(), VaultError> {
        if self.lock.is_some() {
            Ok(())
        } else {
            Err(VaultError::ReadOnly)
        }
    }

    /// The vault's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The derived keys, for layers that seal their own data (indexes, secrets).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Rewraps the master key, unlocked again with `current`, under `new`. No data is re-encrypted.
    pub fn change_passphrase(
        &mut self,
        current: &Unlock,
        new: &SecretString,
    ) -> Result<(), VaultError> {
        self.require_write()?;
        let master = unlock_master(&self.dir, &self.header, current)?;
        let wrapped = keyfile::wrap_with_passphrase(&master, new, self.header.scrypt_log_n)?;
        write_atomic(&self.dir.join(PASSPHRASE_KEY_FILE), &wrapped)?;
        self.audit(&AuditEvent::new("vault.passwd", "cli"))?;
        Ok(())
    }

    /// Stores one record; see [`Vault::insert_batch`].
    pub fn insert(
        &mut self,
        record: &RecordData,
        actor: &str,
    ) -> Result<InsertOutcome, VaultError> {
        let mut outcomes = self.insert_batch(std::slice::from_ref(record), actor)?;
        outcomes
            .pop()
            .ok_or_else(|| VaultError::Corrupt("insert returned nothing".into()))
    }

    /// Stores records in one transaction with one audit entry. A record whose keyed content hash
    /// is already stored is not written again ([`InsertOutcome::Duplicate`]). When this returns,
    /// the records are durable.
    pub fn insert_batch(
        &mut self,
        records: &[RecordData],
        actor: &str,
    ) -> Result<Vec<InsertOutcome>, VaultError> {
        self.require_write()?;
        let now = Utc::now();
        let tx = self.conn.transaction()?;
        let mut outcomes = Vec::with_capacity(records.len());
        for data in records {
            let content_hash = data.with_identity_parts(|parts| self.keys.content_hash(parts));
            let id = Id::generate();
            let body = serde_json::to_vec(&Body::from_data(data))
                .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
            let row = RecordRow {
                id: id.to_string(),
                source: data.source.clone(),
                kind: data.kind.as_str().to_owned(),
                occurred_at_ms: data.occurred_at.timestamp_millis(),
                utc_offset_s: data.occurred_at.offset().local_minus_utc(),
                imported_at_ms: now.timestamp_millis(),
                content_hash,
                size: body.len() as i64,
                body: self
                    .keys
                    .seal(Purpose::Records, id.as_str().as_bytes(), &body)?,
            };
            match store::insert_record(&tx, &row)? {
                Some(existing) => outcomes.push(InsertOutcome::Duplicate(parse_id(&existing)?)),
                None => {
                    for blob in data.attachments.iter().filter_map(|a| a.blob.as_ref()) {
                        tx.prepare_cached(
                            "UPDATE blobs SET record_id = ?2 WHERE id = ?1 AND record_id IS NULL",
                        )?
                        .execute([blob.as_str(), id.as_str()])?;
                    }
                    outcomes.push(InsertOutcome::Inserted(id));
                }
            }
        }
        let inserted: Vec<&RecordId> = outcomes
            .iter()
            .filter_map(|o| match o {
                InsertOutcome::Inserted(id) => Some(id),
                InsertOutcome::Duplicate(_) => None,
            })
            .collect();
        let mut event = AuditEvent::new("records.add", actor)
            .detail("inserted", inserted.len())
            .detail("duplicates", outcomes.len() - inserted.len());
        if inserted.len() <= AUDIT_SUBJECTS_MAX {
            event = event.subjects(inserted.iter());
        } else if let (Some(first), Some(last)) = (inserted.first(), inserted.last()) {
            event = event.detail("first", first).detail("last", last);
        }
        if !outcomes.is_empty() {
            audit::append(&tx, &self.keys, &event)?;
        }
        tx.commit()?;
        Ok(outcomes)
    }

    /// Whether a record with the same identity is stored already (to skip work such as storing
    /// its attachments before inserting it).
    pub fn contains(&self, record: &RecordData) -> Result<Option<RecordId>, VaultError> {
        let hash = record.with_identity_parts(|parts| self.keys.content_hash(parts));
        let id: Option<String> = self
            .conn
            .prepare_cached("SELECT id FROM records WHERE content_hash = ?1")?
            .query_row([&hash[..]], |r| r.get(0))
            .optional()?;
        id.map(|id| parse_id(&id)).transpose()
    }

    /// Opens one record.
    pub fn get(&self, id: &RecordId) -> Result<Record, VaultError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1"),
                [id.as_str()],
                RecordRow::from_row,
            )
            .optional()?
            .ok_or_else(|| VaultError::NotFound(format!("record {id}")))?;
        self.open_row(row)
    }

    fn open_row(&self, row: RecordRow) -> Result<Record, VaultError> {
        let tampered = || VaultError::Tampered(format!("record {}", row.id));
        let plain = self
            .keys
            .open(Purpose::Records, row.id.as_bytes(), &row.body)
            .map_err(|_| tampered())?;
        let body: Body = serde_json::from_slice(&plain).map_err(|_| tampered())?;
        let kind: Kind = row.kind.parse().map_err(VaultError::Corrupt)?;
        let offset = FixedOffset::east_opt(row.utc_offset_s)
            .ok_or_else(|| VaultError::Corrupt(format!("record {}: bad UTC offset", row.id)))?;
        let occurred_at = DateTime::from_timestamp_millis(row.occurred_at_ms)
            .ok_or_else(|| VaultError::Corrupt(format!("record {}: bad time", row.id)))?
            .with_timezone(&offset);
        let imported_at = DateTime::from_timestamp_millis(row.imported_at_ms)
            .ok_or_else(|| VaultError::Corrupt(format!("record {}: bad import time", row.id)))?;
        Ok(Record {
            id: parse_id(&row.id)?,
            imported_at,
            data: body.into_data(row.source, kind, occurred_at),
        })
    }

    /// Visits the records a filter selects, in time order, opening each; `visit` gets an error
    /// for a record that fails to open and returns `false` to stop.
    pub fn visit(
        &self,
        filter: &RecordFilter,
        mut visit: impl FnMut(Result<Record, VaultError>) -> bool,
    ) -> Result<(), VaultError> {
        let mut sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if !filter.sources.is_empty() {
            sql.push_str(" AND source IN (");
            for (i, source) in filter.sources.iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                args.push(Value::Text(source.clone()));
            }
            sql.push(')');
        }
        if let Some(since) = filter.since {
            sql.push_str(" AND occurred_at >= ?");
            args.push(Value::Integer(since.timestamp_millis()));
        }
        if let Some(until) = filter.until {
            sql.push_str(" AND occurred_at < ?");
            args.push(Value::Integer(until.timestamp_millis()));
        }
        sql.push_str(" ORDER BY occurred_at, id LIMIT ? OFFSET ?");
        args.push(Value::Integer(filter.limit.map(|l| l as i64).unwrap_or(-1)));
        args.push(Value::Integer(filter.offset as i64));
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        while let Some(row) = rows.next()? {
            let row = RecordRow::from_row(row)?;
            if !visit(self.open_row(row)) {
                break;
            }
        }
        Ok(())
    }

    /// Visits, in insertion order (ascending id), the records inserted after `after` (every
    /// record when `None`), opening each; `visit` gets an error for a record that fails to
    /// open and returns `false` to stop. Later layers keep the last id they processed as a
    /// cursor, so an incremental pass never opens older records.
    ///
    /// Ids are ULIDs stamped at insert and strictly increasing within a process; across
    /// processes they follow the clock (one writer at a time), so a cursor misses records only
    /// if the clock stepped back between two writers.
    pub fn visit_inserted_after(
        &self,
        after: Option<&RecordId>,
        mut visit: impl FnMut(Result<Record, VaultError>) -> bool,
    ) -> Result<(), VaultError> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE id > ?1 ORDER BY id");
        let after = after.map_or("", |id| id.as_str());
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([after])?;
        while let Some(row) = rows.next()? {
            let row = RecordRow::from_row(row)?;
            if !visit(self.open_row(row)) {
                break;
            }
        }
        Ok(())
    }

    /// The records a filter selects, in time order; fails on the first that does not open.
    pub fn list(&self, filter: &RecordFilter) -> Result<Vec<Record>, VaultError> {
        let mut out = Vec::new();
        let mut failure = None;
        self.visit(filter, |r| match r {
            Ok(record) => {
                out.push(record);
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Deletes records by id: rows, blobs and chunks are erased (secure delete), the WAL is
    /// truncated, the deletion feed and the audit log record it. Returns how many existed.
    pub fn delete(&mut self, ids: &[RecordId], actor: &str) -> Result<usize, VaultError> {
        self.require_write()?;
        let now = Utc::now().timestamp_millis();
        let tx = self.conn.transaction()?;
        let mut deleted = Vec::new();
        for id in ids {
            let source: Option<String> = tx
                .query_row(
                    "SELECT source FROM records WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(source) = source else { continue };
            tx.execute("DELETE FROM records WHERE id = ?1", [id.as_str()])?;
            tx.execute(
                "INSERT INTO deletions (record_id, source, deleted_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![id.as_str(), source, now],
            )?;
            deleted.push(id);
        }
        if !deleted.is_empty() {
            audit::append(
                &tx,
                &self.keys,
                &AuditEvent::new("records.delete", actor)
                    .detail("count", deleted.len())
                    .subjects(deleted.iter()),
            )?;
        }
        tx.commit()?;
        self.checkpoint()?;
        Ok(deleted.len())
    }

    /// Deletes every record of a source; see [`Vault::delete`].
    pub fn delete_source(&mut self, source: &str, actor: &str) -> Result<usize, VaultError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM records WHERE source = ?1")?;
            stmt.query_map([source], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let ids = ids
            .iter()
            .map(|id| parse_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        self.delete(&ids, actor)
    }

    /// Deletions after feed position `after`, oldest first: what later layers must forget.
    pub fn deletions_since(&self, after: i64) -> Result<Vec<Deletion>, VaultError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, record_id, source, deleted_at FROM deletions WHERE seq > ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([after], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, record_id, source, at): (i64, String, String, i64) = row?;
            out.push(Deletion {
                seq,
                record_id: parse_id(&record_id)?,
                source,
                deleted_at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Moves the WAL's content into the database and truncates the WAL file, so that pages
    /// freed (and zeroed) by a deletion leave no copy behind.
    pub fn checkpoint(&self) -> Result<(), VaultError> {
        let (busy, _, _): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        if busy != 0 {
            return Err(VaultError::Corrupt(
                "a reader kept the WAL from being truncated; retry when it is done".into(),
            ));
        }
        Ok(())
    }

    /// Streams bytes into a new sealed blob (attach it by naming it in a record's attachments).
    pub fn put_blob(&mut self, reader: &mut impl Read) -> Result<BlobRef, VaultError> {
        self.require_write()?;
        let tx = self.conn.transaction()?;
        let blob = blob::put(&tx, &self.keys, reader)?;
        tx.commit()?;
        Ok(blob)
    }

    /// Stores a sealed value under `namespace`/`key` (OAuth tokens, sync cursors, index state).
    /// The key is kept only as a keyed hash; the key and value are sealed together.
    pub fn put_state(
        &mut self,
        namespace: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), VaultError> {
        self.require_write()?;
        let key_mac = self
            .keys
            .content_hash(&[b"state", namespace.as_bytes(), key.as_bytes()]);
        let mut plain = Vec::with_capacity(key.len() + value.len() + 8);
        plain.extend_from_slice(&(key.len() as u64).to_be_bytes());
        plain.extend_from_slice(key.as_bytes());
        plain.extend_from_slice(value);
        let plain = zeroize::Zeroizing::new(plain);
        let sealed = self.keys.seal(Purpose::Secrets, &key_mac, &plain)?;
        self.conn.execute(
            "INSERT INTO state (key_mac, namespace, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key_mac) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            rusqlite::params![&key_mac[..], namespace, sealed.as_bytes(), Utc::now().timestamp_millis()],
        )?;
        Ok(())
    }

    /// The value stored under `namespace`/`key`, if any.
    pub fn get_state(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, VaultError> {
        let key_mac = self
            .keys
            .content_hash(&[b"state", namespace.as_bytes(), key.as_bytes()]);
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT value FROM state WHERE key_mac = ?1",
                [&key_mac[..]],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let (_, value) = self.open_state(&key_mac, sealed, namespace)?;
        Ok(Some(value))
    }

    /// Every `(key, value)` stored under `namespace`.
    pub fn list_state(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>, VaultError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key_mac, value FROM state WHERE namespace = ?1")?;
        let rows = stmt.query_map([namespace], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key_mac, sealed) = row?;
            out.push(self.open_state(&key_mac, sealed, namespace)?);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Removes `namespace`/`key`; returns whether it existed.
    pub fn delete_state(&mut self, namespace: &str, key: &str) -> Result<bool, VaultError> {
        self.require_write()?;
        let key_mac = self
            .keys
            .content_hash(&[b"state", namespace.as_bytes(), key.as_bytes()]);
        Ok(self
            .conn
            .execute("DELETE FROM state WHERE key_mac = ?1", [&key_mac[..]])?
            > 0)
    }

    fn open_state(
        &self,
        key_mac: &[u8],
        sealed: Vec<u8>,
        namespace: &str,
    ) -> Result<(String, Vec<u8>), VaultError> {
        let tampered = || VaultError::Tampered(format!("stored state in {namespace}"));
        let plain = self
            .keys
            .open(Purpose::Secrets, key_mac, &Sealed::from_stored(sealed))
            .map_err(|_| tampered())?;
        let len = plain
            .get(..8)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
            .ok_or_else(tampered)?;
        let len = usize::try_from(len).map_err(|_| tampered())?;
        let key = plain.get(8..8 + len).ok_or_else(tampered)?;
        let key = String::from_utf8(key.to_vec()).map_err(|_| tampered())?;
        Ok((key, plain[8 + len..].to_vec()))
    }

    /// Erases a blob that no record refers to (one stored for a record that turned out to be a
    /// duplicate). A blob attached to a record goes only with its record.
    pub fn discard_blob(&mut self, id: &Id) -> Result<(), VaultError> {
        self.require_write()?;
        self.conn.execute(
            "DELETE FROM blobs WHERE id = ?1 AND record_id IS NULL",
            [id.as_str()],
        )?;
        Ok(())
    }

    /// Streams a blob's bytes into `out`; returns the byte count.
    pub fn read_blob(&self, id: &Id, out: &mut impl Write) -> Result<u64, VaultError> {
        blob::get(&self.conn, &self.keys, id, out)
    }

    /// Appends an event to the audit log.
    pub fn audit(&mut self, event: &AuditEvent) -> Result<i64, VaultError> {
        self.require_write()?;
        let tx = self.conn.transaction()?;
        let seq = audit::append(&tx, &self.keys, event)?;
        tx.commit()?;
        Ok(seq)
    }

    /// The newest `limit` audit entries (all when `None`), oldest first.
    pub fn audit_list(&self, limit: Option<usize>) -> Result<Vec<AuditEntry>, VaultError> {
        audit::list(&self.conn, &self.keys, limit)
    }

    /// Verifies the audit chain.
    pub fn audit_verify(&self) -> Result<AuditReport, VaultError> {
        audit::verify(&self.conn, &self.keys)
    }

    /// Counts and sizes; reveals no content.
    pub fn status(&self) -> Result<Status, VaultError> {
        let mut by_source = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT source, count(*) FROM records GROUP BY source ORDER BY source")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (source, n) = row?;
                by_source.push((source, n as u64));
            }
        }
        let records = by_source.iter().map(|(_, n)| n).sum();
        let span = self.span()?;
        let blobs: (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(size), 0) FROM blobs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut disk_bytes = 0;
        for entry in
            fs::read_dir(&self.dir).map_err(VaultError::io(self.dir.display().to_string()))?
        {
            if let Ok(meta) = entry.and_then(|e| e.metadata()) {
                disk_bytes += meta.len();
            }
        }
        let write_locked_elsewhere = self.lock.is_none() && is_locked(&self.dir)?;
        Ok(Status {
            dir: self.dir.clone(),
            vault_id: self.header.vault_id.clone(),
            created_at: self.header.created_at,
            scrypt_log_n: self.header.scrypt_log_n,
            has_identity: self.dir.join(IDENTITY_KEY_FILE).exists(),
            records,
            by_source,
            span,
            blobs: (blobs.0 as u64, blobs.1 as u64),
            audit_entries: audit::count(&self.conn)?,
            disk_bytes,
            write_locked_elsewhere,
        })
    }

    fn span(&self) -> Result<Option<Span>, VaultError> {
        let edge = |order: &str| -> Result<Option<DateTime<FixedOffset>>, VaultError> {
            let row: Option<(i64, i32)> = self
                .conn
                .query_row(
                    &format!(
                        "SELECT occurred_at, utc_offset FROM records ORDER BY occurred_at {order} LIMIT 1"
                    ),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.and_then(|(ms, off)| {
                let offset = FixedOffset::east_opt(off)?;
                Some(DateTime::from_timestamp_millis(ms)?.with_timezone(&offset))
            }))
        };
        Ok(edge("ASC")?.zip(edge("DESC")?))
    }

    /// Checks everything: SQLite's integrity, every record and blob chunk opens, blobs are
    /// whole, and the audit chain verifies. Each problem names its object.
    pub fn check(&self) -> Result<CheckReport, VaultError> {
        let mut problems = Vec::new();
        let integrity: Vec<String> = {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        if integrity != ["ok"] {
            problems.extend(
                integrity
                    .into_iter()
                    .map(|p| format!("database integrity: {p}")),
            );
        }
        let fk_violations: i64 =
            self.conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
        if fk_violations > 0 {
            problems.push(format!(
                "database: {fk_violations} rows point at missing rows"
            ));
        }
        let mut records_checked = 0;
        self.visit(&RecordFilter::default(), |r| {
            records_checked += 1;
            if let Err(e) = r {
                problems.push(e.to_string());
            }
            true
        })?;
        let blob_ids: Vec<(String, Option<String>)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, record_id FROM blobs ORDER BY id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut blobs_checked = 0;
        for (blob_id, record_id) in blob_ids {
            blobs_checked += 1;
            let id = parse_id(&blob_id)?;
            if let Err(e) = blob::get(&self.conn, &self.keys, &id, &mut std::io::sink()) {
                let owner = record_id
                    .map(|r| format!(" (attachment of record {r})"))
                    .unwrap_or_default();
                problems.push(format!("{e}{owner}"));
            }
        }
        let audit = match self.audit_verify() {
            Ok(report) => report,
            Err(e) => AuditReport {
                entries: 0,
                head: String::new(),
                problem: Some(e.to_string()),
            },
        };
        if let Some(problem) = &audit.problem {
            problems.push(format!("audit log: {problem}"));
        }
        Ok(CheckReport {
            records_checked,
            blobs_checked,
            audit,
            problems,
        })
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn parse_id(text: &str) -> Result<Id, VaultError> {
    text.parse()
        .map_err(|e: crate::id::BadId| VaultError::Corrupt(e.to_string()))
}

pub(crate) fn read_header(dir: &Path) -> Result<Header, VaultError> {
    let path = dir.join(HEADER_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NotAVault(dir.to_path_buf()));
        }
        Err(e) => return Err(VaultError::io(path.display().to_string())(e)),
    };
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|e| VaultError::Corrupt(format!("{}: {e}", path.display())))?;
    if header.format != FORMAT {
        return Err(VaultError::NotAVault(dir.to_path_buf()));
    }
    if header.version != FORMAT_VERSION {
        return Err(VaultError::Corrupt(format!(
            "{}: unsupported vault format version {}",
            path.display(),
            header.version
        )));
    }
    Ok(header)
}

pub(crate) fn unlock_master(
    dir: &Path,
    header: &Header,
    unlock: &Unlock,
) -> Result<MasterKey, VaultError> {
    match unlock {
        Unlock::Passphrase(passphrase) => {
            let path = dir.join(PASSPHRASE_KEY_FILE);
            let file = fs::read(&path).map_err(VaultError::io(path.display().to_string()))?;
            Ok(keyfile::unwrap_with_passphrase(
                &file,
                passphrase,
                header.scrypt_log_n,
            )?)
        }
        Unlock::Identity(identity) => {
            let path = dir.join(IDENTITY_KEY_FILE);
            let file = fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => VaultError::InvalidInput(
                    "this vault has no identity key file (create one with `hearth init --identity-out`)"
                        .into(),
                ),
                _ => VaultError::io(path.display().to_string())(e),
            })?;
            Ok(keyfile::unwrap_with_identity(&file, identity)?)
        }
    }
}

fn acquire_lock(dir: &Path) -> Result<File, VaultError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(VaultError::io(path.display().to_string()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(VaultError::Locked(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(VaultError::io(path.display().to_string())(e)),
    }
}

/// Whether another process holds the vault's writer lock.
pub(crate) fn is_locked(dir: &Path) -> Result<bool, VaultError> {
    let path = dir.join(LOCK_FILE);
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return Ok(false);
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(VaultError::io(path.display().to_string())(e)),
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), VaultError> {
    fs::create_dir_all(dir).map_err(VaultError::io(dir.display().to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(VaultError::io(dir.display().to_string()))?;
    }
    Ok(())
}

/// Writes a file so that a crash leaves either the old or the new content: a temporary file in
/// the same directory, synced, then renamed over, then the directory synced. Mode 0600.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let err = |p: &Path| VaultError::io(p.display().to_string());
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(err(&tmp))?;
    file.write_all(bytes).map_err(err(&tmp))?;
    file.sync_all().map_err(err(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(err(path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err(dir))?;
    Ok(())
}

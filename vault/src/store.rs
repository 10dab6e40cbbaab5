//! SQLite storage: connection settings, the schema and its migrations, and the row types.
//!
//! Every content column is written from a [`Sealed`] value; the clear columns are ids, times,
//! source and kind names, sizes and keyed hashes.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::VaultError;
use crate::crypto::Sealed;

/// Schema migrations; entry `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: records, blobs, audit log, deletion feed, metadata.
    r#"
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;
    CREATE TABLE records (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        utc_offset INTEGER NOT NULL,
        imported_at INTEGER NOT NULL,
        content_hash BLOB NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        body BLOB NOT NULL
    ) STRICT;
    CREATE INDEX records_by_time ON records (occurred_at, id);
    CREATE INDEX records_by_source ON records (source, occurred_at);
    CREATE TABLE blobs (
        id TEXT PRIMARY KEY,
        record_id TEXT REFERENCES records (id) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        chunk_count INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX blobs_by_record ON blobs (record_id);
    CREATE TABLE blob_chunks (
        blob_id TEXT NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        UNIQUE (blob_id, seq)
    ) STRICT;
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        entry BLOB NOT NULL,
        mac BLOB NOT NULL
    ) STRICT;
    CREATE TABLE deletions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL,
        source TEXT NOT NULL,
        deleted_at INTEGER NOT NULL
    ) STRICT;
    "#,
    // 2: sealed key-value state for other layers (OAuth tokens, sync cursors, index manifests).
    r#"
    CREATE TABLE state (
        key_mac BLOB PRIMARY KEY,
        namespace TEXT NOT NULL,
        value BLOB NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX state_by_namespace ON state (namespace);
    "#,
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens the database with the vault's settings: WAL, full sync (an acknowledged write survives
/// a crash), foreign keys, secure delete (freed pages are zeroed), temporary data in memory, a
/// 16 MiB page cache and a checkpoint every 10 000 WAL pages.
pub(crate) fn open(path: &Path, read_only: bool) -> Result<Connection, VaultError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // A page cache of 16 MiB (SQLite's default is 2 MiB): the keyed-hash index is written in
    // random order, and with the default an import of a million records spent more time in
    // page reads and writes than in everything else. Bounded, so memory stays flat.
    conn.pragma_update(None, "cache_size", -16 * 1024)?;
    // Checkpoint every 10 000 pages (about 40 MiB of WAL) instead of 1000, so that index pages
    // that each batch rewrites are copied into the database once per several batches.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    Ok(conn)
}

/// Applies the migrations this database lacks, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), VaultError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT",
    )?;
    let mut version = schema_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(VaultError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    while version < SCHEMA_VERSION {
        let tx = conn.transaction()?;
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.execute("DELETE FROM schema_version", [])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version + 1],
        )?;
        tx.commit()?;
        version += 1;
    }
    Ok(())
}

/// The schema version recorded in the database (0 for a new one).
pub(crate) fn schema_version(conn: &Connection) -> Result<i64, VaultError> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    Ok(conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// A record as stored: clear columns plus the sealed body.
pub(crate) struct RecordRow {
    pub(crate) id: String,
    pub(crate) source: String,
    pub(crate) kind: String,
    pub(crate) occurred_at_ms: i64,
    pub(crate) utc_offset_s: i32,
    pub(crate) imported_at_ms: i64,
    pub(crate) content_hash: [u8; 32],
    pub(crate) size: i64,
    pub(crate) body: Sealed,
}

pub(crate) const RECORD_COLUMNS: &str =
    "id, source, kind, occurred_at, utc_offset, imported_at, content_hash, size, body";

impl RecordRow {
    pub(crate) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let hash: Vec<u8> = row.get(6)?;
        let mut content_hash = [0u8; 32];
        if hash.len() == 32 {
            content_hash.copy_from_slice(&hash);
        }
        Ok(Self {
            id: row.get(0)?,
            source: row.get(1)?,
            kind: row.get(2)?,
            occurred_at_ms: row.get(3)?,
            utc_offset_s: row.get(4)?,
            imported_at_ms: row.get(5)?,
            content_hash,
            size: row.get(7)?,
            body: Sealed::from_stored(row.get(8)?),
        })
    }
}

/// Inserts a record row unless one with the same content hash exists; returns the id of the
/// existing row in that case.
pub(crate) fn insert_record(
    tx: &Transaction<'_>,
    row: &RecordRow,
) -> Result<Option<String>, VaultError> {
    // Cached statements: an import inserts records by the million, and parsing the SQL again
    // for each one cost more than the insert itself.
    let existing: Option<String> = tx
        .prepare_cached("SELECT id FROM records WHERE content_hash = ?1")?
        .query_row([&row.content_hash[..]], |r| r.get(0))
        .optional()?;
    if existing.is_some() {
        return Ok(existing);
    }
    tx.prepare_cached(
        "INSERT INTO records (id, source, kind, occurred_at, utc_offset, imported_at, content_hash, size, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
            row.id,
            row.source,
            row.kind,
            row.occurred_at_ms,
            row.utc_offset_s,
            row.imported_at_ms,
            &row.content_hash[..],
            row.size,
            row.body.as_bytes(),
        ],
    )?;
    Ok(None)
}

/// Reads a value from the meta table.
pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, VaultError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a value to the meta table.
pub(crate) fn meta_set(tx: &Transaction<'_>, key: &str, value: &[u8]) -> Result<(), VaultError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

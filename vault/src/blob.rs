//! Sealed blobs of any size, streamed in chunks.
//!
//! # Invariants
//!
//! - A blob is cut into chunks of [`CHUNK_LEN`] bytes; chunk `i` is sealed with the context
//!   `blob id || i || last flag`, so chunks cannot be reordered, swapped between blobs, dropped
//!   from the end, or duplicated without failing to open.
//! - Memory use is one chunk, whatever the blob's size.

use std::io::{Read, Write};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::VaultError;
use crate::crypto::{Keys, Purpose, Sealed};
use crate::id::Id;

/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 1 << 20;

/// A stored blob's id and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    /// Its id.
    pub id: Id,
    /// Plaintext size in bytes.
    pub size: u64,
}

pub(crate) fn chunk_context(blob: &str, seq: u64, last: bool) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(blob.len() + 9);
    ctx.extend_from_slice(blob.as_bytes());
    ctx.extend_from_slice(&seq.to_be_bytes());
    ctx.push(u8::from(last));
    ctx
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Streams `reader` into a new blob inside `tx`.
pub(crate) fn put(
    tx: &Transaction<'_>,
    keys: &Keys,
    reader: &mut impl Read,
) -> Result<BlobRef, VaultError> {
    let id = Id::generate();
    let now = chrono::Utc::now().timestamp_millis();
    tx.execute(
        "INSERT INTO blobs (id, record_id, size, chunk_count, created_at) VALUES (?1, NULL, 0, 0, ?2)",
        params![id.as_str(), now],
    )?;
    // Read one chunk ahead so the last chunk can be marked as such.
    let mut current = vec![0u8; CHUNK_LEN];
    let mut next = vec![0u8; CHUNK_LEN];
    let mut current_len = read_full(reader, &mut current).map_err(VaultError::io("blob input"))?;
    let mut seq = 0u64;
    let mut size = 0u64;
    loop {
        let next_len = if current_len == CHUNK_LEN {
            read_full(reader, &mut next).map_err(VaultError::io("blob input"))?
        } else {
            0
        };
        let last = next_len == 0;
        let sealed = keys.seal(
            Purpose::Blobs,
            &chunk_context(id.as_str(), seq, last),
            &current[..current_len],
        )?;
        tx.execute(
            "INSERT INTO blob_chunks (blob_id, seq, data) VALUES (?1, ?2, ?3)",
            params![id.as_str(), seq as i64, sealed.as_bytes()],
        )?;
        size += current_len as u64;
        seq += 1;
        if last {
            break;
        }
        std::mem::swap(&mut current, &mut next);
        current_len = next_len;
    }
    tx.execute(
        "UPDATE blobs SET size = ?2, chunk_count = ?3 WHERE id = ?1",
        params![id.as_str(), size as i64, seq as i64],
    )?;
    Ok(BlobRef { id, size })
}

/// Streams a blob's plaintext into `out`, authenticating every chunk.
pub(crate) fn get(
    conn: &Connection,
    keys: &Keys,
    id: &Id,
    out: &mut impl Write,
) -> Result<u64, VaultError> {
    let (size, chunk_count): (i64, i64) = conn
        .query_row(
            "SELECT size, chunk_count FROM blobs WHERE id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| VaultError::NotFound(format!("blob {id}")))?;
    let tampered = || VaultError::Tampered(format!("blob {id}"));
    let mut stmt =
        conn.prepare("SELECT seq, data FROM blob_chunks WHERE blob_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([id.as_str()])?;
    let mut expected = 0i64;
    let mut written = 0u64;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        if seq != expected || seq >= chunk_count {
            return Err(tampered());
        }
        let last = seq == chunk_count - 1;
        let plain = keys
            .open(
                Purpose::Blobs,
                &chunk_context(id.as_str(), seq as u64, last),
                &Sealed::from_stored(row.get(1)?),
            )
            .map_err(|_| tampered())?;
        out.write_all(&plain)
            .map_err(VaultError::io("blob output"))?;
        written += plain.len() as u64;
        expected += 1;
    }
    if expected != chunk_count || written != size as u64 {
        return Err(tampered());
    }
    Ok(written)
}

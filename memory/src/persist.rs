//! How the memory store lies in the vault.
//!
//! Everything is sealed under `Purpose::Indexes` with a context naming the object
//! (`hearth-memory/page/12`, `hearth-memory/tantivy/<file>`, `hearth-memory/vectors/graph`),
//! and the sealed bytes are stored as vault blobs (which the vault seals again under its blob
//! key). A manifest in the vault's sealed state (namespace [`NAMESPACE`]) names the blob of each
//! object; it is the commit point: blobs are written first, then the manifest, then the blobs it
//! no longer names are erased and the WAL checkpointed, so their ciphertext leaves the files.
//!
//! - **Pages**: memories by slot, [`PAGE_SLOTS`] slots a page; a change rewrites its page.
//!   Layout: `count u32`, then per memory `slot u32, json length u32, json, dimension u32,
//!   dimension × f32`, little-endian.
//! - **Access overlay**: last-accessed times refreshed by the owner's retrievals since their page
//!   was last written, so a retrieval writes one small state value instead of pages.
//! - **Index files**: one blob per immutable tantivy file; `meta.json` and `.managed.json` inside
//!   the manifest.
//! - **Vectors**: the hnsw dump (graph and data), when a RAM-backed file system exists.
//!
//! # Invariants
//!
//! - Nothing of a memory is stored unsealed; the manifest's clear metadata (in the vault's state
//!   table) is only a keyed hash of its name.
//! - A crash leaves the previous manifest and what it names intact (at worst, unnamed blobs that
//!   hold only ciphertext; see `VAULT_API_REQUEST.md`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hearth_vault::crypto::{Purpose, Sealed};
use hearth_vault::{Id, Vault};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::MemoryError;
use crate::model::Memory;

/// State namespace of the memory store.
pub const NAMESPACE: &str = "hearth.memory";
const MANIFEST_KEY: &str = "manifest";
const ACCESS_KEY: &str = "access";
/// Slots per page.
pub(crate) const PAGE_SLOTS: u32 = 1024;
const FORMAT: u32 = 1;

/// A blob's id, as stored in the manifest.
pub(crate) type BlobName = String;

/// The sealed hnsw dump's blobs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct VectorBlobs {
    pub(crate) graph: BlobName,
    /// The vectors of an `hnsw_rs` dump, in stores made before the graph held links only
    /// (empty since: the vectors live in the pages).
    #[serde(default)]
    pub(crate) data: BlobName,
    pub(crate) points: usize,
    /// The graph's format (`vectors::FORMAT`); absent for `hnsw_rs` dumps, which are not
    /// loaded: the graph is rebuilt from the memories instead.
    #[serde(default)]
    pub(crate) distance: String,
}

/// The store's manifest.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) format: u32,
    /// Embedding dimension (0 until the first memory).
    pub(crate) dim: usize,
    /// The next unused slot; slots are never reused.
    pub(crate) next_slot: u32,
    pub(crate) pages: BTreeMap<u32, BlobName>,
    pub(crate) tantivy_blobs: BTreeMap<String, BlobName>,
    pub(crate) tantivy_inline: BTreeMap<String, String>,
    pub(crate) vectors: Option<VectorBlobs>,
    /// Position in the vault's deletion feed already applied.
    pub(crate) deletion_seq: i64,
    /// Records seen that made no memory (no text).
    pub(crate) empty_records: Vec<Id>,
    /// Summed importance of memories added since the last reflection.
    pub(crate) importance_since_reflection: u32,
    /// The last record (by insertion) a build processed: the next build starts after it, so
    /// it never opens older records, and a record whose memories were forgotten is not
    /// turned into memories again.
    #[serde(default)]
    pub(crate) record_cursor: Option<Id>,
}

pub(crate) fn load_manifest(vault: &Vault) -> Result<Manifest, MemoryError> {
    match vault.get_state(NAMESPACE, MANIFEST_KEY)? {
        None => Ok(Manifest {
            format: FORMAT,
            ..Manifest::default()
        }),
        Some(bytes) => {
            let m: Manifest = serde_json::from_slice(&bytes)
                .map_err(|_| MemoryError::Tampered("memory manifest".into()))?;
            if m.format != FORMAT {
                return Err(MemoryError::Tampered(format!(
                    "memory manifest (format {})",
                    m.format
                )));
            }
            Ok(m)
        }
    }
}

pub(crate) fn save_manifest(vault: &mut Vault, m: &Manifest) -> Result<(), MemoryError> {
    let json =
        Zeroizing::new(serde_json::to_vec(m).map_err(|e| MemoryError::Index(e.to_string()))?);
    vault.put_state(NAMESPACE, MANIFEST_KEY, &json)?;
    Ok(())
}

pub(crate) fn load_access(vault: &Vault) -> Result<BTreeMap<u32, i64>, MemoryError> {
    match vault.get_state(NAMESPACE, ACCESS_KEY)? {
        None => Ok(BTreeMap::new()),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|_| MemoryError::Tampered("memory access times".into())),
    }
}

pub(crate) fn save_access(
    vault: &mut Vault,
    access: &BTreeMap<u32, i64>,
) -> Result<(), MemoryError> {
    let json = serde_json::to_vec(access).map_err(|e| MemoryError::Index(e.to_string()))?;
    vault.put_state(NAMESPACE, ACCESS_KEY, &json)?;
    Ok(())
}

/// Seals `plain` under the index key bound to `context` and stores it as a blob.
pub(crate) fn put_sealed(
    vault: &mut Vault,
    context: &str,
    plain: &[u8],
) -> Result<BlobName, MemoryError> {
    let sealed = vault
        .keys()
        .seal(Purpose::Indexes, context.as_bytes(), plain)
        .map_err(hearth_vault::VaultError::from)?;
    let blob = vault.put_blob(&mut sealed.as_bytes())?;
    Ok(blob.id.to_string())
}

/// Reads and opens a blob written by [`put_sealed`].
pub(crate) fn get_sealed(
    vault: &Vault,
    blob: &str,
    context: &str,
) -> Result<Zeroizing<Vec<u8>>, MemoryError> {
    let stored = read_stored(vault, blob, context)?;
    unseal(vault.keys(), stored, context)
}

/// A sealed object's stored bytes (still sealed under `Purpose::Indexes`): the part of
/// [`get_sealed`] that needs the vault's connection.
pub(crate) fn read_stored(
    vault: &Vault,
    blob: &str,
    context: &str,
) -> Result<Vec<u8>, MemoryError> {
    let id: Id = blob
        .parse()
        .map_err(|_| MemoryError::Tampered(context.to_owned()))?;
    let mut bytes = Vec::new();
    vault.read_blob(&id, &mut bytes)?;
    Ok(bytes)
}

/// Opens what [`read_stored`] returned: the part of [`get_sealed`] that may run on any thread.
pub(crate) fn unseal(
    keys: &hearth_vault::crypto::Keys,
    stored: Vec<u8>,
    context: &str,
) -> Result<Zeroizing<Vec<u8>>, MemoryError> {
    let plain = keys
        .open(
            Purpose::Indexes,
            context.as_bytes(),
            &Sealed::from_stored(stored),
        )
        .map_err(|_| MemoryError::Tampered(context.to_owned()))?;
    Ok(Zeroizing::new(plain))
}

/// Erases blobs no longer named, then checkpoints so their pages leave the WAL.
pub(crate) fn discard(vault: &mut Vault, blobs: &[BlobName]) -> Result<(), MemoryError> {
    for blob in blobs {
        if let Ok(id) = blob.parse::<Id>() {
            vault.discard_blob(&id)?;
        }
    }
    if !blobs.is_empty() {
        vault.checkpoint()?;
    }
    Ok(())
}

pub(crate) fn page_context(page: u32) -> String {
    format!("hearth-memory/page/{page}")
}

pub(crate) fn tantivy_context(file: &str) -> String {
    format!("hearth-memory/tantivy/{file}")
}

pub(crate) fn vectors_context(part: &str) -> String {
    format!("hearth-memory/vectors/{part}")
}

/// Encodes a page.
pub(crate) fn encode_page<'a>(
    memories: impl Iterator<Item = (u32, &'a Memory)>,
) -> Result<Zeroizing<Vec<u8>>, MemoryError> {
    let mut out = Zeroizing::new(Vec::new());
    let mut count = 0u32;
    out.extend_from_slice(&0u32.to_le_bytes());
    for (slot, memory) in memories {
        let json = Zeroizing::new(
            serde_json::to_vec(memory).map_err(|e| MemoryError::Index(e.to_string()))?,
        );
        out.extend_from_slice(&slot.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&(memory.embedding.len() as u32).to_le_bytes());
        for x in &memory.embedding {
            out.extend_from_slice(&x.to_le_bytes());
        }
        count += 1;
    }
    out[..4].copy_from_slice(&count.to_le_bytes());
    Ok(out)
}

/// Decodes a page.
pub(crate) fn decode_page(bytes: &[u8], page: u32) -> Result<Vec<(u32, Memory)>, MemoryError> {
    let bad = || MemoryError::Tampered(page_context(page));
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], MemoryError> {
        let s = bytes.get(at..at + n).ok_or_else(bad)?;
        at += n;
        Ok(s)
    };
    let u32_of = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let count = u32_of(take(4)?);
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let slot = u32_of(take(4)?);
        let len = u32_of(take(4)?) as usize;
        let mut memory: Memory = serde_json::from_slice(take(len)?).map_err(|_| bad())?;
        let dim = u32_of(take(4)?) as usize;
        let raw = take(dim * 4)?;
        memory.embedding = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.push((slot, memory));
    }
    Ok(out)
}

/// Milliseconds to a time (the epoch for out-of-range values).
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

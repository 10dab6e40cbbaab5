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
//!   Layout (format 2): a magic word, `count u32`, then per memory its slot and every field in
//!   binary (strings as `length u32` + UTF-8, times as seconds, nanoseconds and offset, the
//!   embedding as `dimension u32` + f32s), little-endian. Pages written before as JSON
//!   (format 1) are still read; any change rewrites a page in format 2.
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

use chrono::{DateTime, FixedOffset, Utc};
use hearth_vault::crypto::{Purpose, Sealed};
use hearth_vault::{Id, Vault};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::MemoryError;
use crate::model::{Memory, Origin};

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

/// First word of a binary page (format 2); a page without it is a JSON page (format 1),
/// whose first word is its count (at most [`PAGE_SLOTS`]).
const PAGE_MAGIC: u32 = 0x4850_0002;

/// Encodes a page (format 2: every field in binary, see [`decode_page`]).
pub(crate) fn encode_page<'a>(
    memories: impl Iterator<Item = (u32, &'a Memory)>,
) -> Result<Zeroizing<Vec<u8>>, MemoryError> {
    let memories: Vec<(u32, &Memory)> = memories.collect();
    // Sized up front: a growing buffer would leave copies of the clear text behind when it
    // moves (only the final buffer is zeroed on drop).
    let size = 8 + memories.iter().map(|(_, m)| encoded_len(m)).sum::<usize>();
    let mut w = PageWriter(Zeroizing::new(Vec::with_capacity(size)));
    w.u32(PAGE_MAGIC);
    w.u32(0);
    let mut count = 0u32;
    for (slot, m) in memories {
        w.u32(slot);
        w.str(m.id.as_str());
        w.0.push(match m.origin {
            Origin::Record => 0,
            Origin::Owner => 1,
            Origin::Reflection => 2,
        });
        w.str(&m.text);
        w.time(
            m.occurred_at.timestamp(),
            m.occurred_at.timestamp_subsec_nanos(),
        );
        w.i32(m.occurred_at.offset().local_minus_utc());
        w.time(
            m.created_at.timestamp(),
            m.created_at.timestamp_subsec_nanos(),
        );
        w.time(
            m.last_accessed.timestamp(),
            m.last_accessed.timestamp_subsec_nanos(),
        );
        w.0.push(u8::from(m.time_known) | u8::from(m.importance_pinned) << 1);
        w.0.push(m.importance);
        w.str(&m.source);
        w.opt(m.author.as_deref());
        w.list(
            m.participants.iter().map(String::as_str),
            m.participants.len(),
        );
        w.list(m.handles.iter().map(String::as_str), m.handles.len());
        w.opt(m.conversation.as_deref());
        w.opt(m.conversation_name.as_deref());
        w.opt(m.record_id.as_ref().map(|r| r.as_str()));
        w.u32(m.chunk);
        w.list(m.evidence.iter().map(|e| e.as_str()), m.evidence.len());
        w.u32(m.embedding.len() as u32);
        for x in &m.embedding {
            w.0.extend_from_slice(&x.to_le_bytes());
        }
        count += 1;
    }
    w.0[4..8].copy_from_slice(&count.to_le_bytes());
    debug_assert_eq!(w.0.len(), size);
    Ok(w.0)
}

/// The bytes [`encode_page`] writes for a memory (its slot included).
fn encoded_len(m: &Memory) -> usize {
    let str_len = |s: &str| 4 + s.len();
    let opt_len = |s: Option<&str>| 1 + s.map_or(0, str_len);
    let list_len = |l: &[String]| 4 + l.iter().map(|s| str_len(s)).sum::<usize>();
    4 + str_len(m.id.as_str())
        + 1
        + str_len(&m.text)
        + 12
        + 4
        + 12
        + 12
        + 2
        + str_len(&m.source)
        + opt_len(m.author.as_deref())
        + list_len(&m.participants)
        + list_len(&m.handles)
        + opt_len(m.conversation.as_deref())
        + opt_len(m.conversation_name.as_deref())
        + opt_len(m.record_id.as_ref().map(|r| r.as_str()))
        + 4
        + 4
        + m.evidence
            .iter()
            .map(|e| str_len(e.as_str()))
            .sum::<usize>()
        + 4
        + 4 * m.embedding.len()
}

struct PageWriter(Zeroizing<Vec<u8>>);

impl PageWriter {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn time(&mut self, secs: i64, nanos: u32) {
        self.0.extend_from_slice(&secs.to_le_bytes());
        self.u32(nanos);
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
        }
    }
    fn list<'a>(&mut self, items: impl Iterator<Item = &'a str>, len: usize) {
        self.u32(len as u32);
        for item in items {
            self.str(item);
        }
    }
}

/// Reads a page's fields; every read checks its bounds.
struct PageReader<'a> {
    bytes: &'a [u8],
    at: usize,
    page: u32,
}

impl<'a> PageReader<'a> {
    fn bad(&self) -> MemoryError {
        MemoryError::Tampered(page_context(self.page))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], MemoryError> {
        let s = self
            .bytes
            .get(self.at..self.at.checked_add(n).ok_or_else(|| self.bad())?)
            .ok_or_else(|| self.bad())?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, MemoryError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, MemoryError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i64(&mut self) -> Result<i64, MemoryError> {
        let s = self.take(8)?;
        Ok(i64::from_le_bytes(s.try_into().map_err(|_| self.bad())?))
    }
    fn str(&mut self) -> Result<&'a str, MemoryError> {
        let len = self.u32()? as usize;
        let raw = self.take(len)?;
        std::str::from_utf8(raw).map_err(|_| self.bad())
    }
    fn string(&mut self) -> Result<String, MemoryError> {
        Ok(self.str()?.to_owned())
    }
    fn opt(&mut self) -> Result<Option<String>, MemoryError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.string()?)),
            _ => Err(self.bad()),
        }
    }
    fn id(&mut self) -> Result<Id, MemoryError> {
        self.str()?.parse().map_err(|_| self.bad())
    }
    fn count(&mut self) -> Result<usize, MemoryError> {
        let n = self.u32()? as usize;
        // Each item takes at least its 4-byte length: a count the rest cannot hold is a lie
        // (and must not size an allocation).
        if n > (self.bytes.len() - self.at) / 4 {
            return Err(self.bad());
        }
        Ok(n)
    }
    fn strings(&mut self) -> Result<Vec<String>, MemoryError> {
        let n = self.count()?;
        (0..n).map(|_| self.string()).collect()
    }
    fn utc(&mut self) -> Result<DateTime<Utc>, MemoryError> {
        let secs = self.i64()?;
        let nanos = self.u32()?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| self.bad())
    }
    fn embedding(&mut self) -> Result<Vec<f32>, MemoryError> {
        let dim = self.u32()? as usize;
        let raw = self.take(dim.checked_mul(4).ok_or_else(|| self.bad())?)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn memory(&mut self) -> Result<Memory, MemoryError> {
        let id = self.id()?;
        let origin = match self.u8()? {
            0 => Origin::Record,
            1 => Origin::Owner,
            2 => Origin::Reflection,
            _ => return Err(self.bad()),
        };
        let text = self.string()?;
        let occurred_utc = self.utc()?;
        let offset = FixedOffset::east_opt(self.u32()? as i32).ok_or_else(|| self.bad())?;
        let created_at = self.utc()?;
        let last_accessed = self.utc()?;
        let flags = self.u8()?;
        let importance = self.u8()?;
        let source = self.string()?;
        let author = self.opt()?;
        let participants = self.strings()?;
        let handles = self.strings()?;
        let conversation = self.opt()?;
        let conversation_name = self.opt()?;
        let record_id = match self.u8()? {
            0 => None,
            1 => Some(self.id()?),
            _ => return Err(self.bad()),
        };
        let chunk = self.u32()?;
        let n = self.count()?;
        let evidence = (0..n).map(|_| self.id()).collect::<Result<_, _>>()?;
        let embedding = self.embedding()?;
        Ok(Memory {
            id,
            origin,
            text,
            occurred_at: occurred_utc.with_timezone(&offset),
            created_at,
            last_accessed,
            time_known: flags & 1 != 0,
            importance,
            importance_pinned: flags & 2 != 0,
            source,
            author,
            participants,
            handles,
            conversation,
            conversation_name,
            record_id,
            chunk,
            evidence,
            embedding,
        })
    }
}

/// Whether a page was written in format 1 (JSON; rewritten at the next save).
pub(crate) fn is_json_page(bytes: &[u8]) -> bool {
    bytes.get(..4) != Some(&PAGE_MAGIC.to_le_bytes()[..])
}

/// Decodes a page: format 2 (binary, [`encode_page`]) or format 1 (`count u32`, then per
/// memory `slot u32, json length u32, json, dimension u32, dimension × f32`), written before.
pub(crate) fn decode_page(bytes: &[u8], page: u32) -> Result<Vec<(u32, Memory)>, MemoryError> {
    let mut r = PageReader { bytes, at: 0, page };
    let first = r.u32()?;
    if first != PAGE_MAGIC {
        return decode_json_page(r, first);
    }
    let count = r.u32()?;
    if count > PAGE_SLOTS {
        return Err(r.bad());
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let slot = r.u32()?;
        out.push((slot, r.memory()?));
    }
    if r.at != bytes.len() {
        return Err(r.bad());
    }
    Ok(out)
}

/// The rest of a format 1 page, its count read.
fn decode_json_page(mut r: PageReader<'_>, count: u32) -> Result<Vec<(u32, Memory)>, MemoryError> {
    if count > PAGE_SLOTS {
        return Err(r.bad());
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let slot = r.u32()?;
        let len = r.u32()? as usize;
        let json = r.take(len)?;
        let mut memory: Memory = serde_json::from_slice(json).map_err(|_| r.bad())?;
        memory.embedding = r.embedding()?;
        out.push((slot, memory));
    }
    Ok(out)
}

/// Milliseconds to a time (the epoch for out-of-range values).
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn memory(i: u32) -> Memory {
        let at = FixedOffset::east_opt(3600 * (i as i32 % 5))
            .unwrap()
            .with_ymd_and_hms(2024, 3, 1 + i % 20, 10, 0, 0)
            .unwrap()
            + chrono::Duration::nanoseconds(i64::from(i) * 1_234_567);
        Memory {
            id: Id::generate(),
            origin: [Origin::Record, Origin::Owner, Origin::Reflection][i as usize % 3],
            text: format!("memory {i} — ünïcode ✓"),
            occurred_at: at,
            created_at: at.with_timezone(&Utc),
            last_accessed: at.with_timezone(&Utc) + chrono::Duration::milliseconds(5),
            time_known: i.is_multiple_of(2),
            importance: (i % 10) as u8 + 1,
            importance_pinned: i.is_multiple_of(3),
            source: "whatsapp".into(),
            author: (i.is_multiple_of(2)).then(|| "Ann".into()),
            participants: vec!["Ann".into(), format!("Bob {i}")],
            handles: if i.is_multiple_of(2) {
                vec!["@ann".into()]
            } else {
                Vec::new()
            },
            conversation: Some(format!("c{i}")),
            conversation_name: (i.is_multiple_of(4)).then(|| "Family".into()),
            record_id: (i % 3 != 1).then(Id::generate),
            chunk: i % 3,
            evidence: (0..i % 3).map(|_| Id::generate()).collect(),
            embedding: (0..8).map(|j| (i * 8 + j) as f32 * 0.125 - 1.0).collect(),
        }
    }

    #[test]
    fn pages_round_trip_in_both_formats() {
        let memories: Vec<(u32, Memory)> = (0..12).map(|i| (1024 * 3 + i, memory(i))).collect();
        let page = encode_page(memories.iter().map(|(s, m)| (*s, m))).unwrap();
        // Sized exactly up front (no reallocation left a copy behind).
        let size = 8 + memories.iter().map(|(_, m)| encoded_len(m)).sum::<usize>();
        assert_eq!((page.len(), page.capacity()), (size, size));
        assert_eq!(decode_page(&page, 3).unwrap(), memories);
        // A page written before as JSON (format 1).
        let mut old = (memories.len() as u32).to_le_bytes().to_vec();
        for (slot, m) in &memories {
            let json = serde_json::to_vec(m).unwrap();
            old.extend_from_slice(&slot.to_le_bytes());
            old.extend_from_slice(&(json.len() as u32).to_le_bytes());
            old.extend_from_slice(&json);
            old.extend_from_slice(&(m.embedding.len() as u32).to_le_bytes());
            for x in &m.embedding {
                old.extend_from_slice(&x.to_le_bytes());
            }
        }
        assert_eq!(decode_page(&old, 3).unwrap(), memories);
    }

    #[test]
    fn a_damaged_page_is_an_error_never_a_panic() {
        let memories: Vec<(u32, Memory)> = (0..4).map(|i| (i, memory(i))).collect();
        let page = encode_page(memories.iter().map(|(s, m)| (*s, m))).unwrap();
        for cut in 0..page.len() {
            assert!(decode_page(&page[..cut], 0).is_err(), "cut at {cut}");
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            let mut bytes = page.to_vec();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % bytes.len() as u64) as usize;
                bytes[at] = (state >> 32) as u8;
            }
            let _ = decode_page(&bytes, 0);
        }
    }
}

//! The memory stream: building memories from records, remembering, retrieval, forgetting.
//!
//! # Invariants
//!
//! - **Incremental.** A build opens only the records inserted after its stored cursor (the last
//!   record it processed, [`Vault::visit_inserted_after`]), so a record whose memory was
//!   forgotten never comes back, and first applies the vault's deletion feed from the stored
//!   position.
//! - **Filters inside the search.** A filter's memories are listed exactly from the in-RAM
//!   facets when that is cheap (`crate::facets`); the vector side then scans exactly those (few:
//!   at least [`EXACT_SCAN_MAX`], more in large stores, see `exact_scan_limit`) or walks the
//!   graph accepting only them, and under a time range BM25 scores only documents of that list.
//!   Otherwise the indexes apply the filter themselves: tantivy clauses, the graph walk's
//!   filter. Never by dropping results after a top-k.
//! - **Only the owner reshapes recency.** [`MemoryStream::recall`] refreshes last-accessed times
//!   for [`Caller::Owner`] only; an app's retrieval writes nothing.
//! - **Forgetting erases.** A forgotten memory's text and vector leave its page, its document and
//!   every term only it had leave the BM25 index (segments with deletions are merged), its point
//!   stays in the graph without a vector (the sealed graph holds links only) and is skipped by
//!   every search, reflections citing
//!   it are forgotten too, the blobs that held any of it are erased, and the audit log records
//!   the ids (never the text).
//! - Every change is persisted (sealed) before the call returns.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use hearth_vault::{AuditEvent, Id, Record, RecordId, Vault};

use rayon::prelude::*;

use crate::MemoryError;
use crate::chunk::chunk_text;
use crate::codes::Codes;
use crate::context::{DEDUP_COSINE, Packed, pack};
use crate::facets::{Facets, FastMap};
use crate::filter::MemoryFilter;
use crate::importance::ImportanceRater;
use crate::model::{Embedder, Memory, MemoryId, Origin, TokenCounter, cosine, normalize};
use crate::persist::{self, Manifest, PAGE_SLOTS, VectorBlobs};
use crate::score::{Candidate, ScoreParams, score};
use crate::sealed_dir::{FileClass, SealedDirectory};
use crate::text_index::TextIndex;
use crate::vectors::{self, VectorIndex};

/// A filter letting through at most this many memories is always searched exactly (no graph).
pub const EXACT_SCAN_MAX: usize = 4096;
/// A filter's memories are listed for the retrievers (instead of the indexes applying it)
/// when that means going through at most this fraction of the store: `live / SELECT_DIVISOR`.
const SELECT_DIVISOR: usize = 4;
/// Pages read from the vault before they are opened and decoded in parallel at unlock.
const UNLOCK_GROUP: usize = 32;
/// Records (or texts) embedded per call to the embedder.
const EMBED_BATCH: usize = 32;
/// Records processed between index commits during a build.
const BUILD_BATCH: usize = 2048;
/// Access overlay entries past which pages are rewritten.
const ACCESS_OVERLAY_MAX: usize = 4096;

/// The models a build or a remember needs.
#[derive(Clone, Copy)]
pub struct Models<'a> {
    /// Sentence embeddings.
    pub embedder: &'a dyn Embedder,
    /// Importance ratings.
    pub importance: &'a dyn ImportanceRater,
}

/// Who is retrieving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The vault's owner: retrievals refresh last-accessed times.
    Owner,
    /// An app under a grant (its id): retrievals change nothing.
    App(String),
}

/// A retrieval request.
#[derive(Clone, Debug)]
pub struct Query {
    /// The query text.
    pub text: String,
    /// How many memories to return.
    pub k: usize,
    /// What the search may see.
    pub filter: MemoryFilter,
    /// Weights, decay and BM25 share.
    pub params: ScoreParams,
    /// Candidates taken from each retriever (at least `k`).
    pub candidates: usize,
    /// The time recency is computed at (now when `None`).
    pub now: Option<DateTime<Utc>>,
}

impl Query {
    /// A query with default parameters: k = 10, 50 candidates per retriever.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            k: 10,
            filter: MemoryFilter::default(),
            params: ScoreParams::default(),
            candidates: 50,
            now: None,
        }
    }
}

/// A retrieved memory, its score and the normalised terms of the score.
#[derive(Clone, Debug)]
pub struct Recalled {
    /// The memory.
    pub memory: Memory,
    /// The weighted score.
    pub score: f64,
    /// Normalised recency.
    pub recency: f64,
    /// Normalised importance.
    pub importance: f64,
    /// Normalised relevance.
    pub relevance: f64,
}

/// What a build did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Records opened by this build (those inserted since the previous build).
    pub records_seen: u64,
    /// Records turned into memories by this build.
    pub records_added: u64,
    /// Memories made.
    pub memories_added: u64,
    /// Memories forgotten because their record was deleted (reflections included).
    pub memories_forgotten: u64,
    /// Memories in the store after the build.
    pub memories_total: u64,
}

/// The memory stream of one vault, held in memory while the vault is unlocked.
pub struct MemoryStream {
    manifest: Manifest,
    memories: Vec<Option<Memory>>,
    by_id: FastMap<MemoryId, u32>,
    by_record: FastMap<RecordId, Vec<u32>>,
    cited_by: FastMap<MemoryId, Vec<u32>>,
    text: TextIndex,
    vectors: VectorIndex,
    /// 8-bit codes of the live vectors (RAM only), for the searches' first pass.
    codes: Codes,
    /// The filter fields of the live memories (RAM only), for the filters' exact selections.
    facets: Facets,
    access: BTreeMap<u32, i64>,
    dirty_pages: BTreeSet<u32>,
    vectors_dirty: bool,
}

impl std::fmt::Debug for MemoryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStream")
            .field("memories", &self.by_id.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStream {
    /// Opens (unseals) the memory store of a vault; an empty store if it has none yet.
    pub fn open(vault: &Vault) -> Result<Self, MemoryError> {
        let manifest = persist::load_manifest(vault)?;
        let mut memories: Vec<Option<Memory>> = vec![None; manifest.next_slot as usize];
        // Pages are read from the vault in order (one connection, this thread) while a worker
        // opens and decodes the previous group on every core: a group at a time, so that at
        // most two groups' bytes wait in memory.
        let pages: Vec<(&u32, &String)> = manifest.pages.iter().collect();
        // Pages of the older JSON format: rewritten (binary) by the next save.
        let mut json_pages = BTreeSet::new();
        let keys = vault.keys();
        std::thread::scope(|scope| -> Result<(), MemoryError> {
            let (groups, received) = std::sync::mpsc::sync_channel::<Vec<(u32, Vec<u8>)>>(1);
            let (memories, json_pages) = (&mut memories, &mut json_pages);
            let worker = scope.spawn(move || -> Result<(), MemoryError> {
                for stored in received {
                    let decoded = stored
                        .into_par_iter()
                        .map(|(page, stored)| {
                            let plain =
                                persist::unseal(keys, stored, &persist::page_context(page))?;
                            let json = persist::is_json_page(&plain);
                            Ok((page, json, persist::decode_page(&plain, page)?))
                        })
                        .collect::<Result<Vec<_>, MemoryError>>()?;
                    for (page, json, members) in decoded {
                        if json {
                            json_pages.insert(page);
                        }
                        for (slot, memory) in members {
                            let cell = memories
                                .get_mut(slot as usize)
                                .filter(|_| slot / PAGE_SLOTS == page)
                                .ok_or_else(|| {
                                    MemoryError::Tampered(persist::page_context(page))
                                })?;
                            *cell = Some(memory);
                        }
                    }
                }
                Ok(())
            });
            for group in pages.chunks(UNLOCK_GROUP) {
                let stored = group
                    .iter()
                    .map(|&(&page, blob)| {
                        let stored =
                            persist::read_stored(vault, blob, &persist::page_context(page))?;
                        Ok((page, stored))
                    })
                    .collect::<Result<Vec<_>, MemoryError>>()?;
                // A closed channel means the worker stopped on an error: it is returned below.
                if groups.send(stored).is_err() {
                    break;
                }
            }
            drop(groups);
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })?;
        let access = persist::load_access(vault)?;
        for (&slot, &ms) in &access {
            if let Some(Some(m)) = memories.get_mut(slot as usize) {
                m.last_accessed = persist::from_millis(ms);
            }
        }
        let mut files = Vec::new();
        for (name, blob) in &manifest.tantivy_blobs {
            let bytes = persist::get_sealed(vault, blob, &persist::tantivy_context(name))?;
            files.push((name.into(), FileClass::Stream, bytes.to_vec()));
        }
        for (name, text) in &manifest.tantivy_inline {
            files.push((name.into(), FileClass::Atomic, text.clone().into_bytes()));
        }
        let dir = SealedDirectory::load(files).map_err(MemoryError::io("memory index"))?;
        let text = TextIndex::open(dir)?;
        let live = memories.iter().flatten().count();
        let graph = match &manifest.vectors {
            Some(v) if v.distance == vectors::FORMAT => Some((
                persist::read_stored(vault, &v.graph, &persist::vectors_context("graph"))?,
                v.points,
            )),
            // No graph, or an `hnsw_rs` dump from an older store: rebuilt below.
            _ => None,
        };
        // The maps by id, by record and by evidence and the facets are built beside the
        // graph's decoding, on both cores (a million memories take seconds one after another).
        let ((by_id, vectors), (by_record, cited_by, facets)) = rayon::join(
            || {
                let mut by_id = FastMap::with_capacity_and_hasher(live, Default::default());
                for (slot, m) in memories.iter().enumerate() {
                    if let Some(m) = m {
                        by_id.insert(m.id.clone(), slot as u32);
                    }
                }
                let vectors = graph
                    .map(|(stored, points)| {
                        let graph =
                            persist::unseal(keys, stored, &persist::vectors_context("graph"))?;
                        let index = VectorIndex::decode(&graph)?;
                        if index.points() != points {
                            return Err(MemoryError::Tampered("vector index".into()));
                        }
                        Ok(index)
                    })
                    .transpose();
                (by_id, vectors)
            },
            || {
                let mut by_record = FastMap::with_capacity_and_hasher(live, Default::default());
                let mut cited_by = FastMap::default();
                let mut facets = Facets::with_capacity(memories.len());
                for (slot, m) in memories.iter().enumerate() {
                    if let Some(m) = m {
                        link_sources(&mut by_record, &mut cited_by, slot as u32, m);
                        facets.add(slot as u32, m);
                    }
                }
                facets.settle();
                (by_record, cited_by, facets)
            },
        );
        let (vectors, vectors_dirty) = match vectors? {
            Some(v) => (v, false),
            None => (graph_of(&memories), live > 0),
        };
        let codes = Codes::build(memories.len(), manifest.dim, |slot| {
            vector_of(&memories, slot as u32)
        });
        Ok(Self {
            codes,
            facets,
            manifest,
            memories,
            by_id,
            by_record,
            cited_by,
            text,
            vectors,
            access,
            dirty_pages: json_pages,
            vectors_dirty,
        })
    }

    fn link(&mut self, slot: u32) {
        let Some(m) = &self.memories[slot as usize] else {
            return;
        };
        self.by_id.insert(m.id.clone(), slot);
        self.facets.add(slot, m);
        link_sources(&mut self.by_record, &mut self.cited_by, slot, m);
    }

    /// Number of memories.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// A memory by id.
    pub fn get(&self, id: &MemoryId) -> Option<&Memory> {
        self.by_id
            .get(id)
            .and_then(|&s| self.memories[s as usize].as_ref())
    }

    /// The memories made from a record.
    pub fn of_record(&self, record: &RecordId) -> Vec<&Memory> {
        self.by_record
            .get(record)
            .into_iter()
            .flatten()
            .filter_map(|&s| self.memories[s as usize].as_ref())
            .collect()
    }

    /// Every memory, in slot (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = &Memory> {
        self.memories.iter().flatten()
    }

    /// Whether the BM25 index still holds any term of `word` (for erasure checks).
    pub fn index_has_term(&self, word: &str) -> Result<bool, MemoryError> {
        self.text.has_term(word)
    }

    /// Bytes of index files held in memory.
    pub fn index_bytes(&self) -> usize {
        self.text.directory().bytes()
    }

    fn embed(
        &mut self,
        embedder: &dyn Embedder,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, MemoryError> {
        let dim = embedder.dim();
        if self.manifest.dim != 0 && self.manifest.dim != dim {
            return Err(MemoryError::DimensionMismatch {
                stored: self.manifest.dim,
                found: dim,
            });
        }
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            let vectors = embedder
                .embed(batch)
                .map_err(|e| MemoryError::Model(e.to_string()))?;
            if vectors.len() != batch.len() || vectors.iter().any(|v| v.len() != dim) {
                return Err(MemoryError::Model(format!(
                    "the embedder returned {} vectors for {} texts, or not of dimension {dim}",
                    vectors.len(),
                    batch.len()
                )));
            }
            for mut v in vectors {
                normalize(&mut v);
                out.push(v);
            }
        }
        self.manifest.dim = dim;
        Ok(out)
    }

    /// Adds memories (rated and embedded) to the in-memory store and the indexes.
    fn add(
        &mut self,
        models: Models<'_>,
        mut drafts: Vec<Memory>,
    ) -> Result<Vec<MemoryId>, MemoryError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<&str> = drafts.iter().map(|m| m.text.as_str()).collect();
        let ratings = models.importance.rate(&texts)?;
        let vectors = self.embed(models.embedder, &texts)?;
        let mut ids = Vec::with_capacity(drafts.len());
        for ((m, rating), vector) in drafts.iter_mut().zip(ratings).zip(vectors) {
            if !m.importance_pinned {
                m.importance = rating.clamp(1, 10);
            }
            m.embedding = vector;
        }
        let first = self.manifest.next_slot;
        for m in drafts {
            let slot = self.manifest.next_slot;
            self.manifest.next_slot += 1;
            self.text.add(slot, &m)?;
            self.codes.set(slot, &m.embedding);
            self.manifest.importance_since_reflection += u32::from(m.importance);
            ids.push(m.id.clone());
            self.memories.push(Some(m));
            self.link(slot);
            self.dirty_pages.insert(slot / PAGE_SLOTS);
        }
        let memories = &self.memories;
        let points: Vec<(u32, &[f32])> = (first..self.manifest.next_slot)
            .filter_map(|s| Some((s, memories[s as usize].as_ref()?.embedding.as_slice())))
            .collect();
        self.vectors
            .insert_batch(&points, &|s| vector_of(memories, s));
        self.vectors_dirty = true;
        self.facets.settle();
        Ok(ids)
    }

    /// Turns new records into memories and forgets those of deleted records.
    pub fn build(
        &mut self,
        vault: &mut Vault,
        models: Models<'_>,
    ) -> Result<BuildReport, MemoryError> {
        let mut report = BuildReport {
            memories_forgotten: self.apply_deletions(vault)? as u64,
            ..BuildReport::default()
        };
        // Records inserted after the cursor only (stores made before the cursor existed have
        // none: their first build passes over every record, skipping those already in).
        let empty: HashSet<RecordId> = self.manifest.empty_records.iter().cloned().collect();
        let mut fresh = Vec::new();
        let mut failure = None;
        let cursor = self.manifest.record_cursor.clone();
        let mut last_seen = None;
        vault.visit_inserted_after(cursor.as_ref(), |r| match r {
            Ok(record) => {
                report.records_seen += 1;
                last_seen = Some(record.id.clone());
                if !self.by_record.contains_key(&record.id) && !empty.contains(&record.id) {
                    fresh.push(record);
                }
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        let now = Utc::now();
        for batch in fresh.chunks(BUILD_BATCH) {
            let mut drafts = Vec::new();
            for record in batch {
                let chunks = chunk_text(&record.data.text);
                if chunks.is_empty() {
                    continue;
                }
                report.records_added += 1;
                for (i, chunk) in chunks.into_iter().enumerate() {
                    drafts.push(memory_of_record(record, i as u32, chunk, now));
                }
            }
            report.memories_added += self.add(models, drafts)?.len() as u64;
            self.text.commit()?;
            if let Some(last) = batch.last() {
                self.manifest.record_cursor = Some(last.id.clone());
            }
        }
        if last_seen.is_some() {
            self.manifest.record_cursor = last_seen;
        }
        self.save(vault)?;
        report.memories_total = self.len() as u64;
        Ok(report)
    }

    /// Adds a memory the owner states directly.
    pub fn remember(
        &mut self,
        vault: &mut Vault,
        models: Models<'_>,
        text: &str,
        at: DateTime<FixedOffset>,
    ) -> Result<MemoryId, MemoryError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(MemoryError::InvalidInput("a memory needs some text".into()));
        }
        let mut drafts = Vec::new();
        for (i, chunk) in chunk_text(text).into_iter().enumerate() {
            let mut m = draft(Origin::Owner, chunk, at, Utc::now(), "owner");
            m.chunk = i as u32;
            drafts.push(m);
        }
        let ids = self.add(models, drafts)?;
        self.text.commit()?;
        self.save(vault)?;
        vault.audit(&AuditEvent::new("memory.remember", "owner").subjects(ids.iter()))?;
        ids.into_iter()
            .next()
            .ok_or_else(|| MemoryError::InvalidInput("a memory needs some text".into()))
    }

    /// Stores reflections (insights citing their evidence) made by [`crate::reflect`].
    pub(crate) fn add_reflections(
        &mut self,
        vault: &mut Vault,
        models: Models<'_>,
        insights: Vec<(String, Vec<MemoryId>)>,
    ) -> Result<Vec<MemoryId>, MemoryError> {
        let now = Utc::now();
        let drafts: Vec<Memory> = insights
            .into_iter()
            .filter(|(text, evidence)| {
                !text.trim().is_empty() && evidence.iter().all(|e| self.by_id.contains_key(e))
            })
            .map(|(text, evidence)| {
                let mut m = draft(
                    Origin::Reflection,
                    text,
                    now.fixed_offset(),
                    now,
                    "reflection",
                );
                m.evidence = evidence;
                m
            })
            .collect();
        let ids = self.add(models, drafts)?;
        self.manifest.importance_since_reflection = 0;
        self.text.commit()?;
        self.save(vault)?;
        if !ids.is_empty() {
            vault.audit(&AuditEvent::new("memory.reflect", "owner").subjects(ids.iter()))?;
        }
        Ok(ids)
    }

    /// Summed importance of the memories added since the last reflection.
    pub fn importance_since_reflection(&self) -> u32 {
        self.manifest.importance_since_reflection
    }

    /// Sets (and pins) a memory's importance.
    pub fn set_importance(
        &mut self,
        vault: &mut Vault,
        id: &MemoryId,
        importance: u8,
    ) -> Result<(), MemoryError> {
        if !(1..=10).contains(&importance) {
            return Err(MemoryError::InvalidInput(
                "importance is between 1 and 10".into(),
            ));
        }
        let slot = *self
            .by_id
            .get(id)
            .ok_or_else(|| MemoryError::NotFound(id.to_string()))?;
        if let Some(m) = self.memories[slot as usize].as_mut() {
            m.importance = importance;
            m.importance_pinned = true;
        }
        self.dirty_pages.insert(slot / PAGE_SLOTS);
        self.save(vault)
    }

    /// Retrieves without side effects (what an app under a grant gets).
    pub fn search(
        &self,
        embedder: &dyn Embedder,
        query: &Query,
    ) -> Result<Vec<Recalled>, MemoryError> {
        if query.text.trim().is_empty() || query.k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let n = query.candidates.max(query.k);
        let filter = &query.filter;
        let mut q = embedder
            .embed(&[query.text.as_str()])
            .map_err(|e| MemoryError::Model(e.to_string()))?
            .pop()
            .ok_or_else(|| MemoryError::Model("the embedder returned no vector".into()))?;
        if self.manifest.dim != 0 && q.len() != self.manifest.dim {
            return Err(MemoryError::DimensionMismatch {
                stored: self.manifest.dim,
                found: q.len(),
            });
        }
        normalize(&mut q);
        let live = |slot: usize| -> Option<&Memory> { self.memories.get(slot)?.as_ref() };
        // A filter's memories, listed exactly when that is cheap (see `crate::facets`). The
        // vector side then scans them or walks the graph accepting only them. BM25 scores only
        // documents of the list when the filter has a time range (tantivy would otherwise walk
        // the postings over all time and check each match's time); a filter without one is
        // as fast, or faster, as tantivy clauses, which it gets while the list is being made.
        let select = || {
            (!filter.is_empty())
                .then(|| {
                    let max = (self.facets.live() / SELECT_DIVISOR)
                        .max(exact_scan_limit(self.vectors.points(), n));
                    self.facets.select(filter, max)
                })
                .flatten()
        };
        let timed = filter.since.is_some() || filter.until.is_some();
        let shared = if timed { select() } else { None };
        // The two retrievers run side by side (on two cores a query takes the longer of the
        // two instead of their sum).
        let (bm25, vector_hits) = rayon::join(
            || match &shared {
                Some(slots) => self.text.search_among(&query.text, slots, n),
                None => self.text.search(&query.text, filter, n),
            },
            || {
                let own = if timed { None } else { select() };
                self.vector_candidates(&q, filter, shared.as_deref().or(own.as_deref()), n)
            },
        );
        let bm25: HashMap<u32, f32> = bm25?.into_iter().collect();
        let vector_hits = vector_hits?;
        let mut slots: Vec<u32> = bm25.keys().copied().collect();
        slots.extend(vector_hits.iter().map(|(s, _)| *s));
        slots.sort_unstable();
        slots.dedup();
        // Both retrievers searched under the filter; this only guards the invariant.
        let compiled = filter.compile();
        slots.retain(|&s| live(s as usize).is_some_and(|m| compiled.matches(m)));
        let now = query.now.unwrap_or_else(Utc::now);
        let candidates: Vec<Candidate> = slots
            .iter()
            .map(|&s| {
                let m = live(s as usize).expect("retained above");
                Candidate {
                    hours_since_access: m
                        .recency_known()
                        .then(|| (now - m.last_accessed).num_milliseconds() as f64 / 3.6e6),
                    importance: m.importance,
                    bm25: f64::from(bm25.get(&s).copied().unwrap_or(0.0)),
                    cosine: f64::from(cosine(&q, &m.embedding)),
                }
            })
            .collect();
        Ok(score(&candidates, &query.params, query.k)
            .into_iter()
            .take(query.k)
            .map(|s| Recalled {
                memory: live(slots[s.index] as usize)
                    .cloned()
                    .expect("retained above"),
                score: s.score,
                recency: s.recency,
                importance: s.importance,
                relevance: s.relevance,
            })
            .collect())
    }

    /// The `n` nearest memories to `q` within `filter` (whose memories are `selection` when
    /// listed): by the graph, or by an exact scan when the filter lets few memories through.
    fn vector_candidates(
        &self,
        q: &[f32],
        filter: &MemoryFilter,
        selection: Option<&[u32]>,
        n: usize,
    ) -> Result<Vec<(u32, f32)>, MemoryError> {
        let live = |slot: usize| -> Option<&Memory> { self.memories.get(slot)?.as_ref() };
        let Some(qc) = self.codes.query(q) else {
            return Ok(Vec::new());
        };
        let approx = |s: u32| self.codes.distance(s, &qc);
        // The first pass ranks by the 8-bit codes (the graph's whole beam, or the best `short`
        // of an exact scan); that short list is re-ranked with the exact vectors.
        let short = (2 * n).max(n + 32);
        let ef = n.max(64);
        let walk = |accept: &dyn Fn(u32) -> bool| -> Vec<u32> {
            self.vectors
                .search(&approx, ef, ef, accept)
                .into_iter()
                .map(|(s, _)| s)
                .collect()
        };
        let first: Vec<u32> = match selection {
            _ if filter.is_empty() => walk(&|_| true),
            Some(slots) if slots.len() <= exact_scan_limit(self.vectors.points(), n) => {
                let mut all = self.codes.scan(slots, &qc);
                if all.len() > short {
                    all.select_nth_unstable_by(short, |a, b| {
                        a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
                    });
                    all.truncate(short);
                }
                all.into_iter().map(|(_, s)| s).collect()
            }
            Some(slots) => {
                let mut set = vec![0u64; self.memories.len().div_ceil(64)];
                for &s in slots {
                    set[s as usize / 64] |= 1 << (s % 64);
                }
                walk(&|s| {
                    set.get(s as usize / 64)
                        .is_some_and(|w| w >> (s % 64) & 1 == 1)
                })
            }
            None => {
                let compiled = filter.compile();
                walk(&|s| live(s as usize).is_some_and(|m| compiled.matches(m)))
            }
        };
        let mut hits: Vec<(u32, f32)> = first
            .into_iter()
            .filter_map(|s| live(s as usize).map(|m| (s, cosine(q, &m.embedding))))
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(n);
        Ok(hits)
    }

    /// Retrieves for `caller`; the owner's retrievals refresh the last-accessed time of what
    /// they return, an app's never do.
    pub fn recall(
        &mut self,
        vault: &mut Vault,
        embedder: &dyn Embedder,
        query: &Query,
        caller: &Caller,
    ) -> Result<Vec<Recalled>, MemoryError> {
        let hits = self.search(embedder, query)?;
        if *caller == Caller::Owner && !hits.is_empty() {
            // Millisecond precision, as persisted.
            let now = persist::from_millis(Utc::now().timestamp_millis());
            for hit in &hits {
                if let Some(&slot) = self.by_id.get(&hit.memory.id)
                    && let Some(m) = self.memories[slot as usize].as_mut()
                {
                    m.last_accessed = now;
                    self.access.insert(slot, now.timestamp_millis());
                }
            }
            if self.access.len() > ACCESS_OVERLAY_MAX {
                let pages: Vec<u32> = self.access.keys().map(|s| s / PAGE_SLOTS).collect();
                self.dirty_pages.extend(pages);
                self.save(vault)?;
            } else {
                persist::save_access(vault, &self.access)?;
            }
        }
        Ok(hits)
    }

    /// Retrieves for `caller` and packs the result into `budget` tokens (see [`crate::context`]).
    pub fn context(
        &mut self,
        vault: &mut Vault,
        embedder: &dyn Embedder,
        counter: &dyn TokenCounter,
        query: &Query,
        budget: usize,
        caller: &Caller,
    ) -> Result<Packed, MemoryError> {
        let hits = self.recall(vault, embedder, query, caller)?;
        Ok(pack(&hits, counter, budget, DEDUP_COSINE))
    }

    /// Forgets a memory and the reflections citing it; returns every id forgotten.
    pub fn forget(
        &mut self,
        vault: &mut Vault,
        id: &MemoryId,
        actor: &str,
    ) -> Result<Vec<MemoryId>, MemoryError> {
        let slot = *self
            .by_id
            .get(id)
            .ok_or_else(|| MemoryError::NotFound(format!("memory {id}")))?;
        let ids = self.erase(vec![slot]);
        self.text.commit()?;
        self.save(vault)?;
        vault.audit(
            &AuditEvent::new("memory.forget", actor)
                .detail("count", ids.len())
                .subjects(ids.iter()),
        )?;
        Ok(ids)
    }

    /// Applies the vault's deletion feed; returns how many memories were forgotten.
    pub fn apply_deletions(&mut self, vault: &mut Vault) -> Result<usize, MemoryError> {
        let deletions = vault.deletions_since(self.manifest.deletion_seq)?;
        let Some(last) = deletions.last().map(|d| d.seq) else {
            return Ok(0);
        };
        let mut slots = Vec::new();
        let mut records = Vec::new();
        for d in &deletions {
            if let Some(s) = self.by_record.get(&d.record_id) {
                slots.extend(s.iter().copied());
                records.push(d.record_id.clone());
            }
        }
        self.manifest
            .empty_records
            .retain(|r| !deletions.iter().any(|d| &d.record_id == r));
        let ids = self.erase(slots);
        self.manifest.deletion_seq = last;
        self.text.commit()?;
        self.save(vault)?;
        if !ids.is_empty() {
            vault.audit(
                &AuditEvent::new("memory.forget", "vault")
                    .detail("reason", "records deleted")
                    .detail("records", records.len())
                    .detail("count", ids.len())
                    .subjects(ids.iter()),
            )?;
        }
        Ok(ids.len())
    }

    /// Removes slots (and, transitively, the reflections citing them) from memory and the
    /// indexes; the caller commits and saves.
    fn erase(&mut self, slots: Vec<u32>) -> Vec<MemoryId> {
        let mut queue = slots;
        let mut ids = Vec::new();
        while let Some(slot) = queue.pop() {
            let Some(m) = self.memories[slot as usize].take() else {
                continue;
            };
            self.by_id.remove(&m.id);
            if let Some(r) = &m.record_id
                && let Some(list) = self.by_record.get_mut(r)
            {
                list.retain(|&s| s != slot);
                if list.is_empty() {
                    self.by_record.remove(r);
                }
            }
            if let Some(citing) = self.cited_by.remove(&m.id) {
                queue.extend(citing);
            }
            self.text.delete(slot);
            self.codes.clear(slot);
            self.facets.remove(slot);
            self.access.remove(&slot);
            self.dirty_pages.insert(slot / PAGE_SLOTS);
            let memories = &self.memories;
            self.vectors.forgotten(slot, &|s| {
                memories.get(s as usize).is_some_and(Option::is_some)
            });
            self.vectors_dirty = true;
            ids.push(m.id);
        }
        self.facets.settle();
        ids
    }

    /// Writes what changed, sealed, then erases what it replaced.
    fn save(&mut self, vault: &mut Vault) -> Result<(), MemoryError> {
        let mut old = Vec::new();
        for page in std::mem::take(&mut self.dirty_pages) {
            let start = page * PAGE_SLOTS;
            let end = (start + PAGE_SLOTS).min(self.memories.len() as u32);
            let members: Vec<(u32, &Memory)> = (start..end)
                .filter_map(|s| self.memories[s as usize].as_ref().map(|m| (s, m)))
                .collect();
            let replaced = if members.is_empty() {
                self.manifest.pages.remove(&page)
            } else {
                let bytes = persist::encode_page(members.into_iter())?;
                let blob = persist::put_sealed(vault, &persist::page_context(page), &bytes)?;
                self.manifest.pages.insert(page, blob)
            };
            old.extend(replaced);
            self.access.retain(|s, _| s / PAGE_SLOTS != page);
        }
        let files = self.text.directory().files();
        let mut blobs = BTreeMap::new();
        let mut inline = BTreeMap::new();
        for (path, class) in files {
            let name = path.to_string_lossy().into_owned();
            match class {
                FileClass::Atomic => {
                    let bytes = self
                        .text
                        .directory()
                        .read(&path)
                        .map_err(MemoryError::io(name.clone()))?;
                    let text = String::from_utf8(bytes)
                        .map_err(|_| MemoryError::Index(format!("{name} is not UTF-8")))?;
                    inline.insert(name, text);
                }
                FileClass::Stream => {
                    let blob = match self.manifest.tantivy_blobs.remove(&name) {
                        Some(blob) => blob,
                        None => {
                            let bytes = zeroize::Zeroizing::new(
                                self.text
                                    .directory()
                                    .read(&path)
                                    .map_err(MemoryError::io(name.clone()))?,
                            );
                            persist::put_sealed(vault, &persist::tantivy_context(&name), &bytes)?
                        }
                    };
                    blobs.insert(name, blob);
                }
            }
        }
        old.extend(std::mem::replace(&mut self.manifest.tantivy_blobs, blobs).into_values());
        self.manifest.tantivy_inline = inline;
        if self.vectors_dirty {
            // Forgotten points only slow the walk; past a quarter of the graph, rebuild it.
            let live = self.by_id.len();
            if (self.vectors.points() - live.min(self.vectors.points())) * 4 > self.vectors.points()
            {
                self.vectors = graph_of(&self.memories);
            }
            let graph = zeroize::Zeroizing::new(self.vectors.encode());
            let vectors = VectorBlobs {
                graph: persist::put_sealed(vault, &persist::vectors_context("graph"), &graph)?,
                data: String::new(),
                points: self.vectors.points(),
                distance: vectors::FORMAT.into(),
            };
            if let Some(previous) = self.manifest.vectors.replace(vectors) {
                old.push(previous.graph);
                if !previous.data.is_empty() {
                    old.push(previous.data);
                }
            }
            self.vectors_dirty = false;
        }
        persist::save_manifest(vault, &self.manifest)?;
        persist::save_access(vault, &self.access)?;
        persist::discard(vault, &old)
    }
}

fn draft(
    origin: Origin,
    text: String,
    at: DateTime<FixedOffset>,
    now: DateTime<Utc>,
    source: &str,
) -> Memory {
    Memory {
        id: Id::generate(),
        origin,
        text,
        occurred_at: at,
        created_at: now,
        last_accessed: at.with_timezone(&Utc),
        time_known: true,
        importance: 1,
        importance_pinned: false,
        source: source.to_owned(),
        author: None,
        participants: Vec::new(),
        handles: Vec::new(),
        conversation: None,
        conversation_name: None,
        record_id: None,
        chunk: 0,
        evidence: Vec::new(),
        embedding: Vec::new(),
    }
}

fn memory_of_record(record: &Record, chunk: u32, text: String, now: DateTime<Utc>) -> Memory {
    let d = &record.data;
    let mut m = draft(Origin::Record, text, d.occurred_at, now, &d.source);
    m.time_known = d.metadata.get("date_source").map(String::as_str) != Some("mtime");
    m.author = d.author.as_ref().map(|a| a.name.clone());
    let mut participants: Vec<String> = d.participants.iter().map(|p| p.name.clone()).collect();
    if let Some(a) = &d.author
        && !participants.contains(&a.name)
    {
        participants.push(a.name.clone());
    }
    m.participants = participants;
    m.handles = d
        .participants
        .iter()
        .chain(d.author.iter())
        .filter_map(|p| p.handle.clone())
        .collect();
    m.handles.sort();
    m.handles.dedup();
    m.conversation = d.conversation.as_ref().map(|c| c.id.clone());
    m.conversation_name = d.conversation.as_ref().and_then(|c| c.name.clone());
    m.record_id = Some(record.id.clone());
    m.chunk = chunk;
    m
}

/// Notes a memory under its record and under each memory it cites.
fn link_sources(
    by_record: &mut FastMap<RecordId, Vec<u32>>,
    cited_by: &mut FastMap<MemoryId, Vec<u32>>,
    slot: u32,
    m: &Memory,
) {
    if let Some(r) = &m.record_id {
        by_record.entry(r.clone()).or_default().push(slot);
    }
    for e in &m.evidence {
        cited_by.entry(e.clone()).or_default().push(slot);
    }
}

/// The vector of a live memory.
fn vector_of(memories: &[Option<Memory>], slot: u32) -> Option<&[f32]> {
    memories
        .get(slot as usize)?
        .as_ref()
        .map(|m| m.embedding.as_slice())
}

/// A vector graph of every live memory.
fn graph_of(memories: &[Option<Memory>]) -> VectorIndex {
    let points: Vec<(u32, &[f32])> = memories
        .iter()
        .enumerate()
        .filter_map(|(s, m)| Some((s as u32, m.as_ref()?.embedding.as_slice())))
        .collect();
    let mut index = VectorIndex::new(memories.len());
    index.insert_batch(&points, &|s| vector_of(memories, s));
    index
}

/// Up to how many memories a filter may let through for the vector search to scan them all
/// rather than walk the graph. The walk computes about `ef·2M` distances per `ef` accepted
/// points, so about `ef·2M·N/count` in all, against `count` for the scan: they cross at
/// `√(ef·2M·N)`; a scan's distances are cheaper (contiguous codes, in slot order, against
/// scattered ones), which measured at a million memories moves the crossing to about twice
/// that (≈ 90,000 at ef 64: 20,000 memories scanned in 1.6 ms, a walk through a filter
/// passing 47,000 in 12 ms). Never below [`EXACT_SCAN_MAX`].
fn exact_scan_limit(points: usize, n: usize) -> usize {
    let ef = n.max(64) as f64;
    let walk = 2.0 * (ef * 32.0 * points as f64).sqrt();
    (walk as usize).max(EXACT_SCAN_MAX)
}

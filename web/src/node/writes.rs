//! The owner's writes while the node runs, shared by the dashboard and the control socket
//! (`hearth add`, `import`, `remember` and `forget` from the CLI): each runs on a blocking
//! thread over the node's one vault connection, and the memories follow through the node's own
//! memory stream and embedding worker, so what was written is searchable at once.
//!
//! # Invariants
//!
//! - The memory stream's write lock is taken before the vault, as everywhere in the node.
//! - The vault audits every write with the actor the caller names (`cli` through the socket,
//!   `dashboard` from the dashboard).

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use hearth_connectors::{ConnectorError, ImportOptions, ImportSummary};
use hearth_memory::{
    BuildReport, Embedder, FeatureImportance, Memory, MemoryId, ModelError, Models,
};
use hearth_vault::{Id, Kind, RecordData};

use super::state::NodeState;
use crate::WebError;

/// Who the model workers see the owner's work as.
pub(crate) const OWNER_APP: &str = "owner";
/// An embedder over the node's embedding worker (so the dashboard loads no model).
pub(crate) struct WorkerEmbedder<'a> {
    state: &'a NodeState,
    dim: usize,
}

impl<'a> WorkerEmbedder<'a> {
    /// Asks the worker once for the dimension.
    pub(crate) fn new(state: &'a NodeState) -> Result<Self, WebError> {
        let dim = state
            .workers
            .embed_blocking(OWNER_APP, vec!["dimension".into()])
            .map_err(|e| WebError::Node(e.message))?
            .vectors
            .first()
            .map_or(0, Vec::len);
        Ok(Self { state, dim })
    }
}

impl Embedder for WorkerEmbedder<'_> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(self
            .state
            .workers
            .embed_blocking(OWNER_APP, texts.iter().map(|t| (*t).to_owned()).collect())
            .map_err(|e| e.message)?
            .vectors)
    }
}

/// The record `hearth add` makes of one text, with and without a node: a note of `source` and
/// `kind` at `at` (milliseconds, as the vault keeps), never a duplicate of another, even an
/// equal one.
pub fn owner_note(source: &str, kind: Kind, text: String, at: DateTime<FixedOffset>) -> RecordData {
    let mut data = RecordData::note(source.to_owned(), text, at);
    data.kind = kind;
    data.external_id = Some(Id::generate().to_string());
    data
}

/// Stores records in one transaction (one audit entry); their ids, in order.
pub(crate) fn add(
    state: &NodeState,
    records: &[RecordData],
    actor: &str,
) -> Result<Vec<Id>, WebError> {
    let outcomes = state.vault().insert_batch(records, actor)?;
    Ok(outcomes.iter().map(|o| o.id().clone()).collect())
}

/// Imports the export at `path` with the connectors pipeline, holding the vault for the
/// whole import; `progress` sees the counts as they grow.
pub(crate) fn import(
    state: &NodeState,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(&ImportSummary),
) -> Result<ImportSummary, ConnectorError> {
    let mut vault = state.vault();
    hearth_connectors::import(&mut vault, path, options, progress)
}

/// Brings the node's memory stream up to date with the vault (new records in, deleted
/// records' memories out), embedding through the node's worker.
pub(crate) fn build_memories(state: &NodeState) -> Result<BuildReport, WebError> {
    let embedder = WorkerEmbedder::new(state)?;
    let mut stream = state.memory_mut();
    let mut vault = state.vault();
    Ok(stream.build(
        &mut vault,
        Models {
            embedder: &embedder,
            importance: &FeatureImportance,
        },
    )?)
}

/// Adds a memory in the owner's words; the memory as stored.
pub(crate) fn remember(
    state: &NodeState,
    text: &str,
    at: DateTime<FixedOffset>,
) -> Result<Option<Memory>, WebError> {
    let embedder = WorkerEmbedder::new(state)?;
    let mut stream = state.memory_mut();
    let mut vault = state.vault();
    let id = stream.remember(
        &mut vault,
        Models {
            embedder: &embedder,
            importance: &FeatureImportance,
        },
        text,
        at,
    )?;
    Ok(stream.get(&id).cloned())
}

/// Forgets a memory and the reflections citing it; the ids forgotten.
pub(crate) fn forget(
    state: &NodeState,
    id: &MemoryId,
    actor: &str,
) -> Result<Vec<MemoryId>, WebError> {
    let mut stream = state.memory_mut();
    let mut vault = state.vault();
    Ok(stream.forget(&mut vault, id, actor)?)
}

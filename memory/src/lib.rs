//! The memory stream: memories built from vault records, retrieved by recency, importance and
//! relevance (BM25 through `tantivy`, vectors through an HNSW graph of our own, see
//! `vectors.rs`), and packed into a model's context window. Indexes never touch disk in clear.
//!
//! - [`model`]: the [`Memory`] and the traits through which models are reached ([`Embedder`],
//!   [`TokenCounter`], [`Generator`]); `memory/` never depends on a model runtime.
//! - [`chunk`]: long texts cut on sentence boundaries (each chunk keeps its record's id).
//! - [`importance`]: the 1–10 rating, feature-based or by the chat model.
//! - [`score`]: the Generative Agents score.
//! - [`filter`]: what a search may see (how grants restrict apps).
//! - [`MemoryStream`]: build, remember, search and recall, forget, persisted sealed in the vault.
//! - [`context`]: packing into a token budget, every line citing its memories.
//! - [`reflect`]: insights citing their evidence.
//!
//! # Invariants
//!
//! - **Nothing in clear on disk.** Memories, index files and vectors are sealed under the
//!   vault's `Indexes` key before they reach the vault; the tantivy index lives in memory
//!   (a sealed directory) and the hnsw dump passes only through a RAM-backed file system.
//! - **Filters are applied inside every retriever**, never after a top-k.
//! - **Forgetting erases** text, index terms, the vector (hidden until the graph is rebuilt, and
//!   overwritten in the sealed dump) and citing reflections, and is audited.
//! - **Only the owner's retrievals change recency.**
//! - **Context packing never exceeds its token budget.**

pub mod chunk;
mod codes;
pub mod context;
mod dot;
mod facets;
pub mod filter;
pub mod importance;
pub mod model;
mod persist;
mod ram;
pub mod reflect;
pub mod score;
mod sealed_dir;
mod stream;
mod text_index;
mod vectors;

use hearth_vault::VaultError;

pub use context::{ContextLine, Packed, pack};
pub use filter::{CompiledFilter, MemoryFilter};
pub use importance::{FeatureImportance, ImportanceRater, LlmImportance};
pub use model::{Embedder, Generator, Memory, MemoryId, ModelError, Origin, TokenCounter};
pub use persist::NAMESPACE;
pub use ram::ram_base;
pub use score::{ScoreParams, Weights};
pub use stream::{BuildReport, Caller, EXACT_SCAN_MAX, MemoryStream, Models, Query, Recalled};

/// Everything that can go wrong in the memory layer.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The BM25 index failed.
    #[error("memory index: {0}")]
    Index(String),
    /// The vector index failed.
    #[error("vector index: {0}")]
    Vectors(String),
    /// A model behind one of the traits failed.
    #[error("model: {0}")]
    Model(String),
    /// No such memory.
    #[error("{0} not found")]
    NotFound(String),
    /// Bad input from the caller.
    #[error("{0}")]
    InvalidInput(String),
    /// Stored memory data did not open or parse; names the object.
    #[error("{0}: sealed memory data is damaged or was altered")]
    Tampered(String),
    /// The embedder's dimension differs from the stored vectors'.
    #[error(
        "the memories were embedded with {stored}-dimensional vectors but the embedder gives \
         {found}: rebuild the memories for the new model"
    )]
    DimensionMismatch {
        /// Dimension of the stored vectors.
        stored: usize,
        /// Dimension the embedder gives.
        found: usize,
    },
    /// A file operation (on the RAM-backed dump directory) failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl MemoryError {
    /// Makes a mapper from an I/O error to [`MemoryError::Io`] with `context`.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> MemoryError {
        let context = context.into();
        move |source| MemoryError::Io { context, source }
    }
}

//! The library's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in the node's library.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A model file or directory is missing; says where it was looked for and how to get it.
    #[error("{what} not found in {}: {hint}", path.display())]
    ModelMissing {
        /// Which model (`text model`, `embedding model`).
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// How to get one.
        hint: &'static str,
    },
    /// A bad value from the caller; names the field.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field or option.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The model runtime failed (loading or running a model).
    #[error(transparent)]
    Model(#[from] hearth_training::Error),
    /// The memory layer failed.
    #[error(transparent)]
    Memory(#[from] hearth_memory::MemoryError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] hearth_vault::VaultError),
    /// A grant could not be read or stored.
    #[error(transparent)]
    Grant(#[from] hearth_permissions::GrantError),
    /// State the node keeps in the vault (revocations, quota counters) did not parse; names it.
    #[error("stored node state is damaged: {0}")]
    Stored(String),
    /// The node could not start, listen or stop (address in use, no threads, ...).
    #[error("{0}")]
    Node(String),
}

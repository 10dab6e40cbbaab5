//! Hearth's vault: everything a person imports, sealed at rest in one directory.
//!
//! A vault directory holds:
//!
//! | file | content |
//! | --- | --- |
//! | `hearth-vault.json` | clear header: format version, vault id, creation time, scrypt work factor |
//! | `key.passphrase.age` | the 256-bit master key, wrapped with `age` under the passphrase (scrypt) |
//! | `key.identity.age` | optional second copy, wrapped to an X25519 identity for unattended unlock |
//! | `vault.db` (+ `-wal`, `-shm`) | SQLite: records, blobs, audit log, deletion feed |
//! | `vault.lock` | held (an OS file lock) by the one process that has the vault open for writing |
//!
//! # Invariants
//!
//! - **Nothing readable on disk.** The only clear columns are ids, times and UTC offsets, source
//!   and kind names, sizes, and keyed content hashes (HMAC-SHA256, never a plain hash). Text,
//!   names, metadata, attachments, and every later index or vector are sealed (see [`crypto`]).
//!   Storage functions take [`crypto::Sealed`] values, which only sealing makes.
//! - **Nonces never repeat under a key**: see [`crypto`]'s invariants.
//! - **Tampering is detected, never decrypted into garbage**; the error names the object.
//! - **Deletion erases.** Deleting a record removes its row, its blobs and their chunks with
//!   SQLite's `secure_delete` on (freed pages are zeroed) and then truncates the WAL, so its
//!   ciphertext leaves the vault's files. The deletion is appended to a feed that later layers
//!   (indexes, vectors, memories) consume, and to the audit log.
//! - **One writer.** Opening for writing takes the lock file; a second writer is refused with
//!   [`VaultError::Locked`]. Readers need no lock (WAL gives them a consistent snapshot).
//! - **Crash safety.** Writes are SQLite transactions with `synchronous = FULL`: a write that
//!   returned has survived a crash, and a crash mid-write leaves the previous state.
//! - **Keys** are zeroized on drop and never printed by `Debug`; nothing here logs content.

pub mod audit;
pub mod blob;
pub mod crypto;
pub mod id;
pub mod keyfile;
pub mod record;

mod backup;
mod store;
mod vault;

use std::path::PathBuf;

pub use audit::{AuditEntry, AuditEvent, AuditReport};
pub use backup::BackupInfo;
pub use blob::BlobRef;
pub use id::Id;
pub use keyfile::KeyfileError;
pub use record::{
    Attachment, Conversation, InsertOutcome, Kind, Person, Record, RecordData, RecordFilter,
    RecordId,
};
pub use secrecy::SecretString;
pub use vault::{CheckReport, Deletion, InitOptions, Span, Status, Unlock, Vault};

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The directory holds no vault.
    #[error("no vault at {0} (create one with `hearth init`)")]
    NotAVault(PathBuf),
    /// `init` was pointed at a directory that is not empty.
    #[error("{0} is not empty; a new vault needs an empty or missing directory")]
    AlreadyExists(PathBuf),
    /// The passphrase or identity did not unlock the vault.
    #[error(transparent)]
    Unlock(#[from] KeyfileError),
    /// Another process has the vault open for writing.
    #[error(
        "the vault at {0} is open for writing by another process (a running node or another command)"
    )]
    Locked(PathBuf),
    /// A write was attempted on a vault opened read-only.
    #[error("the vault was opened read-only")]
    ReadOnly,
    /// Sealed data failed authentication; names the object.
    #[error("{0}: ciphertext failed authentication (the vault was altered or damaged)")]
    Tampered(String),
    /// The audit chain does not verify.
    #[error("audit log: {0}")]
    AuditBroken(String),
    /// No such object.
    #[error("{0} not found")]
    NotFound(String),
    /// The vault's structure is damaged.
    #[error("the vault is damaged: {0}")]
    Corrupt(String),
    /// The vault was written by a newer Hearth.
    #[error("the vault has schema version {found}; this build supports up to {supported}")]
    TooNew {
        /// Version found in the vault.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A backup file is malformed, truncated or not a Hearth backup.
    #[error("backup {path}: {reason}")]
    Backup {
        /// The backup file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Bad input from the caller.
    #[error("{0}")]
    InvalidInput(String),
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, and to which file.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Randomness or key derivation failed.
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}

impl VaultError {
    /// Whether the error is a failed unlock (wrong passphrase, identity or key file): the CLI
    /// exits with code 2 for these.
    pub fn is_unlock_failure(&self) -> bool {
        matches!(self, VaultError::Unlock(_))
    }

    /// Makes a mapper from an I/O error to [`VaultError::Io`] with `context`.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> VaultError {
        let context = context.into();
        move |source| VaultError::Io { context, source }
    }
}

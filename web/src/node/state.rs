//! What every request handler shares: the open vault (for the audit log and records), the
//! grant verifier and its ledger, the memory stream, the model workers, and the limits.
//!
//! # Invariants
//!
//! - The vault is one connection behind a mutex; handlers reach it only from blocking tasks
//!   (`spawn_blocking`) or the model workers, never while holding another of these locks,
//!   except the memory stream's read lock, which is always taken first.
//! - The ledger's lock is held only for a verification (microseconds, no I/O).

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hearth_memory::MemoryStream;
use hearth_permissions::{Ledger, RootPublicKey, Verifier};
use hearth_vault::{AuditEvent, Vault};

use super::oauth::OAuthState;
use super::workers::Workers;
use crate::WebError;

/// Limits and defaults of the node (see `ServeOptions` for each).
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) max_body_bytes: usize,
    pub(crate) default_max_tokens: usize,
    pub(crate) max_completion_tokens: usize,
    pub(crate) max_embed_inputs: usize,
    pub(crate) max_k: usize,
    pub(crate) persona_k: usize,
    pub(crate) persona_context_tokens: usize,
    pub(crate) max_page: usize,
    /// `Host` values the MCP server accepts (DNS-rebinding guard): loopback names and the
    /// address the node listens on.
    pub(crate) mcp_hosts: Vec<String>,
    /// The node listens on every interface: the MCP server accepts any `Host`.
    pub(crate) mcp_any_host: bool,
    /// Whether the dashboard answers peers other than loopback.
    pub(crate) dashboard_remote: bool,
    /// Largest dashboard upload, in bytes.
    pub(crate) max_upload_bytes: u64,
}

/// The ids the node serves its models under.
#[derive(Clone, Debug)]
pub(crate) struct ModelIds {
    /// The chat model (`model.chat`).
    pub(crate) text: String,
    /// The sentence encoder (`model.embed`).
    pub(crate) embed: String,
    /// When the node started (the models' `created`).
    pub(crate) created: i64,
}

/// The persona model's id (`persona.chat`).
pub(crate) const PERSONA: &str = "persona";

/// The shared state.
pub(crate) struct NodeState {
    vault: Mutex<Vault>,
    ledger: Mutex<Ledger>,
    memory: RwLock<MemoryStream>,
    pub(crate) verifier: Verifier,
    pub(crate) workers: Workers,
    pub(crate) config: Config,
    pub(crate) models: ModelIds,
    /// The OAuth 2 authorization server's keys and pending consents.
    pub(crate) oauth: OAuthState,
}

impl NodeState {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        vault: Vault,
        ledger: Ledger,
        memory: MemoryStream,
        root: RootPublicKey,
        workers: Workers,
        config: Config,
        models: ModelIds,
        oauth: OAuthState,
    ) -> Result<Self, WebError> {
        Ok(Self {
            vault: Mutex::new(vault),
            ledger: Mutex::new(ledger),
            memory: RwLock::new(memory),
            verifier: Verifier::new(root)?,
            workers,
            config,
            models,
            oauth,
        })
    }

    /// The vault (blocking: call from a blocking task).
    pub(crate) fn vault(&self) -> MutexGuard<'_, Vault> {
        self.vault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The grant ledger (revocations, nonces, quotas).
    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The memory stream, for searching.
    pub(crate) fn memory(&self) -> RwLockReadGuard<'_, MemoryStream> {
        self.memory.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The memory stream, for the owner's writes (recall, forget, the build after a
    /// dashboard import). Taken before the vault, as the read lock is.
    pub(crate) fn memory_mut(&self) -> RwLockWriteGuard<'_, MemoryStream> {
        self.memory.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an event to the vault's audit log (blocking).
    pub(crate) fn audit(&self, event: &AuditEvent) -> Result<(), WebError> {
        self.vault().audit(event)?;
        Ok(())
    }

    /// Counts model tokens a grant spent.
    pub(crate) fn spend_tokens(&self, grant: hearth_permissions::GrantId, tokens: u64) {
        let now = chrono::Utc::now().timestamp();
        self.ledger().quotas.entry(grant).spend_tokens(now, tokens);
    }

    /// Takes the vault and ledger back at shutdown.
    pub(crate) fn into_parts(self) -> (Vault, Ledger) {
        (
            self.vault.into_inner().unwrap_or_else(|p| p.into_inner()),
            self.ledger.into_inner().unwrap_or_else(|p| p.into_inner()),
        )
    }
}

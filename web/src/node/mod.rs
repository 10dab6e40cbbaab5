//! The node: `hearth serve`, an HTTP server (axum on tokio) that apps reach with grants.
//!
//! - [`serve`]: unlock the vault, load the models once (on their worker threads), bring the
//!   memories up to date if asked, listen, and shut down cleanly on SIGTERM or SIGINT.
//! - `handlers`: the routes; each handler extracts the call, runs one domain function and maps
//!   its error.
//! - `grants`: bearer token and proof of possession → the permissions verifier → a `Scope`;
//!   the audit entry of every use, refusals included.
//! - `chat`: `/v1/chat/completions` (plain and streamed) and `/v1/embeddings`.
//! - `memory`: `/v1/memories/search`, the persona's retrieval, `/v1/records`.
//! - `workers` and `queue`: the models on dedicated threads fed by bounded queues that are fair
//!   between apps.
//! - `mcp`: the MCP server at `/mcp` (tools `search_memories`, `ask_persona`) under the same
//!   grants.
//! - [`control`]: the owner's local control socket (`node.sock`): `hearth grant revoke` while
//!   the node runs, applied at once.
//! - `openai`: the wire format; `error`: OpenAI-style error objects.
//! - [`oauth`]: the OAuth 2 authorization server (consent page, tokens that are grants,
//!   refresh rotation, revocation, introspection, metadata, client registration).
//! - `dashboard`: the owner's dashboard under `/dashboard` (a passphrase session, loopback
//!   only by default): overview, import, memories, grants.
//!
//! # The request path
//!
//! 1. The `Call` extractor reads the body (at most `max_body_bytes`, else 413) and the
//!    `Authorization` and `Hearth-Proof` headers.
//! 2. The domain function parses the body (400), verifies the grant for the right the request
//!    uses and the filters it states (401, 403, 429 over quota), audits a refusal, then reads
//!    only within the `Scope`.
//! 3. Model work is queued per app (429 with `Retry-After` when the queue is full) and runs on
//!    the worker threads; a generation streams back over a channel whose closing (the client
//!    left) stops it.
//! 4. The use is appended to the vault's audit log: app, right, grant id, filters applied, ids
//!    returned or a count, tokens spent, outcome. Never a token or any content.
//!
//! # Invariants
//!
//! - No app request reads anything before its grant verified for exactly what it reads.
//! - Shutdown lets in-flight requests finish, then stops the workers, saves the quota
//!   counters and closes the vault: nothing is left half-written.

mod chat;
pub mod control;
mod dashboard;
mod error;
mod grants;
mod handlers;
mod mcp;
mod memory;
pub mod oauth;
mod openai;
mod queue;
mod state;
mod workers;
mod writes;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hearth_memory::{FeatureImportance, MemoryStream, Models};
use hearth_training::DeviceChoice;
use hearth_vault::{AuditEvent, Unlock, Vault};

pub use error::ApiError;
pub use grants::PROOF_HEADER;
pub use writes::owner_note;

use crate::WebError;
use crate::engine::{self, EncoderEmbedder};

/// Texts per batch for the encoder.
pub(crate) const EMBED_BATCH: usize = 32;

/// How to run the node.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Where to listen (port 0: any free port; the address is printed once ready).
    pub addr: SocketAddr,
    /// The chat model (default: the one under the models folder).
    pub text_model: Option<PathBuf>,
    /// The sentence encoder's directory (default: the one under the models folder).
    pub embed_model: Option<PathBuf>,
    /// The backend.
    pub device: DeviceChoice,
    /// Generations that run at once (each slot holds its own copy of the chat model).
    pub slots: usize,
    /// Generations that may wait, in all.
    pub queue: usize,
    /// Generations that may wait for one app.
    pub queue_per_app: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest prompt, in tokens (after the chat template).
    pub max_prompt_tokens: usize,
    /// Completion tokens when a request sets no `max_tokens`.
    pub default_max_tokens: usize,
    /// Most completion tokens a request may ask for.
    pub max_completion_tokens: usize,
    /// Bring the memories up to date with the vault before serving.
    pub build_memories: bool,
    /// Let apps register themselves as OAuth clients (RFC 7591 `POST /oauth/register`).
    pub allow_dynamic_registration: bool,
    /// Let the dashboard answer peers other than loopback.
    pub dashboard_remote: bool,
    /// Largest export the dashboard accepts as an upload, in bytes.
    pub max_upload_bytes: u64,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8420)),
            text_model: None,
            embed_model: None,
            device: DeviceChoice::Cpu,
            slots: 1,
            queue: 8,
            queue_per_app: 4,
            max_body_bytes: 1 << 20,
            max_prompt_tokens: 2048,
            default_max_tokens: 256,
            max_completion_tokens: 2048,
            build_memories: false,
            allow_dynamic_registration: false,
            dashboard_remote: false,
            max_upload_bytes: 512 << 20,
        }
    }
}

/// Runs the node until SIGTERM or SIGINT. Prints `listening on http://ADDR` on standard
/// output once it accepts requests.
pub fn serve(vault_dir: &Path, unlock: &Unlock, options: &ServeOptions) -> Result<(), WebError> {
    let mut vault = Vault::open(vault_dir, unlock, true)?;
    let root_key = grants::root_key(&mut vault)?;
    let root = root_key.public();
    let ledger = grants::load_ledger(&vault)?;
    let text_model = engine::text_model_path(options.text_model.as_deref())?;
    let embed_model = engine::embed_model_dir(options.embed_model.as_deref())?;

    let mut memory = MemoryStream::open(&vault)?;
    if options.build_memories {
        let device = options.device.device()?;
        let embedder = EncoderEmbedder::new(
            engine::load_encoder(Some(&embed_model), &device)?,
            EMBED_BATCH,
        );
        let report = memory.build(
            &mut vault,
            Models {
                embedder: &embedder,
                importance: &FeatureImportance,
            },
        )?;
        eprintln!(
            "hearth serve: memories up to date ({} added, {} forgotten, {} in all)",
            report.memories_added, report.memories_forgotten, report.memories_total
        );
    }

    let workers = workers::Workers::start(&workers::WorkerOptions {
        text_model: text_model.clone(),
        embed_model: embed_model.clone(),
        device: options.device,
        slots: options.slots.max(1),
        queue: options.queue.max(1),
        queue_per_app: options.queue_per_app.max(1),
        max_prompt_tokens: options.max_prompt_tokens,
    })?;
    let models = state::ModelIds {
        text: model_id(&text_model),
        embed: model_id(&embed_model),
        created: chrono::Utc::now().timestamp(),
    };
    let config = state::Config {
        max_body_bytes: options.max_body_bytes,
        default_max_tokens: options
            .default_max_tokens
            .min(options.max_completion_tokens),
        max_completion_tokens: options.max_completion_tokens,
        max_embed_inputs: 256,
        max_k: 100,
        persona_k: 8,
        persona_context_tokens: options.max_prompt_tokens / 2,
        max_page: 500,
        mcp_hosts: mcp_hosts(options.addr),
        mcp_any_host: options.addr.ip().is_unspecified(),
        dashboard_remote: options.dashboard_remote,
        max_upload_bytes: options.max_upload_bytes,
    };
    let oauth = oauth::OAuthState::new(
        root_key,
        vault_dir.to_path_buf(),
        options.allow_dynamic_registration,
    );
    let state = Arc::new(state::NodeState::new(
        vault, ledger, memory, root, workers, config, models, oauth,
    )?);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hearth-http")
        .build()
        .map_err(|e| WebError::Node(format!("cannot start the async runtime: {e}")))?;
    let control = {
        let _guard = runtime.enter();
        control::ControlSocket::bind(vault_dir)?
    };
    let served = runtime.block_on(run(state.clone(), options.addr, control));
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));

    // Stop the workers (what they hold finishes or, with its client gone, is skipped), then
    // take the vault back, save the counters and close it.
    state.workers.stop();
    let mut state = state;
    let state = loop {
        match Arc::try_unwrap(state) {
            Ok(state) => break state,
            // A blocking task that outlived its connection still holds it: let it finish.
            Err(shared) if Arc::strong_count(&shared) > 1 => {
                state = shared;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(shared) => state = shared,
        }
    };
    let (mut vault, mut ledger) = state.into_parts();
    grants::save_quotas(&mut vault, &mut ledger)?;
    vault.audit(&AuditEvent::new("node.stop", "node"))?;
    drop(vault);
    served
}

async fn run(
    state: Arc<state::NodeState>,
    addr: SocketAddr,
    control: control::ControlSocket,
) -> Result<(), WebError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| WebError::Node(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| WebError::Node(format!("cannot read the listening address: {e}")))?;
    state.oauth.set_issuer(format!("http://{local}"));
    {
        let state = state.clone();
        let event = AuditEvent::new("node.start", "node")
            .detail("addr", local)
            .detail("model", &state.models.text)
            .detail("embed_model", &state.models.embed);
        tokio::task::spawn_blocking(move || state.audit(&event))
            .await
            .map_err(|e| WebError::Node(e.to_string()))??;
    }
    eprintln!(
        "hearth serve: models {} and {}; grants verified with {}",
        state.models.text,
        state.models.embed,
        state.verifier.root()
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    let control = tokio::spawn(control.serve(state.clone()));
    // The peer address reaches the handlers: the OAuth consent page answers loopback only.
    let served = axum::serve(
        listener,
        handlers::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| WebError::Node(format!("the server failed: {e}")));
    // Stop answering the owner's CLI (the socket file goes with it) before the vault closes.
    control.abort();
    let _ = control.await;
    served?;
    eprintln!("hearth serve: stopped accepting requests; finishing");
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The `Host` values the MCP server accepts when the node listens on `addr`.
fn mcp_hosts(addr: SocketAddr) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).into();
    let ip = addr.ip().to_string();
    if !hosts.contains(&ip) {
        hosts.push(ip);
    }
    hosts
}

/// A model's id: its file or directory name, lower-cased, up to the first dot
/// (`SmolLM2-135M-Instruct.Q4_1.gguf` → `smollm2-135m-instruct`).
fn model_id(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "model".into());
    name.split('.').next().unwrap_or(&name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_lower_case_names_without_extensions() {
        assert_eq!(
            model_id(Path::new("/m/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")),
            "smollm2-135m-instruct"
        );
        assert_eq!(
            model_id(Path::new("/m/all-minilm-l6-v2")),
            "all-minilm-l6-v2"
        );
    }
}

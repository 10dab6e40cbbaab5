//! The node's local control socket: how the owner's CLI writes to the vault while the node
//! holds its writer lock. `hearth grant revoke` sends the revocation here; the node stores it,
//! audits it, and applies it at once to the grants it verifies.
//!
//! The socket is `node.sock` in the vault directory (which is 0700), created 0600 by the node
//! and removed when it stops. The node answers only a peer whose uid (`SO_PEERCRED`) is the
//! socket's owner, the uid the node runs as; the CLI talks only to a socket owned by the vault
//! directory's owner.
//!
//! The protocol is one JSON request line and one JSON response line per connection:
//! `{"op": "revoke", "id": "<grant id>"}` → `{"ok": true, "already": false}`, or
//! `{"ok": false, "error": "..."}`. Requests are bounded (64 KiB).
//!
//! # Invariants
//!
//! - A revocation is stored and audited before the answer, and the verifier's revocation list
//!   holds it before the answer: the next request with the grant gets 401.
//! - Nothing secret crosses the socket (grant ids only).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::grants;
use super::state::NodeState;
use crate::WebError;

/// The socket's file name in the vault directory.
pub const SOCKET: &str = "node.sock";
/// Longest request line.
const MAX_REQUEST: u64 = 64 * 1024;

/// A request from the owner's CLI.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlRequest {
    /// Revoke a grant (and every token derived from it).
    Revoke {
        /// The grant's id.
        id: String,
    },
}

/// The node's answer.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ControlResponse {
    /// Whether the request was carried out.
    pub ok: bool,
    /// For a revocation: whether the grant was revoked already.
    #[serde(default)]
    pub already: bool,
    /// Why not, when not `ok`.
    #[serde(default)]
    pub error: Option<String>,
}

/// The socket's path for a vault directory.
pub fn socket_path(vault_dir: &Path) -> PathBuf {
    vault_dir.join(SOCKET)
}

/// Sends `request` to the node running on `vault_dir`: `None` when no node listens there (no
/// socket, or a stale one), else its answer.
pub fn send(
    vault_dir: &Path,
    request: &ControlRequest,
) -> Result<Option<ControlResponse>, WebError> {
    let path = socket_path(vault_dir);
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        return Ok(None);
    };
    let dir_owner = std::fs::metadata(vault_dir)
        .map_err(|e| WebError::Node(format!("cannot read {}: {e}", vault_dir.display())))?
        .uid();
    if meta.uid() != dir_owner {
        return Err(WebError::Node(format!(
            "{} is not owned by the vault's owner: not using it",
            path.display()
        )));
    }
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        // A socket left by a node that died: no node listens.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(None),
        Err(e) => return Err(WebError::Node(format!("cannot reach the node: {e}"))),
    };
    let io = |e: std::io::Error| WebError::Node(format!("talking to the node: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let mut line = serde_json::to_string(request).map_err(|e| WebError::Node(e.to_string()))?;
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(std::io::Read::take(stream, MAX_REQUEST))
        .read_line(&mut answer)
        .map_err(io)?;
    serde_json::from_str(&answer)
        .map(Some)
        .map_err(|e| WebError::Node(format!("the node's answer is not valid: {e}")))
}

/// The listening socket, removed on drop.
pub(crate) struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    owner: u32,
}

impl ControlSocket {
    /// Binds `node.sock` in the vault directory, owner-only. A socket file left by a node that
    /// died is replaced (the caller holds the vault's writer lock, so no node runs there).
    pub(crate) fn bind(vault_dir: &Path) -> Result<ControlSocket, WebError> {
        let path = socket_path(vault_dir);
        let fail = |what: &str, e: std::io::Error| {
            WebError::Node(format!("cannot {what} {}: {e}", path.display()))
        };
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(WebError::Node(format!(
                    "{} exists and is not a socket",
                    path.display()
                )));
            }
            std::fs::remove_file(&path).map_err(|e| fail("remove the stale", e))?;
        }
        let listener = UnixListener::bind(&path).map_err(|e| fail("listen on", e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| fail("restrict", e))?;
        let owner = std::fs::symlink_metadata(&path)
            .map_err(|e| fail("read", e))?
            .uid();
        Ok(ControlSocket {
            listener,
            path,
            owner,
        })
    }

    /// Answers requests until the task is dropped with the runtime.
    pub(crate) async fn serve(self, state: Arc<NodeState>) {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("hearth serve: control socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = state.clone();
            let owner = self.owner;
            tokio::spawn(async move {
                if let Err(e) = connection(stream, owner, state).await {
                    eprintln!("hearth serve: control socket: {e}");
                }
            });
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One request and its answer, from a peer of the owner's uid only.
async fn connection(
    mut stream: UnixStream,
    owner: u32,
    state: Arc<NodeState>,
) -> Result<(), std::io::Error> {
    let peer = stream.peer_cred()?.uid();
    if peer != owner {
        eprintln!("hearth serve: control socket: refused a peer of uid {peer}");
        return Ok(());
    }
    let (read, mut write) = stream.split();
    let mut line = String::new();
    tokio::io::BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let response = match serde_json::from_str::<ControlRequest>(&line) {
        Ok(request) => {
            let state = state.clone();
            tokio::task::spawn_blocking(move || handle(&state, request))
                .await
                .unwrap_or_else(|e| Err(WebError::Node(e.to_string())))
                .unwrap_or_else(|e| ControlResponse {
                    error: Some(e.to_string()),
                    ..ControlResponse::default()
                })
        }
        Err(e) => ControlResponse {
            error: Some(format!("not a request: {e}")),
            ..ControlResponse::default()
        },
    };
    let mut out = serde_json::to_string(&response).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    write.write_all(out.as_bytes()).await?;
    write.flush().await
}

/// Carries out a request (blocking).
fn handle(state: &NodeState, request: ControlRequest) -> Result<ControlResponse, WebError> {
    match request {
        ControlRequest::Revoke { id } => {
            let already = grants::revoke(state, &id)?;
            Ok(ControlResponse {
                ok: true,
                already,
                error: None,
            })
        }
    }
}

//! The node's local control socket: how the owner's CLI writes to the vault while the node
//! holds its writer lock. Through it go `hearth grant revoke` (applied at once to the grants
//! the node verifies), `hearth add`, `hearth import` (the node reads the export by path: same
//! user, same machine), `hearth remember` and `hearth forget`. The node performs the write,
//! audits it as the CLI would (actor `cli`), and brings its memories up to date through its own
//! stream and embedding worker, so what was written is searchable at once; the CLI prints the
//! same output as without a node, and asks no passphrase.
//!
//! The socket is `node.sock` in the vault directory (which is 0700), created 0600 by the node
//! and removed when it stops. The node answers only a peer whose uid (`SO_PEERCRED`) is the
//! socket's owner, the uid the node runs as; the CLI talks only to a socket owned by the vault
//! directory's owner.
//!
//! The protocol is one JSON request line per connection, answered by JSON lines: zero or more
//! progress lines (`"progress": true`, an import's counts so far, at most a few a second), then
//! the answer: `{"op": "revoke", "id": "<grant id>"}` → `{"ok": true, "already": false}`, or
//! `{"ok": false, "error": "...", "usage": true}` (`usage`: the caller's mistake, exit 2).
//! A request line is at most [`MAX_REQUEST`] (8 MiB); `hearth add --stdin` sends its lines in
//! batches of at most [`MAX_ADD_BATCH`] lines and [`MAX_ADD_BYTES`] of text, and refuses a
//! single line longer than that. An answer line is at most [`MAX_ANSWER`].
//!
//! # Invariants
//!
//! - A write is stored and audited before its answer; a revocation is in the verifier's list
//!   before the answer: the next request with the grant gets 401.
//! - Nothing secret crosses the socket (grant ids, the owner's own texts and paths only).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use hearth_connectors::{ConnectorError, Context, DateOrder, ImportOptions, ImportSummary, time};
use hearth_memory::{BuildReport, MemoryId};
use hearth_vault::Kind;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::grants;
use super::state::NodeState;
use super::writes;
use crate::WebError;
use crate::memories::MemoryJson;

/// The socket's file name in the vault directory.
pub const SOCKET: &str = "node.sock";
/// Longest request line, in bytes.
pub const MAX_REQUEST: u64 = 8 << 20;
/// Longest answer line, in bytes (an import's answer lists at most 1000 bad items).
pub const MAX_ANSWER: u64 = 16 << 20;
/// Most records in one `add` request.
pub const MAX_ADD_BATCH: usize = 2048;
/// Most bytes of text in one `add` request (JSON-escaped, so a request stays under
/// [`MAX_REQUEST`]).
pub const MAX_ADD_BYTES: usize = 4 << 20;
/// The shortest time between two progress lines.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// The actor the audit log names for the CLI's writes.
const ACTOR: &str = "cli";

/// A request from the owner's CLI.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlRequest {
    /// Is a node there? (`hearth add --stdin` asks before it reads its input.)
    Ping,
    /// Revoke a grant (and every token derived from it).
    Revoke {
        /// The grant's id.
        id: String,
    },
    /// `hearth add`: store notes, then bring the memories up to date.
    Add {
        /// Source name.
        source: String,
        /// Record kind (`note`, `message`, ...).
        kind: String,
        /// The texts, each with its time (RFC 3339).
        notes: Vec<NoteIn>,
    },
    /// `hearth import`: the node reads the export at `path` (absolute) and imports it.
    Import {
        /// The export: a file, a folder, or a .zip.
        path: PathBuf,
        /// The format (detected when absent).
        #[serde(default)]
        format: Option<String>,
        /// The owner's names or handles in the export.
        #[serde(default)]
        me: Vec<String>,
        /// The IANA zone for times without one (the CLI's zone: the node may run under another
        /// `TZ`).
        tz: String,
        /// `dmy` or `mdy`, when the export cannot tell.
        #[serde(default)]
        date_order: Option<String>,
        /// Do not bring the memories up to date after the import.
        #[serde(default)]
        no_memories: bool,
    },
    /// `hearth remember`: a memory in the owner's words.
    Remember {
        /// What to remember.
        text: String,
        /// When it happened (RFC 3339).
        at: String,
    },
    /// `hearth forget`: a memory and the reflections citing it.
    Forget {
        /// The memory's id.
        id: String,
    },
}

/// One text for `add`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoteIn {
    /// The record's text.
    pub text: String,
    /// When it happened (RFC 3339).
    pub at: String,
}

impl ControlRequest {
    /// How long the CLI waits for each line of the answer: a write that builds memories may
    /// take minutes.
    fn patience(&self) -> Duration {
        match self {
            ControlRequest::Ping
            | ControlRequest::Revoke { .. }
            | ControlRequest::Forget { .. } => Duration::from_secs(30),
            _ => Duration::from_secs(30 * 60),
        }
    }
}

/// One item an import did not take.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssueOut {
    /// File and line, or file and JSON path.
    pub location: String,
    /// What was wrong.
    pub reason: String,
}

/// What an import did (in a progress line: so far).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportOut {
    /// The format's name.
    pub format: String,
    /// Records stored.
    pub imported: u64,
    /// Records already in the vault.
    pub duplicates: u64,
    /// Items not imported.
    pub skipped: u64,
    /// Attachments stored.
    pub attachments: u64,
    /// Bad items (empty in progress lines).
    #[serde(default)]
    pub errors: Vec<IssueOut>,
}

impl ImportOut {
    fn of(s: &ImportSummary, with_errors: bool) -> Self {
        Self {
            format: s.format.to_owned(),
            imported: s.imported,
            duplicates: s.duplicates,
            skipped: s.skipped,
            attachments: s.attachments,
            errors: if with_errors {
                s.errors
                    .iter()
                    .map(|i| IssueOut {
                        location: i.location.clone(),
                        reason: i.reason.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// What a memory build did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BuildOut {
    /// Records opened by the build.
    pub records_seen: u64,
    /// Records turned into memories.
    pub records_added: u64,
    /// Memories made.
    pub memories_added: u64,
    /// Memories forgotten.
    pub memories_forgotten: u64,
    /// Memories in all.
    pub memories_total: u64,
}

impl From<&BuildReport> for BuildOut {
    fn from(r: &BuildReport) -> Self {
        Self {
            records_seen: r.records_seen,
            records_added: r.records_added,
            memories_added: r.memories_added,
            memories_forgotten: r.memories_forgotten,
            memories_total: r.memories_total,
        }
    }
}

impl From<&BuildOut> for BuildReport {
    fn from(r: &BuildOut) -> Self {
        Self {
            records_seen: r.records_seen,
            records_added: r.records_added,
            memories_added: r.memories_added,
            memories_forgotten: r.memories_forgotten,
            memories_total: r.memories_total,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

/// The node's answer (or, with `progress`, a line before it).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ControlResponse {
    /// Whether the request was carried out.
    pub ok: bool,
    /// For a revocation: whether the grant was revoked already.
    #[serde(default)]
    pub already: bool,
    /// Why not, when not `ok`: the same text the CLI prints without a node.
    #[serde(default)]
    pub error: Option<String>,
    /// The error is the caller's mistake (the CLI exits 2).
    #[serde(default, skip_serializing_if = "is_false")]
    pub usage: bool,
    /// A progress line: the answer follows.
    #[serde(default, skip_serializing_if = "is_false")]
    pub progress: bool,
    /// For `add`: the new records' ids, in the order sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// For `import`: what it did, or (in a progress line) so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportOut>,
    /// For `add` and `import`: the memory build that followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memories: Option<BuildOut>,
    /// For `add`: why the memory build that followed failed (the records are stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For `remember`: the memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryJson>,
    /// For `forget`: the memories forgotten.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forgotten: Vec<String>,
}

impl ControlResponse {
    fn done() -> Self {
        Self {
            ok: true,
            ..Self::default()
        }
    }

    fn failed(error: String, usage: bool) -> Self {
        Self {
            error: Some(error),
            usage,
            ..Self::default()
        }
    }
}

/// An error's message and its causes, as the CLI prints one (each cause not already said).
fn describe(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = e.source();
    }
    parts.join(": ")
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
    send_with_progress(vault_dir, request, &mut |_| {})
}

/// As [`send`], calling `progress` with each progress line before the answer.
pub fn send_with_progress(
    vault_dir: &Path,
    request: &ControlRequest,
    progress: &mut dyn FnMut(&ControlResponse),
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
        .set_read_timeout(Some(request.patience()))
        .map_err(io)?;
    let mut line = serde_json::to_string(request).map_err(|e| WebError::Node(e.to_string()))?;
    if line.len() as u64 >= MAX_REQUEST {
        return Err(WebError::Invalid {
            field: "request",
            reason: format!("too large for the node's socket (at most {MAX_REQUEST} bytes)"),
        });
    }
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(io)?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut answer = String::new();
        (&mut reader)
            .take(MAX_ANSWER)
            .read_line(&mut answer)
            .map_err(io)?;
        if answer.is_empty() {
            return Err(WebError::Node(
                "the node closed the connection without an answer".into(),
            ));
        }
        let response: ControlResponse = serde_json::from_str(&answer)
            .map_err(|e| WebError::Node(format!("the node's answer is not valid: {e}")))?;
        if response.progress {
            progress(&response);
        } else {
            return Ok(Some(response));
        }
    }
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

/// Where a request's progress lines go: at most one per [`PROGRESS_EVERY`], dropped when the
/// connection's writer is behind.
struct Progress {
    tx: tokio::sync::mpsc::Sender<ControlResponse>,
    last: Option<Instant>,
}

impl Progress {
    fn send(&mut self, line: impl FnOnce() -> ControlResponse) {
        if self.last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let mut line = line();
        line.progress = true;
        line.ok = true;
        let _ = self.tx.try_send(line);
    }
}

async fn write_line(
    write: &mut (impl AsyncWriteExt + Unpin),
    response: &ControlResponse,
) -> Result<(), std::io::Error> {
    let mut out = serde_json::to_string(response).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    write.write_all(out.as_bytes()).await?;
    write.flush().await
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
    let request = if !line.ends_with('\n') && line.len() as u64 >= MAX_REQUEST {
        Err(format!(
            "the request is too long (at most {MAX_REQUEST} bytes)"
        ))
    } else {
        serde_json::from_str::<ControlRequest>(&line).map_err(|e| format!("not a request: {e}"))
    };
    let response = match request {
        Ok(request) => {
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            let state = state.clone();
            let task = tokio::task::spawn_blocking(move || {
                let mut progress = Progress { tx, last: None };
                handle(&state, request, &mut progress)
            });
            // The task's sender goes when it returns: then the answer is ready. A client that
            // left gets no more lines; the write itself finishes.
            let mut connected = true;
            while let Some(update) = rx.recv().await {
                if connected && write_line(&mut write, &update).await.is_err() {
                    connected = false;
                }
            }
            task.await
                .unwrap_or_else(|e| ControlResponse::failed(e.to_string(), false))
        }
        Err(error) => ControlResponse::failed(error, false),
    };
    write_line(&mut write, &response).await
}

/// Carries out a request (blocking); a failure is an answer too.
fn handle(state: &NodeState, request: ControlRequest, progress: &mut Progress) -> ControlResponse {
    let outcome = match request {
        ControlRequest::Ping => Ok(ControlResponse::done()),
        ControlRequest::Revoke { id } => {
            grants::revoke(state, &id).map(|already| ControlResponse {
                already,
                ..ControlResponse::done()
            })
        }
        ControlRequest::Add {
            source,
            kind,
            notes,
        } => add(state, &source, &kind, notes),
        ControlRequest::Import {
            path,
            format,
            me,
            tz,
            date_order,
            no_memories,
        } => {
            return import(
                state,
                &path,
                ImportIn {
                    format,
                    me,
                    tz,
                    date_order,
                    no_memories,
                },
                progress,
            );
        }
        ControlRequest::Remember { text, at } => remember(state, &text, &at),
        ControlRequest::Forget { id } => forget(state, &id),
    };
    outcome.unwrap_or_else(|e| {
        let usage = matches!(e, WebError::Invalid { .. });
        ControlResponse::failed(describe(&e), usage)
    })
}

fn parse_time(field: &'static str, text: &str) -> Result<DateTime<FixedOffset>, WebError> {
    DateTime::parse_from_rfc3339(text).map_err(|e| WebError::Invalid {
        field,
        reason: format!("{text:?}: {e}"),
    })
}

/// Stores the notes (one transaction), then builds the memories; a failed build is a note,
/// since the records are stored.
fn add(
    state: &NodeState,
    source: &str,
    kind: &str,
    notes: Vec<NoteIn>,
) -> Result<ControlResponse, WebError> {
    let kind: Kind = kind.parse().map_err(|e: String| WebError::Invalid {
        field: "kind",
        reason: e,
    })?;
    if notes.len() > MAX_ADD_BATCH {
        return Err(WebError::Invalid {
            field: "notes",
            reason: format!("at most {MAX_ADD_BATCH} records a request"),
        });
    }
    let records = notes
        .into_iter()
        .map(|n| {
            Ok(writes::owner_note(
                source,
                kind,
                n.text,
                parse_time("at", &n.at)?,
            ))
        })
        .collect::<Result<Vec<_>, WebError>>()?;
    let ids = writes::add(state, &records, ACTOR)?;
    let (memories, note) = match writes::build_memories(state) {
        Ok(report) => (Some(BuildOut::from(&report)), None),
        Err(e) => (
            None,
            Some(format!("memories not brought up to date: {}", describe(&e))),
        ),
    };
    Ok(ControlResponse {
        ids: ids.iter().map(ToString::to_string).collect(),
        memories,
        note,
        ..ControlResponse::done()
    })
}

/// An import's options as sent.
struct ImportIn {
    format: Option<String>,
    me: Vec<String>,
    tz: String,
    date_order: Option<String>,
    no_memories: bool,
}

/// Imports the export, streaming its counts, then builds the memories unless asked not to.
/// Errors read as without a node; an unknown format or an ambiguous date order is a usage
/// error, as there.
fn import(
    state: &NodeState,
    path: &Path,
    options: ImportIn,
    progress: &mut Progress,
) -> ControlResponse {
    let usage = |reason: String| ControlResponse::failed(reason, true);
    if !path.is_absolute() {
        return usage(format!("{}: not an absolute path", path.display()));
    }
    let tz = match time::parse_zone(&options.tz) {
        Ok(tz) => tz,
        Err(e) => return usage(e.to_string()),
    };
    let date_order = match options.date_order.as_deref().map(str::parse::<DateOrder>) {
        None => None,
        Some(Ok(order)) => Some(order),
        Some(Err(e)) => return usage(e),
    };
    let import_options = ImportOptions {
        format: options.format,
        context: Context {
            tz,
            date_order,
            me: options.me,
        },
        actor: ACTOR.into(),
    };
    let mut on_progress = |s: &ImportSummary| {
        progress.send(|| ControlResponse {
            import: Some(ImportOut::of(s, false)),
            ..ControlResponse::default()
        });
    };
    let summary = match writes::import(state, path, &import_options, &mut on_progress) {
        Ok(summary) => summary,
        Err(e @ (ConnectorError::AmbiguousDateOrder { .. } | ConnectorError::UnknownFormat(_))) => {
            return usage(describe(&e));
        }
        Err(e) => return ControlResponse::failed(describe(&e), false),
    };
    let memories = if options.no_memories {
        None
    } else {
        match writes::build_memories(state) {
            Ok(report) => Some(BuildOut::from(&report)),
            Err(e) => return ControlResponse::failed(describe(&e), false),
        }
    };
    ControlResponse {
        import: Some(ImportOut::of(&summary, true)),
        memories,
        ..ControlResponse::done()
    }
}

fn remember(state: &NodeState, text: &str, at: &str) -> Result<ControlResponse, WebError> {
    if text.trim().is_empty() {
        return Err(WebError::Invalid {
            field: "text",
            reason: "the text to remember is empty".into(),
        });
    }
    let memory = writes::remember(state, text, parse_time("at", at)?)?;
    Ok(ControlResponse {
        memory: memory.as_ref().map(MemoryJson::from),
        ..ControlResponse::done()
    })
}

fn forget(state: &NodeState, id: &str) -> Result<ControlResponse, WebError> {
    let id: MemoryId = id.parse().map_err(|_| WebError::Invalid {
        field: "id",
        reason: format!("{id:?} is not a memory id"),
    })?;
    let forgotten = writes::forget(state, &id, ACTOR)?;
    Ok(ControlResponse {
        forgotten: forgotten.iter().map(ToString::to_string).collect(),
        ..ControlResponse::done()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_keep_their_wire_format() {
        let ping: ControlRequest = serde_json::from_str(r#"{"op":"ping"}"#).unwrap();
        assert!(matches!(ping, ControlRequest::Ping));
        let import: ControlRequest =
            serde_json::from_str(r#"{"op":"import","path":"/x/chat.txt","tz":"UTC"}"#).unwrap();
        assert!(matches!(
            import,
            ControlRequest::Import { no_memories: false, ref me, .. } if me.is_empty()
        ));
        // Unknown fields and ops are refused, not ignored.
        assert!(
            serde_json::from_str::<ControlRequest>(r#"{"op":"revoke","id":"a","x":1}"#).is_err()
        );
        assert!(serde_json::from_str::<ControlRequest>(r#"{"op":"format_disk"}"#).is_err());
        // A revocation's answer is what it was before the other writes came.
        let answer = ControlResponse {
            already: true,
            ..ControlResponse::done()
        };
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"ok":true,"already":true,"error":null}"#
        );
        let refusal = ControlResponse::failed("unknown format".into(), true);
        let back: ControlResponse =
            serde_json::from_str(&serde_json::to_string(&refusal).unwrap()).unwrap();
        assert!(!back.ok && back.usage && !back.progress);
    }

    #[test]
    fn errors_read_with_their_causes_once() {
        let io = std::io::Error::other("permission denied");
        let e = ConnectorError::Io {
            path: "chat.txt".into(),
            source: io,
        };
        assert_eq!(describe(&e), "chat.txt: permission denied");
    }

    #[test]
    fn progress_lines_are_spaced_and_never_block() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let mut progress = Progress { tx, last: None };
        for _ in 0..100 {
            progress.send(ControlResponse::default);
        }
        let first = rx.try_recv().unwrap();
        assert!(first.progress && first.ok);
        assert!(rx.try_recv().is_err(), "one line per interval");
    }
}

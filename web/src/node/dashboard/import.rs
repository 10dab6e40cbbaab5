//! Import from the dashboard: the uploaded export is streamed into a sealed vault blob (never
//! into memory whole, and refused past the node's `--max-upload`), then imported by the
//! connectors pipeline on a blocking thread, and the memories are brought up to date through
//! the node's embedding worker. The job's progress and per-message errors are polled by the
//! page.
//!
//! The pipeline reads a file by path (formats are detected by name and content), so for the
//! import the blob is written to a private temporary folder (mode 0700), removed as soon as
//! the import ends, and the blob is then discarded.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use hearth_connectors::{Context, ImportOptions, ImportSummary, time};
use hearth_vault::{BlobRef, Id};
use serde::Serialize;

use super::super::state::NodeState;
use super::super::writes;
use super::data::ACTOR;
use crate::WebError;

/// Per-message errors kept for the page.
const MAX_ERRORS: usize = 200;
/// Import jobs remembered (the oldest finished one goes first).
const MAX_JOBS: usize = 32;

/// What the import form asks for, besides the file.
#[derive(Clone, Debug, Default)]
pub(crate) struct ImportRequest {
    pub(crate) file_name: String,
    pub(crate) tz: Option<String>,
    pub(crate) me: Vec<String>,
    pub(crate) format: Option<String>,
}

/// One item not imported.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct JobIssue {
    location: String,
    reason: String,
}

/// An import job as the page sees it.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Job {
    /// `importing`, `building memories`, `done` or `failed`.
    pub(crate) phase: &'static str,
    pub(crate) file: String,
    pub(crate) bytes: u64,
    pub(crate) format: Option<String>,
    pub(crate) imported: u64,
    pub(crate) duplicates: u64,
    pub(crate) skipped: u64,
    pub(crate) attachments: u64,
    pub(crate) errors: Vec<JobIssue>,
    pub(crate) memories: Option<String>,
    pub(crate) error: Option<String>,
}

/// The jobs.
#[derive(Default)]
pub(crate) struct Jobs(Mutex<HashMap<String, Arc<Mutex<Job>>>>);

impl Jobs {
    fn insert(&self, id: String, job: Arc<Mutex<Job>>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_JOBS {
            let done: Vec<String> = map
                .iter()
                .filter(|(_, j)| matches!(lock(j).phase, "done" | "failed"))
                .map(|(k, _)| k.clone())
                .collect();
            for k in done.into_iter().take(map.len() + 1 - MAX_JOBS) {
                map.remove(&k);
            }
        }
        map.insert(id, job);
    }

    /// A job's state now.
    pub(crate) fn get(&self, id: &str) -> Option<Job> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).map(|j| lock(j).clone())
    }
}

fn lock(job: &Mutex<Job>) -> std::sync::MutexGuard<'_, Job> {
    job.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the async side sends the blob writer: a chunk, or the error that ends the upload.
pub(crate) type ChunkResult = Result<Bytes, std::io::Error>;

/// A `Read` over chunks sent from the async side; an `Err` chunk ends it with that error.
pub(crate) struct ChannelReader {
    rx: std::sync::mpsc::Receiver<ChunkResult>,
    current: Bytes,
    at: usize,
}

impl ChannelReader {
    pub(crate) fn new(rx: std::sync::mpsc::Receiver<ChunkResult>) -> Self {
        Self {
            rx,
            current: Bytes::new(),
            at: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.current.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The sender finished: end of the upload.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Streams the upload into a sealed blob (blocking).
pub(crate) fn store_upload(
    state: &NodeState,
    reader: &mut ChannelReader,
) -> Result<BlobRef, WebError> {
    Ok(state.vault().put_blob(reader)?)
}

/// A file name safe to create: its last path component, without control characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    match clean.trim() {
        "" | "." | ".." => "upload".into(),
        s => s.to_owned(),
    }
}

/// Starts the import of a stored upload; returns the job's id.
pub(crate) fn start(
    state: Arc<NodeState>,
    jobs: &Jobs,
    blob: BlobRef,
    request: ImportRequest,
) -> String {
    let id = super::session::random_token()[..16].to_owned();
    let job = Arc::new(Mutex::new(Job {
        phase: "importing",
        file: safe_name(&request.file_name),
        bytes: blob.size,
        ..Job::default()
    }));
    jobs.insert(id.clone(), job.clone());
    let worker_job = job.clone();
    std::thread::Builder::new()
        .name("hearth-import".into())
        .spawn(move || {
            let job = worker_job;
            let outcome = run(&state, &blob.id, &request, &job);
            let _ = state.vault().discard_blob(&blob.id);
            let mut j = lock(&job);
            match outcome {
                Ok(()) => j.phase = "done",
                Err(e) => {
                    eprintln!("hearth serve: dashboard import failed: {e}");
                    j.phase = "failed";
                    j.error = Some(e.to_string());
                }
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| {
            let mut j = lock(&job);
            j.phase = "failed";
            j.error = Some(format!("cannot start the import: {e}"));
        });
    id
}

fn note(job: &Mutex<Job>, s: &ImportSummary) {
    let mut j = lock(job);
    j.format = Some(s.format.to_owned());
    j.imported = s.imported;
    j.duplicates = s.duplicates;
    j.skipped = s.skipped;
    j.attachments = s.attachments;
    j.errors = s
        .errors
        .iter()
        .take(MAX_ERRORS)
        .map(|i| JobIssue {
            location: i.location.clone(),
            reason: i.reason.clone(),
        })
        .collect();
}

fn run(
    state: &NodeState,
    blob: &Id,
    request: &ImportRequest,
    job: &Mutex<Job>,
) -> Result<(), WebError> {
    let tz = match request
        .tz
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(name) => time::parse_zone(name).map_err(|e| WebError::Invalid {
            field: "tz",
            reason: e.to_string(),
        })?,
        None => time::machine_zone(),
    };
    let options = ImportOptions {
        format: request.format.clone().filter(|f| !f.trim().is_empty()),
        context: Context {
            tz,
            date_order: None,
            me: request.me.clone(),
        },
        actor: ACTOR.into(),
    };
    // The importers read a path, so the export is unsealed for the import's length into a
    // private folder on a RAM-backed file system, never onto a disk.
    let ram = hearth_memory::ram_base().ok_or_else(|| {
        WebError::Node(
            "this machine has no RAM-backed file system (/dev/shm) to unseal the upload into; \
             import the file with `hearth import` instead"
                .into(),
        )
    })?;
    let dir = tempfile::Builder::new()
        .prefix("hearth-upload-")
        .tempdir_in(ram)
        .map_err(|e| WebError::Node(format!("cannot make a temporary folder: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| WebError::Node(format!("cannot protect the temporary folder: {e}")))?;
    }
    let path = dir.path().join(safe_name(&request.file_name));
    let summary = {
        {
            let mut file = std::fs::File::create(&path)
                .map_err(|e| WebError::Node(format!("cannot write the upload: {e}")))?;
            state.vault().read_blob(blob, &mut file)?;
        }
        let mut progress = |s: &ImportSummary| note(job, s);
        let result = writes::import(state, &path, &options, &mut progress);
        let _ = std::fs::remove_file(&path);
        result.map_err(|e| WebError::Invalid {
            field: "import",
            reason: e.to_string(),
        })?
    };
    drop(dir);
    note(job, &summary);
    lock(job).phase = "building memories";
    let report = writes::build_memories(state)?;
    lock(job).memories = Some(format!(
        "{} memories added, {} forgotten, {} in all",
        report.memories_added, report.memories_forgotten, report.memories_total
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_stay_in_their_folder() {
        assert_eq!(
            safe_name("WhatsApp Chat with Inês.txt"),
            "WhatsApp Chat with Inês.txt"
        );
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("a\\b\\..\\c.zip"), "c.zip");
        assert_eq!(safe_name(".."), "upload");
        assert_eq!(safe_name("x\n\u{0}y"), "xy");
        assert_eq!(safe_name(""), "upload");
    }

    #[test]
    fn the_channel_reader_reads_chunks_then_ends_or_fails() {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        tx.send(Ok(axum::body::Bytes::from_static(b"hello ")))
            .unwrap();
        tx.send(Ok(axum::body::Bytes::from_static(b"world")))
            .unwrap();
        drop(tx);
        let mut out = String::new();
        ChannelReader::new(rx).read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        tx.send(Ok(axum::body::Bytes::from_static(b"x"))).unwrap();
        tx.send(Err(std::io::Error::other("too large"))).unwrap();
        let mut out = Vec::new();
        assert!(ChannelReader::new(rx).read_to_end(&mut out).is_err());
    }
}

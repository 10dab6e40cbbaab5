//! A tantivy [`Directory`] that keeps every index file in memory and is persisted, sealed, into
//! the vault by the memory store.
//!
//! tantivy reads and writes its files through this directory only; the files live in a
//! [`RamDirectory`]. The directory tracks which files exist and how each was written:
//! files written with `open_write` (segment files) are immutable once terminated and are stored
//! as one sealed blob each; files written with `atomic_write` (`meta.json`, `.managed.json`) are
//! rewritten in place and are stored inside the store's sealed manifest. [`SealedDirectory::files`]
//! and [`SealedDirectory::read`] give the store what it needs to persist a snapshot after a
//! commit, and [`SealedDirectory::load`] rebuilds the directory from opened bytes at unlock.
//!
//! # Invariants
//!
//! - **No plaintext on disk.** Nothing here touches the file system: files are in memory, and the
//!   store seals them (under `Purpose::Indexes`) before they reach the vault.
//! - The writer lock is held in memory (the vault's own writer lock already keeps a second
//!   process out), so no lock file is ever written or persisted.
//! - A file still being written (not terminated) is never listed, so a snapshot never holds a
//!   partial file.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, FileSlice, Lock, RamDirectory, WatchCallback,
    WatchHandle, WritePtr,
};

/// How a file was written, which decides how it is persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileClass {
    /// Written once through `open_write` and never changed: one sealed blob.
    Stream,
    /// Rewritten in place through `atomic_write`: kept inside the manifest.
    Atomic,
}

/// An in-memory tantivy directory whose files the memory store seals into the vault.
#[derive(Clone, Default)]
pub(crate) struct SealedDirectory {
    ram: RamDirectory,
    files: Arc<Mutex<BTreeMap<PathBuf, FileClass>>>,
}

impl std::fmt::Debug for SealedDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedDirectory")
    }
}

impl SealedDirectory {
    /// An empty directory.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a directory from opened files.
    pub(crate) fn load(
        files: impl IntoIterator<Item = (PathBuf, FileClass, Vec<u8>)>,
    ) -> io::Result<Self> {
        let dir = Self::new();
        for (path, class, bytes) in files {
            // RamDirectory serves a file the same way whichever call wrote it.
            dir.ram.atomic_write(&path, &bytes)?;
            dir.tracked().insert(path, class);
        }
        Ok(dir)
    }

    fn tracked(&self) -> MutexGuard<'_, BTreeMap<PathBuf, FileClass>> {
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The complete files, with how each was written.
    pub(crate) fn files(&self) -> Vec<(PathBuf, FileClass)> {
        self.tracked()
            .iter()
            // `exists` is also true for a file still being written; `open_read` only for complete ones.
            .filter(|(path, _)| self.ram.open_read(path).is_ok())
            .map(|(p, c)| (p.clone(), *c))
            .collect()
    }

    /// A file's bytes.
    pub(crate) fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let slice = self
            .ram
            .open_read(path)
            .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e.to_string()))?;
        Ok(slice.read_bytes()?.as_slice().to_vec())
    }

    /// Total bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.ram.total_mem_usage()
    }
}

impl Directory for SealedDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.ram.get_file_handle(path)
    }

    fn open_read(&self, path: &Path) -> Result<FileSlice, OpenReadError> {
        self.ram.open_read(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.tracked().remove(path);
        self.ram.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.ram.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let writer = self.ram.open_write(path)?;
        self.tracked().insert(path.to_path_buf(), FileClass::Stream);
        Ok(writer)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.ram.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.ram.atomic_write(path, data)?;
        self.tracked().insert(path.to_path_buf(), FileClass::Atomic);
        Ok(())
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, _lock: &Lock) -> Result<DirectoryLock, LockError> {
        // One process holds the vault's writer lock, and one store owns this directory.
        Ok(DirectoryLock::from(Box::new(())))
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.ram.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tantivy::directory::TerminatingWrite;

    use super::*;

    #[test]
    fn tracks_files_and_reloads_them() {
        let dir = SealedDirectory::new();
        let mut w = dir.open_write(Path::new("seg.idx")).unwrap();
        w.write_all(b"postings").unwrap();
        // Not terminated yet: not listed.
        assert!(dir.files().is_empty());
        w.terminate().unwrap();
        dir.atomic_write(Path::new("meta.json"), b"{}").unwrap();
        let files = dir.files();
        assert_eq!(
            files,
            vec![
                (PathBuf::from("meta.json"), FileClass::Atomic),
                (PathBuf::from("seg.idx"), FileClass::Stream)
            ]
        );
        let copy = SealedDirectory::load(
            files
                .iter()
                .map(|(p, c)| (p.clone(), *c, dir.read(p).unwrap())),
        )
        .unwrap();
        assert_eq!(copy.read(Path::new("seg.idx")).unwrap(), b"postings");
        dir.delete(Path::new("seg.idx")).unwrap();
        assert_eq!(dir.files().len(), 1);
    }
}

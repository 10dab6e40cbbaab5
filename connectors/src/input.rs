//! What an import reads: one file, a folder, or a `.zip` as the platform gave it, seen uniformly
//! as a list of entries with `/`-separated relative paths.
//!
//! # Invariants
//!
//! - Archives are read in place; nothing is extracted to disk.
//! - An archive entry whose name would escape the archive (absolute, `..`) makes the whole
//!   archive refused: an export never contains one, so its presence means a crafted file.
//! - Sizes are bounded: at most [`MAX_ENTRIES`] entries, [`MAX_TOTAL`] bytes in all, and no entry
//!   that inflates more than [`MAX_RATIO`] times its compressed size beyond 1 MiB (zip bombs).
//!   Readers are capped at the declared size, so a lying header cannot inflate past it.
//! - Folders are walked without following symbolic links.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ConnectorError;

/// Most entries an input may have.
pub const MAX_ENTRIES: usize = 2_000_000;
/// Most bytes (uncompressed) an archive may hold in all.
pub const MAX_TOTAL: u64 = 1 << 40;
/// Highest compression ratio accepted for entries over 1 MiB.
pub const MAX_RATIO: u64 = 200;

/// One file in an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative path with `/` separators (for a single-file input, its file name).
    pub path: String,
    /// Size in bytes (uncompressed).
    pub size: u64,
}

impl Entry {
    /// The last path component.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

#[derive(Clone)]
enum Kind {
    File(PathBuf),
    Dir(PathBuf),
    Zip(zip::ZipArchive<SharedFile>),
}

/// An opened import input.
#[derive(Clone)]
pub struct Input {
    origin: PathBuf,
    kind: Kind,
    entries: Vec<Entry>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("origin", &self.origin)
            .field("entries", &self.entries.len())
            .finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConnectorError + '_ {
    move |source| ConnectorError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Input {
    /// Opens a file, folder or `.zip` archive.
    pub fn open(path: &Path) -> Result<Input, ConnectorError> {
        let meta = std::fs::metadata(path).map_err(io_err(path))?;
        if meta.is_dir() {
            let mut entries = Vec::new();
            walk(path, path, &mut entries)?;
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            return Ok(Input {
                origin: path.to_path_buf(),
                kind: Kind::Dir(path.to_path_buf()),
                entries,
            });
        }
        let mut file = File::open(path).map_err(io_err(path))?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(io_err(path))?;
        if n == 4 && &magic == b"PK\x03\x04" {
            return Self::open_zip(path, file);
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Input {
            origin: path.to_path_buf(),
            kind: Kind::File(path.to_path_buf()),
            entries: vec![Entry {
                path: name,
                size: meta.len(),
            }],
        })
    }

    fn open_zip(path: &Path, file: File) -> Result<Input, ConnectorError> {
        let archive_err = |reason: String| ConnectorError::Archive {
            path: path.display().to_string(),
            reason,
        };
        let len = file.metadata().map_err(io_err(path))?.len();
        let shared = SharedFile {
            file: Arc::new(file),
            pos: 0,
            len,
        };
        let mut archive = zip::ZipArchive::new(shared)
            .map_err(|e| archive_err(format!("not a readable zip archive: {e}")))?;
        if archive.len() > MAX_ENTRIES {
            return Err(archive_err(format!(
                "{} entries is more than any export has",
                archive.len()
            )));
        }
        let mut entries = Vec::with_capacity(archive.len());
        let mut total = 0u64;
        for i in 0..archive.len() {
            let entry = archive
                .by_index_raw(i)
                .map_err(|e| archive_err(format!("entry {i}: {e}")))?;
            let name = entry.name().to_owned();
            if entry.enclosed_name().is_none() {
                return Err(archive_err(format!(
                    "entry {name:?} points outside the archive; refusing it"
                )));
            }
            if entry.is_dir() {
                continue;
            }
            let size = entry.size();
            let compressed = entry.compressed_size().max(1);
            if size > (1 << 20) && size / compressed > MAX_RATIO {
                return Err(archive_err(format!(
                    "entry {name:?} inflates {}x ({} bytes): refusing a likely zip bomb",
                    size / compressed,
                    size
                )));
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL {
                return Err(archive_err(
                    "the archive's entries add up to more than 1 TiB".into(),
                ));
            }
            entries.push(Entry {
                path: name.replace('\\', "/"),
                size,
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Input {
            origin: path.to_path_buf(),
            kind: Kind::Zip(archive),
            entries,
        })
    }

    /// The path the input was opened from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Every file in the input, sorted by path.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether the input is a single file (not a folder or archive).
    pub fn is_single_file(&self) -> bool {
        matches!(self.kind, Kind::File(_))
    }

    /// The entry with this exact path.
    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Entries whose path, compared case-insensitively, ends with `suffix`.
    pub fn find_suffix<'a>(&'a self, suffix: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        let suffix = suffix.to_ascii_lowercase();
        self.entries
            .iter()
            .filter(move |e| e.path.to_ascii_lowercase().ends_with(&suffix))
    }

    /// A location for messages: `origin` for a single file, `origin:entry` otherwise.
    pub fn location(&self, entry: &str) -> String {
        match self.kind {
            Kind::File(_) => self.origin.display().to_string(),
            _ => format!("{}:{entry}", self.origin.display()),
        }
    }

    /// Runs `f` on a reader of one entry (capped at the entry's size).
    pub fn with_reader<T>(
        &self,
        path: &str,
        f: impl FnOnce(&mut dyn Read) -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        let entry = self.entry(path).ok_or_else(|| ConnectorError::Io {
            path: self.location(path),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such entry"),
        })?;
        let limit = entry.size;
        match &self.kind {
            Kind::File(file) => {
                let mut reader = File::open(file).map_err(io_err(file))?.take(limit);
                f(&mut reader)
            }
            Kind::Dir(root) => {
                let full = root.join(path);
                let mut reader = File::open(&full).map_err(io_err(&full))?.take(limit);
                f(&mut reader)
            }
            Kind::Zip(archive) => {
                // A clone shares the parsed directory and reads with positioned reads, so
                // nested opens (an attachment while its chat is being parsed) are fine.
                let mut archive = archive.clone();
                let file = archive.by_name(path).map_err(|e| ConnectorError::Archive {
                    path: self.location(path),
                    reason: e.to_string(),
                })?;
                let mut reader = file.take(limit);
                f(&mut reader)
            }
        }
    }

    /// Reads one entry whole, refusing entries over `max` bytes.
    pub fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, ConnectorError> {
        let size = self.entry(path).map(|e| e.size).unwrap_or(0);
        if size > max {
            return Err(ConnectorError::Archive {
                path: self.location(path),
                reason: format!("{size} bytes is more than the {max} this file type may have"),
            });
        }
        self.with_reader(path, |r| {
            let mut out = Vec::with_capacity(size as usize);
            r.read_to_end(&mut out)
                .map_err(|source| ConnectorError::Io {
                    path: self.location(path),
                    source,
                })?;
            Ok(out)
        })
    }

    /// The first `n` bytes of an entry (for detection).
    pub fn sniff(&self, path: &str, n: usize) -> Vec<u8> {
        self.with_reader(path, |r| {
            let mut out = Vec::with_capacity(n);
            let _ = r.take(n as u64).read_to_end(&mut out);
            Ok(out)
        })
        .unwrap_or_default()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Entry>) -> Result<(), ConnectorError> {
    for item in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let item = item.map_err(io_err(dir))?;
        let kind = item.file_type().map_err(io_err(&item.path()))?;
        let path = item.path();
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            if out.len() >= MAX_ENTRIES {
                return Err(ConnectorError::Archive {
                    path: root.display().to_string(),
                    reason: "more files than any export has".into(),
                });
            }
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let size = item.metadata().map_err(io_err(&path))?.len();
            out.push(Entry {
                path: rel.join("/"),
                size,
            });
        }
    }
    Ok(())
}

/// A file read with positioned reads, so clones share it without sharing a cursor.
#[derive(Clone)]
struct SharedFile {
    file: Arc<File>,
    pos: u64,
    len: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range")
        })?;
        Ok(self.pos)
    }
}

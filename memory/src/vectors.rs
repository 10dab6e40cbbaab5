//! The vector index: `hnsw_rs` over the memories' embeddings, keyed by slot.
//!
//! `hnsw_rs` cannot remove points: a forgotten memory's point stays in the graph, hidden by the
//! search filter (which only lets live slots through) until the graph is rebuilt. `hnsw_rs` also
//! dumps and reloads only through files, so the dump is written to a private directory on a
//! RAM-backed file system (tmpfs: `/dev/shm`, else `$XDG_RUNTIME_DIR`), read back into memory,
//! and removed at once; the store then seals it into the vault. Before sealing, the vector of
//! every forgotten point is overwritten in the dump with a constant unit vector, so a forgotten
//! embedding never reaches the vault even before a rebuild.
//!
//! # Invariants
//!
//! - **Vectors never touch a disk in clear**: dumps go only to a RAM-backed file system (checked
//!   in `/proc/self/mounts`), live there only while being read, and are removed before sealing.
//!   Where there is none, nothing is dumped and the graph is rebuilt from the sealed memories at
//!   unlock instead. (A tmpfs may be swapped out under memory pressure, like any process memory.)
//! - A search only ever returns slots its filter accepts.
//! - A reloaded dump is opened only after the vault authenticated it, so the parser's asserts
//!   (it panics on malformed input) only ever see the bytes that were dumped.

use std::fs;
use std::path::{Path, PathBuf};

use hnsw_rs::api::AnnT;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{DistCosine, Hnsw};
use zeroize::Zeroizing;

use crate::MemoryError;

const MAX_CONNECTIONS: usize = 16;
const MAX_LAYERS: usize = 16;
const EF_CONSTRUCTION: usize = 200;
const BASENAME: &str = "vectors";
/// Magic number of a point in a `hnsw_rs` data dump (format 4).
const MAGIC_DATA_POINT: u32 = 0xa67f_0000;

fn vec_err(e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Vectors(e.to_string())
}

/// A dumped graph, in memory.
pub(crate) struct Dump {
    /// The `.hnsw.graph` file.
    pub(crate) graph: Zeroizing<Vec<u8>>,
    /// The `.hnsw.data` file (vectors).
    pub(crate) data: Zeroizing<Vec<u8>>,
}

/// The HNSW graph of the embeddings.
pub(crate) struct VectorIndex {
    hnsw: Hnsw<'static, f32, DistCosine>,
    points: usize,
}

impl VectorIndex {
    /// An empty graph sized for about `capacity` points.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            hnsw: Hnsw::new(
                MAX_CONNECTIONS,
                capacity.max(1024),
                MAX_LAYERS,
                EF_CONSTRUCTION,
                DistCosine {},
            ),
            points: 0,
        }
    }

    /// Number of points, live or hidden.
    pub(crate) fn points(&self) -> usize {
        self.points
    }

    /// Adds a point.
    pub(crate) fn insert(&mut self, slot: u32, vector: &[f32]) {
        self.hnsw.insert_slice((vector, slot as usize));
        self.points += 1;
    }

    /// The `k` nearest live points that `accept` lets through, as (slot, cosine).
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(usize) -> bool,
    ) -> Vec<(u32, f32)> {
        if self.points == 0 || k == 0 {
            return Vec::new();
        }
        let filter = |id: &usize| accept(*id);
        self.hnsw
            .search_filter(query, k, ef.max(k), Some(&filter))
            .into_iter()
            .filter(|n| accept(n.d_id))
            .map(|n| (n.d_id as u32, 1.0 - n.distance))
            .collect()
    }

    /// Dumps the graph through a RAM-backed directory; `None` when the machine has none.
    /// Vectors of slots that `dead` names are replaced in the dump.
    pub(crate) fn dump(&self, dead: &dyn Fn(u64) -> bool) -> Result<Option<Dump>, MemoryError> {
        let Some(base) = ram_base() else {
            return Ok(None);
        };
        let dir = RamDir::new(&base)?;
        let name = self.hnsw.file_dump(&dir.path, BASENAME).map_err(vec_err)?;
        let graph_path = dir.path.join(format!("{name}.hnsw.graph"));
        let data_path = dir.path.join(format!("{name}.hnsw.data"));
        let read = |p: &Path| -> Result<Zeroizing<Vec<u8>>, MemoryError> {
            let bytes = fs::read(p).map_err(MemoryError::io(p.display().to_string()));
            // Removed at once, whatever happened.
            let _ = fs::remove_file(p);
            bytes.map(Zeroizing::new)
        };
        let graph = read(&graph_path)?;
        let mut data = read(&data_path)?;
        drop(dir);
        scrub(&mut data, dead)?;
        Ok(Some(Dump { graph, data }))
    }

    /// Reloads a dump (which must be authenticated already).
    pub(crate) fn load(dump: &Dump, points: usize) -> Result<Option<Self>, MemoryError> {
        let Some(base) = ram_base() else {
            return Ok(None);
        };
        let dir = RamDir::new(&base)?;
        let graph_path = dir.path.join(format!("{BASENAME}.hnsw.graph"));
        let data_path = dir.path.join(format!("{BASENAME}.hnsw.data"));
        let write = |p: &Path, bytes: &[u8]| {
            fs::write(p, bytes).map_err(MemoryError::io(p.display().to_string()))
        };
        let loaded = write(&graph_path, &dump.graph)
            .and_then(|()| write(&data_path, &dump.data))
            .and_then(|()| {
                // `load_hnsw` ties the graph's lifetime to the loader (for its mmap mode, unused
                // here: every vector is copied into memory), so the small loader is leaked to
                // give the graph a 'static lifetime.
                let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir.path, BASENAME)));
                io.load_hnsw::<f32, DistCosine>().map_err(vec_err)
            });
        let _ = fs::remove_file(&graph_path);
        let _ = fs::remove_file(&data_path);
        drop(dir);
        let hnsw = loaded?;
        if hnsw.get_nb_point() != points {
            return Err(MemoryError::Tampered("vector index".into()));
        }
        Ok(Some(Self { hnsw, points }))
    }
}

/// Overwrites the vectors of dead points in a data dump with a constant unit vector.
///
/// Layout (format 4): `magic u32, dimension usize`, then per point `magic u32, origin id u64,
/// byte length u64, the vector's bytes`, all in native byte order.
fn scrub(data: &mut [u8], dead: &dyn Fn(u64) -> bool) -> Result<(), MemoryError> {
    let bad = || MemoryError::Vectors("unexpected vector dump layout".into());
    let word = std::mem::size_of::<usize>();
    let mut at = 4 + word;
    while at < data.len() {
        let magic = u32::from_ne_bytes(
            data.get(at..at + 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        );
        if magic != MAGIC_DATA_POINT {
            return Err(bad());
        }
        let id = u64::from_ne_bytes(
            data.get(at + 4..at + 12)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        );
        let len = u64::from_ne_bytes(
            data.get(at + 12..at + 20)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        );
        let len = usize::try_from(len).map_err(|_| bad())?;
        let start = at + 20;
        let vector = data.get_mut(start..start + len).ok_or_else(bad)?;
        if dead(id) {
            let n = len / 4;
            let value = (1.0 / (n.max(1) as f32).sqrt()).to_ne_bytes();
            for chunk in vector.chunks_exact_mut(4) {
                chunk.copy_from_slice(&value);
            }
        }
        at = start + len;
    }
    Ok(())
}

/// A private directory on a RAM-backed file system, removed on drop.
struct RamDir {
    path: PathBuf,
}

impl RamDir {
    fn new(base: &Path) -> Result<Self, MemoryError> {
        let name = format!("hearth-vectors-{}", hearth_vault::Id::generate());
        let path = base.join(name);
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&path)
            .map_err(MemoryError::io(path.display().to_string()))?;
        Ok(Self { path })
    }
}

impl Drop for RamDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A directory on a RAM-backed file system (`/dev/shm`, else `$XDG_RUNTIME_DIR`, when either is
/// a tmpfs), if the machine has one: where a file that must never reach a disk in clear may
/// exist for a moment.
pub fn ram_base() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    let ram_mounts: Vec<&str> = mounts
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (_, mount, fstype) = (parts.next()?, parts.next()?, parts.next()?);
            matches!(fstype, "tmpfs" | "ramfs").then_some(mount)
        })
        .collect();
    let candidates = [
        Some(PathBuf::from("/dev/shm")),
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|c| ram_mounts.iter().any(|m| Path::new(m) == c.as_path()) && c.is_dir())
}

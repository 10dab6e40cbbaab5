//! Where a file that must never reach a disk in clear may exist for a moment: a RAM-backed
//! file system (the dashboard unseals an uploaded export there for its import).

use std::fs;
use std::path::{Path, PathBuf};

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

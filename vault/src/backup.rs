//! Encrypted backup of a whole vault to one file, and restore.
//!
//! # Wire format
//!
//! ```text
//! "HEARTH-BACKUP v1\n"
//! u32 length || header (JSON, clear: vault id, creation time, work factor, backup id)
//! u32 length || passphrase key file (age, as in the vault)
//! u32 length || identity key file (age; length 0 when the vault has none)
//! repeated: u8 last flag || u32 length || sealed chunk of a compacted copy of vault.db
//! ```
//!
//! Chunks are sealed under the backup subkey with the context `backup id || n || last flag`, so
//! a backup that was cut short, reordered or spliced fails to restore. Restoring needs the
//! vault's passphrase (or identity): the key files travel inside, still wrapped. The database
//! copy is made with `VACUUM INTO`, which leaves out freed pages, so no deleted data travels.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEvent};
use crate::blob::{CHUNK_LEN, chunk_context, read_full};
use crate::crypto::{Keys, Purpose, SEAL_OVERHEAD, Sealed};
use crate::vault::{
    DB_FILE, HEADER_FILE, Header, IDENTITY_KEY_FILE, PASSPHRASE_KEY_FILE, create_private_dir,
    unlock_master, write_atomic,
};
use crate::{Unlock, Vault, VaultError};

const MAGIC: &[u8] = b"HEARTH-BACKUP v1\n";
const MAX_SECTION: u32 = 1 << 20;

#[derive(Serialize, Deserialize)]
struct BackupHeader {
    vault: Header,
    backup_id: String,
    created_at: DateTime<Utc>,
}

/// What a backup wrote.
#[derive(Clone, Debug)]
pub struct BackupInfo {
    /// The backup file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its random id (also in the audit log).
    pub backup_id: String,
}

impl Vault {
    /// Writes an encrypted backup of the whole vault to `out` (which must not exist).
    pub fn backup(&mut self, out: &Path) -> Result<BackupInfo, VaultError> {
        if out.exists() {
            return Err(VaultError::InvalidInput(format!(
                "{} exists already",
                out.display()
            )));
        }
        let mut id = [0u8; 16];
        self.keys().random(&mut id)?;
        let backup_id = audit::hex(&id);
        // Record the backup in the log first, so the copy carries its own entry.
        self.audit(&AuditEvent::new("vault.backup", "cli").detail("backup_id", &backup_id))?;
        let snapshot = self.dir().join("backup-snapshot.tmp");
        let _ = fs::remove_file(&snapshot);
        let snapshot_path = snapshot
            .to_str()
            .ok_or_else(|| VaultError::InvalidInput("vault path is not UTF-8".into()))?;
        self.connection()
            .execute("VACUUM INTO ?1", [snapshot_path])?;
        let result = self.write_backup(out, &snapshot, &backup_id);
        let _ = fs::remove_file(&snapshot);
        if result.is_err() {
            let _ = fs::remove_file(out);
        }
        let bytes = result?;
        Ok(BackupInfo {
            path: out.to_path_buf(),
            bytes,
            backup_id,
        })
    }

    fn write_backup(
        &self,
        out: &Path,
        snapshot: &Path,
        backup_id: &str,
    ) -> Result<u64, VaultError> {
        let err = |p: &Path| VaultError::io(p.display().to_string());
        let header = BackupHeader {
            vault: self.header().clone(),
            backup_id: backup_id.to_owned(),
            created_at: Utc::now(),
        };
        let header = serde_json::to_vec(&header).map_err(|e| VaultError::Corrupt(e.to_string()))?;
        let passphrase_file = fs::read(self.dir().join(PASSPHRASE_KEY_FILE))
            .map_err(err(&self.dir().join(PASSPHRASE_KEY_FILE)))?;
        let identity_file = match fs::read(self.dir().join(IDENTITY_KEY_FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(err(&self.dir().join(IDENTITY_KEY_FILE))(e)),
        };
        let file = File::create_new(out).map_err(err(out))?;
        let mut w = BufWriter::new(file);
        let mut written = 0u64;
        let mut put = |w: &mut BufWriter<File>, bytes: &[u8]| -> Result<(), VaultError> {
            w.write_all(bytes).map_err(err(out))?;
            written += bytes.len() as u64;
            Ok(())
        };
        put(&mut w, MAGIC)?;
        for section in [&header[..], &passphrase_file, &identity_file] {
            put(&mut w, &(section.len() as u32).to_be_bytes())?;
            put(&mut w, section)?;
        }
        let mut db = File::open(snapshot).map_err(err(snapshot))?;
        let mut current = vec![0u8; CHUNK_LEN];
        let mut next = vec![0u8; CHUNK_LEN];
        let mut current_len = read_full(&mut db, &mut current).map_err(err(snapshot))?;
        let mut seq = 0u64;
        loop {
            let next_len = if current_len == CHUNK_LEN {
                read_full(&mut db, &mut next).map_err(err(snapshot))?
            } else {
                0
            };
            let last = next_len == 0;
            let sealed = self.keys().seal(
                Purpose::Backup,
                &chunk_context(backup_id, seq, last),
                &current[..current_len],
            )?;
            put(&mut w, &[u8::from(last)])?;
            put(&mut w, &(sealed.len() as u32).to_be_bytes())?;
            put(&mut w, sealed.as_bytes())?;
            if last {
                break;
            }
            seq += 1;
            std::mem::swap(&mut current, &mut next);
            current_len = next_len;
        }
        let file = w.into_inner().map_err(|e| err(out)(e.into_error()))?;
        file.sync_all().map_err(err(out))?;
        Ok(written)
    }

    /// Restores a backup into `dir` (missing or empty) and opens the result for writing, after
    /// checking every record, blob and the audit chain.
    pub fn restore(from: &Path, dir: &Path, unlock: &Unlock) -> Result<Vault, VaultError> {
        let bad = |reason: &str| VaultError::Backup {
            path: from.to_path_buf(),
            reason: reason.into(),
        };
        if dir.exists()
            && fs::read_dir(dir)
                .map_err(VaultError::io(dir.display().to_string()))?
                .next()
                .is_some()
        {
            return Err(VaultError::AlreadyExists(dir.to_path_buf()));
        }
        let file = File::open(from).map_err(VaultError::io(from.display().to_string()))?;
        let mut r = BufReader::new(file);
        let mut magic = vec![0u8; MAGIC.len()];
        if read_full(&mut r, &mut magic).map_err(VaultError::io(from.display().to_string()))?
            != MAGIC.len()
            || magic != MAGIC
        {
            return Err(bad("not a Hearth backup file"));
        }
        let header_bytes =
            read_section(&mut r, MAX_SECTION).ok_or_else(|| bad("truncated header"))?;
        let header: BackupHeader =
            serde_json::from_slice(&header_bytes).map_err(|_| bad("malformed header"))?;
        let passphrase_file =
            read_section(&mut r, MAX_SECTION).ok_or_else(|| bad("truncated key file"))?;
        let identity_file =
            read_section(&mut r, MAX_SECTION).ok_or_else(|| bad("truncated identity key file"))?;

        // Unlock from the key files in the backup, staged in the new directory; any failure
        // from here on removes that directory, so a failed restore leaves nothing behind.
        create_private_dir(dir)?;
        let restored = (|| {
            write_atomic(&dir.join(PASSPHRASE_KEY_FILE), &passphrase_file)?;
            if !identity_file.is_empty() {
                write_atomic(&dir.join(IDENTITY_KEY_FILE), &identity_file)?;
            }
            let master = unlock_master(dir, &header.vault, unlock)?;
            let keys = Keys::derive(&master);
            drop(master);
            restore_db(&mut r, &keys, &header.backup_id, &dir.join(DB_FILE), from)?;
            let header_json = serde_json::to_vec_pretty(&header.vault)
                .map_err(|e| VaultError::Corrupt(e.to_string()))?;
            write_atomic(&dir.join(HEADER_FILE), &header_json)?;
            let mut vault = Vault::open(dir, unlock, true)?;
            let report = vault.check()?;
            if !report.is_ok() {
                return Err(VaultError::Corrupt(format!(
                    "restored vault failed its check: {}",
                    report.problems.join("; ")
                )));
            }
            vault.audit(
                &AuditEvent::new("vault.restore", "cli").detail("backup_id", &header.backup_id),
            )?;
            Ok(vault)
        })();
        if restored.is_err() {
            let _ = fs::remove_dir_all(dir);
        }
        restored
    }
}

fn read_section(r: &mut impl Read, max: u32) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).ok()?;
    let len = u32::from_be_bytes(len);
    if len > max {
        return None;
    }
    let mut bytes = vec![0u8; len as usize];
    r.read_exact(&mut bytes).ok()?;
    Some(bytes)
}

fn restore_db(
    r: &mut impl Read,
    keys: &Keys,
    backup_id: &str,
    db_path: &Path,
    from: &Path,
) -> Result<(), VaultError> {
    let bad = |reason: String| VaultError::Backup {
        path: from.to_path_buf(),
        reason,
    };
    let tmp = db_path.with_extension("restoring");
    let mut out =
        BufWriter::new(File::create_new(&tmp).map_err(VaultError::io(tmp.display().to_string()))?);
    let mut seq = 0u64;
    loop {
        let mut flag = [0u8; 1];
        r.read_exact(&mut flag)
            .map_err(|_| bad(format!("truncated after {seq} chunks (no final chunk)")))?;
        let last = match flag[0] {
            0 => false,
            1 => true,
            _ => return Err(bad(format!("chunk {seq}: malformed"))),
        };
        let sealed = read_section(r, (CHUNK_LEN + SEAL_OVERHEAD) as u32)
            .ok_or_else(|| bad(format!("chunk {seq}: truncated")))?;
        let plain = keys
            .open(
                Purpose::Backup,
                &chunk_context(backup_id, seq, last),
                &Sealed::from_stored(sealed),
            )
            .map_err(|_| {
                bad(format!(
                    "chunk {seq} failed authentication (altered or spliced)"
                ))
            })?;
        out.write_all(&plain)
            .map_err(VaultError::io(tmp.display().to_string()))?;
        if last {
            break;
        }
        seq += 1;
    }
    let mut trailing = [0u8; 1];
    if r.read(&mut trailing)
        .map_err(VaultError::io(from.display().to_string()))?
        != 0
    {
        return Err(bad("data after the final chunk".into()));
    }
    let file = out
        .into_inner()
        .map_err(|e| VaultError::io(tmp.display().to_string())(e.into_error()))?;
    file.sync_all()
        .map_err(VaultError::io(tmp.display().to_string()))?;
    fs::rename(&tmp, db_path).map_err(VaultError::io(db_path.display().to_string()))?;
    Ok(())
}

//! `hearth init|status|passwd|audit|backup|restore|check`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use hearth_vault::keyfile::{self, DEFAULT_LOG_N, MAX_LOG_N, MIN_LOG_N};
use hearth_vault::{InitOptions, Vault};
use serde_json::json;

use super::output::{AuditJson, print_json};
use super::secret::{self, PassphraseSource};
use super::{Global, UsageError};

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Also create an age identity for unattended unlock and write it (secret!) to FILE
    #[arg(long, value_name = "FILE")]
    identity_out: Option<PathBuf>,
    /// scrypt work factor (log2 N), fixed for the vault's life; lower only for tests
    #[arg(long, default_value_t = DEFAULT_LOG_N, hide = true,
          value_parser = clap::value_parser!(u8).range(MIN_LOG_N as i64..=MAX_LOG_N as i64))]
    scrypt_log_n: u8,
}

#[derive(Debug, Args)]
pub(crate) struct PasswdArgs {
    /// Read the new passphrase from this file instead of HEARTH_NEW_PASSPHRASE or a prompt
    #[arg(long, value_name = "FILE")]
    new_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// List audit entries, oldest first
    List {
        /// Only the newest N entries
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Verify the hash chain: any edit, removal, reordering or cut is reported
    Verify,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The backup file to write (must not exist)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup file to read
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
}

pub(crate) fn init(global: &Global, args: InitArgs) -> anyhow::Result<ExitCode> {
    let dir = global.vault_dir()?;
    if let Some(path) = &args.identity_out
        && path.exists()
    {
        return Err(UsageError(format!("{} exists already", path.display())).into());
    }
    let passphrase = secret::passphrase(&PassphraseSource {
        file: global.passphrase_file.as_deref(),
        env: "HEARTH_PASSPHRASE",
        prompt: "New vault passphrase: ",
        confirm: true,
    })?;
    let identity = args
        .identity_out
        .as_ref()
        .map(|_| keyfile::generate_identity());
    let options = InitOptions {
        scrypt_log_n: args.scrypt_log_n,
        identity_recipient: identity.as_ref().map(|(_, public)| public.clone()),
    };
    let vault = Vault::init(&dir, &passphrase, &options)?;
    if let (Some(path), Some((secret, public))) = (&args.identity_out, &identity) {
        write_secret_file(path, secret, public)?;
    }
    let status = vault.status()?;
    if global.json {
        print_json(&json!({
            "vault": dir.display().to_string(),
            "vault_id": status.vault_id,
            "identity": args.identity_out.as_ref().map(|p| p.display().to_string()),
        }))?;
    } else {
        println!("created a vault at {}", dir.display());
        if let Some(path) = &args.identity_out {
            println!(
                "identity for unattended unlock written to {} (keep it secret)",
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_secret_file(
    path: &std::path::Path,
    secret: &hearth_vault::SecretString,
    public: &str,
) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "# Hearth vault identity; public key: {public}")?;
    writeln!(file, "{}", secret.expose_secret())?;
    file.sync_all()?;
    Ok(())
}

pub(crate) fn status(global: &Global) -> anyhow::Result<ExitCode> {
    let dir = global.vault_dir()?;
    let vault = Vault::open(&dir, &secret::unlock(global)?, false)?;
    let s = vault.status()?;
    if global.json {
        print_json(&json!({
            "vault": s.dir.display().to_string(),
            "vault_id": s.vault_id,
            "created_at": s.created_at.to_rfc3339(),
            "scrypt_log_n": s.scrypt_log_n,
            "identity": s.has_identity,
            "records": s.records,
            "by_source": s.by_source.iter().map(|(k, v)| (k.clone(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
            "first": s.span.map(|(a, _)| a.to_rfc3339()),
            "last": s.span.map(|(_, b)| b.to_rfc3339()),
            "blobs": s.blobs.0,
            "blob_bytes": s.blobs.1,
            "audit_entries": s.audit_entries,
            "disk_bytes": s.disk_bytes,
            "in_use": s.write_locked_elsewhere,
        }))?;
    } else {
        println!("vault      {}", s.dir.display());
        println!("created    {}", s.created_at.format("%Y-%m-%d %H:%M UTC"));
        println!("records    {}", s.records);
        for (source, n) in &s.by_source {
            println!("  {source:<12} {n}");
        }
        if let Some((first, last)) = s.span {
            println!(
                "span       {} .. {}",
                first.format("%Y-%m-%d"),
                last.format("%Y-%m-%d")
            );
        }
        println!("blobs      {} ({} bytes)", s.blobs.0, s.blobs.1);
        println!("audit      {} entries", s.audit_entries);
        println!("on disk    {} bytes", s.disk_bytes);
        if s.write_locked_elsewhere {
            println!("in use     open for writing by another process");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn passwd(global: &Global, args: PasswdArgs) -> anyhow::Result<ExitCode> {
    let dir = global.vault_dir()?;
    let current = secret::unlock(global)?;
    let mut vault = Vault::open(&dir, &current, true)?;
    let new = secret::passphrase(&PassphraseSource {
        file: args.new_passphrase_file.as_deref(),
        env: "HEARTH_NEW_PASSPHRASE",
        prompt: "New passphrase: ",
        confirm: true,
    })?;
    vault.change_passphrase(&current, &new)?;
    if global.json {
        print_json(&json!({ "changed": true }))?;
    } else {
        println!("passphrase changed");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn audit(global: &Global, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let dir = global.vault_dir()?;
    let vault = Vault::open(&dir, &secret::unlock(global)?, false)?;
    match command {
        AuditCommand::List { limit } => {
            let entries = vault.audit_list(limit)?;
            if global.json {
                print_json(&entries.iter().map(AuditJson::from).collect::<Vec<_>>())?;
            } else {
                for e in &entries {
                    let details: Vec<String> = e
                        .event
                        .details
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    let subjects = match e.event.subjects.len() {
                        0 => String::new(),
                        1 => format!(" {}", e.event.subjects[0]),
                        n => format!(" ({n} objects)"),
                    };
                    println!(
                        "{:>6}  {}  {:<16} {:<8}{subjects} {}",
                        e.seq,
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        e.event.action,
                        e.event.actor,
                        details.join(" ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
            let report = vault.audit_verify()?;
            if global.json {
                print_json(&json!({
                    "ok": report.is_ok(),
                    "entries": report.entries,
                    "head": report.head,
                    "problem": report.problem,
                }))?;
            } else if let Some(problem) = &report.problem {
                println!("audit log BROKEN: {problem}");
            } else {
                println!(
                    "audit log ok: {} entries, head {}",
                    report.entries, report.head
                );
            }
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

pub(crate) fn backup(global: &Global, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let dir = global.vault_dir()?;
    let mut vault = Vault::open(&dir, &secret::unlock(global)?, true)?;
    let info = vault.backup(&args.out)?;
    if global.json {
        print_json(&json!({
            "path": info.path.display().to_string(),
            "bytes": info.bytes,
            "backup_id": info.backup_id,
        }))?;
    } else {
        println!("wrote {} ({} bytes)", info.path.display(), info.bytes);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn restore(global: &Global, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let dir = global.vault_dir()?;
    let vault = Vault::restore(&args.from, &dir, &secret::unlock(global)?)?;
    let status = vault.status()?;
    if global.json {
        print_json(&json!({ "vault": dir.display().to_string(), "records": status.records }))?;
    } else {
        println!("restored {} records into {}", status.records, dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn check(global: &Global) -> anyhow::Result<ExitCode> {
    let dir = global.vault_dir()?;
    let vault = Vault::open(&dir, &secret::unlock(global)?, false)?;
    let report = vault.check()?;
    if global.json {
        print_json(&json!({
            "ok": report.is_ok(),
            "records": report.records_checked,
            "blobs": report.blobs_checked,
            "audit_entries": report.audit.entries,
            "problems": report.problems,
        }))?;
    } else {
        println!(
            "checked {} records, {} blobs, {} audit entries",
            report.records_checked, report.blobs_checked, report.audit.entries
        );
        for problem in &report.problems {
            println!("PROBLEM: {problem}");
        }
        if report.is_ok() {
            println!("ok");
        }
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! Command-line definitions and dispatch.
//!
//! Conventions shared by every command: `--vault DIR` (or `HEARTH_VAULT`); the passphrase from
//! `--passphrase-file FILE`, `HEARTH_PASSPHRASE`, or a prompt on a terminal (or an age identity
//! with `--identity FILE`); `--json` for machine-readable output; times as RFC 3339 or
//! `YYYY-MM-DD` (UTC midnight), `--since` inclusive and `--until` exclusive.

mod args;
mod connect;
mod grant;
mod import;
mod memories;
mod models;
mod oauth;
mod output;
mod records;
mod secret;
mod serve;
mod vault_cmds;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hearth_vault::VaultError;
use hearth_web::node::control::{self, ControlRequest, ControlResponse};

/// An error in how the command was used: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// Hearth: your personal data vault and private model server.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The vault directory [default: $XDG_DATA_HOME/hearth/vault]
    #[arg(long, env = "HEARTH_VAULT", global = true, value_name = "DIR")]
    vault: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of HEARTH_PASSPHRASE or a prompt
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Unlock with this age identity file instead of the passphrase (see `init --identity-out`)
    #[arg(long, env = "HEARTH_IDENTITY_FILE", global = true, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Machine-readable JSON output
    #[arg(long, global = true)]
    json: bool,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new vault
    Init(vault_cmds::InitArgs),
    /// Show what the vault holds (counts and sizes)
    Status,
    /// Change the passphrase (rewraps the key; no data is re-encrypted)
    Passwd(vault_cmds::PasswdArgs),
    /// Add records: one from --text, or one per line from --stdin
    Add(records::AddArgs),
    /// Import a data export (WhatsApp, Telegram, X, Facebook, mail, ...)
    Import(import::ImportArgs),
    /// List, show, search and delete records
    #[command(subcommand)]
    Records(records::RecordsCommand),
    /// Read and verify the audit log
    #[command(subcommand)]
    Audit(vault_cmds::AuditCommand),
    /// Write an encrypted backup of the whole vault to one file
    Backup(vault_cmds::BackupArgs),
    /// Restore a backup into a new vault directory (--vault)
    Restore(vault_cmds::RestoreArgs),
    /// Check the vault: every record, blob and the audit chain
    Check,
    /// Connect a live source (Mastodon) with OAuth, to sync from it
    #[command(subcommand)]
    Connect(connect::ConnectCommand),
    /// List and remove live-source connections
    #[command(subcommand)]
    Connections(connect::ConnectionsCommand),
    /// Fetch what is new from every connection, or from one
    Sync(connect::SyncArgs),
    /// Continue a prompt with the local text model (no vault needed)
    Generate(models::GenerateArgs),
    /// Chat with the local text model (interactive on a terminal, else one turn per line)
    Chat(models::ChatArgs),
    /// Embed texts with the local sentence encoder (no vault needed)
    Embed(models::EmbedArgs),
    /// Issue, list, revoke and explain grants (what an app may read and do)
    #[command(subcommand)]
    Grant(grant::GrantCommand),
    /// Register the apps that connect with OAuth 2 (while the node is stopped)
    #[command(subcommand)]
    Oauth(oauth::OauthCommand),
    /// Run the node: the OpenAI-compatible API and the memory API for apps holding grants
    Serve(serve::ServeArgs),
    /// Build, list and reflect on memories; pin a memory's importance
    #[command(subcommand)]
    Memories(memories::MemoriesCommand),
    /// Add a memory in your own words
    Remember(memories::RememberArgs),
    /// Retrieve memories by recency, importance and relevance (refreshes their recency)
    Recall(memories::RecallArgs),
    /// Pack the memories relevant to a query into a token budget, each line citing its ids
    Context(memories::ContextArgs),
    /// Forget a memory (its text, index terms, vector and the reflections citing it); audited
    Forget(memories::ForgetArgs),
}

/// Runs a parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => vault_cmds::init(global, args),
        Command::Status => vault_cmds::status(global),
        Command::Passwd(args) => vault_cmds::passwd(global, args),
        Command::Add(args) => records::add(global, args),
        Command::Import(args) => import::run(global, args),
        Command::Records(command) => records::run(global, command),
        Command::Audit(command) => vault_cmds::audit(global, command),
        Command::Backup(args) => vault_cmds::backup(global, args),
        Command::Restore(args) => vault_cmds::restore(global, args),
        Command::Check => vault_cmds::check(global),
        Command::Connect(command) => connect::connect(global, command),
        Command::Connections(command) => connect::connections(global, command),
        Command::Sync(args) => connect::sync(global, args),
        Command::Generate(args) => models::generate(global, args),
        Command::Chat(args) => models::chat(global, args),
        Command::Embed(args) => models::embed(global, args),
        Command::Grant(command) => grant::run(global, command),
        Command::Oauth(command) => oauth::run(global, command),
        Command::Serve(args) => serve::run(global, args),
        Command::Memories(command) => memories::run(global, command),
        Command::Remember(args) => memories::remember(global, args),
        Command::Recall(args) => memories::recall(global, args),
        Command::Context(args) => memories::context(global, args),
        Command::Forget(args) => memories::forget(global, args),
    }
}

impl Global {
    /// The vault directory: `--vault`, `HEARTH_VAULT`, or the per-user default.
    fn vault_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.vault {
            return Ok(dir.clone());
        }
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .ok_or_else(|| {
                UsageError("no vault directory: pass --vault or set HEARTH_VAULT".into())
            })?;
        Ok(data.join("hearth").join("vault"))
    }
}

/// Sends a write to the node running on the vault, if one runs (it holds the vault's writer
/// lock): `None` when none does, else its answer, carried out. A refusal is an error with the
/// node's text, a usage error (exit 2) where the node says it is the caller's mistake.
pub(crate) fn through_node(
    global: &Global,
    request: &ControlRequest,
    progress: &mut dyn FnMut(&ControlResponse),
) -> anyhow::Result<Option<ControlResponse>> {
    let dir = global.vault_dir()?;
    match control::send_with_progress(&dir, request, progress)? {
        Some(answer) => carried_out(answer).map(Some),
        None => Ok(None),
    }
}

/// The node's answer when it carried the request out, else its refusal as an error (a usage
/// error where the node says it is the caller's mistake).
pub(crate) fn carried_out(answer: ControlResponse) -> anyhow::Result<ControlResponse> {
    if answer.ok {
        return Ok(answer);
    }
    let reason = answer
        .error
        .unwrap_or_else(|| "the running node refused without a reason".into());
    if answer.usage {
        Err(UsageError(reason).into())
    } else {
        Err(anyhow::anyhow!(reason))
    }
}

/// The message printed for an error: the whole chain, outermost first.
pub(crate) fn describe(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// 2 for bad usage or a failed unlock, 1 for everything else.
pub(crate) fn exit_code(error: &anyhow::Error) -> ExitCode {
    let usage = error.chain().any(|cause| {
        cause.downcast_ref::<UsageError>().is_some()
            || cause
                .downcast_ref::<VaultError>()
                .is_some_and(VaultError::is_unlock_failure)
    });
    if usage {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

//! Live sources: `hearth connect mastodon --instance URL`, `hearth connections list|remove`, and
//! `hearth sync [ID]`.
//!
//! Tokens never reach the terminal or the JSON output: only connection ids, accounts, instances
//! and counts are printed. The authorization URL (printed to stderr) holds no secret: its state
//! and PKCE challenge are useless without the listener and the verifier held in this process.

use std::io::Write;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use clap::{Args, Subcommand};
use hearth_connectors::live::mastodon::{self, ConnectOptions};
use hearth_connectors::live::oauth::{HttpClient, Url};
use hearth_connectors::live::{self, LiveError, SyncOptions, SyncSummary};
use hearth_vault::Vault;
use hearth_web::memories::AfterImport;
use serde::Serialize;

use super::output::print_json;
use super::{Global, UsageError, secret};

#[derive(Debug, Subcommand)]
pub(crate) enum ConnectCommand {
    /// Connect a Mastodon account (you approve read access in your browser)
    Mastodon(MastodonArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MastodonArgs {
    /// The instance, e.g. https://mastodon.social
    #[arg(long, value_name = "URL")]
    instance: String,
    /// Only print the authorization URL; do not try to open a browser
    #[arg(long)]
    no_browser: bool,
    /// How long to wait for the authorization, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConnectionsCommand {
    /// List the connected accounts (no secrets are shown)
    List,
    /// Forget a connection: its token is revoked at the provider and deleted here; its records
    /// stay (delete them with `hearth records delete --source mastodon`)
    Remove {
        /// The connection's id (see `hearth connections list`)
        id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The connection to sync (all when left out)
    id: Option<String>,
    /// Keep media files' names only; do not download them
    #[arg(long)]
    no_media: bool,
    /// The longest wait a rate limit may impose before the sync stops, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    max_wait: u64,
    /// Do not bring the memories up to date after the sync (`hearth memories build` does)
    #[arg(long)]
    no_memories: bool,
}

fn open_vault(global: &Global) -> anyhow::Result<Vault> {
    let dir = global.vault_dir()?;
    Ok(Vault::open(&dir, &secret::unlock(global)?, true)?)
}

/// A live error as the CLI reports it: bad input is a usage error (exit 2).
fn cli_error(error: LiveError) -> anyhow::Error {
    match error {
        e @ (LiveError::InvalidInstance(_) | LiveError::UnknownConnection(_)) => {
            UsageError(e.to_string()).into()
        }
        e => e.into(),
    }
}

pub(crate) fn connect(global: &Global, command: ConnectCommand) -> anyhow::Result<ExitCode> {
    let ConnectCommand::Mastodon(args) = command;
    // Refuse a bad instance before asking for the passphrase.
    mastodon::instance_url(&args.instance).map_err(cli_error)?;
    if args.timeout == 0 {
        return Err(UsageError("--timeout must be at least 1 second".into()).into());
    }
    let mut vault = open_vault(global)?;
    let options = ConnectOptions {
        instance: args.instance.clone(),
        timeout: Duration::from_secs(args.timeout),
        ..ConnectOptions::default()
    };
    let no_browser = args.no_browser;
    let timeout = args.timeout;
    let mut on_url = |url: &Url| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "Open this URL in your browser to let Hearth read your Mastodon account:\n\n  {url}\n"
        );
        let _ = writeln!(
            err,
            "Waiting for the authorization (up to {timeout} s; Ctrl-C to cancel)..."
        );
        let _ = err.flush();
        if !no_browser {
            open_browser(url.as_str());
        }
    };
    let connection = mastodon::connect(&mut vault, &HttpClient::new(), &options, &mut on_url)
        .map_err(cli_error)?;
    if global.json {
        print_json(&serde_json::json!({
            "connection": connection.id,
            "account": connection.account,
        }))?;
    } else {
        println!(
            "Connected {} as {}. Run `hearth sync` to fetch its posts.",
            connection.account, connection.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Best effort: the system's URL opener, detached and silent. The URL is printed regardless.
fn open_browser(url: &str) {
    let opener: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else {
        &["xdg-open"]
    };
    let mut command = std::process::Command::new(opener[0]);
    command
        .args(&opener[1..])
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // The opener's child is not waited for: a browser may outlive this process.
    let _ = command.spawn();
}

#[derive(Serialize)]
struct ConnectionJson<'a> {
    id: &'a str,
    provider: &'a str,
    instance: &'a str,
    account: &'a str,
    created_at: String,
    last_sync_at: Option<String>,
    cursor: Option<&'a str>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

pub(crate) fn connections(
    global: &Global,
    command: ConnectionsCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        ConnectionsCommand::List => {
            let dir = global.vault_dir()?;
            let vault = Vault::open(&dir, &secret::unlock(global)?, false)?;
            let list = live::list_connections(&vault)?;
            if global.json {
                let out: Vec<ConnectionJson<'_>> = list
                    .iter()
                    .map(|c| ConnectionJson {
                        id: &c.id,
                        provider: &c.provider,
                        instance: &c.instance,
                        account: &c.account,
                        created_at: c.created_at.to_rfc3339(),
                        last_sync_at: c.last_sync_at.map(|t| t.to_rfc3339()),
                        cursor: c.cursor.as_deref(),
                        status: if c.needs_reconnect.is_some() {
                            "reconnect needed"
                        } else {
                            "ok"
                        },
                        reason: c.needs_reconnect.as_deref(),
                    })
                    .collect();
                print_json(&out)?;
            } else if list.is_empty() {
                println!("No connections (add one with `hearth connect mastodon --instance URL`).");
            } else {
                for c in &list {
                    let last = c
                        .last_sync_at
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "never".into());
                    let status = match &c.needs_reconnect {
                        Some(reason) => format!("reconnect needed ({reason})"),
                        None => "ok".into(),
                    };
                    println!("{}  {}  last sync {last}  {status}", c.id, c.instance);
                }
            }
        }
        ConnectionsCommand::Remove { id } => {
            let mut vault = open_vault(global)?;
            let connection = live::load_connection(&vault, &id)?
                .ok_or_else(|| UsageError(LiveError::UnknownConnection(id.clone()).to_string()))?;
            // Revoke at the provider first, so the token stops working even if a copy of an old
            // backup still holds it. A provider that cannot be reached does not stop the removal.
            let revoked = match connection
                .app
                .revoke(&HttpClient::new(), &connection.token.access_token)
            {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("warning: could not revoke the token at the instance: {e}");
                    false
                }
            };
            live::remove_connection(&mut vault, &id, "cli")?;
            if global.json {
                print_json(&serde_json::json!({ "removed": id, "revoked": revoked }))?;
            } else {
                println!(
                    "Removed {id}; its records stay in the vault (`hearth records delete --source {}` deletes them).",
                    connection.provider
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct IssueJson {
    location: String,
    reason: String,
}

#[derive(Serialize)]
struct SyncJson<'a> {
    connection: &'a str,
    imported: u64,
    duplicates: u64,
    skipped: u64,
    attachments: u64,
    errors: Vec<IssueJson>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reconnect_needed: bool,
}

impl<'a> SyncJson<'a> {
    fn new(id: &'a str, result: &Result<SyncSummary, LiveError>) -> Self {
        match result {
            Ok(s) => SyncJson {
                connection: id,
                imported: s.imported,
                duplicates: s.duplicates,
                skipped: s.skipped,
                attachments: s.attachments,
                errors: s
                    .errors
                    .iter()
                    .map(|i| IssueJson {
                        location: i.location.clone(),
                        reason: i.reason.clone(),
                    })
                    .collect(),
                reconnect_needed: false,
            },
            Err(e) => SyncJson {
                connection: id,
                imported: 0,
                duplicates: 0,
                skipped: 0,
                attachments: 0,
                errors: vec![IssueJson {
                    location: id.to_owned(),
                    reason: e.to_string(),
                }],
                reconnect_needed: e.is_reconnect_needed(),
            },
        }
    }
}

pub(crate) fn sync(global: &Global, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let mut vault = open_vault(global)?;
    let ids: Vec<String> = match &args.id {
        Some(id) => {
            if live::load_connection(&vault, id)?.is_none() {
                return Err(cli_error(LiveError::UnknownConnection(id.clone())));
            }
            vec![id.clone()]
        }
        None => live::list_connections(&vault)?
            .into_iter()
            .map(|c| c.id)
            .collect(),
    };
    if ids.is_empty() && !global.json {
        println!("No connections (add one with `hearth connect mastodon --instance URL`).");
    }
    let options = SyncOptions {
        actor: "cli".into(),
        max_wait: Duration::from_secs(args.max_wait),
        media: !args.no_media,
        ..SyncOptions::default()
    };
    let http = HttpClient::new();
    let quiet = global.json;
    let mut results: Vec<(String, Result<SyncSummary, LiveError>)> = Vec::new();
    for id in ids {
        let mut notify = |message: &str| {
            if !quiet {
                eprintln!("{id}: {message}");
            }
        };
        let result = live::sync(&mut vault, &id, &http, &options, &mut notify);
        if let Err(LiveError::Vault(e)) = result {
            // The vault failing is not one connection's problem: stop.
            return Err(e.into());
        }
        results.push((id, result));
    }
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    // The memories follow a sync as they follow an import (incremental: only new records, and
    // the deletion feed), unless asked not to or nothing was synced.
    let memories = if args.no_memories || failed == results.len() {
        None
    } else {
        Some(hearth_web::memories::build_after_import(
            &mut vault,
            &super::memories::device(None)?,
        )?)
    };
    if global.json {
        let out: Vec<SyncJson<'_>> = results.iter().map(|(id, r)| SyncJson::new(id, r)).collect();
        print_json(&out)?;
    } else {
        for (id, result) in &results {
            match result {
                Ok(s) => {
                    println!(
                        "{id}: imported {}, duplicates {}, skipped {}, attachments {}",
                        s.imported, s.duplicates, s.skipped, s.attachments
                    );
                    for issue in s.errors.iter().take(20) {
                        println!("  skipped {}: {}", issue.location, issue.reason);
                    }
                    if s.errors.len() > 20 {
                        println!("  ... and {} more (see --json)", s.errors.len() - 20);
                    }
                }
                Err(e) => println!("{id}: failed: {e}"),
            }
        }
        if let Some(AfterImport::Built(report)) = &memories {
            println!("{}", super::memories::build_line(report));
        }
    }
    if let Some(AfterImport::Skipped(why)) = &memories {
        eprintln!("note: {why}");
    }
    if failed > 0 {
        for (_, result) in &results {
            if let Err(e) = result {
                eprintln!("error: {e}");
            }
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

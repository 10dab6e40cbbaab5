//! `hearth oauth client add|list|remove`: the owner registers the apps that may ask for grants
//! through the node's OAuth 2 authorization server (see `docs/grants.md`, "OAuth for app
//! developers"). The node holds the vault's writer lock while it runs, so these run while it is
//! stopped. Registrations are audited (`oauth.client.register`, `oauth.client.remove`); a
//! client secret is printed once and stored only as its SHA-256.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use hearth_vault::Vault;
use hearth_web::node::oauth::{list_clients, register_client, remove_client};
use secrecy::ExposeSecret;
use serde_json::json;

use super::output::print_json;
use super::{Global, UsageError, secret};

#[derive(Debug, Subcommand)]
pub(crate) enum OauthCommand {
    /// Register, list and remove OAuth clients (apps)
    #[command(subcommand)]
    Client(ClientCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register an app; prints its client id (and secret, unless --public)
    Add(AddArgs),
    /// List the registered apps
    List,
    /// Remove an app (its grants stay valid until they expire or are revoked)
    Remove {
        /// The client id
        client_id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The name the consent page shows
    #[arg(long)]
    name: String,
    /// Where the code goes, matched exactly: https, http to a loopback address, or a
    /// reverse-domain private scheme (repeatable)
    #[arg(long = "redirect-uri", value_name = "URI", required = true)]
    redirect_uris: Vec<String>,
    /// A public client (a native or browser app that cannot keep a secret): PKCE only
    #[arg(long)]
    public: bool,
}

pub(crate) fn run(global: &Global, command: OauthCommand) -> anyhow::Result<ExitCode> {
    let OauthCommand::Client(command) = command;
    let dir = global.vault_dir()?;
    let unlock = secret::unlock(global)?;
    match command {
        ClientCommand::Add(args) => {
            let mut vault = Vault::open(&dir, &unlock, true)?;
            let (client, secret) = register_client(
                &mut vault,
                &args.name,
                &args.redirect_uris,
                args.public,
                false,
                "cli",
            )
            .map_err(|e| match e {
                hearth_web::WebError::Invalid { .. } => UsageError(e.to_string()).into(),
                other => anyhow::Error::from(other),
            })?;
            let secret = secret.as_ref().map(|s| s.expose_secret());
            if global.json {
                print_json(&json!({
                    "client_id": client.client_id,
                    "client_secret": secret,
                    "name": client.name,
                    "redirect_uris": client.redirect_uris,
                }))?;
            } else {
                println!("client_id: {}", client.client_id);
                if let Some(secret) = secret {
                    println!("client_secret: {secret}");
                    eprintln!("keep the secret: it is shown only once");
                }
            }
        }
        ClientCommand::List => {
            let vault = Vault::open(&dir, &unlock, false)?;
            let clients = list_clients(&vault)?;
            if global.json {
                let rows: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        json!({
                            "client_id": c.client_id,
                            "name": c.name,
                            "redirect_uris": c.redirect_uris,
                            "public": c.secret_sha256.is_none(),
                            "dynamic": c.dynamic,
                            "created_at": c.created_at.to_rfc3339(),
                        })
                    })
                    .collect();
                print_json(&rows)?;
            } else if clients.is_empty() {
                println!("no OAuth clients");
            } else {
                for c in &clients {
                    println!(
                        "{}  {:<8} {:<20} {}",
                        c.client_id,
                        if c.secret_sha256.is_none() {
                            "public"
                        } else {
                            "secret"
                        },
                        c.name,
                        c.redirect_uris.join(" ")
                    );
                }
            }
        }
        ClientCommand::Remove { client_id } => {
            let mut vault = Vault::open(&dir, &unlock, true)?;
            if !remove_client(&mut vault, &client_id, "cli")? {
                return Err(UsageError(format!("no OAuth client {client_id}")).into());
            }
            println!("removed OAuth client {client_id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

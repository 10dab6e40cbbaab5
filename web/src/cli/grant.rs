//! `hearth grant issue|list|revoke|explain|key`: the owner's side of grants, over the
//! library's `hearth_web::grants` (which the node's dashboard shares; storage is described
//! there).

use std::collections::BTreeSet;
use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand};
use hearth_permissions::{
    AppKey, Field, Grant, GrantId, GrantSpec, RevocationId, RevocationList, Right, RootKey,
    explain, read,
};
use hearth_vault::Vault;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;

use hearth_web::node;

use super::output::print_json;
use super::{Global, UsageError, args, secret};

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum GrantCommand {
    /// Issue a grant to an app and print its token
    Issue(IssueArgs),
    /// List issued grants
    List,
    /// Revoke a grant and every token derived from it
    Revoke {
        /// The grant's id (from `grant list` or `grant issue --json`)
        id: String,
    },
    /// Say in plain words what a token allows (reads the token from stdin when TOKEN is - or absent)
    Explain {
        /// The token; prefer stdin, since arguments are visible to other local users
        token: Option<String>,
    },
    /// Print the node's root public key, which apps use to verify and attenuate grants
    Key {
        /// As a PEM block instead of ed25519/<hex>
        #[arg(long)]
        pem: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// The app's id (its OAuth client id)
    #[arg(long, value_name = "NAME")]
    app: String,
    /// Rights: memories.search, records.read, records.export, model.chat, model.embed,
    /// adapter.use(NAME), persona.chat (repeatable, or comma-separated)
    #[arg(long = "allow", value_name = "RIGHT", required = true, num_args = 1.., value_delimiter = ',',
          value_parser = |s: &str| s.parse::<Right>().map_err(|e| e.to_string()))]
    rights: Vec<Right>,
    /// Only data from this source (repeatable) [default: every source]
    #[arg(long = "source", value_name = "S")]
    sources: Vec<String>,
    /// Only data at or after this time (RFC 3339 or YYYY-MM-DD)
    #[arg(long, value_parser = args::parse_instant, value_name = "T")]
    since: Option<DateTime<Utc>>,
    /// Only data before this time (RFC 3339 or YYYY-MM-DD)
    #[arg(long, value_parser = args::parse_instant, value_name = "T")]
    until: Option<DateTime<Utc>>,
    /// Never data involving this participant (repeatable)
    #[arg(long = "exclude-participant", value_name = "P")]
    exclude_participants: Vec<String>,
    /// Remove this field from every result: author, participants, conversation, attachments
    /// (repeatable)
    #[arg(long = "redact", value_name = "FIELD",
          value_parser = |s: &str| s.parse::<Field>().map_err(|e| e.to_string()))]
    redact: Vec<Field>,
    /// At most this many results per call
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_results: Option<u32>,
    /// Valid for this long: <n>s, <n>m, <n>h, <n>d or <n>w, or "never"
    #[arg(long, default_value = "30d", value_name = "DURATION", value_parser = parse_expiry)]
    expires: Expiry,
    /// At most this many requests a minute
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    per_minute: Option<u32>,
    /// At most this many requests a day
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    per_day: Option<u32>,
    /// At most this many model tokens a day
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    tokens_per_day: Option<u64>,
    /// Bind the grant to the app's Ed25519 public key (ed25519/<hex>): every request must be
    /// signed by it
    #[arg(long, value_name = "PUBKEY",
          value_parser = |s: &str| s.parse::<AppKey>().map_err(|e| e.to_string()))]
    app_key: Option<AppKey>,
}

/// How long a grant lives.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expiry {
    Never,
    After(Duration),
}

/// `<n>s|m|h|d|w` or `never`.
fn parse_expiry(text: &str) -> Result<Expiry, String> {
    if text == "never" {
        return Ok(Expiry::Never);
    }
    parse_duration(text).map(Expiry::After)
}

/// `<n>s|m|h|d|w`, n > 0.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration: use <n>s, <n>m, <n>h, <n>d or <n>w");
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = (
        text.get(..split).ok_or_else(bad)?,
        text.get(split..).ok_or_else(bad)?,
    );
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds_per)
        .filter(|s| *s > 0 && *s <= 100 * 365 * 86_400)
        .map(Duration::seconds)
        .ok_or_else(bad)
}

#[derive(Serialize)]
struct GrantJson<'a> {
    id: &'a str,
    app: &'a str,
    rights: &'a [String],
    issued_at: &'a str,
    expires: Option<&'a str>,
    status: &'static str,
    revoked_at: Option<&'a str>,
    description: &'a [String],
}

pub(crate) fn run(global: &Global, command: GrantCommand) -> anyhow::Result<ExitCode> {
    match command {
        GrantCommand::Issue(args) => issue_grant(global, args),
        GrantCommand::List => list(global),
        GrantCommand::Revoke { id } => revoke(global, &id),
        GrantCommand::Explain { token } => explain_token(global, token),
        GrantCommand::Key { pem } => key(global, pem),
    }
}

fn open(global: &Global, write: bool) -> anyhow::Result<Vault> {
    let dir = global.vault_dir()?;
    Ok(Vault::open(&dir, &secret::unlock(global)?, write)?)
}

fn stored_root_key(vault: &Vault) -> anyhow::Result<RootKey> {
    hearth_web::grants::stored_root_key(vault)?
        .ok_or_else(|| UsageError("this vault has issued no grant yet".into()).into())
}

fn issue_grant(global: &Global, args: IssueArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let mut spec = GrantSpec::new(args.app, args.rights);
    let r = &mut spec.restrictions;
    r.sources = Some(args.sources.into_iter().collect::<BTreeSet<_>>()).filter(|s| !s.is_empty());
    r.since = args.since;
    r.until = args.until;
    r.exclude_participants = args.exclude_participants.into_iter().collect();
    r.redact = args.redact.into_iter().collect();
    r.max_results = args.max_results;
    spec.limits.expires = match args.expires {
        Expiry::Never => None,
        Expiry::After(duration) => Some(now + duration),
    };
    spec.limits.per_minute = args.per_minute;
    spec.limits.per_day = args.per_day;
    spec.limits.tokens_per_day = args.tokens_per_day;
    spec.app_key = args.app_key;
    // Refuse a bad grant before touching the vault.
    spec.validated()
        .map_err(|e| UsageError(format!("cannot issue this grant: {e}")))?;

    let mut vault = open(global, true)?;
    let issued = hearth_web::grants::issue(&mut vault, &spec, "cli")?;
    let id = issued.id.to_string();
    let token = issued.token.expose_secret();
    if global.json {
        print_json(&json!({ "id": id, "token": token }))?;
    } else {
        println!("{token}");
        eprintln!("issued grant {id} to {}", issued.app);
    }
    Ok(ExitCode::SUCCESS)
}

fn rights(grant: &Grant) -> Vec<String> {
    grant.spec.rights.iter().map(Right::to_string).collect()
}

fn list(global: &Global) -> anyhow::Result<ExitCode> {
    let vault = open(global, false)?;
    let grants = hearth_web::grants::list(&vault)?;
    let rows: Vec<GrantJson<'_>> = grants
        .iter()
        .map(|g| GrantJson {
            id: &g.record.id,
            app: &g.record.app,
            rights: &g.record.rights,
            issued_at: &g.record.issued_at,
            expires: g.record.expires.as_deref(),
            status: g.status,
            revoked_at: g.revoked_at.as_deref(),
            description: &g.record.description,
        })
        .collect();
    if global.json {
        print_json(&rows)?;
    } else if rows.is_empty() {
        println!("no grants");
    } else {
        for row in &rows {
            println!(
                "{}  {:<8} {:<16} {:<25} expires {:<25} {}",
                row.id,
                row.status,
                row.app,
                row.issued_at,
                row.expires.unwrap_or("never"),
                row.rights.join(" ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The revocation list as stored, for verification.
fn revocation_list(vault: &Vault) -> anyhow::Result<RevocationList> {
    let mut list = RevocationList::new();
    for (id, record) in hearth_web::grants::revocations(vault)? {
        list.revoke_grant(
            id.parse::<GrantId>()?,
            RevocationId::from_hex(&record.revocation_id)?,
        );
    }
    Ok(list)
}

fn revoke(global: &Global, id: &str) -> anyhow::Result<ExitCode> {
    let grant_id: GrantId = id
        .parse()
        .map_err(|e: hearth_permissions::GrantError| UsageError(e.to_string()))?;
    let id = grant_id.to_string();
    // A node running on the vault holds its writer lock: it revokes through its control
    // socket, applying the revocation at once.
    let dir = global.vault_dir()?;
    let request = node::control::ControlRequest::Revoke { id: id.clone() };
    if let Some(answer) = node::control::send(&dir, &request)? {
        if !answer.ok {
            let reason = answer.error.unwrap_or_default();
            if reason.starts_with("no grant") {
                return Err(UsageError(reason).into());
            }
            anyhow::bail!("the running node could not revoke grant {id}: {reason}");
        }
        return report_revoked(global, &id, answer.already, true);
    }
    let mut vault = open(global, true)?;
    let already = match hearth_web::grants::revoke(&mut vault, &grant_id, "cli") {
        Ok(revoked) => revoked.already,
        Err(hearth_web::WebError::Invalid { reason, .. }) => return Err(UsageError(reason).into()),
        Err(e) => return Err(e.into()),
    };
    report_revoked(global, &id, already, false)
}

fn report_revoked(
    global: &Global,
    id: &str,
    already: bool,
    by_node: bool,
) -> anyhow::Result<ExitCode> {
    if global.json {
        print_json(&json!({ "id": id, "revoked": true, "already": already, "by_node": by_node }))?;
    } else if already {
        println!("grant {id} was already revoked");
    } else if by_node {
        println!(
            "revoked grant {id} (and every token derived from it); the running node applied it"
        );
    } else {
        println!("revoked grant {id} (and every token derived from it)");
    }
    Ok(ExitCode::SUCCESS)
}

fn explain_token(global: &Global, token: Option<String>) -> anyhow::Result<ExitCode> {
    let token = match token.as_deref() {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .take(hearth_permissions::MAX_TOKEN_LEN as u64 + 1)
                .read_to_string(&mut text)
                .context("reading the token from standard input")?;
            text
        }
        Some(text) => text.to_owned(),
    };
    let token = secrecy::SecretString::from(token.trim().to_owned());
    let vault = open(global, false)?;
    let root = stored_root_key(&vault)?;
    let read = read(token.expose_secret(), &root.public())
        .map_err(|e| UsageError(format!("cannot explain this token: {e}")))?;
    let revocations = revocation_list(&vault)?;
    let revoked = revocations.is_revoked(&read.grant.id, &read.revocation_ids());
    let now = Utc::now();
    let limits = &read.grant.spec.limits;
    let status = if revoked {
        "revoked"
    } else if limits.expires.is_some_and(|t| now >= t) {
        "expired"
    } else if limits.not_before.is_some_and(|t| now < t) {
        "not yet valid"
    } else {
        "active"
    };
    let lines = explain(&read);
    if global.json {
        print_json(&json!({
            "id": read.grant.id.to_string(),
            "app": read.grant.spec.app,
            "rights": rights(&read.grant),
            "status": status,
            "blocks": read.revocation_ids().len(),
            "explanation": lines,
        }))?;
    } else {
        for line in &lines {
            println!("{line}");
        }
        println!("Status: {status}.");
    }
    Ok(ExitCode::SUCCESS)
}

fn key(global: &Global, pem: bool) -> anyhow::Result<ExitCode> {
    let mut vault = open(global, true)?;
    let public = hearth_web::grants::root_key(&mut vault, "cli")?.public();
    if global.json {
        print_json(&json!({
            "public_key": public.to_prefixed_hex(),
            "pem": public.to_pem()?,
        }))?;
    } else if pem {
        print!("{}", public.to_pem()?);
    } else {
        println!("{public}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::minutes(15));
        assert_eq!(parse_duration("2h").unwrap(), Duration::hours(2));
        assert_eq!(parse_duration("30d").unwrap(), Duration::days(30));
        assert_eq!(parse_duration("1w").unwrap(), Duration::weeks(1));
        for bad in [
            "",
            "d",
            "0d",
            "-1d",
            "1.5h",
            "1y",
            "1 d",
            "99999999999999w",
            "1dd",
            "1é",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(matches!(parse_expiry("never"), Ok(Expiry::Never)));
    }
}

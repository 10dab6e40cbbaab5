//! The owner's side of grants, shared by `hearth grant` and the node's dashboard: issue,
//! list, narrow and revoke, stored in the vault.
//!
//! Storage, all sealed in the vault's state table:
//! - `grant-keys/root`: the node's root private key ([`RootKey::expose_secret_bytes`]),
//!   created with the first grant (or by `hearth grant key`), and its creation audited;
//! - `grants/<id>`: what was granted, as JSON ([`GrantRecord`]; never the token itself);
//! - `revocations/<id>`: the grant's authority revocation id and when it was revoked.
//!
//! Every issue and revoke is appended to the audit log (`grant.issue`, `grant.revoke`), with
//! the grant id, the app and the rights; never the token.
//!
//! # Invariants
//!
//! - A token is returned once, from [`issue`] or [`narrow`], and stored nowhere.
//! - [`narrow`] issues only a grant within the old one ([`hearth_permissions::oauth::is_within`])
//!   and revokes the old one in the same call.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use hearth_permissions::{
    AppKey, Field, Grant, GrantId, GrantSpec, IssuedGrant, Limits, Restrictions, RevocationId,
    Right, RootKey, explain_grant, issue as sign,
};
use hearth_vault::{AuditEvent, Vault};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::WebError;

const KEYS: &str = "grant-keys";
const ROOT: &str = "root";
const GRANTS: &str = "grants";
const REVOCATIONS: &str = "revocations";

/// What the vault keeps about a grant (JSON under `grants/<id>`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantRecord {
    /// The grant's id.
    pub id: String,
    /// The app it was issued to.
    pub app: String,
    /// Its rights, as named in the vocabulary.
    pub rights: Vec<String>,
    /// When (RFC 3339).
    pub issued_at: String,
    /// When it expires (RFC 3339), or never.
    pub expires: Option<String>,
    /// The authority block's revocation id (hex).
    pub revocation_id: String,
    /// The grant in plain words.
    pub description: Vec<String>,
    /// The whole spec, for narrowing (absent from grants stored before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecJson>,
}

/// What the vault keeps about a revocation (JSON under `revocations/<id>`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// The revoked authority block's revocation id (hex).
    pub revocation_id: String,
    /// When (RFC 3339).
    pub revoked_at: String,
}

/// A [`GrantSpec`] as stored with its record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SpecJson {
    app: String,
    rights: Vec<String>,
    sources: Option<Vec<String>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    participants: Option<Vec<String>>,
    exclude_participants: Vec<String>,
    conversations: Option<Vec<String>>,
    exclude_conversations: Vec<String>,
    redact: Vec<String>,
    max_results: Option<u32>,
    not_before: Option<DateTime<Utc>>,
    expires: Option<DateTime<Utc>>,
    per_minute: Option<u32>,
    per_day: Option<u32>,
    tokens_per_day: Option<u64>,
    app_key: Option<String>,
}

impl From<&GrantSpec> for SpecJson {
    fn from(s: &GrantSpec) -> Self {
        let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>();
        let r = &s.restrictions;
        Self {
            app: s.app.clone(),
            rights: s.rights.iter().map(Right::to_string).collect(),
            sources: r.sources.as_ref().map(list),
            since: r.since,
            until: r.until,
            participants: r.participants.as_ref().map(list),
            exclude_participants: list(&r.exclude_participants),
            conversations: r.conversations.as_ref().map(list),
            exclude_conversations: list(&r.exclude_conversations),
            redact: r.redact.iter().map(|f| f.as_str().to_owned()).collect(),
            max_results: r.max_results,
            not_before: s.limits.not_before,
            expires: s.limits.expires,
            per_minute: s.limits.per_minute,
            per_day: s.limits.per_day,
            tokens_per_day: s.limits.tokens_per_day,
            app_key: s.app_key.map(|k| k.to_string()),
        }
    }
}

impl SpecJson {
    /// The spec back (fails on names this build does not know).
    pub fn to_spec(&self) -> Result<GrantSpec, WebError> {
        let stored = |reason: String| WebError::Stored(format!("grant spec: {reason}"));
        let set = |v: &Vec<String>| v.iter().cloned().collect::<BTreeSet<_>>();
        let rights = self
            .rights
            .iter()
            .map(|r| r.parse::<Right>().map_err(|e| stored(e.to_string())))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let redact = self
            .redact
            .iter()
            .map(|f| f.parse::<Field>().map_err(|e| stored(e.to_string())))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let app_key = self
            .app_key
            .as_deref()
            .map(|k| k.parse::<AppKey>().map_err(|e| stored(e.to_string())))
            .transpose()?;
        Ok(GrantSpec {
            app: self.app.clone(),
            rights,
            restrictions: Restrictions {
                sources: self.sources.as_ref().map(set),
                since: self.since,
                until: self.until,
                participants: self.participants.as_ref().map(set),
                exclude_participants: set(&self.exclude_participants),
                conversations: self.conversations.as_ref().map(set),
                exclude_conversations: set(&self.exclude_conversations),
                redact,
                max_results: self.max_results,
            },
            limits: Limits {
                not_before: self.not_before,
                expires: self.expires,
                per_minute: self.per_minute,
                per_day: self.per_day,
                tokens_per_day: self.tokens_per_day,
            },
            app_key,
        })
    }
}

/// A grant as listed: the record, its status and when it was revoked.
#[derive(Clone, Debug)]
pub struct GrantRow {
    /// What was stored.
    pub record: GrantRecord,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    /// When it was revoked (RFC 3339).
    pub revoked_at: Option<String>,
}

/// A freshly issued grant: its id and the token, shown once.
#[derive(Debug)]
pub struct IssuedToken {
    /// The grant's id.
    pub id: GrantId,
    /// The app.
    pub app: String,
    /// The token for the app (never stored).
    pub token: SecretString,
    /// Its authority block's revocation id.
    pub revocation_id: RevocationId,
}

/// What [`revoke`] did.
#[derive(Clone, Debug)]
pub struct Revoked {
    /// The grant's id.
    pub id: GrantId,
    /// Its authority block's revocation id (for a running verifier's list).
    pub revocation_id: RevocationId,
    /// Whether it was revoked before this call.
    pub already: bool,
}

/// The node's root key, created (and the creation audited, as `actor`) on first use.
pub fn root_key(vault: &mut Vault, actor: &str) -> Result<RootKey, WebError> {
    if let Some(bytes) = vault.get_state(KEYS, ROOT)? {
        return Ok(RootKey::from_secret_bytes(&zeroize::Zeroizing::new(bytes))?);
    }
    let key = RootKey::generate();
    vault.put_state(KEYS, ROOT, &key.expose_secret_bytes())?;
    vault.audit(&AuditEvent::new("grant.key.create", actor).detail("public_key", key.public()))?;
    Ok(key)
}

/// The root key, if a grant was ever issued.
pub fn stored_root_key(vault: &Vault) -> Result<Option<RootKey>, WebError> {
    vault
        .get_state(KEYS, ROOT)?
        .map(|bytes| Ok(RootKey::from_secret_bytes(&zeroize::Zeroizing::new(bytes))?))
        .transpose()
}

fn rights_of(grant: &Grant) -> Vec<String> {
    grant.spec.rights.iter().map(Right::to_string).collect()
}

/// Issues a grant for `spec`, stores its record and audits it (as `actor`); the token is
/// returned once.
pub fn issue(vault: &mut Vault, spec: &GrantSpec, actor: &str) -> Result<IssuedToken, WebError> {
    let spec = spec.validated()?;
    let root = root_key(vault, actor)?;
    let issued = sign(&root, &spec, GrantId::generate()?, Utc::now())?;
    let grant = &issued.grant;
    let record = store_record(vault, &issued)?;
    let id = record.id.clone();
    vault.audit(
        &AuditEvent::new("grant.issue", actor)
            .subjects([&id])
            .detail("app", &grant.spec.app)
            .detail("rights", record.rights.join(" "))
            .detail("expires", record.expires.as_deref().unwrap_or("never")),
    )?;
    Ok(IssuedToken {
        id: grant.id,
        app: grant.spec.app.clone(),
        token: SecretString::from(issued.token.expose_secret().to_owned()),
        revocation_id: issued.revocation_id,
    })
}

/// Stores the record of a grant just signed under `grants/<id>` (with its whole spec; never the
/// token). The caller audits the issue in its own words (`grant.issue`, `oauth.token`).
pub fn store_record(vault: &mut Vault, issued: &IssuedGrant) -> Result<GrantRecord, WebError> {
    let grant = &issued.grant;
    let record = GrantRecord {
        id: grant.id.to_string(),
        app: grant.spec.app.clone(),
        rights: rights_of(grant),
        issued_at: grant.issued_at.to_rfc3339(),
        expires: grant.spec.limits.expires.map(|t| t.to_rfc3339()),
        revocation_id: issued.revocation_id.to_string(),
        description: explain_grant(grant),
        spec: Some(SpecJson::from(&grant.spec)),
    };
    let json = serde_json::to_vec(&record).map_err(|e| WebError::Stored(e.to_string()))?;
    vault.put_state(GRANTS, &record.id, &json)?;
    Ok(record)
}

/// Stores grant `id`'s revocation (its authority block's `revocation_id`) under
/// `revocations/<id>`, unless it is there already; says whether it was. The caller audits it and
/// updates a running node's list.
pub fn store_revocation(
    vault: &mut Vault,
    id: &str,
    revocation_id: &str,
) -> Result<bool, WebError> {
    if vault.get_state(REVOCATIONS, id)?.is_some() {
        return Ok(true);
    }
    let revocation = RevocationRecord {
        revocation_id: revocation_id.to_owned(),
        revoked_at: Utc::now().to_rfc3339(),
    };
    let json = serde_json::to_vec(&revocation).map_err(|e| WebError::Stored(e.to_string()))?;
    vault.put_state(REVOCATIONS, id, &json)?;
    Ok(false)
}

/// The stored record of grant `id`.
pub fn record(vault: &Vault, id: &GrantId) -> Result<GrantRecord, WebError> {
    let id = id.to_string();
    let bytes = vault
        .get_state(GRANTS, &id)?
        .ok_or_else(|| WebError::Invalid {
            field: "grant",
            reason: format!("no grant {id} in this vault"),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| WebError::Stored(format!("grant {id}: {e}")))
}

/// Every stored revocation, by grant id.
pub fn revocations(vault: &Vault) -> Result<Vec<(String, RevocationRecord)>, WebError> {
    vault
        .list_state(REVOCATIONS)?
        .into_iter()
        .map(|(id, bytes)| {
            let record: RevocationRecord = serde_json::from_slice(&bytes)
                .map_err(|e| WebError::Stored(format!("revocation {id}: {e}")))?;
            Ok((id, record))
        })
        .collect()
}

/// Every issued grant, oldest first, with its status now.
pub fn list(vault: &Vault) -> Result<Vec<GrantRow>, WebError> {
    let revoked = revocations(vault)?;
    let mut records = Vec::new();
    for (key, bytes) in vault.list_state(GRANTS)? {
        let record: GrantRecord = serde_json::from_slice(&bytes)
            .map_err(|e| WebError::Stored(format!("grant {key}: {e}")))?;
        records.push(record);
    }
    records.sort_by(|a, b| a.issued_at.cmp(&b.issued_at).then(a.id.cmp(&b.id)));
    let now = Utc::now();
    Ok(records
        .into_iter()
        .map(|record| {
            let revoked_at = revoked
                .iter()
                .find(|(id, _)| *id == record.id)
                .map(|(_, r)| r.revoked_at.clone());
            let expired = record
                .expires
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t.to_utc() <= now);
            let status = match (revoked_at.is_some(), expired) {
                (true, _) => "revoked",
                (false, true) => "expired",
                (false, false) => "active",
            };
            GrantRow {
                record,
                status,
                revoked_at,
            }
        })
        .collect())
}

/// Revokes grant `id` (and every token derived from it), audited as `actor`.
pub fn revoke(vault: &mut Vault, id: &GrantId, actor: &str) -> Result<Revoked, WebError> {
    let record = record(vault, id)?;
    let key = id.to_string();
    let revocation_id = RevocationId::from_hex(&record.revocation_id)?;
    let already = store_revocation(vault, &key, &record.revocation_id)?;
    if !already {
        vault.audit(
            &AuditEvent::new("grant.revoke", actor)
                .subjects([&key])
                .detail("app", &record.app),
        )?;
    }
    Ok(Revoked {
        id: *id,
        revocation_id,
        already,
    })
}

/// Replaces grant `id` by a narrower one: issues `narrower` (which must be within the old
/// grant, for the same app) and revokes the old grant. Returns the new token and the
/// revocation.
pub fn narrow(
    vault: &mut Vault,
    id: &GrantId,
    narrower: &GrantSpec,
    actor: &str,
) -> Result<(IssuedToken, Revoked), WebError> {
    let old = record(vault, id)?;
    let wide = old
        .spec
        .as_ref()
        .ok_or_else(|| WebError::Invalid {
            field: "grant",
            reason: format!("grant {id} was issued before specs were kept: issue a new one"),
        })?
        .to_spec()?;
    if vault.get_state(REVOCATIONS, &id.to_string())?.is_some() {
        return Err(WebError::Invalid {
            field: "grant",
            reason: format!("grant {id} is revoked"),
        });
    }
    let narrower = narrower.validated()?;
    if narrower.app != wide.app || !hearth_permissions::oauth::is_within(&narrower, &wide) {
        return Err(WebError::Invalid {
            field: "grant",
            reason: "the narrowed grant must stay within the old one, for the same app".into(),
        });
    }
    let issued = issue(vault, &narrower, actor)?;
    let revoked = revoke(vault, id, actor)?;
    Ok((issued, revoked))
}

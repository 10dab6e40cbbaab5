//! Grants on every app request: the bearer token and proof of possession read from the
//! request, the verification into a [`Scope`], the grant state the node keeps in the vault
//! (root key, revocations, quota counters), and the audit entry of every use, refusals included.
//!
//! Storage, sealed in the vault's state table (shared with `hearth grant`):
//! - `grant-keys/root`: the root private key (created, and audited, on first use);
//! - `revocations/<grant id>`: `{"revocation_id", "revoked_at"}`, read at start and written
//!   by [`revoke`] when the owner revokes a grant while the node runs (the control socket);
//! - `grant-quotas/book`: the quota counters, read at start and written at shutdown, so a
//!   restart does not reset a grant's daily limits.
//!
//! # Proof of possession
//!
//! A grant bound to an app key needs the header `Hearth-Proof: t=<unix seconds>, n=<nonce>,
//! s=<hex Ed25519 signature>` over the message of `hearth_permissions::pop`, whose path is the
//! request's path and query as sent and whose body hash is of the exact body bytes.
//!
//! # Invariants
//!
//! - A handler gets a [`Scope`] only from [`authorize`]; every refusal there is audited before
//!   the error goes back, and no data is read before it.
//! - Tokens never reach a log, an error message or the audit log; the audit names the grant id.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, header};
use chrono::Utc;
use hearth_permissions::pop::body_sha256;
use hearth_permissions::{
    GrantError, GrantId, Ledger, MAX_TOKEN_LEN, Proof, RateCounter, ReadToken,
    Request as GrantRequest, RequestFilters, RevocationId, RevocationList, Right, RootKey, Scope,
    Window, read,
};
use hearth_vault::{AuditEvent, Vault};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::state::NodeState;
use crate::WebError;

const KEYS: &str = "grant-keys";
const ROOT: &str = "root";
const REVOCATIONS: &str = "revocations";
const GRANTS: &str = "grants";
const QUOTAS: &str = "grant-quotas";
const QUOTA_BOOK: &str = "book";
/// The proof-of-possession header.
pub const PROOF_HEADER: &str = "hearth-proof";

/// An app's request, read in full (bounded) before anything is verified: the method, the path
/// and query as sent, the bearer token, the proof header and the body.
#[derive(Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    token: Option<SecretString>,
    proof: Option<String>,
    pub(crate) body: Bytes,
    /// What the audit log names as the endpoint, when not the method and path (an MCP tool).
    label: Option<String>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl FromRequest<std::sync::Arc<NodeState>> for Call {
    type Rejection = ApiError;

    async fn from_request(
        request: Request,
        state: &std::sync::Arc<NodeState>,
    ) -> Result<Self, ApiError> {
        let limit = state.config.max_body_bytes;
        let (parts, body) = request.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::too_large(limit));
        }
        let body = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ApiError::too_large(limit))?;
        Ok(Call::new(&parts, body))
    }
}

impl Call {
    /// The call of a request whose body was read (bounded) already.
    pub(crate) fn new(parts: &axum::http::request::Parts, body: Bytes) -> Call {
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        Call {
            method: parts.method.clone(),
            path,
            token: bearer(&parts.headers),
            proof: parts
                .headers
                .get(PROOF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
            label: None,
        }
    }

    /// The same call, audited under `label` instead of its method and path (`MCP
    /// search_memories`): the grant, the proof and the body stay those of the HTTP request.
    pub(crate) fn labelled(&self, label: String) -> Call {
        Call {
            label: Some(label),
            ..self.clone()
        }
    }

    /// Whether the call carries a bearer token at all.
    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }
}

/// The bearer token of `Authorization`, if any (the scheme is case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<SecretString> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| SecretString::from(token.to_owned()))
}

/// The parsed `Hearth-Proof` header.
struct ProofHeader {
    timestamp: i64,
    nonce: String,
    signature: [u8; 64],
}

fn parse_proof(text: &str) -> Result<ProofHeader, GrantError> {
    let bad = || GrantError::ProofInvalid("malformed Hearth-Proof header");
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for part in text.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or_else(bad)?;
        if fields.insert(k.trim(), v.trim()).is_some() {
            return Err(bad());
        }
    }
    let timestamp = fields
        .get("t")
        .and_then(|t| t.parse().ok())
        .ok_or_else(bad)?;
    let nonce = fields.get("n").ok_or_else(bad)?.to_string();
    let sig = fields.get("s").ok_or_else(bad)?;
    let mut signature = [0u8; 64];
    if sig.len() != 128 {
        return Err(bad());
    }
    for (i, byte) in signature.iter_mut().enumerate() {
        *byte = u8::from_str_radix(sig.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(ProofHeader {
        timestamp,
        nonce,
        signature,
    })
}

/// What the audit log says about one use of a grant.
#[derive(Debug, Default)]
pub(crate) struct UseRecord {
    /// Memory or record ids returned.
    pub(crate) ids: Vec<String>,
    /// How many items were returned, when ids are not listed.
    pub(crate) count: Option<usize>,
    /// Model tokens spent (prompt and completion).
    pub(crate) tokens: Option<u64>,
    /// `ok`, `cancelled`, `error`.
    pub(crate) outcome: &'static str,
}

/// Verifies the call's grant for `right` and `filters`: the [`Scope`] to apply, or the error to
/// answer, audited.
pub(crate) fn authorize(
    state: &NodeState,
    call: &Call,
    right: Right,
    filters: RequestFilters,
) -> Result<Scope, ApiError> {
    let right_name = right.to_string();
    let refuse = |app: Option<&str>, error: ApiError| refused(state, call, &right_name, app, error);
    let (token, read) = read_bearer(state, call, &right_name)?;
    let grant = read.grant;
    let app = grant.spec.app.as_str();
    let proof = match call.proof.as_deref().map(parse_proof).transpose() {
        Ok(p) => p,
        Err(e) => return Err(refuse(Some(app), e.into())),
    };
    let proof = proof.as_ref().map(|p| Proof {
        method: call.method.as_str(),
        path: &call.path,
        body_sha256: body_sha256(&call.body),
        timestamp: p.timestamp,
        nonce: &p.nonce,
        signature: p.signature,
    });
    let request = GrantRequest {
        app,
        right: right.clone(),
        filters,
        now: Utc::now(),
        proof,
    };
    let verified = {
        let mut ledger = state.ledger();
        state.verifier.verify(token, &request, &mut ledger)
    };
    match verified {
        Ok(scope) => Ok(scope),
        Err(e) => {
            let mut error = ApiError::from(e);
            if error.status.as_u16() == 401 {
                // The token read, so the app is known; say which grant, never the token.
                error.message = format!("{} (grant {})", error.message, grant.id);
            }
            Err(refuse(Some(app), error))
        }
    }
}

/// Audits a refused use of a grant (the app if known, the right, the status; never the token)
/// and returns the error to answer with.
fn refused(
    state: &NodeState,
    call: &Call,
    right: &str,
    app: Option<&str>,
    error: ApiError,
) -> ApiError {
    let event = AuditEvent::new("grant.use", app.unwrap_or("unknown"))
        .detail("endpoint", endpoint(call))
        .detail("right", right)
        .detail("outcome", "refused")
        .detail("status", error.status.as_u16())
        .detail("code", error.code);
    if let Err(e) = state.audit(&event) {
        return ApiError::internal(&e);
    }
    error
}

/// The call's bearer token, read against the node's root key (present, bounded, signed by this
/// node); a refusal is audited for `right`.
fn read_bearer<'c>(
    state: &NodeState,
    call: &'c Call,
    right: &str,
) -> Result<(&'c str, ReadToken), ApiError> {
    let refuse = |error: ApiError| refused(state, call, right, None, error);
    let Some(token) = &call.token else {
        return Err(refuse(ApiError::unauthorized(
            "missing_token",
            "this node needs a grant: send it as `Authorization: Bearer <grant>`",
        )));
    };
    let token = token.expose_secret();
    if token.len() > MAX_TOKEN_LEN {
        return Err(refuse(GrantError::BadSignature.into()));
    }
    let read = read(token, state.verifier.root()).map_err(|e| refuse(e.into()))?;
    Ok((token, read))
}

/// Checks that the call carries a grant of this node that is not revoked, before a protocol
/// that authorizes each operation later (MCP): 401 otherwise, audited as [`authorize`] audits
/// (right `none`). The rights and filters are verified per operation by [`authorize`].
pub(crate) fn authenticate(state: &NodeState, call: &Call) -> Result<(), ApiError> {
    let refuse = |app: Option<&str>, error: ApiError| refused(state, call, "none", app, error);
    let (_, read) = read_bearer(state, call, "none")?;
    let revoked = state
        .ledger()
        .revocations
        .is_revoked(&read.grant.id, &read.revocation_ids());
    if revoked {
        let mut error = ApiError::from(GrantError::Revoked);
        error.message = format!("{} (grant {})", error.message, read.grant.id);
        return Err(refuse(Some(&read.grant.spec.app), error));
    }
    Ok(())
}

/// The rights the call's grant may use now, each checked as [`authorize`] would but without
/// counting quota or burning a proof nonce (for `GET /v1/models`); then one request is counted
/// against the first of them. Errors as [`authorize`] gives them.
pub(crate) fn usable_rights(
    state: &NodeState,
    call: &Call,
) -> Result<(Scope, Vec<Right>), ApiError> {
    let rights: Vec<Right> = call
        .token
        .as_ref()
        .and_then(|t| read(t.expose_secret(), state.verifier.root()).ok())
        .map(|r| r.grant.spec.rights.into_iter().collect())
        .unwrap_or_default();
    let Some(first) = rights.first().cloned() else {
        // No token, or not one of ours: let authorize say so (and audit it).
        return authorize(state, call, Right::ModelChat, RequestFilters::default())
            .map(|scope| (scope, Vec::new()));
    };
    let token = call.token.as_ref().map(|t| t.expose_secret().to_owned());
    let mut usable = Vec::new();
    if let Some(token) = &token {
        let revocations = state.ledger().revocations.clone();
        let app = read(token, state.verifier.root())
            .map(|r| r.grant.spec.app)
            .unwrap_or_default();
        let proof = call.proof.as_deref().and_then(|p| parse_proof(p).ok());
        for right in &rights {
            let mut probe = Ledger {
                revocations: revocations.clone(),
                ..Ledger::default()
            };
            let request = GrantRequest {
                app: &app,
                right: right.clone(),
                filters: RequestFilters::default(),
                now: Utc::now(),
                proof: proof.as_ref().map(|p| Proof {
                    method: call.method.as_str(),
                    path: &call.path,
                    body_sha256: body_sha256(&call.body),
                    timestamp: p.timestamp,
                    nonce: &p.nonce,
                    signature: p.signature,
                }),
            };
            if state.verifier.verify(token, &request, &mut probe).is_ok() {
                usable.push(right.clone());
            }
        }
    }
    let counted = usable.first().cloned().unwrap_or(first);
    let scope = authorize(state, call, counted, RequestFilters::default())?;
    Ok((scope, usable))
}

/// The endpoint as the audit log names it: its label, else method and path without the query.
fn endpoint(call: &Call) -> String {
    if let Some(label) = &call.label {
        return label.clone();
    }
    let path = call.path.split('?').next().unwrap_or_default();
    format!("{} {path}", call.method)
}

/// Appends the audit entry of a use that passed verification.
pub(crate) fn audit_use(
    state: &NodeState,
    call_endpoint: &str,
    scope: &Scope,
    record: &UseRecord,
) -> Result<(), WebError> {
    let mut event = AuditEvent::new("grant.use", scope.app())
        .detail("endpoint", call_endpoint)
        .detail("right", scope.right())
        .detail("grant", scope.grant_id())
        .detail("outcome", record.outcome);
    if scope.right().reads_data() {
        event = event.detail("filters", describe_filters(scope));
    }
    if let Some(count) = record.count {
        event = event.detail("count", count);
    }
    if !record.ids.is_empty() {
        event = event
            .detail("count", record.ids.len())
            .subjects(&record.ids);
    }
    if let Some(tokens) = record.tokens {
        event = event.detail("tokens", tokens);
    }
    state.audit(&event)
}

/// Endpoint text for [`audit_use`].
pub(crate) fn endpoint_of(call: &Call) -> String {
    endpoint(call)
}

/// The filters a scope applied, for the audit log: names and values, no content.
pub(crate) fn describe_filters(scope: &Scope) -> String {
    let mut parts = Vec::new();
    let list = |name: &str, values: &mut dyn Iterator<Item = &String>| {
        let values: Vec<&str> = values.map(String::as_str).collect();
        (!values.is_empty()).then(|| format!("{name}={}", values.join(",")))
    };
    if let Some(s) = scope.sources() {
        parts.extend(list("sources", &mut s.iter()));
    }
    if let Some(t) = scope.since() {
        parts.push(format!("since={}", t.to_rfc3339()));
    }
    if let Some(t) = scope.until() {
        parts.push(format!("until={}", t.to_rfc3339()));
    }
    if let Some(p) = scope.participants() {
        parts.extend(list("participants", &mut p.iter()));
    }
    parts.extend(list(
        "exclude_participants",
        &mut scope.exclude_participants().iter(),
    ));
    if let Some(c) = scope.conversations() {
        parts.extend(list("conversations", &mut c.iter()));
    }
    parts.extend(list(
        "exclude_conversations",
        &mut scope.exclude_conversations().iter(),
    ));
    let redacted: Vec<&str> = scope.redacted().iter().map(|f| f.as_str()).collect();
    if !redacted.is_empty() {
        parts.push(format!("redact={}", redacted.join(",")));
    }
    if let Some(n) = scope.max_results() {
        parts.push(format!("max_results={n}"));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" ")
    }
}

/// The node's root key, created (and the creation audited) on first use, as `hearth grant`
/// does.
pub(crate) fn root_key(vault: &mut Vault) -> Result<RootKey, WebError> {
    if let Some(bytes) = vault.get_state(KEYS, ROOT)? {
        return Ok(RootKey::from_secret_bytes(&zeroize::Zeroizing::new(bytes))?);
    }
    let key = RootKey::generate();
    vault.put_state(KEYS, ROOT, &key.expose_secret_bytes())?;
    vault.audit(&AuditEvent::new("grant.key.create", "node").detail("public_key", key.public()))?;
    Ok(key)
}

/// A stored revocation (the format `hearth grant revoke` writes).
#[derive(Serialize, Deserialize)]
struct RevocationRecord {
    revocation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

/// What the node needs of a stored grant (`grants/<id>`, written by `hearth grant issue`).
#[derive(Deserialize)]
struct StoredGrant {
    app: String,
    revocation_id: String,
}

/// Revokes a grant while the node runs (the owner's `hearth grant revoke`, through the control
/// socket): stored and audited as the CLI does, and applied to verification at once. Whether it
/// was revoked already.
pub(crate) fn revoke(state: &NodeState, id: &str) -> Result<bool, WebError> {
    let grant_id: GrantId = id.parse()?;
    let id = grant_id.to_string();
    let mut vault = state.vault();
    let bytes = vault
        .get_state(GRANTS, &id)?
        .ok_or_else(|| WebError::Node(format!("no grant {id} in this vault")))?;
    let stored: StoredGrant =
        serde_json::from_slice(&bytes).map_err(|e| WebError::Stored(format!("grant {id}: {e}")))?;
    let revocation_id = RevocationId::from_hex(&stored.revocation_id)?;
    let already = vault.get_state(REVOCATIONS, &id)?.is_some();
    if !already {
        let record = RevocationRecord {
            revocation_id: stored.revocation_id.clone(),
            revoked_at: Some(Utc::now().to_rfc3339()),
        };
        let json = serde_json::to_vec(&record).map_err(|e| WebError::Stored(e.to_string()))?;
        vault.put_state(REVOCATIONS, &id, &json)?;
        vault.audit(
            &AuditEvent::new("grant.revoke", "cli")
                .subjects([&id])
                .detail("app", &stored.app)
                .detail("via", "node"),
        )?;
    }
    drop(vault);
    state
        .ledger()
        .revocations
        .revoke_grant(grant_id, revocation_id);
    Ok(already)
}

/// The verification state at start: revocations as stored, quota counters as last saved.
pub(crate) fn load_ledger(vault: &Vault) -> Result<Ledger, WebError> {
    let mut revocations = RevocationList::new();
    for (id, bytes) in vault.list_state(REVOCATIONS)? {
        let record: RevocationRecord = serde_json::from_slice(&bytes)
            .map_err(|e| WebError::Stored(format!("revocation {id}: {e}")))?;
        revocations.revoke_grant(
            id.parse::<GrantId>()?,
            RevocationId::from_hex(&record.revocation_id)?,
        );
    }
    let mut ledger = Ledger {
        revocations,
        ..Ledger::default()
    };
    if let Some(bytes) = vault.get_state(QUOTAS, QUOTA_BOOK)? {
        let stored: BTreeMap<String, StoredCounter> = serde_json::from_slice(&bytes)
            .map_err(|e| WebError::Stored(format!("quota counters: {e}")))?;
        for (id, c) in stored {
            ledger.quotas.insert(id.parse::<GrantId>()?, c.into());
        }
    }
    Ok(ledger)
}

/// Saves the quota counters (at shutdown).
pub(crate) fn save_quotas(vault: &mut Vault, ledger: &mut Ledger) -> Result<(), WebError> {
    ledger.quotas.prune(Utc::now().timestamp());
    let stored: BTreeMap<String, StoredCounter> = ledger
        .quotas
        .iter()
        .map(|(id, c)| (id.to_string(), StoredCounter::from(*c)))
        .collect();
    let json = serde_json::to_vec(&stored).map_err(|e| WebError::Stored(e.to_string()))?;
    vault.put_state(QUOTAS, QUOTA_BOOK, &json)?;
    Ok(())
}

/// A [`RateCounter`] as stored: `[window start, count]` for each window.
#[derive(Serialize, Deserialize)]
struct StoredCounter {
    minute: (i64, u64),
    day: (i64, u64),
    tokens: (i64, u64),
}

impl From<RateCounter> for StoredCounter {
    fn from(c: RateCounter) -> Self {
        Self {
            minute: (c.minute.start, c.minute.count),
            day: (c.day.start, c.day.count),
            tokens: (c.tokens.start, c.tokens.count),
        }
    }
}

impl From<StoredCounter> for RateCounter {
    fn from(c: StoredCounter) -> Self {
        let w = |(start, count)| Window { start, count };
        RateCounter {
            minute: w(c.minute),
            day: w(c.day),
            tokens: w(c.tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_headers_parse_strictly() {
        let sig = "ab".repeat(64);
        let p = parse_proof(&format!("t=1700000000, n=abcdefghijklmnop, s={sig}")).unwrap();
        assert_eq!(p.timestamp, 1_700_000_000);
        assert_eq!(p.nonce, "abcdefghijklmnop");
        assert_eq!(p.signature, [0xab; 64]);
        for bad in [
            String::new(),
            "t=1, n=x".into(),
            format!("t=1, n=x, s={sig}, t=2"),
            format!("t=one, n=x, s={sig}"),
            "t=1, n=x, s=abcd".into(),
            format!("t=1, n=x, s={}", "zz".repeat(64)),
        ] {
            assert!(parse_proof(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bearer_tokens_need_the_scheme() {
        let mut h = HeaderMap::new();
        assert!(bearer(&h).is_none());
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(bearer(&h).is_none());
        h.insert(header::AUTHORIZATION, "bearer  tok ".parse().unwrap());
        assert_eq!(bearer(&h).unwrap().expose_secret(), "tok");
    }
}

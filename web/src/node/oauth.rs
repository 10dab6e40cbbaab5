//! The node's OAuth 2 authorization server: apps connect the way they already know, and the
//! access tokens they get are grants.
//!
//! The policy (request validation, PKCE, code redemption, refresh rotation, introspection,
//! metadata, "consent only narrows") is `hearth_permissions::oauth`; this module parses the
//! HTTP requests, renders the consent page, keeps the state in the vault and audits.
//!
//! # Endpoints
//!
//! - `GET /.well-known/oauth-authorization-server`: metadata (RFC 8414).
//! - `GET /oauth/authorize`: authorization code with PKCE (`S256` only), `scope` as shorthand
//!   and `authorization_details` (RFC 9396, type `hearth_grant`) for granular asks; renders the
//!   consent page. `POST /oauth/authorize`: the consent form.
//! - `POST /oauth/token`: `authorization_code` (with `code_verifier`) and `refresh_token`
//!   (rotated on every use; a reused one revokes its family and the grants issued from it).
//! - `POST /oauth/revoke` (RFC 7009), `POST /oauth/introspect` (RFC 7662, confidential
//!   clients only).
//! - `POST /oauth/register` (RFC 7591): only with `hearth serve --allow-dynamic-registration`.
//!
//! # The owner on the consent page
//!
//! The consent page is served only to loopback peers (the owner's own machine). The owner
//! approves by typing the vault passphrase into the form; the node checks it by unlocking the
//! vault read-only (scrypt, then the vault's key check: no comparison of secrets of ours), one
//! attempt at a time with a pause after each failure, and a pending request dies after five
//! wrong passphrases. Each rendered page carries a CSRF token, both in the form and in a
//! `SameSite=Strict; HttpOnly` cookie named after the pending request; both must match
//! (constant time). The page loads nothing from anywhere (CSP `default-src 'none'`), cannot be
//! framed, and escapes every value it shows.
//!
//! # Storage (sealed in the vault's state table)
//!
//! - `oauth-clients/<client id>`: name, redirect URIs, SHA-256 of the secret (confidential
//!   clients);
//! - `oauth-codes/<SHA-256 of the code>`: the client, redirect URI, PKCE challenge, what the
//!   owner consented to, and the grants issued from it (revoked if the code is replayed);
//! - `oauth-refresh/<family id>`: the refresh token family (hash of the current token only)
//!   and the grants issued from it;
//! - each access token is a grant, stored under `grants/<id>` as `hearth grant issue` stores
//!   one (so `hearth grant list` shows it and `hearth grant revoke` works), revoked under
//!   `revocations/<id>`.
//!
//! # Invariants
//!
//! - Codes, refresh tokens, client secrets and CSRF tokens are stored only as hashes, compared
//!   in constant time, and never logged or audited; the audit names clients and grant ids.
//! - An error about the client or its redirect URI is shown to the owner, never redirected.
//! - What the owner approves is within what the app asked for (`is_within`), checked again on
//!   the server whatever the form sends.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hearth_permissions::oauth::{
    AuthorizationCode, AuthorizationDetail, AuthorizationRequest, Client, OAuthError,
    RefreshFamily, ServerMetadata, ValidatedAuthorization, introspect, is_within, scope_string,
    secret_from, secret_hash, validate_authorization_request, validate_redirect_uri,
};
use hearth_permissions::{Grant, GrantId, GrantSpec, Right, RootKey, explain_grant, issue};
use hearth_vault::{AuditEvent, SecretString, Unlock, Vault};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::state::NodeState;
use crate::WebError;
use crate::grants::{SpecJson, store_record, store_revocation};

const CLIENTS: &str = "oauth-clients";
const CODES: &str = "oauth-codes";
const FAMILIES: &str = "oauth-refresh";

/// How long an access token (a grant) lives.
pub const ACCESS_TOKEN_SECS: i64 = 900;
/// How long a rendered consent page stays usable.
const PENDING_SECS: u64 = 600;
/// Pending consent pages kept at once.
const MAX_PENDING: usize = 64;
/// Wrong passphrases before a pending request is dropped.
const MAX_LOGIN_FAILURES: u32 = 5;
/// Expiry choices on the consent page (label, seconds); the last is the default.
const EXPIRY_CHOICES: [(&str, &str, i64); 4] = [
    ("1h", "1 hour", 3600),
    ("1d", "1 day", 86_400),
    ("7d", "7 days", 7 * 86_400),
    ("30d", "30 days", 30 * 86_400),
];

/// The authorization server's part of the node state.
pub(crate) struct OAuthState {
    root: RootKey,
    vault_dir: PathBuf,
    dynamic_registration: bool,
    issuer: OnceLock<String>,
    pending: Mutex<HashMap<String, Pending>>,
    /// Held while a passphrase is checked: one attempt at a time.
    login: Mutex<()>,
}

/// A consent page waiting for the owner.
struct Pending {
    auth: ValidatedAuthorization,
    client_name: String,
    csrf: [u8; 32],
    created: Instant,
    failures: u32,
    /// The sources offered as checkboxes (those asked for, or the vault's).
    sources: Vec<String>,
    /// Whether the app asked for every source.
    all_sources: bool,
}

impl OAuthState {
    /// The server for a node whose grants `root` signs, on the vault at `vault_dir`.
    pub(crate) fn new(root: RootKey, vault_dir: PathBuf, dynamic_registration: bool) -> Self {
        Self {
            root,
            vault_dir,
            dynamic_registration,
            issuer: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            login: Mutex::new(()),
        }
    }

    /// Sets the issuer (`http://ADDR` of the listening socket) once it is known.
    pub(crate) fn set_issuer(&self, issuer: String) {
        let _ = self.issuer.set(issuer);
    }

    fn issuer(&self) -> &str {
        self.issuer.get().map_or("http://127.0.0.1", String::as_str)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `passphrase` unlocks the vault (read-only, nothing kept).
    fn owner_passphrase_ok(&self, passphrase: &str) -> bool {
        let _one_at_a_time = self.login.lock().unwrap_or_else(|p| p.into_inner());
        let unlock = Unlock::Passphrase(SecretString::from(passphrase.to_owned()));
        match Vault::open(&self.vault_dir, &unlock, false) {
            Ok(_) => true,
            Err(e) => {
                if !e.is_unlock_failure() {
                    eprintln!("hearth serve: checking the owner's passphrase failed: {e}");
                }
                std::thread::sleep(StdDuration::from_secs(1));
                false
            }
        }
    }
}

/// The authorization server's routes.
pub(crate) fn router() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth/authorize", get(authorize).post(consent))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect_token))
        .route("/oauth/register", post(register))
}

// ---------------------------------------------------------------------------------------------
// Stored state

/// A registered client, as stored under `oauth-clients/<id>`.
#[derive(Clone, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client id (also the grants' app id).
    pub client_id: String,
    /// The name the consent page shows.
    pub name: String,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// base64url SHA-256 of the client secret; `None`: a public client.
    pub secret_sha256: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Registered by the app itself (RFC 7591) rather than the owner.
    #[serde(default)]
    pub dynamic: bool,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("redirect_uris", &self.redirect_uris)
            .field("public", &self.secret_sha256.is_none())
            .finish_non_exhaustive()
    }
}

impl ClientRecord {
    fn policy(&self) -> Client {
        Client {
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
        }
    }
}

/// A grant handed out as an access token, remembered to revoke it with its code or family.
#[derive(Clone, Serialize, Deserialize)]
struct IssuedRef {
    id: String,
    revocation_id: String,
    expires: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct CodeRecord {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    granted: SpecJson,
    issued_at: DateTime<Utc>,
    redeemed_at: Option<DateTime<Utc>>,
    family: Option<String>,
    #[serde(default)]
    issued: Vec<IssuedRef>,
}

#[derive(Serialize, Deserialize)]
struct FamilyRecord {
    id: String,
    client_id: String,
    granted: SpecJson,
    current: String,
    generation: u32,
    expires_at: DateTime<Utc>,
    revoked: bool,
    #[serde(default)]
    issued: Vec<IssuedRef>,
}

fn get_json<T: for<'de> Deserialize<'de>>(
    vault: &Vault,
    namespace: &str,
    key: &str,
) -> Result<Option<T>, WebError> {
    vault
        .get_state(namespace, key)?
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| WebError::Stored(format!("{namespace}/{key}: {e}")))
        })
        .transpose()
}

fn put_json<T: Serialize>(
    vault: &mut Vault,
    namespace: &str,
    key: &str,
    value: &T,
) -> Result<(), WebError> {
    let bytes = serde_json::to_vec(value).map_err(|e| WebError::Stored(e.to_string()))?;
    vault.put_state(namespace, key, &bytes)?;
    Ok(())
}

fn random_secret() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| WebError::Node(format!("no randomness from the system: {e}")))?;
    Ok(secret_from(&bytes))
}

fn hash_b64(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(secret_hash(secret))
}

fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Registers a client (the owner's `hearth oauth client add`, or RFC 7591): returns its record
/// and, for a confidential client, its secret (shown once, stored only hashed).
pub fn register_client(
    vault: &mut Vault,
    name: &str,
    redirect_uris: &[String],
    public: bool,
    dynamic: bool,
    actor: &str,
) -> Result<(ClientRecord, Option<SecretString>), WebError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(WebError::Invalid {
            field: "name",
            reason: "a client name is 1 to 100 printable characters".into(),
        });
    }
    if redirect_uris.is_empty() || redirect_uris.len() > 10 {
        return Err(WebError::Invalid {
            field: "redirect_uri",
            reason: "a client has 1 to 10 redirect URIs".into(),
        });
    }
    for uri in redirect_uris {
        validate_redirect_uri(uri).map_err(|e| WebError::Invalid {
            field: "redirect_uri",
            reason: e.description,
        })?;
    }
    let slug: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let slug: String = slug.chars().take(32).collect();
    let mut suffix = [0u8; 4];
    getrandom::getrandom(&mut suffix)
        .map_err(|e| WebError::Node(format!("no randomness from the system: {e}")))?;
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let client_id = if slug.is_empty() {
        format!("app-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    };
    let secret = if public { None } else { Some(random_secret()?) };
    let record = ClientRecord {
        client_id: client_id.clone(),
        name: name.to_owned(),
        redirect_uris: redirect_uris.to_vec(),
        secret_sha256: secret.as_deref().map(hash_b64),
        created_at: Utc::now(),
        dynamic,
    };
    put_json(vault, CLIENTS, &client_id, &record)?;
    vault.audit(
        &AuditEvent::new("oauth.client.register", actor)
            .subjects([&client_id])
            .detail("name", name)
            .detail("public", public)
            .detail("dynamic", dynamic),
    )?;
    Ok((record, secret.map(SecretString::from)))
}

/// The registered clients.
pub fn list_clients(vault: &Vault) -> Result<Vec<ClientRecord>, WebError> {
    vault
        .list_state(CLIENTS)?
        .into_iter()
        .map(|(key, bytes)| {
            serde_json::from_slice(&bytes)
                .map_err(|e| WebError::Stored(format!("{CLIENTS}/{key}: {e}")))
        })
        .collect()
}

/// Removes a client; its grants stay until they expire or are revoked. Returns whether it
/// existed.
pub fn remove_client(vault: &mut Vault, client_id: &str, actor: &str) -> Result<bool, WebError> {
    let existed = vault.delete_state(CLIENTS, client_id)?;
    if existed {
        vault.audit(&AuditEvent::new("oauth.client.remove", actor).subjects([client_id]))?;
    }
    Ok(existed)
}

// ---------------------------------------------------------------------------------------------
// Responses

/// An OAuth error answer (RFC 6749 §5.2): `{"error", "error_description"}`.
struct Fail {
    status: StatusCode,
    error: OAuthError,
}

impl Fail {
    fn bad(error: OAuthError) -> Self {
        let status = if error.code == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self { status, error }
    }

    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self::bad(OAuthError {
            code,
            description: description.into(),
        })
    }

    fn internal(cause: &dyn std::fmt::Display) -> Self {
        eprintln!("hearth serve: internal error in the OAuth server: {cause}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: OAuthError {
                code: "server_error",
                description: "the node failed; its log says why".into(),
            },
        }
    }
}

impl From<WebError> for Fail {
    fn from(e: WebError) -> Self {
        Self::internal(&e)
    }
}

impl From<hearth_vault::VaultError> for Fail {
    fn from(e: hearth_vault::VaultError) -> Self {
        Self::internal(&e)
    }
}

impl From<hearth_permissions::GrantError> for Fail {
    fn from(e: hearth_permissions::GrantError) -> Self {
        Self::internal(&e)
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error.code, "error_description": self.error.description});
        let mut response = (self.status, no_store(), axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"hearth\""),
            );
        }
        response
    }
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

fn json_ok(value: Value) -> Response {
    (StatusCode::OK, no_store(), axum::Json(value)).into_response()
}

async fn blocking<T: Send + 'static>(
    state: &Arc<NodeState>,
    f: impl FnOnce(&NodeState) -> Result<T, Fail> + Send + 'static,
) -> Result<T, Fail> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| Fail::internal(&e))?
}

/// Form parameters (`application/x-www-form-urlencoded`); a repeated parameter is refused
/// (RFC 6749 §3.1).
fn form(body: &[u8]) -> Result<BTreeMap<String, String>, Fail> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Fail::new(
                "invalid_request",
                format!("the parameter {k} is repeated"),
            ));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Metadata and registration

async fn metadata(State(state): State<Arc<NodeState>>) -> Response {
    let o = &state.oauth;
    let m = ServerMetadata::for_issuer(o.issuer(), o.dynamic_registration);
    let mut body = json!({
        "issuer": m.issuer,
        "authorization_endpoint": m.authorization_endpoint,
        "token_endpoint": m.token_endpoint,
        "revocation_endpoint": m.revocation_endpoint,
        "introspection_endpoint": m.introspection_endpoint,
        "scopes_supported": m.scopes_supported,
        "response_types_supported": m.response_types_supported,
        "response_modes_supported": ["query"],
        "grant_types_supported": m.grant_types_supported,
        "code_challenge_methods_supported": m.code_challenge_methods_supported,
        "token_endpoint_auth_methods_supported": m.token_endpoint_auth_methods_supported,
        "revocation_endpoint_auth_methods_supported": m.token_endpoint_auth_methods_supported,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "authorization_details_types_supported": m.authorization_details_types_supported,
        "authorization_response_iss_parameter_supported": true,
    });
    if let Some(r) = m.registration_endpoint {
        body["registration_endpoint"] = Value::String(r);
    }
    axum::Json(body).into_response()
}

#[derive(Deserialize)]
struct RegistrationRequest {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
}

async fn register(State(state): State<Arc<NodeState>>, body: Bytes) -> Result<Response, Fail> {
    if !state.oauth.dynamic_registration {
        return Ok((
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "not_found",
                "error_description": "dynamic client registration is off on this node"})),
        )
            .into_response());
    }
    let invalid = |d: String| Fail::new("invalid_client_metadata", d);
    let request: RegistrationRequest =
        serde_json::from_slice(&body).map_err(|e| invalid(e.to_string()))?;
    let public = match request.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") | Some("client_secret_post") => false,
        Some("none") => true,
        Some(other) => return Err(invalid(format!("unsupported auth method {other:?}"))),
    };
    if let Some(types) = &request.grant_types
        && types
            .iter()
            .any(|t| t != "authorization_code" && t != "refresh_token")
    {
        return Err(invalid(
            "grant_types: authorization_code, refresh_token".into(),
        ));
    }
    if let Some(types) = &request.response_types
        && types.iter().any(|t| t != "code")
    {
        return Err(invalid("response_types: code".into()));
    }
    let name = request.client_name.unwrap_or_else(|| "app".into());
    let uris = request.redirect_uris;
    let (record, secret) = blocking(&state, move |s| {
        register_client(&mut s.vault(), &name, &uris, public, true, "oauth.register").map_err(|e| {
            match e {
                WebError::Invalid { field, reason } => Fail::new(
                    if field == "redirect_uri" {
                        "invalid_redirect_uri"
                    } else {
                        "invalid_client_metadata"
                    },
                    reason,
                ),
                other => Fail::from(other),
            }
        })
    })
    .await?;
    use secrecy::ExposeSecret;
    let mut body = json!({
        "client_id": record.client_id,
        "client_id_issued_at": record.created_at.timestamp(),
        "client_name": record.name,
        "redirect_uris": record.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": if public { "none" } else { "client_secret_basic" },
    });
    if let Some(secret) = secret {
        body["client_secret"] = Value::String(secret.expose_secret().to_owned());
        body["client_secret_expires_at"] = json!(0);
    }
    Ok((StatusCode::CREATED, no_store(), axum::Json(body)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Authorization and consent

/// The parameters of `GET /oauth/authorize`.
fn authorization_request(query: &str) -> Result<AuthorizationRequest, OAuthError> {
    let bad = |d: String| OAuthError {
        code: "invalid_request",
        description: d,
    };
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(bad(format!("the parameter {k} is repeated")));
        }
    }
    let mut take = |k: &str| params.remove(k);
    let details = match take("authorization_details") {
        None => Vec::new(),
        Some(text) => parse_details(&text).map_err(|d| OAuthError {
            code: "invalid_authorization_details",
            description: d,
        })?,
    };
    Ok(AuthorizationRequest {
        response_type: take("response_type"),
        client_id: take("client_id"),
        redirect_uri: take("redirect_uri"),
        scope: take("scope"),
        state: take("state"),
        code_challenge: take("code_challenge"),
        code_challenge_method: take("code_challenge_method"),
        authorization_details: details,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailJson {
    #[serde(rename = "type")]
    detail_type: String,
    #[serde(default)]
    actions: Vec<String>,
    sources: Option<Vec<String>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    #[serde(default)]
    exclude_participants: Vec<String>,
    #[serde(default)]
    redact: Vec<String>,
    max_results: Option<u32>,
}

fn parse_details(text: &str) -> Result<Vec<AuthorizationDetail>, String> {
    if text.len() > 8192 {
        return Err("authorization_details is too long".into());
    }
    let details: Vec<DetailJson> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(details
        .into_iter()
        .map(|d| AuthorizationDetail {
            detail_type: d.detail_type,
            actions: d.actions,
            sources: d.sources,
            since: d.since,
            until: d.until,
            exclude_participants: d.exclude_participants,
            redact: d.redact,
            max_results: d.max_results,
        })
        .collect())
}

/// `uri` with `params` added to its query.
fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", query.finish())
}

fn redirect(location: &str) -> Response {
    let mut response = (StatusCode::SEE_OTHER, no_store()).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A redirect carrying an error to the client, with `state` and `iss`.
fn error_redirect(uri: &str, error: &OAuthError, state: Option<&str>, issuer: &str) -> Response {
    let mut params = vec![
        ("error", error.code),
        ("error_description", error.description.as_str()),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    redirect(&with_params(uri, &params))
}

fn is_loopback(peer: &SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

async fn authorize(
    State(state): State<Arc<NodeState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    if !is_loopback(&peer) {
        return page_error(
            StatusCode::FORBIDDEN,
            "The consent page is only served to this machine.",
        );
    }
    let issuer = state.oauth.issuer().to_owned();
    let request = match authorization_request(query.as_deref().unwrap_or("")) {
        Ok(r) => r,
        // Before the client is known nothing may be redirected.
        Err(e) => return page_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let client_id = request.client_id.clone();
    let found = blocking(&state, move |s| {
        let vault = s.vault();
        let client: Option<ClientRecord> = match &client_id {
            Some(id) => get_json(&vault, CLIENTS, id)?,
            None => None,
        };
        let sources = vault
            .status()?
            .by_source
            .into_iter()
            .map(|(s, _)| s)
            .collect::<Vec<_>>();
        Ok((client, sources))
    })
    .await;
    let (client, vault_sources) = match found {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let auth = match validate_authorization_request(
        &request,
        client.as_ref().map(ClientRecord::policy).as_ref(),
    ) {
        Ok(auth) => auth,
        Err(e) => {
            return match e.redirect_uri {
                Some(uri) => error_redirect(&uri, &e.error, e.state.as_deref(), &issuer),
                None => page_error(StatusCode::BAD_REQUEST, &e.error.to_string()),
            };
        }
    };
    let Some(client) = client else {
        return page_error(StatusCode::BAD_REQUEST, "unknown client");
    };
    let (sources, all_sources) = match &auth.requested.restrictions.sources {
        Some(asked) => (asked.iter().cloned().collect(), false),
        None => (vault_sources, true),
    };
    let (rid, csrf) = match (random_secret(), random_secret()) {
        (Ok(rid), Ok(csrf)) => (rid, csrf),
        (Err(e), _) | (_, Err(e)) => return Fail::from(e).into_response(),
    };
    let pending = Pending {
        auth,
        client_name: client.name,
        csrf: secret_hash(&csrf),
        created: Instant::now(),
        failures: 0,
        sources,
        all_sources,
    };
    let html = consent_page(&pending, &rid, &csrf, None);
    {
        let mut all = state.oauth.pending();
        all.retain(|_, p| p.created.elapsed().as_secs() < PENDING_SECS);
        if all.len() >= MAX_PENDING {
            return page_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many authorization requests are waiting; try again in a few minutes.",
            );
        }
        all.insert(rid.clone(), pending);
    }
    let mut response = html_response(StatusCode::OK, html);
    let cookie = format!(
        "hearth_consent_{rid}={csrf}; Path=/oauth/authorize; HttpOnly; SameSite=Strict; Max-Age={PENDING_SECS}"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The value of cookie `name`, if sent.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn consent(
    State(state): State<Arc<NodeState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_loopback(&peer) {
        return page_error(
            StatusCode::FORBIDDEN,
            "The consent page is only served to this machine.",
        );
    }
    let mut fields: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let one = |fields: &[(String, String)], name: &str| -> Option<String> {
        let mut values = fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next().cloned();
        if values.next().is_some() { None } else { first }
    };
    let (Some(rid), Some(csrf)) = (one(&fields, "request"), one(&fields, "csrf")) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "This form is incomplete (no request or CSRF token).",
        );
    };
    let cookie_ok = cookie(&headers, &format!("hearth_consent_{rid}"))
        .is_some_and(|c| same_secret(c.as_bytes(), csrf.as_bytes()));
    let known = {
        let all = state.oauth.pending();
        all.get(&rid)
            .filter(|p| p.created.elapsed().as_secs() < PENDING_SECS)
            .map(|p| same_secret(&p.csrf, &secret_hash(&csrf)))
    };
    match known {
        None => {
            return page_error(
                StatusCode::BAD_REQUEST,
                "This authorization request is unknown or expired: start again from the app.",
            );
        }
        Some(false) => {
            return page_error(StatusCode::FORBIDDEN, "The form's CSRF token is wrong.");
        }
        Some(true) if !cookie_ok => {
            return page_error(
                StatusCode::FORBIDDEN,
                "The form's CSRF token does not match this browser's cookie.",
            );
        }
        Some(true) => {}
    }
    let issuer = state.oauth.issuer().to_owned();
    let decision = one(&fields, "decision");
    if decision.as_deref() == Some("deny") {
        let Some(pending) = state.oauth.pending().remove(&rid) else {
            return page_error(
                StatusCode::BAD_REQUEST,
                "This request was already answered.",
            );
        };
        let auth = pending.auth;
        let event = AuditEvent::new("oauth.consent", "owner")
            .subjects([&auth.client_id])
            .detail("outcome", "denied");
        let _ = blocking(&state, move |s| Ok(s.audit(&event)?)).await;
        let error = OAuthError {
            code: "access_denied",
            description: "the owner denied the request".into(),
        };
        return error_redirect(&auth.redirect_uri, &error, auth.state.as_deref(), &issuer);
    }
    if decision.as_deref() != Some("approve") {
        return page_error(StatusCode::BAD_REQUEST, "Approve or deny.");
    }
    let passphrase = fields
        .iter()
        .position(|(k, _)| k == "passphrase")
        .map(|i| fields.swap_remove(i).1)
        .unwrap_or_default();
    let checked = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            !passphrase.is_empty() && state.oauth.owner_passphrase_ok(&passphrase)
        })
        .await
        .unwrap_or(false)
    };
    if !checked {
        let mut all = state.oauth.pending();
        let Some(pending) = all.get_mut(&rid) else {
            return page_error(
                StatusCode::BAD_REQUEST,
                "This request was already answered.",
            );
        };
        pending.failures += 1;
        if pending.failures >= MAX_LOGIN_FAILURES {
            all.remove(&rid);
            return page_error(
                StatusCode::UNAUTHORIZED,
                "Too many wrong passphrases: start again from the app.",
            );
        }
        let html = consent_page(pending, &rid, &csrf, Some("That passphrase is not right."));
        return html_response(StatusCode::UNAUTHORIZED, html);
    }
    let Some(pending) = state.oauth.pending().remove(&rid) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "This request was already answered.",
        );
    };
    let granted = match narrowed(&pending, &fields) {
        Ok(g) => g,
        Err(message) => {
            let html = consent_page(&pending, &rid, &csrf, Some(&message));
            state.oauth.pending().insert(rid.clone(), pending);
            return html_response(StatusCode::BAD_REQUEST, html);
        }
    };
    let auth = pending.auth;
    let made = blocking(&state, move |s| {
        let code = random_secret()?;
        let now = Utc::now();
        let record = CodeRecord {
            client_id: auth.client_id.clone(),
            redirect_uri: auth.redirect_uri.clone(),
            code_challenge: auth.code_challenge.clone(),
            granted: SpecJson::from(&granted),
            issued_at: now,
            redeemed_at: None,
            family: None,
            issued: Vec::new(),
        };
        let mut vault = s.vault();
        prune_codes(&mut vault, now)?;
        put_json(&mut vault, CODES, &hash_b64(&code), &record)?;
        vault.audit(
            &AuditEvent::new("oauth.consent", "owner")
                .subjects([&auth.client_id])
                .detail("outcome", "approved")
                .detail("rights", scope_string(&granted.rights))
                .detail(
                    "expires",
                    granted
                        .limits
                        .expires
                        .map_or_else(|| "never".into(), |t| t.to_rfc3339()),
                ),
        )?;
        Ok((code, auth))
    })
    .await;
    match made {
        Ok((code, auth)) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(s) = auth.state.as_deref() {
                params.push(("state", s));
            }
            params.push(("iss", issuer.as_str()));
            redirect(&with_params(&auth.redirect_uri, &params))
        }
        Err(e) => e.into_response(),
    }
}

/// Drops codes past their lifetime (a redeemed code is kept as long, to catch its replay).
fn prune_codes(vault: &mut Vault, now: DateTime<Utc>) -> Result<(), WebError> {
    for (key, bytes) in vault.list_state(CODES)? {
        let stale = serde_json::from_slice::<CodeRecord>(&bytes)
            .map(|c| (now - c.issued_at).num_seconds() > 10 * 60)
            .unwrap_or(true);
        if stale {
            vault.delete_state(CODES, &key)?;
        }
    }
    Ok(())
}

/// What the owner approved: the rights, sources and expiry left checked on the form, never
/// more than the app asked for.
fn narrowed(pending: &Pending, fields: &[(String, String)]) -> Result<GrantSpec, String> {
    let requested = &pending.auth.requested;
    let mut spec = requested.clone();
    let values = |name: &str| -> BTreeSet<&str> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let rights = values("right");
    spec.rights = requested
        .rights
        .iter()
        .filter(|r| rights.contains(r.to_string().as_str()))
        .cloned()
        .collect();
    if spec.rights.is_empty() {
        return Err("Leave at least one right checked, or deny the request.".into());
    }
    if spec.rights.iter().any(Right::reads_data) && !pending.sources.is_empty() {
        let sources = values("source");
        let kept: BTreeSet<String> = pending
            .sources
            .iter()
            .filter(|s| sources.contains(s.as_str()))
            .cloned()
            .collect();
        if kept.is_empty() {
            return Err("Leave at least one source checked, or uncheck the data rights.".into());
        }
        if !(pending.all_sources && kept.len() == pending.sources.len()) {
            spec.restrictions.sources = Some(kept);
        }
    }
    let expiry = fields
        .iter()
        .find(|(k, _)| k == "expires")
        .map(|(_, v)| v.as_str())
        .unwrap_or("30d");
    let secs = EXPIRY_CHOICES
        .iter()
        .find(|(value, _, _)| *value == expiry)
        .map(|(_, _, secs)| *secs)
        .ok_or("Choose one of the offered expiry times.")?;
    let expires = Utc::now() + Duration::seconds(secs);
    spec.limits.expires = Some(match requested.limits.expires {
        Some(asked) if asked < expires => asked,
        _ => expires,
    });
    let spec = spec.validated().map_err(|e| e.to_string())?;
    if !is_within(&spec, requested) {
        return Err("That is more than the app asked for.".into());
    }
    Ok(spec)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.4em}fieldset{margin:1em 0;border:1px solid #ccc;border-radius:6px}\
label{display:block;margin:.3em 0}.error{color:#a00;font-weight:bold}\
.asks li{margin:.2em 0}button{font-size:1em;padding:.4em 1.2em;margin-right:.6em}\
code{background:#f3f3f3;padding:0 .2em}";

fn html_response(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

fn page_error(status: StatusCode, message: &str) -> Response {
    html_response(
        status,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hearth: authorization failed</title>\
<style>{STYLE}</style></head><body><h1>This authorization cannot go on</h1><p class=\"error\">{}</p></body></html>",
            escape(message)
        ),
    )
}

/// The consent page: what the app asks for in plain words, checkboxes to narrow it, the
/// owner's passphrase, approve or deny.
fn consent_page(pending: &Pending, rid: &str, csrf: &str, error: Option<&str>) -> String {
    let auth = &pending.auth;
    let requested = &auth.requested;
    let name = escape(&pending.client_name);
    let description = explain_grant(&Grant {
        id: GrantId::from_bytes([0; 16]),
        issued_at: Utc::now(),
        spec: requested.clone(),
    });
    let mut asks = String::new();
    // The first line names the grant id, which does not exist yet; validity is chosen below.
    for line in description
        .iter()
        .skip(1)
        .filter(|l| !l.starts_with("Does not expire"))
    {
        asks.push_str(&format!(
            "<li>{}</li>",
            escape(line.trim_start_matches("  - "))
        ));
    }
    let mut rights = String::new();
    for right in &requested.rights {
        let value = escape(&right.to_string());
        rights.push_str(&format!(
            "<label><input type=\"checkbox\" name=\"right\" value=\"{value}\" checked> <code>{value}</code>: {}</label>",
            escape(&right.describe())
        ));
    }
    let mut sources = String::new();
    if requested.rights.iter().any(Right::reads_data) && !pending.sources.is_empty() {
        let note = if pending.all_sources {
            "The app asks for data from every source. Uncheck sources to keep them from it \
             (while all stay checked, sources added later are included too)."
        } else {
            "The app asks for data from these sources only. Uncheck any to keep it from them."
        };
        sources.push_str(&format!("<fieldset><legend>Sources</legend><p>{note}</p>"));
        for source in &pending.sources {
            let value = escape(source);
            sources.push_str(&format!(
                "<label><input type=\"checkbox\" name=\"source\" value=\"{value}\" checked> {value}</label>"
            ));
        }
        sources.push_str("</fieldset>");
    }
    let mut expiry = String::new();
    for (i, (value, label, _)) in EXPIRY_CHOICES.iter().enumerate() {
        let selected = if i + 1 == EXPIRY_CHOICES.len() {
            " selected"
        } else {
            ""
        };
        expiry.push_str(&format!(
            "<option value=\"{value}\"{selected}>{label}</option>"
        ));
    }
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>Hearth: allow {name}?</title>\
<style>{STYLE}</style></head><body>\
<h1>Allow <q>{name}</q> to use your Hearth?</h1>\
<p>The app <strong>{name}</strong> (client <code>{client}</code>) asks for a grant. \
If you approve, it is sent to <code>{redirect}</code>.</p>\
<p>It asks to:</p><ul class=\"asks\">{asks}</ul>\
{error}\
<form method=\"post\" action=\"/oauth/authorize\">\
<input type=\"hidden\" name=\"request\" value=\"{rid}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<fieldset><legend>What it may do</legend><p>Uncheck anything you do not want to allow.</p>{rights}</fieldset>\
{sources}\
<fieldset><legend>For how long</legend><label>The app may renew its access for \
<select name=\"expires\">{expiry}</select>; you can revoke it at any time.</label></fieldset>\
<fieldset><legend>It is you</legend><label>Vault passphrase \
<input type=\"password\" name=\"passphrase\" id=\"passphrase\" autocomplete=\"current-password\"></label></fieldset>\
<button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\
</form></body></html>",
        client = escape(&auth.client_id),
        redirect = escape(&auth.redirect_uri),
        rid = escape(rid),
        csrf = escape(csrf),
    )
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// Authenticates the client of a token, revocation or introspection request: HTTP Basic
/// (`client_secret_basic`), `client_secret` in the form (`client_secret_post`), or only
/// `client_id` for a public client.
fn authenticate(
    vault: &Vault,
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
) -> Result<ClientRecord, Fail> {
    let invalid = || Fail::new("invalid_client", "client authentication failed");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, b64)| {
            let decoded = STANDARD.decode(b64.trim()).map_err(|_| invalid())?;
            let text = String::from_utf8(decoded).map_err(|_| invalid())?;
            let (id, secret) = text.split_once(':').ok_or_else(invalid)?;
            let unescape = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Ok::<_, Fail>((unescape(id), unescape(secret)))
        })
        .transpose()?;
    let (client_id, secret) = match basic {
        Some((id, secret)) => {
            if params.get("client_id").is_some_and(|c| *c != id) {
                return Err(invalid());
            }
            (id, Some(secret))
        }
        None => (
            params.get("client_id").cloned().ok_or_else(invalid)?,
            params.get("client_secret").cloned(),
        ),
    };
    if client_id.len() > 200 {
        return Err(invalid());
    }
    let client: ClientRecord = get_json(vault, CLIENTS, &client_id)?.ok_or_else(invalid)?;
    match (&client.secret_sha256, secret) {
        (None, _) => Ok(client),
        (Some(stored), Some(secret))
            if same_secret(stored.as_bytes(), hash_b64(&secret).as_bytes()) =>
        {
            Ok(client)
        }
        _ => Err(invalid()),
    }
}

/// Issues an access token (a grant) for `granted`, living [`ACCESS_TOKEN_SECS`] at most and
/// never past `until`; records it under `grants/`.
fn issue_access(
    state: &NodeState,
    vault: &mut Vault,
    granted: &GrantSpec,
    until: Option<DateTime<Utc>>,
) -> Result<(String, IssuedRef, i64), Fail> {
    let now = Utc::now();
    let mut spec = granted.clone();
    let mut expires = now + Duration::seconds(ACCESS_TOKEN_SECS);
    if let Some(until) = until.into_iter().chain(granted.limits.expires).min() {
        expires = expires.min(until);
    }
    if expires <= now + Duration::seconds(1) {
        return Err(Fail::new("invalid_grant", "the grant expired"));
    }
    spec.limits.expires = Some(expires);
    let issued = issue(&state.oauth.root, &spec, GrantId::generate()?, now)?;
    let grant = &issued.grant;
    let id = store_record(vault, &issued)?.id;
    let expires_at = grant.spec.limits.expires.unwrap_or(expires);
    let reference = IssuedRef {
        id,
        revocation_id: issued.revocation_id.to_string(),
        expires: expires_at,
    };
    let expires_in = (expires_at - now).num_seconds().max(1);
    Ok((
        issued.token.expose_secret().to_owned(),
        reference,
        expires_in,
    ))
}

/// Revokes issued grants that have not expired yet: stored, and added to the live list.
fn revoke_issued(
    state: &NodeState,
    vault: &mut Vault,
    issued: &[IssuedRef],
) -> Result<(), WebError> {
    let now = Utc::now();
    for grant in issued.iter().filter(|g| g.expires > now) {
        if store_revocation(vault, &grant.id, &grant.revocation_id)? {
            continue;
        }
        let id: GrantId = grant.id.parse()?;
        let rid = hearth_permissions::RevocationId::from_hex(&grant.revocation_id)?;
        state.ledger().revocations.revoke_grant(id, rid);
    }
    Ok(())
}

fn token_answer(access: &str, expires_in: i64, refresh: &str, granted: &GrantSpec) -> Value {
    json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": refresh,
        "scope": scope_string(&granted.rights),
        "authorization_details": [detail_of(granted)],
    })
}

/// The RFC 9396 detail of what was granted.
fn detail_of(spec: &GrantSpec) -> Value {
    let r = &spec.restrictions;
    let mut detail = json!({
        "type": hearth_permissions::oauth::AUTHORIZATION_DETAILS_TYPE,
        "actions": spec.rights.iter().map(Right::to_string).collect::<Vec<_>>(),
    });
    if let Some(s) = &r.sources {
        detail["sources"] = json!(s);
    }
    if let Some(t) = r.since {
        detail["since"] = json!(t.to_rfc3339());
    }
    if let Some(t) = r.until {
        detail["until"] = json!(t.to_rfc3339());
    }
    if !r.exclude_participants.is_empty() {
        detail["exclude_participants"] = json!(r.exclude_participants);
    }
    if !r.redact.is_empty() {
        detail["redact"] = json!(r.redact.iter().map(|f| f.as_str()).collect::<Vec<_>>());
    }
    if let Some(n) = r.max_results {
        detail["max_results"] = json!(n);
    }
    detail
}

async fn token(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let params = form(&body)?;
    blocking(&state, move |s| {
        let mut vault = s.vault();
        let client = authenticate(&vault, &headers, &params)?;
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => redeem_code(s, &mut vault, &client, &params),
            Some("refresh_token") => refresh(s, &mut vault, &client, &params),
            Some(_) => Err(Fail::new(
                "unsupported_grant_type",
                "authorization_code or refresh_token",
            )),
            None => Err(Fail::new("invalid_request", "grant_type is required")),
        }
    })
    .await
    .map(json_ok)
}

fn redeem_code(
    state: &NodeState,
    vault: &mut Vault,
    client: &ClientRecord,
    params: &BTreeMap<String, String>,
) -> Result<Value, Fail> {
    let code = params
        .get("code")
        .ok_or_else(|| Fail::new("invalid_request", "code is required"))?;
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| Fail::new("invalid_request", "code_verifier is required (PKCE)"))?;
    let key = hash_b64(code);
    let mut record: CodeRecord = get_json(vault, CODES, &key)?
        .ok_or_else(|| Fail::new("invalid_grant", "unknown or expired code"))?;
    let mut policy = AuthorizationCode {
        client_id: record.client_id.clone(),
        redirect_uri: record.redirect_uri.clone(),
        code_challenge: record.code_challenge.clone(),
        granted: record.granted.to_spec()?,
        issued_at: record.issued_at,
        redeemed_at: record.redeemed_at,
    };
    let now = Utc::now();
    let redeemed = policy.redeem(
        &client.client_id,
        params.get("redirect_uri").map(String::as_str),
        verifier,
        now,
    );
    record.redeemed_at = policy.redeemed_at;
    let granted = match redeemed {
        Ok(granted) => granted,
        Err(e) => {
            if e.revoke_issued {
                // A replayed code: whoever holds its tokens may be a thief (RFC 9700 §4.2.4).
                revoke_issued(state, vault, &record.issued)?;
                if let Some(family) = &record.family
                    && let Some(mut f) = get_json::<FamilyRecord>(vault, FAMILIES, family)?
                {
                    f.revoked = true;
                    revoke_issued(state, vault, &f.issued)?;
                    put_json(vault, FAMILIES, family, &f)?;
                }
                vault.audit(
                    &AuditEvent::new("oauth.code.replayed", &client.client_id)
                        .detail("revoked", record.issued.len()),
                )?;
            }
            put_json(vault, CODES, &key, &record)?;
            return Err(Fail::bad(e.error));
        }
    };
    let family_expires = granted.limits.expires.unwrap_or(now + Duration::days(30));
    let (access, issued, expires_in) = issue_access(state, vault, &granted, None)?;
    let family_id = random_secret()?.chars().take(22).collect::<String>();
    let (family, refresh) = RefreshFamily::start(
        family_id.clone(),
        &random_secret()?,
        client.client_id.clone(),
        granted.clone(),
        family_expires,
    );
    let stored = FamilyRecord {
        id: family.id.clone(),
        client_id: family.client_id.clone(),
        granted: SpecJson::from(&granted),
        current: URL_SAFE_NO_PAD.encode(family.current),
        generation: 0,
        expires_at: family.expires_at,
        revoked: false,
        issued: vec![issued.clone()],
    };
    put_json(vault, FAMILIES, &family_id, &stored)?;
    record.family = Some(family_id.clone());
    record.issued.push(issued.clone());
    put_json(vault, CODES, &key, &record)?;
    vault.audit(
        &AuditEvent::new("oauth.token", &client.client_id)
            .subjects([&issued.id])
            .detail("grant_type", "authorization_code")
            .detail("family", &family_id)
            .detail("rights", scope_string(&granted.rights)),
    )?;
    Ok(token_answer(&access, expires_in, &refresh, &granted))
}

fn refresh(
    state: &NodeState,
    vault: &mut Vault,
    client: &ClientRecord,
    params: &BTreeMap<String, String>,
) -> Result<Value, Fail> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| Fail::new("invalid_request", "refresh_token is required"))?;
    let unknown = || Fail::new("invalid_grant", "unknown refresh token");
    let family_id = RefreshFamily::family_of(presented).ok_or_else(unknown)?;
    if family_id.len() > 64 {
        return Err(unknown());
    }
    let mut stored: FamilyRecord = get_json(vault, FAMILIES, family_id)?.ok_or_else(unknown)?;
    let current: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&stored.current)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| WebError::Stored(format!("{FAMILIES}/{family_id}: bad hash")))?;
    let granted = stored.granted.to_spec()?;
    let mut family = RefreshFamily {
        id: stored.id.clone(),
        client_id: stored.client_id.clone(),
        granted: granted.clone(),
        current,
        generation: stored.generation,
        expires_at: stored.expires_at,
        revoked: stored.revoked,
    };
    let was_revoked = family.revoked;
    let fresh = random_secret()?;
    let rotated = family.rotate(presented, &client.client_id, &fresh, Utc::now());
    if family.revoked && !was_revoked {
        // A refresh token used twice: revoke the family and everything it issued.
        revoke_issued(state, vault, &stored.issued)?;
        stored.revoked = true;
        put_json(vault, FAMILIES, family_id, &stored)?;
        vault.audit(
            &AuditEvent::new("oauth.refresh.reused", &client.client_id)
                .detail("family", family_id)
                .detail("revoked", stored.issued.len()),
        )?;
    }
    let next = rotated.map_err(Fail::bad)?;
    // A narrower scope may be asked for on refresh (RFC 6749 §6), never a wider one: the
    // rights are those asked for that were granted (clients such as authlib resend the scope
    // they first asked for, which the owner may have narrowed); the answer's `scope` says so.
    let mut spec = granted.clone();
    if let Some(scope) = params.get("scope") {
        let asked = hearth_permissions::oauth::parse_scope(scope).map_err(Fail::bad)?;
        spec.rights = asked.intersection(&granted.rights).cloned().collect();
        if spec.rights.is_empty() {
            return Err(Fail::new(
                "invalid_scope",
                "none of these rights was granted",
            ));
        }
    }
    let (access, issued, expires_in) = issue_access(state, vault, &spec, Some(stored.expires_at))?;
    let now = Utc::now();
    stored.issued.retain(|g| g.expires > now);
    stored.issued.push(issued.clone());
    stored.current = URL_SAFE_NO_PAD.encode(family.current);
    stored.generation = family.generation;
    put_json(vault, FAMILIES, family_id, &stored)?;
    vault.audit(
        &AuditEvent::new("oauth.token", &client.client_id)
            .subjects([&issued.id])
            .detail("grant_type", "refresh_token")
            .detail("family", family_id)
            .detail("generation", family.generation),
    )?;
    Ok(token_answer(&access, expires_in, &next, &spec))
}

async fn revoke(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let params = form(&body)?;
    blocking(&state, move |s| {
        let mut vault = s.vault();
        let client = authenticate(&vault, &headers, &params)?;
        let token = params
            .get("token")
            .ok_or_else(|| Fail::new("invalid_request", "token is required"))?;
        // RFC 7009 §2.2: an unknown token, or another client's, gets 200 and changes nothing.
        if let Some(family_id) = RefreshFamily::family_of(token) {
            if let Some(mut f) = get_json::<FamilyRecord>(&vault, FAMILIES, family_id)?
                && f.client_id == client.client_id
                && same_secret(
                    f.current.as_bytes(),
                    hash_b64(token.rsplit('.').next().unwrap_or("")).as_bytes(),
                )
            {
                f.revoked = true;
                revoke_issued(s, &mut vault, &f.issued)?;
                put_json(&mut vault, FAMILIES, family_id, &f)?;
                vault.audit(
                    &AuditEvent::new("oauth.revoke", &client.client_id)
                        .detail("token_type", "refresh_token")
                        .detail("family", family_id),
                )?;
            }
        } else if let Ok(read) = hearth_permissions::read(token, s.verifier.root())
            && read.grant.spec.app == client.client_id
        {
            let reference = IssuedRef {
                id: read.grant.id.to_string(),
                revocation_id: read
                    .revocation_ids()
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                expires: read
                    .grant
                    .spec
                    .limits
                    .expires
                    .unwrap_or(Utc::now() + Duration::days(36_500)),
            };
            revoke_issued(s, &mut vault, &[reference])?;
            vault.audit(
                &AuditEvent::new("oauth.revoke", &client.client_id)
                    .subjects([read.grant.id.to_string()])
                    .detail("token_type", "access_token"),
            )?;
        }
        Ok(())
    })
    .await?;
    Ok((StatusCode::OK, no_store()).into_response())
}

async fn introspect_token(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let params = form(&body)?;
    let answer = blocking(&state, move |s| {
        let vault = s.vault();
        let client = authenticate(&vault, &headers, &params)?;
        if client.secret_sha256.is_none() {
            return Err(Fail::new(
                "invalid_client",
                "introspection is for confidential clients",
            ));
        }
        let token = params
            .get("token")
            .ok_or_else(|| Fail::new("invalid_request", "token is required"))?;
        let inactive = json!({"active": false});
        let now = Utc::now();
        if let Some(family_id) = RefreshFamily::family_of(token) {
            let Some(f) = get_json::<FamilyRecord>(&vault, FAMILIES, family_id)? else {
                return Ok(inactive);
            };
            let current = same_secret(
                f.current.as_bytes(),
                hash_b64(token.rsplit('.').next().unwrap_or("")).as_bytes(),
            );
            if f.revoked || !current || now >= f.expires_at || f.client_id != client.client_id {
                return Ok(inactive);
            }
            let granted = f.granted.to_spec()?;
            return Ok(json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": f.client_id,
                "scope": scope_string(&granted.rights),
                "exp": f.expires_at.timestamp(),
                "iss": s.oauth.issuer(),
            }));
        }
        drop(vault);
        let revocations = s.ledger().revocations.clone();
        let seen = introspect(token, s.verifier.root(), &revocations, now);
        let Some(grant) = seen
            .grant
            .filter(|g| seen.active && g.spec.app == client.client_id)
        else {
            return Ok(inactive);
        };
        let mut answer = json!({
            "active": true,
            "token_type": "Bearer",
            "client_id": grant.spec.app,
            "aud": grant.spec.app,
            "scope": scope_string(&grant.spec.rights),
            "jti": grant.id.to_string(),
            "iat": grant.issued_at.timestamp(),
            "iss": s.oauth.issuer(),
            "authorization_details": [detail_of(&grant.spec)],
        });
        if let Some(exp) = grant.spec.limits.expires {
            answer["exp"] = json!(exp.timestamp());
        }
        Ok(answer)
    })
    .await?;
    Ok(json_ok(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_permissions::Field;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>\u{7}"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn params_are_added_to_existing_queries() {
        assert_eq!(
            with_params("https://a.example/cb", &[("code", "x y"), ("state", "s&t")]),
            "https://a.example/cb?code=x+y&state=s%26t"
        );
        assert_eq!(
            with_params("https://a.example/cb?k=v", &[("code", "c")]),
            "https://a.example/cb?k=v&code=c"
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(authorization_request("client_id=a&client_id=b").is_err());
        assert!(form(b"code=a&code=b").is_err());
        let r = authorization_request(
            "client_id=a&authorization_details=%5B%7B%22type%22%3A%22hearth_grant%22%2C%22actions%22%3A%5B%22records.read%22%5D%7D%5D",
        )
        .unwrap();
        assert_eq!(r.authorization_details[0].actions, vec!["records.read"]);
        assert!(authorization_request("authorization_details=%5B%7B%22typo%22%3A1%7D%5D").is_err());
    }

    #[test]
    fn stored_specs_round_trip() {
        let mut spec = GrantSpec::new("notes", [Right::MemoriesSearch, Right::ModelChat]);
        spec.restrictions.sources = Some(["whatsapp".to_owned()].into());
        spec.restrictions.redact.insert(Field::Author);
        spec.limits.expires = Some(Utc::now());
        let back = SpecJson::from(&spec).to_spec().unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a_x=1; a=2".parse().unwrap());
        assert_eq!(cookie(&h, "a"), Some("2"));
        assert_eq!(cookie(&h, "a_"), None);
    }
}

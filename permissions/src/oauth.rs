//! The policy side of the node's OAuth 2 authorization server, as pure functions over plain
//! data: the HTTP endpoints (a later issue) parse requests, call these, and store the results.
//!
//! Follows the OAuth 2.0 Security BCP (RFC 9700): authorization code with PKCE, `S256` only;
//! exact redirect URI matching; one-time codes bound to the client, the redirect URI and the
//! PKCE challenge, living [`CODE_LIFETIME_SECS`]; refresh tokens rotated on every use, a reused
//! one revoking its whole family. Access tokens are grants ([`crate::issue`]).
//!
//! # Invariants
//!
//! - Secrets (codes, refresh tokens, PKCE verifiers) are stored only as SHA-256 hashes and
//!   compared in constant time.
//! - An error about the client or its redirect URI is never sent to that redirect URI
//!   ([`AuthorizationError::redirect_uri`] is `None`): the node shows it to the owner instead.
//! - The consent step can only narrow what the app asked for ([`is_within`]).

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::verify::subtle_eq;
use crate::{Field, GrantError, GrantSpec, Restrictions, Right};

/// How long an authorization code may be redeemed.
pub const CODE_LIFETIME_SECS: i64 = 60;
/// The `type` of Hearth's Rich Authorization Request details (RFC 9396).
pub const AUTHORIZATION_DETAILS_TYPE: &str = "hearth_grant";

/// An OAuth 2 error response: an RFC 6749 error code and a description for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_response_type`, `invalid_scope`, `access_denied`, ...
    pub code: &'static str,
    /// What went wrong, in words (no secrets).
    pub description: String,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
        }
    }
}

/// A failed authorization request, and where (if anywhere) to send the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationError {
    /// The error.
    pub error: OAuthError,
    /// The client's redirect URI to send it to, with `state`; `None`: show it to the owner.
    pub redirect_uri: Option<String>,
    /// The request's `state`, to send back.
    pub state: Option<String>,
}

/// A client the owner registered (or dynamic registration created).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client id, also the grants' app id.
    pub client_id: String,
    /// A name to show on the consent page.
    pub name: String,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
}

/// Checks a redirect URI for registration: `https`, or `http` to a loopback address (RFC
/// 8252 §7.3), or a private-use scheme with a dot (RFC 8252 §7.1); never a fragment.
pub fn validate_redirect_uri(uri: &str) -> Result<(), OAuthError> {
    let bad = |why: &str| OAuthError::new("invalid_redirect_uri", format!("{uri:?}: {why}"));
    if uri.contains('#') {
        return Err(bad("a redirect URI has no fragment"));
    }
    if uri.len() > 2048 || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("not a URI"));
    }
    let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad("no scheme"))?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return Err(bad("not a URI"));
    }
    let authority = rest
        .strip_prefix("//")
        .map(|r| r.split(['/', '?']).next().unwrap_or(""));
    match scheme.to_ascii_lowercase().as_str() {
        "https" => match authority {
            Some(a) if !a.is_empty() && !a.contains('@') => Ok(()),
            _ => Err(bad("no host")),
        },
        "http" => {
            let host = authority.ok_or_else(|| bad("no host"))?;
            let host = host.rsplit_once(':').map_or(host, |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') {
                    h
                } else {
                    host
                }
            });
            if matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
                Ok(())
            } else {
                Err(bad("plain http only to a loopback address"))
            }
        }
        "javascript" | "data" | "file" | "vbscript" => Err(bad("a forbidden scheme")),
        other if other.contains('.') => Ok(()),
        _ => Err(bad(
            "use https, http to a loopback address, or a reverse-domain private scheme",
        )),
    }
}

/// A Rich Authorization Request detail of type `hearth_grant` (RFC 9396), parsed from JSON by
/// the node: `{"type": "hearth_grant", "actions": [...], "sources": [...], ...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationDetail {
    /// Must be [`AUTHORIZATION_DETAILS_TYPE`].
    pub detail_type: String,
    /// Rights, as vocabulary names.
    pub actions: Vec<String>,
    /// `sources`.
    pub sources: Option<Vec<String>>,
    /// `since` (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// `until` (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// `exclude_participants`.
    pub exclude_participants: Vec<String>,
    /// `redact`: field names.
    pub redact: Vec<String>,
    /// `max_results`.
    pub max_results: Option<u32>,
}

/// The parameters of an authorization request, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`: rights as a space-separated shorthand.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `authorization_details`, parsed.
    pub authorization_details: Vec<AuthorizationDetail>,
}

/// An authorization request that may go on to the consent page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedAuthorization {
    /// The client.
    pub client_id: String,
    /// The redirect URI the code goes to (exactly as registered).
    pub redirect_uri: String,
    /// The `state` to send back.
    pub state: Option<String>,
    /// The PKCE S256 challenge the code is bound to.
    pub code_challenge: String,
    /// What the app asks for, to show in plain words and let the owner narrow.
    pub requested: GrantSpec,
}

/// Validates an authorization request against the registered client.
pub fn validate_authorization_request(
    request: &AuthorizationRequest,
    client: Option<&Client>,
) -> Result<ValidatedAuthorization, AuthorizationError> {
    let state = request.state.clone();
    let local = |code, description: &str| AuthorizationError {
        error: OAuthError::new(code, description),
        redirect_uri: None,
        state: state.clone(),
    };
    let client = client.ok_or_else(|| local("invalid_client", "unknown client"))?;
    if request.client_id.as_deref() != Some(client.client_id.as_str()) {
        return Err(local("invalid_client", "unknown client"));
    }
    let redirect_uri = match &request.redirect_uri {
        Some(uri) => client
            .redirect_uris
            .iter()
            .find(|registered| *registered == uri)
            .ok_or_else(|| local("invalid_request", "redirect_uri is not registered"))?,
        None => match client.redirect_uris.as_slice() {
            [only] => only,
            _ => return Err(local("invalid_request", "redirect_uri is required")),
        },
    }
    .clone();
    let redirect = |code, description: String| AuthorizationError {
        error: OAuthError::new(code, description),
        redirect_uri: Some(redirect_uri.clone()),
        state: state.clone(),
    };
    if request.response_type.as_deref() != Some("code") {
        return Err(redirect(
            "unsupported_response_type",
            "only response_type=code".into(),
        ));
    }
    let challenge = request.code_challenge.as_deref().ok_or_else(|| {
        redirect(
            "invalid_request",
            "code_challenge is required (PKCE)".into(),
        )
    })?;
    if request.code_challenge_method.as_deref() != Some("S256") {
        return Err(redirect(
            "invalid_request",
            "code_challenge_method must be S256".into(),
        ));
    }
    if !is_s256_challenge(challenge) {
        return Err(redirect(
            "invalid_request",
            "code_challenge is not a base64url SHA-256".into(),
        ));
    }
    let requested =
        requested_grant(client, request).map_err(|e| redirect(e.code, e.description))?;
    Ok(ValidatedAuthorization {
        client_id: client.client_id.clone(),
        redirect_uri,
        state,
        code_challenge: challenge.to_owned(),
        requested,
    })
}

/// Rights from a `scope` string (space-separated vocabulary names).
pub fn parse_scope(scope: &str) -> Result<BTreeSet<Right>, OAuthError> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Right>()
                .map_err(|e| OAuthError::new("invalid_scope", e.to_string()))
        })
        .collect()
}

/// The `scope` string for rights.
pub fn scope_string(rights: &BTreeSet<Right>) -> String {
    rights
        .iter()
        .map(Right::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn requested_grant(
    client: &Client,
    request: &AuthorizationRequest,
) -> Result<GrantSpec, OAuthError> {
    let mut spec = GrantSpec::new(client.client_id.clone(), []);
    if let Some(scope) = &request.scope {
        spec.rights.extend(parse_scope(scope)?);
    }
    match request.authorization_details.as_slice() {
        [] => {}
        [detail] => {
            if detail.detail_type != AUTHORIZATION_DETAILS_TYPE {
                return Err(OAuthError::new(
                    "invalid_authorization_details",
                    format!("the detail type must be {AUTHORIZATION_DETAILS_TYPE}"),
                ));
            }
            for action in &detail.actions {
                spec.rights.insert(action.parse().map_err(|e: GrantError| {
                    OAuthError::new("invalid_authorization_details", e.to_string())
                })?);
            }
            let redact = detail
                .redact
                .iter()
                .map(|f| f.parse::<Field>())
                .collect::<Result<BTreeSet<_>, _>>()
                .map_err(|e| OAuthError::new("invalid_authorization_details", e.to_string()))?;
            spec.restrictions = Restrictions {
                sources: detail.sources.as_ref().map(|s| s.iter().cloned().collect()),
                since: detail.since,
                until: detail.until,
                exclude_participants: detail.exclude_participants.iter().cloned().collect(),
                redact,
                max_results: detail.max_results,
                ..Restrictions::default()
            };
        }
        _ => {
            return Err(OAuthError::new(
                "invalid_authorization_details",
                "one hearth_grant detail per request",
            ));
        }
    }
    if spec.rights.is_empty() {
        return Err(OAuthError::new(
            "invalid_scope",
            "the request asks for no right",
        ));
    }
    spec.validated()
        .map_err(|e| OAuthError::new("invalid_request", e.to_string()))
}

/// Whether `narrow` allows nothing that `wide` does not: same app and key, a subset of rights,
/// and every restriction and limit at least as tight. Consent and attenuation both rely on it.
pub fn is_within(narrow: &GrantSpec, wide: &GrantSpec) -> bool {
    let (n, w) = (&narrow.restrictions, &wide.restrictions);
    let subset = |a: &Option<BTreeSet<String>>, b: &Option<BTreeSet<String>>| match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => a.is_subset(b),
    };
    let later = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => a >= b,
    };
    let earlier = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => a <= b,
    };
    fn at_most<T: PartialOrd>(a: Option<T>, b: Option<T>) -> bool {
        match (a, b) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a <= b,
        }
    }
    let (nl, wl) = (&narrow.limits, &wide.limits);
    narrow.app == wide.app
        && (wide.app_key.is_none() || narrow.app_key == wide.app_key)
        && narrow.rights.is_subset(&wide.rights)
        && subset(&n.sources, &w.sources)
        && later(n.since, w.since)
        && earlier(n.until, w.until)
        && subset(&n.participants, &w.participants)
        && n.exclude_participants.is_superset(&w.exclude_participants)
        && subset(&n.conversations, &w.conversations)
        && n.exclude_conversations
            .is_superset(&w.exclude_conversations)
        && n.redact.is_superset(&w.redact)
        && at_most(n.max_results, w.max_results)
        && later(nl.not_before, wl.not_before)
        && earlier(nl.expires, wl.expires)
        && at_most(nl.per_minute, wl.per_minute)
        && at_most(nl.per_day, wl.per_day)
        && at_most(nl.tokens_per_day, wl.tokens_per_day)
}

/// The S256 challenge for a PKCE verifier: base64url(SHA-256(verifier)), no padding.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|bytes| bytes.len() == 32)
}

/// Checks a PKCE verifier (RFC 7636: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`) against
/// an S256 challenge, in constant time.
pub fn verify_pkce_s256(verifier: &str, challenge: &str) -> Result<(), OAuthError> {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return Err(OAuthError::new(
            "invalid_grant",
            "code_verifier is malformed",
        ));
    }
    if !subtle_eq(pkce_challenge(verifier).as_bytes(), challenge.as_bytes()) {
        return Err(OAuthError::new(
            "invalid_grant",
            "code_verifier does not match the challenge",
        ));
    }
    Ok(())
}

/// SHA-256 of a secret (code, refresh token): what is stored and looked up.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A fresh secret for a code or refresh token: 32 random bytes as base64url, from `random`.
pub fn secret_from(random: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// An authorization code, as stored (under [`secret_hash`] of the code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// The PKCE challenge.
    pub code_challenge: String,
    /// What the owner consented to.
    pub granted: GrantSpec,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it was redeemed, if it was.
    pub redeemed_at: Option<DateTime<Utc>>,
}

/// The outcome of a token request with a code that fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeError {
    /// The error for the client.
    pub error: OAuthError,
    /// The code was used before: revoke every grant issued from it (RFC 9700 §4.2.4).
    pub revoke_issued: bool,
}

impl AuthorizationCode {
    /// Redeems the code at `now` for `client_id`, which sent `redirect_uri` and `verifier`:
    /// what the owner consented to, or why not. Marks the code used in every case that
    /// reached the PKCE check, so it is never redeemed twice.
    pub fn redeem(
        &mut self,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: &str,
        now: DateTime<Utc>,
    ) -> Result<GrantSpec, CodeError> {
        let fail = |description: &str, revoke_issued| CodeError {
            error: OAuthError::new("invalid_grant", description),
            revoke_issued,
        };
        if self.redeemed_at.is_some() {
            return Err(fail("the code was used before", true));
        }
        if client_id != self.client_id {
            return Err(fail("the code was issued to another client", false));
        }
        if (now - self.issued_at).num_seconds() >= CODE_LIFETIME_SECS || now < self.issued_at {
            return Err(fail("the code expired", false));
        }
        if redirect_uri != Some(self.redirect_uri.as_str()) {
            return Err(fail(
                "redirect_uri differs from the authorization request",
                false,
            ));
        }
        self.redeemed_at = Some(now);
        verify_pkce_s256(verifier, &self.code_challenge).map_err(|error| CodeError {
            error,
            revoke_issued: false,
        })?;
        Ok(self.granted.clone())
    }
}

/// A family of refresh tokens: each use returns a new one and retires the old. Tokens read
/// `hrt1.<family id>.<secret>`; only the current secret's hash is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    /// The family's id (public part of its tokens).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// What new access tokens of the family grant.
    pub granted: GrantSpec,
    /// SHA-256 of the current token's secret.
    pub current: [u8; 32],
    /// How many rotations so far.
    pub generation: u32,
    /// No token of the family is accepted from this time.
    pub expires_at: DateTime<Utc>,
    /// Revoked (by the owner, RFC 7009, or reuse detection).
    pub revoked: bool,
}

impl fmt::Debug for RefreshFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshFamily")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("generation", &self.generation)
            .field("expires_at", &self.expires_at)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

impl RefreshFamily {
    /// A new family and its first token. `id` and `secret` come from the caller's randomness
    /// (see [`secret_from`]).
    pub fn start(
        id: String,
        secret: &str,
        client_id: String,
        granted: GrantSpec,
        expires_at: DateTime<Utc>,
    ) -> (RefreshFamily, String) {
        let family = RefreshFamily {
            current: secret_hash(secret),
            id,
            client_id,
            granted,
            generation: 0,
            expires_at,
            revoked: false,
        };
        let token = format!("hrt1.{}.{secret}", family.id);
        (family, token)
    }

    /// The family id of a presented refresh token (to look the family up).
    pub fn family_of(token: &str) -> Option<&str> {
        let rest = token.strip_prefix("hrt1.")?;
        rest.split_once('.').map(|(id, _)| id)
    }

    /// Rotates: checks `presented` for `client_id` at `now` and returns the next token, made
    /// with `fresh_secret`. A presented token that is not the current one (a stolen, replayed
    /// old token, or the legitimate client after a thief used it) revokes the whole family.
    pub fn rotate(
        &mut self,
        presented: &str,
        client_id: &str,
        fresh_secret: &str,
        now: DateTime<Utc>,
    ) -> Result<String, OAuthError> {
        let invalid = |d: &str| OAuthError::new("invalid_grant", d);
        if self.revoked {
            return Err(invalid("the refresh token was revoked"));
        }
        if now >= self.expires_at {
            return Err(invalid("the refresh token expired"));
        }
        if client_id != self.client_id {
            return Err(invalid("the refresh token was issued to another client"));
        }
        let secret = presented
            .strip_prefix("hrt1.")
            .and_then(|rest| rest.split_once('.'))
            .filter(|(id, _)| *id == self.id)
            .map(|(_, secret)| secret)
            .ok_or_else(|| invalid("not a refresh token of this family"))?;
        if !subtle_eq(&secret_hash(secret), &self.current) {
            self.revoked = true;
            return Err(invalid(
                "the refresh token was used before; its family is revoked",
            ));
        }
        self.current = secret_hash(fresh_secret);
        self.generation += 1;
        Ok(format!("hrt1.{}.{fresh_secret}", self.id))
    }
}

/// What token introspection (RFC 7662) reports about a grant token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introspection {
    /// Signed by this node, not revoked, and valid at the time asked.
    pub active: bool,
    /// The grant, when `active` (`scope` is [`scope_string`] of its rights, `client_id` its
    /// app, `jti` its id, `iat` and `exp` its times).
    pub grant: Option<crate::Grant>,
}

/// Introspects a token at `now`. An inactive token says nothing more (RFC 7662 §2.2).
pub fn introspect(
    token: &str,
    root: &crate::RootPublicKey,
    revocations: &crate::RevocationList,
    now: DateTime<Utc>,
) -> Introspection {
    let inactive = Introspection {
        active: false,
        grant: None,
    };
    let Ok(read) = crate::read(token, root) else {
        return inactive;
    };
    let limits = &read.grant.spec.limits;
    if revocations.is_revoked(&read.grant.id, &read.revocation_ids())
        || limits.not_before.is_some_and(|t| now < t)
        || limits.expires.is_some_and(|t| now >= t)
    {
        return inactive;
    }
    Introspection {
        active: true,
        grant: Some(read.grant),
    }
}

/// Authorization server metadata (RFC 8414) for an issuer URL, for the node to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMetadata {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `revocation_endpoint` (RFC 7009).
    pub revocation_endpoint: String,
    /// `introspection_endpoint` (RFC 7662).
    pub introspection_endpoint: String,
    /// `registration_endpoint` (RFC 7591), when dynamic registration is on.
    pub registration_endpoint: Option<String>,
    /// `scopes_supported`.
    pub scopes_supported: Vec<String>,
    /// `response_types_supported`: `code` only.
    pub response_types_supported: Vec<&'static str>,
    /// `grant_types_supported`.
    pub grant_types_supported: Vec<&'static str>,
    /// `code_challenge_methods_supported`: `S256` only.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `token_endpoint_auth_methods_supported`: public clients with PKCE, and confidential
    /// clients with a secret (HTTP Basic or in the form).
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `authorization_details_types_supported` (RFC 9396).
    pub authorization_details_types_supported: Vec<&'static str>,
}

impl ServerMetadata {
    /// The metadata of a node reachable at `issuer` (no trailing slash).
    pub fn for_issuer(issuer: &str, dynamic_registration: bool) -> ServerMetadata {
        let issuer = issuer.trim_end_matches('/');
        let at = |path: &str| format!("{issuer}{path}");
        ServerMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: at("/oauth/authorize"),
            token_endpoint: at("/oauth/token"),
            revocation_endpoint: at("/oauth/revoke"),
            introspection_endpoint: at("/oauth/introspect"),
            registration_endpoint: dynamic_registration.then(|| at("/oauth/register")),
            scopes_supported: Right::PLAIN.iter().map(Right::to_string).collect(),
            response_types_supported: vec!["code"],
            grant_types_supported: vec!["authorization_code", "refresh_token"],
            code_challenge_methods_supported: vec!["S256"],
            token_endpoint_auth_methods_supported: vec![
                "none",
                "client_secret_basic",
                "client_secret_post",
            ],
            authorization_details_types_supported: vec![AUTHORIZATION_DETAILS_TYPE],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn client() -> Client {
        Client {
            client_id: "notes".into(),
            name: "Notes".into(),
            redirect_uris: vec!["https://notes.example/cb".into()],
        }
    }

    fn request() -> AuthorizationRequest {
        AuthorizationRequest {
            response_type: Some("code".into()),
            client_id: Some("notes".into()),
            redirect_uri: Some("https://notes.example/cb".into()),
            scope: Some("memories.search model.chat".into()),
            state: Some("xyz".into()),
            code_challenge: Some(pkce_challenge(VERIFIER)),
            code_challenge_method: Some("S256".into()),
            authorization_details: vec![],
        }
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        assert_eq!(
            pkce_challenge(VERIFIER),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verify_pkce_s256(VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_ok());
        let wrong = format!("{}x", &VERIFIER[..VERIFIER.len() - 1]);
        assert!(verify_pkce_s256(&wrong, &pkce_challenge(VERIFIER)).is_err());
        assert!(verify_pkce_s256("short", &pkce_challenge("short")).is_err());
    }

    #[test]
    fn a_good_request_validates_into_what_the_app_asks() {
        let ok = validate_authorization_request(&request(), Some(&client())).unwrap();
        assert_eq!(ok.redirect_uri, "https://notes.example/cb");
        assert_eq!(ok.requested.app, "notes");
        assert_eq!(
            scope_string(&ok.requested.rights),
            "memories.search model.chat"
        );
    }

    #[test]
    fn client_and_redirect_errors_never_redirect() {
        let mut r = request();
        r.redirect_uri = Some("https://notes.example/cb/../evil".into());
        let e = validate_authorization_request(&r, Some(&client())).unwrap_err();
        assert_eq!(e.redirect_uri, None);
        let mut r = request();
        r.redirect_uri = Some("https://notes.example/CB".into());
        assert!(validate_authorization_request(&r, Some(&client())).is_err());
        let e = validate_authorization_request(&request(), None).unwrap_err();
        assert_eq!((e.error.code, e.redirect_uri), ("invalid_client", None));
    }

    #[test]
    fn other_errors_redirect_with_state() {
        for edit in [
            |r: &mut AuthorizationRequest| r.code_challenge = None,
            |r: &mut AuthorizationRequest| r.code_challenge_method = Some("plain".into()),
            |r: &mut AuthorizationRequest| r.response_type = Some("token".into()),
            |r: &mut AuthorizationRequest| r.scope = Some("records.delete".into()),
            |r: &mut AuthorizationRequest| r.scope = None,
        ] {
            let mut r = request();
            edit(&mut r);
            let e = validate_authorization_request(&r, Some(&client())).unwrap_err();
            assert_eq!(e.redirect_uri.as_deref(), Some("https://notes.example/cb"));
            assert_eq!(e.state.as_deref(), Some("xyz"));
        }
    }

    #[test]
    fn rich_authorization_details_become_restrictions() {
        let mut r = request();
        r.scope = None;
        r.authorization_details = vec![AuthorizationDetail {
            detail_type: AUTHORIZATION_DETAILS_TYPE.into(),
            actions: vec!["records.read".into()],
            sources: Some(vec!["whatsapp".into()]),
            redact: vec!["author".into()],
            ..AuthorizationDetail::default()
        }];
        let ok = validate_authorization_request(&r, Some(&client())).unwrap();
        assert_eq!(
            ok.requested.restrictions.sources,
            Some(["whatsapp".to_owned()].into())
        );
        assert!(ok.requested.restrictions.redact.contains(&Field::Author));
    }

    #[test]
    fn redirect_uris_follow_rfc_8252() {
        for good in [
            "https://app.example/cb",
            "http://127.0.0.1:8765/cb",
            "http://localhost/cb",
            "http://[::1]:80/",
            "com.example.app:/cb",
        ] {
            assert!(validate_redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "javascript:alert(1)",
            "myapp:/cb",
            "https://",
            "http://127.0.0.1.evil.example/",
            "https://a b/",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_are_single_use_bound_and_short_lived() {
        let t0 = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let code = AuthorizationCode {
            client_id: "notes".into(),
            redirect_uri: "https://notes.example/cb".into(),
            code_challenge: pkce_challenge(VERIFIER),
            granted: GrantSpec::new("notes", [Right::ModelChat]),
            issued_at: t0,
            redeemed_at: None,
        };
        let cb = Some("https://notes.example/cb");
        let later = t0 + chrono::Duration::seconds(5);
        assert!(code.clone().redeem("other", cb, VERIFIER, later).is_err());
        assert!(
            code.clone()
                .redeem("notes", Some("https://x/"), VERIFIER, later)
                .is_err()
        );
        let expired = t0 + chrono::Duration::seconds(CODE_LIFETIME_SECS);
        assert!(code.clone().redeem("notes", cb, VERIFIER, expired).is_err());
        let mut used = code.clone();
        assert!(used.redeem("notes", cb, VERIFIER, later).is_ok());
        let again = used.redeem("notes", cb, VERIFIER, later).unwrap_err();
        assert!(again.revoke_issued);
        let mut wrong = code;
        let e = wrong
            .redeem("notes", cb, &"a".repeat(43), later)
            .unwrap_err();
        assert!(!e.revoke_issued);
        assert!(wrong.redeem("notes", cb, VERIFIER, later).is_err());
    }

    #[test]
    fn refresh_rotation_retires_old_tokens_and_reuse_revokes_the_family() {
        let t0 = Utc::now();
        let far = t0 + chrono::Duration::days(30);
        let granted = GrantSpec::new("notes", [Right::ModelChat]);
        let (mut family, first) =
            RefreshFamily::start("fam1".into(), "s1", "notes".into(), granted, far);
        assert_eq!(RefreshFamily::family_of(&first), Some("fam1"));
        let second = family.rotate(&first, "notes", "s2", t0).unwrap();
        assert_eq!(family.generation, 1);
        assert!(family.rotate(&second, "evil", "s3", t0).is_err());
        assert!(!family.revoked);
        assert!(family.rotate(&first, "notes", "s3", t0).is_err());
        assert!(family.revoked);
        assert!(family.rotate(&second, "notes", "s4", t0).is_err());
    }

    #[test]
    fn consent_can_only_narrow() {
        let wide = GrantSpec::new("notes", [Right::MemoriesSearch, Right::ModelChat]);
        let mut narrow = GrantSpec::new("notes", [Right::MemoriesSearch]);
        narrow.restrictions.sources = Some(["whatsapp".to_owned()].into());
        narrow.restrictions.redact.insert(Field::Author);
        assert!(is_within(&narrow, &wide));
        assert!(!is_within(&wide, &narrow));
        let mut other_app = narrow.clone();
        other_app.app = "evil".into();
        assert!(!is_within(&other_app, &wide));
    }

    #[test]
    fn metadata_advertises_s256_and_code_only() {
        let m = ServerMetadata::for_issuer("https://node.local/", false);
        assert_eq!(m.token_endpoint, "https://node.local/oauth/token");
        assert_eq!(m.code_challenge_methods_supported, vec!["S256"]);
        assert_eq!(m.registration_endpoint, None);
    }
}

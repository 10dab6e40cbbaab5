//! The owner's sessions: the login check, the session cookie, the CSRF token and the
//! loopback-only rule.
//!
//! - Login: the passphrase is checked by opening the vault read-only with it (the vault's own
//!   unlock: scrypt, then an authenticated decryption of the key file, so nothing compares the
//!   passphrase byte by byte). One check runs at a time, and a failure waits a second.
//! - Session: a random 256-bit cookie (`HttpOnly; SameSite=Strict; Path=/dashboard`), kept
//!   only as its SHA-256, that expires after [`IDLE`] without a request.
//! - CSRF: each session has a random token; every POST must carry it (form field `csrf`, or
//!   the `x-hearth-csrf` header for the upload), compared in constant time. The login form
//!   has its own pre-session token (a short-lived cookie it must match).
//!
//! # Invariants
//!
//! - No dashboard handler runs for a peer that is not loopback unless the node was started
//!   with `--dashboard-remote` (checked in `guard`, before routing).
//! - The cookie value, the CSRF token and the passphrase never reach a log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

/// A session ends after this long without a request.
pub(crate) const IDLE: Duration = Duration::from_secs(15 * 60);
/// The session cookie.
pub(crate) const COOKIE: &str = "hearth_dashboard";
/// The login form's pre-session cookie.
pub(crate) const LOGIN_COOKIE: &str = "hearth_dashboard_login";
/// The header that carries the CSRF token on the upload.
pub(crate) const CSRF_HEADER: &str = "x-hearth-csrf";
/// Sessions kept at most (the oldest goes first).
const MAX_SESSIONS: usize = 64;

/// 32 random bytes as hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG failing is not recoverable; a zero token would be worse than a crash.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random number generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two secrets.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn key_of(cookie: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, cookie.as_bytes()).as_ref());
    key
}

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for the session.
pub(crate) fn session_cookie(value: &str) -> String {
    format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age={}",
        IDLE.as_secs()
    )
}

/// `Set-Cookie` that removes cookie `name`.
pub(crate) fn clear_cookie(name: &str) -> String {
    format!("{name}=; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=0")
}

/// `Set-Cookie` for the login form's token (ten minutes).
pub(crate) fn login_cookie(value: &str) -> String {
    format!("{LOGIN_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=600")
}

struct Session {
    csrf: String,
    last_seen: Instant,
    created: Instant,
}

/// The live sessions.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    /// Held while a passphrase is checked (scrypt is costly in memory).
    pub(crate) login: tokio::sync::Mutex<()>,
}

impl Sessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session: the cookie value (to set) and its CSRF token.
    pub(crate) fn start(&self) -> String {
        let cookie = random_token();
        let now = Instant::now();
        let mut map = self.map();
        map.retain(|_, s| now.duration_since(s.last_seen) < IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            key_of(&cookie),
            Session {
                csrf: random_token(),
                last_seen: now,
                created: now,
            },
        );
        cookie
    }

    /// The CSRF token of the session the cookie names, if it is live (and marks it used).
    pub(crate) fn touch(&self, cookie: &str) -> Option<String> {
        let key = key_of(cookie);
        let now = Instant::now();
        let mut map = self.map();
        match map.get_mut(&key) {
            Some(s) if now.duration_since(s.last_seen) < IDLE => {
                s.last_seen = now;
                Some(s.csrf.clone())
            }
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends the session the cookie names.
    pub(crate) fn end(&self, cookie: &str) {
        self.map().remove(&key_of(cookie));
    }
}

/// Whether a `Host` header names this machine's loopback (against DNS rebinding).
pub(crate) fn is_loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    matches!(name, "127.0.0.1" | "localhost" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_start_touch_and_end() {
        let s = Sessions::default();
        let c = s.start();
        assert_eq!(c.len(), 64);
        let csrf = s.touch(&c).unwrap();
        assert_eq!(csrf.len(), 64);
        assert_ne!(csrf, c);
        assert!(s.touch("nope").is_none());
        s.end(&c);
        assert!(s.touch(&c).is_none());
    }

    #[test]
    fn cookies_and_hosts_parse() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; hearth_dashboard=xyz".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        for (host, ok) in [
            ("127.0.0.1:8420", true),
            ("localhost:1", true),
            ("[::1]:8420", true),
            ("evil.example:8420", false),
            ("127.0.0.1.evil.example", false),
        ] {
            h.insert(header::HOST, host.parse().unwrap());
            assert_eq!(is_loopback_host(&h), ok, "{host}");
        }
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}

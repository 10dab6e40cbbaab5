//! Proof of possession: when a grant names an app key, every request carries an Ed25519
//! signature by that key over the request, so a stolen token alone is useless (as DPoP does for
//! OAuth, RFC 9449).
//!
//! # Wire format
//!
//! The signed message is UTF-8 text, lines joined by `\n`, no trailing newline:
//!
//! ```text
//! hearth-pop-v1
//! METHOD              (upper case, e.g. POST)
//! PATH                (path and query as sent, e.g. /v1/memories/search?limit=5)
//! hex(SHA-256(body))  (of the empty string for no body)
//! hex(SHA-256(token)) (binds the proof to this token)
//! TIMESTAMP           (seconds since the epoch, decimal)
//! NONCE               (16 to 64 characters of A-Z a-z 0-9 - _)
//! ```
//!
//! # Invariants
//!
//! - A proof is accepted once: its (key, nonce) pair is remembered until its timestamp leaves
//!   the window, and the window bounds how old or how far ahead a timestamp may be.
//! - A nonce is remembered only after its signature verified, so nobody without the key can
//!   burn an app's nonces.

use std::collections::HashMap;

use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};

use crate::{AppKey, GrantError};

/// A request's proof of possession and what it signs.
#[derive(Clone, Debug)]
pub struct Proof<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path and query, as sent.
    pub path: &'a str,
    /// SHA-256 of the request body.
    pub body_sha256: [u8; 32],
    /// When the app signed, seconds since the epoch.
    pub timestamp: i64,
    /// A fresh random value per request.
    pub nonce: &'a str,
    /// Ed25519 signature of [`proof_message`] by the app key.
    pub signature: [u8; 64],
}

/// SHA-256 of a request body, for [`Proof::body_sha256`].
pub fn body_sha256(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// The bytes an app signs for a request (see the module documentation).
pub fn proof_message(
    method: &str,
    path: &str,
    body_sha256: &[u8; 32],
    token: &str,
    timestamp: i64,
    nonce: &str,
) -> Vec<u8> {
    let token_hash = Sha256::digest(token.trim().as_bytes());
    format!(
        "hearth-pop-v1\n{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        hex::encode(body_sha256),
        hex::encode(token_hash),
        timestamp,
        nonce
    )
    .into_bytes()
}

fn valid_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Remembered (key, nonce) pairs, each until its timestamp leaves the window.
#[derive(Clone, Debug)]
pub struct NonceCache {
    window_secs: i64,
    capacity: usize,
    seen: HashMap<([u8; 32], String), i64>,
}

impl NonceCache {
    /// A cache accepting timestamps up to `window_secs` away from the verifier's clock, holding
    /// at most `capacity` live nonces (when full, new proofs are refused until old ones expire).
    pub fn new(window_secs: u32, capacity: usize) -> NonceCache {
        NonceCache {
            window_secs: i64::from(window_secs.max(1)),
            capacity,
            seen: HashMap::new(),
        }
    }

    /// How far a proof's timestamp may be from the verifier's clock.
    pub fn window_secs(&self) -> i64 {
        self.window_secs
    }

    /// Live nonces held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Verifies `proof` for `token` under `key` at `now`, and remembers its nonce.
    pub fn check(
        &mut self,
        key: &AppKey,
        token: &str,
        proof: &Proof<'_>,
        now: i64,
    ) -> Result<(), GrantError> {
        if !valid_nonce(proof.nonce) {
            return Err(GrantError::ProofInvalid("malformed nonce"));
        }
        if proof.timestamp.abs_diff(now) > self.window_secs.unsigned_abs() {
            return Err(GrantError::ProofInvalid("timestamp outside the window"));
        }
        let message = proof_message(
            proof.method,
            proof.path,
            &proof.body_sha256,
            token,
            proof.timestamp,
            proof.nonce,
        );
        key.verifying_key()
            .verify_strict(&message, &Signature::from_bytes(&proof.signature))
            .map_err(|_| GrantError::ProofInvalid("bad signature"))?;
        let entry = (key.to_bytes(), proof.nonce.to_owned());
        if self.seen.contains_key(&entry) {
            return Err(GrantError::ProofReplayed);
        }
        if self.seen.len() >= self.capacity {
            self.prune(now);
            if self.seen.len() >= self.capacity {
                return Err(GrantError::ProofInvalid("too many proofs in flight"));
            }
        }
        self.seen.insert(entry, proof.timestamp + self.window_secs);
        Ok(())
    }

    /// Forgets nonces whose timestamps left the window.
    pub fn prune(&mut self, now: i64) {
        self.seen.retain(|_, until| *until >= now);
    }
}

impl Default for NonceCache {
    /// A 60-second window and room for 100 000 live nonces.
    fn default() -> NonceCache {
        NonceCache::new(60, 100_000)
    }
}

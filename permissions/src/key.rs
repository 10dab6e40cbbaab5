//! The node's root key pair, and app keys for proof of possession.
//!
//! # Wire format
//!
//! - The root private key, as [`RootKey::expose_secret_bytes`] writes it for the caller to seal
//!   (`Vault::put_state`): the 5 bytes `HGRK1` then the 32-byte Ed25519 seed.
//! - The root public key, for apps: `ed25519/<64 hex digits>` (Biscuit's own notation, which
//!   biscuit-python and biscuit-wasm parse), or a PEM `PUBLIC KEY` block (SPKI).
//! - An app key: `ed25519/<64 hex digits>` or the bare 64 hex digits.
//!
//! # Invariants
//!
//! - The private key never appears in `Debug` output; reading it is an explicit
//!   `expose_secret_bytes` call, and the bytes it returns are zeroized on drop.

use std::fmt;
use std::str::FromStr;

use biscuit_auth::{Algorithm, KeyPair, PrivateKey, PublicKey};
use ed25519_dalek::VerifyingKey;
use zeroize::Zeroizing;

use crate::GrantError;

const ROOT_KEY_MAGIC: &[u8; 5] = b"HGRK1";

/// The node's root signing key: it signs the authority block of every grant.
pub struct RootKey(KeyPair);

impl RootKey {
    /// A new random key (done once, when the first grant is issued).
    pub fn generate() -> RootKey {
        RootKey(KeyPair::new_with_algorithm(Algorithm::Ed25519))
    }

    /// The key's secret bytes, for the caller to store sealed. Zeroized on drop.
    pub fn expose_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let seed = self.0.private().to_bytes();
        let mut out = Zeroizing::new(Vec::with_capacity(ROOT_KEY_MAGIC.len() + seed.len()));
        out.extend_from_slice(ROOT_KEY_MAGIC);
        out.extend_from_slice(&seed);
        out
    }

    /// Reads bytes written by [`RootKey::expose_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<RootKey, GrantError> {
        let bad = || GrantError::Invalid("the stored root key is not a Hearth root key".into());
        let seed = bytes.strip_prefix(ROOT_KEY_MAGIC).ok_or_else(bad)?;
        if seed.len() != 32 {
            return Err(bad());
        }
        let private = PrivateKey::from_bytes(seed, Algorithm::Ed25519).map_err(|_| bad())?;
        Ok(RootKey(KeyPair::from(&private)))
    }

    /// The public half, which verifies grants.
    pub fn public(&self) -> RootPublicKey {
        RootPublicKey(self.0.public())
    }

    pub(crate) fn key_pair(&self) -> &KeyPair {
        &self.0
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootKey(public {}, private redacted)", self.public())
    }
}

/// The node's root public key: what apps need to verify and attenuate grants.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RootPublicKey(PublicKey);

impl RootPublicKey {
    /// `ed25519/<hex>`, the notation Biscuit libraries parse.
    pub fn to_prefixed_hex(&self) -> String {
        format!("ed25519/{}", self.0.to_bytes_hex())
    }

    /// The bare 64 hex digits.
    pub fn to_hex(&self) -> String {
        self.0.to_bytes_hex()
    }

    /// A PEM `PUBLIC KEY` block (SPKI).
    pub fn to_pem(&self) -> Result<String, GrantError> {
        self.0
            .to_pem()
            .map_err(|e| GrantError::Invalid(format!("writing the public key as PEM: {e}")))
    }

    pub(crate) fn biscuit(&self) -> PublicKey {
        self.0
    }
}

impl fmt::Display for RootPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_prefixed_hex())
    }
}

impl fmt::Debug for RootPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootPublicKey({self})")
    }
}

impl FromStr for RootPublicKey {
    type Err = GrantError;

    /// Parses `ed25519/<hex>`, bare hex, or a PEM block.
    fn from_str(text: &str) -> Result<RootPublicKey, GrantError> {
        let text = text.trim();
        let bad = || GrantError::Invalid("not an Ed25519 public key".into());
        let key = if text.starts_with("-----BEGIN") {
            PublicKey::from_pem_with_algorithm(text, Algorithm::Ed25519).map_err(|_| bad())?
        } else {
            let hex = text.strip_prefix("ed25519/").unwrap_or(text);
            PublicKey::from_bytes_hex(hex, Algorithm::Ed25519).map_err(|_| bad())?
        };
        Ok(RootPublicKey(key))
    }
}

/// An app's Ed25519 public key: when a grant names one, every request must be signed by it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AppKey(VerifyingKey);

impl AppKey {
    /// The key with these 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<AppKey, GrantError> {
        VerifyingKey::from_bytes(bytes)
            .map(AppKey)
            .map_err(|_| GrantError::Invalid("not an Ed25519 public key".into()))
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl fmt::Display for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ed25519/{}", hex::encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppKey({self})")
    }
}

impl FromStr for AppKey {
    type Err = GrantError;

    /// Parses `ed25519/<64 hex>` or the bare 64 hex digits.
    fn from_str(text: &str) -> Result<AppKey, GrantError> {
        let bad = || {
            GrantError::Invalid(
                "an app key is an Ed25519 public key: ed25519/<64 hex digits> or the hex alone"
                    .into(),
            )
        };
        let hex = text.trim();
        let hex = hex.strip_prefix("ed25519/").unwrap_or(hex);
        let bytes: [u8; 32] = hex::decode(hex)
            .map_err(|_| bad())?
            .try_into()
            .map_err(|_| bad())?;
        AppKey::from_bytes(&bytes).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_key_round_trips_and_never_prints_its_secret() {
        let key = RootKey::generate();
        let bytes = key.expose_secret_bytes();
        let again = RootKey::from_secret_bytes(&bytes).unwrap();
        assert_eq!(again.public(), key.public());
        let secret_hex = hex::encode(&bytes[5..]);
        assert!(!format!("{key:?}").contains(&secret_hex));
        assert!(RootKey::from_secret_bytes(&bytes[1..]).is_err());
        assert!(RootKey::from_secret_bytes(b"HGRK1short").is_err());
    }

    #[test]
    fn public_keys_parse_in_every_published_form() {
        let public = RootKey::generate().public();
        for text in [
            public.to_prefixed_hex(),
            public.to_hex(),
            public.to_pem().unwrap(),
        ] {
            assert_eq!(text.parse::<RootPublicKey>().unwrap(), public);
        }
        assert!("ed25519/00".parse::<RootPublicKey>().is_err());
    }

    #[test]
    fn app_keys_parse_with_or_without_prefix() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let public = hex::encode(signing.verifying_key().to_bytes());
        let a: AppKey = public.parse().unwrap();
        let b: AppKey = format!("ed25519/{public}").parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), format!("ed25519/{public}"));
        assert!("ed25519/zz".parse::<AppKey>().is_err());
    }
}

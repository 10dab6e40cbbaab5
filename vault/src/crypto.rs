//! The vault's symmetric cryptography: the master key, its HKDF subkeys, and sealing.
//!
//! # Wire format
//!
//! A sealed value is `version (1 byte, = 1) || salt (16) || nonce (12) || ciphertext || tag (16)`.
//! The AEAD is AES-256-GCM from `ring`. The key that seals one value is
//! `HKDF-Expand(purpose key, info = "hearth seal v1" || salt)`, where the purpose key is
//! `HKDF(master key, info = purpose label)`. The associated data is
//! `purpose label || 0x00 || context`, where the context names the object (a record id, a blob id
//! and chunk number, an audit sequence number), so a sealed value moved to another row, another
//! purpose or another vault fails to open instead of decrypting into the wrong place.
//!
//! # Invariants
//!
//! - **Nonces never repeat under a key.** Every seal draws a fresh 128-bit salt and a fresh 96-bit
//!   nonce from the operating system's CSPRNG, and the salt selects a fresh AES key. A repeat needs
//!   the same 224 random bits twice: at 2^40 seals in one vault (far beyond any person's data) the
//!   chance is below 2^-180. No counter is kept, so restoring a backup, copying a vault or a crash
//!   can never rewind one.
//! - Keys are distinct per purpose (records, blobs, indexes, audit, secrets, backups), derived
//!   with HKDF from one random 256-bit master key; the keyed content hash (HMAC-SHA256) has a key
//!   of its own, so a hash reveals nothing without the master key.
//! - The master key lives in a [`secrecy::SecretBox`] and is zeroized on drop. Derived keys live
//!   in `ring`'s opaque key types, which hold no `Debug` output of their bytes.
//! - Opening verifies the tag before any plaintext is returned; a failed tag is an error, never
//!   garbage.

use std::fmt;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf::{self, HKDF_SHA256, KeyType, Prk};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretBox};

/// Length of the master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;
const VERSION: u8 = 1;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = aead::NONCE_LEN;
const TAG_LEN: usize = 16;
/// Bytes a sealed value adds to its plaintext.
pub const SEAL_OVERHEAD: usize = 1 + SALT_LEN + NONCE_LEN + TAG_LEN;

/// What a key is for; each purpose has its own subkey and its own associated-data label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Record bodies: text, names, metadata.
    Records,
    /// Attachment and other blob chunks.
    Blobs,
    /// Search indexes and vectors (memory layer).
    Indexes,
    /// Audit log entries.
    Audit,
    /// Secrets held for connectors and grants (OAuth tokens, signing keys).
    Secrets,
    /// Whole-vault backup streams.
    Backup,
}

impl Purpose {
    const ALL: [Purpose; 6] = [
        Purpose::Records,
        Purpose::Blobs,
        Purpose::Indexes,
        Purpose::Audit,
        Purpose::Secrets,
        Purpose::Backup,
    ];

    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Records => b"hearth records v1",
            Purpose::Blobs => b"hearth blobs v1",
            Purpose::Indexes => b"hearth indexes v1",
            Purpose::Audit => b"hearth audit v1",
            Purpose::Secrets => b"hearth secrets v1",
            Purpose::Backup => b"hearth backup v1",
        }
    }
}

/// The vault's random 256-bit master key. Zeroized on drop; `Debug` prints nothing of it.
pub struct MasterKey(SecretBox<[u8; MASTER_KEY_LEN]>);

impl MasterKey {
    /// Draws a new random master key.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = Box::new([0u8; MASTER_KEY_LEN]);
        SystemRandom::new()
            .fill(&mut bytes[..])
            .map_err(|_| CryptoError::Random)?;
        Ok(Self(SecretBox::new(bytes)))
    }

    /// Takes key bytes read from an unwrapped key file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; MASTER_KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::KeyLength)?;
        Ok(Self(SecretBox::new(Box::new(array))))
    }

    /// The key bytes, for wrapping with `age` only.
    pub fn dangerously_expose_bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Errors of the cryptographic layer. Deliberately carries no detail about why a tag failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The operating system's random source failed.
    #[error("the system random number generator failed")]
    Random,
    /// A key had the wrong length.
    #[error("key material has the wrong length")]
    KeyLength,
    /// The sealed value is malformed, was altered, or belongs elsewhere.
    #[error("ciphertext failed authentication")]
    Tampered,
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// Subkeys derived from the master key: one per [`Purpose`] and one for keyed content hashes.
pub struct Keys {
    /// Indexed by `Purpose as usize`.
    purposes: [Prk; Purpose::ALL.len()],
    content_mac: hmac::Key,
    audit_mac: hmac::Key,
    rng: SystemRandom,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Keys {
    /// Derives every subkey from the master key.
    pub fn derive(master: &MasterKey) -> Self {
        let prk = hkdf::Salt::new(HKDF_SHA256, b"hearth vault hkdf salt v1")
            .extract(master.dangerously_expose_bytes());
        let purposes = Purpose::ALL
            .map(|purpose| Prk::new_less_safe(HKDF_SHA256, &expand(&prk, &[purpose.label()], 32)));
        let content_mac = hmac::Key::new(
            hmac::HMAC_SHA256,
            &expand(&prk, &[b"hearth content mac v1"], 32),
        );
        let audit_mac = hmac::Key::new(
            hmac::HMAC_SHA256,
            &expand(&prk, &[b"hearth audit chain v1"], 32),
        );
        Self {
            purposes,
            content_mac,
            audit_mac,
            rng: SystemRandom::new(),
        }
    }

    fn prk(&self, purpose: Purpose) -> &Prk {
        &self.purposes[purpose as usize]
    }

    fn message_key(&self, purpose: Purpose, salt: &[u8]) -> LessSafeKey {
        let okm = expand(self.prk(purpose), &[b"hearth seal v1", salt], 32);
        // AES_256_GCM takes exactly 32 bytes, which `expand` returned.
        let unbound =
            UnboundKey::new(&aead::AES_256_GCM, &okm).unwrap_or_else(|_| unreachable_key_length());
        LessSafeKey::new(unbound)
    }

    /// Seals `plaintext` for `purpose`, bound to `context` (the object's identity).
    pub fn seal(
        &self,
        purpose: Purpose,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Sealed, CryptoError> {
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.push(VERSION);
        let mut salt_nonce = [0u8; SALT_LEN + NONCE_LEN];
        self.rng
            .fill(&mut salt_nonce)
            .map_err(|_| CryptoError::Random)?;
        out.extend_from_slice(&salt_nonce);
        let (salt, nonce) = salt_nonce.split_at(SALT_LEN);
        let key = self.message_key(purpose, salt);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Random)?;
        let header_len = out.len();
        out.extend_from_slice(plaintext);
        let aad = aad(purpose, context);
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::from(&aad), &mut out[header_len..])
            .map_err(|_| CryptoError::Tampered)?;
        out.extend_from_slice(tag.as_ref());
        Ok(Sealed(out))
    }

    /// Opens a sealed value; fails if it was altered or sealed for another purpose or context.
    pub fn open(
        &self,
        purpose: Purpose,
        context: &[u8],
        sealed: &Sealed,
    ) -> Result<Vec<u8>, CryptoError> {
        let bytes = sealed.as_bytes();
        if bytes.len() < SEAL_OVERHEAD || bytes[0] != VERSION {
            return Err(CryptoError::Tampered);
        }
        let salt = &bytes[1..1 + SALT_LEN];
        let nonce = &bytes[1 + SALT_LEN..1 + SALT_LEN + NONCE_LEN];
        let key = self.message_key(purpose, salt);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Tampered)?;
        let mut buf = bytes[1 + SALT_LEN + NONCE_LEN..].to_vec();
        let aad = aad(purpose, context);
        let plain_len = key
            .open_in_place(nonce, Aad::from(&aad), &mut buf)
            .map_err(|_| CryptoError::Tampered)?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }

    /// Keyed content hash (HMAC-SHA256) used for deduplication; never a plain hash of content.
    pub fn content_hash(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.content_mac);
        for part in parts {
            // Length-prefix each part so that ("ab","c") and ("a","bc") differ.
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        to_array(ctx.sign().as_ref())
    }

    /// MAC of one link of the audit chain.
    pub(crate) fn audit_mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        to_array(hmac::sign(&self.audit_mac, &length_prefixed(parts)).as_ref())
    }

    /// Constant-time check of an audit MAC.
    pub(crate) fn audit_mac_matches(&self, parts: &[&[u8]], expected: &[u8]) -> bool {
        hmac::verify(&self.audit_mac, &length_prefixed(parts), expected).is_ok()
    }

    /// Fills `buf` with random bytes.
    pub fn random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.rng.fill(buf).map_err(|_| CryptoError::Random)
    }
}

fn expand(prk: &Prk, info: &[&[u8]], len: usize) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(vec![0u8; len]);
    // HKDF-SHA256 can expand up to 255 * 32 bytes; we only ever ask for 32.
    prk.expand(info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .unwrap_or_else(|_| unreachable_key_length());
    out
}

#[cold]
fn unreachable_key_length() -> ! {
    // Only reachable if a constant above were changed to an invalid length.
    panic!("hearth-vault: invalid constant key length")
}

fn length_prefixed(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn aad(purpose: Purpose, context: &[u8]) -> Vec<u8> {
    let label = purpose.label();
    let mut aad = Vec::with_capacity(label.len() + 1 + context.len());
    aad.extend_from_slice(label);
    aad.push(0);
    aad.extend_from_slice(context);
    aad
}

fn to_array(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes[..32]);
    out
}

/// Sealed bytes. Only [`Keys::seal`] makes one from plaintext, so storage code, which takes only
/// this type, can never be handed readable content.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl Sealed {
    /// Wraps bytes read back from storage (they are opened, and so authenticated, before use).
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The sealed bytes, for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the sealed value is empty (never true for a value made by `seal`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive(&MasterKey::generate().unwrap())
    }

    #[test]
    fn seal_open_roundtrip_and_binding() {
        let keys = keys();
        let sealed = keys.seal(Purpose::Records, b"rec1", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + SEAL_OVERHEAD);
        assert!(!sealed.as_bytes().windows(5).any(|w| w == b"hello"));
        assert_eq!(
            keys.open(Purpose::Records, b"rec1", &sealed).unwrap(),
            b"hello"
        );
        // Wrong context, wrong purpose, wrong key: all refused.
        assert!(keys.open(Purpose::Records, b"rec2", &sealed).is_err());
        assert!(keys.open(Purpose::Blobs, b"rec1", &sealed).is_err());
        assert!(
            self::keys()
                .open(Purpose::Records, b"rec1", &sealed)
                .is_err()
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let keys = keys();
        let sealed = keys
            .seal(Purpose::Audit, b"7", b"some audit entry")
            .unwrap();
        for i in 0..sealed.len() * 8 {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i / 8] ^= 1 << (i % 8);
            let tampered = Sealed::from_stored(bytes);
            assert!(
                keys.open(Purpose::Audit, b"7", &tampered).is_err(),
                "bit {i}"
            );
        }
        for len in 0..sealed.len() {
            let truncated = Sealed::from_stored(sealed.as_bytes()[..len].to_vec());
            assert!(
                keys.open(Purpose::Audit, b"7", &truncated).is_err(),
                "len {len}"
            );
        }
    }

    #[test]
    fn seals_of_same_plaintext_differ() {
        let keys = keys();
        let a = keys.seal(Purpose::Records, b"x", b"same").unwrap();
        let b = keys.seal(Purpose::Records, b"x", b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn content_hash_is_keyed_and_length_prefixed() {
        let k1 = keys();
        let k2 = keys();
        assert_eq!(
            k1.content_hash(&[b"ab", b"c"]),
            k1.content_hash(&[b"ab", b"c"])
        );
        assert_ne!(
            k1.content_hash(&[b"ab", b"c"]),
            k1.content_hash(&[b"a", b"bc"])
        );
        assert_ne!(k1.content_hash(&[b"ab"]), k2.content_hash(&[b"ab"]));
    }

    #[test]
    fn debug_redacts() {
        let master = MasterKey::generate().unwrap();
        assert_eq!(format!("{master:?}"), "MasterKey(<redacted>)");
        assert_eq!(format!("{:?}", Keys::derive(&master)), "Keys(<redacted>)");
    }
}

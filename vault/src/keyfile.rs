//! Wrapping the master key with `age`.
//!
//! The passphrase copy is an age file with one scrypt stanza. Its work factor (`log_n`) is fixed
//! when the vault is created and written in the vault header; unwrapping accepts exactly that
//! work factor, so a vault made on a fast machine opens on a slow one (age would otherwise
//! calibrate a maximum to the slow machine and refuse), and a key file swapped for one with
//! another work factor is refused.
//!
//! age allows no other recipient beside a passphrase, so the optional X25519 identity for
//! unattended unlock gets a second wrapped copy in its own file.

use std::io::{Read, Write};
use std::iter;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::crypto::{MASTER_KEY_LEN, MasterKey};

/// Errors while wrapping or unwrapping the master key.
#[derive(Debug, thiserror::Error)]
pub enum KeyfileError {
    /// The passphrase (or identity) does not unlock this key file.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The identity does not match this vault's identity key file.
    #[error("the identity does not unlock this vault")]
    WrongIdentity,
    /// The key file's scrypt work factor differs from the one fixed in the vault header.
    #[error("key file work factor {found} differs from the vault's {expected}")]
    WorkFactorMismatch {
        /// Work factor in the vault header.
        expected: u8,
        /// Work factor found in the key file.
        found: u8,
    },
    /// The key file is not a well-formed age file holding a master key.
    #[error("malformed key file: {0}")]
    Malformed(String),
    /// The identity text is not an age X25519 identity.
    #[error("not an age identity (expected a line starting with AGE-SECRET-KEY-1)")]
    BadIdentity,
}

/// Lowest work factor accepted (tests use it); production vaults use [`DEFAULT_LOG_N`].
pub const MIN_LOG_N: u8 = 10;
/// Highest work factor accepted: 2^22 already needs 4 GiB of memory.
pub const MAX_LOG_N: u8 = 22;
/// Default scrypt work factor (2^18: about a second and 256 MiB on a laptop).
pub const DEFAULT_LOG_N: u8 = 18;

/// Wraps the master key under a passphrase with scrypt at work factor `log_n`.
pub fn wrap_with_passphrase(
    master: &MasterKey,
    passphrase: &SecretString,
    log_n: u8,
) -> Result<Vec<u8>, KeyfileError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(log_n);
    encrypt(master, &recipient)
}

/// Unwraps a passphrase key file made with work factor `log_n`.
pub fn unwrap_with_passphrase(
    file: &[u8],
    passphrase: &SecretString,
    log_n: u8,
) -> Result<MasterKey, KeyfileError> {
    let found = scrypt_work_factor(file)?;
    if found != log_n {
        return Err(KeyfileError::WorkFactorMismatch {
            expected: log_n,
            found,
        });
    }
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(log_n);
    decrypt(file, &identity).map_err(|e| match e {
        DecryptFailure::NoMatch => KeyfileError::WrongPassphrase,
        DecryptFailure::Other(msg) => KeyfileError::Malformed(msg),
    })
}

/// A new X25519 identity: the secret text to give the owner, and the public recipient string.
pub fn generate_identity() -> (SecretString, String) {
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    (identity.to_string(), public)
}

/// Wraps the master key to an X25519 recipient (`age1...`).
pub fn wrap_with_recipient(master: &MasterKey, recipient: &str) -> Result<Vec<u8>, KeyfileError> {
    let recipient: age::x25519::Recipient = recipient
        .parse()
        .map_err(|e: &str| KeyfileError::Malformed(e.to_string()))?;
    encrypt(master, &recipient)
}

/// Unwraps an identity key file with the identity's secret text (`AGE-SECRET-KEY-1...`; comment
/// lines starting with `#` are ignored).
pub fn unwrap_with_identity(
    file: &[u8],
    identity_text: &SecretString,
) -> Result<MasterKey, KeyfileError> {
    let line = identity_text
        .expose_secret()
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or(KeyfileError::BadIdentity)?;
    let identity: age::x25519::Identity = line.parse().map_err(|_| KeyfileError::BadIdentity)?;
    decrypt(file, &identity).map_err(|e| match e {
        DecryptFailure::NoMatch => KeyfileError::WrongIdentity,
        DecryptFailure::Other(msg) => KeyfileError::Malformed(msg),
    })
}

fn encrypt(master: &MasterKey, recipient: &dyn age::Recipient) -> Result<Vec<u8>, KeyfileError> {
    let encryptor = age::Encryptor::with_recipients(iter::once(recipient))
        .map_err(|e| KeyfileError::Malformed(e.to_string()))?;
    let mut out = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| KeyfileError::Malformed(e.to_string()))?;
    writer
        .write_all(master.dangerously_expose_bytes())
        .and_then(|()| writer.finish().map(|_| ()))
        .map_err(|e| KeyfileError::Malformed(e.to_string()))?;
    Ok(out)
}

enum DecryptFailure {
    NoMatch,
    Other(String),
}

fn decrypt(file: &[u8], identity: &dyn age::Identity) -> Result<MasterKey, DecryptFailure> {
    let decryptor = age::Decryptor::new(file).map_err(|e| DecryptFailure::Other(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(iter::once(identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                DecryptFailure::NoMatch
            }
            other => DecryptFailure::Other(other.to_string()),
        })?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(MASTER_KEY_LEN));
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| DecryptFailure::Other(e.to_string()))?;
    MasterKey::from_bytes(&bytes).map_err(|e| DecryptFailure::Other(e.to_string()))
}

/// Reads the work factor of the single scrypt stanza in an age header
/// (`-> scrypt <salt> <log_n>` on the line after the version line).
fn scrypt_work_factor(file: &[u8]) -> Result<u8, KeyfileError> {
    let malformed = || KeyfileError::Malformed("no scrypt stanza".into());
    let header_end = file
        .windows(4)
        .position(|w| w == b"\n---")
        .ok_or_else(malformed)?;
    let header = std::str::from_utf8(&file[..header_end]).map_err(|_| malformed())?;
    let stanza = header
        .lines()
        .find(|l| l.starts_with("-> scrypt "))
        .ok_or_else(malformed)?;
    stanza
        .split(' ')
        .nth(3)
        .and_then(|n| n.parse().ok())
        .ok_or_else(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn passphrase_roundtrip_and_wrong_passphrase() {
        let master = MasterKey::generate().unwrap();
        let file = wrap_with_passphrase(&master, &pass("correct horse"), MIN_LOG_N).unwrap();
        let back = unwrap_with_passphrase(&file, &pass("correct horse"), MIN_LOG_N).unwrap();
        assert_eq!(
            back.dangerously_expose_bytes(),
            master.dangerously_expose_bytes()
        );
        assert!(matches!(
            unwrap_with_passphrase(&file, &pass("wrong"), MIN_LOG_N),
            Err(KeyfileError::WrongPassphrase)
        ));
        assert!(matches!(
            unwrap_with_passphrase(&file, &pass("correct horse"), MIN_LOG_N + 1),
            Err(KeyfileError::WorkFactorMismatch {
                expected: 11,
                found: 10
            })
        ));
    }

    #[test]
    fn identity_roundtrip() {
        let master = MasterKey::generate().unwrap();
        let (secret, public) = generate_identity();
        let file = wrap_with_recipient(&master, &public).unwrap();
        let back = unwrap_with_identity(&file, &secret).unwrap();
        assert_eq!(
            back.dangerously_expose_bytes(),
            master.dangerously_expose_bytes()
        );
        let (other, _) = generate_identity();
        assert!(matches!(
            unwrap_with_identity(&file, &other),
            Err(KeyfileError::WrongIdentity)
        ));
    }
}

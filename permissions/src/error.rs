//! The crate's one error type.

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::quota::QuotaLimit;

/// Why a grant could not be issued, attenuated, read or verified.
///
/// Verification failures are deliberately coarse where detail would help an attacker:
/// [`GrantError::BadSignature`] covers a malformed token, an altered one and one signed by
/// another key alike. [`GrantError::code`] gives a stable name for each variant, which the node
/// maps onto HTTP statuses (see `docs/grants.md`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum GrantError {
    /// Not a well-formed token signed by this node's root key (malformed, altered, or signed by
    /// another key).
    #[error("the token is not a valid grant of this node")]
    BadSignature,
    /// The grant's expiry has passed.
    #[error("the grant expired at {0}")]
    Expired(DateTime<Utc>),
    /// The grant's not-before time is still ahead.
    #[error("the grant is not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    /// The grant, or a token it was derived from, was revoked.
    #[error("the grant was revoked")]
    Revoked,
    /// The grant was issued to another app.
    #[error("the grant was issued to another app")]
    WrongAudience,
    /// The grant is bound to an app key and the request carries no proof of possession.
    #[error("this grant needs requests signed by the app's key")]
    ProofMissing,
    /// The proof of possession was seen before (same key and nonce within the window).
    #[error("the request's proof of possession was used before")]
    ProofReplayed,
    /// The proof of possession does not verify: wrong key, altered request, stale time, or a
    /// malformed nonce.
    #[error("the request's proof of possession is not valid: {0}")]
    ProofInvalid(&'static str),
    /// A rate or volume limit of the grant is reached.
    #[error("over quota: {limit} (retry in {retry_after_secs} s)")]
    OverQuota {
        /// Which limit.
        limit: QuotaLimit,
        /// Seconds until the window that is full starts over.
        retry_after_secs: u64,
    },
    /// A right that is not in the vocabulary.
    #[error("unknown right {0:?}")]
    UnknownRight(String),
    /// The request is outside what a block of the token allows. `block` is the block whose
    /// check failed (0: the node's own restrictions; 1 and up: attenuation blocks), `None` when
    /// the checks could not be evaluated within the limits.
    #[error("the request is outside the grant: {check}")]
    CheckFailed {
        /// The failing block, if known.
        block: Option<u32>,
        /// The failing check, as Datalog.
        check: String,
    },
    /// A grant specification, attenuation or request that makes no sense (empty lists, a time
    /// range that ends before it starts, an unknown field, ...).
    #[error("{0}")]
    Invalid(String),
}

impl GrantError {
    /// A stable, short name for the error (`bad_signature`, `expired`, `over_quota`, ...), for
    /// the node's responses and the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            GrantError::BadSignature => "bad_signature",
            GrantError::Expired(_) => "expired",
            GrantError::NotYetValid(_) => "not_yet_valid",
            GrantError::Revoked => "revoked",
            GrantError::WrongAudience => "wrong_audience",
            GrantError::ProofMissing => "proof_missing",
            GrantError::ProofReplayed => "proof_replayed",
            GrantError::ProofInvalid(_) => "proof_invalid",
            GrantError::OverQuota { .. } => "over_quota",
            GrantError::UnknownRight(_) => "unknown_right",
            GrantError::CheckFailed { .. } => "check_failed",
            GrantError::Invalid(_) => "invalid_request",
        }
    }
}

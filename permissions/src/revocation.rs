//! The revocation list: plain data the caller persists and passes to every verification.
//!
//! Revoking a grant lists its id and its authority block's revocation id. Every token derived
//! from the grant by attenuation carries the same authority block, hence the same first
//! revocation id, so it is revoked with its parent. A single derived token can be revoked on
//! its own by listing the revocation id of its last block.

use std::collections::HashSet;

use crate::{GrantId, RevocationId};

/// Revoked grants and revocation ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationList {
    grants: HashSet<GrantId>,
    ids: HashSet<RevocationId>,
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> RevocationList {
        RevocationList::default()
    }

    /// Revokes a grant and, through its authority block's revocation id, every token derived
    /// from it.
    pub fn revoke_grant(&mut self, grant: GrantId, authority: RevocationId) {
        self.grants.insert(grant);
        self.ids.insert(authority);
    }

    /// Revokes the tokens carrying this block (one derived token and its own descendants).
    pub fn revoke_id(&mut self, id: RevocationId) {
        self.ids.insert(id);
    }

    /// Whether the grant `grant`, or a token with these block revocation ids, is revoked.
    pub fn is_revoked(&self, grant: &GrantId, ids: &[RevocationId]) -> bool {
        self.grants.contains(grant) || ids.iter().any(|id| self.ids.contains(id))
    }

    /// Whether the grant is revoked.
    pub fn is_grant_revoked(&self, grant: &GrantId) -> bool {
        self.grants.contains(grant)
    }

    /// Revoked grant ids, to persist.
    pub fn grants(&self) -> impl Iterator<Item = &GrantId> {
        self.grants.iter()
    }

    /// Revoked revocation ids, to persist.
    pub fn revocation_ids(&self) -> impl Iterator<Item = &RevocationId> {
        self.ids.iter()
    }
}

//! Fixtures shared by the grant tests: a node key, a typical grant, requests at a fixed time.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use hearth_permissions::{
    Field, GrantId, GrantSpec, IssuedGrant, Ledger, Request, RequestFilters, Right, RootKey, Scope,
    Verifier, issue,
};

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// The node's clock in these tests.
pub fn now() -> DateTime<Utc> {
    at("2025-06-01T12:00:00Z")
}

pub fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// A grant to the app `notes`: search and chat, WhatsApp and Telegram data of 2024, never Bob,
/// no authors, 20 results at most, for 30 days.
pub fn typical_spec() -> GrantSpec {
    let mut spec = GrantSpec::new("notes", [Right::MemoriesSearch, Right::ModelChat]);
    spec.restrictions.sources = Some(set(&["whatsapp", "telegram"]));
    spec.restrictions.since = Some(at("2024-01-01T00:00:00Z"));
    spec.restrictions.until = Some(at("2025-01-01T00:00:00Z"));
    spec.restrictions.exclude_participants = set(&["Bob"]);
    spec.restrictions.redact = [Field::Author].into();
    spec.restrictions.max_results = Some(20);
    spec.limits.expires = Some(now() + Duration::days(30));
    spec
}

pub struct Node {
    pub root: RootKey,
    pub verifier: Verifier,
    pub ledger: Ledger,
}

impl Node {
    pub fn new() -> Node {
        let root = RootKey::generate();
        let verifier = Verifier::new(root.public()).unwrap();
        Node {
            root,
            verifier,
            ledger: Ledger::default(),
        }
    }

    pub fn issue(&self, spec: &GrantSpec) -> IssuedGrant {
        issue(&self.root, spec, GrantId::generate().unwrap(), now()).unwrap()
    }

    pub fn verify(
        &mut self,
        token: &str,
        request: &Request<'_>,
    ) -> Result<Scope, hearth_permissions::GrantError> {
        self.verifier.verify(token, request, &mut self.ledger)
    }
}

/// A request by `notes` at [`now`] using `right` with the grant's filters.
pub fn request(right: Right) -> Request<'static> {
    Request {
        app: "notes",
        right,
        filters: RequestFilters::default(),
        now: now(),
        proof: None,
    }
}

pub fn search() -> Request<'static> {
    request(Right::MemoriesSearch)
}

/// The root public key as Biscuit's own type, to build hostile blocks by hand.
pub fn biscuit_public(root: &RootKey) -> biscuit_auth::PublicKey {
    root.public().to_prefixed_hex().parse().unwrap()
}

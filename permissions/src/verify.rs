//! Verification: a token and the request facts in, a [`Scope`] or a typed error out.
//!
//! # Order of checks
//!
//! 1. The token parses and every block's signature chains to the root key, else
//!    [`GrantError::BadSignature`].
//! 2. No block's revocation id, nor the grant id, is revoked, else [`GrantError::Revoked`].
//! 3. The grant's app is the calling app, else [`GrantError::WrongAudience`].
//! 4. Not before `not_before`, not at or after `expires`.
//! 5. With an app key in the grant: the proof of possession verifies and is fresh.
//! 6. The request's filters are completed with the grant's (a filter the request leaves out
//!    takes the grant's value; excluded participants and conversations and redacted fields are
//!    always the union of both), turned into request facts, and every check of every block
//!    must pass.
//! 7. Quotas: the request is counted only now, after everything else passed.
//!
//! # Invariants
//!
//! - A [`Scope`] is only ever made here, from a request that passed every check; it has no
//!   public constructor.
//! - The filters a Scope carries are exactly the facts the checks were run against.
//! - Filter values are opaque literals: the Scope hands them on as they came, to be compared
//!   for equality, never to be parsed as query syntax.

use std::collections::BTreeSet;

use biscuit_auth::builder::{self, Fact, Policy, Rule, Term};
use biscuit_auth::error::{FailedCheck, Logic, Token as BiscuitError};
use biscuit_auth::{AuthorizerBuilder, AuthorizerLimits};
use chrono::{DateTime, Utc};

use crate::pop::{NonceCache, Proof};
use crate::token::{RevocationId, datalog_error, date, grant_query, parse, read_grant, run_limits};
use crate::vocabulary::check_list;
use crate::{Field, Grant, GrantError, GrantId, QuotaBook, RevocationList, Right, RootPublicKey};

/// What a request asks for: the right it uses and the filters it states. A filter left `None`
/// takes the grant's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFilters {
    /// Only these sources.
    pub sources: Option<BTreeSet<String>>,
    /// Only data at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only data before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only data involving one of these participants.
    pub participants: Option<BTreeSet<String>>,
    /// Never data involving these participants (added to the grant's).
    pub exclude_participants: BTreeSet<String>,
    /// Only these conversations.
    pub conversations: Option<BTreeSet<String>>,
    /// Never these conversations (added to the grant's).
    pub exclude_conversations: BTreeSet<String>,
    /// The fields the app wants in results (`None`: all the grant leaves).
    pub fields: Option<BTreeSet<Field>>,
    /// At most this many results.
    pub max_results: Option<u32>,
}

/// One request, as the node sees it.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The app the caller authenticated as (OAuth client id).
    pub app: &'a str,
    /// The right the request uses.
    pub right: Right,
    /// The filters it states.
    pub filters: RequestFilters,
    /// The node's clock.
    pub now: DateTime<Utc>,
    /// The proof of possession, if the request carries one.
    pub proof: Option<Proof<'a>>,
}

/// The state verification reads and updates; plain data the caller keeps and persists.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Revoked grants and tokens.
    pub revocations: RevocationList,
    /// Proofs of possession seen.
    pub nonces: NonceCache,
    /// Request and token counters.
    pub quotas: QuotaBook,
}

/// Exactly what a verified request may read: the filters to apply inside the search, and
/// what to remove from results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    grant_id: GrantId,
    app: String,
    right: Right,
    sources: Option<BTreeSet<String>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    participants: Option<BTreeSet<String>>,
    exclude_participants: BTreeSet<String>,
    conversations: Option<BTreeSet<String>>,
    exclude_conversations: BTreeSet<String>,
    redacted: BTreeSet<Field>,
    max_results: Option<u32>,
    model_tokens_left: Option<u64>,
    proven: bool,
}

impl Scope {
    /// The grant the request used (for the audit log and token accounting).
    pub fn grant_id(&self) -> GrantId {
        self.grant_id
    }

    /// The app.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The right granted for this request.
    pub fn right(&self) -> &Right {
        &self.right
    }

    /// Only records of these sources (`None`: every source). Never `Some` of an empty set.
    pub fn sources(&self) -> Option<&BTreeSet<String>> {
        self.sources.as_ref()
    }

    /// Only records at or after this time.
    pub fn since(&self) -> Option<DateTime<Utc>> {
        self.since
    }

    /// Only records before this time.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }

    /// Only records involving one of these participants (`None`: anyone).
    pub fn participants(&self) -> Option<&BTreeSet<String>> {
        self.participants.as_ref()
    }

    /// No record involving any of these participants.
    pub fn exclude_participants(&self) -> &BTreeSet<String> {
        &self.exclude_participants
    }

    /// Only records of these conversations (`None`: every conversation).
    pub fn conversations(&self) -> Option<&BTreeSet<String>> {
        self.conversations.as_ref()
    }

    /// No record of these conversations.
    pub fn exclude_conversations(&self) -> &BTreeSet<String> {
        &self.exclude_conversations
    }

    /// Fields to remove from every result.
    pub fn redacted(&self) -> &BTreeSet<Field> {
        &self.redacted
    }

    /// Whether results may carry `field`.
    pub fn shows(&self, field: Field) -> bool {
        !self.redacted.contains(&field)
    }

    /// At most this many results.
    pub fn max_results(&self) -> Option<u32> {
        self.max_results
    }

    /// Model tokens the request may still spend today (`None`: no limit).
    pub fn model_tokens_left(&self) -> Option<u64> {
        self.model_tokens_left
    }

    /// Whether the request was signed by the grant's app key.
    pub fn proven(&self) -> bool {
        self.proven
    }

    /// Whether an item of data is within the scope: the same rules the query layer applies,
    /// for a last check on results and for tests. Participants are compared by exact value.
    pub fn admits(&self, item: &DataItem<'_>) -> bool {
        if let Some(sources) = &self.sources
            && !sources.contains(item.source)
        {
            return false;
        }
        if self.since.is_some_and(|since| item.at < since)
            || self.until.is_some_and(|until| item.at >= until)
        {
            return false;
        }
        let involved = || {
            item.author
                .into_iter()
                .chain(item.participants.iter().copied())
        };
        if let Some(wanted) = &self.participants
            && !involved().any(|p| wanted.contains(p))
        {
            return false;
        }
        if involved().any(|p| self.exclude_participants.contains(p)) {
            return false;
        }
        if let Some(wanted) = &self.conversations
            && !item.conversation.is_some_and(|c| wanted.contains(c))
        {
            return false;
        }
        if item
            .conversation
            .is_some_and(|c| self.exclude_conversations.contains(c))
        {
            return false;
        }
        true
    }
}

/// The parts of a record or memory that a [`Scope`] filters on.
#[derive(Clone, Copy, Debug)]
pub struct DataItem<'a> {
    /// Its source.
    pub source: &'a str,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Its author, if any.
    pub author: Option<&'a str>,
    /// Everyone else involved.
    pub participants: &'a [&'a str],
    /// Its conversation id, if any.
    pub conversation: Option<&'a str>,
}

/// Verifies grants for one node (one root key).
#[derive(Clone, Debug)]
pub struct Verifier {
    root: RootPublicKey,
    limits: AuthorizerLimits,
    grant_query: Rule,
    allow: Policy,
}

impl Verifier {
    /// A verifier for grants signed by `root`.
    pub fn new(root: RootPublicKey) -> Result<Verifier, GrantError> {
        Ok(Verifier {
            root,
            limits: run_limits(),
            grant_query: grant_query()?,
            allow: Policy::try_from("allow if true").map_err(|_| {
                GrantError::Invalid("the node's allow policy does not parse".into())
            })?,
        })
    }

    /// The root key grants must chain to.
    pub fn root(&self) -> &RootPublicKey {
        &self.root
    }

    /// Verifies `token` for `request`: the [`Scope`] to apply, or why not. Updates the nonce
    /// cache and, on success only, the quota counters of `ledger`.
    pub fn verify(
        &self,
        token: &str,
        request: &Request<'_>,
        ledger: &mut Ledger,
    ) -> Result<Scope, GrantError> {
        let biscuit = parse(token, &self.root)?;
        let grant = read_grant(&biscuit, &self.grant_query, &self.limits)?;
        let revocation_ids: Vec<RevocationId> = biscuit
            .revocation_identifiers()
            .into_iter()
            .map(RevocationId::from_bytes)
            .collect();
        if ledger.revocations.is_revoked(&grant.id, &revocation_ids) {
            return Err(GrantError::Revoked);
        }
        if !subtle_eq(grant.spec.app.as_bytes(), request.app.as_bytes()) {
            return Err(GrantError::WrongAudience);
        }
        let now = request.now;
        if let Some(not_before) = grant.spec.limits.not_before
            && now < not_before
        {
            return Err(GrantError::NotYetValid(not_before));
        }
        if let Some(expires) = grant.spec.limits.expires
            && now >= expires
        {
            return Err(GrantError::Expired(expires));
        }
        let proven = match &grant.spec.app_key {
            None => false,
            Some(key) => {
                let proof = request.proof.as_ref().ok_or(GrantError::ProofMissing)?;
                ledger.nonces.check(key, token, proof, now.timestamp())?;
                true
            }
        };
        let scope = complete(&grant, request, proven)?;
        let mut authorizer = AuthorizerBuilder::new().set_limits(self.limits.clone());
        for fact in request_facts(&scope, &grant, request)? {
            authorizer = authorizer.fact(fact).map_err(datalog_error)?;
        }
        let mut authorizer = authorizer
            .policy(self.allow.clone())
            .and_then(|a| a.build(&biscuit))
            .map_err(datalog_error)?;
        authorizer.authorize().map_err(check_error)?;
        let counter = ledger.quotas.entry(grant.id);
        counter.try_acquire(&grant.spec.limits, now.timestamp())?;
        let model_tokens_left = counter.tokens_left(&grant.spec.limits, now.timestamp());
        Ok(Scope {
            model_tokens_left,
            ..scope
        })
    }
}

/// The request's filters completed with the grant's.
fn complete(grant: &Grant, request: &Request<'_>, proven: bool) -> Result<Scope, GrantError> {
    let f = &request.filters;
    let g = &grant.spec.restrictions;
    for (what, list) in [
        ("source", &f.sources),
        ("participant", &f.participants),
        ("conversation", &f.conversations),
    ] {
        if let Some(list) = list {
            if list.is_empty() {
                return Err(GrantError::Invalid(format!(
                    "an empty {what} filter; leave it out to use the grant's"
                )));
            }
            check_list(what, list.iter())?;
        }
    }
    check_list("excluded participant", f.exclude_participants.iter())?;
    check_list("excluded conversation", f.exclude_conversations.iter())?;
    let since = f.since.or(g.since);
    let until = f.until.or(g.until);
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(GrantError::Invalid(
            "the time range ends before it starts".into(),
        ));
    }
    let fields: BTreeSet<Field> = match &f.fields {
        Some(fields) => fields.clone(),
        None => Field::ALL
            .into_iter()
            .filter(|field| !g.redact.contains(field))
            .collect(),
    };
    Ok(Scope {
        grant_id: grant.id,
        app: grant.spec.app.clone(),
        right: request.right.clone(),
        sources: f.sources.clone().or_else(|| g.sources.clone()),
        since,
        until,
        participants: f.participants.clone().or_else(|| g.participants.clone()),
        exclude_participants: g
            .exclude_participants
            .union(&f.exclude_participants)
            .cloned()
            .collect(),
        conversations: f.conversations.clone().or_else(|| g.conversations.clone()),
        exclude_conversations: g
            .exclude_conversations
            .union(&f.exclude_conversations)
            .cloned()
            .collect(),
        redacted: Field::ALL
            .into_iter()
            .filter(|field| !fields.contains(field))
            .collect(),
        max_results: f.max_results.or(g.max_results),
        model_tokens_left: None,
        proven,
    })
}

/// The request facts for the checks: exactly the Scope's filters. Times are rounded outwards
/// to whole seconds (`data_from` down, `data_until` up), so a check passing on the rounded
/// value passes on the exact one.
fn request_facts(
    scope: &Scope,
    grant: &Grant,
    request: &Request<'_>,
) -> Result<Vec<Fact>, GrantError> {
    let mut facts = Vec::new();
    let one = |name: &str, term: Term| builder::fact(name, &[term]);
    let s = |v: &str| Term::Str(v.to_owned());
    facts.push(one("right", s(&scope.right.to_string())));
    facts.push(one("app", s(request.app)));
    facts.push(one("time", date(crate::spec::floor_second(request.now)?)?));
    if scope.proven
        && let Some(key) = &grant.spec.app_key
    {
        facts.push(one("app_key", s(&key.to_string())));
    }
    for (name, list) in [
        ("source", &scope.sources),
        ("participant", &scope.participants),
        ("conversation", &scope.conversations),
    ] {
        for value in list.iter().flatten() {
            facts.push(one(name, s(value)));
        }
    }
    for (name, list) in [
        ("exclude_participant", &scope.exclude_participants),
        ("exclude_conversation", &scope.exclude_conversations),
    ] {
        for value in list {
            facts.push(one(name, s(value)));
        }
    }
    if let Some(since) = scope.since {
        facts.push(one("data_from", date(crate::spec::floor_second(since)?)?));
    }
    if let Some(until) = scope.until {
        facts.push(one("data_until", date(crate::spec::ceil_second(until)?)?));
    }
    for field in Field::ALL {
        if scope.shows(field) {
            facts.push(one("field", s(field.as_str())));
        }
    }
    if let Some(max) = scope.max_results {
        facts.push(one("max_results", Term::Integer(i64::from(max))));
    }
    Ok(facts)
}

fn check_error(error: BiscuitError) -> GrantError {
    match error {
        BiscuitError::FailedLogic(Logic::Unauthorized { checks, .. })
        | BiscuitError::FailedLogic(Logic::NoMatchingPolicy { checks }) => {
            match checks.into_iter().next() {
                Some(FailedCheck::Block(c)) => GrantError::CheckFailed {
                    block: Some(c.block_id),
                    check: c.rule,
                },
                Some(FailedCheck::Authorizer(c)) => GrantError::CheckFailed {
                    block: None,
                    check: c.rule,
                },
                None => GrantError::CheckFailed {
                    block: None,
                    check: "no policy allowed the request".into(),
                },
            }
        }
        BiscuitError::RunLimit(limit) => datalog_error(BiscuitError::RunLimit(limit)),
        other => GrantError::CheckFailed {
            block: None,
            check: format!("the checks could not be evaluated ({other})"),
        },
    }
}

/// Equality in time independent of where the inputs differ.
pub(crate) fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

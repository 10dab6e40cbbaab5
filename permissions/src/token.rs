//! Grant tokens: issuing (the authority block), attenuation (blocks of checks), and reading the
//! grant back from a token.
//!
//! # Wire format
//!
//! A token is a Biscuit (v3 blocks), base64url. Its authority block, signed by the node's root
//! key, holds two things generated from one [`GrantSpec`]:
//!
//! - facts `grant(KEY, VALUE)` describing the grant, read back by the node for defaults and
//!   limits: `("version", 1)`, `("id", "<hex>")`, `("app", APP)`, `("issued_at", DATE)`, one
//!   `("right", RIGHT)` per right, `("source", S)`, `("since", DATE)`, `("until", DATE)`,
//!   `("participant", P)`, `("exclude_participant", P)`, `("conversation", C)`,
//!   `("exclude_conversation", C)`, `("redact", FIELD)`, `("max_results", N)`,
//!   `("not_before", DATE)`, `("expires", DATE)`, `("per_minute", N)`, `("per_day", N)`,
//!   `("tokens_per_day", N)`, `("app_key", "ed25519/<hex>")`;
//! - checks over the request facts enforcing the same restrictions, in the very form an
//!   attenuation block uses (see [`narrowing_datalog`]).
//!
//! # Invariants
//!
//! - Every value enters Datalog as a typed term through the builder's parameters, never by
//!   formatting text into Datalog source: a source named `x"), right("records.export` is a
//!   string term with those characters.
//! - The authority block holds no fact named like a request fact (`right`, `source`, ...): those
//!   come from the node alone.
//! - The grant is read back with a query that sees only the authority block and the node's
//!   facts, so facts in attenuation blocks never count as grant facts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use biscuit_auth::builder::{self, Check, Fact, Rule, Term};
use biscuit_auth::{AuthorizerBuilder, AuthorizerLimits, Biscuit, BlockBuilder};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::spec::{from_secs, to_secs};
use crate::{
    AppKey, Field, Grant, GrantError, GrantId, GrantSpec, Limits, Narrowing, Restrictions, Right,
    RootKey, RootPublicKey,
};

/// Longest token accepted, in characters of base64.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

const FORMAT_VERSION: i64 = 1;

/// A grant token. A bearer credential: `Debug` hides it, reading it is an explicit
/// [`GrantToken::expose_secret`].
#[derive(Clone)]
pub struct GrantToken(SecretString);

impl GrantToken {
    /// Wraps a token's text.
    pub fn new(text: String) -> GrantToken {
        GrantToken(SecretString::from(text))
    }

    /// The token's text, to hand to the app (never to a log).
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for GrantToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GrantToken(redacted)")
    }
}

/// A Biscuit revocation id: the signature of a block. The authority block's id is shared by
/// every token derived from the grant, so listing it revokes them all.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RevocationId(Vec<u8>);

impl RevocationId {
    /// The id with these bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> RevocationId {
        RevocationId(bytes)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parses the hex form.
    pub fn from_hex(text: &str) -> Result<RevocationId, GrantError> {
        hex::decode(text.trim())
            .ok()
            .filter(|b| !b.is_empty())
            .map(RevocationId)
            .ok_or_else(|| GrantError::Invalid("not a revocation id".into()))
    }
}

impl fmt::Display for RevocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Debug for RevocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RevocationId({self})")
    }
}

/// A freshly issued grant.
#[derive(Debug)]
pub struct IssuedGrant {
    /// The grant as the token states it (times rounded to whole seconds).
    pub grant: Grant,
    /// The token for the app.
    pub token: GrantToken,
    /// The authority block's revocation id, to store with the grant.
    pub revocation_id: RevocationId,
}

/// Issues a grant: validates `spec`, and signs an authority block stating it with `root`.
pub fn issue(
    root: &RootKey,
    spec: &GrantSpec,
    id: GrantId,
    issued_at: DateTime<Utc>,
) -> Result<IssuedGrant, GrantError> {
    let spec = spec.validated()?;
    let issued_at = crate::spec::floor_second(issued_at)?;
    let mut builder = Biscuit::builder();
    for fact in grant_facts(id, issued_at, &spec)? {
        builder = builder.fact(fact).map_err(internal)?;
    }
    let mut checks = narrowing_checks(&Narrowing {
        rights: Some(spec.rights.clone()),
        restrictions: spec.restrictions.clone(),
        not_before: spec.limits.not_before,
        expires: spec.limits.expires,
    })?;
    checks.push(param_check(
        "check if app({app})",
        &[("app", string(&spec.app))],
    )?);
    if let Some(key) = &spec.app_key {
        checks.push(param_check(
            "check if app_key({key})",
            &[("key", string(&key.to_string()))],
        )?);
    }
    for check in checks {
        builder = builder.check(check).map_err(internal)?;
    }
    let biscuit = builder.build(root.key_pair()).map_err(internal)?;
    let revocation_id = biscuit
        .revocation_identifiers()
        .into_iter()
        .next()
        .map(RevocationId)
        .ok_or_else(|| GrantError::Invalid("a token without an authority block".into()))?;
    let token = GrantToken::new(biscuit.to_base64().map_err(internal)?);
    Ok(IssuedGrant {
        grant: Grant {
            id,
            issued_at,
            spec,
        },
        token,
        revocation_id,
    })
}

/// Derives a narrower token offline: appends a block of checks (see [`narrowing_datalog`]) to a
/// token signed by `root`. What apps do with biscuit-python or biscuit-wasm; here for Rust apps
/// and tests.
pub fn attenuate(
    token: &str,
    root: &RootPublicKey,
    narrowing: &Narrowing,
) -> Result<GrantToken, GrantError> {
    let biscuit = parse(token, root)?;
    let mut block = BlockBuilder::new();
    for check in narrowing_checks(narrowing)? {
        block = block.check(check).map_err(internal)?;
    }
    let derived = biscuit.append(block).map_err(internal)?;
    Ok(GrantToken::new(derived.to_base64().map_err(internal)?))
}

/// Verifies a token's signature and reads its grant; does not check validity, revocation or
/// any request (that is [`Verifier::verify`](crate::Verifier::verify)). For `grant explain`
/// and introspection.
pub fn read(token: &str, root: &RootPublicKey) -> Result<ReadToken, GrantError> {
    let biscuit = parse(token, root)?;
    let grant = read_grant(&biscuit, &grant_query()?, &run_limits())?;
    Ok(ReadToken { grant, biscuit })
}

/// A token whose signature verified, and the grant it states.
pub struct ReadToken {
    /// The grant of the authority block.
    pub grant: Grant,
    pub(crate) biscuit: Biscuit,
}

impl fmt::Debug for ReadToken {
    /// The grant and the number of blocks; never the token (its proof key would let anyone
    /// reading a log rebuild it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadToken")
            .field("grant", &self.grant)
            .field("blocks", &self.biscuit.block_count())
            .finish_non_exhaustive()
    }
}

impl ReadToken {
    /// Revocation ids of every block, the authority's first.
    pub fn revocation_ids(&self) -> Vec<RevocationId> {
        self.biscuit
            .revocation_identifiers()
            .into_iter()
            .map(RevocationId)
            .collect()
    }

    /// The Datalog source of each attenuation block, in order (without the authority block).
    pub fn attenuation_sources(&self) -> Vec<String> {
        (1..self.biscuit.block_count())
            .map(|i| {
                self.biscuit
                    .print_block_source(i)
                    .unwrap_or_else(|_| "(unreadable block)".into())
            })
            .collect()
    }
}

/// base64url, padded or not, with no stray bits in the last character.
const TOKEN_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parses and verifies a token. Any failure is [`GrantError::BadSignature`].
///
/// The token must also be in its one canonical encoding: protobuf lets a byte of framing change
/// without changing what is signed (an unknown field tag where a default value was written),
/// and such a token, though equivalent, is refused rather than accepted in a second spelling.
pub(crate) fn parse(token: &str, root: &RootPublicKey) -> Result<Biscuit, GrantError> {
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(GrantError::BadSignature);
    }
    let bytes = TOKEN_BASE64
        .decode(token)
        .map_err(|_| GrantError::BadSignature)?;
    let biscuit = Biscuit::from(&bytes, root.biscuit()).map_err(|_| GrantError::BadSignature)?;
    match biscuit.to_vec() {
        Ok(canonical) if canonical == bytes => Ok(biscuit),
        _ => Err(GrantError::BadSignature),
    }
}

/// The query reading the grant facts. It sees the authority block and the authorizer only.
pub(crate) fn grant_query() -> Result<Rule, GrantError> {
    Rule::try_from("data($k, $v) <- grant($k, $v)").map_err(internal)
}

/// Limits on evaluating a token's Datalog. Facts and iterations bound the work attenuation
/// blocks can cause; the time limit is a backstop, set well above the evaluation time of real
/// grants (tens of microseconds) so that a busy machine pausing the process does not turn into
/// refusals.
pub(crate) fn run_limits() -> AuthorizerLimits {
    AuthorizerLimits {
        max_facts: 1000,
        max_iterations: 100,
        max_time: std::time::Duration::from_millis(250),
    }
}

pub(crate) fn read_grant(
    biscuit: &Biscuit,
    query: &Rule,
    limits: &AuthorizerLimits,
) -> Result<Grant, GrantError> {
    let mut authorizer = AuthorizerBuilder::new()
        .set_limits(limits.clone())
        .build(biscuit)
        .map_err(datalog_error)?;
    let facts: Vec<Fact> = authorizer.query(query.clone()).map_err(datalog_error)?;
    grant_from_facts(&facts)
}

/// A Biscuit error while loading or evaluating a token that verified: the run limits (the
/// token's own blocks are too costly), or a block that does not load.
pub(crate) fn datalog_error(error: biscuit_auth::error::Token) -> GrantError {
    match error {
        biscuit_auth::error::Token::RunLimit(limit) => GrantError::CheckFailed {
            block: None,
            check: format!("the checks exceeded the run limits ({limit})"),
        },
        _ => GrantError::BadSignature,
    }
}

/// The authority's description of a grant.
fn grant_facts(
    id: GrantId,
    issued_at: DateTime<Utc>,
    spec: &GrantSpec,
) -> Result<Vec<Fact>, GrantError> {
    let mut out = Vec::new();
    let mut push = |key: &str, value: Term| out.push(builder::fact("grant", &[string(key), value]));
    push("version", Term::Integer(FORMAT_VERSION));
    push("id", string(&id.to_string()));
    push("app", string(&spec.app));
    push("issued_at", date(issued_at)?);
    for right in &spec.rights {
        push("right", string(&right.to_string()));
    }
    let r = &spec.restrictions;
    for (key, list) in [
        ("source", &r.sources),
        ("participant", &r.participants),
        ("conversation", &r.conversations),
    ] {
        for value in list.iter().flatten() {
            push(key, string(value));
        }
    }
    for (key, list) in [
        ("exclude_participant", &r.exclude_participants),
        ("exclude_conversation", &r.exclude_conversations),
    ] {
        for value in list {
            push(key, string(value));
        }
    }
    for field in &r.redact {
        push("redact", string(field.as_str()));
    }
    let l = &spec.limits;
    for (key, value) in [
        ("since", r.since),
        ("until", r.until),
        ("not_before", l.not_before),
        ("expires", l.expires),
    ] {
        if let Some(value) = value {
            push(key, date(value)?);
        }
    }
    for (key, value) in [
        ("max_results", r.max_results.map(i64::from)),
        ("per_minute", l.per_minute.map(i64::from)),
        ("per_day", l.per_day.map(i64::from)),
        (
            "tokens_per_day",
            l.tokens_per_day
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        ),
    ] {
        if let Some(value) = value {
            push(key, Term::Integer(value));
        }
    }
    if let Some(key) = &spec.app_key {
        push("app_key", string(&key.to_string()));
    }
    Ok(out)
}

/// The Datalog of the checks enforcing a [`Narrowing`], one check a line: what an app writing
/// its attenuation block by hand (biscuit-python, biscuit-wasm) would write.
pub fn narrowing_datalog(narrowing: &Narrowing) -> Result<String, GrantError> {
    Ok(narrowing_checks(narrowing)?
        .iter()
        .map(|check| format!("{check};\n"))
        .collect())
}

/// The checks that enforce a [`Narrowing`] against the request facts. The authority block
/// carries the same checks for the whole grant (plus `app` and `app_key`), so a node, and any
/// other Biscuit authorizer fed the request facts, enforces the grant from the token alone:
///
/// ```text
/// check if right($r), {rights}.contains($r);
/// check if source($s); check all source($s), {sources}.contains($s);
/// check if data_from($t), $t >= {since};
/// check if data_until($t), $t <= {until};
/// check if participant($p); check all participant($p), {participants}.contains($p);
/// check if exclude_participant({p});             // one per excluded participant
/// check if conversation($c); check all conversation($c), {conversations}.contains($c);
/// check if exclude_conversation({c});            // one per excluded conversation
/// reject if field($f), {redacted}.contains($f);
/// check if max_results($n), $n <= {max};
/// check if time($t), $t >= {not_before};
/// check if time($t), $t < {expires};
/// ```
pub(crate) fn narrowing_checks(narrowing: &Narrowing) -> Result<Vec<Check>, GrantError> {
    let r = narrowing.restrictions.validated()?;
    let mut checks = Vec::new();
    if let Some(rights) = &narrowing.rights {
        if rights.is_empty() {
            return Err(GrantError::Invalid(
                "an empty list of rights would allow nothing".into(),
            ));
        }
        checks.push(param_check(
            "check if right($r), {rights}.contains($r)",
            &[("rights", string_set(rights.iter().map(Right::to_string)))],
        )?);
    }
    for (pred, list) in [
        ("source", &r.sources),
        ("participant", &r.participants),
        ("conversation", &r.conversations),
    ] {
        if let Some(list) = list {
            checks.push(param_check(&format!("check if {pred}($x)"), &[])?);
            checks.push(param_check(
                &format!("check all {pred}($x), {{allowed}}.contains($x)"),
                &[("allowed", string_set(list.iter().cloned()))],
            )?);
        }
    }
    for (pred, list) in [
        ("exclude_participant", &r.exclude_participants),
        ("exclude_conversation", &r.exclude_conversations),
    ] {
        for value in list {
            checks.push(param_check(
                &format!("check if {pred}({{value}})"),
                &[("value", string(value))],
            )?);
        }
    }
    if let Some(since) = r.since {
        checks.push(param_check(
            "check if data_from($t), $t >= {since}",
            &[("since", date(since)?)],
        )?);
    }
    if let Some(until) = r.until {
        checks.push(param_check(
            "check if data_until($t), $t <= {until}",
            &[("until", date(until)?)],
        )?);
    }
    if !r.redact.is_empty() {
        checks.push(param_check(
            "reject if field($f), {redacted}.contains($f)",
            &[(
                "redacted",
                string_set(r.redact.iter().map(|f| f.as_str().to_owned())),
            )],
        )?);
    }
    if let Some(max) = r.max_results {
        checks.push(param_check(
            "check if max_results($n), $n <= {max}",
            &[("max", Term::Integer(i64::from(max)))],
        )?);
    }
    let not_before = narrowing
        .not_before
        .map(crate::spec::ceil_second)
        .transpose()?;
    let expires = narrowing
        .expires
        .map(crate::spec::floor_second)
        .transpose()?;
    if let Some(t) = not_before {
        checks.push(param_check(
            "check if time($t), $t >= {not_before}",
            &[("not_before", date(t)?)],
        )?);
    }
    if let Some(t) = expires {
        checks.push(param_check(
            "check if time($t), $t < {expires}",
            &[("expires", date(t)?)],
        )?);
    }
    Ok(checks)
}

fn param_check(source: &str, params: &[(&str, Term)]) -> Result<Check, GrantError> {
    let mut check = Check::try_from(source).map_err(internal)?;
    for (name, term) in params {
        check.set(name, term.clone()).map_err(internal)?;
    }
    Ok(check)
}

fn string(value: &str) -> Term {
    Term::Str(value.to_owned())
}

fn string_set(values: impl Iterator<Item = String>) -> Term {
    Term::Set(values.map(Term::Str).collect())
}

pub(crate) fn date(t: DateTime<Utc>) -> Result<Term, GrantError> {
    Ok(Term::Date(to_secs(t)?))
}

/// Reads the `grant(KEY, VALUE)` facts back into a [`Grant`]. Fails closed: an unknown key, a
/// repeated single value or a wrong type is an error, never ignored.
fn grant_from_facts(facts: &[Fact]) -> Result<Grant, GrantError> {
    let bad = |why: &str| GrantError::Invalid(format!("the grant token is not understood: {why}"));
    let mut single: BTreeMap<&str, &Term> = BTreeMap::new();
    let mut lists: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for fact in facts {
        let [Term::Str(key), value] = fact.predicate.terms.as_slice() else {
            return Err(bad("a grant fact of the wrong shape"));
        };
        match key.as_str() {
            "right"
            | "source"
            | "participant"
            | "conversation"
            | "exclude_participant"
            | "exclude_conversation"
            | "redact" => {
                let Term::Str(value) = value else {
                    return Err(bad("a list value that is not a string"));
                };
                lists.entry(key.as_str()).or_default().push(value);
            }
            "version" | "id" | "app" | "issued_at" | "since" | "until" | "max_results"
            | "not_before" | "expires" | "per_minute" | "per_day" | "tokens_per_day"
            | "app_key" => {
                if single.insert(key.as_str(), value).is_some() {
                    return Err(bad("a repeated grant fact"));
                }
            }
            _ => return Err(bad("an unknown grant fact")),
        }
    }
    if single.get("version") != Some(&&Term::Integer(FORMAT_VERSION)) {
        return Err(bad("an unknown grant version"));
    }
    let text = |key: &str| -> Result<Option<&str>, GrantError> {
        match single.get(key) {
            None => Ok(None),
            Some(Term::Str(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(bad("a value of the wrong type")),
        }
    };
    let time = |key: &str| -> Result<Option<DateTime<Utc>>, GrantError> {
        match single.get(key) {
            None => Ok(None),
            Some(Term::Date(secs)) => {
                let secs = i64::try_from(*secs).map_err(|_| bad("a date out of range"))?;
                from_secs(secs).map(Some)
            }
            Some(_) => Err(bad("a value of the wrong type")),
        }
    };
    let count = |key: &str| -> Result<Option<u64>, GrantError> {
        match single.get(key) {
            None => Ok(None),
            Some(Term::Integer(n)) => u64::try_from(*n)
                .map(Some)
                .map_err(|_| bad("a negative count")),
            Some(_) => Err(bad("a value of the wrong type")),
        }
    };
    let count32 = |key: &str| -> Result<Option<u32>, GrantError> {
        count(key)?
            .map(|n| u32::try_from(n).map_err(|_| bad("a count out of range")))
            .transpose()
    };
    let set = |key: &str| -> BTreeSet<String> {
        lists
            .get(key)
            .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default()
    };
    let optional_set = |key: &str| Some(set(key)).filter(|s| !s.is_empty());
    let id: GrantId = text("id")?.ok_or_else(|| bad("no id"))?.parse()?;
    let app = text("app")?.ok_or_else(|| bad("no app"))?.to_owned();
    let issued_at = time("issued_at")?.ok_or_else(|| bad("no issue time"))?;
    let rights = set("right")
        .iter()
        .map(|r| r.parse::<Right>())
        .collect::<Result<BTreeSet<_>, _>>()?;
    let redact = set("redact")
        .iter()
        .map(|f| f.parse::<Field>())
        .collect::<Result<BTreeSet<_>, _>>()?;
    let app_key = text("app_key")?.map(|k| k.parse::<AppKey>()).transpose()?;
    let spec = GrantSpec {
        app,
        rights,
        restrictions: Restrictions {
            sources: optional_set("source"),
            since: time("since")?,
            until: time("until")?,
            participants: optional_set("participant"),
            exclude_participants: set("exclude_participant"),
            conversations: optional_set("conversation"),
            exclude_conversations: set("exclude_conversation"),
            redact,
            max_results: count32("max_results")?,
        },
        limits: Limits {
            not_before: time("not_before")?,
            expires: time("expires")?,
            per_minute: count32("per_minute")?,
            per_day: count32("per_day")?,
            tokens_per_day: count("tokens_per_day")?,
        },
        app_key,
    };
    if spec.rights.is_empty() {
        return Err(bad("no rights"));
    }
    Ok(Grant {
        id,
        issued_at,
        spec,
    })
}

/// A Biscuit library error that should not happen for input this crate built itself.
fn internal(error: biscuit_auth::error::Token) -> GrantError {
    GrantError::Invalid(format!("building the token failed: {error}"))
}

//! Granular signed grants: which app may read which of the owner's data, call which model or
//! adapter, how often and until when; their verification into a [`Scope`]; revocation, quotas,
//! proof of possession; and the policy side of the OAuth 2 authorization server. Pure logic:
//! no HTTP, no storage, no clock (every function takes the time it needs).
//!
//! An app never sees the vault. It holds a grant: a [Biscuit] token signed by the node's root
//! key, which the node checks on every request and turns into the exact filters to apply
//! inside the search.
//!
//! # Vocabulary
//!
//! **Rights** ([`Right`]): `memories.search`, `records.read`, `records.export`, `model.chat`,
//! `model.embed`, `adapter.use(NAME)`, `persona.chat`. Anything else is
//! [`GrantError::UnknownRight`].
//!
//! **Restrictions** ([`Restrictions`]), with the memory layer's filter names: sources; a time
//! range of the data (`since` inclusive, `until` exclusive); participants and conversations
//! included or excluded; fields removed from results (`author`, `participants`,
//! `conversation`, `attachments`: [`Field`]); at most N results per call.
//!
//! **Limits** ([`Limits`]): not-before, expiry, requests per minute and per day, model tokens
//! per day.
//!
//! **Audience**: the app's id, and optionally the app's Ed25519 public key ([`AppKey`]); with
//! a key, every request must carry a signature by it ([`pop`]), so a stolen token alone is
//! useless.
//!
//! # The request facts the node provides
//!
//! For each request the node states, as Datalog facts, what the request will read; every check
//! of every block of the token runs against them:
//!
//! | fact | meaning |
//! | --- | --- |
//! | `right(R)` | the right the request uses, e.g. `right("memories.search")` |
//! | `source(S)` | one per source searched; none means every source |
//! | `data_from(D)`, `data_until(D)` | the data time range (absent: unbounded) |
//! | `participant(P)`, `conversation(C)` | one per included value; none means any |
//! | `exclude_participant(P)`, `exclude_conversation(C)` | one per excluded value |
//! | `field(F)` | one per field results will show |
//! | `max_results(N)` | the most results returned (absent: no limit) |
//! | `time(D)` | the node's clock |
//! | `app(A)` | the calling app |
//! | `app_key(K)` | the app key that signed the request, when the grant names one |
//!
//! A request states its filters or takes the grant's ([`RequestFilters`]); exclusions and
//! redactions are always the union of the request's and the grant's. The [`Scope`] carries
//! exactly the filters the facts stated.
//!
//! # Attenuation
//!
//! A Biscuit block appended by the holder can only add checks: the node trusts no fact from
//! it (its facts are visible to its own checks only). So narrowing is done by checks on the
//! request facts, in the very form the authority block uses for the grant itself
//! ([`narrowing_datalog`]), e.g. `check if right($r), {"memories.search"}.contains($r)` or
//! `check if source($s); check all source($s), {"whatsapp"}.contains($s)`. A derived token is
//! therefore never wider than its parent: every parent check still runs. Apps attenuate with
//! biscuit-python or biscuit-wasm using the root public key ([`RootPublicKey`]); Rust apps
//! can use [`attenuate`]. An app holding a narrowed token must state the narrowed filters in
//! its requests, since the node's defaults come from the grant alone.
//!
//! # Revocation
//!
//! By grant id ([`RevocationList::revoke_grant`]): the list holds the grant id and the
//! revocation id of the authority block, which every derived token shares, so revoking a grant
//! revokes everything derived from it. Checked on every verification. The list, the nonce cache
//! and the quota counters ([`Ledger`]) are plain data the caller persists.
//!
//! # Invariants
//!
//! - A [`Scope`] exists only as the result of a successful [`Verifier::verify`].
//! - Every value enters Datalog as a typed term, never formatted into Datalog text; and the
//!   Scope hands filter values on as opaque literals, never as query syntax.
//! - Grant facts are read only from the authority block; an attenuation block cannot add
//!   rights, sources or time.
//! - Quota is counted only for requests that passed every check.
//! - Secrets (the root private key, tokens, refresh tokens, codes) never appear in `Debug`
//!   output, and secret comparisons take constant time.
//! - A token is accepted in one encoding only: a byte changed anywhere, even one that leaves
//!   the signed content intact (protobuf framing), is [`GrantError::BadSignature`].
//! - No input (token bytes included) makes verification panic.
//!
//! [Biscuit]: https://www.biscuitsec.org

mod error;
mod explain;
mod key;
pub mod oauth;
pub mod pop;
mod quota;
mod revocation;
mod spec;
mod token;
mod verify;
mod vocabulary;

pub use error::GrantError;
pub use explain::{explain, explain_grant};
pub use key::{AppKey, RootKey, RootPublicKey};
pub use pop::{NonceCache, Proof};
pub use quota::{QuotaBook, QuotaLimit, RateCounter, Window};
pub use revocation::RevocationList;
pub use spec::{Grant, GrantSpec, Limits, Narrowing, Restrictions};
pub use token::{
    GrantToken, IssuedGrant, MAX_TOKEN_LEN, ReadToken, RevocationId, attenuate, issue,
    narrowing_datalog, read,
};
pub use verify::{DataItem, Ledger, Request, RequestFilters, Scope, Verifier};
pub use vocabulary::{Field, GrantId, MAX_LIST_LEN, MAX_LITERAL_LEN, Right};

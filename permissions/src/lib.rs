//! Granular signed grants (which app may read which memories, call which model or adapter, how
//! often, until when), their verification into a `Scope`, revocation and delegation; the policy
//! side of the OAuth2 authorization server; collective governance later. Pure logic, no HTTP.
//!
//! Empty for now: the grants issue fills it.

//! Memories and records under a grant: `POST /v1/memories/search`, the retrieval behind the
//! `persona` model, and `GET /v1/records`.
//!
//! A request states filters with the names of `hearth recall` (`sources`, `since`, `until`,
//! `participants`, `exclude_participants`, `conversations`, `exclude_conversations`,
//! `fields`); the verifier completes them with the grant's, runs every check of the token
//! against them, and the resulting [`Scope`] becomes the [`MemoryFilter`] applied inside the
//! search. Redacted fields are removed from every object.
//!
//! # Invariants
//!
//! - App retrievals go through [`hearth_memory::MemoryStream::search`]: they never refresh
//!   last-accessed times (only the owner's `recall` does).
//! - Every filter is applied inside the search; each result is checked once more against it.
//! - The audit entry (with the ids returned) is written before the answer leaves.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use hearth_memory::{Embedder, MemoryFilter, ModelError, Query, Recalled};
use hearth_permissions::{DataItem, Field, RequestFilters, Right, Scope};
use hearth_vault::RecordFilter;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::grants::{Call, UseRecord, audit_use, authorize, endpoint_of};
use super::state::NodeState;

/// `POST /v1/memories/search`, and the arguments of the MCP tool `search_memories`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchRequest {
    query: String,
    #[serde(default)]
    k: Option<u32>,
    #[serde(default)]
    sources: Option<Vec<String>>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    participants: Option<Vec<String>>,
    #[serde(default)]
    exclude_participants: Vec<String>,
    #[serde(default)]
    conversations: Option<Vec<String>>,
    #[serde(default)]
    exclude_conversations: Vec<String>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

impl SearchRequest {
    /// The query, `k`, and the filters it states.
    fn split(self) -> (String, Option<u32>, Filters) {
        let filters = Filters {
            sources: self.sources,
            since: self.since,
            until: self.until,
            participants: self.participants,
            exclude_participants: self.exclude_participants,
            conversations: self.conversations,
            exclude_conversations: self.exclude_conversations,
            fields: self.fields,
        };
        (self.query, self.k, filters)
    }
}

/// Filters as a request states them.
#[derive(Debug, Default)]
struct Filters {
    sources: Option<Vec<String>>,
    since: Option<String>,
    until: Option<String>,
    participants: Option<Vec<String>>,
    exclude_participants: Vec<String>,
    conversations: Option<Vec<String>>,
    exclude_conversations: Vec<String>,
    fields: Option<Vec<String>>,
}

impl Filters {
    fn request(self, max_results: Option<u32>) -> Result<RequestFilters, ApiError> {
        let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
        let fields = match self.fields {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|f| f.parse::<Field>())
                    .collect::<Result<BTreeSet<_>, _>>()
                    .map_err(|e| ApiError::invalid_param("fields", e.to_string()))?,
            ),
        };
        Ok(RequestFilters {
            sources: self.sources.map(set),
            since: self
                .since
                .as_deref()
                .map(|t| parse_time("since", t))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|t| parse_time("until", t))
                .transpose()?,
            participants: self.participants.map(set),
            exclude_participants: set(self.exclude_participants),
            conversations: self.conversations.map(set),
            exclude_conversations: set(self.exclude_conversations),
            fields,
            max_results,
        })
    }
}

/// RFC 3339 or `YYYY-MM-DD` (UTC midnight), as on the command line.
fn parse_time(param: &'static str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| ApiError::invalid_param(param, format!("{param} is RFC 3339 or YYYY-MM-DD")))
}

/// A body as JSON of type `T`: 400 with serde's reason, or the grant's 401 first when the call
/// has no grant at all (an app without a grant learns nothing about the body's shape).
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
    state: &NodeState,
    call: &Call,
    right: Right,
) -> Result<T, ApiError> {
    serde_json::from_slice(&call.body).map_err(|e| {
        if !call.has_token() {
            return authorize(state, call, right, RequestFilters::default())
                .err()
                .unwrap_or_else(|| ApiError::invalid("invalid_json", e.to_string()));
        }
        ApiError::invalid(
            "invalid_json",
            format!("the request body is not valid: {e}"),
        )
    })
}

/// A scope's restrictions as the memory filter applied inside the search (the library's one
/// mapping, shared with `hearth recall`).
pub(crate) fn filter_of(scope: &Scope) -> MemoryFilter {
    crate::memories::filter_of_scope(scope)
}

/// An embedder that answers with one vector computed beforehand (by the embedding worker),
/// so a search holds no model.
struct Computed(Vec<f32>);

impl Embedder for Computed {
    fn dim(&self) -> usize {
        self.0.len()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts.iter().map(|_| self.0.clone()).collect())
    }
}

/// The best `k` memories for `query` within `scope` (blocking).
pub(crate) fn retrieve(
    state: &NodeState,
    scope: &Scope,
    query: &str,
    k: usize,
) -> Result<Vec<Recalled>, ApiError> {
    let filter = filter_of(scope);
    if query.trim().is_empty() {
        return Err(ApiError::invalid_param("query", "the query is empty"));
    }
    let vector = state
        .workers
        .embed_blocking(scope.app(), vec![query.to_owned()])?
        .vectors
        .pop()
        .ok_or_else(|| ApiError::internal(&"the encoder returned no vector"))?;
    let mut q = Query::new(query);
    q.k = k;
    q.filter = filter.clone();
    q.candidates = q.candidates.max(k);
    let hits = state
        .memory()
        .search(&Computed(vector), &q)
        .map_err(|e| ApiError::internal(&e))?;
    // The filter ran inside the search; this only guards that promise.
    Ok(hits
        .into_iter()
        .filter(|h| filter.matches(&h.memory))
        .collect())
}

/// How many results a call may return: `k` (or 10) within the grant's and the node's caps.
fn k_of(scope: &Scope, requested: Option<u32>, cap: usize) -> usize {
    let k = requested.map_or(10, |k| k as usize);
    let k = scope.max_results().map_or(k, |m| k.min(m as usize));
    k.clamp(1, cap)
}

/// `POST /v1/memories/search` (blocking).
pub(crate) fn search(state: &NodeState, call: &Call) -> Result<Value, ApiError> {
    let body: SearchRequest = parse_body(state, call, Right::MemoriesSearch)?;
    search_with(state, call, body)
}

/// A memory search as `body` states it, under the call's grant (blocking): verified for
/// `memories.search` and the filters stated, audited with the ids returned.
pub(crate) fn search_with(
    state: &NodeState,
    call: &Call,
    body: SearchRequest,
) -> Result<Value, ApiError> {
    let (query, k, filters) = body.split();
    let scope = authorize(state, call, Right::MemoriesSearch, filters.request(k)?)?;
    let k = k_of(&scope, k, state.config.max_k);
    let hits = retrieve(state, &scope, &query, k)?;
    let ids: Vec<String> = hits.iter().map(|h| h.memory.id.to_string()).collect();
    let record = UseRecord {
        ids,
        outcome: "ok",
        ..UseRecord::default()
    };
    audit_use(state, &endpoint_of(call), &scope, &record)?;
    let data: Vec<Value> = hits.iter().map(|h| memory_json(h, &scope)).collect();
    Ok(json!({ "object": "list", "data": data }))
}

/// One memory as `hearth recall --json` writes it, less the fields the scope redacts.
fn memory_json(hit: &Recalled, scope: &Scope) -> Value {
    let mut value = serde_json::to_value(crate::memories::RecalledJson::from(hit))
        .unwrap_or_else(|_| Value::Object(Map::new()));
    if let Value::Object(o) = &mut value {
        for (field, key) in [
            (Field::Author, "author"),
            (Field::Participants, "participants"),
            (Field::Conversation, "conversation"),
        ] {
            if !scope.shows(field) {
                o.remove(key);
            }
        }
    }
    value
}

/// `GET /v1/records` query: a page size and the cursor of the previous page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordsQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<usize>,
    /// One source (repeat the request per source, or leave it to the grant).
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
}

/// `GET /v1/records` (blocking): records in time order within the grant, a page at a time.
/// Sources and the time range are applied by the vault's query; participants and conversations
/// (sealed, so not queryable) are checked on each opened record before anything is returned.
/// `next_cursor` continues the listing.
pub(crate) fn records(
    state: &NodeState,
    call: &Call,
    query: RecordsQuery,
) -> Result<Value, ApiError> {
    let filters = Filters {
        sources: query.source.map(|s| vec![s]),
        since: query.since,
        until: query.until,
        ..Filters::default()
    }
    .request(None)?;
    let scope = authorize(state, call, Right::RecordsRead, filters)?;
    let limit = query.limit.unwrap_or(50).clamp(1, state.config.max_page);
    let limit = scope.max_results().map_or(limit, |m| limit.min(m as usize));
    let filter = RecordFilter {
        sources: scope
            .sources()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default(),
        since: scope.since(),
        until: scope.until(),
        limit: None,
        offset: query.cursor.unwrap_or(0),
    };
    let mut data = Vec::new();
    let mut ids = Vec::new();
    let mut scanned = 0usize;
    let mut failure = None;
    let mut more = false;
    state
        .vault()
        .visit(&filter, |r| {
            if data.len() == limit {
                more = true;
                return false;
            }
            scanned += 1;
            match r {
                Ok(record) => {
                    if admits(&scope, &record.data) {
                        ids.push(record.id.to_string());
                        data.push(record_json(&record, &scope));
                    }
                    true
                }
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }
        })
        .map_err(|e| ApiError::internal(&e))?;
    if let Some(e) = failure {
        return Err(ApiError::internal(&e));
    }
    audit_use(
        state,
        &endpoint_of(call),
        &scope,
        &UseRecord {
            ids,
            outcome: "ok",
            ..UseRecord::default()
        },
    )?;
    let next = more.then(|| filter.offset + scanned);
    Ok(json!({ "object": "list", "data": data, "next_cursor": next }))
}

fn admits(scope: &Scope, data: &hearth_vault::RecordData) -> bool {
    let participants: Vec<&str> = data.participants.iter().map(|p| p.name.as_str()).collect();
    scope.admits(&DataItem {
        source: &data.source,
        at: data.occurred_at.to_utc(),
        author: data.author.as_ref().map(|a| a.name.as_str()),
        participants: &participants,
        conversation: data.conversation.as_ref().map(|c| c.id.as_str()),
    })
}

fn record_json(record: &hearth_vault::Record, scope: &Scope) -> Value {
    let d = &record.data;
    let mut o = Map::new();
    o.insert("id".into(), json!(record.id.to_string()));
    o.insert("source".into(), json!(d.source));
    o.insert("kind".into(), json!(d.kind.as_str()));
    o.insert("occurred_at".into(), json!(d.occurred_at.to_rfc3339()));
    if scope.shows(Field::Author) {
        o.insert("author".into(), json!(d.author.as_ref().map(|a| &a.name)));
    }
    if scope.shows(Field::Participants) {
        let names: Vec<&str> = d.participants.iter().map(|p| p.name.as_str()).collect();
        o.insert("participants".into(), json!(names));
    }
    if scope.shows(Field::Conversation) {
        o.insert(
            "conversation".into(),
            json!(d.conversation.as_ref().map(|c| &c.id)),
        );
    }
    if scope.shows(Field::Attachments) {
        let names: Vec<&str> = d.attachments.iter().map(|a| a.name.as_str()).collect();
        o.insert("attachments".into(), json!(names));
    }
    o.insert("text".into(), json!(d.text));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_dates_and_unknown_filters_are_refused() {
        assert_eq!(
            parse_time("since", "2024-03-01").unwrap().to_rfc3339(),
            "2024-03-01T00:00:00+00:00"
        );
        assert!(parse_time("since", "yesterday").is_err());
        assert!(serde_json::from_str::<SearchRequest>(r#"{"query":"x","source":["a"]}"#).is_err());
        let r: SearchRequest =
            serde_json::from_str(r#"{"query":"x","k":3,"sources":["whatsapp"],"fields":["text"]}"#)
                .unwrap();
        let (_, k, filters) = r.split();
        assert!(filters.request(k).is_err(), "text is no redactable field");
    }
}

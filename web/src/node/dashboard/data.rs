//! The dashboard's domain functions (blocking: run them on a blocking thread): what each page
//! shows and what each form does, over the vault, the memory stream, the model workers and the
//! library's grants. Handlers only call these and render the result.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hearth_memory::{Caller, MemoryFilter, Query};
use hearth_permissions::{Field, GrantId, GrantSpec, Right};
use hearth_vault::{AuditEntry, Status};

use super::super::state::NodeState;
use super::super::writes::{self, WorkerEmbedder};
use crate::WebError;
use crate::grants::{self, GrantRow, IssuedToken};
use crate::memories::RecalledJson;

/// Who the audit log names for the dashboard's writes.
pub(crate) const ACTOR: &str = "dashboard";

/// The overview page's figures.
pub(crate) struct Overview {
    pub(crate) status: Status,
    pub(crate) memories: usize,
    pub(crate) memories_by_source: BTreeMap<String, usize>,
    pub(crate) grants_active: usize,
    pub(crate) grants_total: usize,
    pub(crate) recent: Vec<AuditEntry>,
}

/// Counts by source, memories, grants, the latest audit entries and the vault's size.
pub(crate) fn overview(state: &NodeState) -> Result<Overview, WebError> {
    let (memories, memories_by_source) = {
        let stream = state.memory();
        let mut by = BTreeMap::new();
        for m in stream.iter() {
            *by.entry(m.source.clone()).or_insert(0) += 1;
        }
        (stream.len(), by)
    };
    let vault = state.vault();
    let status = vault.status()?;
    let grants = grants::list(&vault)?;
    let mut recent = vault.audit_list(Some(15))?;
    recent.reverse();
    Ok(Overview {
        status,
        memories,
        memories_by_source,
        grants_active: grants.iter().filter(|g| g.status == "active").count(),
        grants_total: grants.len(),
        recent,
    })
}

/// The timeline: `(bucket label, source → count)`, oldest first, and every source seen.
pub(crate) type Timeline = (Vec<(String, BTreeMap<String, usize>)>, BTreeSet<String>);

/// Timeline buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bucket {
    Week,
    Month,
}

/// Memories per bucket and source: `(bucket label, source → count)`, oldest first, with
/// empty buckets between the first and the last.
pub(crate) fn timeline(state: &NodeState, bucket: Bucket) -> Timeline {
    let stream = state.memory();
    let mut counts: BTreeMap<NaiveDate, BTreeMap<String, usize>> = BTreeMap::new();
    let mut sources = BTreeSet::new();
    for m in stream.iter() {
        let day = m.occurred_at.date_naive();
        let start = match bucket {
            Bucket::Week => {
                day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
            }
            Bucket::Month => day.with_day(1).unwrap_or(day),
        };
        sources.insert(m.source.clone());
        *counts
            .entry(start)
            .or_default()
            .entry(m.source.clone())
            .or_insert(0) += 1;
    }
    let (Some(first), Some(last)) = (counts.keys().next().copied(), counts.keys().last().copied())
    else {
        return (Vec::new(), sources);
    };
    let mut out = Vec::new();
    let mut at = first;
    while at <= last && out.len() < 520 {
        let label = match bucket {
            Bucket::Week => at.format("%Y-%m-%d").to_string(),
            Bucket::Month => at.format("%Y-%m").to_string(),
        };
        out.push((label, counts.remove(&at).unwrap_or_default()));
        at = match bucket {
            Bucket::Week => at + chrono::Duration::days(7),
            Bucket::Month => at
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(last + chrono::Duration::days(1)),
        };
    }
    (out, sources)
}

/// The owner's search: the query and the `hearth recall` filters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Search {
    pub(crate) query: String,
    pub(crate) k: usize,
    pub(crate) sources: Vec<String>,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) participants: Vec<String>,
    pub(crate) exclude_participants: Vec<String>,
    pub(crate) conversations: Vec<String>,
}

/// Recalls as the owner (refreshes last-accessed, as `hearth recall` does).
pub(crate) fn search(state: &NodeState, search: &Search) -> Result<Vec<RecalledJson>, WebError> {
    if search.query.trim().is_empty() {
        return Ok(Vec::new());
    }
    let embedder = WorkerEmbedder::new(state)?;
    let mut q = Query::new(search.query.clone());
    q.k = search.k.clamp(1, state.config.max_k);
    q.candidates = q.candidates.max(q.k);
    q.filter = MemoryFilter {
        sources: search.sources.clone(),
        since: search.since,
        until: search.until,
        participants: search.participants.clone(),
        exclude_participants: search.exclude_participants.clone(),
        conversations: search.conversations.clone(),
        exclude_conversations: Vec::new(),
    };
    let mut stream = state.memory_mut();
    let mut vault = state.vault();
    let hits = stream.recall(&mut vault, &embedder, &q, &Caller::Owner)?;
    Ok(hits.iter().map(RecalledJson::from).collect())
}

/// Forgets a memory (and the reflections citing it); audited as `memory.forget`.
pub(crate) fn forget(state: &NodeState, id: &str) -> Result<usize, WebError> {
    let id = id.parse().map_err(|_| WebError::Invalid {
        field: "id",
        reason: "not a memory id".into(),
    })?;
    Ok(writes::forget(state, &id, ACTOR)?.len())
}

/// The grants page: every grant, and the audit trail of one app.
pub(crate) struct GrantsPage {
    pub(crate) grants: Vec<GrantRow>,
    pub(crate) trail: Option<(String, Vec<AuditEntry>)>,
    pub(crate) sources: Vec<String>,
}

/// Every grant; with `app`, that app's audit trail (its uses and its grants' issue and
/// revocation), newest first, at most 100 entries.
pub(crate) fn grants_page(state: &NodeState, app: Option<&str>) -> Result<GrantsPage, WebError> {
    let vault = state.vault();
    let grants = grants::list(&vault)?;
    let sources = vault
        .status()?
        .by_source
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let trail = match app {
        None => None,
        Some(app) => {
            let mut entries: Vec<AuditEntry> = vault
                .audit_list(None)?
                .into_iter()
                .filter(|e| {
                    e.event.actor == app
                        || (e.event.action.starts_with("grant.")
                            && e.event.details.get("app").is_some_and(|a| a == app))
                })
                .collect();
            entries.reverse();
            entries.truncate(100);
            Some((app.to_owned(), entries))
        }
    };
    Ok(GrantsPage {
        grants,
        trail,
        sources,
    })
}

/// The grant form, as posted.
#[derive(Clone, Debug, Default)]
pub(crate) struct GrantForm {
    pub(crate) app: String,
    pub(crate) rights: Vec<String>,
    pub(crate) sources: Vec<String>,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) exclude_participants: Vec<String>,
    pub(crate) redact: Vec<String>,
    pub(crate) max_results: Option<u32>,
    /// Seconds from now; `None`: never.
    pub(crate) expires_in: Option<i64>,
}

impl GrantForm {
    /// The spec it asks for.
    pub(crate) fn spec(&self) -> Result<GrantSpec, WebError> {
        let invalid = |field: &'static str, reason: String| WebError::Invalid { field, reason };
        let rights = self
            .rights
            .iter()
            .map(|r| {
                r.parse::<Right>()
                    .map_err(|e| invalid("rights", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if rights.is_empty() {
            return Err(invalid("rights", "choose at least one right".into()));
        }
        let mut spec = GrantSpec::new(self.app.trim(), rights);
        let r = &mut spec.restrictions;
        r.sources =
            Some(self.sources.iter().cloned().collect::<BTreeSet<_>>()).filter(|s| !s.is_empty());
        r.since = self.since;
        r.until = self.until;
        r.exclude_participants = self.exclude_participants.iter().cloned().collect();
        r.redact = self
            .redact
            .iter()
            .map(|f| {
                f.parse::<Field>()
                    .map_err(|e| invalid("redact", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        r.max_results = self.max_results;
        spec.limits.expires = self
            .expires_in
            .map(|secs| Utc::now() + chrono::Duration::seconds(secs));
        Ok(spec.validated()?)
    }
}

/// Issues a grant from the form; the token is shown once.
pub(crate) fn issue(state: &NodeState, form: &GrantForm) -> Result<IssuedToken, WebError> {
    let spec = form.spec()?;
    grants::issue(&mut state.vault(), &spec, ACTOR)
}

/// Revokes a grant, in the vault and in the running verifier's list at once.
pub(crate) fn revoke(state: &NodeState, id: &str) -> Result<bool, WebError> {
    let id: GrantId = id.parse()?;
    let revoked = grants::revoke(&mut state.vault(), &id, ACTOR)?;
    state
        .ledger()
        .revocations
        .revoke_grant(revoked.id, revoked.revocation_id);
    Ok(!revoked.already)
}

/// The stored spec of a grant, to prefill the narrow form.
pub(crate) fn stored_spec(state: &NodeState, id: &str) -> Result<GrantSpec, WebError> {
    let id: GrantId = id.parse()?;
    let record = grants::record(&state.vault(), &id)?;
    record
        .spec
        .ok_or_else(|| WebError::Invalid {
            field: "grant",
            reason: "this grant was issued before specs were kept: issue a new one".into(),
        })?
        .to_spec()
}

/// Replaces a grant by a narrower one (same app); the old one is revoked at once.
pub(crate) fn narrow(
    state: &NodeState,
    id: &str,
    form: &GrantForm,
) -> Result<IssuedToken, WebError> {
    let id: GrantId = id.parse()?;
    let spec = form.spec()?;
    let (issued, revoked) = grants::narrow(&mut state.vault(), &id, &spec, ACTOR)?;
    state
        .ledger()
        .revocations
        .revoke_grant(revoked.id, revoked.revocation_id);
    Ok(issued)
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339; empty: none.
pub(crate) fn parse_instant(
    field: &'static str,
    text: &str,
) -> Result<Option<DateTime<Utc>>, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.to_utc()));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| WebError::Invalid {
            field,
            reason: format!("{text:?} is not a date (YYYY-MM-DD or RFC 3339)"),
        })
}

/// A comma-separated list, trimmed, empties dropped.
pub(crate) fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

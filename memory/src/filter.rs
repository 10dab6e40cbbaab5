//! Which memories a search may see: the same filter names grants and the HTTP API use.
//!
//! # Invariants
//!
//! - A filter is applied inside every retriever (an exact selection of its memories from the
//!   facets, tantivy query clauses, the graph walk's filter, the exact scan), never by dropping
//!   results after a top-k, so a search under a filter returns the best matches *within* it and
//!   never a memory outside it.
//! - `since` is inclusive and `until` exclusive, as everywhere in Hearth.
//! - Participants are compared trimmed and lower-cased against names and handles; a memory
//!   passes `participants` when it has any of them, and fails `exclude_participants` when it has
//!   any of those.
//! - `exclude_conversations` drops memories of those conversations (a memory without a
//!   conversation passes), as a grant's excluded conversations do.

use chrono::{DateTime, Utc};

use crate::model::{Memory, normalize_key};

/// Restricts a search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryFilter {
    /// Only these sources (all when empty).
    pub sources: Vec<String>,
    /// Only memories that occurred at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only memories that occurred before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only memories with at least one of these participants (all when empty).
    pub participants: Vec<String>,
    /// No memory with any of these participants.
    pub exclude_participants: Vec<String>,
    /// Only these conversations, by id (all when empty).
    pub conversations: Vec<String>,
    /// No memory of these conversations, by id.
    pub exclude_conversations: Vec<String>,
}

impl MemoryFilter {
    /// Whether the filter restricts anything.
    pub fn is_empty(&self) -> bool {
        self == &MemoryFilter::default()
    }

    /// The participant names, normalised.
    pub(crate) fn participant_keys(&self) -> Vec<String> {
        self.participants.iter().map(|p| normalize_key(p)).collect()
    }

    /// The excluded participant names, normalised.
    pub(crate) fn excluded_keys(&self) -> Vec<String> {
        self.exclude_participants
            .iter()
            .map(|p| normalize_key(p))
            .collect()
    }

    /// Whether a memory passes. The reference semantics: the index clauses must agree with it.
    pub fn matches(&self, memory: &Memory) -> bool {
        self.compile().matches(memory)
    }

    /// The filter with its participant names normalised once, for testing many memories.
    pub fn compile(&self) -> CompiledFilter<'_> {
        CompiledFilter {
            filter: self,
            participants: self.participant_keys(),
            excluded: self.excluded_keys(),
        }
    }
}

/// A [`MemoryFilter`] ready to test many memories without allocating.
#[derive(Clone, Debug)]
pub struct CompiledFilter<'a> {
    filter: &'a MemoryFilter,
    participants: Vec<String>,
    excluded: Vec<String>,
}

impl CompiledFilter<'_> {
    /// Whether a memory passes (as [`MemoryFilter::matches`]).
    pub fn matches(&self, memory: &Memory) -> bool {
        let f = self.filter;
        if !f.sources.is_empty() && !f.sources.contains(&memory.source) {
            return false;
        }
        let at = memory.occurred_at.with_timezone(&Utc);
        if f.since.is_some_and(|since| at < since) || f.until.is_some_and(|until| at >= until) {
            return false;
        }
        if !f.conversations.is_empty()
            && !memory
                .conversation
                .as_ref()
                .is_some_and(|c| f.conversations.contains(c))
        {
            return false;
        }
        if memory
            .conversation
            .as_ref()
            .is_some_and(|c| f.exclude_conversations.contains(c))
        {
            return false;
        }
        if !f.participants.is_empty() && !self.has_any(memory, &self.participants) {
            return false;
        }
        !self.has_any(memory, &self.excluded)
    }

    /// Whether any of the memory's names or handles equals one of `keys` (normalised).
    fn has_any(&self, memory: &Memory, keys: &[String]) -> bool {
        if keys.is_empty() {
            return false;
        }
        memory
            .participants
            .iter()
            .chain(memory.handles.iter())
            .chain(memory.author.iter())
            .any(|name| {
                let t = name.trim();
                if t.is_ascii() {
                    keys.iter().any(|k| t.eq_ignore_ascii_case(k))
                } else {
                    let lower = normalize_key(t);
                    keys.contains(&lower)
                }
            })
    }
}

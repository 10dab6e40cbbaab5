//! The filter fields of every live memory, held in RAM: which memories a filter lets through,
//! listed exactly and cheaply, for both retrievers.
//!
//! A narrow filter (two sources over the last year, one participant, a few conversations) lets
//! through a few percent of a large store. Asking the BM25 index for those memories walked the
//! posting lists of the filter's terms over the whole store and checked each document's time
//! afterwards; the vector side asked twice (how many, then which). Here each source's memories
//! are kept ordered by time, so a source and a time range are a binary search away, and each
//! conversation's and participant's memories are listed by slot: a filter's memories come from
//! its most selective field and are checked against the others with array lookups.
//!
//! Nothing here is stored: the lists are rebuilt from the memories at unlock.
//!
//! # Invariants
//!
//! - [`Facets::select`] returns exactly the live slots that [`MemoryFilter::matches`] accepts,
//!   with times compared in milliseconds as the BM25 index compares them, each once.
//! - After [`Facets::settle`], every list holds live slots only, the per-source and all-time
//!   lists in (time, slot) order and the others in slot order. Every mutating call of the stream
//!   settles before it returns (`save`), and a selection is only asked of a settled set.

/// A hash map with a fast hasher (the keys are ids and names from the vault, not chosen by
/// a remote party; the seed is random per process all the same).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::ops::Range;

use crate::filter::MemoryFilter;
use crate::model::Memory;

/// Marks a slot without a live memory (in `source`) or a memory without a conversation.
const NONE: u32 = u32::MAX;

/// The filter fields of the live memories.
#[derive(Default)]
pub(crate) struct Facets {
    /// Per slot: the memory's time in milliseconds.
    time: Vec<i64>,
    /// Per slot: the source's number, [`NONE`] for a slot without a live memory.
    source: Vec<u32>,
    /// Per slot: the conversation's number, [`NONE`] without one.
    conversation: Vec<u32>,
    source_ids: FastMap<String, u32>,
    conversation_ids: FastMap<String, u32>,
    /// Per source number: its slots in (time, slot) order.
    by_source: Vec<Vec<u32>>,
    /// Every live slot in (time, slot) order.
    by_time: Vec<u32>,
    /// Per conversation number: its slots in slot order.
    by_conversation: Vec<Vec<u32>>,
    /// Per participant key (as [`Memory::participant_keys`]): its slots in slot order.
    by_participant: FastMap<String, Vec<u32>>,
    /// Some time-ordered list received a slot out of order since the last settle.
    unsorted: bool,
    /// Slots removed since the last settle (still in the lists).
    removed: usize,
    live: usize,
    /// A buffer for participant keys (one allocation for all the memories added).
    scratch: String,
}

/// Where a selection's slots come from.
enum Source<'a> {
    /// Ranges of time-ordered lists.
    Ranges(Vec<(&'a [u32], Range<usize>)>),
    /// Slot-ordered lists whose union is wanted.
    Lists(Vec<&'a [u32]>),
}

impl Source<'_> {
    fn size(&self) -> usize {
        match self {
            Source::Ranges(r) => r.iter().map(|(_, r)| r.len()).sum(),
            Source::Lists(l) => l.iter().map(|l| l.len()).sum(),
        }
    }
}

/// Which of the filter's fields the chosen source already guarantees.
#[derive(Clone, Copy, Default)]
struct Covered {
    sources: bool,
    time: bool,
    conversations: bool,
    participants: bool,
}

impl Facets {
    /// Room for `slots` slots.
    pub(crate) fn with_capacity(slots: usize) -> Self {
        Self {
            time: Vec::with_capacity(slots),
            source: Vec::with_capacity(slots),
            conversation: Vec::with_capacity(slots),
            by_time: Vec::with_capacity(slots),
            ..Self::default()
        }
    }

    /// Live memories.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    fn grow(&mut self, slot: usize) {
        if self.source.len() <= slot {
            self.time.resize(slot + 1, 0);
            self.source.resize(slot + 1, NONE);
            self.conversation.resize(slot + 1, NONE);
        }
    }

    /// Adds a live memory (slots may come in any order; [`Facets::settle`] orders the lists).
    pub(crate) fn add(&mut self, slot: u32, memory: &Memory) {
        let s = slot as usize;
        self.grow(s);
        if self.source[s] != NONE {
            return;
        }
        let time = memory.occurred_at.timestamp_millis();
        self.time[s] = time;
        let source = intern(&mut self.source_ids, &memory.source);
        if source as usize == self.by_source.len() {
            self.by_source.push(Vec::new());
        }
        self.source[s] = source;
        let time_of = &self.time;
        let after = |list: &[u32]| {
            list.last()
                .is_none_or(|&l| (time_of[l as usize], l) < (time, slot))
        };
        let in_order = after(&self.by_source[source as usize]) && after(&self.by_time);
        self.unsorted |= !in_order;
        self.by_source[source as usize].push(slot);
        self.by_time.push(slot);
        if let Some(c) = &memory.conversation {
            let id = intern(&mut self.conversation_ids, c);
            if id as usize == self.by_conversation.len() {
                self.by_conversation.push(Vec::new());
            }
            self.conversation[s] = id;
            push_slot(
                &mut self.by_conversation[id as usize],
                slot,
                &mut self.unsorted,
            );
        }
        // The keys of `Memory::participant_keys`, without allocating one per name (this runs
        // for every memory at unlock).
        let mut key = std::mem::take(&mut self.scratch);
        for name in memory
            .participants
            .iter()
            .chain(memory.handles.iter())
            .chain(memory.author.iter())
        {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            key.clear();
            if name.is_ascii() {
                key.push_str(name);
                key.make_ascii_lowercase();
            } else {
                key.push_str(&name.to_lowercase());
            }
            let list = match self.by_participant.get_mut(key.as_str()) {
                Some(list) => list,
                None => self.by_participant.entry(key.clone()).or_default(),
            };
            // A name given twice (as participant and author) is listed once.
            if list.last() != Some(&slot) {
                push_slot(list, slot, &mut self.unsorted);
            }
        }
        self.scratch = key;
        self.live += 1;
    }

    /// Removes a slot (from the lists at the next [`Facets::settle`]).
    pub(crate) fn remove(&mut self, slot: u32) {
        if let Some(source) = self.source.get_mut(slot as usize)
            && *source != NONE
        {
            *source = NONE;
            self.removed += 1;
            self.live -= 1;
        }
    }

    /// Drops removed slots from the lists and puts them back in order.
    pub(crate) fn settle(&mut self) {
        let source = &self.source;
        let time = &self.time;
        let alive = |s: &u32| source[*s as usize] != NONE;
        if self.removed > 0 {
            for list in self
                .by_source
                .iter_mut()
                .chain(self.by_conversation.iter_mut())
            {
                list.retain(alive);
            }
            self.by_time.retain(alive);
            self.by_participant.retain(|_, list| {
                list.retain(alive);
                !list.is_empty()
            });
            self.removed = 0;
        }
        if self.unsorted {
            // Stable sorts: they merge sorted runs in linear time, and a list is mostly a
            // sorted run with the latest additions after it.
            let by_time = |a: &u32, b: &u32| (time[*a as usize], a).cmp(&(time[*b as usize], b));
            for list in &mut self.by_source {
                list.sort_by(by_time);
            }
            self.by_time.sort_by(by_time);
            for list in self
                .by_conversation
                .iter_mut()
                .chain(self.by_participant.values_mut())
            {
                list.sort();
                list.dedup();
            }
            self.unsorted = false;
        }
    }

    /// The range of a time-ordered list inside `[since, until)` (milliseconds).
    fn range(&self, list: &[u32], since: Option<i64>, until: Option<i64>) -> Range<usize> {
        let start = since.map_or(0, |t| list.partition_point(|&s| self.time[s as usize] < t));
        let end = until.map_or(list.len(), |t| {
            list.partition_point(|&s| self.time[s as usize] < t)
        });
        start..end.max(start)
    }

    /// Exactly the live slots the filter lets through, or `None` when listing them would mean
    /// going through more than `max` slots (a broad filter, better left to the indexes'
    /// own clauses). The slots come in no particular order.
    pub(crate) fn select(&self, filter: &MemoryFilter, max: usize) -> Option<Vec<u32>> {
        let since = filter.since.map(|t| t.timestamp_millis());
        let until = filter.until.map(|t| t.timestamp_millis());
        let timed = since.is_some() || until.is_some();
        let sources: Vec<u32> = distinct(&filter.sources)
            .filter_map(|s| self.source_ids.get(s).copied())
            .collect();
        let conversations: Vec<u32> = distinct(&filter.conversations)
            .filter_map(|c| self.conversation_ids.get(c).copied())
            .collect();
        let excluded_conversations: Vec<u32> = distinct(&filter.exclude_conversations)
            .filter_map(|c| self.conversation_ids.get(c).copied())
            .collect();
        let participant_keys = filter.participant_keys();
        let participants: Vec<&[u32]> = distinct(&participant_keys)
            .filter_map(|k| self.by_participant.get(k).map(Vec::as_slice))
            .collect();
        let excluded_keys = filter.excluded_keys();
        let excluded: Vec<&[u32]> = distinct(&excluded_keys)
            .filter_map(|k| self.by_participant.get(k).map(Vec::as_slice))
            .collect();

        // The candidate sources, each with what it guarantees; the smallest is listed.
        let mut options: Vec<(Source<'_>, Covered)> = Vec::new();
        if !filter.sources.is_empty() {
            let ranges = sources
                .iter()
                .map(|&s| {
                    let list = self.by_source[s as usize].as_slice();
                    (list, self.range(list, since, until))
                })
                .collect();
            options.push((
                Source::Ranges(ranges),
                Covered {
                    sources: true,
                    time: true,
                    ..Covered::default()
                },
            ));
        }
        if !filter.conversations.is_empty() {
            let lists = conversations
                .iter()
                .map(|&c| self.by_conversation[c as usize].as_slice())
                .collect();
            options.push((
                Source::Lists(lists),
                Covered {
                    conversations: true,
                    ..Covered::default()
                },
            ));
        }
        if !filter.participants.is_empty() {
            options.push((
                Source::Lists(participants.clone()),
                Covered {
                    participants: true,
                    ..Covered::default()
                },
            ));
        }
        let all = self.by_time.as_slice();
        options.push((
            Source::Ranges(vec![(all, self.range(all, since, until))]),
            Covered {
                time: true,
                ..Covered::default()
            },
        ));
        let (source, covered) = options
            .into_iter()
            .min_by_key(|(s, _)| s.size())
            .expect("the all-time option is always there");
        if source.size() > max {
            return None;
        }

        let keep = |slot: u32| -> bool {
            let s = slot as usize;
            let source_of = self.source[s];
            if source_of == NONE {
                return false;
            }
            if !covered.sources && !filter.sources.is_empty() && !sources.contains(&source_of) {
                return false;
            }
            if !covered.time && timed {
                let t = self.time[s];
                if since.is_some_and(|since| t < since) || until.is_some_and(|until| t >= until) {
                    return false;
                }
            }
            let conversation = self.conversation[s];
            if !covered.conversations
                && !filter.conversations.is_empty()
                && !conversations.contains(&conversation)
            {
                return false;
            }
            if conversation != NONE && excluded_conversations.contains(&conversation) {
                return false;
            }
            if !covered.participants
                && !filter.participants.is_empty()
                && !participants.iter().any(|l| l.binary_search(&slot).is_ok())
            {
                return false;
            }
            !excluded.iter().any(|l| l.binary_search(&slot).is_ok())
        };
        let mut out: Vec<u32> = Vec::with_capacity(source.size());
        match source {
            Source::Ranges(ranges) => {
                for (list, range) in ranges {
                    out.extend(list[range].iter().copied().filter(|&s| keep(s)));
                }
            }
            Source::Lists(lists) => {
                for list in &lists {
                    out.extend(list.iter().copied().filter(|&s| keep(s)));
                }
                if lists.len() > 1 {
                    out.sort_unstable();
                    out.dedup();
                }
            }
        }
        Some(out)
    }
}

/// The number of `name` in `ids`, given the next number when new.
fn intern(ids: &mut FastMap<String, u32>, name: &str) -> u32 {
    if let Some(&id) = ids.get(name) {
        return id;
    }
    let id = ids.len() as u32;
    ids.insert(name.to_owned(), id);
    id
}

/// Appends `slot` to a slot-ordered list, noting when it arrives out of order.
fn push_slot(list: &mut Vec<u32>, slot: u32, unsorted: &mut bool) {
    if list.last().is_some_and(|&l| l >= slot) {
        *unsorted = true;
    }
    list.push(slot);
}

/// The distinct values of a list, in first-seen order.
fn distinct<T: PartialEq>(values: &[T]) -> impl Iterator<Item = &T> {
    values
        .iter()
        .enumerate()
        .filter(|(i, v)| !values[..*i].contains(v))
        .map(|(_, v)| v)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use hearth_vault::Id;

    /// A memory of a small varied set (sources, times, participants, conversations).
    pub(crate) fn memory(i: u32) -> Memory {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
            + Duration::hours(i64::from((i * 7919) % 1000));
        Memory {
            id: Id::generate(),
            origin: crate::model::Origin::Record,
            text: format!("memory {i}"),
            occurred_at: at.fixed_offset(),
            created_at: at,
            last_accessed: at,
            time_known: true,
            importance: 1,
            importance_pinned: false,
            source: ["mail", "whatsapp", "telegram"][(i % 3) as usize].into(),
            author: Some(format!("Person{}", i % 5)),
            participants: vec![format!("Person{}", i % 7)],
            handles: Vec::new(),
            conversation: (!i.is_multiple_of(4)).then(|| format!("c{}", i % 11)),
            conversation_name: None,
            record_id: None,
            chunk: 0,
            evidence: Vec::new(),
            embedding: Vec::new(),
        }
    }

    /// Filters over [`memory`]'s set, each field alone and combined.
    pub(crate) fn filters() -> Vec<MemoryFilter> {
        let t =
            |h: i64| Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + Duration::hours(h));
        vec![
            MemoryFilter::default(),
            MemoryFilter {
                sources: vec!["mail".into(), "telegram".into(), "mail".into()],
                since: t(300),
                ..MemoryFilter::default()
            },
            MemoryFilter {
                since: t(100),
                until: t(400),
                ..MemoryFilter::default()
            },
            MemoryFilter {
                sources: vec!["nowhere".into()],
                ..MemoryFilter::default()
            },
            MemoryFilter {
                participants: vec![" PERSON3 ".into(), "person1".into()],
                exclude_conversations: vec!["c2".into()],
                until: t(700),
                ..MemoryFilter::default()
            },
            MemoryFilter {
                conversations: vec!["c3".into(), "c5".into()],
                exclude_participants: vec!["person2".into()],
                sources: vec!["whatsapp".into(), "mail".into()],
                ..MemoryFilter::default()
            },
            MemoryFilter {
                exclude_participants: vec!["person4".into()],
                ..MemoryFilter::default()
            },
        ]
    }

    fn check(facets: &Facets, memories: &[Option<Memory>]) {
        for filter in filters() {
            let mut got = facets.select(&filter, usize::MAX).unwrap();
            got.sort_unstable();
            let want: Vec<u32> = memories
                .iter()
                .enumerate()
                .filter(|(_, m)| m.as_ref().is_some_and(|m| filter.matches(m)))
                .map(|(s, _)| s as u32)
                .collect();
            assert_eq!(got, want, "{filter:?}");
        }
    }

    #[test]
    fn selections_match_the_filter_semantics() {
        let mut memories: Vec<Option<Memory>> = (0..500).map(|i| Some(memory(i))).collect();
        let mut facets = Facets::with_capacity(memories.len());
        // Out of slot order, to exercise the settling sort.
        for s in (0..500u32).rev() {
            facets.add(s, memories[s as usize].as_ref().unwrap());
        }
        facets.settle();
        check(&facets, &memories);
        for s in (0..500u32).step_by(3) {
            facets.remove(s);
            memories[s as usize] = None;
        }
        facets.settle();
        assert_eq!(facets.live(), memories.iter().flatten().count());
        check(&facets, &memories);
        let extra = memory(9);
        facets.add(500, &extra);
        memories.push(Some(extra));
        facets.settle();
        check(&facets, &memories);
    }

    #[test]
    fn a_broad_filter_is_left_to_the_indexes() {
        let memories: Vec<Memory> = (0..100).map(memory).collect();
        let mut facets = Facets::default();
        for (s, m) in memories.iter().enumerate() {
            facets.add(s as u32, m);
        }
        facets.settle();
        let broad = MemoryFilter {
            exclude_participants: vec!["person4".into()],
            ..MemoryFilter::default()
        };
        assert!(facets.select(&broad, 50).is_none());
        let narrow = MemoryFilter {
            conversations: vec!["c3".into()],
            ..MemoryFilter::default()
        };
        assert!(facets.select(&narrow, 50).is_some());
    }
}

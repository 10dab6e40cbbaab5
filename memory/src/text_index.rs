//! The BM25 index: tantivy over a [`SealedDirectory`].
//!
//! One document per memory: its slot (the dense number that also names its vector), its text
//! (tokenised: simple tokenizer, lower-cased, ASCII-folded, English-stemmed), and the filter
//! fields (source, participants, conversation, time in milliseconds). Only the slot is kept
//! beyond the inverted index (as a fast field), so the index holds no stored text.
//!
//! # Invariants
//!
//! - Queries are built programmatically from values: the query text is run through the field's
//!   tokenizer and each token becomes a term; filter values become exact terms and ranges. User
//!   text is never parsed as query syntax.
//! - Filter clauses are inside the query (scored 0), so a top-k is the top-k within the filter.
//! - After [`TextIndex::commit`], no segment holds a deleted document: segments with deletions
//!   are merged, which drops the deleted documents and every term left without a document, and
//!   the old segment files are deleted from the directory.
//! - Merges run only inside `commit` (the writer has no merge policy), so between calls no file
//!   is being written.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::collector::{FilterCollector, TopDocs};
use tantivy::indexer::NoMergePolicy;
use tantivy::query::{
    AllQuery, BitSetDocSet, BooleanQuery, ConstScoreQuery, ConstScorer, EmptyScorer, Occur, Query,
    Scorer, TermQuery, Weight,
};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, NumericOptions, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{BitSet, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::MemoryError;
use crate::filter::MemoryFilter;
use crate::model::Memory;
use crate::sealed_dir::SealedDirectory;

const TOKENIZER: &str = "hearth_text";
/// Bytes of indexing memory for the writer's one thread.
const WRITER_BUDGET: usize = 32 << 20;
/// More segments than this are merged together at commit.
const MAX_SEGMENTS: usize = 8;

struct Fields {
    slot: Field,
    text: Field,
    source: Field,
    participant: Field,
    conversation: Field,
    occurred: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let slot = b.add_u64_field("slot", NumericOptions::default().set_indexed().set_fast());
    let text = b.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    let source = b.add_text_field("source", STRING);
    let participant = b.add_text_field("participant", STRING);
    let conversation = b.add_text_field("conversation", STRING);
    let occurred = b.add_i64_field("occurred", NumericOptions::from(INDEXED).set_fast());
    (
        b.build(),
        Fields {
            slot,
            text,
            source,
            participant,
            conversation,
            occurred,
        },
    )
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

fn index_err(e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Index(e.to_string())
}

/// The BM25 index of the memories.
pub(crate) struct TextIndex {
    dir: SealedDirectory,
    index: Index,
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    f: Fields,
    /// Where each slot's document is in the reader's current segments (built on first use
    /// for each generation of the reader).
    docs: Mutex<Option<Arc<DocMap>>>,
}

impl TextIndex {
    /// Opens the index in `dir`, creating it when the directory is empty.
    pub(crate) fn open(dir: SealedDirectory) -> Result<Self, MemoryError> {
        let (schema, f) = schema();
        let index = if dir.files().is_empty() {
            Index::create(dir.clone(), schema, Default::default()).map_err(index_err)?
        } else {
            let index = Index::open(dir.clone()).map_err(index_err)?;
            if index.schema() != schema {
                return Err(MemoryError::Index(
                    "the stored index has another schema".into(),
                ));
            }
            index
        };
        index.tokenizers().register(TOKENIZER, analyzer());
        let writer = index
            .writer_with_num_threads(1, WRITER_BUDGET)
            .map_err(index_err)?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(index_err)?;
        Ok(Self {
            dir,
            index,
            writer,
            reader,
            f,
            docs: Mutex::new(None),
        })
    }

    /// The directory holding the files.
    pub(crate) fn directory(&self) -> &SealedDirectory {
        &self.dir
    }

    /// Adds a memory (visible after [`TextIndex::commit`]).
    pub(crate) fn add(&self, slot: u32, memory: &Memory) -> Result<(), MemoryError> {
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.f.slot, u64::from(slot));
        doc.add_text(self.f.text, &memory.text);
        doc.add_text(self.f.source, &memory.source);
        for key in memory.participant_keys() {
            doc.add_text(self.f.participant, key);
        }
        if let Some(c) = &memory.conversation {
            doc.add_text(self.f.conversation, c);
        }
        doc.add_i64(self.f.occurred, memory.occurred_at.timestamp_millis());
        self.writer.add_document(doc).map_err(index_err)?;
        Ok(())
    }

    /// Deletes a memory's document (gone from searches and terms after commit).
    pub(crate) fn delete(&self, slot: u32) {
        self.writer
            .delete_term(Term::from_field_u64(self.f.slot, u64::from(slot)));
    }

    /// Commits, then merges segments holding deletions (and too many small segments), deletes
    /// the files no longer used, and reloads the reader.
    pub(crate) fn commit(&mut self) -> Result<(), MemoryError> {
        self.writer.commit().map_err(index_err)?;
        let metas = self.index.searchable_segment_metas().map_err(index_err)?;
        let with_deletes: Vec<_> = metas
            .iter()
            .filter(|m| m.has_deletes())
            .map(|m| m.id())
            .collect();
        for id in with_deletes {
            self.writer.merge(&[id]).wait().map_err(index_err)?;
        }
        let mut metas = self.index.searchable_segment_metas().map_err(index_err)?;
        if metas.len() > MAX_SEGMENTS {
            metas.sort_by_key(|m| m.num_docs());
            let small: Vec<_> = metas[..metas.len() - MAX_SEGMENTS / 2]
                .iter()
                .map(|m| m.id())
                .collect();
            self.writer.merge(&small).wait().map_err(index_err)?;
        }
        self.writer
            .garbage_collect_files()
            .wait()
            .map_err(index_err)?;
        self.reader.reload().map_err(index_err)?;
        Ok(())
    }

    fn terms(&self, text: &str) -> Vec<Term> {
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.f.text)
            .unwrap_or_else(|_| analyzer());
        let mut stream = analyzer.token_stream(text);
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        while stream.advance() {
            let token = stream.token().text.clone();
            if seen.insert(token.clone()) {
                terms.push(Term::from_field_text(self.f.text, &token));
            }
        }
        terms
    }

    /// The filter as query clauses, matching exactly what [`MemoryFilter::matches`] accepts.
    fn filter_query(&self, filter: &MemoryFilter) -> Box<dyn Query> {
        let any_of = |field: Field, values: Vec<String>| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(
                values
                    .into_iter()
                    .map(|v| {
                        let q: Box<dyn Query> = Box::new(TermQuery::new(
                            Term::from_field_text(field, &v),
                            IndexRecordOption::Basic,
                        ));
                        (Occur::Should, q)
                    })
                    .collect(),
            ))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !filter.sources.is_empty() {
            clauses.push((Occur::Must, any_of(self.f.source, filter.sources.clone())));
        }
        // The time range is not a clause: a range query over the `occurred` column costs a
        // pass over every document and slows the intersection; it is checked per matching
        // document by the collectors instead (`TimeRange`), still before any top-k.
        if !filter.conversations.is_empty() {
            clauses.push((
                Occur::Must,
                any_of(self.f.conversation, filter.conversations.clone()),
            ));
        }
        if !filter.participants.is_empty() {
            clauses.push((
                Occur::Must,
                any_of(self.f.participant, filter.participant_keys()),
            ));
        }
        for conversation in &filter.exclude_conversations {
            clauses.push((
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.conversation, conversation),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        for key in filter.excluded_keys() {
            clauses.push((
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.participant, &key),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        // Every document, only when nothing else is required (a query of exclusions alone
        // matches nothing in tantivy); otherwise the required clauses lead the intersection.
        if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
            clauses.insert(0, (Occur::Must, Box::new(AllQuery)));
        }
        Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(clauses)),
            0.0,
        ))
    }

    fn slots_of(
        &self,
        searcher: &tantivy::Searcher,
        addresses: impl IntoIterator<Item = (f32, tantivy::DocAddress)>,
    ) -> Result<Vec<(u32, f32)>, MemoryError> {
        let mut columns = HashMap::new();
        let mut out = Vec::new();
        for (score, addr) in addresses {
            let column = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .u64("slot")
                        .map_err(index_err)?,
                ),
            };
            if let Some(slot) = column.first(addr.doc_id) {
                out.push((slot as u32, score));
            }
        }
        Ok(out)
    }

    /// The query's terms as a disjunction. English function words ([`STOP_WORDS`]) are left
    /// out (of the query, not of the index) unless the query has nothing else: in a question
    /// such as "what did I say in the Lisbon email", they match nearly every memory and push
    /// the ones naming Lisbon down.
    fn text_query(&self, text: &str) -> Option<Box<dyn Query>> {
        let content: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .filter(|w| !STOP_WORDS.contains(&w.to_lowercase().replace('\u{2019}', "'").as_str()))
            .collect();
        let terms = if content.is_empty() {
            self.terms(text)
        } else {
            self.terms(&content.join(" "))
        };
        if terms.is_empty() {
            return None;
        }
        Some(Box::new(BooleanQuery::new(
            terms
                .into_iter()
                .map(|t| {
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs));
                    (Occur::Should, q)
                })
                .collect(),
        )))
    }

    /// The `limit` best BM25 matches of `text` within `filter`, as (slot, score).
    pub(crate) fn search(
        &self,
        text: &str,
        filter: &MemoryFilter,
        limit: usize,
    ) -> Result<Vec<(u32, f32)>, MemoryError> {
        let Some(text_query) = self.text_query(text).filter(|_| limit > 0) else {
            return Ok(Vec::new());
        };
        // Without a filter the disjunction of terms is searched alone, so tantivy can skip
        // blocks that cannot reach the top `limit` (block-max WAND) instead of scoring every
        // document holding any term.
        let query: Box<dyn Query> = if !has_clauses(filter) {
            text_query
        } else {
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, text_query),
                (Occur::Must, self.filter_query(filter)),
            ]))
        };
        let searcher = self.reader.searcher();
        let top = collect(
            &searcher,
            query.as_ref(),
            filter,
            TopDocs::with_limit(limit).order_by_score(),
        )?;
        self.slots_of(&searcher, top)
    }

    /// The `limit` best BM25 matches of `text` among `slots` (a filter's exact selection), as
    /// (slot, score): the selection becomes a set of documents per segment that the terms'
    /// postings are intersected with, so only the documents inside it are scored.
    pub(crate) fn search_among(
        &self,
        text: &str,
        slots: &[u32],
        limit: usize,
    ) -> Result<Vec<(u32, f32)>, MemoryError> {
        let Some(text_query) = self
            .text_query(text)
            .filter(|_| limit > 0 && !slots.is_empty())
        else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let map = self.doc_map(&searcher)?;
        let mut per_segment: Vec<Vec<tantivy::DocId>> = vec![Vec::new(); map.segments.len()];
        for &slot in slots {
            if let Some(&(segment, doc)) = map.of_slot.get(slot as usize)
                && segment != u32::MAX
            {
                per_segment[segment as usize].push(doc);
            }
        }
        let docs = DocSetQuery {
            docs: Arc::new(
                map.segments
                    .iter()
                    .cloned()
                    .zip(map.max_docs.iter().copied())
                    .zip(per_segment)
                    .map(|((id, max_doc), docs)| (id, (max_doc, docs)))
                    .collect(),
            ),
        };
        let query = BooleanQuery::new(vec![
            (Occur::Must, text_query),
            (Occur::Must, Box::new(docs)),
        ]);
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(index_err)?;
        self.slots_of(&searcher, top)
    }

    /// The slot-to-document map of the searcher's generation (built once per generation).
    fn doc_map(&self, searcher: &tantivy::Searcher) -> Result<Arc<DocMap>, MemoryError> {
        let generation = searcher.generation().generation_id();
        let mut cached = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(map) = cached.as_ref().filter(|m| m.generation == generation) {
            return Ok(map.clone());
        }
        let mut map = DocMap {
            generation,
            segments: Vec::new(),
            max_docs: Vec::new(),
            of_slot: Vec::new(),
        };
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let column = segment.fast_fields().u64("slot").map_err(index_err)?;
            map.segments.push(segment.segment_id());
            map.max_docs.push(segment.max_doc());
            for doc in 0..segment.max_doc() {
                if let Some(slot) = column.first(doc) {
                    let slot = slot as usize;
                    if map.of_slot.len() <= slot {
                        map.of_slot.resize(slot + 1, (u32::MAX, 0));
                    }
                    map.of_slot[slot] = (ord as u32, doc);
                }
            }
        }
        let map = Arc::new(map);
        *cached = Some(map.clone());
        Ok(map)
    }

    /// Whether any segment's term dictionary still holds a term of `word` (after analysis).
    pub(crate) fn has_term(&self, word: &str) -> Result<bool, MemoryError> {
        let searcher = self.reader.searcher();
        for term in self.terms(word) {
            for segment in searcher.segment_readers() {
                let inverted = segment.inverted_index(self.f.text).map_err(index_err)?;
                if inverted.get_term_info(&term).map_err(index_err)?.is_some() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// English function words left out of BM25 queries (lower-case): pronouns, articles,
/// auxiliaries, prepositions, conjunctions and question words.
pub(crate) const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing", "for", "from",
    "had", "has", "have", "having", "he", "her", "hers", "him", "his", "how", "i", "i'm", "if",
    "in", "into", "is", "it", "it's", "its", "me", "mine", "my", "myself", "of", "on", "or", "our",
    "ours", "she", "should", "so", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "us", "was", "we", "were", "what", "when", "where",
    "which", "who", "whom", "why", "will", "with", "would", "you", "your", "yours",
];

/// Runs `collector` over the documents `query` matches within the filter's time range (the
/// query holds the filter's other clauses).
fn collect<C: tantivy::collector::Collector + 'static>(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    filter: &MemoryFilter,
    collector: C,
) -> Result<C::Fruit, MemoryError> {
    match TimeRange::of(filter) {
        None => searcher.search(query, &collector),
        Some(range) => searcher.search(query, &range.collect(collector)),
    }
    .map_err(index_err)
}

/// Whether the filter restricts anything besides time (those restrictions are query clauses).
fn has_clauses(filter: &MemoryFilter) -> bool {
    !(filter.sources.is_empty()
        && filter.participants.is_empty()
        && filter.exclude_participants.is_empty()
        && filter.conversations.is_empty()
        && filter.exclude_conversations.is_empty())
}

/// A filter's time range (`since` inclusive, `until` exclusive), in milliseconds, checked on
/// the `occurred` column of each matching document.
#[derive(Clone, Copy)]
struct TimeRange {
    since: Option<i64>,
    until: Option<i64>,
}

impl TimeRange {
    fn of(filter: &MemoryFilter) -> Option<Self> {
        (filter.since.is_some() || filter.until.is_some()).then(|| Self {
            since: filter.since.map(|t| t.timestamp_millis()),
            until: filter.until.map(|t| t.timestamp_millis()),
        })
    }

    /// `inner`, fed only the documents inside the range.
    fn collect<C: tantivy::collector::Collector>(
        self,
        inner: C,
    ) -> FilterCollector<C, impl Fn(i64) -> bool + Send + Sync + Clone, i64> {
        FilterCollector::new(
            "occurred".to_owned(),
            move |t: i64| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u),
            inner,
        )
    }
}

/// Where each slot's document lies in one generation of the reader's segments.
struct DocMap {
    generation: u64,
    segments: Vec<tantivy::index::SegmentId>,
    max_docs: Vec<u32>,
    /// Per slot: (segment ordinal, document), `u32::MAX` as the ordinal for none.
    of_slot: Vec<(u32, tantivy::DocId)>,
}

/// Matches exactly the given documents of each segment (score 0).
#[derive(Clone)]
struct DocSetQuery {
    docs: Arc<HashMap<tantivy::index::SegmentId, (u32, Vec<tantivy::DocId>)>>,
}

impl std::fmt::Debug for DocSetQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocSetQuery").finish_non_exhaustive()
    }
}

impl Query for DocSetQuery {
    fn weight(&self, _: tantivy::query::EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for DocSetQuery {
    fn scorer(
        &self,
        reader: &tantivy::SegmentReader,
        _boost: tantivy::Score,
    ) -> tantivy::Result<Box<dyn Scorer>> {
        match self.docs.get(&reader.segment_id()) {
            Some((max_doc, docs)) if !docs.is_empty() => {
                let mut set = BitSet::with_max_value(*max_doc);
                for &doc in docs {
                    set.insert(doc);
                }
                Ok(Box::new(ConstScorer::new(BitSetDocSet::from(set), 0.0)))
            }
            _ => Ok(Box::new(EmptyScorer)),
        }
    }

    fn explain(
        &self,
        _reader: &tantivy::SegmentReader,
        _doc: tantivy::DocId,
    ) -> tantivy::Result<tantivy::query::Explanation> {
        Err(tantivy::TantivyError::InvalidArgument(
            "a memory selection has no explanation".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facets::Facets;
    use crate::facets::tests::{filters, memory};

    #[test]
    fn a_selection_scores_as_the_filter_clauses_do() {
        let mut index = TextIndex::open(SealedDirectory::new()).unwrap();
        let mut facets = Facets::default();
        let words = ["apple", "pear", "plum", "fig", "kiwi", "lime", "date"];
        for i in 0..600u32 {
            let mut m = memory(i);
            let n = 2 + (i as usize * 5) % 9;
            m.text = (0..n)
                .map(|j| words[(i as usize * (j + 3) + j * j) % words.len()])
                .collect::<Vec<_>>()
                .join(" ");
            index.add(i, &m).unwrap();
            facets.add(i, &m);
            if i % 200 == 199 {
                index.commit().unwrap();
            }
        }
        for slot in (0..600).step_by(13) {
            index.delete(slot);
            facets.remove(slot);
        }
        index.commit().unwrap();
        facets.settle();
        for filter in filters() {
            let slots = facets.select(&filter, usize::MAX).unwrap();
            for text in ["apple", "pear plum", "the fig and a kiwi", "durian"] {
                let by_clauses = index.search(text, &filter, 25).unwrap();
                let among = index.search_among(text, &slots, 25).unwrap();
                assert_eq!(by_clauses, among, "{filter:?} {text}");
                if text != "durian" && slots.len() > 30 {
                    assert!(!among.is_empty(), "{filter:?} {text}");
                }
            }
        }
    }
}

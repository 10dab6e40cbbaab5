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

use tantivy::collector::{Count, FilterCollector, TopDocs};
use tantivy::indexer::NoMergePolicy;
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, NumericOptions, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

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

    /// The `limit` best BM25 matches of `text` within `filter`, as (slot, score). English
    /// function words ([`STOP_WORDS`]) are left out of the query (not of the index) unless the
    /// query has nothing else: in a question such as "what did I say in the Lisbon email", they
    /// match nearly every memory and push the ones naming Lisbon down.
    pub(crate) fn search(
        &self,
        text: &str,
        filter: &MemoryFilter,
        limit: usize,
    ) -> Result<Vec<(u32, f32)>, MemoryError> {
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
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let text_query: Box<dyn Query> = Box::new(BooleanQuery::new(
            terms
                .into_iter()
                .map(|t| {
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs));
                    (Occur::Should, q)
                })
                .collect(),
        ));
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

    /// How many memories the filter lets through.
    pub(crate) fn count(&self, filter: &MemoryFilter) -> Result<usize, MemoryError> {
        let query = self.filter_query(filter);
        collect(&self.reader.searcher(), query.as_ref(), filter, Count)
    }

    /// Every slot the filter lets through, read straight from the slot column of each
    /// segment (no set of document addresses in between).
    pub(crate) fn slots(&self, filter: &MemoryFilter) -> Result<Vec<u32>, MemoryError> {
        let query = self.filter_query(filter);
        collect(
            &self.reader.searcher(),
            query.as_ref(),
            filter,
            SlotCollector,
        )
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

/// Collects the slot of every matching document.
struct SlotCollector;

struct SlotSegmentCollector {
    column: tantivy::columnar::Column<u64>,
    slots: Vec<u32>,
}

impl tantivy::collector::Collector for SlotCollector {
    type Fruit = Vec<u32>;
    type Child = SlotSegmentCollector;

    fn for_segment(
        &self,
        _segment: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<SlotSegmentCollector> {
        Ok(SlotSegmentCollector {
            column: reader.fast_fields().u64("slot")?,
            slots: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u32>>) -> tantivy::Result<Vec<u32>> {
        Ok(fruits.concat())
    }
}

impl tantivy::collector::SegmentCollector for SlotSegmentCollector {
    type Fruit = Vec<u32>;

    fn collect(&mut self, doc: tantivy::DocId, _score: tantivy::Score) {
        if let Some(slot) = self.column.first(doc) {
            self.slots.push(slot as u32);
        }
    }

    fn harvest(self) -> Vec<u32> {
        self.slots
    }
}

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

//! Packing retrieved memories into a model's context window.
//!
//! Given retrieved memories (best first) and a token budget: near-duplicates are merged (cosine
//! of the embeddings at or above a threshold, or the same text once lower-cased and with white
//! space collapsed): the best-scored one stays and its line cites every merged id (or, when
//! that line would not fit, only its own id, the duplicates counting as left out). Lines are then
//! taken greedily in score order while the whole text still fits the budget, and written in time
//! order, one per memory:
//!
//! ```text
//! [2024-05-01 14:03 whatsapp, Alice] We booked the flat in Lisbon. (memories: 01J..., 01J...)
//! ```
//!
//! # Invariants
//!
//! - The packed text never exceeds the budget, as counted by the [`TokenCounter`] on the whole
//!   text (not by summing lines, which a tokenizer need not make additive).
//! - Every line cites the ids of the memories it stands for.
//! - Lines are in time order (ties by id).

use crate::model::{MemoryId, TokenCounter, cosine};
use crate::stream::Recalled;

/// Default cosine threshold at or above which two memories are near-duplicates.
pub const DEDUP_COSINE: f32 = 0.95;

/// One line of a packed context.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextLine {
    /// The memories the line stands for (the first is the one shown).
    pub ids: Vec<MemoryId>,
    /// The line as written.
    pub text: String,
    /// Score of the memory shown.
    pub score: f64,
}

/// A packed context.
#[derive(Clone, Debug, PartialEq)]
pub struct Packed {
    /// The text to put into the prompt.
    pub text: String,
    /// Its lines, in time order.
    pub lines: Vec<ContextLine>,
    /// Its size in tokens.
    pub tokens: usize,
    /// Retrieved memories no line cites (left out for the budget).
    pub left_out: usize,
}

fn squash(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn render(hit: &Recalled, ids: &[MemoryId]) -> String {
    let m = &hit.memory;
    let mut who = m.source.clone();
    if let Some(author) = &m.author {
        who.push_str(", ");
        who.push_str(author);
    }
    let ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    format!(
        "[{} {}] {} (memories: {})",
        m.occurred_at.format("%Y-%m-%d %H:%M"),
        who,
        m.text.split_whitespace().collect::<Vec<_>>().join(" "),
        ids.join(", ")
    )
}

fn join(lines: &[(usize, String, Vec<MemoryId>)]) -> String {
    let mut out = String::new();
    for (_, line, _) in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Packs `hits` (best first) into at most `budget` tokens.
pub fn pack(
    hits: &[Recalled],
    counter: &dyn TokenCounter,
    budget: usize,
    dedup_cosine: f32,
) -> Packed {
    // Groups of near-duplicates, led by their best-scored member.
    let mut groups: Vec<(usize, Vec<MemoryId>)> = Vec::new();
    for (i, hit) in hits.iter().enumerate() {
        let text = squash(&hit.memory.text);
        let duplicate_of = groups.iter_mut().find(|(lead, _)| {
            let other = &hits[*lead].memory;
            squash(&other.text) == text
                || (!other.embedding.is_empty()
                    && other.embedding.len() == hit.memory.embedding.len()
                    && cosine(&other.embedding, &hit.memory.embedding) >= dedup_cosine)
        });
        match duplicate_of {
            Some((_, ids)) => ids.push(hit.memory.id.clone()),
            None => groups.push((i, vec![hit.memory.id.clone()])),
        }
    }
    let time_order = |lines: &mut Vec<(usize, String, Vec<MemoryId>)>| {
        lines.sort_by(|a, b| {
            let (ma, mb) = (&hits[a.0].memory, &hits[b.0].memory);
            ma.occurred_at.cmp(&mb.occurred_at).then(ma.id.cmp(&mb.id))
        })
    };
    let mut taken: Vec<(usize, String, Vec<MemoryId>)> = Vec::new();
    for (lead, ids) in &groups {
        // The whole group if its line fits, else the memory shown alone (its duplicates are
        // then left out): a long list of duplicates' ids must not crowd out the memory.
        let mut options = vec![ids.clone()];
        if ids.len() > 1 {
            options.push(vec![ids[0].clone()]);
        }
        for cited in options {
            let mut trial = taken.clone();
            trial.push((*lead, render(&hits[*lead], &cited), cited));
            time_order(&mut trial);
            if counter.count(&join(&trial)) <= budget {
                taken = trial;
                break;
            }
        }
    }
    let text = join(&taken);
    let tokens = counter.count(&text);
    let cited: usize = taken.iter().map(|(_, _, ids)| ids.len()).sum();
    let lines = taken
        .into_iter()
        .map(|(lead, line, ids)| ContextLine {
            ids,
            text: line,
            score: hits[lead].score,
        })
        .collect();
    Packed {
        text,
        lines,
        tokens,
        left_out: hits.len() - cited,
    }
}

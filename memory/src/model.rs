//! The memory record and the traits through which the memory layer reaches models.
//!
//! `memory/` never depends on a model runtime: the embedder, the tokenizer's counter and the
//! text generator are traits implemented elsewhere (`web/` wires them to `training/`).
//!
//! # Invariants
//!
//! - A memory's `importance` is always within 1..=10.
//! - Embeddings are L2-normalised by the store before use; the embedder may return any scale.
//! - A memory made from a record keeps the record's id, so deleting the record forgets it.

use chrono::{DateTime, FixedOffset, Utc};
use hearth_vault::{Id, RecordId};
use serde::{Deserialize, Serialize};

/// Identifier of a memory (a ULID, like record ids).
pub type MemoryId = Id;

/// An error from a model behind one of the traits.
pub type ModelError = Box<dyn std::error::Error + Send + Sync>;

/// Sentence embeddings (MiniLM in production).
pub trait Embedder {
    /// Dimension of the vectors.
    fn dim(&self) -> usize;
    /// One vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// Counts tokens the way the chat model's tokenizer does.
pub trait TokenCounter {
    /// Number of tokens `text` encodes to.
    fn count(&self, text: &str) -> usize;
}

/// A text generator (the chat model): importance rating, reflection and summaries.
pub trait Generator {
    /// Continues `prompt` with at most `max_tokens` tokens (greedy or low temperature).
    fn generate(&self, prompt: &str, max_tokens: usize) -> Result<String, ModelError>;
}

/// Where a memory came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A chunk of a vault record.
    Record,
    /// Added directly by the owner (`hearth remember`).
    Owner,
    /// A reflection: an insight the model drew from other memories (its evidence).
    Reflection,
}

/// One memory. The serde derives define the sealed storage format only (the embedding is
/// stored beside it in binary); CLI and HTTP output use their own types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Its id.
    pub id: MemoryId,
    /// Where it came from.
    pub origin: Origin,
    /// The text (one chunk of a long record).
    pub text: String,
    /// When what it describes happened.
    pub occurred_at: DateTime<FixedOffset>,
    /// When the memory was made.
    pub created_at: DateTime<Utc>,
    /// When the owner last retrieved it (starts at `occurred_at`).
    pub last_accessed: DateTime<Utc>,
    /// False when `occurred_at` was not in the source but guessed (a note dated by its file's
    /// modification time, `date_source: mtime`): its recency is neutral until the owner
    /// retrieves it (see [`crate::score`]).
    #[serde(default = "yes")]
    pub time_known: bool,
    /// Importance on the 1–10 scale of Generative Agents.
    pub importance: u8,
    /// Whether the owner set the importance (a rebuild never changes it then).
    #[serde(default)]
    pub importance_pinned: bool,
    /// The record's source (`whatsapp`, ...), `owner` or `reflection`.
    pub source: String,
    /// Who wrote it, where known.
    #[serde(default)]
    pub author: Option<String>,
    /// Everyone in the conversation (author included), by name.
    #[serde(default)]
    pub participants: Vec<String>,
    /// Handles of the participants, where the export had them (matched by filters too).
    #[serde(default)]
    pub handles: Vec<String>,
    /// The conversation's id within its source.
    #[serde(default)]
    pub conversation: Option<String>,
    /// The conversation's name, where known.
    #[serde(default)]
    pub conversation_name: Option<String>,
    /// The record it was cut from.
    #[serde(default)]
    pub record_id: Option<RecordId>,
    /// Which chunk of the record (0 for short records).
    #[serde(default)]
    pub chunk: u32,
    /// For reflections: the memories it cites.
    #[serde(default)]
    pub evidence: Vec<MemoryId>,
    /// The embedding (L2-normalised); stored beside the serialised fields.
    #[serde(skip)]
    pub embedding: Vec<f32>,
}

fn yes() -> bool {
    true
}

impl Memory {
    /// Whether its recency means something: its time came from the source, or the owner
    /// has retrieved it since (which set `last_accessed` to a real time).
    pub fn recency_known(&self) -> bool {
        self.time_known || self.last_accessed != self.occurred_at.with_timezone(&Utc)
    }

    /// The lower-cased names and handles a participant filter matches.
    pub fn participant_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .participants
            .iter()
            .chain(self.handles.iter())
            .chain(self.author.iter())
            .map(|p| normalize_key(p))
            .filter(|p| !p.is_empty())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// How participant names and handles are compared: trimmed and lower-cased.
pub fn normalize_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// L2-normalises a vector in place (a zero vector stays zero).
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v {
            *x /= norm;
        }
    }
}

/// Cosine similarity of two L2-normalised vectors.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    crate::dot::dot(a, b)
}

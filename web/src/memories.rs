//! The memory stream of a vault with the local models: what the `hearth` command line
//! (`memories build`, `remember`, `recall`, `context`, `forget`, and the build after `import`)
//! and the HTTP node (`POST /v1/memories/search`, the `persona` model) share.
//!
//! - [`MemoryModels`]: the sentence encoder (all-MiniLM-L6-v2 through [`EncoderEmbedder`]) and
//!   the importance method; loaded once, used for builds and queries.
//! - [`build`] and [`build_after_import`]: the incremental build (new records in, deleted
//!   records' memories out); after an import it is skipped, with the reason, when the
//!   embedding model is missing.
//! - [`filter_of_scope`]: a grant's [`Scope`] as the [`MemoryFilter`] its searches run under
//!   (the same names: sources, since, until, participants, exclude_participants,
//!   conversations, exclude_conversations).
//! - [`RecalledJson`]: the JSON shape of one retrieved memory, the same for `hearth recall
//!   --json` and the HTTP API.
//!
//! Importance is rated by [`FeatureImportance`] (fast, deterministic, no model) unless
//! [`ImportanceMethod::Model`] is asked for: the chat model then rates batches with the fixed
//! Generative Agents prompt ([`LlmImportance`]). The bundled SmolLM2-135M is too small to rate
//! reliably, so features are the default.
//!
//! # Invariants
//!
//! - The owner's retrievals (`recall`, `context`) go through [`MemoryStream::recall`] with
//!   [`Caller::Owner`] and refresh last-accessed; an app's go through
//!   [`MemoryStream::search`] (or `recall` with [`Caller::App`]) and change nothing.
//! - A grant's restrictions are applied as a [`MemoryFilter`], inside the search.

use std::path::Path;

use hearth_memory::{
    BuildReport, Caller, Embedder, FeatureImportance, ImportanceRater, LlmImportance, Memory,
    MemoryFilter, MemoryStream, Models, Origin, Recalled, Weights,
};
use hearth_permissions::Scope;
use hearth_training::{Device, TextModel};
use hearth_vault::Vault;
use serde::{Deserialize, Serialize};

use crate::WebError;
use crate::engine::{self, EncoderEmbedder, ModelGenerator};

/// Texts per embedding batch.
pub const EMBED_BATCH: usize = 32;

/// How memories' importance is rated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ImportanceMethod {
    /// The feature-based scorer (fast, no model).
    #[default]
    Features,
    /// The chat model with the Generative Agents prompt, in batches.
    Model,
}

impl std::str::FromStr for ImportanceMethod {
    type Err = WebError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "features" => Ok(Self::Features),
            "model" => Ok(Self::Model),
            other => Err(WebError::Invalid {
                field: "importance",
                reason: format!("{other:?} is not an importance method (features or model)"),
            }),
        }
    }
}

/// The models the memory stream needs: the embedder always, the text model for
/// [`ImportanceMethod::Model`].
#[derive(Debug)]
pub struct MemoryModels {
    /// all-MiniLM-L6-v2.
    pub embedder: EncoderEmbedder,
    text: Option<TextModel>,
}

impl MemoryModels {
    /// Loads the embedding model (at `embed_model`, or the default one) and, for
    /// [`ImportanceMethod::Model`], the text model (at `text_model`, or the default one).
    pub fn load(
        embed_model: Option<&Path>,
        text_model: Option<&Path>,
        importance: ImportanceMethod,
        device: &Device,
    ) -> Result<Self, WebError> {
        let embedder =
            EncoderEmbedder::new(engine::load_encoder(embed_model, device)?, EMBED_BATCH);
        let text = match importance {
            ImportanceMethod::Features => None,
            ImportanceMethod::Model => Some(engine::load_text_model(text_model, device)?),
        };
        Ok(Self { embedder, text })
    }

    /// Runs `f` with the memory layer's [`Models`] over these models.
    pub fn with<T>(&self, f: impl FnOnce(Models<'_>) -> T) -> T {
        match &self.text {
            Some(model) => {
                let generator = ModelGenerator(model);
                let rater = LlmImportance::new(&generator);
                f(Models {
                    embedder: &self.embedder,
                    importance: &rater,
                })
            }
            None => f(Models {
                embedder: &self.embedder,
                importance: &FeatureImportance,
            }),
        }
    }
}

/// Opens (unseals) the vault's memory stream.
pub fn open(vault: &Vault) -> Result<MemoryStream, WebError> {
    Ok(MemoryStream::open(vault)?)
}

/// Opens the memory stream and brings it up to date with the vault (new records in, deleted
/// records' memories out).
pub fn build(
    vault: &mut Vault,
    embedder: &dyn Embedder,
    importance: &dyn ImportanceRater,
) -> Result<(MemoryStream, BuildReport), WebError> {
    let mut stream = open(vault)?;
    let report = stream.build(
        vault,
        Models {
            embedder,
            importance,
        },
    )?;
    Ok((stream, report))
}

/// What the memory build after an import did.
#[derive(Debug)]
pub enum AfterImport {
    /// The memories were brought up to date.
    Built(BuildReport),
    /// The build was skipped; why, and how to run it later.
    Skipped(String),
}

/// The memory build that follows an import: skipped (with a note naming where the model was
/// looked for) when the embedding model is missing, so imports work without models.
pub fn build_after_import(vault: &mut Vault, device: &Device) -> Result<AfterImport, WebError> {
    let embedder = match engine::load_encoder(None, device) {
        Ok(encoder) => EncoderEmbedder::new(encoder, EMBED_BATCH),
        Err(e @ WebError::ModelMissing { .. }) => {
            return Ok(AfterImport::Skipped(format!(
                "memories not built: {e}; run `hearth memories build` once it is there"
            )));
        }
        Err(e) => return Err(e),
    };
    let (_, report) = build(vault, &embedder, &FeatureImportance)?;
    Ok(AfterImport::Built(report))
}

/// Parses `R,I,V` (recency, importance, relevance weights), e.g. `1,1,1` or `0.5,2,3`.
pub fn parse_weights(text: &str) -> Result<Weights, WebError> {
    let invalid = |reason: String| WebError::Invalid {
        field: "weights",
        reason,
    };
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() != 3 {
        return Err(invalid(format!(
            "{text:?}: give three comma-separated numbers, recency,importance,relevance"
        )));
    }
    let mut values = [0.0f64; 3];
    for (value, part) in values.iter_mut().zip(&parts) {
        *value = part
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| invalid(format!("{part:?} is not a non-negative number")))?;
    }
    if values.iter().all(|v| *v == 0.0) {
        return Err(invalid("at least one weight must be above 0".into()));
    }
    Ok(Weights {
        recency: values[0],
        importance: values[1],
        relevance: values[2],
    })
}

/// A grant's restrictions as a memory filter (same names, applied inside the search).
pub fn filter_of_scope(scope: &Scope) -> MemoryFilter {
    let list = |set: Option<&std::collections::BTreeSet<String>>| -> Vec<String> {
        set.map(|s| s.iter().cloned().collect()).unwrap_or_default()
    };
    MemoryFilter {
        sources: list(scope.sources()),
        since: scope.since(),
        until: scope.until(),
        participants: list(scope.participants()),
        exclude_participants: scope.exclude_participants().iter().cloned().collect(),
        conversations: list(scope.conversations()),
        exclude_conversations: scope.exclude_conversations().iter().cloned().collect(),
    }
}

/// Who retrieves: the owner (refreshes recency) or an app under a grant (changes nothing).
pub fn caller_of_scope(scope: Option<&Scope>) -> Caller {
    match scope {
        None => Caller::Owner,
        Some(scope) => Caller::App(scope.app().to_owned()),
    }
}

/// One retrieved memory as JSON: `hearth recall --json` and the HTTP API.
#[derive(Clone, Debug, Serialize)]
pub struct RecalledJson {
    /// The memory's id.
    pub id: String,
    /// The record it was cut from (none for the owner's own memories and reflections).
    pub record_id: Option<String>,
    /// The text.
    pub text: String,
    /// When it happened (RFC 3339, with the record's offset).
    pub occurred_at: String,
    /// The record's source, `owner` or `reflection`.
    pub source: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// Everyone in the conversation.
    pub participants: Vec<String>,
    /// The conversation's id.
    pub conversation: Option<String>,
    /// The weighted score.
    pub score: f64,
    /// Normalised recency.
    pub recency: f64,
    /// Normalised importance.
    pub importance: f64,
    /// Normalised relevance.
    pub relevance: f64,
}

impl From<&Recalled> for RecalledJson {
    fn from(r: &Recalled) -> Self {
        let m = &r.memory;
        Self {
            id: m.id.to_string(),
            record_id: m.record_id.as_ref().map(ToString::to_string),
            text: m.text.clone(),
            occurred_at: m.occurred_at.to_rfc3339(),
            source: m.source.clone(),
            author: m.author.clone(),
            participants: m.participants.clone(),
            conversation: m.conversation.clone(),
            score: r.score,
            recency: r.recency,
            importance: r.importance,
            relevance: r.relevance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_bad_ones_name_the_field() {
        assert_eq!(
            parse_weights("0.5, 2,3").unwrap(),
            Weights {
                recency: 0.5,
                importance: 2.0,
                relevance: 3.0
            }
        );
        for bad in ["1,1", "1,1,1,1", "a,1,1", "-1,1,1", "0,0,0", "1,NaN,1", ""] {
            let e = parse_weights(bad).unwrap_err().to_string();
            assert!(e.starts_with("weights: "), "{bad}: {e}");
        }
        assert_eq!(
            "model".parse::<ImportanceMethod>().unwrap(),
            ImportanceMethod::Model
        );
        assert!(
            "llm"
                .parse::<ImportanceMethod>()
                .unwrap_err()
                .to_string()
                .starts_with("importance: ")
        );
    }
}

/// One stored memory as JSON: `hearth memories list --json`, `hearth remember --json`, and the
/// node's answer to a `remember` through its control socket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryJson {
    /// The memory's id.
    pub id: String,
    /// `record`, `owner` or `reflection`.
    pub origin: String,
    /// The record it was cut from.
    pub record_id: Option<String>,
    /// The text.
    pub text: String,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    /// When it was last retrieved by the owner (RFC 3339).
    pub last_accessed: String,
    /// The record's source, `owner` or `reflection`.
    pub source: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// Everyone in the conversation.
    pub participants: Vec<String>,
    /// The conversation's id.
    pub conversation: Option<String>,
    /// Importance, 1 to 10.
    pub importance: u8,
    /// Whether the owner pinned the importance.
    pub importance_pinned: bool,
    /// The memories a reflection cites.
    pub evidence: Vec<String>,
}

impl From<&Memory> for MemoryJson {
    fn from(m: &Memory) -> Self {
        Self {
            id: m.id.to_string(),
            origin: match m.origin {
                Origin::Record => "record",
                Origin::Owner => "owner",
                Origin::Reflection => "reflection",
            }
            .to_owned(),
            record_id: m.record_id.as_ref().map(ToString::to_string),
            text: m.text.clone(),
            occurred_at: m.occurred_at.to_rfc3339(),
            last_accessed: m.last_accessed.to_rfc3339(),
            source: m.source.clone(),
            author: m.author.clone(),
            participants: m.participants.clone(),
            conversation: m.conversation.clone(),
            importance: m.importance,
            importance_pinned: m.importance_pinned,
            evidence: m.evidence.iter().map(ToString::to_string).collect(),
        }
    }
}

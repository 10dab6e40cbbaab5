//! The local models: where they are, loading them, and the adapters through which the memory
//! layer reaches them.
//!
//! Models are found at an explicit path, else under `$HEARTH_MODELS_DIR`, else under the
//! `models/` folder of the repository the binary was built from (`scripts/fetch-models` fills
//! it): `smollm2/*.gguf` for text and `all-minilm-l6-v2/` for embeddings.
//!
//! The adapters ([`EncoderEmbedder`], [`ModelTokenCounter`], [`ModelGenerator`]) are thin: they
//! implement `hearth_memory`'s traits over `hearth_training`'s types, so `memory/` never depends
//! on the model runtime.

use std::path::{Path, PathBuf};

use hearth_memory::{Embedder, Generator, ModelError, TokenCounter};
use hearth_training::{
    Device, GenerateOptions, Message, SamplingConfig, SentenceEncoder, TextModel,
};

use crate::WebError;

/// The environment variable naming the models folder.
pub const MODELS_DIR_ENV: &str = "HEARTH_MODELS_DIR";
/// The text model's folder under the models folder.
pub const TEXT_MODEL_DIR: &str = "smollm2";
/// The embedding model's folder under the models folder.
pub const EMBED_MODEL_DIR: &str = "all-minilm-l6-v2";

const FETCH_HINT: &str = "run scripts/fetch-models, set HEARTH_MODELS_DIR, or pass --model";

/// The models folder: `$HEARTH_MODELS_DIR`, else `models/` in the repository this binary was
/// built from.
pub fn models_dir() -> PathBuf {
    match std::env::var_os(MODELS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("models"),
    }
}

/// The first `.gguf` file (by name) in `dir`.
pub fn find_gguf(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    found.sort();
    found.into_iter().next()
}

/// The text model to load: `explicit` (a `.gguf` file, a folder of them, or a Hugging Face
/// directory), else the default `.gguf` under the models folder.
pub fn text_model_path(explicit: Option<&Path>) -> Result<PathBuf, WebError> {
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(WebError::ModelMissing {
                what: "text model",
                path: path.to_path_buf(),
                hint: "no such file or directory",
            });
        }
        // A directory of GGUF files (not a Hugging Face one) means its first .gguf.
        if path.is_dir()
            && !path.join("config.json").is_file()
            && let Some(file) = find_gguf(path)
        {
            return Ok(file);
        }
        return Ok(path.to_path_buf());
    }
    let dir = models_dir().join(TEXT_MODEL_DIR);
    find_gguf(&dir).ok_or(WebError::ModelMissing {
        what: "a .gguf text model",
        path: dir,
        hint: FETCH_HINT,
    })
}

/// The embedding model's directory: `explicit`, or the default under the models folder.
pub fn embed_model_dir(explicit: Option<&Path>) -> Result<PathBuf, WebError> {
    let dir = match explicit {
        Some(path) => path.to_path_buf(),
        None => models_dir().join(EMBED_MODEL_DIR),
    };
    if !dir.join("config.json").is_file() {
        return Err(WebError::ModelMissing {
            what: "embedding model (config.json)",
            path: dir,
            hint: if explicit.is_some() {
                "pass a sentence-transformers model directory"
            } else {
                FETCH_HINT
            },
        });
    }
    Ok(dir)
}

/// Loads the text model at `explicit` or the default one.
pub fn load_text_model(explicit: Option<&Path>, device: &Device) -> Result<TextModel, WebError> {
    let path = text_model_path(explicit)?;
    Ok(TextModel::load(&path, device)?)
}

/// Loads the sentence encoder at `explicit` or the default one.
pub fn load_encoder(explicit: Option<&Path>, device: &Device) -> Result<SentenceEncoder, WebError> {
    let dir = embed_model_dir(explicit)?;
    Ok(SentenceEncoder::load(&dir, device)?)
}

/// The memory layer's [`Embedder`] over the sentence encoder.
#[derive(Debug)]
pub struct EncoderEmbedder {
    encoder: SentenceEncoder,
    batch_size: usize,
}

impl EncoderEmbedder {
    /// Embeds with `encoder`, `batch_size` texts at a time.
    pub fn new(encoder: SentenceEncoder, batch_size: usize) -> Self {
        Self {
            encoder,
            batch_size: batch_size.max(1),
        }
    }

    /// The encoder.
    pub fn encoder(&self) -> &SentenceEncoder {
        &self.encoder
    }
}

impl Embedder for EncoderEmbedder {
    fn dim(&self) -> usize {
        self.encoder.dim()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(self.encoder.embed(texts, self.batch_size)?)
    }
}

/// The memory layer's [`TokenCounter`]: tokens as the text model counts them.
#[derive(Debug, Clone, Copy)]
pub struct ModelTokenCounter<'a>(pub &'a TextModel);

impl TokenCounter for ModelTokenCounter<'_> {
    fn count(&self, text: &str) -> usize {
        // A text the tokenizer refuses still costs something: count its bytes, over-estimating.
        self.0
            .tokenizer()
            .encode(text, false)
            .map_or(text.len(), |ids| ids.len())
    }
}

/// The memory layer's [`Generator`]: one user turn through the chat template, greedy, so that
/// importance ratings and reflections are reproducible.
#[derive(Debug, Clone, Copy)]
pub struct ModelGenerator<'a>(pub &'a TextModel);

impl Generator for ModelGenerator<'_> {
    fn generate(&self, prompt: &str, max_tokens: usize) -> Result<String, ModelError> {
        let ids = self.0.encode_chat(&[Message::new("user", prompt)])?;
        let options = GenerateOptions {
            max_tokens,
            sampling: SamplingConfig {
                temperature: 0.0,
                ..SamplingConfig::default()
            },
            stop: Vec::new(),
            stop_at_eos: true,
        };
        let generation = self
            .0
            .generate(&ids, &options, &mut |_| std::ops::ControlFlow::Continue(()))?;
        Ok(generation.text.trim().to_owned())
    }
}

//! The crate's error type: everything that can go wrong loading a model, tokenizing, rendering a
//! chat template or generating.
//!
//! The GGUF reader keeps its own detailed [`GgufError`] (offsets, what was being read); it is
//! carried here unchanged in [`Error::Gguf`].

use std::path::PathBuf;

use crate::gguf::GgufError;

/// Everything that can go wrong in the model runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or parsing a GGUF file failed.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (config.json, tokenizer.json, ...) is malformed or misses a field.
    #[error("bad JSON in {path}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model's hyperparameters or weights do not fit together (wrong shape, missing tensor,
    /// unsupported architecture, ...).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A model feature this runtime does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading safetensors weights failed.
    #[error("cannot load weights from {path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Building or running the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template failed to compile or render (including `raise_exception` calls).
    #[error("chat template: {0}")]
    Template(String),
    /// A generation or sampling parameter is out of range, or the input is empty.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The input is longer than the model's context.
    #[error("input of {tokens} tokens does not fit the model's context of {context} tokens")]
    ContextOverflow {
        /// Tokens needed.
        tokens: usize,
        /// The model's context length.
        context: usize,
    },
    /// The requested device is not available in this build or on this machine.
    #[error("device: {0}")]
    Device(String),
    /// The streaming callback asked to stop with an error.
    #[error("generation aborted: {0}")]
    Aborted(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

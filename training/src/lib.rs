//! The model runtime in `burn`: GGUF and Hugging Face loaders, the Llama-family chat model with a
//! KV cache and sampling, the BERT sentence encoder, tokenizers and chat templates; later LoRA
//! fine-tuning and adapter storage. This is the only crate that depends on `burn`.
//!
//! - [`TextModel`] loads SmolLM2-style models (`.gguf`, or a Hugging Face directory) and
//!   generates text ([`TextModel::generate`]).
//! - [`SentenceEncoder`] loads all-MiniLM-L6-v2-style models and embeds text.
//! - [`DeviceChoice`] picks the backend: burn's Flex CPU backend by default, CUDA with the `cuda`
//!   feature.

pub mod bert;
mod bert_cpu;
pub mod chat;
pub mod device;
pub mod error;
pub mod generate;
pub mod gguf;
mod host;
pub mod llama;
pub mod nn;
pub mod quant;
pub mod sampling;
pub mod tokenizer;
pub mod weights;

pub use bert::SentenceEncoder;
pub use chat::{ChatTemplate, Message};
pub use device::{Device, DeviceChoice};
pub use error::{Error, Result};
pub use generate::{FinishReason, GenerateOptions, Generation, TextModel, TokenEvent};
pub use sampling::SamplingConfig;
pub use tokenizer::Tokenizer;

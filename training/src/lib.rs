//! The model runtime in `burn`: GGUF and Hugging Face loaders, the Llama-family chat model with a
//! KV cache, the MiniLM sentence encoder, and later LoRA fine-tuning and adapter storage.
//!
//! Empty for now: the model runtime issue fills it. This is the only crate that depends on `burn`.

pub mod gguf;

pub use gguf::GgufError;

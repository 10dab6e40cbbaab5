//! The Hearth node's library: what the `hearth` command line and the HTTP node (`hearth serve`)
//! share.
//!
//! - [`engine`]: finding and loading the local models, and wiring them to the memory layer's
//!   traits (`Embedder`, `TokenCounter`, `Generator`), so `memory/` never depends on `burn`.
//! - [`node`]: `hearth serve`, the HTTP node: the OpenAI-compatible API and the memory API for
//!   apps holding grants.
//! - [`memories`]: a vault's memory stream with those models (build, the build after an import,
//!   grants as memory filters, the JSON of a retrieved memory).
//!
//! The binary (`src/main.rs` and `src/cli/`) is the only place that uses `anyhow`; this library
//! reports [`WebError`].

pub mod engine;
mod error;
pub mod memories;
pub mod node;

pub use error::WebError;

//! The memory stream: memories built from vault records, retrieved by recency, importance and
//! relevance (BM25 through `tantivy`, vectors through `hnsw_rs`), and packed into a model's
//! context window. Indexes never touch disk in clear.
//!
//! Empty for now: the memory issue fills it. It reaches the models through a small trait, so it
//! never depends on `burn`.

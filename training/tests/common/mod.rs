//! Helpers shared by the model tests: where the test models are, and the JSON fixtures.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository's `models/` folder.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// The one `.gguf` file in `models/smollm2/`. Fails (never skips) when it is missing: the model
/// is part of the test setup.
pub fn smollm2_path() -> PathBuf {
    let dir = models_dir().join("smollm2");
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|ext| ext == "gguf"))
    });
    match found {
        Some(path) => path,
        None => panic!(
            "no .gguf file in {}: run scripts/fetch-models to download the test models",
            dir.display()
        ),
    }
}

/// `models/all-minilm-l6-v2/`, checked to hold the weights.
pub fn minilm_dir() -> PathBuf {
    let dir = models_dir().join("all-minilm-l6-v2");
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(
            dir.join(file).is_file(),
            "{} is missing: run scripts/fetch-models to download the test models",
            dir.join(file).display()
        );
    }
    dir
}

/// A JSON fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}

/// A JSON array of unsigned integers as token ids.
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("an array of ids")
        .iter()
        .map(|x| x.as_u64().expect("an id") as u32)
        .collect()
}

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("an array of numbers")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

//! A Hugging Face Llama directory (config.json + safetensors, read through burn-store) against
//! transformers: a tiny random model made by `fixtures/make_tiny_llama.py`, with half-rotation
//! RoPE, grouped-query attention and a separate output head.

mod common;

use std::path::Path;

use common::{fixture, floats, ids};
use hearth_training::DeviceChoice;
use hearth_training::llama::{Llama, RopeStyle};

#[test]
fn tiny_hf_llama_matches_transformers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama");
    let device = DeviceChoice::Cpu.device().unwrap();
    let model = Llama::from_hf_dir(&dir, &device).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.config().rope_style, RopeStyle::Half);
    assert_eq!(model.config().rope_theta, 500.0);
    assert_eq!(model.config().n_kv_heads, 2);
    let reference = fixture("tiny_llama_logits.json");
    let tokens = ids(&reference["ids"]);
    let rows = reference["logits"].as_array().unwrap();

    // One batched pass over all positions.
    let mut cache = model.new_cache();
    let all: Vec<f32> = model
        .forward(std::slice::from_ref(&tokens), &mut cache, false)
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap();
    let vocab = model.config().vocab_size;
    for (pos, row) in rows.iter().enumerate() {
        let want = floats(row);
        let got = &all[pos * vocab..(pos + 1) * vocab];
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "position {pos}: {g} vs {w}");
        }
    }

    // Token by token through the KV cache gives the same last row.
    let mut cache = model.new_cache();
    let mut last = Vec::new();
    for &t in &tokens {
        last = model
            .forward(&[vec![t]], &mut cache, true)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
    }
    let want = floats(rows.last().unwrap());
    for (g, w) in last.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "cached decoding: {g} vs {w}");
    }
}

#[test]
fn broken_directories_are_errors() {
    let device = DeviceChoice::Cpu.device().unwrap();
    let tmp = std::env::temp_dir().join(format!("hearth-hf-llama-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    assert!(Llama::from_hf_dir(&tmp, &device).is_err());
    std::fs::write(tmp.join("config.json"), "{not json").unwrap();
    assert!(Llama::from_hf_dir(&tmp, &device).is_err());
    std::fs::write(
        tmp.join("config.json"),
        r#"{"model_type":"llama","hidden_size":16}"#,
    )
    .unwrap();
    assert!(Llama::from_hf_dir(&tmp, &device).is_err());
    std::fs::write(tmp.join("model.safetensors"), b"garbage").unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/config.json");
    std::fs::copy(src, tmp.join("config.json")).unwrap();
    assert!(Llama::from_hf_dir(&tmp, &device).is_err());
    std::fs::remove_dir_all(&tmp).unwrap();
}

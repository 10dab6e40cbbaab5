//! Reads the real SmolLM2-135M-Instruct (Q4_1) GGUF file fetched by `scripts/fetch-models` and
//! checks its metadata, shapes and dequantized values.
//!
//! Reference values in `fixtures/smollm2_reference.json` were produced by
//! `fixtures/smollm2_reference.py` with llama.cpp's own Python `gguf` package (0.19.0), an
//! independent implementation of the format and of ggml's dequantization.

use std::path::{Path, PathBuf};

use hearth_training::gguf::{GgmlType, Gguf, GgufFile};
use serde_json::Value;

/// The one `.gguf` file in `models/smollm2/`. Fails (never skips) when it is missing: the model
/// is part of the test setup.
fn model_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/smollm2");
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

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2_reference.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}

fn open() -> (GgufFile, Value) {
    let path = model_path();
    let file = GgufFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let reference = reference();
    assert_eq!(
        Some(file.bytes().len() as u64),
        reference["file_size"].as_u64(),
        "{} is not the file the reference values were made from; rerun scripts/fetch-models",
        path.display()
    );
    (file, reference)
}

fn parse(file: &GgufFile) -> Gguf<'_> {
    file.parse()
        .unwrap_or_else(|e| panic!("parse {}: {e}", file.path().display()))
}

#[test]
fn smollm2_metadata() {
    let (file, reference) = open();
    let g = parse(&file);
    assert_eq!(g.version(), 3);
    assert_eq!(g.alignment(), 32);
    assert_eq!(
        Some(g.data_offset() as u64),
        reference["data_offset"].as_u64()
    );
    assert_eq!(
        Some(g.metadata().len() as u64),
        reference["metadata_count"].as_u64()
    );

    assert_eq!(g.architecture().ok(), Some("llama"));
    assert_eq!(g.block_count().ok(), Some(30));
    assert_eq!(g.embedding_length().ok(), Some(576));
    assert_eq!(g.feed_forward_length().ok(), Some(1536));
    assert_eq!(g.context_length().ok(), Some(8192));
    assert_eq!(g.head_count().ok(), Some(9));
    assert_eq!(g.head_count_kv().ok(), Some(3));
    assert_eq!(g.rope_freq_base().ok(), Some(Some(100_000.0)));
    assert_eq!(g.rope_dimension_count().ok(), Some(Some(64)));
    assert_eq!(g.rms_norm_epsilon().ok(), Some(1e-5));
    assert_eq!(
        g.get_u32("general.file_type").ok(),
        Some(3),
        "3 = mostly Q4_1"
    );
    assert_eq!(g.vocab_size().ok(), Some(49152));

    let tok = g.tokenizer().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tok.model, "gpt2");
    assert_eq!(tok.pre, Some("smollm"));
    assert_eq!(tok.tokens.len(), 49152);
    assert_eq!(
        tok.tokens[..3],
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    );
    assert_eq!(tok.token_types.as_ref().map(Vec::len), Some(49152));
    assert_eq!(tok.merges.as_ref().map(Vec::len), Some(48900));
    assert_eq!(
        tok.merges.as_ref().and_then(|m| m.first().copied()),
        Some("Ġ t")
    );
    assert_eq!(tok.scores, None);
    assert_eq!(tok.bos_token_id, Some(1));
    assert_eq!(tok.eos_token_id, Some(2));
    assert_eq!(tok.unknown_token_id, Some(0));
    assert_eq!(tok.padding_token_id, Some(2));
    assert_eq!(tok.add_bos_token, Some(false));
    let template = tok
        .chat_template
        .unwrap_or_else(|| panic!("no chat template"));
    assert!(
        template.contains("<|im_start|>") && template.contains("<|im_end|>"),
        "{template}"
    );
}

#[test]
fn smollm2_tensors() {
    let (file, reference) = open();
    let g = parse(&file);
    assert_eq!(
        Some(g.tensors().len() as u64),
        reference["tensor_count"].as_u64()
    );
    // token_embd, output_norm, and 9 tensors in each of 30 blocks (embeddings are tied: no
    // separate output.weight).
    assert_eq!(g.tensors().len(), 2 + 30 * 9);
    assert!(g.tensor("output.weight").is_none());

    let shape = |name: &str| {
        let t = g.require_tensor(name).unwrap_or_else(|e| panic!("{e}"));
        (t.dims().to_vec(), t.ggml_type())
    };
    assert_eq!(
        shape("token_embd.weight"),
        (vec![576, 49152], GgmlType::Q8_0)
    );
    assert_eq!(shape("output_norm.weight"), (vec![576], GgmlType::F32));
    for b in [0, 29] {
        let s = |t: &str| shape(&format!("blk.{b}.{t}.weight"));
        assert_eq!(s("attn_q"), (vec![576, 576], GgmlType::Q4_1));
        assert_eq!(
            s("attn_k"),
            (vec![576, 192], GgmlType::Q4_1),
            "3 kv heads × 64"
        );
        assert_eq!(s("attn_v"), (vec![576, 192], GgmlType::Q4_1));
        assert_eq!(s("attn_output"), (vec![576, 576], GgmlType::Q4_1));
        assert_eq!(s("ffn_gate"), (vec![576, 1536], GgmlType::Q4_1));
        assert_eq!(s("ffn_up"), (vec![576, 1536], GgmlType::Q4_1));
        assert_eq!(s("ffn_down"), (vec![1536, 576], GgmlType::Q4_1));
        assert_eq!(s("attn_norm"), (vec![576], GgmlType::F32));
        assert_eq!(s("ffn_norm"), (vec![576], GgmlType::F32));
    }

    let mut counts = serde_json::Map::new();
    for t in g.tensors() {
        let n = counts
            .entry(t.ggml_type().name())
            .or_insert(Value::from(0u64));
        *n = Value::from(n.as_u64().unwrap_or(0) + 1);
    }
    assert_eq!(Value::Object(counts), reference["tensor_types"]);

    // Every tensor dequantizes to the right number of finite values.
    let mut total = 0u64;
    for t in g.tensors() {
        let values = g.dequantize(t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(values.len() as u64, t.n_elements(), "{}", t.name());
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            panic!("{}[{bad}] = {}", t.name(), values[bad]);
        }
        total += t.n_elements();
    }
    // ~135M parameters (the embedding counts once; it is tied to the output).
    assert!(
        (134_000_000..136_000_000).contains(&total),
        "{total} parameters"
    );
}

#[test]
fn smollm2_values_match_reference() {
    let (file, reference) = open();
    let g = parse(&file);

    let slices = reference["slices"]
        .as_array()
        .unwrap_or_else(|| panic!("no slices"));
    assert!(!slices.is_empty());
    for s in slices {
        let name = s["tensor"].as_str().unwrap_or_default();
        let start = s["start"].as_u64().unwrap_or_default() as usize;
        let t = g.require_tensor(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(t.ggml_type().name()), s["type"].as_str(), "{name}");
        let values = g.dequantize(t).unwrap_or_else(|e| panic!("{e}"));
        let want: Vec<f32> = s["values"]
            .as_array()
            .unwrap_or_else(|| panic!("no values"))
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN) as f32)
            .collect();
        assert_eq!(want.len(), 8);
        // Exact: both sides apply ggml's formulas to the same f16 scales in f32.
        assert_eq!(values[start..start + 8], want[..], "{name}[{start}..]");
    }

    // The embedding matrix's statistics: plausible for a trained model, and equal to the
    // reference computed in f64 by numpy.
    let embd = g
        .require_tensor("token_embd.weight")
        .unwrap_or_else(|e| panic!("{e}"));
    let values = g.dequantize(embd).unwrap_or_else(|e| panic!("{e}"));
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt();
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((0.05..0.5).contains(&std), "std {std}");
    let ref_mean = reference["token_embd_mean"].as_f64().unwrap_or(f64::NAN);
    let ref_std = reference["token_embd_std"].as_f64().unwrap_or(f64::NAN);
    assert!(
        (mean - ref_mean).abs() < 1e-9,
        "mean {mean} vs reference {ref_mean}"
    );
    assert!(
        (std - ref_std).abs() < 1e-9,
        "std {std} vs reference {ref_std}"
    );
}

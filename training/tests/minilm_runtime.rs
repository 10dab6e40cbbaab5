//! all-MiniLM-L6-v2 in Hearth's runtime against sentence-transformers: token ids (with the
//! 256-token truncation) and embeddings (cosine similarity >= 0.999), batched with padding and
//! one at a time.
//!
//! Reference: `fixtures/minilm_embeddings.json`, made by `fixtures/make_references.py`. The model
//! comes from `scripts/fetch-models`; without it these tests fail.

mod common;

use common::{fixture, floats, ids, minilm_dir};
use hearth_training::{DeviceChoice, SentenceEncoder};

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn embeddings_match_sentence_transformers() {
    let reference = fixture("minilm_embeddings.json");
    let device = DeviceChoice::Cpu.device().unwrap();
    let encoder = SentenceEncoder::load(&minilm_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(encoder.dim(), 384);
    assert_eq!(
        Some(encoder.max_seq_len() as u64),
        reference["max_seq_length"].as_u64()
    );
    let cases = reference["cases"].as_array().unwrap();
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();

    // Token ids, truncated like sentence-transformers.
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let got = encoder
            .tokenizer()
            .encode_batch_padded(&[text], encoder.max_seq_len(), 0)
            .unwrap();
        assert_eq!(got.ids[0], ids(&case["ids"]), "token ids of {text:?}");
    }

    // One padded batch of everything, and batches of 5 (sorted by length inside).
    let all = encoder.embed_batch(&texts).unwrap();
    let chunked = encoder.embed(&texts, 5).unwrap();
    for ((case, a), c) in cases.iter().zip(&all).zip(&chunked) {
        let want = floats(&case["embedding"]);
        let text = case["text"].as_str().unwrap();
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "{text:?} is not unit length: {norm}"
        );
        let sim = cosine(a, &want);
        assert!(sim >= 0.999, "{text:?}: cosine {sim} with the reference");
        let sim = cosine(c, &want);
        assert!(
            sim >= 0.999,
            "{text:?} (batches of 5): cosine {sim} with the reference"
        );
    }

    // Alone (no padding at all) gives the same vector as inside the padded batch.
    let short = encoder.embed_batch(&[texts[7]]).unwrap();
    assert!(cosine(&short[0], &all[7]) > 0.99999);
}

/// The burn module (what GPUs run) agrees with the references and with the CPU path that
/// `SentenceEncoder::load` picks on the CPU.
#[test]
fn burn_module_and_cpu_path_agree() {
    let reference = fixture("minilm_embeddings.json");
    let device = DeviceChoice::Cpu.device().unwrap();
    let fast = SentenceEncoder::load(&minilm_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
    let burn = SentenceEncoder::load_burn(&minilm_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
    assert!(fast.is_cpu_path() && !burn.is_cpu_path());
    let cases = reference["cases"].as_array().unwrap();
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    let a = fast.embed(&texts, 4).unwrap();
    let b = burn.embed(&texts, 4).unwrap();
    for ((case, a), b) in cases.iter().zip(&a).zip(&b) {
        let text = case["text"].as_str().unwrap();
        let sim = cosine(b, &floats(&case["embedding"]));
        assert!(
            sim >= 0.999,
            "{text:?} (burn): cosine {sim} with the reference"
        );
        let sim = cosine(a, b);
        assert!(sim > 0.99999, "{text:?}: CPU path vs burn cosine {sim}");
    }
}

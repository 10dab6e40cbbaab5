//! SmolLM2-135M-Instruct (Q4_1 GGUF) in Hearth's runtime against Hugging Face transformers on
//! the same file: tokenizer ids, the rendered chat template, greedy continuations and logits.
//!
//! References: `fixtures/smollm2_generation.json` and `fixtures/smollm2_tokenizer.json`, made by
//! `fixtures/make_references.py`. The model comes from `scripts/fetch-models`; without it these
//! tests fail.

mod common;

use std::ops::ControlFlow;
use std::sync::OnceLock;

use common::{fixture, floats, ids, smollm2_path};
use hearth_training::{
    DeviceChoice, FinishReason, GenerateOptions, Message, SamplingConfig, TextModel,
};
use serde_json::Value;

/// Reference gaps below this are near-ties: the continuation may legitimately differ after them.
const TIE: f64 = 1e-3;
/// Largest allowed logit difference at steps where the continuations agree.
const LOGIT_TOL: f32 = 1e-2;
/// Steps that must match (unless a near-tie comes first).
const MIN_STEPS: usize = 16;

fn model() -> &'static TextModel {
    static MODEL: OnceLock<TextModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let device = DeviceChoice::Cpu.device().expect("the CPU device");
        TextModel::load(&smollm2_path(), &device).unwrap_or_else(|e| panic!("loading: {e}"))
    })
}

/// Checks our logits at the reference's top-20 tokens; returns the largest difference.
fn check_top_logits(ours: &[f32], reference: &Value, what: &str) -> f32 {
    let ref_ids = ids(&reference["ids"]);
    let ref_values = floats(&reference["values"]);
    let mut worst = 0.0f32;
    for (id, want) in ref_ids.iter().zip(&ref_values) {
        let got = ours[*id as usize];
        worst = worst.max((got - want).abs());
        assert!(
            (got - want).abs() <= LOGIT_TOL,
            "{what}: logit of token {id} is {got}, reference {want}"
        );
    }
    worst
}

#[test]
fn tokenizer_matches_transformers_and_round_trips() {
    let reference = fixture("smollm2_tokenizer.json");
    let tokenizer = model().tokenizer();
    for case in reference["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want = ids(&case["ids"]);
        let got = tokenizer.encode(text, true).unwrap();
        assert_eq!(got, want, "token ids for {text:?}");
        assert_eq!(
            tokenizer.decode(&got, false).unwrap(),
            text,
            "round trip of {text:?}"
        );
    }
    assert_eq!(tokenizer.bos_id(), Some(1));
    assert_eq!(tokenizer.eos_id(), Some(2));
}

#[test]
fn chat_template_renders_like_transformers() {
    let reference = fixture("smollm2_tokenizer.json");
    let chat = &reference["chat"];
    let messages: Vec<Message> = serde_json::from_value(chat["messages"].clone()).unwrap();
    let m = model();
    let rendered = m.render_chat(&messages).unwrap();
    assert_eq!(rendered, chat["rendered"].as_str().unwrap());
    assert_eq!(
        m.encode_chat(&messages).unwrap(),
        ids(&chat["rendered_ids"])
    );
}

#[test]
fn greedy_continuations_and_logits_match_transformers() {
    let reference = fixture("smollm2_generation.json");
    let m = model();
    let file_size = std::fs::metadata(smollm2_path()).unwrap().len();
    assert_eq!(
        Some(file_size),
        reference["file_size"].as_u64(),
        "the model file is not the one the references were made from; rerun scripts/fetch-models"
    );
    let mut worst = 0.0f32;
    for case in reference["cases"].as_array().unwrap() {
        let prompt = case["prompt"].as_str().unwrap();
        let prompt_ids = m.encode_prompt(prompt).unwrap();
        assert_eq!(
            prompt_ids,
            ids(&case["prompt_ids"]),
            "prompt ids of {prompt:?}"
        );

        // The whole prompt in one batched pass: logits at every position.
        let mut cache = m.model().new_cache();
        let all = m
            .model()
            .forward(std::slice::from_ref(&prompt_ids), &mut cache, false)
            .unwrap();
        let [_, seq, vocab] = all.dims();
        assert_eq!(seq, prompt_ids.len());
        let all: Vec<f32> = all.into_data().try_to_vec().unwrap();
        for p in case["prompt_logits"].as_array().unwrap() {
            let pos = p["position"].as_u64().unwrap() as usize;
            let row = &all[pos * vocab..(pos + 1) * vocab];
            let d = check_top_logits(row, p, &format!("{prompt:?} prompt position {pos}"));
            worst = worst.max(d);
        }

        // Greedy decoding with the KV cache.
        let want = ids(&case["tokens"]);
        let gaps: Vec<f64> = case["top2_gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_f64().unwrap())
            .collect();
        let steps = case["step_logits"].as_array().unwrap();
        let mut logits = all[(seq - 1) * vocab..].to_vec();
        let mut matched = 0;
        for (step, &want_id) in want.iter().enumerate() {
            let d = check_top_logits(&logits, &steps[step], &format!("{prompt:?} step {step}"));
            worst = worst.max(d);
            let got = hearth_training::sampling::argmax(&logits);
            if gaps[step] < TIE {
                // A near-tie in the reference: the order of the two best may flip.
                break;
            }
            assert_eq!(
                got,
                want_id,
                "{prompt:?}: step {step} chose {got}, reference {want_id} (so far {:?})",
                &want[..step]
            );
            matched += 1;
            logits = m.last_logits(&[vec![got]], &mut cache).unwrap();
        }
        assert!(
            matched >= MIN_STEPS || gaps.iter().take(matched + 1).any(|&g| g < TIE),
            "{prompt:?}: only {matched} steps compared"
        );
        eprintln!("{prompt:?}: {matched} greedy steps equal to the reference");
    }
    eprintln!("largest logit difference from the reference: {worst:.2e}");
}

#[test]
fn generate_streams_the_reference_text_and_stops_at_end_of_turn() {
    let reference = fixture("smollm2_generation.json");
    let m = model();
    // The chat-formatted case: the reference ends the turn with <|im_end|> (id 2).
    let case = reference["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["prompt"].as_str().unwrap().starts_with("<|im_start|>"))
        .unwrap();
    let want = ids(&case["tokens"]);
    let end = want.iter().position(|&t| t == 2).unwrap();
    let prompt = m.encode_prompt(case["prompt"].as_str().unwrap()).unwrap();
    let options = GenerateOptions {
        max_tokens: 32,
        sampling: SamplingConfig::greedy(),
        stop: Vec::new(),
        stop_at_eos: true,
    };
    let mut streamed = String::new();
    let mut count = 0;
    let generation = m
        .generate(&prompt, &options, &mut |event| {
            streamed.push_str(event.text);
            count += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(generation.tokens, want[..end]);
    assert_eq!(generation.finish_reason, FinishReason::Stop);
    assert_eq!(generation.prompt_tokens, prompt.len());
    assert_eq!(count, end);
    assert_eq!(streamed, generation.text);
    assert_eq!(
        generation.text,
        m.tokenizer().decode(&want[..end], true).unwrap()
    );
    assert!(generation.tokens_per_s() > 0.0);

    // A stop string cuts the text and is never streamed.
    let options = GenerateOptions {
        stop: vec![" is".into()],
        ..options
    };
    let mut streamed = String::new();
    let g = m
        .generate(&prompt, &options, &mut |e| {
            streamed.push_str(e.text);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(g.text, "12 times 7");
    assert_eq!(streamed, "12 times 7");
    assert_eq!(g.finish_reason, FinishReason::Stop);
}

#[test]
fn sampling_is_deterministic_for_a_seed() {
    let m = model();
    let prompt = m.encode_prompt("My favourite animal is").unwrap();
    let run = |seed| {
        let options = GenerateOptions {
            max_tokens: 8,
            sampling: SamplingConfig {
                temperature: 0.9,
                seed: Some(seed),
                ..SamplingConfig::default()
            },
            stop: Vec::new(),
            stop_at_eos: false,
        };
        m.generate(&prompt, &options, &mut |_| ControlFlow::Continue(()))
            .unwrap()
    };
    let a = run(42);
    assert_eq!(a.tokens.len(), 8);
    assert_eq!(a.finish_reason, FinishReason::Length);
    assert_eq!(a.tokens, run(42).tokens);
}

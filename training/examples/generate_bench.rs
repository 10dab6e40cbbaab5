//! Greedy generation with Hearth's runtime, printing what `hearth generate --json` prints, for
//! `bench/models/run.sh` (this binary needs only this crate, not the whole CLI).
//!
//! Usage: `generate_bench MODEL.gguf PROMPT MAX_TOKENS` — generates past end-of-sequence tokens.

use std::ops::ControlFlow;

use hearth_training::{DeviceChoice, GenerateOptions, SamplingConfig, TextModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, prompt, max_tokens] = args.as_slice() else {
        eprintln!("usage: generate_bench MODEL.gguf PROMPT MAX_TOKENS");
        std::process::exit(2);
    };
    let device = DeviceChoice::from_env()?.device()?;
    let model = TextModel::load(std::path::Path::new(model), &device)?;
    let prompt = model.encode_prompt(prompt)?;
    let options = GenerateOptions {
        max_tokens: max_tokens.parse()?,
        sampling: SamplingConfig::greedy(),
        stop: Vec::new(),
        stop_at_eos: false,
    };
    let g = model.generate(&prompt, &options, &mut |_| ControlFlow::Continue(()))?;
    println!(
        "{{\"prompt_tokens\":{},\"generated\":{},\"prompt_tokens_per_s\":{:.3},\"tokens_per_s\":{:.3}}}",
        g.prompt_tokens,
        g.tokens.len(),
        g.prompt_tokens_per_s(),
        g.tokens_per_s()
    );
    Ok(())
}

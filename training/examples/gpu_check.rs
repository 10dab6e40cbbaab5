//! A GPU backend checked against the CPU path, and its speed: for `bench/gpu/run.sh` on a machine
//! with a GPU (build with `--features cuda` or `--features vulkan`).
//!
//! Usage: `gpu_check MODEL.gguf [MAX_TOKENS]`; the GPU is `$HEARTH_DEVICE` (default `cuda:0`). Prints one JSON object: for each fixed prompt the
//! greedy continuation on the CPU and on the GPU and how many leading tokens agree, then the
//! prompt-processing and generation speed of both devices on a ~160-token prompt (median of
//! three runs after a warm-up), and the prompt's token ids (so a PyTorch run can use the same).

use std::ops::ControlFlow;
use std::path::Path;

use hearth_training::{DeviceChoice, GenerateOptions, Generation, SamplingConfig, TextModel};

const PROMPTS: [&str; 4] = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):",
    "My favourite way to spend a rainy Sunday afternoon is",
];

const BENCH_PARAGRAPH: &str = "Hearth keeps a person's messages, posts, mail and journals in one \
    encrypted vault on their own machine, and serves a small private model that can read them \
    only under grants the owner signs. ";

fn run(
    model: &TextModel,
    ids: &[u32],
    max_tokens: usize,
) -> Result<Generation, Box<dyn std::error::Error>> {
    let options = GenerateOptions {
        max_tokens,
        sampling: SamplingConfig::greedy(),
        stop: Vec::new(),
        stop_at_eos: false,
    };
    Ok(model.generate(ids, &options, &mut |_| ControlFlow::Continue(()))?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn speed(
    model: &TextModel,
    ids: &[u32],
    max_tokens: usize,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    run(model, ids, 8)?; // warm-up (kernel compilation on the GPU)
    let mut pp = Vec::new();
    let mut tg = Vec::new();
    for _ in 0..3 {
        let g = run(model, ids, max_tokens)?;
        pp.push(g.prompt_tokens_per_s());
        tg.push(g.tokens_per_s());
    }
    Ok((median(pp), median(tg)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: gpu_check MODEL.gguf [MAX_TOKENS]");
        std::process::exit(2);
    };
    let max_tokens: usize = args.get(1).map_or(Ok(128), |s| s.parse())?;
    let cpu = TextModel::load(Path::new(path), &DeviceChoice::Cpu.device()?)?;
    let choice = match std::env::var("HEARTH_DEVICE") {
        Ok(name) => name.parse()?,
        Err(_) => DeviceChoice::Cuda(0),
    };
    let gpu = TextModel::load(Path::new(path), &choice.device()?)?;

    let mut checks = Vec::new();
    let mut all_agree = true;
    for prompt in PROMPTS {
        let ids = cpu.encode_prompt(prompt)?;
        let a = run(&cpu, &ids, 24)?;
        let b = run(&gpu, &ids, 24)?;
        let agree = a
            .tokens
            .iter()
            .zip(&b.tokens)
            .take_while(|(x, y)| x == y)
            .count();
        all_agree &= agree >= 16;
        checks.push(serde_json::json!({
            "prompt": prompt, "prompt_ids": ids, "cpu": a.tokens, "gpu": b.tokens, "agree": agree,
            "gpu_text": b.text,
        }));
    }

    let bench_ids = cpu.encode_prompt(&BENCH_PARAGRAPH.repeat(5))?;
    let (gpu_pp, gpu_tg) = speed(&gpu, &bench_ids, max_tokens)?;
    let (cpu_pp, cpu_tg) = speed(&cpu, &bench_ids, max_tokens)?;
    let report = serde_json::json!({
        "model": path,
        "checks": checks,
        "first_16_agree_everywhere": all_agree,
        "bench_prompt_ids": bench_ids,
        "max_tokens": max_tokens,
        "gpu_device": choice.to_string(),
        "gpu": {"prompt_tokens_per_s": gpu_pp, "tokens_per_s": gpu_tg},
        "cpu": {"prompt_tokens_per_s": cpu_pp, "tokens_per_s": cpu_tg,
                "threads": std::thread::available_parallelism().map_or(1, |n| n.get())},
    });
    println!("{report}");
    if all_agree {
        Ok(())
    } else {
        Err("the CPU and the GPU disagree within the first 16 greedy tokens".into())
    }
}

//! `generate`, `chat` and `embed`: the local models, no vault needed.
//!
//! Models are found at `--model PATH`, else under `$HEARTH_MODELS_DIR`, else under the `models/`
//! folder of the repository the binary was built from (`scripts/fetch-models` fills it):
//! `smollm2/*.gguf` for text and `all-minilm-l6-v2/` for embeddings. The backend is the CPU
//! unless `--device` / `HEARTH_DEVICE` says `cuda` (builds with the `cuda` feature).

use std::io::{BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use hearth_training::{
    DeviceChoice, GenerateOptions, Message, SamplingConfig, SentenceEncoder, TextModel,
};
use hearth_web::engine;
use serde::Serialize;

use super::output::print_json;
use super::{Global, UsageError};

/// Where the model comes from and what runs it.
#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    /// A .gguf file or a Hugging Face model directory [default: from $HEARTH_MODELS_DIR or the
    /// repository's models/ folder]
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Backend: cpu, vulkan[:N] or cuda[:N] (GPUs need a build with the `vulkan` or `cuda` feature)
    #[arg(long, env = "HEARTH_DEVICE", value_name = "DEVICE")]
    device: Option<String>,
}

/// Sampling settings shared by `generate` and `chat`.
#[derive(Debug, Args)]
pub(crate) struct SamplingArgs {
    /// Most tokens to generate
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_tokens: usize,
    /// 0 is greedy decoding
    #[arg(long, default_value_t = 0.8, value_name = "T")]
    temperature: f32,
    /// Random seed, for reproducible sampling
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Sample from the K most likely tokens only (0 = all)
    #[arg(long, default_value_t = 40, value_name = "K")]
    top_k: usize,
    /// Nucleus sampling threshold (1 = off)
    #[arg(long, default_value_t = 0.95, value_name = "P")]
    top_p: f32,
    /// Drop tokens less likely than this fraction of the best one (0 = off)
    #[arg(long, default_value_t = 0.05, value_name = "P")]
    min_p: f32,
    /// Penalize recently generated tokens (1 = off)
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    repeat_penalty: f32,
    /// Stop when the text contains this (repeatable)
    #[arg(long, value_name = "TEXT")]
    stop: Vec<String>,
    /// Keep generating past the end-of-sequence token (for benchmarks)
    #[arg(long)]
    ignore_eos: bool,
}

/// `hearth generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The prompt, as raw text (BOS as the model's metadata says; no chat template)
    #[arg(long, value_name = "TEXT")]
    prompt: String,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
}

/// `hearth chat`.
#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// A system message to start the conversation with
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
}

/// `hearth embed`.
#[derive(Debug, Args)]
pub(crate) struct EmbedArgs {
    /// Texts to embed; with none, one text per line from standard input
    #[arg(value_name = "TEXT")]
    texts: Vec<String>,
    #[command(flatten)]
    model: ModelArgs,
    /// Texts per batch
    #[arg(long, default_value_t = 32, value_name = "N")]
    batch_size: usize,
}

/// `hearth generate --json`.
#[derive(Serialize)]
struct GenerationJson<'a> {
    text: &'a str,
    tokens: &'a [u32],
    prompt_tokens: usize,
    tokens_per_s: f64,
    prompt_tokens_per_s: f64,
    finish_reason: &'static str,
}

impl ModelArgs {
    fn device(&self) -> anyhow::Result<hearth_training::Device> {
        let choice = match &self.device {
            Some(d) => d
                .parse::<DeviceChoice>()
                .map_err(|e| UsageError(e.to_string()))?,
            None => DeviceChoice::Cpu,
        };
        Ok(choice.device()?)
    }

    /// The text model's path: `--model`, or the default `.gguf`.
    fn text_model_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(path) = &self.model
            && !path.exists()
        {
            return Err(UsageError(format!("--model {}: no such file", path.display())).into());
        }
        Ok(engine::text_model_path(self.model.as_deref())?)
    }

    /// The embedding model's directory: `--model`, or the default.
    fn embed_model_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(engine::embed_model_dir(self.model.as_deref())?)
    }

    fn load_text_model(&self) -> anyhow::Result<TextModel> {
        let path = self.text_model_path()?;
        let device = self.device()?;
        TextModel::load(&path, &device)
            .with_context(|| format!("cannot load the model {}", path.display()))
    }
}

impl SamplingArgs {
    fn options(&self) -> anyhow::Result<GenerateOptions> {
        let sampling = SamplingConfig {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repetition_penalty: self.repeat_penalty,
            repeat_last_n: 64,
            seed: self.seed,
        };
        sampling.validate().map_err(|e| UsageError(e.to_string()))?;
        Ok(GenerateOptions {
            max_tokens: self.max_tokens,
            sampling,
            stop: self.stop.clone(),
            stop_at_eos: !self.ignore_eos,
        })
    }
}

/// `hearth generate`: a continuation of a raw prompt.
pub(crate) fn generate(global: &Global, args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let options = args.sampling.options()?;
    let model = args.model.load_text_model()?;
    let prompt = model.encode_prompt(&args.prompt)?;
    let json = global.json;
    let mut out = std::io::stdout().lock();
    let mut write_error: Option<std::io::Error> = None;
    let generation = model.generate(&prompt, &options, &mut |event| {
        if json || event.text.is_empty() {
            return ControlFlow::Continue(());
        }
        match out
            .write_all(event.text.as_bytes())
            .and_then(|()| out.flush())
        {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                write_error = Some(e);
                ControlFlow::Break(())
            }
        }
    })?;
    if let Some(e) = write_error {
        return Err(e).context("writing to standard output");
    }
    if json {
        drop(out);
        print_json(&GenerationJson {
            text: &generation.text,
            tokens: &generation.tokens,
            prompt_tokens: generation.prompt_tokens,
            tokens_per_s: generation.tokens_per_s(),
            prompt_tokens_per_s: generation.prompt_tokens_per_s(),
            finish_reason: generation.finish_reason.as_str(),
        })?;
    } else {
        writeln!(out)?;
        out.flush()?;
        eprintln!(
            "[{} prompt tokens, {} generated, {:.1} tokens/s, {}]",
            generation.prompt_tokens,
            generation.tokens.len(),
            generation.tokens_per_s(),
            generation.finish_reason.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth chat`: a conversation with the chat template. On a terminal it is interactive
/// (`/reset` starts over, `/exit` or end of input leaves); otherwise each line of standard input
/// is one user turn and each reply is printed on its own line(s), followed by a blank line (or,
/// with `--json`, one JSON object per reply).
pub(crate) fn chat(global: &Global, args: ChatArgs) -> anyhow::Result<ExitCode> {
    let options = args.sampling.options()?;
    let model = args.model.load_text_model()?;
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal() && !global.json;
    let start: Vec<Message> = args
        .system
        .iter()
        .map(|s| Message::new("system", s.clone()))
        .collect();
    let mut messages = start.clone();
    if interactive {
        eprintln!(
            "Chatting with {} (/reset to start over, /exit or Ctrl-D to leave).",
            model.source().display()
        );
    }
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            eprint!("> ");
            std::io::stderr().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line.context("reading standard input")?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if interactive {
            match text {
                "/exit" | "/quit" => break,
                "/reset" => {
                    messages = start.clone();
                    continue;
                }
                _ => {}
            }
        }
        messages.push(Message::new("user", text));
        let prompt = model.encode_chat(&messages)?;
        let mut out = std::io::stdout().lock();
        let stream = !global.json;
        let generation = model.generate(&prompt, &options, &mut |event| {
            if stream && !event.text.is_empty() {
                let _ = out.write_all(event.text.as_bytes());
                let _ = out.flush();
            }
            ControlFlow::Continue(())
        })?;
        let reply = generation.text.trim().to_owned();
        if global.json {
            drop(out);
            print_json(&serde_json::json!({
                "role": "assistant",
                "content": reply,
                "tokens": generation.tokens.len(),
                "tokens_per_s": generation.tokens_per_s(),
                "finish_reason": generation.finish_reason.as_str(),
            }))?;
        } else {
            writeln!(out)?;
            if !interactive {
                writeln!(out)?;
            }
            out.flush()?;
        }
        messages.push(Message::new("assistant", reply));
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth embed`: one unit vector per text.
pub(crate) fn embed(global: &Global, args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let mut texts = args.texts.clone();
    if texts.is_empty() {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(UsageError("give texts to embed, or pipe them one per line".into()).into());
        }
        for line in stdin.lock().lines() {
            texts.push(line.context("reading standard input")?);
        }
    }
    let dir = args.model.embed_model_dir()?;
    let device = args.model.device()?;
    let encoder = SentenceEncoder::load(&dir, &device)
        .with_context(|| format!("cannot load the embedding model {}", dir.display()))?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = encoder.embed(&refs, args.batch_size)?;
    if global.json {
        print_json(&vectors)?;
    } else {
        let mut out = std::io::stdout().lock();
        for v in &vectors {
            let line: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
            writeln!(out, "{}", line.join(" "))?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

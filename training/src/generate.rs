//! Text generation: a [`TextModel`] (decoder + tokenizer + chat template) loaded from a GGUF
//! file or a Hugging Face directory, and the generation loop — one batched prefill of the
//! prompt, then one cached step per token, with sampling, stop tokens, stop strings, a token
//! limit and a streaming callback.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;

use crate::chat::{CHATML_TEMPLATE, ChatTemplate, Message};
use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::llama::Llama;
use crate::sampling::{Sampler, SamplingConfig};
use crate::tokenizer::{Tokenizer, read_json};

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// The most tokens to generate.
    pub max_tokens: usize,
    /// How to pick them.
    pub sampling: SamplingConfig,
    /// Stop when the text contains one of these (the stop string is not part of the result).
    pub stop: Vec<String>,
    /// Stop at the model's end-of-sequence / end-of-turn tokens.
    pub stop_at_eos: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            sampling: SamplingConfig::default(),
            stop: Vec::new(),
            stop_at_eos: true,
        }
    }
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// `max_tokens` or the context length.
    Length,
    /// The streaming callback asked to stop.
    Cancelled,
}

impl FinishReason {
    /// `stop`, `length` or `cancelled` (OpenAI's names for the first two).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One generated token, as handed to the streaming callback.
#[derive(Clone, Copy, Debug)]
pub struct TokenEvent<'a> {
    /// The token id.
    pub id: u32,
    /// New text that is now final (empty while a multi-byte character or a possible stop
    /// string is incomplete).
    pub text: &'a str,
}

/// The result of a generation.
#[derive(Clone, Debug)]
pub struct Generation {
    /// The generated token ids (the stop token excluded).
    pub tokens: Vec<u32>,
    /// Their text, up to any stop string.
    pub text: String,
    /// How many prompt tokens there were.
    pub prompt_tokens: usize,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Seconds spent on the prompt (the batched prefill).
    pub prefill_secs: f64,
    /// Seconds spent generating after the prompt.
    pub decode_secs: f64,
}

impl Generation {
    /// Generated tokens per second of decoding (after the prompt).
    pub fn tokens_per_s(&self) -> f64 {
        if self.decode_secs > 0.0 {
            self.tokens.len() as f64 / self.decode_secs
        } else {
            0.0
        }
    }

    /// Prompt tokens per second of prefill.
    pub fn prompt_tokens_per_s(&self) -> f64 {
        if self.prefill_secs > 0.0 {
            self.prompt_tokens as f64 / self.prefill_secs
        } else {
            0.0
        }
    }
}

/// A chat/completion model ready to generate.
#[derive(Debug)]
pub struct TextModel {
    model: Llama,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    source: PathBuf,
}

impl TextModel {
    /// Loads a `.gguf` file, or a Hugging Face Llama directory (`config.json`, `*.safetensors`,
    /// `tokenizer.json`, optionally `tokenizer_config.json` with the chat template).
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        if path.is_dir() {
            Self::from_hf_dir(path, device)
        } else {
            Self::from_gguf_file(path, device)
        }
    }

    /// Loads a GGUF file.
    pub fn from_gguf_file(path: &Path, device: &Device) -> Result<Self> {
        let file = std::sync::Arc::new(GgufFile::open(path)?);
        let gguf = file.parse()?;
        let meta = gguf.tokenizer()?;
        let tokenizer = Tokenizer::from_gguf(&meta)?;
        let model = Llama::from_gguf_file(&file, device)?;
        if tokenizer.vocab_size() > model.config().vocab_size {
            return Err(Error::InvalidModel(format!(
                "the tokenizer has {} tokens but the model only {}",
                tokenizer.vocab_size(),
                model.config().vocab_size
            )));
        }
        let template = Self::template(meta.chat_template, &tokenizer)?;
        Ok(Self {
            model,
            tokenizer,
            template,
            source: path.to_owned(),
        })
    }

    /// Loads a Hugging Face Llama directory.
    pub fn from_hf_dir(dir: &Path, device: &Device) -> Result<Self> {
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        let config_path = dir.join("tokenizer_config.json");
        let chat_template = if config_path.is_file() {
            read_json(&config_path)?
                .get("chat_template")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        } else {
            None
        };
        let model = Llama::from_hf_dir(dir, device)?;
        let template = Self::template(chat_template.as_deref(), &tokenizer)?;
        Ok(Self {
            model,
            tokenizer,
            template,
            source: dir.to_owned(),
        })
    }

    fn template(source: Option<&str>, tokenizer: &Tokenizer) -> Result<ChatTemplate> {
        ChatTemplate::new(
            source.unwrap_or(CHATML_TEMPLATE),
            &tokenizer.bos_token().unwrap_or_default(),
            &tokenizer.eos_token().unwrap_or_default(),
        )
    }

    /// The decoder.
    pub fn model(&self) -> &Llama {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Where the model was loaded from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Token ids for a raw prompt, with BOS as the model's metadata says.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text, true)
    }

    /// The chat template applied to `messages`, ending with the assistant's turn opened.
    pub fn render_chat(&self, messages: &[Message]) -> Result<String> {
        self.template.render(messages, true)
    }

    /// Token ids for a conversation (the rendered template supplies any BOS itself).
    pub fn encode_chat(&self, messages: &[Message]) -> Result<Vec<u32>> {
        self.tokenizer.encode(&self.render_chat(messages)?, false)
    }

    /// Generates after `prompt` (token ids). `on_token` sees each token and the text it makes
    /// final; returning `ControlFlow::Break` stops generation.
    pub fn generate(
        &self,
        prompt: &[u32],
        options: &GenerateOptions,
        on_token: &mut dyn FnMut(TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation> {
        let prompt: Vec<u32> = if prompt.is_empty() {
            match self.tokenizer.bos_id() {
                Some(bos) => vec![bos],
                None => return Err(Error::InvalidArgument("empty prompt".into())),
            }
        } else {
            prompt.to_vec()
        };
        let context = self.model.config().context_length;
        if prompt.len() >= context {
            return Err(Error::ContextOverflow {
                tokens: prompt.len() + 1,
                context,
            });
        }
        let mut sampler = Sampler::new(options.sampling.clone())?;
        let max_tokens = options.max_tokens.min(context - prompt.len());
        let stops: Vec<&str> = options
            .stop
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let stop_ids = self.tokenizer.stop_ids();

        let mut cache = self.model.new_cache();
        let start = Instant::now();
        let mut logits = if max_tokens > 0 {
            self.last_logits(std::slice::from_ref(&prompt), &mut cache)?
        } else {
            Vec::new()
        };
        let prefill_secs = start.elapsed().as_secs_f64();
        let decode_start = Instant::now();

        let mut history = prompt.clone();
        let mut tokens = Vec::new();
        let mut stream = self.tokenizer.stream_decoder();
        let mut text = String::new();
        let mut released = 0usize;
        let mut finish = FinishReason::Length;
        while tokens.len() < max_tokens {
            let id = sampler.sample(&mut logits, &history)?;
            if options.stop_at_eos && stop_ids.contains(&id) {
                finish = FinishReason::Stop;
                break;
            }
            tokens.push(id);
            history.push(id);
            text.push_str(&stream.push(id)?);
            let mut stopped = false;
            if let Some(pos) = find_stop(&text, &stops, released) {
                text.truncate(pos);
                stopped = true;
            }
            let safe = if stopped {
                text.len()
            } else {
                text.len() - held_back(&text, &stops, released)
            };
            let piece = text.get(released..safe).unwrap_or_default();
            let flow = on_token(TokenEvent { id, text: piece });
            released = safe.max(released);
            if stopped {
                finish = FinishReason::Stop;
                break;
            }
            if flow.is_break() {
                finish = FinishReason::Cancelled;
                break;
            }
            if tokens.len() < max_tokens {
                logits = self.last_logits(&[vec![id]], &mut cache)?;
            }
        }
        // Text held back for a stop string that never came.
        if finish != FinishReason::Stop && released < text.len() {
            let piece = text.get(released..).unwrap_or_default();
            if let Some(&id) = tokens.last() {
                let _ = on_token(TokenEvent { id, text: piece });
            }
        }
        Ok(Generation {
            tokens,
            text,
            prompt_tokens: prompt.len(),
            finish_reason: finish,
            prefill_secs,
            decode_secs: decode_start.elapsed().as_secs_f64(),
        })
    }

    /// The logits of the last position after running `tokens`.
    pub fn last_logits(
        &self,
        tokens: &[Vec<u32>],
        cache: &mut crate::llama::KvCache,
    ) -> Result<Vec<f32>> {
        let (logits, _) = self.model.forward_host_logits(tokens, cache, true)?;
        Ok(logits)
    }
}

/// The byte offset of the first stop string in `text` that ends after `from`.
fn find_stop(text: &str, stops: &[&str], from: usize) -> Option<usize> {
    stops
        .iter()
        .filter_map(|s| {
            // A stop string may straddle the released boundary: search from a bit before it.
            let mut begin = from.saturating_sub(s.len());
            while !text.is_char_boundary(begin) {
                begin -= 1;
            }
            text.get(begin..)?.find(s).map(|p| p + begin)
        })
        .min()
}

/// How many trailing bytes of `text` (after `from`) could be the start of a stop string.
fn held_back(text: &str, stops: &[&str], from: usize) -> usize {
    let tail = text.get(from..).unwrap_or_default();
    let mut hold = 0;
    for s in stops {
        for (i, _) in tail.char_indices() {
            let suffix = &tail[i..];
            if s.starts_with(suffix) {
                hold = hold.max(suffix.len());
                break;
            }
        }
    }
    hold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_strings_are_found_and_held_back() {
        assert_eq!(find_stop("hello world", &["wor"], 0), Some(6));
        assert_eq!(find_stop("hello world", &["xyz"], 0), None);
        assert_eq!(find_stop("ab", &["b", "a"], 0), Some(0));
        assert_eq!(held_back("hello wo", &["world"], 0), 2);
        assert_eq!(held_back("hello", &["world"], 0), 0);
        assert_eq!(held_back("ééw", &["wé"], 0), 1);
    }
}

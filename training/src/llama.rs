//! The Llama-family decoder in burn: token embedding, `n` blocks of (RMSNorm → grouped-query
//! attention with rotary position embedding → residual, RMSNorm → SwiGLU → residual), a final
//! RMSNorm and a tied or separate output head; with a KV cache so that a prompt is processed in
//! one batched pass and each further token in one small pass.
//!
//! # RoPE and the GGUF Q/K permutation
//!
//! Hugging Face checkpoints rotate the two *halves* of each head (`x[i]` with `x[i + d/2]`).
//! llama.cpp's converter permutes the rows of `attn_q`/`attn_k` for the `llama` architecture so
//! that llama.cpp can rotate *adjacent pairs* (`x[2i]` with `x[2i+1]`, its "normal" RoPE mode).
//! So weights from GGUF use [`RopeStyle::Adjacent`] and weights from safetensors use
//! [`RopeStyle::Half`]; both compute the same function, which the logits tests against
//! transformers (which un-permutes the GGUF weights) check.

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::tensor::module::{attention, embedding};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::gguf::{Gguf, GgufFile};
use crate::nn::{Linear, RmsNorm};
use crate::quant::QuantMatrix;
use crate::weights::{GgufWeights, HostTensor, WeightSource};

/// Which pairs of a head's dimensions RoPE rotates together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// `(x[2i], x[2i+1])`: llama.cpp's normal mode, for GGUF `llama` weights.
    Adjacent,
    /// `(x[i], x[i + d/2])`: Hugging Face / GPT-NeoX, for safetensors weights.
    Half,
}

/// The hyperparameters of a Llama-family model.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Model width.
    pub dim: usize,
    /// Number of blocks.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_heads`).
    pub n_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Hidden width of the SwiGLU feed-forward.
    pub ffn_dim: usize,
    /// RMSNorm epsilon.
    pub rms_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f64,
    /// Linear RoPE scaling: positions are divided by this (1 = none).
    pub rope_linear_factor: f64,
    /// Which dimensions RoPE pairs up.
    pub rope_style: RopeStyle,
    /// The context the model was trained for.
    pub context_length: usize,
}

fn usize_of(v: u32) -> usize {
    v as usize
}

impl LlamaConfig {
    /// The hyperparameters in a GGUF file's metadata (architecture `llama`).
    pub fn from_gguf(gguf: &Gguf<'_>) -> Result<Self> {
        let arch = gguf.architecture()?;
        if arch != "llama" {
            return Err(Error::Unsupported(format!(
                "GGUF architecture {arch:?} (supported: llama)"
            )));
        }
        let dim = usize_of(gguf.embedding_length()?);
        let n_heads = usize_of(gguf.head_count()?);
        let n_kv_heads = usize_of(gguf.head_count_kv()?);
        if n_heads == 0 || !dim.is_multiple_of(n_heads) {
            return Err(Error::InvalidModel(format!(
                "embedding length {dim} is not a multiple of {n_heads} heads"
            )));
        }
        let head_dim = match gguf.opt_u32(&gguf.arch_key("attention.key_length")?)? {
            Some(k) => usize_of(k),
            None => dim / n_heads,
        };
        if let Some(rope_dims) = gguf.rope_dimension_count()?
            && usize_of(rope_dims) != head_dim
        {
            return Err(Error::Unsupported(format!(
                "partial RoPE ({rope_dims} of {head_dim} dimensions)"
            )));
        }
        let scaling_type = gguf.opt_str(&gguf.arch_key("rope.scaling.type")?)?;
        let scaling_factor = gguf.opt_f32(&gguf.arch_key("rope.scaling.factor")?)?;
        let rope_linear_factor = match (scaling_type, scaling_factor) {
            (None | Some("none"), _) | (_, None) => 1.0,
            (Some("linear"), Some(f)) if f > 0.0 => f64::from(f),
            (Some(other), _) => {
                return Err(Error::Unsupported(format!("RoPE scaling {other:?}")));
            }
        };
        let config = Self {
            vocab_size: gguf.vocab_size()?,
            dim,
            n_layers: usize_of(gguf.block_count()?),
            n_heads,
            n_kv_heads,
            head_dim,
            ffn_dim: usize_of(gguf.feed_forward_length()?),
            rms_eps: f64::from(gguf.rms_norm_epsilon()?),
            rope_theta: f64::from(gguf.rope_freq_base()?.unwrap_or(10_000.0)),
            rope_linear_factor,
            rope_style: RopeStyle::Adjacent,
            context_length: usize_of(gguf.context_length()?),
        };
        config.validate()?;
        Ok(config)
    }

    /// The hyperparameters in a Hugging Face `config.json` (`LlamaForCausalLM` and friends).
    pub fn from_hf_config(config: &serde_json::Value) -> Result<Self> {
        let get = |k: &str| -> Result<usize> {
            config
                .get(k)
                .and_then(serde_json::Value::as_u64)
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| Error::InvalidModel(format!("config.json: missing or bad {k:?}")))
        };
        let model_type = config
            .get("model_type")
            .and_then(|v| v.as_str())
            .unwrap_or("llama");
        if model_type != "llama" && model_type != "mistral" {
            return Err(Error::Unsupported(format!(
                "config.json model_type {model_type:?} (supported: llama, mistral)"
            )));
        }
        let dim = get("hidden_size")?;
        let n_heads = get("num_attention_heads")?;
        if n_heads == 0 {
            return Err(Error::InvalidModel("num_attention_heads is 0".into()));
        }
        let rope = config
            .get("rope_parameters")
            .or_else(|| config.get("rope_scaling"));
        let rope_theta = config
            .get("rope_theta")
            .or_else(|| rope.and_then(|r| r.get("rope_theta")))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(10_000.0);
        let rope_type = rope
            .and_then(|r| r.get("rope_type").or_else(|| r.get("type")))
            .and_then(|t| t.as_str())
            .unwrap_or("default");
        let rope_linear_factor = match rope_type {
            "default" => 1.0,
            "linear" => rope
                .and_then(|r| r.get("factor"))
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1.0),
            other => return Err(Error::Unsupported(format!("RoPE scaling {other:?}"))),
        };
        let config_out = Self {
            vocab_size: get("vocab_size")?,
            dim,
            n_layers: get("num_hidden_layers")?,
            n_heads,
            n_kv_heads: get("num_key_value_heads").unwrap_or(n_heads),
            head_dim: get("head_dim").unwrap_or(dim / n_heads),
            ffn_dim: get("intermediate_size")?,
            rms_eps: config
                .get("rms_norm_eps")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1e-5),
            rope_theta,
            rope_linear_factor,
            rope_style: RopeStyle::Half,
            context_length: get("max_position_embeddings").unwrap_or(2048),
        };
        config_out.validate()?;
        Ok(config_out)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidModel(m));
        if self.vocab_size == 0 || self.dim == 0 || self.n_layers == 0 || self.ffn_dim == 0 {
            return bad(format!("empty dimension in {self:?}"));
        }
        if self.n_kv_heads == 0 || !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return bad(format!(
                "{} heads cannot share {} key/value heads",
                self.n_heads, self.n_kv_heads
            ));
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return bad(format!("head dimension {} must be even", self.head_dim));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 0.0) {
            return bad(format!("RoPE base {}", self.rope_theta));
        }
        if self.n_layers > 4096 || self.dim > 1 << 16 || self.vocab_size > 1 << 22 {
            return bad(format!("absurd hyperparameters {self:?}"));
        }
        Ok(())
    }
}

/// Grouped-query self-attention.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection `[dim, n_heads·head_dim]`.
    pub wq: Linear,
    /// Key projection `[dim, n_kv_heads·head_dim]`.
    pub wk: Linear,
    /// Value projection `[dim, n_kv_heads·head_dim]`.
    pub wv: Linear,
    /// Output projection `[n_heads·head_dim, dim]`.
    pub wo: Linear,
    n_heads: usize,
    n_kv_heads: usize,
    head_dim: usize,
}

/// The SwiGLU feed-forward: `down(silu(gate(x)) · up(x))`.
#[derive(Module, Debug)]
pub struct FeedForward {
    /// `[dim, ffn_dim]`.
    pub gate: Linear,
    /// `[dim, ffn_dim]`.
    pub up: Linear,
    /// `[ffn_dim, dim]`.
    pub down: Linear,
}

/// One transformer block.
#[derive(Module, Debug)]
pub struct Block {
    /// Norm before attention.
    pub attn_norm: RmsNorm,
    /// Self-attention.
    pub attn: Attention,
    /// Norm before the feed-forward.
    pub ffn_norm: RmsNorm,
    /// Feed-forward.
    pub ffn: FeedForward,
}

/// Cached keys and values of the positions seen so far, per layer: burn tensors for the burn
/// forward pass, or host vectors for the host decode path (see [`Llama::forward`]); a cache holds
/// one kind or the other.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    pub(crate) host: Vec<crate::host::HostKv>,
    pub(crate) len: usize,
}

impl KvCache {
    /// An empty cache for `n_layers` layers.
    pub fn new(n_layers: usize) -> Self {
        Self {
            layers: vec![None; n_layers],
            host: vec![crate::host::HostKv::default(); n_layers],
            len: 0,
        }
    }

    fn has_burn_state(&self) -> bool {
        self.layers.iter().any(Option::is_some)
    }

    fn has_host_state(&self) -> bool {
        self.host.iter().any(|l| !l.is_empty())
    }

    /// Positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.layers.iter_mut().for_each(|l| *l = None);
        self.host.iter_mut().for_each(crate::host::HostKv::clear);
        self.len = 0;
    }
}

/// Rotary position embedding tables.
#[derive(Clone, Debug)]
pub(crate) struct Rope {
    inv_freq: Vec<f64>,
    style: RopeStyle,
    linear_factor: f64,
}

impl Rope {
    fn new(config: &LlamaConfig, freq_factors: Option<&[f32]>) -> Self {
        let half = config.head_dim / 2;
        let inv_freq = (0..half)
            .map(|i| {
                let f = 1.0
                    / config
                        .rope_theta
                        .powf((2 * i) as f64 / config.head_dim as f64);
                match freq_factors.and_then(|ff| ff.get(i)) {
                    Some(&factor) if factor > 0.0 => f / f64::from(factor),
                    _ => f,
                }
            })
            .collect();
        Self {
            inv_freq,
            style: config.rope_style,
            linear_factor: config.rope_linear_factor,
        }
    }

    /// `cos` and `sin` for positions `start..start + len`, `[len, head_dim/2]`, on the host.
    pub(crate) fn host_tables(&self, start: usize, len: usize) -> (Vec<f32>, Vec<f32>) {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for p in start..start + len {
            let pos = p as f64 / self.linear_factor;
            for &f in &self.inv_freq {
                let angle = pos * f;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        (cos, sin)
    }

    /// Which dimensions rotate together.
    pub(crate) fn style(&self) -> RopeStyle {
        self.style
    }

    /// `cos` and `sin` for positions `start..start + len`, `[len, head_dim/2]`.
    fn tables(&self, start: usize, len: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let half = self.inv_freq.len();
        let (cos, sin) = self.host_tables(start, len);
        (
            Tensor::from_data(TensorData::new(cos, [len, half]), device),
            Tensor::from_data(TensorData::new(sin, [len, half]), device),
        )
    }

    /// Rotates `x: [batch, seq, heads, head_dim]`.
    fn apply(&self, x: Tensor<4>, cos: &Tensor<2>, sin: &Tensor<2>) -> Tensor<4> {
        let [b, s, h, d] = x.dims();
        let half = d / 2;
        match self.style {
            RopeStyle::Adjacent => {
                let x = x.reshape([b, s, h, half, 2]);
                let cos: Tensor<5> = cos.clone().reshape([1, s, 1, half, 1]);
                let sin: Tensor<5> = sin.clone().reshape([1, s, 1, half, 1]);
                let x0 = x.clone().narrow(4, 0, 1);
                let x1 = x.narrow(4, 1, 1);
                let r0 = x0.clone() * cos.clone() - x1.clone() * sin.clone();
                let r1 = x0 * sin + x1 * cos;
                Tensor::cat(vec![r0, r1], 4).reshape([b, s, h, d])
            }
            RopeStyle::Half => {
                let cos: Tensor<4> = cos.clone().reshape([1, s, 1, half]);
                let sin: Tensor<4> = sin.clone().reshape([1, s, 1, half]);
                let x1 = x.clone().narrow(3, 0, half);
                let x2 = x.narrow(3, half, half);
                let r1 = x1.clone() * cos.clone() - x2.clone() * sin.clone();
                let r2 = x2 * cos + x1 * sin;
                Tensor::cat(vec![r1, r2], 3)
            }
        }
    }
}

/// The whole decoder.
#[derive(Module, Debug)]
pub struct Llama {
    /// Token embedding `[vocab, dim]` as f32 (also the output head when tied); `None` when the
    /// embedding is kept quantized (then it is in `embed_q`).
    pub embed: Option<Param<Tensor<2>>>,
    /// The blocks.
    pub blocks: Vec<Block>,
    /// Final norm.
    pub norm: RmsNorm,
    /// Output head `[dim, vocab]`. For a model with tied embeddings this is a contiguous
    /// transposed copy of an f32 embedding (a transposed view made every decode step several
    /// times slower on the CPU backend), or, for a quantized embedding, a quantized layer sharing
    /// the embedding's blocks (its `[vocab, dim]` rows are the head's output rows); `None` only
    /// for models built in code.
    pub output: Option<Linear>,
    /// The token embedding in a quantized block format, `[vocab, dim]`, when it was stored so.
    #[module(skip)]
    embed_q: Option<Arc<QuantMatrix>>,
    #[module(skip)]
    config: LlamaConfig,
    #[module(skip)]
    rope: Rope,
}

/// Tensor names in one checkpoint format.
struct Names {
    embed: &'static str,
    norm: &'static str,
    output: &'static str,
    rope_freqs: Option<&'static str>,
    block: fn(usize, &str) -> String,
}

const GGUF_NAMES: Names = Names {
    embed: "token_embd.weight",
    norm: "output_norm.weight",
    output: "output.weight",
    rope_freqs: Some("rope_freqs.weight"),
    block: |i, part| {
        let name = match part {
            "attn_norm" => "attn_norm",
            "q" => "attn_q",
            "k" => "attn_k",
            "v" => "attn_v",
            "o" => "attn_output",
            "ffn_norm" => "ffn_norm",
            "gate" => "ffn_gate",
            "up" => "ffn_up",
            _ => "ffn_down",
        };
        format!("blk.{i}.{name}")
    },
};

const HF_NAMES: Names = Names {
    embed: "model.embed_tokens.weight",
    norm: "model.norm.weight",
    output: "lm_head.weight",
    rope_freqs: None,
    block: |i, part| {
        let name = match part {
            "attn_norm" => "input_layernorm",
            "q" => "self_attn.q_proj",
            "k" => "self_attn.k_proj",
            "v" => "self_attn.v_proj",
            "o" => "self_attn.o_proj",
            "ffn_norm" => "post_attention_layernorm",
            "gate" => "mlp.gate_proj",
            "up" => "mlp.up_proj",
            _ => "mlp.down_proj",
        };
        format!("model.layers.{i}.{name}")
    },
};

impl Llama {
    /// Loads the model in a parsed GGUF file, copying Q4_0, Q4_1 and Q8_0 matrices as stored and
    /// expanding everything else to f32.
    pub fn from_gguf(gguf: &Gguf<'_>, device: &Device) -> Result<Self> {
        let config = LlamaConfig::from_gguf(gguf)?;
        Self::load(config, &mut GgufWeights::new(gguf), &GGUF_NAMES, device)
    }

    /// Loads the model in a mapped GGUF file: Q4_0, Q4_1 and Q8_0 matrices stay in the map (the
    /// model holds the file open), everything else is expanded to f32.
    pub fn from_gguf_file(file: &Arc<GgufFile>, device: &Device) -> Result<Self> {
        let gguf = file.parse()?;
        let config = LlamaConfig::from_gguf(&gguf)?;
        let mut weights = GgufWeights::mapped(&gguf, Arc::clone(file));
        Self::load(config, &mut weights, &GGUF_NAMES, device)
    }

    /// Loads a Hugging Face Llama directory (`config.json` + `*.safetensors`).
    pub fn from_hf_dir(dir: &std::path::Path, device: &Device) -> Result<Self> {
        let config = crate::tokenizer::read_json(&dir.join("config.json"))?;
        let config = LlamaConfig::from_hf_config(&config)?;
        let mut weights = crate::weights::SafetensorsWeights::from_dir(dir)?;
        Self::load(config, &mut weights, &HF_NAMES, device)
    }

    fn load(
        config: LlamaConfig,
        src: &mut dyn WeightSource,
        names: &Names,
        device: &Device,
    ) -> Result<Self> {
        let c = &config;
        let q_dim = c.n_heads * c.head_dim;
        let kv_dim = c.n_kv_heads * c.head_dim;
        // Weights stored in a block format the quantized kernels take stay in it.
        let linear = |src: &mut dyn WeightSource, name: String, d_in: usize, d_out: usize| {
            let b = src.get(&format!("{name}.bias"))?;
            if let Some(q) = src.get_quant(&format!("{name}.weight"))? {
                return Linear::from_quant(Arc::new(q), b, d_in, d_out, device);
            }
            let w = src.require(&format!("{name}.weight"))?;
            Linear::from_rows(w, b, d_in, d_out, device)
        };
        let norm = |src: &mut dyn WeightSource, name: &str| -> Result<RmsNorm> {
            RmsNorm::new(src.require(name)?, c.dim, c.rms_eps, device)
        };
        let tied = !src.contains(names.output);
        let (embed, embed_q, tied_head) = match src.get_quant(names.embed)? {
            Some(q) => {
                let q = Arc::new(q);
                if (q.rows(), q.cols()) != (c.vocab_size, c.dim) {
                    return Err(Error::InvalidModel(format!(
                        "{} is [{}, {}], expected [{}, {}]",
                        names.embed,
                        q.rows(),
                        q.cols(),
                        c.vocab_size,
                        c.dim
                    )));
                }
                let head = tied
                    .then(|| Linear::from_quant(q.clone(), None, c.dim, c.vocab_size, device))
                    .transpose()?;
                (None, Some(q), head)
            }
            None => {
                let embed_host = src.require(names.embed)?;
                let head = tied
                    .then(|| {
                        Linear::from_rows(embed_host.clone(), None, c.dim, c.vocab_size, device)
                    })
                    .transpose()?;
                let embed = embed_host.into_tensor::<2>([c.vocab_size, c.dim], device)?;
                (Some(Param::from_tensor(embed)), None, head)
            }
        };
        let mut blocks = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let n = |part: &str| (names.block)(i, part);
            blocks.push(Block {
                attn_norm: norm(src, &format!("{}.weight", n("attn_norm")))?,
                attn: Attention {
                    wq: linear(src, n("q"), c.dim, q_dim)?,
                    wk: linear(src, n("k"), c.dim, kv_dim)?,
                    wv: linear(src, n("v"), c.dim, kv_dim)?,
                    wo: linear(src, n("o"), q_dim, c.dim)?,
                    n_heads: c.n_heads,
                    n_kv_heads: c.n_kv_heads,
                    head_dim: c.head_dim,
                },
                ffn_norm: norm(src, &format!("{}.weight", n("ffn_norm")))?,
                ffn: FeedForward {
                    gate: linear(src, n("gate"), c.dim, c.ffn_dim)?,
                    up: linear(src, n("up"), c.dim, c.ffn_dim)?,
                    down: linear(src, n("down"), c.ffn_dim, c.dim)?,
                },
            });
        }
        let output_norm = norm(src, names.norm)?;
        let output = if tied {
            tied_head
        } else {
            Some(linear(
                src,
                names.output.trim_end_matches(".weight").to_owned(),
                c.dim,
                c.vocab_size,
            )?)
        };
        let freq_factors: Option<HostTensor> = match names.rope_freqs {
            Some(name) => src.get(name)?,
            None => None,
        };
        let rope = Rope::new(c, freq_factors.as_ref().map(HostTensor::values));
        Ok(Self {
            embed,
            blocks,
            norm: output_norm,
            output,
            embed_q,
            rope,
            config,
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// An empty KV cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.config.n_layers)
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.norm.weight.val().device()
    }

    /// The quantized token embedding, when the model keeps one.
    pub fn quantized_embedding(&self) -> Option<&Arc<QuantMatrix>> {
        self.embed_q.as_ref()
    }

    /// The rotary embedding.
    pub(crate) fn rope(&self) -> &Rope {
        &self.rope
    }

    /// Runs `tokens` (`[batch][seq]`, all the same length) after what `cache` holds, appends
    /// their keys and values to it, and returns logits `[batch, seq, vocab]` — or only the last
    /// position's, `[batch, 1, vocab]`, when `last_only` (what generation needs).
    ///
    /// A model whose weights are all quantized, on the CPU device without autodiff, runs one
    /// sequence through the host decode path ([`crate::host`]): the same computation in plain
    /// loops over host memory with the fused quantized kernels, without a burn graph per token.
    /// Anything else (f32 weights, autodiff, GPUs, batches) runs through burn.
    pub fn forward(
        &self,
        tokens: &[Vec<u32>],
        cache: &mut KvCache,
        last_only: bool,
    ) -> Result<Tensor<3>> {
        let (logits, dims) = self.forward_logits(tokens, cache, last_only)?;
        match logits {
            Logits::Tensor(t) => Ok(*t),
            Logits::Host(v) => Ok(Tensor::from_data(TensorData::new(v, dims), &self.device())),
        }
    }

    /// Like [`Llama::forward`], but the logits come back as host values `[batch, seq, vocab]`
    /// row-major (what sampling needs), with their shape.
    pub fn forward_host_logits(
        &self,
        tokens: &[Vec<u32>],
        cache: &mut KvCache,
        last_only: bool,
    ) -> Result<(Vec<f32>, [usize; 3])> {
        let (logits, dims) = self.forward_logits(tokens, cache, last_only)?;
        let values = match logits {
            Logits::Host(v) => v,
            Logits::Tensor(t) => t
                .into_data()
                .try_into_vec_as::<f32>()
                .map_err(|e| Error::InvalidModel(format!("reading logits: {e:?}")))?,
        };
        Ok((values, dims))
    }

    /// Whether [`Llama::forward`] takes the host decode path for `batch` sequences and `cache`.
    fn uses_host_path(&self, batch: usize, cache: &KvCache) -> bool {
        batch == 1
            && !cache.has_burn_state()
            && crate::nn::host_kernels_apply(&self.device())
            && crate::host::supports(self)
    }

    fn forward_logits(
        &self,
        tokens: &[Vec<u32>],
        cache: &mut KvCache,
        last_only: bool,
    ) -> Result<(Logits, [usize; 3])> {
        let batch = tokens.len();
        let seq = tokens.first().map_or(0, Vec::len);
        if batch == 0 || seq == 0 || tokens.iter().any(|t| t.len() != seq) {
            return Err(Error::InvalidArgument(
                "forward needs a non-empty batch of equal-length sequences".into(),
            ));
        }
        if cache.layers.len() != self.blocks.len() {
            return Err(Error::InvalidArgument(
                "KV cache is for another model".into(),
            ));
        }
        let total = cache.len + seq;
        if total > self.config.context_length {
            return Err(Error::ContextOverflow {
                tokens: total,
                context: self.config.context_length,
            });
        }
        let vocab = self.config.vocab_size;
        let mut flat: Vec<i64> = Vec::with_capacity(batch * seq);
        for &t in tokens.iter().flatten() {
            if t as usize >= vocab {
                return Err(Error::InvalidArgument(format!(
                    "token id {t} is outside the vocabulary of {vocab}"
                )));
            }
            flat.push(i64::from(t));
        }
        if self.uses_host_path(batch, cache) {
            let logits = crate::host::forward(self, &tokens[0], cache, last_only)?;
            let rows = if last_only { 1 } else { seq };
            return Ok((Logits::Host(logits), [1, rows, vocab]));
        }
        if cache.has_host_state() {
            return Err(Error::InvalidArgument(
                "this KV cache was filled by the host decode path, which takes one sequence".into(),
            ));
        }
        let device = self.device();
        let mut x = match (&self.embed, &self.embed_q) {
            (Some(embed), _) => {
                let ids = Tensor::<2, Int>::from_data(TensorData::new(flat, [batch, seq]), &device);
                embedding(embed.val(), ids)
            }
            (None, Some(q)) => {
                let dim = q.cols();
                let mut rows = vec![0.0f32; batch * seq * dim];
                for (&id, row) in flat.iter().zip(rows.chunks_exact_mut(dim)) {
                    q.dequantize_row(id as usize, row)?;
                }
                Tensor::from_data(TensorData::new(rows, [batch, seq, dim]), &device)
            }
            (None, None) => return Err(Error::InvalidModel("the model has no embedding".into())),
        };
        let (cos, sin) = self.rope.tables(cache.len, seq, &device);
        for (block, slot) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            let h = block.attn_norm.forward(x.clone());
            let h = block.attn.forward(h, &self.rope, &cos, &sin, slot);
            x = x + h;
            let h = block.ffn_norm.forward(x.clone());
            x = x + block.ffn.forward(h);
        }
        cache.len = total;
        if last_only {
            x = x.narrow(1, seq - 1, 1);
        }
        let x = self.norm.forward(x);
        let logits = match (&self.output, &self.embed) {
            (Some(head), _) => head.forward(x),
            (None, Some(embed)) => burn::tensor::module::linear(x, embed.val().transpose(), None),
            (None, None) => return Err(Error::InvalidModel("the model has no output head".into())),
        };
        let dims = logits.dims();
        Ok((Logits::Tensor(Box::new(logits)), dims))
    }
}

/// Logits from one of the two forward paths.
enum Logits {
    Tensor(Box<Tensor<3>>),
    Host(Vec<f32>),
}

impl Attention {
    /// `(n_heads, n_kv_heads, head_dim)`.
    pub(crate) fn heads(&self) -> (usize, usize, usize) {
        (self.n_heads, self.n_kv_heads, self.head_dim)
    }

    fn forward(
        &self,
        x: Tensor<3>,
        rope: &Rope,
        cos: &Tensor<2>,
        sin: &Tensor<2>,
        slot: &mut Option<(Tensor<4>, Tensor<4>)>,
    ) -> Tensor<3> {
        let [b, s, _] = x.dims();
        let (h, kvh, hd) = (self.n_heads, self.n_kv_heads, self.head_dim);
        let q = self.wq.forward(x.clone()).reshape([b, s, h, hd]);
        let k = self.wk.forward(x.clone()).reshape([b, s, kvh, hd]);
        let v = self.wv.forward(x).reshape([b, s, kvh, hd]);
        let q = rope.apply(q, cos, sin).swap_dims(1, 2);
        let k = rope.apply(k, cos, sin).swap_dims(1, 2);
        let v = v.swap_dims(1, 2);
        let (k, v) = match slot.take() {
            Some((pk, pv)) => (Tensor::cat(vec![pk, k], 2), Tensor::cat(vec![pv, v], 2)),
            None => (k, v),
        };
        *slot = Some((k.clone(), v.clone()));
        let t = k.dims()[2];
        let (k, v) = if kvh == h {
            (k, v)
        } else {
            let rep = h / kvh;
            let expand = |t4: Tensor<4>| -> Tensor<4> {
                let t5: Tensor<5> = t4.unsqueeze_dim(2);
                t5.expand([b, kvh, rep, t, hd]).reshape([b, h, t, hd])
            };
            (expand(k), expand(v))
        };
        let options = AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: true,
        };
        let out = attention(q, k, v, None, None, options);
        self.wo.forward(out.swap_dims(1, 2).reshape([b, s, h * hd]))
    }
}

impl FeedForward {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gate = burn::tensor::activation::silu(self.gate.forward(x.clone()));
        self.down.forward(gate * self.up.forward(x))
    }
}

/// A tiny random model for unit tests (no file needed).
#[cfg(test)]
pub(crate) fn tiny_model(style: RopeStyle, device: &Device) -> Llama {
    let config = LlamaConfig {
        vocab_size: 11,
        dim: 8,
        n_layers: 2,
        n_heads: 2,
        n_kv_heads: 1,
        head_dim: 4,
        ffn_dim: 12,
        rms_eps: 1e-5,
        rope_theta: 10_000.0,
        rope_linear_factor: 1.0,
        rope_style: style,
        context_length: 32,
    };
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.8
    };
    let mut host = |shape: &[usize]| -> Vec<f32> {
        (0..shape.iter().product::<usize>())
            .map(|_| next())
            .collect()
    };
    let lin = |w: Vec<f32>, d_in: usize, d_out: usize| {
        Linear::from_rows(
            HostTensor::new("w", w, vec![d_out, d_in]).unwrap(),
            None,
            d_in,
            d_out,
            device,
        )
        .unwrap()
    };
    let ones = |d: usize| HostTensor::new("n", vec![1.0; d], vec![d]).unwrap();
    let c = &config;
    let blocks = (0..c.n_layers)
        .map(|_| Block {
            attn_norm: RmsNorm::new(ones(c.dim), c.dim, c.rms_eps, device).unwrap(),
            attn: Attention {
                wq: lin(host(&[8, 8]), 8, 8),
                wk: lin(host(&[4, 8]), 8, 4),
                wv: lin(host(&[4, 8]), 8, 4),
                wo: lin(host(&[8, 8]), 8, 8),
                n_heads: 2,
                n_kv_heads: 1,
                head_dim: 4,
            },
            ffn_norm: RmsNorm::new(ones(c.dim), c.dim, c.rms_eps, device).unwrap(),
            ffn: FeedForward {
                gate: lin(host(&[12, 8]), 8, 12),
                up: lin(host(&[12, 8]), 8, 12),
                down: lin(host(&[8, 12]), 12, 8),
            },
        })
        .collect();
    let embed = crate::nn::tensor_from_vec(host(&[11, 8]), [11, 8], device).unwrap();
    Llama {
        embed: Some(Param::from_tensor(embed)),
        blocks,
        norm: RmsNorm::new(ones(8), 8, 1e-5, device).unwrap(),
        output: None,
        embed_q: None,
        rope: Rope::new(&config, None),
        config,
    }
}

/// A small random model with every weight quantized (dimensions multiples of 32), for the host
/// decode path's tests.
#[cfg(test)]
pub(crate) fn tiny_quantized_model(device: &Device) -> Llama {
    use crate::quant::QuantType;
    let config = LlamaConfig {
        vocab_size: 40,
        dim: 64,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 2,
        head_dim: 16,
        ffn_dim: 96,
        rms_eps: 1e-5,
        rope_theta: 10_000.0,
        rope_linear_factor: 1.0,
        rope_style: RopeStyle::Adjacent,
        context_length: 64,
    };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
    };
    let mut quant = |ty: QuantType, rows: usize, cols: usize| {
        let v: Vec<f32> = (0..rows * cols).map(|_| next()).collect();
        Arc::new(QuantMatrix::quantize(ty, rows, cols, &v).unwrap())
    };
    let c = config.clone();
    let mut lin = |ty, d_in: usize, d_out: usize| {
        Linear::from_quant(quant(ty, d_out, d_in), None, d_in, d_out, device).unwrap()
    };
    let norm = |d: usize| {
        let w: Vec<f32> = (0..d).map(|i| 0.8 + (i % 5) as f32 * 0.1).collect();
        RmsNorm::new(HostTensor::new("n", w, vec![d]).unwrap(), d, 1e-5, device).unwrap()
    };
    let (q_dim, kv_dim) = (c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim);
    let blocks = (0..c.n_layers)
        .map(|_| Block {
            attn_norm: norm(c.dim),
            attn: Attention {
                wq: lin(QuantType::Q4_1, c.dim, q_dim),
                wk: lin(QuantType::Q4_0, c.dim, kv_dim),
                wv: lin(QuantType::Q8_0, c.dim, kv_dim),
                wo: lin(QuantType::Q4_1, q_dim, c.dim),
                n_heads: c.n_heads,
                n_kv_heads: c.n_kv_heads,
                head_dim: c.head_dim,
            },
            ffn_norm: norm(c.dim),
            ffn: FeedForward {
                gate: lin(QuantType::Q4_1, c.dim, c.ffn_dim),
                up: lin(QuantType::Q4_1, c.dim, c.ffn_dim),
                down: lin(QuantType::Q4_1, c.ffn_dim, c.dim),
            },
        })
        .collect();
    let embed = quant(QuantType::Q8_0, c.vocab_size, c.dim);
    let head = Linear::from_quant(embed.clone(), None, c.dim, c.vocab_size, device).unwrap();
    Llama {
        embed: None,
        blocks,
        norm: norm(c.dim),
        output: Some(head),
        embed_q: Some(embed),
        rope: Rope::new(&config, None),
        config,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_path_matches_the_burn_path_on_a_quantized_model() {
        let device = Device::flex();
        let model = tiny_quantized_model(&device);
        assert!(crate::host::supports(&model));
        let tokens = vec![3u32, 17, 4, 39, 0, 22, 8];
        // One sequence takes the host path; a batch of two takes burn's.
        let mut cache = model.new_cache();
        let (host, dims) = model
            .forward_host_logits(std::slice::from_ref(&tokens), &mut cache, false)
            .unwrap();
        assert_eq!(dims, [1, 7, 40]);
        assert!(cache.has_host_state() && !cache.has_burn_state());
        let mut burn_cache = model.new_cache();
        let (burn, dims) = model
            .forward_host_logits(&[tokens.clone(), tokens.clone()], &mut burn_cache, false)
            .unwrap();
        assert_eq!(dims, [2, 7, 40]);
        assert!(burn_cache.has_burn_state());
        for (a, b) in host.iter().zip(&burn[..host.len()]) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // Cached steps on the host path equal the full pass.
        let mut cache = model.new_cache();
        let (mut steps, _) = model
            .forward_host_logits(&[tokens[..3].to_vec()], &mut cache, false)
            .unwrap();
        for &t in &tokens[3..] {
            steps.extend(
                model
                    .forward_host_logits(&[vec![t]], &mut cache, true)
                    .unwrap()
                    .0,
            );
        }
        assert_eq!(cache.len(), 7);
        for (a, b) in host.iter().zip(&steps) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // A host cache cannot continue a batch.
        assert!(
            model
                .forward(&[vec![1], vec![2]], &mut cache, true)
                .is_err()
        );
        cache.clear();
        assert!(!cache.has_host_state());
    }

    fn logits(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn cached_decoding_matches_one_full_pass() {
        let device = Device::flex();
        let model = tiny_model(RopeStyle::Adjacent, &device);
        let tokens = vec![1u32, 5, 2, 9, 3];
        let mut cache = model.new_cache();
        let full = logits(
            model
                .forward(std::slice::from_ref(&tokens), &mut cache, false)
                .unwrap(),
        );
        assert_eq!(cache.len(), 5);
        let mut cache = model.new_cache();
        let mut stepwise = logits(
            model
                .forward(&[tokens[..2].to_vec()], &mut cache, false)
                .unwrap(),
        );
        for &t in &tokens[2..] {
            stepwise.extend(logits(model.forward(&[vec![t]], &mut cache, true).unwrap()));
        }
        assert_eq!(full.len(), stepwise.len());
        for (a, b) in full.iter().zip(&stepwise) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn adjacent_rope_on_permuted_weights_equals_half_rope() {
        // Permuting the rows of Q and K the way llama.cpp's converter does turns half-rotation
        // into adjacent-pair rotation: both models must give the same logits.
        let device = Device::flex();
        let half = tiny_model(RopeStyle::Half, &device);
        let mut adjacent = tiny_model(RopeStyle::Adjacent, &device);
        let permute = |lin: &Linear, heads: usize| -> Linear {
            let w: Vec<f32> = lin
                .weight
                .as_ref()
                .unwrap()
                .val()
                .transpose()
                .into_data()
                .try_to_vec()
                .unwrap();
            let (d_in, d_out) = lin.dims();
            let hd = d_out / heads;
            let mut out = vec![0.0; w.len()];
            for h in 0..heads {
                for i in 0..hd / 2 {
                    for (src_row, dst_row) in [(i, 2 * i), (i + hd / 2, 2 * i + 1)] {
                        let s = (h * hd + src_row) * d_in;
                        let d = (h * hd + dst_row) * d_in;
                        out[d..d + d_in].copy_from_slice(&w[s..s + d_in]);
                    }
                }
            }
            Linear::from_rows(
                HostTensor::new("w", out, vec![d_out, d_in]).unwrap(),
                None,
                d_in,
                d_out,
                &device,
            )
            .unwrap()
        };
        for block in &mut adjacent.blocks {
            block.attn.wq = permute(&block.attn.wq, 2);
            block.attn.wk = permute(&block.attn.wk, 1);
        }
        let tokens = vec![vec![3u32, 1, 4, 1, 5, 9]];
        let a = logits(half.forward(&tokens, &mut half.new_cache(), false).unwrap());
        let b = logits(
            adjacent
                .forward(&tokens, &mut adjacent.new_cache(), false)
                .unwrap(),
        );
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    /// Needs an NVIDIA GPU: `cargo test -p hearth-training --features cuda cuda_`.
    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_matches_the_cpu() {
        let cpu = tiny_model(RopeStyle::Adjacent, &Device::flex());
        let gpu = tiny_model(RopeStyle::Adjacent, &Device::cuda(0));
        let tokens = vec![vec![3u32, 1, 4, 1, 5, 9, 2, 6]];
        let a = logits(cpu.forward(&tokens, &mut cpu.new_cache(), false).unwrap());
        let b = logits(gpu.forward(&tokens, &mut gpu.new_cache(), false).unwrap());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let device = Device::flex();
        let model = tiny_model(RopeStyle::Adjacent, &device);
        let mut cache = model.new_cache();
        assert!(model.forward(&[], &mut cache, true).is_err());
        assert!(model.forward(&[vec![11]], &mut cache, true).is_err());
        assert!(
            model
                .forward(&[vec![1, 2], vec![1]], &mut cache, true)
                .is_err()
        );
        assert!(model.forward(&[vec![1; 33]], &mut cache, true).is_err());
        assert!(cache.is_empty());
    }
}

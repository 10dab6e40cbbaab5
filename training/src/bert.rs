//! A BERT sentence encoder (all-MiniLM-L6-v2 by default) from a Hugging Face /
//! sentence-transformers directory: `config.json`, `model.safetensors` (read through
//! `burn-store`) and `tokenizer.json`.
//!
//! Sentences are tokenized (`[CLS] … [SEP]`), truncated to the model's `max_seq_length` (256 for
//! all-MiniLM-L6-v2, from `sentence_bert_config.json`), padded per batch with an attention mask
//! so that padding changes nothing, run through the encoder, mean-pooled over the real tokens and
//! L2-normalized — what sentence-transformers does for this model.

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::tensor::module::{attention, embedding};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::bert_cpu::CpuBert;
use crate::error::{Error, Result};
use crate::nn::{LayerNorm, Linear};
use crate::tokenizer::{Tokenizer, read_json};
use crate::weights::{HostTensor, SafetensorsWeights, WeightSource};

/// The longest input sentence-transformers gives all-MiniLM-L6-v2 (its `max_seq_length`).
pub const DEFAULT_MAX_SEQ_LEN: usize = 256;

/// BERT hyperparameters from `config.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    pub hidden: usize,
    /// Number of layers.
    pub n_layers: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Learned positions.
    pub max_positions: usize,
    /// Token type (segment) vocabulary.
    pub type_vocab: usize,
    /// LayerNorm epsilon.
    pub eps: f64,
}

impl BertConfig {
    /// Reads a Hugging Face BERT `config.json`.
    pub fn from_hf_config(v: &serde_json::Value) -> Result<Self> {
        let get = |k: &str| -> Result<usize> {
            v.get(k)
                .and_then(serde_json::Value::as_u64)
                .and_then(|x| usize::try_from(x).ok())
                .ok_or_else(|| Error::InvalidModel(format!("config.json: missing or bad {k:?}")))
        };
        let act = v
            .get("hidden_act")
            .and_then(|a| a.as_str())
            .unwrap_or("gelu");
        if act != "gelu" {
            return Err(Error::Unsupported(format!("BERT activation {act:?}")));
        }
        let c = Self {
            vocab_size: get("vocab_size")?,
            hidden: get("hidden_size")?,
            n_layers: get("num_hidden_layers")?,
            n_heads: get("num_attention_heads")?,
            intermediate: get("intermediate_size")?,
            max_positions: get("max_position_embeddings")?,
            type_vocab: get("type_vocab_size").unwrap_or(2),
            eps: v
                .get("layer_norm_eps")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1e-12),
        };
        if c.n_heads == 0
            || !c.hidden.is_multiple_of(c.n_heads)
            || c.type_vocab == 0
            || c.n_layers == 0
        {
            return Err(Error::InvalidModel(format!(
                "inconsistent BERT config {c:?}"
            )));
        }
        Ok(c)
    }
}

/// One encoder layer.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// Attention output projection.
    pub attn_out: Linear,
    /// Norm after attention.
    pub attn_norm: LayerNorm,
    /// Feed-forward up projection.
    pub intermediate: Linear,
    /// Feed-forward down projection.
    pub output: Linear,
    /// Norm after the feed-forward.
    pub out_norm: LayerNorm,
    n_heads: usize,
}

/// The BERT encoder.
#[derive(Module, Debug)]
pub struct Bert {
    /// Word embeddings `[vocab, hidden]`.
    pub word: Param<Tensor<2>>,
    /// Position embeddings `[max_positions, hidden]`.
    pub position: Param<Tensor<2>>,
    /// Token type embeddings `[type_vocab, hidden]`.
    pub token_type: Param<Tensor<2>>,
    /// Norm over the summed embeddings.
    pub embed_norm: LayerNorm,
    /// The layers.
    pub layers: Vec<BertLayer>,
}

/// A dense layer as a checkpoint stores it: weight rows `[d_out, d_in]` and bias `[d_out]`.
#[derive(Debug)]
pub(crate) struct DenseWeights {
    pub(crate) weight: HostTensor,
    pub(crate) bias: HostTensor,
    pub(crate) d_in: usize,
    pub(crate) d_out: usize,
}

/// A LayerNorm's scale and shift, `[hidden]` each.
#[derive(Debug)]
pub(crate) struct NormWeights {
    pub(crate) gamma: HostTensor,
    pub(crate) beta: HostTensor,
}

/// One encoder layer's checkpoint tensors.
#[derive(Debug)]
pub(crate) struct LayerWeights {
    pub(crate) query: DenseWeights,
    pub(crate) key: DenseWeights,
    pub(crate) value: DenseWeights,
    pub(crate) attn_out: DenseWeights,
    pub(crate) attn_norm: NormWeights,
    pub(crate) intermediate: DenseWeights,
    pub(crate) output: DenseWeights,
    pub(crate) out_norm: NormWeights,
}

/// The encoder's tensors on the host, by role, shapes checked: the one reading of a checkpoint's
/// names, shared by the burn module ([`Bert`]) and the CPU path ([`crate::bert_cpu`]).
#[derive(Debug)]
pub(crate) struct BertWeights {
    pub(crate) word: HostTensor,
    pub(crate) position: HostTensor,
    pub(crate) token_type: HostTensor,
    pub(crate) embed_norm: NormWeights,
    pub(crate) layers: Vec<LayerWeights>,
}

impl BertWeights {
    /// Reads the weights of `config` from `src` (names as in `BertModel`, with or without a
    /// `bert.` prefix).
    pub(crate) fn read(config: &BertConfig, src: &mut dyn WeightSource) -> Result<Self> {
        let c = config;
        let d = c.hidden;
        let prefix = if src.contains("embeddings.word_embeddings.weight") {
            ""
        } else {
            "bert."
        };
        let mut take = |name: &str, shape: &[usize]| -> Result<HostTensor> {
            let t = src.require(&format!("{prefix}{name}"))?;
            if t.shape() != shape {
                return Err(Error::InvalidModel(format!(
                    "{}: shape {:?}, expected {shape:?}",
                    t.name(),
                    t.shape()
                )));
            }
            Ok(t)
        };
        let word = take("embeddings.word_embeddings.weight", &[c.vocab_size, d])?;
        let position = take(
            "embeddings.position_embeddings.weight",
            &[c.max_positions, d],
        )?;
        let token_type = take(
            "embeddings.token_type_embeddings.weight",
            &[c.type_vocab, d],
        )?;
        let embed_norm = NormWeights {
            gamma: take("embeddings.LayerNorm.weight", &[d])?,
            beta: take("embeddings.LayerNorm.bias", &[d])?,
        };
        let mut layers = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let p = format!("encoder.layer.{i}.");
            let mut dense = |name: &str, d_in: usize, d_out: usize| -> Result<DenseWeights> {
                Ok(DenseWeights {
                    weight: take(&format!("{p}{name}.weight"), &[d_out, d_in])?,
                    bias: take(&format!("{p}{name}.bias"), &[d_out])?,
                    d_in,
                    d_out,
                })
            };
            let query = dense("attention.self.query", d, d)?;
            let key = dense("attention.self.key", d, d)?;
            let value = dense("attention.self.value", d, d)?;
            let attn_out = dense("attention.output.dense", d, d)?;
            let intermediate = dense("intermediate.dense", d, c.intermediate)?;
            let output = dense("output.dense", c.intermediate, d)?;
            let mut norm = |name: &str| -> Result<NormWeights> {
                Ok(NormWeights {
                    gamma: take(&format!("{p}{name}.weight"), &[d])?,
                    beta: take(&format!("{p}{name}.bias"), &[d])?,
                })
            };
            let attn_norm = norm("attention.output.LayerNorm")?;
            let out_norm = norm("output.LayerNorm")?;
            layers.push(LayerWeights {
                query,
                key,
                value,
                attn_out,
                attn_norm,
                intermediate,
                output,
                out_norm,
            });
        }
        Ok(Self {
            word,
            position,
            token_type,
            embed_norm,
            layers,
        })
    }
}

impl Bert {
    /// Loads the weights of `config` from `src` (names as in `BertModel`, with or without a
    /// `bert.` prefix).
    pub fn load(config: &BertConfig, src: &mut dyn WeightSource, device: &Device) -> Result<Self> {
        Self::from_weights(config, BertWeights::read(config, src)?, device)
    }

    /// The module for weights already read.
    pub(crate) fn from_weights(
        config: &BertConfig,
        weights: BertWeights,
        device: &Device,
    ) -> Result<Self> {
        let c = config;
        let d = c.hidden;
        let w = weights;
        let word = w.word.into_tensor([c.vocab_size, d], device)?;
        let position = w.position.into_tensor([c.max_positions, d], device)?;
        let token_type = w.token_type.into_tensor([c.type_vocab, d], device)?;
        let norm = |n: NormWeights| LayerNorm::new(n.gamma, n.beta, d, c.eps, device);
        let lin =
            |l: DenseWeights| Linear::from_rows(l.weight, Some(l.bias), l.d_in, l.d_out, device);
        let embed_norm = norm(w.embed_norm)?;
        let mut layers = Vec::with_capacity(w.layers.len());
        for l in w.layers {
            layers.push(BertLayer {
                query: lin(l.query)?,
                key: lin(l.key)?,
                value: lin(l.value)?,
                attn_out: lin(l.attn_out)?,
                attn_norm: norm(l.attn_norm)?,
                intermediate: lin(l.intermediate)?,
                output: lin(l.output)?,
                out_norm: norm(l.out_norm)?,
                n_heads: c.n_heads,
            });
        }
        Ok(Self {
            word: Param::from_tensor(word),
            position: Param::from_tensor(position),
            token_type: Param::from_tensor(token_type),
            embed_norm,
            layers,
        })
    }

    /// Hidden states `[batch, seq, hidden]` for token ids and a 1/0 attention mask, both
    /// `[batch][seq]`.
    pub fn forward(&self, ids: &[Vec<u32>], mask: &[Vec<u32>]) -> Result<Tensor<3>> {
        let batch = ids.len();
        let seq = ids.first().map_or(0, Vec::len);
        let [vocab, _] = self.word.shape().dims();
        let [max_pos, _] = self.position.shape().dims();
        if batch == 0 || seq == 0 || seq > max_pos {
            return Err(Error::InvalidArgument(format!(
                "BERT input must be 1..={max_pos} tokens, got {seq}"
            )));
        }
        if ids.iter().chain(mask).any(|r| r.len() != seq) || mask.len() != batch {
            return Err(Error::InvalidArgument("ragged BERT batch".into()));
        }
        let mut flat = Vec::with_capacity(batch * seq);
        for &t in ids.iter().flatten() {
            if t as usize >= vocab {
                return Err(Error::InvalidArgument(format!(
                    "token id {t} >= vocabulary {vocab}"
                )));
            }
            flat.push(i64::from(t));
        }
        let device = self.word.val().device();
        let ids_t = Tensor::<2, Int>::from_data(TensorData::new(flat, [batch, seq]), &device);
        let x = embedding(self.word.val(), ids_t)
            + self.position.val().narrow(0, 0, seq).unsqueeze::<3>()
            + self.token_type.val().narrow(0, 0, 1).unsqueeze::<3>();
        let mut x = self.embed_norm.forward(x);
        // `true` = masked: padding keys, for every query and head.
        let pad: Vec<bool> = mask.iter().flatten().map(|&m| m == 0).collect();
        let pad = Tensor::<2, Bool>::from_data(TensorData::new(pad, [batch, seq]), &device);
        for layer in &self.layers {
            let heads = layer.n_heads;
            let key_mask: Tensor<4, Bool> = pad
                .clone()
                .reshape([batch, 1, 1, seq])
                .expand([batch, heads, seq, seq]);
            x = layer.forward(x, key_mask);
        }
        Ok(x)
    }
}

impl BertLayer {
    fn forward(&self, x: Tensor<3>, key_mask: Tensor<4, Bool>) -> Tensor<3> {
        let [b, s, d] = x.dims();
        let h = self.n_heads;
        let hd = d / h;
        let split = |t: Tensor<3>| t.reshape([b, s, h, hd]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x.clone()));
        let options = AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: false,
        };
        let a = attention(q, k, v, Some(key_mask), None, options)
            .swap_dims(1, 2)
            .reshape([b, s, d]);
        let x = self.attn_norm.forward(self.attn_out.forward(a) + x);
        let f = burn::tensor::activation::gelu(self.intermediate.forward(x.clone()));
        self.out_norm.forward(self.output.forward(f) + x)
    }
}

/// What runs the encoder.
#[derive(Debug)]
enum Engine {
    /// burn's module, on any device.
    Burn(Box<Bert>),
    /// The plain-buffer CPU path ([`crate::bert_cpu`]), for the Flex device without autodiff.
    Cpu(Box<CpuBert>),
}

/// Text in, unit vectors out.
///
/// On burn's Flex CPU device (without autodiff) it runs the encoder through a lean CPU path on
/// plain buffers ([`crate::bert_cpu`]): sentences packed without padding, fused attention, the
/// `gemm` kernel. On other devices it runs the burn module [`Bert`].
#[derive(Debug)]
pub struct SentenceEncoder {
    model: Engine,
    tokenizer: Tokenizer,
    max_seq_len: usize,
    pad_id: u32,
    dim: usize,
    dir: PathBuf,
}

impl SentenceEncoder {
    /// Loads a sentence-transformers / Hugging Face BERT directory.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let cpu = *device == Device::flex() && !device.is_autodiff();
        Self::load_inner(dir, device, cpu)
    }

    /// Like [`SentenceEncoder::load`], but always through the burn module (what GPUs run; on the
    /// CPU, the reference for the faster plain-buffer path).
    pub fn load_burn(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_inner(dir, device, false)
    }

    /// Whether this encoder runs the plain-buffer CPU path rather than the burn module.
    pub fn is_cpu_path(&self) -> bool {
        matches!(self.model, Engine::Cpu(_))
    }

    fn load_inner(dir: &Path, device: &Device, cpu: bool) -> Result<Self> {
        for file in ["config.json", "tokenizer.json"] {
            if !dir.join(file).is_file() {
                return Err(Error::io(
                    dir.join(file),
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                ));
            }
        }
        let config = BertConfig::from_hf_config(&read_json(&dir.join("config.json"))?)?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        let max_seq_len = dir
            .join("sentence_bert_config.json")
            .is_file()
            .then(|| read_json(&dir.join("sentence_bert_config.json")))
            .transpose()?
            .and_then(|v| v.get("max_seq_length").and_then(serde_json::Value::as_u64))
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or(DEFAULT_MAX_SEQ_LEN)
            .clamp(2, config.max_positions);
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0);
        let mut weights = SafetensorsWeights::from_dir(dir)?;
        let read = BertWeights::read(&config, &mut weights)?;
        drop(weights);
        let model = if cpu {
            Engine::Cpu(Box::new(CpuBert::new(&config, &read)?))
        } else {
            Engine::Burn(Box::new(Bert::from_weights(&config, read, device)?))
        };
        Ok(Self {
            model,
            tokenizer,
            max_seq_len,
            pad_id,
            dim: config.hidden,
            dir: dir.to_owned(),
        })
    }

    /// The embedding width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The longest input in tokens (longer ones are truncated).
    pub fn max_seq_len(&self) -> usize {
        self.max_seq_len
    }

    /// The directory the model came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Embeds `texts` in one padded batch: one L2-normalized vector per text.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let batch = self
            .tokenizer
            .encode_batch_padded(texts, self.max_seq_len, self.pad_id)?;
        let (ids, mask) = (batch.ids, batch.mask);
        let model = match &self.model {
            Engine::Cpu(cpu) => {
                // Unpadded: each sequence's real tokens only.
                let seqs: Vec<&[u32]> = ids
                    .iter()
                    .zip(&mask)
                    .map(|(i, m)| &i[..m.iter().filter(|&&v| v != 0).count().min(i.len())])
                    .collect();
                return cpu.embed(&seqs);
            }
            Engine::Burn(model) => model,
        };
        let hidden = model.forward(&ids, &mask)?;
        let [b, s, d] = hidden.dims();
        let device = hidden.device();
        let m: Vec<f32> = mask.iter().flatten().map(|&v| v as f32).collect();
        let m = Tensor::<2>::from_data(TensorData::new(m, [b, s]), &device);
        let summed = (hidden * m.clone().unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .reshape([b, d]);
        let counts = m.sum_dim(1).clamp_min(1e-9);
        let mean = summed / counts;
        let norm = mean.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
        let unit = mean / norm;
        let flat: Vec<f32> = unit
            .into_data()
            .try_to_vec()
            .map_err(|e| Error::InvalidModel(format!("reading embeddings: {e:?}")))?;
        Ok(flat.chunks(d).map(<[f32]>::to_vec).collect())
    }

    /// Embeds `texts` in batches of `batch_size`, sorted by length within the call so that
    /// padding stays small; results come back in input order.
    pub fn embed(&self, texts: &[&str], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        let batch_size = batch_size.max(1);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(batch_size) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (&i, v) in chunk.iter().zip(self.embed_batch(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

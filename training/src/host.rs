//! The host decode path: the Llama forward pass of [`crate::llama`] for one sequence, computed in
//! plain loops over host memory, for models whose weights are all quantized
//! ([`crate::quant::QuantMatrix`]) and run on the CPU without autodiff.
//!
//! Why a second path: with the matrix products in fused quantized kernels, decoding one token
//! of SmolLM2-135M takes a few milliseconds of arithmetic, while the burn graph for it is some
//! 1,800 tensor operations (norms, RoPE, concatenations, attention, per layer), each with its own
//! dispatch, allocation and rayon fork; that overhead, not the arithmetic, set the token rate.
//! This path keeps the model definition (the same [`Llama`] modules and weights, read through
//! their public fields) and only replaces the execution: keys and values are appended to host
//! vectors in the [`KvCache`], attention is a loop over cached positions (parallel over heads),
//! and the prompt goes through the same code with all its positions at once, so the projections
//! use the tiled multi-row kernels. It computes the same function as the burn path in f32; the
//! unit tests compare the two on a small quantized model.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::llama::{KvCache, Llama, RopeStyle};
use crate::nn::{Linear, RmsNorm};
use crate::quant::QuantMatrix;

/// One layer's cached keys and values on the host, `[position, n_kv_heads · head_dim]` each.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostKv {
    k: Vec<f32>,
    v: Vec<f32>,
}

impl HostKv {
    /// Whether nothing is cached.
    pub(crate) fn is_empty(&self) -> bool {
        self.k.is_empty()
    }

    /// Forgets everything (keeping the allocation).
    pub(crate) fn clear(&mut self) {
        self.k.clear();
        self.v.clear();
    }

    fn truncate(&mut self, len: usize) {
        self.k.truncate(len);
        self.v.truncate(len);
    }
}

/// Whether `model` can run on this path: every projection, the head and the embedding quantized.
pub(crate) fn supports(model: &Llama) -> bool {
    let q = |l: &Linear| l.quantized().is_some();
    model.quantized_embedding().is_some()
        && model.output.as_ref().is_some_and(q)
        && model.blocks.iter().all(|b| {
            [
                &b.attn.wq,
                &b.attn.wk,
                &b.attn.wv,
                &b.attn.wo,
                &b.ffn.gate,
                &b.ffn.up,
                &b.ffn.down,
            ]
            .into_iter()
            .all(q)
        })
}

/// Runs `tokens` after what `cache` holds and returns the logits `[rows, vocab]` (the last
/// position only when `last_only`). The caller checked the token ids and the context length. On
/// an error the cache is left as it was.
pub(crate) fn forward(
    model: &Llama,
    tokens: &[u32],
    cache: &mut KvCache,
    last_only: bool,
) -> Result<Vec<f32>> {
    let kv_dim = model.config().n_kv_heads * model.config().head_dim;
    let before = cache.len * kv_dim;
    // Run the pass on one of rayon's workers: the parallel loops inside then fork and join
    // within the pool instead of waking the calling thread after each of them.
    let result = rayon::scope(|_| run(model, tokens, cache, last_only));
    if result.is_err() {
        cache.host.iter_mut().for_each(|l| l.truncate(before));
    }
    result
}

fn run(model: &Llama, tokens: &[u32], cache: &mut KvCache, last_only: bool) -> Result<Vec<f32>> {
    let c = model.config();
    let missing = |what: &str| Error::InvalidModel(format!("host decode path: no {what}"));
    let embed = model
        .quantized_embedding()
        .ok_or_else(|| missing("quantized embedding"))?;
    let head = model
        .output
        .as_ref()
        .ok_or_else(|| missing("output head"))?;
    let s = tokens.len();
    if s == 0 || cache.host.len() != model.blocks.len() {
        return Err(Error::InvalidArgument(
            "host decode path: no tokens, or a KV cache for another model".into(),
        ));
    }
    let start = cache.len;
    let dim = c.dim;
    let (nh, nkv, hd) = (c.n_heads, c.n_kv_heads, c.head_dim);
    let (q_dim, kv_dim, ffn) = (nh * hd, nkv * hd, c.ffn_dim);

    let mut x = vec![0.0f32; s * dim];
    for (&id, row) in tokens.iter().zip(x.chunks_exact_mut(dim)) {
        embed.dequantize_row(id as usize, row)?;
    }
    // Scratch for the whole pass, reused by every layer.
    let mut h = vec![0.0f32; s * dim];
    let mut q = vec![0.0f32; s * q_dim];
    let mut k = vec![0.0f32; s * kv_dim];
    let mut v = vec![0.0f32; s * kv_dim];
    let mut att = vec![0.0f32; s * q_dim];
    let mut o = vec![0.0f32; s * dim];
    let mut gate = vec![0.0f32; s * ffn];
    let mut up = vec![0.0f32; s * ffn];
    let (cos, sin) = model.rope().host_tables(start, s);
    let style = model.rope().style();

    for (block, kv) in model.blocks.iter().zip(cache.host.iter_mut()) {
        if block.attn.heads() != (nh, nkv, hd) {
            return Err(Error::InvalidModel(
                "a block's head layout differs from the model's".into(),
            ));
        }
        rms_norm(&x, &block.attn_norm, dim, &mut h)?;
        linears(
            &mut [
                (&block.attn.wq, &mut q),
                (&block.attn.wk, &mut k),
                (&block.attn.wv, &mut v),
            ],
            &h,
            s,
        )?;
        rope(style, &mut q, hd, &cos, &sin);
        rope(style, &mut k, hd, &cos, &sin);
        kv.k.extend_from_slice(&k);
        kv.v.extend_from_slice(&v);
        attention(&q, kv, start, (nh, nkv, hd), &mut att);
        linear(&block.attn.wo, &att, s, &mut o)?;
        add(&mut x, &o);
        rms_norm(&x, &block.ffn_norm, dim, &mut h)?;
        linears(
            &mut [(&block.ffn.gate, &mut gate), (&block.ffn.up, &mut up)],
            &h,
            s,
        )?;
        for (g, &u) in gate.iter_mut().zip(&up) {
            *g = *g / (1.0 + (-*g).exp()) * u;
        }
        linear(&block.ffn.down, &gate, s, &mut o)?;
        add(&mut x, &o);
    }
    cache.len = start + s;

    let last = if last_only {
        &x[(s - 1) * dim..]
    } else {
        &x[..]
    };
    let rows = last.len() / dim;
    let mut normed = vec![0.0f32; last.len()];
    rms_norm(last, &model.norm, dim, &mut normed)?;
    let mut logits = vec![0.0f32; rows * c.vocab_size];
    linear(head, &normed, rows, &mut logits)?;
    Ok(logits)
}

/// `out = x·Wᵀ (+ b)` for `n` rows with a quantized layer.
fn linear(layer: &Linear, x: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
    linears(&mut [(layer, out)], x, n)
}

/// [`linear`] for several layers with the same input, in one parallel pass.
fn linears(layers: &mut [(&Linear, &mut [f32])], x: &[f32], n: usize) -> Result<()> {
    let mut parts = Vec::with_capacity(layers.len());
    for (layer, out) in layers.iter_mut() {
        let q = layer
            .quantized()
            .ok_or_else(|| Error::InvalidModel("host decode path: an f32 layer".into()))?;
        parts.push((q.as_ref(), &mut **out));
    }
    QuantMatrix::matmul_many(&mut parts, x, n)?;
    for (layer, out) in layers.iter_mut() {
        if let Some(b) = &layer.bias {
            let b = host_values(b.val())?;
            for row in out.chunks_exact_mut(b.len().max(1)) {
                add(row, &b);
            }
        }
    }
    Ok(())
}

fn host_values(t: burn::tensor::Tensor<1>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| Error::InvalidModel(format!("reading a parameter: {e:?}")))
}

/// [`RmsNorm::forward`] over rows of `dim` values.
fn rms_norm(x: &[f32], norm: &RmsNorm, dim: usize, out: &mut [f32]) -> Result<()> {
    let w = host_values(norm.weight.val())?;
    if w.len() != dim {
        return Err(Error::InvalidModel(format!(
            "norm of {} values for rows of {dim}",
            w.len()
        )));
    }
    let eps = norm.eps as f32;
    for (row, o) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let rms = (dot(row, row) / dim as f32 + eps).sqrt();
        for ((o, &v), &w) in o.iter_mut().zip(row).zip(&w) {
            *o = v / rms * w;
        }
    }
    Ok(())
}

/// Rotates each head of `x: [seq, heads · head_dim]` (positions as in the `cos`/`sin` tables,
/// `[seq, head_dim / 2]`), pairing dimensions as `style` says.
fn rope(style: RopeStyle, x: &mut [f32], hd: usize, cos: &[f32], sin: &[f32]) {
    let half = hd / 2;
    let row_len = x.len() / (cos.len() / half).max(1);
    for (t, row) in x.chunks_exact_mut(row_len).enumerate() {
        let (cos, sin) = (
            &cos[t * half..(t + 1) * half],
            &sin[t * half..(t + 1) * half],
        );
        for head in row.chunks_exact_mut(hd) {
            for i in 0..half {
                let (a, b) = match style {
                    RopeStyle::Adjacent => (2 * i, 2 * i + 1),
                    RopeStyle::Half => (i, i + half),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * cos[i] - x1 * sin[i];
                head[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}

/// Causal grouped-query attention of `q: [seq, n_heads · head_dim]` (positions
/// `start .. start + seq`) over the cached keys and values, into `out` (same shape as `q`).
fn attention(
    q: &[f32],
    kv: &HostKv,
    start: usize,
    (nh, nkv, hd): (usize, usize, usize),
    out: &mut [f32],
) {
    let scale = 1.0 / (hd as f32).sqrt();
    let (q_dim, kv_dim) = (nh * hd, nkv * hd);
    let group = nh / nkv;
    let avx2 = has_avx2();
    out.par_chunks_mut(hd)
        .enumerate()
        .for_each_init(Vec::new, |scores: &mut Vec<f32>, (i, o)| {
            let (t, head) = (i / nh, i % nh);
            let g = head / group;
            let head = Head {
                q: &q[t * q_dim + head * hd..][..hd],
                k: &kv.k,
                v: &kv.v,
                offset: g * hd,
                stride: kv_dim,
                keys: start + t + 1,
                scale,
            };
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: `has_avx2()` checked that the CPU has AVX2 and FMA.
                #[allow(unsafe_code)]
                unsafe {
                    attend_avx2(&head, scores, o)
                };
                return;
            }
            let _ = avx2;
            attend(&head, scores, o);
        });
}

/// One query head against its cached keys and values.
struct Head<'a> {
    /// `[head_dim]`.
    q: &'a [f32],
    /// Keys, `[position, stride]`; this head's group at `offset`.
    k: &'a [f32],
    /// Values, laid out like `k`.
    v: &'a [f32],
    offset: usize,
    stride: usize,
    /// Positions to attend to (causal: up to and including the query's own).
    keys: usize,
    scale: f32,
}

/// `softmax(q·kᵀ·scale)·v` into `o`, using `scores` as scratch.
#[inline(always)]
fn attend(h: &Head<'_>, scores: &mut Vec<f32>, o: &mut [f32]) {
    let hd = h.q.len();
    scores.clear();
    let mut max = f32::NEG_INFINITY;
    for j in 0..h.keys {
        let s = dot(h.q, &h.k[j * h.stride + h.offset..][..hd]) * h.scale;
        max = max.max(s);
        scores.push(s);
    }
    let mut sum = 0.0f32;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    o.fill(0.0);
    for (j, &p) in scores.iter().enumerate() {
        let vj = &h.v[j * h.stride + h.offset..][..hd];
        for (o, &v) in o.iter_mut().zip(vj) {
            *o += p * v;
        }
    }
    let inv = 1.0 / sum;
    o.iter_mut().for_each(|v| *v *= inv);
}

/// [`attend`] compiled for AVX2 and FMA (the same code, vectorized 8 lanes wide).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn attend_avx2(h: &Head<'_>, scores: &mut Vec<f32>, o: &mut [f32]) {
    attend(h, scores, o);
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

/// `x += y`.
fn add(x: &mut [f32], y: &[f32]) {
    for (a, &b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// `Σ a·b`, in 16 independent lanes (so the compiler can vectorize without reassociating).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let (ac, ar) = a.as_chunks::<16>();
    let (bc, br) = b.as_chunks::<16>();
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..16 {
            lanes[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

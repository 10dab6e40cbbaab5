//! A lean CPU forward pass of the BERT encoder on plain f32 buffers, used by
//! [`crate::SentenceEncoder`] when its device is burn's Flex CPU backend without autodiff (for
//! inference only: GPUs and training keep the burn module [`crate::bert::Bert`]).
//!
//! It computes what the burn module computes, from the same checkpoint reading
//! ([`crate::bert::BertWeights`]), laid out for speed on a few cores:
//! - ragged batches: the sentences' tokens are packed one after another with no padding, so every
//!   matrix product runs over exactly the real tokens and attention needs no mask;
//! - Q, K and V come from one product (their weights concatenated at load); a bias and the
//!   residual are folded in by starting the product from them; GELU and LayerNorm are single
//!   passes over rows;
//! - attention runs per sentence and head on contiguous rows: scores, softmax and the weighted
//!   sum of V in one pass, sentences in parallel;
//! - products go through the `gemm` crate (the kernel burn-flex uses) on rayon's threads;
//! - scratch buffers are kept between calls.

use std::marker::PhantomData;
use std::sync::Mutex;

use rayon::prelude::*;

use crate::bert::{BertConfig, BertWeights, DenseWeights, NormWeights};
use crate::error::{Error, Result};

/// Below this many multiply-adds a product runs on the calling thread.
const PAR_GEMM_WORK: usize = 1 << 20;
/// Output columns per weight block (a multiple of gemm's AVX-512 and AVX2 kernel heights).
const COL_BLOCK: usize = 64;
/// At most this many input rows per product task (the rows are split evenly into blocks).
/// Measured on the bench's batches of 32 short sentences (~530 rows): blocks of about 100 rows
/// ran ~10% slower than one block, as each re-reads the whole weight.
const ROW_BLOCK: usize = 512;
/// Rows per rayon task in row-wise passes (LayerNorm, GELU, embeddings).
const ROWS_PER_TASK: usize = 16;
/// Row-wise passes over fewer rows than this stay on the calling thread: waking a second
/// thread costs more than the pass (a query's ~20 rows).
const PAR_ROWS: usize = 64;

/// Whether this CPU runs AVX-512F code (checked once, then cached by std).
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// Runs `$body` (plain Rust, inlined) compiled for AVX-512 when the CPU has it, so the compiler
/// vectorizes it 16 floats wide, else as built for the baseline target. Same operations either
/// way (Rust never contracts a multiply and an add into an FMA), so the same results.
macro_rules! wide {
    ($name:ident, fn($($arg:ident: $ty:ty),*) $body:block) => {{
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn $name($($arg: $ty),*) $body
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            #[allow(unsafe_code)]
            unsafe {
                $name($($arg),*)
            }
        } else {
            (|$($arg: $ty),*| $body)($($arg),*)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            (|$($arg: $ty),*| $body)($($arg),*)
        }
    }};
}

/// A dense layer: the `[d_in, d_out]` weight as column blocks of [`COL_BLOCK`] (each `[d_in,
/// width]` row-major and contiguous, so a product streams it in order), and the `[d_out]` bias.
#[derive(Debug)]
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    /// The layers' outputs side by side: one product computes all of them.
    fn concat(parts: &[&DenseWeights]) -> Result<Self> {
        let d_in = parts.first().map_or(0, |p| p.d_in);
        if parts.iter().any(|p| p.d_in != d_in) {
            return Err(Error::InvalidModel(
                "dense layers of different widths".into(),
            ));
        }
        let d_out: usize = parts.iter().map(|p| p.d_out).sum();
        // The transpose of the checkpoint rows ([d_out, d_in]) side by side: [d_in, d_out].
        let mut full = vec![0.0f32; d_in * d_out];
        let mut b = Vec::with_capacity(d_out);
        let mut off = 0;
        for p in parts {
            let rows = p.weight.values();
            for o in 0..p.d_out {
                let row = &rows[o * d_in..(o + 1) * d_in];
                for (r, &v) in row.iter().enumerate() {
                    full[r * d_out + off + o] = v;
                }
            }
            b.extend_from_slice(p.bias.values());
            off += p.d_out;
        }
        // Stored as column blocks, each `[d_in, width]` and contiguous.
        let mut w = Vec::with_capacity(d_in * d_out);
        for c0 in (0..d_out).step_by(COL_BLOCK) {
            let width = COL_BLOCK.min(d_out - c0);
            for r in 0..d_in {
                w.extend_from_slice(&full[r * d_out + c0..][..width]);
            }
        }
        Ok(Self { w, b, d_in, d_out })
    }
}

#[derive(Debug)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Norm {
    fn new(n: &NormWeights) -> Self {
        Self {
            gamma: n.gamma.values().to_vec(),
            beta: n.beta.values().to_vec(),
        }
    }
}

#[derive(Debug)]
struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    intermediate: Dense,
    output: Dense,
    out_norm: Norm,
}

/// Buffers reused between calls; each grows to the largest batch seen.
#[derive(Debug, Default)]
struct Scratch {
    /// Hidden states `[tokens, hidden]`.
    x: Vec<f32>,
    /// Q, K, V side by side `[tokens, 3 * hidden]`.
    qkv: Vec<f32>,
    /// Attention output `[tokens, hidden]`.
    ctx: Vec<f32>,
    /// Residual sums before a norm `[tokens, hidden]`.
    sum: Vec<f32>,
    /// Feed-forward activations `[tokens, intermediate]`.
    ff: Vec<f32>,
    /// One row of attention scores per sentence and head.
    scores: Vec<f32>,
}

/// The encoder on plain buffers.
#[derive(Debug)]
pub(crate) struct CpuBert {
    hidden: usize,
    n_heads: usize,
    intermediate: usize,
    eps: f32,
    vocab: usize,
    max_positions: usize,
    word: Vec<f32>,
    position: Vec<f32>,
    /// Token type 0's embedding (single-segment input).
    token_type: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
    scratch: Mutex<Vec<Scratch>>,
}

impl CpuBert {
    /// Lays out the weights read for `config`.
    pub(crate) fn new(config: &BertConfig, w: &BertWeights) -> Result<Self> {
        let d = config.hidden;
        let layers = w
            .layers
            .iter()
            .map(|l| {
                Ok(Layer {
                    qkv: Dense::concat(&[&l.query, &l.key, &l.value])?,
                    attn_out: Dense::concat(&[&l.attn_out])?,
                    attn_norm: Norm::new(&l.attn_norm),
                    intermediate: Dense::concat(&[&l.intermediate])?,
                    output: Dense::concat(&[&l.output])?,
                    out_norm: Norm::new(&l.out_norm),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            hidden: d,
            n_heads: config.n_heads,
            intermediate: config.intermediate,
            eps: config.eps as f32,
            vocab: config.vocab_size,
            max_positions: config.max_positions,
            word: w.word.values().to_vec(),
            position: w.position.values().to_vec(),
            token_type: w.token_type.values()[..d].to_vec(),
            embed_norm: Norm::new(&w.embed_norm),
            layers,
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// Mean-pooled, L2-normalized embeddings of token sequences (each with its special tokens),
    /// one vector per sequence.
    pub(crate) fn embed(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        self.with_scratch(|s| {
            self.forward(seqs, s)?;
            let d = self.hidden;
            let mut out = Vec::with_capacity(seqs.len());
            let mut start = 0;
            for seq in seqs {
                let rows = &s.x[start * d..(start + seq.len()) * d];
                start += seq.len();
                let mut v = vec![0.0f32; d];
                for row in rows.chunks_exact(d) {
                    for (a, &r) in v.iter_mut().zip(row) {
                        *a += r;
                    }
                }
                let inv_n = 1.0 / seq.len() as f32;
                v.iter_mut().for_each(|a| *a *= inv_n);
                let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|a| *a /= norm);
                out.push(v);
            }
            Ok(out)
        })
    }

    /// The last hidden states `[total tokens, hidden]` of the packed sequences.
    #[cfg(test)]
    pub(crate) fn hidden_states(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        self.with_scratch(|s| {
            self.forward(seqs, s)?;
            let n: usize = seqs.iter().map(|q| q.len()).sum();
            Ok(s.x[..n * self.hidden].to_vec())
        })
    }

    fn with_scratch<T>(&self, f: impl FnOnce(&mut Scratch) -> Result<T>) -> Result<T> {
        let mut s = match self.scratch.lock() {
            Ok(mut pool) => pool.pop().unwrap_or_default(),
            Err(_) => Scratch::default(),
        };
        let r = f(&mut s);
        if let Ok(mut p) = self.scratch.lock() {
            p.push(s);
        }
        r
    }

    /// Runs the encoder; the result is left in `s.x`.
    fn forward(&self, seqs: &[&[u32]], s: &mut Scratch) -> Result<()> {
        let d = self.hidden;
        let mut n = 0usize;
        for seq in seqs {
            if seq.is_empty() || seq.len() > self.max_positions {
                return Err(Error::InvalidArgument(format!(
                    "BERT input must be 1..={} tokens, got {}",
                    self.max_positions,
                    seq.len()
                )));
            }
            if let Some(&t) = seq.iter().find(|&&t| t as usize >= self.vocab) {
                return Err(Error::InvalidArgument(format!(
                    "token id {t} >= vocabulary {}",
                    self.vocab
                )));
            }
            n += seq.len();
        }
        if n == 0 {
            return Err(Error::InvalidArgument("empty BERT batch".into()));
        }
        let ff = self.intermediate;
        resize(&mut s.x, n * d);
        resize(&mut s.qkv, n * 3 * d);
        resize(&mut s.ctx, n * d);
        resize(&mut s.sum, n * d);
        resize(&mut s.ff, n * ff);
        resize(&mut s.scores, n * self.n_heads);

        // Embeddings: word + position + type 0, then LayerNorm.
        let mut pos: Vec<(u32, usize)> = Vec::with_capacity(n);
        for seq in seqs {
            pos.extend(seq.iter().enumerate().map(|(p, &t)| (t, p)));
        }
        let x = &mut s.x[..n * d];
        for_rows(x, d, |i, row| {
            let (t, p) = pos[i];
            let w = &self.word[t as usize * d..][..d];
            let pe = &self.position[p * d..][..d];
            for (((o, &a), &b), &c) in row.iter_mut().zip(w).zip(pe).zip(&self.token_type) {
                *o = a + b + c;
            }
            layer_norm(row, &self.embed_norm, self.eps);
        });

        for layer in &self.layers {
            self.layer(layer, seqs, n, s);
        }
        Ok(())
    }

    fn layer(&self, l: &Layer, seqs: &[&[u32]], n: usize, s: &mut Scratch) {
        let d = self.hidden;
        let x = &s.x[..n * d];
        // Q, K, V = x·W + b.
        let qkv = &mut s.qkv[..n * 3 * d];
        dense(qkv, x, &l.qkv, None, false);
        self.attention(qkv, &mut s.ctx[..n * d], &mut s.scores, seqs);
        // x = LayerNorm(x + ctx·W + b).
        let sum = &mut s.sum[..n * d];
        dense(sum, &s.ctx[..n * d], &l.attn_out, Some(x), false);
        for_rows(sum, d, |_, row| layer_norm(row, &l.attn_norm, self.eps));
        std::mem::swap(&mut s.x, &mut s.sum);
        let x = &s.x[..n * d];
        // x = LayerNorm(x + GELU(x·W1 + b1)·W2 + b2).
        let ffb = &mut s.ff[..n * self.intermediate];
        dense(ffb, x, &l.intermediate, None, true);
        let sum = &mut s.sum[..n * d];
        dense(sum, ffb, &l.output, Some(x), false);
        for_rows(sum, d, |_, row| layer_norm(row, &l.out_norm, self.eps));
        std::mem::swap(&mut s.x, &mut s.sum);
    }

    /// Self-attention of each sequence on its own rows: `qkv` `[tokens, 3 * hidden]` in, `ctx`
    /// `[tokens, hidden]` out. Tasks are (sequence, head) pairs; `scores` holds one row of `len`
    /// per task.
    fn attention(&self, qkv: &[f32], ctx: &mut [f32], scores: &mut [f32], seqs: &[&[u32]]) {
        let (d, heads) = (self.hidden, self.n_heads);
        let mut jobs = Vec::with_capacity(seqs.len() * heads);
        let mut rest = scores;
        let mut start = 0;
        for seq in seqs {
            let len = seq.len();
            for h in 0..heads {
                let (sc, r) = std::mem::take(&mut rest).split_at_mut(len);
                rest = r;
                jobs.push((start, len, h, sc));
            }
            start += len;
        }
        let ctx = Windows::new(ctx, d);
        let run = |(start, len, h, sc): (usize, usize, usize, &mut [f32])| {
            self.attend_head(qkv, start, len, h, sc, ctx);
        };
        // Multiply-adds: q·kᵀ and p·v, len² · hidden each.
        let work: usize = seqs.iter().map(|q| 2 * q.len() * q.len() * d).sum();
        if work < PAR_GEMM_WORK || rayon::current_num_threads() < 2 {
            jobs.into_iter().for_each(run);
        } else {
            jobs.into_par_iter().for_each(run);
        }
    }

    /// Head `h` of the sequence at rows `start..start + len`: softmax(q·kᵀ/√hd)·v into `ctx`.
    fn attend_head(
        &self,
        qkv: &[f32],
        start: usize,
        len: usize,
        h: usize,
        scores: &mut [f32],
        ctx: Windows<'_>,
    ) {
        let this = self;
        wide!(attend_avx512, fn(
            this: &CpuBert,
            qkv: &[f32],
            start: usize,
            len: usize,
            h: usize,
            scores: &mut [f32],
            ctx: Windows<'_>
        ) {
            let d = this.hidden;
            let hd = d / this.n_heads;
            let scale = 1.0 / (hd as f32).sqrt();
            let stride = 3 * d;
            let qkv = &qkv[start * stride..(start + len) * stride];
            let (q_off, k_off, v_off) = (h * hd, d + h * hd, 2 * d + h * hd);
            for i in 0..len {
                let q = &qkv[i * stride + q_off..][..hd];
                let row = &mut scores[..len];
                let mut max = f32::NEG_INFINITY;
                for (j, r) in row.iter_mut().enumerate() {
                    let k = &qkv[j * stride + k_off..][..hd];
                    *r = dot(q, k) * scale;
                    max = max.max(*r);
                }
                let mut total = 0.0;
                for r in row.iter_mut() {
                    *r = (*r - max).exp();
                    total += *r;
                }
                let inv = 1.0 / total;
                // SAFETY: row start + i, columns of head h: each (sequence, head) task writes only
                // its own rows' head columns.
                #[allow(unsafe_code)]
                let out = unsafe { ctx.row(start + i, h * hd, hd) };
                out.iter_mut().for_each(|o| *o = 0.0);
                for (j, &p) in row.iter().enumerate() {
                    let v = &qkv[j * stride + v_off..][..hd];
                    let p = p * inv;
                    for (o, &vv) in out.iter_mut().zip(v) {
                        *o += p * vv;
                    }
                }
            }
        })
    }
}

fn resize(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// `f(row index, row)` over the rows of width `d`, in parallel when there are many.
fn for_rows(x: &mut [f32], d: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if x.len() <= PAR_ROWS * d {
        x.chunks_exact_mut(d).enumerate().for_each(|(i, r)| f(i, r));
    } else {
        x.par_chunks_mut(ROWS_PER_TASK * d)
            .enumerate()
            .for_each(|(c, rows)| {
                for (i, r) in rows.chunks_exact_mut(d).enumerate() {
                    f(c * ROWS_PER_TASK + i, r);
                }
            });
    }
}

/// `out = x·W + b (+ residual)`, row-major, `out: [rows, d_out]`, `x: [rows, d_in]`.
fn dense(out: &mut [f32], x: &[f32], l: &Dense, residual: Option<&[f32]>, then_gelu: bool) {
    let n = l.d_out;
    match residual {
        Some(r) => {
            for (o, rr) in out.chunks_exact_mut(n).zip(r.chunks_exact(n)) {
                for ((o, &a), &b) in o.iter_mut().zip(rr).zip(&l.b) {
                    *o = a + b;
                }
            }
        }
        None => out
            .chunks_exact_mut(n)
            .for_each(|o| o.copy_from_slice(&l.b)),
    }
    matmul_acc(out, x, &l.w, l.d_in, n, then_gelu);
}

/// A row-major `rows × n` buffer, borrowed mutably, that parallel tasks write in disjoint
/// windows (column ranges of rows).
#[derive(Clone, Copy)]
struct Windows<'a> {
    base: *mut f32,
    len: usize,
    n: usize,
    _buf: PhantomData<&'a mut [f32]>,
}

// SAFETY: a `Windows` is a `&mut [f32]` split among tasks; `f32` is `Send + Sync`, and the
// methods' contracts keep the tasks' windows disjoint.
#[allow(unsafe_code)]
unsafe impl Send for Windows<'_> {}
#[allow(unsafe_code)]
unsafe impl Sync for Windows<'_> {}

impl<'a> Windows<'a> {
    fn new(buf: &'a mut [f32], n: usize) -> Self {
        Self {
            base: buf.as_mut_ptr(),
            len: buf.len(),
            n,
            _buf: PhantomData,
        }
    }

    /// Columns `c0..c0 + width` of row `r`.
    ///
    /// # Safety
    /// No other live slice from this buffer may overlap the returned one (tasks own disjoint
    /// windows).
    #[allow(unsafe_code)]
    unsafe fn row(&self, r: usize, c0: usize, width: usize) -> &'a mut [f32] {
        let start = r * self.n + c0;
        assert!(
            c0 + width <= self.n && start + width <= self.len,
            "window out of bounds"
        );
        // SAFETY: in bounds (checked); exclusive by the caller's contract; the buffer is
        // borrowed mutably for 'a.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(start), width) }
    }
}

/// `out[m, n] += a[m, k] · w[k, n]`, with `out` and `a` row-major, `m = a.len() / k`, and `w` in
/// column blocks as [`Dense`] keeps it; then GELU on every output value if `then_gelu`. Tasks are (row
/// block, column block) pairs, each finishing its own window while it is in cache.
fn matmul_acc(out: &mut [f32], a: &[f32], w: &[f32], k: usize, n: usize, then_gelu: bool) {
    let m = a.len() / k.max(1);
    // The checks that keep the raw-pointer calls below inside the slices.
    if k == 0 || n == 0 || m == 0 || out.len() != m * n || a.len() != m * k || w.len() != k * n {
        debug_assert!(
            false,
            "matmul shapes: out {} a {} w {} k {k} n {n}",
            out.len(),
            a.len(),
            w.len()
        );
        return;
    }
    let col_blocks = n.div_ceil(COL_BLOCK);
    let row_blocks = m.div_ceil(ROW_BLOCK);
    let row_block = m.div_ceil(row_blocks);
    let tasks = row_blocks * col_blocks;
    let out = Windows::new(out, n);
    let task = |t: usize| {
        let (r0, c0) = ((t / col_blocks) * row_block, (t % col_blocks) * COL_BLOCK);
        let (rows, width) = (row_block.min(m - r0), COL_BLOCK.min(n - c0));
        let a = &a[r0 * k..(r0 + rows) * k];
        let w = &w[c0 * k..(c0 + width) * k];
        #[allow(unsafe_code)]
        // SAFETY: this task's window, rows r0..r0 + rows and columns c0..c0 + width of the
        // `m × n` output (row stride n), lies inside the output (m, n checked above) and is
        // disjoint from every other task's; `a` (`rows × k`) and `w` (`k × width`) are row-major
        // in-bounds subslices that do not alias the output.
        unsafe {
            let first = out.row(r0, c0, width).as_mut_ptr();
            gemm::gemm(
                rows,
                width,
                k,
                first,
                1,
                n as isize,
                true,
                a.as_ptr(),
                1,
                k as isize,
                w.as_ptr(),
                1,
                width as isize,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
            if then_gelu {
                for r in r0..r0 + rows {
                    gelu_slice(out.row(r, c0, width));
                }
            }
        }
    };
    if m * n * k >= PAR_GEMM_WORK && rayon::current_num_threads() > 1 {
        (0..tasks).into_par_iter().for_each(task);
    } else {
        (0..tasks).for_each(task);
    }
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

fn sum8(a: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    for x in ac.chunks_exact(8) {
        for i in 0..8 {
            acc[i] += f(x[i]);
        }
    }
    acc.iter().sum::<f32>() + ar.iter().map(|&x| f(x)).sum::<f32>()
}

/// `(x - mean) / sqrt(var + eps) · gamma + beta` in place over one row.
fn layer_norm(row: &mut [f32], n: &Norm, eps: f32) {
    let inv_d = 1.0 / row.len() as f32;
    let mean = sum8(row, |x| x) * inv_d;
    let var = sum8(row, |x| (x - mean) * (x - mean)) * inv_d;
    let inv = 1.0 / (var + eps).sqrt();
    for ((x, &g), &b) in row.iter_mut().zip(&n.gamma).zip(&n.beta) {
        *x = (*x - mean) * inv * g + b;
    }
}

/// GELU over a slice.
fn gelu_slice(x: &mut [f32]) {
    wide!(gelu_avx512, fn(x: &mut [f32]) {
        x.iter_mut().for_each(|v| *v = gelu(*v));
    })
}

/// GELU with the exact (erf) form BERT uses.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf in f32 to about 1e-7 absolute: a rational approximation on [-4, 4] (outside it erf is
/// ±1 in f32), as in Eigen and XLA; branch-free, so loops over it vectorize.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329_3e-3;
    q = x2 * q + -1.426_474e-2;
    p / q
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::bert::{Bert, LayerWeights};
    use crate::weights::HostTensor;

    /// A small random BERT: hidden 16, 2 heads, 2 layers, ffn 24, vocab 30.
    fn tiny() -> (BertConfig, BertWeights) {
        let config = BertConfig {
            vocab_size: 30,
            hidden: 16,
            n_layers: 2,
            n_heads: 2,
            intermediate: 24,
            max_positions: 12,
            type_vocab: 2,
            eps: 1e-12,
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut t = |shape: &[usize], center: f32, spread: f32| {
            let n = shape.iter().product();
            let values = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    center + spread * ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
                })
                .collect();
            HostTensor::new("t", values, shape.to_vec()).unwrap()
        };
        let (d, f) = (16, 24);
        let mut dense = |d_in: usize, d_out: usize| DenseWeights {
            weight: t(&[d_out, d_in], 0.0, 0.8),
            bias: t(&[d_out], 0.0, 0.2),
            d_in,
            d_out,
        };
        let layers_dense: Vec<[DenseWeights; 6]> = (0..2)
            .map(|_| {
                [
                    dense(d, d),
                    dense(d, d),
                    dense(d, d),
                    dense(d, d),
                    dense(d, f),
                    dense(f, d),
                ]
            })
            .collect();
        let mut norm = || NormWeights {
            gamma: t(&[d], 1.0, 0.4),
            beta: t(&[d], 0.0, 0.2),
        };
        let mut layers = Vec::new();
        for [query, key, value, attn_out, intermediate, output] in layers_dense {
            layers.push(LayerWeights {
                query,
                key,
                value,
                attn_out,
                attn_norm: norm(),
                intermediate,
                output,
                out_norm: norm(),
            });
        }
        let embed_norm = norm();
        let weights = BertWeights {
            word: t(&[30, d], 0.0, 2.0),
            position: t(&[12, d], 0.0, 1.0),
            token_type: t(&[2, d], 0.0, 1.0),
            embed_norm,
            layers,
        };
        (config, weights)
    }

    #[test]
    fn matches_the_burn_module_on_a_padded_batch() {
        let (config, weights) = tiny();
        let cpu = CpuBert::new(&config, &weights).unwrap();
        let device = Device::flex();
        let bert = Bert::from_weights(&config, weights, &device).unwrap();
        let seqs: [&[u32]; 3] = [&[1, 5, 7, 2], &[1, 29, 3, 3, 8, 11, 2], &[1, 2]];
        let seq = 7;
        let ids: Vec<Vec<u32>> = seqs
            .iter()
            .map(|s| {
                s.iter()
                    .copied()
                    .chain(std::iter::repeat(0))
                    .take(seq)
                    .collect()
            })
            .collect();
        let mask: Vec<Vec<u32>> = seqs
            .iter()
            .map(|s| (0..seq).map(|i| u32::from(i < s.len())).collect())
            .collect();
        let want: Vec<f32> = bert
            .forward(&ids, &mask)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let got = cpu.hidden_states(&seqs).unwrap();
        let d = config.hidden;
        let mut row = 0;
        for (b, s) in seqs.iter().enumerate() {
            for p in 0..s.len() {
                let w = &want[(b * seq + p) * d..][..d];
                let g = &got[row * d..][..d];
                for (x, y) in w.iter().zip(g) {
                    assert!((x - y).abs() < 1e-4, "sequence {b} token {p}: {x} vs {y}");
                }
                row += 1;
            }
        }
        // Pooled vectors are unit length, and the same alone as in a batch.
        let all = cpu.embed(&seqs).unwrap();
        let alone = cpu.embed(&seqs[1..2]).unwrap();
        for (x, y) in all[1].iter().zip(&alone[0]) {
            assert!((x - y).abs() < 1e-6);
        }
        let norm: f32 = all[0].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn bad_input_is_an_error() {
        let (config, weights) = tiny();
        let cpu = CpuBert::new(&config, &weights).unwrap();
        assert!(cpu.embed(&[&[1, 30]]).is_err());
        assert!(cpu.embed(&[&[]]).is_err());
        assert!(cpu.embed(&[&[1; 13]]).is_err());
        assert!(cpu.embed(&[]).is_err());
    }

    /// erf by its Taylor series in f64 (exact to ~1e-13 on [-3, 3]).
    fn erf_ref(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..120 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_is_accurate() {
        let mut worst = 0.0f64;
        for i in -300..=300 {
            let x = i as f64 / 100.0;
            worst = worst.max((f64::from(erf(x as f32)) - erf_ref(x)).abs());
        }
        assert!(worst < 1e-6, "erf error {worst}");
        // Beyond 3, erf is within erfc(3) = 2.21e-5 of ±1.
        for i in 301..=1000 {
            let y = erf(i as f32 / 100.0);
            assert!((1.0 - y).abs() < 2.3e-5, "erf({}) = {y}", i as f32 / 100.0);
            assert_eq!(erf(-(i as f32) / 100.0), -y);
        }
    }

    #[test]
    fn matmul_accumulates_row_major() {
        // [2x3]·[3x2] added to ones.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut out = [1.0f32; 4];
        matmul_acc(&mut out, &a, &b, 3, 2, false);
        assert_eq!(out, [5.0, 6.0, 11.0, 12.0]);
    }

    #[test]
    fn dense_over_many_blocks_matches_the_definition() {
        // Several row and column blocks, ragged at both ends, from two concatenated layers.
        let (m, k, n1, n2) = (ROW_BLOCK + 7, 9, COL_BLOCK + 3, COL_BLOCK - 5);
        let val = |i: usize| ((i * 7919) % 113) as f32 / 113.0 - 0.5;
        let part = |n: usize, salt: usize| DenseWeights {
            weight: HostTensor::new("w", (0..n * k).map(|i| val(i + salt)).collect(), vec![n, k])
                .unwrap(),
            bias: HostTensor::new("b", (0..n).map(|i| val(i * 3 + salt)).collect(), vec![n])
                .unwrap(),
            d_in: k,
            d_out: n,
        };
        let (p1, p2) = (part(n1, 1), part(n2, 50));
        let l = Dense::concat(&[&p1, &p2]).unwrap();
        let x: Vec<f32> = (0..m * k).map(|i| val(i + 11)).collect();
        let residual: Vec<f32> = (0..m * (n1 + n2)).map(|i| val(i + 5)).collect();
        let mut out = vec![0.0; m * (n1 + n2)];
        dense(&mut out, &x, &l, Some(&residual), false);
        for r in 0..m {
            for (c, (p, o)) in (0..n1)
                .map(|o| (&p1, o))
                .chain((0..n2).map(|o| (&p2, o)))
                .enumerate()
            {
                let w = &p.weight.values()[o * k..][..k];
                let want = residual[r * (n1 + n2) + c]
                    + p.bias.values()[o]
                    + (0..k).map(|i| x[r * k + i] * w[i]).sum::<f32>();
                let got = out[r * (n1 + n2) + c];
                assert!((want - got).abs() < 1e-5, "({r}, {c}): {got} vs {want}");
            }
        }
    }
}

//! Weight matrices kept in ggml's quantized block formats, multiplied without expanding them.
//!
//! A [`QuantMatrix`] holds a `[rows, cols]` matrix exactly as a GGUF file stores it: row `r` is
//! `cols / 32` consecutive blocks (Q4_0, Q4_1 or Q8_0; layouts in [`crate::gguf::dequantize_blocks`]).
//! For a linear layer the rows are the output features, so `y = W·x` is one dot product per row,
//! and for a tied Llama head the token embedding `[vocab, dim]` is already in that layout.
//!
//! [`QuantMatrix::matmul`] computes `out[t, r] = Σ_c x[t, c]·W[r, c]` with fused kernels that
//! expand each block into SIMD registers (`w = d·q + m`) and multiply it by f32 activations, so
//! the weights are read once per call at their stored size (decode is bound by memory
//! bandwidth, and 4.5–8.5 bits per weight is 4–7× fewer bytes than f32). Activations stay f32, so
//! the result equals the dequantize-then-multiply reference up to float rounding. Rows are split
//! across rayon's pool in chunks; a prompt (`n > 1` rows of activations) is processed in groups
//! of up to eight activation rows per expanded block, a group small enough to stay in L1.
//!
//! Kernels: AVX-512F (16 lanes) and AVX2+FMA (8 lanes) on x86-64, chosen at run time with
//! `is_x86_feature_detected!`, and a portable scalar fallback elsewhere (on aarch64 the scalar
//! path relies on the compiler's auto-vectorization; there is no hand-written NEON kernel yet).
//! The SIMD kernels prefetch 2 KiB ahead: a decode step reads ~200 matrices in short per-task
//! streams, on which the hardware prefetcher alone left the kernels waiting on memory
//! (`examples/quant_bench`: 23.5 → 13.6 ms per SmolLM2-sized step on one thread).
//!
//! The blocks either live in their own allocation or stay in the memory-mapped GGUF file
//! ([`QuantMatrix::mapped`]), so a loaded model's weights are the file's pages.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::gguf::{GgmlType, GgufFile, dequantize_blocks};

/// Values per block in every supported type.
pub const BLOCK: usize = 32;

/// The ggml block formats a [`QuantMatrix`] can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantType {
    /// `d: f16, qs: [u8; 16]`, value `d·(q − 8)`.
    Q4_0,
    /// `d: f16, m: f16, qs: [u8; 16]`, value `d·q + m`.
    Q4_1,
    /// `d: f16, qs: [i8; 32]`, value `d·q`.
    Q8_0,
}

impl QuantType {
    /// The type for a ggml type, if it is one of the supported ones.
    pub fn from_ggml(ty: GgmlType) -> Option<Self> {
        match ty {
            GgmlType::Q4_0 => Some(Self::Q4_0),
            GgmlType::Q4_1 => Some(Self::Q4_1),
            GgmlType::Q8_0 => Some(Self::Q8_0),
            _ => None,
        }
    }

    /// The ggml type.
    pub fn ggml(self) -> GgmlType {
        match self {
            Self::Q4_0 => GgmlType::Q4_0,
            Self::Q4_1 => GgmlType::Q4_1,
            Self::Q8_0 => GgmlType::Q8_0,
        }
    }

    /// Bytes per block of 32 values.
    pub const fn block_bytes(self) -> usize {
        match self {
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q8_0 => 34,
        }
    }
}

/// A `[rows, cols]` matrix of ggml blocks, row-major, each row `cols / 32` blocks.
#[derive(Clone)]
pub struct QuantMatrix {
    ty: QuantType,
    rows: usize,
    cols: usize,
    data: Storage,
}

/// Where a matrix's blocks live.
#[derive(Clone)]
enum Storage {
    /// In its own allocation.
    Owned(Vec<u8>),
    /// In a memory-mapped GGUF file, at `start .. start + len` of its bytes: the model's
    /// weights are then the file's pages (shared, and counted once however many models map it).
    Mapped {
        file: Arc<GgufFile>,
        start: usize,
        len: usize,
    },
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            Self::Mapped { file, start, len } => file
                .bytes()
                .get(*start..start.saturating_add(*len))
                .unwrap_or_default(),
        }
    }
}

impl fmt::Debug for QuantMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuantMatrix")
            .field("ty", &self.ty)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("bytes", &self.byte_len())
            .field("mapped", &matches!(self.data, Storage::Mapped { .. }))
            .finish()
    }
}

impl QuantMatrix {
    /// A matrix from stored blocks, checking that `data` holds exactly `rows × cols` values.
    pub fn new(ty: QuantType, rows: usize, cols: usize, data: Vec<u8>) -> Result<Self> {
        Self::checked(ty, rows, cols, Storage::Owned(data))
    }

    /// A matrix whose blocks are `bytes`, a slice of the mapped `file` (as a [`crate::gguf::Gguf`]
    /// parsed from it hands out), kept in place rather than copied.
    pub fn mapped(
        ty: QuantType,
        rows: usize,
        cols: usize,
        file: &Arc<GgufFile>,
        bytes: &[u8],
    ) -> Result<Self> {
        // Where `bytes` starts within the map (by address; checked to lie inside it).
        let base = file.bytes().as_ptr() as usize;
        let start = (bytes.as_ptr() as usize).wrapping_sub(base);
        let inside = start
            .checked_add(bytes.len())
            .is_some_and(|end| end <= file.bytes().len());
        if !inside {
            return Err(Error::InvalidArgument(
                "quantized weights are not inside the mapped file".into(),
            ));
        }
        let data = Storage::Mapped {
            file: Arc::clone(file),
            start,
            len: bytes.len(),
        };
        Self::checked(ty, rows, cols, data)
    }

    fn checked(ty: QuantType, rows: usize, cols: usize, data: Storage) -> Result<Self> {
        let bad = |m: String| Err(Error::InvalidModel(m));
        if rows == 0 || cols == 0 || !cols.is_multiple_of(BLOCK) {
            return bad(format!(
                "a {ty:?} matrix needs rows > 0 and a row length that is a multiple of {BLOCK}, \
                 got [{rows}, {cols}]"
            ));
        }
        let expected = (cols / BLOCK)
            .checked_mul(ty.block_bytes())
            .and_then(|b| b.checked_mul(rows));
        if expected != Some(data.bytes().len()) {
            return bad(format!(
                "a [{rows}, {cols}] {ty:?} matrix needs {expected:?} bytes, got {}",
                data.bytes().len()
            ));
        }
        Ok(Self {
            ty,
            rows,
            cols,
            data,
        })
    }

    /// Quantizes f32 values `[rows, cols]` with ggml's reference rounding
    /// (`quantize_row_q4_0_ref` …).
    pub fn quantize(ty: QuantType, rows: usize, cols: usize, values: &[f32]) -> Result<Self> {
        if rows.checked_mul(cols) != Some(values.len()) || !cols.is_multiple_of(BLOCK) {
            return Err(Error::InvalidArgument(format!(
                "cannot quantize {} values as [{rows}, {cols}]",
                values.len()
            )));
        }
        let mut data = Vec::with_capacity(values.len() / BLOCK * ty.block_bytes());
        for x in values.chunks_exact(BLOCK) {
            quantize_block(ty, x, &mut data);
        }
        Self::new(ty, rows, cols, data)
    }

    /// The block format.
    pub fn ty(&self) -> QuantType {
        self.ty
    }

    /// Rows (output features of a linear layer).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (input features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of block data.
    pub fn byte_len(&self) -> usize {
        self.data.bytes().len()
    }

    fn row_bytes(&self) -> usize {
        self.cols / BLOCK * self.ty.block_bytes()
    }

    fn row(&self, r: usize) -> &[u8] {
        let rb = self.row_bytes();
        self.data
            .bytes()
            .get(r * rb..(r + 1) * rb)
            .unwrap_or_default()
    }

    /// Expands row `r` into `out` (`cols` values).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<()> {
        if r >= self.rows {
            return Err(Error::InvalidArgument(format!(
                "row {r} of a matrix with {} rows",
                self.rows
            )));
        }
        dequantize_blocks(self.ty.ggml(), self.row(r), out)
    }

    /// The whole matrix as f32, `[rows, cols]` row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        out.par_chunks_mut(self.cols)
            .enumerate()
            .for_each(|(r, o)| {
                // Sizes match by construction, so this cannot fail.
                let _ = dequantize_blocks(self.ty.ggml(), self.row(r), o);
            });
        out
    }

    /// The matrix transposed to `[cols, rows]` as f32 (burn's `[d_in, d_out]` weight layout).
    pub fn dequantize_transposed(&self) -> Vec<f32> {
        let rows = self.dequantize();
        let mut out = vec![0.0; rows.len()];
        for (r, row) in rows.chunks_exact(self.cols).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                out[c * self.rows + r] = v;
            }
        }
        out
    }

    /// `out[t, r] = Σ_c x[t, c]·W[r, c]` for `n` activation rows `x: [n, cols]` and
    /// `out: [n, rows]`.
    pub fn matmul(&self, x: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
        self.matmul_with(kernels(), x, n, out)
    }

    /// Several products with the same input in one parallel pass: `outs[i] = x·W_iᵀ` for
    /// `n` rows of `x`. For one row (a decode step) the rows of all matrices are split into one
    /// set of tasks, so a layer's Q, K and V (or gate and up) cost one fork-join, not three.
    pub fn matmul_many(
        parts: &mut [(&QuantMatrix, &mut [f32])],
        x: &[f32],
        n: usize,
    ) -> Result<()> {
        let isa = kernels();
        if n != 1 {
            for (m, out) in parts.iter_mut() {
                m.matmul_with(isa, x, n, out)?;
            }
            return Ok(());
        }
        let mut tasks: Vec<(&QuantMatrix, usize, &mut [f32])> = Vec::new();
        for (m, out) in parts.iter_mut() {
            if x.len() != m.cols || out.len() != m.rows {
                return Err(Error::InvalidArgument(format!(
                    "matmul of a [{}, {}] matrix with {} inputs into {} outputs",
                    m.rows,
                    m.cols,
                    x.len(),
                    out.len()
                )));
            }
            let chunk = chunk_rows(m.rows);
            for (ci, o) in out.chunks_mut(chunk).enumerate() {
                tasks.push((*m, ci * chunk, o));
            }
        }
        tasks.into_par_iter().for_each(|(m, first, o)| {
            for (i, y) in o.iter_mut().enumerate() {
                let [v] = dot_rows(isa, m.ty, m.row(first + i), [x]);
                *y = v;
            }
        });
        Ok(())
    }

    fn matmul_with(&self, isa: Isa, x: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
        let (rows, cols) = (self.rows, self.cols);
        if n.checked_mul(cols) != Some(x.len()) || n.checked_mul(rows) != Some(out.len()) {
            return Err(Error::InvalidArgument(format!(
                "matmul of a [{rows}, {cols}] matrix with {} inputs into {} outputs for {n} rows",
                x.len(),
                out.len()
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let chunk = chunk_rows(rows);
        if n == 1 {
            out.par_chunks_mut(chunk).enumerate().for_each(|(ci, o)| {
                for (i, y) in o.iter_mut().enumerate() {
                    let [v] = dot_rows(isa, self.ty, self.row(ci * chunk + i), [x]);
                    *y = v;
                }
            });
            return Ok(());
        }
        // Prompt: each task takes a chunk of rows and, for each group of activation rows (small
        // enough to stay in L1), runs every row of the chunk against it. Results go to a
        // `[rows, n]` buffer that is transposed at the end.
        let group = isa.max_group();
        let mut transposed = vec![0.0f32; rows * n];
        transposed
            .par_chunks_mut(chunk * n)
            .enumerate()
            .for_each(|(ci, o)| {
                let chunk_rows = o.len() / n;
                let mut j = 0;
                while j < n {
                    let g = if n - j >= group {
                        group
                    } else if n - j >= 4 {
                        4
                    } else {
                        1
                    };
                    let xr = |k: usize| &x[(j + k) * cols..(j + k + 1) * cols];
                    for i in 0..chunk_rows {
                        let w = self.row(ci * chunk + i);
                        let dst = &mut o[i * n + j..i * n + j + g];
                        match g {
                            8 => dst.copy_from_slice(&dot_rows::<8>(
                                isa,
                                self.ty,
                                w,
                                std::array::from_fn(xr),
                            )),
                            4 => dst.copy_from_slice(&dot_rows::<4>(
                                isa,
                                self.ty,
                                w,
                                std::array::from_fn(xr),
                            )),
                            _ => dst.copy_from_slice(&dot_rows::<1>(isa, self.ty, w, [xr(0)])),
                        }
                    }
                    j += g;
                }
            });
        for (r, col) in transposed.chunks_exact(n).enumerate() {
            for (t, &v) in col.iter().enumerate() {
                out[t * rows + r] = v;
            }
        }
        Ok(())
    }
}

/// Rows per rayon task: about four tasks per thread (so a busy core does not hold up the rest),
/// and never fewer than 16 rows (so a task is worth its scheduling).
fn chunk_rows(rows: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    rows.div_ceil(threads * 4).max(16)
}

/// Appends one quantized block of `x` (32 values) to `out`, as ggml's reference quantizers do.
fn quantize_block(ty: QuantType, x: &[f32], out: &mut Vec<u8>) {
    let f16 = |v: f32| half::f16::from_f32(v).to_bits().to_le_bytes();
    match ty {
        QuantType::Q8_0 => {
            let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let d = amax / 127.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            out.extend_from_slice(&f16(d));
            out.extend(x.iter().map(|v| ((v * id).round() as i8).cast_unsigned()));
        }
        QuantType::Q4_0 => {
            // The value of largest magnitude, keeping its sign, maps to −8.
            let max = x
                .iter()
                .fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
            let d = max / -8.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            out.extend_from_slice(&f16(d));
            let q = |v: f32| ((v * id + 8.5) as u8).min(15);
            out.extend((0..16).map(|j| q(x[j]) | (q(x[j + 16]) << 4)));
        }
        QuantType::Q4_1 => {
            let min = x.iter().copied().fold(f32::INFINITY, f32::min);
            let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let d = (max - min) / 15.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            out.extend_from_slice(&f16(d));
            out.extend_from_slice(&f16(min));
            let q = |v: f32| (((v - min) * id + 0.5) as u8).min(15);
            out.extend((0..16).map(|j| q(x[j]) | (q(x[j + 16]) << 4)));
        }
    }
}

/// Which kernels this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// Activation rows multiplied per expanded block (what the registers hold).
    fn max_group(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => 8,
            _ => 4,
        }
    }

    /// Every kernel set this CPU can run (for tests).
    #[cfg(test)]
    fn available() -> Vec<Self> {
        let mut all = vec![Self::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if simd::has_avx2() {
                all.push(Self::Avx2);
            }
            if simd::has_avx512() {
                all.push(Self::Avx512);
            }
        }
        all
    }
}

/// The best kernels for this CPU (detected once). `HEARTH_QUANT_KERNELS=scalar` forces the
/// portable ones and `avx2` the 8-lane ones (for measuring what each kernel set buys).
fn kernels() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let choice = std::env::var("HEARTH_QUANT_KERNELS").unwrap_or_default();
        if choice == "scalar" {
            return Isa::Scalar;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if simd::has_avx512() && choice != "avx2" {
                return Isa::Avx512;
            }
            if simd::has_avx2() {
                return Isa::Avx2;
            }
        }
        Isa::Scalar
    })
}

/// Dot products of one stored row with `T` activation rows of the same length.
#[inline]
fn dot_rows<const T: usize>(isa: Isa, ty: QuantType, row: &[u8], xs: [&[f32]; T]) -> [f32; T] {
    let blocks = row.len() / ty.block_bytes();
    // The kernels read `blocks` blocks of `row` and `blocks × 32` values of each `xs[t]`.
    if xs.iter().any(|x| x.len() < blocks * BLOCK) {
        return [0.0; T];
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => simd::dot_avx512(ty, row, xs),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => simd::dot_avx2(ty, row, xs),
        Isa::Scalar => dot_scalar(ty, row, xs),
    }
}

/// The portable kernel: expand a block, then multiply it with each activation row.
fn dot_scalar<const T: usize>(ty: QuantType, row: &[u8], xs: [&[f32]; T]) -> [f32; T] {
    let mut acc = [0.0f32; T];
    let mut w = [0.0f32; BLOCK];
    for (b, block) in row.chunks_exact(ty.block_bytes()).enumerate() {
        if dequantize_blocks(ty.ggml(), block, &mut w).is_err() {
            return [0.0; T];
        }
        for (a, x) in acc.iter_mut().zip(xs) {
            let xb = &x[b * BLOCK..(b + 1) * BLOCK];
            let mut lanes = [0.0f32; 8];
            for (wc, xc) in w.chunks_exact(8).zip(xb.chunks_exact(8)) {
                for k in 0..8 {
                    lanes[k] += wc[k] * xc[k];
                }
            }
            *a += lanes.iter().sum::<f32>();
        }
    }
    acc
}

/// The x86-64 kernels. Each `unsafe fn` here needs the CPU features its `target_feature`
/// names (checked by [`has_avx2`]/[`has_avx512`] before [`kernels`] picks them), `row` to hold
/// whole blocks, and every activation row to hold at least `32 ×` the row's block count values
/// (checked by [`dot_rows`]); under those conditions every load is in bounds.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod simd {
    use std::arch::x86_64::*;

    use super::{BLOCK, QuantType};

    pub(super) fn has_avx2() -> bool {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    }

    pub(super) fn has_avx512() -> bool {
        has_avx2() && is_x86_feature_detected!("avx512f")
    }

    pub(super) fn dot_avx512<const T: usize>(
        ty: QuantType,
        row: &[u8],
        xs: [&[f32]; T],
    ) -> [f32; T] {
        // SAFETY: `kernels()` only selects `Isa::Avx512` when `has_avx512()` holds, and
        // `dot_rows` checked the lengths (see the module docs).
        unsafe {
            match ty {
                QuantType::Q4_0 => nibbles_avx512::<T, false>(row, &xs),
                QuantType::Q4_1 => nibbles_avx512::<T, true>(row, &xs),
                QuantType::Q8_0 => q8_0_avx512::<T>(row, &xs),
            }
        }
    }

    pub(super) fn dot_avx2<const T: usize>(ty: QuantType, row: &[u8], xs: [&[f32]; T]) -> [f32; T] {
        // SAFETY: as for `dot_avx512`, with `has_avx2()`.
        unsafe {
            match ty {
                QuantType::Q4_0 => nibbles_avx2::<T, false>(row, &xs),
                QuantType::Q4_1 => nibbles_avx2::<T, true>(row, &xs),
                QuantType::Q8_0 => q8_0_avx2::<T>(row, &xs),
            }
        }
    }

    /// How far ahead of the block being read the kernels ask for weights. A task's rows are
    /// contiguous, so this runs into the next rows; the hardware prefetcher alone ramps up too
    /// slowly on the many short streams of a decode step (tens of KB per task).
    const PREFETCH_BYTES: usize = 2048;

    /// Asks for the cache line `PREFETCH_BYTES` after `blk` (a hint: never faults, so the
    /// address may lie past the row).
    #[inline(always)]
    fn prefetch(blk: *const u8) {
        // SAFETY: a prefetch is only a hint and cannot fault, whatever the address; SSE is part
        // of the x86-64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(blk.wrapping_add(PREFETCH_BYTES).cast()) }
    }

    /// `[d, m]` (Q4_1) or `[d, −8d]` (Q4_0) of the block at `blk`, as f32 in lanes 0 and 1.
    ///
    /// # Safety
    /// Needs F16C and SSE3, and 4 (Q4_1) or 2 (Q4_0) readable bytes at `blk`.
    #[inline(always)]
    unsafe fn scale_min<const MIN: bool>(blk: *const u8) -> (__m128, __m128) {
        unsafe {
            if MIN {
                let dm = _mm_cvtph_ps(_mm_cvtsi32_si128(blk.cast::<i32>().read_unaligned()));
                (dm, _mm_movehdup_ps(dm))
            } else {
                let d = _mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
                    blk.cast::<u16>().read_unaligned(),
                )));
                (d, _mm_mul_ss(d, _mm_set_ss(-8.0)))
            }
        }
    }

    /// Q4_0 (`MIN = false`) and Q4_1 (`MIN = true`) with 16-lane vectors: the 16 bytes of
    /// nibbles widen to 16 lanes; low nibbles are values 0–15, high nibbles 16–31.
    ///
    /// # Safety
    /// See the module docs (AVX-512F, F16C, FMA).
    #[target_feature(enable = "avx512f,avx2,fma,f16c")]
    unsafe fn nibbles_avx512<const T: usize, const MIN: bool>(
        row: &[u8],
        xs: &[&[f32]; T],
    ) -> [f32; T] {
        let bb = if MIN { 20 } else { 18 };
        let qs_at = if MIN { 4 } else { 2 };
        let blocks = row.len() / bb;
        let mask = _mm512_set1_epi32(0xF);
        let mut acc = [[_mm512_setzero_ps(); 2]; T];
        for b in 0..blocks {
            // SAFETY: block `b` lies in `row`; values `b·32 .. b·32 + 32` lie in each `xs[t]`.
            unsafe {
                let blk = row.as_ptr().add(b * bb);
                prefetch(blk);
                let (d, m) = scale_min::<MIN>(blk);
                let d = _mm512_broadcastss_ps(d);
                let m = _mm512_broadcastss_ps(m);
                let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(blk.add(qs_at).cast()));
                let lo = _mm512_cvtepi32_ps(_mm512_and_si512(q, mask));
                let hi = _mm512_cvtepi32_ps(_mm512_srli_epi32::<4>(q));
                let w0 = _mm512_fmadd_ps(lo, d, m);
                let w1 = _mm512_fmadd_ps(hi, d, m);
                for t in 0..T {
                    let x = xs[t].as_ptr().add(b * BLOCK);
                    acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x), acc[t][0]);
                    acc[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x.add(16)), acc[t][1]);
                }
            }
        }
        std::array::from_fn(|t| _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1])))
    }

    /// Q8_0 with 16-lane vectors.
    ///
    /// # Safety
    /// See the module docs (AVX-512F, F16C, FMA).
    #[target_feature(enable = "avx512f,avx2,fma,f16c")]
    unsafe fn q8_0_avx512<const T: usize>(row: &[u8], xs: &[&[f32]; T]) -> [f32; T] {
        let blocks = row.len() / 34;
        let mut acc = [[_mm512_setzero_ps(); 2]; T];
        for b in 0..blocks {
            // SAFETY: as in `nibbles_avx512`.
            unsafe {
                let blk = row.as_ptr().add(b * 34);
                prefetch(blk);
                let (d, _) = scale_min::<false>(blk);
                let d = _mm512_broadcastss_ps(d);
                let q0 = _mm512_cvtepi8_epi32(_mm_loadu_si128(blk.add(2).cast()));
                let q1 = _mm512_cvtepi8_epi32(_mm_loadu_si128(blk.add(18).cast()));
                let w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(q0), d);
                let w1 = _mm512_mul_ps(_mm512_cvtepi32_ps(q1), d);
                for t in 0..T {
                    let x = xs[t].as_ptr().add(b * BLOCK);
                    acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x), acc[t][0]);
                    acc[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x.add(16)), acc[t][1]);
                }
            }
        }
        std::array::from_fn(|t| _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1])))
    }

    /// The sum of the 8 lanes.
    #[inline(always)]
    fn hsum256(v: __m256) -> f32 {
        // SAFETY: only called from functions compiled with AVX2 enabled.
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }
    }

    /// Q4_0/Q4_1 with 8-lane vectors: bytes 0–7 give values 0–7 (low) and 16–23 (high), bytes
    /// 8–15 give 8–15 and 24–31.
    ///
    /// # Safety
    /// See the module docs (AVX2, F16C, FMA).
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn nibbles_avx2<const T: usize, const MIN: bool>(
        row: &[u8],
        xs: &[&[f32]; T],
    ) -> [f32; T] {
        let bb = if MIN { 20 } else { 18 };
        let qs_at = if MIN { 4 } else { 2 };
        let blocks = row.len() / bb;
        let mask = _mm256_set1_epi32(0xF);
        let mut acc = [[_mm256_setzero_ps(); 2]; T];
        for b in 0..blocks {
            // SAFETY: as in `nibbles_avx512`.
            unsafe {
                let blk = row.as_ptr().add(b * bb);
                prefetch(blk);
                let (d, m) = scale_min::<MIN>(blk);
                let d = _mm256_broadcastss_ps(d);
                let m = _mm256_broadcastss_ps(m);
                let raw = _mm_loadu_si128(blk.add(qs_at).cast());
                let qa = _mm256_cvtepu8_epi32(raw);
                let qb = _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(raw));
                let w = |q: __m256i| _mm256_fmadd_ps(_mm256_cvtepi32_ps(q), d, m);
                let w0 = w(_mm256_and_si256(qa, mask));
                let w1 = w(_mm256_and_si256(qb, mask));
                let w2 = w(_mm256_srli_epi32::<4>(qa));
                let w3 = w(_mm256_srli_epi32::<4>(qb));
                for t in 0..T {
                    let x = xs[t].as_ptr().add(b * BLOCK);
                    let [a0, a1] = &mut acc[t];
                    *a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x), *a0);
                    *a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x.add(8)), *a1);
                    *a0 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x.add(16)), *a0);
                    *a1 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x.add(24)), *a1);
                }
            }
        }
        std::array::from_fn(|t| hsum256(_mm256_add_ps(acc[t][0], acc[t][1])))
    }

    /// Q8_0 with 8-lane vectors.
    ///
    /// # Safety
    /// See the module docs (AVX2, F16C, FMA).
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q8_0_avx2<const T: usize>(row: &[u8], xs: &[&[f32]; T]) -> [f32; T] {
        let blocks = row.len() / 34;
        let mut acc = [[_mm256_setzero_ps(); 2]; T];
        for b in 0..blocks {
            // SAFETY: as in `nibbles_avx512`.
            unsafe {
                let blk = row.as_ptr().add(b * 34);
                prefetch(blk);
                let (d, _) = scale_min::<false>(blk);
                let d = _mm256_broadcastss_ps(d);
                let w = |at: usize| {
                    let q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(blk.add(2 + at).cast()));
                    _mm256_mul_ps(_mm256_cvtepi32_ps(q), d)
                };
                let (w0, w1, w2, w3) = (w(0), w(8), w(16), w(24));
                for t in 0..T {
                    let x = xs[t].as_ptr().add(b * BLOCK);
                    let [a0, a1] = &mut acc[t];
                    *a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x), *a0);
                    *a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x.add(8)), *a1);
                    *a0 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x.add(16)), *a0);
                    *a1 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x.add(24)), *a1);
                }
            }
        }
        std::array::from_fn(|t| hsum256(_mm256_add_ps(acc[t][0], acc[t][1])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0
            })
            .collect()
    }

    /// `x·Wᵀ` with the dequantized matrix, in f64.
    fn reference(m: &QuantMatrix, x: &[f32], n: usize) -> Vec<f32> {
        let w = m.dequantize();
        let mut out = vec![0.0; n * m.rows()];
        for t in 0..n {
            for r in 0..m.rows() {
                let xr = &x[t * m.cols()..(t + 1) * m.cols()];
                let wr = &w[r * m.cols()..(r + 1) * m.cols()];
                out[t * m.rows() + r] = xr
                    .iter()
                    .zip(wr)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum::<f64>() as f32;
            }
        }
        out
    }

    #[test]
    fn every_kernel_matches_the_dequantized_reference() {
        for ty in [QuantType::Q4_0, QuantType::Q4_1, QuantType::Q8_0] {
            for (rows, cols) in [(1, 32), (37, 96), (70, 576)] {
                let m = QuantMatrix::quantize(ty, rows, cols, &random(rows * cols, 7)).unwrap();
                for n in [1, 3, 4, 8, 13] {
                    let x = random(n * cols, 99 + n as u64);
                    let want = reference(&m, &x, n);
                    for isa in Isa::available() {
                        let mut got = vec![0.0; n * rows];
                        m.matmul_with(isa, &x, n, &mut got).unwrap();
                        for (g, w) in got.iter().zip(&want) {
                            assert!(
                                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                                "{ty:?} {isa:?} [{rows},{cols}] n={n}: {g} vs {w}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matmul_many_equals_separate_products() {
        let a = QuantMatrix::quantize(QuantType::Q4_1, 50, 64, &random(50 * 64, 1)).unwrap();
        let b = QuantMatrix::quantize(QuantType::Q8_0, 20, 64, &random(20 * 64, 2)).unwrap();
        for n in [1, 5] {
            let x = random(n * 64, 3);
            let (mut ya, mut yb) = (vec![0.0; n * 50], vec![0.0; n * 20]);
            QuantMatrix::matmul_many(&mut [(&a, &mut ya), (&b, &mut yb)], &x, n).unwrap();
            let (mut za, mut zb) = (vec![0.0; n * 50], vec![0.0; n * 20]);
            a.matmul(&x, n, &mut za).unwrap();
            b.matmul(&x, n, &mut zb).unwrap();
            assert_eq!((ya, yb), (za, zb));
        }
        let mut short = vec![0.0; 3];
        assert!(QuantMatrix::matmul_many(&mut [(&a, &mut short)], &[0.0; 64], 1).is_err());
    }

    #[test]
    fn quantization_round_trips_closely() {
        let v = random(64 * 4, 3);
        for (ty, tol) in [
            (QuantType::Q8_0, 0.01),
            (QuantType::Q4_0, 0.15),
            (QuantType::Q4_1, 0.08),
        ] {
            let m = QuantMatrix::quantize(ty, 4, 64, &v).unwrap();
            let back = m.dequantize();
            for (a, b) in v.iter().zip(&back) {
                assert!((a - b).abs() <= tol, "{ty:?}: {a} vs {b}");
            }
            let t = m.dequantize_transposed();
            assert_eq!(t[4 + 3], back[3 * 64 + 1]);
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(QuantMatrix::new(QuantType::Q4_1, 2, 32, vec![0; 39]).is_err());
        assert!(QuantMatrix::new(QuantType::Q4_1, 2, 31, vec![0; 40]).is_err());
        assert!(QuantMatrix::new(QuantType::Q4_1, 0, 32, vec![]).is_err());
        let m = QuantMatrix::new(QuantType::Q8_0, 2, 32, vec![0; 68]).unwrap();
        assert!(m.matmul(&[0.0; 31], 1, &mut [0.0; 2]).is_err());
        assert!(m.matmul(&[0.0; 32], 1, &mut [0.0; 3]).is_err());
        assert!(m.dequantize_row(2, &mut [0.0; 32]).is_err());
    }
}

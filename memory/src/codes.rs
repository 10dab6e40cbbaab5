//! 8-bit codes of the embeddings, for the searches' first pass.
//!
//! A search compares the query with thousands of memories: the graph walk's neighbours, or
//! every memory a narrow filter lets through. Reading each memory's f32 vector (1.5 KiB for
//! MiniLM, behind a pointer) made those comparisons wait on memory: at a million memories a
//! filtered query spent most of its time there. So the stream keeps, in one contiguous array
//! by slot, every live vector scaled into `i8` (one scale per vector, `max |x| / 127`): a
//! quarter of the bytes, no pointer to follow. Searches rank by the codes, then re-rank their
//! short list with the exact vectors, so the scores they return are exact.
//!
//! The codes live only in memory (rebuilt from the vectors at unlock); nothing of them is
//! stored. A forgotten memory's code is zeroed at once.

/// Scale marking a slot without a live vector.
const ABSENT: f32 = -1.0;

/// The codes of every slot's vector.
#[derive(Default)]
pub(crate) struct Codes {
    dim: usize,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// A query's code.
pub(crate) struct QueryCode {
    code: Vec<i8>,
    scale: f32,
}

fn quantize(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.iter_mut().for_each(|c| *c = 0);
        return 0.0;
    }
    let inv = 127.0 / max;
    for (c, x) in out.iter_mut().zip(v) {
        // Round half away from zero with a truncating conversion (`f32::round` is a libm call
        // on baseline x86-64, and this runs for every vector at unlock).
        let y = x * inv;
        *c = (y + 0.5f32.copysign(y)).clamp(-127.0, 127.0) as i8;
    }
    max / 127.0
}

impl Codes {
    /// The codes of `slots` slots of `dim` values, `vector(slot)` giving each live one's
    /// vector (of `dim` values; others are absent), computed on every core.
    pub(crate) fn build<'a>(
        slots: usize,
        dim: usize,
        vector: impl Fn(usize) -> Option<&'a [f32]> + Sync,
    ) -> Self {
        use rayon::prelude::*;
        let mut codes = vec![0i8; slots * dim];
        let mut scales = vec![ABSENT; slots];
        if dim > 0 {
            codes
                .par_chunks_mut(dim)
                .zip(scales.par_iter_mut())
                .enumerate()
                .for_each(|(slot, (code, scale))| {
                    if let Some(v) = vector(slot).filter(|v| v.len() == dim) {
                        *scale = quantize(v, code);
                    }
                });
        }
        Self { dim, codes, scales }
    }

    /// Sets `slot`'s code from its (L2-normalised) vector.
    pub(crate) fn set(&mut self, slot: u32, v: &[f32]) {
        if self.dim == 0 {
            self.dim = v.len();
        }
        if v.len() != self.dim {
            return;
        }
        let s = slot as usize;
        if self.scales.len() <= s {
            self.scales.resize(s + 1, ABSENT);
            self.codes.resize((s + 1) * self.dim, 0);
        }
        self.scales[s] = quantize(v, &mut self.codes[s * self.dim..(s + 1) * self.dim]);
    }

    /// Erases `slot`'s code.
    pub(crate) fn clear(&mut self, slot: u32) {
        let s = slot as usize;
        if let Some(scale) = self.scales.get_mut(s) {
            *scale = ABSENT;
            self.codes[s * self.dim..(s + 1) * self.dim].fill(0);
        }
    }

    /// The query's code (`None` when its dimension is not the stored one).
    pub(crate) fn query(&self, q: &[f32]) -> Option<QueryCode> {
        if q.len() != self.dim {
            return None;
        }
        let mut code = vec![0i8; self.dim];
        let scale = quantize(q, &mut code);
        Some(QueryCode { code, scale })
    }

    /// The approximate cosine distance (`1 − dot`) of `slot`'s vector to the query, or `None`
    /// when the slot has no live vector.
    pub(crate) fn distance(&self, slot: u32, q: &QueryCode) -> Option<f32> {
        let s = slot as usize;
        let scale = *self.scales.get(s)?;
        if scale < 0.0 {
            return None;
        }
        let code = &self.codes[s * self.dim..(s + 1) * self.dim];
        Some(1.0 - scale * q.scale * dot_i8(code, &q.code) as f32)
    }
}

impl Codes {
    /// The distances of `slots` (those with a live vector) to the query, as (distance, slot).
    /// A filter's memories lie anywhere in the store, so their codes are rows scattered over
    /// hundreds of megabytes: each row is prefetched a few slots ahead, so that several wait
    /// on memory at once instead of one after the other.
    ///
    /// Long scans are split in parts that idle cores take (a search runs BM25 beside this scan;
    /// the core it frees joins in), since one core alone cannot draw the memory bandwidth.
    pub(crate) fn scan(&self, slots: &[u32], q: &QueryCode) -> Vec<(f32, u32)> {
        use rayon::prelude::*;
        const PART: usize = 8192;
        if slots.len() <= PART {
            return self.scan_part(slots, q);
        }
        slots
            .par_chunks(PART)
            .map(|part| self.scan_part(part, q))
            .reduce(Vec::new, |mut a, b| {
                a.extend(b);
                a
            })
    }

    fn scan_part(&self, slots: &[u32], q: &QueryCode) -> Vec<(f32, u32)> {
        const AHEAD: usize = 6;
        let mut out = Vec::with_capacity(slots.len());
        for (i, &slot) in slots.iter().enumerate() {
            if let Some(&next) = slots.get(i + AHEAD) {
                self.prefetch(next);
            }
            if let Some(d) = self.distance(slot, q) {
                out.push((d, slot));
            }
        }
        out
    }

    /// Asks for `slot`'s code row (and scale) to be brought into the cache.
    #[inline]
    fn prefetch(&self, slot: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            let s = slot as usize;
            if let Some(row) = self.codes.get(s * self.dim..(s + 1) * self.dim) {
                for line in row.chunks(64) {
                    x86::prefetch(line.as_ptr());
                }
                x86::prefetch(self.scales[s..].as_ptr().cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }
}

/// `Σ a[i]·b[i]` in integers.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            return x86::dot_i8_avx2(a, b);
        }
    }
    dot_i8_portable(a, b)
}

fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let tail: i32 = ra
        .iter()
        .zip(rb)
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum();
    acc.iter().sum::<i32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_shuffle_epi32,
        _mm256_add_epi32, _mm256_castsi256_si128, _mm256_cvtepi8_epi16, _mm256_extracti128_si256,
        _mm256_madd_epi16, _mm256_setzero_si256,
    };

    /// A hint to bring the cache line holding `p` closer.
    #[inline]
    pub(super) fn prefetch(p: *const i8) {
        // SAFETY: a prefetch is only a hint and cannot fault, whatever the address; SSE is part
        // of x86-64's baseline.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p) }
    }

    /// The integer dot product with AVX2. The caller must have checked that the CPU has it.
    pub(super) fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
        // SAFETY: `dot_i8` calls this only after `is_x86_feature_detected!("avx2")`.
        unsafe { inner(a, b) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn inner(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let mut acc = _mm256_setzero_si256();
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: `i + 16 <= n` and both slices hold at least `n` bytes, so each 16-byte
            // unaligned load stays inside them.
            let (x, y) = unsafe {
                (
                    _mm_loadu_si128(a.as_ptr().add(i).cast::<__m128i>()),
                    _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>()),
                )
            };
            // Sign-extend 16 bytes to 16 × i16; multiply pairwise and add adjacent: 8 × i32.
            let p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y));
            acc = _mm256_add_epi32(acc, p);
            i += 16;
        }
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        let mut sum = _mm_cvtsi128_si32(s);
        for j in i..n {
            sum += i32::from(a[j]) * i32::from(b[j]);
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn integer_dot_matches_the_naive_sum(v in proptest::collection::vec((any::<i8>(), any::<i8>()), 0..300)) {
            let (a, b): (Vec<i8>, Vec<i8>) = v.into_iter().unzip();
            let want: i32 = a.iter().zip(&b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
            prop_assert_eq!(dot_i8(&a, &b), want);
            prop_assert_eq!(dot_i8_portable(&a, &b), want);
        }

        #[test]
        fn code_distances_are_close_to_exact(
            a in proptest::collection::vec(-1f32..1.0, 384),
            b in proptest::collection::vec(-1f32..1.0, 384),
        ) {
            let unit = |v: Vec<f32>| {
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.into_iter().map(|x| x / n).collect::<Vec<_>>()
            };
            let (a, b) = (unit(a), unit(b));
            let mut codes = Codes::default();
            codes.set(3, &a);
            let exact = 1.0 - a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>();
            let approx = codes.distance(3, &codes.query(&b).unwrap()).unwrap();
            prop_assert!((approx - exact).abs() < 0.02, "{} vs {}", approx, exact);
        }
    }

    #[test]
    fn built_codes_equal_codes_set_one_by_one() {
        let vectors: Vec<Option<Vec<f32>>> = (0..50)
            .map(|i| (i % 7 != 3).then(|| vec![(i as f32).sin(), (i as f32).cos(), 0.5]))
            .collect();
        let mut one_by_one = Codes::default();
        for (s, v) in vectors.iter().enumerate() {
            if let Some(v) = v {
                one_by_one.set(s as u32, v);
            }
        }
        let built = Codes::build(vectors.len(), 3, |s| vectors[s].as_deref());
        let q = built.query(&[0.6, 0.8, 0.0]).unwrap();
        for s in 0..vectors.len() as u32 + 2 {
            assert_eq!(
                built.distance(s, &q),
                one_by_one.distance(s, &q),
                "slot {s}"
            );
        }
    }

    #[test]
    fn a_scan_gives_each_live_slot_its_distance() {
        let mut codes = Codes::default();
        let n = 20_000u32;
        for s in 0..n {
            let a = (s as f32 * 0.37).sin();
            codes.set(s, &[a, (1.0 - a * a).sqrt()]);
        }
        codes.clear(7);
        let q = codes.query(&[0.6, 0.8]).unwrap();
        // Scattered, out of order, with a cleared slot and one past the end: the parallel parts
        // and the prefetches must change nothing.
        let slots: Vec<u32> = (0..n).rev().step_by(2).chain([7, n + 5, 3]).collect();
        let want: Vec<(f32, u32)> = slots
            .iter()
            .filter_map(|&s| Some((codes.distance(s, &q)?, s)))
            .collect();
        // Slot 7 comes twice (odd, and appended), cleared both times; n + 5 was never set.
        assert_eq!(want.len(), slots.len() - 3);
        assert_eq!(codes.scan(&slots, &q), want);
        assert_eq!(codes.scan(&slots[..100], &q), want[..100]);
    }

    #[test]
    fn absent_and_cleared_slots_have_no_distance() {
        let mut codes = Codes::default();
        codes.set(2, &[0.6, 0.8]);
        let q = codes.query(&[0.6, 0.8]).unwrap();
        assert!(codes.distance(2, &q).unwrap().abs() < 0.01);
        assert_eq!(codes.distance(0, &q), None);
        assert_eq!(codes.distance(9, &q), None);
        codes.clear(2);
        assert_eq!(codes.distance(2, &q), None);
        assert!(codes.query(&[1.0]).is_none());
    }
}

//! The dot product of two embeddings, the inner loop of every vector search and graph insert.
//!
//! Embeddings are L2-normalised before they are stored or searched, so their cosine similarity
//! is their dot product and the graph's distance is `1 − dot`: no norms are recomputed per
//! comparison (`hnsw_rs`'s `DistCosine`, used before, recomputed both in scalar code: 60 % of a
//! build's time).
//!
//! With AVX2 and FMA (detected at run time) the product runs 16 lanes at a time in two
//! accumulators; elsewhere a portable loop with eight independent sums, which the compiler
//! vectorises for the baseline target (SSE2, NEON).

/// `Σ a[i]·b[i]` over the shorter of the two slices.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return x86::dot_avx2_fma(a, b);
        }
    }
    dot_portable(a, b)
}

/// Eight independent partial sums, so the compiler can keep them in vector registers.
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::{
        __m256, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps,
        _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps,
        _mm256_loadu_ps, _mm256_setzero_ps,
    };

    /// The dot product with AVX2 + FMA. The caller must have checked that the CPU has both.
    pub(super) fn dot_avx2_fma(a: &[f32], b: &[f32]) -> f32 {
        debug_assert_eq!(a.len(), b.len());
        // SAFETY: `dot` calls this only after `is_x86_feature_detected!` found AVX2 and FMA.
        unsafe { inner(a, b) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn inner(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): `i + 16 <= n` (or `i + 8 <= n` below) and both slices hold at
        // least `n` floats, so every 8-float unaligned load stays inside them.
        while i + 16 <= n {
            unsafe {
                acc0 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(a.as_ptr().add(i)),
                    _mm256_loadu_ps(b.as_ptr().add(i)),
                    acc0,
                );
                acc1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(a.as_ptr().add(i + 8)),
                    _mm256_loadu_ps(b.as_ptr().add(i + 8)),
                    acc1,
                );
            }
            i += 16;
        }
        if i + 8 <= n {
            unsafe {
                acc0 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(a.as_ptr().add(i)),
                    _mm256_loadu_ps(b.as_ptr().add(i)),
                    acc0,
                );
            }
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(acc0, acc1));
        for j in i..n {
            sum += a[j] * b[j];
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum()
    }

    proptest! {
        #[test]
        fn matches_the_naive_sum(v in proptest::collection::vec((-1f32..1.0, -1f32..1.0), 0..400)) {
            let (a, b): (Vec<f32>, Vec<f32>) = v.into_iter().unzip();
            let want = naive(&a, &b);
            let tol = 1e-5 * (a.len() as f64 + 1.0);
            prop_assert!((f64::from(dot(&a, &b)) - want).abs() <= tol);
            prop_assert!((f64::from(dot_portable(&a, &b)) - want).abs() <= tol);
        }
    }

    #[test]
    fn unit_vectors() {
        let mut v: Vec<f32> = (0..384).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        assert!((dot(&v, &v) - 1.0).abs() < 1e-5);
        let w: Vec<f32> = v.iter().map(|x| -x).collect();
        assert!((dot(&v, &w) + 1.0).abs() < 1e-5);
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0);
    }
}

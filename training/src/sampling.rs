//! Choosing the next token from the logits: repetition penalty, then greedy (temperature 0) or
//! temperature → top-k → top-p → min-p → a seeded draw. Deterministic for a given seed.

use crate::error::{Error, Result};

/// How to pick tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingConfig {
    /// 0 is greedy (argmax); higher flattens the distribution.
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (0 = all).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probabilities add up to `p` (1 = all).
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one (0 = none).
    pub min_p: f32,
    /// Divide positive logits (multiply negative ones) of recently seen tokens by this (1 = off).
    pub repetition_penalty: f32,
    /// How many of the latest tokens the penalty looks at (0 = all).
    pub repeat_last_n: usize,
    /// The random seed; `None` draws one from the clock.
    pub seed: Option<u64>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.0,
            repeat_last_n: 64,
            seed: None,
        }
    }
}

impl SamplingConfig {
    /// Greedy decoding: always the most likely token.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            repeat_last_n: 64,
            seed: Some(0),
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidArgument(m.to_owned()));
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad("temperature must be a finite number >= 0");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p must be in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("min_p must be in [0, 1]");
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad("repetition_penalty must be > 0");
        }
        Ok(())
    }
}

/// xoshiro256** seeded through splitmix64: small, fast and the same on every platform.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Picks tokens under a [`SamplingConfig`].
#[derive(Clone, Debug)]
pub struct Sampler {
    config: SamplingConfig,
    rng: Rng,
}

impl Sampler {
    /// A sampler; fails on out-of-range settings.
    pub fn new(config: SamplingConfig) -> Result<Self> {
        config.validate()?;
        let seed = config.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        Ok(Self {
            rng: Rng::new(seed),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }

    /// The next token given the logits and the tokens so far (prompt and generated).
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> Result<u32> {
        if logits.is_empty() {
            return Err(Error::InvalidArgument("no logits to sample from".into()));
        }
        let c = &self.config;
        if c.repetition_penalty != 1.0 {
            let window = if c.repeat_last_n == 0 {
                history
            } else {
                &history[history.len().saturating_sub(c.repeat_last_n)..]
            };
            let mut seen = std::collections::HashSet::new();
            for &t in window {
                if seen.insert(t)
                    && let Some(l) = logits.get_mut(t as usize)
                {
                    *l = if *l > 0.0 {
                        *l / c.repetition_penalty
                    } else {
                        *l * c.repetition_penalty
                    };
                }
            }
        }
        if c.temperature == 0.0 {
            return Ok(argmax(logits));
        }
        // Candidates sorted by logit, best first (ties by id, for determinism).
        let mut idx: Vec<u32> = (0..logits.len() as u32)
            .filter(|&i| !logits[i as usize].is_nan())
            .collect();
        let key = |i: &u32| logits[*i as usize];
        if c.top_k > 0 && c.top_k < idx.len() {
            idx.select_nth_unstable_by(c.top_k - 1, |a, b| {
                key(b).total_cmp(&key(a)).then(a.cmp(b))
            });
            idx.truncate(c.top_k);
        }
        idx.sort_unstable_by(|a, b| key(b).total_cmp(&key(a)).then(a.cmp(b)));
        let Some(&best) = idx.first() else {
            return Ok(argmax(logits));
        };
        let max = f64::from(logits[best as usize]);
        let t = f64::from(c.temperature);
        let mut probs: Vec<f64> = idx
            .iter()
            .map(|&i| ((f64::from(logits[i as usize]) - max) / t).exp())
            .collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
        // top-p: the smallest prefix reaching p.
        let mut keep = probs.len();
        if c.top_p < 1.0 {
            let mut acc = 0.0;
            for (n, p) in probs.iter().enumerate() {
                acc += p;
                if acc >= f64::from(c.top_p) {
                    keep = n + 1;
                    break;
                }
            }
        }
        // min-p: relative to the best token.
        if c.min_p > 0.0 {
            let floor = probs[0] * f64::from(c.min_p);
            keep = keep.min(probs.iter().take_while(|&&p| p >= floor).count().max(1));
        }
        probs.truncate(keep);
        let total: f64 = probs.iter().sum();
        let mut r = self.rng.next_f64() * total;
        for (n, p) in probs.iter().enumerate() {
            if r < *p {
                return Ok(idx[n]);
            }
            r -= p;
        }
        Ok(idx[keep - 1])
    }
}

/// The index of the largest value (the first one on ties; NaN never wins).
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0usize;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &v) in values.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(temperature: f32) -> SamplingConfig {
        SamplingConfig {
            temperature,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            repeat_last_n: 0,
            seed: Some(7),
        }
    }

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(cfg(0.0)).unwrap();
        assert_eq!(s.sample(&mut [0.1, 3.0, 3.0, -1.0], &[]).unwrap(), 1);
        assert_eq!(argmax(&[f32::NAN, 1.0]), 1);
    }

    #[test]
    fn same_seed_same_draws() {
        let logits = [1.0f32, 1.1, 0.9, 1.05, 0.2];
        let draw = |seed| {
            let mut s = Sampler::new(SamplingConfig {
                seed: Some(seed),
                ..cfg(1.0)
            })
            .unwrap();
            (0..50)
                .map(|_| s.sample(&mut logits.clone(), &[]).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        let all = draw(3);
        assert!(all.iter().all(|&t| t < 5));
        assert!(all.iter().collect::<std::collections::HashSet<_>>().len() > 2);
    }

    #[test]
    fn filters_restrict_the_candidates() {
        let logits = [5.0f32, 4.9, 0.0, -3.0, 4.8];
        let mut s = Sampler::new(SamplingConfig {
            top_k: 2,
            ..cfg(1.0)
        })
        .unwrap();
        for _ in 0..100 {
            assert!(matches!(s.sample(&mut logits.clone(), &[]).unwrap(), 0 | 1));
        }
        let mut s = Sampler::new(SamplingConfig {
            top_p: 0.1,
            ..cfg(1.0)
        })
        .unwrap();
        for _ in 0..100 {
            assert_eq!(s.sample(&mut logits.clone(), &[]).unwrap(), 0);
        }
        let mut s = Sampler::new(SamplingConfig {
            min_p: 0.5,
            ..cfg(1.0)
        })
        .unwrap();
        for _ in 0..100 {
            assert!(matches!(
                s.sample(&mut logits.clone(), &[]).unwrap(),
                0 | 1 | 4
            ));
        }
    }

    #[test]
    fn repetition_penalty_discourages_seen_tokens() {
        let mut s = Sampler::new(SamplingConfig {
            repetition_penalty: 2.0,
            ..cfg(0.0)
        })
        .unwrap();
        assert_eq!(s.sample(&mut [2.0, 1.5], &[0]).unwrap(), 1);
        assert_eq!(s.sample(&mut [-1.0, -1.5], &[1]).unwrap(), 0);
    }

    #[test]
    fn bad_settings_are_rejected() {
        assert!(Sampler::new(cfg(-1.0)).is_err());
        assert!(
            Sampler::new(SamplingConfig {
                top_p: 0.0,
                ..cfg(1.0)
            })
            .is_err()
        );
        assert!(
            Sampler::new(SamplingConfig {
                min_p: 2.0,
                ..cfg(1.0)
            })
            .is_err()
        );
        assert!(Sampler::new(cfg(f32::NAN)).is_err());
        assert!(
            Sampler::new(cfg(1.0))
                .unwrap()
                .sample(&mut [], &[])
                .is_err()
        );
    }
}

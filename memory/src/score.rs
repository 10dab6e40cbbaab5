//! The retrieval score of Generative Agents.
//!
//! `score = w_recency·recency + w_importance·importance + w_relevance·relevance`, where each of
//! the three terms is min-max normalised over the candidate set (every value becomes 0.5 when
//! they are all equal, as in the reference implementation), and:
//!
//! - `recency = decay^hours`, hours since the memory was last accessed (0.995 by default);
//! - `importance` is the 1–10 rating;
//!
//! Recency and importance are scaled by the larger of their spread and a floor
//! ([`ScoreParams::recency_span`], 0.1; [`ScoreParams::importance_span`], 3 points), so that
//! differences of seconds or of one importance point are not stretched to the full [0, 1]
//! (see [`min_max_span`]); with both floors at 0 this is the paper's plain min-max.
//! - `relevance = s·bm25/max_bm25 + (1 − s)·mm(max(cosine, 0))`, a hybrid of the BM25 score
//!   (divided by the best BM25 score among the candidates; 0 for a candidate that only the vector
//!   search found) and the cosine similarity of the query's and the memory's embeddings, min-max
//!   scaled over the candidates (`mm`), with the BM25 share `s` (0.5 by default).
//!
//! Weights, decay and share are parameters of each query.
//!
//! # Invariants
//!
//! - Every normalised term is within [0, 1]; the score is within [0, Σ weights] for
//!   non-negative weights.
//! - Results are ordered by score, ties broken by candidate order (deterministic).

/// Weights of the three terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Weight of recency.
    pub recency: f64,
    /// Weight of importance.
    pub importance: f64,
    /// Weight of relevance.
    pub relevance: f64,
}

impl Default for Weights {
    /// All 1, as in the paper.
    fn default() -> Self {
        Self {
            recency: 1.0,
            importance: 1.0,
            relevance: 1.0,
        }
    }
}

/// Parameters of the score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreParams {
    /// The weights.
    pub weights: Weights,
    /// Recency decay per hour since last access.
    pub decay: f64,
    /// Share of BM25 in relevance (the rest is cosine).
    pub bm25_share: f64,
    /// Smallest spread of recency that min-max scaling stretches to [0, 1] (see [`min_max_span`]).
    pub recency_span: f64,
    /// Smallest spread of importance (on the 1–10 scale) that min-max scaling stretches to [0, 1].
    pub importance_span: f64,
}

impl Default for ScoreParams {
    fn default() -> Self {
        Self {
            weights: Weights::default(),
            decay: 0.995,
            bm25_share: 0.5,
            recency_span: 0.1,
            importance_span: 3.0,
        }
    }
}

/// What the score needs to know about a candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Hours since last access (negative values count as 0).
    pub hours_since_access: f64,
    /// Importance, 1..=10.
    pub importance: u8,
    /// BM25 score (0 when BM25 did not find it).
    pub bm25: f64,
    /// Cosine similarity with the query.
    pub cosine: f64,
}

/// A candidate's score and its normalised terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    /// Index of the candidate in the input.
    pub index: usize,
    /// The weighted sum.
    pub score: f64,
    /// Normalised recency.
    pub recency: f64,
    /// Normalised importance.
    pub importance: f64,
    /// Normalised relevance.
    pub relevance: f64,
}

/// Recency of a memory last accessed `hours` ago.
pub fn recency(hours: f64, decay: f64) -> f64 {
    decay.powf(hours.max(0.0))
}

/// Min-max normalisation to [0, 1]; all 0.5 when the values are (nearly) all equal.
pub fn min_max(values: &[f64]) -> Vec<f64> {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(max - min).is_finite() || max - min < 1e-12 {
        return vec![0.5; values.len()];
    }
    values.iter().map(|v| (v - min) / (max - min)).collect()
}

/// Min-max scaling that does not amplify noise: values are divided by the larger of their
/// spread and `span`, so candidates whose recency differs by seconds, or whose importance
/// differs by one point, are not pulled to the two ends of [0, 1] (plain min-max would make
/// a memory a few seconds newer outrank an exact match). All 0.5 when the values are all equal.
pub fn min_max_span(values: &[f64], span: f64) -> Vec<f64> {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(max - min).is_finite() || max - min < 1e-12 {
        return vec![0.5; values.len()];
    }
    let spread = (max - min).max(span);
    values.iter().map(|v| (v - min) / spread).collect()
}

/// Scores candidates; returns them best first.
pub fn score(candidates: &[Candidate], params: &ScoreParams) -> Vec<Scored> {
    let max_bm25 = candidates.iter().map(|c| c.bm25).fold(0.0, f64::max);
    let s = params.bm25_share.clamp(0.0, 1.0);
    let rec: Vec<f64> = candidates
        .iter()
        .map(|c| recency(c.hours_since_access, params.decay))
        .collect();
    let imp: Vec<f64> = candidates.iter().map(|c| f64::from(c.importance)).collect();
    // Cosine is min-max scaled over the candidates like BM25 is divided by its best: raw MiniLM
    // cosines crowd into a narrow band, which would otherwise let BM25 decide alone.
    let cos = min_max(
        &candidates
            .iter()
            .map(|c| c.cosine.max(0.0))
            .collect::<Vec<_>>(),
    );
    let rel: Vec<f64> = candidates
        .iter()
        .zip(&cos)
        .map(|(c, cos)| {
            let bm25 = if max_bm25 > 0.0 {
                c.bm25 / max_bm25
            } else {
                0.0
            };
            s * bm25 + (1.0 - s) * cos
        })
        .collect();
    let (rec, imp, rel) = (
        min_max_span(&rec, params.recency_span),
        min_max_span(&imp, params.importance_span),
        min_max(&rel),
    );
    let w = params.weights;
    let mut out: Vec<Scored> = (0..candidates.len())
        .map(|i| Scored {
            index: i,
            score: w.recency * rec[i] + w.importance * imp[i] + w.relevance * rel[i],
            recency: rec[i],
            importance: imp[i],
            relevance: rel[i],
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn formula_matches_hand_computed_values() {
        // Three candidates, by hand:
        //   recency: 0.995^0 = 1, 0.995^10 = 0.951110130465, 0.995^100 = 0.605770436491
        //     → normalised (x − 0.605770436491) / 0.394229563509: 1, 0.875986..., 0
        //   importance: 2, 8, 5 → 0, 1, 0.5
        //   cosine max(c, 0) = 0.2, 0.9, 0 → min-max 2/9, 1, 0
        //   relevance (s = 0.5, max bm25 = 4): 0.5·(4/4) + 0.5·2/9 = 0.611111,
        //     0.5·0 + 0.5·1 = 0.5, 0.5·(2/4) + 0.5·0 = 0.25 → 1, 0.692307..., 0
        let cands = [
            Candidate {
                hours_since_access: 0.0,
                importance: 2,
                bm25: 4.0,
                cosine: 0.2,
            },
            Candidate {
                hours_since_access: 10.0,
                importance: 8,
                bm25: 0.0,
                cosine: 0.9,
            },
            Candidate {
                hours_since_access: 100.0,
                importance: 5,
                bm25: 2.0,
                cosine: -0.3,
            },
        ];
        let params = ScoreParams {
            weights: Weights {
                recency: 1.0,
                importance: 2.0,
                relevance: 3.0,
            },
            ..ScoreParams::default()
        };
        let out = score(&cands, &params);
        let by_index = |i: usize| *out.iter().find(|s| s.index == i).unwrap();
        let r1 = (0.995f64.powi(10) - 0.995f64.powi(100)) / (1.0 - 0.995f64.powi(100));
        assert!((r1 - 0.875_986_293_1).abs() < 1e-9, "{r1}");
        let rel1: f64 = (0.5 - 0.25) / (0.5 + 1.0 / 9.0 - 0.25);
        assert!((rel1 - 0.692_307_692_3).abs() < 1e-9, "{rel1}");
        // 0: 1·1 + 2·0 + 3·1 = 4
        assert!(close(by_index(0).score, 4.0));
        // 1: 1·0.875986 + 2·1 + 3·0.692308 = 4.952909
        assert!(close(by_index(1).score, r1 + 2.0 + 3.0 * rel1));
        assert!((by_index(1).score - 4.952_909_370_0).abs() < 1e-9);
        // 2: 0 + 2·0.5 + 0 = 1
        assert!(close(by_index(2).score, 1.0));
        assert_eq!(
            out.iter().map(|s| s.index).collect::<Vec<_>>(),
            vec![1, 0, 2]
        );
        assert!(close(by_index(1).recency, r1));
        assert!(close(by_index(2).importance, 0.5));
    }

    #[test]
    fn small_spreads_are_not_stretched() {
        // Seconds apart: recency 1 and 0.99999 stay nearly equal instead of 1 and 0.
        let r = min_max_span(&[1.0, 0.99999], 0.1);
        assert!(close(r[0], 1e-5 / 0.1) && close(r[1], 0.0), "{r:?}");
        assert_eq!(min_max_span(&[2.0, 8.0, 5.0], 3.0), vec![0.0, 1.0, 0.5]);
        assert_eq!(min_max_span(&[4.0, 5.0], 3.0), vec![0.0, 1.0 / 3.0]);
        assert_eq!(min_max_span(&[4.0, 4.0], 3.0), vec![0.5, 0.5]);
        // An exact BM25 match a few seconds older beats a slightly newer unrelated memory.
        let cands = [
            Candidate {
                hours_since_access: 0.0,
                importance: 3,
                bm25: 0.0,
                cosine: 0.25,
            },
            Candidate {
                hours_since_access: 0.001,
                importance: 3,
                bm25: 7.0,
                cosine: 0.6,
            },
        ];
        assert_eq!(score(&cands, &ScoreParams::default())[0].index, 1);
    }

    #[test]
    fn equal_values_normalise_to_half() {
        assert_eq!(min_max(&[3.0, 3.0]), vec![0.5, 0.5]);
        assert_eq!(min_max(&[1.0, 3.0]), vec![0.0, 1.0]);
        assert!(close(recency(24.0, 0.995), 0.995f64.powi(24)));
        assert!(close(recency(-5.0, 0.995), 1.0));
    }
}

//! The retrieval score of Generative Agents.
//!
//! `score = w_recency·recency + w_importance·importance + w_relevance·relevance`, where each of
//! the three terms is min-max normalised over the candidate set (every value becomes 0.5 when
//! they are all equal, as in the reference implementation), and:
//!
//! - `recency = decay^hours`, hours since the memory was last accessed (0.995 by default);
//!   a memory whose time was not in its source (a note dated by its file's modification time,
//!   never retrieved by the owner since) has **neutral recency**: the mean of the other
//!   candidates' normalised recency, so a guessed date neither lifts nor sinks it;
//! - `importance` is the 1–10 rating;
//!
//! Recency and importance are scaled by the larger of their spread and a floor
//! ([`ScoreParams::recency_span`], 0.1; [`ScoreParams::importance_span`], 3 points), so that
//! differences of seconds or of one importance point are not stretched to the full [0, 1]
//! (see [`min_max_span`]); with both floors at 0 this is the paper's plain min-max.
//! - `relevance` is a **reciprocal-rank fusion** of the two retrievers:
//!   `s/(60 + rank_bm25) + (1 − s)/(60 + rank_cosine)` (Cormack et al. 2009, k = 60), where
//!   `rank_bm25` is the candidate's rank by BM25 (the term is 0 for a candidate BM25 did not
//!   find), `rank_cosine` its rank by cosine similarity with the query among all candidates,
//!   and `s` the BM25 share (0.5 by default: plain RRF; 1 is BM25 alone, 0 vectors alone).
//!   Ranks, unlike scores, need no calibration between BM25's unbounded scores and MiniLM's
//!   narrow band of cosines.
//!
//! **Relevance-gated candidates.** Recency and importance only reorder memories that are
//! already relevant: the score is computed (and min-max normalised) over the
//! [`ScoreParams::relevance_pool`] candidates with the best relevance (at least `k`), not over
//! every candidate the retrievers returned. Without this, a memory that merely matches one
//! query word but is recent and rated important outranks the evidence (on the sample persona,
//! weights 1,1,1 over all candidates: recall@5 0.24). `relevance_pool = 0` scores every
//! candidate, as the paper does.
//!
//! Weights, decay, share and pool are parameters of each query.
//!
//! **Defaults.** Weights recency 1, importance 1, relevance 2, and a BM25 share of 0.3, not
//! the paper's 1,1,1 and plain RRF: on the retrieval evaluation (`bench/memory`, questions about
//! the sample persona's past), equal weights let recency and importance push evidence out of
//! the top 5 (recall@5 0.515 against vectors alone 0.598), and BM25, weaker than MiniLM on
//! paraphrased and multilingual messages, diluted the vector ranks. With the defaults the full
//! score beats each retriever at both cut-offs (BENCHMARKS.md). Those figures were also how the
//! defaults were chosen, on 22 questions: a caller with other needs (an agent's situational
//! memory, as in the paper) passes its own weights.
//!
//! # Invariants
//!
//! - Every normalised term is within [0, 1]; the score is within [0, Σ weights] for
//!   non-negative weights.
//! - Results are ordered by score, ties broken by candidate order (deterministic); candidates
//!   outside the relevance pool come after every candidate inside it, by relevance.

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
    /// Recency 1, importance 1, relevance 2: relevance counts as much as the other two together
    /// (the paper weighs all three 1; see the module docs for why Hearth does not).
    fn default() -> Self {
        Self {
            recency: 1.0,
            importance: 1.0,
            relevance: 2.0,
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
    /// How many of the most relevant candidates the full score ranks (the query's `k` when
    /// larger; 0: every candidate). See the module docs.
    pub relevance_pool: usize,
}

/// The `k` of reciprocal-rank fusion (Cormack, Clarke and Buettcher 2009).
pub const RRF_K: f64 = 60.0;

impl Default for ScoreParams {
    fn default() -> Self {
        Self {
            weights: Weights::default(),
            decay: 0.995,
            bm25_share: 0.3,
            recency_span: 0.1,
            importance_span: 3.0,
            relevance_pool: 10,
        }
    }
}

/// What the score needs to know about a candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Hours since last access (negative values count as 0); `None` when the memory's time
    /// was guessed (not in its source) and the owner never retrieved it: neutral recency.
    pub hours_since_access: Option<f64>,
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

/// 1-based ranks of `values`, best (largest) first, ties by position.
fn ranks(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let mut rank = vec![0; values.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i] = r + 1;
    }
    rank
}

/// The hybrid relevance of each candidate before normalisation: reciprocal-rank fusion of its
/// BM25 rank (only where BM25 found it) and its cosine rank, BM25 weighted by `share`.
pub fn fused_relevance(candidates: &[Candidate], share: f64) -> Vec<f64> {
    let s = share.clamp(0.0, 1.0);
    let bm25: Vec<f64> = candidates.iter().map(|c| c.bm25).collect();
    let cos: Vec<f64> = candidates.iter().map(|c| c.cosine).collect();
    let (rb, rc) = (ranks(&bm25), ranks(&cos));
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let b = if c.bm25 > 0.0 {
                1.0 / (RRF_K + rb[i] as f64)
            } else {
                0.0
            };
            s * b + (1.0 - s) / (RRF_K + rc[i] as f64)
        })
        .collect()
}

/// Scores candidates for a query asking for `k` results; returns them all, best first.
pub fn score(candidates: &[Candidate], params: &ScoreParams, k: usize) -> Vec<Scored> {
    let fused = fused_relevance(candidates, params.bm25_share);
    // The relevance pool: the best candidates by relevance, in candidate order.
    let mut pool: Vec<usize> = (0..candidates.len()).collect();
    pool.sort_by(|&a, &b| fused[b].total_cmp(&fused[a]).then(a.cmp(&b)));
    let size = if params.relevance_pool == 0 {
        candidates.len()
    } else {
        params.relevance_pool.max(k).min(candidates.len())
    };
    let rest = pool.split_off(size);
    pool.sort_unstable();

    let rel = min_max(&pool.iter().map(|&i| fused[i]).collect::<Vec<_>>());
    let imp = min_max_span(
        &pool
            .iter()
            .map(|&i| f64::from(candidates[i].importance))
            .collect::<Vec<_>>(),
        params.importance_span,
    );
    // Recency over the candidates whose time is known; the others get their mean.
    let known: Vec<usize> = (0..pool.len())
        .filter(|&j| candidates[pool[j]].hours_since_access.is_some())
        .collect();
    let known_rec = min_max_span(
        &known
            .iter()
            .map(|&j| {
                recency(
                    candidates[pool[j]].hours_since_access.unwrap_or(0.0),
                    params.decay,
                )
            })
            .collect::<Vec<_>>(),
        params.recency_span,
    );
    let neutral = if known_rec.is_empty() {
        0.5
    } else {
        known_rec.iter().sum::<f64>() / known_rec.len() as f64
    };
    let mut rec = vec![neutral; pool.len()];
    for (&j, &r) in known.iter().zip(&known_rec) {
        rec[j] = r;
    }

    let w = params.weights;
    let mut out: Vec<Scored> = pool
        .iter()
        .enumerate()
        .map(|(j, &i)| Scored {
            index: i,
            score: w.recency * rec[j] + w.importance * imp[j] + w.relevance * rel[j],
            recency: rec[j],
            importance: imp[j],
            relevance: rel[j],
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    // Outside the pool: after it, by relevance, with no score of their own.
    out.extend(rest.into_iter().map(|i| Scored {
        index: i,
        score: 0.0,
        recency: 0.0,
        importance: 0.0,
        relevance: 0.0,
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn cand(hours: Option<f64>, importance: u8, bm25: f64, cosine: f64) -> Candidate {
        Candidate {
            hours_since_access: hours,
            importance,
            bm25,
            cosine,
        }
    }

    #[test]
    fn formula_matches_hand_computed_values() {
        // Three candidates, by hand (pool 0: all candidates scored):
        //   recency: 0.995^0 = 1, 0.995^10 = 0.951110130465, 0.995^100 = 0.605770436491
        //     → normalised (x − 0.605770436491) / 0.394229563509: 1, 0.875986..., 0
        //   importance: 2, 8, 5 → 0, 1, 0.5
        //   BM25 ranks 1, -, 2; cosine ranks 2, 1, 3 (s = 0.5):
        //     0: 0.5/61 + 0.5/62, 1: 0 + 0.5/61, 2: 0.5/62 + 0.5/63 → min-max: 1, 0, x
        let cands = [
            cand(Some(0.0), 2, 4.0, 0.2),
            cand(Some(10.0), 8, 0.0, 0.9),
            cand(Some(100.0), 5, 2.0, -0.3),
        ];
        let params = ScoreParams {
            weights: Weights {
                recency: 1.0,
                importance: 2.0,
                relevance: 3.0,
            },
            relevance_pool: 0,
            bm25_share: 0.5,
            ..ScoreParams::default()
        };
        let out = score(&cands, &params, 3);
        let by_index = |i: usize| *out.iter().find(|s| s.index == i).unwrap();
        let r1 = (0.995f64.powi(10) - 0.995f64.powi(100)) / (1.0 - 0.995f64.powi(100));
        assert!((r1 - 0.875_986_293_1).abs() < 1e-9, "{r1}");
        let f = [0.5 / 61.0 + 0.5 / 62.0, 0.5 / 61.0, 0.5 / 62.0 + 0.5 / 63.0];
        let rel2 = (f[2] - f[1]) / (f[0] - f[1]);
        // 0: 1·1 + 2·0 + 3·1 = 4
        assert!(close(by_index(0).score, 4.0));
        // 1: 1·0.875986 + 2·1 + 3·0 = 2.875986
        assert!(close(by_index(1).score, r1 + 2.0));
        // 2: 0 + 2·0.5 + 3·rel2
        assert!(close(by_index(2).score, 1.0 + 3.0 * rel2));
        assert!(rel2 > 0.0 && rel2 < 1.0);
        assert_eq!(
            out.iter().map(|s| s.index).collect::<Vec<_>>(),
            vec![0, 2, 1]
        );
        assert!(close(by_index(1).recency, r1));
        assert!(close(by_index(2).importance, 0.5));
    }

    #[test]
    fn fusion_shares_select_one_retriever() {
        let cands = [
            cand(Some(0.0), 1, 0.0, 0.9),
            cand(Some(0.0), 1, 5.0, 0.1),
            cand(Some(0.0), 1, 3.0, 0.5),
        ];
        let bm25 = fused_relevance(&cands, 1.0);
        assert_eq!(bm25[0], 0.0);
        assert!(bm25[1] > bm25[2]);
        let cos = fused_relevance(&cands, 0.0);
        assert!(cos[0] > cos[2] && cos[2] > cos[1]);
        // Plain RRF: found by both beats found by one at equal ranks.
        let rrf = fused_relevance(&cands, 0.5);
        assert!(rrf[2] > rrf[0], "{rrf:?}");
    }

    #[test]
    fn recency_and_importance_only_reorder_the_relevant() {
        // The evidence (relevant, old, unimportant) and a barely relevant, new, important one.
        let cands = [
            cand(Some(5000.0), 1, 9.0, 0.9),
            cand(Some(0.0), 10, 0.5, 0.1),
            cand(Some(4000.0), 2, 8.0, 0.8),
        ];
        // Over every candidate the paper's score puts the unrelated memory first.
        let paper = ScoreParams {
            weights: Weights {
                recency: 1.0,
                importance: 1.0,
                relevance: 1.0,
            },
            bm25_share: 0.5,
            ..ScoreParams::default()
        };
        let all = ScoreParams {
            relevance_pool: 0,
            ..paper
        };
        assert_eq!(score(&cands, &all, 1)[0].index, 1);
        // Gated to the 2 most relevant, it comes last, after the pool, with no score.
        let gated = ScoreParams {
            relevance_pool: 2,
            ..paper
        };
        let out = score(&cands, &gated, 1);
        assert_eq!(
            out.iter().map(|s| s.index).collect::<Vec<_>>(),
            vec![0, 2, 1]
        );
        assert_eq!(out[2].score, 0.0);
        // The pool is at least k.
        assert_eq!(score(&cands, &gated, 3)[0].index, 1);
    }

    #[test]
    fn unknown_time_has_neutral_recency() {
        let cands = [
            cand(Some(0.0), 3, 1.0, 0.5),
            cand(Some(1000.0), 3, 1.0, 0.5),
            cand(None, 3, 1.0, 0.5),
        ];
        let out = score(&cands, &ScoreParams::default(), 3);
        let by_index = |i: usize| *out.iter().find(|s| s.index == i).unwrap();
        assert!(close(by_index(0).recency, 1.0));
        assert!(close(by_index(1).recency, 0.0));
        assert!(close(by_index(2).recency, 0.5));
        // Alone, it is 0.5 as when every value is equal.
        assert!(close(
            score(&cands[2..], &ScoreParams::default(), 1)[0].recency,
            0.5
        ));
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
            cand(Some(0.0), 3, 0.0, 0.25),
            cand(Some(0.001), 3, 7.0, 0.6),
        ];
        assert_eq!(score(&cands, &ScoreParams::default(), 2)[0].index, 1);
    }

    #[test]
    fn equal_values_normalise_to_half() {
        assert_eq!(min_max(&[3.0, 3.0]), vec![0.5, 0.5]);
        assert_eq!(min_max(&[1.0, 3.0]), vec![0.0, 1.0]);
        assert!(close(recency(24.0, 0.995), 0.995f64.powi(24)));
        assert!(close(recency(-5.0, 0.995), 1.0));
    }
}

//! Throughput of the quantized matrix-vector kernels on a SmolLM2-sized weight set (about 66 MB
//! of Q4_1 in 7 × 30 matrices plus a 49152 × 576 Q8_0 head), bigger than any cache, the way a
//! decode step reads it: `quant_bench [REPS]`. Prints GB/s of weights read and the step time.

use std::time::Instant;

use hearth_training::quant::{QuantMatrix, QuantType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: usize = std::env::args().nth(1).map_or(Ok(20), |s| s.parse())?;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    };
    let shapes = [
        (576, 576),
        (192, 576),
        (192, 576),
        (576, 576),
        (1536, 576),
        (1536, 576),
        (576, 1536),
    ];
    let mut mats = Vec::new();
    for _ in 0..30 {
        for &(rows, cols) in &shapes {
            mats.push(QuantMatrix::quantize(
                QuantType::Q4_1,
                rows,
                cols,
                &random(rows * cols),
            )?);
        }
    }
    let head = QuantMatrix::quantize(QuantType::Q8_0, 49152, 576, &random(49152 * 576))?;
    let x = random(1536);
    let mut out = vec![0.0f32; 49152];
    let bytes: usize = mats.iter().map(QuantMatrix::byte_len).sum::<usize>() + head.byte_len();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        // On a rayon worker, as the decode path runs (see `host::forward`).
        rayon::scope(|_| -> Result<(), hearth_training::Error> {
            for m in &mats {
                m.matmul(&x[..m.cols()], 1, &mut out[..m.rows()])?;
            }
            head.matmul(&x[..576], 1, &mut out)
        })?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mut best_head = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        head.matmul(&x[..576], 1, &mut out)?;
        best_head = best_head.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} threads; head alone ({:.1} MB Q8_0): best {:.2} ms, {:.2} GB/s",
        rayon::current_num_threads(),
        head.byte_len() as f64 / 1e6,
        best_head * 1e3,
        head.byte_len() as f64 / best_head / 1e9
    );
    let big = QuantMatrix::quantize(QuantType::Q4_1, 49152, 576, &random(49152 * 576))?;
    let mut best_big = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        big.matmul(&x[..576], 1, &mut out)?;
        best_big = best_big.min(t.elapsed().as_secs_f64());
    }
    println!(
        "one 49152 x 576 Q4_1 matrix ({:.1} MB): best {:.2} ms, {:.2} GB/s",
        big.byte_len() as f64 / 1e6,
        best_big * 1e3,
        big.byte_len() as f64 / best_big / 1e9
    );
    // The floor: reading the same number of bytes with plain vector loads.
    let words = vec![1u64; bytes / 8];
    let mut best_read = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        let sum: u64 = rayon::scope(|_| {
            use rayon::prelude::*;
            words
                .par_chunks(16 * 1024)
                .map(|c| c.iter().fold(0u64, |a, &w| a.wrapping_add(w)))
                .sum()
        });
        best_read = best_read.min(t.elapsed().as_secs_f64());
        std::hint::black_box(sum);
    }
    println!(
        "plain read of the same bytes: best {:.2} ms, {:.2} GB/s",
        best_read * 1e3,
        bytes as f64 / best_read / 1e9
    );
    println!(
        "{:.1} MB per step, best {:.2} ms, {:.2} GB/s",
        bytes as f64 / 1e6,
        best * 1e3,
        bytes as f64 / best / 1e9
    );
    Ok(())
}

//! Sentence-embedding throughput of Hearth's runtime, for `bench/models/run.sh`.
//!
//! Usage: `embed_bench MODEL_DIR SENTENCES_FILE [ROUNDS]` (one sentence per line). Prints one
//! JSON object: sentences per second at batch size 1 and 32 (after a warm-up), and the load time.

use std::time::Instant;

use hearth_training::{DeviceChoice, SentenceEncoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: embed_bench MODEL_DIR SENTENCES_FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.next().map_or(Ok(1), |r| r.parse())?;
    let text = std::fs::read_to_string(&file)?;
    let sentences: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let device = DeviceChoice::from_env()?.device()?;
    let start = Instant::now();
    let encoder = SentenceEncoder::load(std::path::Path::new(&dir), &device)?;
    let load_s = start.elapsed().as_secs_f64();
    encoder.embed(&sentences[..sentences.len().min(8)], 8)?;
    let mut rates = Vec::new();
    for batch in [1usize, 32] {
        let start = Instant::now();
        for _ in 0..rounds {
            encoder.embed(&sentences, batch)?;
        }
        rates.push((rounds * sentences.len()) as f64 / start.elapsed().as_secs_f64());
    }
    println!(
        "{{\"sentences\":{},\"batch1_per_s\":{:.3},\"batch32_per_s\":{:.3},\"load_s\":{:.3}}}",
        sentences.len(),
        rates[0],
        rates[1],
        load_s
    );
    Ok(())
}

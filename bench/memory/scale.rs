//! Scale benchmark of the memory stream: build, disk size, unlock, resident memory and query
//! latency with many memories (bench/memory/README.md).
//!
//! The texts are **synthetic** and the embedder is a **hashed bag of words** (each lower-cased
//! word adds ±1 to two of 384 dimensions chosen by a hash), because embedding a million texts
//! with MiniLM on two cores would take days. The texts are made to look like a personal
//! archive: words drawn from a 6,000-word made-up vocabulary with a Zipf distribution plus
//! common English function words, 4–40 words each, 6 sources, 200 participants, 2,000
//! conversations, spread over five years. Only the embedding differs from production; the
//! records go through the real vault, and the build, sealing, tantivy and hnsw are the real ones.
//!
//! Run: `cargo run --release -p hearth-memory --example memory_scale -- N [DIR]`. Query times
//! exclude the query's embedding (queries are embedded first and served from a table).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use hearth_memory::{
    Embedder, FeatureImportance, MemoryFilter, MemoryStream, ModelError, Models, Query,
    ScoreParams, Weights,
};
use hearth_vault::{
    Conversation, InitOptions, Kind, Person, RecordData, SecretString, Unlock, Vault,
};

const DIM: usize = 384;
const SOURCES: &[&str] = &[
    "whatsapp", "telegram", "mail", "slack", "twitter", "journal",
];
const FUNCTION: &[&str] = &[
    "the", "a", "and", "to", "of", "in", "it", "is", "we", "i", "you", "that", "for", "on", "with",
    "at", "tomorrow", "today", "was", "be", "so", "just", "can", "will", "not",
];

/// A small deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Zipf-like rank in 0..n (s ≈ 1), by inverse transform of a log-uniform draw.
    fn zipf(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as u64).saturating_sub(1).min(n - 1)
    }
}

fn vocabulary(n: usize) -> Vec<String> {
    const SYL: &[&str] = &[
        "ka", "lo", "mi", "ne", "ta", "ri", "so", "vu", "be", "da", "pe", "gu", "fi", "ho", "za",
        "el", "an", "or", "is", "un", "str", "mar", "tin", "ber", "qua", "lis", "bon", "ver",
    ];
    let mut rng = Rng(7);
    let mut words = std::collections::BTreeSet::new();
    while words.len() < n {
        let len = 2 + rng.below(3);
        let w: String = (0..len)
            .map(|_| SYL[rng.below(SYL.len() as u64) as usize])
            .collect();
        words.insert(w);
    }
    let mut words: Vec<String> = words.into_iter().collect();
    // Shuffle so that Zipf ranks are not alphabetical.
    for i in (1..words.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        words.swap(i, j);
    }
    words
}

fn text(rng: &mut Rng, vocab: &[String]) -> String {
    let len = 4 + rng.below(37);
    let mut out = String::new();
    for i in 0..len {
        if i > 0 {
            out.push(' ');
        }
        if rng.below(3) == 0 {
            out.push_str(FUNCTION[rng.below(FUNCTION.len() as u64) as usize]);
        } else {
            out.push_str(&vocab[rng.zipf(vocab.len() as u64) as usize]);
        }
    }
    out.push('.');
    out
}

fn hash(word: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Hashed bag of words: deterministic, fast, and similar texts get similar vectors.
struct HashEmbedder;
impl Embedder for HashEmbedder {
    fn dim(&self) -> usize {
        DIM
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; DIM];
                for w in t
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let w = w.to_lowercase();
                    for seed in [1, 2] {
                        let h = hash(&w, seed);
                        v[(h % DIM as u64) as usize] += if h >> 63 == 0 { 1.0 } else { -1.0 };
                    }
                }
                v
            })
            .collect())
    }
}

/// Serves precomputed query vectors, so that query times exclude embedding.
struct Table(HashMap<String, Vec<f32>>);
impl Embedder for Table {
    fn dim(&self) -> usize {
        DIM
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        texts
            .iter()
            .map(|t| {
                self.0
                    .get(*t)
                    .cloned()
                    .ok_or_else(|| "not precomputed".into())
            })
            .collect()
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(Ok(100_000), |s| s.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = args
        .get(2)
        .map_or_else(|| tmp.path().join("vault"), std::path::PathBuf::from);
    let pass = SecretString::from("scale".to_owned());
    let vocab = vocabulary(6000);
    let mut rng = Rng(42);
    let start: DateTime<FixedOffset> = Utc
        .with_ymd_and_hms(2021, 1, 1, 0, 0, 0)
        .single()
        .ok_or("bad date")?
        .fixed_offset();
    let span_s = 5 * 365 * 86_400u64;
    let people: Vec<String> = (0..200).map(|i| format!("person{i}")).collect();

    // A directory given on the command line that already holds a vault is reused: only the
    // unlock and the queries run (for profiling them).
    let reuse = args.get(2).is_some() && dir.join("vault.db").exists();
    let (mut insert_s, mut build_s, mut build_rss, mut vault_only) = (0.0, 0.0, 0.0, 0);
    let mut built = 0;
    if !reuse {
        let mut vault = Vault::init(
            &dir,
            &pass,
            &InitOptions {
                scrypt_log_n: 10,
                identity_recipient: None,
            },
        )?;
        let t = Instant::now();
        let mut batch = Vec::new();
        for i in 0..n {
            let conv = rng.zipf(2000);
            let source = SOURCES[(conv % SOURCES.len() as u64) as usize];
            let author = &people[rng.zipf(200) as usize];
            let other = &people[((conv * 7) % 200) as usize];
            let at = start + chrono::Duration::seconds((i as u64 * span_s / n as u64) as i64);
            let mut r = RecordData::note(source, text(&mut rng, &vocab), at);
            r.kind = Kind::Message;
            r.external_id = Some(format!("m{i}"));
            r.author = Some(Person {
                name: author.clone(),
                handle: None,
                is_owner: false,
            });
            r.participants = vec![Person {
                name: other.clone(),
                handle: None,
                is_owner: false,
            }];
            r.conversation = Some(Conversation {
                id: format!("c{conv}"),
                name: None,
            });
            batch.push(r);
            if batch.len() == 10_000 {
                vault.insert_batch(&batch, "scale")?;
                batch.clear();
            }
        }
        vault.insert_batch(&batch, "scale")?;
        insert_s = t.elapsed().as_secs_f64();
        vault_only = dir_bytes(&dir);

        let t = Instant::now();
        let mut stream = MemoryStream::open(&vault)?;
        let report = stream.build(
            &mut vault,
            Models {
                embedder: &HashEmbedder,
                importance: &FeatureImportance,
            },
        )?;
        build_s = t.elapsed().as_secs_f64();
        build_rss = peak_rss_mib();
        built = report.memories_total;
        drop(stream);
        drop(vault);
    }
    if reuse {
        // A build with no new records: brings a store written by an older version up to date
        // (its pages rewritten in the current format) before the unlock is measured.
        let mut vault = Vault::open(&dir, &Unlock::Passphrase(pass.clone()), true)?;
        let t = Instant::now();
        let mut stream = MemoryStream::open(&vault)?;
        println!(
            "reused store: unlock before the no-op build {:.2} s",
            t.elapsed().as_secs_f64()
        );
        stream.build(
            &mut vault,
            Models {
                embedder: &HashEmbedder,
                importance: &FeatureImportance,
            },
        )?;
    }
    let disk = dir_bytes(&dir);

    // Unlock: a fresh open of the vault and the memory stream.
    let t = Instant::now();
    let vault = Vault::open(&dir, &Unlock::Passphrase(pass), false)?;
    let vault_open_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let stream = MemoryStream::open(&vault)?;
    let open_s = t.elapsed().as_secs_f64();

    // Queries: texts like the memories', embedded beforehand.
    let n_queries: usize = std::env::var("SCALE_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let queries: Vec<String> = (0..n_queries)
        .map(|_| {
            (0..4)
                .map(|_| vocab[rng.zipf(vocab.len() as u64) as usize].clone())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
    let table = Table(
        queries
            .iter()
            .cloned()
            .zip(HashEmbedder.embed(&refs).map_err(|e| e.to_string())?)
            .collect(),
    );
    let filters: Vec<(&str, MemoryFilter)> = vec![
        ("no filter", MemoryFilter::default()),
        (
            "source (1/6 of memories)",
            MemoryFilter {
                sources: vec!["mail".into()],
                ..MemoryFilter::default()
            },
        ),
        (
            "source + last year",
            MemoryFilter {
                sources: vec!["whatsapp".into(), "telegram".into()],
                since: Some((start + chrono::Duration::days(4 * 365)).with_timezone(&Utc)),
                ..MemoryFilter::default()
            },
        ),
        (
            "one participant",
            MemoryFilter {
                participants: vec!["person3".into()],
                ..MemoryFilter::default()
            },
        ),
        (
            "one conversation",
            MemoryFilter {
                conversations: vec!["c5".into()],
                ..MemoryFilter::default()
            },
        ),
    ];
    println!(
        "{} memories (records inserted in {insert_s:.1} s); build {build_s:.1} s; disk {:.0} MiB \
         (vault before the build {:.0} MiB); unlock: vault {vault_open_s:.2} s + memories \
         {open_s:.2} s; peak RSS during build {build_rss:.0} MiB",
        if reuse { stream.len() as u64 } else { built },
        disk as f64 / 1048576.0,
        vault_only as f64 / 1048576.0,
    );
    println!("| filter | p50 ms | p99 ms | mean results |");
    println!("|---|---:|---:|---:|");
    for (name, filter) in filters.iter().filter(|_| n_queries > 0) {
        let mut times = Vec::new();
        let mut results = 0;
        for q in &queries {
            let mut query = Query::new(q.clone());
            query.k = 10;
            query.filter = filter.clone();
            let t = Instant::now();
            results += stream.search(&table, &query)?.len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "| {name} | {:.2} | {:.2} | {:.1} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            results as f64 / queries.len() as f64
        );
    }
    // How many of the exact 10 nearest neighbours the vector retriever finds (hnsw recall,
    // end to end through the search), on the first 50 queries.
    let vectors_only = ScoreParams {
        weights: Weights {
            recency: 0.0,
            importance: 0.0,
            relevance: 1.0,
        },
        bm25_share: 0.0,
        relevance_pool: 0,
        ..ScoreParams::default()
    };
    let mut found = 0;
    let sample = &queries[..50.min(queries.len())];
    for q in sample {
        let mut v = table.0[q].clone();
        let norm = v
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        v.iter_mut().for_each(|x| *x /= norm);
        let mut exact: Vec<(f32, String)> = stream
            .iter()
            .map(|m| {
                let d: f32 = m.embedding.iter().zip(&v).map(|(a, b)| a * b).sum();
                (d, m.id.to_string())
            })
            .collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut query = Query::new(q.clone());
        query.k = 10;
        query.params = vectors_only;
        let got: Vec<String> = stream
            .search(&table, &query)?
            .into_iter()
            .map(|r| r.memory.id.to_string())
            .collect();
        // Ties at the 10th distance count as found.
        let tenth = exact.get(9).map_or(f32::NEG_INFINITY, |e| e.0);
        found += exact
            .iter()
            .take_while(|e| e.0 >= tenth - 1e-6)
            .filter(|e| got.contains(&e.1))
            .count()
            .min(10);
    }
    println!(
        "vector recall@10 against an exact scan ({} queries, no filter): {:.3}",
        sample.len(),
        found as f64 / (10 * sample.len()) as f64
    );
    println!("peak RSS (whole run) {:.0} MiB", peak_rss_mib());
    Ok(())
}

//! Retrieval-quality evaluation of the memory stream on the sample persona (examples/).
//!
//! Imports every example export into a fresh vault (the real connectors), builds the memories
//! with the real all-MiniLM-L6-v2 (`hearth_web::engine`) and the feature importance, then asks
//! each question of `bench/memory/questions.json` and measures how much of its labelled
//! evidence comes back in the top 5 and top 10, for: BM25 alone, vectors alone, the hybrid
//! (BM25 + cosine), and the full Generative Agents score (recency + importance + hybrid
//! relevance) with the default parameters, and variants (pool sizes, the paper's and the
//! reference code's weights).
//!
//! Evidence is labelled by source and an exact piece of the message's text (ids change with
//! every import); each label must match at least one memory, or the run fails naming it.
//! Queries are searched as an app would (nothing refreshes recency), at a fixed "now"
//! (2026-07-01, after the newest dated memory, 2026-06-13; the run fails if a memory with a
//! known time is newer), so runs are reproducible.
//!
//! Run: `cargo run --release -p hearth-web --example memory_eval` (bench/memory/README.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use hearth_connectors::{Context, ImportOptions};
use hearth_memory::{FeatureImportance, Memory, MemoryStream, Models, Query, ScoreParams, Weights};
use hearth_vault::{InitOptions, SecretString, Vault};
use hearth_web::engine::{self, EncoderEmbedder};
use serde::Deserialize;

#[derive(Deserialize)]
struct Evidence {
    source: String,
    text: String,
}

#[derive(Deserialize)]
struct Question {
    question: String,
    evidence: Vec<Evidence>,
}

/// Every example export and how it is imported (zone, the owner's names).
const EXPORTS: &[&str] = &[
    "whatsapp/WhatsApp Chat with Inês.txt",
    "whatsapp-ios/_chat.txt",
    "telegram/result.json",
    "twitter",
    "facebook",
    "instagram",
    "discord",
    "slack",
    "mail/takeout.mbox",
    "mail/single.eml",
    "reddit",
    "journal",
    "dayone/Journal.json",
    "generic/notes.jsonl",
    "generic/notes.csv",
];

const ME: &[&str] = &[
    "Maya Lindqvist",
    "maya",
    "mayalindq",
    "pimenta_and_pixels",
    "maya.lindqvist@gmail.com",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let questions: Vec<Question> =
        serde_json::from_slice(&std::fs::read(root.join("bench/memory/questions.json"))?)?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("vault");
    let pass = SecretString::from("eval".to_owned());
    let mut vault = Vault::init(
        &dir,
        &pass,
        &InitOptions {
            scrypt_log_n: 10,
            identity_recipient: None,
        },
    )?;
    let tz = hearth_connectors::time::parse_zone("Europe/Lisbon")?;
    for export in EXPORTS {
        let path: PathBuf = root.join("examples").join(export);
        let options = ImportOptions {
            format: None,
            context: Context {
                tz,
                date_order: Some(hearth_connectors::DateOrder::Dmy),
                me: ME.iter().map(|s| (*s).to_owned()).collect(),
            },
            actor: "eval".into(),
        };
        match hearth_connectors::import(&mut vault, &path, &options, &mut |_| {}) {
            Ok(s) => eprintln!("{export}: {} {} imported", s.format, s.imported),
            Err(e) => eprintln!("{export}: not imported: {e}"),
        }
    }
    let device = hearth_training::DeviceChoice::Cpu.device()?;
    let embedder = EncoderEmbedder::new(engine::load_encoder(None, &device)?, 32);
    let started = std::time::Instant::now();
    let mut stream = MemoryStream::open(&vault)?;
    let report = stream.build(
        &mut vault,
        Models {
            embedder: &embedder,
            importance: &FeatureImportance,
        },
    )?;
    eprintln!(
        "{} memories from {} records in {:.1} s",
        report.memories_total,
        report.records_added,
        started.elapsed().as_secs_f64()
    );

    // Labels → the memories they name; every label must name one.
    let mut labels: Vec<Vec<Vec<&Memory>>> = Vec::new();
    let mut unmatched = Vec::new();
    for q in &questions {
        let mut per_q = Vec::new();
        for e in &q.evidence {
            let hits: Vec<&Memory> = stream
                .iter()
                .filter(|m| m.source == e.source && m.text.contains(&e.text))
                .collect();
            if hits.is_empty() {
                unmatched.push(format!("{:?}: {} {:?}", q.question, e.source, e.text));
            }
            per_q.push(hits);
        }
        labels.push(per_q);
    }
    if !unmatched.is_empty() {
        return Err(format!("labels matching no memory:\n{}", unmatched.join("\n")).into());
    }
    let evidence_total: usize = labels.iter().map(Vec::len).sum();

    let now = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).single();
    if let Some(m) = stream
        .iter()
        .filter(|m| m.time_known)
        .max_by_key(|m| m.occurred_at)
        && Some(m.occurred_at.with_timezone(&Utc)) > now
    {
        return Err(format!(
            "the eval's now is before the newest memory ({})",
            m.occurred_at
        )
        .into());
    }
    eprintln!(
        "{} memories without a time in their source (neutral recency)",
        stream.iter().filter(|m| !m.time_known).count()
    );
    let relevance_only = |share: f64| ScoreParams {
        weights: Weights {
            recency: 0.0,
            importance: 0.0,
            relevance: 1.0,
        },
        bm25_share: share,
        ..ScoreParams::default()
    };
    let full = |recency: f64, importance: f64, relevance: f64, pool: usize| ScoreParams {
        weights: Weights {
            recency,
            importance,
            relevance,
        },
        relevance_pool: pool,
        ..ScoreParams::default()
    };
    let paper = |pool: usize| ScoreParams {
        weights: Weights {
            recency: 1.0,
            importance: 1.0,
            relevance: 1.0,
        },
        bm25_share: 0.5,
        relevance_pool: pool,
        ..ScoreParams::default()
    };
    let setups: Vec<(&str, ScoreParams)> = vec![
        ("BM25 alone", relevance_only(1.0)),
        ("vectors alone", relevance_only(0.0)),
        (
            "hybrid (RRF of BM25 and cosine ranks, BM25 share 0.3)",
            relevance_only(0.3),
        ),
        ("hybrid, plain RRF (share 0.5)", relevance_only(0.5)),
        (
            "full score (defaults: weights 1,1,2, share 0.3, relevance pool 10)",
            ScoreParams::default(),
        ),
        ("full score, defaults but pool 5", full(1.0, 1.0, 2.0, 5)),
        ("full score, defaults but pool 20", full(1.0, 1.0, 2.0, 20)),
        (
            "full score, defaults but no pool (every candidate)",
            full(1.0, 1.0, 2.0, 0),
        ),
        ("full score, paper's 1,1,1, share 0.5, pool 10", paper(10)),
        ("full score, paper's 1,1,1, share 0.5, no pool", paper(0)),
        (
            "full score, 0.5,2,3 (reference code), share 0.3, pool 10",
            full(0.5, 2.0, 3.0, 10),
        ),
    ];
    if let Ok(path) = std::env::var("MEMORY_EVAL_DUMP") {
        // Every candidate of every question with its raw features, for offline analysis.
        let mut out = Vec::new();
        for (q, evidence) in questions.iter().zip(&labels) {
            let mut per = BTreeMap::new();
            for (share, key) in [(1.0, "bm25"), (0.0, "cos")] {
                let mut query = Query::new(q.question.clone());
                query.k = 100_000;
                query.params = relevance_only(share);
                query.now = now;
                for h in stream.search(&embedder, &query)? {
                    let e = per.entry(h.memory.id.to_string()).or_insert_with(|| {
                        let undated = h.memory.record_id.as_ref().is_some_and(|r| {
                            vault.get(r).is_ok_and(|r| {
                                r.data.metadata.get("date_source").map(String::as_str)
                                    == Some("mtime")
                            })
                        });
                        serde_json::json!({
                            "occurred_at": h.memory.occurred_at.to_rfc3339(),
                            "importance": h.memory.importance,
                            "source": h.memory.source,
                            "undated": undated,
                            "evidence": evidence.iter().position(|ms| ms.iter().any(|m| m.id == h.memory.id)),
                        })
                    });
                    e[key] = serde_json::json!(h.relevance);
                }
            }
            out.push(serde_json::json!({"question": q.question, "n_evidence": evidence.len(), "candidates": per}));
        }
        std::fs::write(path, serde_json::to_vec(&out)?)?;
    }
    let mut table = BTreeMap::new();
    println!(
        "{} questions, {} evidence labels, {} memories",
        questions.len(),
        evidence_total,
        stream.len()
    );
    println!("| retrieval | recall@5 | recall@10 | any@5 | any@10 |");
    println!("|---|---:|---:|---:|---:|");
    for (i, (name, params)) in setups.iter().enumerate() {
        let (mut r5, mut r10, mut a5, mut a10) = (0.0, 0.0, 0.0, 0.0);
        for (q, evidence) in questions.iter().zip(&labels) {
            let mut query = Query::new(q.question.clone());
            query.k = 10;
            query.params = *params;
            query.now = now;
            let hits = stream.search(&embedder, &query)?;
            let found = |k: usize| {
                evidence
                    .iter()
                    .filter(|matches| {
                        hits.iter()
                            .take(k)
                            .any(|h| matches.iter().any(|m| m.id == h.memory.id))
                    })
                    .count()
            };
            let n = evidence.len() as f64;
            r5 += found(5) as f64 / n;
            r10 += found(10) as f64 / n;
            a5 += f64::from(u8::from(found(5) > 0));
            a10 += f64::from(u8::from(found(10) > 0));
        }
        let n = questions.len() as f64;
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} |",
            r5 / n,
            r10 / n,
            a5 / n,
            a10 / n
        );
        table.insert(i, (r5 / n, r10 / n));
    }
    Ok(())
}

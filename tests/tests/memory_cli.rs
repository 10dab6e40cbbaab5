//! The memory stream through the real `hearth` binary with the real models (all-MiniLM-L6-v2
//! for embeddings, SmolLM2's tokenizer for `context`): the canary test extended to the indexes
//! and vectors, forgetting, filters, the context budget, reflections.
//!
//! These tests need `models/` (scripts/fetch-models); each says so and fails if it is missing.

use std::collections::HashSet;

use hearth_e2e::{TestVault, contains, describe};
use serde_json::Value;

/// A canary that stays one index term: lower-case letters and digits only.
fn token(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("zq{tag}{nanos:x}{}", std::process::id())
}

fn list(v: &Value) -> &Vec<Value> {
    v.as_array().expect("a JSON list")
}

fn texts(v: &Value) -> Vec<String> {
    list(v)
        .iter()
        .map(|m| m["text"].as_str().expect("text").to_owned())
        .collect()
}

/// The embedding `hearth embed` gives for `text`, and that vector L2-normalised again exactly
/// as the memory store does (it may differ in the last bits).
fn embeddings(vault: &TestVault, text: &str) -> Vec<Vec<f32>> {
    let out = vault.json(&["embed", text]);
    let v: Vec<f32> = list(&out[0])
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect();
    assert_eq!(v.len(), 384, "all-MiniLM-L6-v2 gives 384 dimensions");
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let renormalised: Vec<f32> = v.iter().map(|x| x / norm).collect();
    vec![v, renormalised]
}

/// Whether any 4 consecutive values of `vector` occur in `bytes` as little-endian f32s, exactly
/// or within 1e-4 each (a vector embedded in another batch differs in the last bits), at any
/// byte offset.
fn holds_vector(bytes: &[u8], vector: &[f32]) -> bool {
    const TOL: f32 = 1e-4;
    let mut sorted: Vec<(f32, usize)> = vector.iter().copied().zip(0..).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |p: usize| f32::from_le_bytes([bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]]);
    for p in 0..bytes.len().saturating_sub(16) {
        let x = at(p);
        if !x.is_finite() || x.abs() < 1e-3 {
            continue;
        }
        let start = sorted.partition_point(|(v, _)| *v < x - TOL);
        for &(v, i) in sorted[start..].iter().take_while(|(v, _)| *v <= x + TOL) {
            debug_assert!((v - x).abs() <= TOL);
            if i + 4 <= vector.len() && (1..4).all(|k| (at(p + 4 * k) - vector[i + k]).abs() <= TOL)
            {
                return true;
            }
        }
    }
    false
}

fn assert_nothing_in_clear(vault: &TestVault, words: &[&str], vectors: &[Vec<f32>]) {
    let bytes = vault.all_bytes();
    assert!(bytes.len() > 10_000, "vault files unexpectedly small");
    for word in words {
        assert!(
            !contains(&bytes, word.as_bytes()),
            "{word:?} found in the vault's files"
        );
    }
    for (i, v) in vectors.iter().enumerate() {
        assert!(
            !holds_vector(&bytes, v),
            "embedding {i} found in clear in the vault's files"
        );
    }
}

#[test]
fn the_vector_detector_finds_a_vector_written_in_clear() {
    // The detector the canary test relies on, checked on bytes that do hold a vector.
    let v: Vec<f32> = (0..384)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 700.0)
        .collect();
    let mut bytes = vec![7u8; 1001];
    for x in &v[100..108] {
        bytes.extend(x.to_le_bytes());
    }
    bytes.extend([1u8; 333]);
    assert!(holds_vector(&bytes, &v));
    let nudged: Vec<f32> = v.iter().map(|x| x + 2e-5).collect();
    assert!(holds_vector(&bytes, &nudged));
    assert!(!holds_vector(&bytes[..1001], &v));
}

#[test]
fn canary_terms_and_vectors_never_reach_the_disk_and_a_forgotten_canary_is_never_recalled() {
    let vault = TestVault::init();
    let record_canary = token("rec");
    let owner_canary = token("own");
    let record_text = format!("the {record_canary} password is under the blue doormat");
    let record_id = vault.json(&["add", "--text", &record_text, "--source", "journal"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fillers: String = (0..40)
        .map(|i| format!("filler memory {i} about the weather and lunch\n"))
        .collect();
    let out = vault.run_with_input(&["add", "--stdin", "--source", "notes"], &fillers);
    assert!(out.status.success(), "{}", describe(&out));
    let built = vault.json(&["memories", "build"]);
    assert_eq!(built["memories_added"], 41, "{built}");
    assert_eq!(built["memories_total"], 41);
    let owner_text = format!("{owner_canary} is the code of the bike lock");
    let owner_id = vault.json(&["remember", &owner_text])["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Both are recalled, with the record's id and every field of the JSON.
    let hits = vault.json(&["recall", &record_canary, "--k", "3"]);
    let hit = &list(&hits)[0];
    assert_eq!(hit["text"], record_text.as_str(), "{hits}");
    assert_eq!(hit["record_id"], record_id.as_str());
    assert_eq!(hit["source"], "journal");
    for key in [
        "id",
        "occurred_at",
        "author",
        "participants",
        "conversation",
        "score",
        "recency",
        "importance",
        "relevance",
    ] {
        assert!(hit.get(key).is_some(), "{key} missing from {hit}");
    }
    let record_memory = hit["id"].as_str().unwrap().to_owned();
    let hits = vault.json(&["recall", "bike lock code", "--k", "1"]);
    assert_eq!(list(&hits)[0]["id"], owner_id.as_str(), "{hits}");

    let mut vectors = embeddings(&vault, &record_text);
    vectors.extend(embeddings(&vault, &owner_text));
    let words = [
        record_canary.as_str(),
        owner_canary.as_str(),
        "blue doormat",
        "bike lock",
        "filler memory 17",
    ];
    assert_nothing_in_clear(&vault, &words, &vectors);

    // The owner's memory is forgotten by id, the record's by deleting the record.
    let forgotten = vault.json(&["forget", &owner_id]);
    assert_eq!(forgotten["forgotten"], serde_json::json!([owner_id]));
    let deleted = vault.json(&["records", "delete", &record_id]);
    assert_eq!(deleted["deleted"], 1);
    assert_eq!(deleted["memories_forgotten"], 1, "{deleted}");
    // Never recalled again: not by its term, its text or its meaning, not after a rebuild.
    let rebuilt = vault.json(&["memories", "build"]);
    assert_eq!(rebuilt["memories_added"], 0, "{rebuilt}");
    assert_eq!(rebuilt["memories_total"], 40);
    for query in [
        record_canary.as_str(),
        owner_canary.as_str(),
        record_text.as_str(),
        owner_text.as_str(),
        "password under the doormat",
    ] {
        let hits = vault.json(&["recall", query, "--k", "100"]);
        assert_eq!(list(&hits).len(), 40, "{query}");
        for h in list(&hits) {
            assert!(
                h["id"] != owner_id.as_str() && h["id"] != record_memory.as_str(),
                "{query} recalled a forgotten memory: {h}"
            );
            let text = h["text"].as_str().unwrap();
            assert!(!text.contains(&record_canary) && !text.contains(&owner_canary));
        }
    }
    assert_nothing_in_clear(&vault, &words[..4], &vectors);
    // Both erasures are in the audit log, by id.
    let audit = vault.json(&["audit", "list"]);
    let forgets: Vec<&Value> = list(&audit)
        .iter()
        .filter(|e| e["action"] == "memory.forget")
        .collect();
    assert_eq!(forgets.len(), 2, "{audit}");
    let subjects: HashSet<&str> = forgets
        .iter()
        .flat_map(|e| list(&e["subjects"]).iter().map(|s| s.as_str().unwrap()))
        .collect();
    assert!(subjects.contains(owner_id.as_str()) && subjects.contains(record_memory.as_str()));
    // Unknown ids are an error naming the id.
    let out = vault.run(&["forget", &owner_id]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&owner_id));
}

/// Which memories a filter lets through, checked on the JSON of a recalled memory.
type Allowed = Box<dyn Fn(&Value) -> bool>;

#[test]
fn import_builds_memories_and_filters_never_leak() {
    let vault = TestVault::init();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let chat = root.join("whatsapp/WhatsApp Chat with Inês.txt");
    let first = vault.json(&[
        "import",
        chat.to_str().unwrap(),
        "--tz",
        "Europe/Lisbon",
        "--me",
        "Maya Lindqvist",
    ]);
    let made = first["memories"]["memories_added"].as_u64().unwrap();
    assert!(made >= 70, "{first}");
    let notes = root.join("generic/notes.jsonl");
    let second = vault.json(&["import", notes.to_str().unwrap(), "--tz", "UTC"]);
    assert_eq!(
        second["memories"]["records_seen"], second["imported"],
        "the build after an import opens only the new records: {second}"
    );
    let skipped = vault.json(&[
        "import",
        chat.to_str().unwrap(),
        "--tz",
        "Europe/Lisbon",
        "--no-memories",
    ]);
    assert_eq!(skipped["memories"], Value::Null);
    // Without the embedding model the import still works and says why no memories were made.
    let out = vault
        .command(&["import", notes.to_str().unwrap(), "--tz", "UTC"])
        .env("HEARTH_MODELS_DIR", vault.scratch())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("memories not built") && stderr.contains("all-minilm-l6-v2"),
        "{stderr}"
    );

    let all = vault.json(&["recall", "the half marathon", "--k", "500"]);
    let sources: HashSet<&str> = list(&all)
        .iter()
        .map(|m| m["source"].as_str().unwrap())
        .collect();
    assert!(sources.len() >= 2, "{sources:?}");
    let cases: Vec<(Vec<&str>, Allowed)> = vec![
        (
            vec!["--source", "whatsapp"],
            Box::new(|m: &Value| m["source"] == "whatsapp"),
        ),
        (
            vec!["--participant", "inês"],
            Box::new(|m: &Value| {
                list(&m["participants"])
                    .iter()
                    .any(|p| p.as_str().unwrap().to_lowercase() == "inês")
            }),
        ),
        (
            vec!["--exclude-participant", "Inês"],
            Box::new(|m: &Value| {
                !list(&m["participants"]).iter().any(|p| p == "Inês") && m["author"] != "Inês"
            }),
        ),
        (
            vec!["--since", "2025-06-01", "--until", "2025-09-01"],
            Box::new(|m: &Value| {
                let t = chrono::DateTime::parse_from_rfc3339(m["occurred_at"].as_str().unwrap())
                    .unwrap()
                    .timestamp();
                (1_748_736_000..1_756_684_800).contains(&t) // [2025-06-01, 2025-09-01) UTC
            }),
        ),
    ];
    for (args, allowed) in &cases {
        for query in [
            "half marathon",
            "Pimenta at the vet",
            "moving flat",
            "wedding speech",
        ] {
            let mut argv = vec!["recall", query, "--k", "5"];
            argv.extend(args.iter().copied());
            let hits = vault.json(&argv);
            // As many as asked whenever that many pass the filter: filtered inside the search.
            let passing = list(&all).iter().filter(|m| allowed(m)).count();
            assert_eq!(list(&hits).len(), passing.min(5), "{args:?} {query}");
            for h in list(&hits) {
                assert!(allowed(h), "{args:?} {query} leaked {h}");
            }
        }
    }
    let none = vault.json(&["recall", "marathon", "--source", "nowhere"]);
    assert!(list(&none).is_empty());
    let out = vault.run(&["recall", "x", "--weights", "1,2"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--weights"));
}

#[test]
fn context_never_exceeds_the_budget_and_cites_its_memories() {
    let vault = TestVault::init();
    let lines: String = (0..60)
        .map(|i| {
            format!(
                "Day {i} of the climbing trip: we tried the purple roof problem at Bloco Alcântara \
                 again and Duarte finally sent it after {} attempts.\n",
                i % 7 + 2
            )
        })
        .collect();
    let out = vault.run_with_input(&["add", "--stdin", "--source", "journal"], &lines);
    assert!(out.status.success(), "{}", describe(&out));
    vault.ok(&["memories", "build"]);
    let known: HashSet<String> = list(&vault.json(&["memories", "list", "--limit", "1000"]))
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(known.len(), 60);
    for budget in [0usize, 5, 40, 41, 150, 700, 4000] {
        let packed = vault.json(&[
            "context",
            "climbing the purple roof",
            "--budget",
            &budget.to_string(),
            "--k",
            "30",
        ]);
        let tokens = packed["tokens"].as_u64().unwrap() as usize;
        assert!(tokens <= budget, "{tokens} > {budget}: {packed}");
        let text = packed["text"].as_str().unwrap();
        let lines = list(&packed["lines"]);
        assert_eq!(text.lines().count(), lines.len());
        // The 60 lines are near-duplicates: merged into one line citing them all when it fits,
        // else the best one alone.
        if budget >= 150 {
            assert!(!lines.is_empty(), "{budget}: {packed}");
        }
        if budget >= 4000 {
            assert!(list(&lines[0]["ids"]).len() >= 2, "{packed}");
        }
        let cited: usize = lines.iter().map(|l| list(&l["ids"]).len()).sum();
        assert_eq!(cited + packed["left_out"].as_u64().unwrap() as usize, 30);
        for line in lines {
            let ids = list(&line["ids"]);
            assert!(!ids.is_empty());
            for id in ids {
                let id = id.as_str().unwrap();
                assert!(known.contains(id), "cites an unknown memory {id}");
                assert!(line["text"].as_str().unwrap().contains(id));
            }
        }
    }
    // The plain output is the packed text; the summary goes to stderr.
    let out = vault.run(&["context", "purple roof", "--budget", "60"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tokens of 60"));
}

#[test]
fn owner_recall_refreshes_recency_and_importance_can_be_pinned() {
    let vault = TestVault::init();
    vault.ok(&[
        "add",
        "--text",
        "We adopted Pimenta, a tabby cat, from the shelter",
        "--at",
        "2020-01-01",
    ]);
    vault.ok(&["memories", "build"]);
    let before = vault.json(&["memories", "list"])[0].clone();
    assert_eq!(before["last_accessed"], "2020-01-01T00:00:00+00:00");
    let id = before["id"].as_str().unwrap().to_owned();
    vault.json(&["recall", "cat adoption"]);
    let after = vault.json(&["memories", "list"])[0].clone();
    assert!(after["last_accessed"].as_str().unwrap() > "2026", "{after}");
    let pinned = vault.json(&["memories", "importance", &id, "9"]);
    assert_eq!(pinned["importance"], 9);
    vault.ok(&["memories", "build"]);
    let now = vault.json(&["memories", "list"])[0].clone();
    assert_eq!(
        (
            now["importance"].as_u64(),
            now["importance_pinned"].as_bool()
        ),
        (Some(9), Some(true))
    );
    let out = vault.run(&["memories", "importance", &id, "11"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn reflections_cite_existing_memories() {
    let vault = TestVault::init();
    let lines = "Pimenta the cat was sick and we went to the vet on Tuesday\n\
                 The vet found struvite crystals; Pimenta needs a special diet\n\
                 Pimenta's recheck was all clear, what a relief\n\
                 I ran the Lisbon half marathon in 1:54:08\n\
                 Elin married Jonas on Styrsö and my speech made people cry\n";
    let out = vault.run_with_input(&["add", "--stdin"], lines);
    assert!(out.status.success(), "{}", describe(&out));
    vault.ok(&["memories", "build"]);
    // The real chat model (SmolLM2-135M): it may well draw no insight in the cited format;
    // whatever it stores must cite memories that exist.
    let made = vault.json(&["memories", "reflect", "--force"]);
    let all = vault.json(&["memories", "list", "--limit", "1000"]);
    let ids: HashSet<&str> = list(&all)
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let reflections = vault.json(&["memories", "list", "--reflections"]);
    assert_eq!(list(&reflections).len(), list(&made).len());
    for r in list(&reflections) {
        assert_eq!(r["origin"], "reflection");
        let evidence = list(&r["evidence"]);
        assert!(!evidence.is_empty(), "{r}");
        for e in evidence {
            assert!(
                ids.contains(e.as_str().unwrap()),
                "{r} cites a missing memory"
            );
        }
    }
    assert_eq!(texts(&reflections).len(), list(&made).len());
}

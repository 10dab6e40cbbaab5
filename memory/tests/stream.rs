//! End-to-end tests of the memory stream on real vaults (with test doubles of the models).

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use hearth_memory::{
    Caller, Generator, MemoryError, MemoryFilter, MemoryStream, ModelError, Origin, Query,
    ScoreParams, Weights, reflect::reflect,
};
use hearth_vault::RecordData;

const CANARY: &str = "quokkacanary";

#[test]
fn build_is_incremental_and_chunks_point_to_their_record() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(&tmp.path().join("v"));
    let long: String = (0..40)
        .map(|i| format!("Sentence number {i} talks about the garden and the roses."))
        .collect::<Vec<_>>()
        .join(" ");
    let ids = insert(
        &mut vault,
        &[
            message(
                "whatsapp",
                "See you at the station at five",
                at(1, 9),
                "Alice",
                &["Me"],
                "c1",
            ),
            message("whatsapp", &long, at(2, 9), "Me", &["Alice"], "c1"),
            message("whatsapp", "   ", at(3, 9), "Me", &["Alice"], "c1"),
        ],
    );
    let mut stream = MemoryStream::open(&vault).unwrap();
    let report = stream.build(&mut vault, models()).unwrap();
    assert_eq!(report.records_seen, 3);
    assert_eq!(report.records_added, 2);
    let chunks = stream.of_record(&ids[1]);
    assert!(chunks.len() >= 3, "{}", chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.record_id.as_ref(), Some(&ids[1]));
        assert_eq!(c.chunk as usize, i);
        assert!(
            c.text.ends_with('.'),
            "cut on a sentence boundary: {:?}",
            c.text
        );
        assert_eq!(c.participants, vec!["Me", "Alice"]);
        assert_eq!(c.conversation.as_deref(), Some("c1"));
        assert_eq!(c.last_accessed, c.occurred_at.with_timezone(&Utc));
        assert!((1..=10).contains(&c.importance));
    }
    let total = stream.len();
    assert_eq!(report.memories_added as usize, total);

    // A second build adds nothing; a new record adds only itself.
    let again = stream.build(&mut vault, models()).unwrap();
    assert_eq!((again.records_added, again.memories_added), (0, 0));
    assert_eq!(again.records_seen, 0, "the cursor skips every older record");
    insert(
        &mut vault,
        &[message(
            "sms",
            "new phone who dis",
            at(4, 9),
            "Bob",
            &[],
            "c2",
        )],
    );
    let third = stream.build(&mut vault, models()).unwrap();
    assert_eq!((third.records_added, third.memories_added), (1, 1));
    assert_eq!(third.records_seen, 1);
    // A forgotten memory is not made again from its (kept) record by later builds.
    let first = stream.of_record(&ids[0])[0].id.clone();
    stream.forget(&mut vault, &first, "owner").unwrap();
    let fourth = stream.build(&mut vault, models()).unwrap();
    assert_eq!((fourth.records_seen, fourth.memories_added), (0, 0));
    assert!(stream.of_record(&ids[0]).is_empty());

    // Everything survives a reopen.
    drop(stream);
    drop(vault);
    let vault = reopen(&tmp.path().join("v"));
    let stream = MemoryStream::open(&vault).unwrap();
    assert_eq!(stream.len(), total);
    let hits = stream
        .search(&EMBEDDER, &Query::new("new phone who dis"))
        .unwrap();
    assert!(hits.iter().any(|h| h.memory.source == "sms"));
    assert!(stream.of_record(&ids[0]).is_empty());
}

#[test]
fn owner_retrievals_refresh_recency_and_app_retrievals_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut vault = new_vault(&dir);
    insert(
        &mut vault,
        &[
            message(
                "whatsapp",
                "the blue bicycle needs a new tyre",
                at(1, 9),
                "Me",
                &[],
                "c",
            ),
            message(
                "whatsapp",
                "dinner with grandma on sunday",
                at(2, 9),
                "Me",
                &[],
                "c",
            ),
        ],
    );
    let mut stream = MemoryStream::open(&vault).unwrap();
    stream.build(&mut vault, models()).unwrap();
    let mut q = Query::new("blue bicycle tyre");
    q.k = 1;
    let before = stream.search(&EMBEDDER, &q).unwrap()[0].memory.clone();
    assert_eq!(before.last_accessed, before.occurred_at.with_timezone(&Utc));

    let app = stream
        .recall(&mut vault, &EMBEDDER, &q, &Caller::App("some-app".into()))
        .unwrap();
    assert_eq!(app[0].memory.id, before.id);
    assert_eq!(
        stream.get(&before.id).unwrap().last_accessed,
        before.last_accessed
    );

    let t0 = Utc::now();
    stream
        .recall(&mut vault, &EMBEDDER, &q, &Caller::Owner)
        .unwrap();
    let refreshed = stream.get(&before.id).unwrap().last_accessed;
    assert!(refreshed >= t0 - Duration::seconds(1));
    // Persisted: a reopened store sees the refreshed time.
    drop(stream);
    drop(vault);
    let vault = reopen(&dir);
    let stream = MemoryStream::open(&vault).unwrap();
    assert_eq!(stream.get(&before.id).unwrap().last_accessed, refreshed);
}

fn scan_for_canary(dir: &std::path::Path, needles: &[(&str, Vec<u8>)]) {
    let files = files(dir);
    assert!(files.iter().any(|(p, _)| p.ends_with("vault.db")));
    for (path, bytes) in &files {
        for (what, needle) in needles {
            assert!(
                !contains(bytes, needle),
                "{what} found in clear in {}",
                path.display()
            );
        }
    }
}

fn vector_needles(vector: &[f32]) -> Vec<(&'static str, Vec<u8>)> {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut out = vec![("the canary's embedding", bytes.clone())];
    // Every 4-float window with at least two non-zero values (a bag of words is sparse).
    for (i, w) in vector.windows(4).enumerate() {
        if w.iter().filter(|x| **x != 0.0).count() >= 2 {
            out.push((
                "a window of the canary's embedding",
                bytes[i * 4..i * 4 + 16].to_vec(),
            ));
        }
    }
    out
}

fn leftover_dumps() -> usize {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("hearth-vectors-")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn canary_text_terms_and_vectors_never_reach_the_disk_and_forgetting_erases_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let mut vault = new_vault(&dir);
    let canary_text = format!("the {CANARY} password is hidden under the doormat");
    let mut records = vec![message(
        "whatsapp",
        &canary_text,
        at(5, 12),
        "Me",
        &["Zed"],
        "c9",
    )];
    for i in 0..30 {
        records.push(message(
            "whatsapp",
            &format!("ordinary chat number {i} about the weather"),
            at(6, i % 24),
            "Zed",
            &["Me"],
            "c9",
        ));
    }
    let ids = insert(&mut vault, &records);
    let mut stream = MemoryStream::open(&vault).unwrap();
    stream.build(&mut vault, models()).unwrap();
    stream
        .remember(
            &mut vault,
            models(),
            &format!("{CANARY} owner note about the doormat"),
            at(7, 8),
        )
        .unwrap();
    let canary_memory = stream.of_record(&ids[0])[0].clone();
    let vector = EMBEDDER.normalized(&canary_memory.text);
    assert_eq!(
        canary_memory.embedding, vector,
        "the needle is the stored vector"
    );
    assert!(stream.index_has_term(CANARY).unwrap());
    assert_eq!(
        leftover_dumps(),
        0,
        "no vector dump left on the RAM file system"
    );

    let mut needles = vec![("the canary term", CANARY.as_bytes().to_vec())];
    needles.extend(vector_needles(&vector));
    scan_for_canary(&dir, &needles);

    // Recalled (and so indexed) after a reopen.
    drop(stream);
    drop(vault);
    let mut vault = reopen(&dir);
    let mut stream = MemoryStream::open(&vault).unwrap();
    let hits = stream.search(&EMBEDDER, &Query::new(CANARY)).unwrap();
    assert!(hits.iter().any(|h| h.memory.id == canary_memory.id));

    // A reflection citing the canary.
    struct Reflector;
    impl Generator for Reflector {
        fn generate(&self, prompt: &str, _: usize) -> Result<String, ModelError> {
            Ok(if prompt.contains("insights") {
                "The owner hides things under the doormat (because of 1)".into()
            } else {
                format!("Where is the {CANARY} password?")
            })
        }
    }
    let reflections = reflect(&mut stream, &mut vault, models(), &Reflector, true).unwrap();
    assert_eq!(reflections.len(), 1);
    let reflection = stream.get(&reflections[0]).unwrap().clone();
    assert_eq!(reflection.origin, Origin::Reflection);
    assert!(!reflection.evidence.is_empty());
    for e in &reflection.evidence {
        assert!(
            stream.get(e).is_some(),
            "reflections cite existing memories"
        );
    }
    let cited = reflection.evidence[0].clone();

    // Forget every memory holding the canary (and what cites them).
    let holders: Vec<_> = stream
        .iter()
        .filter(|m| m.text.contains(CANARY))
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(holders.len(), 2);
    assert!(holders.contains(&cited));
    let mut forgotten = Vec::new();
    for id in &holders {
        forgotten.extend(stream.forget(&mut vault, id, "owner").unwrap());
    }
    assert!(
        forgotten.contains(&reflection.id),
        "the citing reflection goes too"
    );
    assert!(stream.get(&reflection.id).is_none());
    assert!(
        !stream.index_has_term(CANARY).unwrap(),
        "its terms left the index"
    );
    let audit = vault.audit_list(None).unwrap();
    assert!(audit.iter().any(|e| e.event.action == "memory.forget"
        && e.event.subjects.contains(&canary_memory.id.to_string())));

    let never = |stream: &MemoryStream| {
        for text in [CANARY, "password doormat", &canary_text] {
            let mut q = Query::new(text);
            q.k = 100;
            let hits = stream.search(&EMBEDDER, &q).unwrap();
            assert!(
                hits.iter().all(|h| !h.memory.text.contains(CANARY)),
                "{text}"
            );
            assert!(hits.iter().all(|h| !forgotten.contains(&h.memory.id)));
        }
    };
    never(&stream);
    scan_for_canary(&dir, &needles);
    drop(stream);
    drop(vault);
    let vault = reopen(&dir);
    let stream = MemoryStream::open(&vault).unwrap();
    never(&stream);
    assert!(!stream.index_has_term(CANARY).unwrap());
    assert_eq!(stream.len(), 30);
    assert!(stream.get(&canary_memory.id).is_none());
}

#[test]
fn deleting_a_record_forgets_its_memories() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(&tmp.path().join("v"));
    let ids = insert(
        &mut vault,
        &[
            message(
                "telegram",
                "the wombatword recipe uses saffron",
                at(1, 9),
                "Kim",
                &[],
                "k",
            ),
            message(
                "telegram",
                "the train was late again",
                at(1, 10),
                "Kim",
                &[],
                "k",
            ),
        ],
    );
    let mut stream = MemoryStream::open(&vault).unwrap();
    stream.build(&mut vault, models()).unwrap();
    assert!(stream.index_has_term("wombatword").unwrap());
    vault.delete(&ids[..1], "test").unwrap();
    let report = stream.build(&mut vault, models()).unwrap();
    assert_eq!(report.memories_forgotten, 1);
    assert!(stream.of_record(&ids[0]).is_empty());
    assert!(!stream.index_has_term("wombatword").unwrap());
    let hits = stream
        .search(&EMBEDDER, &Query::new("wombatword saffron recipe"))
        .unwrap();
    assert!(
        hits.iter()
            .all(|h| h.memory.record_id.as_ref() != Some(&ids[0]))
    );
    // Forgetting an unknown id is an error naming it.
    let err = stream
        .forget(&mut vault, &hearth_vault::Id::generate(), "owner")
        .unwrap_err();
    assert!(matches!(err, MemoryError::NotFound(_)));
}

#[test]
fn a_filter_is_applied_inside_the_search_not_after_the_top_k() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(&tmp.path().join("v"));
    // Many strong matches outside the filter, one weak match inside it.
    let mut records: Vec<RecordData> = (0..200)
        .map(|i| {
            message(
                "whatsapp",
                &format!("pizza pizza pizza party {i}"),
                at(10, i % 24),
                "Bob",
                &[],
                "loud",
            )
        })
        .collect();
    records.push(message(
        "email",
        "maybe pizza sometime, and a long unrelated story about taxes",
        at(1, 1),
        "Ann",
        &[],
        "quiet",
    ));
    insert(&mut vault, &records);
    let mut stream = MemoryStream::open(&vault).unwrap();
    stream.build(&mut vault, models()).unwrap();
    let mut q = Query::new("pizza");
    q.k = 1;
    q.candidates = 5;
    for filter in [
        MemoryFilter {
            sources: vec!["email".into()],
            ..Default::default()
        },
        MemoryFilter {
            conversations: vec!["quiet".into()],
            ..Default::default()
        },
        MemoryFilter {
            participants: vec!["ANN".into()],
            ..Default::default()
        },
        MemoryFilter {
            exclude_participants: vec!["bob".into()],
            ..Default::default()
        },
        MemoryFilter {
            until: Some(Utc.with_ymd_and_hms(2024, 5, 2, 0, 0, 0).unwrap()),
            ..Default::default()
        },
    ] {
        q.filter = filter.clone();
        let hits = stream.search(&EMBEDDER, &q).unwrap();
        assert_eq!(hits.len(), 1, "{filter:?}");
        assert_eq!(hits[0].memory.source, "email", "{filter:?}");
    }
}

#[test]
fn filters_never_leak_a_memory_outside_them() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(&tmp.path().join("v"));
    let sources = ["whatsapp", "telegram", "email"];
    let people = ["Ann", "Bob", "Cat", "Dan"];
    let convs = ["c1", "c2", "c3"];
    let topics = [
        "pizza dinner",
        "train ticket",
        "pizza train",
        "garden roses",
        "tax forms",
    ];
    let mut records = Vec::new();
    for i in 0..300usize {
        let author = people[i % 4];
        let other = people[(i / 4) % 4];
        records.push(message(
            sources[i % 3],
            &format!("{} note {i}", topics[(i * 7) % 5]),
            at(1 + (i % 28) as u32, (i % 24) as u32),
            author,
            &[other],
            convs[(i / 3) % 3],
        ));
    }
    insert(&mut vault, &records);
    let mut stream = MemoryStream::open(&vault).unwrap();
    stream.build(&mut vault, models()).unwrap();

    let subset = |all: &'static [&'static str]| {
        proptest::sample::subsequence(all.to_vec(), 0..=2)
            .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>())
    };
    let day = proptest::option::of(1u32..29);
    let strategy = (
        subset(&["whatsapp", "telegram", "email", "nowhere"]),
        subset(&["ann", "Bob", "cat", "Dan"]),
        subset(&["ann", "Bob", "cat", "Dan"]),
        subset(&["c1", "c2", "c3"]),
        subset(&["c1", "c2", "c3"]),
        day.clone(),
        day,
        proptest::sample::select(vec!["pizza", "train ticket", "roses", "note 7", "tax"]),
        1usize..40,
    );
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(
            &strategy,
            |(
                sources,
                participants,
                excluded,
                conversations,
                exclude_conversations,
                since,
                until,
                text,
                k,
            )| {
                let day = |d: u32| Utc.with_ymd_and_hms(2024, 5, d, 0, 0, 0).unwrap();
                let filter = MemoryFilter {
                    sources,
                    since: since.map(day),
                    until: until.map(day),
                    participants,
                    exclude_participants: excluded,
                    conversations,
                    exclude_conversations,
                };
                let mut q = Query::new(text);
                q.k = k;
                q.filter = filter.clone();
                let hits = stream.search(&EMBEDDER, &q).unwrap();
                for h in &hits {
                    prop_assert!(
                        filter.matches(&h.memory),
                        "{:?} leaked {:?}",
                        filter,
                        h.memory
                    );
                }
                // Inside the search: when anything matches the filter and the words, k results
                // (or all the matching ones) come back.
                let matching = stream
                    .iter()
                    .filter(|m| filter.matches(m) && text.split(' ').all(|w| m.text.contains(w)))
                    .count();
                prop_assert!(
                    hits.len() >= matching.min(k),
                    "{} < min({matching}, {k})",
                    hits.len()
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn owner_can_pin_importance() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(&tmp.path().join("v"));
    let mut stream = MemoryStream::open(&vault).unwrap();
    let id = stream
        .remember(&mut vault, models(), "bought milk", at(1, 1))
        .unwrap();
    assert_eq!(stream.get(&id).unwrap().source, "owner");
    assert!(stream.set_importance(&mut vault, &id, 11).is_err());
    stream.set_importance(&mut vault, &id, 9).unwrap();
    let m = stream.get(&id).unwrap();
    assert_eq!((m.importance, m.importance_pinned), (9, true));
}

#[test]
fn function_words_of_a_question_do_not_make_bm25_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(&tmp.path().join("v"));
    let mut records = vec![message(
        "sms",
        "Lisbon marathon done, chip 3:41",
        at(1, 9),
        "Me",
        &["Ana"],
        "c1",
    )];
    for i in 0..5 {
        records.push(message(
            "sms",
            &format!("What was it in the morning? I was there with you and it was {i}"),
            at(2 + i, 9),
            "Ana",
            &["Me"],
            "c1",
        ));
    }
    insert(&mut vault, &records);
    let mut stream = MemoryStream::open(&vault).unwrap();
    stream.build(&mut vault, models()).unwrap();
    let mut query = Query::new("What was my time in the Lisbon marathon?");
    query.k = 6;
    query.params = ScoreParams {
        weights: Weights {
            recency: 0.0,
            importance: 0.0,
            relevance: 1.0,
        },
        bm25_share: 1.0,
        relevance_pool: 0,
        ..ScoreParams::default()
    };
    let hits = stream.search(&EMBEDDER, &query).unwrap();
    assert!(hits[0].memory.text.starts_with("Lisbon"));
    // BM25 alone: the others share only function words with the question, so no relevance.
    assert!(hits.len() > 1);
    for h in &hits[1..] {
        assert_eq!(h.relevance, 0.0, "{:?}", h.memory.text);
    }
}

#[test]
fn a_reopened_store_holds_the_same_memories_and_answers_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = new_vault(&tmp.path().join("v"));
    // Several pages (1,024 slots each), sources out of time order, so that the pages are read
    // and decoded in parts and the facets must sort.
    let sources = ["whatsapp", "email", "telegram"];
    let records: Vec<RecordData> = (0..2600u32)
        .map(|i| {
            message(
                sources[(i % 3) as usize],
                &format!("note {i} about {} and {}", i % 17, i % 5),
                at(1 + (i * 7) % 28, i % 24),
                ["Ann", "Bob", "Cy"][(i % 3) as usize],
                &["Dee"],
                &format!("c{}", i % 9),
            )
        })
        .collect();
    insert(&mut vault, &records);
    let mut stream = MemoryStream::open(&vault).unwrap();
    stream.build(&mut vault, models()).unwrap();
    let queries: Vec<Query> = [
        MemoryFilter::default(),
        MemoryFilter {
            sources: vec!["email".into(), "telegram".into()],
            since: Some(Utc.with_ymd_and_hms(2024, 5, 10, 0, 0, 0).unwrap()),
            ..Default::default()
        },
        MemoryFilter {
            participants: vec!["cy".into()],
            exclude_conversations: vec!["c2".into()],
            ..Default::default()
        },
    ]
    .into_iter()
    .map(|filter| {
        let mut q = Query::new("note about 4");
        q.filter = filter;
        q.now = Some(Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap());
        q
    })
    .collect();
    let answers = |stream: &MemoryStream| -> Vec<Vec<(String, String)>> {
        queries
            .iter()
            .map(|q| {
                let hits = stream.search(&EMBEDDER, q).unwrap();
                assert!(hits.iter().all(|h| q.filter.matches(&h.memory)));
                hits.iter()
                    .map(|h| (h.memory.id.to_string(), format!("{:.6}", h.score)))
                    .collect()
            })
            .collect()
    };
    let before: Vec<_> = stream.iter().cloned().collect();
    let answered = answers(&stream);
    assert!(answered.iter().all(|a| a.len() == 10), "{answered:?}");
    drop(stream);
    let reopened = MemoryStream::open(&vault).unwrap();
    assert_eq!(reopened.iter().cloned().collect::<Vec<_>>(), before);
    assert_eq!(answers(&reopened), answered);
}

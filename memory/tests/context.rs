//! Context packing: never over the budget, every line citing its memories, time order.

mod common;

use chrono::Utc;
use common::*;
use hearth_memory::{Memory, Origin, Recalled, pack};
use proptest::prelude::*;

fn hit(i: usize, text: String, day: u32, score: f64) -> Recalled {
    Recalled {
        memory: Memory {
            id: hearth_vault::Id::generate(),
            origin: Origin::Record,
            embedding: EMBEDDER.normalized(&text),
            text,
            occurred_at: at(day, (i % 24) as u32),
            created_at: Utc::now(),
            last_accessed: Utc::now(),
            time_known: true,
            importance: 5,
            importance_pinned: false,
            source: "whatsapp".into(),
            author: Some("Ann".into()),
            participants: vec!["Ann".into()],
            handles: vec![],
            conversation: None,
            conversation_name: None,
            record_id: None,
            chunk: 0,
            evidence: vec![],
        },
        score,
        recency: 0.5,
        importance: 0.5,
        relevance: 0.5,
    }
}

#[test]
fn near_duplicates_merge_and_lines_cite_ids_in_time_order() {
    let hits = vec![
        hit(0, "we booked the flat in Lisbon".into(), 9, 3.0),
        hit(1, "We booked  the flat in lisbon".into(), 2, 2.5),
        hit(2, "the cat knocked over a plant".into(), 4, 2.0),
    ];
    let packed = pack(&hits, &WordCounter, 1000, 0.95);
    assert_eq!(packed.lines.len(), 2);
    assert_eq!(packed.left_out, 0);
    // Time order: the cat (day 4) before Lisbon (day 9, the best of its duplicates).
    assert!(packed.lines[0].text.contains("cat"));
    assert!(packed.lines[1].text.contains("Lisbon"));
    assert_eq!(
        packed.lines[1].ids,
        vec![hits[0].memory.id.clone(), hits[1].memory.id.clone()]
    );
    assert!(packed.lines[1].text.contains(hits[1].memory.id.as_str()));
    // A tight budget keeps the best line only.
    let one = pack(&hits, &WordCounter, 14, 0.95);
    assert_eq!(one.lines.len(), 1);
    assert!(one.lines[0].text.contains("Lisbon"));
    assert!(pack(&hits, &WordCounter, 0, 0.95).text.is_empty());
}

proptest! {
    #[test]
    fn packing_never_exceeds_the_budget(
        texts in proptest::collection::vec("[a-z]{1,8}( [a-z]{1,8}){0,30}", 0..30),
        budget in 0usize..400,
    ) {
        let hits: Vec<Recalled> = texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| hit(i, t, 1 + (i % 28) as u32, 100.0 - i as f64))
            .collect();
        let packed = pack(&hits, &WordCounter, budget, 0.95);
        prop_assert!(WordCounter.count_words(&packed.text) <= budget);
        prop_assert_eq!(packed.tokens, WordCounter.count_words(&packed.text));
        for line in &packed.lines {
            prop_assert!(!line.ids.is_empty());
            for id in &line.ids {
                prop_assert!(line.text.contains(id.as_str()));
            }
        }
        let times: Vec<_> = packed
            .lines
            .iter()
            .map(|l| hits.iter().find(|h| h.memory.id == l.ids[0]).unwrap().memory.occurred_at)
            .collect();
        prop_assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }
}

trait CountWords {
    fn count_words(&self, text: &str) -> usize;
}

impl CountWords for WordCounter {
    fn count_words(&self, text: &str) -> usize {
        hearth_memory::TokenCounter::count(self, text)
    }
}

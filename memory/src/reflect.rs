//! Reflection: insights drawn from recent memories, stored as memories citing their evidence.
//!
//! As in Generative Agents: when the summed importance of the memories added since the last
//! reflection reaches a threshold ([`REFLECTION_THRESHOLD`], 150 by default), the model is shown
//! the most recent memories (numbered) and asked for the salient high-level questions; each
//! question retrieves memories (owner retrieval); the model is then asked for insights, each
//! followed by the numbers of the memories it rests on, `(because of 1, 5, 3)`. Each insight
//! becomes a memory of origin `reflection` whose `evidence` lists those memories' ids.
//!
//! # Invariants
//!
//! - A reflection cites only memories that exist when it is stored, and at least one; an insight
//!   citing none (or only numbers not shown) is dropped.
//! - Forgetting any cited memory forgets the reflection (see the stream's invariants).

use hearth_vault::Vault;

use crate::MemoryError;
use crate::model::{Generator, MemoryId};
use crate::stream::{Caller, MemoryStream, Models, Query};

/// Summed importance that triggers a reflection.
pub const REFLECTION_THRESHOLD: u32 = 150;
/// Recent memories shown to the model for questions.
const RECENT: usize = 100;
/// Questions asked.
const QUESTIONS: usize = 3;
/// Memories retrieved per question.
const PER_QUESTION: usize = 10;

/// Parses numbered or bulleted lines into their text.
fn lines(answer: &str) -> Vec<String> {
    answer
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(|c: char| {
                    c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*')
                })
                .trim()
                .to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// Splits `insight (because of 1, 5, 3)` into the insight and its numbers.
pub(crate) fn parse_insight(line: &str) -> Option<(String, Vec<usize>)> {
    let lower = line.to_lowercase();
    let at = lower.rfind("(because of")?;
    let insight = line[..at].trim().to_owned();
    let numbers = line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect::<Vec<usize>>();
    (!insight.is_empty() && !numbers.is_empty()).then_some((insight, numbers))
}

/// Reflects if the threshold is reached (or `force`); returns the reflections stored.
pub fn reflect(
    stream: &mut MemoryStream,
    vault: &mut Vault,
    models: Models<'_>,
    generator: &dyn Generator,
    force: bool,
) -> Result<Vec<MemoryId>, MemoryError> {
    if !force && stream.importance_since_reflection() < REFLECTION_THRESHOLD {
        return Ok(Vec::new());
    }
    let mut recent: Vec<_> = stream.iter().collect();
    recent.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    recent.truncate(RECENT);
    if recent.is_empty() {
        return Ok(Vec::new());
    }
    recent.reverse();
    let mut prompt = String::new();
    for m in &recent {
        prompt.push_str(&format!("- {}\n", m.text.replace('\n', " ")));
    }
    prompt.push_str(&format!(
        "\nGiven only the information above, what are the {QUESTIONS} most salient high-level \
         questions we can answer about the subjects in the statements? One per line.\n"
    ));
    let questions = generator
        .generate(&prompt, 120)
        .map_err(|e| MemoryError::Model(e.to_string()))?;
    let mut evidence: Vec<MemoryId> = Vec::new();
    for question in lines(&questions).into_iter().take(QUESTIONS) {
        let mut query = Query::new(question);
        query.k = PER_QUESTION;
        for hit in stream.recall(vault, models.embedder, &query, &Caller::Owner)? {
            if !evidence.contains(&hit.memory.id) {
                evidence.push(hit.memory.id);
            }
        }
    }
    if evidence.is_empty() {
        return Ok(Vec::new());
    }
    let mut prompt = String::from("Statements:\n");
    for (i, id) in evidence.iter().enumerate() {
        if let Some(m) = stream.get(id) {
            prompt.push_str(&format!("{}. {}\n", i + 1, m.text.replace('\n', " ")));
        }
    }
    prompt.push_str(
        "\nWhat 5 high-level insights can you infer from the above statements? One per line, \
         each followed by the statements it rests on, as (because of 1, 5, 3).\n",
    );
    let answer = generator
        .generate(&prompt, 300)
        .map_err(|e| MemoryError::Model(e.to_string()))?;
    let insights: Vec<(String, Vec<MemoryId>)> = lines(&answer)
        .iter()
        .filter_map(|l| parse_insight(l))
        .filter_map(|(text, numbers)| {
            let mut cited: Vec<MemoryId> = numbers
                .into_iter()
                .filter_map(|n| evidence.get(n.checked_sub(1)?).cloned())
                .collect();
            cited.dedup();
            (!cited.is_empty()).then_some((text, cited))
        })
        .collect();
    stream.add_reflections(vault, models, insights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insights_and_their_evidence_are_parsed() {
        assert_eq!(
            parse_insight("Alice loves Lisbon (because of 1, 5, 3)"),
            Some(("Alice loves Lisbon".into(), vec![1, 5, 3]))
        );
        assert_eq!(parse_insight("no evidence here"), None);
        assert_eq!(parse_insight("(because of 2)"), None);
        assert_eq!(
            lines("1. What?\n\n2) Why?\n- How?"),
            vec!["What?", "Why?", "How?"]
        );
    }
}

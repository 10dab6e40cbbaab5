//! Importance on the 1–10 scale of Generative Agents ("1 is purely mundane, 10 is extremely
//! poignant").
//!
//! Two raters implement [`ImportanceRater`]:
//!
//! - [`FeatureImportance`], fast and deterministic, used when no capable chat model is
//!   configured. Start at 3; a bare acknowledgement or a message of one or two words ("ok", "lol",
//!   "thanks") is 1; each life-event phrase (a death, a diagnosis, a wedding, a break-up, a new
//!   job, an acceptance, a move, a birth, an accident...) adds 3 (at most twice); each emotional
//!   or plan word (birthday, exam, interview, love, worried, congratulations, doctor, tomorrow...)
//!   adds 1 (at most three times); a first-person disclosure ("I feel", "I decided", "I'm
//!   scared") adds 1; more than 25 words adds 1 and more than 80 another; strong emphasis (two or
//!   more `!`, or a shouted word) adds 1. The result is clamped to 1..=10.
//! - [`LlmImportance`], the chat model with the fixed prompt of Generative Agents, batched
//!   ([`LlmImportance::BATCH`] memories per call), each answer parsed as `index: rating`; any
//!   memory the model did not rate (or rated out of range) falls back to the feature scorer.
//!
//! The owner can pin or edit a memory's importance; a pinned value is never re-rated.
//!
//! # Invariants
//!
//! - Every rating is within 1..=10, whatever the model answers.
//! - A rater returns exactly one rating per text, in order.

use crate::MemoryError;
use crate::model::Generator;

/// Rates memories' importance.
pub trait ImportanceRater {
    /// One rating (1..=10) per text, in order.
    fn rate(&self, texts: &[&str]) -> Result<Vec<u8>, MemoryError>;
}

/// The fast feature-based scorer (see the module documentation for the method).
#[derive(Clone, Copy, Debug, Default)]
pub struct FeatureImportance;

const TRIVIAL: &[&str] = &[
    "ok",
    "okay",
    "k",
    "kk",
    "lol",
    "haha",
    "hahaha",
    "thanks",
    "thank you",
    "thx",
    "ty",
    "yes",
    "yeah",
    "yep",
    "no",
    "nope",
    "sure",
    "cool",
    "nice",
    "good night",
    "gn",
    "good morning",
    "hi",
    "hello",
    "hey",
    "bye",
    "see you",
    "np",
    "👍",
    "😂",
    "❤️",
];

const LIFE_EVENTS: &[&str] = &[
    "died",
    "passed away",
    "funeral",
    "cancer",
    "diagnosed",
    "hospital",
    "surgery",
    "pregnant",
    "was born",
    "gave birth",
    "wedding",
    "married",
    "engaged",
    "proposed",
    "divorce",
    "broke up",
    "break up",
    "breakup",
    "accepted",
    "admission",
    "graduated",
    "graduation",
    "new job",
    "hired",
    "fired",
    "laid off",
    "promotion",
    "promoted",
    "resigned",
    "quit my job",
    "moving to",
    "moved to",
    "bought a house",
    "accident",
    "arrested",
    "lost my",
];

const SALIENT: &[&str] = &[
    "birthday",
    "anniversary",
    "exam",
    "interview",
    "love",
    "sorry",
    "miss you",
    "worried",
    "scared",
    "afraid",
    "excited",
    "congratulations",
    "congrats",
    "trip",
    "flight",
    "doctor",
    "sick",
    "deadline",
    "contract",
    "rent",
    "loan",
    "visa",
    "tomorrow",
    "next week",
    "important",
    "promise",
    "secret",
    "decided",
    "plan",
];

const DISCLOSURE: &[&str] = &[
    "i feel",
    "i'm feeling",
    "i am feeling",
    "i decided",
    "i've decided",
    "i'm scared",
    "i am scared",
    "i'm worried",
    "i realized",
    "i think i",
    "i want to",
    "i need to",
];

impl FeatureImportance {
    /// Rates one text.
    pub fn score(text: &str) -> u8 {
        let lower = text.trim().to_lowercase();
        let bare: String = lower
            .chars()
            .filter(|c| !matches!(c, '.' | '!' | '?' | ',' | '~'))
            .collect();
        let bare = bare.trim();
        let words = lower.split_whitespace().count();
        if bare.is_empty() || TRIVIAL.contains(&bare) || words <= 2 {
            return 1;
        }
        let count = |list: &[&str]| list.iter().filter(|p| contains_phrase(&lower, p)).count();
        let mut score = 3i32;
        score += 3 * count(LIFE_EVENTS).min(2) as i32;
        score += count(SALIENT).min(3) as i32;
        score += i32::from(count(DISCLOSURE) > 0);
        score += i32::from(words > 25) + i32::from(words > 80);
        let shouted = text.split_whitespace().any(|w| {
            w.chars().filter(|c| c.is_alphabetic()).count() >= 4
                && w.chars().all(|c| !c.is_lowercase())
        });
        score += i32::from(text.matches('!').count() >= 2 || shouted);
        score.clamp(1, 10) as u8
    }
}

/// Whether `phrase` occurs in `text` starting and ending at word boundaries.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

impl ImportanceRater for FeatureImportance {
    fn rate(&self, texts: &[&str]) -> Result<Vec<u8>, MemoryError> {
        Ok(texts.iter().map(|t| Self::score(t)).collect())
    }
}

/// Rating by the chat model with the fixed prompt of Generative Agents.
pub struct LlmImportance<'a> {
    generator: &'a dyn Generator,
}

impl<'a> LlmImportance<'a> {
    /// Memories rated per model call.
    pub const BATCH: usize = 8;
    /// Longest memory text put into the prompt, in characters.
    const TEXT_MAX: usize = 400;

    /// A rater calling `generator`.
    pub fn new(generator: &'a dyn Generator) -> Self {
        Self { generator }
    }

    /// The prompt for one batch.
    pub fn prompt(texts: &[&str]) -> String {
        let mut prompt = String::from(
            "On the scale of 1 to 10, where 1 is purely mundane (e.g., brushing teeth, making bed) \
             and 10 is extremely poignant (e.g., a break up, college acceptance), rate the likely \
             poignancy of each of the following memories of the owner.\n\
             Answer with one line per memory, as `number: rating`, and nothing else.\n\n",
        );
        for (i, text) in texts.iter().enumerate() {
            let text: String = text.chars().take(Self::TEXT_MAX).collect();
            prompt.push_str(&format!("{}: {}\n", i + 1, text.replace('\n', " ")));
        }
        prompt.push_str("\nRatings:\n");
        prompt
    }

    /// Parses `number: rating` lines; ratings out of 1..=10 are ignored.
    pub fn parse(answer: &str, n: usize) -> Vec<Option<u8>> {
        let mut out = vec![None; n];
        for line in answer.lines() {
            let digits: Vec<u32> = line
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            if let [index, rating, ..] = digits[..]
                && (1..=n as u32).contains(&index)
                && (1..=10).contains(&rating)
            {
                out[index as usize - 1].get_or_insert(rating as u8);
            }
        }
        out
    }
}

impl ImportanceRater for LlmImportance<'_> {
    fn rate(&self, texts: &[&str]) -> Result<Vec<u8>, MemoryError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(Self::BATCH) {
            let answer = self
                .generator
                .generate(&Self::prompt(batch), 8 * batch.len() + 8)
                .map_err(|e| MemoryError::Model(e.to_string()))?;
            let parsed = Self::parse(&answer, batch.len());
            out.extend(
                parsed
                    .into_iter()
                    .zip(batch)
                    .map(|(r, t)| r.unwrap_or_else(|| FeatureImportance::score(t))),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    #[test]
    fn features_order_mundane_below_poignant() {
        assert_eq!(FeatureImportance::score("ok"), 1);
        assert_eq!(FeatureImportance::score("lol!"), 1);
        let lunch = FeatureImportance::score("we had pasta for lunch today");
        let exam = FeatureImportance::score("my exam is tomorrow and I'm worried about it");
        let death = FeatureImportance::score(
            "my grandmother passed away last night, the funeral is on Friday",
        );
        assert!(lunch < exam, "{lunch} < {exam}");
        assert!(exam < death, "{exam} < {death}");
        for t in ["", "a b c d e f", &"word ".repeat(500)] {
            assert!((1..=10).contains(&FeatureImportance::score(t)));
        }
        // Word boundaries: "loved" is not "love", "unhired" is not "hired".
        assert!(!contains_phrase("unhired", "hired"));
        assert!(contains_phrase("got hired!", "hired"));
    }

    struct Canned(&'static str);
    impl Generator for Canned {
        fn generate(&self, _: &str, _: usize) -> Result<String, ModelError> {
            Ok(self.0.to_owned())
        }
    }

    #[test]
    fn llm_ratings_are_parsed_and_fall_back() {
        let g = Canned("1: 7\n2: 42\nthree: 5\n");
        let rated = LlmImportance::new(&g)
            .rate(&[
                "got the job offer today",
                "ok",
                "lunch was fine, nothing more",
            ])
            .unwrap();
        assert_eq!(rated[0], 7);
        assert_eq!(rated[1], 1, "out of range: feature fallback");
        assert_eq!(
            rated[2],
            FeatureImportance::score("lunch was fine, nothing more")
        );
        assert!(LlmImportance::prompt(&["x"]).contains("1: x\n"));
    }
}

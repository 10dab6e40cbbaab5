//! Test doubles of the models and vault helpers shared by the memory tests.
//!
//! The embedder is a hashed bag of words (a deterministic stand-in for MiniLM: texts sharing
//! words are close), and the token counter counts white-space separated words. Both are test
//! doubles only; the real models are wired by `web/`.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;

use chrono::{DateTime, FixedOffset, TimeZone};
use hearth_memory::{Embedder, FeatureImportance, ModelError, Models, TokenCounter};
use hearth_vault::{Conversation, InitOptions, Person, RecordData, RecordId, SecretString, Vault};

/// Hashed bag of words.
pub struct HashEmbedder {
    pub dim: usize,
}

pub const DIM: usize = 64;

pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn fnv(word: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl HashEmbedder {
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dim];
        for w in words(text) {
            let h = fnv(&w);
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % self.dim as u64) as usize] += sign;
        }
        v
    }

    /// The vector as the store keeps it (L2-normalised).
    pub fn normalized(&self, text: &str) -> Vec<f32> {
        let mut v = self.vector(text);
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|x| *x /= n);
        }
        v
    }
}

impl Embedder for HashEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

/// Counts words.
pub struct WordCounter;

impl TokenCounter for WordCounter {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

pub static EMBEDDER: HashEmbedder = HashEmbedder { dim: DIM };
pub static RATER: FeatureImportance = FeatureImportance;

pub fn models() -> Models<'static> {
    Models {
        embedder: &EMBEDDER,
        importance: &RATER,
    }
}

pub fn new_vault(dir: &Path) -> Vault {
    Vault::init(
        dir,
        &SecretString::from("correct horse battery staple".to_owned()),
        &InitOptions {
            scrypt_log_n: 10,
            identity_recipient: None,
        },
    )
    .unwrap()
}

pub fn reopen(dir: &Path) -> Vault {
    Vault::open(
        dir,
        &hearth_vault::Unlock::Passphrase(SecretString::from(
            "correct horse battery staple".to_owned(),
        )),
        true,
    )
    .unwrap()
}

pub fn at(day: u32, hour: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(3600)
        .unwrap()
        .with_ymd_and_hms(2024, 5, day, hour, 0, 0)
        .unwrap()
}

pub fn message(
    source: &str,
    text: &str,
    when: DateTime<FixedOffset>,
    author: &str,
    others: &[&str],
    conversation: &str,
) -> RecordData {
    let mut r = RecordData::note(source, text, when);
    r.kind = hearth_vault::Kind::Message;
    r.author = Some(Person::named(author));
    r.participants = std::iter::once(author)
        .chain(others.iter().copied())
        .map(Person::named)
        .collect();
    r.conversation = Some(Conversation {
        id: conversation.to_owned(),
        name: None,
    });
    r
}

pub fn insert(vault: &mut Vault, records: &[RecordData]) -> Vec<RecordId> {
    vault
        .insert_batch(records, "test")
        .unwrap()
        .into_iter()
        .map(|o| o.id().clone())
        .collect()
}

/// Every file under `dir`, recursively, with its bytes.
pub fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

//! Cutting long texts into chunks on sentence boundaries.
//!
//! A sentence ends at `.`, `!`, `?` or `…` followed by white space, or at a line break. Sentences
//! are packed greedily into chunks of at most [`MAX_CHUNK_CHARS`] characters; a single sentence
//! longer than that is cut at word boundaries (or, for a word longer than a chunk, inside it).
//!
//! # Invariants
//!
//! - Every chunk is non-empty, trimmed, and at most [`MAX_CHUNK_CHARS`] characters.
//! - Concatenating the chunks gives back every non-white-space character of the text, in order.

/// Longest chunk, in characters (about 200 MiniLM word pieces for English).
pub const MAX_CHUNK_CHARS: usize = 800;

/// The chunks of `text` (one for a short text, none for a blank one).
pub fn chunk_text(text: &str) -> Vec<String> {
    chunk_with(text, MAX_CHUNK_CHARS)
}

pub(crate) fn chunk_with(text: &str, max: usize) -> Vec<String> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    if text.chars().count() <= max {
        return vec![text.to_owned()];
    }
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for sentence in sentences(text) {
        for piece in split_long(sentence, max) {
            let len = piece.chars().count();
            let joined = current_len + usize::from(current_len > 0) + len;
            if current_len > 0 && joined > max {
                chunks.push(std::mem::take(&mut current));
                current_len = 0;
            }
            if current_len > 0 {
                current.push(' ');
                current_len += 1;
            }
            current.push_str(&piece);
            current_len += len;
        }
    }
    if current_len > 0 {
        chunks.push(current);
    }
    chunks
}

/// Sentences of a text, trimmed, without empty ones.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\n' | '\r' => Some(i + c.len_utf8()),
            '.' | '!' | '?' | '…' => match chars.peek() {
                Some((_, next)) if next.is_whitespace() => Some(i + c.len_utf8()),
                None => Some(i + c.len_utf8()),
                _ => None,
            },
            _ => None,
        };
        if let Some(end) = end {
            let s = text[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let s = text[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

/// Cuts a sentence longer than `max` characters at word boundaries.
fn split_long(sentence: &str, max: usize) -> Vec<String> {
    if sentence.chars().count() <= max {
        return vec![sentence.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for word in sentence.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > max {
            if current_len > 0 {
                out.push(std::mem::take(&mut current));
                current_len = 0;
            }
            out.push(word.drain(..max).collect());
        }
        let len = word.len();
        if current_len > 0 && current_len + 1 + len > max {
            out.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if current_len > 0 {
            current.push(' ');
            current_len += 1;
        }
        current.extend(word);
        current_len += len;
    }
    if current_len > 0 {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn short_text_is_one_chunk_and_blank_is_none() {
        assert_eq!(chunk_text("  Hello there.  "), vec!["Hello there."]);
        assert!(chunk_text(" \n ").is_empty());
    }

    #[test]
    fn long_text_is_cut_between_sentences() {
        let chunks = chunk_with("One two. Three four! Five six? Seven eight.", 19);
        assert_eq!(
            chunks,
            vec!["One two.", "Three four!", "Five six?", "Seven eight."]
        );
        let chunks = chunk_with("Aa. Bb. Cc. Dd.", 8);
        assert_eq!(chunks, vec!["Aa. Bb.", "Cc. Dd."]);
        // A decimal point is not a sentence end.
        let chunks = chunk_with("Pi is 3.14 roughly. Yes it is.", 20);
        assert_eq!(chunks, vec!["Pi is 3.14 roughly.", "Yes it is."]);
    }

    proptest! {
        #[test]
        fn chunks_are_bounded_and_lose_nothing(text in "[a-zé .!?\n]{0,300}", max in 5usize..60) {
            let chunks = chunk_with(&text, max);
            for c in &chunks {
                prop_assert!(!c.is_empty());
                prop_assert!(c.chars().count() <= max);
                prop_assert_eq!(c.trim(), c.as_str());
            }
            let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(squash(&chunks.concat()), squash(&text));
        }
    }
}

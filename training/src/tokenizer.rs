//! Tokenizers built on the `tokenizers` crate: from GGUF metadata (`tokenizer.ggml.*`) or from a
//! Hugging Face `tokenizer.json`.
//!
//! # From GGUF
//!
//! - `tokenizer.ggml.model = "gpt2"`: byte-level BPE from `tokens` and `merges`, with the
//!   pre-tokenizer regexes llama.cpp uses for `tokenizer.ggml.pre` (`smollm` splits every digit,
//!   then applies the GPT-2 regex; `llama-bpe` uses the Llama 3 regex; ...), applied in order and
//!   each match isolated, then the GPT-2 byte-to-unicode mapping.
//! - `tokenizer.ggml.model = "llama"`: a SentencePiece vocabulary (`tokens` + `scores`) run as
//!   BPE whose merges rank by the score of the merged piece (what SentencePiece's BPE does),
//!   with `▁` for spaces, a leading `▁` on the first piece when `add_space_prefix` (default on),
//!   and `<0xNN>` byte fallback.
//!
//! Control and user-defined tokens (`token_type` 3 and 4) are special: they are matched whole
//! in the input text (so `<|im_start|>` in a rendered chat template is one token), and can be
//! left out when decoding. BOS/EOS are added by [`Tokenizer::encode`] only when asked, and then
//! as `add_bos_token` / `add_eos_token` say (defaults as llama.cpp: BOS for SentencePiece
//! vocabularies, none for BPE).

use std::path::Path;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, DecoderWrapper, PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::error::{Error, Result};
use crate::gguf::TokenizerMetadata;

/// The GPT-2 pre-tokenizer regex (also the second half of `smollm`/`starcoder`).
const GPT2_REGEX: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Llama 3's regex (`llama-bpe`, `llama3`, `dbrx`, `smaug-bpe`).
const LLAMA3_REGEX: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen 2's regex (`qwen2`, `stablelm2`): Llama 3's with single digits.
const QWEN2_REGEX: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF `token_type` values.
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;
const TOKEN_TYPE_BYTE: i32 = 6;

/// The pre-tokenizer regexes llama.cpp applies for a `tokenizer.ggml.pre` value, in order.
fn pre_tokenizer_regexes(pre: Option<&str>) -> Result<Vec<&'static str>> {
    Ok(match pre.unwrap_or("default") {
        "default" | "gpt2" | "gpt-2" | "mpt" | "olmo" | "jais" | "trillion" => vec![GPT2_REGEX],
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
            vec![r"\p{N}", GPT2_REGEX]
        }
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "dbrx" | "smaug-bpe" => {
            vec![LLAMA3_REGEX]
        }
        "qwen2" | "stablelm2" | "deepseek-r1-qwen" | "megrez" => vec![QWEN2_REGEX],
        other => {
            return Err(Error::Unsupported(format!(
                "GGUF pre-tokenizer {other:?} (supported: default, gpt2, smollm, starcoder, \
                 llama-bpe, qwen2 and their aliases)"
            )));
        }
    })
}

/// How BOS/EOS are added when [`Tokenizer::encode`] is asked for special tokens.
#[derive(Clone, Debug)]
enum SpecialPolicy {
    /// From GGUF metadata: prepend BOS / append EOS ourselves.
    Manual { add_bos: bool, add_eos: bool },
    /// From a `tokenizer.json`: its post-processor decides.
    PostProcessor,
}

/// A text tokenizer with its special tokens.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    bos: Option<u32>,
    eos: Option<u32>,
    /// Extra ids that end a generation (e.g. `<|endoftext|>` next to `<|im_end|>`).
    stop_ids: Vec<u32>,
    policy: SpecialPolicy,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("policy", &self.policy)
            .finish()
    }
}

fn tok_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

impl Tokenizer {
    /// Builds the tokenizer a GGUF file describes.
    pub fn from_gguf(meta: &TokenizerMetadata<'_>) -> Result<Self> {
        let n = meta.tokens.len();
        if n == 0 {
            return Err(Error::Tokenizer("the GGUF vocabulary is empty".into()));
        }
        let n_u32 = u32::try_from(n).map_err(|_| tok_err("vocabulary too large"))?;
        for (what, id) in [
            ("bos", meta.bos_token_id),
            ("eos", meta.eos_token_id),
            ("unknown", meta.unknown_token_id),
            ("padding", meta.padding_token_id),
        ] {
            if let Some(id) = id
                && id >= n_u32
            {
                return Err(Error::Tokenizer(format!(
                    "{what} token id {id} is outside the vocabulary of {n} tokens"
                )));
            }
        }
        let types = match &meta.token_types {
            Some(t) if t.len() != n => {
                return Err(Error::Tokenizer(format!(
                    "token_type has {} entries for {n} tokens",
                    t.len()
                )));
            }
            Some(t) => t.clone(),
            None => vec![1; n],
        };

        let mut inner = match meta.model {
            "gpt2" => Self::byte_level_bpe(meta)?,
            "llama" => Self::sentencepiece_bpe(meta, &types)?,
            other => {
                return Err(Error::Unsupported(format!(
                    "GGUF tokenizer model {other:?} (supported: gpt2, llama)"
                )));
            }
        };

        let specials: Vec<AddedToken> = meta
            .tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|&(id, (_, &ty))| {
                ty == TOKEN_TYPE_CONTROL
                    || ty == TOKEN_TYPE_USER_DEFINED
                    || Some(id as u32) == meta.bos_token_id
                    || Some(id as u32) == meta.eos_token_id
            })
            .filter(|(_, (tok, _))| !tok.is_empty())
            .map(|(_, (tok, _))| AddedToken::from(tok.to_string(), true))
            .collect();
        inner.add_special_tokens(&specials);

        let sentencepiece = meta.model == "llama";
        let mut stop_ids: Vec<u32> = meta.eos_token_id.into_iter().collect();
        // Chat models often end a turn with a different control token than `eos`: treat the
        // usual end-of-turn markers as stops too when they exist.
        for marker in [
            "<|im_end|>",
            "<|eot_id|>",
            "<|endoftext|>",
            "<end_of_turn>",
            "</s>",
        ] {
            if let Some(id) = inner.token_to_id(marker)
                && !stop_ids.contains(&id)
            {
                stop_ids.push(id);
            }
        }
        Ok(Self {
            inner,
            bos: meta.bos_token_id,
            eos: meta.eos_token_id,
            stop_ids,
            policy: SpecialPolicy::Manual {
                add_bos: meta.add_bos_token.unwrap_or(sentencepiece) && meta.bos_token_id.is_some(),
                add_eos: meta.add_eos_token.unwrap_or(false) && meta.eos_token_id.is_some(),
            },
        })
    }

    fn byte_level_bpe(meta: &TokenizerMetadata<'_>) -> Result<tokenizers::Tokenizer> {
        let vocab: tokenizers::models::bpe::Vocab = meta
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let merges: Vec<(String, String)> = meta
            .merges
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| Error::Tokenizer(format!("merge {m:?} has no space")))
            })
            .collect::<Result<_>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(tok_err)?;
        let mut pre: Vec<PreTokenizerWrapper> = Vec::new();
        for regex in pre_tokenizer_regexes(meta.pre)? {
            let split = Split::new(
                SplitPattern::Regex(regex.to_owned()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(tok_err)?;
            pre.push(split.into());
        }
        pre.push(ByteLevel::new(false, false, false).into());
        let mut tokenizer = tokenizers::Tokenizer::new(bpe);
        tokenizer.with_pre_tokenizer(Some(PreSequence::new(pre)));
        tokenizer.with_decoder(Some(ByteLevel::new(false, false, false)));
        Ok(tokenizer)
    }

    fn sentencepiece_bpe(
        meta: &TokenizerMetadata<'_>,
        types: &[i32],
    ) -> Result<tokenizers::Tokenizer> {
        let scores = match &meta.scores {
            Some(s) if s.len() == meta.tokens.len() => s.clone(),
            Some(s) => {
                return Err(Error::Tokenizer(format!(
                    "scores has {} entries for {} tokens",
                    s.len(),
                    meta.tokens.len()
                )));
            }
            None => vec![0.0; meta.tokens.len()],
        };
        let vocab: tokenizers::models::bpe::Vocab = meta
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let merges = match &meta.merges {
            Some(m) if !m.is_empty() => m
                .iter()
                .filter_map(|m| m.split_once(' '))
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            _ => merges_from_scores(&meta.tokens, &scores, types, &vocab),
        };
        let mut builder = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .byte_fallback(true)
            .fuse_unk(true);
        if let Some(unk) = meta
            .unknown_token_id
            .and_then(|i| meta.tokens.get(i as usize))
        {
            builder = builder.unk_token((*unk).to_owned());
        }
        let bpe = builder.build().map_err(tok_err)?;
        let add_space_prefix = meta.add_space_prefix.unwrap_or(true);
        let scheme = if add_space_prefix {
            PrependScheme::First
        } else {
            PrependScheme::Never
        };
        let mut tokenizer = tokenizers::Tokenizer::new(bpe);
        tokenizer.with_pre_tokenizer(Some(Metaspace::new('▁', scheme, false)));
        let mut decoders: Vec<DecoderWrapper> = vec![
            Replace::new("▁", " ").map_err(tok_err)?.into(),
            ByteFallback::new().into(),
            Fuse::new().into(),
        ];
        if add_space_prefix {
            decoders.push(Strip::new(' ', 1, 0).into());
        }
        tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));
        Ok(tokenizer)
    }

    /// Loads a Hugging Face `tokenizer.json`. BOS/EOS come from `tokenizer_config.json` next to
    /// it when present (`bos_token`, `eos_token`), else from the usual token strings.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        // The file may carry the padding/truncation it was exported with (all-MiniLM-L6-v2's
        // pads and truncates to 128); callers decide both here.
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        let config = path
            .parent()
            .map(|dir| dir.join("tokenizer_config.json"))
            .filter(|p| p.is_file())
            .map(|p| read_json(&p))
            .transpose()?;
        let token_field = |name: &str| -> Option<String> {
            let value = config.as_ref()?.get(name)?;
            value
                .as_str()
                .or_else(|| value.get("content").and_then(|c| c.as_str()))
                .map(str::to_owned)
        };
        let bos = token_field("bos_token").and_then(|t| inner.token_to_id(&t));
        let eos = token_field("eos_token").and_then(|t| inner.token_to_id(&t));
        let mut stop_ids: Vec<u32> = eos.into_iter().collect();
        for marker in ["<|im_end|>", "<|eot_id|>", "<|endoftext|>", "</s>"] {
            if let Some(id) = inner.token_to_id(marker)
                && !stop_ids.contains(&id)
            {
                stop_ids.push(id);
            }
        }
        Ok(Self {
            inner,
            bos,
            eos,
            stop_ids,
            policy: SpecialPolicy::PostProcessor,
        })
    }

    /// Token ids for `text`. Special tokens written in the text (`<|im_start|>`) are always
    /// recognized; `add_special` adds BOS/EOS as the model's metadata says.
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>> {
        match self.policy {
            SpecialPolicy::Manual { add_bos, add_eos } => {
                let enc = self.inner.encode_fast(text, false).map_err(tok_err)?;
                let mut ids = Vec::with_capacity(enc.get_ids().len() + 2);
                if add_special
                    && add_bos
                    && let Some(bos) = self.bos
                {
                    ids.push(bos);
                }
                ids.extend_from_slice(enc.get_ids());
                if add_special
                    && add_eos
                    && let Some(eos) = self.eos
                {
                    ids.push(eos);
                }
                Ok(ids)
            }
            SpecialPolicy::PostProcessor => Ok(self
                .inner
                .encode_fast(text, add_special)
                .map_err(tok_err)?
                .get_ids()
                .to_vec()),
        }
    }

    /// Token ids and the attention mask for a batch, truncated to `max_len` tokens each and padded
    /// with `pad_id` to the longest. Used by the sentence encoder.
    pub fn encode_batch_padded(
        &self,
        texts: &[&str],
        max_len: usize,
        pad_id: u32,
    ) -> Result<PaddedBatch> {
        let mut ids: Vec<Vec<u32>> = Vec::with_capacity(texts.len());
        for text in texts {
            let mut one = self.encode(text, true)?;
            if one.len() > max_len {
                // Keep the final special token (e.g. BERT's [SEP]) like HF's truncation does.
                let last = one.last().copied();
                one.truncate(max_len);
                if let (Some(last), SpecialPolicy::PostProcessor) = (last, &self.policy)
                    && self
                        .inner
                        .id_to_token(last)
                        .is_some_and(|t| self.is_special_str(&t))
                    && let Some(end) = one.last_mut()
                {
                    *end = last;
                }
            }
            ids.push(one);
        }
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        let mut masks = Vec::with_capacity(ids.len());
        for one in &mut ids {
            let mut mask = vec![1u32; one.len()];
            mask.resize(longest, 0);
            one.resize(longest, pad_id);
            masks.push(mask);
        }
        Ok(PaddedBatch { ids, mask: masks })
    }

    fn is_special_str(&self, token: &str) -> bool {
        self.inner
            .get_added_tokens_decoder()
            .values()
            .any(|t| t.special && t.content == token)
    }

    /// Text for `ids`. `skip_special` leaves out control tokens such as `<|im_end|>`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner.decode(ids, skip_special).map_err(tok_err)
    }

    /// The id of `token` (a whole vocabulary entry, e.g. `<|im_start|>`).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The vocabulary entry for `id`.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The number of tokens, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The beginning-of-sequence token, if the model has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    /// The end-of-sequence token, if the model has one.
    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// The text of the BOS token (for chat templates).
    pub fn bos_token(&self) -> Option<String> {
        self.bos.and_then(|id| self.id_to_token(id))
    }

    /// The text of the EOS token (for chat templates).
    pub fn eos_token(&self) -> Option<String> {
        self.eos.and_then(|id| self.id_to_token(id))
    }

    /// Ids that end a generation: EOS and the usual end-of-turn markers present in the vocabulary.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// Whether `id` is a special (control) token.
    pub fn is_special(&self, id: u32) -> bool {
        self.inner
            .get_added_tokens_decoder()
            .get(&id)
            .is_some_and(|t| t.special)
    }

    /// A decoder that turns a growing list of ids into text pieces for streaming.
    pub fn stream_decoder(&self) -> StreamDecoder<'_> {
        StreamDecoder {
            tokenizer: self,
            ids: Vec::new(),
            emitted: 0,
        }
    }
}

/// A batch of token ids padded to one length, with its attention mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaddedBatch {
    /// `[batch][seq]` token ids, padding included.
    pub ids: Vec<Vec<u32>>,
    /// `[batch][seq]`: 1 for a real token, 0 for padding.
    pub mask: Vec<Vec<u32>>,
}

/// Decodes generated tokens incrementally, never splitting a UTF-8 character: a piece is emitted
/// only once the text decoded so far no longer ends in an incomplete byte sequence.
#[derive(Debug)]
pub struct StreamDecoder<'a> {
    tokenizer: &'a Tokenizer,
    ids: Vec<u32>,
    /// Bytes of the decoded text already handed out.
    emitted: usize,
}

impl StreamDecoder<'_> {
    /// Adds `id` and returns the new text it completes (possibly empty). Special tokens decode to
    /// nothing.
    pub fn push(&mut self, id: u32) -> Result<String> {
        self.ids.push(id);
        let text = self.tokenizer.decode(&self.ids, true)?;
        if text.ends_with('\u{FFFD}') {
            return Ok(String::new());
        }
        let piece = text.get(self.emitted..).unwrap_or_default().to_owned();
        self.emitted = text.len();
        Ok(piece)
    }

    /// All the text decoded so far.
    pub fn text(&self) -> Result<String> {
        self.tokenizer.decode(&self.ids, true)
    }
}

/// SentencePiece-BPE merges from a vocabulary with scores: every split of a token into two
/// vocabulary pieces is a merge, ranked by the merged token's score (higher first), then by the
/// pieces' ids. Byte and control tokens take no part.
fn merges_from_scores(
    tokens: &[&str],
    scores: &[f32],
    types: &[i32],
    vocab: &tokenizers::models::bpe::Vocab,
) -> Vec<(String, String)> {
    let mut ranked: Vec<(f32, u32, u32)> = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        let ty = types.get(id).copied().unwrap_or(1);
        if ty == TOKEN_TYPE_BYTE || ty == TOKEN_TYPE_CONTROL {
            continue;
        }
        let score = scores.get(id).copied().unwrap_or(0.0);
        for (split, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(split);
            if let (Some(&l), Some(&r)) = (vocab.get(left), vocab.get(right)) {
                ranked.push((score, l, r));
            }
        }
    }
    ranked.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    ranked
        .into_iter()
        .filter_map(|(_, l, r)| {
            Some((
                (*tokens.get(l as usize)?).to_owned(),
                (*tokens.get(r as usize)?).to_owned(),
            ))
        })
        .collect()
}

/// Reads a JSON file.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta<'a>(
        model: &'a str,
        tokens: Vec<&'a str>,
        merges: Option<Vec<&'a str>>,
    ) -> TokenizerMetadata<'a> {
        TokenizerMetadata {
            model,
            pre: None,
            tokens,
            scores: None,
            token_types: None,
            merges,
            bos_token_id: None,
            eos_token_id: None,
            unknown_token_id: None,
            padding_token_id: None,
            add_bos_token: None,
            add_eos_token: None,
            add_space_prefix: None,
            chat_template: None,
        }
    }

    #[test]
    fn byte_level_bpe_merges_and_round_trips() {
        let mut m = meta(
            "gpt2",
            vec![
                "<s>", "h", "e", "l", "o", "Ġ", "w", "r", "d", "he", "ll", "hell", "hello",
            ],
            Some(vec!["h e", "l l", "he ll", "hell o"]),
        );
        m.token_types = Some(vec![3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        m.bos_token_id = Some(0);
        m.add_bos_token = Some(true);
        let t = Tokenizer::from_gguf(&m).unwrap();
        assert_eq!(t.encode("hello", false).unwrap(), vec![12]);
        assert_eq!(t.encode("hello", true).unwrap(), vec![0, 12]);
        assert_eq!(t.encode("<s>hello", false).unwrap(), vec![0, 12]);
        let ids = t.encode("hello world", false).unwrap();
        assert_eq!(ids, vec![12, 5, 6, 4, 7, 3, 8]);
        assert_eq!(t.decode(&ids, false).unwrap(), "hello world");
    }

    #[test]
    fn sentencepiece_vocab_ranks_merges_by_score() {
        let mut m = meta(
            "llama",
            vec![
                "<unk>", "<s>", "</s>", "<0x41>", "▁", "a", "b", "ab", "▁a", "▁ab",
            ],
            None,
        );
        m.scores = Some(vec![0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -1.5, -1.2, -0.5]);
        m.token_types = Some(vec![2, 3, 3, 6, 1, 1, 1, 1, 1, 1]);
        m.unknown_token_id = Some(0);
        m.bos_token_id = Some(1);
        m.eos_token_id = Some(2);
        let t = Tokenizer::from_gguf(&m).unwrap();
        let ids = t.encode("ab", true).unwrap();
        assert_eq!(ids, vec![1, 9]);
        assert_eq!(t.decode(&ids, true).unwrap(), "ab");
        // `A` is not in the vocabulary: byte fallback.
        assert_eq!(t.encode("A", false).unwrap(), vec![4, 3]);
        assert_eq!(t.stop_ids(), &[2]);
    }

    #[test]
    fn rejects_bad_metadata() {
        let m = meta("gpt2", vec![], None);
        assert!(Tokenizer::from_gguf(&m).is_err());
        let mut m = meta("gpt2", vec!["a"], None);
        m.eos_token_id = Some(5);
        assert!(Tokenizer::from_gguf(&m).is_err());
        let m = meta("rwkv", vec!["a"], None);
        assert!(Tokenizer::from_gguf(&m).is_err());
        let mut m = meta("gpt2", vec!["a"], Some(vec!["nospace"]));
        m.pre = Some("smollm");
        assert!(Tokenizer::from_gguf(&m).is_err());
    }

    #[test]
    fn stream_decoder_waits_for_whole_characters() {
        // "é" is two bytes: Ã (0xC3) then © (0xA9) in the byte-level alphabet.
        let m = meta("gpt2", vec!["Ã", "©", "a"], Some(vec![]));
        let t = Tokenizer::from_gguf(&m).unwrap();
        let mut s = t.stream_decoder();
        assert_eq!(s.push(2).unwrap(), "a");
        assert_eq!(s.push(0).unwrap(), "");
        assert_eq!(s.push(1).unwrap(), "é");
        assert_eq!(s.text().unwrap(), "aé");
    }
}

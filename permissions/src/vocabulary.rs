//! The words of a grant: rights, redactable fields, grant ids, and the limits on the literal
//! values (sources, participants, conversations) a grant or a request may name.
//!
//! # Invariants
//!
//! - A [`Right`] or [`Field`] exists only for a name of the vocabulary; anything else is
//!   [`UnknownRight`](crate::GrantError::UnknownRight) / an unknown field, never a silent default.
//! - Literal values are opaque: they are compared for equality and never parsed, so a source
//!   named `whatsapp OR 1=1` is a source with that exact name. They hold no control characters,
//!   so printing one (in `grant explain`) cannot rewrite a terminal.

use std::fmt;
use std::str::FromStr;

use crate::GrantError;

/// Longest literal value (source, participant, conversation, app id), in bytes.
pub const MAX_LITERAL_LEN: usize = 256;
/// Most values in one list of a grant or a request (sources, excluded participants, ...).
pub const MAX_LIST_LEN: usize = 256;

/// Something an app may do with a grant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Right {
    /// `memories.search`: search and read the matching memories, within the grant.
    MemoriesSearch,
    /// `records.read`: read raw records, paged.
    RecordsRead,
    /// `records.export`: export records in bulk.
    RecordsExport,
    /// `model.chat`: chat with the local model (no access to the owner's data by itself).
    ModelChat,
    /// `model.embed`: embed texts with the local sentence encoder.
    ModelEmbed,
    /// `adapter.use(NAME)`: chat through the LoRA adapter `NAME`.
    AdapterUse(String),
    /// `persona.chat`: answers grounded in the owner's memories, without the memories themselves.
    PersonaChat,
}

impl Right {
    /// The rights without a parameter, in the order the documentation lists them.
    pub const PLAIN: [Right; 6] = [
        Right::MemoriesSearch,
        Right::RecordsRead,
        Right::RecordsExport,
        Right::ModelChat,
        Right::ModelEmbed,
        Right::PersonaChat,
    ];

    /// What the right lets an app do, in plain words (for `grant explain` and consent pages).
    pub fn describe(&self) -> String {
        match self {
            Right::MemoriesSearch => "search and read the matching memories".into(),
            Right::RecordsRead => "read the matching raw records, page by page".into(),
            Right::RecordsExport => "export the matching records in bulk".into(),
            Right::ModelChat => "chat with the local model".into(),
            Right::ModelEmbed => "compute embeddings with the local encoder".into(),
            Right::AdapterUse(name) => format!("chat through the adapter \"{name}\""),
            Right::PersonaChat => {
                "get answers grounded in the owner's memories (not the memories themselves)".into()
            }
        }
    }

    /// Whether the right reads the owner's data, so that data restrictions matter for it.
    pub fn reads_data(&self) -> bool {
        matches!(
            self,
            Right::MemoriesSearch | Right::RecordsRead | Right::RecordsExport | Right::PersonaChat
        )
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Right::MemoriesSearch => f.write_str("memories.search"),
            Right::RecordsRead => f.write_str("records.read"),
            Right::RecordsExport => f.write_str("records.export"),
            Right::ModelChat => f.write_str("model.chat"),
            Right::ModelEmbed => f.write_str("model.embed"),
            Right::AdapterUse(name) => write!(f, "adapter.use({name})"),
            Right::PersonaChat => f.write_str("persona.chat"),
        }
    }
}

impl FromStr for Right {
    type Err = GrantError;

    fn from_str(text: &str) -> Result<Right, GrantError> {
        let unknown = || GrantError::UnknownRight(printable(text));
        Ok(match text {
            "memories.search" => Right::MemoriesSearch,
            "records.read" => Right::RecordsRead,
            "records.export" => Right::RecordsExport,
            "model.chat" => Right::ModelChat,
            "model.embed" => Right::ModelEmbed,
            "persona.chat" => Right::PersonaChat,
            _ => {
                let name = text
                    .strip_prefix("adapter.use(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .ok_or_else(unknown)?;
                if !is_adapter_name(name) {
                    return Err(unknown());
                }
                Right::AdapterUse(name.to_owned())
            }
        })
    }
}

/// Adapter names: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
fn is_adapter_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A field of the recall output that a grant can remove (`--redact`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// Who wrote the record.
    Author,
    /// Everyone else in the exchange.
    Participants,
    /// The conversation's id and name.
    Conversation,
    /// Attachments (names, types, contents).
    Attachments,
}

impl Field {
    /// Every redactable field.
    pub const ALL: [Field; 4] = [
        Field::Author,
        Field::Participants,
        Field::Conversation,
        Field::Attachments,
    ];

    /// The field's name in the vocabulary.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Author => "author",
            Field::Participants => "participants",
            Field::Conversation => "conversation",
            Field::Attachments => "attachments",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = GrantError;

    fn from_str(text: &str) -> Result<Field, GrantError> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .ok_or_else(|| {
                GrantError::Invalid(format!(
                    "unknown field {:?}: use author, participants, conversation or attachments",
                    printable(text)
                ))
            })
    }
}

/// A grant's id: 128 random bits, written as 32 lowercase hex digits. Not a secret: it names a
/// grant in lists, the audit log and revocation, and grants nothing by itself.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantId([u8; 16]);

impl GrantId {
    /// A fresh random id.
    pub fn generate() -> Result<GrantId, GrantError> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| GrantError::Invalid(format!("no randomness for a grant id: {e}")))?;
        Ok(GrantId(bytes))
    }

    /// The id with these bytes (tests and storage).
    pub fn from_bytes(bytes: [u8; 16]) -> GrantId {
        GrantId(bytes)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}

impl FromStr for GrantId {
    type Err = GrantError;

    fn from_str(text: &str) -> Result<GrantId, GrantError> {
        let bad = || GrantError::Invalid(format!("{:?} is not a grant id", printable(text)));
        if text.len() != 32 {
            return Err(bad());
        }
        let bytes = hex::decode(text).map_err(|_| bad())?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| bad())?;
        Ok(GrantId(bytes))
    }
}

/// Checks a literal value (source, participant, conversation, app id): 1 to
/// [`MAX_LITERAL_LEN`] bytes, no control characters.
pub(crate) fn check_literal(what: &str, value: &str) -> Result<(), GrantError> {
    if value.is_empty() {
        return Err(GrantError::Invalid(format!("an empty {what}")));
    }
    if value.len() > MAX_LITERAL_LEN {
        return Err(GrantError::Invalid(format!(
            "a {what} longer than {MAX_LITERAL_LEN} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(GrantError::Invalid(format!(
            "the {what} {:?} holds control characters",
            printable(value)
        )));
    }
    Ok(())
}

/// Checks every value of a list, and its length.
pub(crate) fn check_list<'a>(
    what: &str,
    values: impl ExactSizeIterator<Item = &'a String>,
) -> Result<(), GrantError> {
    if values.len() > MAX_LIST_LEN {
        return Err(GrantError::Invalid(format!(
            "more than {MAX_LIST_LEN} values for {what}"
        )));
    }
    for value in values {
        check_literal(what, value)?;
    }
    Ok(())
}

/// `text` cut to 80 characters with control characters escaped, for error messages.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 80 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_round_trip_and_unknown_ones_are_errors() {
        for right in Right::PLAIN
            .into_iter()
            .chain([Right::AdapterUse("my-style_2.1".into())])
        {
            assert_eq!(right.to_string().parse::<Right>().unwrap(), right);
        }
        for bad in [
            "",
            "memories",
            "memories.search ",
            "MEMORIES.SEARCH",
            "adapter.use()",
            "adapter.use(a b)",
            "adapter.use(x",
            "adapter.use(\")",
            "records.*",
        ] {
            assert!(
                matches!(bad.parse::<Right>(), Err(GrantError::UnknownRight(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn grant_ids_are_32_hex_digits() {
        let id = GrantId::generate().unwrap();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<GrantId>().unwrap(), id);
        assert!("zz".parse::<GrantId>().is_err());
        assert!("0".repeat(31).parse::<GrantId>().is_err());
    }

    #[test]
    fn literals_refuse_empty_long_and_control_characters() {
        assert!(check_literal("source", "whatsapp OR 1=1").is_ok());
        assert!(check_literal("source", "").is_err());
        assert!(check_literal("source", "a\u{1b}[2J").is_err());
        assert!(check_literal("source", &"x".repeat(MAX_LITERAL_LEN + 1)).is_err());
    }
}

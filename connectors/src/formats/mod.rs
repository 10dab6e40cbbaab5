//! The registry of export formats.
//!
//! To add a format: write a module with a unit struct implementing [`Format`](crate::Format)
//! (the two generic formats share one struct, [`generic::Generic`]),
//! add it to [`all`], and give it fixtures, tests and a property test feeding it arbitrary bytes.

pub mod dayone;
pub mod discord;
pub mod generic;
pub mod imessage;
pub mod mail;
pub mod markdown;
pub mod mbox;
pub mod meta;
pub mod reddit;
pub mod slack;
pub mod telegram;
pub mod twitter;
pub mod whatsapp;

use crate::Format;

static FORMATS: &[&dyn Format] = &[
    &whatsapp::WhatsApp,
    &discord::Discord,
    &slack::Slack,
    &markdown::Markdown,
    &dayone::DayOne,
    &imessage::IMessage,
    &mbox::Mbox,
    &mail::Eml,
    &reddit::Reddit,
    &generic::JSONL,
    &generic::CSV,
    &telegram::Telegram,
    &twitter::Twitter,
    &meta::Facebook,
    &meta::Instagram,
];

/// Every known format, in `--list-formats` order.
pub fn all() -> &'static [&'static dyn Format] {
    FORMATS
}

/// The format with this `--format` name.
pub fn by_name(name: &str) -> Option<&'static dyn Format> {
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// A short stable hash of text (FNV-1a, 64 bits) for building source ids of items that have
/// none; it only feeds the vault's keyed hash, so it needs no cryptographic strength.
pub(crate) fn short_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

//! Importers that turn the data exports people download (WhatsApp, Telegram, X/Twitter,
//! Facebook/Instagram/Messenger, Discord, Slack, mbox/eml, Reddit, iMessage, Markdown journals,
//! generic JSONL/CSV) and live OAuth2 sources into vault records, idempotently.
//!
//! Empty for now: the connectors issue fills it.

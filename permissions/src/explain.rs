//! `grant explain`: what a grant allows, in plain words.
//!
//! The authority block is described from its grant facts. Attenuation blocks hold arbitrary
//! checks written by apps; they are shown as their Datalog, with control characters escaped.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::vocabulary::printable;
use crate::{Grant, ReadToken};

/// A plain-words description of a grant, one sentence a line.
pub fn explain_grant(grant: &Grant) -> Vec<String> {
    let spec = &grant.spec;
    let r = &spec.restrictions;
    let l = &spec.limits;
    let mut lines = vec![format!(
        "Grant {} lets the app \"{}\" (issued {}):",
        grant.id,
        printable(&spec.app),
        day_time(grant.issued_at)
    )];
    for right in &spec.rights {
        lines.push(format!("  - {}", right.describe()));
    }
    let reads_data = spec.rights.iter().any(|r| r.reads_data());
    if reads_data {
        lines.push(match &r.sources {
            Some(sources) if sources.len() == 1 => {
                format!("Only data from the source {}.", list(sources))
            }
            Some(sources) => format!("Only data from the sources {}.", list(sources)),
            None => "Data from every source.".into(),
        });
        lines.push(match (r.since, r.until) {
            (Some(a), Some(b)) => format!(
                "Only data from {} (inclusive) until {} (exclusive).",
                day_time(a),
                day_time(b)
            ),
            (Some(a), None) => format!("Only data from {} on.", day_time(a)),
            (None, Some(b)) => format!("Only data from before {}.", day_time(b)),
            (None, None) => "Data from any time.".into(),
        });
        if let Some(p) = &r.participants {
            lines.push(format!("Only data involving {}.", list(p)));
        }
        if !r.exclude_participants.is_empty() {
            lines.push(format!(
                "Never data involving {}.",
                list(&r.exclude_participants)
            ));
        }
        if let Some(c) = &r.conversations {
            lines.push(format!("Only the conversations {}.", list(c)));
        }
        if !r.exclude_conversations.is_empty() {
            lines.push(format!(
                "Never the conversations {}.",
                list(&r.exclude_conversations)
            ));
        }
        if !r.redact.is_empty() {
            let fields: BTreeSet<String> = r.redact.iter().map(|f| f.to_string()).collect();
            lines.push(format!(
                "Results never show the fields {}.",
                list_plain(&fields)
            ));
        }
        if let Some(n) = r.max_results {
            lines.push(format!("At most {n} results per call."));
        }
    }
    lines.push(match (l.not_before, l.expires) {
        (Some(a), Some(b)) => format!("Valid from {} until {}.", day_time(a), day_time(b)),
        (Some(a), None) => format!(
            "Valid from {}; does not expire (until revoked).",
            day_time(a)
        ),
        (None, Some(b)) => format!("Valid until {}.", day_time(b)),
        (None, None) => "Does not expire: valid until revoked.".into(),
    });
    let mut volume = Vec::new();
    if let Some(n) = l.per_minute {
        volume.push(format!("{n} requests a minute"));
    }
    if let Some(n) = l.per_day {
        volume.push(format!("{n} requests a day"));
    }
    if let Some(n) = l.tokens_per_day {
        volume.push(format!("{n} model tokens a day"));
    }
    if !volume.is_empty() {
        lines.push(format!("At most {}.", volume.join(", ")));
    }
    if let Some(key) = &spec.app_key {
        lines.push(format!(
            "Usable only in requests signed by the app key {key}."
        ));
    }
    lines
}

/// [`explain_grant`] for a token, plus its attenuation blocks.
pub fn explain(token: &ReadToken) -> Vec<String> {
    let mut lines = explain_grant(&token.grant);
    let blocks = token.attenuation_sources();
    if !blocks.is_empty() {
        lines.push(format!(
            "This token was narrowed by {} further block{}; every request must also pass:",
            blocks.len(),
            if blocks.len() == 1 { "" } else { "s" }
        ));
        for (i, source) in blocks.iter().enumerate() {
            for line in source.lines().filter(|l| !l.trim().is_empty()) {
                lines.push(format!("  [{}] {}", i + 1, printable_line(line)));
            }
        }
    }
    lines
}

fn printable_line(line: &str) -> String {
    line.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn day_time(t: DateTime<Utc>) -> String {
    if t.time() == chrono::NaiveTime::MIN {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

fn list(values: &BTreeSet<String>) -> String {
    let quoted: BTreeSet<String> = values
        .iter()
        .map(|v| format!("\"{}\"", printable(v)))
        .collect();
    list_plain(&quoted)
}

fn list_plain(values: &BTreeSet<String>) -> String {
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    match values.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

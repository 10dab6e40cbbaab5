//! What a grant says, as plain data: [`GrantSpec`] (rights, [`Restrictions`], [`Limits`],
//! audience) and [`Narrowing`], what an attenuation adds.
//!
//! # Invariants
//!
//! - A list restriction is `None` for "no restriction" and never `Some` of an empty set: an
//!   empty list would read as "everything" to a query layer that skips empty filters.
//! - Times in a grant are whole seconds (Biscuit dates are). Issuing rounds every bound towards
//!   the narrower side: `since` and `not_before` up, `until` and `expires` down.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};

use crate::vocabulary::{check_list, check_literal};
use crate::{AppKey, Field, GrantError, GrantId, Right};

/// Everything a grant allows, as issued by the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantSpec {
    /// The audience: the id of the app the grant is for.
    pub app: String,
    /// What the app may do (at least one).
    pub rights: BTreeSet<Right>,
    /// Which data, and which fields of it.
    pub restrictions: Restrictions,
    /// Validity and volume.
    pub limits: Limits,
    /// When set, every request must be signed by this key (proof of possession).
    pub app_key: Option<AppKey>,
}

/// Which of the owner's data a grant reaches. Names follow the memory layer's filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Only these sources (`None`: every source).
    pub sources: Option<BTreeSet<String>>,
    /// Only data at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only data before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only data involving one of these participants (`None`: anyone).
    pub participants: Option<BTreeSet<String>>,
    /// Never data involving these participants.
    pub exclude_participants: BTreeSet<String>,
    /// Only these conversations (`None`: every conversation).
    pub conversations: Option<BTreeSet<String>>,
    /// Never these conversations.
    pub exclude_conversations: BTreeSet<String>,
    /// Fields removed from every result.
    pub redact: BTreeSet<Field>,
    /// At most this many results per call.
    pub max_results: Option<u32>,
}

/// When and how much a grant may be used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Not valid before this time.
    pub not_before: Option<DateTime<Utc>>,
    /// Not valid from this time on.
    pub expires: Option<DateTime<Utc>>,
    /// Requests per minute.
    pub per_minute: Option<u32>,
    /// Requests per day (UTC days).
    pub per_day: Option<u32>,
    /// Model tokens (prompt and completion) per day.
    pub tokens_per_day: Option<u64>,
}

/// A grant as its token's authority block states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The grant's id (also its revocation handle).
    pub id: GrantId,
    /// When the node issued it.
    pub issued_at: DateTime<Utc>,
    /// What it allows.
    pub spec: GrantSpec,
}

/// What an attenuation block adds: each field narrows, none can widen (a block can only add
/// checks). Empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Narrowing {
    /// Only these rights.
    pub rights: Option<BTreeSet<Right>>,
    /// Further restrictions on the data.
    pub restrictions: Restrictions,
    /// A later start.
    pub not_before: Option<DateTime<Utc>>,
    /// An earlier expiry.
    pub expires: Option<DateTime<Utc>>,
}

impl GrantSpec {
    /// A grant of `rights` to `app` with no restriction or limit yet.
    pub fn new(app: impl Into<String>, rights: impl IntoIterator<Item = Right>) -> GrantSpec {
        GrantSpec {
            app: app.into(),
            rights: rights.into_iter().collect(),
            restrictions: Restrictions::default(),
            limits: Limits::default(),
            app_key: None,
        }
    }

    /// Checks that the grant makes sense; returns it with its times in whole seconds, each
    /// rounded towards the narrower side.
    pub fn validated(&self) -> Result<GrantSpec, GrantError> {
        check_literal("app id", &self.app)?;
        if self.rights.is_empty() {
            return Err(GrantError::Invalid(
                "a grant needs at least one right".into(),
            ));
        }
        let restrictions = self.restrictions.validated()?;
        let limits = &self.limits;
        let not_before = limits.not_before.map(ceil_second).transpose()?;
        let expires = limits.expires.map(floor_second).transpose()?;
        if let (Some(from), Some(to)) = (not_before, expires)
            && from >= to
        {
            return Err(GrantError::Invalid(
                "the grant would expire before it becomes valid".into(),
            ));
        }
        for (what, n) in [
            ("per-minute", limits.per_minute),
            ("per-day", limits.per_day),
        ] {
            if n == Some(0) {
                return Err(GrantError::Invalid(format!("a {what} limit of 0")));
            }
        }
        if limits.tokens_per_day == Some(0) {
            return Err(GrantError::Invalid("a token limit of 0".into()));
        }
        Ok(GrantSpec {
            app: self.app.clone(),
            rights: self.rights.clone(),
            restrictions,
            limits: Limits {
                not_before,
                expires,
                ..limits.clone()
            },
            app_key: self.app_key,
        })
    }
}

impl Restrictions {
    /// Checks the restrictions; returns them with whole-second bounds (`since` up, `until` down).
    pub fn validated(&self) -> Result<Restrictions, GrantError> {
        for (what, list) in [
            ("source", &self.sources),
            ("participant", &self.participants),
            ("conversation", &self.conversations),
        ] {
            if let Some(list) = list {
                if list.is_empty() {
                    return Err(GrantError::Invalid(format!(
                        "an empty {what} list would allow nothing; leave it out to allow every {what}"
                    )));
                }
                check_list(what, list.iter())?;
            }
        }
        check_list("excluded participant", self.exclude_participants.iter())?;
        check_list("excluded conversation", self.exclude_conversations.iter())?;
        if self.max_results == Some(0) {
            return Err(GrantError::Invalid("at most 0 results per call".into()));
        }
        let since = self.since.map(ceil_second).transpose()?;
        let until = self.until.map(floor_second).transpose()?;
        if let (Some(since), Some(until)) = (since, until)
            && since >= until
        {
            return Err(GrantError::Invalid(
                "the data time range ends before it starts".into(),
            ));
        }
        Ok(Restrictions {
            since,
            until,
            ..self.clone()
        })
    }
}

/// Seconds since the epoch of a time at or after 1970, rounded up.
pub(crate) fn ceil_second(t: DateTime<Utc>) -> Result<DateTime<Utc>, GrantError> {
    let secs = t.timestamp();
    let secs = if t.timestamp_subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    };
    from_secs(secs)
}

/// Seconds since the epoch of a time at or after 1970, rounded down.
pub(crate) fn floor_second(t: DateTime<Utc>) -> Result<DateTime<Utc>, GrantError> {
    from_secs(t.timestamp())
}

pub(crate) fn from_secs(secs: i64) -> Result<DateTime<Utc>, GrantError> {
    if secs < 0 {
        return Err(GrantError::Invalid(
            "times before 1970 are not supported in grants".into(),
        ));
    }
    Utc.timestamp_opt(secs, 0)
        .single()
        .ok_or_else(|| GrantError::Invalid("a time out of range".into()))
}

/// Whole seconds since the epoch, for a time that [`from_secs`] accepts.
pub(crate) fn to_secs(t: DateTime<Utc>) -> Result<u64, GrantError> {
    u64::try_from(t.timestamp())
        .map_err(|_| GrantError::Invalid("times before 1970 are not supported in grants".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn bounds_round_towards_the_narrower_side() {
        let mut spec = GrantSpec::new("app", [Right::MemoriesSearch]);
        spec.restrictions.since = Some(at("2024-01-01T00:00:00.250Z"));
        spec.restrictions.until = Some(at("2024-02-01T00:00:00.750Z"));
        spec.limits.expires = Some(at("2030-01-01T00:00:00.999Z"));
        let v = spec.validated().unwrap();
        assert_eq!(v.restrictions.since, Some(at("2024-01-01T00:00:01Z")));
        assert_eq!(v.restrictions.until, Some(at("2024-02-01T00:00:00Z")));
        assert_eq!(v.limits.expires, Some(at("2030-01-01T00:00:00Z")));
    }

    #[test]
    fn nonsense_is_refused() {
        let base = GrantSpec::new("app", [Right::MemoriesSearch]);
        let mut cases = Vec::new();
        cases.push(GrantSpec::new("app", []));
        cases.push(GrantSpec::new("", [Right::ModelChat]));
        let mut s = base.clone();
        s.restrictions.sources = Some(BTreeSet::new());
        cases.push(s);
        let mut s = base.clone();
        s.restrictions.since = Some(at("2025-01-01T00:00:00Z"));
        s.restrictions.until = Some(at("2024-01-01T00:00:00Z"));
        cases.push(s);
        let mut s = base.clone();
        s.limits.per_day = Some(0);
        cases.push(s);
        let mut s = base.clone();
        s.restrictions.since = Some(at("1960-01-01T00:00:00Z"));
        cases.push(s);
        for case in cases {
            assert!(
                matches!(case.validated(), Err(GrantError::Invalid(_))),
                "{case:?}"
            );
        }
    }
}

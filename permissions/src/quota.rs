//! Rate and volume limits as plain counters with explicit time input.
//!
//! Windows are fixed and aligned on UTC: a minute starts at a multiple of 60 seconds since the
//! epoch, a day at UTC midnight. A burst across a boundary can therefore reach twice the
//! per-minute limit within a minute; the per-day limit bounds the total regardless.
//!
//! # Invariants
//!
//! - Counting happens only for requests that passed every other check, so a rejected request
//!   never spends quota.
//! - Counters are plain data the caller persists; nothing here reads a clock.

use std::collections::HashMap;
use std::fmt;

use crate::{GrantError, GrantId, Limits};

const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

/// Which limit a request ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaLimit {
    /// Requests per minute.
    PerMinute(u32),
    /// Requests per day.
    PerDay(u32),
    /// Model tokens per day.
    TokensPerDay(u64),
}

impl fmt::Display for QuotaLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaLimit::PerMinute(n) => write!(f, "{n} requests per minute"),
            QuotaLimit::PerDay(n) => write!(f, "{n} requests per day"),
            QuotaLimit::TokensPerDay(n) => write!(f, "{n} model tokens per day"),
        }
    }
}

/// A count within one fixed window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Start of the window, seconds since the epoch.
    pub start: i64,
    /// What was counted in it.
    pub count: u64,
}

impl Window {
    /// The count at `now` for windows of `len` seconds (0 once a new window began).
    fn current(&self, now: i64, len: i64) -> u64 {
        if self.start == window_start(now, len) {
            self.count
        } else {
            0
        }
    }

    fn add(&mut self, now: i64, len: i64, n: u64) {
        let start = window_start(now, len);
        if self.start != start {
            *self = Window { start, count: 0 };
        }
        self.count = self.count.saturating_add(n);
    }
}

fn window_start(now: i64, len: i64) -> i64 {
    now.div_euclid(len) * len
}

fn retry_after(now: i64, len: i64) -> u64 {
    u64::try_from(window_start(now, len) + len - now).unwrap_or(0)
}

/// Per-minute and per-day request counters, and a per-day count of model tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateCounter {
    /// Requests in the current minute.
    pub minute: Window,
    /// Requests in the current day.
    pub day: Window,
    /// Model tokens in the current day.
    pub tokens: Window,
}

impl RateCounter {
    /// Counts one request at `now` (seconds since the epoch) if `limits` allow it; otherwise
    /// counts nothing and says which limit is reached.
    pub fn try_acquire(&mut self, limits: &Limits, now: i64) -> Result<(), GrantError> {
        if let Some(max) = limits.per_minute
            && self.minute.current(now, MINUTE) >= u64::from(max)
        {
            return Err(GrantError::OverQuota {
                limit: QuotaLimit::PerMinute(max),
                retry_after_secs: retry_after(now, MINUTE),
            });
        }
        if let Some(max) = limits.per_day
            && self.day.current(now, DAY) >= u64::from(max)
        {
            return Err(GrantError::OverQuota {
                limit: QuotaLimit::PerDay(max),
                retry_after_secs: retry_after(now, DAY),
            });
        }
        if let Some(max) = limits.tokens_per_day
            && self.tokens.current(now, DAY) >= max
        {
            return Err(GrantError::OverQuota {
                limit: QuotaLimit::TokensPerDay(max),
                retry_after_secs: retry_after(now, DAY),
            });
        }
        self.minute.add(now, MINUTE, 1);
        self.day.add(now, DAY, 1);
        Ok(())
    }

    /// Model tokens still available today under `limits` (`None`: no token limit).
    pub fn tokens_left(&self, limits: &Limits, now: i64) -> Option<u64> {
        limits
            .tokens_per_day
            .map(|max| max.saturating_sub(self.tokens.current(now, DAY)))
    }

    /// Records model tokens spent by a request (after it ran).
    pub fn spend_tokens(&mut self, now: i64, tokens: u64) {
        self.tokens.add(now, DAY, tokens);
    }
}

/// The counters of every grant, by grant id. Attenuated tokens count against their grant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaBook {
    counters: HashMap<GrantId, RateCounter>,
}

impl QuotaBook {
    /// An empty book.
    pub fn new() -> QuotaBook {
        QuotaBook::default()
    }

    /// The counters of `grant` (zeros when it has none yet).
    pub fn get(&self, grant: &GrantId) -> RateCounter {
        self.counters.get(grant).copied().unwrap_or_default()
    }

    /// The counters of `grant`, to update.
    pub fn entry(&mut self, grant: GrantId) -> &mut RateCounter {
        self.counters.entry(grant).or_default()
    }

    /// Every grant's counters, to persist.
    pub fn iter(&self) -> impl Iterator<Item = (&GrantId, &RateCounter)> {
        self.counters.iter()
    }

    /// Restores persisted counters.
    pub fn insert(&mut self, grant: GrantId, counter: RateCounter) {
        self.counters.insert(grant, counter);
    }

    /// Forgets counters whose windows all ended before `now` (they read as zeros anyway).
    pub fn prune(&mut self, now: i64) {
        self.counters.retain(|_, c| {
            c.minute.current(now, MINUTE) > 0
                || c.day.current(now, DAY) > 0
                || c.tokens.current(now, DAY) > 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_minute_and_per_day_limits_reset_with_their_windows() {
        let limits = Limits {
            per_minute: Some(2),
            per_day: Some(3),
            ..Limits::default()
        };
        let mut c = RateCounter::default();
        let t0 = 1_700_000_040; // 0 s into a minute
        assert!(c.try_acquire(&limits, t0).is_ok());
        assert!(c.try_acquire(&limits, t0 + 1).is_ok());
        assert_eq!(
            c.try_acquire(&limits, t0 + 2),
            Err(GrantError::OverQuota {
                limit: QuotaLimit::PerMinute(2),
                retry_after_secs: 58
            })
        );
        assert!(c.try_acquire(&limits, t0 + 60).is_ok());
        assert!(matches!(
            c.try_acquire(&limits, t0 + 120),
            Err(GrantError::OverQuota {
                limit: QuotaLimit::PerDay(3),
                ..
            })
        ));
        let next_day = window_start(t0, DAY) + DAY;
        assert!(c.try_acquire(&limits, next_day).is_ok());
    }

    #[test]
    fn tokens_are_spent_after_the_fact_and_block_further_requests() {
        let limits = Limits {
            tokens_per_day: Some(100),
            ..Limits::default()
        };
        let mut c = RateCounter::default();
        let now = 1_700_000_000;
        assert!(c.try_acquire(&limits, now).is_ok());
        assert_eq!(c.tokens_left(&limits, now), Some(100));
        c.spend_tokens(now, 100);
        assert_eq!(c.tokens_left(&limits, now), Some(0));
        assert!(c.try_acquire(&limits, now + 1).is_err());
        assert_eq!(c.tokens_left(&limits, now + DAY), Some(100));
    }

    #[test]
    fn rejected_requests_count_nothing() {
        let limits = Limits {
            per_minute: Some(1),
            per_day: Some(10),
            ..Limits::default()
        };
        let mut c = RateCounter::default();
        let now = 1_700_000_000;
        c.try_acquire(&limits, now).unwrap();
        for _ in 0..5 {
            assert!(c.try_acquire(&limits, now).is_err());
        }
        assert_eq!(c.day.count, 1);
    }
}

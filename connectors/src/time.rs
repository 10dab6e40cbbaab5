//! The time-zone policy: how a record's time gets its offset, and what `offset_assumed` means.
//!
//! **The rule, for every format:** `offset_assumed` says *the offset did not come from the
//! source*. It says nothing about the instant, which may still be exact. So:
//!
//! | the export gives | `occurred_at` | `offset_assumed` |
//! |---|---|---|
//! | a time with its own offset (`Date: ... +0100`, RFC 3339 `+02:00`, Day One's `timeZone`) | that instant, in that offset | `false` |
//! | a UTC instant (epochs, `Z`, `+0000`, `... UTC`: Telegram's `date_unixtime`, Meta, X, Discord, Slack, iMessage, Reddit, generic epochs) | that instant, shown in the `--tz` zone's offset at that instant | `true` |
//! | a wall-clock time without a zone (WhatsApp, Telegram's `date`, bare dates) | that wall-clock time read in `--tz` ([`localize`]) | `true` |
//!
//! A UTC-sourced time is shown in `--tz` (rather than `+00:00`) because that is how the owner
//! saw it; the flag keeps apart offsets Hearth chose from offsets the source wrote down.
//!
//! Wall-clock times are read in the import's zone (`--tz`, or the machine's). A wall-clock time
//! that happens twice (the hour repeated when clocks go back) takes the first occurrence; one
//! that never happens (skipped when clocks go forward) is moved forward by the gap, as the phone
//! that wrote it would have shown it.

use std::str::FromStr;

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use crate::ConnectorError;

/// The order of day and month in numeric dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    /// Day first (14/03/2025).
    Dmy,
    /// Month first (03/14/2025).
    Mdy,
}

impl FromStr for DateOrder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "dmy" => Ok(DateOrder::Dmy),
            "mdy" => Ok(DateOrder::Mdy),
            _ => Err(format!("{s:?}: expected dmy or mdy")),
        }
    }
}

/// Parses an IANA zone name.
pub fn parse_zone(name: &str) -> Result<Tz, ConnectorError> {
    name.parse::<Tz>()
        .map_err(|_| ConnectorError::UnknownZone(name.to_owned()))
}

/// The machine's zone (`TZ`, else the system setting), UTC when unknown.
pub fn machine_zone() -> Tz {
    std::env::var("TZ")
        .ok()
        .and_then(|tz| tz.trim_start_matches(':').parse().ok())
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| name.parse().ok())
        })
        .unwrap_or(Tz::UTC)
}

/// Wall-clock time in `tz` as an instant with its offset.
pub fn localize(naive: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.fixed_offset(),
        LocalResult::Ambiguous(first, _) => first.fixed_offset(),
        LocalResult::None => {
            // In a spring-forward gap: read the time with the offset in force just before the
            // gap, which is what the clock that wrote it was still showing.
            let before = tz
                .from_local_datetime(&(naive - Duration::hours(3)))
                .earliest();
            let offset = before
                .map(|t| t.offset().fix().local_minus_utc())
                .unwrap_or(0);
            let instant = (naive - Duration::seconds(i64::from(offset))).and_utc();
            instant.with_timezone(&tz).fixed_offset()
        }
    }
}

/// A UTC epoch (seconds) shown in `tz`'s offset at that instant.
pub fn from_epoch_seconds(secs: i64, tz: Tz) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&tz).fixed_offset())
}

/// A UTC epoch (milliseconds) shown in `tz`'s offset at that instant.
pub fn from_epoch_millis(ms: i64, tz: Tz) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz).fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn wall_clock_times_get_the_zone_offset_of_their_date() {
        let lisbon = parse_zone("Europe/Lisbon").unwrap();
        assert_eq!(
            localize(naive("2025-01-10 09:00"), lisbon).to_rfc3339(),
            "2025-01-10T09:00:00+00:00"
        );
        assert_eq!(
            localize(naive("2025-07-10 09:00"), lisbon).to_rfc3339(),
            "2025-07-10T09:00:00+01:00"
        );
        // 2025-03-30 01:30 does not exist in Lisbon (01:00 -> 02:00).
        assert_eq!(
            localize(naive("2025-03-30 01:30"), lisbon).to_rfc3339(),
            "2025-03-30T02:30:00+01:00"
        );
        // 2025-10-26 01:30 happens twice; the first (summer time) is taken.
        assert_eq!(
            localize(naive("2025-10-26 01:30"), lisbon).to_rfc3339(),
            "2025-10-26T01:30:00+01:00"
        );
        assert!(parse_zone("Mars/Olympus").is_err());
        assert_eq!("DMY".parse::<DateOrder>().unwrap(), DateOrder::Dmy);
    }
}

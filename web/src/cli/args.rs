//! Parsing of times on the command line.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Parses RFC 3339 (`2025-03-14T21:07:00+01:00`) or a date (`2025-03-14`, UTC midnight),
/// keeping the offset that was written.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc().fixed_offset());
    }
    Err(format!(
        "{text:?} is not a time: use RFC 3339 (2025-03-14T21:07:00+01:00) or a date (2025-03-14)"
    ))
}

/// [`parse_time`] as an instant.
pub(crate) fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    parse_time(text).map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_offsets_and_dates_as_utc_midnight() {
        assert_eq!(
            parse_time("2025-03-14T21:07:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2025-03-14T21:07:00+01:00"
        );
        assert_eq!(
            parse_time("2025-03-14T21:07:00Z")
                .unwrap()
                .offset()
                .local_minus_utc(),
            0
        );
        assert_eq!(
            parse_time("2025-03-14").unwrap().to_rfc3339(),
            "2025-03-14T00:00:00+00:00"
        );
        assert_eq!(
            parse_instant("2025-03-14T01:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2025-03-13T23:00:00+00:00"
        );
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "14/03/2025",
            "2025-03-14 21:07",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}

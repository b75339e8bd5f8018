//! Timestamps: microseconds since the Unix epoch in storage, RFC 3339 UTC on the wire.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Microseconds since the Unix epoch.
pub type Micros = i64;

pub fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

/// Renders like Django REST Framework: `2024-01-15T09:30:00Z`, with microseconds only when set.
pub fn format_micros(us: Micros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(dt) => {
            let fmt = if us % 1_000_000 == 0 {
                SecondsFormat::Secs
            } else {
                SecondsFormat::Micros
            };
            dt.to_rfc3339_opts(fmt, true)
        }
        None => String::new(),
    }
}

/// Parses the ISO forms the API accepts in filters: a date (`2000-01-01`, midnight UTC) or a
/// date-time with or without offset, `T` or space separated (`2000-01-01 00:01:00+00:00`).
/// A date-time without offset is taken as UTC.
pub fn parse_iso_filter(s: &str) -> Option<Micros> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    let with_t = s.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&with_t) {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(&with_t, fmt) {
            return Some(dt.with_timezone(&Utc).timestamp_micros());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&with_t, fmt) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    let dt = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)?;
    Some(dt.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_drf() {
        assert_eq!(format_micros(1_705_311_000_000_000), "2024-01-15T09:30:00Z");
        assert_eq!(
            format_micros(1_705_311_000_000_123),
            "2024-01-15T09:30:00.000123Z"
        );
    }

    #[test]
    fn parses_the_seed_forms() {
        let day = parse_iso_filter("2000-01-01").unwrap();
        assert_eq!(format_micros(day), "2000-01-01T00:00:00Z");
        let t = parse_iso_filter("2000-01-01 00:01:00+00:00").unwrap();
        assert_eq!(format_micros(t), "2000-01-01T00:01:00Z");
        let t = parse_iso_filter("2000-01-01T02:01:00+02:00").unwrap();
        assert_eq!(format_micros(t), "2000-01-01T00:01:00Z");
        let t = parse_iso_filter("2000-01-01T00:01:00").unwrap();
        assert_eq!(format_micros(t), "2000-01-01T00:01:00Z");
        let t = parse_iso_filter("2000-01-01T00:01:00.5Z").unwrap();
        assert_eq!(format_micros(t), "2000-01-01T00:01:00.500000Z");
        assert!(parse_iso_filter("yesterday").is_none());
        assert!(parse_iso_filter("2000-13-01").is_none());
    }
}

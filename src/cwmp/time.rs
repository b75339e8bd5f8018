//! CWMP `dateTime` values, parsed leniently.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use std::fmt;

/// The TR-069 "unknown time" value.
pub const UNKNOWN_TIME: &str = "0001-01-01T00:00:00Z";

/// A CWMP `dateTime`: the raw text as sent, plus the instant when it could be understood.
///
/// Parsing is lenient: no timezone means UTC, fractional seconds and `Z`/`±hh:mm`/`±hhmm`/`±hh`
/// offsets are accepted, `T` may be a space. The unknown value `0001-01-01T...` and impossible
/// dates such as `0000-00-00T00:00:00` or malformed text such as `2019-03-05T11:54::14` give
/// `datetime == None` (never an error).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CwmpTime {
    /// Exactly as sent (entity-decoded).
    pub raw: String,
    /// The instant, when `raw` is a known, well-formed dateTime.
    pub datetime: Option<DateTime<Utc>>,
}

impl CwmpTime {
    /// Wraps raw text, parsing it leniently.
    pub fn parse(raw: impl Into<String>) -> CwmpTime {
        let raw = raw.into();
        let datetime = parse_datetime(&raw);
        CwmpTime { raw, datetime }
    }

    /// A time from an instant, rendered as `YYYY-MM-DDThh:mm:ss[.fff]Z`.
    pub fn from_datetime(dt: DateTime<Utc>) -> CwmpTime {
        CwmpTime {
            raw: format_datetime(&dt),
            datetime: Some(dt),
        }
    }

    /// The current time, rendered in whole seconds.
    pub fn now() -> CwmpTime {
        let now = Utc::now();
        let secs = now.timestamp();
        CwmpTime::from_datetime(DateTime::from_timestamp(secs, 0).unwrap_or(now))
    }

    /// The TR-069 "unknown time" `0001-01-01T00:00:00Z`.
    pub fn unknown() -> CwmpTime {
        CwmpTime {
            raw: UNKNOWN_TIME.to_owned(),
            datetime: None,
        }
    }
}

impl From<DateTime<Utc>> for CwmpTime {
    fn from(dt: DateTime<Utc>) -> CwmpTime {
        CwmpTime::from_datetime(dt)
    }
}

impl fmt::Display for CwmpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// `YYYY-MM-DDThh:mm:ss[.fraction]Z` (fraction without trailing zeros, omitted when zero).
pub fn format_datetime(dt: &DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let nanos = dt.nanosecond();
    if nanos != 0 {
        let frac = format!("{:09}", nanos);
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u32 = 0;
    for &d in b {
        n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
    }
    Some(n)
}

/// Lenient `xsd:dateTime` parser; `None` for unknown or malformed values.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let b = s.trim().as_bytes();
    if b.len() < 19 {
        return None;
    }
    let year = digits(&b[0..4])?;
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    let mut i = 19;
    let mut nanos: u32 = 0;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i32 = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    // Year 0 does not exist in xsd:dateTime; 0001-01-01 is TR-069's "unknown time".
    if year == 0 || (year == 1 && month == 1 && day == 1) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let naive = NaiveDateTime::new(date, time);
    let offset = FixedOffset::east_opt(offset_secs)?;
    let local = offset.from_local_datetime(&naive).single()?;
    Some(local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<i64> {
        parse_datetime(s).map(|d| d.timestamp())
    }

    #[test]
    fn lenient_forms() {
        assert_eq!(ts("1970-01-01T00:02:13Z"), Some(133));
        assert_eq!(ts("1970-01-01T00:02:13"), Some(133));
        assert_eq!(ts(" 1970-01-01T00:02:13z\n"), Some(133));
        assert_eq!(ts("1970-01-01 00:02:13"), Some(133));
        assert_eq!(ts("1970-01-01T01:02:13+01:00"), Some(133));
        assert_eq!(ts("1970-01-01T01:02:13+0100"), Some(133));
        assert_eq!(ts("1970-01-01T01:02:13+01"), Some(133));
        assert_eq!(ts("1969-12-31T23:02:13-01:00"), Some(133));
        let d = parse_datetime("2015-09-22T05:04:58.123-07:00").unwrap();
        assert_eq!(d.timestamp_subsec_millis(), 123);
        assert_eq!(
            parse_datetime("2015-09-22T05:04:58.1234567891234Z")
                .unwrap()
                .timestamp_subsec_nanos(),
            123_456_789
        );
    }

    #[test]
    fn unknown_and_malformed() {
        for s in [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00",
            "0000-00-00T00:00:00",
            "2019-03-05T11:54::14",
            "2019-02-30T00:00:00Z",
            "2019-03-05T24:00:00Z",
            "2019-03-05T23:00:60Z",
            "2019-03-05T23:00:00.Z",
            "2019-03-05T23:00:00+25:00",
            "2019-03-05T23:00:00Zjunk",
            "",
            "garbage",
            "é019-03-05T23:00:00Z",
        ] {
            assert_eq!(parse_datetime(s), None, "{s:?}");
        }
    }

    #[test]
    fn format_round_trips() {
        for s in [
            "2016-01-31T12:28:09Z",
            "2016-01-31T12:28:09.5Z",
            "1970-01-01T00:00:00.000000001Z",
        ] {
            let t = CwmpTime::parse(s);
            assert_eq!(CwmpTime::from_datetime(t.datetime.unwrap()).raw, s);
        }
        assert_eq!(CwmpTime::unknown().datetime, None);
    }
}

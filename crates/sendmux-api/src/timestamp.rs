//! [`Timestamp`]: the type of every point in time in the models.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// A point in time the API sends or takes, in UTC.
///
/// It is a [`chrono::DateTime<Utc>`] underneath: every method of that type
/// is reachable through `Deref`, and [`From`] converts both ways. On the
/// wire it is an RFC 3339 string; it is written back with a `Z` offset and
/// as many fraction digits as it has.
///
/// Decoding is tolerant of the forms an RFC 3339 producer drifts into, so a
/// response is not lost over a spelling: a space or lowercase `t` between
/// date and time, any number of fraction digits, offsets written `Z`,
/// `+02:00`, `+0200` or `+02` (converted to UTC), a date and time with no
/// offset (taken as UTC), and a bare date (midnight UTC). Anything else is
/// a [`TimestampError`] that names the value.
///
/// ```
/// use sendmux_api::Timestamp;
///
/// let at: Timestamp = "2026-05-21 11:12:00+02:00".parse()?;
/// assert_eq!(at.to_string(), "2026-05-21T09:12:00Z");
/// // chrono's methods, through Deref:
/// assert_eq!(at.timestamp(), 1_779_354_720);
/// # Ok::<(), sendmux_api::TimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The `chrono` value.
    pub fn as_datetime(&self) -> &DateTime<Utc> {
        &self.0
    }

    /// The `chrono` value, by value.
    pub fn into_datetime(self) -> DateTime<Utc> {
        self.0
    }
}

impl Deref for Timestamp {
    type Target = DateTime<Utc>;

    fn deref(&self) -> &DateTime<Utc> {
        &self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// A string that is not a point in time in any form [`Timestamp`] accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a date-time: {value:?} (expected RFC 3339, such as 2026-05-21T09:12:00Z)")]
pub struct TimestampError {
    value: String,
}

impl TimestampError {
    /// The rejected text, cut to its first 64 characters.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Date and time with an offset, separated by `T` or a space; `%#z` takes
/// `Z`, `+hh:mm`, `+hhmm` and `+hh`.
const WITH_OFFSET: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"];
/// Date and time with no offset, with or without seconds.
const WITHOUT_OFFSET: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, TimestampError> {
        let trimmed = text.trim();
        // RFC 3339 proper first: it is what the API sends.
        if let Ok(at) = DateTime::<FixedOffset>::parse_from_rfc3339(trimmed) {
            return Ok(Self(at.with_timezone(&Utc)));
        }
        // chrono's formats match `T` and `Z` exactly; fold the lowercase
        // spellings RFC 3339 also allows.
        let folded: String = trimmed
            .chars()
            .map(|c| match c {
                't' => 'T',
                'z' => 'Z',
                other => other,
            })
            .collect();
        for format in WITH_OFFSET {
            if let Ok(at) = DateTime::<FixedOffset>::parse_from_str(&folded, format) {
                return Ok(Self(at.with_timezone(&Utc)));
            }
        }
        for format in WITHOUT_OFFSET {
            if let Ok(at) = NaiveDateTime::parse_from_str(&folded, format) {
                return Ok(Self(at.and_utc()));
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(&folded, "%Y-%m-%d") {
            return Ok(Self(date.and_time(chrono::NaiveTime::MIN).and_utc()));
        }
        Err(TimestampError {
            value: text.chars().take(64).collect(),
        })
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time string")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                text.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> String {
        match text.parse::<Timestamp>() {
            Ok(at) => at.to_string(),
            Err(e) => panic!("{text:?} did not parse: {e}"),
        }
    }

    #[test]
    fn every_accepted_spelling_reads_as_the_same_instant() {
        for text in [
            "2026-05-21T09:12:00Z",
            "2026-05-21t09:12:00z",
            "2026-05-21 09:12:00Z",
            "2026-05-21T11:12:00+02:00",
            "2026-05-21T11:12:00+0200",
            "2026-05-21T11:12:00+02",
            "2026-05-21 11:12:00+02",
            "2026-05-21T09:12:00",
            "2026-05-21 09:12:00",
            "2026-05-21T09:12",
            " 2026-05-21T09:12:00Z ",
        ] {
            assert_eq!(parse(text), "2026-05-21T09:12:00Z", "{text}");
        }
        assert_eq!(parse("2026-05-21"), "2026-05-21T00:00:00Z");
    }

    #[test]
    fn fractions_are_kept_to_the_digits_they_have() {
        assert_eq!(parse("2026-05-21T09:12:00.5Z"), "2026-05-21T09:12:00.500Z");
        assert_eq!(
            parse("2026-05-21T09:12:00.123456Z"),
            "2026-05-21T09:12:00.123456Z"
        );
        assert_eq!(parse("2026-05-21T09:12:00.000Z"), "2026-05-21T09:12:00Z");
    }

    #[test]
    fn other_text_is_an_error_that_names_it() {
        for text in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "1716282720",
            "2026-05-21T25:00Z",
        ] {
            let error = text.parse::<Timestamp>().err();
            let error = error.unwrap_or_else(|| panic!("{text:?} parsed"));
            assert_eq!(error.value(), text);
            assert!(error.to_string().contains("not a date-time"), "{error}");
        }
        let long = "x".repeat(500);
        let error = long.parse::<Timestamp>().err();
        assert_eq!(error.map(|e| e.value().len()), Some(64));
    }

    #[test]
    fn serde_round_trips_through_the_canonical_string() {
        let at: Timestamp = serde_json::from_str("\"2026-05-21 11:12:00.25+02:00\"")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_string(&at).unwrap_or_default(),
            "\"2026-05-21T09:12:00.250Z\""
        );
        let not_a_string = serde_json::from_str::<Timestamp>("1716282720");
        assert!(not_a_string.is_err());
        let bad = serde_json::from_str::<Timestamp>("\"soon\"").err();
        assert!(bad.is_some_and(|e| e.to_string().contains("\"soon\"")));
    }

    #[test]
    fn chrono_is_one_conversion_away() {
        let now = DateTime::<Utc>::from_timestamp(1_779_354_720, 0).unwrap_or_default();
        let at = Timestamp::from(now);
        assert_eq!(*at, now);
        assert_eq!(DateTime::<Utc>::from(at), now);
        assert_eq!(at.as_datetime(), &now);
        assert_eq!(format!("{at:?}"), "Timestamp(2026-05-21T09:12:00Z)");
    }
}

//! How times cross to the faces as text: RFC 3339 in UTC with milliseconds
//! and a `Z` suffix (`2026-05-01T09:30:00.125Z`), the form JavaScript's
//! `Date` produces and parses everywhere.
//!
//! Views use these through `#[serde(serialize_with = ...)]`; stored JSON
//! (decision traces) keeps chrono's own form, which round-trips exactly.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// `t` as RFC 3339 with milliseconds, `Z` suffix.
pub fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serializes a time as [`text`].
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&text(*t))
}

/// Serializes an optional time as [`text`] or `null`.
pub fn serialize_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&text(*t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(serde::Serialize)]
    struct Shown {
        #[serde(serialize_with = "serialize")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "serialize_opt")]
        maybe: Option<DateTime<Utc>>,
    }

    #[test]
    fn milliseconds_and_z() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 30, 0).unwrap()
            + chrono::Duration::microseconds(125_678);
        let json = serde_json::to_value(Shown { at, maybe: None }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"at": "2026-05-01T09:30:00.125Z", "maybe": null})
        );
        let json = serde_json::to_value(Shown {
            at,
            maybe: Some(at),
        })
        .unwrap();
        assert_eq!(json["maybe"], "2026-05-01T09:30:00.125Z");
    }
}

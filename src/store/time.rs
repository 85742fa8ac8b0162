//! The one codec for times in the store: a time is stored as INTEGER Unix
//! milliseconds, UTC (as the `fed_*` tables always did). Queries bind
//! [`to_ms`] and decode with [`from_ms`]; no caller formats a time for SQL.
//!
//! Migrations 1200 and up convert the RFC 3339 TEXT times that older versions
//! wrote (as sqlx encodes a `DateTime<Utc>`: `2026-11-30T01:22:23.5+00:00`,
//! or with `Z`) into this form, exactly to the millisecond (sub-millisecond
//! digits are dropped, as [`to_ms`] drops them).

use chrono::{DateTime, TimeZone, Utc};

/// A time as stored: Unix milliseconds, UTC (sub-millisecond part dropped).
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time back; a value out of chrono's range is a decode error.
pub(crate) fn from_ms(v: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    Utc.timestamp_millis_opt(v)
        .single()
        .ok_or_else(|| sqlx::Error::Decode(format!("stored time {v} is out of range").into()))
}

/// An optional stored time back.
pub(crate) fn from_ms_opt(v: Option<i64>) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    v.map(from_ms).transpose()
}

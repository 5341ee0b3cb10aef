//! Opaque keyset cursors: the position of the last item of a page, as URL-safe text.
//!
//! A cursor is only a position, never a permission: every list re-checks membership and
//! bounds its query by the group, so a forged cursor can only skip rows the caller may see.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Error;
use crate::domain::{ActivityCursor, ActivityId, DatedCursor, GroupId};

fn invalid() -> Error {
    Error::invalid(
        "cursor",
        "invalid_cursor",
        "not a cursor this list gave out",
    )
}

fn encode(text: String) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn decode(cursor: &str) -> Result<String, Error> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

fn micros(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000
}

fn from_micros(text: &str) -> Result<OffsetDateTime, Error> {
    let us: i128 = text.parse().map_err(|_| invalid())?;
    OffsetDateTime::from_unix_timestamp_nanos(us * 1_000).map_err(|_| invalid())
}

/// `d.<julian day>.<created micros>.<uuid>`.
pub(super) fn dated(c: &DatedCursor) -> String {
    encode(format!(
        "d.{}.{}.{}",
        c.occurred_on.to_julian_day(),
        micros(c.created_at),
        c.id
    ))
}

pub(super) fn parse_dated(cursor: &str) -> Result<DatedCursor, Error> {
    let text = decode(cursor)?;
    let mut parts = text.split('.');
    let (Some("d"), Some(day), Some(at), Some(id), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    let day: i32 = day.parse().map_err(|_| invalid())?;
    Ok(DatedCursor {
        occurred_on: Date::from_julian_day(day).map_err(|_| invalid())?,
        created_at: from_micros(at)?,
        id: Uuid::parse_str(id).map_err(|_| invalid())?,
    })
}

/// `a.<micros>.<uuid>`.
pub(super) fn activity(c: &ActivityCursor) -> String {
    encode(format!("a.{}.{}", micros(c.at), c.id))
}

pub(super) fn parse_activity(cursor: &str) -> Result<ActivityCursor, Error> {
    let text = decode(cursor)?;
    let mut parts = text.split('.');
    let (Some("a"), Some(at), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    Ok(ActivityCursor {
        at: from_micros(at)?,
        id: ActivityId(Uuid::parse_str(id).map_err(|_| invalid())?),
    })
}

/// `g.<uuid>`.
pub(super) fn group(id: GroupId) -> String {
    encode(format!("g.{id}"))
}

pub(super) fn parse_group(cursor: &str) -> Result<GroupId, Error> {
    let text = decode(cursor)?;
    let id = text.strip_prefix("g.").ok_or_else(invalid)?;
    Ok(GroupId(Uuid::parse_str(id).map_err(|_| invalid())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).expect("valid");
        let c = DatedCursor {
            occurred_on: at.date(),
            created_at: at,
            id: Uuid::now_v7(),
        };
        assert_eq!(parse_dated(&dated(&c)).expect("round trip"), c);
        let a = ActivityCursor {
            at,
            id: ActivityId::random(),
        };
        assert_eq!(parse_activity(&activity(&a)).expect("round trip"), a);
        let g = GroupId::random();
        assert_eq!(parse_group(&group(g)).expect("round trip"), g);
        assert!(parse_dated(&activity(&a)).is_err());
        assert!(parse_group("!!!").is_err());
        assert!(parse_activity(&encode("a.1.2.3".into())).is_err());
    }
}

//! Column types shared by both dialects, so one set of row structs serves both stores.
//!
//! PostgreSQL has native UUID and TIMESTAMPTZ columns; SQLite stores a UUID as its
//! lower-case hyphenated text (byte order = UUID order, which keyset cursors rely on) and a
//! timestamp as INTEGER unix microseconds (exact round trip and numeric order). These
//! newtypes encode and decode the right form for each database. (Dates need none: sqlx
//! stores them as `YYYY-MM-DD` text on SQLite, whose lexical order is date order.)

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};
use time::OffsetDateTime;
use uuid::Uuid;

/// A UUID column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbUuid(pub Uuid);

/// A timestamp column (microsecond precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbTime(pub OffsetDateTime);

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use sqlx::Postgres;
    use sqlx::postgres::{PgTypeInfo, PgValueRef};

    macro_rules! delegate {
        ($wrapper:ident, $inner:ty) => {
            impl Type<Postgres> for $wrapper {
                fn type_info() -> PgTypeInfo {
                    <$inner as Type<Postgres>>::type_info()
                }
                fn compatible(ty: &PgTypeInfo) -> bool {
                    <$inner as Type<Postgres>>::compatible(ty)
                }
            }
            impl<'r> Decode<'r, Postgres> for $wrapper {
                fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                    Ok(Self(<$inner as Decode<'r, Postgres>>::decode(value)?))
                }
            }
            impl Encode<'_, Postgres> for $wrapper {
                fn encode_by_ref(
                    &self,
                    buf: &mut <Postgres as Database>::ArgumentBuffer,
                ) -> Result<IsNull, BoxDynError> {
                    <$inner as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
                }
            }
        };
    }

    delegate!(DbUuid, Uuid);
    delegate!(DbTime, OffsetDateTime);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use sqlx::Sqlite;
    use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};

    macro_rules! via {
        ($wrapper:ident, $inner:ty, |$v:ident| $to:expr, |$raw:ident| $from:expr) => {
            impl Type<Sqlite> for $wrapper {
                fn type_info() -> SqliteTypeInfo {
                    <$inner as Type<Sqlite>>::type_info()
                }
                fn compatible(ty: &SqliteTypeInfo) -> bool {
                    <$inner as Type<Sqlite>>::compatible(ty)
                }
            }
            impl<'r> Decode<'r, Sqlite> for $wrapper {
                fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                    let $raw = <$inner as Decode<'r, Sqlite>>::decode(value)?;
                    Ok(Self($from))
                }
            }
            impl Encode<'_, Sqlite> for $wrapper {
                fn encode_by_ref(
                    &self,
                    buf: &mut <Sqlite as Database>::ArgumentBuffer,
                ) -> Result<IsNull, BoxDynError> {
                    let $v = self.0;
                    let raw: Result<$inner, BoxDynError> = $to;
                    <$inner as Encode<'_, Sqlite>>::encode(raw?, buf)
                }
            }
        };
    }

    via!(DbUuid, String, |v| Ok(v.hyphenated().to_string()), |raw| {
        Uuid::parse_str(&raw)?
    });
    via!(
        DbTime,
        i64,
        |v| i64::try_from(v.unix_timestamp_nanos() / 1_000).map_err(Into::into),
        |raw| OffsetDateTime::from_unix_timestamp_nanos(i128::from(raw) * 1_000)?
    );
}

//! Restream destinations in SQL.

use super::{DbConnection, DbPool, DbRow};
use super::{instant, millis};
use crate::store::*;
use kezdesu_core::restream::Platform;
use sqlx::Row;

const COLUMNS: &str = "id, meeting_id, account_id, platform, name, ingest_url, stream_key_sealed, key_hint, \
                       enabled, version, created_at, updated_at";

fn destination_from(row: &DbRow) -> StoreResult<Destination> {
    let owner =
        match (row.try_get::<Option<i64>, _>("meeting_id")?, row.try_get::<Option<i64>, _>("account_id")?) {
            (Some(meeting), None) => DestinationOwner::Meeting(MeetingId(meeting)),
            (None, Some(account)) => DestinationOwner::Account(AccountId(account)),
            _ => return Err(StoreError::Corrupt("a destination must have one owner".to_owned())),
        };
    let platform: String = row.try_get("platform")?;
    Ok(Destination {
        id: row.try_get("id")?,
        owner,
        platform: Platform::parse(&platform)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown restream platform {platform:?}")))?,
        name: row.try_get("name")?,
        ingest_url: row.try_get("ingest_url")?,
        stream_key_sealed: row.try_get("stream_key_sealed")?,
        key_hint: row.try_get("key_hint")?,
        enabled: row.try_get("enabled")?,
        version: row.try_get("version")?,
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

/// The owner's column and id.
fn owner_column(owner: DestinationOwner) -> (&'static str, i64) {
    match owner {
        DestinationOwner::Meeting(meeting) => ("meeting_id", meeting.0),
        DestinationOwner::Account(account) => ("account_id", account.0),
    }
}

pub(super) async fn destinations(pool: &DbPool, owner: DestinationOwner) -> StoreResult<Vec<Destination>> {
    let (column, id) = owner_column(owner);
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM restream_destinations WHERE {column} = $1 ORDER BY id"))
            .bind(id)
            .fetch_all(pool)
            .await?;
    rows.iter().map(destination_from).collect()
}

pub(super) async fn destination(pool: &DbPool, id: i64) -> StoreResult<Destination> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM restream_destinations WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(destination_from).transpose()?.ok_or(StoreError::NotFound("destination"))
}

/// Adds a destination in one statement that also counts the owner's, so that the limit holds
/// however many requests arrive at once.
pub(super) async fn add_destination(
    pool: &DbPool,
    owner: DestinationOwner,
    fields: &DestinationFields,
    max: usize,
    now: Timestamp,
) -> StoreResult<Option<Destination>> {
    let (column, owner_id) = owner_column(owner);
    let sql = format!(
        "INSERT INTO restream_destinations ({column}, platform, name, ingest_url, stream_key_sealed, key_hint, \
         enabled, version, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, 0, $8, $8 \
         WHERE (SELECT COUNT(*) FROM restream_destinations WHERE {column} = $1) < $9 \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(owner_id)
        .bind(fields.platform.as_str())
        .bind(&fields.name)
        .bind(&fields.ingest_url)
        .bind(&fields.stream_key_sealed)
        .bind(&fields.key_hint)
        .bind(fields.enabled)
        .bind(millis(now))
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_optional(pool)
        .await
        .map_err(|error| super::constraint(error, "destination", "meeting or account"))?;
    row.as_ref().map(destination_from).transpose()
}

pub(super) async fn update_destination(
    pool: &DbPool,
    id: i64,
    version: i64,
    fields: &DestinationFields,
    now: Timestamp,
) -> StoreResult<Destination> {
    let sql = format!(
        "UPDATE restream_destinations SET platform = $3, name = $4, ingest_url = $5, stream_key_sealed = $6, \
         key_hint = $7, enabled = $8, version = version + 1, updated_at = $9 \
         WHERE id = $1 AND version = $2 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(version)
        .bind(fields.platform.as_str())
        .bind(&fields.name)
        .bind(&fields.ingest_url)
        .bind(&fields.stream_key_sealed)
        .bind(&fields.key_hint)
        .bind(fields.enabled)
        .bind(millis(now))
        .fetch_optional(pool)
        .await?;
    match row {
        Some(row) => destination_from(&row),
        None => {
            destination(pool, id).await?;
            Err(StoreError::VersionConflict)
        }
    }
}

pub(super) async fn delete_destination(pool: &DbPool, id: i64) -> StoreResult<()> {
    let deleted =
        sqlx::query("DELETE FROM restream_destinations WHERE id = $1").bind(id).execute(pool).await?;
    if deleted.rows_affected() == 0 { Err(StoreError::NotFound("destination")) } else { Ok(()) }
}

/// Copies an akim's default destinations to their new meeting, in the meeting's transaction.
pub(super) async fn copy_defaults(
    connection: &mut DbConnection,
    akim: AccountId,
    meeting: MeetingId,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO restream_destinations (meeting_id, platform, name, ingest_url, stream_key_sealed, key_hint, \
         enabled, version, created_at, updated_at) \
         SELECT $1, platform, name, ingest_url, stream_key_sealed, key_hint, enabled, 0, $3, $3 \
         FROM restream_destinations WHERE account_id = $2 ORDER BY id",
    )
    .bind(meeting.0)
    .bind(akim.0)
    .bind(millis(now))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

pub(super) async fn sealed_keys(pool: &DbPool) -> StoreResult<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, stream_key_sealed FROM restream_destinations ORDER BY id")
        .fetch_all(pool)
        .await?;
    rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("stream_key_sealed")?))).collect()
}

/// Replaces a sealed key with the same key sealed anew, unless it changed meanwhile.
pub(super) async fn reseal_key(pool: &DbPool, id: i64, old: &str, new: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE restream_destinations SET stream_key_sealed = $3 WHERE id = $1 AND stream_key_sealed = $2",
    )
    .bind(id)
    .bind(old)
    .bind(new)
    .execute(pool)
    .await?;
    Ok(())
}

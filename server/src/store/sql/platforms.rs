//! Platform comments in SQL: connected accounts, followed objects, cursors, platform viewers.

use super::{DbConnection, DbPool, DbRow};
use super::{constraint, instant, millis};
use crate::store::*;
use kezdesu_core::platforms::{Follow, SocialPlatform};
use sqlx::Row;

fn platform_of(row: &DbRow) -> StoreResult<SocialPlatform> {
    let platform: String = row.try_get("platform")?;
    SocialPlatform::parse(&platform)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown platform {platform:?}")))
}

fn credential_from(row: &DbRow) -> StoreResult<PlatformCredentialRecord> {
    Ok(PlatformCredentialRecord {
        account: AccountId(row.try_get("account_id")?),
        platform: platform_of(row)?,
        credential_sealed: row.try_get("credential_sealed")?,
        hint: row.try_get("hint")?,
        connected_at: instant(row, "connected_at")?,
    })
}

fn feed_from(row: &DbRow) -> StoreResult<MeetingPlatform> {
    let follow: String = row.try_get("follow")?;
    Ok(MeetingPlatform {
        meeting: MeetingId(row.try_get("meeting_id")?),
        follow: serde_json::from_str::<Follow>(&follow)
            .map_err(|error| StoreError::Corrupt(format!("a meeting's platform follow: {error}")))?,
        cursor: row.try_get("cursor")?,
        status: row.try_get("status")?,
        version: row.try_get("version")?,
        updated_at: instant(row, "updated_at")?,
    })
}

const FEED_COLUMNS: &str = "meeting_id, platform, follow, cursor, status, version, updated_at";

pub(super) async fn credentials(
    pool: &DbPool,
    account: AccountId,
) -> StoreResult<Vec<PlatformCredentialRecord>> {
    let rows = sqlx::query(
        "SELECT account_id, platform, credential_sealed, hint, connected_at FROM platform_credentials \
         WHERE account_id = $1 ORDER BY platform",
    )
    .bind(account.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(credential_from).collect()
}

pub(super) async fn put_credential(pool: &DbPool, record: &PlatformCredentialRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO platform_credentials (account_id, platform, credential_sealed, hint, connected_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, platform) DO UPDATE SET \
         credential_sealed = excluded.credential_sealed, hint = excluded.hint, connected_at = excluded.connected_at",
    )
    .bind(record.account.0)
    .bind(record.platform.as_str())
    .bind(&record.credential_sealed)
    .bind(&record.hint)
    .bind(millis(record.connected_at))
    .execute(pool)
    .await
    .map_err(|error| constraint(error, "platform credential", "account"))?;
    Ok(())
}

pub(super) async fn delete_credential(
    pool: &DbPool,
    account: AccountId,
    platform: SocialPlatform,
) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM platform_credentials WHERE account_id = $1 AND platform = $2")
        .bind(account.0)
        .bind(platform.as_str())
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("platform credential"));
    }
    Ok(())
}

pub(super) async fn sealed_credentials(
    pool: &DbPool,
) -> StoreResult<Vec<(AccountId, SocialPlatform, String)>> {
    let rows = sqlx::query("SELECT account_id, platform, credential_sealed FROM platform_credentials")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((AccountId(row.try_get("account_id")?), platform_of(row)?, row.try_get("credential_sealed")?))
        })
        .collect()
}

pub(super) async fn reseal_credential(
    pool: &DbPool,
    account: AccountId,
    platform: SocialPlatform,
    old: &str,
    new: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE platform_credentials SET credential_sealed = $4 \
         WHERE account_id = $1 AND platform = $2 AND credential_sealed = $3",
    )
    .bind(account.0)
    .bind(platform.as_str())
    .bind(old)
    .bind(new)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn feeds(pool: &DbPool, meeting: MeetingId) -> StoreResult<Vec<MeetingPlatform>> {
    let rows = sqlx::query(&format!(
        "SELECT {FEED_COLUMNS} FROM meeting_platforms WHERE meeting_id = $1 ORDER BY platform"
    ))
    .bind(meeting.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(feed_from).collect()
}

pub(super) async fn put_feed(
    pool: &DbPool,
    meeting: MeetingId,
    follow: &Follow,
    now: Timestamp,
) -> StoreResult<MeetingPlatform> {
    let json = serde_json::to_string(follow).map_err(|error| StoreError::Corrupt(error.to_string()))?;
    // The same follow again keeps the cursor: the reader goes on where it stood.
    let row = sqlx::query(&format!(
        "INSERT INTO meeting_platforms (meeting_id, platform, follow, version, updated_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (meeting_id, platform) DO UPDATE SET \
         cursor = CASE WHEN meeting_platforms.follow = excluded.follow THEN meeting_platforms.cursor ELSE NULL END, \
         version = CASE WHEN meeting_platforms.follow = excluded.follow THEN meeting_platforms.version \
                   ELSE meeting_platforms.version + 1 END, \
         follow = excluded.follow, updated_at = excluded.updated_at \
         RETURNING {FEED_COLUMNS}"
    ))
    .bind(meeting.0)
    .bind(follow.platform().as_str())
    .bind(&json)
    .bind(millis(now))
    .fetch_one(pool)
    .await
    .map_err(|error| constraint(error, "meeting platform", "meeting"))?;
    feed_from(&row)
}

pub(super) async fn delete_feed(
    pool: &DbPool,
    meeting: MeetingId,
    platform: SocialPlatform,
) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM meeting_platforms WHERE meeting_id = $1 AND platform = $2")
        .bind(meeting.0)
        .bind(platform.as_str())
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("meeting platform"));
    }
    Ok(())
}

pub(super) async fn set_status(
    pool: &DbPool,
    meeting: MeetingId,
    platform: SocialPlatform,
    status: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE meeting_platforms SET status = $3 WHERE meeting_id = $1 AND platform = $2")
        .bind(meeting.0)
        .bind(platform.as_str())
        .bind(status)
        .execute(pool)
        .await?;
    Ok(())
}

/// Written inside a live commit's transaction.
pub(super) async fn store_cursor(
    transaction: &mut DbConnection,
    meeting: MeetingId,
    cursor: &FeedCursor,
) -> StoreResult<()> {
    sqlx::query("UPDATE meeting_platforms SET cursor = $3 WHERE meeting_id = $1 AND platform = $2")
        .bind(meeting.0)
        .bind(cursor.platform.as_str())
        .bind(&cursor.cursor)
        .execute(&mut *transaction)
        .await?;
    Ok(())
}

pub(super) async fn live_feeds(pool: &DbPool) -> StoreResult<Vec<LiveFeed>> {
    let rows = sqlx::query(
        "SELECT p.meeting_id, p.platform, p.follow, p.cursor, p.status, p.version, p.updated_at, \
         m.akim_account_id, c.account_id, c.credential_sealed, c.hint, c.connected_at \
         FROM meeting_platforms p JOIN meetings m ON m.id = p.meeting_id \
         LEFT JOIN platform_credentials c ON c.account_id = m.akim_account_id AND c.platform = p.platform \
         WHERE m.ended_at IS NULL AND (m.presentation_started_at IS NOT NULL OR m.qa_started_at IS NOT NULL) \
         ORDER BY p.meeting_id, p.platform",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let credential = match row.try_get::<Option<i64>, _>("account_id")? {
                Some(_) => Some(credential_from(row)?),
                None => None,
            };
            Ok(LiveFeed {
                feed: feed_from(row)?,
                akim: AccountId(row.try_get("akim_account_id")?),
                credential,
            })
        })
        .collect()
}

pub(super) async fn platform_viewers(
    pool: &DbPool,
    meeting: MeetingId,
    platform: SocialPlatform,
    authors: &[NewPlatformAuthor],
    now: Timestamp,
) -> StoreResult<Vec<ViewerId>> {
    // One transaction for a batch's new authors: one commit, however many there are.
    let mut transaction = pool.begin().await?;
    let mut viewers = Vec::with_capacity(authors.len());
    for author in authors {
        // An upsert, so that two nodes seeing the same author at once make one viewer.
        let row = sqlx::query(
            "INSERT INTO viewers (meeting_id, display_name, token_hash, created_at, expires_at, platform, platform_user_id) \
             VALUES ($1, $2, $3, $4, $4, $5, $6) \
             ON CONFLICT (meeting_id, platform, platform_user_id) DO UPDATE SET display_name = excluded.display_name \
             RETURNING id",
        )
        .bind(meeting.0)
        .bind(&author.display_name)
        .bind(&author.token_hash)
        .bind(millis(now))
        .bind(platform.as_str())
        .bind(&author.platform_user_id)
        .fetch_one(&mut *transaction)
        .await
        .map_err(|error| constraint(error, "viewer token", "meeting"))?;
        viewers.push(ViewerId(row.try_get("id")?));
    }
    transaction.commit().await?;
    Ok(viewers)
}

/// Follows the YouTube chat of the active broadcast in each of the akim's meetings (or the one
/// meeting) that restreams to YouTube and follows nothing there yet, once the akim has a
/// YouTube account connected: the restream makes the broadcast knowable, so nobody has to type
/// its id. A follow the akim removed later is not made again until the next such change.
pub(super) async fn follow_restreamed_youtube(
    pool: &DbPool,
    akim: AccountId,
    meeting: Option<MeetingId>,
    now: Timestamp,
) -> StoreResult<u64> {
    let follow = serde_json::to_string(&Follow::Youtube { live_chat_id: None, video_id: None })
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let done = sqlx::query(
        "INSERT INTO meeting_platforms (meeting_id, platform, follow, version, updated_at) \
         SELECT m.id, 'youtube', $1, 0, $2 FROM meetings m \
         WHERE m.akim_account_id = $3 AND ($4 IS NULL OR m.id = $4) AND m.ended_at IS NULL \
         AND EXISTS (SELECT 1 FROM restream_destinations d WHERE d.meeting_id = m.id AND d.platform = 'youtube' AND d.enabled) \
         AND EXISTS (SELECT 1 FROM platform_credentials c WHERE c.account_id = m.akim_account_id AND c.platform = 'youtube') \
         AND NOT EXISTS (SELECT 1 FROM meeting_platforms p WHERE p.meeting_id = m.id AND p.platform = 'youtube') \
         ON CONFLICT (meeting_id, platform) DO NOTHING",
    )
    .bind(&follow)
    .bind(millis(now))
    .bind(akim.0)
    .bind(meeting.map(|meeting| meeting.0))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

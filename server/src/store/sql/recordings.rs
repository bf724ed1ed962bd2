//! Recordings in SQL: the recording's row, its parts and the replay's files.

use super::{DbPool, DbRow};
use super::{instant, millis, optional_instant};
use crate::store::*;
use sqlx::Row;

const PART_COLUMNS: &str = "id, meeting_id, number, node, video_codec, audio_codec, started_at, alive_until, \
                            ended_at, duration_ms, bytes, file_number, offset_ms";

fn part_from(row: &DbRow) -> StoreResult<RecordingPart> {
    Ok(RecordingPart {
        id: row.try_get("id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        number: row.try_get("number")?,
        node: row.try_get("node")?,
        video_codec: row.try_get("video_codec")?,
        audio_codec: row.try_get("audio_codec")?,
        started_at: instant(row, "started_at")?,
        alive_until: instant(row, "alive_until")?,
        ended_at: optional_instant(row, "ended_at")?,
        duration_ms: row.try_get("duration_ms")?,
        bytes: row.try_get("bytes")?,
        file_number: row.try_get("file_number")?,
        offset_ms: row.try_get("offset_ms")?,
    })
}

fn recording_from(row: &DbRow) -> StoreResult<Recording> {
    let state: String = row.try_get("state")?;
    Ok(Recording {
        meeting: MeetingId(row.try_get("meeting_id")?),
        state: RecordingState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown recording state {state:?}")))?,
        error: row.try_get("error")?,
        deleted_at: optional_instant(row, "deleted_at")?,
        deleted_by: row.try_get::<Option<i64>, _>("deleted_by")?.map(AccountId),
        version: row.try_get("version")?,
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
        parts: Vec::new(),
        files: Vec::new(),
    })
}

pub(super) async fn recording(pool: &DbPool, meeting: MeetingId) -> StoreResult<Option<Recording>> {
    let row = sqlx::query(
        "SELECT meeting_id, state, error, deleted_at, deleted_by, version, created_at, updated_at \
         FROM recordings WHERE meeting_id = $1",
    )
    .bind(meeting.0)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut recording = recording_from(&row)?;
    let parts = sqlx::query(&format!(
        "SELECT {PART_COLUMNS} FROM recording_parts WHERE meeting_id = $1 ORDER BY number"
    ))
    .bind(meeting.0)
    .fetch_all(pool)
    .await?;
    recording.parts = parts.iter().map(part_from).collect::<StoreResult<_>>()?;
    let files = sqlx::query(
        "SELECT number, path, content_type, bytes, duration_ms FROM recording_files \
         WHERE meeting_id = $1 ORDER BY number",
    )
    .bind(meeting.0)
    .fetch_all(pool)
    .await?;
    recording.files = files
        .iter()
        .map(|row| {
            Ok(RecordingFile {
                number: row.try_get("number")?,
                path: row.try_get("path")?,
                content_type: row.try_get("content_type")?,
                bytes: row.try_get("bytes")?,
                duration_ms: row.try_get("duration_ms")?,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(Some(recording))
}

/// Opens the meeting's next part (and its recording, if it had none), in one transaction.
/// A deleted recording is not recorded into again; then `None`.
pub(super) async fn start_part(
    pool: &DbPool,
    meeting: MeetingId,
    node: &str,
    codecs: &PartCodecs,
    now: Timestamp,
    alive_until: Timestamp,
) -> StoreResult<Option<RecordingPart>> {
    let mut transaction = pool.begin_with(super::engine::WRITE_TRANSACTION).await?;
    let state: Option<String> = sqlx::query_scalar(&format!(
        "SELECT state FROM recordings WHERE meeting_id = $1{}",
        super::engine::FOR_UPDATE
    ))
    .bind(meeting.0)
    .fetch_optional(&mut *transaction)
    .await?;
    match state.as_deref() {
        Some("deleted") => return Ok(None),
        Some(_) => {
            // On air again: whatever had been made of the earlier parts is made again at the end.
            sqlx::query(
                "UPDATE recordings SET state = 'recording', claimed_by = NULL, claimed_until = NULL, \
                 error = NULL, version = version + 1, updated_at = $2 WHERE meeting_id = $1",
            )
            .bind(meeting.0)
            .bind(millis(now))
            .execute(&mut *transaction)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO recordings (meeting_id, state, version, created_at, updated_at) \
                 VALUES ($1, 'recording', 0, $2, $2)",
            )
            .bind(meeting.0)
            .bind(millis(now))
            .execute(&mut *transaction)
            .await
            .map_err(|error| super::constraint(error, "recording", "meeting"))?;
        }
    }
    let row = sqlx::query(&format!(
        "INSERT INTO recording_parts (meeting_id, number, node, video_codec, audio_codec, started_at, alive_until) \
         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, $4, $5, $6 FROM recording_parts WHERE meeting_id = $1 \
         RETURNING {PART_COLUMNS}"
    ))
    .bind(meeting.0)
    .bind(node)
    .bind(codecs.video.as_deref())
    .bind(codecs.audio.as_deref())
    .bind(millis(now))
    .bind(millis(alive_until))
    .fetch_one(&mut *transaction)
    .await?;
    let part = part_from(&row)?;
    transaction.commit().await?;
    Ok(Some(part))
}

/// Renews an open part's lease, and dates its start if `started_at` is given; `false` when it
/// was closed meanwhile (by a sweep that thought its writer dead).
pub(super) async fn renew_part(
    pool: &DbPool,
    part: i64,
    alive_until: Timestamp,
    started_at: Option<Timestamp>,
) -> StoreResult<bool> {
    let renewed = sqlx::query(
        "UPDATE recording_parts SET alive_until = $2, started_at = COALESCE($3, started_at)          WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(part)
    .bind(millis(alive_until))
    .bind(started_at.map(millis))
    .execute(pool)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Closes an open part; `false` when another closed it first.
pub(super) async fn close_part(pool: &DbPool, part: i64, end: &PartEnd) -> StoreResult<bool> {
    let closed = sqlx::query(
        "UPDATE recording_parts SET ended_at = $2, duration_ms = $3, bytes = $4 WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(part)
    .bind(millis(end.ended_at))
    .bind(end.duration_ms)
    .bind(end.bytes)
    .execute(pool)
    .await?;
    Ok(closed.rows_affected() == 1)
}

/// Open parts whose writer stopped renewing them before `now`.
pub(super) async fn lapsed_parts(pool: &DbPool, now: Timestamp) -> StoreResult<Vec<RecordingPart>> {
    let rows = sqlx::query(&format!(
        "SELECT {PART_COLUMNS} FROM recording_parts WHERE ended_at IS NULL AND alive_until < $1 ORDER BY id"
    ))
    .bind(millis(now))
    .fetch_all(pool)
    .await?;
    rows.iter().map(part_from).collect()
}

/// Meetings whose replay may be made now: ended or cancelled, with no part still open, and a
/// recording either waiting (`recording`) or left half-made by a node whose claim lapsed.
pub(super) async fn recordings_to_finish(pool: &DbPool, now: Timestamp) -> StoreResult<Vec<MeetingId>> {
    let rows = sqlx::query(
        "SELECT r.meeting_id FROM recordings r JOIN meetings m ON m.id = r.meeting_id \
         WHERE (r.state = 'recording' OR (r.state = 'processing' AND r.claimed_until < $1)) \
         AND (m.ended_at IS NOT NULL OR m.cancelled_at IS NOT NULL) \
         AND NOT EXISTS (SELECT 1 FROM recording_parts p WHERE p.meeting_id = r.meeting_id AND p.ended_at IS NULL) \
         ORDER BY r.meeting_id",
    )
    .bind(millis(now))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| Ok(MeetingId(row.try_get("meeting_id")?))).collect()
}

/// Claims the making of a meeting's replay for `node` until `until`, if nobody holds it.
pub(super) async fn claim_recording(
    pool: &DbPool,
    meeting: MeetingId,
    node: &str,
    until: Timestamp,
    now: Timestamp,
) -> StoreResult<bool> {
    let claimed = sqlx::query(
        "UPDATE recordings SET state = 'processing', claimed_by = $2, claimed_until = $3, \
         version = version + 1, updated_at = $4 \
         WHERE meeting_id = $1 AND (state = 'recording' OR (state = 'processing' AND claimed_until < $4))",
    )
    .bind(meeting.0)
    .bind(node)
    .bind(millis(until))
    .bind(millis(now))
    .execute(pool)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Stores the replay that `node` made, if its claim still stands: its files, where each part
/// landed, and `ready` (or `failed` with `error`). `false` when the claim was lost.
pub(super) async fn finish_recording(
    pool: &DbPool,
    meeting: MeetingId,
    node: &str,
    outcome: &Result<(Vec<RecordingFile>, Vec<PartPlacement>), String>,
    now: Timestamp,
) -> StoreResult<bool> {
    let mut transaction = pool.begin_with(super::engine::WRITE_TRANSACTION).await?;
    let (state, error) = match outcome {
        Ok(_) => ("ready", None),
        Err(error) => ("failed", Some(error.as_str())),
    };
    let finished = sqlx::query(
        "UPDATE recordings SET state = $3, error = $4, claimed_by = NULL, claimed_until = NULL, \
         version = version + 1, updated_at = $5 \
         WHERE meeting_id = $1 AND state = 'processing' AND claimed_by = $2",
    )
    .bind(meeting.0)
    .bind(node)
    .bind(state)
    .bind(error)
    .bind(millis(now))
    .execute(&mut *transaction)
    .await?;
    if finished.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM recording_files WHERE meeting_id = $1")
        .bind(meeting.0)
        .execute(&mut *transaction)
        .await?;
    if let Ok((files, placements)) = outcome {
        for file in files {
            sqlx::query(
                "INSERT INTO recording_files (meeting_id, number, path, content_type, bytes, duration_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(meeting.0)
            .bind(file.number)
            .bind(&file.path)
            .bind(&file.content_type)
            .bind(file.bytes)
            .bind(file.duration_ms)
            .execute(&mut *transaction)
            .await?;
        }
        for placement in placements {
            sqlx::query("UPDATE recording_parts SET file_number = $2, offset_ms = $3 WHERE id = $1")
                .bind(placement.part_id)
                .bind(placement.file_number)
                .bind(placement.offset_ms)
                .execute(&mut *transaction)
                .await?;
        }
    }
    transaction.commit().await?;
    Ok(true)
}

/// Marks a recording deleted by `by`, if it is still at `version` and neither being recorded
/// nor processed. The files go first (the caller removes them); the row stays as the record.
pub(super) async fn mark_recording_deleted(
    pool: &DbPool,
    meeting: MeetingId,
    version: i64,
    by: AccountId,
    now: Timestamp,
) -> StoreResult<()> {
    let mut transaction = pool.begin_with(super::engine::WRITE_TRANSACTION).await?;
    let deleted = sqlx::query(
        "UPDATE recordings SET state = 'deleted', deleted_at = $3, deleted_by = $4, version = version + 1, \
         updated_at = $3 WHERE meeting_id = $1 AND version = $2 AND state IN ('ready', 'failed')",
    )
    .bind(meeting.0)
    .bind(version)
    .bind(millis(now))
    .bind(by.0)
    .execute(&mut *transaction)
    .await?;
    if deleted.rows_affected() != 1 {
        let exists: Option<i64> = sqlx::query_scalar("SELECT version FROM recordings WHERE meeting_id = $1")
            .bind(meeting.0)
            .fetch_optional(&mut *transaction)
            .await?;
        return Err(if exists.is_some() {
            StoreError::VersionConflict
        } else {
            StoreError::NotFound("recording")
        });
    }
    sqlx::query("DELETE FROM recording_files WHERE meeting_id = $1")
        .bind(meeting.0)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

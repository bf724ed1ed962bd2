//! Yearly calendars and personal receptions in SQLite.

use super::register::date_column;
use super::{Db, DbConnection, DbPool, DbRow, engine};
use super::{constraint, instant, millis, optional_instant};
use crate::store::*;
use kezdesu_core::reception::Official;
use kezdesu_core::yearly::{Approval, Entry, RevisionState};
use sqlx::Row;

const REVISION_COLUMNS: &str = "id, akim_account_id, territory_id, year, revision, state, reason, agreed_on, \
     maslikhat_decision, submitted_on, version, created_by, created_at, updated_at";

fn revision_from(row: &DbRow, entries: Vec<Entry>) -> StoreResult<CalendarRevision> {
    let state: String = row.try_get("state")?;
    let year: i64 = row.try_get("year")?;
    let revision: i64 = row.try_get("revision")?;
    Ok(CalendarRevision {
        id: row.try_get("id")?,
        akim: AccountId(row.try_get("akim_account_id")?),
        territory: TerritoryId(row.try_get("territory_id")?),
        year: i16::try_from(year).map_err(|_| StoreError::Corrupt(format!("calendar year {year}")))?,
        revision: u32::try_from(revision).map_err(|_| StoreError::Corrupt(format!("revision {revision}")))?,
        approval: Approval {
            state: RevisionState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("calendar state {state:?}")))?,
            agreed_on: date_column(row, "agreed_on")?,
            maslikhat_decision: row.try_get("maslikhat_decision")?,
            submitted_on: date_column(row, "submitted_on")?,
        },
        reason: row.try_get("reason")?,
        entries,
        version: row.try_get("version")?,
        created_by: row.try_get::<Option<i64>, _>("created_by")?.map(AccountId),
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

async fn entries_of(connection: &mut DbConnection, revision: i64) -> StoreResult<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT territory_id, planned_on, starts_at, place, online_link FROM calendar_entries \
         WHERE revision_id = $1 ORDER BY position",
    )
    .bind(revision)
    .fetch_all(&mut *connection)
    .await?;
    rows.iter()
        .map(|row| {
            let starts_at: Option<String> = row.try_get("starts_at")?;
            Ok(Entry {
                territory: TerritoryId(row.try_get("territory_id")?),
                on: date_column(row, "planned_on")?
                    .ok_or_else(|| StoreError::Corrupt("calendar entry without a day".into()))?,
                starts_at: starts_at
                    .map(|text| {
                        text.parse().map_err(|error| StoreError::Corrupt(format!("starts_at: {error}")))
                    })
                    .transpose()?,
                place: row.try_get("place")?,
                online_link: row.try_get("online_link")?,
            })
        })
        .collect()
}

async fn write_entries(connection: &mut DbConnection, revision: i64, entries: &[Entry]) -> StoreResult<()> {
    sqlx::query("DELETE FROM calendar_entries WHERE revision_id = $1")
        .bind(revision)
        .execute(&mut *connection)
        .await?;
    for (position, entry) in entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO calendar_entries (revision_id, position, territory_id, planned_on, starts_at, place, online_link) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(revision)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(entry.territory.0)
        .bind(entry.on.to_string())
        .bind(entry.starts_at.map(|time| time.strftime("%H:%M").to_string()))
        .bind(&entry.place)
        .bind(&entry.online_link)
        .execute(&mut *connection)
        .await
        .map_err(|error| constraint(error, "calendar entry", "territory"))?;
    }
    Ok(())
}

async fn revision_on(connection: &mut DbConnection, id: i64) -> StoreResult<CalendarRevision> {
    let row = sqlx::query(&format!("SELECT {REVISION_COLUMNS} FROM calendar_revisions WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?
        .ok_or(StoreError::NotFound("calendar revision"))?;
    let entries = entries_of(connection, id).await?;
    revision_from(&row, entries)
}

pub(super) async fn revision(pool: &DbPool, id: i64) -> StoreResult<CalendarRevision> {
    let mut connection = pool.acquire().await?;
    revision_on(&mut connection, id).await
}

pub(super) async fn revisions(pool: &DbPool, filter: RevisionFilter) -> StoreResult<Vec<CalendarRevision>> {
    let mut connection = pool.acquire().await?;
    let mut query = sqlx::QueryBuilder::<Db>::new(format!(
        "SELECT {REVISION_COLUMNS} FROM calendar_revisions WHERE TRUE"
    ));
    if let Some(akim) = filter.akim {
        query.push(" AND akim_account_id = ").push_bind(akim.0);
    }
    if let Some(year) = filter.year {
        query.push(" AND year = ").push_bind(i64::from(year));
    }
    query.push(" ORDER BY year, akim_account_id, revision");
    let rows = query.build().fetch_all(&mut *connection).await?;
    let mut revisions = Vec::with_capacity(rows.len());
    for row in &rows {
        let entries = entries_of(&mut connection, row.try_get("id")?).await?;
        revisions.push(revision_from(row, entries)?);
    }
    Ok(revisions)
}

pub(super) async fn create_revision(
    pool: &DbPool,
    new: NewRevision,
    now: Timestamp,
) -> StoreResult<CalendarRevision> {
    let mut transaction = pool.begin_with(engine::WRITE_TRANSACTION).await?;
    let latest: Option<i64> = sqlx::query(
        "SELECT MAX(revision) AS latest FROM calendar_revisions WHERE akim_account_id = $1 AND year = $2",
    )
    .bind(new.akim.0)
    .bind(i64::from(new.year))
    .fetch_one(&mut *transaction)
    .await?
    .try_get("latest")?;
    // Somebody started a revision since the caller looked.
    if latest != new.after.map(i64::from) {
        return Err(StoreError::VersionConflict);
    }
    let entries = match latest {
        Some(number) => {
            let previous: i64 = sqlx::query(
                "SELECT id FROM calendar_revisions WHERE akim_account_id = $1 AND year = $2 AND revision = $3",
            )
            .bind(new.akim.0)
            .bind(i64::from(new.year))
            .bind(number)
            .fetch_one(&mut *transaction)
            .await?
            .try_get("id")?;
            entries_of(&mut transaction, previous).await?
        }
        None => new.entries,
    };
    let id: i64 = sqlx::query(
        "INSERT INTO calendar_revisions (akim_account_id, territory_id, year, revision, state, reason, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $7) RETURNING id",
    )
    .bind(new.akim.0)
    .bind(new.territory.0)
    .bind(i64::from(new.year))
    .bind(latest.unwrap_or(0) + 1)
    .bind(&new.reason)
    .bind(new.created_by.0)
    .bind(millis(now))
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| match constraint(error, "calendar revision", "akim or territory") {
        // Another transaction took the same number since this one read the latest.
        StoreError::Taken(_) => StoreError::VersionConflict,
        other => other,
    })?
    .try_get("id")?;
    write_entries(&mut transaction, id, &entries).await?;
    let saved = revision_on(&mut transaction, id).await?;
    transaction.commit().await?;
    Ok(saved)
}

/// Replaces a draft's planned meetings, if the draft is still at `version`.
pub(super) async fn replace_entries(
    pool: &DbPool,
    id: i64,
    version: i64,
    entries: &[Entry],
    now: Timestamp,
) -> StoreResult<CalendarRevision> {
    let mut transaction = pool.begin_with(engine::WRITE_TRANSACTION).await?;
    let updated = sqlx::query(
        "UPDATE calendar_revisions SET version = version + 1, updated_at = $3 \
         WHERE id = $1 AND version = $2 AND state = 'draft'",
    )
    .bind(id)
    .bind(version)
    .bind(millis(now))
    .execute(&mut *transaction)
    .await?;
    if updated.rows_affected() == 0 {
        revision_on(&mut transaction, id).await?;
        return Err(StoreError::VersionConflict);
    }
    write_entries(&mut transaction, id, entries).await?;
    let saved = revision_on(&mut transaction, id).await?;
    transaction.commit().await?;
    Ok(saved)
}

/// Records an approval step, if the revision is still at `version`.
pub(super) async fn set_approval(
    pool: &DbPool,
    id: i64,
    version: i64,
    approval: &Approval,
    now: Timestamp,
) -> StoreResult<CalendarRevision> {
    let mut transaction = pool.begin_with(engine::WRITE_TRANSACTION).await?;
    let updated = sqlx::query(
        "UPDATE calendar_revisions SET state = $3, agreed_on = $4, maslikhat_decision = $5, submitted_on = $6, \
         version = version + 1, updated_at = $7 WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(approval.state.as_str())
    .bind(approval.agreed_on.map(|day| day.to_string()))
    .bind(&approval.maslikhat_decision)
    .bind(approval.submitted_on.map(|day| day.to_string()))
    .bind(millis(now))
    .execute(&mut *transaction)
    .await?;
    if updated.rows_affected() == 0 {
        revision_on(&mut transaction, id).await?;
        return Err(StoreError::VersionConflict);
    }
    let saved = revision_on(&mut transaction, id).await?;
    transaction.commit().await?;
    Ok(saved)
}

const SLOT_COLUMNS: &str =
    "id, meeting_id, starts_at, minutes, place, officials, capacity, booked, cancelled_at";

fn slot_from(row: &DbRow) -> StoreResult<ReceptionSlot> {
    let officials: String = row.try_get("officials")?;
    let number = |column: &str| -> StoreResult<u32> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value}")))
    };
    Ok(ReceptionSlot {
        id: row.try_get("id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        starts_at: instant(row, "starts_at")?,
        minutes: number("minutes")?,
        place: row.try_get("place")?,
        officials: serde_json::from_str::<Vec<Official>>(&officials)
            .map_err(|error| StoreError::Corrupt(format!("officials: {error}")))?,
        capacity: number("capacity")?,
        booked: number("booked")?,
        cancelled_at: optional_instant(row, "cancelled_at")?,
    })
}

pub(super) async fn create_slot(
    pool: &DbPool,
    meeting: MeetingId,
    slot: &kezdesu_core::reception::SlotDraft,
    now: Timestamp,
) -> StoreResult<ReceptionSlot> {
    let officials =
        serde_json::to_string(&slot.officials).map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let row = sqlx::query(&format!(
        "INSERT INTO reception_slots (meeting_id, starts_at, minutes, place, officials, capacity, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {SLOT_COLUMNS}"
    ))
    .bind(meeting.0)
    .bind(millis(slot.starts_at))
    .bind(i64::from(slot.minutes))
    .bind(&slot.place)
    .bind(officials)
    .bind(i64::from(slot.capacity))
    .bind(millis(now))
    .fetch_one(pool)
    .await
    .map_err(|error| constraint(error, "reception", "meeting"))?;
    slot_from(&row)
}

pub(super) async fn slot(pool: &DbPool, id: i64) -> StoreResult<ReceptionSlot> {
    let row = sqlx::query(&format!("SELECT {SLOT_COLUMNS} FROM reception_slots WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("reception"))?;
    slot_from(&row)
}

pub(super) async fn slots(pool: &DbPool, meeting: MeetingId) -> StoreResult<Vec<ReceptionSlot>> {
    let rows = sqlx::query(&format!(
        "SELECT {SLOT_COLUMNS} FROM reception_slots WHERE meeting_id = $1 ORDER BY starts_at, id"
    ))
    .bind(meeting.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(slot_from).collect()
}

pub(super) async fn cancel_slot(pool: &DbPool, id: i64, now: Timestamp) -> StoreResult<ReceptionSlot> {
    sqlx::query(
        "UPDATE reception_slots SET cancelled_at = COALESCE(cancelled_at, $2), updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(millis(now))
    .execute(pool)
    .await?;
    slot(pool, id).await
}

const BOOKING_COLUMNS: &str = "id, slot_id, name, contact, topic, cancelled_at, created_at";

async fn booking_from(connection: &mut DbConnection, row: &DbRow) -> StoreResult<Booking> {
    let id: i64 = row.try_get("id")?;
    let issues = sqlx::query("SELECT issue_id FROM reception_issues WHERE booking_id = $1 ORDER BY issue_id")
        .bind(id)
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| row.try_get("issue_id").map(IssueId))
        .collect::<Result<Vec<IssueId>, sqlx::Error>>()?;
    Ok(Booking {
        id,
        slot: row.try_get("slot_id")?,
        name: row.try_get("name")?,
        contact: row.try_get("contact")?,
        topic: row.try_get("topic")?,
        cancelled_at: optional_instant(row, "cancelled_at")?,
        created_at: instant(row, "created_at")?,
        issues,
    })
}

/// Books a place if one is free, the slot is not cancelled and has not begun at `now`; `None`
/// when it is not bookable (the caller tells why from the slot).
pub(super) async fn book(
    pool: &DbPool,
    booking: &NewBooking,
    now: Timestamp,
) -> StoreResult<Option<Booking>> {
    let mut transaction = pool.begin_with(engine::WRITE_TRANSACTION).await?;
    let taken = sqlx::query(
        "UPDATE reception_slots SET booked = booked + 1, updated_at = $2 \
         WHERE id = $1 AND cancelled_at IS NULL AND starts_at > $2 AND booked < capacity",
    )
    .bind(booking.slot)
    .bind(millis(now))
    .execute(&mut *transaction)
    .await?;
    if taken.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "INSERT INTO reception_bookings (slot_id, name, contact, topic, contact_hash, code_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {BOOKING_COLUMNS}"
    ))
    .bind(booking.slot)
    .bind(&booking.name)
    .bind(&booking.contact)
    .bind(&booking.topic)
    .bind(&booking.contact_hash)
    .bind(&booking.code_hash)
    .bind(millis(now))
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| constraint(error, "booking", "reception"))?;
    let saved = booking_from(&mut transaction, &row).await?;
    transaction.commit().await?;
    Ok(Some(saved))
}

pub(super) async fn bookings(pool: &DbPool, slot: i64) -> StoreResult<Vec<Booking>> {
    let mut connection = pool.acquire().await?;
    let rows = sqlx::query(&format!(
        "SELECT {BOOKING_COLUMNS} FROM reception_bookings WHERE slot_id = $1 ORDER BY id"
    ))
    .bind(slot)
    .fetch_all(&mut *connection)
    .await?;
    let mut bookings = Vec::with_capacity(rows.len());
    for row in &rows {
        bookings.push(booking_from(&mut connection, row).await?);
    }
    Ok(bookings)
}

pub(super) async fn booking(pool: &DbPool, id: i64) -> StoreResult<Booking> {
    let mut connection = pool.acquire().await?;
    let row = sqlx::query(&format!("SELECT {BOOKING_COLUMNS} FROM reception_bookings WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?
        .ok_or(StoreError::NotFound("booking"))?;
    booking_from(&mut connection, &row).await
}

pub(super) async fn booking_by_code(pool: &DbPool, code_hash: &str) -> StoreResult<Option<Booking>> {
    let mut connection = pool.acquire().await?;
    let row = sqlx::query(&format!("SELECT {BOOKING_COLUMNS} FROM reception_bookings WHERE code_hash = $1"))
        .bind(code_hash)
        .fetch_optional(&mut *connection)
        .await?;
    match row {
        Some(row) => Ok(Some(booking_from(&mut connection, &row).await?)),
        None => Ok(None),
    }
}

/// Cancels a booking and frees its place; cancelling twice changes nothing.
pub(super) async fn cancel_booking(pool: &DbPool, id: i64, now: Timestamp) -> StoreResult<Booking> {
    let mut transaction = pool.begin_with(engine::WRITE_TRANSACTION).await?;
    let cancelled = sqlx::query(
        "UPDATE reception_bookings SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL RETURNING slot_id",
    )
    .bind(id)
    .bind(millis(now))
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(row) = cancelled {
        let slot: i64 = row.try_get("slot_id")?;
        sqlx::query("UPDATE reception_slots SET booked = booked - 1, updated_at = $2 WHERE id = $1")
            .bind(slot)
            .bind(millis(now))
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    booking(pool, id).await
}

/// Links a booking to an issue it raised; linking twice changes nothing.
pub(super) async fn link_issue(
    pool: &DbPool,
    booking_id: i64,
    issue: IssueId,
    by: AccountId,
    now: Timestamp,
) -> StoreResult<Booking> {
    sqlx::query(
        "INSERT INTO reception_issues (booking_id, issue_id, linked_by, linked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (booking_id, issue_id) DO NOTHING",
    )
    .bind(booking_id)
    .bind(issue.0)
    .bind(by.0)
    .bind(millis(now))
    .execute(pool)
    .await
    .map_err(|error| constraint(error, "link", "booking or issue"))?;
    booking(pool, booking_id).await
}

pub(super) async fn unlink_issue(pool: &DbPool, booking_id: i64, issue: IssueId) -> StoreResult<Booking> {
    sqlx::query("DELETE FROM reception_issues WHERE booking_id = $1 AND issue_id = $2")
        .bind(booking_id)
        .bind(issue.0)
        .execute(pool)
        .await?;
    booking(pool, booking_id).await
}

pub(super) async fn acted_issue_dates(pool: &DbPool) -> StoreResult<Vec<ActedIssueDates>> {
    let mut connection = pool.acquire().await?;
    // The last change of status closed an issue that is no longer acted on.
    let issues = sqlx::query(
        "SELECT i.id, i.meeting_id, i.accepted_at, i.status, \
         (SELECT MAX(h.at) FROM issue_history h WHERE h.issue_id = i.id AND h.action = 'status') AS status_changed_at \
         FROM register_issues i \
         WHERE i.merged_into IS NULL AND i.meeting_id IS NOT NULL AND i.accepted_at IS NOT NULL ORDER BY i.id",
    )
    .fetch_all(&mut *connection)
    .await?;
    let reports = sqlx::query(
        "SELECT p.issue_id, p.created_at FROM progress_updates p JOIN register_issues i ON i.id = p.issue_id \
         WHERE i.merged_into IS NULL AND i.meeting_id IS NOT NULL AND i.accepted_at IS NOT NULL ORDER BY p.issue_id",
    )
    .fetch_all(&mut *connection)
    .await?;
    let mut progress: std::collections::HashMap<i64, Vec<Timestamp>> = std::collections::HashMap::new();
    for row in &reports {
        progress.entry(row.try_get("issue_id")?).or_default().push(instant(row, "created_at")?);
    }
    issues
        .iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            let status: String = row.try_get("status")?;
            let closed_at = if super::register::parse_status(&status)?.is_acting() {
                None
            } else {
                optional_instant(row, "status_changed_at")?
            };
            Ok(ActedIssueDates {
                meeting: MeetingId(row.try_get("meeting_id")?),
                accepted_at: instant(row, "accepted_at")?,
                closed_at,
                progress: progress.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

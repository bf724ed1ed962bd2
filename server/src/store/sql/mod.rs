//! The SQL store, written once for SQLite and PostgreSQL.
//!
//! This module is compiled twice, once inside `store::sqlite` and once inside
//! `store::postgres` (each includes it with `#[path]`), against the engine its parent names
//! in `engine`. sqlx's API is generic over the database only with a dozen higher-ranked bounds
//! on every function; compiling the same source once per engine keeps every query concrete
//! and checked by the compiler for both, with one copy of the SQL. The few differences
//! (how a write transaction begins, row locks, advisory locks) are the parent's `engine`
//! constants.

use super::engine::{self, Db};
use crate::metrics::StoreLatency;
use crate::store::*;
use kezdesu_core::territory::TerritoryRow;
use sqlx::Row;
use std::future::Future;
use std::time::Instant;

mod calendars;
mod demands;
mod destinations;
mod platforms;
mod recordings;
mod register;

/// The engine's row, connection and pool, named once for the modules below.
type DbRow = <Db as sqlx::Database>::Row;
type DbConnection = <Db as sqlx::Database>::Connection;
type DbPool = sqlx::Pool<Db>;

pub struct SqlStore {
    pool: DbPool,
    /// Where each operation's latency is recorded, for `/metrics`.
    latency: StoreLatency,
}

impl SqlStore {
    /// A store over `pool`, whose database the caller has migrated.
    pub fn new(pool: DbPool, latency: StoreLatency) -> SqlStore {
        SqlStore { pool, latency }
    }

    /// Runs one store operation and records how long it took under `operation`.
    async fn timed<T>(
        &self,
        operation: &'static str,
        work: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let started = Instant::now();
        let result = work.await;
        self.latency.observe(operation, started.elapsed());
        result
    }
}

fn millis(instant: Timestamp) -> i64 {
    instant.as_millisecond()
}

fn instant(row: &DbRow, column: &str) -> StoreResult<Timestamp> {
    let value: i64 = row.try_get(column)?;
    Timestamp::from_millisecond(value).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

fn optional_instant(row: &DbRow, column: &str) -> StoreResult<Option<Timestamp>> {
    let value: Option<i64> = row.try_get(column)?;
    value
        .map(Timestamp::from_millisecond)
        .transpose()
        .map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

/// Maps constraint violations to the store's own errors, naming what was at fault.
fn constraint(error: sqlx::Error, unique: &'static str, reference: &'static str) -> StoreError {
    if let sqlx::Error::Database(database_error) = &error {
        if database_error.is_unique_violation() {
            return StoreError::Taken(unique);
        }
        if database_error.is_foreign_key_violation() {
            return StoreError::MissingReference(reference);
        }
    }
    error.into()
}

fn account_from(row: &DbRow) -> StoreResult<Account> {
    let role: String = row.try_get("role")?;
    Ok(Account {
        id: AccountId(row.try_get("id")?),
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get("disabled")?,
        territory: row.try_get::<Option<i64>, _>("territory_id")?.map(TerritoryId),
        created_at: instant(row, "created_at")?,
    })
}

fn territory_from(row: &DbRow) -> StoreResult<Territory> {
    let kind: String = row.try_get("kind")?;
    Ok(Territory {
        id: TerritoryId(row.try_get("id")?),
        kato: row.try_get("kato")?,
        kind: TerritoryKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("territory kind {kind:?}")))?,
        name: LocalizedText {
            kk: row.try_get("name_kk")?,
            ru: row.try_get("name_ru")?,
            en: row.try_get("name_en")?,
        },
        parent: row.try_get::<Option<i64>, _>("parent_id")?.map(TerritoryId),
    })
}

fn meeting_from(row: &DbRow) -> StoreResult<Meeting> {
    let kind: String = row.try_get("kind")?;
    let share: String = row.try_get("presentation_share")?;
    let planned_minutes: i64 = row.try_get("planned_minutes")?;
    Ok(Meeting {
        id: MeetingId(row.try_get("id")?),
        title: LocalizedText {
            kk: row.try_get("title_kk")?,
            ru: row.try_get("title_ru")?,
            en: row.try_get("title_en")?,
        },
        territory: TerritoryId(row.try_get("territory_id")?),
        akim: AccountId(row.try_get("akim_account_id")?),
        planned_start: instant(row, "planned_start")?,
        planned_minutes: u32::try_from(planned_minutes)
            .map_err(|_| StoreError::Corrupt(format!("planned_minutes {planned_minutes}")))?,
        kind: MeetingKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("kind {kind:?}")))?,
        presentation_share: share.parse().map_err(|error| StoreError::Corrupt(format!("{error}")))?,
        cancelled_at: optional_instant(row, "cancelled_at")?,
        phases: PhaseRecord {
            presentation_started_at: optional_instant(row, "presentation_started_at")?,
            qa_started_at: optional_instant(row, "qa_started_at")?,
            ended_at: optional_instant(row, "ended_at")?,
        },
        announced_at: optional_instant(row, "announced_at")?,
        announced_late: row.try_get("announced_late")?,
        place: row.try_get("place")?,
        online_link: row.try_get("online_link")?,
        version: row.try_get("version")?,
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

fn viewer_from(row: &DbRow) -> StoreResult<Viewer> {
    Ok(Viewer {
        id: ViewerId(row.try_get("id")?),
        meeting: MeetingId(row.try_get("meeting_id")?),
        display_name: row.try_get("display_name")?,
        expires_at: instant(row, "expires_at")?,
    })
}

const LIVE_EVENT_COLUMNS: &str = "seq, at, body, public_body, audience_viewer_id, redacted";

fn seq_value(seq: u64) -> StoreResult<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("sequence number {seq} out of range")))
}

fn live_event_from(row: &DbRow) -> StoreResult<LiveEventRecord> {
    let seq: i64 = row.try_get("seq")?;
    Ok(LiveEventRecord {
        seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))?,
        at: instant(row, "at")?,
        body: row.try_get("body")?,
        public: PublicForm {
            body: row.try_get("public_body")?,
            audience: row.try_get::<Option<i64>, _>("audience_viewer_id")?.map(ViewerId),
            redacted: row.try_get("redacted")?,
        },
    })
}

/// Writes every mutable field of `meeting` if its version is still the stored one; `None`
/// when it is not (or the meeting is gone).
async fn write_meeting(
    connection: &mut DbConnection,
    meeting: &Meeting,
    now: Timestamp,
) -> StoreResult<Option<Meeting>> {
    let sql = format!(
        "UPDATE meetings SET title_kk = $3, title_ru = $4, title_en = $5, territory_id = $6, \
         akim_account_id = $7, planned_start = $8, planned_minutes = $9, kind = $10, \
         presentation_share = $11, cancelled_at = $12, presentation_started_at = $13, \
         qa_started_at = $14, ended_at = $15, version = version + 1, updated_at = $16, \
         announced_at = $17, announced_late = $18, place = $19, online_link = $20 \
         WHERE id = $1 AND version = $2 RETURNING {MEETING_COLUMNS}"
    );
    let phases = meeting.phases;
    let row = sqlx::query(&sql)
        .bind(meeting.id.0)
        .bind(meeting.version)
        .bind(&meeting.title.kk)
        .bind(&meeting.title.ru)
        .bind(&meeting.title.en)
        .bind(meeting.territory.0)
        .bind(meeting.akim.0)
        .bind(millis(meeting.planned_start))
        .bind(i64::from(meeting.planned_minutes))
        .bind(meeting.kind.as_str())
        .bind(meeting.presentation_share.to_string())
        .bind(meeting.cancelled_at.map(millis))
        .bind(phases.presentation_started_at.map(millis))
        .bind(phases.qa_started_at.map(millis))
        .bind(phases.ended_at.map(millis))
        .bind(millis(now))
        .bind(meeting.announced_at.map(millis))
        .bind(meeting.announced_late)
        .bind(&meeting.place)
        .bind(&meeting.online_link)
        .fetch_optional(&mut *connection)
        .await
        .map_err(|error| constraint(error, "meeting", "territory or akim account"))?;
    row.as_ref().map(meeting_from).transpose()
}

const ACCOUNT_COLUMNS: &str =
    "id, login, display_name, role, password_hash, disabled, territory_id, created_at";
const MEETING_COLUMNS: &str = "id, title_kk, title_ru, title_en, territory_id, akim_account_id, planned_start, \
     planned_minutes, kind, presentation_share, cancelled_at, presentation_started_at, qa_started_at, ended_at, \
     announced_at, announced_late, place, online_link, version, created_at, updated_at";

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.timed("ping", async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    async fn close(&self) {
        engine::before_close(&self.pool).await;
        self.pool.close().await;
    }

    async fn count_accounts(&self) -> StoreResult<i64> {
        self.timed("count_accounts", async {
            Ok(sqlx::query("SELECT COUNT(*) AS n FROM accounts").fetch_one(&self.pool).await?.try_get("n")?)
        })
        .await
    }

    async fn create_account(&self, account: NewAccount, now: Timestamp) -> StoreResult<Account> {
        self.timed("create_account", async {
            let sql = format!(
                "INSERT INTO accounts (login, display_name, role, password_hash, disabled, created_at, updated_at, territory_id) \
                 VALUES ($1, $2, $3, $4, FALSE, $5, $5, $6) RETURNING {ACCOUNT_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(&account.login)
                .bind(&account.display_name)
                .bind(account.role.as_str())
                .bind(&account.password_hash)
                .bind(millis(now))
                .bind(account.territory.map(|territory| territory.0))
                .fetch_one(&self.pool)
                .await
                .map_err(|error| constraint(error, "login", "territory"))?;
            account_from(&row)
        })
        .await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Account> {
        self.timed("account", async {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
            let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
            account_from(&row.ok_or(StoreError::NotFound("account"))?)
        })
        .await
    }

    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>> {
        self.timed("account_by_login", async {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE login = $1");
            let row = sqlx::query(&sql).bind(login).fetch_optional(&self.pool).await?;
            row.as_ref().map(account_from).transpose()
        })
        .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.timed("accounts", async {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id");
            sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(account_from).collect()
        })
        .await
    }

    async fn update_account(
        &self,
        id: AccountId,
        changes: AccountChanges,
        now: Timestamp,
    ) -> StoreResult<Account> {
        self.timed("update_account", async {
            let mut transaction = self.pool.begin_with(engine::WRITE_TRANSACTION).await?;
            // The active admins are locked before the check below reads them, so that two
            // demotions at once cannot each see the other as the admin who remains.
            sqlx::query(&format!(
                "SELECT id FROM accounts WHERE role = 'admin' AND disabled = FALSE ORDER BY id{}",
                engine::FOR_UPDATE
            ))
            .fetch_all(&mut *transaction)
            .await?;
            let sql = format!(
                "UPDATE accounts SET display_name = COALESCE($2, display_name), role = COALESCE($3, role), \
                 password_hash = COALESCE($4, password_hash), disabled = COALESCE($5, disabled), updated_at = $6, \
                 territory_id = COALESCE($7, territory_id) \
                 WHERE id = $1 AND NOT (role = 'admin' AND disabled = FALSE \
                     AND (COALESCE($3, role) <> 'admin' OR COALESCE($5, disabled) = TRUE) \
                     AND NOT EXISTS (SELECT 1 FROM accounts other \
                         WHERE other.role = 'admin' AND other.disabled = FALSE AND other.id <> $1)) \
                 RETURNING {ACCOUNT_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(id.0)
                .bind(changes.display_name)
                .bind(changes.role.map(Role::as_str))
                .bind(changes.password_hash)
                .bind(changes.disabled)
                .bind(millis(now))
                .bind(changes.territory.map(|territory| territory.0))
                .fetch_optional(&mut *transaction)
                .await
                .map_err(|error| constraint(error, "account", "territory"))?;
            transaction.commit().await?;
            match row {
                Some(row) => account_from(&row),
                None => {
                    // Tell a missing account from a refused change.
                    self.account(id).await?;
                    Err(StoreError::LastAdmin)
                }
            }
        })
        .await
    }

    async fn create_staff_session(
        &self,
        account: AccountId,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        self.timed("create_staff_session", async {
            sqlx::query(
                "INSERT INTO staff_sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(account.0)
            .bind(millis(now))
            .bind(millis(expires_at))
            .execute(&self.pool)
            .await
            .map_err(|error| constraint(error, "session", "account"))?;
            Ok(())
        })
        .await
    }

    async fn delete_staff_session(&self, token_hash: &str) -> StoreResult<()> {
        self.timed("delete_staff_session", async {
            sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    async fn delete_staff_sessions_of(&self, account: AccountId, keep: Option<&str>) -> StoreResult<()> {
        self.timed("delete_staff_sessions_of", async {
            // `keep` is bound whatever its value, so the statement stays one prepared shape.
            sqlx::query(
                "DELETE FROM staff_sessions WHERE account_id = $1 AND token_hash <> COALESCE($2, '')",
            )
            .bind(account.0)
            .bind(keep)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        self.timed("delete_expired_tokens", async {
            let mut transaction = self.pool.begin().await?;
            let sessions = sqlx::query("DELETE FROM staff_sessions WHERE expires_at <= $1")
                .bind(millis(now))
                .execute(&mut *transaction)
                .await?;
            // Viewers are kept (their comments will point at them); only the token is voided.
            let viewers = sqlx::query("UPDATE viewers SET token_hash = 'expired:' || id WHERE expires_at <= $1 AND token_hash NOT LIKE 'expired:%'")
                .bind(millis(now))
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(sessions.rows_affected() + viewers.rows_affected())
        })
        .await
    }

    async fn token_owner(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<TokenOwner>> {
        self.timed("token_owner", async {
            let sql = format!(
                "SELECT {columns}, s.expires_at AS session_expires_at FROM staff_sessions s \
                 JOIN accounts a ON a.id = s.account_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.disabled = FALSE",
                columns = ACCOUNT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
            );
            if let Some(row) = sqlx::query(&sql).bind(token_hash).bind(millis(now)).fetch_optional(&self.pool).await? {
                let account = account_from(&row)?;
                return Ok(Some(TokenOwner::Staff { account, expires_at: instant(&row, "session_expires_at")? }));
            }
            let row = sqlx::query(
                "SELECT id, meeting_id, display_name, expires_at FROM viewers WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(millis(now))
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.as_ref().map(viewer_from).transpose()?.map(TokenOwner::Viewer))
        })
        .await
    }

    async fn create_territory(&self, territory: NewTerritory, now: Timestamp) -> StoreResult<Territory> {
        self.timed("create_territory", async {
            let row = sqlx::query(
                "INSERT INTO territories (kato, kind, name_kk, name_ru, name_en, parent_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING id, kato, kind, name_kk, name_ru, name_en, parent_id",
            )
            .bind(&territory.kato)
            .bind(territory.kind.as_str())
            .bind(&territory.name.kk)
            .bind(&territory.name.ru)
            .bind(&territory.name.en)
            .bind(territory.parent.map(|p| p.0))
            .bind(millis(now))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| constraint(error, "KATO code", "parent territory"))?;
            territory_from(&row)
        })
        .await
    }

    async fn import_territories(&self, territories: &[TerritoryRow], now: Timestamp) -> StoreResult<u32> {
        self.timed("import_territories", async {
            let mut transaction = self.pool.begin().await?;
            for territory in territories {
                sqlx::query(
                    "INSERT INTO territories (kato, kind, name_kk, name_ru, name_en, parent_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, (SELECT id FROM territories WHERE kato = $6), $7, $7)",
                )
                .bind(&territory.kato)
                .bind(territory.kind.as_str())
                .bind(&territory.name.kk)
                .bind(&territory.name.ru)
                .bind(&territory.name.en)
                .bind(&territory.parent_kato)
                .bind(millis(now))
                .execute(&mut *transaction)
                .await
                .map_err(|error| constraint(error, "KATO code", "parent territory"))?;
            }
            transaction.commit().await?;
            Ok(u32::try_from(territories.len()).unwrap_or(u32::MAX))
        })
        .await
    }

    async fn territory(&self, id: TerritoryId) -> StoreResult<Territory> {
        self.timed("territory", async {
            let row = sqlx::query(
                "SELECT id, kato, kind, name_kk, name_ru, name_en, parent_id FROM territories WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
            territory_from(&row.ok_or(StoreError::NotFound("territory"))?)
        })
        .await
    }

    async fn territories(&self) -> StoreResult<Vec<Territory>> {
        self.timed("territories", async {
            sqlx::query(
                "SELECT id, kato, kind, name_kk, name_ru, name_en, parent_id FROM territories ORDER BY kato",
            )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(territory_from)
            .collect()
        })
        .await
    }

    async fn create_meeting(&self, meeting: NewMeeting, now: Timestamp) -> StoreResult<Meeting> {
        self.timed("create_meeting", async {
            let sql = format!(
                "INSERT INTO meetings (title_kk, title_ru, title_en, territory_id, akim_account_id, planned_start, \
                 planned_minutes, kind, presentation_share, place, online_link, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $12, 0, $10, $10) RETURNING {MEETING_COLUMNS}"
            );
            // The akim's default restream destinations are copied in the same transaction, so
            // a new meeting never exists without them.
            let mut transaction = self.pool.begin_with(engine::WRITE_TRANSACTION).await?;
            let row = sqlx::query(&sql)
                .bind(&meeting.title.kk)
                .bind(&meeting.title.ru)
                .bind(&meeting.title.en)
                .bind(meeting.territory.0)
                .bind(meeting.akim.0)
                .bind(millis(meeting.planned_start))
                .bind(i64::from(meeting.planned_minutes))
                .bind(meeting.kind.as_str())
                .bind(meeting.presentation_share.to_string())
                .bind(millis(now))
                .bind(&meeting.place)
                .bind(&meeting.online_link)
                .fetch_one(&mut *transaction)
                .await
                .map_err(|error| constraint(error, "meeting", "territory or akim account"))?;
            let created = meeting_from(&row)?;
            destinations::copy_defaults(&mut transaction, created.akim, created.id, now).await?;
            transaction.commit().await?;
            Ok(created)
        })
        .await
    }

    async fn meeting(&self, id: MeetingId) -> StoreResult<Meeting> {
        self.timed("meeting", async {
            let sql = format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE id = $1");
            let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
            meeting_from(&row.ok_or(StoreError::NotFound("meeting"))?)
        })
        .await
    }

    async fn meetings(&self, filter: MeetingFilter) -> StoreResult<Vec<Meeting>> {
        self.timed("meetings", async {
            // The status is derived from the phase instants exactly as `MeetingStatus::of` does.
            let status = match filter.status {
                None => "TRUE",
                Some(MeetingStatus::Scheduled) => {
                    "presentation_started_at IS NULL AND qa_started_at IS NULL AND cancelled_at IS NULL"
                }
                Some(MeetingStatus::Live) => {
                    "ended_at IS NULL AND (presentation_started_at IS NOT NULL OR qa_started_at IS NOT NULL)"
                }
                Some(MeetingStatus::Ended) => "ended_at IS NOT NULL",
                Some(MeetingStatus::Cancelled) => {
                    "presentation_started_at IS NULL AND qa_started_at IS NULL AND cancelled_at IS NOT NULL"
                }
            };
            let sql = format!(
                "SELECT {MEETING_COLUMNS} FROM meetings WHERE {status} \
                 AND ($1 IS NULL OR territory_id = $1) AND ($2 IS NULL OR planned_start >= $2) \
                 AND ($3 IS NULL OR planned_start < $3) ORDER BY planned_start, id LIMIT $4"
            );
            sqlx::query(&sql)
                .bind(filter.territory.map(|t| t.0))
                .bind(filter.from.map(millis))
                .bind(filter.to.map(millis))
                .bind(i64::from(filter.limit))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(meeting_from)
                .collect()
        })
        .await
    }

    async fn update_meeting(&self, meeting: &Meeting, now: Timestamp) -> StoreResult<Meeting> {
        self.timed("update_meeting", async {
            let mut connection = self.pool.acquire().await?;
            match write_meeting(&mut connection, meeting, now).await? {
                Some(saved) => Ok(saved),
                None => {
                    // Tell a meeting that is gone from one that moved on.
                    self.meeting(meeting.id).await?;
                    Err(StoreError::VersionConflict)
                }
            }
        })
        .await
    }

    async fn commit_live(
        &self,
        meeting_id: MeetingId,
        events: &[LiveEventRecord],
        public_updates: &[PublicFormUpdate],
        issues: &[ProblemIssue],
        meeting: Option<&Meeting>,
        cursor: Option<&FeedCursor>,
        now: Timestamp,
    ) -> StoreResult<Option<Meeting>> {
        self.timed("commit_live", async {
            let mut transaction = self.pool.begin().await?;
            if let Some(cursor) = cursor {
                platforms::store_cursor(&mut transaction, meeting_id, cursor).await?;
            }
            let saved = match meeting {
                Some(meeting) => {
                    Some(write_meeting(&mut transaction, meeting, now).await?.ok_or(StoreError::VersionConflict)?)
                }
                None => None,
            };
            for event in events {
                sqlx::query(
                    "INSERT INTO live_events (meeting_id, seq, at, body, public_body, audience_viewer_id, redacted) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(meeting_id.0)
                .bind(seq_value(event.seq)?)
                .bind(millis(event.at))
                .bind(&event.body)
                .bind(&event.public.body)
                .bind(event.public.audience.map(|v| v.0))
                .bind(event.public.redacted)
                .execute(&mut *transaction)
                .await
                .map_err(|error| constraint(error, "event sequence number", "meeting"))?;
            }
            for update in public_updates {
                sqlx::query(
                    "UPDATE live_events SET public_body = $3, audience_viewer_id = $4, redacted = $5 \
                     WHERE meeting_id = $1 AND seq = $2",
                )
                .bind(meeting_id.0)
                .bind(seq_value(update.seq)?)
                .bind(&update.public.body)
                .bind(update.public.audience.map(|v| v.0))
                .bind(update.public.redacted)
                .execute(&mut *transaction)
                .await?;
            }
            let mut written = Vec::with_capacity(issues.len());
            for issue in issues {
                let id: i64 = sqlx::query(
                    "INSERT INTO problem_issues (meeting_id, question_number, text, state, outcome, votes, created_at, updated_at, merged_into_question) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (meeting_id, question_number) DO UPDATE SET text = excluded.text, \
                     state = excluded.state, outcome = excluded.outcome, votes = excluded.votes, updated_at = excluded.updated_at, \
                     merged_into_question = excluded.merged_into_question \
                     RETURNING id",
                )
                .bind(issue.meeting.0)
                .bind(issue.question)
                .bind(&issue.text)
                .bind(&issue.state)
                .bind(&issue.outcome)
                .bind(issue.votes)
                .bind(millis(issue.created_at))
                .bind(millis(now))
                .bind(issue.merged_into)
                .fetch_one(&mut *transaction)
                .await?
                .try_get("id")?;
                sqlx::query("DELETE FROM problem_issue_sources WHERE issue_id = $1")
                    .bind(id)
                    .execute(&mut *transaction)
                    .await?;
                for source in &issue.sources {
                    sqlx::query(
                        "INSERT INTO problem_issue_sources (issue_id, comment_number, author_viewer_id, author_name, text, posted_at, source) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(id)
                    .bind(source.comment)
                    .bind(source.author.0)
                    .bind(&source.author_name)
                    .bind(&source.text)
                    .bind(millis(source.posted_at))
                    .bind(
                        source
                            .source
                            .as_ref()
                            .map(|source| serde_json::to_string(&source.public()).expect("sources serialize")),
                    )
                    .execute(&mut *transaction)
                    .await?;
                }
                written.push((id, issue));
            }
            register::follow_live_questions(&mut transaction, meeting_id, &written, now).await?;
            transaction.commit().await?;
            Ok(saved)
        })
        .await
    }

    async fn live_events(
        &self,
        meeting: MeetingId,
        after: u64,
        through: u64,
        limit: u32,
    ) -> StoreResult<Vec<LiveEventRecord>> {
        self.timed("live_events", async {
            sqlx::query(&format!(
                "SELECT {LIVE_EVENT_COLUMNS} FROM live_events WHERE meeting_id = $1 AND seq > $2 AND seq <= $3 \
                 ORDER BY seq LIMIT $4"
            ))
            .bind(meeting.0)
            .bind(seq_value(after)?)
            .bind(seq_value(through)?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(live_event_from)
            .collect()
        })
        .await
    }

    async fn recent_live_events(
        &self,
        meeting: MeetingId,
        reader: LogReader,
        through: u64,
        count: u32,
    ) -> StoreResult<Vec<LiveEventRecord>> {
        self.timed("recent_live_events", async {
            let (everything, viewer) = match reader {
                LogReader::Staff => (true, None),
                LogReader::Viewer(viewer) => (false, Some(viewer.0)),
                LogReader::Public => (false, None),
            };
            // Moderators see everything; others skip what is redacted for them.
            let mut events: Vec<LiveEventRecord> = sqlx::query(&format!(
                "SELECT {LIVE_EVENT_COLUMNS} FROM live_events WHERE meeting_id = $1 AND seq <= $2 \
                 AND ($3 OR redacted = FALSE OR audience_viewer_id = $4) \
                 ORDER BY seq DESC LIMIT $5"
            ))
            .bind(meeting.0)
            .bind(seq_value(through)?)
            .bind(everything)
            .bind(viewer)
            .bind(i64::from(count))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(live_event_from)
            .collect::<StoreResult<_>>()?;
            events.reverse();
            Ok(events)
        })
        .await
    }

    async fn problem_issues(&self, meeting: MeetingId) -> StoreResult<Vec<ProblemIssue>> {
        self.timed("problem_issues", async {
            let rows = sqlx::query(
                "SELECT i.id, i.question_number, i.text, i.state, i.outcome, i.votes, i.merged_into_question, i.created_at, \
                 s.comment_number, s.author_viewer_id, s.author_name, s.text AS source_text, s.posted_at, s.source \
                 FROM problem_issues i LEFT JOIN problem_issue_sources s ON s.issue_id = i.id \
                 WHERE i.meeting_id = $1 ORDER BY i.question_number, s.comment_number",
            )
            .bind(meeting.0)
            .fetch_all(&self.pool)
            .await?;
            let mut issues: Vec<ProblemIssue> = Vec::new();
            for row in &rows {
                let question: i64 = row.try_get("question_number")?;
                if issues.last().is_none_or(|issue| issue.question != question) {
                    issues.push(ProblemIssue {
                        meeting,
                        question,
                        text: row.try_get("text")?,
                        state: row.try_get("state")?,
                        outcome: row.try_get("outcome")?,
                        votes: row.try_get("votes")?,
                        merged_into: row.try_get("merged_into_question")?,
                        created_at: instant(row, "created_at")?,
                        sources: Vec::new(),
                    });
                }
                if let Some(comment) = row.try_get::<Option<i64>, _>("comment_number")? {
                    let issue = issues.last_mut().expect("pushed above");
                    issue.sources.push(IssueSource {
                        comment,
                        author: ViewerId(row.try_get("author_viewer_id")?),
                        author_name: row.try_get("author_name")?,
                        text: row.try_get("source_text")?,
                        posted_at: instant(row, "posted_at")?,
                        source: row
                            .try_get::<Option<String>, _>("source")?
                            .map(|json| serde_json::from_str(&json))
                            .transpose()
                            .map_err(|error| StoreError::Corrupt(format!("an issue source's platform: {error}")))?,
                    });
                }
            }
            Ok(issues)
        })
        .await
    }

    async fn create_viewer(
        &self,
        meeting: MeetingId,
        display_name: &str,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Viewer> {
        self.timed("create_viewer", async {
            let row = sqlx::query(
                "INSERT INTO viewers (meeting_id, display_name, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id, meeting_id, display_name, expires_at",
            )
            .bind(meeting.0)
            .bind(display_name)
            .bind(token_hash)
            .bind(millis(now))
            .bind(millis(expires_at))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| constraint(error, "viewer token", "meeting"))?;
            viewer_from(&row)
        })
        .await
    }

    async fn meeting_results_of(&self, meetings: &[MeetingId]) -> StoreResult<Vec<MeetingResults>> {
        if meetings.is_empty() {
            return Ok(Vec::new());
        }
        self.timed("meeting_results_of", async {
            let placeholders: Vec<String> = (1..=meetings.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT {RESULTS_COLUMNS} FROM meeting_results WHERE meeting_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for meeting in meetings {
                query = query.bind(meeting.0);
            }
            let rows = query.fetch_all(&self.pool).await?;
            rows.iter().map(results_from).collect()
        })
        .await
    }

    async fn publish_meeting_results(
        &self,
        meeting: MeetingId,
        summary: &str,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<MeetingResults> {
        self.timed("publish_meeting_results", async {
            let sql = format!(
                "INSERT INTO meeting_results \
                 (meeting_id, summary, published_at, published_by, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $3, $4) \
                 ON CONFLICT (meeting_id) DO UPDATE SET summary = excluded.summary, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by \
                 RETURNING {RESULTS_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(meeting.0)
                .bind(summary)
                .bind(millis(now))
                .bind(by.0)
                .fetch_one(&self.pool)
                .await
                .map_err(|error| constraint(error, "meeting results", "meeting"))?;
            results_from(&row)
        })
        .await
    }

    async fn create_issue(&self, issue: NewIssue, now: Timestamp) -> StoreResult<IssueId> {
        self.timed("create_issue", register::create_issue(&self.pool, &issue, now)).await
    }

    async fn import_issues(&self, issues: Vec<NewIssue>, now: Timestamp) -> StoreResult<ImportCounts> {
        self.timed("import_issues", register::import_issues(&self.pool, &issues, now)).await
    }

    async fn issue(&self, id: IssueId) -> StoreResult<RegisterIssue> {
        self.timed("issue", register::issue(&self.pool, id)).await
    }

    async fn issues(&self, filter: &IssueFilter) -> StoreResult<Vec<RegisterIssue>> {
        self.timed("issues", register::issues(&self.pool, filter)).await
    }

    async fn count_issues(&self, filter: &IssueFilter) -> StoreResult<u64> {
        self.timed("count_issues", register::count_issues(&self.pool, filter)).await
    }

    async fn update_issue(
        &self,
        issue: &RegisterIssue,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<RegisterIssue> {
        self.timed("update_issue", async {
            register::update_issue(&self.pool, issue, &change, now).await?;
            register::issue(&self.pool, issue.id).await
        })
        .await
    }

    async fn merge_issues(
        &self,
        from: IssueId,
        into: IssueId,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<RegisterIssue> {
        self.timed("merge_issues", async {
            register::merge_issues(&self.pool, from, into, by, now).await?;
            register::issue(&self.pool, into).await
        })
        .await
    }

    async fn add_action_item(
        &self,
        issue: IssueId,
        entry: &ActionPlanEntry,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<ActionItem> {
        self.timed("add_action_item", register::add_action_item(&self.pool, issue, entry, &change, now)).await
    }

    async fn update_action_item(
        &self,
        item: ActionItemId,
        entry: &ActionPlanEntry,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<ActionItem> {
        self.timed("update_action_item", register::update_action_item(&self.pool, item, entry, &change, now))
            .await
    }

    async fn add_progress(
        &self,
        issue: IssueId,
        reported_on: jiff::civil::Date,
        text: &str,
        change: Change,
        now: Timestamp,
    ) -> StoreResult<ProgressUpdate> {
        self.timed("add_progress", register::add_progress(&self.pool, issue, reported_on, text, &change, now))
            .await
    }

    async fn issue_history(&self, issue: IssueId) -> StoreResult<Vec<HistoryEntry>> {
        self.timed("issue_history", register::issue_history(&self.pool, issue)).await
    }

    async fn source_contacts(&self, issue: IssueId) -> StoreResult<Vec<SourceContact>> {
        self.timed("source_contacts", register::source_contacts(&self.pool, issue)).await
    }

    async fn receipt(&self, code: &str) -> StoreResult<Option<Receipt>> {
        self.timed("receipt", register::receipt(&self.pool, code)).await
    }

    async fn viewer_receipt(
        &self,
        viewer: ViewerId,
        meeting: MeetingId,
        code: &str,
        now: Timestamp,
    ) -> StoreResult<String> {
        self.timed("viewer_receipt", register::viewer_receipt(&self.pool, viewer, meeting, code, now)).await
    }

    async fn create_demand(
        &self,
        territory: TerritoryId,
        title: &str,
        text: &str,
        first: &Supporter,
        reached: &(dyn Fn(u32) -> bool + Sync),
        now: Timestamp,
    ) -> StoreResult<Demand> {
        self.timed(
            "create_demand",
            demands::create_demand(&self.pool, territory, title, text, first, reached, now),
        )
        .await
    }

    async fn support_demand(
        &self,
        demand: i64,
        supporter: &Supporter,
        reached: &(dyn Fn(u32) -> bool + Sync),
        now: Timestamp,
    ) -> StoreResult<Demand> {
        self.timed("support_demand", demands::support_demand(&self.pool, demand, supporter, reached, now))
            .await
    }

    async fn demand(&self, id: i64) -> StoreResult<Demand> {
        self.timed("demand", demands::demand(&self.pool, id)).await
    }

    async fn demands(&self, territories: Option<&[TerritoryId]>) -> StoreResult<Vec<Demand>> {
        self.timed("demands", demands::demands(&self.pool, territories)).await
    }

    async fn meet_demand(&self, demand: i64, meeting: MeetingId, now: Timestamp) -> StoreResult<Demand> {
        self.timed("meet_demand", demands::meet_demand(&self.pool, demand, meeting, now)).await
    }

    async fn create_revision(&self, new: NewRevision, now: Timestamp) -> StoreResult<CalendarRevision> {
        self.timed("create_revision", calendars::create_revision(&self.pool, new, now)).await
    }

    async fn revision(&self, id: i64) -> StoreResult<CalendarRevision> {
        self.timed("revision", calendars::revision(&self.pool, id)).await
    }

    async fn revisions(&self, filter: RevisionFilter) -> StoreResult<Vec<CalendarRevision>> {
        self.timed("revisions", calendars::revisions(&self.pool, filter)).await
    }

    async fn replace_calendar_entries(
        &self,
        revision: i64,
        version: i64,
        entries: &[kezdesu_core::yearly::Entry],
        now: Timestamp,
    ) -> StoreResult<CalendarRevision> {
        self.timed(
            "replace_calendar_entries",
            calendars::replace_entries(&self.pool, revision, version, entries, now),
        )
        .await
    }

    async fn set_calendar_approval(
        &self,
        revision: i64,
        version: i64,
        approval: &kezdesu_core::yearly::Approval,
        now: Timestamp,
    ) -> StoreResult<CalendarRevision> {
        self.timed(
            "set_calendar_approval",
            calendars::set_approval(&self.pool, revision, version, approval, now),
        )
        .await
    }

    async fn acted_issue_dates(&self) -> StoreResult<Vec<ActedIssueDates>> {
        self.timed("acted_issue_dates", calendars::acted_issue_dates(&self.pool)).await
    }

    async fn create_reception(
        &self,
        meeting: MeetingId,
        slot: &kezdesu_core::reception::SlotDraft,
        now: Timestamp,
    ) -> StoreResult<ReceptionSlot> {
        self.timed("create_reception", calendars::create_slot(&self.pool, meeting, slot, now)).await
    }

    async fn reception(&self, id: i64) -> StoreResult<ReceptionSlot> {
        self.timed("reception", calendars::slot(&self.pool, id)).await
    }

    async fn receptions(&self, meeting: MeetingId) -> StoreResult<Vec<ReceptionSlot>> {
        self.timed("receptions", calendars::slots(&self.pool, meeting)).await
    }

    async fn cancel_reception(&self, id: i64, now: Timestamp) -> StoreResult<ReceptionSlot> {
        self.timed("cancel_reception", calendars::cancel_slot(&self.pool, id, now)).await
    }

    async fn book_reception(&self, booking: &NewBooking, now: Timestamp) -> StoreResult<Option<Booking>> {
        self.timed("book_reception", calendars::book(&self.pool, booking, now)).await
    }

    async fn bookings(&self, slot: i64) -> StoreResult<Vec<Booking>> {
        self.timed("bookings", calendars::bookings(&self.pool, slot)).await
    }

    async fn booking(&self, id: i64) -> StoreResult<Booking> {
        self.timed("booking", calendars::booking(&self.pool, id)).await
    }

    async fn booking_by_code(&self, code_hash: &str) -> StoreResult<Option<Booking>> {
        self.timed("booking_by_code", calendars::booking_by_code(&self.pool, code_hash)).await
    }

    async fn cancel_booking(&self, id: i64, now: Timestamp) -> StoreResult<Booking> {
        self.timed("cancel_booking", calendars::cancel_booking(&self.pool, id, now)).await
    }

    async fn link_booking_issue(
        &self,
        booking: i64,
        issue: IssueId,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<Booking> {
        self.timed("link_booking_issue", calendars::link_issue(&self.pool, booking, issue, by, now)).await
    }

    async fn unlink_booking_issue(&self, booking: i64, issue: IssueId) -> StoreResult<Booking> {
        self.timed("unlink_booking_issue", calendars::unlink_issue(&self.pool, booking, issue)).await
    }

    async fn stream_key(&self, meeting: MeetingId) -> StoreResult<Option<StreamKey>> {
        self.timed("stream_key", async {
            let row = sqlx::query(
                "SELECT meeting_id, stream_key, rotated_at FROM meeting_stream_keys WHERE meeting_id = $1",
            )
            .bind(meeting.0)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(stream_key_from).transpose()
        })
        .await
    }

    async fn issue_stream_key(
        &self,
        meeting: MeetingId,
        key: &str,
        by: AccountId,
        replace: bool,
        now: Timestamp,
    ) -> StoreResult<StreamKey> {
        self.timed("issue_stream_key", async {
            let on_conflict = if replace {
                "DO UPDATE SET stream_key = excluded.stream_key, rotated_at = excluded.rotated_at, \
                 rotated_by = excluded.rotated_by"
            } else {
                // A no-op update, so that RETURNING yields the row that is kept.
                "DO UPDATE SET stream_key = meeting_stream_keys.stream_key"
            };
            let sql = format!(
                "INSERT INTO meeting_stream_keys (meeting_id, stream_key, rotated_at, rotated_by) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (meeting_id) {on_conflict} \
                 RETURNING meeting_id, stream_key, rotated_at"
            );
            let row = sqlx::query(&sql)
                .bind(meeting.0)
                .bind(key)
                .bind(millis(now))
                .bind(by.0)
                .fetch_one(&self.pool)
                .await
                .map_err(|error| constraint(error, "stream key", "meeting"))?;
            stream_key_from(&row)
        })
        .await
    }

    async fn destinations(&self, owner: DestinationOwner) -> StoreResult<Vec<Destination>> {
        self.timed("destinations", destinations::destinations(&self.pool, owner)).await
    }

    async fn destination(&self, id: i64) -> StoreResult<Destination> {
        self.timed("destination", destinations::destination(&self.pool, id)).await
    }

    async fn add_destination(
        &self,
        owner: DestinationOwner,
        fields: &DestinationFields,
        max: usize,
        now: Timestamp,
    ) -> StoreResult<Option<Destination>> {
        self.timed("add_destination", destinations::add_destination(&self.pool, owner, fields, max, now))
            .await
    }

    async fn update_destination(
        &self,
        id: i64,
        version: i64,
        fields: &DestinationFields,
        now: Timestamp,
    ) -> StoreResult<Destination> {
        self.timed(
            "update_destination",
            destinations::update_destination(&self.pool, id, version, fields, now),
        )
        .await
    }

    async fn delete_destination(&self, id: i64) -> StoreResult<()> {
        self.timed("delete_destination", destinations::delete_destination(&self.pool, id)).await
    }

    async fn platform_credentials(&self, account: AccountId) -> StoreResult<Vec<PlatformCredentialRecord>> {
        self.timed("platform_credentials", platforms::credentials(&self.pool, account)).await
    }

    async fn put_platform_credential(&self, record: &PlatformCredentialRecord) -> StoreResult<()> {
        self.timed("put_platform_credential", platforms::put_credential(&self.pool, record)).await
    }

    async fn delete_platform_credential(
        &self,
        account: AccountId,
        platform: SocialPlatform,
    ) -> StoreResult<()> {
        self.timed("delete_platform_credential", platforms::delete_credential(&self.pool, account, platform))
            .await
    }

    async fn sealed_platform_credentials(&self) -> StoreResult<Vec<(AccountId, SocialPlatform, String)>> {
        self.timed("sealed_platform_credentials", platforms::sealed_credentials(&self.pool)).await
    }

    async fn reseal_platform_credential(
        &self,
        account: AccountId,
        platform: SocialPlatform,
        old: &str,
        new: &str,
    ) -> StoreResult<()> {
        self.timed(
            "reseal_platform_credential",
            platforms::reseal_credential(&self.pool, account, platform, old, new),
        )
        .await
    }

    async fn meeting_platforms(&self, meeting: MeetingId) -> StoreResult<Vec<MeetingPlatform>> {
        self.timed("meeting_platforms", platforms::feeds(&self.pool, meeting)).await
    }

    async fn put_meeting_platform(
        &self,
        meeting: MeetingId,
        follow: &Follow,
        now: Timestamp,
    ) -> StoreResult<MeetingPlatform> {
        self.timed("put_meeting_platform", platforms::put_feed(&self.pool, meeting, follow, now)).await
    }

    async fn delete_meeting_platform(&self, meeting: MeetingId, platform: SocialPlatform) -> StoreResult<()> {
        self.timed("delete_meeting_platform", platforms::delete_feed(&self.pool, meeting, platform)).await
    }

    async fn set_meeting_platform_status(
        &self,
        meeting: MeetingId,
        platform: SocialPlatform,
        status: &str,
    ) -> StoreResult<()> {
        self.timed(
            "set_meeting_platform_status",
            platforms::set_status(&self.pool, meeting, platform, status),
        )
        .await
    }

    async fn follow_restreamed_youtube(
        &self,
        akim: AccountId,
        meeting: Option<MeetingId>,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.timed(
            "follow_restreamed_youtube",
            platforms::follow_restreamed_youtube(&self.pool, akim, meeting, now),
        )
        .await
    }

    async fn live_feeds(&self) -> StoreResult<Vec<LiveFeed>> {
        self.timed("live_feeds", platforms::live_feeds(&self.pool)).await
    }

    async fn platform_viewers(
        &self,
        meeting: MeetingId,
        platform: SocialPlatform,
        authors: &[NewPlatformAuthor],
        now: Timestamp,
    ) -> StoreResult<Vec<ViewerId>> {
        self.timed(
            "platform_viewers",
            platforms::platform_viewers(&self.pool, meeting, platform, authors, now),
        )
        .await
    }

    async fn sealed_destination_keys(&self) -> StoreResult<Vec<(i64, String)>> {
        self.timed("sealed_destination_keys", destinations::sealed_keys(&self.pool)).await
    }

    async fn reseal_destination_key(&self, id: i64, old: &str, new: &str) -> StoreResult<()> {
        self.timed("reseal_destination_key", destinations::reseal_key(&self.pool, id, old, new)).await
    }

    async fn recording(&self, meeting: MeetingId) -> StoreResult<Option<Recording>> {
        self.timed("recording", recordings::recording(&self.pool, meeting)).await
    }

    async fn start_recording_part(
        &self,
        meeting: MeetingId,
        node: &str,
        codecs: &PartCodecs,
        now: Timestamp,
        alive_until: Timestamp,
    ) -> StoreResult<Option<RecordingPart>> {
        self.timed(
            "start_recording_part",
            recordings::start_part(&self.pool, meeting, node, codecs, now, alive_until),
        )
        .await
    }

    async fn renew_recording_part(
        &self,
        part: i64,
        alive_until: Timestamp,
        started_at: Option<Timestamp>,
    ) -> StoreResult<bool> {
        self.timed("renew_recording_part", recordings::renew_part(&self.pool, part, alive_until, started_at))
            .await
    }

    async fn close_recording_part(&self, part: i64, end: &PartEnd) -> StoreResult<bool> {
        self.timed("close_recording_part", recordings::close_part(&self.pool, part, end)).await
    }

    async fn lapsed_recording_parts(&self, now: Timestamp) -> StoreResult<Vec<RecordingPart>> {
        self.timed("lapsed_recording_parts", recordings::lapsed_parts(&self.pool, now)).await
    }

    async fn recordings_to_finish(&self, now: Timestamp) -> StoreResult<Vec<MeetingId>> {
        self.timed("recordings_to_finish", recordings::recordings_to_finish(&self.pool, now)).await
    }

    async fn claim_recording(
        &self,
        meeting: MeetingId,
        node: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.timed("claim_recording", recordings::claim_recording(&self.pool, meeting, node, until, now))
            .await
    }

    async fn finish_recording(
        &self,
        meeting: MeetingId,
        node: &str,
        outcome: &Result<(Vec<RecordingFile>, Vec<PartPlacement>), String>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.timed("finish_recording", recordings::finish_recording(&self.pool, meeting, node, outcome, now))
            .await
    }

    async fn mark_recording_deleted(
        &self,
        meeting: MeetingId,
        version: i64,
        by: AccountId,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.timed(
            "mark_recording_deleted",
            recordings::mark_recording_deleted(&self.pool, meeting, version, by, now),
        )
        .await
    }
}

/// What `results_from` reads.
const RESULTS_COLUMNS: &str = "meeting_id, summary, published_at, updated_at";

fn results_from(row: &DbRow) -> StoreResult<MeetingResults> {
    Ok(MeetingResults {
        meeting: MeetingId(row.try_get("meeting_id")?),
        summary: row.try_get("summary")?,
        published_at: instant(row, "published_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

fn stream_key_from(row: &DbRow) -> StoreResult<StreamKey> {
    Ok(StreamKey {
        meeting: MeetingId(row.try_get("meeting_id")?),
        key: row.try_get("stream_key")?,
        rotated_at: instant(row, "rotated_at")?,
    })
}

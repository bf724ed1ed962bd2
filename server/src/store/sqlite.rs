//! The embedded store: one SQLite file in the data folder, in WAL mode.
//!
//! WAL lets readers go on while one writer commits; `synchronous = FULL` makes a commit
//! survive a power cut, which is what "acknowledged means durable" needs. Migrations are
//! compiled into the binary and applied at open. The SQL itself is shared with PostgreSQL
//! (`sql/`).

use super::{StoreError, StoreResult};
use crate::metrics::StoreLatency;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

pub use sql::SqlStore as SqliteStore;

/// The database file's name inside the data folder.
pub const DATABASE_FILE: &str = "kezdesu.sqlite3";

/// What the shared SQL needs to know of SQLite.
mod engine {
    pub type Db = sqlx::Sqlite;

    /// A transaction that reads before it writes takes the write lock at once: a deferred one
    /// would read a snapshot that another connection's commit (a live room's, say) makes stale,
    /// and its first write would fail with SQLITE_BUSY_SNAPSHOT instead of waiting. Holding the
    /// one write lock also serialises every check-then-write, so no row lock is needed.
    pub const WRITE_TRANSACTION: &str = "BEGIN IMMEDIATE";

    /// Appended to a `SELECT` that a write transaction will act on; SQLite's write lock
    /// already covers it.
    pub const FOR_UPDATE: &str = "";

    /// Takes a lock named by `key` for the rest of the transaction; the write lock already is one.
    pub async fn lock(_transaction: &mut sqlx::SqliteConnection, _key: i64) -> sqlx::Result<()> {
        Ok(())
    }

    /// Folds the write-ahead log into the database file before the pool closes, so a clean
    /// stop leaves one self-contained file even if a connection closes late.
    pub async fn before_close(pool: &sqlx::SqlitePool) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await {
            tracing::warn!(%error, "could not checkpoint the write-ahead log");
        }
    }
}

// The shared SQL, compiled here against `engine`: loading it once per engine is the point.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path, latency: StoreLatency) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .map_err(|error| StoreError::Io(format!("cannot create {}: {error}", data_dir.display())))?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DATABASE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // A connection to a local file does not go stale, and testing it before each use is a
        // round trip to its thread: one more wait in every live commit.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        super::migrations::SQLITE.run(&pool).await?;
        Ok(SqliteStore::new(pool, latency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::*;
    use jiff::SignedDuration;

    async fn store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = SqliteStore::open(dir.path(), StoreLatency::default()).await.expect("opens");
        (store, dir)
    }

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000).expect("valid") + SignedDuration::from_mins(minutes)
    }

    #[tokio::test]
    async fn tokens_expire_and_are_swept() {
        let (store, _dir) = store().await;
        let account = NewAccount {
            login: "admin".into(),
            display_name: "Admin".into(),
            role: Role::Admin,
            password_hash: "x".into(),
            territory: None,
        };
        let account = store.create_account(account, t(0)).await.expect("created");
        store.create_staff_session(account.id, "hash-a", t(0), t(60)).await.expect("session");

        assert!(matches!(store.token_owner("hash-a", t(59)).await, Ok(Some(TokenOwner::Staff { .. }))));
        assert!(matches!(store.token_owner("hash-a", t(60)).await, Ok(None)), "expired at its instant");
        assert!(matches!(store.token_owner("unknown", t(1)).await, Ok(None)));

        let territory = NewTerritory {
            kato: "111020000".into(),
            kind: TerritoryKind::Village,
            name: LocalizedText { ru: "Село".into(), ..LocalizedText::default() },
            parent: None,
        };
        let territory = store.create_territory(territory, t(0)).await.expect("territory");
        let meeting = NewMeeting {
            title: LocalizedText { ru: "Встреча".into(), ..LocalizedText::default() },
            territory: territory.id,
            akim: account.id,
            planned_start: t(120),
            planned_minutes: 60,
            kind: MeetingKind::Calendar,
            presentation_share: Share::new(1, 4).expect("valid"),
            place: String::new(),
            online_link: String::new(),
        };
        let meeting = store.create_meeting(meeting, t(0)).await.expect("meeting");
        store.create_viewer(meeting.id, "Viewer", "hash-v", t(0), t(30)).await.expect("viewer");
        assert!(matches!(store.token_owner("hash-v", t(29)).await, Ok(Some(TokenOwner::Viewer(_)))));

        assert_eq!(store.delete_expired_tokens(t(61)).await.expect("swept"), 2);
        assert!(matches!(store.token_owner("hash-v", t(0)).await, Ok(None)), "a swept token is void forever");
        assert_eq!(
            store.delete_expired_tokens(t(61)).await.expect("swept"),
            0,
            "sweeping twice removes nothing"
        );
    }

    #[tokio::test]
    async fn a_meeting_update_must_name_the_version_it_read() {
        let (store, _dir) = store().await;
        let account = NewAccount {
            login: "akim".into(),
            display_name: "A".into(),
            role: Role::Akim,
            password_hash: "x".into(),
            territory: None,
        };
        let akim = store.create_account(account, t(0)).await.expect("created").id;
        let territory = NewTerritory {
            kato: "111020000".into(),
            kind: TerritoryKind::Village,
            name: LocalizedText { ru: "Село".into(), ..LocalizedText::default() },
            parent: None,
        };
        let territory = store.create_territory(territory, t(0)).await.expect("territory").id;
        let planned = NewMeeting {
            title: LocalizedText { ru: "Встреча".into(), ..LocalizedText::default() },
            territory,
            akim,
            planned_start: t(120),
            planned_minutes: 60,
            kind: MeetingKind::Calendar,
            presentation_share: Share::new(1, 4).expect("valid"),
            place: String::new(),
            online_link: String::new(),
        };
        let read = store.create_meeting(planned, t(0)).await.expect("meeting");
        let mut first = read.clone();
        first.planned_minutes = 90;
        let saved = store.update_meeting(&first, t(1)).await.expect("first writer wins");
        assert_eq!(saved.version, read.version + 1);
        let mut second = read.clone();
        second.phases.presentation_started_at = Some(t(2));
        assert!(matches!(store.update_meeting(&second, t(2)).await, Err(StoreError::VersionConflict)));
        assert_eq!(store.meeting(read.id).await.expect("stored").planned_minutes, 90);
        let mut gone = read;
        gone.id = MeetingId(999);
        assert!(matches!(store.update_meeting(&gone, t(3)).await, Err(StoreError::NotFound(_))));
    }
}

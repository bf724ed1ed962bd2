//! The store for several nodes: one PostgreSQL database that every node shares.
//!
//! The SQL is the SQLite store's (`sql/`), and so are the tables: the migrations are the
//! same files, given to PostgreSQL with identity ids and `BIGINT` integers
//! (`migrations::postgres`). Where SQLite's single writer serialises a check and the write
//! that follows it, PostgreSQL's READ COMMITTED transactions lock the rows they read
//! (`FOR UPDATE`) or a named advisory lock.

use super::StoreResult;
use crate::metrics::StoreLatency;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

pub use sql::SqlStore as PostgresStore;

/// What the shared SQL needs to know of PostgreSQL.
mod engine {
    pub type Db = sqlx::Postgres;

    /// READ COMMITTED: each statement sees what was committed before it began, and the
    /// statements that must not race lock what they read.
    pub const WRITE_TRANSACTION: &str = "BEGIN";

    /// Appended to a `SELECT` whose rows the transaction will change on what it read: other
    /// writers of those rows wait until it commits.
    pub const FOR_UPDATE: &str = " FOR UPDATE";

    /// Takes the transaction-scoped advisory lock `key`, for writes that check a whole table
    /// (an import) rather than rows that exist.
    pub async fn lock(transaction: &mut sqlx::PgConnection, key: i64) -> sqlx::Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(key).execute(transaction).await?;
        Ok(())
    }

    /// Nothing to fold before closing: PostgreSQL owns its files.
    pub async fn before_close(_pool: &sqlx::PgPool) {}
}

// The shared SQL, compiled here against `engine`: loading it once per engine is the point.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

impl PostgresStore {
    /// Connects to the database at `url` and applies pending migrations. `connections` bounds
    /// this node's share of the server's connections.
    pub async fn connect(url: &str, connections: u32, latency: StoreLatency) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        super::migrations::postgres().await?.run(&pool).await?;
        Ok(PostgresStore::new(pool, latency))
    }
}

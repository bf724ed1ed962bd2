//! The store's migrations on PostgreSQL: the same migrations build the same tables, columns and
//! nullability as on SQLite, and ids come from identity columns.
//!
//! PostgreSQL is an external service, so this runs only when `KEZDESU_TEST_POSTGRES_URL` names
//! one: `tests/run` starts Debian's PostgreSQL in a temporary cluster and sets it. Without it
//! the test says so and checks nothing, keeping the default `cargo test` free of services.

use crate::support::rand_suffix;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{Row, SqlitePool};
use std::collections::BTreeSet;
use std::str::FromStr;

/// (table, column, nullable) for every column of every table the migrations made.
type Columns = BTreeSet<(String, String, bool)>;

async fn sqlite_columns() -> Columns {
    let pool = SqlitePool::connect("sqlite::memory:").await.expect("an in-memory database");
    kezdesu::store::migrations::SQLITE.run(&pool).await.expect("the SQLite migrations");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut columns = Columns::new();
    for table in tables {
        for row in
            sqlx::query(&format!("PRAGMA table_info({table})")).fetch_all(&pool).await.expect("columns")
        {
            let not_null: bool = row.get("notnull");
            let primary_key: i64 = row.get("pk");
            // A SQLite primary key may formally be null; it never is, and PostgreSQL's is not.
            columns.insert((table.clone(), row.get("name"), !(not_null || primary_key > 0)));
        }
    }
    columns
}

async fn postgres_columns(pool: &PgPool) -> Columns {
    sqlx::query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, is_nullable::text AS is_nullable \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("columns")
    .iter()
    .map(|row| (row.get("table_name"), row.get("column_name"), row.get::<String, _>("is_nullable") == "YES"))
    .collect()
}

#[tokio::test]
async fn the_same_migrations_build_the_same_tables_on_postgresql() {
    let Ok(url) = std::env::var("KEZDESU_TEST_POSTGRES_URL") else {
        eprintln!("skipped: KEZDESU_TEST_POSTGRES_URL is not set (tests/run sets it)");
        return;
    };
    let server = PgConnectOptions::from_str(&url).expect("a PostgreSQL URL");
    let admin = PgPool::connect_with(server.clone()).await.expect("PostgreSQL answers");
    let database = format!("kezdesu_migrations_{}", rand_suffix());
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&admin).await.expect("a fresh database");
    let pool = PgPool::connect_with(server.database(&database)).await.expect("the fresh database");

    let migrations = kezdesu::store::migrations::postgres().await.expect("the migrations");
    migrations.run(&pool).await.expect("the migrations apply on PostgreSQL");
    migrations.run(&pool).await.expect("and a second run finds nothing to do");
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .expect("the applied migrations");
    assert_eq!(applied, i64::try_from(migrations.iter().count()).expect("a count"));

    let (sqlite, postgres) = (sqlite_columns().await, postgres_columns(&pool).await);
    assert!(!sqlite.is_empty());
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only on SQLite: {only_sqlite:?}\nonly on PostgreSQL: {only_postgres:?}"
    );

    // Ids come from identity columns, as 64-bit integers; constraints hold as on SQLite.
    let insert = "INSERT INTO territories (kato, kind, name_kk, name_ru, name_en, created_at, updated_at) \
                  VALUES ($1, 'village', 'А', 'С', 'V', 0, 0) RETURNING id";
    let first: i64 = sqlx::query_scalar(insert).bind("620000001").fetch_one(&pool).await.expect("an id");
    let second: i64 = sqlx::query_scalar(insert).bind("620000002").fetch_one(&pool).await.expect("an id");
    assert_eq!(second, first + 1);
    let duplicate = sqlx::query(insert).bind("620000001").execute(&pool).await;
    assert!(duplicate.is_err(), "the KATO code is unique on PostgreSQL too");

    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(&admin)
        .await
        .expect("dropping the database");
}

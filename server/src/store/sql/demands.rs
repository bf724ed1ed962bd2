//! Demands for meetings in SQLite.

use super::{Db, DbConnection, DbPool, DbRow};
use super::{constraint, instant, millis, optional_instant};
use crate::store::*;
use sqlx::{QueryBuilder, Row};

const DEMAND_COLUMNS: &str = "id, territory_id, title, text, supporters, reached_at, meeting_id, created_at";

fn demand_from(row: &DbRow) -> StoreResult<Demand> {
    Ok(Demand {
        id: row.try_get("id")?,
        territory: TerritoryId(row.try_get("territory_id")?),
        title: row.try_get("title")?,
        text: row.try_get("text")?,
        supporters: row.try_get("supporters")?,
        reached_at: optional_instant(row, "reached_at")?,
        meeting: row.try_get::<Option<i64>, _>("meeting_id")?.map(MeetingId),
        created_at: instant(row, "created_at")?,
    })
}

/// Adds a supporter once, counts them, and records when the count first reaches the threshold.
async fn add_supporter(
    connection: &mut DbConnection,
    demand: i64,
    supporter: &Supporter,
    reached: &(dyn Fn(u32) -> bool + Sync),
    now: Timestamp,
) -> StoreResult<Demand> {
    sqlx::query(
        "INSERT INTO demand_supporters (demand_id, identity_hash, name, contact, supported_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(demand)
    .bind(&supporter.identity_hash)
    .bind(&supporter.name)
    .bind(&supporter.contact)
    .bind(millis(now))
    .execute(&mut *connection)
    .await
    .map_err(|error| constraint(error, "supporter", "demand"))?;
    let count: i64 = sqlx::query(
        "UPDATE meeting_demands SET supporters = supporters + 1, updated_at = $2 WHERE id = $1 RETURNING supporters",
    )
    .bind(demand)
    .bind(millis(now))
    .fetch_one(&mut *connection)
    .await?
    .try_get("supporters")?;
    if reached(u32::try_from(count).unwrap_or(u32::MAX)) {
        sqlx::query("UPDATE meeting_demands SET reached_at = $2 WHERE id = $1 AND reached_at IS NULL")
            .bind(demand)
            .bind(millis(now))
            .execute(&mut *connection)
            .await?;
    }
    let row = sqlx::query(&format!("SELECT {DEMAND_COLUMNS} FROM meeting_demands WHERE id = $1"))
        .bind(demand)
        .fetch_one(&mut *connection)
        .await?;
    demand_from(&row)
}

pub(super) async fn create_demand(
    pool: &DbPool,
    territory: TerritoryId,
    title: &str,
    text: &str,
    first: &Supporter,
    reached: &(dyn Fn(u32) -> bool + Sync),
    now: Timestamp,
) -> StoreResult<Demand> {
    let mut transaction = pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO meeting_demands (territory_id, title, text, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(territory.0)
    .bind(title)
    .bind(text)
    .bind(millis(now))
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| constraint(error, "demand", "territory"))?
    .try_get("id")?;
    let demand = add_supporter(&mut transaction, id, first, reached, now).await?;
    transaction.commit().await?;
    Ok(demand)
}

pub(super) async fn support_demand(
    pool: &DbPool,
    demand: i64,
    supporter: &Supporter,
    reached: &(dyn Fn(u32) -> bool + Sync),
    now: Timestamp,
) -> StoreResult<Demand> {
    // Writes first, so a deferred transaction is enough.
    let mut transaction = pool.begin().await?;
    let demand = add_supporter(&mut transaction, demand, supporter, reached, now).await?;
    transaction.commit().await?;
    Ok(demand)
}

pub(super) async fn demand(pool: &DbPool, id: i64) -> StoreResult<Demand> {
    let row = sqlx::query(&format!("SELECT {DEMAND_COLUMNS} FROM meeting_demands WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("demand"))?;
    demand_from(&row)
}

pub(super) async fn demands(pool: &DbPool, territories: Option<&[TerritoryId]>) -> StoreResult<Vec<Demand>> {
    let mut query: QueryBuilder<Db> =
        QueryBuilder::new(format!("SELECT {DEMAND_COLUMNS} FROM meeting_demands WHERE 1 = 1"));
    if let Some(territories) = territories {
        query.push(" AND territory_id IN (");
        let mut list = query.separated(", ");
        for territory in territories {
            list.push_bind(territory.0);
        }
        list.push("NULL");
        query.push(")");
    }
    query.push(" ORDER BY id DESC");
    query.build().fetch_all(pool).await?.iter().map(demand_from).collect()
}

pub(super) async fn meet_demand(
    pool: &DbPool,
    demand: i64,
    meeting: MeetingId,
    now: Timestamp,
) -> StoreResult<Demand> {
    let row = sqlx::query(&format!(
        "UPDATE meeting_demands SET meeting_id = $2, updated_at = $3 WHERE id = $1 RETURNING {DEMAND_COLUMNS}"
    ))
    .bind(demand)
    .bind(meeting.0)
    .bind(millis(now))
    .fetch_optional(pool)
    .await
    .map_err(|error| constraint(error, "demand", "meeting"))?
    .ok_or(StoreError::NotFound("demand"))?;
    demand_from(&row)
}

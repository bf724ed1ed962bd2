//! The register's tables in SQLite. Each write that changes an issue records its history row
//! in the same transaction.

use super::{Db, DbConnection, DbPool, DbRow, engine};
use super::{constraint, instant, millis, optional_instant};
use crate::store::*;
use jiff::civil::Date;
use kezdesu_core::issues::register::publicly_listed;
use kezdesu_core::issues::{EscalationLevel, IssueStatus, SourceKind};
use serde_json::json;
use sqlx::{QueryBuilder, Row};

const ISSUE_COLUMNS: &str = "id, meeting_id, territory_id, title, description, category, status, status_note, \
     escalation_level, accepted_at, escalated_at, on_briefing, supporters, title_edited, merged_into, origin_kind, \
     version, created_at, updated_at";
const SOURCE_COLUMNS: &str = "s.id, s.issue_id, s.kind, s.meeting_id, p.question_number, s.channel, s.external_id, \
     s.text, s.supporters, s.received_at, s.receipt_code";
const ACTION_COLUMNS: &str = "id, issue_id, measure, executor_organisation, executor_person, deadline, \
     financing_needed, financing_amount, maslikhat_session_on, done_on, created_at, updated_at";
/// The advisory lock that serialises issue imports, where the engine needs one.
const ISSUE_IMPORT_LOCK: i64 = 0x6b65_7a64_0001;
/// SQLite allows 32,766 parameters; reading in chunks keeps far below.
const IDS_PER_QUERY: usize = 500;

pub(super) fn parse_status(text: &str) -> StoreResult<IssueStatus> {
    IssueStatus::ALL
        .into_iter()
        .find(|status| status.to_string() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("issue status {text:?}")))
}

fn parse_level(text: &str) -> StoreResult<EscalationLevel> {
    [EscalationLevel::Oblast, EscalationLevel::Central]
        .into_iter()
        .find(|level| level.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("escalation level {text:?}")))
}

pub(super) fn date_column(row: &DbRow, column: &str) -> StoreResult<Option<Date>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| text.parse::<Date>().map_err(|error| StoreError::Corrupt(format!("{column}: {error}"))))
        .transpose()
}

fn issue_from(row: &DbRow) -> StoreResult<RegisterIssue> {
    let status: String = row.try_get("status")?;
    let level: Option<String> = row.try_get("escalation_level")?;
    let origin: String = row.try_get("origin_kind")?;
    Ok(RegisterIssue {
        origin: SourceKind::parse(&origin)
            .ok_or_else(|| StoreError::Corrupt(format!("source kind {origin:?}")))?,
        id: IssueId(row.try_get("id")?),
        meeting: row.try_get::<Option<i64>, _>("meeting_id")?.map(MeetingId),
        territory: row.try_get::<Option<i64>, _>("territory_id")?.map(TerritoryId),
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        category: row.try_get("category")?,
        status: parse_status(&status)?,
        status_note: row.try_get("status_note")?,
        level: level.as_deref().map(parse_level).transpose()?,
        accepted_at: optional_instant(row, "accepted_at")?,
        escalated_at: optional_instant(row, "escalated_at")?,
        on_briefing: row.try_get("on_briefing")?,
        supporters: row.try_get("supporters")?,
        title_edited: row.try_get("title_edited")?,
        merged_into: row.try_get::<Option<i64>, _>("merged_into")?.map(IssueId),
        version: row.try_get("version")?,
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
        sources: Vec::new(),
        actions: Vec::new(),
        progress: Vec::new(),
    })
}

fn source_from(row: &DbRow) -> StoreResult<SourceRecord> {
    let kind: String = row.try_get("kind")?;
    Ok(SourceRecord {
        id: row.try_get("id")?,
        kind: SourceKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("source kind {kind:?}")))?,
        meeting: row.try_get::<Option<i64>, _>("meeting_id")?.map(MeetingId),
        question: row.try_get("question_number")?,
        channel: row.try_get("channel")?,
        external_id: row.try_get("external_id")?,
        text: row.try_get("text")?,
        supporters: row.try_get("supporters")?,
        received_at: instant(row, "received_at")?,
        receipt_code: row.try_get("receipt_code")?,
    })
}

fn action_from(row: &DbRow) -> StoreResult<ActionItem> {
    Ok(ActionItem {
        id: ActionItemId(row.try_get("id")?),
        issue: IssueId(row.try_get("issue_id")?),
        plan: ActionPlanEntry {
            measure: row.try_get("measure")?,
            executor_organisation: row.try_get("executor_organisation")?,
            executor_person: row.try_get("executor_person")?,
            deadline: date_column(row, "deadline")?
                .ok_or_else(|| StoreError::Corrupt("action item without deadline".into()))?,
            financing_needed: row.try_get("financing_needed")?,
            financing_amount: row.try_get("financing_amount")?,
            maslikhat_session_on: date_column(row, "maslikhat_session_on")?,
            done_on: date_column(row, "done_on")?,
        },
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

fn progress_from(row: &DbRow) -> StoreResult<ProgressUpdate> {
    Ok(ProgressUpdate {
        id: row.try_get("id")?,
        issue: IssueId(row.try_get("issue_id")?),
        reported_on: date_column(row, "reported_on")?
            .ok_or_else(|| StoreError::Corrupt("progress update without date".into()))?,
        text: row.try_get("text")?,
        by: AccountId(row.try_get("created_by")?),
        by_name: row.try_get("display_name")?,
        created_at: instant(row, "created_at")?,
    })
}

/// Sets an issue's supporters to the sum over its sources, after a write to them.
async fn refresh_supporters(connection: &mut DbConnection, issue: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE register_issues SET supporters = \
         (SELECT COALESCE(SUM(supporters), 0) FROM issue_sources WHERE issue_id = $1) WHERE id = $1",
    )
    .bind(issue)
    .execute(connection)
    .await?;
    Ok(())
}

async fn record(
    connection: &mut DbConnection,
    issue: IssueId,
    by: Option<AccountId>,
    action: &str,
    detail: &str,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO issue_history (issue_id, at, account_id, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(issue.0)
    .bind(millis(now))
    .bind(by.map(|account| account.0))
    .bind(action)
    .bind(detail)
    .execute(connection)
    .await?;
    Ok(())
}

/// Keeps the register in step with the live questions a room just wrote: a new question
/// becomes a new issue with the question as its source; a reworded one renames its issue
/// unless staff retitled it; votes become supporters; a question merged into another merges
/// their issues.
pub(super) async fn follow_live_questions(
    connection: &mut DbConnection,
    meeting: MeetingId,
    written: &[(i64, &ProblemIssue)],
    now: Timestamp,
) -> StoreResult<()> {
    for (problem_issue, question) in written {
        let supporters = if question.merged_into.is_some() { 0 } else { question.votes.max(1) };
        let linked: Option<i64> =
            sqlx::query("SELECT issue_id FROM issue_sources WHERE problem_issue_id = $1")
                .bind(problem_issue)
                .fetch_optional(&mut *connection)
                .await?
                .map(|row| row.try_get("issue_id"))
                .transpose()?;
        match linked {
            None => {
                let issue = NewIssue {
                    meeting: Some(meeting),
                    territory: None,
                    title: question.text.clone(),
                    description: String::new(),
                    category: None,
                    source: NewSource {
                        kind: SourceKind::LiveQuestion,
                        channel: None,
                        external_id: None,
                        text: question.text.clone(),
                        supporters,
                        received_at: question.created_at,
                        receipt_code: None,
                        contact: None,
                        created_by: None,
                    },
                };
                insert_issue(connection, &issue, Some(*problem_issue), now).await?;
            }
            Some(issue) => {
                sqlx::query(
                    "UPDATE issue_sources SET supporters = $2, text = $3 WHERE problem_issue_id = $1",
                )
                .bind(problem_issue)
                .bind(supporters)
                .bind(&question.text)
                .execute(&mut *connection)
                .await?;
                refresh_supporters(connection, issue).await?;
                // Only the question an issue was raised by names it; one merged in later does not.
                let retitled = sqlx::query(
                    "UPDATE register_issues SET title = $2, updated_at = $3, version = version + 1 \
                     WHERE id = $1 AND title_edited = FALSE AND title <> $2 \
                     AND origin_source = (SELECT id FROM issue_sources WHERE problem_issue_id = $4)",
                )
                .bind(issue)
                .bind(&question.text)
                .bind(millis(now))
                .bind(problem_issue)
                .execute(&mut *connection)
                .await?
                .rows_affected();
                if retitled > 0 {
                    let detail = json!({ "title": question.text }).to_string();
                    record(connection, IssueId(issue), None, "retitled", &detail, now).await?;
                }
            }
        }
    }
    for (problem_issue, question) in written {
        let Some(into_question) = question.merged_into else { continue };
        let pair = sqlx::query(
            "SELECT s.issue_id AS from_issue, t.issue_id AS into_issue \
             FROM issue_sources s, problem_issues p JOIN issue_sources t ON t.problem_issue_id = p.id \
             WHERE s.problem_issue_id = $1 AND p.meeting_id = $2 AND p.question_number = $3",
        )
        .bind(problem_issue)
        .bind(meeting.0)
        .bind(into_question)
        .fetch_optional(&mut *connection)
        .await?;
        if let Some(pair) = pair {
            let (from, into): (i64, i64) = (pair.try_get("from_issue")?, pair.try_get("into_issue")?);
            let unmerged: Option<i64> =
                sqlx::query("SELECT id FROM register_issues WHERE id = $1 AND merged_into IS NULL")
                    .bind(from)
                    .fetch_optional(&mut *connection)
                    .await?
                    .map(|row| row.try_get("id"))
                    .transpose()?;
            if from != into && unmerged.is_some() {
                merge_on(connection, IssueId(from), IssueId(into), None, now).await?;
            }
        }
    }
    Ok(())
}

async fn insert_issue(
    connection: &mut DbConnection,
    issue: &NewIssue,
    problem_issue: Option<i64>,
    now: Timestamp,
) -> StoreResult<IssueId> {
    // A meeting's issue is on the meeting's territory unless it names another.
    let listed = publicly_listed(IssueStatus::New, issue.source.kind == SourceKind::LiveQuestion, false);
    let id: i64 = sqlx::query(
        "INSERT INTO register_issues (meeting_id, territory_id, title, description, category, status, created_at, updated_at, \
         listed, origin_kind) \
         VALUES ($1, COALESCE($2, (SELECT territory_id FROM meetings WHERE id = $1)), $3, $4, $5, 'new', $6, $6, $7, $8) \
         RETURNING id",
    )
    .bind(issue.meeting.map(|meeting| meeting.0))
    .bind(issue.territory.map(|territory| territory.0))
    .bind(&issue.title)
    .bind(&issue.description)
    .bind(&issue.category)
    .bind(millis(now))
    .bind(listed)
    .bind(issue.source.kind.as_str())
    .fetch_one(&mut *connection)
    .await
    .map_err(|error| constraint(error, "issue", "meeting or territory"))?
    .try_get("id")?;
    let source = &issue.source;
    let source_id: i64 = sqlx::query(
        "INSERT INTO issue_sources (issue_id, kind, meeting_id, problem_issue_id, channel, external_id, text, \
         supporters, received_at, receipt_code, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(id)
    .bind(source.kind.as_str())
    .bind(issue.meeting.map(|meeting| meeting.0))
    .bind(problem_issue)
    .bind(&source.channel)
    .bind(&source.external_id)
    .bind(&source.text)
    .bind(source.supporters)
    .bind(millis(source.received_at))
    .bind(&source.receipt_code)
    .bind(source.created_by.map(|account| account.0))
    .fetch_one(&mut *connection)
    .await
    .map_err(|error| constraint(error, "source", "meeting"))?
    .try_get("id")?;
    sqlx::query("UPDATE register_issues SET origin_source = $2 WHERE id = $1")
        .bind(id)
        .bind(source_id)
        .execute(&mut *connection)
        .await?;
    refresh_supporters(connection, id).await?;
    if let Some(contact) = &source.contact {
        sqlx::query("INSERT INTO issue_source_contacts (source_id, name, contact) VALUES ($1, $2, $3)")
            .bind(source_id)
            .bind(&contact.name)
            .bind(&contact.contact)
            .execute(&mut *connection)
            .await?;
    }
    let detail = json!({
        "source": source.kind.as_str(),
        "channel": source.channel,
        "external_id": source.external_id,
        "title": issue.title,
    })
    .to_string();
    record(connection, IssueId(id), source.created_by, "created", &detail, now).await?;
    Ok(IssueId(id))
}

pub(super) async fn create_issue(pool: &DbPool, issue: &NewIssue, now: Timestamp) -> StoreResult<IssueId> {
    let mut transaction = pool.begin().await?;
    let id = insert_issue(&mut transaction, issue, None, now).await?;
    transaction.commit().await?;
    Ok(id)
}

pub(super) async fn import_issues(
    pool: &DbPool,
    issues: &[NewIssue],
    now: Timestamp,
) -> StoreResult<ImportCounts> {
    let mut transaction = pool.begin_with(engine::WRITE_TRANSACTION).await?;
    // Two imports of the same file at once would both find a row new; one waits for the other.
    engine::lock(&mut transaction, ISSUE_IMPORT_LOCK).await?;
    let mut counts = ImportCounts::default();
    for issue in issues {
        let existing = sqlx::query("SELECT id FROM issue_sources WHERE channel = $1 AND external_id = $2")
            .bind(&issue.source.channel)
            .bind(&issue.source.external_id)
            .fetch_optional(&mut *transaction)
            .await?;
        if existing.is_some() {
            counts.already_imported += 1;
        } else {
            insert_issue(&mut transaction, issue, None, now).await?;
            counts.created += 1;
        }
    }
    transaction.commit().await?;
    Ok(counts)
}

/// Adds `filter`'s conditions to a query that ends in `WHERE 1 = 1`.
fn push_conditions(query: &mut QueryBuilder<'_, Db>, filter: &IssueFilter) {
    if !filter.include_merged {
        query.push(" AND merged_into IS NULL");
    }
    if filter.public_only {
        query.push(" AND listed = TRUE");
    }
    if let Some(after) = filter.after {
        query.push(" AND id > ").push_bind(after.0);
    }
    if filter.acting_only {
        query.push(" AND status IN (");
        let mut list = query.separated(", ");
        for status in IssueStatus::ALL.into_iter().filter(|status| status.is_acting()) {
            list.push_bind(status.to_string());
        }
        query.push(")");
    }
    if let Some(meeting) = filter.meeting {
        query.push(" AND meeting_id = ").push_bind(meeting.0);
    }
    if let Some(territories) = &filter.territories {
        if territories.is_empty() {
            query.push(" AND 1 = 0");
            return;
        }
        query.push(" AND territory_id IN (");
        let mut list = query.separated(", ");
        for territory in territories {
            list.push_bind(territory.0);
        }
        query.push(")");
    }
    if let Some(statuses) = &filter.statuses {
        query.push(" AND status IN (");
        let mut list = query.separated(", ");
        for status in statuses {
            list.push_bind(status.to_string());
        }
        list.push("NULL");
        query.push(")");
    }
    if let Some(categories) = &filter.categories {
        query.push(" AND category IN (");
        let mut list = query.separated(", ");
        for category in categories {
            list.push_bind(category.clone());
        }
        list.push("NULL");
        query.push(")");
    }
    if let Some(level) = filter.level {
        query.push(" AND escalation_level = ").push_bind(level.as_str());
    }
    if let Some(from) = filter.escalated_from {
        query.push(" AND escalated_at >= ").push_bind(millis(from));
    }
    if let Some(before) = filter.escalated_before {
        query.push(" AND escalated_at < ").push_bind(millis(before));
    }
    if let Some(from) = filter.raised_from {
        query.push(" AND created_at >= ").push_bind(millis(from));
    }
    if let Some(before) = filter.raised_before {
        query.push(" AND created_at < ").push_bind(millis(before));
    }
}

pub(super) async fn count_issues(pool: &DbPool, filter: &IssueFilter) -> StoreResult<u64> {
    let mut query: QueryBuilder<Db> =
        QueryBuilder::new("SELECT COUNT(*) AS total FROM register_issues WHERE 1 = 1");
    push_conditions(&mut query, filter);
    let total: i64 = query.build().fetch_one(pool).await?.try_get("total")?;
    Ok(u64::try_from(total).unwrap_or(0))
}

pub(super) async fn issues(pool: &DbPool, filter: &IssueFilter) -> StoreResult<Vec<RegisterIssue>> {
    let mut query: QueryBuilder<Db> =
        QueryBuilder::new(format!("SELECT {ISSUE_COLUMNS} FROM register_issues WHERE 1 = 1"));
    push_conditions(&mut query, filter);
    query.push(match filter.order {
        IssueOrder::Priority => " ORDER BY supporters DESC, id",
        IssueOrder::Newest => " ORDER BY id DESC",
        IssueOrder::Oldest => " ORDER BY id",
        IssueOrder::Updated => " ORDER BY updated_at DESC, id",
    });
    if let Some(limit) = filter.limit {
        query.push(" LIMIT ").push_bind(i64::from(limit));
        query.push(" OFFSET ").push_bind(i64::try_from(filter.offset).unwrap_or(i64::MAX));
    }
    let rows = query.build().fetch_all(pool).await?;
    let mut issues = rows.iter().map(issue_from).collect::<StoreResult<Vec<_>>>()?;
    attach_details(pool, &mut issues).await?;
    Ok(issues)
}

pub(super) async fn issue(pool: &DbPool, id: IssueId) -> StoreResult<RegisterIssue> {
    let row = sqlx::query(&format!("SELECT {ISSUE_COLUMNS} FROM register_issues WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("issue"))?;
    let mut issues = vec![issue_from(&row)?];
    attach_details(pool, &mut issues).await?;
    Ok(issues.pop().expect("one issue"))
}

/// Reads the sources, action items and progress of `issues`, a few queries per chunk of ids.
async fn attach_details(pool: &DbPool, issues: &mut [RegisterIssue]) -> StoreResult<()> {
    use std::collections::HashMap;
    let position: HashMap<i64, usize> =
        issues.iter().enumerate().map(|(index, issue)| (issue.id.0, index)).collect();
    let ids: Vec<i64> = issues.iter().map(|issue| issue.id.0).collect();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let in_list = |query: &mut QueryBuilder<Db>| {
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
        };
        let mut sources = QueryBuilder::new(format!(
            "SELECT {SOURCE_COLUMNS} FROM issue_sources s LEFT JOIN problem_issues p ON p.id = s.problem_issue_id \
             WHERE s.issue_id IN ("
        ));
        in_list(&mut sources);
        sources.push(" ORDER BY s.received_at, s.id");
        for row in sources.build().fetch_all(pool).await? {
            let issue: i64 = row.try_get("issue_id")?;
            if let Some(index) = position.get(&issue) {
                issues[*index].sources.push(source_from(&row)?);
            }
        }
        let mut actions =
            QueryBuilder::new(format!("SELECT {ACTION_COLUMNS} FROM action_items WHERE issue_id IN ("));
        in_list(&mut actions);
        actions.push(" ORDER BY deadline, id");
        for row in actions.build().fetch_all(pool).await? {
            let item = action_from(&row)?;
            if let Some(index) = position.get(&item.issue.0) {
                issues[*index].actions.push(item);
            }
        }
        let mut progress = QueryBuilder::new(
            "SELECT u.id, u.issue_id, u.reported_on, u.text, u.created_by, a.display_name, u.created_at \
             FROM progress_updates u JOIN accounts a ON a.id = u.created_by WHERE u.issue_id IN (",
        );
        in_list(&mut progress);
        progress.push(" ORDER BY u.reported_on, u.id");
        for row in progress.build().fetch_all(pool).await? {
            let update = progress_from(&row)?;
            if let Some(index) = position.get(&update.issue.0) {
                issues[*index].progress.push(update);
            }
        }
    }
    Ok(())
}

pub(super) async fn update_issue(
    pool: &DbPool,
    issue: &RegisterIssue,
    change: &Change,
    now: Timestamp,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE register_issues SET territory_id = $3, title = $4, description = $5, category = $6, status = $7, \
         status_note = $8, escalation_level = $9, accepted_at = $10, escalated_at = $11, on_briefing = $12, \
         title_edited = $13, updated_at = $14, listed = $15, version = version + 1 \
         WHERE id = $1 AND version = $2 AND merged_into IS NULL",
    )
    .bind(issue.id.0)
    .bind(issue.version)
    .bind(issue.territory.map(|territory| territory.0))
    .bind(&issue.title)
    .bind(&issue.description)
    .bind(&issue.category)
    .bind(issue.status.to_string())
    .bind(&issue.status_note)
    .bind(issue.level.map(EscalationLevel::as_str))
    .bind(issue.accepted_at.map(millis))
    .bind(issue.escalated_at.map(millis))
    .bind(issue.on_briefing)
    .bind(issue.title_edited)
    .bind(millis(now))
    .bind(publicly_listed(issue.status, issue.raised_live(), false))
    .execute(&mut *transaction)
    .await
    .map_err(|error| constraint(error, "issue", "territory"))?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::VersionConflict);
    }
    record(&mut transaction, issue.id, Some(change.by), change.action, &change.detail, now).await?;
    transaction.commit().await?;
    Ok(())
}

pub(super) async fn merge_issues(
    pool: &DbPool,
    from: IssueId,
    into: IssueId,
    by: AccountId,
    now: Timestamp,
) -> StoreResult<()> {
    let mut transaction = pool.begin_with(engine::WRITE_TRANSACTION).await?;
    merge_on(&mut transaction, from, into, Some(by), now).await?;
    transaction.commit().await?;
    Ok(())
}

/// Moves every source of `from` to `into` and marks `from` merged. Anything merged into `from`
/// earlier now points at `into`, so a merged issue is always one step from the one that holds
/// its sources.
async fn merge_on(
    connection: &mut DbConnection,
    from: IssueId,
    into: IssueId,
    by: Option<AccountId>,
    now: Timestamp,
) -> StoreResult<()> {
    if from == into {
        return Err(StoreError::VersionConflict);
    }
    // Both issues are locked in id order before they are checked, so that two merges of the
    // same pair (one each way) wait for each other instead of both going ahead.
    let open: Vec<i64> = sqlx::query(&format!(
        "SELECT id FROM register_issues WHERE id IN ($1, $2) AND merged_into IS NULL ORDER BY id{}",
        engine::FOR_UPDATE
    ))
    .bind(from.0)
    .bind(into.0)
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(|row| row.try_get("id"))
    .collect::<Result<_, _>>()?;
    if !open.contains(&into.0) {
        return Err(StoreError::VersionConflict);
    }
    let marked = sqlx::query(
        "UPDATE register_issues SET merged_into = $2, listed = FALSE, updated_at = $3, version = version + 1 \
         WHERE id = $1 AND merged_into IS NULL",
    )
    .bind(from.0)
    .bind(into.0)
    .bind(millis(now))
    .execute(&mut *connection)
    .await?
    .rows_affected();
    if marked == 0 {
        return Err(StoreError::VersionConflict);
    }
    let moved = sqlx::query("UPDATE issue_sources SET issue_id = $2 WHERE issue_id = $1")
        .bind(from.0)
        .bind(into.0)
        .execute(&mut *connection)
        .await?
        .rows_affected();
    // Issues merged into `from` earlier now point at `into`, each with its history row.
    let repointed: Vec<i64> =
        sqlx::query("UPDATE register_issues SET merged_into = $2 WHERE merged_into = $1 RETURNING id")
            .bind(from.0)
            .bind(into.0)
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
    for earlier in repointed {
        let detail = json!({ "into": into.0, "via": from.0 }).to_string();
        record(connection, IssueId(earlier), by, "merged_into", &detail, now).await?;
    }
    refresh_supporters(connection, from.0).await?;
    refresh_supporters(connection, into.0).await?;
    // Whether the issue merged into is public does not change: that follows its own origin.
    sqlx::query("UPDATE register_issues SET updated_at = $2, version = version + 1 WHERE id = $1")
        .bind(into.0)
        .bind(millis(now))
        .execute(&mut *connection)
        .await?;
    record(connection, from, by, "merged_into", &json!({ "into": into.0 }).to_string(), now).await?;
    let detail = json!({ "from": from.0, "sources_moved": moved }).to_string();
    record(connection, into, by, "merged_from", &detail, now).await?;
    Ok(())
}

fn bind_plan<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    entry: &'q ActionPlanEntry,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
    query
        .bind(&entry.measure)
        .bind(&entry.executor_organisation)
        .bind(&entry.executor_person)
        .bind(entry.deadline.to_string())
        .bind(entry.financing_needed)
        .bind(entry.financing_amount)
        .bind(entry.maslikhat_session_on.map(|date| date.to_string()))
        .bind(entry.done_on.map(|date| date.to_string()))
}

pub(super) async fn add_action_item(
    pool: &DbPool,
    issue: IssueId,
    entry: &ActionPlanEntry,
    change: &Change,
    now: Timestamp,
) -> StoreResult<ActionItem> {
    let mut transaction = pool.begin().await?;
    let sql = format!(
        "INSERT INTO action_items (issue_id, created_at, updated_at, measure, executor_organisation, executor_person, \
         deadline, financing_needed, financing_amount, maslikhat_session_on, done_on) \
         VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {ACTION_COLUMNS}"
    );
    let row = bind_plan(sqlx::query(&sql).bind(issue.0).bind(millis(now)), entry)
        .fetch_one(&mut *transaction)
        .await
        .map_err(|error| constraint(error, "action item", "issue"))?;
    let item = action_from(&row)?;
    touch(&mut transaction, issue, &acting_statuses(), now).await?;
    // The item's id is known only now; the history names it, so later changes tie to it.
    let mut detail: serde_json::Value = serde_json::from_str(&change.detail).unwrap_or_else(|_| json!({}));
    if let serde_json::Value::Object(fields) = &mut detail {
        fields.insert("item".to_owned(), json!(item.id.0));
    }
    record(&mut transaction, issue, Some(change.by), change.action, &detail.to_string(), now).await?;
    transaction.commit().await?;
    Ok(item)
}

pub(super) async fn update_action_item(
    pool: &DbPool,
    item: ActionItemId,
    entry: &ActionPlanEntry,
    change: &Change,
    now: Timestamp,
) -> StoreResult<ActionItem> {
    let mut transaction = pool.begin().await?;
    let sql = format!(
        "UPDATE action_items SET updated_at = $2, measure = $3, executor_organisation = $4, executor_person = $5, \
         deadline = $6, financing_needed = $7, financing_amount = $8, maslikhat_session_on = $9, done_on = $10 \
         WHERE id = $1 RETURNING {ACTION_COLUMNS}"
    );
    let row = bind_plan(sqlx::query(&sql).bind(item.0).bind(millis(now)), entry)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or(StoreError::NotFound("action item"))?;
    let item = action_from(&row)?;
    touch(&mut transaction, item.issue, &acting_statuses(), now).await?;
    record(&mut transaction, item.issue, Some(change.by), change.action, &change.detail, now).await?;
    transaction.commit().await?;
    Ok(item)
}

/// Marks the issue changed, so that `updated_at` (Open311's `updated_datetime`) and the
/// version move with its plan and progress, if it is still unmerged and in one of `statuses`;
/// otherwise a merge or a change of status came first, and the write is refused.
async fn touch(
    connection: &mut DbConnection,
    issue: IssueId,
    statuses: &[IssueStatus],
    now: Timestamp,
) -> StoreResult<()> {
    let mut query: QueryBuilder<Db> =
        QueryBuilder::new("UPDATE register_issues SET version = version + 1, updated_at = ");
    query.push_bind(millis(now)).push(" WHERE merged_into IS NULL AND id = ").push_bind(issue.0);
    query.push(" AND status IN (");
    let mut list = query.separated(", ");
    for status in statuses {
        list.push_bind(status.to_string());
    }
    query.push(")");
    if query.build().execute(connection).await?.rows_affected() == 0 {
        return Err(StoreError::VersionConflict);
    }
    Ok(())
}

/// The statuses in which an issue's plan changes: taken up and not closed.
fn acting_statuses() -> Vec<IssueStatus> {
    IssueStatus::ALL.into_iter().filter(|status| status.is_acting()).collect()
}

pub(super) async fn add_progress(
    pool: &DbPool,
    issue: IssueId,
    reported_on: Date,
    text: &str,
    change: &Change,
    now: Timestamp,
) -> StoreResult<ProgressUpdate> {
    let mut transaction = pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO progress_updates (issue_id, reported_on, text, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(issue.0)
    .bind(reported_on.to_string())
    .bind(text)
    .bind(change.by.0)
    .bind(millis(now))
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| constraint(error, "progress update", "issue"))?
    .try_get("id")?;
    let reporting: Vec<IssueStatus> =
        IssueStatus::ALL.into_iter().filter(|status| status.takes_progress()).collect();
    touch(&mut transaction, issue, &reporting, now).await?;
    record(&mut transaction, issue, Some(change.by), change.action, &change.detail, now).await?;
    let row = sqlx::query(
        "SELECT u.id, u.issue_id, u.reported_on, u.text, u.created_by, a.display_name, u.created_at \
         FROM progress_updates u JOIN accounts a ON a.id = u.created_by WHERE u.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *transaction)
    .await?;
    let update = progress_from(&row)?;
    transaction.commit().await?;
    Ok(update)
}

pub(super) async fn issue_history(pool: &DbPool, issue: IssueId) -> StoreResult<Vec<HistoryEntry>> {
    let rows = sqlx::query(
        "SELECT h.at, h.account_id, a.display_name, h.action, h.detail FROM issue_history h \
         LEFT JOIN accounts a ON a.id = h.account_id WHERE h.issue_id = $1 ORDER BY h.id",
    )
    .bind(issue.0)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(HistoryEntry {
                at: instant(row, "at")?,
                by: row.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
                by_name: row.try_get("display_name")?,
                action: row.try_get("action")?,
                detail: row.try_get("detail")?,
            })
        })
        .collect()
}

pub(super) async fn source_contacts(pool: &DbPool, issue: IssueId) -> StoreResult<Vec<SourceContact>> {
    let rows = sqlx::query(
        "SELECT c.source_id, c.name, c.contact FROM issue_source_contacts c \
         JOIN issue_sources s ON s.id = c.source_id WHERE s.issue_id = $1 ORDER BY c.source_id",
    )
    .bind(issue.0)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SourceContact {
                source: row.try_get("source_id")?,
                contact: Contact { name: row.try_get("name")?, contact: row.try_get("contact")? },
            })
        })
        .collect()
}

pub(super) async fn receipt(pool: &DbPool, code: &str) -> StoreResult<Option<Receipt>> {
    let source = sqlx::query(&format!(
        "SELECT {SOURCE_COLUMNS} FROM issue_sources s LEFT JOIN problem_issues p ON p.id = s.problem_issue_id \
         WHERE s.receipt_code = $1"
    ))
    .bind(code)
    .fetch_optional(pool)
    .await?;
    if let Some(row) = source {
        return Ok(Some(Receipt::Source {
            issue: IssueId(row.try_get("issue_id")?),
            source: source_from(&row)?,
        }));
    }
    let Some(viewer) = sqlx::query("SELECT viewer_id, meeting_id FROM viewer_receipts WHERE code = $1")
        .bind(code)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let viewer_id: i64 = viewer.try_get("viewer_id")?;
    let issues = sqlx::query(
        "SELECT DISTINCT s.issue_id FROM problem_issue_sources c \
         JOIN issue_sources s ON s.problem_issue_id = c.issue_id WHERE c.author_viewer_id = $1 ORDER BY s.issue_id",
    )
    .bind(viewer_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| row.try_get("issue_id").map(IssueId))
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Receipt::Viewer {
        viewer: ViewerId(viewer_id),
        meeting: MeetingId(viewer.try_get("meeting_id")?),
        issues,
    }))
}

pub(super) async fn viewer_receipt(
    pool: &DbPool,
    viewer: ViewerId,
    meeting: MeetingId,
    code: &str,
    now: Timestamp,
) -> StoreResult<String> {
    let mut transaction = pool.begin().await?;
    sqlx::query(
        "INSERT INTO viewer_receipts (code, viewer_id, meeting_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (viewer_id) DO NOTHING",
    )
    .bind(code)
    .bind(viewer.0)
    .bind(meeting.0)
    .bind(millis(now))
    .execute(&mut *transaction)
    .await
    .map_err(|error| constraint(error, "receipt", "viewer"))?;
    let code: String = sqlx::query("SELECT code FROM viewer_receipts WHERE viewer_id = $1")
        .bind(viewer.0)
        .fetch_one(&mut *transaction)
        .await?
        .try_get("code")?;
    transaction.commit().await?;
    Ok(code)
}

//! The register in and out: imports from other channels (CSV or JSON, all or nothing, by
//! external id), exports of the list (CSV or JSON), and the half-yearly export of central-level
//! issues for the Government.

use super::{IssueQuery, keeps_register, require_keeper};
use crate::http::caller::Caller;
use crate::http::problem::ApiQuery;
use crate::http::{ApiError, AppState, Problem};
use crate::store::{NewIssue, NewSource, RegisterIssue};
use crate::wire::IssueView;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use kezdesu_core::issues::import::{ImportContext, RawImportRow, check_rows};
use kezdesu_core::issues::register::collection_period_start;
use kezdesu_core::issues::{EscalationLevel, IssueStatus, SourceKind};
use kezdesu_core::{MeetingId, TerritoryId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::{IntoParams, ToSchema};

/// The columns an import may have, in the documented order.
pub const IMPORT_COLUMNS: [&str; 9] = [
    "channel",
    "external_id",
    "title",
    "text",
    "category",
    "territory_kato",
    "meeting_id",
    "supporters",
    "received_at",
];

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    /// Rows new to the register, each now an issue.
    pub created: u32,
    /// Rows whose `(channel, external_id)` the register already had; left as they are.
    pub already_imported: u32,
}

/// The JSON form of an import: the rows, or an object holding them.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonImport {
    Rows(Vec<RawImportRow>),
    Wrapped { rows: Vec<RawImportRow> },
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// An uploaded import file, by its content type.
pub(crate) enum ImportFile {
    Csv(Bytes),
    Json(Bytes),
}

/// Takes an import's body as CSV or JSON: an oversized body is a 413 problem, any other
/// content type a 415.
pub(crate) fn import_file(
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<ImportFile, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    match content_type(headers).as_deref() {
        Some("text/csv") => Ok(ImportFile::Csv(body)),
        Some("application/json") => Ok(ImportFile::Json(body)),
        _ => Err(ApiError::WrongContentType("text/csv or application/json")),
    }
}

/// Reads a CSV file with a header row of `columns` (any order, each at most once) into one map
/// per data row, every cell as the text it is: "007" stays "007", "+7 701…" keeps its sign.
pub(crate) fn csv_table(body: &[u8], columns: &[&str]) -> Result<Vec<HashMap<String, String>>, ApiError> {
    // Spreadsheets often save UTF-8 with a byte-order mark.
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
    let headers =
        reader.headers().map_err(|error| ApiError::BadRequest(format!("CSV header: {error}")))?.clone();
    let unknown: Vec<&str> = headers.iter().filter(|name| !columns.contains(name)).collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(
            "unknown_column",
            format!("unknown columns {unknown:?}; the columns are {}", columns.join(", ")),
        ));
    }
    let mut names: Vec<&str> = headers.iter().collect();
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(ApiError::invalid("duplicate_column", "each column may appear once in the header"));
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record =
            record.map_err(|error| ApiError::BadRequest(format!("CSV data row {}: {error}", index + 1)))?;
        rows.push(
            headers
                .iter()
                .zip(record.iter())
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        );
    }
    Ok(rows)
}

fn read_csv(body: &[u8]) -> Result<Vec<RawImportRow>, ApiError> {
    Ok(csv_table(body, &IMPORT_COLUMNS)?
        .into_iter()
        .map(|mut cells| RawImportRow {
            channel: cells.remove("channel"),
            external_id: cells.remove("external_id"),
            title: cells.remove("title"),
            text: cells.remove("text"),
            category: cells.remove("category"),
            territory_kato: cells.remove("territory_kato"),
            meeting_id: cells.remove("meeting_id"),
            supporters: cells.remove("supporters"),
            received_at: cells.remove("received_at"),
        })
        .collect())
}

fn read_json(body: &[u8]) -> Result<Vec<RawImportRow>, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, JsonImport>(&mut deserializer) {
        Ok(JsonImport::Rows(rows) | JsonImport::Wrapped { rows }) => Ok(rows),
        Err(error) if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() => {
            Err(ApiError::InvalidBody(format!(
                "expected an array of rows (or {{\"rows\": [...]}}) with the fields {}: {}",
                IMPORT_COLUMNS.join(", "),
                error.inner()
            )))
        }
        Err(error) => Err(ApiError::MalformedJson(error.inner().to_string())),
    }
}

/// Imports issues from another channel (an open-data portal export, a blog platform), as CSV
/// (`text/csv`, with a header row) or JSON (`application/json`, an array of rows). The columns
/// are `channel`, `external_id`, `title`, `text`, `category`, `territory_kato`, `meeting_id`,
/// `supporters` and `received_at`; see docs/register.md. All or nothing: any bad row refuses
/// the whole file with 422 `import_rejected`, listing every problem of every row in `errors`.
/// A row whose `(channel, external_id)` is already in the register is skipped, so importing a
/// file twice changes nothing. By the commission or an admin.
#[utoipa::path(
    post, path = "/api/issues/import", tag = "issues",
    request_body(content = Vec<RawImportRowDoc>, content_type = "application/json", description = "Or text/csv with the same columns"),
    responses(
        (status = 200, body = ImportResult),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem, description = "Bad rows, listed in `errors`; nothing was imported"),
    ),
    security(("bearer" = []))
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ImportResult>, ApiError> {
    let file = import_file(&headers, body)?;
    require_keeper(&caller)?;
    let rows = match file {
        ImportFile::Csv(body) => read_csv(&body)?,
        ImportFile::Json(body) => read_json(&body)?,
    };
    let max_rows = state.config.register.import_max_rows;
    if rows.len() > max_rows {
        return Err(ApiError::invalid(
            "too_many_rows",
            format!("{} rows; one import holds at most {max_rows}", rows.len()),
        ));
    }
    if rows.is_empty() {
        return Err(ApiError::invalid("no_rows", "the file holds no rows"));
    }
    let territories = state.store.territories().await?;
    let territory_by_kato: HashMap<String, TerritoryId> =
        territories.iter().map(|territory| (territory.kato.clone(), territory.id)).collect();
    let mut meetings = HashSet::new();
    let referenced: HashSet<i64> =
        rows.iter().filter_map(|row| row.meeting_id.as_deref()?.trim().parse::<i64>().ok()).collect();
    for id in referenced {
        if state.store.meeting(MeetingId(id)).await.is_ok() {
            meetings.insert(id);
        }
    }
    let context = ImportContext {
        categories: state.config.register.categories.iter().map(|category| category.code.clone()).collect(),
        territory_katos: territory_by_kato.keys().cloned().collect(),
        meetings,
    };
    let checked = check_rows(&rows, &context).map_err(ApiError::RowsRejected)?;
    let now = Timestamp::now();
    let issues = checked
        .into_iter()
        .map(|row| NewIssue {
            meeting: row.meeting_id.map(MeetingId),
            territory: row.territory_kato.as_ref().and_then(|kato| territory_by_kato.get(kato).copied()),
            title: row.title,
            description: row.text.clone(),
            category: row.category,
            source: NewSource {
                kind: SourceKind::Import,
                channel: Some(row.channel),
                external_id: Some(row.external_id),
                text: row.text,
                supporters: i64::from(row.supporters),
                received_at: row.received_at.unwrap_or(now),
                receipt_code: None,
                contact: None,
                created_by: caller.account.as_ref().map(|account| account.id),
            },
        })
        .collect();
    let counts = state.store.import_issues(issues, now).await?;
    tracing::info!(created = counts.created, already = counts.already_imported, "issues imported");
    Ok(Json(ImportResult { created: counts.created, already_imported: counts.already_imported }))
}

/// One import row, for the API document: every field is text (numbers are accepted in JSON).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RawImportRowDoc {
    channel: String,
    external_id: String,
    title: String,
    text: Option<String>,
    category: Option<String>,
    territory_kato: Option<String>,
    meeting_id: Option<String>,
    supporters: Option<String>,
    received_at: Option<String>,
}

/// A spreadsheet would run a cell that starts with `=`, `+`, `-` or `@` as a formula; such text
/// is written with a leading apostrophe so it stays text.
pub(crate) fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

const EXPORT_COLUMNS: [&str; 20] = [
    "id",
    "meeting_id",
    "territory_id",
    "territory_kato",
    "title",
    "description",
    "category",
    "status",
    "status_note",
    "level",
    "supporters",
    "sources",
    "raised_at",
    "updated_at",
    "escalated_at",
    "executors",
    "next_action_deadline",
    "actions_overdue",
    "progress_due",
    "overdue",
];

/// CSV lines for `views`, after the header line when `with_header`. Writing to memory cannot
/// fail, so there is no error to return.
fn csv_rows(views: &[IssueView], kato_of: &HashMap<i64, String>, with_header: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if with_header {
        let _ = writer.write_record(EXPORT_COLUMNS);
    }
    let text = |value: Option<String>| value.unwrap_or_default();
    for view in views {
        let executors: Vec<String> = view
            .actions
            .iter()
            .map(|item| format!("{} ({})", item.executor_organisation, item.executor_person))
            .collect();
        let deadlines = &view.deadlines;
        writer
            .write_record([
                view.id.to_string(),
                text(view.meeting_id.map(|id| id.to_string())),
                text(view.territory_id.map(|id| id.to_string())),
                text(view.territory_id.and_then(|id| kato_of.get(&id).cloned())),
                cell(&view.title),
                cell(&view.description),
                text(view.category.clone()),
                view.status.to_string(),
                cell(&text(view.status_note.clone())),
                text(view.level.map(|level| level.as_str().to_owned())),
                view.supporters.to_string(),
                view.sources.len().to_string(),
                view.raised_at.clone(),
                view.updated_at.clone(),
                text(view.escalated_at.clone()),
                cell(&executors.join("; ")),
                text(deadlines.next_action_deadline.map(|date| date.to_string())),
                deadlines.actions_overdue.to_string(),
                text(deadlines.progress_due.map(|date| date.to_string())),
                deadlines.overdue.to_string(),
            ])
            .ok();
    }
    writer.into_inner().unwrap_or_default()
}

/// Answers `views` as a CSV file, for download as `name`.csv.
async fn csv_response(state: &AppState, views: &[IssueView], name: &str) -> Result<Response, ApiError> {
    let kato_of: HashMap<i64, String> = state
        .store
        .territories()
        .await?
        .into_iter()
        .map(|territory| (territory.id.0, territory.kato))
        .collect();
    let mut response = csv_rows(views, &kato_of, true).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    attach(&mut response, &format!("{name}.csv"));
    Ok(response)
}

pub(crate) fn attach(response: &mut Response, file: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
}

/// Issues an export reads from the store at a time, so that its memory stays bounded however
/// long the register is.
const EXPORT_CHUNK: u32 = 500;

/// The issue list as a file: every issue matching the list's filters (no paging), in id order,
/// as JSON (`format=json`, an array of `IssueView`s) or CSV (`format=csv`). Public: the public
/// list; the commission and admins get every issue. Never carries names or contacts.
/// Streamed in chunks; should the store fail midway, the file ends early and the error is
/// logged.
#[utoipa::path(
    get, path = "/api/issues/export", tag = "issues",
    params(
        IssueQuery,
        ("format" = Option<String>, Query, pattern = "^(json|csv)$", description = "`json` (default) or `csv`"),
    ),
    responses(
        (status = 200, description = "JSON, or text/csv with format=csv", content(([IssueView] = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 422, body = Problem),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiQuery(query): ApiQuery<IssueQuery>,
) -> Result<Response, ApiError> {
    if query.page.is_some() || query.page_size.is_some() {
        return Err(ApiError::invalid(
            "invalid_paging",
            "the export holds every issue matching the filters; it has no pages",
        ));
    }
    super::check_category(&state, query.category.as_deref())?;
    let csv = match query.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ApiError::invalid("invalid_format", format!("format is json or csv, not {other:?}")));
        }
    };
    let mut filter = state.issue_filter(&query, caller.as_ref()).await?;
    filter.order = crate::store::IssueOrder::Oldest;
    filter.limit = Some(EXPORT_CHUNK);
    let keeper = keeps_register(caller.as_ref());
    let kato_of: HashMap<i64, String> = if csv {
        state
            .store
            .territories()
            .await?
            .into_iter()
            .map(|territory| (territory.id.0, territory.kato))
            .collect()
    } else {
        HashMap::new()
    };
    struct Cursor {
        state: AppState,
        filter: crate::store::IssueFilter,
        first: bool,
        done: bool,
    }
    let overdue = query.overdue;
    let cursor = Cursor { state, filter, first: true, done: false };
    let chunks = futures_util::stream::unfold(cursor, move |mut cursor| {
        let kato_of = kato_of.clone();
        async move {
            if cursor.done {
                return None;
            }
            let issues = match cursor.state.store.issues(&cursor.filter).await {
                Ok(issues) => issues,
                Err(error) => {
                    tracing::error!(%error, "the export stopped: the store failed");
                    return Some((
                        Err(std::io::Error::other("the store failed")),
                        Cursor { done: true, ..cursor },
                    ));
                }
            };
            cursor.done = issues.len() < EXPORT_CHUNK as usize;
            cursor.filter.after = issues.last().map(|issue| issue.id);
            let views: Vec<IssueView> = issues
                .iter()
                .filter(|issue| overdue.is_none_or(|wanted| cursor.state.is_overdue(issue) == wanted))
                .map(|issue| cursor.state.issue_view(issue, keeper))
                .collect();
            let mut bytes = Vec::new();
            if csv {
                // `first`: the header is still to be written.
                bytes = csv_rows(&views, &kato_of, cursor.first);
                cursor.first = false;
            } else {
                // `first`: no item written yet.
                for view in &views {
                    bytes.push(if cursor.first { b'[' } else { b',' });
                    cursor.first = false;
                    bytes.extend(serde_json::to_vec(view).unwrap_or_default());
                }
                if cursor.done {
                    bytes.extend_from_slice(if cursor.first { b"[]" } else { b"]" });
                }
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), cursor))
        }
    });
    let (content_type, file) =
        if csv { ("text/csv; charset=utf-8", "issues.csv") } else { ("application/json", "issues.json") };
    let mut response = axum::body::Body::from_stream(chunks).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    attach(&mut response, file);
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CentralExportQuery {
    /// The collection day, `YYYY-MM-DD`: one of the rule set's (15 February or 15 August).
    #[param(format = Date)]
    pub due: String,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CentralExport {
    pub due: String,
    /// The first day of the half-year collected (the day after the previous collection).
    pub period_from: String,
    pub period_to: String,
    /// Issues escalated to the central level in the period and still escalated.
    pub issues: Vec<IssueView>,
}

/// The half-yearly export for the Government: the issues escalated to the central level
/// since the previous collection day, up to `due`. As JSON, or CSV with `format=csv`. By the
/// commission or an admin.
#[utoipa::path(
    get, path = "/api/issues/central-export", tag = "issues",
    params(CentralExportQuery),
    responses(
        (status = 200, description = "JSON, or text/csv with format=csv", content((CentralExport = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn central_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CentralExportQuery>,
) -> Result<Response, ApiError> {
    require_keeper(&caller)?;
    let rules = &state.rules.issues;
    let due: Date =
        query.due.trim().parse().map_err(|_| ApiError::invalid("invalid_date", "due must be YYYY-MM-DD"))?;
    if !rules.central_collection_days.iter().any(|day| day.in_year(due.year()) == due) {
        let days: Vec<String> = rules.central_collection_days.iter().map(ToString::to_string).collect();
        return Err(ApiError::invalid(
            "not_a_collection_day",
            format!("due must be a collection day of the rule set ({})", days.join(", ")),
        ));
    }
    let from = collection_period_start(rules, due);
    let zoned = |date: Date| {
        date.to_zoned(state.clock.zone.clone()).map(|zoned| zoned.timestamp()).map_err(|error| {
            ApiError::invalid("invalid_date", format!("{date} cannot be placed in the time zone: {error}"))
        })
    };
    let day_after_due =
        due.checked_add(1.day()).map_err(|_| ApiError::invalid("invalid_date", "due is too late"))?;
    let filter = crate::store::IssueFilter {
        statuses: Some(vec![IssueStatus::Escalated]),
        level: Some(EscalationLevel::Central),
        escalated_from: Some(zoned(from)?),
        escalated_before: Some(zoned(day_after_due)?),
        ..crate::store::IssueFilter::default()
    };
    let issues: Vec<RegisterIssue> = state.store.issues(&filter).await?;
    let views: Vec<IssueView> = issues.iter().map(|issue| state.issue_view(issue, false)).collect();
    if query.format.as_deref() == Some("csv") {
        return csv_response(&state, &views, &format!("central-issues-{due}")).await;
    }
    if let Some(other) = query.format.as_deref().filter(|format| *format != "json") {
        return Err(ApiError::invalid("invalid_format", format!("format is json or csv, not {other:?}")));
    }
    Ok(Json(CentralExport {
        due: due.to_string(),
        period_from: from.to_string(),
        period_to: due.to_string(),
        issues: views,
    })
    .into_response())
}

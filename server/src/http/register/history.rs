//! An issue's history as each reader may see it, and its sources' contacts for those who
//! manage it.

use crate::http::caller::Caller;
use crate::http::problem::ApiPath;
use crate::http::{ApiError, AppState, Problem};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct HistoryEntryView {
    pub at: String,
    /// The official's display name; null for changes made by the live channel.
    pub by: Option<String>,
    /// `created`, `retitled`, `edited`, `status`, `merged_into`, `merged_from`, `action_added`,
    /// `action_updated` or `progress`.
    pub action: String,
    /// What changed.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Every change of an issue, oldest first: who, when and what. Kept forever. Readable by
/// whoever may read the issue.
#[utoipa::path(
    get, path = "/api/issues/{id}/history", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    responses((status = 200, body = [HistoryEntryView]), (status = 404, body = Problem))
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<HistoryEntryView>>, ApiError> {
    let (issue, keeper) = state.readable_issue(id, caller.as_ref()).await?;
    let entries = state.store.issue_history(issue.id).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| {
                let detail = serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null);
                HistoryEntryView {
                    at: state.clock.format(entry.at),
                    by: entry.by_name,
                    detail: if keeper { detail } else { public_detail(&entry.action, detail) },
                    action: entry.action,
                }
            })
            .collect(),
    ))
}

/// A history entry's detail as the public reads it: earlier wordings of the title and the
/// description are withheld (the commission may have edited a citizen's name out of them), and
/// an edit says which of them changed. The current wording is on the issue itself.
fn public_detail(action: &str, mut detail: serde_json::Value) -> serde_json::Value {
    if let serde_json::Value::Object(fields) = &mut detail {
        let withheld: Vec<&str> =
            ["title", "description"].into_iter().filter(|key| fields.remove(*key).is_some()).collect();
        if !withheld.is_empty() && action != "created" {
            fields.insert("changed".to_owned(), json!(withheld));
        }
    }
    detail
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SourceContactView {
    pub source_id: i64,
    pub name: String,
    pub contact: Option<String>,
}

/// The names and contacts of the citizens behind an issue's requests and entries. Personal
/// data: for the commission, admins and the akim of the issue's meeting only.
#[utoipa::path(
    get, path = "/api/issues/{id}/contacts", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    responses(
        (status = 200, body = [SourceContactView]),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<SourceContactView>>, ApiError> {
    let issue = state.managed_issue(&caller, id).await?;
    let contacts = state.store.source_contacts(issue.id).await?;
    Ok(Json(
        contacts
            .into_iter()
            .map(|entry| SourceContactView {
                source_id: entry.source,
                name: entry.contact.name,
                contact: entry.contact.contact,
            })
            .collect(),
    ))
}

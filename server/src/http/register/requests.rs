//! The public request form, and the receipts with which a citizen follows what they raised
//! (from the form, or as a viewer in a meeting).

use crate::http::caller::{Caller, ClientIp};
use crate::http::problem::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState, Problem};
use crate::store::{NewIssue, NewSource, Receipt, RegisterIssue};
use crate::wire::{IssueView, SourceView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::issues::SourceKind;
use kezdesu_core::{MeetingId, MeetingStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    CitizenContact, MAX_TEXT_CHARS, MAX_TITLE_CHARS, check_category, clean_text, contact_of, receipt_code,
    receipt_url,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Your name; never published.
    #[schema(min_length = 1)]
    pub name: String,
    /// A phone number or e-mail for the answer; never published.
    pub contact: Option<String>,
    /// The problem in a line; published once the commission takes it up.
    #[schema(min_length = 1)]
    pub title: String,
    /// The request or proposal; published once the commission takes it up.
    #[schema(min_length = 1)]
    pub text: String,
    pub category: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RequestReceived {
    pub issue_id: i64,
    /// Keep this: it follows the request to its resolution.
    pub receipt_code: String,
    pub receipt_url: String,
}

/// Sends a request or proposal for a meeting, from its announcement until it starts. Public;
/// rate-limited per client address. The name and contact are never published.
#[utoipa::path(
    post, path = "/api/meetings/{id}/requests", tag = "issues",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = SendRequest,
    responses(
        (status = 201, body = RequestReceived),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The meeting has started, ended or was cancelled"),
        (status = 422, body = Problem), (status = 429, body = Problem),
    )
)]
pub async fn send_request(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<RequestReceived>), ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let now = Timestamp::now();
    if crate::wire::MeetingView::of(&meeting, now, &state.clock).status != MeetingStatus::Scheduled {
        return Err(ApiError::conflict(
            "requests_closed",
            "requests are taken from the announcement until the meeting starts; comment live instead",
        ));
    }
    let contact =
        contact_of(Some(&CitizenContact { name: request.name.clone(), contact: request.contact.clone() }))?;
    let title = clean_text("title", &request.title, MAX_TITLE_CHARS, false)?;
    let text = clean_text("text", &request.text, MAX_TEXT_CHARS, true)?;
    let category = check_category(&state, request.category.as_deref())?;
    // Counted after the checks, so that a citizen fixing a typo is not locked out.
    AppState::check_rate(&state.request_limiter, address).await?;
    let code = receipt_code();
    let issue = NewIssue {
        meeting: Some(meeting.id),
        territory: None,
        title,
        description: text.clone(),
        category,
        source: NewSource {
            kind: SourceKind::Request,
            channel: None,
            external_id: None,
            text,
            supporters: 1,
            received_at: now,
            receipt_code: Some(code.clone()),
            contact,
            created_by: None,
        },
    };
    let id = state.store.create_issue(issue, now).await?;
    tracing::info!(meeting = %meeting.id, issue = %id, "request received");
    Ok((
        StatusCode::CREATED,
        Json(RequestReceived { issue_id: id.0, receipt_url: receipt_url(&code), receipt_code: code }),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ViewerReceipt {
    pub receipt_code: String,
    pub receipt_url: String,
}

/// A viewer's receipt: one code that follows every comment of theirs that becomes a question,
/// to its issue and resolution. With the viewer token of this meeting; the same code each time.
#[utoipa::path(
    post, path = "/api/meetings/{id}/receipt", tag = "issues",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = ViewerReceipt),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn viewer_receipt(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ViewerReceipt>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let kezdesu_core::Principal::Viewer { viewer, meeting: of } = caller.principal else {
        return Err(ApiError::Forbidden("a receipt follows a viewer's comments; use the viewer token"));
    };
    if of != meeting.id {
        return Err(ApiError::Forbidden("this viewer token is for another meeting"));
    }
    let code = state.store.viewer_receipt(viewer, meeting.id, &receipt_code(), Timestamp::now()).await?;
    Ok(Json(ViewerReceipt { receipt_url: receipt_url(&code), receipt_code: code }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReceiptView {
    /// `request`, `commission` (entered on your behalf) or `comments` (your live comments).
    pub kind: String,
    pub meeting_id: Option<i64>,
    /// What you sent, for a request or an entry.
    pub submitted: Option<SourceView>,
    /// The issues it is part of, as they stand now.
    pub issues: Vec<IssueView>,
}

/// Follows a receipt: the request (or the viewer's comments) and the issues it became part
/// of, with status, plan and progress. Public to whoever holds the code; carries no name or
/// contact.
#[utoipa::path(
    get, path = "/api/receipts/{code}", tag = "issues",
    params(("code" = String, Path, description = "Receipt code")),
    responses((status = 200, body = ReceiptView), (status = 404, body = Problem))
)]
pub async fn receipt(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<ReceiptView>, ApiError> {
    if code.len() > 64 {
        return Err(ApiError::NotFound("receipt"));
    }
    let receipt = state.store.receipt(&code).await?.ok_or(ApiError::NotFound("receipt"))?;
    Ok(Json(match receipt {
        Receipt::Source { source, issue } => {
            let view = receipt_issue_view(&state, &state.store.issue(issue).await?);
            let submitted = SourceView {
                id: source.id,
                kind: source.kind,
                meeting_id: source.meeting.map(|meeting| meeting.0),
                question: source.question,
                channel: source.channel,
                external_id: source.external_id,
                supporters: source.supporters,
                received_at: state.clock.format(source.received_at),
                text: Some(source.text),
            };
            ReceiptView {
                kind: source.kind.as_str().to_owned(),
                meeting_id: source.meeting.map(|meeting| meeting.0),
                submitted: Some(submitted),
                issues: vec![view],
            }
        }
        Receipt::Viewer { meeting, issues, .. } => {
            let mut views = Vec::with_capacity(issues.len());
            for id in issues {
                views.push(receipt_issue_view(&state, &state.store.issue(id).await?));
            }
            ReceiptView {
                kind: "comments".to_owned(),
                meeting_id: Some(meeting.0),
                submitted: None,
                issues: views,
            }
        }
    }))
}

/// An issue as a receipt shows it. The issue may hold other citizens' requests merged in; until
/// it is public its wording may be theirs, unchecked, so it is left out: the holder sees their
/// own words (`submitted`), and the issue's status, plan and progress.
fn receipt_issue_view(state: &AppState, issue: &RegisterIssue) -> IssueView {
    let mut view = state.issue_view(issue, false);
    if !view.public {
        view.title.clear();
        view.description.clear();
    }
    view
}

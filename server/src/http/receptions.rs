//! Personal receptions of citizens after a meeting: the akimat opens slots with the officials
//! taking part, citizens book one with a topic, and each booking is linked to the problem
//! issues it raises.
//!
//! Slots are public. A booking's name and contact are read only by those who arrange the
//! meeting's receptions; its citizen reads (and cancels) it with the code they were given.

use super::caller::{Caller, ClientIp};
use super::problem::{ApiJson, ApiPath};
use super::register::clean_text;
use super::{ApiError, AppState, Problem};
use crate::auth::{new_token, token_hash};
use crate::store::{Booking, NewBooking, ReceptionSlot, StoreError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::demand::contact_identity;
use kezdesu_core::reception::{
    BookingError, Official, SlotDraft, SlotError, SlotState, check_booking, check_slot,
};
use kezdesu_core::{AccountId, IssueId, MeetingId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MAX_TOPIC_CHARS: usize = 2000;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SlotView {
    pub id: i64,
    pub meeting_id: i64,
    pub starts_at: String,
    pub minutes: u32,
    pub place: String,
    pub officials: Vec<Official>,
    pub capacity: u32,
    pub booked: u32,
    /// Places still free; 0 once it began or was cancelled.
    pub free: u32,
    /// It has begun: bookings are closed.
    pub started: bool,
    pub cancelled: bool,
}

/// A booking in full: for those who arrange the receptions, and for its own citizen.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BookingView {
    pub id: i64,
    pub reception_id: i64,
    pub name: String,
    pub contact: String,
    pub topic: String,
    pub cancelled: bool,
    pub created_at: String,
    /// The problem issues the reception raised.
    pub issue_ids: Vec<i64>,
}

/// The answer to a booking: the booking, and the code that reads or cancels it later.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BookingReceipt {
    pub booking: BookingView,
    pub reception: SlotView,
    /// Keep it: it is shown once, and only it opens the booking again.
    pub code: String,
}

fn slot_view(state: &AppState, slot: &ReceptionSlot, now: Timestamp) -> SlotView {
    let open = slot.cancelled_at.is_none() && now < slot.starts_at;
    SlotView {
        id: slot.id,
        meeting_id: slot.meeting.0,
        starts_at: state.clock.format(slot.starts_at),
        minutes: slot.minutes,
        place: slot.place.clone(),
        officials: slot.officials.clone(),
        capacity: slot.capacity,
        booked: slot.booked,
        free: if open { slot.capacity.saturating_sub(slot.booked) } else { 0 },
        started: now >= slot.starts_at,
        cancelled: slot.cancelled_at.is_some(),
    }
}

fn booking_view(state: &AppState, booking: &Booking) -> BookingView {
    BookingView {
        id: booking.id,
        reception_id: booking.slot,
        name: booking.name.clone(),
        contact: booking.contact.clone(),
        topic: booking.topic.clone(),
        cancelled: booking.cancelled_at.is_some(),
        created_at: state.clock.format(booking.created_at),
        issue_ids: booking.issues.iter().map(|issue| issue.0).collect(),
    }
}

/// Checks that the caller arranges the receptions of a meeting held by `meeting_akim`.
fn arranges(caller: &Caller, meeting_akim: AccountId) -> Result<(), ApiError> {
    caller.staff()?;
    if caller.principal.may_arrange_receptions(meeting_akim) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins, the commission and the meeting's akim arrange its receptions"))
    }
}

/// A meeting's reception slots, earliest first, with the places still free. Public.
#[utoipa::path(
    get, path = "/api/meetings/{id}/receptions", tag = "receptions",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 200, body = [SlotView]), (status = 404, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<SlotView>>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let now = Timestamp::now();
    let slots = state.store.receptions(meeting.id).await?;
    Ok(Json(slots.iter().map(|slot| slot_view(&state, slot, now)).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSlot {
    /// RFC 3339 with an offset; at or after the meeting's planned start.
    #[schema(format = DateTime)]
    pub starts_at: String,
    pub minutes: u32,
    pub place: String,
    pub officials: Vec<Official>,
    /// How many citizens it receives.
    pub capacity: u32,
}

/// Opens a reception slot after a meeting, with the officials taking part. By admins, the
/// commission and the meeting's akim.
#[utoipa::path(
    post, path = "/api/meetings/{id}/receptions", tag = "receptions",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = CreateSlot,
    responses(
        (status = 201, body = SlotView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateSlot>,
) -> Result<(StatusCode, Json<SlotView>), ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    arranges(&caller, meeting.akim)?;
    if meeting.cancelled_at.is_some() {
        return Err(ApiError::conflict(
            "meeting_cancelled",
            "the meeting was cancelled; it has no receptions",
        ));
    }
    let starts_at = request.starts_at.parse::<Timestamp>().map_err(|_| {
        ApiError::invalid(
            "invalid_timestamp",
            "starts_at must be RFC 3339 with an offset, such as 2026-03-02T15:00:00+05:00",
        )
    })?;
    let draft = SlotDraft {
        starts_at,
        minutes: request.minutes,
        place: request.place,
        officials: request.officials,
        capacity: request.capacity,
    };
    let draft = check_slot(draft, meeting.planned_start).map_err(|error| {
        let code = match error {
            SlotError::BeforeMeeting => "reception_before_meeting",
            SlotError::Minutes => "invalid_minutes",
            SlotError::Capacity => "invalid_capacity",
            SlotError::Officials => "invalid_officials",
            SlotError::Text(_) => "invalid_field",
        };
        ApiError::invalid(code, error.to_string())
    })?;
    let now = Timestamp::now();
    let slot = state.store.create_reception(meeting.id, &draft, now).await?;
    tracing::info!(meeting = %meeting.id, reception = slot.id, "reception opened");
    Ok((StatusCode::CREATED, Json(slot_view(&state, &slot, now))))
}

/// Cancels a reception slot; its bookings stay, for the akimat to contact. By those who
/// arrange the meeting's receptions.
#[utoipa::path(
    post, path = "/api/receptions/{id}/cancel", tag = "receptions",
    params(("id" = i64, Path, description = "Reception id")),
    responses(
        (status = 200, body = SlotView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SlotView>, ApiError> {
    let slot = state.store.reception(id).await?;
    arranges(&caller, state.store.meeting(slot.meeting).await?.akim)?;
    let now = Timestamp::now();
    let slot = state.store.cancel_reception(slot.id, now).await?;
    Ok(Json(slot_view(&state, &slot, now)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookSlot {
    /// Yours; shown only to the akimat.
    #[schema(min_length = 1)]
    pub name: String,
    /// A phone number or e-mail address, for the akimat to reach you; never published.
    #[schema(min_length = 1)]
    pub contact: String,
    /// What you want to raise.
    #[schema(min_length = 1)]
    pub topic: String,
}

/// Books a place at a reception, with the topic. Public; rate-limited per client address.
/// 409 `reception_full`, `reception_started` or `reception_cancelled` when it cannot be booked.
#[utoipa::path(
    post, path = "/api/receptions/{id}/bookings", tag = "receptions",
    params(("id" = i64, Path, description = "Reception id")),
    request_body = BookSlot,
    responses(
        (status = 201, body = BookingReceipt),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem),
    )
)]
pub async fn book(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<BookSlot>,
) -> Result<(StatusCode, Json<BookingReceipt>), ApiError> {
    let name = clean_text("name", &request.name, 200, false)?;
    let topic = clean_text("topic", &request.topic, MAX_TOPIC_CHARS, true)?;
    let contact = clean_text("contact", &request.contact, 200, false)?;
    let identity = contact_identity(&contact).ok_or_else(|| {
        ApiError::invalid("invalid_contact", "contact must be a phone number or an e-mail address")
    })?;
    let slot = state.store.reception(id).await?;
    if state.store.meeting(slot.meeting).await?.cancelled_at.is_some() {
        return Err(ApiError::conflict(
            "meeting_cancelled",
            "the meeting was cancelled, and its receptions with it",
        ));
    }
    AppState::check_rate(&state.request_limiter, address).await?;
    let code = new_token();
    let booking = NewBooking {
        slot: slot.id,
        name,
        contact,
        topic,
        contact_hash: token_hash(&identity),
        code_hash: token_hash(&code),
    };
    let now = Timestamp::now();
    let booked = state.store.book_reception(&booking, now).await.map_err(|error| match error {
        StoreError::Taken(_) => {
            ApiError::conflict("already_booked", "this contact already has a place at this reception")
        }
        other => other.into(),
    })?;
    let Some(saved) = booked else {
        // Tell why from the slot as it is now.
        let slot = state.store.reception(id).await?;
        let refused = check_booking(
            SlotState {
                starts_at: slot.starts_at,
                capacity: slot.capacity,
                booked: slot.booked,
                cancelled: slot.cancelled_at.is_some(),
            },
            now,
        )
        .err()
        .unwrap_or(BookingError::Full);
        let code = match refused {
            BookingError::Full => "reception_full",
            BookingError::Started => "reception_started",
            BookingError::Cancelled => "reception_cancelled",
        };
        return Err(ApiError::conflict(code, refused.to_string()));
    };
    let slot = state.store.reception(id).await?;
    tracing::info!(reception = slot.id, booking = saved.id, "reception booked");
    Ok((
        StatusCode::CREATED,
        Json(BookingReceipt {
            booking: booking_view(&state, &saved),
            reception: slot_view(&state, &slot, now),
            code,
        }),
    ))
}

/// A reception's bookings with the citizens' names, contacts and topics. By those who arrange
/// the meeting's receptions.
#[utoipa::path(
    get, path = "/api/receptions/{id}/bookings", tag = "receptions",
    params(("id" = i64, Path, description = "Reception id")),
    responses(
        (status = 200, body = [BookingView]),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn bookings(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<BookingView>>, ApiError> {
    let slot = state.store.reception(id).await?;
    arranges(&caller, state.store.meeting(slot.meeting).await?.akim)?;
    let bookings = state.store.bookings(slot.id).await?;
    Ok(Json(bookings.iter().map(|booking| booking_view(&state, booking)).collect()))
}

/// The booking a code opens.
async fn booking_of_code(state: &AppState, code: &str) -> Result<Booking, ApiError> {
    // Any text may be tried; only a code that was given out matches a stored hash.
    state.store.booking_by_code(&token_hash(code)).await?.ok_or(ApiError::NotFound("booking"))
}

/// The citizen's own booking, by the code they were given, with the issues it raised.
#[utoipa::path(
    get, path = "/api/bookings/{code}", tag = "receptions",
    params(("code" = String, Path, description = "The booking's code")),
    responses((status = 200, body = BookingView), (status = 404, body = Problem))
)]
pub async fn own(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(booking_view(&state, &booking_of_code(&state, &code).await?)))
}

/// Cancels the citizen's own booking by its code, freeing the place.
#[utoipa::path(
    delete, path = "/api/bookings/{code}", tag = "receptions",
    params(("code" = String, Path, description = "The booking's code")),
    responses((status = 200, body = BookingView), (status = 404, body = Problem))
)]
pub async fn cancel_own(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    let booking = booking_of_code(&state, &code).await?;
    let booking = state.store.cancel_booking(booking.id, Timestamp::now()).await?;
    Ok(Json(booking_view(&state, &booking)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIssue {
    pub issue_id: i64,
}

/// A booking the caller arranges.
async fn arranged_booking(state: &AppState, caller: &Caller, id: i64) -> Result<Booking, ApiError> {
    let booking = state.store.booking(id).await?;
    let slot = state.store.reception(booking.slot).await?;
    arranges(caller, state.store.meeting(slot.meeting).await?.akim)?;
    Ok(booking)
}

/// Cancels a booking for its citizen (who asked by phone, say) or because it is not genuine,
/// freeing the place. By those who arrange the meeting's receptions.
#[utoipa::path(
    post, path = "/api/reception-bookings/{id}/cancel", tag = "receptions",
    params(("id" = i64, Path, description = "Booking id")),
    responses(
        (status = 200, body = BookingView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn cancel_booking(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BookingView>, ApiError> {
    let booking = arranged_booking(&state, &caller, id).await?;
    let booking = state.store.cancel_booking(booking.id, Timestamp::now()).await?;
    Ok(Json(booking_view(&state, &booking)))
}

/// Links a reception (a booking) to a problem issue it raised. Linking twice changes nothing.
#[utoipa::path(
    post, path = "/api/reception-bookings/{id}/issues", tag = "receptions",
    params(("id" = i64, Path, description = "Booking id")),
    request_body = LinkIssue,
    responses(
        (status = 200, body = BookingView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<LinkIssue>,
) -> Result<Json<BookingView>, ApiError> {
    let account = caller.staff()?.id;
    let booking = arranged_booking(&state, &caller, id).await?;
    let issue = match state.store.issue(IssueId(request.issue_id)).await {
        Ok(issue) => issue,
        Err(StoreError::NotFound(_)) => {
            return Err(ApiError::invalid("missing_reference", "the issue does not exist"));
        }
        Err(other) => return Err(other.into()),
    };
    // An akim links only the issues they manage: those of their own meetings.
    let issue_akim = match issue.meeting {
        Some(meeting) => Some(state.store.meeting(meeting).await?.akim),
        None => None,
    };
    if !caller.principal.may_manage_issue(issue_akim) {
        return Err(ApiError::Forbidden("a reception is linked only to issues the caller manages"));
    }
    let booking = state.store.link_booking_issue(booking.id, issue.id, account, Timestamp::now()).await?;
    Ok(Json(booking_view(&state, &booking)))
}

/// Removes a link made by mistake.
#[utoipa::path(
    delete, path = "/api/reception-bookings/{id}/issues/{issue_id}", tag = "receptions",
    params(("id" = i64, Path, description = "Booking id"), ("issue_id" = i64, Path, description = "Issue id")),
    responses(
        (status = 200, body = BookingView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn unlink(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, issue)): ApiPath<(i64, i64)>,
) -> Result<Json<BookingView>, ApiError> {
    let booking = arranged_booking(&state, &caller, id).await?;
    let booking = state.store.unlink_booking_issue(booking.id, IssueId(issue)).await?;
    Ok(Json(booking_view(&state, &booking)))
}

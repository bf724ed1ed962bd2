//! The HTTP adapter: the REST API, its OpenAPI document, the event stream and the web pages.
//!
//! Handlers parse and check input, ask the core whether the caller may act, and call the store
//! or a room. They hold no meeting state of their own and never write a meeting's phase
//! directly: that is the room's job.

mod accounts;
mod calendar;
mod caller;
mod compliance;
mod demands;
mod destinations;
mod hls;
mod live;
mod log;
mod media;
mod meetings;
mod open311;
mod openapi;
mod platforms;
mod problem;
mod problem_text;
mod receptions;
mod recordings;
mod register;
mod session;
mod system;
pub(crate) mod territories;
mod viewers;
mod web;
mod yearly;

pub use problem::{ApiError, PROBLEM_JSON, Problem};

use crate::cluster::Cluster;
use crate::cluster::limits::RateLimit;
use crate::config::Config;
use crate::egress::Egress;
use crate::media::Media;
use crate::metrics::{Metrics, RequestLabels};
use crate::room::Rooms;
use crate::secrets::Sealer;
use crate::store::Store;
use crate::wire::Clockface;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use kezdesu_core::RuleSet;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The client's address, as the connection saw it (no proxy headers are trusted).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub std::net::SocketAddr);

/// What every handler can reach. Cloning is cheap: it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub rooms: Rooms,
    pub rules: Arc<RuleSet>,
    pub clock: Clockface,
    pub metrics: Metrics,
    /// Sign-in attempts per client address, against password guessing.
    pub sign_in_limiter: RateLimit,
    /// Viewer tokens per client address, against token farming.
    pub viewer_limiter: RateLimit,
    /// Live comments per client address, whatever the viewer.
    pub live_address_limiter: RateLimit,
    /// New viewing sessions (WHEP) per client address.
    pub whep_limiter: RateLimit,
    /// Requests through meetings' public forms per client address.
    pub request_limiter: RateLimit,
    /// The broadcast: WHIP and WHEP sessions.
    pub media: Media,
    /// Restreams of the broadcast to the platforms.
    pub egress: Egress,
    /// The readers of the platforms' comments.
    pub platforms: crate::platforms::Platforms,
    /// The broadcasts' recordings and replays.
    pub recordings: crate::recording::Recordings,
    /// Seals platform stream keys before they are stored.
    pub sealer: Sealer,
    /// Cancelled when the server begins to shut down; long-lived streams end on it.
    pub shutdown: CancellationToken,
    /// With several nodes: the cluster, where another node's part is asked for (HLS made on
    /// a meeting's origin node).
    pub cluster: Option<Cluster>,
    /// The server's own HTTP client, for asking other nodes.
    pub http_client: reqwest::Client,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    // Each argument is one of the server's parts, built once by `run`; a builder for a
    // single call site would add ceremony and no safety.
    #[expect(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        rooms: Rooms,
        rules: Arc<RuleSet>,
        clock: Clockface,
        metrics: Metrics,
        media: Media,
        egress: Egress,
        platforms: crate::platforms::Platforms,
        recordings: crate::recording::Recordings,
        cluster: Option<Cluster>,
        shutdown: CancellationToken,
    ) -> AppState {
        const MINUTE: Duration = Duration::from_secs(60);
        let limit = |name, count, period| RateLimit::new(name, count, period, cluster.clone());
        AppState(Arc::new(Shared {
            sign_in_limiter: limit("sign_in", config.auth.sign_in_attempts_per_minute, MINUTE),
            viewer_limiter: limit("viewer_tokens", config.auth.viewer_tokens_per_minute, MINUTE),
            live_address_limiter: limit("comments", config.live.comments_per_minute_per_address, MINUTE),
            whep_limiter: limit(
                "viewing_sessions",
                config.media.viewer_sessions_per_minute_per_address,
                MINUTE,
            ),
            request_limiter: limit(
                "requests",
                config.register.requests_per_hour_per_address,
                Duration::from_secs(3600),
            ),
            media,
            egress,
            platforms,
            recordings,
            sealer: Sealer::new(config.secret_key.clone(), config.previous_secret_key.clone()),
            config,
            store,
            rooms,
            rules,
            clock,
            metrics,
            shutdown,
            cluster,
            http_client: reqwest::Client::new(),
        }))
    }

    /// Refuses with 429 when `address` has used up its quota on `limiter`.
    pub async fn check_rate(limiter: &RateLimit, address: IpAddr) -> Result<(), ApiError> {
        limiter.check(rate_key(address)).await.map_err(ApiError::RateLimited)
    }
}

/// Whom a rate limit counts: an IPv4 address, or an IPv6 /64, since one subscriber commonly
/// holds a whole /64 and could otherwise take a fresh address for every request.
pub(crate) fn rate_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !(u128::from(u64::MAX)))),
        },
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kezdesu",
        description = "Live meeting broadcast and moderation server for akims' public meetings with the population."
    ),
    modifiers(&BearerSecurity),
    tags(
        (name = "session", description = "Staff sign-in"),
        (name = "accounts", description = "Staff accounts, managed by admins"),
        (name = "territories", description = "Administrative-territorial units with KATO codes"),
        (name = "meetings", description = "Meetings, their session timer and events"),
        (name = "issues", description = "The register of problem issues: sources, pool, workflow, action plans, progress, publication"),
        (name = "calendars", description = "Akims' yearly calendars: revisions, the maslikhat's agreement, submission, validation"),
        (name = "compliance", description = "How each akim kept the decree, period by period"),
        (name = "receptions", description = "Personal receptions of citizens after a meeting"),
        (name = "open311", description = "The public issue list as an Open311 GeoReport v2 read API"),
        (name = "system", description = "Health and metrics")
    )
)]
struct ApiDoc;

struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole application: API, OpenAPI document, web pages and middleware.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::sign_in, session::current, session::sign_out))
        .routes(routes!(accounts::list, accounts::create))
        .routes(routes!(accounts::show, accounts::update))
        .routes(routes!(territories::list, territories::create))
        .routes(routes!(territories::show))
        .routes(routes!(calendar::territory_feed))
        .routes(routes!(calendar::akim_feed))
        .routes(routes!(calendar::coverage))
        .routes(routes!(yearly::year))
        .merge(
            // A district's calendar plans a meeting in each of its villages every quarter: far more
            // than the general body limit allows.
            OpenApiRouter::new()
                .routes(routes!(yearly::start))
                .routes(routes!(yearly::replace_entries))
                .layer(DefaultBodyLimit::max(yearly::MAX_CALENDAR_BYTES)),
        )
        .routes(routes!(yearly::show))
        .routes(routes!(yearly::agree))
        .routes(routes!(yearly::submit))
        .routes(routes!(yearly::validation))
        .routes(routes!(compliance::dashboard))
        .routes(routes!(receptions::list, receptions::create))
        .routes(routes!(receptions::cancel))
        .routes(routes!(receptions::book, receptions::bookings))
        .routes(routes!(receptions::own, receptions::cancel_own))
        .routes(routes!(receptions::link))
        .routes(routes!(receptions::cancel_booking))
        .routes(routes!(receptions::unlink))
        .routes(routes!(meetings::list, meetings::create))
        .routes(routes!(meetings::show, meetings::update))
        .routes(routes!(meetings::change_phase))
        .routes(routes!(meetings::announce))
        .routes(routes!(demands::list, demands::raise))
        .routes(routes!(demands::show))
        .routes(routes!(demands::support))
        .routes(routes!(demands::meet))
        .routes(routes!(meetings::events))
        .routes(routes!(viewers::create))
        .routes(routes!(live::connect))
        .routes(routes!(meetings::moderation_log))
        .routes(routes!(meetings::issues))
        .routes(routes!(meetings::results, meetings::publish_results))
        .routes(routes!(media::stream_key, media::rotate_stream_key))
        .routes(routes!(media::end_broadcast))
        .routes(routes!(log::log))
        .routes(routes!(recordings::show, recordings::delete))
        .routes(routes!(recordings::file))
        .routes(routes!(hls::playlist))
        .routes(routes!(hls::segment))
        .routes(routes!(destinations::list_for_meeting, destinations::add_to_meeting))
        .routes(routes!(destinations::update_for_meeting, destinations::remove_from_meeting))
        .routes(routes!(destinations::list_defaults, destinations::add_default))
        .routes(routes!(destinations::update_default, destinations::remove_default))
        .routes(routes!(platforms::list_accounts))
        .routes(routes!(platforms::connect_account, platforms::disconnect_account))
        .routes(routes!(platforms::list_feeds))
        .routes(routes!(platforms::follow, platforms::unfollow))
        .routes(routes!(register::issues::list, register::issues::create))
        .routes(routes!(register::issues::categories))
        .routes(routes!(register::issues::show, register::issues::update))
        .routes(routes!(register::issues::change_status))
        .routes(routes!(register::issues::merge))
        .routes(routes!(register::actions::add_action))
        .routes(routes!(register::actions::update_action))
        .routes(routes!(register::progress::add_progress))
        .routes(routes!(register::history::history))
        .routes(routes!(register::history::contacts))
        .routes(routes!(register::requests::send_request))
        .routes(routes!(register::requests::viewer_receipt))
        .routes(routes!(register::requests::receipt))
        .routes(routes!(register::issues::briefing))
        .routes(routes!(register::io::export))
        .routes(routes!(register::io::central_export))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(register::io::import))
                .routes(routes!(territories::import))
                .layer(DefaultBodyLimit::max(state.config.register.import_max_bytes)),
        )
        .routes(routes!(open311::services))
        .routes(routes!(open311::requests))
        .routes(routes!(open311::request))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(media::whip_options, media::whip_publish))
                .routes(routes!(media::whip_session_options, media::whip_patch, media::whip_delete))
                .routes(routes!(media::whep_options, media::whep_play))
                .routes(routes!(media::whep_session_options, media::whep_patch, media::whep_delete))
                .layer(middleware::from_fn(media::cors)),
        )
        .routes(routes!(system::healthz))
        .routes(routes!(system::metrics))
        .routes(routes!(system::rules))
        .split_for_parts();
    let mut openapi = openapi;
    openapi::document_errors(&mut openapi);
    let mut document = serde_json::to_value(&openapi).unwrap_or_default();
    let category_codes: Vec<&str> =
        state.config.register.categories.iter().map(|category| category.code.as_str()).collect();
    let meeting_rules = &state.rules.meeting;
    openapi::document_runtime(
        &mut document,
        &category_codes,
        (meeting_rules.min_planned_minutes, meeting_rules.max_planned_minutes),
    );
    let openapi_json: Arc<str> = document.to_string().into();
    let request_timeout = Duration::from_secs(state.config.server.request_timeout_seconds);
    let max_body_bytes = state.config.server.max_body_bytes;

    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let json = openapi_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json.to_string()) }
            }),
        )
        .merge(web::routes())
        .fallback(web::fallback)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(middleware::from_fn(problem_for_bare_errors))
        .layer(middleware::from_fn_with_state(state.clone(), record_request))
        .layer(
            TraceLayer::new_for_http()
                // A 503 such as "nobody is on air yet" is an answer, not a failure of the server;
                // real internal errors are logged with their cause where they happen.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG))
                .make_span_with(|request: &Request| {
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str)
                        .unwrap_or("unmatched");
                    // The span is named by the route, never the raw URL, and carries no headers, so
                    // no token reaches the logs.
                    tracing::info_span!("request", method = %request.method(), route)
                }),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::Internal("a handler panicked".to_owned()).into_response()
        }))
        // Outermost, so that a problem made by any layer inside is said in the caller's language.
        .layer(middleware::from_fn(problem_text::localize_problems))
        .with_state(state)
}

/// Counts every request by method, matched route and status, and times it.
async fn record_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only the methods the API knows become labels: made-up ones would add series forever.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known.to_owned(),
        _ => "other".to_owned(),
    };
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route: route.unwrap_or_else(|| "unmatched".to_owned()),
        status: response.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state.metrics.request_seconds.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

/// Errors made by layers (timeouts, body limits, unknown methods) come without a body; give
/// them a problem document like every other error.
async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let error = match status.as_u16() {
        404 => ApiError::RouteNotFound,
        405 => ApiError::MethodNotAllowed,
        408 => ApiError::Timeout,
        413 => ApiError::BodyTooLarge,
        415 => ApiError::UnsupportedMediaType,
        400..=499 => ApiError::BadRequest(status.canonical_reason().unwrap_or("bad request").to_owned()),
        _ => ApiError::Internal(format!("a layer answered {status}")),
    };
    let mut replaced = error.into_response();
    *replaced.status_mut() = status;
    replaced
}

#[cfg(test)]
mod tests {
    use super::rate_key;
    use std::net::IpAddr;

    #[test]
    fn rate_limits_count_ipv6_by_its_64_prefix() {
        let parse = |text: &str| text.parse::<IpAddr>().expect("an address");
        assert_eq!(rate_key(parse("2001:db8:1:2:aaaa::1")), parse("2001:db8:1:2::"));
        assert_eq!(rate_key(parse("2001:db8:1:2:ffff::9")), rate_key(parse("2001:db8:1:2::1")));
        assert_ne!(rate_key(parse("2001:db8:1:3::1")), rate_key(parse("2001:db8:1:2::1")));
        assert_eq!(rate_key(parse("192.0.2.7")), parse("192.0.2.7"));
        assert_eq!(rate_key(parse("::ffff:192.0.2.7")), parse("192.0.2.7"));
    }
}

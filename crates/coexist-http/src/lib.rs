//! # coexist-http — the HTTP edge
//!
//! The admin API of API.md (bearer admin token or tenant-scoped tokens),
//! errors as RFC 9457 problem documents with `code` and `rule`, the OpenAPI
//! document generated from the handlers, `/healthz` and `/metrics`.
//!
//! | concern | file |
//! |---|---|
//! | routes and the OpenAPI document | this file |
//! | admin handlers | [`admin`] |
//! | teams client handlers (log-in, chats, presence, calls) | [`teams`] |
//! | the WebSocket event stream | [`events`] |
//! | errors → status (the one place) and body parsing | [`problem`] |
//! | bearer tokens | [`auth`] |
//! | Prometheus metrics, request logs | [`metrics`] |

pub mod admin;
pub mod auth;
pub mod events;
pub mod metrics;
pub mod problem;
pub mod teams;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use coexist_core::Directory;
use coexist_core::Teams;
use std::sync::Arc;
use utoipa::OpenApi;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The directory.
    pub directory: Arc<Directory>,
    /// The teams side.
    pub teams: Arc<Teams>,
    /// Request metrics.
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    /// State over a directory and the teams side.
    pub fn new(directory: Arc<Directory>, teams: Arc<Teams>) -> AppState {
        AppState {
            directory,
            teams,
            metrics: Arc::new(metrics::Metrics::default()),
        }
    }
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "coexist API", description = "Teams / Skype for Business coexistence: tenants, users, grants (R1), explain (R3), lint (R8), legacy policies (R9); the teams client: log-in, chats (R3, R4, R5), presence (R7), calls, WebSocket events. Errors are RFC 9457 problem documents with `code` and `rule`."),
    paths(
        admin::healthz,
        admin::create_tenant, admin::list_tenants, admin::get_tenant, admin::patch_tenant,
        admin::delete_tenant, admin::grant_tenant, admin::set_federation, admin::lint,
        admin::interop_conversion, admin::apply_interop_conversion, admin::create_token,
        admin::list_peers, admin::put_peer, admin::delete_peer,
        admin::create_user, admin::list_users, admin::import_users,
        admin::get_user, admin::patch_user, admin::delete_user,
        admin::grant_user, admin::effective, admin::grant_interop,
        admin::upgrade_policies, admin::interop_policies, admin::create_interop_policy,
        admin::explain, admin::audit,
        teams::log_in, teams::log_out, teams::me, teams::set_presence, teams::presence,
        teams::set_calling_client,
        teams::create_chat, teams::list_chats, teams::get_chat, teams::add_member, teams::list_messages,
        teams::post_message, teams::place_call, teams::get_call, teams::call_action,
        events::events,
    ),
    components(schemas(
        coexist_core::TenantFields, coexist_core::UserFields, admin::GrantBody,
        admin::FederationBody, admin::InteropPolicyBody, admin::TokenBody, admin::ProblemDoc,
        coexist_core::Tenant, coexist_core::User, coexist_core::EffectiveView,
        coexist_core::ImportReport, coexist_core::LineIssue, coexist_core::AuditEntry,
        coexist_core::PeerFields, coexist_core::Peer, coexist_core::PeerKind,
        teams::TokenRequest, teams::TokenReply, teams::MemberRequest, coexist_core::teams::ChatRequest,
        coexist_core::teams::MessageRequest, coexist_core::teams::BodyRequest,
        coexist_core::teams::PresenceRequest, coexist_core::teams::PresenceView,
        coexist_core::teams::CallRequest, coexist_core::teams::AnswerRequest,
        coexist_core::teams::TargetRequest, coexist_core::teams::Call,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Bulk imports carry whole CSV files (100 000 users is about 10 MB).
const IMPORT_BODY_LIMIT: usize = 256 * 1024 * 1024;

/// The HTTP service.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/healthz", get(admin::healthz))
        .route("/metrics", get(metrics::render))
        .route(
            "/v1/openapi.json",
            get(|| async { axum::Json(ApiDoc::openapi()) }),
        )
        .route(
            "/v1/tenants",
            post(admin::create_tenant).get(admin::list_tenants),
        )
        .route(
            "/v1/tenants/{tenant}",
            get(admin::get_tenant)
                .patch(admin::patch_tenant)
                .delete(admin::delete_tenant),
        )
        .route(
            "/v1/tenants/{tenant}/upgrade-policy",
            put(admin::grant_tenant),
        )
        .route(
            "/v1/tenants/{tenant}/federation",
            put(admin::set_federation),
        )
        .route("/v1/tenants/{tenant}/lint", get(admin::lint))
        .route(
            "/v1/tenants/{tenant}/interop-conversion",
            get(admin::interop_conversion).post(admin::apply_interop_conversion),
        )
        .route("/v1/tenants/{tenant}/tokens", post(admin::create_token))
        .route("/v1/tenants/{tenant}/peers", get(admin::list_peers))
        .route(
            "/v1/tenants/{tenant}/peers/{kind}/{name}",
            put(admin::put_peer).delete(admin::delete_peer),
        )
        .route(
            "/v1/tenants/{tenant}/users",
            post(admin::create_user).get(admin::list_users),
        )
        .route(
            "/v1/tenants/{tenant}/users/import",
            post(admin::import_users).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
        .route(
            "/v1/users/{upn}",
            get(admin::get_user)
                .patch(admin::patch_user)
                .delete(admin::delete_user),
        )
        .route("/v1/users/{upn}/upgrade-policy", put(admin::grant_user))
        .route("/v1/users/{upn}/effective", get(admin::effective))
        .route("/v1/users/{upn}/interop-policy", put(admin::grant_interop))
        .route("/v1/upgrade-policies", get(admin::upgrade_policies))
        .route(
            "/v1/interop-policies",
            get(admin::interop_policies).post(admin::create_interop_policy),
        )
        .route("/v1/routing/explain", get(admin::explain))
        .route("/v1/audit", get(admin::audit))
        .route("/v1/auth/token", post(teams::log_in).delete(teams::log_out))
        .route("/v1/me", get(teams::me))
        .route("/v1/me/presence", put(teams::set_presence))
        .route("/v1/me/calling-client", put(teams::set_calling_client))
        .route("/v1/users/{upn}/presence", get(teams::presence))
        .route("/v1/chats", post(teams::create_chat).get(teams::list_chats))
        .route("/v1/chats/{id}", get(teams::get_chat))
        .route("/v1/chats/{id}/members", post(teams::add_member))
        .route(
            "/v1/chats/{id}/messages",
            get(teams::list_messages).post(teams::post_message),
        )
        .route("/v1/calls", post(teams::place_call))
        .route("/v1/calls/{id}", get(teams::get_call))
        .route("/v1/calls/{id}/{action}", post(teams::call_action))
        .route("/v1/events", get(events::events))
        .fallback(|| async { problem::Problem::no_route() })
        .method_not_allowed_fallback(|| async {
            problem::Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "this endpoint does not take that method; see /v1/openapi.json",
            )
        });
    api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        metrics::track,
    ))
    .with_state(state)
}

//! The teams client API (API.md "Users, the teams client"): log-in, me,
//! presence, chats and messages, calls. Thin typed functions over
//! [`coexist_core::Teams`]; errors become problem documents in
//! [`crate::problem`]. The WebSocket event stream is in [`crate::events`].

use crate::AppState;
use crate::admin::{ProblemDoc, Reply, created, ok};
use crate::auth::{TeamsUser, bearer};
use crate::problem::{Problem, parse_json};
use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use coexist_core::teams::{
    AnswerRequest, Call, CallRequest, ChatRequest, MessageRequest, PresenceRequest, PresenceView,
    TargetRequest,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use utoipa::ToSchema;

/// `POST /v1/auth/token`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The user's UPN.
    pub upn: String,
    /// The password.
    pub password: String,
}

/// A log-in token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenReply {
    /// Send as `Authorization: Bearer TOKEN` (or `?access_token=` on
    /// `/v1/events`).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it stops working.
    pub expires_in: u64,
}

/// Logs in: UPN and password → a bearer token. Failed attempts are
/// throttled per user and per source address (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/token", tag = "teams", request_body = TokenRequest, security(()),
    responses((status = 200, description = "a token", body = TokenReply),
              (status = 401, description = "wrong user name or password", body = ProblemDoc),
              (status = 429, description = "too many failed attempts", body = ProblemDoc)))]
pub async fn log_in(State(s): State<AppState>, request: Request) -> Reply {
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| Problem::invalid("body", "at most 64 KiB"))?;
    let given: TokenRequest = parse_json(&body)?;
    let (access_token, expires_in) = s.teams.log_in(&given.upn, &given.password, source).await?;
    ok(TokenReply {
        access_token,
        token_type: "Bearer",
        expires_in,
    })
}

/// Logs out: the token stops working.
#[utoipa::path(delete, path = "/v1/auth/token", tag = "teams",
    responses((status = 204, description = "revoked"), (status = 401, description = "no valid token", body = ProblemDoc)))]
pub async fn log_out(State(s): State<AppState>, request: Request) -> Reply {
    let (parts, _) = request.into_parts();
    let token = bearer(&parts.headers)
        .filter(|t| s.teams.authenticate(t).is_some())
        .ok_or_else(Problem::unauthorized)?;
    s.teams.log_out(token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The caller: their user record and effective mode.
#[utoipa::path(get, path = "/v1/me", tag = "teams",
    responses((status = 200, description = "the caller", body = coexist_core::User)))]
pub async fn me(State(s): State<AppState>, TeamsUser(me): TeamsUser) -> Reply {
    let user = s.teams.me(&me)?;
    let mode = s
        .directory
        .effective(&coexist_core::Actor::System, &me)
        .map(|e| e.mode)
        .ok();
    let mut value = serde_json::to_value(&user).unwrap_or_default();
    value["mode"] = json!(mode);
    ok(value)
}

/// Sets the caller's teams presence (R7.1); it reads Offline while they
/// have no live `/v1/events` connection (R7.3).
#[utoipa::path(put, path = "/v1/me/presence", tag = "teams", request_body = PresenceRequest,
    responses((status = 200, description = "as others see it", body = PresenceView), (status = 400, description = "invalid field", body = ProblemDoc)))]
pub async fn set_presence(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    body: Bytes,
) -> Reply {
    let request: PresenceRequest = parse_json(&body)?;
    ok(s.teams.set_presence(&me, request).await?)
}

/// A user's presence as the caller (a teams watcher) sees it (R7), or
/// inside a chat with `?thread=ID` (R7.2). The caller then gets `presence`
/// events when it changes.
#[utoipa::path(get, path = "/v1/users/{upn}/presence", tag = "teams",
    params(("upn" = String, Path, description = "the publisher"), ("thread" = Option<String>, Query, description = "a chat id (R7.2)")),
    responses((status = 200, description = "presence", body = PresenceView), (status = 404, description = "unknown user or chat", body = ProblemDoc)))]
pub async fn presence(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    Path(upn): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    ok(s.teams
        .presence(&me, &upn, query.get("thread").map(String::as_str))
        .await?)
}

/// Starts a chat: routed by R3, its method fixed for life (R4.1). A 1:1
/// chat with someone the caller already has a routable thread with returns
/// that thread (200) instead of a new one (201). Group chats hold teams
/// members only (R5.3).
#[utoipa::path(post, path = "/v1/chats", tag = "teams", request_body = ChatRequest,
    responses((status = 201, description = "created"), (status = 200, description = "the existing 1:1 thread"),
              (status = 403, description = "refused by a rule (code, rule)", body = ProblemDoc),
              (status = 404, description = "unknown member", body = ProblemDoc)))]
pub async fn create_chat(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    body: Bytes,
) -> Reply {
    let request: ChatRequest = parse_json(&body)?;
    let (thread, new) = s.teams.create_chat(&me, request).await?;
    if new { created(thread) } else { ok(thread) }
}

/// The caller's chats, newest first (a chat R4.2 no longer allows shows
/// `state: disabled`, the reason and `replaced_by`).
#[utoipa::path(get, path = "/v1/chats", tag = "teams", responses((status = 200, description = "`{\"value\": [chat…]}`")))]
pub async fn list_chats(State(s): State<AppState>, TeamsUser(me): TeamsUser) -> Reply {
    ok(json!({ "value": s.teams.chats(&me).await? }))
}

/// One chat.
#[utoipa::path(get, path = "/v1/chats/{id}", tag = "teams", params(("id" = String, Path, description = "chat id")),
    responses((status = 200, description = "the chat"), (status = 404, description = "unknown chat", body = ProblemDoc)))]
pub async fn get_chat(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    Path(id): Path<String>,
) -> Reply {
    ok(s.teams.chat(&me, &id).await?)
}

/// `POST /v1/chats/{id}/members`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    /// The person to add.
    pub upn: String,
}

/// Adds someone to a group chat: refused when they would land on sfb
/// (R5.3, `ParticipantOnOtherClient`) or be reached by another method than
/// the chat's (R4.1).
#[utoipa::path(post, path = "/v1/chats/{id}/members", tag = "teams", request_body = MemberRequest,
    params(("id" = String, Path, description = "chat id")),
    responses((status = 200, description = "the chat with its members"),
              (status = 403, description = "refused by a rule (R5.3)", body = ProblemDoc)))]
pub async fn add_member(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let request: MemberRequest = parse_json(&body)?;
    ok(s.teams.add_member(&me, &id, &request.upn).await?)
}

fn query_number<T: std::str::FromStr>(
    query: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, Problem> {
    query
        .get(key)
        .map(|v| {
            v.parse()
                .map_err(|_| Problem::invalid(key, format!("'{v}' is not a non-negative integer")))
        })
        .transpose()
}

/// A chat's messages, newest first: `?limit=` (1-200, default 50) and
/// `?before=ID`; `nextLink` pages on.
#[utoipa::path(get, path = "/v1/chats/{id}/messages", tag = "teams",
    params(("id" = String, Path, description = "chat id"), ("before" = Option<i64>, Query, description = "older than this message id"),
           ("limit" = Option<u32>, Query, description = "1-200")),
    responses((status = 200, description = "`{\"value\": [message…], \"nextLink\"}`"), (status = 404, description = "unknown chat", body = ProblemDoc)))]
pub async fn list_messages(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    let limit: u32 = query_number(&query, "limit")?.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::invalid("limit", "must be 1-200"));
    }
    let before: Option<i64> = query_number(&query, "before")?;
    let messages = s.teams.messages(&me, &id, before, limit).await?;
    let next = (messages.len() == limit as usize)
        .then(|| {
            messages
                .last()
                .map(|m| format!("/v1/chats/{id}/messages?before={}&limit={limit}", m.id))
        })
        .flatten();
    ok(json!({ "value": messages, "nextLink": next }))
}

/// Sends a message: durable before the 201, then pushed over `/v1/events`.
/// On an interop or federated chat rich text becomes plain text
/// (`converted_from`, R5.1) and attachments are refused (R5.2); a chat R4.2
/// no longer allows refuses it (409 `ThreadDisabled`, `replaced_by`).
/// Recipients on sfb show `pending` until the sfb side reports.
#[utoipa::path(post, path = "/v1/chats/{id}/messages", tag = "teams", request_body = MessageRequest,
    params(("id" = String, Path, description = "chat id")),
    responses((status = 201, description = "the message with its deliveries"),
              (status = 403, description = "refused by a rule (R5.2)", body = ProblemDoc),
              (status = 409, description = "ThreadDisabled (R4.2)", body = ProblemDoc)))]
pub async fn post_message(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let request: MessageRequest = parse_json(&body)?;
    created(s.teams.post_message(&me, &id, request).await?)
}

/// Places a call to a UPN or a number (R3.6, R6.4). The callee's live
/// teams connections get a `call` event (`change: incoming`); it ends after
/// the ring timeout if nobody answers.
#[utoipa::path(post, path = "/v1/calls", tag = "teams", request_body = CallRequest,
    responses((status = 201, description = "ringing", body = Call), (status = 403, description = "refused by a rule", body = ProblemDoc)))]
pub async fn place_call(State(s): State<AppState>, TeamsUser(me): TeamsUser, body: Bytes) -> Reply {
    let request: CallRequest = parse_json(&body)?;
    created(s.teams.place_call(&me, request).await?)
}

/// A call the caller takes part in.
#[utoipa::path(get, path = "/v1/calls/{id}", tag = "teams", params(("id" = String, Path, description = "call id")),
    responses((status = 200, description = "the call", body = Call), (status = 404, description = "unknown call", body = ProblemDoc)))]
pub async fn get_call(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    Path(id): Path<String>,
) -> Reply {
    ok(s.teams.call(&me, &id)?)
}

/// `answer` (`{"sdp"}`), `reject`, `hangup`, `forward` (`{"to"}`, while it
/// rings), `transfer` (`{"to"}`, once connected; returns the new call),
/// `screen-sharing` and `participants` (`{"to"}`; both refused on interop
/// calls, R5.4).
#[utoipa::path(post, path = "/v1/calls/{id}/{action}", tag = "teams",
    params(("id" = String, Path, description = "call id"), ("action" = String, Path, description = "answer|reject|hangup|forward|transfer|screen-sharing|participants")),
    request_body(content = Object, description = "AnswerRequest or TargetRequest, per action"),
    responses((status = 200, description = "the call", body = Call), (status = 409, description = "not in a state for this", body = ProblemDoc),
              (status = 403, description = "refused by a rule", body = ProblemDoc)))]
pub async fn call_action(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let teams = &s.teams;
    let call = match action.as_str() {
        "answer" => {
            teams
                .answer_call(&me, &id, parse_json::<AnswerRequest>(&body)?)
                .await?
        }
        "reject" => teams.reject_call(&me, &id).await?,
        "hangup" => teams.hang_up(&me, &id).await?,
        "forward" => {
            teams
                .forward_call(&me, &id, parse_json::<TargetRequest>(&body)?)
                .await?
        }
        "transfer" => {
            return created(
                teams
                    .transfer_call(&me, &id, parse_json::<TargetRequest>(&body)?)
                    .await?,
            );
        }
        "screen-sharing" => teams.share_screen(&me, &id).await?,
        "participants" => {
            return created(
                teams
                    .add_participant(&me, &id, parse_json::<TargetRequest>(&body)?)
                    .await?,
            );
        }
        _ => return Err(Problem::no_route()),
    };
    ok(call)
}

/// `PUT /v1/me/calling-client` (R9.2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallingClientRequest {
    /// `teams`, `sfb`, or null to drop the choice.
    pub client: Option<String>,
}

/// R9.2: the caller chooses where their calls land (`teams` or `sfb`),
/// replacing their TeamsInteropPolicy's CallingDefaultClient. Only a user
/// whose policy has `AllowEndUserClientOverride` may (403 otherwise).
#[utoipa::path(put, path = "/v1/me/calling-client", tag = "teams", request_body = CallingClientRequest,
    responses((status = 200, description = "the caller's record", body = coexist_core::User),
              (status = 400, description = "invalid field", body = ProblemDoc),
              (status = 403, description = "the policy allows no override (R9.2)", body = ProblemDoc)))]
pub async fn set_calling_client(
    State(s): State<AppState>,
    TeamsUser(me): TeamsUser,
    body: Bytes,
) -> Reply {
    let request: CallingClientRequest = parse_json(&body)?;
    let choice = match request.client.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => Some(
            value
                .parse::<coexist_policy::Client>()
                .map_err(|e| Problem::invalid("client", e.to_string()))?,
        ),
    };
    ok(s.directory.choose_calling_client(&me, choice).await?)
}

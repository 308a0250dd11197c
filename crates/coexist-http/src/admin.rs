//! The admin API handlers: thin typed functions over the directory. Each
//! parses its input (naming the field on error), calls one directory
//! method, and returns JSON; errors become problem documents in
//! [`crate::problem`].

use crate::AppState;
use crate::auth::Caller;
use crate::problem::{Problem, parse_json};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use coexist_core::{
    AuditQuery, EffectiveView, ImportReport, Peer, PeerFields, PeerKind, Tenant, TenantFields,
    User, UserFields,
};
use coexist_policy::legacy::DefaultClient;
use coexist_policy::{Client, FederationSettings, InteropPolicy, UpgradePolicy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A handler's answer: a response or a problem document.
pub(crate) type Reply = Result<axum::response::Response, Problem>;

/// 200 with a JSON body.
pub(crate) fn ok<T: Serialize>(value: T) -> Reply {
    Ok(Json(value).into_response())
}

/// 201 with a JSON body.
pub(crate) fn created<T: Serialize>(value: T) -> Reply {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

/// An RFC 9457 problem document, as every error is sent
/// (`application/problem+json`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documentation only: `problem::Problem` writes the JSON
pub struct ProblemDoc {
    /// `https://coexist.invalid/problems/{code}`.
    r#type: String,
    /// The HTTP reason phrase.
    title: String,
    /// The HTTP status.
    status: u16,
    /// A sentence for people, naming the field or the users concerned.
    detail: String,
    /// Stable code scripts match on (`TeamsOnlyNeedsOnlineHoming`, `InvalidField`, …).
    code: String,
    /// The rule id when a rule refused (`R1.5`), else null.
    rule: Option<String>,
    /// The offending field, for bad input.
    field: Option<String>,
    /// The users concerned (R1.5 refusals).
    users: Option<Vec<String>>,
    /// Every bad line of a rejected import.
    errors: Option<Vec<coexist_core::LineIssue>>,
}

/// `{"policy": NAME | null}`: a grant, or with null its removal (R1.3).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// A built-in upgrade policy (R1.2) or null.
    pub policy: Option<String>,
}

/// R3.4 federation settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FederationBody {
    /// SfB federation on.
    #[serde(default)]
    pub sfb_federation: bool,
    /// Teams federation on.
    #[serde(default)]
    pub teams_federation: bool,
    /// Only these domains (allow list); null: all not blocked.
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    /// Never these domains.
    #[serde(default)]
    pub blocked_domains: Vec<String>,
}

/// A named legacy TeamsInteropPolicy (R9).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteropPolicyBody {
    /// Its name.
    pub name: String,
    /// `Default|SfB|Teams` (stored, not used for routing: R9.3).
    #[serde(rename = "ChatDefaultClient")]
    pub chat_default_client: String,
    /// `Default|SfB|Teams` (R9.1).
    #[serde(rename = "CallingDefaultClient")]
    pub calling_default_client: String,
    /// R9.2.
    #[serde(rename = "AllowEndUserClientOverride", default)]
    pub allow_end_user_client_override: bool,
}

/// A tenant-scoped token request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// What the token is for.
    pub label: String,
}

fn policy_from(body: &GrantBody) -> Result<Option<UpgradePolicy>, Problem> {
    body.policy
        .as_deref()
        .map(|p| p.parse::<UpgradePolicy>())
        .transpose()
        .map_err(|e| Problem::invalid("policy", e.to_string()))
}

fn query_usize(
    query: &HashMap<String, String>,
    key: &str,
    default: usize,
) -> Result<usize, Problem> {
    query.get(key).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| Problem::invalid(key, format!("'{v}' is not a non-negative integer")))
    })
}

fn query_bool(query: &HashMap<String, String>, key: &str) -> Result<bool, Problem> {
    match query.get(key).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(Problem::invalid(
            key,
            format!("'{other}' is not true or false"),
        )),
    }
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "alive")))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    Json(json!({"status": "ok", "directory_version": state.directory.version()}))
}

/// Creates a tenant (admin token only).
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = TenantFields,
    responses((status = 201, description = "created", body = Tenant), (status = 400, description = "invalid field", body = ProblemDoc),
              (status = 409, description = "name or domain taken", body = ProblemDoc)))]
pub async fn create_tenant(State(s): State<AppState>, Caller(actor): Caller, body: Bytes) -> Reply {
    let fields: TenantFields = parse_json(&body)?;
    created(s.directory.create_tenant(&actor, fields).await?)
}

/// The tenants the caller may see.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", responses((status = 200, description = "tenants")))]
pub async fn list_tenants(State(s): State<AppState>, Caller(actor): Caller) -> Reply {
    ok(json!({ "tenants": s.directory.tenants(&actor) }))
}

/// A tenant, with its user count.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "the tenant, with `users`: its user count", body = Tenant), (status = 404, description = "unknown tenant", body = ProblemDoc)))]
pub async fn get_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply {
    let tenant = s.directory.tenant(&actor, &name)?;
    let mut value = serde_json::to_value(&tenant).unwrap_or_default();
    value["users"] = json!(s.directory.read().user_count(&name));
    ok(value)
}

/// Changes a tenant's domains, topology or cloud.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}", tag = "tenants", request_body = TenantFields,
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "the tenant", body = Tenant)))]
pub async fn patch_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Reply {
    let fields: TenantFields = parse_json(&body)?;
    ok(s.directory.patch_tenant(&actor, &name, fields).await?)
}

/// Deletes a tenant and its users (admin token only).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 204, description = "deleted")))]
pub async fn delete_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply {
    s.directory.delete_tenant(&actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// R1.3, R1.5: the tenant-wide (Global) upgrade policy.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/upgrade-policy", tag = "grants", request_body = GrantBody,
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "granted", body = Tenant),
              (status = 409, description = "R1.5: users homed onprem (named in `users`)", body = ProblemDoc)))]
pub async fn grant_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Reply {
    let body: GrantBody = parse_json(&body)?;
    let policy = policy_from(&body)?;
    ok(s.directory
        .grant_tenant_policy(&actor, &name, policy)
        .await?)
}

/// R3.4: federation settings.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/federation", tag = "tenants", request_body = FederationBody,
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "the tenant", body = Tenant)))]
pub async fn set_federation(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Reply {
    let body: FederationBody = parse_json(&body)?;
    let settings = FederationSettings {
        sfb_federation: body.sfb_federation,
        teams_federation: body.teams_federation,
        allowed_domains: body.allowed_domains,
        blocked_domains: body.blocked_domains,
    };
    ok(s.directory.set_federation(&actor, &name, settings).await?)
}

/// R8: lint over the tenant's real users.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/lint", tag = "explain",
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "findings")))]
pub async fn lint(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply {
    let (users, findings) = s
        .directory
        .lint(&actor, &name, |upn| s.teams.has_ip_phone(upn))?;
    ok(json!({ "tenant": name, "users": users, "findings": findings }))
}

/// R9.4: what converting the tenant's legacy interop policies would do (a
/// dry run: nothing changes).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/interop-conversion", tag = "legacy",
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "per-user conversion report")))]
pub async fn interop_conversion(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply {
    let lines = s.directory.interop_conversion(&actor, &name)?;
    let refused = lines.iter().filter(|l| l.refusal.is_some()).count();
    let warnings = lines.iter().filter(|l| l.warning.is_some()).count();
    ok(
        json!({ "tenant": name, "dry_run": true, "users": lines, "refused": refused, "warnings": warnings }),
    )
}

/// R9.4 applied (after the dry run): every legacy-policy user gets the
/// converted upgrade policy, all or nothing; any R1.5 refusal refuses all.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/interop-conversion", tag = "legacy",
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "what was converted"),
              (status = 409, description = "R1.5: users that cannot be converted (in `users`); nothing changed")))]
pub async fn apply_interop_conversion(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply {
    let lines = s.directory.apply_interop_conversion(&actor, &name).await?;
    ok(json!({ "tenant": name, "dry_run": false, "converted": lines.len(), "users": lines }))
}

fn peer_kind(kind: &str) -> Result<PeerKind, Problem> {
    kind.parse()
        .map_err(|e: String| Problem::invalid("kind", e))
}

/// The tenant's peer links: hybrid peer, federation peers, PSTN gateways.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/peers", tag = "peers",
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, description = "`{peers}`")))]
pub async fn list_peers(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Reply {
    ok(json!({ "peers": s.directory.peers(&actor, &name)? }))
}

/// Creates or replaces a peer link (at most one hybrid peer per tenant).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/peers/{kind}/{name}", tag = "peers",
    request_body = PeerFields,
    params(("tenant" = String, Path, description = "tenant name"),
           ("kind" = String, Path, description = "hybrid|federation|pstn"),
           ("name" = String, Path, description = "peer name")),
    responses((status = 200, description = "the peer", body = Peer),
              (status = 400, description = "invalid field", body = ProblemDoc)))]
pub async fn put_peer(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path((tenant, kind, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Reply {
    let kind = peer_kind(&kind)?;
    let fields: PeerFields = parse_json(&body)?;
    ok(s.directory
        .put_peer(&actor, &tenant, kind, &name, fields)
        .await?)
}

/// Removes a peer link.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/peers/{kind}/{name}", tag = "peers",
    params(("tenant" = String, Path, description = "tenant name"),
           ("kind" = String, Path, description = "hybrid|federation|pstn"),
           ("name" = String, Path, description = "peer name")),
    responses((status = 204, description = "removed"), (status = 404, description = "unknown peer", body = ProblemDoc)))]
pub async fn delete_peer(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path((tenant, kind, name)): Path<(String, String, String)>,
) -> Reply {
    let kind = peer_kind(&kind)?;
    s.directory
        .delete_peer(&actor, &tenant, kind, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Makes a tenant-scoped token (admin token only); the secret is shown once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/tokens", tag = "tenants", request_body = TokenBody,
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 201, description = "`{token, tenant, label}`")))]
pub async fn create_token(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Reply {
    let body: TokenBody = parse_json(&body)?;
    let (secret, token) = s.directory.create_token(&actor, &name, &body.label).await?;
    created(json!({ "token": secret, "tenant": token.tenant, "label": token.label }))
}

/// Creates a user.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/users", tag = "users", request_body = UserFields,
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 201, description = "created", body = User), (status = 400, description = "invalid field", body = ProblemDoc),
              (status = 409, description = "UPN or number taken, or R1.5", body = ProblemDoc)))]
pub async fn create_user(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Reply {
    let fields: UserFields = parse_json(&body)?;
    created(s.directory.create_user(&actor, &name, fields).await?)
}

/// A tenant's users, by UPN (`?offset=&limit=`, limit at most 1000).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path, description = "tenant name"),
           ("offset" = Option<usize>, Query, description = "skip this many"),
           ("limit" = Option<usize>, Query, description = "at most this many (default 100, max 1000)")),
    responses((status = 200, description = "`{total, users}`")))]
pub async fn list_users(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    let offset = query_usize(&query, "offset", 0)?;
    let limit = query_usize(&query, "limit", 100)?;
    if limit > 1000 {
        return Err(Problem::invalid("limit", "at most 1000"));
    }
    let (total, users) = s.directory.users(&actor, &name, offset, limit)?;
    ok(json!({ "total": total, "offset": offset, "users": users }))
}

/// Bulk import from CSV (`?dry_run=true` changes nothing); all-or-nothing.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/users/import", tag = "users",
    request_body(content = String, content_type = "text/csv",
        description = "header row: upn,display_name,password,sfb_homing,teams_enabled,sfb_enabled,voice,phone_number,specialized_workflow,policy,preferred_calling_client (the last optional: teams, sfb or empty; R9.2)"),
    params(("tenant" = String, Path, description = "tenant name"),
           ("dry_run" = Option<bool>, Query, description = "validate only")),
    responses((status = 200, description = "report", body = ImportReport),
              (status = 422, description = "invalid lines (listed in `errors`); nothing imported", body = ProblemDoc)))]
pub async fn import_users(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Reply {
    let dry_run = query_bool(&query, "dry_run")?;
    ok(s.directory
        .import_users(&actor, &name, &body, dry_run)
        .await?)
}

/// A user.
#[utoipa::path(get, path = "/v1/users/{upn}", tag = "users",
    params(("upn" = String, Path, description = "the user's UPN")),
    responses((status = 200, description = "the user", body = User), (status = 404, description = "unknown user", body = ProblemDoc)))]
pub async fn get_user(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(upn): Path<String>,
) -> Reply {
    ok(s.directory.user(&actor, &upn)?)
}

/// Changes a user (not the UPN).
#[utoipa::path(patch, path = "/v1/users/{upn}", tag = "users", request_body = UserFields,
    params(("upn" = String, Path, description = "the user's UPN")),
    responses((status = 200, description = "the user", body = User)))]
pub async fn patch_user(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(upn): Path<String>,
    body: Bytes,
) -> Reply {
    let fields: UserFields = parse_json(&body)?;
    ok(s.directory.patch_user(&actor, &upn, fields).await?)
}

/// Deletes a user.
#[utoipa::path(delete, path = "/v1/users/{upn}", tag = "users",
    params(("upn" = String, Path, description = "the user's UPN")),
    responses((status = 204, description = "deleted")))]
pub async fn delete_user(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(upn): Path<String>,
) -> Reply {
    s.directory.delete_user(&actor, &upn).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// R1.3, R1.5: the user's own upgrade policy (null removes it).
#[utoipa::path(put, path = "/v1/users/{upn}/upgrade-policy", tag = "grants", request_body = GrantBody,
    params(("upn" = String, Path, description = "the user's UPN")),
    responses((status = 200, description = "the effective view after the grant", body = EffectiveView),
              (status = 409, description = "R1.5: UpgradeToTeams for a user homed onprem", body = ProblemDoc)))]
pub async fn grant_user(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(upn): Path<String>,
    body: Bytes,
) -> Reply {
    let body: GrantBody = parse_json(&body)?;
    let policy = policy_from(&body)?;
    let user = s.directory.grant_user_policy(&actor, &upn, policy).await?;
    ok(s.directory.effective(&actor, &user.upn)?)
}

/// R1.3: the effective mode and where it came from.
#[utoipa::path(get, path = "/v1/users/{upn}/effective", tag = "grants",
    params(("upn" = String, Path, description = "the user's UPN")),
    responses((status = 200, description = "TeamsUpgradeEffectiveMode, TeamsUpgradePolicy, …", body = EffectiveView)))]
pub async fn effective(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(upn): Path<String>,
) -> Reply {
    ok(s.directory.effective(&actor, &upn)?)
}

/// R9: grants a legacy interop policy by name (null removes it).
#[utoipa::path(put, path = "/v1/users/{upn}/interop-policy", tag = "legacy", request_body = GrantBody,
    params(("upn" = String, Path, description = "the user's UPN")),
    responses((status = 200, description = "the user", body = User)))]
pub async fn grant_interop(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(upn): Path<String>,
    body: Bytes,
) -> Reply {
    let body: GrantBody = parse_json(&body)?;
    ok(s.directory
        .grant_interop_policy(&actor, &upn, body.policy.as_deref())
        .await?)
}

/// R1.2: the built-in upgrade policy instances.
#[utoipa::path(get, path = "/v1/upgrade-policies", tag = "grants", responses((status = 200, description = "policies")))]
pub async fn upgrade_policies(Caller(_actor): Caller) -> Reply {
    let policies: Vec<Value> = UpgradePolicy::ALL
        .iter()
        .map(|p| json!({ "Identity": p.as_str(), "Mode": p.mode(), "NotifySfbUsers": p.notify_sfb_users() }))
        .collect();
    ok(json!({ "policies": policies, "global_slot": "Global" }))
}

/// R9: the legacy interop policies, built-in and admin-made.
#[utoipa::path(get, path = "/v1/interop-policies", tag = "legacy", responses((status = 200, description = "policies")))]
pub async fn interop_policies(State(s): State<AppState>, Caller(_actor): Caller) -> Reply {
    let policies: Vec<Value> = s
        .directory
        .interop_policies()
        .into_iter()
        .map(|(name, policy, built_in)| {
            let mut value = serde_json::to_value(policy).unwrap_or_default();
            value["Identity"] = json!(name);
            value["BuiltIn"] = json!(built_in);
            value
        })
        .collect();
    ok(json!({ "policies": policies }))
}

/// R9: defines a legacy interop policy (admin token only).
#[utoipa::path(post, path = "/v1/interop-policies", tag = "legacy", request_body = InteropPolicyBody,
    responses((status = 201, description = "created")))]
pub async fn create_interop_policy(
    State(s): State<AppState>,
    Caller(actor): Caller,
    body: Bytes,
) -> Reply {
    let body: InteropPolicyBody = parse_json(&body)?;
    let client = |field: &str, value: &str| {
        value
            .parse::<DefaultClient>()
            .map_err(|e| Problem::invalid(field, e.to_string()))
    };
    let policy = InteropPolicy {
        chat_default_client: client("ChatDefaultClient", &body.chat_default_client)?,
        calling_default_client: client("CallingDefaultClient", &body.calling_default_client)?,
        allow_end_user_client_override: body.allow_end_user_client_override,
    };
    s.directory
        .put_interop_policy(&actor, &body.name, policy)
        .await?;
    let mut value = serde_json::to_value(policy).unwrap_or_default();
    value["Identity"] = json!(body.name.trim());
    created(value)
}

/// R3: where a new chat or call from `from` (using `client`) to `to` (a UPN,
/// or a phone number) lands, with the rules that fired.
#[utoipa::path(get, path = "/v1/routing/explain", tag = "explain",
    params(("from" = String, Query, description = "originator UPN"),
           ("client" = String, Query, description = "teams|sfb"),
           ("to" = String, Query, description = "recipient UPN or +E.164 number"),
           ("thread" = Option<String>, Query, description = "existing thread (teams issue; not yet)")),
    responses((status = 200, description = "verdict: possible, lands_on, method, code, rule, reason, rules, steps")))]
pub async fn explain(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    let required = |key: &str| {
        query
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Problem::invalid(key, "is required"))
    };
    let from = required("from")?;
    let to = required("to")?;
    let client: Client = required("client")?
        .parse()
        .map_err(|e: coexist_policy::ParseError| Problem::invalid("client", e.to_string()))?;
    if query.contains_key("thread") {
        return Err(Problem::invalid(
            "thread",
            "no threads exist yet (teams issue)",
        ));
    }
    ok(s.directory.explain(&actor, from, client, to.trim())?)
}

/// The audit log (`?tenant=&target=&after=&limit=`), oldest first. A
/// tenant token sees its tenant's entries only.
#[utoipa::path(get, path = "/v1/audit", tag = "audit",
    params(("tenant" = Option<String>, Query, description = "only this tenant"),
           ("target" = Option<String>, Query, description = "only this object (UPN, tenant, policy)"),
           ("after" = Option<i64>, Query, description = "entries after this id"),
           ("limit" = Option<u32>, Query, description = "at most this many (default 100, max 1000)")),
    responses((status = 200, description = "`{entries}`: who, what, before, after, when")))]
pub async fn audit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Reply {
    let limit = query_usize(&query, "limit", 100)?;
    if limit > 1000 {
        return Err(Problem::invalid("limit", "at most 1000"));
    }
    let after_id = query
        .get("after")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| Problem::invalid("after", format!("'{v}' is not an id")))
        })
        .transpose()?;
    let entries = s
        .directory
        .audit(
            &actor,
            AuditQuery {
                tenant: query.get("tenant").cloned(),
                target: query.get("target").cloned(),
                after_id,
                limit: u32::try_from(limit).unwrap_or(1000),
            },
        )
        .await?;
    ok(json!({ "entries": entries }))
}

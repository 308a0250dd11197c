//! `coexist admin …`: the admin API from the shell, with verbs named like
//! the cmdlets admins know. Tables for people, `--json` for scripts.
//! Connection: `--url`/`COEXIST_URL` (default http://127.0.0.1:8080) and
//! `--token`/`COEXIST_ADMIN_TOKEN`, else `DATA_DIR/admin-token`.
//!
//! | file | what |
//! |---|---|
//! | `args.rs` | the verbs and their flags (clap) |
//! | `client.rs` | the blocking HTTP client (ureq): URL, token, problem documents |
//! | `render.rs` | tables and `key : value` lines for people |
//! | this file | each verb: its request and how its answer is shown |

mod args;
mod client;
mod render;

pub use args::{AdminArgs, PeerId, UserFlags, Verb};

use client::{Body, Client, path_segment, query_value};
use render::{cell, details, explain_text, issues_table, rows, table};
use serde_json::{Value, json};
use std::path::PathBuf;

/// What went wrong, for the exit status.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The server said no (already printed).
    #[error("{0}")]
    Refused(String),
    /// Could not talk to the server, or read a file.
    #[error("{0}")]
    Failed(String),
}

fn policy_or_null(policy: &str) -> Value {
    match policy.to_ascii_lowercase().as_str() {
        "none" | "null" | "$null" | "" => Value::Null,
        _ => json!(policy),
    }
}

const USER_COLUMNS: &[&str] = &[
    "upn",
    "display_name",
    "sfb_homing",
    "teams_enabled",
    "sfb_enabled",
    "voice",
    "phone_number",
    "upgrade_policy",
];

/// `coexist admin VERB`.
pub fn admin(args: &AdminArgs) -> Result<(), AdminError> {
    let client = Client::new(args)?;
    let (value, human) = run_verb(&client, &args.verb)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        println!("{human}");
    }
    Ok(())
}

fn run_verb(client: &Client, verb: &Verb) -> Result<(Value, String), AdminError> {
    let seg = path_segment;
    Ok(match verb {
        Verb::NewTenant {
            name,
            domains,
            topology,
            cloud,
        } => {
            let mut body = json!({ "name": name, "domains": domains });
            if let Some(t) = topology {
                body["topology"] = json!(t);
            }
            if let Some(c) = cloud {
                body["cloud"] = json!(c);
            }
            let value = client.call("POST", "/v1/tenants", Some(Body::Json(body)))?;
            let human = details(&value);
            (value, human)
        }
        Verb::GetTenant { name: Some(name) } => {
            let value = client.call("GET", &format!("/v1/tenants/{}", seg(name)), None)?;
            let human = details(&value);
            (value, human)
        }
        Verb::GetTenant { name: None } => {
            let value = client.call("GET", "/v1/tenants", None)?;
            let human = table(
                &["NAME", "DOMAINS", "TOPOLOGY", "CLOUD", "GLOBAL POLICY"],
                rows(
                    &value["tenants"],
                    &["name", "domains", "topology", "cloud", "upgrade_policy"],
                ),
            );
            (value, human)
        }
        Verb::RemoveTenant { name } => {
            client.call("DELETE", &format!("/v1/tenants/{}", seg(name)), None)?;
            (json!({"removed": name}), format!("removed tenant {name}"))
        }
        Verb::NewUser { tenant, fields } => {
            let value = client.call(
                "POST",
                &format!("/v1/tenants/{}/users", seg(tenant)),
                Some(Body::Json(fields.body(true))),
            )?;
            let human = details(&value);
            (value, human)
        }
        Verb::GetUser {
            identity: Some(upn),
            ..
        } => {
            let value = client.call("GET", &format!("/v1/users/{}", seg(upn)), None)?;
            let human = details(&value);
            (value, human)
        }
        Verb::GetUser {
            identity: None,
            tenant,
            limit,
            offset,
        } => {
            let tenant = tenant
                .as_deref()
                .ok_or_else(|| AdminError::Failed("give --identity UPN or --tenant NAME".into()))?;
            let value = client.call(
                "GET",
                &format!(
                    "/v1/tenants/{}/users?limit={limit}&offset={offset}",
                    seg(tenant)
                ),
                None,
            )?;
            let mut human = table(
                &[
                    "UPN", "NAME", "HOMING", "TEAMS", "SFB", "VOICE", "NUMBER", "POLICY",
                ],
                rows(&value["users"], USER_COLUMNS),
            );
            human.push_str(&format!(
                "\n({} of {} users)",
                value["users"].as_array().map_or(0, Vec::len),
                cell(&value["total"])
            ));
            (value, human)
        }
        Verb::SetUser { fields } => {
            let value = client.call(
                "PATCH",
                &format!("/v1/users/{}", seg(&fields.identity)),
                Some(Body::Json(fields.body(false))),
            )?;
            let human = details(&value);
            (value, human)
        }
        Verb::RemoveUser { identity } => {
            client.call("DELETE", &format!("/v1/users/{}", seg(identity)), None)?;
            (
                json!({"removed": identity}),
                format!("removed user {identity}"),
            )
        }
        Verb::GrantUpgradePolicy {
            identity,
            tenant,
            policy,
        } => {
            let body = Some(Body::Json(json!({ "policy": policy_or_null(policy) })));
            let value = match (identity, tenant) {
                (Some(upn), _) => client.call(
                    "PUT",
                    &format!("/v1/users/{}/upgrade-policy", seg(upn)),
                    body,
                )?,
                (None, Some(tenant)) => client.call(
                    "PUT",
                    &format!("/v1/tenants/{}/upgrade-policy", seg(tenant)),
                    body,
                )?,
                (None, None) => {
                    return Err(AdminError::Failed(
                        "give --identity UPN or --tenant NAME".into(),
                    ));
                }
            };
            let human = details(&value);
            (value, human)
        }
        Verb::GetEffectiveMode { identity } => {
            let value = client.call(
                "GET",
                &format!("/v1/users/{}/effective", seg(identity)),
                None,
            )?;
            let human = details(&value);
            (value, human)
        }
        Verb::GetUpgradePolicy => {
            let value = client.call("GET", "/v1/upgrade-policies", None)?;
            let human = table(
                &["IDENTITY", "MODE", "NOTIFYSFBUSERS"],
                rows(&value["policies"], &["Identity", "Mode", "NotifySfbUsers"]),
            );
            (value, human)
        }
        Verb::GetInteropPolicy => {
            let value = client.call("GET", "/v1/interop-policies", None)?;
            let human = table(
                &["IDENTITY", "CHAT", "CALLING", "OVERRIDE", "BUILT-IN"],
                rows(
                    &value["policies"],
                    &[
                        "Identity",
                        "ChatDefaultClient",
                        "CallingDefaultClient",
                        "AllowEndUserClientOverride",
                        "BuiltIn",
                    ],
                ),
            );
            (value, human)
        }
        Verb::NewInteropPolicy {
            name,
            chat_default_client,
            calling_default_client,
            allow_end_user_client_override,
        } => {
            let body = json!({
                "name": name, "ChatDefaultClient": chat_default_client,
                "CallingDefaultClient": calling_default_client,
                "AllowEndUserClientOverride": allow_end_user_client_override,
            });
            let value = client.call("POST", "/v1/interop-policies", Some(Body::Json(body)))?;
            let human = details(&value);
            (value, human)
        }
        Verb::GrantInteropPolicy { identity, policy } => {
            let body = Some(Body::Json(json!({ "policy": policy_or_null(policy) })));
            let value = client.call(
                "PUT",
                &format!("/v1/users/{}/interop-policy", seg(identity)),
                body,
            )?;
            let human = details(&value);
            (value, human)
        }
        Verb::ConvertInteropPolicy { tenant, apply } => {
            let path = format!("/v1/tenants/{}/interop-conversion", seg(tenant));
            let value = client.call(if *apply { "POST" } else { "GET" }, &path, None)?;
            let lines: Vec<Vec<String>> = value["users"]
                .as_array()
                .map(|users| {
                    users
                        .iter()
                        .map(|u| {
                            let note = if u["refusal"].is_null() {
                                cell(&u["warning"])
                            } else {
                                format!(
                                    "REFUSED {} ({})",
                                    cell(&u["refusal"]["code"]),
                                    cell(&u["refusal"]["rule"])
                                )
                            };
                            vec![
                                cell(&u["upn"]),
                                cell(&u["interop_policy"]),
                                cell(&u["sfb_homing"]),
                                cell(&u["policy"]),
                                note,
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            let heading = if *apply {
                "converted"
            } else {
                "dry run: nothing changed"
            };
            let human = format!(
                "{heading}\n{}",
                table(&["UPN", "INTEROP POLICY", "HOMING", "GETS", "NOTE"], lines)
            );
            (value, human)
        }
        Verb::SetFederation {
            tenant,
            sfb_federation,
            teams_federation,
            allowed,
            blocked,
        } => {
            let body = json!({
                "sfb_federation": sfb_federation, "teams_federation": teams_federation,
                "allowed_domains": if allowed.is_empty() { Value::Null } else { json!(allowed) },
                "blocked_domains": blocked,
            });
            let value = client.call(
                "PUT",
                &format!("/v1/tenants/{}/federation", seg(tenant)),
                Some(Body::Json(body)),
            )?;
            let human = details(&value["federation"]);
            (value, human)
        }
        Verb::Explain {
            from,
            client: used,
            to,
        } => {
            let value = client.call(
                "GET",
                &format!(
                    "/v1/routing/explain?from={}&client={}&to={}",
                    query_value(from),
                    query_value(used),
                    query_value(to)
                ),
                None,
            )?;
            (value.clone(), explain_text(&value))
        }
        Verb::Lint { tenant } => {
            let value = client.call("GET", &format!("/v1/tenants/{}/lint", seg(tenant)), None)?;
            let findings = rows(
                &value["findings"],
                &["severity", "rule", "code", "users", "message"],
            );
            let human = if findings.is_empty() {
                format!("{}: {} users, no findings", tenant, cell(&value["users"]))
            } else {
                table(&["SEVERITY", "RULE", "CODE", "USERS", "MESSAGE"], findings)
            };
            (value, human)
        }
        Verb::Audit {
            tenant,
            target,
            limit,
        } => {
            let mut path = format!("/v1/audit?limit={limit}");
            if let Some(t) = tenant {
                path.push_str(&format!("&tenant={}", query_value(t)));
            }
            if let Some(t) = target {
                path.push_str(&format!("&target={}", query_value(t)));
            }
            let value = client.call("GET", &path, None)?;
            let human = table(
                &["ID", "WHEN", "WHO", "WHAT", "TARGET"],
                rows(
                    &value["entries"],
                    &["id", "at", "actor", "action", "target"],
                ),
            );
            (value, human)
        }
        Verb::ImportUsers {
            file,
            tenant,
            dry_run,
        } => import(client, file, tenant, *dry_run)?,
        Verb::NewToken { tenant, label } => {
            let value = client.call(
                "POST",
                &format!("/v1/tenants/{}/tokens", seg(tenant)),
                Some(Body::Json(json!({ "label": label }))),
            )?;
            let human = format!(
                "token for tenant {tenant} (shown once): {}",
                cell(&value["token"])
            );
            (value, human)
        }
        Verb::SetPeer {
            peer,
            address,
            transport,
            domains,
        } => {
            let mut body = json!({ "address": address, "domains": domains });
            if let Some(transport) = transport {
                body["transport"] = json!(transport);
            }
            let value = client.call("PUT", &peer.path(), Some(Body::Json(body)))?;
            let human = details(&value);
            (value, human)
        }
        Verb::GetPeer { tenant } => {
            let value = client.call("GET", &format!("/v1/tenants/{}/peers", seg(tenant)), None)?;
            let human = table(
                &["KIND", "NAME", "ADDRESS", "TRANSPORT", "DOMAINS"],
                rows(
                    &value["peers"],
                    &["kind", "name", "address", "transport", "domains"],
                ),
            );
            (value, human)
        }
        Verb::RemovePeer { peer } => {
            client.call("DELETE", &peer.path(), None)?;
            let removed = format!("{}/{}", peer.kind, peer.name);
            (
                json!({ "removed": removed }),
                format!("removed peer {removed}"),
            )
        }
    })
}

/// Files larger than this show a progress bar while uploading.
const PROGRESS_BYTES: u64 = 256 * 1024;

fn import(
    client: &Client,
    file: &PathBuf,
    tenant: &str,
    dry_run: bool,
) -> Result<(Value, String), AdminError> {
    let handle = std::fs::File::open(file)
        .map_err(|e| AdminError::Failed(format!("{}: {e}", file.display())))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if size > PROGRESS_BYTES {
        let bar = indicatif::ProgressBar::new(size);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("uploading");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let reader = bar.wrap_read(std::io::BufReader::new(handle));
    let path = format!(
        "/v1/tenants/{}/users/import{}",
        path_segment(tenant),
        if dry_run { "?dry_run=true" } else { "" }
    );
    let result = client.call("POST", &path, Some(Body::Csv(Box::new(reader))));
    bar.finish_and_clear();
    let value = result?;
    let mut human = format!(
        "{}: {} rows, {} valid, {} created{}",
        if dry_run {
            "dry run (nothing changed)"
        } else {
            "imported"
        },
        cell(&value["rows"]),
        cell(&value["valid"]),
        cell(&value["created"]),
        if value["applied"] == json!(true) {
            ""
        } else {
            ", nothing stored"
        }
    );
    if let Some(errors) = value["errors"].as_array().filter(|e| !e.is_empty()) {
        human.push_str("\nerrors:\n");
        human.push_str(&issues_table(errors));
    }
    if let Some(notes) = value["notes"].as_array().filter(|n| !n.is_empty()) {
        human.push_str("\nnotes:\n");
        human.push_str(&issues_table(notes));
    }
    Ok((value, human))
}

//! `coexist admin …`: the admin API from the shell, with verbs named like
//! the cmdlets admins know. Tables for people, `--json` for scripts.
//! Connection: `--url`/`COEXIST_URL` (default http://127.0.0.1:8080) and
//! `--token`/`COEXIST_ADMIN_TOKEN`, else `DATA_DIR/admin-token`.

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;

/// `coexist admin` arguments.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Server URL [env: COEXIST_URL] (default http://127.0.0.1:8080).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Bearer token [env: COEXIST_ADMIN_TOKEN] (default: DATA_DIR/admin-token).
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// Where to find admin-token [env: COEXIST_DATA_DIR] (default ./coexist-data).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub verb: Verb,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Create a tenant.
    NewTenant {
        /// Tenant name (identifier).
        #[arg(long)]
        name: String,
        /// SIP domain (repeat for more; the first is primary).
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// online | hybrid | onprem (R10.2).
        #[arg(long)]
        topology: Option<String>,
        /// commercial | gcc | gcc-high | dod | china.
        #[arg(long)]
        cloud: Option<String>,
    },
    /// List tenants, or show one.
    GetTenant {
        /// A tenant name.
        name: Option<String>,
    },
    /// Delete a tenant and its users.
    RemoveTenant {
        /// The tenant.
        name: String,
    },
    /// Create a user.
    NewUser {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        fields: UserFlags,
    },
    /// Show a user (--identity) or list a tenant's users (--tenant).
    GetUser {
        /// The user's UPN.
        #[arg(long, conflicts_with = "tenant")]
        identity: Option<String>,
        /// List this tenant's users.
        #[arg(long)]
        tenant: Option<String>,
        /// With --tenant: at most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// With --tenant: skip this many.
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// Change a user.
    SetUser {
        #[command(flatten)]
        fields: UserFlags,
    },
    /// Delete a user.
    RemoveUser {
        /// The user's UPN.
        #[arg(long)]
        identity: String,
    },
    /// Grant an upgrade policy to a user (--identity) or tenant-wide
    /// (--tenant, the Global slot). `--policy none` removes the grant (R1.3).
    GrantUpgradePolicy {
        /// The user's UPN.
        #[arg(long, conflicts_with = "tenant", required_unless_present = "tenant")]
        identity: Option<String>,
        /// Tenant-wide.
        #[arg(long)]
        tenant: Option<String>,
        /// A built-in policy (R1.2), or none.
        #[arg(long)]
        policy: String,
    },
    /// A user's effective mode (R1.3).
    GetEffectiveMode {
        /// The user's UPN.
        #[arg(long)]
        identity: String,
    },
    /// The built-in upgrade policies (R1.2).
    GetUpgradePolicy,
    /// Legacy interop policies (R9).
    GetInteropPolicy,
    /// Define a legacy interop policy.
    NewInteropPolicy {
        /// Its name.
        #[arg(long)]
        name: String,
        /// Default | SfB | Teams.
        #[arg(long)]
        chat_default_client: String,
        /// Default | SfB | Teams.
        #[arg(long)]
        calling_default_client: String,
        /// Let users pick their calling client (R9.2).
        #[arg(long)]
        allow_end_user_client_override: bool,
    },
    /// Grant a legacy interop policy to a user (`--policy none` removes it).
    GrantInteropPolicy {
        /// The user's UPN.
        #[arg(long)]
        identity: String,
        /// The policy.
        #[arg(long)]
        policy: String,
    },
    /// What converting a tenant's legacy policies to modes would do (R9.4,
    /// a dry run), or with --apply, do it (all or nothing).
    ConvertInteropPolicy {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Convert for real (after reviewing the dry run).
        #[arg(long)]
        apply: bool,
    },
    /// Set a tenant's federation settings (R3.4).
    SetFederation {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// SfB federation on.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        sfb_federation: bool,
        /// Teams federation on.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        teams_federation: bool,
        /// Allow only these domains (repeat).
        #[arg(long = "allow")]
        allowed: Vec<String>,
        /// Block these domains (repeat).
        #[arg(long = "block")]
        blocked: Vec<String>,
    },
    /// Where a new chat or call lands, and why (R3), for real users.
    Explain {
        /// Originator UPN.
        #[arg(long)]
        from: String,
        /// teams | sfb.
        #[arg(long)]
        client: String,
        /// Recipient UPN or phone number.
        #[arg(long)]
        to: String,
    },
    /// Lint a tenant (R8).
    Lint {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// The audit log.
    Audit {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only this object.
        #[arg(long)]
        target: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Import users from a CSV file (all or nothing).
    ImportUsers {
        /// The CSV file.
        file: PathBuf,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Validate only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make a tenant-scoped token.
    NewToken {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// What it is for.
        #[arg(long)]
        label: String,
    },
}

/// A user's fields as flags.
#[derive(Debug, Args)]
pub struct UserFlags {
    /// UPN (local@domain).
    #[arg(long)]
    identity: String,
    /// Display name.
    #[arg(long)]
    display_name: Option<String>,
    /// Password (stored only as hashes).
    #[arg(long)]
    password: Option<String>,
    /// online | onprem.
    #[arg(long)]
    sfb_homing: Option<String>,
    /// Enabled for teams.
    #[arg(long)]
    teams_enabled: Option<bool>,
    /// Enabled for SfB online.
    #[arg(long)]
    sfb_enabled: Option<bool>,
    /// none | online | hybrid.
    #[arg(long)]
    voice: Option<String>,
    /// E.164 number.
    #[arg(long)]
    phone_number: Option<String>,
    /// Relies on specialised SfB workflows.
    #[arg(long)]
    specialized_workflow: Option<bool>,
}

impl UserFlags {
    fn body(&self, with_upn: bool) -> Value {
        let mut body = json!({
            "display_name": self.display_name, "password": self.password,
            "sfb_homing": self.sfb_homing, "teams_enabled": self.teams_enabled,
            "sfb_enabled": self.sfb_enabled, "voice": self.voice,
            "phone_number": self.phone_number, "specialized_workflow": self.specialized_workflow,
        });
        if with_upn {
            body["upn"] = json!(self.identity);
        }
        if let Some(object) = body.as_object_mut() {
            object.retain(|_, v| !v.is_null());
        }
        body
    }
}

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

struct Client {
    agent: ureq::Agent,
    url: String,
    token: String,
}

fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b'+' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl Client {
    fn new(args: &AdminArgs) -> Result<Client, AdminError> {
        let url = args
            .url
            .clone()
            .or_else(|| std::env::var("COEXIST_URL").ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let token = match args
            .token
            .clone()
            .or_else(|| std::env::var("COEXIST_ADMIN_TOKEN").ok())
        {
            Some(token) => token,
            None => {
                let dir = args
                    .data_dir
                    .clone()
                    .or_else(|| std::env::var_os("COEXIST_DATA_DIR").map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from("./coexist-data"));
                let path = dir.join("admin-token");
                std::fs::read_to_string(&path)
                    .map(|t| t.trim().to_owned())
                    .map_err(|e| {
                        AdminError::Failed(format!(
                            "no token: give --token, set COEXIST_ADMIN_TOKEN, or point --data-dir at the server's data ({}: {e})",
                            path.display()
                        ))
                    })?
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Client {
            agent,
            url: url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<Body>) -> Result<Value, AdminError> {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", self.token);
        let failed = |e: ureq::Error| AdminError::Failed(format!("{method} {url}: {e}"));
        let mut response = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            (_, body) => {
                let request = match method {
                    "PUT" => self.agent.put(&url),
                    "PATCH" => self.agent.patch(&url),
                    _ => self.agent.post(&url),
                }
                .header("Authorization", &auth);
                match body {
                    Some(Body::Json(value)) => request.send_json(value),
                    Some(Body::Csv(reader)) => request
                        .header("Content-Type", "text/csv")
                        .send(ureq::SendBody::from_owned_reader(reader)),
                    None => request.send_empty(),
                }
            }
        }
        .map_err(failed)?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .map_err(failed)?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            Ok(value)
        } else {
            Err(AdminError::Refused(problem_text(status.as_u16(), &value)))
        }
    }
}

enum Body {
    Json(Value),
    Csv(Box<dyn Read + Send>),
}

fn problem_text(status: u16, problem: &Value) -> String {
    let field = |k: &str| problem.get(k).and_then(Value::as_str).unwrap_or("");
    let rule = field("rule");
    let mut text = format!(
        "{status} {}{}: {}",
        field("code"),
        if rule.is_empty() {
            String::new()
        } else {
            format!(" ({rule})")
        },
        field("detail")
    );
    if let Some(errors) = problem.get("errors").and_then(Value::as_array) {
        text.push('\n');
        text.push_str(&issues_table(errors));
    }
    text
}

fn issues_table(issues: &[Value]) -> String {
    table(
        &["LINE", "FIELD", "RULE", "REASON"],
        issues
            .iter()
            .map(|i| {
                vec![
                    cell(&i["line"]),
                    cell(&i["field"]),
                    cell(&i["rule"]),
                    cell(&i["reason"]),
                ]
            })
            .collect(),
    )
}

/// A JSON value as a table cell.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Left-aligned columns.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(value.chars().count());
            }
        }
    }
    let line = |values: Vec<String>| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<width$}", width = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}

fn rows(items: &Value, keys: &[&str]) -> Vec<Vec<String>> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| keys.iter().map(|k| cell(&item[*k])).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// `key: value` lines for an object.
fn details(value: &Value) -> String {
    match value.as_object() {
        Some(object) => {
            let width = object.keys().map(String::len).max().unwrap_or(0);
            object
                .iter()
                .map(|(k, v)| format!("{k:<width$} : {}", cell(v)))
                .collect::<Vec<_>>()
                .join("\n")
        }
        None => cell(value),
    }
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
                    seg(from),
                    seg(used),
                    seg(to)
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
                path.push_str(&format!("&tenant={}", seg(t)));
            }
            if let Some(t) = target {
                path.push_str(&format!("&target={}", seg(t)));
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
    })
}

fn explain_text(value: &Value) -> String {
    let mut out = if value["possible"] == json!(true) {
        format!(
            "lands on {} ({})",
            cell(&value["lands_on"]),
            cell(&value["method"])
        )
    } else {
        format!(
            "not possible: {} ({}): {}",
            cell(&value["code"]),
            cell(&value["rule"]),
            cell(&value["reason"])
        )
    };
    out.push_str(&format!(
        "\nfrom {} [{}, {}] using {} to {} [{}] ({})",
        cell(&value["from"]["upn"]),
        cell(&value["from"]["mode"]),
        cell(&value["from"]["sfb_homing"]),
        cell(&value["client"]),
        cell(&value["to"]["upn"]),
        cell(&value["to"]["mode"]),
        cell(&value["scope"])
    ));
    for step in value["steps"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {:<6} {}",
            cell(&step["rule"]),
            cell(&step["note"])
        ));
    }
    out
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

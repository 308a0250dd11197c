//! The verbs of `coexist admin` and their flags, named like the cmdlets.

use clap::{Args, Subcommand};
use serde_json::{Value, json};
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
    /// Create or replace a peer link: the tenant's onprem SIP server
    /// (hybrid), another deployment (federation) or a PSTN gateway.
    SetPeer {
        #[command(flatten)]
        peer: PeerId,
        /// host:port of the remote SIP server.
        #[arg(long)]
        address: String,
        /// udp | tcp.
        #[arg(long)]
        transport: Option<String>,
        /// A domain reached through it (repeat; federation needs one).
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
    /// A tenant's peer links.
    GetPeer {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Remove a peer link.
    RemovePeer {
        #[command(flatten)]
        peer: PeerId,
    },
}

/// Which peer link: tenant, kind and name.
#[derive(Debug, Args)]
pub struct PeerId {
    /// The tenant.
    #[arg(long)]
    pub(super) tenant: String,
    /// hybrid | federation | pstn.
    #[arg(long)]
    pub(super) kind: String,
    /// The peer's name.
    #[arg(long)]
    pub(super) name: String,
}

impl PeerId {
    /// `/v1/tenants/{tenant}/peers/{kind}/{name}`.
    pub(super) fn path(&self) -> String {
        format!(
            "/v1/tenants/{}/peers/{}/{}",
            super::client::path_segment(&self.tenant),
            super::client::path_segment(&self.kind),
            super::client::path_segment(&self.name)
        )
    }
}

/// A user's fields as flags.
#[derive(Debug, Args)]
pub struct UserFlags {
    /// UPN (local@domain).
    #[arg(long)]
    pub(super) identity: String,
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
    pub(super) fn body(&self, with_upn: bool) -> Value {
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

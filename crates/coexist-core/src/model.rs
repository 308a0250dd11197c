//! The directory's records: tenants, users, named interop policies, tokens,
//! audit entries. Plain data; the rules about them live in
//! [`crate::directory`].

use crate::clock::Timestamp;
use crate::credentials::Credentials;
use coexist_policy::{
    Client, Cloud, Enablement, FederationSettings, Homing, Topology, UpgradePolicy, Voice,
};
use serde::Serialize;

/// A tenant: an organisation with its SIP domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    /// The tenant's identifier in URLs (`contoso`).
    pub name: String,
    /// Its SIP domains; the first is the primary one. A domain belongs to
    /// one tenant only, and every UPN's domain is one of these.
    pub domains: Vec<String>,
    /// R10.2.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub topology: Topology,
    /// R3.4.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub cloud: Cloud,
    /// The tenant-wide (`Global`) upgrade policy grant (R1.3).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub upgrade_policy: Option<UpgradePolicy>,
    /// R3.4.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub federation: FederationSettings,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
}

/// A person. The UPN is the SIP address (`sip:UPN`). Serialised without
/// credentials (only whether there are some).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Lower-case UPN, `local@domain`.
    pub upn: String,
    /// The tenant's name.
    pub tenant: String,
    /// Shown to people.
    pub display_name: String,
    /// Where the SfB account lives.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sfb_homing: Homing,
    /// R2.2.
    pub teams_enabled: bool,
    /// R2.2.
    pub sfb_enabled: bool,
    /// R6.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub voice: Voice,
    /// E.164 number, if any (unique in the deployment).
    pub phone_number: Option<String>,
    /// R8.5.
    pub specialized_workflow: bool,
    /// The user's own upgrade policy grant (R1.3).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub upgrade_policy: Option<UpgradePolicy>,
    /// The name of the legacy TeamsInteropPolicy granted (R9), if any.
    pub interop_policy: Option<String>,
    /// R9.2: the user's own preferred calling client (`teams`/`sfb`), which
    /// replaces their policy's CallingDefaultClient while the policy has
    /// `AllowEndUserClientOverride`; kept (and ignored) otherwise.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub preferred_calling_client: Option<Client>,
    /// `None` for a user with no password (cannot log in or register). In
    /// JSON only `has_password`: whether there are credentials.
    #[serde(rename = "has_password", serialize_with = "is_some")]
    #[cfg_attr(feature = "openapi", schema(value_type = bool))]
    pub credentials: Option<Credentials>,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub updated_at: Timestamp,
}

impl User {
    /// The domain part of the UPN: the SIP domain and digest realm.
    pub fn domain(&self) -> &str {
        self.upn.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// Client enablement for the rules.
    pub const fn enablement(&self) -> Enablement {
        Enablement {
            teams: self.teams_enabled,
            sfb: self.sfb_enabled,
        }
    }
}

/// A tenant-scoped bearer token (stored as a digest only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantToken {
    /// SHA-256 of the token (hex).
    #[serde(skip)]
    pub digest: String,
    /// The tenant it may act on.
    pub tenant: String,
    /// What it is for, as told by the admin who made it.
    pub label: String,
    /// When it was made.
    pub created_at: Timestamp,
}

/// Who is acting: the deployment admin, or a tenant's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The admin token: everything.
    Admin,
    /// A tenant-scoped token: that tenant only.
    Tenant {
        /// The tenant.
        tenant: String,
        /// The token's label (for the audit log).
        label: String,
    },
    /// The server itself (start-up tasks).
    System,
}

impl Actor {
    /// How the audit log names this actor.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Admin => "admin".to_owned(),
            Actor::Tenant { tenant, label } => format!("token:{tenant}/{label}"),
            Actor::System => "system".to_owned(),
        }
    }

    /// May this actor act on `tenant`?
    pub fn may_touch(&self, tenant: &str) -> bool {
        match self {
            Actor::Admin | Actor::System => true,
            Actor::Tenant { tenant: own, .. } => own == tenant,
        }
    }

    /// Deployment-wide rights (create tenants, define interop policies).
    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::Admin | Actor::System)
    }
}

/// One line of the audit log: who changed what, from what, to what, when.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Increasing id (assigned by the store).
    pub id: i64,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub at: Timestamp,
    /// Who (`admin`, `token:contoso/helpdesk`).
    pub actor: String,
    /// What (`grant-upgrade-policy`, `new-user`, …).
    pub action: String,
    /// The tenant concerned, if any.
    pub tenant: Option<String>,
    /// The object changed (a UPN, a tenant name, a policy name).
    pub target: String,
    /// Before the change (`null` when created).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub before: serde_json::Value,
    /// After the change (`null` when deleted).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: serde_json::Value,
}

/// What the audit log can be asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this tenant's entries.
    pub tenant: Option<String>,
    /// Only this target's entries.
    pub target: Option<String>,
    /// Entries with an id greater than this.
    pub after_id: Option<i64>,
    /// At most this many, oldest first: the first ones after `after_id`,
    /// else the newest ones.
    pub limit: u32,
}

fn is_some<S: serde::Serializer, T>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(value.is_some())
}

/// What a peer link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PeerKind {
    /// The tenant's on-premises SIP server, serving its onprem-homed users
    /// (R10.1, R10.2).
    Hybrid,
    /// Another deployment, serving other tenants' domains (R3.4).
    Federation,
    /// A PSTN gateway (SIP trunk, R6).
    Pstn,
}

impl PeerKind {
    /// Every kind.
    pub const ALL: [PeerKind; 3] = [PeerKind::Hybrid, PeerKind::Federation, PeerKind::Pstn];

    /// The spelling in URLs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            PeerKind::Hybrid => "hybrid",
            PeerKind::Federation => "federation",
            PeerKind::Pstn => "pstn",
        }
    }
}

impl std::str::FromStr for PeerKind {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        PeerKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| {
                format!("unknown peer kind '{value}'; valid values: hybrid, federation, pstn")
            })
    }
}

/// A SIP link from a tenant to a server outside this deployment. The SIP
/// edge uses them; the directory only keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Peer {
    /// The tenant it belongs to.
    pub tenant: String,
    /// What it is for.
    pub kind: PeerKind,
    /// Its name within the tenant and kind.
    pub name: String,
    /// `host:port` of the remote SIP server.
    pub address: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// The domains reached through it (federation: the partner's domains).
    pub domains: Vec<String>,
    /// What `address` resolved to when the peer was set or the server
    /// started (PSTN gateways, R6: the SIP edge does no DNS and knows a
    /// gateway by these). Not stored: resolved again at every start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub resolved: Vec<std::net::SocketAddr>,
    /// When it was last set.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub updated_at: Timestamp,
}

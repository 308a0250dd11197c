//! What the SIP edge needs to know about users, in its own terms
//! ([`SipDirectory`]), with an in-memory implementation for tests and an
//! adapter over `coexist_core::Directory` for the server.

use coexist_policy::{
    Enablement, FederationSettings, FederationSide, Homing, Mode, Reach, Recipient, Topology,
    check_federation,
};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A user as the SIP edge sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUser {
    /// Lower-case UPN (`alice@contoso.test`), the address of record.
    pub upn: String,
    /// The digest realm: the tenant's SIP domain (the UPN's domain).
    pub realm: String,
    /// HA1 = MD5(upn:realm:password), hex; empty when the user has no password.
    pub ha1_md5: String,
    /// HA1 = SHA-256(upn:realm:password), hex (RFC 8760).
    pub ha1_sha256: String,
    /// Effective mode (R1.3).
    pub mode: Mode,
    /// R2.2.
    pub homing: Homing,
    /// R2.2.
    pub enabled: Enablement,
    /// The tenant's name.
    pub tenant: String,
    /// The tenant's topology (R3.3).
    pub topology: Topology,
    /// Whether the user's notices are on (R1.4).
    pub notify: bool,
}

impl SipUser {
    /// The user as a recipient for the policy.
    pub fn recipient(&self) -> Recipient {
        Recipient {
            mode: self.mode,
            homing: self.homing,
            enabled: self.enabled,
        }
    }
}

/// The directory port of the SIP edge.
pub trait SipDirectory: Send + Sync + std::fmt::Debug + 'static {
    /// A user by UPN (any case).
    fn user(&self, upn: &str) -> Option<SipUser>;
    /// Whether a SIP domain is served here.
    fn is_local_domain(&self, domain: &str) -> bool;
    /// How two users relate (R3.3, R3.4).
    fn reach(&self, from: &SipUser, to: &SipUser) -> Reach;
}

/// An in-memory directory (tests, benchmarks).
#[derive(Debug, Default, Clone)]
pub struct MemoryDirectory {
    users: Arc<RwLock<HashMap<String, SipUser>>>,
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> MemoryDirectory {
        MemoryDirectory::default()
    }

    /// Adds (or replaces) a user with this password, online, enabled for
    /// both clients, in the `online` tenant of its domain.
    pub fn add(&self, upn: &str, password: &str, mode: Mode) {
        let upn = upn.to_ascii_lowercase();
        let realm = upn
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("")
            .to_owned();
        let user = SipUser {
            ha1_md5: coexist_core::credentials::ha1_md5(&upn, &realm, password),
            ha1_sha256: coexist_core::credentials::ha1_sha256(&upn, &realm, password),
            upn: upn.clone(),
            tenant: realm.clone(),
            realm,
            mode,
            homing: Homing::Online,
            enabled: Enablement {
                teams: true,
                sfb: true,
            },
            topology: Topology::Online,
            notify: false,
        };
        self.write().insert(upn, user);
    }

    /// Changes a user's mode (R1.3: visible to the next decision).
    pub fn set_mode(&self, upn: &str, mode: Mode) {
        if let Some(user) = self.write().get_mut(&upn.to_ascii_lowercase()) {
            user.mode = mode;
        }
    }

    /// Turns a user's R1.4 notices on or off (`NotifySfbUsers`).
    pub fn set_notify(&self, upn: &str, notify: bool) {
        if let Some(user) = self.write().get_mut(&upn.to_ascii_lowercase()) {
            user.notify = notify;
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, SipUser>> {
        self.users.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, SipUser>> {
        self.users.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl SipDirectory for MemoryDirectory {
    fn user(&self, upn: &str) -> Option<SipUser> {
        self.read().get(&upn.to_ascii_lowercase()).cloned()
    }

    fn is_local_domain(&self, domain: &str) -> bool {
        self.read()
            .values()
            .any(|u| u.realm.eq_ignore_ascii_case(domain))
    }

    fn reach(&self, from: &SipUser, to: &SipUser) -> Reach {
        if from.tenant == to.tenant {
            Reach::InTenant(from.topology)
        } else {
            let open = FederationSettings {
                sfb_federation: true,
                teams_federation: true,
                ..FederationSettings::default()
            };
            Reach::Federated(check_federation(
                FederationSide {
                    domain: &from.realm,
                    cloud: coexist_policy::Cloud::Commercial,
                    settings: &open,
                },
                FederationSide {
                    domain: &to.realm,
                    cloud: coexist_policy::Cloud::Commercial,
                    settings: &open,
                },
            ))
        }
    }
}

/// The server's directory (`coexist_core::Directory`) seen through the port.
#[derive(Debug, Clone)]
pub struct CoreDirectory {
    inner: Arc<coexist_core::Directory>,
}

impl CoreDirectory {
    /// Wraps the core directory.
    pub fn new(inner: Arc<coexist_core::Directory>) -> CoreDirectory {
        CoreDirectory { inner }
    }
}

impl SipDirectory for CoreDirectory {
    fn user(&self, upn: &str) -> Option<SipUser> {
        let state = self.inner.read();
        let user = state.user(upn)?;
        let tenant = state.tenant(&user.tenant)?;
        let effective = coexist_core::views::effective_of(user, tenant);
        let (ha1_md5, ha1_sha256) = user
            .credentials
            .as_ref()
            .map(|c| (c.ha1_md5.clone(), c.ha1_sha256.clone()))
            .unwrap_or_default();
        Some(SipUser {
            upn: user.upn.clone(),
            realm: user.domain().to_owned(),
            ha1_md5,
            ha1_sha256,
            mode: effective.mode(),
            homing: user.sfb_homing,
            enabled: user.enablement(),
            tenant: tenant.name.clone(),
            topology: tenant.topology,
            notify: effective.policy.notify_sfb_users(),
        })
    }

    fn is_local_domain(&self, domain: &str) -> bool {
        self.inner.read().tenant_by_domain(domain).is_some()
    }

    fn reach(&self, from: &SipUser, to: &SipUser) -> Reach {
        let state = self.inner.read();
        match (state.tenant(&from.tenant), state.tenant(&to.tenant)) {
            (Some(a), Some(b)) if a.name == b.name => Reach::InTenant(a.topology),
            (Some(a), Some(b)) => Reach::Federated(check_federation(
                FederationSide {
                    domain: &from.realm,
                    cloud: a.cloud,
                    settings: &a.federation,
                },
                FederationSide {
                    domain: &to.realm,
                    cloud: b.cloud,
                    settings: &b.federation,
                },
            )),
            _ => Reach::InTenant(from.topology),
        }
    }
}

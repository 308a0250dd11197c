//! What the SIP edge needs to know about users, in its own terms
//! ([`SipDirectory`]), with an in-memory implementation for tests and an
//! adapter over `coexist_core::Directory` for the server.

use crate::transport::{Peer, Transport};
use coexist_policy::pstn::{LegacyCalling, PstnCallee, PstnCaller};
use coexist_policy::{
    Client, Enablement, FederationSettings, FederationSide, Homing, Mode, Outcome, Reach,
    Recipient, Refusal, RefusalCode, RuleId, Topology, check_federation,
};
use std::collections::HashMap;
use std::net::SocketAddr;
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

    /// The tenant whose PSTN gateway (R6) sends from `source`, if any.
    fn pstn_gateway_at(&self, _source: SocketAddr) -> Option<String> {
        None
    }

    /// Where `tenant`'s PSTN gateway is reached, if it has one.
    fn pstn_gateway_of(&self, _tenant: &str) -> Option<Peer> {
        None
    }

    /// The user who has `number` (E.164), if any.
    fn number_owner(&self, _number: &str) -> Option<SipUser> {
        None
    }

    /// `upn`'s phone number (E.164), if they have one: their caller id
    /// towards the phone network.
    fn phone_number(&self, _upn: &str) -> Option<String> {
        None
    }

    /// R6.1, R6.2 (R9.1 for a legacy-policy user): where a PSTN call to
    /// `upn`'s number lands.
    fn pstn_inbound(&self, _upn: &str) -> Result<Client, Refusal> {
        Err(Refusal::new(RefusalCode::NoVoice, RuleId::R6_4))
    }

    /// R6.4: whether `upn` may call a number from the sfb client.
    fn pstn_outbound(&self, _upn: &str) -> Result<(), Refusal> {
        Err(Refusal::new(RefusalCode::NoVoice, RuleId::R6_4))
    }

    /// `upn`'s legacy TeamsInteropPolicy and own calling client (R9.1,
    /// R9.2), if they hold one: it decides where calls to them land while
    /// they are in Islands.
    fn legacy_calling(&self, _upn: &str) -> Option<LegacyCalling> {
        None
    }
}

/// A peer's `host:port` as a socket address: an IP literal (or
/// `localhost`). Host names are not resolved here (the engine does no I/O):
/// the directory resolves a PSTN gateway's name when it is set and at
/// start, and keeps the addresses with the peer ([`peer_addresses`]).
pub fn peer_address(address: &str) -> Option<SocketAddr> {
    if let Ok(addr) = address.parse() {
        return Some(addr);
    }
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    host.eq_ignore_ascii_case("localhost")
        .then(|| SocketAddr::from(([127, 0, 0, 1], port)))
}

/// A configured peer's socket addresses: those its name resolved to (R6),
/// else its address when that is an IP literal.
pub fn peer_addresses(peer: &coexist_core::Peer) -> Vec<SocketAddr> {
    if peer.resolved.is_empty() {
        peer_address(&peer.address).into_iter().collect()
    } else {
        peer.resolved.clone()
    }
}

/// Whether a request from `source` comes from a peer at one of `addresses`
/// over `transport`: the same IP and port over UDP; the same IP over TCP
/// (its connections come from any port).
fn sent_by(addresses: &[SocketAddr], transport: &str, source: SocketAddr) -> bool {
    addresses.iter().any(|peer| {
        peer.ip() == source.ip()
            && (transport.eq_ignore_ascii_case("tcp") || peer.port() == source.port())
    })
}

/// Where requests to a peer at `addresses` over `transport` go: its first
/// address (IPv4 before IPv6, as resolved and sorted).
fn peer_of(addresses: &[SocketAddr], transport: &str) -> Option<Peer> {
    let addr = *addresses.first()?;
    Some(if transport.eq_ignore_ascii_case("tcp") {
        Peer {
            transport: Transport::Tcp,
            addr,
            conn: None,
        }
    } else {
        Peer::udp(addr)
    })
}

/// PSTN gateways (tenant → address) and numbers (number → UPN).
type Pstn = (HashMap<String, SocketAddr>, HashMap<String, String>);

/// An in-memory directory (tests, benchmarks).
#[derive(Debug, Default, Clone)]
pub struct MemoryDirectory {
    users: Arc<RwLock<HashMap<String, SipUser>>>,
    /// PSTN gateways and numbers.
    pstn: Arc<RwLock<Pstn>>,
    /// Legacy calling setups (R9), by UPN.
    legacy: Arc<RwLock<HashMap<String, LegacyCalling>>>,
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

    /// Gives `tenant` a PSTN gateway at `address` (R6).
    pub fn set_gateway(&self, tenant: &str, address: SocketAddr) {
        let mut pstn = self.pstn.write().unwrap_or_else(|p| p.into_inner());
        pstn.0.insert(tenant.to_owned(), address);
    }

    /// Gives `upn` the phone number `number`.
    pub fn set_number(&self, upn: &str, number: &str) {
        let mut pstn = self.pstn.write().unwrap_or_else(|p| p.into_inner());
        pstn.1.insert(number.to_owned(), upn.to_ascii_lowercase());
    }

    /// Gives `upn` a legacy TeamsInteropPolicy and calling client choice
    /// (R9.1, R9.2); `None` removes it.
    pub fn set_legacy(&self, upn: &str, legacy: Option<LegacyCalling>) {
        let mut all = self.legacy.write().unwrap_or_else(|p| p.into_inner());
        let upn = upn.to_ascii_lowercase();
        match legacy {
            Some(legacy) => all.insert(upn, legacy),
            None => all.remove(&upn),
        };
    }

    fn pstn(&self) -> std::sync::RwLockReadGuard<'_, Pstn> {
        self.pstn.read().unwrap_or_else(|p| p.into_inner())
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

    fn pstn_gateway_at(&self, source: SocketAddr) -> Option<String> {
        let pstn = self.pstn();
        pstn.0
            .iter()
            .find(|(_, a)| **a == source)
            .map(|(t, _)| t.clone())
    }

    fn pstn_gateway_of(&self, tenant: &str) -> Option<Peer> {
        self.pstn().0.get(tenant).copied().map(Peer::udp)
    }

    fn number_owner(&self, number: &str) -> Option<SipUser> {
        let upn = self.pstn().1.get(number).cloned()?;
        self.user(&upn)
    }

    fn phone_number(&self, upn: &str) -> Option<String> {
        let upn = upn.to_ascii_lowercase();
        let pstn = self.pstn();
        pstn.1
            .iter()
            .find(|(_, u)| **u == upn)
            .map(|(n, _)| n.clone())
    }

    /// Online voice for everyone here: R6.1 by mode.
    fn pstn_inbound(&self, upn: &str) -> Result<Client, Refusal> {
        let user = self
            .user(upn)
            .ok_or(Refusal::new(RefusalCode::NoVoice, RuleId::R6_4))?;
        Ok(if user.mode == Mode::TeamsOnly {
            Client::Teams
        } else {
            Client::Sfb
        })
    }

    fn pstn_outbound(&self, upn: &str) -> Result<(), Refusal> {
        let user = self
            .user(upn)
            .ok_or(Refusal::new(RefusalCode::NoVoice, RuleId::R6_4))?;
        coexist_policy::pstn::check_pstn_outbound(PstnCaller {
            mode: user.mode,
            client: Client::Sfb,
            voice: coexist_policy::Voice::Online,
        })
        .map(|_| ())
    }

    fn legacy_calling(&self, upn: &str) -> Option<LegacyCalling> {
        let all = self.legacy.read().unwrap_or_else(|p| p.into_inner());
        all.get(&upn.to_ascii_lowercase()).copied()
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

    fn pstn_gateway_at(&self, source: SocketAddr) -> Option<String> {
        let state = self.inner.read();
        let tenant = state.tenants().find(|t| {
            state.peers_of(&t.name).any(|p| {
                p.kind == coexist_core::PeerKind::Pstn
                    && sent_by(&peer_addresses(p), &p.transport, source)
            })
        });
        tenant.map(|t| t.name.clone())
    }

    fn pstn_gateway_of(&self, tenant: &str) -> Option<Peer> {
        let state = self.inner.read();
        state
            .peers_of(tenant)
            .filter(|p| p.kind == coexist_core::PeerKind::Pstn)
            .find_map(|p| peer_of(&peer_addresses(p), &p.transport))
    }

    fn number_owner(&self, number: &str) -> Option<SipUser> {
        let upn = self.inner.read().user_by_number(number)?.upn.clone();
        self.user(&upn)
    }

    fn phone_number(&self, upn: &str) -> Option<String> {
        self.inner.read().user(upn)?.phone_number.clone()
    }

    fn pstn_inbound(&self, upn: &str) -> Result<Client, Refusal> {
        let state = self.inner.read();
        let no_voice = Refusal::new(RefusalCode::NoVoice, RuleId::R6_4);
        let user = state.user(upn).ok_or(no_voice)?;
        let tenant = state.tenant(&user.tenant).ok_or(no_voice)?;
        // R9.2: the user's choice is in force only when the policy allows
        // an override.
        let legacy = state.legacy_calling(user);
        let verdict = coexist_policy::pstn::route_pstn_inbound(&PstnCallee {
            mode: coexist_core::views::effective_of(user, tenant).mode(),
            homing: user.sfb_homing,
            voice: user.voice,
            enabled: user.enablement(),
            legacy,
        });
        match verdict.outcome {
            Outcome::Lands { client, .. } => Ok(client),
            Outcome::Refused(refusal) => Err(refusal),
        }
    }

    fn legacy_calling(&self, upn: &str) -> Option<LegacyCalling> {
        let state = self.inner.read();
        state.legacy_calling(state.user(upn)?)
    }

    fn pstn_outbound(&self, upn: &str) -> Result<(), Refusal> {
        let state = self.inner.read();
        let no_voice = Refusal::new(RefusalCode::NoVoice, RuleId::R6_4);
        let user = state.user(upn).ok_or(no_voice)?;
        let tenant = state.tenant(&user.tenant).ok_or(no_voice)?;
        coexist_policy::pstn::check_pstn_outbound(PstnCaller {
            mode: coexist_core::views::effective_of(user, tenant).mode(),
            client: Client::Sfb,
            voice: user.voice,
        })
        .map(|_| ())
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{peer_address, peer_of, sent_by};
    use std::net::SocketAddr;

    #[test]
    fn r6_a_gateway_is_known_by_its_ip_and_over_udp_its_port() {
        let at = |s: &str| s.parse::<SocketAddr>().ok();
        assert_eq!(peer_address("127.0.0.1:5070"), at("127.0.0.1:5070"));
        assert_eq!(peer_address("localhost:5070"), at("127.0.0.1:5070"));
        assert_eq!(peer_address("gw.contoso.test:5060"), None, "no DNS here");
        let from = |s: &str| s.parse::<SocketAddr>().unwrap();
        let gw = [from("127.0.0.1:5070")];
        assert!(sent_by(&gw, "udp", from("127.0.0.1:5070")));
        assert!(!sent_by(&gw, "udp", from("127.0.0.1:5071")));
        assert!(!sent_by(&gw, "udp", from("127.0.0.2:5070")));
        assert!(sent_by(&gw, "tcp", from("127.0.0.1:40123")));
        // A name that resolved to several addresses: any of them (R6).
        let named = [from("192.0.2.1:5060"), from("192.0.2.2:5060")];
        assert!(sent_by(&named, "udp", from("192.0.2.2:5060")));
        assert!(
            !sent_by(&[], "udp", from("192.0.2.2:5060")),
            "unresolved: nobody"
        );
        assert_eq!(peer_of(&named, "udp").map(|p| p.addr), Some(named[0]));
        assert_eq!(peer_of(&[], "udp"), None);
    }
}

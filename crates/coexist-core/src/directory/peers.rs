//! Peer links (API.md `PUT /v1/tenants/{tenant}/peers/…`): the tenant's
//! hybrid peer (its onprem SIP server, R10.2), federation peers (R3.4) and
//! PSTN gateways (R6). Kept here; used by the SIP edge.

use super::{Directory, json};
use crate::error::{DirectoryError, Result};
use crate::fields;
use crate::model::{Actor, Peer, PeerKind};
use crate::ports::Change;
use serde::Deserialize;
use std::net::{SocketAddr, ToSocketAddrs};

/// A peer's fields (`PUT /v1/tenants/{t}/peers/{kind}/{name}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PeerFields {
    /// `host:port` of the remote SIP server (port 1-65535).
    pub address: Option<String>,
    /// `udp` (default) or `tcp`.
    pub transport: Option<String>,
    /// Domains reached through it; required for federation peers.
    #[serde(default)]
    pub domains: Vec<String>,
}

fn address(value: &str) -> Result<String> {
    let bad = || {
        DirectoryError::invalid(
            "address",
            format!("'{value}' is not host:port like sip.contoso.com:5060"),
        )
    };
    let (host, port) = value.trim().rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host_ok = host.parse::<std::net::IpAddr>().is_ok()
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::Ipv6Addr>()
            .is_ok()
        || fields::domain("address", host).is_ok()
        || host.eq_ignore_ascii_case("localhost");
    if port == 0 || !host_ok {
        return Err(bad());
    }
    Ok(value.trim().to_ascii_lowercase())
}

/// How long a peer's name may take to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves a peer's `host:port` (an IP literal, `localhost` or a DNS name)
/// to its socket addresses, off the async workers. The SIP edge does no
/// DNS: it knows a PSTN gateway (R6) by what this returns when the gateway
/// is set and at every start.
pub async fn resolve_address(address: &str) -> std::result::Result<Vec<SocketAddr>, String> {
    let owned = address.to_owned();
    let lookup = tokio::task::spawn_blocking(move || {
        owned
            .to_socket_addrs()
            .map(|addrs| addrs.collect::<Vec<_>>())
    });
    let mut addrs = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(Ok(addrs))) => addrs,
        Ok(Ok(Err(e))) => return Err(e.to_string()),
        Ok(Err(_)) => return Err("the lookup failed".to_owned()),
        Err(_) => return Err(format!("no answer within {}s", RESOLVE_TIMEOUT.as_secs())),
    };
    addrs.sort();
    addrs.dedup();
    if addrs.is_empty() {
        return Err("no addresses".to_owned());
    }
    Ok(addrs)
}

/// Resolves what a peer of `kind` needs resolved (PSTN gateways), naming
/// the field when the name does not resolve.
async fn resolve_for(kind: PeerKind, address: &str) -> Result<Vec<SocketAddr>> {
    if kind != PeerKind::Pstn {
        return Ok(Vec::new());
    }
    resolve_address(address).await.map_err(|why| {
        DirectoryError::invalid(
            "address",
            format!(
                "'{address}' does not resolve to an IP address ({why}); the SIP edge needs the gateway's addresses (R6)"
            ),
        )
    })
}

/// Resolves the PSTN gateways of a loaded directory again (at start). A
/// name that no longer resolves leaves the gateway without addresses (its
/// calls are refused) and is logged.
pub(crate) async fn resolve_loaded(peers: &mut [Peer]) {
    for peer in peers.iter_mut().filter(|p| p.kind == PeerKind::Pstn) {
        match resolve_address(&peer.address).await {
            Ok(addrs) => peer.resolved = addrs,
            Err(why) => tracing::warn!(
                tenant = %peer.tenant, peer = %peer.name, address = %peer.address,
                "PSTN gateway address does not resolve: {why}"
            ),
        }
    }
}

impl Directory {
    /// A tenant's peers.
    pub fn peers(&self, actor: &Actor, tenant: &str) -> Result<Vec<Peer>> {
        self.tenant(actor, tenant)?;
        Ok(self.read().peers_of(tenant).cloned().collect())
    }

    /// Creates or replaces a peer. A tenant has at most one hybrid peer.
    pub async fn put_peer(
        &self,
        actor: &Actor,
        tenant: &str,
        kind: PeerKind,
        name: &str,
        input: PeerFields,
    ) -> Result<Peer> {
        self.tenant(actor, tenant)?;
        let address = address(
            input
                .address
                .as_deref()
                .ok_or_else(|| DirectoryError::invalid("address", "is required"))?,
        )?;
        let transport = match input
            .transport
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("udp") => "udp",
            Some("tcp") => "tcp",
            Some(other) => {
                return Err(DirectoryError::invalid(
                    "transport",
                    format!("unknown transport '{other}'; valid values: udp, tcp"),
                ));
            }
        };
        // Before taking the writer: a lookup may take seconds.
        let resolved = resolve_for(kind, &address).await?;
        let _writer = self.lock_writer().await;
        let tenant = self.tenant(actor, tenant)?;
        let name = fields::tenant_name(name).map_err(|_| {
            DirectoryError::invalid(
                "name",
                format!(
                    "'{name}' is not a peer name: 1-63 lower-case letters, digits, '-', '_' or '.'"
                ),
            )
        })?;
        let domains = input
            .domains
            .iter()
            .map(|d| fields::domain("domains", d))
            .collect::<Result<Vec<_>>>()?;
        if kind == PeerKind::Federation && domains.is_empty() {
            return Err(DirectoryError::invalid(
                "domains",
                "a federation peer needs the domains it reaches",
            ));
        }
        let before = self.read().peer(&tenant.name, kind, &name).cloned();
        if kind == PeerKind::Hybrid {
            if let Some(other) = self
                .read()
                .peers_of(&tenant.name)
                .find(|p| p.kind == PeerKind::Hybrid && p.name != name)
            {
                return Err(DirectoryError::conflict(
                    "name",
                    format!(
                        "tenant '{}' already has hybrid peer '{}'",
                        tenant.name, other.name
                    ),
                ));
            }
        }
        let peer = Peer {
            tenant: tenant.name.clone(),
            kind,
            name,
            address,
            transport: transport.to_owned(),
            domains,
            resolved,
            updated_at: self.clock().now(),
        };
        let audit = self.audit_entry(
            actor,
            "set-peer",
            Some(&tenant.name),
            &format!("{}/{}", kind.as_str(), peer.name),
            json(&before),
            json(&peer),
        );
        self.store
            .commit(&[Change::PutPeer(&peer)], &[audit])
            .await?;
        self.write().put_peer(peer.clone());
        Ok(peer)
    }

    /// Removes a peer.
    pub async fn delete_peer(
        &self,
        actor: &Actor,
        tenant: &str,
        kind: PeerKind,
        name: &str,
    ) -> Result<()> {
        let _writer = self.lock_writer().await;
        let tenant = self.tenant(actor, tenant)?;
        let before = self
            .read()
            .peer(&tenant.name, kind, name)
            .cloned()
            .ok_or_else(|| DirectoryError::UnknownPeer(format!("{}/{name}", kind.as_str())))?;
        let audit = self.audit_entry(
            actor,
            "remove-peer",
            Some(&tenant.name),
            &format!("{}/{name}", kind.as_str()),
            json(&before),
            serde_json::Value::Null,
        );
        self.store
            .commit(&[Change::DeletePeer(&tenant.name, kind, name)], &[audit])
            .await?;
        self.write().remove_peer(&tenant.name, kind, name);
        Ok(())
    }
}

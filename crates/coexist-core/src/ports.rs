//! The storage port: what the directory needs from a database, in domain
//! terms. `coexist-store` implements it for SQLite (and later PostgreSQL);
//! [`MemoryStore`] is the reference implementation for tests.

use crate::model::{AuditEntry, AuditQuery, Peer, PeerKind, Tenant, TenantToken, User};
use async_trait::async_trait;
use coexist_policy::InteropPolicy;
use std::sync::Mutex;

/// A storage failure. Details are for the logs, never for clients.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

/// Everything the directory keeps, as loaded at start-up.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// All tenants.
    pub tenants: Vec<Tenant>,
    /// All users.
    pub users: Vec<User>,
    /// Admin-made legacy interop policies, by name.
    pub interop_policies: Vec<(String, InteropPolicy)>,
    /// Tenant-scoped tokens.
    pub tokens: Vec<TenantToken>,
    /// Peer links.
    pub peers: Vec<Peer>,
}

/// One durable change.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// Create or replace a tenant.
    PutTenant(&'a Tenant),
    /// Delete a tenant with its users and tokens.
    DeleteTenant(&'a str),
    /// Create or replace a user.
    PutUser(&'a User),
    /// Create or replace many users (bulk import).
    PutUsers(&'a [User]),
    /// Delete a user.
    DeleteUser(&'a str),
    /// Create or replace a named interop policy.
    PutInteropPolicy(&'a str, &'a InteropPolicy),
    /// Store a tenant-scoped token.
    PutToken(&'a TenantToken),
    /// Create or replace a peer link.
    PutPeer(&'a Peer),
    /// Delete a peer link: tenant, kind, name.
    DeletePeer(&'a str, PeerKind, &'a str),
}

/// An audit entry before the store gives it an id.
pub type NewAuditEntry = AuditEntry;

/// The directory's storage.
#[async_trait]
pub trait DirectoryStore: Send + Sync + std::fmt::Debug + 'static {
    /// Everything, at start-up.
    async fn load(&self) -> Result<Snapshot, StoreError>;

    /// Applies `changes` and appends `audit`, all in one transaction: either
    /// everything is durable when this returns `Ok`, or nothing is.
    async fn commit(
        &self,
        changes: &[Change<'_>],
        audit: &[NewAuditEntry],
    ) -> Result<(), StoreError>;

    /// Reads the audit log, oldest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    /// Closes the store cleanly (checkpoints, releases files).
    async fn close(&self);
}

/// An in-memory store: the reference semantics of the port, for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<(Snapshot, Vec<AuditEntry>)>,
}

#[async_trait]
impl DirectoryStore for MemoryStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let guard = self.inner.lock().map_err(|e| StoreError(e.to_string()))?;
        Ok(guard.0.clone())
    }

    async fn commit(
        &self,
        changes: &[Change<'_>],
        audit: &[NewAuditEntry],
    ) -> Result<(), StoreError> {
        let mut guard = self.inner.lock().map_err(|e| StoreError(e.to_string()))?;
        let (snapshot, log) = &mut *guard;
        for change in changes {
            match *change {
                Change::PutTenant(tenant) => {
                    snapshot.tenants.retain(|t| t.name != tenant.name);
                    snapshot.tenants.push(tenant.clone());
                }
                Change::DeleteTenant(name) => {
                    snapshot.tenants.retain(|t| t.name != name);
                    snapshot.users.retain(|u| u.tenant != name);
                    snapshot.tokens.retain(|t| t.tenant != name);
                    snapshot.peers.retain(|p| p.tenant != name);
                }
                Change::PutUser(user) => {
                    snapshot.users.retain(|u| u.upn != user.upn);
                    snapshot.users.push(user.clone());
                }
                Change::PutUsers(users) => {
                    for user in users {
                        snapshot.users.retain(|u| u.upn != user.upn);
                        snapshot.users.push(user.clone());
                    }
                }
                Change::DeleteUser(upn) => snapshot.users.retain(|u| u.upn != upn),
                Change::PutInteropPolicy(name, policy) => {
                    snapshot.interop_policies.retain(|(n, _)| n != name);
                    snapshot.interop_policies.push((name.to_owned(), *policy));
                }
                Change::PutToken(token) => snapshot.tokens.push(token.clone()),
                Change::PutPeer(peer) => {
                    snapshot.peers.retain(|p| {
                        (&p.tenant, p.kind, &p.name) != (&peer.tenant, peer.kind, &peer.name)
                    });
                    // Like every store: what an address resolved to is
                    // not kept (the directory resolves it at start, R6).
                    snapshot.peers.push(Peer {
                        resolved: Vec::new(),
                        ..(*peer).clone()
                    });
                }
                Change::DeletePeer(tenant, kind, name) => snapshot.peers.retain(|p| {
                    (p.tenant.as_str(), p.kind, p.name.as_str()) != (tenant, kind, name)
                }),
            }
        }
        for entry in audit {
            let id = i64::try_from(log.len()).unwrap_or(i64::MAX) + 1;
            log.push(AuditEntry {
                id,
                ..entry.clone()
            });
        }
        Ok(())
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let guard = self.inner.lock().map_err(|e| StoreError(e.to_string()))?;
        let matching: Vec<AuditEntry> = guard
            .1
            .iter()
            .filter(|e| query.tenant.is_none() || e.tenant == query.tenant)
            .filter(|e| query.target.as_ref().is_none_or(|t| &e.target == t))
            .filter(|e| query.after_id.is_none_or(|after| e.id > after))
            .cloned()
            .collect();
        let limit = query.limit as usize;
        // Paging forward from `after_id` takes the oldest; otherwise the newest.
        let skip = match query.after_id {
            Some(_) => 0,
            None => matching.len().saturating_sub(limit),
        };
        Ok(matching.into_iter().skip(skip).take(limit).collect())
    }

    async fn close(&self) {}
}

//! The directory service: every admin change goes through here. A change is
//! validated against the in-memory view, committed to the store together
//! with its audit entry, and only then applied to the view, so the next
//! decision sees it (R1.3: no propagation delay) and nothing unacknowledged
//! is ever visible. Writers are serialised; readers never wait for the
//! store.
//!
//! This file holds the service, access checks and the commit helpers; the
//! operations are split by subject: `tenants.rs` (domains, tenant-wide
//! grant, federation), `users.rs` (users and their grants), `interop.rs` (R9
//! policies), `tokens.rs` (tenant tokens, password checks).

use crate::clock::Clock;
use crate::credentials::token_digest;
use crate::error::{DirectoryError, Result};
use crate::model::{Actor, AuditEntry, AuditQuery, Tenant, User};
use crate::ports::{Change, DirectoryStore};
use crate::state::State;
pub use peers::PeerFields;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

mod interop;
mod peers;
mod tenants;
mod tokens;
mod users;

/// The directory: an in-memory view over a store.
#[derive(Debug)]
pub struct Directory {
    state: RwLock<State>,
    writer: tokio::sync::Mutex<()>,
    store: Arc<dyn DirectoryStore>,
    clock: Arc<dyn Clock>,
    admin_token_digest: String,
}

impl Directory {
    /// Loads the directory from `store`. `admin_token` is the deployment
    /// admin's bearer token.
    pub async fn open(
        store: Arc<dyn DirectoryStore>,
        clock: Arc<dyn Clock>,
        admin_token: &str,
    ) -> Result<Directory> {
        let mut snapshot = store.load().await?;
        peers::resolve_loaded(&mut snapshot.peers).await;
        Ok(Directory {
            state: RwLock::new(State::from_snapshot(snapshot)),
            writer: tokio::sync::Mutex::new(()),
            store,
            clock,
            admin_token_digest: token_digest(admin_token),
        })
    }

    /// Reads the view. Hold the guard briefly; never across an `.await`.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The view's version: bumped by every change.
    pub fn version(&self) -> u64 {
        self.read().version
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Closes the store.
    pub async fn close(&self) {
        let _writer = self.writer.lock().await;
        self.store.close().await;
    }

    /// Who a bearer token belongs to, if anyone.
    pub fn authenticate(&self, bearer: &str) -> Option<Actor> {
        let digest = token_digest(bearer);
        if crate::credentials::constant_time_eq(&digest, &self.admin_token_digest) {
            return Some(Actor::Admin);
        }
        self.read().token(&digest).map(|token| Actor::Tenant {
            tenant: token.tenant.clone(),
            label: token.label.clone(),
        })
    }

    fn audit_entry(
        &self,
        actor: &Actor,
        action: &str,
        tenant: Option<&str>,
        target: &str,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: self.clock.now(),
            actor: actor.audit_name(),
            action: action.to_owned(),
            tenant: tenant.map(str::to_owned),
            target: target.to_owned(),
            before,
            after,
        }
    }

    // ---- access ----------------------------------------------------------

    fn require_admin(actor: &Actor) -> Result<()> {
        if actor.is_admin() {
            Ok(())
        } else {
            Err(DirectoryError::Forbidden(
                "this needs the admin token; a tenant token acts on its own tenant only".into(),
            ))
        }
    }

    fn check_tenant(actor: &Actor, tenant: &str) -> Result<()> {
        if actor.may_touch(tenant) {
            Ok(())
        } else {
            Err(DirectoryError::Forbidden(format!(
                "this token may not act on tenant '{tenant}'"
            )))
        }
    }

    /// A tenant the actor may see.
    pub fn tenant(&self, actor: &Actor, name: &str) -> Result<Tenant> {
        let state = self.read();
        let tenant = state
            .tenant(name)
            .ok_or_else(|| DirectoryError::UnknownTenant(name.to_owned()))?;
        Self::check_tenant(actor, name)?;
        Ok(tenant.clone())
    }

    /// A user the actor may see.
    pub fn user(&self, actor: &Actor, upn: &str) -> Result<User> {
        let state = self.read();
        let user = state
            .user(upn)
            .ok_or_else(|| DirectoryError::UnknownUser(upn.to_owned()))?;
        Self::check_tenant(actor, &user.tenant)?;
        Ok(user.clone())
    }

    async fn commit_tenant(
        &self,
        actor: &Actor,
        action: &str,
        before: &Tenant,
        after: Tenant,
    ) -> Result<Tenant> {
        let audit = self.audit_entry(
            actor,
            action,
            Some(&after.name),
            &after.name,
            json(before),
            json(&after),
        );
        self.store
            .commit(&[Change::PutTenant(&after)], &[audit])
            .await?;
        self.write().put_tenant(after.clone());
        Ok(after)
    }

    async fn commit_user(
        &self,
        actor: &Actor,
        action: &str,
        before: &User,
        mut after: User,
    ) -> Result<User> {
        after.updated_at = self.clock.now();
        let audit = self.audit_entry(
            actor,
            action,
            Some(&after.tenant),
            &after.upn,
            json(before),
            json(&after),
        );
        self.store
            .commit(&[Change::PutUser(&after)], &[audit])
            .await?;
        self.write().put_user(after.clone());
        Ok(after)
    }

    /// The audit log as the actor may see it.
    pub async fn audit(&self, actor: &Actor, mut query: AuditQuery) -> Result<Vec<AuditEntry>> {
        if let Actor::Tenant { tenant, .. } = actor {
            if query.tenant.as_ref().is_some_and(|t| t != tenant) {
                Self::check_tenant(actor, query.tenant.as_deref().unwrap_or_default())?;
            }
            query.tenant = Some(tenant.clone());
        }
        Ok(self.store.audit(&query).await?)
    }

    /// Commits a validated bulk import (see [`crate::import`]).
    pub(crate) async fn commit_import(
        &self,
        actor: &Actor,
        tenant: &str,
        users: Vec<User>,
    ) -> Result<()> {
        let upns: Vec<&str> = users.iter().map(|u| u.upn.as_str()).collect();
        let audit = self.audit_entry(
            actor,
            "import-users",
            Some(tenant),
            tenant,
            serde_json::Value::Null,
            serde_json::json!({ "count": users.len(), "users": upns }),
        );
        self.store
            .commit(&[Change::PutUsers(&users)], &[audit])
            .await?;
        let mut state = self.write();
        for user in users {
            state.put_user(user);
        }
        Ok(())
    }

    /// Commits changes to several users of one tenant, with one audit entry
    /// each (the caller holds the writer lock and has validated them).
    pub(crate) async fn commit_users(
        &self,
        actor: &Actor,
        action: &str,
        tenant: &str,
        users: Vec<(User, User)>,
    ) -> Result<()> {
        let audit: Vec<AuditEntry> = users
            .iter()
            .map(|(before, after)| {
                self.audit_entry(
                    actor,
                    action,
                    Some(tenant),
                    &after.upn,
                    json(before),
                    json(after),
                )
            })
            .collect();
        let after: Vec<User> = users.into_iter().map(|(_, after)| after).collect();
        self.store
            .commit(&[Change::PutUsers(&after)], &audit)
            .await?;
        let mut state = self.write();
        for user in after {
            state.put_user(user);
        }
        Ok(())
    }

    /// The writer lock, for multi-step changes in sibling modules.
    pub(crate) async fn lock_writer(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }
}

/// A value as JSON for the audit log.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

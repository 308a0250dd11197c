//! The directory service: every admin change goes through here. A change is
//! validated against the in-memory view, committed to the store together
//! with its audit entry, and only then applied to the view, so the next
//! decision sees it (R1.3: no propagation delay) and nothing unacknowledged
//! is ever visible. Writers are serialised; readers never wait for the
//! store.

use crate::clock::Clock;
use crate::credentials::{Credentials, random_secret, token_digest};
use crate::error::{DirectoryError, Result};
use crate::fields::{self, TenantFields, UserFields};
use crate::model::{Actor, AuditEntry, AuditQuery, Tenant, TenantToken, User};
use crate::ports::{Change, DirectoryStore};
use crate::state::State;
use coexist_policy::upgrade_policy::{
    effective_policy, validate_tenant_grant, validate_user_grant,
};
use coexist_policy::{
    FederationSettings, Homing, InteropPolicy, Refusal, RefusalCode, RuleId, UpgradePolicy, Voice,
};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

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
        let snapshot = store.load().await?;
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

    // ---- tenants ---------------------------------------------------------

    /// The tenants the actor may see.
    pub fn tenants(&self, actor: &Actor) -> Vec<Tenant> {
        self.read()
            .tenants()
            .filter(|t| actor.may_touch(&t.name))
            .cloned()
            .collect()
    }

    fn checked_domains(state: &State, tenant: &str, given: &[String]) -> Result<Vec<String>> {
        if given.is_empty() {
            return Err(DirectoryError::invalid(
                "domains",
                "at least one domain is needed",
            ));
        }
        let mut domains: Vec<String> = Vec::with_capacity(given.len());
        for raw in given {
            let domain = fields::domain("domains", raw)?;
            if let Some(owner) = state.tenant_by_domain(&domain) {
                if owner.name != tenant {
                    return Err(DirectoryError::conflict(
                        "domains",
                        format!("domain '{domain}' belongs to another tenant"),
                    ));
                }
            }
            if !domains.contains(&domain) {
                domains.push(domain);
            }
        }
        Ok(domains)
    }

    /// Creates a tenant (admin only).
    pub async fn create_tenant(&self, actor: &Actor, input: TenantFields) -> Result<Tenant> {
        Self::require_admin(actor)?;
        let _writer = self.writer.lock().await;
        let tenant = {
            let state = self.read();
            let name = fields::tenant_name(
                input
                    .name
                    .as_deref()
                    .ok_or_else(|| DirectoryError::invalid("name", "is required"))?,
            )?;
            if state.tenant(&name).is_some() {
                return Err(DirectoryError::conflict(
                    "name",
                    format!("tenant '{name}' already exists"),
                ));
            }
            let domains = Self::checked_domains(&state, &name, &input.domains.unwrap_or_default())?;
            Tenant {
                name,
                domains,
                topology: fields::topology(input.topology.as_deref())?,
                cloud: fields::cloud(input.cloud.as_deref())?,
                upgrade_policy: None,
                federation: FederationSettings::default(),
                created_at: self.clock.now(),
            }
        };
        let audit = self.audit_entry(
            actor,
            "new-tenant",
            Some(&tenant.name),
            &tenant.name,
            serde_json::Value::Null,
            json(&tenant),
        );
        self.store
            .commit(&[Change::PutTenant(&tenant)], &[audit])
            .await?;
        self.write().put_tenant(tenant.clone());
        Ok(tenant)
    }

    /// Changes a tenant's domains, topology or cloud.
    pub async fn patch_tenant(
        &self,
        actor: &Actor,
        name: &str,
        input: TenantFields,
    ) -> Result<Tenant> {
        let _writer = self.writer.lock().await;
        let before = self.tenant(actor, name)?;
        let after = {
            let state = self.read();
            if input.name.as_deref().is_some_and(|n| n != name) {
                return Err(DirectoryError::invalid(
                    "name",
                    "a tenant cannot be renamed",
                ));
            }
            let mut after = before.clone();
            if let Some(domains) = &input.domains {
                after.domains = Self::checked_domains(&state, name, domains)?;
                if let Some(user) = state
                    .users_of(name)
                    .find(|u| !after.domains.iter().any(|d| d == u.domain()))
                {
                    return Err(DirectoryError::conflict(
                        "domains",
                        format!("user '{}' still uses domain '{}'", user.upn, user.domain()),
                    ));
                }
            }
            if input.topology.is_some() {
                after.topology = fields::topology(input.topology.as_deref())?;
            }
            if input.cloud.is_some() {
                after.cloud = fields::cloud(input.cloud.as_deref())?;
            }
            after
        };
        self.commit_tenant(actor, "set-tenant", &before, after)
            .await
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

    /// Deletes a tenant and its users (admin only).
    pub async fn delete_tenant(&self, actor: &Actor, name: &str) -> Result<()> {
        let _writer = self.writer.lock().await;
        let before = self.tenant(actor, name)?;
        Self::require_admin(actor)?;
        let users = self.read().user_count(name);
        let audit = self.audit_entry(
            actor,
            "remove-tenant",
            Some(name),
            name,
            serde_json::json!({ "tenant": json(&before), "users": users }),
            serde_json::Value::Null,
        );
        self.store
            .commit(&[Change::DeleteTenant(name)], &[audit])
            .await?;
        self.write().remove_tenant(name);
        Ok(())
    }

    /// R1.3, R1.5: grants (or with `None` removes) the tenant-wide policy.
    /// TeamsOnly is refused while any user is homed onprem, naming them.
    pub async fn grant_tenant_policy(
        &self,
        actor: &Actor,
        name: &str,
        policy: Option<UpgradePolicy>,
    ) -> Result<Tenant> {
        let _writer = self.writer.lock().await;
        let before = self.tenant(actor, name)?;
        if let Some(policy) = policy {
            let state = self.read();
            let users = state.users_of(name).map(|u| (u.upn.as_str(), u.sfb_homing));
            if let Err(onprem) = validate_tenant_grant(policy, users) {
                return Err(DirectoryError::Refused {
                    refusal: Refusal::new(RefusalCode::TeamsOnlyNeedsOnlineHoming, RuleId::R1_5),
                    users: onprem.into_iter().map(str::to_owned).collect(),
                });
            }
        }
        let after = Tenant {
            upgrade_policy: policy,
            ..before.clone()
        };
        self.commit_tenant(actor, "grant-upgrade-policy-global", &before, after)
            .await
    }

    /// R3.4: the tenant's federation settings.
    pub async fn set_federation(
        &self,
        actor: &Actor,
        name: &str,
        settings: FederationSettings,
    ) -> Result<Tenant> {
        let _writer = self.writer.lock().await;
        let before = self.tenant(actor, name)?;
        let clean = |field: &str, list: &[String]| -> Result<Vec<String>> {
            list.iter().map(|d| fields::domain(field, d)).collect()
        };
        let settings = FederationSettings {
            allowed_domains: settings
                .allowed_domains
                .as_deref()
                .map(|list| clean("allowed_domains", list))
                .transpose()?,
            blocked_domains: clean("blocked_domains", &settings.blocked_domains)?,
            ..settings
        };
        let after = Tenant {
            federation: settings,
            ..before.clone()
        };
        self.commit_tenant(actor, "set-federation", &before, after)
            .await
    }

    // ---- users -----------------------------------------------------------

    /// A tenant's users, by UPN, from `offset`, at most `limit`.
    pub fn users(
        &self,
        actor: &Actor,
        tenant: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<User>)> {
        self.tenant(actor, tenant)?;
        let state = self.read();
        let page = state
            .users_of(tenant)
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        Ok((state.user_count(tenant), page))
    }

    /// Builds a new user of `tenant` from fields, checking everything but
    /// uniqueness against the directory. Credentials are derived by
    /// `credentials` (argon2 or HA1 only).
    pub(crate) fn build_user(
        &self,
        tenant: &Tenant,
        input: &UserFields,
        credentials: impl FnOnce(&str, &str, &str) -> Credentials,
    ) -> Result<User> {
        let upn = fields::upn(
            input
                .upn
                .as_deref()
                .ok_or_else(|| DirectoryError::invalid("upn", "is required"))?,
        )?;
        let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        if !tenant.domains.iter().any(|d| d == domain) {
            return Err(DirectoryError::invalid(
                "upn",
                format!(
                    "domain '{domain}' is not one of tenant '{}''s domains ({})",
                    tenant.name,
                    tenant.domains.join(", ")
                ),
            ));
        }
        let local = upn.split('@').next().unwrap_or("").to_owned();
        let display_name = fields::display_name(input.display_name.as_deref().unwrap_or(&local))?;
        let credentials = match input.password.as_deref() {
            Some(password) => {
                fields::password(password)?;
                Some(credentials(&upn, domain, password))
            }
            None => None,
        };
        let now = self.clock.now();
        let user = User {
            tenant: tenant.name.clone(),
            display_name,
            sfb_homing: fields::homing(input.sfb_homing.as_deref(), Homing::Online)?,
            teams_enabled: input.teams_enabled.unwrap_or(true),
            sfb_enabled: input.sfb_enabled.unwrap_or(true),
            voice: fields::voice(input.voice.as_deref(), Voice::None)?,
            phone_number: input
                .phone_number
                .as_deref()
                .map(fields::phone_number)
                .transpose()?
                .flatten(),
            specialized_workflow: input.specialized_workflow.unwrap_or(false),
            upgrade_policy: None,
            interop_policy: None,
            credentials,
            created_at: now,
            updated_at: now,
            upn,
        };
        Ok(user)
    }

    /// R1.5 for one user as they would be: their effective mode may not be
    /// TeamsOnly while homed onprem.
    pub(crate) fn check_r1_5(user: &User, tenant: &Tenant) -> Result<()> {
        let effective = effective_policy(user.upgrade_policy, tenant.upgrade_policy);
        validate_user_grant(effective.policy, user.sfb_homing).map_err(|refusal| {
            DirectoryError::Refused {
                refusal,
                users: vec![user.upn.clone()],
            }
        })
    }

    /// Uniqueness of the UPN and the number.
    pub(crate) fn check_unique(state: &State, user: &User, creating: bool) -> Result<()> {
        if creating && state.user(&user.upn).is_some() {
            return Err(DirectoryError::conflict(
                "upn",
                format!("user '{}' already exists", user.upn),
            ));
        }
        if let Some(number) = &user.phone_number {
            if let Some(owner) = state.user_by_number(number) {
                if owner.upn != user.upn {
                    return Err(DirectoryError::conflict(
                        "phone_number",
                        format!("number {number} belongs to '{}'", owner.upn),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates a user. The password is hashed with argon2id off the async
    /// workers.
    pub async fn create_user(
        &self,
        actor: &Actor,
        tenant: &str,
        input: UserFields,
    ) -> Result<User> {
        let tenant = self.tenant(actor, tenant)?;
        let mut user = self.build_user(&tenant, &input, |_, _, _| Credentials::default())?;
        if let Some(password) = input.password.clone() {
            let (upn, realm) = (user.upn.clone(), user.domain().to_owned());
            user.credentials =
                tokio::task::spawn_blocking(move || Credentials::full(&upn, &realm, &password))
                    .await
                    .ok();
        }
        let _writer = self.writer.lock().await;
        let tenant = self.tenant(actor, &tenant.name)?;
        Self::check_unique(&self.read(), &user, true)?;
        Self::check_r1_5(&user, &tenant)?;
        let audit = self.audit_entry(
            actor,
            "new-user",
            Some(&tenant.name),
            &user.upn,
            serde_json::Value::Null,
            json(&user),
        );
        self.store
            .commit(&[Change::PutUser(&user)], &[audit])
            .await?;
        self.write().put_user(user.clone());
        Ok(user)
    }

    /// Changes a user's fields (not the UPN).
    pub async fn patch_user(&self, actor: &Actor, upn: &str, input: UserFields) -> Result<User> {
        let before = self.user(actor, upn)?;
        if input
            .upn
            .as_deref()
            .is_some_and(|u| !u.eq_ignore_ascii_case(&before.upn))
        {
            return Err(DirectoryError::invalid(
                "upn",
                "a user's UPN cannot be changed",
            ));
        }
        let credentials = match input.password.clone() {
            Some(password) => {
                fields::password(&password)?;
                let (upn, realm) = (before.upn.clone(), before.domain().to_owned());
                tokio::task::spawn_blocking(move || Credentials::full(&upn, &realm, &password))
                    .await
                    .ok()
            }
            None => before.credentials.clone(),
        };
        let _writer = self.writer.lock().await;
        let before = self.user(actor, upn)?;
        let tenant = self.tenant(actor, &before.tenant)?;
        let mut after = before.clone();
        if let Some(name) = &input.display_name {
            after.display_name = fields::display_name(name)?;
        }
        after.sfb_homing = fields::homing(input.sfb_homing.as_deref(), before.sfb_homing)?;
        after.teams_enabled = input.teams_enabled.unwrap_or(before.teams_enabled);
        after.sfb_enabled = input.sfb_enabled.unwrap_or(before.sfb_enabled);
        after.voice = fields::voice(input.voice.as_deref(), before.voice)?;
        if let Some(number) = &input.phone_number {
            after.phone_number = fields::phone_number(number)?;
        }
        after.specialized_workflow = input
            .specialized_workflow
            .unwrap_or(before.specialized_workflow);
        after.credentials = credentials;
        Self::check_unique(&self.read(), &after, false)?;
        Self::check_r1_5(&after, &tenant)?;
        self.commit_user(actor, "set-user", &before, after).await
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

    /// Deletes a user.
    pub async fn delete_user(&self, actor: &Actor, upn: &str) -> Result<()> {
        let _writer = self.writer.lock().await;
        let before = self.user(actor, upn)?;
        let audit = self.audit_entry(
            actor,
            "remove-user",
            Some(&before.tenant),
            &before.upn,
            json(&before),
            serde_json::Value::Null,
        );
        self.store
            .commit(&[Change::DeleteUser(&before.upn)], &[audit])
            .await?;
        self.write().remove_user(&before.upn);
        Ok(())
    }

    /// R1.3, R1.5: grants (or with `None` removes) a user's own upgrade
    /// policy. `UpgradeToTeams` is refused for a user homed onprem; so is
    /// removing a grant when the tenant-wide one would make them TeamsOnly.
    pub async fn grant_user_policy(
        &self,
        actor: &Actor,
        upn: &str,
        policy: Option<UpgradePolicy>,
    ) -> Result<User> {
        let _writer = self.writer.lock().await;
        let before = self.user(actor, upn)?;
        let tenant = self.tenant(actor, &before.tenant)?;
        let after = User {
            upgrade_policy: policy,
            ..before.clone()
        };
        Self::check_r1_5(&after, &tenant)?;
        self.commit_user(actor, "grant-upgrade-policy", &before, after)
            .await
    }

    /// R9: grants (or removes) a legacy interop policy by name.
    pub async fn grant_interop_policy(
        &self,
        actor: &Actor,
        upn: &str,
        policy: Option<&str>,
    ) -> Result<User> {
        let _writer = self.writer.lock().await;
        let before = self.user(actor, upn)?;
        let name = match policy {
            Some(name) => {
                let state = self.read();
                let canonical = coexist_policy::legacy::BUILT_IN_INTEROP_POLICIES
                    .iter()
                    .map(|(n, _)| (*n).to_owned())
                    .chain(state.custom_interop_policies().map(|(n, _)| n.clone()))
                    .find(|n| n.eq_ignore_ascii_case(name.trim()))
                    .ok_or_else(|| {
                        DirectoryError::invalid(
                            "policy",
                            format!(
                                "unknown interop policy '{name}'; see GET /v1/interop-policies"
                            ),
                        )
                    })?;
                Some(canonical)
            }
            None => None,
        };
        let after = User {
            interop_policy: name,
            ..before.clone()
        };
        self.commit_user(actor, "grant-interop-policy", &before, after)
            .await
    }

    /// R9: defines (or redefines) a named legacy interop policy (admin only;
    /// built-ins are read-only).
    pub async fn put_interop_policy(
        &self,
        actor: &Actor,
        name: &str,
        policy: InteropPolicy,
    ) -> Result<()> {
        Self::require_admin(actor)?;
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !valid_name {
            return Err(DirectoryError::invalid(
                "name",
                "1-64 letters, digits, '-' or '_'",
            ));
        }
        if coexist_policy::legacy::built_in_interop_policy(name).is_some() {
            return Err(DirectoryError::conflict(
                "name",
                format!("'{name}' is a built-in policy and is read-only"),
            ));
        }
        let _writer = self.writer.lock().await;
        let before = self.read().interop_policies.get(name).copied();
        let audit = self.audit_entry(
            actor,
            "set-interop-policy",
            None,
            name,
            json(&before),
            json(&policy),
        );
        self.store
            .commit(&[Change::PutInteropPolicy(name, &policy)], &[audit])
            .await?;
        let mut state = self.write();
        state.interop_policies.insert(name.to_owned(), policy);
        state.version += 1;
        Ok(())
    }

    /// Makes a tenant-scoped token (admin only). Returns the secret, shown
    /// once; only its digest is kept.
    pub async fn create_token(
        &self,
        actor: &Actor,
        tenant: &str,
        label: &str,
    ) -> Result<(String, TenantToken)> {
        Self::require_admin(actor)?;
        let tenant = self.tenant(actor, tenant)?;
        let label = label.trim();
        if label.is_empty() || label.len() > 64 || label.chars().any(char::is_control) {
            return Err(DirectoryError::invalid(
                "label",
                "must be 1-64 printable characters",
            ));
        }
        let _writer = self.writer.lock().await;
        let secret = random_secret("cxt_");
        let token = TenantToken {
            digest: token_digest(&secret),
            tenant: tenant.name.clone(),
            label: label.to_owned(),
            created_at: self.clock.now(),
        };
        let audit = self.audit_entry(
            actor,
            "new-token",
            Some(&tenant.name),
            label,
            serde_json::Value::Null,
            json(&token),
        );
        self.store
            .commit(&[Change::PutToken(&token)], &[audit])
            .await?;
        let mut state = self.write();
        state.tokens.insert(token.digest.clone(), token.clone());
        Ok((secret, token))
    }

    /// Checks a log-in password. A bulk-imported user (HA1 only) is checked
    /// against the SHA-256 HA1 and then given an argon2 hash.
    pub async fn verify_password(&self, upn: &str, password: &str) -> Result<bool> {
        let user = self.user(&Actor::System, upn)?;
        let Some(credentials) = user.credentials.clone() else {
            return Ok(false);
        };
        let (name, realm, given) = (
            user.upn.clone(),
            user.domain().to_owned(),
            password.to_owned(),
        );
        let (ok, upgraded) = tokio::task::spawn_blocking(move || {
            let ok = credentials.verify(&name, &realm, &given);
            (
                ok,
                if ok {
                    credentials.upgrade(&given)
                } else {
                    None
                },
            )
        })
        .await
        .unwrap_or((false, None));
        if let Some(upgraded) = upgraded {
            let _writer = self.writer.lock().await;
            let before = self.user(&Actor::System, upn)?;
            let after = User {
                credentials: Some(upgraded),
                ..before.clone()
            };
            self.commit_user(&Actor::System, "upgrade-password-hash", &before, after)
                .await?;
        }
        Ok(ok)
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

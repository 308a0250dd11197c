//! Tenants: creation, domains, topology and cloud, the tenant-wide grant
//! (R1.3, R1.5) and federation settings (R3.4).

use super::{Directory, json};
use crate::error::{DirectoryError, Result};
use crate::fields::{self, TenantFields};
use crate::model::{Actor, Tenant};
use crate::ports::Change;
use crate::state::State;
use coexist_policy::upgrade_policy::validate_tenant_grant;
use coexist_policy::{FederationSettings, Refusal, RefusalCode, RuleId, UpgradePolicy};

impl Directory {
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
}

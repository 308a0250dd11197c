//! Users: creation (argon2 off the async workers), changes, removal, and
//! the per-user upgrade policy grant (R1.3, R1.5).

use super::{Directory, json};
use crate::credentials::Credentials;
use crate::error::{DirectoryError, Result};
use crate::fields::{self, UserFields};
use crate::model::{Actor, Tenant, User};
use crate::ports::Change;
use crate::state::State;
use coexist_policy::upgrade_policy::{effective_policy, validate_user_grant};
use coexist_policy::{Homing, UpgradePolicy, Voice};

impl Directory {
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
            preferred_calling_client: fields::calling_client(
                input
                    .preferred_calling_client
                    .as_ref()
                    .and_then(|c| c.as_deref()),
            )?,
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
        if let Some(choice) = &input.preferred_calling_client {
            after.preferred_calling_client = fields::calling_client(choice.as_deref())?;
        }
        after.credentials = credentials;
        Self::check_unique(&self.read(), &after, false)?;
        Self::check_r1_5(&after, &tenant)?;
        self.commit_user(actor, "set-user", &before, after).await
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
}

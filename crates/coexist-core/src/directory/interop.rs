//! The 2017 TeamsInteropPolicy (R9): named policies and their grants.

use super::{Directory, json};
use crate::error::{DirectoryError, Result};
use crate::model::{Actor, User};
use crate::ports::Change;
use coexist_policy::InteropPolicy;

impl Directory {
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
}

impl Directory {
    /// R9.2: a user chooses their own calling client (or with `None` drops
    /// the choice). Allowed only while their TeamsInteropPolicy has
    /// `AllowEndUserClientOverride`; the audit log names the user.
    pub async fn choose_calling_client(
        &self,
        upn: &str,
        choice: Option<coexist_policy::Client>,
    ) -> Result<User> {
        let _writer = self.writer.lock().await;
        let before = self.user(&Actor::System, upn)?;
        let allowed = before
            .interop_policy
            .as_deref()
            .and_then(|name| self.read().interop_policy(name))
            .is_some_and(|p| p.allow_end_user_client_override);
        if !allowed {
            return Err(DirectoryError::Forbidden(format!(
                "R9.2: only a user whose TeamsInteropPolicy allows it (AllowEndUserClientOverride) may choose their calling client; {}'s policy is {}",
                before.upn,
                before.interop_policy.as_deref().unwrap_or("none")
            )));
        }
        let mut after = User {
            preferred_calling_client: choice,
            ..before.clone()
        };
        after.updated_at = self.clock.now();
        let mut audit = self.audit_entry(
            &Actor::System,
            "set-calling-client",
            Some(&after.tenant),
            &after.upn,
            json(&before),
            json(&after),
        );
        audit.actor = format!("user:{}", after.upn);
        self.store
            .commit(&[Change::PutUser(&after)], &[audit])
            .await?;
        self.write().put_user(after.clone());
        Ok(after)
    }
}

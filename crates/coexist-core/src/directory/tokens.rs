//! Bearer tokens for tenants, and password checks for log-in.

use super::{Directory, json};
use crate::credentials::{random_secret, token_digest};
use crate::error::{DirectoryError, Result};
use crate::model::{Actor, TenantToken, User};
use crate::ports::Change;

impl Directory {
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
}

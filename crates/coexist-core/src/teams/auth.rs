//! Log-in: UPN and password → a bearer token, stored as its SHA-256 digest,
//! expiring, revocable. A token stops working when its user is deleted or
//! no longer enabled for Teams (R2.2). Failed log-ins are throttled per user
//! and per source address.

use super::model::Session;
use super::writer::Op;
use super::{Result, Teams, TeamsError};
use crate::clock::Timestamp;
use crate::credentials::{random_secret, token_digest};
use std::net::IpAddr;

impl Teams {
    /// Checks the password and issues a token: `(token, seconds it works)`.
    pub async fn log_in(
        &self,
        upn: &str,
        password: &str,
        source: Option<IpAddr>,
    ) -> Result<(String, u64)> {
        let upn = upn.trim().to_ascii_lowercase();
        if upn.is_empty() {
            return Err(TeamsError::invalid("upn", "is required"));
        }
        if password.is_empty() {
            return Err(TeamsError::invalid("password", "is required"));
        }
        let keys = [
            (format!("user:{upn}"), self.config.login_failures),
            (
                format!("ip:{}", source.map(|s| s.to_string()).unwrap_or_default()),
                self.config.login_failures.saturating_mul(4),
            ),
        ];
        let now = self.now();
        for (key, limit) in &keys {
            if let Some(wait) = self.throttled(key, *limit, now) {
                return Err(TeamsError::Throttled(wait));
            }
        }
        let user = self.directory.read().user(&upn).cloned();
        let ok = match &user {
            Some(user) if user.teams_enabled => self
                .directory
                .verify_password(&user.upn, password)
                .await
                .unwrap_or(false),
            _ => false,
        };
        let Some(user) = user.filter(|_| ok) else {
            self.fail(&keys, now);
            return Err(TeamsError::BadCredentials);
        };
        self.forget_failures(&keys[0].0);
        let secret = random_secret("cxu_");
        let ttl = self.config.token_ttl;
        let session = Session {
            digest: token_digest(&secret),
            upn: user.upn.clone(),
            created_at: now,
            expires_at: Timestamp(
                now.0
                    .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
            ),
            revoked: false,
        };
        self.writer
            .write(vec![Op::Session(session.clone())])
            .await?;
        let mut sessions = self.write_sessions();
        // Expired sessions leave memory as new ones come (the store keeps
        // them; start-up loads only live ones).
        if sessions.len() >= 4096 && sessions.len().is_power_of_two() {
            sessions.retain(|_, s| s.expires_at > now && !s.revoked);
        }
        sessions.insert(session.digest.clone(), session);
        Ok((secret, ttl.as_secs()))
    }

    /// Whose token this is, if it works now.
    pub fn authenticate(&self, bearer: &str) -> Option<String> {
        let digest = token_digest(bearer);
        let upn = {
            let sessions = self.sessions.read().unwrap_or_else(|p| p.into_inner());
            let session = sessions.get(&digest)?;
            if session.revoked || session.expires_at <= self.now() {
                return None;
            }
            session.upn.clone()
        };
        let state = self.directory.read();
        state
            .user(&upn)
            .filter(|user| user.teams_enabled)
            .map(|user| user.upn.clone())
    }

    /// Revokes a token (log-out).
    pub async fn log_out(&self, bearer: &str) -> Result<()> {
        let digest = token_digest(bearer);
        let session = self
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
            .cloned();
        if let Some(session) = session {
            let revoked = Session {
                revoked: true,
                ..session
            };
            self.writer.write(vec![Op::Session(revoked)]).await?;
            self.write_sessions().remove(&digest);
        }
        Ok(())
    }

    fn write_sessions(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, std::collections::HashMap<String, Session>> {
        self.sessions.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds to wait when `key` has `limit` failures in the window.
    fn throttled(&self, key: &str, limit: u32, now: Timestamp) -> Option<u64> {
        let throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        let (failures, since) = *throttle.get(key)?;
        let window = i64::try_from(self.config.login_window.as_millis()).unwrap_or(i64::MAX);
        let ends = since.0.saturating_add(window);
        (failures >= limit && ends > now.0).then(|| {
            u64::try_from((ends - now.0 + 999) / 1000)
                .unwrap_or(1)
                .max(1)
        })
    }

    fn fail(&self, keys: &[(String, u32)], now: Timestamp) {
        let window = i64::try_from(self.config.login_window.as_millis()).unwrap_or(i64::MAX);
        let mut throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        if throttle.len() > 100_000 {
            throttle.retain(|_, (_, since)| since.0.saturating_add(window) > now.0);
        }
        for (key, _) in keys {
            let entry = throttle.entry(key.clone()).or_insert((0, now));
            if entry.1.0.saturating_add(window) <= now.0 {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    fn forget_failures(&self, key: &str) {
        self.throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

//! Who has a live sfb endpoint, and when their sfb client was last seen:
//! fed by the SIP edge's registration reports, read by the teams side's
//! safety net (`has_live_endpoint`, `last_seen`).

use coexist_core::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One user's sfb endpoints, as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// When the last binding expires (ms since the epoch); 0 when none.
    pub registered_until_ms: u64,
    /// When the sfb client was last seen (ms since the epoch).
    pub last_seen_ms: u64,
    /// Whether a live binding is an IP phone (R6.3).
    pub has_phone: bool,
    /// When what was pending for them was last made due (ms since the
    /// epoch).
    pub due_at_ms: u64,
}

/// While a user stays registered, what is still pending for them (a
/// delivery their client did not answer) is due again at most this often,
/// on a registration refresh or a PUBLISH.
pub const RETRY_WHILE_LIVE: Duration = Duration::from_secs(30);

/// The map of [`Endpoint`]s, by UPN.
#[derive(Debug, Default)]
pub struct Endpoints {
    by_upn: Mutex<HashMap<Box<str>, Endpoint>>,
    /// Bumped whenever someone becomes live or stops being live.
    generation: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl Endpoints {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Endpoint>> {
        self.by_upn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a report: live until `until` (none: no binding left).
    /// True when what was pending for `upn` is due: this makes them live
    /// and they were not (a first registration, or the first since the
    /// last one lapsed), or they stay live and it was last due
    /// [`RETRY_WHILE_LIVE`] ago or more.
    pub fn report(&self, upn: &str, until: Option<Duration>, has_phone: bool) -> bool {
        self.report_at(now_ms(), upn, until, has_phone)
    }

    fn report_at(&self, now: u64, upn: &str, until: Option<Duration>, has_phone: bool) -> bool {
        let mut endpoint = Endpoint {
            registered_until_ms: until.map(|u| u.as_millis() as u64).unwrap_or(0),
            last_seen_ms: now,
            has_phone,
            due_at_ms: 0,
        };
        let live = endpoint.registered_until_ms > now;
        let mut map = self.lock();
        let (was_live, due_at) = map
            .get(upn)
            .map_or((false, 0), |e| (e.registered_until_ms > now, e.due_at_ms));
        let due = live
            && (!was_live || now.saturating_sub(due_at) >= RETRY_WHILE_LIVE.as_millis() as u64);
        endpoint.due_at_ms = if due { now } else { due_at };
        map.insert(upn.into(), endpoint);
        if live != was_live {
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        due
    }

    /// Changes whenever the set of live users may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Who has a binding that has not expired.
    pub fn live(&self) -> Vec<String> {
        let now = now_ms();
        self.lock()
            .iter()
            .filter(|(_, e)| e.registered_until_ms > now)
            .map(|(upn, _)| upn.to_string())
            .collect()
    }

    /// What was last reported of `upn`.
    pub fn get(&self, upn: &str) -> Option<Endpoint> {
        self.lock().get(upn).copied()
    }

    /// Whether `upn` has a binding that has not expired.
    pub fn is_live(&self, upn: &str) -> bool {
        self.get(upn)
            .is_some_and(|e| e.registered_until_ms > now_ms())
    }

    /// Whether one of `upn`'s live bindings is an IP phone (R6.3; the R8.6
    /// lint asks).
    pub fn has_live_phone(&self, upn: &str) -> bool {
        self.get(upn)
            .is_some_and(|e| e.has_phone && e.registered_until_ms > now_ms())
    }

    /// When `upn`'s sfb client was last seen: now while it is live, else the
    /// last report.
    pub fn last_seen(&self, upn: &str) -> Option<Timestamp> {
        let endpoint = self.get(upn)?;
        let now = now_ms();
        let seen = if endpoint.registered_until_ms > now {
            now
        } else {
            endpoint.last_seen_ms
        };
        Some(Timestamp(i64::try_from(seen).unwrap_or(i64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_a_minute() -> Option<Duration> {
        Some(Duration::from_millis(now_ms() + 60_000))
    }

    #[test]
    fn a_report_says_when_someone_becomes_live() {
        let endpoints = Endpoints::default();
        assert!(!endpoints.is_live("a@x.test"));
        let before = endpoints.generation();
        assert!(endpoints.report("a@x.test", in_a_minute(), false));
        assert_eq!(endpoints.live(), ["a@x.test"]);
        assert_ne!(endpoints.generation(), before);
        // A refresh is not news; losing the last binding is not either.
        let before = endpoints.generation();
        assert!(!endpoints.report("a@x.test", in_a_minute(), false));
        assert_eq!(endpoints.generation(), before);
        assert!(endpoints.is_live("a@x.test"));
        assert!(!endpoints.report("a@x.test", None, false));
        assert!(!endpoints.is_live("a@x.test"));
        assert!(endpoints.live().is_empty());
        assert!(endpoints.last_seen("a@x.test").is_some());
        // Registering again is.
        assert!(endpoints.report("a@x.test", in_a_minute(), true));
        assert!(endpoints.get("a@x.test").is_some_and(|e| e.has_phone));
        assert_eq!(endpoints.last_seen("b@x.test"), None);
    }

    #[test]
    fn while_live_pending_deliveries_are_due_again_every_retry_period() {
        let endpoints = Endpoints::default();
        let now = now_ms();
        let until = Some(Duration::from_millis(now + 3_600_000));
        let period = RETRY_WHILE_LIVE.as_millis() as u64;
        assert!(endpoints.report_at(now, "a@x.test", until, false));
        assert!(!endpoints.report_at(now + 1_000, "a@x.test", until, false));
        assert!(!endpoints.report_at(now + period - 1, "a@x.test", until, false));
        assert!(endpoints.report_at(now + period, "a@x.test", until, false));
        assert!(!endpoints.report_at(now + period + 1, "a@x.test", until, false));
        // Gone, then back: due at once.
        assert!(!endpoints.report_at(now + period + 2, "a@x.test", None, false));
        assert!(endpoints.report_at(now + period + 3, "a@x.test", until, false));
    }
}

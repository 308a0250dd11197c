//! Who has a live sfb endpoint, and when their sfb client was last seen:
//! fed by the SIP edge's registration reports, read by the teams side's
//! safety net (`has_live_endpoint`, `last_seen`).

use coexist_core::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;
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
    /// R1.4: whether their upgrade policy notifies sfb users, as last
    /// looked at (when they became live, and at each directory change).
    pub notify_on: bool,
}

/// What a report changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// What was pending for the user is due now.
    pub due: bool,
    /// The user was not live and is now.
    pub became_live: bool,
    /// The user was live and is not any more.
    pub lost_live: bool,
}

/// While a user stays registered, what is still pending for them (a
/// delivery their client did not answer) is due again at most this often,
/// on a registration refresh or a PUBLISH.
pub const RETRY_WHILE_LIVE: Duration = Duration::from_secs(30);

/// The map of [`Endpoint`]s, by UPN.
#[derive(Debug, Default)]
pub struct Endpoints {
    by_upn: Mutex<HashMap<Box<str>, Endpoint>>,
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

    /// Records a report made at `now` (ms since the epoch): live until
    /// `until` (none: no binding left). `due` when what was pending for
    /// `upn` is due: this makes them live and they were not (a first
    /// registration, or the first since the last one lapsed), or they stay
    /// live and it was last due [`RETRY_WHILE_LIVE`] ago or more.
    ///
    /// A registration refresh of a known user updates the entry in place:
    /// one hash lookup, no allocation (the key is copied only for a user
    /// seen for the first time).
    pub fn report(&self, now: u64, upn: &str, until: Option<Duration>, has_phone: bool) -> Report {
        let registered_until_ms = until.map_or(0, |u| u.as_millis() as u64);
        let live = registered_until_ms > now;
        let mut map = self.lock();
        let Some(endpoint) = map.get_mut(upn) else {
            map.insert(
                upn.into(),
                Endpoint {
                    registered_until_ms,
                    last_seen_ms: now,
                    has_phone,
                    due_at_ms: if live { now } else { 0 },
                    notify_on: false,
                },
            );
            return Report {
                due: live,
                became_live: live,
                lost_live: false,
            };
        };
        let was_live = endpoint.registered_until_ms > now;
        let due = live
            && (!was_live
                || now.saturating_sub(endpoint.due_at_ms) >= RETRY_WHILE_LIVE.as_millis() as u64);
        endpoint.registered_until_ms = registered_until_ms;
        endpoint.last_seen_ms = now;
        endpoint.has_phone = has_phone;
        if due {
            endpoint.due_at_ms = now;
        }
        Report {
            due,
            became_live: live && !was_live,
            lost_live: was_live && !live,
        }
    }

    /// Records `upn`'s R1.4 flag as looked at now.
    pub fn set_notify(&self, upn: &str, on: bool) {
        if let Some(endpoint) = self.lock().get_mut(upn) {
            endpoint.notify_on = on;
        }
    }

    /// R1.4 after a directory change: `flag` tells each live user's flag
    /// now; the users whose flag went from off to on are returned (they are
    /// to be told), and every live user's flag is recorded. One pass over
    /// the map, nothing kept for users who are not live.
    pub fn notify_turned_on(&self, flag: impl Fn(&str) -> bool) -> Vec<String> {
        let now = now_ms();
        let mut turned_on = Vec::new();
        for (upn, endpoint) in self.lock().iter_mut() {
            if endpoint.registered_until_ms <= now {
                continue;
            }
            let on = flag(upn);
            if on && !endpoint.notify_on {
                turned_on.push(upn.to_string());
            }
            endpoint.notify_on = on;
        }
        turned_on
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn in_a_minute() -> Option<Duration> {
        Some(Duration::from_millis(now_ms() + 60_000))
    }

    #[test]
    fn a_report_says_when_someone_becomes_live() {
        let endpoints = Endpoints::default();
        assert!(!endpoints.is_live("a@x.test"));
        assert!(
            endpoints
                .report(now_ms(), "a@x.test", in_a_minute(), false)
                .became_live
        );
        assert!(endpoints.is_live("a@x.test"));
        // A refresh is not news; losing the last binding is not either.
        assert!(
            !endpoints
                .report(now_ms(), "a@x.test", in_a_minute(), false)
                .became_live
        );
        assert!(endpoints.is_live("a@x.test"));
        let gone = endpoints.report(now_ms(), "a@x.test", None, false);
        assert!(!gone.became_live && gone.lost_live);
        assert!(
            !endpoints
                .report(now_ms(), "a@x.test", None, false)
                .lost_live
        );
        assert!(!endpoints.is_live("a@x.test"));
        assert!(endpoints.last_seen("a@x.test").is_some());
        // Registering again is.
        assert!(
            endpoints
                .report(now_ms(), "a@x.test", in_a_minute(), true)
                .became_live
        );
        assert!(endpoints.get("a@x.test").is_some_and(|e| e.has_phone));
        assert_eq!(endpoints.last_seen("b@x.test"), None);
    }

    #[test]
    fn while_live_pending_deliveries_are_due_again_every_retry_period() {
        let endpoints = Endpoints::default();
        let now = now_ms();
        let until = Some(Duration::from_millis(now + 3_600_000));
        let period = RETRY_WHILE_LIVE.as_millis() as u64;
        let due = |at: u64, until| endpoints.report(at, "a@x.test", until, false).due;
        assert!(due(now, until));
        assert!(!due(now + 1_000, until));
        assert!(!due(now + period - 1, until));
        assert!(due(now + period, until));
        assert!(!due(now + period + 1, until));
        // Gone, then back: due at once.
        assert!(!due(now + period + 2, None));
        assert!(due(now + period + 3, until));
    }

    #[test]
    fn r6_3_a_refresh_of_a_known_user_updates_phone_and_last_seen_in_place() {
        let endpoints = Endpoints::default();
        let now = now_ms();
        let until = Some(Duration::from_millis(now + 3_600_000));
        endpoints.report(now, "a@x.test", until, true);
        endpoints.set_notify("a@x.test", true);
        assert!(endpoints.has_live_phone("a@x.test"));
        // The phone's binding is gone, another stays (R6.3, R8.6).
        let refresh = endpoints.report(now + 5_000, "a@x.test", until, false);
        assert!(!refresh.due && !refresh.became_live && !refresh.lost_live);
        assert!(!endpoints.has_live_phone("a@x.test"));
        let endpoint = endpoints.get("a@x.test").unwrap();
        assert_eq!(endpoint.last_seen_ms, now + 5_000);
        // What the refresh does not report is kept (R1.4, the retry time).
        assert!(endpoint.notify_on);
        assert_eq!(endpoint.due_at_ms, now);
    }

    #[test]
    fn r1_4_a_flag_that_turns_on_for_a_live_user_is_told_once() {
        let endpoints = Endpoints::default();
        endpoints.report(now_ms(), "on@x.test", in_a_minute(), false);
        endpoints.report(now_ms(), "off@x.test", in_a_minute(), false);
        endpoints.report(now_ms(), "gone@x.test", None, false);
        // Registered with the flag on: the registration told them.
        endpoints.set_notify("on@x.test", true);
        let turned = endpoints.notify_turned_on(|_| true);
        assert_eq!(turned, ["off@x.test"]);
        assert!(endpoints.notify_turned_on(|_| true).is_empty());
        // Off, then on again: told again.
        assert!(
            endpoints
                .notify_turned_on(|upn| upn != "off@x.test")
                .is_empty()
        );
        assert_eq!(endpoints.notify_turned_on(|_| true), ["off@x.test"]);
        // A refresh keeps what was looked at.
        endpoints.report(now_ms(), "off@x.test", in_a_minute(), false);
        assert!(endpoints.notify_turned_on(|_| true).is_empty());
    }
}

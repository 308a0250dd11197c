//! REGISTER (RFC 3261 §10.3): authenticated with digest (401), several
//! contacts per user, expiry, un-register (`Expires: 0`, `Contact: *`),
//! contacts marked as IP phones by User-Agent (R6.3).

use crate::directory::SipUser;
use crate::engine::{Engine, Pending, contains_ignoring_case, push_number};
use crate::headers::{NameAddrRef, address_of_record};
use crate::message::SipMessage;
use crate::registrar::Binding;
use crate::transport::Peer;
use std::time::Duration;

/// R1.4: the notice an sfb client gets when its user's upgrade policy has
/// `NotifySfbUsers` (on registration here; the interop wiring sends it too
/// when the policy is granted while the user is registered).
pub const UPGRADE_NOTICE: &str = "Your organisation is upgrading you to Microsoft Teams: Teams will \
                                  replace Skype for Business for your chats and calls. (R1.4)";

impl Engine {
    pub(crate) fn on_register(&mut self, now: Duration, peer: Peer, request: SipMessage) {
        // The address of record is the To URI (§10.3 step 5), a sip URI.
        let aor = request.header("To").and_then(address_of_record);
        let Some(aor) = aor else {
            let response =
                request.response(400, "Bad Request (To is not a SIP address of record)", None);
            self.reply(now, &request, response);
            return;
        };
        let user = match self.authenticate_as(now, peer, &request, true, &aor) {
            Ok(user) => user,
            Err(response) => {
                self.reply(now, &request, response);
                return;
            }
        };
        if user.upn != aor {
            let response = request.response(403, "Forbidden", None);
            self.reply(now, &request, response);
            return;
        }
        let was_registered = self.registrar.is_registered(&aor, now);
        let default_expires = request
            .header("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok())
            .unwrap_or(3600);
        let call_id = request.call_id().unwrap_or("");
        let cseq = request.cseq().map(|(n, _)| n).unwrap_or(0);
        // R6.3: the User-Agent only decides this; it is not kept.
        let is_phone = request.header("User-Agent").is_some_and(|ua| {
            self.config
                .phone_user_agents
                .iter()
                .any(|pattern| contains_ignoring_case(ua, pattern))
        });

        // `Contact: *` removes everything, and only with Expires: 0 (§10.3 step 6).
        if request.header_items("Contact").any(|c| c.trim() == "*") {
            if request.header_items("Contact").count() != 1 || default_expires != 0 {
                let response = request.response(400, "Bad Request (wildcard Contact)", None);
                self.reply(now, &request, response);
                return;
            }
            self.registrar.remove_all(&aor);
        } else {
            for value in request.header_items("Contact") {
                let Some(contact) = NameAddrRef::parse(value) else {
                    let response = request.response(400, "Bad Request (Contact)", None);
                    self.reply(now, &request, response);
                    return;
                };
                let expires = contact
                    .param("expires")
                    .and_then(|e| e.parse::<u32>().ok())
                    .unwrap_or(default_expires);
                if expires == 0 {
                    self.registrar.remove(&aor, contact.uri);
                    continue;
                }
                if expires < self.config.min_expires {
                    let mut response = request.response(423, "Interval Too Brief", None);
                    response.push("Min-Expires", self.config.min_expires.to_string());
                    self.reply(now, &request, response);
                    return;
                }
                let expires = expires.min(self.config.max_expires);
                let accepted = self.registrar.upsert(
                    &aor,
                    Binding {
                        contact: contact.uri.into(),
                        source: peer,
                        expires_at_ms: now.as_millis() as u64 + u64::from(expires) * 1000,
                        call_id: call_id.into(),
                        cseq,
                        is_phone,
                    },
                );
                if !accepted {
                    let response =
                        request.response(500, "Server Internal Error (CSeq out of order)", None);
                    self.reply(now, &request, response);
                    return;
                }
            }
        }

        let tag = self.token();
        let mut ok = request.response(200, "OK", Some(&tag));
        for binding in self.registrar.contacts(&aor, now) {
            // `<uri>;expires=N`, written without `format!`.
            let mut value = String::with_capacity(binding.contact.len() + 20);
            value.push('<');
            value.push_str(&binding.contact);
            value.push_str(">;expires=");
            push_number(
                &mut value,
                u32::try_from(binding.remaining(now)).unwrap_or(u32::MAX),
            );
            ok.push("Contact", value);
        }
        self.reply(now, &request, ok);
        // The teams side learns every refresh: it keeps "last seen" and
        // "live" for the safety net and R7.3.
        self.sfb_state_changed(now, &aor);
        if was_registered != self.registrar.is_registered(&aor, now) {
            // R7.3: a first or last live endpoint changes what watchers see.
            self.presence_changed(now, &aor);
            if !was_registered && user.notify {
                self.notify_upgrade(now, &user);
            }
        }
    }

    /// R1.4: a user whose upgrade policy has `NotifySfbUsers` is told, on
    /// their sfb client, that Teams will replace it: a MESSAGE from the
    /// system sender `sip:coexist@DOMAIN` (API.md) when they register.
    fn notify_upgrade(&mut self, now: Duration, user: &SipUser) {
        let tag = self.token();
        let from = format!("<sip:coexist@{}>;tag={tag}", user.realm);
        let text = UPGRADE_NOTICE;
        self.deliver_message(
            now,
            &format!("coexist@{}", user.realm),
            &user.upn,
            &from,
            "text/plain;charset=utf-8",
            bytes::Bytes::from_static(text.as_bytes()),
            Pending::Fire,
        );
    }
}

//! The phone network (R6) at the SIP edge: a tenant's PSTN gateway is a
//! SIP peer (`PUT /v1/tenants/{t}/peers/pstn/{name}` with its address).
//!
//! - Inbound: an INVITE from the gateway's address needs no user auth; its
//!   Request-URI names a number (`sip:+15551234@domain;user=phone`) whose
//!   owner it reaches where R6.1/R6.2 (R9.1 for a legacy-policy user) land
//!   it: sfb through the B2BUA, teams through [`crate::teams_calls`] (R6.3:
//!   then no sfb contact, IP phone or not, rings).
//! - Anyone else calling a number must be an authenticated sfb user: a
//!   number a user has is that user (R3.6 routes it like a chat); any other
//!   number goes out to the caller's tenant's gateway if R6.4 allows.
//!   A request to a number whose From is not one of our users and that does
//!   not come from a gateway is refused 403.
//!
//! A gateway is known by its addresses: its IP, or what its host name
//! resolved to when it was configured or the server started (the SIP edge
//! itself does no DNS). Over UDP its requests must come from one of them,
//! port included; over TCP (`"transport": "tcp"`) from one of their IPs,
//! since connections come from any port. Numbers come as `sip:+1555…@domain;user=phone` or as
//! RFC 3966 `tel:+1555…` Request-URIs, alike; a `tel:` URI that is not a
//! global (E.164) number is answered 404.

use crate::engine::Engine;
use crate::headers::{NameAddr, SipUri, uri_scheme};
use crate::im::Landing;
use crate::message::SipMessage;
use crate::transport::Peer;
use coexist_policy::Client;
use std::time::Duration;

/// An E.164 number from a URI's user part (visual separators dropped):
/// `+` and 7–15 digits.
pub fn number_of(uri: &str) -> Option<String> {
    let user = match SipUri::parse(uri) {
        Some(uri) => uri.user?,
        None => uri
            .trim()
            .strip_prefix("tel:")?
            .split(';')
            .next()?
            .to_owned(),
    };
    let digits: String = user
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect();
    let rest = digits.strip_prefix('+')?;
    ((7..=15).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl Engine {
    /// The gateway contact for a call from `from_upn` to `number`: the
    /// callee as written in the fork (`number@gateway`) and where it goes.
    pub(crate) fn gateway_target(
        &self,
        from_upn: &str,
        number: &str,
    ) -> Option<(String, (String, Peer))> {
        let tenant = self.directory.user(from_upn)?.tenant;
        let gateway = self.directory.pstn_gateway_of(&tenant)?;
        let transport = match gateway.transport {
            crate::transport::Transport::Tcp => ";transport=tcp",
            crate::transport::Transport::Udp => "",
        };
        let at = gateway.addr;
        Some((
            format!("{number}@{at}"),
            (format!("sip:{number}@{at};user=phone{transport}"), gateway),
        ))
    }

    /// How `upn` is written in the From of a call to the phone network:
    /// their number at their domain when they have one (the caller id the
    /// gateway passes on), else their address.
    pub(crate) fn caller_id(&self, upn: &str) -> String {
        match self.directory.phone_number(upn) {
            Some(number) => {
                let domain = upn.rsplit_once('@').map_or("", |(_, d)| d);
                format!("{number}@{domain}")
            }
            None => upn.to_owned(),
        }
    }

    /// An INVITE to or from the phone network; false when it is neither
    /// (the ordinary B2BUA path takes it).
    pub(crate) fn pstn_invite(&mut self, now: Duration, peer: Peer, request: &SipMessage) -> bool {
        let number = request.uri().and_then(number_of);
        if let Some(tenant) = self.directory.pstn_gateway_at(peer.addr) {
            self.call_from_gateway(now, peer, request, &tenant, number);
            return true;
        }
        let Some(number) = number else {
            // A `tel:` URI that is no E.164 number (a local number, RFC 3966
            // §5.1.5): nobody here has it, and no gateway dials it.
            if request
                .uri()
                .is_some_and(|u| uri_scheme(u).as_deref() == Some("tel"))
            {
                let missing =
                    request.response(404, "Not Found (only E.164 numbers are dialled)", None);
                self.reply(now, request, missing);
                return true;
            }
            return false;
        };
        let from_local = request
            .header("From")
            .and_then(NameAddr::parse)
            .and_then(|a| SipUri::parse(&a.uri))
            .is_some_and(|u| self.directory.is_local_domain(&u.host));
        if !from_local {
            let refused = request.response(
                403,
                "Forbidden (calls from the phone network come from the tenant's PSTN gateway)",
                None,
            );
            self.reply(now, request, refused);
            return true;
        }
        let from = match self.authenticate(now, peer, request, false) {
            Ok(from) => from,
            Err(response) => {
                self.reply(now, request, response);
                return true;
            }
        };
        if let Some(owner) = self.directory.number_owner(&number) {
            // A colleague's number is the colleague (R3.6).
            match self.decide_call(now, &from, &owner) {
                Err(refusal) => {
                    let refused = self.refusal_response(request, refusal);
                    self.reply(now, request, refused);
                }
                Ok(Landing::Teams) => {
                    self.invite_to_teams(now, peer, request, &from.upn, &owner.upn, false);
                }
                Ok(Landing::Sfb) => {
                    let contacts = self.registrar.targets(&owner.upn, now);
                    self.start_b2bua(now, peer, request.clone(), &from.upn, &owner.upn, contacts);
                }
            }
            return true;
        }
        if let Err(refusal) = self.directory.pstn_outbound(&from.upn) {
            let refused = self.refusal_response(request, refusal);
            self.reply(now, request, refused);
            return true;
        }
        match self.gateway_target(&from.upn, &number) {
            Some((to, contact)) => {
                let from_id = self.caller_id(&from.upn);
                self.start_b2bua(now, peer, request.clone(), &from_id, &to, vec![contact]);
            }
            None => {
                let refused = request.response(
                    503,
                    "Service Unavailable (no PSTN gateway for this tenant)",
                    None,
                );
                self.reply(now, request, refused);
            }
        }
        true
    }

    /// R6.1/R6.2 (R9.1): an INVITE from `tenant`'s gateway.
    fn call_from_gateway(
        &mut self,
        now: Duration,
        peer: Peer,
        request: &SipMessage,
        tenant: &str,
        number: Option<String>,
    ) {
        let owner = number
            .as_deref()
            .and_then(|n| self.directory.number_owner(n))
            .filter(|u| u.tenant == tenant);
        let Some(owner) = owner else {
            let missing = request.response(
                404,
                "Not Found (no user of this tenant has this number)",
                None,
            );
            self.reply(now, request, missing);
            return;
        };
        // The caller's number, from a `sip:+…@gw` or a `tel:+…` From.
        let caller = request
            .header("From")
            .and_then(NameAddr::parse)
            .and_then(|a| number_of(&a.uri))
            .unwrap_or_else(|| "anonymous".to_owned());
        match self.directory.pstn_inbound(&owner.upn) {
            Err(refusal) => {
                let refused = self.refusal_response(request, refusal);
                self.reply(now, request, refused);
            }
            Ok(Client::Teams) => {
                self.invite_to_teams(now, peer, request, &caller, &owner.upn, true);
            }
            Ok(Client::Sfb) => {
                let contacts = self.registrar.targets(&owner.upn, now);
                let from_id = format!("{caller}@{}", owner.realm);
                self.start_b2bua(now, peer, request.clone(), &from_id, &owner.upn, contacts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::number_of;

    #[test]
    fn r6_numbers_come_from_sip_and_tel_uris() {
        assert_eq!(
            number_of("sip:+15551234@contoso.test;user=phone").as_deref(),
            Some("+15551234")
        );
        assert_eq!(
            number_of("tel:+1-555-1234;phone-context=x").as_deref(),
            Some("+15551234")
        );
        assert_eq!(number_of("sip:alice@contoso.test"), None);
        assert_eq!(number_of("sip:+12@contoso.test"), None);
        assert_eq!(number_of("sip:+1555abc1234@contoso.test"), None);
    }
}

//! Calls across clients (issue 6, part 3) and the PSTN gateway (part 5):
//! the teams side's call legs that land on sfb, through the SIP edge's
//! B2BUA. Until built, a call to an sfb callee fails at once rather than
//! ringing forever.

use coexist_core::Teams;
use coexist_core::teams::ports::SfbCall;
use coexist_core::teams::{Call, SfbCallProgress};
use coexist_sip::SipHandle;
use std::sync::{Arc, OnceLock, Weak};

/// The bridge between teams calls and SIP calls.
#[derive(Debug)]
pub struct CallBridge {
    #[allow(dead_code)]
    sip: SipHandle,
    teams: OnceLock<Weak<Teams>>,
}

impl CallBridge {
    /// A bridge over `sip`.
    pub fn new(sip: SipHandle) -> CallBridge {
        CallBridge {
            sip,
            teams: OnceLock::new(),
        }
    }

    /// Closes the loop once the teams side is open.
    pub fn attach(&self, teams: &Arc<Teams>) {
        let _ = self.teams.set(Arc::downgrade(teams));
    }

    fn teams(&self) -> Option<Arc<Teams>> {
        self.teams.get().and_then(Weak::upgrade)
    }

    /// A teams caller's leg that lands on sfb (or a phone number).
    pub fn place_call(&self, call: SfbCall) {
        let Some(teams) = self.teams() else { return };
        tokio::spawn(async move {
            let _ = teams
                .record_sfb_call(&call.call_id, SfbCallProgress::Failed)
                .await;
        });
    }

    /// A call with an sfb party changed on the teams side.
    pub fn call_changed(&self, _call: &Call) {}
}

//! A `RuleTrail` drops steps past its capacity (so routing never
//! allocates); this walks every decision the crate makes and checks none
//! comes near it, so no step is ever lost from an explanation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::legacy::route_legacy_call;
use coexist_policy::matrix::cell_conversations;
use coexist_policy::pstn::{PstnCallee, route_pstn_inbound};
use coexist_policy::threads::SFB_SESSION_IDLE_LIMIT;
use coexist_policy::{
    Client, DefaultClient, Enablement, FederationStatus, Homing, InteropPolicy, LegacyCaller,
    LegacyCalling, Method, Mode, Note, Reach, RuleTrail, SfbSession, ThreadContinuation,
    ThreadParty, Topology, Verdict, Voice, continue_thread, route, route_call, route_sfb_reply,
};
use std::time::Duration;

fn assert_room(verdict: &Verdict, context: &str) {
    assert!(
        verdict.trail.len() < RuleTrail::CAPACITY,
        "{context}: {} steps fill the trail ({verdict})",
        verdict.trail.len()
    );
    assert!(
        !verdict.trail.is_empty(),
        "{context}: a decision names its rules"
    );
}

#[test]
fn no_decision_fills_the_rule_trail() {
    let reaches = [
        Reach::InTenant(Topology::Online),
        Reach::InTenant(Topology::OnPrem),
        Reach::Federated(FederationStatus::Allowed),
        Reach::Federated(FederationStatus::NotAllowed(Note::FederationSettingsForbid)),
        Reach::Federated(FederationStatus::CrossCloud),
    ];
    let enablements = [
        Enablement {
            teams: true,
            sfb: true,
        },
        Enablement {
            teams: false,
            sfb: false,
        },
    ];
    let mut decisions = 0;
    for (_, base) in cell_conversations() {
        for reach in reaches {
            for enabled in enablements {
                let mut c = base;
                c.reach = reach;
                c.to.enabled = enabled;
                assert_room(&route(&c), "route");
                for calling in DefaultClient::ALL {
                    let legacy = LegacyCalling {
                        policy: InteropPolicy {
                            chat_default_client: DefaultClient::Default,
                            calling_default_client: *calling,
                            allow_end_user_client_override: true,
                        },
                        user_choice: Some(Client::Sfb),
                    };
                    assert_room(&route_call(&c, Some(legacy)), "R9.1 call between users");
                    decisions += 1;
                }
                let expired = SfbSession {
                    last_traffic: Duration::ZERO,
                    reply_lands_on: Client::Teams,
                    method: Method::Interop,
                };
                let reply = route_sfb_reply(
                    Some(&expired),
                    SFB_SESSION_IDLE_LIMIT,
                    SFB_SESSION_IDLE_LIMIT,
                    &c,
                );
                assert_room(&reply, "sfb reply after expiry");
                decisions += 2;
            }
        }
    }
    for method in [Method::Native, Method::Interop, Method::Federated] {
        for reach in reaches {
            for (sender, recipient) in [
                (Mode::Islands, Mode::TeamsOnly),
                (Mode::SfBOnly, Mode::Islands),
            ] {
                for homing in Homing::ALL {
                    for (a, b) in [(Client::Teams, Client::Sfb), (Client::Teams, Client::Teams)] {
                        let party = |mode, client| ThreadParty {
                            mode,
                            homing: *homing,
                            enabled: Enablement::default(),
                            client,
                        };
                        let t = ThreadContinuation {
                            method,
                            sender: party(sender, a),
                            recipient: party(recipient, b),
                            reach,
                        };
                        assert_room(&continue_thread(&t), "continue_thread");
                        decisions += 1;
                    }
                }
            }
        }
    }
    let allow = InteropPolicy {
        chat_default_client: DefaultClient::Teams,
        calling_default_client: DefaultClient::Default,
        allow_end_user_client_override: true,
    };
    for mode in Mode::ALL {
        for voice in Voice::ALL {
            let callee = PstnCallee {
                mode: *mode,
                homing: Homing::Online,
                voice: *voice,
                enabled: Enablement::default(),
                legacy: Some(coexist_policy::pstn::LegacyCalling {
                    policy: allow,
                    user_choice: Some(Client::Teams),
                }),
            };
            assert_room(&route_pstn_inbound(&callee), "pstn inbound");
            decisions += 1;
        }
    }
    for caller in LegacyCaller::ALL {
        assert_room(
            &route_legacy_call(*caller, allow, Some(Client::Sfb)),
            "legacy call",
        );
        decisions += 1;
    }
    assert!(decisions > 2000, "walked {decisions} decisions");
}

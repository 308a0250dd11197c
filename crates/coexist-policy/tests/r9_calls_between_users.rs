//! R9.1/R9.2 for calls between users (`route_call`): a legacy-policy
//! callee in Islands is reached by their CallingDefaultClient (or their own
//! choice), with the R3 checks of that landing still in force; everyone
//! else, and every chat, by R3.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::legacy::built_in_interop_policy;
use coexist_policy::matrix::{cell_conversations, legacy_calling_cells, table_conversation};
use coexist_policy::{
    Client, DefaultClient, FederationStatus, Homing, InteropPolicy, LegacyCaller, LegacyCalling,
    Method, Mode, NewConversation, Note, Reach, RefusalCode, RuleId, Scope, Topology, Verdict,
    route, route_call,
};

fn policy(calling: DefaultClient, allow: bool) -> InteropPolicy {
    InteropPolicy {
        chat_default_client: DefaultClient::Default,
        calling_default_client: calling,
        allow_end_user_client_override: allow,
    }
}

fn legacy(calling: DefaultClient) -> Option<LegacyCalling> {
    Some(LegacyCalling {
        policy: policy(calling, false),
        user_choice: None,
    })
}

/// An in-tenant (hybrid) call from an Islands user on `client`, online, to
/// an Islands user.
fn call(client: Client) -> NewConversation {
    table_conversation(
        Scope::InTenant,
        Mode::Islands,
        client,
        Homing::Online,
        Mode::Islands,
    )
}

fn lands(verdict: &Verdict) -> (Option<Client>, Option<Method>) {
    (verdict.lands_on(), verdict.method())
}

/// The refusal's code and rule.
fn refused(c: &NewConversation, legacy: Option<LegacyCalling>) -> (RefusalCode, RuleId) {
    let refusal = route_call(c, legacy).refusal().unwrap();
    (refusal.code, refusal.rule)
}

fn rules(verdict: &Verdict) -> Vec<&'static str> {
    verdict.trail.rules().map(RuleId::as_str).collect()
}

#[test]
fn r9_1_the_callees_calling_default_client_overrides_r3_from_either_client() {
    // A teams caller reaches a calling-sfb user on sfb; an sfb caller a
    // calling-teams user on teams: interop both, where R3 (1a) would have
    // kept the caller's client.
    for (from, calling, lands_on) in [
        (Client::Teams, DefaultClient::SfB, Client::Sfb),
        (Client::Sfb, DefaultClient::Teams, Client::Teams),
    ] {
        let v = route_call(&call(from), legacy(calling));
        assert_eq!(lands(&v), (Some(lands_on), Some(Method::Interop)));
        assert_eq!(rules(&v), ["R9.1", "R3.3"]);
        assert_eq!(route(&call(from)).lands_on(), Some(from));
    }
}

#[test]
fn r9_1_every_in_tenant_row_and_default_lands_as_the_table_says() {
    for cell in legacy_calling_cells() {
        let client = match cell.caller {
            LegacyCaller::Sfb => Client::Sfb,
            LegacyCaller::Teams => Client::Teams,
            LegacyCaller::Pstn | LegacyCaller::FederatedSfb => continue,
        };
        let v = route_call(&call(client), legacy(cell.calling_default_client));
        assert_eq!(v.lands_on(), Some(cell.lands_on), "{cell:?}: {v}");
        let expected = if client == cell.lands_on {
            Method::Native
        } else {
            Method::Interop
        };
        assert_eq!(v.method(), Some(expected), "{cell:?}");
    }
}

#[test]
fn r9_1_federated_callers_are_the_federated_sfb_row_and_r3_4_still_applies() {
    for client in [Client::Teams, Client::Sfb] {
        for calling in DefaultClient::ALL {
            let mut c = call(client);
            c.reach = Reach::Federated(FederationStatus::Allowed);
            let v = route_call(&c, legacy(*calling));
            assert_eq!(lands(&v), (Some(Client::Sfb), Some(Method::Federated)));
            assert_eq!(rules(&v), ["R9.1", "R3.4"], "{client} → {calling}");
            c.reach =
                Reach::Federated(FederationStatus::NotAllowed(Note::FederationSettingsForbid));
            assert_eq!(
                refused(&c, legacy(*calling)),
                (RefusalCode::FederationNotAllowed, RuleId::R3_4)
            );
        }
    }
    assert_eq!(
        LegacyCaller::of(Client::Teams, Scope::Federated),
        LegacyCaller::FederatedSfb
    );
}

#[test]
fn r9_2_the_users_own_calling_client_replaces_the_default_only_when_allowed() {
    let allow = built_in_interop_policy("AllowOverrideCallingDefaultChatTeams").unwrap();
    let chose = |choice| {
        Some(LegacyCalling {
            policy: allow,
            user_choice: choice,
        })
    };
    // Default: sfb → sfb; their choice of teams flips it.
    assert_eq!(
        route_call(&call(Client::Sfb), chose(None)).lands_on(),
        Some(Client::Sfb)
    );
    let v = route_call(&call(Client::Sfb), chose(Some(Client::Teams)));
    assert_eq!(lands(&v), (Some(Client::Teams), Some(Method::Interop)));
    assert_eq!(rules(&v), ["R9.2", "R9.1", "R3.3"]);
    // Default: teams → teams; their choice of sfb flips it.
    let v = route_call(&call(Client::Teams), chose(Some(Client::Sfb)));
    assert_eq!(lands(&v), (Some(Client::Sfb), Some(Method::Interop)));
    // A policy that does not allow it ignores the choice.
    let disallow = Some(LegacyCalling {
        policy: policy(DefaultClient::SfB, false),
        user_choice: Some(Client::Teams),
    });
    let v = route_call(&call(Client::Sfb), disallow);
    assert_eq!(lands(&v), (Some(Client::Sfb), Some(Method::Native)));
    assert!(!v.trail.contains(RuleId::R9_2));
}

#[test]
fn r9_1_a_landing_chosen_by_the_policy_keeps_the_r3_checks() {
    // R3.2: a teams caller homed onprem cannot reach sfb by interop.
    let mut c = call(Client::Teams);
    c.from.homing = Homing::OnPrem;
    assert_eq!(
        refused(&c, legacy(DefaultClient::SfB)),
        (RefusalCode::OriginatorHomedOnPrem, RuleId::R3_2)
    );
    // teams → teams stays possible for them (R3.2).
    assert_eq!(
        route_call(&c, legacy(DefaultClient::Teams)).lands_on(),
        Some(Client::Teams)
    );
    // R3.3: no in-tenant interop in a purely onprem tenant.
    let mut c = call(Client::Sfb);
    c.reach = Reach::InTenant(Topology::OnPrem);
    assert_eq!(
        refused(&c, legacy(DefaultClient::Teams)),
        (RefusalCode::TenantNotHybrid, RuleId::R3_3)
    );
    // R10.1: the callee must be enabled for the client it lands on.
    let mut c = call(Client::Sfb);
    c.to.enabled.teams = false;
    assert_eq!(
        refused(&c, legacy(DefaultClient::Teams)),
        (RefusalCode::RecipientClientNotEnabled, RuleId::R10_1)
    );
    // R2.1: the originator's mode still decides which client may call.
    let mut c = call(Client::Teams);
    c.from.mode = Mode::SfBOnly;
    assert_eq!(
        refused(&c, legacy(DefaultClient::Teams)),
        (RefusalCode::ClientDisabledByMode, RuleId::R2_1)
    );
}

#[test]
fn r9_1_only_islands_callees_are_routed_by_the_legacy_policy_and_r3_6_otherwise() {
    // Every cell of tables 1a–2c: without a legacy policy, and for a callee
    // whose mode is not Islands even with one, a call routes like a chat.
    for (cell, conversation) in cell_conversations() {
        assert_eq!(
            route_call(&conversation, None),
            route(&conversation),
            "{cell:?}"
        );
        if conversation.to.mode != Mode::Islands {
            for calling in DefaultClient::ALL {
                assert_eq!(
                    route_call(&conversation, legacy(*calling)),
                    route(&conversation),
                    "{cell:?} {calling}"
                );
            }
        }
    }
}

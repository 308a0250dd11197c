//! R8 over the real directory with what the sfb side knows: R8.6 names the
//! users whose calls land in teams and who have an SfB IP phone (R6.3);
//! a legacy user's own calling client (R9.2) is what lint judges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_core::{
    Actor, Directory, ManualClock, MemoryStore, TenantFields, Timestamp, UserFields,
};
use coexist_policy::lint::Finding;
use std::sync::Arc;

async fn directory() -> Directory {
    let clock = Arc::new(ManualClock::new(Timestamp(1_795_331_100_000)));
    let dir = Directory::open(Arc::new(MemoryStore::default()), clock, "admin")
        .await
        .unwrap();
    dir.create_tenant(
        &Actor::Admin,
        TenantFields {
            name: Some("contoso".into()),
            domains: Some(vec!["contoso.test".into()]),
            ..TenantFields::default()
        },
    )
    .await
    .unwrap();
    for (upn, voice) in [
        ("olga@contoso.test", "online"),
        ("sue@contoso.test", "online"),
        ("hank@contoso.test", "hybrid"),
    ] {
        dir.create_user(
            &Actor::Admin,
            "contoso",
            UserFields {
                upn: Some(upn.into()),
                voice: Some(voice.into()),
                ..UserFields::default()
            },
        )
        .await
        .unwrap();
    }
    dir.grant_user_policy(
        &Actor::Admin,
        "olga@contoso.test",
        Some(coexist_policy::UpgradePolicy::UpgradeToTeams),
    )
    .await
    .unwrap();
    dir
}

fn finding<'a>(findings: &'a [Finding], rule: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.rule.as_str() == rule)
}

#[tokio::test]
async fn r8_6_names_users_whose_calls_land_in_teams_and_who_have_an_ip_phone() {
    let dir = directory().await;
    // Nobody has a phone: no R8.6.
    let (_, findings) = dir.lint(&Actor::Admin, "contoso", |_| false).unwrap();
    assert!(finding(&findings, "R8.6").is_none(), "{findings:?}");
    // olga (TeamsOnly, R6.1 → teams) and sue (Islands → sfb) have phones:
    // only olga's stops ringing.
    let phones = ["olga@contoso.test", "sue@contoso.test"];
    let (_, findings) = dir
        .lint(&Actor::Admin, "contoso", |upn| phones.contains(&upn))
        .unwrap();
    let r8_6 = finding(&findings, "R8.6").unwrap();
    assert_eq!(r8_6.users, ["olga@contoso.test"]);
    assert_eq!(r8_6.code, "IpPhonesWillStopRinging");
}

#[tokio::test]
async fn r9_2_lint_judges_a_legacy_users_own_calling_client() {
    let dir = directory().await;
    dir.grant_interop_policy(
        &Actor::Admin,
        "hank@contoso.test",
        Some("AllowOverrideCallingDefaultChatTeams"),
    )
    .await
    .unwrap();
    // R9.1 Default: hank's calls land on sfb; his hybrid voice is fine.
    let (_, findings) = dir.lint(&Actor::Admin, "contoso", |_| true).unwrap();
    assert!(finding(&findings, "R8.2").is_none(), "{findings:?}");
    // R9.2: he chooses teams; his hybrid voice calls would land there (R8.2),
    // and his IP phone stops ringing (R8.6).
    dir.patch_user(
        &Actor::Admin,
        "hank@contoso.test",
        UserFields {
            preferred_calling_client: Some(Some("teams".into())),
            ..UserFields::default()
        },
    )
    .await
    .unwrap();
    let (_, findings) = dir.lint(&Actor::Admin, "contoso", |_| true).unwrap();
    assert_eq!(
        finding(&findings, "R8.2").unwrap().users,
        ["hank@contoso.test"]
    );
    assert!(
        finding(&findings, "R8.6")
            .unwrap()
            .users
            .contains(&"hank@contoso.test".to_owned())
    );
}

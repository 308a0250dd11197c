//! The directory over the in-memory reference store: grants (R1.3, R1.5),
//! explain (R3), lint (R8), import, access.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_core::import::ImportReport;
use coexist_core::{
    Actor, Directory, DirectoryError, ManualClock, MemoryStore, TenantFields, Timestamp, UserFields,
};
use coexist_policy::{Client, UpgradePolicy};
use std::sync::Arc;

async fn directory() -> (Directory, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::default());
    let clock = Arc::new(ManualClock::new(Timestamp(1_795_331_100_000)));
    let dir = Directory::open(store.clone(), clock, "admin-secret")
        .await
        .unwrap();
    (dir, store)
}

async fn tenant(dir: &Directory, name: &str, domain: &str, topology: &str) {
    dir.create_tenant(
        &Actor::Admin,
        TenantFields {
            name: Some(name.into()),
            domains: Some(vec![domain.into()]),
            topology: Some(topology.into()),
            cloud: None,
        },
    )
    .await
    .unwrap();
}

async fn user(dir: &Directory, tenant: &str, upn: &str, homing: &str) {
    dir.create_user(
        &Actor::Admin,
        tenant,
        UserFields {
            upn: Some(upn.into()),
            sfb_homing: Some(homing.into()),
            ..UserFields::default()
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn r1_3_user_grant_beats_tenant_grant_beats_islands() {
    let (dir, _) = directory().await;
    tenant(&dir, "contoso", "contoso.test", "hybrid").await;
    user(&dir, "contoso", "alice@contoso.test", "online").await;
    let view = dir.effective(&Actor::Admin, "alice@contoso.test").unwrap();
    assert_eq!(view.mode.as_str(), "Islands");

    dir.grant_tenant_policy(&Actor::Admin, "contoso", Some(UpgradePolicy::SfBOnly))
        .await
        .unwrap();
    let view = dir.effective(&Actor::Admin, "alice@contoso.test").unwrap();
    assert_eq!(view.mode.as_str(), "SfBOnly");

    dir.grant_user_policy(
        &Actor::Admin,
        "Alice@Contoso.test",
        Some(UpgradePolicy::UpgradeToTeams),
    )
    .await
    .unwrap();
    let view = dir.effective(&Actor::Admin, "alice@contoso.test").unwrap();
    assert_eq!(view.mode.as_str(), "TeamsOnly");

    // A grant of "no policy" removes the user's own grant (R1.3).
    dir.grant_user_policy(&Actor::Admin, "alice@contoso.test", None)
        .await
        .unwrap();
    let view = dir.effective(&Actor::Admin, "alice@contoso.test").unwrap();
    assert_eq!(view.mode.as_str(), "SfBOnly");
}

#[tokio::test]
async fn r1_5_refuses_teams_only_for_onprem_users_naming_them() {
    let (dir, store) = directory().await;
    tenant(&dir, "contoso", "contoso.test", "hybrid").await;
    user(&dir, "contoso", "bob@contoso.test", "onprem").await;
    let err = dir
        .grant_user_policy(
            &Actor::Admin,
            "bob@contoso.test",
            Some(UpgradePolicy::UpgradeToTeams),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "TeamsOnlyNeedsOnlineHoming");
    assert_eq!(err.rule().map(|r| r.as_str()), Some("R1.5"));
    let err = dir
        .grant_tenant_policy(
            &Actor::Admin,
            "contoso",
            Some(UpgradePolicy::UpgradeToTeams),
        )
        .await
        .unwrap_err();
    match err {
        DirectoryError::Refused { users, .. } => assert_eq!(users, vec!["bob@contoso.test"]),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Nothing changed, and the refusals left no audit entries.
    assert_eq!(
        dir.effective(&Actor::Admin, "bob@contoso.test")
            .unwrap()
            .mode
            .as_str(),
        "Islands"
    );
    let audit = dir
        .audit(
            &Actor::Admin,
            coexist_core::AuditQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
    drop(store);
}

#[tokio::test]
async fn explain_uses_the_real_users_r3_2() {
    let (dir, _) = directory().await;
    tenant(&dir, "contoso", "contoso.test", "hybrid").await;
    user(&dir, "contoso", "alice@contoso.test", "onprem").await;
    user(&dir, "contoso", "bob@contoso.test", "online").await;
    dir.grant_user_policy(
        &Actor::Admin,
        "bob@contoso.test",
        Some(UpgradePolicy::SfBOnly),
    )
    .await
    .unwrap();
    let view = dir
        .explain(
            &Actor::Admin,
            "alice@contoso.test",
            Client::Teams,
            "bob@contoso.test",
        )
        .unwrap();
    assert_eq!(view["possible"], false);
    assert_eq!(view["code"], "OriginatorHomedOnPrem");
    assert_eq!(view["rule"], "R3.2");
    let view = dir
        .explain(
            &Actor::Admin,
            "alice@contoso.test",
            Client::Sfb,
            "bob@contoso.test",
        )
        .unwrap();
    assert_eq!(view["lands_on"], "sfb");
    assert_eq!(view["method"], "native");
}

#[tokio::test]
async fn tenant_tokens_cannot_touch_other_tenants() {
    let (dir, _) = directory().await;
    tenant(&dir, "contoso", "contoso.test", "online").await;
    tenant(&dir, "fabrikam", "fabrikam.test", "online").await;
    user(&dir, "fabrikam", "eve@fabrikam.test", "online").await;
    let (secret, _) = dir
        .create_token(&Actor::Admin, "contoso", "helpdesk")
        .await
        .unwrap();
    let actor = dir.authenticate(&secret).unwrap();
    assert!(matches!(
        dir.user(&actor, "eve@fabrikam.test"),
        Err(DirectoryError::Forbidden(_))
    ));
    assert!(dir.authenticate("nope").is_none());
    assert_eq!(dir.authenticate("admin-secret"), Some(Actor::Admin));
    assert_eq!(dir.tenants(&actor).len(), 1);
}

/// The report of an import into contoso that is refused for bad lines.
async fn rejected(dir: &Directory, csv: &[u8]) -> Box<ImportReport> {
    let err = dir
        .import_users(&Actor::Admin, "contoso", csv, false)
        .await
        .unwrap_err();
    let DirectoryError::ImportRejected(report) = err else {
        panic!("expected rejection, got {err:?}")
    };
    report
}

#[tokio::test]
async fn import_reports_lines_and_applies_all_or_nothing() {
    let (dir, _) = directory().await;
    tenant(&dir, "contoso", "contoso.test", "hybrid").await;
    let bad = b"upn,sfb_homing,policy\na@contoso.test,online,Legacy\nb@contoso.test,cloud,\nc@contoso.test,onprem,UpgradeToTeams\n";
    let report = rejected(&dir, bad).await;
    assert_eq!(report.errors.len(), 2);
    assert_eq!(
        (report.errors[0].line, report.errors[0].field.as_str()),
        (3, "sfb_homing")
    );
    assert_eq!(report.errors[1].rule.as_deref(), Some("R1.5"));
    assert_eq!(dir.read().total_users(), 0);

    let good = b"upn,password,policy\na@contoso.test,password1,Legacy\nb@contoso.test,,SfBOnly\n";
    let report = dir
        .import_users(&Actor::Admin, "contoso", good, true)
        .await
        .unwrap();
    assert_eq!((report.valid, report.applied), (2, false));
    assert_eq!(report.notes[0].rule.as_deref(), Some("R1.1"));
    assert_eq!(dir.read().total_users(), 0);
    let report = dir
        .import_users(&Actor::Admin, "contoso", good, false)
        .await
        .unwrap();
    assert_eq!(report.created, 2);
    assert_eq!(
        dir.effective(&Actor::Admin, "b@contoso.test")
            .unwrap()
            .mode
            .as_str(),
        "SfBOnly"
    );
    // The imported password verifies (by HA1) and is then upgraded to argon2.
    assert!(
        dir.verify_password("a@contoso.test", "password1")
            .await
            .unwrap()
    );
    let user = dir.user(&Actor::Admin, "a@contoso.test").unwrap();
    assert!(user.credentials.unwrap().password_hash.is_some());
    assert!(
        !dir.verify_password("a@contoso.test", "password2")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn import_accepts_spreadsheet_csv_with_bom_crlf_and_any_header_case() {
    let (dir, _) = directory().await;
    tenant(&dir, "contoso", "contoso.test", "online").await;
    let csv = "\u{feff}UPN,Display_Name\r\na@contoso.test,\"Smith, Ann\"\r\n";
    let report = dir
        .import_users(&Actor::Admin, "contoso", csv.as_bytes(), false)
        .await
        .unwrap();
    assert_eq!(report.created, 1, "{report:?}");
    let user = dir.user(&Actor::Admin, "a@contoso.test").unwrap();
    assert_eq!(user.display_name, "Smith, Ann");
}

#[tokio::test]
async fn r9_2_import_takes_the_preferred_calling_client_with_a_per_line_error() {
    let (dir, _) = directory().await;
    tenant(&dir, "contoso", "contoso.test", "online").await;
    let bad = b"upn,preferred_calling_client\na@contoso.test,teams\nb@contoso.test,fax\n";
    let report = rejected(&dir, bad).await;
    assert_eq!(report.errors.len(), 1, "{report:?}");
    let error = &report.errors[0];
    assert_eq!(
        (error.line, error.field.as_str()),
        (3, "preferred_calling_client")
    );
    assert!(
        error.reason.contains("fax") && error.reason.contains("teams"),
        "the reason names the bad value and the valid ones: {}",
        error.reason
    );
    assert_eq!(dir.read().total_users(), 0);

    let good = b"UPN,Preferred_Calling_Client\na@contoso.test,teams\nb@contoso.test,SFB\nc@contoso.test,\n";
    let report = dir
        .import_users(&Actor::Admin, "contoso", good, false)
        .await
        .unwrap();
    assert_eq!(report.created, 3, "{report:?}");
    let choice = |upn| {
        dir.user(&Actor::Admin, upn)
            .unwrap()
            .preferred_calling_client
    };
    assert_eq!(choice("a@contoso.test"), Some(Client::Teams));
    assert_eq!(choice("b@contoso.test"), Some(Client::Sfb));
    assert_eq!(choice("c@contoso.test"), None);
}

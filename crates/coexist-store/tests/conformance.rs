//! The storage conformance suite: what every engine of the directory port
//! must do. Run against the in-memory reference store and SQLite; a
//! PostgreSQL engine adds one line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_core::credentials::Credentials;
use coexist_core::{
    AuditEntry, AuditQuery, Change, DirectoryStore, MemoryStore, Peer, PeerKind, Tenant,
    TenantToken, Timestamp, User,
};
use coexist_policy::legacy::built_in_interop_policy;
use coexist_policy::{Cloud, FederationSettings, Homing, Topology, UpgradePolicy, Voice};
use coexist_store::SqliteStore;

fn tenant(name: &str) -> Tenant {
    Tenant {
        name: name.into(),
        domains: vec![format!("{name}.test")],
        topology: Topology::Hybrid,
        cloud: Cloud::Gcc,
        upgrade_policy: Some(UpgradePolicy::SfBOnlyWithNotify),
        federation: FederationSettings {
            allowed_domains: Some(vec!["fabrikam.test".into()]),
            ..FederationSettings::open()
        },
        created_at: Timestamp(7),
    }
}

fn user(upn: &str, tenant: &str, number: Option<&str>) -> User {
    User {
        upn: upn.into(),
        tenant: tenant.into(),
        display_name: "Ünïcode Name".into(),
        sfb_homing: Homing::OnPrem,
        teams_enabled: true,
        sfb_enabled: false,
        voice: Voice::Hybrid,
        phone_number: number.map(str::to_owned),
        specialized_workflow: true,
        upgrade_policy: Some(UpgradePolicy::SfBWithTeamsCollab),
        interop_policy: Some("DisallowOverrideCallingSfbChatSfb".into()),
        preferred_calling_client: None,
        credentials: Some(Credentials::digest_only(upn, "contoso.test", "password1")),
        created_at: Timestamp(1),
        updated_at: Timestamp(2),
    }
}

fn audit(target: &str, tenant: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: Timestamp(9),
        actor: "admin".into(),
        action: "new-user".into(),
        tenant: Some(tenant.into()),
        target: target.into(),
        before: serde_json::Value::Null,
        after: serde_json::json!({"upn": target}),
    }
}

/// The suite: `reopen` gives a fresh handle on the same data.
async fn conformance<S: DirectoryStore, F, Fut>(reopen: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let store = reopen().await;
    let contoso = tenant("contoso");
    let fabrikam = tenant("fabrikam");
    let alice = user("alice@contoso.test", "contoso", Some("+14255550100"));
    let many: Vec<User> = (0..3000)
        .map(|i| User {
            preferred_calling_client: (i % 2 == 0).then_some(coexist_policy::Client::Sfb),
            ..user(&format!("u{i}@fabrikam.test"), "fabrikam", None)
        })
        .collect();
    let policy = built_in_interop_policy("DisallowOverrideCallingTeamsChatTeams").unwrap();
    let peer = Peer {
        tenant: "fabrikam".into(),
        kind: PeerKind::Federation,
        name: "partner".into(),
        address: "sip.partner.test:5060".into(),
        transport: "tcp".into(),
        domains: vec!["partner.test".into()],
        resolved: Vec::new(),
        updated_at: Timestamp(4),
    };
    let token = TenantToken {
        digest: "d1".into(),
        tenant: "fabrikam".into(),
        label: "helpdesk".into(),
        created_at: Timestamp(3),
    };
    store
        .commit(
            &[
                Change::PutTenant(&contoso),
                Change::PutTenant(&fabrikam),
                Change::PutUser(&alice),
            ],
            &[audit("alice@contoso.test", "contoso")],
        )
        .await
        .unwrap();
    store
        .commit(
            &[
                Change::PutUsers(&many),
                Change::PutInteropPolicy("Custom", &policy),
                Change::PutToken(&token),
                Change::PutPeer(&peer),
            ],
            &[audit("fabrikam", "fabrikam")],
        )
        .await
        .unwrap();
    // Replacing a user keeps one row.
    // R9.2: the user's own calling client survives a reopen.
    let alice2 = User {
        display_name: "Alice".into(),
        phone_number: None,
        preferred_calling_client: Some(coexist_policy::Client::Teams),
        ..alice.clone()
    };
    store
        .commit(
            &[Change::PutUser(&alice2)],
            &[audit("alice@contoso.test", "contoso")],
        )
        .await
        .unwrap();
    store.close().await;

    let store = reopen().await;
    let snapshot = store.load().await.unwrap();
    let mut names: Vec<_> = snapshot.tenants.iter().map(|t| t.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["contoso", "fabrikam"]);
    assert_eq!(
        snapshot.tenants.iter().find(|t| t.name == "contoso"),
        Some(&contoso)
    );
    assert_eq!(snapshot.users.len(), 3001);
    assert_eq!(
        snapshot
            .users
            .iter()
            .find(|u| u.upn == "alice@contoso.test"),
        Some(&alice2)
    );
    assert!(snapshot.users.iter().any(|u| u == &many[2999]));
    assert!(snapshot.users.iter().any(|u| u == &many[2998]));
    assert_eq!(
        many[2998].preferred_calling_client,
        Some(coexist_policy::Client::Sfb)
    );
    assert_eq!(
        snapshot.interop_policies,
        vec![("Custom".to_owned(), policy)]
    );
    assert_eq!(snapshot.tokens, vec![token]);
    assert_eq!(snapshot.peers, vec![peer]);

    // Audit: oldest first; newest N without a cursor, paging after one.
    let all = store
        .audit(&AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        all[0].after,
        serde_json::json!({"upn": "alice@contoso.test"})
    );
    let newest = store
        .audit(&AuditQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest[0].id, all[2].id);
    let page = store
        .audit(&AuditQuery {
            limit: 1,
            after_id: Some(all[0].id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page[0].id, all[1].id);
    let contoso_only = store
        .audit(&AuditQuery {
            limit: 10,
            tenant: Some("contoso".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(contoso_only.len(), 2);

    // Deleting a tenant takes its users and tokens, not the audit log.
    store
        .commit(
            &[
                Change::DeleteTenant("fabrikam"),
                Change::DeleteUser("alice@contoso.test"),
            ],
            &[],
        )
        .await
        .unwrap();
    let snapshot = store.load().await.unwrap();
    assert_eq!(snapshot.tenants.len(), 1);
    assert!(snapshot.users.is_empty());
    assert!(snapshot.tokens.is_empty());
    assert!(snapshot.peers.is_empty());
    assert_eq!(
        store
            .audit(&AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn memory_store_conforms() {
    let store = std::sync::Arc::new(MemoryStore::default());
    conformance(|| {
        let store = store.clone();
        async move { ArcStore(store) }
    })
    .await;
}

#[tokio::test]
async fn sqlite_store_conforms_and_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    conformance(|| {
        let path = path.clone();
        async move { SqliteStore::open(&path).await.unwrap() }
    })
    .await;
}

/// Shares one memory store between "reopens".
#[derive(Debug)]
struct ArcStore(std::sync::Arc<MemoryStore>);

#[async_trait::async_trait]
impl DirectoryStore for ArcStore {
    async fn load(&self) -> Result<coexist_core::Snapshot, coexist_core::StoreError> {
        self.0.load().await
    }
    async fn commit(
        &self,
        changes: &[Change<'_>],
        audit: &[AuditEntry],
    ) -> Result<(), coexist_core::StoreError> {
        self.0.commit(changes, audit).await
    }
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, coexist_core::StoreError> {
        self.0.audit(query).await
    }
    async fn close(&self) {}
}

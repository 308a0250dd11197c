//! The teams side over the in-memory stores and a manual clock, for the
//! tests of this crate: tenant contoso (hybrid) with alice and dave
//! (Islands) and carol (SfBOnly), and a delivery port that keeps what it
//! is handed.
#![allow(dead_code)]

use coexist_core::teams::ports::{KeepPending, MemoryConversations};
use coexist_core::{
    Actor, Directory, ManualClock, MemoryStore, Teams, TeamsConfig, TenantFields, Timestamp,
    UserFields,
};
use coexist_policy::UpgradePolicy;
use std::sync::Arc;
use std::time::Duration;

/// The teams side, its delivery port and its clock; the directory and the
/// conversation store, to open the teams side again (a restart).
pub struct World {
    pub teams: Arc<Teams>,
    pub port: Arc<KeepPending>,
    pub clock: Arc<ManualClock>,
    pub directory: Arc<Directory>,
    pub store: Arc<MemoryConversations>,
}

impl World {
    /// A restart: the teams side opened again over the same stores, with a
    /// new delivery port (returned).
    pub async fn restart(&mut self) -> Arc<KeepPending> {
        let port = Arc::new(KeepPending::default());
        self.teams = Teams::open(
            self.directory.clone(),
            self.store.clone(),
            self.clock.clone(),
            self.teams.config().clone(),
            port.clone(),
        )
        .await
        .unwrap();
        self.port = port.clone();
        port
    }
}

/// The world, with the safety net's quiet time `notice_after`.
pub async fn world(notice_after: Duration) -> World {
    let clock = Arc::new(ManualClock::new(Timestamp(1_795_331_100_000)));
    let directory = Arc::new(
        Directory::open(
            Arc::new(MemoryStore::default()),
            clock.clone(),
            "admin-secret",
        )
        .await
        .unwrap(),
    );
    directory
        .create_tenant(
            &Actor::Admin,
            TenantFields {
                name: Some("contoso".into()),
                domains: Some(vec!["contoso.test".into()]),
                topology: Some("hybrid".into()),
                cloud: None,
            },
        )
        .await
        .unwrap();
    for upn in [
        "alice@contoso.test",
        "carol@contoso.test",
        "dave@contoso.test",
    ] {
        directory
            .create_user(
                &Actor::Admin,
                "contoso",
                UserFields {
                    upn: Some(upn.into()),
                    password: Some("Pass-word-1".into()),
                    ..UserFields::default()
                },
            )
            .await
            .unwrap();
    }
    directory
        .grant_user_policy(
            &Actor::Admin,
            "carol@contoso.test",
            Some(UpgradePolicy::SfBOnly),
        )
        .await
        .unwrap();
    let port = Arc::new(KeepPending::default());
    let store = Arc::new(MemoryConversations::default());
    let teams = Teams::open(
        directory.clone(),
        store.clone(),
        clock.clone(),
        TeamsConfig {
            notice_after,
            ..TeamsConfig::default()
        },
        port.clone(),
    )
    .await
    .unwrap();
    World {
        teams,
        port,
        clock,
        directory,
        store,
    }
}

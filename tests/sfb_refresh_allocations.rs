//! A registration refresh that changes nothing allocates nothing on the
//! teams side of the SIP edge (issue 5: it is the REGISTER benchmark's hot
//! path): `TeamsPort::sfb_presence` updates the known endpoint in place,
//! finds the published state unchanged (R7.3: no news for watchers) and
//! starts no task. The count is deterministic, so it is asserted here.
//! This file holds one test so that no other test's allocations are counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist::interop::{Endpoints, TeamsPort};
use coexist_core::teams::ports::{KeepPending, MemoryConversations};
use coexist_core::{Directory, MemoryStore, SystemClock, Teams, TeamsConfig};
use coexist_policy::Availability;
use coexist_sip::{SfbState, TeamsSide};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn registered(upn: &str) -> SfbState {
    let until = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(3600);
    SfbState {
        upn: upn.to_owned(),
        availability: Availability::Available,
        note: None,
        live: true,
        registered_until: Some(until),
        has_phone: false,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn r7_3_a_registration_refresh_that_changes_nothing_allocates_nothing() {
    let clock = Arc::new(SystemClock);
    let directory = Arc::new(
        Directory::open(
            Arc::new(MemoryStore::default()),
            clock.clone(),
            "admin-secret",
        )
        .await
        .unwrap(),
    );
    let teams = Teams::open(
        directory,
        Arc::new(MemoryConversations::default()),
        clock,
        TeamsConfig::default(),
        Arc::new(KeepPending::default()),
    )
    .await
    .unwrap();
    let endpoints = Arc::new(Endpoints::default());
    let port = TeamsPort::new(teams.clone(), endpoints.clone());
    // The first registration is news (R7.3: live now); let what it
    // started finish.
    port.sfb_presence(registered("carol@x.test"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(endpoints.is_live("carol@x.test"));
    let seen = endpoints.get("carol@x.test").unwrap().last_seen_ms;

    let refreshes: Vec<SfbState> = (0..100).map(|_| registered("carol@x.test")).collect();
    let region = Region::new(GLOBAL);
    for state in refreshes {
        port.sfb_presence(state);
    }
    let change = region.change();
    assert_eq!(change.allocations, 0, "a refresh allocated: {change:?}");
    assert_eq!(change.reallocations, 0, "a refresh reallocated: {change:?}");
    // Still the one entry, seen again, nothing pending to retry.
    assert!(endpoints.get("carol@x.test").unwrap().last_seen_ms >= seen);
    assert!(!teams.may_have_pending_sfb("carol@x.test"));
}

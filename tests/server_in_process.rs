//! The server as a library: `coexist::serve::run` on listeners bound to
//! port 0 and a shutdown future, in process (STYLE: servers take bound
//! listeners and a shutdown signal).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist::config::{Config, Overrides};
use coexist::serve::{Listeners, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_until_the_shutdown_future_then_closes_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.path().join("data")),
        ..Overrides::default()
    };
    let env =
        |key: &str| (key == "COEXIST_ADMIN_TOKEN").then(|| "an-admin-token-for-tests".to_owned());
    let config = Config::load(None, &env, &overrides).unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let listeners = Listeners::bind(any, any).await.unwrap();
    let http = listeners.http.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        run(&config, listeners, async {
            let _ = stopped.await;
        })
        .await
    });

    let url = format!("http://{http}/v1/tenants");
    let created = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .post(&url)
            .header("Authorization", "Bearer an-admin-token-for-tests")
            .send_json(serde_json::json!({"name": "contoso", "domains": ["contoso.test"]}))
            .map(|r| r.status().as_u16())
    })
    .await
    .unwrap();
    assert_eq!(created.ok(), Some(201));
    // A configured token is used as is: no token file is written.
    assert!(!dir.path().join("data/admin-token").exists());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    // Closed cleanly: the WAL was checkpointed into the database file.
    let wal = dir.path().join("data/coexist.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
    assert!(
        std::fs::metadata(dir.path().join("data/coexist.db"))
            .unwrap()
            .len()
            > 0
    );
}

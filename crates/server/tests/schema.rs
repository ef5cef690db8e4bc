//! A node and a newer schema: once a newer polypay has migrated the database past what this
//! node knows, with a migration older nodes must not run beside, the node stops (as on
//! SIGTERM, then exits with the reason); one whose newer migrations allow it goes on.

use polypay_server::testing::TestServer;
use polypay_store::testing::pretend_migrated;

async fn outgrown(s: &TestServer) -> Option<String> {
    s.engine()
        .store()
        .read(|db| db.outgrown_schema())
        .await
        .expect("check")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_stops_once_a_newer_node_migrates_past_it() {
    let s = TestServer::start().await;
    let known = polypay_store::schema_version();
    assert_eq!(outgrown(&s).await, None);
    // A newer migration that lets nodes knowing `known` run beside it.
    pretend_migrated(s.engine().store(), known + 1, Some(known))
        .await
        .unwrap();
    assert_eq!(outgrown(&s).await, None);
    // One that does not.
    pretend_migrated(s.engine().store(), known + 2, Some(known + 1))
        .await
        .unwrap();
    let why = outgrown(&s).await.expect("outgrown");
    assert!(
        why.contains(&format!(
            "its migration {} needs a polypay that knows migration {} or later",
            known + 2,
            known + 1
        )),
        "{why}"
    );
    // The watcher checks at once, then every ten seconds: the node stops, answering with why.
    let (tx, mut rx) = tokio::sync::watch::channel(None);
    polypay_server::app::watch_schema(s.state.clone(), tx).await;
    assert_eq!(rx.borrow_and_update().as_deref(), Some(why.as_str()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = polypay_server::serve(s.state.clone(), listener).await;
    let err = served.expect_err("the node stopped because of the schema");
    assert_eq!(err.to_string(), format!("stopped: {why}"));
}

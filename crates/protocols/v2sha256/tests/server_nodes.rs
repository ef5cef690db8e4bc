//! Replay protection across nodes: two routers on two Engines (two stores) over one database
//! refuse a request replayed to the other node — on PostgreSQL when `POLYPAY_TEST_DATABASE_URL`
//! is set, and on SQLite (two stores on one file) always.

mod harness;

use harness::*;
use polypay_core::{FixedClock, Timestamp};
use polypay_engine::Engine;
use polypay_store::testing::TestDb;
use polypay_v2sha256::sign::fresh_nonce;
use polypay_v2sha256::{ApiResponse, Client, PreparedRequest};
use serde_json::Value;
use std::sync::Arc;

/// Sends `prepared` to `node` as a load balancer would forward it: to the node's address, with
/// the public host the client signed in `X-Forwarded-Host`.
async fn forward(
    client: &Client,
    node: &Node,
    public_host: &str,
    prepared: &PreparedRequest,
) -> ApiResponse<Value> {
    let url = format!("{}{}", node.base_url, prepared.path);
    let mut request = reqwest::Client::new()
        .post(url)
        .header("X-Forwarded-Host", public_host)
        .body(prepared.body.clone());
    for (name, value) in &prepared.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let body = response.bytes().await.unwrap();
    client
        .parse_response(&prepared.path, status, &headers, &body)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_replayed_to_another_node_is_refused() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let clock = Arc::new(FixedClock::new(Timestamp(wall_ms())));
        let second = Engine::new(h.db.open().unwrap(), clock);
        let node_b = serve(second, true).await;
        let public_host = h.node.host.clone();

        let wall = wall_ms() as u64;
        let req = payment_request("ORD-NODES", "3.00");
        let once = h
            .client
            .build_payment_create(&req, wall, &fresh_nonce())
            .unwrap();
        let first = h.client.send::<Value>(&once).await.unwrap();
        assert!(first.is_ok() && first.signature_verified, "{first:?}");

        let replay = forward(&h.client, &node_b, &public_host, &once).await;
        assert_eq!(replay.http_status, 401, "{}: {replay:?}", h.db.name);
        assert_eq!(
            replay.error_message.as_deref(),
            Some("nonce invalid or reused")
        );

        // Node B does accept a fresh request signed for the same public URL.
        let query = polypay_v2sha256::wire::PaymentQueryRequest {
            payment_no: None,
            merchant_trade_no: Some("ORD-NODES".into()),
        };
        let fresh = h
            .client
            .build_payment_query(&query, wall, &fresh_nonce())
            .unwrap();
        let ok = forward(&h.client, &node_b, &public_host, &fresh).await;
        assert!(ok.is_ok() && ok.signature_verified, "{}: {ok:?}", h.db.name);
        // ...and it is node B that now refuses the replay on node A.
        let back = h.client.send::<Value>(&fresh).await.unwrap();
        assert_eq!(
            back.error_message.as_deref(),
            Some("nonce invalid or reused")
        );
    }
}

/// Both ends of the window are inside it: a request stamped a whole window ahead is accepted
/// on arrival and again exactly two windows later, so its claim must outlive two windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_outlives_the_last_moment_its_request_is_accepted() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let arrival = wall_ms();
        let clock = Arc::new(FixedClock::new(Timestamp(arrival)));
        let node = serve(Engine::new(h.db.open().unwrap(), clock.clone()), true).await;
        let public_host = h.node.host.clone();
        let window = polypay_v2sha256::inbound::TIME_WINDOW_MS as i64;
        let query = polypay_v2sha256::wire::PaymentQueryRequest {
            payment_no: None,
            merchant_trade_no: Some("ORD-EDGE".into()),
        };
        let ahead = h
            .client
            .build_payment_query(&query, (arrival + window) as u64, &fresh_nonce())
            .unwrap();
        let first = forward(&h.client, &node, &public_host, &ahead).await;
        assert_ne!(first.http_status, 401, "{}: {first:?}", h.db.name);
        clock.set(Timestamp(arrival + 2 * window));
        let replay = forward(&h.client, &node, &public_host, &ahead).await;
        assert_eq!(
            (replay.http_status, replay.error_message.as_deref()),
            (401, Some("nonce invalid or reused")),
            "{}",
            h.db.name
        );
    }
}

//! Bodies over the limits, sent with their length declared: each protocol answers in its own
//! envelope, never with the HTTP layer's plain-text 413.

use polypay_server::config::Overrides;
use polypay_server::testing::TestServer;
use polypay_store::testing::TestDb;

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_node_limit_gets_each_protocols_own_envelope() {
    // A small limit, so the whole body fits the socket buffers and the client reads the
    // answer the node gives before reading it all (a body of megabytes would meet a closed
    // connection while still being written).
    let limit = Overrides {
        body_limit_bytes: Some(100_000),
        ..Default::default()
    };
    let s = TestServer::start_on(TestDb::sqlite(), limit).await;
    let big = vec![b'x'; 150_000];
    let http = reqwest::Client::new();
    // (path, status, what the envelope says)
    let cases = [
        ("/api/pay/unifiedOrder", 200, "invalid request body"),
        ("/order/api/v2/pay/order", 200, "body"),
        ("/processV2", 200, "request too large"),
        ("/pg/v2/payment/query", 413, "request too large"),
        // 33 Fintech checks its bearer token before it reads a body.
        ("/api/v2/pay", 401, "missing bearer token"),
    ];
    for (path, status, says) in cases {
        let r = http
            .post(format!("{}{path}", s.base_url))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .expect("send");
        let got = r.status().as_u16();
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        let text = r.text().await.expect("body");
        assert!(
            kind.starts_with("application/json"),
            "{path}: {kind} {text}"
        );
        assert_eq!(got, status, "{path}: {text}");
        let json: serde_json::Value = serde_json::from_str(&text).expect("a JSON envelope");
        assert!(json.to_string().contains(says), "{path}: {text}");
    }
    // The operator's routes refuse a declared length up front, in their JSON.
    let r = http
        .post(format!("{}/admin/v1/merchants", s.base_url))
        .bearer_auth("test-admin-token")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    let answer: serde_json::Value = r.json().await.expect("a JSON answer");
    assert!(
        answer["error"].as_str().unwrap().contains("too large"),
        "{answer}"
    );

    // Sent in chunks, the body is found too large as it is read: the same answer.
    use tower::ServiceExt;
    let router = polypay_server::build_router(s.state.clone());
    let req = axum::http::Request::post("/admin/v1/merchants")
        .header("authorization", "Bearer test-admin-token")
        .header("content-type", "application/json")
        .body(polypay_server::testing::ChunkedBody::body(150, false).0)
        .unwrap();
    let r = router.oneshot(req).await.expect("infallible");
    assert_eq!(r.status(), 413);
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert!(
        answer["error"].as_str().unwrap().contains("too large"),
        "{answer}"
    );
}

/// Wrong admin tokens from one address lock it out of the admin API, the sandbox control API
/// and the console's sign-in for a minute after ten, the right token too; other addresses and
/// loopback are not held up.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_admin_tokens_lock_an_address_out() {
    use tower::ServiceExt;
    let s = TestServer::start().await;
    let router = polypay_server::build_router(s.state.clone());
    let from = |peer: &str, path: &str, token: &str| {
        let mut req = axum::http::Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        router.clone().oneshot(req)
    };
    let attacker = "203.0.113.7:40000";
    for n in 0..polypay_server::auth_throttle::MAX_FAILURES {
        let r = from(attacker, "/admin/v1/merchants", &format!("guess-{n}"))
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "attempt {n}");
        // The right token in between (an operator behind the same proxy) does not clear the
        // count (QA: it gave a guesser nine more tries each time).
        if n % 4 == 3 {
            let r = from(attacker, "/admin/v1/merchants", "test-admin-token")
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    for path in ["/admin/v1/merchants", "/admin/v1/audit"] {
        let r = from(attacker, path, "test-admin-token").await.unwrap();
        assert_eq!(r.status(), 429, "{path}: the right token is refused too");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((59..=60).contains(&wait), "{wait}");
    }
    // The console's sign-in counts the same address as locked out.
    let mut login = axum::http::Request::post("/console/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("token=test-admin-token"))
        .unwrap();
    login
        .extensions_mut()
        .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            attacker.parse().unwrap(),
        ));
    assert_eq!(router.clone().oneshot(login).await.unwrap().status(), 429);
    // Another address, and loopback whatever it tried, are served.
    let r = from("198.51.100.2:1", "/admin/v1/merchants", "test-admin-token")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for n in 0..20 {
        from("127.0.0.1:1", "/admin/v1/merchants", &format!("typo-{n}"))
            .await
            .unwrap();
    }
    let r = from("127.0.0.1:1", "/admin/v1/merchants", "test-admin-token")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

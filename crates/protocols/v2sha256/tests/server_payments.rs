//! The router on a real engine, driven by the phase-1 client: payment create/query, duplicate
//! order numbers, the authentication failures of §3, and the error envelopes of §4.

mod harness;

use harness::*;
use polypay_store::testing::TestDb;
use polypay_v2sha256::sign::fresh_nonce;
use polypay_v2sha256::wire::{Endpoint, PaymentQueryRequest, PaymentStatus};
use polypay_v2sha256::{ApiResponse, Client, Credentials};
use serde_json::Value;

fn assert_error<T: std::fmt::Debug>(r: &ApiResponse<T>, status: u16, code: &str, message: &str) {
    assert_eq!(
        (r.http_status, r.code.as_str(), r.error_message.as_deref()),
        (status, code, Some(message)),
        "{r:?}"
    );
    assert!(r.data.is_none());
}

async fn send_raw(h: &Harness, endpoint: Endpoint, body: &[u8]) -> ApiResponse<Value> {
    let wall = wall_ms() as u64;
    let prepared = h
        .client
        .build(endpoint, body.to_vec(), wall, &fresh_nonce())
        .unwrap();
    h.client.send(&prepared).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_query_by_either_number() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let created = h
            .client
            .payment_create(&payment_request("ORD-1", "100.05"))
            .await
            .unwrap()
            .into_verified()
            .unwrap();
        assert!(created.is_ok());
        let data = created.data.unwrap();
        assert_eq!(data.merchant_trade_no, "ORD-1");
        assert_eq!(data.status, PaymentStatus::Pending);
        assert!(data.payment_no.starts_with("PAY") && data.payment_no.len() <= 32);
        assert!(data.payment_no.bytes().all(|b| b.is_ascii_alphanumeric()));
        let stored = h.payment(&data.payment_no).await;
        assert_eq!(stored.state, polypay_core::PaymentState::Created);
        assert_eq!(data.action.kind, "REDIRECT");
        assert_eq!(
            data.action.url,
            h.node.platform.cashier_url(&stored.cashier_token)
        );
        assert_eq!(stored.amount.minor, 10005);
        assert_eq!(stored.expires_at.0 - stored.created_at.0, 30 * 60 * 1000);

        let by_no = PaymentQueryRequest {
            payment_no: Some(data.payment_no.clone()),
            merchant_trade_no: None,
        };
        let by_trade = PaymentQueryRequest {
            payment_no: None,
            merchant_trade_no: Some("ORD-1".into()),
        };
        for q in [&by_no, &by_trade] {
            let r = h
                .client
                .payment_query(q)
                .await
                .unwrap()
                .into_verified()
                .unwrap();
            let p = r.data.unwrap();
            assert_eq!(
                (p.payment_no.as_str(), p.amount.as_str()),
                (data.payment_no.as_str(), "100.05")
            );
            assert_eq!(
                (p.status, p.refunded_amount.as_str()),
                (PaymentStatus::Pending, "0.00")
            );
            assert_eq!(p.merchant_attach.as_deref(), Some("a=1"));
            assert_eq!(p.description, "Test order");
            assert!(p.created_time.ends_with("+00:00") && p.paid_time.is_none());
        }

        h.pay(&data.payment_no).await;
        let paid = h.client.payment_query(&by_no).await.unwrap().data.unwrap();
        assert_eq!(paid.status, PaymentStatus::Paid);
        assert!(paid.paid_time.is_some());

        let mismatch = PaymentQueryRequest {
            payment_no: Some(data.payment_no.clone()),
            merchant_trade_no: Some("ORD-2".into()),
        };
        let r = h.client.payment_query(&mismatch).await.unwrap();
        assert!(r.signature_verified);
        assert_error(&r, 200, "NOT_FOUND", "payment not found");
        let unknown = PaymentQueryRequest {
            payment_no: Some("PAY1".into()),
            merchant_trade_no: None,
        };
        let r = h.client.payment_query(&unknown).await.unwrap();
        assert_error(&r, 200, "NOT_FOUND", "payment not found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_trade_no_writes_nothing() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let first = h
            .client
            .payment_create(&payment_request("ORD-DUP", "10.00"))
            .await
            .unwrap()
            .data
            .unwrap();
        let again = h
            .client
            .payment_create(&payment_request("ORD-DUP", "20.00"))
            .await
            .unwrap();
        assert!(again.signature_verified);
        assert_error(
            &again,
            200,
            "DUPLICATE_TRADE_NO",
            "duplicate merchantTradeNo",
        );
        let kept = h
            .engine()
            .payment_by_order_no(&h.merchant.id, "ORD-DUP")
            .await
            .unwrap();
        assert_eq!(
            (kept.public_id, kept.amount.minor),
            (first.payment_no, 1000)
        );
    }
}

/// A create claims its nonce in the payment's own commit; a refused create (a duplicate, a bad
/// amount) claims it on its own, so its replay is refused as a replay either way (§3.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_creates_consume_their_nonce_too() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let wall = wall_ms() as u64;
        let ok = h
            .client
            .build_payment_create(&payment_request("ORD-N1", "10.00"), wall, &fresh_nonce())
            .unwrap();
        let duplicate = h
            .client
            .build_payment_create(&payment_request("ORD-N1", "10.00"), wall, &fresh_nonce())
            .unwrap();
        let bad_amount = h
            .client
            .build_payment_create(&payment_request("ORD-N2", "0.00"), wall, &fresh_nonce())
            .unwrap();
        let first = h.client.send::<Value>(&ok).await.unwrap();
        assert!(first.is_ok(), "{first:?}");
        let refused = h.client.send::<Value>(&duplicate).await.unwrap();
        assert_error(
            &refused,
            200,
            "DUPLICATE_TRADE_NO",
            "duplicate merchantTradeNo",
        );
        let invalid = h.client.send::<Value>(&bad_amount).await.unwrap();
        assert_eq!(invalid.code, "PARAM_ERROR", "{invalid:?}");
        for prepared in [&ok, &duplicate, &bad_amount] {
            let replay = h.client.send::<Value>(prepared).await.unwrap();
            assert_error(&replay, 401, "UNAUTHORIZED", "nonce invalid or reused");
        }
        let orders = h
            .engine()
            .payment_by_order_no(&h.merchant.id, "ORD-N2")
            .await;
        assert!(matches!(
            orders,
            Err(polypay_engine::EngineError::NotFound(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_settings_shape_the_answers() {
    for db in TestDb::all() {
        let mut h = Harness::new(db).await;
        h.set_settings(
            serde_json::json!({"utc_offset": "+05:30", "payment_ttl_seconds": 60,
            "currencies": ["USD"]}),
        )
        .await;
        let inr = h
            .client
            .payment_create(&payment_request("ORD-INR", "1.00"))
            .await
            .unwrap();
        assert_eq!(inr.code, "PARAM_ERROR");
        assert!(inr.error_message.unwrap().starts_with("currency:"));
        let mut usd = payment_request("ORD-USD", "1.00");
        usd.currency = "USD".into();
        let no = h
            .client
            .payment_create(&usd)
            .await
            .unwrap()
            .data
            .unwrap()
            .payment_no;
        let stored = h.payment(&no).await;
        assert_eq!(stored.expires_at.0 - stored.created_at.0, 60_000);
        let q = PaymentQueryRequest {
            payment_no: Some(no),
            merchant_trade_no: None,
        };
        let p = h.client.payment_query(&q).await.unwrap().data.unwrap();
        assert!(p.created_time.ends_with("+05:30"), "{}", p.created_time);
        assert_eq!(p.currency, "USD");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures_are_unsigned_401s() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let req = payment_request("ORD-AUTH", "1.00");
        let wall = wall_ms() as u64;
        let server_now = h.engine().clock().now().millis() as u64;

        let forged = Client::new(
            &h.node.base_url,
            Credentials::new(h.client.credentials().app_id.clone(), "0".repeat(64)),
        )
        .unwrap();
        let r = forged.payment_create(&req).await.unwrap();
        assert_error(&r, 401, "UNAUTHORIZED", "signature verification failed");
        assert!(!r.signature_verified);

        let stranger = Client::new(&h.node.base_url, Credentials::new("nobody", "secret")).unwrap();
        let r = stranger.payment_create(&req).await.unwrap();
        assert_error(&r, 401, "UNAUTHORIZED", "unknown appId");

        let stale = h
            .client
            .build_payment_create(&req, server_now - 300_001, &fresh_nonce())
            .unwrap();
        let r = h.client.send::<Value>(&stale).await.unwrap();
        assert_error(&r, 401, "UNAUTHORIZED", "timestamp out of window");

        let short_nonce = h.client.build_payment_create(&req, wall, "abc").unwrap();
        let r = h.client.send::<Value>(&short_nonce).await.unwrap();
        assert_error(&r, 401, "UNAUTHORIZED", "nonce invalid or reused");

        let once = h
            .client
            .build_payment_create(&req, wall, &fresh_nonce())
            .unwrap();
        let first = h.client.send::<Value>(&once).await.unwrap();
        assert!(first.is_ok() && first.signature_verified, "{first:?}");
        let replay = h.client.send::<Value>(&once).await.unwrap();
        assert_error(&replay, 401, "UNAUTHORIZED", "nonce invalid or reused");
        assert!(!replay.signature_verified);

        let http = reqwest::Client::new();
        let url = format!("{}/pg/v2/payment/query", h.node.base_url);
        let resp = http.post(&url).body("{}").send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert!(resp.headers().get("authorization").is_none());
        assert_eq!(
            resp.text().await.unwrap(),
            r#"{"code":"UNAUTHORIZED","errorMessage":"missing or malformed Authorization header","data":null}"#
        );
    }
}

/// `time_window: false` switches the window off for replaying fixtures: in the sandbox only; a
/// gateway checks the window whatever the settings say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_window_can_be_switched_off_per_merchant_in_the_sandbox() {
    for sandbox in [true, false] {
        for db in TestDb::all() {
            let mut h = Harness::with_mode(db, sandbox).await;
            h.set_settings(serde_json::json!({"time_window": false}))
                .await;
            let old = h
                .client
                .build_payment_create(
                    &payment_request("ORD-OLD", "1.00"),
                    1_715_670_758_482,
                    &fresh_nonce(),
                )
                .unwrap();
            let r = h.client.send::<Value>(&old).await.unwrap();
            match sandbox {
                true => assert!(r.is_ok() && r.signature_verified, "{r:?}"),
                false => assert_error(&r, 401, "UNAUTHORIZED", "timestamp out of window"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_errors_are_signed_param_errors() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        for (body, message) in [
            (&b"{\"merchantTradeNo\":"[..], "body: is not valid JSON"),
            (b"[1,2]", "body: must be a JSON object"),
        ] {
            let r = send_raw(&h, Endpoint::PaymentCreate, body).await;
            assert!(r.signature_verified, "{r:?}");
            assert_error(&r, 200, "PARAM_ERROR", message);
        }
        let mut missing = serde_json::to_value(payment_request("ORD-M", "1.00")).unwrap();
        missing.as_object_mut().unwrap().remove("description");
        let r = send_raw(&h, Endpoint::PaymentCreate, missing.to_string().as_bytes()).await;
        assert!(r.signature_verified);
        assert_eq!(r.code, "PARAM_ERROR");
        assert!(
            r.error_message
                .as_deref()
                .unwrap()
                .starts_with("description:"),
            "{r:?}"
        );
        // Text holding a NUL is a param error on both backends (PostgreSQL cannot store it).
        let mut nul = serde_json::to_value(payment_request("ORD-N", "1.00")).unwrap();
        nul["description"] = "a\u{0}b".into();
        let r = send_raw(&h, Endpoint::PaymentCreate, nul.to_string().as_bytes()).await;
        assert_error(
            &r,
            200,
            "PARAM_ERROR",
            "description: must not contain a NUL character",
        );
        let mut rounded = serde_json::to_value(payment_request("ORD-R", "1.005")).unwrap();
        rounded["amount"] = "1.005".into();
        let r = send_raw(&h, Endpoint::PaymentCreate, rounded.to_string().as_bytes()).await;
        assert_eq!(r.code, "PARAM_ERROR");
        assert!(
            h.engine()
                .payment_by_order_no(&h.merchant.id, "ORD-R")
                .await
                .is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_methods_and_the_pg_prefix() {
    let h = Harness::new(TestDb::sqlite()).await;
    let http = reqwest::Client::new();
    let base = &h.node.base_url;
    let r = http
        .post(format!("{base}/pg/v2/payment/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"code":"NOT_FOUND","errorMessage":"unknown endpoint","data":null}"#
    );
    let r = http
        .get(format!("{base}/v2/payment/create"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"code":"PARAM_ERROR","errorMessage":"method not allowed","data":null}"#
    );
    let big = vec![b' '; (1 << 20) + 1];
    let r = http
        .post(format!("{base}/pg/v2/balance/query"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"code":"PARAM_ERROR","errorMessage":"request too large","data":null}"#
    );
    // Both prefixes reach the same endpoint, and the response is signed over the path sent.
    for prefix in ["", "/pg"] {
        let client =
            Client::new(&format!("{base}{prefix}"), h.client.credentials().clone()).unwrap();
        let r = client
            .payment_create(&payment_request(&format!("ORD-P{prefix}"), "2.00"))
            .await
            .unwrap();
        assert!(r.is_ok() && r.signature_verified, "{r:?}");
    }
}

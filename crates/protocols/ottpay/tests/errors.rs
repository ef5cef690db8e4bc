//! Spec §4 through the router: every failure in the provider's own envelope, never a data field.

mod harness;

use base64::Engine as _;
use harness::{Harness, active_pay};
use polypay_ottpay::sign;
use polypay_ottpay::wire::RequestEnvelope;
use polypay_store::testing::TestDb;
use serde_json::Value;

fn envelope(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("JSON envelope")
}

fn assert_envelope(body: &[u8], code: &str, msg: &str) {
    let v = envelope(body);
    assert_eq!(
        v,
        serde_json::json!({"rsp_code": code, "rsp_msg": msg}),
        "{v}"
    );
    // Key order of spec §3.4.
    assert_eq!(
        String::from_utf8_lossy(body),
        format!(r#"{{"rsp_code":"{code}","rsp_msg":"{msg}"}}"#)
    );
}

#[tokio::test]
async fn authentication_failures_render_the_envelope() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let req = active_pay(Some("X1"), "100", "0");

        // A wrong signKey derives another AES key: the data cannot be decrypted.
        let wrong = h
            .client_with_key("0000000000000000")
            .active_pay(&req)
            .await
            .expect("call");
        assert_eq!(
            (wrong.rsp_code.as_str(), wrong.rsp_msg.as_str()),
            ("FAIL", "authentication failed: data cannot be decrypted")
        );

        // Data encrypted under the key derived from a forged md5 decrypts but does not match.
        let key = sign::derive_aes_key(
            "0123456789ABCDEF0123456789ABCDEF",
            &h.credentials().sign_key,
        );
        let text = serde_json::to_string(&req).expect("json");
        let forged = RequestEnvelope {
            action: "ACTIVEPAY".into(),
            version: "1.0".into(),
            merchant_id: h.ott_merchant_id(),
            data: sign::encrypt(text.as_bytes(), &key),
            md5: "0123456789ABCDEF0123456789ABCDEF".into(),
        };
        let (status, _, body) = h.post_raw(serde_json::to_vec(&forged).expect("json")).await;
        assert_eq!(status, 200);
        assert_envelope(&body, "FAIL", "authentication failed: md5 mismatch");

        let mut unknown = forged.clone();
        unknown.merchant_id = "ON00000000".into();
        let (_, _, body) = h
            .post_raw(serde_json::to_vec(&unknown).expect("json"))
            .await;
        assert_envelope(&body, "FAIL", "authentication failed: invalid merchant_id");

        // A disabled merchant is unknown.
        let mut m = h.engine.merchant(&h.merchant.id).await.expect("merchant");
        m.enabled = false;
        h.engine.update_merchant(m).await.expect("update");
        let r = h.client().active_pay(&req).await.expect("call");
        assert_eq!(r.rsp_msg, "authentication failed: invalid merchant_id");
        assert!(
            h.engine
                .payment_by_order_no(&h.merchant.id, "X1")
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn malformed_and_incomplete_requests_render_the_envelope() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    let (status, headers, body) = h.post_raw(b"not json".to_vec()).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json;charset=UTF-8")
    );
    assert_envelope(&body, "PARAM_ERROR", "invalid request format");

    let (_, _, body) = h
        .post_raw(br#"{"action":"ACTIVEPAY","version":"1.0"}"#.to_vec())
        .await;
    assert_envelope(&body, "PARAM_ERROR", "missing parameter: merchant_id");

    let mut missing = active_pay(Some("M1"), "100", "0");
    missing.operator_id = String::new();
    let r = h.client().active_pay(&missing).await.expect("call");
    assert_eq!(
        (r.rsp_code.as_str(), r.rsp_msg.as_str()),
        ("PARAM_ERROR", "missing parameter: operator_id")
    );

    let bad_amount = active_pay(Some("M2"), "1.00", "0");
    let r = h.client().active_pay(&bad_amount).await.expect("call");
    assert_eq!(
        (r.rsp_code.as_str(), r.rsp_msg.as_str()),
        ("PARAM_INVALID", "invalid parameter: amount")
    );

    // Text holding a NUL (a JSON `\u0000` escape in the data) is an invalid parameter.
    let prepared = h
        .client()
        .build_raw(
            "ACTIVEPAY",
            "1.0",
            r#"{"order_id":"N1\u0000","amount":"100","operator_id":"op","merchant_id":"M"}"#,
        )
        .expect("build");
    let (_, _, body) = h.post_raw(prepared.body).await;
    assert_envelope(&body, "PARAM_INVALID", "invalid parameter: order_id");

    let prepared = h
        .client()
        .build_raw("REFUND_ALL", "1.0", r#"{"a":"1"}"#)
        .expect("build");
    let (_, _, body) = h.post_raw(prepared.body).await;
    assert_envelope(&body, "PARAM_INVALID", "unsupported action: REFUND_ALL");

    let prepared = h
        .client()
        .build_raw("ACTIVEPAY", "3.0", r#"{"a":"1"}"#)
        .expect("build");
    let (_, _, body) = h.post_raw(prepared.body).await;
    assert_envelope(&body, "PARAM_INVALID", "unsupported version");
}

#[tokio::test]
async fn base64_level_one_is_accepted_and_answered_in_plain_json() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    let prepared = h
        .client()
        .build_active_pay(&active_pay(Some("B64"), "100", "0"))
        .expect("build");
    let wrapped = base64::engine::general_purpose::STANDARD.encode(&prepared.body);
    let (status, _, body) = h.post_raw(wrapped.into_bytes()).await;
    assert_eq!(status, 200);
    let reply = h
        .client()
        .parse_response::<polypay_ottpay::wire::ActivePayResponse>(status, &body)
        .expect("parse");
    assert_eq!(reply.into_verified().expect("verified").order_id, "B64");
}

#[tokio::test]
async fn other_methods_get_405_and_oversized_bodies_param_error() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    for path in ["/processV2", "/process"] {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", h.base_url))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 405);
        assert_eq!(
            r.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some("POST")
        );
        assert_envelope(
            &r.bytes().await.expect("body"),
            "FAIL",
            "method not allowed",
        );
    }
    let (status, _, body) = h.post_raw(vec![b' '; 1024 * 1024 + 1]).await;
    assert_eq!(status, 200);
    assert_envelope(&body, "PARAM_ERROR", "request too large");
}

//! Each row of the §4 error table produces exactly the specified envelope (status, code,
//! message), in the §4 check order, signed only where §3.3 says.

mod common;

use common::*;
use polypay_v2sha256::inbound::{HttpRequest, MerchantProfile, ServerContext, handle};
use polypay_v2sha256::wire::PaymentCreateData;
use polypay_v2sha256::{ApiError, Client, ErrorCode};

const NONCE: &str = "0123456789abcdef0123456789abcdef";

/// A correctly signed request (URL line = target) at `ts` with `nonce`.
fn signed(target: &str, body: &[u8], ts: u64, nonce: &str) -> Req {
    let h = credentials().authorize("POST", target, ts, nonce, body);
    Req::post(target, &h.value(), body)
}

fn refused(req: Req) -> (u16, String, String) {
    triple(&req.handle().expect_err("must be refused"))
}

fn unauthorized(message: &str) -> (u16, String, String) {
    (401, "UNAUTHORIZED".to_owned(), message.to_owned())
}

#[test]
fn unknown_path_is_404() {
    for target in [
        "/v2/payment/foo",
        "/v3/payment/create",
        "/v2/payment/create/",
        "/pgv2/payment/create",
        "/",
    ] {
        let got = refused(signed(target, B1.as_bytes(), TS, NONCE));
        assert_eq!(
            got,
            (404, "NOT_FOUND".into(), "unknown endpoint".into()),
            "{target}"
        );
    }
    // Route before method.
    let mut get = signed("/v2/nothing", b"", TS, NONCE);
    get.method = "GET";
    assert_eq!(refused(get).0, 404);
}

#[test]
fn method_not_post_is_405() {
    for method in ["GET", "PUT", "post", "HEAD"] {
        let mut req = signed("/pg/v2/payment/create", B1.as_bytes(), TS, NONCE);
        req.method = method;
        assert_eq!(
            refused(req),
            (405, "PARAM_ERROR".into(), "method not allowed".into()),
            "{method}"
        );
    }
}

#[test]
fn body_over_one_mib_is_413_before_authentication() {
    let big = vec![b' '; (1 << 20) + 1];
    let req = Req::post("/v2/payment/create", "garbage", &big);
    assert_eq!(
        refused(req),
        (413, "PARAM_ERROR".into(), "request too large".into())
    );
    let at_limit = vec![b' '; 1 << 20];
    assert_eq!(
        refused(Req::post("/v2/payment/create", "garbage", &at_limit)).0,
        401
    );
}

#[test]
fn missing_or_malformed_authorization_is_401() {
    let good = signed("/v2/payment/create", B1.as_bytes(), TS, NONCE);
    let value = good.headers[0].1.clone();
    let mut missing = signed("/v2/payment/create", B1.as_bytes(), TS, NONCE);
    missing.headers.clear();
    let twice =
        signed("/v2/payment/create", B1.as_bytes(), TS, NONCE).with_header("Authorization", &value);
    let message = "missing or malformed Authorization header";
    assert_eq!(refused(missing), unauthorized(message));
    assert_eq!(refused(twice), unauthorized(message));
    let mangled = [
        value.replacen("V2_SHA256 ", "Bearer ", 1),
        value.replacen("V2_SHA256 ", "V2_SHA256", 1),
        value.replacen(",nonce=", ",nonce2=", 1),
        format!("{value},sign=x"),
        value.replacen("timestamp=1715670758482", "timestamp=1715670758482.0", 1),
        value.replacen("timestamp=1715670758482", "timestamp=0001715670758482", 1),
    ];
    for bad in mangled {
        let req = Req::post("/v2/payment/create", &bad, B1.as_bytes());
        assert_eq!(refused(req), unauthorized(message), "{bad}");
    }
    // Lenient forms of §3.1 are still accepted.
    let lenient = value
        .replacen("V2_SHA256 ", "v2_sha256  ", 1)
        .replace(',', " ,\t")
        .replace("nonce=", "nonce=\"")
        + "\"";
    assert!(
        Req::post("/v2/payment/create", &lenient, B1.as_bytes())
            .handle()
            .is_ok(),
        "{lenient}"
    );
}

#[test]
fn unknown_app_id_is_401_before_the_window() {
    let h = credentials().authorize("POST", "/v2/payment/create", 1, NONCE, B1.as_bytes());
    let other = h.value().replace(APP_ID, "someoneelse");
    assert_eq!(
        refused(Req::post("/v2/payment/create", &other, B1.as_bytes())),
        unauthorized("unknown appId")
    );
}

#[test]
fn timestamp_outside_five_minutes_is_401() {
    let now = TS;
    for (ts, ok) in [
        (now - 300_000, true),
        (now + 300_000, true),
        (now - 300_001, false),
        (now + 300_001, false),
    ] {
        let got = signed("/v2/payment/create", B1.as_bytes(), ts, NONCE).handle_at(now, None);
        match ok {
            true => assert!(got.is_ok(), "{ts}"),
            false => assert_eq!(
                triple(&got.unwrap_err()),
                unauthorized("timestamp out of window"),
                "{ts}"
            ),
        }
    }
    // The window is checked before the signature.
    let stale = Req::post(
        "/v2/payment/create",
        &header(&"0".repeat(64), "1", NONCE),
        B1.as_bytes(),
    );
    assert_eq!(refused(stale), unauthorized("timestamp out of window"));
}

#[test]
fn fixture_replay_switch_disables_the_window_only() {
    let req = signed("/v2/payment/create", B1.as_bytes(), 1, NONCE);
    let relaxed = |_: &str| {
        let mut m = MerchantProfile::new(credentials());
        m.check_time_window = false;
        Some(m)
    };
    let http = HttpRequest {
        method: "POST",
        scheme: "http",
        path: "/v2/payment/create",
        query: None,
        headers: &req.headers,
        body: &req.body,
    };
    let ctx = ServerContext {
        now_ms: TS,
        public_base_url: None,
    };
    assert!(handle(&http, &ctx, relaxed).is_ok());
    let tampered = HttpRequest {
        body: b"{}",
        ..http
    };
    assert_eq!(
        triple(&handle(&tampered, &ctx, relaxed).unwrap_err()),
        unauthorized("signature verification failed")
    );
}

#[test]
fn signature_mismatch_is_401() {
    let wrong_secret = polypay_v2sha256::Credentials::new(APP_ID, "OTHER_SECRET");
    let h = wrong_secret.authorize("POST", "/v2/payment/create", TS, NONCE, B1.as_bytes());
    let expected = unauthorized("signature verification failed");
    assert_eq!(
        refused(Req::post("/v2/payment/create", &h.value(), B1.as_bytes())),
        expected
    );
    // Signed for one path, sent to another (prefix and query are part of the line).
    let h = credentials().authorize("POST", "/v2/payment/create", TS, NONCE, B1.as_bytes());
    assert_eq!(
        refused(Req::post(
            "/pg/v2/payment/create",
            &h.value(),
            B1.as_bytes()
        )),
        expected
    );
    assert_eq!(
        refused(Req::post(
            "/v2/payment/create?x=1",
            &h.value(),
            B1.as_bytes()
        )),
        expected
    );
    // Not 64 hex characters.
    let short = h.value().replace(&h.sign, &h.sign[..62]);
    assert_eq!(
        refused(Req::post("/v2/payment/create", &short, B1.as_bytes())),
        expected
    );
}

#[test]
fn query_string_is_part_of_the_signed_target() {
    let ok = signed("/v2/payment/create?trace=1%2F2", B1.as_bytes(), TS, NONCE)
        .handle()
        .unwrap();
    assert_eq!(ok.auth.request_path, "/v2/payment/create?trace=1%2F2");
}

#[test]
fn nonce_malformed_is_401_after_the_signature() {
    for nonce in [
        "short",
        &"a".repeat(65),
        "aaaaaaaaaaaaaaaa\"b",
        "aaaa aaaaaaaaaaaaaa",
    ] {
        let got = refused(signed("/v2/payment/create", B1.as_bytes(), TS, nonce));
        assert_eq!(got, unauthorized("nonce invalid or reused"), "{nonce:?}");
    }
    // A malformed nonce with a bad signature reports the signature.
    let bad = Req::post(
        "/v2/payment/create",
        &header(&"0".repeat(64), &TS.to_string(), "short"),
        B1.as_bytes(),
    );
    assert_eq!(refused(bad), unauthorized("signature verification failed"));
}

#[test]
fn nonce_reuse_is_rendered_by_the_caller_unsigned() {
    let inbound = signed("/v2/payment/create", B1.as_bytes(), TS, NONCE)
        .handle()
        .unwrap();
    assert_eq!(inbound.auth.nonce.app_id, APP_ID);
    assert_eq!(inbound.auth.nonce.nonce, NONCE);
    assert_eq!(inbound.auth.nonce.timestamp_ms, TS);
    let err = ApiError::nonce_reused();
    assert_eq!(triple(&err), unauthorized("nonce invalid or reused"));
    let rendered = inbound.auth.render_error(&err, TS, NONCE);
    assert_eq!(rendered.status, 401);
    assert!(rendered.header("authorization").is_none());
}

/// 200/500 errors after authentication are signed; the client verifies them.
#[test]
fn business_and_param_errors_are_signed_200_or_500() {
    let inbound = signed("/pg/v2/refund/create", b"[]", TS, NONCE)
        .handle()
        .unwrap();
    let param = inbound.request.clone().unwrap_err();
    assert_eq!(
        triple(&param),
        (
            200,
            "PARAM_ERROR".into(),
            "body: must be a JSON object".into()
        )
    );
    let rows = [
        (param, 200, "PARAM_ERROR", "body: must be a JSON object"),
        (
            ApiError::duplicate_trade_no(),
            200,
            "DUPLICATE_TRADE_NO",
            "duplicate merchantTradeNo",
        ),
        (
            ApiError::object_not_found("payment"),
            200,
            "NOT_FOUND",
            "payment not found",
        ),
        (
            ApiError::object_not_found("refund"),
            200,
            "NOT_FOUND",
            "refund not found",
        ),
        (
            ApiError::insufficient_balance(),
            200,
            "INSUFFICIENT_BALANCE",
            "insufficient balance",
        ),
        (
            ApiError::refund_not_allowed(),
            200,
            "STATUS_ERROR",
            "payment status does not allow refund",
        ),
        (ApiError::internal(), 500, "SYSTEM_ERROR", "internal error"),
    ];
    let client = Client::new("https://gateway.example.com", credentials()).unwrap();
    for (err, status, code, message) in rows {
        let r = inbound
            .auth
            .render_error(&err, TS + 5, "fedcba9876543210fedcba9876543210");
        assert_eq!(r.status, status);
        let body = format!(r#"{{"code":"{code}","errorMessage":"{message}","data":null}}"#);
        assert_eq!(String::from_utf8(r.body.clone()).unwrap(), body);
        let parsed = client
            .parse_response::<PaymentCreateData>(
                "/pg/v2/refund/create",
                r.status,
                &r.headers,
                &r.body,
            )
            .unwrap();
        assert!(parsed.signature_verified, "{code}");
        assert_eq!(
            (
                parsed.code.as_str(),
                parsed.error_message.as_deref(),
                parsed.data
            ),
            (code, Some(message), None)
        );
    }
    assert_eq!(ApiError::param("amount", "x").code(), ErrorCode::ParamError);
}

#[test]
fn unsigned_errors_carry_no_authorization_and_fail_client_verification() {
    let client = Client::new("https://gateway.example.com", credentials()).unwrap();
    for err in [
        ApiError::unknown_endpoint(),
        ApiError::method_not_allowed(),
        ApiError::too_large(),
        ApiError::nonce_reused(),
    ] {
        let r = err.render();
        assert!(r.header("authorization").is_none());
        let parsed = client
            .parse_response::<serde_json::Value>(
                "/v2/payment/create",
                r.status,
                &r.headers,
                &r.body,
            )
            .unwrap();
        assert!(!parsed.signature_verified && !parsed.is_ok() && parsed.data.is_none());
    }
}

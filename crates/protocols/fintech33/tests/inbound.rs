//! Every row of §4.1 through `parse_request`, the §3.4 check order, and the §4.2 business envelope.

mod common;

use common::*;
use polypay_fintech33::inbound::{
    EnvelopeError, Inbound, InboundError, ServiceRequest, parse_bearer, parse_request,
};
use polypay_fintech33::sign::{self, b64_encode};
use polypay_fintech33::wire::{BizResponse, ResponseEnvelope};
use polypay_fintech33::{
    BusinessError, Client, ErrorCode, SignHash, render_business_error, render_token_response,
};

struct Outcome {
    status: u16,
    body: String,
    content_type: String,
}

fn run(
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    store: &Store,
) -> Result<Inbound, Outcome> {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    parse_request(method, path, "", &headers, body, now(), store).map_err(|e| {
        let r = e.render(&platform());
        let content_type = r
            .headers
            .iter()
            .find(|(n, _)| *n == "Content-Type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Outcome {
            status: r.status,
            body: String::from_utf8(r.body).unwrap(),
            content_type,
        }
    })
}

fn pay(body: &[u8]) -> Result<Inbound, Outcome> {
    run(
        "POST",
        "/api/v2/pay",
        &bearer(),
        body,
        &Store::new(false, SignHash::Sha256),
    )
}

fn expect_envelope(result: Result<Inbound, Outcome>, http: u16, body: &str) {
    match result {
        Ok(ok) => panic!("accepted: {ok:?}"),
        Err(o) => {
            assert_eq!((o.status, o.body.as_str()), (http, body));
            assert_eq!(o.content_type, "application/json;charset=UTF-8");
        }
    }
}

/// A correctly sealed body around an arbitrary plaintext.
fn sealed_body(service: &str, plaintext: &[u8]) -> Vec<u8> {
    let s = sign::seal(plaintext, &cipher(false), &private_key(), SignHash::Sha256).unwrap();
    format!(
        r#"{{"service":"{service}","bizContent":"{}","sign":"{}"}}"#,
        s.biz_content, s.sign
    )
    .into_bytes()
}

#[test]
fn token_call_accepted() {
    let body = format!(r#"{{"appId":"{APP_ID}","appSecret":"{APP_SECRET}"}}"#);
    let store = Store::new(false, SignHash::Sha256);
    match run("POST", "/api/v2/auth/token", &[], body.as_bytes(), &store) {
        Ok(Inbound::Token { credentials }) => assert_eq!(credentials.app_id, APP_ID),
        other => panic!("{:?}", other.err().map(|o| o.body)),
    }
    let r = render_token_response("abc", 7200);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        br#"{"statusCode":0,"message":"success","data":{"token":"abc","expiresIn":7200}}"#
    );
}

#[test]
fn token_call_malformed_body_is_400() {
    let store = Store::new(false, SignHash::Sha256);
    for body in [
        &b"not json"[..],
        br#"{"appId":"app-test-1"}"#,
        br#"{"appId":1,"appSecret":"x"}"#,
        br#"[]"#,
    ] {
        expect_envelope(
            run("POST", "/api/v2/auth/token", &[], body, &store),
            400,
            r#"{"statusCode":400,"message":"invalid request body"}"#,
        );
    }
}

#[test]
fn token_call_wrong_credentials_is_401() {
    let store = Store::new(false, SignHash::Sha256);
    for body in [
        format!(r#"{{"appId":"{APP_ID}","appSecret":"wrong"}}"#),
        format!(r#"{{"appId":"other","appSecret":"{APP_SECRET}"}}"#),
    ] {
        expect_envelope(
            run("POST", "/api/v2/auth/token", &[], body.as_bytes(), &store),
            401,
            r#"{"statusCode":401,"message":"invalid appId or appSecret"}"#,
        );
    }
}

#[test]
fn pay_without_bearer_is_401() {
    let store = Store::new(false, SignHash::Sha256);
    let missing = r#"{"statusCode":401,"message":"missing bearer token"}"#;
    expect_envelope(
        run("POST", "/api/v2/pay", &[], f5_body().as_bytes(), &store),
        401,
        missing,
    );
    let basic = vec![("Authorization", "Basic abc".to_owned())];
    expect_envelope(
        run("POST", "/api/v2/pay", &basic, f5_body().as_bytes(), &store),
        401,
        missing,
    );
    // Bearer comes before the body check: a bad body without a token is still 401.
    expect_envelope(
        run("POST", "/api/v2/pay", &[], b"junk", &store),
        401,
        missing,
    );
}

#[test]
fn bearer_scheme_is_case_insensitive_with_one_space() {
    assert_eq!(parse_bearer(&[("authorization", "bearer tok")]), Ok("tok"));
    assert_eq!(parse_bearer(&[("AUTHORIZATION", "BEARER tok")]), Ok("tok"));
    assert_eq!(
        parse_bearer(&[("Authorization", "Bearer  tok")]),
        Err(EnvelopeError::MissingBearer)
    );
    assert_eq!(
        parse_bearer(&[("Authorization", "Bearer ")]),
        Err(EnvelopeError::MissingBearer)
    );
    assert_eq!(
        parse_bearer(&[("Authorization", "Bearertok")]),
        Err(EnvelopeError::MissingBearer)
    );
}

#[test]
fn unknown_or_expired_token_is_401() {
    let invalid = r#"{"statusCode":401,"message":"invalid or expired token"}"#;
    let store = Store::new(false, SignHash::Sha256);
    let unknown = vec![("Authorization", "Bearer nope".to_owned())];
    expect_envelope(
        run(
            "POST",
            "/api/v2/pay",
            &unknown,
            f5_body().as_bytes(),
            &store,
        ),
        401,
        invalid,
    );
    let mut expired = Store::new(false, SignHash::Sha256);
    expired.expires_at = now();
    expect_envelope(
        run(
            "POST",
            "/api/v2/pay",
            &bearer(),
            f5_body().as_bytes(),
            &expired,
        ),
        401,
        invalid,
    );
}

#[test]
fn malformed_envelope_is_4000() {
    let want = r#"{"statusCode":4000,"message":"invalid request body"}"#;
    for body in [
        &b"not json"[..],
        b"[1,2]",
        br#"{"service":"createOrder","bizContent":"AAAA"}"#,
        br#"{"service":"createOrder","bizContent":1,"sign":"x"}"#,
        br#"{"service":null,"bizContent":"x","sign":"x"}"#,
        b"\xff\xfe",
    ] {
        expect_envelope(pay(body), 200, want);
    }
}

#[test]
fn undecryptable_biz_content_is_4001() {
    let want = r#"{"statusCode":4001,"message":"bizContent decryption failed"}"#;
    let bad_padding = b64_encode(
        &cipher(false).encrypt(b"x")[..16]
            .iter()
            .map(|b| b ^ 0x55)
            .collect::<Vec<_>>(),
    );
    for biz in ["!!!notbase64", "", "AAAA", bad_padding.as_str()] {
        let body =
            format!(r#"{{"service":"createOrder","bizContent":"{biz}","sign":"{F4_SHA256}"}}"#);
        expect_envelope(pay(body.as_bytes()), 200, want);
    }
}

#[test]
fn bad_signature_is_4002() {
    let want = r#"{"statusCode":4002,"message":"signature verification failed"}"#;
    let other = private_key()
        .sign_b64(SignHash::Sha256, b"something else")
        .unwrap();
    for sig in [other.as_str(), "", "%%%"] {
        let body = format!(r#"{{"service":"createOrder","bizContent":"{F2_ECB}","sign":"{sig}"}}"#);
        expect_envelope(pay(body.as_bytes()), 200, want);
    }
    // The merchant's hash option is enforced: a SHA-1 signature fails for a SHA-256 merchant.
    let body = format!(r#"{{"service":"createOrder","bizContent":"{F2_ECB}","sign":"{F4_SHA1}"}}"#);
    expect_envelope(pay(body.as_bytes()), 200, want);
    // Signature is checked before the service name.
    let body = format!(r#"{{"service":"nope","bizContent":"{F2_ECB}","sign":"{other}"}}"#);
    expect_envelope(pay(body.as_bytes()), 200, want);
}

#[test]
fn non_object_plaintext_is_4003() {
    let want = r#"{"statusCode":4003,"message":"bizContent is not a JSON object"}"#;
    for p in [
        &b"[1]"[..],
        b"\"s\"",
        b"{\"a\":1",
        b"\xef\xbb\xbf{\"a\":1}",
        b"{\"a\":\xff}",
        br#"{"a":1,"a":2}"#,
        br#"{"a":1} x"#,
    ] {
        // Checked before the service name, so an unknown service still yields 4003.
        expect_envelope(pay(&sealed_body("nope", p)), 200, want);
    }
}

#[test]
fn unknown_service_is_4004() {
    expect_envelope(
        pay(&sealed_body("CreateOrder", P1.as_bytes())),
        200,
        r#"{"statusCode":4004,"message":"unknown service: CreateOrder"}"#,
    );
    expect_envelope(
        pay(&sealed_body("a/é", b"{}")),
        200,
        r#"{"statusCode":4004,"message":"unknown service: a/é"}"#,
    );
}

#[test]
fn internal_error_and_routing_rows() {
    let r = EnvelopeError::Internal.render();
    assert_eq!(
        (r.status, r.body.as_slice()),
        (
            500,
            &br#"{"statusCode":5000,"message":"internal error"}"#[..]
        )
    );
    let store = Store::new(false, SignHash::Sha256);
    expect_envelope(
        run("GET", "/api/v2/pay", &bearer(), b"", &store),
        405,
        r#"{"statusCode":405,"message":"method not allowed"}"#,
    );
    expect_envelope(
        run("POST", "/api/v3/pay", &bearer(), b"", &store),
        404,
        r#"{"statusCode":404,"message":"not found"}"#,
    );
}

#[test]
fn f5_is_accepted_as_create_order() {
    match pay(f5_body().as_bytes()) {
        Ok(Inbound::Pay {
            request: ServiceRequest::CreateOrder(o),
            credentials,
        }) => {
            assert_eq!(credentials.app_id, APP_ID);
            assert_eq!(
                (o.order_sn.as_str(), o.amount.cents(), o.payer_id),
                ("ORDER-0001", 9999, 10001)
            );
            assert_eq!((o.skip3ds, o.product.as_str()), (false, "T-shirt||Mug"));
        }
        other => panic!("{:?}", other.err().map(|o| o.body)),
    }
}

#[test]
fn invalid_parameter_is_a_sealed_business_failure() {
    let p = P1.replace("\"USD\"", "\"HKD\"");
    let err = match parse_request(
        "POST",
        "/api/v2/pay",
        "",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        &sealed_body("createOrder", p.as_bytes()),
        now(),
        &Store::new(false, SignHash::Sha256),
    ) {
        Err(e @ InboundError::Business { .. }) => e,
        other => panic!("{other:?}"),
    };
    let r = err.render(&platform());
    assert_eq!(r.status, 200);
    let client = Client::new("http://unused", merchant_keys(false, SignHash::Sha256));
    let v = client
        .parse_response::<serde_json::Value>(r.status, &r.body)
        .unwrap();
    assert!(v.signature_valid);
    let f = v.result.unwrap_err();
    assert_eq!(
        (f.error_code.as_str(), f.error_message.as_str()),
        ("INVALID_PARAMETER", "currency: must be USD")
    );
}

#[test]
fn business_error_rows_render_exact_plaintext() {
    let creds = credentials(true, SignHash::Sha1);
    for (code, message) in [
        (ErrorCode::PayerExists, "payer email already registered"),
        (ErrorCode::PayerNotFound, "payer not found"),
        (ErrorCode::DuplicateOrder, "order_sn already exists"),
        (ErrorCode::OrderNotFound, "order not found"),
        (
            ErrorCode::OrderStatusError,
            "order status does not allow refund",
        ),
        (ErrorCode::InsufficientBalance, "insufficient balance"),
        (ErrorCode::SystemError, "system error"),
    ] {
        let r = render_business_error(&creds, &platform(), &BusinessError::new(code));
        let env: ResponseEnvelope = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((env.status_code, env.message.as_str()), (0, "success"));
        let plain = sign::open(
            &env.biz_content.unwrap(),
            &env.sign.unwrap(),
            &cipher(true),
            &public_key(),
            SignHash::Sha1,
        )
        .unwrap();
        let want = format!(
            r#"{{"status":-1,"errorCode":"{}","errorMessage":"{message}","data":null}}"#,
            code.as_str()
        );
        assert_eq!(String::from_utf8(plain).unwrap(), want);
        let parsed: BizResponse<serde_json::Value> = serde_json::from_str(&want).unwrap();
        assert_eq!(parsed.status, -1);
    }
}

#[test]
fn credentials_debug_redacts_secrets() {
    let text = format!(
        "{:?} {:?}",
        credentials(true, SignHash::Sha256),
        merchant_keys(true, SignHash::Sha256)
    );
    assert!(!text.contains(APP_SECRET), "{text}");
    assert!(
        !text.contains(AES_KEY_B64) && !text.contains("MIIE"),
        "{text}"
    );
    assert!(text.contains(APP_ID));
}

#[test]
fn credentials_from_textual_settings() {
    use polypay_fintech33::{Credentials, Error};
    let c = Credentials::from_settings(
        APP_ID,
        APP_SECRET,
        AES_KEY_B64,
        "CBC",
        Some(CBC_IV_B64),
        "SHA1",
        PUBLIC_KEY_PKCS1_PEM,
    )
    .unwrap();
    assert_eq!(
        (c.sign_hash, c.cipher.encrypt_b64(P1.as_bytes())),
        (SignHash::Sha1, F3_CBC.to_owned())
    );
    assert!(c.secret_matches(APP_SECRET) && !c.secret_matches("s3cr3t-app-secreT"));
    let err = |mode, iv, hash, key| {
        Credentials::from_settings(APP_ID, APP_SECRET, AES_KEY_B64, mode, iv, hash, key)
            .unwrap_err()
    };
    assert!(matches!(
        err("GCM", None, "SHA256", PUBLIC_KEY_PEM),
        Error::InvalidSetting(_)
    ));
    assert!(matches!(
        err("CBC", None, "SHA256", PUBLIC_KEY_PEM),
        Error::InvalidAesIv
    ));
    assert!(matches!(
        err("ECB", None, "SHA512", PUBLIC_KEY_PEM),
        Error::InvalidSetting(_)
    ));
    assert!(matches!(
        err("ECB", None, "SHA256", PUBLIC_KEY_1024_PEM),
        Error::KeyTooSmall(1024)
    ));
}

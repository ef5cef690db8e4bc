//! Every test vector of spec §9, for the signer and for the verifier independently: signers are
//! checked against the literal canonical strings and signs; verifiers are fed the literal signs.

mod common;

use common::*;
use polypay_v2sha256::notify::{encode_callback, redirect_url};
use polypay_v2sha256::sign::{AuthorizationHeader, redirect_content, redirect_sign};
use polypay_v2sha256::wire::{Action, Callback, PaymentCreateData, PaymentData, PaymentStatus};
use polypay_v2sha256::{Client, Error, ErrorCode, RedirectParams, ResponseData};

const NONCE_UPPER: &str = "CEAE7940ADEEE91C5A1207F1BB78BE7F";
const NONCE_LOWER: &str = "0123456789abcdef0123456789abcdef";
const SIGN1: &str = "aa20a8ba4a5227b16bebb84073e5c423f56c76c3367c5ab6470b1c5c8720c4d4";
const SIGN2: &str = "a5a5797bc86cb23e72772f16b1412242cdcd66eb1d5b319bac312edc737198c5";
const SIGN3: &str = "53b2ae2f8250f2a682fe8ce263b05be1c8793bfae32a10e57e2f9a42b582051a";
const SIGN4: &str = "79d2caf9b141d66f19e0f8ab079177e987963b92497c7213e95ff2d5adcff005";
const SIGN5: &str = "96c9c0b06408d6f6a0a39fc25ffb1f41a196cfc14b501de0316de2fec3263193";
const SIGN6: &str = "8f82e0db6393847093228ded269b7829eb8d6655ecebde1e819e434808a3d25e";
const SIGN7: &str = "999cbe3dfed01faff24eea2336a54e35b63af09ee6816bf6e720cc98aa8aa683";

/// (line3, URL line, timestamp, nonce, body, sign) of vectors 1–6.
fn table() -> [(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
); 6] {
    [
        (
            "POST",
            "/v2/payment/create",
            "1715670758482",
            NONCE_UPPER,
            B0,
            SIGN1,
        ),
        (
            "POST",
            "https://gateway.example.com/v2/payment/create",
            "1715670758482",
            NONCE_UPPER,
            B0,
            SIGN2,
        ),
        (
            "POST",
            "/pg/v2/payment/create",
            "1715670758482",
            NONCE_LOWER,
            B1,
            SIGN3,
        ),
        (
            "POST",
            "https://gateway.example.com/pg/v2/payment/create",
            "1715670758482",
            NONCE_LOWER,
            B1,
            SIGN4,
        ),
        (
            "200",
            "/pg/v2/payment/create",
            "1715670759000",
            "fedcba9876543210fedcba9876543210",
            B2,
            SIGN5,
        ),
        (
            "POST",
            "/notify?src=pg",
            "1715670800000",
            "aaaaaaaabbbbbbbbccccccccdddddddd",
            B3,
            SIGN6,
        ),
    ]
}

#[test]
fn signer_content_and_sign_of_vectors_1_to_6() {
    for (i, (line3, url, ts, nonce, body, sign)) in table().into_iter().enumerate() {
        let content = credentials().content(line3, url, ts, nonce, body.as_bytes());
        let expected = format!("{APP_ID}\nEXAMPLE_SECRET\n{line3}\n{url}\n{ts}\n{nonce}\n{body}\n");
        assert_eq!(
            String::from_utf8(content).unwrap(),
            expected,
            "vector {}",
            i + 1
        );
        assert_eq!(
            credentials().sign(line3, url, ts, nonce, body.as_bytes()),
            sign,
            "vector {}",
            i + 1
        );
    }
}

#[test]
fn vector_1_full_header_and_doc_example_parse() {
    let h = credentials().authorize("POST", "/v2/payment/create", TS, NONCE_UPPER, B0.as_bytes());
    assert_eq!(
        format!("Authorization: {}", h.value()),
        "Authorization: V2_SHA256 appId=483f6c9c743b4a9bbd34bee0c9c81eb71,sign=aa20a8ba4a5227b16bebb84073e5c423f56c76c3367c5ab6470b1c5c8720c4d4,timestamp=1715670758482,nonce=CEAE7940ADEEE91C5A1207F1BB78BE7F"
    );
    let doc = "V2_SHA256 appId=483f6c9c743b4a9bbd34bee0c9c81eb71,sign=7cc24c5ed4eb9b97696260c51d38ce9cf959c242922689885f8b30bc6863a019,timestamp=1715670758482,nonce=CEAE7940ADEEE91C5A1207F1BB78BE7F";
    let parsed = AuthorizationHeader::parse(doc).unwrap();
    assert_eq!(parsed.app_id, APP_ID);
    assert_eq!(
        parsed.sign,
        "7cc24c5ed4eb9b97696260c51d38ce9cf959c242922689885f8b30bc6863a019"
    );
    assert_eq!(
        (parsed.timestamp.as_str(), parsed.nonce.as_str()),
        ("1715670758482", NONCE_UPPER)
    );
    // Its secret is unpublished: with ours the doc's sign must not verify.
    assert!(!credentials().verify(&parsed, "POST", "/v2/payment/create", B0.as_bytes()));
}

/// The server-side verifier, fed each request vector's literal sign, accepts it (B0 then fails
/// validation, which proves authentication passed) and refuses one-byte mutations.
#[test]
fn server_verifier_accepts_vectors_1_to_4() {
    let cases = [
        (SIGN1, NONCE_UPPER, B0, "/v2/payment/create", None),
        (
            SIGN2,
            NONCE_UPPER,
            B0,
            "/v2/payment/create",
            Some("gateway.example.com"),
        ),
        (SIGN3, NONCE_LOWER, B1, "/pg/v2/payment/create", None),
        (
            SIGN4,
            NONCE_LOWER,
            B1,
            "/pg/v2/payment/create",
            Some("gateway.example.com"),
        ),
    ];
    for (i, (sign, nonce, body, path, host)) in cases.into_iter().enumerate() {
        let build = |sign: &str, body: &[u8]| {
            let req = Req::post(path, &header(sign, "1715670758482", nonce), body);
            match host {
                Some(h) => req
                    .with_header("Host", h)
                    .with_header("X-Forwarded-Proto", "https"),
                None => req,
            }
        };
        let inbound = build(sign, body.as_bytes())
            .handle()
            .unwrap_or_else(|e| panic!("vector {}: {e:?}", i + 1));
        assert_eq!(inbound.auth.nonce.nonce, nonce);
        assert_eq!(inbound.auth.request_path, path);
        let validated = inbound.request.map(|_| ()).map_err(|e| e.code());
        let want = if body == B0 {
            Err(ErrorCode::ParamError)
        } else {
            Ok(())
        };
        assert_eq!(validated, want, "vector {}", i + 1);

        let mut mutated_body = body.as_bytes().to_vec();
        mutated_body[5] ^= 0x01;
        let refused = build(sign, &mutated_body).handle().unwrap_err();
        assert_eq!(triple(&refused).2, "signature verification failed");
        let mutated_sign = format!(
            "{}{}",
            &sign[..63],
            if sign.ends_with('0') { '1' } else { '0' }
        );
        assert!(
            build(&mutated_sign, body.as_bytes()).handle().is_err(),
            "vector {}",
            i + 1
        );
        // Upper-case hex is the same sign (§3.1).
        assert!(
            build(&sign.to_ascii_uppercase(), body.as_bytes())
                .handle()
                .is_ok()
        );
    }
}

#[test]
fn server_verifier_accepts_vector_2_via_public_base_url() {
    let req = Req::post(
        "/v2/payment/create",
        &header(SIGN2, "1715670758482", NONCE_UPPER),
        B0.as_bytes(),
    );
    assert!(
        req.handle_at(TS, None).is_err(),
        "no host known: must not verify"
    );
    assert!(
        req.handle_at(TS, Some("https://gateway.example.com/"))
            .is_ok()
    );
    let forwarded = req
        .with_header("X-Forwarded-Host", "gateway.example.com, internal:8080")
        .with_header("Host", "internal:8080");
    let mut forwarded = forwarded;
    forwarded.scheme = "https";
    assert!(forwarded.handle_at(TS, None).is_ok());
}

fn vector_3_authenticated() -> polypay_v2sha256::Authenticated {
    Req::post(
        "/pg/v2/payment/create",
        &header(SIGN3, "1715670758482", NONCE_LOWER),
        B1.as_bytes(),
    )
    .handle()
    .unwrap()
    .auth
}

fn b2_data() -> PaymentCreateData {
    PaymentCreateData {
        payment_no: "PAY202405140000000001".into(),
        merchant_trade_no: "ORD20240514001".into(),
        status: PaymentStatus::Pending,
        action: Action::redirect("https://pay.example.test/cashier/PAY202405140000000001"),
    }
}

#[test]
fn vector_5_response_signer() {
    let response = vector_3_authenticated().render_ok(
        &ResponseData::PaymentCreate(b2_data()),
        1_715_670_759_000,
        "fedcba9876543210fedcba9876543210",
    );
    assert_eq!(response.status, 200);
    assert_eq!(String::from_utf8(response.body.clone()).unwrap(), B2);
    assert_eq!(
        response.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(
        response.header("authorization").unwrap(),
        header(SIGN5, "1715670759000", "fedcba9876543210fedcba9876543210")
    );
}

#[test]
fn vector_5_response_verifier() {
    let client = Client::new("https://gateway.example.com/pg", credentials()).unwrap();
    let headers = vec![(
        "Authorization".to_owned(),
        header(SIGN5, "1715670759000", "fedcba9876543210fedcba9876543210"),
    )];
    let r = client
        .parse_response::<PaymentCreateData>("/pg/v2/payment/create", 200, &headers, B2.as_bytes())
        .unwrap();
    assert!(r.signature_verified && r.is_ok());
    assert_eq!(r.data, Some(b2_data()));
    let mutated = B2.replace("PENDING", "PENDINH");
    let r = client
        .parse_response::<serde_json::Value>(
            "/pg/v2/payment/create",
            200,
            &headers,
            mutated.as_bytes(),
        )
        .unwrap();
    assert!(!r.signature_verified);
    let r = client
        .parse_response::<PaymentCreateData>("/pg/v2/payment/create", 500, &headers, B2.as_bytes())
        .unwrap();
    assert!(!r.signature_verified, "status is signed");
    assert!(
        client
            .parse_response::<PaymentCreateData>("/v2/payment/create", 200, &headers, B2.as_bytes())
            .unwrap()
            .into_verified()
            .is_err()
    );
}

fn b3_callback() -> Callback {
    Callback::Payment(PaymentData {
        payment_no: "PAY202405140000000001".into(),
        merchant_trade_no: "ORD20240514001".into(),
        amount: "100.05".into(),
        currency: "INR".into(),
        status: PaymentStatus::Paid,
        description: "Test order".into(),
        merchant_attach: Some("a=1".into()),
        refunded_amount: "0.00".into(),
        created_time: "2024-05-14T07:12:38.482+00:00".into(),
        paid_time: Some("2024-05-14T07:13:20.000+00:00".into()),
    })
}

#[test]
fn vector_6_webhook_signer() {
    let request = encode_callback(
        &credentials(),
        "https://merchant.example.com/notify?src=pg",
        &b3_callback(),
        1_715_670_800_000,
        "aaaaaaaabbbbbbbbccccccccdddddddd",
    )
    .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://merchant.example.com/notify?src=pg");
    assert_eq!(String::from_utf8(request.body).unwrap(), B3);
    let auth = request
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .unwrap();
    assert_eq!(
        auth.1,
        header(SIGN6, "1715670800000", "aaaaaaaabbbbbbbbccccccccdddddddd")
    );
    assert!(request.headers.contains(&(
        "Content-Type".into(),
        "application/json;charset=UTF-8".into()
    )));
}

#[test]
fn vector_6_webhook_verifier() {
    let client = Client::new("https://gateway.example.com", credentials()).unwrap();
    let headers = [(
        "authorization",
        header(SIGN6, "1715670800000", "aaaaaaaabbbbbbbbccccccccdddddddd"),
    )];
    let verified = client
        .verify_callback("/notify?src=pg", &headers, B3.as_bytes())
        .unwrap();
    assert_eq!(verified.callback, b3_callback());
    assert_eq!(verified.timestamp_ms, 1_715_670_800_000);
    // Fresh at its own time and up to 300 s either side of it; a replay later is not.
    for now in [1_715_670_800_000, 1_715_670_500_000, 1_715_671_100_000] {
        verified.check_fresh(now).unwrap();
    }
    let stale = verified.check_fresh(1_715_671_100_001).unwrap_err();
    assert!(matches!(stale, Error::Stale { ms: -300_001 }));
    assert_eq!(
        stale.to_string(),
        "timestamp is 300.001 s old, outside the ±300 s window"
    );
    let ahead = verified.check_fresh(1_715_670_499_000).unwrap_err();
    assert_eq!(
        ahead.to_string(),
        "timestamp is 301.000 s ahead, outside the ±300 s window"
    );
    let short = polypay_v2sha256::VerifiedCallback {
        nonce: "short".into(),
        ..verified.clone()
    };
    assert!(matches!(
        short.check_fresh(1_715_670_800_000),
        Err(Error::BadNonce)
    ));
    let mutated = B3.replace("100.05", "900.05");
    assert!(matches!(
        client.verify_callback("/notify?src=pg", &headers, mutated.as_bytes()),
        Err(Error::BadSignature)
    ));
    assert!(matches!(
        client.verify_callback("/notify?src=pgx", &headers, B3.as_bytes()),
        Err(Error::BadSignature)
    ));
    let none: [(&str, &str); 0] = [];
    assert!(matches!(
        client.verify_callback("/notify?src=pg", &none, B3.as_bytes()),
        Err(Error::MissingAuthorization)
    ));
    let other = Client::new(
        "https://gateway.example.com",
        polypay_v2sha256::Credentials::new("other", SECRET),
    )
    .unwrap();
    assert!(matches!(
        other.verify_callback("/notify?src=pg", &headers, B3.as_bytes()),
        Err(Error::AppIdMismatch)
    ));
}

fn v7_params() -> RedirectParams {
    RedirectParams {
        merchant_trade_no: "ORD20240514001".into(),
        payment_no: "PAY202405140000000001".into(),
        status: PaymentStatus::Paid,
        amount: "100.05".into(),
        currency: "INR".into(),
        merchant_attach: Some("a=1".into()),
        timestamp_ms: 1_715_670_800_000,
        nonce: "00112233445566778899aabbccddeeff".into(),
    }
}

const V7_URL: &str = "https://merchant.example.com/return?merchantTradeNo=ORD20240514001&paymentNo=PAY202405140000000001&status=PAID&amount=100.05&currency=INR&merchantAttach=a%3D1&timestamp=1715670800000&nonce=00112233445566778899aabbccddeeff&sign=999cbe3dfed01faff24eea2336a54e35b63af09ee6816bf6e720cc98aa8aa683";

#[test]
fn vector_7_redirect_signer() {
    let pairs = v7_params().pairs();
    assert_eq!(
        redirect_content(&pairs, SECRET),
        "amount=100.05&currency=INR&merchantAttach=a=1&merchantTradeNo=ORD20240514001&nonce=00112233445566778899aabbccddeeff&paymentNo=PAY202405140000000001&status=PAID&timestamp=1715670800000&appSecret=EXAMPLE_SECRET"
    );
    assert_eq!(redirect_sign(&pairs, SECRET), SIGN7);
    assert_eq!(
        redirect_url("https://merchant.example.com/return", &v7_params(), SECRET),
        V7_URL
    );
}

#[test]
fn vector_7_redirect_verifier() {
    let client = Client::new("https://gateway.example.com", credentials()).unwrap();
    assert_eq!(client.verify_redirect(V7_URL).unwrap(), v7_params());
    // The merchant's own returnUrl parameters are not signed and do not disturb verification.
    let with_own = V7_URL.replace("/return?", "/return?session=xyz&");
    assert_eq!(client.verify_redirect(&with_own).unwrap(), v7_params());
    let mutated = V7_URL.replace("amount=100.05", "amount=100.06");
    assert!(matches!(
        client.verify_redirect(&mutated),
        Err(Error::BadSignature)
    ));
    let no_sign = V7_URL.split("&sign=").next().unwrap();
    assert!(matches!(
        client.verify_redirect(no_sign),
        Err(Error::MissingParameter("sign"))
    ));
}

#[test]
fn client_builder_reproduces_vectors_2_and_4() {
    let client = Client::new("https://gateway.example.com", credentials()).unwrap();
    let raw = client
        .build(
            polypay_v2sha256::Endpoint::PaymentCreate,
            B0.as_bytes().to_vec(),
            TS,
            NONCE_UPPER,
        )
        .unwrap();
    assert_eq!(raw.url, "https://gateway.example.com/v2/payment/create");
    assert_eq!(raw.path, "/v2/payment/create");
    assert!(raw.headers.contains(&(
        "Authorization".into(),
        header(SIGN2, "1715670758482", NONCE_UPPER)
    )));

    let client = Client::new("https://gateway.example.com/pg/", credentials()).unwrap();
    let req: polypay_v2sha256::wire::PaymentCreateRequest = serde_json::from_str(B1).unwrap();
    let prepared = client.build_payment_create(&req, TS, NONCE_LOWER).unwrap();
    assert_eq!(String::from_utf8(prepared.body.clone()).unwrap(), B1);
    assert_eq!(
        prepared.url,
        "https://gateway.example.com/pg/v2/payment/create"
    );
    assert_eq!(prepared.path, "/pg/v2/payment/create");
    assert!(prepared.headers.contains(&(
        "Authorization".into(),
        header(SIGN4, "1715670758482", NONCE_LOWER)
    )));
}

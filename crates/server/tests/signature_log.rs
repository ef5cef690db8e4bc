//! A live request that fails its signature: each front door marks its refusal, and with
//! `polypay::signature` at debug level the node logs the signature debugger's short explanation
//! (expected against implied string, key fingerprint, never the secret); at info, nothing.
//! Requests go through the whole router in-process, so the test's subscriber sees them.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use polypay_core::{Protocol, SignatureRejected};
use polypay_server::testing::{ChunkedBody, TestServer};
use polypay_server::{Overrides, build_router};
use polypay_store::testing::TestDb;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Takes the lines logged so far.
    fn take_lines(&self) -> Vec<String> {
        let text = self.text();
        self.0.lock().unwrap().clear();
        text.lines().map(str::to_owned).collect()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Logs of this thread go to the returned buffer, filtered by `filter`, while the guard lives.
fn capture(filter: &str) -> (Captured, tracing::subscriber::DefaultGuard) {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(out.clone())
        .with_ansi(false)
        .finish();
    (out.clone(), tracing::subscriber::set_default(subscriber))
}

async fn send(router: &Router, req: Request<Body>) -> Response {
    router.clone().oneshot(req).await.expect("infallible")
}

fn mark(r: &Response) -> Option<Protocol> {
    r.extensions()
        .get::<SignatureRejected>()
        .map(|SignatureRejected(p)| *p)
}

fn creds(s: &TestServer, protocol: &str, field: &str) -> String {
    s.credentials_of(protocol)[field]
        .as_str()
        .expect(field)
        .to_owned()
}

fn now_ms(s: &TestServer) -> i64 {
    s.engine().clock().now().0
}

/// The first 8 hex digits of SHA-256, as the debugger shows a key.
fn fingerprint(key: &str) -> String {
    polypay_v2sha256::sign::sha256_hex(key.as_bytes())[..8].to_owned()
}

fn post_json(path: &str, headers: &[(&str, &str)], body: String) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/json");
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.body(Body::from(body)).expect("request")
}

/// A PassToPay query; `mistaken` signs it the usual wrong way, with an empty parameter kept.
fn passtopay(s: &TestServer, mistaken: bool) -> Request<Body> {
    use polypay_passtopay::sign::{java_case_insensitive_cmp, md5_upper_hex, sign_pairs};
    let secret = creds(s, "passtopay", "appSecret");
    let pairs: Vec<(String, String)> = [
        ("mchNo", creds(s, "passtopay", "mchNo")),
        ("appId", creds(s, "passtopay", "appId")),
        ("reqTime", now_ms(s).to_string()),
        ("version", "1.1".into()),
        ("signType", "MD5".into()),
        ("mchOrderNo", "sig-log-1".into()),
        ("extParam", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let sign = if mistaken {
        let mut entries: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        entries.sort_by(|a, b| java_case_insensitive_cmp(a, b));
        md5_upper_hex(&format!("{}key={secret}", entries.concat()))
    } else {
        sign_pairs(&pairs, &secret)
    };
    let mut body: serde_json::Map<String, Value> =
        pairs.into_iter().map(|(k, v)| (k, json!(v))).collect();
    body.insert("sign".into(), json!(sign));
    post_json("/api/pay/query", &[], Value::Object(body).to_string())
}

/// A signed BlockATM payment detail query; `forged` sends a signature of zeros.
fn blockatm(s: &TestServer, forged: bool) -> Request<Body> {
    use polypay_blockatm::sign::{canonical_get, hmac_hex};
    let time = now_ms(s).to_string();
    let query = "orderNo=sig-log-1";
    let signature = if forged {
        "0".repeat(64)
    } else {
        hmac_hex(
            &creds(s, "blockatm", "secretKey"),
            &canonical_get(Some(query), &time),
        )
    };
    Request::get(format!("/order/api/v2/payorder/detail?{query}"))
        .header("BlockATM-API-Key", creds(s, "blockatm", "apiKey"))
        .header("BlockATM-Request-Time", time)
        .header("BlockATM-Signature-V2", signature)
        .body(Body::empty())
        .expect("request")
}

/// An OTT Pay status query; `wrong_md5` encrypts under the key of another summary's md5.
fn ottpay(s: &TestServer, wrong_md5: bool) -> Request<Body> {
    use polypay_ottpay::SignKey;
    use polypay_ottpay::sign::{derive_aes_key, encrypt, seal};
    let key = SignKey::new(creds(s, "ottpay", "signKey"));
    let data = r#"{"order_id":"sig-log-1"}"#;
    let (data, md5) = if wrong_md5 {
        let md5 = polypay_passtopay::sign::md5_upper_hex("not the summary");
        (encrypt(data.as_bytes(), &derive_aes_key(&md5, &key)), md5)
    } else {
        let sealed = seal(data, &key).expect("seal");
        (sealed.data, sealed.md5)
    };
    let merchant_id = creds(s, "ottpay", "merchant_id");
    let body = json!({"action": "STATUS_QUERY", "version": "1.0", "merchant_id": merchant_id, "data": data, "md5": md5});
    post_json("/processV2", &[], body.to_string())
}

/// A V2_SHA256 payment query; `lower_case` signs the method as `post`.
fn v2sha256(s: &TestServer, lower_case: bool, nonce: &str) -> Request<Body> {
    let c = polypay_v2sha256::sign::Credentials::new(
        creds(s, "v2sha256", "appId"),
        creds(s, "v2sha256", "appSecret"),
    );
    let path = "/pg/v2/payment/query";
    let body = r#"{"merchantTradeNo":"sig-log-1"}"#;
    let method = if lower_case { "post" } else { "POST" };
    let now = u64::try_from(now_ms(s)).expect("after 1970");
    let auth = c.authorize(method, path, now, nonce, body.as_bytes());
    post_json(path, &[("authorization", &auth.value())], body.to_owned())
}

/// A 33 Fintech token for the test merchant.
async fn fintech33_token(s: &TestServer, router: &Router) -> String {
    let body = json!({"appId": creds(s, "fintech33", "appId"), "appSecret": creds(s, "fintech33", "appSecret")});
    let response = send(
        router,
        post_json("/api/v2/auth/token", &[], body.to_string()),
    )
    .await;
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let answer: Value = serde_json::from_slice(&bytes).expect("json");
    answer["data"]["token"].as_str().expect("token").to_owned()
}

/// A 33 Fintech order query; `sha1` signs with the other hash than the merchant's SHA256.
fn fintech33(s: &TestServer, token: &str, sha1: bool) -> Request<Body> {
    use polypay_fintech33::sign::{BizCipher, RsaPrivateKey, SignHash, seal};
    let cipher = BizCipher::from_base64(&creds(s, "fintech33", "aesKey"), None).expect("aes");
    let key = RsaPrivateKey::from_text(&creds(s, "fintech33", "rsaPrivateKey")).expect("rsa");
    let plain = r#"{"orderSn":"sig-log-1"}"#;
    let mut sealed = seal(plain.as_bytes(), &cipher, &key, SignHash::Sha256).expect("seal");
    if sha1 {
        sealed.sign = key
            .sign_b64(SignHash::Sha1, plain.as_bytes())
            .expect("sign");
    }
    let body =
        json!({"service": "queryOrder", "bizContent": sealed.biz_content, "sign": sealed.sign});
    let bearer = format!("Bearer {token}");
    post_json(
        "/api/v2/pay",
        &[("authorization", &bearer)],
        body.to_string(),
    )
}

#[tokio::test]
async fn every_front_door_marks_a_refused_signature_and_only_that() {
    let s = TestServer::start().await;
    let router = build_router(s.state.clone());
    let token = fintech33_token(&s, &router).await;
    let cases = [
        (
            Protocol::Passtopay,
            passtopay(&s, false),
            passtopay(&s, true),
        ),
        (Protocol::Blockatm, blockatm(&s, false), blockatm(&s, true)),
        (Protocol::Ottpay, ottpay(&s, false), ottpay(&s, true)),
        (
            Protocol::V2sha256,
            v2sha256(&s, false, "nonce-mark-good-0001"),
            v2sha256(&s, true, "nonce-mark-bad-00001"),
        ),
        (
            Protocol::Fintech33,
            fintech33(&s, &token, false),
            fintech33(&s, &token, true),
        ),
    ];
    for (protocol, good, bad) in cases {
        let answered = send(&router, good).await;
        assert_eq!(mark(&answered), None, "{protocol}: a valid signature");
        let refused = send(&router, bad).await;
        assert_eq!(mark(&refused), Some(protocol), "{protocol}: a wrong one");
    }
    // Refusals for other reasons are not marked.
    let unknown = post_json(
        "/api/pay/query",
        &[],
        r#"{"mchNo":"M0","appId":"A0","sign":"X"}"#.into(),
    );
    assert_eq!(mark(&send(&router, unknown).await), None);
}

#[tokio::test]
async fn a_refused_signature_is_explained_at_debug_level_without_the_secret() {
    let s = TestServer::start().await;
    let router = build_router(s.state.clone());
    let (log, _guard) = capture("polypay::signature=debug");

    send(&router, passtopay(&s, false)).await;
    assert_eq!(log.take_lines(), Vec::<String>::new(), "a valid signature");

    send(&router, passtopay(&s, true)).await;
    let lines = log.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    let secret = creds(&s, "passtopay", "appSecret");
    assert!(
        line.contains("signature rejected") && line.contains("protocol=passtopay"),
        "{line}"
    );
    assert!(
        line.contains("It does verify over a variant: empty parameters included")
            && line.contains("differs from the implied string at char"),
        "the expected and implied strings compared: {line}"
    );
    assert!(line.contains(&fingerprint(&secret)), "{line}");
    assert!(!line.contains(&secret), "never the secret: {line}");

    let refused = send(&router, v2sha256(&s, true, "nonce-log-bad-000001")).await;
    assert_eq!(refused.status(), 401);
    let lines = log.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    let secret = creds(&s, "v2sha256", "appSecret");
    assert!(line.contains("protocol=v2sha256"), "{line}");
    assert!(
        line.contains("It does verify over a variant: the method in lower case")
            && line.contains("differs from the implied string at char"),
        "{line}"
    );
    assert!(
        line.contains(&fingerprint(&secret)) && line.contains("within"),
        "{line}"
    );
    assert!(!line.contains(&secret), "{line}");

    let forged = send(&router, blockatm(&s, true)).await;
    assert_eq!(forged.status(), 200);
    let lines = log.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let api_key = creds(&s, "blockatm", "apiKey");
    assert!(lines[0].contains("protocol=blockatm"), "{lines:?}");
    assert!(
        !lines[0].contains(&api_key) && !lines[0].contains(&creds(&s, "blockatm", "secretKey"))
    );
}

#[tokio::test]
async fn at_info_level_nothing_is_logged_and_the_answer_is_the_same() {
    let s = TestServer::start().await;
    let router = build_router(s.state.clone());
    let body = |r: Response| async move {
        let status = r.status();
        (
            status,
            axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .expect("body"),
        )
    };
    let quiet = {
        let (log, _guard) = capture("info");
        let answer = body(send(&router, v2sha256(&s, true, "nonce-info-bad-00001")).await).await;
        send(&router, passtopay(&s, true)).await;
        assert_eq!(log.text(), "", "nothing logged at info");
        answer
    };
    let (_log, _guard) = capture("polypay::signature=debug");
    let explained = body(send(&router, v2sha256(&s, true, "nonce-info-bad-00002")).await).await;
    assert_eq!(quiet, explained, "explaining never changes the answer");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_the_same_way_while_explaining() {
    let overrides = Overrides {
        body_limit_bytes: Some(1024),
        ..Default::default()
    };
    let s = TestServer::start_on(TestDb::sqlite(), overrides).await;
    let router = build_router(s.state.clone());
    let answer = |router: Router| async move {
        let req = Request::post("/api/pay/query")
            .header("content-type", "application/json")
            // Sent in chunks without a length: only reading it finds it too large.
            .body(ChunkedBody::body(4, false).0)
            .expect("request");
        let r = send(&router, req).await;
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("body");
        // PassToPay's envelope; its trace id differs from one answer to the next.
        let mut envelope: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        envelope["traceId"].take();
        (status, envelope)
    };
    let plain = answer(router.clone()).await;
    assert_eq!(plain.0, 200, "{plain:?}");
    assert_eq!(plain.1["msg"], "invalid request body", "{plain:?}");
    let (_log, _guard) = capture("polypay::signature=debug");
    assert_eq!(answer(router).await, plain);
}

//! The signature debugger over HTTP, one protocol at a time: a correctly signed request is
//! "valid"; a request signed with a usual mistake shows the expected string, the string the
//! request implies, where they differ and the time-window verdict, and never the secret.

mod console_support;

use console_support::Operator;
use polypay_server::testing::TestServer;
use serde_json::{Value, json};

/// Posts the debugger form; returns the page.
async fn explain(op: &Operator, fields: &[(&str, String)]) -> String {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = op.post("/console/signature", &fields).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

fn verdict(page: &str) -> &str {
    let marker = "id=\"sig-verdict\">";
    let start = page
        .find(marker)
        .map(|i| i + marker.len())
        .expect("a verdict");
    page[start..].split('<').next().unwrap_or_default()
}

fn creds(s: &TestServer, protocol: &str, field: &str) -> String {
    s.credentials_of(protocol)[field]
        .as_str()
        .expect(field)
        .to_string()
}

fn now_ms(s: &TestServer) -> i64 {
    s.engine().clock().now().0
}

#[tokio::test(flavor = "multi_thread")]
async fn passtopay_a_signature_over_empty_parameters_is_explained() {
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let secret = creds(&s, "passtopay", "appSecret");
    let mut pairs: Vec<(String, String)> = [
        ("mchNo", creds(&s, "passtopay", "mchNo")),
        ("appId", creds(&s, "passtopay", "appId")),
        ("reqTime", now_ms(&s).to_string()),
        ("version", "1.1".into()),
        ("signType", "MD5".into()),
        ("mchOrderNo", "sig-p1".into()),
        ("wayCode", "ALI_QR".into()),
        ("amount", "100".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let good = polypay_passtopay::sign::sign_pairs(&pairs, &secret);
    let body = |pairs: &[(String, String)], sign: &str| {
        let mut m: serde_json::Map<String, Value> =
            pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        m.insert("sign".into(), json!(sign));
        Value::Object(m).to_string()
    };
    let form = |b: String| {
        vec![
            ("protocol", "passtopay".to_string()),
            ("method", "POST".into()),
            ("target", "/api/pay/unifiedOrder".into()),
            ("headers", "Content-Type: application/json".into()),
            ("body", b),
        ]
    };
    let valid = explain(&op, &form(body(&pairs, &good))).await;
    assert_eq!(verdict(&valid), "valid", "{valid}");
    assert!(
        valid.contains("key=‹appSecret›") && !valid.contains(&secret),
        "the secret is masked"
    );

    // A merchant whose code keeps empty values in the string it signs.
    pairs.push(("channelExtra".into(), String::new()));
    let mut entries: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}&")).collect();
    entries.sort_by(|a, b| polypay_passtopay::sign::java_case_insensitive_cmp(a, b));
    let wrong =
        polypay_passtopay::sign::md5_upper_hex(&format!("{}key={secret}", entries.concat()));
    let page = explain(&op, &form(body(&pairs, &wrong))).await;
    assert_eq!(verdict(&page), "does not match", "{page}");
    assert!(page.contains("empty parameters included"), "{page}");
    assert!(
        page.contains("id=\"sig-implied\"") && page.contains("<ins title=\"in the request only\">"),
        "{page}"
    );
    assert!(page.contains("channelExtra"));
    assert!(page.contains("fingerprint <code class=\"fp\">"));
    assert!(!page.contains(&secret), "the secret never appears");
    assert!(
        page.contains("not enforced for this merchant"),
        "the reqTime verdict: {page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blockatm_unsorted_members_and_a_stale_time_are_explained() {
    use polypay_blockatm::sign::{EcSigningKey, canonical_post, hmac_hex, parse_body};
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let secret = creds(&s, "blockatm", "secretKey");
    let api_key = creds(&s, "blockatm", "apiKey");
    let body = r#"{"orderNo":"sig-b1","amount":"1.50","extra":{"z":"1","a":"2"}}"#;
    let time = now_ms(&s).to_string();
    let canonical = canonical_post(&parse_body(body.as_bytes()).unwrap(), &time);
    let headers = |time: &str, sig_header: &str, sig: &str| {
        format!(
            "BlockATM-API-Key: {api_key}\nBlockATM-Request-Time: {time}\n{sig_header}: {sig}\nContent-Type: application/json"
        )
    };
    let ask = |headers: String| {
        vec![
            ("protocol", "blockatm".to_string()),
            ("method", "POST".into()),
            ("target", "/order/api/v2/pay/order".into()),
            ("headers", headers),
            ("body", body.into()),
        ]
    };
    let valid = explain(
        &op,
        &ask(headers(
            &time,
            "BlockATM-Signature-V2",
            &hmac_hex(&secret, &canonical),
        )),
    )
    .await;
    assert_eq!(verdict(&valid), "valid", "{valid}");
    assert!(
        valid.contains("amount=1.50&amp;a=2&amp;z=1&amp;orderNo=sig-b1&amp;time="),
        "{valid}"
    );

    let ec = EcSigningKey::parse(&creds(&s, "blockatm", "ecPrivateKey")).unwrap();
    let v1 = explain(
        &op,
        &ask(headers(
            &time,
            "BlockATM-Signature-V1",
            &ec.sign(&canonical).unwrap(),
        )),
    )
    .await;
    assert_eq!(
        verdict(&v1),
        "valid",
        "V1 ECDSA with the registered key: {v1}"
    );
    assert!(v1.contains("V1 registered EC public key"));

    let stale = (now_ms(&s) - 120_000).to_string();
    let unsorted = format!("orderNo=sig-b1&amount=1.50&z=1&a=2&time={stale}");
    let page = explain(
        &op,
        &ask(headers(
            &stale,
            "BlockATM-Signature-V2",
            &hmac_hex(&secret, &unsorted),
        )),
    )
    .await;
    assert_eq!(verdict(&page), "does not match", "{page}");
    assert!(
        page.contains("members in the order sent, not sorted"),
        "{page}"
    );
    assert!(
        page.contains("id=\"sig-window\">refused"),
        "a 2-minute-old request is outside 30 s: {page}"
    );
    assert!(page.contains("<del title=\"expected only\">"), "{page}");
    assert!(!page.contains(&secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn v2sha256_a_lower_case_method_and_the_url_candidates_are_explained() {
    use polypay_v2sha256::sign::Credentials;
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let c = Credentials::new(
        creds(&s, "v2sha256", "appId"),
        creds(&s, "v2sha256", "appSecret"),
    );
    let body = r#"{"amount":"100.05","currency":"INR","orderId":"sig-v1"}"#;
    let host = s.base_url.trim_start_matches("http://").to_string();
    let url = format!("{}/pg/v2/payment/create", s.base_url);
    let nonce = "0123456789abcdef0123456789abcdef";
    let now = u64::try_from(now_ms(&s)).unwrap();
    let ask = |auth: String| {
        vec![
            ("protocol", "v2sha256".to_string()),
            ("method", "POST".into()),
            ("target", "/pg/v2/payment/create".into()),
            ("headers", format!("Host: {host}\nAuthorization: {auth}")),
            ("body", body.into()),
        ]
    };
    let good = ask(c
        .authorize("POST", &url, now, nonce, body.as_bytes())
        .value());
    let valid = explain(&op, &good).await;
    assert_eq!(verdict(&valid), "valid", "{valid}");
    assert!(
        valid.contains("the absolute URL from the Host header"),
        "{valid}"
    );
    assert!(valid.contains("‹appSecret›↵") && !valid.contains(&c.app_secret));

    let old = now - 600_000;
    let bad = ask(c
        .authorize("post", &url, old, nonce, body.as_bytes())
        .value());
    let page = explain(&op, &bad).await;
    assert_eq!(verdict(&page), "does not match", "{page}");
    assert!(
        page.contains(
            "the method in lower case, with the URL as the absolute URL from the Host header"
        ),
        "{page}"
    );
    assert!(
        page.contains("id=\"sig-window\">refused") && page.contains("600 s from now"),
        "{page}"
    );
    assert!(!page.contains(&c.app_secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn ottpay_an_unsorted_summary_and_a_wrong_key_are_explained() {
    use polypay_ottpay::SignKey;
    use polypay_ottpay::sign::{derive_aes_key, encrypt, seal};
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let sign_key = creds(&s, "ottpay", "signKey");
    let merchant_id = creds(&s, "ottpay", "merchant_id");
    let data = r#"{"order_id":"sig-o1","amount":"100","Tip":"0"}"#;
    let envelope = |data: &str, md5: &str| {
        json!({"action": "ACTIVEPAY", "version": "1.0", "merchant_id": merchant_id, "data": data, "md5": md5}).to_string()
    };
    let ask = |body: String| {
        vec![
            ("protocol", "ottpay".to_string()),
            ("method", "POST".into()),
            ("target", "/processV2".into()),
            ("body", body),
        ]
    };
    let sealed = seal(data, &SignKey::new(sign_key.clone())).unwrap();
    let valid = explain(&op, &ask(envelope(&sealed.data, &sealed.md5))).await;
    assert_eq!(verdict(&valid), "valid", "{valid}");
    assert!(
        valid.contains("id=\"sig-expected\">0100sig-o1<"),
        "values by key byte order: {valid}"
    );

    let md5 = polypay_passtopay::sign::md5_upper_hex("sig-o11000");
    let key = derive_aes_key(&md5, &SignKey::new(sign_key.clone()));
    let page = explain(&op, &ask(envelope(&encrypt(data.as_bytes(), &key), &md5))).await;
    assert_eq!(verdict(&page), "does not match", "{page}");
    assert!(
        page.contains("values in the order sent, not sorted"),
        "{page}"
    );
    assert!(page.contains("no time window"));

    let other = seal(data, &SignKey::new("0000000000000000")).unwrap();
    let undecryptable = explain(&op, &ask(envelope(&other.data, &other.md5))).await;
    assert!(
        undecryptable.contains("cannot be decrypted"),
        "{undecryptable}"
    );
    assert!(!undecryptable.contains(&sign_key) && !page.contains(&sign_key));
}

#[tokio::test(flavor = "multi_thread")]
async fn fintech33_a_signature_over_re_serialised_json_is_explained() {
    use polypay_fintech33::sign::{BizCipher, RsaPrivateKey, SignHash, seal};
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let cipher = BizCipher::from_base64(&creds(&s, "fintech33", "aesKey"), None).unwrap();
    let key = RsaPrivateKey::from_text(&creds(&s, "fintech33", "rsaPrivateKey")).unwrap();
    let plain = r#"{"amount": 10, "currency": "USD"}"#;
    let merchant = s.merchant.id.to_string();
    let ask = |biz: &str, sign: &str| {
        let body = json!({"service": "createOrder", "bizContent": biz, "sign": sign}).to_string();
        vec![
            ("protocol", "fintech33".to_string()),
            ("merchant", merchant.clone()),
            ("target", "/api/v2/pay".into()),
            ("body", body),
        ]
    };
    let sealed = seal(plain.as_bytes(), &cipher, &key, SignHash::Sha256).unwrap();
    let valid = explain(&op, &ask(&sealed.biz_content, &sealed.sign)).await;
    assert_eq!(verdict(&valid), "valid", "{valid}");
    assert!(
        valid.contains("registered RSA public key (2048 bits, SHA256)"),
        "{valid}"
    );

    let compact = key
        .sign_b64(SignHash::Sha256, br#"{"amount":10,"currency":"USD"}"#)
        .unwrap();
    let page = explain(&op, &ask(&sealed.biz_content, &compact)).await;
    assert_eq!(verdict(&page), "does not match", "{page}");
    assert!(page.contains("the JSON re-serialised compactly"), "{page}");
    assert!(
        page.contains("<del title=\"expected only\"> </del>"),
        "the spaces are the difference: {page}"
    );

    // The other way round, as Python's json.dumps writes it: compact bytes encrypted, the
    // re-serialised ones (", ", ": ", non-ASCII as \u) signed (QA).
    let tight = r#"{"product":"Café/1","amount":10}"#;
    let sealed_tight = seal(tight.as_bytes(), &cipher, &key, SignHash::Sha256).unwrap();
    let python = key
        .sign_b64(
            SignHash::Sha256,
            br#"{"product": "Caf\u00e9/1", "amount": 10}"#,
        )
        .unwrap();
    let page = explain(&op, &ask(&sealed_tight.biz_content, &python)).await;
    assert_eq!(verdict(&page), "does not match", "{page}");
    assert!(
        page.contains("Python&#39;s json.dumps writes it")
            || page.contains("Python's json.dumps writes it"),
        "{page}"
    );
    let php = key
        .sign_b64(
            SignHash::Sha256,
            br#"{"product":"Caf\u00e9\/1","amount":10}"#,
        )
        .unwrap();
    let page = explain(&op, &ask(&sealed_tight.biz_content, &php)).await;
    assert!(page.contains("PHP"), "{page}");

    let sha1 = key.sign_b64(SignHash::Sha1, plain.as_bytes()).unwrap();
    let hashed = explain(&op, &ask(&sealed.biz_content, &sha1)).await;
    assert!(
        hashed.contains("hashed with SHA1 instead of SHA256"),
        "{hashed}"
    );
    assert!(hashed.contains("identical: the difference is in the key or the hash"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_merchant_is_reported_not_guessed() {
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let fields = [
        ("protocol", "passtopay".to_string()),
        ("target", "/api/pay/query".into()),
        ("body", r#"{"mchNo":"M0","sign":"X"}"#.into()),
    ];
    let page = explain(&op, &fields).await;
    assert_eq!(verdict(&page), "not checked");
    assert!(page.contains("No merchant found"));
    let empty = op.get("/console/signature").await;
    assert!(empty.body.contains("id=\"sig-check\""));
}

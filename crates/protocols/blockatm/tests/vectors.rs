//! Every test vector of spec section 9, for the signer and the verifier independently.

use polypay_blockatm::sign::widget::{
    WidgetSignatureError, sign_query_v2, v2_message, verify_query,
};
use polypay_blockatm::sign::{
    EcPublicKey, EcSigningKey, Scheme, canonical_get, canonical_post, hmac_hex, hmac_verify,
    parse_body,
};

const T1_PUBLIC: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsjqDDEF5uuVoAFCxftskpMszLQMro888rFlrowcTzVibc4J2PgDywFZYXc6x21yHcenJ2bCZ/03XkMrbKqqEwA==";
const T1_PRIVATE: &str =
    "MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCAaXAqWZaVeWG4zQWjAT+RqFUwMKfLIAOQQqi6a3JObrg==";
const T1_BODY: &str = r#"{"amount":"13.410037","chainId":"5","custNo":"OrderNO_123456","fee":"2","merchantId":null,"network":"TRON","orderNo":null,"paySymbol":null,"platOrderNo":"8210000374","status":1,"symbol":"USDT","txId":"1t","type":1}"#;
const T1_CANONICAL: &str = "amount=13.410037&chainId=5&custNo=OrderNO_123456&fee=2&network=TRON&platOrderNo=8210000374&status=1&symbol=USDT&txId=1t&type=1&time=1696947336603";
const T1_SIGNATURE: &str = "MEYCIQDHxQ0IhgUNbRqTKbU71fBkp+lAJlMXEQYt6mDQfWRY7gIhAMWIpVoG6qBhgIPi30x30wLlAaxyhptZfm6nMRz75VxA";

const T2_SECRET: &str = "sk_ci_QOoPSlHDSsgXYeNyTP2i0ug1HKLRjHw9Ug7mCc1Q0";
const T2_MESSAGE: &str =
    "apiKey=pk_payment_my3T68cbuIXf1x3QOEbWtFEfcJPxeBr8wTewDVM&custNo=C86002201&orderNo=C202503225";
const T2_SIGNATURE: &str = "5b2419abcb925389c3f6cb42f35eed85ec36b95578a9d25ee500f9fafdeb08dc";

const T3_BODY: &str = r#"{"blockId":"10168195","chainId":"5","contractAddress":"0x57609702e66d6dee9d1f3a9fab376b95b9ec9e02","detailList":[{"amount":"1.00000000","orderNo":"TX1","symbol":"USDT","toAddress":"0x2d7ff2dc166ae09542c749be052028e43825cde7","tokenAddress":"0x92efdfa35c75b259375ebe0f84ee1d95db0489b6"},{"amount":"1.00000000","orderNo":"TX2","symbol":"USDC","toAddress":"0x2d7ff2dc166ae09542c749be052028e43825cde7","tokenAddress":"0x2f96275bbb4a54714ef0251226c42811fb9f98aa"}],"fromAddress":"0x8e5df55ac224db7424fa8536eda9356f44474936","merchantId":20,"network":"ETH","txId":"0xa85f090dc5e722177ddc2cd2d4d87467820635cf736ec1a5910997118e3d3cb6"}"#;
const T3_CANONICAL: &str = "blockId=10168195&chainId=5&contractAddress=0x57609702e66d6dee9d1f3a9fab376b95b9ec9e02&amount=1.00000000&orderNo=TX1&symbol=USDT&toAddress=0x2d7ff2dc166ae09542c749be052028e43825cde7&tokenAddress=0x92efdfa35c75b259375ebe0f84ee1d95db0489b6&amount=1.00000000&orderNo=TX2&symbol=USDC&toAddress=0x2d7ff2dc166ae09542c749be052028e43825cde7&tokenAddress=0x2f96275bbb4a54714ef0251226c42811fb9f98aa&fromAddress=0x8e5df55ac224db7424fa8536eda9356f44474936&merchantId=20&network=ETH&txId=0xa85f090dc5e722177ddc2cd2d4d87467820635cf736ec1a5910997118e3d3cb6&time=1696947336603";
const T3_HMAC: &str = "02620cdc93b5081fade4522d38d4122c97395a28db53a32a7373281d32f5e94b";
const T3_ECDSA: &str = "MEYCIQCie0jZLy9v7v0xXx5DQ5/k2L0n9q4fRHV4D0pd+QIwWwIhAOlTDaIx50ZN9jH6dd5G2/wb/DhZR96LG7iLwAi+vfje";

const KEY: &str = "sck_QOoPSlHDSsgXYeNyTP2i0ug1HKLRjHw9Ug7mCc1Q0";
const T4_BODY: &str = r#"{"bizOrderNo":"B234569885XASA953ASDSAD","amount":44,"chainId":"11155111","symbol":"USDT","toAddress":"0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2","custNo":"473_860001","remark":"demo for create payout order","merchantId":286000260}"#;
const T4_CANONICAL: &str = "amount=44&bizOrderNo=B234569885XASA953ASDSAD&chainId=11155111&custNo=473_860001&merchantId=286000260&remark=demo for create payout order&symbol=USDT&toAddress=0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2&time=1743060268000";
const T4_HMAC: &str = "18c25259e7802bbb1b0a62198600aeafd14d7dcfc20bc36a5121c39e422c4551";
const T4P_HMAC: &str = "ee38925814c961402c29bd95adbccf52f125c930edffa65da486929c32bd246b";
const T5_CANONICAL: &str = "custNo=86000123&lang=zh-CN&orderNo=202504001399&time=1742723373000";
const T5_HMAC: &str = "8af78986868737de292b2eac4225290f8699dbd320f9f6457d4c78a820a1b3bb";
const T6_BODY: &str = r#"{"amount":"999","cashierId":91,"chainId":"11155111","custNo":"cust00001","fromAddress":"0xa9e358e33a57e67c9b84618a52f0194c345c8e35","id":8210003764,"network":"Ethereum","status":9,"symbol":"USDT","txId":"0x1da59f33aa6f6b435514126e26d5622c3e377e4762579aa0ac0130139625853d"}"#;
const T6_CANONICAL: &str = "amount=999&cashierId=91&chainId=11155111&custNo=cust00001&fromAddress=0xa9e358e33a57e67c9b84618a52f0194c345c8e35&id=8210003764&network=Ethereum&status=9&symbol=USDT&txId=0x1da59f33aa6f6b435514126e26d5622c3e377e4762579aa0ac0130139625853d&time=1743060268000";
const T6_HMAC: &str = "dc6eb4a1d14c5db3f48c6d66f8ba4697d1ddd99bf8bbaf87eefcb4bf5db3d963";
const T7_HMAC: &str = "5b02b36a424ffcb928d8f14d08cf5ea92b273aea81df2bf97812eb5ec3cbe799";
const T8_HMAC: &str = "84272a0cf09d7214cfb1010da9bf5260eab9099d9df351d0851dc77bf6abe076";
const T9_BODY: &str = r#"{"b":"","a":null,"C":true,"n":1.50,"arr":[3,"x",{"z":"1","y":null}],"obj":{"k2":"v","k1":[]},"e":{}}"#;
const T9_CANONICAL: &str = "C=true&3&x&z=1&b=&n=1.50&k2=v&time=1700000000000";
const T9_HMAC: &str = "60892828dc622be29192e0af43ce56328d40c62ca12f94748fa39f2b618c2a04";

/// Flips one character of `text` at `at` to another allowed character.
fn mutate(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = match bytes[at] {
        b'0' => b'1',
        b'a' => b'b',
        b'A' => b'B',
        _ => b'0',
    };
    String::from_utf8(bytes).unwrap()
}

fn post_canonical(body: &str, time: &str) -> String {
    canonical_post(&parse_body(body.as_bytes()).unwrap(), time)
}

// ---- signer side: canonical strings and signatures computed from inputs ----

#[test]
fn signer_t1_canonical_and_ecdsa() {
    assert_eq!(post_canonical(T1_BODY, "1696947336603"), T1_CANONICAL);
    let key = EcSigningKey::parse(T1_PRIVATE).unwrap();
    assert_eq!(key.public_key().unwrap().to_base64(), T1_PUBLIC);
    // ECDSA is randomized: two signatures differ, both verify with the published public key.
    let (a, b) = (
        key.sign(T1_CANONICAL).unwrap(),
        key.sign(T1_CANONICAL).unwrap(),
    );
    assert_ne!(a, b);
    let public = EcPublicKey::parse(T1_PUBLIC).unwrap();
    assert!(public.verify(T1_CANONICAL, &a) && public.verify(T1_CANONICAL, &b));
    assert!(!public.verify(&T1_CANONICAL.replace("1696947336603", "1696946592054"), &a));
}

#[test]
fn signer_t2_widget_url() {
    assert_eq!(hmac_hex(T2_SECRET, T2_MESSAGE), T2_SIGNATURE);
    assert_eq!(
        sign_query_v2(T2_MESSAGE, T2_SECRET),
        format!("{T2_MESSAGE}&signature={T2_SIGNATURE}")
    );
    // A stale signature parameter is replaced, not signed over.
    let resigned = sign_query_v2(&format!("{T2_MESSAGE}&signature=old"), T2_SECRET);
    assert_eq!(resigned, format!("{T2_MESSAGE}&signature={T2_SIGNATURE}"));
    assert_ne!(hmac_hex(T2_SECRET, &format!("?{T2_MESSAGE}")), T2_SIGNATURE);
    assert!(!T2_SIGNATURE.ends_with("bc9bfd"));
}

#[test]
fn signer_t3_nested_payload() {
    assert_eq!(post_canonical(T3_BODY, "1696947336603"), T3_CANONICAL);
    assert_eq!(hmac_hex(KEY, T3_CANONICAL), T3_HMAC);
    let key = EcSigningKey::parse(T1_PRIVATE).unwrap();
    let signature = key.sign(T3_CANONICAL).unwrap();
    assert!(
        EcPublicKey::parse(T1_PUBLIC)
            .unwrap()
            .verify(T3_CANONICAL, &signature)
    );
}

#[test]
fn signer_t4_to_t9_hmac() {
    assert_eq!(post_canonical(T4_BODY, "1743060268000"), T4_CANONICAL);
    assert_eq!(hmac_hex(KEY, T4_CANONICAL), T4_HMAC);
    let form = T4_CANONICAL.replace(
        "demo for create payout order",
        "demo+for+create+payout+order",
    );
    assert_eq!(hmac_hex(KEY, &form), T4P_HMAC);
    assert_ne!(T4P_HMAC, T4_HMAC);

    let t5 = r#"{"custNo":"86000123","orderNo":"202504001399","lang":"zh-CN"}"#;
    assert_eq!(post_canonical(t5, "1742723373000"), T5_CANONICAL);
    assert_eq!(hmac_hex(KEY, T5_CANONICAL), T5_HMAC);

    assert_eq!(post_canonical(T6_BODY, "1743060268000"), T6_CANONICAL);
    assert_eq!(hmac_hex(KEY, T6_CANONICAL), T6_HMAC);

    let t7 = canonical_get(Some("bizOrderNo=B234569885XASA953ASDSAD"), "1743060268000");
    assert_eq!(t7, "bizOrderNo=B234569885XASA953ASDSAD&time=1743060268000");
    assert_eq!(hmac_hex(KEY, &t7), T7_HMAC);

    for t8 in [
        canonical_get(None, "1743060268000"),
        canonical_get(Some(""), "1743060268000"),
        post_canonical("", "1743060268000"),
        post_canonical("null", "1743060268000"),
        post_canonical("{}", "1743060268000"),
        post_canonical(r#"{"a":null,"o":{}}"#, "1743060268000"),
    ] {
        assert_eq!(t8, "time=1743060268000");
        assert_eq!(hmac_hex(KEY, &t8), T8_HMAC);
    }

    assert_eq!(post_canonical(T9_BODY, "1700000000000"), T9_CANONICAL);
    assert_eq!(hmac_hex(KEY, T9_CANONICAL), T9_HMAC);
}

#[test]
fn canonical_rules_beyond_the_vectors() {
    // Top-level `sign` excluded, nested one kept; duplicates: last wins; UTF-16 order.
    let body = r#"{"sign":"x","o":{"sign":"y"},"d":"1","d":"2"}"#;
    assert_eq!(post_canonical(body, "1"), "d=2&sign=y&time=1");
    let order = r#"{"\uff61":"a","😀":"b"}"#;
    // U+1F600 is a surrogate pair (0xD83D…) and sorts before U+FF61 in UTF-16.
    assert_eq!(post_canonical(order, "1"), "😀=b&\u{ff61}=a&time=1");
    // Numbers as written, strings unescaped and never URL-encoded.
    let numbers = r#"{"a":1e5,"b":-0.0,"c":"x&y=z \"q\" é"}"#;
    assert_eq!(
        post_canonical(numbers, "1"),
        "a=1e5&b=-0.0&c=x&y=z \"q\" é&time=1"
    );
    // GET: raw query, sent order, encoding untouched.
    assert_eq!(canonical_get(Some("z=1&a=%20+"), "1"), "z=1&a=%20+&time=1");
    assert!(
        parse_body(b"[1]").is_err() && parse_body(b"\"x\"").is_err() && parse_body(b"{").is_err()
    );
}

// ---- verifier side: accept the published values, reject one-byte mutations ----

#[test]
fn verifier_t1_ecdsa() {
    let public = EcPublicKey::parse(T1_PUBLIC).unwrap();
    assert!(public.verify(T1_CANONICAL, T1_SIGNATURE));
    let other_time = T1_CANONICAL.replace("1696947336603", "1696946592054");
    assert!(!public.verify(&other_time, T1_SIGNATURE));
    assert!(!public.verify(T1_CANONICAL, &mutate(T1_SIGNATURE, 20)));
    assert!(!public.verify(&mutate(T1_CANONICAL, 7), T1_SIGNATURE));
    // PEM form of the same key.
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
        &T1_PUBLIC[..64],
        &T1_PUBLIC[64..]
    );
    assert!(
        EcPublicKey::parse(&pem)
            .unwrap()
            .verify(T1_CANONICAL, T1_SIGNATURE)
    );
}

#[test]
fn verifier_t2_widget_url() {
    let signed = format!("{T2_MESSAGE}&signature={T2_SIGNATURE}");
    assert_eq!(v2_message(&signed), T2_MESSAGE);
    assert_eq!(verify_query(&signed, T2_SECRET, None), Ok(Scheme::V2Hmac));
    let upper = format!("{T2_MESSAGE}&signature={}", T2_SIGNATURE.to_uppercase());
    assert_eq!(verify_query(&upper, T2_SECRET, None), Ok(Scheme::V2Hmac));
    assert!(verify_query(&format!("?{signed}"), T2_SECRET, None).is_err());
    assert!(verify_query(&mutate(&signed, 10), T2_SECRET, None).is_err());
    assert!(verify_query(&mutate(&signed, signed.len() - 1), T2_SECRET, None).is_err());
    let old = format!("{T2_MESSAGE}&signature={}bc9bfd", &T2_SIGNATURE[..58]);
    assert!(verify_query(&old, T2_SECRET, None).is_err());
}

/// The decoded fallback (a polypay decision) accepts a merchant that signed decoded values,
/// and refuses a link whose encoding hides a separator: the signed parameters must be the ones
/// the server reads.
#[test]
fn verifier_decoded_fallback_keeps_the_parameters_signed() {
    let signed_decoded =
        "apiKey=K&custNo=C&orderNo=O&redirectURL=https://shop.example/a b&et=1700000000000";
    let sig = hmac_hex(T2_SECRET, signed_decoded);
    let encoded = format!(
        "apiKey=K&custNo=C&orderNo=O&redirectURL=https%3A%2F%2Fshop.example%2Fa+b&et=1700000000000&signature={sig}"
    );
    assert_eq!(verify_query(&encoded, T2_SECRET, None), Ok(Scheme::V2Hmac));
    // `et%3D…` is a parameter named `et=1700000000000` with no value to a parser, yet decodes
    // to the signed `et=1700000000000`: the link would lose its expiry and keep its signature.
    let hidden_expiry = encoded.replace("&et=", "&et%3D");
    assert_eq!(
        verify_query(&hidden_expiry, T2_SECRET, None),
        Err(WidgetSignatureError::Mismatch)
    );
    // A link signed raw, sent encoded once more: it decodes to the signed text, and the server
    // would read `custNo` as `C%20D` instead of `C D`.
    let raw_signed = "apiKey=K&custNo=C%20D&orderNo=O+1";
    let sig = hmac_hex(T2_SECRET, raw_signed);
    let link = format!("{raw_signed}&signature={sig}");
    assert_eq!(verify_query(&link, T2_SECRET, None), Ok(Scheme::V2Hmac));
    for again in [
        link.replace("C%20D", "C%2520D"),
        link.replace("O+1", "O%2B1"),
    ] {
        assert_eq!(
            verify_query(&again, T2_SECRET, None),
            Err(WidgetSignatureError::Mismatch),
            "{again}"
        );
    }
    // The same with `&` folded into a value: `orderNo` would read `O&redirectURL=…`.
    let folded_value = encoded.replace("orderNo=O&redirectURL=", "orderNo=O%26redirectURL=");
    assert_eq!(
        verify_query(&folded_value, T2_SECRET, None),
        Err(WidgetSignatureError::Mismatch)
    );
}

#[test]
fn verifier_t3_nested_payload() {
    assert!(hmac_verify(KEY, T3_CANONICAL, T3_HMAC));
    assert!(!hmac_verify(KEY, T3_CANONICAL, &mutate(T3_HMAC, 0)));
    let public = EcPublicKey::parse(T1_PUBLIC).unwrap();
    assert!(public.verify(T3_CANONICAL, T3_ECDSA));
    assert!(!public.verify(T3_CANONICAL, &mutate(T3_ECDSA, 30)));
    assert!(!public.verify(&mutate(T3_CANONICAL, 8), T3_ECDSA));
}

#[test]
fn verifier_t4_to_t9_hmac() {
    let form = T4_CANONICAL.replace(
        "demo for create payout order",
        "demo+for+create+payout+order",
    );
    let rows = [
        (T4_CANONICAL, T4_HMAC),
        (form.as_str(), T4P_HMAC),
        (T5_CANONICAL, T5_HMAC),
        (T6_CANONICAL, T6_HMAC),
        (
            "bizOrderNo=B234569885XASA953ASDSAD&time=1743060268000",
            T7_HMAC,
        ),
        ("time=1743060268000", T8_HMAC),
        (T9_CANONICAL, T9_HMAC),
    ];
    for (message, mac) in rows {
        assert!(hmac_verify(KEY, message, mac), "{message}");
        assert!(hmac_verify(KEY, message, &mac.to_uppercase()), "{message}");
        assert!(!hmac_verify(KEY, message, &mutate(mac, 5)), "{message}");
        assert!(!hmac_verify(KEY, &mutate(message, 0), mac), "{message}");
        assert!(!hmac_verify(KEY, message, &mac[..62]), "{message}");
    }
    // T4′: the form-encoded signature does not verify the raw canonical string.
    assert!(!hmac_verify(KEY, T4_CANONICAL, T4P_HMAC));
}

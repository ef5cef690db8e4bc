//! Webhook encoding (server) against client verification, the spec's webhook vectors, redirects,
//! and the client's envelope reading.

mod common;

use common::{NOW, SECRET, client};
use polypay_blockatm::Error;
use polypay_blockatm::amount::Amount;
use polypay_blockatm::client::{CallbackEvent, parse_redirect, parse_response};
use polypay_blockatm::notify::{WebhookEvent, encode_webhook, redirect_url};
use polypay_blockatm::sign::{EcSigningKey, Scheme, Signer, hmac_hex};
use polypay_blockatm::wire::{
    PayOrderDetail, PaymentNotification, PaymentStatus, PayoutNotification, PayoutStatus,
    RedirectParams, RedirectStatus,
};
use polypay_core::{PaymentState, PayoutState};

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn payment() -> PaymentNotification {
    PaymentNotification {
        amount: Amount::parse("999").unwrap(),
        block_time: Some(1_743_060_260_000),
        cashier_id: 91,
        chain_id: "11155111".into(),
        create_time: 1_743_060_200_000,
        cust_no: Some("cust00001".into()),
        from_address: "0xa9e358e33a57e67c9b84618a52f0194c345c8e35".into(),
        id: 8_210_003_764,
        network: "Ethereum".into(),
        order_no: None,
        order_type: 2,
        status: PaymentStatus::Success,
        symbol: "USDT".into(),
        tx_id: Some("0x1da59f33aa6f6b435514126e26d5622c3e377e4762579aa0ac0130139625853d".into()),
    }
}

fn payout() -> PayoutNotification {
    PayoutNotification {
        amount: Amount::parse("44").unwrap(),
        biz_order_no: "B234569885XASA953ASDSAD".into(),
        block_time: None,
        chain_id: "11155111".into(),
        contract_id: 77,
        create_time: 1_743_060_200_000,
        cust_no: "473_860001".into(),
        fee: Amount::parse("0.5").unwrap(),
        gas_amount: Amount::default(),
        network: "Sepolia".into(),
        status: PayoutStatus::Refuse,
        symbol: "USDT".into(),
        to_address: "0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2".into(),
        tx_id: None,
        kind: 1,
    }
}

#[test]
fn payment_webhook_bytes_and_v2_signature() {
    let event = WebhookEvent::Payment(payment());
    let request =
        encode_webhook("https://m.example/hook", &event, &Signer::Hmac(SECRET), NOW).unwrap();
    let body = r#"{"amount":"999","blockTime":1743060260000,"cashierId":91,"chainId":"11155111","createTime":1743060200000,"custNo":"cust00001","fromAddress":"0xa9e358e33a57e67c9b84618a52f0194c345c8e35","id":8210003764,"network":"Ethereum","orderType":2,"status":"SUCCESS","symbol":"USDT","txId":"0x1da59f33aa6f6b435514126e26d5622c3e377e4762579aa0ac0130139625853d"}"#;
    assert_eq!(String::from_utf8(request.body.clone()).unwrap(), body);
    let canonical = "amount=999&blockTime=1743060260000&cashierId=91&chainId=11155111&createTime=1743060200000&custNo=cust00001&fromAddress=0xa9e358e33a57e67c9b84618a52f0194c345c8e35&id=8210003764&network=Ethereum&orderType=2&status=SUCCESS&symbol=USDT&txId=0x1da59f33aa6f6b435514126e26d5622c3e377e4762579aa0ac0130139625853d&time=1743060268000";
    let expected_headers = headers(&[
        ("Content-Type", "application/json"),
        ("BlockATM-Request-Time", "1743060268000"),
        ("BlockATM-Event", "Payment"),
        ("BlockATM-Signature-V2", &hmac_hex(SECRET, canonical)),
    ]);
    assert_eq!(request.headers, expected_headers);
    assert_eq!(
        (request.method, request.url.as_str()),
        ("POST", "https://m.example/hook")
    );

    let verified = client()
        .verify_callback(&request.headers, &request.body)
        .unwrap();
    assert_eq!(verified.scheme, Scheme::V2Hmac);
    assert_eq!(verified.time_ms, NOW);
    let CallbackEvent::Payment(p) = verified.event else {
        panic!("not a payment")
    };
    assert_eq!(p.state(), Some(PaymentState::Succeeded));
    assert_eq!(
        p.amount.and_then(|a| a.amount()),
        Some(Amount::from_micros(999_000_000))
    );
    assert_eq!(p.id, Some(8_210_003_764));
}

#[test]
fn payout_webhook_v1_with_platform_key() {
    let platform = EcSigningKey::parse(common::T1_PRIVATE).unwrap();
    let event = WebhookEvent::Payout(payout());
    let request = encode_webhook(
        "https://m.example/hook",
        &event,
        &Signer::Ecdsa(&platform),
        NOW,
    )
    .unwrap();
    let body = r#"{"amount":"44","bizOrderNo":"B234569885XASA953ASDSAD","chainId":"11155111","contractId":77,"createTime":1743060200000,"custNo":"473_860001","fee":"0.5","gasAmount":"0","network":"Sepolia","status":"REFUSE","symbol":"USDT","toAddress":"0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2","type":1}"#;
    assert_eq!(String::from_utf8(request.body.clone()).unwrap(), body);
    assert!(polypay_blockatm::header(&request.headers, "BlockATM-Signature-V2").is_none());
    assert_eq!(
        polypay_blockatm::header(&request.headers, "BlockATM-Event"),
        Some("Payout")
    );

    let verified = client()
        .verify_callback(&request.headers, &request.body)
        .unwrap();
    assert_eq!(verified.scheme, Scheme::V1Ecdsa);
    let CallbackEvent::Payout(p) = verified.event else {
        panic!("not a payout")
    };
    assert_eq!(p.state(), Some(PayoutState::Failed));
    assert_eq!(p.fee.map(|f| f.0), Some("0.5".to_owned()));

    // A different platform key does not verify.
    let mut stranger = common::client_credentials(false);
    stranger.platform_public_key = Some(EcSigningKey::generate().unwrap().public_key().unwrap());
    let stranger = polypay_blockatm::client::Client::new(
        "http://127.0.0.1:9",
        stranger,
        reqwest::Client::new(),
    );
    assert!(matches!(
        stranger.verify_callback(&request.headers, &request.body),
        Err(Error::BadSignature)
    ));
}

#[test]
fn t1_v1_webhook_vector() {
    let body = br#"{"amount":"13.410037","chainId":"5","custNo":"OrderNO_123456","fee":"2","merchantId":null,"network":"TRON","orderNo":null,"paySymbol":null,"platOrderNo":"8210000374","status":1,"symbol":"USDT","txId":"1t","type":1}"#;
    let sig = "MEYCIQDHxQ0IhgUNbRqTKbU71fBkp+lAJlMXEQYt6mDQfWRY7gIhAMWIpVoG6qBhgIPi30x30wLlAaxyhptZfm6nMRz75VxA";
    let good = headers(&[
        ("BlockATM-Request-Time", "1696947336603"),
        ("BlockATM-Signature-V1", sig),
    ]);
    let verified = client().verify_callback(&good, body).unwrap();
    // No event header: the payout-only fields decide; integer 1 is a payout success.
    let CallbackEvent::Payout(p) = verified.event else {
        panic!("not a payout")
    };
    assert_eq!(p.state(), Some(PayoutState::Succeeded));
    assert_eq!(p.plat_order_no.map(|n| n.0), Some("8210000374".to_owned()));
    let doc_time = headers(&[
        ("BlockATM-Request-Time", "1696946592054"),
        ("BlockATM-Signature-V1", sig),
    ]);
    assert!(matches!(
        client().verify_callback(&doc_time, body),
        Err(Error::BadSignature)
    ));
    let mut tampered = body.to_vec();
    tampered[12] = b'4';
    assert!(matches!(
        client().verify_callback(&good, &tampered),
        Err(Error::BadSignature)
    ));
}

#[test]
fn t3_nested_webhook_vector() {
    let body = br#"{"blockId":"10168195","chainId":"5","contractAddress":"0x57609702e66d6dee9d1f3a9fab376b95b9ec9e02","detailList":[{"amount":"1.00000000","orderNo":"TX1","symbol":"USDT","toAddress":"0x2d7ff2dc166ae09542c749be052028e43825cde7","tokenAddress":"0x92efdfa35c75b259375ebe0f84ee1d95db0489b6"},{"amount":"1.00000000","orderNo":"TX2","symbol":"USDC","toAddress":"0x2d7ff2dc166ae09542c749be052028e43825cde7","tokenAddress":"0x2f96275bbb4a54714ef0251226c42811fb9f98aa"}],"fromAddress":"0x8e5df55ac224db7424fa8536eda9356f44474936","merchantId":20,"network":"ETH","txId":"0xa85f090dc5e722177ddc2cd2d4d87467820635cf736ec1a5910997118e3d3cb6"}"#;
    let time = ("BlockATM-Request-Time", "1696947336603");
    let event = ("BlockATM-Event", "Payout");
    let v2 = headers(&[
        time,
        event,
        (
            "BlockATM-Signature-V2",
            "02620cdc93b5081fade4522d38d4122c97395a28db53a32a7373281d32f5e94b",
        ),
    ]);
    let v1 = headers(&[
        time,
        event,
        (
            "BlockATM-Signature-V1",
            "MEYCIQCie0jZLy9v7v0xXx5DQ5/k2L0n9q4fRHV4D0pd+QIwWwIhAOlTDaIx50ZN9jH6dd5G2/wb/DhZR96LG7iLwAi+vfje",
        ),
    ]);
    for (h, scheme) in [(v2, Scheme::V2Hmac), (v1, Scheme::V1Ecdsa)] {
        let verified = client().verify_callback(&h, body).unwrap();
        assert_eq!(verified.scheme, scheme);
        assert_eq!(verified.raw["detailList"][1]["orderNo"], "TX2");
        let mut tampered = body.to_vec();
        let at = body.windows(3).position(|w| w == b"TX2").unwrap();
        tampered[at + 2] = b'3';
        assert!(matches!(
            client().verify_callback(&h, &tampered),
            Err(Error::BadSignature)
        ));
    }
}

#[test]
fn t6_payment_webhook_vector() {
    let body = br#"{"amount":"999","cashierId":91,"chainId":"11155111","custNo":"cust00001","fromAddress":"0xa9e358e33a57e67c9b84618a52f0194c345c8e35","id":8210003764,"network":"Ethereum","status":9,"symbol":"USDT","txId":"0x1da59f33aa6f6b435514126e26d5622c3e377e4762579aa0ac0130139625853d"}"#;
    let h = headers(&[
        ("blockatm-request-time", "1743060268000"),
        ("BLOCKATM-EVENT", "payment"),
        (
            "BlockATM-Signature-V2",
            "dc6eb4a1d14c5db3f48c6d66f8ba4697d1ddd99bf8bbaf87eefcb4bf5db3d963",
        ),
    ]);
    let verified = client().verify_callback(&h, body).unwrap();
    let CallbackEvent::Payment(p) = verified.event else {
        panic!("not a payment")
    };
    assert_eq!(p.state(), Some(PaymentState::Succeeded));
    assert_eq!(p.cashier_id, Some(91));
    let mut wrong = h.clone();
    wrong[2].1 = "dc6eb4a1d14c5db3f48c6d66f8ba4697d1ddd99bf8bbaf87eefcb4bf5db3d964".into();
    assert!(matches!(
        client().verify_callback(&wrong, body),
        Err(Error::BadSignature)
    ));
}

#[test]
fn raw_body_variant_and_missing_headers() {
    // The 2026 variant signs `rawBody&time=t`; it is accepted when the sorted form fails.
    let body = br#"{"status":"PENDING","amount":"1","id":5}"#;
    let signature = hmac_hex(
        SECRET,
        &format!("{}&time=1743060268000", std::str::from_utf8(body).unwrap()),
    );
    let h = headers(&[
        ("BlockATM-Request-Time", "1743060268000"),
        ("BlockATM-Event", "Payment"),
        ("BlockATM-Signature-V2", &signature),
    ]);
    let CallbackEvent::Payment(p) = client().verify_callback(&h, body).unwrap().event else {
        panic!()
    };
    assert_eq!(p.state(), Some(PaymentState::Pending));

    let no_time = headers(&[("BlockATM-Signature-V2", &signature)]);
    assert!(matches!(
        client().verify_callback(&no_time, body),
        Err(Error::MissingHeader(_))
    ));
    let no_sig = headers(&[("BlockATM-Request-Time", "1743060268000")]);
    assert!(matches!(
        client().verify_callback(&no_sig, body),
        Err(Error::MissingHeader(_))
    ));
    let odd_event = headers(&[
        ("BlockATM-Request-Time", "1743060268000"),
        ("BlockATM-Event", "Refund"),
        ("BlockATM-Signature-V2", &signature),
    ]);
    assert!(matches!(
        client().verify_callback(&odd_event, body),
        Err(Error::InvalidHeader(_))
    ));
}

#[test]
fn redirect_round_trip() {
    let params = RedirectParams {
        tx_id: "0xabc".into(),
        status: RedirectStatus::Cancelled,
    };
    let url = redirect_url("https://shop.example/back?o=1", &params);
    assert_eq!(
        url,
        "https://shop.example/back?o=1&txId=0xabc&status=CANCELLED"
    );
    assert_eq!(parse_redirect(&url).unwrap(), params);
    let empty = parse_redirect("https://shop.example/back?txId=&status=EXPIRED").unwrap();
    assert_eq!(
        (empty.tx_id.as_str(), empty.status),
        ("", RedirectStatus::Expired)
    );
    assert!(parse_redirect("https://shop.example/back?status=PENDING").is_err());
}

#[test]
fn response_envelopes() {
    let ok = br#"{"code":"200","success":true,"data":{"amount":13.41,"chainId":"1","id":8210000001,"status":"PENDING","symbol":"USDT","orderNo":"O1"},"trace":"t","msg":"success"}"#;
    let detail = parse_response::<PayOrderDetail>(200, ok).unwrap();
    assert_eq!(detail.data.amount.0, "13.41");
    assert_eq!(detail.data.status, PaymentStatus::Pending);
    assert_eq!(detail.trace.as_deref(), Some("t"));
    let unit = parse_response::<()>(
        200,
        br#"{"code":"200","success":true,"data":null,"trace":"t","msg":"success"}"#,
    );
    assert!(unit.is_ok());

    let err = parse_response::<()>(200, br#"{"code":"000105","success":false,"data":null,"message":"illegal request: signature mismatch"}"#);
    match err {
        Err(Error::Api { status, code, msg }) => {
            assert_eq!(
                (status, code.as_str(), msg.as_str()),
                (200, "000105", "illegal request: signature mismatch")
            );
        }
        other => panic!("{other:?}"),
    }
    let no_success = parse_response::<()>(200, br#"{"code":"200","data":null}"#);
    assert!(matches!(no_success, Err(Error::Api { .. })));
    let html = parse_response::<()>(502, b"<html>bad gateway</html>");
    assert!(matches!(html, Err(Error::Response { status: 502 })));
    let limited = parse_response::<()>(
        429,
        br#"{"code":"000113","success":false,"data":null,"trace":"t","msg":"too many requests"}"#,
    );
    assert!(matches!(limited, Err(Error::Api { status: 429, .. })));
}

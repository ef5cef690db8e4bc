//! Client against server: exact request bytes, client build -> inbound parse for every service,
//! server render -> client parse for every response, webhook encode -> client verify.

mod common;

use common::*;
use polypay_fintech33::client::{CALLBACK_ACK, ClientError, PreparedRequest};
use polypay_fintech33::inbound::{Inbound, ServiceRequest, parse_request};
use polypay_fintech33::notify::{encode_webhook, is_ack, webhook_plaintext};
use polypay_fintech33::wire::{
    CreateOrder, CreateOrderData, OrderRef, Payer, PayerData, PaymentOrderStatus, QueryOrderData,
    RefundOrderData, UpdatePayer, parse_time,
};
use polypay_fintech33::{Amount, Client, OrderStatus, ResponseData, SignHash, render_success};

fn p1_order() -> CreateOrder {
    CreateOrder {
        order_sn: "ORDER-0001".into(),
        currency: "USD".into(),
        amount: Amount::from_cents(9999).unwrap(),
        payer_id: 10001,
        purpose_of_transaction: "PAY_FOR_GOODS".into(),
        description: "Test order".into(),
        skip3ds: false,
        domain: "shop.example.com".into(),
        product: "T-shirt||Mug".into(),
    }
}

fn payer() -> Payer {
    Payer::example("tm.chan@example.com")
}

fn client(cbc: bool, hash: SignHash) -> Client {
    Client::new("http://127.0.0.1:9", merchant_keys(cbc, hash))
}

fn server_parse(req: &PreparedRequest, store: &Store) -> Inbound {
    let headers: Vec<(&str, &str)> = req.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    match parse_request(req.method, req.path, "", &headers, &req.body, now(), store) {
        Ok(inbound) => inbound,
        Err(e) => panic!("{:?}", String::from_utf8(e.render(&platform()).body)),
    }
}

#[test]
fn client_create_order_body_is_f5() {
    let req = client(false, SignHash::Sha256)
        .build_create_order(TOKEN, &p1_order())
        .unwrap();
    assert_eq!(String::from_utf8(req.body).unwrap(), f5_body());
    assert_eq!((req.method, req.path), ("POST", "/api/v2/pay"));
    assert!(
        req.headers
            .contains(&("Authorization", format!("Bearer {TOKEN}")))
    );
}

#[test]
fn client_cbc_sha1_create_order_uses_f3_and_sha1_sign() {
    let req = client(true, SignHash::Sha1)
        .build_create_order(TOKEN, &p1_order())
        .unwrap();
    let want = format!(r#"{{"service":"createOrder","bizContent":"{F3_CBC}","sign":"{F4_SHA1}"}}"#);
    assert_eq!(String::from_utf8(req.body).unwrap(), want);
}

#[test]
fn client_token_request_bytes() {
    let req = client(false, SignHash::Sha256).build_token().unwrap();
    assert_eq!(req.path, "/api/v2/auth/token");
    assert_eq!(
        req.body,
        format!(r#"{{"appId":"{APP_ID}","appSecret":"{APP_SECRET}"}}"#).into_bytes()
    );
    let store = Store::new(false, SignHash::Sha256);
    assert!(matches!(server_parse(&req, &store), Inbound::Token { .. }));
}

#[test]
fn every_service_round_trips_through_the_server() {
    for (cbc, hash) in [(false, SignHash::Sha256), (true, SignHash::Sha1)] {
        let c = client(cbc, hash);
        let store = Store::new(cbc, hash);
        let update = UpdatePayer {
            payer_id: 10001,
            payer: payer(),
        };
        let by_sn = OrderRef {
            order_sn: Some("ORDER-0001".into()),
            link_id: None,
        };
        let both = OrderRef {
            order_sn: Some("ORDER-0001".into()),
            link_id: Some("5f0c1a62-3e0b-4c1e-9a5e-1f2d3c4b5a69".into()),
        };
        let cases = [
            (
                c.build_create_payer(TOKEN, &payer()).unwrap(),
                ServiceRequest::CreatePayer(payer()),
            ),
            (
                c.build_get_payer(TOKEN, "tm.chan@example.com").unwrap(),
                ServiceRequest::GetPayer(polypay_fintech33::wire::GetPayer {
                    email: "tm.chan@example.com".into(),
                }),
            ),
            (
                c.build_update_payer(TOKEN, &update).unwrap(),
                ServiceRequest::UpdatePayer(update.clone()),
            ),
            (
                c.build_create_order(TOKEN, &p1_order()).unwrap(),
                ServiceRequest::CreateOrder(p1_order()),
            ),
            (
                c.build_query_order(TOKEN, &by_sn).unwrap(),
                ServiceRequest::QueryOrder(by_sn.clone()),
            ),
            (
                c.build_refund_order(TOKEN, &both).unwrap(),
                ServiceRequest::RefundOrder(both.clone()),
            ),
        ];
        for (req, want) in cases {
            match server_parse(&req, &store) {
                Inbound::Pay { request, .. } => assert_eq!(request, want),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn update_payer_plaintext_puts_payer_id_first() {
    let update = UpdatePayer {
        payer_id: 10001,
        payer: payer(),
    };
    let text = serde_json::to_string(&update).unwrap();
    assert_eq!(
        text,
        r#"{"payerID":10001,"firstName":"Tai Man","lastName":"Chan","email":"tm.chan@example.com","areaCode":852,"phone":"91234567","address":"1 Queens Road","city":"Hong Kong","province":"HK","postcode":"000000","country":"HK"}"#
    );
}

fn render_and_parse<D: serde::de::DeserializeOwned>(
    data: ResponseData,
    cbc: bool,
    hash: SignHash,
) -> (String, D) {
    let creds = credentials(cbc, hash);
    let r = render_success(&creds, &platform(), &data);
    assert_eq!(r.status, 200);
    let env: polypay_fintech33::wire::ResponseEnvelope = serde_json::from_slice(&r.body).unwrap();
    let plain = polypay_fintech33::sign::open(
        &env.biz_content.unwrap(),
        &env.sign.unwrap(),
        &cipher(cbc),
        &public_key(),
        hash,
    )
    .unwrap();
    let v = client(cbc, hash)
        .parse_response::<D>(r.status, &r.body)
        .unwrap();
    assert!(v.signature_valid);
    (String::from_utf8(plain).unwrap(), v.result.unwrap())
}

#[test]
fn responses_render_exactly_and_parse_back() {
    let data = PayerData {
        payer_id: 10001,
        payer: Payer {
            first_name: "大文".into(),
            ..payer()
        },
    };
    let (text, back): (_, PayerData) =
        render_and_parse(ResponseData::Payer(data.clone()), false, SignHash::Sha256);
    assert_eq!(back, data);
    assert_eq!(
        text,
        r#"{"status":0,"errorCode":null,"errorMessage":null,"data":{"payerID":10001,"firstName":"大文","lastName":"Chan","email":"tm.chan@example.com","areaCode":852,"phone":"91234567","address":"1 Queens Road","city":"Hong Kong","province":"HK","postcode":"000000","country":"HK"}}"#
    );

    let order = CreateOrderData {
        link_id: "5f0c1a62-3e0b-4c1e-9a5e-1f2d3c4b5a69".into(),
        payment_link: "https://sandbox.example/cashier/5f0c1a62".into(),
        link_expiry: parse_time("2024-01-01 12:15:00.123+0000").unwrap(),
        status: OrderStatus::New,
    };
    let (text, back): (_, CreateOrderData) = render_and_parse(
        ResponseData::CreateOrder(order.clone()),
        true,
        SignHash::Sha1,
    );
    assert_eq!(back, order);
    assert_eq!(
        text,
        r#"{"status":0,"errorCode":null,"errorMessage":null,"data":{"linkID":"5f0c1a62-3e0b-4c1e-9a5e-1f2d3c4b5a69","paymentLink":"https://sandbox.example/cashier/5f0c1a62","linkExpiry":"2024-01-01 12:15:00.123+0000","status":"New"}}"#
    );

    let (text, back): (_, QueryOrderData) = render_and_parse(
        ResponseData::QueryOrder(QueryOrderData {
            outcome: OrderStatus::Paid,
        }),
        false,
        SignHash::Sha256,
    );
    assert_eq!((text.as_str(), back.outcome), (F6_R, OrderStatus::Paid));

    let (text, back): (_, RefundOrderData) = render_and_parse(
        ResponseData::RefundOrder(RefundOrderData::submitted()),
        false,
        SignHash::Sha256,
    );
    assert_eq!(back.message, "Refund request submitted");
    assert!(text.ends_with(r#""data":{"message":"Refund request submitted"}}"#));
}

#[test]
fn f6_envelope_through_the_client() {
    let body = format!(
        r#"{{"statusCode":0,"message":"success","bizContent":"{F6_BIZ_CONTENT}","sign":"{F6_SIGN}"}}"#
    );
    let c = client(false, SignHash::Sha256);
    let v = c
        .parse_response::<QueryOrderData>(200, body.as_bytes())
        .unwrap();
    assert!(v.signature_valid);
    assert_eq!(v.result.unwrap().outcome, OrderStatus::Paid);
    // The same render from the server side is the F6 envelope byte for byte.
    let r = render_success(
        &credentials(false, SignHash::Sha256),
        &platform(),
        &ResponseData::QueryOrder(QueryOrderData {
            outcome: OrderStatus::Paid,
        }),
    );
    assert_eq!(String::from_utf8(r.body).unwrap(), body);
    // A tampered signature is reported, not hidden.
    let tampered = body.replace(&F6_SIGN[..12], "AAAAAAAAAAAA");
    let v = c
        .parse_response::<QueryOrderData>(200, tampered.as_bytes())
        .unwrap();
    assert!(!v.signature_valid);
    // Re-encrypted bytes the platform never signed, which are not a response either: the
    // answer is the signature, not what the bytes fail to be.
    let forged = cipher(false).encrypt_b64(br#"{"status":"paid"}"#);
    let forged = body.replace(F6_BIZ_CONTENT, &forged);
    let err = c
        .parse_response::<QueryOrderData>(200, forged.as_bytes())
        .unwrap_err();
    assert!(matches!(err, ClientError::Signature), "{err}");
    // Envelope refusals surface as errors carrying the code.
    let err = c
        .parse_response::<QueryOrderData>(
            200,
            br#"{"statusCode":4002,"message":"signature verification failed"}"#,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Envelope {
                status_code: 4002,
                http_status: 200,
                ..
            }
        ),
        "{err}"
    );
}

fn sample_event() -> PaymentOrderStatus {
    let t = parse_time("2024-01-01 12:12:12.345+0000").unwrap();
    PaymentOrderStatus {
        order_sn: "ORDER-0001".into(),
        platform_order_sn: "SS2024010112121212345".into(),
        request_id: 10_000_001,
        region: "HKG".into(),
        payer_email: "tm.chan@example.com".into(),
        description: "Test order".into(),
        comment: "PAY_FOR_GOODS".into(),
        request_time: t,
        currency: "USD".into(),
        amount: Amount::parse("999.33").unwrap(),
        link_id: "5f0c1a62-3e0b-4c1e-9a5e-1f2d3c4b5a69".into(),
        link_expiry: parse_time("2024-01-01 12:27:12.345+0000").unwrap(),
        status: OrderStatus::Paid,
        fail_times: 0,
        creation_time: t,
    }
}

#[test]
fn webhook_plaintext_is_exact() {
    let text = String::from_utf8(webhook_plaintext(&sample_event()).unwrap()).unwrap();
    assert_eq!(
        text,
        r#"{"PaymentOrderStatus":{"order_sn":"ORDER-0001","platform_order_sn":"SS2024010112121212345","requestID":10000001,"region":"HKG","payerEmail":"tm.chan@example.com","description":"Test order","comment":"PAY_FOR_GOODS","requestTime":"2024-01-01 12:12:12.345+0000","currency":"USD","amount":999.33,"linkID":"5f0c1a62-3e0b-4c1e-9a5e-1f2d3c4b5a69","linkExpiry":"2024-01-01 12:27:12.345+0000","status":"Paid","failTimes":0,"creationTime":"2024-01-01 12:12:12.345+0000"}}"#
    );
}

#[test]
fn webhook_round_trips_and_rejects_tampering() {
    for (cbc, hash) in [(false, SignHash::Sha256), (true, SignHash::Sha1)] {
        let req = encode_webhook(
            "https://merchant.example/hook",
            &sample_event(),
            &credentials(cbc, hash),
            &platform(),
        )
        .unwrap();
        assert_eq!(
            (req.method, req.url.as_str()),
            ("POST", "https://merchant.example/hook")
        );
        assert_eq!(
            req.headers,
            vec![("Content-Type", "application/json;charset=UTF-8".to_owned())]
        );
        assert!(
            req.body
                .starts_with(br#"{"noticeType":"PaymentOrderStatus","bizContent":""#)
        );
        let again = encode_webhook(
            "https://merchant.example/hook",
            &sample_event(),
            &credentials(cbc, hash),
            &platform(),
        )
        .unwrap();
        assert_eq!(again.body, req.body, "identical bytes every attempt");
        let c = client(cbc, hash);
        assert_eq!(c.verify_callback(&[], &req.body).unwrap(), sample_event());

        let mut body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let sign = body["sign"].as_str().unwrap().to_owned();
        body["sign"] = serde_json::Value::String(format!("AAAA{}", &sign[4..]));
        let err = c
            .verify_callback(&[], &serde_json::to_vec(&body).unwrap())
            .unwrap_err();
        assert!(matches!(err, ClientError::Signature), "{err}");
        body.as_object_mut().unwrap().remove("sign");
        let err = c
            .verify_callback(&[], &serde_json::to_vec(&body).unwrap())
            .unwrap_err();
        assert_eq!(err.to_string(), "malformed response: webhook without sign");
    }
    assert!(is_ack(200, CALLBACK_ACK));
}

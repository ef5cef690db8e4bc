//! Client and server against each other: every endpoint's client-built request parses on the
//! server into the same typed request; every rendered answer, webhook and redirect verifies on
//! the client.

mod common;

use common::*;
use polypay_v2sha256::client::PreparedRequest;
use polypay_v2sha256::notify::{encode_callback, redirect_url};
use polypay_v2sha256::wire::*;
use polypay_v2sha256::{ApiRequest, Client, Inbound, Lookup, RedirectParams, ResponseData};
use serde::de::DeserializeOwned;

const NONCE: &str = "00112233445566778899aabbccddeeff";

/// Delivers a prepared request to the pure server as if over HTTP to `host`.
fn deliver(p: &PreparedRequest, host: &str, public_base_url: Option<&str>) -> Inbound {
    let mut req = Req::post(&p.path, "", &p.body);
    req.headers = p.headers.clone();
    req.headers.push(("Host".to_owned(), host.to_owned()));
    req.handle_at(TS, public_base_url)
        .unwrap_or_else(|e| panic!("{}: {e:?}", p.path))
}

fn client(base: &str) -> Client {
    Client::new(base, credentials()).unwrap()
}

fn payment_req() -> PaymentCreateRequest {
    serde_json::from_str(B1).unwrap()
}

fn payout_req() -> PayoutCreateRequest {
    PayoutCreateRequest {
        merchant_trade_no: "PO-20240514-1".into(),
        amount: "250.10".into(),
        currency: "INR".into(),
        description: "vendor payout".into(),
        payout_method: PayoutMethod::BankAccount {
            account_number: "001122334455".into(),
            bank_code: "HDFC0000001".into(),
            payee_name: "Asha Rao".into(),
            mode: Some("NEFT".into()),
            bank_name: Some("HDFC".into()),
            payee_phone: None,
            payee_email: None,
        },
        merchant_attach: Some("batch=7".into()),
        notify_url: "https://merchant.example.com/payout-notify".into(),
    }
}

fn refund_req() -> RefundCreateRequest {
    RefundCreateRequest {
        merchant_trade_no: "RF-1".into(),
        payment_no: None,
        payment_merchant_trade_no: Some("ORD20240514001".into()),
        amount: "50".into(),
        reason: Some("damaged".into()),
        notify_url: None,
    }
}

#[test]
fn every_endpoint_client_build_then_server_parse() {
    let c = client("http://127.0.0.1:8080/pg");
    let lookup = |n: &str| Lookup {
        number: Some(n.into()),
        merchant_trade_no: Some("M-1".into()),
    };
    let cases: Vec<(PreparedRequest, ApiRequest)> = vec![
        (
            c.build_payment_create(&payment_req(), TS, NONCE).unwrap(),
            ApiRequest::PaymentCreate(polypay_v2sha256::validate::PaymentCreate {
                request: payment_req(),
                amount_minor: 10005,
                exponent: 2,
            }),
        ),
        (
            c.build_payment_query(
                &PaymentQueryRequest {
                    payment_no: Some("PAY1".into()),
                    merchant_trade_no: Some("M-1".into()),
                },
                TS,
                NONCE,
            )
            .unwrap(),
            ApiRequest::PaymentQuery(lookup("PAY1")),
        ),
        (
            c.build_payout_create(&payout_req(), TS, NONCE).unwrap(),
            ApiRequest::PayoutCreate(polypay_v2sha256::validate::PayoutCreate {
                request: payout_req(),
                amount_minor: 25010,
                exponent: 2,
            }),
        ),
        (
            c.build_payout_query(
                &PayoutQueryRequest {
                    payout_no: Some("PO1".into()),
                    merchant_trade_no: Some("M-1".into()),
                },
                TS,
                NONCE,
            )
            .unwrap(),
            ApiRequest::PayoutQuery(lookup("PO1")),
        ),
        (
            c.build_refund_query(
                &RefundQueryRequest {
                    refund_no: Some("RF1".into()),
                    merchant_trade_no: Some("M-1".into()),
                },
                TS,
                NONCE,
            )
            .unwrap(),
            ApiRequest::RefundQuery(lookup("RF1")),
        ),
        (
            c.build_balance_query(
                &BalanceQueryRequest {
                    currency: Some("USD".into()),
                },
                TS,
                NONCE,
            )
            .unwrap(),
            ApiRequest::BalanceQuery(BalanceQueryRequest {
                currency: Some("USD".into()),
            }),
        ),
    ];
    for (prepared, expected) in cases {
        assert!(
            prepared.url.starts_with("http://127.0.0.1:8080/pg/v2/"),
            "{}",
            prepared.url
        );
        let inbound = deliver(&prepared, "127.0.0.1:8080", None);
        assert_eq!(
            Endpoint::from_path(&prepared.path),
            Some(inbound.auth.endpoint)
        );
        assert_eq!(inbound.request.unwrap(), expected, "{}", prepared.path);
    }
    let refund = deliver(
        &c.build_refund_create(&refund_req(), TS, NONCE).unwrap(),
        "127.0.0.1:8080",
        None,
    );
    let Ok(ApiRequest::RefundCreate(r)) = refund.request else {
        panic!()
    };
    assert_eq!(r.request, refund_req());
    assert_eq!(r.amount_minor(2), Ok(5000));
    assert_eq!(
        r.payment,
        Lookup {
            number: None,
            merchant_trade_no: Some("ORD20240514001".into())
        }
    );
}

#[test]
fn behind_a_proxy_the_public_base_url_verifies() {
    let c = client("https://pay.example.org");
    let p = c.build_payment_create(&payment_req(), TS, NONCE).unwrap();
    let mut req = Req::post(&p.path, "", &p.body);
    req.headers = p.headers.clone();
    req.headers.push(("Host".into(), "10.0.0.7:3000".into()));
    assert!(
        req.handle_at(TS, None).is_err(),
        "internal host does not match the signed URL"
    );
    assert!(req.handle_at(TS, Some("https://pay.example.org")).is_ok());
}

fn answer<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
    p: &PreparedRequest,
    data: ResponseData,
    expected: T,
) {
    let c = client("http://127.0.0.1:8080");
    let inbound = deliver(p, "127.0.0.1:8080", None);
    let r = inbound
        .auth
        .render_ok(&data, TS + 10, "ffeeddccbbaa99887766554433221100");
    let parsed = c
        .parse_response::<T>(&p.path, r.status, &r.headers, &r.body)
        .unwrap();
    assert!(parsed.signature_verified && parsed.is_ok(), "{}", p.path);
    assert_eq!(parsed.data, Some(expected));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["errorMessage"], serde_json::Value::Null);
}

fn payment_data(status: PaymentStatus) -> PaymentData {
    PaymentData {
        payment_no: "PAY1".into(),
        merchant_trade_no: "ORD20240514001".into(),
        amount: "100.05".into(),
        currency: "INR".into(),
        status,
        description: "Test order".into(),
        merchant_attach: None,
        refunded_amount: "0.00".into(),
        created_time: format_time(
            jiff::Timestamp::from_millisecond(TS as i64).unwrap(),
            jiff::tz::Offset::UTC,
        ),
        paid_time: None,
    }
}

fn payout_data() -> PayoutData {
    PayoutData {
        payout_no: "PO1".into(),
        merchant_trade_no: "PO-20240514-1".into(),
        amount: "250.10".into(),
        currency: "INR".into(),
        status: PayoutStatus::Failed,
        description: "vendor payout".into(),
        merchant_attach: Some("batch=7".into()),
        fail_reason: Some("account closed".into()),
        created_time: "2024-05-14T12:42:38.482+05:30".into(),
        finished_time: Some("2024-05-14T12:43:00.000+05:30".into()),
    }
}

fn refund_data() -> RefundData {
    RefundData {
        refund_no: "RF1".into(),
        merchant_trade_no: "RF-1".into(),
        payment_no: "PAY1".into(),
        amount: "50.00".into(),
        currency: "INR".into(),
        status: RefundStatus::Refunded,
        reason: None,
        created_time: "2024-05-14T07:12:38.482+00:00".into(),
        finished_time: Some("2024-05-14T07:12:38.482+00:00".into()),
    }
}

#[test]
fn every_answer_renders_and_verifies() {
    let c = client("http://127.0.0.1:8080");
    let created = PaymentCreateData {
        payment_no: "PAY1".into(),
        merchant_trade_no: "ORD20240514001".into(),
        status: PaymentStatus::Pending,
        action: Action::redirect("http://127.0.0.1:8080/cashier/PAY1"),
    };
    let q = PaymentQueryRequest {
        payment_no: Some("PAY1".into()),
        merchant_trade_no: None,
    };
    answer(
        &c.build_payment_create(&payment_req(), TS, NONCE).unwrap(),
        ResponseData::PaymentCreate(created.clone()),
        created,
    );
    let paid = payment_data(PaymentStatus::Paid);
    answer(
        &c.build_payment_query(&q, TS, NONCE).unwrap(),
        ResponseData::Payment(paid.clone()),
        paid,
    );
    let po = PayoutCreateData {
        payout_no: "PO1".into(),
        merchant_trade_no: "PO-1".into(),
        amount: "250.10".into(),
        currency: "INR".into(),
        status: PayoutStatus::Pending,
    };
    answer(
        &c.build_payout_create(&payout_req(), TS, NONCE).unwrap(),
        ResponseData::PayoutCreate(po.clone()),
        po,
    );
    let pq = PayoutQueryRequest {
        payout_no: Some("PO1".into()),
        merchant_trade_no: None,
    };
    answer(
        &c.build_payout_query(&pq, TS, NONCE).unwrap(),
        ResponseData::Payout(payout_data()),
        payout_data(),
    );
    answer(
        &c.build_refund_create(&refund_req(), TS, NONCE).unwrap(),
        ResponseData::Refund(refund_data()),
        refund_data(),
    );
    let rq = RefundQueryRequest {
        refund_no: Some("RF1".into()),
        merchant_trade_no: None,
    };
    answer(
        &c.build_refund_query(&rq, TS, NONCE).unwrap(),
        ResponseData::Refund(refund_data()),
        refund_data(),
    );
    let balances = BalanceData {
        balances: vec![Balance {
            currency: "INR".into(),
            available: "1000.00".into(),
            frozen: "0.00".into(),
        }],
    };
    answer(
        &c.build_balance_query(&BalanceQueryRequest::default(), TS, NONCE)
            .unwrap(),
        ResponseData::Balance(balances.clone()),
        balances,
    );
}

#[test]
fn response_field_order_and_nulls() {
    let body = serde_json::to_string(&payment_data(PaymentStatus::Pending)).unwrap();
    assert_eq!(
        body,
        r#"{"paymentNo":"PAY1","merchantTradeNo":"ORD20240514001","amount":"100.05","currency":"INR","status":"PENDING","description":"Test order","merchantAttach":null,"refundedAmount":"0.00","createdTime":"2024-05-14T07:12:38.482+00:00","paidTime":null}"#
    );
    let balance = serde_json::to_string(&BalanceData {
        balances: vec![Balance {
            currency: "INR".into(),
            available: "1000.00".into(),
            frozen: "0.00".into(),
        }],
    })
    .unwrap();
    assert_eq!(
        balance,
        r#"{"balances":[{"currency":"INR","available":"1000.00","frozen":"0.00"}]}"#
    );
    let ist = jiff::tz::Offset::from_seconds(5 * 3600 + 1800).unwrap();
    let at = jiff::Timestamp::from_millisecond(TS as i64).unwrap();
    assert_eq!(format_time(at, ist), "2024-05-14T12:42:38.482+05:30");
    assert_eq!(
        format_time(at, jiff::tz::Offset::from_seconds(-3 * 3600).unwrap()),
        "2024-05-14T04:12:38.482-03:00"
    );
    assert_eq!(parse_time("2024-05-14T12:42:38.482+05:30").unwrap(), at);
}

#[test]
fn webhooks_of_each_kind_verify() {
    let c = client("https://gateway.example.com");
    let callbacks = [
        Callback::Payment(payment_data(PaymentStatus::Expired)),
        Callback::Payout(payout_data()),
        Callback::Refund(refund_data()),
    ];
    for (i, cb) in callbacks.into_iter().enumerate() {
        let url = "https://merchant.example.com/hooks/v2?kind=all&x=%2F";
        let nonce = polypay_v2sha256::sign::fresh_nonce();
        let request = encode_callback(&credentials(), url, &cb, TS + i as u64, &nonce).unwrap();
        let kind =
            serde_json::from_slice::<serde_json::Value>(&request.body).unwrap()["type"].clone();
        assert_eq!(kind, ["PAYMENT", "PAYOUT", "REFUND"][i]);
        let verified = c
            .verify_callback("/hooks/v2?kind=all&x=%2F", &request.headers, &request.body)
            .unwrap();
        assert_eq!((verified.callback, verified.nonce), (cb, nonce));
    }
}

#[test]
fn redirects_with_awkward_values_verify() {
    let c = client("https://gateway.example.com");
    let params = RedirectParams {
        merchant_trade_no: "ORD#1&2=3+4".into(),
        payment_no: "PAY1".into(),
        status: PaymentStatus::Closed,
        amount: "1.00".into(),
        currency: "INR".into(),
        merchant_attach: Some("a b/ü?&=%".into()),
        timestamp_ms: TS,
        nonce: NONCE.into(),
    };
    let url = redirect_url(
        "https://merchant.example.com/return?session=9",
        &params,
        SECRET,
    );
    assert!(
        url.contains("merchantTradeNo=ORD%231%262%3D3%2B4&")
            && url.contains("merchantAttach=a%20b%2F%C3%BC%3F%26%3D%25&"),
        "{url}"
    );
    assert_eq!(c.verify_redirect(&url).unwrap(), params);
    let without_attach = RedirectParams {
        merchant_attach: None,
        ..params
    };
    let url = redirect_url(
        "https://merchant.example.com/return",
        &without_attach,
        SECRET,
    );
    assert_eq!(c.verify_redirect(&url).unwrap(), without_attach);
}

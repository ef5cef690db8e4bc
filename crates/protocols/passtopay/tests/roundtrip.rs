//! Client ⇄ server round trips: every endpoint built by the client SDK and parsed by the
//! server's inbound handler; responses rendered by the server and verified by the client;
//! notifications and redirects encoded by the notifier and verified by the client.

use polypay_passtopay::client::{self, Client, ClientError};
use polypay_passtopay::inbound::{HttpRequest, Inbound, Request, parse_request};
use polypay_passtopay::notify::{self, CallbackData};
use polypay_passtopay::wire::*;
use polypay_passtopay::{AppSecret, Credentials, TraceId, render_success};

const SECRET: &str = "s3cr3t";
const NOW_MS: i64 = 1_700_000_000_000;

fn creds() -> Credentials {
    Credentials::new("M1", "A1", AppSecret::new(SECRET))
}

fn client() -> Client {
    Client::new("http://127.0.0.1:1/", creds())
}

fn server_parse(req: &client::PreparedRequest) -> Inbound {
    let headers: Vec<(&str, &str)> = req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let http = HttpRequest {
        method: req.method,
        path: req.path,
        query: "",
        headers: &headers,
        body: &req.body,
    };
    let now = jiff::Timestamp::from_millisecond(NOW_MS).unwrap();
    parse_request(&http, |m, a| (m == "M1" && a == "A1").then(creds), now).unwrap()
}

fn unified_params() -> UnifiedOrderParams {
    UnifiedOrderParams {
        mch_order_no: "O1".into(),
        way_code: "ALI_WAP".into(),
        amount: 12345,
        currency: "cny".into(),
        subject: "商品".into(),
        body: "0".into(),
        client_ip: "1.2.3.4".into(),
        cust_no: "C1".into(),
        register_time: NOW_MS,
        user_name: Some("张 三".into()),
        mbr_tel: None,
        id_no: None,
        notify_url: Some("https://m.example/n?x=1".into()),
        return_url: Some("https://m.example/r".into()),
        expired_time: Some(600),
        channel_extra: Some(r#"{"payDataType":"form"}"#.into()),
        ext_param: Some("a&b=c".into()),
    }
}

#[test]
fn every_endpoint_round_trips() {
    let c = client();
    let i = server_parse(&c.build_unified_order(&unified_params(), NOW_MS));
    let Request::UnifiedOrder(o) = i.request else {
        panic!()
    };
    assert_eq!(
        (o.amount, o.way_code, o.pay_data_type),
        (12345, WayCode::AliWap, PayDataType::Form)
    );
    assert_eq!(
        (o.expired_secs, o.ext_param.as_deref()),
        (600, Some("a&b=c"))
    );
    assert_eq!(i.common.version, "1.1");
    assert_eq!(i.common.req_time.millis, NOW_MS);

    let cashier = CashierOrderParams {
        mch_order_no: "O2".into(),
        amount: 100,
        currency: "usd".into(),
        cust_no: "C1".into(),
        register_time: NOW_MS,
        way_code: Some("ALI_QR".into()),
        user_name: None,
        mbr_tel: None,
        id_no: None,
        notify_url: None,
        return_url: None,
        expired_time: None,
        ext_param: None,
        subject: Some("x".into()),
        body: None,
    };
    let Request::CashierOrder(o) = server_parse(&c.build_cashier_order(&cashier, NOW_MS)).request
    else {
        panic!()
    };
    assert_eq!(
        (o.way_code, o.expired_secs, o.currency.as_str()),
        (Some(WayCode::AliQr), 900, "usd")
    );

    let crypto = CryptoOrderParams {
        mch_order_no: "O3".into(),
        amount: 10031,
        currency: "USDC".into(),
        chain: "1".into(),
        subject: "s".into(),
        body: "b".into(),
        client_ip: "1.2.3.4".into(),
        cust_no: "C1".into(),
        register_time: NOW_MS,
        way_code: Some("CRYPTO_ADDRESS".into()),
        user_name: None,
        mbr_tel: None,
        id_no: None,
        notify_url: None,
        return_url: None,
        expired_time: None,
        ext_param: None,
    };
    let Request::CryptoOrder(o) = server_parse(&c.build_crypto_order(&crypto, NOW_MS)).request
    else {
        panic!()
    };
    assert_eq!((o.chain, o.minor_units()), (Chain::Ethereum, 100_310_000));

    let by_id = PayOrderRef::PayOrderId("P1".into());
    assert_eq!(
        server_parse(&c.build_query_payment(&by_id, NOW_MS)).request,
        Request::PayQuery(by_id.clone())
    );
    let by_no = PayOrderRef::MchOrderNo("O1".into());
    assert_eq!(
        server_parse(&c.build_close_payment(&by_no, NOW_MS)).request,
        Request::PayClose(by_no.clone())
    );

    let refund = RefundOrderParams {
        mch_refund_no: "RF1".into(),
        refund_amount: 5,
        currency: "cny".into(),
        refund_reason: "r".into(),
        client_ip: Some("1.2.3.4".into()),
        notify_url: Some("http://m/n".into()),
        channel_extra: None,
        ext_param: None,
    };
    let Request::RefundOrder(r) = server_parse(&c.build_refund(&by_no, &refund, NOW_MS)).request
    else {
        panic!()
    };
    assert_eq!((r.payment, r.refund_amount), (by_no, 5));
    let rr = RefundRef::MchRefundNo("RF1".into());
    assert_eq!(
        server_parse(&c.build_query_refund(&rr, NOW_MS)).request,
        Request::RefundQuery(rr)
    );

    let transfer = TransferOrderParams {
        mch_order_no: "T1".into(),
        entry_type: "BANK_CARD".into(),
        amount: 100,
        currency: "cny".into(),
        account_no: "6222".into(),
        account_name: Some("张三".into()),
        bank_name: None,
        client_ip: "1.2.3.4".into(),
        transfer_desc: "0".into(),
        cust_no: "C1".into(),
        notify_url: None,
        channel_extra: Some(r#"{"bankCode":"01020000"}"#.into()),
        extra_param: Some("e".into()),
    };
    let Request::TransferOrder(t) = server_parse(&c.build_transfer(&transfer, NOW_MS)).request
    else {
        panic!()
    };
    assert_eq!((t.amount, t.extra_param.as_deref()), (100, Some("e")));
    let tr = TransferRef::TransferId("T123".into());
    assert_eq!(
        server_parse(&c.build_query_transfer(&tr, NOW_MS)).request,
        Request::TransferQuery(tr)
    );
}

fn pay_order() -> PayOrderData {
    PayOrderData {
        amount: 12345,
        app_id: "A1".into(),
        body: Some("0".into()),
        channel_order_no: Some("2024010112345678901234567890".into()),
        client_ip: Some("1.2.3.4".into()),
        created_at: Some(NOW_MS),
        currency: "cny".into(),
        err_code: None,
        err_msg: None,
        ext_param: Some("a&b=c d".into()),
        if_code: Some("alipay".into()),
        mch_no: "M1".into(),
        mch_order_no: "O1".into(),
        pay_order_id: "P1".into(),
        pay_url: Some("https://polypay.example/passtopay/cashier?payOrderToken=ab".into()),
        state: 2,
        subject: Some("商品".into()),
        success_time: Some(NOW_MS + 5),
        way_code: Some("ALI_QR".into()),
    }
}

#[test]
fn server_responses_verify_on_the_client() {
    let secret = AppSecret::new(SECRET);
    let trace = TraceId::from_bytes([7; 16]);
    let r = render_success(&pay_order(), &secret, trace);
    let v = client::parse_response::<PayOrderData>(&r.body, &secret).unwrap();
    assert!(v.signature_verified);
    assert_eq!(v.data, pay_order());
    assert_eq!(v.trace_id, Some("07".repeat(16)));
    // Another app's secret fails.
    let err = client::parse_response::<PayOrderData>(&r.body, &AppSecret::new("x")).unwrap_err();
    assert!(matches!(err, ClientError::BadSignature));
    // Close: empty data, no sign, still a success.
    let r = render_success(&CloseData {}, &secret, trace);
    let v = client::parse_response::<CloseData>(&r.body, &secret).unwrap();
    assert!(!v.signature_verified);
    // Errors surface as Api errors.
    let r = polypay_passtopay::ApiError::OrderNotFound.render(trace);
    match client::parse_response::<PayOrderData>(&r.body, &secret) {
        Err(ClientError::Api {
            code: 9999, msg, ..
        }) => assert_eq!(msg, "order not found"),
        other => panic!("{other:?}"),
    }
    let transfer = TransferQueryData {
        account_name: Some("张三".into()),
        account_no: "6222".into(),
        amount: 100,
        app_id: "A1".into(),
        bank_name: None,
        channel_order_no: None,
        created_at: Some(NOW_MS),
        currency: "cny".into(),
        entry_type: Some("BANK_CARD".into()),
        err_code: Some("E".into()),
        err_msg: Some("bad card".into()),
        extra_param: None,
        if_code: Some("alipay".into()),
        mch_no: "M1".into(),
        mch_order_no: "T1".into(),
        state: 3,
        success_time: None,
        transfer_desc: Some("0".into()),
        transfer_id: "T1234567890123456789".into(),
    };
    let r = render_success(&transfer, &secret, trace);
    assert_eq!(
        client::parse_response::<TransferQueryData>(&r.body, &secret)
            .unwrap()
            .data,
        transfer
    );
}

fn refund_query() -> RefundQueryData {
    RefundQueryData {
        app_id: "A1".into(),
        channel_order_no: None,
        created_at: Some(NOW_MS),
        currency: "cny".into(),
        err_code: None,
        err_msg: None,
        ext_param: None,
        mch_no: "M1".into(),
        mch_refund_no: "RF1".into(),
        pay_amount: 12345,
        pay_order_id: "P1".into(),
        refund_amount: 5,
        refund_order_id: "R1".into(),
        state: 2,
        success_time: Some(NOW_MS),
    }
}

#[test]
fn notifications_in_every_format_verify_on_the_client() {
    let secret = AppSecret::new(SECRET);
    let c = Client::new("http://127.0.0.1:1", creds());
    let payment = CallbackData::Payment(PaymentNotification::new(pay_order(), NOW_MS + 9));
    let refund = CallbackData::Refund(RefundNotification {
        refund: refund_query(),
        req_time: NOW_MS,
    });
    for data in [payment, refund] {
        for format in [NotifyFormat::Form, NotifyFormat::Query, NotifyFormat::Json] {
            let req = notify::encode(&data, "https://m.example/notify?token=abc", &secret, format);
            assert_eq!(req.method, "POST");
            let (url, query) = req.url.split_once('?').unwrap();
            assert_eq!(url, "https://m.example/notify");
            let headers: Vec<(&str, &str)> =
                req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let got = c.verify_callback(query, &headers, &req.body).unwrap();
            assert_eq!(got, data, "{format:?}");
            // A one-byte change to the body or URL is rejected.
            let mut bad_body = req.body.clone();
            let mut bad_query = query.to_owned();
            if bad_body.is_empty() {
                bad_query = bad_query.replacen("M1", "M2", 1);
            } else {
                let at = bad_body.windows(2).position(|w| w == b"M1").unwrap();
                bad_body[at + 1] = b'2';
            }
            assert!(
                c.verify_callback(&bad_query, &headers, &bad_body).is_err(),
                "{format:?}"
            );
        }
    }
}

#[test]
fn json_notification_uses_numbers_for_integers() {
    let data = CallbackData::Payment(PaymentNotification::new(pay_order(), NOW_MS));
    let req = notify::encode(
        &data,
        "http://m/n",
        &AppSecret::new(SECRET),
        NotifyFormat::Json,
    );
    let body = String::from_utf8(req.body).unwrap();
    assert!(
        body.starts_with(r#"{"amount":12345,"appId":"A1","#),
        "{body}"
    );
    assert!(body.contains(r#""state":2,"#) && body.contains(&format!(r#""reqTime":{NOW_MS},"#)));
    assert!(
        !body.contains("payUrl"),
        "payUrl is not a notification field"
    );
    assert_eq!(
        req.headers,
        vec![("Content-Type", "application/json".to_owned())]
    );
}

#[test]
fn redirect_url_rules_and_verification() {
    let secret = AppSecret::new(SECRET);
    let n = PaymentNotification::new(pay_order(), NOW_MS);
    let url = notify::redirect_url("https://m.example/return", &n, &secret);
    assert!(
        url.starts_with("https://m.example/return?amount=12345&appId=A1&body=0&"),
        "{url}"
    );
    assert!(url.contains("&extParam=a%26b%3Dc%20d&"), "{url}");
    assert!(url.contains("&subject=%E5%95%86%E5%93%81&"), "{url}");
    assert_eq!(client().verify_redirect(&url).unwrap(), n);
    // The merchant's own parameters on returnUrl are not signed, yet verification succeeds.
    let url = notify::redirect_url("https://m.example/return?order=7", &n, &secret);
    assert!(
        url.starts_with("https://m.example/return?order=7&amount=12345&"),
        "{url}"
    );
    assert_eq!(client().verify_redirect(&url).unwrap(), n);
    assert!(
        client()
            .verify_redirect(&url.replace("state=2", "state=3"))
            .is_err()
    );
    // A fragment stays last, after the signed parameters, and verification ignores it.
    let url = notify::redirect_url("https://m.example/return?order=7#done", &n, &secret);
    assert!(url.ends_with("#done") && !url.contains("#done&"), "{url}");
    assert_eq!(client().verify_redirect(&url).unwrap(), n);
}

#[test]
fn append_url_query_quirks() {
    let pairs = vec![
        ("a".to_owned(), "1 2".to_owned()),
        ("b".to_owned(), "~é".to_owned()),
    ];
    assert_eq!(
        notify::append_url_query("http://x/y", &pairs),
        "http://x/y?a=1%202&b=~%C3%A9"
    );
    assert_eq!(
        notify::append_url_query("http://x/y?", &pairs),
        "http://x/y?a=1%202&b=~%C3%A9"
    );
    assert_eq!(
        notify::append_url_query("http://x/y?k=v", &pairs),
        "http://x/y?k=v&a=1%202&b=~%C3%A9"
    );
    // No `=` in the URL: the first parameter gets no `&`, even after an existing bare name.
    assert_eq!(
        notify::append_url_query("http://x/y?flag", &pairs),
        "http://x/y?flaga=1%202&b=~%C3%A9"
    );
    // A fragment stays last: the parameters go in the query, which reaches the server.
    assert_eq!(
        notify::append_url_query("http://x/y#top", &pairs),
        "http://x/y?a=1%202&b=~%C3%A9#top"
    );
    assert_eq!(
        notify::append_url_query("http://x/y?k=v#a=b", &pairs),
        "http://x/y?k=v&a=1%202&b=~%C3%A9#a=b"
    );
}

#[test]
fn ack_rule_and_schedule() {
    for body in ["success", "SUCCESS", "Success"] {
        assert!(notify::is_ack(500, body.as_bytes()));
    }
    for body in ["success\n", " success", "ok", "", "successs"] {
        assert!(!notify::is_ack(200, body.as_bytes()), "{body:?}");
    }
    let secs: Vec<u64> = notify::retry_schedule()
        .iter()
        .map(|d| d.as_secs())
        .collect();
    assert_eq!(secs, [0, 30, 60, 90, 120, 150]);
}

#[test]
fn callbacks_with_unsigned_extras_fail_and_signed_extras_pass() {
    let secret = AppSecret::new(SECRET);
    let data = CallbackData::Refund(RefundNotification {
        refund: refund_query(),
        req_time: NOW_MS,
    });
    let req = notify::encode(&data, "http://m/n", &secret, NotifyFormat::Form);
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let mut body = req.body.clone();
    body.extend_from_slice(b"&mchFeeRate=0.6");
    // An undocumented field the sender did not sign: all-field verification fails, the
    // documented-field fallback passes (only documented fields are then trusted).
    assert!(client::verify_callback_with("", &headers, &body, &secret).is_ok());
    let body = String::from_utf8(req.body)
        .unwrap()
        .replace("state=2", "state=2&refundAmount=6");
    // First wins in a form body, so the duplicate is ignored entirely.
    assert!(client::verify_callback_with("", &headers, body.as_bytes(), &secret).is_ok());
    let err = client::verify_callback_with("", &headers, b"refundOrderId=R1", &secret).unwrap_err();
    assert!(matches!(err, ClientError::MissingSignature));
}

/// The async client against a loopback HTTP server that runs the pure server code.
#[tokio::test]
async fn async_client_over_loopback() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let (head_len, content_length) = loop {
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .trim()
                    .parse::<usize>()
                    .unwrap();
                break (at + 4, len);
            }
        };
        while buf.len() < head_len + content_length {
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8(buf[..head_len].to_vec()).unwrap();
        let path = head.split(' ').nth(1).unwrap().to_owned();
        let body = &buf[head_len..];
        let headers = [("content-type", "application/json")];
        let req = HttpRequest {
            method: "POST",
            path: &path,
            query: "",
            headers: &headers,
            body,
        };
        let inbound = parse_request(&req, |_, _| Some(creds()), jiff::Timestamp::now()).unwrap();
        let Request::PayQuery(PayOrderRef::MchOrderNo(no)) = inbound.request else {
            panic!()
        };
        let data = PayOrderData {
            mch_order_no: no,
            ..pay_order()
        };
        let r = render_success(&data, &inbound.credentials.app_secret, TraceId::random());
        let head = format!(
            "HTTP/1.1 {} OK\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            r.status,
            r.headers[0].1,
            r.body.len()
        );
        sock.write_all(head.as_bytes()).await.unwrap();
        sock.write_all(&r.body).await.unwrap();
    });
    let c = Client::new(format!("http://{addr}"), creds());
    let v = c
        .query_payment(&PayOrderRef::MchOrderNo("O-loop".into()))
        .await
        .unwrap();
    assert!(v.signature_verified);
    assert_eq!(v.data.mch_order_no, "O-loop");
    server.await.unwrap();
}

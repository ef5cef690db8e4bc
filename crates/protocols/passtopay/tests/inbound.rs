//! The server's request handling: spec 4's error table row by row (status, code, msg), the
//! check order of spec 3.3, the field rules of spec 5 and S2 as received in every body format.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use polypay_passtopay::inbound::{HttpRequest, Request, parse_request};
use polypay_passtopay::wire::{Chain, PayDataType, PayOrderRef, WayCode};
use polypay_passtopay::{ApiError, AppSecret, Credentials, MerchantSettings, TraceId, sign};

const SECRET: &str = "your_secret_key";
const MCH: &str = "M1623984572";
const APP: &str = "60cc09bce4b0f1c0b83761c9";
const NOW_MS: i64 = 1622016572190;

fn s2() -> Vec<(String, String)> {
    [
        ("amount", "8"),
        ("appId", APP),
        ("body", "0"),
        ("channelExtra", r#"{"payDataType":"codeImgUrl"}"#),
        ("clientIp", "210.73.10.148"),
        ("currency", "cny"),
        ("custNo", "C200492312"),
        ("extParam", ""),
        ("mchNo", MCH),
        ("mchOrderNo", "mho1624005107281"),
        ("notifyUrl", "https://www.yourserver.com/notify.htm"),
        ("registerTime", "1622016572190"),
        ("reqTime", "1622016572190"),
        ("signType", "MD5"),
        ("subject", "商品"),
        ("version", "1.1"),
        ("wayCode", "ALI_QR"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn set(mut p: Vec<(String, String)>, name: &str, value: Option<&str>) -> Vec<(String, String)> {
    p.retain(|(k, _)| k != name);
    if let Some(v) = value {
        p.push((name.to_owned(), v.to_owned()));
    }
    p
}

fn signed(p: Vec<(String, String)>) -> Vec<(String, String)> {
    let signature = sign::sign(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), SECRET);
    set(p, "sign", Some(&signature))
}

fn form(p: &[(String, String)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
}

fn lookup_with(settings: MerchantSettings) -> impl Fn(&str, &str) -> Option<Credentials> {
    move |mch, app| {
        let mut c = match (mch, app) {
            (MCH, APP) => Credentials::new(MCH, APP, AppSecret::new(SECRET)),
            ("M2", "A2") => Credentials::new("M2", "A2", AppSecret::new("other")),
            _ => return None,
        };
        c.settings = settings.clone();
        Some(c)
    }
}

fn call(path: &str, body: &str, settings: MerchantSettings) -> Result<Request, ApiError> {
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let req = HttpRequest {
        method: "POST",
        path,
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let now = jiff::Timestamp::from_millisecond(NOW_MS).unwrap();
    parse_request(&req, lookup_with(settings), now).map(|i| i.request)
}

fn unified(p: Vec<(String, String)>) -> Result<Request, ApiError> {
    call(
        "/api/pay/unifiedOrder",
        &form(&signed(p)),
        MerchantSettings::default(),
    )
}

/// Asserts the full envelope of an error: HTTP status, `code` 9999, exact `msg`, trace id.
fn assert_envelope(err: &ApiError, status: u16, msg: &str) {
    let r = err.render(TraceId::from_bytes([1; 16]));
    assert_eq!(r.status, status, "{msg}");
    let expected = format!(
        r#"{{"code":9999,"msg":{},"traceId":"{}"}}"#,
        serde_json::Value::String(msg.into()),
        "01".repeat(16)
    );
    assert_eq!(String::from_utf8(r.body).unwrap(), expected);
}

fn expect_err(result: Result<Request, ApiError>, msg: &str) {
    match result {
        Err(e) => assert_envelope(&e, 200, msg),
        Ok(r) => panic!("expected {msg:?}, got {r:?}"),
    }
}

#[test]
fn s2_form_body_is_accepted_and_typed() {
    let Request::UnifiedOrder(o) = unified(s2()).unwrap() else {
        panic!()
    };
    assert_eq!(o.way_code, WayCode::AliQr);
    assert_eq!(o.amount, 8);
    assert_eq!(o.pay_data_type, PayDataType::CodeImgUrl);
    assert_eq!(o.subject, "商品");
    assert_eq!(o.expired_secs, 7200);
    assert_eq!(o.ext_param, None);
    assert_eq!(o.register_time, Some(1622016572190));
}

#[test]
fn s2_json_body_with_number_and_object_and_vector_sign() {
    let body = format!(
        concat!(
            r#"{{"amount":8,"appId":"{APP}","body":"0","channelExtra":{{"payDataType":"codeImgUrl"}},"#,
            r#""clientIp":"210.73.10.148","currency":"cny","custNo":"C200492312","extParam":"","#,
            r#""mchNo":"{MCH}","mchOrderNo":"mho1624005107281","notifyUrl":"https://www.yourserver.com/notify.htm","#,
            r#""registerTime":1622016572190,"reqTime":"1622016572190","signType":"MD5","subject":"商品","#,
            r#""version":"1.1","wayCode":"ALI_QR","sign":"{SIGN}"}}"#
        ),
        APP = APP,
        MCH = MCH,
        SIGN = "11b9eb6f769b17d08726d0d94976f316"
    );
    let headers = [("content-type", "application/json; charset=UTF-8")];
    let req = HttpRequest {
        method: "POST",
        path: "/api/pay/unifiedOrder",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let now = jiff::Timestamp::from_millisecond(NOW_MS).unwrap();
    let inbound = parse_request(&req, lookup_with(MerchantSettings::default()), now).unwrap();
    assert_eq!(inbound.common.req_time.millis, 1622016572190);
    let mutated = body.replace("\"amount\":8", "\"amount\":9");
    let req = HttpRequest {
        body: mutated.as_bytes(),
        ..req
    };
    let err = parse_request(&req, lookup_with(MerchantSettings::default()), now).unwrap_err();
    assert_envelope(&err, 200, "Signing failure");
}

#[test]
fn empty_body_reads_the_query_string() {
    let q = form(&signed(s2()));
    let req = HttpRequest {
        method: "POST",
        path: "/api/pay/unifiedOrder",
        query: &q,
        headers: &[],
        body: b"",
    };
    let now = jiff::Timestamp::from_millisecond(NOW_MS).unwrap();
    assert!(parse_request(&req, lookup_with(MerchantSettings::default()), now).is_ok());
}

#[test]
fn row_invalid_request_body() {
    for (ct, body) in [
        ("application/json", "{\"a\":"),
        ("application/json", "[1]"),
        ("application/x-www-form-urlencoded", "a=%FF"),
    ] {
        let headers = [("Content-Type", ct)];
        let req = HttpRequest {
            method: "POST",
            path: "/api/pay/query",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let err = parse_request(
            &req,
            lookup_with(MerchantSettings::default()),
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap_err();
        assert_envelope(&err, 200, "invalid request body");
    }
}

#[test]
fn row_required() {
    expect_err(
        call(
            "/api/pay/query",
            "appId=x&sign=y",
            MerchantSettings::default(),
        ),
        "mchNo is required",
    );
    expect_err(
        call(
            "/api/pay/query",
            &format!("mchNo={MCH}&sign=y"),
            MerchantSettings::default(),
        ),
        "appId is required",
    );
    expect_err(
        call(
            "/api/pay/query",
            &format!("mchNo={MCH}&appId={APP}&sign="),
            MerchantSettings::default(),
        ),
        "sign is required",
    );
    expect_err(
        unified(set(s2(), "mchOrderNo", None)),
        "mchOrderNo is required",
    );
    expect_err(
        unified(set(s2(), "subject", Some(""))),
        "subject is required",
    );
    expect_err(unified(set(s2(), "reqTime", None)), "reqTime is required");
    expect_err(unified(set(s2(), "version", None)), "version is required");
    expect_err(unified(set(s2(), "custNo", None)), "custNo is required");
    expect_err(unified(set(s2(), "clientIp", None)), "clientIp is required");
    expect_err(
        unified(set(s2(), "registerTime", None)),
        "registerTime is required",
    );
}

#[test]
fn row_invalid() {
    for (name, bad) in [
        ("amount", "8.0"),
        ("amount", "0"),
        ("amount", "-1"),
        ("amount", "08"),
        ("amount", "9223372036854775808"),
        ("reqTime", "162201657219"),
        ("notifyUrl", "ftp://x"),
        ("returnUrl", "www.example.com"),
        ("clientIp", "999.1.1.1"),
        ("registerTime", "1622016572"),
        ("expiredTime", "0"),
        ("channelExtra", "not json"),
        ("channelExtra", r#"{"payDataType":"payUrl"}"#),
        ("extParam", &"x".repeat(513)),
        ("subject", &"商".repeat(65)),
        ("mchOrderNo", &"1".repeat(65)),
    ] {
        expect_err(
            unified(set(s2(), name, Some(bad))),
            &format!("{name} is invalid"),
        );
    }
}

#[test]
fn v10_clients_may_omit_the_v11_fields_when_lenient() {
    let p = set(
        set(set(s2(), "custNo", None), "clientIp", None),
        "registerTime",
        None,
    );
    let lenient = MerchantSettings {
        lenient_v10: true,
        ..Default::default()
    };
    let result = call("/api/pay/unifiedOrder", &form(&signed(p)), lenient);
    let Ok(Request::UnifiedOrder(o)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(
        (o.cust_no, o.client_ip, o.register_time),
        (None, None, None)
    );
}

#[test]
fn row_merchant_not_found() {
    expect_err(
        unified(set(s2(), "mchNo", Some("M0"))),
        "merchant or app not found",
    );
    expect_err(
        unified(set(s2(), "appId", Some("A2"))),
        "merchant or app not found",
    );
}

#[test]
fn row_signtype_and_check_order() {
    expect_err(
        unified(set(s2(), "signType", Some("SHA256"))),
        "unsupported signType",
    );
    assert!(unified(set(s2(), "signType", Some("md5"))).is_ok());
    // signType is checked before the signature, the signature before reqTime and fields.
    let bad_sig = |p: Vec<(String, String)>| {
        let p = set(signed(p), "sign", Some("00000000000000000000000000000000"));
        call(
            "/api/pay/unifiedOrder",
            &form(&p),
            MerchantSettings::default(),
        )
    };
    expect_err(
        bad_sig(set(s2(), "signType", Some("RSA"))),
        "unsupported signType",
    );
    expect_err(bad_sig(set(s2(), "amount", Some("x"))), "Signing failure");
    expect_err(bad_sig(set(s2(), "reqTime", Some("1"))), "Signing failure");
    expect_err(bad_sig(s2()), "Signing failure");
    // An undocumented extra is part of the signature.
    let p = signed(s2());
    let mut with_extra = p.clone();
    with_extra.push(("mchFeeRate".into(), "0.6".into()));
    expect_err(
        call(
            "/api/pay/unifiedOrder",
            &form(&with_extra),
            MerchantSettings::default(),
        ),
        "Signing failure",
    );
    assert!(unified(set(s2(), "mchFeeRate", Some("0.6"))).is_ok());
}

#[test]
fn row_request_expired_only_when_enforced() {
    let enforce = MerchantSettings {
        enforce_req_time: true,
        ..Default::default()
    };
    let old = set(s2(), "reqTime", Some(&(NOW_MS - 300_001).to_string()));
    expect_err(
        call(
            "/api/pay/unifiedOrder",
            &form(&signed(old.clone())),
            enforce.clone(),
        ),
        "request expired",
    );
    assert!(unified(old).is_ok());
    let secs = set(s2(), "reqTime", Some(&(NOW_MS / 1000).to_string()));
    assert!(call("/api/pay/unifiedOrder", &form(&signed(secs)), enforce).is_ok());
}

#[test]
fn row_not_supported() {
    expect_err(
        unified(set(s2(), "wayCode", Some("WX_NATIVE"))),
        "wayCode is not supported",
    );
    expect_err(
        unified(set(s2(), "wayCode", Some("CRYPTO_ADDRESS"))),
        "wayCode is not supported",
    );
    expect_err(
        unified(set(s2(), "currency", Some("usd"))),
        "currency is not supported",
    );
    assert!(unified(set(s2(), "currency", Some("CNY"))).is_ok());
}

fn crypto() -> Vec<(String, String)> {
    let p = set(s2(), "wayCode", None);
    let p = set(p, "channelExtra", None);
    let p = set(p, "currency", Some("usdt"));
    let p = set(p, "amount", Some("10031"));
    set(p, "chain", Some("0x2b6653dc"))
}

#[test]
fn crypto_order_rules() {
    let r = call(
        "/api/pay/cryptoOrder",
        &form(&signed(crypto())),
        MerchantSettings::default(),
    );
    let Ok(Request::CryptoOrder(o)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (o.chain, o.token.as_str(), o.minor_units()),
        (Chain::Tron, "USDT", 100_310_000)
    );
    let run = |p| {
        call(
            "/api/pay/cryptoOrder",
            &form(&signed(p)),
            MerchantSettings::default(),
        )
    };
    expect_err(
        run(set(crypto(), "currency", Some("USDC"))),
        "chain is not supported",
    );
    expect_err(
        run(set(crypto(), "chain", Some("2"))),
        "chain is not supported",
    );
    expect_err(run(set(crypto(), "chain", None)), "chain is required");
    expect_err(
        run(set(crypto(), "currency", Some("cny"))),
        "currency is not supported",
    );
    expect_err(
        run(set(crypto(), "wayCode", Some("ALI_QR"))),
        "wayCode is not supported",
    );
    expect_err(
        run(set(crypto(), "subject", Some("123456789"))),
        "subject is invalid",
    );
    assert!(
        run(set(
            set(crypto(), "currency", Some("USDC")),
            "chain",
            Some("1")
        ))
        .is_ok()
    );
}

#[test]
fn cashier_order_rules() {
    let base = set(set(s2(), "wayCode", None), "channelExtra", None);
    let run = |p| {
        call(
            "/api/pay/cashierOrder",
            &form(&signed(p)),
            MerchantSettings::default(),
        )
    };
    let r = run(set(base.clone(), "expiredTime", Some("60")));
    let Ok(Request::CashierOrder(o)) = r else {
        panic!("{r:?}")
    };
    assert_eq!((o.expired_secs, o.way_code), (900, None));
    let Ok(Request::CashierOrder(o)) = run(set(base.clone(), "expiredTime", Some("3600"))) else {
        panic!()
    };
    assert_eq!(o.expired_secs, 3600);
    assert!(run(set(base.clone(), "currency", Some("HKD"))).is_ok());
    expect_err(
        run(set(base.clone(), "currency", Some("USDT"))),
        "currency is not supported",
    );
    expect_err(
        run(set(base.clone(), "wayCode", Some("X"))),
        "wayCode is not supported",
    );
    // subject/body are reserved: anything goes.
    assert!(run(set(base, "subject", Some(&"s".repeat(500)))).is_ok());
}

fn common() -> Vec<(String, String)> {
    [
        ("mchNo", MCH),
        ("appId", APP),
        ("reqTime", "1622016572190"),
        ("version", "1.0"),
        ("signType", "MD5"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn query_close_references() {
    let run = |path, p| call(path, &form(&signed(p)), MerchantSettings::default());
    let both = set(
        set(common(), "payOrderId", Some("P1")),
        "mchOrderNo",
        Some("M1"),
    );
    assert_eq!(
        run("/api/pay/query", both.clone()),
        Ok(Request::PayQuery(PayOrderRef::PayOrderId("P1".into())))
    );
    assert_eq!(
        run("/api/pay/close", set(common(), "mchOrderNo", Some("M1"))),
        Ok(Request::PayClose(PayOrderRef::MchOrderNo("M1".into())))
    );
    expect_err(
        run("/api/pay/query", common()),
        "payOrderId or mchOrderNo is required",
    );
    expect_err(
        run("/api/refund/query", common()),
        "refundOrderId or mchRefundNo is required",
    );
    expect_err(
        run("/api/transfer/query", common()),
        "transferId or mchOrderNo is required",
    );
}

fn transfer() -> Vec<(String, String)> {
    let mut p = common();
    for (k, v) in [
        ("mchOrderNo", "T20240101001"),
        ("entryType", "BANK_CARD"),
        ("amount", "100"),
        ("currency", "cny"),
        ("accountNo", "6222021234567890123"),
        ("accountName", "张三"),
        ("clientIp", "210.73.10.148"),
        ("transferDesc", "0"),
        ("custNo", "C1"),
        (
            "channelExtra",
            r#"{"telNo":13800000000,"cardNo":"110","bankCode":"ICBC"}"#,
        ),
    ] {
        p.push((k.into(), v.into()));
    }
    p
}

#[test]
fn transfer_rules() {
    let run = |p| {
        call(
            "/api/transferOrder",
            &form(&signed(p)),
            MerchantSettings::default(),
        )
    };
    let r = run(transfer());
    let Ok(Request::TransferOrder(t)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        t.channel_extra_fields.tel_no.as_deref(),
        Some("13800000000")
    );
    assert_eq!(t.channel_extra_fields.bank_code.as_deref(), Some("ICBC"));
    assert!(
        run(set(
            transfer(),
            "channelExtra",
            Some(r#"{"bankCode":"01020000"}"#)
        ))
        .is_ok()
    );
    expect_err(
        run(set(
            transfer(),
            "channelExtra",
            Some(r#"{"bankCode":"0102"}"#),
        )),
        "channelExtra is invalid",
    );
    expect_err(
        run(set(transfer(), "entryType", Some("ALIPAY"))),
        "entryType is invalid",
    );
    expect_err(
        run(set(transfer(), "currency", Some("usd"))),
        "currency is not supported",
    );
    expect_err(
        run(set(transfer(), "accountNo", None)),
        "accountNo is required",
    );
    expect_err(
        run(set(transfer(), "transferDesc", None)),
        "transferDesc is required",
    );
}

#[test]
fn refund_rules() {
    let mut p = set(common(), "payOrderId", Some("P1795063328371040258"));
    for (k, v) in [
        ("mchRefundNo", "R1"),
        ("refundAmount", "50"),
        ("currency", "CNY"),
        ("refundReason", "r"),
    ] {
        p.push((k.into(), v.into()));
    }
    let run = |p| {
        call(
            "/api/refund/refundOrder",
            &form(&signed(p)),
            MerchantSettings::default(),
        )
    };
    let Ok(Request::RefundOrder(r)) = run(p.clone()) else {
        panic!()
    };
    assert!(r.currency_matches("cny"));
    expect_err(
        run(set(p.clone(), "refundAmount", Some("5.0"))),
        "refundAmount is invalid",
    );
    expect_err(
        run(set(p.clone(), "refundReason", None)),
        "refundReason is required",
    );
    expect_err(
        run(set(p, "payOrderId", None)),
        "payOrderId or mchOrderNo is required",
    );
}

#[test]
fn structured_values_only_where_json_is_expected() {
    // The signer renders an array as its raw text, so sign over "[8]" and send a real array:
    // authentication passes and the field rule answers.
    let json_with = |name: &str, raw: &str| {
        let p = signed(set(s2(), name, Some(raw)));
        let members: Vec<String> = p
            .iter()
            .map(|(k, v)| {
                let value = if k == name {
                    v.clone()
                } else {
                    serde_json::Value::from(v.as_str()).to_string()
                };
                format!("{}:{value}", serde_json::Value::from(k.as_str()))
            })
            .collect();
        format!("{{{}}}", members.join(","))
    };
    let headers = [("Content-Type", "application/json")];
    let run = |b: &str| {
        let req = HttpRequest {
            method: "POST",
            path: "/api/pay/unifiedOrder",
            query: "",
            headers: &headers,
            body: b.as_bytes(),
        };
        parse_request(
            &req,
            lookup_with(MerchantSettings::default()),
            jiff::Timestamp::UNIX_EPOCH,
        )
        .map(|i| i.request)
    };
    expect_err(run(&json_with("amount", "[8]")), "amount is invalid");
    expect_err(
        run(&json_with("subject", r#"{"a":1}"#)),
        "subject is invalid",
    );
    assert!(
        run(&json_with(
            "channelExtra",
            r#"{ "payDataType" : "codeUrl" }"#
        ))
        .is_ok()
    );
    assert!(run(&json_with("amount", "8")).is_ok());
    expect_err(run(&json_with("amount", "8.0")), "amount is invalid");
    expect_err(run(&json_with("amount", "1e3")), "amount is invalid");
}

#[test]
fn routing_and_methods() {
    let req = HttpRequest {
        method: "GET",
        path: "/api/pay/query",
        query: "",
        headers: &[],
        body: b"",
    };
    let err = parse_request(
        &req,
        lookup_with(MerchantSettings::default()),
        jiff::Timestamp::UNIX_EPOCH,
    )
    .unwrap_err();
    let r = err.render(TraceId::from_bytes([0; 16]));
    assert_eq!((r.status, r.body.len()), (405, 0));
    let req = HttpRequest {
        method: "POST",
        path: "/api/pay/nothing",
        ..req
    };
    let err = parse_request(
        &req,
        lookup_with(MerchantSettings::default()),
        jiff::Timestamp::UNIX_EPOCH,
    )
    .unwrap_err();
    assert_eq!(err.render(TraceId::from_bytes([0; 16])).status, 404);
}

#[test]
fn business_rows_render_exactly() {
    for (err, status, msg) in [
        (ApiError::DuplicateMchOrderNo, 200, "duplicate mchOrderNo"),
        (ApiError::DuplicateMchRefundNo, 200, "duplicate mchRefundNo"),
        (ApiError::OrderNotFound, 200, "order not found"),
        (ApiError::OrderCannotBeClosed, 200, "order cannot be closed"),
        (
            ApiError::RefundNotAllowed,
            200,
            "order state does not allow refund",
        ),
        (
            ApiError::RefundExceedsRefundable,
            200,
            "refund amount exceeds refundable amount",
        ),
        (ApiError::RefundInProgress, 200, "refund in progress"),
        (ApiError::InsufficientBalance, 200, "insufficient balance"),
        (ApiError::RateLimited, 429, "rate limit exceeded"),
        (ApiError::System, 200, "system error"),
    ] {
        assert_envelope(&err, status, msg);
    }
}

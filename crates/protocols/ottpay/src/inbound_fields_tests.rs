//! Field validation of every action (spec §5, rows 12 and 13 of §4).

use super::*;

const ACTIVE: &str = r#""operator_id":"0000000437","amount":"100","biz_type":"ALIPAY","call_back_url":"https://m.example/cb""#;

fn active(extra: &str) -> String {
    if extra.is_empty() {
        format!("{{{ACTIVE}}}")
    } else {
        format!("{{{ACTIVE},{extra}}}")
    }
}

#[test]
fn active_pay_defaults_and_total() {
    let expected = ActivePay {
        order_id: None,
        operator_id: "0000000437".into(),
        amount: 100,
        tip: 0,
        biz_type: BizType::Alipay,
        call_back_url: "https://m.example/cb".into(),
        shop_id: None,
        terminal_no: None,
        currency: Currency::Cad,
    };
    assert_eq!(
        request_of(&sealed("ACTIVEPAY", &active(""))),
        OttRequest::ActivePay(expected)
    );
    let extra = r#""order_id":"","Tip":25,"currency_type":"USD","shop_id":"S1","terminal_no":"T1""#;
    let OttRequest::ActivePay(pay) = request_of(&sealed("ACTIVEPAY", &active(extra))) else {
        panic!("not ACTIVEPAY");
    };
    assert_eq!(
        (pay.order_id, pay.tip, pay.currency),
        (None, 25, Currency::Usd)
    );
    assert_eq!(
        (pay.shop_id.as_deref(), pay.terminal_no.as_deref()),
        (Some("S1"), Some("T1"))
    );
    let OttRequest::ActivePay(pay) = request_of(&sealed("ACTIVEPAY", &active(r#""tip":1"#))) else {
        panic!("not ACTIVEPAY");
    };
    assert_eq!(pay.tip, 1);
}

#[test]
fn active_pay_rejections() {
    let order =
        r#"{"order_id":"x","amount":"1","biz_type":"ALIPAY","call_back_url":"https://m/cb"}"#;
    assert_missing("ACTIVEPAY", order, "operator_id");
    assert_invalid("ACTIVEPAY", &active(r#""order_id":"a/b""#), "order_id");
    assert_invalid(
        "ACTIVEPAY",
        &active(&format!(r#""order_id":"{}""#, "1".repeat(33))),
        "order_id",
    );
    assert_invalid("ACTIVEPAY", &active(r#""tip":"0","Tip":"0""#), "tip");
    assert_invalid("ACTIVEPAY", &active(r#""Tip":"01""#), "Tip");
    assert_invalid("ACTIVEPAY", &active(r#""tip":"-1""#), "tip");
    assert_invalid(
        "ACTIVEPAY",
        &active(r#""currency_type":"EUR""#),
        "currency_type",
    );
    assert_invalid(
        "ACTIVEPAY",
        &active(r#""currency_type":"cad""#),
        "currency_type",
    );
    assert_invalid("ACTIVEPAY", &active(r#""shop_id":7"#), "shop_id");
    for (amount, field) in [
        ("\"1.00\"", "amount"),
        ("0", "amount"),
        ("1.5", "amount"),
        ("\"01\"", "amount"),
    ] {
        let data = ACTIVE.replace(r#""amount":"100""#, &format!(r#""amount":{amount}"#));
        assert_invalid("ACTIVEPAY", &format!("{{{data}}}"), field);
    }
    for biz in ["PREPAY", "wechatpay", "PAYPAL"] {
        let data = ACTIVE.replace("ALIPAY", biz);
        assert_invalid("ACTIVEPAY", &format!("{{{data}}}"), "biz_type");
    }
    for url in [
        "ftp://m/cb",
        "https://",
        "http:example.com",
        "https://m/c b",
        "/cb",
    ] {
        let data = ACTIVE.replace("https://m.example/cb", url);
        assert_invalid("ACTIVEPAY", &format!("{{{data}}}"), "call_back_url");
    }
    let long = format!("https://m.example/{}", "a".repeat(495));
    let data = ACTIVE.replace("https://m.example/cb", &long);
    assert_invalid("ACTIVEPAY", &format!("{{{data}}}"), "call_back_url");
}

#[test]
fn merchant_settings_restrict_operator_and_currency() {
    let restricted = |id: &str| {
        (id == MID).then(|| Credentials {
            currencies: vec![Currency::Usd],
            default_currency: Currency::Usd,
            operator_ids: Some(vec!["OP1".into()]),
            ..Credentials::sandbox(MID, key())
        })
    };
    let body = sealed("ACTIVEPAY", &active(""));
    let result = parse_with("POST", &body, restricted);
    assert_envelope(
        result,
        200,
        "PARAM_INVALID",
        "invalid parameter: operator_id",
    );
    let data = active("").replace("0000000437", "OP1");
    let OttRequest::ActivePay(pay) = parse_with("POST", &sealed("ACTIVEPAY", &data), restricted)
        .expect("accepted")
        .request
    else {
        panic!("not ACTIVEPAY");
    };
    assert_eq!(pay.currency, Currency::Usd);
    let data = active(r#""currency_type":"CAD""#).replace("0000000437", "OP1");
    let result = parse_with("POST", &sealed("ACTIVEPAY", &data), restricted);
    assert_envelope(
        result,
        200,
        "PARAM_INVALID",
        "invalid parameter: currency_type",
    );
}

#[test]
fn h5_pay_rejections() {
    let ok = V3.plaintext;
    assert_invalid("H5PAY", &ok.replace("WECHATPAY", "ALIPAY"), "biz_type");
    assert_invalid("H5PAY", &ok.replace("\"form\"", "\"json\""), "submit_type");
    assert_invalid(
        "H5PAY",
        &ok.replace("owv3d1YJwmzug7z2ozlPyqIItA7E", &"o".repeat(129)),
        "open_id",
    );
    assert_missing(
        "H5PAY",
        &ok.replace("\"currency_type\":\"CAD\",", ""),
        "currency_type",
    );
    assert_missing(
        "H5PAY",
        &ok.replace("\"submit_type\":\"form\",", ""),
        "submit_type",
    );
    assert_invalid(
        "H5PAY",
        &ok.replace("ON00004652\",\"order_id", "ON00004653\",\"order_id"),
        "merchant_id",
    );
    let OttRequest::H5Pay(pay) = request_of(&sealed("H5PAY", &ok.replace("\"5\"", "5"))) else {
        panic!("not H5PAY");
    };
    assert_eq!(pay.amount, 5);
}

#[test]
fn prepay_init_rejections() {
    let ok = V4.plaintext;
    assert_missing(
        "PREPAY_INIT",
        &ok.replace("\"merchant_id\":\"ON00004652\",", ""),
        "merchant_id",
    );
    assert_missing(
        "PREPAY_INIT",
        &ok.replace("\"amount\":\"5\",", ""),
        "amount",
    );
    assert_missing(
        "PREPAY_INIT",
        &ok.replace("\"duration\":\"100\",", ""),
        "duration",
    );
    assert_invalid(
        "PREPAY_INIT",
        &ok.replace("\"PREPAY\"", "\"ALIPAY\""),
        "biz_type",
    );
    assert_invalid(
        "PREPAY_INIT",
        &ok.replace("prepay2022", "prepay 2022"),
        "prepay_order_id",
    );
    assert_invalid(
        "PREPAY_INIT",
        &ok.replace("\"20220727132626764\"", "\"\\u0007\""),
        "sale_num",
    );
    for duration in ["\"0\"", "\"2592001\"", "\"1.5\"", "\"010\"", "-1"] {
        let data = ok.replace("\"duration\":\"100\"", &format!("\"duration\":{duration}"));
        assert_invalid("PREPAY_INIT", &data, "duration");
    }
    let long_email = format!("\"{}@x.ca\"", "e".repeat(124));
    assert_invalid(
        "PREPAY_INIT",
        &ok.replace("\"inforsa@ott.ca\"", &long_email),
        "email",
    );
    assert_invalid(
        "PREPAY_INIT",
        &ok.replace("\"BLABLA\"", &format!("\"{}\"", "备".repeat(256))),
        "remarks",
    );
    assert_invalid(
        "PREPAY_INIT",
        &ok.replace("http://uatqrpay.ottpay.com/redirectBus", "redirectBus"),
        "redirect_url",
    );
    let data = ok.replace("\"duration\":\"100\"", "\"duration\":2592000");
    let OttRequest::PrepayInit(init) = request_of(&sealed("PREPAY_INIT", &data)) else {
        panic!("not PREPAY_INIT");
    };
    assert_eq!(init.duration_secs, 2_592_000);
    let remarks = format!("\"{}\"", "备".repeat(255));
    assert!(parse(&sealed("PREPAY_INIT", &ok.replace("\"BLABLA\"", &remarks))).is_ok());
}

#[test]
fn query_refund_and_rate_actions() {
    let data = r#"{"prepay_order_id":"P-1","order_id":"","merchant_id":"ON00004652"}"#;
    let expected = PrepayQuery {
        prepay_order_id: "P-1".into(),
        order_id: None,
    };
    assert_eq!(
        request_of(&sealed("PREPAY_QUERY", data)),
        OttRequest::PrepayQuery(expected)
    );
    assert_missing(
        "PREPAY_QUERY",
        r#"{"prepay_order_id":"P-1"}"#,
        "merchant_id",
    );
    let data = r#"{"ori_order_id":"16795056216014900","refund_amt":"3"}"#;
    let expected = Refund {
        order_id: None,
        ori_order_id: "16795056216014900".into(),
        refund_amt: 3,
    };
    assert_eq!(
        request_of(&sealed("REFUND", data)),
        OttRequest::Refund(expected)
    );
    assert_invalid(
        "REFUND",
        r#"{"ori_order_id":"A","refund_amt":"0"}"#,
        "refund_amt",
    );
    assert_invalid(
        "REFUND",
        r#"{"order_id":"R#1","ori_order_id":"A","refund_amt":"1"}"#,
        "order_id",
    );
    let expected = ExRateQuery {
        fee_type: "USD".into(),
        rate_e8: 710_000_000,
    };
    assert_eq!(
        request_of(&sealed("EX_RATE_QUERY", r#"{"fee_type":"USD"}"#)),
        OttRequest::ExRateQuery(expected)
    );
    assert_invalid("EX_RATE_QUERY", r#"{"fee_type":"EUR"}"#, "fee_type");
    assert_invalid("EX_RATE_QUERY", r#"{"fee_type":"usd"}"#, "fee_type");
    assert_missing("EX_RATE_QUERY", r#"{}"#, "fee_type");
}

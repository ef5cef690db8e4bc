//! Field validation of every endpoint (§5): each rule of the field tables yields PARAM_ERROR
//! `<field>: <reason>`, and valid bodies come out typed.

mod common;

use common::*;
use polypay_v2sha256::validate::{ApiRequest, validate};
use polypay_v2sha256::wire::{Endpoint, PayoutMethod};
use polypay_v2sha256::{CurrencyRule, Lookup};
use serde_json::{Value, json};

fn currencies() -> Vec<CurrencyRule> {
    vec![
        CurrencyRule::new("INR", 2),
        CurrencyRule::new("USD", 2),
        CurrencyRule::new("JPY", 0),
    ]
}

fn check(endpoint: Endpoint, body: &Value) -> Result<ApiRequest, String> {
    validate(endpoint, &serde_json::to_vec(body).unwrap(), &currencies()).map_err(|e| {
        assert_eq!((e.status(), e.code().as_str()), (200, "PARAM_ERROR"));
        e.message().to_owned()
    })
}

/// Applies `edit` to `base` at a JSON pointer (`None` removes the key) and expects `message`.
fn expect(endpoint: Endpoint, base: &Value, pointer: &str, edit: Option<Value>, message: &str) {
    let mut body = base.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let obj = body.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match edit {
        Some(v) => obj.insert(key.to_owned(), v),
        None => obj.remove(key),
    };
    assert_eq!(
        check(endpoint, &body).unwrap_err(),
        message,
        "{pointer} in {body}"
    );
}

fn payment() -> Value {
    serde_json::from_str(B1).unwrap()
}

fn payout() -> Value {
    json!({"merchantTradeNo":"PO-1","amount":"10.00","currency":"INR","description":"salary",
           "payoutMethod":{"type":"UPI","vpa":"asha@upi","payeeName":"Asha"},"notifyUrl":"https://m.example/n"})
}

#[test]
fn body_must_be_one_json_object() {
    for (body, message) in [
        (&b"not json"[..], "body: is not valid JSON"),
        (b"", "body: is not valid JSON"),
        (b"[1]", "body: must be a JSON object"),
        (b"\"x\"", "body: must be a JSON object"),
    ] {
        let e = validate(Endpoint::PaymentCreate, body, &currencies()).unwrap_err();
        assert_eq!(e.message(), message);
    }
    // Length-extension guard (§10): bytes after the object are refused, whitespace is not.
    let extended = format!("{B1}\u{80}\0\0{{}}");
    assert!(validate(Endpoint::PaymentCreate, extended.as_bytes(), &currencies()).is_err());
    assert!(
        validate(
            Endpoint::PaymentCreate,
            format!("{B1}{{}}").as_bytes(),
            &currencies()
        )
        .is_err()
    );
    assert!(
        validate(
            Endpoint::PaymentCreate,
            format!(" {B1}\r\n").as_bytes(),
            &currencies()
        )
        .is_ok()
    );
}

#[test]
fn payment_create_fields() {
    let p = &payment();
    let e = Endpoint::PaymentCreate;
    expect(
        e,
        p,
        "/merchantTradeNo",
        None,
        "merchantTradeNo: is required",
    );
    expect(
        e,
        p,
        "/merchantTradeNo",
        Some(Value::Null),
        "merchantTradeNo: is required",
    );
    expect(
        e,
        p,
        "/merchantTradeNo",
        Some(json!(123)),
        "merchantTradeNo: must be a string",
    );
    expect(
        e,
        p,
        "/merchantTradeNo",
        Some(json!("")),
        "merchantTradeNo: must be 1-50 characters",
    );
    expect(
        e,
        p,
        "/merchantTradeNo",
        Some(json!("x".repeat(51))),
        "merchantTradeNo: must be 1-50 characters",
    );
    expect(
        e,
        p,
        "/merchantTradeNo",
        Some(json!("a b")),
        "merchantTradeNo: must be printable ASCII without spaces",
    );
    expect(
        e,
        p,
        "/merchantTradeNo",
        Some(json!("ordé")),
        "merchantTradeNo: must be printable ASCII without spaces",
    );
    expect(e, p, "/amount", None, "amount: is required");
    expect(
        e,
        p,
        "/amount",
        Some(json!(100.05)),
        "amount: must be a string",
    );
    expect(
        e,
        p,
        "/amount",
        Some(json!("1.005")),
        "amount: must have at most 2 decimal places",
    );
    expect(
        e,
        p,
        "/amount",
        Some(json!("0.00")),
        "amount: must be greater than 0",
    );
    for bad in ["1e2", "-1", "+1", "01.00", "1.", ".5", " 1"] {
        expect(
            e,
            p,
            "/amount",
            Some(json!(bad)),
            "amount: must be a decimal string like \"100.05\"",
        );
    }
    expect(
        e,
        p,
        "/amount",
        Some(json!("1000000000000000")),
        "amount: is too large",
    );
    expect(
        e,
        p,
        "/currency",
        Some(json!("inr")),
        "currency: must be an upper-case ISO 4217 code",
    );
    expect(
        e,
        p,
        "/currency",
        Some(json!("EUR")),
        "currency: is not enabled for this merchant",
    );
    expect(e, p, "/currency", None, "currency: is required");
    expect(
        e,
        p,
        "/description",
        Some(json!("")),
        "description: must be 1-80 characters",
    );
    expect(
        e,
        p,
        "/description",
        Some(json!("d".repeat(81))),
        "description: must be 1-80 characters",
    );
    expect(e, p, "/payer", None, "payer: is required");
    expect(
        e,
        p,
        "/payer",
        Some(json!("u-1")),
        "payer: must be an object",
    );
    expect(e, p, "/payer/userId", None, "payer.userId: is required");
    expect(
        e,
        p,
        "/payer/userId",
        Some(json!("u".repeat(65))),
        "payer.userId: must be 1-64 characters",
    );
    expect(
        e,
        p,
        "/payer/name",
        Some(json!("n".repeat(81))),
        "payer.name: must be at most 80 characters",
    );
    expect(
        e,
        p,
        "/payer/email",
        Some(json!("e".repeat(129))),
        "payer.email: must be at most 128 characters",
    );
    expect(
        e,
        p,
        "/payer/phone",
        Some(json!(9999)),
        "payer.phone: must be a string",
    );
    expect(e, p, "/payMethod", None, "payMethod: is required");
    expect(
        e,
        p,
        "/payMethod/type",
        Some(json!("upi")),
        "payMethod.type: must match ^[A-Z_]{1,32}$",
    );
    expect(
        e,
        p,
        "/payMethod/type",
        Some(json!("A".repeat(33))),
        "payMethod.type: must be 1-32 characters",
    );
    expect(
        e,
        p,
        "/tradeEnv",
        Some(json!("203.0.113.9")),
        "tradeEnv: must be an object",
    );
    expect(
        e,
        p,
        "/merchantAttach",
        Some(json!("m".repeat(256))),
        "merchantAttach: must be at most 255 characters",
    );
    expect(
        e,
        p,
        "/notifyUrl",
        Some(json!("ftp://m.example/n")),
        "notifyUrl: must be an absolute http or https URL",
    );
    expect(
        e,
        p,
        "/notifyUrl",
        Some(json!("/notify")),
        "notifyUrl: must be an absolute http or https URL",
    );
    expect(
        e,
        p,
        "/notifyUrl",
        Some(json!("https://m.example/a b")),
        "notifyUrl: must be an absolute http or https URL",
    );
    let long = format!("https://m.example/{}", "p".repeat(240));
    expect(
        e,
        p,
        "/notifyUrl",
        Some(json!(long)),
        "notifyUrl: must be at most 255 characters",
    );
    expect(e, p, "/returnUrl", None, "returnUrl: is required");
}

#[test]
fn payment_create_accepts_and_types() {
    let mut body = payment();
    body["payMethod"]["vpa"] = json!("asha@upi");
    body["tradeEnv"] = json!({"ip":"203.0.113.9"});
    body["merchantAttach"] = json!("");
    body["description"] = json!("é".repeat(80));
    body["amount"] = json!("100.5");
    let Ok(ApiRequest::PaymentCreate(p)) = check(Endpoint::PaymentCreate, &body) else {
        panic!()
    };
    assert_eq!(
        (p.amount_minor, p.exponent, p.request.amount.as_str()),
        (10050, 2, "100.5")
    );
    assert_eq!(p.request.pay_method.kind, "UPI");
    assert_eq!(p.request.pay_method.extra["vpa"], "asha@upi");
    assert_eq!(p.request.trade_env.unwrap()["ip"], "203.0.113.9");
    assert_eq!(p.request.merchant_attach, None, "empty attach is absent");
    body["currency"] = json!("JPY");
    expect(
        Endpoint::PaymentCreate,
        &body,
        "/amount",
        Some(json!("100.5")),
        "amount: must have at most 0 decimal places",
    );
}

#[test]
fn payout_create_fields() {
    let p = &payout();
    let e = Endpoint::PayoutCreate;
    let Ok(ApiRequest::PayoutCreate(ok)) = check(e, p) else {
        panic!()
    };
    assert_eq!(ok.amount_minor, 1000);
    assert_eq!(
        ok.request.payout_method,
        PayoutMethod::Upi {
            vpa: "asha@upi".into(),
            payee_name: "Asha".into()
        }
    );
    expect(e, p, "/payoutMethod", None, "payoutMethod: is required");
    expect(
        e,
        p,
        "/payoutMethod/type",
        Some(json!("CARD")),
        "payoutMethod.type: must be one of BANK_ACCOUNT, UPI, PIX, WALLET",
    );
    expect(
        e,
        p,
        "/payoutMethod/vpa",
        None,
        "payoutMethod.vpa: is required",
    );
    expect(
        e,
        p,
        "/payoutMethod/payeeName",
        Some(json!("n".repeat(81))),
        "payoutMethod.payeeName: must be 1-80 characters",
    );
    expect(e, p, "/notifyUrl", None, "notifyUrl: is required");
    expect(
        e,
        p,
        "/amount",
        Some(json!("5.001")),
        "amount: must have at most 2 decimal places",
    );
    let bank = json!({"type":"BANK_ACCOUNT","accountNumber":"1234567890","bankCode":"HDFC0000001","payeeName":"Asha","mode":"IMPS"});
    let mut b = payout();
    b["payoutMethod"] = bank;
    let Ok(ApiRequest::PayoutCreate(ok)) = check(e, &b) else {
        panic!()
    };
    assert!(
        matches!(ok.request.payout_method, PayoutMethod::BankAccount { ref mode, .. } if mode.as_deref() == Some("IMPS"))
    );
    expect(
        e,
        &b,
        "/payoutMethod/mode",
        Some(json!("SWIFT")),
        "payoutMethod.mode: must be one of IMPS, NEFT, RTGS",
    );
    expect(
        e,
        &b,
        "/payoutMethod/accountNumber",
        Some(json!("1".repeat(35))),
        "payoutMethod.accountNumber: must be 1-34 characters",
    );
    expect(
        e,
        &b,
        "/payoutMethod/bankCode",
        None,
        "payoutMethod.bankCode: is required",
    );
    b["payoutMethod"] = json!({"type":"PIX","pixKey":"k","payeeName":"A"});
    assert!(check(e, &b).is_ok());
    expect(
        e,
        &b,
        "/payoutMethod/pixKey",
        Some(json!("k".repeat(129))),
        "payoutMethod.pixKey: must be 1-128 characters",
    );
    b["payoutMethod"] =
        json!({"type":"WALLET","walletId":"w","payeeName":"A","walletProvider":"paytm"});
    assert!(check(e, &b).is_ok());
    expect(
        e,
        &b,
        "/payoutMethod/walletId",
        None,
        "payoutMethod.walletId: is required",
    );
}

#[test]
fn refund_create_fields() {
    let base =
        json!({"merchantTradeNo":"RF-1","paymentNo":"PAY1","amount":"1.005","reason":"damaged"});
    let e = Endpoint::RefundCreate;
    let Ok(ApiRequest::RefundCreate(r)) = check(e, &base) else {
        panic!()
    };
    assert_eq!(
        r.payment,
        Lookup {
            number: Some("PAY1".into()),
            merchant_trade_no: None
        }
    );
    // The decimals are judged against the payment's currency, once known.
    assert_eq!(r.amount_minor(3), Ok(1005));
    assert_eq!(
        r.amount_minor(2).unwrap_err().message(),
        "amount: must have at most 2 decimal places"
    );
    expect(
        e,
        &base,
        "/paymentNo",
        None,
        "paymentNo: is required when paymentMerchantTradeNo is absent",
    );
    expect(
        e,
        &base,
        "/paymentNo",
        Some(json!("PAY-1")),
        "paymentNo: must be letters and digits only",
    );
    expect(
        e,
        &base,
        "/paymentNo",
        Some(json!("P".repeat(33))),
        "paymentNo: must be at most 32 characters",
    );
    expect(
        e,
        &base,
        "/merchantTradeNo",
        None,
        "merchantTradeNo: is required",
    );
    expect(
        e,
        &base,
        "/amount",
        Some(json!("0")),
        "amount: must be greater than 0",
    );
    expect(
        e,
        &base,
        "/reason",
        Some(json!("r".repeat(256))),
        "reason: must be at most 255 characters",
    );
    expect(
        e,
        &base,
        "/notifyUrl",
        Some(json!("mailto:x@y")),
        "notifyUrl: must be an absolute http or https URL",
    );
    let by_merchant_no =
        json!({"merchantTradeNo":"RF-1","paymentMerchantTradeNo":"ORD 1","amount":"1"});
    assert_eq!(
        check(e, &by_merchant_no).unwrap_err(),
        "paymentMerchantTradeNo: must be printable ASCII without spaces"
    );
}

#[test]
fn queries_and_balance() {
    for (endpoint, key) in [
        (Endpoint::PaymentQuery, "paymentNo"),
        (Endpoint::PayoutQuery, "payoutNo"),
        (Endpoint::RefundQuery, "refundNo"),
    ] {
        assert_eq!(
            check(endpoint, &json!({})).unwrap_err(),
            format!("{key}: is required when merchantTradeNo is absent")
        );
        assert_eq!(
            check(endpoint, &json!({key: ""})).unwrap_err(),
            format!("{key}: is required when merchantTradeNo is absent")
        );
        let both = check(endpoint, &json!({key: "ABC123", "merchantTradeNo": "M-1"})).unwrap();
        let lookup = Lookup {
            number: Some("ABC123".into()),
            merchant_trade_no: Some("M-1".into()),
        };
        let expected = match endpoint {
            Endpoint::PaymentQuery => ApiRequest::PaymentQuery(lookup),
            Endpoint::PayoutQuery => ApiRequest::PayoutQuery(lookup),
            _ => ApiRequest::RefundQuery(lookup),
        };
        assert_eq!(both, expected);
        assert_eq!(
            check(endpoint, &json!({key: 5})).unwrap_err(),
            format!("{key}: must be a string")
        );
    }
    let Ok(ApiRequest::BalanceQuery(b)) = check(Endpoint::BalanceQuery, &json!({})) else {
        panic!()
    };
    assert_eq!(b.currency, None);
    let Ok(ApiRequest::BalanceQuery(b)) = check(Endpoint::BalanceQuery, &json!({"currency":"USD"}))
    else {
        panic!()
    };
    assert_eq!(b.currency.as_deref(), Some("USD"));
    // Not only the currencies V2_SHA256 payments may use: any the ledger may hold.
    let Ok(ApiRequest::BalanceQuery(b)) = check(Endpoint::BalanceQuery, &json!({"currency":"EUR"}))
    else {
        panic!()
    };
    assert_eq!(b.currency.as_deref(), Some("EUR"));
    assert_eq!(
        check(Endpoint::BalanceQuery, &json!({"currency":"usd"})).unwrap_err(),
        "currency: must be an upper-case ISO 4217 code"
    );
}

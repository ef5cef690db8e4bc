//! §5 field validation: every rule, the input leniency, and the `<field>: <reason>` messages.

use polypay_fintech33::validate::{JsonObject, ServiceRequest, validate_service};
use polypay_fintech33::{ErrorCode, Service};

fn check(service: Service, json: &str) -> Result<ServiceRequest, String> {
    let obj = JsonObject::parse(json.as_bytes()).expect("test input is a JSON object");
    validate_service(service, &obj).map_err(|e| {
        assert_eq!(e.code, ErrorCode::InvalidParameter);
        e.message
    })
}

const PAYER: &str = r#"{"firstName":"Tai Man","lastName":"Chan","email":"tm.chan@example.com","areaCode":852,"phone":"91234567","address":"1 Queens Road","city":"Hong Kong","province":"HK","postcode":"000000","country":"HK"}"#;

/// PAYER with one field replaced (or removed when `value` is None).
fn payer_with(field: &str, value: Option<&str>) -> String {
    let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(PAYER).unwrap();
    match value {
        Some(v) => map.insert(field.to_owned(), serde_json::from_str(v).unwrap()),
        None => map.remove(field),
    };
    serde_json::to_string(&map).unwrap()
}

const ORDER: &str = r#"{"order_sn":"ORDER-0001","currency":"USD","amount":99.99,"payerID":10001,"purposeOfTransaction":"PAY_FOR_GOODS","description":"Test order","skip3ds":"False","domain":"shop.example.com","product":"T-shirt||Mug"}"#;

/// ORDER with one field's raw JSON text replaced (or removed), keeping the raw number text.
fn order_with(field: &str, value: Option<&str>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(ORDER).unwrap();
    for (k, v) in &map {
        if k == field {
            if let Some(raw) = value {
                parts.push(format!("\"{k}\":{raw}"));
            }
        } else if k == "amount" {
            parts.push("\"amount\":99.99".to_owned());
        } else {
            parts.push(format!("\"{k}\":{v}"));
        }
    }
    if let (false, Some(raw)) = (map.contains_key(field), value) {
        parts.push(format!("\"{field}\":{raw}"));
    }
    format!("{{{}}}", parts.join(","))
}

#[test]
fn create_payer_accepts_the_example_and_leniencies() {
    let Ok(ServiceRequest::CreatePayer(p)) = check(Service::CreatePayer, PAYER) else {
        panic!()
    };
    assert_eq!(
        (p.area_code, p.phone.as_str(), p.email.as_str()),
        (852, "91234567", "tm.chan@example.com")
    );
    let lenient = payer_with("areaCode", Some(r#""852""#)).replace(r#""91234567""#, "91234567");
    let Ok(ServiceRequest::CreatePayer(q)) = check(Service::CreatePayer, &lenient) else {
        panic!("{lenient}")
    };
    assert_eq!(q, p);
    assert!(check(Service::CreatePayer, &payer_with("address", Some(r#""""#))).is_ok());
    assert!(
        check(
            Service::CreatePayer,
            &payer_with("firstName", Some(&format!("\"{}\"", "é".repeat(64))))
        )
        .is_ok()
    );
}

/// Valid JSON that is no text: named as such, not as a wrong type.
#[test]
fn an_unpaired_surrogate_escape_is_not_text() {
    let body = PAYER.replace("Tai Man", r"a\ud800b");
    assert_eq!(
        check(Service::CreatePayer, &body).map(|_| ()),
        Err("firstName: is not valid text (an unpaired UTF-16 surrogate escape)".into())
    );
}

#[test]
fn create_payer_rejections() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("firstName", None, "firstName: is required"),
        ("firstName", Some("null"), "firstName: is required"),
        ("firstName", Some("1"), "firstName: must be a string"),
        (
            "firstName",
            Some(r#""a\u0000b""#),
            "firstName: must not contain a NUL character",
        ),
        (
            "firstName",
            Some(r#""""#),
            "firstName: length must be between 1 and 64",
        ),
        (
            "lastName",
            Some(&format!("\"{}\"", "é".repeat(65))),
            "lastName: length must be between 1 and 64",
        ),
        (
            "email",
            Some(r#""a@@b""#),
            "email: must contain exactly one @",
        ),
        (
            "email",
            Some(r#""ab""#),
            "email: must contain exactly one @",
        ),
        (
            "email",
            Some(&format!("\"{}@x\"", "a".repeat(127))),
            "email: length must be at most 128",
        ),
        (
            "areaCode",
            Some("0"),
            "areaCode: must be between 1 and 9999",
        ),
        (
            "areaCode",
            Some("10000"),
            "areaCode: must be between 1 and 9999",
        ),
        (
            "areaCode",
            Some("-1"),
            "areaCode: must be between 1 and 9999",
        ),
        ("areaCode", Some("852.0"), "areaCode: must be an integer"),
        ("areaCode", Some(r#""85a""#), "areaCode: must be an integer"),
        ("areaCode", Some("true"), "areaCode: must be an integer"),
        ("phone", Some(r#""123""#), "phone: must be 4 to 20 digits"),
        (
            "phone",
            Some(r#""+85291234567""#),
            "phone: must be 4 to 20 digits",
        ),
        (
            "phone",
            Some(&format!("\"{}\"", "1".repeat(21))),
            "phone: must be 4 to 20 digits",
        ),
        ("phone", Some("[1]"), "phone: must be a string"),
        (
            "address",
            Some(r#""Flat 1/F""#),
            "address: must match ^[a-zA-Z0-9 ]{0,255}$",
        ),
        (
            "address",
            Some(&format!("\"{}\"", "a".repeat(256))),
            "address: must match ^[a-zA-Z0-9 ]{0,255}$",
        ),
        ("city", None, "city: is required"),
        (
            "province",
            Some(r#""""#),
            "province: length must be between 1 and 64",
        ),
        (
            "postcode",
            Some(&format!("\"{}\"", "1".repeat(17))),
            "postcode: length must be between 1 and 16",
        ),
        ("country", Some("{}"), "country: must be a string"),
    ];
    for (field, value, want) in cases {
        assert_eq!(
            check(Service::CreatePayer, &payer_with(field, *value)).unwrap_err(),
            *want,
            "{field} {value:?}"
        );
    }
    assert!(
        check(
            Service::CreatePayer,
            &payer_with("phone", Some(&format!("\"{}\"", "1".repeat(20))))
        )
        .is_ok()
    );
}

#[test]
fn first_failing_field_in_table_order_is_reported() {
    assert_eq!(
        check(Service::CreatePayer, "{}").unwrap_err(),
        "firstName: is required"
    );
    assert_eq!(
        check(Service::UpdatePayer, PAYER).unwrap_err(),
        "payerID: is required"
    );
    assert_eq!(
        check(Service::CreateOrder, "{}").unwrap_err(),
        "order_sn: is required"
    );
}

#[test]
fn get_and_update_payer() {
    let Ok(ServiceRequest::GetPayer(g)) =
        check(Service::GetPayer, r#"{"email":"tm.chan@example.com"}"#)
    else {
        panic!()
    };
    assert_eq!(g.email, "tm.chan@example.com");
    assert_eq!(
        check(Service::GetPayer, r#"{"email":"x"}"#).unwrap_err(),
        "email: must contain exactly one @"
    );
    let upd = payer_with("payerID", Some(r#""10001""#));
    let Ok(ServiceRequest::UpdatePayer(u)) = check(Service::UpdatePayer, &upd) else {
        panic!()
    };
    assert_eq!(u.payer_id, 10001);
    assert_eq!(
        check(Service::UpdatePayer, &payer_with("payerID", Some("0"))).unwrap_err(),
        "payerID: must be between 1 and 18446744073709551615"
    );
    // Too large for any id: said so, not "at least 1" (QA).
    for huge in ["99999999999999999999999", r#""99999999999999999999999""#] {
        // The raw text (serde_json would read the number as a float).
        let body = payer_with("payerID", Some("7"))
            .replace(r#""payerID":7"#, &format!(r#""payerID":{huge}"#));
        assert!(body.contains(huge), "{body}");
        assert_eq!(
            check(Service::UpdatePayer, &body).unwrap_err(),
            "payerID: must be at most 18446744073709551615"
        );
    }
}

#[test]
fn create_order_accepts_p1_and_leniencies() {
    let Ok(ServiceRequest::CreateOrder(o)) = check(Service::CreateOrder, ORDER) else {
        panic!()
    };
    assert_eq!(
        (
            o.amount.cents(),
            o.skip3ds,
            o.purpose_of_transaction.as_str()
        ),
        (9999, false, "PAY_FOR_GOODS")
    );
    for (raw, cents) in [
        (r#""99.99""#, 9999),
        ("100", 10000),
        ("0.01", 1),
        ("9999999999999.99", 999_999_999_999_999),
    ] {
        let Ok(ServiceRequest::CreateOrder(o)) =
            check(Service::CreateOrder, &order_with("amount", Some(raw)))
        else {
            panic!("{raw}")
        };
        assert_eq!(o.amount.cents(), cents, "{raw}");
    }
    for (raw, want) in [
        (r#""TRUE""#, true),
        (r#""true""#, true),
        ("true", true),
        ("false", false),
        ("null", false),
    ] {
        let Ok(ServiceRequest::CreateOrder(o)) =
            check(Service::CreateOrder, &order_with("skip3ds", Some(raw)))
        else {
            panic!("{raw}")
        };
        assert_eq!(o.skip3ds, want, "{raw}");
    }
    let Ok(ServiceRequest::CreateOrder(o)) =
        check(Service::CreateOrder, &order_with("skip3ds", None))
    else {
        panic!()
    };
    assert!(!o.skip3ds);
    assert!(
        check(
            Service::CreateOrder,
            &order_with("product", Some(&format!("\"{}\"", "x".repeat(1024))))
        )
        .is_ok()
    );
    assert!(
        check(
            Service::CreateOrder,
            &order_with("payerID", Some(r#""10001""#))
        )
        .is_ok()
    );
}

#[test]
fn create_order_rejections() {
    let fraction = "amount: must be a decimal with at most 13 integer digits and 2 fraction digits";
    let cases: &[(&str, Option<&str>, &str)] = &[
        (
            "order_sn",
            Some(r#""""#),
            "order_sn: length must be between 1 and 64",
        ),
        (
            "order_sn",
            Some(&format!("\"{}\"", "A".repeat(65))),
            "order_sn: length must be between 1 and 64",
        ),
        (
            "order_sn",
            Some(r#""订单1""#),
            "order_sn: must be printable ASCII",
        ),
        (
            "order_sn",
            Some(r#""A\tB""#),
            "order_sn: must be printable ASCII",
        ),
        ("currency", Some(r#""usd""#), "currency: must be USD"),
        ("currency", None, "currency: is required"),
        ("amount", Some("1.005"), fraction),
        ("amount", Some("1e2"), fraction),
        ("amount", Some("-1"), fraction),
        ("amount", Some("99.990"), fraction),
        ("amount", Some("10000000000000"), fraction),
        ("amount", Some(r#""abc""#), fraction),
        ("amount", Some("0"), "amount: must be greater than 0"),
        ("amount", Some("0.00"), "amount: must be greater than 0"),
        ("amount", Some("true"), "amount: must be a number"),
        ("amount", None, "amount: is required"),
        ("payerID", Some("1.5"), "payerID: must be an integer"),
        (
            "purposeOfTransaction",
            Some(r#""pay_for_goods""#),
            "purposeOfTransaction: must be one of the documented values",
        ),
        (
            "description",
            Some(r#""""#),
            "description: length must be between 1 and 255",
        ),
        (
            "skip3ds",
            Some(r#""yes""#),
            "skip3ds: must be True or False",
        ),
        ("skip3ds", Some("1"), "skip3ds: must be True or False"),
        ("domain", None, "domain: is required"),
        (
            "product",
            Some(&format!("\"{}\"", "x".repeat(1025))),
            "product: length must be between 1 and 1024",
        ),
    ];
    for (field, value, want) in cases {
        assert_eq!(
            check(Service::CreateOrder, &order_with(field, *value)).unwrap_err(),
            *want,
            "{field} {value:?}"
        );
    }
}

#[test]
fn order_reference_rules() {
    let need = "order_sn: order_sn or linkID is required";
    assert_eq!(check(Service::QueryOrder, "{}").unwrap_err(), need);
    assert_eq!(
        check(Service::RefundOrder, r#"{"order_sn":null,"linkID":null}"#).unwrap_err(),
        need
    );
    assert_eq!(
        check(Service::QueryOrder, r#"{"linkID":1}"#).unwrap_err(),
        "linkID: must be a string"
    );
    let Ok(ServiceRequest::QueryOrder(r)) =
        check(Service::QueryOrder, r#"{"order_sn":"ORDER-0001"}"#)
    else {
        panic!()
    };
    assert_eq!(
        (r.order_sn.as_deref(), r.link_id),
        (Some("ORDER-0001"), None)
    );
    let Ok(ServiceRequest::RefundOrder(r)) =
        check(Service::RefundOrder, r#"{"order_sn":"A","linkID":"b"}"#)
    else {
        panic!()
    };
    assert_eq!(
        (r.order_sn.as_deref(), r.link_id.as_deref()),
        (Some("A"), Some("b"))
    );
    // A UUID in upper case names the order written in lower case (QA).
    let upper = r#"{"linkID":"0F8FAD5B-D9CB-469F-A165-70867728950E"}"#;
    let Ok(ServiceRequest::QueryOrder(r)) = check(Service::QueryOrder, upper) else {
        panic!()
    };
    assert_eq!(
        r.link_id.as_deref(),
        Some("0f8fad5b-d9cb-469f-a165-70867728950e")
    );
}

#[test]
fn object_parsing_rules() {
    assert!(JsonObject::parse(br#"{"a":1}"#).is_some());
    assert!(JsonObject::parse(b" {\"a\":1}\n").is_some());
    assert!(JsonObject::parse(br#"{"a":1,"a":1}"#).is_none());
    assert!(JsonObject::parse(b"\xef\xbb\xbf{}").is_none());
    assert!(JsonObject::parse(b"[]").is_none());
    assert!(JsonObject::parse(b"{} {}").is_none());
}

//! Unit tests of `inbound.rs`, including the spec's published vectors.
use super::*;
use crate::vectors::{self, V1, V3, V4, V7};
use crate::wire::{ExRateResponse, RefundResponse};
use base64::Engine as _;
use serde_json::json;

const MID: &str = "ON00004652";

fn key() -> SignKey {
    SignKey::new(V3.sign_key)
}

fn lookup(id: &str) -> Option<Credentials> {
    (id == MID).then(|| Credentials::sandbox(MID, key()))
}

fn parse_with(
    method: &str,
    body: &[u8],
    lookup: impl Fn(&str) -> Option<Credentials>,
) -> Result<Authenticated, OttError> {
    let request = InboundRequest {
        method,
        path: "/processV2",
        query: "",
        headers: &[("Content-Type", "application/json")],
        body,
    };
    parse_request(&request, lookup, &RateTable::default())
}

fn parse(body: &[u8]) -> Result<Authenticated, OttError> {
    parse_with("POST", body, lookup)
}

fn level1(action: &str, data: &str, md5: &str) -> Vec<u8> {
    let envelope =
        json!({"action": action, "version": "1.0", "merchant_id": MID, "data": data, "md5": md5});
    serde_json::to_vec(&envelope).expect("json")
}

/// A request whose data is `data_json`, sealed with the test merchant's key.
fn sealed(action: &str, data_json: &str) -> Vec<u8> {
    let sealed = sign::seal(data_json, &key()).expect("seals");
    level1(action, &sealed.data, &sealed.md5)
}

fn request_of(body: &[u8]) -> OttRequest {
    match parse(body) {
        Ok(auth) => auth.request,
        Err(err) => panic!("rejected: {err}"),
    }
}

/// Asserts the exact envelope of spec §4.
fn assert_envelope(result: Result<Authenticated, OttError>, status: u16, code: &str, msg: &str) {
    let err = match result {
        Ok(auth) => panic!("accepted: {:?}", auth.request),
        Err(err) => err,
    };
    let response = err.render();
    assert_eq!(response.status, status, "{msg}");
    let expected = format!(r#"{{"rsp_code":"{code}","rsp_msg":"{msg}"}}"#);
    assert_eq!(String::from_utf8_lossy(&response.body), expected);
    assert!(
        response
            .headers
            .contains(&("Content-Type", "application/json;charset=UTF-8".to_owned()))
    );
}

fn assert_invalid(action: &str, data_json: &str, field: &str) {
    let msg = format!("invalid parameter: {field}");
    assert_envelope(
        parse(&sealed(action, data_json)),
        200,
        "PARAM_INVALID",
        &msg,
    );
}

fn assert_missing(action: &str, data_json: &str, field: &str) {
    let msg = format!("missing parameter: {field}");
    assert_envelope(parse(&sealed(action, data_json)), 200, "PARAM_ERROR", &msg);
}

#[test]
fn accepts_the_published_h5pay_request() {
    for data in [V3.data.to_owned(), vectors::wrap60(V3.data)] {
        let mut body = level1("H5PAY", &data, V3.md5);
        body = String::from_utf8(body)
            .expect("utf8")
            .replace("\"1.0\"", "\"2.0\"")
            .into_bytes();
        let auth = parse(&body).expect("accepted");
        assert_eq!(auth.version, Version::V2_0);
        assert_eq!(auth.md5, V3.md5);
        let expected = H5Pay {
            order_id: Some("20220510125455761".into()),
            shop_id: Some("ON00004652001".into()),
            amount: 5,
            currency: Currency::Cad,
            open_id: Some("owv3d1YJwmzug7z2ozlPyqIItA7E".into()),
            operator_id: "0000000437".into(),
            call_back_url: "http://uatqrpay.ottpay.com/back_response".into(),
        };
        assert_eq!(auth.request, OttRequest::H5Pay(expected));
    }
}

#[test]
fn accepts_the_published_prepay_request() {
    let expected = PrepayInit {
        shop_id: "ON00004652001".into(),
        operator_id: "0000000696".into(),
        prepay_order_id: "prepay20220727132626764".into(),
        sale_num: "20220727132626764".into(),
        amount: 5,
        currency: Currency::Cad,
        redirect_url: "http://uatqrpay.ottpay.com/redirectBus".into(),
        call_back_url: "http://uatqrpay.ottpay.com/back_response".into(),
        duration_secs: 100,
        email: Some("inforsa@ott.ca".into()),
        remarks: Some("BLABLA".into()),
    };
    let body = level1("PREPAY_INIT", &vectors::wrap60(V4.data), V4.md5);
    assert_eq!(request_of(&body), OttRequest::PrepayInit(expected));
}

#[test]
fn accepts_a_base64_level1_body() {
    let json = level1("H5PAY", V3.data, V3.md5);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&json);
    let wrapped = vectors::wrap60(&encoded).replace(' ', "\n");
    assert!(matches!(
        request_of(wrapped.as_bytes()),
        OttRequest::H5Pay(_)
    ));
    let unpadded = encoded.trim_end_matches('=');
    assert!(matches!(
        request_of(unpadded.as_bytes()),
        OttRequest::H5Pay(_)
    ));
}

#[test]
fn rejects_mutations_of_the_published_requests() {
    for (action, v) in [("H5PAY", &V3), ("PREPAY_INIT", &V4)] {
        let undecryptable = "authentication failed: data cannot be decrypted";
        let body = level1(action, &vectors::mutate(v.data, 3), v.md5);
        assert_envelope(parse(&body), 200, "FAIL", undecryptable);
        let body = level1(action, v.data, &vectors::mutate(v.md5, 31));
        assert_envelope(parse(&body), 200, "FAIL", undecryptable);
        // Same key, one plaintext byte changed: decrypts, but the digest no longer matches.
        let tampered = v.plaintext.replacen("\"5\"", "\"6\"", 1);
        let data = sign::encrypt(tampered.as_bytes(), &sign::derive_aes_key(v.md5, &key()));
        let body = level1(action, &data, v.md5);
        assert_envelope(
            parse(&body),
            200,
            "FAIL",
            "authentication failed: md5 mismatch",
        );
    }
}

#[test]
fn appendix_a_data_passes_authentication() {
    // V1/V5 carry no STATUS_QUERY fields: reaching row 12 proves rows 8-10 passed.
    let v1_lookup =
        |id: &str| (id == MID).then(|| Credentials::sandbox(MID, SignKey::new(V1.sign_key)));
    for data in [V1.data, vectors::V5_DATA] {
        let body = level1("STATUS_QUERY", data, V1.md5);
        let result = parse_with("POST", &body, v1_lookup);
        assert_envelope(result, 200, "PARAM_ERROR", "missing parameter: order_id");
    }
    let body = level1("STATUS_QUERY", &vectors::mutate(V1.data, 0), V1.md5);
    let result = parse_with("POST", &body, v1_lookup);
    assert_envelope(
        result,
        200,
        "FAIL",
        "authentication failed: data cannot be decrypted",
    );
}

#[test]
fn renders_the_published_ex_rate_response() {
    let data = ResponseData::ExRate(ExRateResponse {
        fee_type: "CAD".into(),
        rate: "505703000".into(),
    });
    assert_eq!(data.to_json(), V7.plaintext);
    let response = render_success(&data, &SignKey::new(V7.sign_key));
    assert_eq!(response.status, 200);
    assert_eq!(String::from_utf8_lossy(&response.body), vectors::V7_BODY);
    assert_eq!(
        response.headers,
        vec![("Content-Type", "application/json;charset=UTF-8".to_owned())]
    );
}

#[test]
fn pending_refund_renders_processing() {
    let refund = RefundResponse {
        order_status: "PROCESSING".into(),
        ..RefundResponse::default()
    };
    let response = render_success(&ResponseData::Refund(refund), &key());
    let level1: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
    assert_eq!(level1["rsp_code"], "PROCESSING");
    assert_eq!(level1["rsp_msg"], "processing");
    assert!(level1["data"].is_string() && level1["md5"].is_string());
}

#[test]
fn error_table_rows_1_to_10() {
    let ok = sealed("STATUS_QUERY", r#"{"order_id":"A1"}"#);
    let wrong_method = parse_with("GET", &ok, lookup).map_err(|e| e.render());
    let response = wrong_method.expect_err("405");
    assert_eq!(response.status, 405);
    assert!(response.headers.contains(&("Allow", "POST".to_owned())));
    assert_envelope(
        parse_with("GET", &ok, lookup),
        405,
        "FAIL",
        "method not allowed",
    );
    let mut large = ok.clone();
    large.resize(MAX_BODY_BYTES + 1, b' ');
    assert_envelope(parse(&large), 200, "PARAM_ERROR", "request too large");
    for bad in [
        &b""[..],
        b"[1]",
        b"{\"action\":",
        b"not base64!",
        b"WzFd",
        b"\xEF\xBB\xBF{}",
    ] {
        assert_envelope(parse(bad), 200, "PARAM_ERROR", "invalid request format");
    }
    let full = json!({"action": "STATUS_QUERY", "version": "1.0", "merchant_id": MID, "data": "x", "md5": "y"});
    for name in ["action", "version", "merchant_id", "data", "md5"] {
        for broken in [json!(null), json!(""), json!(5)] {
            let mut envelope = full.clone();
            envelope[name] = broken;
            let body = serde_json::to_vec(&envelope).expect("json");
            assert_envelope(
                parse(&body),
                200,
                "PARAM_ERROR",
                &format!("missing parameter: {name}"),
            );
        }
    }
    let body = String::from_utf8_lossy(&ok).replace("STATUS_QUERY", "PAY");
    assert_envelope(
        parse(body.as_bytes()),
        200,
        "PARAM_INVALID",
        "unsupported action: PAY",
    );
    let body = String::from_utf8_lossy(&ok).replace("\"1.0\"", "\"3.0\"");
    assert_envelope(
        parse(body.as_bytes()),
        200,
        "PARAM_INVALID",
        "unsupported version",
    );
    let no_merchant = parse_with("POST", &ok, |_| None);
    assert_envelope(
        no_merchant,
        200,
        "FAIL",
        "authentication failed: invalid merchant_id",
    );
    let other_key = |_: &str| Some(Credentials::sandbox(MID, SignKey::new(V1.sign_key)));
    let wrong_key = parse_with("POST", &ok, other_key);
    assert_envelope(
        wrong_key,
        200,
        "FAIL",
        "authentication failed: data cannot be decrypted",
    );
    let md5 = "79DB4D7FB836EA29E621945CA85A91D2";
    let dup = sign::encrypt(
        br#"{"order_id":"A1","order_id":"A2"}"#,
        &sign::derive_aes_key(md5, &key()),
    );
    let body = level1("STATUS_QUERY", &dup, md5);
    assert_envelope(parse(&body), 200, "PARAM_ERROR", "duplicate key: order_id");
    let data = sign::encrypt(br#"{"order_id":"A1"}"#, &sign::derive_aes_key(md5, &key()));
    let body = level1("STATUS_QUERY", &data, md5);
    assert_envelope(
        parse(&body),
        200,
        "FAIL",
        "authentication failed: md5 mismatch",
    );
}

#[test]
fn error_table_rows_11_to_13() {
    assert_invalid(
        "STATUS_QUERY",
        r#"{"order_id":"A1","merchant_id":"ON1"}"#,
        "merchant_id",
    );
    // Row 11 is checked before row 12.
    assert_invalid("STATUS_QUERY", r#"{"merchant_id":"ON1"}"#, "merchant_id");
    assert_missing("STATUS_QUERY", r#"{"order_id":""}"#, "order_id");
    assert_missing("STATUS_QUERY", r#"{"order_id":null}"#, "order_id");
    assert_invalid("STATUS_QUERY", r#"{"order_id":"A 1"}"#, "order_id");
    assert_invalid("STATUS_QUERY", r#"{"order_id":17}"#, "order_id");
    // Every required field is checked for presence before any format.
    assert_missing("REFUND", r#"{"ori_order_id":"bad id!"}"#, "refund_amt");
}

#[test]
fn rendering_of_rows_14_to_19() {
    let table = [
        (OttError::OrderUsed, "ORDER_USED", "order_id already used"),
        (
            OttError::PrepayOrderUsed,
            "ORDER_USED",
            "prepay_order_id already used",
        ),
        (OttError::OrderNotFound, "FAIL", "order not found"),
        (OttError::NotRefundable, "FAIL", "order not refundable"),
        (
            OttError::invalid("refund_amt"),
            "PARAM_INVALID",
            "invalid parameter: refund_amt",
        ),
        (
            OttError::InsufficientBalance,
            "FAIL",
            "insufficient balance",
        ),
        (OttError::System, "SYSTEM_ERROR", "system error"),
    ];
    for (err, code, msg) in table {
        assert_envelope(Err(err), 200, code, msg);
    }
}

#[path = "inbound_fields_tests.rs"]
mod fields;

#[test]
fn success_data_is_compact_raw_utf8_with_unescaped_slashes() {
    let data = ResponseData::H5Pay(crate::wire::H5PayResponse {
        order_id: "1".into(),
        merchant_id: MID.into(),
        amount: "5".into(),
        payinfo: "http://127.0.0.1/cashier/可以".into(),
        time_zone_id: "Asia/Shanghai".into(),
    });
    let expected = r#"{"order_id":"1","merchant_id":"ON00004652","amount":"5","payinfo":"http://127.0.0.1/cashier/可以","time_zone_id":"Asia/Shanghai"}"#;
    assert_eq!(data.to_json(), expected);
    let body = render_success(&data, &key()).body;
    let level1: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let mut keys: Vec<&String> = level1.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["data", "md5", "rsp_code", "rsp_msg"]);
    assert!(
        String::from_utf8_lossy(&body)
            .starts_with(r#"{"rsp_code":"SUCCESS","rsp_msg":"success","data":""#)
    );
    let opened = open_data(
        level1["data"].as_str().expect("data"),
        level1["md5"].as_str().expect("md5"),
        &key(),
    );
    assert_eq!(
        opened.expect("opens").summary_string(),
        "5ON000046521http://127.0.0.1/cashier/可以Asia/Shanghai"
    );
}

#[test]
fn credentials_debug_hides_the_sign_key() {
    let shown = format!("{:?}", Credentials::sandbox(MID, key()));
    assert!(
        shown.contains(MID) && !shown.contains(V3.sign_key),
        "{shown}"
    );
}

//! Unit tests of `client.rs`, including the spec's published vectors.
use super::*;
use crate::vectors::{self, V1, V2, V3, V4, V7};
use crate::wire::ExRateResponse;

const MID: &str = "ON00004652";

fn client_with(key: &str) -> Client {
    let credentials = ClientCredentials {
        merchant_id: MID.to_owned(),
        sign_key: SignKey::new(key),
    };
    Client::new("http://127.0.0.1:9/", credentials, reqwest::Client::new())
}

fn client() -> Client {
    client_with(V3.sign_key)
}

fn expected_body(action: &str, version: &str, data: &str, md5: &str) -> String {
    format!(
        r#"{{"action":"{action}","version":"{version}","merchant_id":"{MID}","data":"{data}","md5":"{md5}"}}"#
    )
}

pub(crate) fn v3_request() -> H5PayRequest {
    H5PayRequest {
        submit_type: "form".into(),
        shop_id: Some("ON00004652001".into()),
        amount: "5".into(),
        currency_type: "CAD".into(),
        open_id: Some("owv3d1YJwmzug7z2ozlPyqIItA7E".into()),
        operator_id: "0000000437".into(),
        biz_type: "WECHATPAY".into(),
        merchant_id: Some(MID.into()),
        order_id: Some("20220510125455761".into()),
        call_back_url: "http://uatqrpay.ottpay.com/back_response".into(),
    }
}

pub(crate) fn v4_request() -> PrepayInitRequest {
    PrepayInitRequest {
        amount: "5".into(),
        sale_num: "20220727132626764".into(),
        operator_id: "0000000696".into(),
        prepay_order_id: "prepay20220727132626764".into(),
        biz_type: "PREPAY".into(),
        merchant_id: MID.into(),
        duration: "100".into(),
        shop_id: "ON00004652001".into(),
        currency_type: "CAD".into(),
        email: Some("inforsa@ott.ca".into()),
        remarks: Some("BLABLA".into()),
        redirect_url: "http://uatqrpay.ottpay.com/redirectBus".into(),
        call_back_url: "http://uatqrpay.ottpay.com/back_response".into(),
    }
}

#[test]
fn builds_the_published_h5pay_request() {
    let prepared = client().build_h5_pay(&v3_request()).expect("builds");
    assert_eq!(prepared.method, "POST");
    assert_eq!(prepared.path, "/processV2");
    assert!(
        prepared
            .headers
            .contains(&("Content-Type", "application/json".to_owned()))
    );
    let body = String::from_utf8(prepared.body).expect("utf8");
    assert_eq!(body, expected_body("H5PAY", "2.0", V3.data, V3.md5));
}

#[test]
fn builds_the_published_prepay_request() {
    let mut request = v4_request();
    request.merchant_id.clear();
    let prepared = client()
        .with_path("/process")
        .build_prepay_init(&request)
        .expect("builds");
    assert_eq!(prepared.path, "/process");
    let body = String::from_utf8(prepared.body).expect("utf8");
    assert_eq!(body, expected_body("PREPAY_INIT", "2.0", V4.data, V4.md5));
}

#[test]
fn seals_appendix_a_data_byte_for_byte() {
    let client = client_with(V1.sign_key);
    for (plaintext, data) in [
        (V1.plaintext, V1.data),
        (vectors::V5_PLAINTEXT, vectors::V5_DATA),
    ] {
        let prepared = client
            .build_raw("STATUS_QUERY", "1.0", plaintext)
            .expect("builds");
        let body = String::from_utf8(prepared.body).expect("utf8");
        assert_eq!(body, expected_body("STATUS_QUERY", "1.0", data, V1.md5));
        let opened = open_data(data, V1.md5, &SignKey::new(V1.sign_key)).expect("opens");
        assert_eq!(opened.summary_string(), V1.summary);
    }
    assert!(matches!(
        open_data(
            &vectors::mutate(V1.data, 9),
            V1.md5,
            &SignKey::new(V1.sign_key)
        ),
        Err(ClientError::Undecryptable)
    ));
    assert!(client.build_raw("STATUS_QUERY", "1.0", "[1]").is_err());
}

fn v2_body(data: &str, md5: &str, merchant: &str, code: &str) -> Vec<u8> {
    format!(
        r#"{{"rsp_code":"{code}","rsp_msg":"success","merchant_id":"{merchant}","data":"{data}","md5":"{md5}"}}"#
    )
    .into_bytes()
}

#[test]
fn verifies_the_published_callback() {
    let client = client_with(V2.sign_key);
    let headers = [("Content-Type", "application/json;charset=UTF-8")];
    let body = v2_body(&vectors::wrap60(V2.data), V2.md5, MID, "SUCCESS");
    let callback = client.verify_callback(&headers, &body).expect("verifies");
    assert_eq!(callback.amount, "3");
    assert_eq!(callback.exchange_rate, "5.057030");
    assert_eq!(callback.remarks, "可以");
    assert_eq!(callback.sub_open_id, "2088032832386722");
    assert_eq!(callback.prepay_order_id, None);
    let reject = |body: Vec<u8>| {
        client
            .verify_callback(&headers, &body)
            .expect_err("rejected")
    };
    let mutated = vectors::mutate(V2.data, 20);
    assert!(matches!(
        reject(v2_body(&mutated, V2.md5, MID, "SUCCESS")),
        ClientError::Undecryptable
    ));
    let md5 = vectors::mutate(V2.md5, 1);
    assert!(matches!(
        reject(v2_body(V2.data, &md5, MID, "SUCCESS")),
        ClientError::Undecryptable
    ));
    let tampered = V2.plaintext.replace("\"3\"", "\"4\"");
    let data = sign::encrypt(
        tampered.as_bytes(),
        &sign::derive_aes_key(V2.md5, &SignKey::new(V2.sign_key)),
    );
    assert!(matches!(
        reject(v2_body(&data, V2.md5, MID, "SUCCESS")),
        ClientError::Md5Mismatch
    ));
    let other = reject(v2_body(V2.data, V2.md5, "ON00000001", "SUCCESS"));
    assert!(matches!(other, ClientError::MerchantMismatch));
    assert!(matches!(
        reject(v2_body(V2.data, V2.md5, MID, "FAIL")),
        ClientError::UnexpectedCode(_)
    ));
    let wrong_key = client_with(V1.sign_key)
        .verify_callback(&headers, &v2_body(V2.data, V2.md5, MID, "SUCCESS"));
    assert!(matches!(wrong_key, Err(ClientError::Undecryptable)));
}

#[test]
fn reads_the_published_ex_rate_response() {
    let client = client_with(V7.sign_key);
    let reply: Reply<ExRateResponse> = client
        .parse_response(200, vectors::V7_BODY.as_bytes())
        .expect("parses");
    assert!(reply.verified && reply.is_success());
    let expected = ExRateResponse {
        fee_type: "CAD".into(),
        rate: "505703000".into(),
    };
    assert_eq!(reply.into_verified().expect("verified"), expected);
    let mutated = vectors::V7_BODY.replace(V7.data, &vectors::mutate(V7.data, 2));
    let result = client.parse_response::<ExRateResponse>(200, mutated.as_bytes());
    assert!(matches!(result, Err(ClientError::Undecryptable)));
    let key = sign::derive_aes_key(V7.md5, &SignKey::new(V7.sign_key));
    let forged = sign::encrypt(br#"{"feeType":"CAD","rate":"505703001"}"#, &key);
    let body = vectors::V7_BODY.replace(V7.data, &forged);
    let reply: Reply<ExRateResponse> = client.parse_response(200, body.as_bytes()).expect("parses");
    assert!(!reply.verified);
    assert!(matches!(
        reply.into_verified(),
        Err(ClientError::Md5Mismatch)
    ));
}

#[test]
fn reads_failures_and_unknown_codes() {
    let client = client();
    let body = br#"{"rsp_code":"FAIL","rsp_msg":"order not found"}"#;
    let reply: Reply<ExRateResponse> = client.parse_response(200, body).expect("parses");
    assert_eq!(
        (reply.code(), reply.data.is_none()),
        (Some(RspCode::Fail), true)
    );
    assert!(matches!(
        reply.into_verified(),
        Err(ClientError::UnexpectedCode(_))
    ));
    let body = br#"{"rsp_code":"ORDER_PAID","rsp_msg":"paid"}"#;
    let reply: Reply<ExRateResponse> = client.parse_response(200, body).expect("parses");
    assert!(reply.code().is_none() && !reply.is_success());
    assert!(matches!(
        client.parse_response::<ExRateResponse>(502, b"<html>"),
        Err(ClientError::HttpStatus(502))
    ));
    assert!(matches!(
        client.parse_response::<ExRateResponse>(200, b"{}"),
        Err(ClientError::Malformed("rsp_code"))
    ));
}

#[test]
fn reads_numbers_from_a_lenient_provider() {
    let client = client();
    let sealed = sign::seal(
        r#"{"feeType":"USD","rate":710000000}"#,
        &client.credentials().sign_key,
    )
    .expect("seals");
    let body = format!(
        r#"{{"rsp_code":"SUCCESS","rsp_msg":"success","data":"{}","md5":"{}"}}"#,
        sealed.data, sealed.md5
    );
    let reply: Reply<ExRateResponse> = client.parse_response(200, body.as_bytes()).expect("parses");
    assert_eq!(reply.into_verified().expect("verified").rate, "710000000");
}

#[test]
fn redirect_and_link_helpers() {
    let params = crate::notify::redirect_params(
        6,
        "1679",
        "prepay 1",
        polypay_core::PaymentState::Succeeded,
    )
    .expect("finished");
    let location = crate::notify::redirect_location("https://m.example/back?x=1", &params);
    assert_eq!(parse_redirect(&location).expect("parses"), params);
    assert!(parse_redirect("https://m.example/back?x=1").is_err());
    assert_eq!(
        with_redirect_url("https://pay.example/c/1", "https://m.example/done?a=1"),
        "https://pay.example/c/1?redirect_url=https%3A%2F%2Fm.example%2Fdone%3Fa%3D1"
    );
    assert_eq!(
        with_selected_method("https://pay.example/c/1?l=en", "ALIPAY"),
        "https://pay.example/c/1?l=en&selected=ALIPAY"
    );
}

#[path = "roundtrip_tests.rs"]
mod roundtrip;

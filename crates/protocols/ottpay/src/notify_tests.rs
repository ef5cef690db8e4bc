//! Unit tests of `notify.rs`, including the spec's published vectors.
use super::*;
use crate::vectors::{V2, mutate};
use crate::wire::PATHS;

fn v2_data() -> CallbackData {
    CallbackData {
        amount: "3".into(),
        bizpay_order_id: "AL5909918566288061".into(),
        exchange_rate: crate::wire::format_exchange_rate(505_703_000),
        tip: "1".into(),
        merchant_id: "ON00004652".into(),
        order_id: "16795056216014900".into(),
        finish_time: "2023-03-23 01:21:53".into(),
        remarks: "可以".into(),
        sub_open_id: "2088032832386722".into(),
        prepay_order_id: None,
        sale_num: None,
    }
}

#[test]
fn encodes_the_published_callback() {
    assert_eq!(
        serde_json::to_string(&v2_data()).expect("json"),
        V2.plaintext
    );
    let request = encode_callback(
        "https://m.example/cb",
        &v2_data(),
        &SignKey::new(V2.sign_key),
    )
    .expect("encodes");
    assert_eq!(request.url, "https://m.example/cb");
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.headers,
        vec![("Content-Type", "application/json;charset=UTF-8".to_owned())]
    );
    let expected = format!(
        r#"{{"rsp_code":"SUCCESS","rsp_msg":"success","merchant_id":"ON00004652","data":"{}","md5":"{}"}}"#,
        V2.data, V2.md5
    );
    assert_eq!(String::from_utf8_lossy(&request.body), expected);
    // The encoder is deterministic: every attempt sends identical bytes.
    let again = encode_callback(
        "https://m.example/cb",
        &v2_data(),
        &SignKey::new(V2.sign_key),
    );
    assert_eq!(again.expect("encodes").body, request.body);
    // And it is keyed: another signKey gives another ciphertext (same md5, it is unkeyed).
    let other = encode_callback(
        "https://m.example/cb",
        &v2_data(),
        &SignKey::new(mutate(V2.sign_key, 0)),
    );
    let other = String::from_utf8(other.expect("encodes").body).expect("utf8");
    assert!(!other.contains(V2.data) && other.contains(V2.md5));
}

#[test]
fn prepay_callbacks_append_their_order_fields() {
    let data = CallbackData {
        prepay_order_id: Some("prepay1".into()),
        sale_num: Some("S1".into()),
        ..v2_data()
    };
    let json = serde_json::to_string(&data).expect("json");
    let tail = r#""sub_openId":"2088032832386722","prepay_order_id":"prepay1","sale_num":"S1"}"#;
    assert!(json.ends_with(tail), "{json}");
}

#[test]
fn acknowledgement_is_any_2xx() {
    for status in [200, 201, 204, 299] {
        assert!(is_ack(status, b"anything"));
    }
    for status in [0, 100, 199, 300, 302, 404, 500] {
        assert!(!is_ack(status, b"SUCCESS"));
    }
}

#[test]
fn retry_schedule_is_six_attempts() {
    let minutes: Vec<u64> = ATTEMPT_OFFSETS.iter().map(|d| d.as_secs() / 60).collect();
    assert_eq!(minutes, [0, 1, 5, 15, 60, 360]);
    assert_eq!(next_attempt_offset(0), Some(Duration::ZERO));
    assert_eq!(next_attempt_offset(5), Some(Duration::from_secs(21_600)));
    assert_eq!(next_attempt_offset(6), None);
    assert_eq!(ATTEMPT_TIMEOUT, Duration::from_secs(10));
    const { assert!(!FOLLOW_REDIRECTS) };
    assert_eq!(PATHS, ["/processV2", "/process"]);
}

#[test]
fn redirect_location_follows_section_7_2() {
    let params = redirect_params(
        500,
        "16795056216014900",
        "prepay 1&2",
        PaymentState::Succeeded,
    )
    .expect("finished");
    let query = "total_fee=500&trade_no=16795056216014900&out_trade_no=prepay%201%262&trade_status=Trade_Finished";
    assert_eq!(
        redirect_location("https://m.example/r", &params),
        format!("https://m.example/r?{query}")
    );
    assert_eq!(
        redirect_location("https://m.example/r?a=1", &params),
        format!("https://m.example/r?a=1&{query}")
    );
    assert_eq!(
        redirect_location("https://m.example/r?", &params),
        format!("https://m.example/r?{query}")
    );
    assert_eq!(
        redirect_location("https://m.example/r#top", &params),
        format!("https://m.example/r?{query}#top")
    );
    let statuses = [
        (PaymentState::Failed, Some("Trade_Failed")),
        (PaymentState::Expired, Some("Trade_Closed")),
        (PaymentState::Cancelled, Some("Trade_Closed")),
        (PaymentState::Pending, None),
        (PaymentState::Refunded, None),
    ];
    for (state, status) in statuses {
        let params = redirect_params(1, "o", "p", state);
        assert_eq!(params.map(|p| p.trade_status), status.map(str::to_owned));
    }
}

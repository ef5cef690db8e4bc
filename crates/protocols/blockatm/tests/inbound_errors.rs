//! The error table of spec section 4: each row rendered with exactly its status, code and message.

mod common;

use common::{CASHIER_ID, NOW, Req, SECRET};
use polypay_blockatm::inbound::{
    ApiError, InboundError, ResponseData, WidgetErrorCode, new_trace, render_success,
};
use polypay_blockatm::ratelimit::{RateLimitConfig, RateLimiter};
use polypay_blockatm::sign::{canonical_get, canonical_post, hmac_hex, parse_body};
use polypay_blockatm::wire::TokenInfo;

const TRACE: &str = "0123456789abcdef0123456789abcdef";
const ORDER_PATH: &str = "/order/api/v2/pay/order";
const PAYOUT_PATH: &str = "/order/api/v2/payout/order";
const PAYOUT_BODY: &str = r#"{"bizOrderNo":"B234569885XASA953ASDSAD","amount":44,"chainId":"11155111","symbol":"USDT","toAddress":"0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2","custNo":"473_860001","remark":"demo for create payout order","merchantId":286000260}"#;

/// A POST signed with the merchant's secret at `time`.
fn signed_post(path: &str, body: &str, time: u64) -> Req {
    let t = time.to_string();
    let canonical = parse_body(body.as_bytes()).map(|json| canonical_post(&json, &t));
    let signature = hmac_hex(SECRET, &canonical.unwrap_or_default());
    Req::new(
        "POST",
        path,
        &[
            ("BlockATM-API-Key", common::API_KEY),
            ("BlockATM-Request-Time", &t),
            ("BlockATM-Signature-V2", &signature),
        ],
        body,
    )
}

/// A GET signed with the merchant's secret at `time`.
fn signed_get(target: &str, time: u64) -> Req {
    let t = time.to_string();
    let query = target.split_once('?').map(|(_, q)| q);
    let signature = hmac_hex(SECRET, &canonical_get(query, &t));
    Req::new(
        "GET",
        target,
        &[
            ("BlockATM-API-Key", common::API_KEY),
            ("BlockATM-Request-Time", &t),
            ("BlockATM-Signature-V2", &signature),
        ],
        "",
    )
}

fn api_error(result: Result<polypay_blockatm::inbound::Inbound, InboundError>) -> ApiError {
    match result {
        Err(InboundError::Api(error)) => error,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Asserts status, code, msg and the exact envelope bytes.
fn assert_envelope(error: &ApiError, status: u16, code: &str, msg: &str) {
    let response = error.render(TRACE);
    assert_eq!(response.status, status, "{msg}");
    let expected = format!(
        r#"{{"code":"{code}","success":false,"data":null,"trace":"{TRACE}","msg":"{msg}"}}"#
    );
    assert_eq!(String::from_utf8(response.body).unwrap(), expected);
    assert!(response.headers.contains(&(
        "Content-Type".into(),
        "application/json;charset=UTF-8".into()
    )));
}

#[test]
fn success_envelope() {
    assert!(signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW).parse().is_ok());
    let response = render_success(&ResponseData::CreatePayout, TRACE);
    assert_eq!(response.status, 200);
    let expected =
        format!(r#"{{"code":"200","success":true,"data":null,"trace":"{TRACE}","msg":"success"}}"#);
    assert_eq!(String::from_utf8(response.body).unwrap(), expected);
    let token = TokenInfo {
        chain_id: "1".into(),
        decimals: 6,
        network: "Ethereum".into(),
        symbol: "USDT".into(),
        token_address: "0xdac17f958d2ee523a2206206994597c13d831ec7".into(),
    };
    let list = render_success(&ResponseData::SymbolList(vec![token]), TRACE);
    let expected = format!(
        r#"{{"code":"200","success":true,"data":[{{"chainId":"1","decimals":6,"network":"Ethereum","symbol":"USDT","tokenAddress":"0xdac17f958d2ee523a2206206994597c13d831ec7"}}],"trace":"{TRACE}","msg":"success"}}"#
    );
    assert_eq!(String::from_utf8(list.body).unwrap(), expected);
    let trace = new_trace();
    assert_eq!(trace.len(), 32);
    assert!(
        trace
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
}

#[test]
fn illegal_parameter_000102() {
    let not_object = api_error(signed_post(ORDER_PATH, "[1,2]", NOW).parse());
    assert_envelope(&not_object, 200, "000102", "illegal parameter: body");
    let not_json = api_error(signed_post(ORDER_PATH, "{\"a\":", NOW).parse());
    assert_envelope(&not_json, 200, "000102", "illegal parameter: body");

    let cases = [
        (r#"{"orderNo":5,"amount":"1","symbol":"USDT"}"#, "orderNo"),
        (
            r#"{"orderNo":"O1","amount":"1","symbol":"USDT","chainId":"5"}"#,
            "chainId",
        ),
        (r#"{"orderNo":"O1","amount":"1","symbol":"DAI"}"#, "symbol"),
        (
            r#"{"orderNo":"O1","amount":"1.1234567","symbol":"USDT"}"#,
            "amount",
        ),
        (
            r#"{"orderNo":"O1","amount":1.1234567,"symbol":"USDT"}"#,
            "amount",
        ),
        (r#"{"orderNo":"O1","amount":"0","symbol":"USDT"}"#, "amount"),
        (
            r#"{"orderNo":"O1","amount":"1e3","symbol":"USDT"}"#,
            "amount",
        ),
        (
            r#"{"orderNo":"O1","amount":"1","symbol":"USDT","custNo":"a.b"}"#,
            "custNo",
        ),
        (
            r#"{"orderNo":"O1","amount":"1","symbol":"USDT","redirectUrl":"ftp://x"}"#,
            "redirectUrl",
        ),
    ];
    for (body, name) in cases {
        let error = api_error(signed_post(ORDER_PATH, body, NOW).parse());
        assert_envelope(&error, 200, "000102", &format!("illegal parameter: {name}"));
    }
    let long = format!(
        r#"{{"orderNo":"{}","amount":"1","symbol":"USDT"}}"#,
        "x".repeat(65)
    );
    assert_envelope(
        &api_error(signed_post(ORDER_PATH, &long, NOW).parse()),
        200,
        "000102",
        "illegal parameter: orderNo",
    );
    let bad_address = PAYOUT_BODY.replace("0xc87dd", "0xc87d");
    assert_envelope(
        &api_error(signed_post(PAYOUT_PATH, &bad_address, NOW).parse()),
        200,
        "000102",
        "illegal parameter: toAddress",
    );
    // Text holding a NUL (here a JSON `\u0000` escape) is illegal: PostgreSQL cannot store it.
    let nul_remark = PAYOUT_BODY.replace("demo for", "demo\\u0000for");
    assert_envelope(
        &api_error(signed_post(PAYOUT_PATH, &nul_remark, NOW).parse()),
        200,
        "000102",
        "illegal parameter: remark",
    );
    let tron_address = PAYOUT_BODY.replace("\"11155111\"", "\"TRON\"");
    assert_envelope(
        &api_error(signed_post(PAYOUT_PATH, &tron_address, NOW).parse()),
        200,
        "000102",
        "illegal parameter: toAddress",
    );

    for (header, value) in [
        ("BlockATM-Rec_Window", "60001"),
        ("BlockATM-Rec_Window", "0"),
        ("BlockATM-RECV_WINDOW", "abc"),
    ] {
        let mut req = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW);
        req.set_header(header, value);
        assert_envelope(
            &api_error(req.parse()),
            200,
            "000102",
            &format!("illegal parameter: {header}"),
        );
    }
    let symbols =
        api_error(Req::new("GET", "/admin/api/v2/pub/symbolList?chainId=5", &[], "").parse());
    assert_envelope(&symbols, 200, "000102", "illegal parameter: chainId");
}

#[test]
fn missing_parameter_000103() {
    let cases = [
        (ORDER_PATH, r#"{"amount":"1","symbol":"USDT"}"#, "orderNo"),
        (
            ORDER_PATH,
            r#"{"orderNo":"","amount":"1","symbol":"USDT"}"#,
            "orderNo",
        ),
        (
            ORDER_PATH,
            r#"{"orderNo":"O1","amount":null,"symbol":"USDT"}"#,
            "amount",
        ),
        (ORDER_PATH, r#"{"orderNo":"O1","amount":"1"}"#, "symbol"),
        (ORDER_PATH, "", "orderNo"),
        (
            PAYOUT_PATH,
            r#"{"bizOrderNo":"B1","amount":"1","chainId":"1","symbol":"USDT","custNo":"c"}"#,
            "toAddress",
        ),
    ];
    for (path, body, name) in cases {
        let error = api_error(signed_post(path, body, NOW).parse());
        assert_envelope(
            &error,
            200,
            "000103",
            &format!("missing required parameter: {name}"),
        );
    }
    let detail = api_error(signed_get("/order/api/v2/payout/detail?bizOrderNo=", NOW).parse());
    assert_envelope(
        &detail,
        200,
        "000103",
        "missing required parameter: bizOrderNo",
    );
    let info = api_error(signed_get("/admin/api/v2/pub/cashier/info", NOW).parse());
    assert_envelope(
        &info,
        200,
        "000103",
        "missing required parameter: cashierId",
    );
}

#[test]
fn illegal_request_000105() {
    let reject = |req: Req, reason: &str| {
        assert_envelope(
            &api_error(req.parse()),
            200,
            "000105",
            &format!("illegal request: {reason}"),
        );
    };
    let mut unsigned = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW);
    unsigned.remove_header("BlockATM-Signature-V2");
    reject(unsigned, "missing signature");

    let mut bad = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW);
    bad.body = PAYOUT_BODY.replace("44", "45").into_bytes();
    reject(bad, "signature mismatch");

    let mut no_time = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW);
    no_time.remove_header("BlockATM-Request-Time");
    reject(no_time, "missing BlockATM-Request-Time");

    let mut bad_time = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW);
    bad_time.set_header("BlockATM-Request-Time", "1743060268000.0");
    reject(bad_time, "malformed BlockATM-Request-Time");

    reject(
        signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW - 30_001),
        "request time outside the receive window",
    );
    reject(
        signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW + 1_001),
        "request time in the future",
    );
    // A wider window admits the same request; the `Rec_Window` spelling wins over the other.
    let mut wide = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW - 45_000);
    wide.set_header("BlockATM-Rec_Window", "60000");
    wide.set_header("BlockATM-RECV_WINDOW", "1000");
    assert!(wide.parse().is_ok());

    let mut unknown = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW);
    unknown.set_header("BlockATM-API-Key", "pk_payment_unknown");
    reject(unknown, "unknown API key");

    let foreign_cashier = r#"{"orderNo":"O1","amount":"1","symbol":"USDT","cashierId":1}"#;
    reject(
        signed_post(ORDER_PATH, foreign_cashier, NOW),
        "cashierId does not belong to the API key",
    );
    let foreign_merchant = PAYOUT_BODY.replace("286000260", "286000261");
    reject(
        signed_post(PAYOUT_PATH, &foreign_merchant, NOW),
        "merchantId does not belong to the API key",
    );

    // An optional signature is still checked when sent.
    let mut detail = signed_get("/order/api/v2/payorder/detail?orderNo=O1", NOW);
    detail.set_header("BlockATM-Signature-V2", &"0".repeat(64));
    reject(detail, "signature mismatch");
}

#[test]
fn unknown_path_404() {
    for (method, target) in [
        ("GET", "/order/api/v2/nothing"),
        ("GET", ORDER_PATH),
        ("POST", "/order/api/v2/payorder/detail"),
    ] {
        let error = api_error(Req::new(method, target, &[], "").parse());
        assert_envelope(&error, 404, "000105", "illegal request: unknown path");
    }
}

#[test]
fn api_key_required_000112() {
    let mut req = signed_post(PAYOUT_PATH, PAYOUT_BODY, NOW);
    req.remove_header("BlockATM-API-Key");
    assert_envelope(&api_error(req.parse()), 200, "000112", "API key required");
    let get = Req::new("GET", "/order/api/v2/payorder/detail?orderNo=O1", &[], "");
    assert_envelope(&api_error(get.parse()), 200, "000112", "API key required");
}

#[test]
fn not_found_000202_and_business_rows() {
    let other = api_error(signed_get("/admin/api/v2/pub/cashier/info?cashierId=1", NOW).parse());
    assert_envelope(&other, 200, "000202", "data not found");
    let own = signed_get(
        &format!("/admin/api/v2/pub/cashier/info?cashierId={CASHIER_ID}"),
        NOW,
    );
    assert!(own.parse().is_ok());
    assert_envelope(
        &ApiError::duplicate(),
        200,
        "000106",
        "duplicate submission",
    );
    assert_envelope(&ApiError::not_found(), 200, "000202", "data not found");
    assert_envelope(&ApiError::wrong_status(), 200, "000204", "wrong status");
    assert_envelope(
        &ApiError::insufficient_balance(),
        200,
        "000307",
        "insufficient balance",
    );
    assert_envelope(&ApiError::system_error(), 200, "000101", "system error");
}

#[test]
fn rate_limited_000113() {
    let mut limiter = RateLimiter::new(RateLimitConfig {
        limit: 1,
        window_ms: 60_000,
        cooldown_ms: 60_000,
    });
    assert!(ApiError::rate_limited(limiter.check(common::API_KEY, NOW)).is_none());
    let too_many = ApiError::rate_limited(limiter.check(common::API_KEY, NOW + 500)).unwrap();
    assert_envelope(&too_many, 429, "000113", "too many requests");
    let retry = too_many.render(TRACE).headers;
    assert!(
        retry.contains(&("Retry-After".into(), "60".into())),
        "{retry:?}"
    );
    let blocked = ApiError::rate_limited(limiter.check(common::API_KEY, NOW + 1_000)).unwrap();
    assert_envelope(&blocked, 418, "000113", "API key blocked");
    assert!(
        blocked
            .render(TRACE)
            .headers
            .contains(&("Retry-After".into(), "60".into()))
    );
}

#[test]
fn cashier_page_errors() {
    let widget = |target: &str| match Req::new("GET", target, &[], "").parse() {
        Err(InboundError::Widget(error)) => error,
        other => panic!("expected a widget error, got {other:?}"),
    };
    let signed = |query: &str| {
        format!(
            "/cashier?{}",
            polypay_blockatm::sign::widget::sign_query_v2(query, SECRET)
        )
    };
    let key = common::API_KEY;
    let cases = [
        (
            format!("/cashier?custNo=C1&signature={}", "0".repeat(64)),
            WidgetErrorCode::Parameter,
            400,
        ),
        (
            signed("apiKey=pk_payment_nobody&custNo=C1"),
            WidgetErrorCode::CashierNotFound,
            404,
        ),
        (
            format!("/cashier?apiKey={key}&custNo=C1"),
            WidgetErrorCode::Signature,
            403,
        ),
        (
            format!(
                "/cashier?apiKey={key}&custNo=C1&signature={}",
                "0".repeat(64)
            ),
            WidgetErrorCode::Signature,
            403,
        ),
        (
            signed(&format!("apiKey={key}&custNo=C1&et={}", NOW - 1)),
            WidgetErrorCode::Expired,
            410,
        ),
        (
            signed(&format!("apiKey={key}")),
            WidgetErrorCode::Parameter,
            400,
        ),
        (
            signed(&format!("apiKey={key}&custNo=C1&lang=fr-FR")),
            WidgetErrorCode::Parameter,
            400,
        ),
        (
            signed(&format!("apiKey={key}&custNo=C1&amount=1.0000001")),
            WidgetErrorCode::Parameter,
            400,
        ),
        (
            signed(&format!("apiKey={key}&custNo=C1&chainId=5")),
            WidgetErrorCode::Parameter,
            400,
        ),
    ];
    for (target, code, status) in cases {
        let error = widget(&target);
        assert_eq!(error.code, code, "{target}");
        let page = error.render();
        assert_eq!(page.status, status);
        let html = String::from_utf8(page.body).unwrap();
        assert!(
            html.contains(&format!("data-code=\"{}\"", code.number())),
            "{html}"
        );
        assert!(!html.contains(SECRET));
    }
    assert!(
        Req::new(
            "GET",
            &signed(&format!("apiKey={key}&custNo=C1&et={NOW}")),
            &[],
            ""
        )
        .parse()
        .is_ok()
    );
}

#[test]
fn credentials_debug_redacts_secrets() {
    let shown = format!("{:?}", common::credentials());
    assert!(
        !shown.contains(SECRET) && !shown.contains(common::API_KEY),
        "{shown}"
    );
    let client = format!("{:?}", common::v1_client());
    assert!(
        !client.contains(SECRET)
            && !client.contains(common::API_KEY)
            && !client.contains("MEECAQAw"),
        "{client}"
    );
}

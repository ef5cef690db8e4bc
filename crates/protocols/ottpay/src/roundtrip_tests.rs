//! Client against server: every action built by the client, parsed by the inbound path, answered
//! by the success renderer and read back by the client — in memory and over loopback HTTP.

use super::*;
use crate::envelope::ResponseData;
use crate::inbound::{
    self, ActivePay, Credentials, ExRateQuery, H5Pay, InboundRequest, OttRequest, PrepayInit,
    PrepayQuery, Refund, StatusQuery,
};
use crate::wire::{BizType, Currency, RateTable, RefundStatusResponse};

fn lookup(id: &str) -> Option<Credentials> {
    (id == MID).then(|| Credentials::sandbox(MID, SignKey::new(V3.sign_key)))
}

fn server_parse(method: &str, body: &[u8]) -> Result<OttRequest, crate::OttError> {
    let request = InboundRequest {
        method,
        path: "/processV2",
        query: "",
        headers: &[],
        body,
    };
    inbound::parse_request(&request, lookup, &RateTable::default()).map(|auth| auth.request)
}

fn active_pay_request() -> ActivePayRequest {
    ActivePayRequest {
        order_id: Some("A-1".into()),
        operator_id: "op 1".into(),
        amount: "250".into(),
        tip: Some("50".into()),
        biz_type: "UNIONPAY".into(),
        call_back_url: "https://m.example/cb?x=1".into(),
        currency_type: Some("CNY".into()),
        ..ActivePayRequest::default()
    }
}

fn prepay_query_request() -> PrepayQueryRequest {
    PrepayQueryRequest {
        prepay_order_id: "P1".into(),
        order_id: Some("O1".into()),
        merchant_id: String::new(),
    }
}

fn refund_request() -> RefundRequest {
    RefundRequest {
        order_id: None,
        ori_order_id: "O1".into(),
        refund_amt: "3".into(),
        merchant_id: Some(MID.into()),
    }
}

/// Every action as the client builds it and as the server must understand it.
fn cases(client: &Client) -> Vec<(Result<PreparedRequest, ClientError>, OttRequest)> {
    let active = ActivePay {
        order_id: Some("A-1".into()),
        operator_id: "op 1".into(),
        amount: 250,
        tip: 50,
        biz_type: BizType::UnionPay,
        call_back_url: "https://m.example/cb?x=1".into(),
        shop_id: None,
        terminal_no: None,
        currency: Currency::Cny,
    };
    let h5 = H5Pay {
        order_id: Some("20220510125455761".into()),
        shop_id: Some("ON00004652001".into()),
        amount: 5,
        currency: Currency::Cad,
        open_id: Some("owv3d1YJwmzug7z2ozlPyqIItA7E".into()),
        operator_id: "0000000437".into(),
        call_back_url: "http://uatqrpay.ottpay.com/back_response".into(),
    };
    let init = PrepayInit {
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
    let query = PrepayQuery {
        prepay_order_id: "P1".into(),
        order_id: Some("O1".into()),
    };
    let status = StatusQueryRequest {
        order_id: "O1".into(),
    };
    let refund = Refund {
        order_id: None,
        ori_order_id: "O1".into(),
        refund_amt: 3,
    };
    let rate = ExRateQueryRequest {
        fee_type: "CNY".into(),
    };
    let rate_e8 = 100_000_000;
    vec![
        (
            client.build_active_pay(&active_pay_request()),
            OttRequest::ActivePay(active),
        ),
        (client.build_h5_pay(&v3_request()), OttRequest::H5Pay(h5)),
        (
            client.build_prepay_init(&v4_request()),
            OttRequest::PrepayInit(init),
        ),
        (
            client.build_prepay_query(&prepay_query_request()),
            OttRequest::PrepayQuery(query),
        ),
        (
            client.build_status_query(&status),
            OttRequest::StatusQuery(StatusQuery {
                order_id: "O1".into(),
            }),
        ),
        (
            client.build_refund(&refund_request()),
            OttRequest::Refund(refund),
        ),
        (
            client.build_ex_rate_query(&rate),
            OttRequest::ExRateQuery(ExRateQuery {
                fee_type: "CNY".into(),
                rate_e8,
            }),
        ),
    ]
}

#[test]
fn every_action_survives_client_build_and_server_parse() {
    let client = client();
    let cases = cases(&client);
    assert_eq!(cases.len(), crate::wire::Action::ALL.len());
    for (prepared, expected) in cases {
        let prepared = prepared.expect("builds");
        assert_eq!(server_parse("POST", &prepared.body), Ok(expected));
    }
    // A client holding another key is refused by the server.
    let stranger = client_with(V1.sign_key)
        .build_refund(&refund_request())
        .expect("builds");
    assert_eq!(
        server_parse("POST", &stranger.body),
        Err(crate::OttError::Undecryptable)
    );
}

/// The canned answer of a fake business layer.
fn answer(request: &OttRequest) -> ResponseData {
    match request {
        OttRequest::ActivePay(pay) => ResponseData::ActivePay(ActivePayResponse {
            order_id: pay.order_id.clone().unwrap_or_default(),
            bizpay_order_id: "UP0000000000000001".into(),
            code_url: "http://127.0.0.1/cashier/1".into(),
        }),
        OttRequest::H5Pay(pay) => ResponseData::H5Pay(H5PayResponse {
            order_id: pay.order_id.clone().unwrap_or_default(),
            merchant_id: MID.into(),
            amount: pay.amount.to_string(),
            payinfo: "http://127.0.0.1/cashier/2".into(),
            time_zone_id: "Asia/Shanghai".into(),
        }),
        OttRequest::PrepayInit(init) => ResponseData::PrepayInit(PrepayInitResponse {
            prepay_order_id: init.prepay_order_id.clone(),
            sale_num: init.sale_num.clone(),
            amount: init.amount.to_string(),
            currency_type: init.currency.as_str().into(),
            payinfo: "http://127.0.0.1/checkout/3".into(),
            create_time: "2023-03-23 01:21:53".into(),
            expire_time: "2023-03-23 01:23:33".into(),
        }),
        OttRequest::PrepayQuery(query) => {
            ResponseData::PrepayQuery(Box::new(PrepayQueryResponse {
                rsp_code: "SUCCESS".into(),
                prepay_order_id: query.prepay_order_id.clone(),
                status: "PROCESSING".into(),
                remarks: "备注".into(),
                ..PrepayQueryResponse::default()
            }))
        }
        OttRequest::StatusQuery(query) => ResponseData::RefundStatus(RefundStatusResponse {
            order_id: query.order_id.clone(),
            ori_order_id: "O0".into(),
            order_status: "SUCCESS".into(),
            ..RefundStatusResponse::default()
        }),
        OttRequest::Refund(refund) => ResponseData::Refund(RefundResponse {
            order_id: "R1".into(),
            ori_order_id: refund.ori_order_id.clone(),
            refund_amt: refund.refund_amt.to_string(),
            order_status: "PROCESSING".into(),
            ..RefundResponse::default()
        }),
        OttRequest::ExRateQuery(query) => ResponseData::ExRate(ExRateResponse {
            fee_type: query.fee_type.clone(),
            rate: query.rate_e8.to_string(),
        }),
    }
}

fn handle(method: &str, body: &[u8]) -> crate::HttpResponse {
    match server_parse(method, body) {
        Ok(request) => inbound::render_success(&answer(&request), &SignKey::new(V3.sign_key)),
        Err(err) => err.render(),
    }
}

#[test]
fn every_answer_survives_server_render_and_client_parse() {
    let client = client();
    for (prepared, request) in cases(&client) {
        let response = handle("POST", &prepared.expect("builds").body);
        let reply = client
            .open_response(response.status, &response.body)
            .expect("opens");
        assert!(reply.verified && reply.is_success(), "{}", reply.rsp_code);
        let rendered = answer(&request).to_json();
        let expected = DataObject::parse(&rendered)
            .expect("parses")
            .to_string_map();
        assert_eq!(reply.data, Some(expected));
    }
}

async fn serve(method: axum::http::Method, body: axum::body::Bytes) -> axum::response::Response {
    let response = handle(method.as_str(), &body);
    let mut builder = axum::http::Response::builder().status(response.status);
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(axum::body::Body::from(response.body))
        .expect("valid response")
}

#[tokio::test]
async fn client_methods_over_loopback() {
    let app = axum::Router::new()
        .route("/processV2", axum::routing::any(serve))
        .route("/process", axum::routing::any(serve));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");
    let credentials = client().credentials().clone();
    let client = Client::new(&base, credentials.clone(), reqwest::Client::new());

    let pay = client
        .active_pay(&active_pay_request())
        .await
        .expect("sent");
    assert_eq!(pay.into_verified().expect("verified").order_id, "A-1");
    let h5 = client.h5_pay(&v3_request()).await.expect("sent");
    assert_eq!(h5.into_verified().expect("verified").amount, "5");
    let init = client.prepay_init(&v4_request()).await.expect("sent");
    assert_eq!(init.into_verified().expect("verified").currency_type, "CAD");
    let query = client
        .prepay_query(&prepay_query_request())
        .await
        .expect("sent");
    assert_eq!(query.into_verified().expect("verified").remarks, "备注");
    let status = client
        .status_query(&StatusQueryRequest {
            order_id: "R9".into(),
        })
        .await;
    let status = status.expect("sent").into_verified().expect("verified");
    assert!(matches!(status, StatusQueryData::Refund(r) if r.order_id == "R9"));
    let refund = client.refund(&refund_request()).await.expect("sent");
    assert_eq!(refund.code(), Some(RspCode::Processing));
    assert_eq!(refund.into_verified().expect("verified").refund_amt, "3");
    let rate = ExRateQueryRequest {
        fee_type: "CAD".into(),
    };
    let alias = client.clone().with_path("/process");
    let rate = alias.ex_rate_query(&rate).await.expect("sent");
    assert_eq!(rate.into_verified().expect("verified").rate, "505703000");

    let bad = ExRateQueryRequest {
        fee_type: "EUR".into(),
    };
    let reply = client.ex_rate_query(&bad).await.expect("sent");
    assert_eq!(
        (reply.code(), reply.rsp_msg.as_str()),
        (Some(RspCode::ParamInvalid), "invalid parameter: fee_type")
    );
    let stranger = ClientCredentials {
        sign_key: SignKey::new(V1.sign_key),
        ..credentials
    };
    let stranger = Client::new(&base, stranger, reqwest::Client::new());
    let reply = stranger
        .ex_rate_query(&ExRateQueryRequest {
            fee_type: "CAD".into(),
        })
        .await;
    let reply = reply.expect("sent");
    assert_eq!(
        reply.rsp_msg,
        "authentication failed: data cannot be decrypted"
    );
    let get = reqwest::get(format!("{base}/processV2"))
        .await
        .expect("sent");
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(get.headers()["allow"], "POST");
}

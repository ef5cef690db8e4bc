//! The client's async methods against a loopback axum server built from the inbound parser.

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use polypay_blockatm::Error;
use polypay_blockatm::amount::Amount;
use polypay_blockatm::client::{Client, PaymentListFilter};
use polypay_blockatm::inbound::{
    self, ApiError, HttpResponse, InboundOptions, RawRequest, Request, ResponseData, render_success,
};
use polypay_blockatm::network::NetworkTable;
use polypay_blockatm::wire::{CreatePayoutRequest, Decimal, PayOrder, PaymentStatus, payment_code};
use polypay_core::PaymentState;

fn now_ms() -> u64 {
    jiff::Timestamp::now().as_millisecond() as u64
}

fn order<S>(status: S) -> PayOrder<S> {
    PayOrder {
        amount: Decimal::from(Amount::parse("13.41").unwrap()),
        block_time: None,
        cashier_id: Some(common::CASHIER_ID),
        chain_id: Decimal("11155111".into()),
        create_time: Some(1_743_060_200_000),
        cust_no: Some("C1".into()),
        from_address: Some(String::new()),
        id: 8_210_000_001,
        network: Some("Sepolia".into()),
        order_no: Some("O1".into()),
        order_type: Some(2),
        status,
        symbol: "USDT".into(),
        tx_id: None,
    }
}

/// A stand-in for the engine: answers from fixed data.
fn answer(request: &Request) -> Result<ResponseData, ApiError> {
    let networks = NetworkTable::sandbox();
    Ok(match request {
        Request::PaymentDetail { order_no } if order_no == "O1" => {
            ResponseData::PaymentDetail(order(PaymentStatus::Pending))
        }
        Request::PaymentDetail { .. } => return Err(ApiError::not_found()),
        Request::PaymentList(_) => {
            ResponseData::PaymentList(vec![order(payment_code(PaymentState::Expired))])
        }
        Request::CreatePayout(_) => ResponseData::CreatePayout,
        Request::AllNetworks => ResponseData::AllNetworks(networks.all_networks()),
        Request::SymbolList { chain_id, symbol } => {
            let chain = chain_id.as_deref().and_then(|c| networks.by_chain_id(c));
            ResponseData::SymbolList(networks.symbol_list(chain, symbol.as_deref()))
        }
        _ => return Err(ApiError::system_error()),
    })
}

async fn handle(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let raw = RawRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    let trace = inbound::new_trace();
    let rendered = match inbound::parse(&raw, common::lookup, &InboundOptions::default(), now_ms())
    {
        Ok(parsed) => match answer(&parsed.request) {
            Ok(data) => render_success(&data, &trace),
            Err(error) => error.render(&trace),
        },
        Err(error) => error.render(&trace),
    };
    to_axum(rendered)
}

fn to_axum(rendered: HttpResponse) -> Response {
    let mut response = (
        StatusCode::from_u16(rendered.status).unwrap(),
        rendered.body,
    )
        .into_response();
    for (name, value) in rendered.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(handle);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn client_against_loopback_server() {
    let base = serve().await;
    for v1 in [false, true] {
        let mut client = Client::new(&base, common::client_credentials(v1), http());
        client.recv_window_ms = Some(60_000);

        let detail = client.payment_detail("O1").await.unwrap();
        assert_eq!(detail.data.status, PaymentStatus::Pending);
        assert_eq!(detail.data.amount.0, "13.41");
        assert_eq!(detail.trace.as_ref().map(String::len), Some(32));

        let list = client
            .payment_list(&PaymentListFilter {
                order_no: "O1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(list.data[0].status, -1);

        let payout = CreatePayoutRequest {
            biz_order_no: "B1".into(),
            amount: "1.5".into(),
            chain_id: "TRON".into(),
            symbol: "USDT".into(),
            to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            cust_no: "C1".into(),
            remark: None,
            merchant_id: None,
        };
        client.create_payout(&payout).await.unwrap();

        match client.payment_detail("nope").await {
            Err(Error::Api {
                status: 200,
                code,
                msg,
            }) => assert_eq!((code.as_str(), msg.as_str()), ("000202", "data not found")),
            other => panic!("{other:?}"),
        }
    }
    let client = Client::new(&base, common::client_credentials(false), http());
    assert_eq!(client.all_networks().await.unwrap().data.len(), 5);
    let tokens = client
        .symbol_list(Some("56"), Some("USDT"))
        .await
        .unwrap()
        .data;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].decimals, 18);
}

/// No proxy from the environment: the test talks to loopback only.
fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

//! The async client against a loopback axum server built on the pure front door (with an
//! in-memory nonce table standing in for the store), and webhook delivery to a loopback
//! merchant that verifies with the client SDK.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::*;
use polypay_v2sha256::inbound::{HttpRequest, ServerContext, handle};
use polypay_v2sha256::notify::{encode_callback, is_ack};
use polypay_v2sha256::sign::fresh_nonce;
use polypay_v2sha256::wire::*;
use polypay_v2sha256::{ApiError, ApiRequest, Client, HttpResponse, ResponseData};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

type Nonces = Arc<Mutex<HashSet<(String, String)>>>;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn to_axum(r: HttpResponse) -> Response {
    let mut builder = Response::builder().status(r.status);
    for (n, v) in r.headers {
        builder = builder.header(n, v);
    }
    builder.body(axum::body::Body::from(r.body)).unwrap()
}

fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect()
}

/// A toy business layer: enough to exercise each answer kind.
fn business(request: ApiRequest) -> Result<ResponseData, ApiError> {
    match request {
        ApiRequest::PaymentCreate(p) => Ok(ResponseData::PaymentCreate(PaymentCreateData {
            payment_no: "PAY1".into(),
            merchant_trade_no: p.request.merchant_trade_no,
            status: PaymentStatus::Pending,
            action: Action::redirect("http://127.0.0.1/cashier/PAY1"),
        })),
        ApiRequest::BalanceQuery(_) => Ok(ResponseData::Balance(BalanceData {
            balances: vec![Balance {
                currency: "INR".into(),
                available: "0.00".into(),
                frozen: "0.00".into(),
            }],
        })),
        ApiRequest::PaymentQuery(_) => Err(ApiError::object_not_found("payment")),
        _ => Err(ApiError::internal()),
    }
}

async fn front(
    State(nonces): State<Nonces>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers = pairs(&headers);
    let req = HttpRequest {
        method: method.as_str(),
        scheme: "http",
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    let now = now_ms();
    let inbound = match handle(
        &req,
        &ServerContext {
            now_ms: now,
            public_base_url: None,
        },
        lookup,
    ) {
        Ok(inbound) => inbound,
        Err(e) => return to_axum(e.render()),
    };
    let claim = &inbound.auth.nonce;
    if !nonces
        .lock()
        .unwrap()
        .insert((claim.app_id.clone(), claim.nonce.clone()))
    {
        return to_axum(ApiError::nonce_reused().render());
    }
    let nonce = fresh_nonce();
    let rendered = match inbound.request.and_then(business) {
        Ok(data) => inbound.auth.render_ok(&data, now, &nonce),
        Err(e) => inbound.auth.render_error(&e, now, &nonce),
    };
    to_axum(rendered)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn client_against_loopback_server() {
    let base = serve(Router::new().fallback(front).with_state(Nonces::default())).await;
    let client = Client::new(&format!("{base}/pg"), credentials()).unwrap();

    let req: PaymentCreateRequest = serde_json::from_str(B1).unwrap();
    let created = client
        .payment_create(&req)
        .await
        .unwrap()
        .into_verified()
        .unwrap();
    assert!(created.is_ok());
    assert_eq!(created.data.unwrap().merchant_trade_no, "ORD20240514001");

    let balance = client
        .balance_query(&BalanceQueryRequest::default())
        .await
        .unwrap();
    assert!(balance.signature_verified && balance.data.unwrap().balances.len() == 1);

    let q = PaymentQueryRequest {
        payment_no: Some("NOPE".into()),
        merchant_trade_no: None,
    };
    let missing = client.payment_query(&q).await.unwrap();
    assert!(missing.signature_verified);
    assert_eq!(
        (missing.http_status, missing.code.as_str()),
        (200, "NOT_FOUND")
    );
    assert_eq!(missing.error_message.as_deref(), Some("payment not found"));

    let failing = client
        .refund_query(&RefundQueryRequest {
            refund_no: Some("R1".into()),
            merchant_trade_no: None,
        })
        .await
        .unwrap();
    assert!(
        failing.signature_verified && failing.http_status == 500 && failing.code == "SYSTEM_ERROR"
    );

    // Replay: the same signed bytes twice; the nonce table refuses the second.
    let prepared = client
        .build_balance_query(&BalanceQueryRequest::default(), now_ms(), &fresh_nonce())
        .unwrap();
    assert!(client.send::<BalanceData>(&prepared).await.unwrap().is_ok());
    let replay = client.send::<BalanceData>(&prepared).await.unwrap();
    assert_eq!(
        (replay.http_status, replay.code.as_str()),
        (401, "UNAUTHORIZED")
    );
    assert_eq!(
        replay.error_message.as_deref(),
        Some("nonce invalid or reused")
    );
    assert!(!replay.signature_verified);

    let stranger =
        Client::new(&base, polypay_v2sha256::Credentials::new("nobody", SECRET)).unwrap();
    let refused = stranger
        .balance_query(&BalanceQueryRequest::default())
        .await
        .unwrap();
    assert_eq!(
        (refused.http_status, refused.error_message.as_deref()),
        (401, Some("unknown appId"))
    );

    let not_found = reqwest::Client::new()
        .post(format!("{base}/v2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
}

async fn merchant_hook(uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let client = Client::new("https://gateway.example.com", credentials()).unwrap();
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match client.verify_callback(target, &pairs(&headers), &body) {
        Ok(_) => (StatusCode::OK, r#"{"code":"OK"}"#).into_response(),
        Err(_) => (StatusCode::UNAUTHORIZED, r#"{"code":"FAIL"}"#).into_response(),
    }
}

#[tokio::test]
async fn webhook_to_loopback_merchant_is_acknowledged() {
    let base = serve(Router::new().fallback(merchant_hook)).await;
    let notify_url = format!("{base}/notify?src=pg");
    let cb = Callback::Refund(RefundData {
        refund_no: "RF1".into(),
        merchant_trade_no: "RF-1".into(),
        payment_no: "PAY1".into(),
        amount: "1.00".into(),
        currency: "INR".into(),
        status: RefundStatus::Refunded,
        reason: None,
        created_time: "2024-05-14T07:12:38.482+00:00".into(),
        finished_time: None,
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for tamper in [false, true] {
        let mut request =
            encode_callback(&credentials(), &notify_url, &cb, now_ms(), &fresh_nonce()).unwrap();
        if tamper {
            request.body.push(b' ');
        }
        let mut send = http.post(&request.url).body(request.body.clone());
        for (n, v) in &request.headers {
            send = send.header(n, v);
        }
        let response = send.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        assert_eq!(is_ack(status, &body), !tamper);
    }
}

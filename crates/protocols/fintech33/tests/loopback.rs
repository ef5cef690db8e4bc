//! The async client against a loopback axum server built from `parse_request` and the renderers.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::*;
use polypay_fintech33::client::ClientError;
use polypay_fintech33::inbound::{Inbound, ServiceRequest, parse_request};
use polypay_fintech33::validate::{BusinessError, ErrorCode};
use polypay_fintech33::wire::{
    CreateOrder, CreateOrderData, OrderRef, Payer, PayerData, QueryOrderData, RefundOrderData,
    UpdatePayer,
};
use polypay_fintech33::{
    Amount, Client, HttpResponse, OrderStatus, PlatformKeys, ResponseData, SignHash,
    render_business_error, render_success, render_token_response,
};
use std::sync::Arc;

struct App {
    store: Store,
    platform: PlatformKeys,
}

fn to_axum(r: HttpResponse) -> Response {
    let mut resp = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
    for (name, value) in r.headers {
        resp.headers_mut().insert(name, value.parse().unwrap());
    }
    resp
}

/// Minimal business logic: one payer, one order, refund always accepted, unknown email fails.
fn answer(request: &ServiceRequest) -> Result<ResponseData, BusinessError> {
    let payer_data = |payer: &Payer| {
        ResponseData::Payer(PayerData {
            payer_id: 10001,
            payer: payer.clone(),
        })
    };
    Ok(match request {
        ServiceRequest::CreatePayer(p) => payer_data(p),
        ServiceRequest::UpdatePayer(u) => payer_data(&u.payer),
        ServiceRequest::GetPayer(g) if g.email == "tm.chan@example.com" => {
            payer_data(&sample_payer())
        }
        ServiceRequest::GetPayer(_) => return Err(BusinessError::new(ErrorCode::PayerNotFound)),
        ServiceRequest::CreateOrder(_) => ResponseData::CreateOrder(CreateOrderData {
            link_id: "5f0c1a62-3e0b-4c1e-9a5e-1f2d3c4b5a69".into(),
            payment_link: "http://127.0.0.1/cashier/5f0c1a62".into(),
            link_expiry: polypay_fintech33::wire::parse_time("2024-01-01 12:15:00.000+0000")
                .unwrap(),
            status: OrderStatus::New,
        }),
        ServiceRequest::QueryOrder(_) => ResponseData::QueryOrder(QueryOrderData {
            outcome: OrderStatus::Paid,
        }),
        ServiceRequest::RefundOrder(_) => ResponseData::RefundOrder(RefundOrderData::submitted()),
    })
}

async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let parsed = parse_request(
        method.as_str(),
        uri.path(),
        uri.query().unwrap_or(""),
        &headers,
        &body,
        now(),
        &app.store,
    );
    to_axum(match parsed {
        Ok(Inbound::Token { .. }) => render_token_response(TOKEN, 7200),
        Ok(Inbound::Pay {
            credentials,
            request,
        }) => match answer(&request) {
            Ok(data) => render_success(&credentials, &app.platform, &data),
            Err(e) => render_business_error(&credentials, &app.platform, &e),
        },
        Err(e) => e.render(&app.platform),
    })
}

fn sample_payer() -> Payer {
    Payer::example("tm.chan@example.com")
}

async fn serve(cbc: bool, hash: SignHash) -> String {
    let app = Arc::new(App {
        store: Store::new(cbc, hash),
        platform: platform(),
    });
    let router = axum::Router::new().fallback(handle).with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// Loopback only: ignore any proxy configured in the environment.
fn local_client(base: String, keys: polypay_fintech33::MerchantKeys) -> Client {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Client::with_http(base, keys, http)
}

#[tokio::test]
async fn every_client_method_against_loopback() {
    for (cbc, hash) in [(false, SignHash::Sha256), (true, SignHash::Sha1)] {
        let client = local_client(serve(cbc, hash).await, merchant_keys(cbc, hash));
        let token = client.token().await.unwrap();
        assert_eq!((token.token.as_str(), token.expires_in), (TOKEN, 7200));
        let t = token.token.as_str();

        let created = client.create_payer(t, &sample_payer()).await.unwrap();
        assert!(created.signature_valid);
        assert_eq!(created.result.unwrap().payer_id, 10001);
        let got = client.get_payer(t, "tm.chan@example.com").await.unwrap();
        assert_eq!(got.result.unwrap().payer, sample_payer());
        let missing = client.get_payer(t, "nobody@example.com").await.unwrap();
        assert!(missing.signature_valid);
        let failure = missing.result.unwrap_err();
        assert_eq!(
            (failure.error_code.as_str(), failure.error_message.as_str()),
            ("PAYER_NOT_FOUND", "payer not found")
        );
        let updated = client
            .update_payer(
                t,
                &UpdatePayer {
                    payer_id: 10001,
                    payer: sample_payer(),
                },
            )
            .await
            .unwrap();
        assert_eq!(updated.result.unwrap().payer.city, "Hong Kong");

        let order = CreateOrder {
            order_sn: "ORDER-0002".into(),
            currency: "USD".into(),
            amount: Amount::parse("10.5").unwrap(),
            payer_id: 10001,
            purpose_of_transaction: "OTHERS".into(),
            description: "Loopback".into(),
            skip3ds: true,
            domain: "shop.example.com".into(),
            product: "A||B".into(),
        };
        let link = client
            .create_order(t, &order)
            .await
            .unwrap()
            .result
            .unwrap();
        assert_eq!(link.status, OrderStatus::New);
        let by_link = OrderRef {
            order_sn: None,
            link_id: Some(link.link_id),
        };
        assert_eq!(
            client
                .query_order(t, &by_link)
                .await
                .unwrap()
                .result
                .unwrap()
                .outcome,
            OrderStatus::Paid
        );
        let refund = client.refund_order(t, &by_link).await.unwrap();
        assert_eq!(refund.result.unwrap().message, "Refund request submitted");
    }
}

#[tokio::test]
async fn envelope_refusals_reach_the_client_as_errors() {
    let base = serve(false, SignHash::Sha256).await;
    let client = local_client(base.clone(), merchant_keys(false, SignHash::Sha256));
    let err = client
        .query_order(
            "wrong-token",
            &OrderRef {
                order_sn: Some("X".into()),
                link_id: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Envelope { http_status: 401, status_code: 401, ref message } if message == "invalid or expired token"),
        "{err}"
    );

    let mut keys = merchant_keys(false, SignHash::Sha256);
    keys.app_secret = "wrong".into();
    let err = local_client(base, keys).token().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Envelope {
                http_status: 401,
                status_code: 401,
                ..
            }
        ),
        "{err}"
    );
}

//! The hosted cashier page over HTTP: opening, CSRF, actions, outcome and error pages.

use polypay_core::{Currency, Money, PaymentState, Protocol};
use polypay_engine::NewPayment;
use polypay_server::testing::TestServer;
use serde_json::json;

async fn order(s: &TestServer, no: &str, ttl: i64) -> polypay_core::Payment {
    order_of(s, no, ttl, Money::new(10031, Currency::CNY)).await
}

async fn order_of(s: &TestServer, no: &str, ttl: i64, amount: Money) -> polypay_core::Payment {
    let new = NewPayment {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: no.into(),
        public_id: format!("P-{no}"),
        amount,
        notify_url: None,
        return_url: None,
        ttl_seconds: ttl,
        initial_state: PaymentState::Created,
        attrs: json!({"wayCode": "ALI_QR"}),
    };
    s.engine().create_payment(new).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn opening_shows_the_order_and_pay_needs_the_pages_csrf_token() {
    let s = TestServer::start().await;
    let p = order(&s, "c1", 900).await;
    let url = format!("{}/cashier/{}", s.base_url, p.cashier_token);
    let page = client().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // No cookie: the token is the page's, so a frame on another site and a second tab work.
    assert!(page.headers().get("set-cookie").is_none());
    for (name, value) in [
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("content-security-policy", "frame-ancestors 'none'"),
    ] {
        assert_eq!(page.headers()[name], value, "{name}");
    }
    let html = page.text().await.unwrap();
    for needle in [
        "100.31 CNY",
        "c1",
        "Alipay QR",
        "e2e shop",
        "<svg",
        "Time left",
        "id=\"pay\"",
    ] {
        assert!(html.contains(needle), "page lacks {needle}");
    }
    assert_eq!(
        s.payment("P-c1").await.state,
        PaymentState::Pending,
        "opening the page"
    );
    let token = polypay_server::testing::csrf_of(&html).expect("the form's token");
    assert_eq!(token.len(), 32);
    // Another order's page carries another token, and it does not act on this one.
    let other = order(&s, "c2", 900).await;
    let other_url = format!("{}/cashier/{}", s.base_url, other.cashier_token);
    let other_html = client().get(&other_url).send().await.unwrap();
    let other_token = polypay_server::testing::csrf_of(&other_html.text().await.unwrap()).unwrap();
    assert_ne!(other_token, token);
    for forged in ["", "0".repeat(32).as_str(), other_token.as_str()] {
        let refused = client()
            .post(format!("{url}/pay"))
            .form(&[("csrf", forged)])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{forged:?}");
        assert_eq!(refused.headers()["cache-control"], "no-store");
        assert_eq!(refused.headers()["x-frame-options"], "DENY", "not framed");
    }
    assert_eq!(s.payment("P-c1").await.state, PaymentState::Pending);
    let paid = client()
        .post(format!("{url}/pay"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(s.payment("P-c1").await.state, PaymentState::Succeeded);
    let after = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(after.contains("Paid") && !after.contains("id=\"pay\""));
    let qr = client().get(format!("{url}/qr.svg")).send().await.unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");

    // Prices show the currency's decimals; a stablecoin's six shrink to two when they can.
    for (no, amount, shown) in [
        ("d1", Money::new(2200, Currency::CNY), "22.00 CNY"),
        ("d2", Money::new(12_500_000, Currency::USDT), "12.50 USDT"),
        (
            "d3",
            Money::new(12_345_678, Currency::USDT),
            "12.345678 USDT",
        ),
    ] {
        let p = order_of(&s, no, 900, amount).await;
        let url = format!("{}/cashier/{}", s.base_url, p.cashier_token);
        let html = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(shown), "{shown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_expired_orders_get_clear_pages() {
    let s = TestServer::start().await;
    let unknown = client()
        .get(format!("{}/cashier/{}", s.base_url, "ab".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("Order not found"));
    let junk = client()
        .get(format!("{}/cashier/<script>", s.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), 404);
    let p = order(&s, "late", 60).await;
    s.clock().advance(61_000);
    let html = client()
        .get(format!("{}/cashier/{}", s.base_url, p.cashier_token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Order expired"),
        "expired before the sweeper ran"
    );
    s.sweep().await;
    assert_eq!(s.payment("P-late").await.state, PaymentState::Expired);
}

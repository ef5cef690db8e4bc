//! A real browser on the cashier page: headless Chromium driven over WebDriver opens a cashier
//! URL, clicks Pay, and lands on the merchant's return URL with the protocol's signed parameters;
//! Back from there shows the order paid, also after a 3-D Secure step (a page that answered a
//! form, which Back would otherwise ask to send again).
//!
//! Needs chromium + chromedriver (`.ci/run` installs them and sets POLYPAY_BROWSER_TESTS=1, which
//! makes a missing driver a failure instead of a skip).

mod webdriver;

use polypay_core::{Currency, Money, PaymentState, Protocol};
use polypay_engine::NewPayment;
use polypay_server::testing::{Receiver, TestServer};
use serde_json::json;
use webdriver::Driver;

#[tokio::test(flavor = "multi_thread")]
async fn customer_pays_on_the_cashier_and_returns_to_the_merchant() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let shop = Receiver::start(200, "thanks").await;
    let new = NewPayment {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: "browser-1".into(),
        public_id: "P1000000000000000042".into(),
        amount: Money::new(2500, Currency::CNY),
        notify_url: None,
        return_url: Some(format!("{}/return", shop.url)),
        ttl_seconds: 900,
        initial_state: PaymentState::Created,
        attrs: json!({"wayCode": "ALI_QR", "subject": "goods", "body": "0", "currency": "cny",
                      "clientIp": "210.73.10.148", "appId": s.credentials_of("passtopay")["appId"]}),
    };
    let p = s.engine().create_payment(new).await.unwrap();
    let b = driver.session().await;
    b.resize(420, 900).await;
    b.open(&format!("{}/cashier/{}", s.base_url, p.cashier_token))
        .await;
    b.screenshot("cashier.png").await;
    b.click("#pay").await;
    // The click returns once the form is submitted, not when the redirect chain has landed.
    let landed = b.url_when(|u| u.starts_with(&shop.url)).await;
    // Back from the merchant's page: the cashier shows the order as paid, not the form of the
    // page as it was (a page restored from the back/forward cache reloads itself).
    b.back().await;
    let again = b.url_when(|u| u.contains("/cashier/")).await;
    let heading = b.heading_when(|h| h == "Paid").await;
    b.close().await;
    assert!(again.contains("/cashier/"), "Back went to {again}");
    assert_eq!(
        heading, "Paid",
        "the page after Back (the open order's says Pay <merchant>)"
    );

    assert_eq!(
        s.payment("P1000000000000000042").await.state,
        PaymentState::Succeeded
    );
    assert!(
        landed.starts_with(&format!("{}/return?", shop.url)),
        "landed on {landed}"
    );
    let visit = shop
        .requests()
        .into_iter()
        .find(|r| r.uri.starts_with("/return"))
        .expect("return visit");
    let secret = s.credentials_of("passtopay")["appSecret"]
        .as_str()
        .unwrap_or_default();
    let secret = polypay_passtopay::AppSecret::new(secret);
    let verified = polypay_passtopay::client::verify_redirect_with(&visit.uri, &secret);
    assert!(
        verified.is_ok(),
        "return URL parameters are not correctly signed: {} {verified:?}",
        visit.uri
    );
}

/// A 33 Fintech order with 3-D Secure: card form, Continue, the code, Pay; the cashier shows
/// the result (33 Fintech has no return URL), and Back lands on the order, paid, not on the
/// verification step's form answer.
#[tokio::test(flavor = "multi_thread")]
async fn back_after_a_verification_step_shows_the_order_paid() {
    use polypay_fintech33::wire::{Amount, CreateOrder};
    let Some(driver) = Driver::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let client = polypay_server::testing::fintech33_client(&s, None);
    let token = client.token().await.expect("token").token;
    let payer = polypay_server::testing::fintech33_payer("tai@example.com");
    let payer_id = client
        .create_payer(&token, &payer)
        .await
        .expect("payer")
        .result
        .expect("payer")
        .payer_id;
    let order = CreateOrder {
        order_sn: "B-3DS".into(),
        currency: "USD".into(),
        amount: Amount::parse("12.00").expect("amount"),
        payer_id,
        purpose_of_transaction: "PAY_FOR_GOODS".into(),
        description: "browser order".into(),
        skip3ds: false,
        domain: "shop.example.com".into(),
        product: "Mug".into(),
    };
    let created = client
        .create_order(&token, &order)
        .await
        .expect("order")
        .result
        .expect("created");
    let b = driver.session().await;
    b.open(&created.payment_link).await;
    b.click("#continue").await;
    b.type_into("#otp", "123456").await;
    b.click("#pay").await;
    let paid = b.heading_when(|h| h == "Paid").await;
    b.back().await;
    let again = b.heading_when(|h| h == "Paid").await;
    let url = b.url().await;
    b.close().await;
    assert_eq!(paid, "Paid");
    assert_eq!(
        again, "Paid",
        "Back from the result shows the order ({url})"
    );
    assert!(
        url.ends_with(&format!(
            "/cashier/{}",
            created.payment_link.rsplit('/').next().unwrap()
        )),
        "{url}"
    );
}

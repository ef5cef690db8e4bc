//! The operator console in a real browser: headless Chromium over WebDriver signs in, finds a
//! payment by its order number, reads its timeline, re-sends a failing callback, and runs the
//! signature debugger on a request with a wrong signature.
//!
//! Needs chromium + chromedriver (`.ci/run` installs them and sets POLYPAY_BROWSER_TESTS=1, which
//! makes a missing driver a failure instead of a skip). With POLYPAY_SCREENSHOT_DIR set (relative
//! paths are taken from the workspace root), screenshots of the main pages are written there:
//! `POLYPAY_SCREENSHOT_DIR=docs/screenshots cargo test -p polypay-server --test console_browser`.

mod console_support;
mod webdriver;

use console_support::{create_payment, passtopay_payment};
use polypay_core::{Currency, Money, PaymentCommand, Protocol};
use polypay_engine::{NewMerchant, NewPayout};
use polypay_server::testing::{Receiver, TestServer};
use polypay_store::{DeliveryFilter, DeliveryState};
use serde_json::{Value, json};
use webdriver::Driver;

/// A few merchants, payments, a payout and a failing callback, so the pages show real rows.
async fn seed(s: &TestServer, shop: &Receiver) -> polypay_core::Payment {
    let (other, _) = s
        .engine()
        .create_merchant(NewMerchant {
            name: "Noodle Bar".into(),
            notify_url: None,
            generate_keys: false,
        })
        .await
        .unwrap();
    let states = [
        None,
        Some("succeed"),
        Some("fail"),
        Some("succeed"),
        None,
        Some("cancel"),
    ];
    for (n, action) in states.iter().enumerate() {
        let i = u32::try_from(n).unwrap();
        let p = create_payment(
            s,
            passtopay_payment(
                s,
                &format!("shop-{}", 1000 + n),
                10 + i,
                1_250 + 100 * i64::from(i),
                None,
            ),
        )
        .await;
        let cmd = match action {
            Some("succeed") => PaymentCommand::Succeed {
                channel_order_no: format!("2025{n:020}"),
            },
            Some("fail") => PaymentCommand::Fail {
                code: "SANDBOX_FAIL".into(),
                message: "declined".into(),
            },
            Some(_) => PaymentCommand::Cancel,
            None => continue,
        };
        s.engine().transition_payment(&p.id, cmd).await.unwrap();
    }
    let mut other_payment = passtopay_payment(s, "noodles-7", 30, 8_800, None);
    other_payment.merchant_id = other.id.clone();
    other_payment.protocol = Protocol::V2sha256;
    other_payment.amount = Money::new(8_800, Currency::USD);
    let op = create_payment(s, other_payment).await;
    s.engine()
        .transition_payment(
            &op.id,
            PaymentCommand::Succeed {
                channel_order_no: "c-7".into(),
            },
        )
        .await
        .unwrap();
    let payout = NewPayout {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: "payout-1".into(),
        public_id: "T100".into(),
        amount: Money::new(1_000, Currency::CNY),
        notify_url: None,
        start_processing: true,
        attrs: json!({}),
    };
    s.engine().create_payout(payout).await.unwrap();
    let target = create_payment(
        s,
        passtopay_payment(
            s,
            "browser-order-42",
            42,
            2_500,
            Some(format!("{}/notify", shop.url)),
        ),
    )
    .await;
    s.engine()
        .transition_payment(
            &target.id,
            PaymentCommand::Succeed {
                channel_order_no: "2025-c-42".into(),
            },
        )
        .await
        .unwrap();
    polypay_server::callbacks::dispatcher(&s.state)
        .run_once()
        .await
        .unwrap();
    target
}

/// A PassToPay body whose amount changed after signing, and the string its sender signed.
fn tampered_passtopay_body(s: &TestServer) -> (String, String) {
    let c = s.credentials_of("passtopay");
    let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    let mut pairs = vec![
        ("mchNo".to_string(), text("mchNo")),
        ("appId".to_string(), text("appId")),
        (
            "reqTime".to_string(),
            s.engine().clock().now().0.to_string(),
        ),
        ("version".to_string(), "1.1".to_string()),
        ("signType".to_string(), "MD5".to_string()),
        ("mchOrderNo".to_string(), "browser-sig-1".to_string()),
        ("amount".to_string(), "100".to_string()),
    ];
    let secret = text("appSecret");
    let signed = polypay_passtopay::sign::string_to_sign(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &secret,
    );
    let sign = polypay_passtopay::sign::sign_pairs(&pairs, &secret);
    pairs[6].1 = "1000".into();
    let mut body: serde_json::Map<String, Value> =
        pairs.into_iter().map(|(k, v)| (k, json!(v))).collect();
    body.insert("sign".into(), json!(sign));
    (Value::Object(body).to_string(), signed)
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_finds_a_payment_reads_its_timeline_resends_its_callback_and_debugs_a_signature() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let shop = Receiver::start(503, "busy").await;
    let payment = seed(&s, &shop).await;
    let b = driver.session().await;

    // Sign in.
    b.open(&format!("{}/console", s.base_url)).await;
    assert!(
        b.url_when(|u| u.ends_with("/console/login"))
            .await
            .ends_with("/console/login"),
        "signed-out visitors go to the sign-in page"
    );
    b.screenshot("console-sign-in.png").await;
    b.type_into("#token", &s.admin_token).await;
    b.click("#sign-in").await;
    let home = b.url_when(|u| u.ends_with("/console")).await;
    assert!(home.ends_with("/console"), "{home}");
    b.screenshot("console-overview.png").await;

    // Find the payment by its order number and open it.
    b.open(&format!("{}/console/payments", s.base_url)).await;
    b.screenshot("console-payments.png").await;
    b.type_into("#filter-number", "browser-order-42").await;
    b.click("#filter-apply").await;
    b.url_when(|u| u.contains("browser-order-42")).await;
    assert_eq!(b.count("a.order").await, 1);
    b.click("a.order").await;
    let detail = format!("/console/payments/{}", payment.id);
    assert!(
        b.url_when(|u| u.ends_with(&detail))
            .await
            .ends_with(&detail)
    );

    // Its timeline: state changes, the ledger posting, the failed callback attempt.
    let timeline = b.text("#timeline").await;
    for expected in [
        "payment.created",
        "payment.succeeded",
        "25.00 CNY",
        "callback attempt 1",
    ] {
        assert!(
            timeline.contains(expected),
            "{expected} missing from:\n{timeline}"
        );
    }
    b.resize(1280, 1700).await;
    b.screenshot("console-payment-timeline.png").await;
    b.resize(420, 900).await;
    b.screenshot("console-payment-phone.png").await;
    b.resize(1280, 1000).await;

    // Re-send the failing callback now; the merchant answers this time.
    b.open(&format!("{}/console/callbacks?state=failing", s.base_url))
        .await;
    b.screenshot("console-callbacks.png").await;
    let filter = DeliveryFilter {
        payment: Some(payment.id.to_string()),
        limit: 10,
        ..DeliveryFilter::default()
    };
    let delivery = polypay_notify::operator::list_deliveries(s.engine(), filter.clone())
        .await
        .unwrap()
        .remove(0);
    shop.reply_with(200, "success");
    b.click(&format!("#resend-{}", delivery.id)).await;
    assert!(b.text("#resent").await.contains("Re-send queued"));
    polypay_server::callbacks::dispatcher(&s.state)
        .run_once()
        .await
        .unwrap();
    b.open(&format!("{}/console/callbacks/{}", s.base_url, delivery.id))
        .await;
    assert_eq!(b.text("#callback-state").await, "acknowledged");
    let done = polypay_notify::operator::list_deliveries(s.engine(), filter)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(done.state, DeliveryState::Acknowledged);
    assert_eq!(
        shop.requests().len(),
        2,
        "sent twice: the failed attempt and the re-send"
    );

    // The signature debugger on a request whose amount changed after signing.
    b.open(&format!("{}/console/signature", s.base_url)).await;
    b.click("#sig-protocol option[value=passtopay]").await;
    b.type_into("#sig-target", "/api/pay/unifiedOrder").await;
    b.type_into("#sig-headers", "Content-Type: application/json")
        .await;
    let (body, signed) = tampered_passtopay_body(&s);
    b.type_into("#sig-body", &body).await;
    b.type_into("#sig-signed", &signed).await;
    b.click("#sig-check").await;
    assert_eq!(b.text("#sig-verdict").await, "does not match");
    assert!(b.text("#sig-expected").await.contains("amount=1000&"));
    assert!(b.text("#sig-implied").await.contains("amount=100&"));
    assert!(
        b.text("#sig-diff").await.contains("amount=1000"),
        "the diff shows both amounts"
    );
    assert!(b.text("#sig-window").await.contains("ok"));
    let secret = s.credentials_of("passtopay")["appSecret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let source = b
        .get("/source")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        source.contains("key=‹appSecret›") && !source.contains(&secret),
        "the secret never reaches the page"
    );
    b.resize(1280, 1500).await;
    b.screenshot("console-signature-debugger.png").await;
    b.resize(1280, 1000).await;

    // The other main pages, for the README.
    for (path, name) in [
        ("merchants", "console-merchants.png"),
        ("balances", "console-balances.png"),
        ("payouts", "console-payouts.png"),
        ("sandbox", "console-sandbox.png"),
    ] {
        b.open(&format!("{}/console/{path}", s.base_url)).await;
        b.screenshot(name).await;
    }
    b.close().await;
}

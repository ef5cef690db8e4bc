//! 33 Fintech end to end: the full node (router, cashier, sandbox, dispatcher) driven by the
//! phase-1 merchant SDK — token, payer, order, payment on the hosted cashier, PaymentOrderStatus
//! webhooks delivered to the registered URL and verified, queries, an immediate sandbox refund
//! (RefundRequest then RefundCompleted), sandbox failures and expiry, webhook retries with
//! identical bytes, and the envelopes of the whole app.

use polypay_fintech33::wire::{
    Amount, CreateOrder, CreateOrderData, OrderRef, OrderStatus, Payer, PaymentOrderStatus,
};
use polypay_fintech33::{Client, RsaPrivateKey};
use polypay_server::testing::{
    Customer, Received, Receiver, TestServer, fintech33_client, fintech33_payer,
};
use polypay_store::testing::TestDb;
use serde_json::json;

fn merchant_client(s: &TestServer) -> Client {
    fintech33_client(s, None)
}

/// The merchant's client, signing with `private_key`.
fn client_signing_with(s: &TestServer, private_key: RsaPrivateKey) -> Client {
    fintech33_client(s, Some(private_key))
}

/// Registers the receiver as the merchant's 33 Fintech webhook URL.
async fn register_webhook(s: &TestServer, hook: &Receiver) {
    let url = format!("{}/fintech33/webhook", hook.url);
    s.set_protocol_settings("fintech33", json!({ "webhook_url": url }))
        .await;
}

/// Opens the hosted cashier page (the order becomes Processing) and presses `action`.
async fn act_on_cashier(cashier_url: &str, action: &str) -> reqwest::Response {
    Customer::open(cashier_url).await.press(action, &[]).await
}

fn payer(email: &str) -> Payer {
    fintech33_payer(email)
}

fn order(order_sn: &str, payer_id: u64, amount: &str) -> CreateOrder {
    CreateOrder {
        order_sn: order_sn.into(),
        currency: "USD".into(),
        amount: Amount::parse(amount).expect("amount"),
        payer_id,
        purpose_of_transaction: "PAY_FOR_GOODS".into(),
        description: "E2E order".into(),
        skip3ds: true,
        domain: "shop.example.com".into(),
        product: "T-shirt||Mug".into(),
    }
}

fn by_sn(order_sn: &str) -> OrderRef {
    OrderRef {
        order_sn: Some(order_sn.into()),
        link_id: None,
    }
}

fn verify(client: &Client, r: &Received) -> PaymentOrderStatus {
    assert_eq!(r.method, "POST");
    assert_eq!(r.uri, "/fintech33/webhook");
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(r.header("authorization"), None);
    client
        .verify_callback(&[], &r.body)
        .expect("verified webhook")
}

/// Runs the dispatcher until nothing more is due now; returns the acknowledged count.
async fn dispatch_all(s: &TestServer) -> usize {
    let mut acknowledged = 0;
    for _ in 0..10 {
        let report = s.dispatch().await;
        if report.attempted == 0 {
            break;
        }
        acknowledged += report.acknowledged;
    }
    acknowledged
}

/// Token, one payer, one order.
async fn setup(
    s: &TestServer,
    client: &Client,
    sn: &str,
    amount: &str,
) -> (String, CreateOrderData) {
    let token = client.token().await.expect("token").token;
    let email = format!("{}@example.com", sn.to_lowercase());
    let p = client
        .create_payer(&token, &payer(&email))
        .await
        .expect("payer");
    assert!(p.signature_valid);
    let payer_id = p.result.expect("payer").payer_id;
    let created = client
        .create_order(&token, &order(sn, payer_id, amount))
        .await
        .expect("order");
    assert!(created.signature_valid);
    let data = created.result.expect("created");
    assert!(
        data.payment_link
            .starts_with(&format!("{}/cashier/", s.base_url)),
        "{}",
        data.payment_link
    );
    (token, data)
}

async fn outcome(client: &Client, token: &str, sn: &str) -> OrderStatus {
    let q = client.query_order(token, &by_sn(sn)).await.expect("query");
    assert!(q.signature_valid);
    q.result.expect("outcome").outcome
}

/// A refund of order `sn` is accepted (signed answer) and completes at once (sandbox, no delay).
async fn refund_completes(client: &Client, token: &str, sn: &str) {
    let refund = client
        .refund_order(token, &by_sn(sn))
        .await
        .expect("refund");
    assert!(refund.signature_valid);
    assert_eq!(
        refund.result.expect("refund").message,
        "Refund request submitted"
    );
    assert_eq!(
        outcome(client, token, sn).await,
        OrderStatus::RefundCompleted
    );
}

/// A merchant registers its own RSA public key (§3.2), as a gateway's merchants must: requests
/// signed with the new private key pass and those signed with the old one are refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_registers_its_own_public_key() {
    let s = TestServer::start().await;
    let old = merchant_client(&s);
    let token = old.token().await.expect("token").token;
    let fresh = RsaPrivateKey::generate().expect("key");
    let path = format!("merchants/{}/public-key/fintech33", s.merchant.id);
    // SPKI PEM in and stored.
    let spki = fresh.public_key().to_spki_pem();
    let (status, body) = s.admin_put(&path, json!({ "publicKey": spki })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["publicKey"], spki.as_str());

    let refused = old
        .create_payer(&token, &payer("old@example.com"))
        .await
        .expect_err("signed with the old key");
    assert!(refused.to_string().contains("4002"), "{refused}");
    let new = client_signing_with(&s, fresh);
    let p = new
        .create_payer(&token, &payer("new@example.com"))
        .await
        .expect("signed with the registered key");
    assert!(p.signature_valid && p.result.is_ok());

    for (path, key, why) in [
        (path.as_str(), "not a key", "not a usable RSA public key"),
        (
            &format!("merchants/{}/public-key/v2sha256", s.merchant.id),
            spki.as_str(),
            "v2sha256 takes no public key",
        ),
        (
            "merchants/mch_nobody/public-key/fintech33",
            spki.as_str(),
            "merchant not found",
        ),
    ] {
        let (status, body) = s.admin_put(path, json!({ "publicKey": key })).await;
        assert!(status == 400 || status == 404, "{path}: {status} {body}");
        assert!(body["error"].as_str().unwrap().contains(why), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn housekeeping_deletes_tokens_once_their_two_hours_are_over() {
    let s = TestServer::start().await;
    let client = merchant_client(&s);
    client.token().await.expect("token");
    s.housekeep().await;
    s.clock().advance(7_200_000 + 1_000);
    s.housekeep().await;
    let left = polypay_fintech33::server::purge_expired_tokens(s.engine()).await;
    assert_eq!(
        left.expect("purge"),
        0,
        "housekeeping left an expired token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_on_the_cashier_notified_and_refunded() {
    for db in TestDb::all() {
        let s = TestServer::start_on(db, Default::default()).await;
        let hook = Receiver::start(200, r#"{"code":0}"#).await;
        register_webhook(&s, &hook).await;
        let client = merchant_client(&s);
        let (token, data) = setup(&s, &client, "E2E-1", "999.33").await;
        assert_eq!(data.status, OrderStatus::New);

        let paid = act_on_cashier(&data.payment_link, "pay").await;
        assert!(!paid.status().is_server_error(), "{}", paid.status());
        assert_eq!(outcome(&client, &token, "E2E-1").await, OrderStatus::Paid);
        assert_eq!(dispatch_all(&s).await, 2);
        let sent: Vec<_> = hook.requests().iter().map(|r| verify(&client, r)).collect();
        let statuses: Vec<_> = sent.iter().map(|n| n.status).collect();
        assert_eq!(statuses, [OrderStatus::Processing, OrderStatus::Paid]);
        let paid = &sent[1];
        assert_eq!(
            (
                paid.order_sn.as_str(),
                paid.link_id.as_str(),
                paid.amount.to_string()
            ),
            ("E2E-1", data.link_id.as_str(), "999.33".to_owned())
        );
        assert_eq!(
            (paid.payer_email.as_str(), paid.region.as_str()),
            ("e2e-1@example.com", "HKG")
        );
        assert_eq!(paid.link_expiry, data.link_expiry);
        assert!(paid.platform_order_sn.starts_with("SS") && paid.platform_order_sn.len() == 21);

        // Duplicate order_sn: refused, nothing new written.
        let again = client
            .create_order(&token, &order("E2E-1", 10001, "1"))
            .await
            .expect("duplicate");
        let failure = again.result.expect_err("duplicate refused");
        assert_eq!(failure.error_code, "DUPLICATE_ORDER");
        assert_eq!(s.payment(&data.link_id).await.amount.minor, 99933);

        // Sandbox refund with no delay: accepted, completed at once, two webhooks in order.
        refund_completes(&client, &token, "E2E-1").await;
        assert_eq!(dispatch_all(&s).await, 2);
        let statuses: Vec<_> = hook.requests()[2..]
            .iter()
            .map(|r| verify(&client, r).status)
            .collect();
        assert_eq!(
            statuses,
            [OrderStatus::RefundRequest, OrderStatus::RefundCompleted]
        );
        let balances = s.engine().balances(&s.merchant.id).await.expect("balances");
        assert!(balances.iter().all(|b| b.minor == 0), "{balances:?}");
        let twice = client
            .refund_order(&token, &by_sn("E2E-1"))
            .await
            .expect("refund");
        assert_eq!(
            twice.result.expect_err("refused").error_code,
            "ORDER_STATUS_ERROR"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_failures_expiry_and_amount_rules_are_notified() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, r#"{"code":"0"}"#).await;
    register_webhook(&s, &hook).await;
    let client = merchant_client(&s);

    // Forced failure through the sandbox control API (by linkID).
    let (token, failed) = setup(&s, &client, "E2E-F", "20").await;
    let (status, _) = s
        .sandbox(&format!("payments/{}/fail", failed.link_id), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(outcome(&client, &token, "E2E-F").await, OrderStatus::Failed);
    assert_eq!(dispatch_all(&s).await, 1);
    let n = verify(&client, &hook.requests()[0]);
    assert_eq!((n.status, n.fail_times), (OrderStatus::Failed, 1));

    // Amount rule .01: declined at creation; the create answer says so.
    let (token, declined) = setup(&s, &client, "E2E-D", "5.01").await;
    assert_eq!(declined.status, OrderStatus::Failed);
    assert_eq!(outcome(&client, &token, "E2E-D").await, OrderStatus::Failed);
    assert_eq!(dispatch_all(&s).await, 1);

    // Unpaid links expire after 15 minutes.
    let (token, _) = setup(&s, &client, "E2E-X", "7").await;
    s.clock().advance(15 * 60 * 1000 + 1);
    s.sweep().await;
    assert_eq!(
        outcome(&client, &token, "E2E-X").await,
        OrderStatus::Expired
    );
    assert_eq!(dispatch_all(&s).await, 1);
    let last = hook.requests().last().cloned().expect("expiry webhook");
    assert_eq!(verify(&client, &last).status, OrderStatus::Expired);
}

#[tokio::test(flavor = "multi_thread")]
async fn unacknowledged_webhooks_are_retried_with_identical_bytes() {
    let s = TestServer::start().await;
    // The HTTP status is ignored; only {"code":0} acknowledges.
    let hook = Receiver::start(200, r#"{"code":1,"msg":"busy"}"#).await;
    register_webhook(&s, &hook).await;
    let client = merchant_client(&s);
    let (_, data) = setup(&s, &client, "E2E-R", "3").await;
    let (status, _) = s
        .sandbox(&format!("payments/{}/cancel", data.link_id), json!({}))
        .await;
    assert_eq!(status, 200);

    let report = s.dispatch().await;
    assert_eq!((report.attempted, report.failed), (1, 1), "{report:?}");
    hook.reply_with(500, r#"{"code":0}"#);
    assert_eq!(s.dispatch().await.attempted, 0, "the retry waits a minute");
    s.clock().advance(60_000);
    let report = s.dispatch().await;
    assert_eq!(report.acknowledged, 1, "{report:?}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(verify(&client, &requests[1]).status, OrderStatus::Cancelled);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_app_answers_the_protocol_envelopes() {
    let s = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", s.base_url);
    let r = http.get(url("/api/v2/pay")).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 405);
    let r = http
        .post(url("/api/v2/pay"))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"statusCode":401,"message":"missing bearer token"}"#
    );
    let r = http
        .post(url("/api/v2/auth/token"))
        .body("not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"statusCode":400,"message":"invalid request body"}"#
    );
    let r = http
        .post(url("/api/v2/pay"))
        .bearer_auth("nope")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"statusCode":401,"message":"invalid or expired token"}"#
    );
    let token = merchant_client(&s).token().await.expect("token").token;
    let r = http
        .post(url("/api/v2/pay"))
        .bearer_auth(&token)
        .body(r#"{"service":"createOrder"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"statusCode":4000,"message":"invalid request body"}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_without_skip3ds_is_paid_after_the_card_form_and_3_d_secure() {
    let s = TestServer::start().await;
    let client = merchant_client(&s);
    let token = client.token().await.expect("token").token;
    let p = client
        .create_payer(&token, &payer("tds@example.com"))
        .await
        .expect("payer");
    let payer_id = p.result.expect("payer").payer_id;
    let order = CreateOrder {
        skip3ds: false,
        ..order("TDS-1", payer_id, "10.00")
    };
    let created = client.create_order(&token, &order).await.expect("order");
    let link = created.result.expect("created").payment_link;

    let customer = Customer::open(&link).await;
    for needle in ["name=\"card_number\"", "id=\"continue\"", "id=\"cancel\""] {
        assert!(
            customer.html.contains(needle),
            "lacks {needle}: {}",
            customer.html
        );
    }
    assert!(
        !customer.html.contains("id=\"pay\""),
        "3-D Secure comes first"
    );
    let bad_card = customer
        .press("continue", &[("card_number", "4242 4242 4242 4241")])
        .await;
    assert_eq!(bad_card.status(), 422);
    let html = bad_card.text().await.expect("page");
    assert!(html.contains("Enter a valid card number.") && html.contains("4242 4242 4242 4241"));

    let step = customer.press("continue", &[]).await;
    assert_eq!(step.status(), 200);
    let html = step.text().await.expect("page");
    assert!(
        html.contains("3-D Secure") && html.contains("name=\"otp\""),
        "{html}"
    );
    assert!(
        html.contains("type=\"hidden\" name=\"card_number\""),
        "the card rides along"
    );
    // Pay without the code (a test posting straight to /pay too) is refused on the step's page.
    let refused = customer.press("pay", &[]).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("page");
    assert!(html.contains("Enter the 6-digit verification code.") && html.contains("name=\"otp\""));
    assert_eq!(
        outcome(&client, &token, "TDS-1").await,
        OrderStatus::Processing
    );

    let paid = customer.press("pay", &[("otp", "123456")]).await;
    assert!(paid.status().is_redirection(), "{}", paid.status());
    assert_eq!(outcome(&client, &token, "TDS-1").await, OrderStatus::Paid);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_delay_lets_the_control_api_fail_a_refund_before_it_completes() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, r#"{"code":0}"#).await;
    let url = format!("{}/fintech33/webhook", hook.url);
    s.set_protocol_settings(
        "fintech33",
        json!({"webhook_url": url, "refund_delay_ms": 5000}),
    )
    .await;
    let client = merchant_client(&s);
    let (token, data) = setup(&s, &client, "DELAY-1", "20.00").await;
    assert!(
        act_on_cashier(&data.payment_link, "pay")
            .await
            .status()
            .is_redirection()
    );
    let refund = || async {
        let r = client
            .refund_order(&token, &by_sn("DELAY-1"))
            .await
            .expect("refund");
        r.result.expect("accepted");
    };
    refund().await;
    assert_eq!(
        outcome(&client, &token, "DELAY-1").await,
        OrderStatus::RefundRequest
    );
    let first = format!("refunds/{}%231/fail", data.link_id);
    let (status, answer) = s.sandbox(&first, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        outcome(&client, &token, "DELAY-1").await,
        OrderStatus::RefundFailed
    );

    refund().await;
    s.sweep().await;
    assert_eq!(
        outcome(&client, &token, "DELAY-1").await,
        OrderStatus::RefundRequest
    );
    s.clock().advance(5_000);
    s.sweep().await;
    assert_eq!(
        outcome(&client, &token, "DELAY-1").await,
        OrderStatus::RefundCompleted
    );
    dispatch_all(&s).await;
    let statuses: Vec<_> = hook
        .requests()
        .iter()
        .map(|r| verify(&client, r).status)
        .collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::Processing,
            OrderStatus::Paid,
            OrderStatus::RefundRequest,
            OrderStatus::RefundFailed,
            OrderStatus::RefundRequest,
            OrderStatus::RefundCompleted,
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_fee_must_be_covered_by_the_balance_and_is_debited_with_the_amount() {
    let s = TestServer::start().await;
    let path = format!("merchants/{}/settings/fintech33", s.merchant.id);
    let (status, answer) = s.admin_put(&path, json!({"refund_fee": "1.505"})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("refund_fee"), "{answer}");
    s.set_protocol_settings("fintech33", json!({"refund_fee": "1.50"}))
        .await;
    let client = merchant_client(&s);
    let balance = || async { s.engine().balances(&s.merchant.id).await.unwrap()[0].minor };
    let (token, first) = setup(&s, &client, "FEE-1", "20.00").await;
    assert!(
        act_on_cashier(&first.payment_link, "pay")
            .await
            .status()
            .is_redirection()
    );
    assert_eq!(balance().await, 2000);

    // 20.00 covers the amount but not the 1.50 fee as well.
    let refused = client
        .refund_order(&token, &by_sn("FEE-1"))
        .await
        .expect("answer");
    let failure = refused.result.expect_err("refused");
    assert_eq!(failure.error_code, "INSUFFICIENT_BALANCE");
    assert_eq!(balance().await, 2000);
    assert_eq!(outcome(&client, &token, "FEE-1").await, OrderStatus::Paid);

    let (_, second) = setup(&s, &client, "FEE-2", "5.00").await;
    assert!(
        act_on_cashier(&second.payment_link, "pay")
            .await
            .status()
            .is_redirection()
    );
    let accepted = client
        .refund_order(&token, &by_sn("FEE-1"))
        .await
        .expect("answer");
    accepted.result.expect("accepted");
    assert_eq!(balance().await, 2500 - 2000 - 150);
    assert_eq!(
        outcome(&client, &token, "FEE-1").await,
        OrderStatus::RefundCompleted
    );
}

/// polypay numbers a 33 Fintech refund `<order_sn>#<n>`, and merchant numbers are unique
/// across the merchant's protocols: a PassToPay refund the merchant numbered so does not block
/// the order's refund, which takes the next free number.
#[tokio::test(flavor = "multi_thread")]
async fn another_protocols_refund_numbered_like_ours_does_not_block_a_refund() {
    for db in TestDb::all() {
        let s = TestServer::start_on(db, Default::default()).await;
        let client = merchant_client(&s);
        let (token, data) = setup(&s, &client, "N-1", "10.00").await;
        let paid = act_on_cashier(&data.payment_link, "pay").await;
        assert!(!paid.status().is_server_error(), "{}", paid.status());

        let other = polypay_engine::NewPayment {
            merchant_id: s.merchant.id.clone(),
            protocol: polypay_core::Protocol::Passtopay,
            merchant_order_no: "P-1".into(),
            public_id: "P1000000000000000777".into(),
            amount: polypay_core::Money::new(2000, polypay_core::Currency::CNY),
            notify_url: None,
            return_url: None,
            ttl_seconds: 900,
            initial_state: polypay_core::PaymentState::Created,
            attrs: json!({"wayCode": "ALI_QR"}),
        };
        let other = s.engine().create_payment(other).await.unwrap();
        let succeed = polypay_core::PaymentCommand::Succeed {
            channel_order_no: "CH-1".into(),
        };
        s.engine()
            .transition_payment(&other.id, succeed)
            .await
            .unwrap();
        let taken = polypay_engine::refund::NewRefund {
            payment_id: other.id.clone(),
            protocol: polypay_core::Protocol::Passtopay,
            merchant_refund_no: "N-1#1".into(),
            public_id: "R1000000000000000777".into(),
            amount: polypay_core::Money::new(100, polypay_core::Currency::CNY),
            reason: None,
            notify_url: None,
            exclusive: true,
            fee_minor: 0,
            settle_after_ms: None,
            attrs: json!({}),
        };
        s.engine()
            .create_refund(taken)
            .await
            .expect("PassToPay refund");

        refund_completes(&client, &token, "N-1").await;
        let ours = s.payment(&data.link_id).await;
        let refunds = s.engine().refunds_of_payment(&ours.id).await.unwrap();
        let numbers: Vec<_> = refunds
            .iter()
            .map(|r| (r.merchant_refund_no.as_str(), r.public_id.clone()))
            .collect();
        assert_eq!(numbers, [("N-1#1.2", format!("{}#1", data.link_id))]);
    }
}

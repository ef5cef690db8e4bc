//! PassToPay end to end: the full node (router, cashier, sandbox, dispatcher) driven by the
//! phase-1 merchant SDK — create, open the PassToPay cashier link, pay, the signed return
//! redirect, the one payment notification delivered and verified, refunds, transfers completed
//! by the sandbox processor, retries with identical bytes, merchant close (silent), sandbox
//! declines and expiry.

use polypay_passtopay::client::ClientError;
use polypay_passtopay::notify::CallbackData;
use polypay_passtopay::wire::*;
use polypay_passtopay::{AppSecret, Client, Credentials};
use polypay_server::testing::{Customer, Received, Receiver, TestServer};

fn merchant_client(s: &TestServer) -> Client {
    let c = s.credentials_of("passtopay");
    let text = |k: &str| c[k].as_str().expect(k).to_owned();
    Client::new(
        s.base_url.clone(),
        Credentials::new(
            text("mchNo"),
            text("appId"),
            AppSecret::new(text("appSecret")),
        ),
    )
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Follows the PassToPay cashier link (`/passtopay/cashier?payOrderToken=…`) to the hosted page.
async fn hosted_cashier(pay_data: &str) -> String {
    let r = browser().get(pay_data).send().await.expect("cashier link");
    assert_eq!(r.status(), 302, "{pay_data}");
    r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// Opens the hosted cashier page and presses `action`, as a customer would; returns the
/// response to the form (a redirect).
async fn act_on_cashier(cashier_url: &str, action: &str) -> reqwest::Response {
    Customer::open(cashier_url).await.press(action, &[]).await
}

fn unified(no: &str, amount: i64, hook: &Receiver) -> UnifiedOrderParams {
    UnifiedOrderParams {
        mch_order_no: no.into(),
        way_code: "ALI_QR".into(),
        amount,
        currency: "cny".into(),
        subject: "商品".into(),
        body: "0".into(),
        client_ip: "210.73.10.148".into(),
        cust_no: "C200492312".into(),
        register_time: 1_622_016_572_190,
        user_name: None,
        mbr_tel: None,
        id_no: None,
        notify_url: Some(format!("{}/notify", hook.url)),
        return_url: Some(format!("{}/return?from=shop", hook.url)),
        expired_time: None,
        channel_extra: None,
        ext_param: Some("e2e".into()),
    }
}

/// Verifies a received notification with the merchant-side SDK.
fn verify(client: &Client, r: &Received) -> Result<CallbackData, ClientError> {
    let query = r.uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    let headers: Vec<(&str, &str)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    client.verify_callback(query, &headers, &r.body)
}

fn payment_of(data: CallbackData) -> PaymentNotification {
    match data {
        CallbackData::Payment(n) => n,
        other => panic!("expected a payment notification, got {other:?}"),
    }
}

#[tokio::test]
async fn pay_on_cashier_redirect_notify_and_query() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "SUCCESS").await;
    let client = merchant_client(&s);
    let created = client
        .create_unified_order(&unified("E1", 1000, &hook))
        .await
        .expect("create");
    assert!(created.signature_verified);
    assert_eq!(created.data.order_state, 1);
    let pay_data = created.data.pay_data.expect("payData");
    assert!(pay_data.starts_with(&format!("{}/passtopay/cashier?payOrderToken=", s.base_url)));

    let cashier = hosted_cashier(&pay_data).await;
    let paid = act_on_cashier(&cashier, "pay").await;
    assert!(paid.status().is_redirection());
    let back = paid.headers()["location"].to_str().expect("location");
    assert!(
        back.starts_with(&format!("{}/return?from=shop&amount=1000&", hook.url)),
        "{back}"
    );
    let redirect = client.verify_redirect(back).expect("signed redirect");
    assert_eq!((redirect.order.state, redirect.order.amount), (2, 1000));

    let report = s.dispatch().await;
    assert_eq!(report.acknowledged, 1, "{report:?}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.uri.as_str()), ("POST", "/notify"));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let n = payment_of(verify(&client, r).expect("verified"));
    assert_eq!((n.order.state, n.order.mch_order_no.as_str()), (2, "E1"));
    assert_eq!(n.order.ext_param.as_deref(), Some("e2e"));
    let channel = n.order.channel_order_no.clone().expect("channelOrderNo");
    assert_eq!(channel.len(), 28, "yyyyMMdd + 20 digits: {channel}");

    // Acknowledged: nothing more is sent, ever, for this payment.
    s.clock().advance(200_000);
    assert_eq!(s.dispatch().await.attempted, 0);

    let q = client
        .query_payment(&PayOrderRef::MchOrderNo("E1".into()))
        .await
        .expect("query");
    assert!(q.signature_verified);
    assert_eq!((q.data.state, q.data.channel_order_no), (2, Some(channel)));
}

/// `callback_retention_days` (90 by default): housekeeping deletes an acknowledged callback's
/// delivery, attempts and event once it finished that long ago, and the events PassToPay never
/// sends (`payment.created`, …), which have no delivery, once they are that old; the payment
/// stays.
#[tokio::test]
async fn callback_history_goes_after_its_retention_and_the_payment_stays() {
    let s = TestServer::start().await;
    assert_eq!(s.state.config().callback_retention_days, 90);
    let hook = Receiver::start(200, "SUCCESS").await;
    let client = merchant_client(&s);
    let created = client
        .create_unified_order(&unified("R1", 1000, &hook))
        .await
        .expect("create");
    let cashier = hosted_cashier(&created.data.pay_data.expect("payData")).await;
    act_on_cashier(&cashier, "pay").await;
    assert_eq!(s.dispatch().await.acknowledged, 1);
    let history = || async {
        let store = s.engine().store();
        let filter = polypay_store::DeliveryFilter {
            limit: 10,
            ..Default::default()
        };
        let deliveries = store.read(move |db| db.deliveries(&filter)).await.unwrap();
        let pay_id = s.payment(&created.data.pay_order_id).await.id.to_string();
        let events = store
            .read(move |db| db.outbox_of_object(&pay_id))
            .await
            .unwrap();
        (deliveries.len(), events.len())
    };
    let kept = history().await;
    assert!(
        kept.0 == 1 && kept.1 >= 2,
        "one delivery (payment.succeeded), and the silent events without one: {kept:?}"
    );
    // A running node's dispatcher moves the ingestion cursor past the events meanwhile;
    // retention never removes an event the cursor has not passed.
    s.clock().advance(89 * 86_400_000);
    s.dispatch().await;
    s.housekeep().await;
    assert_eq!(history().await, kept, "89 days: kept");
    s.clock().advance(2 * 86_400_000);
    s.housekeep().await;
    assert_eq!(history().await, (0, 0), "91 days: gone");
    let q = client
        .query_payment(&PayOrderRef::MchOrderNo("R1".into()))
        .await
        .expect("query");
    assert_eq!(q.data.state, 2, "the payment stays");
}

#[tokio::test]
async fn refund_and_transfer_notify() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "success").await;
    let client = merchant_client(&s);
    let created = client
        .create_unified_order(&unified("E2", 5000, &hook))
        .await
        .expect("create");
    let (status, _) = s
        .sandbox(
            &format!("payments/{}/succeed", created.data.pay_order_id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);
    s.dispatch().await;
    assert_eq!(hook.requests().len(), 1);

    let refund = RefundOrderParams {
        mch_refund_no: "RF-E2".into(),
        refund_amount: 5000,
        currency: "cny".into(),
        refund_reason: "returned".into(),
        client_ip: None,
        notify_url: Some(format!("{}/refund", hook.url)),
        channel_extra: None,
        ext_param: None,
    };
    let by_no = PayOrderRef::MchOrderNo("E2".into());
    let r = client.refund(&by_no, &refund).await.expect("refund");
    assert_eq!(r.data.state, 2, "sandbox refunds complete at once");
    assert_eq!(s.dispatch().await.acknowledged, 1);
    let requests = hook.requests();
    assert_eq!(
        requests.len(),
        2,
        "the refund notifies; the payment is not re-notified"
    );
    match verify(&client, &requests[1]).expect("verified") {
        CallbackData::Refund(n) => {
            assert_eq!((n.refund.state, n.refund.refund_amount), (2, 5000));
            assert_eq!(n.refund.pay_order_id, created.data.pay_order_id);
        }
        other => panic!("expected a refund notification, got {other:?}"),
    }
    let q = client.query_payment(&by_no).await.expect("query");
    assert_eq!(q.data.state, 5);

    // Refunded to zero: pay again to fund a transfer.
    let more = client
        .create_unified_order(&unified("E3", 3000, &hook))
        .await
        .expect("create");
    s.sandbox(
        &format!("payments/{}/succeed", more.data.pay_order_id),
        serde_json::json!({}),
    )
    .await;
    let transfer = TransferOrderParams {
        mch_order_no: "T-E2".into(),
        entry_type: "BANK_CARD".into(),
        amount: 2000,
        currency: "cny".into(),
        account_no: "6222021234567890123".into(),
        account_name: Some("张三".into()),
        bank_name: None,
        client_ip: "210.73.10.148".into(),
        transfer_desc: "0".into(),
        cust_no: "C1".into(),
        notify_url: Some(format!("{}/transfer", hook.url)),
        channel_extra: None,
        extra_param: Some("x".into()),
    };
    let t = client.transfer(&transfer).await.expect("transfer");
    assert_eq!(t.data.state, 1);
    s.dispatch().await;
    let before = hook.requests().len();
    s.clock().advance(s.state.config().payout_delay_ms + 1);
    s.sweep().await;
    s.dispatch().await;
    let requests = hook.requests();
    assert_eq!(requests.len(), before + 1);
    let last = requests.last().expect("transfer notification");
    assert_eq!(last.uri, "/transfer");
    match verify(&client, last).expect("verified") {
        CallbackData::Transfer(n) => {
            assert_eq!((n.transfer.state, n.transfer.amount), (2, 2000));
            assert!(n.transfer.channel_order_no.is_some());
        }
        other => panic!("expected a transfer notification, got {other:?}"),
    }
    let q = client
        .query_transfer(&TransferRef::MchOrderNo("T-E2".into()))
        .await
        .expect("query");
    assert_eq!(q.data.state, 2);
}

#[tokio::test]
async fn retries_resend_identical_bytes_in_the_query_format() {
    let s = TestServer::start().await;
    s.set_protocol_settings("passtopay", serde_json::json!({"notify_format": "query"}))
        .await;
    let hook = Receiver::start(200, "success\n").await;
    let client = merchant_client(&s);
    let created = client
        .create_unified_order(&unified("E4", 1000, &hook))
        .await
        .expect("create");
    s.sandbox(
        &format!("payments/{}/succeed", created.data.pay_order_id),
        serde_json::json!({}),
    )
    .await;
    let first = s.dispatch().await;
    assert_eq!(
        (first.attempted, first.acknowledged),
        (1, 0),
        "untrimmed ack"
    );
    s.clock().advance(29_000);
    assert_eq!(
        s.dispatch().await.attempted,
        0,
        "the next attempt is 30 s later"
    );
    hook.reply_with(200, "SUCCESS");
    s.clock().advance(1_500);
    assert_eq!(s.dispatch().await.acknowledged, 1);
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].uri, requests[1].uri, "same reqTime and sign");
    assert!(requests[0].body.is_empty());
    assert!(requests[0].uri.starts_with("/notify?amount=1000&"));
    let n = payment_of(verify(&client, &requests[1]).expect("verified"));
    assert_eq!(n.order.state, 2);
}

#[tokio::test]
async fn merchant_close_is_silent_decline_and_expiry_notify() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "success").await;
    let client = merchant_client(&s);

    client
        .create_unified_order(&unified("C1", 1000, &hook))
        .await
        .expect("create");
    let closed = client
        .close_payment(&PayOrderRef::MchOrderNo("C1".into()))
        .await
        .expect("close");
    assert!(!closed.signature_verified, "empty data carries no sign");
    s.dispatch().await;
    assert!(
        hook.requests().is_empty(),
        "a merchant close is not notified"
    );

    // 10.01 CNY: the sandbox amount rule declines at creation, and that is notified.
    let declined = client
        .create_unified_order(&unified("C2", 1001, &hook))
        .await
        .expect("create");
    assert_eq!(declined.data.order_state, 3);
    assert_eq!(declined.data.err_code.as_deref(), Some("SANDBOX_DECLINED"));
    assert_eq!(declined.data.pay_data, None);
    s.dispatch().await;
    let n = payment_of(verify(&client, &hook.requests()[0]).expect("verified"));
    assert_eq!((n.order.state, n.order.mch_order_no.as_str()), (3, "C2"));

    let mut short = unified("C3", 1000, &hook);
    short.expired_time = Some(60);
    client.create_unified_order(&short).await.expect("create");
    s.clock().advance(61_000);
    s.sweep().await;
    s.dispatch().await;
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    let n = payment_of(verify(&client, &requests[1]).expect("verified"));
    assert_eq!((n.order.state, n.order.mch_order_no.as_str()), (6, "C3"));
}

#[tokio::test]
async fn cashier_order_opens_to_pending_and_its_qr_is_of_pay_data() {
    let s = TestServer::start().await;
    let client = merchant_client(&s);
    let order = cashier_order("K1", None, None);
    let created = client.create_cashier_order(&order).await.expect("create");
    assert_eq!(created.data.order_state, 0);
    assert_eq!(created.data.pay_data_type.as_deref(), Some("payurl"));
    let pay_data = created.data.pay_data.expect("payData");
    let cashier = hosted_cashier(&pay_data).await;
    let page = browser().get(&cashier).send().await.expect("open");
    assert_eq!(page.status(), 200);
    let by_no = PayOrderRef::MchOrderNo("K1".into());
    let q = client.query_payment(&by_no).await.expect("query");
    assert_eq!(q.data.state, 1, "opening the cashier moves 0 → 1");
    assert_eq!(q.data.pay_url.as_deref(), Some(pay_data.as_str()));

    let token = pay_data.rsplit('=').next().expect("token");
    let qr = browser()
        .get(format!("{}/passtopay/qr/{token}.png", s.base_url))
        .send()
        .await
        .expect("qr");
    assert_eq!(qr.status(), 200);
    assert_eq!(qr.headers()["content-type"], "image/png");
    let image = qr.bytes().await.expect("png");
    assert_eq!(
        Some(image.to_vec()),
        polypay_engine::qr::png(&pay_data),
        "a QR of payData"
    );
}

fn cashier_order(
    no: &str,
    way_code: Option<&str>,
    return_url: Option<String>,
) -> CashierOrderParams {
    CashierOrderParams {
        mch_order_no: no.into(),
        amount: 1234,
        currency: "cny".into(),
        cust_no: "C1".into(),
        register_time: 1_622_016_572_190,
        way_code: way_code.map(str::to_owned),
        user_name: None,
        mbr_tel: None,
        id_no: None,
        notify_url: None,
        return_url,
        expired_time: None,
        ext_param: None,
        subject: None,
        body: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_customer_chooses_the_method_of_an_unpinned_cashier_order() {
    let s = TestServer::start().await;
    let client = merchant_client(&s);
    let created = client
        .create_cashier_order(&cashier_order(
            "M1",
            None,
            Some("https://m.example/back".into()),
        ))
        .await
        .expect("create");
    let page = hosted_cashier(&created.data.pay_data.expect("payData")).await;
    let customer = Customer::open(&page).await;
    assert!(
        customer.html.contains("value=\"ALI_QR\" required checked")
            && customer.html.contains("value=\"ALI_WAP\" required>"),
        "both methods offered, Alipay QR preselected: {}",
        customer.html
    );
    let refused = customer.press("pay", &[("wayCode", "WX_NATIVE")]).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("page");
    assert!(
        html.contains("Choose Alipay QR or Alipay (mobile)."),
        "{html}"
    );
    let by_no = PayOrderRef::MchOrderNo("M1".into());
    assert_eq!(
        client
            .query_payment(&by_no)
            .await
            .expect("query")
            .data
            .state,
        1
    );

    let paid = customer.press("pay", &[("wayCode", "ALI_WAP")]).await;
    assert_eq!(paid.status(), 302);
    let back = paid.headers()["location"].to_str().expect("location");
    assert!(
        back.contains("wayCode=ALI_WAP"),
        "the return redirect: {back}"
    );
    let q = client.query_payment(&by_no).await.expect("query");
    assert_eq!(
        (q.data.state, q.data.way_code.as_deref()),
        (2, Some("ALI_WAP"))
    );

    // Pinned by the merchant: nothing to choose, and the pin is what is reported.
    let pinned = client
        .create_cashier_order(&cashier_order("M2", Some("ALI_WAP"), None))
        .await
        .expect("create");
    let page = hosted_cashier(&pinned.data.pay_data.expect("payData")).await;
    let customer = Customer::open(&page).await;
    assert!(
        !customer.html.contains("name=\"wayCode\""),
        "{}",
        customer.html
    );
    assert!(customer.press("pay", &[]).await.status().is_redirection());
    let q = client
        .query_payment(&PayOrderRef::MchOrderNo("M2".into()))
        .await
        .expect("query");
    assert_eq!(q.data.way_code.as_deref(), Some("ALI_WAP"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crypto_order_shows_its_chain_token_and_deposit_address() {
    let s = TestServer::start().await;
    let client = merchant_client(&s);
    let order = CryptoOrderParams {
        mch_order_no: "CR1".into(),
        amount: 10031,
        currency: "USDT".into(),
        chain: "0x2b6653dc".into(),
        subject: "goods".into(),
        body: "b".into(),
        client_ip: "203.0.113.9".into(),
        cust_no: "C1".into(),
        register_time: 1_622_016_572_190,
        way_code: None,
        user_name: None,
        mbr_tel: None,
        id_no: None,
        notify_url: None,
        return_url: None,
        expired_time: None,
        ext_param: None,
    };
    let created = client.create_crypto_order(&order).await.expect("create");
    let page = hosted_cashier(&created.data.pay_data.expect("payData")).await;
    let first = Customer::open(&page).await;
    let address = |html: &str| {
        let at = html
            .find("<dt>Deposit address</dt><dd>")
            .expect("address row")
            + 28;
        html[at..at + 34].to_owned()
    };
    assert!(
        first
            .html
            .contains("<dt>Chain</dt><dd>Tron</dd><dt>Token</dt><dd>USDT</dd>")
    );
    let shown = address(&first.html);
    assert!(polypay_engine::chain::is_tron_address(&shown), "{shown}");
    assert_eq!(
        address(&Customer::open(&page).await.html),
        shown,
        "the same on every visit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_merchant_is_refused_in_the_protocols_envelope_until_enabled_again() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "SUCCESS").await;
    let client = merchant_client(&s);
    let path = format!("merchants/{}", s.merchant.id);
    let (status, body) = s
        .admin_patch(&path, serde_json::json!({"enabled": false}))
        .await;
    assert_eq!(
        (status, &body["enabled"]),
        (200, &serde_json::json!(false)),
        "{body}"
    );

    // The node's one-second merchant cache was cleared by the update (same node).
    match client
        .create_unified_order(&unified("OFF-1", 1000, &hook))
        .await
    {
        Err(ClientError::Api { code, msg, .. }) => assert_eq!(code, 9999, "{msg}"),
        other => panic!("a disabled merchant's order went through: {other:?}"),
    }
    let (status, _) = s
        .admin_patch(&path, serde_json::json!({"enabled": true}))
        .await;
    assert_eq!(status, 200);
    let created = client
        .create_unified_order(&unified("ON-1", 1000, &hook))
        .await
        .expect("enabled again");
    assert_eq!(created.data.order_state, 1);

    // Name and default notify URL, checked as at creation; null removes the URL.
    let change = serde_json::json!({"name": " Shop 2 ", "notify_url": "https://shop.example/cb"});
    let (status, body) = s.admin_patch(&path, change).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["name"].as_str(), body["notify_url"].as_str()),
        (Some("Shop 2"), Some("https://shop.example/cb"))
    );
    let (_, body) = s
        .admin_patch(&path, serde_json::json!({"notify_url": null}))
        .await;
    assert!(body["notify_url"].is_null(), "{body}");
    for (bad, why) in [
        (
            serde_json::json!({"notify_url": "ftp://x"}),
            "notify_url must be an http",
        ),
        (
            serde_json::json!({"enabled": "no"}),
            "enabled must be true or false",
        ),
        (
            serde_json::json!({"colour": "red"}),
            "unknown field \"colour\"",
        ),
        (serde_json::json!({}), "nothing to change"),
    ] {
        let (status, body) = s.admin_patch(&path, bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["error"].as_str().unwrap().contains(why), "{body}");
    }
    let stored = s.engine().merchant(&s.merchant.id).await.unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.enabled),
        ("Shop 2", true),
        "refusals changed nothing"
    );
    let (status, _) = s
        .admin_patch(
            "merchants/mch_nobody",
            serde_json::json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, 404);
}

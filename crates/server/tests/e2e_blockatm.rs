//! BlockATM end to end on a whole node: the merchant SDK creates and queries orders and payouts,
//! the customer goes through the cashier link and the hosted page, the sandbox pays, the
//! dispatcher delivers signed webhooks to a local receiver, and the SDK verifies them.

use polypay_blockatm::client::{
    CallbackEvent, Client, ClientCredentials, PreparedRequest, parse_redirect, parse_response,
};
use polypay_blockatm::sign::{EcPublicKey, EcSigningKey, Scheme};
use polypay_blockatm::wire::{
    CreateOrderRequest, CreatePayoutRequest, PaymentStatus, RedirectStatus,
};
use polypay_core::{Clock, PaymentState, PayoutState};
use polypay_engine::chain::is_evm_address;
use polypay_server::testing::{Customer, Received, Receiver, TestServer};
use serde::de::DeserializeOwned;
use serde_json::json;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The SDK configured from the credentials JSON `polypay merchant create --json` prints.
fn sdk(s: &TestServer, v1: bool) -> Client {
    let c = s.credentials_of("blockatm");
    let text = |name: &str| c[name].as_str().unwrap().to_owned();
    let platform = &s.state.inner.platform.ec_key.public_pem;
    let credentials = ClientCredentials {
        api_key: text("apiKey"),
        secret_key: text("secretKey"),
        ec_private_key: v1.then(|| EcSigningKey::parse(&text("ecPrivateKey")).unwrap()),
        platform_public_key: Some(EcPublicKey::parse(platform).unwrap()),
    };
    Client::new(&s.base_url, credentials, no_redirects())
}

fn order(order_no: &str, amount: &str, redirect: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_no: order_no.into(),
        amount: amount.into(),
        symbol: "USDT".into(),
        chain_id: Some("ETH".into()),
        cashier_id: None,
        cust_no: Some("cust00001".into()),
        redirect_url: Some(redirect.into()),
    }
}

/// The merchant's clock: real time, which the node's time travel (`clock().advance`) does not
/// move, so requests signed with it pass the receive window after a jump too.
fn merchant_ms(s: &TestServer) -> u64 {
    s.clock().wall().millis() as u64
}

/// Sends a request the SDK prepared (signed with the merchant's clock) and reads the envelope.
async fn call<T: DeserializeOwned>(client: &Client, prepared: PreparedRequest) -> T {
    let out = client.outbound(prepared);
    let mut request = no_redirects().get(&out.url);
    for (name, value) in &out.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    parse_response::<T>(status, &bytes).unwrap().data
}

/// Delivers every due callback; the dispatcher keeps one object's events in order, so a
/// second event of an order goes out on the next pass.
async fn drain(s: &TestServer) {
    for _ in 0..10 {
        if s.dispatch().await.attempted == 0 {
            return;
        }
    }
}

fn webhooks(receiver: &Receiver, event: &str) -> Vec<Received> {
    receiver
        .requests()
        .into_iter()
        .filter(|r| r.header("BlockATM-Event") == Some(event))
        .collect()
}

/// Opens the hosted page (which marks the order pending) and presses a button.
async fn press(_s: &TestServer, pay_url: &str, action: &str) -> reqwest::Response {
    Customer::open(pay_url).await.press(action, &[]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_in_webhook_redirect_and_payout() {
    let s = TestServer::start().await;
    let hooks = Receiver::start(200, "ok").await;
    s.set_protocol_settings(
        "blockatm",
        json!({"payment_notify_url": format!("{}/blockatm", hooks.url)}),
    )
    .await;
    let client = sdk(&s, false);

    let created = client
        .create_order(&order(
            "E2E-1",
            "250",
            &format!("{}/return?o=E2E-1", hooks.url),
        ))
        .await
        .unwrap()
        .data;
    assert!(
        created
            .pay_url
            .starts_with(&format!("{}/cashier/", s.base_url))
    );
    assert!(created.qr_code.starts_with("data:image/png;base64,"));
    let err = client
        .create_order(&order("E2E-1", "1", "https://x.example"))
        .await;
    assert!(matches!(err, Err(polypay_blockatm::Error::Api { ref code, .. }) if code == "000106"));

    // The customer opens the hosted page (the order still WAITING_PAYMENT) and pays: the
    // transfer is seen (PENDING with its txId); SUCCESS follows the confirmation delay (§8).
    let customer = Customer::open(&created.pay_url).await;
    let status = || async { client.payment_detail("E2E-1").await.unwrap().data };
    assert_eq!(status().await.status, PaymentStatus::WaitingPayment);
    let paid = customer.press("pay", &[]).await;
    assert_eq!(paid.status(), 303, "back to the page, which waits");
    let waiting = Customer::open(&created.pay_url).await;
    assert!(waiting.html.contains("waiting for its confirmations"));
    assert!(
        waiting
            .html
            .contains("http-equiv=\"refresh\" content=\"3;url=")
    );
    let pending = status().await;
    assert_eq!(pending.status, PaymentStatus::Pending);
    let tx = pending.tx_id.clone().expect("the txId while pending");
    assert!(tx.starts_with("0x") && tx.len() == 66, "{tx}");
    // Pay again (the form sent twice): nothing is left to press, the transfer seen stays.
    let again = customer.press("pay", &[]).await;
    assert_eq!(again.status(), 303);
    let still = status().await;
    assert_eq!(
        (still.tx_id.as_deref(), &still.from_address),
        (Some(tx.as_str()), &pending.from_address)
    );
    assert!(
        pending
            .from_address
            .as_deref()
            .is_some_and(|a| a.len() == 42)
    );
    s.sweep().await;
    assert_eq!(
        status().await.status,
        PaymentStatus::Pending,
        "not before the delay"
    );
    s.clock().advance(5_000);
    s.sweep().await;
    // The waiting page reloads itself and is sent back with txId and status.
    let returned = no_redirects()
        .get(format!("{}/return", created.pay_url))
        .send()
        .await
        .unwrap();
    assert_eq!(returned.status(), 302);
    let back = returned.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{}/return?o=E2E-1&txId=0x", hooks.url)),
        "{back}"
    );
    let redirect = parse_redirect(&back).unwrap();
    assert_eq!(redirect.status, RedirectStatus::Success);
    assert_eq!(redirect.tx_id, tx);

    let detail = status().await;
    assert_eq!(detail.status, PaymentStatus::Success);
    assert_eq!(detail.tx_id.as_deref(), Some(tx.as_str()));
    // On the wire E2 and E3 give `chainId` as a string (spec 5), an EVM chain's number too.
    let prepared = client
        .build_payment_detail("E2E-1", merchant_ms(&s))
        .unwrap();
    let raw: serde_json::Value = call(&client, prepared).await;
    assert_eq!(raw["chainId"], "1", "{raw}");
    let filter = polypay_blockatm::client::PaymentListFilter {
        order_no: "E2E-1".into(),
        ..Default::default()
    };
    let prepared = client.build_payment_list(&filter, merchant_ms(&s)).unwrap();
    let raw: serde_json::Value = call(&client, prepared).await;
    assert_eq!(raw[0]["chainId"], "1", "{raw}");
    assert_eq!(detail.from_address, pending.from_address);
    // The console and admin API show the same transfer as the channel reference.
    let stored = s
        .engine()
        .payment_by_order_no(&s.merchant.id, "E2E-1")
        .await
        .unwrap();
    assert_eq!(stored.channel_order_no.as_deref(), Some(tx.as_str()));

    // Webhooks: PENDING (the transfer seen) and SUCCESS, both with its txId, verified by the SDK.
    drain(&s).await;
    let payments = webhooks(&hooks, "Payment");
    assert_eq!(payments.len(), 2, "{payments:?}");
    let mut states = Vec::new();
    for hook in &payments {
        assert_eq!(hook.uri, "/blockatm");
        let verified = client.verify_callback(&hook.headers, &hook.body).unwrap();
        assert_eq!(verified.scheme, Scheme::V2Hmac);
        let CallbackEvent::Payment(body) = verified.event else {
            panic!("payment webhook expected");
        };
        assert_eq!(body.order_no.as_deref(), Some("E2E-1"));
        states.push(body.state());
        assert_eq!(body.tx_id, detail.tx_id);
        assert_eq!(body.network.as_deref(), Some("Ethereum"));
    }
    states.sort_by_key(|s| s.map(|s| s.as_str()));
    assert_eq!(
        states,
        [Some(PaymentState::Pending), Some(PaymentState::Succeeded)]
    );

    // A payout from the credited balance, completed by the sandbox processor.
    let payout = CreatePayoutRequest {
        biz_order_no: "PO-E2E".into(),
        amount: "44".into(),
        chain_id: "11155111".into(),
        symbol: "USDT".into(),
        to_address: "0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2".into(),
        cust_no: "473_860001".into(),
        remark: Some("demo for create payout order".into()),
        merchant_id: None,
    };
    client.create_payout(&payout).await.unwrap();
    let pending = client.payout_detail("PO-E2E").await.unwrap().data;
    assert_eq!(pending.status, 0);
    s.sweep().await;
    let swept = client.payout_detail("PO-E2E").await.unwrap().data;
    assert_eq!(
        swept.status, 0,
        "pending until the delay, not locked (3) by the sweeper"
    );
    // Another payout locked by the control API stays locked until the control API acts.
    let locked = CreatePayoutRequest {
        biz_order_no: "PO-LOCK".into(),
        amount: "1".into(),
        ..payout.clone()
    };
    client.create_payout(&locked).await.unwrap();
    let plat = client
        .payout_detail("PO-LOCK")
        .await
        .unwrap()
        .data
        .plat_order_no
        .unwrap();
    let (status, answer) = s.sandbox(&format!("payouts/{plat}/lock"), json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        client.payout_detail("PO-LOCK").await.unwrap().data.status,
        3
    );
    s.clock().advance(s.state.config().payout_delay_ms + 1);
    s.sweep().await;
    let prepared = client
        .build_payout_detail("PO-E2E", merchant_ms(&s))
        .unwrap();
    let done: polypay_blockatm::wire::PayoutDetail = call(&client, prepared).await;
    assert_eq!(done.status, 1);
    let prepared = client
        .build_payout_detail("PO-LOCK", merchant_ms(&s))
        .unwrap();
    let still: polypay_blockatm::wire::PayoutDetail = call(&client, prepared).await;
    assert_eq!(still.status, 3, "locked past the delay");
    drain(&s).await;
    let payouts = webhooks(&hooks, "Payout");
    assert_eq!(payouts.len(), 1, "final state only");
    let verified = client
        .verify_callback(&payouts[0].headers, &payouts[0].body)
        .unwrap();
    let CallbackEvent::Payout(body) = verified.event else {
        panic!("payout webhook expected");
    };
    assert_eq!(body.state(), Some(PayoutState::Succeeded));
    assert_eq!(body.tx_id, done.tx_id);
    let (status, _) = s.sandbox(&format!("payouts/{plat}/fail"), json!({})).await;
    assert_eq!(status, 200, "the control API refuses the locked payout");
    assert_eq!(
        client.payout_detail("PO-LOCK").await.unwrap().data.status,
        2
    );
    let too_much = CreatePayoutRequest {
        biz_order_no: "PO-BIG".into(),
        amount: "1000".into(),
        ..payout
    };
    let prepared = client
        .build_create_payout(&too_much, merchant_ms(&s))
        .unwrap();
    let out = client.outbound(prepared);
    let mut request = no_redirects().post(&out.url).body(out.body);
    for (name, value) in &out.headers {
        request = request.header(name, value);
    }
    let answer: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["code"], "000307");
}

#[tokio::test(flavor = "multi_thread")]
async fn cashier_link_and_v1_webhooks() {
    let s = TestServer::start().await;
    let hooks = Receiver::start(200, "").await;
    s.set_protocol_settings(
        "blockatm",
        json!({
            "payment_notify_url": format!("{}/v1", hooks.url),
            "webhook_scheme": "V1"
        }),
    )
    .await;
    let client = sdk(&s, true);
    let link = client
        .widget_url(
            &format!("{}/cashier", s.base_url),
            &[
                ("custNo", Some("C86002201")),
                ("orderNo", Some("W-E2E")),
                ("amount", Some("9.99")),
                ("currency", Some("USDC")),
                ("chainId", Some("TRON")),
            ],
        )
        .unwrap();
    let opened = no_redirects().get(&link).send().await.unwrap();
    assert_eq!(opened.status(), 302);
    let page = opened.headers()["location"].to_str().unwrap().to_owned();
    assert!(page.starts_with(&format!("{}/cashier/", s.base_url)));
    let tampered = link.replace("amount=9.99", "amount=0.01");
    let refused = no_redirects().get(&tampered).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let script = no_redirects()
        .get(format!("{}/libs/v2/BlockATM.umd.js", s.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);

    let cancelled = press(&s, &page, "cancel").await;
    assert_eq!(cancelled.status(), 303);
    let detail = client.payment_detail("W-E2E").await.unwrap().data;
    assert_eq!(detail.status, PaymentStatus::Cancelled);
    assert_eq!(detail.symbol, "USDC");
    assert_eq!(detail.network.as_deref(), Some("TRON"));
    drain(&s).await;
    let delivered = webhooks(&hooks, "Payment");
    assert_eq!(
        delivered.len(),
        1,
        "CANCELLED only: opening the page is not a transfer"
    );
    for hook in &delivered {
        assert!(hook.header("BlockATM-Signature-V1").is_some());
        let verified = client.verify_callback(&hook.headers, &hook.body).unwrap();
        assert_eq!(verified.scheme, Scheme::V1Ecdsa);
    }
    // Expiry by time travel announces EXPIRED too.
    let late = client
        .create_order(&order("LATE", "1", "https://shop.example/r"))
        .await
        .unwrap();
    assert!(late.data.expire_time > 0);
    let _ = s.clock().now();
    s.clock().advance(15 * 60 * 1000 + 1);
    s.sweep().await;
    let prepared = client
        .build_payment_detail("LATE", merchant_ms(&s))
        .unwrap();
    let late: polypay_blockatm::wire::PayOrderDetail = call(&client, prepared).await;
    assert_eq!(late.status, PaymentStatus::Expired);
    drain(&s).await;
    let expired = webhooks(&hooks, "Payment")
        .into_iter()
        .filter(|h| String::from_utf8_lossy(&h.body).contains("\"EXPIRED\""))
        .count();
    assert_eq!(expired, 1);
}

/// W without `amount`: the link opens polypay's amount page, whose form posts the link back
/// with the amount typed; the order is then the one a link with that `amount` makes.
#[tokio::test(flavor = "multi_thread")]
async fn an_amount_less_widget_link_asks_the_customer_for_the_amount() {
    let s = TestServer::start().await;
    let client = sdk(&s, false);
    let link = client
        .widget_url(
            &format!("{}/cashier", s.base_url),
            &[
                ("custNo", Some("C86002201")),
                ("orderNo", Some("W-AMOUNT")),
                ("chainId", Some("ETH")),
                ("redirectURL", Some("https://shop.example/done?a=1&b=2")),
            ],
        )
        .unwrap();
    let query = link.split_once('?').unwrap().1.to_owned();
    let opened = no_redirects()
        .get(&link)
        .header("sec-fetch-dest", "iframe")
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    // The widget frames it: nothing on it forbids that.
    assert!(opened.headers().get("x-frame-options").is_none());
    let csp = opened.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(!csp.contains("frame-ancestors"), "{csp}");
    let html = opened.text().await.unwrap();
    assert!(
        html.contains(r#"<form method="post" action="/cashier">"#),
        "{html}"
    );
    assert!(html.contains(r#"name="amount""#), "{html}");
    let hidden = format!(r#"name="link" value="{}""#, query.replace('&', "&amp;"));
    assert!(html.contains(&hidden), "{html}");
    assert!(
        html.contains(">Ethereum</dd>") && html.contains(">USDT</dd>"),
        "{html}"
    );

    let cashier = format!("{}/cashier", s.base_url);
    let post = |link: String, amount: &'static str| {
        let request = no_redirects()
            .post(&cashier)
            .header("sec-fetch-dest", "iframe")
            .form(&[("link", link.as_str()), ("amount", amount)]);
        async move { request.send().await.unwrap() }
    };
    // A refused amount: the form again, with the reason and the text as typed.
    let refused = post(query.clone(), "1.5.0").await;
    assert_eq!(refused.status(), 400);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("plain number") && html.contains(r#"value="1.5.0""#),
        "{html}"
    );

    let created = post(query.clone(), "12.5").await;
    assert_eq!(created.status(), 302);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/cashier/", s.base_url)),
        "{location}"
    );
    let detail = client.payment_detail("W-AMOUNT").await.unwrap().data;
    assert_eq!(detail.amount.as_str(), "12.5");
    assert_eq!(detail.symbol, "USDT");
    assert_eq!(detail.chain_id.as_str(), "1");
    assert_eq!(detail.network.as_deref(), Some("Ethereum"));
    assert_eq!(detail.cust_no.as_deref(), Some("C86002201"));
    assert_eq!(detail.order_no.as_deref(), Some("W-AMOUNT"));
    assert_eq!(detail.status, PaymentStatus::WaitingPayment);
    let token = location.rsplit('/').next().unwrap();
    let payment = s.engine().payment_by_cashier_token(token).await.unwrap();
    assert_eq!(payment.amount.minor, 12_500_000);
    assert_eq!(payment.amount.currency.code(), "USDT");
    // The hosted page it leads to opens in the frame too.
    let hosted = no_redirects()
        .get(&location)
        .header("sec-fetch-dest", "iframe")
        .send()
        .await
        .unwrap();
    assert_eq!(hosted.status(), 200);
    assert!(hosted.headers().get("x-frame-options").is_none());

    // The same link with the same orderNo resumes the order.
    let again = no_redirects().get(&link).send().await.unwrap();
    assert_eq!(again.status(), 302);
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);

    // A tampered link is refused as its GET would be.
    let tampered = query.replace("C86002201", "C86002202");
    let forged = post(tampered, "12.5").await;
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains(r#"data-code="1003""#));

    // A form past the page's bound, or past the node's body limit, is refused with the
    // widget's error page (not read whole: the node bounds every protocol body).
    for size in [100 << 10, 3 << 20] {
        let padding = "x".repeat(size);
        let huge = no_redirects()
            .post(format!("{}/cashier", s.base_url))
            .form(&[("link", query.as_str()), ("amount", "1"), ("pad", &padding)])
            .send()
            .await
            .unwrap();
        assert_eq!(huge.status(), 400, "{size}");
        assert!(huge.text().await.unwrap().contains(r#"data-code="1001""#));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cashier_shows_network_token_and_a_deposit_address() {
    let s = TestServer::start().await;
    let created = sdk(&s, false)
        .create_order(&order("E2E-DEP", "12.5", "https://m.example/back"))
        .await
        .unwrap()
        .data;
    let page = Customer::open(&created.pay_url).await;
    let row = |label: &str| {
        let start = format!("<dt>{label}</dt><dd>");
        let at = page
            .html
            .find(&start)
            .unwrap_or_else(|| panic!("no {label}"))
            + start.len();
        page.html[at..].split('<').next().unwrap().to_owned()
    };
    // The order was created on ETH, whose `network` name is Ethereum.
    assert_eq!(
        (row("Network"), row("Token")),
        ("Ethereum".into(), "USDT".into())
    );
    let address = row("Deposit address");
    assert!(is_evm_address(&address), "{address}");
    let again = Customer::open(&created.pay_url).await;
    assert!(
        again.html.contains(&address),
        "the same address on every visit"
    );
    // The widget frames this page on the merchant's site: it may be framed, and its actions
    // work without a cookie (none is sent in a frame on another site).
    let head = no_redirects().get(&created.pay_url).send().await.unwrap();
    assert!(head.headers().get("x-frame-options").is_none());
    assert!(head.headers().get("content-security-policy").is_none());
    assert!(head.headers().get("set-cookie").is_none());
    assert_eq!(head.headers()["cache-control"], "no-store");
    let pressed = again.press("cancel", &[]).await;
    assert!(pressed.status().is_redirection(), "{}", pressed.status());
    assert!(pressed.headers().get("x-frame-options").is_none());

    // In the widget's frame the merchant's page hears the outcome (the loader's `cancel`),
    // then the frame goes where the redirect would have sent it.
    let framed = sdk(&s, false)
        .create_order(&order("E2E-FRAME", "12.5", "https://m.example/back"))
        .await
        .unwrap()
        .data;
    let customer = Customer::open(&framed.pay_url).await;
    let pressed = customer.press_in_frame("cancel").await;
    assert_eq!(pressed.status(), 200);
    assert!(pressed.headers().get("x-frame-options").is_none());
    let html = pressed.text().await.unwrap();
    assert!(
        html.contains(r#"window.parent.postMessage({"type":"blockatm:cancel"}, "*")"#),
        "{html}"
    );
    assert!(
        html.contains(r#"window.location.replace("https://m.example/back?"#),
        "{html}"
    );

    // A refused action's page is shown in the frame too (a frame denied would show the
    // browser's own error, not why): a forged CSRF token, an unknown action.
    let open = sdk(&s, false)
        .create_order(&order("E2E-FRAME-2", "12.5", "https://m.example/back"))
        .await
        .unwrap()
        .data;
    let customer = Customer::open(&open.pay_url).await;
    let csrf = polypay_server::testing::csrf_of(&customer.html).unwrap();
    let page = open.pay_url.split('?').next().unwrap();
    for (action, token, status) in [("pay", "0".repeat(32), 403), ("nonsense", csrf, 404)] {
        let refused = no_redirects()
            .post(format!("{page}/{action}"))
            .header("sec-fetch-dest", "iframe")
            .form(&[("csrf", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status, "{action}");
        assert!(
            refused.headers().get("x-frame-options").is_none(),
            "{action}: {:?}",
            refused.headers()
        );
    }
}

/// On a gateway the rail reports the transfer: its hash, in the chain's own form, is the
/// `txId` the merchant sees, with the sender it names (or none: never a made-up address).
#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_reports_the_rails_transfer_as_it_was_given() {
    let gateway = polypay_server::config::Overrides {
        mode: Some("gateway".into()),
        ..Default::default()
    };
    let s = TestServer::start_on(polypay_store::testing::TestDb::sqlite(), gateway).await;
    let client = sdk(&s, false);
    let merchant = s.merchant.id.clone();
    for (no, details) in [
        (
            "GW-TRON",
            json!({"fromAddress": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8", "blockTime": 1_765_000_000_000_i64}),
        ),
        ("GW-NONE", json!({})),
    ] {
        client
            .create_order(&order(no, "5", "https://shop.example/r"))
            .await
            .unwrap();
        // A TRON transaction id: 64 hex digits, no 0x.
        let hash = format!("{:0>64}", format!("{:x}", no.len() * 7919));
        let report = json!({"channel_order_no": hash, "details": details});
        let path = format!("payments/{no}/succeed?merchant={merchant}");
        let (status, body) = s.admin_post(&path, report).await;
        assert_eq!(status, 200, "{body}");
        let detail = client.payment_detail(no).await.unwrap().data;
        assert_eq!(detail.status, PaymentStatus::Success);
        assert_eq!(detail.tx_id.as_deref(), Some(hash.as_str()), "{no}");
        let sender = details["fromAddress"].as_str().unwrap_or("");
        assert_eq!(detail.from_address.as_deref().unwrap_or(""), sender, "{no}");
    }
    let wrong = json!({"channel_order_no": "h", "details": {"fromAddress": "T1", "memo": "x"}});
    let path = format!("payments/GW-NONE/succeed?merchant={merchant}");
    let (status, body) = s.admin_post(&path, wrong).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not memo"),
        "{body}"
    );
}

/// A settlement report without a sender keeps the one the payment already records (the
/// sandbox cashier's, while its confirmations gather).
#[tokio::test(flavor = "multi_thread")]
async fn a_report_without_a_sender_keeps_the_recorded_one() {
    let s = TestServer::start().await;
    let client = sdk(&s, false);
    let created = client
        .create_order(&order("KEEP-1", "3", "https://shop.example/r"))
        .await
        .unwrap()
        .data;
    let paid = Customer::open(&created.pay_url)
        .await
        .press("pay", &[])
        .await;
    assert_eq!(paid.status(), 303);
    let seen = client.payment_detail("KEEP-1").await.unwrap().data;
    let sender = seen
        .from_address
        .clone()
        .expect("the cashier recorded a sender");
    assert!(!sender.is_empty());
    let path = format!("payments/KEEP-1/succeed?merchant={}", s.merchant.id);
    let (status, body) = s
        .admin_post(&path, json!({"channel_order_no": "0xsettled"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let done = client.payment_detail("KEEP-1").await.unwrap().data;
    assert_eq!(done.status, PaymentStatus::Success);
    assert_eq!(done.from_address.as_deref(), Some(sender.as_str()));
}

//! V2_SHA256 end to end: the full node (router, cashier, sandbox, dispatcher) driven by the
//! phase-1 merchant SDK — create, pay on the hosted cashier and follow the signed redirect,
//! webhooks delivered and verified, queries, an immediate sandbox refund, a payout completed by
//! the sandbox processor, balances, webhook retries, and the envelopes of the whole app.

use polypay_server::testing::{Customer, Received, Receiver, TestServer};
use polypay_store::testing::TestDb;
use polypay_v2sha256::wire::{
    BalanceQueryRequest, Callback, PayMethod, Payer, PaymentCreateData, PaymentCreateRequest,
    PaymentQueryRequest, PaymentStatus, PayoutCreateRequest, PayoutMethod, PayoutQueryRequest,
    PayoutStatus, RefundCreateRequest, RefundQueryRequest, RefundStatus,
};
use polypay_v2sha256::{Client, Credentials};
use serde_json::{Map, json};

fn merchant_client(s: &TestServer) -> Client {
    let c = s.credentials_of("v2sha256");
    let credentials = Credentials::new(
        c["appId"].as_str().expect("appId"),
        c["appSecret"].as_str().expect("appSecret"),
    );
    // The live hosts use the /pg prefix.
    Client::new(&format!("{}/pg", s.base_url), credentials).expect("client")
}

/// Opens the hosted cashier page and presses `action`, as a customer would; answers the
/// response to the form (a redirect).
async fn act_on_cashier(cashier_url: &str, action: &str) -> reqwest::Response {
    Customer::open(cashier_url).await.press(action, &[]).await
}

fn payment_request(trade_no: &str, amount: &str, hook: &Receiver) -> PaymentCreateRequest {
    PaymentCreateRequest {
        merchant_trade_no: trade_no.into(),
        amount: amount.into(),
        currency: "INR".into(),
        description: "E2E order".into(),
        payer: Payer {
            user_id: "u-e2e".into(),
            name: None,
            email: None,
            phone: None,
        },
        pay_method: PayMethod {
            kind: "UPI".into(),
            extra: Map::new(),
        },
        trade_env: None,
        merchant_attach: Some("cart=7".into()),
        notify_url: format!("{}/notify?src=pg", hook.url),
        return_url: "https://shop.example/return?lang=en".into(),
    }
}

/// A payment created with [`payment_request`]; its answer's data.
async fn create(
    client: &Client,
    trade_no: &str,
    amount: &str,
    hook: &Receiver,
) -> PaymentCreateData {
    let answer = client
        .payment_create(&payment_request(trade_no, amount, hook))
        .await;
    answer.expect("create").data.expect("data")
}

fn verify(client: &Client, r: &Received) -> Callback {
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    client
        .verify_callback(&r.uri, &r.headers, &r.body)
        .expect("verified webhook")
        .callback
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_on_the_cashier_notified_refunded_and_paid_out() {
    for db in TestDb::all() {
        let s = TestServer::start_on(db, Default::default()).await;
        let hook = Receiver::start(200, r#"{"code":"OK"}"#).await;
        let client = merchant_client(&s);

        let created = client
            .payment_create(&payment_request("E2E-1", "100.05", &hook))
            .await
            .expect("create")
            .into_verified()
            .expect("verified");
        let data = created.data.expect("data");
        assert_eq!(data.status, PaymentStatus::Pending);
        assert!(
            data.action
                .url
                .starts_with(&format!("{}/cashier/", s.base_url))
        );

        // The customer pays; the browser is sent to returnUrl with the signed parameters.
        let paid = act_on_cashier(&data.action.url, "pay").await;
        assert!(paid.status().is_redirection());
        let location = paid.headers()["location"].to_str().expect("location");
        assert!(
            location.starts_with("https://shop.example/return?lang=en&merchantTradeNo=E2E-1&"),
            "{location}"
        );
        let redirect = client.verify_redirect(location).expect("signed redirect");
        assert_eq!(
            (redirect.payment_no.as_str(), redirect.status),
            (data.payment_no.as_str(), PaymentStatus::Paid)
        );
        assert_eq!(redirect.merchant_attach.as_deref(), Some("cart=7"));

        let report = s.dispatch().await;
        assert_eq!(report.acknowledged, 1, "{report:?}");
        let requests = hook.requests();
        assert_eq!(requests[0].uri, "/notify?src=pg");
        let Callback::Payment(p) = verify(&client, &requests[0]) else {
            panic!("PAYMENT webhook expected")
        };
        assert_eq!(
            (p.status, p.amount.as_str()),
            (PaymentStatus::Paid, "100.05")
        );

        let q = PaymentQueryRequest {
            payment_no: Some(data.payment_no.clone()),
            merchant_trade_no: Some("E2E-1".into()),
        };
        let p = client
            .payment_query(&q)
            .await
            .expect("query")
            .data
            .expect("data");
        assert_eq!(p.status, PaymentStatus::Paid);

        // Sandbox refund delay 0 (default): REFUNDED in the create response.
        let refund = RefundCreateRequest {
            merchant_trade_no: "E2E-R1".into(),
            payment_no: None,
            payment_merchant_trade_no: Some("E2E-1".into()),
            amount: "40.00".into(),
            reason: Some("return".into()),
            notify_url: None,
        };
        let r = client
            .refund_create(&refund)
            .await
            .expect("refund")
            .into_verified()
            .expect("verified");
        assert_eq!(r.data.expect("data").status, RefundStatus::Refunded);
        // Same ordering key (the payment): one per run, in event order.
        let first = s.dispatch().await;
        let second = s.dispatch().await;
        assert_eq!(
            first.acknowledged + second.acknowledged,
            2,
            "{first:?} {second:?}"
        );
        let kinds: Vec<_> = hook.requests()[1..]
            .iter()
            .map(|r| match verify(&client, r) {
                Callback::Refund(r) => format!("REFUND {}", r.status.as_str()),
                Callback::Payment(p) => format!("PAYMENT {}", p.status.as_str()),
                Callback::Payout(_) => "PAYOUT".into(),
            })
            .collect();
        assert!(kinds.contains(&"REFUND REFUNDED".to_owned()), "{kinds:?}");
        assert!(
            kinds.contains(&"PAYMENT PARTIALLY_REFUNDED".to_owned()),
            "{kinds:?}"
        );

        // A payout: PENDING, then the sandbox processor completes it after the payout delay.
        let payout = PayoutCreateRequest {
            merchant_trade_no: "E2E-PO1".into(),
            amount: "10.00".into(),
            currency: "INR".into(),
            description: "E2E payout".into(),
            payout_method: PayoutMethod::Upi {
                vpa: "ravi@upi".into(),
                payee_name: "Ravi".into(),
            },
            merchant_attach: None,
            notify_url: format!("{}/payouts", hook.url),
        };
        let po = client.payout_create(&payout).await.expect("payout");
        let po = po.into_verified().expect("verified").data.expect("data");
        assert_eq!(po.status, PayoutStatus::Pending);
        let balance = client
            .balance_query(&BalanceQueryRequest::default())
            .await
            .expect("balance")
            .data
            .expect("data");
        assert_eq!(
            serde_json::to_value(&balance).expect("json"),
            json!({"balances": [{"currency": "INR", "available": "50.05", "frozen": "10.00"}]})
        );
        s.sweep().await;
        s.clock().advance(10_000);
        s.sweep().await;
        let q = PayoutQueryRequest {
            payout_no: Some(po.payout_no.clone()),
            merchant_trade_no: None,
        };
        let done = client
            .payout_query(&q)
            .await
            .expect("query")
            .data
            .expect("data");
        assert_eq!(done.status, PayoutStatus::Paid);
        let report = s.dispatch().await;
        assert_eq!(report.acknowledged, 1, "{report:?}");
        let last = hook.requests().last().cloned().expect("payout webhook");
        assert_eq!(last.uri, "/payouts");
        let Callback::Payout(d) = verify(&client, &last) else {
            panic!("PAYOUT webhook expected")
        };
        assert_eq!(
            (d.status, d.payout_no.as_str()),
            (PayoutStatus::Paid, po.payout_no.as_str())
        );
        let balance = client
            .balance_query(&BalanceQueryRequest {
                currency: Some("INR".into()),
            })
            .await
            .expect("balance")
            .data
            .expect("data");
        assert_eq!(
            (
                balance.balances[0].available.as_str(),
                balance.balances[0].frozen.as_str()
            ),
            ("50.05", "0.00")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandbox_refund_delay_leaves_the_refund_pending_until_the_sweeper_settles_it() {
    let s = TestServer::start().await;
    s.set_protocol_settings("v2sha256", json!({"refund_delay_ms": 5000}))
        .await;
    let hook = Receiver::start(200, r#"{"code":"OK"}"#).await;
    let client = merchant_client(&s);
    let created = create(&client, "E2E-DELAY", "20.00", &hook).await;
    assert!(
        act_on_cashier(&created.action.url, "pay")
            .await
            .status()
            .is_redirection()
    );
    let refund = RefundCreateRequest {
        merchant_trade_no: "E2E-DELAY-R1".into(),
        payment_no: Some(created.payment_no.clone()),
        payment_merchant_trade_no: None,
        amount: "5.00".into(),
        reason: None,
        notify_url: None,
    };
    let r = client
        .refund_create(&refund)
        .await
        .expect("refund")
        .into_verified()
        .expect("verified")
        .data
        .expect("data");
    assert_eq!(r.status, RefundStatus::Pending);
    let query = RefundQueryRequest {
        refund_no: Some(r.refund_no.clone()),
        merchant_trade_no: None,
    };
    let status = || async {
        let answer = client.refund_query(&query).await.expect("query");
        answer.data.expect("data").status
    };
    // The test server's clock is the system clock plus what the test advanced it by.
    s.sweep().await;
    s.clock().advance(2_500);
    s.sweep().await;
    assert_eq!(
        status().await,
        RefundStatus::Pending,
        "not before the delay"
    );
    s.clock().advance(2_500);
    s.sweep().await;
    assert_eq!(status().await, RefundStatus::Refunded, "settled once due");
    // PAYMENT PAID first, then the refund's webhooks in event order.
    for _ in 0..4 {
        s.dispatch().await;
    }
    let refunds: Vec<_> = hook
        .requests()
        .iter()
        .filter_map(|r| match verify(&client, r) {
            Callback::Refund(r) => Some(r.status.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        refunds.last().map(String::as_str),
        Some("REFUNDED"),
        "{refunds:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn housekeeping_purges_nonce_claims_once_their_window_is_over() {
    let s = TestServer::start().await;
    // The test's client signs with the real time, and the node's clocks are about to be moved
    // on as if minutes had passed.
    s.set_protocol_settings("v2sha256", json!({"time_window": false}))
        .await;
    let hook = Receiver::start(200, r#"{"code":"OK"}"#).await;
    let client = merchant_client(&s);
    create(&client, "E2E-NONCE", "1.00", &hook).await;
    // The claim lives ten minutes (twice the timestamp window) by the merchant's clock, which
    // time travel does not move: a day of it expires nothing.
    s.clock().advance(86_400_000);
    s.housekeep().await;
    assert_eq!(s.engine().purge_expired_nonces(1).await.expect("purge"), 0);
    s.clock().elapse(9 * 60_000);
    s.housekeep().await;
    s.clock().elapse(2 * 60_000);
    let left = s.engine().purge_expired_nonces(1).await.expect("purge");
    assert_eq!(left, 1, "the request's claim expired but was still stored");
    create(&client, "E2E-NONCE-2", "1.00", &hook).await;
    s.clock().elapse(11 * 60_000);
    s.housekeep().await;
    let left = s.engine().purge_expired_nonces(1).await.expect("purge");
    assert_eq!(left, 0, "housekeeping left an expired claim");
}

#[tokio::test(flavor = "multi_thread")]
async fn unacknowledged_webhooks_are_retried_with_the_same_body_and_a_fresh_signature() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "OK").await;
    let client = merchant_client(&s);
    let created = create(&client, "E2E-RETRY", "5.00", &hook).await;
    let failed = act_on_cashier(&created.action.url, "fail").await;
    let location = failed.headers()["location"].to_str().expect("location");
    assert_eq!(
        client.verify_redirect(location).expect("redirect").status,
        PaymentStatus::Failed
    );

    // `OK` as plain text is not the {"code":"OK"} acknowledgement.
    let report = s.dispatch().await;
    assert_eq!((report.attempted, report.failed), (1, 1), "{report:?}");
    hook.reply_with(200, r#"{"code":"OK","msg":"thanks"}"#);
    assert_eq!(s.dispatch().await.attempted, 0, "the retry waits a minute");
    s.clock().advance(60_000);
    let report = s.dispatch().await;
    assert_eq!(report.acknowledged, 1, "{report:?}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_ne!(
        requests[0].header("authorization"),
        requests[1].header("authorization")
    );
    for r in &requests {
        let Callback::Payment(p) = verify(&client, r) else {
            panic!("PAYMENT webhook expected")
        };
        assert_eq!(p.status, PaymentStatus::Failed);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_app_answers_the_protocol_envelopes() {
    let s = TestServer::start().await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/pg/v2/payment/close", s.base_url))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"code":"NOT_FOUND","errorMessage":"unknown endpoint","data":null}"#
    );
    let r = http
        .put(format!("{}/v2/balance/query", s.base_url))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status().as_u16(), 405);
    let r = http
        .post(format!("{}/v2/balance/query", s.base_url))
        .header("authorization", "V2_SHA256 appId=x")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"code":"UNAUTHORIZED","errorMessage":"missing or malformed Authorization header","data":null}"#
    );
    let stranger = Client::new(&s.base_url, Credentials::new("nobody", "x")).expect("client");
    let r = stranger
        .balance_query(&BalanceQueryRequest::default())
        .await
        .expect("answer");
    assert_eq!(
        (r.http_status, r.error_message.as_deref()),
        (401, Some("unknown appId"))
    );
    let ok = merchant_client(&s)
        .balance_query(&BalanceQueryRequest::default())
        .await
        .expect("answer");
    assert!(ok.is_ok() && ok.signature_verified, "{ok:?}");
}

/// Sandbox time travel moves the platform's clock, not the merchant's: a request signed with
/// the real time is accepted after a jump, its response is stamped with the real time, and a
/// replay inside the window is still refused, however far the sandbox travelled meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn time_travel_leaves_request_signatures_and_replay_claims_alone() {
    use polypay_v2sha256::wire::PaymentCreateData as Data;
    let s = TestServer::start().await;
    let hook = Receiver::start(200, r#"{"code":"OK"}"#).await;
    let client = merchant_client(&s);
    s.clock().advance(86_400_000);
    let wall = || polypay_core::Clock::wall(s.clock()).millis() as u64;
    let prepared = client
        .build_payment_create(
            &payment_request("E2E-TRAVEL", "1.00", &hook),
            wall(),
            &polypay_v2sha256::sign::fresh_nonce(),
        )
        .expect("build");
    let first = client.send::<Data>(&prepared).await.expect("send");
    assert_eq!(
        (
            first.http_status,
            first.code.as_str(),
            first.signature_verified
        ),
        (200, "OK", true),
        "{:?}",
        first.error_message
    );
    s.clock().advance(86_400_000);
    let replay = client.send::<Data>(&prepared).await.expect("send");
    assert_eq!(replay.http_status, 401, "{:?}", replay.error_message);
    // The payment itself lives by the platform's clock: two days of travel, and its 30 minutes
    // are long over.
    s.sweep().await;
    let payment = s.payment(&first.data.expect("data").payment_no).await;
    assert_eq!(payment.state, polypay_core::PaymentState::Expired);

    // Callbacks and the signed return redirect are stamped with the merchant's clock too.
    let paid = create(&client, "E2E-TRAVEL-2", "2.00", &hook).await;
    let before = wall();
    let back = act_on_cashier(&paid.action.url, "pay").await;
    let location = back.headers()["location"].to_str().expect("location");
    let redirect = client.verify_redirect(location).expect("redirect");
    s.dispatch().await;
    let received = hook.requests();
    let r = received.last().expect("a webhook");
    let webhook = client
        .verify_callback(&r.uri, &r.headers, &r.body)
        .expect("verified");
    for stamped in [redirect.timestamp_ms, webhook.timestamp_ms] {
        assert!(
            stamped >= before && stamped <= wall(),
            "{stamped} is not the merchant's clock ({before}..)"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_payer_enters_a_upi_id_on_the_cashier() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "OK").await;
    let client = merchant_client(&s);
    let created = create(&client, "E2E-VPA", "5.00", &hook).await;
    let customer = Customer::open(&created.action.url).await;
    assert!(
        customer.html.contains("name=\"vpa\" value=\"payer@upi\""),
        "{}",
        customer.html
    );
    let refused = customer.press("pay", &[("vpa", "not a vpa")]).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("page");
    assert!(html.contains("Enter a UPI ID such as name@bank.") && html.contains("not a vpa"));
    let paid = customer.press("pay", &[("vpa", "asha@okaxis")]).await;
    assert_eq!(paid.status(), 302, "the spec: HTTP 302 to returnUrl");
    let location = paid.headers()["location"].to_str().expect("location");
    assert_eq!(
        client.verify_redirect(location).expect("redirect").status,
        PaymentStatus::Paid
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_that_expires_with_the_page_open_sends_the_browser_back_expired() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, r#"{"code":"OK"}"#).await;
    let client = merchant_client(&s);
    let created = create(&client, "E2E-EXP", "5.00", &hook).await;
    let customer = Customer::open(&created.action.url).await;
    let back = format!("{}/return", created.action.url);
    // Reloads itself a second after its 30 minutes are up (a few ms have passed since creation).
    let url = back.trim_start_matches(&s.base_url);
    let refresh = |secs: u32| format!("http-equiv=\"refresh\" content=\"{secs};url={url}\"");
    assert!(customer.html.contains(&refresh(1800)) || customer.html.contains(&refresh(1801)));

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let early = browser.get(&back).send().await.expect("early");
    assert_eq!(early.status(), 303, "not due: back to the page");
    s.clock().advance(1_800_000);
    let late = browser.get(&back).send().await.expect("late");
    assert_eq!(late.status(), 302);
    let location = late.headers()["location"].to_str().expect("location");
    assert_eq!(
        client.verify_redirect(location).expect("redirect").status,
        PaymentStatus::Expired
    );
}

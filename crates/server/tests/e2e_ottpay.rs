//! OTT Pay processV2 end to end: the full node (router, cashier, sandbox, dispatcher) driven by
//! the phase-1 merchant SDK — create, pay on the hosted cashier, callback delivered and
//! verified, queries, refunds, the PREPAY return redirect, retries and expiry.

use polypay_core::PaymentState;
use polypay_ottpay::client::{
    StatusQueryData, parse_redirect, with_redirect_url, with_selected_method,
};
use polypay_ottpay::server::public_id;
use polypay_ottpay::wire::{
    ActivePayRequest, H5PayRequest, PaymentStatusResponse, PrepayInitRequest, PrepayInitResponse,
    PrepayQueryRequest, PrepayQueryResponse, RefundRequest, StatusQueryRequest,
};
use polypay_ottpay::{Client, ClientCredentials, SignKey};
use polypay_server::testing::{Customer, Receiver, TestServer};
use polypay_store::testing::TestDb;
use serde_json::json;

fn merchant_client(s: &TestServer) -> Client {
    let c = s.credentials_of("ottpay");
    let credentials = ClientCredentials {
        merchant_id: c["merchant_id"].as_str().expect("merchant_id").to_owned(),
        sign_key: SignKey::new(c["signKey"].as_str().expect("signKey")),
    };
    Client::new(&s.base_url, credentials, reqwest::Client::new())
}

/// Opens the hosted cashier page and presses Pay, as a customer would; answers the response
/// to the Pay form (a redirect).
async fn pay_on_cashier(cashier_url: &str) -> reqwest::Response {
    Customer::open(cashier_url).await.press("pay", &[]).await
}

/// STATUS_QUERY of a payment, verified.
async fn payment_status(client: &Client, query: &StatusQueryRequest) -> PaymentStatusResponse {
    let status = client
        .status_query(query)
        .await
        .expect("query")
        .into_verified()
        .expect("ok");
    let StatusQueryData::Payment(p) = status else {
        panic!("payment")
    };
    p
}

fn active_pay(order_id: &str, callback: &str) -> ActivePayRequest {
    ActivePayRequest {
        order_id: Some(order_id.into()),
        operator_id: "0000000437".into(),
        amount: "1000".into(),
        tip: Some("50".into()),
        biz_type: "WECHATPAY".into(),
        call_back_url: callback.into(),
        currency_type: Some("CAD".into()),
        ..ActivePayRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn active_pay_paid_on_the_cashier_is_notified_queried_and_refunded() {
    for db in TestDb::all() {
        let s = TestServer::start_on(db, Default::default()).await;
        let hook = Receiver::start(200, "SUCCESS").await;
        let client = merchant_client(&s);
        let created = client
            .active_pay(&active_pay("E2E-1", &format!("{}/ott/cb", hook.url)))
            .await
            .expect("create")
            .into_verified()
            .expect("verified");
        assert!(
            created
                .code_url
                .starts_with(&format!("{}/cashier/", s.base_url))
        );

        let paid = pay_on_cashier(&created.code_url).await;
        assert!(paid.status().is_redirection());
        let report = s.dispatch().await;
        assert_eq!(report.acknowledged, 1, "{report:?}");
        let requests = hook.requests();
        assert_eq!(requests.len(), 1);
        let callback = &requests[0];
        assert_eq!(
            (callback.method.as_str(), callback.uri.as_str()),
            ("POST", "/ott/cb")
        );
        assert_eq!(
            callback.header("content-type"),
            Some("application/json;charset=UTF-8")
        );
        let data = client
            .verify_callback(&[], &callback.body)
            .expect("verified callback");
        assert_eq!(
            (
                data.order_id.as_str(),
                data.amount.as_str(),
                data.tip.as_str()
            ),
            ("E2E-1", "1000", "50")
        );
        assert_eq!(data.bizpay_order_id, created.bizpay_order_id);
        assert_eq!(data.exchange_rate, "5.057030");

        let query = StatusQueryRequest {
            order_id: "E2E-1".into(),
        };
        let p = payment_status(&client, &query).await;
        assert_eq!(
            (p.order_status.as_str(), p.pay_amount.as_str()),
            ("SUCCESS", "1050")
        );

        let refund = RefundRequest {
            order_id: Some("E2E-R1".into()),
            ori_order_id: "E2E-1".into(),
            refund_amt: "50".into(),
            merchant_id: None,
        };
        let r = client.refund(&refund).await.expect("refund");
        assert_eq!(r.rsp_code, "SUCCESS");
        let again = client.refund(&refund).await.expect("refund");
        assert_eq!(
            (again.rsp_code.as_str(), again.rsp_msg.as_str()),
            ("ORDER_USED", "order_id already used")
        );
        let p = payment_status(&client, &query).await;
        assert_eq!(
            (p.order_status.as_str(), p.refund_amount.as_str()),
            ("PARTIAL_REFUND", "50")
        );
        // Refunds are not notified.
        s.dispatch().await;
        assert_eq!(hook.requests().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prepay_checkout_redirects_back_and_calls_back_with_the_prepay_fields() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "").await;
    let client = merchant_client(&s);
    let init = PrepayInitRequest {
        sale_num: "INV-7".into(),
        remarks: Some("gift".into()),
        ..prepay("pp-e2e", &hook)
    };
    let created = client
        .prepay_init(&init)
        .await
        .expect("init")
        .into_verified()
        .expect("ok");
    let paid = pay_on_cashier(&created.payinfo).await;
    assert!(paid.status().is_redirection());
    let location = paid.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{}/back?total_fee=500&trade_no=", hook.url)),
        "{location}"
    );
    let params = parse_redirect(&location).expect("redirect");
    assert_eq!(
        (params.out_trade_no.as_str(), params.trade_status.as_str()),
        ("pp-e2e", "Trade_Finished")
    );

    let q = prepay_query(&client, "pp-e2e", Some(&params.trade_no)).await;
    assert_eq!(
        (q.status.as_str(), q.order_id.as_str()),
        ("SUCCESS", params.trade_no.as_str())
    );

    assert_eq!(s.dispatch().await.acknowledged, 1);
    let requests = hook.requests();
    let callback = requests.iter().find(|r| r.uri == "/cb").expect("callback");
    let data = client
        .verify_callback(&[], &callback.body)
        .expect("verified");
    assert_eq!(data.order_id, params.trade_no);
    assert_eq!(
        (data.prepay_order_id.as_deref(), data.sale_num.as_deref()),
        (Some("pp-e2e"), Some("INV-7"))
    );
    assert_eq!(
        (data.remarks.as_str(), data.exchange_rate.as_str()),
        ("gift", "7.100000")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unacknowledged_callbacks_are_retried_with_identical_bytes() {
    let s = TestServer::start().await;
    let hook = Receiver::start(500, "busy").await;
    let client = merchant_client(&s);
    let created = client
        .active_pay(&active_pay("E2E-RETRY", &format!("{}/cb", hook.url)))
        .await
        .expect("create")
        .into_verified()
        .expect("ok");
    let merchant_id = s.merchant.id.clone();
    let (status, _) = s
        .sandbox(
            &format!("payments/{merchant_id}.E2E-RETRY/succeed"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let first = s.dispatch().await;
    assert_eq!((first.attempted, first.failed), (1, 1), "{first:?}");
    // Not due again before the 1-minute offset.
    s.clock().advance(30_000);
    assert_eq!(s.dispatch().await.attempted, 0);
    hook.reply_with(204, "");
    s.clock().advance(31_000);
    let second = s.dispatch().await;
    assert_eq!(second.acknowledged, 1, "{second:?}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    let data = client
        .verify_callback(&[], &requests[1].body)
        .expect("verified");
    assert_eq!(data.bizpay_order_id, created.bizpay_order_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_order_reads_orderclose_and_is_not_notified() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "").await;
    s.set_protocol_settings("ottpay", json!({"payment_lifetime_seconds": 60}))
        .await;
    let client = merchant_client(&s);
    client
        .active_pay(&active_pay("E2E-EXP", &format!("{}/cb", hook.url)))
        .await
        .expect("create")
        .into_verified()
        .expect("ok");
    s.clock().advance(61_000);
    s.sweep().await;
    let public_id = format!("{}.E2E-EXP", s.merchant.id);
    assert_eq!(s.payment(&public_id).await.state, PaymentState::Expired);
    let query = StatusQueryRequest {
        order_id: "E2E-EXP".into(),
    };
    let p = payment_status(&client, &query).await;
    assert_eq!(p.order_status, "ORDERCLOSE");
    s.dispatch().await;
    assert!(hook.requests().is_empty());
}

fn prepay(order: &str, hook: &Receiver) -> PrepayInitRequest {
    PrepayInitRequest {
        amount: "500".into(),
        sale_num: "INV-8".into(),
        operator_id: "0000000696".into(),
        prepay_order_id: order.into(),
        biz_type: "PREPAY".into(),
        merchant_id: String::new(),
        duration: "600".into(),
        shop_id: "S1".into(),
        currency_type: "USD".into(),
        email: None,
        remarks: None,
        redirect_url: format!("{}/back", hook.url),
        call_back_url: format!("{}/cb", hook.url),
    }
}

async fn prepay_query(client: &Client, prepay: &str, order: Option<&str>) -> PrepayQueryResponse {
    let query = PrepayQueryRequest {
        prepay_order_id: prepay.into(),
        order_id: order.map(str::to_owned),
        merchant_id: String::new(),
    };
    let reply = client.prepay_query(&query).await.expect("query");
    reply.into_verified().expect("ok")
}

async fn init(client: &Client, request: &PrepayInitRequest) -> PrepayInitResponse {
    let reply = client.prepay_init(request).await.expect("init");
    reply.into_verified().expect("ok")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prepay_method_chosen_on_the_cashier_fixes_the_bizpay_order_id() {
    let s = TestServer::start().await;
    let hook = Receiver::start(200, "").await;
    let client = merchant_client(&s);
    let created = init(&client, &prepay("pp-ali", &hook)).await;
    // The merchant preselects Alipay; the customer presses Pay without changing it.
    let customer = Customer::open(&with_selected_method(&created.payinfo, "ALIPAY")).await;
    assert!(
        customer.html.contains("value=\"ALIPAY\" required checked"),
        "{}",
        customer.html
    );
    assert!(
        customer.html.contains("name=\"selected\" value=\"ALIPAY\""),
        "carried"
    );
    let paid = customer.press("pay", &[("selected", "ALIPAY")]).await;
    assert!(paid.status().is_redirection());
    assert_eq!(s.dispatch().await.acknowledged, 1);
    let requests = hook.requests();
    let callback = requests.iter().find(|r| r.uri == "/cb").expect("callback");
    let data = client
        .verify_callback(&[], &callback.body)
        .expect("verified");
    assert!(
        data.bizpay_order_id.starts_with("AL") && data.bizpay_order_id.len() == 18,
        "{}",
        data.bizpay_order_id
    );

    // `selected=NONE` preselects nothing: Pay needs a choice; UnionPay is then recorded.
    let created = init(&client, &prepay("pp-none", &hook)).await;
    let customer = Customer::open(&with_selected_method(&created.payinfo, "NONE")).await;
    assert!(!customer.html.contains(" checked"), "{}", customer.html);
    let refused = customer.press("pay", &[("selected", "NONE")]).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("page");
    assert!(html.contains("Choose a payment method."));
    // The refusal answered a form: its history entry becomes the link, with what it carried
    // (Back or a reload there loads the order, as the link did).
    let token = created.payinfo.split("/cashier/").nth(1).unwrap();
    let token = token.split('?').next().unwrap();
    assert!(
        html.contains(&format!(
            r#"history.replaceState(null,"","/cashier/{token}?selected=NONE")"#
        )),
        "{html}"
    );
    let paid = customer.press("pay", &[("method", "UNIONPAY")]).await;
    assert!(paid.status().is_redirection());
    let q = prepay_query(&client, "pp-none", None).await;
    let order = s.payment(&public_id(&s.merchant.id, &q.order_id)).await;
    let bizpay = order.attrs["bizpay_order_id"].as_str().expect("recorded");
    assert!(bizpay.starts_with("UP"), "{bizpay}");
}

/// A GET whose redirect is answered, not followed.
async fn unfollowed(url: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client.get(url).send().await.unwrap()
}

/// Where an open page sends itself when its time is up (its meta refresh).
fn reload_of(html: &str) -> String {
    html.split(";url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page reloads itself")
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_h5pay_link_with_a_redirect_url_sends_the_browser_there_when_the_payment_ends() {
    let s = TestServer::start().await;
    let client = merchant_client(&s);
    let h5 = |order: &str| H5PayRequest {
        submit_type: "form".into(),
        amount: "300".into(),
        currency_type: "CAD".into(),
        operator_id: "0000000437".into(),
        biz_type: "WECHATPAY".into(),
        order_id: Some(order.into()),
        call_back_url: "https://m.example/cb".into(),
        ..H5PayRequest::default()
    };
    let create = |order: &'static str| {
        let (client, request) = (&client, h5(order));
        async move {
            client
                .h5_pay(&request)
                .await
                .expect("h5")
                .into_verified()
                .expect("ok")
        }
    };
    let created = create("h5-1").await;
    let back = "https://m.example/done?order=h5-1";
    let customer = Customer::open(&with_redirect_url(&created.payinfo, back)).await;
    let cancelled = customer.press("cancel", &[("redirect_url", back)]).await;
    assert_eq!(cancelled.status(), 302);
    assert_eq!(
        cancelled.headers()["location"],
        back,
        "as given, no parameters"
    );

    // Without one (or with one that is not an http(s) URL) the page shows the outcome.
    let created = create("h5-2").await;
    let link = with_redirect_url(&created.payinfo, "javascript:alert(1)");
    let customer = Customer::open(&link).await;
    assert!(!customer.html.contains("javascript:"), "{}", customer.html);
    let paid = customer
        .press("pay", &[("redirect_url", "javascript:alert(1)")])
        .await;
    let location = paid.headers()["location"].to_str().expect("location");
    assert!(location.starts_with("/cashier/"), "{location}");

    // An order that expires while its page is open: the page's reload carries the link's
    // redirect_url, and the browser goes there too.
    let created = create("h5-3").await;
    let back = "https://m.example/done?order=h5-3&x=1";
    let customer = Customer::open(&with_redirect_url(&created.payinfo, back)).await;
    let reload = reload_of(&customer.html);
    assert!(reload.contains("/return?redirect_url="), "{reload}");
    s.clock().advance(3 * 3_600_000);
    let base = created.payinfo.split("/cashier/").next().expect("base");
    let expired = unfollowed(&format!("{base}{reload}")).await;
    assert_eq!(expired.status(), 302);
    assert_eq!(expired.headers()["location"], back);
    let (_, order) = s
        .admin_get(&format!("payments/h5-3?merchant={}", s.merchant.id))
        .await;
    assert_eq!(order["state"], "expired", "{order}");

    // The sweeper may expire it before the reload comes: the browser still goes there.
    let created = create("h5-4").await;
    let back = "https://m.example/done?order=h5-4";
    let customer = Customer::open(&with_redirect_url(&created.payinfo, back)).await;
    let reload = reload_of(&customer.html);
    s.clock().advance(3 * 3_600_000);
    s.sweep().await;
    let (_, order) = s
        .admin_get(&format!("payments/h5-4?merchant={}", s.merchant.id))
        .await;
    assert_eq!(order["state"], "expired", "{order}");
    let expired = unfollowed(&format!("{base}{reload}")).await;
    assert_eq!(expired.status(), 302);
    assert_eq!(expired.headers()["location"], back);
}

/// On a gateway nothing about the payer is made up: the payer's wallet id is empty until the
/// rail's settlement report names it, and then the callback and STATUS_QUERY carry it.
#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_reports_the_payer_the_rail_names() {
    let gateway = polypay_server::config::Overrides {
        mode: Some("gateway".into()),
        allow_private_callbacks: Some(true),
        ..Default::default()
    };
    let s = TestServer::start_on(TestDb::sqlite(), gateway).await;
    let hook = Receiver::start(200, "SUCCESS").await;
    let client = merchant_client(&s);
    client
        .active_pay(&active_pay("GW-1", &format!("{}/ott/cb", hook.url)))
        .await
        .expect("create")
        .into_verified()
        .expect("verified");
    let shown = format!("payments/GW-1?merchant={}", s.merchant.id);
    let (_, open) = s.admin_get(&shown).await;
    assert_eq!(open["attrs"]["sub_open_id"], "", "no made-up payer: {open}");

    let path = format!("payments/GW-1/succeed?merchant={}", s.merchant.id);
    for bad in ["", "id\u{0}nul", &"x".repeat(129)] {
        let report = json!({"channel_order_no": "R", "details": {"sub_openId": bad}});
        let (status, body) = s.admin_post(&path, report).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
    let report = json!({"channel_order_no": "RAIL-OTT-1", "details": {"sub_openId": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}});
    let (status, body) = s.admin_post(&path, report).await;
    assert_eq!(status, 200, "{body}");
    s.dispatch().await;
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let data = client
        .verify_callback(&[], &requests[0].body)
        .expect("verified callback");
    assert_eq!(data.sub_open_id, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    let query = StatusQueryRequest {
        order_id: "GW-1".into(),
    };
    let p = payment_status(&client, &query).await;
    assert_eq!(p.buyer_login_id, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
}

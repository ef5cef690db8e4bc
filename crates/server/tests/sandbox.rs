//! The sandbox control API and time travel, through HTTP, on a whole node.

use polypay_core::{Currency, MerchantId, Money, PaymentState, PayoutState, Protocol};
use polypay_engine::NewPayout;
use polypay_server::testing::TestServer;
use serde_json::json;

/// A payout of the test merchant, numbered `order_no` (`public_id` is the protocol's id).
fn payout(
    s: &TestServer,
    protocol: Protocol,
    (order_no, public_id): (&str, &str),
    minor: i64,
    start_processing: bool,
) -> NewPayout {
    NewPayout {
        merchant_id: s.merchant.id.clone(),
        protocol,
        merchant_order_no: order_no.into(),
        public_id: public_id.into(),
        amount: Money::new(minor, Currency::USD),
        notify_url: None,
        start_processing,
        attrs: json!({}),
    }
}

/// Gives the test merchant a balance of `minor` (a payment `in`, paid).
async fn funded(s: &TestServer, minor: i64) {
    s.engine()
        .create_payment(s.new_payment("in", minor, 600))
        .await
        .unwrap();
    s.sandbox("payments/PUB-in/succeed", json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn control_api_moves_payments_and_needs_the_admin_token() {
    let s = TestServer::start().await;
    s.engine()
        .create_payment(s.new_payment("a", 1000, 600))
        .await
        .unwrap();
    let anonymous = reqwest::Client::new()
        .post(format!("{}/sandbox/v1/payments/PUB-a/succeed", s.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["cache-control"], "no-store");
    // The scheme's name in any case, spaces after it (RFC 9110); every answer uncached.
    let lower = reqwest::Client::new()
        .get(format!("{}/admin/v1/merchants", s.base_url))
        .header("authorization", format!("bearer  {}", s.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200);
    assert_eq!(lower.headers()["cache-control"], "no-store");
    // A page size out of range is refused, not quietly changed.
    let m = &s.merchant.id;
    for path in [
        "callbacks?limit=0".to_owned(),
        "callbacks?limit=501".to_owned(),
        format!("merchants/{m}/ledger?currency=CNY&limit=-1"),
    ] {
        let (status, body) = s.admin_get(&path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("limit must be from 1 to")
        );
    }
    let (status, body) = s.sandbox("payments/PUB-a/succeed", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "succeeded");
    assert_eq!(s.payment("PUB-a").await.state, PaymentState::Succeeded);
    let (status, _) = s.sandbox("payments/PUB-a/cancel", json!({})).await;
    assert_eq!(status, 409, "a paid order cannot be cancelled");
    let (status, _) = s.sandbox("payments/nope/succeed", json!({})).await;
    assert_eq!(status, 404);
    let balances = s.engine().balances(&s.merchant.id).await.unwrap();
    assert_eq!(balances, vec![Money::new(1000, Currency::USD)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_is_found_by_the_merchants_order_number_or_its_cashier_token() {
    let s = TestServer::start().await;
    let a = s
        .engine()
        .create_payment(s.new_payment("order 7/a", 1000, 600))
        .await
        .unwrap();
    let b = s
        .engine()
        .create_payment(s.new_payment("b", 1000, 600))
        .await
        .unwrap();
    let mine = format!("payments/order%207%2Fa/succeed?merchant={}", s.merchant.id);
    let (status, body) = s.sandbox(&mine, json!({})).await;
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some(a.id.as_str())),
        "{body}"
    );

    // No such merchant: said so. A number the merchant does not have: the 404 says what a
    // reference is.
    let (status, body) = s
        .sandbox("payments/b/succeed?merchant=mch_nobody", json!({}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("merchant not found"))
    );
    let unknown = format!("payments/zz/succeed?merchant={}", s.merchant.id);
    let (status, body) = s.sandbox(&unknown, json!({})).await;
    assert_eq!(status, 404);
    let why = body.to_string();
    assert!(
        why.contains("cashier token") && why.contains("?merchant="),
        "{why}"
    );
    let (status, _) = s.sandbox("payments/b/succeed", json!({})).await;
    assert_eq!(status, 404, "an order number needs its merchant");

    let by_link = format!("payments/{}/fail", b.cashier_token);
    let (status, body) = s.sandbox(&by_link, json!({})).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("failed")),
        "{body}"
    );
    assert_eq!(s.payment("PUB-b").await.state, PaymentState::Failed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_is_found_by_the_merchants_refund_number() {
    let s = TestServer::start().await;
    let paid = s
        .engine()
        .create_payment(s.new_payment("r", 1000, 600))
        .await
        .unwrap();
    s.sandbox("payments/PUB-r/succeed", json!({})).await;
    let refund = polypay_engine::NewRefund {
        payment_id: paid.id.clone(),
        protocol: Protocol::V2sha256,
        merchant_refund_no: "RF-9".into(),
        public_id: "PUB-RF-9".into(),
        amount: Money::new(400, Currency::USD),
        reason: None,
        notify_url: None,
        exclusive: false,
        fee_minor: 0,
        settle_after_ms: None,
        attrs: json!({}),
    };
    s.engine().create_refund(refund).await.unwrap();
    let (status, body) = s.sandbox("refunds/RF-9/succeed", json!({})).await;
    assert_eq!(status, 404, "a refund number needs its merchant: {body}");
    let by_number = format!("refunds/RF-9/succeed?merchant={}", s.merchant.id);
    let (status, body) = s.sandbox(&by_number, json!({})).await;
    assert_eq!(
        (status, body["refund"]["state"].as_str()),
        (200, Some("succeeded")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn time_travel_expires_unpaid_orders_and_completes_payouts() {
    let s = TestServer::start().await;
    s.engine()
        .create_payment(s.new_payment("slow", 1000, 3600))
        .await
        .unwrap();
    s.sandbox("payments/PUB-slow/succeed", json!({})).await;
    s.engine()
        .create_payment(s.new_payment("unpaid", 500, 3600))
        .await
        .unwrap();
    let new_payout = payout(&s, Protocol::V2sha256, ("po1", "PO-1"), 300, false);
    s.engine().create_payout(new_payout).await.unwrap();
    s.sweep().await;
    let po = s.engine().payout_by_public_id("PO-1").await.unwrap();
    assert_eq!(po.state, PayoutState::Processing, "picked up at once");
    let (status, clock) = s.sandbox("clock/advance", json!({"seconds": 3601})).await;
    assert_eq!(status, 200, "{clock}");
    assert!(clock["offset_ms"].as_i64().unwrap() >= 3_601_000);
    assert_eq!(s.payment("PUB-unpaid").await.state, PaymentState::Expired);
    assert_eq!(s.payment("PUB-slow").await.state, PaymentState::Succeeded);
    let po = s.engine().payout_by_public_id("PO-1").await.unwrap();
    assert_eq!(
        po.state,
        PayoutState::Succeeded,
        "payout delay elapsed in sandbox time"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_payout_by_control_call_restores_the_balance() {
    let s = TestServer::start().await;
    funded(&s, 1000).await;
    let new_payout = payout(&s, Protocol::Passtopay, ("po", "PO-X"), 700, true);
    s.engine().create_payout(new_payout).await.unwrap();
    assert_eq!(
        s.engine().balances(&s.merchant.id).await.unwrap()[0].minor,
        300
    );
    let (status, _) = s
        .sandbox("payouts/po/fail?merchant=mch_nobody", json!({}))
        .await;
    assert_eq!(status, 404, "not that merchant's payout");
    let by_number = format!("payouts/po/fail?merchant={}", s.merchant.id);
    let (status, body) = s.sandbox(&by_number, json!({})).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("failed")));
    assert_eq!(
        s.engine().balances(&s.merchant.id).await.unwrap()[0].minor,
        1000
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settings_change_keeps_what_another_node_changed_meanwhile() {
    let s = TestServer::start().await;
    let id = s.merchant.id.clone();
    // This node caches the merchant; then another node rotates a secret (written behind this
    // node's cache, as another node's write is).
    let cached = s.engine().merchant(&id).await.unwrap();
    let rotated = s
        .engine()
        .store()
        .write({
            let id = id.clone();
            move |db| {
                let mut m = db.merchant(&id)?.unwrap();
                m.credentials.v2sha256.app_secret = polypay_core::Secret::new("rotated-elsewhere");
                db.update_merchant(&m)?;
                Ok::<_, polypay_store::StoreError>(m)
            }
        })
        .await
        .unwrap();
    assert_ne!(
        cached.credentials.v2sha256.app_secret,
        rotated.credentials.v2sha256.app_secret
    );
    let path = format!("merchants/{id}/settings/v2sha256");
    let (status, answer) = s.admin_put(&path, json!({"refund_delay_ms": 5000})).await;
    assert_eq!(status, 200, "{answer}");
    let stored = s
        .engine()
        .store()
        .read(move |db| db.merchant(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.credentials.v2sha256.app_secret.expose(),
        "rotated-elsewhere",
        "the settings write did not put back the cached secret"
    );
    assert_eq!(stored.settings["v2sha256"]["refund_delay_ms"], 5000);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_rotates_one_secret_and_answers_it_once() {
    let s = TestServer::start().await;
    let before = s.engine().merchant(&s.merchant.id).await.unwrap();
    let path = format!("merchants/{}/rotate", s.merchant.id);
    let (status, answer) = s
        .admin_post(&path, json!({"secret": "fintech33.aesKey"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let after = s.engine().merchant(&s.merchant.id).await.unwrap();
    assert_eq!(
        answer["value"].as_str(),
        Some(after.credentials.fintech33.aes_key.expose())
    );
    assert_ne!(
        after.credentials.fintech33.aes_key,
        before.credentials.fintech33.aes_key
    );
    assert_eq!(
        (
            &after.credentials.fintech33.app_secret,
            &after.credentials.passtopay
        ),
        (
            &before.credentials.fintech33.app_secret,
            &before.credentials.passtopay
        ),
        "nothing else changed"
    );
    let (status, answer) = s.admin_post(&path, json!({"secret": "aesKey"})).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("fintech33.aesKey"),
        "{answer}"
    );
    let (status, _) = s
        .admin_post(
            "merchants/mch_nobody/rotate",
            json!({"secret": "fintech33.aesKey"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_settings_are_set_through_the_admin_api() {
    let s = TestServer::start().await;
    let id = s.merchant.id.to_string();
    let path = format!("merchants/{id}/settings/v2sha256");
    let (status, answer) = s.admin_put(&path, json!({"refund_delay_ms": 5000})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["settings"]["v2sha256"],
        json!({"refund_delay_ms": 5000})
    );
    let stored = s.engine().merchant(&s.merchant.id).await.unwrap();
    assert_eq!(stored.settings["v2sha256"]["refund_delay_ms"], 5000);

    // Refusals: an unknown protocol, a body that is not an object, options the protocol does
    // not take, an unknown merchant, and no admin token. None of them changes anything.
    let (status, answer) = s
        .admin_put(&format!("merchants/{id}/settings/paypal"), json!({}))
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("unknown protocol")
    );
    let (status, answer) = s.admin_put(&path, json!([1, 2])).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("settings must be a JSON object"))
    );
    // Each protocol checks its block: every problem is named, with what the option takes.
    let (status, answer) = s
        .admin_put(&path, json!({"refund_delay_ms": -1, "refund_delay": 5}))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (
            400,
            Some(
                "v2sha256 settings refused: refund_delay_ms must be an integer >= 0 (got -1); \
                 unknown option refund_delay (options: currencies, utc_offset, \
                 payment_ttl_seconds, refund_delay_ms, time_window)"
            )
        )
    );
    let (status, answer) = s
        .admin_put(
            &format!("merchants/{id}/settings/fintech33"),
            json!({"aes_mode": "CBC"}),
        )
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (
            400,
            Some("fintech33 settings refused: aes_iv is required with aes_mode CBC")
        )
    );
    let (status, _) = s
        .admin_put("merchants/mch_nobody/settings/v2sha256", json!({}))
        .await;
    assert_eq!(status, 404);
    let anonymous = reqwest::Client::new()
        .put(format!("{}/admin/v1/{path}", s.base_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let stored = s.engine().merchant(&s.merchant.id).await.unwrap();
    assert_eq!(
        stored.settings["v2sha256"],
        json!({"refund_delay_ms": 5000})
    );

    // A block stored without the check (straight into the database, or before checks existed)
    // is still read leniently, and the merchant's summary names what its protocol finds wrong.
    let mut m = s.engine().merchant(&s.merchant.id).await.unwrap();
    m.settings["passtopay"] = json!({"notify_format": "xml"});
    let mut m = s.engine().update_merchant(m).await.unwrap();
    let summary = polypay_server::admin::merchant_summary(&m);
    assert_eq!(
        summary["settings_problems"],
        json!({"passtopay": "notify_format must be \"form\", \"query\" or \"json\" (got \"xml\")"})
    );
    m.settings["passtopay"] = json!({});
    let m = s.engine().update_merchant(m).await.unwrap();
    assert_eq!(
        polypay_server::admin::merchant_summary(&m)["settings_problems"],
        json!({})
    );

    // `{}` restores the defaults; other protocols' blocks are left alone.
    s.set_protocol_settings("ottpay", json!({"refund_delay_seconds": 3}))
        .await;
    s.set_protocol_settings("v2sha256", json!({})).await;
    let stored = s.engine().merchant(&s.merchant.id).await.unwrap();
    assert_eq!(
        stored.settings,
        json!({"v2sha256": {}, "ottpay": {"refund_delay_seconds": 3}, "passtopay": {}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_refuses_a_malformed_merchant_and_says_why() {
    let s = TestServer::start().await;
    let create = |name: &'static str, url: Option<&'static str>| {
        reqwest::Client::new()
            .post(format!("{}/admin/v1/merchants", s.base_url))
            .bearer_auth(&s.admin_token)
            .json(&json!({"name": name, "notify_url": url}))
            .send()
    };
    for (name, url, why) in [
        ("shop\u{0}", None, "must not contain control or invisible"),
        (
            "shop\n\u{1b}[31m",
            None,
            "must not contain control or invisible",
        ),
        ("  ", None, "name must be 1-128 characters"),
        (
            "shop",
            Some("ftp://example.com/cb"),
            "notify_url must be an http",
        ),
        (
            "shop",
            Some("https://example.com/\u{0}"),
            "control or invisible character",
        ),
        ("shop", Some("http://a b/"), "space, control or invisible"),
        ("shop", Some("http:///cb"), "no host"),
    ] {
        let r = create(name, url).await.unwrap();
        assert_eq!(r.status(), 400, "{name:?} {url:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body.to_string().contains(why), "{body}");
    }
    // A misspelt member is refused by name, not dropped (a merchant without its notify URL).
    let r = reqwest::Client::new()
        .post(format!("{}/admin/v1/merchants", s.base_url))
        .bearer_auth(&s.admin_token)
        .json(&json!({"name": "typo", "notifyUrl": "https://shop.example/notify"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body.to_string().contains("unknown field `notifyUrl`"),
        "{body}"
    );
    // The right shape sent as a form (curl -d without a content type): the type is named,
    // and so is a body that is not JSON at all (QA).
    let sent = |content_type: &'static str, body: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/admin/v1/merchants", s.base_url))
            .bearer_auth(&s.admin_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let r = sent("application/x-www-form-urlencoded", r#"{"name":"x"}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Content-Type: application/json"),
        "{body}"
    );
    let r = sent("application/json", "name=x").await.unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("not JSON"),
        "{body}"
    );
    let r = create(" shop ", Some(" https://example.com/cb "))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    let id = body["id"].as_str().expect("an id").to_string();
    let m = s.engine().merchant(&MerchantId(id)).await.unwrap();
    assert_eq!(
        (m.name.as_str(), m.notify_url.as_deref()),
        ("shop", Some("https://example.com/cb")),
        "stored trimmed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_routes_answer_a_nul_in_a_path_or_query_before_any_lookup() {
    // PostgreSQL's text cannot hold U+0000: these lookups failed there as internal errors.
    for db in polypay_store::testing::TestDb::all() {
        let s = TestServer::start_on(db, Default::default()).await;
        let (status, body) = s.sandbox("payments/PUB%00a/succeed", json!({})).await;
        assert_eq!(status, 404, "{body}");
        let get = |path: &str| {
            reqwest::Client::new()
                .get(format!("{}{path}", s.base_url))
                .bearer_auth(&s.admin_token)
                .send()
        };
        assert_eq!(
            get("/admin/v1/merchants/mch%00x").await.unwrap().status(),
            404
        );
        let r = get("/admin/v1/callbacks?merchant=mch%00x").await.unwrap();
        assert_eq!(r.status(), 400);
        let ok = get(&format!("/admin/v1/callbacks?merchant={}", s.merchant.id))
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
}

/// A balance holds at most `i64::MAX` minor units (PassToPay accepts any amount that fits
/// `i64`). A payment whose credit would not fit is refused with a message, on the control API
/// and the cashier alike, nothing of it written; the sweep passes over it and goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_payment_the_balance_cannot_hold_is_refused_and_passed_over() {
    use polypay_server::config::Overrides;
    use polypay_server::testing::Customer;
    for db in polypay_store::testing::TestDb::all() {
        let name = db.name;
        let auto = Overrides {
            auto_succeed_after_ms: Some(60_000),
            ..Default::default()
        };
        let s = TestServer::start_on(db, auto).await;
        for no in ["big-1", "big-2"] {
            s.engine()
                .create_payment(s.new_payment(no, i64::MAX, 600))
                .await
                .unwrap();
        }
        let (status, body) = s.sandbox("payments/PUB-big-1/succeed", json!({})).await;
        assert_eq!(status, 200, "{name}: {body}");
        let (status, body) = s.sandbox("payments/PUB-big-2/succeed", json!({})).await;
        assert_eq!(status, 409, "{name}: {body}");
        assert!(
            body.to_string()
                .contains("the merchant's USD balance cannot hold this amount"),
            "{body}"
        );

        let big = s.payment("PUB-big-2").await;
        let customer =
            Customer::open(&format!("{}/cashier/{}", s.base_url, big.cashier_token)).await;
        let pressed = customer.press("pay", &[]).await;
        assert_eq!(pressed.status(), 409, "{name}");
        assert!(
            pressed
                .text()
                .await
                .unwrap()
                .contains("balance is at its limit")
        );

        // The sweep's auto-success meets big-2 first, passes over it, and pays the next.
        let mut other = s.new_payment("small", 300, 600);
        other.amount = Money::new(300, Currency::CNY);
        s.engine().create_payment(other).await.unwrap();
        s.clock().advance(60_000);
        s.sweep().await;
        assert_eq!(s.payment("PUB-small").await.state, PaymentState::Succeeded);
        let open = s.payment("PUB-big-2").await.state;
        assert!(
            matches!(open, PaymentState::Created | PaymentState::Pending),
            "{name}: {open:?}"
        );
        let balances = s.engine().balances(&s.merchant.id).await.unwrap();
        assert_eq!(
            balances,
            vec![
                Money::new(300, Currency::CNY),
                Money::new(i64::MAX, Currency::USD)
            ],
            "{name}: nothing of big-2 was credited"
        );
        let id = s.merchant.id.clone();
        let ledger = s
            .engine()
            .store()
            .read(move |db| db.ledger_sum(&id, Currency::USD, "available"))
            .await
            .unwrap();
        assert_eq!(
            ledger,
            i64::MAX,
            "{name}: the ledger agrees with the balance"
        );
    }
}

/// Sandbox time belongs to the installation: time travel on one node reaches the others at
/// their next sweep and a node started later, and goes at most 100 years ahead.
#[tokio::test(flavor = "multi_thread")]
async fn sandbox_time_is_the_installations() {
    let s = TestServer::start().await;
    let (status, clock) = s.sandbox("clock/advance", json!({"seconds": 3600})).await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["offset_ms"], 3_600_000);

    // Another node moves it on; this one follows at its next sweep.
    s.engine()
        .store()
        .write(|db| db.advance_sandbox_clock(60_000, i64::MAX))
        .await
        .unwrap();
    s.sweep().await;
    assert_eq!(s.clock().offset_ms(), 3_660_000);

    // A node started later (or this one restarted) starts where it is.
    let mut later = polypay_server::config::Overrides {
        data_dir: Some(tempfile::tempdir().expect("temp dir").keep()),
        database_url: Some(s.state.config().database_url.clone()),
        master_key: Some("00".repeat(32)),
        admin_token: Some("test-admin-token".into()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let boot = polypay_server::bootstrap_node(&mut later).await.unwrap();
    assert_eq!(boot.clock.offset_ms(), 3_660_000);
    boot.engine.store().close();

    let far = json!({"seconds": 99_999_999_999_999_i64});
    let (status, body) = s.sandbox("clock/advance", far).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("at most 100 years")
    );
    assert_eq!(s.clock().offset_ms(), 3_660_000, "nothing moved");
}

/// Whatever the operator API cannot route (an unknown path, a method the route does not
/// have, a path that does not decode) answers in its JSON, uncached, and only to the token.
#[tokio::test(flavor = "multi_thread")]
async fn the_operator_api_answers_what_it_cannot_route_in_json() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: bool| {
        let mut req = client.request(method, format!("{}{path}", s.base_url));
        if token {
            req = req.bearer_auth(&s.admin_token);
        }
        req.send()
    };
    let anonymous = call(reqwest::Method::GET, "/admin/v1/nothing", false)
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "the token comes first");
    for (method, path, status, says) in [
        (
            reqwest::Method::GET,
            "/admin/v1/nothing",
            404,
            "no such route: GET /admin/v1/nothing",
        ),
        (reqwest::Method::GET, "/admin/v1", 404, "no such route"),
        (
            reqwest::Method::POST,
            "/sandbox/v1/clock/back",
            404,
            "no such route",
        ),
        (
            reqwest::Method::DELETE,
            "/admin/v1/merchants",
            405,
            "method not allowed",
        ),
        (
            reqwest::Method::GET,
            "/admin/v1/merchants/%FF",
            400,
            "Invalid URL",
        ),
    ] {
        let r = call(method.clone(), path, true).await.unwrap();
        assert_eq!(r.status(), status, "{method} {path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{method} {path}");
        if status == 405 {
            assert_eq!(r.headers()["allow"], "GET,HEAD,POST", "{method} {path}");
        }
        let body: serde_json::Value = r.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(says), "{method} {path}: {error}");
    }
}

/// On PostgreSQL one node sweeps at a time: the holder of the sweep's lease. Another node's
/// tick only follows the sandbox clock until the lease lapses or is given up. SQLite's one
/// node always sweeps and writes no lease.
#[tokio::test(flavor = "multi_thread")]
async fn one_node_sweeps_while_it_holds_the_lease() {
    use polypay_core::Clock;
    use polypay_server::app::{Sweep, SweepLease, sweep_tick};
    use polypay_store::testing::TestDb;
    let tick = std::time::Duration::from_secs(1);
    for db in TestDb::all() {
        let name = db.name;
        let s = TestServer::start_on(db, Default::default()).await;
        let made = s.engine().create_payment(s.new_payment("l1", 1000, 60));
        let id = made.await.unwrap().id;
        s.clock().advance(61_000);
        let state_of = || async {
            let p = s
                .engine()
                .store()
                .read(move |db| db.payment_by_public_id("PUB-l1"));
            p.await.unwrap().expect("payment").state
        };
        let lease = || async {
            s.engine()
                .store()
                .read(|db| db.sweep_lease("due"))
                .await
                .unwrap()
        };
        let mut leases = SweepLease::of(&s.state, Sweep::Due);
        if name == "sqlite" {
            assert!(sweep_tick(&s.state, &mut leases, tick, None).await);
            assert_eq!(state_of().await, PaymentState::Expired);
            assert_eq!(lease().await, None, "no lease on SQLite");
            continue;
        }
        // Another node holds the lease for a minute.
        let wall = s.clock().wall().0;
        let other = move |db: &mut polypay_store::Db<'_>| {
            db.take_sweep_lease("due", "other-node", wall, wall + 60_000)
        };
        assert!(s.engine().store().write(other).await.unwrap());
        assert!(
            !sweep_tick(&s.state, &mut leases, tick, None).await,
            "{name}: not ours"
        );
        assert_eq!(
            state_of().await,
            PaymentState::Created,
            "{name}: left to the holder"
        );
        // It stops renewing; a minute later the lease has lapsed and this node takes it over.
        s.clock().elapse(60_001);
        assert!(
            sweep_tick(&s.state, &mut leases, tick, None).await,
            "{name}: taken over"
        );
        assert_eq!(state_of().await, PaymentState::Expired, "{name}: {id}");
        let (holder, until) = lease().await.expect("lease");
        assert_eq!(holder, s.state.inner.node_id, "{name}");
        let wall = s.clock().wall().0;
        let length = SweepLease::length(tick).as_millis() as i64;
        assert_eq!(length, 10_000, "five ticks, but at least ten seconds");
        assert!(until > wall && until <= wall + length, "{name}: {until}");
        let retake = move |db: &mut polypay_store::Db<'_>| {
            db.take_sweep_lease("due", "other-node", wall, wall + 60_000)
        };
        assert!(
            !s.engine().store().write(retake).await.unwrap(),
            "{name}: held"
        );
        // A node that stops gives its lease up: the other takes it at its next tick.
        leases.release(&s.state).await;
        assert!(
            s.engine().store().write(retake).await.unwrap(),
            "{name}: given up"
        );
    }
}

/// A tick drains a backlog batch after batch rather than one batch per tick: after a pause
/// (or a node taking a lapsed lease over) due work does not wait for as many ticks.
#[tokio::test(flavor = "multi_thread")]
async fn a_tick_sweeps_a_backlog_batch_after_batch() {
    use polypay_server::app::{Sweep, SweepLease, sweep_tick};
    use polypay_server::sandbox::SWEEP_BATCH;
    let s = TestServer::start().await;
    let due = 2 * SWEEP_BATCH + 1;
    let creates = (0..due).map(|i| {
        s.engine()
            .create_payment(s.new_payment(&format!("b{i}"), 1000, 60))
    });
    for made in futures_util::future::join_all(creates).await {
        made.unwrap();
    }
    s.clock().advance(61_000);
    let mut lease = SweepLease::of(&s.state, Sweep::Due);
    let tick = std::time::Duration::from_secs(1);
    let open = || async {
        let any = polypay_core::Timestamp(i64::MAX);
        let due = s
            .engine()
            .store()
            .read(move |db| db.payments_due_for_expiry(any, 10_000));
        due.await.unwrap().len() as i64
    };
    // A node told to stop ends after the batch it is in.
    let (_stop_tx, stop) = tokio::sync::watch::channel(true);
    assert!(sweep_tick(&s.state, &mut lease, tick, Some(&stop)).await);
    assert_eq!(open().await, due - SWEEP_BATCH, "one batch, then the stop");
    assert!(sweep_tick(&s.state, &mut lease, tick, None).await);
    assert_eq!(open().await, 0, "the rest in one tick");
}

/// Payouts the sandbox leaves as they are (held by `.02`) never stand in the way of due ones,
/// however many came first: the processor reads on past them (it used to read the oldest batch
/// of unfinished payouts and stop, and a batch of held ones stopped every payout behind them).
#[tokio::test(flavor = "multi_thread")]
async fn held_payouts_do_not_hold_up_the_payouts_behind_them() {
    use polypay_server::sandbox::SWEEP_BATCH;
    let s = TestServer::start().await;
    funded(&s, 10_000_000).await;
    let payout = |no: String, minor: i64| {
        payout(
            &s,
            Protocol::V2sha256,
            (&no, &format!("PO-{no}")),
            minor,
            false,
        )
    };
    let held = (0..=SWEEP_BATCH).map(|i| s.engine().create_payout(payout(format!("h{i}"), 102)));
    for made in futures_util::future::join_all(held).await {
        made.unwrap();
    }
    s.sweep().await;
    s.sweep().await;
    s.engine()
        .create_payout(payout("due".into(), 100))
        .await
        .unwrap();
    s.sweep().await;
    let state = || async {
        s.engine()
            .payout_by_public_id("PO-due")
            .await
            .unwrap()
            .state
    };
    assert_eq!(state().await, PayoutState::Processing, "picked up at once");
    s.clock().advance(s.state.config().payout_delay_ms + 1);
    s.sweep().await;
    assert_eq!(state().await, PayoutState::Succeeded);
    let h0 = s.engine().payout_by_public_id("PO-h0").await.unwrap();
    assert_eq!(h0.state, PayoutState::Processing, ".02 is held");
}

/// A payout still pending when the clock jumps past its delay is paid out in the answer, not
/// only taken to processing.
#[tokio::test(flavor = "multi_thread")]
async fn time_travel_completes_a_payout_it_finds_pending() {
    let s = TestServer::start().await;
    funded(&s, 1000).await;
    let new_payout = payout(&s, Protocol::V2sha256, ("tp", "PO-TP"), 300, false);
    s.engine().create_payout(new_payout).await.unwrap();
    let (status, body) = s.sandbox("clock/advance", json!({"seconds": 3600})).await;
    assert_eq!(status, 200, "{body}");
    let po = s.engine().payout_by_public_id("PO-TP").await.unwrap();
    assert_eq!(po.state, PayoutState::Succeeded);
}

/// Time travel answers with every batch that fell due swept, not just the first.
#[tokio::test(flavor = "multi_thread")]
async fn time_travel_sweeps_all_that_fell_due() {
    use polypay_server::sandbox::SWEEP_BATCH;
    let s = TestServer::start().await;
    let due = SWEEP_BATCH + 1;
    let creates = (0..due).map(|i| {
        s.engine()
            .create_payment(s.new_payment(&format!("t{i}"), 1000, 60))
    });
    for made in futures_util::future::join_all(creates).await {
        made.unwrap();
    }
    let (status, body) = s.sandbox("clock/advance", json!({"seconds": 61})).await;
    assert_eq!(status, 200, "{body}");
    let any = polypay_core::Timestamp(i64::MAX);
    let open = s
        .engine()
        .store()
        .read(move |db| db.payments_due_for_expiry(any, 10_000))
        .await
        .unwrap();
    assert!(open.is_empty(), "{} still open", open.len());
}

/// `GET /admin/v1/callbacks` refuses what it does not take, naming it (a parameter it does not
/// know, an empty one, an unknown merchant), never an unfiltered or empty list instead, and
/// pages by `next_cursor`; `GET /admin/v1/merchants` takes no parameter (QA).
#[tokio::test(flavor = "multi_thread")]
async fn the_callbacks_and_merchants_lists_refuse_what_they_do_not_take() {
    let s = TestServer::start().await;
    for n in 0..3 {
        let order = format!("cb-{n}");
        s.engine()
            .create_payment(s.new_payment(&order, 1000, 600))
            .await
            .unwrap();
        let (status, body) = s
            .sandbox(&format!("payments/PUB-{order}/succeed"), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    s.dispatch().await;
    let m = &s.merchant.id;
    for (query, why) in [
        ("protocol=nope", "unknown field `protocol`"),
        ("foo=1", "unknown field `foo`"),
        ("merchant=", "merchant is empty"),
        ("merchant=mch_doesnotexist", "no merchant mch_doesnotexist"),
        ("merchant=bob", "merchant must be a merchant's id"),
        ("state=", "state is empty"),
        ("state=lost", "state must be pending, failing"),
        ("cursor=abc", "cursor must be the next_cursor"),
        ("cursor=0", "cursor must be the next_cursor"),
        ("cursor=5&before=5", "not both"),
        ("limit=x", "limit must be from 1 to 500"),
    ] {
        let (status, body) = s.admin_get(&format!("callbacks?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(why), "{query}: {error}");
    }
    let (status, all) = s.admin_get(&format!("callbacks?merchant={m}")).await;
    assert_eq!(status, 200, "{all}");
    let ids = |page: &serde_json::Value| -> Vec<i64> {
        page["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let every = ids(&all);
    assert_eq!(every.len(), 3, "{all}");
    assert!(all["next_cursor"].is_null());
    let mut paged = Vec::new();
    let mut query = format!("callbacks?merchant={m}&limit=2");
    loop {
        let (status, page) = s.admin_get(&query).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("callbacks?merchant={m}&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, every, "pages of 2 hold what one page holds");
    for query in ["limit=1", "enabled=false", "foo=1"] {
        let (status, body) = s.admin_get(&format!("merchants?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("takes no parameters")
        );
    }
    let (status, body) = s.admin_get("merchants").await;
    assert_eq!(status, 200, "{body}");
}

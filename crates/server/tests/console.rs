//! The operator console over HTTP on a whole node: sign-in and its cookie, CSRF on every form,
//! the filtered lists, a payment's timeline with callback attempts, re-send now, merchants and
//! secret rotation, payouts, balances and the sandbox clock.

mod console_support;

use console_support::{Operator, client, create_payment, passtopay_payment};
use polypay_core::{Currency, Money, PaymentState, PayoutState, Protocol};
use polypay_engine::NewPayout;
use polypay_server::Overrides;
use polypay_server::testing::{Receiver, TestServer};
use polypay_store::testing::TestDb;
use polypay_store::{DeliveryFilter, DeliveryState};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_takes_the_admin_token_and_sets_a_locked_down_cookie() {
    let s = TestServer::start().await;
    let http = client();
    let anonymous = http
        .get(format!("{}/console/payments", s.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/console/login");
    let wrong = http
        .post(format!("{}/console/login", s.base_url))
        .form(&[("token", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    // No console page may be framed (its forms rotate secrets and settle orders).
    for response in [&anonymous, &wrong] {
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert_eq!(
            response.headers()["content-security-policy"],
            "frame-ancestors 'none'"
        );
    }
    let right = http
        .post(format!("{}/console/login", s.base_url))
        .form(&[("token", s.admin_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in [
        "polypay_console=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let forged = http
        .get(format!("{}/console", s.base_url))
        .header("cookie", "polypay_console=00112233")
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        303,
        "an unknown session id is not a session"
    );

    let op = Operator::sign_in(&s).await;
    let out = op.post("/console/logout", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/console/login"));
    assert_eq!(op.get("/console").await.status, 303, "signed out");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_form_needs_the_session_csrf_token() {
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let other = Operator::sign_in(&s).await;
    assert_ne!(op.csrf, other.csrf);
    let missing = op
        .post_raw("/console/sandbox/clock", &[("seconds", "60")])
        .await;
    assert_eq!(missing.status, 403);
    let foreign = op
        .post_raw(
            "/console/sandbox/clock",
            &[("seconds", "60"), ("csrf", &other.csrf)],
        )
        .await;
    assert_eq!(foreign.status, 403, "a token of another session is refused");
    assert_eq!(s.clock().offset_ms(), 0, "nothing happened");
    let ok = op
        .post("/console/sandbox/clock", &[("seconds", "60")])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(s.clock().offset_ms(), 60_000);
    let shared = s
        .engine()
        .store()
        .read(|db| db.sandbox_clock_offset())
        .await
        .unwrap();
    assert_eq!(
        shared, 60_000,
        "the installation's clock, not this node's alone"
    );
    let page = op.get(ok.location.as_deref().unwrap()).await;
    assert!(page.body.contains("id=\"moved\""), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn payments_are_found_by_order_number_and_filtered_and_paged() {
    // The list queries are the console's own SQL: run them on every backend available.
    for db in TestDb::all() {
        let s = TestServer::start_on(db, Overrides::default()).await;
        filters_and_paging(&s).await;
    }
}

async fn filters_and_paging(s: &TestServer) {
    for n in 0..55u32 {
        create_payment(
            s,
            passtopay_payment(s, &format!("order-{n}"), n, 1000 + i64::from(n), None),
        )
        .await;
    }
    let paid = s.payment(&format!("P{:019}", 1_000_007)).await;
    s.engine()
        .transition_payment(
            &paid.id,
            polypay_core::PaymentCommand::Succeed {
                channel_order_no: "c".into(),
            },
        )
        .await
        .unwrap();
    let op = Operator::sign_in(s).await;

    let found = op.get("/console/payments?number=order-7").await;
    assert_eq!(found.status, 200);
    assert_eq!(
        found.body.matches("class=\"order\"").count(),
        1,
        "{}",
        found.body
    );
    assert!(
        found.body.contains("10.07 CNY"),
        "amounts carry their currency"
    );
    assert!(
        found
            .body
            .contains(&format!("/console/payments/{}", paid.id))
    );
    let by_public_id = op
        .get(&format!("/console/payments?number={}", paid.public_id))
        .await;
    assert_eq!(by_public_id.body.matches("class=\"order\"").count(), 1);

    let succeeded = op.get("/console/payments?state=succeeded").await;
    assert_eq!(succeeded.body.matches("class=\"order\"").count(), 1);
    let by_merchant = op
        .get(&format!(
            "/console/payments?merchant={}&protocol=passtopay",
            s.merchant.id
        ))
        .await;
    assert_eq!(
        by_merchant.body.matches("class=\"order\"").count(),
        50,
        "a page holds 50"
    );
    assert!(by_merchant.body.contains("id=\"older\""));
    let second = op
        .get(&format!(
            "/console/payments?merchant={}&page=1",
            s.merchant.id
        ))
        .await;
    assert_eq!(second.body.matches("class=\"order\"").count(), 5);
    assert!(!second.body.contains("id=\"older\"") && second.body.contains("id=\"newer\""));
    let other_protocol = op.get("/console/payments?protocol=ottpay").await;
    assert_eq!(other_protocol.body.matches("class=\"order\"").count(), 0);
    let future = op.get("/console/payments?from=2999-01-01").await;
    assert_eq!(future.body.matches("class=\"order\"").count(), 0);
    let today = op.get("/console/payments?to=2999-01-01").await;
    assert_eq!(today.body.matches("class=\"order\"").count(), 50);
    let typo = op.get("/console/payments?state=paid").await;
    assert!(
        typo.body.contains("Ignored: unknown state"),
        "{}",
        typo.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_timeline_shows_state_changes_postings_and_callback_attempts() {
    let s = TestServer::start().await;
    let shop = Receiver::start(200, "success").await;
    let p = create_payment(
        &s,
        passtopay_payment(
            &s,
            "timeline-1",
            1,
            2500,
            Some(format!("{}/notify", shop.url)),
        ),
    )
    .await;
    let op = Operator::sign_in(&s).await;
    let paid = op
        .post(&format!("/console/payments/{}/pay", p.id), &[])
        .await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    assert_eq!(
        s.engine().payment(&p.id).await.unwrap().state,
        PaymentState::Succeeded
    );
    polypay_server::callbacks::dispatcher(&s.state)
        .run_once()
        .await
        .unwrap();
    assert_eq!(shop.requests().len(), 1, "the callback was sent");

    let page = op.get(&format!("/console/payments/{}", p.id)).await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    for expected in [
        "payment.created",
        "payment.succeeded",
        "customer",
        "25.00 CNY",
        "callback queued",
        "callback attempt 1",
    ] {
        assert!(
            body.contains(expected),
            "{expected} missing from the timeline:\n{body}"
        );
    }
    let sent = String::from_utf8_lossy(&shop.requests()[0].body).to_string();
    let sign = sent
        .split('&')
        .find(|kv| kv.starts_with("sign="))
        .expect("signed callback");
    assert!(body.contains(sign), "the request as sent is shown");
    assert!(
        body.contains("HTTP 200\n\nsuccess"),
        "the response as received is shown"
    );
    assert!(
        !body.contains("id=\"sandbox-pay\""),
        "a paid order offers no sandbox actions"
    );
    let created = body.find("payment.created").unwrap();
    assert!(
        created < body.find("payment.succeeded").unwrap()
            && created < body.find("callback attempt 1").unwrap()
    );
    // PassToPay never sends payment.created: no callback row, and the timeline says so once.
    assert_eq!(
        body.matches("(no callback: the protocol never sends this event)")
            .count(),
        1,
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resend_now_queues_a_failing_callback_again() {
    let s = TestServer::start().await;
    let shop = Receiver::start(500, "down").await;
    let p = create_payment(
        &s,
        passtopay_payment(
            &s,
            "resend-1",
            2,
            1200,
            Some(format!("{}/notify", shop.url)),
        ),
    )
    .await;
    s.sandbox(&format!("payments/{}/succeed", p.id), json!({}))
        .await;
    let dispatcher = polypay_server::callbacks::dispatcher(&s.state);
    dispatcher.run_once().await.unwrap();
    let op = Operator::sign_in(&s).await;
    let failing = op.get("/console/callbacks?state=failing").await;
    assert!(
        failing.body.contains("payment.succeeded")
            && failing
                .body
                .contains("HTTP 500: not an acknowledgement: passtopay expects"),
        "the list says why the answer was not taken: {}",
        failing.body
    );
    // The admin API names the same state.
    let listed: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/admin/v1/callbacks?state=failing", s.base_url))
        .bearer_auth("test-admin-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events: Vec<_> = listed["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["event"].as_str(), c["attempts"].as_i64()))
        .collect();
    assert_eq!(events, [(Some("payment.succeeded"), Some(1))], "{listed}");
    let hostile = op
        .get("/console/callbacks?state=%22%3E%3Cscript%3E&before=1")
        .await;
    assert!(
        !hostile.body.contains("<script>"),
        "query text is never echoed raw"
    );
    let filter = DeliveryFilter {
        payment: Some(p.id.to_string()),
        limit: 10,
        ..DeliveryFilter::default()
    };
    let d = polypay_notify::operator::list_deliveries(s.engine(), filter.clone())
        .await
        .unwrap()
        .remove(0);
    assert!(
        d.next_attempt_at.unwrap() > s.engine().clock().now(),
        "the retry is scheduled later"
    );

    shop.reply_with(200, "success");
    let resent = op
        .post(&format!("/console/callbacks/{}/resend", d.id), &[])
        .await;
    assert_eq!(
        resent.location,
        Some(format!("/console/callbacks/{}?resent=1", d.id))
    );
    let again = polypay_notify::operator::list_deliveries(s.engine(), filter.clone())
        .await
        .unwrap()
        .remove(0);
    assert!(
        again.next_attempt_at.unwrap() <= s.engine().clock().now(),
        "due at once"
    );
    dispatcher.run_once().await.unwrap();
    let done = polypay_notify::operator::list_deliveries(s.engine(), filter)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(done.state, DeliveryState::Acknowledged);
    let detail = op.get(&format!("/console/callbacks/{}", d.id)).await;
    assert!(
        detail.body.contains("attempt 2") && detail.body.contains("HTTP 500\n\ndown"),
        "{}",
        detail.body
    );
    assert!(
        detail
            .body
            .contains("not an acknowledgement: passtopay expects the body `success`"),
        "the failed attempt says what PassToPay wants: {}",
        detail.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn merchants_show_credentials_once_and_rotate_one_secret() {
    let s = TestServer::start().await;
    let op = Operator::sign_in(&s).await;
    let created = op
        .post(
            "/console/merchants",
            &[
                ("name", "corner <shop>"),
                ("notify_url", "https://shop.example/n"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(
        created.body.contains("corner &lt;shop&gt;"),
        "names are escaped"
    );
    let merchants = s.engine().merchants().await.unwrap();
    let m = merchants
        .iter()
        .find(|m| m.name == "corner <shop>")
        .unwrap();
    let secret = m.credentials.v2sha256.app_secret.expose().to_string();
    assert!(created.body.contains(&secret) && created.body.contains("BEGIN PRIVATE KEY"));
    let shown = op.get(&format!("/console/merchants/{}", m.id)).await;
    assert!(shown.body.contains(&m.credentials.v2sha256.app_id));
    assert!(!shown.body.contains(&secret), "secrets are shown once only");

    let rotated = op
        .post(
            &format!("/console/merchants/{}/rotate", m.id),
            &[("secret", "v2sha256.appSecret")],
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let after = s.engine().merchant(&m.id).await.unwrap();
    let fresh = after.credentials.v2sha256.app_secret.expose();
    assert_ne!(fresh, secret);
    assert!(rotated.body.contains(fresh));
    assert_eq!(
        after.credentials.passtopay, m.credentials.passtopay,
        "nothing else changed"
    );
    // The profile: disabled (the box unticked), renamed, its notify URL removed.
    let saved = op
        .post(
            &format!("/console/merchants/{}/profile", m.id),
            &[("name", "corner shop"), ("notify_url", "")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let after = s.engine().merchant(&m.id).await.unwrap();
    assert_eq!(
        (
            after.name.as_str(),
            after.notify_url.as_deref(),
            after.enabled
        ),
        ("corner shop", None, false)
    );
    let shown = op.get(&format!("/console/merchants/{}", m.id)).await;
    assert!(
        shown.body.contains("value=\"corner shop\"") && !shown.body.contains(" checked>"),
        "{}",
        shown.body
    );
    let refused = op
        .post(
            &format!("/console/merchants/{}/profile", m.id),
            &[("name", "x"), ("notify_url", "ftp://x"), ("enabled", "on")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("notify_url must be an http"),
        "{}",
        refused.body
    );
    assert!(
        !s.engine().merchant(&m.id).await.unwrap().enabled,
        "nothing saved"
    );
    let saved = op
        .post(
            &format!("/console/merchants/{}/profile", m.id),
            &[
                ("name", "corner shop"),
                ("notify_url", ""),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert!(s.engine().merchant(&m.id).await.unwrap().enabled);

    // The page's form is one-time: posted again (a refresh of the credentials page, a double
    // click) it makes no second merchant and says which one it made (QA). A refused one may be
    // corrected and sent again.
    let page = op.get("/console/merchants").await;
    let marker = "name=\"form\" value=\"";
    let start = page.body.find(marker).expect("a one-time form id") + marker.len();
    let form = page.body[start..].split('"').next().unwrap().to_string();
    let count = || async { s.engine().merchants().await.unwrap().len() };
    let before = count().await;
    let refused = op
        .post("/console/merchants", &[("name", ""), ("form", &form)])
        .await;
    assert_eq!(refused.status, 400);
    let first = op
        .post("/console/merchants", &[("name", "once"), ("form", &form)])
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = op
        .post("/console/merchants", &[("name", "once"), ("form", &form)])
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(count().await, before + 1);
    let made = s
        .engine()
        .merchants()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == "once")
        .unwrap();
    assert!(again.body.contains(made.id.as_str()), "{}", again.body);
    assert!(
        !again.body.contains("appSecret"),
        "no credentials a second time"
    );

    let bad = op.post("/console/merchants", &[("name", "")]).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("name must be 1-128 characters"),
        "{}",
        bad.body
    );
    let bad = op
        .post(
            "/console/merchants",
            &[("name", "shop"), ("notify_url", "javascript:alert(1)")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("notify_url must be an http"),
        "{}",
        bad.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn payouts_refunds_balances_and_the_sandbox_clock() {
    let s = TestServer::start().await;
    let p = create_payment(&s, passtopay_payment(&s, "fund-1", 3, 10_000, None)).await;
    s.sandbox(&format!("payments/{}/succeed", p.id), json!({}))
        .await;
    let new = NewPayout {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: "po-1".into(),
        public_id: "T1".into(),
        amount: Money::new(4_000, Currency::CNY),
        notify_url: None,
        start_processing: false,
        attrs: json!({}),
    };
    let po = s.engine().create_payout(new).await.unwrap();
    let op = Operator::sign_in(&s).await;
    let list = op.get("/console/payouts?number=po-1").await;
    assert!(
        list.body.contains("40.00 CNY") && list.body.contains("data-state=\"pending\""),
        "{}",
        list.body
    );
    let balances = op.get("/console/balances").await;
    assert!(balances.body.contains("60.00 CNY"), "{}", balances.body);

    let failed = op
        .post(&format!("/console/payouts/{}/fail", po.id), &[])
        .await;
    assert_eq!(failed.status, 303, "{}", failed.body);
    assert_eq!(
        s.engine().payout(&po.id).await.unwrap().state,
        PayoutState::Failed
    );
    let page = op.get(&format!("/console/payouts/{}", po.id)).await;
    assert!(
        page.body.contains("payout_reversal") && page.body.contains("payout.failed"),
        "{}",
        page.body
    );
    assert!(
        op.get("/console/balances")
            .await
            .body
            .contains("100.00 CNY")
    );
    let again = op
        .post(&format!("/console/payouts/{}/complete", po.id), &[])
        .await;
    assert_eq!(again.status, 409, "a failed payout stays failed");

    let unpaid = create_payment(&s, passtopay_payment(&s, "slow-1", 4, 500, None)).await;
    let moved = op
        .post("/console/sandbox/clock", &[("seconds", "3600")])
        .await;
    assert_eq!(moved.status, 303);
    assert_eq!(
        s.engine().payment(&unpaid.id).await.unwrap().state,
        PaymentState::Expired
    );
    assert!(
        op.get("/console/refunds")
            .await
            .body
            .contains("Nothing matches.")
    );
    let overview = op.get("/console").await;
    assert!(
        overview.body.contains("data-state=\"expired\""),
        "{}",
        overview.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gateway_mode_has_no_sandbox_actions() {
    let overrides = Overrides {
        mode: Some("gateway".into()),
        ..Overrides::default()
    };
    let s = TestServer::start_on(TestDb::sqlite(), overrides).await;
    let p = create_payment(&s, passtopay_payment(&s, "gw-1", 5, 700, None)).await;
    let op = Operator::sign_in(&s).await;
    let page = op.get(&format!("/console/payments/{}", p.id)).await;
    assert!(
        !page.body.contains("sandbox-pay") && !page.body.contains("/console/sandbox"),
        "{}",
        page.body
    );
    let refused = op
        .post(&format!("/console/payments/{}/pay", p.id), &[])
        .await;
    assert_eq!(refused.status, 404);
    assert_eq!(op.get("/console/sandbox").await.status, 404);
    assert_eq!(
        s.engine().payment(&p.id).await.unwrap().state,
        PaymentState::Created
    );

    // The operator settles by hand what the rail reported: a reference is required.
    assert!(page.body.contains("id=\"settle-succeed\""), "{}", page.body);
    let target = format!("/console/payments/{}/settle", p.id);
    let forged = op
        .post_raw(&target, &[("action", "succeed"), ("channel_order_no", "X")])
        .await;
    assert_eq!(forged.status, 403, "no CSRF token, no settlement");
    let bare = op.post(&target, &[("action", "succeed")]).await;
    assert_eq!(bare.status, 400, "{}", bare.body);
    assert!(
        bare.body.contains("channel_order_no must be"),
        "{}",
        bare.body
    );
    let paid = op
        .post(
            &target,
            &[
                ("action", "succeed"),
                ("channel_order_no", "RAIL-CONSOLE-1"),
            ],
        )
        .await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let done = s.engine().payment(&p.id).await.unwrap();
    assert_eq!(done.state, PaymentState::Succeeded);
    assert_eq!(done.channel_order_no.as_deref(), Some("RAIL-CONSOLE-1"));
    let after = op.get(&format!("/console/payments/{}", p.id)).await;
    assert!(
        !after.body.contains("settle-succeed"),
        "a paid payment has no form"
    );

    // A payout the rail took, then rejected: the money comes back.
    let new = NewPayout {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: "gw-po".into(),
        public_id: "T-GW".into(),
        amount: Money::new(300, Currency::CNY),
        notify_url: None,
        start_processing: false,
        attrs: json!({}),
    };
    let po = s.engine().create_payout(new).await.unwrap();
    let target = format!("/console/payouts/{}/settle", po.id);
    let page = op.get(&format!("/console/payouts/{}", po.id)).await;
    assert!(page.body.contains("id=\"settle-process\""), "{}", page.body);
    let taken = op.post(&target, &[("action", "process")]).await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    let failed = op
        .post(&target, &[("action", "fail"), ("code", "BANK_REJECTED")])
        .await;
    assert_eq!(failed.status, 303, "{}", failed.body);
    let done = s.engine().payout(&po.id).await.unwrap();
    assert_eq!(
        (done.state, done.error_code.as_deref()),
        (PayoutState::Failed, Some("BANK_REJECTED"))
    );
    let balances = s.engine().balances(&s.merchant.id).await.unwrap();
    assert_eq!(balances, vec![Money::new(700, Currency::CNY)]);

    // The merchant's statement, linked from its balance.
    let merchant = op
        .get(&format!("/console/merchants/{}", s.merchant.id))
        .await;
    let link = format!("/console/merchants/{}/ledger?currency=CNY", s.merchant.id);
    assert!(merchant.body.contains(&link), "{}", merchant.body);
    let statement = op.get(&link).await;
    assert_eq!(statement.status, 200);
    let kinds: Vec<_> = ["payout_reversal", "payout", "payment"]
        .iter()
        .map(|k| statement.body.find(&format!("<td>{k}</td>")))
        .collect();
    assert!(
        kinds.iter().all(Option::is_some) && kinds.windows(2).all(|w| w[0] < w[1]),
        "newest first: {}",
        statement.body
    );
    assert!(statement.body.contains("7.00 CNY"), "{}", statement.body);
    let bad = op
        .get(&format!(
            "/console/merchants/{}/ledger?currency=XX",
            s.merchant.id
        ))
        .await;
    assert_eq!(bad.status, 400);
}

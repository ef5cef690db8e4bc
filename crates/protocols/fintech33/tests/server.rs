//! The router on a real engine (SQLite always, PostgreSQL when configured), driven by the
//! phase-1 client over loopback: tokens, payers, orders, refunds and every error envelope.

mod harness;

use harness::*;
use polypay_core::{PaymentCommand, PaymentState, RefundState};
use polypay_fintech33::client::{ClientError, PreparedRequest, Verified};
use polypay_fintech33::wire::{OrderRef, OrderStatus, UpdatePayer};
use polypay_fintech33::{Client, RsaPrivateKey, Service, SignHash, sign};
use polypay_store::testing::TestDb;
use std::fmt::Debug;

fn ok<D: Debug>(v: Verified<D>) -> D {
    assert!(v.signature_valid, "response signature must verify");
    v.result.expect("business success")
}

fn code<D: Debug>(v: Verified<D>) -> String {
    assert!(v.signature_valid, "response signature must verify");
    let failure = v.result.expect_err("business failure");
    format!("{}: {}", failure.error_code, failure.error_message)
}

/// `(HTTP status, statusCode, message)` of an envelope-level refusal.
fn envelope<D: Debug>(r: Result<Verified<D>, ClientError>) -> (u16, i64, String) {
    match r {
        Err(ClientError::Envelope {
            http_status,
            status_code,
            message,
        }) => (http_status, status_code, message),
        other => panic!("expected an envelope error, got {other:?}"),
    }
}

async fn raw(client: &Client, req: PreparedRequest) -> (u16, serde_json::Value) {
    let (status, body) = client.send(&req).await.expect("transport");
    (status, serde_json::from_slice(&body).expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_issued_checked_and_expire() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let token = client.token().await.expect("token");
        assert_eq!(token.expires_in, 7200);
        assert_eq!(token.token.len(), 43);
        // Accepted: a signed business answer (the payer does not exist).
        code(
            client
                .get_payer(&token.token, "nobody@example.com")
                .await
                .unwrap(),
        );

        // Wrong secret, unknown app, malformed body.
        let mut keys = h.merchant_keys(None, SignHash::Sha256);
        keys.app_secret.push('x');
        let bad = Client::new(h.base_url.clone(), keys);
        let (status, body) = raw(&bad, bad.build_token().unwrap()).await;
        assert_eq!(
            (status, &body["statusCode"], &body["message"]),
            (401, &401.into(), &"invalid appId or appSecret".into())
        );
        let mut keys = h.merchant_keys(None, SignHash::Sha256);
        keys.app_id = "F000".into();
        let unknown = Client::new(h.base_url.clone(), keys);
        let (status, _) = raw(&unknown, unknown.build_token().unwrap()).await;
        assert_eq!(status, 401);
        let mut req = client.build_token().unwrap();
        req.body = br#"{"appId":"x"}"#.to_vec();
        let (status, body) = raw(&client, req).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            serde_json::json!({"statusCode":400,"message":"invalid request body"})
        );
        let mut req = client.build_token().unwrap();
        req.method = "GET";
        let (status, body) = raw(&client, req).await;
        assert_eq!((status, &body["statusCode"]), (405, &405.into()));

        // Missing, unknown and expired bearer tokens.
        let mut req = client.build_query_order(&token.token, &by_sn("A")).unwrap();
        req.headers.retain(|(n, _)| *n != "Authorization");
        let (status, body) = raw(&client, req).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            serde_json::json!({"statusCode":401,"message":"missing bearer token"})
        );
        let r = client.query_order("not-a-token", &by_sn("A")).await;
        assert_eq!(envelope(r), (401, 401, "invalid or expired token".into()));

        // A second router on the same database (a restart, another node) honours the token.
        let other = Client::new(
            serve(&h.engine, &h.platform).await,
            h.merchant_keys(None, SignHash::Sha256),
        );
        code(
            other
                .get_payer(&token.token, "nobody@example.com")
                .await
                .unwrap(),
        );

        h.clock.advance(7_199_999);
        code(
            client
                .get_payer(&token.token, "nobody@example.com")
                .await
                .unwrap(),
        );
        let purge = || polypay_fintech33::server::purge_expired_tokens(&h.engine);
        assert_eq!(purge().await.unwrap(), 0, "{}: still valid", h.db_name);
        h.clock.advance(1);
        let r = client.get_payer(&token.token, "nobody@example.com").await;
        assert_eq!(envelope(r).1, 401, "{}", h.db_name);
        // Expired tokens are deleted, not kept for ever.
        assert_eq!(purge().await.unwrap(), 1, "{}", h.db_name);
        assert_eq!(purge().await.unwrap(), 0, "{}", h.db_name);
    }
}

/// A token lives 7200 s (§3.1), but not past the `appSecret` it was issued for: a merchant
/// that rotates a leaked secret retires the tokens issued with it (polypay decision).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_app_secret_retires_its_tokens() {
    use polypay_engine::console::RotatableSecret;
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let token = client.token().await.expect("token");
        code(
            client
                .get_payer(&token.token, "nobody@example.com")
                .await
                .unwrap(),
        );
        let (_, fresh) = h
            .engine
            .rotate_secret(&h.merchant.id, RotatableSecret::Fintech33AppSecret)
            .await
            .expect("rotate");
        let r = client.get_payer(&token.token, "nobody@example.com").await;
        assert_eq!(
            envelope(r),
            (401, 401, "invalid or expired token".into()),
            "{}",
            h.db_name
        );
        let mut keys = h.merchant_keys(None, SignHash::Sha256);
        keys.app_secret = fresh.expose().to_owned();
        let renewed = Client::new(h.base_url.clone(), keys);
        let token = renewed.token().await.expect("a token for the new secret");
        code(
            renewed
                .get_payer(&token.token, "nobody@example.com")
                .await
                .unwrap(),
        );
        // Rotating the AES key is not rotating the secret: the token stays good.
        h.engine
            .rotate_secret(&h.merchant.id, RotatableSecret::Fintech33AesKey)
            .await
            .expect("rotate");
        let r = renewed.get_payer(&token.token, "nobody@example.com").await;
        assert!(
            !matches!(
                r,
                Err(ClientError::Envelope {
                    http_status: 401,
                    ..
                })
            ),
            "{r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payers_are_created_found_updated_and_unique() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let t = client.token().await.unwrap().token;
        let a = ok(client
            .create_payer(&t, &payer("tm.chan@example.com"))
            .await
            .unwrap());
        assert_eq!(a.payer_id, 10001);
        assert_eq!(a.payer, payer("tm.chan@example.com"));
        let b = ok(client
            .create_payer(&t, &payer("b@example.com"))
            .await
            .unwrap());
        assert_eq!(b.payer_id, 10002);
        assert_eq!(
            code(
                client
                    .create_payer(&t, &payer("TM.Chan@Example.com"))
                    .await
                    .unwrap()
            ),
            "PAYER_EXISTS: payer email already registered"
        );
        assert_eq!(
            ok(client.get_payer(&t, "TM.CHAN@example.com").await.unwrap()),
            a
        );
        assert_eq!(
            code(client.get_payer(&t, "x@example.com").await.unwrap()),
            "PAYER_NOT_FOUND: payer not found"
        );

        // Move payer A to a new email; its old email becomes free for someone else.
        let mut moved = payer("new@example.com");
        moved.city = "Kowloon".into();
        let u = UpdatePayer {
            payer_id: a.payer_id,
            payer: moved.clone(),
        };
        let updated = ok(client.update_payer(&t, &u).await.unwrap());
        assert_eq!((updated.payer_id, &updated.payer), (10001, &moved));
        code(client.get_payer(&t, "tm.chan@example.com").await.unwrap());
        assert_eq!(
            ok(client.get_payer(&t, "new@example.com").await.unwrap()),
            updated
        );
        let c = ok(client
            .create_payer(&t, &payer("tm.chan@example.com"))
            .await
            .unwrap());
        assert_eq!(c.payer_id, 10003);

        // Taking another payer's email, or updating an unknown payer, is refused.
        let u = UpdatePayer {
            payer_id: b.payer_id,
            payer: payer("NEW@example.com"),
        };
        assert!(code(client.update_payer(&t, &u).await.unwrap()).starts_with("PAYER_EXISTS"));
        let u = UpdatePayer {
            payer_id: 99999,
            payer: payer("z@example.com"),
        };
        assert!(code(client.update_payer(&t, &u).await.unwrap()).starts_with("PAYER_NOT_FOUND"));
        // Same email, other case: the payer keeps it.
        let u = UpdatePayer {
            payer_id: b.payer_id,
            payer: payer("B@example.com"),
        };
        assert_eq!(
            ok(client.update_payer(&t, &u).await.unwrap()).payer.email,
            "B@example.com"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_created_queried_and_never_duplicated() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let t = client.token().await.unwrap().token;
        let p = ok(client
            .create_payer(&t, &payer("a@example.com"))
            .await
            .unwrap());
        let created = ok(client
            .create_order(&t, &order("ORDER-0001", p.payer_id, "99.99"))
            .await
            .unwrap());
        assert_eq!(created.status, OrderStatus::New);
        assert_eq!(created.link_id.len(), 36);
        let payment = h.payment("ORDER-0001").await;
        assert_eq!(payment.public_id, created.link_id);
        assert_eq!(payment.state, PaymentState::Created);
        assert_eq!(
            (payment.amount.minor, payment.amount.currency.code()),
            (9999, "USD")
        );
        assert_eq!(payment.expires_at.millis(), START_MS + 15 * 60 * 1000);
        assert_eq!(
            created.payment_link,
            h.platform.cashier_url(&payment.cashier_token)
        );
        assert_eq!(
            created.link_expiry.as_millisecond(),
            payment.expires_at.millis()
        );
        assert_eq!(payment.attrs["request_id"], 10_000_001);
        assert_eq!(payment.attrs["platform_order_sn"], "SS2024010112000000001");

        // Duplicate order_sn: refused, and still exactly one payment with that number.
        let again = client
            .create_order(&t, &order("ORDER-0001", p.payer_id, "5"))
            .await
            .unwrap();
        assert_eq!(code(again), "DUPLICATE_ORDER: order_sn already exists");
        assert_eq!(h.payment("ORDER-0001").await.id, payment.id);
        assert_eq!(h.payment("ORDER-0001").await.amount.minor, 9999);
        assert!(
            code(
                client
                    .create_order(&t, &order("ORDER-0002", 4242, "5"))
                    .await
                    .unwrap()
            )
            .starts_with("PAYER_NOT_FOUND")
        );

        // Query by either reference; both must name the same order.
        let q = |r: OrderRef| {
            let client = &client;
            let t = &t;
            async move { client.query_order(t, &r).await.unwrap() }
        };
        assert_eq!(ok(q(by_sn("ORDER-0001")).await).outcome, OrderStatus::New);
        assert_eq!(
            ok(q(by_link(&created.link_id)).await).outcome,
            OrderStatus::New
        );
        let both = OrderRef {
            order_sn: Some("ORDER-0001".into()),
            link_id: Some(created.link_id.clone()),
        };
        ok(q(both).await);
        let other = ok(client
            .create_order(&t, &order("ORDER-0003", p.payer_id, "1"))
            .await
            .unwrap());
        let mixed = OrderRef {
            order_sn: Some("ORDER-0001".into()),
            link_id: Some(other.link_id),
        };
        assert_eq!(code(q(mixed).await), "ORDER_NOT_FOUND: order not found");
        assert!(code(q(by_sn("NOPE")).await).starts_with("ORDER_NOT_FOUND"));
        assert!(code(q(OrderRef::default()).await).starts_with("INVALID_PARAMETER: order_sn"));

        h.engine
            .transition_payment(&payment.id, PaymentCommand::Open)
            .await
            .unwrap();
        assert_eq!(
            ok(q(by_sn("ORDER-0001")).await).outcome,
            OrderStatus::Processing
        );
        let succeed = PaymentCommand::Succeed {
            channel_order_no: "ch-1".into(),
        };
        h.engine
            .transition_payment(&payment.id, succeed)
            .await
            .unwrap();
        assert_eq!(ok(q(by_sn("ORDER-0001")).await).outcome, OrderStatus::Paid);
        let exp = h.payment("ORDER-0003").await;
        h.engine
            .transition_payment(&exp.id, PaymentCommand::Expire)
            .await
            .unwrap();
        assert_eq!(
            ok(q(by_sn("ORDER-0003")).await).outcome,
            OrderStatus::Expired
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_envelope_error_is_rendered() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let t = client.token().await.unwrap().token;

        // Missing field and bad values: business failures in a signed envelope.
        let mut params = serde_json::to_value(order("O-1", 10001, "1")).unwrap();
        params.as_object_mut().unwrap().remove("currency");
        let req = client
            .build_service(&t, Service::CreateOrder, &params)
            .unwrap();
        let (status, body) = client.send(&req).await.unwrap();
        let v = client
            .parse_response::<serde_json::Value>(status, &body)
            .unwrap();
        assert_eq!(code(v), "INVALID_PARAMETER: currency: is required");
        params["currency"] = "USD".into();
        params["amount"] = serde_json::json!(1.005);
        let req = client
            .build_service(&t, Service::CreateOrder, &params)
            .unwrap();
        let (status, body) = client.send(&req).await.unwrap();
        let v = client
            .parse_response::<serde_json::Value>(status, &body)
            .unwrap();
        assert!(code(v).starts_with("INVALID_PARAMETER: amount"));

        // Malformed body, undecryptable bizContent, wrong signature, non-object plaintext,
        // unknown service.
        let mut req = client.build_get_payer(&t, "a@example.com").unwrap();
        req.body = b"{not json".to_vec();
        let (status, body) = raw(&client, req).await;
        assert_eq!(
            (status, body),
            (
                200,
                serde_json::json!({"statusCode":4000,"message":"invalid request body"})
            )
        );
        let mut req = client.build_get_payer(&t, "a@example.com").unwrap();
        req.body = br#"{"service":"getPayer","bizContent":"AAAA","sign":"AAAA"}"#.to_vec();
        let (status, body) = raw(&client, req).await;
        assert_eq!((status, &body["statusCode"]), (200, &4001.into()));
        let mut keys = h.merchant_keys(None, SignHash::Sha256);
        keys.private_key = RsaPrivateKey::generate().unwrap();
        let forger = Client::new(h.base_url.clone(), keys);
        let r = forger.get_payer(&t, "a@example.com").await;
        assert_eq!(
            envelope(r),
            (200, 4002, "signature verification failed".into())
        );
        let k = client.keys();
        let sealed = sign::seal(b"[1]", &k.cipher, &k.private_key, k.sign_hash).unwrap();
        let mut req = client.build_get_payer(&t, "a@example.com").unwrap();
        req.body = serde_json::to_vec(&serde_json::json!({"service":"getPayer","bizContent":sealed.biz_content,"sign":sealed.sign})).unwrap();
        let (_, body) = raw(&client, req).await;
        assert_eq!(
            body,
            serde_json::json!({"statusCode":4003,"message":"bizContent is not a JSON object"})
        );
        let mut req = client.build_get_payer(&t, "a@example.com").unwrap();
        req.body = String::from_utf8(req.body)
            .unwrap()
            .replace("\"getPayer\"", "\"getpayer\"")
            .into_bytes();
        let (_, body) = raw(&client, req).await;
        assert_eq!(
            body,
            serde_json::json!({"statusCode":4004,"message":"unknown service: getpayer"})
        );
        let mut req = client.build_get_payer(&t, "a@example.com").unwrap();
        req.method = "PUT";
        let (status, body) = raw(&client, req).await;
        assert_eq!((status, &body["statusCode"]), (405, &405.into()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_refunds_complete_at_once_and_need_balance() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let t = client.token().await.unwrap().token;
        let p = ok(client
            .create_payer(&t, &payer("a@example.com"))
            .await
            .unwrap());
        for sn in ["R-1", "R-2", "R-3"] {
            ok(client
                .create_order(&t, &order(sn, p.payer_id, "10.5"))
                .await
                .unwrap());
        }
        assert!(
            code(client.refund_order(&t, &by_sn("R-1")).await.unwrap())
                .starts_with("ORDER_STATUS_ERROR"),
            "unpaid order"
        );
        h.pay("R-1").await;
        h.pay("R-2").await;
        assert_eq!(h.usd_balance().await, 2100);

        let done = ok(client.refund_order(&t, &by_sn("R-1")).await.unwrap());
        assert_eq!(done.message, "Refund request submitted");
        assert_eq!(
            ok(client.query_order(&t, &by_sn("R-1")).await.unwrap()).outcome,
            OrderStatus::RefundCompleted
        );
        let payment = h.payment("R-1").await;
        assert_eq!(payment.state, PaymentState::Refunded);
        let refunds = h.engine.refunds_of_payment(&payment.id).await.unwrap();
        assert_eq!(refunds.len(), 1);
        assert_eq!(
            (
                refunds[0].merchant_refund_no.as_str(),
                refunds[0].amount.minor
            ),
            ("R-1#1", 1050)
        );
        assert_eq!(refunds[0].state, RefundState::Succeeded);
        assert_eq!(h.usd_balance().await, 1050);
        assert_eq!(
            code(client.refund_order(&t, &by_sn("R-1")).await.unwrap()),
            "ORDER_STATUS_ERROR: order status does not allow refund"
        );

        h.spend(100).await;
        assert_eq!(
            code(client.refund_order(&t, &by_sn("R-2")).await.unwrap()),
            "INSUFFICIENT_BALANCE: insufficient balance"
        );
        assert_eq!(h.usd_balance().await, 950);
        assert!(
            h.engine
                .refunds_of_payment(&h.payment("R-2").await.id)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            code(client.refund_order(&t, &by_sn("R-404")).await.unwrap())
                .starts_with("ORDER_NOT_FOUND")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_refunds_stay_pending_and_can_be_retried_after_failure() {
    for db in TestDb::all() {
        let h = Harness::start(db, false).await;
        let client = h.client();
        let t = client.token().await.unwrap().token;
        let p = ok(client
            .create_payer(&t, &payer("a@example.com"))
            .await
            .unwrap());
        let created = ok(client
            .create_order(&t, &order("G-1", p.payer_id, "7"))
            .await
            .unwrap());
        h.pay("G-1").await;
        ok(client
            .refund_order(&t, &by_link(&created.link_id))
            .await
            .unwrap());
        let q = || async { ok(client.query_order(&t, &by_sn("G-1")).await.unwrap()).outcome };
        assert_eq!(q().await, OrderStatus::RefundRequest);
        assert_eq!(h.usd_balance().await, 0);
        assert!(
            code(client.refund_order(&t, &by_sn("G-1")).await.unwrap())
                .starts_with("ORDER_STATUS_ERROR")
        );

        let payment = h.payment("G-1").await;
        let first = h
            .engine
            .refunds_of_payment(&payment.id)
            .await
            .unwrap()
            .remove(0);
        h.engine
            .settle_refund(&first, Some(("DECLINED".into(), "bank said no".into())))
            .await
            .unwrap();
        assert_eq!(q().await, OrderStatus::RefundFailed);
        assert_eq!(h.usd_balance().await, 700);

        ok(client.refund_order(&t, &by_sn("G-1")).await.unwrap());
        let refunds = h.engine.refunds_of_payment(&payment.id).await.unwrap();
        let numbers: Vec<&str> = refunds
            .iter()
            .map(|r| r.merchant_refund_no.as_str())
            .collect();
        assert_eq!(numbers.len(), 2);
        assert!(numbers.contains(&"G-1#1") && numbers.contains(&"G-1#2"));
        assert_eq!(q().await, OrderStatus::RefundRequest);
        let second = refunds
            .iter()
            .find(|r| r.state == RefundState::Pending)
            .unwrap();
        h.engine.settle_refund(second, None).await.unwrap();
        assert_eq!(q().await, OrderStatus::RefundCompleted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_options_cbc_and_sha1_apply_both_ways() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let iv = "EBESExQVFhcYGRobHB0eHw==";
        let mut m = h.merchant().await;
        m.settings = serde_json::json!({"fintech33": {"aes_mode": "CBC", "aes_iv": iv, "sign_hash": "SHA1"}});
        h.engine.update_merchant(m).await.unwrap();
        let client = h.client_with(Some(iv), SignHash::Sha1);
        let t = client.token().await.unwrap().token;
        assert_eq!(
            ok(client
                .create_payer(&t, &payer("cbc@example.com"))
                .await
                .unwrap())
            .payer_id,
            10001
        );
        // A client still on ECB / SHA-256 is refused at decryption or signature.
        let old = h.client();
        let status = envelope(old.get_payer(&t, "cbc@example.com").await).1;
        assert!(status == 4001 || status == 4002, "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_without_a_registered_key_cannot_sign() {
    for db in TestDb::all() {
        let h = Harness::start_with(db, true, false).await;
        let client = h.client();
        let t = client
            .token()
            .await
            .expect("token call needs no RSA key")
            .token;
        let r = client.get_payer(&t, "a@example.com").await;
        assert_eq!(
            envelope(r),
            (200, 4002, "signature verification failed".into())
        );
        let mut req = client.build_get_payer(&t, "a@example.com").unwrap();
        req.body = br#"{"service":"getPayer","bizContent":"AAAA","sign":"AAAA"}"#.to_vec();
        assert_eq!(raw(&client, req).await.1["statusCode"], 4001);
    }
}

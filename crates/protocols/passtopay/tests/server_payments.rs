//! The payment endpoints over HTTP on a real engine, driven by the phase-1 client: creates of
//! the three kinds, queries, duplicates, the error envelopes, close, and the cashier redirects.

mod harness;

use harness::*;
use polypay_core::{Currency, PaymentState};
use polypay_passtopay::client::PreparedRequest;
use polypay_passtopay::wire::*;

fn is_pay_order_id(id: &str) -> bool {
    id.len() == 20 && id.starts_with('P') && id[1..].bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test]
async fn unified_order_create_query_and_duplicate() {
    for h in Harness::all().await {
        let mut params = unified_params("U1", 100);
        params.channel_extra = Some(r#"{"payDataType":"codeImgUrl"}"#.into());
        let created = h.client.create_unified_order(&params).await.unwrap();
        assert!(created.signature_verified, "{}", h.backend);
        let d = created.data;
        assert_eq!((d.order_state, d.mch_order_no.as_str()), (1, "U1"));
        assert!(is_pay_order_id(&d.pay_order_id), "{}", d.pay_order_id);
        assert_eq!(d.pay_data_type.as_deref(), Some("codeImgUrl"));
        let p = h.payment(&d.pay_order_id).await;
        assert_eq!(p.state, PaymentState::Pending);
        assert_eq!(p.expires_at.millis(), START + 7200 * 1000);
        assert_eq!(
            d.pay_data.as_deref(),
            Some(format!("{}/passtopay/qr/{}.png", h.base_url, p.cashier_token).as_str())
        );

        for r in [
            PayOrderRef::PayOrderId(d.pay_order_id.clone()),
            PayOrderRef::MchOrderNo("U1".into()),
        ] {
            let q = h.client.query_payment(&r).await.unwrap();
            assert!(q.signature_verified);
            let q = q.data;
            assert_eq!((q.amount, q.state, q.currency.as_str()), (100, 1, "cny"));
            assert_eq!(q.way_code.as_deref(), Some("ALI_QR"));
            assert_eq!(q.if_code.as_deref(), Some("alipay"));
            assert_eq!(q.mch_no, h.merchant.credentials.passtopay.mch_no);
            assert_eq!(q.subject.as_deref(), Some("商品"));
            assert_eq!(q.ext_param.as_deref(), Some("ext & more"));
            assert_eq!(q.created_at, Some(START));
            assert_eq!(q.pay_url, None, "unifiedOrder has no payUrl");
        }

        // A retried create answers the duplicate error and writes nothing.
        let again = h.client.create_unified_order(&params).await;
        assert_eq!(api_msg(again), "duplicate mchOrderNo");
        assert_eq!(names(&h.outbox(p.id.as_str()).await), ["payment.pending"]);
        let gone = PayOrderRef::MchOrderNo("nope".into());
        assert_eq!(
            api_msg(h.client.query_payment(&gone).await),
            "order not found"
        );
    }
}

#[tokio::test]
async fn unified_order_pay_data_types() {
    for h in Harness::all().await {
        let mut wap = unified_params("W1", 5);
        wap.way_code = "ALI_WAP".into();
        let d = h.client.create_unified_order(&wap).await.unwrap().data;
        let token = h.payment(&d.pay_order_id).await.cashier_token;
        let cashier = format!("{}/passtopay/cashier?payOrderToken={token}", h.base_url);
        assert_eq!(d.pay_data_type.as_deref(), Some("payUrl"));
        assert_eq!(d.pay_data.as_deref(), Some(cashier.as_str()));

        wap.mch_order_no = "W2".into();
        wap.channel_extra = Some(r#"{"payDataType":"form"}"#.into());
        let d = h.client.create_unified_order(&wap).await.unwrap().data;
        let token = h.payment(&d.pay_order_id).await.cashier_token;
        assert_eq!(d.pay_data_type.as_deref(), Some("form"));
        let form = d.pay_data.unwrap();
        assert!(
            form.starts_with("<form name=\"punchout_form\" method=\"get\""),
            "{form}"
        );
        assert!(form.contains(&format!("value=\"{token}\"")));

        let qr = h.unified("Q1", 5).await;
        assert_eq!(qr.pay_data_type.as_deref(), Some("codeUrl"));
        assert!(
            qr.pay_data
                .unwrap()
                .contains("/passtopay/cashier?payOrderToken=")
        );
    }
}

#[tokio::test]
async fn cashier_and_crypto_orders() {
    for h in Harness::all().await {
        let cashier = CashierOrderParams {
            mch_order_no: "C1".into(),
            amount: 1999,
            currency: "usd".into(),
            cust_no: "C1".into(),
            register_time: 1_622_016_572_190,
            way_code: None,
            user_name: None,
            mbr_tel: None,
            id_no: None,
            notify_url: None,
            return_url: None,
            expired_time: Some(60),
            ext_param: None,
            subject: Some("ignored".into()),
            body: None,
        };
        let d = h.client.create_cashier_order(&cashier).await.unwrap().data;
        assert_eq!(
            (d.order_state, d.pay_data_type.as_deref()),
            (0, Some("payurl"))
        );
        let p = h.payment(&d.pay_order_id).await;
        assert_eq!(
            (p.state, p.amount.currency, p.amount.minor),
            (PaymentState::Created, Currency::USD, 1999)
        );
        assert_eq!(p.expires_at.millis(), START + 900 * 1000, "raised to 900 s");
        let url = format!(
            "{}/passtopay/cashier?payOrderToken={}",
            h.base_url, p.cashier_token
        );
        assert_eq!(d.pay_data.as_deref(), Some(url.as_str()));
        let q = h
            .client
            .query_payment(&PayOrderRef::MchOrderNo("C1".into()))
            .await
            .unwrap()
            .data;
        assert_eq!((q.state, q.amount, q.currency.as_str()), (0, 1999, "usd"));
        assert_eq!(q.pay_url.as_deref(), Some(url.as_str()));
        assert_eq!((q.way_code.as_deref(), q.subject), (Some("ALI_QR"), None));

        let crypto = CryptoOrderParams {
            mch_order_no: "X1".into(),
            amount: 10031,
            currency: "usdt".into(),
            chain: "0x2b6653dc".into(),
            subject: "s".into(),
            body: "b".into(),
            client_ip: "1.2.3.4".into(),
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
        let d = h.client.create_crypto_order(&crypto).await.unwrap().data;
        assert_eq!(
            (d.order_state, d.pay_data_type.as_deref()),
            (0, Some("payurl"))
        );
        let p = h.payment(&d.pay_order_id).await;
        assert_eq!(
            (p.amount.currency, p.amount.minor),
            (Currency::USDT, 100_310_000)
        );
        let q = h
            .client
            .query_payment(&PayOrderRef::PayOrderId(d.pay_order_id))
            .await
            .unwrap()
            .data;
        assert_eq!((q.amount, q.currency.as_str()), (10031, "usdt"));
        assert_eq!(q.if_code.as_deref(), Some("crypto"));
        assert_eq!(q.way_code.as_deref(), Some("CRYPTO_ADDRESS"));
        assert!(q.pay_url.is_some());
    }
}

/// Replaces one member of a prepared JSON request (without re-signing).
fn tamper(req: &PreparedRequest, name: &str, value: serde_json::Value) -> PreparedRequest {
    let mut v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    v[name] = value;
    PreparedRequest {
        body: serde_json::to_vec(&v).unwrap(),
        ..req.clone()
    }
}

fn msg_of(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["code"], 9999, "{body}");
    assert!(v.get("data").is_none() && v.get("sign").is_none(), "{body}");
    assert_eq!(v["traceId"].as_str().map(str::len), Some(32), "{body}");
    v["msg"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn error_envelopes() {
    for h in Harness::all().await {
        let now = START;
        let good = h
            .client
            .build_unified_order(&unified_params("E1", 100), now);

        let (status, ct, body) = h.raw(&tamper(&good, "amount", 101.into())).await;
        assert_eq!(
            (status, ct.as_str()),
            (200, "application/json;charset=UTF-8")
        );
        assert_eq!(msg_of(&body), "Signing failure");

        let mut missing = unified_params("E2", 100);
        missing.subject = String::new();
        let (_, _, body) = h.raw(&h.client.build_unified_order(&missing, now)).await;
        assert_eq!(msg_of(&body), "subject is required");

        let malformed = PreparedRequest {
            body: b"{\"mchNo\":".to_vec(),
            ..good.clone()
        };
        assert_eq!(msg_of(&h.raw(&malformed).await.2), "invalid request body");

        let stranger = tamper(&good, "mchNo", "M0000000000000".into());
        assert_eq!(
            msg_of(&h.raw(&stranger).await.2),
            "merchant or app not found"
        );
        let other_app = tamper(&good, "appId", "not-my-app".into());
        assert_eq!(
            msg_of(&h.raw(&other_app).await.2),
            "merchant or app not found"
        );

        // Text holding a NUL is invalid on both backends alike (PostgreSQL cannot store it).
        let mut nul_no = unified_params("E4\u{0}", 100);
        nul_no.subject = "ok".into();
        let (_, _, body) = h.raw(&h.client.build_unified_order(&nul_no, now)).await;
        assert_eq!(msg_of(&body), "mchOrderNo is invalid", "{}", h.backend);
        let mut nul_url = unified_params("E4", 100);
        nul_url.notify_url = Some("http://a.example/\u{0}".into());
        let (_, _, body) = h.raw(&h.client.build_unified_order(&nul_url, now)).await;
        assert_eq!(msg_of(&body), "notifyUrl is invalid", "{}", h.backend);
        let mut nul_subject = unified_params("E4", 100);
        nul_subject.subject = "a\u{0}b".into();
        let (_, _, body) = h
            .raw(&h.client.build_unified_order(&nul_subject, now))
            .await;
        assert_eq!(msg_of(&body), "subject is invalid", "{}", h.backend);

        let mut usd = unified_params("E3", 100);
        usd.currency = "usd".into();
        let r = h.client.create_unified_order(&usd).await;
        assert_eq!(api_msg(r), "currency is not supported");

        // No order was written by any of these.
        for no in ["E1", "E2", "E3", "E4"] {
            let r = h.engine.payment_by_order_no(&h.merchant.id, no).await;
            assert!(r.is_err(), "{no} was created");
        }

        // Other methods: 405 with an empty body.
        let r = h
            .http
            .get(format!("{}/api/pay/query", h.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405);
        assert!(r.text().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn disabled_merchant_and_rate_limit() {
    for h in Harness::all().await {
        h.set_settings(serde_json::json!({"rate_limit_per_minute": 2}))
            .await;
        let r = PayOrderRef::MchOrderNo("none".into());
        for _ in 0..2 {
            assert_eq!(api_msg(h.client.query_payment(&r).await), "order not found");
        }
        let req = h.client.build_query_payment(&r, START);
        let (status, _, body) = h.raw(&req).await;
        assert_eq!(
            (status, msg_of(&body).as_str()),
            (429, "rate limit exceeded")
        );
        // The next minute of the engine clock starts a new window.
        h.clock.advance(60_000);
        assert_eq!(api_msg(h.client.query_payment(&r).await), "order not found");

        let mut m = h.merchant_now().await;
        m.enabled = false;
        h.engine.update_merchant(m).await.unwrap();
        assert_eq!(
            api_msg(h.client.query_payment(&r).await),
            "merchant or app not found"
        );
    }
}

#[tokio::test]
async fn close_only_open_orders_and_never_notify() {
    for h in Harness::all().await {
        let d = h.unified("K1", 100).await;
        let r = PayOrderRef::PayOrderId(d.pay_order_id.clone());
        let (status, _, body) = h.raw(&h.client.build_close_payment(&r, START)).await;
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["code"].as_i64(), v["data"].clone()),
            (Some(0), serde_json::json!({}))
        );
        assert!(v.get("sign").is_none(), "empty data is not signed: {body}");

        let q = h.client.query_payment(&r).await.unwrap().data;
        assert_eq!(q.state, 6);
        let p = h.payment(&d.pay_order_id).await;
        assert_eq!(p.state, PaymentState::Cancelled);
        assert_eq!(p.attrs["closedByMerchant"], true);
        assert!(h.encode(p.id.as_str(), "payment.cancelled").await.is_none());

        let again = h.client.close_payment(&r).await;
        assert_eq!(api_msg(again), "order cannot be closed");
        let paid = h.paid("K2", 100).await;
        let r = PayOrderRef::MchOrderNo(paid.merchant_order_no.clone());
        assert_eq!(
            api_msg(h.client.close_payment(&r).await),
            "order cannot be closed"
        );
        let r = PayOrderRef::MchOrderNo("K3".into());
        assert_eq!(api_msg(h.client.close_payment(&r).await), "order not found");
    }
}

#[tokio::test]
async fn orders_are_scoped_to_their_merchant() {
    for h in Harness::all().await {
        let d = h.unified("S1", 100).await;
        let (other, _) = h
            .engine
            .create_merchant(polypay_engine::NewMerchant {
                name: "other".into(),
                notify_url: None,
                generate_keys: false,
            })
            .await
            .unwrap();
        let client = polypay_passtopay::Client::new(h.base_url.clone(), credentials(&other));
        let by_id = PayOrderRef::PayOrderId(d.pay_order_id);
        assert_eq!(
            api_msg(client.query_payment(&by_id).await),
            "order not found"
        );
        assert_eq!(
            api_msg(client.close_payment(&by_id).await),
            "order not found"
        );
        // The same order number is free for another merchant.
        let mine = client
            .create_unified_order(&unified_params("S1", 7))
            .await
            .unwrap();
        assert_eq!(mine.data.order_state, 1);
    }
}

#[tokio::test]
async fn the_cashier_link_redirects_and_the_qr_images_encode_it() {
    for h in Harness::all().await {
        let d = h.unified("R1", 100).await;
        let token = h.payment(&d.pay_order_id).await.cashier_token;
        let get = |path: String| h.http.get(format!("{}{path}", h.base_url)).send();
        let r = get(format!("/passtopay/cashier?payOrderToken={token}"))
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 302);
        assert_eq!(
            r.headers()["location"],
            h.platform.cashier_url(&token).as_str()
        );
        // The images are QR codes of codeUrl (the PassToPay link), not of the page it leads to.
        let code_url = format!(
            "{}/passtopay/cashier?payOrderToken={token}",
            h.platform.public_base_url
        );
        let page = h.platform.cashier_url(&token);
        let r = get(format!("/passtopay/qr/{token}.png")).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        let png = r.bytes().await.unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(Some(png.to_vec()), polypay_engine::qr::png(&code_url));
        assert_ne!(Some(png.to_vec()), polypay_engine::qr::png(&page));
        let r = get(format!("/passtopay/qr/{token}.svg")).await.unwrap();
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert_eq!(
            r.text().await.unwrap(),
            polypay_engine::qr::svg(&code_url).unwrap()
        );
        for bad in [
            "/passtopay/cashier".to_owned(),
            "/passtopay/cashier?payOrderToken=abc".to_owned(),
            format!("/passtopay/qr/{token}.gif"),
            format!("/passtopay/qr/{}.png", token.to_uppercase()),
            // Well-formed, but no order's: no link to nothing on the gateway's domain.
            format!("/passtopay/cashier?payOrderToken={}", "ab".repeat(32)),
            format!("/passtopay/qr/{}.png", "ab".repeat(32)),
            format!("/passtopay/qr/{}.svg", "ab".repeat(32)),
        ] {
            assert_eq!(
                get(bad.clone()).await.unwrap().status().as_u16(),
                404,
                "{bad}"
            );
        }
    }
}

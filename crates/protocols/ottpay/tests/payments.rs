//! ACTIVEPAY, H5PAY, PREPAY_INIT, PREPAY_QUERY, STATUS_QUERY and EX_RATE_QUERY through the
//! router on a real engine, driven by the phase-1 client.

mod harness;

use harness::{Harness, active_pay, prepay_init};
use polypay_core::{PaymentCommand, PaymentState};
use polypay_ottpay::client::StatusQueryData;
use polypay_ottpay::wire::{
    ExRateQueryRequest, H5PayRequest, PrepayQueryRequest, StatusQueryRequest,
};
use polypay_store::testing::TestDb;

#[tokio::test]
async fn active_pay_creates_a_payment_and_status_query_reads_it() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let reply = client
            .active_pay(&active_pay(Some("A-1"), "100", "5"))
            .await
            .expect("call");
        assert_eq!(
            (reply.rsp_code.as_str(), reply.rsp_msg.as_str()),
            ("SUCCESS", "success")
        );
        let data = reply.into_verified().expect("verified");
        let payment = h.payment("A-1").await;
        assert_eq!(data.order_id, "A-1");
        assert_eq!(
            data.code_url,
            h.platform.cashier_url(&payment.cashier_token)
        );
        assert!(data.bizpay_order_id.starts_with("AL") && data.bizpay_order_id.len() == 18);
        assert_eq!(payment.state, PaymentState::Created, "{}", h.db_name);
        assert_eq!(payment.amount.minor, 105);
        assert_eq!(payment.amount.currency.code(), "CAD");
        assert_eq!(payment.merchant_order_no, "A-1");
        assert_eq!(payment.notify_url.as_deref(), Some("https://m.example/cb"));
        // Default payment lifetime: 2 h.
        assert_eq!(
            payment.expires_at.millis() - payment.created_at.millis(),
            7_200_000
        );

        let query = StatusQueryRequest {
            order_id: "A-1".into(),
        };
        let status = client.status_query(&query).await.expect("query");
        let StatusQueryData::Payment(p) = status.into_verified().expect("verified") else {
            panic!("a payment answer");
        };
        assert_eq!(p.order_status, "PROCESSING");
        assert_eq!(
            (p.total_amount.as_str(), p.pay_amount.as_str()),
            ("105", "0")
        );
        assert_eq!((p.tip.as_str(), p.biz_type.as_str()), ("5", "ALIPAY"));
        assert_eq!(p.bizpay_order_id, data.bizpay_order_id);
        assert_eq!(p.trade_time, "2023-03-23 01:21:53");
        assert_eq!(p.merchant_id, h.ott_merchant_id());
        assert_eq!(p.buyer_login_id, "");

        h.pay("A-1").await;
        let status = client.status_query(&query).await.expect("query");
        let StatusQueryData::Payment(p) = status.into_verified().expect("verified") else {
            panic!("a payment answer");
        };
        assert_eq!(
            (p.order_status.as_str(), p.pay_amount.as_str()),
            ("SUCCESS", "105")
        );
        assert!(p.buyer_login_id.starts_with("sbx"));
    }
}

#[tokio::test]
async fn a_repeated_order_id_is_order_used_and_writes_nothing() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let first = client
            .active_pay(&active_pay(Some("D1"), "100", "0"))
            .await
            .expect("call");
        assert_eq!(first.rsp_code, "SUCCESS");
        let before = h.payment("D1").await;
        let again = client
            .active_pay(&active_pay(Some("D1"), "999", "0"))
            .await
            .expect("call");
        assert_eq!(
            (again.rsp_code.as_str(), again.rsp_msg.as_str()),
            ("ORDER_USED", "order_id already used")
        );
        assert_eq!(again.data, None);
        assert_eq!(h.payment("D1").await, before);
        // PREPAY shares the namespace: its prepay_order_id may not reuse D1 either.
        let prepay = client.prepay_init(&prepay_init("D1")).await.expect("call");
        assert_eq!(prepay.rsp_msg, "prepay_order_id already used");
        // So is the order id a PREPAY payment drew for itself (its merchant number is its
        // prepay_order_id): the insert refuses its public id.
        let ok = client.prepay_init(&prepay_init("P-9")).await.expect("call");
        assert_eq!(ok.rsp_code, "SUCCESS");
        let prepaid = h
            .engine
            .payment_by_order_no(&h.merchant.id, "P-9")
            .await
            .expect("payment");
        let drawn = polypay_ottpay::server::PaymentAttrs::of(&prepaid)
            .expect("attrs")
            .order_id;
        let taken = client
            .active_pay(&active_pay(Some(&drawn), "100", "0"))
            .await
            .expect("call");
        assert_eq!(
            (taken.rsp_code.as_str(), taken.rsp_msg.as_str()),
            ("ORDER_USED", "order_id already used"),
            "{}",
            drawn
        );
        // The `/process` alias behaves the same.
        let alias = client.clone().with_path("/process");
        let via_alias = alias
            .active_pay(&active_pay(Some("D1"), "100", "0"))
            .await
            .expect("call");
        assert_eq!(via_alias.rsp_code, "ORDER_USED");
    }
}

#[tokio::test]
async fn generated_order_ids_have_17_digits() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    let data = h
        .client()
        .active_pay(&active_pay(None, "100", "0"))
        .await
        .expect("call")
        .into_verified()
        .expect("verified");
    assert_eq!(data.order_id.len(), 17);
    assert!(data.order_id.starts_with(&START_PREFIX.to_string()));
    assert_eq!(
        h.payment(&data.order_id).await.merchant_order_no,
        data.order_id
    );
}

const START_PREFIX: i64 = harness::START_MS;

#[tokio::test]
async fn h5pay_answers_payinfo_and_the_time_zone() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let req = H5PayRequest {
            submit_type: "form".into(),
            shop_id: Some("S1".into()),
            amount: "5".into(),
            currency_type: "USD".into(),
            open_id: Some("owv3d1YJwmzug7z2ozlPyqIItA7E".into()),
            operator_id: "0000000437".into(),
            biz_type: "WECHATPAY".into(),
            merchant_id: Some(h.ott_merchant_id()),
            order_id: Some("20220510125455761".into()),
            call_back_url: "http://uatqrpay.ottpay.com/back_response".into(),
        };
        let data = h
            .client()
            .h5_pay(&req)
            .await
            .expect("call")
            .into_verified()
            .expect("verified");
        let payment = h.payment("20220510125455761").await;
        assert_eq!(data.order_id, "20220510125455761");
        assert_eq!(data.merchant_id, h.ott_merchant_id());
        assert_eq!(data.amount, "5");
        assert_eq!(data.payinfo, h.platform.cashier_url(&payment.cashier_token));
        assert_eq!(data.time_zone_id, "Asia/Shanghai");
        assert_eq!(payment.amount.currency.code(), "USD");
        h.pay("20220510125455761").await;
        let query = StatusQueryRequest {
            order_id: "20220510125455761".into(),
        };
        let reply = h.client().status_query(&query).await.expect("query");
        let StatusQueryData::Payment(p) = reply.into_verified().expect("verified") else {
            panic!("payment");
        };
        assert_eq!(p.buyer_login_id, "owv3d1YJwmzug7z2ozlPyqIItA7E");
        assert!(p.bizpay_order_id.starts_with("WX"));
    }
}

#[tokio::test]
async fn prepay_init_and_prepay_query_follow_the_payment() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let data = client
            .prepay_init(&prepay_init("prepay-1"))
            .await
            .expect("call")
            .into_verified()
            .expect("verified");
        assert_eq!(
            (data.prepay_order_id.as_str(), data.amount.as_str()),
            ("prepay-1", "500")
        );
        assert_eq!(data.currency_type, "CAD");
        assert_eq!(data.create_time, "2023-03-23 01:21:53");
        assert_eq!(data.expire_time, "2023-03-23 01:23:33");
        let payment = h
            .engine
            .payment_by_order_no(&h.merchant.id, "prepay-1")
            .await
            .expect("payment");
        assert_eq!(data.payinfo, h.platform.cashier_url(&payment.cashier_token));
        assert_eq!(
            payment.return_url.as_deref(),
            Some("https://m.example/back?x=1")
        );
        assert_eq!(
            payment.expires_at.millis() - payment.created_at.millis(),
            100_000
        );

        let query = PrepayQueryRequest {
            prepay_order_id: "prepay-1".into(),
            order_id: None,
            merchant_id: String::new(),
        };
        let q = client
            .prepay_query(&query)
            .await
            .expect("call")
            .into_verified()
            .expect("ok");
        assert_eq!((q.status.as_str(), q.order_id.as_str()), ("PROCESSING", ""));
        assert_eq!(
            (q.merchant_name.as_str(), q.sale_num.as_str()),
            ("OTT shop", "20220727132626764")
        );
        assert_eq!(
            (q.email.as_str(), q.remarks.as_str()),
            ("inforsa@ott.ca", "可以")
        );
        assert_eq!(
            (q.duration.as_str(), q.biz_type.as_str()),
            ("100", "PREPAY")
        );
        assert_eq!(q.payments_methods, "WECHATPAY,ALIPAY,UNIONPAY");
        assert_eq!(q.redirect_url, "https://m.example/back?x=1");

        h.engine
            .transition_payment(&payment.id, PaymentCommand::Open)
            .await
            .expect("open");
        let q = client
            .prepay_query(&query)
            .await
            .expect("call")
            .into_verified()
            .expect("ok");
        let order_id = q.order_id.clone();
        assert_eq!(order_id.len(), 17);
        assert_eq!(
            order_id,
            payment.public_id.rsplit('.').next().unwrap_or_default()
        );

        h.pay(&order_id).await;
        let with_id = PrepayQueryRequest {
            order_id: Some(order_id.clone()),
            ..query.clone()
        };
        let q = client
            .prepay_query(&with_id)
            .await
            .expect("call")
            .into_verified()
            .expect("ok");
        assert_eq!(q.status, "SUCCESS");
        let status = client
            .status_query(&StatusQueryRequest {
                order_id: order_id.clone(),
            })
            .await
            .expect("call");
        let StatusQueryData::Payment(p) = status.into_verified().expect("ok") else {
            panic!("payment");
        };
        assert_eq!(
            (p.order_status.as_str(), p.biz_type.as_str()),
            ("SUCCESS", "PREPAY")
        );
        assert_eq!(p.bizpay_order_id, "WX5908991856628806");

        let wrong = PrepayQueryRequest {
            order_id: Some("00000000000000000".into()),
            ..query
        };
        let r = client.prepay_query(&wrong).await.expect("call");
        assert_eq!(
            (r.rsp_code.as_str(), r.rsp_msg.as_str()),
            ("FAIL", "order not found")
        );
        let again = client
            .prepay_init(&prepay_init("prepay-1"))
            .await
            .expect("call");
        assert_eq!(
            (again.rsp_code.as_str(), again.rsp_msg.as_str()),
            ("ORDER_USED", "prepay_order_id already used")
        );
    }
}

#[tokio::test]
async fn prepay_query_does_not_show_other_payments() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    h.client()
        .active_pay(&active_pay(Some("A1"), "100", "0"))
        .await
        .expect("call");
    let query = PrepayQueryRequest {
        prepay_order_id: "A1".into(),
        order_id: None,
        merchant_id: String::new(),
    };
    let r = h.client().prepay_query(&query).await.expect("call");
    assert_eq!(r.rsp_msg, "order not found");
    let missing = StatusQueryRequest {
        order_id: "nope".into(),
    };
    let r = h.client().status_query(&missing).await.expect("call");
    assert_eq!(
        (r.rsp_code.as_str(), r.rsp_msg.as_str()),
        ("FAIL", "order not found")
    );
}

#[tokio::test]
async fn ex_rate_query_reads_the_sandbox_table_and_the_merchant_override() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    let client = h.client();
    let cad = ExRateQueryRequest {
        fee_type: "CAD".into(),
    };
    let data = client
        .ex_rate_query(&cad)
        .await
        .expect("call")
        .into_verified()
        .expect("ok");
    assert_eq!(
        (data.fee_type.as_str(), data.rate.as_str()),
        ("CAD", "505703000")
    );
    let eur = ExRateQueryRequest {
        fee_type: "EUR".into(),
    };
    let r = client.ex_rate_query(&eur).await.expect("call");
    assert_eq!(
        (r.rsp_code.as_str(), r.rsp_msg.as_str()),
        ("PARAM_INVALID", "invalid parameter: fee_type")
    );
    h.set_settings(serde_json::json!({"exchange_rates": {"EUR": 780000000}}))
        .await;
    let data = client
        .ex_rate_query(&eur)
        .await
        .expect("call")
        .into_verified()
        .expect("ok");
    assert_eq!(data.rate, "780000000");
}

#[tokio::test]
async fn merchant_settings_restrict_currencies_and_operators() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    h.set_settings(serde_json::json!({
        "currencies": ["CAD"],
        "operator_ids": ["0000000437"],
        "time_zone": "America/Toronto",
        "payment_lifetime_seconds": 60
    }))
    .await;
    let client = h.client();
    let mut usd = active_pay(Some("U1"), "100", "0");
    usd.currency_type = Some("USD".into());
    let r = client.active_pay(&usd).await.expect("call");
    assert_eq!(r.rsp_msg, "invalid parameter: currency_type");
    let mut operator = active_pay(Some("U2"), "100", "0");
    operator.operator_id = "other".into();
    let r = client.active_pay(&operator).await.expect("call");
    assert_eq!(r.rsp_msg, "invalid parameter: operator_id");
    let r = client
        .active_pay(&active_pay(Some("U3"), "100", "0"))
        .await
        .expect("call");
    assert_eq!(r.rsp_code, "SUCCESS");
    let p = h.payment("U3").await;
    assert_eq!(p.expires_at.millis() - p.created_at.millis(), 60_000);
    let status = client
        .status_query(&StatusQueryRequest {
            order_id: "U3".into(),
        })
        .await
        .expect("call");
    let StatusQueryData::Payment(p) = status.into_verified().expect("ok") else {
        panic!("payment");
    };
    assert_eq!(p.trade_time, "2023-03-22 13:21:53");
}

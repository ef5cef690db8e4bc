//! The router on a real engine, driven by the phase-1 client over loopback HTTP.

mod harness;

use harness::{Harness, api_code};
use polypay_blockatm::client::PaymentListFilter;
use polypay_blockatm::network::{is_evm_address, is_tron_address};
use polypay_blockatm::ratelimit::RateLimitConfig;
use polypay_blockatm::wire::{
    CashierInfo, CreateOrderData, CreateOrderRequest, CreatePayoutRequest, NetworkInfo,
    PayOrderDetail, PayOrderListItem, PaymentStatus, PayoutDetail, TokenInfo,
};
use polypay_core::{PaymentState, PayoutCommand};

fn order(order_no: &str, amount: &str) -> CreateOrderRequest {
    CreateOrderRequest {
        order_no: order_no.into(),
        amount: amount.into(),
        symbol: "usdt".into(),
        chain_id: None,
        cashier_id: None,
        cust_no: Some("C-1".into()),
        redirect_url: Some("https://shop.example/back".into()),
    }
}

fn payout(biz_order_no: &str, amount: &str) -> CreatePayoutRequest {
    CreatePayoutRequest {
        biz_order_no: biz_order_no.into(),
        amount: amount.into(),
        chain_id: "11155111".into(),
        symbol: "USDT".into(),
        to_address: "0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2".into(),
        cust_no: "473_860001".into(),
        remark: Some("demo for create payout order".into()),
        merchant_id: None,
    }
}

#[tokio::test]
async fn create_query_and_list_a_payment() {
    for h in Harness::all().await {
        let client = h.client(false);
        let now = h.now_ms();
        let created: CreateOrderData = h
            .call(
                &client,
                client
                    .build_create_order(&order("O-1", "100.5"), now)
                    .unwrap(),
            )
            .await
            .unwrap()
            .data;
        assert_eq!(created.order_no, "O-1");
        assert_eq!(created.expire_time, harness::START + 15 * 60 * 1000);
        assert!(
            created
                .pay_url
                .starts_with(&format!("{}/cashier/", h.base_url))
        );
        assert!(
            created
                .qr_code
                .starts_with("data:image/png;base64,iVBORw0KGgo")
        );
        let payment = h
            .engine
            .payment_by_order_no(&h.merchant.id, "O-1")
            .await
            .unwrap();
        assert_eq!(payment.state, PaymentState::Created);
        assert_eq!(
            created.pay_url,
            h.platform.cashier_url(&payment.cashier_token)
        );
        assert_eq!(
            payment.return_url.as_deref(),
            Some("https://shop.example/back")
        );

        let detail: PayOrderDetail = h
            .call(&client, client.build_payment_detail("O-1", now).unwrap())
            .await
            .unwrap()
            .data;
        assert_eq!(detail.id, 8_210_000_001, "{}", h.backend);
        assert_eq!(detail.status, PaymentStatus::WaitingPayment);
        assert_eq!(detail.amount.as_str(), "100.5");
        assert_eq!(detail.chain_id.as_str(), "0x2b6653dc");
        assert_eq!(detail.network.as_deref(), Some("TRON"));
        assert_eq!(detail.symbol, "USDT");
        assert_eq!(detail.cashier_id, Some(h.cashier_id()));
        assert_eq!(detail.order_type, Some(2));
        assert_eq!(
            (detail.tx_id.clone(), detail.from_address.clone()),
            (None, None)
        );

        h.pay("O-1").await;
        let paid: PayOrderDetail = h
            .call(&client, client.build_payment_detail("O-1", now).unwrap())
            .await
            .unwrap()
            .data;
        assert_eq!(paid.status, PaymentStatus::Success);
        assert!(is_tron_address(paid.from_address.as_deref().unwrap()));
        assert_eq!(paid.tx_id.as_ref().map(String::len), Some(66));
        assert_eq!(paid.block_time, Some(harness::START));

        let filter = |symbol: &str| PaymentListFilter {
            order_no: "O-1".into(),
            symbol: Some(symbol.into()),
            chain_id: Some("tron".into()),
            ..Default::default()
        };
        let list: Vec<PayOrderListItem> = h
            .call(
                &client,
                client.build_payment_list(&filter("USDT"), now).unwrap(),
            )
            .await
            .unwrap()
            .data;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].status, 9);
        assert_eq!(list[0].tx_id, paid.tx_id);
        let none: Vec<PayOrderListItem> = h
            .call(
                &client,
                client.build_payment_list(&filter("USDC"), now).unwrap(),
            )
            .await
            .unwrap()
            .data;
        assert!(none.is_empty());
        let missing = h
            .call::<PayOrderDetail>(&client, client.build_payment_detail("nope", now).unwrap())
            .await;
        assert_eq!(api_code(missing), (200, "000202".into()));
    }
}

#[tokio::test]
async fn duplicate_order_numbers_are_refused_without_writing() {
    for h in Harness::all().await {
        let client = h.client(false);
        let now = h.now_ms();
        let first = client.build_create_order(&order("DUP", "1"), now).unwrap();
        h.call::<CreateOrderData>(&client, first.clone())
            .await
            .unwrap();
        let again = h.call::<CreateOrderData>(&client, first).await;
        assert_eq!(api_code(again), (200, "000106".into()));
        let other = client.build_create_order(&order("DUP", "2"), now).unwrap();
        assert_eq!(
            api_code(h.call::<CreateOrderData>(&client, other).await).1,
            "000106"
        );
        let payment = h
            .engine
            .payment_by_order_no(&h.merchant.id, "DUP")
            .await
            .unwrap();
        assert_eq!(
            payment.amount.minor, 1_000_000,
            "the first order is untouched"
        );
        // On SQLite refused creates consume no platform order id; on PostgreSQL a node draws
        // ids from its reserved block before the insert refuses a duplicate, so they leave gaps.
        let next = client.build_create_order(&order("NEXT", "1"), now).unwrap();
        h.call::<CreateOrderData>(&client, next).await.unwrap();
        let next = h
            .engine
            .payment_by_order_no(&h.merchant.id, "NEXT")
            .await
            .unwrap();
        match h.backend {
            "sqlite" => assert_eq!(next.public_id, "8210000002"),
            _ => assert_eq!(
                next.public_id, "8210000004",
                "two refused duplicates drew 2 and 3"
            ),
        }
        assert_eq!(h.outbox(payment.id.as_str()).await.len(), 1);
    }
}

#[tokio::test]
async fn refusals_render_the_section_4_envelope() {
    for h in Harness::all().await {
        let client = h.client(false);
        let now = h.now_ms();
        // Wrong signature.
        let mut tampered = client.build_create_order(&order("S-1", "1"), now).unwrap();
        for (name, value) in tampered.headers.iter_mut() {
            if name == "BlockATM-Signature-V2" {
                *value = "0".repeat(64);
            }
        }
        let (status, body, headers) = h.raw(&client, tampered).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/json;charset=UTF-8");
        let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(envelope["code"], "000105");
        assert_eq!(envelope["success"], false);
        assert_eq!(envelope["data"], serde_json::Value::Null);
        assert_eq!(envelope["trace"].as_str().unwrap().len(), 32);
        // Stale time.
        let stale = client
            .build_create_order(&order("S-2", "1"), now - 30_001)
            .unwrap();
        assert_eq!(
            api_code(h.call::<CreateOrderData>(&client, stale).await).1,
            "000105"
        );
        // Missing field: signed correctly, but no symbol.
        let mut body = serde_json::to_value(order("S-3", "1")).unwrap();
        body.as_object_mut().unwrap().remove("symbol");
        let missing = signed_post(&h, &client, "/order/api/v2/pay/order", &body.to_string()).await;
        assert_eq!(
            (missing["code"].as_str(), missing["msg"].as_str()),
            (Some("000103"), Some("missing required parameter: symbol"))
        );
        // Malformed body.
        let malformed = signed_post(&h, &client, "/order/api/v2/pay/order", "[1,2]").await;
        assert_eq!(malformed["code"], "000102");
        let broken = signed_post(&h, &client, "/order/api/v2/pay/order", "{\"orderNo\":").await;
        assert_eq!(broken["code"], "000102");
        // Excess precision.
        let precise = client
            .build_create_order(&order("S-4", "1.0000001"), now)
            .unwrap();
        assert_eq!(
            api_code(h.call::<CreateOrderData>(&client, precise).await).1,
            "000102"
        );
        // No key; unknown key; unknown path.
        let mut keyless = client.build_payment_detail("x", now).unwrap();
        keyless.headers.retain(|(n, _)| n != "BlockATM-API-Key");
        assert_eq!(
            api_code(h.call::<PayOrderDetail>(&client, keyless).await).1,
            "000112"
        );
        let mut unknown = client.build_payment_detail("x", now).unwrap();
        for (name, value) in unknown.headers.iter_mut() {
            if name == "BlockATM-API-Key" {
                *value = "pk_payment_unknown".into();
            }
        }
        assert_eq!(
            api_code(h.call::<PayOrderDetail>(&client, unknown).await).1,
            "000105"
        );
        for (method, path) in [
            ("GET", "/order/api/v2/nothing"),
            ("GET", "/order/api/v2/pay/order"),
        ] {
            let response = h
                .http
                .request(method.parse().unwrap(), format!("{}{path}", h.base_url))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 404);
            let envelope: serde_json::Value = response.json().await.unwrap();
            assert_eq!(envelope["msg"], "illegal request: unknown path");
        }
        assert!(
            h.engine
                .payment_by_order_no(&h.merchant.id, "S-1")
                .await
                .is_err()
        );
    }
}

/// POSTs `body` with a valid V2 signature over it.
async fn signed_post(
    h: &Harness,
    client: &polypay_blockatm::client::Client,
    path: &str,
    body: &str,
) -> serde_json::Value {
    use polypay_blockatm::sign::{canonical_post, hmac_hex, parse_body};
    let time = h.now_ms().to_string();
    let canonical = match parse_body(body.as_bytes()) {
        Ok(json) => canonical_post(&json, &time),
        Err(_) => format!("time={time}"),
    };
    let secret = client.credentials().secret_key.clone();
    let response = h
        .http
        .post(format!("{}{path}", h.base_url))
        .header("Content-Type", "application/json")
        .header("BlockATM-API-Key", &client.credentials().api_key)
        .header("BlockATM-Request-Time", &time)
        .header("BlockATM-Signature-V2", hmac_hex(&secret, &canonical))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn v1_signed_requests_use_the_registered_key() {
    for h in Harness::all().await {
        let client = h.client(true);
        let now = h.now_ms();
        let prepared = client.build_create_order(&order("V1-1", "5"), now).unwrap();
        assert!(
            prepared
                .headers
                .iter()
                .any(|(n, _)| n == "BlockATM-Signature-V1")
        );
        h.call::<CreateOrderData>(&client, prepared).await.unwrap();
        let detail: PayOrderDetail = h
            .call(&client, client.build_payment_detail("V1-1", now).unwrap())
            .await
            .unwrap()
            .data;
        assert_eq!(detail.order_no.as_deref(), Some("V1-1"));
    }
}

#[tokio::test]
async fn payouts_need_balance_and_report_their_state() {
    for h in Harness::all().await {
        let client = h.client(false);
        let now = h.now_ms();
        let poor = client
            .build_create_payout(&payout("P-1", "44"), now)
            .unwrap();
        assert_eq!(api_code(h.call::<()>(&client, poor).await).1, "000307");
        h.call::<CreateOrderData>(
            &client,
            client
                .build_create_order(&order("FUND", "100"), now)
                .unwrap(),
        )
        .await
        .unwrap();
        h.pay("FUND").await;
        let create = client
            .build_create_payout(&payout("P-1", "44"), now)
            .unwrap();
        let answer = h.call::<Option<()>>(&client, create.clone()).await.unwrap();
        assert_eq!(answer.data, None);
        assert_eq!(api_code(h.call::<()>(&client, create).await).1, "000106");
        let balance = h.engine.balances(&h.merchant.id).await.unwrap();
        assert_eq!(balance[0].minor, 56_000_000, "{balance:?}");

        let detail: PayoutDetail = h
            .call(&client, client.build_payout_detail("P-1", now).unwrap())
            .await
            .unwrap()
            .data;
        assert_eq!(detail.status, 0);
        assert_eq!(detail.plat_order_no.as_deref(), Some("8310000001"));
        assert_eq!(detail.amount.as_str(), "44");
        assert_eq!(detail.network.as_deref(), Some("Sepolia"));
        assert_eq!(detail.fee.as_ref().map(|f| f.as_str()), Some("0"));
        assert!(detail.tx_id.is_none());
        let expected_contract: i64 = format!("3{}", h.cashier_id()).parse().unwrap();
        assert_eq!(detail.contract_id, Some(expected_contract));

        let stored = h
            .engine
            .payout_by_order_no(&h.merchant.id, "P-1")
            .await
            .unwrap();
        h.engine
            .transition_payout(
                &stored.id,
                PayoutCommand::Succeed {
                    channel_order_no: "c".into(),
                },
            )
            .await
            .unwrap();
        let done: PayoutDetail = h
            .call(&client, client.build_payout_detail("P-1", now).unwrap())
            .await
            .unwrap()
            .data;
        assert_eq!(done.status, 1);
        assert!(done.tx_id.is_some() && done.block_time.is_some());
        let missing = client.build_payout_detail("P-404", now).unwrap();
        assert_eq!(
            api_code(h.call::<PayoutDetail>(&client, missing).await).1,
            "000202"
        );
        let mut foreign = payout("P-2", "1");
        foreign.merchant_id = Some(1);
        let foreign = client.build_create_payout(&foreign, now).unwrap();
        assert_eq!(api_code(h.call::<()>(&client, foreign).await).1, "000105");
        let mut bad_address = payout("P-3", "1");
        bad_address.chain_id = "TRON".into();
        let bad_address = client.build_create_payout(&bad_address, now).unwrap();
        assert_eq!(
            api_code(h.call::<()>(&client, bad_address).await).1,
            "000102"
        );
    }
}

#[tokio::test]
async fn cashier_info_tokens_and_networks() {
    for h in Harness::all().await {
        let client = h.client(false);
        let now = h.now_ms();
        let info: CashierInfo = h
            .call(
                &client,
                client.build_cashier_info(h.cashier_id(), now).unwrap(),
            )
            .await
            .unwrap()
            .data;
        assert_eq!(info.name, "Demo shop");
        assert_eq!(info.network_detail.len(), 5);
        assert_eq!((info.pay_qr, info.pay_wallet), (1, 1));
        let other = client.build_cashier_info(h.cashier_id() + 1, now).unwrap();
        assert_eq!(
            api_code(h.call::<CashierInfo>(&client, other).await).1,
            "000202"
        );
        let tokens: Vec<TokenInfo> = h
            .call(
                &client,
                client.build_symbol_list(Some("BSC"), Some("usdc")).unwrap(),
            )
            .await
            .unwrap()
            .data;
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].decimals, 18);
        let networks: Vec<NetworkInfo> = h
            .call(&client, client.build_all_networks().unwrap())
            .await
            .unwrap()
            .data;
        assert_eq!(networks.len(), 5);
    }
}

#[tokio::test]
async fn cashier_links_redirect_to_the_hosted_page() {
    for h in Harness::all().await {
        let client = h.client(false);
        let link = |order_no: &str| {
            client
                .widget_url(
                    &format!("{}/cashier", h.base_url),
                    &[
                        ("custNo", Some("C86002201")),
                        ("orderNo", Some(order_no)),
                        ("amount", Some("12.5")),
                        ("chainId", Some("56")),
                        ("currency", Some("USDC")),
                        ("redirectURL", Some("https://shop.example/done?x=1")),
                        ("expirePeriod", Some("30")),
                    ],
                )
                .unwrap()
        };
        let response = h.http.get(link("W-1")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 302);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let payment = h
            .engine
            .payment_by_order_no(&h.merchant.id, "W-1")
            .await
            .unwrap();
        assert_eq!(location, h.platform.cashier_url(&payment.cashier_token));
        assert_eq!(payment.amount.minor, 12_500_000);
        assert_eq!(payment.amount.currency.code(), "USDC");
        assert_eq!(payment.expires_at.millis(), harness::START + 30 * 60 * 1000);
        assert_eq!(payment.attrs["chainId"], "56");
        assert_eq!(payment.attrs["custNo"], "C86002201");
        // The same link resumes the open order.
        let again = h.http.get(link("W-1")).send().await.unwrap();
        assert_eq!(again.headers()["location"].to_str().unwrap(), location);
        // A final order cannot be reopened.
        h.pay("W-1").await;
        let closed = h.http.get(link("W-1")).send().await.unwrap();
        assert_eq!(closed.status().as_u16(), 400);
        assert!(closed.text().await.unwrap().contains("data-code=\"1001\""));
        // Tampered signature → 1003; no amount → the amount page; V1-signed links verify too.
        let tampered = link("W-2").replace("amount=12.5", "amount=1");
        let refused = h.http.get(tampered).send().await.unwrap();
        assert_eq!(refused.status().as_u16(), 403);
        let no_amount = client
            .widget_url(
                &format!("{}/cashier", h.base_url),
                &[("custNo", Some("C1"))],
            )
            .unwrap();
        assert_eq!(
            h.http
                .get(no_amount)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            200
        );
        let v1 = h
            .client(true)
            .widget_url(
                &format!("{}/cashier", h.base_url),
                &[("custNo", Some("C1")), ("amount", Some("3"))],
            )
            .unwrap();
        let opened = h.http.get(v1).send().await.unwrap();
        assert_eq!(opened.status().as_u16(), 302, "V1 link");
        // The widget loader is served.
        let script = h
            .http
            .get(format!("{}/libs/v2/BlockATM.umd.js", h.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(script.status().as_u16(), 200);
        assert!(
            script
                .text()
                .await
                .unwrap()
                .contains("generateUrlForSigning")
        );
    }
}

/// The amount page's form as a browser posts it.
async fn post_amount(h: &Harness, link: &str, amount: &str) -> (u16, String, String) {
    use polypay_blockatm::sign::widget::form_encode;
    let response = h
        .http
        .post(format!("{}/cashier", h.base_url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "link={}&amount={}",
            form_encode(link),
            form_encode(amount)
        ))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

#[tokio::test]
async fn links_without_an_amount_ask_the_customer_for_it() {
    for h in Harness::all().await {
        let client = h.client(false);
        let url = client
            .widget_url(
                &format!("{}/cashier", h.base_url),
                &[
                    ("custNo", Some("C86002201")),
                    ("orderNo", Some("W-TYPED")),
                    ("defaultChainId", Some("56")),
                    ("currency", Some("USDC")),
                ],
            )
            .unwrap();
        let query = url.split_once('?').unwrap().1.to_owned();
        let page = h.http.get(&url).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200, "{}", h.backend);
        let header = |name: &str| {
            page.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(header("x-frame-options"), None, "the widget frames it");
        assert!(
            !header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors")
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("<dd id=\"network\">BSC</dd>"), "{html}");
        assert!(html.contains("<dd id=\"token\">USDC</dd>"), "{html}");
        let hidden = format!("name=\"link\" value=\"{}\"", query.replace('&', "&amp;"));
        assert!(html.contains(&hidden), "{html}");
        assert!(
            h.engine
                .payment_by_order_no(&h.merchant.id, "W-TYPED")
                .await
                .is_err(),
            "no order before the amount"
        );

        // A refused amount: the page again, 400, the reason and the text as typed (escaped).
        for (typed, reason) in [
            ("", "Enter an amount."),
            ("0", "greater than 0"),
            ("-3", "greater than 0"),
            ("1.0000001", "at most 6 decimal places"),
            ("\"><b>x", "plain number"),
            ("10000000000000", "too large"),
        ] {
            let (status, _, html) = post_amount(&h, &query, typed).await;
            assert_eq!(status, 400, "{typed:?}");
            assert!(html.contains(reason), "{typed:?}: {html}");
            let shown = typed
                .replace('"', "&quot;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            assert!(
                html.contains(&format!("name=\"amount\" value=\"{shown}\"")),
                "{html}"
            );
            assert!(html.contains(&hidden), "the link is carried again");
        }
        assert!(
            h.engine
                .payment_by_order_no(&h.merchant.id, "W-TYPED")
                .await
                .is_err()
        );

        // A valid amount makes the order the link would have made with it.
        let (status, location, _) = post_amount(&h, &query, "12.5").await;
        assert_eq!(status, 302);
        let payment = h
            .engine
            .payment_by_order_no(&h.merchant.id, "W-TYPED")
            .await
            .unwrap();
        assert_eq!(location, h.platform.cashier_url(&payment.cashier_token));
        assert_eq!(payment.amount.minor, 12_500_000);
        assert_eq!(payment.amount.currency.code(), "USDC");
        assert_eq!(payment.attrs["chainId"], "56");
        assert_eq!(payment.attrs["custNo"], "C86002201");
        assert_eq!(payment.attrs["orderNo"], "W-TYPED");
        // The link (or its form, sent again) resumes the open order.
        let again = h.http.get(&url).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 302);
        assert_eq!(again.headers()["location"].to_str().unwrap(), location);
        let (status, resent, _) = post_amount(&h, &query, "12.5").await;
        assert_eq!((status, resent.as_str()), (302, location.as_str()));

        // The form takes only amount-less links, verified as the GET verifies them.
        let fixed = client
            .widget_url(
                &format!("{}/cashier", h.base_url),
                &[("custNo", Some("C1")), ("amount", Some("3"))],
            )
            .unwrap();
        let fixed = fixed.split_once('?').unwrap().1;
        let (status, _, html) = post_amount(&h, fixed, "12.5").await;
        assert_eq!(status, 400);
        assert!(html.contains("data-code=\"1001\""), "{html}");
        let forged = query.replace("W-TYPED", "W-FORGED");
        let (status, _, html) = post_amount(&h, &forged, "12.5").await;
        assert_eq!(status, 403);
        assert!(html.contains("data-code=\"1003\""), "{html}");

        // Without `orderNo`, each form makes its own order; V1 links work too.
        let v1 = h
            .client(true)
            .widget_url(
                &format!("{}/cashier", h.base_url),
                &[("custNo", Some("C2"))],
            )
            .unwrap();
        let v1 = v1.split_once('?').unwrap().1.to_owned();
        let (status, first, _) = post_amount(&h, &v1, "0.000001").await;
        assert_eq!(status, 302);
        let (_, second, _) = post_amount(&h, &v1, "7").await;
        assert_ne!(first, second);
        let token = first.rsplit('/').next().unwrap();
        let tiny = h.engine.payment_by_cashier_token(token).await.unwrap();
        assert_eq!(tiny.amount.minor, 1);
        assert_eq!(tiny.amount.currency.code(), "USDT");
        assert_eq!(tiny.attrs["network"], "TRON");
    }
}

/// A limit small enough to reach in a test: two requests a minute, then a minute's block.
const TWO_PER_MINUTE: RateLimitConfig = RateLimitConfig {
    limit: 2,
    window_ms: 60_000,
    cooldown_ms: 60_000,
};

#[tokio::test]
async fn rate_limit_answers_429_then_418() {
    for h in Harness::all_with(TWO_PER_MINUTE).await {
        let client = h.client(false);
        let now = h.now_ms();
        for _ in 0..2 {
            let ok = h.call::<CashierInfo>(
                &client,
                client.build_cashier_info(h.cashier_id(), now).unwrap(),
            );
            ok.await.unwrap();
        }
        let (status, body, headers) = h
            .raw(
                &client,
                client.build_cashier_info(h.cashier_id(), now).unwrap(),
            )
            .await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "60");
        let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (envelope["code"].as_str(), envelope["msg"].as_str()),
            (Some("000113"), Some("too many requests"))
        );
        let (status, _, _) = h
            .raw(
                &client,
                client.build_cashier_info(h.cashier_id(), now).unwrap(),
            )
            .await;
        assert_eq!(status, 418);
        // The block ends with the cool-down (driven by the engine clock, no sleeping).
        h.clock.advance(60_000);
        let later = client
            .build_cashier_info(h.cashier_id(), h.now_ms())
            .unwrap();
        h.call::<CashierInfo>(&client, later).await.unwrap();
    }
}

/// Only authenticated requests count: a key that names no merchant leaves no trace, and
/// requests that prove only the (public) API key are limited in a window of their own, so
/// whoever holds a widget link cannot block the merchant's signed traffic.
#[tokio::test]
async fn unsigned_and_unknown_keys_cannot_exhaust_a_merchants_limit() {
    for h in Harness::all_with(TWO_PER_MINUTE).await {
        let client = h.client(false);
        let now = h.now_ms();
        let send = |strip_signature: bool, key: Option<&'static str>| {
            let out = client.outbound(client.build_cashier_info(h.cashier_id(), now).unwrap());
            let mut builder = h.http.get(&out.url);
            for (name, value) in &out.headers {
                match name.as_str() {
                    n if n.starts_with("BlockATM-Signature") && strip_signature => {}
                    "BlockATM-API-Key" if key.is_some() => {
                        builder = builder.header(name, key.unwrap());
                    }
                    _ => builder = builder.header(name, value),
                }
            }
            async move { builder.send().await.expect("send").status().as_u16() }
        };
        for _ in 0..5 {
            assert_eq!(send(false, Some("pk_payment_nobody")).await, 200);
        }
        let unsigned: Vec<u16> = [
            send(true, None).await,
            send(true, None).await,
            send(true, None).await,
            send(true, None).await,
        ]
        .into();
        assert_eq!(unsigned, [200, 200, 429, 418], "the unsigned window");
        assert_eq!(send(false, None).await, 200, "signed traffic untouched");
        assert_eq!(send(false, None).await, 200);
        assert_eq!(send(false, None).await, 429);
    }
}

/// The amount page's POST counts as its link's GET does: neither touches the key's limit.
#[tokio::test]
async fn the_amount_form_is_limited_as_its_link_is() {
    for h in Harness::all_with(TWO_PER_MINUTE).await {
        let client = h.client(false);
        let url = client
            .widget_url(
                &format!("{}/cashier", h.base_url),
                &[("custNo", Some("C1"))],
            )
            .unwrap();
        let query = url.split_once('?').unwrap().1.to_owned();
        for _ in 0..3 {
            let page = h.http.get(&url).send().await.unwrap();
            assert_eq!(page.status().as_u16(), 200);
            assert_eq!(post_amount(&h, &query, "0").await.0, 400);
        }
        assert_eq!(post_amount(&h, &query, "1").await.0, 302);
        let now = h.now_ms();
        for _ in 0..2 {
            let info = client.build_cashier_info(h.cashier_id(), now).unwrap();
            assert!(h.call::<CashierInfo>(&client, info).await.is_ok());
        }
    }
}

/// A body nested a million levels deep (2 MiB of `[`) is refused in the envelope, before its
/// signature is checked, and the node goes on serving. It once recursed once per level and
/// aborted the process with a stack overflow.
#[tokio::test]
async fn a_body_nested_past_the_limit_is_refused_not_recursed_into() {
    for h in Harness::all().await {
        let client = h.client(false);
        for depth in [129, 1_000_000] {
            let mut create = client
                .build_create_order(&order("DEEP", "1"), h.now_ms())
                .unwrap();
            create.body = format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
            let (status, body, _) = h.raw(&client, create).await;
            let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                (status, envelope["code"].as_str(), envelope["msg"].as_str()),
                (200, Some("000102"), Some("illegal parameter: body")),
                "{depth}"
            );
        }
        let create = client
            .build_create_order(&order("AFTER", "1"), h.now_ms())
            .unwrap();
        h.call::<CreateOrderData>(&client, create).await.unwrap();
    }
}

#[tokio::test]
async fn disabled_merchants_cannot_create() {
    for mut h in Harness::all().await {
        let mut merchant = h.merchant.clone();
        merchant.enabled = false;
        h.merchant = h.engine.update_merchant(merchant).await.unwrap();
        let client = h.client(false);
        let create = client
            .build_create_order(&order("OFF", "1"), h.now_ms())
            .unwrap();
        assert_eq!(
            api_code(h.call::<CreateOrderData>(&client, create).await).1,
            "000204"
        );
        let _ = is_evm_address("0x0");
    }
}

//! Pre-signed create-payment requests per protocol, built with each protocol's client SDK, with
//! fresh timestamps/nonces and unique order numbers, so signing stays off the measured path.

use super::RequestSet;
use super::load::{Prepared, SuccessCheck};
use anyhow::Context;
use bytes::Bytes;
use polypay_core::MerchantId;
use polypay_server::AppState;
use serde_json::{Value, json};
use std::sync::Arc;

/// `n` baseline requests: a small JSON body to the echo route.
pub fn baseline(n: usize) -> Vec<Prepared> {
    let body = Bytes::from_static(br#"{"mchOrderNo":"bench","amount":100,"currency":"cny"}"#);
    let headers = vec![("content-type".to_string(), "application/json".to_string())];
    (0..n)
        .map(|_| Prepared {
            method: "POST".into(),
            path: "/__bench/echo".into(),
            headers: headers.clone(),
            body: body.clone(),
        })
        .collect()
}

/// A fresh sandbox merchant (with generated keys); returns its id and one-time credentials JSON.
pub async fn merchant(
    state: &AppState,
    notify_url: Option<String>,
) -> anyhow::Result<(MerchantId, Value)> {
    let new = polypay_engine::NewMerchant {
        name: "bench".into(),
        notify_url,
        generate_keys: true,
    };
    let (m, keys) = state.engine().create_merchant(new).await?;
    let credentials =
        polypay_server::admin::merchant_created_json(&m, keys.as_ref(), &state.inner.platform);
    Ok((m.id, credentials))
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn text(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("credentials lack {key}"))
}

fn body_contains(needle: &'static str) -> SuccessCheck {
    Arc::new(move |status, body| {
        status == 200 && body.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

fn prepared(
    method: &str,
    path: &str,
    headers: impl IntoIterator<Item = (String, String)>,
    body: Vec<u8>,
) -> Prepared {
    Prepared {
        method: method.into(),
        path: path.into(),
        headers: headers.into_iter().collect(),
        body: Bytes::from(body),
    }
}

/// `n` create-payment requests of `protocol` for `merchant` (its credentials JSON), with unique
/// order numbers. `notify` is the callback URL for protocols that take one per order (the
/// others use the merchant's notify URL); `None` gives a placeholder no one is sent to.
pub async fn create_payments(
    protocol: &str,
    state: &AppState,
    merchant: &Value,
    n: usize,
    notify: Option<&str>,
) -> anyhow::Result<RequestSet> {
    let c = &merchant["credentials"][protocol];
    let base = state.config().public_base_url.clone();
    let run = format!("{:x}{}", now_ms(), polypay_engine::random_hex(2));
    let orders: Vec<String> = (0..n).map(|i| format!("b{run}-{i}")).collect();
    let mut set = match protocol {
        "passtopay" => passtopay(c, &base, &orders, notify),
        "blockatm" => blockatm(c, &base, &orders),
        "ottpay" => ottpay(c, &base, &orders, notify),
        "v2sha256" => v2sha256(c, &base, &orders, notify),
        "fintech33" => fintech33(c, &base, &run, &orders).await,
        other => anyhow::bail!("unknown protocol {other:?}"),
    }?;
    set.orders = orders;
    Ok(set)
}

fn passtopay(
    c: &Value,
    base: &str,
    orders: &[String],
    notify: Option<&str>,
) -> anyhow::Result<RequestSet> {
    use polypay_passtopay::{AppSecret, Client, Credentials};
    let creds = Credentials::new(
        text(c, "mchNo")?,
        text(c, "appId")?,
        AppSecret::new(text(c, "appSecret")?),
    );
    let client = Client::new(base, creds);
    let t = now_ms();
    let mut out = Vec::with_capacity(orders.len());
    for (i, order) in orders.iter().enumerate() {
        let mut params = json!({
            "mchOrderNo": order, "wayCode": "ALI_QR", "amount": 100 + (i % 50) as i64 * 100,
            "currency": "cny", "subject": "goods", "body": "0", "clientIp": "210.73.10.148",
            "custNo": "C200492312", "registerTime": t.to_string(),
        });
        if let Some(url) = notify {
            params["notifyUrl"] = json!(url);
        }
        let params = serde_json::from_value(params)?;
        let p = client.build_unified_order(&params, t);
        out.push(prepared(
            p.method,
            p.path,
            p.headers.into_iter().map(|(k, v)| (k.to_string(), v)),
            p.body,
        ));
    }
    Ok(RequestSet::new(
        out,
        body_contains("\"code\":0,"),
        "unifiedOrder, MD5",
    ))
}

fn blockatm(c: &Value, base: &str, orders: &[String]) -> anyhow::Result<RequestSet> {
    use polypay_blockatm::client::{Client, ClientCredentials};
    let creds = ClientCredentials {
        api_key: text(c, "apiKey")?,
        secret_key: text(c, "secretKey")?,
        ec_private_key: None,
        platform_public_key: None,
    };
    let client = Client::new(base, creds, reqwest::Client::new());
    let t = now_ms() as u64;
    let mut out = Vec::with_capacity(orders.len());
    for (i, order) in orders.iter().enumerate() {
        let req = serde_json::from_value(json!({
            "orderNo": order, "amount": format!("{}.5", 1 + i % 50), "symbol": "USDT",
            "chainId": "0x2b6653dc", "custNo": "C1001",
        }))?;
        let p = client
            .build_create_order(&req, t)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        out.push(prepared(p.method, &p.path, p.headers, p.body));
    }
    Ok(RequestSet::new(
        out,
        body_contains("\"success\":true"),
        "E1 create order, V2 HMAC-SHA256",
    ))
}

fn ottpay(
    c: &Value,
    base: &str,
    orders: &[String],
    notify: Option<&str>,
) -> anyhow::Result<RequestSet> {
    use polypay_ottpay::client::{Client, ClientCredentials};
    let creds = ClientCredentials {
        merchant_id: text(c, "merchant_id")?,
        sign_key: polypay_ottpay::sign::SignKey::new(text(c, "signKey")?),
    };
    let client = Client::new(base, creds, reqwest::Client::new());
    let operator = text(c, "operator_id")?;
    let notify = notify.unwrap_or("https://merchant.example/cb");
    let mut out = Vec::with_capacity(orders.len());
    for (i, order) in orders.iter().enumerate() {
        let req = serde_json::from_value(json!({
            "order_id": order, "operator_id": operator, "amount": format!("{}", 100 + i % 50 * 100),
            "biz_type": "ALIPAY", "call_back_url": notify,
        }))?;
        let p = client
            .build_active_pay(&req)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        out.push(prepared(
            p.method,
            &p.path,
            p.headers.into_iter().map(|(k, v)| (k.to_string(), v)),
            p.body,
        ));
    }
    Ok(RequestSet::new(
        out,
        body_contains("\"rsp_code\":\"SUCCESS\""),
        "ACTIVEPAY, md5 + AES-128-ECB",
    ))
}

fn v2sha256(
    c: &Value,
    base: &str,
    orders: &[String],
    notify: Option<&str>,
) -> anyhow::Result<RequestSet> {
    use polypay_v2sha256::client::Client;
    let creds = polypay_v2sha256::sign::Credentials::new(text(c, "appId")?, text(c, "appSecret")?);
    let client = Client::new(base, creds).map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = now_ms() as u64;
    let notify = notify.unwrap_or("https://merchant.example/notify");
    let mut out = Vec::with_capacity(orders.len());
    for (i, order) in orders.iter().enumerate() {
        let req = serde_json::from_value(json!({
            "merchantTradeNo": order, "amount": format!("{}.05", 100 + i % 50), "currency": "INR",
            "description": "bench order", "payer": {"userId": "u-1001"}, "payMethod": {"type": "UPI"},
            "notifyUrl": notify, "returnUrl": "https://merchant.example/return",
        }))?;
        let nonce = polypay_engine::random_hex(16);
        let p = client
            .build_payment_create(&req, t, &nonce)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        out.push(prepared(p.method, &p.path, p.headers, p.body));
    }
    Ok(RequestSet::new(
        out,
        body_contains("\"code\":\"OK\""),
        "payment/create, SHA-256",
    ))
}

async fn fintech33(
    c: &Value,
    base: &str,
    run: &str,
    orders: &[String],
) -> anyhow::Result<RequestSet> {
    use polypay_fintech33::{
        BizCipher, Client, MerchantKeys, RsaPrivateKey, RsaPublicKey, SignHash,
    };
    let keys = MerchantKeys {
        app_id: text(c, "appId")?,
        app_secret: text(c, "appSecret")?,
        cipher: BizCipher::from_base64(&text(c, "aesKey")?, None)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        sign_hash: SignHash::Sha256,
        private_key: RsaPrivateKey::from_text(&text(c, "rsaPrivateKey")?)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        platform_key: RsaPublicKey::from_text(&text(c, "platformPublicKey")?)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let client = Arc::new(Client::new(base, keys));
    let token = client
        .token()
        .await
        .map_err(|e| anyhow::anyhow!("token: {e}"))?
        .token;
    let payer = serde_json::from_value(json!({
        "firstName": "Bench", "lastName": "Payer", "email": format!("bench-{run}@example.com"), "areaCode": 852,
        "phone": "91234567", "address": "1 Queens Road", "city": "Hong Kong", "province": "HK", "postcode": "000000",
        "country": "HK",
    }))?;
    let payer_id = client
        .create_payer(&token, &payer)
        .await
        .map_err(|e| anyhow::anyhow!("createPayer: {e}"))?
        .result
        .map_err(|e| anyhow::anyhow!("createPayer: {e:?}"))?
        .payer_id;
    // RSA signing costs ~1 ms a request: sign on every core, off the measured path.
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let orders = Arc::new(orders.to_vec());
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, token, orders) = (client.clone(), token.clone(), orders.clone());
        tasks.push(tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Prepared>> {
            orders.iter().skip(w).step_by(workers).map(|order_sn| {
                let order = serde_json::from_value(json!({
                    "order_sn": order_sn, "currency": "USD", "amount": 99.99, "payerID": payer_id,
                    "purposeOfTransaction": "PAY_FOR_GOODS", "description": "bench order", "skip3ds": "True",
                    "domain": "shop.example.com", "product": "T-shirt",
                }))?;
                let p = client.build_create_order(&token, &order).map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(prepared(p.method, p.path, p.headers.into_iter().map(|(k, v)| (k.to_string(), v)), p.body))
            }).collect()
        }));
    }
    let mut out = Vec::with_capacity(orders.len());
    for t in tasks {
        out.extend(t.await??);
    }
    Ok(RequestSet::new(
        out,
        body_contains("\"statusCode\":0"),
        "createOrder, AES + RSA-2048 both ways",
    ))
}

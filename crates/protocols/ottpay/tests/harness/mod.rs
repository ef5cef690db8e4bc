//! The router on a real engine: a throwaway database, a fixed clock, a merchant, the router
//! served on 127.0.0.1:0, and the phase-1 client pointed at it.
#![allow(dead_code)]

use polypay_core::{FixedClock, Merchant, Payment, PaymentCommand, Timestamp};
use polypay_engine::{Engine, NewMerchant, Platform, keys};
use polypay_ottpay::wire::{ActivePayRequest, PrepayInitRequest};
use polypay_ottpay::{Client, ClientCredentials, SignKey};
use polypay_store::OutboxEvent;
use polypay_store::testing::TestDb;
use std::sync::{Arc, OnceLock};

/// 2023-03-22T17:21:53Z = 2023-03-23 01:21:53 in Asia/Shanghai.
pub const START_MS: i64 = 1_679_505_713_000;

pub struct Harness {
    pub engine: Engine,
    pub clock: Arc<FixedClock>,
    pub platform: Arc<Platform>,
    pub merchant: Merchant,
    pub base_url: String,
    pub db_name: &'static str,
    _db: TestDb,
}

/// Key generation is slow in debug builds; one platform key set serves every test.
fn platform_keys() -> (keys::PemPair, keys::PemPair) {
    static KEYS: OnceLock<(keys::PemPair, keys::PemPair)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            keys::generate_ec_p256().expect("ec key"),
            keys::generate_rsa_2048().expect("rsa key"),
        )
    })
    .clone()
}

impl Harness {
    pub async fn start(db: TestDb, sandbox: bool) -> Harness {
        let clock = Arc::new(FixedClock::new(Timestamp(START_MS)));
        let engine = Engine::new(db.open().expect("open store"), clock.clone());
        let (merchant, _) = engine
            .create_merchant(NewMerchant {
                name: "OTT shop".into(),
                notify_url: None,
                generate_keys: true,
            })
            .await
            .expect("merchant");
        let (ec_key, rsa_key) = platform_keys();
        let platform = Arc::new(Platform {
            public_base_url: "http://polypay.test".into(),
            sandbox,
            ec_key,
            rsa_key,
        });
        let base_url = serve(&engine, &platform).await;
        Harness {
            engine,
            clock,
            platform,
            merchant,
            base_url,
            db_name: db.name,
            _db: db,
        }
    }

    pub fn credentials(&self) -> ClientCredentials {
        let ott = &self.merchant.credentials.ottpay;
        ClientCredentials {
            merchant_id: ott.merchant_id.clone(),
            sign_key: SignKey::new(ott.sign_key.expose()),
        }
    }

    /// The merchant's SDK with its own signKey.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url, self.credentials(), reqwest::Client::new())
    }

    /// The SDK with the merchant's id but another signKey.
    pub fn client_with_key(&self, key: &str) -> Client {
        let mut credentials = self.credentials();
        credentials.sign_key = SignKey::new(key);
        Client::new(&self.base_url, credentials, reqwest::Client::new())
    }

    pub fn ott_merchant_id(&self) -> String {
        self.merchant.credentials.ottpay.merchant_id.clone()
    }

    /// Sets `settings["ottpay"]`.
    pub async fn set_settings(&self, value: serde_json::Value) {
        let mut m = self
            .engine
            .merchant(&self.merchant.id)
            .await
            .expect("merchant");
        m.settings["ottpay"] = value;
        self.engine.update_merchant(m).await.expect("update");
    }

    /// A payment by its OTT order id.
    pub async fn payment(&self, order_id: &str) -> Payment {
        let id = polypay_ottpay::server::public_id(&self.merchant.id, order_id);
        self.engine
            .payment_by_public_id(&id)
            .await
            .expect("payment")
    }

    /// Opens and pays a payment as the cashier would.
    pub async fn pay(&self, order_id: &str) -> Payment {
        let p = self.payment(order_id).await;
        if p.state == polypay_core::PaymentState::Created {
            self.engine
                .transition_payment(&p.id, PaymentCommand::Open)
                .await
                .expect("open");
        }
        self.engine
            .transition_payment(
                &p.id,
                PaymentCommand::Succeed {
                    channel_order_no: "202303230121535908991856628806".into(),
                },
            )
            .await
            .expect("succeed")
    }

    pub async fn outbox(&self, payment: &Payment) -> Vec<OutboxEvent> {
        let id = payment.id.as_str().to_owned();
        self.engine
            .store()
            .read(move |db| db.outbox_of_object(&id))
            .await
            .expect("outbox")
    }

    /// Posts raw bytes to `/processV2`; answers status, headers and body.
    pub async fn post_raw(&self, body: Vec<u8>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let r = reqwest::Client::new()
            .post(format!("{}/processV2", self.base_url))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.bytes().await.expect("body").to_vec())
    }
}

pub async fn serve(engine: &Engine, platform: &Arc<Platform>) -> String {
    let router = polypay_ottpay::server::router(engine.clone(), platform.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

pub fn active_pay(order_id: Option<&str>, amount: &str, tip: &str) -> ActivePayRequest {
    ActivePayRequest {
        order_id: order_id.map(str::to_owned),
        operator_id: "0000000437".into(),
        amount: amount.into(),
        tip: Some(tip.into()),
        biz_type: "ALIPAY".into(),
        call_back_url: "https://m.example/cb".into(),
        currency_type: Some("CAD".into()),
        ..ActivePayRequest::default()
    }
}

pub fn prepay_init(prepay_order_id: &str) -> PrepayInitRequest {
    PrepayInitRequest {
        amount: "500".into(),
        sale_num: "20220727132626764".into(),
        operator_id: "0000000696".into(),
        prepay_order_id: prepay_order_id.into(),
        biz_type: "PREPAY".into(),
        merchant_id: String::new(),
        duration: "100".into(),
        shop_id: "ON00004652001".into(),
        currency_type: "CAD".into(),
        email: Some("inforsa@ott.ca".into()),
        remarks: Some("可以".into()),
        redirect_url: "https://m.example/back?x=1".into(),
        call_back_url: "https://m.example/cb".into(),
    }
}

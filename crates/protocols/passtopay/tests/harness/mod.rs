//! A PassToPay router on a real engine (SQLite, plus PostgreSQL when configured), served on
//! loopback, with a merchant and the phase-1 client pointed at it. Time is a FixedClock.
#![allow(dead_code)]

use polypay_core::{Clock, FixedClock, Merchant, Payment, PaymentCommand, Timestamp};
use polypay_engine::keys::{self, PemPair};
use polypay_engine::{Engine, NewMerchant, Platform};
use polypay_notify::{CallbackRequest, ProtocolNotifier};
use polypay_passtopay::client::{Client, ClientError, PreparedRequest};
use polypay_passtopay::notify::CallbackData;
use polypay_passtopay::wire::*;
use polypay_passtopay::{AppSecret, Credentials, server};
use polypay_store::OutboxEvent;
use polypay_store::testing::TestDb;
use std::sync::{Arc, OnceLock};

/// 2023-11-14T22:13:20Z.
pub const START: i64 = 1_700_000_000_000;
/// A notify URL nobody listens on: these tests encode callbacks, they do not deliver them.
pub const NOTIFY_URL: &str = "http://127.0.0.1:9/notify?shop=1";
pub const RETURN_URL: &str = "https://shop.example/return";

pub struct Harness {
    pub backend: &'static str,
    pub engine: Engine,
    pub clock: Arc<FixedClock>,
    pub platform: Arc<Platform>,
    pub merchant: Merchant,
    pub client: Client,
    pub base_url: String,
    /// Does not follow redirects.
    pub http: reqwest::Client,
    _db: TestDb,
}

/// Platform key pairs are not used by PassToPay; generate them once per test binary.
fn platform_keys() -> &'static (PemPair, PemPair) {
    static KEYS: OnceLock<(PemPair, PemPair)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            keys::generate_ec_p256().expect("ec"),
            keys::generate_rsa_2048().expect("rsa"),
        )
    })
}

impl Harness {
    /// One sandbox harness per available backend.
    pub async fn all() -> Vec<Harness> {
        let mut out = Vec::new();
        for db in TestDb::all() {
            out.push(Harness::start(db, true).await);
        }
        out
    }

    pub async fn start(db: TestDb, sandbox: bool) -> Harness {
        let clock = Arc::new(FixedClock::new(Timestamp(START)));
        let engine = Engine::new(db.open().expect("open store"), clock.clone());
        let (merchant, _) = engine
            .create_merchant(NewMerchant {
                name: "shop".into(),
                notify_url: None,
                generate_keys: false,
            })
            .await
            .expect("merchant");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (ec_key, rsa_key) = platform_keys().clone();
        let platform = Arc::new(Platform {
            public_base_url: base_url.clone(),
            sandbox,
            ec_key,
            rsa_key,
        });
        let router = server::router(engine.clone(), platform.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let client = Client::with_http(base_url.clone(), credentials(&merchant), http.clone());
        Harness {
            backend: db.name,
            engine,
            clock,
            platform,
            merchant,
            client,
            base_url,
            http,
            _db: db,
        }
    }

    /// Sends a prepared (possibly tampered) request; returns status, content type and body.
    pub async fn raw(&self, req: &PreparedRequest) -> (u16, String, String) {
        let mut b = self
            .http
            .post(format!("{}{}", self.base_url, req.path))
            .body(req.body.clone());
        for (k, v) in &req.headers {
            b = b.header(*k, v);
        }
        let r = b.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ct, r.text().await.unwrap())
    }

    pub async fn payment(&self, pay_order_id: &str) -> Payment {
        self.engine
            .payment_by_public_id(pay_order_id)
            .await
            .unwrap()
    }

    /// The customer pays on the cashier (what the lead's cashier page does).
    pub async fn pay(&self, pay_order_id: &str) -> Payment {
        let p = self.payment(pay_order_id).await;
        let cmd = PaymentCommand::Succeed {
            channel_order_no: "2023111412345678901234567890".into(),
        };
        self.engine.transition_payment(&p.id, cmd).await.unwrap()
    }

    pub async fn outbox(&self, object_id: &str) -> Vec<OutboxEvent> {
        let id = object_id.to_owned();
        self.engine
            .store()
            .read(move |db| db.outbox_of_object(&id))
            .await
            .unwrap()
    }

    /// The merchant as stored now (settings may have changed).
    pub async fn merchant_now(&self) -> Merchant {
        self.engine.merchant(&self.merchant.id).await.unwrap()
    }

    pub async fn set_settings(&self, settings: serde_json::Value) {
        let mut m = self.merchant_now().await;
        m.settings = serde_json::json!({ "passtopay": settings });
        self.engine.update_merchant(m).await.unwrap();
    }

    pub fn notifier(&self) -> Arc<dyn ProtocolNotifier> {
        server::notifier(self.platform.clone())
    }

    /// Encodes the outbox event named `event` of an object (first attempt at the clock's now).
    pub async fn encode(&self, object_id: &str, event: &str) -> Option<CallbackRequest> {
        let events = self.outbox(object_id).await;
        let e = events
            .iter()
            .find(|e| e.event == event)
            .unwrap_or_else(|| panic!("no {event} in {:?}", names(&events)));
        let merchant = self.merchant_now().await;
        self.notifier()
            .encode(e, &merchant, self.clock.now())
            .unwrap()
            .request()
    }

    /// Verifies a callback with the merchant-side client, as a merchant's endpoint would.
    pub fn verify(&self, cb: &CallbackRequest) -> Result<CallbackData, ClientError> {
        let query = cb.url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let headers: Vec<(&str, &str)> = cb
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.client.verify_callback(query, &headers, &cb.body)
    }

    pub async fn unified(&self, no: &str, amount: i64) -> CreateOrderData {
        self.client
            .create_unified_order(&unified_params(no, amount))
            .await
            .unwrap()
            .data
    }

    /// A paid unifiedOrder payment (credits the balance).
    pub async fn paid(&self, no: &str, amount: i64) -> Payment {
        let created = self.unified(no, amount).await;
        self.pay(&created.pay_order_id).await
    }
}

pub fn names(events: &[OutboxEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

pub fn credentials(m: &Merchant) -> Credentials {
    let c = &m.credentials.passtopay;
    Credentials::new(
        c.mch_no.clone(),
        c.app_id.clone(),
        AppSecret::new(c.app_secret.expose()),
    )
}

pub fn unified_params(no: &str, amount: i64) -> UnifiedOrderParams {
    UnifiedOrderParams {
        mch_order_no: no.into(),
        way_code: "ALI_QR".into(),
        amount,
        currency: "cny".into(),
        subject: "商品".into(),
        body: "0".into(),
        client_ip: "210.73.10.148".into(),
        cust_no: "C200492312".into(),
        register_time: 1_622_016_572_190,
        user_name: None,
        mbr_tel: None,
        id_no: None,
        notify_url: Some(NOTIFY_URL.into()),
        return_url: Some(RETURN_URL.into()),
        expired_time: None,
        channel_extra: None,
        ext_param: Some("ext & more".into()),
    }
}

pub fn transfer_params(no: &str, amount: i64) -> TransferOrderParams {
    TransferOrderParams {
        mch_order_no: no.into(),
        entry_type: "BANK_CARD".into(),
        amount,
        currency: "cny".into(),
        account_no: "6222021234567890123".into(),
        account_name: Some("张三".into()),
        bank_name: Some("ICBC".into()),
        client_ip: "210.73.10.148".into(),
        transfer_desc: "0".into(),
        cust_no: "C1".into(),
        notify_url: Some(NOTIFY_URL.into()),
        channel_extra: Some(r#"{"bankCode":"ICBC"}"#.into()),
        extra_param: Some("x1".into()),
    }
}

pub fn refund_params(no: &str, amount: i64) -> RefundOrderParams {
    RefundOrderParams {
        mch_refund_no: no.into(),
        refund_amount: amount,
        currency: "CNY".into(),
        refund_reason: "customer asked".into(),
        client_ip: None,
        notify_url: Some(NOTIFY_URL.into()),
        channel_extra: None,
        ext_param: Some("r-ext".into()),
    }
}

/// The `msg` of a provider error, or a panic if the call did not fail that way.
pub fn api_msg<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(ClientError::Api { code, msg, status }) => {
            assert_eq!((code, status), (9999, 200), "{msg}");
            msg
        }
        other => panic!("expected a provider error, got {other:?}"),
    }
}

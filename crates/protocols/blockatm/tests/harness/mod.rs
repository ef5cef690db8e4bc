//! A BlockATM router on a real engine (SQLite, plus PostgreSQL when configured), served on
//! loopback, with a demo merchant and the phase-1 client pointed at it. Time is a FixedClock.
#![allow(dead_code)]

use polypay_blockatm::client::{
    ApiResponse, Client, ClientCredentials, PreparedRequest, parse_response,
};
use polypay_blockatm::ratelimit::RateLimitConfig;
use polypay_blockatm::sign::{EcPublicKey, EcSigningKey};
use polypay_blockatm::{Error, server};
use polypay_core::{FixedClock, Merchant, PaymentCommand, Timestamp};
use polypay_engine::{Engine, NewMerchant, Platform, SandboxKeys, keys};
use polypay_store::OutboxEvent;
use polypay_store::testing::TestDb;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// 2025-03-27T07:24:28Z, the spec's vector time.
pub const START: i64 = 1_743_060_268_000;

pub struct Harness {
    pub backend: &'static str,
    pub engine: Engine,
    pub clock: Arc<FixedClock>,
    pub platform: Arc<Platform>,
    pub merchant: Merchant,
    pub keys: SandboxKeys,
    pub base_url: String,
    pub http: reqwest::Client,
    _db: TestDb,
}

impl Harness {
    /// One harness per available backend.
    pub async fn all() -> Vec<Harness> {
        Harness::all_with(RateLimitConfig::default()).await
    }

    pub async fn all_with(limits: RateLimitConfig) -> Vec<Harness> {
        let mut out = Vec::new();
        for db in TestDb::all() {
            out.push(Harness::start(db, limits).await);
        }
        out
    }

    async fn start(db: TestDb, limits: RateLimitConfig) -> Harness {
        let clock = Arc::new(FixedClock::new(Timestamp(START)));
        let engine = Engine::new(db.open().expect("open store"), clock.clone());
        let (merchant, keys) = engine
            .create_merchant(NewMerchant {
                name: "Demo shop".into(),
                notify_url: Some("http://127.0.0.1:9/hooks".into()),
                generate_keys: true,
            })
            .await
            .expect("merchant");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let platform = Arc::new(Platform {
            public_base_url: base_url.clone(),
            sandbox: true,
            ec_key: keys::generate_ec_p256().unwrap(),
            rsa_key: keys::generate_rsa_2048().unwrap(),
        });
        let router = server::router_with(engine.clone(), platform.clone(), limits);
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Harness {
            backend: db.name,
            engine,
            clock,
            platform,
            merchant,
            keys: keys.expect("sandbox keys"),
            base_url,
            http,
            _db: db,
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The merchant's client: V2 (HMAC) or V1 (its generated EC key).
    pub fn client(&self, v1: bool) -> Client {
        let c = &self.merchant.credentials.blockatm;
        let credentials = ClientCredentials {
            api_key: c.api_key.clone(),
            secret_key: c.secret_key.expose().to_owned(),
            ec_private_key: v1.then(|| EcSigningKey::parse(&self.keys.ec.private_pem).unwrap()),
            platform_public_key: Some(self.platform_public_key()),
        };
        Client::new(&self.base_url, credentials, self.http.clone())
    }

    pub fn platform_public_key(&self) -> EcPublicKey {
        EcPublicKey::parse(&self.platform.ec_key.public_pem).unwrap()
    }

    pub fn cashier_id(&self) -> i64 {
        self.merchant
            .credentials
            .blockatm
            .cashier_id
            .parse()
            .unwrap()
    }

    /// Sends a prepared request; returns the HTTP status and the raw body.
    pub async fn raw(
        &self,
        client: &Client,
        prepared: PreparedRequest,
    ) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
        let out = client.outbound(prepared);
        let method = reqwest::Method::from_bytes(out.method.as_bytes()).unwrap();
        let mut builder = self.http.request(method, &out.url);
        for (name, value) in &out.headers {
            builder = builder.header(name, value);
        }
        let response = builder.body(out.body).send().await.expect("send");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, response.bytes().await.unwrap().to_vec(), headers)
    }

    /// Sends a prepared request and reads the envelope with the client's parser.
    pub async fn call<T: DeserializeOwned>(
        &self,
        client: &Client,
        prepared: PreparedRequest,
    ) -> Result<ApiResponse<T>, Error> {
        let (status, body, _) = self.raw(client, prepared).await;
        parse_response(status, &body)
    }

    /// Credits the merchant by paying an order created through the API.
    pub async fn pay(&self, order_no: &str) {
        let payment = self
            .engine
            .payment_by_order_no(&self.merchant.id, order_no)
            .await
            .unwrap();
        self.engine
            .transition_payment(
                &payment.id,
                // The transfer's hash, as a chain reports it (and the sandbox makes one).
                PaymentCommand::Succeed {
                    channel_order_no: polypay_engine::sandbox::channel_order_no(
                        polypay_core::Currency::USDT,
                        payment.created_at,
                    ),
                },
            )
            .await
            .unwrap();
    }

    pub async fn outbox(&self, object_id: &str) -> Vec<OutboxEvent> {
        let id = object_id.to_owned();
        self.engine
            .store()
            .read(move |db| db.outbox_of_object(&id))
            .await
            .unwrap()
    }

    pub async fn update_settings(&mut self, settings: serde_json::Value) {
        let mut merchant = self.merchant.clone();
        merchant.settings = settings;
        self.merchant = self.engine.update_merchant(merchant).await.unwrap();
    }
}

/// `FixedClock` in Unix ms.
pub trait NowMs {
    fn now_ms(&self) -> u64;
}

impl NowMs for FixedClock {
    fn now_ms(&self) -> u64 {
        use polypay_core::Clock;
        self.now().millis() as u64
    }
}

pub fn api_code<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

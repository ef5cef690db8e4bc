//! Test support: a scripted local callback receiver, a small test protocol, and fixtures.

#![allow(dead_code)]

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use polypay_core::{FixedClock, Merchant, Payment, Protocol, Timestamp};
use polypay_engine::{Engine, NewMerchant};
use polypay_notify::{
    CallbackRequest, CashierAction, CashierForm, CashierInput, CashierMarks, DispatchConfig,
    Dispatcher, Encoded, ProtocolNotifier, Skip,
};
use polypay_store::testing::TestDb;
use polypay_store::{Delivery, DeliveryAttempt, OutboxEvent};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

pub const T0: Timestamp = Timestamp(1_700_000_000_000);

/// How the receiver answers one request.
#[derive(Clone)]
pub enum Reply {
    Status(u16, &'static str),
    /// A redirect to `location`.
    Redirect(String),
    /// Never answers.
    Hang,
    /// Answers `200 success` once the notify fires.
    Gate(Arc<Notify>),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Inner {
    requests: Mutex<Vec<Received>>,
    script: Mutex<HashMap<String, VecDeque<Reply>>>,
    count: watch::Sender<usize>,
}

/// An axum server on 127.0.0.1:0 that records every request and answers from a per-path
/// script (`200 success` once a path's script is used up).
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(HashMap::new()),
            count: watch::channel(0).0,
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            base: format!("http://{addr}"),
            inner,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// Queues answers for requests to `path`.
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        self.inner
            .script
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default()
            .extend(replies);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.inner.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Resolves once at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) {
        let mut rx = self.inner.count.subscribe();
        rx.wait_for(|c| *c >= n).await.expect("receiver alive");
    }
}

async fn handle(State(s): State<Arc<Inner>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let reply = s
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(|q| q.pop_front());
    s.requests.lock().unwrap().push(Received {
        path,
        headers,
        body,
    });
    s.count.send_modify(|c| *c += 1);
    match reply.unwrap_or(Reply::Status(200, "success")) {
        Reply::Status(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Reply::Redirect(location) => {
            (StatusCode::FOUND, [("location", location)], "").into_response()
        }
        Reply::Hang => std::future::pending().await,
        Reply::Gate(gate) => {
            gate.notified().await;
            (StatusCode::OK, "success").into_response()
        }
    }
}

/// A small protocol: JSON body, a signature header that changes with the attempt time, ack =
/// `200` + body `success`; `*.created` events send nothing, and `payment.created` is declared
/// silent (the others get a `skipped` row).
pub struct TestNotifier {
    pub offsets: Vec<i64>,
    pub timeout: Duration,
    pub independent: bool,
}

/// The events [`TestNotifier`] declares silent.
pub const SILENT: &str = "payment.created";

impl TestNotifier {
    pub fn shared(offsets: &[i64]) -> Arc<dyn ProtocolNotifier> {
        Arc::new(TestNotifier {
            offsets: offsets.to_vec(),
            timeout: Duration::from_secs(5),
            independent: false,
        })
    }
}

impl ProtocolNotifier for TestNotifier {
    fn protocol(&self) -> Protocol {
        Protocol::Passtopay
    }

    fn silent_events(&self) -> Vec<String> {
        vec![SILENT.into()]
    }

    fn encode(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Result<Encoded, String> {
        if event.event.ends_with(".created") {
            return Ok(Encoded::Skip(Skip::NotNotified));
        }
        let url = event.payload["notify_url"]
            .as_str()
            .map(str::to_string)
            .or_else(|| merchant.notify_url.clone());
        let Some(url) = url else {
            return Ok(Encoded::Skip(Skip::NoUrl));
        };
        let body = serde_json::json!({
            "event": event.event, "object_id": event.object_id, "outbox_id": event.id,
        });
        Ok(Encoded::Send(CallbackRequest {
            url,
            method: "POST".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-signature".into(), format!("sig-{}-{}", event.id, now.0)),
            ],
            body: body.to_string().into_bytes(),
        }))
    }

    fn reencode(
        &self,
        first: &CallbackRequest,
        _merchant: &Merchant,
        attempt: u32,
        now: Timestamp,
    ) -> CallbackRequest {
        let mut r = first.clone();
        r.headers.retain(|(n, _)| n != "x-signature");
        r.headers
            .push(("x-signature".into(), format!("resigned-{}", now.0)));
        r.headers.push(("x-attempt".into(), attempt.to_string()));
        r
    }

    fn is_ack(&self, status: u16, body: &[u8]) -> bool {
        status == 200 && body == b"success"
    }

    fn ack_rule(&self) -> &'static str {
        "HTTP 2xx (test notifier)"
    }

    fn attempt_offsets_ms(&self) -> Vec<i64> {
        self.offsets.clone()
    }

    fn attempt_timeout(&self) -> Duration {
        self.timeout
    }

    fn independent_deliveries(&self) -> bool {
        self.independent
    }

    fn redirect_url(&self, _: &Payment, _: &Merchant, _: Timestamp) -> Option<String> {
        None
    }

    fn cashier_form(&self, _: &Payment, _: &Merchant, _: CashierInput<'_>) -> CashierForm {
        CashierForm::default()
    }

    fn cashier_submit(
        &self,
        _: &Payment,
        _: CashierAction,
        _: CashierInput<'_>,
        _: Timestamp,
    ) -> Result<CashierMarks, String> {
        Ok(CashierMarks::new())
    }
}

/// An engine on a test database with a clock that moves only when told.
pub struct Fixture {
    pub engine: Engine,
    pub clock: Arc<FixedClock>,
    pub receiver: Receiver,
}

impl Fixture {
    pub async fn new(db: &TestDb) -> Fixture {
        let clock = Arc::new(FixedClock::new(T0));
        let engine = Engine::new(db.open().expect("open store"), clock.clone());
        Fixture {
            engine,
            clock,
            receiver: Receiver::start().await,
        }
    }

    pub fn dispatcher(&self, offsets: &[i64], config: DispatchConfig) -> Dispatcher {
        Dispatcher::new(
            self.engine.clone(),
            vec![TestNotifier::shared(offsets)],
            config,
        )
    }

    /// A dispatcher whose protocol delivers one object's events independently.
    pub fn independent_dispatcher(&self, offsets: &[i64], config: DispatchConfig) -> Dispatcher {
        let notifier = TestNotifier {
            offsets: offsets.to_vec(),
            timeout: Duration::from_secs(5),
            independent: true,
        };
        Dispatcher::new(self.engine.clone(), vec![Arc::new(notifier)], config)
    }

    /// A merchant whose callbacks go to `path` on the receiver.
    pub async fn merchant(&self, name: &str, path: &str) -> Merchant {
        self.merchant_at(name, &self.receiver.url(path)).await
    }

    pub async fn merchant_at(&self, name: &str, url: &str) -> Merchant {
        let new = NewMerchant {
            name: name.into(),
            notify_url: Some(url.into()),
            ..Default::default()
        };
        self.engine.create_merchant(new).await.expect("merchant").0
    }

    /// Appends an outbox event as the engine would; returns its id.
    pub async fn emit(
        &self,
        m: &Merchant,
        kind: &str,
        object_id: &str,
        event: &str,
        payload: serde_json::Value,
    ) -> i64 {
        let e = OutboxEvent {
            id: 0,
            merchant_id: m.id.clone(),
            protocol: Protocol::Passtopay,
            object_kind: kind.into(),
            object_id: object_id.into(),
            event: event.into(),
            payload,
            created_at: self.clock_now(),
        };
        self.engine
            .store()
            .write(move |db| db.append_outbox(&e))
            .await
            .expect("append outbox")
    }

    /// Stores payment `payment` of `m` and refund `refund` of it, as the engine would have
    /// before emitting their events (the operator's lookups find a refund through its row).
    pub async fn payment_with_refund(&self, m: &Merchant, payment: &str, refund: &str) {
        use polypay_core::{
            Currency, Money, PaymentId, PaymentState, Refund, RefundId, RefundState,
        };
        let now = self.clock_now();
        let p = Payment {
            id: PaymentId(payment.into()),
            merchant_id: m.id.clone(),
            protocol: Protocol::Passtopay,
            merchant_order_no: format!("o-{payment}"),
            public_id: format!("P-{payment}"),
            amount: Money::new(1_000, Currency::CNY),
            state: PaymentState::Succeeded,
            refunded_minor: 100,
            refund_pending_minor: 0,
            notify_url: None,
            return_url: None,
            cashier_token: format!("tok-{payment}"),
            created_at: now,
            updated_at: now,
            expires_at: now,
            finished_at: Some(now),
            channel_order_no: None,
            error_code: None,
            error_message: None,
            attrs: serde_json::json!({}),
        };
        let r = Refund {
            id: RefundId(refund.into()),
            merchant_id: m.id.clone(),
            payment_id: p.id.clone(),
            protocol: Protocol::Passtopay,
            merchant_refund_no: format!("r-{refund}"),
            public_id: format!("R-{refund}"),
            amount: Money::new(100, Currency::CNY),
            state: RefundState::Succeeded,
            reason: None,
            notify_url: None,
            created_at: now,
            updated_at: now,
            finished_at: Some(now),
            error_code: None,
            error_message: None,
            attrs: serde_json::json!({}),
            channel_order_no: None,
        };
        self.engine
            .store()
            .write(move |db| {
                db.insert_payment(&p)?;
                db.insert_refund(&r)
            })
            .await
            .expect("payment and refund rows");
    }

    pub fn clock_now(&self) -> Timestamp {
        use polypay_core::Clock;
        self.clock.now()
    }

    pub fn at(&self, ms_after_t0: i64) {
        self.clock.set(T0.plus_millis(ms_after_t0));
    }

    pub async fn delivery_of(&self, outbox_id: i64) -> (Delivery, Vec<DeliveryAttempt>) {
        let all = polypay_store::DeliveryFilter {
            limit: 500,
            ..Default::default()
        };
        let list = polypay_notify::operator::list_deliveries(&self.engine, all)
            .await
            .expect("list");
        let d = list
            .into_iter()
            .find(|d| d.outbox_id == outbox_id)
            .expect("delivery of the event");
        let detail = polypay_notify::operator::delivery_with_attempts(&self.engine, d.id)
            .await
            .expect("detail");
        (detail.delivery, detail.attempts)
    }
}

pub fn config(node: &str) -> DispatchConfig {
    DispatchConfig {
        concurrency: 8,
        timeout_cap: Some(Duration::from_secs(2)),
        allow_private: true,
        node_id: node.into(),
        lease_ms: 30_000,
        cycles: 1,
    }
}

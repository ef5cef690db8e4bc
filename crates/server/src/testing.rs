//! A whole polypay node for end-to-end tests: the full router on 127.0.0.1:0 over a fresh
//! database, a demo merchant with sandbox keys, time travel, sandbox controls, and a local
//! receiver that records callbacks and return-URL visits. Hermetic: loopback and temp dirs only.

use crate::config::{Config, Overrides};
use crate::state::AppState;
use polypay_core::{Merchant, Payment, SystemClock};
use polypay_engine::{Engine, NewMerchant};
use polypay_store::testing::TestDb;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// A running polypay node.
pub struct TestServer {
    /// `http://127.0.0.1:<port>` (also the node's public base URL).
    pub base_url: String,
    pub state: AppState,
    /// A sandbox merchant created for the test (notify URL unset).
    pub merchant: Merchant,
    /// Its one-time credentials JSON, as `polypay merchant create --json` prints it (private keys included).
    pub credentials: Value,
    pub admin_token: String,
    http: reqwest::Client,
    dispatcher: polypay_notify::Dispatcher,
    _db: TestDb,
    _server: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// A sandbox node on SQLite in a temp dir.
    pub async fn start() -> TestServer {
        TestServer::start_on(TestDb::sqlite(), Overrides::default()).await
    }

    /// A sandbox node on the given database, with extra configuration.
    pub async fn start_on(db: TestDb, overrides: Overrides) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let data_dir = tempfile::tempdir().expect("temp dir").keep();
        let base = Overrides {
            listen: Some(addr.to_string()),
            data_dir: Some(data_dir),
            database_url: Some(db.url.clone()),
            admin_token: Some("test-admin-token".into()),
            master_key: Some("00".repeat(32)),
            ..Default::default()
        };
        let mut config: Config = base.overlay(overrides).resolve().expect("config");
        let boot = crate::bootstrap_node(&mut config).await.expect("bootstrap");
        let platform = crate::bootstrap::platform(&boot.engine, &config)
            .await
            .expect("platform");
        let new = NewMerchant {
            name: "e2e shop".into(),
            notify_url: None,
            generate_keys: true,
        };
        let (merchant, keys) = boot.engine.create_merchant(new).await.expect("merchant");
        let credentials = crate::admin::merchant_created_json(&merchant, keys.as_ref(), &platform);
        let state = AppState::new(boot, config, platform, None);
        let dispatcher = crate::callbacks::dispatcher(&state);
        let router = crate::build_router(state.clone());
        let limits = crate::listen::ConnectionLimits::of(state.config());
        let server = tokio::spawn(crate::listen::serve(
            listener,
            router,
            limits,
            std::future::pending(),
        ));
        TestServer {
            base_url: format!("http://{addr}"),
            state,
            merchant,
            credentials,
            admin_token: "test-admin-token".into(),
            http: reqwest::Client::new(),
            dispatcher,
            _db: db,
            _server: server,
        }
    }

    pub fn engine(&self) -> &Engine {
        self.state.engine()
    }

    /// The node's clock; `advance` it to travel in time (then call [`TestServer::sweep`]).
    pub fn clock(&self) -> &SystemClock {
        &self.state.inner.clock
    }

    /// A V2_SHA256 payment of the test merchant in USD, `PUB-<order_no>` its protocol id,
    /// open for `ttl_seconds`, as the engine takes it.
    pub fn new_payment(
        &self,
        order_no: &str,
        minor: i64,
        ttl_seconds: i64,
    ) -> polypay_engine::NewPayment {
        polypay_engine::NewPayment {
            merchant_id: self.merchant.id.clone(),
            protocol: polypay_core::Protocol::V2sha256,
            merchant_order_no: order_no.into(),
            public_id: format!("PUB-{order_no}"),
            amount: polypay_core::Money::new(minor, polypay_core::Currency::USD),
            notify_url: None,
            return_url: None,
            ttl_seconds,
            initial_state: polypay_core::PaymentState::Created,
            attrs: serde_json::json!({}),
        }
    }

    /// `credentials.<protocol>` of the test merchant.
    pub fn credentials_of(&self, protocol: &str) -> &Value {
        &self.credentials["credentials"][protocol]
    }

    /// Delivers every callback due now (ingests new outbox events first) and waits for the
    /// attempts to be recorded: the test's replacement for waiting on the dispatcher's tick.
    pub async fn dispatch(&self) -> polypay_notify::DispatchReport {
        self.dispatcher.run_once().await.expect("dispatch")
    }

    /// Runs the background sweep once (expiry, sandbox payouts, auto-success, refund delays).
    pub async fn sweep(&self) {
        crate::sandbox::sweep(&self.state).await.expect("sweep");
    }

    /// Runs the node's housekeeping once (expired nonce claims and protocol records, callback
    /// history past its retention).
    pub async fn housekeep(&self) {
        crate::app::housekeep(&self.state)
            .await
            .expect("housekeeping");
    }

    /// POSTs to `/sandbox/v1/<path>` with the admin token, e.g. `payments/P123/succeed`;
    /// returns the status and the JSON answer.
    pub async fn sandbox(&self, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/sandbox/v1/{path}", self.base_url);
        self.with_admin_token(self.http.post(url), body).await
    }

    /// Sets the test merchant's per-protocol settings (`settings[<protocol>] = value`) the way
    /// an operator does, through `PUT /admin/v1/merchants/{id}/settings/{protocol}`.
    pub async fn set_protocol_settings(&self, protocol: &str, value: Value) {
        let path = format!("merchants/{}/settings/{protocol}", self.merchant.id);
        let (status, answer) = self.admin_put(&path, value).await;
        assert_eq!(status, 200, "{answer}");
    }

    /// GETs `/admin/v1/<path>` with the admin token; the status and the JSON answer.
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}/admin/v1/{path}", self.base_url);
        let r = self
            .http
            .get(url)
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .expect("admin call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// PUTs `body` to `/admin/v1/<path>` with the admin token; the status and the JSON answer.
    pub async fn admin_put(&self, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/admin/v1/{path}", self.base_url);
        self.with_admin_token(self.http.put(url), body).await
    }

    /// POSTs `body` to `/admin/v1/<path>` with the admin token; the status and the JSON answer.
    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/admin/v1/{path}", self.base_url);
        self.with_admin_token(self.http.post(url), body).await
    }

    /// PATCHes `body` to `/admin/v1/<path>` with the admin token; the status and the JSON answer.
    pub async fn admin_patch(&self, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/admin/v1/{path}", self.base_url);
        self.with_admin_token(self.http.patch(url), body).await
    }

    async fn with_admin_token(
        &self,
        request: reqwest::RequestBuilder,
        body: Value,
    ) -> (u16, Value) {
        let r = request
            .bearer_auth(&self.admin_token)
            .json(&body)
            .send()
            .await
            .expect("admin call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A payment by the protocol's public id.
    pub async fn payment(&self, public_id: &str) -> Payment {
        self.engine()
            .payment_by_public_id(public_id)
            .await
            .expect("payment")
    }
}

/// One request the [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query as sent.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A local HTTP endpoint that records every request and answers with a fixed status and body
/// (a merchant's notify URL or return URL).
pub struct Receiver {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    reply: Arc<Mutex<(u16, String)>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16, body: &str) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(Mutex::new((status, body.to_string())));
        let (rec, rep) = (received.clone(), reply.clone());
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (rec, rep) = (rec.clone(), rep.clone());
            async move { record(req, rec, rep).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url,
            received,
            reply,
            _task: task,
        }
    }

    /// Changes what the receiver answers from now on.
    pub fn reply_with(&self, status: u16, body: &str) {
        if let Ok(mut r) = self.reply.lock() {
            *r = (status, body.to_string());
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

async fn record(
    req: axum::extract::Request,
    rec: Arc<Mutex<Vec<Received>>>,
    rep: Arc<Mutex<(u16, String)>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    if let Ok(mut r) = rec.lock() {
        r.push(Received {
            method: parts.method.to_string(),
            uri,
            headers,
            body,
        });
    }
    let (status, body) = rep
        .lock()
        .map(|r| r.clone())
        .unwrap_or((500, String::new()));
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
    (status, body).into_response()
}

/// The test merchant's 33 Fintech client: its credentials, signing with `private_key` (its own
/// generated key unless a test registers another), verifying with the platform's key.
pub fn fintech33_client(
    s: &TestServer,
    private_key: Option<polypay_fintech33::RsaPrivateKey>,
) -> polypay_fintech33::Client {
    use polypay_fintech33::{BizCipher, MerchantKeys, RsaPrivateKey, RsaPublicKey, SignHash};
    let c = s.credentials_of("fintech33");
    let text = |k: &str| c[k].as_str().expect(k).to_owned();
    let private_key = private_key
        .unwrap_or_else(|| RsaPrivateKey::from_text(&text("rsaPrivateKey")).expect("merchant key"));
    let keys = MerchantKeys {
        app_id: text("appId"),
        app_secret: text("appSecret"),
        cipher: BizCipher::from_base64(&text("aesKey"), None).expect("aes key"),
        sign_hash: SignHash::Sha256,
        private_key,
        // What merchants download (§3.2); not part of the credentials JSON.
        platform_key: RsaPublicKey::from_text(&s.state.inner.platform.rsa_key.public_pem)
            .expect("platform key"),
    };
    polypay_fintech33::Client::new(s.base_url.clone(), keys)
}

/// A 33 Fintech payer in Hong Kong with `email`.
pub fn fintech33_payer(email: &str) -> polypay_fintech33::wire::Payer {
    polypay_fintech33::wire::Payer::example(email)
}

/// A customer's browser on the hosted cashier: opens a cashier link (with any parameters the
/// merchant appended), keeps the page's CSRF token, and presses buttons. Redirects are not
/// followed, so a test sees where an action sends the browser.
pub struct Customer {
    client: reqwest::Client,
    /// The page's address without its query: actions post to `{page}/{action}`.
    page: String,
    csrf: String,
    /// The opened page's HTML.
    pub html: String,
}

impl Customer {
    pub async fn open(link: &str) -> Customer {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let r = client.get(link).send().await.expect("open the cashier");
        assert_eq!(r.status(), 200, "{link}");
        let page = link.split('?').next().unwrap_or(link).to_owned();
        let html = r.text().await.expect("page");
        let csrf = csrf_of(&html).unwrap_or_default();
        Customer {
            client,
            page,
            csrf,
            html,
        }
    }

    /// Posts `action` (`pay`, `fail`, `cancel`, `continue`) with the CSRF token and `fields`.
    pub async fn press(&self, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.press_as(action, fields, "document").await
    }

    /// [`Customer::press`] from a page in a frame (BlockATM's widget on the merchant's site).
    pub async fn press_in_frame(&self, action: &str) -> reqwest::Response {
        self.press_as(action, &[], "iframe").await
    }

    async fn press_as(
        &self,
        action: &str,
        fields: &[(&str, &str)],
        dest: &str,
    ) -> reqwest::Response {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(format!("{}/{action}", self.page))
            .header("sec-fetch-dest", dest)
            .form(&form)
            .send()
            .await
            .expect("press")
    }
}

/// The CSRF token a cashier page's forms carry.
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let token = &html[at..];
    Some(token[..token.find('"')?].to_owned())
}

/// A request body of 1 KiB chunks of spaces, for tests of how bodies are bounded: declared, its
/// length is known up front (as a `Content-Length` makes it), else only reading finds how long
/// it is. The counter it comes with says how many chunks were read.
pub struct ChunkedBody {
    left: usize,
    declared: bool,
    read: Arc<std::sync::atomic::AtomicUsize>,
}

impl ChunkedBody {
    pub const CHUNK: usize = 1024;

    /// `chunks` chunks, as an [`axum::body::Body`], and the count of those read.
    pub fn body(
        chunks: usize,
        declared: bool,
    ) -> (axum::body::Body, Arc<std::sync::atomic::AtomicUsize>) {
        let read = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let body = ChunkedBody {
            left: chunks,
            declared,
            read: read.clone(),
        };
        (axum::body::Body::new(body), read)
    }
}

impl hyper::body::Body for ChunkedBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return std::task::Poll::Ready(None);
        }
        this.left -= 1;
        this.read.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let chunk = axum::body::Bytes::from(vec![b' '; Self::CHUNK]);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self.declared {
            true => hyper::body::SizeHint::with_exact((self.left * Self::CHUNK) as u64),
            false => hyper::body::SizeHint::default(),
        }
    }
}

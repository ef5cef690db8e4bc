//! The admin API under `/admin/v1`, behind the admin bearer token: merchants, their profile,
//! per-protocol settings and secret rotation.

use crate::audit::Operator;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::{Json, Router};
use polypay_core::{Merchant, MerchantId, Protocol};
use polypay_engine::console::RotatableSecret;
use polypay_engine::{EngineError, MerchantUpdate, NewMerchant, SandboxKeys};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route(
            "/admin/v1/merchants",
            get(list_merchants).post(create_merchant),
        )
        .route(
            "/admin/v1/merchants/{id}",
            get(show_merchant).patch(update_merchant),
        )
        .route(
            "/admin/v1/merchants/{id}/settings/{protocol}",
            put(put_protocol_settings),
        )
        .route("/admin/v1/merchants/{id}/rotate", post(rotate_secret))
        .route("/admin/v1/merchants/{id}/ledger", get(ledger))
        .route(
            "/admin/v1/merchants/{id}/public-key/{protocol}",
            put(put_public_key),
        )
        .route("/admin/v1", any(unknown_route))
        .route("/admin/v1/{*rest}", any(unknown_route));
    guarded(routes, state)
}

/// The layers of every operator API route (`/admin/v1`, `/sandbox/v1`): errors in the API's
/// JSON shape, then the admin token, outermost, so its `401` and `no-store` cover them all.
pub(crate) fn guarded(routes: Router<AppState>, state: AppState) -> Router<AppState> {
    routes
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::from_fn_with_state(state, require_admin))
}

/// A path under the operator API that names no route: `404` in the API's JSON.
pub(crate) async fn unknown_route(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    error(
        StatusCode::NOT_FOUND,
        &format!("no such route: {method} {path} (README.md lists the operator API)"),
    )
}

/// An error the framework answered before a handler ran (a method the route does not have,
/// a path it could not decode), which comes as plain text or empty: the same status and
/// headers (`Allow`), in the API's JSON shape.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    let message = match text.trim() {
        "" => reason,
        text => text.to_string(),
    };
    let mut answer = error(status, &message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}

/// Rejects requests without `Authorization: Bearer <admin token>` (compared in constant time;
/// the scheme's name in any case, as HTTP has it). No answer is cached: some carry secrets
/// (a new merchant's credentials, a rotated one).
pub(crate) async fn require_admin(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim_start_matches(' '))
        })
        .unwrap_or("");
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let throttle = &s.inner.auth_throttle;
    let now = std::time::Instant::now();
    let mut response = if let Err(wait) = throttle.check(peer, now) {
        locked_out(wait)
    } else if s.admin_token_matches(presented) {
        let mut req = req;
        let op = Operator::of("admin-api".into(), &req);
        req.extensions_mut().insert(op);
        next.run(req).await
    } else {
        if throttle.failed(peer, now) {
            tracing::warn!(peer = ?peer, "admin token: too many wrong attempts from this address; refusing it for a minute");
        }
        error(StatusCode::UNAUTHORIZED, "missing or wrong admin token")
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// The answer to an address locked out for wrong admin tokens.
pub(crate) fn locked_out(wait: std::time::Duration) -> Response {
    let secs = crate::auth_throttle::retry_after_secs(wait);
    let message = format!("too many wrong admin tokens from this address; try again in {secs} s");
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, &message);
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    r
}

pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// A JSON body the extractor refused: `413` when it was over the body limit (read in chunks,
/// so no length told it up front), else `400` saying what the body must be, and for JSON of
/// the wrong shape what serde found ("unknown field `cod`, expected ...").
pub(crate) fn refused_body(
    refused: axum::extract::rejection::JsonRejection,
    shape: &str,
) -> Response {
    use axum::extract::rejection::JsonRejection;
    match refused {
        r if r.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            let why = text
                .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&text);
            error(StatusCode::BAD_REQUEST, &format!("{shape} ({why})"))
        }
        JsonRejection::MissingJsonContentType(_) => error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("send the body as JSON, with Content-Type: application/json: {shape}"),
        ),
        JsonRejection::JsonSyntaxError(e) => {
            let text = e.body_text();
            let why = text
                .strip_prefix("Failed to parse the request body as JSON: ")
                .unwrap_or(&text);
            error(
                StatusCode::BAD_REQUEST,
                &format!("{shape} (not JSON: {why})"),
            )
        }
        _ => error(StatusCode::BAD_REQUEST, shape),
    }
}

fn too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request body too large (the node's body_limit_bytes)",
    )
}

/// The operator's routes answer a body refused for its declared length (the limit layer's
/// plain-text `413`) in their JSON, as every other error.
pub async fn json_too_large(response: Response) -> Response {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE if plain => too_large(),
        _ => response,
    }
}

fn engine_error(e: EngineError) -> Response {
    match e {
        EngineError::NotFound(what) => error(StatusCode::NOT_FOUND, &format!("{what} not found")),
        EngineError::Invalid(why) => error(StatusCode::BAD_REQUEST, &why),
        other => {
            tracing::error!(error = %other, "admin request failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// A new merchant's body; an unknown member is refused by name (a misspelt `notifyUrl` left a
/// merchant with no notify URL), as `PATCH` refuses one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateMerchant {
    name: String,
    #[serde(default)]
    notify_url: Option<String>,
}

async fn create_merchant(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    body: Result<Json<CreateMerchant>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(refused) => {
            return refused_body(refused, "body must be {\"name\": ..., \"notify_url\": ...}");
        }
    };
    // The engine checks the name and the URL (`NewMerchant::checked`).
    let new = NewMerchant {
        name: body.name,
        notify_url: body.notify_url,
        generate_keys: s.mode() == crate::config::Mode::Sandbox,
    };
    let (m, keys) = match s.engine().prepare_merchant(new) {
        Ok(made) => made,
        Err(e) => return engine_error(e),
    };
    let audited = op.engine(
        s.engine(),
        "merchant.create",
        ("merchant", m.id.as_str()),
        Some(&m.id),
        json!({"name": m.name}),
    );
    match audited.store_merchant(&m).await {
        Ok(()) => (
            StatusCode::CREATED,
            Json(merchant_created_json(&m, keys.as_ref(), &s.inner.platform)),
        )
            .into_response(),
        Err(e) => engine_error(e),
    }
}

/// A `PATCH` body as a [`MerchantUpdate`]: any of `name` (string), `notify_url` (string, or
/// `null`/`""` to remove it) and `enabled` (boolean); anything else is refused, by name.
fn merchant_update(body: &Value) -> Result<MerchantUpdate, String> {
    let Some(fields) = body.as_object() else {
        return Err("body must be a JSON object with name, notify_url and/or enabled".into());
    };
    let mut change = MerchantUpdate::default();
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("name", Value::String(name)) => change.name = Some(name.clone()),
            ("notify_url", Value::String(url)) => change.notify_url = Some(Some(url.clone())),
            ("notify_url", Value::Null) => change.notify_url = Some(None),
            ("enabled", Value::Bool(on)) => change.enabled = Some(*on),
            ("name", _) => return Err("name must be a string".into()),
            ("notify_url", _) => return Err("notify_url must be a string or null".into()),
            ("enabled", _) => return Err("enabled must be true or false".into()),
            _ => {
                return Err(format!(
                    "unknown field {key:?}: a merchant update takes name, notify_url and enabled"
                ));
            }
        }
    }
    if change == MerchantUpdate::default() {
        return Err("nothing to change: give name, notify_url and/or enabled".into());
    }
    Ok(change)
}

/// `PATCH /admin/v1/merchants/{id}`: name, default notify URL, enabled flag.
async fn update_merchant(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(refused) => return refused_body(refused, "body must be a JSON object"),
    };
    let change = match merchant_update(&body) {
        Ok(change) => change,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let id = MerchantId(id);
    let detail = crate::audit::profile_change(&change);
    let audited = op.engine(
        s.engine(),
        "merchant.update",
        ("merchant", id.as_str()),
        Some(&id),
        detail,
    );
    match audited.update_merchant_profile(&id, change).await {
        Ok(m) => Json(merchant_summary(&m)).into_response(),
        Err(e) => engine_error(e),
    }
}

/// The secret a rotation names (`v2sha256.appSecret`, …), or the message that lists them.
pub fn rotatable_named(name: &str) -> Result<RotatableSecret, String> {
    RotatableSecret::parse(name).ok_or_else(|| {
        let names: Vec<&str> = RotatableSecret::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown secret {name:?} ({})", names.join(", "))
    })
}

#[derive(Deserialize)]
struct Rotate {
    secret: String,
}

/// `POST /admin/v1/merchants/{id}/rotate` with `{"secret": "v2sha256.appSecret"}`: issues a
/// new value for that one secret and answers it, once; the old value stops working at once
/// (within a second on other nodes).
async fn rotate_secret(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    body: Result<Json<Rotate>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(refused) => {
            return refused_body(refused, "body must be {\"secret\": \"<protocol>.<field>\"}");
        }
    };
    let which = match rotatable_named(&body.secret) {
        Ok(which) => which,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let id = MerchantId(id);
    let audited = op.engine(
        s.engine(),
        "merchant.rotate",
        ("merchant", id.as_str()),
        Some(&id),
        json!({"secret": which.as_str()}),
    );
    match audited.rotate_secret(&id, which).await {
        Ok((m, secret)) => {
            tracing::info!(merchant = %m.id, secret = which.as_str(), "merchant secret rotated through the admin API");
            Json(json!({"id": m.id, "secret": which.as_str(), "value": secret.expose()}))
                .into_response()
        }
        Err(e) => engine_error(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKey {
    public_key: String,
}

/// `PUT /admin/v1/merchants/{id}/public-key/{blockatm|fintech33}` with `{"publicKey": "<PEM or
/// base64 DER>"}`: registers the key the merchant signs with (BlockATM V1, 33 Fintech), as the
/// specs have merchants do; answers the form stored.
async fn put_public_key(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((id, protocol)): Path<(String, String)>,
    body: Result<Json<PublicKey>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(refused) => {
            return refused_body(
                refused,
                "body must be {\"publicKey\": \"<PEM or base64 DER>\"}",
            );
        }
    };
    let protocol = match protocol_named(&protocol) {
        Ok(p) => p,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let key = match crate::protocols::checked_public_key(protocol, &body.public_key) {
        Ok(key) => key,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let stored = key.clone();
    let id = MerchantId(id);
    let audited = op.engine(
        s.engine(),
        "merchant.public_key",
        ("merchant", id.as_str()),
        Some(&id),
        json!({"protocol": protocol.as_str(), "public_key": stored}),
    );
    match audited.set_public_key(&id, protocol, Some(key)).await {
        Ok(m) => {
            tracing::info!(merchant = %m.id, protocol = protocol.as_str(), "merchant public key registered through the admin API");
            Json(json!({"id": m.id, "protocol": protocol.as_str(), "publicKey": stored}))
                .into_response()
        }
        Err(e) => engine_error(e),
    }
}

/// The protocol a settings path or command names, or the message that lists the valid names.
pub fn protocol_named(name: &str) -> Result<Protocol, String> {
    Protocol::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Protocol::ALL.iter().map(|p| p.as_str()).collect();
        format!("unknown protocol {name:?} ({})", names.join(", "))
    })
}

/// Checks `value` as `protocol`'s block of a merchant's settings (a JSON object; `{}` restores
/// the protocol's defaults): the protocol's own checks ([`crate::protocols::check_settings`]).
/// The options each protocol reads are in docs/protocols.md.
pub fn checked_protocol_settings(protocol: Protocol, value: &Value) -> Result<(), String> {
    if !value.is_object() {
        return Err("settings must be a JSON object".into());
    }
    crate::protocols::check_settings(protocol, value)
        .map_err(|problems| format!("{} settings refused: {problems}", protocol.as_str()))
}

/// `PUT /admin/v1/merchants/{id}/settings/{protocol}` with a JSON object body: replaces that
/// protocol's block in one write job (`Engine::set_merchant_settings`); running nodes see the
/// change within their one-second merchant cache.
async fn put_protocol_settings(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((id, protocol)): Path<(String, String)>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let value = match body {
        Ok(Json(value)) => value,
        Err(refused) => return refused_body(refused, "body must be a JSON object"),
    };
    let protocol = match protocol_named(&protocol) {
        Ok(p) => p,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    if let Err(message) = checked_protocol_settings(protocol, &value) {
        return error(StatusCode::BAD_REQUEST, &message);
    }
    let id = MerchantId(id);
    let audited = op.engine(
        s.engine(),
        "merchant.settings",
        ("merchant", id.as_str()),
        Some(&id),
        json!({"protocol": protocol.as_str(), "settings": value}),
    );
    match audited
        .set_merchant_settings(&id, protocol.as_str(), value)
        .await
    {
        Ok(m) => Json(merchant_summary(&m)).into_response(),
        Err(e) => engine_error(e),
    }
}

/// `GET /admin/v1/merchants` lists them all and takes no parameter: one given is a 400, not
/// a list that looks filtered and is not.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

async fn list_merchants(
    State(s): State<AppState>,
    query: Result<Query<NoParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if query.is_err() {
        let why = "GET /admin/v1/merchants takes no parameters: it lists every merchant";
        return error(StatusCode::BAD_REQUEST, why);
    }
    match s.engine().merchants().await {
        Ok(ms) => Json(json!({"merchants": ms.iter().map(merchant_summary).collect::<Vec<_>>()}))
            .into_response(),
        Err(e) => engine_error(e),
    }
}

async fn show_merchant(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    match s.engine().merchant(&MerchantId(id)).await {
        Ok(m) => {
            let balances = s.engine().balances(&m.id).await.unwrap_or_default();
            let mut v = merchant_summary(&m);
            v["balances"] = balances
                .iter()
                .map(|b| json!({"currency": b.currency.code(), "available": b.to_decimal_string()}))
                .collect();
            Json(v).into_response()
        }
        Err(e) => engine_error(e),
    }
}

#[derive(Deserialize)]
struct LedgerQuery {
    currency: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

/// `GET /admin/v1/merchants/{id}/ledger?currency=CNY[&before=&limit=]`: the merchant's
/// statement in one currency ([`statement_json`]).
async fn ledger(
    State(s): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<LedgerQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return error(StatusCode::BAD_REQUEST, "query: currency, before, limit");
    };
    let currency = match q.currency.as_deref().map(currency_named) {
        Some(Ok(c)) => c,
        Some(Err(why)) => return error(StatusCode::BAD_REQUEST, &why),
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "currency is required, e.g. ?currency=CNY",
            );
        }
    };
    let id = MerchantId(id);
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return error(StatusCode::BAD_REQUEST, "limit must be from 1 to 500");
    }
    match s
        .engine()
        .ledger_statement(&id, currency, q.before, limit)
        .await
    {
        Ok((available, entries)) => {
            Json(statement_json(&id, currency, available, &entries, limit)).into_response()
        }
        Err(e) => engine_error(e),
    }
}

/// A currency by its code, or the message that says what one is.
pub fn currency_named(code: &str) -> Result<polypay_core::Currency, String> {
    polypay_core::Currency::from_code(&code.trim().to_ascii_uppercase())
        .ok_or_else(|| format!("unknown currency {code:?}: give an ISO code such as CNY or USD"))
}

/// A statement: the available balance, its entries newest first (each signed, in major units)
/// and `next_before` for the next page (null on the last).
pub fn statement_json(
    id: &MerchantId,
    currency: polypay_core::Currency,
    available: i64,
    entries: &[(i64, polypay_store::LedgerEntry)],
    limit: i64,
) -> Value {
    let list: Vec<Value> = entries
        .iter()
        .map(|(n, e)| {
            json!({
                "id": n,
                "at": e.created_at.to_rfc3339(),
                "kind": e.kind,
                "object_id": e.object_id,
                "amount": e.amount.to_decimal_string(),
                "txn_id": e.txn_id,
            })
        })
        .collect();
    let full = entries.len() as i64 >= limit.clamp(1, 500);
    json!({
        "merchant_id": id,
        "currency": currency.code(),
        "available": polypay_core::Money::new(available, currency).to_decimal_string(),
        "entries": list,
        "next_before": entries.last().filter(|_| full).map(|(n, _)| n),
    })
}

/// A merchant without secrets: public identifiers only.
pub fn merchant_summary(m: &Merchant) -> Value {
    let c = &m.credentials;
    json!({
        "id": m.id,
        "name": m.name,
        "notify_url": m.notify_url,
        "enabled": m.enabled,
        "created_at": m.created_at.to_rfc3339(),
        "public_ids": {
            "passtopay": {"mchNo": c.passtopay.mch_no, "appId": c.passtopay.app_id},
            "blockatm": {"apiKey": c.blockatm.api_key, "cashierId": c.blockatm.cashier_id},
            "ottpay": {"merchant_id": c.ottpay.merchant_id, "operator_id": c.ottpay.operator_id, "shop_id": c.ottpay.shop_id},
            "v2sha256": {"appId": c.v2sha256.app_id},
            "fintech33": {"appId": c.fintech33.app_id},
        },
        "settings": m.settings,
        "settings_problems": settings_problems(m),
    })
}

/// At start: a warning per merchant whose stored settings a protocol's check refuses (blocks
/// stored before checks existed, or written straight to the database), since each protocol
/// then falls back to a default, or (33 Fintech) refuses the merchant's requests.
pub async fn warn_settings_problems(engine: &polypay_engine::Engine) {
    let merchants = match engine.merchants().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the merchants' settings");
            return;
        }
    };
    // The problems quote the stored values, which stay out of the log: `merchant show` has them.
    for m in &merchants {
        if let Value::Object(problems) = settings_problems(m) {
            for protocol in problems.keys() {
                tracing::warn!(
                    merchant = %m.id,
                    protocol = protocol.as_str(),
                    "stored settings the protocol does not accept (see `polypay merchant show`; \
                     fix with `polypay merchant settings`)"
                );
            }
        }
    }
}

/// What each protocol's check finds wrong with the merchant's stored settings blocks (set before
/// blocks were checked, or written straight to the database): at run time the protocol falls
/// back to its default for each such value, or (33 Fintech) refuses the merchant's requests.
/// An object from protocol name to message; empty when every block passes.
pub fn settings_problems(m: &Merchant) -> Value {
    let mut problems = serde_json::Map::new();
    for protocol in Protocol::ALL {
        let name = protocol.as_str();
        match m.settings.get(name) {
            None | Some(Value::Null) => {}
            Some(block) => {
                if let Err(message) = crate::protocols::check_settings(protocol, block) {
                    problems.insert(name.to_owned(), Value::String(message));
                }
            }
        }
    }
    Value::Object(problems)
}

/// The one-time view of a new merchant: every credential in the specs' field names, and in
/// sandbox mode the generated merchant-side private keys.
pub fn merchant_created_json(
    m: &Merchant,
    keys: Option<&SandboxKeys>,
    platform: &polypay_engine::Platform,
) -> Value {
    let c = &m.credentials;
    let mut blockatm = json!({
        "apiKey": c.blockatm.api_key,
        "secretKey": c.blockatm.secret_key.expose(),
        "cashierId": c.blockatm.cashier_id,
    });
    let mut fintech33 = json!({
        "appId": c.fintech33.app_id,
        "appSecret": c.fintech33.app_secret.expose(),
        "aesKey": c.fintech33.aes_key.expose(),
    });
    // The platform's public keys: BlockATM V1 webhooks and 33 Fintech responses are signed with them.
    blockatm["platformPublicKey"] =
        json!(polypay_engine::keys::pem_body(&platform.ec_key.public_pem));
    fintech33["platformPublicKey"] = json!(platform.rsa_key.public_pem);
    if let Some(k) = keys {
        blockatm["ecPrivateKey"] = json!(k.ec.private_pem);
        blockatm["ecPublicKey"] = json!(k.ec.public_der_base64());
        fintech33["rsaPrivateKey"] = json!(k.rsa.private_pem);
        fintech33["rsaPublicKey"] = json!(k.rsa.public_pem);
    }
    json!({
        "id": m.id,
        "name": m.name,
        "credentials": {
            "passtopay": {
                "mchNo": c.passtopay.mch_no,
                "appId": c.passtopay.app_id,
                "appSecret": c.passtopay.app_secret.expose(),
            },
            "blockatm": blockatm,
            "ottpay": {
                "merchant_id": c.ottpay.merchant_id,
                "signKey": c.ottpay.sign_key.expose(),
                "operator_id": c.ottpay.operator_id,
                "shop_id": c.ottpay.shop_id,
            },
            "v2sha256": {"appId": c.v2sha256.app_id, "appSecret": c.v2sha256.app_secret.expose()},
            "fintech33": fintech33,
        },
    })
}

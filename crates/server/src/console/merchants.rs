//! Merchants in the console: the list, onboarding (credentials shown once, on the page that
//! answers the form, never again), one merchant's public identifiers and balances, its profile
//! (name, notify URL, enabled), and rotating one secret (the new value is likewise shown once).

use super::layout::{self, csrf_field, escape, money, time};
use super::session::{FormClaim, Session};
use super::{Console, engine_error};
use crate::audit::Operator;
use crate::config::Mode;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use polypay_core::{Merchant, MerchantId};
use polypay_engine::console::RotatableSecret;
use polypay_engine::{MerchantUpdate, NewMerchant};
use serde::Deserialize;

fn public_ids(m: &Merchant) -> [(&'static str, String); 5] {
    let c = &m.credentials;
    [
        (
            "PassToPay mchNo / appId",
            format!("{} / {}", c.passtopay.mch_no, c.passtopay.app_id),
        ),
        (
            "BlockATM apiKey / cashierId",
            format!("{} / {}", c.blockatm.api_key, c.blockatm.cashier_id),
        ),
        ("OTT Pay merchant_id", c.ottpay.merchant_id.clone()),
        ("V2_SHA256 appId", c.v2sha256.app_id.clone()),
        ("33 Fintech appId", c.fintech33.app_id.clone()),
    ]
}

fn create_form(s: &Session) -> String {
    // A one-time id: a refresh or double click of the credentials page re-posts it, and makes
    // no second merchant.
    let form = polypay_engine::random_hex(12);
    format!(
        "<div class=\"card\"><h2>New merchant</h2><form method=\"post\" action=\"/console/merchants\" class=\"filters\">{}\
         <input type=\"hidden\" name=\"form\" value=\"{form}\">\
         <label>Name<input name=\"name\" id=\"merchant-name\" required maxlength=\"128\"></label>\
         <label>Notify URL (optional)<input name=\"notify_url\" id=\"merchant-notify-url\" type=\"url\" size=\"40\"></label>\
         <button class=\"primary\" type=\"submit\" id=\"merchant-create\">Create</button></form>\
         <p class=\"muted\">Its credentials are shown once, right after creation; only their public halves can be seen later.</p></div>",
        csrf_field(s)
    )
}

/// `GET /console/merchants`.
pub async fn list(State(c): State<Console>, Extension(s): Extension<Session>) -> Response {
    let merchants = match c.app.engine().merchants().await {
        Ok(m) => m,
        Err(e) => return engine_error(e),
    };
    let rows: Vec<String> = merchants
        .iter()
        .rev()
        .map(|m| {
            format!(
                "<tr><td><a href=\"/console/merchants/{0}\">{1}</a></td><td>{0}</td><td>{2}</td><td>{3}</td><td class=\"wrap\">{4}</td></tr>",
                escape(m.id.as_str()),
                escape(&m.name),
                if m.enabled { "yes" } else { "no" },
                time(m.created_at),
                escape(m.notify_url.as_deref().unwrap_or("—")),
            )
        })
        .collect();
    let body = format!(
        "{}{}",
        create_form(&s),
        layout::table(
            &["Name", "Id", "Enabled", "Created", "Notify URL"],
            &rows,
            "No merchants yet."
        )
    );
    layout::page(&c.frame(&s, "/console/merchants"), "Merchants", &body)
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    notify_url: String,
    /// The page's one-time form id (absent from a form not made by the page: no check).
    #[serde(default)]
    form: Option<String>,
}

/// `POST /console/merchants`: onboards a merchant and shows its credentials once.
pub async fn create(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Extension(s): Extension<Session>,
    Form(f): Form<CreateForm>,
) -> Response {
    let form = f.form.clone().filter(|id| !id.is_empty());
    if let Some(id) = &form
        && let FormClaim::Repeated(made) = c.sessions.claim_form(&s.id, id)
    {
        return already_created(&c, &s, made.as_deref());
    }
    let created = create_merchant(&c, &op, &s, f).await;
    if let Some(id) = &form {
        c.sessions.finish_form(&s.id, id, created.1);
    }
    created.0
}

/// The answer to a create form posted again: the merchant it made, whose credentials were
/// shown once, and no second one.
fn already_created(c: &Console, s: &Session, made: Option<&str>) -> Response {
    let link = match made {
        Some(id) => format!(
            "It made merchant <a href=\"/console/merchants/{0}\" id=\"merchant-link\">{0}</a>, whose \
             credentials were shown once, on that page.",
            escape(id)
        ),
        None => "It is still being handled.".to_owned(),
    };
    let body = format!(
        "<div class=\"notice warn\" id=\"form-repeated\">This form was already sent (a refresh or a \
         second click): no other merchant was created. {link}</div>"
    );
    let page = layout::page(
        &c.frame(s, "/console/merchants"),
        "Merchant already created",
        &body,
    );
    (StatusCode::CONFLICT, page).into_response()
}

/// Creates the merchant of a form; the page, and the merchant's id when one was made.
async fn create_merchant(
    c: &Console,
    op: &Operator,
    s: &Session,
    f: CreateForm,
) -> (Response, Option<String>) {
    // The engine trims both, takes an empty URL as none, checks them
    // (`NewMerchant::checked`) and says what is wrong.
    let new = NewMerchant {
        name: f.name,
        notify_url: Some(f.notify_url),
        generate_keys: c.app.mode() == Mode::Sandbox,
    };
    let (m, keys) = match c.app.engine().prepare_merchant(new) {
        Ok(made) => made,
        Err(e) => return (engine_error(e), None),
    };
    let audited = op.engine(
        c.app.engine(),
        "merchant.create",
        ("merchant", m.id.as_str()),
        Some(&m.id),
        serde_json::json!({"name": m.name}),
    );
    if let Err(e) = audited.store_merchant(&m).await {
        return (engine_error(e), None);
    }
    tracing::info!(merchant = %m.id, "merchant created from the console");
    let credentials = crate::admin::merchant_created_json(&m, keys.as_ref(), &c.app.inner.platform);
    let body = format!(
        "<div class=\"notice warn\">These credentials are shown <strong>once</strong>: copy them now. \
         polypay keeps them only encrypted and will show their public halves only.</div>\
         <div class=\"card\"><dl><dt>Merchant</dt><dd><a href=\"/console/merchants/{0}\" id=\"merchant-link\">{1}</a> ({0})</dd></dl>\
         <pre id=\"credentials\">{2}</pre></div>",
        escape(m.id.as_str()),
        escape(&m.name),
        escape(&serde_json::to_string_pretty(&credentials).unwrap_or_default()),
    );
    let page = layout::page(&c.frame(s, "/console/merchants"), "Merchant created", &body);
    (page, Some(m.id.0.clone()))
}

fn profile_form(s: &Session, m: &Merchant) -> String {
    format!(
        "<div class=\"card\"><h2>Profile</h2><form method=\"post\" action=\"/console/merchants/{}/profile\" class=\"filters\">{}\
         <label>Name<input name=\"name\" id=\"profile-name\" value=\"{}\" required maxlength=\"128\"></label>\
         <label>Notify URL<input name=\"notify_url\" id=\"profile-notify-url\" value=\"{}\" placeholder=\"none\"></label>\
         <label><input type=\"checkbox\" name=\"enabled\" id=\"profile-enabled\"{}> enabled</label>\
         <button type=\"submit\" id=\"profile-save\">Save</button></form>\
         <p class=\"muted\">A disabled merchant's requests are refused as an unknown merchant's; its \
         queued callbacks still go out. An empty notify URL removes it.</p></div>",
        escape(m.id.as_str()),
        csrf_field(s),
        escape(&m.name),
        escape(m.notify_url.as_deref().unwrap_or("")),
        if m.enabled { " checked" } else { "" },
    )
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    notify_url: String,
    /// A checkbox: present when ticked.
    enabled: Option<String>,
}

/// `POST /console/merchants/{id}/profile`: name, notify URL and enabled flag, checked as at
/// creation; back to the merchant's page when saved.
pub async fn profile(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    Form(f): Form<ProfileForm>,
) -> Response {
    let change = MerchantUpdate {
        name: Some(f.name),
        notify_url: Some(Some(f.notify_url)),
        enabled: Some(f.enabled.is_some()),
    };
    let id = MerchantId(id);
    let audited = op.engine(
        c.app.engine(),
        "merchant.update",
        ("merchant", id.as_str()),
        Some(&id),
        crate::audit::profile_change(&change),
    );
    match audited.update_merchant_profile(&id, change).await {
        Ok(m) => {
            tracing::info!(merchant = %m.id, enabled = m.enabled, "merchant profile changed from the console");
            Redirect::to(&format!(
                "/console/merchants/{}",
                layout::url_encode(m.id.as_str())
            ))
            .into_response()
        }
        Err(e) => engine_error(e),
    }
}

fn rotate_form(s: &Session, m: &Merchant) -> String {
    let options: String = RotatableSecret::ALL
        .iter()
        .map(|r| format!("<option value=\"{0}\">{0}</option>", r.as_str()))
        .collect();
    format!(
        "<div class=\"card\"><h2>Rotate a secret</h2><form method=\"post\" action=\"/console/merchants/{}/rotate\" class=\"filters\">{}\
         <label>Secret<select name=\"secret\" id=\"rotate-secret\">{options}</select></label>\
         <button class=\"danger\" type=\"submit\" id=\"rotate\">Rotate</button></form>\
         <p class=\"muted\">The old value stops working at once; the new one is shown once.</p></div>",
        escape(m.id.as_str()),
        csrf_field(s)
    )
}

/// `GET /console/merchants/{id}`.
pub async fn show(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let id = MerchantId(id);
    let m = match c.app.engine().merchant(&id).await {
        Ok(m) => m,
        Err(e) => return engine_error(e),
    };
    let balances = c.app.engine().balances(&id).await.unwrap_or_default();
    let ids: String = public_ids(&m)
        .iter()
        .map(|(k, v)| format!("<dt>{k}</dt><dd>{}</dd>", escape(v)))
        .collect();
    let balance_rows: Vec<String> = balances
        .iter()
        .map(|b| {
            format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td><a href=\"/console/merchants/{}/ledger?currency={}\">statement</a></td></tr>",
                b.currency.code(),
                money(b),
                layout::url_encode(m.id.as_str()),
                b.currency.code(),
            )
        })
        .collect();
    let q = format!("merchant={}", layout::url_encode(m.id.as_str()));
    let body = format!(
        "<div class=\"card\"><dl><dt>Id</dt><dd>{}</dd><dt>Name</dt><dd>{}</dd><dt>Enabled</dt><dd>{}</dd>\
         <dt>Created</dt><dd>{}</dd><dt>Notify URL</dt><dd>{}</dd>{ids}</dl>\
         <p><a href=\"/console/payments?{q}\">payments</a> · <a href=\"/console/payouts?{q}\">payouts</a> · \
         <a href=\"/console/refunds?{q}\">refunds</a> · <a href=\"/console/callbacks?{q}\">callbacks</a></p></div>\
         <h2>Balances</h2>{}{}{}",
        escape(m.id.as_str()),
        escape(&m.name),
        if m.enabled { "yes" } else { "no" },
        time(m.created_at),
        escape(m.notify_url.as_deref().unwrap_or("—")),
        layout::table(
            &["Currency", "Available", ""],
            &balance_rows,
            "No balance yet."
        ),
        profile_form(&s, &m),
        rotate_form(&s, &m),
    );
    layout::page(&c.frame(&s, "/console/merchants"), &m.name, &body)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatementQuery {
    currency: String,
    before: String,
}

/// Entries on one page of a statement.
const STATEMENT_PAGE: i64 = 50;

/// `GET /console/merchants/{id}/ledger?currency=CNY[&before=]`: the merchant's statement in one
/// currency, newest first (the admin API's and `polypay merchant ledger`'s).
pub async fn statement(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
    Query(q): Query<StatementQuery>,
) -> Response {
    let Ok(currency) = crate::admin::currency_named(&q.currency) else {
        return layout::message(
            StatusCode::BAD_REQUEST,
            "No statement",
            "Give the balance's currency, e.g. ?currency=CNY.",
        );
    };
    let id = MerchantId(id);
    let before = q.before.parse().ok();
    let engine = c.app.engine();
    let (available, entries) = match engine
        .ledger_statement(&id, currency, before, STATEMENT_PAGE)
        .await
    {
        Ok(found) => found,
        Err(e) => return engine_error(e),
    };
    let rows: Vec<String> = entries
        .iter()
        .map(|(n, e)| {
            let object = match e.object_id.split('_').next() {
                Some("po") => format!("/console/payouts/{}", e.object_id),
                Some("pay") => format!("/console/payments/{}", e.object_id),
                _ => String::new(),
            };
            let shown = match object.is_empty() {
                true => escape(&e.object_id),
                false => format!("<a href=\"{}\">{}</a>", escape(&object), escape(&e.object_id)),
            };
            format!(
                "<tr><td class=\"num\">{n}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{shown}</td></tr>",
                time(e.created_at),
                escape(&e.kind),
                money(&e.amount),
            )
        })
        .collect();
    let older = entries
        .last()
        .filter(|_| entries.len() as i64 >= STATEMENT_PAGE)
        .map(|(n, _)| {
            format!(
                "<div class=\"pager\"><a id=\"older\" href=\"/console/merchants/{}/ledger?currency={}&before={n}\">older →</a></div>",
                layout::url_encode(id.as_str()),
                currency.code()
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<p>Available: <strong>{}</strong> · <a href=\"/console/merchants/{}\">merchant</a></p>{}{older}",
        money(&polypay_core::Money::new(available, currency)),
        layout::url_encode(id.as_str()),
        layout::table(
            &["Entry", "Time", "Kind", "Amount", "Object"],
            &rows,
            "No entries."
        ),
    );
    let title = format!("Statement {} {}", id.as_str(), currency.code());
    layout::page(&c.frame(&s, "/console/merchants"), &title, &body)
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    secret: String,
}

/// `POST /console/merchants/{id}/rotate`: issues a new value for one secret and shows it once.
pub async fn rotate(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
    Form(f): Form<RotateForm>,
) -> Response {
    let Some(which) = RotatableSecret::parse(&f.secret) else {
        return layout::message(
            StatusCode::BAD_REQUEST,
            "Not rotated",
            "Choose a secret to rotate.",
        );
    };
    let id = MerchantId(id);
    let audited = op.engine(
        c.app.engine(),
        "merchant.rotate",
        ("merchant", id.as_str()),
        Some(&id),
        serde_json::json!({"secret": which.as_str()}),
    );
    let (m, secret) = match audited.rotate_secret(&id, which).await {
        Ok(done) => done,
        Err(e) => return engine_error(e),
    };
    tracing::info!(merchant = %m.id, secret = which.as_str(), "merchant secret rotated from the console");
    let body = format!(
        "<div class=\"notice warn\">The new <strong>{0}</strong> of {1} is shown <strong>once</strong>; \
         the previous value no longer works.</div><div class=\"card\"><pre id=\"new-secret\">{2}</pre>\
         <p><a href=\"/console/merchants/{3}\">Back to {1}</a></p></div>",
        which.as_str(),
        escape(&m.name),
        escape(secret.expose()),
        escape(m.id.as_str()),
    );
    layout::page(&c.frame(&s, "/console/merchants"), "Secret rotated", &body)
}

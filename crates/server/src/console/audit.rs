//! The audit log in the console: operator changes, newest first, filtered by merchant or
//! object, a page at a time ("Older" follows the last entry shown).

use super::layout::{self, escape, time, url_encode};
use super::session::Session;
use super::{Console, engine_error};
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use polypay_engine::EngineError;
use serde::Deserialize;

/// Entries per page.
const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    merchant: String,
    object: String,
    before: String,
}

/// `GET /console/audit`.
pub async fn page(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Query(q): Query<AuditQuery>,
) -> Response {
    let nonempty = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let params = crate::audit::Params {
        merchant: nonempty(&q.merchant),
        object: nonempty(&q.object),
        limit: Some(PAGE.to_string()),
        cursor: nonempty(&q.before),
    };
    // A bad filter is said on the page, and the log shown unfiltered beneath it.
    let (filter, problem) = match params.filter() {
        Ok(f) => (f, None),
        Err(why) => {
            let all = polypay_store::AuditFilter {
                limit: PAGE,
                ..Default::default()
            };
            (all, Some(why))
        }
    };
    let read = c
        .app
        .engine()
        .store()
        .read(move |db| db.audit_log(&filter))
        .await;
    let (entries, more) = match read {
        Ok(page) => page,
        Err(e) => return engine_error(EngineError::Store(e)),
    };
    let rows: Vec<String> = entries
        .iter()
        .map(|e| {
            let object = match e.object_kind.as_str() {
                "payment" | "payout" | "merchant" => format!(
                    "<a href=\"/console/{}s/{}\">{}</a>",
                    e.object_kind,
                    url_encode(&e.object_id),
                    escape(&e.object_id)
                ),
                "callback" => format!(
                    "<a href=\"/console/callbacks/{}\">{}</a>",
                    url_encode(&e.object_id),
                    escape(&e.object_id)
                ),
                _ => escape(&e.object_id),
            };
            format!(
                "<tr data-action=\"{0}\"><td>{1}</td><td>{2}</td><td>{3}</td><td>{0}</td><td>{4}</td><td><code>{5}</code></td></tr>",
                escape(&e.action),
                time(e.at),
                escape(&e.actor),
                escape(&e.source),
                object,
                escape(&e.detail.to_string()),
            )
        })
        .collect();
    let notice = problem
        .as_ref()
        .map(|why| {
            format!(
                "<div class=\"notice warn\" id=\"filter-problem\">{}</div>",
                escape(why)
            )
        })
        .unwrap_or_default();
    // After a refused filter the page is unfiltered, and so is its next one.
    let (merchant, object) = match &problem {
        None => (q.merchant.trim(), q.object.trim()),
        Some(_) => ("", ""),
    };
    let older = match entries.last() {
        Some(last) if more => format!(
            "<p><a id=\"older\" href=\"/console/audit?merchant={}&object={}&before={}\">Older</a></p>",
            url_encode(merchant),
            url_encode(object),
            last.id
        ),
        _ => String::new(),
    };
    let body = format!(
        "{notice}<form method=\"get\" action=\"/console/audit\" class=\"filters\">\
         <label>Merchant<input name=\"merchant\" value=\"{}\" placeholder=\"mch_…\"></label>\
         <label>Object<input name=\"object\" value=\"{}\" placeholder=\"pay_…, po_…, rf_…\"></label>\
         <button type=\"submit\">Filter</button></form>{}{older}\
         <p class=\"muted\">Every change made through the admin API, the sandbox control API, this console \
         and the database commands, recorded in the change's own transaction. Times are real time.</p>",
        escape(q.merchant.trim()),
        escape(q.object.trim()),
        layout::table(
            &["Time", "Who", "From", "Action", "Object", "Detail"],
            &rows,
            "No operator changes yet."
        ),
    );
    layout::page(&c.frame(&s, "/console/audit"), "Audit log", &body)
}

//! The operator's audit log: every change made through the admin API, the sandbox control API
//! or the console is recorded with who made it and from where, in the change's own write job
//! ([`Operator::engine`]); `GET /admin/v1/audit` reads it, newest first.
//!
//! Who: the admin API has one credential, the admin token, so its entries say `admin-api`; the
//! console says `console:<session>` (a short label of the sign-in, not its cookie), and the
//! `polypay` commands that write to the database say `cli:<OS user>`. From where: the TCP
//! peer's address (behind a proxy, the proxy's; no forwarded header is trusted).

use crate::admin::error;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use polypay_core::MerchantId;
use polypay_engine::Engine;
use polypay_store::{AuditEntry, AuditFilter};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;

pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new().route("/admin/v1/audit", get(list));
    crate::admin::guarded(routes, state)
}

/// Whether a request to `path` may be an operator's, whose peer address the audit log records
/// (the admin and sandbox control APIs, the console).
pub fn records_peer(path: &str) -> bool {
    ["/admin/", "/sandbox/", "/console"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// Who is acting on a request, put there by the admin token's check or the console's session.
#[derive(Debug, Clone)]
pub struct Operator {
    pub actor: String,
    pub source: String,
}

impl Operator {
    /// The operator of a request its guard let through: `actor`, from the request's peer.
    pub fn of(actor: String, request: &axum::extract::Request) -> Operator {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
        Operator::at(actor, peer.map(|c| c.0))
    }

    /// `actor` connected from `peer` (`unknown` when the server did not say).
    pub fn at(actor: String, peer: Option<SocketAddr>) -> Operator {
        let source = peer.map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string());
        Operator { actor, source }
    }

    /// Records `action` on its own (a console sign-in or sign-out: nothing else is written).
    pub async fn record(
        &self,
        engine: &Engine,
        action: &str,
        object: (&str, &str),
    ) -> Result<(), polypay_engine::EngineError> {
        let entry = self.entry(engine, action, object, None, json!({}));
        engine
            .store()
            .write(move |db| Ok::<_, polypay_engine::EngineError>(db.append_audit(&entry)?))
            .await
    }

    /// Who runs a `polypay` command on the database: `cli:<OS user>` on `local:<host>`. The
    /// user is the process's real uid's name in `/etc/passwd` (not `$USER`, which the caller
    /// sets at will), else `uid<n>`. Anyone who can run these commands can also write the
    /// database directly, so this names the account, it does not prove it.
    pub fn cli() -> Operator {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
                line.split_whitespace().next().map(str::to_owned)
            });
        let name = uid.as_deref().and_then(|uid| {
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd.lines().find_map(|l| {
                let mut fields = l.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid).then(|| name.to_owned())
            })
        });
        let user = name
            .or(uid.map(|u| format!("uid{u}")))
            .unwrap_or_else(|| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        Operator {
            actor: format!("cli:{}", printable(&user)),
            source: format!("local:{}", printable(&host)),
        }
    }

    /// The entry recording `action` on an object (`kind`, polypay's `id`), at the engine's
    /// real time (not the sandbox's travelled one).
    fn entry(
        &self,
        engine: &Engine,
        action: &str,
        (kind, id): (&str, &str),
        merchant: Option<&MerchantId>,
        detail: Value,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: engine.clock().wall(),
            actor: self.actor.clone(),
            source: self.source.clone(),
            action: action.to_owned(),
            object_kind: kind.to_owned(),
            object_id: id.to_owned(),
            merchant_id: merchant.map(|m| m.as_str().to_owned()),
            detail,
        }
    }

    /// The engine to make the change with: its write job appends the entry
    /// ([`Operator::entry`]), so the change and its record commit together.
    pub fn engine(
        &self,
        engine: &Engine,
        action: &str,
        object: (&str, &str),
        merchant: Option<&MerchantId>,
        detail: Value,
    ) -> Engine {
        engine.audited(self.entry(engine, action, object, merchant, detail))
    }
}

/// `text` with anything but visible ASCII replaced by `?`, at most 64 characters: names from
/// the system, kept to what prints as itself in a terminal.
fn printable(text: &str) -> String {
    text.chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// A URL as the audit log keeps it, for good: without user information, query or fragment,
/// where a merchant may have put a token.
fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => String::new(),
    }
}

/// What a merchant profile change records: the fields it sets, with their new values (a
/// name, the flag, the notify URL without what could hold a token).
pub fn profile_change(change: &polypay_engine::MerchantUpdate) -> Value {
    let mut detail = serde_json::Map::new();
    if let Some(name) = &change.name {
        detail.insert("name".into(), json!(name));
    }
    if let Some(url) = &change.notify_url {
        detail.insert("notify_url".into(), json!(url.as_deref().map(redacted_url)));
    }
    if let Some(enabled) = change.enabled {
        detail.insert("enabled".into(), json!(enabled));
    }
    Value::Object(detail)
}

/// The query of `GET /admin/v1/audit`.
/// `polypay audit` reads through it too.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// A merchant's id: the entries about it and its objects.
    pub merchant: Option<String>,
    /// polypay's id of one object (a payment, a payout, a refund, a merchant, a callback).
    pub object: Option<String>,
    /// Entries per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

impl Params {
    /// The filter these parameters ask for, or what is wrong with them (naming the parameter).
    pub fn filter(&self) -> Result<AuditFilter, String> {
        use crate::lists::given;
        let cursor = given("cursor", &self.cursor)?
            .map(|text| match text.parse::<i64>() {
                Ok(id) if id > 0 && id.to_string() == text => Ok(id),
                _ => Err("cursor must be the next_cursor of the page before".to_owned()),
            })
            .transpose()?;
        Ok(AuditFilter {
            merchant_id: crate::lists::merchant_param(&self.merchant)?,
            object_id: given("object", &self.object)?.map(str::to_owned),
            before_id: cursor,
            limit: crate::lists::limit_param(&self.limit)?,
        })
    }
}

/// One page of the log and whether more follow (the API's and `polypay audit`'s read);
/// `None` when the filter names a merchant that does not exist: refused, as the lists refuse
/// it, since a typo is not an empty log.
pub async fn read_log(
    engine: &Engine,
    filter: AuditFilter,
) -> Result<Option<(Vec<AuditEntry>, bool)>, polypay_store::StoreError> {
    engine
        .store()
        .read(move |db| {
            if let Some(m) = &filter.merchant_id
                && !db.merchant_exists(m)?
            {
                return Ok(None);
            }
            db.audit_log(&filter).map(Some)
        })
        .await
}

/// `GET /admin/v1/audit`: `{"entries": […], "next_cursor": "…"}`, newest first; the cursor
/// (the last entry's id) gives the page after.
async fn list(State(s): State<AppState>, query: Result<Query<Params>, QueryRejection>) -> Response {
    let filter = match crate::lists::checked(query, Params::filter) {
        Ok(f) => f,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let merchant = filter.merchant_id.clone().map(|m| m.0).unwrap_or_default();
    match read_log(s.engine(), filter).await {
        Ok(None) => error(StatusCode::BAD_REQUEST, &format!("no merchant {merchant}")),
        Ok(Some((entries, more))) => {
            let next = more
                .then(|| entries.last().map(|e| e.id.to_string()))
                .flatten();
            Json(json!({"entries": entries, "next_cursor": next})).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "audit log read failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_urls_are_kept_without_what_could_hold_a_token() {
        assert_eq!(
            redacted_url("https://user:pass@shop.example:8443/notify?token=s3cret#x"),
            "https://shop.example:8443/notify"
        );
        assert_eq!(redacted_url("not a url"), "");
        let change = polypay_engine::MerchantUpdate {
            notify_url: Some(None),
            enabled: Some(true),
            ..Default::default()
        };
        assert_eq!(
            profile_change(&change),
            json!({"notify_url": null, "enabled": true})
        );
    }

    #[test]
    fn operator_requests_carry_their_peer_and_merchants_do_not() {
        for path in [
            "/admin/v1/audit",
            "/sandbox/v1/clock/advance",
            "/console/login",
        ] {
            assert!(records_peer(path), "{path}");
        }
        for path in [
            "/api/pay/unifiedOrder",
            "/processV2",
            "/cashier/abc",
            "/administrator",
        ] {
            assert!(!records_peer(path), "{path}");
        }
    }
}

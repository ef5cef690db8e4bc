//! The admin API's lists (`GET /admin/v1/{payments,payouts,refunds}`, admin token): newest
//! first, filtered by merchant, protocol, state, number and creation or finish time, a page at
//! a time by cursor. `polypay export` reads through [`Params`] and [`page`] the same way.
//!
//! A page is `{"payments": […], "next_cursor": "…"}` (`null` after the last page); passing the
//! cursor back as `cursor=` gives the rows after the page's last one, so a walk through a
//! million rows costs the same per page at its end as at its start, and payments created
//! meanwhile (which are newer) neither shift it nor repeat a row. Every parameter is checked: a
//! misspelt one is refused by name rather than ignored (which would list everything).

use crate::admin::error;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use polypay_core::{MerchantId, PaymentState, PayoutState, Protocol, RefundState, Timestamp};
use polypay_engine::{Engine, EngineError};
use polypay_store::console::{ListFilter, Listing, MAX_PAGE, Page, Position};
use serde::Deserialize;
use serde_json::json;

pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/admin/v1/payments", get(payments))
        .route("/admin/v1/payouts", get(payouts))
        .route("/admin/v1/refunds", get(refunds));
    crate::admin::guarded(routes, state)
}

/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 100;

/// The query of a list. Every value is text, checked by [`Params::filter`] with a message that
/// names the parameter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// A merchant's id (`mch_…`); an unknown one is refused.
    pub merchant: Option<String>,
    /// `passtopay`, `blockatm`, `ottpay`, `v2sha256` or `fintech33`.
    pub protocol: Option<String>,
    /// A state of the listed kind.
    pub state: Option<String>,
    /// Created at or after this time (RFC 3339 with an offset, or Unix milliseconds).
    pub created_from: Option<String>,
    /// Created strictly before this time.
    pub created_before: Option<String>,
    /// Finished at or after this time.
    pub finished_from: Option<String>,
    /// Finished strictly before this time.
    pub finished_before: Option<String>,
    /// The merchant's order (refund) number, the protocol's id or polypay's id.
    pub number: Option<String>,
    /// Rows per page, 1 to 1000.
    pub limit: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// A parameter's value, trimmed. An empty one is refused, not taken as absent: a script whose
/// variable was unset (`merchant=$M`) would otherwise list every merchant's objects.
pub fn given<'a>(name: &str, value: &'a Option<String>) -> Result<Option<&'a str>, String> {
    match value.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Err(format!("{name} is empty: give a value or leave it out")),
        Some(v) => Ok(Some(v)),
    }
}

/// The `merchant` parameter: a merchant's id (`mch_…`, letters, digits, `_` and `-`), not
/// looked up.
pub fn merchant_param(value: &Option<String>) -> Result<Option<MerchantId>, String> {
    let Some(m) = given("merchant", value)? else {
        return Ok(None);
    };
    let id = m.strip_prefix(MerchantId::PREFIX).unwrap_or_default();
    let fits = !id.is_empty() && id.len() <= 60;
    if !fits
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("merchant must be a merchant's id (mch_…)".into());
    }
    Ok(Some(MerchantId(m.to_string())))
}

/// The `limit` parameter: 1 to [`MAX_PAGE`], [`DEFAULT_LIMIT`] when absent.
pub(crate) fn limit_param(value: &Option<String>) -> Result<i64, String> {
    match given("limit", value)? {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or(format!("limit must be a whole number from 1 to {MAX_PAGE}")),
    }
}

/// A time as the lists take it: RFC 3339 with an offset (`2026-12-06T00:00:00+08:00`,
/// `…Z`), or Unix milliseconds.
///
/// A time between two milliseconds counts as the later one, so that `from` and `before` both
/// compare as written (a row finished at .316 is before .3165 and not from .3161). A number
/// under 10^11 (before March 1973 in milliseconds) is refused as the Unix seconds it most
/// likely is, rather than read as a moment in 1970.
pub fn parse_time(name: &str, text: &str) -> Result<Timestamp, String> {
    if let Ok(ms) = text.parse::<i64>() {
        if ms != 0 && ms.unsigned_abs() < 100_000_000_000 {
            return Err(format!(
                "{name} looks like Unix seconds ({text}); give Unix milliseconds or an RFC 3339 time"
            ));
        }
        return Ok(Timestamp(ms));
    }
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => {
            let ns = t.as_nanosecond();
            let ms = ns.div_euclid(1_000_000) + i128::from(ns.rem_euclid(1_000_000) != 0);
            Ok(Timestamp(i64::try_from(ms).unwrap_or(i64::MAX)))
        }
        Err(_) => Err(format!(
            "{name} must be an RFC 3339 time with an offset (2026-12-06T00:00:00+08:00) or \
             Unix milliseconds, not {text:?}"
        )),
    }
}

/// The cursor that continues a list after `created_at`/`id`: opaque to callers.
pub fn cursor(created_at: Timestamp, id: &str) -> String {
    format!("{}.{id}", created_at.0)
}

fn parse_cursor(text: &str) -> Result<Position, String> {
    let parsed = text.split_once('.').and_then(|(ms, id)| {
        let created_at = Timestamp(ms.parse().ok()?);
        (!id.is_empty()).then(|| Position {
            created_at,
            id: id.to_string(),
        })
    });
    parsed.ok_or_else(|| "cursor must be a next_cursor of an earlier page".to_string())
}

/// The states a kind's objects can be in.
pub fn states(kind: Listing) -> Vec<&'static str> {
    match kind {
        Listing::Payments => PaymentState::ALL.iter().map(|s| s.as_str()).collect(),
        Listing::Payouts => PayoutState::ALL.iter().map(|s| s.as_str()).collect(),
        Listing::Refunds => RefundState::ALL.iter().map(|s| s.as_str()).collect(),
    }
}

impl Params {
    /// The store filter these parameters ask for, or why they do not make one.
    pub fn filter(&self, kind: Listing) -> Result<ListFilter, String> {
        let mut f = ListFilter {
            limit: DEFAULT_LIMIT,
            ..ListFilter::default()
        };
        f.merchant_id = merchant_param(&self.merchant)?;
        if let Some(p) = given("protocol", &self.protocol)? {
            let names = Protocol::ALL.map(|p| p.as_str()).join(", ");
            let protocol = Protocol::parse(p);
            f.protocol = Some(protocol.ok_or(format!("protocol must be one of {names}"))?);
        }
        if let Some(s) = given("state", &self.state)? {
            let states = states(kind);
            if !states.contains(&s) {
                return Err(format!("state must be one of {}", states.join(", ")));
            }
            f.state = Some(s.to_string());
        }
        for (name, value, slot) in [
            ("created_from", &self.created_from, &mut f.created_from),
            (
                "created_before",
                &self.created_before,
                &mut f.created_before,
            ),
            ("finished_from", &self.finished_from, &mut f.finished_from),
            (
                "finished_before",
                &self.finished_before,
                &mut f.finished_before,
            ),
        ] {
            if let Some(text) = given(name, value)? {
                *slot = Some(parse_time(name, text)?);
            }
        }
        // Exactly as given: an order number may start or end with a space.
        given("number", &self.number)?;
        f.number = self.number.clone();
        f.limit = limit_param(&self.limit)?;
        if let Some(text) = given("cursor", &self.cursor)? {
            f.before = Some(parse_cursor(text)?);
        }
        Ok(f)
    }
}

/// Why a page could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The filter names a merchant that does not exist.
    #[error("no merchant {0}")]
    UnknownMerchant(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Objects a list can hold: where each stands in the list.
pub trait Listed: serde::Serialize + Send + 'static {
    const KIND: Listing;
    fn position(&self) -> Position;
    /// The object as a list shows it: whole, but for a payment's cashier token, a live link
    /// to its payment page that a bulk listing or file has no use for (`GET
    /// /admin/v1/payments/{reference}` shows it).
    fn listed(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("cashier_token");
        }
        value
    }
    fn read(
        db: &mut polypay_store::Db<'_>,
        f: &ListFilter,
    ) -> Result<Page<Self>, polypay_store::StoreError>
    where
        Self: Sized;
}

macro_rules! listed {
    ($t:ty, $kind:expr, $read:ident) => {
        impl Listed for $t {
            const KIND: Listing = $kind;
            fn position(&self) -> Position {
                Position {
                    created_at: self.created_at,
                    id: self.id.0.clone(),
                }
            }
            fn read(
                db: &mut polypay_store::Db<'_>,
                f: &ListFilter,
            ) -> Result<Page<Self>, polypay_store::StoreError> {
                db.$read(f)
            }
        }
    };
}

listed!(polypay_core::Payment, Listing::Payments, console_payments);
listed!(polypay_core::Payout, Listing::Payouts, console_payouts);
listed!(polypay_core::Refund, Listing::Refunds, console_refunds);

/// One page of `T` matching `filter`, and the position after its last row when more follow.
pub async fn page<T: Listed>(
    engine: &Engine,
    filter: ListFilter,
) -> Result<(Vec<T>, Option<Position>), ListError> {
    let read = engine
        .store()
        .read(move |db| {
            if let Some(m) = &filter.merchant_id
                && !db.merchant_exists(m)?
            {
                return Ok(Err(m.to_string()));
            }
            T::read(db, &filter).map(Ok)
        })
        .await
        .map_err(EngineError::Store)?;
    let page = read.map_err(ListError::UnknownMerchant)?;
    let next = match page.has_more {
        true => page.items.last().map(T::position),
        false => None,
    };
    Ok((page.items, next))
}

/// The filter a list's query asks for, or what is wrong with it (the `400`'s message): a
/// parameter the list does not know (or repeated), or one `filter` refuses.
pub(crate) fn checked<P, F>(
    query: Result<Query<P>, QueryRejection>,
    filter: impl FnOnce(&P) -> Result<F, String>,
) -> Result<F, String> {
    let params = match query {
        Ok(Query(p)) => p,
        Err(rejection) => {
            let why = rejection.body_text();
            let why = why
                .strip_prefix("Failed to deserialize query string: ")
                .unwrap_or(&why);
            return Err(format!("query: {why}"));
        }
    };
    filter(&params)
}

async fn list<T: Listed>(s: AppState, query: Result<Query<Params>, QueryRejection>) -> Response {
    let filter = match checked(query, |p| p.filter(T::KIND)) {
        Ok(f) => f,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    match page::<T>(s.engine(), filter).await {
        Ok((items, next)) => {
            let next = next.map(|p| cursor(p.created_at, &p.id));
            let items: Vec<serde_json::Value> = items.iter().map(T::listed).collect();
            Json(json!({ T::KIND.name(): items, "next_cursor": next })).into_response()
        }
        Err(e @ ListError::UnknownMerchant(_)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(ListError::Engine(e)) => {
            tracing::error!(error = %e, list = T::KIND.name(), "admin list failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// `GET /admin/v1/payments`: payments, newest first.
async fn payments(s: State<AppState>, q: Result<Query<Params>, QueryRejection>) -> Response {
    list::<polypay_core::Payment>(s.0, q).await
}

/// `GET /admin/v1/payouts`: payouts, newest first.
async fn payouts(s: State<AppState>, q: Result<Query<Params>, QueryRejection>) -> Response {
    list::<polypay_core::Payout>(s.0, q).await
}

/// `GET /admin/v1/refunds`: refunds, newest first.
async fn refunds(s: State<AppState>, q: Result<Query<Params>, QueryRejection>) -> Response {
    list::<polypay_core::Refund>(s.0, q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_instants_or_milliseconds() {
        assert_eq!(
            parse_time("t", "2026-12-06T00:00:00+08:00"),
            Ok(Timestamp(1_796_486_400_000))
        );
        assert_eq!(
            parse_time("t", "2026-12-05T16:00:00.000Z"),
            Ok(Timestamp(1_796_486_400_000))
        );
        assert_eq!(
            parse_time("t", "1796486400000"),
            Ok(Timestamp(1_796_486_400_000))
        );
        // Between two milliseconds: the later one, whichever side of a range it bounds.
        assert_eq!(
            parse_time("t", "2026-12-05T16:00:00.0005Z"),
            Ok(Timestamp(1_796_486_400_001))
        );
        assert_eq!(parse_time("t", "0"), Ok(Timestamp(0)));
        let seconds = parse_time("created_from", "1796486400").unwrap_err();
        assert!(seconds.contains("looks like Unix seconds"), "{seconds}");
        let local = parse_time("created_from", "2026-12-06").unwrap_err();
        assert!(
            local.starts_with("created_from must be an RFC 3339 time"),
            "{local}"
        );
        assert!(parse_time("t", "2026-12-06T00:00:00").is_err(), "no offset");
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = cursor(Timestamp(17), "pay_0a.b");
        assert_eq!(
            parse_cursor(&c),
            Ok(Position {
                created_at: Timestamp(17),
                id: "pay_0a.b".into()
            })
        );
        for bad in ["", "17", "x.pay_1", "17."] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parameters_are_checked_by_name() {
        let p = |f: fn(&mut Params)| {
            let mut p = Params::default();
            f(&mut p);
            p.filter(Listing::Payouts)
        };
        let f = p(|p| {
            p.state = Some(" processing ".into());
            p.protocol = Some("ottpay".into());
            p.limit = Some("1000".into());
            p.finished_before = Some("100000000005".into());
            p.number = Some(" SP ".into());
        })
        .expect("valid");
        assert_eq!(
            f.number.as_deref(),
            Some(" SP "),
            "numbers are taken exactly"
        );
        assert_eq!(f.state.as_deref(), Some("processing"));
        assert_eq!(f.protocol, Some(Protocol::Ottpay));
        assert_eq!(
            (f.limit, f.finished_before),
            (1000, Some(Timestamp(100_000_000_005)))
        );
        assert_eq!(p(|_| {}).expect("empty").limit, DEFAULT_LIMIT);
        let refused = [
            p(|p| p.state = Some("expired".into())),
            p(|p| p.protocol = Some("alipay".into())),
            p(|p| p.limit = Some("1001".into())),
            p(|p| p.limit = Some("0".into())),
            p(|p| p.created_before = Some("yesterday".into())),
            p(|p| p.cursor = Some("nope".into())),
            p(|p| p.merchant = Some(" ".into())),
            p(|p| p.number = Some(String::new())),
            p(|p| p.merchant = Some(format!("mch_{}", "x".repeat(61)))),
            p(|p| p.merchant = Some("mch_1' OR 1=1".into())),
        ];
        let why: Vec<String> = refused.into_iter().map(|r| r.unwrap_err()).collect();
        assert!(
            why[0].starts_with("state must be one of pending, processing"),
            "{}",
            why[0]
        );
        assert!(
            why[1].starts_with("protocol must be one of passtopay"),
            "{}",
            why[1]
        );
        assert!(why[2].starts_with("limit must be"), "{}", why[2]);
        assert!(why[3].starts_with("limit must be"), "{}", why[3]);
        assert!(why[4].starts_with("created_before must be"), "{}", why[4]);
        assert!(why[5].starts_with("cursor must be"), "{}", why[5]);
        assert!(why[6].starts_with("merchant is empty"), "{}", why[6]);
        assert!(why[7].starts_with("number is empty"), "{}", why[7]);
        assert!(
            why[8].starts_with("merchant must be a merchant's id"),
            "{}",
            why[8]
        );
        assert!(
            why[9].starts_with("merchant must be a merchant's id"),
            "{}",
            why[9]
        );
    }
}

//! The server's pure request handling (spec 2, 3.3, 5): route, parse the body, authenticate in
//! the spec's check order, validate every field and return a typed [`Request`] — or an
//! [`ApiError`] that renders the provider's envelope. Business rules (duplicates, balances,
//! order states) are the engine's; their errors are [`ApiError`] variants too.

mod payment;
mod refund;
mod transfer;

pub use crate::envelope::{ApiError, HttpResponse, TraceId, render_success};
pub use payment::{CashierOrder, CryptoOrder, PayerInfo, UnifiedOrder};
pub use refund::RefundOrder;
pub use transfer::{ENTRY_TYPE_BANK_CARD, TransferChannelExtra, TransferOrder};

use crate::credentials::Credentials;
use crate::params::Params;
use crate::sign;
use crate::validate::{self, FieldReader, ReqTime};
use crate::wire::{Endpoint, PayOrderRef, RefundRef, SIGN_TYPE, TransferRef};

/// What the HTTP layer hands in: nothing here reads a socket or a clock.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The path without the query string.
    pub path: &'a str,
    /// The raw query string without `?` (used only when the body is empty).
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The common fields every request carries, after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    pub mch_no: String,
    pub app_id: String,
    pub req_time: ReqTime,
    /// As sent (`1.0`, `1.1`, `1.0.0`…); not enforced.
    pub version: String,
}

/// One validated request, a variant per endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    UnifiedOrder(UnifiedOrder),
    CashierOrder(CashierOrder),
    CryptoOrder(CryptoOrder),
    PayQuery(PayOrderRef),
    PayClose(PayOrderRef),
    RefundOrder(RefundOrder),
    RefundQuery(RefundRef),
    TransferOrder(TransferOrder),
    TransferQuery(TransferRef),
}

/// An authenticated, validated request together with the credentials that signed it (their
/// secret signs the response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub common: Common,
    pub request: Request,
    /// Every received parameter, as signed (for storage/auditing of undocumented extras).
    pub params: Params,
}

/// The entry point: route → method → body → `mchNo`/`appId`/`sign` present → credentials →
/// `signType` → signature → `reqTime` → fields (spec 3.3's order; the first failure answers).
///
/// `lookup(mchNo, appId)` returns the application's credentials, or `None` when the merchant or
/// app is unknown, disabled, or the app belongs to another merchant.
pub fn parse_request<F>(
    req: &HttpRequest<'_>,
    lookup: F,
    now: jiff::Timestamp,
) -> Result<Inbound, ApiError>
where
    F: FnOnce(&str, &str) -> Option<Credentials>,
{
    let (endpoint, params) = route_and_parse(req)?;
    authenticate_and_validate(endpoint, params, lookup, now)
}

/// The first half of [`parse_request`]: route → method → body. A server whose credential
/// lookup is asynchronous reads `mchNo` from the returned map, looks the merchant up, then
/// calls [`authenticate_and_validate`] — the same check order, one body parse.
pub fn route_and_parse(req: &HttpRequest<'_>) -> Result<(Endpoint, Params), ApiError> {
    let endpoint = Endpoint::from_path(req.path).ok_or(ApiError::UnknownPath)?;
    if req.method != "POST" {
        return Err(ApiError::MethodNotAllowed);
    }
    let content_type = header(req.headers, "content-type");
    let params = Params::from_request(content_type, req.body, req.query)
        .map_err(|_| ApiError::InvalidBody)?;
    Ok((endpoint, params))
}

/// The second half of [`parse_request`]: credentials → `signType` → signature → `reqTime` →
/// fields.
pub fn authenticate_and_validate<F>(
    endpoint: Endpoint,
    params: Params,
    lookup: F,
    now: jiff::Timestamp,
) -> Result<Inbound, ApiError>
where
    F: FnOnce(&str, &str) -> Option<Credentials>,
{
    let (credentials, common) = authenticate(&params, lookup, now)?;
    let request = validate_fields(endpoint, &params, &credentials)?;
    Ok(Inbound {
        endpoint,
        credentials,
        common,
        request,
        params,
    })
}

fn authenticate<F>(
    params: &Params,
    lookup: F,
    now: jiff::Timestamp,
) -> Result<(Credentials, Common), ApiError>
where
    F: FnOnce(&str, &str) -> Option<Credentials>,
{
    let fields = FieldReader::new(params);
    let mch_no = fields.str("mchNo")?;
    let app_id = fields.str("appId")?;
    let received_sign = fields.str(sign::SIGN)?;
    let credentials = lookup(mch_no, app_id)
        .filter(|c| c.mch_no == mch_no && c.app_id == app_id)
        .ok_or(ApiError::MerchantNotFound)?;
    if !fields.str("signType")?.eq_ignore_ascii_case(SIGN_TYPE) {
        return Err(ApiError::UnsupportedSignType);
    }
    // Over every received parameter, undocumented extras included (spec 3.3).
    if !sign::verify(
        params.iter(),
        credentials.app_secret.expose(),
        received_sign,
    ) {
        return Err(ApiError::SignatureMismatch);
    }
    let req_time =
        validate::parse_req_time(fields.str("reqTime")?).ok_or(ApiError::Invalid("reqTime"))?;
    let settings = &credentials.settings;
    if settings.enforce_req_time
        && !validate::req_time_fresh(req_time, now, settings.req_time_window_secs)
    {
        return Err(ApiError::RequestExpired);
    }
    let version = fields.str("version")?.to_owned();
    let common = Common {
        mch_no: mch_no.to_owned(),
        app_id: app_id.to_owned(),
        req_time,
        version,
    };
    Ok((credentials, common))
}

fn validate_fields(
    endpoint: Endpoint,
    params: &Params,
    credentials: &Credentials,
) -> Result<Request, ApiError> {
    let fields = FieldReader::new(params);
    // Only reachable with a matching signature, so this merely pins the documented format.
    let sign = fields.str(sign::SIGN)?;
    if sign.len() != 32 || !sign.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::Invalid(sign::SIGN));
    }
    let strict = !credentials.settings.lenient_v10;
    Ok(match endpoint {
        Endpoint::UnifiedOrder => Request::UnifiedOrder(UnifiedOrder::read(&fields, strict)?),
        Endpoint::CashierOrder => Request::CashierOrder(CashierOrder::read(&fields, strict)?),
        Endpoint::CryptoOrder => Request::CryptoOrder(CryptoOrder::read(&fields, strict)?),
        Endpoint::PayQuery => Request::PayQuery(payment::pay_order_ref(&fields)?),
        Endpoint::PayClose => Request::PayClose(payment::pay_order_ref(&fields)?),
        Endpoint::RefundOrder => Request::RefundOrder(RefundOrder::read(&fields)?),
        Endpoint::RefundQuery => Request::RefundQuery(refund::refund_ref(&fields)?),
        Endpoint::TransferOrder => Request::TransferOrder(TransferOrder::read(&fields, strict)?),
        Endpoint::TransferQuery => Request::TransferQuery(transfer::transfer_ref(&fields)?),
    })
}

/// First header with this name, ASCII-case-insensitively.
fn header<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

//! W: the signed hosted-cashier link (`GET /cashier?…`), checked as 3.6 and section 5 W say.
//!
//! Check order: `apiKey` present (1001) → known (1002) → signature (1003) → `et` well formed
//! (1001) and not passed (1004) → the other parameters (1001).

use super::fields::{self, Query};
use super::{Credentials, InboundOptions, WidgetError, WidgetErrorCode};
use crate::amount::Amount;
use crate::network::Network;
use crate::sign::Scheme;
use crate::sign::widget::{WidgetSignatureError, verify_query};

/// Where the widget loader is served.
pub const WIDGET_SCRIPT_PATH: &str = "/libs/v2/BlockATM.umd.js";
/// The widget loader (`generateUrlForSigning`, `init`); serve as `application/javascript`.
/// The cashier page reports to it with `postMessage({type: "blockatm:finish", status, txId})`
/// or `{type: "blockatm:cancel"}`.
pub const WIDGET_SCRIPT: &str = include_str!("BlockATM.umd.js");

/// Default (and minimum) order lifetime of the page, in minutes.
pub const DEFAULT_EXPIRE_MINUTES: u32 = 15;

/// Languages the page offers.
pub const LANGUAGES: [&str; 3] = ["en-US", "zh-CN", "zh-HK"];

/// A validated cashier link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierPage {
    pub cust_no: String,
    pub order_no: Option<String>,
    /// Fixed amount; absent → the customer types one.
    pub amount: Option<Amount>,
    /// Locked token (`currency`), upper case.
    pub currency: Option<String>,
    /// Preselected token (`defaultCurrency`), upper case.
    pub default_currency: Option<String>,
    /// Locked chain (`chainId`), resolved to its chain id.
    pub chain_id: Option<String>,
    /// Preselected chain (`defaultChainId`), resolved.
    pub default_chain_id: Option<String>,
    /// One of [`LANGUAGES`].
    pub lang: Option<String>,
    pub redirect_url: Option<String>,
    /// Minutes, at least [`DEFAULT_EXPIRE_MINUTES`].
    pub expire_period_minutes: u32,
    /// `et`: the link's own expiry (Unix ms).
    pub link_expires_at_ms: Option<u64>,
    /// How the link was signed.
    pub scheme: Scheme,
}

fn param_error(detail: &'static str) -> WidgetError {
    WidgetError::new(WidgetErrorCode::Parameter, detail)
}

/// Parses and checks the raw query of a cashier link.
pub(super) fn parse(
    raw_query: &str,
    lookup: &impl Fn(&str) -> Option<Credentials>,
    opts: &InboundOptions,
    now_ms: u64,
) -> Result<(CashierPage, Credentials), WidgetError> {
    let query = Query::parse(Some(raw_query));
    let api_key = query.get("apiKey").ok_or_else(|| param_error("apiKey"))?;
    let creds = lookup(api_key)
        .ok_or_else(|| WidgetError::new(WidgetErrorCode::CashierNotFound, "apiKey"))?;
    let scheme =
        verify_query(raw_query, &creds.secret_key, creds.ec_public_key.as_ref()).map_err(|e| {
            let detail = match e {
                WidgetSignatureError::Missing => "signature missing",
                WidgetSignatureError::Repeated => "signature repeated",
                WidgetSignatureError::NoKey => "no V1 public key registered",
                WidgetSignatureError::Mismatch => "signature mismatch",
            };
            WidgetError::new(WidgetErrorCode::Signature, detail)
        })?;
    let link_expires_at_ms = match query.get("et") {
        Some(et) => Some(fields::parse_id(et).ok_or_else(|| param_error("et"))? as u64),
        None => None,
    };
    if link_expires_at_ms.is_some_and(|et| now_ms > et) {
        return Err(WidgetError::new(WidgetErrorCode::Expired, "et"));
    }
    let page = page_fields(&query, opts, scheme, link_expires_at_ms)?;
    Ok((page, creds))
}

fn page_fields(
    query: &Query,
    opts: &InboundOptions,
    scheme: Scheme,
    link_expires_at_ms: Option<u64>,
) -> Result<CashierPage, WidgetError> {
    let cust_no = query.get("custNo").ok_or_else(|| param_error("custNo"))?;
    let cust_no = fields::cust_no(cust_no, "custNo").map_err(|_| param_error("custNo"))?;
    let order_no = match query.get("orderNo") {
        Some(o) => Some(fields::order_no(o, "orderNo").map_err(|_| param_error("orderNo"))?),
        None => None,
    };
    let amount = match query.get("amount") {
        Some(a) => Some(fields::amount_text(a, "amount").map_err(|_| param_error("amount"))?),
        None => None,
    };
    let locked_chain = chain(query, opts, "chainId")?;
    let preset_chain = chain(query, opts, "defaultChainId")?;
    let currency = symbol(query, opts, locked_chain, "currency")?;
    let default_currency = symbol(
        query,
        opts,
        locked_chain.or(preset_chain),
        "defaultCurrency",
    )?;
    let lang = match query.get("lang") {
        Some(l) => Some(
            LANGUAGES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(l))
                .map(|known| (*known).to_owned())
                .ok_or_else(|| param_error("lang"))?,
        ),
        None => None,
    };
    let redirect_url = match query.get("redirectURL") {
        Some(u) => {
            Some(fields::http_url(u, "redirectURL").map_err(|_| param_error("redirectURL"))?)
        }
        None => None,
    };
    let expire_period_minutes = match query.get("expirePeriod") {
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| param_error("expirePeriod"))?
            .max(DEFAULT_EXPIRE_MINUTES),
        None => DEFAULT_EXPIRE_MINUTES,
    };
    Ok(CashierPage {
        cust_no,
        order_no,
        amount,
        currency,
        default_currency,
        chain_id: locked_chain.map(|n| n.chain_id.clone()),
        default_chain_id: preset_chain.map(|n| n.chain_id.clone()),
        lang,
        redirect_url,
        expire_period_minutes,
        link_expires_at_ms,
        scheme,
    })
}

fn chain<'a>(
    query: &Query,
    opts: &'a InboundOptions,
    name: &'static str,
) -> Result<Option<&'a Network>, WidgetError> {
    query
        .get(name)
        .map(|c| opts.networks.resolve(c).ok_or_else(|| param_error(name)))
        .transpose()
}

/// A token symbol, known on `on` when a chain is given, else on any configured chain.
fn symbol(
    query: &Query,
    opts: &InboundOptions,
    on: Option<&Network>,
    name: &'static str,
) -> Result<Option<String>, WidgetError> {
    let Some(text) = query.get(name) else {
        return Ok(None);
    };
    let token = match on {
        Some(network) => network.token(text),
        None => opts.networks.networks.iter().find_map(|n| n.token(text)),
    };
    token
        .map(|t| Some(t.symbol.clone()))
        .ok_or_else(|| param_error(name))
}

//! W: the signed hosted-cashier link (`GET /cashier?…`), checked as 3.6 and section 5 W say.
//!
//! Check order: `apiKey` present (1001) → known (1002) → signature (1003) → `et` well formed
//! (1001) and not passed (1004) → the other parameters (1001).
//!
//! A link without `amount` opens polypay's amount page, whose form posts the link back
//! (`POST /cashier`, fields `link` and `amount`, [`parse_form`]): the link is checked again
//! exactly as above, then the typed amount as a link's `amount` would be.

use super::fields::{self, Query};
use super::{Credentials, InboundOptions, WidgetError, WidgetErrorCode};
use crate::amount::{Amount, AmountError};
use crate::network::{Network, NetworkTable, Token};
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

/// The chain of a link that neither locks nor preselects one.
pub const DEFAULT_CHAIN: &str = "TRON";
/// The token of a link that neither locks nor preselects one.
pub const DEFAULT_SYMBOL: &str = "USDT";

/// The largest amount page form read (`link` and `amount`, form-encoded); a bigger body → 1001
/// `body`. A link is a URL's query, a few KiB at most.
pub const AMOUNT_FORM_MAX_BYTES: usize = 64 * 1024;

/// A validated cashier link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierPage {
    /// The link's raw query, exactly as received (the amount page's form carries it back).
    pub link: String,
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

impl CashierPage {
    /// The chain and token the order is in: the locked value, else the preselected one, else
    /// [`DEFAULT_CHAIN`] / [`DEFAULT_SYMBOL`]; a token the chain lacks → 1001 `currency`.
    pub fn choice<'a>(
        &self,
        networks: &'a NetworkTable,
    ) -> Result<(&'a Network, &'a Token), WidgetError> {
        let chain = self
            .chain_id
            .as_deref()
            .or(self.default_chain_id.as_deref())
            .unwrap_or(DEFAULT_CHAIN);
        let network = networks
            .resolve(chain)
            .ok_or_else(|| param_error("chainId"))?;
        let symbol = self
            .currency
            .as_deref()
            .or(self.default_currency.as_deref())
            .unwrap_or(DEFAULT_SYMBOL);
        let token = network
            .token(symbol)
            .ok_or_else(|| param_error("currency"))?;
        Ok((network, token))
    }
}

/// The amount page's POST: a verified amount-less link and what the customer typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountForm {
    /// The link, checked as `GET /cashier` checks it; its `amount` is absent.
    pub page: CashierPage,
    /// The `amount` field as sent (shown again when refused).
    pub typed: String,
    /// The typed amount, read as a link's `amount` is (at most 6 decimals, above 0) and small
    /// enough for a payment; or why not (the page is shown again with the reason).
    pub amount: Result<Amount, AmountProblem>,
}

/// Why a typed amount was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountProblem {
    /// Nothing typed.
    Missing,
    /// Not a plain decimal number (letters, a sign, an exponent, `1,5`).
    Format,
    /// 0, or negative.
    NotPositive,
    /// More than 6 decimals.
    Precision,
    /// More than a payment holds.
    TooLarge,
}

impl AmountProblem {
    /// The reason, for the customer.
    pub fn message(self, symbol: &str) -> String {
        match self {
            AmountProblem::Missing => "Enter an amount.".into(),
            AmountProblem::Format => {
                format!("Enter the amount as a plain number of {symbol}, such as 12.5.")
            }
            AmountProblem::NotPositive => "Enter an amount greater than 0.".into(),
            AmountProblem::Precision => {
                format!("{symbol} amounts have at most 6 decimal places.")
            }
            AmountProblem::TooLarge => "This amount is too large.".into(),
        }
    }
}

/// A typed amount, read with the rules of a link's `amount` ([`fields::amount_text`]); blanks
/// around it are ignored. polypay's bounds (the spec names `minAmount`/`maxAmount` but defines
/// neither): above 0, and at most what a payment holds (`i64` millionths).
pub fn typed_amount(typed: &str) -> Result<Amount, AmountProblem> {
    let text = typed.trim();
    if text.is_empty() {
        return Err(AmountProblem::Missing);
    }
    // A number with a minus sign is a number, just not above 0.
    if text
        .strip_prefix('-')
        .is_some_and(|n| Amount::parse(n).is_ok())
    {
        return Err(AmountProblem::NotPositive);
    }
    // `fields::amount_text`'s rule (the parse, and not zero), each failure named.
    match Amount::parse(text) {
        Ok(amount) if amount.is_zero() => Err(AmountProblem::NotPositive),
        Ok(amount) if i64::try_from(amount.micros()).is_err() => Err(AmountProblem::TooLarge),
        Ok(amount) => Ok(amount),
        Err(AmountError::Format) => Err(AmountProblem::Format),
        Err(AmountError::Precision) => Err(AmountProblem::Precision),
        Err(AmountError::Overflow) => Err(AmountProblem::TooLarge),
    }
}

/// Parses the amount page's POST: a form-encoded body of at most [`AMOUNT_FORM_MAX_BYTES`]
/// (else 1001 `body`) with one `link` (else 1001 `link`), checked as [`parse`] checks a link,
/// which must not carry `amount` (1001 `amount`), and the typed `amount` ([`typed_amount`]).
pub(super) fn parse_form(
    content_type: Option<&str>,
    body: &[u8],
    lookup: &impl Fn(&str) -> Option<Credentials>,
    opts: &InboundOptions,
    now_ms: u64,
) -> Result<(AmountForm, Credentials), WidgetError> {
    let form_encoded = content_type.is_some_and(|t| {
        let essence = t.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if body.len() > AMOUNT_FORM_MAX_BYTES || !form_encoded {
        return Err(param_error("body"));
    }
    let body = std::str::from_utf8(body).map_err(|_| param_error("body"))?;
    let fields = crate::sign::widget::url_search_params(body);
    let mut links = fields.iter().filter(|(name, _)| name == "link");
    let link = match (links.next(), links.next()) {
        (Some((_, link)), None) if !link.is_empty() => link,
        _ => return Err(param_error("link")),
    };
    let (page, creds) = parse(link, lookup, opts, now_ms)?;
    if page.amount.is_some() {
        return Err(param_error("amount"));
    }
    let typed = fields
        .iter()
        .find(|(name, _)| name == "amount")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let amount = typed_amount(&typed);
    let form = AmountForm {
        page,
        typed,
        amount,
    };
    Ok((form, creds))
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
    let page = page_fields(raw_query, &query, opts, (scheme, link_expires_at_ms))?;
    Ok((page, creds))
}

fn page_fields(
    raw_query: &str,
    query: &Query,
    opts: &InboundOptions,
    (scheme, link_expires_at_ms): (Scheme, Option<u64>),
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
        link: raw_query.to_owned(),
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

//! The validated request of each endpoint (section 5 field tables) and the validation itself.

use super::fields::{self, Query};
use super::{AmountForm, ApiError, CashierPage, Credentials, Endpoint, InboundOptions};
use crate::amount::Amount;
use crate::network::Network;
use crate::sign::Json;

/// A request that passed the front door, one variant per endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// E1.
    CreateOrder(CreateOrder),
    /// E2.
    PaymentDetail { order_no: String },
    /// E3.
    PaymentList(PaymentListQuery),
    /// E4.
    CreatePayout(CreatePayout),
    /// E5 (`orderNo` accepted as an alias of `bizOrderNo`).
    PayoutDetail { biz_order_no: String },
    /// E6; the id is already known to be the key's cashier.
    CashierInfo { cashier_id: i64 },
    /// E7 filters, resolved: `chain_id` is a configured chain id, `symbol` upper case.
    SymbolList {
        chain_id: Option<String>,
        symbol: Option<String>,
    },
    /// E8.
    AllNetworks,
    /// W: the hosted cashier page.
    Cashier(CashierPage),
    /// W: the amount page's form, for a link without `amount`.
    CashierAmount(AmountForm),
}

/// E1, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    pub order_no: String,
    pub amount: Amount,
    /// Upper case.
    pub symbol: String,
    /// The resolved chain id (default TRON).
    pub chain_id: String,
    /// The chain's `network` name.
    pub network: String,
    /// The key's cashier (the body may only repeat it).
    pub cashier_id: i64,
    pub cust_no: Option<String>,
    pub redirect_url: Option<String>,
}

/// E3 filters; `chain_id` is resolved when it names a known chain, else kept (it then matches nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentListQuery {
    pub order_no: String,
    pub chain_id: Option<String>,
    pub cust_no: Option<String>,
    pub symbol: Option<String>,
}

/// E4, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePayout {
    pub biz_order_no: String,
    pub amount: Amount,
    pub chain_id: String,
    pub network: String,
    /// Upper case.
    pub symbol: String,
    pub to_address: String,
    pub cust_no: String,
    pub remark: Option<String>,
    /// The key's merchant.
    pub merchant_id: i64,
}

/// Validates the fields of an API endpoint (not W). `creds` is present on keyed endpoints.
pub(super) fn validate(
    endpoint: Endpoint,
    query: Option<&str>,
    body: Option<&Json>,
    creds: Option<&Credentials>,
    opts: &InboundOptions,
) -> Result<Request, ApiError> {
    let empty = Json::Object(Vec::new());
    let body = body.unwrap_or(&empty);
    let query = Query::parse(query);
    match (endpoint, creds) {
        (Endpoint::CreateOrder, Some(creds)) => {
            create_order(body, creds, opts).map(Request::CreateOrder)
        }
        (Endpoint::CreatePayout, Some(creds)) => {
            create_payout(body, creds, opts).map(Request::CreatePayout)
        }
        (Endpoint::PaymentDetail, _) => {
            let order_no = fields::order_no(query.required("orderNo")?, "orderNo")?;
            Ok(Request::PaymentDetail { order_no })
        }
        (Endpoint::PaymentList, _) => payment_list(&query, opts).map(Request::PaymentList),
        (Endpoint::PayoutDetail, _) => {
            let value = query
                .get("bizOrderNo")
                .or_else(|| query.get("orderNo"))
                .ok_or_else(|| ApiError::missing_parameter("bizOrderNo"))?;
            Ok(Request::PayoutDetail {
                biz_order_no: fields::order_no(value, "bizOrderNo")?,
            })
        }
        (Endpoint::CashierInfo, Some(creds)) => {
            let id = fields::parse_id(query.required("cashierId")?)
                .ok_or_else(|| ApiError::illegal_parameter("cashierId"))?;
            // Another merchant's cashier is indistinguishable from a missing one.
            if id != creds.cashier_id {
                return Err(ApiError::not_found());
            }
            Ok(Request::CashierInfo { cashier_id: id })
        }
        (Endpoint::SymbolList, _) => symbol_list(&query, opts),
        (Endpoint::AllNetworks, _) => Ok(Request::AllNetworks),
        // Keyed endpoints always carry credentials here; W has its own parser.
        _ => Err(ApiError::system_error()),
    }
}

fn create_order(
    body: &Json,
    creds: &Credentials,
    opts: &InboundOptions,
) -> Result<CreateOrder, ApiError> {
    let order_no = fields::order_no(fields::required_text(body, "orderNo")?, "orderNo")?;
    let amount = fields::amount(body, "amount")?;
    let symbol = fields::required_text(body, "symbol")?;
    let network = match fields::text(body, "chainId")? {
        Some(chain) => resolve(opts, chain)?,
        None => opts
            .networks
            .resolve("TRON")
            .or(opts.networks.networks.first())
            .ok_or_else(|| ApiError::illegal_parameter("chainId"))?,
    };
    let symbol = token_symbol(network, symbol)?;
    let cashier_id = fields::id(body, "cashierId")?.unwrap_or(creds.cashier_id);
    if cashier_id != creds.cashier_id {
        return Err(ApiError::illegal_request(
            "cashierId does not belong to the API key",
        ));
    }
    let cust_no = fields::text(body, "custNo")?
        .map(|c| fields::cust_no(c, "custNo"))
        .transpose()?;
    let redirect_url = fields::text(body, "redirectUrl")?
        .map(|u| fields::http_url(u, "redirectUrl"))
        .transpose()?;
    Ok(CreateOrder {
        order_no,
        amount,
        symbol,
        chain_id: network.chain_id.clone(),
        network: network.name.clone(),
        cashier_id,
        cust_no,
        redirect_url,
    })
}

fn create_payout(
    body: &Json,
    creds: &Credentials,
    opts: &InboundOptions,
) -> Result<CreatePayout, ApiError> {
    let biz_order_no = fields::order_no(fields::required_text(body, "bizOrderNo")?, "bizOrderNo")?;
    let amount = fields::amount(body, "amount")?;
    let network = resolve(opts, fields::required_text(body, "chainId")?)?;
    let symbol = token_symbol(network, fields::required_text(body, "symbol")?)?;
    let to_address = fields::required_text(body, "toAddress")?;
    if !network.address_type.is_valid(to_address) {
        return Err(ApiError::illegal_parameter("toAddress"));
    }
    let cust_no = fields::cust_no(fields::required_text(body, "custNo")?, "custNo")?;
    let remark = fields::text(body, "remark")?
        .map(|r| fields::within(r, 256, "remark"))
        .transpose()?;
    if fields::id(body, "merchantId")?.is_some_and(|id| id != creds.merchant_id) {
        return Err(ApiError::illegal_request(
            "merchantId does not belong to the API key",
        ));
    }
    Ok(CreatePayout {
        biz_order_no,
        amount,
        chain_id: network.chain_id.clone(),
        network: network.name.clone(),
        symbol,
        to_address: to_address.to_owned(),
        cust_no,
        remark,
        merchant_id: creds.merchant_id,
    })
}

fn payment_list(query: &Query, opts: &InboundOptions) -> Result<PaymentListQuery, ApiError> {
    let order_no = fields::order_no(query.required("orderNo")?, "orderNo")?;
    let chain_id = query
        .get("chainId")
        .map(|c| match opts.networks.resolve(c) {
            Some(network) => network.chain_id.clone(),
            None => c.to_owned(),
        });
    Ok(PaymentListQuery {
        order_no,
        chain_id,
        cust_no: query.get("custNo").map(str::to_owned),
        symbol: query.get("symbol").map(str::to_owned),
    })
}

fn symbol_list(query: &Query, opts: &InboundOptions) -> Result<Request, ApiError> {
    let chain_id = query
        .get("chainId")
        .map(|c| resolve(opts, c).map(|n| n.chain_id.clone()))
        .transpose()?;
    let symbol = match query.get("symbol") {
        Some(s) => {
            let known = opts.networks.networks.iter().any(|n| n.token(s).is_some());
            if !known {
                return Err(ApiError::illegal_parameter("symbol"));
            }
            Some(s.to_ascii_uppercase())
        }
        None => None,
    };
    Ok(Request::SymbolList { chain_id, symbol })
}

/// A `chainId` input (chain id or network code) → configured network, else `000102`.
fn resolve<'a>(opts: &'a InboundOptions, chain: &str) -> Result<&'a Network, ApiError> {
    opts.networks
        .resolve(chain)
        .ok_or_else(|| ApiError::illegal_parameter("chainId"))
}

/// The token's canonical (upper-case) symbol on `network`, else `000102 symbol`.
fn token_symbol(network: &Network, symbol: &str) -> Result<String, ApiError> {
    network
        .token(symbol)
        .map(|t| t.symbol.clone())
        .ok_or_else(|| ApiError::illegal_parameter("symbol"))
}

//! Field validation of request bodies (§5): from the raw JSON bytes to the typed, validated
//! [`ApiRequest`], or the first PARAM_ERROR `<field>: <reason>` in the spec's table order.

use crate::amount::{DecimalAmount, parse_amount};
use crate::envelope::ApiError;
use crate::wire::{
    BalanceQueryRequest, Endpoint, PayMethod, Payer, PaymentCreateRequest, PayoutCreateRequest,
    PayoutMethod, RefundCreateRequest,
};
use serde_json::{Map, Value};

mod fields;
use fields::Obj;

/// A currency enabled for the merchant, with its number of decimals (E of regex A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyRule {
    pub code: String,
    pub exponent: u32,
}

impl CurrencyRule {
    pub fn new(code: impl Into<String>, exponent: u32) -> CurrencyRule {
        CurrencyRule {
            code: code.into(),
            exponent,
        }
    }
}

/// A validated request, one variant per endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiRequest {
    PaymentCreate(PaymentCreate),
    PaymentQuery(Lookup),
    PayoutCreate(PayoutCreate),
    PayoutQuery(Lookup),
    RefundCreate(RefundCreate),
    RefundQuery(Lookup),
    BalanceQuery(BalanceQueryRequest),
}

/// payment/create, validated: the wire request plus its amount in minor units.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentCreate {
    pub request: PaymentCreateRequest,
    pub amount_minor: i64,
    pub exponent: u32,
}

/// payout/create, validated: the wire request plus its amount in minor units.
#[derive(Debug, Clone, PartialEq)]
pub struct PayoutCreate {
    pub request: PayoutCreateRequest,
    pub amount_minor: i64,
    pub exponent: u32,
}

/// refund/create, validated. The amount's decimals are checked against the payment's currency
/// by [`RefundCreate::amount_minor`] once the payment is loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundCreate {
    pub request: RefundCreateRequest,
    pub amount: DecimalAmount,
    /// The payment to refund: `paymentNo` and/or `paymentMerchantTradeNo`.
    pub payment: Lookup,
}

impl RefundCreate {
    /// Minor units in the payment's currency, or the PARAM_ERROR to answer.
    pub fn amount_minor(&self, exponent: u32) -> Result<i64, ApiError> {
        self.amount
            .to_minor(exponent)
            .map_err(|e| ApiError::param("amount", e))
    }
}

/// A query/refund target: the polypay number, the merchant's number, or both (which must then
/// name the same object, else NOT_FOUND — a business check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub number: Option<String>,
    pub merchant_trade_no: Option<String>,
}

/// Validates the body of `endpoint` (§5): JSON object, then each field in table order.
pub fn validate(
    endpoint: Endpoint,
    body: &[u8],
    currencies: &[CurrencyRule],
) -> Result<ApiRequest, ApiError> {
    // from_slice refuses bytes after the top-level value: the guard against length-extension
    // forgeries (§10), which can only append.
    let value: Value =
        serde_json::from_slice(body).map_err(|_| ApiError::param("body", "is not valid JSON"))?;
    if let Some(field) = polypay_core::text::nul_field(&value) {
        return Err(ApiError::param(&field, "must not contain a NUL character"));
    }
    let Value::Object(map) = value else {
        return Err(ApiError::param("body", "must be a JSON object"));
    };
    let obj = Obj::root(&map);
    Ok(match endpoint {
        Endpoint::PaymentCreate => ApiRequest::PaymentCreate(payment_create(&obj, currencies)?),
        Endpoint::PaymentQuery => ApiRequest::PaymentQuery(lookup(&obj, "paymentNo")?),
        Endpoint::PayoutCreate => ApiRequest::PayoutCreate(payout_create(&obj, currencies)?),
        Endpoint::PayoutQuery => ApiRequest::PayoutQuery(lookup(&obj, "payoutNo")?),
        Endpoint::RefundCreate => ApiRequest::RefundCreate(refund_create(&obj)?),
        Endpoint::RefundQuery => ApiRequest::RefundQuery(lookup(&obj, "refundNo")?),
        Endpoint::BalanceQuery => {
            // Any currency the query without one could list (the merchant's ledger holds what
            // every protocol moved), not only those V2_SHA256 payments may use: well-formed
            // here, supported (or "is not supported") where it is answered.
            let currency = match obj.opt_text("currency", 16)? {
                Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
                    Some(code.to_owned())
                }
                Some(_) => {
                    return Err(ApiError::param(
                        "currency",
                        "must be an upper-case ISO 4217 code",
                    ));
                }
                None => None,
            };
            ApiRequest::BalanceQuery(BalanceQueryRequest { currency })
        }
    })
}

fn payment_create(obj: &Obj, currencies: &[CurrencyRule]) -> Result<PaymentCreate, ApiError> {
    let merchant_trade_no = obj.trade_no("merchantTradeNo")?;
    let amount = obj.req_text("amount", 1, 64)?;
    let currency = obj.currency(currencies)?;
    let amount_minor =
        parse_amount(amount, currency.exponent).map_err(|e| ApiError::param("amount", e))?;
    let description = obj.req_text("description", 1, 80)?.to_owned();
    let payer = payer(&obj.object("payer")?)?;
    let pay_method = pay_method(&obj.object("payMethod")?)?;
    let trade_env = obj.opt_object("tradeEnv")?.map(|o| o.map().clone());
    let request = PaymentCreateRequest {
        merchant_trade_no,
        amount: amount.to_owned(),
        currency: currency.code.clone(),
        description,
        payer,
        pay_method,
        trade_env,
        merchant_attach: obj.opt_owned("merchantAttach", 255)?,
        notify_url: obj.url("notifyUrl")?,
        return_url: obj.url("returnUrl")?,
    };
    Ok(PaymentCreate {
        request,
        amount_minor,
        exponent: currency.exponent,
    })
}

fn payer(obj: &Obj) -> Result<Payer, ApiError> {
    Ok(Payer {
        user_id: obj.req_text("userId", 1, 64)?.to_owned(),
        name: obj.opt_owned("name", 80)?,
        email: obj.opt_owned("email", 128)?,
        phone: obj.opt_owned("phone", 32)?,
    })
}

fn pay_method(obj: &Obj) -> Result<PayMethod, ApiError> {
    let kind = obj.req_text("type", 1, 32)?;
    if !kind.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return Err(obj.error("type", "must match ^[A-Z_]{1,32}$"));
    }
    let mut extra: Map<String, Value> = obj.map().clone();
    extra.remove("type");
    Ok(PayMethod {
        kind: kind.to_owned(),
        extra,
    })
}

fn payout_create(obj: &Obj, currencies: &[CurrencyRule]) -> Result<PayoutCreate, ApiError> {
    let merchant_trade_no = obj.trade_no("merchantTradeNo")?;
    let amount = obj.req_text("amount", 1, 64)?;
    let currency = obj.currency(currencies)?;
    let amount_minor =
        parse_amount(amount, currency.exponent).map_err(|e| ApiError::param("amount", e))?;
    let description = obj.req_text("description", 1, 80)?.to_owned();
    let payout_method = payout_method(&obj.object("payoutMethod")?)?;
    let request = PayoutCreateRequest {
        merchant_trade_no,
        amount: amount.to_owned(),
        currency: currency.code.clone(),
        description,
        payout_method,
        merchant_attach: obj.opt_owned("merchantAttach", 255)?,
        notify_url: obj.url("notifyUrl")?,
    };
    Ok(PayoutCreate {
        request,
        amount_minor,
        exponent: currency.exponent,
    })
}

/// Keys beyond §5.4's lists are ignored; optional keys without a documented limit are capped at
/// 255 characters so nothing unbounded reaches storage.
fn payout_method(obj: &Obj) -> Result<PayoutMethod, ApiError> {
    let payee = |o: &Obj| o.req_text("payeeName", 1, 80).map(str::to_owned);
    match obj.req_text("type", 1, 32)? {
        "UPI" => Ok(PayoutMethod::Upi {
            vpa: obj.req_text("vpa", 1, 128)?.to_owned(),
            payee_name: payee(obj)?,
        }),
        "BANK_ACCOUNT" => {
            let account_number = obj.req_text("accountNumber", 1, 34)?.to_owned();
            let bank_code = obj.req_text("bankCode", 1, 20)?.to_owned();
            let payee_name = payee(obj)?;
            let mode = obj.opt_owned("mode", 255)?;
            if mode
                .as_deref()
                .is_some_and(|m| !["IMPS", "NEFT", "RTGS"].contains(&m))
            {
                return Err(obj.error("mode", "must be one of IMPS, NEFT, RTGS"));
            }
            Ok(PayoutMethod::BankAccount {
                account_number,
                bank_code,
                payee_name,
                mode,
                bank_name: obj.opt_owned("bankName", 255)?,
                payee_phone: obj.opt_owned("payeePhone", 255)?,
                payee_email: obj.opt_owned("payeeEmail", 255)?,
            })
        }
        "PIX" => Ok(PayoutMethod::Pix {
            pix_key: obj.req_text("pixKey", 1, 128)?.to_owned(),
            payee_name: payee(obj)?,
        }),
        "WALLET" => Ok(PayoutMethod::Wallet {
            wallet_id: obj.req_text("walletId", 1, 128)?.to_owned(),
            payee_name: payee(obj)?,
            wallet_provider: obj.opt_owned("walletProvider", 255)?,
        }),
        _ => Err(obj.error("type", "must be one of BANK_ACCOUNT, UPI, PIX, WALLET")),
    }
}

fn refund_create(obj: &Obj) -> Result<RefundCreate, ApiError> {
    let merchant_trade_no = obj.trade_no("merchantTradeNo")?;
    let payment_no = obj.opt_number("paymentNo")?;
    let payment_merchant_trade_no = obj.opt_trade_no("paymentMerchantTradeNo")?;
    if payment_no.is_none() && payment_merchant_trade_no.is_none() {
        return Err(ApiError::param(
            "paymentNo",
            "is required when paymentMerchantTradeNo is absent",
        ));
    }
    let text = obj.req_text("amount", 1, 64)?;
    let amount = DecimalAmount::parse(text).map_err(|e| ApiError::param("amount", e))?;
    let reason = obj.opt_owned("reason", 255)?;
    let notify_url = obj.opt_url("notifyUrl")?;
    let payment = Lookup {
        number: payment_no.clone(),
        merchant_trade_no: payment_merchant_trade_no.clone(),
    };
    let request = RefundCreateRequest {
        merchant_trade_no,
        payment_no,
        payment_merchant_trade_no,
        amount: text.to_owned(),
        reason,
        notify_url,
    };
    Ok(RefundCreate {
        request,
        amount,
        payment,
    })
}

/// A query's target: `<number_key>` and/or `merchantTradeNo`, at least one.
fn lookup(obj: &Obj, number_key: &'static str) -> Result<Lookup, ApiError> {
    let number = obj.opt_number(number_key)?;
    let merchant_trade_no = obj.opt_trade_no("merchantTradeNo")?;
    if number.is_none() && merchant_trade_no.is_none() {
        return Err(ApiError::param(
            number_key,
            "is required when merchantTradeNo is absent",
        ));
    }
    Ok(Lookup {
        number,
        merchant_trade_no,
    })
}

//! Field validation of the payment endpoints (spec 5.1–5.5): the three creates and the
//! query/close reference.

use crate::envelope::ApiError;
use crate::validate::FieldReader;
use crate::wire::{Chain, PayDataType, PayOrderRef, WayCode};
use std::net::Ipv4Addr;

/// Default `expiredTime` of unifiedOrder and cryptoOrder, seconds [P].
pub const DEFAULT_EXPIRED_SECS: i64 = 7200;
/// Cashier orders live at least this long; absent or shorter values are raised to it [P].
pub const CASHIER_MIN_EXPIRED_SECS: i64 = 900;
/// Currencies with two minor-unit digits accepted by cashierOrder (the exponent-2 rows of the
/// core currency table) [D].
pub const CASHIER_CURRENCIES: &[&str] = &["CNY", "USD", "CAD", "INR", "HKD"];

const NAME_MAX: usize = 64;
const SUBJECT_MAX: usize = 64;
const BODY_MAX: usize = 256;
const CRYPTO_TEXT_MAX: usize = 8;
const EXT_PARAM_MAX: usize = 512;
const FREE_TEXT_MAX: usize = 256;

/// A validated `/api/pay/unifiedOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrder {
    pub mch_order_no: String,
    pub way_code: WayCode,
    /// Fen.
    pub amount: i64,
    /// As the merchant sent it (echoed in queries).
    pub currency: String,
    pub subject: String,
    pub body: String,
    /// Optional only under `lenient_v10`, as are `cust_no` and `register_time`.
    pub client_ip: Option<Ipv4Addr>,
    pub cust_no: Option<String>,
    pub register_time: Option<i64>,
    pub payer: PayerInfo,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    pub expired_secs: i64,
    /// From `channelExtra.payDataType`, defaulted per method.
    pub pay_data_type: PayDataType,
    pub channel_extra: Option<String>,
    pub ext_param: Option<String>,
}

/// Stored-only customer details (`userName`, `mbrTel`, `idNo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayerInfo {
    pub user_name: Option<String>,
    pub mbr_tel: Option<String>,
    pub id_no: Option<String>,
}

impl PayerInfo {
    fn read(f: &FieldReader<'_>) -> Result<Self, ApiError> {
        Ok(PayerInfo {
            user_name: f.opt_str_max("userName", FREE_TEXT_MAX)?,
            mbr_tel: f.opt_str_max("mbrTel", FREE_TEXT_MAX)?,
            id_no: f.opt_str_max("idNo", FREE_TEXT_MAX)?,
        })
    }
}

impl UnifiedOrder {
    pub(super) fn read(f: &FieldReader<'_>, strict: bool) -> Result<Self, ApiError> {
        let mch_order_no = f.order_no("mchOrderNo")?;
        let way_code = match WayCode::parse(f.str("wayCode")?) {
            Some(w @ (WayCode::AliQr | WayCode::AliWap)) => w,
            _ => return Err(ApiError::NotSupported("wayCode")),
        };
        let amount = f.amount("amount")?;
        let currency = require_cny(f)?;
        Ok(UnifiedOrder {
            mch_order_no,
            way_code,
            amount,
            currency,
            subject: f.str_max("subject", SUBJECT_MAX)?,
            body: f.str_max("body", BODY_MAX)?,
            client_ip: f.ipv4_if("clientIp", strict)?,
            cust_no: f.str_max_if("custNo", NAME_MAX, strict)?,
            register_time: f.ms_time_if("registerTime", strict)?,
            payer: PayerInfo::read(f)?,
            notify_url: f.opt_url("notifyUrl")?,
            return_url: f.opt_url("returnUrl")?,
            expired_secs: f
                .opt_positive_int("expiredTime")?
                .unwrap_or(DEFAULT_EXPIRED_SECS),
            pay_data_type: pay_data_type(f, way_code)?,
            channel_extra: f.opt_raw("channelExtra"),
            ext_param: f.opt_str_max("extParam", EXT_PARAM_MAX)?,
        })
    }
}

/// A validated `/api/pay/cashierOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierOrder {
    pub mch_order_no: String,
    /// Amount × 100 (minor units of an exponent-2 currency).
    pub amount: i64,
    /// As sent; one of [`CASHIER_CURRENCIES`], any case.
    pub currency: String,
    pub cust_no: Option<String>,
    pub register_time: Option<i64>,
    /// The method pinned on the cashier, if any.
    pub way_code: Option<WayCode>,
    pub client_ip: Option<Ipv4Addr>,
    pub payer: PayerInfo,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    /// At least [`CASHIER_MIN_EXPIRED_SECS`].
    pub expired_secs: i64,
    pub ext_param: Option<String>,
}

impl CashierOrder {
    pub(super) fn read(f: &FieldReader<'_>, strict: bool) -> Result<Self, ApiError> {
        let mch_order_no = f.order_no("mchOrderNo")?;
        let amount = f.amount("amount")?;
        let currency = f.str("currency")?;
        if !CASHIER_CURRENCIES
            .iter()
            .any(|c| c.eq_ignore_ascii_case(currency))
        {
            return Err(ApiError::NotSupported("currency"));
        }
        let cust_no = f.str_max_if("custNo", NAME_MAX, strict)?;
        let register_time = f.ms_time_if("registerTime", strict)?;
        let way_code = match f.opt_str("wayCode")?.map(WayCode::parse) {
            None => None,
            Some(Some(w @ (WayCode::AliQr | WayCode::AliWap))) => Some(w),
            Some(_) => return Err(ApiError::NotSupported("wayCode")),
        };
        // subject/body are reserved by the provider: signed, never read.
        Ok(CashierOrder {
            mch_order_no,
            amount,
            currency: currency.to_owned(),
            cust_no,
            register_time,
            way_code,
            client_ip: f.ipv4_if("clientIp", false)?,
            payer: PayerInfo::read(f)?,
            notify_url: f.opt_url("notifyUrl")?,
            return_url: f.opt_url("returnUrl")?,
            expired_secs: f
                .opt_positive_int("expiredTime")?
                .map_or(CASHIER_MIN_EXPIRED_SECS, |s| {
                    s.max(CASHIER_MIN_EXPIRED_SECS)
                }),
            ext_param: f.opt_str_max("extParam", EXT_PARAM_MAX)?,
        })
    }
}

/// A validated `/api/pay/cryptoOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoOrder {
    pub mch_order_no: String,
    /// Token amount × 100 as sent.
    pub amount: i64,
    /// `USDT` or `USDC`, upper-cased.
    pub token: String,
    /// As the merchant sent it.
    pub currency: String,
    pub chain: Chain,
    pub subject: String,
    pub body: String,
    pub client_ip: Option<Ipv4Addr>,
    pub cust_no: Option<String>,
    pub register_time: Option<i64>,
    pub payer: PayerInfo,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    pub expired_secs: i64,
    pub ext_param: Option<String>,
}

impl CryptoOrder {
    /// The amount in core minor units (exponent 6): `amount × 10 000` [D].
    pub fn minor_units(&self) -> i64 {
        // Checked at validation time, so this cannot overflow for a validated order.
        self.amount.saturating_mul(10_000)
    }

    pub(super) fn read(f: &FieldReader<'_>, strict: bool) -> Result<Self, ApiError> {
        let mch_order_no = f.order_no("mchOrderNo")?;
        if let Some(w) = f.opt_str("wayCode")?
            && WayCode::parse(w) != Some(WayCode::CryptoAddress)
        {
            return Err(ApiError::NotSupported("wayCode"));
        }
        let amount = f.amount("amount")?;
        if amount.checked_mul(10_000).is_none() {
            return Err(ApiError::Invalid("amount"));
        }
        let currency = f.str("currency")?;
        let token = currency.to_ascii_uppercase();
        if token != "USDT" && token != "USDC" {
            return Err(ApiError::NotSupported("currency"));
        }
        // An unknown network and a network that does not carry the token are both "chain".
        let chain = Chain::from_code(f.str("chain")?)
            .filter(|c| c.carries(&token))
            .ok_or(ApiError::NotSupported("chain"))?;
        Ok(CryptoOrder {
            mch_order_no,
            amount,
            token,
            currency: currency.to_owned(),
            chain,
            subject: f.str_max("subject", CRYPTO_TEXT_MAX)?,
            body: f.str_max("body", CRYPTO_TEXT_MAX)?,
            client_ip: f.ipv4_if("clientIp", strict)?,
            cust_no: f.str_max_if("custNo", NAME_MAX, strict)?,
            register_time: f.ms_time_if("registerTime", strict)?,
            payer: PayerInfo::read(f)?,
            notify_url: f.opt_url("notifyUrl")?,
            return_url: f.opt_url("returnUrl")?,
            expired_secs: f
                .opt_positive_int("expiredTime")?
                .unwrap_or(DEFAULT_EXPIRED_SECS),
            ext_param: f.opt_str_max("extParam", EXT_PARAM_MAX)?,
        })
    }
}

/// `payOrderId` wins over `mchOrderNo` (upstream); the other one is then ignored entirely.
pub(super) fn pay_order_ref(f: &FieldReader<'_>) -> Result<PayOrderRef, ApiError> {
    if f.opt_str("payOrderId")?.is_some() {
        return Ok(PayOrderRef::PayOrderId(f.order_no("payOrderId")?));
    }
    if f.opt_str("mchOrderNo")?.is_some() {
        return Ok(PayOrderRef::MchOrderNo(f.order_no("mchOrderNo")?));
    }
    Err(ApiError::Required("payOrderId or mchOrderNo"))
}

/// `currency` = `cny`, any case, echoed as sent.
pub(super) fn require_cny(f: &FieldReader<'_>) -> Result<String, ApiError> {
    let currency = f.str("currency")?;
    if currency.eq_ignore_ascii_case("cny") {
        Ok(currency.to_owned())
    } else {
        Err(ApiError::NotSupported("currency"))
    }
}

/// `channelExtra.payDataType` (JSON text or object); unknown keys are ignored.
fn pay_data_type(f: &FieldReader<'_>, way: WayCode) -> Result<PayDataType, ApiError> {
    let allowed = PayDataType::allowed_for(way);
    let Some(extra) = f.opt_json_object("channelExtra")? else {
        return Ok(allowed[0]);
    };
    match extra.get("payDataType") {
        None | Some(serde_json::Value::Null) => Ok(allowed[0]),
        Some(serde_json::Value::String(s)) => allowed
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or(ApiError::Invalid("channelExtra")),
        Some(_) => Err(ApiError::Invalid("channelExtra")),
    }
}

//! Field validation of the refund endpoints (spec 5.6, 5.7).

use super::payment::pay_order_ref;
use crate::envelope::ApiError;
use crate::validate::FieldReader;
use crate::wire::{PayOrderRef, RefundRef};
use std::net::Ipv4Addr;

const REASON_MAX: usize = 256;
const EXT_PARAM_MAX: usize = 512;

/// A validated `/api/refund/refundOrder`. The engine checks the payment's state, currency
/// (`currency_matches`), refundable amount and balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOrder {
    pub payment: PayOrderRef,
    pub mch_refund_no: String,
    pub refund_amount: i64,
    /// As sent; must equal the payment's currency ASCII-case-insensitively.
    pub currency: String,
    pub refund_reason: String,
    pub client_ip: Option<Ipv4Addr>,
    pub notify_url: Option<String>,
    pub channel_extra: Option<String>,
    pub ext_param: Option<String>,
}

impl RefundOrder {
    pub(super) fn read(f: &FieldReader<'_>) -> Result<Self, ApiError> {
        let payment = pay_order_ref(f)?;
        let mch_refund_no = f.order_no("mchRefundNo")?;
        let refund_amount = f.amount("refundAmount")?;
        let currency = f.str("currency")?;
        if !(3..=8).contains(&currency.len()) || !currency.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(ApiError::Invalid("currency"));
        }
        Ok(RefundOrder {
            payment,
            mch_refund_no,
            refund_amount,
            currency: currency.to_owned(),
            refund_reason: f.str_max("refundReason", REASON_MAX)?,
            client_ip: f.ipv4_if("clientIp", false)?,
            notify_url: f.opt_url("notifyUrl")?,
            channel_extra: f.opt_raw("channelExtra"),
            ext_param: f.opt_str_max("extParam", EXT_PARAM_MAX)?,
        })
    }

    /// The spec's currency rule: the payment's currency, compared case-insensitively. The
    /// engine answers a mismatch with `ApiError::Invalid("currency")`.
    pub fn currency_matches(&self, payment_currency: &str) -> bool {
        self.currency.eq_ignore_ascii_case(payment_currency)
    }
}

/// `refundOrderId` wins over `mchRefundNo`.
pub(super) fn refund_ref(f: &FieldReader<'_>) -> Result<RefundRef, ApiError> {
    if f.opt_str("refundOrderId")?.is_some() {
        return Ok(RefundRef::RefundOrderId(f.order_no("refundOrderId")?));
    }
    if f.opt_str("mchRefundNo")?.is_some() {
        return Ok(RefundRef::MchRefundNo(f.order_no("mchRefundNo")?));
    }
    Err(ApiError::Required("refundOrderId or mchRefundNo"))
}

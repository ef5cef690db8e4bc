//! The wire objects of §5.3 (payment), §5.5 (payout) and §5.6 (refund) built from the core's
//! objects: one rendering shared by the query answers and the webhooks (§7.1), so both always
//! say the same thing. Protocol-only fields come from `attrs` (keys below).

use crate::amount::format_amount;
use crate::wire::{
    PaymentData, PaymentStatus, PayoutData, PayoutStatus, RefundData, RefundStatus, format_time,
};
use jiff::tz::Offset;
use polypay_core::{Money, Payment, PaymentState, Payout, PayoutState, Refund, Timestamp};
use serde_json::Value;

/// `attrs` keys written at creation.
pub mod attr {
    /// Payment and payout: the request's `description`.
    pub const DESCRIPTION: &str = "description";
    /// Payment and payout: the request's `merchantAttach` (absent when empty).
    pub const MERCHANT_ATTACH: &str = "merchantAttach";
    /// Payment: `payer`, `payMethod`, `tradeEnv` as sent.
    pub const PAYER: &str = "payer";
    pub const PAY_METHOD: &str = "payMethod";
    pub const TRADE_ENV: &str = "tradeEnv";
    /// Payout: `payoutMethod`, with a bank account number masked to its last four digits.
    pub const PAYOUT_METHOD: &str = "payoutMethod";
    /// Refund: the refunded payment's `paymentNo`.
    pub const PAYMENT_NO: &str = "paymentNo";
}

/// A wire amount: exactly the currency's number of decimals.
pub fn amount(money: Money) -> String {
    format_amount(money.minor, money.currency.exponent())
}

/// A wire time in the merchant's offset; `None` for an instant jiff cannot represent.
pub fn time(at: Timestamp, offset: Offset) -> String {
    match jiff::Timestamp::from_millisecond(at.0) {
        Ok(t) => format_time(t, offset),
        // Unreachable for times the engine's clock produces; keeps rendering total.
        Err(_) => format_time(jiff::Timestamp::UNIX_EPOCH, offset),
    }
}

fn text_attr(attrs: &Value, key: &str) -> Option<String> {
    attrs[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The payment object (§5.3).
pub fn payment_data(p: &Payment, offset: Offset) -> PaymentData {
    PaymentData {
        payment_no: p.public_id.clone(),
        merchant_trade_no: p.merchant_order_no.clone(),
        amount: amount(p.amount),
        currency: p.amount.currency.code().to_owned(),
        status: PaymentStatus::from_core(p.state),
        description: text_attr(&p.attrs, attr::DESCRIPTION).unwrap_or_default(),
        merchant_attach: text_attr(&p.attrs, attr::MERCHANT_ATTACH),
        refunded_amount: format_amount(p.refunded_minor, p.amount.currency.exponent()),
        created_time: time(p.created_at, offset),
        paid_time: paid_at(p).map(|at| time(at, offset)),
    }
}

/// When the payment succeeded: `finished_at` is set by the success and left alone by refunds.
fn paid_at(p: &Payment) -> Option<Timestamp> {
    match p.state {
        PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded => {
            p.finished_at
        }
        _ => None,
    }
}

/// The payout object (§5.5).
pub fn payout_data(p: &Payout, offset: Offset) -> PayoutData {
    let failed = p.state == PayoutState::Failed;
    PayoutData {
        payout_no: p.public_id.clone(),
        merchant_trade_no: p.merchant_order_no.clone(),
        amount: amount(p.amount),
        currency: p.amount.currency.code().to_owned(),
        status: PayoutStatus::from_core(p.state),
        description: text_attr(&p.attrs, attr::DESCRIPTION).unwrap_or_default(),
        merchant_attach: text_attr(&p.attrs, attr::MERCHANT_ATTACH),
        fail_reason: failed.then(|| fail_reason(p)),
        created_time: time(p.created_at, offset),
        finished_time: p
            .finished_at
            .filter(|_| p.state.is_final())
            .map(|at| time(at, offset)),
    }
}

fn fail_reason(p: &Payout) -> String {
    p.error_message
        .clone()
        .or_else(|| p.error_code.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "payout failed".to_owned())
}

/// The refund object (§5.6).
pub fn refund_data(r: &Refund, offset: Offset) -> RefundData {
    RefundData {
        refund_no: r.public_id.clone(),
        merchant_trade_no: r.merchant_refund_no.clone(),
        payment_no: text_attr(&r.attrs, attr::PAYMENT_NO).unwrap_or_default(),
        amount: amount(r.amount),
        currency: r.amount.currency.code().to_owned(),
        status: RefundStatus::from_core(r.state),
        reason: r.reason.clone().filter(|s| !s.is_empty()),
        created_time: time(r.created_at, offset),
        finished_time: r
            .finished_at
            .filter(|_| r.state.is_final())
            .map(|at| time(at, offset)),
    }
}

/// A bank account number as stored: all but the last four characters replaced by `*`, so the
/// full number never sits in `attrs` (which Debug output and the admin API show).
pub fn mask_account_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let keep = chars.len().min(4);
    let hidden = chars.len() - keep;
    let mut out = "*".repeat(hidden);
    out.extend(&chars[hidden..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_last_four() {
        assert_eq!(mask_account_number("123456789012"), "********9012");
        assert_eq!(mask_account_number("123"), "123");
        assert_eq!(mask_account_number(""), "");
    }

    #[test]
    fn times_render_in_the_offset() {
        let at = Timestamp(1_715_670_758_482);
        assert_eq!(time(at, Offset::UTC), "2024-05-14T07:12:38.482+00:00");
        let ist = Offset::from_seconds(5 * 3600 + 1800).unwrap();
        assert_eq!(time(at, ist), "2024-05-14T12:42:38.482+05:30");
    }
}

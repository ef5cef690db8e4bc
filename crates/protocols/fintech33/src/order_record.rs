//! What a 33 Fintech order keeps beside the core model: the createOrder fields in `Payment.attrs`,
//! and a copy of the order's facts in `Refund.attrs` (a refund's outbox event carries the refund
//! only, yet its webhook describes the whole order, §7).

use polypay_core::{Payment, Refund};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::wire::{Amount, OrderStatus, PaymentOrderStatus};

/// The protocol fields of an order, stored as `Payment.attrs` when it is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAttrs {
    pub platform_order_sn: String,
    pub request_id: u64,
    pub region: String,
    pub payer_id: u64,
    pub payer_email: String,
    pub description: String,
    pub purpose_of_transaction: String,
    pub skip3ds: bool,
    pub domain: String,
    pub product: String,
}

impl OrderAttrs {
    pub fn of(payment: &Payment) -> Result<Self, Error> {
        Ok(serde_json::from_value(payment.attrs.clone())?)
    }
}

/// Everything the webhook says about an order except its status and failure count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFacts {
    pub order_sn: String,
    pub link_id: String,
    pub amount_cents: u64,
    /// Milliseconds since the epoch: request time = creation time (§7).
    pub created_at: i64,
    pub expires_at: i64,
    pub attrs: OrderAttrs,
}

impl OrderFacts {
    pub fn of_payment(payment: &Payment) -> Result<Self, Error> {
        Ok(OrderFacts {
            order_sn: payment.merchant_order_no.clone(),
            link_id: payment.public_id.clone(),
            amount_cents: u64::try_from(payment.amount.minor)
                .map_err(|_| Error::InvalidSetting("negative payment amount"))?,
            created_at: payment.created_at.millis(),
            expires_at: payment.expires_at.millis(),
            attrs: OrderAttrs::of(payment)?,
        })
    }

    /// The `PaymentOrderStatus` of §7 for this order in `status`.
    pub fn notice(
        &self,
        status: OrderStatus,
        fail_times: u32,
    ) -> Result<PaymentOrderStatus, Error> {
        let amount = Amount::from_cents(self.amount_cents)
            .ok_or(Error::InvalidSetting("amount out of range"))?;
        let created = timestamp(self.created_at);
        Ok(PaymentOrderStatus {
            order_sn: self.order_sn.clone(),
            platform_order_sn: self.attrs.platform_order_sn.clone(),
            request_id: self.attrs.request_id,
            region: self.attrs.region.clone(),
            payer_email: self.attrs.payer_email.clone(),
            description: self.attrs.description.clone(),
            comment: self.attrs.purpose_of_transaction.clone(),
            request_time: created,
            currency: "USD".to_owned(),
            amount,
            link_id: self.link_id.clone(),
            link_expiry: timestamp(self.expires_at),
            status,
            fail_times,
            creation_time: created,
        })
    }
}

/// What `Refund.attrs` holds: the attempt number `n` of `<order_sn>#<n>` and the order's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAttrs {
    pub n: u32,
    pub order: OrderFacts,
}

impl RefundAttrs {
    pub fn of(refund: &Refund) -> Result<Self, Error> {
        Ok(serde_json::from_value(refund.attrs.clone())?)
    }
}

/// A core timestamp as a `jiff` one (core times are always within jiff's range).
pub fn timestamp(ts_millis: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ts_millis).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A random UUID v4 in lower case (`linkID`, §5.2).
pub fn uuid_v4() -> Result<String, Error> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| Error::Crypto("system random"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_v4_lower_case() {
        let u = uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert!(
            u.bytes()
                .all(|c| c == b'-' || c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert_ne!(u, uuid_v4().unwrap());
    }

    #[test]
    fn notice_uses_creation_time_for_request_and_creation() {
        let facts = OrderFacts {
            order_sn: "ORDER-1".into(),
            link_id: "l".into(),
            amount_cents: 99933,
            created_at: 1_704_111_132_000,
            expires_at: 1_704_112_032_000,
            attrs: OrderAttrs {
                platform_order_sn: "SS2024010112121200001".into(),
                request_id: 10_000_001,
                region: "HKG".into(),
                payer_id: 10001,
                payer_email: "a@b.c".into(),
                description: "d".into(),
                purpose_of_transaction: "PAY_FOR_GOODS".into(),
                skip3ds: false,
                domain: "x".into(),
                product: "p".into(),
            },
        };
        let n = facts.notice(OrderStatus::Paid, 0).unwrap();
        let text = serde_json::to_string(&n).unwrap();
        assert!(
            text.contains(r#""requestTime":"2024-01-01 12:12:12.000+0000""#),
            "{text}"
        );
        assert!(text.contains(r#""linkExpiry":"2024-01-01 12:27:12.000+0000""#));
        assert!(text.contains(r#""amount":999.33"#));
        assert_eq!(n.request_time, n.creation_time);
    }
}

//! [`ProtocolNotifier`] for PassToPay (spec 7): which outbox events become a callback, built
//! from the event's object snapshot and signed with the merchant's app secret; identical bytes
//! on every retry; the `success` ack; six attempts 30 s apart; the signed return redirect.

use super::attrs::{PaymentAttrs, payment_notifies};
use super::view;
use crate::credentials::Credentials;
use crate::notify::{self, CallbackData, OutgoingRequest};
use crate::wire::{PaymentNotification, RefundNotification, TransferNotification};
use polypay_core::{Merchant, Payment, Payout, Protocol, Refund, Timestamp};
use polypay_notify::{
    CallbackRequest, CashierAction, CashierForm, CashierInput, CashierMarks, Encoded,
    ProtocolNotifier, Skip,
};
use polypay_store::OutboxEvent;
use serde::Deserialize;
use std::time::Duration;

/// The PassToPay callback encoder (stateless: everything comes from the event and merchant).
#[derive(Debug, Clone, Copy, Default)]
pub struct PassToPayNotifier;

impl PassToPayNotifier {
    /// The notification of an event and where it goes, or why none goes out.
    /// The engine emits one event per state change with the object after it, so an event whose
    /// snapshot is in a notified state is that state's (first and only) arrival.
    fn callback_of(
        event: &OutboxEvent,
        merchant: &Merchant,
        req_time: i64,
    ) -> Result<Result<(CallbackData, String), Skip>, String> {
        // Read in place: the payload is not copied to be parsed.
        let payload = &event.payload;
        let bad = |e: serde_json::Error| format!("{} payload: {e}", event.object_kind);
        Ok(match event.object_kind.as_str() {
            "payment" => {
                let p = Payment::deserialize(payload).map_err(bad)?;
                let attrs = PaymentAttrs::of(&p.attrs);
                if !payment_notifies(p.state, &attrs) {
                    return Ok(Err(Skip::NotNotified));
                }
                let Some(url) = p.notify_url.clone() else {
                    return Ok(Err(Skip::NoUrl));
                };
                let data = view::pay_order_data(&p, merchant, None);
                Ok((
                    CallbackData::Payment(PaymentNotification::new(data, req_time)),
                    url,
                ))
            }
            "payout" => {
                let p = Payout::deserialize(payload).map_err(bad)?;
                if !p.state.is_final() {
                    return Ok(Err(Skip::NotNotified));
                }
                let Some(url) = p.notify_url.clone() else {
                    return Ok(Err(Skip::NoUrl));
                };
                let transfer = view::transfer_query_data(&p, merchant);
                Ok((
                    CallbackData::Transfer(TransferNotification { transfer, req_time }),
                    url,
                ))
            }
            "refund" => {
                let r = Refund::deserialize(payload).map_err(bad)?;
                if !r.state.is_final() {
                    return Ok(Err(Skip::NotNotified));
                }
                let Some(url) = r.notify_url.clone() else {
                    return Ok(Err(Skip::NoUrl));
                };
                let refund = view::refund_query_data(&r, merchant);
                Ok((
                    CallbackData::Refund(RefundNotification { refund, req_time }),
                    url,
                ))
            }
            _ => Err(Skip::NotNotified),
        })
    }
}

impl ProtocolNotifier for PassToPayNotifier {
    fn protocol(&self) -> Protocol {
        Protocol::Passtopay
    }

    /// Payment states no order notifies in (whether or not the merchant closed it), payouts and
    /// refunds before their final state: `callback_of`'s own rules.
    fn silent_events(&self) -> Vec<String> {
        let either = [
            PaymentAttrs::default(),
            PaymentAttrs {
                closed_by_merchant: true,
                ..PaymentAttrs::default()
            },
        ];
        polypay_notify::silent_states(
            |s| either.iter().all(|a| !payment_notifies(s, a)),
            |s| !s.is_final(),
            |s| !s.is_final(),
        )
    }

    fn encode(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Result<Encoded, String> {
        if event.protocol != Protocol::Passtopay {
            return Ok(Encoded::Skip(Skip::NotNotified));
        }
        let (data, url) = match Self::callback_of(event, merchant, now.millis())? {
            Ok(found) => found,
            Err(why) => return Ok(Encoded::Skip(why)),
        };
        let creds = Credentials::of_merchant(merchant);
        let out = notify::encode(&data, &url, &creds.app_secret, creds.settings.notify_format);
        Ok(Encoded::Send(to_callback(out)))
    }

    /// Upstream re-sends the identical body (same `reqTime`, same `sign`).
    fn reencode(
        &self,
        first: &CallbackRequest,
        _merchant: &Merchant,
        _attempt: u32,
        _now: Timestamp,
    ) -> CallbackRequest {
        first.clone()
    }

    fn is_ack(&self, status: u16, body: &[u8]) -> bool {
        notify::is_ack(status, body)
    }

    fn ack_rule(&self) -> &'static str {
        notify::ACK_RULE
    }

    fn attempt_offsets_ms(&self) -> Vec<i64> {
        notify::RETRY_DELAYS_SECS
            .iter()
            .map(|s| i64::try_from(*s).unwrap_or(i64::MAX).saturating_mul(1000))
            .collect()
    }

    fn attempt_timeout(&self) -> Duration {
        notify::ATTEMPT_TIMEOUT
    }

    fn independent_deliveries(&self) -> bool {
        false
    }

    /// `returnUrl` + the payment-notification fields, signed (spec 7.1).
    fn redirect_url(
        &self,
        payment: &Payment,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Option<String> {
        let return_url = payment.return_url.as_deref()?;
        let data = view::pay_order_data(payment, merchant, None);
        let creds = Credentials::of_merchant(merchant);
        let notification = PaymentNotification::new(data, now.millis());
        Some(notify::redirect_url(
            return_url,
            &notification,
            &creds.app_secret,
        ))
    }

    fn cashier_form(
        &self,
        payment: &Payment,
        _merchant: &Merchant,
        _link: CashierInput<'_>,
    ) -> CashierForm {
        super::checkout::form(payment)
    }

    fn cashier_submit(
        &self,
        payment: &Payment,
        action: CashierAction,
        input: CashierInput<'_>,
        _now: Timestamp,
    ) -> Result<CashierMarks, String> {
        super::checkout::submit(payment, action, input)
    }
}

fn to_callback(out: OutgoingRequest) -> CallbackRequest {
    CallbackRequest {
        url: out.url,
        method: out.method.to_owned(),
        headers: out
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        body: out.body,
    }
}

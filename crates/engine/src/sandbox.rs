//! Sandbox scenarios: amount rules and automatic completion, so a merchant's automated test
//! needs no browser. Only active when the engine is built with [`Scenarios`] (sandbox mode).

use crate::error::EngineError;
use crate::payment::{add_marks, transition_payment};
use crate::{Engine, random_digits, random_hex};
use polypay_core::{Currency, Money, Payment, PaymentCommand, PaymentId, PaymentState, Timestamp};

/// What the amount of a payment asks the sandbox to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `.01`: declined at creation (failed, `SANDBOX_DECLINED`).
    Decline,
    /// `.02`: stays open until it expires; never completed automatically.
    HoldUntilExpiry,
    /// `.03`: succeeds by itself after the given milliseconds.
    SucceedAfter(i64),
}

/// Sandbox scenario settings (see README, "Sandbox scenarios").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenarios {
    /// Whether the amount rules (.01 / .02 / .03) apply.
    pub amount_rules: bool,
    /// When set, every open payment (except `.02`) succeeds by itself this long after creation.
    pub auto_succeed_after_ms: Option<i64>,
}

impl Default for Scenarios {
    fn default() -> Self {
        Scenarios {
            amount_rules: true,
            auto_succeed_after_ms: None,
        }
    }
}

impl Scenarios {
    /// The rule an amount triggers: its fractional part in major units is exactly .01, .02 or .03.
    pub fn for_amount(&self, amount: Money) -> Option<Scenario> {
        if !self.amount_rules || amount.currency.exponent() < 2 {
            return None;
        }
        let cent = 10i64.pow(amount.currency.exponent() - 2);
        match amount.minor.rem_euclid(cent * 100) {
            m if m == cent => Some(Scenario::Decline),
            m if m == 2 * cent => Some(Scenario::HoldUntilExpiry),
            m if m == 3 * cent => Some(Scenario::SucceedAfter(5_000)),
            _ => None,
        }
    }

    /// When an open payment should succeed by itself, if ever.
    pub fn auto_success_due(&self, p: &Payment) -> Option<Timestamp> {
        match self.for_amount(p.amount) {
            Some(Scenario::HoldUntilExpiry | Scenario::Decline) => None,
            Some(Scenario::SucceedAfter(ms)) => Some(p.created_at.plus_millis(ms)),
            None => self
                .auto_succeed_after_ms
                .map(|ms| p.created_at.plus_millis(ms)),
        }
    }
}

/// A provider-looking channel reference for a sandbox success: `0x` + 64 hex for stablecoins,
/// else `yyyyMMdd` + 20 digits.
pub fn channel_order_no(currency: Currency, now: Timestamp) -> String {
    if currency == Currency::USDT || currency == Currency::USDC {
        return format!("0x{}", random_hex(32));
    }
    let date = jiff::Timestamp::from_millisecond(now.0)
        .map(|t| t.strftime("%Y%m%d").to_string())
        .unwrap_or_else(|_| "19700101".into());
    format!("{date}{}", random_digits(20))
}

impl Engine {
    /// A payment paid on a chain, in the sandbox: records the transfer's hash (`0x` + 64 hex) as
    /// its channel reference and merges `marks` (the sender, the block time) into its attrs,
    /// moves it to pending if it was created (so the `payment.pending` event carries them), and
    /// schedules its success `after_ms` later ([`Engine::succeed_due_payments`], run by the
    /// sandbox sweeper, keeps the same reference), all in one write job. The expiry sweep
    /// leaves it alone meanwhile: the customer has paid. A payment whose transfer was already
    /// seen is returned unchanged (a second Pay from the page, say): its hash, marks and
    /// schedule stay those its `payment.pending` event carried.
    pub async fn confirm_payment_later(
        &self,
        id: &PaymentId,
        marks: serde_json::Map<String, serde_json::Value>,
        after_ms: i64,
    ) -> Result<Payment, EngineError> {
        let id = id.clone();
        let now = self.clock.now();
        self.store
            .write_locking(
                polypay_store::Locks::Object(id.as_str().to_owned()),
                move |db| {
                    let mut current = db.payment(&id)?.ok_or(EngineError::NotFound("payment"))?;
                    if current.state == PaymentState::Pending && current.channel_order_no.is_some()
                    {
                        return Ok(current);
                    }
                    add_marks(&mut current, &marks);
                    if current.state.is_open() {
                        current.channel_order_no = Some(channel_order_no(Currency::USDT, now));
                    }
                    db.update_payment(&current)?;
                    if current.state != PaymentState::Pending {
                        // Created: opened now, the event carrying the marks; final: refused by the
                        // state machine (and the job's writes undone).
                        current = transition_payment(db, &id, &PaymentCommand::Open, now)?;
                    }
                    db.schedule_payment_success(&id, now.plus_millis(after_ms.max(0)))?;
                    Ok(current)
                },
            )
            .await
    }

    /// Succeeds up to `limit` open payments whose scheduled success is due, earliest first:
    /// a transfer that has gathered its confirmations ([`Engine::confirm_payment_later`]), a
    /// scenario's automatic success (scheduled at creation); returns them. One the state
    /// machine refuses (finished meanwhile by other means, or its credit would overflow the
    /// balance) is unscheduled: it stays as it is (open, it expires as any other) and never
    /// holds the due ones behind it back.
    pub async fn succeed_due_payments(
        &self,
        limit: i64,
    ) -> Result<crate::Swept<Payment>, EngineError> {
        let now = self.clock.now();
        let due = self
            .store
            .read(move |db| Ok::<_, EngineError>(db.due_payment_successes(now, limit)?))
            .await?;
        let read = due.len();
        let ids: Vec<PaymentId> = due.iter().map(|(id, ..)| id.clone()).collect();
        let transitions = due.into_iter().map(|(id, channel, currency)| {
            // The transfer's hash recorded when it was seen; else a new provider-like number.
            let cmd = PaymentCommand::Succeed {
                channel_order_no: channel.unwrap_or_else(|| channel_order_no(currency, now)),
            };
            async move { self.transition_payment(&id, cmd).await }
        });
        let outcomes = futures_util::future::join_all(transitions).await;
        let mut done = Vec::with_capacity(read);
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            match outcome {
                Ok(p) => done.push(p),
                Err(EngineError::Rule(e)) => {
                    if matches!(e, polypay_core::CoreError::BalanceLimit { .. }) {
                        tracing::warn!(payment = %id.as_str(), error = %e, "scheduled payment success refused; unscheduled");
                    } else {
                        tracing::debug!(payment = %id.as_str(), error = %e, "scheduled payment success moot");
                    }
                    let unschedule = id.clone();
                    self.store
                        .write_locking(
                            polypay_store::Locks::Object(id.as_str().to_owned()),
                            move |db| {
                                Ok::<_, EngineError>(
                                    db.unschedule_payment_success(&unschedule, now)?,
                                )
                            },
                        )
                        .await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(crate::Swept { done, due: read })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_rules_look_at_the_fraction_in_major_units() {
        let s = Scenarios::default();
        assert_eq!(
            s.for_amount(Money::new(1001, Currency::CNY)),
            Some(Scenario::Decline)
        );
        assert_eq!(
            s.for_amount(Money::new(502, Currency::USD)),
            Some(Scenario::HoldUntilExpiry)
        );
        assert_eq!(
            s.for_amount(Money::new(3, Currency::INR)),
            Some(Scenario::SucceedAfter(5_000))
        );
        assert_eq!(
            s.for_amount(Money::new(10_010_000, Currency::USDT)),
            Some(Scenario::Decline)
        );
        assert_eq!(s.for_amount(Money::new(10_010_001, Currency::USDT)), None);
        assert_eq!(s.for_amount(Money::new(1000, Currency::CNY)), None);
        let off = Scenarios {
            amount_rules: false,
            auto_succeed_after_ms: None,
        };
        assert_eq!(off.for_amount(Money::new(1001, Currency::CNY)), None);
    }

    #[test]
    fn channel_numbers_look_like_the_providers() {
        let n = channel_order_no(Currency::CNY, Timestamp(1_622_016_579_000));
        assert!(n.starts_with("20210526") && n.len() == 28, "{n}");
        assert_eq!(channel_order_no(Currency::USDT, Timestamp(0)).len(), 66);
    }
}

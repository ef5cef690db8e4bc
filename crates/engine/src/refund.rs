//! Refunds: held against the payment and debited from the balance at creation, settled later.

use crate::error::EngineError;
use crate::{Engine, events, ledger, time_ordered_hex};
use polypay_core::{Money, Payment, PaymentId, Protocol, Refund, RefundId, RefundState, Timestamp};
use polypay_store::{Db, Locks};

/// What a protocol front door asks for when a merchant refunds (part of) a payment.
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub payment_id: PaymentId,
    pub protocol: Protocol,
    pub merchant_refund_no: String,
    pub public_id: String,
    pub amount: Money,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    /// Refuse when another refund of the payment is still pending (PassToPay's rule).
    pub exclusive: bool,
    /// The provider's fee for the refund, in the amount's minor units (0: none). The available
    /// balance must cover amount and fee; both are debited at creation, and both are credited
    /// back if the refund fails.
    pub fee_minor: i64,
    /// Sandbox only: settle the refund as succeeded this many milliseconds after it is created
    /// ([`Engine::settle_due_refunds`], run by the sandbox sweeper); `Some(0)`: in the commit
    /// that creates it, so no other request ever sees it pending (an exclusive refund right
    /// after it is not refused for it). `None`: it stays pending until something settles it.
    pub settle_after_ms: Option<i64>,
    pub attrs: serde_json::Value,
}

const CLEARING: &str = "refund_clearing";
/// The ledger account refund fees are posted against.
const FEES: &str = "fees";
/// The ledger kind of a refund fee.
const FEE_KIND: &str = "refund_fee";
/// The ledger kind of a failed refund's fee credited back.
const FEE_REVERSAL_KIND: &str = "refund_fee_reversal";

impl Engine {
    /// Creates a pending refund: never more than is still refundable, and only when the
    /// merchant's available balance covers it (debited in the same commit).
    pub async fn create_refund(&self, new: NewRefund) -> Result<(Refund, Payment), EngineError> {
        let now = self.clock.now();
        let family = new.payment_id.as_str().to_string();
        self.store
            .write_locking(Locks::Object(family), move |db| {
                insert_refund(db, &new, now)
            })
            .await
    }

    /// Settles, as succeeded, up to `limit` pending refunds whose scheduled settlement
    /// ([`NewRefund::settle_after_ms`]) is due; returns the refunds it settled. A refund settled
    /// meanwhile by other means (another node's sweep, which reads the same due refunds, or
    /// the operator) is skipped quietly.
    pub async fn settle_due_refunds(
        &self,
        limit: i64,
    ) -> Result<crate::Swept<Refund>, EngineError> {
        let now = self.clock.now();
        let due = self
            .store
            .read(move |db| Ok::<_, EngineError>(db.due_refund_settlements(now, limit)?))
            .await?;
        // All at once: they share commits instead of waiting for one each.
        let settlements = due.iter().map(|(id, payment_id)| {
            let clock = self.clock.clone();
            let (id, payment_id) = (id.clone(), payment_id.clone());
            self.store
                .write_locking(Locks::Object(payment_id.as_str().to_owned()), move |db| {
                    settle_refund(db, &id, &payment_id, None, None, clock.now(), true)
                })
        });
        let outcomes = futures_util::future::join_all(settlements).await;
        let read = due.len();
        let mut settled = Vec::with_capacity(due.len());
        for ((id, payment_id), outcome) in due.into_iter().zip(outcomes) {
            match outcome {
                Ok(Some((refund, _))) => settled.push(refund),
                Ok(None) => {
                    tracing::debug!(refund = %id.as_str(), "scheduled refund settled meanwhile")
                }
                // A payment that cannot take it: unscheduled, so one refund cannot hold the
                // others back every tick.
                Err(EngineError::Rule(e)) => {
                    tracing::warn!(refund = %id.as_str(), error = %e, "scheduled refund settlement refused");
                    let unschedule = id.clone();
                    self.store
                        .write_locking(Locks::Object(payment_id.as_str().to_owned()), move |db| {
                            // The family's root first (`Locks::Object`).
                            db.payment(&payment_id)?;
                            Ok::<_, EngineError>(db.schedule_refund_settlement(&unschedule, None)?)
                        })
                        .await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(crate::Swept {
            done: settled,
            due: read,
        })
    }

    pub async fn refund(&self, id: &RefundId) -> Result<Refund, EngineError> {
        let id = id.clone();
        self.store
            .read(move |db| db.refund(&id)?.ok_or(EngineError::NotFound("refund")))
            .await
    }

    pub async fn refund_by_no(
        &self,
        m: &polypay_core::MerchantId,
        no: &str,
    ) -> Result<Refund, EngineError> {
        let (m, no) = (m.clone(), no.to_string());
        self.store
            .read(move |db| {
                db.refund_by_no(&m, &no)?
                    .ok_or(EngineError::NotFound("refund"))
            })
            .await
    }

    pub async fn refund_by_public_id(&self, public_id: &str) -> Result<Refund, EngineError> {
        let id = public_id.to_string();
        self.store
            .read(move |db| {
                db.refund_by_public_id(&id)?
                    .ok_or(EngineError::NotFound("refund"))
            })
            .await
    }

    pub async fn refunds_of_payment(
        &self,
        payment: &PaymentId,
    ) -> Result<Vec<Refund>, EngineError> {
        let id = payment.clone();
        self.store
            .read(move |db| Ok(db.refunds_of_payment(&id)?))
            .await
    }

    /// Settles a pending refund: success moves the payment to (partially_)refunded; failure
    /// releases the hold and credits the balance back.
    pub async fn settle_refund(
        &self,
        refund: &Refund,
        failure: Option<(String, String)>,
    ) -> Result<(Refund, Payment), EngineError> {
        self.settle(&refund.id, &refund.payment_id, None, failure)
            .await
    }

    /// Settles a pending refund as a rail reported it: a success with the rail's reference
    /// (the refund's `channel_order_no`), or a failure with its code and message.
    pub async fn settle_refund_reported(
        &self,
        refund: &Refund,
        reference: Option<String>,
        failure: Option<(String, String)>,
    ) -> Result<(Refund, Payment), EngineError> {
        self.settle(&refund.id, &refund.payment_id, reference, failure)
            .await
    }

    async fn settle(
        &self,
        id: &RefundId,
        payment_id: &PaymentId,
        reference: Option<String>,
        failure: Option<(String, String)>,
    ) -> Result<(Refund, Payment), EngineError> {
        let (id, payment_id) = (id.clone(), payment_id.clone());
        let clock = self.clock.clone();
        let settled = self
            .store
            .write_locking(Locks::Object(payment_id.as_str().to_owned()), move |db| {
                let reference = reference.clone();
                let failure = failure.clone();
                settle_refund(db, &id, &payment_id, reference, failure, clock.now(), false)
            })
            .await?;
        settled.ok_or(EngineError::NotFound("refund"))
    }
}

fn insert_refund(
    db: &mut Db<'_>,
    new: &NewRefund,
    now: Timestamp,
) -> Result<(Refund, Payment), EngineError> {
    let payment = db
        .payment(&new.payment_id)?
        .ok_or(EngineError::NotFound("payment"))?;
    if let Some(existing) = db.refund_by_no(&payment.merchant_id, &new.merchant_refund_no)? {
        return Err(EngineError::DuplicateRefund(Box::new(existing)));
    }
    if new.exclusive && payment.refund_pending_minor > 0 {
        return Err(EngineError::RefundInProgress);
    }
    if new.amount.currency != payment.amount.currency {
        let e = polypay_core::MoneyError::CurrencyMismatch(
            new.amount.currency,
            payment.amount.currency,
        );
        return Err(polypay_core::CoreError::from(e).into());
    }
    let held = payment.hold_refund(new.amount.minor, now)?;
    let fee = Money::new(new.fee_minor.max(0), new.amount.currency);
    if fee.minor > 0 {
        let owed = new
            .amount
            .checked_add(fee)
            .map_err(polypay_core::CoreError::from)?;
        let available = db.balance(&payment.merchant_id, owed.currency)?;
        if available < owed.minor {
            return Err(EngineError::InsufficientBalance {
                available,
                requested: owed.minor,
            });
        }
    }
    let refund = Refund {
        id: RefundId::from_random(&time_ordered_hex(10)),
        merchant_id: payment.merchant_id.clone(),
        payment_id: payment.id.clone(),
        protocol: new.protocol,
        merchant_refund_no: new.merchant_refund_no.clone(),
        public_id: new.public_id.clone(),
        amount: new.amount,
        state: RefundState::Pending,
        reason: new.reason.clone(),
        notify_url: new.notify_url.clone(),
        created_at: now,
        updated_at: now,
        finished_at: None,
        error_code: None,
        error_message: None,
        attrs: new.attrs.clone(),
        channel_order_no: None,
    };
    let r = &refund;
    ledger::debit(
        db,
        &r.merchant_id,
        CLEARING,
        r.amount,
        "refund",
        r.id.as_str(),
        now,
    )?;
    if fee.minor > 0 {
        ledger::debit(db, &r.merchant_id, FEES, fee, FEE_KIND, r.id.as_str(), now)?;
    }
    if !db.insert_refund(r)? {
        let existing = db.refund_by_no(&r.merchant_id, &r.merchant_refund_no)?;
        return Err(existing.map_or(EngineError::NotFound("refund"), |e| {
            EngineError::DuplicateRefund(Box::new(e))
        }));
    }
    let at_once = matches!(new.settle_after_ms, Some(ms) if ms <= 0);
    if let (Some(ms), false) = (new.settle_after_ms, at_once) {
        db.schedule_refund_settlement(&r.id, Some(now.plus_millis(ms)))?;
    }
    db.update_payment(&held)?;
    events::emit(db, r, now)?;
    if at_once {
        return settle_refund(db, &r.id, &r.payment_id, None, None, now, false)?
            .ok_or(EngineError::NotFound("refund"));
    }
    Ok((refund, held))
}

/// The refund settlement, inside a write job: a success with the rail's reference (if any),
/// or a failure with its code and message. `None` when `if_pending` and the refund is no
/// longer pending (nothing written); without `if_pending` that is the state machine's refusal.
fn settle_refund(
    db: &mut Db<'_>,
    id: &RefundId,
    payment_id: &PaymentId,
    reference: Option<String>,
    failure: Option<(String, String)>,
    now: Timestamp,
    if_pending: bool,
) -> Result<Option<(Refund, Payment)>, EngineError> {
    // The payment first: a family's root row is locked before its refunds (`polypay_store::Locks::Object`).
    let payment = db
        .payment(payment_id)?
        .ok_or(EngineError::NotFound("refund"))?;
    let refund = db
        .refund(id)?
        .filter(|r| r.payment_id == *payment_id)
        .ok_or(EngineError::NotFound("refund"))?;
    if if_pending && refund.state != RefundState::Pending {
        return Ok(None);
    }
    let succeeded = failure.is_none();
    let mut settled = refund.settle(failure, now)?;
    if succeeded && reference.is_some() {
        settled.channel_order_no = reference;
    }
    let payment = payment.settle_refund(refund.amount.minor, succeeded, now)?;
    db.update_refund(&settled)?;
    db.update_payment(&payment)?;
    let r = &settled;
    if !succeeded {
        ledger::credit(
            db,
            &r.merchant_id,
            CLEARING,
            r.amount,
            "refund_reversal",
            r.id.as_str(),
            now,
        )?;
        // The fee charged with it, as the ledger recorded it.
        let fee: i64 = db
            .ledger_of_object(r.id.as_str())?
            .iter()
            .filter(|e| e.kind == FEE_KIND && e.account == ledger::AVAILABLE)
            .map(|e| -e.amount.minor)
            .sum();
        if fee > 0 {
            let fee = Money::new(fee, r.amount.currency);
            let kind = FEE_REVERSAL_KIND;
            ledger::credit(db, &r.merchant_id, FEES, fee, kind, r.id.as_str(), now)?;
        }
    }
    events::emit(db, r, now)?;
    if succeeded {
        let p = &payment;
        events::emit(db, p, now)?;
    }
    Ok(Some((settled, payment)))
}

//! Payouts: debited from the available balance at creation, reversed if they fail.

use crate::error::EngineError;
use crate::{Engine, events, ledger, time_ordered_hex};
use polypay_core::{
    MerchantId, Money, Payout, PayoutCommand, PayoutId, PayoutState, Protocol, Timestamp,
};
use polypay_store::{Db, Locks};

/// What a protocol front door asks for when a merchant creates a payout.
#[derive(Debug, Clone)]
pub struct NewPayout {
    pub merchant_id: MerchantId,
    pub protocol: Protocol,
    pub merchant_order_no: String,
    pub public_id: String,
    pub amount: Money,
    pub notify_url: Option<String>,
    /// Move straight to `processing` in the creating transaction (PassToPay transfers do).
    pub start_processing: bool,
    pub attrs: serde_json::Value,
}

const CLEARING: &str = "payout_clearing";

impl Engine {
    /// Creates a payout, debiting the merchant's available balance in the same commit.
    /// Refused with [`EngineError::InsufficientBalance`] (and nothing written) when it does not cover
    /// the amount; a repeated order number gives [`EngineError::DuplicatePayout`].
    pub async fn create_payout(&self, new: NewPayout) -> Result<Payout, EngineError> {
        if new.amount.minor <= 0 {
            return Err(polypay_core::CoreError::NonPositiveAmount.into());
        }
        let now = self.clock.now();
        let payout = Payout {
            id: PayoutId::from_random(&time_ordered_hex(10)),
            merchant_id: new.merchant_id,
            protocol: new.protocol,
            merchant_order_no: new.merchant_order_no,
            public_id: new.public_id,
            amount: new.amount,
            state: PayoutState::Pending,
            notify_url: new.notify_url,
            created_at: now,
            updated_at: now,
            finished_at: None,
            channel_order_no: None,
            error_code: None,
            error_message: None,
            attrs: new.attrs,
        };
        let start = new.start_processing;
        self.store
            .write(move |db| insert_payout(db, &payout, start, now))
            .await
    }

    pub async fn payout(&self, id: &PayoutId) -> Result<Payout, EngineError> {
        let id = id.clone();
        self.store
            .read(move |db| db.payout(&id)?.ok_or(EngineError::NotFound("payout")))
            .await
    }

    pub async fn payout_by_order_no(
        &self,
        m: &MerchantId,
        order_no: &str,
    ) -> Result<Payout, EngineError> {
        let (m, no) = (m.clone(), order_no.to_string());
        self.store
            .read(move |db| {
                db.payout_by_order_no(&m, &no)?
                    .ok_or(EngineError::NotFound("payout"))
            })
            .await
    }

    pub async fn payout_by_public_id(&self, public_id: &str) -> Result<Payout, EngineError> {
        let id = public_id.to_string();
        self.store
            .read(move |db| {
                db.payout_by_public_id(&id)?
                    .ok_or(EngineError::NotFound("payout"))
            })
            .await
    }

    /// Moves a payout; a failure credits the debited amount back in the same commit.
    pub async fn transition_payout(
        &self,
        id: &PayoutId,
        cmd: PayoutCommand,
    ) -> Result<Payout, EngineError> {
        let id = id.clone();
        let clock = self.clock.clone();
        self.store
            .write_locking(Locks::Object(id.as_str().to_owned()), move |db| {
                transition_payout(db, &id, &cmd, clock.now())
            })
            .await
    }
}

fn insert_payout(
    db: &mut Db<'_>,
    payout: &Payout,
    start: bool,
    now: Timestamp,
) -> Result<Payout, EngineError> {
    if let Some(existing) = db.payout_by_order_no(&payout.merchant_id, &payout.merchant_order_no)? {
        return Err(EngineError::DuplicatePayout(Box::new(existing)));
    }
    let p = payout;
    ledger::debit(
        db,
        &p.merchant_id,
        CLEARING,
        p.amount,
        "payout",
        p.id.as_str(),
        now,
    )?;
    if !db.insert_payout(p)? {
        // Lost a race with a concurrent create on another node: roll this job back.
        let existing = db.payout_by_order_no(&p.merchant_id, &p.merchant_order_no)?;
        return Err(existing.map_or(EngineError::NotFound("payout"), |e| {
            EngineError::DuplicatePayout(Box::new(e))
        }));
    }
    events::emit(db, p, now)?;
    if start {
        return transition_payout(db, &p.id, &PayoutCommand::Process, now);
    }
    Ok(payout.clone())
}

/// The payout transition, usable inside any write job.
pub fn transition_payout(
    db: &mut Db<'_>,
    id: &PayoutId,
    cmd: &PayoutCommand,
    now: Timestamp,
) -> Result<Payout, EngineError> {
    let current = db.payout(id)?.ok_or(EngineError::NotFound("payout"))?;
    let next = current.apply(cmd, now)?;
    db.update_payout(&next)?;
    if next.state == PayoutState::Failed {
        let id = next.id.as_str();
        ledger::credit(
            db,
            &next.merchant_id,
            CLEARING,
            next.amount,
            "payout_reversal",
            id,
            now,
        )?;
    }
    let n = &next;
    events::emit(db, n, now)?;
    Ok(next)
}

//! refund/create and refund/query (§5.6). A refund is debited on acceptance and starts PENDING;
//! in the sandbox with a refund delay of 0 (the default) it is settled before the answer, so
//! the create response already says REFUNDED (§8). With a delay it stays PENDING for whatever
//! settles refunds (the sandbox control API / refund processor).

use super::{Caller, Gateway, errors};
use crate::envelope::ApiError;
use crate::objects::{attr, refund_data};
use crate::validate::{Lookup, RefundCreate};
use crate::wire::ResponseData;
use polypay_core::{Money, Protocol};
use polypay_engine::{EngineError, NewRefund};
use serde_json::{Map, Value};

impl Gateway {
    pub(crate) async fn create_refund(
        &self,
        caller: &Caller,
        create: RefundCreate,
    ) -> Result<ResponseData, ApiError> {
        let payment = self.find_payment(caller, &create.payment).await?;
        let currency = payment.amount.currency;
        let minor = create.amount_minor(currency.exponent())?;
        let public_id = self.next_number("RF").await?;
        let req = create.request;
        let mut attrs = Map::new();
        attrs.insert(attr::PAYMENT_NO.into(), payment.public_id.clone().into());
        let new = NewRefund {
            payment_id: payment.id.clone(),
            protocol: Protocol::V2sha256,
            merchant_refund_no: req.merchant_trade_no,
            public_id,
            amount: Money::new(minor, currency),
            reason: req.reason.filter(|r| !r.is_empty()),
            // §7.1: the refund's own notifyUrl, else the payment's.
            notify_url: req.notify_url.or_else(|| payment.notify_url.clone()),
            exclusive: false,
            fee_minor: 0,
            // §8: in the sandbox PENDING, then REFUNDED after the configured delay (the
            // sweeper); with none, REFUNDED in the commit that creates it.
            settle_after_ms: self
                .platform
                .sandbox
                .then_some(caller.settings.refund_delay_ms),
            attrs: Value::Object(attrs),
        };
        let (refund, _) = self
            .engine
            .create_refund(new)
            .await
            .map_err(errors::refund)?;
        Ok(ResponseData::Refund(refund_data(
            &refund,
            caller.settings.offset,
        )))
    }

    pub(crate) async fn query_refund(
        &self,
        caller: &Caller,
        lookup: &Lookup,
    ) -> Result<ResponseData, ApiError> {
        let found = match (&lookup.number, &lookup.merchant_trade_no) {
            (Some(no), _) => self.engine.refund_by_public_id(no).await,
            (None, Some(t)) => self.engine.refund_by_no(&caller.merchant.id, t).await,
            (None, None) => Err(EngineError::NotFound("refund")),
        };
        let r = found.map_err(|e| errors::lookup(e, "refund"))?;
        let mine = r.merchant_id == caller.merchant.id
            && r.protocol == Protocol::V2sha256
            && lookup
                .merchant_trade_no
                .as_ref()
                .is_none_or(|t| *t == r.merchant_refund_no);
        if !mine {
            return Err(ApiError::object_not_found("refund"));
        }
        Ok(ResponseData::Refund(refund_data(
            &r,
            caller.settings.offset,
        )))
    }
}

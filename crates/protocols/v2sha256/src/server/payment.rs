//! payment/create and payment/query (§5.2, §5.3).

use super::{Caller, Gateway, errors};
use crate::envelope::ApiError;
use crate::objects::{attr, payment_data};
use crate::validate::{Lookup, PaymentCreate};
use crate::wire::{Action, PaymentCreateData, PaymentStatus, ResponseData};
use polypay_core::{Currency, Money, Payment, PaymentState, Protocol};
use polypay_engine::{EngineError, NewPayment, NonceClaim};
use serde_json::{Map, Value};

impl Gateway {
    /// Creates the payment in state `created` (§5.2) with the merchant's lifetime (§8) and
    /// answers with the hosted cashier URL; `claim`, if given, is claimed in the same commit.
    pub(crate) async fn create_payment(
        &self,
        caller: &Caller,
        create: PaymentCreate,
        claim: Option<NonceClaim>,
    ) -> Result<ResponseData, ApiError> {
        let req = create.request;
        let currency = currency(&req.currency)?;
        let mut attrs = Map::new();
        attrs.insert(attr::DESCRIPTION.into(), req.description.into());
        if let Some(a) = req.merchant_attach.filter(|a| !a.is_empty()) {
            attrs.insert(attr::MERCHANT_ATTACH.into(), a.into());
        }
        attrs.insert(attr::PAYER.into(), to_value(&req.payer)?);
        attrs.insert(attr::PAY_METHOD.into(), to_value(&req.pay_method)?);
        if let Some(env) = req.trade_env {
            attrs.insert(attr::TRADE_ENV.into(), Value::Object(env));
        }
        let new = NewPayment {
            merchant_id: caller.merchant.id.clone(),
            protocol: Protocol::V2sha256,
            merchant_order_no: req.merchant_trade_no,
            public_id: String::new(),
            amount: Money::new(create.amount_minor, currency),
            notify_url: Some(req.notify_url),
            return_url: Some(req.return_url),
            ttl_seconds: caller.settings.payment_ttl_seconds,
            initial_state: PaymentState::Created,
            attrs: Value::Object(attrs),
        };
        // The payment number is drawn in the insert's own write job (one group commit).
        let number = self.numbering("PAY");
        let sequence = super::number_sequence("PAY");
        let number = move |seq, p: &mut Payment| {
            p.public_id = number(seq);
            Ok(())
        };
        let created = self
            .engine
            .create_numbered_payment(new, &sequence, 1, number, claim)
            .await;
        let p = created.map_err(errors::payment)?;
        Ok(ResponseData::PaymentCreate(PaymentCreateData {
            payment_no: p.public_id,
            merchant_trade_no: p.merchant_order_no,
            status: PaymentStatus::from_core(p.state),
            action: Action::redirect(self.platform.cashier_url(&p.cashier_token)),
        }))
    }

    pub(crate) async fn query_payment(
        &self,
        caller: &Caller,
        lookup: &Lookup,
    ) -> Result<ResponseData, ApiError> {
        let p = self.find_payment(caller, lookup).await?;
        Ok(ResponseData::Payment(payment_data(
            &p,
            caller.settings.offset,
        )))
    }

    /// The caller's v2sha256 payment named by `paymentNo` and/or `merchantTradeNo`; when both
    /// are given they must name the same payment (§5.1), else NOT_FOUND.
    pub(crate) async fn find_payment(
        &self,
        caller: &Caller,
        lookup: &Lookup,
    ) -> Result<Payment, ApiError> {
        let found = match (&lookup.number, &lookup.merchant_trade_no) {
            (Some(no), _) => self.engine.payment_by_public_id(no).await,
            (None, Some(t)) => {
                self.engine
                    .payment_by_order_no(&caller.merchant.id, t)
                    .await
            }
            (None, None) => Err(EngineError::NotFound("payment")),
        };
        let p = found.map_err(|e| errors::lookup(e, "payment"))?;
        let mine = p.merchant_id == caller.merchant.id
            && p.protocol == Protocol::V2sha256
            && lookup
                .merchant_trade_no
                .as_ref()
                .is_none_or(|t| *t == p.merchant_order_no);
        if mine {
            Ok(p)
        } else {
            Err(ApiError::object_not_found("payment"))
        }
    }
}

/// A validated currency code in the core's table (validation already checked it is enabled).
pub(super) fn currency(code: &str) -> Result<Currency, ApiError> {
    Currency::from_code(code).ok_or_else(|| ApiError::param("currency", "is not supported"))
}

/// A request part as JSON for `attrs`; serialising plain data cannot fail, but never panic.
pub(super) fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "v2sha256: request part not serialisable");
        ApiError::internal()
    })
}

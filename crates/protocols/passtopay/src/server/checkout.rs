//! What the hosted cashier asks of a PassToPay customer (spec 5.2, 5.9, 8): the Alipay method of
//! a cashier order the merchant did not pin, recorded as its `wayCode`; and for a crypto order,
//! its chain, token and a simulated deposit address.

use super::attrs::{OrderKind, PaymentAttrs};
use crate::wire::Chain;
use polypay_core::Payment;
use polypay_engine::chain::{AddressKind, sandbox_address};
use polypay_notify::{CashierAction, CashierField, CashierForm, CashierInput, CashierMarks};

/// The form field, named as the attribute it becomes.
const WAY_CODE: &str = "wayCode";

/// The methods a cashier order can be paid with, `ALI_QR` first (the default, spec 5.9).
const METHODS: [(&str, &str); 2] = [("ALI_QR", "Alipay QR"), ("ALI_WAP", "Alipay (mobile)")];

fn chooses_method(attrs: &PaymentAttrs) -> bool {
    attrs.kind == OrderKind::Cashier && attrs.way_code.is_none()
}

pub fn form(payment: &Payment) -> CashierForm {
    let attrs = PaymentAttrs::of(&payment.attrs);
    if chooses_method(&attrs) {
        let choice = CashierField::choice(WAY_CODE, "Payment method", &METHODS, Some(METHODS[0].0));
        return CashierForm {
            fields: vec![choice],
            ..CashierForm::default()
        };
    }
    if attrs.kind == OrderKind::Crypto {
        return CashierForm {
            details: deposit_details(payment, &attrs),
            ..CashierForm::default()
        };
    }
    CashierForm::default()
}

/// Pay and Fail record the chosen method: a failed attempt was made with it too.
pub fn submit(
    payment: &Payment,
    action: CashierAction,
    input: CashierInput<'_>,
) -> Result<CashierMarks, String> {
    let mut marks = CashierMarks::new();
    if action == CashierAction::Cancel || !chooses_method(&PaymentAttrs::of(&payment.attrs)) {
        return Ok(marks);
    }
    let way = input
        .get(WAY_CODE)
        .ok_or_else(|| "Choose a payment method.".to_owned())?;
    if !METHODS.iter().any(|(v, _)| *v == way) {
        return Err("Choose Alipay QR or Alipay (mobile).".into());
    }
    marks.insert(WAY_CODE.into(), way.into());
    Ok(marks)
}

fn deposit_details(payment: &Payment, attrs: &PaymentAttrs) -> Vec<(String, String)> {
    let Some(chain) = attrs.chain.as_deref().and_then(Chain::from_code) else {
        return Vec::new();
    };
    let kind = match chain {
        Chain::Tron => AddressKind::Tron,
        Chain::Ethereum | Chain::BnbChain | Chain::Polygon => AddressKind::Evm,
    };
    let token = attrs
        .token
        .clone()
        .unwrap_or_else(|| payment.amount.currency.code().to_owned());
    let seed = format!("passtopay:deposit:{}", payment.id);
    vec![
        ("Chain".into(), chain.network_name().into()),
        ("Token".into(), token),
        ("Deposit address".into(), sandbox_address(&seed, kind)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use polypay_core::{Currency, MerchantId, Money, PaymentId, PaymentState, Protocol, Timestamp};
    use polypay_engine::chain::{is_evm_address, is_tron_address};
    use serde_json::json;

    fn payment(attrs: serde_json::Value) -> Payment {
        Payment {
            id: PaymentId::from_random("1"),
            merchant_id: MerchantId::from_random("1"),
            protocol: Protocol::Passtopay,
            merchant_order_no: "o1".into(),
            public_id: "P1".into(),
            amount: Money::new(100, Currency::CNY),
            state: PaymentState::Pending,
            refunded_minor: 0,
            refund_pending_minor: 0,
            notify_url: None,
            return_url: None,
            cashier_token: "t".into(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            expires_at: Timestamp(1),
            finished_at: None,
            channel_order_no: None,
            error_code: None,
            error_message: None,
            attrs,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_unpinned_cashier_order_offers_both_methods_and_records_the_choice() {
        let p = payment(json!({"kind": "cashier"}));
        let form = form(&p);
        assert_eq!(form.fields.len(), 1);
        assert_eq!(form.fields[0].default_value(), Some("ALI_QR"));
        let chosen = pairs(&[("wayCode", "ALI_WAP")]);
        let marks = submit(&p, CashierAction::Pay, CashierInput(&chosen)).unwrap();
        assert_eq!(marks.get("wayCode"), Some(&json!("ALI_WAP")));
        let bad = pairs(&[("wayCode", "WX_NATIVE")]);
        assert!(submit(&p, CashierAction::Pay, CashierInput(&bad)).is_err());
        assert!(submit(&p, CashierAction::Fail, CashierInput(&[])).is_err());
        let cancelled = submit(&p, CashierAction::Cancel, CashierInput(&[])).unwrap();
        assert!(cancelled.is_empty(), "a cancel chooses nothing");
    }

    #[test]
    fn pinned_unified_and_crypto_orders_choose_nothing() {
        for attrs in [
            json!({"kind": "cashier", "wayCode": "ALI_WAP"}),
            json!({"kind": "unified", "wayCode": "ALI_QR"}),
        ] {
            let p = payment(attrs);
            assert_eq!(form(&p), CashierForm::default());
            let any = pairs(&[("wayCode", "ALI_QR")]);
            assert!(
                submit(&p, CashierAction::Pay, CashierInput(&any))
                    .unwrap()
                    .is_empty()
            );
        }
        let tron = payment(json!({"kind": "crypto", "chain": "0x2b6653dc", "token": "USDT"}));
        let details = form(&tron).details;
        assert_eq!(details[0], ("Chain".into(), "Tron".into()));
        assert_eq!(details[1], ("Token".into(), "USDT".into()));
        assert!(is_tron_address(&details[2].1), "{}", details[2].1);
        let eth = payment(json!({"kind": "crypto", "chain": "1", "token": "USDC"}));
        assert!(is_evm_address(&form(&eth).details[2].1));
    }
}

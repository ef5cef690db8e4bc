//! What the hosted cashier asks of an OTT Pay customer (spec §5.2, §5.3, §8): a PREPAY checkout
//! offers WeChat Pay, Alipay and UnionPay (preselected by the link's `selected`), and the chosen
//! method fixes the `bizpay_order_id` prefix; an H5PAY link may carry `redirect_url`, where the
//! browser goes when the payment ends.

use super::attrs::PaymentAttrs;
use crate::wire::Action;
use polypay_core::Payment;
use polypay_engine::random_digits;
use polypay_notify::cashier::redirect_target;
use polypay_notify::{CashierAction, CashierField, CashierForm, CashierInput, CashierMarks};

/// The form field of the PREPAY method.
const METHOD: &str = "method";
/// The link parameter that preselects it (`NONE|WECHATPAY|ALIPAY|UNIONPAY|GP`, spec §5.3).
const SELECTED: &str = "selected";
/// The H5PAY link parameter (spec §5.2), carried into the actions and recorded on the payment.
pub const REDIRECT_URL: &str = "redirect_url";

/// The sandbox's PREPAY methods (PREPAY_QUERY `payments_methods`) and their `bizpay_order_id`
/// prefixes.
const METHODS: [(&str, &str, &str); 3] = [
    ("WECHATPAY", "WeChat Pay", "WX"),
    ("ALIPAY", "Alipay", "AL"),
    ("UNIONPAY", "UnionPay", "UP"),
];

/// The preselected method: the link's `selected` when the sandbox offers it; none for `NONE`
/// and for methods it does not offer (`GP`); WeChat Pay when the link says nothing [polypay].
fn preselected(link: CashierInput<'_>) -> Option<String> {
    match link.get(SELECTED) {
        None => Some(METHODS[0].0.to_owned()),
        Some(s) => METHODS
            .iter()
            .find(|(m, _, _)| m.eq_ignore_ascii_case(s))
            .map(|(m, _, _)| (*m).to_owned()),
    }
}

fn carried(link: CashierInput<'_>, name: &str) -> Option<(String, String)> {
    link.get(name).map(|v| (name.to_owned(), v.to_owned()))
}

pub fn form(payment: &Payment, link: CashierInput<'_>) -> CashierForm {
    let Some(attrs) = PaymentAttrs::of(payment) else {
        return CashierForm::default();
    };
    if attrs.is_prepay() {
        let options: Vec<_> = METHODS.iter().map(|(v, l, _)| (*v, *l)).collect();
        let selected = preselected(link);
        let choice = CashierField::choice(METHOD, "Payment method", &options, selected.as_deref());
        return CashierForm {
            fields: vec![choice],
            carried: carried(link, SELECTED).into_iter().collect(),
            ..CashierForm::default()
        };
    }
    let redirect = link.get(REDIRECT_URL).and_then(redirect_target);
    if let Some(url) = redirect.filter(|_| attrs.action == Action::H5Pay.as_str()) {
        return CashierForm {
            carried: vec![(REDIRECT_URL.to_owned(), url)],
            ..CashierForm::default()
        };
    }
    CashierForm::default()
}

/// PREPAY Pay/Fail: the chosen method's `bizpay_order_id` (spec §8). H5PAY, any outcome: the
/// link's `redirect_url`, if it is an http(s) URL.
pub fn submit(
    payment: &Payment,
    action: CashierAction,
    input: CashierInput<'_>,
) -> Result<CashierMarks, String> {
    let mut marks = CashierMarks::new();
    let Some(attrs) = PaymentAttrs::of(payment) else {
        return Ok(marks);
    };
    if attrs.action == Action::H5Pay.as_str() {
        if let Some(url) = input.get(REDIRECT_URL).and_then(redirect_target) {
            marks.insert(REDIRECT_URL.into(), url.into());
        }
        return Ok(marks);
    }
    if !attrs.is_prepay() || action == CashierAction::Cancel {
        return Ok(marks);
    }
    let chosen = input
        .get(METHOD)
        .ok_or_else(|| "Choose a payment method.".to_owned())?;
    let Some((_, _, prefix)) = METHODS.iter().find(|(m, _, _)| *m == chosen) else {
        return Err("Choose WeChat Pay, Alipay or UnionPay.".into());
    };
    let id = format!("{prefix}{}", random_digits(16));
    marks.insert("bizpay_order_id".into(), id.into());
    Ok(marks)
}

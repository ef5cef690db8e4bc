//! What the hosted cashier asks of a V2_SHA256 customer (spec §8): a UPI-style page, whatever
//! the payment's `payMethod.type`, where the payer enters a UPI id (VPA) beside the QR. The VPA
//! is checked, not stored: the spec reports none.

use polypay_notify::{CashierAction, CashierField, CashierForm, CashierInput, CashierMarks};

const VPA: &str = "vpa";

pub fn form() -> CashierForm {
    CashierForm {
        fields: vec![CashierField::Text {
            name: VPA,
            label: "UPI ID (VPA)",
            value: "payer@upi".into(),
            hint: "name@bank; or scan the QR code with a UPI app",
            autocomplete: "off",
        }],
        ..CashierForm::default()
    }
}

pub fn submit(action: CashierAction, input: CashierInput<'_>) -> Result<CashierMarks, String> {
    if action != CashierAction::Cancel && !is_vpa(input.get(VPA).unwrap_or("").trim()) {
        return Err("Enter a UPI ID such as name@bank.".into());
    }
    Ok(CashierMarks::new())
}

/// NPCI's shape: a handle of 2–256 letters, digits, `.`, `-`, `_`, then `@` and a 2–64 letter
/// provider name.
fn is_vpa(text: &str) -> bool {
    let Some((handle, provider)) = text.split_once('@') else {
        return false;
    };
    (2..=256).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && (2..=64).contains(&provider.len())
        && provider.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpas() {
        for good in ["payer@upi", "asha.k-1_2@okaxis"] {
            assert!(is_vpa(good), "{good}");
        }
        for bad in [
            "payer",
            "@upi",
            "p@u",
            "a@upi",
            "payer@upi@x",
            "pay er@upi",
            "payer@up1",
        ] {
            assert!(!is_vpa(bad), "{bad}");
        }
        let pairs = vec![("vpa".to_string(), "nope".to_string())];
        assert!(submit(CashierAction::Pay, CashierInput(&pairs)).is_err());
        assert!(submit(CashierAction::Cancel, CashierInput(&pairs)).is_ok());
        assert_eq!(form().fields[0].default_value(), Some("payer@upi"));
    }
}

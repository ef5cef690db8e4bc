//! What the hosted cashier asks of a 33 Fintech customer (spec §8): a test card form, and when
//! the order's `skip3ds` is `False` a simulated 3-D Secure step before the pay / fail / cancel
//! choice. Nothing of the card is stored: the form is checked and forgotten.

use crate::order_record::OrderAttrs;
use polypay_core::{Payment, Timestamp};
use polypay_notify::{
    CashierAction, CashierChallenge, CashierField, CashierForm, CashierInput, CashierMarks,
};

const NUMBER: &str = "card_number";
const EXPIRY: &str = "card_expiry";
const CVC: &str = "card_cvc";
const NAME: &str = "card_name";
const OTP: &str = "otp";

fn text(
    name: &'static str,
    label: &'static str,
    value: &str,
    hint: &'static str,
    autocomplete: &'static str,
) -> CashierField {
    CashierField::Text {
        name,
        label,
        value: value.to_owned(),
        hint,
        autocomplete,
    }
}

/// Whether the order asks for the 3-D Secure step (an unreadable record asks for it).
fn wants_3ds(payment: &Payment) -> bool {
    OrderAttrs::of(payment).map_or(true, |a| !a.skip3ds)
}

pub fn form(payment: &Payment) -> CashierForm {
    let fields = vec![
        text(
            NUMBER,
            "Card number",
            "4242 4242 4242 4242",
            "Sandbox: any number that passes the Luhn check",
            "cc-number",
        ),
        text(EXPIRY, "Expiry (MM/YY)", "12/34", "", "cc-exp"),
        text(CVC, "CVC", "123", "3 or 4 digits", "cc-csc"),
        text(NAME, "Name on card", "Sandbox Payer", "", "cc-name"),
    ];
    let challenge = wants_3ds(payment).then(|| CashierChallenge {
        title: "3-D Secure",
        text: "Your card issuer asks you to confirm this payment with the code it sent you.",
        field: text(
            OTP,
            "Verification code",
            "",
            "Sandbox: any 6 digits",
            "one-time-code",
        ),
    });
    CashierForm {
        fields,
        challenge,
        ..CashierForm::default()
    }
}

/// Checks the card (and on Pay the 3-D Secure code); records nothing. `now` is the customer's
/// month for the expiry check.
pub fn submit(
    payment: &Payment,
    action: CashierAction,
    input: CashierInput<'_>,
    now: Timestamp,
) -> Result<CashierMarks, String> {
    if action == CashierAction::Cancel {
        return Ok(CashierMarks::new());
    }
    let field = |name| input.get(name).unwrap_or("").trim();
    check_number(field(NUMBER))?;
    check_expiry(field(EXPIRY), now)?;
    if !(3..=4).contains(&field(CVC).len()) || !field(CVC).bytes().all(|b| b.is_ascii_digit()) {
        return Err("Enter the card's 3 or 4 digit security code.".into());
    }
    if field(NAME).is_empty() || field(NAME).chars().count() > 80 {
        return Err("Enter the name on the card.".into());
    }
    if action == CashierAction::Pay && wants_3ds(payment) {
        let otp = field(OTP);
        if otp.len() != 6 || !otp.bytes().all(|b| b.is_ascii_digit()) {
            return Err("Enter the 6-digit verification code.".into());
        }
    }
    Ok(CashierMarks::new())
}

/// 12–19 digits (spaces and dashes allowed between them) with a valid Luhn check digit.
fn check_number(text: &str) -> Result<(), String> {
    let digits: Vec<u32> = text
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    let luhn = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (1, double) if double > 9 => double - 9,
            (1, double) => double,
            _ => d,
        })
        .sum::<u32>();
    if (12..=19).contains(&digits.len()) && luhn % 10 == 0 {
        Ok(())
    } else {
        Err("Enter a valid card number.".into())
    }
}

/// `MM/YY` or `MM/YYYY`, not before the current month (UTC).
fn check_expiry(text: &str, now: Timestamp) -> Result<(), String> {
    let bad = || "Enter the card's expiry as MM/YY.".to_owned();
    let (month, year) = text.split_once('/').ok_or_else(bad)?;
    let month: i16 = month.trim().parse().map_err(|_| bad())?;
    let year = year.trim();
    let year: i16 = match year.len() {
        2 => 2000 + year.parse::<i16>().map_err(|_| bad())?,
        4 => year.parse().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month) {
        return Err(bad());
    }
    let today = jiff::Timestamp::from_millisecond(now.millis())
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
        .map_err(|_| bad())?;
    if (year, month) < (today.year(), i16::from(today.month())) {
        return Err("This card has expired.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-06T00:00:00Z.
    const NOW: Timestamp = Timestamp(1_796_515_200_000);

    #[test]
    fn card_numbers_need_the_luhn_digit() {
        for good in [
            "4242 4242 4242 4242",
            "5555-5555-5555-4444",
            "378282246310005",
        ] {
            assert_eq!(check_number(good), Ok(()), "{good}");
        }
        for bad in [
            "4242 4242 4242 4241",
            "4242",
            "",
            "4242 4242 4242 424x",
            "0".repeat(20).as_str(),
        ] {
            assert!(check_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_is_this_month_or_later() {
        assert_eq!(check_expiry("12/26", NOW), Ok(()));
        assert_eq!(check_expiry("01/2027", NOW), Ok(()));
        assert_eq!(
            check_expiry("11/26", NOW),
            Err("This card has expired.".into())
        );
        for bad in ["13/30", "00/30", "1230", "12/3", "ab/cd"] {
            assert!(check_expiry(bad, NOW).is_err(), "{bad}");
        }
    }
}

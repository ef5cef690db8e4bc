//! W, a link without `amount`: the amount page's `POST /cashier` (fields `link` and `amount`)
//! re-verifies the link exactly as `GET /cashier` does and reads the typed amount as a link's.

mod common;

use common::{API_KEY, NOW, Req, SECRET};
use polypay_blockatm::amount::Amount;
use polypay_blockatm::inbound::{
    AMOUNT_FORM_MAX_BYTES, AmountForm, AmountProblem, InboundError, Request, WidgetErrorCode,
    typed_amount,
};
use polypay_blockatm::sign::widget::{form_encode, sign_query_v2};

const FORM: &str = "application/x-www-form-urlencoded";

/// A link query signed with the merchant's secret.
fn signed(query: &str) -> String {
    sign_query_v2(query, SECRET)
}

/// The amount-less link most tests post.
fn link() -> String {
    signed(&format!(
        "apiKey={API_KEY}&custNo=C%2086002201&orderNo=W-FORM&chainId=ETH&defaultCurrency=USDC&redirectURL=https%3A%2F%2Fshop.example%2Fdone%3Fa%3D1%26b%3D2"
    ))
}

/// The form body a browser sends for `fields`.
fn body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn post(body: &str) -> Result<Request, InboundError> {
    post_as(FORM, body, NOW)
}

fn post_as(content_type: &str, body: &str, now: u64) -> Result<Request, InboundError> {
    Req::new("POST", "/cashier", &[("Content-Type", content_type)], body)
        .parse_at(now)
        .map(|inbound| inbound.request)
}

fn form(body: &str) -> AmountForm {
    match post(body) {
        Ok(Request::CashierAmount(form)) => form,
        other => panic!("expected the amount form, got {other:?}"),
    }
}

/// The widget error of a refused POST: its code and detail.
fn refused(result: Result<Request, InboundError>) -> (WidgetErrorCode, &'static str) {
    match result {
        Err(InboundError::Widget(error)) => (error.code, error.detail),
        other => panic!("expected a widget error, got {other:?}"),
    }
}

#[test]
fn the_form_carries_a_verified_link_and_the_typed_amount() {
    let link = link();
    let posted = form(&body(&[("link", &link), ("amount", "12.5")]));
    assert_eq!(posted.amount, Ok(Amount::from_micros(12_500_000)));
    assert_eq!(posted.typed, "12.5");
    let page = &posted.page;
    assert_eq!(page.link, link, "the raw query, exactly as signed");
    assert_eq!(page.amount, None);
    assert_eq!(page.cust_no, "C 86002201");
    assert_eq!(page.order_no.as_deref(), Some("W-FORM"));
    assert_eq!(page.chain_id.as_deref(), Some("1"));
    assert_eq!(page.default_currency.as_deref(), Some("USDC"));
    assert_eq!(
        page.redirect_url.as_deref(),
        Some("https://shop.example/done?a=1&b=2")
    );
    // The link the GET parses is the same page.
    let Ok(Request::Cashier(got)) = Req::new("GET", &format!("/cashier?{link}"), &[], "")
        .parse()
        .map(|i| i.request)
    else {
        panic!("the GET of the link")
    };
    assert_eq!(&got, page);
    // Field order does not matter; a charset parameter on the type is fine; blanks around the
    // amount are ignored.
    let reordered = body(&[("amount", " 0.000001 "), ("link", &link)]);
    let Ok(Request::CashierAmount(small)) = post_as(
        "application/x-www-form-urlencoded; charset=UTF-8",
        &reordered,
        NOW,
    ) else {
        panic!("reordered form")
    };
    assert_eq!(small.amount, Ok(Amount::from_micros(1)));
    assert_eq!(small.typed, " 0.000001 ");
}

#[test]
fn the_link_is_checked_as_the_get_checks_it() {
    let link = link();
    // A link with its own amount does not take a typed one.
    let fixed = signed(&format!("apiKey={API_KEY}&custNo=C1&amount=5"));
    assert_eq!(
        refused(post(&body(&[("link", &fixed), ("amount", "12.5")]))),
        (WidgetErrorCode::Parameter, "amount")
    );
    // Forged: a parameter changed after signing, or no signature at all.
    let forged = link.replace("orderNo=W-FORM", "orderNo=W-OTHER");
    assert_eq!(
        refused(post(&body(&[("link", &forged), ("amount", "12.5")]))).0,
        WidgetErrorCode::Signature
    );
    let unsigned = format!("apiKey={API_KEY}&custNo=C1");
    assert_eq!(
        refused(post(&body(&[("link", &unsigned), ("amount", "1")]))),
        (WidgetErrorCode::Signature, "signature missing")
    );
    // Expired: `et` passed by the time the form is sent.
    let expiring = signed(&format!("apiKey={API_KEY}&custNo=C1&et={}", NOW + 60_000));
    let sent = body(&[("link", &expiring), ("amount", "1")]);
    assert!(post_as(FORM, &sent, NOW + 60_000).is_ok());
    assert_eq!(
        refused(post_as(FORM, &sent, NOW + 60_001)),
        (WidgetErrorCode::Expired, "et")
    );
    // Unknown key, other parameters.
    let nobody = signed("apiKey=pk_payment_nobody&custNo=C1");
    assert_eq!(
        refused(post(&body(&[("link", &nobody), ("amount", "1")]))).0,
        WidgetErrorCode::CashierNotFound
    );
    let bad_lang = signed(&format!("apiKey={API_KEY}&custNo=C1&lang=fr-FR"));
    assert_eq!(
        refused(post(&body(&[("link", &bad_lang), ("amount", "1")]))),
        (WidgetErrorCode::Parameter, "lang")
    );
}

#[test]
fn only_a_small_form_with_one_link_is_read() {
    let link = link();
    let ok = body(&[("link", &link), ("amount", "1")]);
    assert_eq!(
        refused(post_as("application/json", &ok, NOW)),
        (WidgetErrorCode::Parameter, "body")
    );
    assert_eq!(
        refused(post(&body(&[("amount", "1")]))),
        (WidgetErrorCode::Parameter, "link")
    );
    assert_eq!(
        refused(post(&body(&[("link", ""), ("amount", "1")]))),
        (WidgetErrorCode::Parameter, "link")
    );
    assert_eq!(
        refused(post(&body(&[
            ("link", &link),
            ("link", &link),
            ("amount", "1")
        ]))),
        (WidgetErrorCode::Parameter, "link")
    );
    let padding = "x".repeat(AMOUNT_FORM_MAX_BYTES);
    let huge = body(&[("link", &link), ("amount", "1"), ("pad", &padding)]);
    assert_eq!(refused(post(&huge)), (WidgetErrorCode::Parameter, "body"));
    // Refusals render the widget error page with the code.
    let Err(InboundError::Widget(error)) = post(&huge) else {
        panic!("refused")
    };
    let page = error.render();
    assert_eq!(page.status, 400);
    assert!(
        String::from_utf8(page.body)
            .unwrap()
            .contains("data-code=\"1001\"")
    );
}

#[test]
fn a_typed_amount_follows_the_links_amount_rules() {
    let link = link();
    let cases = [
        ("", AmountProblem::Missing),
        ("   ", AmountProblem::Missing),
        ("0", AmountProblem::NotPositive),
        ("0.000000", AmountProblem::NotPositive),
        ("-5", AmountProblem::NotPositive),
        ("-0.5", AmountProblem::NotPositive),
        ("1.1234567", AmountProblem::Precision),
        ("abc", AmountProblem::Format),
        ("12,5", AmountProblem::Format),
        ("1e3", AmountProblem::Format),
        ("+5", AmountProblem::Format),
        ("<b>5</b>", AmountProblem::Format),
        // Past u64 millionths, and past what a payment holds (i64 millionths).
        ("99999999999999999999", AmountProblem::TooLarge),
        ("10000000000000", AmountProblem::TooLarge),
    ];
    for (typed, problem) in cases {
        assert_eq!(typed_amount(typed), Err(problem), "{typed:?}");
        let posted = form(&body(&[("link", &link), ("amount", typed)]));
        assert_eq!(posted.amount, Err(problem), "{typed:?}");
        assert_eq!(posted.typed, typed, "kept as typed");
    }
    // No amount field at all reads as nothing typed.
    assert_eq!(
        form(&body(&[("link", &link)])).amount,
        Err(AmountProblem::Missing)
    );
    // The largest amount a payment holds, and trailing zeros past the 6th decimal.
    assert_eq!(
        typed_amount("9223372036854.775807"),
        Ok(Amount::from_micros(i64::MAX as u64))
    );
    assert_eq!(
        typed_amount("9223372036854.775808"),
        Err(AmountProblem::TooLarge)
    );
    assert_eq!(
        typed_amount("1.50000000"),
        Ok(Amount::from_micros(1_500_000))
    );
    assert!(AmountProblem::Precision.message("USDT").contains("USDT"));
}

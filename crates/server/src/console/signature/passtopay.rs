//! PassToPay (spec §3.1): the parameters of the pasted request, the entry-string sort and
//! `key=<appSecret>`, MD5. The request carries no string-to-sign, so the one it implies is found
//! by trying the usual mistakes against its `sign`.

use super::Pasted;
use super::report::{KeyUse, Masker, Report};
use polypay_core::{Merchant, Protocol};
use polypay_passtopay::MerchantSettings;
use polypay_passtopay::params::Params;
use polypay_passtopay::sign::{
    SIGN, java_case_insensitive_cmp, md5_upper_hex, signatures_match, string_to_sign,
};

fn params(p: &Pasted) -> Result<Params, String> {
    Params::from_request(
        p.header("content-type"),
        &p.body,
        p.query.as_deref().unwrap_or(""),
    )
    .map_err(|e| e.to_string())
}

/// The merchant number the request names.
pub fn key_id(p: &Pasted) -> Option<String> {
    params(p).ok()?.text("mchNo").map(str::to_string)
}

/// `entries` as `name=value&`, ordered by `cmp`, then `tail`.
fn joined(
    entries: &[(&str, &str)],
    cmp: fn(&str, &str) -> std::cmp::Ordering,
    tail: &str,
) -> String {
    let mut parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}={v}&")).collect();
    parts.sort_by(|a, b| cmp(a, b));
    parts.concat() + tail
}

/// Strings a merchant's code commonly signs instead of the right one.
fn variants(all: &[(&str, &str)], secret: &str) -> Vec<(String, String)> {
    let kept: Vec<(&str, &str)> = all
        .iter()
        .copied()
        .filter(|(k, v)| *k != SIGN && !v.is_empty())
        .collect();
    let with_empty: Vec<(&str, &str)> = all.iter().copied().filter(|(k, _)| *k != SIGN).collect();
    let key = format!("key={secret}");
    let by_name = {
        let mut sorted = kept.clone();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted
            .iter()
            .map(|(k, v)| format!("{k}={v}&"))
            .collect::<String>()
            + &key
    };
    let plain = |a: &str, b: &str| a.cmp(b);
    vec![
        (
            "empty parameters included".into(),
            joined(&with_empty, java_case_insensitive_cmp, &key),
        ),
        (
            "entries sorted case-sensitively".into(),
            joined(&kept, plain, &key),
        ),
        ("sorted by bare parameter name".into(), by_name),
        (
            "the sign parameter included".into(),
            joined(all, java_case_insensitive_cmp, &key),
        ),
        (
            "the secret appended without \"key=\"".into(),
            joined(&kept, java_case_insensitive_cmp, secret),
        ),
        (
            "the secret appended as \"&key=\"".into(),
            joined(&kept, java_case_insensitive_cmp, &format!("&{key}")),
        ),
        (
            "no secret appended".into(),
            joined(&kept, java_case_insensitive_cmp, ""),
        ),
    ]
}

/// `reqTime` (10 or 13 digits) against now and the merchant's window option.
fn window(params: &Params, m: &Merchant, now_ms: i64) -> (bool, String) {
    let settings = MerchantSettings::from_json(
        m.settings
            .get("passtopay")
            .unwrap_or(&serde_json::Value::Null),
    );
    let Some(text) = params.text("reqTime") else {
        return (false, "reqTime is missing".into());
    };
    let ms = match (text.len(), text.parse::<i64>()) {
        (10, Ok(s)) if text.bytes().all(|b| b.is_ascii_digit()) => s * 1000,
        (13, Ok(ms)) if text.bytes().all(|b| b.is_ascii_digit()) => ms,
        _ => return (false, format!("reqTime {text:?} is not 10 or 13 digits")),
    };
    let skew = (now_ms - ms).abs() / 1000;
    let limit = i64::try_from(settings.req_time_window_secs).unwrap_or(i64::MAX);
    let within = skew <= limit;
    let when = super::super::layout::time(polypay_core::Timestamp(ms));
    let rule = if settings.enforce_req_time {
        format!("this merchant enforces ±{limit} s")
    } else {
        format!("not enforced for this merchant (the window would be ±{limit} s)")
    };
    let verdict = if within { "within" } else { "outside" };
    (
        within || !settings.enforce_req_time,
        format!("reqTime {when} is {skew} s from now: {verdict}; {rule}"),
    )
}

pub fn analyze(p: &Pasted, m: &Merchant) -> Report {
    let mut r = Report::new(Protocol::Passtopay, Some(m));
    let creds = &m.credentials.passtopay;
    let secret = creds.app_secret.expose();
    let mask = Masker::new(&[(secret, "appSecret")]);
    r.keys.push(KeyUse::new(
        format!("appSecret of appId {}", creds.app_id),
        secret.as_bytes(),
    ));
    let params = match params(p) {
        Ok(params) => params,
        Err(e) => return r.unchecked(format!("The body cannot be read as parameters: {e}.")),
    };
    if params.text("appId").is_some_and(|a| a != creds.app_id) {
        r.note(format!(
            "appId {:?} is not this merchant's ({}); polypay would refuse it.",
            params.text("appId").unwrap_or(""),
            creds.app_id
        ));
    }
    if params
        .text("signType")
        .is_some_and(|t| !t.eq_ignore_ascii_case("MD5"))
    {
        r.note("signType must be MD5.");
    }
    r.window = Some(window(&params, m, p.now_ms));
    let all: Vec<(&str, &str)> = params.iter().collect();
    let expected = string_to_sign(all.iter().copied(), secret);
    r.expected = Some(mask.mask(&expected));
    let Some(presented) = params.text(SIGN).filter(|s| !s.is_empty()) else {
        return r.unchecked("The request carries no sign parameter.");
    };
    let matches = |text: &str| signatures_match(&md5_upper_hex(text), presented);
    let ok = matches(&expected);
    r.conclude(
        ok,
        variants(&all, secret),
        matches,
        p.signed.as_deref(),
        &mask,
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_mistakes_are_distinct_strings() {
        let all = [
            ("mchNo", "M1"),
            ("amount", "100"),
            ("extra", ""),
            ("sign", "X"),
        ];
        let v = variants(&all, "K");
        assert_eq!(v[0].1, "amount=100&extra=&mchNo=M1&key=K");
        assert_eq!(v[4].1, "amount=100&mchNo=M1&K");
        let texts: std::collections::HashSet<&str> = v.iter().map(|(_, t)| t.as_str()).collect();
        assert!(texts.len() >= 5);
    }
}

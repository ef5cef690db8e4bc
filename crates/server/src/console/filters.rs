//! The filters of the console's lists (merchant, protocol, state, time range, order number, page):
//! parsed leniently from the query string into a store [`ListFilter`], and rendered back as a
//! form that keeps what was asked. A value that does not parse is ignored and reported.

use super::layout::{escape, url_encode};
use polypay_core::{Merchant, MerchantId, Protocol, Timestamp};
use polypay_store::console::ListFilter;
use serde::Deserialize;

/// Rows per page.
pub const PAGE_SIZE: i64 = 50;

/// The raw query; every field is text so a typo never turns into a rejection page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub merchant: String,
    pub protocol: String,
    pub state: String,
    pub from: String,
    pub to: String,
    pub number: String,
    pub page: String,
}

/// A parsed query: the store filter, the page, what was ignored, and the query to keep in links.
pub struct Parsed {
    pub filter: ListFilter,
    pub page: i64,
    pub problems: Vec<String>,
    /// The filter as a query string without `page`, for pager links.
    pub query: String,
}

/// A local date (`2025-05-26`, the whole day) or date and time (`2025-05-26T14:03`) in the
/// server's time zone. `end` makes a bare date mean the end of that day.
pub fn parse_local(text: &str, end: bool) -> Option<Timestamp> {
    let tz = jiff::tz::TimeZone::system();
    let civil = match text.parse::<jiff::civil::DateTime>() {
        Ok(dt) if text.len() > 10 => dt,
        _ => {
            let date = text.parse::<jiff::civil::Date>().ok()?;
            let date = if end { date.tomorrow().ok()? } else { date };
            date.to_datetime(jiff::civil::Time::midnight())
        }
    };
    let zoned = civil.to_zoned(tz).ok()?;
    Some(Timestamp(zoned.timestamp().as_millisecond()))
}

fn nonempty(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// Parses `q` for a list whose objects can be in `states`.
pub fn parse(q: &ListQuery, states: &[&str]) -> Parsed {
    let mut problems = Vec::new();
    let mut filter = ListFilter {
        limit: PAGE_SIZE,
        ..ListFilter::default()
    };
    filter.merchant_id = nonempty(&q.merchant).map(|m| MerchantId(m.to_string()));
    if let Some(p) = nonempty(&q.protocol) {
        filter.protocol = Protocol::parse(p);
        if filter.protocol.is_none() {
            problems.push(format!("unknown protocol {p:?}"));
        }
    }
    if let Some(s) = nonempty(&q.state) {
        if states.contains(&s) {
            filter.state = Some(s.to_string());
        } else {
            problems.push(format!("unknown state {s:?}"));
        }
    }
    for (text, end, slot) in [
        (&q.from, false, &mut filter.created_from),
        (&q.to, true, &mut filter.created_before),
    ] {
        if let Some(t) = nonempty(text) {
            *slot = parse_local(t, end);
            if slot.is_none() {
                problems.push(format!("not a date or time: {t:?}"));
            }
        }
    }
    filter.number = nonempty(&q.number).map(str::to_string);
    let page = nonempty(&q.page)
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0)
        .clamp(0, 100_000);
    filter.offset = page * PAGE_SIZE;
    Parsed {
        filter,
        page,
        problems,
        query: keep(q),
    }
}

/// The filter part of the query (no page), URL-encoded.
fn keep(q: &ListQuery) -> String {
    [
        ("merchant", &q.merchant),
        ("protocol", &q.protocol),
        ("state", &q.state),
        ("from", &q.from),
        ("to", &q.to),
        ("number", &q.number),
    ]
    .iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| format!("{k}={}", url_encode(v.trim())))
    .collect::<Vec<_>>()
    .join("&")
}

fn select(name: &str, label: &str, current: &str, options: &[(String, String)]) -> String {
    let mut out = format!(
        "<label>{label}<select name=\"{name}\" id=\"filter-{name}\"><option value=\"\">any</option>"
    );
    for (value, text) in options {
        let selected = if value == current { " selected" } else { "" };
        out.push_str(&format!(
            "<option value=\"{}\"{selected}>{}</option>",
            escape(value),
            escape(text)
        ));
    }
    out.push_str("</select></label>");
    out
}

/// The filter form of a list at `path`.
pub fn form(
    path: &str,
    q: &ListQuery,
    merchants: &[Merchant],
    states: &[&str],
    number: &str,
) -> String {
    let merchant_options: Vec<(String, String)> = merchants
        .iter()
        .map(|m| (m.id.to_string(), format!("{} ({})", m.name, m.id)))
        .collect();
    let protocols: Vec<(String, String)> = Protocol::ALL
        .iter()
        .map(|p| (p.as_str().to_string(), p.as_str().to_string()))
        .collect();
    let state_options: Vec<(String, String)> = states
        .iter()
        .map(|s| (s.to_string(), s.to_string()))
        .collect();
    let input = |name: &str, label: &str, kind: &str, value: &str| {
        format!(
            "<label>{label}<input type=\"{kind}\" name=\"{name}\" id=\"filter-{name}\" value=\"{}\"></label>",
            escape(value)
        )
    };
    format!(
        "<form class=\"filters card\" method=\"get\" action=\"{path}\">{}{}{}{}{}{}\
         <button class=\"primary\" type=\"submit\" id=\"filter-apply\">Filter</button> <a href=\"{path}\">clear</a></form>",
        input("number", number, "search", &q.number),
        select("merchant", "Merchant", q.merchant.trim(), &merchant_options),
        select("protocol", "Protocol", q.protocol.trim(), &protocols),
        select("state", "State", q.state.trim(), &state_options),
        input("from", "Created from", "datetime-local", &q.from),
        input("to", "until", "datetime-local", &q.to),
    )
}

/// Notices for ignored filter values.
pub fn problems(p: &Parsed) -> String {
    p.problems
        .iter()
        .map(|e| format!("<div class=\"notice warn\">Ignored: {}</div>", escape(e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_reported_and_ignored() {
        let q = ListQuery {
            protocol: "nope".into(),
            state: "succeeded".into(),
            from: "2025-01-02".into(),
            to: "yesterday".into(),
            number: " o-1 ".into(),
            page: "2".into(),
            ..ListQuery::default()
        };
        let p = parse(&q, &["succeeded"]);
        assert_eq!(p.filter.protocol, None);
        assert_eq!(p.filter.state.as_deref(), Some("succeeded"));
        assert!(p.filter.created_from.is_some());
        assert_eq!(p.filter.created_before, None);
        assert_eq!(p.filter.number.as_deref(), Some("o-1"));
        assert_eq!((p.page, p.filter.offset), (2, 2 * PAGE_SIZE));
        assert_eq!(p.problems.len(), 2);
        assert!(p.query.contains("number=o-1") && !p.query.contains("page"));
    }

    #[test]
    fn a_bare_end_date_covers_the_whole_day() {
        let from = parse_local("2025-01-02", false).unwrap();
        let to = parse_local("2025-01-02", true).unwrap();
        assert_eq!(to.0 - from.0, 86_400_000);
        let minute = parse_local("2025-01-02T10:30", false).unwrap();
        assert_eq!(minute.0 - from.0, 37_800_000);
    }
}

//! Field validation of every action's data (spec §5), in the order of spec §4: the data
//! `merchant_id` (row 11), then every required field's presence (row 12), then each field's
//! format in table order (row 13).

use crate::data::{DataObject, DataValue};
use crate::envelope::OttError;
use crate::inbound::{
    ActivePay, Credentials, ExRateQuery, H5Pay, PrepayInit, PrepayQuery, Refund, StatusQuery,
};
use crate::wire::{self, BizType, Currency, RateTable};

/// Longest accepted URL (spec §5).
const MAX_URL_LEN: usize = 512;
/// Longest PREPAY `duration`: 30 days in seconds (spec §5.3).
const MAX_DURATION_SECS: u32 = 2_592_000;

/// Typed access to a decrypted data object. `null` counts as absent; an empty string is absent
/// for optional fields and missing for required ones.
pub struct Fields<'a> {
    object: &'a DataObject,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a DataObject) -> Fields<'a> {
        Fields { object }
    }

    fn value(&self, name: &str) -> Option<&'a DataValue> {
        self.object.get(name).filter(|v| **v != DataValue::Null)
    }

    fn is_blank(&self, name: &str) -> bool {
        match self.value(name) {
            None => true,
            Some(DataValue::Str(text)) => text.is_empty(),
            Some(_) => false,
        }
    }

    /// Row 12: every listed field present and non-empty, checked in the given order.
    fn require(&self, names: &[&str]) -> Result<(), OttError> {
        match names.iter().find(|name| self.is_blank(name)) {
            Some(name) => Err(OttError::missing(name)),
            None => Ok(()),
        }
    }

    /// A string field; `None` when absent or empty; a non-string is invalid.
    fn text(&self, name: &str) -> Result<Option<&'a str>, OttError> {
        match self.value(name) {
            None => Ok(None),
            Some(DataValue::Str(text)) if text.is_empty() => Ok(None),
            Some(DataValue::Str(text)) => Ok(Some(text)),
            Some(_) => Err(OttError::invalid(name)),
        }
    }

    /// A required string field (presence already checked by `require`).
    fn required_text(&self, name: &str) -> Result<&'a str, OttError> {
        self.text(name)?.ok_or_else(|| OttError::missing(name))
    }

    /// A field that may be a string or a JSON number: its text as written.
    fn numeric_text(&self, name: &str) -> Result<Option<&'a str>, OttError> {
        match self.value(name) {
            Some(DataValue::Number(token)) => Ok(Some(token)),
            _ => self.text(name),
        }
    }

    /// A required amount in cents (spec §5): a string or JSON integer, `^[1-9][0-9]{0,15}$`.
    fn amount(&self, name: &str) -> Result<u64, OttError> {
        let text = self
            .numeric_text(name)?
            .ok_or_else(|| OttError::missing(name))?;
        wire::parse_cents(text).ok_or_else(|| OttError::invalid(name))
    }

    /// A field checked by `valid`; `None` when absent or empty.
    fn optional(
        &self,
        name: &str,
        valid: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, OttError> {
        match self.text(name)? {
            Some(text) if valid(text) => Ok(Some(text.to_owned())),
            Some(_) => Err(OttError::invalid(name)),
            None => Ok(None),
        }
    }

    /// A required field checked by `valid`.
    fn checked(&self, name: &str, valid: impl Fn(&str) -> bool) -> Result<String, OttError> {
        self.optional(name, valid)?
            .ok_or_else(|| OttError::missing(name))
    }

    /// Row 11: a data `merchant_id` must equal the level-1 one.
    pub fn check_merchant_id(&self, level1: &str) -> Result<(), OttError> {
        match self.text("merchant_id")? {
            Some(inner) if inner != level1 => Err(OttError::invalid("merchant_id")),
            _ => Ok(()),
        }
    }

    fn operator_id(&self, merchant: &Credentials) -> Result<String, OttError> {
        let allowed = |id: &str| {
            merchant
                .operator_ids
                .as_ref()
                .is_none_or(|list| list.iter().any(|op| op == id))
        };
        self.checked("operator_id", |id| printable(id, 32) && allowed(id))
    }

    fn currency(&self, merchant: &Credentials) -> Result<Option<Currency>, OttError> {
        let Some(text) = self.text("currency_type")? else {
            return Ok(None);
        };
        match Currency::parse(text) {
            Some(currency) if merchant.currencies.contains(&currency) => Ok(Some(currency)),
            _ => Err(OttError::invalid("currency_type")),
        }
    }

    fn required_currency(&self, merchant: &Credentials) -> Result<Currency, OttError> {
        self.currency(merchant)?
            .ok_or_else(|| OttError::missing("currency_type"))
    }

    fn biz_type(&self, allowed: &[BizType]) -> Result<BizType, OttError> {
        let text = self.required_text("biz_type")?;
        BizType::parse(text)
            .filter(|biz| allowed.contains(biz))
            .ok_or_else(|| OttError::invalid("biz_type"))
    }

    /// ACTIVEPAY's tip: `tip` or the documented typo `Tip`, not both (spec §5.1).
    fn tip(&self) -> Result<u64, OttError> {
        let name = match (self.value("tip").is_some(), self.value("Tip").is_some()) {
            (true, true) => return Err(OttError::invalid("tip")),
            (false, true) => "Tip",
            _ => "tip",
        };
        match self.numeric_text(name)? {
            None => Ok(0),
            Some(text) => wire::parse_tip_cents(text).ok_or_else(|| OttError::invalid(name)),
        }
    }

    fn stored(&self, name: &str) -> Result<Option<String>, OttError> {
        Ok(self.text(name)?.map(str::to_owned))
    }
}

/// `^[A-Za-z0-9_-]{1,max}$`: OTT order ids (32) and prepay order ids (64).
fn order_id_chars(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// 1..=max printable ASCII characters (space through tilde).
fn printable(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len()) && text.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// At most `max` characters (not bytes).
fn short(text: &str, max: usize) -> bool {
    text.chars().count() <= max
}

/// An absolute http/https URL of at most 512 characters (spec §5). The `url` crate silently drops
/// tabs/newlines and accepts `http:host`, so the raw text is checked first.
fn absolute_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
    let clean = text.chars().all(|c| !c.is_whitespace() && !c.is_control());
    scheme_ok
        && clean
        && text.chars().count() <= MAX_URL_LEN
        && url::Url::parse(text).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

fn order_id(text: &str) -> bool {
    order_id_chars(text, 32)
}

pub fn active_pay(f: &Fields<'_>, merchant: &Credentials) -> Result<ActivePay, OttError> {
    f.require(&["operator_id", "amount", "biz_type", "call_back_url"])?;
    Ok(ActivePay {
        order_id: f.optional("order_id", order_id)?,
        operator_id: f.operator_id(merchant)?,
        amount: f.amount("amount")?,
        tip: f.tip()?,
        biz_type: f.biz_type(&[BizType::WechatPay, BizType::Alipay, BizType::UnionPay])?,
        call_back_url: f.checked("call_back_url", absolute_url)?,
        shop_id: f.stored("shop_id")?,
        terminal_no: f.stored("terminal_no")?,
        currency: f.currency(merchant)?.unwrap_or(merchant.default_currency),
    })
}

pub fn h5_pay(f: &Fields<'_>, merchant: &Credentials) -> Result<H5Pay, OttError> {
    f.require(&[
        "amount",
        "currency_type",
        "biz_type",
        "operator_id",
        "submit_type",
        "call_back_url",
    ])?;
    let shop_id = f.stored("shop_id")?;
    let amount = f.amount("amount")?;
    let order_id = f.optional("order_id", order_id)?;
    let currency = f.required_currency(merchant)?;
    f.biz_type(&[BizType::WechatPay])?;
    let open_id = f.optional("open_id", |id| short(id, 128))?;
    let operator_id = f.operator_id(merchant)?;
    f.checked("submit_type", |kind| kind == "form")?;
    let call_back_url = f.checked("call_back_url", absolute_url)?;
    Ok(H5Pay {
        order_id,
        shop_id,
        amount,
        currency,
        open_id,
        operator_id,
        call_back_url,
    })
}

pub fn prepay_init(f: &Fields<'_>, merchant: &Credentials) -> Result<PrepayInit, OttError> {
    f.require(&[
        "merchant_id",
        "shop_id",
        "operator_id",
        "prepay_order_id",
        "sale_num",
        "amount",
        "currency_type",
        "biz_type",
        "redirect_url",
        "call_back_url",
        "duration",
    ])?;
    let shop_id = f.required_text("shop_id")?.to_owned();
    let operator_id = f.operator_id(merchant)?;
    let prepay_order_id = f.checked("prepay_order_id", |id| order_id_chars(id, 64))?;
    let sale_num = f.checked("sale_num", |num| printable(num, 64))?;
    let amount = f.amount("amount")?;
    let currency = f.required_currency(merchant)?;
    f.biz_type(&[BizType::Prepay])?;
    Ok(PrepayInit {
        shop_id,
        operator_id,
        prepay_order_id,
        sale_num,
        amount,
        currency,
        redirect_url: f.checked("redirect_url", absolute_url)?,
        call_back_url: f.checked("call_back_url", absolute_url)?,
        duration_secs: duration(f)?,
        email: f.optional("email", |email| short(email, 128))?,
        remarks: f.optional("remarks", |remarks| short(remarks, 255))?,
    })
}

/// PREPAY `duration`: integer seconds 1..=2592000, as a string or JSON integer.
fn duration(f: &Fields<'_>) -> Result<u32, OttError> {
    let text = f
        .numeric_text("duration")?
        .ok_or_else(|| OttError::missing("duration"))?;
    let digits =
        !text.starts_with('0') && text.len() <= 7 && text.bytes().all(|b| b.is_ascii_digit());
    let secs = if digits {
        text.parse::<u32>().ok()
    } else {
        None
    };
    secs.filter(|s| (1..=MAX_DURATION_SECS).contains(s))
        .ok_or_else(|| OttError::invalid("duration"))
}

pub fn prepay_query(f: &Fields<'_>) -> Result<PrepayQuery, OttError> {
    f.require(&["prepay_order_id", "merchant_id"])?;
    Ok(PrepayQuery {
        prepay_order_id: f.checked("prepay_order_id", |id| order_id_chars(id, 64))?,
        order_id: f.optional("order_id", order_id)?,
    })
}

pub fn status_query(f: &Fields<'_>) -> Result<StatusQuery, OttError> {
    f.require(&["order_id"])?;
    Ok(StatusQuery {
        order_id: f.checked("order_id", order_id)?,
    })
}

pub fn refund(f: &Fields<'_>) -> Result<Refund, OttError> {
    f.require(&["ori_order_id", "refund_amt"])?;
    Ok(Refund {
        order_id: f.optional("order_id", order_id)?,
        ori_order_id: f.checked("ori_order_id", order_id)?,
        refund_amt: f.amount("refund_amt")?,
    })
}

pub fn ex_rate_query(f: &Fields<'_>, rates: &RateTable) -> Result<ExRateQuery, OttError> {
    f.require(&["fee_type"])?;
    let fee_type = f.required_text("fee_type")?;
    let iso = fee_type.len() == 3 && fee_type.bytes().all(|b| b.is_ascii_uppercase());
    match rates.get(fee_type).filter(|_| iso) {
        Some(rate_e8) => Ok(ExRateQuery {
            fee_type: fee_type.to_owned(),
            rate_e8,
        }),
        None => Err(OttError::invalid("fee_type")),
    }
}

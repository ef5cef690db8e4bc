//! Field validation of the transfer endpoints (spec 5.8, 5.9).

use super::payment::require_cny;
use crate::envelope::ApiError;
use crate::validate::FieldReader;
use crate::wire::TransferRef;
use std::net::Ipv4Addr;

const NAME_MAX: usize = 128;
const CUST_NO_MAX: usize = 64;
const DESC_MAX: usize = 256;
const EXTRA_PARAM_MAX: usize = 512;
/// The only `entryType` [P].
pub const ENTRY_TYPE_BANK_CARD: &str = "BANK_CARD";

/// A validated `/api/transferOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOrder {
    pub mch_order_no: String,
    /// Fen.
    pub amount: i64,
    /// `cny` as sent.
    pub currency: String,
    pub account_no: String,
    pub account_name: Option<String>,
    pub bank_name: Option<String>,
    /// Optional only under `lenient_v10`, as is `cust_no`.
    pub client_ip: Option<Ipv4Addr>,
    pub transfer_desc: String,
    pub cust_no: Option<String>,
    pub notify_url: Option<String>,
    /// The raw JSON text as signed.
    pub channel_extra: Option<String>,
    /// Its parsed members.
    pub channel_extra_fields: TransferChannelExtra,
    pub extra_param: Option<String>,
}

/// `channelExtra` of a transfer: `{"telNo":…,"cardNo":<ID no.>,"bankCode":…}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferChannelExtra {
    pub tel_no: Option<String>,
    pub card_no: Option<String>,
    /// An 8-digit code (`01020000`) or a letter code (`ICBC`) [D].
    pub bank_code: Option<String>,
}

impl TransferOrder {
    pub(super) fn read(f: &FieldReader<'_>, strict: bool) -> Result<Self, ApiError> {
        let mch_order_no = f.order_no("mchOrderNo")?;
        if f.str("entryType")? != ENTRY_TYPE_BANK_CARD {
            return Err(ApiError::Invalid("entryType"));
        }
        let amount = f.amount("amount")?;
        let currency = require_cny(f)?;
        Ok(TransferOrder {
            mch_order_no,
            amount,
            currency,
            account_no: f.str_max("accountNo", 64)?,
            account_name: f.opt_str_max("accountName", NAME_MAX)?,
            bank_name: f.opt_str_max("bankName", NAME_MAX)?,
            client_ip: f.ipv4_if("clientIp", strict)?,
            transfer_desc: f.str_max("transferDesc", DESC_MAX)?,
            cust_no: f.str_max_if("custNo", CUST_NO_MAX, strict)?,
            notify_url: f.opt_url("notifyUrl")?,
            channel_extra: f.opt_raw("channelExtra"),
            channel_extra_fields: channel_extra(f)?,
            extra_param: f.opt_str_max("extraParam", EXTRA_PARAM_MAX)?,
        })
    }
}

fn channel_extra(f: &FieldReader<'_>) -> Result<TransferChannelExtra, ApiError> {
    let invalid = ApiError::Invalid("channelExtra");
    let Some(map) = f.opt_json_object("channelExtra")? else {
        return Ok(TransferChannelExtra::default());
    };
    // Integrators send these as strings or numbers; anything structured is a mistake.
    let text = |key: &str| -> Result<Option<String>, ApiError> {
        match map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(invalid.clone()),
        }
    };
    let bank_code = text("bankCode")?;
    if let Some(code) = &bank_code {
        let digits = code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit());
        let letters =
            (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphabetic());
        if !digits && !letters {
            return Err(invalid);
        }
    }
    Ok(TransferChannelExtra {
        tel_no: text("telNo")?,
        card_no: text("cardNo")?,
        bank_code,
    })
}

/// `transferId` wins over `mchOrderNo`.
pub(super) fn transfer_ref(f: &FieldReader<'_>) -> Result<TransferRef, ApiError> {
    if f.opt_str("transferId")?.is_some() {
        return Ok(TransferRef::TransferId(f.order_no("transferId")?));
    }
    if f.opt_str("mchOrderNo")?.is_some() {
        return Ok(TransferRef::MchOrderNo(f.order_no("mchOrderNo")?));
    }
    Err(ApiError::Required("transferId or mchOrderNo"))
}

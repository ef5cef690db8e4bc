//! Decoded client answers: the `Reply` wrapper and the STATUS_QUERY payment/refund split.

use super::ClientError;
use crate::wire::{PaymentStatusResponse, RefundStatusResponse, RspCode};
use serde_json::{Map, Value};

/// A decoded answer. `data` is present with SUCCESS/PROCESSING; `verified` says whether its md5
/// matched. Only trust `data` when `verified` (see [`Reply::into_verified`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<T> {
    pub rsp_code: String,
    pub rsp_msg: String,
    pub data: Option<T>,
    pub verified: bool,
}

impl<T> Reply<T> {
    /// The known code, `None` for codes outside spec §4 (a failure).
    pub fn code(&self) -> Option<RspCode> {
        RspCode::parse(&self.rsp_code)
    }

    /// True for SUCCESS and PROCESSING.
    pub fn is_success(&self) -> bool {
        matches!(self.code(), Some(RspCode::Success | RspCode::Processing))
    }

    /// The data of a successful, verified answer; otherwise the reason it is not one.
    pub fn into_verified(self) -> Result<T, ClientError> {
        if !self.is_success() {
            return Err(ClientError::UnexpectedCode(self.rsp_code));
        }
        match self.data {
            None => Err(ClientError::Malformed("data")),
            Some(_) if !self.verified => Err(ClientError::Md5Mismatch),
            Some(data) => Ok(data),
        }
    }
}

/// STATUS_QUERY answers with a payment or a refund (spec §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusQueryData {
    Payment(PaymentStatusResponse),
    Refund(RefundStatusResponse),
}

pub(super) fn map_reply<T>(
    reply: Reply<Map<String, Value>>,
    convert: impl FnOnce(Map<String, Value>) -> Result<T, ClientError>,
) -> Result<Reply<T>, ClientError> {
    let data = reply.data.map(convert).transpose()?;
    Ok(Reply {
        rsp_code: reply.rsp_code,
        rsp_msg: reply.rsp_msg,
        data,
        verified: reply.verified,
    })
}

/// A refund answer carries `ori_order_id`; a payment answer does not.
pub(super) fn status_query_data(map: Map<String, Value>) -> Result<StatusQueryData, ClientError> {
    let refund = map.contains_key("ori_order_id");
    let value = Value::Object(map);
    Ok(if refund {
        StatusQueryData::Refund(serde_json::from_value(value)?)
    } else {
        StatusQueryData::Payment(serde_json::from_value(value)?)
    })
}

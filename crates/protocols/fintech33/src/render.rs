//! Response bytes: token response, §4.1 error envelopes, and the encrypted, signed `R` of §3.5.

use serde::Serialize;

use crate::Error;
use crate::inbound::{Credentials, EnvelopeError};
use crate::sign::{self, PlatformKeys};
use crate::validate::BusinessError;
use crate::wire::{BizResponse, ResponseData, ResponseEnvelope, TokenData, TokenResponse};

/// polypay's response content type (§2).
pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// An HTTP response ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    fn json(status: u16, body: Vec<u8>) -> Self {
        HttpResponse {
            status,
            headers: vec![("Content-Type", CONTENT_TYPE.to_owned())],
            body,
        }
    }
}

/// `{"statusCode":0,"message":"success","data":{"token":…,"expiresIn":…}}`.
pub fn render_token_response(token: &str, expires_in: u64) -> HttpResponse {
    let body = TokenResponse {
        status_code: 0,
        message: "success".to_owned(),
        data: Some(TokenData {
            token: token.to_owned(),
            expires_in,
        }),
    };
    to_response(200, &body)
}

/// A §4.1 row: `{"statusCode":…,"message":…}` without `bizContent` / `sign`.
pub fn render_envelope_error(error: &EnvelopeError) -> HttpResponse {
    let body = ResponseEnvelope {
        status_code: error.status_code(),
        message: error.message().into_owned(),
        biz_content: None,
        sign: None,
    };
    to_response(error.http_status(), &body)
}

/// A successful service call: `status` 0, `errorCode`/`errorMessage` null, `data` as given.
pub fn render_success(
    credentials: &Credentials,
    platform: &PlatformKeys,
    data: &ResponseData,
) -> HttpResponse {
    let r = BizResponse {
        status: 0,
        error_code: None,
        error_message: None,
        data: Some(data),
    };
    render_biz(credentials, platform, &r)
}

/// A business failure (§4.2): `status` −1, the code and message, `data` null.
pub fn render_business_error(
    credentials: &Credentials,
    platform: &PlatformKeys,
    error: &BusinessError,
) -> HttpResponse {
    let r: BizResponse<()> = BizResponse {
        status: -1,
        error_code: Some(error.code.as_str().to_owned()),
        error_message: Some(error.message.clone()),
        data: None,
    };
    render_biz(credentials, platform, &r)
}

/// The compact JSON text of `R` exactly as it is signed and encrypted.
pub fn response_plaintext<D: Serialize>(r: &BizResponse<D>) -> Result<Vec<u8>, Error> {
    Ok(serde_json::to_vec(r)?)
}

/// The success envelope for `R`: signed with the platform key and the merchant's hash option,
/// encrypted with the merchant's AES key and mode (§3.5).
pub fn seal_response<D: Serialize>(
    credentials: &Credentials,
    platform: &PlatformKeys,
    r: &BizResponse<D>,
) -> Result<Vec<u8>, Error> {
    let plaintext = response_plaintext(r)?;
    let sealed = sign::seal(
        &plaintext,
        &credentials.cipher,
        platform.private_key(),
        credentials.sign_hash,
    )?;
    let envelope = ResponseEnvelope {
        status_code: 0,
        message: "success".to_owned(),
        biz_content: Some(sealed.biz_content),
        sign: Some(sealed.sign),
    };
    Ok(serde_json::to_vec(&envelope)?)
}

fn render_biz<D: Serialize>(
    credentials: &Credentials,
    platform: &PlatformKeys,
    r: &BizResponse<D>,
) -> HttpResponse {
    match seal_response(credentials, platform, r) {
        Ok(body) => HttpResponse::json(200, body),
        // Signing does not fail with a key that parsed; if AWS-LC ever does, the merchant gets
        // the internal-error row rather than an unsigned answer.
        Err(_) => render_envelope_error(&EnvelopeError::Internal),
    }
}

fn to_response<T: Serialize>(status: u16, body: &T) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => HttpResponse::json(status, bytes),
        Err(_) => HttpResponse::json(
            500,
            br#"{"statusCode":5000,"message":"internal error"}"#.to_vec(),
        ),
    }
}

//! Shared fixtures of the integration tests: the spec's §9 keys and vectors, merchant settings, a store.
#![allow(dead_code)]

use jiff::Timestamp;
use polypay_fintech33::inbound::{CredentialLookup, Credentials, TokenGrant};
use polypay_fintech33::{
    BizCipher, MerchantKeys, PlatformKeys, RsaPrivateKey, RsaPublicKey, SignHash,
};
use std::sync::Arc;

/// §9 test key pair (PKCS#8 private key), test only.
pub const PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCxwvu0Qj+BYskU\n6RTBq59RNpmxTezDZSWGqRW6utVu8cwKLMeWWVcAtz3+Y5VQuaIJE77oJCxaBkDS\n5g29zMq7SdaKYt704GdOlB+C6zl1ly8awcYz0/VFU3toXWy4SvOZoUs4n9HkpxT3\nBt5QiDJuM7wX/Tx4I7IoL9KVE1/ZBkq6de5cHpHp4Zm+iVexXfFeEq2swozTFDSB\n3Hoehz/KESiHtGJD0lQsw7DU5qVzE71RUeJn73GCM9MWlhia2RCIQBQ2qMsGY7+W\nWwLTxdIjZ6dLHKtr6XQEFp4lFsV0LJ0a6lxaxyhHz4mGAfm65oRl7t72iy0aTLNH\nOynj65InAgMBAAECggEAV//SMkDvhkJckDT4uQ2Yj5BLkookkPBUHO88mhWezk72\nNv1HCueMWgbcskAjLXTQQdUcF3i82g4pbh5EJDcrD390rUpX3HrwuWY7mUiQR+XB\nhGn0EDk4PQsgVyCUz0EPifjer5fyxNJv3wBv8wcRjBuhXHDZTBJDwoA2K+WM9/a/\nRQjuQQC4K6pc/y7S9T93AwOhe8e67PPZV6pv3SQ3HupKj2c6jMgXWVypsSi/47FH\nJ8nEn7FSpgvYSEYR0tAH/Hx31bXx5VOkSNWF0j+x0uYVri+JWh/4PRCzfrkx0FHJ\nT9NrK8y7/rhgYt523a1vuq/4ECNFMlawFbrOxQCSFQKBgQD4Vq0xVKo0o5NQG3Jd\nWhB6ygHuvANAxXjZeshRGah8QL1qBgoJ3W+WoAFuN1PJxxSNy/mRZ4AL83znkfip\ng5fvoxzhNdlye87pZZguRUAIHpE9Xr+wzK5MG6KT0KH2Aa8szS40VNz3FxX5Q7Gv\nZgUiXU+A2k8tutz5aspEbpfugwKBgQC3PufYT8C0dpKVdDR512RYEMCPqhKzFG4a\nuAQqaT4QnXj9/DRsi29iV6CKBPMMbrqGw2LAooVqswLznOZLnItUaLLRdSi/+0Z1\nRBc4L43/r7TGfHvp+LJSSNBzfDEq40cseIs4+XPJbMEA6GeoGU/DDFJZWvddtmJi\nMFfQ4Ie8jQKBgEjhHwioIR87lgLfWyu8P7PZTsHiGU5L5ZBlcR4j2odEdJIF3bJR\ncusQX/sZb5R6wTRv1PjwF+rp9RD8jK4quU8RXmtVY1Aut2VVdFi35/e6CMOq57Sa\nDNi3D3ozsyRAEEmkmVewQ/yboM47KI0h8oXIPonBB5WTDkCAL4XvstTDAoGAe77W\nUERjTTr5eEX2HgWvtKzzbNEcOaTlSdPUtFNH326IQ3RqbpamzFGCj1ISU+X+vnz5\nlj7qPAjRSHQ/LPZ1PLZLc5lbwHHOvegSihXLHcypFpUAFRumSFz1r9dBWMYMzWJG\nGl6Sq4Zuu882GNWnAH+0qLT+cWF2BPrCgsLtxw0CgYEAoKDyWe6DIR+o3QFYYEoZ\nZ31g9jGzaTYcguqmIL65b1QY0n+9i2e6fdrDY7rq/B1X3NkMmsY2YD5D7vbvg9UQ\nkTJvDGo52j7J+0fDyCll1MjrrHR1J22ZDaAyitAvPMeX4PoZvC+gU0baxFMstChM\nnvHk3KBHqW65WXXaNqf00u8=\n-----END PRIVATE KEY-----\n";
/// The same public key as SPKI PEM (§9).
pub const PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAscL7tEI/gWLJFOkUwauf\nUTaZsU3sw2UlhqkVurrVbvHMCizHlllXALc9/mOVULmiCRO+6CQsWgZA0uYNvczK\nu0nWimLe9OBnTpQfgus5dZcvGsHGM9P1RVN7aF1suErzmaFLOJ/R5KcU9wbeUIgy\nbjO8F/08eCOyKC/SlRNf2QZKunXuXB6R6eGZvolXsV3xXhKtrMKM0xQ0gdx6Hoc/\nyhEoh7RiQ9JULMOw1OalcxO9UVHiZ+9xgjPTFpYYmtkQiEAUNqjLBmO/llsC08XS\nI2enSxyra+l0BBaeJRbFdCydGupcWscoR8+JhgH5uuaEZe7e9ostGkyzRzsp4+uS\nJwIDAQAB\n-----END PUBLIC KEY-----\n";
/// The same public key as PKCS#1 PEM (converted with openssl, for the key-format tests).
pub const PUBLIC_KEY_PKCS1_PEM: &str = "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEAscL7tEI/gWLJFOkUwaufUTaZsU3sw2UlhqkVurrVbvHMCizHlllX\nALc9/mOVULmiCRO+6CQsWgZA0uYNvczKu0nWimLe9OBnTpQfgus5dZcvGsHGM9P1\nRVN7aF1suErzmaFLOJ/R5KcU9wbeUIgybjO8F/08eCOyKC/SlRNf2QZKunXuXB6R\n6eGZvolXsV3xXhKtrMKM0xQ0gdx6Hoc/yhEoh7RiQ9JULMOw1OalcxO9UVHiZ+9x\ngjPTFpYYmtkQiEAUNqjLBmO/llsC08XSI2enSxyra+l0BBaeJRbFdCydGupcWsco\nR8+JhgH5uuaEZe7e9ostGkyzRzsp4+uSJwIDAQAB\n-----END RSA PUBLIC KEY-----\n";
/// The same private key as PKCS#1 PEM (converted with openssl).
pub const PRIVATE_KEY_PKCS1_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAscL7tEI/gWLJFOkUwaufUTaZsU3sw2UlhqkVurrVbvHMCizH\nlllXALc9/mOVULmiCRO+6CQsWgZA0uYNvczKu0nWimLe9OBnTpQfgus5dZcvGsHG\nM9P1RVN7aF1suErzmaFLOJ/R5KcU9wbeUIgybjO8F/08eCOyKC/SlRNf2QZKunXu\nXB6R6eGZvolXsV3xXhKtrMKM0xQ0gdx6Hoc/yhEoh7RiQ9JULMOw1OalcxO9UVHi\nZ+9xgjPTFpYYmtkQiEAUNqjLBmO/llsC08XSI2enSxyra+l0BBaeJRbFdCydGupc\nWscoR8+JhgH5uuaEZe7e9ostGkyzRzsp4+uSJwIDAQABAoIBAFf/0jJA74ZCXJA0\n+LkNmI+QS5KKJJDwVBzvPJoVns5O9jb9RwrnjFoG3LJAIy100EHVHBd4vNoOKW4e\nRCQ3Kw9/dK1KV9x68LlmO5lIkEflwYRp9BA5OD0LIFcglM9BD4n43q+X8sTSb98A\nb/MHEYwboVxw2UwSQ8KANivljPf2v0UI7kEAuCuqXP8u0vU/dwMDoXvHuuzz2Veq\nb90kNx7qSo9nOozIF1lcqbEov+OxRyfJxJ+xUqYL2EhGEdLQB/x8d9W18eVTpEjV\nhdI/sdLmFa4viVof+D0Qs365MdBRyU/TayvMu/64YGLedt2tb7qv+BAjRTJWsBW6\nzsUAkhUCgYEA+FatMVSqNKOTUBtyXVoQesoB7rwDQMV42XrIURmofEC9agYKCd1v\nlqABbjdTyccUjcv5kWeAC/N855H4qYOX76Mc4TXZcnvO6WWYLkVACB6RPV6/sMyu\nTBuik9Ch9gGvLM0uNFTc9xcV+UOxr2YFIl1PgNpPLbrc+WrKRG6X7oMCgYEAtz7n\n2E/AtHaSlXQ0eddkWBDAj6oSsxRuGrgEKmk+EJ14/fw0bItvYlegigTzDG66hsNi\nwKKFarMC85zmS5yLVGiy0XUov/tGdUQXOC+N/6+0xnx76fiyUkjQc3wxKuNHLHiL\nOPlzyWzBAOhnqBlPwwxSWVr3XbZiYjBX0OCHvI0CgYBI4R8IqCEfO5YC31srvD+z\n2U7B4hlOS+WQZXEeI9qHRHSSBd2yUXLrEF/7GW+UesE0b9T48Bfq6fUQ/IyuKrlP\nEV5rVWNQLrdlVXRYt+f3ugjDque0mgzYtw96M7MkQBBJpJlXsEP8m6DOOyiNIfKF\nyD6JwQeVkw5AgC+F77LUwwKBgHu+1lBEY006+XhF9h4Fr7Ss82zRHDmk5UnT1LRT\nR99uiEN0am6WpsxRgo9SElPl/r58+ZY+6jwI0Uh0Pyz2dTy2S3OZW8Bxzr3oEooV\nyx3MqRaVABUbpkhc9a/XQVjGDM1iRhpekquGbrvPNhjVpwB/tKi0/nFhdgT6woLC\n7ccNAoGBAKCg8lnugyEfqN0BWGBKGWd9YPYxs2k2HILqpiC+uW9UGNJ/vYtnun3a\nw2O66vwdV9zZDJrGNmA+Q+7274PVEJEybwxqOdo+yftHw8gpZdTI66x0dSdtmQ2g\nMorQLzzHl+D6GbwvoFNG2sRTLLQoTJ7x5NygR6luuVl12jan9NLv\n-----END RSA PRIVATE KEY-----\n";
/// An unrelated 1024-bit public key: must be refused at registration.
pub const PUBLIC_KEY_1024_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCbMsmQbGr4hVZAYYKKN2if8r28\nzKm4ArgdQvAiQqDJLBV1tMqHbNtzaWyrIpfnQJPjJqgetdKr0qI5NPu38qnwxAYN\njLkCGSrtCv+sKHbK/wntyElrGoZntKp9hRxPtxuQizSuGAVUK01yV+27B/Ksn1g4\n6lQBPuJIYOpA/Ni/VwIDAQAB\n-----END PUBLIC KEY-----\n";

pub const AES_KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const CBC_IV_B64: &str = "EBESExQVFhcYGRobHB0eHw==";

pub const P1: &str = r#"{"order_sn":"ORDER-0001","currency":"USD","amount":99.99,"payerID":10001,"purposeOfTransaction":"PAY_FOR_GOODS","description":"Test order","skip3ds":"False","domain":"shop.example.com","product":"T-shirt||Mug"}"#;
pub const P1_SHA256_HEX: &str = "0bfbfc6e3d8f75616e110e2ea99eaa4b08d66de589333036eac8b63341b52b0c";
pub const F2_ECB: &str = "iO5Za9l53cpEiixAio35bpkcAaBW4heJ0BsmXHsUzi/ExJT5+f63+8aiJ7eMICPJ8WsJ5L9LWu6Sjt0zepNOryhUNpXxck3GAD3bjkcv7/1YEbEHBMzWkE5GktdyJAPsWYL1ac0ivX1oLES5OUsm4nrPPQkzBOcFXgVBCuvCRZmTXEZyA5OAKMrx27TgBlnRXr7rPgH48qb90gEtSTIRC+J03pcXXYpWOWKu8PyLp/3w4CnDfTzXSA3ssWAAeYTsOqBOvCtsNjmj0bihF+eqPnd/qX9JlOSZfHrdPtsmjVY=";
pub const F3_CBC: &str = "WAdjvgBEuLJmXtllf3JMvJiWvDWo3yA+AoBVwiOt64J0PWygRn7fJvhHDr7e39UpF40/Xwuomc1otskR+lN8z5BBntSUY5Ds8GmW61ekU9llQQDZ+A/K47egBRdFidFgMXdUCIuBhlT5OCN04oCRJNb6mbR4uEAzzj3jZlPHS8xAw+X0ROmZiA2WXbU1aPngwfCxaeSnoObw5ue5zP9vnqdmr8DyDtjZzXPfdCTx01oW7UXySkrDcYD9pJ7B1QyAsjtAgC5SLRl8pKoxTcOZ8nYbWO/CleN5Xjg3SsajWzo=";
pub const F4_SHA256: &str = "OALUTExK/wuDpOVpap+he8uY9pbo9VHJpWmmep3pKy6iFBHbAOFygti5H9pnvUC4T1ZlJNkN65dgdhtp6fuKIwWGGdAG+xbE3pttCN6O5n2wKvpy0vZewkmFgZb3gO82k8WZ1qejBZzyt8j0hl2JmC3H2nwjp6iNEEHOnCi2fUUqXAU19XgWnXgwp/enkahRYzCb1oCPB13nToGz/jAktMmkABnz9/PYsj58n0UNYDJVUSKzGAlRYRRee/IJ9fMlOpNBZIqRZCr91XCIB/TmZrc2HShaTXoKyU5cuhXSjS+8g461FCHySk1JUklA3pZgCpCbPMwnc2x+OYtYGiTsvQ==";
pub const F4_SHA1: &str = "kXdzQNiyhFFShZdYUM8MF81kp9BlyV8TPoQRnilLnVaLRDA7EUQIZckeEa8+z7efks7mXkb9Ywhl1WF6ph7+liRcDMI01aMoGQo/am0DOAV3fiC4J/ptlzOAzfwU23Yhl1pff69zqm1RlE1U9lrBQWY5o4uMQXVsiQEWKW7DIuAdC23UfKaXfV97UMs50njBFksE5lLiD9y541vMZa8h2KVX8DRu/Q/ANnIjZZNF1zmNVmtPC0ZSaQt6HxAcOwFcJu2RTNXl0sQEuwre8jCJCd0T2iDsA5tDkRtYifsfbyWAwCgMzbYVkNOJbb7KC6ZE2VKtjNq3kbULPfLkfOPYsA==";
pub const F6_R: &str =
    r#"{"status":0,"errorCode":null,"errorMessage":null,"data":{"outcome":"Paid"}}"#;
pub const F6_BIZ_CONTENT: &str = "fr+zUqaPHrrOdGUdrQ3P0TSS6XpmoqVfXKsy33+ez6X8TMzQC8MOdTOz5HrkCt43tbVoFS+wJcFojIf3E8LGedkNQmianETyo9MMzcoeBBA=";
pub const F6_SIGN: &str = "bFxnfdJ3K61pI8SQeBGYgR1I3wlCYjDIWQii0+zGXY+9pCr85dV4fwMaD21PNY49l4Whp9ce9S6SkdKm07BBi4etxUVbhKaonXmRdlncGmjZGNbVmkNdOMNfdezeaSluVk33DHQHoXh6bjDrAyHVe+TLmy4KCduKZD03q5bTBnoSBDhJCR7/b+PPBAiTEkEzBiZgSK+ctXB6pU1vNeVJHh74O/fZIh2MXg7Ki634vQTtej0mCunvgT4AZx2Cii4get0HdqwoYVqVhKreHwhMN5Cqk+WMhlEJUmDMLl9JQ0RGsWJILsVSeoOiOS2MeiX/OpKo/3cF9znz7hnT9G2xqg==";

pub const APP_ID: &str = "app-test-1";
pub const APP_SECRET: &str = "s3cr3t-app-secret";
pub const TOKEN: &str = "tok_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The F5 body exactly: `{"service":"createOrder","bizContent":"<F2>","sign":"<F4 SHA-256>"}`.
pub fn f5_body() -> String {
    format!(r#"{{"service":"createOrder","bizContent":"{F2_ECB}","sign":"{F4_SHA256}"}}"#)
}

pub fn cipher(cbc: bool) -> BizCipher {
    BizCipher::from_base64(AES_KEY_B64, cbc.then_some(CBC_IV_B64)).unwrap()
}

pub fn public_key() -> RsaPublicKey {
    RsaPublicKey::from_text(PUBLIC_KEY_PEM).unwrap()
}

pub fn private_key() -> RsaPrivateKey {
    RsaPrivateKey::from_text(PRIVATE_KEY_PEM).unwrap()
}

/// The test key doubles as the platform key (§9 allows it).
pub fn platform() -> PlatformKeys {
    PlatformKeys::from_text(PRIVATE_KEY_PEM).unwrap()
}

pub fn credentials(cbc: bool, hash: SignHash) -> Arc<Credentials> {
    Arc::new(Credentials {
        app_id: APP_ID.to_owned(),
        app_secret: APP_SECRET.to_owned(),
        cipher: cipher(cbc),
        sign_hash: hash,
        merchant_key: public_key(),
    })
}

pub fn merchant_keys(cbc: bool, hash: SignHash) -> MerchantKeys {
    MerchantKeys {
        app_id: APP_ID.to_owned(),
        app_secret: APP_SECRET.to_owned(),
        cipher: cipher(cbc),
        sign_hash: hash,
        private_key: private_key(),
        platform_key: public_key(),
    }
}

pub fn now() -> Timestamp {
    "2024-01-01T12:00:00Z".parse().unwrap()
}

/// One merchant with one token valid until `now() + 1 h`.
pub struct Store {
    pub credentials: Arc<Credentials>,
    pub expires_at: Timestamp,
}

impl Store {
    pub fn new(cbc: bool, hash: SignHash) -> Self {
        Store {
            credentials: credentials(cbc, hash),
            expires_at: "2024-01-01T13:00:00Z".parse().unwrap(),
        }
    }
}

impl CredentialLookup for Store {
    fn by_app_id(&self, app_id: &str) -> Option<Arc<Credentials>> {
        (app_id == APP_ID).then(|| Arc::clone(&self.credentials))
    }

    fn by_token(&self, token: &str) -> Option<TokenGrant> {
        (token == TOKEN).then(|| TokenGrant {
            credentials: Arc::clone(&self.credentials),
            expires_at: self.expires_at,
        })
    }
}

pub fn bearer() -> Vec<(&'static str, String)> {
    vec![("Authorization", format!("Bearer {TOKEN}"))]
}

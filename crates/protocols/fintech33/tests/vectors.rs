//! §9 vectors F1–F6 for the signer and the verifier independently, plus the key formats of §3.2.

mod common;

use common::*;
use polypay_fintech33::sign::{self, OpenError, b64_decode_lenient, b64_encode};
use polypay_fintech33::wire::{BizResponse, QueryOrderData};
use polypay_fintech33::{
    AesMode, BizCipher, Error, OrderStatus, RsaPrivateKey, RsaPublicKey, SignHash,
};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

/// Replaces one base64 character by a different one of the alphabet.
fn mutate_b64(text: &str, index: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn p1_is_the_specified_plaintext() {
    assert_eq!(P1.len(), 210);
    assert_eq!(sha256_hex(P1.as_bytes()), P1_SHA256_HEX);
}

#[test]
fn f1_aes_block_known_answer() {
    let key: [u8; 32] = core::array::from_fn(|i| i as u8);
    let out = BizCipher::new(key, AesMode::Ecb)
        .encrypt(&hex::decode("00112233445566778899aabbccddeeff").unwrap());
    assert_eq!(hex::encode(&out[..16]), "8ea2b7ca516745bfeafc49904b496089");
}

#[test]
fn f2_ecb_encrypt_and_decrypt() {
    let c = cipher(false);
    assert_eq!(c.encrypt_b64(P1.as_bytes()), F2_ECB);
    assert_eq!(c.decrypt_b64(F2_ECB).unwrap(), P1.as_bytes());
    // Whitespace and missing padding are tolerated on input (§3.4 step 3).
    let wrapped = format!(
        "{}\r\n {}",
        &F2_ECB[..40],
        F2_ECB[40..].trim_end_matches('=')
    );
    assert_eq!(c.decrypt_b64(&wrapped).unwrap(), P1.as_bytes());
}

#[test]
fn f3_cbc_encrypt_and_decrypt() {
    let c = cipher(true);
    assert_eq!(c.encrypt_b64(P1.as_bytes()), F3_CBC);
    assert_eq!(c.decrypt_b64(F3_CBC).unwrap(), P1.as_bytes());
    // The ECB ciphertext does not decrypt under CBC to P1.
    assert_ne!(c.decrypt_b64(F2_ECB).as_deref(), Some(P1.as_bytes()));
}

#[test]
fn f4_signer_sha256_and_sha1() {
    let key = private_key();
    assert_eq!(
        key.sign_b64(SignHash::Sha256, P1.as_bytes()).unwrap(),
        F4_SHA256
    );
    assert_eq!(
        key.sign_b64(SignHash::Sha1, P1.as_bytes()).unwrap(),
        F4_SHA1
    );
}

#[test]
fn f4_verifier_accepts_and_rejects_mutations() {
    let key = public_key();
    for (hash, sig) in [(SignHash::Sha256, F4_SHA256), (SignHash::Sha1, F4_SHA1)] {
        let sig = b64_decode_lenient(sig).unwrap();
        assert!(key.verify(hash, P1.as_bytes(), &sig), "{hash:?}");
        let mut bad = sig.clone();
        bad[100] ^= 0x01;
        assert!(
            !key.verify(hash, P1.as_bytes(), &bad),
            "{hash:?} mutated signature"
        );
        let mut msg = P1.as_bytes().to_vec();
        msg[30] ^= 0x01;
        assert!(!key.verify(hash, &msg, &sig), "{hash:?} mutated message");
    }
    // A signature under one hash does not verify under the other.
    assert!(!key.verify_b64(SignHash::Sha1, P1.as_bytes(), F4_SHA256));
}

#[test]
fn f5_full_request_body_from_the_signer() {
    let sealed = sign::seal(
        P1.as_bytes(),
        &cipher(false),
        &private_key(),
        SignHash::Sha256,
    )
    .unwrap();
    let body = format!(
        r#"{{"service":"createOrder","bizContent":"{}","sign":"{}"}}"#,
        sealed.biz_content, sealed.sign
    );
    assert_eq!(body, f5_body());
}

#[test]
fn f5_opens_to_p1_byte_for_byte() {
    let p = sign::open(
        F2_ECB,
        F4_SHA256,
        &cipher(false),
        &public_key(),
        SignHash::Sha256,
    )
    .unwrap();
    assert_eq!(p, P1.as_bytes());
}

#[test]
fn negative_checks_of_section_9() {
    let (c, k) = (cipher(false), public_key());
    // One character of F2 flipped: 4001 or 4002, never accepted.
    for i in [0, 50, F2_ECB.len() - 3] {
        let err =
            sign::open(&mutate_b64(F2_ECB, i), F4_SHA256, &c, &k, SignHash::Sha256).unwrap_err();
        assert!(matches!(err, OpenError::Decrypt | OpenError::Signature));
    }
    // 99.99 -> 99.990, re-encrypted, old signature: 4002.
    let changed = P1.replace("99.99", "99.990");
    let biz = c.encrypt_b64(changed.as_bytes());
    assert_eq!(
        sign::open(&biz, F4_SHA256, &c, &k, SignHash::Sha256),
        Err(OpenError::Signature)
    );
    // A 1024-bit merchant key is refused at registration.
    assert!(matches!(
        RsaPublicKey::from_text(PUBLIC_KEY_1024_PEM),
        Err(Error::KeyTooSmall(1024))
    ));
}

#[test]
fn f6_response_signer() {
    let r = BizResponse {
        status: 0,
        error_code: None,
        error_message: None,
        data: Some(QueryOrderData {
            outcome: OrderStatus::Paid,
        }),
    };
    let plaintext = polypay_fintech33::render::response_plaintext(&r).unwrap();
    assert_eq!(plaintext, F6_R.as_bytes());
    assert_eq!(F6_R.len(), 75);
    let sealed = sign::seal(&plaintext, &cipher(false), &private_key(), SignHash::Sha256).unwrap();
    assert_eq!(sealed.biz_content, F6_BIZ_CONTENT);
    assert_eq!(sealed.sign, F6_SIGN);
}

#[test]
fn f6_response_verifier() {
    let r = sign::open(
        F6_BIZ_CONTENT,
        F6_SIGN,
        &cipher(false),
        &public_key(),
        SignHash::Sha256,
    )
    .unwrap();
    assert_eq!(r, F6_R.as_bytes());
    let bad_sign = mutate_b64(F6_SIGN, 10);
    assert_eq!(
        sign::open(
            F6_BIZ_CONTENT,
            &bad_sign,
            &cipher(false),
            &public_key(),
            SignHash::Sha256
        ),
        Err(OpenError::Signature)
    );
}

#[test]
fn public_key_formats_are_equivalent() {
    let spki = public_key();
    let pkcs1 = RsaPublicKey::from_text(PUBLIC_KEY_PKCS1_PEM).unwrap();
    assert_eq!(spki.spki_der(), pkcs1.spki_der());
    assert_eq!(spki.modulus_bits(), 2048);
    // Base64 DER of either form, with arbitrary whitespace.
    let body = |pem: &str| {
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    for text in [body(PUBLIC_KEY_PEM), body(PUBLIC_KEY_PKCS1_PEM)] {
        let k = RsaPublicKey::from_text(&text).unwrap();
        assert!(k.verify_b64(SignHash::Sha256, P1.as_bytes(), F4_SHA256));
    }
    // SPKI PEM export re-parses to the same key, and the PEM body is the spec's.
    let exported = spki.to_spki_pem();
    assert_eq!(exported, PUBLIC_KEY_PEM);
    assert!(RsaPublicKey::from_text("not a key").is_err());
    assert!(RsaPublicKey::from_text(&b64_encode(b"garbage der")).is_err());
}

#[test]
fn private_key_formats_sign_identically() {
    let pkcs1 = RsaPrivateKey::from_text(PRIVATE_KEY_PKCS1_PEM).unwrap();
    assert_eq!(
        pkcs1.sign_b64(SignHash::Sha256, P1.as_bytes()).unwrap(),
        F4_SHA256
    );
    assert_eq!(
        pkcs1.sign_b64(SignHash::Sha1, P1.as_bytes()).unwrap(),
        F4_SHA1
    );
    let der = private_key().to_pkcs8_der().unwrap();
    let from_der = polypay_fintech33::PlatformKeys::from_pkcs8(&der).unwrap();
    assert_eq!(from_der.public_key_pem(), PUBLIC_KEY_PEM);
    // The combined §9 block (private then public) yields the private key.
    let both = format!("{PRIVATE_KEY_PEM}{PUBLIC_KEY_PEM}");
    assert!(RsaPrivateKey::from_text(&both).is_ok());
    assert!(RsaPublicKey::from_text(&both).is_ok());
}

#[test]
fn generated_platform_keys_round_trip() {
    let keys = polypay_fintech33::PlatformKeys::generate().unwrap();
    assert_eq!(keys.public_key().modulus_bits(), 2048);
    let again = polypay_fintech33::PlatformKeys::from_pkcs8(&keys.to_pkcs8_der().unwrap()).unwrap();
    let sig = again.private_key().sign(SignHash::Sha1, b"msg").unwrap();
    assert!(keys.public_key().verify(SignHash::Sha1, b"msg", &sig));
    assert!(format!("{keys:?}").contains("redacted"));
}

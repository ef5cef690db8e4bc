//! Unit tests of `sign.rs`, including the spec's published vectors.
use super::*;
use crate::vectors::{self, V1, V2, V3, V4, V7, Vector};

const PUBLISHED: [&Vector; 5] = [&V1, &V2, &V3, &V4, &V7];

fn key_of(v: &Vector) -> SignKey {
    SignKey::new(v.sign_key)
}

#[test]
fn summary_and_md5_of_every_vector() {
    for v in PUBLISHED {
        let object = DataObject::parse(v.plaintext).expect("vector parses");
        assert_eq!(object.summary_string(), v.summary);
        assert_eq!(summary_md5(&object), v.md5);
    }
}

#[test]
fn key_derivation_of_every_vector() {
    for v in PUBLISHED {
        assert_eq!(key_digest(v.md5, &key_of(v)), v.key_digest);
        assert_eq!(&derive_aes_key(v.md5, &key_of(v)), v.aes_key.as_bytes());
    }
}

#[test]
fn sealing_reproduces_every_ciphertext() {
    for v in PUBLISHED {
        let sealed = seal(v.plaintext, &key_of(v)).expect("seals");
        assert_eq!(sealed.md5, v.md5);
        assert_eq!(sealed.data, v.data);
    }
}

#[test]
fn opening_accepts_every_vector_and_wrapped_copies() {
    for v in PUBLISHED {
        let key = derive_aes_key(v.md5, &key_of(v));
        assert_eq!(
            decrypt(v.data, &key).expect("decrypts"),
            v.plaintext.as_bytes()
        );
        let opened = open(v.data, v.md5, &key_of(v)).expect("opens");
        assert_eq!(opened, DataObject::parse(v.plaintext).expect("parses"));
        let wrapped = vectors::wrap60(v.data).replace(' ', "\r\n");
        assert!(open(&wrapped, v.md5, &key_of(v)).is_ok());
        // The md5 comparison is case-insensitive once the key derived from it has decrypted.
        let lower_key = derive_aes_key(&v.md5.to_ascii_lowercase(), &key_of(v));
        let lower_data = encrypt(v.plaintext.as_bytes(), &lower_key);
        assert!(open(&lower_data, &v.md5.to_ascii_lowercase(), &key_of(v)).is_ok());
    }
}

#[test]
fn opening_rejects_one_byte_mutations() {
    for v in PUBLISHED {
        let key = key_of(v);
        assert_eq!(
            open(&vectors::mutate(v.data, 5), v.md5, &key),
            Err(OpenError::Undecryptable)
        );
        // A different md5 derives a different AES key: a wrong key, not a wrong digest.
        let md5 = vectors::mutate(v.md5, 0);
        assert_eq!(open(v.data, &md5, &key), Err(OpenError::Undecryptable));
        let mut wrong_key = v.sign_key.to_owned();
        wrong_key.replace_range(0..1, "0");
        assert_eq!(
            open(v.data, v.md5, &SignKey::new(wrong_key)),
            Err(OpenError::Undecryptable)
        );
        // A one-byte change of the plaintext encrypted under the right key fails the digest.
        let tampered = v.plaintext.replacen(":\"", ":\"9", 1);
        let data = encrypt(tampered.as_bytes(), &derive_aes_key(v.md5, &key));
        assert_eq!(open(&data, v.md5, &key), Err(OpenError::Md5Mismatch));
    }
}

#[test]
fn escaped_characters_change_ciphertext_not_md5() {
    let sealed = seal(vectors::V5_PLAINTEXT, &key_of(&V1)).expect("seals");
    assert_eq!(sealed.md5, V1.md5);
    assert_eq!(sealed.data, vectors::V5_DATA);
    let opened = open(vectors::V5_DATA, V1.md5, &key_of(&V1)).expect("opens");
    assert_eq!(opened.summary_string(), V1.summary);
}

#[test]
fn number_tokens_and_byte_order() {
    let object = DataObject::parse(vectors::V6_PLAINTEXT).expect("parses");
    assert_eq!(object.summary_string(), vectors::V6_SUMMARY);
    assert_eq!(summary_md5(&object), vectors::V6_MD5);
    let reformatted = DataObject::parse(r#"{"amount":100,"order_id":"A1","rate":1.5,"Tip":"0"}"#)
        .expect("parses");
    assert_ne!(summary_md5(&reformatted), vectors::V6_MD5);
}

#[test]
fn foreign_samples_are_undecryptable_with_published_keys() {
    for md5 in vectors::FOREIGN_MD5S {
        for key in [V1.sign_key, V2.sign_key] {
            assert_eq!(
                open(V3.data, md5, &SignKey::new(key)),
                Err(OpenError::Undecryptable)
            );
        }
    }
}

#[test]
fn malformed_ciphertexts_are_undecryptable() {
    let key = derive_aes_key(V7.md5, &key_of(&V7));
    assert_eq!(decrypt("", &key), Err(OpenError::Undecryptable));
    assert_eq!(decrypt("not base64!", &key), Err(OpenError::Undecryptable));
    // 15 bytes: not a whole block.
    assert_eq!(
        decrypt("AAAAAAAAAAAAAAAAAAAA", &key),
        Err(OpenError::Undecryptable)
    );
    // Unpadded base64 is accepted.
    let unpadded = V4.data.trim_end_matches('=');
    assert!(open(unpadded, V4.md5, &key_of(&V4)).is_ok());
    // A BOM before the JSON is refused.
    let bom = encrypt(format!("\u{feff}{}", V7.plaintext).as_bytes(), &key);
    assert_eq!(
        decrypt_data(&bom, V7.md5, &key_of(&V7)),
        Err(OpenError::Undecryptable)
    );
    // A duplicate key is reported as such, not as undecryptable.
    let dup = encrypt(br#"{"a":"1","a":"2"}"#, &key);
    assert_eq!(
        decrypt_data(&dup, V7.md5, &key_of(&V7)),
        Err(OpenError::DuplicateKey("a".into()))
    );
}

#[test]
fn sign_key_debug_is_redacted() {
    let shown = format!("{:?}", key_of(&V1));
    assert!(!shown.contains(V1.sign_key));
}

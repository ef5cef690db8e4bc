//! Blockchain account addresses: the checks front doors apply to merchant-given addresses, and
//! the addresses the sandbox makes up (deposit addresses shown on the cashier, payers' wallets).

use aws_lc_rs::digest::{SHA256, digest};

/// What kind of address a network uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// `0x` + 40 hex digits.
    Evm,
    /// Base58check, 34 characters, `T…` (version byte 0x41).
    Tron,
}

/// A made-up address, the same for the same seed: the first 20 bytes of SHA-256(seed) as an
/// EVM address (`0x` + 40 lower-case hex) or a TRON one.
pub fn sandbox_address(seed: &str, kind: AddressKind) -> String {
    let hash = digest(&SHA256, seed.as_bytes());
    let mut body = [0u8; 20];
    body.copy_from_slice(&hash.as_ref()[..20]);
    match kind {
        AddressKind::Evm => format!("0x{}", hex::encode(body)),
        AddressKind::Tron => tron_address(&body),
    }
}

fn sha256d(bytes: &[u8]) -> [u8; 32] {
    let once = digest(&SHA256, bytes);
    let twice = digest(&SHA256, once.as_ref());
    let mut out = [0u8; 32];
    out.copy_from_slice(twice.as_ref());
    out
}

/// `0x` + 40 hex digits, any case (no EIP-55 checksum check: the provider accepts lower case).
pub fn is_evm_address(address: &str) -> bool {
    address
        .strip_prefix("0x")
        .is_some_and(|hex| hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A TRON base58check address: 34 chars, decodes to 0x41 + 20 bytes + 4-byte double-SHA-256 checksum.
pub fn is_tron_address(address: &str) -> bool {
    if address.len() != 34 || !address.starts_with('T') {
        return false;
    }
    let Some(bytes) = base58_decode(address) else {
        return false;
    };
    if bytes.len() != 25 || bytes[0] != 0x41 {
        return false;
    }
    let (payload, checksum) = bytes.split_at(21);
    sha256d(payload)[..4] == *checksum
}

/// The TRON address (base58check of `0x41` + `body` + checksum) of a 20-byte account body.
fn tron_address(body: &[u8; 20]) -> String {
    let mut bytes = Vec::with_capacity(25);
    bytes.push(0x41);
    bytes.extend_from_slice(body);
    let checksum = sha256d(&bytes);
    bytes.extend_from_slice(&checksum[..4]);
    base58_encode(&bytes)
}

/// Bitcoin-alphabet base58 encoding (leading zero bytes become `1`s).
fn base58_encode(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian base-58 digits
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    let mut out = "1".repeat(zeros);
    out.extend(
        digits
            .iter()
            .rev()
            .map(|&d| char::from(BASE58_ALPHABET[d as usize])),
    );
    out
}

const BASE58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Bitcoin-alphabet base58 decoding (leading `1`s become zero bytes).
fn base58_decode(text: &str) -> Option<Vec<u8>> {
    let mut bytes: Vec<u8> = Vec::new(); // little-endian big number
    for c in text.bytes() {
        let mut carry = BASE58_ALPHABET.iter().position(|&a| a == c)? as u32;
        for byte in bytes.iter_mut() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = text.bytes().take_while(|&b| b == b'1').count();
    bytes.extend(std::iter::repeat_n(0, zeros));
    bytes.reverse();
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(is_tron_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"));
        assert!(is_tron_address("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8"));
        assert!(!is_tron_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"));
        assert!(!is_tron_address(
            "0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2"
        ));
        assert!(is_evm_address("0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2"));
        assert!(is_evm_address("0xC87DD49427A188BF2B601C1D5CD2AAF36BD553D2"));
        assert!(!is_evm_address("0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d"));
        assert!(!is_evm_address("c87dd49427a188bf2b601c1d5cd2aaf36bd553d2"));
        assert!(!is_evm_address(
            "0xg87dd49427a188bf2b601c1d5cd2aaf36bd553d2"
        ));
    }

    #[test]
    fn tron_addresses_round_trip() {
        let bytes = base58_decode("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
        let body: [u8; 20] = bytes[1..21].try_into().unwrap();
        assert_eq!(tron_address(&body), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert!(is_tron_address(&tron_address(&[0u8; 20])));
        assert!(is_tron_address(&tron_address(&[0xff; 20])));
    }

    #[test]
    fn sandbox_addresses_are_stable_and_valid() {
        let evm = sandbox_address("seed", AddressKind::Evm);
        assert!(
            is_evm_address(&evm) && evm == evm.to_ascii_lowercase(),
            "{evm}"
        );
        assert_eq!(evm, sandbox_address("seed", AddressKind::Evm));
        assert_ne!(evm, sandbox_address("other", AddressKind::Evm));
        // SHA-256("seed") starts 19b25856e1c150ca834cffc8b59b23adbd0ec0389e58eb22b3b64768098d002b.
        assert_eq!(evm, "0x19b25856e1c150ca834cffc8b59b23adbd0ec038");
        assert!(is_tron_address(&sandbox_address("seed", AddressKind::Tron)));
    }
}

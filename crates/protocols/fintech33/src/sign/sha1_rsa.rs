//! RSASSA-PKCS1-v1_5 with SHA-1 signing through AWS-LC directly: aws-lc-rs only verifies SHA-1.
//!
//! The merchant option "SHA1" (§3.2) needs signing in both directions (the platform signs responses
//! and webhooks, the client SDK signs requests). aws-lc-rs's signing encodings are sealed and stop at
//! SHA-256+, so this module parses the same PKCS#8 key once into an AWS-LC `RSA` object and calls
//! `RSA_sign(NID_sha1, …)`: the same constant-time, blinded implementation aws-lc-rs uses.

use aws_lc_rs::digest;
use aws_lc_sys as sys;
use std::ptr::NonNull;

/// An RSA private key held by AWS-LC, used only for SHA-1 PKCS#1 v1.5 signatures.
pub(crate) struct Sha1RsaSigner {
    rsa: NonNull<sys::RSA>,
}

// SAFETY: AWS-LC documents RSA objects as safe for concurrent use by signing operations (it locks
// its blinding and Montgomery caches internally); we never mutate the key after construction and
// free it exactly once in Drop.
unsafe impl Send for Sha1RsaSigner {}
unsafe impl Sync for Sha1RsaSigner {}

impl Sha1RsaSigner {
    /// Parses a PKCS#8 `PrivateKeyInfo` holding an RSA key. `None` if it is not one.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Option<Self> {
        // SAFETY: CBS borrows `der` only for the duration of EVP_parse_private_key; every pointer
        // returned by AWS-LC is checked for null and ownership is released exactly once.
        unsafe {
            let mut cbs = sys::CBS {
                data: std::ptr::null(),
                len: 0,
            };
            sys::CBS_init(&mut cbs, der.as_ptr(), der.len());
            let pkey = sys::EVP_parse_private_key(&mut cbs);
            if pkey.is_null() {
                return None;
            }
            let rsa = if sys::EVP_PKEY_id(pkey) == sys::EVP_PKEY_RSA {
                sys::EVP_PKEY_get1_RSA(pkey)
            } else {
                std::ptr::null_mut()
            };
            sys::EVP_PKEY_free(pkey);
            NonNull::new(rsa).map(|rsa| Sha1RsaSigner { rsa })
        }
    }

    /// The PKCS#1 v1.5 signature of SHA-1(`msg`); `None` only on an internal AWS-LC failure.
    pub(crate) fn sign(&self, msg: &[u8]) -> Option<Vec<u8>> {
        let hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, msg);
        let hash = hash.as_ref();
        // SAFETY: `self.rsa` is a live RSA key; `out` has RSA_size bytes, the maximum RSA_sign
        // writes, and `written` reports how many it did write.
        unsafe {
            let size = sys::RSA_size(self.rsa.as_ptr()) as usize;
            let mut out = vec![0u8; size];
            let mut written: std::os::raw::c_uint = 0;
            let ok = sys::RSA_sign(
                sys::NID_sha1,
                hash.as_ptr(),
                hash.len(),
                out.as_mut_ptr(),
                &mut written,
                self.rsa.as_ptr(),
            );
            if ok != 1 || written as usize > size {
                return None;
            }
            out.truncate(written as usize);
            Some(out)
        }
    }
}

impl Drop for Sha1RsaSigner {
    fn drop(&mut self) {
        // SAFETY: we own one reference (EVP_PKEY_get1_RSA) and release it once.
        unsafe { sys::RSA_free(self.rsa.as_ptr()) }
    }
}

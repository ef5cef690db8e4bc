//! The 33 Fintech RSA bound: what this machine could answer if createOrder cost nothing but its
//! RSA work. The response signature (RSA-2048 private key, the merchant's hash option) is the
//! costly step; the server's other RSA operation, verifying the merchant's request signature, is
//! a public-key operation some 30 times cheaper. Both are timed here single-threaded with the
//! crate's own functions and the node's platform key, and the bound is cores / sign time.

use super::Row;
use polypay_fintech33::{PlatformKeys, SignHash};
use std::time::{Duration, Instant};

/// A representative createOrder response `R` (what the server signs), about 400 bytes.
const RESPONSE: &[u8] = br#"{"statusCode":0,"message":"success","data":{"orderID":"O2026112205161234567","order_sn":"b19f3a2c4d5e-12345","currency":"USD","amount":"99.99","status":"New","payerID":"P100000001","createdAt":"2026-11-22 05:16:12","paymentUrl":"http://127.0.0.1:8080/cashier/pay/3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a","purposeOfTransaction":"PAY_FOR_GOODS","description":"bench order"}}"#;

/// Sign and verify times measured on one thread.
#[derive(Debug, Clone)]
pub struct RsaTimes {
    /// Each signature's time, sorted.
    pub sign: Vec<Duration>,
    pub verify_mean: Duration,
    pub cores: usize,
}

impl RsaTimes {
    pub fn sign_mean(&self) -> Duration {
        mean(&self.sign)
    }

    /// Requests/s if every core did nothing but sign responses.
    pub fn bound_rps(&self) -> f64 {
        bound_rps(self.cores, self.sign_mean())
    }

    /// The same with the request's signature verification counted too.
    pub fn bound_with_verify_rps(&self) -> f64 {
        bound_rps(self.cores, self.sign_mean() + self.verify_mean)
    }
}

/// `cores / per_request`: the throughput of `cores` threads each spending `per_request` on a
/// request and nothing else.
pub fn bound_rps(cores: usize, per_request: Duration) -> f64 {
    if per_request.is_zero() {
        return 0.0;
    }
    cores as f64 / per_request.as_secs_f64()
}

fn mean(samples: &[Duration]) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap_or(u32::MAX)
}

/// Times `n` signatures and `n` verifications with the platform key (PEM) on this thread.
pub fn measure(platform_key_pem: &str, n: usize) -> anyhow::Result<RsaTimes> {
    let keys = PlatformKeys::from_text(platform_key_pem).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = keys.private_key();
    let signature = key
        .sign(SignHash::Sha256, RESPONSE)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sign = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let s = key
            .sign_b64(SignHash::Sha256, RESPONSE)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        sign.push(t.elapsed());
        std::hint::black_box(s);
    }
    sign.sort_unstable();
    let public = keys.public_key();
    let t = Instant::now();
    for _ in 0..n {
        anyhow::ensure!(
            public.verify(SignHash::Sha256, RESPONSE, &signature),
            "the platform key's own signature does not verify"
        );
    }
    let verify_mean = t.elapsed() / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    Ok(RsaTimes {
        sign,
        verify_mean,
        cores,
    })
}

/// The bound as a report row: req/s = the bound, latency columns = the sign time distribution.
pub fn row(t: &RsaTimes, backend: &str, baseline_rps: f64) -> Row {
    let q = |q: f64| {
        let i = ((t.sign.len().saturating_sub(1)) as f64 * q).round() as usize;
        t.sign.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Row {
        name: "fintech33 RSA bound".into(),
        backend: backend.into(),
        rps: t.bound_rps(),
        p50_ms: q(0.5),
        p90_ms: q(0.9),
        p99_ms: q(0.99),
        max_ms: q(1.0),
        requests: t.sign.len() as u64,
        errors: 0,
        ratio_to_baseline: (baseline_rps > 0.0).then(|| t.bound_rps() / baseline_rps),
        note: format!(
            "{} cores / {:.3} ms RSA-2048 SHA256 sign (latency columns: sign time); with the \
             request's verify ({:.3} ms) too: {:.0}/s",
            t.cores,
            t.sign_mean().as_secs_f64() * 1000.0,
            t.verify_mean.as_secs_f64() * 1000.0,
            t.bound_with_verify_rps()
        ),
        runs: Vec::new(),
    }
}

/// The note appended to the fintech33 create-payment row.
pub fn share_note(measured_rps: f64, t: &RsaTimes) -> String {
    format!(
        "{:.0}% of RSA bound {:.0}/s",
        100.0 * measured_rps / t.bound_rps().max(1e-9),
        t.bound_rps()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_cores_over_time() {
        let b = bound_rps(2, Duration::from_micros(800));
        assert!((b - 2500.0).abs() < 1e-6, "{b}");
        assert_eq!(bound_rps(2, Duration::ZERO), 0.0);
    }

    #[test]
    fn share_and_row_use_the_sign_time() {
        let t = RsaTimes {
            sign: vec![Duration::from_micros(700), Duration::from_micros(900)],
            verify_mean: Duration::from_micros(30),
            cores: 2,
        };
        assert_eq!(t.sign_mean(), Duration::from_micros(800));
        assert!((t.bound_with_verify_rps() - 2.0 / 0.000_83).abs() < 1e-6);
        assert_eq!(share_note(2000.0, &t), "80% of RSA bound 2500/s");
        let r = row(&t, "sqlite", 50_000.0);
        assert!((r.rps - 2500.0).abs() < 1e-6);
        assert!((r.max_ms - 0.9).abs() < 1e-9);
        assert!((r.ratio_to_baseline.unwrap() - 0.05).abs() < 1e-9);
    }

    #[test]
    fn the_platform_key_signs_and_verifies() {
        let keys = PlatformKeys::generate().unwrap();
        // Base64 DER: one of the textual forms the node's PEM parser accepts.
        let text = polypay_fintech33::sign::b64_encode(&keys.to_pkcs8_der().unwrap());
        let t = measure(&text, 3).unwrap();
        assert_eq!(t.sign.len(), 3);
        assert!(t.sign_mean() > Duration::ZERO && t.bound_rps() > 0.0);
    }
}

//! The notifier's metrics: deliveries sent, acknowledged, failed and dead, attempt latency, and
//! the queue depth. Labelled by protocol only (never by merchant: unbounded cardinality).

use polypay_core::Protocol;
use polypay_store::AttemptOutcome;
use std::time::Duration;

pub const SENT: &str = "polypay_callbacks_sent_total";
pub const ACKNOWLEDGED: &str = "polypay_callbacks_acknowledged_total";
pub const FAILED: &str = "polypay_callbacks_failed_total";
pub const DEAD: &str = "polypay_callbacks_dead_total";
pub const LATENCY: &str = "polypay_callback_attempt_duration_seconds";
pub const QUEUE_DEPTH: &str = "polypay_callback_queue_depth";

/// Registers the descriptions (once per process is enough; repeating is harmless).
pub fn describe() {
    metrics::describe_counter!(SENT, "Callback attempts made");
    metrics::describe_counter!(ACKNOWLEDGED, "Callback attempts the merchant acknowledged");
    metrics::describe_counter!(
        FAILED,
        "Callback attempts not acknowledged (error or other answer)"
    );
    metrics::describe_counter!(DEAD, "Deliveries given up after their last attempt");
    metrics::describe_histogram!(LATENCY, metrics::Unit::Seconds, "Callback attempt latency");
    metrics::describe_gauge!(
        QUEUE_DEPTH,
        "Deliveries pending (not acknowledged, dead or skipped)"
    );
}

/// Counts one attempt and its latency.
pub fn attempt(protocol: Protocol, outcome: AttemptOutcome, latency: Duration) {
    let p = protocol.as_str();
    metrics::counter!(SENT, "protocol" => p).increment(1);
    let name = if outcome == AttemptOutcome::Acknowledged {
        ACKNOWLEDGED
    } else {
        FAILED
    };
    metrics::counter!(name, "protocol" => p).increment(1);
    metrics::histogram!(LATENCY, "protocol" => p).record(latency.as_secs_f64());
}

pub fn dead(protocol: Protocol) {
    metrics::counter!(DEAD, "protocol" => protocol.as_str()).increment(1);
}

pub fn queue_depth(pending: i64) {
    metrics::gauge!(QUEUE_DEPTH).set(pending as f64);
}

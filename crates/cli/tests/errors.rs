//! How the binary reports a failed command.

use std::process::Command;

#[test]
fn a_failed_command_prints_its_error_without_a_backtrace_and_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_polypay"))
        .args([
            "client",
            "fintech33",
            "token",
            "--credentials",
            "/nonexistent/polypay-credentials.json",
        ])
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .output()
        .expect("run polypay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("Error: "), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/polypay-credentials.json"),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

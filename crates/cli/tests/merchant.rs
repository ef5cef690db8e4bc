//! `polypay merchant …` against a SQLite data directory of its own.

use std::process::{Command, Output};

fn polypay(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_polypay"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("POLYPAY_DATABASE_URL")
        .env_remove("POLYPAY_CONFIG")
        .output()
        .expect("run polypay")
}

/// `polypay` on `data_dir` with `POLYPAY_MODE` set to `mode`, or unset.
fn polypay_in_mode(data_dir: &std::path::Path, mode: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_polypay"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("POLYPAY_DATABASE_URL")
        .env_remove("POLYPAY_CONFIG")
        .env_remove("POLYPAY_MODE");
    if let Some(mode) = mode {
        cmd.env("POLYPAY_MODE", mode);
    }
    cmd.output().expect("run polypay")
}

fn json_of(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn a_merchant_is_updated_disabled_and_enabled_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let created = json_of(&polypay(
        dir.path(),
        &["merchant", "create", "--name", "shop", "--json"],
    ));
    let id = created["id"].as_str().expect("id").to_string();

    let updated = json_of(&polypay(
        dir.path(),
        &[
            "merchant",
            "update",
            &id,
            "--disable",
            "--notify-url",
            " https://shop.example/cb ",
        ],
    ));
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["notify_url"], "https://shop.example/cb");
    let shown = json_of(&polypay(dir.path(), &["merchant", "show", &id]));
    assert_eq!(
        (&shown["enabled"], &shown["name"]),
        (&serde_json::json!(false), &serde_json::json!("shop")),
        "stored"
    );

    let again = json_of(&polypay(
        dir.path(),
        &["merchant", "update", &id, "--enable", "--notify-url", ""],
    ));
    assert_eq!(again["enabled"], true);
    assert!(again["notify_url"].is_null(), "an empty URL removes it");

    // A rotation prints the new value once and changes that secret alone.
    let rotated = json_of(&polypay(
        dir.path(),
        &["merchant", "rotate", &id, "v2sha256.appSecret"],
    ));
    let fresh = rotated["value"].as_str().expect("value");
    let before = created["credentials"]["v2sha256"]["appSecret"]
        .as_str()
        .unwrap();
    assert!(fresh.len() >= 32 && fresh != before, "{rotated}");
    assert_eq!(rotated["secret"], "v2sha256.appSecret");

    // Each change is in the audit log, newest first, with the OS user who ran the command.
    let out = polypay(dir.path(), &["audit", "--merchant", &id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stdout);
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let actions: Vec<_> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "merchant.rotate", "{log}");
    assert_eq!(actions.last(), Some(&"merchant.create"), "{log}");
    assert!(
        entries
            .iter()
            .all(|e| e["actor"].as_str().unwrap().starts_with("cli:")
                && e["source"].as_str().unwrap().starts_with("local:")),
        "{log}"
    );
    assert!(!log.contains(fresh), "a rotated value is never recorded");
    // The user is the process's account, not whatever `$USER` says; the table escapes what
    // it prints.
    let out = Command::new(env!("CARGO_BIN_EXE_polypay"))
        .args(["merchant", "update", &id, "--name", "renamed", "--data-dir"])
        .arg(dir.path())
        .env("USER", "alice\nforged row")
        .env("LOGNAME", "alice")
        .env_remove("POLYPAY_DATABASE_URL")
        .env_remove("POLYPAY_CONFIG")
        .output()
        .expect("run polypay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = json_of(&polypay(dir.path(), &["audit", "--limit", "1", "--json"]));
    assert_eq!(last["action"], "merchant.update");
    assert_eq!(last["actor"], entries[0]["actor"], "{last}");
    assert!(!last["actor"].as_str().unwrap().contains("alice"));

    let statement = json_of(&polypay(
        dir.path(),
        &["merchant", "ledger", &id, "--currency", "usd", "--json"],
    ));
    assert_eq!(
        (&statement["available"], &statement["currency"]),
        (&serde_json::json!("0.00"), &serde_json::json!("USD")),
        "{statement}"
    );

    for (args, why) in [
        (vec!["merchant", "update", id.as_str()], "nothing to change"),
        (
            vec!["merchant", "update", id.as_str(), "--name", "  "],
            "name must be 1-128 characters",
        ),
        (
            vec!["merchant", "update", "mch_nobody", "--disable"],
            "merchant not found",
        ),
        (
            vec!["merchant", "ledger", id.as_str(), "--currency", "EURO"],
            "unknown currency \"EURO\"",
        ),
        (
            vec!["audit", "--merchant", "mch_nobody"],
            "no merchant mch_nobody",
        ),
        (
            vec!["audit", "--limit", "0"],
            "limit must be a whole number",
        ),
        (
            vec!["merchant", "rotate", id.as_str(), "v2sha256.password"],
            "unknown secret \"v2sha256.password\" (passtopay.appSecret,",
        ),
    ] {
        let out = polypay(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}

#[test]
fn a_command_with_another_master_key_is_refused_before_it_seals_anything() {
    let home = tempfile::tempdir().expect("temp dir");
    json_of(&polypay(
        home.path(),
        &["merchant", "create", "--name", "shop", "--json"],
    ));
    let db = format!("sqlite://{}", home.path().join("polypay.db").display());

    // Run from elsewhere against the same database: a fresh key would be generated there.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let out = polypay(
        elsewhere.path(),
        &[
            "merchant",
            "create",
            "--name",
            "sealed with the wrong key",
            "--database-url",
            &db,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is not the one this database's secrets are sealed with"),
        "{stderr}"
    );
    assert!(
        !elsewhere.path().join("master.key").exists(),
        "the useless key is not left behind"
    );
    let listed =
        String::from_utf8_lossy(&polypay(home.path(), &["merchant", "list"]).stdout).to_string();
    assert!(
        listed.contains("shop") && !listed.contains("wrong key"),
        "{listed}"
    );
}

#[test]
fn an_operator_command_in_the_wrong_directory_creates_nothing_there() {
    let empty = tempfile::tempdir().expect("temp dir");
    let dir = empty.path().join("polypay-data");
    for args in [
        vec!["callbacks", "show", "5"],
        vec!["merchant", "list"],
        vec!["merchant", "update", "mch_1", "--disable"],
    ] {
        let out = polypay(&dir, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no polypay database at") && stderr.contains("--data-dir"),
            "{args:?}: {stderr}"
        );
    }
    assert!(!dir.exists(), "no data dir, key or database was made");
}

/// A database a newer polypay migrated: `migrate` says so when the newer migrations let this
/// version run, and every command refuses, naming why, when one does not.
#[test]
fn commands_on_a_database_a_newer_polypay_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(polypay(dir.path(), &["migrate"]).status.success());
    let known = polypay_store::schema_version();
    let url = format!("sqlite://{}", dir.path().join("polypay.db").display());
    let newer = |version: i64, min_known: i64| {
        let url = url.clone();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let vault = polypay_store::testing::test_vault();
                let store = polypay_store::Store::open(&url, vault, Default::default()).unwrap();
                polypay_store::testing::pretend_migrated(&store, version, Some(min_known))
                    .await
                    .unwrap();
                store.close();
            })
    };
    newer(known + 1, known);
    let out = polypay(dir.path(), &["migrate"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "database schema {} is newer than this polypay's {known}",
            known + 1
        )),
        "{stdout}"
    );
    newer(known + 2, known + 2);
    for args in [
        vec!["migrate"],
        vec!["merchant", "list"],
        vec!["callbacks", "list"],
    ] {
        let out = polypay(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "its migration {} needs a polypay that knows migration {}",
                known + 2,
                known + 2
            )),
            "{args:?}: {stderr}"
        );
    }
}

/// `callbacks list` names a merchant that does not exist as such, not as "no callbacks".
#[test]
fn callbacks_list_refuses_a_merchant_that_does_not_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(polypay(dir.path(), &["migrate"]).status.success());
    for (merchant, why) in [
        ("mch_nope", "no merchant mch_nope"),
        ("bob", "--merchant must be a merchant's id"),
    ] {
        let out = polypay(dir.path(), &["callbacks", "list", "--merchant", merchant]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{merchant}: {stderr}");
        assert!(stderr.contains(why), "{merchant}: {stderr}");
    }
    let all = polypay(dir.path(), &["callbacks", "list"]);
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
}

/// The first command that asks for a mode records the installation's; later commands take it,
/// and one that asks for the other mode is refused.
#[test]
fn an_installation_keeps_the_mode_it_was_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |mode: Option<&str>, args: &[&str]| polypay_in_mode(dir.path(), mode, args);
    let first = run(Some("gateway"), &["migrate"]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{stdout}");
    assert!(
        stdout.starts_with("applied ") && stdout.contains("database is up to date (sqlite)"),
        "{stdout}"
    );
    let again = run(None, &["migrate"]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "database is up to date (sqlite)\n"
    );

    // No mode asked for: the gateway's is taken, so no private keys are made for the merchant.
    let created = json_of(&run(
        None,
        &["merchant", "create", "--name", "gw", "--json"],
    ));
    let credentials = created["credentials"].to_string();
    assert!(
        !credentials.contains("PrivateKey") && created["credentials"]["fintech33"].is_object(),
        "{created}"
    );

    // A merchant created first, with no mode asked for, makes a sandbox installation (it
    // got sandbox keys): a gateway cannot then be started on it.
    let other = tempfile::tempdir().expect("temp dir");
    let in_other = |mode: Option<&str>, args: &[&str]| polypay_in_mode(other.path(), mode, args);
    json_of(&in_other(
        None,
        &["merchant", "create", "--name", "sb", "--json"],
    ));
    let gateway = in_other(Some("gateway"), &["migrate"]);
    assert_eq!(gateway.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gateway.stderr).contains("belongs to a sandbox-mode"));

    let refused = run(Some("sandbox"), &["merchant", "list"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("belongs to a gateway-mode installation")
            && stderr.contains("this run asked for sandbox mode"),
        "{stderr}"
    );
}

#[test]
fn a_public_key_is_registered_from_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let created = json_of(&polypay(
        dir.path(),
        &["merchant", "create", "--name", "shop", "--json"],
    ));
    let id = created["id"].as_str().expect("id").to_string();
    // BlockATM's spec key (its T1 pair), as PEM.
    let spki = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsjqDDEF5uuVoAFCxftskpMszLQMro888rFlrowcTzVibc4J2PgDywFZYXc6x21yHcenJ2bCZ/03XkMrbKqqEwA==";
    let file = dir.path().join("ec.pem");
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{spki}\n-----END PUBLIC KEY-----\n");
    std::fs::write(&file, pem).unwrap();
    let path = file.to_str().unwrap();
    let registered = json_of(&polypay(
        dir.path(),
        &["merchant", "public-key", &id, "blockatm", path],
    ));
    assert_eq!(registered["publicKey"], spki);
    let refused = polypay(
        dir.path(),
        &["merchant", "public-key", &id, "fintech33", path],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a usable RSA public key"), "{stderr}");
}

/// A reader that goes away (`polypay merchant list | head -0`) ends the command as it ends a
/// Unix tool, status 141 and no panic on standard error.
#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let created = polypay(dir.path(), &["merchant", "create", "--name", "shop"]);
    assert!(created.status.success());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_polypay"))
        .args(["merchant", "list", "--data-dir"])
        .arg(dir.path())
        .env_remove("POLYPAY_DATABASE_URL")
        .env_remove("POLYPAY_CONFIG")
        .env("RUST_BACKTRACE", "1")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run polypay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

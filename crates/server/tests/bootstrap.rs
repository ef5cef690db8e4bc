//! Start-up: the demo merchant a sandbox makes on its first start, and that a gateway does not.

use polypay_server::bootstrap::ensure_demo_merchant;
use polypay_server::config::{Config, Overrides};
use polypay_store::testing::TestDb;

fn config(db: &TestDb, mode: &str) -> Config {
    config_in(db, Some(mode))
}

/// A node's configuration on `db`, with `mode` asked for or (`None`) defaulted.
fn config_in(db: &TestDb, mode: Option<&str>) -> Config {
    Overrides {
        data_dir: Some(tempfile::tempdir().expect("temp dir").keep()),
        database_url: Some(db.url.clone()),
        admin_token: Some("test-admin-token".into()),
        master_key: Some("00".repeat(32)),
        mode: mode.map(str::to_owned),
        ..Default::default()
    }
    .resolve()
    .expect("config")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_makes_no_demo_merchant() {
    for db in TestDb::all() {
        let mut c = config(&db, "gateway");
        let boot = polypay_server::bootstrap_node(&mut c).await.unwrap();
        let demo = ensure_demo_merchant(&boot.engine, &c).await.unwrap();
        assert!(demo.is_none(), "{}", db.name);
        assert!(boot.engine.merchants().await.unwrap().is_empty());
        assert!(!c.data_dir.join("demo-merchant.json").exists());
        boot.engine.store().close();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_nodes_starting_together_make_one_demo_merchant() {
    for db in TestDb::all() {
        let (mut a, mut b) = (config(&db, "sandbox"), config(&db, "sandbox"));
        let one = polypay_server::bootstrap_node(&mut a).await.unwrap();
        let two = polypay_server::bootstrap_node(&mut b).await.unwrap();
        let (x, y) = tokio::join!(
            ensure_demo_merchant(&one.engine, &a),
            ensure_demo_merchant(&two.engine, &b)
        );
        let made = [x.unwrap(), y.unwrap()];
        assert_eq!(made.iter().flatten().count(), 1, "{}", db.name);
        let merchants = one.engine.merchants().await.unwrap();
        assert_eq!(merchants.len(), 1, "{}", db.name);
        assert_eq!(merchants[0].name, "demo");
        let files = [&a, &b]
            .iter()
            .filter(|c| c.data_dir.join("demo-merchant.json").exists())
            .count();
        assert_eq!(
            files, 1,
            "only the node that made it writes its credentials"
        );
        one.engine.store().close();
        two.engine.store().close();
    }
}

/// The admin token a start generated is shown (printed by `serve`) until `serve` records it
/// shown: a start that died before printing it, or a `merchant create` that made the
/// installation, leaves it to the next start to show, not lost in the database.
#[tokio::test(flavor = "multi_thread")]
async fn a_generated_admin_token_is_shown_until_recorded_shown() {
    for db in TestDb::all() {
        let mut c = config(&db, "sandbox");
        c.admin_token = None;
        let first = polypay_server::bootstrap_node(&mut c).await.unwrap();
        assert!(first.admin_token_unshown, "{}", db.name);
        let token = first.admin_token.expose().to_string();
        first.engine.store().close();
        // Died before printing it: the next start shows the same token.
        let second = polypay_server::bootstrap_node(&mut c).await.unwrap();
        assert!(second.admin_token_unshown, "{}", db.name);
        assert_eq!(second.admin_token.expose(), token);
        polypay_server::bootstrap::admin_token_shown(&second.engine)
            .await
            .unwrap();
        second.engine.store().close();
        let third = polypay_server::bootstrap_node(&mut c).await.unwrap();
        assert!(!third.admin_token_unshown, "{}", db.name);
        assert_eq!(third.admin_token.expose(), token);
        third.engine.store().close();
    }
}

/// What a first start that died part-way leaves behind does not stop the next one: a claim
/// with no merchant (an earlier version committed the two apart) is taken over, and a file of
/// credentials for a merchant that was never stored is replaced by the stored one's.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_start_that_died_part_way_is_completed_by_the_next() {
    for db in TestDb::all() {
        let mut c = config(&db, "sandbox");
        let boot = polypay_server::bootstrap_node(&mut c).await.unwrap();
        let now = boot.engine.clock().now();
        boot.engine
            .store()
            .write(move |db| db.platform_secret_or_insert("demo_merchant_claim", b"gone", now))
            .await
            .unwrap();
        let file = c.data_dir.join("demo-merchant.json");
        std::fs::write(&file, r#"{"id":"mch_never_stored"}"#).unwrap();
        let demo = ensure_demo_merchant(&boot.engine, &c).await.unwrap();
        let demo = demo.expect("made at the next start");
        let merchants = boot.engine.merchants().await.unwrap();
        assert_eq!(merchants.len(), 1, "{}", db.name);
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(written, demo);
        assert_eq!(written["id"], merchants[0].id.as_str());
        assert_eq!(
            written["credentials"]["passtopay"]["mchNo"],
            merchants[0].credentials.passtopay.mch_no
        );
        // Made: later starts leave it alone.
        assert!(
            ensure_demo_merchant(&boot.engine, &c)
                .await
                .unwrap()
                .is_none()
        );

        // A start that died between the commit and the rename: the next start renames the
        // file the claim names (and prints it); pending files naming no merchant go.
        let id = merchants[0].id.as_str().to_string();
        let pending = c.data_dir.join(format!(".demo-merchant.{id}.json"));
        std::fs::rename(&file, &pending).unwrap();
        let stray = c.data_dir.join(".demo-merchant.mch_lost.json");
        std::fs::write(&stray, "{}").unwrap();
        let again = ensure_demo_merchant(&boot.engine, &c).await.unwrap();
        assert_eq!(again.as_ref(), Some(&demo), "{}", db.name);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), pretty(&demo));
        assert!(!pending.exists() && !stray.exists());
        assert!(
            ensure_demo_merchant(&boot.engine, &c)
                .await
                .unwrap()
                .is_none()
        );
        boot.engine.store().close();
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// Nodes starting at once on one database and one data dir (several processes on a host):
/// one demo merchant, and its file is the one left, with no pending file beside it.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_sharing_a_data_dir_leave_the_made_merchants_file() {
    for db in TestDb::all() {
        let (mut a, mut b) = (config(&db, "sandbox"), config(&db, "sandbox"));
        b.data_dir = a.data_dir.clone();
        let one = polypay_server::bootstrap_node(&mut a).await.unwrap();
        let two = polypay_server::bootstrap_node(&mut b).await.unwrap();
        let (x, y) = tokio::join!(
            ensure_demo_merchant(&one.engine, &a),
            ensure_demo_merchant(&two.engine, &b)
        );
        let made: Vec<_> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
        assert_eq!(made.len(), 1, "{}", db.name);
        let merchants = one.engine.merchants().await.unwrap();
        assert_eq!(merchants.len(), 1, "{}", db.name);
        let file = a.data_dir.join("demo-merchant.json");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), pretty(&made[0]));
        assert_eq!(made[0]["id"], merchants[0].id.as_str());
        let left: Vec<_> = std::fs::read_dir(&a.data_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".demo-merchant."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        one.engine.store().close();
        two.engine.store().close();
    }
}

/// A database in use from before modes were recorded (a merchant, no record) gets no
/// defaulted mode: it may be a gateway whose nodes were started with `--mode`. A mode asked
/// for is recorded, and from then on the other one is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_in_use_from_before_modes_gets_no_defaulted_mode() {
    for db in TestDb::all() {
        let vault = polypay_store::Vault::from_key_bytes(&[0; 32]).unwrap();
        let store = polypay_store::Store::open(&db.url, vault, Default::default()).unwrap();
        let clock = std::sync::Arc::new(polypay_core::SystemClock::new());
        let old = polypay_engine::Engine::new(store.clone(), clock);
        let new = polypay_engine::NewMerchant {
            name: "from before".into(),
            ..Default::default()
        };
        old.create_merchant(new).await.unwrap();
        store.close();

        let mut defaulted = config_in(&db, None);
        let boot = polypay_server::bootstrap_node(&mut defaulted)
            .await
            .unwrap();
        boot.engine.store().close();
        let mut gateway = config(&db, "gateway");
        let boot = polypay_server::bootstrap_node(&mut gateway).await;
        let boot = boot.unwrap_or_else(|e| panic!("{}: {e}", db.name));
        boot.engine.store().close();
        let mut sandbox = config(&db, "sandbox");
        let refused = polypay_server::bootstrap_node(&mut sandbox).await.err();
        let why = refused.expect("the other mode is refused").to_string();
        assert!(why.contains("gateway-mode installation"), "{why}");
        assert!(why.contains("DELETE FROM platform_secrets"), "{why}");
    }
}

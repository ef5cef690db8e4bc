//! Start-up: the demo merchant a sandbox makes on its first start, and that a gateway does not.

use polypay_server::bootstrap::ensure_demo_merchant;
use polypay_server::config::{Config, Overrides};
use polypay_store::testing::TestDb;

fn config(db: &TestDb, mode: &str) -> Config {
    Overrides {
        data_dir: Some(tempfile::tempdir().expect("temp dir").keep()),
        database_url: Some(db.url.clone()),
        admin_token: Some("test-admin-token".into()),
        master_key: Some("00".repeat(32)),
        mode: Some(mode.into()),
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

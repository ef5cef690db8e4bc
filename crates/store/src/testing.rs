//! Throwaway databases for tests: SQLite in a temp dir always, PostgreSQL in a fresh schema
//! when `POLYPAY_TEST_DATABASE_URL` is set. Used by this crate's and other crates' test suites.

use crate::error::StoreError;
use crate::store::{Store, StoreOptions};
use crate::vault::Vault;
use polypay_core::merchant::*;
use polypay_core::{Merchant, MerchantId, Timestamp};

/// A database that lives as long as this value.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    cleanup: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("polypay.db").display());
        TestDb {
            name: "sqlite",
            url,
            _dir: Some(dir),
            cleanup: None,
        }
    }

    /// A fresh schema in the PostgreSQL database named by `POLYPAY_TEST_DATABASE_URL`, if set.
    pub fn postgres() -> Option<TestDb> {
        let base = std::env::var("POLYPAY_TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())?;
        let schema = format!("t_{}", hex_id());
        let sql = format!("CREATE SCHEMA {schema}");
        crate::store::off_runtime(|| {
            let mut client = postgres::Client::connect(&base, postgres::NoTls)
                .expect("connect to test PostgreSQL");
            client.batch_execute(&sql).expect("create schema");
        });
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        Some(TestDb {
            name: "postgres",
            url,
            _dir: None,
            cleanup: Some((base, schema)),
        })
    }

    /// Every backend available to this test run.
    pub fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite()];
        v.extend(TestDb::postgres());
        v
    }

    pub fn open(&self) -> Result<Store, StoreError> {
        Store::open(&self.url, test_vault(), StoreOptions::default())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.cleanup.take() {
            crate::store::off_runtime(move || {
                if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
                }
            });
        }
    }
}

pub fn test_vault() -> Vault {
    Vault::from_key_bytes(&[42u8; 32]).expect("32-byte key")
}

/// A merchant with credentials of every protocol made from `tag` (not real keys).
pub fn merchant(tag: &str) -> Merchant {
    Merchant {
        id: MerchantId::from_random(tag),
        name: format!("shop {tag}"),
        notify_url: Some("https://example.com/notify".into()),
        enabled: true,
        created_at: Timestamp(1),
        credentials: Credentials {
            passtopay: PassToPayCredentials {
                mch_no: format!("M{tag}"),
                app_id: format!("app{tag}"),
                app_secret: Secret::new(format!("p2p-secret-{tag}-9f8e7d")),
            },
            blockatm: BlockAtmCredentials {
                api_key: format!("pk_{tag}"),
                secret_key: Secret::new(format!("sck_secret_{tag}_4242")),
                cashier_id: "1".into(),
                ec_public_key: None,
            },
            ottpay: OttPayCredentials {
                merchant_id: format!("ON{tag}"),
                sign_key: Secret::new(format!("SIGNKEY{tag}ABCDEF")),
                operator_id: "1".into(),
                shop_id: "1".into(),
            },
            v2sha256: V2Sha256Credentials {
                app_id: format!("v2{tag}"),
                app_secret: Secret::new(format!("v2secret{tag}xyz")),
            },
            fintech33: Fintech33Credentials {
                app_id: format!("F{tag}"),
                app_secret: Secret::new(format!("f33secret{tag}qq")),
                aes_key: Secret::new(format!("aeskey{tag}zz")),
                rsa_public_key: None,
            },
        },
        settings: serde_json::json!({"notify_format": "form"}),
    }
}

fn hex_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Records migration `version` as applied by a newer polypay, which said nodes knowing up to
/// `min_known` may run beside it (`None`: it said nothing, as a version without
/// `schema_compat` would). For tests of what an older node does.
pub async fn pretend_migrated(
    store: &Store,
    version: i64,
    min_known: Option<i64>,
) -> Result<(), StoreError> {
    store
        .write(move |db| {
            db.exec(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)",
                &[version.into()],
            )?;
            if let Some(min_known) = min_known {
                db.exec(
                    "INSERT INTO schema_compat (version, min_known) VALUES ($1, $2)",
                    &[version.into(), min_known.into()],
                )?;
            }
            Ok(())
        })
        .await
}

//! The operator's audit log: every change made through the admin API, the sandbox control API
//! and the console is recorded with who, from where and what, in the change's own commit; a
//! refused change leaves no entry; `GET /admin/v1/audit` lists, filters and pages it.

mod console_support;

use polypay_server::testing::TestServer;
use serde_json::{Value, json};

async fn audit(s: &TestServer, query: &str) -> Value {
    let (status, body) = s.admin_get(&format!("audit{query}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn actions(page: &Value) -> Vec<&str> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_changes_are_recorded_with_who_where_and_what() {
    for db in polypay_store::testing::TestDb::all() {
        let name = db.name;
        let s = TestServer::start_on(db, Default::default()).await;
        let (status, created) = s
            .admin_post("merchants", json!({"name": "audited shop"}))
            .await;
        assert_eq!(status, 201, "{name}: {created}");
        let m = created["id"].as_str().unwrap().to_owned();
        let (status, rotated) = s
            .admin_post(
                &format!("merchants/{m}/rotate"),
                json!({"secret": "v2sha256.appSecret"}),
            )
            .await;
        assert_eq!(status, 200, "{name}: {rotated}");
        let (status, _) = s
            .admin_patch(&format!("merchants/{m}"), json!({"enabled": false}))
            .await;
        assert_eq!(status, 200, "{name}");
        let p = s
            .engine()
            .create_payment(s.new_payment("a1", 1000, 600))
            .await
            .unwrap();
        let (status, body) = s
            .admin_post(
                "payments/PUB-a1/succeed",
                json!({"channel_order_no": "RAIL-1"}),
            )
            .await;
        assert_eq!(status, 200, "{name}: {body}");
        let (status, _) = s.sandbox("clock/advance", json!({"seconds": 5})).await;
        assert_eq!(status, 200, "{name}");

        let page = audit(&s, "").await;
        assert_eq!(
            actions(&page),
            [
                "clock.advance",
                "payment.succeed",
                "merchant.update",
                "merchant.rotate",
                "merchant.create"
            ],
            "{name}: newest first"
        );
        let entries = page["entries"].as_array().unwrap();
        for e in entries {
            assert_eq!(e["actor"], "admin-api", "{name}: {e}");
            assert_eq!(e["source"], "127.0.0.1", "{name}: {e}");
        }
        let settled = &entries[1];
        assert_eq!(settled["object_kind"], "payment");
        assert_eq!(settled["object_id"], p.id.as_str());
        assert_eq!(settled["merchant_id"], s.merchant.id.as_str());
        assert_eq!(settled["detail"]["report"]["channel_order_no"], "RAIL-1");
        assert_eq!(entries[2]["detail"], json!({"enabled": false}));
        assert_eq!(
            entries[3]["detail"],
            json!({"secret": "v2sha256.appSecret"})
        );
        assert_eq!(entries[4]["merchant_id"], m.as_str());
        assert_eq!(entries[0]["detail"], json!({"ms": 5000}));
        let value = rotated["value"].as_str().unwrap();
        assert!(
            !page.to_string().contains(value),
            "{name}: a rotated secret's value is never recorded"
        );
        // Real time, not the sandbox's travelled clock.
        let now = polypay_core::Timestamp(jiff::Timestamp::now().as_millisecond());
        let at = entries[0]["at"].as_i64().unwrap();
        assert!((now.0 - at).abs() < 60_000, "{name}: {at} vs {now:?}");

        // A change the state machine refuses is not recorded: no entry without its change.
        let (status, body) = s
            .admin_post("payments/PUB-a1/fail", json!({"code": "LATE"}))
            .await;
        assert_eq!(status, 409, "{name}: {body}");
        assert_eq!(audit(&s, "").await["entries"].as_array().unwrap().len(), 5);
        // So is a jump the clock refuses, and a body with a field it does not take.
        for refused in [
            json!({"seconds": 99_999_999_999i64}),
            json!({"seconds": 1, "x": 2}),
            json!({"seconds": 1, "ms": 5}),
            json!({}),
        ] {
            let (status, body) = s.sandbox("clock/advance", refused).await;
            assert_eq!(status, 400, "{name}: {body}");
        }
        assert_eq!(audit(&s, "").await["entries"].as_array().unwrap().len(), 5);

        // Filters and paging.
        let mine = audit(&s, &format!("?merchant={m}")).await;
        assert_eq!(
            actions(&mine),
            ["merchant.update", "merchant.rotate", "merchant.create"]
        );
        let of_payment = audit(&s, &format!("?object={}", p.id)).await;
        assert_eq!(actions(&of_payment), ["payment.succeed"]);
        let first = audit(&s, "?limit=2").await;
        assert_eq!(actions(&first), ["clock.advance", "payment.succeed"]);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = audit(&s, &format!("?limit=2&cursor={cursor}")).await;
        assert_eq!(actions(&second), ["merchant.update", "merchant.rotate"]);
        let cursor = second["next_cursor"].as_str().unwrap();
        let last = audit(&s, &format!("?limit=2&cursor={cursor}")).await;
        assert_eq!(actions(&last), ["merchant.create"]);
        assert!(last["next_cursor"].is_null());
        for bad in [
            "?limit=0",
            "?limit=1001",
            "?merchant=",
            "?merchant=mch_nobody",
            "?cursor=x",
            "?merchnt=1",
        ] {
            let (status, body) = s.admin_get(&format!("audit{bad}")).await;
            assert_eq!(status, 400, "{name} {bad}: {body}");
            assert!(body["error"].is_string(), "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn console_changes_name_their_session() {
    let s = TestServer::start().await;
    let op = console_support::Operator::sign_in(&s).await;
    let id = s.merchant.id.clone();
    let rotated = op
        .post(
            &format!("/console/merchants/{id}/rotate"),
            &[("secret", "passtopay.appSecret")],
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let page = audit(&s, "").await;
    let entry = &page["entries"][0];
    assert_eq!(entry["action"], "merchant.rotate");
    let actor = entry["actor"].as_str().unwrap();
    let label = actor.strip_prefix("console:").expect(actor);
    assert!(
        label.len() == 8 && label.chars().all(|c| c.is_ascii_hexdigit()),
        "{actor}"
    );
    // The sign-in before it ties the label to a time and an address.
    let signed_in = &page["entries"][1];
    assert_eq!(signed_in["action"], "console.sign_in", "{page}");
    assert_eq!(
        (&signed_in["actor"], &signed_in["object_id"]),
        (&entry["actor"], &json!(label))
    );
    assert_eq!(signed_in["source"], "127.0.0.1");
    assert!(
        !rotated.body.is_empty() && !op.cookie.contains(label),
        "not the cookie"
    );
    assert_eq!(entry["detail"], json!({"secret": "passtopay.appSecret"}));

    // The console's page shows it, filtered by merchant; a bad filter is said, not obeyed.
    let shown = op.get(&format!("/console/audit?merchant={id}")).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown.body.contains("data-action=\"merchant.rotate\""),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(actor));
    let other = op.get("/console/audit?merchant=mch_other").await;
    assert!(
        other.body.contains("No operator changes yet."),
        "{}",
        other.body
    );
    let bad = op.get("/console/audit?before=x").await;
    assert!(bad.body.contains("id=\"filter-problem\""), "{}", bad.body);
    assert!(bad.body.contains("data-action=\"merchant.rotate\""));
}

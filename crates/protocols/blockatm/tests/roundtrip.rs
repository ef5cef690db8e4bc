//! Client builders against the spec's vectors, and client-build → inbound-parse for every endpoint.

mod common;

use common::{CASHIER_ID, MERCHANT_ID, NOW, Req, client, v1_client};
use polypay_blockatm::amount::Amount;
use polypay_blockatm::client::PaymentListFilter;
use polypay_blockatm::inbound::{
    CreateOrder, CreatePayout, InboundError, PaymentListQuery, Request,
};
use polypay_blockatm::sign::Scheme;
use polypay_blockatm::wire::{CreateOrderRequest, CreatePayoutRequest};

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    polypay_blockatm::header(headers, name)
}

fn docs_payout() -> CreatePayoutRequest {
    CreatePayoutRequest {
        biz_order_no: "B234569885XASA953ASDSAD".into(),
        amount: "44".into(),
        chain_id: "11155111".into(),
        symbol: "USDT".into(),
        to_address: "0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2".into(),
        cust_no: "473_860001".into(),
        remark: Some("demo for create payout order".into()),
        merchant_id: Some(MERCHANT_ID),
    }
}

fn order() -> CreateOrderRequest {
    CreateOrderRequest {
        order_no: "OrderNo_202504010023".into(),
        amount: "100.5".into(),
        symbol: "usdt".into(),
        chain_id: Some("sepolia".into()),
        cashier_id: Some(CASHIER_ID),
        cust_no: Some("CustNo_00240101".into()),
        redirect_url: Some("https://shop.example/back?x=1".into()),
    }
}

#[test]
fn builder_matches_t4_payout_vector() {
    let prepared = client().build_create_payout(&docs_payout(), NOW).unwrap();
    assert_eq!(prepared.method, "POST");
    assert_eq!(prepared.path, "/order/api/v2/payout/order");
    let h = &prepared.headers;
    assert_eq!(
        header(h, "BlockATM-Signature-V2"),
        Some("18c25259e7802bbb1b0a62198600aeafd14d7dcfc20bc36a5121c39e422c4551")
    );
    assert_eq!(header(h, "BlockATM-Request-Time"), Some("1743060268000"));
    assert_eq!(header(h, "BlockATM-API-Key"), Some(common::API_KEY));
    assert_eq!(header(h, "Content-Type"), Some("application/json"));
    assert_eq!(header(h, "BlockATM-Rec_Window"), None);
}

#[test]
fn builder_matches_t7_payout_detail_vector() {
    let prepared = client()
        .build_payout_detail("B234569885XASA953ASDSAD", NOW)
        .unwrap();
    assert_eq!(prepared.method, "GET");
    assert_eq!(
        prepared.path,
        "/order/api/v2/payout/detail?bizOrderNo=B234569885XASA953ASDSAD"
    );
    assert_eq!(
        header(&prepared.headers, "BlockATM-Signature-V2"),
        Some("5b02b36a424ffcb928d8f14d08cf5ea92b273aea81df2bf97812eb5ec3cbe799")
    );
    assert!(prepared.body.is_empty());
}

#[test]
fn builder_matches_t2_widget_vector() {
    // T2 was published with its own secret; the client given it reproduces the signed link.
    let mut creds = common::client_credentials(false);
    creds.secret_key = "sk_ci_QOoPSlHDSsgXYeNyTP2i0ug1HKLRjHw9Ug7mCc1Q0".into();
    let t2 =
        polypay_blockatm::client::Client::new("http://127.0.0.1:9", creds, reqwest::Client::new());
    let params = [
        ("custNo", Some("C86002201")),
        ("orderNo", Some("C202503225")),
        ("amount", None),
    ];
    let url = t2
        .widget_url("https://cashier.example/cashier", &params)
        .unwrap();
    assert_eq!(
        url,
        "https://cashier.example/cashier?apiKey=pk_payment_my3T68cbuIXf1x3QOEbWtFEfcJPxeBr8wTewDVM\
         &custNo=C86002201&orderNo=C202503225\
         &signature=5b2419abcb925389c3f6cb42f35eed85ec36b95578a9d25ee500f9fafdeb08dc"
    );
}

#[test]
fn round_trip_create_order() {
    for c in [client(), v1_client()] {
        let prepared = c.build_create_order(&order(), NOW).unwrap();
        let parsed = Req::from_prepared(&prepared).parse().unwrap();
        assert_eq!(parsed.scheme, Some(c.credentials().scheme()));
        let expected = CreateOrder {
            order_no: "OrderNo_202504010023".into(),
            amount: Amount::from_micros(100_500_000),
            symbol: "USDT".into(),
            chain_id: "11155111".into(),
            network: "Sepolia".into(),
            cashier_id: CASHIER_ID,
            cust_no: Some("CustNo_00240101".into()),
            redirect_url: Some("https://shop.example/back?x=1".into()),
        };
        assert_eq!(parsed.request, Request::CreateOrder(expected));
    }
    // Minimal order: chain defaults to TRON, cashier to the key's.
    let minimal = CreateOrderRequest {
        chain_id: None,
        cashier_id: None,
        cust_no: None,
        redirect_url: None,
        ..order()
    };
    let parsed = Req::from_prepared(&client().build_create_order(&minimal, NOW).unwrap())
        .parse()
        .unwrap();
    match parsed.request {
        Request::CreateOrder(o) => assert_eq!(
            (o.chain_id.as_str(), o.cashier_id),
            ("0x2b6653dc", CASHIER_ID)
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn round_trip_create_payout() {
    for c in [client(), v1_client()] {
        let prepared = c.build_create_payout(&docs_payout(), NOW).unwrap();
        let parsed = Req::from_prepared(&prepared).parse().unwrap();
        let expected = CreatePayout {
            biz_order_no: "B234569885XASA953ASDSAD".into(),
            amount: Amount::from_micros(44_000_000),
            chain_id: "11155111".into(),
            network: "Sepolia".into(),
            symbol: "USDT".into(),
            to_address: "0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2".into(),
            cust_no: "473_860001".into(),
            remark: Some("demo for create payout order".into()),
            merchant_id: MERCHANT_ID,
        };
        assert_eq!(parsed.request, Request::CreatePayout(expected));
        assert_eq!(parsed.credentials.map(|c| c.merchant_id), Some(MERCHANT_ID));
    }
}

#[test]
fn round_trip_queries() {
    let c = client();
    let detail = Req::from_prepared(&c.build_payment_detail("O 1&2", NOW).unwrap())
        .parse()
        .unwrap();
    assert_eq!(
        detail.request,
        Request::PaymentDetail {
            order_no: "O 1&2".into()
        }
    );
    assert_eq!(detail.scheme, Some(Scheme::V2Hmac));

    let filter = PaymentListFilter {
        order_no: "O1".into(),
        chain_id: Some("eth".into()),
        cust_no: Some("C1".into()),
        symbol: None,
    };
    let list = Req::from_prepared(&c.build_payment_list(&filter, NOW).unwrap())
        .parse()
        .unwrap();
    let expected = PaymentListQuery {
        order_no: "O1".into(),
        chain_id: Some("1".into()),
        cust_no: Some("C1".into()),
        symbol: None,
    };
    assert_eq!(list.request, Request::PaymentList(expected));

    for c in [client(), v1_client()] {
        let payout = Req::from_prepared(&c.build_payout_detail("B1", NOW).unwrap())
            .parse()
            .unwrap();
        assert_eq!(
            payout.request,
            Request::PayoutDetail {
                biz_order_no: "B1".into()
            }
        );
        let info = Req::from_prepared(&c.build_cashier_info(CASHIER_ID, NOW).unwrap())
            .parse()
            .unwrap();
        assert_eq!(
            info.request,
            Request::CashierInfo {
                cashier_id: CASHIER_ID
            }
        );
    }

    let symbols = c.build_symbol_list(Some("TRON"), Some("usdc")).unwrap();
    assert!(symbols.headers.is_empty(), "E7 carries no key or signature");
    let symbols = Req::from_prepared(&symbols).parse().unwrap();
    assert_eq!(
        symbols.request,
        Request::SymbolList {
            chain_id: Some("0x2b6653dc".into()),
            symbol: Some("USDC".into())
        }
    );
    assert!(symbols.credentials.is_none());

    let networks = c.build_all_networks().unwrap();
    assert_eq!(networks.path, "/admin/api/v2/pub/allNetworks");
    assert_eq!(
        Req::from_prepared(&networks).parse().unwrap().request,
        Request::AllNetworks
    );
}

#[test]
fn unsigned_optional_queries_and_alias() {
    let key = [("BlockATM-API-Key", common::API_KEY)];
    let detail = Req::new("GET", "/order/api/v2/payorder/detail?orderNo=O1", &key, "")
        .parse()
        .unwrap();
    assert_eq!(detail.scheme, None);
    let alias = Req::new("GET", "/order/api/v2/payout/detail?orderNo=B9", &key, "");
    // E5 needs a signature even with the alias.
    assert!(matches!(alias.parse(), Err(InboundError::Api(e)) if e.code == "000105"));
}

#[test]
fn round_trip_widget_links() {
    let params = [
        ("custNo", Some("C 86002201")),
        ("orderNo", Some("C202503225")),
        ("amount", Some("12.5")),
        ("currency", Some("USDT")),
        ("chainId", Some("11155111")),
        ("lang", Some("zh-CN")),
        ("redirectURL", Some("https://shop.example/done?a=1&b=2")),
        ("expirePeriod", Some("5")),
        ("et", Some("1743060900000")),
    ];
    for (c, scheme) in [(client(), Scheme::V2Hmac), (v1_client(), Scheme::V1Ecdsa)] {
        let url = c
            .widget_url("https://polypay.example/cashier", &params)
            .unwrap();
        let target = url.strip_prefix("https://polypay.example").unwrap();
        let parsed = Req::new("GET", target, &[], "").parse().unwrap();
        let Request::Cashier(page) = parsed.request else {
            panic!("not a cashier page")
        };
        assert_eq!(page.scheme, scheme);
        assert_eq!(page.cust_no, "C 86002201");
        assert_eq!(page.amount, Some(Amount::from_micros(12_500_000)));
        assert_eq!(page.chain_id.as_deref(), Some("11155111"));
        assert_eq!(
            page.redirect_url.as_deref(),
            Some("https://shop.example/done?a=1&b=2")
        );
        assert_eq!(page.expire_period_minutes, 15);
        assert_eq!(page.link_expires_at_ms, Some(1_743_060_900_000));
        // Tampering with any parameter breaks the link.
        let tampered = target.replace("12.5", "1.5");
        assert!(matches!(
            Req::new("GET", &tampered, &[], "").parse(),
            Err(InboundError::Widget(_))
        ));
    }
}

#[test]
fn widget_v2_decoded_fallback() {
    // A merchant that signed the decoded values but sent them encoded still passes.
    let decoded = "apiKey=pk_payment_my3T68cbuIXf1x3QOEbWtFEfcJPxeBr8wTewDVM&custNo=C 1";
    let signature = polypay_blockatm::sign::hmac_hex(common::SECRET, decoded);
    let target = format!(
        "/cashier?apiKey={}&custNo=C+1&signature={signature}",
        common::API_KEY
    );
    assert!(Req::new("GET", &target, &[], "").parse().is_ok());
}

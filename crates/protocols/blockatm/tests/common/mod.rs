//! Shared fixtures: one merchant, its client, and request plumbing between them.
#![allow(dead_code)]

use polypay_blockatm::client::{Client, ClientCredentials, PreparedRequest};
use polypay_blockatm::inbound::{
    self, Credentials, Inbound, InboundError, InboundOptions, RawRequest,
};
use polypay_blockatm::sign::{EcPublicKey, EcSigningKey};

pub const API_KEY: &str = "pk_payment_my3T68cbuIXf1x3QOEbWtFEfcJPxeBr8wTewDVM";
pub const SECRET: &str = "sck_QOoPSlHDSsgXYeNyTP2i0ug1HKLRjHw9Ug7mCc1Q0";
pub const MERCHANT_ID: i64 = 286_000_260;
pub const CASHIER_ID: i64 = 86_100_021;
pub const T1_PUBLIC: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsjqDDEF5uuVoAFCxftskpMszLQMro888rFlrowcTzVibc4J2PgDywFZYXc6x21yHcenJ2bCZ/03XkMrbKqqEwA==";
pub const T1_PRIVATE: &str =
    "MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCAaXAqWZaVeWG4zQWjAT+RqFUwMKfLIAOQQqi6a3JObrg==";
/// The time of the spec's T4–T8 vectors.
pub const NOW: u64 = 1_743_060_268_000;

pub fn credentials() -> Credentials {
    Credentials {
        api_key: API_KEY.into(),
        secret_key: SECRET.into(),
        merchant_id: MERCHANT_ID,
        cashier_id: CASHIER_ID,
        ec_public_key: Some(EcPublicKey::parse(T1_PUBLIC).unwrap()),
    }
}

pub fn lookup(key: &str) -> Option<Credentials> {
    (key == API_KEY).then(credentials)
}

pub fn client_credentials(v1: bool) -> ClientCredentials {
    ClientCredentials {
        api_key: API_KEY.into(),
        secret_key: SECRET.into(),
        ec_private_key: v1.then(|| EcSigningKey::parse(T1_PRIVATE).unwrap()),
        platform_public_key: Some(EcPublicKey::parse(T1_PUBLIC).unwrap()),
    }
}

pub fn client() -> Client {
    Client::new(
        "http://127.0.0.1:9",
        client_credentials(false),
        reqwest::Client::new(),
    )
}

pub fn v1_client() -> Client {
    Client::new(
        "http://127.0.0.1:9",
        client_credentials(true),
        reqwest::Client::new(),
    )
}

/// Owned parts of a request, convertible to a [`RawRequest`].
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Req {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        Req {
            method: method.into(),
            path,
            query,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn from_prepared(prepared: &PreparedRequest) -> Req {
        let mut req = Req::new(prepared.method, &prepared.path, &[], "");
        req.headers = prepared.headers.clone();
        req.body = prepared.body.clone();
        req
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn parse_at(&self, now: u64) -> Result<Inbound, InboundError> {
        let raw = RawRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        };
        inbound::parse(&raw, lookup, &InboundOptions::default(), now)
    }

    pub fn parse(&self) -> Result<Inbound, InboundError> {
        self.parse_at(NOW)
    }
}

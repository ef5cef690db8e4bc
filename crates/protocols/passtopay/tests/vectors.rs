//! Spec section 9 vectors S1–S6, checked for the signer and the verifier independently, and
//! through the client's request builder, the server's response renderer and the notifier.

use polypay_passtopay::client::{self, Client};
use polypay_passtopay::notify::{self, CallbackData};
use polypay_passtopay::params::Params;
use polypay_passtopay::wire::{PayOrderData, PaymentNotification, UnifiedOrderParams};
use polypay_passtopay::{AppSecret, Credentials, NotifyFormat, sign};

const SECRET: &str = "your_secret_key";

const S2_STRING: &str = "amount=8&appId=60cc09bce4b0f1c0b83761c9&body=0&channelExtra={\"payDataType\":\"codeImgUrl\"}&clientIp=210.73.10.148&currency=cny&custNo=C200492312&mchNo=M1623984572&mchOrderNo=mho1624005107281&notifyUrl=https://www.yourserver.com/notify.htm&registerTime=1622016572190&reqTime=1622016572190&signType=MD5&subject=商品&version=1.1&wayCode=ALI_QR&key=your_secret_key";
const S2_SIGN: &str = "11B9EB6F769B17D08726D0D94976F316";
const S5_STRING: &str = "mchOrderNo=D202405220002&orderState=0&payData=https://cashier.passtopay.com/wayCode?payOrderToken=408e2d8d6b7b0911d12cf220e48175d9768b7cd5142a8d2e7e64b948e6c75646&payDataType=payurl&payOrderId=P1793544595691261954&key=your_secret_key";
const S5_SIGN: &str = "2B147EE55F31F8A42FECFB8338E46AAD";
const S6_STRING: &str = "amount=100&appId=60cc09bce4b0f1c0b83761c9&body=0&clientIp=210.73.10.148&createdAt=1622016572190&currency=cny&ifCode=alipay&mchNo=M1621873433953&mchOrderNo=20160427210604000490&payOrderId=P1795063328371040258&reqTime=1622016580000&state=2&subject=商品&successTime=1622016579000&wayCode=ALI_QR&key=your_secret_key";
const S6_SIGN: &str = "989DEEF7D760F987F1C91DCE500583B7";

/// S2's parameters in a deliberately unsorted order, `extParam` empty.
fn s2_entries() -> Vec<(&'static str, &'static str)> {
    vec![
        ("wayCode", "ALI_QR"),
        ("version", "1.1"),
        ("subject", "商品"),
        ("signType", "MD5"),
        ("reqTime", "1622016572190"),
        ("registerTime", "1622016572190"),
        ("notifyUrl", "https://www.yourserver.com/notify.htm"),
        ("mchOrderNo", "mho1624005107281"),
        ("mchNo", "M1623984572"),
        ("extParam", ""),
        ("custNo", "C200492312"),
        ("currency", "cny"),
        ("clientIp", "210.73.10.148"),
        ("channelExtra", r#"{"payDataType":"codeImgUrl"}"#),
        ("body", "0"),
        ("appId", "60cc09bce4b0f1c0b83761c9"),
        ("amount", "8"),
    ]
}

fn s6_order() -> PayOrderData {
    PayOrderData {
        amount: 100,
        app_id: "60cc09bce4b0f1c0b83761c9".into(),
        body: Some("0".into()),
        channel_order_no: None,
        client_ip: Some("210.73.10.148".into()),
        created_at: Some(1622016572190),
        currency: "cny".into(),
        err_code: None,
        err_msg: None,
        ext_param: Some(String::new()),
        if_code: Some("alipay".into()),
        mch_no: "M1621873433953".into(),
        mch_order_no: "20160427210604000490".into(),
        pay_order_id: "P1795063328371040258".into(),
        pay_url: None,
        state: 2,
        subject: Some("商品".into()),
        success_time: Some(1622016579000),
        way_code: Some("ALI_QR".into()),
    }
}

fn mutate_last(sig: &str) -> String {
    let mut s = sig.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == '0' { '1' } else { '0' });
    s
}

#[test]
fn s2_signer() {
    assert_eq!(sign::string_to_sign(s2_entries(), SECRET), S2_STRING);
    assert_eq!(sign::sign(s2_entries(), SECRET), S2_SIGN);
}

#[test]
fn s2_verifier_accepts_and_rejects_one_byte_mutations() {
    assert!(sign::verify(s2_entries(), SECRET, S2_SIGN));
    assert!(!sign::verify(s2_entries(), SECRET, &mutate_last(S2_SIGN)));
    let mut changed = s2_entries();
    changed[0] = ("wayCode", "ALI_QS");
    assert!(!sign::verify(changed, SECRET, S2_SIGN));
}

#[test]
fn s2_client_builder_exact_bytes() {
    let creds = Credentials::new(
        "M1623984572",
        "60cc09bce4b0f1c0b83761c9",
        AppSecret::new(SECRET),
    );
    let client = Client::new("http://api.pass2pay.com", creds);
    let params = UnifiedOrderParams {
        mch_order_no: "mho1624005107281".into(),
        way_code: "ALI_QR".into(),
        amount: 8,
        currency: "cny".into(),
        subject: "商品".into(),
        body: "0".into(),
        client_ip: "210.73.10.148".into(),
        cust_no: "C200492312".into(),
        register_time: 1622016572190,
        user_name: None,
        mbr_tel: None,
        id_no: None,
        notify_url: Some("https://www.yourserver.com/notify.htm".into()),
        return_url: None,
        expired_time: None,
        channel_extra: Some(r#"{"payDataType":"codeImgUrl"}"#.into()),
        ext_param: Some(String::new()),
    };
    let req = client.build_unified_order(&params, 1622016572190);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/api/pay/unifiedOrder");
    assert_eq!(
        req.headers,
        vec![("Content-Type", "application/json".to_owned())]
    );
    let expected = concat!(
        r#"{"amount":8,"appId":"60cc09bce4b0f1c0b83761c9","body":"0","#,
        r#""channelExtra":"{\"payDataType\":\"codeImgUrl\"}","clientIp":"210.73.10.148","#,
        r#""currency":"cny","custNo":"C200492312","mchNo":"M1623984572","#,
        r#""mchOrderNo":"mho1624005107281","notifyUrl":"https://www.yourserver.com/notify.htm","#,
        r#""registerTime":"1622016572190","reqTime":"1622016572190","#,
        r#""sign":"11B9EB6F769B17D08726D0D94976F316","signType":"MD5","subject":"商品","#,
        r#""version":"1.1","wayCode":"ALI_QR"}"#
    );
    assert_eq!(String::from_utf8(req.body).unwrap(), expected);
}

#[test]
fn s1_s3_s4_strings_and_signatures() {
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static str,
        &'static str,
    );
    let cases: [Case; 3] = [
        (
            &[("key3", "value3"), ("key1", "value1"), ("key2", "value2")],
            "key1=value1&key2=value2&key3=value3&key=your_secret_key",
            "4E3957A5BA8B693F93AA6EBDBD388686",
        ),
        (
            &[("B", "3"), ("a1", "2"), ("a", "1")],
            "a1=2&a=1&B=3&key=your_secret_key",
            "E43B0B049027E972B4420FF4858D2F1F",
        ),
        (
            &[("aB", "2"), ("a_b", "1")],
            "a_b=1&aB=2&key=your_secret_key",
            "5659E30ACA2CB6CAD070929A6C28E46D",
        ),
    ];
    for (entries, string, signature) in cases {
        assert_eq!(
            sign::string_to_sign(entries.iter().copied(), SECRET),
            string
        );
        assert_eq!(sign::md5_upper_hex(string), signature);
        assert_eq!(sign::sign(entries.iter().copied(), SECRET), signature);
        assert!(sign::verify(entries.iter().copied(), SECRET, signature));
        assert!(!sign::verify(
            entries.iter().copied(),
            SECRET,
            &mutate_last(signature)
        ));
    }
}

#[test]
fn s5_client_verifies_response_data_as_object_and_as_string() {
    assert_eq!(sign::md5_upper_hex(S5_STRING), S5_SIGN);
    let data = r#"{"mchOrderNo":"D202405220002","orderState":0,"payData":"https://cashier.passtopay.com/wayCode?payOrderToken=408e2d8d6b7b0911d12cf220e48175d9768b7cd5142a8d2e7e64b948e6c75646","payDataType":"payurl","payOrderId":"P1793544595691261954"}"#;
    let secret = AppSecret::new(SECRET);
    let as_object = format!(r#"{{"code":0,"data":{data},"msg":"SUCCESS","sign":"{S5_SIGN}"}}"#);
    let as_string = format!(
        r#"{{"code":0,"data":{},"msg":"SUCCESS","sign":"{}"}}"#,
        serde_json::Value::String(data.into()),
        S5_SIGN.to_ascii_lowercase()
    );
    for body in [as_object.clone(), as_string] {
        let v = client::parse_response::<polypay_passtopay::wire::CreateOrderData>(
            body.as_bytes(),
            &secret,
        )
        .unwrap();
        assert!(v.signature_verified);
        assert_eq!(v.data.order_state, 0);
        assert_eq!(v.data.pay_data_type.as_deref(), Some("payurl"));
    }
    // The same data without its sign, or with an empty one, could say anything: refused.
    for unsigned in [
        as_object.replace(&format!(r#","sign":"{S5_SIGN}""#), ""),
        as_object.replace(S5_SIGN, ""),
    ] {
        assert_ne!(unsigned, as_object);
        let err = client::parse_response::<polypay_passtopay::wire::CreateOrderData>(
            unsigned.as_bytes(),
            &secret,
        )
        .unwrap_err();
        assert!(
            matches!(err, client::ClientError::MissingSignature),
            "{err}"
        );
    }
    let tampered = as_object.replace("D202405220002", "D202405220003");
    let err = client::parse_response::<polypay_passtopay::wire::CreateOrderData>(
        tampered.as_bytes(),
        &secret,
    )
    .unwrap_err();
    assert!(matches!(err, client::ClientError::BadSignature), "{err}");
    let wrong_sign = as_object.replace(S5_SIGN, &mutate_last(S5_SIGN));
    assert!(
        client::parse_response::<polypay_passtopay::wire::CreateOrderData>(
            wrong_sign.as_bytes(),
            &secret
        )
        .is_err()
    );
}

#[test]
fn s6_notification_signer_form_bytes() {
    let n = PaymentNotification::new(s6_order(), 1622016580000);
    let pairs = notify::signed_pairs(&n, &AppSecret::new(SECRET));
    let unsigned: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(sign::string_to_sign(unsigned, SECRET), S6_STRING);
    let signature = pairs
        .iter()
        .find(|(k, _)| k == "sign")
        .map(|(_, v)| v.as_str());
    assert_eq!(signature, Some(S6_SIGN));
    assert_eq!(sign::md5_upper_hex(S6_STRING), S6_SIGN);
    let req = notify::encode(
        &CallbackData::Payment(n),
        "https://m.example/notify",
        &AppSecret::new(SECRET),
        NotifyFormat::Form,
    );
    let expected = concat!(
        "amount=100&appId=60cc09bce4b0f1c0b83761c9&body=0&clientIp=210.73.10.148&",
        "createdAt=1622016572190&currency=cny&ifCode=alipay&mchNo=M1621873433953&",
        "mchOrderNo=20160427210604000490&payOrderId=P1795063328371040258&reqTime=1622016580000&",
        "sign=989DEEF7D760F987F1C91DCE500583B7&state=2&subject=%E5%95%86%E5%93%81&",
        "successTime=1622016579000&wayCode=ALI_QR"
    );
    assert_eq!(String::from_utf8(req.body).unwrap(), expected);
    assert_eq!(req.url, "https://m.example/notify");
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.headers,
        vec![(
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned()
        )]
    );
}

#[test]
fn s6_verifier_independent_of_the_encoder() {
    // A hand-written form body as a PassToPay server would send it, extras and all in any order.
    let body = "state=2&amount=100&appId=60cc09bce4b0f1c0b83761c9&body=0&clientIp=210.73.10.148&createdAt=1622016572190&currency=cny&extParam=&ifCode=alipay&mchNo=M1621873433953&mchOrderNo=20160427210604000490&payOrderId=P1795063328371040258&reqTime=1622016580000&subject=%E5%95%86%E5%93%81&successTime=1622016579000&wayCode=ALI_QR&sign=989DEEF7D760F987F1C91DCE500583B7";
    let secret = AppSecret::new(SECRET);
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    match client::verify_callback_with("", &headers, body.as_bytes(), &secret).unwrap() {
        CallbackData::Payment(n) => {
            assert_eq!(n.order, {
                let mut o = s6_order();
                o.ext_param = None;
                o
            });
            assert_eq!(n.req_time, 1622016580000);
        }
        other => panic!("{other:?}"),
    }
    let mutated = body.replace("state=2", "state=3");
    assert!(client::verify_callback_with("", &headers, mutated.as_bytes(), &secret).is_err());
    let mutated = body.replace("989DEEF7", "989DEEF8");
    assert!(client::verify_callback_with("", &headers, mutated.as_bytes(), &secret).is_err());
    // Params rendering agrees with the vector string.
    let params = Params::from_form(body.as_bytes()).unwrap();
    assert_eq!(sign::string_to_sign(params.iter(), SECRET), S6_STRING);
}

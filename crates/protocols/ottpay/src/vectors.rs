//! The test vectors of spec §9, shared by the server-side and client-side tests.

pub struct Vector {
    pub sign_key: &'static str,
    pub plaintext: &'static str,
    pub summary: &'static str,
    pub md5: &'static str,
    pub key_digest: &'static str,
    pub aes_key: &'static str,
    pub data: &'static str,
}

pub const V1: Vector = Vector {
    sign_key: "6698851A525C9433",
    plaintext: r#"{"orderId":"1234567890","idCardName":"张三","idCardNum":"123456789012345678","bankCardNum":"62000000000010","mobile":"13711111111","idCardType":"1"}"#,
    summary: "62000000000010张三1234567890123456781137111111111234567890",
    md5: "C12F9560769C2CB55E6954935B325916",
    key_digest: "60063EF1EF1712FC070C2C210330BB00",
    aes_key: "EF1712FC070C2C21",
    data: "Y2+GoqBBPc6EJ9JzXRFoOziKd+DqWg5FiUZY1IYoVBVv0xfFznT9/qanMpiNEamEN2NM7J+hxoRn8VGSJImA2soeip9nYr+VJvTXe7D8j4aXiKyFipuPVCQLiCDg3jkJP+S2EezYMf7crqKY/YAni1CCeIwr2aJfFVT1vYhsWIm8t3eyPL//cY4kwombAKhE2gAdEFXz6gVvencz80aRWQ==",
};

pub const V2: Vector = Vector {
    sign_key: "A8B5FE540E38A5A9",
    plaintext: r#"{"amount":"3","bizpay_order_id":"AL5909918566288061","exchange_rate":"5.057030","tip":"1","merchant_id":"ON00004652","order_id":"16795056216014900","finish_time":"2023-03-23 01:21:53","remarks":"可以","sub_openId":"2088032832386722"}"#,
    summary: "3AL59099185662880615.0570302023-03-23 01:21:53ON0000465216795056216014900可以20880328323867221",
    md5: "5A917182659DE14DCB3022CA6518F34F",
    key_digest: "38315225BFE59D83C221F217D55DCCBC",
    aes_key: "BFE59D83C221F217",
    data: "vg8LJmi7ryeVxUTVfPC6N1l5ebL9cgn4MdlyLFEL6eqZQN+XvkvNhZevFmRitDLTUTcAcRnKYs407K3ePY2pslEgZYDoa9x80PBh95s7aqAYCwUlY5j9IUtklLlzqNT0mFPS7Fn5p6cr1EkBRVh82QHueCdkWVoFhvVHVYYrwQqF5cmPO+JNuDOei6goomz1QTfvv7M8zc4TT+r/EwKIDm4eoV9EeTk98gSiUy4+2ThLRrtZOFHqVP7OAjJ318X2EIKoZRA5lp42kdRVmd/mXi8aZpTVEiAT2GK7p3TNXFNXuPLcl6DhEUK9FLMrHcl4",
};

pub const V3: Vector = Vector {
    sign_key: "A8B5FE540E38A5A9",
    plaintext: r#"{"submit_type":"form","shop_id":"ON00004652001","amount":"5","currency_type":"CAD","open_id":"owv3d1YJwmzug7z2ozlPyqIItA7E","operator_id":"0000000437","biz_type":"WECHATPAY","merchant_id":"ON00004652","order_id":"20220510125455761","call_back_url":"http://uatqrpay.ottpay.com/back_response"}"#,
    summary: "5WECHATPAYhttp://uatqrpay.ottpay.com/back_responseCADON00004652owv3d1YJwmzug7z2ozlPyqIItA7E000000043720220510125455761ON00004652001form",
    md5: "66717B7C144BE13962ACFA4E70EC1957",
    key_digest: "E5236BAEA60DD9F3EDA8FDFEF92D087E",
    aes_key: "A60DD9F3EDA8FDFE",
    data: "M7Unit9a4Iw93M4g2u7fXwpV+ML9JvC5C7finCYY5TbWroDIkdLNxtrpNGThIduqwHTuG1j28MQgXuwvPOhVLzdHD1M3x5+SzfZxn2r33z1u5JqwzpzEFwqm+kj5MJBxODYCR9IJ1NH6XtzdGbdcKiPczN/QW2sdZMJ0tw5ylWAZsPwuzUXn2LbV7WXFKqEbiJXnxDmq9OR2XPsu95RLHOG8OUq8IMX0ZKbjqZ9gFZfELe5lVgIEGE8VgIADLMOWUkZq+SKeu1YDTWN7/igp7w5jpzV+IBdVLyIkjHtbfa3kSMNxS6585O58LYBEPHniAESz3TvxhWn7AZQQ/CSyzSeBKrMLtLdvqvnwF4dCxiMV4TRN+kO9iHhix6hSYgX5usCoDWXi5vn2H4rOCR0OJA==",
};

pub const V4: Vector = Vector {
    sign_key: "A8B5FE540E38A5A9",
    plaintext: r#"{"amount":"5","sale_num":"20220727132626764","operator_id":"0000000696","prepay_order_id":"prepay20220727132626764","biz_type":"PREPAY","merchant_id":"ON00004652","duration":"100","shop_id":"ON00004652001","currency_type":"CAD","email":"inforsa@ott.ca","remarks":"BLABLA","redirect_url":"http://uatqrpay.ottpay.com/redirectBus","call_back_url":"http://uatqrpay.ottpay.com/back_response"}"#,
    summary: "5PREPAYhttp://uatqrpay.ottpay.com/back_responseCAD100inforsa@ott.caON000046520000000696prepay20220727132626764http://uatqrpay.ottpay.com/redirectBusBLABLA20220727132626764ON00004652001",
    md5: "0ECB498672C0EAF9805522AFEE5A91BA",
    key_digest: "05982FE4CEDBCE41BE835CBC2E2E3DD1",
    aes_key: "CEDBCE41BE835CBC",
    data: "wcpIWJbpAsQmDO5+qdXyjiSqHLo/YXsPpgLDZvNKUCj55IVE81CZUgLRX7t0JKn5QRh74Plh3x/AyBTsvnhlTr16or1/aTZEeZfhgQaqtiNY4zDU16PCBvZ+zggxNlLW7h28uXdpFVF9BTqwv1CrWNfNwjov1ZRGBzTXW19grayi9PKzM5soH1RjZR2o/IsYtnYQQ8L+XR+Wlx1kbupDuy8Pvgk63MIhba3ujlkwHL37WRkARJWQTITqaNHAu3bQn+YH6Nl3i9RFwPoNlGG15vDSOo0yWxSzkayG6o6LxU7ZAf4fUamERkQOK26PQURqSpI7qn9vOAXv2ahgsdD0dvA4MHFK3RyXyO+vGUqBLnuI/oOPAcACzP2gP0BB+HI+yFBGczAsRO0t2OTxrXVPl27tFTBXm4uYfsSx6UQ1hOqgLy75repl8CML8OKrCODloBRIpEiMDxk8+xjPFvMqv364e3gQXM1Q0wEgKa7nQofTW1uV6NJjykNjtluawNEbFgDRSza/NChSs5tDklcuBQ==",
};

/// V5: V1 with `张三` written as `\u5f20\u4e09`; md5 and key of V1, different ciphertext.
pub const V5_PLAINTEXT: &str = r#"{"orderId":"1234567890","idCardName":"\u5f20\u4e09","idCardNum":"123456789012345678","bankCardNum":"62000000000010","mobile":"13711111111","idCardType":"1"}"#;
pub const V5_DATA: &str = "Y2+GoqBBPc6EJ9JzXRFoOziKd+DqWg5FiUZY1IYoVBWg0VLJPD7u6FTTuSLURcO3g6tGtS+fOciejNeD1l+RIRV2BHEt5oPgin6IXplNhfmYz7cVd11tp4o3i0wlXWmEa5KVFr/WcTAKgyPvHtw7YfCnN4SQS/zCNa0LeYCgEDrSTJfatqSTEopyEQPQ/0HZtlRMlyKMq4LYhA48c7QmBw==";

/// V6: number rendering and byte order.
pub const V6_PLAINTEXT: &str = r#"{"amount":100,"order_id":"A1","rate":1.50,"Tip":"0"}"#;
pub const V6_SUMMARY: &str = "0100A11.50";
pub const V6_MD5: &str = "79DB4D7FB836EA29E621945CA85A91D2";

/// V7: polypay's EX_RATE_QUERY response.
pub const V7: Vector = Vector {
    sign_key: "A8B5FE540E38A5A9",
    plaintext: r#"{"feeType":"CAD","rate":"505703000"}"#,
    summary: "CAD505703000",
    md5: "F33468887CE3B10EF9FCFEC7D216BE18",
    key_digest: "F862D302AD1905FA9AA1656D2A9C2A0C",
    aes_key: "AD1905FA9AA1656D",
    data: "XOCZ4SPMXxCMakdjx3yaeeHpWlQSewMBpIyPh8+XNUYY3vjrUN0NtyVXdUuSzygj",
};
pub const V7_BODY: &str = r#"{"rsp_code":"SUCCESS","rsp_msg":"success","data":"XOCZ4SPMXxCMakdjx3yaeeHpWlQSewMBpIyPh8+XNUYY3vjrUN0NtyVXdUuSzygj","md5":"F33468887CE3B10EF9FCFEC7D216BE18"}"#;

/// The published OTT samples signed with an unpublished key (spec §9, negative).
pub const FOREIGN_MD5S: [&str; 2] = [
    "6AFB2E94A70D9A208F101723700EB287",
    "32310A0DD3D021A7D0CDF6A5909A1A61",
];

/// Wraps base64 every 60 characters with a space, as the published copies are.
pub fn wrap60(data: &str) -> String {
    data.as_bytes()
        .chunks(60)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `data` with one base64 character changed (still valid base64 of the same length).
pub fn mutate(data: &str, at: usize) -> String {
    let mut bytes = data.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_default()
}

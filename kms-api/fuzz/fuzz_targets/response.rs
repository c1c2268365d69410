#![no_main]
// Decoding never panics, nor does reading a decoded message's points and signature;
// whatever decodes re-encodes to bytes that decode to the same message.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = kms_api::Response::decode(data) {
        match &m.body {
            kms_api::ResponseBody::Derive(d) => {
                let _ = d.share();
            }
            kms_api::ResponseBody::Sign(s) => {
                let _ = s.to_frost();
            }
            kms_api::ResponseBody::GroupKeys(k) => {
                let _ = k.check_points();
            }
            _ => {}
        }
        let bytes = m.encode().expect("a decoded message encodes");
        assert_eq!(kms_api::Response::decode(&bytes).ok(), Some(m));
    }
});

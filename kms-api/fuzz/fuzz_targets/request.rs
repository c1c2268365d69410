#![no_main]
// Decoding never panics; whatever decodes re-encodes to bytes that decode to the same
// message.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = kms_api::Request::decode(data) {
        let bytes = m.encode().expect("a decoded message encodes");
        assert_eq!(kms_api::Request::decode(&bytes).ok(), Some(m));
    }
});

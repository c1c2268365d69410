#![no_main]
//! The TDX Quote Generation Service's GET_QUOTE_RESP as the host's QGS (untrusted) sends
//! it, framed: the decoder must return a quote or an error, never panic, and a quote it
//! returns must fill the message exactly.
use attestation_gate::attest::qgs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = qgs::decode_get_quote_response(data) {
        assert!(!r.quote.is_empty());
        assert_eq!(r.selected_id.len() + r.quote.len() + 28, data.len());
        // Re-encoding gives the same bytes, except the minor version (bytes 6..8 of the
        // framed message), which the decoder does not check (minor changes are compatible).
        let again = qgs::encode_get_quote_response(&r.selected_id, &r.quote)
            .expect("decoded lengths fit in u32");
        assert_eq!(again.len(), data.len());
        assert_eq!(&again[..6], &data[..6]);
        assert_eq!(&again[8..], &data[8..]);
    }
    if let Some(prefix) = data.first_chunk::<4>() {
        let _ = qgs::frame_len(*prefix);
    }
});

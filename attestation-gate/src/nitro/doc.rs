//! Decoding of the Nitro attestation document: the COSE_Sign1 envelope (RFC 9052 §4.2)
//! and the payload map of the AWS Nitro Enclaves User Guide ("Attestation document
//! specification", `AttestationDocument`). Nothing here checks a signature or a
//! certificate; it only turns untrusted bytes into typed, size-checked fields.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use aws_nitro_enclaves_cose::crypto::SignatureAlgorithm;
use aws_nitro_enclaves_cose::CoseSign1;
use ciborium::value::{Integer, Value};

use crate::error::Error;

/// Largest document accepted. The largest legitimate document (all three optional
/// fields at their 1024-byte maximum, four certificates in the bundle) is about 7.5 KiB.
pub const MAX_DOCUMENT_LEN: usize = 16 * 1024;
/// Largest `module_id` accepted (AWS: a non-empty string; real ones are 38 bytes).
pub const MAX_MODULE_ID_LEN: usize = 256;
/// Largest `user_data`, `nonce` and `public_key` (AWS: at most 1024 bytes each).
pub const MAX_OPTIONAL_FIELD_LEN: usize = 1024;
/// Largest certificate (AWS: 1..=1024 bytes each).
pub const MAX_CERT_LEN: usize = 1024;
/// Most certificates in `cabundle` (AWS: root, regional, zonal, instance).
pub const MAX_CABUNDLE_LEN: usize = 8;
/// Most PCRs (the NSM has 32).
pub const MAX_PCRS: usize = 32;
/// Most entries in the payload map (9 defined fields, room for additions).
const MAX_PAYLOAD_ENTRIES: usize = 16;
/// The PCR length of a `SHA384` document.
pub const PCR_LEN: usize = 48;
/// ES384 signatures are `r || s`, 48 bytes each.
pub const SIGNATURE_LEN: usize = 96;

/// A decoded, not yet verified attestation document.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// The COSE envelope, kept for the signature check over its exact bytes.
    pub cose: CoseSign1,
    /// The payload fields.
    pub payload: Payload,
}

/// The payload fields of an attestation document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payload {
    pub module_id: String,
    pub timestamp_ms: u64,
    /// `(index, value)`, sorted by index, each value [`PCR_LEN`] bytes.
    pub pcrs: Vec<(u8, [u8; PCR_LEN])>,
    /// DER of the signing (leaf) certificate.
    pub certificate: Vec<u8>,
    /// DER certificates, root first.
    pub cabundle: Vec<Vec<u8>>,
    pub public_key: Option<Vec<u8>>,
    pub user_data: Option<Vec<u8>>,
    pub nonce: Option<Vec<u8>>,
}

impl Payload {
    /// The value of PCR `index`.
    pub fn pcr(&self, index: u8) -> Option<&[u8; PCR_LEN]> {
        self.pcrs.iter().find(|(i, _)| *i == index).map(|(_, v)| v)
    }
}

fn malformed(what: &'static str) -> Error {
    Error::malformed(what)
}

/// Decodes the envelope and the payload.
pub(crate) fn decode(bytes: &[u8]) -> Result<Document, Error> {
    if bytes.len() > MAX_DOCUMENT_LEN {
        return Err(malformed("Nitro attestation document (too large)"));
    }
    // AWS emits the untagged form: a 4-element array. Tag 18 is refused so that exactly
    // one encoding of a document is accepted.
    if bytes.first() != Some(&0x84) {
        return Err(malformed(
            "Nitro attestation document (not an untagged COSE_Sign1 array)",
        ));
    }
    let cose = CoseSign1::from_bytes(bytes)
        .map_err(|_| malformed("Nitro attestation document (COSE_Sign1)"))?;
    check_protected_header(&cose)?;
    check_canonical(&cose, bytes)?;
    let payload_bytes = cose
        .get_payload::<NoHash>(None)
        .map_err(|_| malformed("Nitro COSE payload"))?;
    let payload = decode_payload(&payload_bytes)?;
    Ok(Document { cose, payload })
}

/// The envelope bytes that the signature does not cover (the array and byte-string
/// headers, the unprotected header map) in the one form AWS emits: array of 4, the
/// protected header `{1: -35}` as `44 a1 01 38 22`, an empty unprotected map `a0`, and
/// every length in its shortest form (the document must equal its re-encoding).
/// Otherwise one signed document would have many byte strings.
fn check_canonical(cose: &CoseSign1, bytes: &[u8]) -> Result<(), Error> {
    const PREFIX: [u8; 7] = [0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0];
    let non_canonical = |offset| Error::NonCanonical {
        what: "Nitro COSE_Sign1 envelope",
        offset,
    };
    if let Some(i) = (0..PREFIX.len()).find(|i| bytes.get(*i) != PREFIX.get(*i)) {
        return Err(non_canonical(i));
    }
    let again = cose
        .as_bytes(false)
        .map_err(|_| malformed("Nitro attestation document (COSE_Sign1)"))?;
    if let Some(i) = (0..bytes.len().max(again.len())).find(|i| bytes.get(*i) != again.get(*i)) {
        return Err(non_canonical(i));
    }
    Ok(())
}

/// The protected header must be exactly `{1: -35}` (alg: ES384).
fn check_protected_header(cose: &CoseSign1) -> Result<(), Error> {
    let (protected, _) = cose
        .get_protected_and_payload::<NoHash>(None)
        .map_err(|_| malformed("Nitro COSE protected header"))?;
    let alg = protected.get(&Value::Integer(Integer::from(1u8)));
    let es384 = Value::Integer(Integer::from(SignatureAlgorithm::ES384 as i8));
    match alg {
        Some(v) if *v == es384 => Ok(()),
        _ => Err(malformed("Nitro COSE protected header (alg is not ES384)")),
    }
}

/// `get_payload(None)` and `get_protected_and_payload(None)` take a hash type but never
/// hash without a key; this one refuses, so a mistaken call cannot silently succeed.
enum NoHash {}

impl aws_nitro_enclaves_cose::crypto::Hash for NoHash {
    fn hash(
        _digest: aws_nitro_enclaves_cose::crypto::MessageDigest,
        _data: &[u8],
    ) -> Result<Vec<u8>, aws_nitro_enclaves_cose::error::CoseError> {
        Err(aws_nitro_enclaves_cose::error::CoseError::UnimplementedError)
    }
}

/// Decodes the payload map.
pub(crate) fn decode_payload(bytes: &[u8]) -> Result<Payload, Error> {
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader(&mut reader)
        .map_err(|_| malformed("Nitro attestation payload (CBOR)"))?;
    if !reader.is_empty() {
        return Err(malformed("Nitro attestation payload (trailing bytes)"));
    }
    let Value::Map(entries) = value else {
        return Err(malformed("Nitro attestation payload (not a map)"));
    };
    if entries.len() > MAX_PAYLOAD_ENTRIES {
        return Err(malformed("Nitro attestation payload (too many fields)"));
    }

    let mut module_id = None;
    let mut digest = None;
    let mut timestamp = None;
    let mut pcrs = None;
    let mut certificate = None;
    let mut cabundle = None;
    let mut public_key = None;
    let mut user_data = None;
    let mut nonce = None;

    for (key, value) in entries {
        let Value::Text(key) = key else {
            return Err(malformed("Nitro attestation payload (non-text key)"));
        };
        let slot_taken = match key.as_str() {
            "module_id" => set(&mut module_id, module_id_field(value)?),
            "digest" => set(&mut digest, digest_field(value)?),
            "timestamp" => set(&mut timestamp, timestamp_field(value)?),
            "pcrs" => set(&mut pcrs, pcrs_field(value)?),
            "certificate" => set(&mut certificate, cert_field(value)?),
            "cabundle" => set(&mut cabundle, cabundle_field(value)?),
            "public_key" => set(&mut public_key, optional_bytes(value, "public_key")?),
            "user_data" => set(&mut user_data, optional_bytes(value, "user_data")?),
            "nonce" => set(&mut nonce, optional_bytes(value, "nonce")?),
            // AWS may add fields; they are signed, and keynet reads none of them.
            _ => false,
        };
        if slot_taken {
            return Err(malformed("Nitro attestation payload (duplicate field)"));
        }
    }

    let module_id = module_id.ok_or(malformed("Nitro module_id (missing)"))?;
    let () = digest.ok_or(malformed("Nitro digest (missing)"))?;
    let timestamp_ms = timestamp.ok_or(malformed("Nitro timestamp (missing)"))?;
    let pcrs = pcrs.ok_or(malformed("Nitro pcrs (missing)"))?;
    let certificate = certificate.ok_or(malformed("Nitro certificate (missing)"))?;
    let cabundle = cabundle.ok_or(malformed("Nitro cabundle (missing)"))?;
    let payload = Payload {
        module_id,
        timestamp_ms,
        pcrs,
        certificate,
        cabundle,
        public_key: public_key.flatten(),
        user_data: user_data.flatten(),
        nonce: nonce.flatten(),
    };
    for index in 0..=2 {
        if payload.pcr(index).is_none() {
            return Err(malformed("Nitro pcrs (PCR0, PCR1 or PCR2 missing)"));
        }
    }
    Ok(payload)
}

/// Stores `value` in an empty slot; returns `true` if the slot was already taken.
fn set<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_some() {
        return true;
    }
    *slot = Some(value);
    false
}

fn module_id_field(value: Value) -> Result<String, Error> {
    match value {
        Value::Text(s) if !s.is_empty() && s.len() <= MAX_MODULE_ID_LEN => Ok(s),
        _ => Err(malformed("Nitro module_id")),
    }
}

fn digest_field(value: Value) -> Result<(), Error> {
    match value {
        Value::Text(s) if s == "SHA384" => Ok(()),
        _ => Err(malformed("Nitro digest (only SHA384 is supported)")),
    }
}

fn timestamp_field(value: Value) -> Result<u64, Error> {
    match value {
        Value::Integer(i) => match u64::try_from(i) {
            Ok(ms) if ms > 0 => Ok(ms),
            _ => Err(malformed("Nitro timestamp")),
        },
        _ => Err(malformed("Nitro timestamp")),
    }
}

fn pcrs_field(value: Value) -> Result<Vec<(u8, [u8; PCR_LEN])>, Error> {
    let Value::Map(entries) = value else {
        return Err(malformed("Nitro pcrs (not a map)"));
    };
    if entries.is_empty() || entries.len() > MAX_PCRS {
        return Err(malformed("Nitro pcrs (count)"));
    }
    let mut pcrs = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let index = match k {
            Value::Integer(i) => u8::try_from(i).ok().filter(|i| usize::from(*i) < MAX_PCRS),
            _ => None,
        }
        .ok_or(malformed("Nitro pcrs (index)"))?;
        let value: [u8; PCR_LEN] = match v {
            Value::Bytes(b) => b.try_into().ok(),
            _ => None,
        }
        .ok_or(malformed("Nitro pcrs (value is not 48 bytes)"))?;
        if pcrs.iter().any(|(i, _)| *i == index) {
            return Err(malformed("Nitro pcrs (duplicate index)"));
        }
        pcrs.push((index, value));
    }
    pcrs.sort_by_key(|(i, _)| *i);
    Ok(pcrs)
}

fn cert_field(value: Value) -> Result<Vec<u8>, Error> {
    match value {
        Value::Bytes(b) if !b.is_empty() && b.len() <= MAX_CERT_LEN => Ok(b),
        _ => Err(malformed(
            "Nitro certificate (empty, too long or not bytes)",
        )),
    }
}

fn cabundle_field(value: Value) -> Result<Vec<Vec<u8>>, Error> {
    let Value::Array(items) = value else {
        return Err(malformed("Nitro cabundle (not an array)"));
    };
    if items.is_empty() || items.len() > MAX_CABUNDLE_LEN {
        return Err(malformed("Nitro cabundle (count)"));
    }
    items.into_iter().map(cert_field).collect()
}

/// An optional byte string: absent, `null`, or at most [`MAX_OPTIONAL_FIELD_LEN`] bytes.
fn optional_bytes(value: Value, what: &'static str) -> Result<Option<Vec<u8>>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::Bytes(b) if b.len() <= MAX_OPTIONAL_FIELD_LEN => Ok(Some(b)),
        _ => Err(malformed(match what {
            "public_key" => "Nitro public_key (not bytes, or longer than 1024)",
            "user_data" => "Nitro user_data (not bytes, or longer than 1024)",
            _ => "Nitro nonce (not bytes, or longer than 1024)",
        })),
    }
}

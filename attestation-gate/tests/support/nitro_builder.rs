//! Builds synthetic Nitro attestation documents signed by a throwaway P-384 chain
//! (root → intermediate → leaf), so tests can exercise cases no recorded document has:
//! a bound debug document, 63-byte user_data, broken chains, malformed fields.
#![allow(dead_code)]

use std::str::FromStr;
use std::time::Duration;

use ciborium::value::{Integer, Value};
use p384::ecdsa::signature::hazmat::PrehashSigner;
use p384::ecdsa::{DerSignature, Signature, SigningKey};
use sha2::{Digest, Sha384};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::UtcTime;
use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// Start and end of every synthetic certificate (2030-01-01 .. +3 h).
pub const NOT_BEFORE: u64 = 1_893_456_000;
pub const NOT_AFTER: u64 = NOT_BEFORE + 3 * 3600;
/// The documents' timestamp, inside the window.
pub const TIMESTAMP_MS: u64 = (NOT_BEFORE + 60) * 1000;

fn key(seed: u8) -> SigningKey {
    let mut bytes = [0u8; 48];
    bytes[47] = seed;
    bytes[0] = 0x11;
    SigningKey::from_slice(&bytes).unwrap()
}

fn validity() -> Validity {
    let t = |s| Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(s)).unwrap());
    Validity {
        not_before: t(NOT_BEFORE),
        not_after: t(NOT_AFTER),
    }
}

fn spki(k: &SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(*k.verifying_key()).unwrap()
}

/// A throwaway chain. `root_der` can be pinned with `NitroVerifier::with_pinned_root`.
pub struct Chain {
    pub root_der: Vec<u8>,
    pub intermediate_der: Vec<u8>,
    pub leaf_der: Vec<u8>,
    pub leaf_key: SigningKey,
}

/// How to build the chain.
#[derive(Clone, Copy, Default)]
pub struct ChainOptions {
    /// Issue the intermediate as a leaf (no CA bit).
    pub intermediate_not_ca: bool,
    /// Sign the leaf with the root's key instead of the intermediate's.
    pub leaf_signed_by_wrong_key: bool,
}

pub fn chain(seed: u8, opts: ChainOptions) -> Chain {
    let (root_key, inter_key, leaf_key) = (key(seed), key(seed + 1), key(seed + 2));
    let root_name = Name::from_str(&format!("CN=synthetic root {seed}")).unwrap();
    let inter_name = Name::from_str(&format!("CN=synthetic intermediate {seed}")).unwrap();
    let leaf_name = Name::from_str(&format!("CN=synthetic leaf {seed}")).unwrap();

    let root = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity(),
        root_name.clone(),
        spki(&root_key),
        &root_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();

    let inter_profile = if opts.intermediate_not_ca {
        Profile::Leaf {
            issuer: root_name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        }
    } else {
        Profile::SubCA {
            issuer: root_name.clone(),
            path_len_constraint: None,
        }
    };
    let inter = CertificateBuilder::new(
        inter_profile,
        SerialNumber::from(2u32),
        validity(),
        inter_name.clone(),
        spki(&inter_key),
        &root_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();

    let leaf_signer = if opts.leaf_signed_by_wrong_key {
        &root_key
    } else {
        &inter_key
    };
    let leaf = CertificateBuilder::new(
        Profile::Leaf {
            issuer: inter_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(3u32),
        validity(),
        leaf_name,
        spki(&leaf_key),
        leaf_signer,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();

    Chain {
        root_der: root.to_der().unwrap(),
        intermediate_der: inter.to_der().unwrap(),
        leaf_der: leaf.to_der().unwrap(),
        leaf_key,
    }
}

/// The payload fields of a synthetic document.
#[derive(Clone)]
pub struct Fields {
    pub module_id: String,
    pub digest: String,
    pub timestamp_ms: u64,
    pub pcrs: Vec<(u64, Vec<u8>)>,
    pub user_data: Option<Vec<u8>>,
    pub nonce: Option<Vec<u8>>,
    pub public_key: Option<Vec<u8>>,
    /// Extra (key, value) entries appended to the map.
    pub extra: Vec<(Value, Value)>,
}

impl Fields {
    /// Non-debug PCRs (0x10+i repeated), `user_data` as given.
    pub fn new(user_data: Option<Vec<u8>>) -> Fields {
        Fields {
            module_id: "i-synthetic-enc0000000000000000".into(),
            digest: "SHA384".into(),
            timestamp_ms: TIMESTAMP_MS,
            pcrs: (0..16u64).map(|i| (i, vec![0x10 + i as u8; 48])).collect(),
            user_data,
            nonce: None,
            public_key: None,
            extra: Vec::new(),
        }
    }

    /// PCR0-2 zero (debug mode).
    pub fn debug(mut self) -> Fields {
        for (i, v) in &mut self.pcrs {
            if *i <= 2 {
                *v = vec![0; 48];
            }
        }
        self
    }
}

fn bytes_or_null(b: &Option<Vec<u8>>) -> Value {
    b.clone().map(Value::Bytes).unwrap_or(Value::Null)
}

/// The CBOR payload map.
pub fn payload(chain: &Chain, f: &Fields) -> Vec<u8> {
    let mut map = vec![
        (
            Value::Text("module_id".into()),
            Value::Text(f.module_id.clone()),
        ),
        (Value::Text("digest".into()), Value::Text(f.digest.clone())),
        (
            Value::Text("timestamp".into()),
            Value::Integer(Integer::from(f.timestamp_ms)),
        ),
        (
            Value::Text("pcrs".into()),
            Value::Map(
                f.pcrs
                    .iter()
                    .map(|(i, v)| (Value::Integer(Integer::from(*i)), Value::Bytes(v.clone())))
                    .collect(),
            ),
        ),
        (
            Value::Text("certificate".into()),
            Value::Bytes(chain.leaf_der.clone()),
        ),
        (
            Value::Text("cabundle".into()),
            Value::Array(vec![
                Value::Bytes(chain.root_der.clone()),
                Value::Bytes(chain.intermediate_der.clone()),
            ]),
        ),
        (
            Value::Text("public_key".into()),
            bytes_or_null(&f.public_key),
        ),
        (Value::Text("user_data".into()), bytes_or_null(&f.user_data)),
        (Value::Text("nonce".into()), bytes_or_null(&f.nonce)),
    ];
    map.extend(f.extra.iter().cloned());
    let mut out = Vec::new();
    ciborium::ser::into_writer(&Value::Map(map), &mut out).unwrap();
    out
}

/// `[protected {1: -35}, {}, payload, ES384(Sig_structure)]`, untagged.
pub fn sign_document(leaf_key: &SigningKey, payload: Vec<u8>) -> Vec<u8> {
    let mut protected = Vec::new();
    ciborium::ser::into_writer(
        &Value::Map(vec![(
            Value::Integer(Integer::from(1)),
            Value::Integer(Integer::from(-35)),
        )]),
        &mut protected,
    )
    .unwrap();
    let sig_structure = Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.clone()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.clone()),
    ]);
    let mut tbs = Vec::new();
    ciborium::ser::into_writer(&sig_structure, &mut tbs).unwrap();
    let sig: Signature = leaf_key.sign_prehash(&Sha384::digest(&tbs)).unwrap();
    let doc = Value::Array(vec![
        Value::Bytes(protected),
        Value::Map(Vec::new()),
        Value::Bytes(payload),
        Value::Bytes(sig.to_bytes().to_vec()),
    ]);
    let mut out = Vec::new();
    ciborium::ser::into_writer(&doc, &mut out).unwrap();
    out
}

/// A complete document over `chain` with `fields`.
pub fn document(chain: &Chain, fields: &Fields) -> Vec<u8> {
    sign_document(&chain.leaf_key, payload(chain, fields))
}

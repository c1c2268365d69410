//! AWS Nitro Enclaves attestation documents.
//!
//! Implements the verification steps of the AWS Nitro Enclaves User Guide, "Verifying
//! the root of trust": the document is an untagged COSE_Sign1 (RFC 9052 §4.2) signed
//! with ES384 by the leaf certificate in its payload; the leaf chains through the
//! `cabundle` intermediates to the **pinned** AWS Nitro Enclaves Root G1 (SHA-256 of
//! its DER `641a0321…bb5b`). `cabundle[0]` must be byte-equal to the pinned root; it is
//! never trusted because it is in the document.
//!
//! Claims: the measurement digest is `SHA-256("keynet/measurement/nitro/v1" || PCR0 ||
//! PCR1 || PCR2)` (docs/PROTOCOL.md), debug is "PCR0, PCR1 and PCR2 all zero", the
//! report data is `user_data` when it is exactly 64 bytes and absent otherwise (no
//! padding, no truncation; [`crate::appraise`] refuses absent report data), and
//! `issued_at` is the document timestamp in whole seconds.
//!
//! # Security
//!
//! Verification needs no collateral and reads no clock: `now` is an argument and every
//! certificate on the path (root included) must be valid at `now`. AWS publishes no
//! revocation for these chains; the leaf is valid for about three hours.

mod chain;
mod doc;

use aws_nitro_enclaves_cose::crypto::{Hash, MessageDigest, SignatureAlgorithm, SigningPublicKey};
use aws_nitro_enclaves_cose::error::CoseError;
use p384::ecdsa::signature::hazmat::PrehashVerifier;
use p384::ecdsa::{Signature, VerifyingKey};
use sha2::Digest;

use std::sync::Arc;

use crate::cache::Cache;
use crate::claims::{Claims, NitroRaw, RawClaims};
use crate::collateral::Collateral;
use crate::error::Error;
use crate::evidence::Evidence;
use crate::types::{Platform, ReportData, UnixTime};
use crate::VerifyEvidence;

pub use doc::{
    MAX_CABUNDLE_LEN, MAX_CERT_LEN, MAX_DOCUMENT_LEN, MAX_MODULE_ID_LEN, MAX_OPTIONAL_FIELD_LEN,
    MAX_PCRS, PCR_LEN,
};

/// DER of the AWS Nitro Enclaves Root G1 (CN=aws.nitro-enclaves, P-384, valid
/// 2019-10-28 .. 2049-10-28), from the zip AWS publishes with SHA-256
/// `8cf60e2b…ff7c`. The PEM next to it is the same certificate.
pub const AWS_NITRO_ROOT_G1_DER: &[u8] = include_bytes!("nitro/aws_nitro_enclaves_root_g1.der");

/// SHA-256 of [`AWS_NITRO_ROOT_G1_DER`].
pub const AWS_NITRO_ROOT_G1_SHA256: [u8; 32] = [
    0x64, 0x1a, 0x03, 0x21, 0xa3, 0xe2, 0x44, 0xef, 0xe4, 0x56, 0x46, 0x31, 0x95, 0xd6, 0x06, 0x31,
    0x7e, 0xd7, 0xcd, 0xcc, 0x3c, 0x17, 0x56, 0xe0, 0x98, 0x93, 0xf3, 0xc6, 0x8f, 0x79, 0xbb, 0x5b,
];

/// Verifies Nitro attestation documents against a pinned root.
///
/// Order: decode (size limits, strict field types), certificate path to the pinned
/// root, validity of every certificate at `now`, then the COSE signature of the leaf.
/// The checked CA part of the path (pinned root ← `cabundle[1..]`) is kept in the
/// verifier's cache (clones share it) for these exact certificates while `now` lies in
/// its window (see [`crate::cache`]); the leaf, its signature and validity and the COSE
/// signature are checked every time.
#[derive(Debug, Clone)]
pub struct NitroVerifier {
    root_der: Vec<u8>,
    cache: Arc<Cache<Arc<CachedCaPath>>>,
}

impl Default for NitroVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl NitroVerifier {
    /// A verifier pinned to the AWS Nitro Enclaves Root G1.
    pub fn new() -> Self {
        Self::with_pinned_root(AWS_NITRO_ROOT_G1_DER.to_vec())
    }

    /// A verifier pinned to another root (DER). Documents whose `cabundle[0]` is not
    /// this exact certificate fail with [`Error::UntrustedRoot`]. For tests and for a
    /// future AWS root; production uses [`NitroVerifier::new`].
    pub fn with_pinned_root(root_der: Vec<u8>) -> Self {
        NitroVerifier {
            root_der,
            cache: Arc::default(),
        }
    }

    /// The same verifier with a new cache of `capacity` CA paths (`0`: none).
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = Arc::new(Cache::with_capacity(capacity));
        self
    }

    /// The same verifier using `cache` (shared with other verifiers; entries are keyed
    /// by the pinned root, so verifiers pinned to different roots never share one).
    pub fn with_cache(mut self, cache: Arc<Cache<Arc<CachedCaPath>>>) -> Self {
        self.cache = cache;
        self
    }

    /// The cache in use.
    pub fn cache(&self) -> &Arc<Cache<Arc<CachedCaPath>>> {
        &self.cache
    }

    /// The DER of the pinned root.
    pub fn pinned_root(&self) -> &[u8] {
        &self.root_der
    }

    fn verify_document(&self, document: &[u8], now: UnixTime) -> Result<Claims, Error> {
        let doc = doc::decode(document)?;
        let key = || {
            let mut parts: Vec<&[u8]> = vec![&self.root_der];
            parts.extend(doc.payload.cabundle.iter().map(Vec::as_slice));
            crate::cache::key("keynet/cache/nitro-ca-path/v1", &parts)
        };
        let warm = |hit: Arc<CachedCaPath>| {
            let leaf = chain::parse_leaf(&doc.payload.certificate)?;
            let chain = chain::verify_leaf(&hit.0, &leaf, now)?;
            check_cose(&doc, chain.leaf_key)?;
            Ok(chain.validity)
        };
        let cold = || {
            let (chain, ca) = chain::verify(
                &self.root_der,
                &doc.payload.cabundle,
                &doc.payload.certificate,
                now,
            )?;
            check_cose(&doc, chain.leaf_key)?;
            let window = ca.window();
            Ok((chain.validity, Some((Arc::new(CachedCaPath(ca)), window))))
        };
        let validity = self.cache.through(key, now, warm, cold)?;
        Ok(claims(doc.payload, validity))
    }
}

/// The COSE signature of the document by the leaf's key.
fn check_cose(doc: &doc::Document, leaf_key: VerifyingKey) -> Result<(), Error> {
    match doc.cose.verify_signature::<Sha2>(&LeafKey(leaf_key)) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::BadSignature {
            what: "Nitro attestation document",
        }),
        Err(_) => Err(Error::Malformed {
            what: "Nitro COSE signature",
        }),
    }
}

/// A checked CA path, as a [`NitroVerifier`]'s cache keeps it.
#[derive(Debug)]
pub struct CachedCaPath(chain::CaPath);

/// The `user_data` of a document, decoded but **not verified** (no signature, no
/// chain). For the NSM attester's sanity check of its own device's answer only.
#[cfg(feature = "attester")]
pub(crate) fn unverified_user_data(document: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    Ok(doc::decode(document)?.payload.user_data)
}

impl VerifyEvidence for NitroVerifier {
    fn platform(&self) -> Platform {
        Platform::Nitro
    }

    /// `evidence.bytes` is the raw CBOR document; Nitro needs no collateral (the
    /// document carries its chain), so `collateral` is ignored.
    fn verify(
        &self,
        evidence: &Evidence,
        _collateral: &Collateral,
        now: UnixTime,
    ) -> Result<Claims, Error> {
        crate::expect_platform(Platform::Nitro, evidence)?;
        self.verify_document(&evidence.bytes, now)
    }
}

/// The identity fields of a document, decoded with the verifier's strict decoder but
/// **not verified** (no signature, no chain): for `kms attest measure`.
pub(crate) fn raw_unverified(document: &[u8]) -> Result<NitroRaw, Error> {
    Ok(raw_claims(doc::decode(document)?.payload))
}

fn claims(payload: doc::Payload, validity: crate::claims::Validity) -> Claims {
    let report_data = payload
        .user_data
        .as_deref()
        .and_then(|u| <[u8; 64]>::try_from(u).ok())
        .map(ReportData);
    let issued_at = UnixTime(payload.timestamp_ms / 1000);
    Claims::new(RawClaims::Nitro(raw_claims(payload)))
        .with_report_data(report_data)
        .with_issued_at(issued_at)
        .with_validity(validity)
}

fn raw_claims(payload: doc::Payload) -> NitroRaw {
    let pcr = |i: u8| payload.pcr(i).map(|p| p.to_vec()).unwrap_or_default();
    let (pcr0, pcr1, pcr2) = (pcr(0), pcr(1), pcr(2));
    NitroRaw::new(
        pcr0,
        pcr1,
        pcr2,
        payload.module_id,
        payload.user_data,
        payload.public_key,
        payload.nonce,
    )
}

/// The leaf's key, for `aws-nitro-enclaves-cose` (whose own keys need OpenSSL).
struct LeafKey(VerifyingKey);

impl SigningPublicKey for LeafKey {
    fn get_parameters(&self) -> Result<(SignatureAlgorithm, MessageDigest), CoseError> {
        Ok((SignatureAlgorithm::ES384, MessageDigest::Sha384))
    }

    /// `digest` is SHA-384 of the Sig_structure; `signature` is `r || s`.
    fn verify(&self, digest: &[u8], signature: &[u8]) -> Result<bool, CoseError> {
        if signature.len() != doc::SIGNATURE_LEN {
            return Err(CoseError::SpecificationError(
                "ES384 signature is not 96 bytes".into(),
            ));
        }
        let Ok(sig) = Signature::from_slice(signature) else {
            return Ok(false);
        };
        Ok(self.0.verify_prehash(digest, &sig).is_ok())
    }
}

/// SHA-2 for `aws-nitro-enclaves-cose` (RustCrypto instead of OpenSSL).
enum Sha2 {}

impl Hash for Sha2 {
    fn hash(digest: MessageDigest, data: &[u8]) -> Result<Vec<u8>, CoseError> {
        Ok(match digest {
            MessageDigest::Sha256 => sha2::Sha256::digest(data).to_vec(),
            MessageDigest::Sha384 => sha2::Sha384::digest(data).to_vec(),
            MessageDigest::Sha512 => sha2::Sha512::digest(data).to_vec(),
        })
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn pinned_root__should_have_the_published_fingerprint() {
        let digest: [u8; 32] = sha2::Sha256::digest(AWS_NITRO_ROOT_G1_DER).into();
        assert_eq!(digest, AWS_NITRO_ROOT_G1_SHA256);
        assert_eq!(
            hex::encode(digest),
            "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"
        );
    }

    #[test]
    fn pinned_root__should_equal_the_pem_copy() {
        let pem = include_str!("nitro/aws_nitro_enclaves_root_g1.pem");
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
        assert_eq!(der, AWS_NITRO_ROOT_G1_DER);
    }

    #[test]
    fn decode__should_refuse_tagged_and_oversized_documents() {
        let tagged = [0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40];
        assert!(matches!(doc::decode(&tagged), Err(Error::Malformed { .. })));
        let big = vec![0x84; MAX_DOCUMENT_LEN + 1];
        assert!(matches!(doc::decode(&big), Err(Error::Malformed { .. })));
    }
}

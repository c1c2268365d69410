//! A node's registration: what kms-node writes at start-up and `kms node register
//! --registration FILE` submits (docs/GOVERNANCE.md, "Node registration").
//!
//! The node generates its *signer* (an EVM key) inside its enclave and signs, with it,
//! the EIP-712 message `NodeRegistration(address operator, bytes p2pKey, bytes32
//! noiseKey, uint8 platform)` in the domain `{name: "keynet", version: "1", chainId,
//! verifyingContract}`. `registerNode` checks that signature, so only the node itself
//! can create its record, and the record's `node_id = keccak256(abi.encode(signer))`.
//!
//! # Security
//! The signer's private key never leaves the enclave; this module signs with a
//! [`PrivateKeySigner`] the caller holds and never stores or prints it.

use alloy::primitives::{Address, Bytes, FixedBytes, B256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::{eip712_domain, SolStruct};
use serde::{Deserialize, Serialize};

use crate::errors::Error;
use crate::types::{node_id, NodePlatform};

/// Version of the registration file format.
pub const FORMAT_VERSION: u32 = 1;

alloy::sol! {
    /// The EIP-712 message a node's signer signs (the contract's `REGISTRATION_TYPEHASH`).
    #[allow(missing_docs)]
    struct NodeRegistration {
        address operator;
        bytes p2pKey;
        bytes32 noiseKey;
        uint8 platform;
    }
}

/// What a node signs: everything of the registration but the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// Chain id of the chain holding the governance contract.
    pub chain_id: u64,
    /// The governance contract.
    pub contract: Address,
    /// The operator account that will send (and pay for) `registerNode`.
    pub operator: Address,
    /// The node's p2p identity public key (encoding chosen by kms-node).
    pub p2p_key: Vec<u8>,
    /// The node's Noise static public key (X25519).
    pub noise_key: [u8; 32],
    /// The node's platform; vendor and TEE family follow from it.
    pub platform: NodePlatform,
    /// Attestation evidence whose report data is [`RegistrationRequest::report_data`]
    /// (opaque here; voters check it with `kms attest verify`). May be empty.
    pub evidence: Vec<u8>,
    /// The `issued_at` (unix seconds) bound in the evidence's report data.
    pub evidence_issued_at: u64,
}

impl RegistrationRequest {
    /// The EIP-712 hash the signer signs and `registerNode` recovers from.
    pub fn signing_hash(&self) -> B256 {
        let domain = eip712_domain! {
            name: "keynet",
            version: "1",
            chain_id: self.chain_id,
            verifying_contract: self.contract,
        };
        NodeRegistration {
            operator: self.operator,
            p2pKey: Bytes::from(self.p2p_key.clone()),
            noiseKey: FixedBytes::from(self.noise_key),
            platform: self.platform.code(),
        }
        .eip712_signing_hash(&domain)
    }

    /// What the evidence binds for `signer`: the node key encoding peers check too
    /// ([`attestation_gate::peer::node_key_encoding`]: `u64_be(len p2p_key) || p2p_key
    /// || noise_key (32) || signer (20)`), so one quote ties the enclave to all three
    /// keys.
    pub fn bound_key(&self, signer: Address) -> Vec<u8> {
        attestation_gate::peer::node_key_encoding(&self.p2p_key, &self.noise_key, &signer.0 .0)
    }

    /// The report data the node's evidence must carry: purpose `keynet/node/v1`,
    /// [`RegistrationRequest::bound_key`], `evidence_issued_at` (docs/PROTOCOL.md). The
    /// same evidence admits the node to its peers (`attestation_gate::appraise_peer`).
    pub fn report_data(&self, signer: Address) -> attestation_gate::ReportData {
        attestation_gate::peer::node_report_data(
            &self.p2p_key,
            &self.noise_key,
            &signer.0 .0,
            attestation_gate::UnixTime(self.evidence_issued_at),
        )
    }

    /// Signs with the node's signer key (kms-node calls this at start-up).
    pub fn sign(self, signer: &PrivateKeySigner) -> Result<Registration, Error> {
        let sig =
            signer
                .sign_hash_sync(&self.signing_hash())
                .map_err(|_| Error::BadRegistration {
                    reason: "the signer could not sign",
                })?;
        Ok(Registration {
            signer: signer.address(),
            signature: sig.as_bytes(),
            request: self,
        })
    }
}

/// A signed registration, as the registration file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// What was signed.
    pub request: RegistrationRequest,
    /// The node's signer address.
    pub signer: Address,
    /// `r || s || v` (v = 27 or 28).
    pub signature: [u8; 65],
}

/// The JSON file: byte strings and addresses in lowercase hex without `0x` (`0x` is
/// accepted on input).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationFile {
    version: u32,
    chain_id: u64,
    contract: String,
    operator: String,
    signer: String,
    p2p_key: String,
    noise_key: String,
    platform: String,
    evidence: String,
    evidence_issued_at: u64,
    signature: String,
}

impl Registration {
    /// The report data the evidence must carry ([`RegistrationRequest::report_data`]).
    pub fn report_data(&self) -> attestation_gate::ReportData {
        self.request.report_data(self.signer)
    }

    /// The node id the contract will give this node.
    pub fn node_id(&self) -> [u8; 32] {
        node_id(self.signer)
    }

    /// Checks that the signature is the signer's over the request (what the contract
    /// checks too, so a bad file fails before a transaction is sent).
    pub fn verify(&self) -> Result<(), Error> {
        let sig = alloy::primitives::Signature::from_raw(&self.signature).map_err(|_| {
            Error::BadRegistration {
                reason: "the signature is not a 65-byte secp256k1 signature",
            }
        })?;
        let recovered = sig
            .recover_address_from_prehash(&self.request.signing_hash())
            .map_err(|_| Error::BadRegistration {
                reason: "no signer recovers from the signature",
            })?;
        if recovered != self.signer {
            return Err(Error::BadRegistration {
                reason: "the signature is not the signer's over these keys, platform, operator, chain and contract",
            });
        }
        Ok(())
    }

    /// The registration file's JSON.
    pub fn to_json(&self) -> String {
        let r = &self.request;
        let file = RegistrationFile {
            version: FORMAT_VERSION,
            chain_id: r.chain_id,
            contract: alloy::hex::encode(r.contract),
            operator: alloy::hex::encode(r.operator),
            signer: alloy::hex::encode(self.signer),
            p2p_key: alloy::hex::encode(&r.p2p_key),
            noise_key: alloy::hex::encode(r.noise_key),
            platform: r.platform.to_string(),
            evidence: alloy::hex::encode(&r.evidence),
            evidence_issued_at: r.evidence_issued_at,
            signature: alloy::hex::encode(self.signature),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// Parses a registration file (it is not verified; call [`Registration::verify`]).
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let f: RegistrationFile =
            serde_json::from_str(text).map_err(|_| Error::BadRegistration {
                reason: "not a registration file (JSON with version, chain_id, contract, operator, signer, p2p_key, noise_key, platform, evidence, signature)",
            })?;
        if f.version != FORMAT_VERSION {
            return Err(Error::BadRegistration {
                reason: "unsupported registration file version",
            });
        }
        let request = RegistrationRequest {
            chain_id: f.chain_id,
            contract: Address::from(fixed::<20>("contract", &f.contract)?),
            operator: Address::from(fixed::<20>("operator", &f.operator)?),
            p2p_key: bytes("p2p_key", &f.p2p_key)?,
            noise_key: fixed::<32>("noise_key", &f.noise_key)?,
            platform: f.platform.parse()?,
            evidence: bytes("evidence", &f.evidence)?,
            evidence_issued_at: f.evidence_issued_at,
        };
        Ok(Self {
            request,
            signer: Address::from(fixed::<20>("signer", &f.signer)?),
            signature: fixed::<65>("signature", &f.signature)?,
        })
    }
}

fn bytes(field: &'static str, s: &str) -> Result<Vec<u8>, Error> {
    alloy::hex::decode(s.trim()).map_err(|_| Error::BadHex { field })
}

fn fixed<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N], Error> {
    let v = bytes(field, s)?;
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| Error::BadLength {
        field,
        expected: N,
        got: v.len(),
    })
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    fn request() -> RegistrationRequest {
        RegistrationRequest {
            chain_id: 31337,
            contract: Address::repeat_byte(0xcc),
            operator: Address::repeat_byte(0x0a),
            p2p_key: vec![7; 36],
            noise_key: [8; 32],
            platform: NodePlatform::simulated(2),
            evidence: vec![1, 2, 3],
            evidence_issued_at: 1_700_000_000,
        }
    }

    #[test]
    fn registration__should_round_trip_through_its_file_and_verify() {
        let key = PrivateKeySigner::random();
        let r = request().sign(&key).unwrap();
        let back = Registration::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
        back.verify().unwrap();
        assert_eq!(back.node_id(), node_id(key.address()));
    }

    #[test]
    fn report_data__should_bind_signer_noise_and_p2p_keys() {
        let r = request().sign(&PrivateKeySigner::random()).unwrap();
        let mut p2p_prefixed = 36u64.to_be_bytes().to_vec();
        p2p_prefixed.extend_from_slice(&[7u8; 36]);
        let want = attestation_gate::ReportData::bind(
            attestation_gate::Purpose::NodeRecord,
            &[&p2p_prefixed[..], &[8u8; 32][..], r.signer.as_slice()].concat(),
            attestation_gate::UnixTime(1_700_000_000),
        );
        assert_eq!(r.report_data(), want);
        for edit in [
            (|r: &mut Registration| r.request.p2p_key[0] ^= 1) as fn(&mut Registration),
            |r| r.request.noise_key[0] ^= 1,
            |r| r.signer = Address::repeat_byte(0x11),
            |r| r.request.evidence_issued_at += 1,
        ] {
            let mut other = r.clone();
            edit(&mut other);
            assert_ne!(other.report_data(), want);
        }
    }

    /// One evidence serves registration and peer admission: the registration's report
    /// data is the peer record's.
    #[test]
    fn report_data__should_equal_the_peer_records() {
        let r = request().sign(&PrivateKeySigner::random()).unwrap();
        let record = attestation_gate::PeerRecord::new(
            attestation_gate::Platform::Simulated,
            r.request.p2p_key.clone(),
            r.request.noise_key,
            r.signer.0 .0,
        );
        let issued_at = attestation_gate::UnixTime(r.request.evidence_issued_at);
        assert_eq!(r.report_data(), record.report_data(issued_at));
        assert_eq!(
            r.request.bound_key(r.signer),
            record.key_encoding(),
            "same key encoding"
        );
    }

    #[test]
    fn registration__should_fail_to_verify_when_any_signed_field_changes() {
        let r = request().sign(&PrivateKeySigner::random()).unwrap();
        type Edit = Box<dyn Fn(&mut Registration)>;
        let edits: Vec<Edit> = vec![
            Box::new(|r| r.request.operator = Address::repeat_byte(0x0b)),
            Box::new(|r| r.request.p2p_key[0] ^= 1),
            Box::new(|r| r.request.noise_key[0] ^= 1),
            Box::new(|r| r.request.platform = NodePlatform::simulated(3)),
            Box::new(|r| r.request.chain_id = 1),
            Box::new(|r| r.request.contract = Address::repeat_byte(0xcd)),
            Box::new(|r| r.signer = Address::repeat_byte(0x11)),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut bad = r.clone();
            edit(&mut bad);
            assert!(
                matches!(bad.verify(), Err(Error::BadRegistration { .. })),
                "edit {i}"
            );
        }
    }

    #[test]
    fn registration_file__should_refuse_unknown_fields_and_bad_hex() {
        let r = request().sign(&PrivateKeySigner::random()).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        v["vendor"] = "intel".into();
        assert!(Registration::from_json(&v.to_string()).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        v["noise_key"] = "zz".into();
        assert!(matches!(
            Registration::from_json(&v.to_string()),
            Err(Error::BadHex { field: "noise_key" })
        ));
        assert!(Registration::from_json("{}").is_err());
    }
}

//! The four round messages (wire format in docs/PROTOCOL.md "DKG wire messages").

/// Round-1 message.
pub mod round1 {
    use serde::{Deserialize, Serialize};

    use crate::wire::{Bytes, Header, Sig};

    /// Sent by every dealer to every participant in round 1, signed with the dealer's
    /// identity key.
    ///
    /// # Security
    ///
    /// Needs only authenticated delivery: the round-3 echoes of the signed digest expose
    /// a dealer that signs two different broadcasts (excluded with both signatures as
    /// evidence), and a broadcast that did not reach everyone is re-broadcast in round 4.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcast {
        pub(crate) header: Header,
        /// Feldman commitment `C_k = a_k·G`, `k = 0..t`.
        pub(crate) commitment: Vec<Bytes>,
        /// Proof of knowledge of `a_0` (fresh DKG only).
        pub(crate) proof: Option<Proof>,
        /// Ed25519 signature of the dealer's identity key over the round-1 digest.
        pub(crate) signature: Sig,
    }

    /// Schnorr proof of knowledge of the discrete log of the constant term.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Proof {
        pub(crate) r: Bytes,
        pub(crate) z: Bytes,
    }

    impl Broadcast {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
        /// The digest `dealer` signs (and participants echo in round 3): SHA-256 over
        /// `"keynet/dkg/round1-digest/v2" || be16(dealer) || CBOR([header, commitment,
        /// proof])`.
        pub fn digest(&self, dealer: crate::party::PartyIndex) -> [u8; 32] {
            crate::vss::digests::digest_round1(dealer, self)
        }
        /// The dealer's Ed25519 signature over [`crate::vss::signed_message`] of the digest.
        pub fn signature(&self) -> [u8; 64] {
            self.signature.0
        }
    }
}

/// Round-2 message.
pub mod round2 {
    use serde::{Deserialize, Serialize};
    use zeroize::Zeroize;

    use crate::wire::{Bytes, Header};

    /// Sent by a dealer to one receiver in round 2: the receiver's share.
    ///
    /// # Security
    ///
    /// Secret. Requires a confidential, authenticated channel to the receiver (the
    /// attested Noise link). Zeroed on drop; `Debug` shows only sizes.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Direct {
        pub(crate) header: Header,
        pub(crate) share: Bytes,
        /// SHA-256 digest of all round-1 broadcasts as the sender received them.
        #[serde(with = "serde_bytes")]
        pub(crate) round1_digest: [u8; 32],
    }

    impl Drop for Direct {
        fn drop(&mut self) {
            self.share.0.zeroize();
        }
    }

    impl Direct {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
    }
}

/// Round-3 message.
pub mod round3 {
    use std::collections::{BTreeMap, BTreeSet};

    use serde::{Deserialize, Serialize};

    use crate::party::PartyIndex;
    use crate::wire::{Header, Sig};

    /// Sent by every receiver in round 3 (keyed by receiver index): what it received in
    /// round 1 and which dealers it accuses of a missing or wrong share.
    ///
    /// # Security
    ///
    /// Requires the broadcast channel with agreement (see [`crate::vss`]).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcast {
        pub(crate) header: Header,
        /// Dealer → the signed digest of the round-1 broadcast received from it. A
        /// dealer absent from the map is reported missing (nothing validly signed came).
        pub(crate) echo: BTreeMap<PartyIndex, Echo>,
        /// Dealers whose share was missing or did not match the commitment, and dealers
        /// whose round-1 broadcast is missing (their share is checked on the reveal).
        pub(crate) complaints: BTreeSet<PartyIndex>,
    }

    /// One echoed round-1 broadcast: its digest and the dealer's signature over it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Echo {
        #[serde(with = "serde_bytes")]
        pub(crate) digest: [u8; 32],
        pub(crate) signature: Sig,
    }

    impl Broadcast {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
        /// Dealers this party complains about.
        pub fn complaints(&self) -> &BTreeSet<PartyIndex> {
            &self.complaints
        }
    }
}

/// Round-4 message.
pub mod round4 {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use crate::party::PartyIndex;
    use crate::wire::{Bytes, Header};

    /// Sent by every dealer in round 4: the shares of the receivers that complained
    /// about it (by receiver index), revealed so everyone can check them against the commitment, and its signed
    /// round-1 broadcast again if any round-3 report said it was missing.
    ///
    /// # Security
    ///
    /// Requires the broadcast channel with agreement (see [`crate::vss`]). Revealed
    /// shares become public (they are shares of parties that either are faulty or did
    /// not get this dealer's messages).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcast {
        pub(crate) header: Header,
        pub(crate) revealed: BTreeMap<PartyIndex, Bytes>,
        /// The dealer's signed round-1 broadcast, re-sent for parties that missed it.
        pub(crate) round1: Option<super::round1::Broadcast>,
    }

    impl Broadcast {
        /// The header.
        pub fn header(&self) -> &Header {
            &self.header
        }
        /// The re-broadcast round-1 message, if any.
        pub fn rebroadcast(&self) -> Option<&super::round1::Broadcast> {
            self.round1.as_ref()
        }
    }
}

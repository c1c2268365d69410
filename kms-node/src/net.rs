//! Node ↔ node transport (DESIGN §8): libp2p over TCP with Noise and Yamux, gated to
//! the members of the current and next committee, with attested admission.

//! The daemon: identity, attestation, admission of peers, the epoch manager.

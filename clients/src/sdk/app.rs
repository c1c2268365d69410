//! The application SDK (DESIGN §4, §7 "Key release", "Signing"; docs/APP.md): what a
//! TEE application calls at boot to get its keys, with no node ever seeing them.
//!
//! - [`keys`]: offline, from the network's group keys alone: the application's
//!   signing public key `xonly(P_app)`, sealing to `(app_id, path)`, opening a sealed
//!   box with `sigma`, checking BIP-340 signatures.
//! - [`attester`]: the evidence the application presents (`--attester`), bound to its
//!   fresh Noise static key.
//! - [`network`]: the active committee as the chain records it.
//! - [`client`]: [`AppClient`]: key release and signing against the committee, over
//!   attested Noise sessions ([`session`]).
//! - [`known`]: what a client already checked (node evidence, public key shares),
//!   so that new sessions do not check it again.
//! - [`error`]: the kinds of this module's failures ([`AppError`]).

pub mod attester;
pub mod client;
pub mod error;
pub mod keys;
pub mod known;
pub mod network;
pub mod session;

pub use self::attester::{AppAttester, AttesterKind};
pub use self::client::{AppClient, ClientOptions, Context, NodeProblem, ReleasedKey, Signed};
pub use self::error::AppError;
pub use self::keys::{check_sealed_box, identity, unseal, verify_bip340, NetworkKeys};
pub use self::network::{Committee, Member};

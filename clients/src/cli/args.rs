//! The chain arguments every chain command takes: where the network is and who signs.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use clients::sdk::devnet::Role;
use clients::sdk::{gov, transport};
use clients::{Chain, Error, GovClient, Result};
use zeroize::Zeroizing;

/// The environment variable holding the signing key (hex) when `--key-file` is absent.
const KEY_ENV: &str = "KMS_PRIVATE_KEY";

/// Where the network is and who signs.
#[derive(Args, Debug, Clone)]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain holding the governance contract.
    #[arg(long, env = "KMS_RPC_URL", global = true)]
    pub rpc: Option<String>,
    /// Address of the governance contract.
    #[arg(long, env = "KMS_CONTRACT", global = true)]
    pub contract: Option<String>,
    /// File with the hex private key that signs transactions (else `KMS_PRIVATE_KEY`).
    #[arg(long, global = true, conflicts_with = "as_")]
    pub key_file: Option<PathBuf>,
    /// A local network's state directory (`kms devnet up --dir D`): its chain and
    /// contract replace `--rpc` and `--contract`.
    #[arg(long, global = true, value_name = "DIR")]
    pub devnet: Option<PathBuf>,
    /// With `--devnet`: sign with the devnet's N-th voter or node operator key
    /// (`voter:N`, `operator:N`, N from 1).
    #[arg(long = "as", global = true, value_name = "ROLE", requires = "devnet")]
    pub as_: Option<Role>,
}

impl ChainArgs {
    /// The devnet's chain and contract with `--devnet`, else `--rpc` / `KMS_RPC_URL`
    /// and `--contract` / `KMS_CONTRACT`.
    pub fn chain(&self) -> Result<Chain> {
        match &self.devnet {
            Some(dir) => Chain::devnet(dir),
            None => Chain::new(self.rpc.clone(), self.contract.clone()),
        }
    }

    /// The transaction signer: `--as ROLE` of the devnet, else `--key-file` or
    /// `KMS_PRIVATE_KEY`.
    pub fn signer(&self) -> Result<PrivateKeySigner> {
        match (&self.as_, self.devnet.as_deref()) {
            (Some(role), Some(dir)) => gov::devnet_signer(dir, role),
            _ => match &self.key_file {
                Some(path) => transport::signer_from_file(path),
                None => {
                    let text = Zeroizing::new(std::env::var(KEY_ENV).map_err(|_| {
                        Error::MissingKey(format!(
                            "this command signs a transaction: give --key-file FILE or set {KEY_ENV} (hex)"
                        ))
                    })?);
                    transport::signer_from_hex(&text)
                }
            },
        }
    }

    /// A client that reads.
    pub fn read_only(&self) -> Result<GovClient> {
        GovClient::read_only(&self.chain()?)
    }

    /// A client that signs (the key is loaded first, as a missing key is the likelier
    /// mistake).
    pub fn signed(&self) -> Result<GovClient> {
        let signer = self.signer()?;
        GovClient::signed(&self.chain()?, signer)
    }
}

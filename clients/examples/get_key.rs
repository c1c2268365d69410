//! What a TEE application does at boot: prove what it is and get its key, with no node
//! ever seeing it. Copy this into your application (docs/APP.md).
//!
//! In an enclave (the attester is found by itself):
//!
//! ```text
//! KMS_RPC_URL=https://… KMS_CONTRACT=0x… cargo run -p clients --example get_key -- APP_ID disk
//! ```
//!
//! On a devnet (`kms devnet up --detach`), with simulated evidence of the demo build
//! (no security; `devnet.json` names the demo app and its image):
//!
//! ```text
//! cargo run -p clients --example get_key -- APP_ID disk --devnet .keynet-devnet SIM_IMAGE
//! ```
#![forbid(unsafe_code)]

use std::path::Path;

use clients::sdk::app::{AppAttester, AppClient, AttesterKind, ClientOptions};
use clients::sdk::gov::{Chain, GovClient};
use clients::sdk::parse;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (app, path) = match (args.first(), args.get(1)) {
        (Some(a), Some(p)) => (parse::bytes32("APP_ID", a)?, p.clone()),
        _ => return Err("usage: get_key APP_ID PATH [--devnet DIR SIM_IMAGE]".into()),
    };
    let mut options = ClientOptions::default();
    let (chain, attester) = match (args.get(2).map(String::as_str), args.get(3), args.get(4)) {
        (Some("--devnet"), Some(dir), Some(image)) => {
            let dir = Path::new(dir);
            // Devnet nodes present simulated evidence signed with the devnet's key.
            let seed = std::fs::read_to_string(dir.join("keys/sim-attester.key"))?;
            let seed = parse::bytes32("devnet key", seed.trim())?;
            options.simulated_node_keys = vec![
                attestation_gate::simulated::DevnetSigningKey::from_seed(&seed)
                    .public_key()
                    .to_bytes(),
            ];
            let image = parse::bytes32("SIM_IMAGE", image)?;
            (
                Chain::devnet(dir)?,
                AppAttester::simulated_from_devnet(dir, image)?,
            )
        }
        _ => (
            Chain::new(
                std::env::var("KMS_RPC_URL").ok(),
                std::env::var("KMS_CONTRACT").ok(),
            )?,
            AppAttester::device(AttesterKind::Auto, Path::new("/"))?,
        ),
    };
    let client = AppClient::new(GovClient::read_only(&chain)?, app, attester, options)?;
    let released = client.get_key(&path).await?;
    // Use the key; never log it in a real application. Here it is printed to show it
    // is the same at every run.
    println!(
        "key for {path:?}: {} (epoch {}, nodes {:?}, misbehaving {:?})",
        hex::encode(released.key.expose_secret()),
        released.epoch,
        released.nodes_used,
        released
            .bad_nodes
            .iter()
            .map(|b| b.index)
            .collect::<Vec<_>>()
    );
    Ok(())
}

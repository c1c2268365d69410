//! `kms gov` and `kms network info` over `https://`: a TLS front with a throwaway
//! certificate for `localhost` forwards to a fresh anvil. The certificate is trusted
//! only through `SSL_CERT_FILE`, so the same endpoint must be refused without it.
#![allow(non_snake_case)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use governance_contract::anvil::{Anvil, DEV_KEYS};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;

#[path = "common/kms.rs"]
mod run;

/// The longest the TLS front lives (it also stops when the test drops its handle).
const FRONT_LIFETIME: Duration = Duration::from_secs(300);

/// A TLS-terminating forwarder on 127.0.0.1 in front of `upstream` (host:port), on its
/// own thread and runtime, so the blocking `kms` runs do not starve it.
struct TlsFront {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsFront {
    fn start(cert_pem: &str, key_pem: &str, upstream: String) -> Self {
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let deadline = tokio::time::sleep(FRONT_LIFETIME);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        _ = &mut deadline => break,
                        accepted = listener.accept() => {
                            let Ok((tcp, _)) = accepted else { continue };
                            let acceptor = acceptor.clone();
                            let upstream = upstream.clone();
                            tokio::spawn(async move {
                                // A client that refuses our certificate ends here.
                                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                                let Ok(mut up) = TcpStream::connect(upstream).await else { return };
                                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                            });
                        }
                    }
                }
            });
        });
        Self {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `kms ARGS --json --rpc RPC` with `SSL_CERT_FILE=ca` (when given); (ok, JSON).
fn kms(rpc: &str, ca: Option<&Path>, key: Option<&str>, args: &[&str]) -> (bool, Value) {
    let ca = ca.map(|p| p.to_str().unwrap());
    let mut env = vec![match ca {
        Some(ca) => ("SSL_CERT_FILE", ca),
        // No trust store at all: the refusal does not depend on this machine's roots.
        None => ("SSL_CERT_DIR", "/nonexistent"),
    }];
    if let Some(k) = key {
        env.push(("KMS_PRIVATE_KEY", k));
    }
    let (code, v) = run::run(&[args, &["--rpc", rpc]].concat(), &env);
    (code == 0, v)
}

#[test]
fn kms_over_https__should_work_with_a_trusted_certificate_and_refuse_an_unknown_one() {
    let anvil = Anvil::spawn().unwrap();
    let upstream = anvil
        .endpoint()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempdir();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let front = TlsFront::start(&cert.cert.pem(), &cert.key_pair.serialize_pem(), upstream);
    let https = format!("https://localhost:{}", front.port);

    // A signed transaction and reads, all through TLS.
    let voter = DEV_KEYS[0]
        .parse::<alloy::signers::local::PrivateKeySigner>()
        .unwrap()
        .address()
        .to_string();
    let (ok, d) = kms(
        &https,
        Some(&ca),
        Some(DEV_KEYS[0]),
        &[
            "gov",
            "deploy",
            "--voters",
            &voter,
            "--quorum",
            "1",
            "--timelock",
            "0s",
        ],
    );
    assert!(ok, "deploy over https failed: {d}");
    let contract = d["contract"].as_str().unwrap().to_owned();
    let (ok, info) = kms(
        &https,
        Some(&ca),
        None,
        &["network", "info", "--contract", &contract],
    );
    assert!(ok, "network info over https failed: {info}");
    assert_eq!(info["epoch"].as_u64(), Some(0), "{info}");
    assert!(info["committee"].is_array(), "{info}");

    // The same endpoint without trusting the certificate: refused, with the reason.
    for trust in [Some(empty.as_path()), None] {
        let (ok, e) = kms(
            &https,
            trust,
            None,
            &["network", "info", "--contract", &contract],
        );
        assert!(!ok, "an untrusted certificate was accepted: {e}");
        assert_eq!(e["error"]["kind"], "rpc_unreachable", "{e}");
        let message = e["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains("certificate"), "{message}");
        assert!(message.contains("https"), "{message}");
    }
    // Plain http keeps working on a machine without any CA certificate.
    let (ok, info) = kms(
        &anvil.endpoint(),
        None,
        None,
        &["network", "info", "--contract", &contract],
    );
    assert!(ok, "http without CA certificates failed: {info}");
    drop(front);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kms-https-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

//! A local anvil chain for tests and development networks: spawned from this crate's
//! `node_modules` (installed by `npm ci` from the pinned `package-lock.json`), bound to
//! 127.0.0.1 on a port the OS picks, killed on drop.
//!
//! Behind the feature `dev`, which only dev-dependencies (tests) and a `kms devnet` that
//! starts a local chain enable: production builds never carry the well-known keys.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The private keys (hex) of anvil's ten default dev accounts (mnemonic
/// "test test test test test test test test test test test junk"). Public knowledge:
/// never use them outside a local chain.
pub const DEV_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// How long [`Anvil::spawn`] lets anvil run before it stops by itself.
pub const TEST_LIFETIME: Duration = Duration::from_secs(1800);

/// Why anvil could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnvilError {
    /// The binary is not installed.
    #[error("anvil not found at {0}: run `npm ci` in governance-contract/ (it installs the pinned @foundry-rs/anvil)")]
    Missing(PathBuf),
    /// Spawning or probing failed.
    #[error("could not start anvil: {0}")]
    Io(#[from] io::Error),
    /// It did not report a listening address in time.
    #[error("anvil did not start listening within 20 s")]
    Timeout,
}

/// A running anvil, killed when dropped.
pub struct Anvil {
    child: Child,
    addr: SocketAddr,
}

impl Anvil {
    /// The anvil binary: `$KEYNET_ANVIL` if set, else the native binary of the pinned
    /// `@foundry-rs/anvil-linux-amd64` package under this crate's `node_modules`, else
    /// `node_modules/.bin/anvil`.
    pub fn binary() -> Result<PathBuf, AnvilError> {
        if let Some(p) = std::env::var_os("KEYNET_ANVIL") {
            return Ok(PathBuf::from(p));
        }
        let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules");
        // The native binary first: killing a node wrapper would orphan it.
        let native = modules.join("@foundry-rs/anvil-linux-amd64/bin/anvil");
        if native.is_file() {
            return Ok(native);
        }
        let wrapper = modules.join(".bin/anvil");
        if wrapper.is_file() {
            return Ok(wrapper);
        }
        Err(AnvilError::Missing(native))
    }

    /// Starts anvil for at most [`TEST_LIFETIME`] (it stops by itself even if this
    /// process is killed before dropping it). See [`Anvil::spawn_for`].
    pub fn spawn() -> Result<Self, AnvilError> {
        Self::spawn_for(Some(TEST_LIFETIME))
    }

    /// Starts anvil on 127.0.0.1 and a port the OS picks (`--port 0`: no race with
    /// other tests), waiting until it prints the address it listens on. With a
    /// `lifetime`, anvil runs under coreutils `timeout` and is killed when it ends.
    pub fn spawn_for(lifetime: Option<Duration>) -> Result<Self, AnvilError> {
        let bin = Self::binary()?;
        let mut cmd = match lifetime {
            Some(l) => {
                let mut c = Command::new("timeout");
                c.args(["--signal=KILL", &format!("{}s", l.as_secs().max(1))])
                    .arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let mut child = cmd
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("anvil's stdout is not piped"))?;
        let (tx, rx) = mpsc::channel();
        // Reads the address, then keeps draining stdout so anvil never blocks on it.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(a) = line.trim().strip_prefix("Listening on ") {
                        sent = true;
                        let _ = tx.send(a.parse::<SocketAddr>());
                    }
                }
            }
        });
        let mut anvil = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(addr)) => {
                anvil.addr = addr;
                Ok(anvil)
            }
            Ok(Err(e)) => Err(AnvilError::Io(io::Error::other(format!(
                "bad listen address: {e}"
            )))),
            Err(_) => match anvil.child.try_wait()? {
                Some(status) => Err(AnvilError::Io(io::Error::other(format!(
                    "anvil exited with {status}"
                )))),
                None => Err(AnvilError::Timeout),
            },
        }
    }

    /// The JSON-RPC endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // SIGTERM: `timeout` forwards it to anvil (SIGKILL would orphan anvil until the
        // lifetime ends); anvil itself exits on it too.
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !terminated {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

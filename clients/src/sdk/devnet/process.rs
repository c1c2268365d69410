//! The devnet's processes (anvil, the nodes): started in their own process group so
//! they can outlive `kms` (`--detach`) and so a Ctrl-C in the terminal reaches only
//! `kms`, which then stops them itself; identified by pid *and* start time, so a
//! recycled pid is never taken for (or killed as) one of ours.
//!
//! Linux only, without libc: liveness and start time come from `/proc/PID/stat`,
//! signals are sent with the `kill` command.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::error::DevnetError;
use crate::sdk::error::Result;

/// How long a process gets between SIGTERM and SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(5);

/// How long a SIGKILLed process gets to disappear.
const KILL_GRACE: Duration = Duration::from_secs(3);

/// One process the devnet started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    /// Its pid (and process group id: it leads its own group).
    pub pid: u32,
    /// Its start time, clock ticks after boot (`/proc/PID/stat` field 22).
    pub start: u64,
}

impl ProcessId {
    /// Whether the process still runs (a zombie does not).
    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

/// The start time of the live (not zombie) process `pid`, `None` if there is none.
pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid)
        .filter(|(zombie, _)| !zombie)
        .map(|(_, start)| start)
}

/// Whether process `pid` is a zombie (or dying), and its start time.
fn stat(pid: u32) -> Option<(bool, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after
    // the last ')'. The fields after it start at field 3 (state).
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    // Field 22 is the 20th after the state (field 3).
    let start = fields.nth(18)?.parse().ok()?;
    Some((state == "Z" || state == "X", start))
}

/// Starts `program ARGS` in its own process group, stdin closed, stdout and stderr
/// appended to `log`, without the `KMS_NODE_*` variables of this environment (a node's
/// configuration is its file only) and with `NO_COLOR=1`.
pub fn spawn(program: &Path, args: &[&str], log: &Path) -> Result<(Child, ProcessId)> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| process_error(format!("cannot open {}: {e}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(|e| process_error(format!("cannot open {}: {e}", log.display())))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KMS_NODE_") {
            cmd.env_remove(k);
        }
    }
    // The output goes to a log file: no terminal colours in it.
    cmd.env("NO_COLOR", "1");
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .map_err(|e| process_error(format!("cannot start {}: {e}", program.display())))?;
    let pid = child.id();
    // A process that exited at once is still ours (a zombie until reaped): the caller
    // sees it dead and reports it with its log.
    match stat(pid) {
        Some((_, start)) => Ok((child, ProcessId { pid, start })),
        None => {
            let status = child.wait().ok();
            Err(process_error(format!(
                "{} exited at once ({}); see {}",
                program.display(),
                status.map(|s| s.to_string()).unwrap_or_default(),
                log.display()
            )))
        }
    }
}

/// Stops process `id` and its group: SIGTERM, then SIGKILL after [`TERM_GRACE`]. A
/// process that is gone already (or whose pid now names another process) is left alone.
/// `child` (the handle, when this process started it) is reaped.
pub fn terminate(id: &ProcessId, child: Option<&mut Child>, grace: Duration) -> Result<()> {
    let mut child = child;
    let mut alive = || {
        if let Some(c) = child.as_deref_mut() {
            // Reaps it, so it does not linger as a zombie.
            let _ = c.try_wait();
        }
        id.is_alive()
    };
    if !alive() {
        return Ok(());
    }
    signal(id, "TERM");
    if wait_gone(&mut alive, grace) {
        return Ok(());
    }
    signal(id, "KILL");
    if wait_gone(&mut alive, KILL_GRACE) {
        return Ok(());
    }
    Err(process_error(format!(
        "process {} survived SIGKILL; stop it by hand",
        id.pid
    )))
}

/// Kills process `id` and its group at once (SIGKILL), as a crash would.
pub fn kill(id: &ProcessId, child: Option<&mut Child>) -> Result<()> {
    terminate_with(id, child, "KILL")
}

fn terminate_with(id: &ProcessId, child: Option<&mut Child>, sig: &str) -> Result<()> {
    let mut child = child;
    let mut alive = || {
        if let Some(c) = child.as_deref_mut() {
            let _ = c.try_wait();
        }
        id.is_alive()
    };
    if !alive() {
        return Ok(());
    }
    signal(id, sig);
    if wait_gone(&mut alive, KILL_GRACE) {
        Ok(())
    } else {
        Err(process_error(format!(
            "process {} survived SIG{sig}; stop it by hand",
            id.pid
        )))
    }
}

/// Sends `sig` to the process group of `id` (then to the process, in case it left
/// its group). Only called right after `id` was seen alive.
fn signal(id: &ProcessId, sig: &str) {
    // Never `kill -- -0` (our own group) or init.
    if id.pid <= 1 {
        return;
    }
    for target in [format!("-{}", id.pid), id.pid.to_string()] {
        let _ = Command::new("kill")
            .args(["-s", sig, "--", &target])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn wait_gone(alive: &mut impl FnMut() -> bool, bound: Duration) -> bool {
    let until = Instant::now() + bound;
    while Instant::now() < until {
        if !alive() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    !alive()
}

/// The signals that ask a devnet's owner to stop: SIGINT (Ctrl-C), SIGTERM (`kill`, a
/// supervisor, `timeout`) and SIGHUP (its terminal closed). The devnet's processes run
/// in their own process groups, so none of these reaches them: whoever owns a devnet in
/// the foreground listens for all three and stops it ([`Stop::requested`]). Listening
/// for Ctrl-C alone left anvil and the nodes running after the other two.
///
/// Once created, the three signals no longer end this process by themselves, for as
/// long as it runs (tokio keeps its handlers), so keep one `Stop` for the whole
/// command and keep polling it.
pub struct Stop {
    signals: Vec<(&'static str, tokio::signal::unix::Signal)>,
}

impl Stop {
    /// Listens for SIGINT, SIGTERM and SIGHUP. Fails (with the reason) only if a
    /// handler cannot be installed, which leaves that signal's default in place.
    pub fn listen() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let kinds = [
            ("SIGINT", SignalKind::interrupt()),
            ("SIGTERM", SignalKind::terminate()),
            ("SIGHUP", SignalKind::hangup()),
        ];
        let signals = kinds
            .into_iter()
            .map(|(name, kind)| {
                signal(kind)
                    .map(|s| (name, s))
                    .map_err(|e| process_error(format!("cannot listen for {name}: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(Self { signals })
    }

    /// Resolves when one of the signals arrives (also one that arrived since the last
    /// call), with its name.
    pub async fn requested(&mut self) -> &'static str {
        let waits = self.signals.iter_mut().map(|(name, s)| {
            Box::pin(async move {
                // `None` only when the runtime shuts down: then never resolve.
                if s.recv().await.is_none() {
                    std::future::pending::<()>().await;
                }
                *name
            })
        });
        futures::future::select_all(waits).await.0
    }
}

fn process_error(message: String) -> crate::Error {
    DevnetError::Process(message).into()
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn process__should_be_alive_until_terminated_and_never_match_a_wrong_start_time() {
        let dir = std::env::temp_dir().join(format!("kms-proc-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("sleep.log");
        let (mut child, id) = spawn(Path::new("sleep"), &["30"], &log).unwrap();
        assert!(id.is_alive());
        let other = ProcessId {
            pid: id.pid,
            start: id.start + 1,
        };
        assert!(!other.is_alive(), "a recycled pid must not count as ours");
        terminate(&other, None, Duration::from_millis(100)).unwrap();
        assert!(id.is_alive(), "terminate of a stranger must not signal");
        terminate(&id, Some(&mut child), TERM_GRACE).unwrap();
        assert!(!id.is_alive());
        assert_eq!(start_time(id.pid), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn start_time__should_read_this_process() {
        assert!(start_time(std::process::id()).is_some());
    }
}

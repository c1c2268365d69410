//! The devnet's own failures, one kind each (docs/DEVNET.md "Errors"); the SDK's
//! [`Error::Devnet`](crate::Error::Devnet) carries them with their kind.

/// Why a devnet command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevnetError {
    /// `--nodes`, `--threshold` or `--vendor` outside what a committee allows.
    #[error("{0}")]
    InvalidSize(String),
    /// `up` on a directory whose devnet still runs.
    #[error("{0}")]
    Running(String),
    /// A node index the devnet does not have.
    #[error("{0}")]
    UnknownNode(String),
    /// `node start` of a node that runs already.
    #[error("{0}")]
    NodeRunning(String),
    /// anvil cannot be installed or started.
    #[error("{0}")]
    AnvilUnavailable(String),
    /// The kms-node binary is not where it was looked for.
    #[error("{0}")]
    NodeBinaryMissing(String),
    /// A node exited, or did not report its endpoints in time.
    #[error("{0}")]
    NodeStartFailed(String),
    /// The genesis epoch did not become active in time.
    #[error("{0}")]
    GenesisTimeout(String),
    /// A process could not be started or stopped.
    #[error("{0}")]
    Process(String),
    /// A node's operator endpoint cannot be reached.
    #[error("{0}")]
    NodeUnreachable(String),
    /// A node's operator endpoint answered something that is not its status.
    #[error("{0}")]
    BadNodeStatus(String),
    /// The command was interrupted (Ctrl-C, SIGTERM or SIGHUP); what it started was
    /// stopped.
    #[error("{0}")]
    Interrupted(String),
}

impl DevnetError {
    /// The stable snake_case kind scripts match on.
    pub fn kind(&self) -> &'static str {
        match self {
            DevnetError::InvalidSize(_) => "invalid_devnet_size",
            DevnetError::Running(_) => "devnet_running",
            DevnetError::UnknownNode(_) => "unknown_node",
            DevnetError::NodeRunning(_) => "node_running",
            DevnetError::AnvilUnavailable(_) => "anvil_unavailable",
            DevnetError::NodeBinaryMissing(_) => "node_binary_missing",
            DevnetError::NodeStartFailed(_) => "node_start_failed",
            DevnetError::GenesisTimeout(_) => "genesis_timeout",
            DevnetError::Process(_) => "process_error",
            DevnetError::NodeUnreachable(_) => "node_unreachable",
            DevnetError::BadNodeStatus(_) => "bad_node_status",
            DevnetError::Interrupted(_) => "interrupted",
        }
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn devnet_error_kind__should_be_distinct_and_documented_in_devnet_md() {
        let s = || "m".to_owned();
        let all = [
            DevnetError::InvalidSize(s()),
            DevnetError::Running(s()),
            DevnetError::UnknownNode(s()),
            DevnetError::NodeRunning(s()),
            DevnetError::AnvilUnavailable(s()),
            DevnetError::NodeBinaryMissing(s()),
            DevnetError::NodeStartFailed(s()),
            DevnetError::GenesisTimeout(s()),
            DevnetError::Process(s()),
            DevnetError::NodeUnreachable(s()),
            DevnetError::BadNodeStatus(s()),
            DevnetError::Interrupted(s()),
        ];
        let doc = include_str!("../../../../docs/DEVNET.md");
        let mut kinds: Vec<&str> = all.iter().map(DevnetError::kind).collect();
        for k in &kinds {
            assert!(
                doc.contains(&format!("`{k}`")),
                "{k} is not in docs/DEVNET.md"
            );
        }
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len());
    }
}

//! What `up` and the node commands report while they work, for a progress display
//! (the CLI's is indicatif) or a test's log.

use std::time::Duration;

/// One thing a long devnet operation reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A step begins (`"deploying the governance contract"`).
    Step(&'a str),
    /// Still waiting for `what`, `elapsed` of at most `bound`.
    Waiting {
        /// What is awaited.
        what: &'a str,
        /// Time spent so far.
        elapsed: Duration,
        /// When waiting gives up.
        bound: Duration,
    },
    /// The step finished.
    Done(&'a str),
}

/// Receives [`Event`]s. Called from the task doing the work: keep it quick.
pub trait Progress: Send + Sync {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

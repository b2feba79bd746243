//! How baocao's long-running loops (the ingest consumers, the scheduler and the outbox sender,
//! the HTTP server and its live feeds) stop, wait and retry. Every target uses the same three
//! pieces, so a loop reads the same wherever it is:
//!
//! - [`Shutdown`]: the signal a loop takes from outside (SIGTERM, or a test) and its trigger.
//! - [`Backoff`]: capped exponential waits with jitter between attempts.
//! - [`Streak`]: whether something is failing, so that a failure is logged once when it starts
//!   and once when it ends, not once per retry.

mod backoff;
mod shutdown;
mod streak;

pub use backoff::Backoff;
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use streak::Streak;

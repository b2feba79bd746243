//! The `baocao` binary as a library, so that tests drive the same code the command line does.
//!
//! - [`cli`]: the command line of SPEC §9.
//! - [`config`]: `baocao.toml` and the `BAOCAO_*` environment, loaded once into `Settings`.
//! - [`telemetry`]: logging setup.
//! - [`run`]: `baocao run --target …`: starts the targets and drains them on SIGTERM.
//! - [`sim`]: simulated upstream systems (`baocao sim`).
//! - [`narrative`]: `report narrative`, per-period edits of the narrative paragraphs.
//! - [`reports`]: `report send` and `report status`.
//! - [`import`]: `baocao import dossiers|documents`, a ward's exports through the broker.
//! - [`commands`]: the other subcommands.
//! - [`entry`]: `main`, shared with the test harness.

pub mod cli;
pub mod commands;
pub mod config;
pub mod entry;
pub mod import;
pub mod narrative;
pub mod reports;
pub mod run;
pub mod sim;
pub mod telemetry;

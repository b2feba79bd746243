//! The end-to-end tests, one module per subject, in one binary: each test binary links the
//! whole workspace (about 340 MB in the debug profile), so one binary instead of twenty-four
//! saves CI twenty-three links and several gigabytes of disk. nextest still runs every test in
//! its own process. One subject alone: `cargo nextest run -p baocao-tests -E 'test(/^pipeline::/)'`.

mod api;
mod architecture;
mod browser;
mod cli;
mod cluster;
mod contract;
mod contracts;
mod corrections;
mod delivery;
mod department;
mod deploy_config;
mod dvcqg;
mod edxml;
mod frames;
mod hostile;
mod imports;
mod isolation;
mod issuing;
mod items;
mod kept;
mod limits;
mod narrative;
mod outages;
mod people;
mod pipeline;
mod province;
mod province_sim;
mod rejections;
mod report;
mod secrets;
mod signing;
mod six_processes;
mod stalls;
mod workbook;

//! lockgate's integration tests: one test binary (see `[[test]]` in Cargo.toml) whose modules
//! share `support`: hermetic git repositories, the compiled binary, and an OSV server on 127.0.0.1.

mod agreement;
mod attacks;
mod cilint;
mod composer;
mod faults;
mod fixtures;
mod hooks;
mod hostile;
mod integrity;
mod js_lockfiles;
mod lockfile_lint;
mod npm_sync;
mod offline;
mod origins;
mod pipenv;
mod policy;
mod private;
mod push;
mod python;
mod python_lockfiles;
mod recipes;
mod release_age;
mod report;
mod robustness;
mod shapes;
mod sources;
mod staged;
mod support;
mod support_selftest;
mod watch;

//! Support code for lockgate's integration tests: a local OSV server, hermetic git repositories
//! that run the compiled binary, npm lockfile fixtures, and the recorded corpora of tests/fixtures.

// Each test module uses a different part of this; unused helpers are not mistakes.
#![allow(dead_code)]

pub mod export;
pub mod export_folder;
pub mod fixtures;
pub mod lockfiles;
pub mod osv_server;
pub mod problems;
pub mod random;
pub mod raw_http;
pub mod repo;
pub mod schemas;

pub use lockfiles::{npm_lock_v1, npm_lock_v2, npm_lock_v3, package_json, package_json_matching};
pub use osv_server::{unreachable_url, Fault, OsvServer};
pub use repo::{Run, TestRepo};

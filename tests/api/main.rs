//! End-to-end tests: the real `timebank` binary on port 0 against a fresh
//! database, spoken to over HTTP. One test binary, so it links once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod auth;
mod authz;
mod bench;
mod browser;
mod calendar;
mod cli;
mod concurrency;
mod crash;
mod earning;
mod errors;
mod faults;
mod fuzz;
mod grouping;
mod helpers;
mod jobs;
mod ledger;
mod newcomer;
mod oracle;
mod organising;
mod orgs;
mod pg_cluster;
mod recovery;
mod reports;
mod seeded;
mod services;
mod spending;
mod staff;
mod storm;
mod volunteers;

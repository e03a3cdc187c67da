//! The black-box suite: one test binary, the real server driven over HTTP.
#![allow(clippy::panic, reason = "tests fail by panicking")]

mod access;
mod access_log;
mod account_change;
mod back_office;
mod bad_input;
mod browser;
mod catalogue;
mod configuration;
mod contract;
mod contract_fuzz;
mod deployment_files;
mod documents;
mod faults;
mod generated_docs;
mod hostile_input;
mod identity;
mod integrations;
mod jwks;
mod languages;
mod me;
mod meter_damage;
mod module_graph;
mod my_applications;
mod notifications;
mod observability;
mod reliability;
mod route_roles;
mod service_accounts;
mod storage;
mod swagger_ui;

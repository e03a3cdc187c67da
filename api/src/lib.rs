//! The HTTP API of the Azərişıq e-services: authentication, handlers, problem+json errors, the
//! OpenAPI contract, and the `eservices` command.

pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod config_reference;
pub mod etag;
pub mod idempotency;
pub mod jwks;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pdf;
pub mod problem;
pub mod query;
pub mod read_context;
pub mod recorded_registries;
pub mod responses;
pub mod routes;
pub mod security;
pub mod startup;
pub mod state;
pub mod steps;
pub mod telemetry;
pub mod translations;
pub mod vocabulary;

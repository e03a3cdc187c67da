//! The production adapters of the ports that stand for outside systems: each a synchronous HTTP
//! client (the ports are called on blocking threads) with a timeout on every call, retries of
//! idempotent reads with backoff, a circuit breaker per system, and a short cache where the data
//! allows it. The request and response formats are in `docs/INTEGRATIONS.md`.
//!
//! A system that does not answer, answers 5xx or answers something unreadable is
//! [`domain::ports::Unavailable`] naming the system (the API answers 503 with `Retry-After`); a
//! record it does not know is `None`.

pub mod billing;
pub mod breaker;
pub mod calls;
pub mod client;
pub mod property;
pub mod registry;
pub mod trace;

pub use billing::HttpBilling;
pub use client::{HttpSystem, SystemSettings};
pub use property::HttpPropertyRegistry;
pub use registry::HttpCitizenRegistry;

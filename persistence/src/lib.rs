//! Storage on PostgreSQL or SQLite through one diesel code path: the application store, the
//! table-backed registry and billing adapters for development, and the seed loader.
//!
//! Error policy: a business outcome the database detects (a second open application for a
//! target, a stale version) comes back as the domain's `StoreError`; every other diesel or pool
//! error becomes `Unavailable { system: "database" }`, which the API answers with 503.

pub mod access_log;
pub mod applications;
pub mod connection;
mod create_on_postgres;
pub mod departments;
pub mod idempotency;
pub mod local_registries;
pub mod outbox;
mod prepared_sql;
pub mod reads;
pub mod schema;
pub mod seed;
mod time;

pub use access_log::{DieselAccessLog, DieselDelegatedCalls};
pub use applications::DieselApplicationStore;
pub use connection::{Backend, Database, DatabaseError, PoolOptions, PoolState};
pub use departments::DieselDepartments;
pub use idempotency::IdempotencyKeys;
pub use local_registries::LocalRegistries;
pub use outbox::DieselOutbox;
pub use reads::DieselApplicationReads;

//! The pure rules of the Azərişıq e-services.
//!
//! Nothing here does I/O: time, ids and the facts from outside systems come in as arguments or
//! through the ports in [`ports`]. Each format has its newtype with a `parse` function (parse,
//! don't validate), each decision its function, and the statuses one state machine in [`status`].

pub mod access_log;
pub mod account_change;
pub mod application;
pub mod back_office;
pub mod catalogue;
pub mod codes;
pub mod contact;
pub mod district;
pub mod documents;
pub mod identity;
pub mod meter_damage;
pub mod money;
pub mod notifications;
pub mod ports;
pub mod property;
pub mod reads;
pub mod routing;
pub mod service;
pub mod service_level;
pub mod status;
pub mod status_diagram;
pub mod workflow;

mod text;

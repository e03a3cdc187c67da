//! Telling applicants and integrators: the templates, the channels (SMTP e-mail, the SMS
//! gateway, webhooks, and log channels for development) and the dispatcher that delivers the
//! outbox. Requests only write the outbox; everything here runs beside them.

pub mod channels;
pub mod dispatcher;
pub mod templates;
pub mod webhook;

pub use dispatcher::Dispatcher;

//! What every gRPC service of the system shares.
//!
//! - [`auth`]: bearer tokens with an organisation claim, and the interceptor that checks them.
//! - [`status`]: the one conversion from errors to `tonic::Status`, with standard error details.
//! - [`database`]: connecting to PostgreSQL or SQLite with the right settings.
//! - [`idempotency`]: durable idempotency keys for mutating calls.
//! - [`paging`]: page sizes and page tokens of list calls.
//! - [`reference_checks`]: foreign keys checked per statement on PostgreSQL.
//! - [`rpc_telemetry`]: a span and a duration metric per gRPC call.
//! - [`server`]: health checking, reflection, serving on a bound listener, graceful shutdown.
//! - [`main_loop`]: the `main` of every service binary.

/// The configuration crate, for [`service_settings!`].
pub use dk_config as config;

pub mod auth;
pub mod bus;
pub mod database;
pub mod idempotency;
pub mod main_loop;
pub mod paging;
pub mod reference_checks;
pub mod rpc_telemetry;
pub mod server;
pub mod status;

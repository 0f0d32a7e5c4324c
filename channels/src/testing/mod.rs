//! Loopback stand-ins for the providers (feature `test-support`), for this crate's tests and the hub's.
//!
//! - [`LineMock`]: the LINE Messaging API, validating every request against LINE's OpenAPI spec, with
//!   fault injection (429 with `Retry-After`, 500, timeouts, connection drops) and per-user delivery counts.
//! - [`PushStandIn`]: a browser push service: creates subscriptions, verifies VAPID, decrypts payloads.
//! - [`OpenApi`]: the small OpenAPI validator the mock uses (also handy for webhook bodies).

pub mod line_mock;
pub mod openapi;
pub mod push_standin;
pub mod server;

pub use line_mock::{AcceptedRequest, Faults, LineMock, LineMockConfig, LineMockStats};
pub use openapi::OpenApi;
pub use push_standin::{PushStandIn, PushStandInStats, ReceivedPush};

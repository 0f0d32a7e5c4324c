//! The trigger that never sleeps (issue 26): the hub watches the Japan Meteorological Agency's disaster XML
//! (気象庁防災情報XML, the PULL feeds in Atom) and turns what concerns the city into emergencies.
//!
//! - [`xml`] and [`document`] (pure): the feeds and the documents the city acts on — 気象警報・注意報（Ｈ２７）
//!   (VPWW54), 土砂災害警戒情報 (VXWW50), 記録的短時間大雨情報 (VPOA50), 指定河川洪水予報 (VXKO5x) — read
//!   with quick-xml into typed values, refused with what and where when malformed.
//! - [`texts`] (pure): Japanese from the document (kinds, areas, headline, time), やさしい日本語 and the other
//!   languages from the catalogue's templates per kind.
//! - [`poller`]: the long feed once at start, the high-frequency feed every minute with `ETag` and
//!   `Last-Modified`, exponential backoff on errors; one hub at a time acts (a lease in the database).
//! - [`act`]: the policy per kind (`HUB_JMA_POLICY`: `send`, `draft`, `ignore`), emergencies on the emergency
//!   lane marked as from JMA (CAP sender `jma`, the document id as identifier: exactly once), updates when a
//!   sent kind is lifted, 訂正 replacing, 取消 cancelling, 訓練/試験 as dry runs to staff only.
//! - [`store`]: the tables (migration 0017). [`api`]: the drafts and the state for the console.

pub mod act;
pub mod api;
pub mod document;
pub mod poller;
pub mod store;
pub mod texts;
pub mod xml;

pub use act::{JMA_ACTOR, JMA_SENDER, Watch};

//! The one way a test waits for the hub's background work.

use std::fmt::{Debug, Display};
use std::time::{Duration, Instant};

/// Calls `probe` until `done` holds for what it returned, and returns that. When `within` has passed first, the
/// test fails naming what it waited for and the value it saw last: a wait never gives up silently, so a check
/// after it is a check of the settled state.
///
/// `probe` is polled quickly at first (10 ms), then less often (up to every 200 ms).
pub async fn eventually<T: Debug>(
    what: impl Display,
    within: Duration,
    mut probe: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(10);
    loop {
        let value = probe().await;
        if done(&value) {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("waited {within:?} for {what}; last seen: {value:?}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

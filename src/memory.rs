//! Giving freed memory back to the operating system. Opening or closing
//! thousands of WebSockets at once allocates far more, briefly, than the
//! connections keep; the allocators hold on to some of those freed pages
//! until they are asked to release them, so the process would stay as large
//! as its busiest moment.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::events::Hub;
use crate::metrics::Metrics;

/// How often connection churn is looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Connections opened or closed since the last release that make another
/// worthwhile.
const CHURN: u64 = 256;

/// Releases free heap pages once a burst of connections has settled: many
/// opened or closed since the last release, and for a whole second no
/// connection or live subscriber came or went.
pub fn spawn_releaser(metrics: Arc<Metrics>, hub: Hub) {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    tokio::spawn(async move {
        let look = || {
            let opened = metrics.websocket_connections_total.load(Ordering::Relaxed);
            let open = metrics.websocket_connections.load(Ordering::Relaxed);
            // Every connection counts once when opened and again when closed.
            ((2 * opened).saturating_sub(open), hub.load().1)
        };
        let mut tick = tokio::time::interval(LOOK_EVERY);
        let (mut released_at, _) = look();
        let mut last = look();
        loop {
            tick.tick().await;
            let now = look();
            if now == last && now.0.saturating_sub(released_at) >= CHURN {
                released_at = now.0;
                let _ = tokio::task::spawn_blocking(release).await;
            }
            last = now;
        }
    });
}

/// Gives free heap pages back to the system (a no-op off glibc).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release() {
    unsafe extern "C" {
        /// mimalloc (the global allocator): frees what threads no longer
        /// use and returns free pages to the system.
        fn mi_collect(force: bool);
        /// glibc: returns free memory at the top of its heap and every
        /// whole free page inside it to the system (C libraries still
        /// allocate there).
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: both only walk their allocator's own free lists, under its
    // locks; they may be called from any thread at any time.
    unsafe {
        mi_collect(true);
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release() {}

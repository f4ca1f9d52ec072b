//! Limits on how often something may happen per key within a window:
//! failed sign-ins per address (slows password guessing), sign-in attempts
//! and sign-ups per client address. Kept in memory, per server.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::config::Cidr;
use crate::error::{AppError, AppResult};

/// Failed sign-ins for one e-mail address before it is paused.
pub const MAX_FAILURES: u32 = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Beyond this many tracked keys, stale ones are forgotten.
const MAX_TRACKED: usize = 100_000;

/// Counts events per key in fixed windows.
pub struct Window<K> {
    limit: u32,
    length: Duration,
    counts: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Hash + Eq + Clone> Window<K> {
    pub fn new(limit: u32, length: Duration) -> Self {
        Self {
            limit,
            length,
            counts: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (u32, Instant)>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one event, or RATE_LIMITED when the key's window is full;
    /// checked and counted under one lock, so concurrent callers cannot all
    /// pass.
    pub fn admit(&self, key: &K, message: &'static str) -> AppResult<()> {
        if self.bump(key) {
            Ok(())
        } else {
            Err(AppError::RateLimited(message))
        }
    }

    /// Counts one event unless the key already reached the limit; whether
    /// it was counted.
    fn bump(&self, key: &K) -> bool {
        let mut counts = self.lock();
        if counts.len() >= MAX_TRACKED {
            counts.retain(|_, (_, since)| since.elapsed() < self.length);
            // Still full of live keys: forget a quarter of them rather than
            // sweep again on every event.
            let excess = counts.len().saturating_sub(MAX_TRACKED * 3 / 4);
            let forget: Vec<K> = counts.keys().take(excess).cloned().collect();
            for key in forget {
                counts.remove(&key);
            }
        }
        let entry = counts.entry(key.clone()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.length {
            *entry = (0, Instant::now());
        }
        if entry.0 >= self.limit {
            return false;
        }
        entry.0 = entry.0.saturating_add(1);
        true
    }

    pub fn forget(&self, key: &K) {
        self.lock().remove(key);
    }
}

/// The sign-in and sign-up limits of one server.
pub struct Throttles {
    /// Failed sign-ins per e-mail address.
    pub failures: Window<String>,
    /// Sign-in attempts per client address.
    pub sign_ins: Window<IpAddr>,
    /// Sign-ups per client address.
    pub sign_ups: Window<IpAddr>,
}

impl Throttles {
    pub fn new(sign_ins_per_minute: u32, sign_ups_per_hour: u32) -> Self {
        Self {
            failures: Window::new(MAX_FAILURES, FAILURE_WINDOW),
            sign_ins: Window::new(sign_ins_per_minute, Duration::from_secs(60)),
            sign_ups: Window::new(sign_ups_per_hour, Duration::from_secs(3600)),
        }
    }
}

/// The address of the client behind a request: the peer's, unless the peer
/// is a trusted proxy, in which case `X-Forwarded-For` is read from the
/// right, past every trusted proxy, to the first address that is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> Self {
        let is_trusted = |addr: IpAddr| trusted.iter().any(|cidr| cidr.contains(addr));
        if !is_trusted(peer) {
            return Self::keyed(peer);
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            // Whatever stands left of an unreadable entry is not believed.
            let Ok(addr) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = addr;
            if !is_trusted(addr) {
                break;
            }
        }
        Self::keyed(client)
    }

    /// The key limits count by: an IPv4 address (also when mapped into
    /// IPv6), or an IPv6 /64, the block one client usually holds.
    fn keyed(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => Self(IpAddr::V6((u128::from(v6) & !(u128::MAX >> 64)).into())),
            },
            v4 => Self(v4),
        }
    }
}

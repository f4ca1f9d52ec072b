//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub graphql_requests: AtomicU64,
    pub graphql_errors: AtomicU64,
    pub websocket_connections: AtomicU64,
    pub websocket_connections_total: AtomicU64,
    pub activity_catch_ups: AtomicU64,
}

/// Counts an open WebSocket until dropped.
pub struct OpenSocket<'a>(&'a Metrics);

impl<'a> OpenSocket<'a> {
    pub fn new(metrics: &'a Metrics) -> Self {
        metrics
            .websocket_connections
            .fetch_add(1, Ordering::Relaxed);
        metrics
            .websocket_connections_total
            .fetch_add(1, Ordering::Relaxed);
        Self(metrics)
    }
}

impl Drop for OpenSocket<'_> {
    fn drop(&mut self) {
        self.0.websocket_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn render(&self, feeds: usize, subscribers: usize) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        metric(
            "atrium_graphql_requests_total",
            "counter",
            "GraphQL operations executed over HTTP.",
            get(&self.graphql_requests),
        );
        metric(
            "atrium_graphql_error_responses_total",
            "counter",
            "HTTP GraphQL responses carrying errors.",
            get(&self.graphql_errors),
        );
        metric(
            "atrium_websocket_connections",
            "gauge",
            "Open WebSocket connections.",
            get(&self.websocket_connections),
        );
        metric(
            "atrium_websocket_connections_total",
            "counter",
            "WebSocket connections accepted.",
            get(&self.websocket_connections_total),
        );
        metric(
            "atrium_activity_catch_ups_total",
            "counter",
            "Times a subscriber fell behind its feed's buffer and caught up from the database.",
            get(&self.activity_catch_ups),
        );
        metric(
            "atrium_activity_feeds",
            "gauge",
            "Workspaces with live activity subscribers.",
            feeds as u64,
        );
        metric(
            "atrium_activity_subscribers",
            "gauge",
            "Live activity subscriptions (workroom streams included).",
            subscribers as u64,
        );
        out
    }
}

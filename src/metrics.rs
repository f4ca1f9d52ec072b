//! What `/metrics` serves, in the Prometheus text format: counters and
//! gauges kept here, latency histograms (requests by operation, database
//! statements, live delivery) and the process's own figures (CPU, memory,
//! file descriptors, threads) from a `prometheus` registry.

use std::collections::HashSet;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, Registry, TextEncoder};

/// Bucket bounds in seconds, from a cached read to a slow transaction.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub use crate::config::DEFAULT_OPERATION_NAMES;

pub struct Metrics {
    pub graphql_requests: AtomicU64,
    pub graphql_errors: AtomicU64,
    pub websocket_connections: AtomicU64,
    pub websocket_connections_total: AtomicU64,
    pub activity_catch_ups: AtomicU64,
    registry: Registry,
    requests: HistogramVec,
    statements: HistogramVec,
    delivery: Histogram,
    names: Mutex<HashSet<String>>,
    max_names: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(DEFAULT_OPERATION_NAMES)
    }
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
    pub fn new(max_operation_names: usize) -> Self {
        let registry = Registry::new();
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(BUCKETS.to_vec());
            let histogram = HistogramVec::new(opts, labels).expect("valid histogram");
            registry
                .register(Box::new(histogram.clone()))
                .expect("registered once");
            histogram
        };
        let requests = histogram(
            "atrium_graphql_request_duration_seconds",
            "GraphQL requests over HTTP, from the request to its answer, by operation type and name.",
            &["operation_type", "operation"],
        );
        let statements = histogram(
            "atrium_db_statement_duration_seconds",
            "Database statements, by kind (select, insert, update, delete, other).",
            &["statement"],
        );
        let delivery = Histogram::with_opts(
            HistogramOpts::new(
                "atrium_live_delivery_lag_seconds",
                "From an activity event's commit to its fan-out to live subscribers.",
            )
            .buckets(BUCKETS.to_vec()),
        )
        .expect("valid histogram");
        registry
            .register(Box::new(delivery.clone()))
            .expect("registered once");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("process collector registered once");
        Self {
            graphql_requests: AtomicU64::new(0),
            graphql_errors: AtomicU64::new(0),
            websocket_connections: AtomicU64::new(0),
            websocket_connections_total: AtomicU64::new(0),
            activity_catch_ups: AtomicU64::new(0),
            registry,
            requests,
            statements,
            delivery,
            names: Mutex::new(HashSet::new()),
            max_names: max_operation_names,
        }
    }

    /// One GraphQL request's duration. `operation_type` is `query`,
    /// `mutation`, `subscription` or `none` (refused before one was chosen).
    pub fn observe_request(&self, operation_type: &str, name: Option<&str>, took: Duration) {
        let name = self.operation_label(name);
        self.requests
            .with_label_values(&[operation_type, name.as_str()])
            .observe(took.as_secs_f64());
    }

    /// The label for a client's operation name: the name itself while the
    /// number of names is bounded, `other` after, `anonymous` for none.
    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".to_owned();
        };
        let well_formed = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return "other".to_owned();
        }
        let mut names = self
            .names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if names.contains(name) || (names.len() < self.max_names && names.insert(name.to_owned())) {
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// One database statement's duration, by its first keyword.
    pub fn observe_statement(&self, sql: &str, took: Duration) {
        self.statements
            .with_label_values(&[statement_kind(sql)])
            .observe(took.as_secs_f64());
    }

    /// How long after its commit an event reached the live fan-out.
    pub fn observe_delivery(&self, lag: Duration) {
        self.delivery.observe(lag.as_secs_f64());
    }

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
        let mut encoded = Vec::new();
        match TextEncoder::new().encode(&self.registry.gather(), &mut encoded) {
            Ok(()) => out.push_str(&String::from_utf8_lossy(&encoded)),
            Err(err) => tracing::warn!(error = %err, "metrics could not be encoded"),
        }
        out
    }
}

/// The kind of a statement, for a label with few values.
pub fn statement_kind(sql: &str) -> &'static str {
    let word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    ["select", "insert", "update", "delete"]
        .into_iter()
        .find(|kind| word.eq_ignore_ascii_case(kind))
        .unwrap_or("other")
}

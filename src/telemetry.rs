//! Logs and traces. Logs go to stdout, as text (colours only on a terminal)
//! or with `LOG_FORMAT=json` one JSON object per line. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are exported over OTLP/HTTP
//! (protobuf): one per request, with the operation's name, and one child per
//! database statement.

use std::sync::OnceLock;
use std::time::SystemTime;

use anyhow::{Context, bail};
use async_trait::async_trait;
use opentelemetry::KeyValue;
use opentelemetry::trace::{
    Span as _, SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The tracer, once traces are exported; statements are spans of it.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Longest statement text put on a span.
const STATEMENT_CHARS: usize = 2000;

/// Flushes what is still buffered when the process ends.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("traces could not be flushed: {err}");
        }
    }
}

/// Installs the log output and, when an OTLP endpoint is configured, the
/// trace exporter. Call once, inside the Tokio runtime.
pub fn init() -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .boxed(),
        Ok("text") | Err(_) => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        Ok(other) => bail!("LOG_FORMAT must be text or json, not {other}"),
    }
    .with_filter(filter);
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    let (traces, provider) = if configured {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_http_client(OnRuntime::new())
            .build()
            .context("OTEL_EXPORTER_OTLP_ENDPOINT")?;
        let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "atrium".into());
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build();
        let tracer = provider.tracer("atrium");
        let _ = TRACER.set(tracer.clone());
        // Atrium's own spans: requests, background jobs.
        let spans = Targets::new()
            .with_target("atrium", Level::INFO)
            .with_target("tower_http", Level::INFO);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(spans);
        (Some(layer), Some(provider))
    } else {
        (None, None)
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .context("installing the log output")?;
    Ok(Telemetry { provider })
}

/// Names the current span in the exported trace (`query Me`), whatever
/// has happened to it so far.
pub fn name_current_span(name: String) {
    if TRACER.get().is_some() {
        tracing::Span::current().context().span().update_name(name);
    }
}

/// A span for one database statement, child of the current span, timed by
/// what the driver measured. Nothing when traces are not exported.
pub fn statement_span(info: &sea_orm::metric::Info<'_>) {
    let Some(tracer) = TRACER.get() else { return };
    let parent = tracing::Span::current().context();
    let end = SystemTime::now();
    let sql = &info.statement.sql;
    let text: String = sql.chars().take(STATEMENT_CHARS).collect();
    let system = match info.statement.db_backend {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    let mut span = tracer
        .span_builder(crate::metrics::statement_kind(sql))
        .with_kind(SpanKind::Client)
        .with_start_time(end - info.elapsed)
        .with_attributes([
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.query.text", text),
        ])
        .start_with_context(tracer, &parent);
    if info.failed {
        span.set_status(opentelemetry::trace::Status::error("statement failed"));
    }
    span.end_with_timestamp(end);
}

/// Sends exports on the server's Tokio runtime: the batch exporter runs on
/// a thread of its own, and hyper needs the runtime's reactor.
#[derive(Debug)]
struct OnRuntime {
    runtime: tokio::runtime::Handle,
    client: opentelemetry_http::hyper::HyperClient,
}

impl OnRuntime {
    fn new() -> Self {
        Self {
            runtime: tokio::runtime::Handle::current(),
            client: opentelemetry_http::hyper::HyperClient::with_default_connector(
                std::time::Duration::from_secs(10),
                None,
            ),
        }
    }
}

#[async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}

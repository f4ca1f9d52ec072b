//! The WebSocket endpoint: `graphql-transport-ws` and the legacy
//! `graphql-ws` protocol, authenticated by the `connection_init` payload.
//!
//! One task serves one connection and every subscription on it. The upgrade
//! sizes the socket's buffers small (an idle subscriber should cost little),
//! caps message size and subscriptions per connection, closes connections
//! that do not initialise in time, and pings to keep proxies from dropping
//! idle sockets. Activity feeds send payloads shared between subscribers
//! (see `shared`); other subscriptions stream through the executor.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use async_graphql::Request;
use async_graphql::http::{ClientMessage, WebSocketProtocols};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::response::Response;
use futures_util::stream::{self, BoxStream};
use futures_util::{SinkExt, Stream, StreamExt, ready};

use crate::auth::Identity;
use crate::auth::throttle::ClientAddr;
use crate::error::AppError;
use crate::graphql::{AtriumSchema, LIMITS};
use crate::live::shared::{Handoff, Operation, result_payload, shareable};
use crate::live::watch::Watch;
use crate::metrics::OpenSocket;
use crate::state::AppState;

/// Largest message a client may send.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;
/// Most subscriptions open at once on one connection.
pub const MAX_SUBSCRIPTIONS: usize = 100;
/// Pings keep proxies from dropping idle sockets, and prove the client
/// still reads: one that answers nothing for the send timeout is gone.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Clients send small messages; larger ones are read in as many steps.
const SOCKET_BUFFER: usize = 512;

/// The GraphQL protocol the client prefers among those it offers in
/// `Sec-WebSocket-Protocol` (names compare exactly, as the handshake does).
pub fn protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|protocols| protocols.split(','))
        .find_map(|offered| match offered.trim() {
            "graphql-transport-ws" => Some(WebSocketProtocols::GraphQLWS),
            "graphql-ws" => Some(WebSocketProtocols::SubscriptionsTransportWS),
            _ => None,
        })
}

pub async fn upgrade(
    schema: AtriumSchema,
    state: AppState,
    protocol: WebSocketProtocols,
    client: Option<ClientAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The handshake agrees on exactly the protocol the connection speaks.
    upgrade
        .protocols([protocol.sec_websocket_protocol()])
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(socket, schema, state, protocol, client))
}

const MIN_PING_EVERY: Duration = Duration::from_millis(100);
const MIN_SEND_WAIT: Duration = Duration::from_millis(10);

/// Whether a read failed because the client sent more than a message may
/// hold (the WebSocket layer reports it only as text).
fn is_too_large(err: &axum::Error) -> bool {
    err.to_string().to_ascii_lowercase().contains("too long")
}

/// Longest close reason: a control frame carries at most 125 bytes, two of
/// them the code.
const MAX_CLOSE_REASON: usize = 123;

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: crate::text::prefix_within(reason, MAX_CLOSE_REASON).into(),
    }))
}

/// A server message: `{"type":…,"id":…,"payload":…}`, the payload already
/// JSON.
fn message(kind: &str, id: Option<&str>, payload: Option<&str>) -> Message {
    let mut text = String::with_capacity(32 + id.map_or(0, str::len) + payload.map_or(0, str::len));
    text.push_str("{\"type\":\"");
    text.push_str(kind);
    text.push('"');
    if let Some(id) = id {
        text.push_str(",\"id\":");
        text.push_str(id);
    }
    if let Some(payload) = payload {
        text.push_str(",\"payload\":");
        text.push_str(payload);
    }
    text.push('}');
    Message::Text(text.into())
}

/// What a subscription's stream hands the connection.
enum Outgoing {
    /// A result (its JSON) for the subscription with this JSON id.
    Next(Arc<str>, Arc<str>),
    /// The subscription with this id ended on its own.
    Ended(String),
}

/// What woke the connection.
enum Wake {
    Client(Option<Result<Message, axum::Error>>),
    Stream(Outgoing),
    Ping,
    InitTimedOut,
    /// The client took nothing for the send timeout.
    Stalled,
}

struct Connection {
    schema: AtriumSchema,
    state: AppState,
    protocol: WebSocketProtocols,
    /// Where the client connects from.
    client: Option<ClientAddr>,
    /// Who the client is, once `connection_init` succeeded.
    identity: Option<Identity>,
    initialising: bool,
    subscriptions: Subscriptions,
    /// Set once the reply being sent is the connection's last.
    closing: bool,
}

async fn serve(
    mut socket: WebSocket,
    schema: AtriumSchema,
    state: AppState,
    protocol: WebSocketProtocols,
    client: Option<ClientAddr>,
) {
    let metrics = state.metrics.clone();
    let _open = OpenSocket::new(&metrics);
    let send_timeout = state.config.ws_send_timeout;
    // Often enough that a client reading along always answers in time.
    let mut ping = tokio::time::interval(PING_EVERY.min(send_timeout / 3).max(MIN_PING_EVERY));
    ping.reset();
    let mut heard = Instant::now();
    let init_deadline = tokio::time::sleep(state.config.ws_init_timeout);
    tokio::pin!(init_deadline);
    let mut conn = Connection {
        schema,
        state,
        protocol,
        client,
        identity: None,
        initialising: false,
        subscriptions: Subscriptions::default(),
        closing: false,
    };
    loop {
        let wake = tokio::select! {
            biased;
            // First, so that a client sending anything but `connection_init`
            // cannot hold the deadline off.
            () = &mut init_deadline, if conn.identity.is_none() => Wake::InitTimedOut,
            () = tokio::time::sleep_until(heard + send_timeout) => Wake::Stalled,
            message = socket.recv() => Wake::Client(message),
            out = poll_fn(|cx| conn.subscriptions.poll_next(cx)) => Wake::Stream(out),
            _ = ping.tick() => Wake::Ping,
        };
        if matches!(wake, Wake::Client(Some(Ok(_)))) {
            heard = Instant::now();
        }
        let reply = match wake {
            Wake::Client(Some(Ok(Message::Text(text)))) => conn.receive(text.as_bytes()).await,
            Wake::Client(Some(Ok(Message::Binary(bytes)))) => conn.receive(&bytes).await,
            Wake::Client(Some(Err(err))) if is_too_large(&err) => Some(close(
                1009,
                &format!("a message has at most {MAX_MESSAGE_BYTES} bytes"),
            )),
            Wake::Client(Some(Ok(Message::Close(_))) | Some(Err(_)) | None) => break,
            Wake::Client(Some(Ok(_))) => None,
            Wake::Stream(out) => conn.deliver(out),
            Wake::Ping => Some(Message::Ping(Vec::new().into())),
            Wake::InitTimedOut => Some(close(4408, "Connection initialisation timeout")),
            // Nothing more is sent to a client that takes nothing.
            Wake::Stalled => return,
        };
        let Some(reply) = reply else { continue };
        let closing = conn.closing || matches!(reply, Message::Close(_));
        // A client that takes nothing for this long is gone or stuck; its
        // subscriptions resume from their last cursor when it reconnects.
        // The clock runs from the last time the client was heard, so that
        // socket buffers filling first do not add to it.
        let sent = tokio::time::timeout_at(
            (heard + send_timeout).max(Instant::now() + MIN_SEND_WAIT),
            socket.send(reply),
        )
        .await;
        match sent {
            Ok(Ok(())) if !closing => {}
            Ok(Ok(())) => break,
            _ => return,
        }
    }
    // The close frame waits no longer than a message would: a stuck
    // client would hold the connection open forever.
    let _ = tokio::time::timeout(send_timeout, socket.close()).await;
}

impl Connection {
    fn next_kind(&self) -> &'static str {
        match self.protocol {
            WebSocketProtocols::GraphQLWS => "next",
            WebSocketProtocols::SubscriptionsTransportWS => "data",
        }
    }

    fn legacy(&self) -> bool {
        self.protocol == WebSocketProtocols::SubscriptionsTransportWS
    }

    /// Refuses the connection: the legacy protocol says why in a message,
    /// `graphql-transport-ws` in the close frame.
    fn refuse(&mut self, code: u16, reason: &str) -> Message {
        if self.legacy() {
            self.closing = true;
            let payload = serde_json::json!({ "message": reason }).to_string();
            message("connection_error", None, Some(&payload))
        } else {
            close(code, reason)
        }
    }

    async fn receive(&mut self, bytes: &[u8]) -> Option<Message> {
        let Ok(client) = ClientMessage::from_bytes(bytes) else {
            return Some(close(4400, "Invalid message received"));
        };
        match client {
            ClientMessage::ConnectionInit { payload } => {
                if self.initialising {
                    return Some(self.refuse(4429, "Too many initialisation requests"));
                }
                self.initialising = true;
                match self.authenticate(payload) {
                    Some(identity)
                        if key_is_known(
                            self.state.clone(),
                            self.client.map(|c| c.0.to_string()),
                            identity.key_secret.clone(),
                        )
                        .await =>
                    {
                        self.identity = Some(identity);
                        Some(message("connection_ack", None, None))
                    }
                    Some(_) => {
                        Some(self.refuse(4403, "Forbidden: unknown, revoked or expired API key"))
                    }
                    None => Some(self.refuse(4403, "Forbidden: invalid access token")),
                }
            }
            ClientMessage::Start { id, payload } => self.subscribe(id, payload),
            ClientMessage::Stop { id } => {
                self.subscriptions.remove(&id)?;
                Some(complete(&id))
            }
            ClientMessage::Ping { .. } => Some(message("pong", None, None)),
            ClientMessage::Pong { .. } => None,
            ClientMessage::ConnectionTerminate => Some(close(1000, "terminated")),
        }
    }

    /// The identity a `connection_init` payload proves; None for a bad
    /// token. Without a token the connection is anonymous and every
    /// operation needing a user is refused with UNAUTHENTICATED.
    fn authenticate(&self, payload: Option<serde_json::Value>) -> Option<Identity> {
        let payload = payload.unwrap_or_default();
        let header = payload
            .get("authorization")
            .or_else(|| payload.get("Authorization"))
            .and_then(|v| v.as_str());
        match header {
            None => Some(Identity::default()),
            Some(value) => Identity::from_authorization(value, &self.state.keys).ok(),
        }
    }

    fn subscribe(&mut self, id: String, request: Request) -> Option<Message> {
        let Some(identity) = self.identity.clone() else {
            return Some(close(4401, "Unauthorized"));
        };
        if self.subscriptions.contains(&id) {
            if !self.legacy() {
                return Some(close(4409, &format!("Subscriber for {id} already exists")));
            }
            self.subscriptions.remove(&id);
        } else if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Some(close(4429, "too many subscriptions on this connection"));
        }
        // Every operation counts against the caller's rate limit, as over HTTP.
        let address = self.client.map(|c| c.0.to_string());
        if let Err(err) = self
            .state
            .limits
            .admit_identity(&identity, address.as_deref())
        {
            let retry_after = match &err {
                AppError::TooManyRequests { retry_after } => *retry_after,
                _ => 60,
            };
            let payload = serde_json::json!([{
                "message": err.to_string(),
                "extensions": { "code": err.code(), "retryAfter": retry_after },
            }])
            .to_string();
            return Some(message("error", Some(&json_string(&id)), Some(&payload)));
        }
        let mut request = request
            .data(identity)
            .data(crate::context::RequestCache::default());
        if let Some(client) = self.client {
            request = request.data(client);
        }
        let shared = if shareable(&mut request) {
            let handoff = Handoff::default();
            let operation = Operation::of(&request);
            request = request.data(handoff.clone());
            Some(Shared { handoff, operation })
        } else {
            None
        };
        let results = match LIMITS.admit(&mut request) {
            Ok(checked) => self
                .schema
                .execute_stream(request)
                .map(move |mut response| {
                    checked.order(&mut response);
                    response
                })
                .boxed(),
            Err(err) => {
                stream::once(async { async_graphql::Response::from_errors(vec![err]) }).boxed()
            }
        };
        self.subscriptions.open.push(Subscription {
            json_id: json_string(&id).into(),
            id,
            phase: Phase::Executing { results, shared },
        });
        None
    }

    fn deliver(&mut self, out: Outgoing) -> Option<Message> {
        match out {
            Outgoing::Next(id, payload) => {
                Some(message(self.next_kind(), Some(&id), Some(&payload)))
            }
            Outgoing::Ended(id) => Some(complete(&id)),
        }
    }
}

/// Whether an API key presented at `connection_init` is one that acts now;
/// true when none is. The key is checked again for every subscription, so
/// that one revoked later starts nothing. Failures count against the
/// client's address, as over HTTP.
async fn key_is_known(state: AppState, address: Option<String>, secret: Option<String>) -> bool {
    let Some(secret) = secret else {
        return true;
    };
    if state.limits.address_full(address.as_deref()).is_some() {
        return false;
    }
    let known = crate::auth::api_key::verify(&state.db, &state.key_usage, &secret)
        .await
        .is_ok();
    if !known {
        state.limits.failed(address.as_deref());
    }
    known
}

/// Tells the client a subscription is over.
fn complete(id: &str) -> Message {
    message("complete", Some(&json_string(id)), None)
}

fn json_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The open subscriptions of one connection. They are polled by the
/// connection's own task: an event wakes it directly, with no task or waker
/// per subscription.
#[derive(Default)]
struct Subscriptions {
    open: Vec<Subscription>,
    /// Where the next poll starts, so a busy subscription cannot starve the
    /// others.
    start: usize,
}

impl Subscriptions {
    fn len(&self) -> usize {
        self.open.len()
    }

    fn contains(&self, id: &str) -> bool {
        self.open.iter().any(|s| s.id == id)
    }

    fn remove(&mut self, id: &str) -> Option<Subscription> {
        let index = self.open.iter().position(|s| s.id == id)?;
        Some(self.open.swap_remove(index))
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Outgoing> {
        let count = self.open.len();
        for k in 0..count {
            let index = (self.start + k) % count;
            match self.open[index].poll_next(cx) {
                Poll::Ready(Some(payload)) => {
                    self.start = index + 1;
                    let json_id = self.open[index].json_id.clone();
                    return Poll::Ready(Outgoing::Next(json_id, payload));
                }
                Poll::Ready(None) => {
                    let ended = self.open.swap_remove(index);
                    return Poll::Ready(Outgoing::Ended(ended.id));
                }
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }
}

/// One subscription: results from the executor, then, when the activity
/// resolver handed over its watch, shared payloads.
struct Subscription {
    id: String,
    json_id: Arc<str>,
    phase: Phase,
}

enum Phase {
    Executing {
        results: BoxStream<'static, async_graphql::Response>,
        shared: Option<Shared>,
    },
    Feeding(BoxStream<'static, Arc<str>>),
    Finished,
}

impl Subscription {
    /// The next payload, or None once the subscription is over.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Arc<str>>> {
        loop {
            match &mut self.phase {
                Phase::Executing { results, shared } => match ready!(results.poll_next_unpin(cx)) {
                    Some(response) => return Poll::Ready(Some(result_payload(response))),
                    None => {
                        let feeding = shared.take().and_then(|shared| {
                            let watch = shared.handoff.take()?;
                            Some(feed(watch, shared.operation).boxed())
                        });
                        self.phase = feeding.map_or(Phase::Finished, Phase::Feeding);
                    }
                },
                Phase::Feeding(payloads) => match ready!(payloads.poll_next_unpin(cx)) {
                    Some(payload) => return Poll::Ready(Some(payload)),
                    None => self.phase = Phase::Finished,
                },
                Phase::Finished => return Poll::Ready(None),
            }
        }
    }
}

/// Where the activity resolver leaves its watch, and the operation whose
/// payloads the feed then shares.
struct Shared {
    handoff: Handoff,
    operation: Arc<Operation>,
}

/// An activity feed's payloads, rendered once per operation: each event this
/// subscriber may see, then the error that ends it, if any.
fn feed(watch: Watch, operation: Arc<Operation>) -> impl Stream<Item = Arc<str>> {
    stream::unfold(Some((watch, operation)), |state| async move {
        let (mut watch, operation) = state?;
        // Rendering is boxed: only the wait for an event stays inline in
        // every idle subscriber.
        match watch.next().await? {
            Ok(event) => {
                let payload = Box::pin(operation.payload(&event, watch.redaction())).await;
                Some((payload, Some((watch, operation))))
            }
            Err(err) => Some((Box::pin(operation.error_payload(err)).await, None)),
        }
    })
}

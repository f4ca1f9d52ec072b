//! The WebSocket endpoint: `graphql-transport-ws` and the legacy
//! `graphql-ws` protocol, authenticated by the `connection_init` payload.
//!
//! The upgrade sizes the socket's buffers small (an idle subscriber should
//! cost little), caps message size and subscriptions per connection, closes
//! connections that do not initialise in time, and pings to keep proxies
//! from dropping idle sockets.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{ClientMessage, WebSocket as GqlSocket, WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt, future};

use crate::auth::Identity;
use crate::graphql::AtriumSchema;
use crate::metrics::OpenSocket;
use crate::state::AppState;

/// Largest message a client may send.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;
/// Most subscriptions open at once on one connection.
pub const MAX_SUBSCRIPTIONS: usize = 100;
const PING_EVERY: Duration = Duration::from_secs(30);
const SOCKET_BUFFER: usize = 4 << 10;

/// The GraphQL protocol the client asked for, from `Sec-WebSocket-Protocol`.
pub fn protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        })
}

pub async fn upgrade(
    schema: AtriumSchema,
    state: AppState,
    protocol: WebSocketProtocols,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(socket, schema, state, protocol))
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

async fn serve(
    socket: WebSocket,
    schema: AtriumSchema,
    state: AppState,
    protocol: WebSocketProtocols,
) {
    let _open = OpenSocket::new(&state.metrics);
    let (mut sink, stream) = socket.split();
    // Set when a client opens more subscriptions than allowed.
    let refused = Arc::new(tokio::sync::Notify::new());
    let refuse = refused.clone();

    let mut active: HashSet<String> = HashSet::new();
    let input = stream
        .take_while(|msg| future::ready(msg.is_ok()))
        .filter_map(|msg| {
            future::ready(match msg {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        })
        .map(ClientMessage::from_bytes)
        .filter_map(move |message| {
            // Subscriptions the client opened and has not completed (those
            // the server completed count until the client completes them).
            let verdict = match &message {
                Ok(ClientMessage::Start { id, .. }) => {
                    if active.len() >= MAX_SUBSCRIPTIONS && !active.contains(id) {
                        refuse.notify_one();
                        None
                    } else {
                        active.insert(id.clone());
                        Some(message)
                    }
                }
                Ok(ClientMessage::Stop { id }) => {
                    active.remove(id);
                    Some(message)
                }
                _ => Some(message),
            };
            future::ready(verdict)
        });

    let keys = state.keys.clone();
    let messages = GqlSocket::from_message_stream(schema, input, protocol)
        .on_connection_init(move |payload: serde_json::Value| async move {
            let header = payload
                .get("authorization")
                .or_else(|| payload.get("Authorization"))
                .and_then(|v| v.as_str());
            let mut data = Data::default();
            match header {
                None => data.insert(Identity::default()),
                Some(value) => match Identity::from_authorization(value, &keys) {
                    Ok(identity) => data.insert(identity),
                    Err(_) => {
                        return Err(async_graphql::Error::new("Forbidden: invalid access token"));
                    }
                },
            }
            Ok(data)
        })
        .map(move |message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            // A refused `connection_init` is 4403 in graphql-transport-ws.
            WsMessage::Close(1002, reason) if reason.starts_with("Forbidden") => {
                close(4403, &reason)
            }
            // An operation before `connection_ack` is 4401.
            WsMessage::Close(1011, _) => close(4401, "Unauthorized"),
            WsMessage::Close(code, reason) => close(code, &reason),
        });
    futures_util::pin_mut!(messages);

    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    let init_deadline = tokio::time::sleep(state.config.ws_init_timeout);
    tokio::pin!(init_deadline);
    let mut acknowledged = false;
    loop {
        let outgoing = tokio::select! {
            message = messages.next() => match message {
                Some(message) => message,
                None => break,
            },
            () = refused.notified() => close(4429, "too many subscriptions on this connection"),
            _ = ping.tick() => Message::Ping(Vec::new().into()),
            () = &mut init_deadline, if !acknowledged => close(4408, "Connection initialisation timeout"),
        };
        if let Message::Text(text) = &outgoing
            && text.as_str().contains("\"connection_ack\"")
        {
            acknowledged = true;
        }
        let closing = matches!(outgoing, Message::Close(_));
        if sink.send(outgoing).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

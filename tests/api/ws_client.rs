//! A small client of `graphql-transport-ws` (and of the legacy `graphql-ws`)
//! over a real WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

/// What the server said about one subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    /// A result: `data` and maybe `errors`.
    Next(Value),
    Complete,
    /// The connection closed, with its code.
    Closed(u16),
    /// Nothing within the wait.
    Silence,
}

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub protocol: &'static str,
    /// The subprotocol the server's handshake agreed to.
    pub agreed: Option<String>,
}

impl WsClient {
    pub async fn open(addr: std::net::SocketAddr, protocol: &'static str) -> Self {
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket opens");
        let agreed = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Self {
            ws,
            protocol,
            agreed,
        }
    }

    /// Opens, initialises with the token, and waits for the ack. Returns the
    /// close code instead when the server refuses.
    pub async fn connect(
        app: &TestApp,
        protocol: &'static str,
        token: Option<&str>,
    ) -> Result<Self, u16> {
        Self::connect_to(app.addr, protocol, token).await
    }

    /// Connects with the token and opens one subscription.
    pub async fn subscribed(
        app: &TestApp,
        token: &str,
        id: &str,
        query: &str,
        variables: Value,
    ) -> Self {
        let mut client = Self::connect(app, TRANSPORT_WS, Some(token))
            .await
            .expect("connection accepted");
        client.subscribe(id, query, variables).await;
        client
    }

    pub async fn connect_to(
        addr: std::net::SocketAddr,
        protocol: &'static str,
        token: Option<&str>,
    ) -> Result<Self, u16> {
        let mut client = Self::open(addr, protocol).await;
        let payload = match token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        loop {
            match client.recv(Duration::from_secs(5)).await {
                Some(Ok(message)) if message["type"] == "connection_ack" => return Ok(client),
                Some(Ok(message)) if message["type"] == "connection_error" => return Err(4403),
                Some(Ok(_)) => continue,
                Some(Err(code)) => return Err(code),
                None => return Err(0),
            }
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sent");
    }

    pub async fn send_raw(&mut self, text: String) {
        let _ = self.ws.send(Message::Text(text.into())).await;
    }

    /// The next JSON message, `Err(close code)` when closed, None on silence.
    pub async fn recv(&mut self, wait: Duration) -> Option<Result<Value, u16>> {
        loop {
            let message = match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Err(1006)),
                Ok(Some(Err(_))) => return Some(Err(1006)),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    if value["type"] == "ka" {
                        continue;
                    }
                    return Some(Ok(value));
                }
                Message::Close(frame) => return Some(Err(frame.map_or(1005, |f| f.code.into()))),
                _ => continue,
            }
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.protocol == LEGACY_WS {
            "start"
        } else {
            "subscribe"
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } })).await;
    }

    pub async fn stop(&mut self, id: &str) {
        let kind = if self.protocol == LEGACY_WS {
            "stop"
        } else {
            "complete"
        };
        self.send(json!({ "id": id, "type": kind })).await;
    }

    /// The next thing said about subscription `id`.
    pub async fn next(&mut self, id: &str, wait: Duration) -> Got {
        loop {
            match self.recv(wait).await {
                None => return Got::Silence,
                Some(Err(code)) => return Got::Closed(code),
                Some(Ok(message)) => {
                    if message["id"] != id {
                        continue;
                    }
                    match message["type"].as_str() {
                        Some("next" | "data") => return Got::Next(message["payload"].clone()),
                        Some("error") => {
                            return Got::Next(
                                json!({ "data": null, "errors": message["payload"] }),
                            );
                        }
                        Some("complete") => return Got::Complete,
                        _ => continue,
                    }
                }
            }
        }
    }

    /// Subscription `id` ends: an error with `code`, then `complete`.
    /// Returns the error result.
    pub async fn ends_with(&mut self, id: &str, code: &str) -> Value {
        let got = self.next(id, Duration::from_secs(5)).await;
        assert_eq!(error_code(&got).as_deref(), Some(code), "{got:?}");
        assert_eq!(self.next(id, Duration::from_secs(5)).await, Got::Complete);
        let Got::Next(payload) = got else {
            unreachable!()
        };
        payload
    }

    /// The next event's data for `id`, failing the test on anything else.
    pub async fn event(&mut self, id: &str) -> Value {
        match self.next(id, Duration::from_secs(10)).await {
            Got::Next(payload) if payload.get("errors").is_none_or(Value::is_null) => {
                payload["data"].clone()
            }
            other => panic!("expected an event on {id}, got {other:?}"),
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The `extensions.code` of an error result.
pub fn error_code(got: &Got) -> Option<String> {
    match got {
        Got::Next(payload) => payload["errors"][0]["extensions"]["code"]
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

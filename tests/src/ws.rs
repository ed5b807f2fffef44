//! A graphql-transport-ws client for the tests, on tokio-tungstenite: connects to
//! `/graphql/ws`, signs in with `connection_init`, subscribes, and reads messages and the
//! close frame, each with a deadline so a missing event fails the test instead of hanging.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    socket: Socket,
    /// graphql-transport-ws `ping` messages the server sent (each answered with a `pong`).
    pub pings: usize,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

fn request(base_url: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("{}/graphql/ws", base_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("header"));
    request
}

impl WsClient {
    /// Opens the socket without signing in.
    pub async fn open(base_url: &str) -> WsClient {
        let (socket, response) = tokio_tungstenite::connect_async(request(base_url)).await.expect("WebSocket connects");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws")
        );
        WsClient { socket, pings: 0 }
    }

    /// Opens the socket and signs in with `token`; panics unless the server acknowledges.
    pub async fn connect(base_url: &str, token: &str) -> WsClient {
        let client = Self::open(base_url).await;
        client.signed_in(token).await
    }

    /// `connect` over a socket whose kernel receive buffer is `bytes` small, so that a
    /// client that stops reading backs the server up quickly.
    pub async fn connect_with_receive_buffer(base_url: &str, token: &str, bytes: u32) -> WsClient {
        let addr: std::net::SocketAddr = base_url.trim_start_matches("http://").parse().expect("address");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("receive buffer");
        let stream = socket.connect(addr).await.expect("TCP connects");
        let (socket, _) =
            tokio_tungstenite::client_async(request(base_url), tokio_tungstenite::MaybeTlsStream::Plain(stream))
                .await
                .expect("WebSocket connects");
        WsClient { socket, pings: 0 }.signed_in(token).await
    }

    async fn signed_in(mut self, token: &str) -> WsClient {
        self.init(json!({ "Authorization": format!("Bearer {token}") })).await;
        let ack = self.message().await.unwrap_or_else(|closed| panic!("connection_init refused: {closed:?}"));
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        self
    }

    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload })).await;
    }

    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::Text(message.to_string().into())).await.expect("message sent");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message other than a ping (answered with a pong), or how the
    /// connection closed. Panics after 10 s of silence.
    pub async fn message(&mut self) -> Result<Value, Closed> {
        self.message_within(Duration::from_secs(10)).await.expect("a message within 10 s")
    }

    /// `message`, or `None` when nothing arrives within `wait`.
    pub async fn message_within(&mut self, wait: Duration) -> Option<Result<Value, Closed>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).expect("JSON message");
                    if value["type"] == "ping" {
                        self.pings += 1;
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(Ok(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) =
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    return Some(Err(Closed { code, reason }));
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Some(Err(Closed { code: 1006, reason: err.to_string() })),
                None => return Some(Err(Closed { code: 1006, reason: "the connection dropped".into() })),
            }
        }
    }

    /// The next `n` data messages (`next`), in arrival order, skipping `complete` ones.
    pub async fn data_messages(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < n {
            let message = self.message().await.unwrap_or_else(|closed| panic!("closed: {closed:?}"));
            if message["type"] == "next" {
                out.push(message);
            }
        }
        out
    }

    /// The payload of the next `next` message of subscription `id`.
    pub async fn next(&mut self, id: &str) -> Value {
        let message = self.message().await.unwrap_or_else(|closed| panic!("closed while waiting for {id}: {closed:?}"));
        assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("next"), Some(id)), "{message}");
        message["payload"].clone()
    }

    /// Asserts that nothing arrives for `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) {
        if let Some(message) = self.message_within(wait).await {
            panic!("expected silence, got {message:?}");
        }
    }

    /// Reads until the server closes the connection, skipping messages; panics after `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> Closed {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.message_within(left).await {
                Some(Err(closed)) => return closed,
                Some(Ok(_)) => continue,
                None => panic!("the connection was still open after {wait:?}"),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self
            .socket
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "done".into(),
            }))
            .await;
    }
}

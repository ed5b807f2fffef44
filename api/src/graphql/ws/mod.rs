//! `/graphql/ws`: subscriptions over graphql-transport-ws, the protocol of the `graphql-ws`
//! client that Apollo, urql and Relay use (SPEC section 8.4).
//!
//! The credential comes in `connection_init` (`{ "Authorization": "Bearer …" }`, the key
//! matched case-insensitively) and is checked like an HTTP one; it is checked again every
//! second and whenever any replica changes a user or an API key, and the connection closes
//! (4403) once it no longer authenticates. Outgoing messages pass through a bounded queue:
//! a client that stops reading is closed (4499) instead of growing memory.

pub mod session;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{WebSocket as GraphqlWebSocket, WebSocketProtocols as Protocols, WsMessage};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};

use self::session::{Session, code, credential_key};
use crate::app::AppState;
use crate::auth::Caller;
use crate::config::GraphqlLimits;
use crate::error::ApiError;
use crate::graphql::authenticate;
use crate::graphql::batching::PollGate;
use crate::graphql::handler::label_json_errors;
use crate::graphql::loaders::Loaders;
use crate::graphql::schema_index::SchemaIndex;
use crate::graphql::shape;

const PROTOCOL: &str = "graphql-transport-ws";
/// How long a client may take to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an open connection's credential is checked again.
const RECHECK_EVERY: Duration = Duration::from_secs(1);
/// How long a closing connection may take to deliver its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let ws = ws.protocols([PROTOCOL]);
    if ws.selected_protocol().is_none() {
        let body = serde_json::json!({ "errors": [{ "message": "use the graphql-transport-ws WebSocket subprotocol",
            "extensions": { "code": "BAD_REQUEST" } }] });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    ws.on_upgrade(move |socket| serve(state, socket))
}

async fn serve(state: AppState, socket: WebSocket) {
    let realtime = state.config.realtime.clone();
    let session = Session::new(realtime.max_subscriptions);
    let (sink, source) = socket.split();
    let (out, queue) = mpsc::channel::<Message>(realtime.event_buffer.max(8));
    let writer = tokio::spawn(write(sink, queue, session.watch_close(), Duration::from_secs(realtime.keepalive_secs)));

    let incoming = {
        let (out, limits, index) = (out.clone(), state.config.limits.clone(), state.index.clone());
        source
            .take_while(|frame| std::future::ready(matches!(frame, Ok(m) if !matches!(m, Message::Close(_)))))
            .filter_map(move |frame| {
                let checked = match frame {
                    Ok(Message::Text(text)) => {
                        admit(text.as_str(), &limits, &index, &out).then(|| text.as_bytes().to_vec())
                    }
                    Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                    _ => None,
                };
                std::future::ready(checked)
            })
    };
    let init = {
        let (state, session) = (state.clone(), session.clone());
        move |payload: serde_json::Value| async move { connection_init(&state, &session, payload).await }
    };
    let mut protocol =
        GraphqlWebSocket::new(state.schema.clone(), incoming, Protocols::GraphQLWS).on_connection_init(init);

    let mut closing = session.watch_close();
    let mut credentials = state.services.bus.watch_credentials();
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    loop {
        tokio::select! {
            message = protocol.next() => match message {
                Some(WsMessage::Text(text)) => {
                    if out.try_send(Message::Text(labelled(text).into())).is_err() {
                        let why = "the client reads too slowly; reconnect and resume with changes(after:)";
                        session.close(code::SLOW_CONSUMER, why);
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    // A rejected `connection_init` closes with our reason, not the library's.
                    let (code, reason) = session.close_reason().unwrap_or((code, reason));
                    session.close(code, reason);
                }
                None => session.close(1000, "closed"),
            },
            _ = closing.changed() => break,
            changed = credentials.changed() => {
                if changed.is_ok() {
                    recheck_credential(&state, &session).await;
                }
            }
            _ = recheck.tick() => recheck_credential(&state, &session).await,
            () = &mut init_deadline, if session.credential().is_none() => {
                session.close(code::INIT_TIMEOUT, "connection_init was not sent in time");
            }
        }
    }
    drop(protocol);
    drop(out);
    let _ = writer.await;
}

/// Sends queued messages and keep-alive pings until the session closes, then the close frame.
async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
    mut close: watch::Receiver<Option<(u16, String)>>,
    keepalive: Duration,
) {
    let mut ping = tokio::time::interval(keepalive.max(Duration::from_secs(1)));
    ping.tick().await;
    loop {
        let next = tokio::select! {
            biased;
            _ = close.changed() => None,
            message = queue.recv() => message,
            _ = ping.tick() => Some(Message::Text(r#"{"type":"ping"}"#.into())),
        };
        let Some(message) = next else { break };
        tokio::select! {
            biased;
            _ = close.changed() => break,
            sent = sink.send(message) => if sent.is_err() { return },
        }
    }
    let reason = close.borrow().clone();
    if let Some((code, reason)) = reason {
        let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            let _ = sink.send(frame).await;
            let _ = sink.close().await;
        })
        .await;
    }
}

/// Checks a `subscribe` message against the limits the executor does not enforce (depth,
/// aliases, introspection when it is off) before it runs, as HTTP does; a refused one gets
/// its `error` message here and goes no further.
fn admit(text: &str, limits: &GraphqlLimits, index: &SchemaIndex, out: &mpsc::Sender<Message>) -> bool {
    let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else { return true };
    if message["type"] != "subscribe" {
        return true;
    }
    let Ok(mut request) = serde_json::from_value::<async_graphql::Request>(message["payload"].clone()) else {
        return true;
    };
    let Some(shape) = shape::inspect(&mut request, index) else { return true };
    let refusal = match shape::limit_violation(&shape, limits) {
        Some(reason) => serde_json::json!({ "message": reason, "extensions": { "code": "QUERY_TOO_COMPLEX" } }),
        None if shape.introspects && !limits.introspection => {
            serde_json::json!({ "message": "introspection is turned off", "extensions": { "code": "FORBIDDEN" } })
        }
        None => match crate::graphql::handler::invalid_inputs(shape.invalid_inputs) {
            Some(invalid) => serde_json::to_value(invalid).unwrap_or_default(),
            None => return true,
        },
    };
    let error = serde_json::json!({ "id": message["id"], "type": "error", "payload": [refusal] });
    if out.try_send(Message::Text(error.to_string().into())).is_err() {
        return false;
    }
    false
}

/// Gives errors of an outgoing message the `extensions.code` HTTP responses carry. A
/// result without data (the operation did not validate, or its field refused to start) is
/// sent as graphql-transport-ws `error`, as the protocol asks.
fn labelled(text: String) -> String {
    if !text.contains("\"errors\"") {
        return text;
    }
    let Ok(mut message) = serde_json::from_str::<serde_json::Value>(&text) else { return text };
    let Some(errors) = message.get_mut("payload").and_then(|p| p.get_mut("errors")) else { return text };
    label_json_errors(errors);
    let codes = errors.as_array().into_iter().flatten().filter_map(|e| e["extensions"]["code"].as_str());
    crate::telemetry::count_errors(codes);
    if message["type"] == "next" && message["payload"]["data"].is_null() {
        let errors = message["payload"]["errors"].take();
        return serde_json::json!({ "id": message["id"], "type": "error", "payload": errors }).to_string();
    }
    message.to_string()
}

/// Authenticates the `connection_init` payload like an HTTP request's header and builds
/// the connection's context: the caller, its DataLoaders and the session.
async fn connection_init(
    state: &AppState,
    session: &Arc<Session>,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let refuse = |code: u16, reason: String| {
        session.close(code, reason.clone());
        async_graphql::Error::new(reason)
    };
    let Some(bearer) = authorization(&payload) else {
        let why = "connection_init must carry { \"Authorization\": \"Bearer <credential>\" }";
        return Err(refuse(code::FORBIDDEN, why.into()));
    };
    let s = &state.services;
    // The same check as an HTTP request's (`graphql::authenticate`).
    let caller = Caller::with_credential(bearer.clone());
    let principal = match authenticate::resolve(&caller, s, None).await {
        Ok(principal) => principal.clone(),
        Err(ApiError::Unavailable) => return Err(refuse(1011, "the database is unavailable; retry".into())),
        Err(err) => return Err(refuse(code::FORBIDDEN, err.to_string())),
    };
    let Some(slot) = state.ws_connections.acquire(credential_key(&principal)) else {
        let limit = state.config.realtime.max_connections_per_credential;
        return Err(refuse(code::TOO_MANY_CONNECTIONS, format!("at most {limit} connections per credential")));
    };
    session.signed_in(bearer, principal, slot);
    let mut data = Data::default();
    data.insert(Loaders::new(s, &caller, &PollGate::default()));
    data.insert(caller);
    data.insert(session.clone());
    Ok(data)
}

/// `Authorization: Bearer …` from the payload, the key matched case-insensitively.
fn authorization(payload: &serde_json::Value) -> Option<String> {
    let (_, value) = payload.as_object()?.iter().find(|(key, _)| key.eq_ignore_ascii_case("authorization"))?;
    crate::auth::bearer_token(value.as_str()?.trim()).map(str::to_owned)
}

/// Closes the session once its credential no longer authenticates (revoked, expired,
/// deactivated user, changed role). An unreachable database closes nothing.
async fn recheck_credential(state: &AppState, session: &Session) {
    let Some((bearer, _)) = session.credential() else { return };
    let caller = Caller::with_credential(bearer.clone());
    if let Err(ApiError::Unauthenticated(why)) = authenticate::resolve(&caller, &state.services, None).await {
        session.close(code::FORBIDDEN, format!("the credential no longer authenticates: {why}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_key_is_case_insensitive() {
        let payload = serde_json::json!({ "authorization": "Bearer abc" });
        assert_eq!(authorization(&payload).as_deref(), Some("abc"));
        let payload = serde_json::json!({ "Authorization": "Bearer  xyz " });
        assert_eq!(authorization(&payload).as_deref(), Some("xyz"));
        assert_eq!(authorization(&serde_json::json!({ "Authorization": "Basic abc" })), None);
        assert_eq!(authorization(&serde_json::json!({})), None);
        assert_eq!(authorization(&serde_json::json!("Bearer abc")), None);
    }
}

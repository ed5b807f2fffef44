//! A webhook receiver on loopback for the tests: records every request (headers, body, when)
//! and answers as the test scripts it, e.g. 503 three times and then 200.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// The headers the Standard Webhooks verifier reads.
    pub fn headers(&self) -> Value {
        serde_json::json!({
            "webhook-id": self.id, "webhook-timestamp": self.timestamp, "webhook-signature": self.signature,
        })
    }
}

/// How to answer: a status, an optional `Retry-After`, and how long to wait first.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self { status, retry_after: None, delay: Duration::ZERO }
    }
}

/// Decides the reply to a request, given how many requests with its `webhook-id` came before.
type Script = Box<dyn Fn(&Received, usize) -> Reply + Send + Sync>;

struct Shared {
    received: Mutex<Vec<Received>>,
    script: Script,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn ok() -> Self {
        Self::start(|_, _| Reply::status(200)).await
    }

    pub async fn start(script: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared { received: Mutex::new(Vec::new()), script: Box::new(script) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Self { url: format!("http://{addr}/hook"), shared, server }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("not poisoned").clone()
    }

    /// Waits until `done` holds for what was received (panics after `within`).
    pub async fn wait_until(&self, within: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(Instant::now() < deadline, "the receiver did not get what was expected in time: {received:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let received = Received {
        at: Instant::now(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    };
    let reply = {
        let mut all = shared.received.lock().expect("not poisoned");
        let earlier = all.iter().filter(|r| r.id == received.id).count();
        all.push(received.clone());
        (shared.script)(&received, earlier)
    };
    tokio::time::sleep(reply.delay).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match reply.retry_after {
        Some(after) => (status, [("retry-after", after)], "retry later").into_response(),
        None => (status, "thanks").into_response(),
    }
}

//! A loopback axum server whose answers are scripted per request, down to
//! the body: chunks, pauses, a dropped connection or a body that never
//! ends. For event streams and downloads, which httpmock cannot cut
//! mid-body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use http::HeaderMap;

/// A request as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// One part of a scripted body.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Chunk(Bytes),
    Pause(Duration),
    /// Drop the connection mid-body (after a moment, so what came before
    /// is on the wire rather than lost with the connection).
    Cut,
    /// Send nothing more, and never end.
    Hang,
}

/// One scripted answer; the body ends after its last step.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) steps: Vec<Step>,
}

impl Reply {
    pub(crate) fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            steps: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: impl ToString) -> Self {
        self.headers.push((name.into(), value.to_string()));
        self
    }

    pub(crate) fn chunk(mut self, bytes: impl Into<Bytes>) -> Self {
        self.steps.push(Step::Chunk(bytes.into()));
        self
    }

    pub(crate) fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// A JSON answer in one piece.
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .header("x-request-id", "req_test")
            .chunk(body.to_string())
    }
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;
/// The server's state: the request log and the handler.
type Shared = (Arc<Mutex<Vec<Seen>>>, Arc<Handler>);

/// The server: every request is logged, then answered by the handler
/// (given the request and its index).
pub(crate) struct StreamServer {
    pub(crate) base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StreamServer {
    pub(crate) async fn start(
        handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state: Shared = (seen.clone(), Arc::new(handler));
        let app = Router::new().fallback(answer).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, seen }
    }

    /// Answers the scripted replies in order (repeating the last one).
    pub(crate) async fn script(replies: Vec<Reply>) -> Self {
        let replies = Mutex::new(VecDeque::from(replies));
        Self::start(move |_, _| {
            let mut replies = replies.lock().unwrap();
            if replies.len() > 1 {
                replies.pop_front().unwrap()
            } else {
                replies.front().unwrap().clone()
            }
        })
        .await
    }

    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn answer(State((seen, handler)): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let request = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    };
    let index = {
        let mut all = seen.lock().unwrap();
        all.push(request.clone());
        all.len() - 1
    };
    let reply = handler(&request, index);
    let steps = futures::stream::iter(reply.steps).then(|step| async move {
        match step {
            Step::Chunk(bytes) => Some(Ok(bytes)),
            Step::Pause(wait) => {
                tokio::time::sleep(wait).await;
                None
            }
            Step::Cut => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some(Err(std::io::Error::other("cut by the test")))
            }
            Step::Hang => std::future::pending().await,
        }
    });
    let body = steps.filter_map(std::future::ready);
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response.body(Body::from_stream(body)).unwrap()
}

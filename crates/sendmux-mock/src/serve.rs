//! Our own accept loop instead of `axum::serve`: each connection gets a
//! handle that lets a response say "close this connection instead of
//! answering", which is how the connection-drop faults are made.
//!
//! Two guards sit here, around every route: request bodies must arrive
//! within the configured deadline ([`TimedBody`]), and a panic anywhere in
//! a route becomes a logged `500 internal_error` envelope instead of a
//! connection closed without a word.
//!
//! What hyper answers by itself, before any of our code sees a request:
//! a malformed request line or header (`400`), a head over its buffer or
//! header-count limit (`431`), a request target over 65 534 bytes (`414`),
//! and a head not complete within 30 s (connection closed). For these it
//! writes only a status line and `content-length: 0` from inside the
//! connection state machine (`Server::on_error`) and offers no hook to
//! supply a body or headers, so they cannot carry the error envelope.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::api;
use crate::app::App;

/// Response extension: drop the connection, write nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AbortConnection;

/// How long a graceful shutdown waits for requests still running (for
/// example one held by a latency fault) before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `shutdown` flips to `true`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let service = ConnService {
                        router: router.clone(),
                        app: Arc::clone(&app),
                        abort: Arc::new(Notify::new()),
                    };
                    conns.spawn(serve_conn(stream, service, shutdown.clone()));
                }
                // Out of file descriptors or similar: back off briefly
                // instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

async fn serve_conn(stream: TcpStream, service: ConnService, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let abort = Arc::clone(&service.abort);
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut draining = *shutdown.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            // Returning drops the connection (and its socket) unanswered.
            () = abort.notified() => return,
            _ = shutdown.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Per-connection hyper service around the router.
#[derive(Clone)]
struct ConnService {
    router: Router,
    app: Arc<App>,
    abort: Arc<Notify>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let router = self.router.clone();
        let app = Arc::clone(&self.app);
        let abort = Arc::clone(&self.abort);
        let deadline = Instant::now() + app.settings.body_read_timeout;
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        Box::pin(async move {
            let req = req.map(|body| Body::new(TimedBody::new(body, deadline)));
            // Unwind safety: shared state is behind mutexes whose poisoning
            // `lock` ignores, and the pipeline's drop guards (in-flight
            // count, idempotency reservation) run while unwinding.
            let routed = CatchUnwind(Box::pin(router.oneshot(req))).await;
            let resp = match routed {
                Ok(Ok(resp)) => resp,
                Ok(Err(never)) => match never {},
                Err(panic) => api::panic_response(&app, &method, &path, panic_message(&*panic)),
            };
            if resp.extensions().get::<AbortConnection>().is_some() {
                abort.notify_one();
                // The connection task drops us together with the socket.
                std::future::pending::<()>().await;
            }
            Ok(resp)
        })
    }
}

/// Polls the inner future, turning a panic during any poll into `Err` with
/// the panic payload (what `futures::FutureExt::catch_unwind` does, without
/// the dependency).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The text of a panic payload, for the log line.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-text panic payload)")
}

/// The body read ran past [`MockServerBuilder::body_read_timeout`](crate::MockServerBuilder::body_read_timeout).
#[derive(Debug)]
pub(crate) struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

/// A request body that fails with [`BodyTimeout`] once `deadline` passes
/// before its last frame, so a stalled client cannot hold a reader (ours
/// or axum's extractor) forever.
struct TimedBody {
    inner: Incoming,
    sleep: Pin<Box<Sleep>>,
    done: bool,
}

impl TimedBody {
    fn new(inner: Incoming, deadline: Instant) -> Self {
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            done: false,
        }
    }
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => Poll::Ready(Some(frame.map_err(Into::into))),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    Poll::Ready(Some(Err(Box::new(BodyTimeout))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

//! `--serve ADDR`: the live figures over HTTP, for Prometheus, for a
//! dashboard and for the team. Read-only, on one port:
//!
//! - `GET /metrics`: Prometheus text format, or OpenMetrics when the
//!   scraper's `Accept` asks for it ([`metrics`]);
//! - `GET /api/snapshot`: the latest snapshot (JSON);
//! - `GET /api/events`: server-sent events, one snapshot per interval;
//! - `GET /api/catalog`: the documented CTS codes (JSON);
//! - `GET /report.html`: the HTML report of everything read since start;
//! - `GET /healthz`: 200 while the inputs are followed and figures are
//!   published (no token needed: probes cannot send one);
//! - `GET /`: the live dashboard, one self-contained page.
//!
//! It listens on loopback unless given a token (`--serve-token`), which is
//! then required as `Authorization: Bearer TOKEN` or `?token=TOKEN`.
//! Request heads are capped at 16 KiB and must arrive within 10 s.

pub mod hub;
pub mod metrics;

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use tokio::sync::broadcast::error::RecvError;

pub use hub::{Hub, Published};

use crate::error::Error;
use crate::report::{HtmlRenderer, Render, Report};

/// The port when `ADDR` gives none (the one Prometheus exporters use).
pub const DEFAULT_PORT: u16 = 9464;

/// How long a client may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes of a request's head (request line and headers).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Connections served at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 256;

/// The dashboard: HTML, CSS and script in one page.
const DASHBOARD: &str = include_str!("dashboard.html");

/// What the dashboard may load: nothing from elsewhere.
const CONTENT_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
    connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What the static report may load: its own styles and images.
const REPORT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// A running server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it serves.
    pub hub: Arc<Hub>,
    thread: Option<JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Listens on `addr` (`host:port`, `:port` for loopback, `host` for
    /// port [`DEFAULT_PORT`]; port 0 picks a free one) and serves `hub`.
    /// An address other than loopback needs a `token`.
    ///
    /// # Errors
    ///
    /// When `addr` does not parse or resolve, is not loopback and no token
    /// is given, or cannot be bound.
    /// `/healthz` fails once nothing was published for three `interval`s
    /// (10 s at the least).
    pub fn start(addr: &str, token: Option<String>, interval: Duration) -> Result<Server, Error> {
        let addr = resolve(addr)?;
        if !addr.ip().is_loopback() && token.is_none() {
            return Err(Error::Serve {
                addr: addr.to_string(),
                why: "serving beyond this machine needs --serve-token TOKEN (or @FILE); \
                    or serve on 127.0.0.1 and put a proxy in front"
                    .to_owned(),
            });
        }
        let listener =
            TcpListener::bind(addr)
                .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
                .map_err(|e| Error::Serve { addr: addr.to_string(), why: format!("cannot listen there: {e}") })?;
        let addr = listener.local_addr().unwrap_or(addr);
        let hub = Hub::new();
        let stale_after = (interval * 3).max(Duration::from_secs(10));
        let app = App { hub: Arc::clone(&hub), token: token.map(Arc::from), stale_after };
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cts-logscan-serve")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::Serve { addr: addr.to_string(), why: format!("cannot start the server: {e}") })?;
        let thread = std::thread::Builder::new()
            .name("cts-logscan-serve".to_owned())
            .spawn(move || runtime.block_on(serve(listener, app, stopped)))
            .map_err(|e| Error::Serve { addr: addr.to_string(), why: format!("cannot start the server: {e}") })?;
        Ok(Server { addr, hub, thread: Some(thread), shutdown: Some(shutdown) })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `host:port`, `:port` (loopback) or `host` (port [`DEFAULT_PORT`]).
fn resolve(addr: &str) -> Result<SocketAddr, Error> {
    let bare = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(addr);
    let text = if bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_ipv6()) {
        format!("[{bare}]:{DEFAULT_PORT}")
    } else if let Some(port) = addr.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else if !addr.contains(':') {
        format!("{addr}:{DEFAULT_PORT}")
    } else {
        addr.to_owned()
    };
    let bad = |why: String| Error::Serve { addr: addr.to_owned(), why };
    text.to_socket_addrs()
        .map_err(|e| bad(format!("is not an address to listen on ({e}); give host:port, :port or host")))?
        .next()
        .ok_or_else(|| bad("resolves to no address".to_owned()))
}

#[derive(Clone)]
struct App {
    hub: Arc<Hub>,
    token: Option<Arc<str>>,
    stale_after: Duration,
}

async fn serve(listener: TcpListener, app: App, mut stopped: tokio::sync::oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    let router = Router::new()
        .route("/", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/api/snapshot", get(snapshot))
        .route("/api/events", get(events))
        .route("/api/catalog", get(catalog))
        .route("/report.html", get(report))
        .route_layer(middleware::from_fn_with_state(app.clone(), authorize))
        .route("/healthz", get(healthz))
        .layer(middleware::map_response(harden))
        .with_state(app);
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, most likely: let some go first.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Beyond the cap a connection is closed at once rather than left
        // waiting: the clients served are not held up.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else { continue };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            // A client that goes away is not an error of the server.
            let _ = connection.await;
            drop(permit);
        });
    }
}

/// Lets a request through when no token is needed or it brings the token.
async fn authorize(State(app): State<App>, request: Request, next: Next) -> Response {
    if let Some(token) = &app.token
        && !brings(&request, token)
    {
        let mut response =
            (StatusCode::UNAUTHORIZED, "401: give the token as Authorization: Bearer TOKEN or ?token=TOKEN\n")
                .into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    next.run(request).await
}

/// Whether `request` brings `token`, in its `Authorization` header or its
/// query string.
fn brings(request: &Request, token: &str) -> bool {
    // The scheme's name is case-insensitive (RFC 7235).
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, given)| scheme.eq_ignore_ascii_case("bearer") && same(given.trim(), token));
    let query = request.uri().query().unwrap_or("");
    let in_query = |given: &str| percent_decoded(given).is_some_and(|given| same(&given, token));
    bearer || query.split('&').filter_map(|pair| pair.strip_prefix("token=")).any(in_query)
}

/// `%XX` escapes decoded (as a browser's `encodeURIComponent` writes a
/// token with `+`, `/` or `=` in it); `None` when that is not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

/// Compares in time that does not depend on where the strings differ.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Headers every response carries: no sniffing, no framing, no caching.
async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The dashboard, with the latest snapshot in it: shown at once, before
/// the event stream brings the next.
async fn dashboard(State(app): State<App>) -> Response {
    let snapshot = app.hub.latest().snapshot;
    // In a script element nothing may close it: `<` only occurs in JSON
    // strings, where `\u003c` means the same.
    let initial = if snapshot.is_empty() { "null".to_owned() } else { snapshot.replace('<', "\\u003c") };
    let page = DASHBOARD.replace("/*SNAPSHOT*/null", &initial);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_POLICY));
    response
}

async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    let latest = app.hub.latest();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("application/openmetrics-text") {
        let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        ([(header::CONTENT_TYPE, kind)], latest.open_metrics.to_string()).into_response()
    } else {
        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], latest.metrics.to_string())
            .into_response()
    }
}

async fn snapshot(State(app): State<App>) -> Response {
    let latest = app.hub.latest();
    if latest.snapshot.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, "503: no snapshot yet\n").into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], latest.snapshot.to_string()).into_response()
}

async fn events(State(app): State<App>) -> Response {
    let Some(hub::Subscription { receiver, place }) = app.hub.subscribe() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "503: too many event streams; try again later\n").into_response();
    };
    let first = app.hub.latest().snapshot;
    let first = (!first.is_empty()).then_some(first);
    // The latest snapshot first, then each one published; a client that
    // fell behind skips what it missed. The place rides along: it is given
    // back when the client goes and the stream is dropped.
    let snapshots = futures::stream::unfold((receiver, first, place), |(mut receiver, first, place)| async move {
        if let Some(snapshot) = first {
            return Some((snapshot, (receiver, None, place)));
        }
        loop {
            match receiver.recv().await {
                Ok(snapshot) => return Some((snapshot, (receiver, None, place))),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let stream = snapshots.map(|snapshot| Ok::<Event, Infallible>(Event::default().event("snapshot").data(&*snapshot)));
    let mut response = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    // nginx would otherwise buffer the stream.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

async fn catalog() -> Response {
    let codes = serde_json::to_string(crate::catalog::all()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], codes).into_response()
}

async fn report(State(app): State<App>) -> Response {
    let Some(state) = app.hub.latest().state else {
        return (StatusCode::SERVICE_UNAVAILABLE, "503: nothing read yet\n").into_response();
    };
    let page = tokio::task::spawn_blocking(move || {
        let mut page = Vec::new();
        HtmlRenderer.render(&Report::of(&state), &mut page).map(|()| page)
    })
    .await;
    match page {
        Ok(Ok(page)) => {
            let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(REPORT_POLICY));
            response
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "500: the report could not be rendered\n").into_response(),
    }
}

async fn healthz(State(app): State<App>) -> Response {
    if !app.hub.following() {
        return (StatusCode::SERVICE_UNAVAILABLE, "503: following has stopped\n").into_response();
    }
    match app.hub.since_published() {
        Some(since) if since > app.stale_after => {
            let why = format!("503: nothing published for {} s\n", since.as_secs());
            (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
        }
        _ => (StatusCode::OK, "ok: following\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_loopback_and_port_9464() {
        assert_eq!(resolve("[::1]").unwrap(), "[::1]:9464".parse().unwrap());
        assert_eq!(resolve(":0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(resolve("127.0.0.1").unwrap(), "127.0.0.1:9464".parse().unwrap());
        assert_eq!(resolve("[::1]:80").unwrap(), "[::1]:80".parse().unwrap());
        assert_eq!(resolve("::1").unwrap(), "[::1]:9464".parse().unwrap());
        assert!(resolve("not an address:x").unwrap_err().to_string().contains("host:port"));
    }

    #[test]
    fn beyond_loopback_a_token_is_needed() {
        let message = Server::start("0.0.0.0:0", None, Duration::from_secs(1)).err().unwrap().to_string();
        assert!(message.contains("--serve-token"), "{message}");
    }

    #[test]
    fn a_token_in_the_query_may_be_percent_encoded() {
        assert_eq!(percent_decoded("a%2Bb%2F%3D").as_deref(), Some("a+b/="));
        assert_eq!(percent_decoded("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decoded("%ff"), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("s3cret", "s3cret"));
        assert!(!same("s3cre", "s3cret") && !same("s3creT", "s3cret") && !same("", "s3cret"));
    }
}

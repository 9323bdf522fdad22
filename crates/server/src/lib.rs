//! The HTTP front end: one hyper service. It reads the body (capped), answers CORS
//! preflights and health checks, checks for a signature, maps `X-Amz-Target` to an
//! operation, dispatches, and writes the response with `x-amzn-RequestId` and
//! `x-amz-crc32`. Each request runs in its own task so that a panic becomes a 500 with the
//! request id instead of a dropped connection.

mod dispatch;
pub mod metrics;
pub mod sigv4;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrodyn_engine::Engine;
use ferrodyn_protocol::{ApiError, Operation};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use dispatch::dispatch;

/// Opens the database of one access key (per-key isolation): given the access key and
/// the account id its credentials name, if any.
pub type EngineFactory =
    Arc<dyn Fn(&str, Option<&str>) -> Result<Arc<Engine>, String> + Send + Sync>;

// Header names parsed once (a `&str` lookup parses the name on every call).
const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
const AUTHORIZATION: HeaderName = HeaderName::from_static("authorization");
const HOST: HeaderName = HeaderName::from_static("host");
const CONTENT_ENCODING: HeaderName = HeaderName::from_static("content-encoding");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const CRC32: HeaderName = HeaderName::from_static("x-amz-crc32");
const ALLOW_ORIGIN: HeaderName = HeaderName::from_static("access-control-allow-origin");
const EXPOSE_HEADERS: HeaderName = HeaderName::from_static("access-control-expose-headers");

/// DynamoDB's request size limit.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct ServerConfig {
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// `Access-Control-Allow-Origin` value for browser clients (None: `*`).
    pub cors_origin: Option<String>,
    /// SigV4 keys: None accepts any signed request (as DynamoDB Local does).
    pub keys: Option<Arc<sigv4::Keys>>,
    /// Serve HTTPS with this configuration instead of plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Requests handled at once; past it, ThrottlingException.
    pub max_in_flight: usize,
    /// Open connections; past it, new ones are closed at once.
    pub max_connections: usize,
    /// Time allowed for a request's headers, and for its body.
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    /// Log one line per request (target `ferrodyn_access`).
    pub access_log: bool,
    /// Per-key isolation (DynamoDB Local without `-sharedDb`): each access key gets its own
    /// database from this factory. None: every key shares the one engine.
    pub per_key: Option<EngineFactory>,
}

impl std::fmt::Debug for EngineFactoryDebug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "per-key"
        } else {
            "shared"
        })
    }
}

struct EngineFactoryDebug<'a>(&'a Option<EngineFactory>);

/// A rustls server configuration from PEM files (certificate chain, private key).
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_body", &self.max_body)
            .field("cors_origin", &self.cors_origin)
            .field("keys", &self.keys.as_ref().map(|k| k.len()))
            .field("tls", &self.tls.is_some())
            .field("max_in_flight", &self.max_in_flight)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("access_log", &self.access_log)
            .field("per_key", &EngineFactoryDebug(&self.per_key))
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body: DEFAULT_MAX_BODY,
            cors_origin: None,
            keys: None,
            tls: None,
            max_in_flight: 4096,
            max_connections: 16_384,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            access_log: false,
            per_key: None,
        }
    }
}

struct Shared {
    engine: Arc<Engine>,
    /// The CORS origin header value, parsed once.
    allow_origin: Option<HeaderValue>,
    /// Per-key databases opened so far (per-key isolation).
    engines: std::sync::Mutex<HashMap<String, Arc<Engine>>>,
    config: ServerConfig,
    ids: RequestIds,
    metrics: metrics::Metrics,
}

/// Counts a connection while it is open.
struct ConnGuard(Arc<Shared>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.metrics.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Request ids: 52 characters of [A-Z0-9] like DynamoDB's, unique per process.
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let u = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        RequestIds {
            prefix: u,
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // The prefix and n as 20 digits, without the formatting machinery.
        let mut id = String::with_capacity(self.prefix.len() + 20);
        id.push_str(&self.prefix);
        let mut digits = [b'0'; 20];
        let mut rest = n;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        id.extend(digits.iter().map(|&d| char::from(d)));
        id
    }
}

/// Serve until `shutdown` resolves, then finish in-flight requests (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    engine: Arc<Engine>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = config.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let header_timeout = config.header_timeout;
    let allow_origin = HeaderValue::from_str(config.cors_origin.as_deref().unwrap_or("*")).ok();
    let shared = Arc::new(Shared {
        allow_origin,
        engine,
        engines: std::sync::Mutex::new(HashMap::new()),
        config,
        ids: RequestIds::new(),
        metrics: metrics::Metrics::default(),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .max_buf_size(1 << 20)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let open = shared.metrics.connections.fetch_add(1, Ordering::Relaxed) + 1;
                let guard = ConnGuard(shared.clone());
                if open as usize > shared.config.max_connections {
                    tracing::warn!(open, "too many connections; closing a new one");
                    drop(guard);
                    drop(stream);
                    continue;
                }
                let shared = shared.clone();
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(handle(shared, req).await) }
                });
                match &acceptor {
                    None => {
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        let conn = graceful.watch(conn);
                        tokio::spawn(async move {
                            let _guard = guard;
                            if let Err(e) = conn.await {
                                tracing::debug!(error = %e, "connection ended with error");
                            }
                        });
                    }
                    Some(acceptor) => {
                        // The handshake runs in the connection's own task, bounded in time.
                        let acceptor = acceptor.clone();
                        let builder = builder.clone();
                        let watcher = graceful.watcher();
                        tokio::spawn(async move {
                            let _guard = guard;
                            let tls = match tokio::time::timeout(
                                Duration::from_secs(10),
                                acceptor.accept(stream),
                            )
                            .await
                            {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake timed out");
                                    return;
                                }
                            };
                            let conn = builder.serve_connection(TokioIo::new(tls), service);
                            if let Err(e) = watcher.watch(conn).await {
                                tracing::debug!(error = %e, "connection ended with error");
                            }
                        });
                    }
                }
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("in-flight requests did not finish within 10 s");
        }
    }
    // The per-access-key engines' background loops stop before the runtime goes (the
    // main engine is the caller's to stop).
    let per_key: Vec<Arc<Engine>> = shared
        .engines
        .lock()
        .map(|e| e.values().cloned().collect())
        .unwrap_or_default();
    for e in per_key {
        e.stop().await;
    }
    Ok(())
}

fn cors(shared: &Shared, resp: &mut Response<Full<Bytes>>) {
    if let Some(v) = &shared.allow_origin {
        resp.headers_mut().insert(ALLOW_ORIGIN, v.clone());
    }
    resp.headers_mut().insert(
        EXPOSE_HEADERS,
        HeaderValue::from_static("x-amzn-RequestId,x-amzn-ErrorType,x-amz-crc32,Date"),
    );
}

fn respond(
    shared: &Shared,
    status: StatusCode,
    body: Vec<u8>,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let crc = crc32fast::hash(&body);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(REQUEST_ID, v);
    }
    h.insert(CRC32, HeaderValue::from(crc));
    cors(shared, &mut resp);
    resp
}

fn error(shared: &Shared, e: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    respond(shared, status, e.to_body(), request_id)
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let request_id = shared.ids.next();
    match *req.method() {
        Method::OPTIONS => return preflight(&shared, &req),
        Method::GET => {
            let (status, body, ctype) = match req.uri().path() {
                "/metrics" => (
                    StatusCode::OK,
                    shared
                        .metrics
                        .render(&shared.engine.gauges(), &shared.engine.table_series())
                        .into_bytes(),
                    "text/plain; version=0.0.4",
                ),
                // Readiness: storage answers.
                "/ready" => {
                    if shared.engine.ready() {
                        (StatusCode::OK, b"ready".to_vec(), "text/plain")
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            b"not ready".to_vec(),
                            "text/plain",
                        )
                    }
                }
                // Liveness; `GET /` is DynamoDB's own health check.
                _ => (StatusCode::OK, b"healthy: ferrodyn".to_vec(), "text/plain"),
            };
            let mut r = respond(&shared, status, body, &request_id);
            if let Ok(v) = HeaderValue::from_str(ctype) {
                r.headers_mut().insert(CONTENT_TYPE, v);
            }
            return r;
        }
        Method::POST => {}
        _ => {
            return error(&shared, &ApiError::UnknownOperation, &request_id);
        }
    }
    let started = std::time::Instant::now();
    let in_flight = shared.metrics.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    let _in_flight = InFlight(shared.clone());
    let throttled = in_flight as usize > shared.config.max_in_flight;
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default();
    let read = tokio::time::timeout(
        shared.config.body_timeout,
        read_body(body, shared.config.max_body),
    )
    .await;
    let body = match read {
        Ok(Ok(b)) => b,
        Ok(Err(err)) => return error(&shared, &err, &request_id),
        Err(_) => {
            return error(
                &shared,
                &ApiError::RequestTimeout("Request timed out reading the body".into()),
                &request_id,
            )
        }
    };
    // Refused for load only after the body is read: answering before it would close the
    // connection under a client still sending, which then sees a reset, not the answer.
    if throttled {
        shared.metrics.throttled.fetch_add(1, Ordering::Relaxed);
        return error(
            &shared,
            &ApiError::Throttling("Rate of requests exceeds the allowed throughput.".into()),
            &request_id,
        );
    }
    let body = match decode_content(&headers, body, shared.config.max_body) {
        Ok(b) => b,
        Err(err) => return error(&shared, &err, &request_id),
    };
    let op = headers
        .get(X_AMZ_TARGET)
        .and_then(|v| v.to_str().ok())
        .and_then(Operation::from_target);
    let Some(op) = op else {
        return error(&shared, &ApiError::UnknownOperation, &request_id);
    };
    let mut account: Option<String> = None;
    let mut access_key: Option<String> = None;
    match &shared.config.keys {
        None => {
            if shared.config.per_key.is_some() {
                access_key = sigv4::claimed_access_key(
                    headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()),
                    query,
                );
            }
            let presigned = query.contains("X-Amz-Signature=");
            if !headers.contains_key(AUTHORIZATION) && !presigned {
                return error(
                    &shared,
                    &ApiError::MissingAuthenticationToken(
                        "Request is missing Authentication Token".into(),
                    ),
                    &request_id,
                );
            }
        }
        Some(keys) => {
            let hs: Vec<(String, String)> = headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let parts = sigv4::RequestParts {
                method: "POST",
                path,
                query,
                headers: &hs,
                body: &body,
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            match sigv4::verify(&parts, keys, now) {
                Ok((key, acct)) => {
                    access_key = Some(key);
                    account = acct;
                }
                Err(e) => {
                    tracing::debug!(request_id, error = %e, "signature refused");
                    return error(&shared, &e, &request_id);
                }
            }
        }
    }
    let engine = match (&shared.config.per_key, access_key) {
        (Some(factory), Some(key)) => match engine_for(&shared, factory, &key, account) {
            Ok(e) => e,
            Err(msg) => {
                tracing::error!(request_id, error = %msg, "cannot open the key's database");
                let e = ApiError::InternalServerError(format!(
                    "Internal server error (request id {request_id})"
                ));
                return error(&shared, &e, &request_id);
            }
        },
        _ => shared.engine.clone(),
    };
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:8000")
        .to_owned();
    // A panic is contained and answered (no task of its own: spawning a request's future
    // cost about 6,000 instructions, mostly copying it to the heap; see docs/benchmarks.md).
    let (resp, failed) = match contained(dispatch(&engine, op, &body, &host)).await {
        Ok(Ok(out)) => (respond(&shared, StatusCode::OK, out, &request_id), None),
        Ok(Err(e)) => {
            tracing::debug!(op = op.name(), error = %e, "request failed");
            (error(&shared, &e, &request_id), Some(e.type_name()))
        }
        Err(panic) => {
            tracing::error!(op = op.name(), request_id, error = %panic, "request handler panicked");
            let e = ApiError::InternalServerError(format!(
                "Internal server error (request id {request_id})"
            ));
            (error(&shared, &e, &request_id), Some(e.type_name()))
        }
    };
    let took = started.elapsed();
    shared.metrics.record(op, took, failed);
    if shared.config.access_log {
        tracing::info!(
            target: "ferrodyn_access",
            request_id,
            operation = op.name(),
            status = resp.status().as_u16(),
            error = failed.unwrap_or(""),
            micros = took.as_micros() as u64,
        );
    }
    resp
}

/// The database of one access key, opened on first use.
fn engine_for(
    shared: &Shared,
    factory: &EngineFactory,
    key: &str,
    account: Option<String>,
) -> Result<Arc<Engine>, String> {
    let mut engines = shared
        .engines
        .lock()
        .map_err(|_| "per-key engines lock poisoned".to_owned())?;
    if let Some(e) = engines.get(key) {
        return Ok(e.clone());
    }
    let e = factory(key, account.as_deref())?;
    engines.insert(key.to_owned(), e.clone());
    Ok(e)
}

/// Run a future, turning a panic in it into an error (with the panic's message).
pub async fn contained<F: Future>(fut: F) -> Result<F::Output, String> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::task::Poll;
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned()))),
        },
    )
    .await
}

/// Counts a request while it is being handled.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Undo `Content-Encoding: gzip` / `deflate`, with the size limit applied to what comes out.
fn decode_content(headers: &hyper::HeaderMap, body: Bytes, max: usize) -> Result<Bytes, ApiError> {
    use std::io::Read;
    let enc = headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let reader: Box<dyn Read> = match enc.as_str() {
        "" | "identity" => return Ok(body),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        other => {
            return Err(ApiError::Serialization(format!(
                "Unsupported Content-Encoding: {other}"
            )))
        }
    };
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| ApiError::Serialization("Could not decode the request body".into()))?;
    if out.len() > max {
        return Err(ApiError::RequestTooLarge(format!(
            "Request size exceeded {max} bytes"
        )));
    }
    Ok(Bytes::from(out))
}

fn preflight(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    let h = resp.headers_mut();
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let allow = req
        .headers()
        .get("access-control-request-headers")
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    h.insert("access-control-allow-headers", allow);
    h.insert("access-control-max-age", HeaderValue::from_static("172800"));
    cors(shared, &mut resp);
    resp
}

/// How much of an oversized body is read and thrown away before answering 413: a client
/// still sending when the server closes would see a connection reset instead of the answer.
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

/// Read a request body of at most `max` bytes. A larger body is drained (up to
/// [`DRAIN_LIMIT`]) and refused with 413.
async fn read_body(mut body: hyper::body::Incoming, max: usize) -> Result<bytes::Bytes, ApiError> {
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    // The usual case, a body that arrives in one frame, is passed on without a copy.
    let mut first: Option<Bytes> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ApiError::Serialization(String::new()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= max {
            if buf.is_empty() && first.is_none() {
                first = Some(data);
                continue;
            }
            if let Some(f) = first.take() {
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&data);
        } else {
            first = None;
            buf = bytes::BytesMut::new();
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    if seen > max {
        return Err(ApiError::RequestTooLarge(format!(
            "Request size exceeded {max} bytes"
        )));
    }
    if let Some(f) = first {
        return Ok(f);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_error_and_others_go_on() {
        let r = super::contained(async {
            tokio::task::yield_now().await;
            panic!("boom in a handler");
        })
        .await;
        assert_eq!(r.map(|_: ()| ()), Err("boom in a handler".to_owned()));
        assert_eq!(super::contained(async { 7 }).await, Ok(7));
    }
}

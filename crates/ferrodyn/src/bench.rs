//! `ferrodyn bench`: a load generator for any DynamoDB endpoint. Each connection is one
//! keep-alive HTTP/1.1 connection sending SigV4-signed requests (as an SDK does) in a loop
//! for the duration; latencies go into per-connection vectors merged at the end.
//!
//! Workloads: `put`, `get` (uniform), `zipf-get`, `mix` (50/50 get/put), `query` (the 10
//! items of a partition), `update` (ADD to a counter), `batch-write` (25 new items per
//! BatchWriteItem), `scan` (a whole-table Scan, every page, per operation) and the YCSB core
//! workloads `ycsb-a` .. `ycsb-f` mapped onto DynamoDB calls (read = GetItem, update =
//! UpdateItem SET of one field, insert = PutItem of a new key, scan = Query of a partition
//! with a random Limit up to 10, read-modify-write = GetItem then UpdateItem).
//!
//! Requests are signed with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both are set
//! (for endpoints that check signatures), else with a fixed key; region us-east-1.
//!
//! `--canned PORT` instead serves canned DynamoDB-shaped answers from a bare hyper server,
//! to measure the ceiling of HTTP on the machine under the same driver.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Endpoints to drive, one after another (repeat the option)
    #[arg(long = "endpoint", required_unless_present = "canned")]
    endpoints: Vec<String>,
    /// Workloads: put, get, zipf-get, mix, query, update, batch-write, scan, ycsb-a ..
    /// ycsb-f (repeat the option)
    #[arg(long = "workload", default_values = ["put", "get"])]
    workloads: Vec<String>,
    /// Concurrent connections
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds per workload
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Items preloaded for reads
    #[arg(long, default_value_t = 10_000)]
    items: u64,
    /// Print one JSON object per result instead of a table
    #[arg(long)]
    json: bool,
    /// Also report the CPU time of these server processes during each workload (one per
    /// endpoint, in the same order; 0 for none)
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// Skip table creation and preloading (the table is already loaded)
    #[arg(long)]
    no_setup: bool,
    /// Serve canned DynamoDB-shaped answers on this port instead (the HTTP ceiling)
    #[arg(long, value_name = "PORT")]
    canned: Option<u16>,
}

/// CPU seconds (user + system) a process has used, from /proc (Linux; 100 ticks/s).
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces), ")" closes it.
    let rest = text.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A bare hyper server that reads each request and answers canned bytes shaped like
/// DynamoDB's GetItem (for GetItem) or PutItem (anything else) answer.
async fn canned(port: u16) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    println!("canned DynamoDB-shaped answers on http://127.0.0.1:{port}");
    let get = Bytes::from_static(
        br#"{"Item":{"pk":{"S":"p1"},"sk":{"N":"1"},"payload":{"S":"pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"},"n":{"N":"1"}}}"#,
    );
    let put = Bytes::from_static(b"{}");
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let (get, put) = (get.clone(), put.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (get, put) = (get.clone(), put.clone());
                    async move {
                        let is_get = req
                            .headers()
                            .get("x-amz-target")
                            .is_some_and(|t| t.as_bytes().ends_with(b".GetItem"));
                        let _ = req.into_body().collect().await;
                        let body = if is_get { get } else { put };
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/x-amz-json-1.0")
                                .header("x-amzn-requestid", "CANNED")
                                .body(Full::new(body))
                                .unwrap_or_default(),
                        )
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

const TABLE: &str = "ferrodyn_bench";
const KEY: &str = "AKIDBENCH";
const SECRET: &str = "bench/secret";

/// The access key and secret requests are signed with: AWS_ACCESS_KEY_ID and
/// AWS_SECRET_ACCESS_KEY when both are set (for an endpoint that checks signatures against
/// users of its own), else a fixed pair.
fn credentials() -> &'static (String, String) {
    static CREDS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    CREDS.get_or_init(|| {
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(k), Ok(s)) if !k.is_empty() && !s.is_empty() => (k, s),
            _ => (KEY.to_owned(), SECRET.to_owned()),
        }
    })
}

/// xorshift64*: fast, good enough for key choice.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Zipfian-ish over 0..n (skew 0.99 by rejection-free approximation: power law).
    fn zipf(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let x = (n as f64).powf(u) - 1.0;
        (x as u64).min(n.saturating_sub(1))
    }
}

/// One keep-alive connection with a minimal HTTP/1.1 client of its own: the request goes
/// out in one write, the answer is read into a reused buffer. Written by hand (on
/// `httparse`) so that each request costs the driver two syscalls and no task hand-offs;
/// hyper's client runs the connection as a separate task, which doubled the latency seen
/// through it (measured: 262 µs against wrk's 123 µs for the same GetItem on one
/// connection).
struct Conn {
    stream: Box<dyn Io>,
    host: String,
    /// Read buffer; `body` is a range of it after a call.
    buf: Vec<u8>,
    body: std::ops::Range<usize>,
    out: Vec<u8>,
    /// The signing key of `key_date` (it changes once a day).
    key_date: String,
    key: Vec<u8>,
}

/// A connection's byte stream: plain TCP, or TLS over it for an `https://` endpoint.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// The TLS client configuration for `https://` endpoints: the certificates in the PEM file
/// named by AWS_CA_BUNDLE (as the AWS SDKs and CLI read it) are trusted, for a server with a
/// self-signed certificate; there is no system store to fall back on.
fn tls_client() -> Result<Arc<tokio_rustls::rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    static CONFIG: std::sync::OnceLock<Result<Arc<tokio_rustls::rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let path = std::env::var("AWS_CA_BUNDLE")
                .map_err(|_| "an https:// endpoint needs AWS_CA_BUNDLE (a PEM file of the certificates to trust)".to_owned())?;
            let mut roots = tokio_rustls::rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&path).map_err(|e| format!("{path}: {e}"))? {
                let cert = cert.map_err(|e| format!("{path}: {e}"))?;
                roots.add(cert).map_err(|e| format!("{path}: {e}"))?;
            }
            // The provider named: with two enabled in one build rustls cannot choose.
            let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
            Ok(Arc::new(
                tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            ))
        })
        .clone()
}

async fn connect(endpoint: &str) -> Result<Conn, String> {
    let uri: hyper::Uri = endpoint.parse().map_err(|e| format!("{endpoint}: {e}"))?;
    let host = uri.host().unwrap_or("127.0.0.1").to_owned();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if https {
        let name = rustls_pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("{endpoint}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(tls_client()?)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("{endpoint}: TLS: {e}"))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    Ok(Conn {
        stream,
        host: format!("{host}:{port}"),
        buf: Vec::with_capacity(64 << 10),
        body: 0..0,
        out: Vec::with_capacity(4096),
        key_date: String::new(),
        key: Vec::new(),
    })
}

impl Conn {
    /// One signed call; the HTTP status (the body is then in [`Conn::body`]).
    async fn call(&mut self, op: &str, body: &[u8]) -> Result<u16, String> {
        use tokio::io::AsyncWriteExt;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let date = ferrodyn_server::sigv4::amz_date(now);
        let day = date.get(..8).unwrap_or_default();
        if self.key_date != day {
            self.key =
                ferrodyn_server::sigv4::signing_key(&credentials().1, day, "us-east-1", "dynamodb");
            self.key_date = day.to_owned();
        }
        let target = format!("DynamoDB_20120810.{op}");
        let headers = [
            (
                "content-type".to_owned(),
                "application/x-amz-json-1.0".to_owned(),
            ),
            ("host".to_owned(), self.host.clone()),
            ("x-amz-date".to_owned(), date.clone()),
            ("x-amz-target".to_owned(), target),
        ];
        let parts = ferrodyn_server::sigv4::RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        let signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
        let sig = ferrodyn_server::sigv4::signature_with_key(
            &parts,
            &signed,
            &ferrodyn_server::sigv4::payload_hash(body),
            &self.key,
            "us-east-1",
            "dynamodb",
            &date,
            false,
        );
        self.out.clear();
        self.out.extend_from_slice(b"POST / HTTP/1.1\r\n");
        for (n, v) in &headers {
            self.out.extend_from_slice(n.as_bytes());
            self.out.extend_from_slice(b": ");
            self.out.extend_from_slice(v.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(
            format!(
                "authorization: AWS4-HMAC-SHA256 Credential={}/{day}/us-east-1/dynamodb/aws4_request, SignedHeaders={}, Signature={sig}\r\ncontent-length: {}\r\n\r\n",
                credentials().0,
                signed.join(";"),
                body.len()
            )
            .as_bytes(),
        );
        self.out.extend_from_slice(body);
        self.stream
            .write_all(&self.out)
            .await
            .map_err(|e| e.to_string())?;
        // Read the answer: headers, then a Content-Length or chunked body.
        self.buf.clear();
        let (status, head, framing) = loop {
            self.fill().await?;
            let mut hs = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut hs);
            match resp.parse(&self.buf) {
                Ok(httparse::Status::Complete(head)) => {
                    // Content-Length, else chunked; neither means an empty body.
                    let mut framing = Some(0);
                    for h in resp.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            framing = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<usize>().ok());
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && h.value.eq_ignore_ascii_case(b"chunked")
                        {
                            framing = None;
                            break;
                        }
                    }
                    break (resp.code.unwrap_or(0), head, framing);
                }
                Ok(httparse::Status::Partial) => continue,
                Err(e) => return Err(format!("bad response: {e}")),
            }
        };
        match framing {
            Some(len) => {
                while self.buf.len() < head + len {
                    self.fill().await?;
                }
                self.body = head..head + len;
            }
            None => {
                // Chunked: gather the chunks in place, after the headers.
                let mut pos = head;
                let mut end = head;
                loop {
                    match httparse::parse_chunk_size(self.buf.get(pos..).unwrap_or_default()) {
                        Ok(httparse::Status::Complete((skip, size))) => {
                            let size = usize::try_from(size).map_err(|e| e.to_string())?;
                            let start = pos + skip;
                            if self.buf.len() < start + size + 2 {
                                // fall through to read more
                            } else {
                                self.buf.copy_within(start..start + size, end);
                                end += size;
                                pos = start + size + 2;
                                if size == 0 {
                                    break;
                                }
                                continue;
                            }
                        }
                        Ok(httparse::Status::Partial) => {}
                        Err(_) => return Err("bad chunked body".into()),
                    }
                    self.fill().await?;
                }
                self.body = head..end;
            }
        }
        Ok(status)
    }

    /// Read more of the answer into the buffer.
    async fn fill(&mut self) -> Result<(), String> {
        use tokio::io::AsyncReadExt;
        if self.buf.capacity() - self.buf.len() < 16 << 10 {
            self.buf.reserve(64 << 10);
        }
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        Ok(())
    }

    /// A call with a JSON body; (status, answer body).
    async fn call_json(&mut self, op: &str, body: &Value) -> Result<(u16, Bytes), String> {
        let status = self.call(op, body.to_string().as_bytes()).await?;
        Ok((status, Bytes::copy_from_slice(self.body())))
    }

    /// The body of the last answer.
    fn body(&self) -> &[u8] {
        self.buf.get(self.body.clone()).unwrap_or_default()
    }
}

fn item(pk: &str, sk: u64) -> Value {
    // About 200 bytes, like the issue's workload.
    json!({
        "pk": {"S": pk}, "sk": {"N": sk.to_string()},
        "payload": {"S": "p".repeat(150)}, "n": {"N": "1"}
    })
}

async fn setup(endpoint: &str, items: u64) -> Result<(), String> {
    let mut c = connect(endpoint).await?;
    let (status, _) = c
        .call_json("DescribeTable", &json!({ "TableName": TABLE }))
        .await?;
    if status == 200 {
        c.call_json("DeleteTable", &json!({ "TableName": TABLE }))
            .await?;
        for _ in 0..200 {
            let (s, _) = c
                .call_json("DescribeTable", &json!({ "TableName": TABLE }))
                .await?;
            if s != 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (status, body) = c
        .call_json(
            "CreateTable",
            &json!({
                "TableName": TABLE,
                "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
                "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
        )
        .await?;
    if status != 200 {
        return Err(format!(
            "CreateTable failed: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    for _ in 0..400 {
        let (_, b) = c
            .call_json("DescribeTable", &json!({ "TableName": TABLE }))
            .await?;
        if String::from_utf8_lossy(&b).contains("\"ACTIVE\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Preload: item k is partition p{k/10}, sort key k%10 (10 items per partition).
    let mut k = 0;
    while k < items {
        let batch: Vec<Value> = (k..(k + 25).min(items))
            .map(|i| json!({"PutRequest": {"Item": item(&format!("p{}", i / 10), i % 10)}}))
            .collect();
        k += 25;
        let (s, b) = c
            .call_json(
                "BatchWriteItem",
                &json!({ "RequestItems": { TABLE: batch } }),
            )
            .await?;
        if s != 200 {
            return Err(format!("preload failed: {}", String::from_utf8_lossy(&b)));
        }
    }
    Ok(())
}

struct Outcome {
    latencies: Vec<u32>,
    errors: u64,
    /// Items written or read by batch-write and scan operations.
    items: u64,
}

/// The key of preloaded item k: partition p<k/10>, sort key k%10.
fn key_json(k: u64) -> String {
    format!(
        r#"{{"pk":{{"S":"p{}"}},"sk":{{"N":"{}"}}}}"#,
        k / 10,
        k % 10
    )
}

/// An item of about 200 bytes, like the issue's workload.
fn item_json(pk: &str, sk: u64) -> String {
    format!(
        r#"{{"pk":{{"S":"{pk}"}},"sk":{{"N":"{sk}"}},"payload":{{"S":"{PAYLOAD}"}},"n":{{"N":"1"}}}}"#
    )
}

const PAYLOAD: &str = "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp";

/// Pick the operation of a YCSB workload from a uniform draw in 0..100.
fn ycsb(workload: &str, r: u64) -> &'static str {
    let r = r % 100;
    match workload {
        "ycsb-a" if r < 50 => "y-read",
        "ycsb-a" => "y-update",
        "ycsb-b" if r < 95 => "y-read",
        "ycsb-b" => "y-update",
        "ycsb-c" => "y-read",
        "ycsb-d" if r < 95 => "y-read-latest",
        "ycsb-d" => "y-insert",
        "ycsb-e" if r < 95 => "y-scan",
        "ycsb-e" => "y-insert",
        "ycsb-f" if r < 50 => "y-read",
        "ycsb-f" => "y-rmw",
        _ => "unknown YCSB workload",
    }
}

async fn worker(
    endpoint: String,
    workload: String,
    items: u64,
    seed: u64,
    until: Instant,
    inserted: Arc<AtomicU64>,
) -> Result<Outcome, String> {
    let mut c = connect(&endpoint).await?;
    let mut rng = Rng(seed | 1);
    let mut out = Outcome {
        latencies: Vec::with_capacity(1 << 16),
        errors: 0,
        items: 0,
    };
    let items = items.max(1);
    while Instant::now() < until {
        let r = rng.next();
        let kind = match workload.as_str() {
            "mix" => {
                if r.is_multiple_of(2) {
                    "get"
                } else {
                    "put"
                }
            }
            w if w.starts_with("ycsb-") => ycsb(w, r >> 7),
            w => w,
        };
        let t = Instant::now();
        // Multi-request operations: a whole-table scan, a read-modify-write.
        if kind == "scan" || kind == "y-rmw" {
            let mut failed = false;
            if kind == "scan" {
                let mut start: Option<Value> = None;
                loop {
                    let body = match start.take() {
                        Some(k) => json!({"TableName": TABLE, "ExclusiveStartKey": k}),
                        None => json!({"TableName": TABLE}),
                    };
                    match c.call("Scan", body.to_string().as_bytes()).await {
                        Ok(200) => {
                            let v: Value = serde_json::from_slice(c.body()).unwrap_or_default();
                            out.items += v.get("Count").and_then(Value::as_u64).unwrap_or(0);
                            match v.get("LastEvaluatedKey") {
                                Some(k) => start = Some(k.clone()),
                                None => break,
                            }
                        }
                        _ => {
                            failed = true;
                            break;
                        }
                    }
                }
            } else {
                let k = rng.zipf(items);
                let get = format!(r#"{{"TableName":"{TABLE}","Key":{}}}"#, key_json(k));
                let upd = format!(
                    r#"{{"TableName":"{TABLE}","Key":{},"UpdateExpression":"SET payload = :v","ExpressionAttributeValues":{{":v":{{"S":"{:0150}"}}}}}}"#,
                    key_json(k),
                    rng.next()
                );
                failed = !matches!(c.call("GetItem", get.as_bytes()).await, Ok(200))
                    || !matches!(c.call("UpdateItem", upd.as_bytes()).await, Ok(200));
            }
            if failed {
                out.errors += 1;
                c = connect(&endpoint).await?;
            }
            out.latencies
                .push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            continue;
        }
        let get_of = |k: u64| format!(r#"{{"TableName":"{TABLE}","Key":{}}}"#, key_json(k));
        let put_of = |pk: &str, sk: u64| {
            format!(r#"{{"TableName":"{TABLE}","Item":{}}}"#, item_json(pk, sk))
        };
        let (op, body) = match kind {
            "batch-write" => {
                let batch: Vec<String> = (0..25)
                    .map(|_| {
                        format!(
                            r#"{{"PutRequest":{{"Item":{}}}}}"#,
                            item_json(&format!("b{}", rng.next() % 1_000_000_000_000), 0)
                        )
                    })
                    .collect();
                out.items += 25;
                (
                    "BatchWriteItem",
                    format!(r#"{{"RequestItems":{{"{TABLE}":[{}]}}}}"#, batch.join(",")),
                )
            }
            "y-read" => ("GetItem", get_of(rng.zipf(items))),
            "y-read-latest" => {
                let top = items + inserted.load(Ordering::Relaxed);
                ("GetItem", get_of(top - 1 - rng.zipf(top)))
            }
            "y-update" => (
                "UpdateItem",
                format!(
                    r#"{{"TableName":"{TABLE}","Key":{},"UpdateExpression":"SET payload = :v","ExpressionAttributeValues":{{":v":{{"S":"{:0150}"}}}}}}"#,
                    key_json(rng.zipf(items)),
                    rng.next()
                ),
            ),
            "y-insert" => {
                let k = items + inserted.fetch_add(1, Ordering::Relaxed);
                ("PutItem", put_of(&format!("p{}", k / 10), k % 10))
            }
            "y-scan" => {
                let top = items + inserted.load(Ordering::Relaxed);
                let p = rng.zipf(top / 10 + 1);
                (
                    "Query",
                    format!(
                        r#"{{"TableName":"{TABLE}","KeyConditionExpression":"pk = :p","Limit":{},"ExpressionAttributeValues":{{":p":{{"S":"p{p}"}}}}}}"#,
                        rng.next() % 10 + 1
                    ),
                )
            }
            "put" => (
                "PutItem",
                put_of(&format!("w{}", rng.next() % 1_000_000_000), 0),
            ),
            "get" => ("GetItem", get_of(rng.next() % items)),
            "zipf-get" => ("GetItem", get_of(rng.zipf(items))),
            "query" => (
                "Query",
                format!(
                    r#"{{"TableName":"{TABLE}","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{{":p":{{"S":"p{}"}}}}}}"#,
                    rng.next() % (items / 10).max(1)
                ),
            ),
            "update" => (
                "UpdateItem",
                format!(
                    r#"{{"TableName":"{TABLE}","Key":{},"UpdateExpression":"ADD n :one","ExpressionAttributeValues":{{":one":{{"N":"1"}}}}}}"#,
                    key_json(rng.next() % items)
                ),
            ),
            other => return Err(format!("unknown workload {other}")),
        };
        match c.call(op, body.as_bytes()).await {
            Ok(200) => {}
            Ok(_) => out.errors += 1,
            Err(_) => {
                out.errors += 1;
                c = connect(&endpoint).await?;
            }
        }
        out.latencies
            .push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
    }
    Ok(out)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted.get(i).copied().unwrap_or(0)) / 1000.0
}

pub async fn run(a: BenchArgs) -> Result<(), String> {
    if let Some(port) = a.canned {
        return canned(port).await;
    }
    if !a.json {
        println!(
            "{:<28} {:<12} {:>5} {:>10} {:>8} {:>8} {:>9} {:>7} {:>9} {:>7} {:>7}",
            "endpoint",
            "workload",
            "conns",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "errors",
            "items/s",
            "drv cpu",
            "srv cpu"
        );
    }
    for (n, endpoint) in a.endpoints.iter().enumerate() {
        if !a.no_setup {
            setup(endpoint, a.items).await?;
        }
        let server_pid = a.server_pids.get(n).copied().filter(|p| *p != 0);
        let inserted = Arc::new(AtomicU64::new(0));
        for workload in &a.workloads {
            let until = Instant::now() + Duration::from_secs_f64(a.duration.max(0.1));
            let started = Instant::now();
            let (drv0, srv0) = (
                cpu_seconds(None),
                server_pid.and_then(|p| cpu_seconds(Some(p))),
            );
            let mut tasks = Vec::new();
            for i in 0..a.connections {
                tasks.push(tokio::spawn(worker(
                    endpoint.clone(),
                    workload.clone(),
                    a.items,
                    0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
                    until,
                    inserted.clone(),
                )));
            }
            let mut all = Vec::new();
            let mut errors = 0;
            let mut moved = 0;
            for t in tasks {
                let o = t.await.map_err(|e| e.to_string())??;
                all.extend(o.latencies);
                errors += o.errors;
                moved += o.items;
            }
            let secs0 = started.elapsed().as_secs_f64();
            // CPU used as a share of one core, over the workload's wall time.
            let share = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => Some((b - a) / secs0),
                _ => None,
            };
            let drv = share(drv0, cpu_seconds(None));
            let srv = share(srv0, server_pid.and_then(|p| cpu_seconds(Some(p))));
            let items_per_sec = moved as f64 / secs0;
            let secs = secs0;
            all.sort_unstable();
            let ops = all.len() as f64 / secs;
            let (p50, p99, p999) = (
                percentile(&all, 0.50),
                percentile(&all, 0.99),
                percentile(&all, 0.999),
            );
            if a.json {
                println!(
                    "{}",
                    json!({"endpoint": endpoint, "workload": workload, "connections": a.connections,
                           "seconds": secs, "ops": all.len(), "ops_per_sec": ops,
                           "p50_ms": p50, "p99_ms": p99, "p999_ms": p999, "errors": errors,
                           "items_per_sec": items_per_sec, "driver_cpu": drv, "server_cpu": srv})
                );
            } else {
                let pct =
                    |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{:.0}%", x * 100.0));
                println!(
                    "{:<28} {:<12} {:>5} {:>10.0} {:>8.3} {:>8.3} {:>9.3} {:>7} {:>9.0} {:>7} {:>7}",
                    endpoint,
                    workload,
                    a.connections,
                    ops,
                    p50,
                    p99,
                    p999,
                    errors,
                    items_per_sec,
                    pct(drv),
                    pct(srv)
                );
            }
        }
    }
    Ok(())
}
